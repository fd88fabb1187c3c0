/** `npm run bundle` as a user runs it, where no registry or docker is needed: help, usage, refusals. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./fixtures";

const BUNDLE = path.join(PROJECT_DIR, "scripts", "bundle.ts");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

function bundle(args: string[]) {
    const result = spawnSync(process.execPath, [TS_NODE, "--transpile-only", BUNDLE, ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let work: string;
beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bundle cli "));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test("--help: the options, the layout's promise and the exit codes; exit 0", () => {
    const result = bundle(["--help"]);
    expect(result.status).toBe(0);
    for (const text of ["--out <dir>", "--mirror FROM=TO", "--insecure-mirror", "bundle.json", "Exit codes: 0"]) {
        expect(result.stdout).toContain(text);
    }
});

test.each([
    // One of each kind; lib/bundler/mirror.ts and lib/render/out-dir.ts have the rest.
    [[], /--out is required/],
    [["--out", "x", "--bogus", "1"], /unknown argument "--bogus"/],
    [["--out", "x", "--mirror", "ghcr.io=http://10.9.8.7:5000"], /plain http:\/\/ is accepted only/],
])("usage error %j: exit 2, nothing written", (args, message) => {
    const result = bundle(args.map((a) => (a === "x" ? path.join(work, "b") : a)));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("usage: npm run --silent bundle");
    expect(fs.existsSync(path.join(work, "b"))).toBe(false);
});

test("a folder holding something that is not a bundle: exit 1, untouched", () => {
    const out = path.join(work, "mine");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    const result = bundle(["--out", out]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/not empty and holds no bundle/);
    expect(fs.readdirSync(out)).toEqual(["notes.txt"]);
});

test("invalid config: exit 1 naming the key, nothing written", () => {
    const out = path.join(work, "b");
    const result = bundle(["--out", out, "--set", "kindNodeImage=Not An Image"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/kindNodeImage/);
    expect(fs.existsSync(out)).toBe(false);
});
