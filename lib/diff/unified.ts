/**
 * A unified diff (`diff -u` style hunks) of two texts, by jsdiff (the `diff` package).
 */
import { formatPatch, structuredPatch } from "diff";

/**
 * The unified diff of `before` and `after` with `context` lines around each change, headed by
 * `--- <fromLabel>` and `+++ <toLabel>`; an empty string when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, fromLabel: string, toLabel: string, context = 3): string {
    if (before === after) return "";
    const patch = formatPatch(structuredPatch(fromLabel, toLabel, before, after, "", "", { context }));
    // jsdiff heads a patch with a line of `=`; a reviewer only needs the file lines and the hunks.
    return patch.replace(/^=+\n/, "");
}
