/**
 * machineArch aarch64 against a real libvirtd: the Domain provider defines the builder's aarch64
 * definition, resolves `domainType: auto` for that architecture (emulated on an x86_64 host), and
 * the guest really starts on libvirt's auto-selected AAVMF firmware and tries the network first.
 * Needs qemu-system-aarch64 and the AAVMF firmware (Debian: qemu-system-arm, qemu-efi-aarch64).
 */
import * as fs from "node:fs";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { DomainOutputs, domainProvider } from "../../providers/libvirt/domain";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import * as host from "../../providers/libvirt/host";
import { poolProvider } from "../../providers/libvirt/pool";
import { volumeProvider } from "../../providers/libvirt/volume";
import { TEST_URI, describeWithLibvirtArch, nvramFile, virshOk, virshSync } from "./gate";
import { TestLab, createTestLab } from "./lab";

const BOOT_TIMEOUT_MS = 150_000;

/** Waits until the file contains `pattern` (the guest's serial console, written by virtlogd). */
async function waitForConsole(file: string, pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = "";
    while (Date.now() < deadline) {
        text = fs.existsSync(file) ? fs.readFileSync(file, "latin1") : "";
        if (pattern.test(text)) {
            return text;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(`${pattern} did not appear on the console within ${timeoutMs / 1000} s; it shows:\n${text}`);
}

describeWithLibvirtArch("aarch64", "aarch64 domains against a real libvirtd", () => {
    let lab: TestLab;

    beforeAll(async () => {
        lab = createTestLab();
        await poolProvider.create(lab.pool);
    });
    afterAll(() => lab?.cleanup());

    test(
        "auto resolves to the type this host can run, the domain boots AAVMF into network boot, delete removes it",
        async () => {
            const name = lab.objectName("arm");
            await volumeProvider.create(lab.volume(`${name}.qcow2`, 1));
            const inputs = lab.domain(name, { arch: "aarch64", type: "auto", graphics: "vnc" }, true);
            const checked = await domainProvider.check!({} as never, inputs);
            expect(checked.failures).toEqual([]);
            const outs = (await domainProvider.create(checked.inputs!)).outs as DomainOutputs;

            // KVM runs guests of the host's own architecture only.
            const expected = (await host.kvmUsable(TEST_URI, "aarch64")) ? "kvm" : "qemu";
            if (process.arch === "x64") {
                expect(expected).toBe("qemu");
            }
            expect(outs.resolvedType).toBe(expected);

            expect(domainFacts(virshOk("dumpxml", "--inactive", name), OWNERSHIP_NAMESPACE)).toMatchObject({
                type: expected,
                arch: "aarch64",
                firmware: "efi",
                boot: ["network", "hd"],
            });
            // The running definition: what libvirt resolved when it started the guest.
            const live = virshOk("dumpxml", name);
            expect(domainFacts(live, OWNERSHIP_NAMESPACE).machine).toMatch(/^virt-/);
            expect(live).toMatch(/<emulator>[^<]*qemu-system-aarch64<\/emulator>/);
            // Auto-selection picked a read-only pflash AArch64 UEFI build with a per-domain NVRAM copy.
            expect(live).toMatch(/<loader readonly='yes' type='pflash'>[^<]*(AAVMF|aarch64)[^<]*<\/loader>/i);
            expect(live).toMatch(new RegExp(`<nvram template='[^']+'>${nvramFile(name)}</nvram>`));

            const log = lab.spec(name).consoleLogPath;
            const serial = await waitForConsole(log, /Start PXE over IPv4/, BOOT_TIMEOUT_MS);
            expect(serial).toMatch(/UEFI firmware/);

            expect(await domainProvider.diff!(name, outs, inputs)).toMatchObject({ changes: false });

            await domainProvider.delete!(name, outs);
            expect(virshSync("domuuid", name).status).not.toBe(0);
            expect(fs.existsSync(nvramFile(name))).toBe(false);
            expect(fs.existsSync(log)).toBe(false);
        },
        BOOT_TIMEOUT_MS + 60_000,
    );
});
