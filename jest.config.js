/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    transform: {
        // Type checking is `npm run typecheck`; tests only need the code transpiled.
        "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
    },
    reporters: ["default", "<rootDir>/tests/summary-reporter.js"],
    testTimeout: 60000,
};
