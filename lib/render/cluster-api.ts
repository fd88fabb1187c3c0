/**
 * The workload cluster as Cluster API objects: Cluster, TinkerbellCluster, KubeadmControlPlane,
 * and (with workers) a MachineDeployment with its KubeadmConfigTemplate, plus one
 * TinkerbellMachineTemplate per role that selects Hardware by the role label.
 *
 * Every reference is built from the referenced object itself, so a reference cannot point at a
 * name that is not rendered. The SSH key is a parameter like the BMC password: at `pulumi up` it
 * may be a key generated for the stack (an Output).
 */
import { LabConfig } from "../config";
import { LabPlan, MachineRole } from "../plan";
import { roleSelector } from "./hardware";
import { KubeObject, refTo } from "./kube-object";
import { CONTAINERD_HOSTS_DIR, machineHostsFiles } from "./registry-mirror";
import { TINKERBELL_HTTP_PORT } from "./tinkerbell-values";
import { provisioningWorkflowYaml } from "./workflow";

export const API_SERVER_PORT = 6443;
export const WORKER_POOL = "worker-a";
const CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";

/** Shown instead of the SSH public key when render runs without sshPublicKey set. */
export const GENERATED_SSH_KEY_PLACEHOLDER = "<ssh public key generated for the stack by pulumi up>";

/** kubelet learns its provider ID from this placeholder; CAPT replaces it in the Hardware's user data. */
function providerIdArg() {
    return { name: "provider-id", value: "PROVIDER_ID" };
}

export type ClusterApiNames = {
    cluster: string;
    controlPlane: string;
    workerPool: string;
    controlPlaneTemplate: string;
    workerTemplate: string;
};

/** `v1.35.2` -> `v1-35-2`, for object names. */
export function dashedVersion(kubernetesVersion: string): string {
    return kubernetesVersion.replace(/\./g, "-");
}

/**
 * Machine template names carry the Kubernetes version: CAPT rejects any change to a template's
 * spec, so a version upgrade needs new templates, and KCP/MD roll over to them.
 */
export function clusterApiNames(plan: LabPlan): ClusterApiNames {
    const cluster = plan.labName;
    const version = dashedVersion(plan.kubernetesVersion);
    return {
        cluster,
        controlPlane: `${cluster}-control-plane`,
        workerPool: `${cluster}-${WORKER_POOL}`,
        controlPlaneTemplate: `${cluster}-control-plane-${version}`,
        workerTemplate: `${cluster}-${WORKER_POOL}-${version}`,
    };
}

/** The kubeadm minor version from which the first control plane must use super-admin.conf. */
const SUPER_ADMIN_CONF_SINCE_MINOR = 29;

function kubernetesMinor(kubernetesVersion: string): number {
    return Number(/^v\d+\.(\d+)\./.exec(kubernetesVersion)?.[1] ?? NaN);
}

/** kube-vip's image for the workload control plane's VIP (config kubeVipVersion). */
export function kubeVipImage(config: Pick<LabConfig, "kubeVipVersion">): string {
    return `ghcr.io/kube-vip/kube-vip:${config.kubeVipVersion}`;
}

/**
 * Installs kube-vip as a static pod announcing the control-plane VIP by ARP. From Kubernetes 1.29
 * admin.conf has no rights until kubeadm init finishes, so the first control plane (the one with
 * /run/kubeadm/kubeadm.yaml, i.e. kubeadm init) points kube-vip at super-admin.conf; joining
 * control planes use admin.conf. One command: each preKubeadmCommands entry is its own shell.
 */
export function kubeVipCommand(config: LabConfig, plan: LabPlan): string {
    const image = kubeVipImage(config);
    const chooseKubeconfig =
        kubernetesMinor(config.kubernetesVersion) >= SUPER_ADMIN_CONF_SINCE_MINOR
            ? "if [ -f /run/kubeadm/kubeadm.yaml ]; then KUBE_FILE=/etc/kubernetes/super-admin.conf; else KUBE_FILE=/etc/kubernetes/admin.conf; fi"
            : "KUBE_FILE=/etc/kubernetes/admin.conf";
    return [
        chooseKubeconfig,
        "mkdir -p /etc/kubernetes/manifests",
        // ctr reads no hosts directory unless told: with the mirror on, it pulls through the cache too.
        `ctr images pull ${plan.registryMirror ? `--hosts-dir ${CONTAINERD_HOSTS_DIR} ` : ""}${image}`,
        `ctr run --rm --net-host ${image} vip /kube-vip manifest pod --arp` +
            " --interface $(ip -4 -j route list default | jq -r .[0].dev)" +
            ` --address ${plan.vips.controlPlane} --controlplane --leaderElection --k8sConfigPath $KUBE_FILE` +
            " > /etc/kubernetes/manifests/kube-vip.yaml",
    ].join(" && ");
}

/**
 * With the registry mirror on, every machine gets a hosts.toml per upstream before kubeadm runs
 * (cloud-init writes files first). Nothing else is needed on CAPT's images: their containerd
 * (2.2.2) already reads /etc/containerd/certs.d and reads it at every pull, so there is no
 * config drop-in and no restart (lib/render/registry-mirror.ts has the sources).
 */
function mirrorFiles(plan: LabPlan) {
    return plan.registryMirror ? { files: machineHostsFiles(plan.registryMirror) } : {};
}

function tinkUser<K>(sshAuthorizedKey: K) {
    return { name: "tink", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: [sshAuthorizedKey] };
}

/** isoboot's ISO URL; CAPT inserts the machine's id into the path and Smee patches that ISO. */
export function isoUrl(plan: LabPlan): string {
    return `http://${plan.vips.tinkerbell}:${TINKERBELL_HTTP_PORT}/iso/hook.iso`;
}

function bootOptions(config: LabConfig, plan: LabPlan) {
    return config.bootMode === "isoboot" ? { bootMode: "isoboot", isoURL: isoUrl(plan) } : { bootMode: "netboot" };
}

export function machineTemplate(config: LabConfig, plan: LabPlan, name: string, role: MachineRole): KubeObject {
    return {
        apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
        kind: "TinkerbellMachineTemplate",
        metadata: { name, namespace: config.namespace },
        spec: {
            template: {
                spec: {
                    bootOptions: bootOptions(config, plan),
                    hardwareAffinity: { required: [{ labelSelector: { matchLabels: roleSelector(role) } }] },
                    templateOverride: provisioningWorkflowYaml(config, plan),
                },
            },
        },
    };
}

export function tinkerbellCluster(config: LabConfig, plan: LabPlan): KubeObject {
    return {
        apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
        kind: "TinkerbellCluster",
        metadata: { name: clusterApiNames(plan).cluster, namespace: config.namespace },
        // Image lookup is unused: every machine template brings its own workflow.
        spec: {},
    };
}

export function kubeadmControlPlane<K>(
    config: LabConfig,
    plan: LabPlan,
    template: KubeObject,
    sshAuthorizedKey: K,
): KubeObject {
    return {
        apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
        kind: "KubeadmControlPlane",
        metadata: { name: clusterApiNames(plan).controlPlane, namespace: config.namespace },
        spec: {
            replicas: config.controlPlanes,
            version: config.kubernetesVersion,
            machineTemplate: { spec: { infrastructureRef: refTo(template) } },
            kubeadmConfigSpec: {
                initConfiguration: { nodeRegistration: { kubeletExtraArgs: [providerIdArg()] } },
                joinConfiguration: {
                    nodeRegistration: {
                        // kube-vip's static pod manifest is written before kubeadm join runs.
                        ignorePreflightErrors: ["DirAvailable--etc-kubernetes-manifests"],
                        kubeletExtraArgs: [providerIdArg()],
                    },
                },
                ...mirrorFiles(plan),
                preKubeadmCommands: [kubeVipCommand(config, plan)],
                users: [tinkUser(sshAuthorizedKey)],
            },
        },
    };
}

export function workerConfigTemplate<K>(config: LabConfig, plan: LabPlan, sshAuthorizedKey: K): KubeObject {
    return {
        apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2",
        kind: "KubeadmConfigTemplate",
        metadata: { name: clusterApiNames(plan).workerPool, namespace: config.namespace },
        spec: {
            template: {
                spec: {
                    joinConfiguration: { nodeRegistration: { kubeletExtraArgs: [providerIdArg()] } },
                    ...mirrorFiles(plan),
                    users: [tinkUser(sshAuthorizedKey)],
                },
            },
        },
    };
}

export function machineDeployment(
    config: LabConfig,
    plan: LabPlan,
    bootstrap: KubeObject,
    template: KubeObject,
): KubeObject {
    const names = clusterApiNames(plan);
    const labels = { [CLUSTER_NAME_LABEL]: names.cluster, pool: WORKER_POOL };
    return {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "MachineDeployment",
        metadata: { name: names.workerPool, namespace: config.namespace, labels: { ...labels } },
        spec: {
            clusterName: names.cluster,
            replicas: config.workers,
            selector: { matchLabels: { ...labels } },
            template: {
                metadata: { labels: { ...labels } },
                spec: {
                    clusterName: names.cluster,
                    version: config.kubernetesVersion,
                    bootstrap: { configRef: refTo(bootstrap) },
                    infrastructureRef: refTo(template),
                },
            },
        },
    };
}

export function cluster(
    config: LabConfig,
    plan: LabPlan,
    controlPlane: KubeObject,
    infrastructure: KubeObject,
): KubeObject {
    return {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Cluster",
        metadata: { name: clusterApiNames(plan).cluster, namespace: config.namespace },
        spec: {
            clusterNetwork: {
                pods: { cidrBlocks: [plan.cidrs.pods] },
                services: { cidrBlocks: [plan.cidrs.services] },
            },
            controlPlaneEndpoint: { host: plan.vips.controlPlane, port: API_SERVER_PORT },
            controlPlaneRef: refTo(controlPlane),
            infrastructureRef: refTo(infrastructure),
        },
    };
}

/**
 * Every Cluster API object, each after the objects it references. Without workers there is no
 * MachineDeployment, KubeadmConfigTemplate or worker template: a pool of zero would select no
 * Hardware (spares carry their own role) and only add objects to keep in step.
 */
export function clusterApiObjects<K>(config: LabConfig, plan: LabPlan, sshAuthorizedKey: K): KubeObject[] {
    const names = clusterApiNames(plan);
    const infrastructure = tinkerbellCluster(config, plan);
    const controlPlaneTemplate = machineTemplate(config, plan, names.controlPlaneTemplate, "control-plane");
    const controlPlane = kubeadmControlPlane(config, plan, controlPlaneTemplate, sshAuthorizedKey);
    const workers: KubeObject[] = [];
    if (config.workers > 0) {
        const workerTemplate = machineTemplate(config, plan, names.workerTemplate, "worker");
        const bootstrap = workerConfigTemplate(config, plan, sshAuthorizedKey);
        workers.push(workerTemplate, bootstrap, machineDeployment(config, plan, bootstrap, workerTemplate));
    }
    return [
        infrastructure,
        controlPlaneTemplate,
        controlPlane,
        ...workers,
        cluster(config, plan, controlPlane, infrastructure),
    ];
}
