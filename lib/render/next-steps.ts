/** What the user reads after `up`: where things are and how to watch provisioning. */
import * as path from "node:path";
import { LabConfig } from "../config";
import { ARCH_PROFILES, consoleLogDir } from "../libvirt/domain-xml";
import { LabPlan } from "../plan";
import { TINKERBELL_HTTP_PORT } from "./tinkerbell-values";

export interface LabFiles {
    /** Only when the lab creates KinD (an existing management cluster's kubeconfig is the user's). */
    kindKubeconfig?: string;
    workloadKubeconfig: string;
    sshPrivateKey?: string;
}

export function labFiles(plan: LabPlan, config: Pick<LabConfig, "sshPublicKey">): LabFiles {
    return {
        ...(plan.modes.management === "kind" ? { kindKubeconfig: path.join(plan.outputDir, "kind.kubeconfig") } : {}),
        workloadKubeconfig: path.join(plan.outputDir, `${plan.labName}.kubeconfig`),
        sshPrivateKey: config.sshPublicKey ? undefined : path.join(plan.outputDir, "ssh", "id_ed25519"),
    };
}

export function tinkerbellUiUrl(plan: LabPlan): string {
    return `http://${plan.vips.tinkerbell}:${TINKERBELL_HTTP_PORT}`;
}

/**
 * A path or URI as one shell word, so a line pasted into a shell runs what it says: left as it is when
 * it holds only characters no shell treats specially, otherwise in single quotes (a `'` inside as
 * `'\''`). The project folder's own path may hold spaces or anything else the user chose.
 */
export function shellWord(text: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

export function nextSteps(config: LabConfig, plan: LabPlan): string[] {
    const files = mapValues(labFiles(plan, config), shellWord);
    const ns = config.namespace;
    const mgmt =
        plan.modes.management === "kind"
            ? `KUBECONFIG=${files.kindKubeconfig}`
            : "KUBECONFIG=<your managementKubeconfig>";
    const tink = plan.modes.tinkerbell === "local" ? mgmt : "KUBECONFIG=<your tinkerbellKubeconfig>";
    const capi = config.pivot ? `KUBECONFIG=${files.workloadKubeconfig}` : mgmt;
    const steps = [
        `Tinkerbell UI: ${tinkerbellUiUrl(plan)}`,
        `Lab status, machine by machine: npm run status -- --stack ${plan.stack} --watch`,
        `Watch provisioning: ${tink} kubectl get workflows,jobs.bmc.tinkerbell.org -n ${ns} -w`,
        `Cluster API view: ${capi} clusterctl describe cluster ${plan.labName} -n ${ns}`,
        plan.modes.machines === "vms"
            ? `Machine consoles: ${shellWord(`${consoleLogDir(plan)}/`)}<machine>.console.log (virsh -c ${shellWord(plan.libvirt.uri)} console <machine>)${ARCH_PROFILES[config.machineArch].osieSerial ? "; the OSIE's boot: <machine>.osie.log" : ""}`
            : "Machine consoles: through each machine's BMC (Serial over LAN: ipmitool -I lanplus -H <bmc> sol activate)",
        `Workload cluster: KUBECONFIG=${files.workloadKubeconfig} kubectl get nodes -o wide`,
    ];
    if (files.sshPrivateKey) {
        steps.push(`SSH to a machine: ssh -i ${files.sshPrivateKey} tink@<machine ip>`);
    }
    if (!config.waitForWorkload) {
        steps.push(
            `waitForWorkload is false: fetch the workload kubeconfig yourself with ${mgmt} clusterctl get kubeconfig ${plan.labName} -n ${ns}`,
        );
    }
    return steps;
}

function mapValues<T extends object>(record: T, fn: (value: string) => string): T {
    return Object.fromEntries(
        Object.entries(record).map(([key, value]) => [key, typeof value === "string" ? fn(value) : value]),
    ) as T;
}
