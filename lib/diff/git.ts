/**
 * Read-only git for `npm run diff`: resolve the base ref, and lay the base commit's files into a
 * temporary directory with `git archive` (nothing in the repository or the working tree changes).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";

export class GitError extends Error {}

function git(cwd: string, args: string[]): string {
    const result = spawnSync("git", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (result.error) {
        throw new GitError(`git ${args[0]}: ${result.error.message}`);
    }
    if (result.status !== 0) {
        throw new GitError(result.stderr.trim() || `git ${args.join(" ")} exited ${result.status}`);
    }
    return result.stdout;
}

export interface Repository {
    /** The top of the git work tree. */
    root: string;
    /** The project directory's path inside the repository ("" at the top, else ending in "/"). */
    prefix: string;
}

export function findRepository(projectDir: string): Repository {
    const root = git(projectDir, ["rev-parse", "--show-toplevel"]).trim();
    const prefix = git(projectDir, ["rev-parse", "--show-prefix"]).trim();
    return { root, prefix };
}

/** The full commit id of `ref`, or a GitError naming the ref. */
export function resolveCommit(repo: Repository, ref: string): string {
    if (ref.startsWith("-")) {
        throw new GitError(`not a git ref: ${JSON.stringify(ref)}`);
    }
    try {
        return git(repo.root, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]).trim();
    } catch {
        throw new GitError(`unknown git ref ${JSON.stringify(ref)} (fetch it first, e.g. git fetch origin)`);
    }
}

/**
 * Extracts the project directory of `commit` into `dest` (created empty by the caller) and returns
 * the project directory inside it, or undefined when the commit has no such directory.
 */
export function extractProject(repo: Repository, commit: string, dest: string): string | undefined {
    const treeish = repo.prefix ? `${commit}:${repo.prefix.replace(/\/$/, "")}` : commit;
    const exists = spawnSync("git", ["cat-file", "-e", treeish], { cwd: repo.root });
    if (exists.status !== 0) {
        return undefined;
    }
    const archive = spawnSync("git", ["archive", "--format=tar", treeish], {
        cwd: repo.root,
        maxBuffer: 1024 * 1024 * 1024,
    });
    if (archive.status !== 0) {
        throw new GitError(`git archive ${commit}: ${archive.stderr.toString().trim()}`);
    }
    execFileSync("tar", ["-x", "-f", "-", "-C", dest], { input: archive.stdout });
    return dest;
}

/** Files that differ between `commit` and the working tree (tracked changes and new files), relative to the project. */
export function changedFiles(repo: Repository, commit: string): string[] {
    const scope = repo.prefix ? ["--", repo.prefix] : [];
    const tracked = git(repo.root, ["diff", "--name-only", "--no-renames", commit, ...scope]);
    const untracked = git(repo.root, [
        "ls-files",
        "--others",
        "--exclude-standard",
        ...(repo.prefix ? [repo.prefix] : []),
    ]);
    const files = new Set<string>();
    for (const line of `${tracked}\n${untracked}`.split("\n")) {
        if (!line) continue;
        files.add(repo.prefix && line.startsWith(repo.prefix) ? line.slice(repo.prefix.length) : line);
    }
    return [...files].sort();
}

/** Makes `link` point at `target` (used for the base tree's node_modules). */
export function linkDirectory(target: string, link: string): void {
    if (!fs.existsSync(link)) {
        fs.symlinkSync(target, link, "dir");
    }
}
