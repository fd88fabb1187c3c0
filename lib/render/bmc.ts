/**
 * Rufio BMC Machines (one per machine: for VMs all served by the one virtual BMC container, for
 * real machines their own BMCs) and the single basic-auth Secret they share.
 *
 * The password is a parameter, never a value built here: `pulumi up` passes a secret Output, the
 * offline render passes an obviously redacted placeholder.
 */
import { BmcProtocol, LabConfig } from "../config";
import { LabPlan, PlannedBmc, PlannedMachine } from "../plan";
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
 * bmclib's provider names as Rufio's `preferredOrder` takes them (the CRD allows only these names):
 * `ipmitool` speaks IPMI, `gofish` speaks Redfish (bmclib providers/redfish: ProviderName "gofish",
 * ProviderProtocol "redfish"). Rufio passes the list to bmclib's registry `PreferProtocol`, which
 * compares protocols, not these names, so the order is advisory: bmclib opens every provider that
 * answers and the options below (ports, auth) are what reach the right one.
 */
export const BMC_PROVIDER: Readonly<Record<BmcProtocol, string>> = { ipmi: "ipmitool", redfish: "gofish" };

/**
 * Rufio's provider options for a machine's BMC. Rufio reads the ports from here, not from
 * `connection.port` (rufio/internal/controller/client.go: WithIpmitoolPort, WithRedfishPort).
 *
 * - The virtual BMC (VMs): IPMI (vbmc) for power and boot device, one port per machine; Redfish
 *   (sushy-tools, same container, default HTTPS port) for virtual media, where the Redfish System
 *   is the libvirt domain, named like the machine.
 * - A real IPMI BMC: IPMI only, on its port.
 * - A real Redfish BMC: Redfish on its port, with basic auth (no session to open and leave behind
 *   on the BMC's small session table) and the System's Name when the BMC manages more than one (bmclib matches the Name).
 */
function providerOptions(plan: LabPlan, bmc: PlannedBmc): Record<string, unknown> {
    if (bmc.protocol === "redfish") {
        return {
            preferredOrder: [BMC_PROVIDER.redfish],
            redfish: { port: bmc.port, useBasicAuth: true, ...(bmc.systemName ? { systemName: bmc.systemName } : {}) },
        };
    }
    return {
        preferredOrder: [BMC_PROVIDER.ipmi],
        ipmitool: { port: bmc.port },
        ...(plan.modes.machines === "vms" ? { redfish: { useBasicAuth: true, systemName: bmc.systemName } } : {}),
    };
}

/** The Rufio Machine for a planned machine: its BMC as the plan has it (the virtual BMC for VMs). */
export function bmcMachine(config: LabConfig, plan: LabPlan, machine: PlannedMachine): KubeObject {
    return {
        apiVersion: "bmc.tinkerbell.org/v1alpha1",
        kind: "Machine",
        metadata: { name: machine.name, namespace: config.namespace },
        spec: {
            connection: {
                host: machine.bmc.host,
                port: machine.bmc.port,
                authSecretRef: { name: BMC_SECRET_NAME, namespace: config.namespace },
                // sushy-tools serves a self-signed certificate; real BMCs per machine (bmc.insecureTLS).
                insecureTLS: machine.bmc.insecureTLS,
                providerOptions: providerOptions(plan, machine.bmc),
            },
        },
    };
}
