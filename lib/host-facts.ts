/**
 * Reads the facts the preflight judges from the real host. Every probe runs a program with
 * execFile (no shell) or reads a file, with a short timeout, and never throws: whatever cannot be
 * read becomes a ProbeFailure saying why, and lib/preflight/ decides what that means.
 *
 * Kubeconfigs from config (secrets) reach kubectl only as a private temp file named by the
 * KUBECONFIG environment variable, never in an argv or a message, and the file is removed after.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { bundleFileFact, readBundleManifest } from "./bundle/read";
import { ENCRYPTED_VALUE, LabConfig } from "./config";
import { LabPlan } from "./plan";
import {
    BmcReachabilityFact,
    BridgeNetfilter,
    BundleFacts,
    ClusterApiFact,
    DockerDaemonConfig,
    DockerNetworkFact,
    Finding,
    HostFacts,
    KvmDeviceAccess,
    Probe,
    RouteFact,
    TINKERBELL_API_GROUPS,
    evaluatePreflight,
    CERT_MANAGER_API_GROUPS,
} from "./preflight";

const TIMEOUT_MS = 5_000;
/** libvirt re-probes QEMU for domain capabilities when its cache is cold; that takes seconds. */
const VIRSH_TIMEOUT_MS = 20_000;
/** kubectl's own limit per request to a cluster's API; the process gets a little longer. */
const KUBECTL_REQUEST_TIMEOUT_S = 10;
const BMC_CONNECT_TIMEOUT_MS = 3_000;

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
    "/usr/share/AAVMF/AAVMF_VARS.fd",
    "/usr/share/edk2/aarch64/QEMU_EFI.fd",
];
const FIRMWARE_DESCRIPTOR_DIRS = ["/usr/share/qemu/firmware", "/etc/qemu/firmware"];

function failure(error: unknown): { error: string } {
    return { error: error instanceof Error ? error.message : String(error) };
}

/** Runs a program (`run` below); tests pass a stub to probeClusterApi. */
export type CommandRunner = (
    file: string,
    args: string[],
    timeoutMs?: number,
    env?: NodeJS.ProcessEnv,
) => Promise<Probe<string>>;

/**
 * Run a program and return its stdout. English messages (LC_ALL=C), so checks that look at
 * error text (permission denied, ...) work on any locale.
 */
export function run(
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

/** cgroup v2's unified hierarchy has cgroup.controllers at its root; a v1 (or hybrid) host has not. */
function cgroupVersion(): Probe<1 | 2> {
    try {
        if (!fs.existsSync("/sys/fs/cgroup")) {
            return { error: "/sys/fs/cgroup does not exist" };
        }
        return { value: fs.existsSync("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1 };
    } catch (error) {
        return failure(error);
    }
}

/** The offline bundle's manifest and what each of its files is (lstat and realpath; nothing is hashed). */
export function readBundleFacts(dir: string): BundleFacts {
    try {
        const manifest = readBundleManifest(dir);
        const files = Object.fromEntries(manifest.artifacts.map((a) => [a.file, bundleFileFact(dir, a.file)]));
        return { dir, manifest: { value: manifest }, files };
    } catch (error) {
        return { dir, manifest: failure(error), files: {} };
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
// Clusters given by a kubeconfig, BMCs of real machines

/** Values of a kubeconfig's credential fields, to keep them out of any message. */
function kubeconfigSecrets(kubeconfig: string): string[] {
    const field =
        /["']?(?:token|id-token|refresh-token|access-token|client-secret|client-key-data|client-certificate-data|password)["']?\s*:\s*["']?([^"'\s,}]+)/g;
    return [...kubeconfig.matchAll(field)].map((m) => m[1]).filter((value) => value.length >= 6);
}

/** A message with every credential of the kubeconfig replaced by [redacted]. */
export function redactKubeconfigSecrets(text: string, kubeconfig: string): string {
    return kubeconfigSecrets(kubeconfig).reduce((out, secret) => out.split(secret).join("[redacted]"), text);
}

/** klog's prefix (`E1130 00:48:01.568745   29184 memcache.go:265] ...`): noise before kubectl's own message. */
const KLOG_LINE = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]/;

/** kubectl's error without klog lines and without any credential of the kubeconfig. */
function kubectlError(error: string, kubeconfig: string): string {
    const lines = error.split("\n").filter((line) => !KLOG_LINE.test(line.trim()));
    const message = lines.join("\n").trim() || error;
    return redactKubeconfigSecrets(message, kubeconfig);
}

/**
 * Ask the API server behind a kubeconfig for its version and, for each of `apiGroups`, the names
 * of its resources. The kubeconfig goes into a fresh private directory (0700) as a 0600 file that
 * KUBECONFIG names, and is removed before this returns; probe errors are redacted.
 */
export async function probeClusterApi(
    kubeconfig: string,
    apiGroups: readonly string[] = [],
    runCommand: CommandRunner = run,
): Promise<Probe<ClusterApiFact>> {
    let directory: string | undefined;
    const redacted = (probe: { error: string; notInstalled?: boolean }) => ({
        ...probe,
        error: kubectlError(probe.error, kubeconfig),
    });
    try {
        directory = await fs.promises.mkdtemp(path.join(os.tmpdir(), "capt-preflight-"));
        const file = path.join(directory, "kubeconfig");
        await fs.promises.writeFile(file, kubeconfig, { mode: 0o600, flag: "wx" });
        const env = { KUBECONFIG: file };
        const timeout = `--request-timeout=${KUBECTL_REQUEST_TIMEOUT_S}s`;
        const processTimeoutMs = (KUBECTL_REQUEST_TIMEOUT_S + 5) * 1000;
        const version = await runCommand("kubectl", ["version", "--output=json", timeout], processTimeoutMs, env);
        if ("error" in version) {
            return redacted(version);
        }
        const serverVersion = (JSON.parse(version.value) as { serverVersion?: { gitVersion?: unknown } }).serverVersion
            ?.gitVersion;
        if (typeof serverVersion !== "string") {
            return { error: "kubectl version printed no server version" };
        }
        if (apiGroups.length === 0) {
            return { value: { serverVersion } };
        }
        const names: string[] = [];
        for (const group of apiGroups) {
            const listed = await runCommand(
                "kubectl",
                ["api-resources", "--output=name", `--api-group=${group}`, timeout],
                processTimeoutMs,
                env,
            );
            if ("error" in listed) {
                return { value: { serverVersion, resources: redacted(listed) } };
            }
            names.push(
                ...listed.value
                    .split("\n")
                    .map((line) => line.trim())
                    .filter((line) => line !== ""),
            );
        }
        return { value: { serverVersion, resources: { value: names } } };
    } catch (error) {
        return redacted(failure(error));
    } finally {
        if (directory !== undefined) {
            await fs.promises.rm(directory, { recursive: true, force: true }).catch(() => undefined);
        }
    }
}

/** A TCP connection to host:port that is opened and closed again at once. */
export function tcpConnect(host: string, port: number, timeoutMs = BMC_CONNECT_TIMEOUT_MS): Promise<Probe<true>> {
    return new Promise((resolve) => {
        const socket = net.createConnection({ host, port });
        const done = (result: Probe<true>) => {
            socket.destroy();
            resolve(result);
        };
        socket.setTimeout(timeoutMs, () => done({ error: `no answer within ${timeoutMs / 1000}s` }));
        socket.once("connect", () => done({ value: true }));
        socket.once("error", (error) => done(failure(error)));
    });
}

/** Redfish BMCs of real machines are tried over TCP; IPMI (UDP) is not tried. */
function bmcReachability(config: LabConfig): Promise<BmcReachabilityFact[]> {
    return Promise.all(
        config.machines.map(async (machine, index) => {
            const { address, port, protocol } = machine.bmc;
            const fact: BmcReachabilityFact = { index, name: machine.name, address, port, protocol };
            return protocol === "redfish" ? { ...fact, tcp: await tcpConnect(address, port) } : fact;
        }),
    );
}

/** A kubeconfig from config that can be used here: set and not encrypted (the doctor reads the stack file). */
function usableKubeconfig(kubeconfig: string | undefined): string | undefined {
    return kubeconfig && kubeconfig !== ENCRYPTED_VALUE ? kubeconfig : undefined;
}

async function optional<T>(wanted: boolean, probe: () => Promise<T>): Promise<T | undefined> {
    return wanted ? probe() : undefined;
}

// ---------------------------------------------------------------------------------------------

/** Probes what the lab's modes (plan.modes) call for; the evaluation picks what it judges. */
export async function gatherHostFacts(config: LabConfig, plan: LabPlan): Promise<HostFacts> {
    const uri = plan.libvirt.uri;
    const modes = plan.modes;
    const vms = modes.machines === "vms";
    const aarch64 = modes.arch === "aarch64";
    const managementKubeconfig = usableKubeconfig(config.managementKubeconfig);
    const tinkerbellKubeconfig = usableKubeconfig(config.tinkerbellKubeconfig);
    const notAsked: Probe<string> = { error: "not asked: the machines are not VMs" };
    const domainCapabilities = aarch64 ? ["--arch", "aarch64", "--machine", "virt"] : ["--machine", "q35"];
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
        qemuAarch64Version,
        managementApi,
        tinkerbellApi,
        bmcs,
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
        vms ? run("virsh", ["-c", uri, "version"], VIRSH_TIMEOUT_MS) : notAsked,
        vms ? run("virsh", ["-c", uri, "domcapabilities", ...domainCapabilities], VIRSH_TIMEOUT_MS) : notAsked,
        kvmDevice(),
        runFirstInstalled(["iptables", "/usr/sbin/iptables", "/sbin/iptables"], ["-S"]),
        bridgeNetfilter(),
        routes(),
        resolvConfNameservers(),
        memory(),
        optional(vms && aarch64, () =>
            mapProbe(run("qemu-system-aarch64", ["--version"]), (out) => out.trim().split("\n")[0]),
        ),
        optional(managementKubeconfig !== undefined, () =>
            probeClusterApi(
                managementKubeconfig!,
                modes.clusterApiInstaller === "operator" ? CERT_MANAGER_API_GROUPS : [],
            ),
        ),
        optional(tinkerbellKubeconfig !== undefined, () =>
            probeClusterApi(tinkerbellKubeconfig!, TINKERBELL_API_GROUPS),
        ),
        optional(!vms, () => bmcReachability(config)),
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
        cgroupVersion: modes.management === "kind" ? cgroupVersion() : undefined,
        bundle: config.offlineBundle ? readBundleFacts(config.offlineBundle) : undefined,
        qemuAarch64Version,
        managementApi,
        tinkerbellApi,
        bmcReachability: bmcs,
    };
}

export async function runPreflight(config: LabConfig, plan: LabPlan): Promise<Finding[]> {
    return evaluatePreflight(config, plan, await gatherHostFacts(config, plan));
}
