/**
 * What `npm run status` knows about a lab before it looks at anything: the plan's machines in
 * order, the namespace, the files the stack writes, and the kubeconfig each command it suggests
 * should name. Pure: derived from the validated config and the plan.
 */
import { Cni, LabConfig } from "../config";
import { ARCH_PROFILES, consoleLogDir } from "../libvirt/domain-xml";
import { LabPlan, MachineRole } from "../plan";
import { clusterApiNames } from "../render/cluster-api";
import { labFiles, tinkerbellUiUrl } from "../render/next-steps";

export interface StatusMachine {
    name: string;
    role: MachineRole;
    mac: string;
    ip: string;
}

/** Which cluster a group of objects is read from (after a pivot Cluster API and Tinkerbell live in the workload cluster). */
export type Source = "management" | "tinkerbell" | "workload";

export interface StatusContext {
    stack: string;
    labName: string;
    clusterName: string;
    namespace: string;
    machines: StatusMachine[];
    /** libvirt VMs (true) or the user's real machines. */
    vms: boolean;
    libvirtUri: string;
    tinkerbellMode: LabPlan["modes"]["tinkerbell"];
    pivot: boolean;
    cni: Cni;
    tinkerbellUi: string;
    /** Where a VM's serial console is logged: `<dir>/<machine>.console.log`. */
    consoleLogDir: string;
    /** The VMs also log the OSIE's serial port, `<dir>/<machine>.osie.log` (x86_64). */
    osieLogs: boolean;
    /** The kubeconfig each suggested command names (a path or a placeholder, never the content). */
    kubeconfigShown: Record<Source, string>;
}

export interface KubeconfigChoices {
    /** An existing management cluster's kubeconfig file (the stack only holds it encrypted). */
    management?: string;
    /** An external Tinkerbell cluster's kubeconfig file. */
    tinkerbell?: string;
}

export function statusContext(config: LabConfig, plan: LabPlan, given: KubeconfigChoices = {}): StatusContext {
    const files = labFiles(plan, config);
    const management = files.kindKubeconfig ?? given.management ?? "<your managementKubeconfig>";
    const tinkerbell =
        plan.modes.tinkerbell === "local" ? management : (given.tinkerbell ?? "<your tinkerbellKubeconfig>");
    return {
        stack: plan.stack,
        labName: plan.labName,
        clusterName: clusterApiNames(plan).cluster,
        namespace: config.namespace,
        machines: plan.machines.map(({ name, role, mac, ip }) => ({ name, role, mac, ip })),
        vms: plan.modes.machines === "vms",
        libvirtUri: plan.libvirt.uri,
        tinkerbellMode: plan.modes.tinkerbell,
        pivot: plan.modes.pivot,
        cni: config.cni,
        tinkerbellUi: tinkerbellUiUrl(plan),
        consoleLogDir: consoleLogDir(plan),
        osieLogs: ARCH_PROFILES[config.machineArch].osieSerial,
        kubeconfigShown: { management, tinkerbell, workload: files.workloadKubeconfig },
    };
}
