/**
 * Prints one closing line, "N passed, N failed, N skipped", so CI logs show the counts in a
 * runner-neutral form; skipped suites (no libvirt, no schemas) are listed above it with the reason
 * their title carries ("<title> (skipped: <reason>)"). The reason is taken from the results, not
 * from the suite's console output, which jest does not show for a file whose tests all skipped.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skippedSuites = new Set();
        for (const file of results.testResults) {
            for (const test of file.testResults) {
                if (test.status !== "pending" && test.status !== "todo") continue;
                const titles = [...(test.ancestorTitles ?? []), test.title ?? ""];
                const suite = titles.find((title) => title.includes("(skipped: "));
                if (suite) skippedSuites.add(suite);
            }
        }
        const lines = [...skippedSuites].sort().map((suite) => `SKIPPED ${suite}\n`);
        const skipped = results.numPendingTests + results.numTodoTests;
        process.stdout.write(
            `\n${lines.join("")}${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
        );
    }
}
module.exports = SummaryReporter;
