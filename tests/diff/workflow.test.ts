/**
 * The pull-request workflow: valid by GitHub's own workflow parser, every action pinned to a full
 * commit, the checks and the object diff in the order the README gives, and one comment per pull
 * request that later runs update instead of adding another.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_DIR } from "../fixtures";

const WORKFLOW = path.join(PROJECT_DIR, ".github", "workflows", "pull-request.yml");
const VALIDATOR = path.join(__dirname, "workflow-validator", "validate.mjs");
const PREVIEW_SCRIPT = path.join(PROJECT_DIR, ".github", "scripts", "preview.sh");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const comment = require(path.join(PROJECT_DIR, ".github", "scripts", "pr-comment.js")) as {
    MARKER: string;
    MAX_COMMENT_CHARS: number;
    mergeSections(body: string | undefined, updates: Record<string, string | null>): string;
    readSection(body: string, name: string): string | undefined;
    upsertComment(
        api: { github: unknown; context: unknown },
        updates: Record<string, string | null>,
    ): Promise<{ action: string; id: number }>;
};

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, string>;
    env?: Record<string, string>;
}
interface Job {
    "runs-on": string | string[];
    if?: string;
    needs?: string | string[];
    permissions?: Record<string, string>;
    steps: Step[];
}
const workflow = parse(fs.readFileSync(WORKFLOW, "utf8")) as { on: Record<string, unknown>; jobs: Record<string, Job> };

function validate(files: string[]): Record<string, string[]> {
    const result = spawnSync(process.execPath, [VALIDATOR, ...files], { cwd: PROJECT_DIR, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`validator failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, string[]>;
}

describe("validated by @actions/workflow-parser", () => {
    test("the workflow has no errors, and the validator does find them in a broken copy", () => {
        const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "workflow-")), "broken.yml");
        fs.writeFileSync(
            broken,
            fs
                .readFileSync(WORKFLOW, "utf8")
                .replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    bogus-key: 1")
                .replace("--format markdown", "--format markdown ${{ github.event.( }}"),
        );
        try {
            const results = validate([WORKFLOW, broken]);
            expect(results[WORKFLOW]).toEqual([]);
            expect(results[broken].join("\n")).toMatch(/Unexpected value 'bogus-key'/);
            expect(results[broken].join("\n")).toMatch(/Unexpected symbol: '\('/);
        } finally {
            fs.rmSync(path.dirname(broken), { recursive: true, force: true });
        }
    }, 60_000);
});

test("every action is pinned to a full commit SHA with its version in a comment", () => {
    const lines = fs.readFileSync(WORKFLOW, "utf8").split("\n");
    const uses = lines.filter((line) => /^\s*(-\s+)?uses:/.test(line));
    expect(uses.length).toBeGreaterThanOrEqual(6);
    for (const line of uses) {
        expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
    // The parsed steps agree with the lines checked above (no `uses` written another way).
    const parsedUses = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((step) => step.uses ?? []));
    expect(parsedUses).toHaveLength(uses.length);
    expect(parsedUses.every((ref) => /@[0-9a-f]{40}$/.test(ref))).toBe(true);
});

test("on every pull request: npm ci, typecheck, lint, test, then the object diff against the base", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    const check = workflow.jobs.check;
    expect(check["runs-on"]).toBe("ubuntu-latest");
    const runs = check.steps.flatMap((step) => step.run ?? []).map((run) => run.trim());
    expect(runs.slice(0, 4)).toEqual(["npm ci", "npm run typecheck", "npm run lint", "npm test"]);
    const diff = check.steps.find((step) => step.run?.includes("npm run --silent diff"))!;
    expect(diff.run).toMatch(/--base "\$BASE_SHA" --format markdown/);
    expect(diff.env?.BASE_SHA).toBe("${{ github.event.pull_request.base.sha }}");
    const checkout = check.steps.find((step) => step.uses?.startsWith("actions/checkout@"))!;
    expect(checkout.with?.["fetch-depth"]).toBe(0);
});

test("the optional preview: only when enabled, never for a fork, on the runner the README names", () => {
    const preview = workflow.jobs.preview;
    expect(preview.if).toContain("vars.CAPT_LAB_PREVIEW == 'true'");
    expect(preview.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    expect(preview["runs-on"]).toEqual(["self-hosted", "capt-lab"]);
    expect(preview.needs).toBe("check");
    const run = preview.steps.find((step) => step.run?.includes("preview.sh"))!;
    expect(run.env).toMatchObject({
        CAPT_SECRET_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
        CAPT_SECRET_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    });
    const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Changes through pull requests"));
    expect(readme).toContain("## Changes through pull requests");
    for (const name of [
        "capt-lab",
        "CAPT_LAB_PREVIEW",
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "CAPT_LAB_STACKS",
    ]) {
        expect(section).toContain(name);
    }
});

test("both jobs post through the one-comment script, with permission to write comments", () => {
    for (const job of Object.values(workflow.jobs)) {
        const posts = job.steps.filter((step) => step.uses?.startsWith("actions/github-script@"));
        expect(posts).toHaveLength(1);
        expect(posts[0].with?.script).toContain(".github/scripts/pr-comment.js");
        expect(posts[0].with?.script).toMatch(/await upsertComment\(\{ github, context \}, /);
        expect(posts[0].with?.script).not.toMatch(/createComment/);
        expect(job.permissions?.["pull-requests"]).toBe("write");
    }
});

describe("one comment, updated on each push", () => {
    type Comment = { id: number; body: string; user: { type: string } };

    /** Just enough of Octokit: a pull request's comments, and calls recorded. */
    function fakeGitHub(comments: Comment[]) {
        const calls: string[] = [];
        let nextId = 1000;
        const listComments = () => undefined;
        const github = {
            paginate: async (method: unknown) => {
                expect(method).toBe(listComments);
                return comments.map((c) => ({ ...c }));
            },
            rest: {
                issues: {
                    listComments,
                    updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => {
                        calls.push(`update ${comment_id}`);
                        comments.find((c) => c.id === comment_id)!.body = body;
                    },
                    createComment: async ({ body }: { body: string }) => {
                        const id = nextId++;
                        calls.push(`create ${id}`);
                        comments.push({ id, body, user: { type: "Bot" } });
                        return { data: { id } };
                    },
                },
            },
        };
        const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 } };
        return { api: { github, context }, calls, comments };
    }

    test("the first run creates it; every later run updates that one comment", async () => {
        const fake = fakeGitHub([{ id: 1, body: "looks good", user: { type: "User" } }]);
        await comment.upsertComment(fake.api, { "object-diff": "first push" });
        await comment.upsertComment(fake.api, { "object-diff": "second push", preview: "running…" });
        await comment.upsertComment(fake.api, { preview: "preview done" });
        expect(fake.calls).toEqual(["create 1000", "update 1000", "update 1000"]);
        expect(fake.comments).toHaveLength(2);
        const body = fake.comments[1].body;
        expect(body.startsWith(comment.MARKER)).toBe(true);
        // Each job replaced only its own section.
        expect(comment.readSection(body, "object-diff")).toBe("second push");
        expect(comment.readSection(body, "preview")).toBe("preview done");
        expect(fake.comments[0].body).toBe("looks good");
    });

    test("a user's comment quoting the marker is not taken for the bot's", async () => {
        const fake = fakeGitHub([{ id: 5, body: `quoting ${comment.MARKER}`, user: { type: "User" } }]);
        expect(await comment.upsertComment(fake.api, { "object-diff": "x" })).toEqual({ action: "created", id: 1000 });
    });

    test("a dropped section disappears; anything too long is cut to fit one comment", () => {
        const both = comment.mergeSections(undefined, { "object-diff": "diff", preview: "old preview" });
        expect(comment.readSection(comment.mergeSections(both, { preview: null }), "preview")).toBeUndefined();
        const huge = `<details><summary>dev</summary>\n\n\`\`\`diff\n${"+ line\n".repeat(20_000)}`;
        const body = comment.mergeSections(undefined, { "object-diff": huge, preview: "p".repeat(30_000) });
        expect(body.length).toBeLessThanOrEqual(comment.MAX_COMMENT_CHARS);
        const diff = comment.readSection(body, "object-diff")!;
        expect(diff).toMatch(/cut to fit the comment/);
        expect(diff.match(/^```/gm)).toHaveLength(2);
        expect(diff.match(/<\/details>/g)).toHaveLength(1);
        expect(() => comment.mergeSections(undefined, { bogus: "x" })).toThrow(/unknown comment section/);
    });
});

test("the preview script passes shellcheck", () => {
    const found = spawnSync("shellcheck", ["--version"]);
    if (found.error) {
        if (process.env.CI === "true") throw new Error("shellcheck is required under CI");
        console.warn("SKIPPED shellcheck of .github/scripts/preview.sh: shellcheck not installed");
        return;
    }
    const result = spawnSync("shellcheck", [PREVIEW_SCRIPT], { encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
});

describe("the self-hosted preview script, with npm stubbed", () => {
    let dir: string;
    let base: string;
    const git = (...args: string[]) =>
        spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@test.invalid", ...args], {
            cwd: dir,
            encoding: "utf8",
        }).stdout.trim();

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-sh-"));
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        git("init", "-q", "-b", "main");
        git("add", "-A");
        git("commit", "-q", "-m", "base");
        base = git("rev-parse", "HEAD");
        fs.writeFileSync(path.join(dir, "Pulumi.new.yaml"), "config: {}\n");
        // The stub stands in for `npm run --silent diff|preview`: it says which stacks changed and
        // what it was run with, never the passphrase itself.
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(
            path.join(dir, "bin", "npm"),
            [
                "#!/usr/bin/env bash",
                'if [ "$3" = diff ]; then printf "dev\\nnew\\n"; exit 0; fi',
                'echo "preview $*"',
                'echo "backend=$PULUMI_BACKEND_URL passphrase-set=${PULUMI_CONFIG_PASSPHRASE:+yes}"',
                'echo "leftover=${CAPT_SECRET_PASSPHRASE:-none}"',
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    function preview(env: Record<string, string>) {
        const out = path.join(dir, "preview.md");
        const result = spawnSync("bash", [PREVIEW_SCRIPT], {
            cwd: dir,
            encoding: "utf8",
            env: {
                PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                HOME: process.env.HOME ?? dir,
                BASE_SHA: base,
                OUT: out,
                ...env,
            },
        });
        return { status: result.status, stdout: result.stdout, markdown: fs.readFileSync(out, "utf8") };
    }

    test("previews each changed stack that is deployed, with the backend and passphrase from the secrets", () => {
        const result = preview({ CAPT_SECRET_BACKEND_URL: "file:///lab/state", CAPT_SECRET_PASSPHRASE: "s3cret-pass" });
        expect(result.status).toBe(0);
        expect(result.markdown).toContain("<details><summary>dev: preview ok</summary>");
        expect(result.markdown).toContain(
            "preview run --silent preview -- --stack dev --non-interactive --color never",
        );
        expect(result.markdown).toContain("backend=file:///lab/state passphrase-set=yes");
        expect(result.markdown).toContain("leftover=none");
        expect(result.markdown).toMatch(/- `new`: not deployed on the lab host/);
        expect(result.markdown + result.stdout).not.toContain("s3cret-pass");
    });

    test("the runner's own environment works too; CAPT_LAB_STACKS limits what is previewed", () => {
        const result = preview({ PULUMI_BACKEND_URL: "file:///runner/state", CAPT_LAB_STACKS: "new" });
        expect(result.status).toBe(0);
        expect(result.markdown).toContain("<details><summary>new: preview ok</summary>");
        expect(result.markdown).toContain("backend=file:///runner/state");
        expect(result.markdown).toMatch(/- `dev`: not deployed on the lab host/);
    });

    test("without a state backend it refuses instead of previewing against an empty state", () => {
        const result = preview({ CAPT_SECRET_BACKEND_URL: "" });
        expect(result.status).toBe(1);
        expect(result.markdown).toMatch(/No state backend: set PULUMI_BACKEND_URL/);
        expect(result.markdown).not.toContain("<details>");
    });
});
