/**
 * Reading config the way the Pulumi CLI would, without the CLI: `Pulumi.yaml` defaults, then
 * `Pulumi.<stack>.yaml`, then `--set key=value` overrides. Used by `npm run render` and `doctor`.
 *
 * A stack file is user input like any other: a YAML error names the file, line and column but
 * never prints the line (it may hold a password), and a file that is not a mapping is refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { YAMLError, parse } from "yaml";
import { RawConfig, projectKeys } from "./config";
import { STACK_NAME_ALLOWED, isForbiddenObjectKey, isStackName, setOwn } from "./config-formats";

interface ProjectFile {
    name?: string;
    config?: Record<string, { default?: unknown } | unknown>;
}

/** A stack or project file that cannot be read as config; the message never quotes the file's text. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

function isMapping(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The file's YAML; on a syntax error, where it is and what kind it is, without the text around it. */
function readYamlFile(file: string): unknown {
    try {
        return parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
        if (error instanceof YAMLError) {
            const at = error.linePos?.[0];
            const where = at ? ` at line ${at.line}, column ${at.col}` : "";
            throw new StackFileError(
                `${file}: not valid YAML${where} (${error.code}); the line is not shown because it may hold a secret`,
            );
        }
        throw error;
    }
}

export function readProjectFile(projectDir: string): ProjectFile {
    const file = path.join(projectDir, "Pulumi.yaml");
    const parsed = readYamlFile(file);
    if (!isMapping(parsed)) {
        throw new StackFileError(`${file}: expected a mapping (name:, runtime:, config:)`);
    }
    return parsed as ProjectFile;
}

/** Defaults declared in Pulumi.yaml, keyed without the project prefix. */
export function projectDefaults(project: ProjectFile): RawConfig {
    const defaults: RawConfig = {};
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        if (spec !== null && typeof spec === "object" && "default" in spec && !isForbiddenObjectKey(key)) {
            setOwn(defaults, key, (spec as { default?: unknown }).default);
        }
    }
    return defaults;
}

/** Refuses a stack name Pulumi would refuse: the name becomes part of a file name. */
export function checkStackName(stack: string): void {
    if (!isStackName(stack)) {
        throw new StackFileError(`not a stack name: ${JSON.stringify(stack)}; expected ${STACK_NAME_ALLOWED}`);
    }
}

export function stackFilePath(projectDir: string, stack: string): string {
    checkStackName(stack);
    return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stack file's values for this project, or undefined when the stack has no file yet. */
export function readStackValues(projectDir: string, stack: string): RawConfig | undefined {
    const file = stackFilePath(projectDir, stack);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const parsed = readYamlFile(file) ?? {};
    if (!isMapping(parsed)) {
        throw new StackFileError(`${file}: expected a mapping with a config: section, got a ${describe(parsed)}`);
    }
    const config = parsed.config ?? {};
    if (!isMapping(config)) {
        throw new StackFileError(
            `${file}: config: expected a mapping of keys to values (capt-playground:hardwareCount: 3), got a ${describe(config)}`,
        );
    }
    return projectKeys(config);
}

function describe(value: unknown): string {
    return Array.isArray(value) ? "list" : typeof value === "string" ? "string" : typeof value;
}

/**
 * `key=value` as `pulumi config set key value` would store it: a string. A value that reads as a
 * JSON list is kept as a list so array keys can be overridden too.
 */
export function parseOverride(assignment: string): [string, unknown] {
    const eq = assignment.indexOf("=");
    if (eq <= 0) {
        throw new Error(`--set expects key=value, got ${JSON.stringify(assignment)}`);
    }
    const key = assignment.slice(0, eq).replace(/^capt-playground:/, "");
    const value = assignment.slice(eq + 1);
    if (value.startsWith("[")) {
        try {
            return [key, JSON.parse(value)];
        } catch {
            return [key, value];
        }
    }
    return [key, value];
}

/** Pulumi.yaml defaults, then the stack file, then the overrides; own keys only (none reaches a prototype). */
export function mergeConfig(...layers: (RawConfig | undefined)[]): RawConfig {
    const merged: RawConfig = {};
    for (const layer of layers) {
        for (const [key, value] of Object.entries(layer ?? {})) {
            Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
        }
    }
    return merged;
}
