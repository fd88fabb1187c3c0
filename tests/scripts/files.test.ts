/** write-file.sh / remove-file.sh on a real temp directory. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox } from "./harness";

const SECRET = "-----BEGIN KEY-----\nsecret-body-4c4c\n-----END KEY-----";

let sandbox: Sandbox;
let target: string;
beforeEach(() => {
    sandbox = new Sandbox();
    target = path.join(sandbox.root, "out", "nested", "vbmc.key");
});
afterEach(() => sandbox.cleanup());

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe("write-file", () => {
    test("writes the exact content with mode 0600, creating the directory, and leaves no temp file", () => {
        const result = sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: SECRET });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
        expect(fs.readFileSync(target, "utf8")).toBe(SECRET);
        expect(modeOf(target)).toBe(0o600);
        expect(fs.readdirSync(path.dirname(target))).toEqual(["vbmc.key"]);
        expect(result.stderr).not.toContain("secret-body");
    });

    test("FILE_MODE sets the mode", () => {
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "x", FILE_MODE: "0644" }).status).toBe(0);
        expect(modeOf(target)).toBe(0o644);
    });

    test("replaces an existing file by renaming a new one over it", () => {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, "old content that is longer than the new one", { mode: 0o644 });
        const before = fs.statSync(target).ino;
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "new" }).status).toBe(0);
        expect(fs.readFileSync(target, "utf8")).toBe("new");
        expect(fs.statSync(target).ino).not.toBe(before);
        expect(modeOf(target)).toBe(0o600);
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "new" }).status).toBe(0);
        expect(fs.readdirSync(path.dirname(target))).toEqual(["vbmc.key"]);
    });

    test("empty content is allowed, a missing FILE_CONTENT is not", () => {
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "" }).status).toBe(0);
        expect(fs.readFileSync(target, "utf8")).toBe("");
        const missing = sandbox.run("write-file", { FILE_PATH: `${target}.2` });
        expect(missing.status).toBe(2);
        expect(fs.existsSync(`${target}.2`)).toBe(false);
    });

    test("an invalid mode or a directory as target writes nothing", () => {
        const badMode = sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "x", FILE_MODE: "rw-r" });
        expect(badMode.status).toBe(2);
        expect(fs.existsSync(target)).toBe(false);
        fs.mkdirSync(target, { recursive: true });
        const dir = sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "x" });
        expect(dir.status).toBe(1);
        expect(fs.readdirSync(target)).toEqual([]);
    });
});

describe("a write killed before its rename (SIGKILL runs no trap)", () => {
    /** What a killed write-file leaves: its temp file beside the target, holding the content. */
    function leftTemp(name = "AbC123"): string {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const temp = path.join(path.dirname(target), `.vbmc.key.capt-write.${name}`);
        fs.writeFileSync(temp, SECRET, { mode: 0o600 });
        return temp;
    }

    test("the next write removes the temp file it left, and nothing else", () => {
        const temp = leftTemp();
        const others = ["vbmc.key.capt-write.AbC123", ".vbmc.key.AbC123", ".other.capt-write.AbC123"].map((n) =>
            path.join(path.dirname(target), n),
        );
        others.forEach((file) => fs.writeFileSync(file, "a user's"));
        const linkTarget = path.join(sandbox.root, "linked");
        fs.writeFileSync(linkTarget, "kept");
        const link = path.join(path.dirname(target), ".vbmc.key.capt-write.Lnk000");
        fs.symlinkSync(linkTarget, link);

        const result = sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "new" });
        expect(result.status).toBe(0);
        expect(result.stderr).toContain(`removed ${temp}, left by an interrupted write`);
        expect(fs.existsSync(temp)).toBe(false);
        expect(fs.readFileSync(target, "utf8")).toBe("new");
        others.forEach((file) => expect(fs.readFileSync(file, "utf8")).toBe("a user's"));
        expect(fs.readlinkSync(link)).toBe(linkTarget);
        expect(fs.readFileSync(linkTarget, "utf8")).toBe("kept");
    });

    test("remove-file removes it with the file, and the directory then goes", () => {
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: SECRET }).status).toBe(0);
        const temp = leftTemp("ZzZ999");
        expect(sandbox.run("remove-file", { FILE_PATH: target }).status).toBe(0);
        expect(fs.existsSync(temp)).toBe(false);
        expect(fs.existsSync(path.dirname(target))).toBe(false);
    });
});

describe("remove-file", () => {
    test("removes the file and is fine when it is already gone", () => {
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: SECRET }).status).toBe(0);
        expect(sandbox.run("remove-file", { FILE_PATH: target, FILE_CONTENT: SECRET }).status).toBe(0);
        expect(fs.existsSync(target)).toBe(false);
        const again = sandbox.run("remove-file", { FILE_PATH: target });
        expect(again.status).toBe(0);
        const neverThere = sandbox.run("remove-file", { FILE_PATH: path.join(sandbox.root, "no", "such", "file") });
        expect(neverThere.status).toBe(0);
    });

    test("removes the file's directory once it is empty, and only then", () => {
        const dir = path.dirname(target);
        const other = path.join(dir, "other.kubeconfig");
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: SECRET }).status).toBe(0);
        expect(sandbox.run("write-file", { FILE_PATH: other, FILE_CONTENT: "x" }).status).toBe(0);
        expect(sandbox.run("remove-file", { FILE_PATH: target }).status).toBe(0);
        expect(fs.readdirSync(dir)).toEqual(["other.kubeconfig"]);
        expect(sandbox.run("remove-file", { FILE_PATH: other }).status).toBe(0);
        expect(fs.existsSync(dir)).toBe(false);
        // Only that one directory: its parent stays even though it is now empty.
        expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
    });

    test("a user's own file keeps the directory", () => {
        const mine = path.join(path.dirname(target), "notes.txt");
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: SECRET }).status).toBe(0);
        fs.writeFileSync(mine, "mine");
        expect(sandbox.run("remove-file", { FILE_PATH: target }).status).toBe(0);
        expect(fs.readdirSync(path.dirname(target))).toEqual(["notes.txt"]);
    });

    test("REMOVE_EMPTY_UP_TO removes empty directories up to that ancestor, never above or past a user's file", () => {
        const out = path.join(sandbox.root, "out");
        const first = path.join(out, "certs.d", "ghcr.io", "hosts.toml");
        const second = path.join(out, "certs.d", "quay.io", "hosts.toml");
        for (const file of [first, second]) {
            expect(sandbox.run("write-file", { FILE_PATH: file, FILE_CONTENT: "x" }).status).toBe(0);
        }
        expect(sandbox.run("remove-file", { FILE_PATH: first, REMOVE_EMPTY_UP_TO: out }).status).toBe(0);
        expect(fs.readdirSync(path.join(out, "certs.d"))).toEqual(["quay.io"]);
        expect(sandbox.run("remove-file", { FILE_PATH: second, REMOVE_EMPTY_UP_TO: out }).status).toBe(0);
        expect(fs.existsSync(out)).toBe(false);
        // The bound's parent (the sandbox root) stays.
        expect(fs.existsSync(sandbox.root)).toBe(true);

        fs.mkdirSync(path.join(out, "certs.d"), { recursive: true });
        fs.writeFileSync(path.join(out, "mine.txt"), "mine");
        expect(sandbox.run("write-file", { FILE_PATH: first, FILE_CONTENT: "x" }).status).toBe(0);
        expect(sandbox.run("remove-file", { FILE_PATH: first, REMOVE_EMPTY_UP_TO: out }).status).toBe(0);
        expect(fs.readdirSync(out)).toEqual(["mine.txt"]);
    });

    test("a REMOVE_EMPTY_UP_TO that is not an ancestor only removes the file's own directory", () => {
        const elsewhere = path.join(sandbox.root, "elsewhere");
        fs.mkdirSync(elsewhere);
        expect(sandbox.run("write-file", { FILE_PATH: target, FILE_CONTENT: "x" }).status).toBe(0);
        const result = sandbox.run("remove-file", { FILE_PATH: target, REMOVE_EMPTY_UP_TO: elsewhere });
        expect(result.status).toBe(0);
        expect(fs.existsSync(path.dirname(target))).toBe(false);
        expect(fs.existsSync(path.join(sandbox.root, "out"))).toBe(true);
        expect(fs.existsSync(elsewhere)).toBe(true);
    });
});

/** The lab's files may sit below /tmp, where a folder on the way can be swapped for a link by another user. */
describe("never through a symbolic link", () => {
    let outside: string;
    beforeEach(() => {
        outside = path.join(sandbox.root, "outside");
        fs.mkdirSync(outside);
        fs.writeFileSync(path.join(outside, "vbmc.key"), "someone else's file");
    });

    test.each([
        ["the file's folder", () => path.dirname(target)],
        ["a folder above it", () => path.dirname(path.dirname(target))],
    ])("%s is a link: write-file writes nothing there, remove-file removes nothing there", (_name, linked) => {
        fs.mkdirSync(path.dirname(linked()), { recursive: true });
        fs.symlinkSync(outside, linked());
        for (const script of ["write-file", "remove-file"] as const) {
            const result = sandbox.run(script, { FILE_PATH: target, FILE_CONTENT: SECRET });
            expect({ script, status: result.status }).toEqual({ script, status: 1 });
            expect(result.stderr).toContain(`${linked()} is a symbolic link`);
            expect(result.stderr).not.toContain("secret-body");
        }
        expect(fs.readdirSync(outside, { recursive: true })).toEqual(["vbmc.key"]);
        expect(fs.readFileSync(path.join(outside, "vbmc.key"), "utf8")).toBe("someone else's file");
    });

    test("the file itself is a link: neither replaced nor removed, its target untouched", () => {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.symlinkSync(path.join(outside, "vbmc.key"), target);
        for (const script of ["write-file", "remove-file"] as const) {
            const result = sandbox.run(script, { FILE_PATH: target, FILE_CONTENT: SECRET });
            expect({ script, status: result.status }).toEqual({ script, status: 1 });
            expect(fs.lstatSync(target).isSymbolicLink()).toBe(true);
        }
        expect(fs.readFileSync(path.join(outside, "vbmc.key"), "utf8")).toBe("someone else's file");
        expect(fs.readdirSync(path.dirname(target))).toEqual(["vbmc.key"]);
    });
});
