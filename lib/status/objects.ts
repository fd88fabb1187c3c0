/**
 * The parts of the lab's Kubernetes objects that `npm run status` reads, as their controllers write
 * them: Tinkerbell v1alpha1 Hardware and Workflow (tink controller and agent), Rufio's
 * bmc.tinkerbell.org v1alpha1 Machine and Job, Cluster API v1beta2 Cluster, Machine,
 * KubeadmControlPlane and MachineDeployment, and core v1 Node and DaemonSet. Every field is optional:
 * a controller that has not run yet has written nothing.
 */
import { Probe } from "../preflight";
import { Source } from "./context";

export type { Probe } from "../preflight";

export interface ObjectMeta {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
}

export interface Hardware {
    metadata: ObjectMeta;
    spec?: { bmcRef?: { name?: string } };
}

/** Workflow and action states as the tink controller and agent write them. */
export type WorkflowState = "PREPARING" | "PENDING" | "RUNNING" | "POST" | "SUCCESS" | "FAILED" | "TIMEOUT";

export interface WorkflowAction {
    id?: string;
    name?: string;
    state?: string;
    executionStart?: string;
    executionStop?: string;
    executionDuration?: string;
    message?: string;
}

export interface WorkflowCondition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    time?: string;
}

export interface Workflow {
    metadata: ObjectMeta;
    spec?: { hardwareRef?: string };
    status?: {
        state?: string;
        currentState?: { actionName?: string; state?: string; taskName?: string };
        tasks?: { name?: string; actions?: WorkflowAction[] }[];
        conditions?: WorkflowCondition[];
        templateRendering?: string;
        /** The Rufio Jobs the workflow controller made for the boot, by name. */
        bootOptions?: { jobs?: Record<string, unknown> };
    };
}

export interface BmcMachine {
    metadata: ObjectMeta;
    status?: {
        powerState?: string;
        conditions?: { type: string; status: string; message?: string; lastUpdateTime?: string }[];
    };
}

export interface BmcJob {
    metadata: ObjectMeta;
    spec?: { machineRef?: { name?: string; namespace?: string } };
    status?: {
        startTime?: string;
        completionTime?: string;
        conditions?: { type: string; status: string; message?: string }[];
    };
}

/** metav1.Condition, as Cluster API v1beta2 and core v1 (NodeCondition) write them. */
export interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
}

export interface CapiMachine {
    metadata: ObjectMeta;
    spec?: { clusterName?: string; infrastructureRef?: { name?: string } };
    status?: {
        phase?: string;
        nodeRef?: { name?: string };
        nodeInfo?: { kubeletVersion?: string };
        conditions?: Condition[];
        deprecated?: { v1beta1?: { failureReason?: string; failureMessage?: string } };
    };
}

export interface ReplicaCounts {
    desiredReplicas?: number;
    readyReplicas?: number;
}

export interface CapiCluster {
    metadata: ObjectMeta;
    status?: {
        phase?: string;
        controlPlane?: ReplicaCounts;
        workers?: ReplicaCounts;
        conditions?: Condition[];
    };
}

/** KubeadmControlPlane and MachineDeployment: what they want and what is ready. */
export interface ScalableObject {
    metadata: ObjectMeta;
    spec?: { replicas?: number };
    status?: { replicas?: number; readyReplicas?: number };
}

export interface Node {
    metadata: ObjectMeta;
    status?: { conditions?: Condition[]; nodeInfo?: { kubeletVersion?: string } };
}

export interface DaemonSet {
    metadata: ObjectMeta;
    status?: { desiredNumberScheduled?: number; numberReady?: number };
}

/** A provider as clusterctl's inventory (Provider) or the operator (…Provider status) records it. */
export interface InstalledProvider {
    /** clusterctl's name, e.g. "cluster-api", "kubeadm" (bootstrap, control-plane), "tinkerbell". */
    name: string;
    /** CoreProvider, BootstrapProvider, ControlPlaneProvider, InfrastructureProvider. */
    type: string;
    version?: string;
}

export interface TinkerbellObjects {
    hardware: Hardware[];
    workflows: Workflow[];
    bmcMachines: BmcMachine[];
    bmcJobs: BmcJob[];
}

export interface ClusterApiObjects {
    clusters: CapiCluster[];
    machines: CapiMachine[];
    controlPlanes: ScalableObject[];
    machineDeployments: ScalableObject[];
}

export interface WorkloadObjects {
    serverVersion: string;
    nodes: Node[];
    /** kube-system DaemonSets: the CNI's agent is one of them. */
    daemonSets: DaemonSet[];
}

/** Helm's record of the Tinkerbell release (its storage Secret's labels). */
export interface HelmRelease {
    status: string;
    revision: number;
}

/** Everything one look at the lab found; each part read on its own, so one missing part spoils none of the others. */
export interface LabSnapshot {
    /** When the look was taken; every duration counts to here. */
    observedAt: Date;
    /** The management cluster's API server version. */
    management: Probe<string>;
    /** Only with the chart in the management cluster (modes.tinkerbell "local"). */
    tinkerbellRelease?: Probe<HelmRelease | undefined>;
    providers: Probe<InstalledProvider[]>;
    tinkerbell: Probe<TinkerbellObjects>;
    clusterApi: Probe<ClusterApiObjects>;
    workload: Probe<WorkloadObjects>;
    /** libvirt domain states by name (VMs only). */
    domains?: Probe<Record<string, string>>;
    /** Which cluster the Tinkerbell and Cluster API objects came from, when not the usual one (after a pivot). */
    sources?: Partial<Sources>;
}

export interface Sources {
    tinkerbell: Source;
    clusterApi: Source;
}

export function failed<T>(probe: Probe<T> | undefined): probe is { error: string } {
    return probe !== undefined && "error" in probe;
}

export function valueOf<T>(probe: Probe<T> | undefined): T | undefined {
    return probe !== undefined && "value" in probe ? probe.value : undefined;
}
