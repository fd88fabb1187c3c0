/**
 * Reading config the way the Pulumi CLI would, without the CLI: `Pulumi.yaml` defaults, then
 * `Pulumi.<stack>.yaml`, then `--set key=value` overrides. Used by `npm run render`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { RawConfig, projectKeys } from "./config";

interface ProjectFile {
    name?: string;
    config?: Record<string, { default?: unknown } | unknown>;
}

export function readProjectFile(projectDir: string): ProjectFile {
    return parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/** Defaults declared in Pulumi.yaml, keyed without the project prefix. */
export function projectDefaults(project: ProjectFile): RawConfig {
    const defaults: RawConfig = {};
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        if (spec !== null && typeof spec === "object" && "default" in spec) {
            defaults[key] = (spec as { default?: unknown }).default;
        }
    }
    return defaults;
}

export function stackFilePath(projectDir: string, stack: string): string {
    return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stack file's values for this project, or undefined when the stack has no file yet. */
export function readStackValues(projectDir: string, stack: string): RawConfig | undefined {
    const file = stackFilePath(projectDir, stack);
    if (!fs.existsSync(file)) {
        return undefined;
    }
    const parsed = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    return projectKeys(parsed.config ?? {});
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
