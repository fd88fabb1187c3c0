/**
 * Rufio BMC Machines (one per machine: for VMs all served by the one virtual BMC container, for
 * real machines their own BMCs) and their basic-auth Secrets: the shared `bmc-creds` (bmcUsername,
 * bmcPassword) and, for a real machine with its own password (machineBmcPasswords) or user name
 * (bmc.username), its own `bmc-creds-<machine>`.
 *
 * Passwords are parameters, never values built here: `pulumi up` passes secret Outputs, the
 * offline render passes obviously redacted placeholders.
 */
import { BmcProtocol, ENCRYPTED_VALUE, LabConfig } from "../config";
import { LabPlan, PlannedBmc, PlannedMachine } from "../plan";
import { KubeObject } from "./kube-object";

export const BMC_SECRET_NAME = "bmc-creds";

/** The Secret of a machine with its own BMC credentials. */
export function machineBmcSecretName(machine: string): string {
    return `${BMC_SECRET_NAME}-${machine}`;
}

/** Shown instead of the BMC password wherever the lab is rendered offline. */
export const REDACTED_BMC_PASSWORD = "<redacted: BMC password, set by pulumi up>";

/** Shown instead of a machine's own BMC password wherever the lab is rendered offline. */
export function redactedMachineBmcPassword(machine: string): string {
    return `<redacted: BMC password of ${machine}, set by pulumi up>`;
}

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

function basicAuthSecret<P>(config: LabConfig, name: string, username: string, password: P): BmcSecret<P> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: config.namespace, labels: { ...CLUSTERCTL_MOVE_LABELS } },
        type: "kubernetes.io/basic-auth",
        stringData: { username, password },
    };
}

/** The shared Secret: bmcUsername and bmcPassword. */
export function bmcSecret<P>(config: LabConfig, password: P): BmcSecret<P> {
    return basicAuthSecret(config, BMC_SECRET_NAME, config.bmcUsername, password);
}

/** How Rufio authenticates at a machine's BMC. */
export interface BmcCredentials {
    /** The basic-auth Secret: the shared bmc-creds, or the machine's own bmc-creds-<machine>. */
    secretName: string;
    /** The machine's bmc.username, else bmcUsername. */
    username: string;
    /** The password is the machine's own (machineBmcPasswords), not bmcPassword. */
    ownPassword: boolean;
}

/**
 * A machine's BMC credentials. VMs share the virtual BMC's. A real machine gets its own Secret when it
 * has its own password or user name. An encrypted machineBmcPasswords read offline does not tell which
 * machines it names, so the offline render gives each real machine its own Secret.
 */
export function bmcCredentials(config: LabConfig, machineName: string): BmcCredentials {
    const machine = config.machines.find((m) => m.name === machineName);
    if (!machine) {
        return { secretName: BMC_SECRET_NAME, username: config.bmcUsername, ownPassword: false };
    }
    const passwords = config.machineBmcPasswords;
    const ownPassword =
        passwords === ENCRYPTED_VALUE || (passwords !== undefined && Object.hasOwn(passwords, machine.name));
    const own = ownPassword || machine.bmc.username !== undefined;
    return {
        secretName: own ? machineBmcSecretName(machine.name) : BMC_SECRET_NAME,
        username: machine.bmc.username ?? config.bmcUsername,
        ownPassword,
    };
}

/**
 * The BMC Secrets the machines use: the shared one first when any machine uses it, then each machine's
 * own, in machine order. `bmcPassword` may be missing when no machine uses it; `machinePasswords`
 * holds a password for each machine with its own (config guarantees both, this guards it).
 */
export function bmcSecrets<P>(
    config: LabConfig,
    plan: LabPlan,
    bmcPassword: P | undefined,
    machinePasswords: Readonly<Record<string, P>> = {},
): [BmcSecret<P>, ...BmcSecret<P>[]] {
    const secrets: BmcSecret<P>[] = [];
    const credentials = plan.machines.map((machine) => bmcCredentials(config, machine.name));
    const sharedPassword = (machine: string): P => {
        if (bmcPassword === undefined) {
            throw new Error(`machine ${machine} uses bmcPassword, but none was given`);
        }
        return bmcPassword;
    };
    const sharing = plan.machines.find((_, i) => credentials[i].secretName === BMC_SECRET_NAME);
    if (sharing) {
        secrets.push(bmcSecret(config, sharedPassword(sharing.name)));
    }
    plan.machines.forEach((machine, i) => {
        const { secretName, username, ownPassword } = credentials[i];
        if (secretName === BMC_SECRET_NAME) return;
        if (ownPassword && !Object.hasOwn(machinePasswords, machine.name)) {
            throw new Error(`machine ${machine.name} has its own BMC password, but none was given`);
        }
        const password = ownPassword ? machinePasswords[machine.name] : sharedPassword(machine.name);
        secrets.push(basicAuthSecret(config, secretName, username, password));
    });
    const [first, ...rest] = secrets;
    if (!first) {
        throw new Error("a lab has at least one machine, so at least one BMC Secret");
    }
    return [first, ...rest];
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
                authSecretRef: { name: bmcCredentials(config, machine.name).secretName, namespace: config.namespace },
                // sushy-tools serves a self-signed certificate; real BMCs per machine (bmc.insecureTLS).
                insecureTLS: machine.bmc.insecureTLS,
                providerOptions: providerOptions(plan, machine.bmc),
            },
        },
    };
}
