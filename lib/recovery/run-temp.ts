/**
 * A private temporary directory per `npm run up|preview|destroy`, given to the CLI as TMPDIR, so the
 * files the lab's scripts and providers keep there while they work (a kubeconfig for clusterctl or
 * kubectl, a domain's XML, Helm's chart cache) never outlive an interrupted run: a script killed
 * with SIGKILL cannot remove its own. Each run's directory is named after its process id; a later
 * run removes the directories of runs whose process is gone. Nothing else is ever removed there.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The parent of every run's directory: one per user, private. */
export function runTempRoot(base: string = os.tmpdir()): string {
    const uid = typeof process.getuid === "function" ? process.getuid() : "user";
    return path.join(base, `capt-playground-${uid}`);
}

/** Creates this run's directory (mode 0700 all the way) and returns it. */
export function createRunTempDir(root: string, pid: number = process.pid): string {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(root);
    if (!stat.isDirectory() || stat.uid !== (process.getuid?.() ?? stat.uid) || (stat.mode & 0o077) !== 0) {
        throw new Error(`${root} must be a private directory of this user (mode 0700); remove it and run again`);
    }
    const dir = path.join(root, String(pid));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { mode: 0o700 });
    return dir;
}

/**
 * Removes the directories of runs that no longer run (`alive(pid)` false) and returns their names.
 * Only entries named by a process id are looked at.
 */
export function removeDeadRunTempDirs(root: string, alive: (pid: number) => boolean): string[] {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(root, { withFileTypes: true });
    } catch {
        return [];
    }
    const removed: string[] = [];
    for (const entry of entries) {
        if (!entry.isDirectory() || !/^\d+$/.test(entry.name) || alive(Number(entry.name))) {
            continue;
        }
        fs.rmSync(path.join(root, entry.name), { recursive: true, force: true });
        removed.push(entry.name);
    }
    return removed.sort();
}

/** True when a process with this id runs (any user's). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
