/**
 * The one declarative schema of the stack config: every key with its zod schema (type, format,
 * range, allowed values), description and default. parseLabConfig validates each key with it,
 * LabConfig's types are inferred from it, and scripts/config-reference.ts generates Pulumi.yaml's
 * config declarations and the README's config reference from it (z.toJSONSchema), so a key is added
 * here and nowhere else. The rules that span keys (overlapping CIDRs, VIPs, capacity, modes) sit in
 * one place in config.ts.
 *
 * Every check of a key gives one message in the form the problems are reported in ("expected ...",
 * "allowed values: ..."); config.ts prefixes it with the value given ("got ...; ") or "is required; ".
 *
 * Defaults live here too because the program must run without the Pulumi CLI (under test mocks,
 * and in `npm run render`), where nobody applies `Pulumi.yaml`'s defaults for us.
 */
import { z } from "zod";
import { LAB_SERVICES_SLOTS } from "./address-layout";
import {
    CHART_REFERENCE_ALLOWED,
    FORBIDDEN_OBJECT_KEYS,
    LIBVIRT_URI_ALLOWED,
    OUTPUT_DIR_ALLOWED,
    STORAGE_DIR_ALLOWED,
    BUNDLE_DIR_ALLOWED,
    VERSION_RANGES,
    VersionRange,
    hasControlCharacters,
    isAllowedLibvirtUri,
    isAllowedOutputDir,
    isAllowedStorageDir,
    isAllowedBundleDir,
    isChartReference,
    isForbiddenObjectKey,
    isIPv4,
    isIPv4Cidr,
    isInRange,
    isManifestUrl,
    isRegistryHost,
    isPlainRelease,
    isRelease,
    ipv4ToNumber,
    rangeText,
} from "./config-formats";
import { MACHINES_SCHEMA } from "./config-machines";

export const MAX_MACHINES = 1000;
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const CHART_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const NAME_PREFIX = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
// A container image reference: registry/path[:tag][@digest], lowercase repository.
const IMAGE_REF =
    /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const IMAGE_REPO = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const SSH_PUBLIC_KEY =
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [\x20-\x7e]*)?$/;
const BMC_USERNAME = /^[A-Za-z0-9._-]{1,16}$/;
// IPMI 2.0 passwords hold at most 20 bytes; printable ASCII without spaces travels safely
// through IPMI, htpasswd and the Secret object.
const BMC_PASSWORD = /^[\x21-\x7e]{8,20}$/;
const HELM_VALUE_PATH = /^[A-Za-z0-9_-]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*$/;
const KUBE_OS_VERSION = /^\d{2,4}$/;

/** A format: a pattern (also shown in the JSON schema), or a test for what a pattern cannot say. */
export type Format = RegExp | ((value: string) => boolean);

export function matches(format: Format, value: string): boolean {
    return typeof format === "function" ? format(value) : format.test(value);
}

/** A string in `format`; `allowed` says what that is. */
/**
 * The longest text a key takes unless it says otherwise: far more than any image reference, URL or
 * path, far less than what would make a value a way to exhaust memory or flood a terminal.
 */
export const MAX_TEXT = 4096;
/** An OpenSSH public key line: a 16384-bit RSA key is about 2.8 KB, with room for a comment. */
export const MAX_SSH_KEY_TEXT = 16384;
/** A kubeconfig with embedded certificates is a few KB; one with many contexts stays far below this. */
export const MAX_KUBECONFIG_TEXT = 1024 * 1024;
/** machineBmcPasswords: a JSON object of up to 1000 machines' passwords. */
export const MAX_MACHINE_PASSWORDS_TEXT = 256 * 1024;
/** tinkerbellExtraValues: items, and the length of each (a value may be a PEM certificate). */
export const MAX_EXTRA_VALUES = 256;
export const MAX_EXTRA_VALUE_TEXT = 16384;
/** Helm's own limits on a --set path (helm.sh/helm/v3 pkg/strvals: MaxIndex, MaxNestedNameLevel). */
export const MAX_HELM_INDEX = 65536;
export const MAX_HELM_PATH_SEGMENTS = 30;

/** At most `maxLength` characters, checked first: a longer text is never matched against `format`. */
function bounded(maxLength: number, error: string) {
    return z.string({ error }).max(maxLength, { error: `expected at most ${maxLength} characters`, abort: true });
}

function text(format: Format, allowed: string, maxLength = MAX_TEXT) {
    const error = `expected ${allowed}`;
    const base = bounded(maxLength, error);
    return format instanceof RegExp ? base.regex(format, { error }) : base.refine(format, { error });
}

/** Empty (= unset, the key's default applies) or a string in `format`. */
function optionalText(format: Format, allowed: string, maxLength = MAX_TEXT) {
    return text((value) => value === "" || matches(format, value), allowed, maxLength);
}

/** A kubeconfig's YAML text; checked apart (it is secret: never shown, never echoed). */
function kubeconfigText() {
    return bounded(MAX_KUBECONFIG_TEXT, "expected a kubeconfig (YAML text)");
}

/** An integer, also as the decimal string `pulumi config set` stores. */
function integer(min: number, max: number) {
    const error = `expected an integer from ${min} to ${max}`;
    return z.preprocess(
        (value) => (typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value),
        z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
    );
}

/** true or false, also as the strings `pulumi config set` stores. */
function flag() {
    return z.preprocess(
        (value) => (value === "true" ? true : value === "false" ? false : value),
        z.boolean({ error: "expected true or false" }),
    );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
    return z.enum(values, { error: `allowed values: ${values.join(", ")}` });
}

/**
 * A release inside the range the lab supports (see VERSION_RANGES for how it is decided): vX.Y.Z,
 * or X.Y.Z for a range spelled without the v (chart and kernel versions).
 */
function version(example: string, range: VersionRange) {
    return text(range.from.startsWith("v") ? isRelease : isPlainRelease, example).refine(
        (value) => isInRange(value, range),
        { error: `expected ${rangeText(range)}` },
    );
}

/** A list of strings (a YAML list, or the JSON text `--set` and `pulumi config set` give); items checked by `item`. */
function stringList(item: z.ZodType<string> = bounded(MAX_TEXT, "expected a list of strings"), maxItems = 1000) {
    return z.preprocess(
        (value) => {
            if (typeof value !== "string") return value;
            try {
                return JSON.parse(value);
            } catch {
                return value;
            }
        },
        z
            .array(item, {
                error: (issue) =>
                    typeof issue.input === "string" ? 'expected a list, e.g. ["a", "b"]' : "expected a list of strings",
            })
            .max(maxItems, { error: `expected at most ${maxItems} items`, abort: true }),
    );
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

function inCidr(address: string, cidr: string): boolean {
    const [network, prefix] = cidr.split("/");
    const size = 2 ** (32 - Number(prefix));
    const start = ipv4ToNumber(network);
    const value = ipv4ToNumber(address);
    return value >= start && value < start + size;
}

/** A private IPv4 CIDR with its network address and a prefix length from minPrefix to maxPrefix. */
function cidr(minPrefix: number, maxPrefix: number) {
    return z.string({ error: "expected an IPv4 CIDR such as 10.71.0.0/16" }).superRefine((value, ctx) => {
        const fail = (message: string) => ctx.addIssue({ code: "custom", message });
        if (!isIPv4Cidr(value)) return fail("expected an IPv4 CIDR such as 10.71.0.0/16");
        const [address, prefixText] = value.split("/");
        const prefix = Number(prefixText);
        const size = 2 ** (32 - prefix);
        const network = ipv4ToNumber(address) - (ipv4ToNumber(address) % size);
        if (network !== ipv4ToNumber(address)) {
            const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
            return fail(`host bits are set; the network is ${dotted}/${prefix}`);
        }
        if (prefix < minPrefix || prefix > maxPrefix) {
            return fail(`expected a prefix length from /${minPrefix} to /${maxPrefix}`);
        }
        if (!PRIVATE_RANGES.some((block) => inCidr(address, block) && prefix >= Number(block.split("/")[1]))) {
            return fail("expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16");
        }
    });
}

/** Address blocks no name server handed to a machine can be in, and why. */
const NOT_NAME_SERVERS: readonly [string, string][] = [
    ["0.0.0.0/8", '"this network" (0.0.0.0/8)'],
    ["127.0.0.0/8", "loopback (127.0.0.0/8): on the machine it is the machine itself"],
    ["224.0.0.0/4", "multicast (224.0.0.0/4)"],
    ["240.0.0.0/4", "reserved or broadcast (240.0.0.0/4, 255.255.255.255)"],
];

const NAME_SERVERS_ALLOWED =
    "1 to 3 distinct IPv4 unicast addresses (not loopback, multicast, 0.0.0.0/8 or 240.0.0.0/4)";

/** The first problem of a nameServers list, on the item it is about. */
function nameServersProblem(list: string[]): { message: string; path: number[] } | undefined {
    if (list.length < 1 || list.length > 3) return { message: `expected ${NAME_SERVERS_ALLOWED}`, path: [] };
    for (const [index, server] of list.entries()) {
        if (!isIPv4(server)) return { message: `expected ${NAME_SERVERS_ALLOWED}`, path: [index] };
        const block = NOT_NAME_SERVERS.find(([cidr]) => inCidr(server, cidr));
        if (block) return { message: `is ${block[1]}; expected ${NAME_SERVERS_ALLOWED}`, path: [index] };
        if (list.indexOf(server) !== index) {
            return { message: `is listed twice; expected ${NAME_SERVERS_ALLOWED}`, path: [index] };
        }
    }
    return undefined;
}

/**
 * One tinkerbellExtraValues item: path=value like helm --set; no prototype keys, no control
 * characters, and within helm's own limits (list indices, nesting) and MAX_EXTRA_VALUE_TEXT.
 */
const helmAssignment = bounded(
    MAX_EXTRA_VALUE_TEXT,
    "expected items like deployment.envs.ui.enableAutoLogin=true (no control characters)",
).superRefine((item, ctx) => {
    const eq = item.indexOf("=");
    const valuePath = eq <= 0 ? "" : item.slice(0, eq);
    const segments = valuePath.split(".");
    const indices = [...valuePath.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
    if (!HELM_VALUE_PATH.test(valuePath) || hasControlCharacters(item)) {
        ctx.addIssue({
            code: "custom",
            message: "expected items like deployment.envs.ui.enableAutoLogin=true (no control characters)",
        });
    } else if (segments.some((segment) => isForbiddenObjectKey(segment.replace(/\[\d+\]$/, "")))) {
        ctx.addIssue({
            code: "custom",
            message: `expected a value path without ${FORBIDDEN_OBJECT_KEYS.join(", ")} (they are no chart values)`,
        });
    } else if (indices.some((index) => index > MAX_HELM_INDEX) || segments.length > MAX_HELM_PATH_SEGMENTS) {
        ctx.addIssue({
            code: "custom",
            message: `expected list indices up to ${MAX_HELM_INDEX} and at most ${MAX_HELM_PATH_SEGMENTS} path segments (helm's own limits)`,
        });
    }
});

export interface ConfigKeySpec {
    readonly schema: z.ZodType;
    readonly description: string;
    readonly default: string | number | boolean | readonly string[] | readonly never[];
    readonly secret?: boolean;
    /** README text for a default that is computed when the key is empty (random password, generated key). */
    readonly defaultText?: string;
}

export const PROJECT_NAME = "capt-playground";

export const CONFIG_SCHEMA = {
    hardwareCount: {
        schema: integer(1, MAX_MACHINES),
        description:
            "Total machines: libvirt VMs, each with a Hardware object and a BMC (with machines: the list's length).",
        default: 3,
    },
    controlPlanes: {
        schema: integer(1, MAX_MACHINES),
        description: "Control-plane machines of the workload cluster (the first machines).",
        default: 1,
    },
    workers: {
        schema: integer(0, MAX_MACHINES),
        description: "Worker machines; machines beyond controlPlanes + workers are spares.",
        default: 1,
    },
    kubernetesVersion: {
        schema: version("a version like v1.35.2", VERSION_RANGES.kubernetesVersion),
        description:
            "Workload cluster Kubernetes version, vX.Y.Z from v1.28.0 up to (not including) v1.37.0 (an OS image must exist for it).",
        default: "v1.35.2",
    },
    tinkerbellVersion: {
        schema: text(CHART_VERSION, "a chart version like v0.23.1-23da0880"),
        description: "Tinkerbell Helm chart version.",
        default: "v0.23.1-23da0880",
    },
    captVersion: {
        schema: version("a release like v0.7.0", VERSION_RANGES.captVersion),
        description: "Cluster API Provider Tinkerbell (CAPT) release, vX.Y.Z from v0.6.0 up to (not including) v0.9.0.",
        default: "v0.7.0",
    },
    clusterctlVersion: {
        schema: version("a version like v1.12.5", VERSION_RANGES.clusterctlVersion),
        description:
            "Cluster API version both installers install (core, kubeadm bootstrap and control-plane providers), and the minimum clusterctl version the preflight accepts, vX.Y.Z from v1.10.0 up to (not including) v1.14.0.",
        default: "v1.12.5",
    },
    kindNodeImage: {
        schema: text(IMAGE_REF, "an image reference like kindest/node:v1.35.0"),
        description: "KinD node image of the management cluster (Kubernetes >= 1.35 for image volumes).",
        default: "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
    },
    kubeVipVersion: {
        schema: version("a version like v1.1.2", VERSION_RANGES.kubeVipVersion),
        description:
            "kube-vip version for the workload control-plane VIP, vX.Y.Z from v0.7.0 up to (not including) v1.3.0.",
        default: "v1.1.2",
    },
    bootMode: {
        schema: oneOf(["netboot", "isoboot"]),
        description: "How Tinkerbell boots the machines: netboot (PXE/iPXE) or isoboot (virtual media).",
        default: "netboot",
    },
    networkSubnet: {
        schema: cidr(8, 26),
        description: "IPv4 CIDR (private) of the lab's docker network; machines, VIPs and the BMC live in it.",
        default: "10.71.0.0/16",
    },
    podCidr: {
        schema: cidr(8, 24),
        description: "Pod CIDR (private) of the workload cluster.",
        default: "10.72.0.0/16",
    },
    serviceCidr: {
        schema: cidr(12, 28),
        description: "Service CIDR (private) of the workload cluster.",
        default: "10.73.0.0/16",
    },
    kindPodCidr: {
        schema: cidr(8, 24),
        description: "Pod CIDR (private) of the KinD management cluster; Tinkerbell trusts it as proxies.",
        default: "10.74.0.0/16",
    },
    kindServiceCidr: {
        schema: cidr(12, 28),
        description: "Service CIDR (private) of the KinD management cluster.",
        default: "10.75.0.0/16",
    },
    nameServers: {
        schema: stringList().superRefine((list, ctx) => {
            const problem = nameServersProblem(list);
            if (problem) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
        }),
        description:
            "DNS servers handed to the machines by DHCP: 1 to 3 distinct IPv4 unicast addresses (not loopback, multicast, 0.0.0.0/8 or 240.0.0.0/4).",
        default: ["8.8.8.8", "1.1.1.1"],
    },
    vmCpus: {
        schema: integer(2, 64),
        description: "vCPUs per machine.",
        default: 2,
    },
    vmMemoryMiB: {
        schema: integer(2048, 1048576),
        description: "Memory per machine in MiB.",
        default: 2048,
    },
    vmDiskGiB: {
        schema: integer(10, 4096),
        description: "Disk size per machine in GiB (qcow2, allocated as written).",
        default: 20,
    },
    vmDiskCache: {
        schema: oneOf(["unsafe", "none", "writeback", "writethrough", "directsync"]),
        description:
            "QEMU disk cache mode: unsafe (fastest, loses data on host crash), none, writeback, writethrough, directsync.",
        default: "unsafe",
    },
    vmGraphics: {
        schema: oneOf(["vnc", "none"]),
        description: "Machine display: vnc (listening on 127.0.0.1 only) or none.",
        default: "vnc",
    },
    domainType: {
        schema: oneOf(["auto", "kvm", "qemu"]),
        description:
            "libvirt domain type: auto (kvm when /dev/kvm is usable, else qemu; decided once when a domain is created and kept), kvm or qemu.",
        default: "auto",
    },
    libvirtUri: {
        schema: text(isAllowedLibvirtUri, LIBVIRT_URI_ALLOWED),
        description:
            "libvirt connection URI: qemu:///system, or qemu+ssh://[user@]host[:port]/system (also qemu+libssh, qemu+libssh2, qemu+tls; query parameters keyfile, known_hosts, no_verify, no_tty, sshauth only). ext, tcp, command=, socket= and netcat= are refused: they make libvirt run a program or open a path.",
        default: "qemu:///system",
    },
    storageDir: {
        schema: text(isAllowedStorageDir, STORAGE_DIR_ALLOWED),
        description:
            "Directory of the stack's libvirt pool (disks) and console logs; empty = /var/lib/libvirt/images/<lab name>. Else an absolute folder below /var/lib/libvirt/images, /home/<user>, /root, /tmp, /var/tmp, /srv, /opt, /mnt, /media or /data (letters, digits, . _ / + @ ~ -).",
        default: "",
    },
    outputDir: {
        schema: text(isAllowedOutputDir, OUTPUT_DIR_ALLOWED),
        description:
            "Directory for kubeconfigs, clusterctl state and rendered files; empty = .lab/<stack> in the project. Else a folder inside the project (relative, no ..) or an absolute folder below /home/<user>, /root, /tmp, /var/tmp, /srv, /opt, /mnt, /media or /data. Judged by its real path (a symbolic link on the way is resolved first), and never written or deleted through a link. Destroy removes only the files the stack recorded writing there.",
        default: "",
    },
    namespace: {
        schema: text(DNS_LABEL, "a Kubernetes namespace name (lowercase letters, digits, '-', at most 63)").refine(
            (value) => value.length <= 63,
            { error: "expected at most 63 characters" },
        ),
        description: "Namespace of the Tinkerbell release, Hardware, BMC and Cluster API objects.",
        default: "tinkerbell",
    },
    nodeNamePrefix: {
        schema: text(NAME_PREFIX, "lowercase letters, digits and '-', starting with a letter"),
        description: "Machine name prefix; machines are named <lab name>-<prefix><n>, e.g. capt-dev-node1.",
        default: "node",
    },
    osImageRegistry: {
        schema: text(IMAGE_REPO, "an image repository without tag, like ghcr.io/org/ubuntu"),
        description: "OS image repository; tags are <osVersion>-<kubernetesVersion>-amd64.gz.",
        default: "ghcr.io/tinkerbell/cluster-api-provider-tinkerbell/ubuntu",
    },
    osVersion: {
        schema: text(KUBE_OS_VERSION, "an Ubuntu version without dots, like 2404"),
        description: "Ubuntu version part of the OS image tag, e.g. 2404.",
        default: "2404",
    },
    tinkerbellChart: {
        schema: text(isChartReference, CHART_REFERENCE_ALLOWED),
        description: "Tinkerbell Helm chart reference (OCI URL or local chart directory).",
        default: "oci://ghcr.io/tinkerbell/charts/tinkerbell",
    },
    captainosImage: {
        schema: text(IMAGE_REF, "an image reference"),
        description: "CaptainOS artifacts image served by the chart's OSIE file server.",
        default: "ghcr.io/tinkerbell/captain/artifacts:v0.0.0-a4be23c",
    },
    captainosKernelVersion: {
        schema: version("a kernel version like 6.18.16", VERSION_RANGES.captainosKernelVersion),
        description:
            "Kernel version in the CaptainOS artifact names (vmlinuz-<v>-<arch>), X.Y.Z from 6.18.0 up to (not including) 6.20.0; it must match captainosImage.",
        default: "6.18.16",
    },
    tinkerbellExtraValues: {
        schema: stringList(helmAssignment, MAX_EXTRA_VALUES),
        description:
            "Extra Tinkerbell chart values as path=value strings (like helm --set), applied last; at most 256 items of 16384 characters, list indices up to 65536 and 30 path segments (helm's own limits).",
        default: [],
    },
    vbmcImage: {
        schema: text(IMAGE_REF, "an image reference"),
        description:
            "Virtual BMC image providing IPMI (vbmc) and Redfish (sushy-tools); the default is the image built from the project's newest commit, by its immutable commit tag.",
        default: "ghcr.io/jacobweinstock/virtualbmc:sha-9e669b4",
    },
    cni: {
        schema: oneOf(["cilium", "kube-router", "none"]),
        description: "CNI installed into the workload cluster: cilium (Helm), kube-router or none.",
        default: "cilium",
    },
    ciliumVersion: {
        schema: version("a chart version like 1.17.3", VERSION_RANGES.ciliumVersion),
        description: "Cilium Helm chart version when cni is cilium, X.Y.Z from 1.15.0 up to (not including) 1.19.0.",
        default: "1.17.3",
    },
    kubeRouterManifest: {
        schema: text(isManifestUrl, "an https:// URL of a YAML manifest (host, path; no user, query or ..)"),
        description:
            "kube-router manifest URL when cni is kube-router; the default is pinned to a release tag so every up applies the same manifest.",
        default:
            "https://raw.githubusercontent.com/cloudnativelabs/kube-router/v2.11.1/daemonset/kubeadm-kuberouter.yaml",
    },
    waitForWorkload: {
        schema: flag(),
        description:
            "Wait for the workload cluster (kubeconfig, CNI); false stops once the lab infrastructure and Cluster API objects are applied.",
        default: true,
    },
    workloadTimeoutMinutes: {
        schema: integer(5, 600),
        description:
            "How long up waits for the workload cluster's API server to answer (and for its CNI) before failing.",
        default: 45,
    },
    sshPublicKey: {
        schema: optionalText(
            SSH_PUBLIC_KEY,
            "one OpenSSH public key line (ssh-ed25519 AAAA... comment)",
            MAX_SSH_KEY_TEXT,
        ),
        description: "SSH public key for user tink on the machines; empty = a key generated for the stack.",
        default: "",
        defaultText: "generated",
    },
    bmcUsername: {
        schema: text(BMC_USERNAME, "1 to 16 letters, digits, '.', '_' or '-' (IPMI limit)"),
        description: "BMC (IPMI and Redfish) user name.",
        default: "admin",
    },
    bmcPassword: {
        schema: optionalText(BMC_PASSWORD, "8 to 20 printable ASCII characters without spaces (IPMI limit)"),
        description:
            "BMC password, set only with `pulumi config set --secret`; empty = a random password kept secret in state.",
        // Not declared `secret` in Pulumi.yaml: the CLI rejects a secret key with a default, and an
        // optional key needs one. The program refuses a plaintext value instead.
        secret: true,
        default: "",
        defaultText: "random",
    },
    managementKubeconfig: {
        schema: kubeconfigText(),
        description:
            "Kubeconfig of an existing management cluster, set with `pulumi config set --secret`; empty = the lab creates a KinD cluster on its own docker network.",
        secret: true,
        default: "",
        defaultText: "create KinD",
    },
    externalTinkerbell: {
        schema: flag(),
        description:
            "Tinkerbell runs in another cluster (tinkerbellKubeconfig): Hardware and BMC objects go there and CAPT uses it; no Tinkerbell chart is installed.",
        default: false,
    },
    tinkerbellKubeconfig: {
        schema: kubeconfigText(),
        description:
            "Kubeconfig of the external Tinkerbell cluster when externalTinkerbell is true, set with `pulumi config set --secret`.",
        secret: true,
        default: "",
    },
    tinkerbellVip: {
        schema: optionalText(isIPv4, "an IPv4 address inside networkSubnet"),
        description:
            "Tinkerbell's load-balancer IP; empty = the planned address (networkSubnet + 17). Required with externalTinkerbell (that Tinkerbell's VIP).",
        default: "",
    },
    artifactsVip: {
        schema: optionalText(isIPv4, "an IPv4 address inside networkSubnet"),
        description:
            "IP of Tinkerbell's artifacts (OSIE) file server; empty = the planned address (networkSubnet + 18).",
        default: "",
    },
    controlPlaneVip: {
        schema: optionalText(isIPv4, "an IPv4 address inside networkSubnet"),
        description:
            "The workload cluster's API server VIP (kube-vip); empty = the planned address (networkSubnet + 19).",
        default: "",
    },
    networkGateway: {
        schema: optionalText(isIPv4, "an IPv4 address inside networkSubnet"),
        description:
            "Gateway of the machines' network handed out by DHCP; empty = the first address of networkSubnet (the lab network's gateway).",
        default: "",
    },
    machines: {
        schema: MACHINES_SCHEMA,
        description:
            "Real machines instead of VMs: a list of {name, mac, ip?, role?, disk?, bmc: {address, port?, protocol: ipmi|redfish, insecureTLS?, systemName?, username?}}; empty = libvirt VMs. Credentials: bmc.username (else bmcUsername) and machineBmcPasswords (else bmcPassword).",
        default: [],
    },
    machineBmcPasswords: {
        schema: bounded(MAX_MACHINE_PASSWORDS_TEXT, "expected a JSON object from machine names to passwords"),
        description:
            'Per-machine BMC passwords of real machines: a JSON object from machine name to password, e.g. {"rack1-a": "..."}, set only with `pulumi config set --secret`; machines without an entry use bmcPassword.',
        // Optional like bmcPassword, so not declared `secret` in Pulumi.yaml; plaintext is refused.
        secret: true,
        default: "",
    },
    registryMirror: {
        schema: flag(),
        description:
            "Run a pull-through registry cache per upstream on the lab network and point KinD, the machines and the lab's image references at it.",
        default: false,
    },
    registryMirrorKeepCache: {
        schema: flag(),
        description: "Keep the registry mirror's cache volumes on destroy (reused by the next up).",
        default: false,
    },
    registryMirrorHost: {
        schema: optionalText(isRegistryHost, "a registry host such as mirror.example.com[:port]"),
        description:
            "An HTTPS registry mirror you run (publicly trusted certificate), used instead of the lab's own caches: the chart, OS image, CaptainOS and virtual BMC references are rewritten to it as the Tinkerbell playground's mirror mode does; empty = the lab's caches.",
        default: "",
    },
    registryMirrorImage: {
        schema: text(IMAGE_REF, "an image reference"),
        description: "Image of the registry mirror (CNCF distribution in proxy mode).",
        default: "docker.io/library/registry:3.0.0",
    },
    registryMirrorUpstreams: {
        schema: stringList().refine(
            (list) =>
                list.length >= 1 &&
                list.length <= LAB_SERVICES_SLOTS &&
                list.every(isRegistryHost) &&
                new Set(list).size === list.length,
            {
                error: `expected 1 to ${LAB_SERVICES_SLOTS} distinct registry hosts such as ghcr.io or registry.example.com:5000`,
            },
        ),
        description: "Registries the mirror caches, one cache container each (at most 12).",
        default: ["ghcr.io", "quay.io", "registry.k8s.io", "docker.io"],
    },
    pivot: {
        schema: flag(),
        description:
            "Once the workload cluster is ready, install Cluster API (and Tinkerbell) there and `clusterctl move` the lab's objects into it; false again moves them back.",
        default: false,
    },
    clusterApiInstaller: {
        schema: oneOf(["clusterctl", "operator"]),
        description:
            "How Cluster API and CAPT are installed: clusterctl (clusterctl init) or operator (Cluster API Operator chart).",
        default: "clusterctl",
    },
    clusterApiOperatorVersion: {
        schema: version("a chart version like 0.28.0", VERSION_RANGES.clusterApiOperatorVersion),
        description:
            "Cluster API Operator Helm chart version when clusterApiInstaller is operator, X.Y.Z from 0.25.0 up to (not including) 0.30.0.",
        default: "0.28.0",
    },
    machineArch: {
        schema: oneOf(["x86_64", "aarch64"]),
        description:
            "Machine architecture: x86_64 or aarch64 (arm64 VMs run emulated on an x86_64 host; needs qemu-system-aarch64 and AAVMF firmware).",
        default: "x86_64",
    },
    offlineBundle: {
        schema: text(isAllowedBundleDir, BUNDLE_DIR_ALLOWED),
        description:
            "Folder of an offline bundle (`npm run bundle -- --stack <stack> --out <folder>`): the lab then loads every image, the Tinkerbell chart and clusterctl's providers from it and reaches nothing outside the host for its management plane; empty = pull from the internet. An absolute folder below /home/<user>, /root, /tmp, /var/tmp, /srv, /opt, /mnt, /media or /data (letters, digits, . _ / + @ ~ -).",
        default: "",
    },
    preflight: {
        schema: flag(),
        description: "Check the host (docker, kind, clusterctl, libvirt, firmware, KVM, network) before up.",
        default: true,
    },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as ConfigKey[];

/** Each key's value as its schema gives it (after coercing the strings `pulumi config set` stores). */
export type ConfigValues = { [K in ConfigKey]: z.output<(typeof CONFIG_SCHEMA)[K]["schema"]> };

/**
 * How Pulumi.yaml declares a key, read off its JSON schema: string, integer, boolean, array (of
 * strings) or objects (a list of objects, which a project's config cannot type; declared untyped).
 */
export type PulumiConfigType = "string" | "integer" | "boolean" | "array" | "objects";

export function jsonSchemaOf(key: ConfigKey): Record<string, unknown> {
    return z.toJSONSchema(CONFIG_SCHEMA[key].schema, { io: "output", unrepresentable: "any" }) as Record<
        string,
        unknown
    >;
}

export function pulumiType(key: ConfigKey): PulumiConfigType {
    const schema = jsonSchemaOf(key);
    if (schema.type === "array") {
        return (schema.items as { type?: unknown } | undefined)?.type === "string" ? "array" : "objects";
    }
    if (schema.type === "integer" || schema.type === "boolean" || schema.type === "string") {
        return schema.type;
    }
    throw new Error(`config key ${key}: no Pulumi type for JSON schema type ${String(schema.type)}`);
}
