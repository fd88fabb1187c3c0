/**
 * Reads a bundle on disk for the check (lib/bundle/check.ts) and the program: its manifest, and what
 * each artifact's file is (lstat and realpath only; nothing is hashed or opened beyond bundle.json).
 * No Pulumi resources.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BundleFileFact } from "./check";
import { BUNDLE_MANIFEST_FILE, BundleManifest, parseBundleManifest } from "./manifest";

/** The manifest of the bundle in `dir`; throws with one clear message (missing, a symlink, invalid). */
export function readBundleManifest(dir: string): BundleManifest {
    const file = path.join(dir, BUNDLE_MANIFEST_FILE);
    let stats: fs.Stats;
    try {
        stats = fs.lstatSync(file);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(
            code === "ENOENT"
                ? `${file} does not exist: ${fs.existsSync(dir) ? "the folder holds no bundle" : "the folder does not exist"}`
                : `cannot read ${file}: ${(error as Error).message}`,
            { cause: error },
        );
    }
    if (stats.isSymbolicLink()) {
        throw new Error(`${file} is a symlink; a bundle holds regular files only`);
    }
    return parseBundleManifest(fs.readFileSync(file, "utf8"), file);
}

/** What the file `relative` of the bundle in `dir` is: a regular file inside the bundle, or why not. */
export function bundleFileFact(dir: string, relative: string): BundleFileFact {
    const full = path.join(dir, relative);
    let stats: fs.Stats;
    try {
        stats = fs.lstatSync(full);
    } catch {
        return { kind: "missing" };
    }
    if (stats.isSymbolicLink()) return { kind: "symlink" };
    let real: string;
    let realDir: string;
    try {
        real = fs.realpathSync(full);
        realDir = fs.realpathSync(dir);
    } catch {
        return { kind: "missing" };
    }
    if (real !== path.join(realDir, relative)) {
        // A folder on the way is a symlink: out of the bundle, or back into it under another name.
        return real.startsWith(`${realDir}${path.sep}`) ? { kind: "symlink" } : { kind: "outside", realPath: real };
    }
    return stats.isFile() ? { kind: "file", size: stats.size } : { kind: "not-a-file" };
}
