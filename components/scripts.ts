/**
 * The bash scripts that `@pulumi/command` `local.Command` resources run as their create and delete
 * steps (with `interpreter: ["/bin/bash", "-c"]`). Each script takes its inputs only from environment
 * variables (secrets included) and, where noted in its header, stdin; see `components/scripts/*.sh`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const COMMAND_SCRIPT_NAMES = [
    "kind-create",
    "kind-delete",
    "clusterctl-init",
    "vbmc-register",
    "vbmc-unregister",
    "wait-kubeconfig",
    "write-file",
    "remove-file",
] as const;

export type CommandScriptName = (typeof COMMAND_SCRIPT_NAMES)[number];

export const COMMAND_SCRIPTS_DIR = path.join(__dirname, "scripts");

/** Interpreter every script expects; the script text is its `-c` argument. */
export const COMMAND_SCRIPT_INTERPRETER: readonly string[] = ["/bin/bash", "-c"];

const cache = new Map<CommandScriptName, string>();

export function commandScriptPath(name: CommandScriptName): string {
    return path.join(COMMAND_SCRIPTS_DIR, `${name}.sh`);
}

/** The full text of a script, read once per process. */
export function commandScript(name: CommandScriptName): string {
    let text = cache.get(name);
    if (text === undefined) {
        if (!(COMMAND_SCRIPT_NAMES as readonly string[]).includes(name)) {
            throw new Error(`unknown command script: ${String(name)}`);
        }
        text = fs.readFileSync(commandScriptPath(name), "utf8");
        cache.set(name, text);
    }
    return text;
}
