/**
 * The one rule for suites that need something from the host (libvirt, docker, the e2e toolchain):
 * run when it is there; otherwise skip with the reason printed on a developer machine, but fail
 * under CI (CI=true), where a skipped suite would hide a broken setup.
 */
export function describeWhenReady(title: string, missing: string | undefined, what: string, body: () => void): void {
    if (missing === undefined) {
        describe(title, body);
        return;
    }
    if (process.env.CI === "true") {
        describe(title, () => {
            test(`has ${what} available (required under CI)`, () => {
                throw new Error(`${what} missing under CI: ${missing}`);
            });
        });
        return;
    }
    console.warn(`SKIPPED "${title}": ${missing}`);
    describe.skip(`${title} (skipped: ${missing})`, body);
}
