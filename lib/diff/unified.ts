/**
 * A unified diff (`diff -u` style hunks) of two texts, line by line. Objects are small (a few
 * hundred lines), so a longest-common-subsequence table over the part between the common prefix
 * and suffix is fast enough and keeps the code obvious.
 */

type Op = { kind: " " | "-" | "+"; line: string };

/** Above this many table cells the middle is shown as a plain replacement instead. */
const MAX_TABLE_CELLS = 4_000_000;

function splitLines(text: string): string[] {
    if (text === "") return [];
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
}

function lineOps(a: string[], b: string[]): Op[] {
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
        endA--;
        endB--;
    }
    const ops: Op[] = a.slice(0, start).map((line) => ({ kind: " ", line }));
    const midA = a.slice(start, endA);
    const midB = b.slice(start, endB);
    if (midA.length * midB.length > MAX_TABLE_CELLS) {
        ops.push(...midA.map((line): Op => ({ kind: "-", line })), ...midB.map((line): Op => ({ kind: "+", line })));
    } else {
        // lcs[i][j]: length of the longest common subsequence of midA[i..] and midB[j..].
        const width = midB.length + 1;
        const lcs = new Uint32Array((midA.length + 1) * width);
        for (let i = midA.length - 1; i >= 0; i--) {
            for (let j = midB.length - 1; j >= 0; j--) {
                lcs[i * width + j] =
                    midA[i] === midB[j]
                        ? lcs[(i + 1) * width + j + 1] + 1
                        : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
            }
        }
        let i = 0;
        let j = 0;
        while (i < midA.length || j < midB.length) {
            if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
                ops.push({ kind: " ", line: midA[i] });
                i++;
                j++;
            } else if (i < midA.length && (j === midB.length || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
                // Removals before additions, as diff -u shows a replaced line.
                ops.push({ kind: "-", line: midA[i] });
                i++;
            } else {
                ops.push({ kind: "+", line: midB[j] });
                j++;
            }
        }
    }
    ops.push(...a.slice(endA).map((line): Op => ({ kind: " ", line })));
    return ops;
}

function range(start: number, count: number): string {
    // `diff -u` names an empty range by the line before it.
    const first = count === 0 ? start - 1 : start;
    return count === 1 ? `${first}` : `${first},${count}`;
}

/**
 * The unified diff of `before` and `after` with `context` lines around each change, headed by
 * `--- <fromLabel>` and `+++ <toLabel>`; an empty string when the texts are equal.
 */
export function unifiedDiff(before: string, after: string, fromLabel: string, toLabel: string, context = 3): string {
    if (before === after) return "";
    const ops = lineOps(splitLines(before), splitLines(after));
    const changed = ops.map((op, index) => (op.kind === " " ? -1 : index)).filter((index) => index >= 0);
    if (changed.length === 0) {
        // Only the final newline differs.
        return `--- ${fromLabel}\n+++ ${toLabel}\n@@ end of file @@\n\\ final newline differs\n`;
    }
    // Group changes whose context windows touch into hunks.
    const hunks: Array<[number, number]> = [];
    for (const index of changed) {
        const from = Math.max(0, index - context);
        const to = Math.min(ops.length - 1, index + context);
        const last = hunks[hunks.length - 1];
        if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
        else hunks.push([from, to]);
    }
    // Line numbers (1-based) in each text at every op index.
    const lineA: number[] = [];
    const lineB: number[] = [];
    let a = 1;
    let b = 1;
    for (const op of ops) {
        lineA.push(a);
        lineB.push(b);
        if (op.kind !== "+") a++;
        if (op.kind !== "-") b++;
    }
    const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
    for (const [from, to] of hunks) {
        const slice = ops.slice(from, to + 1);
        const countA = slice.filter((op) => op.kind !== "+").length;
        const countB = slice.filter((op) => op.kind !== "-").length;
        out.push(`@@ -${range(lineA[from], countA)} +${range(lineB[from], countB)} @@`);
        out.push(...slice.map((op) => `${op.kind}${op.line}`));
    }
    return `${out.join("\n")}\n`;
}
