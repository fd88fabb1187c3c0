/** lib/recovery/locks.ts and run-temp.ts on real files and this host's real processes. */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { judgeLock } from "../../lib/recovery/interrupted";
import { checkpointHasPendingOperations, findStackLocks, hostProcesses, removeLock } from "../../lib/recovery/locks";
import { createRunTempDir, processAlive, removeDeadRunTempDirs } from "../../lib/recovery/run-temp";

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-recovery-files-"))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeLock(stack: string, pid: number, name = "a1.json"): string {
    const lockDir = path.join(dir, ".pulumi", "locks", "organization", "capt-playground", stack);
    fs.mkdirSync(lockDir, { recursive: true });
    const file = path.join(lockDir, name);
    const content = { pid, username: "root", hostname: os.hostname(), timestamp: new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
}

test("the locks of one stack are found, and judged against the processes that run here", async () => {
    const sleeper = spawn("sleep", ["30"]);
    try {
        const gone = writeLock("dev", 2_000_000_000);
        writeLock("dev", sleeper.pid!, "b2.json");
        writeLock("prod", 2_000_000_000);
        fs.writeFileSync(path.join(path.dirname(gone), "torn.json"), '{"pid": 1');
        const locks = findStackLocks(dir, "capt-playground", "dev");
        expect(locks.map((l) => path.basename(l.file)).sort()).toEqual(["a1.json", "b2.json"]);
        const facts = hostProcesses();
        const verdicts = Object.fromEntries(locks.map((l) => [path.basename(l.file), judgeLock(l, facts).verdict]));
        // A running `sleep` holds b2's pid: not a pulumi process, so its lock is stale too.
        expect(verdicts).toEqual({ "a1.json": "stale", "b2.json": "stale" });
        removeLock(locks[0]);
        expect(findStackLocks(dir, "capt-playground", "dev")).toHaveLength(1);
        expect(findStackLocks(path.join(dir, "absent"), "capt-playground", "dev")).toEqual([]);
    } finally {
        sleeper.kill();
    }
});

test("this process's start time is read from /proc, so a pid reused after the lock is told apart", () => {
    const me = hostProcesses().process(process.pid);
    expect(me?.commandLine).toContain("node");
    expect(me?.startedAt?.getTime()).toBeLessThanOrEqual(Date.now());
    expect(me?.startedAt?.getTime()).toBeGreaterThan(Date.now() - 24 * 3600_000 * 365);
});

test("each run gets a private directory; a later run removes only the directories of runs that are gone", () => {
    const root = path.join(dir, "runs");
    const mine = createRunTempDir(root, 4242);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    expect(fs.statSync(mine).mode & 0o777).toBe(0o700);
    fs.writeFileSync(path.join(mine, "kubeconfig"), "secret");
    const live = createRunTempDir(root, 4343);
    fs.mkdirSync(path.join(root, "not-a-run"));
    expect(removeDeadRunTempDirs(root, (pid) => pid === 4343)).toEqual(["4242"]);
    expect(fs.readdirSync(root).sort()).toEqual(["4343", "not-a-run"]);
    expect(fs.existsSync(live)).toBe(true);
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2_000_000_000)).toBe(false);
});

test("a shared or foreign run directory root is refused", () => {
    const root = path.join(dir, "shared");
    fs.mkdirSync(root, { mode: 0o777 });
    fs.chmodSync(root, 0o777);
    expect(() => createRunTempDir(root, 1)).toThrow(/private directory/);
});

test("a checkpoint's pending operations are read from the file backend without the CLI", () => {
    const file = path.join(dir, ".pulumi", "stacks", "capt-playground", "dev.json");
    expect(checkpointHasPendingOperations(dir, "capt-playground", "dev")).toBeUndefined();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ checkpoint: { latest: { resources: [] } } }));
    expect(checkpointHasPendingOperations(dir, "capt-playground", "dev")).toBe(false);
    const pending = [{ type: "creating", resource: { urn: "u" } }];
    fs.writeFileSync(file, JSON.stringify({ checkpoint: { latest: { pending_operations: pending } } }));
    expect(checkpointHasPendingOperations(dir, "capt-playground", "dev")).toBe(true);
    fs.writeFileSync(file, '{"checkpoint": {"lat');
    expect(checkpointHasPendingOperations(dir, "capt-playground", "dev")).toBeUndefined();
});
