/**
 * ClusterApi (clusterctl or operator, KinD or existing, local or external Tinkerbell) and Pivot under
 * Pulumi's mocks: which resources each mode registers, on which provider, in which order.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterApi } from "../../components/cluster-api";
import { Pivot } from "../../components/pivot";
import { RawConfig } from "../../lib/config";
import { REAL_MACHINES_CONFIG, labPlan, sampleKubeconfig } from "../fixtures";
import { Registration, isSecretValue, recordRegistrations } from "../program/harness";

const EXTERNAL: RawConfig = {
    externalTinkerbell: true,
    tinkerbellKubeconfig: sampleKubeconfig(),
    tinkerbellVip: "10.71.0.60",
};
const COMMAND = "command:local:Command";

/** A value as registered, secret or not. */
function plain(value: unknown): Record<string, unknown> {
    return (isSecretValue(value) ? (value as { value: unknown }).value : value) as Record<string, unknown>;
}

async function underMocks(build: () => void): Promise<Registration[]> {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs } }),
            call: (args) => {
                throw new Error(`unexpected invoke ${args.token}`);
            },
        },
        "capt-playground",
        "dev",
        false,
    );
    const registrations: Registration[] = [];
    const recording = recordRegistrations(registrations);
    build();
    for (let quiet = 0, turns = 0; quiet < 10 && turns < 500; turns++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        quiet = recording.inFlight() === 0 ? quiet + 1 : 0;
    }
    return registrations;
}

function clusterApiStack(raw: RawConfig, extra: { external?: boolean; kind?: boolean } = {}) {
    const { config, plan } = labPlan({ ...raw, ...(raw.externalTinkerbell ? {} : {}) });
    return underMocks(() => {
        const provider = new k8s.Provider("management", { kubeconfig: "kc" });
        const kind = extra.kind ? new command.local.Command("kind", { create: "true" }) : undefined;
        new ClusterApi("capi", {
            config,
            plan,
            kubeconfig: pulumi.secret("apiVersion: v1\n"),
            provider,
            kindCluster: kind,
            tinkerbellKubeconfig: extra.external ? pulumi.secret(sampleKubeconfig()) : undefined,
        });
    });
}

const named = (recorded: Registration[], name: string) => recorded.find((r) => r.name === name)!;
const types = (recorded: Registration[]) =>
    recorded.filter((r) => r.custom && !r.type.startsWith("pulumi:providers")).map((r) => `${r.type} ${r.name}`);

describe("ClusterApi", () => {
    test("clusterctl in KinD (the default lab): init with no delete after a files Command that cleans on delete", async () => {
        const recorded = await clusterApiStack({}, { kind: true });
        expect(types(recorded)).toEqual([`${COMMAND} kind`, `${COMMAND} capi-files`, `${COMMAND} capi-init`]);
        const init = named(recorded, "capi-init");
        const files = named(recorded, "capi-files");
        // A killed up can leave init out of state; the files Command, done before init starts, is there.
        expect(init.inputs.delete).toBeUndefined();
        expect(init.dependencies).toContain(files.urn);
        expect(files.inputs.create).toBe("components/scripts/clusterctl-claim.sh");
        expect(files.inputs.delete).toBe("components/scripts/clusterctl-clean.sh");
        expect(files.deletedWith).toBe("");
        expect(Object.keys(plain(files.inputs.environment)).sort()).toEqual([
            "CLUSTERCTL_CONFIG_CONTENT",
            "DELETE_SCRIPT_SHA256",
            "SCRIPT_SHA256",
            "STATE_DIR",
        ]);
        expect(plain(files.inputs.environment).CLUSTERCTL_CONFIG_CONTENT).toBe(
            plain(init.inputs.environment).CLUSTERCTL_CONFIG_CONTENT,
        );
        expect(init.inputs.addPreviousOutputInEnv).toBe(false);
        expect(Object.keys(plain(init.inputs.environment)).sort()).toEqual([
            "CAPI_VERSION",
            "CAPT_VERSION",
            "CLUSTERCTL_CONFIG_CONTENT",
            "KUBECONFIG_CONTENT",
            "SCRIPT_SHA256",
            "STATE_DIR",
            "TINKERBELL_IP",
        ]);
        // The versions clusterctl init installs: the operator installer's (operatorProviders).
        expect(plain(init.inputs.environment)).toMatchObject({ CAPI_VERSION: "v1.12.5", CAPT_VERSION: "v0.7.0" });
        expect(init.deletedWith).toBe("");
        expect(init.deleteBeforeReplace).toBe(false);
    });

    test("clusterctl in an existing cluster: adopt/record on create, clusterctl-delete on delete", async () => {
        const recorded = await clusterApiStack({ ...REAL_MACHINES_CONFIG, managementKubeconfig: sampleKubeconfig() });
        const init = named(recorded, "capi-init");
        expect(init.inputs.delete).toBe("components/scripts/clusterctl-delete.sh");
        expect(init.inputs.addPreviousOutputInEnv).toBe(true);
        expect(isSecretValue(init.inputs.environment)).toBe(true);
        const environment = plain(init.inputs.environment);
        expect(environment).toMatchObject({
            MANAGEMENT_CLUSTER: "existing",
            CAPI_VERSION: "v1.12.5",
            CAPT_VERSION: "v0.7.0",
        });
        expect(environment.KUBECONFIG_CONTENT).toBe("apiVersion: v1\n");
        expect(init.deleteBeforeReplace).toBe(true);
    });

    test("external Tinkerbell with clusterctl: capt-system patched into being, the Secret before init", async () => {
        const recorded = await clusterApiStack(EXTERNAL, { kind: true, external: true });
        const secret = named(recorded, "capi-secret-external-tinkerbell-kubeconfig");
        const namespace = named(recorded, "capi-namespace-capt-system");
        expect(namespace.type).toBe("kubernetes:core/v1:NamespacePatch");
        expect(secret.dependencies).toContain(namespace.urn);
        expect(secret.deletedWith).toBe(named(recorded, "kind").urn);
        expect(isSecretValue(secret.inputs.stringData)).toBe(true);
        expect(plain(secret.inputs.stringData).kubeconfig).toBe(sampleKubeconfig());
        const init = named(recorded, "capi-init");
        expect(init.dependencies).toContain(secret.urn);
        expect(plain(init.inputs.environment).CLUSTERCTL_CONFIG_CONTENT).toContain(
            "EXTERNAL_TINKERBELL_KUBECONFIG: external-tinkerbell-kubeconfig",
        );
    });

    test("the operator: cert-manager, the operator chart, namespaces, variables, providers; no Command", async () => {
        const recorded = await clusterApiStack({ clusterApiInstaller: "operator" }, { kind: true });
        expect(
            types(recorded)
                .filter((t) => !t.endsWith(" kind"))
                .sort(),
        ).toEqual(
            [
                "kubernetes:core/v1:Namespace capi-namespace-capi-system",
                "kubernetes:core/v1:Namespace capi-namespace-capi-kubeadm-bootstrap-system",
                "kubernetes:core/v1:Namespace capi-namespace-capi-kubeadm-control-plane-system",
                "kubernetes:core/v1:Namespace capi-namespace-capt-system",
                "kubernetes:helm.sh/v3:Release capi-cert-manager",
                "kubernetes:helm.sh/v3:Release capi-operator",
                "kubernetes:core/v1:Secret capi-secret-capt-variables",
                "kubernetes:operator.cluster.x-k8s.io/v1alpha2:CoreProvider capi-coreprovider-cluster-api",
                "kubernetes:operator.cluster.x-k8s.io/v1alpha2:BootstrapProvider capi-bootstrapprovider-kubeadm",
                "kubernetes:operator.cluster.x-k8s.io/v1alpha2:ControlPlaneProvider capi-controlplaneprovider-kubeadm",
                "kubernetes:operator.cluster.x-k8s.io/v1alpha2:InfrastructureProvider capi-infrastructureprovider-tinkerbell",
            ].sort(),
        );
        const operator = named(recorded, "capi-operator");
        expect(operator.inputs).toMatchObject({
            chart: "cluster-api-operator",
            version: labPlan({}).config.clusterApiOperatorVersion,
            repositoryOpts: { repo: "https://kubernetes-sigs.github.io/cluster-api-operator" },
        });
        expect(operator.dependencies).toContain(named(recorded, "capi-cert-manager").urn);
        const infra = named(recorded, "capi-infrastructureprovider-tinkerbell");
        expect(infra.dependencies).toEqual(
            expect.arrayContaining([
                operator.urn,
                named(recorded, "capi-secret-capt-variables").urn,
                named(recorded, "capi-namespace-capt-system").urn,
            ]),
        );
        const kind = named(recorded, "kind").urn;
        for (const r of recorded.filter(
            (r) => r.type.startsWith("kubernetes:") && r.custom && !r.type.startsWith("pulumi"),
        )) {
            expect(r.deletedWith).toBe(kind);
            expect(r.provider).toMatch(/::management::/);
        }
    });

    test("the operator with an external Tinkerbell: the Secret in the operator's own capt-system", async () => {
        const recorded = await clusterApiStack({ ...EXTERNAL, clusterApiInstaller: "operator" }, { external: true });
        expect(recorded.filter((r) => r.type === "kubernetes:core/v1:NamespacePatch")).toEqual([]);
        const secret = named(recorded, "capi-secret-external-tinkerbell-kubeconfig");
        expect(secret.dependencies).toContain(named(recorded, "capi-namespace-capt-system").urn);
        expect(named(recorded, "capi-infrastructureprovider-tinkerbell").dependencies).toContain(secret.urn);
        const variables = named(recorded, "capi-secret-capt-variables");
        expect(plain(variables.inputs.stringData)).toMatchObject({
            EXTERNAL_TINKERBELL_KUBECONFIG: "external-tinkerbell-kubeconfig",
        });
    });
});

describe("Pivot", () => {
    async function pivotStack(raw: RawConfig, external = false) {
        const { config, plan } = labPlan(raw);
        return underMocks(() => {
            const kind = new command.local.Command("kind", { create: "true" });
            const workload = new command.local.Command("workload-kubeconfig", { create: "true" });
            const provider = new k8s.Provider("workload-provider", { kubeconfig: "kc" });
            new Pivot("pivot", {
                config,
                plan,
                managementKubeconfig: pulumi.secret("mgmt"),
                workloadKubeconfig: pulumi.secret("workload"),
                workloadProvider: provider,
                tinkerbellKubeconfig: external ? pulumi.secret(sampleKubeconfig()) : undefined,
                prerequisites: [workload],
                kindCluster: kind,
            });
        });
    }

    test("the Tinkerbell chart in the workload cluster, then the move; all deleted with KinD", async () => {
        const recorded = await pivotStack({ pivot: true });
        const release = named(recorded, "pivot-tinkerbell");
        const move = named(recorded, "pivot-move");
        expect(release.provider).toMatch(/::workload-provider::/);
        expect(Object.values(plain(release.inputs.values).trustedProxies as object)).toEqual([
            labPlan({}).plan.cidrs.pods,
        ]);
        expect(move.dependencies).toEqual(
            expect.arrayContaining([release.urn, named(recorded, "workload-kubeconfig").urn]),
        );
        expect(release.dependencies).toContain(named(recorded, "workload-kubeconfig").urn);
        const kind = named(recorded, "kind").urn;
        expect([release.deletedWith, move.deletedWith]).toEqual([kind, kind]);
        expect(move.inputs).toMatchObject({
            create: "components/scripts/pivot-move.sh",
            delete: "components/scripts/pivot-back.sh",
            addPreviousOutputInEnv: true,
        });
        expect(isSecretValue(move.inputs.environment)).toBe(true);
        const environment = plain(move.inputs.environment);
        expect([environment.KUBECONFIG_CONTENT, environment.WORKLOAD_KUBECONFIG_CONTENT]).toEqual(["mgmt", "workload"]);
        expect(environment).toMatchObject({
            CLUSTER_NAME: "capt-dev",
            NAMESPACE: labPlan({}).config.namespace,
            CAPI_VERSION: "v1.12.5",
            CAPT_VERSION: "v0.7.0",
        });
    });

    test("external Tinkerbell: no chart; CAPT's kubeconfig Secret in the workload cluster before the move", async () => {
        const recorded = await pivotStack({ ...EXTERNAL, pivot: true }, true);
        expect(recorded.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")).toEqual([]);
        const secret = named(recorded, "pivot-secret-external-tinkerbell-kubeconfig");
        expect(secret.provider).toMatch(/::workload-provider::/);
        expect(named(recorded, "pivot-move").dependencies).toContain(secret.urn);
    });
});
