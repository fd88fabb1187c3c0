/**
 * Shared helpers of the end-to-end suites (`npm run test:e2e`, tests/e2e/jest.config.js):
 *
 * - the gate: a suite runs only under the e2e jest config, and skips with a visible reason when the
 *   toolchain (tests/e2e/toolchain/pulumi.sh) or libvirt is missing — except under CI (CI=true),
 *   where a missing prerequisite fails the suite instead of hiding a broken setup;
 * - the real `pulumi` CLI, spawned with the toolchain's environment, a file backend and a passphrase,
 *   with its output captured and its wall time measured;
 * - read-back helpers for libvirt (`virsh`) and for the CLI's text and JSON output.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { describeWhenReady } from "../prerequisites";
import * as pulumiSdk from "@pulumi/pulumi";
import { fileBackendUrl } from "../../scripts/lab";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const LIBVIRT_URI = process.env.LIBVIRT_TEST_URI ?? "qemu:///system";
export const PULUMI_CLI_VERSION = "3.259.0";

/** True when jest runs with tests/e2e/jest.config.js (it sets this global). */
export function underE2eConfig(): boolean {
    return (globalThis as { CAPT_E2E?: boolean }).CAPT_E2E === true;
}

export function e2eCacheRoot(): string {
    if (process.env.CAPT_E2E_CACHE) {
        return process.env.CAPT_E2E_CACHE;
    }
    return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "capt-playground-e2e");
}

/** The environment `pulumi-env.sh` sets, applied over this process's environment. */
export function toolchainEnv(envFile = path.join(e2eCacheRoot(), "pulumi-env.sh")): NodeJS.ProcessEnv {
    const result = spawnSync("bash", ["-c", '. "$1" && env -0', "bash", envFile], {
        encoding: "utf8",
        env: process.env,
    });
    if (result.status !== 0) {
        throw new Error(`sourcing ${envFile} failed: ${result.stderr.trim()}`);
    }
    const env: NodeJS.ProcessEnv = {};
    for (const entry of result.stdout.split("\0")) {
        const eq = entry.indexOf("=");
        if (eq > 0) {
            env[entry.slice(0, eq)] = entry.slice(eq + 1);
        }
    }
    return env;
}

/** Why the Pulumi toolchain cannot be used here, or undefined when it can. */
export function missingToolchain(): string | undefined {
    const envFile = path.join(e2eCacheRoot(), "pulumi-env.sh");
    const build = "build it with `tests/e2e/toolchain/pulumi.sh`";
    if (!fs.existsSync(envFile)) {
        return `the e2e Pulumi toolchain is not built (no ${envFile}); ${build}`;
    }
    let env: NodeJS.ProcessEnv;
    try {
        env = toolchainEnv(envFile);
    } catch (error) {
        return (error as Error).message;
    }
    const version = spawnSync("pulumi", ["version"], { encoding: "utf8", env, timeout: 60_000 });
    if (version.error || version.status !== 0) {
        return `'pulumi version' with ${envFile} failed (${version.error?.message ?? version.stderr.trim()}); ${build}`;
    }
    if (version.stdout.trim() !== `v${PULUMI_CLI_VERSION}`) {
        return `'pulumi version' says ${version.stdout.trim()}, the rig needs v${PULUMI_CLI_VERSION}; ${build}`;
    }
    return undefined;
}

/** Why libvirt cannot be used here, or undefined when it can. */
export function missingLibvirt(): string | undefined {
    const result = spawnSync("virsh", ["-c", LIBVIRT_URI, "version"], { encoding: "utf8", timeout: 30_000 });
    if (result.error) {
        return `'virsh' is not installed (${result.error.message})`;
    }
    if (result.status !== 0) {
        return `libvirtd is not reachable at ${LIBVIRT_URI}: ${(result.stderr || result.stdout).trim()} (start it: virtlogd -d; libvirtd -d)`;
    }
    return undefined;
}

/**
 * `describe` when every check passes; otherwise a skipped suite with the reason printed, or under CI
 * one failing test naming what is missing. Outside the e2e jest config (plain `npm test`) the suite
 * is always skipped, with a note saying how to run it.
 */
export function describeE2e(title: string, checks: (() => string | undefined)[], body: () => void): void {
    if (!underE2eConfig()) {
        describe.skip(`${title} (e2e: run with npm run test:e2e)`, body);
        return;
    }
    const missing = checks.map((check) => check()).find((reason) => reason !== undefined);
    describeWhenReady(title, missing, "the e2e prerequisites", body);
}

export function uniqueToken(length = 6): string {
    return randomBytes(8).toString("hex").slice(0, length);
}

// ---------------------------------------------------------------------------------------------
// The real Pulumi CLI

export interface RunResult {
    command: string;
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    seconds: number;
}

export interface PulumiWorkspace {
    /** Directory of Pulumi.yaml (the program). */
    projectDir: string;
    /** Temporary directory of this run: the file backend's state lives in `<tmp>/state`. */
    tmp: string;
    env: NodeJS.ProcessEnv;
}

/** A file backend in a fresh temporary directory, with a passphrase, over the toolchain's env. */
export function createWorkspace(projectDir: string): PulumiWorkspace {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capt-e2e-"));
    // libvirt's QEMU user must reach pool directories below it.
    fs.chmodSync(tmp, 0o755);
    fs.mkdirSync(path.join(tmp, "state"));
    const env: NodeJS.ProcessEnv = {
        ...toolchainEnv(),
        PULUMI_BACKEND_URL: fileBackendUrl(path.join(tmp, "state")),
        PULUMI_CONFIG_PASSPHRASE: "capt-e2e",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        LC_ALL: "C",
    };
    return { projectDir, tmp, env };
}

export interface RunOptions {
    timeoutMs?: number;
    /** Called with each chunk of stdout as it arrives (e.g. to kill the CLI at a given point). */
    onStdout?: (soFar: string, child: import("node:child_process").ChildProcess) => void;
    /** Called every `everyMs` while the command runs (e.g. to kill it once the host shows a state). */
    poll?: { everyMs: number; check: (child: import("node:child_process").ChildProcess) => void };
    /** Variables over the workspace's environment for this run only. */
    env?: NodeJS.ProcessEnv;
    /** Called once the CLI is started (its pid is its process group's id). */
    onSpawn?: (child: import("node:child_process").ChildProcess) => void;
}

/**
 * Runs `pulumi <args> --non-interactive --color never` in the project directory. Never throws for
 * a non-zero exit: the caller asserts on the result. The CLI runs in its own process group so a
 * timeout (or a deliberate kill) takes its language host and provider processes with it.
 */
export function pulumi(ws: PulumiWorkspace, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return spawnCaptured(ws, "pulumi", [...args, "--non-interactive", "--color", "never"], options);
}

/**
 * `npm run <command> -- <args>` as a user runs it (scripts/lab.ts: its recovery, then the CLI), with
 * the rig's CLI named by PULUMI_CLI. In its own process group, like pulumi().
 */
export function lab(
    ws: PulumiWorkspace,
    command: "up" | "preview" | "destroy",
    args: string[],
    options: RunOptions = {},
): Promise<RunResult> {
    const cli = spawnSync("bash", ["-c", "command -v pulumi"], { encoding: "utf8", env: ws.env }).stdout.trim();
    const env = { PULUMI_CLI: cli, ...options.env };
    return spawnCaptured(ws, "npm", ["run", "--silent", command, "--", ...args], { ...options, env });
}

function spawnCaptured(ws: PulumiWorkspace, file: string, args: string[], options: RunOptions): Promise<RunResult> {
    const command = `${file} ${args.join(" ")}`;
    const started = process.hrtime.bigint();
    return new Promise((resolve) => {
        const child = spawn(file, args, {
            cwd: ws.projectDir,
            env: { ...ws.env, ...options.env },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
        });
        options.onSpawn?.(child);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            options.onStdout?.(stdout, child);
        });
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), options.timeoutMs ?? 300_000);
        const poll = options.poll ? setInterval(() => options.poll?.check(child), options.poll.everyMs) : undefined;
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            clearInterval(poll);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            resolve({ command, code, signal, stdout, stderr, seconds });
        });
    });
}

/** Signals a process group started by pulumi() (detached: the group id is the CLI's pid). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
    if (pid === undefined) {
        return;
    }
    try {
        process.kill(-pid, signal);
    } catch {
        // already gone
    }
}

/**
 * SIGKILLs a process and every descendant in its session, as a host going down does to a run: the
 * CLI starts each plugin in a process group of its own, so a signal to the run's group would leave
 * the providers and the scripts they run going. Daemons that left the session (setsid: the kind
 * stand-in's API servers, as KinD's node containers) live on, as they would. The tree is stopped
 * first, so nothing forks past the kill, and then killed children before parents: a process that
 * dies while a process group below it is stopped orphans that group, and the kernel then sends its
 * members SIGHUP and SIGCONT (POSIX, orphaned process groups), so a script killed after its parent
 * could wake and run its EXIT trap (write-file removing its temp file) before its SIGKILL arrived.
 * A SIGKILL once sent is never outrun: the process runs no more of its own code.
 */
export function killTree(pid: number | undefined): void {
    if (pid === undefined) {
        return;
    }
    const stat = (p: string) => {
        try {
            const text = fs.readFileSync(`/proc/${p}/stat`, "utf8");
            const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
            return { pid: Number(p), ppid: Number(fields[1]), session: Number(fields[3]) };
        } catch {
            return undefined;
        }
    };
    const root = stat(String(pid));
    if (!root) {
        return;
    }
    const stopped = new Set<number>();
    for (let round = 0; round < 10; round++) {
        const all = fs
            .readdirSync("/proc")
            .filter((p) => /^\d+$/.test(p))
            .map(stat)
            .filter((p): p is { pid: number; ppid: number; session: number } => p !== undefined);
        const tree = new Set([pid]);
        for (let grew = true; grew;) {
            grew = false;
            for (const p of all) {
                if (!tree.has(p.pid) && tree.has(p.ppid) && p.session === root.session) {
                    tree.add(p.pid);
                    grew = true;
                }
            }
        }
        const fresh = [...tree].filter((p) => !stopped.has(p));
        if (fresh.length === 0) {
            break;
        }
        for (const p of fresh) {
            try {
                process.kill(p, "SIGSTOP");
            } catch {
                // gone
            }
            stopped.add(p);
        }
    }
    // `stopped` holds every parent before its children (a child joins the tree after its parent).
    for (const p of [...stopped].reverse()) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // gone
        }
    }
}

/** The CLI's output in an assertion message. */
export function describeRun(run: RunResult): string {
    return `$ ${run.command}\nexit ${run.code}${run.signal ? ` (${run.signal})` : ""} after ${run.seconds.toFixed(1)} s\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

/** Fails with the whole CLI output when the command did not exit 0. */
export function expectSuccess(run: RunResult): RunResult {
    if (run.code !== 0) {
        throw new Error(`expected exit 0:\n${describeRun(run)}`);
    }
    return run;
}

export type SummaryCounts = Partial<Record<"created" | "updated" | "deleted" | "replaced" | "unchanged", number>> &
    Record<string, number>;

/**
 * The "Resources:" block of `pulumi preview`/`up`/`destroy` text output, e.g.
 * `+ 2 created`, `+-7 replaced`, `~ 3 to update`, `9 unchanged` -> {created: 2, replaced: 7, ...}.
 * Preview's "to create" counts as created, and so on.
 */
export function resourceSummary(output: string): SummaryCounts {
    const block = output.split(/^Resources:\s*$/m)[1] ?? "";
    const counts: SummaryCounts = {};
    for (const line of block.split("\n")) {
        const match = /^\s+(?:[-+~]+\s*)?(\d+) (?:to )?(create|update|delete|replace|unchanged)/.exec(line);
        if (match) {
            counts[match[2] === "unchanged" ? "unchanged" : `${match[2]}d`] = Number(match[1]);
        } else if (line.trim() === "" && Object.keys(counts).length > 0) {
            break;
        }
    }
    return counts;
}

export interface PreviewStep {
    op: string;
    urn: string;
    type: string;
    name: string;
}

/** Steps of `pulumi preview --json` (op: create, same, update, replace, create-replacement, ...). */
export function previewSteps(run: RunResult): PreviewStep[] {
    const parsed = JSON.parse(run.stdout) as { steps?: { op: string; urn: string }[] };
    return (parsed.steps ?? []).map(({ op, urn }) => {
        const parts = urn.split("::");
        return { op, urn, type: parts[2]?.split("$").pop() ?? "", name: parts[3] ?? "" };
    });
}

// ---------------------------------------------------------------------------------------------
// libvirt read-back

export function virsh(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync("virsh", ["-q", "-c", LIBVIRT_URI, ...args], {
        encoding: "utf8",
        env: { ...process.env, LC_ALL: "C" },
        timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

export function virshOk(...args: string[]): string {
    const result = virsh(...args);
    if (result.status !== 0) {
        throw new Error(`virsh ${args.join(" ")} failed: ${result.stderr.trim()}`);
    }
    return result.stdout;
}

/** Names of all domains (any state). */
export function domainNames(): string[] {
    return virshOk("list", "--all", "--name")
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
}

/** Names of all storage pools (any state). */
export function poolNames(): string[] {
    return virshOk("pool-list", "--all", "--name")
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
}

/** `virsh domstate`, e.g. "shut off", "running"; undefined when the domain does not exist. */
export function domainState(name: string): string | undefined {
    const result = virsh("domstate", name);
    return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Removes every domain and pool named `lab` or `lab-…` (a test stack's own names), with their
 * volumes and NVRAM; returns what it removed.
 */
export function sweepLibvirt(lab: string): string[] {
    const ours = (name: string) => name === lab || name.startsWith(`${lab}-`);
    const removed: string[] = [];
    for (const name of domainNames().filter(ours)) {
        virsh("destroy", name);
        virsh("undefine", "--nvram", name);
        removed.push(`domain ${name}`);
    }
    for (const name of poolNames().filter(ours)) {
        const dir = /<path>([^<]+)<\/path>/.exec(virsh("pool-dumpxml", name).stdout)?.[1];
        virsh("pool-start", name);
        virsh("pool-refresh", name);
        for (const line of virsh("vol-list", name).stdout.split("\n")) {
            const vol = line.trim().split(/\s+/)[0];
            if (vol) {
                virsh("vol-delete", "--pool", name, vol);
            }
        }
        virsh("pool-destroy", name);
        virsh("pool-delete", name);
        virsh("pool-undefine", name);
        if (dir && dir.startsWith(os.tmpdir())) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        removed.push(`pool ${name}`);
    }
    return removed;
}

/** A Linux bridge (domains attach their NICs to it when they start); removed by the returned function. */
export function ensureBridge(name: string): () => void {
    const exists = spawnSync("ip", ["link", "show", name]).status === 0;
    if (exists) {
        return () => undefined;
    }
    for (const args of [
        ["link", "add", name, "type", "bridge"],
        ["link", "set", name, "up"],
    ]) {
        const result = spawnSync("ip", args, { encoding: "utf8" });
        if (result.status !== 0) {
            throw new Error(`ip ${args.join(" ")} failed: ${result.stderr.trim()}`);
        }
    }
    return () => void spawnSync("ip", ["link", "del", name]);
}

/** Wall-clock timings collected by a suite, printed as one summary line at its end. */
export class Timings {
    private readonly entries: [string, number][] = [];
    record(label: string, run: RunResult): RunResult {
        this.entries.push([label, run.seconds]);
        return run;
    }
    line(title: string): string {
        return `${title}: ${this.entries.map(([label, s]) => `${label}=${s.toFixed(1)}s`).join(" ")}`;
    }
}

// ---------------------------------------------------------------------------------------------
// Real daemons (tests/e2e/daemons.test.ts): docker, and the product's Command scripts run the way
// pulumi-command's local provider runs them

/** Why the docker daemon cannot be used here, or undefined when it can. */
export function missingDocker(): string | undefined {
    const result = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
        encoding: "utf8",
        timeout: 30_000,
    });
    if (result.error) {
        return `'docker' is not installed (${result.error.message})`;
    }
    if (result.status !== 0) {
        return `the docker daemon does not answer: ${(result.stderr || result.stdout).trim()} (start it: tests/e2e/toolchain/docker.sh)`;
    }
    return undefined;
}

/**
 * A Pulumi Input (an Output, a Promise, or arrays and objects holding them) resolved to its plain
 * value, secrets unwrapped: what a provider receives as the resource's inputs.
 */
export function resolveInput<T>(input: pulumiSdk.Input<T>): Promise<pulumiSdk.Unwrap<T>> {
    return new Promise((resolve) => {
        pulumiSdk.output(input).apply((value) => {
            resolve(value as pulumiSdk.Unwrap<T>);
            return value;
        });
    });
}

/** The resolved parts of a `local.Command`'s args that say what it runs. */
export interface PlainCommandArgs {
    interpreter?: string[];
    create?: string;
    delete?: string;
    environment?: Record<string, string>;
    stdin?: string;
}

export interface CommandScriptOptions {
    /** The provider's own environment (default: this process's); the Command's environment goes over it. */
    baseEnv?: NodeJS.ProcessEnv;
    /** Set over the Command's environment (e.g. a short TIMEOUT_SECONDS); the test says why. */
    overrides?: Record<string, string>;
    timeoutMs?: number;
    /** Called with all of stderr so far whenever more arrives. */
    onStderr?: (soFar: string) => void;
}

/**
 * Runs a Command's `create` or `delete` step as pulumi-command v1.2.1's local provider does:
 * `<interpreter...> <create>` in the project directory (where Pulumi runs the provider), with the
 * provider's environment plus the Command's `environment`, and its `stdin`. Never throws for a
 * non-zero exit; `child` lets a test act while the script runs.
 */
export function runCommandScript(
    args: PlainCommandArgs,
    step: "create" | "delete",
    options: CommandScriptOptions = {},
): { child: import("node:child_process").ChildProcess; done: Promise<RunResult> } {
    const script = args[step];
    if (!script) {
        throw new Error(`the Command has no ${step} step`);
    }
    const argv = [...(args.interpreter ?? ["/bin/sh", "-c"]), script];
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
        cwd: PROJECT_ROOT,
        env: { ...(options.baseEnv ?? process.env), ...(args.environment ?? {}), ...(options.overrides ?? {}) },
        stdio: ["pipe", "pipe", "pipe"],
    });
    const done = new Promise<RunResult>((resolve) => {
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            options.onStderr?.(stderr);
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            resolve({ command: argv.join(" "), code, signal, stdout, stderr, seconds });
        });
    });
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(args.stdin ?? "");
    return { child, done };
}

// ---------------------------------------------------------------------------------------------
// Generic helpers of the daemon suites (tests/e2e/daemons.test.ts, modes.test.ts; their fixture: lab-fixture.ts)

/** Polls `check` every 250 ms until it holds; fails naming `what` after `seconds`. */
export async function waitFor(what: string, check: () => boolean, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/**
 * A one-entry tar as terraform-provider-docker builds it for a container upload: the path as given
 * (absolute; docker extracts it below "/"), the mode, owner root, mtime zero. `docker cp - <c>:/`
 * takes it on stdin.
 */
export function dockerUploadTar(file: string, content: string, mode: number): Buffer {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512, 0);
    const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "utf8");
    const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
    put(file, 0, 100);
    put(octal(mode, 8), 100, 8);
    put(octal(0, 8), 108, 8); // uid
    put(octal(0, 8), 116, 8); // gid
    put(octal(body.length, 12), 124, 12);
    put(octal(0, 12), 136, 12); // mtime
    put("        ", 148, 8); // checksum placeholder
    put("0", 156, 1); // regular file
    put("ustar\0", 257, 6);
    put("00", 263, 2);
    let sum = 0;
    for (const byte of header) {
        sum += byte;
    }
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    const padding = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
    return Buffer.concat([header, body, padding, Buffer.alloc(1024, 0)]);
}

export interface HttpsAnswer {
    status: number;
    body: string;
}

export interface HttpsOptions {
    /** Verify the server against this CA (PEM); without it and with `insecure`, the certificate is not checked. */
    ca?: string;
    insecure?: boolean;
    /** Basic auth, `user:password`. */
    auth?: string;
    /** JSON body (sent with Content-Type application/json). */
    json?: unknown;
    timeoutMs?: number;
}

/** One HTTPS request (Redfish and the like); never throws for an HTTP status, only for a failed connection. */
export function httpsRequest(method: string, url: string, options: HttpsOptions = {}): Promise<HttpsAnswer> {
    const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
    return new Promise((resolve, reject) => {
        const request = https.request(
            url,
            {
                method,
                ca: options.ca,
                rejectUnauthorized: !options.insecure,
                auth: options.auth,
                timeout: options.timeoutMs ?? 60_000,
                headers: payload
                    ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }
                    : {},
            },
            (response) => {
                let text = "";
                response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
            },
        );
        request.on("timeout", () => request.destroy(new Error(`timeout: ${method} ${url}`)));
        request.on("error", reject);
        request.end(payload);
    });
}

/**
 * Steps of one scenario sharing one stack: each a jest test that runs only while every earlier step
 * passed, so the first failure is the one reported and later steps say which step stopped them.
 */
export function scenarioSteps(
    defaultTimeoutMs: number,
): (title: string, body: () => Promise<void>, timeoutMs?: number) => void {
    let failedStep: string | undefined;
    return (title, body, timeoutMs = defaultTimeoutMs) =>
        test(
            title,
            async () => {
                if (failedStep !== undefined) {
                    throw new Error(`not run: the earlier step "${failedStep}" failed`);
                }
                try {
                    await body();
                } catch (error) {
                    failedStep = title;
                    throw error;
                }
            },
            timeoutMs,
        );
}

/** A command's exit status and output, without a shell (program and real-lab suites read daemons with it). */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, input?: string) {
    const result = spawnSync(cmd, args, { encoding: "utf8", env, input, timeout: 120_000, maxBuffer: 256 << 20 });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** sh's stdout, or an error naming the command and its stderr. */
export function shOk(cmd: string, args: string[], env?: NodeJS.ProcessEnv, input?: string): string {
    const result = sh(cmd, args, env, input);
    if (result.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed: ${result.stderr.trim()}`);
    }
    return result.stdout;
}
