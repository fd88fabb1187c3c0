/**
 * The program in each lab mode under strict mocks, in preview and update: exactly the resources the
 * mode needs, none it must not have, on the right providers, in the right order.
 */
import { REAL_MACHINES, sampleKubeconfig } from "../fixtures";
import {
    ProgramRun,
    byType,
    isSecretValue,
    one,
    plainStrings,
    providerUrn,
    runProgram,
    transitiveDependencies,
    PROGRAM_RUN_TIMEOUT_MS,
} from "./harness";

const COMMAND = "command:local:Command";
const PROVIDER = "pulumi:providers:kubernetes";
const HARDWARE = "kubernetes:tinkerbell.org/v1alpha1:Hardware";
const BMC_MACHINE = "kubernetes:bmc.tinkerbell.org/v1alpha1:Machine";
const CLUSTER = "kubernetes:cluster.x-k8s.io/v1beta2:Cluster";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const LIBVIRT = /^pulumi-nodejs:dynamic\/libvirt:/;
const DOCKER = /^docker:/;

const BMC_PASSWORD = "Real-Bmc-Pass1";
const MANAGEMENT_KUBECONFIG = sampleKubeconfig("https://mgmt.example:6443");
const TINKERBELL_KUBECONFIG = sampleKubeconfig("https://tink.example:6443");

function commandNames(run: ProgramRun): string[] {
    return byType(run, COMMAND).map((r) => r.name);
}

function providerNamed(run: ProgramRun, name: string) {
    return one(run, PROVIDER, name);
}

/** Runs `config` in preview and update mode; `check` gets each run. */
function inBothModes(
    title: string,
    config: Record<string, string>,
    secretKeys: string[],
    check: (get: () => ProgramRun, preview: boolean) => void,
) {
    describe.each([true, false])(`${title} (preview=%s)`, (preview) => {
        let run: ProgramRun;
        beforeAll(async () => {
            run = await runProgram({ preflight: "false", ...config }, { stack: "modes", preview, secretKeys });
        }, PROGRAM_RUN_TIMEOUT_MS);
        test("no invokes: strict mocks would have thrown", () => {
            expect(run.invokes).toEqual([]);
        });
        check(() => run, preview);
    });
}

const REAL = { machines: JSON.stringify(REAL_MACHINES), bmcPassword: BMC_PASSWORD };

inBothModes("real machines", REAL, ["bmcPassword"], (get) => {
    test("no libvirt objects, no virtual BMC, no generated password", () => {
        const run = get();
        expect(run.registrations.filter((r) => LIBVIRT.test(r.type))).toEqual([]);
        expect(commandNames(run).filter((n) => n.startsWith("bmc-"))).toEqual([]);
        expect(byType(run, "docker:index/container:Container")).toEqual([]);
        expect(byType(run, "random:index/randomPassword:RandomPassword")).toEqual([]);
        // KinD and its network stay: Tinkerbell serves the machines from the lab network.
        expect(byType(run, "docker:index/network:Network")).toHaveLength(1);
        expect(commandNames(run)).toContain("kind-cluster");
    });

    test("one Hardware and one Rufio Machine per listed machine, pointing at its real BMC", () => {
        const run = get();
        expect(
            byType(run, HARDWARE)
                .map((r) => (r.inputs.metadata as { name: string }).name)
                .sort(),
        ).toEqual(["rack1-a", "rack1-b", "rack1-c"]);
        const connections = byType(run, BMC_MACHINE).map(
            (r) => (r.inputs.spec as { connection: { host: string; port: number } }).connection,
        );
        // Registration order is the engine's: compare as a set.
        expect(connections.map((c) => `${c.host}:${c.port}`).sort()).toEqual([
            "10.71.2.10:623",
            "10.71.2.12:6230",
            "bmc-b.lab.example:443",
        ]);
    });

    test("the BMC password reaches the cluster only as a secret", () => {
        const run = get();
        expect(plainStrings(run.registrations.map((r) => r.inputs))).not.toContain(BMC_PASSWORD);
        expect(isSecretValue(run.outputs.bmcPassword)).toBe(true);
    });

    test("the machine table names each real BMC", () => {
        const machines = get().outputs.machines as { name: string; bmc: string }[];
        expect(machines.map((m) => [m.name, m.bmc])).toEqual([
            ["rack1-a", "10.71.2.10:623"],
            ["rack1-b", "bmc-b.lab.example:443"],
            ["rack1-c", "10.71.2.12:6230"],
        ]);
    });
});

const OWN_PASSWORD = "Own-Rack1-A-Pass";
const SECRET = "kubernetes:core/v1:Secret";
const OWN_CREDENTIALS = { ...REAL, machineBmcPasswords: JSON.stringify({ "rack1-a": OWN_PASSWORD }) };

inBothModes(
    "real machines, one with its own BMC password",
    OWN_CREDENTIALS,
    ["bmcPassword", "machineBmcPasswords"],
    (get) => {
        test("two Secrets: the shared one and rack1-a's own, each Rufio Machine pointing at its own", () => {
            const run = get();
            expect(
                byType(run, SECRET)
                    .map((r) => (r.inputs.metadata as { name: string }).name)
                    .sort(),
            ).toEqual(["bmc-creds", "bmc-creds-rack1-a"]);
            const refs = byType(run, BMC_MACHINE).map((r) => {
                const { metadata, spec } = r.inputs as {
                    metadata: { name: string };
                    spec: { connection: { authSecretRef: { name: string } } };
                };
                return [metadata.name, spec.connection.authSecretRef.name];
            });
            expect(refs.sort()).toEqual([
                ["rack1-a", "bmc-creds-rack1-a"],
                ["rack1-b", "bmc-creds"],
                ["rack1-c", "bmc-creds"],
            ]);
        });

        test("the Rufio Machines wait for both Secrets", () => {
            const run = get();
            for (const machine of byType(run, BMC_MACHINE)) {
                const before = transitiveDependencies(run, machine.urn);
                for (const secret of byType(run, SECRET)) expect(before.has(secret.urn)).toBe(true);
            }
        });

        test("the passwords appear only inside secret values", () => {
            const run = get();
            const plain = plainStrings([run.registrations.map((r) => r.inputs), run.outputs]).join("\n");
            expect(plain).not.toContain(OWN_PASSWORD);
            expect(plain).not.toContain(BMC_PASSWORD);
            // A secret value makes the whole stringData secret on the wire; inside it, each Secret's own password.
            const passwords = byType(run, SECRET).map((secret) => {
                const stringData = secret.inputs.stringData as { value: { password: string } };
                expect(isSecretValue(stringData)).toBe(true);
                return [(secret.inputs.metadata as { name: string }).name, stringData.value.password];
            });
            expect(passwords.sort()).toEqual([
                ["bmc-creds", BMC_PASSWORD],
                ["bmc-creds-rack1-a", OWN_PASSWORD],
            ]);
            expect(byType(run, "random:index/randomPassword:RandomPassword")).toEqual([]);
        });
    },
);

inBothModes(
    "real machines, every one with its own BMC password",
    {
        machines: JSON.stringify(REAL_MACHINES),
        machineBmcPasswords: JSON.stringify({ "rack1-a": "Own-A-1", "rack1-b": "Own-B-1", "rack1-c": "Own-C-1" }),
    },
    ["machineBmcPasswords"],
    (get) => {
        test("no shared Secret, no shared password output, no generated password", () => {
            const run = get();
            expect(
                byType(run, SECRET)
                    .map((r) => (r.inputs.metadata as { name: string }).name)
                    .sort(),
            ).toEqual(["bmc-creds-rack1-a", "bmc-creds-rack1-b", "bmc-creds-rack1-c"]);
            expect(run.outputs.bmcPassword).toBeUndefined();
            expect(byType(run, "random:index/randomPassword:RandomPassword")).toEqual([]);
            const plain = plainStrings([run.registrations.map((r) => r.inputs), run.outputs]).join("\n");
            for (const password of ["Own-A-1", "Own-B-1", "Own-C-1"]) expect(plain).not.toContain(password);
        });
    },
);

inBothModes(
    "existing management cluster",
    { ...REAL, managementKubeconfig: MANAGEMENT_KUBECONFIG, controlPlaneVip: "10.71.0.200" },
    ["bmcPassword", "managementKubeconfig"],
    (get) => {
        test("no docker network, no KinD, no docker at all, no KinD kubeconfig file", () => {
            const run = get();
            expect(run.registrations.filter((r) => DOCKER.test(r.type))).toEqual([]);
            expect(commandNames(run)).not.toContain("kind-cluster");
            expect(commandNames(run)).not.toContain("kind-kubeconfig-file-write");
            expect(run.outputs.kindKubeconfig).toBeUndefined();
            expect(run.outputs.files).not.toHaveProperty("kindKubeconfig");
            expect((run.outputs.nextSteps as string[]).join("\n")).toContain("KUBECONFIG=<your managementKubeconfig>");
        });

        test("Tinkerbell, clusterctl and every object go to the given cluster through its provider", () => {
            const run = get();
            const management = providerNamed(run, "management-provider");
            expect(isSecretValue(management.inputs.kubeconfig)).toBe(true);
            const inCluster = run.registrations.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
            const onManagement = inCluster.filter((r) => providerUrn(r.provider) === management.urn);
            expect(onManagement.map((r) => r.type)).toEqual(
                expect.arrayContaining([RELEASE, HARDWARE, BMC_MACHINE, CLUSTER]),
            );
        });

        test("objects in the user's cluster are really deleted on destroy (no deletedWith)", () => {
            const run = get();
            const management = providerNamed(run, "management-provider").urn;
            const inCluster = run.registrations.filter((x) => x.custom && providerUrn(x.provider) === management);
            expect(inCluster.length).toBeGreaterThan(5);
            for (const r of inCluster) {
                expect({ name: r.name, deletedWith: r.deletedWith }).toEqual({ name: r.name, deletedWith: "" });
            }
        });

        test("the workload cluster's objects go before the inventory they use", () => {
            const run = get();
            const cluster = byType(run, CLUSTER)[0];
            const hardware = byType(run, HARDWARE)[0];
            expect(transitiveDependencies(run, cluster.urn).has(hardware.urn)).toBe(true);
        });

        test("the VIPs come from config", () => {
            expect(get().outputs.vips).toMatchObject({ controlPlane: "10.71.0.200" });
        });

        test("the kubeconfig never appears in plain text", () => {
            const run = get();
            expect(plainStrings(run.registrations.map((r) => r.inputs)).join("\n")).not.toContain("mgmt.example");
        });
    },
);

inBothModes(
    "external Tinkerbell",
    { externalTinkerbell: "true", tinkerbellKubeconfig: TINKERBELL_KUBECONFIG, tinkerbellVip: "10.71.0.60" },
    ["tinkerbellKubeconfig"],
    (get) => {
        test("no Tinkerbell chart in KinD; Hardware, BMC Machines and their Secret go to the Tinkerbell cluster", () => {
            const run = get();
            expect(byType(run, "capt-playground:index:TinkerbellStack")).toEqual([]);
            const tinkerbell = providerNamed(run, "tinkerbell-provider");
            for (const r of [...byType(run, HARDWARE), ...byType(run, BMC_MACHINE)]) {
                expect({ name: r.name, provider: providerUrn(r.provider) }).toEqual({
                    name: r.name,
                    provider: tinkerbell.urn,
                });
                // The external cluster stays: its objects are deleted for real on destroy.
                expect(r.deletedWith).toBe("");
            }
        });

        test("the Cluster API objects stay in KinD", () => {
            const run = get();
            const kind = providerNamed(run, "kind-provider");
            expect(providerUrn(byType(run, CLUSTER)[0].provider)).toBe(kind.urn);
        });

        test("the VMs and their virtual BMC are still created", () => {
            const run = get();
            expect(run.registrations.filter((r) => LIBVIRT.test(r.type)).length).toBeGreaterThan(0);
            expect(byType(run, "docker:index/container:Container")).toHaveLength(1);
        });
    },
);

inBothModes(
    "registry mirror (the lab's caches)",
    { registryMirror: "true", registryMirrorKeepCache: "true" },
    [],
    (get) => {
        test("one cache volume and container per upstream, on the lab network at its planned address", () => {
            const run = get();
            const containers = byType(run, "docker:index/container:Container").filter((r) =>
                r.name.startsWith("mirror-"),
            );
            expect(
                containers
                    .map((r) => [r.name, (r.inputs.networksAdvanced as { ipv4Address: string }[])[0].ipv4Address])
                    .sort(),
            ).toEqual([
                ["mirror-docker", "10.71.0.23"],
                ["mirror-ghcr", "10.71.0.20"],
                ["mirror-quay", "10.71.0.21"],
                ["mirror-registry-k8s", "10.71.0.22"],
            ]);
            expect(byType(run, "docker:index/volume:Volume")).toHaveLength(4);
            expect(byType(run, "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name)).toContain(
                "docker.io/library/registry:3.0.0",
            );
        });

        test("KinD waits for the hosts.toml files it mounts and for the caches", () => {
            const run = get();
            const kind = one(run, COMMAND, "kind-cluster");
            const before = transitiveDependencies(run, kind.urn);
            for (const file of byType(run, COMMAND).filter((r) => r.name.endsWith("-hosts-toml-write"))) {
                expect(before.has(file.urn)).toBe(true);
            }
            for (const container of byType(run, "docker:index/container:Container").filter((r) =>
                r.name.startsWith("mirror-"),
            )) {
                expect(before.has(container.urn)).toBe(true);
            }
            const kindConfig = String(kind.inputs.stdin);
            expect(kindConfig).toContain("containerPath: /etc/containerd/certs.d");
        });

        test("the workload machines get the hosts.toml files", () => {
            const run = get();
            const kcp = byType(run, "kubernetes:controlplane.cluster.x-k8s.io/v1beta2:KubeadmControlPlane")[0];
            const files = (kcp.inputs.spec as { kubeadmConfigSpec: { files: { path: string }[] } }).kubeadmConfigSpec
                .files;
            expect(files.map((f) => f.path)).toContain("/etc/containerd/certs.d/ghcr.io/hosts.toml");
        });
    },
);

inBothModes(
    "registry mirror (the user's HTTPS mirror)",
    { registryMirror: "true", registryMirrorHost: "mirror.example.com" },
    [],
    (get) => {
        test("no cache containers or volumes; references rewritten to the mirror", () => {
            const run = get();
            expect(byType(run, "docker:index/volume:Volume")).toEqual([]);
            expect(byType(run, "docker:index/container:Container").map((r) => r.name)).toEqual(["bmc-container"]);
            expect(byType(run, RELEASE).find((r) => r.name === "tinkerbell-release")!.inputs.chart).toBe(
                "oci://mirror.example.com/tinkerbell/charts/tinkerbell",
            );
            expect(byType(run, "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name)).toEqual([
                "mirror.example.com/jacobweinstock/virtualbmc:sha-9e669b4",
            ]);
        });
    },
);

inBothModes("Cluster API Operator", { clusterApiInstaller: "operator" }, [], (get) => {
    test("no clusterctl init: cert-manager and the operator charts, then the four providers, each awaited", () => {
        const run = get();
        expect(commandNames(run)).not.toContain("capi-init");
        const releases = byType(run, RELEASE).map((r) => [r.name, r.inputs.chart, r.inputs.version]);
        expect(releases).toEqual(
            expect.arrayContaining([
                ["capi-cert-manager", "cert-manager", expect.any(String)],
                ["capi-operator", "cluster-api-operator", "0.28.0"],
            ]),
        );
        const providers = run.registrations.filter((r) => r.type.startsWith("kubernetes:operator.cluster.x-k8s.io/"));
        expect(
            providers.map((r) => [r.type.split(":").pop(), (r.inputs.spec as { version: string }).version]).sort(),
        ).toEqual([
            ["BootstrapProvider", "v1.12.5"],
            ["ControlPlaneProvider", "v1.12.5"],
            ["CoreProvider", "v1.12.5"],
            ["InfrastructureProvider", "v0.7.0"],
        ]);
        const operator = one(run, RELEASE, "capi-operator");
        for (const provider of providers) {
            expect(transitiveDependencies(run, provider.urn).has(operator.urn)).toBe(true);
            const annotations = (provider.inputs.metadata as { annotations: Record<string, string> }).annotations;
            expect(annotations["pulumi.com/waitFor"]).toContain("condition=Ready");
        }
    });

    test("the workload cluster's objects wait for the providers", () => {
        const run = get();
        const cluster = byType(run, CLUSTER)[0];
        const providers = run.registrations.filter((r) => r.type.startsWith("kubernetes:operator.cluster.x-k8s.io/"));
        for (const provider of providers) {
            expect(transitiveDependencies(run, cluster.urn).has(provider.urn)).toBe(true);
        }
    });
});

inBothModes("pivot", { pivot: "true" }, [], (get, preview) => {
    test("after the CNI: the Tinkerbell chart in the workload cluster, then clusterctl move", () => {
        const run = get();
        const move = one(run, COMMAND, "pivot-move");
        const workloadProvider = providerNamed(run, "workload-provider");
        const chart = one(run, RELEASE, "pivot-tinkerbell");
        expect(providerUrn(chart.provider)).toBe(workloadProvider.urn);
        const before = transitiveDependencies(run, move.urn);
        expect(before.has(chart.urn)).toBe(true);
        expect(before.has(one(run, RELEASE, "workload-cilium").urn)).toBe(true);
        expect(before.has(one(run, COMMAND, "workload-kubeconfig").urn)).toBe(true);
    });

    test("a full destroy skips the move back (deleted with KinD); pivot: false moves back", () => {
        const run = get();
        const kind = one(run, COMMAND, "kind-cluster");
        expect(one(run, COMMAND, "pivot-move").deletedWith).toBe(kind.urn);
        expect(String(one(run, COMMAND, "pivot-move").inputs.delete)).toContain("pivot-back");
    });

    test("both kubeconfigs reach the move only as secrets", () => {
        const run = get();
        const move = one(run, COMMAND, "pivot-move");
        // A secret value makes the whole environment map secret on the wire.
        if (!preview) {
            expect(isSecretValue(move.inputs.environment)).toBe(true);
        }
        expect(plainStrings(move.inputs).join("\n")).not.toContain("kind: Config");
        expect(JSON.stringify([move.inputs.create, move.inputs.delete])).not.toContain("kind: Config");
    });
});

inBothModes("arm64 machines", { machineArch: "aarch64" }, [], (get) => {
    test("aarch64 domains, arm64 OS image, aarch64 Hardware", () => {
        const run = get();
        const domains = byType(run, "pulumi-nodejs:dynamic/libvirt:Domain");
        expect(domains.length).toBe(3);
        const hardware = byType(run, HARDWARE)[0].inputs.spec as { interfaces: { dhcp: { arch: string } }[] };
        expect(hardware.interfaces[0].dhcp.arch).toBe("aarch64");
        const tmt = run.registrations.find((r) => r.type.endsWith(":TinkerbellMachineTemplate"))!;
        expect(JSON.stringify(tmt.inputs)).toContain("-arm64.gz");
    });
});
