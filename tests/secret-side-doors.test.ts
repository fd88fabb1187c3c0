/**
 * Secrets through side doors, as a user (and CI) runs the commands: a stack file whose secret key
 * carries a YAML tag, an alias named like the password, or a plaintext shaped like an encrypted
 * value. render, doctor and diff (the markdown CI posts as the pull-request comment) name the file
 * and key and never print the value, the alias name or the base64 of either.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { secretTexts } from "../lib/stack-files";
import { scrubDeep, scrubSecrets } from "../lib/diff/run";
import { TempRepo, createTempRepo } from "./diff/repo";

const TS_NODE = require.resolve("ts-node/dist/bin.js");
const PASSWORD = "Side-Door-Passw0rd";
const KEY_DATA = "S1DE-D00R-CLIENT-KEY-DATA";

/** Stack files, each with one side door; `key` is the key the message must name. */
const SIDE_DOORS: Record<string, { text: string; key: string }> = {
    tag: { text: `config:\n  capt-playground:bmcPassword: !secret ${PASSWORD}\n`, key: "bmcPassword" },
    alias: { text: `config:\n  capt-playground:bmcPassword: *${PASSWORD}\n`, key: "bmcPassword" },
    kubeconfig: {
        text: `config:\n  capt-playground:managementKubeconfig: !kube "kind: Config\\nusers: [{user: {client-key-data: ${KEY_DATA}}}]"\n`,
        key: "managementKubeconfig",
    },
    lookalike: { text: `config:\n  capt-playground:bmcPassword: {value: ${PASSWORD}}\n`, key: "bmcPassword" },
};

/** Every form a leak could take. */
const LEAKS = [PASSWORD, KEY_DATA].flatMap((secret) => [
    secret,
    Buffer.from(secret).toString("base64"),
    JSON.stringify(secret).slice(1, -1),
]);

function expectNoLeak(what: string, text: string): void {
    for (const leak of LEAKS) {
        expect({ what, leaked: text.includes(leak) ? leak : undefined }).toEqual({ what, leaked: undefined });
    }
}

let repo: TempRepo;
beforeAll(() => {
    repo = createTempRepo();
    repo.write("Pulumi.dev.yaml", "config:\n  capt-playground:hardwareCount: 3\n");
    repo.commit("base");
    for (const [stack, { text }] of Object.entries(SIDE_DOORS)) repo.write(`Pulumi.${stack}.yaml`, text);
}, 60_000);
afterAll(() => repo?.cleanup());

function runScript(script: string, args: string[]) {
    const result = spawnSync(process.execPath, [TS_NODE, "--transpile-only", `scripts/${script}.ts`, ...args], {
        cwd: repo.dir,
        encoding: "utf8",
        timeout: 240_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.each(Object.entries(SIDE_DOORS))("a stack file with a side door (%s)", (stack, { key }) => {
    test("render refuses it naming the file and key, and prints no secret", () => {
        const result = runScript("render", ["--stack", stack, "--out", path.join(repo.dir, ".lab", `out-${stack}`)]);
        expect(result.status).toBe(1);
        expect(result.output).toContain(`capt-playground:${key}`);
        if (stack !== "lookalike") expect(result.output).toContain(`Pulumi.${stack}.yaml`);
        expectNoLeak(`render ${stack}`, result.output);
    }, 120_000);
});

// doctor reads the stack exactly as render does (loadStackConfig): two side doors show it says the same.
test.each(["tag", "alias"])(
    "doctor refuses the %s side door the same way, before it checks the host",
    (stack) => {
        const result = runScript("doctor", ["--stack", stack]);
        expect(result.status).toBe(1);
        expect(result.output).toContain(`capt-playground:${SIDE_DOORS[stack].key}`);
        expect(result.output).not.toMatch(/^preflight for stack/m);
        expectNoLeak(`doctor ${stack}`, result.output);
    },
    120_000,
);

test("diff --format markdown: each stack broken with its key named, no secret in the comment, exit 0", () => {
    const stacks = Object.keys(SIDE_DOORS).flatMap((stack) => ["--stack", stack]);
    const result = repo.diff(["--base", "HEAD", "--format", "markdown", ...stacks]);
    expect(result.status).toBe(0);
    for (const [stack, { key }] of Object.entries(SIDE_DOORS)) {
        expect(result.stdout).toMatch(new RegExp(`^- ${stack}: .*capt-playground:${key}`, "m"));
    }
    expectNoLeak("diff stdout", result.stdout);
    expectNoLeak("diff stderr", result.stderr);
}, 300_000);

describe("what diff scrubs", () => {
    test("every text below a secret key, however it is written, and the ciphertexts", () => {
        const texts = secretTexts(
            [
                "config:",
                `  capt-playground:bmcPassword: !secret ${PASSWORD}`,
                "  capt-playground:tinkerbellKubeconfig: *kube-alias-name",
                '  capt-playground:machineBmcPasswords: \'{"rack1-a": "Machine-Pw-1"}\'',
                "  capt-playground:managementKubeconfig: &anchor-name",
                "    secure: v1:Q2lwaGVy",
                "  capt-playground:hardwareCount: 3",
                "  capt-playground:namespace: admin-area",
            ].join("\n"),
        );
        expect(texts).toEqual(expect.arrayContaining([PASSWORD, "kube-alias-name", "Machine-Pw-1", "v1:Q2lwaGVy"]));
        expect(texts).not.toContain("admin-area");
        expect(texts).not.toContain("secure");
        expect(secretTexts("config: [unclosed")).toEqual([]);
    });

    test("scrubbing covers the escaped spellings and runs before formatting (no cut can leave half a secret)", () => {
        const secret = 'pa<ss&"word';
        const text = `raw ${secret}, json ${JSON.stringify(secret)}, html pa&lt;ss&amp;"word`;
        const scrubbed = scrubSecrets(text, [secret]);
        expect(scrubbed).not.toMatch(/pa(<|&lt;)ss/);
        expect(scrubDeep({ results: [{ error: `x ${secret} y` }] }, [secret])).toEqual({
            results: [{ error: "x [secret] y" }],
        });
    });
});
