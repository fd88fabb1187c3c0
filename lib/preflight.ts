/**
 * Preflight: can this host run the lab? Pure: judges facts that lib/host-facts.ts gathered (or a
 * test made up), so every verdict is testable without docker, libvirt or root.
 *
 * Every finding names what was looked at, what was found and, when something is wrong, the exact
 * command or setting that fixes it. `error` means `pulumi up` would fail or produce a broken lab;
 * `warning` means the lab works but slowly, partly, or only with luck.
 */
import { Address4 } from "ip-address";
import { BmcProtocol, ENCRYPTED_VALUE, LabConfig, MachineArch } from "./config";
import { isLocalUri } from "./libvirt/ownership";
import { LabModes, LabPlan } from "./plan";
import { compareVersions, parseVersion, versionText } from "./version";

export { compareVersions, parseVersion } from "./version";

/** A fact read from the host, or why it could not be read. */
export type Probe<T> = { value: T } | ProbeFailure;

export interface ProbeFailure {
    /** What went wrong, usually the probe's stderr (e.g. "Cannot connect to the Docker daemon ..."). */
    error: string;
    /** The program the probe runs is not installed (ENOENT). */
    notInstalled?: boolean;
}

export interface DockerNetworkFact {
    name: string;
    /** IPAM subnets; IPv6 entries are ignored by the checks. */
    subnets: string[];
}

export interface RouteFact {
    /** `default`, a CIDR, or a bare address (a host route), as `ip -j route` prints it. */
    dst: string;
    dev?: string;
}

/** Access of the current user to /dev/kvm. */
export type KvmDeviceAccess = "read-write" | "missing" | "no-access";

/** State of `net.bridge.bridge-nf-call-iptables`; `not-loaded` when br_netfilter is not loaded. */
export type BridgeNetfilter = "on" | "off" | "not-loaded";

/** The parts of /etc/docker/daemon.json the checks read; `{}` when the file does not exist. */
export interface DockerDaemonConfig {
    dns?: string[];
    iptables?: boolean;
}

/** What the API server of a cluster (reached through a kubeconfig from config) answered. */
export interface ClusterApiFact {
    /** `serverVersion.gitVersion` of `kubectl version --output=json`, e.g. "v1.35.0". */
    serverVersion: string;
    /**
     * Names (`kubectl api-resources --output=name`) of the resources in the API groups that were
     * asked about, e.g. "hardware.tinkerbell.org"; undefined when none were asked about.
     */
    resources?: Probe<string[]>;
}

/** A real machine's BMC as seen from this host (config `machines[index].bmc`). */
export interface BmcReachabilityFact {
    /** Position in config `machines`. */
    index: number;
    name: string;
    address: string;
    port: number;
    protocol: BmcProtocol;
    /** A TCP connect to address:port; undefined when not tried (IPMI runs over UDP). */
    tcp?: Probe<true>;
}

export interface HostFacts {
    /** Node's `process.arch` (x64, arm64, ...), for download links. */
    arch: string;
    /** `docker version --format {{.Server.Version}}`; fails when the daemon is unreachable. */
    dockerServerVersion: Probe<string>;
    dockerDaemonConfig: Probe<DockerDaemonConfig>;
    dockerNetworks: Probe<DockerNetworkFact[]>;
    /** Output of `kind version`, e.g. "kind v0.31.0 go1.25.5 linux/amd64". */
    kindVersion: Probe<string>;
    /** Output of `clusterctl version -o short`, e.g. "v1.12.5". */
    clusterctlVersion: Probe<string>;
    /** Output of `kubectl version --client`, e.g. "Client Version: v1.35.0\nKustomize Version: v5.7.1". */
    kubectlVersion: Probe<string>;
    /** Output of `virsh -c <uri> version`. */
    libvirtVersion: Probe<string>;
    /**
     * XML of `virsh -c <uri> domcapabilities` for the machines' architecture: `--machine q35` for
     * x86_64, `--arch aarch64 --machine virt` for aarch64 (config machineArch).
     */
    libvirtDomainCapabilities: Probe<string>;
    /** UEFI firmware images and QEMU firmware descriptors found on this host's disk. */
    firmwareFiles: string[];
    /** `qemu-system-aarch64 --version`; undefined unless the machines are aarch64 VMs. */
    qemuAarch64Version?: Probe<string>;
    /** The cluster of config managementKubeconfig; undefined when the lab creates KinD or cannot read it. */
    managementApi?: Probe<ClusterApiFact>;
    /** The cluster of config tinkerbellKubeconfig with its Tinkerbell resources; undefined without externalTinkerbell. */
    tinkerbellApi?: Probe<ClusterApiFact>;
    /** The real machines' BMCs; undefined when the machines are VMs. */
    bmcReachability?: BmcReachabilityFact[];
    kvmDevice: Probe<KvmDeviceAccess>;
    /** Output of `iptables -S` (the filter table); usually fails without root. */
    iptablesRules: Probe<string>;
    bridgeNetfilter: Probe<BridgeNetfilter>;
    routes: Probe<RouteFact[]>;
    /** `nameserver` entries of /etc/resolv.conf. */
    resolvConfNameservers: Probe<string[]>;
    cpuCount: number;
    memory: Probe<{ availableBytes: number; totalBytes: number }>;
    /** Free space at the nearest existing ancestor of the stack's storage directory. */
    storage: Probe<{ path: string; freeBytes: number }>;
}

export type FindingStatus = "ok" | "warning" | "error";

export interface Finding {
    check: string;
    status: FindingStatus;
    message: string;
    fix?: string;
}

/** kind v0.31.0 is the first release whose node images run Kubernetes 1.35. */
export const MIN_KIND_VERSION = "v0.31.0";
/** `get --raw` and `--request-timeout`, all the wait for the workload API uses, are older than this. */
export const MIN_KUBECTL_VERSION = "v1.28.0";
export const MIN_DOCKER_VERSION = "24.0.0";
/**
 * The Tinkerbell chart mounts CaptainOS as an image volume (`volumes[].image`); ImageVolume is beta
 * and on by default from Kubernetes v1.35 (capt-playground.md §2.5).
 */
export const MIN_CHART_KUBERNETES_VERSION = "v1.35.0";
/** Resources the lab and CAPT use in a Tinkerbell cluster: Hardware, Template, Workflow; Rufio's Machine and Job. */
export const TINKERBELL_RESOURCES: readonly string[] = [
    "hardware.tinkerbell.org",
    "templates.tinkerbell.org",
    "workflows.tinkerbell.org",
    "machines.bmc.tinkerbell.org",
    "jobs.bmc.tinkerbell.org",
];
/** cert-manager's API, which the Cluster API Operator needs and the lab installs only in its own KinD. */
export const CERT_MANAGER_RESOURCE = "certificates.cert-manager.io";
export const CERT_MANAGER_API_GROUPS: readonly string[] = ["cert-manager.io"];
/** The API groups of TINKERBELL_RESOURCES, as `kubectl api-resources --api-group` takes them. */
export const TINKERBELL_API_GROUPS: readonly string[] = ["tinkerbell.org", "bmc.tinkerbell.org"];
/** AAVMF images Debian's and Ubuntu's qemu-efi-aarch64 installs (the descriptor 60-edk2-aarch64.json points at them). */
export const AAVMF_FILES: readonly string[] = ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"];
const AARCH64_PACKAGES =
    "sudo apt install qemu-system-arm qemu-efi-aarch64 (Debian/Ubuntu; qemu-system-arm ships qemu-system-aarch64) or sudo dnf install qemu-system-aarch64 edk2-aarch64 (Fedora), then sudo systemctl restart libvirtd";
/** Memory the KinD management cluster (Tinkerbell, Cluster API, CAPT) needs on top of the machines. */
export const KIND_MEMORY_GIB = 4;
/** Disk beyond the machines' own disks: console logs, ISOs, and room for the filesystem to breathe. */
export const STORAGE_ALLOWANCE_GIB = 10;

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

// ---------------------------------------------------------------------------------------------
// Small helpers

function succeeded<T>(probe: Probe<T>): probe is { value: T } {
    return "value" in probe;
}

function firstLine(text: string): string {
    return text.trim().split("\n")[0]?.trim() ?? "";
}

function gib(bytes: number): string {
    return `${(bytes / GIB).toFixed(1)} GiB`;
}

/** Release asset suffix for this machine: kind-linux-amd64, clusterctl-linux-arm64, ... */
function linuxAsset(arch: string): string {
    return `linux-${arch === "x64" ? "amd64" : arch}`;
}

/** The kernel's name for this host's architecture (Node's x64 and arm64 are x86_64 and aarch64). */
export function hostMachineArch(nodeArch: string): string {
    return nodeArch === "x64" ? "x86_64" : nodeArch === "arm64" ? "aarch64" : nodeArch;
}

/** Whether a firmware image or descriptor is for `arch`, by the names distributions give them. */
function firmwareForArch(file: string, arch: MachineArch): boolean {
    // AAVMF32 is 32-bit Arm firmware; edk2's x86_64 files are named OVMF, x64 or x86_64.
    return arch === "aarch64" ? /AAVMF(?!32)|aarch64/i.test(file) : /OVMF|x86_64|x64/i.test(file);
}

function ownNetworkExists(plan: LabPlan, facts: HostFacts): boolean {
    return succeeded(facts.dockerNetworks) && facts.dockerNetworks.value.some((n) => n.name === plan.network.name);
}

// ---------------------------------------------------------------------------------------------
// Tools

/** What the lab runs as docker containers in these modes; empty when it needs no docker at all. */
function dockerUses(modes: LabModes): string[] {
    return [
        modes.management === "kind" ? "the KinD management cluster (managementKubeconfig is empty)" : undefined,
        modes.machines === "vms" ? "the virtual BMC of the VMs (machines is empty)" : undefined,
        modes.registryMirror ? "the registry mirror (registryMirror is true)" : undefined,
    ].filter((use): use is string => use !== undefined);
}

function checkDocker(facts: HostFacts, uses: string[]): Finding {
    const check = "docker";
    const probe = facts.dockerServerVersion;
    const why = `docker runs ${uses.length > 1 ? `${uses.slice(0, -1).join(", ")} and ${uses[uses.length - 1]}` : uses[0]}`;
    if (!succeeded(probe)) {
        if (probe.notInstalled) {
            return {
                check,
                status: "error",
                message: `docker is not installed; ${why}`,
                fix: "install Docker Engine 24 or newer: https://docs.docker.com/engine/install/",
            };
        }
        const permissionDenied = /permission denied/i.test(probe.error);
        return {
            check,
            status: "error",
            message: `the docker daemon is not reachable: ${firstLine(probe.error)}; ${why}`,
            fix: permissionDenied
                ? "let your user talk to docker: sudo usermod -aG docker $USER, then log out and in again"
                : "start the docker daemon: sudo systemctl enable --now docker",
        };
    }
    const version = parseVersion(probe.value);
    if (!version) {
        return {
            check,
            status: "warning",
            message: `could not read the docker daemon's version from ${JSON.stringify(firstLine(probe.value))}`,
            fix: "make sure `docker version` shows a Server section with Docker Engine 24 or newer",
        };
    }
    if (compareVersions(version, parseVersion(MIN_DOCKER_VERSION)!) < 0) {
        return {
            check,
            status: "error",
            message: `Docker Engine ${versionText(version)} is too old; the lab needs 24 or newer`,
            fix: "upgrade Docker Engine: https://docs.docker.com/engine/install/",
        };
    }
    return { check, status: "ok", message: `Docker Engine ${versionText(version)} is running` };
}

/** A required command-line tool at or above a minimum version. */
function checkToolVersion(
    check: string,
    probe: Probe<string>,
    minimum: string,
    why: string,
    downloadUrl: string,
): Finding {
    const install = `download ${downloadUrl}, make it executable and put it on your PATH (e.g. ~/.local/bin/${check})`;
    if (!succeeded(probe)) {
        return probe.notInstalled
            ? { check, status: "error", message: `${check} is not installed; ${why}`, fix: install }
            : {
                  check,
                  status: "error",
                  message: `\`${check} version\` failed: ${firstLine(probe.error)}`,
                  fix: `reinstall ${check} ${minimum} or newer: ${install}`,
              };
    }
    const found = parseVersion(probe.value);
    if (!found) {
        return {
            check,
            status: "warning",
            message: `could not read a version from \`${check} version\`: ${JSON.stringify(firstLine(probe.value))}`,
            fix: `use a released ${check} ${minimum} or newer: ${install}`,
        };
    }
    if (compareVersions(found, parseVersion(minimum)!) < 0) {
        return {
            check,
            status: "error",
            message: `${check} v${versionText(found)} is too old; ${why}`,
            fix: `upgrade to ${minimum} or newer: ${install}`,
        };
    }
    return { check, status: "ok", message: `${check} v${versionText(found)} (>= ${minimum})` };
}

function checkKind(facts: HostFacts): Finding {
    const url = `https://github.com/kubernetes-sigs/kind/releases/download/${MIN_KIND_VERSION}/kind-${linuxAsset(facts.arch)}`;
    return checkToolVersion(
        "kind",
        facts.kindVersion,
        MIN_KIND_VERSION,
        `the lab needs ${MIN_KIND_VERSION} or newer for Kubernetes 1.35 node images`,
        url,
    );
}

/**
 * clusterctl installs Cluster API (clusterApiInstaller: clusterctl) and moves the lab (pivot); with
 * the Cluster API Operator and no pivot it is not used.
 */
function checkClusterctl(config: LabConfig, modes: LabModes, facts: HostFacts): Finding[] {
    const uses = [
        modes.clusterApiInstaller === "clusterctl"
            ? "the lab installs Cluster API with `clusterctl init` (clusterApiInstaller is clusterctl)"
            : undefined,
        modes.pivot
            ? "pivot moves the lab into the workload cluster with `clusterctl move` (pivot is true)"
            : undefined,
    ].filter((use): use is string => use !== undefined);
    if (uses.length === 0) {
        return [];
    }
    const minimum = config.clusterctlVersion;
    const url = `https://github.com/kubernetes-sigs/cluster-api/releases/download/${minimum}/clusterctl-${linuxAsset(facts.arch)}`;
    return [
        checkToolVersion(
            "clusterctl",
            facts.clusterctlVersion,
            minimum,
            `${uses.join(" and ")}; it needs clusterctl ${minimum} or newer (config key clusterctlVersion)`,
            url,
        ),
    ];
}

/**
 * kubectl probes the workload API in the wait for it (waitForWorkload), and the preflight reaches
 * the clusters of managementKubeconfig and tinkerbellKubeconfig with it; otherwise it is not needed.
 */
function checkKubectl(config: LabConfig, modes: LabModes, facts: HostFacts): Finding[] {
    const uses = [
        config.waitForWorkload
            ? "up waits for the workload API server with kubectl (config key waitForWorkload)"
            : undefined,
        modes.management === "existing"
            ? "the preflight checks the cluster of managementKubeconfig with kubectl"
            : undefined,
        modes.tinkerbell === "external"
            ? "the preflight checks the cluster of tinkerbellKubeconfig with kubectl"
            : undefined,
    ].filter((use): use is string => use !== undefined);
    if (uses.length === 0) {
        return [];
    }
    const url = `https://dl.k8s.io/release/${MIN_KUBECTL_VERSION}/bin/linux/${facts.arch === "arm64" ? "arm64" : "amd64"}/kubectl`;
    return [checkToolVersion("kubectl", facts.kubectlVersion, MIN_KUBECTL_VERSION, uses.join("; "), url)];
}

// ---------------------------------------------------------------------------------------------
// Clusters given by a kubeconfig (managementKubeconfig, tinkerbellKubeconfig)

type KubeconfigKey = "managementKubeconfig" | "tinkerbellKubeconfig";

/** The API of the cluster behind a kubeconfig key, or the finding that says why it was not reached. */
function reachCluster(
    check: string,
    key: KubeconfigKey,
    value: string | undefined,
    probe: Probe<ClusterApiFact> | undefined,
): Finding | ClusterApiFact {
    if (value === ENCRYPTED_VALUE) {
        return {
            check,
            status: "ok",
            message: `not checked: ${key} is encrypted in the stack file; \`pulumi up\` checks it with the decrypted value`,
        };
    }
    if (probe === undefined) {
        return { check, status: "ok", message: `not checked: ${key} was not probed` };
    }
    if (!succeeded(probe)) {
        if (probe.notInstalled) {
            return { check, status: "ok", message: `not checked: kubectl is not installed (see the kubectl check)` };
        }
        return {
            check,
            status: "error",
            message: `the API server in ${key} does not answer: ${firstLine(probe.error)}`,
            fix: `make sure this host reaches the server named in that kubeconfig and its credentials are valid (kubectl --kubeconfig <file> version), then store it again: pulumi config set --secret ${key} < <file>`,
        };
    }
    return probe.value;
}

/**
 * An existing management cluster (managementKubeconfig): its API answers, and when the lab installs
 * the Tinkerbell chart there (externalTinkerbell false), it runs Kubernetes >= v1.35.
 */
function checkManagementApi(config: LabConfig, modes: LabModes, facts: HostFacts): Finding {
    const check = "management-api";
    const reached = reachCluster(check, "managementKubeconfig", config.managementKubeconfig, facts.managementApi);
    if ("check" in reached) {
        return reached;
    }
    const { serverVersion } = reached;
    const chartHere = modes.tinkerbell === "local";
    const found = parseVersion(serverVersion);
    const minimum = parseVersion(MIN_CHART_KUBERNETES_VERSION)!;
    if (!found) {
        return {
            check,
            status: chartHere ? "warning" : "ok",
            message: `the API server in managementKubeconfig answers, but its version ${JSON.stringify(serverVersion)} is unreadable`,
            fix: chartHere
                ? `make sure that cluster runs Kubernetes ${MIN_CHART_KUBERNETES_VERSION} or newer (the Tinkerbell chart mounts CaptainOS as an image volume)`
                : undefined,
        };
    }
    const operatorProblem = certManagerProblem(check, modes, reached.resources);
    if (operatorProblem) {
        return operatorProblem;
    }
    if (chartHere && compareVersions(found, minimum) < 0) {
        return {
            check,
            status: "error",
            message: `the cluster in managementKubeconfig runs Kubernetes ${serverVersion}; the Tinkerbell chart the lab installs there needs ${MIN_CHART_KUBERNETES_VERSION} or newer (it mounts CaptainOS as an image volume, on by default from v1.35)`,
            fix: "upgrade that cluster to Kubernetes v1.35 or newer; or enable the ImageVolume feature gate on its API servers and kubelets and set preflight: false; or run Tinkerbell in a cluster of its own (externalTinkerbell: true, tinkerbellKubeconfig)",
        };
    }
    return {
        check,
        status: "ok",
        message: `the API server in managementKubeconfig answers: Kubernetes ${serverVersion}${
            chartHere ? ` (>= ${MIN_CHART_KUBERNETES_VERSION} for the Tinkerbell chart)` : ""
        }`,
    };
}

/**
 * clusterApiInstaller: operator in a cluster of the user's: the operator's providers need cert-manager,
 * which the lab installs only in its own KinD (its chart cannot tell whether one is already there).
 */
function certManagerProblem(
    check: string,
    modes: LabModes,
    resources: Probe<string[]> | undefined,
): Finding | undefined {
    if (modes.clusterApiInstaller !== "operator" || resources === undefined) {
        return undefined;
    }
    if (succeeded(resources) && resources.value.includes(CERT_MANAGER_RESOURCE)) {
        return undefined;
    }
    return {
        check,
        status: "error",
        message: succeeded(resources)
            ? "clusterApiInstaller is operator, but the cluster in managementKubeconfig has no cert-manager (certificates.cert-manager.io), which the Cluster API Operator's providers need; the lab installs cert-manager only in its own KinD"
            : `clusterApiInstaller is operator, but the API resources of the cluster in managementKubeconfig could not be listed to find cert-manager: ${firstLine(resources.error)}`,
        fix: "install cert-manager in that cluster (https://cert-manager.io/docs/installation/), or use clusterApiInstaller: clusterctl, which installs it when it is missing",
    };
}

/** An external Tinkerbell (externalTinkerbell, tinkerbellKubeconfig): its API answers and serves Tinkerbell's resources. */
function checkTinkerbellApi(config: LabConfig, facts: HostFacts): Finding {
    const check = "tinkerbell-api";
    const reached = reachCluster(check, "tinkerbellKubeconfig", config.tinkerbellKubeconfig, facts.tinkerbellApi);
    if ("check" in reached) {
        return reached;
    }
    const where = `the cluster in tinkerbellKubeconfig (Kubernetes ${reached.serverVersion})`;
    const resources = reached.resources;
    if (resources === undefined) {
        return { check, status: "ok", message: `${where} answers; its resources were not listed` };
    }
    if (!succeeded(resources)) {
        return {
            check,
            status: "error",
            message: `${where} answers, but its API resources could not be listed: ${firstLine(resources.error)}`,
            fix: "make sure the kubeconfig's user may discover API resources (kubectl api-resources --api-group=tinkerbell.org works with it)",
        };
    }
    const missing = TINKERBELL_RESOURCES.filter((name) => !resources.value.includes(name));
    if (missing.length > 0) {
        return {
            check,
            status: "error",
            message: `${where} does not serve ${missing.join(", ")}: Tinkerbell is not installed there`,
            fix: "install Tinkerbell in that cluster (its Helm chart brings the CRDs), or point tinkerbellKubeconfig at the cluster that runs it: pulumi config set --secret tinkerbellKubeconfig < <file>",
        };
    }
    return { check, status: "ok", message: `${where} answers and serves ${TINKERBELL_RESOURCES.join(", ")}` };
}

// ---------------------------------------------------------------------------------------------
// Real machines

/**
 * Each real machine's BMC from this host: a warning only, since Rufio reaches it from its cluster,
 * not from here. Redfish is HTTPS (TCP); IPMI runs over UDP, where no answer proves nothing.
 */
function checkBmcs(modes: LabModes, facts: HostFacts): Finding[] {
    const check = "bmc";
    if (facts.bmcReachability === undefined) {
        return [{ check, status: "ok", message: "not checked: the machines' BMCs were not probed" }];
    }
    const rufio = modes.tinkerbell === "external" ? "the Tinkerbell cluster" : "the management cluster";
    return facts.bmcReachability.map((bmc): Finding => {
        const key = `machines[${bmc.index}].bmc`;
        const label = `${bmc.name} (${key}):`;
        const where = `${bmc.address}:${bmc.port}`;
        if (bmc.tcp === undefined) {
            return {
                check,
                status: "ok",
                message: `${label} ${bmc.protocol} BMC at ${where} not checked (IPMI runs over UDP)`,
            };
        }
        if (succeeded(bmc.tcp)) {
            return {
                check,
                status: "ok",
                message: `${label} the ${bmc.protocol} BMC at ${where} accepts connections from this host`,
            };
        }
        return {
            check,
            status: "warning",
            message: `${label} the ${bmc.protocol} BMC at ${where} does not accept connections from this host: ${firstLine(bmc.tcp.error)}`,
            fix: `check ${key}.address and ${key}.port, and that the BMC network is reachable; Rufio in ${rufio} must reach it`,
        };
    });
}

// ---------------------------------------------------------------------------------------------
// libvirt, firmware, KVM

function checkLibvirt(config: LabConfig, facts: HostFacts): Finding {
    const check = "libvirt";
    const uri = config.libvirtUri;
    const probe = facts.libvirtVersion;
    if (succeeded(probe)) {
        const library = /Using library: libvirt (\S+)/.exec(probe.value)?.[1];
        return { check, status: "ok", message: `libvirtd answers at ${uri}${library ? ` (libvirt ${library})` : ""}` };
    }
    if (probe.notInstalled) {
        return {
            check,
            status: "error",
            message: "virsh is not installed",
            fix: "install libvirt: sudo apt install libvirt-daemon-system libvirt-clients qemu-system-x86 (Debian/Ubuntu) or sudo dnf install libvirt qemu-kvm (Fedora)",
        };
    }
    const permissionDenied = /permission denied|authentication (failed|unavailable)/i.test(probe.error);
    return {
        check,
        status: "error",
        message: `libvirtd is not reachable at ${uri}: ${firstLine(probe.error)}`,
        fix: permissionDenied
            ? "let your user manage libvirt: sudo usermod -aG libvirt $USER, then log out and in again"
            : `start libvirtd (sudo systemctl enable --now libvirtd) and check that \`virsh -c ${uri} version\` works`,
    };
}

/** The `<value>`s inside the first `<tag name='name'>...</tag>` (or `<tag ...>` when name is omitted). */
function xmlValues(xml: string, tag: string, name?: string): string[] | undefined {
    const open = name ? `<${tag}\\s+name=['"]${name}['"][^>]*>` : `<${tag}\\b[^>]*>`;
    const block = new RegExp(`${open}([\\s\\S]*?)</${tag}>`).exec(xml);
    if (!block) {
        return undefined;
    }
    return [...block[1].matchAll(/<value>([^<]*)<\/value>/g)].map((m) => m[1].trim());
}

/**
 * The domains use libvirt's firmware auto-selection (`<os firmware='efi'>`), which works when the
 * domain capabilities list `efi` in the firmware enum. Libvirt too old for that enum still lists
 * loader images, which is the best remaining sign.
 */
export function domainCapabilitiesOfferEfi(xml: string): boolean {
    const os = /<os\b[^>]*>([\s\S]*?)<\/os>/.exec(xml)?.[1] ?? "";
    const firmware = xmlValues(os, "enum", "firmware");
    if (firmware !== undefined) {
        return firmware.includes("efi");
    }
    const loaderBlock = /<loader\b[^>]*>([\s\S]*?)<\/loader>/.exec(os)?.[1] ?? "";
    return /<value>\s*\//.test(loaderBlock);
}

/** aarch64 VMs need QEMU's aarch64 system emulator; libvirt picks it from the host. */
function checkQemuAarch64(config: LabConfig, facts: HostFacts): Finding {
    const check = "qemu-aarch64";
    const probe = facts.qemuAarch64Version;
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: `${remoteNote(config)} (the firmware check asks libvirt there)` };
    }
    if (probe === undefined) {
        return { check, status: "ok", message: "not checked: qemu-system-aarch64 was not probed" };
    }
    if (!succeeded(probe)) {
        return {
            check,
            status: "error",
            message: probe.notInstalled
                ? "machineArch is aarch64 but qemu-system-aarch64 is not installed (not on PATH)"
                : `machineArch is aarch64 but \`qemu-system-aarch64 --version\` failed: ${firstLine(probe.error)}`,
            fix: `${AARCH64_PACKAGES}; or set machineArch to x86_64`,
        };
    }
    return { check, status: "ok", message: `${firstLine(probe.value)} for machineArch aarch64` };
}

/**
 * aarch64 firmware on this host: Debian's AAVMF pair, or any aarch64 firmware descriptor (other
 * distributions' layouts), which is what libvirt's auto-selection reads.
 */
function aarch64FirmwareProblem(facts: HostFacts): string | undefined {
    const missing = AAVMF_FILES.filter((file) => !facts.firmwareFiles.includes(file));
    const descriptors = facts.firmwareFiles.filter(
        (file) => file.endsWith(".json") && firmwareForArch(file, "aarch64"),
    );
    return missing.length === 0 || descriptors.length > 0 ? undefined : `${missing.join(" and ")} missing`;
}

function checkFirmware(config: LabConfig, facts: HostFacts): Finding {
    const check = "firmware";
    const aarch64 = config.machineArch === "aarch64";
    const machine = aarch64 ? "aarch64 virt" : "q35";
    const fix = aarch64
        ? `install UEFI firmware for aarch64 (AAVMF): ${AARCH64_PACKAGES}; or set machineArch to x86_64`
        : "install UEFI firmware for QEMU: sudo apt install ovmf (Debian/Ubuntu) or sudo dnf install edk2-ovmf (Fedora), then restart libvirtd";
    const caps = facts.libvirtDomainCapabilities;
    const local = isLocalUri(config.libvirtUri);
    if (aarch64 && local) {
        // The firmware of an aarch64 guest comes from this host's disk whatever libvirt says.
        const problem = aarch64FirmwareProblem(facts);
        if (problem) {
            return {
                check,
                status: "error",
                message: `machineArch is aarch64 but no aarch64 UEFI firmware is installed: ${problem}`,
                fix,
            };
        }
    }
    if (succeeded(caps)) {
        return domainCapabilitiesOfferEfi(caps.value)
            ? { check, status: "ok", message: `libvirt offers UEFI firmware for ${machine} machines` }
            : { check, status: "error", message: `libvirt lists no UEFI firmware for ${machine} machines`, fix };
    }
    // libvirt could not be asked (reported by the libvirt check); judge from the files on disk.
    const files = facts.firmwareFiles.filter((file) => firmwareForArch(file, config.machineArch));
    if (files.length > 0) {
        return {
            check,
            status: "ok",
            message: `UEFI firmware for ${machine} machines found on disk (${files[0]}); libvirt itself could not be asked`,
        };
    }
    return {
        check,
        status: "error",
        message: `no UEFI firmware for ${machine} machines found: libvirt could not be asked (${firstLine(caps.error)}) and no ${
            aarch64 ? "AAVMF" : "OVMF"
        } files exist`,
        fix,
    };
}

/** What libvirt's domain capabilities say about KVM, or undefined when libvirt could not be asked. */
function libvirtOffersKvm(facts: HostFacts): boolean | undefined {
    const caps = facts.libvirtDomainCapabilities;
    // Without --virttype, libvirt answers for kvm when it can run KVM guests and for qemu otherwise.
    return succeeded(caps) ? /<domain>\s*kvm\s*<\/domain>/.test(caps.value) : undefined;
}

/**
 * Why KVM cannot be used; "usable" when it can, "unknown" when nothing tells. Follows
 * providers/libvirt/host.ts, which resolves `domainType: auto`: a local /dev/kvm must exist, and
 * libvirt's own answer wins (with qemu:///system it is libvirt's QEMU user, not you, that opens
 * /dev/kvm). Only when libvirt cannot be asked does the current user's access decide.
 */
function kvmProblem(config: LabConfig, facts: HostFacts): { reason: string; fix: string } | "usable" | "unknown" {
    const device = facts.kvmDevice;
    const local = isLocalUri(config.libvirtUri);
    const enable =
        "enable virtualization (VT-x/AMD-V) in the firmware setup and load kvm_intel or kvm_amd; inside a VM, enable nested virtualization";
    if (local && succeeded(device) && device.value === "missing") {
        return { reason: "/dev/kvm does not exist", fix: enable };
    }
    const libvirtSays = libvirtOffersKvm(facts);
    if (libvirtSays === true) {
        return "usable";
    }
    if (libvirtSays === false) {
        return {
            reason: `libvirt at ${config.libvirtUri} cannot run KVM guests`,
            fix: local ? `${enable}; check that libvirt's QEMU user is in the kvm group` : enable,
        };
    }
    if (!local) {
        return "unknown"; // remote libvirt that could not be asked: the libvirt check reports it
    }
    if (!succeeded(device)) {
        return { reason: `/dev/kvm could not be checked (${firstLine(device.error)})`, fix: enable };
    }
    if (device.value === "no-access") {
        return {
            reason: "you cannot read and write /dev/kvm",
            fix: "sudo usermod -aG kvm $USER, then log out and in again",
        };
    }
    return "usable";
}

function checkKvm(config: LabConfig, facts: HostFacts): Finding {
    const check = "kvm";
    if (config.domainType === "qemu") {
        return { check, status: "ok", message: "not used: domainType is qemu (software emulation)" };
    }
    const hostArch = hostMachineArch(facts.arch);
    const machineArch: MachineArch = config.machineArch;
    if (isLocalUri(config.libvirtUri) && hostArch !== machineArch) {
        // KVM runs guests of the host's own architecture only.
        const emulated = `machineArch ${machineArch} on this ${hostArch} host runs under software emulation (TCG) only`;
        return config.domainType === "kvm"
            ? {
                  check,
                  status: "error",
                  message: `domainType is kvm but ${emulated}`,
                  fix: `set domainType to auto or qemu (pulumi config set domainType qemu), or run the lab on an ${machineArch} host`,
              }
            : { check, status: "ok", message: `not used: ${emulated}, which is slow` };
    }
    const problem = kvmProblem(config, facts);
    if (problem === "usable") {
        return { check, status: "ok", message: "KVM is usable; the machines run hardware-accelerated" };
    }
    if (problem === "unknown") {
        return { check, status: "ok", message: `not checked: libvirt at ${config.libvirtUri} could not be asked` };
    }
    if (config.domainType === "kvm") {
        return {
            check,
            status: "error",
            message: `domainType is kvm but KVM is not usable: ${problem.reason}`,
            fix: `${problem.fix}; or set domainType to auto or qemu (slow software emulation)`,
        };
    }
    return {
        check,
        status: "warning",
        message: `KVM is not usable (${problem.reason}): the machines fall back to qemu/TCG emulation, which is slow`,
        fix: `${problem.fix}; or set domainType to qemu to accept emulation`,
    };
}

// ---------------------------------------------------------------------------------------------
// The docker FORWARD trap

interface IptablesRule {
    chain: string;
    /** The rule as `iptables -S` printed it, for messages. */
    text: string;
    tokens: string[];
}

interface IptablesRuleSet {
    policies: Map<string, string>;
    chains: Map<string, IptablesRule[]>;
}

function tokenize(line: string): string[] {
    return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

export function parseIptablesRules(text: string): IptablesRuleSet {
    const rules: IptablesRuleSet = { policies: new Map(), chains: new Map() };
    for (const line of text.split("\n")) {
        const tokens = tokenize(line.trim());
        const [verb, chain] = tokens;
        if (!chain) {
            continue;
        }
        if (!rules.chains.has(chain)) {
            rules.chains.set(chain, []);
        }
        if (verb === "-P" && tokens[2]) {
            rules.policies.set(chain, tokens[2]);
        } else if (verb === "-A") {
            rules.chains.get(chain)!.push({ chain, text: line.trim(), tokens: tokens.slice(2) });
        }
    }
    return rules;
}

/** A packet class: every packet between two ports of the stack's bridge, inside its subnet. */
interface Traffic {
    inInterface: string;
    outInterface: string;
    subnet: Address4;
}

/** Does a rule match all of this traffic, none of it, or only some (conntrack state, ports, ...)? */
type Match = "all" | "none" | "some";

function interfaceMatches(pattern: string, name: string): boolean {
    return pattern.endsWith("+") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

function addressMatch(cidr: string, subnet: Address4): Match {
    if (!Address4.isValid(cidr)) {
        return "some";
    }
    const address = new Address4(cidr.includes("/") ? cidr : `${cidr}/32`);
    if (subnet.isInSubnet(address)) {
        return "all";
    }
    return address.isInSubnet(subnet) ? "some" : "none";
}

function negate(match: Match, negated: boolean): Match {
    if (!negated || match === "some") {
        return match;
    }
    return match === "all" ? "none" : "all";
}

/** How a rule's match part applies to the traffic, and where it sends matching packets. */
function classifyRule(rule: IptablesRule, traffic: Traffic): { match: Match; target?: string; goto: boolean } {
    const conditions: Match[] = [];
    let target: string | undefined;
    let goto = false;
    let negated = false;
    const tokens = rule.tokens;
    for (let i = 0; i < tokens.length && target === undefined; i++) {
        const token = tokens[i];
        const value = tokens[i + 1] ?? "";
        if (token === "!") {
            negated = true;
            continue;
        }
        if (token === "-j" || token === "-g") {
            target = value;
            goto = token === "-g";
        } else if (token === "-i" || token === "-o") {
            const name = token === "-i" ? traffic.inInterface : traffic.outInterface;
            conditions.push(negate(interfaceMatches(value, name) ? "all" : "none", negated));
            i++;
        } else if (token === "-s" || token === "-d") {
            conditions.push(negate(addressMatch(value, traffic.subnet), negated));
            i++;
        } else if (token === "-p") {
            conditions.push(negate(value === "all" ? "all" : "some", negated));
            i++;
        } else if (token === "--physdev-is-bridged") {
            conditions.push(negate("all", negated));
        } else if (token === "-m" || token === "--comment") {
            i++; // a match module's name or a comment: no condition by itself
        } else if (token.startsWith("-")) {
            // Any other match option (conntrack state, ports, marks, ...) applies to some packets only.
            conditions.push("some");
            while (tokens[i + 1] !== undefined && !tokens[i + 1].startsWith("-") && tokens[i + 1] !== "!") {
                i++;
            }
        }
        negated = false;
    }
    const match = conditions.includes("none") ? "none" : conditions.includes("some") ? "some" : "all";
    return { match, target, goto };
}

type Verdict = { kind: "accept" | "drop"; rule: IptablesRule } | { kind: "return" };

const MAX_CHAIN_DEPTH = 16;

/**
 * Follow the traffic through a chain. Only rules that match all of it decide: an ACCEPT for
 * established connections does not let a DHCP request through, and a DROP for one port does not
 * block the rest. Rules that match only some of it are skipped, so the answer is about the blanket
 * trap; a rule that drops one service (say UDP 67) is beyond this check.
 */
function walkChain(rules: IptablesRuleSet, chain: string, traffic: Traffic, depth = 0): Verdict {
    if (depth > MAX_CHAIN_DEPTH) {
        return { kind: "return" };
    }
    for (const rule of rules.chains.get(chain) ?? []) {
        const { match, target, goto } = classifyRule(rule, traffic);
        if (match !== "all" || target === undefined) {
            continue;
        }
        if (target === "ACCEPT") {
            return { kind: "accept", rule };
        }
        if (target === "DROP" || target === "REJECT") {
            return { kind: "drop", rule };
        }
        if (target === "RETURN") {
            return { kind: "return" };
        }
        if (rules.chains.has(target)) {
            const verdict = walkChain(rules, target, traffic, depth + 1);
            if (verdict.kind !== "return" || goto) {
                return verdict;
            }
        }
        // LOG, MARK and other non-terminating targets: the packet goes on.
    }
    return { kind: "return" };
}

function dockerManagesIptables(rules: IptablesRuleSet, facts: HostFacts): boolean {
    const daemonSaysOff = succeeded(facts.dockerDaemonConfig) && facts.dockerDaemonConfig.value.iptables === false;
    const dockerChains = ["DOCKER-USER", "DOCKER-FORWARD", "DOCKER"].some((chain) => rules.chains.has(chain));
    return !daemonSaysOff && dockerChains;
}

/** Insert the accept rule where it runs first: DOCKER-USER when FORWARD jumps there first. */
function forwardFix(rules: IptablesRuleSet, bridge: string): string {
    const firstForwardRule = rules.chains.get("FORWARD")?.[0];
    const chain = firstForwardRule && /-j DOCKER-USER$/.test(firstForwardRule.text) ? "DOCKER-USER" : "FORWARD";
    return `sudo iptables -I ${chain} -i ${bridge} -o ${bridge} -j ACCEPT (not persistent: repeat after a reboot or firewall reload)`;
}

/**
 * The trap (pulumi-and-peers.md §A8): docker sets the FORWARD policy to DROP, and with
 * br_netfilter loaded and bridge-nf-call-iptables=1 even traffic *between two ports of one bridge*
 * (a VM's tap and a KinD node's veth) passes that chain. Docker itself accepts traffic within its
 * bridges, and since the VMs sit on the stack's docker bridge, its rule covers them too. So the lab
 * only breaks when a rule drops that traffic before docker's accept, when docker does not manage
 * iptables (`"iptables": false`), or when docker's rules for an existing network are gone (a
 * firewall reload flushed them). Without br_netfilter the bridge never consults iptables; but docker
 * turns it on itself when it manages iptables, so that case only counts when docker does not.
 */
function checkForwarding(plan: LabPlan, facts: HostFacts): Finding {
    const check = "forwarding";
    const bridge = plan.network.bridge;
    const netfilter = facts.bridgeNetfilter;
    if (!succeeded(facts.iptablesRules)) {
        const bridgedOff = succeeded(netfilter) && netfilter.value !== "on";
        return {
            check,
            status: "ok",
            message: bridgedOff
                ? "bridged traffic does not pass iptables now (bridge-nf-call-iptables off); iptables rules not readable to check further"
                : `not checked: iptables rules are not readable (${firstLine(facts.iptablesRules.error)}); run as root to check`,
        };
    }
    const rules = parseIptablesRules(facts.iptablesRules.value);
    const dockerManages = dockerManagesIptables(rules, facts);
    // An unreadable sysctl counts as on: better a warning too many than a trap missed.
    const bridgeFiltered = !succeeded(netfilter) || netfilter.value === "on" || dockerManages;
    if (!bridgeFiltered) {
        return { check, status: "ok", message: "bridged traffic does not pass iptables (bridge-nf-call-iptables off)" };
    }
    const traffic = { inInterface: bridge, outInterface: bridge, subnet: new Address4(plan.network.subnet) };
    const verdict = walkChain(rules, "FORWARD", traffic);
    const fix = forwardFix(rules, bridge);
    if (verdict.kind === "accept") {
        return { check, status: "ok", message: `iptables accepts traffic within ${bridge} (${verdict.rule.text})` };
    }
    const consequence = "the machines cannot reach Tinkerbell's DHCP, TFTP and HTTP services on KinD";
    if (verdict.kind === "drop") {
        return {
            check,
            status: "warning",
            message: `iptables rule \`${verdict.rule.text}\` drops traffic within ${bridge}: ${consequence}`,
            fix,
        };
    }
    const policy = rules.policies.get("FORWARD") ?? "ACCEPT";
    if (policy === "ACCEPT") {
        return { check, status: "ok", message: "the iptables FORWARD policy is ACCEPT" };
    }
    if (dockerManages && !ownNetworkExists(plan, facts)) {
        return {
            check,
            status: "ok",
            message: `FORWARD policy is ${policy}; docker adds its accept rule for ${bridge} when it creates the lab network`,
        };
    }
    return {
        check,
        status: "warning",
        message: `FORWARD policy is ${policy}, bridged traffic passes iptables and no rule accepts traffic within ${bridge}${
            dockerManages ? "" : " (docker does not manage iptables)"
        }: ${consequence}`,
        fix,
    };
}

// ---------------------------------------------------------------------------------------------
// Networks

function ipv4Cidr(text: string): Address4 | undefined {
    const cidr = text.includes("/") ? text : `${text}/32`;
    return Address4.isValid(cidr) && !text.includes(":") ? new Address4(cidr) : undefined;
}

function overlaps(a: Address4, b: Address4): boolean {
    return a.isInSubnet(b) || b.isInSubnet(a);
}

function checkSubnetAgainstDockerNetworks(plan: LabPlan, subnet: Address4, facts: HostFacts): Finding[] {
    if (!succeeded(facts.dockerNetworks)) {
        return [];
    }
    const findings: Finding[] = [];
    for (const network of facts.dockerNetworks.value) {
        if (network.name === plan.network.name) {
            continue; // the stack's own network from an earlier `up`
        }
        for (const other of network.subnets) {
            const cidr = ipv4Cidr(other);
            if (cidr && overlaps(subnet, cidr)) {
                findings.push({
                    check: "subnet",
                    status: "error",
                    message: `networkSubnet ${plan.network.subnet} overlaps docker network ${network.name} (${other}); docker refuses overlapping networks`,
                    fix: `choose another networkSubnet (pulumi config set networkSubnet 10.72.0.0/16) or remove the network: docker network rm ${network.name}`,
                });
            }
        }
    }
    return findings;
}

/**
 * A route at least as specific as the lab subnet takes part of it away from the lab bridge:
 * error. A wider route (a VPN's 10.0.0.0/8, say) loses only the lab's range to the more specific
 * lab route: warning. Routes of docker networks are judged by the docker check instead.
 */
function checkSubnetAgainstRoutes(plan: LabPlan, subnet: Address4, facts: HostFacts): Finding[] {
    if (!succeeded(facts.routes)) {
        return [];
    }
    const dockerSubnets = new Set(
        succeeded(facts.dockerNetworks) ? facts.dockerNetworks.value.flatMap((n) => n.subnets) : [],
    );
    const findings: Finding[] = [];
    for (const route of facts.routes.value) {
        if (route.dst === "default" || route.dev === plan.network.bridge || dockerSubnets.has(route.dst)) {
            continue;
        }
        const cidr = ipv4Cidr(route.dst);
        if (!cidr || !overlaps(subnet, cidr)) {
            continue;
        }
        const via = route.dev ? ` via ${route.dev}` : "";
        const fix = "choose a networkSubnet no host route touches (pulumi config set networkSubnet 10.72.0.0/16)";
        findings.push(
            cidr.subnetMask >= subnet.subnetMask
                ? {
                      check: "subnet",
                      status: "error",
                      message: `networkSubnet ${plan.network.subnet} overlaps host route ${route.dst}${via}: part of the lab would be unreachable`,
                      fix,
                  }
                : {
                      check: "subnet",
                      status: "warning",
                      message: `networkSubnet ${plan.network.subnet} lies inside host route ${route.dst}${via}: those addresses there become unreachable while the lab exists`,
                      fix,
                  },
        );
    }
    return findings;
}

/**
 * With real machines networkSubnet is their network, which this host may well have a route to, so
 * only docker networks are compared then.
 */
function checkSubnet(plan: LabPlan, modes: LabModes, facts: HostFacts): Finding[] {
    const subnet = new Address4(plan.network.subnet);
    const compareRoutes = modes.machines === "vms";
    const findings = [
        ...checkSubnetAgainstDockerNetworks(plan, subnet, facts),
        ...(compareRoutes ? checkSubnetAgainstRoutes(plan, subnet, facts) : []),
    ];
    if (findings.length > 0) {
        return findings;
    }
    const unchecked = [
        succeeded(facts.dockerNetworks) ? undefined : "docker networks",
        !compareRoutes || succeeded(facts.routes) ? undefined : "host routes",
    ].filter((x) => x !== undefined);
    return [
        {
            check: "subnet",
            status: "ok",
            message: `networkSubnet ${plan.network.subnet} overlaps no docker network${compareRoutes ? " or host route" : ""}${
                unchecked.length > 0 ? ` (${unchecked.join(" and ")} could not be read)` : ""
            }${compareRoutes ? "" : "; host routes not compared: with machines listed it is their network"}`,
        },
    ];
}

/**
 * kind#1594 (capt-playground.md §8): with a local stub resolver (systemd-resolved's 127.0.0.53)
 * in /etc/resolv.conf and no `dns` in daemon.json, KinD nodes can fail to resolve names, which
 * breaks the Tinkerbell chart's HookOS download.
 */
function checkDockerDns(facts: HostFacts): Finding {
    const check = "docker-dns";
    const servers = facts.resolvConfNameservers;
    const daemon = facts.dockerDaemonConfig;
    if (!succeeded(servers) || !succeeded(daemon)) {
        return { check, status: "ok", message: "not checked: /etc/resolv.conf or /etc/docker/daemon.json unreadable" };
    }
    if ((daemon.value.dns ?? []).length > 0) {
        return { check, status: "ok", message: `docker hands containers DNS ${daemon.value.dns!.join(", ")}` };
    }
    const onlyLoopback = servers.value.length > 0 && servers.value.every((s) => s.startsWith("127."));
    if (!onlyLoopback) {
        return { check, status: "ok", message: "the host's DNS servers are reachable from containers" };
    }
    return {
        check,
        status: "warning",
        message: `/etc/resolv.conf uses a local stub resolver (${servers.value.join(", ")}) and docker has no "dns" setting: KinD nodes may fail to resolve names (kind#1594), breaking the HookOS download`,
        fix: 'add "dns": ["1.1.1.1"] (or your network\'s DNS server) to /etc/docker/daemon.json, then sudo systemctl restart docker',
    };
}

// ---------------------------------------------------------------------------------------------
// Resources

function remoteNote(config: LabConfig): string {
    return `not checked: the machines run at ${config.libvirtUri}`;
}

function checkCpu(config: LabConfig, facts: HostFacts): Finding {
    const check = "cpu";
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: remoteNote(config) };
    }
    // VMs may overcommit CPUs; only a single VM larger than the host is a problem worth a warning.
    if (facts.cpuCount < config.vmCpus) {
        return {
            check,
            status: "warning",
            message: `the host has ${facts.cpuCount} CPUs but each machine gets vmCpus=${config.vmCpus}: machines will be slow`,
            fix: `lower vmCpus: pulumi config set vmCpus ${Math.max(2, facts.cpuCount)}`,
        };
    }
    return { check, status: "ok", message: `${facts.cpuCount} CPUs for machines of ${config.vmCpus} vCPUs` };
}

/** Whether this host runs the VMs: they are VMs and libvirt is local. */
function localVms(config: LabConfig, modes: LabModes): boolean {
    return modes.machines === "vms" && isLocalUri(config.libvirtUri);
}

/** Bytes of memory the lab wants on this host: every local VM running, plus the KinD management cluster. */
export function memoryNeeded(config: LabConfig, modes: LabModes): number {
    const machines = localVms(config, modes) ? config.hardwareCount * config.vmMemoryMiB * MIB : 0;
    return machines + (modes.management === "kind" ? KIND_MEMORY_GIB * GIB : 0);
}

function memoryBreakdown(config: LabConfig, modes: LabModes): string {
    return [
        localVms(config, modes) ? `${config.hardwareCount} machines x ${config.vmMemoryMiB} MiB` : undefined,
        modes.management === "kind" ? `${KIND_MEMORY_GIB} GiB for KinD` : undefined,
    ]
        .filter((part) => part !== undefined)
        .join(" + ");
}

/**
 * Free memory below the need is a warning (QEMU touches guest memory lazily, so it may fit); a
 * host with less than half of it in total cannot run the lab. Once the lab exists (its network is
 * there), its own VMs and KinD already count as used, so free memory means nothing and the total
 * is compared instead.
 */
function checkMemory(config: LabConfig, plan: LabPlan, modes: LabModes, facts: HostFacts): Finding {
    const check = "memory";
    if (!succeeded(facts.memory)) {
        return { check, status: "ok", message: `not checked: ${firstLine(facts.memory.error)}` };
    }
    const { availableBytes, totalBytes } = facts.memory.value;
    const needed = memoryNeeded(config, modes);
    const breakdown = memoryBreakdown(config, modes);
    const fix = "lower hardwareCount or vmMemoryMiB, or free memory";
    if (totalBytes < needed / 2) {
        return {
            check,
            status: "error",
            message: `the host has ${gib(totalBytes)} of memory in total; the lab needs about ${gib(needed)} (${breakdown})`,
            fix,
        };
    }
    const labRunning = ownNetworkExists(plan, facts);
    const have = labRunning ? totalBytes : availableBytes;
    if (have < needed) {
        return {
            check,
            status: "warning",
            message: `${gib(have)} of memory ${labRunning ? "in total" : "available"}; the lab needs about ${gib(needed)} (${breakdown})`,
            fix,
        };
    }
    return { check, status: "ok", message: `${gib(have)} of memory for the lab's ${gib(needed)} (${breakdown})` };
}

/** Qcow2 disks grow as written, so a shortfall is a warning: the lab starts and fills up later. */
function checkDisk(config: LabConfig, plan: LabPlan, facts: HostFacts): Finding {
    const check = "disk";
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: remoteNote(config) };
    }
    if (!succeeded(facts.storage)) {
        return { check, status: "ok", message: `not checked: ${firstLine(facts.storage.error)}` };
    }
    const { path, freeBytes } = facts.storage.value;
    const needed = (config.hardwareCount * config.vmDiskGiB + STORAGE_ALLOWANCE_GIB) * GIB;
    const breakdown = `${config.hardwareCount} disks x ${config.vmDiskGiB} GiB + ${STORAGE_ALLOWANCE_GIB} GiB`;
    if (freeBytes < needed) {
        return {
            check,
            status: "warning",
            message: `${gib(freeBytes)} free at ${path} for ${plan.libvirt.storageDir}; the machines' disks may grow to ${gib(needed)} (${breakdown})`,
            fix: "free space there, set storageDir to a larger filesystem, or lower vmDiskGiB or hardwareCount",
        };
    }
    return {
        check,
        status: "ok",
        message: `${gib(freeBytes)} free at ${path} for up to ${gib(needed)} (${breakdown})`,
    };
}

// ---------------------------------------------------------------------------------------------

/**
 * The checks the lab's modes (plan.modes) call for: docker only when the lab runs containers (KinD,
 * the virtual BMC, the registry mirror); kind, the lab network and KinD's DNS only when it creates
 * KinD; the cluster APIs of managementKubeconfig and tinkerbellKubeconfig when set; libvirt,
 * firmware, KVM, CPU and disk only for VMs; the BMCs of real machines.
 */
export function evaluatePreflight(config: LabConfig, plan: LabPlan, facts: HostFacts): Finding[] {
    const modes = plan.modes;
    const kind = modes.management === "kind";
    const vms = modes.machines === "vms";
    const docker = dockerUses(modes);
    return [
        ...(docker.length > 0 ? [checkDocker(facts, docker)] : []),
        ...(kind ? [checkDockerDns(facts), checkKind(facts)] : []),
        ...checkClusterctl(config, modes, facts),
        ...checkKubectl(config, modes, facts),
        ...(modes.management === "existing" ? [checkManagementApi(config, modes, facts)] : []),
        ...(modes.tinkerbell === "external" ? [checkTinkerbellApi(config, facts)] : []),
        ...(vms
            ? [
                  checkLibvirt(config, facts),
                  ...(modes.arch === "aarch64" ? [checkQemuAarch64(config, facts)] : []),
                  checkFirmware(config, facts),
                  checkKvm(config, facts),
              ]
            : []),
        ...(kind ? [checkForwarding(plan, facts), ...checkSubnet(plan, modes, facts)] : []),
        ...(vms ? [] : checkBmcs(modes, facts)),
        ...(vms ? [checkCpu(config, facts)] : []),
        ...(kind || vms ? [checkMemory(config, plan, modes, facts)] : []),
        ...(vms ? [checkDisk(config, plan, facts)] : []),
    ];
}

export function preflightFailed(findings: Finding[]): boolean {
    return findings.some((finding) => finding.status === "error");
}

const STATUS_LABEL: Record<FindingStatus, string> = { ok: "ok", warning: "WARN", error: "ERROR" };

/** One line per finding, `fix:` indented below it, and a closing count. */
export function formatFindings(findings: Finding[]): string {
    const checkWidth = Math.max(0, ...findings.map((f) => f.check.length));
    const lines: string[] = [];
    for (const finding of findings) {
        lines.push(`${STATUS_LABEL[finding.status].padEnd(5)} ${finding.check.padEnd(checkWidth)}  ${finding.message}`);
        if (finding.fix) {
            lines.push(`${" ".repeat(6 + checkWidth + 2)}fix: ${finding.fix}`);
        }
    }
    const errors = findings.filter((f) => f.status === "error").length;
    const warnings = findings.filter((f) => f.status === "warning").length;
    lines.push(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
    return `${lines.join("\n")}\n`;
}
