/**
 * The lock a file backend keeps while a run changes a stack: `<backend>/.pulumi/locks/<org>/<project>/
 * <stack>/<id>.json` holding the pid, user, host and start time of the `pulumi` process (the Pulumi
 * CLI's pkg/backend/diy/lock.go). A killed run never removes it, and every later run then refuses
 * with "the stack is currently locked"; `pulumi cancel` removes every lock of the stack, a live
 * run's too. Here only the locks whose process is provably gone are removed (lib/recovery/
 * interrupted.ts judgeLock), so a run still going on is never disturbed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ProcessFacts, StackLock } from "./interrupted";

/** The lock files of `project`/`stack` under a file backend's root directory. */
export function findStackLocks(backendDir: string, project: string, stack: string): StackLock[] {
    const locksDir = path.join(backendDir, ".pulumi", "locks");
    if (!fs.existsSync(locksDir)) {
        return [];
    }
    const stackDirs = [path.join(locksDir, stack)];
    for (const org of fs.readdirSync(locksDir)) {
        stackDirs.push(path.join(locksDir, org, project, stack));
    }
    const locks: StackLock[] = [];
    for (const dir of stackDirs) {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            continue;
        }
        for (const entry of entries.filter((e) => e.isFile() && e.name.endsWith(".json"))) {
            const file = path.join(dir, entry.name);
            const lock = parseLock(file, fs.readFileSync(file, "utf8"));
            if (lock) {
                locks.push(lock);
            }
        }
    }
    return locks;
}

export function parseLock(file: string, text: string): StackLock | undefined {
    try {
        const content = JSON.parse(text) as Partial<StackLock>;
        if (typeof content.pid !== "number" || typeof content.hostname !== "string") {
            return undefined;
        }
        return {
            file,
            pid: content.pid,
            username: String(content.username ?? ""),
            hostname: content.hostname,
            timestamp: String(content.timestamp ?? ""),
        };
    } catch {
        return undefined;
    }
}

/** Removes a stale lock (and a metadata sidecar the blob store may have written beside it). */
export function removeLock(lock: StackLock): void {
    fs.rmSync(lock.file, { force: true });
    fs.rmSync(`${lock.file}.attrs`, { force: true });
}

/** Clock ticks per second of /proc/<pid>/stat's start time (USER_HZ, 100 on every Linux port). */
const USER_HZ = 100;

/** This host's processes, read from /proc. */
export function hostProcesses(): ProcessFacts {
    const bootTime = (() => {
        try {
            const match = /^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"));
            return match ? Number(match[1]) * 1000 : undefined;
        } catch {
            return undefined;
        }
    })();
    return {
        hostname: os.hostname(),
        process(pid) {
            try {
                process.kill(pid, 0);
            } catch (error) {
                // EPERM: it runs, as another user.
                if ((error as NodeJS.ErrnoException).code !== "EPERM") {
                    return undefined;
                }
            }
            let commandLine: string;
            let startedAt: Date | undefined;
            try {
                commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
                // Field 22 (starttime) counts from the fields after the parenthesised command name.
                const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
                const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
                const ticks = Number(fields[19]);
                if (bootTime !== undefined && Number.isFinite(ticks)) {
                    startedAt = new Date(bootTime + (ticks / USER_HZ) * 1000);
                }
            } catch {
                // No /proc: a running pid is taken for the lock's own process.
                commandLine = "pulumi";
            }
            return { commandLine, startedAt };
        },
    };
}

/**
 * Whether the stack's checkpoint in a file backend lists pending operations: true or false when the
 * file could be read, undefined otherwise (another layout, compressed, caught mid-write). Reading the
 * file spares the common case, no interrupted run, a `pulumi stack export`.
 */
export function checkpointHasPendingOperations(
    backendDir: string,
    project: string,
    stack: string,
): boolean | undefined {
    const file = path.join(backendDir, ".pulumi", "stacks", project, `${stack}.json`);
    try {
        const checkpoint = JSON.parse(fs.readFileSync(file, "utf8")) as {
            checkpoint?: { latest?: { pending_operations?: unknown[] | null } };
        };
        return (checkpoint.checkpoint?.latest?.pending_operations ?? []).length > 0;
    } catch {
        return undefined;
    }
}
