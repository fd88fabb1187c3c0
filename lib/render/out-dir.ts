/**
 * Where `npm run render` may write, and what it may remove there. A render records the files it wrote
 * in a manifest inside the folder; the next render removes exactly those (and folders they leave
 * empty), so a user's own files beside or inside the rendered folders are never touched. A folder that
 * holds anything else and no manifest is refused rather than mixed into.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { USER_DIRECTORY_ROOTS } from "../config-formats";
import { RenderedFiles } from "./files";

/** The manifest of a render: one relative path a line. Hidden so the rendered tree stays as documented. */
export const RENDER_MANIFEST = ".capt-playground-render";

export class OutDirError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OutDirError";
    }
}

function isBelow(dir: string, root: string): boolean {
    const relative = path.relative(root, dir);
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/** Roots a render may write below: the project, the temp directory and the user folders outputDir allows. */
function allowedRoots(projectDir: string): string[] {
    const roots = USER_DIRECTORY_ROOTS.filter((root) => !root.includes("*"));
    const homes = fs.existsSync("/home") ? fs.readdirSync("/home").map((user) => path.join("/home", user)) : [];
    return [projectDir, os.tmpdir(), os.homedir(), ...roots, ...homes];
}

/**
 * The absolute folder for `--out`, or OutDirError: `/`, a system directory (/etc, /proc, /usr, ...)
 * and anything outside the project, the temp directory and the users' folders are refused.
 */
export function resolveOutDir(out: string, projectDir: string, cwd = process.cwd()): string {
    if ([...out].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
        throw new OutDirError("--out holds control characters; expected a folder name");
    }
    const resolved = path.resolve(cwd, out);
    const roots = allowedRoots(projectDir);
    if (!roots.some((root) => isBelow(resolved, root))) {
        throw new OutDirError(
            `--out ${JSON.stringify(out)} is ${resolved}; expected a folder below the project, ${os.tmpdir()} or a user's folder (${[...new Set(roots.slice(2))].join(", ")}), never / or a system directory`,
        );
    }
    return resolved;
}

/** The files an earlier render recorded, each checked to stay inside `out`. */
function recordedFiles(out: string): string[] {
    const manifest = path.join(out, RENDER_MANIFEST);
    if (!fs.existsSync(manifest)) return [];
    return fs
        .readFileSync(manifest, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .filter((file) => !path.isAbsolute(file) && isBelow(path.resolve(out, file), out));
}

/**
 * Makes `out` ready for a render: created when missing; when it holds an earlier render's manifest,
 * that render's files are removed (and the folders they leave empty); any other non-empty folder is
 * refused. Nothing is removed before every check passed.
 */
export function prepareOutDir(out: string, next: Iterable<string> = []): void {
    if (fs.existsSync(out)) {
        if (!fs.statSync(out).isDirectory()) {
            throw new OutDirError(`--out ${out} is a file; expected a new, empty or earlier render's folder`);
        }
        const entries = fs.readdirSync(out);
        if (entries.length > 0 && !entries.includes(RENDER_MANIFEST)) {
            throw new OutDirError(
                `--out ${out} is not empty and holds no earlier render (no ${RENDER_MANIFEST}); choose a new or empty folder, render never mixes into or removes files it did not write`,
            );
        }
    }
    const recorded = recordedFiles(out);
    const taken = [...next].filter(
        (file) => !recorded.includes(file) && fs.lstatSync(path.join(out, file), { throwIfNoEntry: false }),
    );
    if (taken.length > 0) {
        throw new OutDirError(
            `--out ${out} already holds ${taken.slice(0, 3).join(", ")}${taken.length > 3 ? ", ..." : ""}, which the earlier render did not write; choose a new or empty folder`,
        );
    }
    fs.mkdirSync(out, { recursive: true });
    const folders = new Set<string>();
    for (const file of recorded) {
        const target = path.join(out, file);
        if (fs.lstatSync(target, { throwIfNoEntry: false })?.isFile()) {
            fs.rmSync(target);
        }
        for (let dir = path.dirname(target); isBelow(dir, out); dir = path.dirname(dir)) folders.add(dir);
    }
    // Deepest first; a folder still holding a user's file stays.
    for (const dir of [...folders].sort((a, b) => b.length - a.length)) {
        if (fs.existsSync(dir) && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
    }
    fs.rmSync(path.join(out, RENDER_MANIFEST), { force: true });
}

/** Writes the files and the manifest that lets the next render remove exactly them. */
export function writeRender(out: string, files: RenderedFiles): void {
    prepareOutDir(out, files.keys());
    for (const [file, content] of files) {
        const target = path.join(out, file);
        if (!isBelow(target, out)) {
            throw new OutDirError(`refusing to write ${file}: outside ${out}`);
        }
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
    fs.writeFileSync(path.join(out, RENDER_MANIFEST), [...files.keys()].map((file) => `${file}\n`).join(""));
}
