/**
 * Virtual media the BMC inserts: Tinkerbell's isoboot BMC job calls Redfish InsertMedia, and
 * sushy-tools (2.2.0, sushy_tools/emulator/resources/systems/libvirtdriver.py) then
 *
 * - uploads the image as a raw volume named `<image file name, '.' as '-'>-<domain UUID>.img` into
 *   the pool SUSHY_EMULATOR_STORAGE_POOL names — the stack's own pool (lib/render/virtual-bmc.ts) —
 *   replacing a volume of that name (`_upload_image`);
 * - adds `<disk type='file' device='cdrom'>` with that volume's path as `<source file>` to the
 *   domain's persistent definition (`_add_boot_image`), and set_boot_device may give it a
 *   `<boot order>`.
 *
 * EjectMedia only drops the cdrom from the definition (`_remove_boot_images`); the volume stays.
 *
 * Like the boot order (DESIGN.md decision 8), this is BMC-owned state: not drift, and kept by an
 * update. The volume is the stack's: it lives in the stack's pool (addressed by the pool's derived
 * UUID) and its name ends in the domain's UUID, which is derived from (project, stack, name)
 * (lib/libvirt/ownership.ts), so no other stack's or user's domain has it. The Domain provider
 * removes these volumes with the domain, before its pool is deleted.
 */
import type { DiskFacts } from "./domain-facts";

/** Devices sushy-tools attaches media as (its BOOT_DEVICE_MAP: Cd -> cdrom, Floppy -> floppy). */
const MEDIA_DEVICES: readonly string[] = ["cdrom", "floppy"];

/** True for a volume name or path sushy-tools gives an image it uploaded for the domain `domainUuid`. */
export function isBmcMediaName(nameOrPath: string, domainUuid: string | undefined): boolean {
    if (!domainUuid) {
        return false;
    }
    const base = nameOrPath.slice(nameOrPath.lastIndexOf("/") + 1);
    const suffix = `-${domainUuid.toLowerCase()}.img`;
    return base.length > suffix.length && base.toLowerCase().endsWith(suffix);
}

/** True for a disk the BMC inserted into the domain `domainUuid` (see the file comment). */
export function isBmcMediaDisk(disk: DiskFacts, domainUuid: string | undefined): boolean {
    return (
        disk.type === "file" &&
        MEDIA_DEVICES.includes(disk.device ?? "") &&
        disk.file !== undefined &&
        isBmcMediaName(disk.file, domainUuid)
    );
}
