/** `render --out`: where it may write, and that a re-render removes only what the earlier one wrote. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { OutDirError, RENDER_MANIFEST, resolveOutDir, writeRender } from "../../lib/render/out-dir";
import { PROJECT_DIR } from "../fixtures";

let workDir: string;
beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "out-dir-"));
});
afterEach(() => fs.rmSync(workDir, { recursive: true, force: true }));

function files(entries: Record<string, string>): Map<string, string> {
    return new Map(Object.entries(entries));
}

describe("resolveOutDir", () => {
    test.each(["/", "/etc", "/etc/capt", "/proc/x", "/usr/lib/x", "/boot/out", "/var/lib/out", "/tmp", "/home"])(
        "%s is refused with one message naming where render may write",
        (out) => {
            expect(() => resolveOutDir(out, PROJECT_DIR, "/")).toThrow(OutDirError);
            expect(() => resolveOutDir(out, PROJECT_DIR, "/")).toThrow(/never \/ or a system directory/);
        },
    );

    test("a relative path that climbs out of the allowed folders is refused", () => {
        expect(() => resolveOutDir("../../../../../../../../etc", PROJECT_DIR, PROJECT_DIR)).toThrow(
            /never \/ or a system directory/,
        );
    });

    test("the project folder itself and every folder above it are refused, wherever the project sits", () => {
        // A project below an allowed root (a clone in /tmp or a home folder) as well as this one.
        const project = path.join(workDir, "clone", "capt-playground");
        fs.mkdirSync(project, { recursive: true });
        for (const projectDir of [project, PROJECT_DIR]) {
            for (const out of [".", "..", "../.."]) {
                expect(() => resolveOutDir(out, projectDir, projectDir)).toThrow(OutDirError);
            }
        }
        expect(() => resolveOutDir(".", project, project)).toThrow(/the project folder itself or a folder above it/);
        expect(resolveOutDir("out", project, project)).toBe(path.join(project, "out"));
    });

    test("judged by the real path: a link below an allowed folder to a system folder is refused", () => {
        fs.symlinkSync("/etc", path.join(workDir, "escape"));
        expect(() => resolveOutDir(path.join(workDir, "escape", "capt"), PROJECT_DIR)).toThrow(
            /really \/etc\/capt: a symbolic link on the way.*never \/ or a system directory/,
        );
        expect(() => resolveOutDir(path.join(workDir, "escape"), PROJECT_DIR)).toThrow(OutDirError);
        // A link to another allowed place is fine, and the render then writes at the real place.
        fs.mkdirSync(path.join(workDir, "real"));
        fs.symlinkSync(path.join(workDir, "real"), path.join(workDir, "alias"));
        expect(resolveOutDir(path.join(workDir, "alias", "out"), PROJECT_DIR)).toBe(
            path.join(fs.realpathSync(workDir), "real", "out"),
        );
    });

    test("control characters are refused", () => {
        expect(() => resolveOutDir(path.join(workDir, "a\nb"), PROJECT_DIR)).toThrow(/control characters/);
    });

    test("folders below the project, the temp directory and /root or /home/<user> are accepted", () => {
        expect(resolveOutDir("out", PROJECT_DIR, PROJECT_DIR)).toBe(path.join(PROJECT_DIR, "out"));
        expect(resolveOutDir(path.join(workDir, "x"), PROJECT_DIR)).toBe(path.join(workDir, "x"));
        expect(resolveOutDir("/root/render", PROJECT_DIR)).toBe("/root/render");
    });
});

describe("writeRender", () => {
    test("a re-render removes only what the earlier render wrote; user files beside and inside stay", () => {
        const out = path.join(workDir, "out");
        writeRender(out, files({ "plan.json": "{}", "manifests/a.yaml": "a", "domains/vm1.xml": "<x/>" }));
        fs.writeFileSync(path.join(out, "my-notes.txt"), "beside");
        fs.writeFileSync(path.join(out, "manifests", "mine.yaml"), "inside");
        fs.mkdirSync(path.join(out, "domains", "keep"));
        fs.writeFileSync(path.join(out, "domains", "keep", "x.xml"), "deeper");

        // The next render no longer has vm1 or a.yaml: they go, the user's files stay.
        writeRender(out, files({ "plan.json": '{"n":2}', "manifests/b.yaml": "b" }));
        const listing = (fs.readdirSync(out, { recursive: true }) as string[]).sort();
        expect(listing).toEqual(
            [
                RENDER_MANIFEST,
                "domains",
                "domains/keep",
                "domains/keep/x.xml",
                "manifests",
                "manifests/b.yaml",
                "manifests/mine.yaml",
                "my-notes.txt",
                "plan.json",
            ].map((p) => p.split("/").join(path.sep)),
        );
        expect(fs.readFileSync(path.join(out, "manifests", "mine.yaml"), "utf8")).toBe("inside");
        expect(fs.readFileSync(path.join(out, "my-notes.txt"), "utf8")).toBe("beside");
        expect(fs.readFileSync(path.join(out, RENDER_MANIFEST), "utf8")).toBe("plan.json\nmanifests/b.yaml\n");
    });

    test("a folder it did not write is refused when not empty, and left exactly as it was", () => {
        const out = path.join(workDir, "mine");
        fs.mkdirSync(path.join(out, "manifests"), { recursive: true });
        fs.writeFileSync(path.join(out, "manifests", "prod.yaml"), "precious");
        expect(() => writeRender(out, files({ "manifests/a.yaml": "a" }))).toThrow(
            /not empty and holds no earlier render/,
        );
        expect((fs.readdirSync(out, { recursive: true }) as string[]).sort()).toEqual([
            "manifests",
            path.join("manifests", "prod.yaml"),
        ]);
    });

    test("a user's file where the new render would write is never overwritten", () => {
        const out = path.join(workDir, "out");
        writeRender(out, files({ "plan.json": "{}" }));
        fs.writeFileSync(path.join(out, "kind-config.yaml"), "mine");
        expect(() => writeRender(out, files({ "plan.json": "{}", "kind-config.yaml": "lab" }))).toThrow(
            /already holds kind-config.yaml/,
        );
        expect(fs.readFileSync(path.join(out, "kind-config.yaml"), "utf8")).toBe("mine");
        expect(fs.readFileSync(path.join(out, "plan.json"), "utf8")).toBe("{}");
    });

    test("a tampered manifest cannot reach outside the folder", () => {
        const out = path.join(workDir, "out");
        const outside = path.join(workDir, "outside.txt");
        fs.writeFileSync(outside, "keep");
        writeRender(out, files({ "plan.json": "{}" }));
        fs.writeFileSync(path.join(out, RENDER_MANIFEST), `plan.json\n../outside.txt\n${outside}\n`);
        writeRender(out, files({ "plan.json": "{}" }));
        expect(fs.readFileSync(outside, "utf8")).toBe("keep");
    });
});

/**
 * An earlier render's folder below /tmp can be tampered with by another user: a file or folder of
 * it swapped for a symbolic link, or a folder planted with a manifest and a link. Render follows no
 * link, and refuses before it removes anything.
 */
describe("writeRender never writes or deletes through a symbolic link", () => {
    let out: string;
    let outside: string;
    beforeEach(() => {
        out = path.join(workDir, "out");
        outside = path.join(workDir, "outside");
        fs.mkdirSync(path.join(outside, "manifests"), { recursive: true });
        for (const file of ["precious.txt", "plan.json", "manifests/a.yaml"]) {
            fs.writeFileSync(path.join(outside, file), `outside ${file}`);
        }
    });

    /** Every entry below a folder with what it is, so "nothing changed" compares links too. */
    function snapshot(dir: string): string[] {
        return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((entry) => {
            const full = path.join(dir, entry);
            const stats = fs.lstatSync(full);
            if (stats.isSymbolicLink()) return `${entry} -> ${fs.readlinkSync(full)}`;
            return stats.isFile() ? `${entry}: ${fs.readFileSync(full, "utf8")}` : `${entry}/`;
        });
    }

    function expectRefusedUnchanged(next: Record<string, string>, pattern: RegExp): void {
        const before = { out: snapshot(out), outside: snapshot(outside) };
        expect(() => writeRender(out, files(next))).toThrow(pattern);
        expect({ out: snapshot(out), outside: snapshot(outside) }).toEqual(before);
    }

    const earlier = { "plan.json": "{}", "manifests/a.yaml": "a", "domains/vm1.xml": "<x/>" };

    test("a recorded file swapped for a link: neither the link's target nor any other file is removed", () => {
        writeRender(out, files(earlier));
        fs.rmSync(path.join(out, "plan.json"));
        fs.symlinkSync(path.join(outside, "plan.json"), path.join(out, "plan.json"));
        expectRefusedUnchanged(earlier, /plan\.json, which the earlier render wrote as a file, is now a symbolic link/);
    });

    test("a recorded folder swapped for a link to a folder outside: nothing removed or written there", () => {
        writeRender(out, files(earlier));
        fs.rmSync(path.join(out, "manifests"), { recursive: true });
        fs.symlinkSync(path.join(outside, "manifests"), path.join(out, "manifests"));
        expectRefusedUnchanged(earlier, /manifests is a symbolic link, not a folder/);
    });

    test("a planted folder holding only a manifest and a link is not taken for an earlier render", () => {
        fs.mkdirSync(out);
        fs.writeFileSync(path.join(out, RENDER_MANIFEST), "plan.json\nprecious.txt\n");
        fs.symlinkSync(path.join(outside, "precious.txt"), path.join(out, "precious.txt"));
        fs.symlinkSync(path.join(outside, "plan.json"), path.join(out, "plan.json"));
        expectRefusedUnchanged({ "plan.json": "{}" }, /is now a symbolic link/);
    });

    test("a folder the new render writes into, swapped for a link, is refused before anything is removed", () => {
        writeRender(out, files({ "plan.json": "{}" }));
        fs.symlinkSync(path.join(outside, "manifests"), path.join(out, "manifests"));
        expectRefusedUnchanged({ "plan.json": "{}", "manifests/b.yaml": "b" }, /manifests is a symbolic link/);
    });

    test("the manifest itself as a link or a FIFO is refused (a FIFO would block the read for ever)", () => {
        writeRender(out, files({ "plan.json": "{}" }));
        fs.rmSync(path.join(out, RENDER_MANIFEST));
        fs.symlinkSync(path.join(outside, "precious.txt"), path.join(out, RENDER_MANIFEST));
        expectRefusedUnchanged({ "plan.json": "{}" }, /symbolic link/);
        fs.rmSync(path.join(out, RENDER_MANIFEST));
        const mkfifo = spawnSync("mkfifo", [path.join(out, RENDER_MANIFEST)]);
        expect(mkfifo.status).toBe(0);
        expectRefusedUnchanged({ "plan.json": "{}" }, /special file/);
    });

    test("--out itself a link is refused (resolveOutDir gives render the real folder)", () => {
        fs.symlinkSync(outside, out);
        expectRefusedUnchanged({ "plan.json": "{}" }, /is a symbolic link/);
    });

    test("after the link is removed, the next render works as before", () => {
        writeRender(out, files(earlier));
        fs.rmSync(path.join(out, "manifests"), { recursive: true });
        fs.symlinkSync(path.join(outside, "manifests"), path.join(out, "manifests"));
        expect(() => writeRender(out, files(earlier))).toThrow(OutDirError);
        fs.rmSync(path.join(out, "manifests"));
        writeRender(out, files(earlier));
        expect(snapshot(out)).toEqual([
            ".capt-playground-render: plan.json\nmanifests/a.yaml\ndomains/vm1.xml\n",
            "domains/",
            "domains/vm1.xml: <x/>",
            "manifests/",
            "manifests/a.yaml: a",
            "plan.json: {}",
        ]);
        expect(snapshot(outside)).toContain("manifests/a.yaml: outside manifests/a.yaml");
    });
});
