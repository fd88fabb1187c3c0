/**
 * Prints one closing line, "N passed, N failed, N skipped", so CI logs show the counts in a
 * runner-neutral form; skipped suites (no libvirt, no schemas) are listed by name above it.
 */
class SummaryReporter {
    onRunComplete(_contexts, results) {
        const skipped = results.numPendingTests + results.numTodoTests;
        process.stdout.write(
            `\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
        );
    }
}
module.exports = SummaryReporter;
