/**
 * The one list of stack config keys. `Pulumi.yaml` declares the same keys (a test keeps the two
 * in sync) and the README's config reference is generated from it, so a key is added here first.
 *
 * Defaults live here too because the program must run without the Pulumi CLI (under test mocks,
 * and in `npm run render`), where nobody applies `Pulumi.yaml`'s defaults for us.
 */

/**
 * `objects` is a list of objects (the `machines` key). Pulumi.yaml cannot type it (a project's config
 * types are string, integer, boolean and arrays of those), so it is declared there untyped and
 * validated here.
 */
export type ConfigValueType = "string" | "integer" | "boolean" | "array" | "objects";

export interface ConfigKeySpec {
    readonly type: ConfigValueType;
    readonly description: string;
    readonly default: string | number | boolean | readonly string[] | readonly never[];
    readonly secret?: boolean;
    /** README text for a default that is computed when the key is empty (random password, generated key). */
    readonly defaultText?: string;
}

export const PROJECT_NAME = "capt-playground";

export const CONFIG_SCHEMA = {
    hardwareCount: {
        type: "integer",
        description:
            "Total machines: libvirt VMs, each with a Hardware object and a BMC (with machines: the list's length).",
        default: 3,
    },
    controlPlanes: {
        type: "integer",
        description: "Control-plane machines of the workload cluster (the first machines).",
        default: 1,
    },
    workers: {
        type: "integer",
        description: "Worker machines; machines beyond controlPlanes + workers are spares.",
        default: 1,
    },
    kubernetesVersion: {
        type: "string",
        description: "Workload cluster Kubernetes version, vX.Y.Z (an OS image must exist for it).",
        default: "v1.35.2",
    },
    tinkerbellVersion: {
        type: "string",
        description: "Tinkerbell Helm chart version.",
        default: "v0.23.1-23da0880",
    },
    captVersion: {
        type: "string",
        description: "Cluster API Provider Tinkerbell (CAPT) release, vX.Y.Z.",
        default: "v0.7.0",
    },
    clusterctlVersion: {
        type: "string",
        description:
            "Cluster API version both installers install (core, kubeadm bootstrap and control-plane providers), and the minimum clusterctl version the preflight accepts, vX.Y.Z.",
        default: "v1.12.5",
    },
    kindNodeImage: {
        type: "string",
        description: "KinD node image of the management cluster (Kubernetes >= 1.35 for image volumes).",
        default: "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
    },
    kubeVipVersion: {
        type: "string",
        description: "kube-vip version for the workload control-plane VIP, vX.Y.Z.",
        default: "v1.1.2",
    },
    bootMode: {
        type: "string",
        description: "How Tinkerbell boots the machines: netboot (PXE/iPXE) or isoboot (virtual media).",
        default: "netboot",
    },
    networkSubnet: {
        type: "string",
        description: "IPv4 CIDR (private) of the lab's docker network; machines, VIPs and the BMC live in it.",
        default: "10.71.0.0/16",
    },
    podCidr: {
        type: "string",
        description: "Pod CIDR (private) of the workload cluster.",
        default: "10.72.0.0/16",
    },
    serviceCidr: {
        type: "string",
        description: "Service CIDR (private) of the workload cluster.",
        default: "10.73.0.0/16",
    },
    kindPodCidr: {
        type: "string",
        description: "Pod CIDR (private) of the KinD management cluster; Tinkerbell trusts it as proxies.",
        default: "10.74.0.0/16",
    },
    kindServiceCidr: {
        type: "string",
        description: "Service CIDR (private) of the KinD management cluster.",
        default: "10.75.0.0/16",
    },
    nameServers: {
        type: "array",
        description: "DNS servers handed to the machines by DHCP (IPv4 addresses).",
        default: ["8.8.8.8", "1.1.1.1"],
    },
    vmCpus: {
        type: "integer",
        description: "vCPUs per machine.",
        default: 2,
    },
    vmMemoryMiB: {
        type: "integer",
        description: "Memory per machine in MiB.",
        default: 2048,
    },
    vmDiskGiB: {
        type: "integer",
        description: "Disk size per machine in GiB (qcow2, allocated as written).",
        default: 20,
    },
    vmDiskCache: {
        type: "string",
        description:
            "QEMU disk cache mode: unsafe (fastest, loses data on host crash), none, writeback, writethrough, directsync.",
        default: "unsafe",
    },
    vmGraphics: {
        type: "string",
        description: "Machine display: vnc (listening on 127.0.0.1 only) or none.",
        default: "vnc",
    },
    domainType: {
        type: "string",
        description:
            "libvirt domain type: auto (kvm when /dev/kvm is usable, else qemu; decided once when a domain is created and kept), kvm or qemu.",
        default: "auto",
    },
    libvirtUri: {
        type: "string",
        description: "libvirt connection URI (qemu:///system, qemu+ssh://host/system, ...).",
        default: "qemu:///system",
    },
    storageDir: {
        type: "string",
        description:
            "Directory of the stack's libvirt pool (disks) and console logs; empty = /var/lib/libvirt/images/<lab name>.",
        default: "",
    },
    outputDir: {
        type: "string",
        description:
            "Directory for kubeconfigs, clusterctl state and rendered files; empty = .lab/<stack> in the project.",
        default: "",
    },
    namespace: {
        type: "string",
        description: "Namespace of the Tinkerbell release, Hardware, BMC and Cluster API objects.",
        default: "tinkerbell",
    },
    nodeNamePrefix: {
        type: "string",
        description: "Machine name prefix; machines are named <lab name>-<prefix><n>, e.g. capt-dev-node1.",
        default: "node",
    },
    osImageRegistry: {
        type: "string",
        description: "OS image repository; tags are <osVersion>-<kubernetesVersion>-amd64.gz.",
        default: "ghcr.io/tinkerbell/cluster-api-provider-tinkerbell/ubuntu",
    },
    osVersion: {
        type: "string",
        description: "Ubuntu version part of the OS image tag, e.g. 2404.",
        default: "2404",
    },
    tinkerbellChart: {
        type: "string",
        description: "Tinkerbell Helm chart reference (OCI URL or local chart directory).",
        default: "oci://ghcr.io/tinkerbell/charts/tinkerbell",
    },
    captainosImage: {
        type: "string",
        description: "CaptainOS artifacts image served by the chart's OSIE file server.",
        default: "ghcr.io/tinkerbell/captain/artifacts:v0.0.0-a4be23c",
    },
    captainosKernelVersion: {
        type: "string",
        description: "Kernel version in the CaptainOS artifact names (vmlinuz-<v>-<arch>).",
        default: "6.18.16",
    },
    tinkerbellExtraValues: {
        type: "array",
        description: "Extra Tinkerbell chart values as path=value strings (like helm --set), applied last.",
        default: [],
    },
    vbmcImage: {
        type: "string",
        description: "Virtual BMC image providing IPMI (vbmc) and Redfish (sushy-tools).",
        default: "ghcr.io/jacobweinstock/virtualbmc:latest",
    },
    cni: {
        type: "string",
        description: "CNI installed into the workload cluster: cilium (Helm), kube-router or none.",
        default: "cilium",
    },
    ciliumVersion: {
        type: "string",
        description: "Cilium Helm chart version when cni is cilium.",
        default: "1.17.3",
    },
    kubeRouterManifest: {
        type: "string",
        description:
            "kube-router manifest URL when cni is kube-router; the default is pinned to a release tag so every up applies the same manifest.",
        default:
            "https://raw.githubusercontent.com/cloudnativelabs/kube-router/v2.11.1/daemonset/kubeadm-kuberouter.yaml",
    },
    waitForWorkload: {
        type: "boolean",
        description:
            "Wait for the workload cluster (kubeconfig, CNI); false stops once the lab infrastructure and Cluster API objects are applied.",
        default: true,
    },
    workloadTimeoutMinutes: {
        type: "integer",
        description:
            "How long up waits for the workload cluster's API server to answer (and for its CNI) before failing.",
        default: 45,
    },
    sshPublicKey: {
        type: "string",
        description: "SSH public key for user tink on the machines; empty = a key generated for the stack.",
        default: "",
        defaultText: "generated",
    },
    bmcUsername: {
        type: "string",
        description: "BMC (IPMI and Redfish) user name.",
        default: "admin",
    },
    bmcPassword: {
        type: "string",
        description:
            "BMC password, set only with `pulumi config set --secret`; empty = a random password kept secret in state.",
        // Not declared `secret` in Pulumi.yaml: the CLI rejects a secret key with a default, and an
        // optional key needs one. The program refuses a plaintext value instead.
        secret: true,
        default: "",
        defaultText: "random",
    },
    managementKubeconfig: {
        type: "string",
        description:
            "Kubeconfig of an existing management cluster, set with `pulumi config set --secret`; empty = the lab creates a KinD cluster on its own docker network.",
        secret: true,
        default: "",
        defaultText: "create KinD",
    },
    externalTinkerbell: {
        type: "boolean",
        description:
            "Tinkerbell runs in another cluster (tinkerbellKubeconfig): Hardware and BMC objects go there and CAPT uses it; no Tinkerbell chart is installed.",
        default: false,
    },
    tinkerbellKubeconfig: {
        type: "string",
        description:
            "Kubeconfig of the external Tinkerbell cluster when externalTinkerbell is true, set with `pulumi config set --secret`.",
        secret: true,
        default: "",
    },
    tinkerbellVip: {
        type: "string",
        description:
            "Tinkerbell's load-balancer IP; empty = the planned address (networkSubnet + 17). Required with externalTinkerbell (that Tinkerbell's VIP).",
        default: "",
    },
    artifactsVip: {
        type: "string",
        description:
            "IP of Tinkerbell's artifacts (OSIE) file server; empty = the planned address (networkSubnet + 18).",
        default: "",
    },
    controlPlaneVip: {
        type: "string",
        description:
            "The workload cluster's API server VIP (kube-vip); empty = the planned address (networkSubnet + 19).",
        default: "",
    },
    networkGateway: {
        type: "string",
        description:
            "Gateway of the machines' network handed out by DHCP; empty = the first address of networkSubnet (the lab network's gateway).",
        default: "",
    },
    machines: {
        type: "objects",
        description:
            "Real machines instead of VMs: a list of {name, mac, ip?, role?, disk?, bmc: {address, port?, protocol: ipmi|redfish, insecureTLS?, systemName?, username?}}; empty = libvirt VMs. Credentials: bmc.username (else bmcUsername) and machineBmcPasswords (else bmcPassword).",
        default: [],
    },
    machineBmcPasswords: {
        type: "string",
        description:
            'Per-machine BMC passwords of real machines: a JSON object from machine name to password, e.g. {"rack1-a": "..."}, set only with `pulumi config set --secret`; machines without an entry use bmcPassword.',
        // Optional like bmcPassword, so not declared `secret` in Pulumi.yaml; plaintext is refused.
        secret: true,
        default: "",
    },
    registryMirror: {
        type: "boolean",
        description:
            "Run a pull-through registry cache per upstream on the lab network and point KinD, the machines and the lab's image references at it.",
        default: false,
    },
    registryMirrorKeepCache: {
        type: "boolean",
        description: "Keep the registry mirror's cache volumes on destroy (reused by the next up).",
        default: false,
    },
    registryMirrorHost: {
        type: "string",
        description:
            "An HTTPS registry mirror you run (publicly trusted certificate), used instead of the lab's own caches: the chart, OS image, CaptainOS and virtual BMC references are rewritten to it as the Tinkerbell playground's mirror mode does; empty = the lab's caches.",
        default: "",
    },
    registryMirrorImage: {
        type: "string",
        description: "Image of the registry mirror (CNCF distribution in proxy mode).",
        default: "docker.io/library/registry:3.0.0",
    },
    registryMirrorUpstreams: {
        type: "array",
        description: "Registries the mirror caches, one cache container each (at most 12).",
        default: ["ghcr.io", "quay.io", "registry.k8s.io", "docker.io"],
    },
    pivot: {
        type: "boolean",
        description:
            "Once the workload cluster is ready, install Cluster API (and Tinkerbell) there and `clusterctl move` the lab's objects into it; false again moves them back.",
        default: false,
    },
    clusterApiInstaller: {
        type: "string",
        description:
            "How Cluster API and CAPT are installed: clusterctl (clusterctl init) or operator (Cluster API Operator chart).",
        default: "clusterctl",
    },
    clusterApiOperatorVersion: {
        type: "string",
        description: "Cluster API Operator Helm chart version when clusterApiInstaller is operator.",
        default: "0.28.0",
    },
    machineArch: {
        type: "string",
        description:
            "Machine architecture: x86_64 or aarch64 (arm64 VMs run emulated on an x86_64 host; needs qemu-system-aarch64 and AAVMF firmware).",
        default: "x86_64",
    },
    preflight: {
        type: "boolean",
        description: "Check the host (docker, kind, clusterctl, libvirt, firmware, KVM, network) before up.",
        default: true,
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as ConfigKey[];
