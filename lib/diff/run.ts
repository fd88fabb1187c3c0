/**
 * `npm run diff`: render every stack at a base commit (with that commit's own code) and in the
 * working tree, and compare them object by object. Nothing in the repository or the working tree
 * changes: the base is extracted with `git archive` into a temporary directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StackResult, compareRendered } from "./compare";
import { DiffReport } from "./format";
import { Repository, changedFiles, extractProject, findRepository, linkDirectory, resolveCommit } from "./git";
import { RenderedStack, disambiguateLabels, readRenderedStack } from "./objects";
import { RenderOutcome, inParallel, listStacks, renderStack, secretValues, stackFile } from "./render-tree";

export interface DiffOptions {
    /** The working tree's project directory (where Pulumi.yaml is). */
    projectDir: string;
    base: string;
    /** Only these stacks; every stack file in either tree when empty. */
    stacks: string[];
    tsNodeBin: string;
    parallel?: number;
}

export interface DiffRun {
    report: DiffReport;
    /** Strings to scrub from anything printed (encrypted values, passwords). */
    secrets: string[];
}

interface Side {
    projectDir: string | undefined;
    stacks: string[];
}

type Rendered = { ok: true; stack: RenderedStack } | { ok: false; error: string };

async function renderSide(side: Side, stack: string, tmp: string, name: string, tsNodeBin: string): Promise<Rendered> {
    if (side.projectDir === undefined) {
        return { ok: false, error: "the project does not exist at this commit" };
    }
    const out = path.join(tmp, `${name}-${stack}`);
    const outcome: RenderOutcome = await renderStack(side.projectDir, stack, out, { tsNodeBin });
    if (!outcome.ok) return outcome;
    if (!fs.existsSync(out)) return { ok: false, error: "render wrote nothing" };
    return { ok: true, stack: readRenderedStack(out) };
}

function resultFor(stack: string, base: Side, head: Side, before: Rendered, after: Rendered): StackResult {
    const inBase = base.stacks.includes(stack);
    const inHead = head.stacks.includes(stack);
    // A stack file that appeared or disappeared: show what the stack is (or was), not a diff.
    if (inHead && !inBase && after.ok) {
        return { stack, status: "added", machines: after.stack.machines, objects: [...after.stack.objects.values()] };
    }
    if (inBase && !inHead && before.ok) {
        return {
            stack,
            status: "deleted",
            machines: before.stack.machines,
            objects: [...before.stack.objects.values()],
        };
    }
    if (!before.ok || !after.ok) {
        return {
            stack,
            status: "error",
            ...(before.ok || (!inBase && inHead) ? {} : { base: before.error }),
            ...(after.ok || (inBase && !inHead) ? {} : { head: after.error }),
        };
    }
    return compareRendered(stack, before.stack, after.stack);
}

/** A `--stack` that has a stack file on neither side: a typo, not "no changes". */
export class UnknownStackError extends Error {
    constructor(stacks: string[], known: string[]) {
        super(
            `no stack file for ${stacks.map((s) => JSON.stringify(s)).join(", ")} in the working tree or at the base; stacks: ${known.join(", ") || "none"}`,
        );
        this.name = "UnknownStackError";
    }
}

export async function runDiff(options: DiffOptions): Promise<DiffRun> {
    const repo: Repository = findRepository(options.projectDir);
    const baseCommit = resolveCommit(repo, options.base);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capt-diff-"));
    try {
        const tree = path.join(tmp, "base");
        fs.mkdirSync(tree);
        const baseDir = extractProject(repo, baseCommit, tree);
        if (baseDir !== undefined && fs.existsSync(path.join(options.projectDir, "node_modules"))) {
            // The base renders with the working tree's packages (its own code, today's node_modules).
            linkDirectory(path.join(options.projectDir, "node_modules"), path.join(baseDir, "node_modules"));
        }
        const base: Side = { projectDir: baseDir, stacks: baseDir ? listStacks(baseDir) : [] };
        const head: Side = { projectDir: options.projectDir, stacks: listStacks(options.projectDir) };
        const known = [...new Set([...base.stacks, ...head.stacks])].sort();
        const unknown = options.stacks.filter((stack) => !known.includes(stack));
        if (unknown.length > 0) {
            throw new UnknownStackError(unknown, known);
        }
        const stacks = options.stacks.length ? [...new Set(options.stacks)] : known;

        // A stack file on one side only is shown as a new or deleted stack: the other side's
        // render (of the defaults) would not be used.
        const skipped = (): Promise<Rendered> => Promise.resolve({ ok: false, error: "not rendered" });
        const tasks = stacks.flatMap((stack) => {
            const onlyHead = head.stacks.includes(stack) && !base.stacks.includes(stack);
            const onlyBase = base.stacks.includes(stack) && !head.stacks.includes(stack);
            return [
                onlyHead ? skipped : () => renderSide(base, stack, tmp, "base", options.tsNodeBin),
                onlyBase ? skipped : () => renderSide(head, stack, tmp, "head", options.tsNodeBin),
            ];
        });
        const rendered = await inParallel(tasks, options.parallel ?? Math.max(2, os.cpus().length));
        disambiguateLabels(rendered.flatMap((side) => (side.ok ? [side.stack] : [])));
        const results = stacks.map((stack, index) =>
            resultFor(stack, base, head, rendered[2 * index], rendered[2 * index + 1]),
        );
        const secrets = stacks.flatMap((stack) => [
            ...(baseDir && stackFile(baseDir, stack) ? secretValues(baseDir, stack) : []),
            ...(stackFile(options.projectDir, stack) ? secretValues(options.projectDir, stack) : []),
        ]);
        // Scrubbed before it is formatted: no escaping (markdown, HTML) or cut can hide a secret from it.
        return { report: scrubDeep({ baseRef: options.base, baseCommit, results }, secrets), secrets };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** A secret as the output may spell it: as it is, JSON-escaped, HTML-escaped (markdown). */
function spellings(secret: string): string[] {
    const json = JSON.stringify(secret).slice(1, -1);
    const html = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    return [...new Set([secret, json, html(secret), html(json)])];
}

/** Replaces every secret value in `text`, in every spelling (longest first, so no secret is left half-shown). */
export function scrubSecrets(text: string, secrets: string[]): string {
    let scrubbed = text;
    const all = [...new Set(secrets.flatMap(spellings))].filter((secret) => secret !== "");
    for (const secret of all.sort((a, b) => b.length - a.length)) {
        scrubbed = scrubbed.split(secret).join("[secret]");
    }
    return scrubbed;
}

/** `value` with every string in it scrubbed (plain data: strings, arrays, objects). */
export function scrubDeep<T>(value: T, secrets: string[]): T {
    if (secrets.length === 0) return value;
    const walk = (node: unknown): unknown => {
        if (typeof node === "string") return scrubSecrets(node, secrets);
        if (Array.isArray(node)) return node.map(walk);
        if (typeof node === "object" && node !== null) {
            return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item)]));
        }
        return node;
    };
    return walk(value) as T;
}

/** Paths (relative to the project) that do not change what any stack deploys. */
const NOT_DEPLOYED = [
    /\.md$/,
    /^tests\//,
    /^bench\//,
    /^\.github\//,
    /^\.ci\//,
    /^LICENSE/,
    /^\.prettier/,
    /^eslint\./,
];

/**
 * Stacks a real `pulumi preview` should run for: a stack whose own file changed, or every stack in
 * the working tree when anything else that is deployed changed (code, Pulumi.yaml, packages).
 */
export function changedStacks(projectDir: string, base: string): string[] {
    const repo = findRepository(projectDir);
    const commit = resolveCommit(repo, base);
    const stacks = listStacks(projectDir);
    const changed = new Set<string>();
    for (const file of changedFiles(repo, commit)) {
        const stack = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/.exec(file)?.[1];
        if (stack !== undefined) {
            if (stacks.includes(stack)) changed.add(stack);
        } else if (!NOT_DEPLOYED.some((pattern) => pattern.test(file))) {
            return stacks;
        }
    }
    return stacks.filter((stack) => changed.has(stack));
}
