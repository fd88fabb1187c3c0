/**
 * Peak memory of the processes of one CLI run: the CLI and its descendants (the language host, the
 * program, every provider plugin; the CLI starts each plugin in a process group of its own, so the
 * tree is followed by parent pid). The sampler reads each one's peak resident set (`VmHWM` in
 * /proc/<pid>/status, which only grows) every `intervalMs`, so a process's last sample is its peak
 * up to then; processes are grouped by role (the program, each provider plugin, ...).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A process of a run, named by what it is to the run. */
export function processRole(argv: string[]): string | undefined {
    const [exe = "", ...rest] = argv;
    const base = path.basename(exe);
    if (base === "node" || base === "nodejs") {
        if (rest.some((arg) => arg.includes("cmd/dynamic-provider"))) {
            return "dynamic providers (node)";
        }
        if (rest.some((arg) => /cmd\/run(\/|$)/.test(arg))) {
            return "program (node)";
        }
        return undefined;
    }
    if (base === "pulumi") {
        return "pulumi (engine)";
    }
    if (base === "pulumi-language-nodejs") {
        return "language host";
    }
    if (base === "pulumi-resource-pulumi-nodejs") {
        // The dynamic-provider shim: a shell script that execs node, counted as node above.
        return undefined;
    }
    if (base.startsWith("pulumi-resource-")) {
        return base.slice("pulumi-resource-".length);
    }
    return undefined;
}

/** `VmHWM` of a /proc/<pid>/status text, in KiB. */
export function peakKib(status: string): number | undefined {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) : undefined;
}

/** The parent pid in a /proc/<pid>/stat text (the field after the parenthesised name and the state). */
export function parentPid(stat: string): number | undefined {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const parent = Number(fields[1]);
    return Number.isInteger(parent) ? parent : undefined;
}

function read(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return undefined; // the process ended between the listing and the read
    }
}

export interface MemorySampler {
    /** Stops sampling; the peak KiB of each role (the largest process of that role). */
    stop(): Map<string, number>;
}

/** `root` and every process below it, from a pid -> parent pid map. */
export function descendants(root: number, parents: Map<number, number>): Set<number> {
    const tree = new Set([root]);
    let grown = true;
    while (grown) {
        grown = false;
        for (const [pid, parent] of parents) {
            if (!tree.has(pid) && tree.has(parent)) {
                tree.add(pid);
                grown = true;
            }
        }
    }
    return tree;
}

export function sampleTreeMemory(root: number, intervalMs = 100): MemorySampler {
    const peaks = new Map<number, { role: string; kib: number }>();
    const sample = () => {
        const parents = new Map<number, number>();
        for (const entry of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
            const parent = parentPid(read(`/proc/${entry}/stat`) ?? "");
            if (parent !== undefined) {
                parents.set(Number(entry), parent);
            }
        }
        for (const pid of descendants(root, parents)) {
            const argv = (read(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
            const role = processRole(argv);
            const kib = peakKib(read(`/proc/${pid}/status`) ?? "");
            if (role !== undefined && kib !== undefined) {
                peaks.set(pid, { role, kib: Math.max(kib, peaks.get(pid)?.kib ?? 0) });
            }
        }
    };
    sample();
    const timer = setInterval(sample, intervalMs);
    return {
        stop() {
            clearInterval(timer);
            const byRole = new Map<string, number>();
            for (const { role, kib } of peaks.values()) {
                byRole.set(role, Math.max(kib, byRole.get(role) ?? 0));
            }
            return byRole;
        },
    };
}
