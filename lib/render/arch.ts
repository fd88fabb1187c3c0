/**
 * Names that depend on the machines' architecture (config machineArch). Pure.
 *
 * Tinkerbell and CaptainOS name architectures as the kernel does (x86_64, aarch64): Hardware's
 * `dhcp.arch`, the suffix Smee appends to the kernel and initrd, the CaptainOS ISO. CAPT's OS images
 * are tagged with Go/OCI names (amd64, arm64).
 */
import { MachineArch } from "../config";

/** The architecture as Hardware `dhcp.arch` and CaptainOS's artifact names spell it. */
export function osieArch(arch: MachineArch): string {
    return arch;
}

/** The architecture suffix of CAPT's OS image tags (`<os>-<kubernetes>-<suffix>.gz`). */
export const OS_IMAGE_ARCH: Readonly<Record<MachineArch, string>> = { x86_64: "amd64", aarch64: "arm64" };

/**
 * The root filesystem's partition number in CAPT's OS images. Both start with the EFI system
 * partition (p1); the amd64 image adds a BIOS boot partition for GRUB's BIOS stage next (p2), so its
 * root is p3, while the arm64 image is EFI-only and its root is p2. (CAPT image-builder: mkosi.repart/
 * holds 00-esp and 10-root, mkosi.repart.amd64/ adds 05-bios, and mkosi.conf.d/20-amd64.conf is the
 * only drop-in that uses that directory.)
 */
export const ROOT_PARTITION: Readonly<Record<MachineArch, number>> = { x86_64: 3, aarch64: 2 };

/** The EFI system partition (kernel and grub.cfg), the first partition on every arch. */
export const ESP_PARTITION = 1;
