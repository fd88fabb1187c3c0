/**
 * Stack config -> typed LabConfig. Pure: no Pulumi resources, no host access.
 *
 * Each key is checked by its schema in config-schema.ts (type, format, range, allowed values); the
 * rules that span keys (overlapping CIDRs, VIPs and addresses, capacity, modes, secrets) are the
 * functions below, all run from parseLabConfig. Every problem becomes one line naming the key, the
 * value given and what is allowed, and all problems are reported together, so a user fixes a stack
 * file in one pass.
 */
import { Address4 } from "ip-address";
import { parse as parseYaml } from "yaml";
import {
    ARTIFACTS_VIP_OFFSET,
    CONTROL_PLANE_VIP_OFFSET,
    DOCKER_SLICE_PREFIX,
    FIRST_MACHINE_OFFSET,
    LAB_SERVICES_OFFSET,
    TINKERBELL_VIP_OFFSET,
    VBMC_OFFSET,
    machineCapacity,
} from "./address-layout";
import {
    FORBIDDEN_OBJECT_KEYS,
    escapeControl,
    isEncryptedValue,
    isForbiddenObjectKey,
    isIPv4,
    setOwn,
    showKey,
    showValue,
} from "./config-formats";
import { BmcProtocol, MachineConfig, parseMachines, roleProblem } from "./config-machines";
import {
    CONFIG_KEYS,
    CONFIG_SCHEMA,
    ConfigKey,
    ConfigValues,
    DNS_LABEL,
    MAX_KUBECONFIG_TEXT,
    MAX_MACHINE_PASSWORDS_TEXT,
    PROJECT_NAME,
} from "./config-schema";
import { labName, machineName } from "./naming";

export type BootMode = ConfigValues["bootMode"];
export type DiskCache = ConfigValues["vmDiskCache"];
export type Graphics = ConfigValues["vmGraphics"];
export type DomainTypeChoice = ConfigValues["domainType"];
export type Cni = ConfigValues["cni"];
export type MachineArch = ConfigValues["machineArch"];
export type ClusterApiInstaller = ConfigValues["clusterApiInstaller"];
export type { BmcProtocol, MachineBmcConfig, MachineConfig, MachineRole } from "./config-machines";

/** What a secret key holds when the stack file is read offline: encrypted, so set but unknown. */
export const ENCRYPTED_VALUE = "<encrypted>";

/** Keys whose value parseLabConfig derives or guards itself rather than taking from the schema as is. */
type DerivedKey =
    | "hardwareCount"
    | "machines"
    | "sshPublicKey"
    | "bmcPassword"
    | "machineBmcPasswords"
    | "managementKubeconfig"
    | "tinkerbellKubeconfig";

/** The validated config: every key as its schema types it, and the derived and secret values. */
export type LabConfig = Omit<ConfigValues, DerivedKey> & {
    /** `hardwareCount`, or with real machines the length of `machines`. */
    hardwareCount: number;
    /** Derived: hardwareCount - controlPlanes - workers. */
    spares: number;
    /** Real machines; empty = libvirt VMs. */
    machines: MachineConfig[];
    sshPublicKey?: string;
    /** Plain text only inside this object; index.ts wraps it with pulumi.secret at once. */
    bmcPassword?: string;
    /**
     * Real machines' own BMC passwords by machine name (machines without an entry use bmcPassword).
     * Plain text only inside this object, ENCRYPTED_VALUE offline (set, but which machines it names
     * is unknown); index.ts wraps each value with pulumi.secret at once.
     */
    machineBmcPasswords?: Readonly<Record<string, string>> | typeof ENCRYPTED_VALUE;
    /** Plain text only inside this object (or ENCRYPTED_VALUE offline); index.ts wraps it at once. */
    managementKubeconfig?: string;
    /** Plain text only inside this object (or ENCRYPTED_VALUE offline); index.ts wraps it at once. */
    tinkerbellKubeconfig?: string;
};

export interface ConfigProblem {
    key: string;
    message: string;
}

/**
 * Every problem of a stack's config. The message is what a terminal shows: keys and messages with
 * every control character, escape sequence and bidirectional override escaped (a key is echoed as
 * the user typed it, and a stack file can hold anything); `problems` keeps the keys as given.
 */
export class ConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            `invalid stack config:\n${problems.map((p) => `  ${PROJECT_NAME}:${showKey(p.key)}: ${escapeControl(p.message)}`).join("\n")}`,
        );
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

// A machine's own password: what its BMC accepts (IPMI 2.0: at most 20 bytes), same characters.
const MACHINE_BMC_PASSWORD: Readonly<Record<BmcProtocol, RegExp>> = {
    ipmi: /^[\x21-\x7e]{1,20}$/,
    redfish: /^[\x21-\x7e]{1,127}$/,
};

/** Whether `key` is one of ours (an own key of the schema, never one Object.prototype has). */
function isConfigKey(key: string): key is ConfigKey {
    return Object.hasOwn(CONFIG_SCHEMA, key);
}

function isSecretKey(key: string): boolean {
    return isConfigKey(key) && (CONFIG_SCHEMA[key] as { secret?: boolean }).secret === true;
}

/** How a value is shown in an error: secrets and ciphertext never, long values shortened. */
function show(key: string, value: unknown): string {
    return isSecretKey(key) ? "[secret]" : showValue(value);
}

/** The value at `path` below `root`, own properties only. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let node = root;
    for (const step of path) {
        if (typeof node !== "object" || node === null || !Object.hasOwn(node, step)) return undefined;
        node = (node as Record<PropertyKey, unknown>)[step];
    }
    return node;
}

class Collector {
    readonly problems: ConfigProblem[] = [];
    constructor(private readonly raw: RawConfig) {}

    fail(key: string, expected: string, value: unknown = this.given(key)): undefined {
        this.problems.push({ key, message: `got ${show(key, value)}; ${expected}` });
        return undefined;
    }

    failRule(key: string, message: string): void {
        this.problems.push({ key, message });
    }

    /** What the user set for `key` (an own key only), or undefined. */
    given(key: string): unknown {
        return Object.hasOwn(this.raw, key) ? this.raw[key] : undefined;
    }

    /**
     * The key's value as its schema gives it, the schema's default when unset; undefined (and one
     * problem: the value and what is allowed, for a list the offending item) when it fails.
     */
    parse<K extends ConfigKey>(key: K): ConfigValues[K] | undefined {
        const given = this.given(key);
        const value = given === undefined || given === null ? CONFIG_SCHEMA[key].default : given;
        const result = (CONFIG_SCHEMA[key].schema as { safeParse(input: unknown): ParseResult }).safeParse(value);
        if (result.success) {
            return result.data as ConfigValues[K];
        }
        const issue = result.error.issues[0];
        return this.fail(key, issue.message, issue.path.length > 0 ? valueAt(value, issue.path) : value);
    }
}

type ParseResult =
    | { success: true; data: unknown }
    | { success: false; error: { issues: { message: string; path: PropertyKey[] }[] } };

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
        if (isForbiddenObjectKey(key)) {
            c.failRule(
                key,
                `is not a config key (${FORBIDDEN_OBJECT_KEYS.join(", ")} never are); see the config reference in README.md`,
            );
        } else if (!isConfigKey(key)) {
            const hint = closestKey(key);
            c.failRule(
                key,
                `unknown key${hint ? `; did you mean ${hint}?` : ""} (see the config reference in README.md)`,
            );
        }
    }
}

const SECRET_KEYS = CONFIG_KEYS.filter(isSecretKey);

function describeShape(value: object): string {
    if (Array.isArray(value)) return `a list of ${value.length}`;
    if (value instanceof Uint8Array) return "binary data";
    return Object.getPrototypeOf(value) === Object.prototype ? "a mapping" : "a value of another YAML type";
}

/**
 * Encrypted values only where they belong, and only the real shape: a secret key holds a string
 * (decrypted) or exactly `{secure: <ciphertext>}`; anything else that is not a string (`{value: ...}`,
 * a one-element list, `!!binary` data) is a plaintext made to look encrypted and is refused without
 * being shown. A plain key never holds an encrypted value.
 */
function rejectEncryptedValues(raw: RawConfig, c: Collector): void {
    for (const [key, value] of Object.entries(raw)) {
        if (!isConfigKey(key) || typeof value !== "object" || value === null) continue;
        if (!isSecretKey(key)) {
            if (isEncryptedValue(value)) {
                c.failRule(
                    key,
                    `is encrypted, but only ${SECRET_KEYS.join(", ")} are secret keys; set it as plain config`,
                );
            }
        } else if (!isEncryptedValue(value)) {
            c.failRule(
                key,
                `is ${describeShape(value)}, not an encrypted value (the value is not shown); a secret key takes only \`pulumi config set --secret ${key}\`, which stores {secure: <ciphertext>}`,
            );
        }
    }
}

/**
 * `hardwareCount`, or with real machines the length of `machines`. hardwareCount is not checked
 * against the list then: the CLI fills in Pulumi.yaml's default (3) when the user never set it, so
 * an explicit value and the default cannot be told apart.
 */
function machineCount(c: Collector, machines: MachineConfig[]): number | undefined {
    return machines.length > 0 ? machines.length : c.parse("hardwareCount");
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
    if (typeof value === "object") {
        // Anything but {secure: ...} was refused by rejectEncryptedValues.
        return isEncryptedValue(value) ? ENCRYPTED_VALUE : undefined;
    }
    if (typeof value !== "string") {
        c.failRule(key, "expected a kubeconfig (YAML text), set with `pulumi config set --secret " + key + " < file`");
        return undefined;
    }
    if (!(context.isSecret?.(key) ?? false)) {
        c.failRule(key, `is stored in plaintext; set it with \`pulumi config set --secret ${key} < kubeconfig\``);
        return undefined;
    }
    if (value.length > MAX_KUBECONFIG_TEXT) {
        c.failRule(
            key,
            `is ${value.length} characters (value not shown); expected a kubeconfig of at most ${MAX_KUBECONFIG_TEXT}`,
        );
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
    if (typeof value === "object") {
        // Anything but {secure: ...} was refused by rejectEncryptedValues.
        return isEncryptedValue(value) ? ENCRYPTED_VALUE : undefined;
    }
    if (typeof value !== "string" || !(context.isSecret?.(key) ?? false)) {
        c.failRule(key, `is stored in plaintext; ${MACHINE_PASSWORDS_HOWTO}`);
        return undefined;
    }
    if (value.length > MAX_MACHINE_PASSWORDS_TEXT) {
        c.failRule(
            key,
            `is ${value.length} characters (value not shown); expected at most ${MAX_MACHINE_PASSWORDS_TEXT}`,
        );
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
        setOwn(passwords, name, password);
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
    /** Whether offlineBundle is set. */
    offlineBundle?: boolean;
    clusterApiInstaller?: ClusterApiInstaller;
}

/**
 * An offline lab (offlineBundle) loads the bundle's images into its own KinD node and points the chart
 * and clusterctl at the bundle's files. Refused with it, each for the reason it names: what would still
 * reach the internet, or what has no KinD node to load images into.
 */
function checkOfflineBundle(c: Collector, m: ModeChoices): void {
    if (!m.offlineBundle) return;
    if (m.managementKubeconfig) {
        c.failRule(
            "offlineBundle",
            "is set with managementKubeconfig; the lab loads the bundle's images into the node of the KinD cluster it creates, and the nodes of a cluster of yours pull their images themselves: load them there (or mirror them) and leave offlineBundle empty, or let the lab create KinD",
        );
    }
    if (m.registryMirror) {
        c.failRule(
            "registryMirror",
            "got true with offlineBundle; the bundle already holds every image the lab runs, and the mirror's caches (or registryMirrorHost) pull from the internet: set registryMirror: false",
        );
    }
    if (m.clusterApiInstaller === "operator") {
        c.failRule(
            "clusterApiInstaller",
            "got operator with offlineBundle; the Cluster API Operator downloads the providers from GitHub inside the cluster and its charts from their repositories: use clusterApiInstaller: clusterctl, which installs from the bundle's clusterctl repository",
        );
    }
    if (m.pivot) {
        c.failRule(
            "pivot",
            "got true with offlineBundle; pivot installs Tinkerbell and Cluster API into the workload cluster, whose machines would pull every image from the internet: set pivot: false",
        );
    }
}

/** Combinations of modes that cannot work, refused before anything exists. */
function checkModes(c: Collector, m: ModeChoices): void {
    checkOfflineBundle(c, m);
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
        // The virtual BMC runs only for VMs; with real machines its address is free (the modes e2e
        // suite puts a stand-in for their BMCs there).
        if (a.machines.length === 0) reserve(planned(VBMC_OFFSET), "the virtual BMC");
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
    a.machines.forEach((machine, index) => {
        const owner = isIPv4(machine.bmc.address) ? taken.get(machine.bmc.address) : undefined;
        if (owner) {
            c.failRule(
                `machines[${index}].bmc.address`,
                `got "${machine.bmc.address}"; it is already ${owner}; a BMC needs an address of its own`,
            );
        }
    });
}

/** The keys each checked by its schema alone; the others are derived or guarded in parseLabConfig. */
const DERIVED_KEYS: ReadonlySet<ConfigKey> = new Set<DerivedKey>([
    "hardwareCount",
    "machines",
    "sshPublicKey",
    "bmcPassword",
    "machineBmcPasswords",
    "managementKubeconfig",
    "tinkerbellKubeconfig",
]);

/** Every key that is not derived, parsed by its schema: undefined where it failed (a problem is recorded). */
function parseKeys(c: Collector): Partial<ConfigValues> {
    const values: Partial<Record<ConfigKey, unknown>> = {};
    for (const key of CONFIG_KEYS) {
        if (!DERIVED_KEYS.has(key)) values[key] = c.parse(key);
    }
    return values as Partial<ConfigValues>;
}

/** Rules between the counts: odd control planes (stacked etcd), enough machines for the roles. */
function checkCounts(
    c: Collector,
    machines: MachineConfig[],
    counts: { hardwareCount?: number; controlPlanes?: number; workers?: number },
    machinesComplete: boolean,
): void {
    const { hardwareCount, controlPlanes, workers } = counts;
    if (controlPlanes !== undefined && controlPlanes % 2 === 0) {
        // KubeadmControlPlane's webhook refuses an even replica count with stacked etcd.
        c.fail("controlPlanes", "expected an odd number (1, 3, 5, ...): stacked etcd needs a majority", controlPlanes);
    }
    if (hardwareCount === undefined || controlPlanes === undefined || workers === undefined) return;
    if (machines.length > 0 || !machinesComplete) {
        // With an item refused, the roles of the list cannot be counted: that item's problem is enough.
        const problem = machinesComplete ? roleProblem(machines, { controlPlanes, workers }) : undefined;
        if (problem) c.failRule("machines", problem);
    } else if (controlPlanes + workers > hardwareCount) {
        c.failRule(
            "hardwareCount",
            `got ${hardwareCount}; expected at least controlPlanes + workers = ${controlPlanes + workers}`,
        );
    }
}

/** The lab's CIDRs are disjoint, and networkSubnet and podCidr hold the machines. */
function checkCidrs(c: Collector, v: Partial<ConfigValues>, machines: MachineConfig[], hardwareCount?: number): void {
    const cidrs = CIDR_KEYS.map((key) => [key, v[key] === undefined ? undefined : new Address4(v[key])] as const);
    for (let i = 0; i < cidrs.length; i++) {
        for (let j = i + 1; j < cidrs.length; j++) {
            const [keyA, a] = cidrs[i];
            const [keyB, b] = cidrs[j];
            if (a && b && overlaps(a, b)) {
                c.failRule(
                    keyB,
                    `got ${show(keyB, b.address)}; overlaps ${keyA} (${a.address}); the lab's CIDRs must be disjoint`,
                );
            }
        }
    }
    if (hardwareCount === undefined) return;
    // Name what the user set: the machine list's length, or hardwareCount.
    const countSource = machines.length > 0 ? `machines lists ${machines.length}` : `hardwareCount is ${hardwareCount}`;
    const subnet = cidrs[0][1];
    if (subnet && machineCapacity(subnet.subnetMask) < hardwareCount) {
        c.failRule(
            "networkSubnet",
            `got ${show("networkSubnet", subnet.address)}; it holds ${machineCapacity(subnet.subnetMask)} machines but ${countSource} (use a shorter prefix)`,
        );
    }
    const podCidr = cidrs[1][1];
    if (podCidr && 2 ** (24 - podCidr.subnetMask) < hardwareCount) {
        c.failRule(
            "podCidr",
            `got ${show("podCidr", podCidr.address)}; each node takes a /24 from it, so it fits ${2 ** (24 - podCidr.subnetMask)} nodes but ${countSource}`,
        );
    }
}

/** Machine names (<lab>-<prefix><n>) must stay hostnames and Kubernetes names. */
function checkNameLength(c: Collector, stack: string, prefix?: string, hardwareCount?: number): void {
    if (!prefix || hardwareCount === undefined) return;
    const longest = machineName(labName(stack), prefix, hardwareCount);
    if (longest.length > 63) {
        c.fail(
            "nodeNamePrefix",
            `expected a shorter prefix: machine names such as ${longest} must fit in 63 characters (a hostname and Kubernetes name)`,
            prefix,
        );
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

    const realMachines = parseMachines(c.given("machines"));
    for (const problem of realMachines.problems) {
        c.failRule(problem.key, problem.message);
    }
    const machines = realMachines.machines;
    const hardwareCount = machineCount(c, machines);
    const v = parseKeys(c);
    const isSet = (value: unknown) => value !== undefined && value !== null && value !== "";

    const sshPublicKey = c.parse("sshPublicKey") || undefined;
    const rawPassword = c.given("bmcPassword");
    const passwordIsEncrypted = isEncryptedValue(rawPassword);
    // An object that is not {secure: ...} was refused by rejectEncryptedValues.
    const passwordIsObject = typeof rawPassword === "object" && rawPassword !== null;
    const bmcPassword = passwordIsObject ? undefined : c.parse("bmcPassword") || undefined;
    if (bmcPassword !== undefined && !(context.isSecret?.("bmcPassword") ?? false)) {
        c.failRule("bmcPassword", "is stored in plaintext; set it with `pulumi config set --secret bmcPassword`");
    }
    const machineBmcPasswords = secretMachinePasswords(c, raw, context, machines, realMachines.problems.length === 0);
    const managementKubeconfig = secretKubeconfig(c, raw, "managementKubeconfig", context);
    const tinkerbellKubeconfig = secretKubeconfig(c, raw, "tinkerbellKubeconfig", context);

    // The rules between keys, in one place.
    const machinesComplete = realMachines.problems.length === 0;
    checkCounts(c, machines, { hardwareCount, controlPlanes: v.controlPlanes, workers: v.workers }, machinesComplete);
    checkCidrs(c, v, machines, hardwareCount);
    checkNameLength(c, context.stack, v.nodeNamePrefix, hardwareCount);
    if (v.registryMirrorHost && v.registryMirror === false) {
        c.failRule("registryMirrorHost", "is set but registryMirror is false; set registryMirror: true or remove it");
    }
    checkModes(c, {
        machines,
        managementKubeconfig: isSet(c.given("managementKubeconfig")),
        externalTinkerbell: v.externalTinkerbell,
        tinkerbellKubeconfig: isSet(c.given("tinkerbellKubeconfig")),
        registryMirror: v.registryMirror,
        pivot: v.pivot,
        waitForWorkload: v.waitForWorkload,
        cni: v.cni,
        // Set but refused above (plaintext, too long): reported once there, not again as missing.
        bmcPassword: bmcPassword ?? (passwordIsEncrypted || isSet(rawPassword) ? ENCRYPTED_VALUE : undefined),
        machinesWithOwnPassword:
            machineBmcPasswords === ENCRYPTED_VALUE
                ? "all"
                : isSet(c.given("machineBmcPasswords")) && machineBmcPasswords === undefined
                  ? // Refused above: do not also ask for bmcPassword because of it.
                    "all"
                  : new Set(Object.keys(machineBmcPasswords ?? {})),
        bootMode: v.bootMode,
        offlineBundle: isSet(v.offlineBundle),
        clusterApiInstaller: v.clusterApiInstaller,
    });
    if (v.networkSubnet !== undefined) {
        checkAddresses(c, new Address4(v.networkSubnet), {
            tinkerbellVip: v.tinkerbellVip ?? "",
            artifactsVip: v.artifactsVip ?? "",
            controlPlaneVip: v.controlPlaneVip ?? "",
            networkGateway: v.networkGateway ?? "",
            machines,
            hardwareCount: hardwareCount ?? 0,
            kindNetwork: !isSet(c.given("managementKubeconfig")),
            mirrorSlots: v.registryMirror && !v.registryMirrorHost ? (v.registryMirrorUpstreams?.length ?? 0) : 0,
        });
    }

    if (c.problems.length > 0) {
        throw new ConfigError(c.problems);
    }
    // Every value is defined here: any undefined one above recorded a problem.
    const values = v as ConfigValues;
    return {
        ...values,
        hardwareCount: hardwareCount!,
        spares: hardwareCount! - values.controlPlanes - values.workers,
        machines,
        sshPublicKey,
        bmcPassword,
        machineBmcPasswords,
        managementKubeconfig,
        tinkerbellKubeconfig,
    };
}

/**
 * Strip the `capt-playground:` namespace from Pulumi config keys; keys of other namespaces
 * (provider settings such as `kubernetes:context`) are not ours and are dropped.
 */
export function projectKeys(config: Record<string, unknown>): RawConfig {
    // Own properties only: a key such as __proto__ stays a key (and is refused as unknown) instead of
    // replacing this object's prototype.
    const raw: RawConfig = {};
    for (const [key, value] of Object.entries(config)) {
        const name = key.startsWith(`${PROJECT_NAME}:`) ? key.slice(PROJECT_NAME.length + 1) : key;
        if (name === key && key.includes(":")) continue;
        Object.defineProperty(raw, name, { value, enumerable: true, writable: true, configurable: true });
    }
    return raw;
}
