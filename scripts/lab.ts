/**
 * npm run up|preview|destroy [-- --stack <name> <extra pulumi flags>]
 *
 * Runs the Pulumi CLI that the `pulumi` dev dependency pins, against a file state backend inside
 * the project (no Pulumi Cloud account), selecting or creating the stack (default `dev`).
 * Secrets in state are encrypted with PULUMI_CONFIG_PASSPHRASE; a throwaway lab gets a documented
 * default passphrase unless the user sets their own (or PULUMI_CONFIG_PASSPHRASE_FILE).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEFAULT_PASSPHRASE = "capt-playground";
const COMMANDS: Record<string, string[]> = {
    up: ["up", "--yes"],
    preview: ["preview", "--diff"],
    destroy: ["destroy"],
};

export function labEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const stateDir = path.join(PROJECT_DIR, ".pulumi-state");
    const result: NodeJS.ProcessEnv = { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (!env.PULUMI_BACKEND_URL) {
        fs.mkdirSync(stateDir, { recursive: true });
        result.PULUMI_BACKEND_URL = `file://${stateDir}`;
    }
    if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        result.PULUMI_CONFIG_PASSPHRASE = DEFAULT_PASSPHRASE;
    }
    return result;
}

/** Split `--stack <name>` (or STACK in the environment) from the flags passed through to pulumi. */
export function stackAndFlags(args: string[], env: NodeJS.ProcessEnv): { stack: string; flags: string[] } {
    const flags = [...args];
    const at = flags.indexOf("--stack");
    let stack = env.STACK || "dev";
    if (at >= 0) {
        stack = flags[at + 1] ?? stack;
        flags.splice(at, 2);
    }
    return { stack, flags };
}

function run(pulumi: string, args: string[], env: NodeJS.ProcessEnv): number {
    const result = spawnSync(pulumi, args, { cwd: PROJECT_DIR, env, stdio: "inherit" });
    if (result.error) {
        process.stderr.write(`cannot run ${pulumi}: ${result.error.message}\n`);
        return 1;
    }
    return result.status ?? 1;
}

function main(argv: string[]): number {
    const [command, ...rest] = argv;
    if (!(command in COMMANDS)) {
        process.stderr.write(`usage: lab.ts up|preview|destroy [--stack <name>] [pulumi flags]\n`);
        return 2;
    }
    const env = labEnvironment(process.env);
    if (env.PULUMI_CONFIG_PASSPHRASE === DEFAULT_PASSPHRASE && process.env.PULUMI_CONFIG_PASSPHRASE === undefined) {
        process.stderr.write(
            `note: state secrets use the default passphrase "${DEFAULT_PASSPHRASE}"; export PULUMI_CONFIG_PASSPHRASE to choose your own\n`,
        );
    }
    const { stack, flags } = stackAndFlags(rest, process.env);
    const pulumi = path.join(PROJECT_DIR, "node_modules", ".bin", "pulumi");
    const selected = run(pulumi, ["stack", "select", "--create", stack], env);
    if (selected !== 0) {
        return selected;
    }
    return run(pulumi, [...COMMANDS[command], "--stack", stack, ...flags], env);
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
