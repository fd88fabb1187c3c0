/** The closing summary lists every skipped suite with its reason, whatever jest showed of its console. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SummaryReporter = require("./summary-reporter.js");

function run(results: unknown): string {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
        written.push(chunk);
        return true;
    }) as typeof process.stdout.write;
    try {
        new SummaryReporter().onRunComplete(new Set(), results);
    } finally {
        process.stdout.write = original;
    }
    return written.join("");
}

test("a suite skipped because libvirtd was not up is named with its reason above the counts", () => {
    const output = run({
        numPassedTests: 3,
        numFailedTests: 0,
        numPendingTests: 4,
        numTodoTests: 0,
        testResults: [
            {
                testResults: [
                    { status: "passed", title: "t", ancestorTitles: ["config"] },
                    {
                        status: "pending",
                        ancestorTitles: [
                            "libvirt pools (skipped: 'virsh -c qemu:///system version' failed: no socket)",
                            "x",
                        ],
                    },
                    {
                        status: "pending",
                        ancestorTitles: [
                            "libvirt pools (skipped: 'virsh -c qemu:///system version' failed: no socket)",
                            "y",
                        ],
                    },
                    {
                        status: "pending",
                        title: "Python's configparser reads it (skipped: python3 is not installed)",
                        ancestorTitles: ["vbmc"],
                    },
                    { status: "pending", title: "t", ancestorTitles: ["a test.skip without a reason"] },
                ],
            },
        ],
    });
    expect(output).toBe(
        "\nSKIPPED Python's configparser reads it (skipped: python3 is not installed)\n" +
            "SKIPPED libvirt pools (skipped: 'virsh -c qemu:///system version' failed: no socket)\n" +
            "3 passed, 0 failed, 4 skipped\n",
    );
});
