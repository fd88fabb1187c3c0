/**
 * Whole-program section: `index.ts` under the Pulumi CLI, language host and provider plugins that
 * `npm run e2e:tools` builds, against the e2e rig's real daemons and stand-ins
 * (tests/e2e/program-rig.ts). The edit loop's table: a preview and a no-change up of the floor (the
 * same CLI's empty TypeScript program) and of the lab at 3, 10 and 100 machines (domains defined,
 * not started), each the median of BENCH_RUNS runs (default 3) taken in the same window as the
 * floor, with the preflight on and off, as a ratio to the floor; the peak memory of the program's
 * node process, the language host and each provider plugin; and for each lab's `up`, from the
 * engine's event log, the critical path (the longest chain of dependent steps) against the serial
 * sum of all steps. BENCH_MACHINES (e.g. `3,10`) picks the sizes. Skipped with a message when the
 * rig is incomplete.
 *
 * When the host fails the preflight (100 machines need more memory than the rig has), a run with the
 * preflight on stops
 * at the refusal. Its row then gives the preflight-off figure plus the preflight's own time, the
 * same probes and verdict run from here against the stack's config (marked `+`): the program runs
 * the preflight before it registers anything, so that is what the preflight adds to a run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { daemonChecks } from "../tests/e2e/lab-fixture";
import {
    ProgramStack,
    ProgramWorkspace,
    criticalPath,
    engineSteps,
    missingProgramParts,
    programWorkspace,
    rigConfig,
} from "../tests/e2e/program-rig";
import {
    PROJECT_ROOT,
    PulumiWorkspace,
    RunResult,
    describeRun,
    missingToolchain,
    pulumi,
    uniqueToken,
} from "../tests/e2e/support";
import { runPreflight } from "../lib/host-facts";
import { MemorySampler, sampleTreeMemory } from "./process-memory";

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3) || 3);
const SIZES = (process.env.BENCH_MACHINES ?? "3,10,100")
    .split(",")
    .map((n) => Number(n.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
/** What the program says when the preflight refuses the host (index.ts checkHost). */
const PREFLIGHT_REFUSAL = "the host is not ready for this lab";

function ok(run: RunResult): RunResult {
    if (run.code !== 0) {
        throw new Error(`bench step failed:\n${describeRun(run)}`);
    }
    return run;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}

const s = (seconds: number) => `${seconds.toFixed(1)} s`;

/** Peak KiB per process role, over every run measured. */
class Memory {
    readonly peaks = new Map<string, number>();
    add(peaks: Map<string, number>): void {
        for (const [role, kib] of peaks) {
            this.peaks.set(role, Math.max(kib, this.peaks.get(role) ?? 0));
        }
    }
}

/** Runs the CLI with its process group's memory sampled. */
async function measured(memory: Memory, run: (onSpawn: (child: { pid?: number }) => void) => Promise<RunResult>) {
    let sampler: MemorySampler | undefined;
    const result = await run((child) => {
        if (child.pid !== undefined) {
            sampler = sampleTreeMemory(child.pid, 200);
        }
    });
    if (sampler) {
        memory.add(sampler.stop());
    }
    return result;
}

interface LoopFigures {
    preview: number[];
    again: number[];
}

interface LabFigures {
    machines: number;
    resources: number;
    up: number;
    destroy: number;
    off: LoopFigures;
    /** Measured with the preflight on, or undefined when the host fails it. */
    on?: LoopFigures;
    /** Why the preflight refused the host (its failing checks). */
    refused?: string;
    /** The preflight's own time from here, for the stack's config. */
    preflight: number[];
    memory: Memory;
    pathLine: string;
}

/** The preflight as the program runs it, from this process with the rig's PATH. */
async function preflightSeconds(stack: ProgramStack, ws: ProgramWorkspace): Promise<number> {
    const config = { ...stack.labConfig, preflight: true };
    const saved = process.env.PATH;
    process.env.PATH = ws.env.PATH;
    try {
        const started = process.hrtime.bigint();
        await runPreflight(config, stack.plan);
        return Number(process.hrtime.bigint() - started) / 1e9;
    } finally {
        process.env.PATH = saved;
    }
}

/** The checks the preflight failed, from the program's error message. */
function refusalOf(run: RunResult): string {
    const lines = `${run.stdout}\n${run.stderr}`.split("\n").filter((line) => /^\s*ERROR\s/.test(line));
    return [...new Set(lines.map((line) => line.replace(/^\s*ERROR\s+/, "").trim()))].join("; ");
}

/** RUNS no-change previews and ups, interleaved; stops at a preflight refusal. */
async function editLoop(stack: ProgramStack, memory: Memory): Promise<{ figures?: LoopFigures; refused?: string }> {
    const figures: LoopFigures = { preview: [], again: [] };
    for (let i = 0; i < RUNS; i++) {
        for (const [args, into] of [
            [["preview", "--expect-no-changes"], figures.preview],
            [["up", "--yes", "--skip-preview", "--expect-no-changes"], figures.again],
        ] as const) {
            const run = await measured(memory, (onSpawn) => stack.run([...args], { onSpawn }));
            if (run.code !== 0 && `${run.stdout}${run.stderr}`.includes(PREFLIGHT_REFUSAL)) {
                return { refused: refusalOf(run) };
            }
            into.push(ok(run).seconds);
        }
    }
    return { figures };
}

async function benchLab(ws: ProgramWorkspace, machines: number, slot: number): Promise<LabFigures> {
    const name = `bench${uniqueToken(6)}`;
    const stack = new ProgramStack(
        ws,
        name,
        rigConfig(ws, name, slot, {
            hardwareCount: String(machines),
            controlPlanes: machines >= 3 ? "3" : "1",
            workers: "0",
        }),
    );
    const memory = new Memory();
    try {
        await stack.init();
        const events = path.join(ws.tmp, `${name}.events`);
        const up = ok(
            await stack.run(["up", "--yes", "--skip-preview", "--event-log", events], { timeoutMs: 3_600_000 }),
        );
        const steps = engineSteps(events);
        const path_ = criticalPath(steps, await stack.exportState());
        const off = (await editLoop(stack, memory)).figures!;
        await stack.set("preflight", "true");
        const on = await editLoop(stack, memory);
        const preflight: number[] = [];
        for (let i = 0; i < RUNS; i++) {
            preflight.push(await preflightSeconds(stack, ws));
        }
        await stack.set("preflight", "false");
        const destroy = ok(await stack.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 3_600_000 }));
        return {
            machines,
            resources: steps.filter((st) => st.op === "create").length,
            up: up.seconds,
            destroy: destroy.seconds,
            off,
            on: on.figures,
            refused: on.refused,
            preflight,
            memory,
            pathLine:
                `${machines} machines, up's steps: critical path ${s(path_.critical)}, serial sum ${s(path_.serial)}, ` +
                `span ${s(path_.span)}; critical chain: ${path_.chain.slice(0, 6).join(" <- ")}`,
        };
    } finally {
        await stack.remove();
    }
}

interface FloorFigures extends LoopFigures {
    memory: Memory;
    /** The same with PULUMI_NODEJS_TRANSPILE_ONLY=true: the part of the floor that is the type check. */
    transpileOnly: LoopFigures;
}

/** The same CLI's preview and no-change up of an empty TypeScript program: what any program pays. */
async function benchFloor(base: PulumiWorkspace): Promise<FloorFigures> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-floor-"));
    const memory = new Memory();
    try {
        fs.writeFileSync(
            path.join(dir, "Pulumi.yaml"),
            "name: floor\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
        );
        fs.writeFileSync(path.join(dir, "index.ts"), "export const nothing = 1;\n");
        fs.writeFileSync(
            path.join(dir, "package.json"),
            '{"name":"floor","private":true,"dependencies":{"@pulumi/pulumi":"*"}}\n',
        );
        fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
        const ws = { ...base, projectDir: dir };
        ok(await pulumi(ws, ["stack", "init", "floor"]));
        ok(await pulumi(ws, ["up", "--yes", "--skip-preview", "--stack", "floor"]));
        const figures: FloorFigures = { preview: [], again: [], memory, transpileOnly: { preview: [], again: [] } };
        const unchecked = { ...ws, env: { ...ws.env, PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
        for (let i = 0; i < RUNS; i++) {
            for (const [w, into] of [
                [ws, figures],
                [unchecked, figures.transpileOnly],
            ] as const) {
                into.preview.push(
                    ok(await measured(memory, (onSpawn) => pulumi(w, ["preview", "--stack", "floor"], { onSpawn })))
                        .seconds,
                );
                into.again.push(
                    ok(
                        await measured(memory, (onSpawn) =>
                            pulumi(w, ["up", "--yes", "--skip-preview", "--stack", "floor"], { onSpawn }),
                        ),
                    ).seconds,
                );
            }
        }
        ok(await pulumi(ws, ["stack", "rm", "--yes", "--force", "floor"]));
        return figures;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `median s (ratio×)`; `+` marks a figure made of the preflight-off run plus the preflight's own time. */
function cell(values: number[], floor: number | undefined, derived = false): string {
    const m = median(values);
    const ratio = floor ? ` (${(m / floor).toFixed(1)}×)` : "";
    return `${s(m)}${derived ? "+" : ""}${ratio}`;
}

function onRow(lab: LabFigures, key: keyof LoopFigures, floor: number): string {
    if (lab.on) {
        return cell(lab.on[key], floor);
    }
    const preflight = median(lab.preflight);
    return cell(
        lab.off[key].map((v) => v + preflight),
        floor,
        true,
    );
}

export function programTable(floor: FloorFigures, labs: LabFigures[]): string[] {
    const fp = median(floor.preview);
    const fa = median(floor.again);
    const rows: [string, string, (lab: LabFigures) => string][] = [
        ["preview, preflight on", s(fp), (lab) => onRow(lab, "preview", fp)],
        ["no-change up, preflight on", s(fa), (lab) => onRow(lab, "again", fa)],
        ["preview, preflight off", s(fp), (lab) => cell(lab.off.preview, fp)],
        ["no-change up, preflight off", s(fa), (lab) => cell(lab.off.again, fa)],
        ["the preflight alone", "-", (lab) => s(median(lab.preflight))],
        ["up (create)", "-", (lab) => s(lab.up)],
        ["destroy", "-", (lab) => s(lab.destroy)],
    ];
    const roles = [...new Set([floor, ...labs].flatMap((f) => [...f.memory.peaks.keys()]))].sort();
    const mib = (memory: Memory, role: string) => {
        const kib = memory.peaks.get(role);
        return kib === undefined ? "-" : `${Math.round(kib / 1024)} MiB`;
    };
    const header = ["", "floor", ...labs.map((lab) => `${lab.machines} machines (${lab.resources})`)];
    const body = [
        ...rows.map(([label, floorCell, labCell]) => [label, floorCell, ...labs.map(labCell)]),
        ...roles.map((role) => [
            `peak memory: ${role}`,
            mib(floor.memory, role),
            ...labs.map((lab) => mib(lab.memory, role)),
        ]),
    ];
    const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i].length)));
    const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)];
}

export async function benchProgramSection(): Promise<void> {
    console.log(`\n== whole program: index.ts under the Pulumi CLI with the e2e rig's daemons, median of ${RUNS} runs`);
    const missing = [missingToolchain, ...daemonChecks(["tar"]), missingProgramParts]
        .map((check) => check())
        .find((reason) => reason !== undefined);
    if (missing) {
        console.log(`skipped: ${missing}`);
        return;
    }
    const ws = programWorkspace();
    try {
        const floor = await benchFloor(ws);
        const labs: LabFigures[] = [];
        for (const [slot, machines] of SIZES.entries()) {
            labs.push(await benchLab(ws, machines, slot + 5));
        }
        for (const row of programTable(floor, labs)) {
            console.log(row);
        }
        console.log(
            `floor without its type check (PULUMI_NODEJS_TRANSPILE_ONLY=true): preview ${s(median(floor.transpileOnly.preview))}, ` +
                `no-change up ${s(median(floor.transpileOnly.again))}`,
        );
        for (const lab of labs) {
            console.log(lab.pathLine);
        }
        const refusals = labs.filter((lab) => lab.refused);
        if (refusals.length > 0) {
            console.log(
                "+ the host fails the preflight, so runs with it on stop at the refusal: the preflight-off figure " +
                    "plus the preflight's own time (the program runs it before it registers anything). Refused: " +
                    refusals.map((lab) => `${lab.machines} machines: ${lab.refused}`).join(" | "),
            );
        }
        const [ten, hundred] = [10, 100].map((n) => labs.find((lab) => lab.machines === n));
        if (ten && hundred) {
            const grow = (key: keyof LoopFigures) => (median(hundred.off[key]) / median(ten.off[key])).toFixed(1);
            console.log(
                `100 machines against 10 (preflight off): preview ${grow("preview")}×, no-change up ${grow("again")}×`,
            );
        }
        console.log(
            `(${os.cpus().length}x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ` +
                `TCG domains, defined not started; load average at the end ${os.loadavg()[0].toFixed(1)})`,
        );
    } finally {
        fs.rmSync(ws.tmp, { recursive: true, force: true });
    }
}
