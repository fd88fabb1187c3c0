/**
 * Reads the facts the preflight judges from the real host. Every probe runs a program with
 * execFile (no shell) or reads a file, with a short timeout, and never throws: whatever cannot be
 * read becomes a ProbeFailure saying why, and lib/preflight.ts decides what that means.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LabConfig } from "./config";
import { LabPlan } from "./plan";
import {
    BridgeNetfilter,
    DockerDaemonConfig,
    DockerNetworkFact,
    Finding,
    HostFacts,
    KvmDeviceAccess,
    Probe,
    RouteFact,
    evaluatePreflight,
} from "./preflight";

const TIMEOUT_MS = 5_000;
/** libvirt re-probes QEMU for domain capabilities when its cache is cold; that takes seconds. */
const VIRSH_TIMEOUT_MS = 20_000;

const DOCKER_DAEMON_CONFIG = "/etc/docker/daemon.json";
const BRIDGE_NF_CALL_IPTABLES = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/** Where distributions install UEFI firmware for QEMU, and QEMU's firmware descriptors. */
const FIRMWARE_FILES = [
    "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "/usr/share/OVMF/OVMF_CODE.fd",
    "/usr/share/edk2/ovmf/OVMF_CODE.fd",
    "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
    "/usr/share/qemu/edk2-x86_64-code.fd",
    "/usr/share/AAVMF/AAVMF_CODE.fd",
    "/usr/share/edk2/aarch64/QEMU_EFI.fd",
];
const FIRMWARE_DESCRIPTOR_DIRS = ["/usr/share/qemu/firmware", "/etc/qemu/firmware"];

function failure(error: unknown): { error: string } {
    return { error: error instanceof Error ? error.message : String(error) };
}

/**
 * Run a program and return its stdout. English messages (LC_ALL=C), so checks that look at
 * error text (permission denied, ...) work on any locale.
 */
function run(
    file: string,
    args: string[],
    timeoutMs = TIMEOUT_MS,
    env: NodeJS.ProcessEnv = {},
): Promise<Probe<string>> {
    return new Promise((resolve) => {
        try {
            execFile(
                file,
                args,
                { timeout: timeoutMs, encoding: "utf8", env: { ...process.env, LC_ALL: "C", ...env } },
                (error, stdout, stderr) => {
                    if (!error) {
                        resolve({ value: stdout });
                    } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
                        resolve({ error: `${file} is not installed`, notInstalled: true });
                    } else if (error.killed) {
                        resolve({ error: `${file} ${args[0] ?? ""} timed out after ${timeoutMs / 1000}s` });
                    } else {
                        resolve({ error: stderr.trim() || stdout.trim() || error.message });
                    }
                },
            );
        } catch (error) {
            resolve(failure(error));
        }
    });
}

/** The first candidate that is installed; iptables and ip live in /usr/sbin, often off a user's PATH. */
async function runFirstInstalled(candidates: string[], args: string[]): Promise<Probe<string>> {
    let last: Probe<string> = { error: "no candidate", notInstalled: true };
    for (const file of candidates) {
        last = await run(file, args);
        if (!("error" in last) || !last.notInstalled) {
            return last;
        }
    }
    return last;
}

async function mapProbe<T, U>(probe: Promise<Probe<T>>, parse: (value: T) => U): Promise<Probe<U>> {
    const result = await probe;
    if ("error" in result) {
        return result;
    }
    try {
        return { value: parse(result.value) };
    } catch (error) {
        return failure(error);
    }
}

async function readText(file: string): Promise<Probe<string>> {
    try {
        return { value: await fs.promises.readFile(file, "utf8") };
    } catch (error) {
        return failure(error);
    }
}

function errnoOf(error: unknown): string | undefined {
    return (error as NodeJS.ErrnoException)?.code;
}

// ---------------------------------------------------------------------------------------------

async function dockerNetworks(): Promise<Probe<DockerNetworkFact[]>> {
    const ids = await run("docker", ["network", "ls", "--quiet", "--no-trunc"]);
    if ("error" in ids) {
        return ids;
    }
    const idList = ids.value.split("\n").filter((id) => id.trim() !== "");
    if (idList.length === 0) {
        return { value: [] };
    }
    return mapProbe(run("docker", ["network", "inspect", ...idList]), (json) =>
        (JSON.parse(json) as { Name: string; IPAM?: { Config?: { Subnet?: string }[] | null } }[]).map((n) => ({
            name: n.Name,
            subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => typeof s === "string"),
        })),
    );
}

async function dockerDaemonConfig(): Promise<Probe<DockerDaemonConfig>> {
    try {
        const parsed = JSON.parse(await fs.promises.readFile(DOCKER_DAEMON_CONFIG, "utf8")) as Record<string, unknown>;
        return {
            value: {
                dns: Array.isArray(parsed.dns) ? parsed.dns.filter((s) => typeof s === "string") : undefined,
                iptables: typeof parsed.iptables === "boolean" ? parsed.iptables : undefined,
            },
        };
    } catch (error) {
        // No daemon.json means docker's defaults: no dns override, iptables managed.
        return errnoOf(error) === "ENOENT" ? { value: {} } : failure(error);
    }
}

async function kvmDevice(): Promise<Probe<KvmDeviceAccess>> {
    try {
        await fs.promises.access("/dev/kvm", fs.constants.R_OK | fs.constants.W_OK);
        return { value: "read-write" };
    } catch (error) {
        const code = errnoOf(error);
        if (code === "ENOENT") {
            return { value: "missing" };
        }
        return code === "EACCES" || code === "EPERM" ? { value: "no-access" } : failure(error);
    }
}

async function bridgeNetfilter(): Promise<Probe<BridgeNetfilter>> {
    const text = await readText(BRIDGE_NF_CALL_IPTABLES);
    if ("error" in text) {
        // The sysctl exists only while br_netfilter is loaded.
        return fs.existsSync(BRIDGE_NF_CALL_IPTABLES) ? text : { value: "not-loaded" };
    }
    return { value: text.value.trim() === "1" ? "on" : "off" };
}

function routes(): Promise<Probe<RouteFact[]>> {
    return mapProbe(runFirstInstalled(["ip", "/usr/sbin/ip", "/sbin/ip"], ["-j", "-4", "route", "show"]), (json) =>
        (JSON.parse(json) as { dst: string; dev?: string }[]).map(({ dst, dev }) => ({ dst, dev })),
    );
}

function resolvConfNameservers(): Promise<Probe<string[]>> {
    return mapProbe(readText("/etc/resolv.conf"), (text) =>
        [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]),
    );
}

/** MemAvailable counts reclaimable page cache; os.freemem() does not, so it is the fallback only. */
async function memory(): Promise<Probe<{ availableBytes: number; totalBytes: number }>> {
    const meminfo = await readText("/proc/meminfo");
    const kib = (field: string) =>
        "value" in meminfo ? Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(meminfo.value)?.[1]) : NaN;
    const available = kib("MemAvailable");
    const total = kib("MemTotal");
    return {
        value: {
            availableBytes: Number.isFinite(available) ? available * 1024 : os.freemem(),
            totalBytes: Number.isFinite(total) ? total * 1024 : os.totalmem(),
        },
    };
}

/** The storage directory may not exist before the first `up`; its nearest existing parent will hold it. */
function storage(directory: string): Probe<{ path: string; freeBytes: number }> {
    try {
        let existing = path.resolve(directory);
        while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
            existing = path.dirname(existing);
        }
        const stats = fs.statfsSync(existing);
        return { value: { path: existing, freeBytes: stats.bavail * stats.bsize } };
    } catch (error) {
        return failure(error);
    }
}

function firmwareFiles(): string[] {
    const descriptors = FIRMWARE_DESCRIPTOR_DIRS.flatMap((dir) => {
        try {
            return fs
                .readdirSync(dir)
                .filter((name) => name.endsWith(".json"))
                .map((name) => path.join(dir, name));
        } catch {
            return [];
        }
    });
    return [...FIRMWARE_FILES.filter((file) => fs.existsSync(file)), ...descriptors];
}

// ---------------------------------------------------------------------------------------------

/** `config` is part of the signature for probes that depend on it; today the plan carries all they need. */
export async function gatherHostFacts(_config: LabConfig, plan: LabPlan): Promise<HostFacts> {
    const uri = plan.libvirt.uri;
    const [
        dockerServerVersion,
        daemonConfig,
        networks,
        kindVersion,
        clusterctlVersion,
        kubectlVersion,
        libvirtVersion,
        libvirtDomainCapabilities,
        kvm,
        iptablesRules,
        netfilter,
        hostRoutes,
        nameservers,
        mem,
    ] = await Promise.all([
        mapProbe(run("docker", ["version", "--format", "{{.Server.Version}}"]), (out) => out.trim()),
        dockerDaemonConfig(),
        dockerNetworks(),
        mapProbe(run("kind", ["version"]), (out) => out.trim()),
        // Without the variable clusterctl asks GitHub for a newer release on every call.
        mapProbe(
            run("clusterctl", ["version", "-o", "short"], TIMEOUT_MS, { CLUSTERCTL_DISABLE_VERSIONCHECK: "true" }),
            (out) => out.trim(),
        ),
        mapProbe(run("kubectl", ["version", "--client"]), (out) => out.trim()),
        run("virsh", ["-c", uri, "version"], VIRSH_TIMEOUT_MS),
        run("virsh", ["-c", uri, "domcapabilities", "--machine", "q35"], VIRSH_TIMEOUT_MS),
        kvmDevice(),
        runFirstInstalled(["iptables", "/usr/sbin/iptables", "/sbin/iptables"], ["-S"]),
        bridgeNetfilter(),
        routes(),
        resolvConfNameservers(),
        memory(),
    ]);
    return {
        arch: process.arch,
        dockerServerVersion,
        dockerDaemonConfig: daemonConfig,
        dockerNetworks: networks,
        kindVersion,
        clusterctlVersion,
        kubectlVersion,
        libvirtVersion,
        libvirtDomainCapabilities,
        firmwareFiles: firmwareFiles(),
        kvmDevice: kvm,
        iptablesRules,
        bridgeNetfilter: netfilter,
        routes: hostRoutes,
        resolvConfNameservers: nameservers,
        cpuCount: os.availableParallelism?.() ?? os.cpus().length,
        memory: mem,
        storage: storage(plan.libvirt.storageDir),
    };
}

export async function runPreflight(config: LabConfig, plan: LabPlan): Promise<Finding[]> {
    return evaluatePreflight(config, plan, await gatherHostFacts(config, plan));
}
