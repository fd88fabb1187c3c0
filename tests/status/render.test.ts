/** The table, the `--json` document, the progress view and the change lines, from derived statuses. */
import { labPlan } from "../fixtures";
import { tinkerbellUiUrl } from "../../lib/render/next-steps";
import { statusContext } from "../../lib/status/context";
import { LabStatus, deriveStatus } from "../../lib/status/derive";
import {
    WatchMemory,
    changeLines,
    formatDuration,
    machineTable,
    progressBar,
    progressView,
    statusDocument,
    statusTable,
} from "../../lib/status/render";
import { FixtureStage, STREAM_IMAGE_ERROR, claimName, labObjects, snapshotOf } from "./fixtures";

const { config, plan } = labPlan({}, "dev");
const context = statusContext(config, plan);
const [cp, worker, spare] = plan.machines;

function statusAt(stages: Record<string, FixtureStage>, at?: Date): LabStatus {
    return deriveStatus(snapshotOf(labObjects(config, plan, stages), {}, at), context);
}

/** The cells of a table row, split on the column gaps. */
function cells(line: string): string[] {
    return line.split(/ {2,}/);
}

test("durations read as a person says them", () => {
    expect([0, 59, 60, 192, 3600, 3725, undefined].map(formatDuration)).toEqual([
        "0s",
        "59s",
        "1m00s",
        "3m12s",
        "1h00m",
        "1h02m",
        "",
    ]);
});

describe("the table", () => {
    const status = statusAt({ [cp.name]: "action-2-of-4", [worker.name]: "workflow-failed" });
    const text = statusTable(status);
    const lines = text.trimEnd().split("\n");

    test("the header: verdict, management, Tinkerbell release, providers, cluster, workload, CNI, UI", () => {
        expect(lines[0]).toBe(`lab ${plan.labName} (stack dev, namespace tinkerbell): FAILED`);
        const header = lines.slice(1, 8).map((l) => l.trim().split(/ {2,}/));
        expect(header).toEqual([
            ["management", "ok", "reachable (v1.35.0)"],
            ["tinkerbell", "ok", "release deployed (revision 1)"],
            ["providers", "ok", "cluster-api v1.12.5, kubeadm v1.12.5, kubeadm v1.12.5, tinkerbell v0.7.0"],
            ["cluster", "--", `${plan.labName} Provisioning; control plane 0/1 ready, workers 0/1 ready`],
            ["workload API", "--", "the workload cluster's kubeconfig is not written yet"],
            ["CNI", "--", "cilium: the workload API is not reachable yet"],
            ["Tinkerbell UI", tinkerbellUiUrl(plan)],
        ]);
    });

    test("one row per machine in plan order, every column filled", () => {
        const table = lines.slice(lines.indexOf("") + 1);
        expect(cells(table[0])).toEqual([
            "MACHINE",
            "ROLE",
            "MAC",
            "IP",
            "STAGE",
            "VM",
            "BMC",
            "HARDWARE",
            "WORKFLOW",
            "CAPI",
            "NODE",
            "TIME",
        ]);
        expect(cells(table[1])).toEqual([
            cp.name,
            "control-plane",
            cp.mac,
            cp.ip,
            "workflow",
            "missing",
            "on",
            `-> ${claimName(plan, cp)}`,
            "RUNNING 2/4 add tink cloud-init ds-config 10m00s",
            "Provisioning",
            "-",
            "13m00s",
        ]);
        expect(cells(table[2]).slice(0, 5)).toEqual([worker.name, "worker", worker.mac, worker.ip, "failed"]);
        expect(cells(table[2])[8]).toBe("FAILED 0/4 stream image 6m00s");
        expect(cells(table[3])).toEqual([
            spare.name,
            "spare",
            spare.mac,
            spare.ip,
            "spare",
            "missing",
            "off",
            "free",
            "-",
            "-",
            "-",
            "-",
        ]);
        // Columns line up: every row's STAGE cell starts where the title does.
        const at = table[0].indexOf("STAGE");
        expect(table.slice(1, 4).map((row) => row.slice(at).split(" ")[0])).toEqual(["workflow", "failed", "spare"]);
    });

    test("the first problem, said plainly, with its message and the command that shows more", () => {
        expect(lines.slice(-3)).toEqual([
            `FAILED: ${worker.name}: workflow action stream image failed`,
            `  message: ${STREAM_IMAGE_ERROR}`,
            `  more:    KUBECONFIG=${plan.outputDir}/kind.kubeconfig kubectl get workflows.tinkerbell.org ${claimName(plan, worker)} -n tinkerbell -o yaml`,
        ]);
    });

    test("a wait says how long", () => {
        const waiting = statusTable(statusAt({ [cp.name]: "pxe", [worker.name]: "free" }));
        expect(waiting).toContain(
            `waiting: ${cp.name}: powered on; waiting for it to PXE-boot the OSIE and its agent to start the workflow (for 11m00s)`,
        );
    });

    test("a ready lab has no problem lines", () => {
        const ready = statusTable(statusAt({ [cp.name]: "ready", [worker.name]: "ready" }));
        expect(ready.split("\n")[0]).toMatch(/: READY$/);
        expect(ready).not.toMatch(/FAILED|waiting:/);
        expect(ready).toContain(`Ready ${config.kubernetesVersion}`);
    });
});

describe("--json", () => {
    test("the same facts as a stable document", () => {
        const status = statusAt({ [cp.name]: "node-not-ready", [worker.name]: "action-2-of-4" });
        const document = JSON.parse(JSON.stringify(statusDocument(status)));
        expect(Object.keys(document)).toEqual([
            "schemaVersion",
            "stack",
            "lab",
            "namespace",
            "observedAt",
            "verdict",
            "exitCode",
            "header",
            "machines",
            "problem",
        ]);
        expect(document).toMatchObject({ schemaVersion: 1, stack: "dev", verdict: "in-progress", exitCode: 2 });
        expect(document.machines.map((m: { name: string; stage: string }) => [m.name, m.stage])).toEqual([
            [cp.name, "node-not-ready"],
            [worker.name, "workflow"],
            [spare.name, "spare"],
        ]);
        expect(document.machines[0]).toEqual({
            name: cp.name,
            role: "control-plane",
            mac: cp.mac,
            ip: cp.ip,
            stage: "node-not-ready",
            vm: "missing",
            bmc: { power: "on", contactable: true, job: { name: `${claimName(plan, cp)}-netboot`, state: "complete" } },
            hardware: { state: "allocated", owner: claimName(plan, cp) },
            workflow: {
                name: claimName(plan, cp),
                state: "SUCCESS",
                action: null,
                actionsDone: 4,
                actionsTotal: 4,
                runningSeconds: 600,
            },
            machine: { name: claimName(plan, cp), phase: "Running" },
            node: { name: cp.name, ready: "False", kubeletVersion: config.kubernetesVersion },
            waitingSeconds: 240,
            elapsedSeconds: 780,
        });
        // Every machine has every key, null where there is nothing: scripts need no existence checks.
        const keys = Object.keys(document.machines[0]);
        for (const machine of document.machines) {
            expect(Object.keys(machine)).toEqual(keys);
        }
        expect(document.machines[2]).toMatchObject({ workflow: null, machine: null, node: null });
        expect(document.problem).toEqual({
            machine: cp.name,
            step: `node ${cp.name} is not Ready`,
            message: expect.stringMatching(/cni plugin not initialized/),
            command: `KUBECONFIG=${plan.outputDir}/${plan.labName}.kubeconfig kubectl describe node ${cp.name}`,
            failed: false,
            waitingSeconds: 240,
        });
    });
});

test("--json keeps the header's keys when Cluster API cannot be read yet (null, not missing)", () => {
    const status = deriveStatus(
        snapshotOf(labObjects(config, plan, {}), { clusterApi: { error: "no CRDs yet" } }),
        context,
    );
    const header = JSON.parse(JSON.stringify(statusDocument(status))).header;
    expect(header).toMatchObject({
        controlPlane: null,
        workers: null,
        cluster: { ok: false, detail: "no CRDs yet", phase: null },
    });
});

describe("--watch", () => {
    test("the progress view: a bar per machine, further along as the machine moves on", () => {
        const early = statusAt({ [cp.name]: "pxe", [worker.name]: "action-2-of-4" });
        const late = statusAt({ [cp.name]: "ready", [worker.name]: "workflow-failed" });
        expect(progressBar(early.machines[0])).toBe("[######......]");
        expect(progressBar(early.machines[1])).toBe("[########....]");
        expect(progressBar(late.machines[0])).toBe("[############]");
        expect(progressBar(late.machines[1])).toBe("[xxxxxxxxxxxx]");
        expect(progressBar(late.machines[2])).toBe("spare");
        const view = progressView(early, 95, 5);
        expect(view).toContain("PROGRESS");
        expect(view.split("\n").at(-1)).toBe("watching for 1m35s, every 5s (Ctrl-C stops)");
        expect(machineTable(early.machines, ["PROGRESS", progressBar])[1]).toMatch(/\[######\.\.\.\.\.\.\]$/);
    });

    test("piped: one line per change, nothing when nothing changed, durations alone are no change", () => {
        const memory: WatchMemory = { machines: new Map() };
        const first = changeLines(statusAt({ [cp.name]: "powered-off", [worker.name]: "free" }), memory);
        expect(first).toEqual([
            "12:00:00 lab: management up, tinkerbell up, cluster Provisioning, workload API down, cni not ready",
            `12:00:00 ${cp.name}: powered-off, vm missing, power off, bmc job running, hardware -> ${claimName(plan, cp)}, workflow PENDING 0/4, capi Provisioning (13m00s)`,
            `12:00:00 ${worker.name}: unallocated, vm missing, power off, hardware free`,
            `12:00:00 ${spare.name}: spare, vm missing, power off, hardware free`,
            "12:00:00 verdict: in-progress",
        ]);
        const later = new Date("2026-03-01T12:00:30Z");
        expect(changeLines(statusAt({ [cp.name]: "powered-off", [worker.name]: "free" }, later), memory)).toEqual([]);
        expect(changeLines(statusAt({ [cp.name]: "pxe", [worker.name]: "free" }, later), memory)).toEqual([
            `12:00:30 ${cp.name}: pxe, vm missing, power on, bmc job complete, hardware -> ${claimName(plan, cp)}, workflow PENDING 0/4, capi Provisioning (13m30s)`,
        ]);
        const failed = changeLines(statusAt({ [cp.name]: "workflow-failed", [worker.name]: "free" }, later), memory);
        expect(failed).toEqual([
            expect.stringContaining(`${cp.name}: failed,`),
            `12:00:30 ${cp.name}: workflow action stream image failed: ${STREAM_IMAGE_ERROR}`,
            "12:00:30 verdict: failed",
        ]);
    });
});
