/**
 * Shared gate and fixtures for the libvirt tests. Without virsh or a reachable libvirtd the suites
 * skip with a visible reason on a developer machine, but fail under CI (CI=true), where a skipped
 * libvirt suite would hide a broken setup.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MachineArch } from "../../lib/config";
import { ARCH_PROFILES } from "../../lib/libvirt/domain-xml";
import { describeWhenReady } from "../prerequisites";

export const TEST_URI = process.env.LIBVIRT_TEST_URI ?? "qemu:///system";

/** Why the suite cannot run here, or undefined when it can. */
function missingPrerequisite(commands: string[][]): string | undefined {
    for (const [command, ...args] of commands) {
        const result = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
        if (result.error) {
            return `'${command}' is not installed (${result.error.message})`;
        }
        if (result.status !== 0) {
            return `'${[command, ...args].join(" ")}' failed: ${(result.stderr || result.stdout).trim()}`;
        }
    }
    return undefined;
}

function gatedDescribe(commands: string[][], title: string, body: () => void): void {
    describeWhenReady(title, missingPrerequisite(commands), "the libvirt test prerequisites", body);
}

/** Suites that need a running libvirtd reachable at TEST_URI. */
export function describeWithLibvirt(title: string, body: () => void): void {
    gatedDescribe([["virsh", "-c", TEST_URI, "version"]], title, body);
}

/**
 * Why libvirt at TEST_URI cannot define and run emulated `arch` guests with UEFI (no emulator for the
 * architecture, or no firmware descriptor for it), or undefined when it can.
 */
function archMissing(arch: MachineArch): string | undefined {
    const args = ["domcapabilities", "--virttype", "qemu", "--arch", arch, "--machine", ARCH_PROFILES[arch].machine];
    const result = spawnSync("virsh", ["-c", TEST_URI, ...args], { encoding: "utf8", timeout: 30_000 });
    if (result.error || result.status !== 0) {
        return `libvirt has no ${arch} emulator: ${(result.stderr || result.error?.message || "").trim()}`;
    }
    return /<enum name='firmware'>\s*<value>efi<\/value>/.test(result.stdout)
        ? undefined
        : `libvirt finds no UEFI firmware for ${arch} guests (no firmware descriptor)`;
}

/**
 * Suites that define emulated guests of another architecture on a real libvirtd: Debian/Ubuntu hosts
 * need qemu-system-arm and qemu-efi-aarch64 for aarch64.
 */
export function describeWithLibvirtArch(arch: MachineArch, title: string, body: () => void): void {
    const missing = missingPrerequisite([["virsh", "-c", TEST_URI, "version"]]) ?? archMissing(arch);
    describeWhenReady(title, missing, `libvirt with ${arch} guests`, body);
}

/** Suites that need libvirt's schema validator. */
export function describeWithXmlValidator(title: string, body: () => void): void {
    gatedDescribe([["virt-xml-validate", "--help"]], title, body);
}

export function virshSync(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("virsh", ["-q", "-c", TEST_URI, ...args], { encoding: "utf8" });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function virshOk(...args: string[]): string {
    const result = virshSync(...args);
    if (result.status !== 0) {
        throw new Error(`virsh ${args.join(" ")} failed: ${result.stderr}`);
    }
    return result.stdout;
}

/** A short unique token for names of test objects (bridges allow 15 characters in all). */
export function uniqueToken(length = 6): string {
    return randomBytes(8).toString("hex").slice(0, length);
}

/** A Linux bridge of the test's own (the domains' NICs attach to it); removed by the returned function. */
export function createTestBridge(): { name: string; remove: () => void } {
    const name = `ctb${uniqueToken(8)}`;
    const run = (...args: string[]) => {
        const result = spawnSync("ip", args, { encoding: "utf8" });
        if (result.status !== 0) {
            throw new Error(`ip ${args.join(" ")} failed: ${result.stderr}`);
        }
    };
    run("link", "add", name, "type", "bridge");
    run("link", "set", name, "up");
    return { name, remove: () => void spawnSync("ip", ["link", "del", name]) };
}

/** A temporary folder readable by libvirt's QEMU user, removed by the returned function. */
export function createTestFolder(): { dir: string; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-libvirt-test-"));
    fs.chmodSync(dir, 0o755);
    return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function nvramFile(domain: string): string {
    return `/var/lib/libvirt/qemu/nvram/${domain}_VARS.fd`;
}
