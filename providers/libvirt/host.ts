/**
 * Host probes that decide `domainType: auto`. Kept out of the pure builder: they look at the
 * machine (and ask libvirtd), the builder only receives the answer. The Domain provider asks once,
 * when it creates a domain (and records the answer); `npm run render` asks the same question.
 */
import { statSync } from "node:fs";
import { DomainTypeChoice, MachineArch } from "../../lib/config";
import { DomainType, domainTypeFor } from "../../lib/libvirt/domain-xml";
import { isLocalUri } from "../../lib/libvirt/ownership";
import { virsh } from "./virsh";

export { isLocalUri };

function hasKvmDevice(): boolean {
    try {
        return statSync("/dev/kvm").isCharacterDevice();
    } catch {
        return false;
    }
}

/**
 * Whether libvirt can run KVM guests (of `arch`, when given; else of the host's own architecture):
 * for a local URI /dev/kvm must exist, and libvirt itself must report a kvm domain type for that
 * architecture (it checks that its QEMU user can open /dev/kvm, and KVM only runs guests of the
 * host's architecture, so an aarch64 guest on an x86_64 host is answered "no"). A host whose
 * nested KVM is broken still passes; set domainType: qemu there.
 */
export async function kvmUsable(uri: string, arch?: MachineArch): Promise<boolean> {
    if (isLocalUri(uri) && !hasKvmDevice()) {
        return false;
    }
    try {
        const args = ["domcapabilities", "--virttype", "kvm", ...(arch ? ["--arch", arch] : [])];
        const capabilities = await virsh(uri, args, "kvm capabilities");
        return /<domain>kvm<\/domain>/.test(capabilities);
    } catch {
        return false;
    }
}

export async function resolveDomainType(
    choice: DomainTypeChoice,
    uri: string,
    arch?: MachineArch,
): Promise<DomainType> {
    return domainTypeFor(choice, choice === "auto" ? await kvmUsable(uri, arch) : false);
}
