/**
 * The folder `npm run bundle --out DIR` writes: what it holds now (nothing, a finished bundle, an
 * unfinished one), and writing into it safely. A folder that holds anything else is refused, nothing
 * is written through a symlink, and every file appears under its final name only once complete
 * (written to a hidden `.<name>.partial` beside it, then renamed), so an interrupted run leaves a
 * bundle that the next run resumes. bundle.json is written last: a folder without it is unfinished.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BUNDLE_MANIFEST_FILE, BundleManifest, isBundleRelativePath, parseBundleManifest } from "../bundle/manifest";

/** The record of an unfinished run: bundle.json's format, the entries fetched so far. Removed when the bundle is finished. */
export const PROGRESS_FILE = ".bundle-progress.json";
const PARTIAL = /^\..+\.partial$/;

export class BundleDirError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BundleDirError";
    }
}

export type BundleDirState =
    | { kind: "new" }
    | { kind: "empty" }
    /** A bundle, finished (bundle.json) and/or unfinished (a progress record of a later run). */
    | { kind: "bundle"; manifest?: BundleManifest; progress?: BundleManifest };

function readManifestFile(file: string): BundleManifest | undefined {
    const stats = fs.lstatSync(file, { throwIfNoEntry: false });
    if (stats === undefined) return undefined;
    if (!stats.isFile()) {
        throw new BundleDirError(
            `${file} is not a regular file (a symlink or a folder); a bundle holds regular files only`,
        );
    }
    try {
        return parseBundleManifest(fs.readFileSync(file, "utf8"), file);
    } catch (error) {
        throw new BundleDirError(
            `${(error as Error).message}\nThe folder does not hold a bundle this command can resume; choose a new or empty folder, or remove ${file}.`,
        );
    }
}

/**
 * What `dir` holds. Refused: a symlink, a file, a folder holding neither bundle.json nor a progress
 * record (yet not empty), and an invalid bundle.json or progress record.
 */
export function inspectBundleDir(dir: string): BundleDirState {
    const stats = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (stats === undefined) return { kind: "new" };
    if (stats.isSymbolicLink()) {
        throw new BundleDirError(
            `--out ${dir} is a symlink; name the folder itself (${fs.realpathSync.native(dir)}), a bundle is never written through a symlink`,
        );
    }
    if (!stats.isDirectory())
        throw new BundleDirError(`--out ${dir} is a file; expected a new, empty or bundle folder`);
    const entries = fs.readdirSync(dir);
    if (entries.length === 0) return { kind: "empty" };
    if (!entries.includes(BUNDLE_MANIFEST_FILE) && !entries.includes(PROGRESS_FILE)) {
        throw new BundleDirError(
            `--out ${dir} is not empty and holds no bundle (no ${BUNDLE_MANIFEST_FILE}, no ${PROGRESS_FILE} of an unfinished one); choose a new or empty folder, npm run bundle never mixes into other files`,
        );
    }
    const manifest = readManifestFile(path.join(dir, BUNDLE_MANIFEST_FILE));
    const progress = readManifestFile(path.join(dir, PROGRESS_FILE));
    return { kind: "bundle", ...(manifest ? { manifest } : {}), ...(progress ? { progress } : {}) };
}

/** The absolute path of a bundle file; throws for a path that could leave the bundle. */
export function bundlePath(dir: string, relative: string): string {
    if (!isBundleRelativePath(relative))
        throw new BundleDirError(`refusing to write ${relative}: not a path inside the bundle`);
    return path.join(dir, relative);
}

/**
 * Makes the folders of `relative` (a file's path in the bundle) below `dir`, one by one, refusing a
 * symlink or a file on the way: the bundle is never written through a link that leads elsewhere.
 */
export function ensureParentFolders(dir: string, relative: string): void {
    bundlePath(dir, relative);
    let current = dir;
    for (const segment of relative.split("/").slice(0, -1)) {
        current = path.join(current, segment);
        const stats = fs.lstatSync(current, { throwIfNoEntry: false });
        if (stats === undefined) {
            fs.mkdirSync(current);
        } else if (stats.isSymbolicLink() || !stats.isDirectory()) {
            throw new BundleDirError(
                `${current} is ${stats.isSymbolicLink() ? "a symlink" : "not a folder"}; a bundle is never written through a symlink, remove it and run again`,
            );
        }
    }
}

/** Where a file is written before it is complete: `.<name>.partial` beside it. */
export function partialPath(dir: string, relative: string): string {
    const full = bundlePath(dir, relative);
    return path.join(path.dirname(full), `.${path.basename(full)}.partial`);
}

/**
 * Opens the partial file of `relative` for writing: its folders made, a leftover partial removed,
 * then created exclusively (O_EXCL: a symlink planted under that name is not followed).
 */
export function openPartial(dir: string, relative: string): { path: string; stream: fs.WriteStream } {
    ensureParentFolders(dir, relative);
    const partial = partialPath(dir, relative);
    fs.rmSync(partial, { force: true });
    return { path: partial, stream: fs.createWriteStream(partial, { flags: "wx", mode: 0o644 }) };
}

/** Moves a complete partial file to its final name (rename replaces a file or symlink there, never follows it). */
export function commitPartial(dir: string, relative: string): void {
    fs.renameSync(partialPath(dir, relative), bundlePath(dir, relative));
}

/** Writes a small file (bundle.json, the progress record) completely or not at all. */
export function writeFileAtomically(dir: string, relative: string, content: string): void {
    ensureParentFolders(dir, relative);
    const partial = partialPath(dir, relative);
    fs.rmSync(partial, { force: true });
    fs.writeFileSync(partial, content, { flag: "wx", mode: 0o644 });
    commitPartial(dir, relative);
}

/** Removes the partial files an interrupted run left (only `.<name>.partial` files and links, in real folders). */
export function removeStalePartials(dir: string): number {
    let removed = 0;
    const walk = (folder: string) => {
        for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
            const full = path.join(folder, entry.name);
            if (entry.isDirectory()) walk(full);
            else if ((entry.isFile() || entry.isSymbolicLink()) && PARTIAL.test(entry.name)) {
                fs.rmSync(full);
                removed++;
            }
        }
    };
    walk(dir);
    return removed;
}
