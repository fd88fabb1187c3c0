/**
 * The `machines` key: real machines instead of libvirt VMs. Pure: parses the list a stack file
 * holds (YAML objects, or a JSON string from `--set`) into MachineConfig items and reports every
 * problem under its own path (`machines[1].bmc.port`), so a user fixes the list in one pass.
 */
import { z } from "zod";
import {
    FORBIDDEN_OBJECT_KEYS,
    isBmcAddress,
    isDevicePath,
    isForbiddenObjectKey,
    isIPv4,
    isUnicastMac,
    showValue,
} from "./config-formats";

export type MachineRole = "control-plane" | "worker" | "spare";
export type BmcProtocol = "ipmi" | "redfish";

export const MACHINE_ROLES = ["control-plane", "worker", "spare"] as const satisfies readonly MachineRole[];
export const BMC_PROTOCOLS = ["ipmi", "redfish"] as const satisfies readonly BmcProtocol[];

/** IPMI over LAN listens on UDP 623; Redfish is HTTPS. */
export const DEFAULT_BMC_PORT: Readonly<Record<BmcProtocol, number>> = { ipmi: 623, redfish: 443 };

/** The first disk of most servers; NVMe machines set `disk: /dev/nvme0n1`. */
export const DEFAULT_MACHINE_DISK = "/dev/sda";

export interface MachineBmcConfig {
    /** IPv4 address or DNS name of the machine's BMC. */
    address: string;
    port: number;
    protocol: BmcProtocol;
    /** Accept the BMC's self-signed certificate (Redfish). Most BMCs ship one, so the default is true. */
    insecureTLS: boolean;
    /**
     * The Redfish System's Name, when the BMC manages more than one system: bmclib picks the System
     * whose Name matches (not its Id) and acts on every System when none does.
     */
    systemName?: string;
    /** This BMC's own user name; unset = bmcUsername. */
    username?: string;
}

export interface MachineConfig {
    name: string;
    /** Lowercase, as the Hardware CRD requires. */
    mac: string;
    ip?: string;
    role?: MachineRole;
    disk: string;
    bmc: MachineBmcConfig;
}

/** As many as hardwareCount allows (config-schema MAX_MACHINES); a longer list is refused unread. */
const MAX_LISTED_MACHINES = 1000;

export interface MachinesProblem {
    /** The config path: `machines`, `machines[2].mac`, ... */
    key: string;
    message: string;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAC = /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/;
const SYSTEM_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
/** BMC user names: IPMI 2.0 holds at most 16 bytes; Redfish BMCs allow longer ones. */
export const BMC_USERNAME: Readonly<Record<BmcProtocol, RegExp>> = {
    ipmi: /^[A-Za-z0-9._-]{1,16}$/,
    redfish: /^[A-Za-z0-9._-]{1,64}$/,
};
const BMC_USERNAME_ALLOWED: Readonly<Record<BmcProtocol, string>> = {
    ipmi: "1 to 16 letters, digits, '.', '_' or '-' (IPMI limit)",
    redfish: "1 to 64 letters, digits, '.', '_' or '-'",
};

/** Unset: absent, null or "" (a YAML key without a value, or `--set` with nothing after `=`). */
function isUnset(value: unknown): boolean {
    return value === undefined || value === null || value === "";
}

const unsetToUndefined = (value: unknown) => (isUnset(value) ? undefined : value);

/** The longest text a machine field takes: a DNS name is at most 253, a device path far less. */
const MAX_FIELD_TEXT = 1024;

/** A string matching `test`; one message whatever part fails (a longer text is never tested). */
function field(test: (value: string) => boolean, allowed: string) {
    const error = `expected ${allowed}`;
    return z
        .string({ error })
        .max(MAX_FIELD_TEXT, { error: `expected at most ${MAX_FIELD_TEXT} characters`, abort: true })
        .refine(test, { error });
}

/** Required: unset is reported as "is required; <allowed>". */
function required<T extends z.ZodType>(schema: T) {
    return z.preprocess(unsetToUndefined, schema);
}

function optional<T extends z.ZodType>(schema: T) {
    return z.preprocess(unsetToUndefined, schema.optional());
}

const BMC_SCHEMA = z
    .strictObject(
        {
            address: required(
                field(isBmcAddress, "the BMC's IPv4 unicast address or DNS name (not 0.0.0.0 or 255.255.255.255)"),
            ),
            protocol: required(z.enum(BMC_PROTOCOLS, { error: `allowed values: ${BMC_PROTOCOLS.join(", ")}` })),
            port: optional(
                z.preprocess(
                    (value) => (typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value),
                    z
                        .number({ error: "expected a port from 1 to 65535" })
                        .int({ error: "expected a port from 1 to 65535" })
                        .min(1, { error: "expected a port from 1 to 65535" })
                        .max(65535, { error: "expected a port from 1 to 65535" }),
                ),
            ),
            insecureTLS: optional(
                z.preprocess(
                    (value) => (value === "true" ? true : value === "false" ? false : value),
                    z.boolean({ error: "expected true or false" }),
                ),
            ),
            systemName: optional(field((value) => SYSTEM_NAME.test(value), "a Redfish System Name")),
            // The limit depends on the protocol: checked below, once the protocol is known.
            username: optional(z.string({ error: `expected ${BMC_USERNAME_ALLOWED.redfish}` })),
        },
        { error: "expected {address, protocol: ipmi|redfish, port?, insecureTLS?, systemName?, username?}" },
    )
    .superRefine((bmc, ctx) => {
        if (bmc.username !== undefined && !BMC_USERNAME[bmc.protocol].test(bmc.username)) {
            ctx.addIssue({
                code: "custom",
                path: ["username"],
                message: `expected ${BMC_USERNAME_ALLOWED[bmc.protocol]}`,
            });
        }
    });

/** One real machine as a stack file lists it; every field's problem is reported under its own path. */
export const MACHINE_SCHEMA = z.strictObject(
    {
        name: required(
            field(
                (value) => DNS_LABEL.test(value) && !isForbiddenObjectKey(value),
                `a DNS label (lowercase letters, digits, '-', at most 63), not ${FORBIDDEN_OBJECT_KEYS.join(" or ")} (names the lab's objects are keyed by must not be JavaScript's own)`,
            ),
        ),
        mac: required(
            field(
                (value) => MAC.test(value) && isUnicastMac(value),
                "a unicast MAC address like 52:54:00:12:34:56 (not multicast, broadcast or all zeros)",
            ),
        ),
        ip: optional(field(isIPv4, "an IPv4 address inside networkSubnet")),
        role: optional(z.enum(MACHINE_ROLES, { error: `allowed values: ${MACHINE_ROLES.join(", ")}` })),
        disk: optional(field(isDevicePath, "a device path like /dev/sda or /dev/nvme0n1, without . or ..")),
        bmc: required(BMC_SCHEMA),
    },
    { error: "expected an object {name, mac, bmc: {...}, ip?, role?, disk?}" },
);

/** The `machines` key: a list of MACHINE_SCHEMA items (documentation and JSON schema; parsed item by item). */
export const MACHINES_SCHEMA = z.array(MACHINE_SCHEMA);

const FIELDS_OF: Readonly<Record<string, readonly string[]>> = {
    machine: Object.keys(MACHINE_SCHEMA.shape),
    bmc: Object.keys(BMC_SCHEMA.shape),
};

/** The value at `path` below `root`, own properties only. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let node = root;
    for (const step of path) {
        if (typeof node !== "object" || node === null || !Object.hasOwn(node, step)) return undefined;
        node = (node as Record<PropertyKey, unknown>)[step];
    }
    return node;
}

/** One problem line per zod issue, keyed by its path (`machines[1].bmc.port`), shaped like every other key's. */
function problemsOfIssues(index: number, item: unknown, issues: readonly z.core.$ZodIssue[]): MachinesProblem[] {
    const base = `machines[${index}]`;
    const keyOf = (path: readonly PropertyKey[]) => `${base}${path.map((step) => `.${String(step)}`).join("")}`;
    return issues.flatMap((issue) => {
        if (issue.code === "unrecognized_keys") {
            const allowed = FIELDS_OF[issue.path.at(-1) === "bmc" ? "bmc" : "machine"];
            return issue.keys.map((key) => ({
                key: keyOf([...issue.path, key]),
                message: `unknown field; allowed: ${allowed.join(", ")}`,
            }));
        }
        const value = valueAt(item, issue.path);
        const shown = isUnset(value) ? "is required" : `got ${showValue(value)}`;
        return [{ key: keyOf(issue.path), message: `${shown}; ${issue.message}` }];
    });
}

/** A parsed item with the defaults filled in and unset optional fields left out. */
function machineOf(item: z.output<typeof MACHINE_SCHEMA>): MachineConfig {
    const { bmc } = item;
    return {
        name: item.name,
        mac: item.mac.toLowerCase(),
        ...(item.ip ? { ip: item.ip } : {}),
        ...(item.role ? { role: item.role } : {}),
        disk: item.disk ?? DEFAULT_MACHINE_DISK,
        bmc: {
            address: bmc.address,
            port: bmc.port ?? DEFAULT_BMC_PORT[bmc.protocol],
            protocol: bmc.protocol,
            insecureTLS: bmc.insecureTLS ?? true,
            ...(bmc.systemName ? { systemName: bmc.systemName } : {}),
            ...(bmc.username ? { username: bmc.username } : {}),
        },
    };
}

function parseMachine(problems: MachinesProblem[], index: number, value: unknown): MachineConfig | undefined {
    const result = MACHINE_SCHEMA.safeParse(value);
    if (!result.success) {
        problems.push(...problemsOfIssues(index, value, result.error.issues));
        return undefined;
    }
    return machineOf(result.data);
}

function duplicates(values: (string | undefined)[]): Set<string> {
    const seen = new Set<string>();
    const repeated = new Set<string>();
    for (const value of values) {
        if (value === undefined) continue;
        if (seen.has(value)) repeated.add(value);
        seen.add(value);
    }
    return repeated;
}

function checkUnique(problems: MachinesProblem[], machines: MachineConfig[]): void {
    const fields: [string, (m: MachineConfig) => string | undefined][] = [
        ["name", (m) => m.name],
        ["mac", (m) => m.mac],
        ["ip", (m) => m.ip],
        // DNS names are case-insensitive: BMC.example and bmc.example are one BMC.
        ["bmc", (m) => `${m.bmc.address.toLowerCase()}:${m.bmc.port}${m.bmc.systemName ? `/${m.bmc.systemName}` : ""}`],
    ];
    for (const [field, valueOf] of fields) {
        for (const value of duplicates(machines.map(valueOf))) {
            const indexes = machines.flatMap((m, i) => (valueOf(m) === value ? [i] : []));
            problems.push({
                key: `machines[${indexes[indexes.length - 1]}].${field}`,
                message: `${JSON.stringify(value)} is used by machines ${indexes.join(" and ")}; each machine needs its own`,
            });
        }
    }
}

/**
 * Parse `machines` (an array, or a JSON string as `--set machines=[...]` gives). `undefined`, `""`
 * and `[]` mean VMs. Items that parse are returned even when others fail, so checks that span the
 * list still run.
 */
export function parseMachines(value: unknown): { machines: MachineConfig[]; problems: MachinesProblem[] } {
    const problems: MachinesProblem[] = [];
    let list = value ?? [];
    if (typeof list === "string") {
        try {
            list = list.trim() === "" ? [] : JSON.parse(list);
        } catch {
            problems.push({ key: "machines", message: "expected a list of machines (YAML list or JSON array)" });
            return { machines: [], problems };
        }
    }
    if (!Array.isArray(list)) {
        problems.push({ key: "machines", message: "expected a list of machines, e.g. [{name, mac, bmc: {...}}]" });
        return { machines: [], problems };
    }
    if (list.length > MAX_LISTED_MACHINES) {
        problems.push({
            key: "machines",
            message: `lists ${list.length} machines; expected at most ${MAX_LISTED_MACHINES}`,
        });
        return { machines: [], problems };
    }
    const machines = list
        .map((item, index) => parseMachine(problems, index, item))
        .filter((m): m is MachineConfig => m !== undefined);
    checkUnique(problems, machines);
    return { machines, problems };
}

/**
 * Every machine's role. Machines that name a role keep it; the others fill the control-plane
 * slots first, then the worker slots, and are spares after that, in list order, as VMs are.
 */
export function assignRoles(
    machines: readonly Pick<MachineConfig, "role">[],
    counts: { controlPlanes: number; workers: number },
): MachineRole[] {
    const open = {
        "control-plane": counts.controlPlanes - machines.filter((m) => m.role === "control-plane").length,
        worker: counts.workers - machines.filter((m) => m.role === "worker").length,
    };
    return machines.map((machine) => {
        if (machine.role) return machine.role;
        if (open["control-plane"] > 0) {
            open["control-plane"]--;
            return "control-plane";
        }
        if (open.worker > 0) {
            open.worker--;
            return "worker";
        }
        return "spare";
    });
}

/** Why the roles cannot give the wanted counts, or undefined when they add up. */
export function roleProblem(
    machines: readonly Pick<MachineConfig, "role">[],
    counts: { controlPlanes: number; workers: number },
): string | undefined {
    const roles = assignRoles(machines, counts);
    const controlPlanes = roles.filter((r) => r === "control-plane").length;
    const workers = roles.filter((r) => r === "worker").length;
    if (controlPlanes === counts.controlPlanes && workers === counts.workers) {
        return undefined;
    }
    return (
        `the roles give ${controlPlanes} control planes and ${workers} workers but controlPlanes is ` +
        `${counts.controlPlanes} and workers is ${counts.workers}; list enough machines and name at most that many of each role`
    );
}
