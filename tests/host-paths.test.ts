/** Locations judged where they really are: realLocation and the output directory's real place. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isBelowPath, outputDirLocationProblem, realLocation } from "../lib/host-paths";

let dir: string;
let project: string;
beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "host-paths-")));
    project = path.join(dir, "project");
    fs.mkdirSync(project);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("realLocation", () => {
    test("resolves the existing part and keeps what does not exist yet as spelled", () => {
        fs.symlinkSync(project, path.join(dir, "alias"));
        expect(realLocation(path.join(dir, "alias", "not", "yet"))).toBe(path.join(project, "not", "yet"));
        expect(realLocation(path.join(dir, "alias"))).toBe(project);
        expect(realLocation(path.join(dir, "missing", "..", "project"))).toBe(project);
    });

    test("a link to a link, and a path through a file, still end somewhere definite", () => {
        fs.symlinkSync("/etc", path.join(dir, "one"));
        fs.symlinkSync(path.join(dir, "one"), path.join(dir, "two"));
        expect(realLocation(path.join(dir, "two", "capt"))).toBe("/etc/capt");
        fs.writeFileSync(path.join(dir, "file"), "x");
        expect(realLocation(path.join(dir, "file", "below"))).toBe(path.join(dir, "file", "below"));
    });
});

test("isBelowPath: strictly below, by whole components", () => {
    expect(isBelowPath("/tmp/a/b", "/tmp/a")).toBe(true);
    expect(isBelowPath("/tmp/a", "/tmp/a")).toBe(false);
    expect(isBelowPath("/tmp/ab", "/tmp/a")).toBe(false);
    expect(isBelowPath("/tmp", "/tmp/a")).toBe(false);
    expect(isBelowPath("/tmp/..x", "/tmp")).toBe(true);
});

describe("outputDirLocationProblem", () => {
    test("the default and a folder inside the project are fine while they really are inside it", () => {
        expect(outputDirLocationProblem("", path.join(project, ".lab", "dev"), project)).toBeUndefined();
        expect(outputDirLocationProblem("out/dev", path.join(project, "out", "dev"), project)).toBeUndefined();
    });

    test("a link inside the project that leads out of it is refused, naming both places", () => {
        fs.symlinkSync("/etc", path.join(project, ".lab"));
        const problem = outputDirLocationProblem("", path.join(project, ".lab", "dev"), project);
        expect(problem).toContain(`(empty) is ${path.join(project, ".lab", "dev")}`);
        expect(problem).toContain("which a symbolic link on the way makes /etc/dev");
        expect(problem).toContain("give outputDir the real folder as an absolute path");
    });

    test("an absolute folder is judged by its real path: below /tmp as spelled, /etc in truth", () => {
        fs.symlinkSync("/etc", path.join(dir, "lab"));
        expect(outputDirLocationProblem(path.join(dir, "lab", "x"), path.join(dir, "lab", "x"), project)).toContain(
            "makes /etc/x",
        );
    });

    test("a link on the way is refused even to an allowed place (the scripts never follow one), naming the real folder", () => {
        fs.mkdirSync(path.join(dir, "real"));
        fs.symlinkSync(path.join(dir, "real"), path.join(dir, "alias"));
        const problem = outputDirLocationProblem(path.join(dir, "alias", "x"), path.join(dir, "alias", "x"), project);
        expect(problem).toContain(`makes ${path.join(dir, "real", "x")}`);
        expect(problem).toContain("give outputDir the real folder");
        expect(
            outputDirLocationProblem(path.join(dir, "real", "x"), path.join(dir, "real", "x"), project),
        ).toBeUndefined();
    });
});
