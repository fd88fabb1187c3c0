/**
 * Where things sit inside the lab subnet, as offsets from the network address. Kept apart from
 * the planner so config validation can size-check a subnet with the same numbers.
 *
 *   0 .. 15   docker's own slice (ipRange /28): the network address, the gateway (.1) and KinD nodes
 *   16        virtual BMC container
 *   17 .. 19  Tinkerbell VIP, artifacts (OSIE) VIP, workload control-plane VIP
 *   20 .. 31  reserved for later lab services
 *   32 ..     machines, one address each; the last address of the subnet is broadcast
 */
export const DOCKER_SLICE_PREFIX = 28;
export const GATEWAY_OFFSET = 1;
export const VBMC_OFFSET = 16;
export const TINKERBELL_VIP_OFFSET = 17;
export const ARTIFACTS_VIP_OFFSET = 18;
export const CONTROL_PLANE_VIP_OFFSET = 19;
/** The lab services' range (20 .. 31): the registry mirror's containers, one per upstream. */
export const LAB_SERVICES_OFFSET = 20;
export const LAB_SERVICES_SLOTS = 12;
export const FIRST_MACHINE_OFFSET = 32;

/** IPMI ports of the virtual BMC: machine n listens on BMC_PORT_BASE + n (6231, 6232, ...). */
export const BMC_PORT_BASE = 6230;

/** How many machines fit in a subnet of this prefix length. */
export function machineCapacity(prefixLength: number): number {
    const size = 2 ** (32 - prefixLength);
    return Math.max(0, size - FIRST_MACHINE_OFFSET - 1);
}
