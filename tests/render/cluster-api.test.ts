/** Cluster API object details: names, kube-vip, users and the SSH key parameter. */
import { labConfig, labPlan } from "../fixtures";
import {
    GENERATED_SSH_KEY_PLACEHOLDER,
    clusterApiNames,
    clusterApiObjects,
    kubeVipCommand,
} from "../../lib/render/cluster-api";
import { KubeObject } from "../../lib/render/kube-object";
import { renderInputs } from "../../lib/render/manifests";

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const byKind = (objects: KubeObject[], kind: string) => objects.find((o) => o.kind === kind)!.spec as Spec;

test("names: the cluster is the lab; machine templates carry the Kubernetes version", () => {
    const { plan } = labPlan({ kubernetesVersion: "v1.36.0" }, "team-a");
    expect(clusterApiNames(plan)).toEqual({
        cluster: "capt-team-a",
        controlPlane: "capt-team-a-control-plane",
        workerPool: "capt-team-a-worker-a",
        controlPlaneTemplate: "capt-team-a-control-plane-v1-36-0",
        workerTemplate: "capt-team-a-worker-a-v1-36-0",
    });
});

describe("kube-vip", () => {
    test("announces the control-plane VIP with the configured kube-vip version", () => {
        const { config, plan } = labPlan({ kubeVipVersion: "v1.2.9" });
        const command = kubeVipCommand(config, plan);
        expect(command).toContain(`--address ${plan.vips.controlPlane} `);
        expect(command).toContain("ctr images pull ghcr.io/kube-vip/kube-vip:v1.2.9 && ");
        expect(command).toContain("> /etc/kubernetes/manifests/kube-vip.yaml");
        expect(
            byKind(clusterApiObjects(config, plan, "key"), "KubeadmControlPlane").kubeadmConfigSpec.preKubeadmCommands,
        ).toEqual([command]);
    });

    test("from 1.29 the first control plane (kubeadm init) uses super-admin.conf, joining ones admin.conf", () => {
        const { config, plan } = labPlan({ kubernetesVersion: "v1.35.2" });
        expect(kubeVipCommand(config, plan)).toMatch(
            /^if \[ -f \/run\/kubeadm\/kubeadm\.yaml \]; then KUBE_FILE=\/etc\/kubernetes\/super-admin\.conf; else KUBE_FILE=\/etc\/kubernetes\/admin\.conf; fi && .*--k8sConfigPath \$KUBE_FILE /,
        );
        const old = labPlan({ kubernetesVersion: "v1.28.9" });
        expect(kubeVipCommand(old.config, old.plan)).toMatch(/^KUBE_FILE=\/etc\/kubernetes\/admin\.conf && /);
        expect(kubeVipCommand(old.config, old.plan)).not.toContain("super-admin");
    });
});

describe("the SSH key is a parameter", () => {
    test("control planes and workers get user tink with exactly the key passed in (an Output stays an Output)", () => {
        const { config, plan } = labPlan();
        const key = { outputOfGeneratedKey: true };
        const objects = clusterApiObjects(config, plan, key);
        const users = [
            byKind(objects, "KubeadmControlPlane").kubeadmConfigSpec.users,
            byKind(objects, "KubeadmConfigTemplate").template.spec.users,
        ];
        for (const list of users) {
            expect(list).toEqual([{ name: "tink", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: [key] }]);
            expect(list[0].sshAuthorizedKeys[0]).toBe(key);
        }
    });

    test("render shows the configured public key, or a placeholder when the key is generated at up", () => {
        const withKey = labConfig({ sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample me@host" });
        expect(renderInputs(withKey).sshAuthorizedKey).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample me@host");
        expect(renderInputs(labConfig()).sshAuthorizedKey).toBe(GENERATED_SSH_KEY_PLACEHOLDER);
    });
});

test("replicas and versions follow the config", () => {
    const { config, plan } = labPlan({ controlPlanes: 3, workers: 2, hardwareCount: 6, kubernetesVersion: "v1.35.9" });
    const objects = clusterApiObjects(config, plan, "key");
    expect(byKind(objects, "KubeadmControlPlane")).toMatchObject({ replicas: 3, version: "v1.35.9" });
    expect(byKind(objects, "MachineDeployment")).toMatchObject({
        replicas: 2,
        clusterName: plan.labName,
        template: { spec: { version: "v1.35.9", clusterName: plan.labName } },
    });
    const md = byKind(objects, "MachineDeployment");
    expect(md.selector.matchLabels).toEqual(md.template.metadata.labels);
});
