/**
 * Whole-program section: `index.ts` under the Pulumi CLI, language host and provider plugins that
 * `npm run e2e:tools` builds, against the e2e rig's real daemons and stand-ins
 * (tests/e2e/program-rig.ts): wall time of preview, up, a no-change up, a no-change preview and
 * destroy for 3 and 10 machines, one run each; for each `up`, from the engine's event log, the
 * critical path (the longest chain of dependent steps) against the serial sum of all steps. The floor
 * is the same CLI's preview and up of an empty TypeScript program. Skipped with a message when the
 * rig is incomplete.
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

function ok(run: RunResult): RunResult {
    if (run.code !== 0) {
        throw new Error(`bench step failed:\n${describeRun(run)}`);
    }
    return run;
}

const s = (seconds: number) => `${seconds.toFixed(1)} s`;

async function benchProgram(ws: ProgramWorkspace, machines: number, slot: number): Promise<string[]> {
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
    try {
        await stack.init();
        const preview = ok(await stack.run(["preview"]));
        const events = path.join(ws.tmp, `${name}.events`);
        const up = ok(
            await stack.run(["up", "--yes", "--skip-preview", "--event-log", events], { timeoutMs: 1_200_000 }),
        );
        const state = await stack.exportState();
        const steps = engineSteps(events);
        const path_ = criticalPath(steps, state);
        const again = ok(await stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"]));
        const quiet = ok(await stack.run(["preview", "--expect-no-changes"]));
        const destroy = ok(await stack.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 1_200_000 }));
        const created = steps.filter((st) => st.op === "create").length;
        return [
            `${machines} machines (${created} resources): preview ${s(preview.seconds)}, up ${s(up.seconds)}, ` +
                `no-change up ${s(again.seconds)}, no-change preview ${s(quiet.seconds)} ` +
                `(ratio ${(again.seconds / quiet.seconds).toFixed(2)}), destroy ${s(destroy.seconds)}`,
            `  up's steps: critical path ${s(path_.critical)}, serial sum ${s(path_.serial)}, span ${s(path_.span)}; ` +
                `critical chain: ${path_.chain.slice(0, 6).join(" <- ")}`,
        ];
    } finally {
        await stack.remove();
    }
}

/** The same CLI's preview and up of an empty TypeScript program: what any program pays. */
async function benchFloor(base: PulumiWorkspace): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-floor-"));
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
        const preview = ok(await pulumi(ws, ["preview", "--stack", "floor"]));
        const up = ok(await pulumi(ws, ["up", "--yes", "--skip-preview", "--stack", "floor"]));
        const again = ok(await pulumi(ws, ["up", "--yes", "--skip-preview", "--stack", "floor"]));
        ok(await pulumi(ws, ["stack", "rm", "--yes", "--force", "floor"]));
        return `floor (empty program): preview ${s(preview.seconds)}, up ${s(up.seconds)}, no-change up ${s(again.seconds)}`;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export async function benchProgramSection(): Promise<void> {
    console.log(`\n== whole program: index.ts under the Pulumi CLI with the e2e rig's daemons, one run each`);
    const missing = [missingToolchain, ...daemonChecks(["tar"]), missingProgramParts]
        .map((check) => check())
        .find((reason) => reason !== undefined);
    if (missing) {
        console.log(`skipped: ${missing}`);
        return;
    }
    const ws = programWorkspace();
    try {
        console.log(await benchFloor(ws));
        for (const [slot, machines] of [3, 10].entries()) {
            for (const line of await benchProgram(ws, machines, slot + 5)) {
                console.log(line);
            }
        }
        console.log(`(${os.cpus().length}x ${os.cpus()[0]?.model ?? "cpu"}; TCG domains, defined not started)`);
    } finally {
        fs.rmSync(ws.tmp, { recursive: true, force: true });
    }
}
