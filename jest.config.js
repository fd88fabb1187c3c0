/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    // The end-to-end suites need the e2e toolchain and change the host: `npm run test:e2e` runs them.
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/e2e/"],
    transform: {
        // Type checking is `npm run typecheck`; tests only need the code transpiled.
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
    reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
    testTimeout: 60000,
};
