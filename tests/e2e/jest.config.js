/**
 * The end-to-end suites (`npm run test:e2e`): the real Pulumi CLI, language host and libvirt. Slow
 * and host-changing, so they run one file at a time with long timeouts, and only under this config:
 * the `CAPT_E2E` global tells tests/e2e/support.ts that the e2e run was asked for.
 */
/** @type {import('jest').Config} */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/e2e"],
    testMatch: ["**/*.test.ts"],
    transform: {
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
    reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
    globals: { CAPT_E2E: true },
    maxWorkers: 1,
    testTimeout: 15 * 60 * 1000,
};
