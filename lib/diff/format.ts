/** The diff report as plain text (a terminal) or markdown (a pull-request comment). */
import { StackResult, summarize } from "./compare";
import { RenderedObject } from "./objects";

export interface DiffReport {
    /** How the base was named on the command line, and the commit it resolved to. */
    baseRef: string;
    baseCommit: string;
    results: StackResult[];
}

/** A pull-request comment is at most 65,536 characters; the preview section needs room too. */
export const DEFAULT_MARKDOWN_LIMIT = 60_000;

function hasChanges(report: DiffReport): boolean {
    return report.results.some((result) => result.status !== "unchanged");
}

function baseName(report: DiffReport): string {
    const short = report.baseCommit.slice(0, 12);
    return report.baseRef === report.baseCommit || report.baseRef === short ? short : `${report.baseRef} (${short})`;
}

function machineLines(result: StackResult): string[] {
    if (result.status === "changed") {
        return [
            ...(result.machinesAdded.length ? [`machines added: ${result.machinesAdded.join(", ")}`] : []),
            ...(result.machinesRemoved.length ? [`machines removed: ${result.machinesRemoved.join(", ")}`] : []),
        ];
    }
    if (result.status === "added" || result.status === "deleted") {
        return result.machines.length ? [`machines: ${result.machines.join(", ")}`] : [];
    }
    return [];
}

export function formatText(report: DiffReport): string {
    const stacks = `${report.results.length} stack${report.results.length === 1 ? "" : "s"}`;
    if (!hasChanges(report)) {
        return `no changes (${stacks} compared with ${baseName(report)})\n`;
    }
    const out = [`object diff: ${baseName(report)} -> working tree, ${stacks}`, ""];
    out.push(...report.results.map(summarize), "");
    for (const result of report.results) {
        if (result.status === "unchanged") continue;
        out.push(`=== ${summarize(result)}`);
        out.push(...machineLines(result));
        const list = (sign: string, objects: RenderedObject[]) => objects.map((object) => `  ${sign} ${object.label}`);
        if (result.status === "added" || result.status === "deleted") {
            out.push(...list(result.status === "added" ? "+" : "-", result.objects));
        } else if (result.status === "changed") {
            const replaces = new Map(result.replacements.map((r) => [r.label, r.replaces]));
            out.push(
                ...result.added.map(
                    (object) =>
                        `  + ${object.label}${replaces.has(object.label) ? ` (replaces ${replaces.get(object.label)})` : ""}`,
                ),
            );
            out.push(...list("-", result.removed));
            out.push(...result.changed.map((object) => `  ~ ${object.label}`));
            for (const object of result.changed) {
                out.push("", `~ ${object.label}`, object.diff.trimEnd());
            }
            for (const replacement of result.replacements) {
                out.push("", `+ ${replacement.label} (replaces ${replacement.replaces})`, replacement.diff.trimEnd());
            }
        }
        out.push("");
    }
    return `${out.join("\n").trimEnd()}\n`;
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function code(text: string): string {
    const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(longest + 1);
    return longest > 0 ? `${fence} ${text} ${fence}` : `\`${text}\``;
}

function fenced(text: string, language: string): string {
    const longest = Math.max(2, ...(text.match(/`{3,}/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(longest + 1);
    return `${fence}${language}\n${text.trimEnd()}\n${fence}`;
}

/** How much of each changed object's diff the markdown shows (cut down to fit a comment). */
type Detail = { maxDiffLines: number } | "lists-only";

function truncateLines(text: string, maxLines: number): string {
    const lines = text.trimEnd().split("\n");
    if (lines.length <= maxLines) return text;
    return `${lines.slice(0, maxLines).join("\n")}\n… ${lines.length - maxLines} more lines (run npm run diff locally for all)`;
}

function markdownStack(result: StackResult, detail: Detail): string[] {
    const out = [`<details><summary>${escapeHtml(summarize(result))}</summary>`, ""];
    out.push(
        ...machineLines(result).map(
            (line) =>
                `${line.replace(/: (.*)$/, (_m, names: string) => `: ${names.split(", ").map(code).join(", ")}`)}  `,
        ),
    );
    const list = (sign: string, objects: RenderedObject[]) =>
        objects.map((object) => `- ${sign} ${code(object.label)}`);
    if (result.status === "error") {
        if (result.base) out.push(`- base: ${code(result.base)}`);
        if (result.head) out.push(`- head: ${code(result.head)}`);
    } else if (result.status === "added" || result.status === "deleted") {
        out.push("", ...list(result.status === "added" ? "added" : "removed", result.objects));
    } else if (result.status === "changed") {
        const replaces = new Map(result.replacements.map((r) => [r.label, r.replaces]));
        out.push(
            "",
            ...result.added.map(
                (object) =>
                    `- added ${code(object.label)}${replaces.has(object.label) ? ` (replaces ${code(replaces.get(object.label)!)})` : ""}`,
            ),
            ...list("removed", result.removed),
        );
        out.push(...result.changed.map((object) => `- changed ${code(object.label)}`));
        if (detail !== "lists-only") {
            for (const replacement of result.replacements) {
                const title = `**${escapeHtml(replacement.label)}** (replaces ${escapeHtml(replacement.replaces)})`;
                out.push("", title, "", fenced(truncateLines(replacement.diff, detail.maxDiffLines), "diff"));
            }
            for (const object of result.changed) {
                out.push(
                    "",
                    `**${escapeHtml(object.label)}**`,
                    "",
                    fenced(truncateLines(object.diff, detail.maxDiffLines), "diff"),
                );
            }
        }
    }
    out.push("", "</details>", "");
    return out;
}

function markdownWith(report: DiffReport, detail: Detail): string {
    const out = [`### Object diff against ${code(baseName(report))}`, ""];
    if (!hasChanges(report)) {
        out.push(`no changes (${report.results.length} stacks: ${report.results.map((r) => r.stack).join(", ")})`);
        return `${out.join("\n")}\n`;
    }
    out.push(...report.results.map((result) => `- ${escapeHtml(summarize(result))}`), "");
    for (const result of report.results) {
        if (result.status !== "unchanged") out.push(...markdownStack(result, detail));
    }
    if (detail === "lists-only") {
        out.push("_Diffs left out to fit a comment; run `npm run diff` locally for them._", "");
    }
    return `${out.join("\n").trimEnd()}\n`;
}

/** Markdown for a pull-request comment: the summary lines, then one collapsible section per stack. */
export function formatMarkdown(report: DiffReport, maxChars = DEFAULT_MARKDOWN_LIMIT): string {
    for (const detail of [
        { maxDiffLines: Infinity },
        { maxDiffLines: 60 },
        { maxDiffLines: 15 },
        "lists-only",
    ] as Detail[]) {
        const text = markdownWith(report, detail);
        if (text.length <= maxChars) return text;
    }
    // Even the lists are too long: cut them, closing the collapsible section left open.
    const text = markdownWith(report, "lists-only");
    const cut = text.slice(0, Math.max(0, maxChars - 120)).replace(/\n[^\n]*$/, "");
    const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
    return `${cut}${"\n\n</details>".repeat(Math.max(0, open))}\n\n_… cut to fit a comment; run \`npm run diff\` locally._\n`;
}
