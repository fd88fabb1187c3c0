/**
 * Real-engine section: the stack's machines (pool, volumes, domains — the e2e engine project in
 * tests/e2e/engine, i.e. the product's Machines component) under the Pulumi CLI that
 * `npm run e2e:tools` builds, against real libvirt: wall time of preview, up, a no-change up and
 * destroy for 3 and 10 machines, one run each. The rest of the program (Commands, docker, Kubernetes)
 * cannot run under the engine here (no provider plugins), so no Command runs in these figures.
 * Skipped with a message when the toolchain or libvirt is missing.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    PulumiWorkspace,
    RunResult,
    createWorkspace,
    describeRun,
    missingLibvirt,
    missingToolchain,
    pulumi,
    resourceSummary,
    sweepLibvirt,
    uniqueToken,
} from "../tests/e2e/support";

const ENGINE_DIR = path.join(__dirname, "..", "tests", "e2e", "engine");

async function step(ws: PulumiWorkspace, stack: string, args: string[]): Promise<RunResult> {
    const run = await pulumi(ws, [...args, "--stack", stack], { timeoutMs: 600_000 });
    if (run.code !== 0) {
        throw new Error(`bench step failed:\n${describeRun(run)}`);
    }
    return run;
}

async function benchMachines(ws: PulumiWorkspace, machines: number): Promise<string> {
    const stack = `bench${uniqueToken(6)}`;
    try {
        await step(ws, stack, ["stack", "init"]);
        const config = {
            hardwareCount: String(machines),
            controlPlanes: machines >= 3 ? "3" : "1",
            workers: "0",
            preflight: "false",
            domainType: "qemu",
            vmGraphics: "none",
            storageDir: path.join(ws.tmp, stack),
        };
        const pairs = Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]);
        await step(ws, stack, ["config", "set-all", ...pairs]);
        const preview = await step(ws, stack, ["preview"]);
        const up = await step(ws, stack, ["up", "--yes"]);
        const again = await step(ws, stack, ["up", "--yes"]);
        const changed = Object.entries(resourceSummary(again.stdout)).filter(([op]) => op !== "unchanged");
        const destroy = await step(ws, stack, ["destroy", "--yes"]);
        await step(ws, stack, ["stack", "rm", "--yes"]);
        const resources = resourceSummary(up.stdout).created ?? 0;
        const s = (run: RunResult) => `${run.seconds.toFixed(1)} s`.padStart(7);
        return (
            `${`${machines} machines (${resources} resources)`.padEnd(28)} preview ${s(preview)}  up ${s(up)}  ` +
            `no-change up ${s(again)} (${changed.length === 0 ? "no changes" : `CHANGES ${JSON.stringify(changed)}`})  ` +
            `destroy ${s(destroy)}`
        );
    } finally {
        sweepLibvirt(`capt-${stack}`);
    }
}

export async function benchEngine(): Promise<void> {
    console.log(`\n== real engine: the stack's machines under the Pulumi CLI and libvirt, one run each`);
    const missing = missingToolchain() ?? missingLibvirt();
    if (missing) {
        console.log(`skipped: ${missing}`);
        return;
    }
    const ws = createWorkspace(ENGINE_DIR);
    try {
        for (const machines of [3, 10]) {
            console.log(await benchMachines(ws, machines));
        }
        console.log(`(${os.cpus().length}x ${os.cpus()[0]?.model ?? "cpu"}; TCG domains, defined not started)`);
    } finally {
        fs.rmSync(ws.tmp, { recursive: true, force: true });
        for (const file of fs.readdirSync(ENGINE_DIR).filter((f) => /^Pulumi\.bench\w+\.yaml$/.test(f))) {
            fs.rmSync(path.join(ENGINE_DIR, file));
        }
    }
}
