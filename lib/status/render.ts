/**
 * The views of a LabStatus: the table (`npm run status`), the JSON document (`--json`), the
 * progress view (`--watch` on a terminal) and the change lines (`--watch` piped). Pure text.
 */
import { LabStatus, MachineStatus, EXIT_CODES, MACHINE_STAGES, PartStatus, Problem, plainText } from "./derive";

/** Bumped only when a field changes meaning or goes away; new fields may appear without it. */
export const STATUS_SCHEMA_VERSION = 1;

export function formatDuration(totalSeconds: number | undefined): string {
    if (totalSeconds === undefined) return "";
    const s = Math.max(0, Math.round(totalSeconds));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const DASH = "-";

function vmCell(m: MachineStatus): string {
    return m.vm ?? DASH;
}

function bmcCell(m: MachineStatus): string {
    const power = m.bmc.power ?? DASH;
    return m.bmc.contactable === false ? `${power} (unreachable)` : power;
}

function hardwareCell(m: MachineStatus): string {
    return m.hardware.state === "allocated" ? `-> ${m.hardware.owner}` : m.hardware.state;
}

function workflowCell(m: MachineStatus): string {
    const wf = m.workflow;
    if (!wf) return DASH;
    const parts = [wf.state, `${wf.actionsDone}/${wf.actionsTotal}`];
    if (wf.action) parts.push(wf.action);
    if (wf.state !== "SUCCESS" && wf.runningSeconds !== undefined) parts.push(formatDuration(wf.runningSeconds));
    return parts.join(" ");
}

function nodeCell(m: MachineStatus): string {
    if (!m.node) return DASH;
    const ready = m.node.ready === "True" ? "Ready" : m.node.ready === "False" ? "NotReady" : "Unknown";
    return m.node.kubeletVersion ? `${ready} ${m.node.kubeletVersion}` : ready;
}

function timeCell(m: MachineStatus): string {
    return formatDuration(m.elapsedSeconds) || DASH;
}

const COLUMNS: [string, (m: MachineStatus) => string][] = [
    ["MACHINE", (m) => m.name],
    ["ROLE", (m) => m.role],
    ["MAC", (m) => m.mac],
    ["IP", (m) => m.ip],
    ["STAGE", (m) => m.stage],
    ["VM", vmCell],
    ["BMC", bmcCell],
    ["HARDWARE", hardwareCell],
    ["WORKFLOW", workflowCell],
    ["CAPI", (m) => m.machine?.phase ?? (m.machine ? "(no phase)" : DASH)],
    ["NODE", nodeCell],
    ["TIME", timeCell],
];

/** Columns padded to their widest cell, two spaces apart; every cell one printable line. */
export function alignRows(rows: string[][]): string[] {
    const clean = rows.map((row) => row.map((cell) => plainText(cell)));
    const widths = clean[0].map((_, i) => Math.max(...clean.map((row) => [...row[i]].length)));
    return clean.map((row) =>
        row
            .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i] - [...cell].length)))
            .join("  ")
            .trimEnd(),
    );
}

export function machineTable(machines: MachineStatus[], extra?: [string, (m: MachineStatus) => string]): string[] {
    const columns = extra ? [...COLUMNS, extra] : COLUMNS;
    return alignRows([columns.map(([title]) => title), ...machines.map((m) => columns.map(([, cell]) => cell(m)))]);
}

function mark(part: PartStatus): [string, string] {
    return [part.ok ? "ok" : "--", part.detail];
}

function replicas(label: string, counts: { ready: number; desired: number } | undefined): string {
    return counts ? `${label} ${counts.ready}/${counts.desired} ready` : `${label} -`;
}

const VERDICT_TEXT: Record<LabStatus["verdict"], string> = {
    ready: "READY",
    failed: "FAILED",
    "in-progress": "IN PROGRESS",
};

export function headerLines(status: LabStatus): string[] {
    const h = status.header;
    const cluster = mark(h.cluster);
    const rows = [
        ["management", ...mark(h.management)],
        ["tinkerbell", ...mark(h.tinkerbell)],
        ["providers", ...mark(h.providers)],
        [
            "cluster",
            cluster[0],
            `${cluster[1]}; ${replicas("control plane", h.controlPlane)}, ${replicas("workers", h.workers)}`,
        ],
        ["workload API", ...mark(h.workload)],
        ["CNI", ...mark(h.cni)],
        ["Tinkerbell UI", "", h.tinkerbellUi],
    ];
    return [
        `lab ${status.lab} (stack ${status.stack}, namespace ${status.namespace}): ${VERDICT_TEXT[status.verdict]}`,
        ...alignRows(rows).map((line) => `  ${line}`),
    ];
}

export function problemLines(problem: Problem | undefined): string[] {
    if (!problem) return [];
    const who = problem.machine ? `${problem.machine}: ` : "";
    const waited =
        !problem.failed && problem.waitingSeconds !== undefined
            ? ` (for ${formatDuration(problem.waitingSeconds)})`
            : "";
    return [
        `${problem.failed ? "FAILED" : "waiting"}: ${who}${plainText(problem.step)}${waited}`,
        ...(problem.message ? [`  message: ${plainText(problem.message)}`] : []),
        `  more:    ${problem.command}`,
    ];
}

/** `npm run status`: header, one row per machine, the first problem. */
export function statusTable(status: LabStatus): string {
    return [...headerLines(status), "", ...machineTable(status.machines), "", ...problemLines(status.problem)]
        .join("\n")
        .trimEnd()
        .concat("\n");
}

/** `--json`: the same facts as a stable document. */
export function statusDocument(status: LabStatus) {
    return {
        schemaVersion: STATUS_SCHEMA_VERSION,
        stack: status.stack,
        lab: status.lab,
        namespace: status.namespace,
        observedAt: status.observedAt,
        verdict: status.verdict,
        exitCode: EXIT_CODES[status.verdict],
        header: {
            ...status.header,
            cluster: { ...status.header.cluster, phase: status.header.cluster.phase ?? null },
            controlPlane: status.header.controlPlane ?? null,
            workers: status.header.workers ?? null,
        },
        machines: status.machines.map((m) => ({
            name: m.name,
            role: m.role,
            mac: m.mac,
            ip: m.ip,
            stage: m.stage,
            vm: m.vm ?? null,
            bmc: { power: m.bmc.power ?? null, contactable: m.bmc.contactable ?? null, job: m.bmc.job ?? null },
            hardware: { state: m.hardware.state, owner: m.hardware.owner ?? null },
            workflow: m.workflow
                ? {
                      name: m.workflow.name,
                      state: m.workflow.state,
                      action: m.workflow.action ?? null,
                      actionsDone: m.workflow.actionsDone,
                      actionsTotal: m.workflow.actionsTotal,
                      runningSeconds: m.workflow.runningSeconds ?? null,
                  }
                : null,
            machine: m.machine ? { name: m.machine.name, phase: m.machine.phase ?? null } : null,
            node: m.node
                ? { name: m.node.name, ready: m.node.ready, kubeletVersion: m.node.kubeletVersion ?? null }
                : null,
            waitingSeconds: m.waitingSeconds ?? null,
            elapsedSeconds: m.elapsedSeconds ?? null,
        })),
        problem: status.problem
            ? {
                  machine: status.problem.machine ?? null,
                  step: status.problem.step,
                  message: status.problem.message ?? null,
                  command: status.problem.command,
                  failed: status.problem.failed,
                  waitingSeconds: status.problem.waitingSeconds ?? null,
              }
            : null,
    };
}

export type StatusDocument = ReturnType<typeof statusDocument>;

/** How far along its way a machine is, 0..1 (a workflow counts by its actions). */
export function progressOf(m: MachineStatus): number {
    // The way from no Hardware to a ready node: MACHINE_STAGES between those two.
    const steps: readonly string[] = MACHINE_STAGES.slice(
        MACHINE_STAGES.indexOf("no-hardware"),
        MACHINE_STAGES.indexOf("ready") + 1,
    );
    const at = steps.indexOf(m.stage);
    if (at < 0) return 0;
    const withinWorkflow =
        m.stage === "workflow" && m.workflow && m.workflow.actionsTotal > 0
            ? m.workflow.actionsDone / m.workflow.actionsTotal
            : 0;
    return (at + withinWorkflow) / (steps.length - 1);
}

export function progressBar(m: MachineStatus, width = 12): string {
    if (m.stage === "spare") return "spare";
    if (m.stage === "failed") return `[${"x".repeat(width)}]`;
    const filled = Math.round(progressOf(m) * width);
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** `--watch` on a terminal: the status with a progress bar per machine and how long the watch has run. */
export function progressView(status: LabStatus, watchedSeconds: number, intervalSeconds: number): string {
    return [
        ...headerLines(status),
        "",
        ...machineTable(status.machines, ["PROGRESS", (m) => progressBar(m)]),
        "",
        ...problemLines(status.problem),
        "",
        `watching for ${formatDuration(watchedSeconds)}, every ${intervalSeconds}s (Ctrl-C stops)`,
    ].join("\n");
}

/** What a change line says about a machine; durations are left out so only real changes count. */
export function machineFingerprint(m: MachineStatus): string {
    const parts: string[] = [m.stage];
    if (m.vm) parts.push(`vm ${m.vm}`);
    if (m.bmc.power) parts.push(`power ${m.bmc.power}`);
    if (m.bmc.contactable === false) parts.push("bmc unreachable");
    if (m.bmc.job) parts.push(`bmc job ${m.bmc.job.state}`);
    parts.push(`hardware ${hardwareCell(m)}`);
    if (m.workflow) {
        parts.push(
            `workflow ${m.workflow.state} ${m.workflow.actionsDone}/${m.workflow.actionsTotal}${m.workflow.action ? ` ${m.workflow.action}` : ""}`,
        );
    }
    if (m.machine?.phase) parts.push(`capi ${m.machine.phase}`);
    if (m.node) parts.push(`node ${nodeCell(m)}`);
    return plainText(parts.join(", "));
}

function labFingerprint(status: LabStatus): string {
    const h = status.header;
    return [
        `management ${h.management.ok ? "up" : "down"}`,
        `tinkerbell ${h.tinkerbell.ok ? "up" : "not ready"}`,
        `cluster ${h.cluster.phase ?? "-"}`,
        `workload API ${h.workload.ok ? "up" : "down"}`,
        `cni ${h.cni.ok ? "ready" : "not ready"}`,
    ].join(", ");
}

export interface WatchMemory {
    lab?: string;
    machines: Map<string, string>;
    verdict?: string;
}

/**
 * `--watch` piped: one line per change since the last look (the lab, each machine, the verdict),
 * each stamped with the time of the look. `memory` keeps what was said last.
 */
export function changeLines(status: LabStatus, memory: WatchMemory): string[] {
    const at = status.observedAt.slice(11, 19);
    const lines: string[] = [];
    const lab = labFingerprint(status);
    if (memory.lab !== lab) {
        lines.push(`${at} lab: ${lab}`);
        memory.lab = lab;
    }
    for (const m of status.machines) {
        const print = machineFingerprint(m);
        if (memory.machines.get(m.name) !== print) {
            const time = m.elapsedSeconds !== undefined ? ` (${formatDuration(m.elapsedSeconds)})` : "";
            lines.push(`${at} ${m.name}: ${print}${time}`);
            if (m.stage === "failed" && m.problem) {
                lines.push(
                    `${at} ${m.name}: ${plainText(m.problem.step)}${m.problem.message ? `: ${plainText(m.problem.message)}` : ""}`,
                );
            }
            memory.machines.set(m.name, print);
        }
    }
    if (memory.verdict !== status.verdict) {
        lines.push(`${at} verdict: ${status.verdict}`);
        memory.verdict = status.verdict;
    }
    return lines;
}
