/**
 * The `machines` key: real machines instead of libvirt VMs. Pure: parses the list a stack file
 * holds (YAML objects, or a JSON string from `--set`) into MachineConfig items and reports every
 * problem under its own path (`machines[1].bmc.port`), so a user fixes the list in one pass.
 */
import { Address4 } from "ip-address";

export type MachineRole = "control-plane" | "worker" | "spare";
export type BmcProtocol = "ipmi" | "redfish";

export const MACHINE_ROLES: readonly MachineRole[] = ["control-plane", "worker", "spare"];
export const BMC_PROTOCOLS: readonly BmcProtocol[] = ["ipmi", "redfish"];

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

export interface MachinesProblem {
    /** The config path: `machines`, `machines[2].mac`, ... */
    key: string;
    message: string;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_NAME =
    /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MAC = /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/;
const DISK = /^\/dev\/[A-Za-z0-9/_.-]+$/;
const SYSTEM_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
const MACHINE_FIELDS = ["name", "mac", "ip", "role", "disk", "bmc"];
const BMC_FIELDS = ["address", "port", "protocol", "insecureTLS", "systemName", "username"];
/** BMC user names: IPMI 2.0 holds at most 16 bytes; Redfish BMCs allow longer ones. */
export const BMC_USERNAME: Readonly<Record<BmcProtocol, RegExp>> = {
    ipmi: /^[A-Za-z0-9._-]{1,16}$/,
    redfish: /^[A-Za-z0-9._-]{1,64}$/,
};
const BMC_USERNAME_ALLOWED: Readonly<Record<BmcProtocol, string>> = {
    ipmi: "1 to 16 letters, digits, '.', '_' or '-' (IPMI limit)",
    redfish: "1 to 64 letters, digits, '.', '_' or '-'",
};

function isIPv4(value: string): boolean {
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(value) && Address4.isValid(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

class ItemParser {
    constructor(
        private readonly problems: MachinesProblem[],
        private readonly path: string,
        private readonly item: Record<string, unknown>,
    ) {}

    fail(field: string, message: string): undefined {
        this.problems.push({ key: `${this.path}.${field}`, message });
        return undefined;
    }

    unknownFields(allowed: readonly string[]): void {
        for (const field of Object.keys(this.item)) {
            if (!allowed.includes(field)) {
                this.fail(field, `unknown field; allowed: ${allowed.join(", ")}`);
            }
        }
    }

    text(field: string, pattern: RegExp, allowed: string, required: boolean): string | undefined {
        const value = this.item[field];
        if (value === undefined || value === null || value === "") {
            return required ? this.fail(field, `is required; expected ${allowed}`) : undefined;
        }
        if (typeof value !== "string" || !pattern.test(value)) {
            return this.fail(field, `got ${JSON.stringify(value)}; expected ${allowed}`);
        }
        return value;
    }

    ipv4(field: string): string | undefined {
        const value = this.item[field];
        if (value === undefined || value === null || value === "") {
            return undefined;
        }
        if (typeof value !== "string" || !isIPv4(value)) {
            return this.fail(field, `got ${JSON.stringify(value)}; expected an IPv4 address inside networkSubnet`);
        }
        return value;
    }

    oneOf<T extends string>(field: string, allowed: readonly T[], required: boolean): T | undefined {
        const value = this.item[field];
        if (value === undefined || value === null || value === "") {
            return required ? this.fail(field, `is required; allowed values: ${allowed.join(", ")}`) : undefined;
        }
        if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
            return this.fail(field, `got ${JSON.stringify(value)}; allowed values: ${allowed.join(", ")}`);
        }
        return value as T;
    }

    port(field: string, fallback: number): number | undefined {
        const value = this.item[field];
        if (value === undefined || value === null || value === "") {
            return fallback;
        }
        const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) {
            return this.fail(field, `got ${JSON.stringify(value)}; expected a port from 1 to 65535`);
        }
        return n;
    }

    flag(field: string, fallback: boolean): boolean | undefined {
        const value = this.item[field];
        if (value === undefined || value === null) {
            return fallback;
        }
        if (typeof value === "boolean") {
            return value;
        }
        if (value === "true" || value === "false") {
            return value === "true";
        }
        return this.fail(field, `got ${JSON.stringify(value)}; expected true or false`);
    }
}

function parseBmc(problems: MachinesProblem[], path: string, value: unknown): MachineBmcConfig | undefined {
    if (!isObject(value)) {
        problems.push({
            key: `${path}.bmc`,
            message:
                "is required; expected {address, protocol: ipmi|redfish, port?, insecureTLS?, systemName?, username?}",
        });
        return undefined;
    }
    const p = new ItemParser(problems, `${path}.bmc`, value);
    p.unknownFields(BMC_FIELDS);
    const address = p.text("address", DNS_NAME, "the BMC's IPv4 address or DNS name", true);
    const protocol = p.oneOf("protocol", BMC_PROTOCOLS, true);
    const port = p.port("port", DEFAULT_BMC_PORT[protocol ?? "ipmi"]);
    const insecureTLS = p.flag("insecureTLS", true);
    const systemName = p.text("systemName", SYSTEM_NAME, "a Redfish System Name", false);
    const userLimit = protocol ?? "ipmi";
    const username = p.text("username", BMC_USERNAME[userLimit], BMC_USERNAME_ALLOWED[userLimit], false);
    if (address === undefined || protocol === undefined || port === undefined || insecureTLS === undefined) {
        return undefined;
    }
    return {
        address,
        port,
        protocol,
        insecureTLS,
        ...(systemName ? { systemName } : {}),
        ...(username ? { username } : {}),
    };
}

function parseMachine(problems: MachinesProblem[], index: number, value: unknown): MachineConfig | undefined {
    const path = `machines[${index}]`;
    if (!isObject(value)) {
        problems.push({ key: path, message: "expected an object {name, mac, bmc: {...}, ip?, role?, disk?}" });
        return undefined;
    }
    const p = new ItemParser(problems, path, value);
    p.unknownFields(MACHINE_FIELDS);
    const name = p.text("name", DNS_LABEL, "a DNS label (lowercase letters, digits, '-', at most 63)", true);
    const mac = p.text("mac", MAC, "a MAC address like 52:54:00:12:34:56", true);
    const ip = p.ipv4("ip");
    const role = p.oneOf("role", MACHINE_ROLES, false);
    const disk = p.text("disk", DISK, "a device path like /dev/sda or /dev/nvme0n1", false) ?? DEFAULT_MACHINE_DISK;
    const bmc = parseBmc(problems, path, value.bmc);
    if (name === undefined || mac === undefined || bmc === undefined) {
        return undefined;
    }
    return { name, mac: mac.toLowerCase(), ...(ip ? { ip } : {}), ...(role ? { role } : {}), disk, bmc };
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
        ["bmc", (m) => `${m.bmc.address}:${m.bmc.port}${m.bmc.systemName ? `/${m.bmc.systemName}` : ""}`],
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
