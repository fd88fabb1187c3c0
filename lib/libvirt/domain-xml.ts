/**
 * libvirt domain XML for one lab machine. Pure: the same function feeds `npm run render` and the
 * Domain resource, so the rendered file is exactly what `pulumi up` defines.
 *
 * The shape follows the CAPT playground's virt-install flags (UEFI with auto-selected firmware,
 * bridged virtio NIC with the planned MAC, virtio disk), with the differences DESIGN.md decides:
 * secure boot off, boot order in `<os>` (the form VirtualBMC rewrites), a disk from the stack's
 * pool, a logged serial console and an ownership tag.
 *
 * `machineArch: aarch64` gives the same machine on QEMU's `virt` board: UEFI from the same
 * auto-selection (libvirt's firmware descriptors map aarch64 `virt-*` to AAVMF: AAVMF_CODE.fd with
 * an AAVMF_VARS.fd template on Debian and Ubuntu), and no device the board lacks (see ARCH_PROFILES).
 * The emulator is left to libvirt, which picks the host's binary for the guest architecture
 * (qemu-system-aarch64), so no distribution's path is written into the definition.
 */
import * as path from "node:path";
import { create } from "xmlbuilder2";
import type { XMLBuilder } from "xmlbuilder2/lib/interfaces";
import { DiskCache, DomainTypeChoice, Graphics, LabConfig, MachineArch } from "../config";
import { LabPlan, PlannedMachine } from "../plan";
import { OWNERSHIP_NAMESPACE, OWNERSHIP_PREFIX, OwnerTag, ownedUuid } from "./ownership";

export type DomainType = "kvm" | "qemu";

/** Everything the builder needs; plain data so it can travel as a Pulumi input. */
export interface DomainSpec {
    name: string;
    /** Derived from owner and name (see ownership.ts), so redefinition keeps it. */
    uuid: string;
    owner: OwnerTag;
    /**
     * The configured choice. `auto` is resolved where the domain is defined — by the Domain provider
     * against the domain's own libvirt URI, once at create — so the program's inputs do not depend on
     * whether it probed the host (config `preflight`) or on the host's KVM state at a later `up`.
     */
    type: DomainTypeChoice;
    /** Guest architecture (config machineArch); x86_64 when absent. */
    arch?: MachineArch;
    memoryMiB: number;
    vcpus: number;
    network: { mac: string; bridge: string };
    disk: { pool: string; volume: string; cache: DiskCache };
    /** Serial console log; inside the stack's pool directory so the provider can remove it through libvirt. */
    consoleLogPath: string;
    /** The second serial port's log, where the OSIE writes (x86_64 only; see ArchProfile.osieSerial). */
    osieLogPath?: string;
    graphics: Graphics;
}

/** Boot order the VMs start with: network first (Tinkerbell), then the installed disk. */
export const BOOT_ORDER = ["network", "hd"] as const;
export const DISK_TARGET = "vda";

/** What differs per guest architecture; everything else in the definition is shared. */
export interface ArchProfile {
    /** Machine type alias; libvirt expands it to the newest versioned type (pc-q35-7.2, virt-7.2). */
    machine: string;
    /** `<features>` children: the x86 APIC has no place on the Arm board (its GIC is the board's default). */
    features: readonly string[];
    /**
     * What VNC needs beyond `<graphics>`. On q35 libvirt adds a VGA card and the PS/2 keyboard and
     * mouse itself; the `virt` board has neither and libvirt adds no USB controller to it, so it gets
     * a virtio GPU and a USB keyboard and tablet on an XHCI controller (the firmware's menus take
     * USB keyboards, not virtio ones).
     */
    vnc: { video?: string; usbController?: string };
    /**
     * A second UART, logged on its own: Smee's iPXE script boots the OSIE with `console=ttyS1` (the
     * serial-over-LAN port of the servers it was written for), and Linux binds its one 8250 console
     * to the first ttyS it is given, so on a VM with one port the OSIE's boot went nowhere. The
     * firmware, iPXE and the installed OS keep the first port. The `virt` board has one PL011.
     */
    osieSerial: boolean;
}

export const ARCH_PROFILES: Record<MachineArch, ArchProfile> = {
    x86_64: { machine: "q35", features: ["acpi", "apic"], vnc: {}, osieSerial: true },
    aarch64: {
        machine: "virt",
        features: ["acpi"],
        vnc: { video: "virtio", usbController: "qemu-xhci" },
        osieSerial: false,
    },
};

/** CPU model per domain type; the Domain provider uses the same table when it resolves `auto`. */
export const CPU_MODE: Record<DomainType, string> = {
    // Modern guest kernels need more than QEMU's default qemu64 model: pass the host CPU through
    // under KVM, and emulate everything TCG can ('maximum') without it.
    kvm: "host-passthrough",
    qemu: "maximum",
};

/**
 * `auto` means kvm when the host can really run KVM guests of the domain's architecture (probed
 * outside this pure module, see providers/libvirt/host.ts): an aarch64 guest on an x86_64 host is
 * always emulated (TCG), whatever /dev/kvm says.
 */
export function domainTypeFor(choice: DomainTypeChoice, kvmUsable: boolean): DomainType {
    if (choice === "auto") {
        return kvmUsable ? "kvm" : "qemu";
    }
    return choice;
}

export function machineVolumeName(machine: Pick<PlannedMachine, "name">): string {
    return `${machine.name}.qcow2`;
}

/** Where the machines' serial consoles are logged: the stack's storage directory. */
export function consoleLogDir(plan: LabPlan): string {
    return plan.libvirt.storageDir;
}

export function consoleLogPath(plan: LabPlan, machine: Pick<PlannedMachine, "name">): string {
    return path.posix.join(consoleLogDir(plan), `${machine.name}.console.log`);
}

/** The OSIE's serial log (ttyS1) beside the console log. */
export function osieLogPath(plan: LabPlan, machine: Pick<PlannedMachine, "name">): string {
    return path.posix.join(consoleLogDir(plan), `${machine.name}.osie.log`);
}

/** The builder's input for one planned machine; `domainType` stays the configured choice. */
export function domainSpecFor(config: LabConfig, plan: LabPlan, machine: PlannedMachine): DomainSpec {
    const owner = { project: plan.project, stack: plan.stack };
    return {
        name: machine.name,
        uuid: ownedUuid("domain", owner, machine.name),
        owner,
        type: config.domainType,
        arch: config.machineArch,
        memoryMiB: config.vmMemoryMiB,
        vcpus: config.vmCpus,
        network: { mac: machine.mac, bridge: plan.network.bridge },
        disk: { pool: plan.libvirt.poolName, volume: machineVolumeName(machine), cache: config.vmDiskCache },
        consoleLogPath: consoleLogPath(plan, machine),
        ...(ARCH_PROFILES[config.machineArch].osieSerial ? { osieLogPath: osieLogPath(plan, machine) } : {}),
        graphics: config.vmGraphics,
    };
}

/**
 * The definition for `spec`. `kvmUsable` resolves `type: auto`: render passes the host's answer;
 * the Domain resource keeps the default (the KVM form), which its provider turns into the TCG form
 * at create when the domain's libvirt host cannot run KVM guests (providers/libvirt/domain-edit.ts).
 */
export function buildDomainXml(spec: DomainSpec, kvmUsable = true): string {
    const type = domainTypeFor(spec.type, kvmUsable);
    const domain = create().ele("domain", { type });
    domain.ele("name").txt(spec.name);
    domain.ele("uuid").txt(spec.uuid);
    domain.ele("metadata").ele(OWNERSHIP_NAMESPACE, `${OWNERSHIP_PREFIX}:owner`, {
        project: spec.owner.project,
        stack: spec.owner.stack,
    });
    domain.ele("memory", { unit: "MiB" }).txt(String(spec.memoryMiB));
    domain.ele("vcpu").txt(String(spec.vcpus));
    const arch = spec.arch ?? "x86_64";
    const profile = ARCH_PROFILES[arch];
    addOs(domain, arch, profile);
    const features = domain.ele("features");
    for (const feature of profile.features) {
        features.ele(feature);
    }
    domain.ele("cpu", { mode: CPU_MODE[type] });
    domain.ele("clock", { offset: "utc" });
    domain.ele("on_poweroff").txt("destroy");
    domain.ele("on_reboot").txt("restart");
    domain.ele("on_crash").txt("destroy");
    addDevices(domain.ele("devices"), spec, profile);
    return domain.end({ prettyPrint: true, headless: true, indent: "  " }) + "\n";
}

function addOs(domain: XMLBuilder, arch: MachineArch, profile: ArchProfile): void {
    // firmware='efi' lets libvirt pick the OVMF (x86_64) or AAVMF (aarch64) build matching the
    // features below; with secure boot and enrolled keys off it picks the plain build, so unsigned
    // iPXE and CaptainOS boot.
    const os = domain.ele("os", { firmware: "efi" });
    os.ele("type", { arch, machine: profile.machine }).txt("hvm");
    os.ele("firmware")
        .ele("feature", { enabled: "no", name: "enrolled-keys" })
        .up()
        .ele("feature", { enabled: "no", name: "secure-boot" });
    for (const dev of BOOT_ORDER) {
        os.ele("boot", { dev });
    }
}

function addDevices(devices: XMLBuilder, spec: DomainSpec, profile: ArchProfile): void {
    const disk = devices.ele("disk", { type: "volume", device: "disk" });
    disk.ele("driver", { name: "qemu", type: "qcow2", cache: spec.disk.cache });
    disk.ele("source", { pool: spec.disk.pool, volume: spec.disk.volume });
    disk.ele("target", { dev: DISK_TARGET, bus: "virtio" });

    const nic = devices.ele("interface", { type: "bridge" });
    nic.ele("mac", { address: spec.network.mac });
    nic.ele("source", { bridge: spec.network.bridge });
    nic.ele("model", { type: "virtio" });

    // A pty keeps `virsh console` working; virtlogd copies everything to the log file as well.
    const serial = devices.ele("serial", { type: "pty" });
    serial.ele("log", { file: spec.consoleLogPath, append: "on" });
    serial.ele("target", { port: "0" });
    devices.ele("console", { type: "pty" }).ele("target", { type: "serial", port: "0" });
    if (spec.osieLogPath && profile.osieSerial) {
        const osie = devices.ele("serial", { type: "pty" });
        osie.ele("log", { file: spec.osieLogPath, append: "on" });
        osie.ele("target", { port: "1" });
    }

    if (spec.graphics === "vnc") {
        devices
            .ele("graphics", { type: "vnc", autoport: "yes", listen: "127.0.0.1" })
            .ele("listen", { type: "address", address: "127.0.0.1" });
        if (profile.vnc.usbController) {
            devices.ele("controller", { type: "usb", model: profile.vnc.usbController });
            devices.ele("input", { type: "keyboard", bus: "usb" });
            devices.ele("input", { type: "tablet", bus: "usb" });
        }
        if (profile.vnc.video) {
            devices.ele("video").ele("model", { type: profile.vnc.video });
        }
    }
    devices.ele("rng", { model: "virtio" }).ele("backend", { model: "random" }).txt("/dev/urandom");
}
