/**
 * Stack config -> typed LabConfig. Pure: no Pulumi resources, no host access.
 *
 * Every problem becomes one line naming the key, the value given and what is allowed, and all
 * problems are reported together, so a user fixes a stack file in one pass.
 */
import { Address4 } from "ip-address";
import { machineCapacity } from "./address-layout";
import { CONFIG_SCHEMA, ConfigKey, PROJECT_NAME } from "./config-schema";
import { labName, machineName } from "./naming";

export type BootMode = "netboot" | "isoboot";
export type DiskCache = "unsafe" | "none" | "writeback" | "writethrough" | "directsync";
export type Graphics = "vnc" | "none";
export type DomainTypeChoice = "auto" | "kvm" | "qemu";
export type Cni = "cilium" | "kube-router" | "none";

export interface LabConfig {
    hardwareCount: number;
    controlPlanes: number;
    workers: number;
    /** Derived: hardwareCount - controlPlanes - workers. */
    spares: number;
    kubernetesVersion: string;
    tinkerbellVersion: string;
    captVersion: string;
    clusterctlVersion: string;
    kindNodeImage: string;
    kubeVipVersion: string;
    bootMode: BootMode;
    networkSubnet: string;
    podCidr: string;
    serviceCidr: string;
    kindPodCidr: string;
    kindServiceCidr: string;
    nameServers: string[];
    vmCpus: number;
    vmMemoryMiB: number;
    vmDiskGiB: number;
    vmDiskCache: DiskCache;
    vmGraphics: Graphics;
    domainType: DomainTypeChoice;
    libvirtUri: string;
    storageDir: string;
    outputDir: string;
    namespace: string;
    nodeNamePrefix: string;
    osImageRegistry: string;
    osVersion: string;
    tinkerbellChart: string;
    captainosImage: string;
    captainosKernelVersion: string;
    tinkerbellExtraValues: string[];
    vbmcImage: string;
    cni: Cni;
    ciliumVersion: string;
    kubeRouterManifest: string;
    waitForWorkload: boolean;
    workloadTimeoutMinutes: number;
    sshPublicKey?: string;
    bmcUsername: string;
    /** Plain text only inside this object; index.ts wraps it with pulumi.secret at once. */
    bmcPassword?: string;
    preflight: boolean;
}

export interface ConfigProblem {
    key: string;
    message: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(`invalid stack config:\n${problems.map((p) => `  ${PROJECT_NAME}:${p.key}: ${p.message}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** A value from a stack file: plain scalars and arrays, or a still-encrypted `{secure: ...}`. */
export type RawConfig = Record<string, unknown>;

export interface ConfigContext {
    /** The Pulumi stack name; machine names are scoped by it. */
    stack: string;
    /** Whether Pulumi holds this key's value encrypted (`pulumi config set --secret`). */
    isSecret?: (key: string) => boolean;
}

const SEMVER = /^v\d+\.\d+\.\d+$/;
const CHART_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const PLAIN_VERSION = /^\d+\.\d+\.\d+$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const NAME_PREFIX = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
// A container image reference: registry/path[:tag][@digest], lowercase repository.
const IMAGE_REF =
    /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const IMAGE_REPO = /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const LIBVIRT_URI = /^(qemu(\+(ssh|libssh|libssh2|tcp|tls|unix|ext))?|test):\/\/[^\s]*\/[^\s]*$/;
const SSH_PUBLIC_KEY =
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;
const BMC_USERNAME = /^[A-Za-z0-9._-]{1,16}$/;
// IPMI 2.0 passwords hold at most 20 bytes; printable ASCII without spaces travels safely
// through IPMI, htpasswd and the Secret object.
const BMC_PASSWORD = /^[\x21-\x7e]{8,20}$/;
const HELM_VALUE_PATH = /^[A-Za-z0-9_-]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*$/;
const KUBE_OS_VERSION = /^\d{2,4}$/;
const MAX_MACHINES = 1000;

const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => new Address4(c));

/** How a value is shown in an error: secrets never, long values shortened. */
function show(key: string, value: unknown): string {
    if ((CONFIG_SCHEMA as Record<string, { secret?: boolean }>)[key]?.secret) {
        return "[secret]";
    }
    const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

class Collector {
    readonly problems: ConfigProblem[] = [];
    constructor(private readonly raw: RawConfig) {}

    fail(key: string, expected: string, value: unknown = this.raw[key]): undefined {
        this.problems.push({ key, message: `got ${show(key, value)}; ${expected}` });
        return undefined;
    }

    failRule(key: string, message: string): void {
        this.problems.push({ key, message });
    }

    /** The value the user set, or the schema default. */
    valueOf(key: ConfigKey): unknown {
        const given = this.raw[key];
        if (given === undefined || given === null) {
            return (CONFIG_SCHEMA[key] as { default?: unknown }).default;
        }
        return given;
    }

    string(key: ConfigKey, pattern: RegExp, allowed: string): string | undefined {
        const value = this.valueOf(key);
        if (typeof value !== "string" || !pattern.test(value)) {
            return this.fail(key, `expected ${allowed}`, value);
        }
        return value;
    }

    optionalString(key: ConfigKey, pattern: RegExp, allowed: string): string | undefined {
        const value = this.raw[key];
        if (value === undefined || value === null || value === "") {
            return undefined;
        }
        if (typeof value !== "string" || !pattern.test(value)) {
            return this.fail(key, `expected ${allowed}`, value);
        }
        return value;
    }

    oneOf<T extends string>(key: ConfigKey, allowed: readonly T[]): T | undefined {
        const value = this.valueOf(key);
        if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
            return this.fail(key, `allowed values: ${allowed.join(", ")}`, value);
        }
        return value as T;
    }

    integer(key: ConfigKey, min: number, max: number): number | undefined {
        const value = this.valueOf(key);
        const n =
            typeof value === "number"
                ? value
                : typeof value === "string" && /^-?\d+$/.test(value.trim())
                  ? Number(value.trim())
                  : NaN;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
            return this.fail(key, `expected an integer from ${min} to ${max}`, value);
        }
        return n;
    }

    boolean(key: ConfigKey): boolean | undefined {
        const value = this.valueOf(key);
        if (typeof value === "boolean") {
            return value;
        }
        if (value === "true" || value === "false") {
            return value === "true";
        }
        return this.fail(key, "expected true or false", value);
    }

    stringArray(key: ConfigKey): string[] | undefined {
        let value = this.valueOf(key);
        if (typeof value === "string") {
            try {
                value = JSON.parse(value);
            } catch {
                return this.fail(key, 'expected a list, e.g. ["a", "b"]', value);
            }
        }
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
            return this.fail(key, "expected a list of strings", value);
        }
        return value as string[];
    }

    path(key: ConfigKey, mustBeAbsolute: boolean): string | undefined {
        const value = this.valueOf(key);
        if (typeof value !== "string" || /[\0\n]/.test(value)) {
            return this.fail(key, "expected a directory path", value);
        }
        if (mustBeAbsolute && value !== "" && !value.startsWith("/")) {
            return this.fail(key, "expected an absolute directory path or empty for the default", value);
        }
        return value;
    }

    cidr(key: ConfigKey, minPrefix: number, maxPrefix: number): Address4 | undefined {
        const value = this.valueOf(key);
        if (typeof value !== "string" || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value) || !Address4.isValid(value)) {
            return this.fail(key, "expected an IPv4 CIDR such as 10.71.0.0/16", value);
        }
        const cidr = new Address4(value);
        const network = cidr.startAddress().correctForm();
        if (network !== cidr.addressMinusSuffix) {
            return this.fail(key, `host bits are set; the network is ${network}/${cidr.subnetMask}`, value);
        }
        if (cidr.subnetMask < minPrefix || cidr.subnetMask > maxPrefix) {
            return this.fail(key, `expected a prefix length from /${minPrefix} to /${maxPrefix}`, value);
        }
        if (!RFC1918.some((block) => cidr.isInSubnet(block))) {
            return this.fail(key, "expected a private range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", value);
        }
        return cidr;
    }
}

function overlaps(a: Address4, b: Address4): boolean {
    return a.isInSubnet(b) || b.isInSubnet(a);
}

const CIDR_KEYS = ["networkSubnet", "podCidr", "serviceCidr", "kindPodCidr", "kindServiceCidr"] as const;

/** Suggest the closest known key for a typo (edit distance <= 2). */
function closestKey(unknown: string): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let previous = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const current = row[j];
                row[j] = Math.min(
                    row[j] + 1,
                    row[j - 1] + 1,
                    previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
                );
                previous = current;
            }
        }
        return row[b.length];
    };
    let best: string | undefined;
    let bestDistance = 3;
    for (const key of Object.keys(CONFIG_SCHEMA)) {
        const d = distance(unknown, key);
        if (d < bestDistance) {
            best = key;
            bestDistance = d;
        }
    }
    return best;
}

function rejectUnknownKeys(raw: RawConfig, c: Collector): void {
    for (const key of Object.keys(raw)) {
        if (!(key in CONFIG_SCHEMA)) {
            const hint = closestKey(key);
            c.failRule(
                key,
                `unknown key${hint ? `; did you mean ${hint}?` : ""} (see the config reference in README.md)`,
            );
        }
    }
}

function rejectEncryptedValues(raw: RawConfig, c: Collector): void {
    for (const [key, value] of Object.entries(raw)) {
        const isEncrypted = typeof value === "object" && value !== null && "secure" in value;
        if (isEncrypted && !(CONFIG_SCHEMA as Record<string, { secret?: boolean }>)[key]?.secret) {
            c.failRule(key, "is encrypted, but only bmcPassword is a secret key; set it as plain config");
        }
    }
}

/**
 * Parse and validate raw stack config (keys without the project prefix). Throws ConfigError
 * listing every problem; returns a complete LabConfig with defaults applied otherwise.
 */
export function parseLabConfig(raw: RawConfig, context: ConfigContext): LabConfig {
    const c = new Collector(raw);
    rejectUnknownKeys(raw, c);
    rejectEncryptedValues(raw, c);

    const hardwareCount = c.integer("hardwareCount", 1, MAX_MACHINES);
    const controlPlanes = c.integer("controlPlanes", 1, MAX_MACHINES);
    const workers = c.integer("workers", 0, MAX_MACHINES);
    if (controlPlanes !== undefined && controlPlanes % 2 === 0) {
        // KubeadmControlPlane's webhook refuses an even replica count with stacked etcd.
        c.fail("controlPlanes", "expected an odd number (1, 3, 5, ...): stacked etcd needs a majority", controlPlanes);
    }
    if (hardwareCount !== undefined && controlPlanes !== undefined && workers !== undefined) {
        if (controlPlanes + workers > hardwareCount) {
            c.failRule(
                "hardwareCount",
                `got ${hardwareCount}; expected at least controlPlanes + workers = ${controlPlanes + workers}`,
            );
        }
    }

    const kubernetesVersion = c.string("kubernetesVersion", SEMVER, "a version like v1.35.2");
    const tinkerbellVersion = c.string("tinkerbellVersion", CHART_VERSION, "a chart version like v0.23.1-23da0880");
    const captVersion = c.string("captVersion", SEMVER, "a release like v0.7.0");
    const clusterctlVersion = c.string("clusterctlVersion", SEMVER, "a version like v1.12.5");
    const kindNodeImage = c.string("kindNodeImage", IMAGE_REF, "an image reference like kindest/node:v1.35.0");
    const kubeVipVersion = c.string("kubeVipVersion", SEMVER, "a version like v1.1.2");
    const bootMode = c.oneOf("bootMode", ["netboot", "isoboot"] as const);

    const cidrs = {
        networkSubnet: c.cidr("networkSubnet", 8, 26),
        podCidr: c.cidr("podCidr", 8, 24),
        serviceCidr: c.cidr("serviceCidr", 12, 28),
        kindPodCidr: c.cidr("kindPodCidr", 8, 24),
        kindServiceCidr: c.cidr("kindServiceCidr", 12, 28),
    };
    for (let i = 0; i < CIDR_KEYS.length; i++) {
        for (let j = i + 1; j < CIDR_KEYS.length; j++) {
            const a = cidrs[CIDR_KEYS[i]];
            const b = cidrs[CIDR_KEYS[j]];
            if (a && b && overlaps(a, b)) {
                c.failRule(
                    CIDR_KEYS[j],
                    `got ${show(CIDR_KEYS[j], b.address)}; overlaps ${CIDR_KEYS[i]} (${a.address}); the lab's CIDRs must be disjoint`,
                );
            }
        }
    }
    const subnet = cidrs.networkSubnet;
    if (subnet && hardwareCount !== undefined && machineCapacity(subnet.subnetMask) < hardwareCount) {
        c.failRule(
            "networkSubnet",
            `got ${show("networkSubnet", subnet.address)}; it holds ${machineCapacity(subnet.subnetMask)} machines but hardwareCount is ${hardwareCount} (use a shorter prefix)`,
        );
    }
    const podCidr = cidrs.podCidr;
    if (podCidr && hardwareCount !== undefined && 2 ** (24 - podCidr.subnetMask) < hardwareCount) {
        c.failRule(
            "podCidr",
            `got ${show("podCidr", podCidr.address)}; each node takes a /24 from it, so it fits ${2 ** (24 - podCidr.subnetMask)} nodes but hardwareCount is ${hardwareCount}`,
        );
    }

    const nameServers = c.stringArray("nameServers");
    if (
        nameServers &&
        (nameServers.length === 0 ||
            nameServers.length > 3 ||
            !nameServers.every((s) => Address4.isValid(s) && !s.includes("/")))
    ) {
        c.fail("nameServers", "expected 1 to 3 IPv4 addresses", nameServers);
    }

    const vmCpus = c.integer("vmCpus", 2, 64);
    const vmMemoryMiB = c.integer("vmMemoryMiB", 2048, 1048576);
    const vmDiskGiB = c.integer("vmDiskGiB", 10, 4096);
    const vmDiskCache = c.oneOf("vmDiskCache", ["unsafe", "none", "writeback", "writethrough", "directsync"] as const);
    const vmGraphics = c.oneOf("vmGraphics", ["vnc", "none"] as const);
    const domainType = c.oneOf("domainType", ["auto", "kvm", "qemu"] as const);
    const libvirtUri = c.string(
        "libvirtUri",
        LIBVIRT_URI,
        "a libvirt URI such as qemu:///system or qemu+ssh://user@host/system",
    );
    const storageDir = c.path("storageDir", true);
    const outputDir = c.path("outputDir", false);
    const namespace = c.string(
        "namespace",
        DNS_LABEL,
        "a Kubernetes namespace name (lowercase letters, digits, '-', at most 63)",
    );
    if (namespace && namespace.length > 63) {
        c.fail("namespace", "expected at most 63 characters", namespace);
    }
    const nodeNamePrefix = c.string(
        "nodeNamePrefix",
        NAME_PREFIX,
        "lowercase letters, digits and '-', starting with a letter",
    );
    if (nodeNamePrefix && hardwareCount !== undefined) {
        const longest = machineName(labName(context.stack), nodeNamePrefix, hardwareCount);
        if (longest.length > 63) {
            c.fail(
                "nodeNamePrefix",
                `expected a shorter prefix: machine names such as ${longest} must fit in 63 characters (a hostname and Kubernetes name)`,
                nodeNamePrefix,
            );
        }
    }
    const osImageRegistry = c.string(
        "osImageRegistry",
        IMAGE_REPO,
        "an image repository without tag, like ghcr.io/org/ubuntu",
    );
    const osVersion = c.string("osVersion", KUBE_OS_VERSION, "an Ubuntu version without dots, like 2404");
    const tinkerbellChart = c.string(
        "tinkerbellChart",
        /^(oci:\/\/[^\s]+|\/[^\s]*|\.{1,2}\/[^\s]*)$/,
        "an oci:// chart URL or a chart directory path",
    );
    const captainosImage = c.string("captainosImage", IMAGE_REF, "an image reference");
    const captainosKernelVersion = c.string("captainosKernelVersion", PLAIN_VERSION, "a kernel version like 6.18.16");
    const tinkerbellExtraValues = c.stringArray("tinkerbellExtraValues");
    for (const item of tinkerbellExtraValues ?? []) {
        const eq = item.indexOf("=");
        if (eq <= 0 || !HELM_VALUE_PATH.test(item.slice(0, eq))) {
            c.fail("tinkerbellExtraValues", "expected items like deployment.envs.ui.enableAutoLogin=true", item);
        }
    }
    const vbmcImage = c.string("vbmcImage", IMAGE_REF, "an image reference");
    const cni = c.oneOf("cni", ["cilium", "kube-router", "none"] as const);
    const ciliumVersion = c.string("ciliumVersion", PLAIN_VERSION, "a chart version like 1.17.3");
    const kubeRouterManifest = c.string(
        "kubeRouterManifest",
        /^https:\/\/[^\s]+\.ya?ml$/,
        "an https:// URL of a YAML manifest",
    );
    const waitForWorkload = c.boolean("waitForWorkload");
    const workloadTimeoutMinutes = c.integer("workloadTimeoutMinutes", 5, 600);
    const sshPublicKey = c.optionalString(
        "sshPublicKey",
        SSH_PUBLIC_KEY,
        "one OpenSSH public key line (ssh-ed25519 AAAA... comment)",
    );
    const bmcUsername = c.string("bmcUsername", BMC_USERNAME, "1 to 16 letters, digits, '.', '_' or '-' (IPMI limit)");
    const rawPassword = raw.bmcPassword;
    const passwordIsEncrypted = typeof rawPassword === "object" && rawPassword !== null;
    const bmcPassword = passwordIsEncrypted
        ? undefined
        : c.optionalString(
              "bmcPassword",
              BMC_PASSWORD,
              "8 to 20 printable ASCII characters without spaces (IPMI limit)",
          );
    if (bmcPassword !== undefined && !(context.isSecret?.("bmcPassword") ?? false)) {
        c.failRule("bmcPassword", "is stored in plaintext; set it with `pulumi config set --secret bmcPassword`");
    }
    const preflight = c.boolean("preflight");

    if (c.problems.length > 0) {
        throw new ConfigError(c.problems);
    }
    // Every field is defined here: any undefined value above recorded a problem.
    return {
        hardwareCount: hardwareCount!,
        controlPlanes: controlPlanes!,
        workers: workers!,
        spares: hardwareCount! - controlPlanes! - workers!,
        kubernetesVersion: kubernetesVersion!,
        tinkerbellVersion: tinkerbellVersion!,
        captVersion: captVersion!,
        clusterctlVersion: clusterctlVersion!,
        kindNodeImage: kindNodeImage!,
        kubeVipVersion: kubeVipVersion!,
        bootMode: bootMode!,
        networkSubnet: cidrs.networkSubnet!.address,
        podCidr: cidrs.podCidr!.address,
        serviceCidr: cidrs.serviceCidr!.address,
        kindPodCidr: cidrs.kindPodCidr!.address,
        kindServiceCidr: cidrs.kindServiceCidr!.address,
        nameServers: nameServers!,
        vmCpus: vmCpus!,
        vmMemoryMiB: vmMemoryMiB!,
        vmDiskGiB: vmDiskGiB!,
        vmDiskCache: vmDiskCache!,
        vmGraphics: vmGraphics!,
        domainType: domainType!,
        libvirtUri: libvirtUri!,
        storageDir: storageDir!,
        outputDir: outputDir!,
        namespace: namespace!,
        nodeNamePrefix: nodeNamePrefix!,
        osImageRegistry: osImageRegistry!,
        osVersion: osVersion!,
        tinkerbellChart: tinkerbellChart!,
        captainosImage: captainosImage!,
        captainosKernelVersion: captainosKernelVersion!,
        tinkerbellExtraValues: tinkerbellExtraValues!,
        vbmcImage: vbmcImage!,
        cni: cni!,
        ciliumVersion: ciliumVersion!,
        kubeRouterManifest: kubeRouterManifest!,
        waitForWorkload: waitForWorkload!,
        workloadTimeoutMinutes: workloadTimeoutMinutes!,
        sshPublicKey,
        bmcUsername: bmcUsername!,
        bmcPassword,
        preflight: preflight!,
    };
}

/**
 * Strip the `capt-playground:` namespace from Pulumi config keys; keys of other namespaces
 * (provider settings such as `kubernetes:context`) are not ours and are dropped.
 */
export function projectKeys(config: Record<string, unknown>): RawConfig {
    const raw: RawConfig = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(`${PROJECT_NAME}:`)) {
            raw[key.slice(PROJECT_NAME.length + 1)] = value;
        } else if (!key.includes(":")) {
            raw[key] = value;
        }
    }
    return raw;
}
