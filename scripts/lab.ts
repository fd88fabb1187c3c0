/**
 * npm run up|preview|destroy [-- --stack <name> <extra pulumi flags>]
 *
 * Runs the Pulumi CLI against a file state backend inside the project (no Pulumi Cloud account),
 * selecting or creating the stack (default `dev`). Which CLI, in this order:
 *   1. PULUMI_CLI, when set (the end-to-end tests point it at a CLI built from source);
 *   2. the version the `pulumi` dev dependency pins, fetched by that launcher on first use;
 *   3. when that cannot be fetched, a `pulumi` on PATH that is at least MINIMUM_PULUMI_VERSION.
 * Secrets in state are encrypted with PULUMI_CONFIG_PASSPHRASE; a throwaway lab gets a documented
 * default passphrase unless the user sets their own (or PULUMI_CONFIG_PASSPHRASE_FILE).
 * Before `up` and `destroy`, what an interrupted run left (its lock, half-made objects) is handled
 * by lib/recovery, one line each; every run gets a private TMPDIR that a later run clears.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STACK_NAME_ALLOWED, escapeControl, isStackName } from "../lib/config-formats";
import { MINIMUM_PULUMI_VERSION, meetsMinimumVersion, parsePulumiVersion } from "../lib/pulumi-version";
import { recoverInterruptedRun } from "../lib/recovery/recover";
import { createRunTempDir, processAlive, removeDeadRunTempDirs, runTempRoot } from "../lib/recovery/run-temp";
import { readProjectFile } from "../lib/stack-files";

const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEFAULT_PASSPHRASE = "capt-playground";
const COMMANDS: Record<string, string[]> = {
    // No preview pass before the update: `--yes` would not wait for it anyway, the update shows each
    // change as it makes it, and the program refuses bad config before it registers any resource. The
    // preview pass ran the whole program and every provider's diff a second time, which made an `up`
    // that changes nothing twice as slow as `npm run preview` (`npm run bench`).
    up: ["up", "--yes", "--skip-preview"],
    preview: ["preview", "--diff"],
    destroy: ["destroy"],
};

export const STATE_DIR = path.join(PROJECT_DIR, ".pulumi-state");

/**
 * A file backend's URL. `metadata=skip` stops the blob store writing a `<file>.attrs` sidecar next
 * to each state file: it rewrites that sidecar in place (truncate, then write), so an `up` killed at
 * that moment leaves it empty, and every later command fails with "failed to load checkpoint: EOF".
 * The state files themselves are written to a temporary file and renamed, which a kill cannot tear.
 */
export function fileBackendUrl(dir: string): string {
    return `file://${dir}?metadata=skip`;
}
export const STATE_BACKEND_URL = fileBackendUrl(STATE_DIR);

export function labEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const result: NodeJS.ProcessEnv = { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (!env.PULUMI_BACKEND_URL) {
        fs.mkdirSync(STATE_DIR, { recursive: true });
        result.PULUMI_BACKEND_URL = STATE_BACKEND_URL;
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        result.PULUMI_CONFIG_PASSPHRASE = DEFAULT_PASSPHRASE;
    }
    return result;
}

/**
 * Removes the sidecars under the lab's own state directory that a killed run left unreadable (state
 * written before `metadata=skip`, or by a `pulumi` run with the plain URL). A missing sidecar is read
 * as "no metadata", so removing one loses nothing; a torn one makes the stack unreadable. Returns
 * the paths removed, relative to the state directory.
 */
export function removeTornSidecars(stateDir: string): string[] {
    const removed: string[] = [];
    const files = fs.existsSync(stateDir) ? fs.readdirSync(stateDir, { recursive: true, encoding: "utf8" }) : [];
    for (const relative of files.filter((file) => file.endsWith(".attrs"))) {
        const file = path.join(stateDir, relative);
        if (fs.statSync(file).isFile() && !parsesAsJson(fs.readFileSync(file, "utf8"))) {
            fs.rmSync(file);
            removed.push(relative);
        }
    }
    return removed.sort();
}

function parsesAsJson(text: string): boolean {
    try {
        JSON.parse(text);
        return true;
    } catch {
        return false;
    }
}

/** The directory of a `file://` backend URL (`~` is the home directory), or undefined for other backends. */
export function fileBackendDir(url: string | undefined): string | undefined {
    if (!url?.startsWith("file://")) {
        return undefined;
    }
    const location = url.slice("file://".length).replace(/\?[^/]*$/, "");
    return location.startsWith("~") ? path.join(os.homedir(), location.slice(1)) : location;
}

/** A stack name that must not reach the CLI: a flag (`-C..`), `.`, `..`, or no name at all. */
export class StackNameError extends Error {}

/**
 * Split the stack (`--stack <name>`, `--stack=<name>`, `-s <name>`, else STACK in the environment,
 * else dev) from the flags passed through to pulumi. The name is checked before anything reaches
 * the CLI: passed on unchecked, `--stack -C..` would make pulumi change directory.
 */
export function stackAndFlags(args: string[], env: NodeJS.ProcessEnv): { stack: string; flags: string[] } {
    const flags: string[] = [];
    let stack = env.STACK || "dev";
    for (let i = 0; i < args.length; i++) {
        const flag = args[i];
        const inline = /^(?:--stack|-s)=([\s\S]*)$/.exec(flag);
        if (inline) {
            stack = inline[1];
        } else if (flag === "--stack" || flag === "-s") {
            if (i + 1 >= args.length) throw new StackNameError(`${flag} needs a stack name`);
            stack = args[++i];
        } else {
            flags.push(flag);
        }
    }
    if (!isStackName(stack)) {
        throw new StackNameError(
            `not a stack name: ${escapeControl(JSON.stringify(stack.slice(0, 120)))}; expected ${STACK_NAME_ALLOWED}`,
        );
    }
    return { stack, flags };
}

export interface CliSources {
    env: NodeJS.ProcessEnv;
    /** The launcher's pinned version. */
    pinnedVersion: string;
    /** The pinned CLI's path, fetching it when it is not cached yet; throws when it cannot. */
    resolvePinned: () => Promise<string>;
    /** A `pulumi` on PATH other than the launcher itself. */
    findOnPath: () => string | undefined;
    /** `pulumi version` of a binary, or undefined when it does not run. */
    versionOf: (cli: string) => string | undefined;
}

export interface ResolvedCli {
    path: string;
    /** Says which CLI runs, when it is not the pinned one. */
    note?: string;
}

export class CliUnavailableError extends Error {}

const MANUAL_INSTALL = (pinned: string) =>
    `Install it by hand: \`curl -fsSL https://get.pulumi.com | sh -s -- --version ${pinned}\` ` +
    `(any version >= ${MINIMUM_PULUMI_VERSION} works) and put ~/.pulumi/bin on PATH, ` +
    `or set PULUMI_CLI to the path of a pulumi binary.`;

function explicitCli(cli: string, sources: CliSources): ResolvedCli {
    const version = sources.versionOf(cli);
    if (version === undefined) {
        throw new CliUnavailableError(`PULUMI_CLI=${cli} does not run as a Pulumi CLI (\`${cli} version\` failed).`);
    }
    if (!meetsMinimumVersion(version)) {
        throw new CliUnavailableError(
            `PULUMI_CLI=${cli} is Pulumi v${version}; the lab needs v${MINIMUM_PULUMI_VERSION} or newer.`,
        );
    }
    return { path: cli, note: `using PULUMI_CLI: pulumi v${version} at ${cli}` };
}

/** Picks the CLI to run (see the file header), or throws one message saying what failed and what to do. */
export async function resolvePulumiCli(sources: CliSources): Promise<ResolvedCli> {
    if (sources.env.PULUMI_CLI) {
        return explicitCli(sources.env.PULUMI_CLI, sources);
    }
    let fetchError: string;
    try {
        return { path: await sources.resolvePinned() };
    } catch (error) {
        fetchError = error instanceof Error ? error.message : String(error);
    }
    const onPath = sources.findOnPath();
    const version = onPath ? sources.versionOf(onPath) : undefined;
    const failed = `the pinned Pulumi CLI v${sources.pinnedVersion} could not be fetched (${fetchError})`;
    if (onPath && version && meetsMinimumVersion(version)) {
        return { path: onPath, note: `${failed}; using pulumi v${version} from PATH (${onPath})` };
    }
    const pathState = onPath
        ? `the pulumi on PATH (${onPath}) is ${version ? `v${version}` : "not runnable"}, ` +
          `and the lab needs v${MINIMUM_PULUMI_VERSION} or newer`
        : "there is no pulumi on PATH";
    throw new CliUnavailableError(
        `cannot run Pulumi: ${failed}, and ${pathState}. ${MANUAL_INSTALL(sources.pinnedVersion)}`,
    );
}

const LAUNCHER = path.join(PROJECT_DIR, "node_modules", "pulumi");

function realpathOrSelf(file: string): string {
    try {
        return fs.realpathSync(file);
    } catch {
        return file;
    }
}

/** `pulumi` on PATH, skipping the launcher (`npm run` puts node_modules/.bin first on PATH). */
function findPulumiOnPath(env: NodeJS.ProcessEnv): string | undefined {
    const launcher = realpathOrSelf(path.join(LAUNCHER, "run.js"));
    for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, "pulumi");
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
        } catch {
            continue;
        }
        if (realpathOrSelf(candidate) !== launcher) {
            return candidate;
        }
    }
    return undefined;
}

function pulumiVersionOf(cli: string): string | undefined {
    const result = spawnSync(cli, ["version"], { encoding: "utf8", timeout: 30_000 });
    return result.status === 0 ? parsePulumiVersion(result.stdout) : undefined;
}

function realSources(env: NodeJS.ProcessEnv): CliSources {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const launcher = require(path.join(LAUNCHER, "package.json")) as { version: string };
    return {
        env,
        pinnedVersion: launcher.version,
        resolvePinned: async () => {
            // The launcher's own resolver: the cached CLI, else its download (pinned package version).
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { resolve } = require(path.join(LAUNCHER, "lib", "resolve")) as { resolve: () => Promise<string> };
            return resolve();
        },
        findOnPath: () => findPulumiOnPath(env),
        versionOf: pulumiVersionOf,
    };
}

/** The CLI's own directory goes first on PATH: its language hosts and plugins sit beside it. */
export function cliEnvironment(cli: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, PATH: [path.dirname(cli), env.PATH].filter(Boolean).join(path.delimiter) };
}

/**
 * What an interrupted `up` left: the stale lock, half-made objects (lib/recovery/recover.ts), the
 * temporary files of runs that are gone. Returns an exit code to stop with, or undefined to go on.
 */
async function recover(
    command: string,
    cli: string,
    stack: string,
    flags: string[],
    env: NodeJS.ProcessEnv,
): Promise<number | undefined> {
    if (command !== "up" && command !== "destroy") {
        return undefined;
    }
    const result = await recoverInterruptedRun({
        mode: command,
        cli,
        env,
        cwd: PROJECT_DIR,
        project: String(readProjectFile(PROJECT_DIR).name),
        stack,
        flags,
        backendDir: fileBackendDir(env.PULUMI_BACKEND_URL),
        log: (line) => process.stderr.write(`${line}\n`),
        runVisible: (args, runEnv) => run(cli, args, runEnv),
    });
    return result.failed;
}

function run(pulumi: string, args: string[], env: NodeJS.ProcessEnv): number {
    const result = spawnSync(pulumi, args, { cwd: PROJECT_DIR, env, stdio: "inherit" });
    if (result.error) {
        process.stderr.write(`cannot run ${pulumi}: ${result.error.message}\n`);
        return 1;
    }
    return result.status ?? 1;
}

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    if (!Object.hasOwn(COMMANDS, command ?? "")) {
        process.stderr.write(`usage: lab.ts up|preview|destroy [--stack <name>] [pulumi flags]\n`);
        return 2;
    }
    let selection: { stack: string; flags: string[] };
    try {
        selection = stackAndFlags(rest, process.env);
    } catch (error) {
        if (!(error instanceof StackNameError)) throw error;
        process.stderr.write(`${error.message}\nusage: lab.ts up|preview|destroy [--stack <name>] [pulumi flags]\n`);
        return 2;
    }
    let cli: ResolvedCli;
    try {
        cli = await resolvePulumiCli(realSources(process.env));
    } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
    }
    if (cli.note) {
        process.stderr.write(`note: ${cli.note}\n`);
    }
    const tempRoot = runTempRoot();
    removeDeadRunTempDirs(tempRoot, processAlive);
    const env: NodeJS.ProcessEnv = {
        ...cliEnvironment(cli.path, labEnvironment(process.env)),
        TMPDIR: createRunTempDir(tempRoot),
    };
    if (env.PULUMI_BACKEND_URL === STATE_BACKEND_URL) {
        for (const sidecar of removeTornSidecars(STATE_DIR)) {
            process.stderr.write(
                `note: removed ${sidecar} from .pulumi-state: an interrupted run left it unreadable\n`,
            );
        }
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === DEFAULT_PASSPHRASE && process.env.PULUMI_CONFIG_PASSPHRASE === undefined) {
        process.stderr.write(
            `note: state secrets use the default passphrase "${DEFAULT_PASSPHRASE}"; export PULUMI_CONFIG_PASSPHRASE to choose your own\n`,
        );
    }
    const { stack, flags } = selection;
    const selected = run(cli.path, ["stack", "select", "--create", stack], env);
    if (selected !== 0) {
        return selected;
    }
    const stopped = await recover(command, cli.path, stack, flags, env);
    if (stopped !== undefined) {
        return stopped;
    }
    return run(cli.path, [...COMMANDS[command], "--stack", stack, ...flags], env);
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => {
        fs.rmSync(path.join(runTempRoot(), String(process.pid)), { recursive: true, force: true });
        process.exitCode = code;
    });
}
