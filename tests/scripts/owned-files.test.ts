/**
 * Destroy's clusterctl scripts remove only what clusterctl-init recorded creating: a user's files
 * planted beside the lab's (in the output directory) and inside its folders (below xdg), before or
 * after `up`, stay; so does an xdg folder, clusterctl.yaml or log the stack never made.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox, clusterctlConfig } from "./harness";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: owned-files-token\n";

let sandbox: Sandbox;
let stateDir: string;
let env: Record<string, string>;
beforeEach(() => {
    sandbox = new Sandbox();
    stateDir = path.join(sandbox.root, "project", ".lab", "dev");
    env = {
        KUBECONFIG_CONTENT: KUBECONFIG,
        CLUSTERCTL_CONFIG_CONTENT: clusterctlConfig(),
        STATE_DIR: stateDir,
        TINKERBELL_IP: "172.30.0.74",
        CAPI_VERSION: "v1.12.5",
        CAPT_VERSION: "v0.7.0",
    };
});
afterEach(() => sandbox.cleanup());

function plant(relative: string, content = "mine"): string {
    const file = path.join(stateDir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
}

/** Every file below the output directory, relative, sorted. */
function tree(): string[] {
    if (!fs.existsSync(stateDir)) return [];
    return (fs.readdirSync(stateDir, { recursive: true }) as string[])
        .filter((entry) => fs.statSync(path.join(stateDir, entry)).isFile())
        .sort();
}

describe.each(["clusterctl-clean", "clusterctl-delete"] as const)("%s leaves a user's files alone", (script) => {
    test("files planted beside and inside the lab's folders, before and after up, stay untouched", () => {
        const before = plant("notes-before.txt", "planted before up");
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const inside = plant("xdg/cluster-api/my-overrides.yaml", "planted inside xdg");
        const beside = plant("my-notes.txt", "planted beside");
        const deeper = plant("xdg/mine/keep.txt", "a folder of my own in xdg");
        // A second up records nothing the user put there.
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);

        const result = sandbox.run(script, env);
        expect(result.status).toBe(0);
        for (const [file, content] of [
            [before, "planted before up"],
            [inside, "planted inside xdg"],
            [beside, "planted beside"],
            [deeper, "a folder of my own in xdg"],
        ]) {
            expect(fs.readFileSync(file, "utf8")).toBe(content);
        }
        // The lab's own files are gone; only the user's remain.
        expect(tree()).toEqual(
            ["my-notes.txt", "notes-before.txt", "xdg/cluster-api/my-overrides.yaml", "xdg/mine/keep.txt"].map((p) =>
                p.split("/").join(path.sep),
            ),
        );
    });

    test("what an init killed with SIGKILL wrote below xdg (no trap ran to record it) is removed too", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const mine = plant("xdg/cluster-api/my-overrides.yaml", "planted before the killed run");
        const killed = sandbox.run("clusterctl-init", { ...env, FAKE_CLUSTERCTL_KILLED_AFTER_WRITING: "cache.yaml" });
        expect(killed.status).toBeNull();
        expect(fs.existsSync(path.join(stateDir, "xdg", "cluster-api", "cache.yaml"))).toBe(true);

        const result = sandbox.run(script, env);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("recording what an interrupted clusterctl init wrote");
        expect(fs.readFileSync(mine, "utf8")).toBe("planted before the killed run");
        expect(tree()).toEqual([path.join("xdg", "cluster-api", "my-overrides.yaml")]);
    });

    test("without a record of what the stack created, nothing is removed", () => {
        plant("clusterctl.yaml", "a user's own clusterctl config");
        plant("xdg/cluster-api/clusterctl.yaml", "the user's XDG config");
        plant("clusterctl-init.log", "a user's log");
        const result = sandbox.run(script, env);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("no record of files this stack created");
        expect(tree()).toEqual(
            ["clusterctl-init.log", "clusterctl.yaml", "xdg/cluster-api/clusterctl.yaml"].map((p) =>
                p.split("/").join(path.sep),
            ),
        );
    });
});

describe("clusterctl-init refuses to take over what it did not create", () => {
    test.each([
        ["a user's xdg folder", "xdg/settings.yaml"],
        ["a user's clusterctl.yaml", "clusterctl.yaml"],
        ["a user's clusterctl-init.log", "clusterctl-init.log"],
    ])("%s: exit 1 naming it, the file unchanged, clusterctl never run", (_name, relative) => {
        const file = plant(relative, "the user's content");
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("this stack did not create it");
        expect(fs.readFileSync(file, "utf8")).toBe("the user's content");
        expect(sandbox.calls("clusterctl", "init")).toEqual([]);
        // And the delete step that follows a failed up removes none of it.
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(fs.readFileSync(file, "utf8")).toBe("the user's content");
    });

    test("a lab made before the record existed (same clusterctl.yaml, an xdg folder) is adopted and cleaned", () => {
        plant("clusterctl.yaml", clusterctlConfig());
        plant("xdg/cluster-api/version.yaml", "written by an older lab's clusterctl");
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(fs.existsSync(stateDir)).toBe(false);
    });
});

describe("clusterctl-claim (the files Command, done before init starts)", () => {
    test("claims the names before init writes them, so clean removes what an init interrupted mid-way wrote", () => {
        expect(sandbox.run("clusterctl-claim", env).status).toBe(0);
        expect(fs.readFileSync(path.join(stateDir, "xdg", ".capt-playground-owned"), "utf8").split("\n")).toEqual([
            "xdg",
            "clusterctl.yaml",
            "clusterctl-init.log",
            "",
        ]);
        // What an init killed half-way leaves (its own Command never reached the state).
        plant("clusterctl.yaml", clusterctlConfig());
        plant("clusterctl-init.log", "Installing provider ...\n");
        const mine = plant("my-notes.txt");
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(tree()).toEqual(["my-notes.txt"]);
        expect(fs.readFileSync(mine, "utf8")).toBe("mine");
    });

    test("refuses a clusterctl.yaml the stack did not create; a second claim changes nothing", () => {
        plant("clusterctl.yaml", "someone else's\n");
        const refused = sandbox.run("clusterctl-claim", env);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain("clusterctl.yaml exists but this stack did not create it");
        fs.rmSync(path.join(stateDir, "clusterctl.yaml"));
        fs.rmSync(path.join(stateDir, "xdg"), { recursive: true, force: true });
        expect(sandbox.run("clusterctl-claim", env).status).toBe(0);
        const record = fs.readFileSync(path.join(stateDir, "xdg", ".capt-playground-owned"), "utf8");
        expect(sandbox.run("clusterctl-claim", env).status).toBe(0);
        expect(fs.readFileSync(path.join(stateDir, "xdg", ".capt-playground-owned"), "utf8")).toBe(record);
    });
});

/**
 * An output directory below /tmp can be prepared by another user for a root `up` or `destroy`: a
 * folder of the lab's swapped for a symbolic link would make a delete or write land wherever it
 * points. The scripts never follow one; clean-up checks every recorded name before removing any.
 */
describe("symbolic links on the way to the lab's files", () => {
    let outside: string;
    beforeEach(() => {
        outside = path.join(sandbox.root, "outside");
        fs.mkdirSync(outside);
    });

    /** A lab whose record lists xdg/cluster-api/ and a file in it (as clusterctl writes them). */
    function labWithXdgFiles(): void {
        plant("clusterctl.yaml", clusterctlConfig());
        plant("xdg/cluster-api/version.yaml", "written by clusterctl");
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const record = fs.readFileSync(path.join(stateDir, "xdg", ".capt-playground-owned"), "utf8");
        expect(record.split("\n")).toEqual(
            expect.arrayContaining(["xdg", "clusterctl.yaml", "xdg/cluster-api", "xdg/cluster-api/version.yaml"]),
        );
    }

    /** Files outside the output directory that a delete through a link would reach. */
    function victims(): Record<string, string> {
        const files = { "version.yaml": "not the lab's", "clusterctl.yaml": "not the lab's either" };
        for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(outside, name), content);
        return files;
    }

    function expectUntouched(files: Record<string, string>): void {
        for (const [name, content] of Object.entries(files)) {
            expect(fs.readFileSync(path.join(outside, name), "utf8")).toBe(content);
        }
    }

    describe.each(["clusterctl-clean", "clusterctl-delete"] as const)("%s", (script) => {
        test.each([
            ["xdg itself", "xdg"],
            ["a folder clusterctl wrote below xdg", "xdg/cluster-api"],
        ])("%s swapped for a link: exit 1 naming it, nothing removed anywhere", (_name, swapped) => {
            labWithXdgFiles();
            const files = victims();
            // The lab's folder moves away; a link to a folder of someone else's takes its place.
            const kept = path.join(sandbox.root, "moved-away");
            fs.renameSync(path.join(stateDir, swapped), kept);
            fs.cpSync(kept, outside, { recursive: true, force: false, errorOnExist: false });
            victims();
            fs.symlinkSync(outside, path.join(stateDir, swapped));
            const before = tree();

            const result = sandbox.run(script, env);
            expect(result.status).toBe(1);
            expect(result.stderr).toContain(`${path.join(stateDir, swapped)}`);
            expect(result.stderr).toContain("symbolic link");
            expect(result.stderr).toMatch(/nothing was (written or )?removed/);
            expectUntouched(files);
            expect(fs.existsSync(path.join(outside, "version.yaml"))).toBe(true);
            // No half-way clean-up: clusterctl.yaml, checked before anything went, is still there.
            expect(tree()).toEqual(before);
            expect(fs.existsSync(path.join(stateDir, "clusterctl.yaml"))).toBe(true);
        });

        test("a recorded file swapped for a link: the link and its target both stay", () => {
            labWithXdgFiles();
            const files = victims();
            const recorded = path.join(stateDir, "xdg", "cluster-api", "version.yaml");
            fs.rmSync(recorded);
            fs.symlinkSync(path.join(outside, "version.yaml"), recorded);
            const result = sandbox.run(script, env);
            expect(result.status).toBe(1);
            expect(result.stderr).toContain(recorded);
            expect(fs.lstatSync(recorded).isSymbolicLink()).toBe(true);
            expectUntouched(files);
            expect(fs.existsSync(path.join(stateDir, "clusterctl.yaml"))).toBe(true);
        });

        test("the output directory reached through a link: nothing removed from where it points", () => {
            labWithXdgFiles();
            const real = path.join(sandbox.root, "real-output");
            fs.renameSync(stateDir, real);
            fs.symlinkSync(real, stateDir);
            const result = sandbox.run(script, env);
            expect(result.status).toBe(1);
            expect(result.stderr).toContain("symbolic link");
            expect(fs.readFileSync(path.join(real, "clusterctl.yaml"), "utf8")).toBe(clusterctlConfig());
            expect(fs.existsSync(path.join(real, "xdg", "cluster-api", "version.yaml"))).toBe(true);
        });

        test("once the link is gone, the next run cleans up as usual", () => {
            labWithXdgFiles();
            fs.renameSync(path.join(stateDir, "xdg", "cluster-api"), path.join(sandbox.root, "moved-away"));
            fs.symlinkSync(outside, path.join(stateDir, "xdg", "cluster-api"));
            expect(sandbox.run(script, env).status).toBe(1);
            fs.rmSync(path.join(stateDir, "xdg", "cluster-api"));
            expect(sandbox.run(script, env).status).toBe(0);
            expect(fs.existsSync(stateDir)).toBe(false);
        });
    });

    test.each([
        ["xdg", "xdg"],
        ["clusterctl.yaml", "clusterctl.yaml"],
        ["clusterctl-init.log", "clusterctl-init.log"],
        ["the output directory", ""],
    ])("clusterctl-init and clusterctl-claim write nothing through a link at %s", (_name, relative) => {
        for (const script of ["clusterctl-claim", "clusterctl-init"] as const) {
            const target = path.join(outside, "target");
            fs.rmSync(target, { recursive: true, force: true });
            if (relative === "xdg" || relative === "") fs.mkdirSync(target);
            else fs.writeFileSync(target, "someone else's");
            fs.mkdirSync(path.dirname(path.join(stateDir, relative)), { recursive: true });
            fs.rmSync(path.join(stateDir, relative), { recursive: true, force: true });
            fs.symlinkSync(target, path.join(stateDir, relative));
            const result = sandbox.run(script, env);
            expect({ script, status: result.status }).toEqual({ script, status: 1 });
            expect(result.stderr).toContain("symbolic link");
            if (fs.statSync(target).isDirectory()) expect(fs.readdirSync(target)).toEqual([]);
            else expect(fs.readFileSync(target, "utf8")).toBe("someone else's");
            expect(sandbox.calls("clusterctl", "init")).toEqual([]);
            fs.rmSync(path.join(stateDir, relative));
        }
    });
});
