/**
 * Preflight: libvirt, UEFI firmware and KVM. Pure.
 */
import { LabConfig, MachineArch } from "../config";
import { isLocalUri } from "../libvirt/ownership";
import {
    AARCH64_PACKAGES,
    AAVMF_FILES,
    Finding,
    firmwareForArch,
    firstLine,
    HostFacts,
    hostMachineArch,
    remoteNote,
    succeeded,
} from "./facts";

// libvirt, firmware, KVM

export function checkLibvirt(config: LabConfig, facts: HostFacts): Finding {
    const check = "libvirt";
    const uri = config.libvirtUri;
    const probe = facts.libvirtVersion;
    if (succeeded(probe)) {
        const library = /Using library: libvirt (\S+)/.exec(probe.value)?.[1];
        return { check, status: "ok", message: `libvirtd answers at ${uri}${library ? ` (libvirt ${library})` : ""}` };
    }
    if (probe.notInstalled) {
        return {
            check,
            status: "error",
            message: "virsh is not installed",
            fix: "install libvirt: sudo apt install libvirt-daemon-system libvirt-clients qemu-system-x86 (Debian/Ubuntu) or sudo dnf install libvirt qemu-kvm (Fedora)",
        };
    }
    const permissionDenied = /permission denied|authentication (failed|unavailable)/i.test(probe.error);
    return {
        check,
        status: "error",
        message: `libvirtd is not reachable at ${uri}: ${firstLine(probe.error)}`,
        fix: permissionDenied
            ? "let your user manage libvirt: sudo usermod -aG libvirt $USER, then log out and in again"
            : `start libvirtd (sudo systemctl enable --now libvirtd) and check that \`virsh -c ${uri} version\` works`,
    };
}

/** The `<value>`s inside the first `<tag name='name'>...</tag>` (or `<tag ...>` when name is omitted). */
function xmlValues(xml: string, tag: string, name?: string): string[] | undefined {
    const open = name ? `<${tag}\\s+name=['"]${name}['"][^>]*>` : `<${tag}\\b[^>]*>`;
    const block = new RegExp(`${open}([\\s\\S]*?)</${tag}>`).exec(xml);
    if (!block) {
        return undefined;
    }
    return [...block[1].matchAll(/<value>([^<]*)<\/value>/g)].map((m) => m[1].trim());
}

/**
 * The domains use libvirt's firmware auto-selection (`<os firmware='efi'>`), which works when the
 * domain capabilities list `efi` in the firmware enum. Libvirt too old for that enum still lists
 * loader images, which is the best remaining sign.
 */
export function domainCapabilitiesOfferEfi(xml: string): boolean {
    const os = /<os\b[^>]*>([\s\S]*?)<\/os>/.exec(xml)?.[1] ?? "";
    const firmware = xmlValues(os, "enum", "firmware");
    if (firmware !== undefined) {
        return firmware.includes("efi");
    }
    const loaderBlock = /<loader\b[^>]*>([\s\S]*?)<\/loader>/.exec(os)?.[1] ?? "";
    return /<value>\s*\//.test(loaderBlock);
}

/** aarch64 VMs need QEMU's aarch64 system emulator; libvirt picks it from the host. */
export function checkQemuAarch64(config: LabConfig, facts: HostFacts): Finding {
    const check = "qemu-aarch64";
    const probe = facts.qemuAarch64Version;
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: `${remoteNote(config)} (the firmware check asks libvirt there)` };
    }
    if (probe === undefined) {
        return { check, status: "ok", message: "not checked: qemu-system-aarch64 was not probed" };
    }
    if (!succeeded(probe)) {
        return {
            check,
            status: "error",
            message: probe.notInstalled
                ? "machineArch is aarch64 but qemu-system-aarch64 is not installed (not on PATH)"
                : `machineArch is aarch64 but \`qemu-system-aarch64 --version\` failed: ${firstLine(probe.error)}`,
            fix: `${AARCH64_PACKAGES}; or set machineArch to x86_64`,
        };
    }
    return { check, status: "ok", message: `${firstLine(probe.value)} for machineArch aarch64` };
}

/**
 * aarch64 firmware on this host: Debian's AAVMF pair, or any aarch64 firmware descriptor (other
 * distributions' layouts), which is what libvirt's auto-selection reads.
 */
function aarch64FirmwareProblem(facts: HostFacts): string | undefined {
    const missing = AAVMF_FILES.filter((file) => !facts.firmwareFiles.includes(file));
    const descriptors = facts.firmwareFiles.filter(
        (file) => file.endsWith(".json") && firmwareForArch(file, "aarch64"),
    );
    return missing.length === 0 || descriptors.length > 0 ? undefined : `${missing.join(" and ")} missing`;
}

export function checkFirmware(config: LabConfig, facts: HostFacts): Finding {
    const check = "firmware";
    const aarch64 = config.machineArch === "aarch64";
    const machine = aarch64 ? "aarch64 virt" : "q35";
    const fix = aarch64
        ? `install UEFI firmware for aarch64 (AAVMF): ${AARCH64_PACKAGES}; or set machineArch to x86_64`
        : "install UEFI firmware for QEMU: sudo apt install ovmf (Debian/Ubuntu) or sudo dnf install edk2-ovmf (Fedora), then restart libvirtd";
    const caps = facts.libvirtDomainCapabilities;
    const local = isLocalUri(config.libvirtUri);
    if (aarch64 && local) {
        // The firmware of an aarch64 guest comes from this host's disk whatever libvirt says.
        const problem = aarch64FirmwareProblem(facts);
        if (problem) {
            return {
                check,
                status: "error",
                message: `machineArch is aarch64 but no aarch64 UEFI firmware is installed: ${problem}`,
                fix,
            };
        }
    }
    if (succeeded(caps)) {
        return domainCapabilitiesOfferEfi(caps.value)
            ? { check, status: "ok", message: `libvirt offers UEFI firmware for ${machine} machines` }
            : { check, status: "error", message: `libvirt lists no UEFI firmware for ${machine} machines`, fix };
    }
    // libvirt could not be asked (reported by the libvirt check); judge from the files on disk.
    const files = facts.firmwareFiles.filter((file) => firmwareForArch(file, config.machineArch));
    if (files.length > 0) {
        return {
            check,
            status: "ok",
            message: `UEFI firmware for ${machine} machines found on disk (${files[0]}); libvirt itself could not be asked`,
        };
    }
    return {
        check,
        status: "error",
        message: `no UEFI firmware for ${machine} machines found: libvirt could not be asked (${firstLine(caps.error)}) and no ${
            aarch64 ? "AAVMF" : "OVMF"
        } files exist`,
        fix,
    };
}

/** What libvirt's domain capabilities say about KVM, or undefined when libvirt could not be asked. */
function libvirtOffersKvm(facts: HostFacts): boolean | undefined {
    const caps = facts.libvirtDomainCapabilities;
    // Without --virttype, libvirt answers for kvm when it can run KVM guests and for qemu otherwise.
    return succeeded(caps) ? /<domain>\s*kvm\s*<\/domain>/.test(caps.value) : undefined;
}

/**
 * Why KVM cannot be used; "usable" when it can, "unknown" when nothing tells. Follows
 * providers/libvirt/host.ts, which resolves `domainType: auto`: a local /dev/kvm must exist, and
 * libvirt's own answer wins (with qemu:///system it is libvirt's QEMU user, not you, that opens
 * /dev/kvm). Only when libvirt cannot be asked does the current user's access decide.
 */
function kvmProblem(config: LabConfig, facts: HostFacts): { reason: string; fix: string } | "usable" | "unknown" {
    const device = facts.kvmDevice;
    const local = isLocalUri(config.libvirtUri);
    const enable =
        "enable virtualization (VT-x/AMD-V) in the firmware setup and load kvm_intel or kvm_amd; inside a VM, enable nested virtualization";
    if (local && succeeded(device) && device.value === "missing") {
        return { reason: "/dev/kvm does not exist", fix: enable };
    }
    const libvirtSays = libvirtOffersKvm(facts);
    if (libvirtSays === true) {
        return "usable";
    }
    if (libvirtSays === false) {
        return {
            reason: `libvirt at ${config.libvirtUri} cannot run KVM guests`,
            fix: local ? `${enable}; check that libvirt's QEMU user is in the kvm group` : enable,
        };
    }
    if (!local) {
        return "unknown"; // remote libvirt that could not be asked: the libvirt check reports it
    }
    if (!succeeded(device)) {
        return { reason: `/dev/kvm could not be checked (${firstLine(device.error)})`, fix: enable };
    }
    if (device.value === "no-access") {
        return {
            reason: "you cannot read and write /dev/kvm",
            fix: "sudo usermod -aG kvm $USER, then log out and in again",
        };
    }
    return "usable";
}

export function checkKvm(config: LabConfig, facts: HostFacts): Finding {
    const check = "kvm";
    if (config.domainType === "qemu") {
        return { check, status: "ok", message: "not used: domainType is qemu (software emulation)" };
    }
    const hostArch = hostMachineArch(facts.arch);
    const machineArch: MachineArch = config.machineArch;
    if (isLocalUri(config.libvirtUri) && hostArch !== machineArch) {
        // KVM runs guests of the host's own architecture only.
        const emulated = `machineArch ${machineArch} on this ${hostArch} host runs under software emulation (TCG) only`;
        return config.domainType === "kvm"
            ? {
                  check,
                  status: "error",
                  message: `domainType is kvm but ${emulated}`,
                  fix: `set domainType to auto or qemu (pulumi config set domainType qemu), or run the lab on an ${machineArch} host`,
              }
            : { check, status: "ok", message: `not used: ${emulated}, which is slow` };
    }
    const problem = kvmProblem(config, facts);
    if (problem === "usable") {
        return { check, status: "ok", message: "KVM is usable; the machines run hardware-accelerated" };
    }
    if (problem === "unknown") {
        return { check, status: "ok", message: `not checked: libvirt at ${config.libvirtUri} could not be asked` };
    }
    if (config.domainType === "kvm") {
        return {
            check,
            status: "error",
            message: `domainType is kvm but KVM is not usable: ${problem.reason}`,
            fix: `${problem.fix}; or set domainType to auto or qemu (slow software emulation)`,
        };
    }
    return {
        check,
        status: "warning",
        message: `KVM is not usable (${problem.reason}): the machines fall back to qemu/TCG emulation, which is slow`,
        fix: `${problem.fix}; or set domainType to qemu to accept emulation`,
    };
}
