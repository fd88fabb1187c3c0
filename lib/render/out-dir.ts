/**
 * Where `npm run render` may write, and what it may remove there. A render records the files it wrote
 * in a manifest inside the folder; the next render removes exactly those (and folders they leave
 * empty), so a user's own files beside or inside the rendered folders are never touched. A folder that
 * holds anything else and no manifest is refused rather than mixed into.
 *
 * `--out` may sit below /tmp, where another user can prepare the folder (or swap a folder of an
 * earlier render for a symbolic link) for a root `render`. So the folder is judged by its real path,
 * and no symbolic link inside it is ever followed: every folder on the way to a file must be a real
 * folder, every recorded file a regular file, and files are created with no-follow, exclusive opens.
 * Everything is checked before the first file is removed, so a refused render leaves the folder as
 * it found it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { USER_DIRECTORY_ROOTS } from "../config-formats";
import { isBelowPath, realLocation } from "../host-paths";
import { RenderedFiles } from "./files";

/** The manifest of a render: one relative path a line. Hidden so the rendered tree stays as documented. */
export const RENDER_MANIFEST = ".capt-playground-render";

/** A manifest is a few hundred paths; anything far larger is not one render wrote. */
const MANIFEST_MAX_BYTES = 1024 * 1024;

export class OutDirError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OutDirError";
    }
}

/** Roots a render may write below: the project, the temp directory and the user folders outputDir allows. */
function allowedRoots(projectDir: string): string[] {
    const roots = USER_DIRECTORY_ROOTS.filter((root) => !root.includes("*"));
    const homes = fs.existsSync("/home") ? fs.readdirSync("/home").map((user) => path.join("/home", user)) : [];
    return [projectDir, os.tmpdir(), os.homedir(), ...roots, ...homes];
}

/**
 * The real absolute folder for `--out`, or OutDirError: judged where it really is (a symbolic link on
 * the way is resolved first). `/`, a system directory (/etc, /proc, /usr, ...), the project folder
 * itself or a folder above it, and anything outside the project, the temp directory and the users'
 * folders are refused.
 */
export function resolveOutDir(out: string, projectDir: string, cwd = process.cwd()): string {
    if ([...out].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
        throw new OutDirError("--out holds control characters; expected a folder name");
    }
    const resolved = path.resolve(cwd, out);
    const real = realLocation(resolved);
    const project = realLocation(projectDir);
    const shown = `--out ${JSON.stringify(out)} is ${resolved}${real === resolved ? "" : ` (really ${real}: a symbolic link on the way)`}`;
    const roots = allowedRoots(project);
    if (!roots.some((root) => isBelowPath(real, realLocation(root)))) {
        throw new OutDirError(
            `${shown}; expected a folder below the project, ${os.tmpdir()} or a user's folder (${[...new Set(roots.slice(2))].join(", ")}), never / or a system directory`,
        );
    }
    if (real === project || isBelowPath(project, real)) {
        throw new OutDirError(`${shown}: the project folder itself or a folder above it; expected a folder of its own`);
    }
    return real;
}

/** What is at `file`, never following a symbolic link: undefined when nothing is (also below a file). */
function entryAt(file: string): fs.Stats | undefined {
    try {
        return fs.lstatSync(file, { throwIfNoEntry: false });
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
        throw error;
    }
}

function kindOf(stats: fs.Stats): string {
    if (stats.isSymbolicLink()) return "a symbolic link";
    if (stats.isDirectory()) return "a folder";
    if (stats.isFile()) return "a file";
    return "a special file (FIFO, socket or device)";
}

/**
 * Why the folders from `out` down to `relative`'s parent cannot be walked without following a link,
 * or undefined: each one that exists must be a real folder.
 */
function folderProblem(out: string, relative: string): string | undefined {
    const parts = relative.split(path.sep).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
        const folder = path.join(out, ...parts.slice(0, i));
        const stats = entryAt(folder);
        if (!stats) return undefined;
        if (!stats.isDirectory()) return `${folder} is ${kindOf(stats)}, not a folder`;
    }
    return undefined;
}

/** Reads a small regular file without following a link or blocking on a FIFO; undefined when absent. */
function readRegularFile(file: string, maxBytes: number): string | undefined {
    let fd: number;
    try {
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return undefined;
        throw new OutDirError(`${file} cannot be read (${code === "ELOOP" ? "a symbolic link" : code})`);
    }
    try {
        const stats = fs.fstatSync(fd);
        if (!stats.isFile()) throw new OutDirError(`${file} is ${kindOf(stats)}, not a manifest render wrote`);
        if (stats.size > maxBytes) throw new OutDirError(`${file} is ${stats.size} bytes, not a manifest render wrote`);
        return fs.readFileSync(fd, "utf8");
    } finally {
        fs.closeSync(fd);
    }
}

/** The files an earlier render recorded, each checked to stay inside `out`. */
function recordedFiles(out: string): string[] {
    const manifest = readRegularFile(path.join(out, RENDER_MANIFEST), MANIFEST_MAX_BYTES);
    if (manifest === undefined) return [];
    return manifest
        .split("\n")
        .filter((line) => line !== "")
        .filter((file) => !path.isAbsolute(file) && isBelowPath(path.resolve(out, file), out))
        .map((file) => path.relative(out, path.resolve(out, file)));
}

/** Refuses `out` itself unless it is missing or a real folder. */
function checkOutFolder(out: string): void {
    const stats = entryAt(out);
    if (stats && !stats.isDirectory()) {
        throw new OutDirError(
            `--out ${out} is ${kindOf(stats)}; expected a new, empty or earlier render's folder (render never follows a symbolic link)`,
        );
    }
    if (stats) {
        const entries = fs.readdirSync(out);
        if (entries.length > 0 && !entries.includes(RENDER_MANIFEST)) {
            throw new OutDirError(
                `--out ${out} is not empty and holds no earlier render (no ${RENDER_MANIFEST}); choose a new or empty folder, render never mixes into or removes files it did not write`,
            );
        }
    }
}

/**
 * Every reason the render cannot remove `recorded` and write `next` inside `out` without following a
 * link or touching what it did not write; empty when it can.
 */
function renderProblems(out: string, recorded: string[], next: string[]): string[] {
    const problems: string[] = [];
    const planned = new Set(recorded);
    for (const file of recorded) {
        const problem = folderProblem(out, file);
        const stats = problem ? undefined : entryAt(path.join(out, file));
        if (problem) problems.push(problem);
        else if (stats && !stats.isFile()) {
            problems.push(`${path.join(out, file)}, which the earlier render wrote as a file, is now ${kindOf(stats)}`);
        }
    }
    const taken: string[] = [];
    for (const file of next) {
        const problem = folderProblem(out, file);
        if (problem) problems.push(problem);
        else if (!planned.has(file) && entryAt(path.join(out, file))) taken.push(file);
    }
    if (taken.length > 0) {
        problems.push(
            `--out ${out} already holds ${taken.slice(0, 3).join(", ")}${taken.length > 3 ? ", ..." : ""}, which the earlier render did not write; choose a new or empty folder`,
        );
    }
    return [...new Set(problems)];
}

/**
 * Makes `out` ready for a render: created when missing; when it holds an earlier render's manifest,
 * that render's files are removed (and the folders they leave empty); any other non-empty folder is
 * refused. Nothing is removed before every check passed.
 */
export function prepareOutDir(out: string, next: Iterable<string> = []): void {
    checkOutFolder(out);
    const recorded = recordedFiles(out);
    const problems = renderProblems(out, recorded, [...next]);
    if (problems.length > 0) {
        throw new OutDirError(
            `refusing to render into ${out}, nothing was removed or written: ${problems.join("; ")}. Render never follows a symbolic link nor removes what it did not write; choose a new or empty folder`,
        );
    }
    if (!entryAt(out)) fs.mkdirSync(out, { recursive: true });
    const folders = new Set<string>();
    for (const file of recorded) {
        const target = path.join(out, file);
        if (entryAt(target)?.isFile()) fs.rmSync(target);
        for (let dir = path.dirname(target); isBelowPath(dir, out); dir = path.dirname(dir)) folders.add(dir);
    }
    // Deepest first; a folder still holding a user's file stays.
    for (const dir of [...folders].sort((a, b) => b.length - a.length)) {
        const stats = entryAt(dir);
        if (stats?.isDirectory() && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    }
    if (entryAt(path.join(out, RENDER_MANIFEST))?.isFile()) fs.rmSync(path.join(out, RENDER_MANIFEST));
}

/** Creates the folders down to `relative`'s parent one by one, refusing any that is not a real folder. */
function makeFolders(out: string, relative: string): void {
    const parts = relative.split(path.sep).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
        const folder = path.join(out, ...parts.slice(0, i));
        const stats = entryAt(folder);
        if (!stats) fs.mkdirSync(folder);
        else if (!stats.isDirectory())
            throw new OutDirError(`refusing to write below ${folder}: it is ${kindOf(stats)}`);
    }
}

/** Writes a new file: never through a link, never over an existing file (O_EXCL | O_NOFOLLOW). */
function writeNewFile(file: string, content: string): void {
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    let fd: number;
    try {
        fd = fs.openSync(file, flags, 0o644);
    } catch (error) {
        throw new OutDirError(`refusing to write ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
    }
    try {
        fs.writeFileSync(fd, content);
    } finally {
        fs.closeSync(fd);
    }
}

/** Writes the files and the manifest that lets the next render remove exactly them. */
export function writeRender(out: string, files: RenderedFiles): void {
    for (const file of files.keys()) {
        if (path.isAbsolute(file) || !isBelowPath(path.resolve(out, file), out) || path.normalize(file) !== file) {
            throw new OutDirError(`refusing to write ${file}: outside ${out}`);
        }
    }
    prepareOutDir(out, files.keys());
    for (const [file, content] of files) {
        makeFolders(out, file);
        writeNewFile(path.join(out, file), content);
    }
    writeNewFile(path.join(out, RENDER_MANIFEST), [...files.keys()].map((file) => `${file}\n`).join(""));
}
