/**
 * Edits the Domain provider makes to the builder's XML before defining it:
 *
 * - `retypeDomain`: `domainType: auto` is resolved by the provider against the domain's own libvirt
 *   URI (not by the program), so the builder renders the KVM form and the provider turns it into the
 *   TCG form when that host cannot run KVM guests. Only the two places the builder derives from the
 *   type change (lib/libvirt/domain-xml.ts, CPU_MODE).
 * - `keepLiveBootOrder`: after create the BMC owns the boot order (DESIGN.md decision 8). VirtualBMC's
 *   set-boot-device drops every `<os><boot>` and every per-device `<boot order=…>` and appends one
 *   `<os><boot dev=…>`; a redefinition for another reason (memory, vCPUs, …) must carry that choice
 *   over instead of restoring the initial order.
 * - `keepBmcMedia`: the CD a Redfish InsertMedia added (bmc-media.ts) is BMC-owned as well; a
 *   redefinition carries it over (apply before keepLiveBootOrder, which then keeps its boot order).
 *
 * Pulumi serializes the provider, so xmlbuilder2 is required inside the functions (see xml.ts).
 */
import type { DomainType } from "../../lib/libvirt/domain-xml";
import { isBmcMediaName } from "./bmc-media";

/** The DOM subset of xmlbuilder2's nodes used here. */
interface DomElement {
    nodeName: string;
    nodeType: number;
    textContent: string | null;
    childNodes: ArrayLike<DomElement>;
    parentNode: DomElement | null;
    getAttribute(name: string): string | null;
    setAttribute(name: string, value: string): void;
    removeChild(node: DomElement): void;
    appendChild(node: DomElement): void;
}
interface DomDocument {
    createElement(name: string): DomElement;
    importNode(node: DomElement, deep: boolean): DomElement;
}

const ELEMENT_NODE = 1;

function parse(xml: string): { root: DomElement; document: DomDocument; serialize: () => string } {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
    const { create } = require("xmlbuilder2") as typeof import("xmlbuilder2");
    const doc = create(xml);
    return {
        root: doc.root().node as unknown as DomElement,
        document: doc.node as unknown as DomDocument,
        // The builder's own formatting (domain-xml.ts), so an unchanged document reads the same.
        serialize: () => doc.end({ prettyPrint: true, headless: true, indent: "  " }) + "\n",
    };
}

function elements(parent: DomElement | undefined, name?: string): DomElement[] {
    return Array.from(parent?.childNodes ?? []).filter(
        (node) => node.nodeType === ELEMENT_NODE && (name === undefined || node.nodeName === name),
    );
}

/** The builder's XML for `type`; the CPU modes are the builder's (passed in, so one table rules). */
export function retypeDomain(xml: string, type: DomainType, cpuModes: Record<DomainType, string>): string {
    const { root, serialize } = parse(xml);
    if (root.getAttribute("type") === type) {
        return xml;
    }
    root.setAttribute("type", type);
    for (const cpu of elements(root, "cpu")) {
        cpu.setAttribute("mode", cpuModes[type]);
    }
    return serialize();
}

/** How a device is found again in another definition of the same domain. */
function deviceKey(device: DomElement): string | undefined {
    if (device.nodeName === "disk") {
        const dev = elements(device, "target")[0]?.getAttribute("dev");
        return dev ? `disk:${dev}` : undefined;
    }
    if (device.nodeName === "interface") {
        const mac = elements(device, "mac")[0]?.getAttribute("address");
        return mac ? `interface:${mac.toLowerCase()}` : undefined;
    }
    return undefined;
}

interface LiveBoot {
    osDevs: string[];
    /** Per-device `<boot order>` by deviceKey. */
    deviceOrders: Map<string, string>;
}

function liveBoot(liveXml: string): LiveBoot {
    const { root } = parse(liveXml);
    const os = elements(root, "os")[0];
    const deviceOrders = new Map<string, string>();
    for (const device of elements(elements(root, "devices")[0])) {
        const order = elements(device, "boot")[0]?.getAttribute("order");
        const key = deviceKey(device);
        if (order && key) {
            deviceOrders.set(key, order);
        }
    }
    return {
        osDevs: elements(os, "boot")
            .map((boot) => boot.getAttribute("dev"))
            .filter((dev): dev is string => !!dev),
        deviceOrders,
    };
}

/**
 * `desiredXml` with its boot configuration replaced by the one in `liveXml` (os-level `<boot dev>`
 * or per-device `<boot order>`, which libvirt keeps mutually exclusive). When the live definition
 * has no boot configuration that applies to the desired devices, the desired one stays.
 */
export function keepLiveBootOrder(desiredXml: string, liveXml: string): string {
    const live = liveBoot(liveXml);
    const { root, document, serialize } = parse(desiredXml);
    const os = elements(root, "os")[0];
    const devices = elements(elements(root, "devices")[0]);
    const matched = devices.filter((device) => live.deviceOrders.has(deviceKey(device) ?? ""));
    if (!os || (live.osDevs.length === 0 && matched.length === 0)) {
        return desiredXml;
    }
    const desiredOs = elements(os, "boot").map((boot) => boot.getAttribute("dev"));
    const desiredDevices = devices.some((device) => elements(device, "boot").length > 0);
    if (matched.length === 0 && !desiredDevices && JSON.stringify(desiredOs) === JSON.stringify(live.osDevs)) {
        return desiredXml; // already the live order: leave the text exactly as rendered
    }
    for (const boot of elements(os, "boot")) {
        os.removeChild(boot);
    }
    for (const device of devices) {
        for (const boot of elements(device, "boot")) {
            device.removeChild(boot);
        }
    }
    for (const dev of live.osDevs) {
        const boot = document.createElement("boot");
        boot.setAttribute("dev", dev);
        os.appendChild(boot);
    }
    if (live.osDevs.length === 0) {
        for (const device of matched) {
            const boot = document.createElement("boot");
            boot.setAttribute("order", live.deviceOrders.get(deviceKey(device)!)!);
            device.appendChild(boot);
        }
    }
    return serialize();
}

/** The live definition's disks the BMC inserted (type, device and source as sushy-tools writes them). */
function bmcMediaDisks(root: DomElement): DomElement[] {
    const uuid = elements(root, "uuid")[0]?.textContent?.trim();
    return elements(elements(root, "devices")[0], "disk").filter((disk) => {
        const file = elements(disk, "source")[0]?.getAttribute("file");
        const media = ["cdrom", "floppy"].includes(disk.getAttribute("device") ?? "");
        return disk.getAttribute("type") === "file" && media && !!file && isBmcMediaName(file, uuid);
    });
}

/**
 * `desiredXml` plus the virtual media the BMC inserted into `liveXml`, copied as they are (target,
 * address, read-only flag, boot order), so a redefinition for another reason does not eject them.
 */
export function keepBmcMedia(desiredXml: string, liveXml: string): string {
    const media = bmcMediaDisks(parse(liveXml).root);
    const { root, document, serialize } = parse(desiredXml);
    const devices = elements(root, "devices")[0];
    if (media.length === 0 || !devices) {
        return desiredXml;
    }
    for (const disk of media) {
        devices.appendChild(document.importNode(disk, true));
    }
    return serialize();
}
