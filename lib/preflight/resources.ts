/**
 * Preflight: CPU, memory and disk. Pure.
 */
import { LabConfig } from "../config";
import { isLocalUri } from "../libvirt/ownership";
import { LabModes, LabPlan } from "../plan";
import {
    Finding,
    firstLine,
    GIB,
    gib,
    HostFacts,
    KIND_MEMORY_GIB,
    MIB,
    ownNetworkExists,
    remoteNote,
    STORAGE_ALLOWANCE_GIB,
    succeeded,
} from "./facts";

// Resources

export function checkCpu(config: LabConfig, facts: HostFacts): Finding {
    const check = "cpu";
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: remoteNote(config) };
    }
    // VMs may overcommit CPUs; only a single VM larger than the host is a problem worth a warning.
    if (facts.cpuCount < config.vmCpus) {
        return {
            check,
            status: "warning",
            message: `the host has ${facts.cpuCount} CPUs but each machine gets vmCpus=${config.vmCpus}: machines will be slow`,
            fix: `lower vmCpus: pulumi config set vmCpus ${Math.max(2, facts.cpuCount)}`,
        };
    }
    return { check, status: "ok", message: `${facts.cpuCount} CPUs for machines of ${config.vmCpus} vCPUs` };
}

/** Whether this host runs the VMs: they are VMs and libvirt is local. */
function localVms(config: LabConfig, modes: LabModes): boolean {
    return modes.machines === "vms" && isLocalUri(config.libvirtUri);
}

/** Bytes of memory the lab wants on this host: every local VM running, plus the KinD management cluster. */
export function memoryNeeded(config: LabConfig, modes: LabModes): number {
    const machines = localVms(config, modes) ? config.hardwareCount * config.vmMemoryMiB * MIB : 0;
    return machines + (modes.management === "kind" ? KIND_MEMORY_GIB * GIB : 0);
}

function memoryBreakdown(config: LabConfig, modes: LabModes): string {
    return [
        localVms(config, modes) ? `${config.hardwareCount} machines x ${config.vmMemoryMiB} MiB` : undefined,
        modes.management === "kind" ? `${KIND_MEMORY_GIB} GiB for KinD` : undefined,
    ]
        .filter((part) => part !== undefined)
        .join(" + ");
}

/**
 * Free memory below the need is a warning (QEMU touches guest memory lazily, so it may fit); a
 * host with less than half of it in total cannot run the lab. Once the lab exists (its network is
 * there), its own VMs and KinD already count as used, so free memory means nothing and the total
 * is compared instead.
 */
export function checkMemory(config: LabConfig, plan: LabPlan, modes: LabModes, facts: HostFacts): Finding {
    const check = "memory";
    if (!succeeded(facts.memory)) {
        return { check, status: "ok", message: `not checked: ${firstLine(facts.memory.error)}` };
    }
    const { availableBytes, totalBytes } = facts.memory.value;
    const needed = memoryNeeded(config, modes);
    const breakdown = memoryBreakdown(config, modes);
    const fix = "lower hardwareCount or vmMemoryMiB, or free memory";
    if (totalBytes < needed / 2) {
        return {
            check,
            status: "error",
            message: `the host has ${gib(totalBytes)} of memory in total; the lab needs about ${gib(needed)} (${breakdown})`,
            fix,
        };
    }
    const labRunning = ownNetworkExists(plan, facts);
    const have = labRunning ? totalBytes : availableBytes;
    if (have < needed) {
        return {
            check,
            status: "warning",
            message: `${gib(have)} of memory ${labRunning ? "in total" : "available"}; the lab needs about ${gib(needed)} (${breakdown})`,
            fix,
        };
    }
    return { check, status: "ok", message: `${gib(have)} of memory for the lab's ${gib(needed)} (${breakdown})` };
}

/** Qcow2 disks grow as written, so a shortfall is a warning: the lab starts and fills up later. */
export function checkDisk(config: LabConfig, plan: LabPlan, facts: HostFacts): Finding {
    const check = "disk";
    if (!isLocalUri(config.libvirtUri)) {
        return { check, status: "ok", message: remoteNote(config) };
    }
    if (!succeeded(facts.storage)) {
        return { check, status: "ok", message: `not checked: ${firstLine(facts.storage.error)}` };
    }
    const { path, freeBytes } = facts.storage.value;
    const needed = (config.hardwareCount * config.vmDiskGiB + STORAGE_ALLOWANCE_GIB) * GIB;
    const breakdown = `${config.hardwareCount} disks x ${config.vmDiskGiB} GiB + ${STORAGE_ALLOWANCE_GIB} GiB`;
    if (freeBytes < needed) {
        return {
            check,
            status: "warning",
            message: `${gib(freeBytes)} free at ${path} for ${plan.libvirt.storageDir}; the machines' disks may grow to ${gib(needed)} (${breakdown})`,
            fix: "free space there, set storageDir to a larger filesystem, or lower vmDiskGiB or hardwareCount",
        };
    }
    return {
        check,
        status: "ok",
        message: `${gib(freeBytes)} free at ${path} for up to ${gib(needed)} (${breakdown})`,
    };
}
