/**
 * What the preflight judges: the facts lib/host-facts.ts reads from the host (or a test makes up), the
 * shape of a finding, the minimum versions and sizes, and the small helpers the checks share. Pure.
 */
import { BundleFileFact } from "../bundle/check";
import { BundleManifest } from "../bundle/manifest";
import { BmcProtocol, LabConfig, MachineArch } from "../config";
import { LabPlan } from "../plan";

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
    /** The host's cgroup version: 2 when /sys/fs/cgroup is the unified hierarchy, else 1. */
    cgroupVersion?: Probe<1 | 2>;
    /** The offline bundle (config offlineBundle); undefined without one. */
    bundle?: BundleFacts;
}

/** What was read of an offline bundle: its manifest and, per artifact file, what it is. */
export interface BundleFacts {
    dir: string;
    manifest: Probe<BundleManifest>;
    /** By path relative to the bundle, for every file the manifest names. */
    files: Readonly<Record<string, BundleFileFact>>;
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
/**
 * Docker Engine 20.10 (API 1.41): Debian 12's docker.io (20.10.24) runs the whole lab, KinD node,
 * image loads and the virtual BMC, in the real-lab e2e suite.
 */
export const MIN_DOCKER_VERSION = "20.10.0";
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
export const AARCH64_PACKAGES =
    "sudo apt install qemu-system-arm qemu-efi-aarch64 (Debian/Ubuntu; qemu-system-arm ships qemu-system-aarch64) or sudo dnf install qemu-system-aarch64 edk2-aarch64 (Fedora), then sudo systemctl restart libvirtd";
/** Memory the KinD management cluster (Tinkerbell, Cluster API, CAPT) needs on top of the machines. */
export const KIND_MEMORY_GIB = 4;
/** Disk beyond the machines' own disks: console logs, ISOs, and room for the filesystem to breathe. */
export const STORAGE_ALLOWANCE_GIB = 10;

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

// Small helpers

export function succeeded<T>(probe: Probe<T>): probe is { value: T } {
    return "value" in probe;
}

export function firstLine(text: string): string {
    return text.trim().split("\n")[0]?.trim() ?? "";
}

export function gib(bytes: number): string {
    return `${(bytes / GIB).toFixed(1)} GiB`;
}

/** Release asset suffix for this machine: kind-linux-amd64, clusterctl-linux-arm64, ... */
export function linuxAsset(arch: string): string {
    return `linux-${arch === "x64" ? "amd64" : arch}`;
}

/** The kernel's name for this host's architecture (Node's x64 and arm64 are x86_64 and aarch64). */
export function hostMachineArch(nodeArch: string): string {
    return nodeArch === "x64" ? "x86_64" : nodeArch === "arm64" ? "aarch64" : nodeArch;
}

/** Whether a firmware image or descriptor is for `arch`, by the names distributions give them. */
export function firmwareForArch(file: string, arch: MachineArch): boolean {
    // AAVMF32 is 32-bit Arm firmware; edk2's x86_64 files are named OVMF, x64 or x86_64.
    return arch === "aarch64" ? /AAVMF(?!32)|aarch64/i.test(file) : /OVMF|x86_64|x64/i.test(file);
}

export function ownNetworkExists(plan: LabPlan, facts: HostFacts): boolean {
    return succeeded(facts.dockerNetworks) && facts.dockerNetworks.value.some((n) => n.name === plan.network.name);
}

/** A check of this host that does not apply when libvirt is remote. */
export function remoteNote(config: LabConfig): string {
    return `not checked: the machines run at ${config.libvirtUri}`;
}
