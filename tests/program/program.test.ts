/**
 * The whole program under strict mocks, in update and preview mode, for the dev stack and a
 * 3-control-plane / 5-worker / 2-spare stack.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    ProgramRun,
    Registration,
    byType,
    isSecretValue,
    one,
    plainStrings,
    providerUrn,
    runProgram,
    transitiveDependencies,
    PROGRAM_RUN_TIMEOUT_MS,
} from "./harness";

const BMC_PASSWORD = "S3cretBmcPass!";

const STACKS: [string, Record<string, string>, { cp: number; workers: number; spares: number }][] = [
    ["dev", { preflight: "false" }, { cp: 1, workers: 1, spares: 1 }],
    [
        "big",
        {
            preflight: "false",
            hardwareCount: "10",
            controlPlanes: "3",
            workers: "5",
            bmcPassword: BMC_PASSWORD,
            cni: "kube-router",
        },
        { cp: 3, workers: 5, spares: 2 },
    ],
];

const COMMAND = "command:local:Command";
const DOMAIN = "pulumi-nodejs:dynamic/libvirt:Domain";

function componentOf(run: ProgramRun, registration: Registration): Registration | undefined {
    return run.registrations.find((r) => r.urn === registration.parent);
}

describe.each(STACKS)("stack %s", (stack, config, counts) => {
    const machines = counts.cp + counts.workers + counts.spares;

    describe.each([false, true])("preview=%s", (preview) => {
        let run: ProgramRun;
        beforeAll(async () => {
            run = await runProgram(config, {
                stack,
                preview,
                secretKeys: config.bmcPassword ? ["bmcPassword"] : [],
            });
        }, PROGRAM_RUN_TIMEOUT_MS);

        test("no invokes: strict mocks would have thrown", () => {
            expect(run.invokes).toEqual([]);
        });

        test("every expected resource is registered with the right type and count", () => {
            const count = (type: string) => byType(run, type).length;
            expect(count("docker:index/network:Network")).toBe(1);
            expect(count("docker:index/container:Container")).toBe(1);
            expect(count("pulumi-nodejs:dynamic/libvirt:Pool")).toBe(1);
            expect(count("pulumi-nodejs:dynamic/libvirt:Volume")).toBe(machines);
            expect(count(DOMAIN)).toBe(machines);
            expect(count("kubernetes:core/v1:Secret")).toBe(1);
            expect(count("kubernetes:bmc.tinkerbell.org/v1alpha1:Machine")).toBe(machines);
            expect(count("kubernetes:tinkerbell.org/v1alpha1:Hardware")).toBe(machines);
            expect(count("kubernetes:cluster.x-k8s.io/v1beta2:Cluster")).toBe(1);
            expect(count("kubernetes:controlplane.cluster.x-k8s.io/v1beta2:KubeadmControlPlane")).toBe(1);
            expect(count("kubernetes:infrastructure.cluster.x-k8s.io/v1beta1:TinkerbellMachineTemplate")).toBe(2);
            expect(count("kubernetes:cluster.x-k8s.io/v1beta2:MachineDeployment")).toBe(1);
            expect(count("kubernetes:helm.sh/v3:Release")).toBe(config.cni === "kube-router" ? 1 : 2);
            expect(count("kubernetes:yaml/v2:ConfigFile")).toBe(config.cni === "kube-router" ? 1 : 0);
            expect(count("pulumi:providers:kubernetes")).toBe(2);
            // KinD, clusterctl, one BMC registration per machine, kubeconfig wait, and local files.
            const commands = byType(run, COMMAND).map((c) => c.name);
            expect(commands).toEqual(
                expect.arrayContaining([
                    "kind-cluster",
                    "capi-init",
                    "workload-kubeconfig",
                    "kind-kubeconfig-file-write",
                ]),
            );
            expect(commands.filter((n) => n.startsWith("bmc-"))).toHaveLength(machines);
            expect(count("random:index/randomPassword:RandomPassword")).toBe(config.bmcPassword ? 0 : 1);
        });

        test("every child has a component parent of the expected kind", () => {
            const expectations: [string, string, string][] = [
                ["docker:index/network:Network", "network-network", "capt-playground:index:LabNetwork"],
                [COMMAND, "kind-cluster", "capt-playground:index:KindCluster"],
                ["kubernetes:helm.sh/v3:Release", "tinkerbell-release", "capt-playground:index:TinkerbellStack"],
                [COMMAND, "capi-init", "capt-playground:index:ClusterApi"],
                ["docker:index/container:Container", "bmc-container", "capt-playground:index:VirtualBmc"],
                ["kubernetes:core/v1:Secret", "inventory-secret-bmc-creds", "capt-playground:index:HardwareInventory"],
            ];
            for (const [type, name, parentType] of expectations) {
                expect(componentOf(run, one(run, type, name))?.type).toBe(parentType);
            }
            for (const domain of byType(run, DOMAIN)) {
                expect(componentOf(run, domain)?.type).toBe("capt-playground:index:Machines");
            }
            for (const custom of run.registrations.filter((r) => r.custom && !r.type.startsWith("pulumi:providers"))) {
                const parent = componentOf(run, custom);
                expect(parent?.type ?? "stack").toMatch(/^capt-playground:index:|^pulumi:pulumi:Stack$|^stack$/);
            }
        });

        test("in-cluster objects use the KinD provider and are deleted with the KinD cluster", () => {
            const kindProvider = one(run, "pulumi:providers:kubernetes", "kind-provider").urn;
            const kindCommand = one(run, COMMAND, "kind-cluster").urn;
            const inCluster = run.registrations.filter(
                (r) =>
                    r.type.startsWith("kubernetes:") &&
                    !r.name.startsWith("workload-cilium") &&
                    !r.name.startsWith("workload-kube-router"),
            );
            expect(inCluster.length).toBeGreaterThan(2 * machines);
            for (const resource of inCluster) {
                expect({ name: resource.name, provider: providerUrn(resource.provider) }).toEqual({
                    name: resource.name,
                    provider: kindProvider,
                });
                expect({ name: resource.name, deletedWith: resource.deletedWith }).toEqual({
                    name: resource.name,
                    deletedWith: kindCommand,
                });
            }
        });

        test("the CNI runs on the workload cluster's provider", () => {
            const workloadProvider = one(run, "pulumi:providers:kubernetes", "workload-provider").urn;
            const cni =
                config.cni === "kube-router"
                    ? one(run, "kubernetes:yaml/v2:ConfigFile", "workload-kube-router")
                    : one(run, "kubernetes:helm.sh/v3:Release", "workload-cilium");
            expect(providerUrn(cni.provider)).toBe(workloadProvider);
        });

        test("dependency order: network -> KinD -> chart -> clusterctl, BMC and machines beside them -> registrations -> inventory -> CAPI -> kubeconfig -> CNI", () => {
            const urn = (type: string, name: string) => one(run, type, name).urn;
            const dependsOn = (dependent: string, dependency: string) =>
                expect({ dependent, dependsOnIt: transitiveDependencies(run, dependent).has(dependency) }).toEqual({
                    dependent,
                    dependsOnIt: true,
                });
            const network = urn("docker:index/network:Network", "network-network");
            const kind = urn(COMMAND, "kind-cluster");
            const chart = urn("kubernetes:helm.sh/v3:Release", "tinkerbell-release");
            const clusterctl = urn(COMMAND, "capi-init");
            const container = urn("docker:index/container:Container", "bmc-container");
            const pool = byType(run, "pulumi-nodejs:dynamic/libvirt:Pool")[0].urn;
            dependsOn(kind, network);
            for (const step of [chart, clusterctl]) dependsOn(step, kind);
            // CAPT's manager exits until Tinkerbell's CRDs exist, which Tinkerbell installs as it starts.
            dependsOn(clusterctl, chart);
            // The machines and the BMC need only the network: they are built while KinD starts.
            const volumesAndDomains = [
                ...byType(run, "pulumi-nodejs:dynamic/libvirt:Volume"),
                ...byType(run, DOMAIN),
            ].map((r) => r.urn);
            for (const step of [container, pool, ...volumesAndDomains]) {
                dependsOn(step, network);
                expect({ step, waitsForKind: transitiveDependencies(run, step).has(kind) }).toEqual({
                    step,
                    waitsForKind: false,
                });
            }
            const registrations = byType(run, COMMAND).filter((c) => c.name.startsWith("bmc-"));
            for (const registration of registrations) {
                dependsOn(registration.urn, container);
                const domainName = registration.name.slice("bmc-".length);
                const domain = byType(run, DOMAIN).find((d) => d.inputs.name === domainName);
                expect(domain).toBeDefined();
                dependsOn(registration.urn, domain!.urn);
            }
            const hardware = byType(run, "kubernetes:tinkerbell.org/v1alpha1:Hardware");
            for (const h of hardware) {
                dependsOn(h.urn, chart);
                for (const registration of registrations) dependsOn(h.urn, registration.urn);
            }
            const capi = run.registrations.filter(
                (r) =>
                    r.name.startsWith("workload-") && r.type.startsWith("kubernetes:") && r.type.includes("x-k8s.io"),
            );
            expect(capi.length).toBeGreaterThanOrEqual(5);
            for (const object of capi) {
                dependsOn(object.urn, clusterctl);
                for (const h of hardware) dependsOn(object.urn, h.urn);
            }
            const kubeconfig = urn(COMMAND, "workload-kubeconfig");
            for (const object of capi) dependsOn(kubeconfig, object.urn);
            const cni =
                config.cni === "kube-router"
                    ? urn("kubernetes:yaml/v2:ConfigFile", "workload-kube-router")
                    : urn("kubernetes:helm.sh/v3:Release", "workload-cilium");
            dependsOn(cni, kubeconfig);
        });

        test("a recreated KinD cluster replaces its provider: the identity carries the create command's id", () => {
            const provider = one(run, "pulumi:providers:kubernetes", "kind-provider");
            const kind = one(run, COMMAND, "kind-cluster");
            // pulumi-command gives every create a new random id, so a new cluster is a new identity
            // and the engine replaces the provider and every object on it, whatever its version.
            expect(provider.dependencies).toContain(kind.urn);
            // In a preview of a new cluster the id is unknown, and so is the identity: a replacement.
            expect(provider.inputs.clusterIdentifier).toEqual(
                preview ? { __pulumiUnknown: true } : `capt-${stack}/kind-cluster-id`,
            );
        });

        test("no provider forgets objects it cannot reach (no deleteUnreachable)", () => {
            for (const provider of byType(run, "pulumi:providers:kubernetes")) {
                expect({ provider: provider.name, deleteUnreachable: provider.inputs.deleteUnreachable }).toEqual({
                    provider: provider.name,
                    deleteUnreachable: undefined,
                });
            }
        });

        test("Hardware leaves allowPXE to the tink controller after create; nothing else ignores changes", () => {
            for (const registration of run.registrations) {
                const expected =
                    registration.type === "kubernetes:tinkerbell.org/v1alpha1:Hardware"
                        ? ["spec.interfaces[*].netboot.allowPXE"]
                        : [];
                expect({ name: registration.name, ignoreChanges: registration.ignoreChanges }).toEqual({
                    name: registration.name,
                    ignoreChanges: expected,
                });
            }
        });

        test("the program asks the engine for the minimum CLI version first", () => {
            expect(run.requiredPulumiVersions).toEqual([">=3.248.0"]);
        });

        test("the CNI belongs to the workload cluster: deleted with the kubeconfig wait, not with KinD", () => {
            const cni =
                config.cni === "kube-router"
                    ? one(run, "kubernetes:yaml/v2:ConfigFile", "workload-kube-router")
                    : one(run, "kubernetes:helm.sh/v3:Release", "workload-cilium");
            expect(cni.deletedWith).toBe(one(run, COMMAND, "workload-kubeconfig").urn);
        });

        test("fixed-name resources are replaced delete-first", () => {
            expect(one(run, COMMAND, "kind-cluster").deleteBeforeReplace).toBe(true);
            expect(one(run, "docker:index/container:Container", "bmc-container").deleteBeforeReplace).toBe(true);
            expect(one(run, "docker:index/network:Network", "network-network").deleteBeforeReplace).toBe(true);
        });

        test("kubeconfig outputs are secret, command stdout holding kubeconfigs is a secret output", () => {
            expect(one(run, COMMAND, "kind-cluster").additionalSecretOutputs).toContain("stdout");
            expect(one(run, COMMAND, "workload-kubeconfig").additionalSecretOutputs).toContain("stdout");
            if (!preview) {
                expect(isSecretValue(run.outputs.kindKubeconfig)).toBe(true);
                expect(isSecretValue(run.outputs.workloadKubeconfig)).toBe(true);
                expect(isSecretValue(run.outputs.bmcPassword)).toBe(true);
            }
        });

        test("outputs: machine table, VIPs, UI URL and next steps", () => {
            const table = run.outputs.machines as { name: string; role: string; bmc: string }[];
            expect(table).toHaveLength(machines);
            expect(table.filter((m) => m.role === "control-plane")).toHaveLength(counts.cp);
            expect(table[0].bmc).toMatch(/^\d+\.\d+\.\d+\.\d+:6231$/);
            expect(run.outputs.tinkerbellUi).toMatch(/^http:\/\/[\d.]+:7080$/);
            expect((run.outputs.nextSteps as string[]).join("\n")).toMatch(/kubectl get workflows/);
        });

        test("the BMC password appears nowhere outside secret values and never in a command line", () => {
            if (!config.bmcPassword) {
                return;
            }
            for (const registration of run.registrations) {
                const leaked = plainStrings(registration.inputs).filter((s) => s.includes(BMC_PASSWORD));
                expect({ resource: `${registration.type}/${registration.name}`, leaked }).toEqual({
                    resource: `${registration.type}/${registration.name}`,
                    leaked: [],
                });
            }
            for (const command of byType(run, COMMAND)) {
                for (const field of ["create", "update", "delete"]) {
                    expect(JSON.stringify(command.inputs[field] ?? "")).not.toContain(BMC_PASSWORD);
                }
            }
            expect(JSON.stringify(plainStrings(run.outputs))).not.toContain(BMC_PASSWORD);
        });
    });
});

test("a plaintext BMC password stops the program before any resource is registered", async () => {
    const run = runProgram({ preflight: "false", bmcPassword: "plaintext99" }, { stack: "dev", preview: true });
    await expect(run).rejects.toThrow(/bmcPassword: is stored in plaintext/);
});

test("an outputDir whose real path leaves the allowed folders stops the program before any resource", async () => {
    // Below /tmp (allowed as spelled), another user's link leads to /etc.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-output-link-"));
    try {
        fs.symlinkSync("/etc", path.join(dir, "lab"));
        const run = runProgram(
            { preflight: "false", outputDir: path.join(dir, "lab", "capt") },
            { stack: "dev", preview: true },
        );
        await expect(run).rejects.toThrow(/outputDir: is .*, which a symbolic link on the way makes \/etc\/capt;/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
