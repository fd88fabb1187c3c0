/** The lab modes' keys: parsed, validated, and refused in combinations that cannot work. */
import { ConfigError, ENCRYPTED_VALUE, RawConfig, parseLabConfig } from "../lib/config";
import { assignRoles } from "../lib/config-machines";
import { planLab } from "../lib/plan";
import { PROJECT_DIR, REAL_MACHINES, REAL_MACHINES_CONFIG, labConfig, sampleKubeconfig } from "./fixtures";

function problemsOf(raw: RawConfig, isSecret: (key: string) => boolean = () => true) {
    try {
        parseLabConfig(raw, { stack: "dev", isSecret });
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
    }
    throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

function keysOf(raw: RawConfig): string[] {
    return problemsOf(raw).map((p) => p.key);
}

const EXISTING = { ...REAL_MACHINES_CONFIG, managementKubeconfig: sampleKubeconfig() };

describe("the default lab", () => {
    test("has every mode off", () => {
        const config = labConfig();
        expect(config).toMatchObject({
            managementKubeconfig: undefined,
            externalTinkerbell: false,
            tinkerbellKubeconfig: undefined,
            machines: [],
            registryMirror: false,
            registryMirrorKeepCache: false,
            pivot: false,
            clusterApiInstaller: "clusterctl",
            machineArch: "x86_64",
        });
        const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir: PROJECT_DIR });
        expect(plan.modes).toEqual({
            management: "kind",
            tinkerbell: "local",
            machines: "vms",
            arch: "x86_64",
            clusterApiInstaller: "clusterctl",
            registryMirror: false,
            pivot: false,
        });
    });
});

describe("machines (real machines)", () => {
    test("a BMC may use the virtual BMC's planned address: no virtual BMC runs for real machines", () => {
        // networkSubnet 10.71.0.0/16: the virtual BMC's planned address is 10.71.0.16 (VBMC_OFFSET).
        const machines = REAL_MACHINES.map((m, i) =>
            i === 0 ? { ...m, bmc: { ...m.bmc, address: "10.71.0.16" } } : m,
        );
        expect(labConfig({ ...REAL_MACHINES_CONFIG, machines }).machines[0].bmc.address).toBe("10.71.0.16");
    });

    test("parse with defaults: lowercase MACs, /dev/sda, IPMI 623, Redfish 443, insecureTLS on", () => {
        const config = labConfig(REAL_MACHINES_CONFIG);
        expect(config.hardwareCount).toBe(3);
        expect(config.machines[0]).toEqual({
            name: "rack1-a",
            mac: "0c:c4:7a:00:00:01",
            ip: "10.71.1.10",
            disk: "/dev/sda",
            bmc: { address: "10.71.2.10", port: 623, protocol: "ipmi", insecureTLS: true },
        });
        expect(config.machines[1].bmc).toEqual({
            address: "bmc-b.lab.example",
            port: 443,
            protocol: "redfish",
            insecureTLS: true,
            systemName: "System.Embedded.1",
        });
        expect(config.machines[1].disk).toBe("/dev/nvme0n1");
        expect(config.machines[2].bmc.port).toBe(6230);
    });

    test("plan: given addresses kept, a missing one planned, roles in list order, BMCs as given", () => {
        const config = labConfig(REAL_MACHINES_CONFIG);
        const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir: PROJECT_DIR });
        expect(plan.modes.machines).toBe("real");
        expect(plan.machines.map((m) => [m.name, m.role, m.ip, m.disk])).toEqual([
            ["rack1-a", "control-plane", "10.71.1.10", "/dev/sda"],
            ["rack1-b", "worker", "10.71.1.11", "/dev/nvme0n1"],
            ["rack1-c", "spare", "10.71.0.34", "/dev/sda"],
        ]);
        expect(plan.machines[1].bmc).toEqual({
            host: "bmc-b.lab.example",
            port: 443,
            protocol: "redfish",
            insecureTLS: true,
            systemName: "System.Embedded.1",
        });
    });

    test("hardwareCount is the list's length (Pulumi.yaml's default 3 arrives even when unset)", () => {
        expect(
            labConfig({ ...REAL_MACHINES_CONFIG, machines: REAL_MACHINES.slice(0, 2), hardwareCount: 3 }).hardwareCount,
        ).toBe(2);
    });

    test("a JSON string (as --set gives) parses like the list", () => {
        const config = labConfig({ ...REAL_MACHINES_CONFIG, machines: JSON.stringify(REAL_MACHINES) });
        expect(config.machines.map((m) => m.name)).toEqual(["rack1-a", "rack1-b", "rack1-c"]);
    });

    test("named roles are kept and the rest fill the open slots", () => {
        expect(
            assignRoles([{ role: "worker" }, {}, {}, { role: "spare" }, {}], { controlPlanes: 1, workers: 2 }),
        ).toEqual(["worker", "control-plane", "worker", "spare", "spare"]);
    });

    const machine = (overrides: Record<string, unknown>) => ({ ...REAL_MACHINES[0], ...overrides });
    const INVALID: [string, RawConfig, string][] = [
        [
            "a duplicate name",
            {
                machines: [
                    REAL_MACHINES[0],
                    machine({
                        mac: "0c:c4:7a:00:00:09",
                        ip: "10.71.1.99",
                        bmc: { address: "10.71.2.99", protocol: "ipmi" },
                    }),
                ],
            },
            "machines[1].name",
        ],
        [
            "a duplicate MAC (case-insensitive)",
            { machines: [REAL_MACHINES[0], { ...REAL_MACHINES[1], mac: "0c:c4:7a:00:00:01" }] },
            "machines[1].mac",
        ],
        [
            "a duplicate IP",
            { machines: [REAL_MACHINES[0], { ...REAL_MACHINES[1], ip: "10.71.1.10" }] },
            "machines[1].ip",
        ],
        ["an IP outside networkSubnet", { machines: [machine({ ip: "192.168.1.10" })] }, "machines[0].ip"],
        ["an IP in docker's own range", { machines: [machine({ ip: "10.71.0.5" })] }, "machines[0].ip"],
        ["an IP on a VIP", { machines: [machine({ ip: "10.71.0.17" })] }, "machines[0].ip"],
        ["a bad MAC", { machines: [machine({ mac: "0c:c4:7a:00:01" })] }, "machines[0].mac"],
        ["no BMC", { machines: [machine({ bmc: undefined })] }, "machines[0].bmc"],
        [
            "an unknown BMC protocol",
            { machines: [machine({ bmc: { address: "10.71.2.10", protocol: "amt" } })] },
            "machines[0].bmc.protocol",
        ],
        [
            "a BMC port out of range",
            { machines: [machine({ bmc: { address: "10.71.2.10", protocol: "ipmi", port: 70000 } })] },
            "machines[0].bmc.port",
        ],
        ["an unknown field (typo)", { machines: [machine({ macc: "x" })] }, "machines[0].macc"],
        ["an unknown role", { machines: [machine({ role: "master" })] }, "machines[0].role"],
        ["a disk that is not a device", { machines: [machine({ disk: "sda" })] }, "machines[0].disk"],
        ["not a list", { machines: { name: "x" } }, "machines"],
        ["roles that do not add up", { machines: [machine({ role: "worker" })] }, "machines"],
        [
            "too many control planes named",
            {
                machines: [
                    { ...REAL_MACHINES[0], role: "control-plane" },
                    { ...REAL_MACHINES[1], role: "control-plane" },
                    REAL_MACHINES[2],
                ],
            },
            "machines",
        ],
    ];
    test.each(INVALID)("refuses %s, naming the key", (_, raw, key) => {
        expect(keysOf({ bmcPassword: "bmc-secret-1", ...raw })).toContain(key);
    });

    test("ISO boot needs Redfish on every machine (virtual media)", () => {
        expect(keysOf({ ...REAL_MACHINES_CONFIG, bootMode: "isoboot" })).toEqual([
            "machines[0].bmc.protocol",
            "machines[2].bmc.protocol",
        ]);
    });

    test("needs the BMC password, set as a secret, while some machine has no password of its own", () => {
        expect(keysOf({ machines: REAL_MACHINES })).toEqual(["bmcPassword"]);
        expect(problemsOf(REAL_MACHINES_CONFIG, () => false).map((p) => p.key)).toEqual(["bmcPassword"]);
        const some = problemsOf({ machines: REAL_MACHINES, machineBmcPasswords: '{"rack1-a":"pw-a"}' });
        expect(some.map((p) => p.key)).toEqual(["bmcPassword"]);
        expect(some[0].message).toMatch(/no entry in machineBmcPasswords \(rack1-b, rack1-c\)/);
        const all = JSON.stringify({ "rack1-a": "pw-a", "rack1-b": "pw-b", "rack1-c": "pw-c" });
        expect(labConfig({ machines: REAL_MACHINES, machineBmcPasswords: all }).bmcPassword).toBeUndefined();
    });

    test("a machine without an ip whose planned address is taken is told to set one", () => {
        const problems = problemsOf({
            ...REAL_MACHINES_CONFIG,
            machines: [{ ...REAL_MACHINES[0], ip: "10.71.0.34" }, REAL_MACHINES[1], REAL_MACHINES[2]],
        });
        expect(problems.map((p) => p.key)).toEqual(["machines[2].ip"]);
        expect(problems[0].message).toMatch(
            /planned address 10\.71\.0\.34 is already machine rack1-a's address; set ip/,
        );
    });
});

describe("per-machine BMC credentials (machineBmcPasswords, machines[i].bmc.username)", () => {
    // Redfish passwords may be longer than IPMI's 20.
    const PASSWORDS = { "rack1-a": "Ipmi-Pass-A1", "rack1-b": "A_much_longer_Redfish-passphrase" };
    const withPasswords = (passwords: unknown, raw: RawConfig = {}): RawConfig => ({
        ...REAL_MACHINES_CONFIG,
        machineBmcPasswords: typeof passwords === "string" ? passwords : JSON.stringify(passwords),
        ...raw,
    });
    const machine = (i: number, bmc: Record<string, unknown>) => ({
        ...REAL_MACHINES[i],
        bmc: { ...REAL_MACHINES[i].bmc, ...bmc },
    });
    /** Every password text any refusal below could leak. */
    const SECRET_TEXTS = ["Ipmi-Pass-A1", "Much-Too-Long-For-Ipmi-1234", "has space", "hunter2-pw", "bmc-secret-1"];

    test("parse: passwords by machine name, own user names, plaintext only inside LabConfig", () => {
        const config = labConfig(
            withPasswords(PASSWORDS, {
                machines: [REAL_MACHINES[0], machine(1, { username: "root" }), REAL_MACHINES[2]],
            }),
        );
        expect(config.machineBmcPasswords).toEqual(PASSWORDS);
        expect(config.machines.map((m) => m.bmc.username)).toEqual([undefined, "root", undefined]);
        expect(labConfig(REAL_MACHINES_CONFIG).machineBmcPasswords).toBeUndefined();
    });

    test("an encrypted value read offline counts as set, for every machine", () => {
        const config = labConfig({ machines: REAL_MACHINES, machineBmcPasswords: { secure: "v1:abc" } });
        expect(config.machineBmcPasswords).toBe(ENCRYPTED_VALUE);
        // Which machines it names is unknown, so bmcPassword is not asked for.
        expect(config.bmcPassword).toBeUndefined();
    });

    const REFUSED: [string, RawConfig, string, RegExp][] = [
        [
            "plaintext",
            withPasswords(PASSWORDS),
            "machineBmcPasswords",
            /is stored in plaintext; set it from a file .*`pulumi config set --secret machineBmcPasswords < passwords.json`/,
        ],
        [
            "a plaintext YAML map",
            { ...REAL_MACHINES_CONFIG, machineBmcPasswords: { "rack1-a": "hunter2-pw" } },
            "machineBmcPasswords",
            /is a mapping, not an encrypted value \(the value is not shown\)/,
        ],
        ["not JSON", withPasswords("{rack1-a: hunter2-pw"), "machineBmcPasswords", /is not a JSON object/],
        ["a JSON list", withPasswords(["hunter2-pw"]), "machineBmcPasswords", /is not a JSON object/],
        [
            "an unknown machine name",
            withPasswords({ "rack9-z": "hunter2-pw" }),
            "machineBmcPasswords",
            /names "rack9-z"; expected names from machines: rack1-a, rack1-b, rack1-c/,
        ],
        [
            "a key that is no machine name (a password in the wrong place)",
            withPasswords({ "hunter2-pw!": "rack1-a" }),
            "machineBmcPasswords",
            /names a key that is no machine name \(not shown\)/,
        ],
        [
            "a password too long for IPMI",
            withPasswords({ "rack1-a": "Much-Too-Long-For-Ipmi-1234" }),
            "machineBmcPasswords",
            /the password of "rack1-a" \(not shown\) is not 1 to 20 printable ASCII characters without spaces \(IPMI limit\)/,
        ],
        [
            "a password with a space",
            withPasswords({ "rack1-b": "has space" }),
            "machineBmcPasswords",
            /the password of "rack1-b" \(not shown\) is not 1 to 127 printable ASCII/,
        ],
        [
            "a password too long for Redfish",
            withPasswords({ "rack1-b": "x".repeat(128) }),
            "machineBmcPasswords",
            /the password of "rack1-b" \(not shown\) is not 1 to 127/,
        ],
        ["an empty password", withPasswords({ "rack1-a": "" }), "machineBmcPasswords", /the password of "rack1-a"/],
        ["a password that is no string", withPasswords({ "rack1-a": 12345678 }), "machineBmcPasswords", /"rack1-a"/],
        [
            "VMs (no machines)",
            { machineBmcPasswords: JSON.stringify({ "rack1-a": "hunter2-pw" }) },
            "machineBmcPasswords",
            /is set but machines is empty/,
        ],
        [
            "a user name too long for IPMI",
            {
                ...REAL_MACHINES_CONFIG,
                machines: [machine(0, { username: "a".repeat(17) }), ...REAL_MACHINES.slice(1)],
            },
            "machines[0].bmc.username",
            /expected 1 to 16 letters, digits, '\.', '_' or '-' \(IPMI limit\)/,
        ],
        [
            "a user name too long for Redfish",
            { ...REAL_MACHINES_CONFIG, machines: [REAL_MACHINES[0], machine(1, { username: "a".repeat(65) })] },
            "machines[1].bmc.username",
            /expected 1 to 64 letters/,
        ],
        [
            "a user name with a space",
            { ...REAL_MACHINES_CONFIG, machines: [machine(0, { username: "ad min" }), ...REAL_MACHINES.slice(1)] },
            "machines[0].bmc.username",
            /got "ad min"/,
        ],
    ];
    test.each(REFUSED)("refuses %s, naming the key and never a password", (title, raw, key, message) => {
        const problems = problemsOf(raw, (k) => (title === "plaintext" ? k !== "machineBmcPasswords" : true));
        expect(problems.map((p) => p.key)).toEqual([key]);
        expect(problems[0].message).toMatch(message);
        const text = JSON.stringify(problems) + new ConfigError(problems).message;
        for (const secret of SECRET_TEXTS) {
            expect(text).not.toContain(secret);
        }
    });

    test("Redfish user names may be longer than IPMI's 16", () => {
        const config = labConfig({
            ...REAL_MACHINES_CONFIG,
            machines: [REAL_MACHINES[0], machine(1, { username: "redfish-operator-account" }), REAL_MACHINES[2]],
        });
        expect(config.machines[1].bmc.username).toBe("redfish-operator-account");
    });
});

describe("managementKubeconfig (an existing management cluster)", () => {
    test("selects the existing-cluster mode and keeps the kubeconfig only in LabConfig", () => {
        const config = labConfig(EXISTING);
        expect(config.managementKubeconfig).toContain("kind: Config");
        const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir: PROJECT_DIR });
        expect(plan.modes.management).toBe("existing");
    });

    test("an encrypted value read offline counts as set", () => {
        const config = labConfig({ ...REAL_MACHINES_CONFIG, managementKubeconfig: { secure: "v1:abc" } });
        expect(config.managementKubeconfig).toBe(ENCRYPTED_VALUE);
    });

    test("refuses plaintext, naming the key and never echoing the value", () => {
        const problems = problemsOf(EXISTING, (key) => key !== "managementKubeconfig");
        expect(problems.map((p) => p.key)).toEqual(["managementKubeconfig"]);
        expect(problems[0].message).toMatch(/--secret managementKubeconfig/);
        expect(JSON.stringify(problems)).not.toContain("fixture-token");
    });

    test.each([
        ["not YAML", "{{{"],
        ["not a kubeconfig", "kind: Pod\n"],
        ["no server", "kind: Config\nclusters: [{name: c, cluster: {}}]\nusers: [{name: u}]\n"],
        ["no user", "kind: Config\nclusters: [{name: c, cluster: {server: 'https://a:6443'}}]\n"],
    ])("refuses a value that is %s", (_, value) => {
        const problems = problemsOf({ ...EXISTING, managementKubeconfig: value });
        expect(problems.map((p) => p.key)).toEqual(["managementKubeconfig"]);
    });

    test("with VMs it is refused: they need the lab's own network", () => {
        expect(keysOf({ managementKubeconfig: sampleKubeconfig() })).toEqual(["managementKubeconfig"]);
    });

    test("with the registry mirror it is refused", () => {
        expect(keysOf({ ...EXISTING, registryMirror: true })).toEqual(["registryMirror"]);
    });

    test("addresses come from config: VIPs and gateway anywhere in the subnet, docker's range free", () => {
        const config = labConfig({
            ...EXISTING,
            tinkerbellVip: "10.71.0.5",
            artifactsVip: "10.71.0.6",
            controlPlaneVip: "10.71.0.7",
            networkGateway: "10.71.0.254",
        });
        const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir: PROJECT_DIR });
        expect(plan.vips).toEqual({ tinkerbell: "10.71.0.5", artifacts: "10.71.0.6", controlPlane: "10.71.0.7" });
        expect(plan.network.gateway).toBe("10.71.0.254");
    });

    test.each([
        ["a VIP outside the subnet", { controlPlaneVip: "10.99.0.7" }, "controlPlaneVip"],
        ["two VIPs on one address", { tinkerbellVip: "10.71.0.50", artifactsVip: "10.71.0.50" }, "artifactsVip"],
        ["a VIP on a machine", { controlPlaneVip: "10.71.1.10" }, "controlPlaneVip"],
        ["the broadcast address", { networkGateway: "10.71.255.255" }, "networkGateway"],
        ["not an address", { tinkerbellVip: "tink.example" }, "tinkerbellVip"],
    ])("refuses %s", (_, raw, key) => {
        expect(keysOf({ ...EXISTING, ...raw })).toContain(key);
    });
});

describe("networkGateway and VIPs with the lab's own network", () => {
    test("a VIP inside docker's range or on the virtual BMC is refused", () => {
        expect(keysOf({ tinkerbellVip: "10.71.0.3" })).toEqual(["tinkerbellVip"]);
        expect(keysOf({ tinkerbellVip: "10.71.0.16" })).toEqual(["tinkerbellVip"]);
    });
    test("a VIP on a VM's planned address is refused", () => {
        expect(keysOf({ controlPlaneVip: "10.71.0.33" })).toEqual(["controlPlaneVip"]);
    });
    test("a gateway with VMs is refused: theirs is the bridge", () => {
        expect(keysOf({ networkGateway: "10.71.0.254" })).toEqual(["networkGateway"]);
    });
    test("a VIP on the mirror's addresses is refused only with the mirror on", () => {
        expect(keysOf({ registryMirror: true, tinkerbellVip: "10.71.0.20" })).toEqual(["tinkerbellVip"]);
        expect(labConfig({ tinkerbellVip: "10.71.0.20" }).tinkerbellVip).toBe("10.71.0.20");
    });
});

describe("externalTinkerbell", () => {
    const external = {
        externalTinkerbell: true,
        tinkerbellKubeconfig: sampleKubeconfig(),
        tinkerbellVip: "10.71.0.60",
    };

    test("selects the external mode", () => {
        const config = labConfig(external);
        const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir: PROJECT_DIR });
        expect(plan.modes.tinkerbell).toBe("external");
        expect(plan.vips.tinkerbell).toBe("10.71.0.60");
    });
    test("needs tinkerbellKubeconfig", () => {
        expect(keysOf({ externalTinkerbell: true })).toEqual(["tinkerbellKubeconfig"]);
    });
    test("a kubeconfig without externalTinkerbell is refused", () => {
        expect(keysOf({ tinkerbellKubeconfig: sampleKubeconfig() })).toEqual(["tinkerbellKubeconfig"]);
    });
    test("the kubeconfig must be a secret", () => {
        const problems = problemsOf(external, (key) => key !== "tinkerbellKubeconfig");
        expect(problems.map((p) => p.key)).toEqual(["tinkerbellKubeconfig"]);
    });
});

describe("registryMirror", () => {
    test("defaults: four upstreams, registry 3, cache dropped on destroy", () => {
        const config = labConfig({ registryMirror: true });
        expect(config.registryMirrorUpstreams).toEqual(["ghcr.io", "quay.io", "registry.k8s.io", "docker.io"]);
        expect(config.registryMirrorImage).toBe("docker.io/library/registry:3.0.0");
        expect(config.registryMirrorKeepCache).toBe(false);
    });
    test.each([
        ["no upstreams", { registryMirrorUpstreams: [] }],
        ["a URL instead of a host", { registryMirrorUpstreams: ["https://ghcr.io"] }],
        ["a repeated upstream", { registryMirrorUpstreams: ["ghcr.io", "ghcr.io"] }],
        [
            "more upstreams than the lab's service addresses",
            { registryMirrorUpstreams: Array.from({ length: 13 }, (_, i) => `r${i}.example`) },
        ],
    ])("refuses %s", (_, raw) => {
        expect(keysOf({ registryMirror: true, ...raw })).toEqual(["registryMirrorUpstreams"]);
    });
});

describe("registryMirrorHost", () => {
    test("needs registryMirror: true and a host, not a URL", () => {
        expect(keysOf({ registryMirrorHost: "mirror.example.com" })).toEqual(["registryMirrorHost"]);
        expect(keysOf({ registryMirror: true, registryMirrorHost: "https://mirror.example.com" })).toEqual([
            "registryMirrorHost",
        ]);
        expect(
            labConfig({ registryMirror: true, registryMirrorHost: "mirror.example.com:8443" }).registryMirrorHost,
        ).toBe("mirror.example.com:8443");
    });
    test("with the user's mirror the lab's cache addresses stay free", () => {
        const config = labConfig({
            registryMirror: true,
            registryMirrorHost: "mirror.example.com",
            tinkerbellVip: "10.71.0.20",
        });
        expect(config.tinkerbellVip).toBe("10.71.0.20");
    });
});

describe("pivot", () => {
    test("needs the workload cluster and a CNI", () => {
        expect(keysOf({ pivot: true, waitForWorkload: false })).toEqual(["pivot"]);
        expect(keysOf({ pivot: true, cni: "none" })).toEqual(["pivot"]);
        expect(labConfig({ pivot: true }).pivot).toBe(true);
    });
});

describe("clusterApiInstaller and machineArch", () => {
    test("accept their values and refuse others, naming the allowed ones", () => {
        expect(labConfig({ clusterApiInstaller: "operator" }).clusterApiInstaller).toBe("operator");
        expect(problemsOf({ clusterApiInstaller: "helm" })[0].message).toMatch(/allowed values: clusterctl, operator/);
        expect(labConfig({ machineArch: "aarch64" }).machineArch).toBe("aarch64");
        expect(problemsOf({ machineArch: "arm64" })[0]).toEqual({
            key: "machineArch",
            message: 'got "arm64"; allowed values: x86_64, aarch64',
        });
    });
    test("aarch64 with domainType kvm is the host's question, left to the preflight (config reads no host)", () => {
        expect(labConfig({ machineArch: "aarch64", domainType: "kvm" }).domainType).toBe("kvm");
    });
});

describe("an offline lab (offlineBundle)", () => {
    test("takes an absolute folder a user would keep a bundle in", () => {
        expect(labConfig({ offlineBundle: "/srv/capt-bundle" }).offlineBundle).toBe("/srv/capt-bundle");
        expect(labConfig({ offlineBundle: "/home/ann/bundles/lab-1.2" }).offlineBundle).toBe(
            "/home/ann/bundles/lab-1.2",
        );
        expect(labConfig().offlineBundle).toBe("");
    });

    test.each([
        ["relative", "bundle"],
        ["a system folder", "/etc/bundle"],
        ["a root itself", "/srv"],
        ["a parent step", "/srv/../etc"],
        ["a space", "/srv/my bundle"],
        ["shell characters", "/srv/$(reboot)"],
        ["a newline", "/srv/a\nb"],
    ])("refuses %s", (_label, offlineBundle) => {
        const problems = problemsOf({ offlineBundle });
        expect(problems).toEqual([
            { key: "offlineBundle", message: expect.stringMatching(/expected empty .*absolute folder below/) },
        ]);
    });

    test.each([
        [{ registryMirror: true }, "registryMirror", /bundle already holds every image/],
        [
            { registryMirror: true, registryMirrorHost: "mirror.example.com" },
            "registryMirror",
            /pull from the internet/,
        ],
        [{ clusterApiInstaller: "operator" }, "clusterApiInstaller", /downloads the providers from GitHub/],
        [{ pivot: true }, "pivot", /workload cluster, whose machines would pull/],
        [EXISTING, "offlineBundle", /nodes of a cluster of yours pull their images themselves/],
    ])("refuses %j with it, in one line naming the key", (raw, key, message) => {
        const problems = problemsOf({ ...raw, offlineBundle: "/srv/bundle" });
        expect(problems).toEqual([{ key, message: expect.stringMatching(message) }]);
    });

    test("works with real machines, an external Tinkerbell and aarch64 machines", () => {
        for (const raw of [
            REAL_MACHINES_CONFIG,
            { externalTinkerbell: true, tinkerbellKubeconfig: sampleKubeconfig(), tinkerbellVip: "10.71.0.40" },
            { machineArch: "aarch64" },
        ]) {
            expect(labConfig({ ...raw, offlineBundle: "/srv/bundle" }).offlineBundle).toBe("/srv/bundle");
        }
    });
});
