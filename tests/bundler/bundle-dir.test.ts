import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    BundleDirError,
    PROGRESS_FILE,
    commitPartial,
    ensureParentFolders,
    inspectBundleDir,
    openPartial,
    partialPath,
    removeStalePartials,
    writeFileAtomically,
} from "../../lib/bundler/bundle-dir";
import { billOfMaterials } from "../../lib/bundle/bill-of-materials";
import { parseBundleManifest, serializeBundleManifest } from "../../lib/bundle/manifest";
import { labPlan } from "../fixtures";
import { manifestFor } from "../bundle/support";

let work: string;
beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bundle dir "));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const { config, plan } = labPlan({});
// As read back: serialising sorts the artifacts.
const manifest = parseBundleManifest(serializeBundleManifest(manifestFor(billOfMaterials(config, plan))));

describe("the --out folder", () => {
    test("new, empty, a bundle, an unfinished bundle", () => {
        const dir = path.join(work, "b");
        expect(inspectBundleDir(dir)).toEqual({ kind: "new" });
        fs.mkdirSync(dir);
        expect(inspectBundleDir(dir)).toEqual({ kind: "empty" });
        fs.writeFileSync(path.join(dir, PROGRESS_FILE), serializeBundleManifest(manifest));
        expect(inspectBundleDir(dir)).toEqual({ kind: "bundle", progress: manifest });
        fs.writeFileSync(path.join(dir, "bundle.json"), serializeBundleManifest(manifest));
        expect(inspectBundleDir(dir)).toEqual({ kind: "bundle", manifest, progress: manifest });
    });

    test("a folder holding something else, a file, a symlink, an invalid bundle.json: refused", () => {
        const dir = path.join(work, "b");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
        expect(() => inspectBundleDir(dir)).toThrow(/not empty and holds no bundle/);
        expect(() => inspectBundleDir(path.join(dir, "notes.txt"))).toThrow(/is a file/);
        fs.symlinkSync(dir, path.join(work, "link"));
        expect(() => inspectBundleDir(path.join(work, "link"))).toThrow(/is a symlink/);
        fs.writeFileSync(path.join(dir, "bundle.json"), "{}");
        expect(() => inspectBundleDir(dir)).toThrow(BundleDirError);
        expect(() => inspectBundleDir(dir)).toThrow(/schemaVersion/);
        fs.rmSync(path.join(dir, "bundle.json"));
        fs.symlinkSync(path.join(dir, "notes.txt"), path.join(dir, "bundle.json"));
        expect(() => inspectBundleDir(dir)).toThrow(/not a regular file/);
    });
});

describe("writing into the bundle", () => {
    test("a file appears under its name only when committed; its partial is hidden beside it", () => {
        const { path: partial, stream } = openPartial(work, "clusterctl/cluster-api/v1.12.5/metadata.yaml");
        expect(partial).toBe(path.join(work, "clusterctl/cluster-api/v1.12.5/.metadata.yaml.partial"));
        stream.end("data");
        return new Promise<void>((resolve) => stream.on("close", resolve)).then(() => {
            expect(fs.existsSync(path.join(work, "clusterctl/cluster-api/v1.12.5/metadata.yaml"))).toBe(false);
            commitPartial(work, "clusterctl/cluster-api/v1.12.5/metadata.yaml");
            expect(fs.readFileSync(path.join(work, "clusterctl/cluster-api/v1.12.5/metadata.yaml"), "utf8")).toBe(
                "data",
            );
            expect(fs.existsSync(partial)).toBe(false);
        });
    });

    test("never through a symlinked folder, never outside the bundle", () => {
        const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "elsewhere-"));
        try {
            fs.symlinkSync(elsewhere, path.join(work, "images"));
            expect(() => ensureParentFolders(work, "images/x.tar")).toThrow(/is a symlink/);
            expect(() => writeFileAtomically(work, "images/x.tar", "x")).toThrow(/is a symlink/);
            expect(fs.readdirSync(elsewhere)).toEqual([]);
        } finally {
            fs.rmSync(elsewhere, { recursive: true, force: true });
        }
        expect(() => partialPath(work, "../x")).toThrow(/not a path inside the bundle/);
        expect(() => ensureParentFolders(work, "/etc/x")).toThrow(/not a path inside the bundle/);
    });

    test("a symlink planted at the partial's name is replaced, not followed", () => {
        const target = path.join(work, "target");
        fs.writeFileSync(target, "keep");
        fs.mkdirSync(path.join(work, "files"));
        fs.symlinkSync(target, path.join(work, "files", ".x.yaml.partial"));
        writeFileAtomically(work, "files/x.yaml", "new");
        expect(fs.readFileSync(target, "utf8")).toBe("keep");
        expect(fs.readFileSync(path.join(work, "files/x.yaml"), "utf8")).toBe("new");
    });

    test("leftover partials of an interrupted run are removed; other files stay", () => {
        fs.mkdirSync(path.join(work, "images"));
        fs.writeFileSync(path.join(work, "images", ".a.tar.partial"), "half");
        fs.writeFileSync(path.join(work, "images", "a.tar"), "whole");
        fs.writeFileSync(path.join(work, ".bundle.json.partial"), "half");
        expect(removeStalePartials(work)).toBe(2);
        expect(fs.readdirSync(path.join(work, "images"))).toEqual(["a.tar"]);
    });
});
