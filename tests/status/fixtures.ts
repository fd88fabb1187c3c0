/**
 * The lab's objects at each stage of a machine's way, as the controllers leave them: the product's
 * own Hardware and Rufio Machine (lib/render), then what CAPT (owner label, Workflow), the tink
 * controller and agent (Workflow status), Rufio (power state, Job conditions), Cluster API
 * (Machine, Cluster, KubeadmControlPlane, MachineDeployment status) and kubelet (Node) write.
 * Shared by the unit tests (as a snapshot) and the e2e test (applied to a real API server, status
 * moved with kubectl). Every object with an upstream schema validates against json-strict.
 */
import { LabConfig } from "../../lib/config";
import { LabPlan, PlannedMachine } from "../../lib/plan";
import { bmcMachine } from "../../lib/render/bmc";
import { clusterApiNames, clusterApiObjects } from "../../lib/render/cluster-api";
import { hardware } from "../../lib/render/hardware";
import { KubeObject } from "../../lib/render/kube-object";
import { workflowActions } from "../../lib/render/workflow";
import { HARDWARE_OWNER_LABEL } from "../../lib/status/derive";
import { LabSnapshot } from "../../lib/status/objects";

export const NOW = new Date("2026-03-01T12:00:00Z");

/** `minutes` before `now`, as the API server writes times (RFC 3339, seconds). */
export function ago(minutes: number, now = NOW): string {
    return new Date(now.getTime() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const FIXTURE_STAGES = [
    "free",
    "allocated",
    "powered-off",
    "pxe",
    "action-2-of-4",
    "workflow-failed",
    "bmc-job-failed",
    "provisioned",
    "node-not-ready",
    "ready",
] as const;
export type FixtureStage = (typeof FIXTURE_STAGES)[number];

const ORDER: readonly FixtureStage[] = FIXTURE_STAGES;
const atLeast = (stage: FixtureStage, than: FixtureStage) => ORDER.indexOf(stage) >= ORDER.indexOf(than);

export const STREAM_IMAGE_ERROR = "oci2disk: pulling http://10.71.0.4:7173/ubuntu-2404.raw.gz: 404 Not Found";
export const BMC_JOB_ERROR = "failed to set power state: ipmitool: Unable to establish IPMI v2 / RMCP+ session";

/** The TinkerbellMachine (and Cluster API Machine: v1beta2 names both alike) that claims a machine. */
export function claimName(plan: LabPlan, machine: PlannedMachine): string {
    const names = clusterApiNames(plan);
    const pool = machine.role === "control-plane" ? names.controlPlane : names.workerPool;
    return `${pool}-q${machine.index}x7k`;
}

export interface MachineFixture {
    tinkerbell: KubeObject[];
    clusterApi: KubeObject[];
    workload: KubeObject[];
}

type Stage = FixtureStage;

function workflowStatus(config: LabConfig, plan: LabPlan, machine: PlannedMachine, stage: Stage) {
    const names = workflowActions(config, plan, "netboot").map((a) => a.name);
    const started = ago(12);
    const actions = names.map((name, i) => {
        const id = `${machine.mac}-${i}`;
        // action-2-of-4: two actions done, the third running; workflow-failed: the first one failed.
        const done = atLeast(stage, "provisioned") || (stage === "action-2-of-4" && i < 2);
        const running = stage === "action-2-of-4" && i === 2;
        const failedHere = stage === "workflow-failed" && i === 0;
        const base = { id, name, image: "quay.io/tinkerbell/actions/oci2disk:latest", timeout: 600 };
        if (done) {
            return {
                ...base,
                state: "SUCCESS",
                executionStart: ago(10 - i * 2),
                executionStop: ago(9 - i * 2),
                executionDuration: "1m0s",
            };
        }
        if (running) return { ...base, state: "RUNNING", executionStart: ago(3) };
        if (failedHere) {
            return {
                ...base,
                state: "FAILED",
                executionStart: ago(6),
                executionStop: ago(5),
                executionDuration: "1m0s",
                message: STREAM_IMAGE_ERROR,
            };
        }
        return { ...base, state: "PENDING" };
    });
    const state =
        stage === "workflow-failed"
            ? "FAILED"
            : atLeast(stage, "provisioned")
              ? "SUCCESS"
              : stage === "action-2-of-4"
                ? "RUNNING"
                : "PENDING";
    const current = actions.find((a) => a.state === "RUNNING" || a.state === "FAILED");
    return {
        state,
        ...(current
            ? {
                  agentID: machine.mac,
                  currentState: {
                      agentID: machine.mac,
                      actionName: current.name,
                      state: current.state,
                      taskName: "capt-playground",
                  },
              }
            : {}),
        templateRendering: "successful",
        globalTimeout: 6000,
        bootOptions: {
            allowNetboot: { toggledTrue: true },
            jobs: { netboot: { uid: `uid-${machine.index}`, complete: atLeast(stage, "pxe") } },
        },
        tasks: [{ id: `task-${machine.index}`, name: "capt-playground", agentID: machine.mac, actions }],
        conditions: [
            { type: "BootJobSetupComplete", status: "True", reason: "Created", message: "job created", time: started },
            ...(atLeast(stage, "pxe")
                ? [
                      {
                          type: "BootJobComplete",
                          status: "True",
                          reason: "Complete",
                          message: "job completed",
                          time: ago(11),
                      },
                  ]
                : []),
        ],
    };
}

/** The objects of one machine at `stage`, as they are found in the three clusters. */
export function machineObjects(
    config: LabConfig,
    plan: LabPlan,
    machine: PlannedMachine,
    stage: Stage,
    options: { kubeletVersion?: string } = {},
): MachineFixture {
    const ns = config.namespace;
    const claim = claimName(plan, machine);
    const claimed = machine.role !== "spare" && atLeast(stage, "allocated");
    const hw = hardware(config, plan, machine);
    if (claimed) {
        hw.metadata.labels = {
            ...hw.metadata.labels,
            [HARDWARE_OWNER_LABEL]: claim,
            "v1alpha1.tinkerbell.org/ownerNamespace": ns,
        };
    }
    const powerOn = atLeast(stage, "pxe") && stage !== "bmc-job-failed";
    const bmc = {
        ...bmcMachine(config, plan, machine),
        status: {
            powerState: powerOn ? "on" : "off",
            conditions: [{ type: "Contactable", status: "True", lastUpdateTime: ago(14) }],
        },
    };
    const tinkerbell: KubeObject[] = [hw, bmc];
    const clusterApi: KubeObject[] = [];
    const workload: KubeObject[] = [];
    if (!claimed) return { tinkerbell, clusterApi, workload };

    const names = clusterApiNames(plan);
    const controlPlane = machine.role === "control-plane";
    clusterApi.push({
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Machine",
        metadata: {
            name: claim,
            namespace: ns,
            creationTimestamp: ago(13),
            labels: { "cluster.x-k8s.io/cluster-name": names.cluster },
        } as KubeObject["metadata"],
        spec: {
            clusterName: names.cluster,
            version: config.kubernetesVersion,
            bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfig", name: claim } },
            infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "TinkerbellMachine", name: claim },
        },
        status: {
            phase: atLeast(stage, "node-not-ready")
                ? "Running"
                : atLeast(stage, "provisioned")
                  ? "Provisioned"
                  : "Provisioning",
            ...(atLeast(stage, "node-not-ready")
                ? {
                      nodeRef: { name: machine.name },
                      nodeInfo: { kubeletVersion: options.kubeletVersion ?? config.kubernetesVersion },
                  }
                : {}),
        },
    });
    if (!atLeast(stage, "powered-off")) return { tinkerbell, clusterApi, workload };

    const jobFailed = stage === "bmc-job-failed";
    tinkerbell.push(
        {
            apiVersion: "bmc.tinkerbell.org/v1alpha1",
            kind: "Job",
            metadata: { name: `${claim}-netboot`, namespace: ns, labels: { "tink-controller-auto-created": "true" } },
            spec: {
                machineRef: { name: machine.name, namespace: ns },
                tasks: [
                    { powerAction: "off" },
                    { oneTimeBootDeviceAction: { device: ["pxe"], efiBoot: true } },
                    { powerAction: "on" },
                ],
            },
            status: {
                startTime: ago(12),
                ...(atLeast(stage, "pxe") && !jobFailed ? { completionTime: ago(11) } : {}),
                conditions: jobFailed
                    ? [{ type: "Failed", status: "True", message: BMC_JOB_ERROR }]
                    : atLeast(stage, "pxe")
                      ? [{ type: "Completed", status: "True" }]
                      : [{ type: "Running", status: "True" }],
            },
        },
        {
            apiVersion: "tinkerbell.org/v1alpha1",
            kind: "Workflow",
            metadata: { name: claim, namespace: ns },
            spec: {
                templateRef: claim,
                hardwareRef: machine.name,
                hardwareMap: { device_1: machine.mac },
                bootOptions: { toggleAllowNetboot: true, bootMode: "netboot" },
            },
            status: workflowStatus(config, plan, machine, jobFailed ? "powered-off" : stage),
        },
    );
    if (atLeast(stage, "node-not-ready") && stage !== "bmc-job-failed") {
        const ready = stage === "ready";
        workload.push({
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name: machine.name,
                labels: controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {},
            },
            spec: { providerID: `tinkerbell://${ns}/${machine.name}` },
            status: {
                conditions: [
                    {
                        type: "Ready",
                        status: ready ? "True" : "False",
                        reason: ready ? "KubeletReady" : "KubeletNotReady",
                        message: ready
                            ? "kubelet is posting ready status"
                            : "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                        lastHeartbeatTime: ago(0),
                        lastTransitionTime: ago(ready ? 1 : 4),
                    },
                ],
                // Every field kubelet reports (the API requires them all).
                nodeInfo: {
                    machineID: `machine-${machine.index}`,
                    systemUUID: `uuid-${machine.index}`,
                    bootID: `boot-${machine.index}`,
                    kernelVersion: "6.8.0-60-generic",
                    osImage: "Ubuntu 24.04.2 LTS",
                    containerRuntimeVersion: "containerd://2.2.2",
                    kubeletVersion: options.kubeletVersion ?? config.kubernetesVersion,
                    kubeProxyVersion: "",
                    operatingSystem: "linux",
                    architecture: "amd64",
                },
            },
        });
    }
    return { tinkerbell, clusterApi, workload };
}

function condition(type: string, status: string, reason: string, message = "") {
    return { type, status, reason, message, lastTransitionTime: ago(5) };
}

/** The Cluster, KubeadmControlPlane and MachineDeployment as rendered, with the status their controllers write. */
export function clusterObjects(config: LabConfig, plan: LabPlan, stages: Record<string, Stage>): KubeObject[] {
    const machines = plan.machines.filter((m) => m.role !== "spare");
    const ready = (role: string) => machines.filter((m) => m.role === role && stages[m.name] === "ready").length;
    const rendered = clusterApiObjects(config, plan, "ssh-ed25519 AAAA");
    const allReady = machines.every((m) => stages[m.name] === "ready");
    return rendered
        .filter((o) => ["Cluster", "KubeadmControlPlane", "MachineDeployment"].includes(o.kind))
        .map((o) => {
            if (o.kind === "Cluster") {
                return {
                    ...o,
                    status: {
                        phase: allReady ? "Provisioned" : "Provisioning",
                        initialization: { infrastructureProvisioned: true },
                        controlPlane: { desiredReplicas: config.controlPlanes, readyReplicas: ready("control-plane") },
                        workers: { desiredReplicas: config.workers, readyReplicas: ready("worker") },
                        conditions: [
                            condition(
                                "Available",
                                allReady ? "True" : "False",
                                allReady ? "Available" : "NotAvailable",
                            ),
                        ],
                    },
                };
            }
            const role = o.kind === "KubeadmControlPlane" ? "control-plane" : "worker";
            const desired = role === "control-plane" ? config.controlPlanes : config.workers;
            return { ...o, status: { replicas: desired, readyReplicas: ready(role) } };
        });
}

export interface LabFixture {
    tinkerbell: KubeObject[];
    clusterApi: KubeObject[];
    workload: KubeObject[];
}

/** Every object of the lab with each machine at its stage (spares keep their free Hardware). */
export function labObjects(config: LabConfig, plan: LabPlan, stages: Record<string, Stage>): LabFixture {
    const parts = plan.machines.map((m) => machineObjects(config, plan, m, stages[m.name] ?? "free"));
    return {
        tinkerbell: parts.flatMap((p) => p.tinkerbell),
        clusterApi: [...clusterObjects(config, plan, stages), ...parts.flatMap((p) => p.clusterApi)],
        workload: parts.flatMap((p) => p.workload),
    };
}

const byKind = <T>(objects: KubeObject[], apiVersion: string, kind: string) =>
    objects.filter((o) => o.apiVersion === apiVersion && o.kind === kind) as unknown as T[];

/** The snapshot `npm run status` would take of these objects, with everything reachable. */
export function snapshotOf(fixture: LabFixture, overrides: Partial<LabSnapshot> = {}, now = NOW): LabSnapshot {
    const daemonSets = fixture.workload.some((o) => o.kind === "Node")
        ? [
              {
                  metadata: { name: "cilium", namespace: "kube-system" },
                  status: { desiredNumberScheduled: 2, numberReady: 2 },
              },
          ]
        : [];
    return {
        observedAt: now,
        management: { value: "v1.35.0" },
        tinkerbellRelease: { value: { status: "deployed", revision: 1 } },
        providers: {
            value: [
                { name: "cluster-api", type: "CoreProvider", version: "v1.12.5" },
                { name: "kubeadm", type: "BootstrapProvider", version: "v1.12.5" },
                { name: "kubeadm", type: "ControlPlaneProvider", version: "v1.12.5" },
                { name: "tinkerbell", type: "InfrastructureProvider", version: "v0.7.0" },
            ],
        },
        tinkerbell: {
            value: {
                hardware: byKind(fixture.tinkerbell, "tinkerbell.org/v1alpha1", "Hardware"),
                workflows: byKind(fixture.tinkerbell, "tinkerbell.org/v1alpha1", "Workflow"),
                bmcMachines: byKind(fixture.tinkerbell, "bmc.tinkerbell.org/v1alpha1", "Machine"),
                bmcJobs: byKind(fixture.tinkerbell, "bmc.tinkerbell.org/v1alpha1", "Job"),
            },
        },
        clusterApi: {
            value: {
                clusters: byKind(fixture.clusterApi, "cluster.x-k8s.io/v1beta2", "Cluster"),
                machines: byKind(fixture.clusterApi, "cluster.x-k8s.io/v1beta2", "Machine"),
                controlPlanes: byKind(
                    fixture.clusterApi,
                    "controlplane.cluster.x-k8s.io/v1beta2",
                    "KubeadmControlPlane",
                ),
                machineDeployments: byKind(fixture.clusterApi, "cluster.x-k8s.io/v1beta2", "MachineDeployment"),
            },
        },
        workload: fixture.workload.some((o) => o.kind === "Node")
            ? { value: { serverVersion: "v1.35.0", nodes: byKind(fixture.workload, "v1", "Node"), daemonSets } }
            : { error: "the workload cluster's kubeconfig is not written yet" },
        domains: { value: {} },
        ...overrides,
    };
}
