/**
 * Tinkerbell Hardware, one per machine (VM or real): what Smee hands out by DHCP and what CAPT
 * selects for a machine template (by the role label).
 */
import { LabConfig } from "../config";
import { LabPlan, MachineRole, PlannedMachine } from "../plan";
import { KubeObject } from "./kube-object";
import { osieArch } from "./arch";

/** The label machine templates select Hardware by. */
export const ROLE_LABEL = "tinkerbell.org/role";

/**
 * Longest lease DHCP allows short of "infinite" (2^32 - 1). The addresses are reservations, so
 * a renewal would only be noise.
 */
export const LEASE_TIME_SECONDS = 4294967294;

/**
 * Fields of a Hardware that Tinkerbell's controllers own after create, as property paths of the
 * object's inputs: the tink controller toggles `allowPXE` off when a workflow finishes (and on again
 * for the next one), so the next `up` must neither report that as a change nor set it back.
 */
export const HARDWARE_CONTROLLER_OWNED_PATHS: readonly string[] = ["spec.interfaces[*].netboot.allowPXE"];

/** The property paths a resource for `object` ignores after create (none for most kinds). */
export function controllerOwnedPaths(object: Pick<KubeObject, "apiVersion" | "kind">): string[] {
    return object.apiVersion === "tinkerbell.org/v1alpha1" && object.kind === "Hardware"
        ? [...HARDWARE_CONTROLLER_OWNED_PATHS]
        : [];
}

export function roleSelector(role: MachineRole): Record<string, string> {
    return { [ROLE_LABEL]: role };
}

export function hardware(config: LabConfig, plan: LabPlan, machine: PlannedMachine): KubeObject {
    return {
        apiVersion: "tinkerbell.org/v1alpha1",
        kind: "Hardware",
        metadata: { name: machine.name, namespace: config.namespace, labels: roleSelector(machine.role) },
        spec: {
            // CAPT honours bootOptions (power and one-time boot through Rufio) only with a bmcRef.
            bmcRef: { apiGroup: "bmc.tinkerbell.org", kind: "Machine", name: machine.name },
            // The disk the workflow writes the OS image to: the VMs' virtio disk, or the configured one.
            disks: [{ device: machine.disk }],
            interfaces: [
                {
                    dhcp: {
                        arch: osieArch(config.machineArch),
                        hostname: machine.name,
                        ip: { address: machine.ip, netmask: plan.network.netmask, gateway: plan.network.gateway },
                        lease_time: LEASE_TIME_SECONDS,
                        mac: machine.mac,
                        name_servers: [...config.nameServers],
                        uefi: true,
                    },
                    netboot: { allowPXE: true, allowWorkflow: true },
                },
            ],
            metadata: {
                // CAPT uses the instance id as the workflow's worker (agent) id; the agent reports its MAC.
                instance: { hostname: machine.name, id: machine.mac },
            },
        },
    };
}
