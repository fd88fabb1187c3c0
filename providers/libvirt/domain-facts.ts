/**
 * The fields of a domain definition the lab cares about, read from XML — the desired definition
 * or libvirt's `virsh dumpxml` — so diffs compare meaning, not text: libvirt adds defaults
 * (addresses, controllers, currentMemory), converts units and expands the machine alias.
 */
import type { OwnerTag } from "../../lib/libvirt/ownership";
import { isBmcMediaDisk } from "./bmc-media";
import { XmlNode, attr, child, children, parseXml, text } from "./xml";

export interface DiskFacts {
    type?: string;
    device?: string;
    pool?: string;
    volume?: string;
    file?: string;
    target?: string;
    bus?: string;
    format?: string;
    cache?: string;
}

export interface InterfaceFacts {
    type?: string;
    mac?: string;
    bridge?: string;
    model?: string;
}

export interface DomainFacts {
    name?: string;
    uuid?: string;
    type?: string;
    /** Live XML of a running domain carries an `id`; inactive XML never does. */
    running: boolean;
    owner?: OwnerTag;
    memoryKiB?: number;
    vcpus?: number;
    /** Guest architecture (`<os><type arch>`). */
    arch?: string;
    machine?: string;
    firmware?: string;
    firmwareFeatures: Record<string, string>;
    boot: string[];
    disks: DiskFacts[];
    interfaces: InterfaceFacts[];
    consoleLogs: string[];
    graphics: string[];
}

export function domainFacts(xml: string, ownershipNamespace: string): DomainFacts {
    const domain = child(parseXml(xml), "domain");
    if (!domain) {
        throw new Error("not a libvirt domain definition (no <domain> element)");
    }
    const os = child(domain, "os");
    const devices = child(domain, "devices");
    const memory = child(domain, "memory");
    return {
        name: text(child(domain, "name")),
        uuid: text(child(domain, "uuid"))?.toLowerCase(),
        type: attr(domain, "type"),
        running: attr(domain, "id") !== undefined && attr(domain, "id") !== "-1",
        owner: ownerOf(child(domain, "metadata"), ownershipNamespace),
        memoryKiB: memory ? toKiB(text(memory), attr(memory, "unit")) : undefined,
        vcpus: numberOrUndefined(text(child(domain, "vcpu"))),
        arch: attr(child(os, "type"), "arch"),
        machine: attr(child(os, "type"), "machine"),
        firmware: attr(os, "firmware"),
        firmwareFeatures: Object.fromEntries(
            children(child(os, "firmware"), "feature").map((f) => [attr(f, "name") ?? "", attr(f, "enabled") ?? ""]),
        ),
        boot: children(os, "boot").map((b) => attr(b, "dev") ?? ""),
        disks: children(devices, "disk").map(diskFacts),
        interfaces: children(devices, "interface").map((nic) => ({
            type: attr(nic, "type"),
            mac: attr(child(nic, "mac"), "address")?.toLowerCase(),
            bridge: attr(child(nic, "source"), "bridge"),
            model: attr(child(nic, "model"), "type"),
        })),
        consoleLogs: children(devices, "serial")
            .map((s) => attr(child(s, "log"), "file"))
            .filter((f): f is string => f !== undefined),
        graphics: children(devices, "graphics").map((g) => `${attr(g, "type")}@${graphicsListen(g)}`),
    };
}

function diskFacts(disk: XmlNode): DiskFacts {
    const driver = child(disk, "driver");
    const source = child(disk, "source");
    const target = child(disk, "target");
    return {
        type: attr(disk, "type"),
        device: attr(disk, "device"),
        pool: attr(source, "pool"),
        volume: attr(source, "volume"),
        file: attr(source, "file"),
        target: attr(target, "dev"),
        bus: attr(target, "bus"),
        format: attr(driver, "type"),
        // libvirt omits cache='default'; treat a missing mode as the default one.
        cache: attr(driver, "cache") ?? "default",
    };
}

function graphicsListen(graphics: XmlNode): string {
    const listen = child(graphics, "listen");
    return attr(listen, "address") ?? attr(graphics, "listen") ?? attr(listen, "type") ?? "";
}

/**
 * Our ownership element: any prefix, as long as it is bound to our namespace — on the element, or
 * on `<metadata>`: the BMC redefines domains through Python's ElementTree (sushy-tools and
 * VirtualBMC set_boot_device, sushy's InsertMedia), which renames the prefix to `ns0` and declares
 * it on the root, and libvirt then keeps that declaration on `<metadata>`.
 */
function ownerOf(metadata: XmlNode | undefined, namespace: string): OwnerTag | undefined {
    for (const key of Object.keys(metadata ?? {})) {
        const [prefix, local] = key.includes(":") ? key.split(":", 2) : ["", key];
        if (local !== "owner") {
            continue;
        }
        for (const element of children(metadata, key)) {
            const declaration = prefix ? `xmlns:${prefix}` : "xmlns";
            const boundTo = attr(element, declaration) ?? attr(metadata, declaration);
            const project = attr(element, "project");
            const stack = attr(element, "stack");
            if (boundTo === namespace && project !== undefined && stack !== undefined) {
                return { project, stack };
            }
        }
    }
    return undefined;
}

const UNIT_BYTES: Record<string, number> = {
    b: 1,
    bytes: 1,
    kb: 1e3,
    k: 1024,
    kib: 1024,
    mb: 1e6,
    m: 1024 ** 2,
    mib: 1024 ** 2,
    gb: 1e9,
    g: 1024 ** 3,
    gib: 1024 ** 3,
    tb: 1e12,
    t: 1024 ** 4,
    tib: 1024 ** 4,
};

function toKiB(value: string | undefined, unit: string | undefined): number | undefined {
    const amount = numberOrUndefined(value);
    const factor = UNIT_BYTES[(unit ?? "KiB").toLowerCase()];
    return amount === undefined || factor === undefined ? undefined : Math.floor((amount * factor) / 1024);
}

function numberOrUndefined(value: string | undefined): number | undefined {
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

const MACHINE_FAMILIES: Record<string, string> = { q35: "pc-q35-", pc: "pc-i440fx-", virt: "virt-" };

/** libvirt expands machine aliases (q35 -> pc-q35-7.2, pc -> pc-i440fx-7.2, virt -> virt-7.2). */
function machineMatches(desired: string | undefined, live: string | undefined): boolean {
    if (desired === live || desired === undefined) {
        return true;
    }
    const family = MACHINE_FAMILIES[desired];
    return family !== undefined && live !== undefined && live.startsWith(family);
}

/**
 * Names of the fields where the live definition differs from the desired one (empty when in
 * sync). Only fields the desired definition sets are compared; libvirt's own additions are not drift,
 * and neither is what the BMC owns (power state, boot order, virtual media it inserted).
 */
export function domainDrift(desired: DomainFacts, live: DomainFacts): string[] {
    const drift: string[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const compare = (field: string, a: unknown, b: unknown) => {
        if (!same(a, b)) {
            drift.push(field);
        }
    };
    compare("uuid", desired.uuid, live.uuid);
    compare("type", desired.type, live.type);
    compare("owner", desired.owner, live.owner);
    compare("memory", desired.memoryKiB, live.memoryKiB);
    compare("vcpus", desired.vcpus, live.vcpus);
    if (desired.arch !== undefined) {
        compare("arch", desired.arch, live.arch);
    }
    if (!machineMatches(desired.machine, live.machine)) {
        drift.push("machine");
    }
    compare("firmware", desired.firmware, live.firmware);
    compare("firmwareFeatures", sortedEntries(desired.firmwareFeatures), sortedEntries(live.firmwareFeatures));
    // Not compared: the boot order (`boot` here, per-device <boot order> in no field at all). After
    // create the BMC owns it (DESIGN.md decision 8): VirtualBMC's set-boot-device rewrites it on
    // every PXE boot job, so it is never drift, and updates carry it over (domain-edit.ts).
    // The CD a Redfish InsertMedia added (bmc-media.ts) is the BMC's until it ejects it.
    compare(
        "disks",
        desired.disks,
        live.disks.filter((disk) => !isBmcMediaDisk(disk, live.uuid)),
    );
    compare("interfaces", desired.interfaces, live.interfaces);
    compare("consoleLog", desired.consoleLogs, live.consoleLogs);
    compare("graphics", desired.graphics, live.graphics);
    return drift;
}

function sortedEntries(record: Record<string, string>): [string, string][] {
    return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
