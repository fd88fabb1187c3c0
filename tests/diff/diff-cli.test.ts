/**
 * `npm run diff` as a process, in a git repository the test makes: the base is rendered with the
 * base commit's own code, the working tree with its own, and the two compared object by object.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { TempRepo, createTempRepo, stackYaml } from "./repo";

const PLAIN_PASSWORD = "Plain-Passw0rd!";
const BASE_CIPHERTEXT = "v1:BASEcipherTEXTxyzQ==";
const HEAD_CIPHERTEXT = "v1:HEADcipherTEXTabcQ==";

let repo: TempRepo;
const outputs: string[] = [];

function run(args: string[]) {
    const result = repo.diff(args);
    outputs.push(result.stdout, result.stderr);
    return result;
}

/** The lines of one stack's collapsible section in the markdown report. */
function section(markdown: string, stack: string): string {
    const start = markdown.indexOf(`<details><summary>${stack}: `);
    if (start < 0) throw new Error(`no section for ${stack} in:\n${markdown}`);
    return markdown.slice(start, markdown.indexOf("</details>", start));
}

function listed(markdown: string, stack: string, what: "added" | "removed" | "changed"): string[] {
    const pattern = new RegExp(`^- ${what} \`([^\`]+)\`(?: \\(replaces \`[^\`]+\`\\))?$`, "gm");
    return [...section(markdown, stack).matchAll(pattern)].map((match) => match[1]).sort();
}

/** Everything git and the file system show about the working tree, to prove nothing moved. */
function treeState(): string {
    const hash = crypto.createHash("sha256");
    for (const file of fs.readdirSync(repo.dir).sort()) {
        if (file.startsWith("Pulumi.")) hash.update(file).update(fs.readFileSync(path.join(repo.dir, file)));
    }
    return [
        repo.git("status", "--porcelain", "--untracked-files=all"),
        repo.git("rev-parse", "HEAD"),
        repo.git("stash", "list"),
        repo
            .git("worktree", "list", "--porcelain")
            .split("\n")
            .filter((line) => line.startsWith("worktree")).length,
        hash.digest("hex"),
    ].join("\n");
}

beforeAll(() => {
    repo = createTempRepo();
    repo.write("Pulumi.dev.yaml", stackYaml({ hardwareCount: 3, controlPlanes: 1, workers: 1 }));
    repo.write("Pulumi.k8s.yaml", stackYaml({ kubernetesVersion: "v1.35.2", networkSubnet: "10.81.0.0/16" }));
    repo.write("Pulumi.secret.yaml", stackYaml({ bmcPassword: { secure: BASE_CIPHERTEXT }, vmCpus: 2 }));
    repo.write("Pulumi.old.yaml", stackYaml({ hardwareCount: 2 }));
    repo.commit("base");
}, 60_000);

afterAll(() => repo?.cleanup());

describe("no change", () => {
    test("every stack renders the same at HEAD and in the working tree: exit 0, no changes", () => {
        const result = run(["--base", "HEAD"]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/^no changes \(4 stacks compared with HEAD \([0-9a-f]{12}\)\)\n$/);
    }, 180_000);

    test("--changed-stacks names the stacks whose own file changed; documentation changes none", () => {
        const dev = fs.readFileSync(path.join(repo.dir, "Pulumi.dev.yaml"), "utf8");
        repo.write("README.md", "# a note\n");
        expect(run(["--base", "HEAD", "--changed-stacks"])).toMatchObject({ status: 0, stdout: "" });
        repo.write("Pulumi.dev.yaml", `${dev}# a comment\n`);
        try {
            expect(run(["--base", "HEAD", "--changed-stacks"])).toMatchObject({ status: 0, stdout: "dev\n" });
        } finally {
            repo.write("Pulumi.dev.yaml", dev);
            repo.remove("README.md");
        }
    }, 60_000);
});

describe("a pull request's worth of changes", () => {
    let markdown: string;
    let before: string;

    beforeAll(() => {
        // The base: a stack whose config is invalid (with a plaintext password, which is invalid too).
        repo.write("Pulumi.broken.yaml", stackYaml({ hardwareCount: 0, bmcPassword: PLAIN_PASSWORD }));
        const base = repo.commit("a broken stack");
        // The working tree: one change of each kind, left uncommitted (and one untracked file).
        repo.write("Pulumi.dev.yaml", stackYaml({ hardwareCount: 4, controlPlanes: 1, workers: 1 }));
        repo.write("Pulumi.k8s.yaml", stackYaml({ kubernetesVersion: "v1.35.3", networkSubnet: "10.81.0.0/16" }));
        repo.write("Pulumi.broken.yaml", stackYaml({ hardwareCount: 3 }));
        repo.write("Pulumi.secret.yaml", stackYaml({ bmcPassword: { secure: HEAD_CIPHERTEXT }, vmCpus: 4 }));
        repo.write("Pulumi.extra.yaml", stackYaml({ hardwareCount: 2, networkSubnet: "10.61.0.0/16" }));
        repo.remove("Pulumi.old.yaml");
        before = treeState();
        const result = run(["--base", base, "--format", "markdown"]);
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        markdown = result.stdout;
    }, 240_000);

    test("the working tree and the repository are left exactly as they were", () => {
        expect(treeState()).toBe(before);
    });

    test("the summary comes first, one line per stack, then one collapsible section per changed stack", () => {
        const summary = markdown.split("\n").filter((line) => line.startsWith("- ") && !line.startsWith("- added"));
        expect(summary.slice(0, 6)).toEqual([
            expect.stringMatching(/^- broken: base: invalid config: /),
            "- dev: +1 machine, 3 objects added, 1 changed",
            expect.stringMatching(/^- extra: new stack, 2 machines, \d+ objects$/),
            expect.stringMatching(/^- k8s: 2 objects added, 2 removed, 3 changed$/),
            expect.stringMatching(/^- old: stack deleted \(had 2 machines, \d+ objects\)$/),
            expect.stringMatching(/^- secret: \d+ objects changed$/),
        ]);
        expect(markdown.indexOf("- dev: +1 machine")).toBeLessThan(markdown.indexOf("<details>"));
        expect(markdown.match(/<details>/g)).toHaveLength(6);
        expect(markdown.match(/<\/details>/g)).toHaveLength(6);
    });

    test("a machine added: exactly one new domain, Hardware and BMC Machine; only the plan changes", () => {
        expect(section(markdown, "dev")).toMatch(/machines added: `capt-dev-node4`/);
        expect(listed(markdown, "dev", "added")).toEqual([
            "Hardware tinkerbell/capt-dev-node4",
            "Machine.bmc.tinkerbell.org tinkerbell/capt-dev-node4",
            "libvirt domain capt-dev-node4",
        ]);
        expect(listed(markdown, "dev", "removed")).toEqual([]);
        expect(listed(markdown, "dev", "changed")).toEqual(["plan"]);
        // The plan's unified diff shows the new node.
        expect(section(markdown, "dev")).toMatch(/^\+ {2}- name: capt-dev-node4$/m);
    });

    test("a Kubernetes version bump: new TinkerbellMachineTemplates, changed KCP and MachineDeployment", () => {
        expect(listed(markdown, "k8s", "added")).toEqual([
            "TinkerbellMachineTemplate tinkerbell/capt-k8s-control-plane-v1-35-3",
            "TinkerbellMachineTemplate tinkerbell/capt-k8s-worker-a-v1-35-3",
        ]);
        expect(listed(markdown, "k8s", "removed")).toEqual([
            "TinkerbellMachineTemplate tinkerbell/capt-k8s-control-plane-v1-35-2",
            "TinkerbellMachineTemplate tinkerbell/capt-k8s-worker-a-v1-35-2",
        ]);
        expect(listed(markdown, "k8s", "changed")).toEqual([
            "KubeadmControlPlane tinkerbell/capt-k8s-control-plane",
            "MachineDeployment tinkerbell/capt-k8s-worker-a",
            "plan",
        ]);
        const k8s = section(markdown, "k8s");
        // Each new template is shown against the one it replaces: only the version differs.
        expect(k8s).toContain(
            "- added `TinkerbellMachineTemplate tinkerbell/capt-k8s-worker-a-v1-35-3` (replaces `TinkerbellMachineTemplate tinkerbell/capt-k8s-worker-a-v1-35-2`)",
        );
        expect(k8s).toMatch(/^-\s+IMG_URL: \S+:2404-v1\.35\.2-amd64\.gz$/m);
        expect(k8s).toMatch(/^\+\s+IMG_URL: \S+:2404-v1\.35\.3-amd64\.gz$/m);
        expect(k8s).toMatch(/^-\s+version: v1\.35\.2$/m);
        expect(k8s).toMatch(/^\+\s+version: v1\.35\.3$/m);
        expect(k8s).toContain("```diff\n--- base\n+++ head\n@@ ");
    });

    test("a new stack file and a deleted one are shown as such, with their machines named", () => {
        expect(section(markdown, "extra")).toMatch(/machines: `capt-extra-node1`, `capt-extra-node2`/);
        expect(listed(markdown, "extra", "added")).toContain("libvirt domain capt-extra-node1");
        expect(section(markdown, "old")).toMatch(/machines: `capt-old-node1`, `capt-old-node2`/);
        expect(listed(markdown, "old", "removed")).toContain("Hardware tinkerbell/capt-old-node2");
    });

    test("an invalid base config is that stack's result, not a crash", () => {
        const broken = section(markdown, "broken");
        expect(broken).toMatch(
            /^- base: `+ ?invalid config: capt-playground:hardwareCount: got 0; expected an integer/m,
        );
        expect(broken).toMatch(/capt-playground:bmcPassword: is stored in plaintext/);
        expect(broken).not.toMatch(/- head:/);
    });

    test("secrets never appear: neither the plaintext password nor either ciphertext", () => {
        expect(listed(markdown, "secret", "changed")).toContain("libvirt domain capt-secret-node1");
    });

    test("text format, one named stack", () => {
        const result = run(["--base", "HEAD", "--stack", "dev"]);
        expect(result.status).toBe(0);
        const lines = result.stdout.split("\n");
        expect(lines[0]).toMatch(/^object diff: HEAD \([0-9a-f]{12}\) -> working tree, 1 stack$/);
        expect(lines).toContain("dev: +1 machine, 3 objects added, 1 changed");
        expect(lines).toContain("machines added: capt-dev-node4");
        expect(lines).toEqual(
            expect.arrayContaining(["  + libvirt domain capt-dev-node4", "  ~ plan", "--- base", "+++ head"]),
        );
        expect(result.stdout).not.toMatch(/^(=== )?k8s/m);
    }, 120_000);

    test("a change to the render code itself shows up: the base renders with the base's code", () => {
        const files = path.join(repo.dir, "lib", "render", "files.ts");
        const original = fs.readFileSync(files, "utf8");
        expect(original).toMatch(/\n {4}return files;\n/);
        fs.writeFileSync(
            files,
            original.replace(/\n {4}return files;\n/, '\n    files.set("extra.txt", "x\\n");\n    return files;\n'),
        );
        try {
            const result = run(["--base", "HEAD", "--stack", "k8s"]);
            expect(result.status).toBe(0);
            expect(result.stdout).toMatch(/^k8s: 3 objects added, 2 removed, 3 changed$/m);
            expect(result.stdout).toContain("  + file extra.txt");
            // Code changed: every stack in the working tree is worth a real preview.
            const changed = run(["--base", "HEAD", "--changed-stacks"]);
            expect(changed.stdout).toBe("broken\ndev\nextra\nk8s\nsecret\n");
        } finally {
            fs.writeFileSync(files, original);
        }
    }, 120_000);

    test("a base that predates the render command is reported, not a crash", () => {
        // A commit with only a stack file, made without touching HEAD, the index or the working tree.
        const blob = repo.git("hash-object", "-w", "Pulumi.dev.yaml").trim();
        const tree = repo.git("mktree", { input: `100644 blob ${blob}\tPulumi.dev.yaml\n` }).trim();
        const ancient = repo.git("commit-tree", tree, "-m", "before render existed").trim();
        const result = run(["--base", ancient, "--stack", "dev"]);
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/^dev: base: cannot render: this tree has no scripts\/render\.ts$/m);
    }, 120_000);

    test("usage errors and unknown refs exit 2 with a message", () => {
        const noBase = run([]);
        expect(noBase.status).toBe(2);
        expect(noBase.stderr).toMatch(/--base is required/);
        const unknown = run(["--base", "no-such-ref"]);
        expect(unknown.status).toBe(2);
        expect(unknown.stderr).toMatch(/unknown git ref "no-such-ref"/);
        // A typo is not "no changes": a stack with a file on neither side is an error naming the stacks.
        const typo = run(["--base", "HEAD", "--stack", "dve"]);
        expect(typo.status).toBe(2);
        expect(typo.stderr).toMatch(/no stack file for "dve" in the working tree or at the base; stacks: .*dev/);
        expect(typo.stdout).toBe("");
        for (const stack of ["x/../../elsewhere", "a;b", ""]) {
            const bad = run(["--base", "HEAD", "--stack", stack]);
            expect(bad.status).toBe(2);
            expect(bad.stderr).toContain("Pulumi's stack-name rule");
        }
        const help = run(["--help"]);
        expect(help.status).toBe(0);
        expect(help.stdout).toMatch(/^usage: npm run --silent diff -- --base <git-ref>/);
    }, 120_000);
});

afterAll(() => {
    // Checked last, over every run's stdout and stderr.
    const all = outputs.join("\n");
    expect(all).not.toContain(PLAIN_PASSWORD);
    expect(all).not.toContain(BASE_CIPHERTEXT);
    expect(all).not.toContain(HEAD_CIPHERTEXT);
    expect(all).not.toContain("cipherTEXT");
});
