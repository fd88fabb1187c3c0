/**
 * A throwaway git repository holding a copy of this project's render code, for running
 * `npm run diff` as a user would. Git commands here only ever touch the temporary repository.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../fixtures";

/** What render and diff need: the code, the project file, the compiler settings. */
const COPIED = ["lib", "scripts", "providers", "Pulumi.yaml", "tsconfig.json", "package.json"];
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export interface TempRepo {
    dir: string;
    git(...args: Array<string | { input: string }>): string;
    write(file: string, content: string): void;
    remove(file: string): void;
    commit(message: string): string;
    diff(args: string[]): { status: number | null; stdout: string; stderr: string };
    cleanup(): void;
}

export function createTempRepo(): TempRepo {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-diff-test-"));
    for (const entry of COPIED) {
        fs.cpSync(path.join(PROJECT_DIR, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\n.lab/\n");
    /** git in the temporary repository; a trailing `{ input }` is its standard input. */
    const git = (...args: Array<string | { input: string }>) => {
        const input = args.find((arg): arg is { input: string } => typeof arg !== "string")?.input;
        const argv = args.filter((arg): arg is string => typeof arg === "string");
        const result = spawnSync(
            "git",
            ["-c", "user.name=diff test", "-c", "user.email=diff@test.invalid", "-c", "commit.gpgsign=false", ...argv],
            { cwd: dir, encoding: "utf8", input },
        );
        if (result.status !== 0) throw new Error(`git ${argv.join(" ")}: ${result.stderr}`);
        return result.stdout;
    };
    git("init", "-q", "-b", "main");
    return {
        dir,
        git,
        write: (file, content) => {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), content);
        },
        remove: (file) => fs.rmSync(path.join(dir, file), { force: true }),
        commit: (message) => {
            git("add", "-A");
            git("commit", "-q", "-m", message);
            return git("rev-parse", "HEAD").trim();
        },
        diff: (args) => {
            const result = spawnSync(process.execPath, [TS_NODE, "--transpile-only", "scripts/diff.ts", ...args], {
                cwd: dir,
                encoding: "utf8",
                timeout: 240_000,
            });
            return { status: result.status, stdout: result.stdout, stderr: result.stderr };
        },
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

/** A stack file with these `capt-playground:` keys. */
export function stackYaml(values: Record<string, unknown>): string {
    const lines = ["config:"];
    for (const [key, value] of Object.entries(values)) {
        lines.push(`  capt-playground:${key}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
    }
    return `${lines.join("\n")}\n`;
}
