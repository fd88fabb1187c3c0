/**
 * Rufio BMC Machines (one per VM, all served by the one virtual BMC container) and the single
 * basic-auth Secret they share.
 *
 * The password is a parameter, never a value built here: `pulumi up` passes a secret Output, the
 * offline render passes an obviously redacted placeholder.
 */
import { LabConfig } from "../config";
import { LabPlan, PlannedMachine } from "../plan";
import { KubeObject } from "./kube-object";

export const BMC_SECRET_NAME = "bmc-creds";

/** Shown instead of the BMC password wherever the lab is rendered offline. */
export const REDACTED_BMC_PASSWORD = "<redacted: BMC password, set by pulumi up>";

/** Labels that make `clusterctl move` carry the Secret along with the objects that use it. */
export const CLUSTERCTL_MOVE_LABELS: Readonly<Record<string, string>> = {
    "clusterctl.cluster.x-k8s.io": "",
    "clusterctl.cluster.x-k8s.io/move": "",
};

export type BmcSecret<P> = {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "kubernetes.io/basic-auth";
    stringData: { username: string; password: P };
};

export function bmcSecret<P>(config: LabConfig, password: P): BmcSecret<P> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: BMC_SECRET_NAME, namespace: config.namespace, labels: { ...CLUSTERCTL_MOVE_LABELS } },
        type: "kubernetes.io/basic-auth",
        stringData: { username: config.bmcUsername, password },
    };
}

/**
 * IPMI (vbmc) for power and boot device, one port per machine; Redfish (sushy-tools, same
 * container, default HTTPS port) for virtual media, where the Redfish System is the libvirt
 * domain, named like the machine.
 */
export function bmcMachine(config: LabConfig, plan: LabPlan, machine: PlannedMachine): KubeObject {
    return {
        apiVersion: "bmc.tinkerbell.org/v1alpha1",
        kind: "Machine",
        metadata: { name: machine.name, namespace: config.namespace },
        spec: {
            connection: {
                host: plan.vbmc.ip,
                port: machine.bmcPort,
                authSecretRef: { name: BMC_SECRET_NAME, namespace: config.namespace },
                // sushy-tools serves a self-signed certificate.
                insecureTLS: true,
                providerOptions: {
                    preferredOrder: ["ipmitool"],
                    ipmitool: { port: machine.bmcPort },
                    redfish: { useBasicAuth: true, systemName: machine.name },
                },
            },
        },
    };
}
