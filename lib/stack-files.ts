/**
 * Reading config the way the Pulumi CLI would, without the CLI: `Pulumi.yaml` defaults, then
 * `Pulumi.<stack>.yaml`, then `--set key=value` overrides. Used by `npm run render` and `doctor`.
 *
 * A stack file is user input like any other. Every YAML error, warning (an unknown tag) and
 * unresolved alias names the file, line, column and config key but never prints the text there: a
 * secret key's value, or an alias named like one, would otherwise reach the terminal (render,
 * doctor, status) or a pull-request comment (diff). A file that is not a regular file (a FIFO would
 * block the read for ever) or not a mapping is refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Document, LineCounter, Node, isAlias, isMap, isScalar, parseDocument, visit } from "yaml";
import { RawConfig, projectKeys } from "./config";
import {
    STACK_NAME_ALLOWED,
    escapeControl,
    isEncryptedValue,
    isForbiddenObjectKey,
    isStackName,
    setOwn,
    showKey,
} from "./config-formats";
import { CONFIG_SCHEMA, PROJECT_NAME } from "./config-schema";

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

/** Far more than any stack file (1000 machines take about 300 KB); larger is not config. */
export const CONFIG_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** Aliases a config file may expand (yaml's own default); more is a billion-laughs document. */
const MAX_ALIAS_COUNT = 100;

/**
 * A config file's text, or undefined when it does not exist. Only a regular file is read (a link to
 * one is fine): a FIFO, socket or device would block the read or never end. Opened non-blocking and
 * checked on the open descriptor, so nothing can be swapped in between.
 */
export function readConfigFileText(file: string): string | undefined {
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return undefined;
        throw new StackFileError(`${file}: cannot be read (${code ?? (error as Error).message})`);
    }
    try {
        const stats = fs.fstatSync(fd);
        if (!stats.isFile()) {
            const kind = stats.isFIFO() ? "a FIFO" : stats.isDirectory() ? "a directory" : "not a regular file";
            throw new StackFileError(`${file}: is ${kind}; expected a regular YAML file`);
        }
        if (stats.size > CONFIG_FILE_MAX_BYTES) {
            throw new StackFileError(
                `${file}: is ${stats.size} bytes; a stack file is at most ${CONFIG_FILE_MAX_BYTES} bytes`,
            );
        }
        return fs.readFileSync(fd, "utf8");
    } finally {
        fs.closeSync(fd);
    }
}

function keyText(node: unknown): string | undefined {
    return isScalar(node) ? String(node.value) : undefined;
}

function spans(pair: { key: unknown; value: unknown }, offset: number): boolean {
    const start = (pair.key as Node | null)?.range?.[0];
    const end = (pair.value as Node | null)?.range?.[2] ?? (pair.key as Node | null)?.range?.[2];
    return start !== undefined && end !== undefined && start <= offset && offset <= end;
}

/** The config key (or top-level key) whose entry holds `offset`, or undefined. */
function keyAt(doc: Document, offset: number): string | undefined {
    if (!isMap(doc.contents)) return undefined;
    for (const pair of doc.contents.items) {
        if (keyText(pair.key) === "config" && isMap(pair.value)) {
            for (const entry of pair.value.items) {
                if (spans(entry, offset)) return keyText(entry.key);
            }
        }
        if (spans(pair, offset)) return keyText(pair.key);
    }
    return undefined;
}

/**
 * Parses a config file's YAML into plain values, or throws StackFileError listing every problem
 * with where it is (line, column, key) and what kind it is, never the text: errors, warnings (an
 * unknown tag such as `!secret`, or one of YAML 1.1's `!!binary`/`!!set`/`!!timestamp`, which are no
 * config values) and aliases whose anchor is not defined before them.
 */
export function parseConfigYaml(text: string, file: string): unknown {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, {
        lineCounter,
        prettyErrors: false,
        resolveKnownTags: false,
        logLevel: "silent",
        uniqueKeys: true,
    });
    const where = (offset: number | undefined): string => {
        if (offset === undefined) return "";
        const { line, col } = lineCounter.linePos(offset);
        const key = keyAt(doc, offset);
        return ` at line ${line}, column ${col}${key === undefined ? "" : ` (key ${showKey(key)})`}`;
    };
    const problems: string[] = [];
    for (const error of doc.errors) problems.push(`not valid YAML${where(error.pos[0])} (${error.code})`);
    for (const warning of doc.warnings) {
        const what = warning.code === "TAG_RESOLVE_FAILED" ? "a YAML tag that is no config value" : "a YAML warning";
        problems.push(`${what}${where(warning.pos[0])} (${warning.code})`);
    }
    if (doc.errors.length === 0) {
        visit(doc, {
            Alias(_key, node) {
                if (!node.resolve(doc)) {
                    problems.push(`an alias whose anchor is not defined before it${where(node.range?.[0])}`);
                }
            },
        });
        problems.push(...secretKeyAliases(doc).map((offset) => `an anchor or alias on a secret key${where(offset)}`));
    }
    if (problems.length > 0) {
        throw new StackFileError(
            `${file}: ${problems.join("; ")}; the text there is not shown because it may hold a secret`,
        );
    }
    try {
        return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
        throw new StackFileError(
            `${file}: cannot be read as config (${(error as Error).name}: aliases expand too far or refer to nothing); the text is not shown because it may hold a secret`,
        );
    }
}

/**
 * Where anchors and aliases sit on a secret key's value. Both are refused: an anchor would let an
 * alias copy the secret into a plain key, whose problem message shows its value, and Pulumi never
 * writes either (a secret is `{secure: <ciphertext>}`).
 */
function secretKeyAliases(doc: Document): number[] {
    const config = isMap(doc.contents)
        ? doc.contents.items.find((pair) => keyText(pair.key) === "config")?.value
        : undefined;
    if (!isMap(config)) return [];
    const offsets: number[] = [];
    for (const entry of config.items) {
        const key = keyText(entry.key);
        if (key === undefined || !isSecretStackKey(key) || !entry.value) continue;
        const value = entry.value as Node;
        const mark = (node: Node) => offsets.push(node.range?.[0] ?? (entry.key as Node).range?.[0] ?? 0);
        if (isAlias(value) || value.anchor) mark(value);
        visit(value, {
            Alias: (_side, node) => void mark(node),
            Node: (_side, node) => void (node.anchor ? mark(node) : undefined),
        });
    }
    return [...new Set(offsets)];
}

/** The file's YAML (undefined when the file does not exist); problems as parseConfigYaml says them. */
function readYamlFile(file: string): unknown {
    const text = readConfigFileText(file);
    return text === undefined ? undefined : parseConfigYaml(text, file);
}

export function readProjectFile(projectDir: string): ProjectFile {
    const file = path.join(projectDir, "Pulumi.yaml");
    const parsed = readYamlFile(file);
    if (parsed === undefined) {
        throw new StackFileError(`${file}: not found; run the command from the project`);
    }
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
        throw new StackFileError(
            `not a stack name: ${escapeControl(JSON.stringify(stack.slice(0, 120)))}; expected ${STACK_NAME_ALLOWED}`,
        );
    }
}

export function stackFilePath(projectDir: string, stack: string): string {
    checkStackName(stack);
    return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stack file's values for this project, or undefined when the stack has no file yet. */
export function readStackValues(projectDir: string, stack: string): RawConfig | undefined {
    const file = stackFilePath(projectDir, stack);
    const text = readConfigFileText(file);
    if (text === undefined) {
        return undefined;
    }
    const parsed = parseConfigYaml(text, file) ?? {};
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

/** A stack file key (with or without the project prefix) whose value is secret: the schema's secret keys, or a password. */
function isSecretStackKey(key: string): boolean {
    const name = key.startsWith(`${PROJECT_NAME}:`) ? key.slice(PROJECT_NAME.length + 1) : key;
    const spec = Object.hasOwn(CONFIG_SCHEMA, name)
        ? (CONFIG_SCHEMA as Record<string, { secret?: boolean }>)[name]
        : undefined;
    return spec?.secret === true || /password/i.test(name);
}

/**
 * Every text below a secret key of a stack file, read leniently (the file may be invalid YAML): each
 * scalar as written and as read, a ciphertext, alias and anchor names, and the passwords inside a
 * JSON object (machineBmcPasswords). What `diff` scrubs from anything it prints, whatever a render
 * of either side said. Texts shorter than 4 characters are left out (they would mangle the output).
 */
export function secretTexts(text: string): string[] {
    const doc = parseDocument(text, {
        prettyErrors: false,
        resolveKnownTags: false,
        logLevel: "silent",
        uniqueKeys: false,
    });
    const found = new Set<string>();
    const add = (value: unknown): void => {
        if (typeof value !== "string") return;
        for (const form of [value, value.trim()]) if (form.length >= 4) found.add(form);
        try {
            const parsed: unknown = JSON.parse(value);
            if (typeof parsed === "object" && parsed !== null) Object.values(parsed).forEach(add);
        } catch {
            // not JSON
        }
    };
    const config = isMap(doc.contents)
        ? doc.contents.items.find((pair) => keyText(pair.key) === "config")?.value
        : undefined;
    if (!isMap(config)) return [];
    for (const entry of config.items) {
        const key = keyText(entry.key);
        if (!entry.value) continue;
        const json: unknown = isMap(entry.value) ? entry.value.toJSON() : undefined;
        if (isEncryptedValue(json)) {
            // The ciphertext: not secret as such, but never meant for a comment either.
            add(json.secure);
            continue;
        }
        if (key === undefined || !isSecretStackKey(key)) continue;
        if (isAlias(entry.value)) add(entry.value.source);
        visit(entry.value as Node, {
            Scalar(side, node) {
                add(node.anchor);
                // A mapping's keys are field names, not the secret (scrubbing them would mangle the output).
                if (side === "key") return;
                add(String(node.value));
                if (node.range) add(text.slice(node.range[0], node.range[1]));
            },
            Alias(_side, node) {
                add(node.source);
            },
            Map(_side, node) {
                add(node.anchor);
            },
            Seq(_side, node) {
                add(node.anchor);
            },
        });
    }
    return [...found];
}
