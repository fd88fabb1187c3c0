/** The preflight judged against made-up host facts, plus the real probes and `npm run doctor`. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { RawConfig } from "../lib/config";
import { gatherHostFacts } from "../lib/host-facts";
import { LabPlan } from "../lib/plan";
import { Finding, HostFacts, evaluatePreflight, formatFindings, preflightFailed } from "../lib/preflight";
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
        ["23.0.6", "error"],
        ["20.10.24+dfsg1", "error"],
        ["24.0.7", "ok"],
        ["29.0.1", "ok"],
    ])("Docker Engine %s: %s", (version, status) => {
        const finding = findingOf(evaluate({ dockerServerVersion: { value: version } }), "docker");
        expect(finding.status).toBe(status);
        if (status === "error") {
            expect(finding.message).toMatch(/too old.*24/);
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

    test("a released kubectl is fine; without waitForWorkload it is not checked at all", () => {
        expect(findingOf(evaluate({}), "kubectl").status).toBe("ok");
        const missing = { kubectlVersion: { error: "kubectl is not installed", notInstalled: true } };
        const findings = evaluate(missing, { waitForWorkload: false });
        expect(findings.find((f) => f.check === "kubectl")).toBeUndefined();
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
