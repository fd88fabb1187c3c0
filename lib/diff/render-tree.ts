/**
 * Rendering one side of a diff: a project directory (the working tree, or the base commit laid out
 * in a temporary directory) is rendered with its own `scripts/render.ts`, in a child process, so a
 * change to a builder shows up as a change to the objects it builds.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { isStackName } from "../config-formats";
import { readConfigFileText, secretTexts } from "../stack-files";

const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/;
const PROJECT_PREFIX = "capt-playground:";

/** Stack names with a `Pulumi.<stack>.yaml` in `projectDir`. */
export function listStacks(projectDir: string): string[] {
    if (!fs.existsSync(projectDir)) return [];
    return (
        fs
            .readdirSync(projectDir)
            .map((file) => STACK_FILE.exec(file)?.[1])
            // `Pulumi...yaml` or `Pulumi.-C...yaml` names no stack the lab renders (or passes to a CLI).
            .filter((stack): stack is string => stack !== undefined && isStackName(stack))
            .sort()
    );
}

export function stackFile(projectDir: string, stack: string): string | undefined {
    for (const ext of ["yaml", "yml"]) {
        const file = path.join(projectDir, `Pulumi.${stack}.${ext}`);
        if (fs.existsSync(file)) return file;
    }
    return undefined;
}

/** A file's text for a lenient read: undefined when it is missing or cannot be read as a stack file. */
function readText(file: string): string | undefined {
    try {
        return readConfigFileText(file);
    } catch {
        return undefined;
    }
}

/**
 * A file's YAML, leniently (undefined when it is not valid) and silently: the render that follows
 * reports the file's problems, never quoting it; nothing here may print a line of it.
 */
function readYaml(file: string): unknown {
    const text = readText(file);
    if (text === undefined) return undefined;
    const doc = parseDocument(text, { prettyErrors: false, logLevel: "silent" });
    if (doc.errors.length > 0) return undefined;
    try {
        return doc.toJS({ maxAliasCount: 100 });
    } catch {
        return undefined;
    }
}

function stackConfig(projectDir: string, stack: string): Record<string, unknown> {
    const file = stackFile(projectDir, stack);
    const parsed = file ? (readYaml(file) as { config?: Record<string, unknown> } | undefined) : undefined;
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(parsed?.config ?? {})) {
        const name = key.startsWith(PROJECT_PREFIX) ? key.slice(PROJECT_PREFIX.length) : key;
        if (name !== key || !key.includes(":")) {
            // An own key even for __proto__: a stack file's key never reaches a prototype.
            Object.defineProperty(config, name, { value, enumerable: true, writable: true, configurable: true });
        }
    }
    return config;
}

/**
 * `--set` overrides that make a render independent of the host. `domainType: auto` would ask
 * libvirt whether KVM works; both sides resolve it to kvm instead, so the diff needs no host and two
 * machines get the same answer. Only passed when that tree knows the key (an older tree might not).
 */
export function hostIndependentOverrides(projectDir: string, stack: string): string[] {
    const project = readYaml(path.join(projectDir, "Pulumi.yaml")) as
        { config?: Record<string, { default?: unknown } | undefined> } | undefined;
    const declared = project?.config?.domainType;
    if (declared === undefined) return [];
    const value = stackConfig(projectDir, stack).domainType ?? declared?.default;
    return value === "auto" ? ["--set", "domainType=kvm"] : [];
}

/**
 * Values that must never be printed: every encrypted (`secure:`) value, and every text below a
 * secret key (bmcPassword, machineBmcPasswords, the kubeconfigs) or a password key of the stack
 * file, however it is written (a plain or quoted scalar, a tag, an alias or anchor name, a JSON
 * object's values). The output is scrubbed of them as a last line of defence; the render itself
 * already redacts the password and never quotes a stack file.
 */
export function secretValues(projectDir: string, stack: string): string[] {
    const file = stackFile(projectDir, stack);
    const text = file ? readText(file) : undefined;
    return text === undefined ? [] : secretTexts(text);
}

export type RenderOutcome = { ok: true } | { ok: false; error: string };

/** Lines of render's stderr that are progress, not problems. */
const NOISE = [/^note: no Pulumi\./, /^rendered \d+ files/, /^invalid (stack )?config:?$/];

export interface RenderOptions {
    tsNodeBin: string;
    timeoutMs?: number;
}

/** Runs `<projectDir>/scripts/render.ts --stack <stack> --out <out>` with that tree's own code. */
export function renderStack(
    projectDir: string,
    stack: string,
    out: string,
    options: RenderOptions,
): Promise<RenderOutcome> {
    const script = path.join(projectDir, "scripts", "render.ts");
    if (!fs.existsSync(script)) {
        return Promise.resolve({ ok: false, error: "cannot render: this tree has no scripts/render.ts" });
    }
    const args = [
        options.tsNodeBin,
        "--transpile-only",
        script,
        "--stack",
        stack,
        "--out",
        out,
        ...hostIndependentOverrides(projectDir, stack),
    ];
    return new Promise((resolve) => {
        // Each tree compiles with its own tsconfig (ts-node finds it next to the script).
        const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TS_NODE_")));
        const child = spawn(process.execPath, args, { cwd: projectDir, stdio: ["ignore", "ignore", "pipe"], env });
        let stderr = "";
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
            stderr += chunk;
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 180_000);
        child.on("error", (error) => {
            clearTimeout(timer);
            resolve({ ok: false, error: `render failed: ${error.message}` });
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (code === 0) {
                resolve({ ok: true });
                return;
            }
            const lines = stderr
                .split("\n")
                .map((line) => line.trim())
                .filter((line) => line && !NOISE.some((noise) => noise.test(line)));
            const message = lines.join("; ") || (signal ? `killed by ${signal}` : `exit code ${code}`);
            const failed = message.startsWith("render failed:") || code !== 1;
            resolve({ ok: false, error: failed ? message : `invalid config: ${message}` });
        });
    });
}

/** Runs `tasks` at most `limit` at a time, keeping their order in the result. */
export async function inParallel<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const index = next++;
            results[index] = await tasks[index]();
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
    return results;
}
