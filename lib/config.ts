/**
 * Stack config -> typed LabConfig. Pure: no Pulumi resources, no host access.
 *
 * Every problem becomes one line naming the key, the value given and what is allowed, and all
 * problems are reported together, so a user fixes a stack file in one pass.
 */
import { Address4 } from "ip-address";
import { parse as parseYaml } from "yaml";
import {
    ARTIFACTS_VIP_OFFSET,
    CONTROL_PLANE_VIP_OFFSET,
    DOCKER_SLICE_PREFIX,
    FIRST_MACHINE_OFFSET,
    LAB_SERVICES_OFFSET,
    LAB_SERVICES_SLOTS,
    TINKERBELL_VIP_OFFSET,
    VBMC_OFFSET,
    machineCapacity,
} from "./address-layout";
import { BmcProtocol, MachineConfig, parseMachines, roleProblem } from "./config-machines";
import { CONFIG_SCHEMA, ConfigKey, PROJECT_NAME } from "./config-schema";
import { labName, machineName } from "./naming";

export type BootMode = "netboot" | "isoboot";
export type DiskCache = "unsafe" | "none" | "writeback" | "writethrough" | "directsync";
export type Graphics = "vnc" | "none";
export type DomainTypeChoice = "auto" | "kvm" | "qemu";
export type Cni = "cilium" | "kube-router" | "none";
export type MachineArch = "x86_64" | "aarch64";
export type ClusterApiInstaller = "clusterctl" | "operator";
export type { BmcProtocol, MachineBmcConfig, MachineConfig, MachineRole } from "./config-machines";

/** What a secret key holds when the stack file is read offline: encrypted, so set but unknown. */
export const ENCRYPTED_VALUE = "<encrypted>";

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
    /**
     * Real machines' own BMC passwords by machine name (machines without an entry use bmcPassword).
     * Plain text only inside this object, ENCRYPTED_VALUE offline (set, but which machines it names
     * is unknown); index.ts wraps each value with pulumi.secret at once.
     */
    machineBmcPasswords?: Readonly<Record<string, string>> | typeof ENCRYPTED_VALUE;
    preflight: boolean;
    /** Plain text only inside this object (or ENCRYPTED_VALUE offline); index.ts wraps it at once. */
    managementKubeconfig?: string;
    externalTinkerbell: boolean;
    /** Plain text only inside this object (or ENCRYPTED_VALUE offline); index.ts wraps it at once. */
    tinkerbellKubeconfig?: string;
    /** "" = the planned address. */
    tinkerbellVip: string;
    artifactsVip: string;
    controlPlaneVip: string;
    networkGateway: string;
    /** Real machines; empty = libvirt VMs. */
    machines: MachineConfig[];
    registryMirror: boolean;
    registryMirrorKeepCache: boolean;
    /** "" = the lab's own pull-through caches. */
    registryMirrorHost: string;
    registryMirrorImage: string;
    registryMirrorUpstreams: string[];
    pivot: boolean;
    clusterApiInstaller: ClusterApiInstaller;
    clusterApiOperatorVersion: string;
    machineArch: MachineArch;
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
// A machine's own password: what its BMC accepts (IPMI 2.0: at most 20 bytes), same characters.
const MACHINE_BMC_PASSWORD: Readonly<Record<BmcProtocol, RegExp>> = {
    ipmi: /^[\x21-\x7e]{1,20}$/,
    redfish: /^[\x21-\x7e]{1,127}$/,
};
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

const SECRET_KEYS = Object.entries(CONFIG_SCHEMA)
    .filter(([, spec]) => (spec as { secret?: boolean }).secret)
    .map(([key]) => key);

function rejectEncryptedValues(raw: RawConfig, c: Collector): void {
    for (const [key, value] of Object.entries(raw)) {
        const isEncrypted = typeof value === "object" && value !== null && "secure" in value;
        if (isEncrypted && !(CONFIG_SCHEMA as Record<string, { secret?: boolean }>)[key]?.secret) {
            c.failRule(key, `is encrypted, but only ${SECRET_KEYS.join(", ")} are secret keys; set it as plain config`);
        }
    }
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
// A registry host as image references name it: DNS name with an optional port.
const REGISTRY_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/**
 * `hardwareCount`, or with real machines the length of `machines`. hardwareCount is not checked
 * against the list then: the CLI fills in Pulumi.yaml's default (3) when the user never set it, so
 * an explicit value and the default cannot be told apart.
 */
function machineCount(c: Collector, machines: MachineConfig[]): number | undefined {
    return machines.length > 0 ? machines.length : c.integer("hardwareCount", 1, MAX_MACHINES);
}

/**
 * A kubeconfig key: set only as a secret; plain text inside LabConfig (ENCRYPTED_VALUE when the stack
 * file is read offline). Checked to be a kubeconfig with a cluster and a user, without ever echoing it.
 */
function secretKubeconfig(
    c: Collector,
    raw: RawConfig,
    key: "managementKubeconfig" | "tinkerbellKubeconfig",
    context: ConfigContext,
): string | undefined {
    const value = raw[key];
    if (value === undefined || value === null || value === "") {
        return undefined;
    }
    if (typeof value === "object" && "secure" in value) {
        return ENCRYPTED_VALUE;
    }
    if (typeof value !== "string") {
        c.failRule(key, "expected a kubeconfig (YAML text), set with `pulumi config set --secret " + key + " < file`");
        return undefined;
    }
    if (!(context.isSecret?.(key) ?? false)) {
        c.failRule(key, `is stored in plaintext; set it with \`pulumi config set --secret ${key} < kubeconfig\``);
        return undefined;
    }
    const problem = kubeconfigProblem(value);
    if (problem) {
        c.failRule(key, problem);
        return undefined;
    }
    return value;
}

const MACHINE_PASSWORDS_HOWTO =
    'set it from a file holding {"<machine name>": "<password>", ...}: `pulumi config set --secret machineBmcPasswords < passwords.json`';

/**
 * `machineBmcPasswords`: set only as a secret, a JSON object from machine names to their BMC
 * passwords. Problems name the key and the machine, never a password (nor a key that is no machine
 * name: it could be a password put in the wrong place).
 */
function secretMachinePasswords(
    c: Collector,
    raw: RawConfig,
    context: ConfigContext,
    machines: MachineConfig[],
    machinesComplete: boolean,
): Readonly<Record<string, string>> | typeof ENCRYPTED_VALUE | undefined {
    const key = "machineBmcPasswords";
    const value = raw[key];
    if (value === undefined || value === null || value === "") {
        return undefined;
    }
    if (machines.length === 0 && machinesComplete) {
        c.failRule(key, "is set but machines is empty; per-machine BMC passwords are for real machines");
        return undefined;
    }
    if (typeof value === "object" && "secure" in value) {
        return ENCRYPTED_VALUE;
    }
    if (typeof value !== "string" || !(context.isSecret?.(key) ?? false)) {
        c.failRule(key, `is stored in plaintext; ${MACHINE_PASSWORDS_HOWTO}`);
        return undefined;
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        c.failRule(key, `is not a JSON object (value not shown); ${MACHINE_PASSWORDS_HOWTO}`);
        return undefined;
    }
    const byName = new Map(machines.map((m) => [m.name, m]));
    const passwords: Record<string, string> = {};
    let valid = true;
    for (const [name, password] of Object.entries(parsed as Record<string, unknown>)) {
        const machine = byName.get(name);
        if (!machine) {
            // A machine that failed to parse is reported under machines[i] already.
            if (!machinesComplete) continue;
            const shown =
                DNS_LABEL.test(name) && name.length <= 63 ? `"${name}"` : "a key that is no machine name (not shown)";
            c.failRule(key, `names ${shown}; expected names from machines: ${machines.map((m) => m.name).join(", ")}`);
            valid = false;
            continue;
        }
        const protocol = machine.bmc.protocol;
        if (typeof password !== "string" || !MACHINE_BMC_PASSWORD[protocol].test(password)) {
            const limit = protocol === "ipmi" ? "1 to 20" : "1 to 127";
            c.failRule(
                key,
                `the password of "${name}" (not shown) is not ${limit} printable ASCII characters without spaces${protocol === "ipmi" ? " (IPMI limit)" : ""}`,
            );
            valid = false;
            continue;
        }
        passwords[name] = password;
    }
    return valid ? passwords : undefined;
}

function kubeconfigProblem(text: string): string | undefined {
    let document: unknown;
    try {
        document = parseYaml(text);
    } catch {
        return "is not valid YAML; expected a kubeconfig";
    }
    const config = document as { kind?: unknown; clusters?: unknown; users?: unknown; "current-context"?: unknown };
    if (typeof document !== "object" || document === null || config.kind !== "Config") {
        return "expected a kubeconfig (kind: Config)";
    }
    const clusters = Array.isArray(config.clusters) ? config.clusters : [];
    if (
        !clusters.some(
            (entry) => typeof entry?.cluster?.server === "string" && /^https?:\/\//.test(entry.cluster.server),
        )
    ) {
        return "expected a kubeconfig with a cluster server URL";
    }
    if (!Array.isArray(config.users) || config.users.length === 0) {
        return "expected a kubeconfig with a user";
    }
    if (clusters.length > 1 && typeof config["current-context"] !== "string") {
        return "names several clusters but no current-context; keep one cluster or set current-context";
    }
    return undefined;
}

interface ModeChoices {
    machines: MachineConfig[];
    /** Whether the kubeconfig keys are set (valid or not: their own problems are reported apart). */
    managementKubeconfig: boolean;
    externalTinkerbell?: boolean;
    tinkerbellKubeconfig: boolean;
    registryMirror?: boolean;
    pivot?: boolean;
    waitForWorkload?: boolean;
    cni?: Cni;
    bmcPassword?: string;
    /** Names of the machines with their own password; "all" when machineBmcPasswords is set but unknown (offline). */
    machinesWithOwnPassword?: ReadonlySet<string> | "all";
    bootMode?: BootMode;
}

/** Combinations of modes that cannot work, refused before anything exists. */
function checkModes(c: Collector, m: ModeChoices): void {
    if (m.managementKubeconfig && m.machines.length === 0) {
        c.failRule(
            "managementKubeconfig",
            "is set but machines is empty: VMs attach to the lab's own docker network, which exists only when the lab creates KinD; list your machines in machines, or leave managementKubeconfig empty",
        );
    }
    if (m.managementKubeconfig && m.registryMirror) {
        c.failRule(
            "registryMirror",
            "got true; the mirror runs on the lab's docker network and configures the KinD node, which an existing management cluster (managementKubeconfig) has neither of; set registryMirror: false",
        );
    }
    if (m.externalTinkerbell && !m.tinkerbellKubeconfig) {
        c.failRule(
            "tinkerbellKubeconfig",
            "is required with externalTinkerbell: true; set it with `pulumi config set --secret tinkerbellKubeconfig < kubeconfig`",
        );
    }
    if (m.externalTinkerbell === false && m.tinkerbellKubeconfig) {
        c.failRule(
            "tinkerbellKubeconfig",
            "is set but externalTinkerbell is false; set externalTinkerbell: true or remove it",
        );
    }
    const own = m.machinesWithOwnPassword;
    const sharing = own === "all" ? [] : m.machines.filter((machine) => !own?.has(machine.name));
    if (sharing.length > 0 && !m.bmcPassword) {
        c.failRule(
            "bmcPassword",
            `is required with machines that have no entry in machineBmcPasswords (${sharing.map((machine) => machine.name).join(", ")}): their BMCs' password (with bmcUsername or their bmc.username); set it with \`pulumi config set --secret bmcPassword\``,
        );
    }
    if (m.bootMode === "isoboot") {
        m.machines.forEach((machine, index) => {
            if (machine.bmc.protocol !== "redfish") {
                c.failRule(
                    `machines[${index}].bmc.protocol`,
                    `got "${machine.bmc.protocol}" with bootMode: isoboot; ISO boot mounts virtual media, which only Redfish offers: use protocol: redfish or bootMode: netboot`,
                );
            }
        });
    }
    if (m.pivot && m.waitForWorkload === false) {
        c.failRule(
            "pivot",
            "got true; pivot moves the lab into the workload cluster once it is ready, so it needs waitForWorkload: true",
        );
    }
    if (m.pivot && m.cni === "none") {
        c.failRule(
            "pivot",
            "got true with cni: none; Cluster API and Tinkerbell cannot run in the workload cluster before a CNI does (set cni: cilium or kube-router)",
        );
    }
}

interface AddressChoices {
    tinkerbellVip: string;
    artifactsVip: string;
    controlPlaneVip: string;
    networkGateway: string;
    machines: MachineConfig[];
    hardwareCount: number;
    /** The lab creates its docker network: docker's slice and the lab services are taken. */
    kindNetwork: boolean;
    mirrorSlots: number;
}

function offsetOf(subnet: Address4, address: string): bigint {
    return new Address4(address).bigInt() - subnet.startAddress().bigInt();
}

/** Addresses given in config: inside networkSubnet, not its network/broadcast address, and not taken twice. */
function checkAddresses(c: Collector, subnet: Address4, a: AddressChoices): void {
    const size = 2n ** BigInt(32 - subnet.subnetMask);
    const taken = new Map<string, string>();
    const reserve = (address: string, owner: string) => taken.set(address, taken.get(address) ?? owner);
    const planned = (offset: number) =>
        Address4.fromBigInt(subnet.startAddress().bigInt() + BigInt(offset)).correctForm();
    if (a.kindNetwork) {
        for (let offset = 0; offset < 2 ** (32 - DOCKER_SLICE_PREFIX); offset++)
            reserve(planned(offset), "docker's own range");
        reserve(planned(VBMC_OFFSET), "the virtual BMC");
        for (let slot = 0; slot < a.mirrorSlots; slot++)
            reserve(planned(LAB_SERVICES_OFFSET + slot), "the registry mirror");
    }
    const check = (key: ConfigKey | string, address: string, owner: string) => {
        const offset = offsetOf(subnet, address);
        if (offset <= 0n || offset >= size - 1n) {
            c.failRule(key, `got "${address}"; expected a host address inside networkSubnet (${subnet.address})`);
            return;
        }
        const other = taken.get(address);
        if (other) {
            c.failRule(key, `got "${address}"; it is already ${other}`);
            return;
        }
        taken.set(address, owner);
    };
    if (a.networkGateway) {
        if (a.kindNetwork && a.machines.length === 0) {
            c.failRule(
                "networkGateway",
                "is set, but the VMs' gateway is the lab network's bridge (its first address); leave it empty",
            );
        } else {
            check("networkGateway", a.networkGateway, "the gateway (networkGateway)");
        }
    }
    const vips: [ConfigKey, string, number][] = [
        ["tinkerbellVip", a.tinkerbellVip, TINKERBELL_VIP_OFFSET],
        ["artifactsVip", a.artifactsVip, ARTIFACTS_VIP_OFFSET],
        ["controlPlaneVip", a.controlPlaneVip, CONTROL_PLANE_VIP_OFFSET],
    ];
    for (const [key, given, offset] of vips) {
        if (!given) reserve(planned(offset), `${key}'s planned address`);
    }
    a.machines.forEach((machine, index) => {
        if (machine.ip) check(`machines[${index}].ip`, machine.ip, `machine ${machine.name}'s address`);
    });
    if (a.machines.length === 0) {
        for (let index = 0; index < a.hardwareCount; index++) {
            reserve(planned(FIRST_MACHINE_OFFSET + index), `the planned address of VM ${index + 1}`);
        }
    }
    for (const [key, given] of vips) {
        if (given) check(key, given, key);
    }
    a.machines.forEach((machine, index) => {
        if (!machine.ip) {
            const address = planned(FIRST_MACHINE_OFFSET + index);
            if (taken.has(address)) {
                c.failRule(
                    `machines[${index}].ip`,
                    `is empty and the planned address ${address} is already ${taken.get(address)}; set ip`,
                );
            }
            reserve(address, `machine ${machine.name}'s address`);
        }
    });
}

/**
 * Parse and validate raw stack config (keys without the project prefix). Throws ConfigError
 * listing every problem; returns a complete LabConfig with defaults applied otherwise.
 */
export function parseLabConfig(raw: RawConfig, context: ConfigContext): LabConfig {
    const c = new Collector(raw);
    rejectUnknownKeys(raw, c);
    rejectEncryptedValues(raw, c);

    const realMachines = parseMachines(raw.machines);
    for (const problem of realMachines.problems) {
        c.failRule(problem.key, problem.message);
    }
    const machines = realMachines.machines;
    const hardwareCount = machineCount(c, machines);
    const controlPlanes = c.integer("controlPlanes", 1, MAX_MACHINES);
    const workers = c.integer("workers", 0, MAX_MACHINES);
    if (controlPlanes !== undefined && controlPlanes % 2 === 0) {
        // KubeadmControlPlane's webhook refuses an even replica count with stacked etcd.
        c.fail("controlPlanes", "expected an odd number (1, 3, 5, ...): stacked etcd needs a majority", controlPlanes);
    }
    if (hardwareCount !== undefined && controlPlanes !== undefined && workers !== undefined) {
        if (machines.length > 0) {
            const problem = roleProblem(machines, { controlPlanes, workers });
            if (problem) c.failRule("machines", problem);
        } else if (controlPlanes + workers > hardwareCount) {
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
    const machineBmcPasswords = secretMachinePasswords(c, raw, context, machines, realMachines.problems.length === 0);
    const preflight = c.boolean("preflight");

    const managementKubeconfig = secretKubeconfig(c, raw, "managementKubeconfig", context);
    const externalTinkerbell = c.boolean("externalTinkerbell");
    const tinkerbellKubeconfig = secretKubeconfig(c, raw, "tinkerbellKubeconfig", context);
    const addresses = {
        tinkerbellVip: c.optionalString("tinkerbellVip", IPV4, "an IPv4 address inside networkSubnet") ?? "",
        artifactsVip: c.optionalString("artifactsVip", IPV4, "an IPv4 address inside networkSubnet") ?? "",
        controlPlaneVip: c.optionalString("controlPlaneVip", IPV4, "an IPv4 address inside networkSubnet") ?? "",
        networkGateway: c.optionalString("networkGateway", IPV4, "an IPv4 address inside networkSubnet") ?? "",
    };
    const registryMirror = c.boolean("registryMirror");
    const registryMirrorKeepCache = c.boolean("registryMirrorKeepCache");
    const registryMirrorHost =
        c.optionalString("registryMirrorHost", REGISTRY_HOST, "a registry host such as mirror.example.com[:port]") ??
        "";
    if (registryMirrorHost && registryMirror === false) {
        c.failRule("registryMirrorHost", "is set but registryMirror is false; set registryMirror: true or remove it");
    }
    const registryMirrorImage = c.string("registryMirrorImage", IMAGE_REF, "an image reference");
    const registryMirrorUpstreams = c.stringArray("registryMirrorUpstreams");
    if (
        registryMirrorUpstreams &&
        (registryMirrorUpstreams.length === 0 ||
            registryMirrorUpstreams.length > LAB_SERVICES_SLOTS ||
            !registryMirrorUpstreams.every((u) => REGISTRY_HOST.test(u)) ||
            new Set(registryMirrorUpstreams).size !== registryMirrorUpstreams.length)
    ) {
        c.fail(
            "registryMirrorUpstreams",
            `expected 1 to ${LAB_SERVICES_SLOTS} distinct registry hosts such as ghcr.io or registry.example.com:5000`,
            registryMirrorUpstreams,
        );
    }
    const pivot = c.boolean("pivot");
    const clusterApiInstaller = c.oneOf("clusterApiInstaller", ["clusterctl", "operator"] as const);
    const clusterApiOperatorVersion = c.string(
        "clusterApiOperatorVersion",
        CHART_VERSION,
        "a chart version like 0.28.0",
    );
    const machineArch = c.oneOf("machineArch", ["x86_64", "aarch64"] as const);

    const isSet = (value: unknown) => value !== undefined && value !== null && value !== "";
    checkModes(c, {
        machines,
        managementKubeconfig: isSet(raw.managementKubeconfig),
        externalTinkerbell,
        tinkerbellKubeconfig: isSet(raw.tinkerbellKubeconfig),
        registryMirror,
        pivot,
        waitForWorkload,
        cni,
        bmcPassword: bmcPassword ?? (passwordIsEncrypted ? ENCRYPTED_VALUE : undefined),
        machinesWithOwnPassword:
            machineBmcPasswords === ENCRYPTED_VALUE
                ? "all"
                : isSet(raw.machineBmcPasswords) && machineBmcPasswords === undefined
                  ? // Refused above: do not also ask for bmcPassword because of it.
                    "all"
                  : new Set(Object.keys(machineBmcPasswords ?? {})),
        bootMode,
    });
    if (subnet) {
        checkAddresses(c, subnet, {
            ...addresses,
            machines,
            hardwareCount: hardwareCount ?? 0,
            kindNetwork: !isSet(raw.managementKubeconfig),
            mirrorSlots: registryMirror && !registryMirrorHost ? (registryMirrorUpstreams?.length ?? 0) : 0,
        });
    }

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
        machineBmcPasswords,
        preflight: preflight!,
        managementKubeconfig,
        externalTinkerbell: externalTinkerbell!,
        tinkerbellKubeconfig,
        ...addresses,
        machines,
        registryMirror: registryMirror!,
        registryMirrorKeepCache: registryMirrorKeepCache!,
        registryMirrorHost,
        registryMirrorImage: registryMirrorImage!,
        registryMirrorUpstreams: registryMirrorUpstreams!,
        pivot: pivot!,
        clusterApiInstaller: clusterApiInstaller!,
        clusterApiOperatorVersion: clusterApiOperatorVersion!,
        machineArch: machineArch!,
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
