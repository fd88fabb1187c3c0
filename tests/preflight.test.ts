/** The preflight judged against made-up host facts, plus the real probes and `npm run doctor`. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ENCRYPTED_VALUE, LabConfig, RawConfig, parseLabConfig } from "../lib/config";
import { PROJECT_NAME } from "../lib/config-schema";
import { CommandRunner, gatherHostFacts, probeClusterApi, tcpConnect } from "../lib/host-facts";
import { LabPlan, planLab } from "../lib/plan";
import {
    Finding,
    HostFacts,
    TINKERBELL_RESOURCES,
    CERT_MANAGER_RESOURCE,
    evaluatePreflight,
    formatFindings,
    preflightFailed,
} from "../lib/preflight";
import { PROJECT_DIR, labPlan } from "./fixtures";

const GIB = 1024 ** 3;

const DEV = labPlan();
const BRIDGE = DEV.plan.network.bridge;

const EFI_DOMCAPS = `<domainCapabilities>
  <domain>kvm</domain>
  <machine>pc-q35-7.2</machine>
  <os supported='yes'>
    <enum name='firmware'>
      <value>efi</value>
    </enum>
    <loader supported='yes'>
      <value>/usr/share/OVMF/OVMF_CODE_4M.fd</value>
    </loader>
  </os>
</domainCapabilities>`;

/** Docker 28's filter table on a host with only the default bridge: the FORWARD policy is DROP. */
const DOCKER_28_RULES = `-P INPUT ACCEPT
-P FORWARD DROP
-P OUTPUT ACCEPT
-N DOCKER
-N DOCKER-BRIDGE
-N DOCKER-CT
-N DOCKER-FORWARD
-N DOCKER-INTERNAL
-N DOCKER-USER
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-INTERNAL
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
`;

/** The same after `up` created the lab network: docker added its rules for the lab bridge. */
const DOCKER_28_RULES_WITH_LAB = `${DOCKER_28_RULES}-A DOCKER ! -i ${BRIDGE} -o ${BRIDGE} -j DROP
-A DOCKER-BRIDGE -o ${BRIDGE} -j DOCKER
-A DOCKER-CT -o ${BRIDGE} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -i ${BRIDGE} -j ACCEPT
`;

/** A host that can run the default dev lab, before its first `up`. */
function healthyFacts(overrides: Partial<HostFacts> = {}): HostFacts {
    return {
        arch: "x64",
        dockerServerVersion: { value: "28.2.2" },
        dockerDaemonConfig: { value: {} },
        dockerNetworks: {
            value: [
                { name: "bridge", subnets: ["172.17.0.0/16"] },
                { name: "host", subnets: [] },
                { name: "kind", subnets: ["172.18.0.0/16", "fc00:f853:ccd:e793::/64"] },
            ],
        },
        kindVersion: { value: "kind v0.31.0 go1.25.5 linux/amd64" },
        clusterctlVersion: { value: "v1.12.5" },
        kubectlVersion: { value: "Client Version: v1.35.0\nKustomize Version: v5.7.1" },
        libvirtVersion: {
            value: "Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nRunning hypervisor: QEMU 7.2.0\n",
        },
        libvirtDomainCapabilities: { value: EFI_DOMCAPS },
        firmwareFiles: ["/usr/share/OVMF/OVMF_CODE_4M.fd"],
        kvmDevice: { value: "read-write" },
        iptablesRules: { value: DOCKER_28_RULES },
        bridgeNetfilter: { value: "on" },
        routes: {
            value: [
                { dst: "default", dev: "eth0" },
                { dst: "192.168.1.0/24", dev: "eth0" },
                { dst: "172.17.0.0/16", dev: "docker0" },
                { dst: "172.18.0.0/16", dev: "br-0123456789ab" },
            ],
        },
        resolvConfNameservers: { value: ["192.168.1.1"] },
        cpuCount: 8,
        memory: { value: { availableBytes: 24 * GIB, totalBytes: 32 * GIB } },
        storage: { value: { path: "/var/lib/libvirt/images", freeBytes: 200 * GIB } },
        ...overrides,
    };
}

function evaluate(overrides: Partial<HostFacts> = {}, raw?: RawConfig): Finding[] {
    const { config, plan } = raw === undefined ? DEV : labPlan(raw);
    return evaluatePreflight(config, plan, healthyFacts(overrides));
}

/** The single finding of a check; fails when there is none or several. */
function findingOf(findings: Finding[], check: string): Finding {
    const matching = findings.filter((f) => f.check === check);
    expect(matching).toHaveLength(1);
    return matching[0];
}

function notOk(findings: Finding[]): Finding[] {
    return findings.filter((f) => f.status !== "ok");
}

/** The lab network of an earlier `up`, as `docker network inspect` lists it. */
function withOwnNetwork(plan: LabPlan, extra: Partial<HostFacts> = {}): Partial<HostFacts> {
    const base = healthyFacts();
    const networks = "value" in base.dockerNetworks ? base.dockerNetworks.value : [];
    return {
        dockerNetworks: { value: [...networks, { name: plan.network.name, subnets: [plan.network.subnet] }] },
        ...extra,
    };
}

describe("a healthy host", () => {
    test("passes every check without warnings", () => {
        const findings = evaluate();
        expect(notOk(findings)).toEqual([]);
        expect(preflightFailed(findings)).toBe(false);
        expect(findings.map((f) => f.check)).toEqual([
            "docker",
            "docker-dns",
            "kind",
            "cgroup",
            "clusterctl",
            "kubectl",
            "libvirt",
            "firmware",
            "kvm",
            "forwarding",
            "subnet",
            "cpu",
            "memory",
            "disk",
        ]);
    });

    test("stays healthy once its lab is up (own network, docker's rules for the lab bridge)", () => {
        const findings = evaluate(withOwnNetwork(DEV.plan, { iptablesRules: { value: DOCKER_28_RULES_WITH_LAB } }));
        expect(notOk(findings)).toEqual([]);
    });
});

describe("docker", () => {
    test("not installed: error with the install link", () => {
        const finding = findingOf(
            evaluate({ dockerServerVersion: { error: "docker is not installed", notInstalled: true } }),
            "docker",
        );
        expect(finding).toMatchObject({ status: "error", message: expect.stringMatching(/not installed/) });
        expect(finding.fix).toMatch(/docs\.docker\.com\/engine\/install/);
    });

    test("daemon down: error telling how to start it", () => {
        const error =
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
        const finding = findingOf(evaluate({ dockerServerVersion: { error } }), "docker");
        expect(finding.status).toBe("error");
        expect(finding.message).toContain("Cannot connect to the Docker daemon");
        expect(finding.fix).toMatch(/systemctl enable --now docker/);
    });

    test("socket permission denied: the fix is the docker group", () => {
        const error =
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock";
        const finding = findingOf(evaluate({ dockerServerVersion: { error } }), "docker");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/usermod -aG docker/);
    });

    test.each([
        ["19.03.15", "error"],
        ["20.9.0", "error"],
        ["20.10.24+dfsg1", "ok"],
        ["24.0.7", "ok"],
        ["29.0.1", "ok"],
    ])("Docker Engine %s: %s", (version, status) => {
        const finding = findingOf(evaluate({ dockerServerVersion: { value: version } }), "docker");
        expect(finding.status).toBe(status);
        if (status === "error") {
            expect(finding.message).toMatch(/too old.*20\.10/);
            expect(finding.fix).toBeDefined();
        }
    });
});

describe("kind and clusterctl", () => {
    test("kind missing: error with the download URL of the minimum release for this architecture", () => {
        const finding = findingOf(
            evaluate({ arch: "arm64", kindVersion: { error: "kind is not installed", notInstalled: true } }),
            "kind",
        );
        expect(finding.status).toBe("error");
        expect(finding.fix).toContain(
            "https://github.com/kubernetes-sigs/kind/releases/download/v0.31.0/kind-linux-arm64",
        );
    });

    test("kind too old for Kubernetes 1.35 node images: error naming both versions", () => {
        const finding = findingOf(evaluate({ kindVersion: { value: "kind v0.30.0 go1.24.6 linux/amd64" } }), "kind");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/v0\.30\.0 is too old.*v0\.31\.0/);
        expect(finding.fix).toContain("kind-linux-amd64");
    });

    test("kind newer than the minimum, pre-release suffix included: ok", () => {
        const finding = findingOf(
            evaluate({ kindVersion: { value: "kind v0.32.0-alpha+1a2b go1.25 linux/amd64" } }),
            "kind",
        );
        expect(finding.status).toBe("ok");
    });

    test("unreadable kind version: warning, not a guess", () => {
        const finding = findingOf(evaluate({ kindVersion: { value: "kind (devel)" } }), "kind");
        expect(finding.status).toBe("warning");
        expect(finding.fix).toBeDefined();
    });

    test("clusterctl missing: error with the download URL", () => {
        const finding = findingOf(
            evaluate({ clusterctlVersion: { error: "clusterctl is not installed", notInstalled: true } }),
            "clusterctl",
        );
        expect(finding.status).toBe("error");
        expect(finding.fix).toContain("cluster-api/releases/download/v1.12.5/clusterctl-linux-amd64");
    });

    test("clusterctl older than the configured minimum: error", () => {
        const finding = findingOf(evaluate({ clusterctlVersion: { value: "v1.11.3" } }), "clusterctl");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/v1\.11\.3 is too old/);
    });

    test("the minimum comes from config key clusterctlVersion", () => {
        const finding = findingOf(evaluate({}, { clusterctlVersion: "v1.13.0" }), "clusterctl");
        expect(finding.status).toBe("error");
        expect(finding.fix).toContain("v1.13.0");
    });
});

describe("kubectl", () => {
    test("missing while up waits for the workload cluster: error naming the key, with a download", () => {
        const finding = findingOf(
            evaluate({ kubectlVersion: { error: "kubectl is not installed", notInstalled: true } }),
            "kubectl",
        );
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/waitForWorkload/);
        expect(finding.fix).toContain("https://dl.k8s.io/release/v1.28.0/bin/linux/amd64/kubectl");
    });

    test("a released kubectl is fine; clusterctl init needs it for its wait on the webhooks", () => {
        expect(findingOf(evaluate({}), "kubectl").status).toBe("ok");
        const missing = { kubectlVersion: { error: "kubectl is not installed", notInstalled: true } };
        const clusterctl = findingOf(evaluate(missing, { waitForWorkload: false }), "kubectl");
        expect(clusterctl.status).toBe("error");
        expect(clusterctl.message).toMatch(/clusterctl init waits with it until the providers' webhooks/);
        // The operator installs Cluster API in the cluster; without the wait for the workload API nothing needs kubectl.
        const operator = evaluate(missing, { waitForWorkload: false, clusterApiInstaller: "operator" });
        expect(operator.find((f) => f.check === "kubectl")).toBeUndefined();
    });
});

describe("libvirt", () => {
    test("unreachable: error naming the URI, fix starts libvirtd", () => {
        const error =
            "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory";
        const finding = findingOf(evaluate({ libvirtVersion: { error } }), "libvirt");
        expect(finding.status).toBe("error");
        expect(finding.message).toContain("qemu:///system");
        expect(finding.fix).toMatch(/systemctl enable --now libvirtd/);
    });

    test("permission denied: fix is the libvirt group", () => {
        const error =
            "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Permission denied";
        const finding = findingOf(evaluate({ libvirtVersion: { error } }), "libvirt");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/usermod -aG libvirt/);
    });

    test("virsh not installed: fix installs libvirt", () => {
        const finding = findingOf(
            evaluate({ libvirtVersion: { error: "virsh is not installed", notInstalled: true } }),
            "libvirt",
        );
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/libvirt-daemon-system/);
    });
});

describe("UEFI firmware", () => {
    const noEfi = EFI_DOMCAPS.replace("<value>efi</value>", "");

    test("libvirt lists no efi firmware: error with the package per distribution", () => {
        const finding = findingOf(evaluate({ libvirtDomainCapabilities: { value: noEfi } }), "firmware");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/apt install ovmf/);
        expect(finding.fix).toMatch(/dnf install edk2-ovmf/);
    });

    test("libvirt too old for the firmware enum but with loader images: ok", () => {
        const old = EFI_DOMCAPS.replace(/<enum name='firmware'>[\s\S]*?<\/enum>/, "");
        expect(findingOf(evaluate({ libvirtDomainCapabilities: { value: old } }), "firmware").status).toBe("ok");
    });

    test("libvirt unreachable: judged from the files on disk", () => {
        const unreachable = { libvirtDomainCapabilities: { error: "failed to connect to the hypervisor" } };
        expect(findingOf(evaluate(unreachable), "firmware").status).toBe("ok");
        const finding = findingOf(evaluate({ ...unreachable, firmwareFiles: [] }), "firmware");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/ovmf/);
    });
});

describe("KVM", () => {
    const noDevice: Partial<HostFacts> = { kvmDevice: { value: "missing" } };

    test("no /dev/kvm with domainType auto: warning about the slow qemu fallback", () => {
        const finding = findingOf(evaluate(noDevice), "kvm");
        expect(finding.status).toBe("warning");
        expect(finding.message).toMatch(/\/dev\/kvm does not exist.*qemu\/TCG/);
        expect(finding.fix).toMatch(/nested virtualization/);
        expect(preflightFailed(evaluate(noDevice))).toBe(false);
    });

    test("no /dev/kvm with domainType kvm: error", () => {
        const finding = findingOf(evaluate(noDevice, { domainType: "kvm" }), "kvm");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/domainType/);
    });

    test("domainType qemu does not need KVM", () => {
        expect(findingOf(evaluate(noDevice, { domainType: "qemu" }), "kvm").status).toBe("ok");
    });

    test("libvirt answers with a qemu domain: it cannot run KVM guests", () => {
        const caps = { value: EFI_DOMCAPS.replace("<domain>kvm</domain>", "<domain>qemu</domain>") };
        expect(findingOf(evaluate({ libvirtDomainCapabilities: caps }), "kvm").status).toBe("warning");
        expect(findingOf(evaluate({ libvirtDomainCapabilities: caps }, { domainType: "kvm" }), "kvm").status).toBe(
            "error",
        );
    });

    test("libvirt unreachable and /dev/kvm not yours: warning, fix is the kvm group", () => {
        const finding = findingOf(
            evaluate({ libvirtDomainCapabilities: { error: "unreachable" }, kvmDevice: { value: "no-access" } }),
            "kvm",
        );
        expect(finding.status).toBe("warning");
        expect(finding.fix).toMatch(/usermod -aG kvm/);
    });

    test("with qemu:///system libvirt's QEMU user opens /dev/kvm, so libvirt's yes wins over your access", () => {
        expect(findingOf(evaluate({ kvmDevice: { value: "no-access" } }), "kvm").status).toBe("ok");
    });

    test("remote libvirt that cannot be asked: not judged from this host's /dev/kvm", () => {
        const finding = findingOf(
            evaluate(
                { libvirtDomainCapabilities: { error: "unreachable" }, kvmDevice: { value: "missing" } },
                { libvirtUri: "qemu+ssh://lab@metal/system", domainType: "kvm" },
            ),
            "kvm",
        );
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/not checked/);
    });
});

describe("the docker FORWARD trap", () => {
    const dockerOff: Partial<HostFacts> = {
        dockerDaemonConfig: { value: { iptables: false } },
        iptablesRules: { value: "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n" },
    };

    test("policy DROP before the first up: docker adds its accept rule with the lab network", () => {
        const finding = findingOf(evaluate(), "forwarding");
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/docker adds its accept rule/);
    });

    test("policy DROP and docker not managing iptables: warning with the exact accept rule", () => {
        const finding = findingOf(evaluate(dockerOff), "forwarding");
        expect(finding.status).toBe("warning");
        expect(finding.message).toMatch(/docker does not manage iptables/);
        expect(finding.fix).toContain(`iptables -I FORWARD -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`);
    });

    test("an explicit drop in DOCKER-USER: warning naming the rule, fix goes into DOCKER-USER", () => {
        const rules = DOCKER_28_RULES.replace(
            "-A FORWARD -j DOCKER-USER\n",
            "-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -s 10.0.0.0/8 -j DROP\n",
        );
        const finding = findingOf(evaluate({ iptablesRules: { value: rules } }), "forwarding");
        expect(finding.status).toBe("warning");
        expect(finding.message).toContain("-A DOCKER-USER -s 10.0.0.0/8 -j DROP");
        expect(finding.fix).toContain(`iptables -I DOCKER-USER -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`);
    });

    test("a drop for other addresses, a negated interface or one protocol does not count", () => {
        const rules = DOCKER_28_RULES.replace(
            "-A FORWARD -j DOCKER-USER\n",
            `-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -s 192.168.0.0/16 -j DROP\n-A DOCKER-USER ! -i ${BRIDGE} -o ${BRIDGE} -j DROP\n-A DOCKER-USER -p tcp -m tcp --dport 25 -j REJECT --reject-with icmp-port-unreachable\n`,
        );
        expect(findingOf(evaluate({ iptablesRules: { value: rules } }), "forwarding").status).toBe("ok");
    });

    test("lab network exists but docker's rules for its bridge are gone (firewall reload): warning", () => {
        const finding = findingOf(evaluate(withOwnNetwork(DEV.plan)), "forwarding");
        expect(finding.status).toBe("warning");
        expect(finding.fix).toContain(`-i ${BRIDGE} -o ${BRIDGE}`);
    });

    test("an accept only for established connections does not let new traffic through", () => {
        const rules = `-P FORWARD DROP\n-A FORWARD -o ${BRIDGE} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n`;
        const finding = findingOf(evaluate({ ...dockerOff, iptablesRules: { value: rules } }), "forwarding");
        expect(finding.status).toBe("warning");
    });

    test("docker before 28 accepts within the bridge straight in FORWARD: ok", () => {
        const rules = `-P FORWARD DROP\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n-A FORWARD -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT\n`;
        const finding = findingOf(
            evaluate(withOwnNetwork(DEV.plan, { iptablesRules: { value: rules } })),
            "forwarding",
        );
        expect(finding.status).toBe("ok");
        expect(finding.message).toContain(`-A FORWARD -i ${BRIDGE} -o ${BRIDGE} -j ACCEPT`);
    });

    test("the user's own accept rule through a wildcard interface: ok", () => {
        const rules = `-P FORWARD DROP\n-A FORWARD -i capt-+ -o capt-+ -j ACCEPT\n`;
        expect(findingOf(evaluate({ ...dockerOff, iptablesRules: { value: rules } }), "forwarding").status).toBe("ok");
    });

    test("bridge-nf-call-iptables off and docker not managing iptables: bridged traffic skips iptables", () => {
        const finding = findingOf(evaluate({ ...dockerOff, bridgeNetfilter: { value: "off" } }), "forwarding");
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/does not pass iptables/);
    });

    test("iptables unreadable without root: not checked, not a false alarm", () => {
        const finding = findingOf(
            evaluate({ iptablesRules: { error: "iptables v1.8.9 (nf_tables): Permission denied (you must be root)" } }),
            "forwarding",
        );
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/not checked.*root/);
    });
});

describe("subnet overlap", () => {
    test("overlapping another docker network: error naming it", () => {
        const finding = findingOf(
            evaluate({ dockerNetworks: { value: [{ name: "other-lab", subnets: ["10.71.128.0/20"] }] } }),
            "subnet",
        );
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/other-lab \(10\.71\.128\.0\/20\)/);
        expect(finding.fix).toMatch(/networkSubnet/);
        expect(finding.fix).toMatch(/docker network rm other-lab/);
    });

    test("the stack's own network from an earlier up is not a conflict", () => {
        const findings = evaluate({
            dockerNetworks: { value: [{ name: DEV.plan.network.name, subnets: [DEV.plan.network.subnet] }] },
            routes: { value: [{ dst: DEV.plan.network.subnet, dev: BRIDGE }] },
        });
        expect(findingOf(findings, "subnet").status).toBe("ok");
    });

    test("a host route inside the lab subnet: error", () => {
        const finding = findingOf(evaluate({ routes: { value: [{ dst: "10.71.5.0/24", dev: "wg0" }] } }), "subnet");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/10\.71\.5\.0\/24 via wg0/);
        expect(finding.fix).toMatch(/networkSubnet/);
    });

    test("a host route of a single address inside the subnet: error", () => {
        const finding = findingOf(evaluate({ routes: { value: [{ dst: "10.71.0.40", dev: "tun0" }] } }), "subnet");
        expect(finding.status).toBe("error");
    });

    test("a wider host route around the lab subnet: warning", () => {
        const finding = findingOf(evaluate({ routes: { value: [{ dst: "10.0.0.0/8", dev: "tun0" }] } }), "subnet");
        expect(finding.status).toBe("warning");
        expect(finding.message).toMatch(/inside host route 10\.0\.0\.0\/8/);
    });

    test("a docker network's route is reported once, as the docker network", () => {
        const findings = evaluate({
            dockerNetworks: { value: [{ name: "other-lab", subnets: ["10.71.0.0/16"] }] },
            routes: {
                value: [
                    { dst: "default", dev: "eth0" },
                    { dst: "10.71.0.0/16", dev: "br-feedfacecafe" },
                ],
            },
        });
        expect(findingOf(findings, "subnet").message).toMatch(/docker network other-lab/);
    });

    test("the default route and unrelated routes do not count", () => {
        const finding = findingOf(
            evaluate({
                routes: {
                    value: [
                        { dst: "default", dev: "eth0" },
                        { dst: "10.72.0.0/16", dev: "eth1" },
                    ],
                },
            }),
            "subnet",
        );
        expect(finding.status).toBe("ok");
    });
});

describe("KinD DNS", () => {
    test("systemd-resolved stub and no docker dns: warning with the daemon.json fix", () => {
        const finding = findingOf(evaluate({ resolvConfNameservers: { value: ["127.0.0.53"] } }), "docker-dns");
        expect(finding.status).toBe("warning");
        expect(finding.message).toContain("127.0.0.53");
        expect(finding.fix).toMatch(/"dns": \["1\.1\.1\.1"\].*\/etc\/docker\/daemon\.json.*restart docker/);
    });

    test("docker dns set: ok", () => {
        const finding = findingOf(
            evaluate({
                resolvConfNameservers: { value: ["127.0.0.53"] },
                dockerDaemonConfig: { value: { dns: ["9.9.9.9"] } },
            }),
            "docker-dns",
        );
        expect(finding.status).toBe("ok");
    });
});

describe("resources", () => {
    test("fewer host CPUs than one machine's vCPUs: warning suggesting a smaller vmCpus", () => {
        const finding = findingOf(evaluate({ cpuCount: 2 }, { vmCpus: 4 }), "cpu");
        expect(finding.status).toBe("warning");
        expect(finding.fix).toMatch(/vmCpus 2/);
    });

    test("machines overcommitting CPUs in total is fine", () => {
        expect(findingOf(evaluate({ cpuCount: 4 }, { hardwareCount: 5, vmCpus: 4 }), "cpu").status).toBe("ok");
    });

    // Default lab: 3 x 2048 MiB + 4 GiB for KinD = 10 GiB.
    test("less free memory than the lab needs: warning with the breakdown", () => {
        const finding = findingOf(
            evaluate({ memory: { value: { availableBytes: 8 * GIB, totalBytes: 16 * GIB } } }),
            "memory",
        );
        expect(finding.status).toBe("warning");
        expect(finding.message).toMatch(/8\.0 GiB of memory available.*10\.0 GiB \(3 machines x 2048 MiB \+ 4 GiB/);
        expect(finding.fix).toMatch(/hardwareCount or vmMemoryMiB/);
    });

    test("less than half the need in total: error", () => {
        const finding = findingOf(
            evaluate({ memory: { value: { availableBytes: 3 * GIB, totalBytes: 4 * GIB } } }),
            "memory",
        );
        expect(finding.status).toBe("error");
    });

    test("once the lab runs its own use of memory is not held against it", () => {
        const memory = { value: { availableBytes: 2 * GIB, totalBytes: 16 * GIB } };
        expect(findingOf(evaluate({ memory }), "memory").status).toBe("warning");
        expect(findingOf(evaluate(withOwnNetwork(DEV.plan, { memory })), "memory").status).toBe("ok");
    });

    test("less free disk than the machines' disks may grow to: warning naming where", () => {
        const finding = findingOf(
            evaluate({ storage: { value: { path: "/var/lib/libvirt/images", freeBytes: 40 * GIB } } }),
            "disk",
        );
        expect(finding.status).toBe("warning");
        expect(finding.message).toMatch(/40\.0 GiB free at \/var\/lib\/libvirt\/images.*70\.0 GiB/);
        expect(finding.fix).toMatch(/storageDir/);
    });
});

describe("formatFindings and preflightFailed", () => {
    const findings: Finding[] = [
        { check: "docker", status: "ok", message: "Docker Engine 28.2.2 is running" },
        { check: "kvm", status: "warning", message: "KVM is not usable", fix: "enable it" },
        { check: "clusterctl", status: "error", message: "clusterctl is not installed", fix: "install it" },
    ];

    test("one line per finding, each fix indented below it, and a count", () => {
        const lines = formatFindings(findings).trimEnd().split("\n");
        expect(lines).toEqual([
            "ok    docker      Docker Engine 28.2.2 is running",
            "WARN  kvm         KVM is not usable",
            "                  fix: enable it",
            "ERROR clusterctl  clusterctl is not installed",
            "                  fix: install it",
            "1 error, 1 warning",
        ]);
    });

    test("only errors fail the preflight", () => {
        expect(preflightFailed(findings)).toBe(true);
        expect(preflightFailed(findings.slice(0, 2))).toBe(false);
    });
});

describe("on this machine", () => {
    test("gatherHostFacts never throws and reports every fact as a value or a reason", async () => {
        const facts = await gatherHostFacts(DEV.config, DEV.plan);
        const probes = [
            facts.dockerServerVersion,
            facts.dockerDaemonConfig,
            facts.dockerNetworks,
            facts.kindVersion,
            facts.clusterctlVersion,
            facts.kubectlVersion,
            facts.libvirtVersion,
            facts.libvirtDomainCapabilities,
            facts.kvmDevice,
            facts.iptablesRules,
            facts.bridgeNetfilter,
            facts.routes,
            facts.resolvConfNameservers,
            facts.memory,
            facts.storage,
        ];
        for (const probe of probes) {
            expect("value" in probe ? typeof probe.value : typeof probe.error).not.toBe("undefined");
        }
        expect(facts.cpuCount).toBeGreaterThan(0);
        expect(Array.isArray(facts.firmwareFiles)).toBe(true);
        if ("value" in facts.memory) {
            expect(facts.memory.value.totalBytes).toBeGreaterThanOrEqual(facts.memory.value.availableBytes);
        }
        if ("value" in facts.storage) {
            expect(DEV.plan.libvirt.storageDir.startsWith(facts.storage.value.path)).toBe(true);
        }
        // The facts feed the evaluation without surprises.
        expect(evaluatePreflight(DEV.config, DEV.plan, facts).length).toBeGreaterThanOrEqual(12);
    });

    test("npm run doctor prints every finding and exits 1 exactly when one is an error", () => {
        const doctor = path.join(PROJECT_DIR, "scripts", "doctor.ts");
        const tsNode = require.resolve("ts-node/dist/bin.js");
        const result = spawnSync(process.execPath, [tsNode, "--transpile-only", doctor, "--stack", "dev"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            timeout: 60_000,
        });
        expect(result.stdout).toMatch(/^preflight for stack dev/);
        expect(result.stdout).toMatch(/^(ok|WARN|ERROR) +docker +\S/m);
        expect(result.stdout).toMatch(/^\d+ errors?, \d+ warnings?$/m);
        const hasError = /^ERROR /m.test(result.stdout);
        expect(result.status).toBe(hasError ? 1 : 0);
    });

    test("npm run doctor rejects unknown arguments with exit 2", () => {
        const doctor = path.join(PROJECT_DIR, "scripts", "doctor.ts");
        const tsNode = require.resolve("ts-node/dist/bin.js");
        const result = spawnSync(process.execPath, [tsNode, "--transpile-only", doctor, "--out", "x"], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
            timeout: 60_000,
        });
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(/unknown argument "--out"/);
    });
});

// ---------------------------------------------------------------------------------------------
// Lab modes (issue 11): which checks each mode calls for, and what they say

const TOKEN = "s3cr3t-token-0123456789";

/** A kubeconfig as `pulumi config set --secret` stores it; its token must never show up anywhere. */
function kubeconfig(server = "https://10.0.0.1:6443"): string {
    return `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      server: ${server}
users:
  - name: u
    user:
      token: ${TOKEN}
contexts:
  - name: x
    context: { cluster: c, user: u }
current-context: x
`;
}

/** Two real machines: a Redfish BMC and an IPMI one. */
const REAL_MACHINES = [
    { name: "metal1", mac: "aa:bb:cc:dd:ee:01", bmc: { address: "10.71.0.201", protocol: "redfish" } },
    { name: "metal2", mac: "aa:bb:cc:dd:ee:02", bmc: { address: "10.71.0.202", protocol: "ipmi" } },
];
const REAL: RawConfig = { machines: REAL_MACHINES, bmcPassword: "password1" } as unknown as RawConfig;
const EXISTING: RawConfig = { ...REAL, managementKubeconfig: kubeconfig() };
const EXTERNAL: RawConfig = { externalTinkerbell: true, tinkerbellKubeconfig: kubeconfig("https://10.0.0.2:6443") };

/** Config and plan of a mode, parsed as `pulumi up` parses them (the kubeconfigs set as secrets). */
function modeLab(raw: RawConfig): { config: LabConfig; plan: LabPlan } {
    const config = parseLabConfig(raw, { stack: "dev", isSecret: () => true });
    return { config, plan: planLab(config, { project: PROJECT_NAME, stack: "dev", projectDir: PROJECT_DIR }) };
}

/** Facts of a host that runs every mode well: the clusters answer, the BMCs too, aarch64 tools present. */
function healthyModeFacts(overrides: Partial<HostFacts> = {}): HostFacts {
    return healthyFacts({
        managementApi: { value: { serverVersion: "v1.35.1" } },
        tinkerbellApi: {
            value: {
                serverVersion: "v1.34.3",
                resources: { value: [...TINKERBELL_RESOURCES, "tasks.bmc.tinkerbell.org"] },
            },
        },
        bmcReachability: [
            { index: 0, name: "metal1", address: "10.71.0.201", port: 443, protocol: "redfish", tcp: { value: true } },
            { index: 1, name: "metal2", address: "10.71.0.202", port: 623, protocol: "ipmi" },
        ],
        ...overrides,
    });
}

function evaluateMode(raw: RawConfig, overrides: Partial<HostFacts> = {}): Finding[] {
    const { config, plan } = modeLab(raw);
    return evaluatePreflight(config, plan, healthyModeFacts(overrides));
}

function checks(findings: Finding[]): string[] {
    return findings.map((f) => f.check);
}

const NO_DOCKER: Partial<HostFacts> = {
    dockerServerVersion: { error: "docker is not installed", notInstalled: true },
    kindVersion: { error: "kind is not installed", notInstalled: true },
};
const NO_LIBVIRT: Partial<HostFacts> = {
    libvirtVersion: { error: "virsh is not installed", notInstalled: true },
    libvirtDomainCapabilities: { error: "virsh is not installed", notInstalled: true },
    firmwareFiles: [],
    kvmDevice: { value: "missing" },
};

describe("modes: the checks each mode calls for", () => {
    test("existing management cluster with real machines: its API and the BMCs; no docker, kind or libvirt", () => {
        const findings = evaluateMode(EXISTING, { ...NO_DOCKER, ...NO_LIBVIRT, cpuCount: 1 });
        expect(checks(findings)).toEqual(["clusterctl", "kubectl", "management-api", "bmc", "bmc"]);
        expect(notOk(findings)).toEqual([]);
    });

    test("KinD with real machines: docker and kind for KinD, the lab network, the BMCs; no libvirt, CPU or disk", () => {
        const findings = evaluateMode(REAL, NO_LIBVIRT);
        expect(checks(findings)).toEqual([
            "docker",
            "docker-dns",
            "kind",
            "cgroup",
            "clusterctl",
            "kubectl",
            "forwarding",
            "subnet",
            "bmc",
            "bmc",
            "memory",
        ]);
        expect(notOk(findings)).toEqual([]);
    });

    test("KinD with real machines: docker's reason is KinD alone, and memory counts KinD only", () => {
        const findings = evaluateMode(REAL, {
            dockerServerVersion: { error: "docker is not installed", notInstalled: true },
        });
        const docker = findingOf(findings, "docker");
        expect(docker.message).toMatch(/KinD management cluster \(managementKubeconfig is empty\)/);
        expect(docker.message).not.toMatch(/virtual BMC/);
        const memory = findingOf(
            evaluateMode(REAL, { memory: { value: { availableBytes: 2 * GIB, totalBytes: 16 * GIB } } }),
            "memory",
        );
        expect(memory.message).toMatch(/4\.0 GiB \(4 GiB for KinD\)/);
    });

    test("real machines: a host route into networkSubnet is their network, not a conflict", () => {
        const routes = { value: [{ dst: "10.71.0.0/16", dev: "eth1" }] };
        expect(findingOf(evaluate({ routes }), "subnet").status).toBe("error");
        const finding = findingOf(evaluateMode(REAL, { routes }), "subnet");
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/host routes not compared/);
    });

    test("external Tinkerbell keeps the default lab's checks and adds its cluster's", () => {
        const findings = evaluateMode(EXTERNAL);
        expect(checks(findings)).toEqual([
            "docker",
            "docker-dns",
            "kind",
            "cgroup",
            "clusterctl",
            "kubectl",
            "tinkerbell-api",
            "libvirt",
            "firmware",
            "kvm",
            "forwarding",
            "subnet",
            "cpu",
            "memory",
            "disk",
        ]);
        expect(notOk(findings)).toEqual([]);
    });

    test("existing management cluster with external Tinkerbell: both clusters are checked", () => {
        const findings = evaluateMode({ ...EXISTING, ...EXTERNAL }, NO_DOCKER);
        expect(checks(findings)).toEqual(["clusterctl", "kubectl", "management-api", "tinkerbell-api", "bmc", "bmc"]);
    });

    test("registryMirror needs docker even where nothing else does", () => {
        const { config, plan } = modeLab(EXISTING);
        const mirrored = { ...plan, modes: { ...plan.modes, registryMirror: true } };
        const finding = findingOf(evaluatePreflight(config, mirrored, healthyModeFacts(NO_DOCKER)), "docker");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/registry mirror \(registryMirror is true\)/);
        expect(checks(evaluatePreflight(config, plan, healthyModeFacts(NO_DOCKER)))).not.toContain("docker");
        // The default lab with the mirror: one docker check naming all three uses.
        const all = findingOf(evaluateMode({ registryMirror: true }, NO_DOCKER), "docker");
        expect(all.message).toMatch(/KinD management cluster.*virtual BMC.*registry mirror/);
    });

    test("clusterctl: needed by clusterApiInstaller clusterctl or by pivot, not by the operator alone", () => {
        const missing = { clusterctlVersion: { error: "clusterctl is not installed", notInstalled: true } };
        expect(findingOf(evaluateMode({}, missing), "clusterctl").message).toMatch(/clusterApiInstaller is clusterctl/);
        expect(checks(evaluateMode({ clusterApiInstaller: "operator" }, missing))).not.toContain("clusterctl");
        const pivot = findingOf(evaluateMode({ clusterApiInstaller: "operator", pivot: true }, missing), "clusterctl");
        expect(pivot.status).toBe("error");
        expect(pivot.message).toMatch(/clusterctl move.*pivot is true/);
        expect(pivot.message).not.toMatch(/clusterApiInstaller/);
        expect(pivot.fix).toContain("clusterctl-linux-amd64");
    });

    test("kubectl: needed for the existing cluster's check even without waitForWorkload", () => {
        const notInstalled = { error: "kubectl is not installed", notInstalled: true };
        const missing = { kubectlVersion: notInstalled, managementApi: notInstalled };
        const findings = evaluateMode({ ...EXISTING, waitForWorkload: false }, { ...NO_DOCKER, ...missing });
        const kubectl = findingOf(findings, "kubectl");
        expect(kubectl.status).toBe("error");
        expect(kubectl.message).toMatch(/managementKubeconfig/);
        expect(kubectl.message).not.toMatch(/waitForWorkload/);
        const api = findingOf(findings, "management-api");
        expect(api).toMatchObject({
            status: "ok",
            message: expect.stringMatching(/not checked: kubectl is not installed/),
        });
    });
});

describe("existing management cluster (managementKubeconfig)", () => {
    test("clusterApiInstaller operator: cert-manager must already be there (the lab installs it only in KinD)", () => {
        const operator = { ...EXISTING, clusterApiInstaller: "operator" };
        const without = findingOf(
            evaluateMode(operator, {
                managementApi: { value: { serverVersion: "v1.35.1", resources: { value: [] } } },
            }),
            "management-api",
        );
        expect(without.status).toBe("error");
        expect(without.message).toMatch(/clusterApiInstaller is operator.*no cert-manager/);
        expect(without.fix).toMatch(/clusterApiInstaller: clusterctl/);
        const withIt = findingOf(
            evaluateMode(operator, {
                managementApi: {
                    value: { serverVersion: "v1.35.1", resources: { value: [CERT_MANAGER_RESOURCE] } },
                },
            }),
            "management-api",
        );
        expect(withIt.status).toBe("ok");
        // clusterctl installs cert-manager itself when it is missing: nothing asked, nothing refused.
        expect(findingOf(evaluateMode(EXISTING), "management-api").status).toBe("ok");
    });

    test("API does not answer: error naming the key, with the fix", () => {
        const error = "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout";
        const finding = findingOf(evaluateMode(EXISTING, { managementApi: { error } }), "management-api");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/managementKubeconfig does not answer: Unable to connect.*i\/o timeout/);
        expect(finding.fix).toContain("pulumi config set --secret managementKubeconfig");
    });

    test("Kubernetes older than v1.35 where the Tinkerbell chart goes: error naming both versions and the key", () => {
        const finding = findingOf(
            evaluateMode(EXISTING, { managementApi: { value: { serverVersion: "v1.34.2" } } }),
            "management-api",
        );
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(
            /managementKubeconfig runs Kubernetes v1\.34\.2.*v1\.35\.0 or newer.*image volume/,
        );
        expect(finding.fix).toMatch(/upgrade that cluster to Kubernetes v1\.35.*externalTinkerbell/);
    });

    test("an older cluster is fine when Tinkerbell runs elsewhere (externalTinkerbell)", () => {
        const finding = findingOf(
            evaluateMode({ ...EXISTING, ...EXTERNAL }, { managementApi: { value: { serverVersion: "v1.33.4+k3s1" } } }),
            "management-api",
        );
        expect(finding).toMatchObject({ status: "ok", message: expect.stringContaining("v1.33.4+k3s1") });
    });

    test("v1.35 and newer: ok, naming the version", () => {
        const finding = findingOf(evaluateMode(EXISTING), "management-api");
        expect(finding).toMatchObject({
            status: "ok",
            message: expect.stringMatching(/Kubernetes v1\.35\.1 \(>= v1\.35\.0/),
        });
    });

    test("the doctor reads the stack file, where the kubeconfig is encrypted: not checked, no error", () => {
        const { config, plan } = modeLab(EXISTING);
        const encrypted = { ...config, managementKubeconfig: ENCRYPTED_VALUE };
        const findings = evaluatePreflight(encrypted, plan, healthyModeFacts({ managementApi: undefined }));
        expect(findingOf(findings, "management-api")).toMatchObject({
            status: "ok",
            message: expect.stringMatching(/not checked: managementKubeconfig is encrypted/),
        });
    });
});

describe("external Tinkerbell (tinkerbellKubeconfig)", () => {
    test("API does not answer: error naming the key", () => {
        const error = "error: You must be logged in to the server (Unauthorized)";
        const finding = findingOf(evaluateMode(EXTERNAL, { tinkerbellApi: { error } }), "tinkerbell-api");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/tinkerbellKubeconfig does not answer: .*Unauthorized/);
        expect(finding.fix).toContain("pulumi config set --secret tinkerbellKubeconfig");
    });

    test("a cluster without Tinkerbell's CRDs: error listing what is missing", () => {
        const tinkerbellApi = {
            value: {
                serverVersion: "v1.35.0",
                resources: { value: ["hardware.tinkerbell.org", "templates.tinkerbell.org"] },
            },
        };
        const finding = findingOf(evaluateMode(EXTERNAL, { tinkerbellApi }), "tinkerbell-api");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(
            /tinkerbellKubeconfig.*does not serve workflows\.tinkerbell\.org, machines\.bmc\.tinkerbell\.org, jobs\.bmc\.tinkerbell\.org/,
        );
        expect(finding.message).not.toMatch(/serve hardware/);
        expect(finding.fix).toMatch(/install Tinkerbell in that cluster/);
    });

    test("resources that cannot be listed: error", () => {
        const tinkerbellApi = {
            value: {
                serverVersion: "v1.35.0",
                resources: { error: "error: unable to retrieve the complete list of server APIs" },
            },
        };
        const finding = findingOf(evaluateMode(EXTERNAL, { tinkerbellApi }), "tinkerbell-api");
        expect(finding.status).toBe("error");
        expect(finding.fix).toMatch(/api-resources/);
    });

    test("all of Hardware, Template, Workflow, Machine and Job served: ok", () => {
        const finding = findingOf(evaluateMode(EXTERNAL), "tinkerbell-api");
        expect(finding.status).toBe("ok");
        expect(finding.message).toMatch(/hardware\.tinkerbell\.org.*machines\.bmc\.tinkerbell\.org/);
    });
});

describe("real machines (machines)", () => {
    test("a Redfish BMC this host cannot connect to: a warning naming the machine's key, not an error", () => {
        const findings = evaluateMode(EXISTING, {
            ...NO_DOCKER,
            bmcReachability: [
                {
                    index: 0,
                    name: "metal1",
                    address: "10.71.0.201",
                    port: 443,
                    protocol: "redfish",
                    tcp: { error: "connect ECONNREFUSED 10.71.0.201:443" },
                },
                { index: 1, name: "metal2", address: "10.71.0.202", port: 623, protocol: "ipmi" },
            ],
        });
        const [redfish, ipmi] = findings.filter((f) => f.check === "bmc");
        expect(redfish.status).toBe("warning");
        expect(redfish.message).toMatch(
            /metal1 \(machines\[0\]\.bmc\): the redfish BMC at 10\.71\.0\.201:443 does not accept.*ECONNREFUSED/,
        );
        expect(redfish.fix).toMatch(/machines\[0\]\.bmc\.address and machines\[0\]\.bmc\.port.*management cluster/);
        expect(ipmi).toMatchObject({
            status: "ok",
            message: expect.stringMatching(/machines\[1\]\.bmc.*not checked \(IPMI runs over UDP\)/),
        });
        expect(preflightFailed(findings)).toBe(false);
    });

    test("a reachable Redfish BMC: ok", () => {
        const [redfish] = evaluateMode(REAL).filter((f) => f.check === "bmc");
        expect(redfish).toMatchObject({ status: "ok", message: expect.stringMatching(/accepts connections/) });
    });
});

describe("aarch64 machines (machineArch)", () => {
    const AARCH64_DOMCAPS = EFI_DOMCAPS.replace("pc-q35-7.2", "virt-7.2").replace(
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/AAVMF/AAVMF_CODE.fd",
    );
    /** An x86_64 host with Debian's qemu-system-arm and qemu-efi-aarch64 installed. */
    const aarch64Host: Partial<HostFacts> = {
        qemuAarch64Version: { value: "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)" },
        libvirtDomainCapabilities: { value: AARCH64_DOMCAPS.replace("<domain>kvm</domain>", "<domain>qemu</domain>") },
        firmwareFiles: [
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "/usr/share/AAVMF/AAVMF_CODE.fd",
            "/usr/share/AAVMF/AAVMF_VARS.fd",
            "/usr/share/qemu/firmware/60-edk2-aarch64.json",
        ],
    };
    const ARM: RawConfig = { machineArch: "aarch64" };

    test("on an x86_64 host with the packages: the qemu-aarch64 check joins, KVM is not used, nothing fails", () => {
        const findings = evaluateMode(ARM, aarch64Host);
        expect(checks(findings)).toEqual([
            "docker",
            "docker-dns",
            "kind",
            "cgroup",
            "clusterctl",
            "kubectl",
            "libvirt",
            "qemu-aarch64",
            "firmware",
            "kvm",
            "forwarding",
            "subnet",
            "cpu",
            "memory",
            "disk",
        ]);
        expect(notOk(findings)).toEqual([]);
        expect(findingOf(findings, "firmware").message).toMatch(/aarch64 virt/);
        expect(findingOf(findings, "kvm").message).toMatch(/not used: machineArch aarch64 on this x86_64 host .*TCG/);
    });

    test("no qemu-system-aarch64: error naming machineArch, fix installs qemu-system-arm and qemu-efi-aarch64", () => {
        const finding = findingOf(
            evaluateMode(ARM, { ...aarch64Host, qemuAarch64Version: { error: "not installed", notInstalled: true } }),
            "qemu-aarch64",
        );
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/machineArch is aarch64 but qemu-system-aarch64 is not installed/);
        expect(finding.fix).toContain("apt install qemu-system-arm qemu-efi-aarch64");
    });

    test("no AAVMF firmware: error naming both files, whatever libvirt says", () => {
        const finding = findingOf(
            evaluateMode(ARM, { ...aarch64Host, firmwareFiles: ["/usr/share/OVMF/OVMF_CODE_4M.fd"] }),
            "firmware",
        );
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(
            /machineArch is aarch64.*\/usr\/share\/AAVMF\/AAVMF_CODE\.fd and \/usr\/share\/AAVMF\/AAVMF_VARS\.fd missing/,
        );
        expect(finding.fix).toContain("apt install qemu-system-arm qemu-efi-aarch64");
    });

    test("another distribution's aarch64 firmware descriptor is enough", () => {
        const firmwareFiles = ["/usr/share/edk2/aarch64/QEMU_EFI.fd", "/usr/share/qemu/firmware/60-edk2-aarch64.json"];
        expect(findingOf(evaluateMode(ARM, { ...aarch64Host, firmwareFiles }), "firmware").status).toBe("ok");
    });

    test("x86_64 machines are not satisfied by aarch64 firmware alone", () => {
        const finding = findingOf(
            evaluate({
                libvirtDomainCapabilities: { error: "unreachable" },
                firmwareFiles: ["/usr/share/AAVMF/AAVMF_CODE.fd"],
            }),
            "firmware",
        );
        expect(finding.status).toBe("error");
    });

    test("domainType kvm with aarch64 machines on an x86_64 host: error naming domainType (TCG only)", () => {
        const { config, plan } = modeLab(ARM);
        const kvm = { ...config, domainType: "kvm" as const };
        const finding = findingOf(evaluatePreflight(kvm, plan, healthyModeFacts(aarch64Host)), "kvm");
        expect(finding.status).toBe("error");
        expect(finding.message).toMatch(/domainType is kvm but machineArch aarch64 on this x86_64 host .*TCG/);
        expect(finding.fix).toMatch(/set domainType to auto or qemu/);
    });

    test("on an aarch64 host KVM is judged as for x86_64 machines on x86_64", () => {
        const { config, plan } = modeLab(ARM);
        const kvm = { ...config, domainType: "kvm" as const };
        const armHost = { ...aarch64Host, arch: "arm64", libvirtDomainCapabilities: { value: AARCH64_DOMCAPS } };
        expect(findingOf(evaluatePreflight(kvm, plan, healthyModeFacts(armHost)), "kvm").status).toBe("ok");
        const noKvm = { ...armHost, kvmDevice: { value: "missing" as const } };
        expect(findingOf(evaluatePreflight(kvm, plan, healthyModeFacts(noKvm)), "kvm").status).toBe("error");
    });
});

describe("probeClusterApi: the kubeconfig reaches kubectl as a private temp file only", () => {
    const VERSION_JSON = JSON.stringify({
        clientVersion: { gitVersion: "v1.35.0" },
        serverVersion: { gitVersion: "v1.35.2" },
    });

    /** A stub kubectl that records what it was given and what KUBECONFIG held while it ran. */
    function stubKubectl(answer: (args: string[]) => ReturnType<CommandRunner>) {
        const seen: {
            file: string;
            args: string[];
            mode: number;
            dirMode: number;
            content: string;
            kubeconfigEnv?: string;
        }[] = [];
        const runner: CommandRunner = async (file, args, _timeout, env = {}) => {
            const kubeconfigFile = env.KUBECONFIG!;
            seen.push({
                file,
                args,
                kubeconfigEnv: kubeconfigFile,
                mode: fs.statSync(kubeconfigFile).mode & 0o777,
                dirMode: fs.statSync(path.dirname(kubeconfigFile)).mode & 0o777,
                content: fs.readFileSync(kubeconfigFile, "utf8"),
            });
            return answer(args);
        };
        return { runner, seen };
    }

    test("version and Tinkerbell's resources; the file is 0600 in a 0700 directory, never in argv, gone after", async () => {
        const { runner, seen } = stubKubectl(async (args) =>
            args[0] === "version"
                ? { value: VERSION_JSON }
                : args.includes("--api-group=tinkerbell.org")
                  ? { value: "hardware.tinkerbell.org\ntemplates.tinkerbell.org\nworkflows.tinkerbell.org\n" }
                  : { value: "jobs.bmc.tinkerbell.org\nmachines.bmc.tinkerbell.org\ntasks.bmc.tinkerbell.org\n" },
        );
        const result = await probeClusterApi(kubeconfig(), ["tinkerbell.org", "bmc.tinkerbell.org"], runner);
        expect(result).toEqual({
            value: {
                serverVersion: "v1.35.2",
                resources: {
                    value: [
                        "hardware.tinkerbell.org",
                        "templates.tinkerbell.org",
                        "workflows.tinkerbell.org",
                        "jobs.bmc.tinkerbell.org",
                        "machines.bmc.tinkerbell.org",
                        "tasks.bmc.tinkerbell.org",
                    ],
                },
            },
        });
        expect(seen.map((s) => s.args[0])).toEqual(["version", "api-resources", "api-resources"]);
        for (const call of seen) {
            expect(call.file).toBe("kubectl");
            expect(call.mode).toBe(0o600);
            expect(call.dirMode).toBe(0o700);
            expect(call.content).toBe(kubeconfig());
            expect(call.args.join(" ")).not.toContain(TOKEN);
            expect(call.args.join(" ")).not.toContain("kubeconfig");
            expect(call.args).toContain("--request-timeout=10s");
        }
        expect(fs.existsSync(seen[0].kubeconfigEnv!)).toBe(false);
        expect(fs.existsSync(path.dirname(seen[0].kubeconfigEnv!))).toBe(false);
    });

    test("an unreachable server: the error, with any credential redacted, and the file removed", async () => {
        const { runner, seen } = stubKubectl(async () => ({
            error: `Unable to connect to the server: bad token ${TOKEN} for https://10.0.0.1:6443`,
        }));
        const result = await probeClusterApi(kubeconfig(), [], runner);
        expect(result).toEqual({
            error: "Unable to connect to the server: bad token [redacted] for https://10.0.0.1:6443",
        });
        expect(fs.existsSync(seen[0].kubeconfigEnv!)).toBe(false);
    });

    test("klog lines before kubectl's own message are dropped", async () => {
        const { runner } = stubKubectl(async (args) =>
            args[0] === "version"
                ? { value: VERSION_JSON }
                : {
                      error: 'E1130 00:48:01.568745   29184 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list"\nThe connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?',
                  },
        );
        expect(await probeClusterApi(kubeconfig(), ["tinkerbell.org"], runner)).toEqual({
            value: {
                serverVersion: "v1.35.2",
                resources: {
                    error: "The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?",
                },
            },
        });
    });

    test("kubectl missing: reported as not installed", async () => {
        const { runner } = stubKubectl(async () => ({ error: "kubectl is not installed", notInstalled: true }));
        expect(await probeClusterApi(kubeconfig(), [], runner)).toEqual({
            error: "kubectl is not installed",
            notInstalled: true,
        });
    });

    test("resources that cannot be listed: the version still comes back", async () => {
        const { runner } = stubKubectl(async (args) =>
            args[0] === "version" ? { value: VERSION_JSON } : { error: "forbidden" },
        );
        expect(await probeClusterApi(kubeconfig(), ["tinkerbell.org"], runner)).toEqual({
            value: { serverVersion: "v1.35.2", resources: { error: "forbidden" } },
        });
    });
});

describe("mode probes on this machine (a stand-in kubectl, a local TCP listener)", () => {
    let binDir: string;
    let savedPath: string | undefined;
    let server: net.Server;
    let openPort: number;

    beforeAll(async () => {
        // The stand-in kubectl checks what the real one would get: KUBECONFIG a 0600 file, no
        // secret in its arguments; it answers like kubectl v1.35 against a v1.35.2 server.
        binDir = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-kubectl-"));
        fs.writeFileSync(
            path.join(binDir, "kubectl"),
            `#!/bin/sh
[ "$(stat -c %a "$KUBECONFIG")" = 600 ] || { echo "KUBECONFIG is not 0600" >&2; exit 3; }
case "$*" in *${TOKEN}*) echo "secret in argv" >&2; exit 4;; esac
grep -q '${TOKEN}' "$KUBECONFIG" || { echo "KUBECONFIG lacks the kubeconfig" >&2; exit 5; }
case "$1" in
  version) echo '{"clientVersion":{"gitVersion":"v1.35.0"},"serverVersion":{"gitVersion":"v1.35.2"}}';;
  *) echo "unexpected: $*" >&2; exit 6;;
esac
`,
            { mode: 0o755 },
        );
        savedPath = process.env.PATH;
        process.env.PATH = `${binDir}:${savedPath ?? ""}`;
        server = net.createServer((socket) => socket.destroy());
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        openPort = (server.address() as net.AddressInfo).port;
    });

    afterAll(async () => {
        process.env.PATH = savedPath;
        fs.rmSync(binDir, { recursive: true, force: true });
        await new Promise((resolve) => server.close(resolve));
    });

    test("gatherHostFacts for aarch64 VMs asks for qemu-system-aarch64 and libvirt's aarch64 virt capabilities", async () => {
        const { config, plan } = modeLab({ machineArch: "aarch64" });
        const facts = await gatherHostFacts(config, plan);
        const qemu = facts.qemuAarch64Version!;
        expect("value" in qemu ? qemu.value : qemu.error).toMatch(/QEMU emulator version|not installed/);
        const caps = facts.libvirtDomainCapabilities;
        if ("value" in caps) {
            expect(caps.value).toMatch(/<arch>aarch64<\/arch>/);
        }
        expect(facts.managementApi).toBeUndefined();
        expect(facts.bmcReachability).toBeUndefined();
    });

    test("tcpConnect: an open port answers, a closed one is refused", async () => {
        expect(await tcpConnect("127.0.0.1", openPort)).toEqual({ value: true });
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const closedPort = (closed.address() as net.AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const refused = await tcpConnect("127.0.0.1", closedPort);
        expect("error" in refused && refused.error).toMatch(/ECONNREFUSED/);
    });

    test("gatherHostFacts for an existing cluster and real machines: the API through kubectl, the BMCs over TCP", async () => {
        const machines = [
            {
                name: "metal1",
                mac: "aa:bb:cc:dd:ee:01",
                bmc: { address: "127.0.0.1", port: openPort, protocol: "redfish" },
            },
            { name: "metal2", mac: "aa:bb:cc:dd:ee:02", bmc: { address: "127.0.0.1", protocol: "ipmi" } },
        ];
        const { config, plan } = modeLab({ ...EXISTING, machines } as unknown as RawConfig);
        const facts = await gatherHostFacts(config, plan);
        expect(facts.managementApi).toEqual({ value: { serverVersion: "v1.35.2" } });
        expect(facts.tinkerbellApi).toBeUndefined();
        expect(facts.qemuAarch64Version).toBeUndefined();
        expect(facts.libvirtVersion).toMatchObject({ error: expect.stringMatching(/not asked/) });
        expect(facts.bmcReachability).toEqual([
            {
                index: 0,
                name: "metal1",
                address: "127.0.0.1",
                port: openPort,
                protocol: "redfish",
                tcp: { value: true },
            },
            { index: 1, name: "metal2", address: "127.0.0.1", port: 623, protocol: "ipmi" },
        ]);
        const findings = evaluatePreflight(config, plan, facts);
        expect(findingOf(findings, "management-api").status).toBe("ok");
        expect(formatFindings(findings)).not.toContain(TOKEN);
    });
});
