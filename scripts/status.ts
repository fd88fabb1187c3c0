/**
 * npm run --silent status -- [--stack <name>] [--watch] [--json] [--interval <s>] [--timeout <min>]
 *                            [--set key=value ...] [--management-kubeconfig <file>] [--tinkerbell-kubeconfig <file>]
 *
 * Where the stack's lab is, machine by machine, from power-on to a ready node, and the first
 * problem said plainly. Reads only: kubectl through the kubeconfigs the stack wrote, virsh for the
 * VMs. Exit 0 when every desired machine is a ready node, 1 when something failed (or the
 * arguments or config are invalid), 2 while the lab is still on its way (also when --watch times
 * out), 130 when a watch is interrupted.
 */
import * as path from "node:path";
import * as readline from "node:readline";
import { ConfigError, LabConfig } from "../lib/config";
import { escapeControl, escapeLines } from "../lib/config-formats";
import { LabPlan } from "../lib/plan";
import { LabFiles, labFiles } from "../lib/render/next-steps";
import { KubeconfigFiles, collectSnapshot } from "../lib/status/collect";
import { KubeconfigChoices, StatusContext, statusContext } from "../lib/status/context";
import { EXIT_CODES, LabStatus, deriveStatus } from "../lib/status/derive";
import {
    WatchMemory,
    changeLines,
    machineFingerprint,
    progressView,
    statusDocument,
    statusTable,
} from "../lib/status/render";
import { loadStackConfig } from "../lib/stack-config";
import { StackFileError, checkStackName } from "../lib/stack-files";

const USAGE =
    "usage: npm run --silent status -- [--stack <name>] [--watch] [--json] [--interval <seconds>] [--timeout <minutes>] " +
    "[--set key=value ...] [--management-kubeconfig <file>] [--tinkerbell-kubeconfig <file>]";
const HELP = `${USAGE}

Shows where stack <name> (default dev) is, machine by machine, from power-on to a ready node, and
the first problem. Reads only: kubectl through the kubeconfigs the stack wrote in its output folder
(read only when they are private files of yours that name no program to run; kubectl gets a private
copy), or the ones you name for your own clusters, and virsh for the VMs.
  --watch           redraw until every desired machine is a ready node, something fails, or --timeout
  --json            the same facts as JSON (with --watch: one document per line, on each change)
  --interval <s>    seconds between looks with --watch (default 5)
  --timeout <min>   minutes --watch waits (default the stack's workloadTimeoutMinutes)
  --set key=value   read the stack as render does
Exit codes: 0 ready, 1 failed (also bad arguments or config), 2 in progress (also a --watch that
timed out), 130 a watch interrupted.`;
const PROJECT_DIR = path.resolve(__dirname, "..");
const INTERRUPTED = 130;
const LOOKS_BEFORE_GIVING_UP = 3;

export interface StatusArgs {
    stack: string;
    watch: boolean;
    json: boolean;
    intervalSeconds: number;
    /** undefined: the stack's workloadTimeoutMinutes. */
    timeoutMinutes?: number;
    overrides: string[];
    kubeconfigs: KubeconfigChoices;
}

export class UsageError extends Error {}
export class HelpRequested extends Error {}

function positiveNumber(flag: string, value: string, max: number): number {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > max) {
        throw new UsageError(`${flag} expects a number above 0 and at most ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
}

export function parseStatusArgs(argv: string[], env: NodeJS.ProcessEnv = {}): StatusArgs {
    const args: StatusArgs = {
        stack: env.STACK || "dev",
        watch: false,
        json: false,
        intervalSeconds: 5,
        overrides: [],
        kubeconfigs: {},
    };
    if (argv.includes("--help") || argv.includes("-h")) {
        throw new HelpRequested();
    }
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--watch" || flag === "--json") {
            args[flag === "--watch" ? "watch" : "json"] = true;
            continue;
        }
        const value = argv[i + 1];
        const known = [
            "--stack",
            "--interval",
            "--timeout",
            "--set",
            "--management-kubeconfig",
            "--tinkerbell-kubeconfig",
        ];
        if (!known.includes(flag)) {
            throw new UsageError(`unknown argument ${escapeControl(JSON.stringify(flag.slice(0, 120)))}`);
        }
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value`);
        }
        i++;
        if (flag === "--stack") args.stack = value;
        else if (flag === "--interval") args.intervalSeconds = positiveNumber(flag, value, 3600);
        else if (flag === "--timeout") args.timeoutMinutes = positiveNumber(flag, value, 24 * 60);
        else if (flag === "--set") args.overrides.push(value);
        else if (flag === "--management-kubeconfig") args.kubeconfigs.management = path.resolve(value);
        else args.kubeconfigs.tinkerbell = path.resolve(value);
    }
    return args;
}

/** The stack's config and plan, read as `npm run render` and `doctor` read them. */
function loadStack(args: StatusArgs): { config: LabConfig; plan: LabPlan } {
    checkStackName(args.stack);
    return loadStackConfig(PROJECT_DIR, args.stack, args.overrides);
}

interface Lab {
    context: StatusContext;
    look: () => Promise<LabStatus>;
}

/**
 * The kubeconfig each cluster is read through: the stack's own (KinD's, the workload cluster's),
 * found in its output folder and so read only as the lab writes them, or the ones the user names
 * for their own clusters.
 */
export function statusKubeconfigs(files: LabFiles, given: KubeconfigChoices): KubeconfigFiles {
    return {
        management: files.kindKubeconfig ?? given.management,
        tinkerbell: given.tinkerbell,
        workload: files.workloadKubeconfig,
        labWritten: [files.kindKubeconfig, files.workloadKubeconfig].filter((f): f is string => f !== undefined),
    };
}

function openLab(args: StatusArgs): Lab {
    const { config, plan } = loadStack(args);
    const context = statusContext(config, plan, args.kubeconfigs);
    const files = labFiles(plan, config);
    const kubeconfigs = statusKubeconfigs(files, args.kubeconfigs);
    return {
        context,
        look: async () =>
            deriveStatus(
                await collectSnapshot({ context, files: kubeconfigs, installer: config.clusterApiInstaller }),
                context,
            ),
    };
}

function once(status: LabStatus, json: boolean): number {
    process.stdout.write(json ? `${JSON.stringify(statusDocument(status), null, 2)}\n` : statusTable(status));
    return EXIT_CODES[status.verdict];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Draws in place on a terminal: autowrap off so each line is one row, the cursor hidden meanwhile. */
class TerminalView {
    private rows = 0;
    constructor(private readonly out: NodeJS.WriteStream) {
        out.write("\u001b[?25l\u001b[?7l");
    }
    draw(text: string): void {
        if (this.rows > 0) {
            readline.moveCursor(this.out, 0, -this.rows);
            readline.cursorTo(this.out, 0);
            readline.clearScreenDown(this.out);
        }
        const width = this.out.columns || 200;
        const lines = text.split("\n").map((line) => [...line].slice(0, width).join(""));
        this.out.write(`${lines.join("\n")}\n`);
        this.rows = lines.length;
    }
    restore(): void {
        this.out.write("\u001b[?7h\u001b[?25h");
    }
}

async function watch(lab: Lab, args: StatusArgs, timeoutMinutes: number): Promise<number> {
    const started = Date.now();
    const deadline = started + timeoutMinutes * 60_000;
    const terminal = !args.json && process.stdout.isTTY ? new TerminalView(process.stdout) : undefined;
    const memory: WatchMemory = { machines: new Map() };
    let lastJson = "";
    let unanswered = 0;
    const stop = () => {
        terminal?.restore();
        process.exit(INTERRUPTED);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
        for (;;) {
            const status = await lab.look();
            const watched = (Date.now() - started) / 1000;
            if (terminal) {
                terminal.draw(progressView(status, watched, args.intervalSeconds));
            } else if (args.json) {
                // One document per line, whenever a fact other than a duration changed.
                const print = [status.verdict, ...status.machines.map(machineFingerprint), status.problem?.step].join(
                    "|",
                );
                if (print !== lastJson || status.verdict !== "in-progress") {
                    process.stdout.write(`${JSON.stringify(statusDocument(status))}\n`);
                    lastJson = print;
                }
            } else {
                for (const line of changeLines(status, memory)) process.stdout.write(`${line}\n`);
            }
            // A management cluster that stops answering for one look (busy, restarting) does not end a watch.
            const labDown = status.verdict === "failed" && !status.machines.some((m) => m.stage === "failed");
            unanswered = labDown ? unanswered + 1 : 0;
            if (status.verdict !== "in-progress" && (!labDown || unanswered >= LOOKS_BEFORE_GIVING_UP)) {
                if (!terminal && !args.json) process.stdout.write(`\n${statusTable(status)}`);
                return EXIT_CODES[status.verdict];
            }
            if (Date.now() + args.intervalSeconds * 1000 > deadline) {
                process.stderr.write(
                    `status: the lab is not ready after ${timeoutMinutes} minutes of watching` +
                        (status.problem
                            ? `; ${status.problem.machine ? `${status.problem.machine}: ` : ""}${status.problem.step}`
                            : "") +
                        "\n",
                );
                return EXIT_CODES["in-progress"];
            }
            await sleep(args.intervalSeconds * 1000);
        }
    } finally {
        terminal?.restore();
        process.removeListener("SIGINT", stop);
        process.removeListener("SIGTERM", stop);
    }
}

async function main(argv: string[]): Promise<number> {
    let args: StatusArgs;
    try {
        args = parseStatusArgs(argv, process.env);
    } catch (error) {
        if (error instanceof HelpRequested) {
            process.stdout.write(`${HELP}\n`);
            return 0;
        }
        process.stderr.write(`${escapeLines((error as Error).message)}\n${USAGE}\n`);
        return 1;
    }
    let lab: Lab;
    let timeoutMinutes: number;
    try {
        lab = openLab(args);
        timeoutMinutes = args.timeoutMinutes ?? loadStack(args).config.workloadTimeoutMinutes;
    } catch (error) {
        const known = error instanceof ConfigError || error instanceof StackFileError;
        process.stderr.write(
            `${escapeLines(known ? (error as Error).message : `status failed: ${(error as Error).message}`)}\n`,
        );
        return 1;
    }
    if (args.watch) {
        return watch(lab, args, timeoutMinutes);
    }
    return once(await lab.look(), args.json);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`status failed: ${(error as Error).message}\n`);
            process.exitCode = 1;
        },
    );
}
