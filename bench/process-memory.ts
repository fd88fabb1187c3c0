/**
 * Peak memory of the processes of one CLI run. `pulumi()` (tests/e2e/support.ts) starts the CLI in
 * its own process group, so the language host, the program and every provider plugin it starts are
 * that group's members. The sampler reads each member's peak resident set (`VmHWM` in
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

/** The process group of a /proc/<pid>/stat text (the field after the parenthesised name and state). */
export function processGroup(stat: string): number | undefined {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const group = Number(fields[2]);
    return Number.isInteger(group) ? group : undefined;
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

export function sampleGroupMemory(group: number, intervalMs = 100): MemorySampler {
    const peaks = new Map<number, { role: string; kib: number }>();
    const sample = () => {
        for (const entry of fs.readdirSync("/proc")) {
            if (!/^\d+$/.test(entry)) {
                continue;
            }
            const stat = read(`/proc/${entry}/stat`);
            if (stat === undefined || processGroup(stat) !== group) {
                continue;
            }
            const argv = (read(`/proc/${entry}/cmdline`) ?? "").split("\0").filter(Boolean);
            const role = processRole(argv);
            const kib = peakKib(read(`/proc/${entry}/status`) ?? "");
            if (role !== undefined && kib !== undefined) {
                peaks.set(Number(entry), { role, kib: Math.max(kib, peaks.get(Number(entry))?.kib ?? 0) });
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
