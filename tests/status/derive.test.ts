/**
 * Each machine's stage derived from the objects the controllers leave at every step of its way
 * (tests/status/fixtures.ts), the lab header, the first problem and the verdict.
 */
import { labPlan } from "../fixtures";
import { describeWithSchemas, schemaErrors } from "../render/support";
import { statusContext } from "../../lib/status/context";
import { EXIT_CODES, LabStatus, MachineStatus, deriveStatus } from "../../lib/status/derive";
import { LabSnapshot } from "../../lib/status/objects";
import {
    BMC_JOB_ERROR,
    FIXTURE_STAGES,
    FixtureStage,
    NOW,
    STREAM_IMAGE_ERROR,
    claimName,
    labObjects,
    machineObjects,
    snapshotOf,
} from "./fixtures";

const { config, plan } = labPlan({}, "dev");
const context = statusContext(config, plan);
const [cp, worker, spare] = plan.machines;
const KIND_KUBECONFIG = `${plan.outputDir}/kind.kubeconfig`;

function statusAt(stages: Record<string, FixtureStage>, overrides: Partial<LabSnapshot> = {}): LabStatus {
    return deriveStatus(snapshotOf(labObjects(config, plan, stages), overrides), context);
}

/** The control plane at `stage`, the worker still free. */
function controlPlaneAt(stage: FixtureStage): { status: LabStatus; machine: MachineStatus } {
    const status = statusAt({ [cp.name]: stage, [worker.name]: "free" });
    return { status, machine: status.machines[0] };
}

describeWithSchemas("status fixtures against the upstream schemas", () => {
    test.each(FIXTURE_STAGES)("every object at stage %s conforms (strict)", (stage) => {
        const fixture = machineObjects(config, plan, cp, stage);
        const checked = [...fixture.tinkerbell, ...fixture.clusterApi].filter(
            // Cluster API's Machine has no schema in the collection; the core v1 Node neither.
            (o) => !(o.apiVersion === "cluster.x-k8s.io/v1beta2" && o.kind === "Machine"),
        );
        expect(checked.length).toBeGreaterThan(0);
        expect(checked.flatMap((o) => schemaErrors(o).map((e) => `${o.kind} ${o.metadata.name}: ${e}`))).toEqual([]);
    });

    test("the Cluster, control plane and MachineDeployment with status conform", () => {
        const objects = labObjects(config, plan, { [cp.name]: "ready", [worker.name]: "ready" }).clusterApi.filter(
            (o) => o.kind !== "Machine",
        );
        expect(objects.map((o) => o.kind).sort()).toEqual(["Cluster", "KubeadmControlPlane", "MachineDeployment"]);
        expect(objects.flatMap((o) => schemaErrors(o))).toEqual([]);
    });

    test("the check can fail: a status field the schema does not know is reported", () => {
        const workflow = machineObjects(config, plan, cp, "action-2-of-4").tinkerbell.find(
            (o) => o.kind === "Workflow",
        )!;
        const status = workflow.status as Record<string, unknown>;
        expect(schemaErrors({ ...workflow, status: { ...status, progress: "2/4" } })).not.toEqual([]);
    });
});

describe("a machine's stage, step by step", () => {
    test("free Hardware, nothing claimed it yet: unallocated, waiting for Cluster API", () => {
        const { machine } = controlPlaneAt("free");
        expect(machine).toMatchObject({ stage: "unallocated", hardware: { state: "free" }, bmc: { power: "off" } });
        expect(machine.workflow).toBeUndefined();
        expect(machine.problem?.step).toBe("waiting for Cluster API to claim its Hardware");
    });

    test("claimed, no workflow yet: allocated, to the TinkerbellMachine", () => {
        const { machine } = controlPlaneAt("allocated");
        expect(machine).toMatchObject({
            stage: "allocated",
            hardware: { state: "allocated", owner: claimName(plan, cp) },
            machine: { name: claimName(plan, cp), phase: "Provisioning" },
        });
    });

    test("powered off: the workflow waits while Rufio's job runs, the command shows the job", () => {
        const { machine } = controlPlaneAt("powered-off");
        expect(machine).toMatchObject({
            stage: "powered-off",
            bmc: { power: "off", contactable: true, job: { name: `${claimName(plan, cp)}-netboot`, state: "running" } },
            workflow: { state: "PENDING", actionsDone: 0, actionsTotal: 4 },
            waitingSeconds: 12 * 60,
        });
        expect(machine.problem).toMatchObject({
            step: "waiting for the BMC to power it on",
            failed: false,
            command: `KUBECONFIG=${KIND_KUBECONFIG} kubectl describe jobs.bmc.tinkerbell.org ${claimName(plan, cp)}-netboot -n tinkerbell`,
        });
    });

    test("PXE: powered on, the job complete, no action started; the console log shows more", () => {
        const { machine } = controlPlaneAt("pxe");
        expect(machine).toMatchObject({
            stage: "pxe",
            vm: "missing",
            bmc: { power: "on", job: { state: "complete" } },
            workflow: { state: "PENDING", actionsDone: 0, actionsTotal: 4 },
            waitingSeconds: 11 * 60,
        });
        // The firmware's and iPXE's port, and the OSIE's (Smee's console=ttyS1).
        expect(machine.problem?.command).toBe(
            `tail -f ${plan.libvirt.storageDir}/${cp.name}.console.log ${plan.libvirt.storageDir}/${cp.name}.osie.log`,
        );
    });

    test("workflow action 2/4: two actions done, the third running, with how long the workflow has run", () => {
        const { machine, status } = controlPlaneAt("action-2-of-4");
        expect(machine).toMatchObject({
            stage: "workflow",
            workflow: {
                name: claimName(plan, cp),
                state: "RUNNING",
                action: "add tink cloud-init ds-config",
                actionsDone: 2,
                actionsTotal: 4,
                runningSeconds: 10 * 60,
            },
            waitingSeconds: 3 * 60,
            elapsedSeconds: 13 * 60,
        });
        expect(machine.problem?.step).toBe("workflow action add tink cloud-init ds-config running, 2/4 actions done");
        expect(status.verdict).toBe("in-progress");
    });

    test("workflow failed: the failed action and its own message, the lab failed (exit 1)", () => {
        const { machine, status } = controlPlaneAt("workflow-failed");
        expect(machine.stage).toBe("failed");
        expect(machine.workflow).toMatchObject({ state: "FAILED", action: "stream image", actionsDone: 0 });
        expect(status.problem).toEqual({
            machine: cp.name,
            step: "workflow action stream image failed",
            message: STREAM_IMAGE_ERROR,
            command: `KUBECONFIG=${KIND_KUBECONFIG} kubectl get workflows.tinkerbell.org ${claimName(plan, cp)} -n tinkerbell -o yaml`,
            failed: true,
        });
        expect(status.verdict).toBe("failed");
        expect(EXIT_CODES[status.verdict]).toBe(1);
    });

    test("PXE while Rufio's Machine still says off: the completed power-on Job (or a running VM) says on", () => {
        const objects = labObjects(config, plan, { [cp.name]: "pxe", [worker.name]: "free" });
        const bmc = objects.tinkerbell.find((o) => o.kind === "Machine" && o.metadata.name === cp.name);
        Object.assign(bmc!.status as object, { powerState: "off" });
        expect(deriveStatus(snapshotOf(objects, {}), context).machines[0].stage).toBe("pxe");
        // Without a completed Job nor a running VM, off is off.
        const job = objects.tinkerbell.find((o) => o.kind === "Job");
        Object.assign(job!, { status: {} });
        expect(deriveStatus(snapshotOf(objects, {}), context).machines[0].stage).toBe("powered-off");
    });

    test("Tinkerbell's boot-job race is named, with the two deletes that let CAPT make a new Workflow", () => {
        const objects = labObjects(config, plan, { [cp.name]: "powered-off", [worker.name]: "free" });
        const workflow = objects.tinkerbell.find((o) => o.kind === "Workflow");
        const job = `netboot-${claimName(plan, cp)}`;
        const message = `jobs.bmc.tinkerbell.org "${job}" already exists`;
        Object.assign(workflow!.status as object, {
            state: "FAILED",
            bootOptions: { jobs: { [job]: {} } },
            conditions: [
                { type: "BootJobSetupFailed", status: "True", reason: "Error", message, time: "2026-12-07T22:00:00Z" },
            ],
        });
        const status = deriveStatus(snapshotOf(objects, {}), context);
        const tink = `KUBECONFIG=${KIND_KUBECONFIG} kubectl`;
        expect(status.problem).toEqual({
            machine: cp.name,
            step: expect.stringMatching(/^workflow boot job failed: Tinkerbell's known race .*CAPT makes a new one$/),
            message,
            command: `${tink} delete jobs.bmc.tinkerbell.org ${job} -n tinkerbell; ${tink} delete workflows.tinkerbell.org ${claimName(plan, cp)} -n tinkerbell`,
            failed: true,
        });
        // Any other boot-job failure is not called a race.
        Object.assign(workflow!.status as object, {
            conditions: [
                {
                    type: "BootJobSetupFailed",
                    status: "True",
                    reason: "Error",
                    message: "forbidden",
                    time: "2026-12-07T22:00:00Z",
                },
            ],
        });
        expect(deriveStatus(snapshotOf(objects, {}), context).problem?.step).toBe("workflow boot job failed");
    });

    test("a Rufio job that failed: its Failed condition's message", () => {
        const { machine, status } = controlPlaneAt("bmc-job-failed");
        expect(machine).toMatchObject({ stage: "failed", bmc: { power: "off", job: { state: "failed" } } });
        expect(status.problem).toMatchObject({ step: "BMC job failed (Rufio)", message: BMC_JOB_ERROR, failed: true });
    });

    test("provisioned: the workflow succeeded, the Machine is Provisioned, no node yet", () => {
        const { machine } = controlPlaneAt("provisioned");
        expect(machine).toMatchObject({
            stage: "provisioned",
            workflow: { state: "SUCCESS", actionsDone: 4, actionsTotal: 4 },
            machine: { phase: "Provisioned" },
        });
        expect(machine.workflow?.action).toBeUndefined();
        expect(machine.node).toBeUndefined();
        expect(machine.problem?.step).toBe("provisioned; waiting for its node to join");
    });

    test("node NotReady: the node's own reason, the command describes the node in the workload cluster", () => {
        const { machine, status } = controlPlaneAt("node-not-ready");
        expect(machine).toMatchObject({
            stage: "node-not-ready",
            machine: { phase: "Running" },
            node: { name: cp.name, ready: "False", kubeletVersion: config.kubernetesVersion },
        });
        expect(status.problem).toMatchObject({
            machine: cp.name,
            step: `node ${cp.name} is not Ready`,
            command: `KUBECONFIG=${plan.outputDir}/${plan.labName}.kubeconfig kubectl describe node ${cp.name}`,
        });
        expect(status.problem?.message).toMatch(/cni plugin not initialized/);
    });

    test("Ready: every desired machine a ready node is a ready lab (exit 0); the spare stays spare", () => {
        const status = statusAt({ [cp.name]: "ready", [worker.name]: "ready" });
        expect(status.machines.map((m) => [m.name, m.stage])).toEqual([
            [cp.name, "ready"],
            [worker.name, "ready"],
            [spare.name, "spare"],
        ]);
        expect(status.machines[0]).toMatchObject({
            node: { ready: "True", kubeletVersion: config.kubernetesVersion },
            // From the Machine's creation (13 min ago) to the node turning Ready (1 min ago).
            elapsedSeconds: 12 * 60,
        });
        expect(status.machines[2].hardware).toEqual({ state: "free" });
        expect(status.problem).toBeUndefined();
        expect(status.verdict).toBe("ready");
        expect(status.header).toMatchObject({
            cluster: { ok: true, phase: "Provisioned" },
            controlPlane: { ready: 1, desired: 1 },
            workers: { ready: 1, desired: 1 },
            cni: { ok: true, detail: "cilium 2/2 agents ready" },
        });
    });

    test("one machine ready and one still working is in progress (exit 2)", () => {
        const status = statusAt({ [cp.name]: "ready", [worker.name]: "pxe" });
        expect(status.verdict).toBe("in-progress");
        expect(EXIT_CODES[status.verdict]).toBe(2);
        expect(status.problem?.machine).toBe(worker.name);
    });
});

describe("the first problem", () => {
    test("a failure comes before any wait, whatever its position", () => {
        const status = statusAt({ [cp.name]: "powered-off", [worker.name]: "workflow-failed" });
        expect(status.problem).toMatchObject({ machine: worker.name, failed: true });
    });

    test("without a failure: the step that has waited longest", () => {
        // powered-off since 12 min (the job's start), the worker's third action since 3 min.
        const status = statusAt({ [cp.name]: "action-2-of-4", [worker.name]: "powered-off" });
        expect(status.problem).toMatchObject({ machine: worker.name, waitingSeconds: 12 * 60, failed: false });
    });

    test("a BMC Rufio cannot reach is said with Rufio's message", () => {
        const fixture = labObjects(config, plan, { [cp.name]: "action-2-of-4", [worker.name]: "powered-off" });
        const bmc = fixture.tinkerbell.find((o) => o.kind === "Machine" && o.metadata.name === worker.name)!;
        bmc.status = {
            powerState: "unknown",
            conditions: [
                { type: "Contactable", status: "False", message: "dial tcp 10.71.0.3:6232: connect: no route to host" },
            ],
        };
        const status = deriveStatus(snapshotOf(fixture), context);
        expect(status.machines[1].bmc).toMatchObject({ power: "unknown", contactable: false });
        expect(status.problem).toMatchObject({
            machine: worker.name,
            step: "waiting for the BMC to power it on",
            message: "dial tcp 10.71.0.3:6232: connect: no route to host",
        });
    });

    test("an object's message reaches the terminal as one printable line", () => {
        const fixture = labObjects(config, plan, { [cp.name]: "workflow-failed" });
        const workflow = fixture.tinkerbell.find((o) => o.kind === "Workflow")!;
        const status = workflow.status as { tasks: { actions: { message?: string }[] }[] };
        status.tasks[0].actions[0].message = "disk full\n\u001b[2J\u001b]0;owned\u0007 retry";
        const problem = deriveStatus(snapshotOf(fixture), context).problem!;
        expect(problem.message).toBe("disk full [2J ]0;owned retry");
        // eslint-disable-next-line no-control-regex
        expect(problem.message).not.toMatch(/[\u0000-\u001f]/);
    });
});

describe("missing pieces are said, not fatal", () => {
    test("KinD gone: every machine unknown, the lab problem names the management cluster (exit 1)", () => {
        const down = { error: "dial tcp 127.0.0.1:40123: connect: connection refused" };
        const status = statusAt(
            { [cp.name]: "ready", [worker.name]: "ready" },
            { management: down, tinkerbell: down, clusterApi: down, workload: down, tinkerbellRelease: down },
        );
        expect(status.machines.map((m) => m.stage)).toEqual(["unknown", "unknown", "spare"]);
        expect(status.problem).toMatchObject({
            step: "the management cluster does not answer",
            message: down.error,
            command: `KUBECONFIG=${KIND_KUBECONFIG} kubectl cluster-info`,
            failed: true,
        });
        expect(status.verdict).toBe("failed");
        expect(status.header.management).toEqual({ ok: false, detail: down.error });
    });

    test("before `up` wrote the kubeconfig: in progress, not failed", () => {
        const missing = { error: `the kubeconfig ${KIND_KUBECONFIG} is not written yet` };
        const status = statusAt(
            {},
            { management: missing, tinkerbell: missing, clusterApi: missing, workload: missing },
        );
        expect(status.verdict).toBe("in-progress");
        expect(status.problem?.failed).toBe(false);
    });

    test("the workload API not up yet: the header says so, machines still move on their management objects", () => {
        const status = statusAt({ [cp.name]: "provisioned", [worker.name]: "action-2-of-4" });
        expect(status.header.workload).toEqual({
            ok: false,
            detail: "the workload cluster's kubeconfig is not written yet",
        });
        expect(status.header.cni).toEqual({ ok: false, detail: "cilium: the workload API is not reachable yet" });
        expect(status.machines.map((m) => m.stage)).toEqual(["provisioned", "workflow", "spare"]);
    });

    test("Cluster API objects unreadable (CRDs not installed yet): the Hardware side still shows", () => {
        const status = statusAt(
            { [cp.name]: "pxe" },
            { clusterApi: { error: 'the server doesn\'t have a resource type "clusters"' } },
        );
        expect(status.machines[0]).toMatchObject({ stage: "pxe", bmc: { power: "on" } });
        expect(status.machines[0].machine).toBeUndefined();
        expect(status.header.cluster.ok).toBe(false);
    });

    test("observedAt and every duration come from the snapshot's time", () => {
        const status = statusAt({ [cp.name]: "action-2-of-4" });
        expect(status.observedAt).toBe(NOW.toISOString());
    });
});
