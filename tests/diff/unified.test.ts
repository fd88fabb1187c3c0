/** The unified diff and the report formats, on their own (no git, no render). */
import fc from "fast-check";
import { StackResult } from "../../lib/diff/compare";
import { formatMarkdown, formatText } from "../../lib/diff/format";
import { unifiedDiff } from "../../lib/diff/unified";

/** Applies a unified diff to `before`, checking every context and removed line on the way. */
function applyDiff(before: string, diff: string): string {
    const source = before === "" ? [] : before.replace(/\n$/, "").split("\n");
    const result: string[] = [];
    let next = 0;
    const lines = diff.replace(/\n$/, "").split("\n").slice(2);
    for (let i = 0; i < lines.length; i++) {
        const hunk = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[i]);
        if (!hunk) throw new Error(`not a hunk header: ${lines[i]}`);
        const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
        const start = count === 0 ? Number(hunk[1]) : Number(hunk[1]) - 1;
        result.push(...source.slice(next, start));
        next = start;
        while (i + 1 < lines.length && !lines[i + 1].startsWith("@@")) {
            const line = lines[++i];
            if (line.startsWith("+")) result.push(line.slice(1));
            else {
                expect(source[next]).toBe(line.slice(1));
                if (line.startsWith(" ")) result.push(source[next]);
                next++;
            }
        }
    }
    result.push(...source.slice(next));
    return result.length ? `${result.join("\n")}\n` : "";
}

const text = fc
    .array(fc.constantFrom("a", "b", "c", "kind: Hardware", "  name: x", ""), { maxLength: 40 })
    .map((lines) => (lines.length ? `${lines.join("\n")}\n` : ""));

test("applying the diff to the old text gives the new text", () => {
    fc.assert(
        fc.property(text, text, (before, after) => {
            const diff = unifiedDiff(before, after, "base", "head");
            if (before === after) expect(diff).toBe("");
            else expect(applyDiff(before, diff)).toBe(after);
        }),
        { numRuns: 300 },
    );
});

test("hunks have diff -u's shape: headers, three lines of context, line numbers", () => {
    const before = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"].join("\n") + "\n";
    const after = before.replace("five", "FIVE");
    expect(unifiedDiff(before, after, "base", "head")).toBe(
        [
            "--- base",
            "+++ head",
            "@@ -2,7 +2,7 @@",
            " two",
            " three",
            " four",
            "-five",
            "+FIVE",
            " six",
            " seven",
            " eight",
            "",
        ].join("\n"),
    );
});

const report = (results: StackResult[]) => ({ baseRef: "origin/main", baseCommit: "0123456789abcdef0123", results });

test("no changes: one line", () => {
    const unchanged = report([{ stack: "dev", status: "unchanged" }]);
    expect(formatText(unchanged)).toBe("no changes (1 stack compared with origin/main (0123456789ab))\n");
    expect(formatMarkdown(unchanged)).toMatch(/^no changes \(1 stacks: dev\)$/m);
});

test("a markdown report too long for a comment drops diffs, never the lists", () => {
    const big = "x: 1\n".repeat(3000);
    const result: StackResult = {
        stack: "dev",
        status: "changed",
        machinesAdded: [],
        machinesRemoved: [],
        added: [],
        removed: [],
        replacements: [],
        changed: Array.from({ length: 5 }, (_, i) => ({
            label: `ConfigMap tinkerbell/c${i}`,
            diff: unifiedDiff(big, big.replace(/1/g, "2"), "base", "head"),
        })),
    };
    const full = formatMarkdown(report([result]), 10_000_000);
    const cut = formatMarkdown(report([result]), 20_000);
    expect(full.length).toBeGreaterThan(100_000);
    expect(cut.length).toBeLessThanOrEqual(20_000);
    for (let i = 0; i < 5; i++) expect(cut).toContain(`- changed \`ConfigMap tinkerbell/c${i}\``);
    expect(cut.match(/^```/gm)!.length % 2).toBe(0);
});

test("markdown escapes what would break the summary element", () => {
    const error: StackResult = { stack: "dev", status: "error", head: "invalid config: got <script>" };
    const markdown = formatMarkdown(report([error]));
    expect(markdown).toContain("<summary>dev: head: invalid config: got &lt;script&gt;</summary>");
});
