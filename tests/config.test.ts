import { ConfigError, RawConfig, parseLabConfig, projectKeys } from "../lib/config";
import { CONFIG_SCHEMA } from "../lib/config-schema";

const secretKeys = () => true;

function problemsOf(raw: RawConfig, stack = "dev"): { key: string; message: string }[] {
    try {
        parseLabConfig(raw, { stack, isSecret: secretKeys });
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
    }
    throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

// [description, raw config, the key the error must name]
const INVALID: [string, RawConfig, string][] = [
    ["zero machines", { hardwareCount: 0 }, "hardwareCount"],
    ["too many machines", { hardwareCount: 1001 }, "hardwareCount"],
    ["fractional count", { hardwareCount: "2.5" }, "hardwareCount"],
    ["count that is text", { hardwareCount: "three" }, "hardwareCount"],
    ["no control plane", { controlPlanes: 0 }, "controlPlanes"],
    ["even control planes", { hardwareCount: 4, controlPlanes: 2 }, "controlPlanes"],
    ["negative workers", { workers: -1 }, "workers"],
    ["more roles than machines", { hardwareCount: 3, controlPlanes: 3, workers: 1 }, "hardwareCount"],
    ["version without v", { kubernetesVersion: "1.35.2" }, "kubernetesVersion"],
    ["two-part version", { kubernetesVersion: "v1.35" }, "kubernetesVersion"],
    ["chart version with spaces", { tinkerbellVersion: "v0.23 1" }, "tinkerbellVersion"],
    ["capt prerelease", { captVersion: "v0.7.0-rc1" }, "captVersion"],
    ["clusterctl version", { clusterctlVersion: "latest" }, "clusterctlVersion"],
    ["kind image with uppercase", { kindNodeImage: "Kindest/Node:v1.35.0" }, "kindNodeImage"],
    ["kube-vip version", { kubeVipVersion: "1.1.2" }, "kubeVipVersion"],
    ["unknown boot mode", { bootMode: "pxe" }, "bootMode"],
    ["subnet not a CIDR", { networkSubnet: "10.71.0.0" }, "networkSubnet"],
    ["subnet with host bits", { networkSubnet: "10.71.3.0/16" }, "networkSubnet"],
    ["public subnet", { networkSubnet: "8.8.0.0/16" }, "networkSubnet"],
    ["subnet too small for the machines", { networkSubnet: "10.71.0.0/26", hardwareCount: 40 }, "networkSubnet"],
    ["subnet prefix out of range", { networkSubnet: "10.71.0.0/27" }, "networkSubnet"],
    ["pod CIDR outside RFC1918 (the old playground's 172.100/16)", { podCidr: "172.100.0.0/16" }, "podCidr"],
    ["pod CIDR overlapping the lab subnet", { podCidr: "10.71.0.0/16" }, "podCidr"],
    ["service CIDR overlapping the pod CIDR", { serviceCidr: "10.72.128.0/20" }, "serviceCidr"],
    ["service CIDR too large", { serviceCidr: "10.0.0.0/8" }, "serviceCidr"],
    ["kind pod CIDR overlapping", { kindPodCidr: "10.70.0.0/15" }, "kindPodCidr"],
    ["kind service CIDR garbage", { kindServiceCidr: "300.1.0.0/16" }, "kindServiceCidr"],
    ["pod CIDR too small for the nodes", { podCidr: "10.72.0.0/24", hardwareCount: 3 }, "podCidr"],
    ["name server not an address", { nameServers: ["dns.google"] }, "nameServers"],
    ["no name servers", { nameServers: [] }, "nameServers"],
    ["name servers not a list", { nameServers: "8.8.8.8" }, "nameServers"],
    ["one vCPU (kubeadm needs two)", { vmCpus: 1 }, "vmCpus"],
    ["too little memory", { vmMemoryMiB: 1024 }, "vmMemoryMiB"],
    ["disk too small for the OS image", { vmDiskGiB: 4 }, "vmDiskGiB"],
    ["unknown cache mode", { vmDiskCache: "fast" }, "vmDiskCache"],
    ["unknown graphics", { vmGraphics: "spice" }, "vmGraphics"],
    ["unknown domain type", { domainType: "xen" }, "domainType"],
    ["libvirt URI of another driver", { libvirtUri: "xen:///system" }, "libvirtUri"],
    ["libvirt URI without path", { libvirtUri: "qemu://" }, "libvirtUri"],
    ["relative storage dir", { storageDir: "images" }, "storageDir"],
    ["namespace with uppercase", { namespace: "Tinkerbell" }, "namespace"],
    ["namespace too long", { namespace: "a".repeat(64) }, "namespace"],
    ["prefix starting with a digit", { nodeNamePrefix: "1node" }, "nodeNamePrefix"],
    ["prefix with underscore", { nodeNamePrefix: "node_" }, "nodeNamePrefix"],
    ["prefix making names longer than 63", { nodeNamePrefix: `n${"x".repeat(53)}` }, "nodeNamePrefix"],
    ["OS registry with a tag", { osImageRegistry: "ghcr.io/x/ubuntu:2404" }, "osImageRegistry"],
    ["OS version with dots", { osVersion: "24.04" }, "osVersion"],
    ["chart not OCI or a path", { tinkerbellChart: "tinkerbell" }, "tinkerbellChart"],
    ["kernel version with v", { captainosKernelVersion: "v6.18.16" }, "captainosKernelVersion"],
    ["extra value without =", { tinkerbellExtraValues: ["deployment.replicas"] }, "tinkerbellExtraValues"],
    ["extra value with a bad path", { tinkerbellExtraValues: ["a..b=1"] }, "tinkerbellExtraValues"],
    ["vbmc image with spaces", { vbmcImage: "ghcr.io/x y" }, "vbmcImage"],
    ["unknown CNI", { cni: "calico" }, "cni"],
    ["cilium version with v", { ciliumVersion: "v1.17.3" }, "ciliumVersion"],
    ["wait flag not boolean", { waitForWorkload: "yes" }, "waitForWorkload"],
    ["timeout too short", { workloadTimeoutMinutes: 1 }, "workloadTimeoutMinutes"],
    ["ssh key that is a private key", { sshPublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, "sshPublicKey"],
    ["BMC user too long for IPMI", { bmcUsername: "a".repeat(17) }, "bmcUsername"],
    ["BMC user with a space", { bmcUsername: "ad min" }, "bmcUsername"],
    ["BMC password too short", { bmcPassword: "short" }, "bmcPassword"],
    ["BMC password too long for IPMI", { bmcPassword: "x".repeat(21) }, "bmcPassword"],
    ["preflight not boolean", { preflight: 1 }, "preflight"],
    ["unknown key (typo)", { harwareCount: 3 }, "harwareCount"],
    ["encrypted value on a plain key", { workers: { secure: "AAABAC..." } }, "workers"],
];

describe("config validation rejects bad input, naming the key", () => {
    test("the table covers at least 30 configurations", () => {
        expect(INVALID.length).toBeGreaterThanOrEqual(30);
    });

    test.each(INVALID)("%s", (_description, raw, key) => {
        const problems = problemsOf(raw);
        expect(problems.map((p) => p.key)).toContain(key);
        const line = problems.find((p) => p.key === key)!.message;
        expect(line.length).toBeGreaterThan(10);
    });

    test("every problem is reported at once, one line per problem naming key and value", () => {
        const error = (() => {
            try {
                parseLabConfig({ bootMode: "pxe", vmCpus: 0, cni: "calico" }, { stack: "dev" });
            } catch (e) {
                return e as ConfigError;
            }
            throw new Error("not rejected");
        })();
        const lines = error.message.split("\n").slice(1);
        expect(lines).toHaveLength(3);
        expect(lines[0]).toMatch(/capt-playground:bootMode: got "pxe"; allowed values: netboot, isoboot/);
        expect(lines[1]).toMatch(/capt-playground:vmCpus: got 0; expected an integer from 2 to 64/);
        expect(lines[2]).toMatch(/capt-playground:cni: got "calico"; allowed values: cilium, kube-router, none/);
    });

    test("a typo gets a suggestion", () => {
        expect(problemsOf({ vmMemoryMib: 4096 })[0].message).toMatch(/did you mean vmMemoryMiB\?/);
    });

    test("the BMC password never appears in an error", () => {
        const password = "tooooooooooooooooooooooolong";
        const problems = problemsOf({ bmcPassword: password });
        expect(JSON.stringify(problems)).not.toContain(password);
        expect(problems[0].message).toContain("[secret]");
    });

    test("a plaintext BMC password is refused; the same value set as a secret is accepted", () => {
        expect(() => parseLabConfig({ bmcPassword: "calvin123" }, { stack: "dev" })).toThrow(
            /bmcPassword: is stored in plaintext/,
        );
        expect(parseLabConfig({ bmcPassword: "calvin123" }, { stack: "dev", isSecret: secretKeys }).bmcPassword).toBe(
            "calvin123",
        );
    });
});

describe("config validation accepts good input", () => {
    test("no config at all gives the documented defaults", () => {
        const config = parseLabConfig({}, { stack: "dev" });
        for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
            const value = (config as unknown as Record<string, unknown>)[key];
            const optional = [
                "sshPublicKey",
                "bmcPassword",
                "managementKubeconfig",
                "tinkerbellKubeconfig",
                "machineBmcPasswords",
            ];
            if (spec.default === "" && optional.includes(key)) {
                expect(value).toBeUndefined();
            } else {
                expect(value).toEqual(spec.default);
            }
        }
        expect(config.spares).toBe(1);
    });

    test("remote defaults are pinned: every up of an unchanged stack fetches the same manifest", () => {
        const config = parseLabConfig({}, { stack: "dev" });
        // A branch such as master would make two ups of the same config apply different objects.
        expect(config.kubeRouterManifest).toMatch(/\/kube-router\/v\d+\.\d+\.\d+\//);
    });

    test("one machine, no workers", () => {
        const config = parseLabConfig({ hardwareCount: 1, controlPlanes: 1, workers: 0 }, { stack: "dev" });
        expect([config.controlPlanes, config.workers, config.spares]).toEqual([1, 0, 0]);
    });

    test("500 machines in a /16", () => {
        const config = parseLabConfig(
            {
                hardwareCount: 500,
                controlPlanes: 3,
                workers: 400,
                networkSubnet: "10.71.0.0/16",
                podCidr: "10.64.0.0/14",
            },
            { stack: "dev" },
        );
        expect(config.spares).toBe(97);
    });

    test("values as the Pulumi CLI passes them (strings, JSON lists) are typed", () => {
        const config = parseLabConfig(
            projectKeys({
                "capt-playground:hardwareCount": "5",
                "capt-playground:workers": "2",
                "capt-playground:nameServers": '["9.9.9.9"]',
                "capt-playground:waitForWorkload": "false",
                "kubernetes:context": "ignored: another namespace",
            }),
            { stack: "dev" },
        );
        expect(config.hardwareCount).toBe(5);
        expect(config.nameServers).toEqual(["9.9.9.9"]);
        expect(config.waitForWorkload).toBe(false);
    });

    test("an encrypted password in a stack file is accepted without being read", () => {
        const config = parseLabConfig({ bmcPassword: { secure: "v1:abc" } }, { stack: "dev" });
        expect(config.bmcPassword).toBeUndefined();
    });

    test("isoboot, smaller /24 lab, 192.168 ranges", () => {
        const config = parseLabConfig(
            {
                bootMode: "isoboot",
                networkSubnet: "192.168.50.0/24",
                podCidr: "192.168.0.0/20",
                serviceCidr: "172.20.0.0/16",
            },
            { stack: "dev" },
        );
        expect(config.bootMode).toBe("isoboot");
    });
});
