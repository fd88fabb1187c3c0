/** `render --out`: where it may write, and that a re-render removes only what the earlier one wrote. */
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
        expect(() => resolveOutDir("../../../../etc", PROJECT_DIR, PROJECT_DIR)).toThrow(OutDirError);
        expect(() => resolveOutDir(".", PROJECT_DIR, PROJECT_DIR)).toThrow(OutDirError);
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
