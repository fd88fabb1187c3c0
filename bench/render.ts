/**
 * Render section: validate, plan and render every file for 3 and for 500 machines, median of
 * several runs. The foundation's target is "well under a second" for 500 machines.
 */
import * as os from "node:os";
import { parseLabConfig } from "../lib/config";
import { PROJECT_NAME } from "../lib/config-schema";
import { planLab } from "../lib/plan";
import { renderLabFiles } from "../lib/render/files";

const RUNS = 15;

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

function renderOnce(raw: Record<string, unknown>): number {
    const started = process.hrtime.bigint();
    const config = parseLabConfig(raw, { stack: "bench" });
    const plan = planLab(config, { project: PROJECT_NAME, stack: "bench", projectDir: process.cwd() });
    renderLabFiles(config, plan);
    return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function benchRender(): Promise<void> {
    console.log(`\n== render (validate + plan + every file) on ${os.cpus().length}x ${os.cpus()[0]?.model ?? "cpu"}`);
    const sizes: [string, Record<string, unknown>][] = [
        ["3 machines (dev)", {}],
        ["500 machines in a /16", { hardwareCount: 500, controlPlanes: 3, workers: 400, podCidr: "10.64.0.0/14" }],
    ];
    for (const [label, raw] of sizes) {
        renderOnce(raw); // warm-up
        const times = Array.from({ length: RUNS }, () => renderOnce(raw));
        console.log(`${label.padEnd(24)} median ${median(times).toFixed(1)} ms over ${RUNS} runs`);
    }
}
