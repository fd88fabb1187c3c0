/**
 * Where each machine of the lab is on its way from power-on to a ready node, and what the lab
 * header says, derived from one snapshot of the objects (lib/status/objects.ts). Pure: the same
 * snapshot always gives the same status, and every duration counts to the snapshot's time.
 *
 * The links between the objects are the ones the controllers make: a machine's Hardware is named
 * like the machine and names its Rufio Machine (spec.bmcRef); Rufio Jobs name that Machine
 * (spec.machineRef); CAPT labels the Hardware it claims with its TinkerbellMachine's name, creates
 * the Workflow for that Hardware (spec.hardwareRef), and the Cluster API Machine names the
 * TinkerbellMachine (spec.infrastructureRef); the Machine's nodeRef names the Node, which kubelet
 * registers under the machine's hostname.
 */
import { StatusContext, StatusMachine, Source } from "./context";
import {
    BmcJob,
    BmcMachine,
    CapiMachine,
    ClusterApiObjects,
    Condition,
    Hardware,
    LabSnapshot,
    Sources,
    Node,
    TinkerbellObjects,
    Workflow,
    WorkflowAction,
    WorkloadObjects,
    failed,
    valueOf,
} from "./objects";

/** The label CAPT sets on the Hardware it claims: the TinkerbellMachine's name. */
export const HARDWARE_OWNER_LABEL = "v1alpha1.tinkerbell.org/ownerName";

/** Each machine's way, in order; `failed` can happen at any step, `spare` machines stay out of the cluster. */
export const MACHINE_STAGES = [
    "spare",
    "unknown",
    "no-hardware",
    "unallocated",
    "allocated",
    "powered-off",
    "pxe",
    "workflow",
    "provisioned",
    "node-not-ready",
    "ready",
    "failed",
] as const;
export type MachineStage = (typeof MACHINE_STAGES)[number];

export type Verdict = "ready" | "failed" | "in-progress";

/** The documented exit codes: 0 ready, 1 something failed, 2 still in progress. */
export const EXIT_CODES: Readonly<Record<Verdict, number>> = { ready: 0, failed: 1, "in-progress": 2 };

export interface Problem {
    /** The machine it is about; absent for a lab-wide problem. */
    machine?: string;
    /** The step, said plainly: "workflow action stream-image failed", "waiting for PXE boot". */
    step: string;
    /** The object's own message, when it has one. */
    message?: string;
    /** The command that shows more. */
    command: string;
    /** True for a failure, false for the longest wait. */
    failed: boolean;
    waitingSeconds?: number;
}

export interface WorkflowView {
    name: string;
    state: string;
    /** The running (or failed) action. */
    action?: string;
    actionsDone: number;
    actionsTotal: number;
    /** Since the first action started (or the Workflow was created). */
    runningSeconds?: number;
}

export interface MachineStatus {
    name: string;
    role: StatusMachine["role"];
    mac: string;
    ip: string;
    stage: MachineStage;
    /** libvirt's domain state for VMs ("running", "shut off", "missing"), undefined for real machines or unread. */
    vm?: string;
    bmc: { power?: string; contactable?: boolean; job?: { name: string; state: "running" | "complete" | "failed" } };
    hardware: { state: "unknown" | "missing" | "free" | "allocated"; owner?: string };
    workflow?: WorkflowView;
    machine?: { name: string; phase?: string };
    node?: { name: string; ready: "True" | "False" | "Unknown"; kubeletVersion?: string };
    /** How long the machine has been in this stage (when the objects say). */
    waitingSeconds?: number;
    /** From the start of its provisioning to Ready, or to now. */
    elapsedSeconds?: number;
    problem?: Problem;
}

export interface PartStatus {
    ok: boolean;
    /** What the part says, e.g. "v1.35.3" or "deployed (revision 1)". */
    detail: string;
}

export interface LabHeader {
    management: PartStatus;
    tinkerbell: PartStatus;
    providers: PartStatus;
    cluster: PartStatus & { phase?: string };
    controlPlane: { ready: number; desired: number } | undefined;
    workers: { ready: number; desired: number } | undefined;
    workload: PartStatus;
    cni: PartStatus;
    tinkerbellUi: string;
}

export interface LabStatus {
    stack: string;
    lab: string;
    namespace: string;
    observedAt: string;
    verdict: Verdict;
    header: LabHeader;
    machines: MachineStatus[];
    problem?: Problem;
}

function seconds(from: string | undefined, to: Date): number | undefined {
    if (!from) return undefined;
    const start = Date.parse(from);
    return Number.isNaN(start) ? undefined : Math.max(0, Math.round((to.getTime() - start) / 1000));
}

function newest<T extends { metadata: { creationTimestamp?: string } }>(items: T[]): T | undefined {
    return [...items].sort((a, b) =>
        (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )[0];
}

function condition<C extends { type: string; status: string }>(conditions: C[] | undefined, type: string) {
    return conditions?.find((c) => c.type === type);
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]+/g;

/** One line, printable: an object's message can hold anything, a terminal must get none of its control characters. */
export function plainText(text: string): string {
    return text.replace(CONTROL_CHARACTERS, " ").replace(/ {2,}/g, " ").trim();
}

function actionsOf(workflow: Workflow): WorkflowAction[] {
    return (workflow.status?.tasks ?? []).flatMap((task) => task.actions ?? []);
}

const FAILED_STATES = new Set(["FAILED", "TIMEOUT"]);

function workflowView(workflow: Workflow, now: Date): WorkflowView {
    const actions = actionsOf(workflow);
    const state = workflow.status?.state || "PENDING";
    const current =
        actions.find((a) => FAILED_STATES.has(a.state ?? "")) ??
        actions.find((a) => a.state === "RUNNING") ??
        (workflow.status?.currentState?.actionName ? { name: workflow.status.currentState.actionName } : undefined);
    const starts = actions.map((a) => a.executionStart).filter((s): s is string => !!s);
    const firstStart = starts.sort()[0];
    return {
        name: workflow.metadata.name,
        state,
        ...(current?.name && state !== "SUCCESS" ? { action: current.name } : {}),
        actionsDone: actions.filter((a) => a.state === "SUCCESS").length,
        actionsTotal: actions.length,
        runningSeconds: seconds(firstStart ?? workflow.metadata.creationTimestamp, now),
    };
}

interface MachineObjects {
    hardware?: Hardware;
    bmcMachine?: BmcMachine;
    job?: BmcJob;
    workflow?: Workflow;
    capiMachine?: CapiMachine;
    node?: Node;
}

function objectsFor(
    machine: StatusMachine,
    tinkerbell: TinkerbellObjects | undefined,
    clusterApi: ClusterApiObjects | undefined,
    workload: WorkloadObjects | undefined,
): MachineObjects {
    const hardware = tinkerbell?.hardware.find((h) => h.metadata.name === machine.name);
    const bmcName = hardware?.spec?.bmcRef?.name || machine.name;
    const owner = hardware?.metadata.labels?.[HARDWARE_OWNER_LABEL];
    const capiMachine = owner ? clusterApi?.machines.find((m) => m.spec?.infrastructureRef?.name === owner) : undefined;
    const nodeName = capiMachine?.status?.nodeRef?.name || machine.name;
    return {
        hardware,
        bmcMachine: tinkerbell?.bmcMachines.find((m) => m.metadata.name === bmcName),
        job: newest(tinkerbell?.bmcJobs.filter((j) => j.spec?.machineRef?.name === bmcName) ?? []),
        workflow: newest(tinkerbell?.workflows.filter((w) => w.spec?.hardwareRef === machine.name) ?? []),
        capiMachine,
        node: workload?.nodes.find((n) => n.metadata.name === nodeName),
    };
}

function jobState(job: BmcJob): "running" | "complete" | "failed" {
    if (condition(job.status?.conditions, "Failed")?.status === "True") return "failed";
    if (condition(job.status?.conditions, "Completed")?.status === "True") return "complete";
    return "running";
}

/** How a suggested command reaches the cluster a group of objects came from. */
function kubectlIn(context: StatusContext, source: Source): string {
    return `KUBECONFIG=${context.kubeconfigShown[source]} kubectl`;
}

/** A failure the objects report, checked in the order a machine meets them. */
function machineFailure(
    machine: StatusMachine,
    objects: MachineObjects,
    context: StatusContext,
    sources: Sources,
): Problem | undefined {
    const ns = context.namespace;
    const tink = kubectlIn(context, sources.tinkerbell);
    const { job, workflow, capiMachine } = objects;
    if (job && jobState(job) === "failed") {
        return {
            machine: machine.name,
            step: "BMC job failed (Rufio)",
            message: condition(job.status?.conditions, "Failed")?.message,
            command: `${tink} describe jobs.bmc.tinkerbell.org ${job.metadata.name} -n ${ns}`,
            failed: true,
        };
    }
    if (workflow) {
        const state = workflow.status?.state ?? "";
        const failedAction = actionsOf(workflow).find((a) => FAILED_STATES.has(a.state ?? ""));
        const bootJob = (workflow.status?.conditions ?? []).find(
            (c) => (c.type === "BootJobFailed" || c.type === "BootJobSetupFailed") && c.status === "True",
        );
        if (bootJob && isBootJobRace(bootJob)) {
            // CAPT makes a new Workflow for the machine once this one and its Job are gone.
            const jobs = Object.keys(workflow.status?.bootOptions?.jobs ?? {});
            const deleteJobs = jobs.map((name) => `${tink} delete jobs.bmc.tinkerbell.org ${name} -n ${ns}; `).join("");
            return {
                machine: machine.name,
                step: "workflow boot job failed: Tinkerbell's known race (it created its Rufio Job, did not see it yet, created it again and gave up); delete the Job and the Workflow, CAPT makes a new one",
                message: bootJob.message,
                command: `${deleteJobs}${tink} delete workflows.tinkerbell.org ${workflow.metadata.name} -n ${ns}`,
                failed: true,
            };
        }
        if (FAILED_STATES.has(state) || failedAction || bootJob) {
            const what = failedAction
                ? `workflow action ${failedAction.name ?? failedAction.id} ${failedAction.state === "TIMEOUT" ? "timed out" : "failed"}`
                : bootJob
                  ? "workflow boot job failed"
                  : `workflow ${state === "TIMEOUT" ? "timed out" : "failed"}`;
            return {
                machine: machine.name,
                step: what,
                message: failedAction?.message || bootJob?.message || undefined,
                command: `${tink} get workflows.tinkerbell.org ${workflow.metadata.name} -n ${ns} -o yaml`,
                failed: true,
            };
        }
    }
    const legacy = capiMachine?.status?.deprecated?.v1beta1;
    if (capiMachine && (capiMachine.status?.phase === "Failed" || legacy?.failureReason)) {
        return {
            machine: machine.name,
            step: `Cluster API Machine ${capiMachine.metadata.name} failed${legacy?.failureReason ? ` (${legacy.failureReason})` : ""}`,
            message: legacy?.failureMessage,
            command: `${kubectlIn(context, sources.clusterApi)} describe machines.cluster.x-k8s.io ${capiMachine.metadata.name} -n ${ns}`,
            failed: true,
        };
    }
    return undefined;
}

/**
 * Tinkerbell v0.25's workflow controller creates the Rufio Job of a netboot Workflow, reads its cache
 * before the Job is in it, creates it again, gets "already exists" and fails the Workflow for good
 * (BootJobSetupFailed). Seen in the real-lab suite; nothing is wrong with the machine or the lab.
 */
function isBootJobRace(condition: { type: string; message?: string }): boolean {
    return condition.type === "BootJobSetupFailed" && /already exists/.test(condition.message ?? "");
}

interface StageFacts {
    stage: MachineStage;
    /** When this stage began, as the objects tell. */
    since?: string;
    step: string;
    message?: string;
    command: string;
}

function lastStop(workflow: Workflow): string | undefined {
    return actionsOf(workflow)
        .map((a) => a.executionStop)
        .filter((s): s is string => !!s)
        .sort()
        .pop();
}

function conditionMessage(conditions: Condition[] | undefined, type: string): string | undefined {
    const found = condition(conditions, type);
    return found && found.status !== "True" && found.message ? found.message : undefined;
}

/** The stage of a machine that has not failed, with what it waits for and where to look. */
function progressStage(
    machine: StatusMachine,
    objects: MachineObjects,
    context: StatusContext,
    sources: Sources,
    domainState?: string,
): StageFacts {
    const ns = context.namespace;
    const tink = kubectlIn(context, sources.tinkerbell);
    const capi = kubectlIn(context, sources.clusterApi);
    const workloadKubectl = kubectlIn(context, "workload");
    const console = context.vms
        ? `tail -f ${context.consoleLogDir}/${machine.name}.console.log`
        : `${tink} get workflows.tinkerbell.org -n ${ns} -w`;
    const { hardware, bmcMachine, job, workflow, capiMachine, node } = objects;
    if (node) {
        const ready = condition(node.status?.conditions, "Ready");
        if (ready?.status === "True") {
            return {
                stage: "ready",
                since: ready.lastTransitionTime,
                step: "ready",
                command: `${workloadKubectl} get node ${node.metadata.name}`,
            };
        }
        return {
            stage: "node-not-ready",
            since: ready?.lastTransitionTime ?? node.metadata.creationTimestamp,
            step: `node ${node.metadata.name} is not Ready`,
            message: ready?.message,
            command: `${workloadKubectl} describe node ${node.metadata.name}`,
        };
    }
    const phase = capiMachine?.status?.phase;
    if (workflow?.status?.state === "SUCCESS" || phase === "Provisioned" || phase === "Running") {
        return {
            stage: "provisioned",
            since: (workflow && lastStop(workflow)) ?? capiMachine?.metadata.creationTimestamp,
            step: "provisioned; waiting for its node to join",
            message: conditionMessage(capiMachine?.status?.conditions, "NodeHealthy"),
            command: context.vms ? console : `${capi} describe machines.cluster.x-k8s.io -n ${ns}`,
        };
    }
    if (workflow && ["RUNNING", "POST"].includes(workflow.status?.state ?? "")) {
        const running = actionsOf(workflow).find((a) => a.state === "RUNNING");
        const view = workflowView(workflow, new Date(0));
        return {
            stage: "workflow",
            since: running?.executionStart ?? workflow.metadata.creationTimestamp,
            step: `workflow action ${view.action ?? "(next)"} running, ${view.actionsDone}/${view.actionsTotal} actions done`,
            command: `${tink} get workflows.tinkerbell.org ${workflow.metadata.name} -n ${ns} -o yaml`,
        };
    }
    if (workflow) {
        const contactable = condition(bmcMachine?.status?.conditions, "Contactable");
        // Rufio refreshes a Machine's powerState on its own schedule, minutes behind the Job that
        // powered it on (seen in the real-lab suite: "off" while the VM network-booted); the Job's
        // completion and, for VMs, libvirt's own state say it sooner.
        const poweredOn =
            bmcMachine?.status?.powerState === "on" ||
            (job !== undefined && jobState(job) === "complete") ||
            domainState === "running";
        if (!poweredOn) {
            const bmcProblem = contactable?.status === "False" ? contactable.message : undefined;
            return {
                stage: "powered-off",
                since: job?.status?.startTime ?? workflow.metadata.creationTimestamp,
                step: "waiting for the BMC to power it on",
                message: bmcProblem,
                command: job
                    ? `${tink} describe jobs.bmc.tinkerbell.org ${job.metadata.name} -n ${ns}`
                    : `${tink} describe machines.bmc.tinkerbell.org ${bmcMachine?.metadata.name ?? machine.name} -n ${ns}`,
            };
        }
        // The OSIE writes to the second serial port (Smee's console=ttyS1), logged on its own.
        const osieLog = context.osieLogs ? ` ${context.consoleLogDir}/${machine.name}.osie.log` : "";
        return {
            stage: "pxe",
            since: job?.status?.completionTime ?? workflow.metadata.creationTimestamp,
            step: "powered on; waiting for it to PXE-boot the OSIE and its agent to start the workflow",
            command: context.vms ? `${console}${osieLog}` : console,
        };
    }
    const owner = hardware?.metadata.labels?.[HARDWARE_OWNER_LABEL];
    if (hardware && owner) {
        return {
            stage: "allocated",
            since: capiMachine?.metadata.creationTimestamp,
            step: `claimed by ${owner}; waiting for its workflow`,
            command: `${capi} describe tinkerbellmachines.infrastructure.cluster.x-k8s.io ${owner} -n ${ns}`,
        };
    }
    if (hardware) {
        return {
            stage: "unallocated",
            since: hardware.metadata.creationTimestamp,
            step: "waiting for Cluster API to claim its Hardware",
            command: `${capi} get machines.cluster.x-k8s.io,tinkerbellmachines.infrastructure.cluster.x-k8s.io -n ${ns}`,
        };
    }
    return {
        stage: "no-hardware",
        step: "no Hardware object yet",
        command: `${tink} get hardware.tinkerbell.org -n ${ns}`,
    };
}

/** From the start of provisioning (the Cluster API Machine, else its Workflow or BMC job) to Ready or now. */
function elapsed(objects: MachineObjects, stage: StageFacts, now: Date): number | undefined {
    const start = [
        objects.capiMachine?.metadata.creationTimestamp,
        objects.workflow?.metadata.creationTimestamp,
        objects.job?.status?.startTime,
    ]
        .filter((s): s is string => !!s)
        .sort()[0];
    if (!start) return undefined;
    const end = stage.stage === "ready" && stage.since ? new Date(stage.since) : now;
    return seconds(start, end);
}

function machineStatus(
    machine: StatusMachine,
    snapshot: LabSnapshot,
    context: StatusContext,
    sources: Sources,
): MachineStatus {
    const now = snapshot.observedAt;
    const tinkerbell = valueOf(snapshot.tinkerbell);
    const objects = objectsFor(machine, tinkerbell, valueOf(snapshot.clusterApi), valueOf(snapshot.workload));
    const { hardware, bmcMachine, job, workflow, capiMachine, node } = objects;
    const domains = valueOf(snapshot.domains);
    const owner = hardware?.metadata.labels?.[HARDWARE_OWNER_LABEL];
    const contactable = condition(bmcMachine?.status?.conditions, "Contactable");
    const base = {
        name: machine.name,
        role: machine.role,
        mac: machine.mac,
        ip: machine.ip,
        ...(context.vms && domains ? { vm: domains[machine.name] ?? "missing" } : {}),
        bmc: {
            ...(bmcMachine?.status?.powerState ? { power: bmcMachine.status.powerState } : {}),
            ...(contactable ? { contactable: contactable.status === "True" } : {}),
            ...(job ? { job: { name: job.metadata.name, state: jobState(job) } } : {}),
        },
        hardware: !tinkerbell
            ? { state: "unknown" as const }
            : !hardware
              ? { state: "missing" as const }
              : owner
                ? { state: "allocated" as const, owner }
                : { state: "free" as const },
        ...(workflow ? { workflow: workflowView(workflow, now) } : {}),
        ...(capiMachine
            ? {
                  machine: {
                      name: capiMachine.metadata.name,
                      ...(capiMachine.status?.phase ? { phase: capiMachine.status.phase } : {}),
                  },
              }
            : {}),
        ...(node
            ? {
                  node: {
                      name: node.metadata.name,
                      ready: (condition(node.status?.conditions, "Ready")?.status ?? "Unknown") as
                          "True" | "False" | "Unknown",
                      ...(node.status?.nodeInfo?.kubeletVersion
                          ? { kubeletVersion: node.status.nodeInfo.kubeletVersion }
                          : {}),
                  },
              }
            : {}),
    };
    if (machine.role === "spare") {
        return { ...base, stage: "spare" };
    }
    if (!tinkerbell) {
        return { ...base, stage: "unknown" };
    }
    const failure = machineFailure(machine, objects, context, sources);
    if (failure) {
        return {
            ...base,
            stage: "failed",
            elapsedSeconds: elapsed(objects, { stage: "failed", step: "", command: "" }, now),
            problem: failure,
        };
    }
    const facts = progressStage(machine, objects, context, sources, domains?.[machine.name]);
    const waitingSeconds = seconds(facts.since, now);
    return {
        ...base,
        stage: facts.stage,
        ...(waitingSeconds !== undefined ? { waitingSeconds } : {}),
        ...(elapsed(objects, facts, now) !== undefined ? { elapsedSeconds: elapsed(objects, facts, now) } : {}),
        ...(facts.stage === "ready"
            ? {}
            : {
                  problem: {
                      machine: machine.name,
                      step: facts.step,
                      ...(facts.message ? { message: facts.message } : {}),
                      command: facts.command,
                      failed: false,
                      ...(waitingSeconds !== undefined ? { waitingSeconds } : {}),
                  },
              }),
    };
}

function part(ok: boolean, detail: string): PartStatus {
    return { ok, detail: plainText(detail) };
}

function probeDetail<T>(probe: { value: T } | { error: string } | undefined, ok: (value: T) => string): PartStatus {
    if (probe === undefined) return part(false, "not read");
    return "error" in probe ? part(false, probe.error) : part(true, ok(probe.value));
}

function replicaCounts(objects: { spec?: { replicas?: number }; status?: { readyReplicas?: number } }[]) {
    if (objects.length === 0) return undefined;
    return {
        ready: objects.reduce((n, o) => n + (o.status?.readyReplicas ?? 0), 0),
        desired: objects.reduce((n, o) => n + (o.spec?.replicas ?? 0), 0),
    };
}

/** The CNI's agent DaemonSet in kube-system, as each choice installs it. */
export const CNI_DAEMONSETS: Readonly<Record<string, string>> = { cilium: "cilium", "kube-router": "kube-router" };

function cniStatus(context: StatusContext, workload: WorkloadObjects | undefined): PartStatus {
    if (context.cni === "none") return part(true, "none (config cni: none; bring your own)");
    if (!workload) return part(false, `${context.cni}: the workload API is not reachable yet`);
    const ds = workload.daemonSets.find((d) => d.metadata.name === CNI_DAEMONSETS[context.cni]);
    if (!ds) return part(false, `${context.cni}: not installed yet`);
    const ready = ds.status?.numberReady ?? 0;
    const desired = ds.status?.desiredNumberScheduled ?? 0;
    return part(ready > 0 && ready === desired, `${context.cni} ${ready}/${desired} agents ready`);
}

function header(snapshot: LabSnapshot, context: StatusContext): LabHeader {
    const clusterApi = valueOf(snapshot.clusterApi);
    const cluster = clusterApi?.clusters.find((c) => c.metadata.name === context.clusterName);
    const clusterPart = failed(snapshot.clusterApi)
        ? part(false, snapshot.clusterApi.error)
        : cluster
          ? part(
                cluster.status?.phase === "Provisioned",
                `${cluster.metadata.name} ${cluster.status?.phase ?? "(no phase yet)"}`,
            )
          : part(false, `no Cluster ${context.clusterName} yet`);
    const tinkerbell =
        context.tinkerbellMode === "external"
            ? probeDetail(snapshot.tinkerbell, () => "external cluster reachable")
            : probeDetail(snapshot.tinkerbellRelease, (release) =>
                  release ? `release ${release.status} (revision ${release.revision})` : "no release yet",
              );
    if (context.tinkerbellMode === "local") {
        const release = valueOf(snapshot.tinkerbellRelease);
        tinkerbell.ok = release?.status === "deployed";
    }
    return {
        management: probeDetail(snapshot.management, (version) => `reachable (${version})`),
        tinkerbell,
        providers: probeDetail(snapshot.providers, (providers) =>
            providers.length === 0
                ? "none installed yet"
                : providers.map((p) => `${p.name}${p.version ? ` ${p.version}` : ""}`).join(", "),
        ),
        cluster: { ...clusterPart, ...(cluster?.status?.phase ? { phase: cluster.status.phase } : {}) },
        controlPlane: replicaCounts(clusterApi?.controlPlanes ?? []),
        workers: replicaCounts(clusterApi?.machineDeployments ?? []),
        workload: probeDetail(snapshot.workload, (w) => `reachable (${w.serverVersion})`),
        cni: cniStatus(context, valueOf(snapshot.workload)),
        tinkerbellUi: context.tinkerbellUi,
    };
}

/** A problem of the lab as a whole, before any machine: nothing can be read without the management cluster. */
function labProblem(snapshot: LabSnapshot, context: StatusContext, sources: Sources): Problem | undefined {
    if (failed(snapshot.management)) {
        // Before `up` wrote KinD's kubeconfig the lab is on its way; a kubeconfig that no longer answers is a failure.
        const notUpYet = /not written yet/.test(snapshot.management.error);
        return {
            step: notUpYet
                ? "the lab is not up yet: no management cluster kubeconfig"
                : "the management cluster does not answer",
            message: snapshot.management.error,
            command: notUpYet
                ? `npm run up -- --stack ${context.stack}`
                : `${kubectlIn(context, "management")} cluster-info`,
            failed: !notUpYet,
        };
    }
    if (failed(snapshot.tinkerbell)) {
        return {
            step: "Tinkerbell's objects cannot be read",
            message: snapshot.tinkerbell.error,
            command: `${kubectlIn(context, sources.tinkerbell)} get hardware.tinkerbell.org -n ${context.namespace}`,
            failed: false,
        };
    }
    return undefined;
}

/** The first problem: a failure (lab-wide first, then machines in plan order), else the longest wait. */
function firstProblem(labWide: Problem | undefined, machines: MachineStatus[]): Problem | undefined {
    if (labWide) return labWide;
    const problems = machines.map((m) => m.problem).filter((p): p is Problem => p !== undefined);
    const failure = problems.find((p) => p.failed);
    if (failure) return failure;
    // An object's own message (a BMC it cannot reach, a node's reason) beats a silent wait.
    const ranked = [...problems].sort(
        (a, b) => Number(!!b.message) - Number(!!a.message) || (b.waitingSeconds ?? -1) - (a.waitingSeconds ?? -1),
    );
    return ranked[0];
}

function verdictOf(labWide: Problem | undefined, machines: MachineStatus[]): Verdict {
    if ((labWide && labWide.failed) || machines.some((m) => m.stage === "failed")) return "failed";
    const desired = machines.filter((m) => m.role !== "spare");
    return !labWide && desired.every((m) => m.stage === "ready") ? "ready" : "in-progress";
}

export function deriveStatus(snapshot: LabSnapshot, context: StatusContext): LabStatus {
    const from: Sources = {
        tinkerbell:
            snapshot.sources?.tinkerbell ?? (context.tinkerbellMode === "external" ? "tinkerbell" : "management"),
        clusterApi: snapshot.sources?.clusterApi ?? "management",
    };
    const machines = context.machines.map((m) => machineStatus(m, snapshot, context, from));
    for (const machine of machines) {
        if (machine.problem?.message) machine.problem.message = plainText(machine.problem.message);
    }
    const labWide = labProblem(snapshot, context, from);
    const problem = firstProblem(labWide, machines);
    return {
        stack: context.stack,
        lab: context.labName,
        namespace: context.namespace,
        observedAt: snapshot.observedAt.toISOString(),
        verdict: verdictOf(labWide, machines),
        header: header(snapshot, context),
        machines,
        ...(problem
            ? { problem: problem.message ? { ...problem, message: plainText(problem.message) } : problem }
            : {}),
    };
}
