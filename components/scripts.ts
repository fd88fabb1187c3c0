/**
 * The bash scripts that `@pulumi/command` `local.Command` resources run as their create and delete
 * steps. Each script takes its inputs only from environment variables (secrets included) and, where
 * noted in its header, stdin; see `components/scripts/*.sh`.
 *
 * A Command runs its script from the file (`/bin/bash <path>`), never as inlined text: pulumi-command
 * v1.2.1 fails a step with `<exit status>: running "<create string>":\n<stdout+stderr>`
 * (provider/pkg/provider/local/commandOutputs.go, `run`), so an inlined script would be dumped whole
 * into every error. The path is relative to the working directory: Pulumi runs the program and its
 * provider plugins in the same directory, the project's (pkg/engine/project.go `getPwdMain`; plugins:
 * sdk/go/common/resource/plugin/plugin.go `cmd.Dir = pwd`; the Node.js program:
 * sdk/nodejs/cmd/run/run.ts `process.chdir(pwd)`), and a relative path stored in state keeps working
 * for `destroy` after the project directory has been moved or renamed, where an absolute one would not.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const COMMAND_SCRIPT_NAMES = [
    "kind-create",
    "kind-delete",
    "clusterctl-claim",
    "clusterctl-init",
    "clusterctl-clean",
    "clusterctl-delete",
    "pivot-move",
    "pivot-back",
    "vbmc-register",
    "vbmc-unregister",
    "wait-kubeconfig",
    "write-file",
    "remove-file",
    "bundle-docker-load",
    "bundle-docker-unload",
    "bundle-node-load",
] as const;

export type CommandScriptName = (typeof COMMAND_SCRIPT_NAMES)[number];

export const COMMAND_SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The interpreter every script expects; its one argument is the script's path. */
export const COMMAND_SCRIPT_INTERPRETER: readonly string[] = ["/bin/bash"];

const cache = new Map<CommandScriptName, string>();

function checkName(name: CommandScriptName): void {
    if (!(COMMAND_SCRIPT_NAMES as readonly string[]).includes(name)) {
        throw new Error(`unknown command script: ${String(name)}`);
    }
}

export function commandScriptPath(name: CommandScriptName): string {
    checkName(name);
    return path.join(COMMAND_SCRIPTS_DIR, `${name}.sh`);
}

/**
 * The path a Command runs: relative to the working directory (the project directory under Pulumi).
 * A bare file name gets a leading `./`, since bash would look a name without a slash up on PATH.
 */
export function commandScriptRunPath(name: CommandScriptName, cwd: string = process.cwd()): string {
    const relative = path.relative(cwd, commandScriptPath(name));
    return relative.includes(path.sep) ? relative : `./${relative}`;
}

/** The full text of a script, read once per process. */
export function commandScript(name: CommandScriptName): string {
    let text = cache.get(name);
    if (text === undefined) {
        text = fs.readFileSync(commandScriptPath(name), "utf8");
        cache.set(name, text);
    }
    return text;
}

/** A script's `source "${BASH_SOURCE[0]%/*}/lib/<file>.sh"` lines: the shared code it runs. */
const SOURCED_LIBRARY = /^source "\$\{BASH_SOURCE\[0\]%\/\*\}\/(lib\/[A-Za-z0-9_.-]+\.sh)"$/gm;

/** The library files (relative to the scripts directory) a script sources. */
export function commandScriptLibraries(name: CommandScriptName): string[] {
    return [...commandScript(name).matchAll(SOURCED_LIBRARY)].map((match) => match[1]);
}

/** The hash of what a script runs: its own text and the text of every library it sources. */
export function commandScriptSha256(name: CommandScriptName): string {
    const hash = createHash("sha256").update(commandScript(name));
    for (const library of commandScriptLibraries(name)) {
        hash.update(`\0${library}\0`).update(fs.readFileSync(path.join(COMMAND_SCRIPTS_DIR, library), "utf8"));
    }
    return hash.digest("hex");
}

export interface ScriptCommandArgs {
    create: CommandScriptName;
    delete?: CommandScriptName;
    /** The script's inputs; never spliced into the command line. */
    environment: Record<string, pulumi.Input<string>>;
}

/**
 * The parts of a Command's args that say which scripts it runs and with what environment:
 * - `create`/`delete` are script paths, so a failure reports the path and the script's own output;
 * - `SCRIPT_SHA256` (and `DELETE_SCRIPT_SHA256`) hold the scripts' content hashes: the path alone
 *   does not change when a script is edited, the hash does, so an edited script updates the Command
 *   (re-runs create) exactly as the inlined text used to;
 * - `addPreviousOutputInEnv: false`: otherwise the provider hands the previous stdout (a kubeconfig
 *   for some of these Commands) to the script and everything it starts as `PULUMI_COMMAND_STDOUT`.
 */
export function scriptCommandArgs(args: ScriptCommandArgs): command.local.CommandArgs {
    const environment: Record<string, pulumi.Input<string>> = {
        ...args.environment,
        SCRIPT_SHA256: commandScriptSha256(args.create),
    };
    if (args.delete) {
        environment.DELETE_SCRIPT_SHA256 = commandScriptSha256(args.delete);
    }
    return {
        interpreter: [...COMMAND_SCRIPT_INTERPRETER],
        create: commandScriptRunPath(args.create),
        ...(args.delete ? { delete: commandScriptRunPath(args.delete) } : {}),
        environment,
        addPreviousOutputInEnv: false,
    };
}
