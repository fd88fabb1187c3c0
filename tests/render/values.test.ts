/** Tinkerbell chart values (with helm --set style extras), KinD config and clusterctl config. */
import { parse } from "yaml";
import { labPlan } from "../fixtures";
import { clusterctlConfig, clusterctlYaml } from "../../lib/render/clusterctl";
import { applySetValues, typedValue } from "../../lib/render/helm-set";
import {
    imageVolumeFeatureGates,
    kindClusterConfig,
    nodeImageKubernetesVersion,
    CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH,
    KUBELET_CGROUP_V1_PATCH,
} from "../../lib/render/kind-config";
import { baseTinkerbellValues, tinkerbellValues, tinkerbellValuesYaml } from "../../lib/render/tinkerbell-values";

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const loose = (values: unknown) => values as Loose;

describe("Tinkerbell chart values", () => {
    test("addresses come from the plan; trustedProxies is the KinD pod subnet", () => {
        const { config, plan } = labPlan({ networkSubnet: "192.168.50.0/24", kindPodCidr: "10.99.0.0/16" });
        expect(tinkerbellValues(config, plan)).toMatchObject({
            publicIP: plan.vips.tinkerbell,
            trustedProxies: ["10.99.0.0/16"],
            artifactsFileServer: `http://${plan.vips.artifacts}:7173`,
            optional: { captainos: { enabled: true, image: config.captainosImage } },
            deployment: { envs: { ui: { enableAutoLogin: true } } },
        });
        expect(plan.vips.tinkerbell).toMatch(/^192\.168\.50\./);
    });

    test("netboot: Smee's iPXE script names CaptainOS's kernel and initrd", () => {
        const { config, plan } = labPlan({ bootMode: "netboot", captainosKernelVersion: "6.19.2" });
        expect(loose(tinkerbellValues(config, plan)).deployment.envs.smee).toEqual({
            ipxeHttpScriptKernelName: "vmlinuz-6.19.2",
            ipxeHttpScriptInitrdName: "initramfs-6.19.2",
        });
    });

    test("isoboot: no DHCP from Smee, and the upstream ISO is CaptainOS's on the artifacts server", () => {
        const { config, plan } = labPlan({ bootMode: "isoboot", captainosKernelVersion: "6.19.2" });
        expect(loose(tinkerbellValues(config, plan)).deployment.envs.smee).toEqual({
            dhcpEnabled: false,
            isoUpstreamURL: `http://${plan.vips.artifacts}:7173/captainos-6.19.2-x86_64.iso`,
        });
    });

    test("tinkerbellExtraValues are applied last, typed like helm --set", () => {
        const { config, plan } = labPlan({
            tinkerbellExtraValues: [
                "deployment.envs.ui.enableAutoLogin=false",
                "optional.hookos.enabled=false",
                "deployment.replicas=2",
                "deployment.imageTag=007",
                "publicIP=10.71.0.200",
                "trustedProxies={10.74.0.0/16,10.80.0.0/16}",
                "deployment.additionalEnvs[1].name=FOO",
            ],
        });
        const values = loose(tinkerbellValues(config, plan));
        expect(values.deployment.envs.ui.enableAutoLogin).toBe(false);
        expect(values.optional).toEqual({
            captainos: { enabled: true, image: config.captainosImage },
            hookos: { enabled: false },
        });
        expect(values.deployment.replicas).toBe(2);
        expect(values.deployment.imageTag).toBe("007");
        expect(values.publicIP).toBe("10.71.0.200");
        expect(values.trustedProxies).toEqual(["10.74.0.0/16", "10.80.0.0/16"]);
        expect(values.deployment.additionalEnvs).toEqual([null, { name: "FOO" }]);
        // The lab's own settings next to the overridden ones survive.
        expect(values.deployment.envs.smee).toEqual(loose(baseTinkerbellValues(config, plan)).deployment.envs.smee);
    });

    test("the YAML is the values object", () => {
        const { config, plan } = labPlan();
        expect(parse(tinkerbellValuesYaml(config, plan))).toEqual(tinkerbellValues(config, plan));
    });
});

describe("helm --set parsing", () => {
    test.each([
        ["true", true],
        ["FALSE", false],
        ["null", null],
        ["0", 0],
        ["42", 42],
        ["-7", -7],
        ["042", "042"],
        ["1.5", "1.5"],
        ["99999999999999999999", "99999999999999999999"],
        ["a,b", "a,b"],
        ["", ""],
        ["{}", []],
        ["{1,x,true}", [1, "x", true]],
    ])("%j -> %j", (text, expected) => {
        expect(typedValue(text)).toEqual(expected);
    });

    test("later assignments win, scalars on the path become maps, the base is not changed", () => {
        const base = { a: { b: 1 }, keep: "me" };
        const result = applySetValues(base, ["a.b=2", "a.b=3", "keep.x=1", "list[0]=v"]);
        expect(result).toEqual({ a: { b: 3 }, keep: { x: 1 }, list: ["v"] });
        expect(base).toEqual({ a: { b: 1 }, keep: "me" });
    });

    test("a value may contain '='", () => {
        expect(applySetValues({}, ["a=b=c"])).toEqual({ a: "b=c" });
    });

    test.each(["=x", "noequals", "a..b=1", "a[x]=1"])("rejects %j", (assignment) => {
        expect(() => applySetValues({}, [assignment])).toThrow();
    });
});

describe("KinD config", () => {
    test("node image from config; pod and service subnets from the plan", () => {
        const { config, plan } = labPlan({ kindPodCidr: "10.98.0.0/16", kindServiceCidr: "10.97.0.0/16" });
        expect(kindClusterConfig(config, plan)).toEqual({
            kind: "Cluster",
            apiVersion: "kind.x-k8s.io/v1alpha4",
            name: plan.kind.clusterName,
            containerdConfigPatches: [CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH],
            kubeadmConfigPatches: [KUBELET_CGROUP_V1_PATCH],
            networking: { podSubnet: "10.98.0.0/16", serviceSubnet: "10.97.0.0/16" },
            nodes: [{ role: "control-plane", image: config.kindNodeImage }],
        });
    });

    test.each([
        ["kindest/node:v1.35.0@sha256:" + "a".repeat(64), { major: 1, minor: 35 }],
        ["registry.local:5000/kindest/node:v1.33.1", { major: 1, minor: 33 }],
        ["registry.local:5000/kindest/node", undefined],
        ["kindest/node:latest", undefined],
    ])("the Kubernetes version of %s", (image, expected) => {
        expect(nodeImageKubernetesVersion(image)).toEqual(expected);
    });

    test("image volumes: nothing from 1.35, the ImageVolume gate for 1.31-1.34, an error before 1.31", () => {
        expect(imageVolumeFeatureGates("kindest/node:v1.35.0")).toBeUndefined();
        expect(imageVolumeFeatureGates("kindest/node:v1.36.1")).toBeUndefined();
        expect(imageVolumeFeatureGates("my/node:custom")).toBeUndefined();
        expect(imageVolumeFeatureGates("kindest/node:v1.34.0")).toEqual({ ImageVolume: true });
        expect(imageVolumeFeatureGates("kindest/node:v1.31.0")).toEqual({ ImageVolume: true });
        expect(() => imageVolumeFeatureGates("kindest/node:v1.30.4")).toThrow(/image volume/);
        const { config, plan } = labPlan({ kindNodeImage: "kindest/node:v1.33.1" });
        expect(kindClusterConfig(config, plan).featureGates).toEqual({ ImageVolume: true });
    });
});

describe("clusterctl config", () => {
    test("the CAPT release's components and image tag, and the Tinkerbell VIP", () => {
        const { config, plan } = labPlan({ captVersion: "v0.8.1" });
        expect(clusterctlConfig(config, plan)).toEqual({
            providers: [
                {
                    name: "tinkerbell",
                    url: "https://github.com/tinkerbell/cluster-api-provider-tinkerbell/releases/v0.8.1/infrastructure-components.yaml",
                    type: "InfrastructureProvider",
                },
            ],
            images: { "infrastructure-tinkerbell": { tag: "v0.8.1" } },
            TINKERBELL_IP: plan.vips.tinkerbell,
        });
        expect(parse(clusterctlYaml(config, plan))).toEqual(clusterctlConfig(config, plan));
    });
});
