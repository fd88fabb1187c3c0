/**
 * The lab plan: every name, role, MAC, address and port, derived deterministically from the
 * validated config and the stack name. Pure; the same plan feeds `pulumi up` and `npm run render`.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { Address4 } from "ip-address";
import {
    ARTIFACTS_VIP_OFFSET,
    BMC_PORT_BASE,
    CONTROL_PLANE_VIP_OFFSET,
    DOCKER_SLICE_PREFIX,
    FIRST_MACHINE_OFFSET,
    GATEWAY_OFFSET,
    TINKERBELL_VIP_OFFSET,
    VBMC_OFFSET,
    machineCapacity,
} from "./address-layout";
import { BmcProtocol, ClusterApiInstaller, LabConfig, MachineArch, MachineConfig, MachineRole } from "./config";
import { assignRoles } from "./config-machines";
import { bridgeName, labName, machineName } from "./naming";
import { RegistryMirrorPlan, planRegistryMirror } from "./render/registry-mirror";

export type { MachineRole } from "./config";

/** Where Rufio reaches a machine's BMC. */
export interface PlannedBmc {
    host: string;
    port: number;
    protocol: BmcProtocol;
    insecureTLS: boolean;
    /** Redfish System Name (bmclib matches it): the libvirt domain name for VMs, as sushy names the System. */
    systemName: string;
}

/** The shape of the lab the config selects; the default lab is kind/local/vms/x86_64/clusterctl. */
export interface LabModes {
    /** kind: the lab creates KinD on its own docker network; existing: managementKubeconfig. */
    management: "kind" | "existing";
    /** local: the Tinkerbell chart in the management cluster; external: tinkerbellKubeconfig. */
    tinkerbell: "local" | "external";
    /** vms: libvirt domains behind the virtual BMC; real: the `machines` list. */
    machines: "vms" | "real";
    arch: MachineArch;
    clusterApiInstaller: ClusterApiInstaller;
    registryMirror: boolean;
    pivot: boolean;
}

export interface PlannedMachine {
    /** 1-based position; fixes the role, the address and the BMC port. */
    index: number;
    name: string;
    role: MachineRole;
    mac: string;
    ip: string;
    /** The BMC's port (the virtual BMC's IPMI port for VMs). */
    bmcPort: number;
    bmc: PlannedBmc;
    /** The disk the workflow writes the OS image to. */
    disk: string;
}

export interface LabNetworkPlan {
    /** Docker network name. */
    name: string;
    subnet: string;
    prefixLength: number;
    netmask: string;
    gateway: string;
    broadcast: string;
    /** Linux bridge of the docker network; the VMs' NICs attach to it. */
    bridge: string;
    /** The only addresses docker itself hands out (KinD nodes). */
    dockerRange: string;
}

export interface LabPlan {
    project: string;
    stack: string;
    /** Prefix of every host-wide object of this stack; also the KinD and CAPI cluster name. */
    labName: string;
    kubernetesVersion: string;
    machines: PlannedMachine[];
    network: LabNetworkPlan;
    vbmc: { containerName: string; ip: string };
    vips: { tinkerbell: string; artifacts: string; controlPlane: string };
    cidrs: { pods: string; services: string };
    kind: { clusterName: string; podSubnet: string; serviceSubnet: string };
    libvirt: { uri: string; poolName: string; storageDir: string };
    /** Kubeconfigs, clusterctl state and rendered files. */
    outputDir: string;
    modes: LabModes;
    /** The pull-through caches, with `registryMirror: true`. */
    registryMirror?: RegistryMirrorPlan;
}

export interface PlanContext {
    project: string;
    stack: string;
    /** Directory of Pulumi.yaml; relative output paths resolve against it. */
    projectDir: string;
}

function offsetAddress(network: Address4, offset: number): string {
    return Address4.fromBigInt(network.startAddress().bigInt() + BigInt(offset)).correctForm();
}

export function roleOf(index: number, config: Pick<LabConfig, "controlPlanes" | "workers">): MachineRole {
    if (index <= config.controlPlanes) {
        return "control-plane";
    }
    return index <= config.controlPlanes + config.workers ? "worker" : "spare";
}

/**
 * A locally administered unicast MAC (first octet 02) from a hash of project, stack and name:
 * stable for a machine, different across stacks. `attempt` breaks the (astronomically rare)
 * tie when two names of one stack hash alike.
 */
export function machineMac(project: string, stack: string, name: string, attempt = 0): string {
    const seed = `${project}/${stack}/${name}${attempt ? `#${attempt}` : ""}`;
    const bytes = createHash("sha256").update(seed).digest().subarray(0, 5);
    return ["02", ...Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** The VMs' virtio disk. */
export const VM_DISK = "/dev/vda";

/** The labels every docker object of the stack carries (network, BMC container, mirror caches): whose it is. */
export function stackDockerLabels(plan: Pick<LabPlan, "project" | "stack">): { label: string; value: string }[] {
    return [
        { label: "capt-playground.project", value: plan.project },
        { label: "capt-playground.stack", value: plan.stack },
    ];
}

function planRealMachines(config: LabConfig, network: Address4): PlannedMachine[] {
    const roles = assignRoles(config.machines, config);
    return config.machines.map((machine: MachineConfig, i) => ({
        index: i + 1,
        name: machine.name,
        role: roles[i],
        mac: machine.mac,
        ip: machine.ip ?? offsetAddress(network, FIRST_MACHINE_OFFSET + i),
        bmcPort: machine.bmc.port,
        bmc: {
            host: machine.bmc.address,
            port: machine.bmc.port,
            protocol: machine.bmc.protocol,
            insecureTLS: machine.bmc.insecureTLS,
            systemName: machine.bmc.systemName ?? "",
        },
        disk: machine.disk,
    }));
}

function planMachines(config: LabConfig, context: PlanContext, lab: string, network: Address4): PlannedMachine[] {
    if (config.machines.length > 0) {
        return planRealMachines(config, network);
    }
    const seenMacs = new Set<string>();
    const machines: PlannedMachine[] = [];
    for (let index = 1; index <= config.hardwareCount; index++) {
        const name = machineName(lab, config.nodeNamePrefix, index);
        let attempt = 0;
        let mac = machineMac(context.project, context.stack, name);
        while (seenMacs.has(mac)) {
            mac = machineMac(context.project, context.stack, name, ++attempt);
        }
        seenMacs.add(mac);
        const bmcPort = BMC_PORT_BASE + index;
        machines.push({
            index,
            name,
            role: roleOf(index, config),
            mac,
            ip: offsetAddress(network, FIRST_MACHINE_OFFSET - 1 + index),
            bmcPort,
            // The virtual BMC: IPMI on the machine's port, Redfish on its HTTPS port with the domain as System.
            bmc: {
                host: offsetAddress(network, VBMC_OFFSET),
                port: bmcPort,
                protocol: "ipmi",
                insecureTLS: true,
                systemName: name,
            },
            disk: VM_DISK,
        });
    }
    return machines;
}

export function planLab(config: LabConfig, context: PlanContext): LabPlan {
    const network = new Address4(config.networkSubnet);
    if (machineCapacity(network.subnetMask) < config.hardwareCount) {
        // parseLabConfig rejects this first; the planner guards its own invariant too.
        throw new Error(`networkSubnet ${config.networkSubnet} cannot hold ${config.hardwareCount} machines`);
    }
    const lab = labName(context.stack);
    const networkAddress = network.startAddress().correctForm();
    return {
        project: context.project,
        stack: context.stack,
        labName: lab,
        kubernetesVersion: config.kubernetesVersion,
        machines: planMachines(config, context, lab, network),
        network: {
            name: lab,
            subnet: config.networkSubnet,
            prefixLength: network.subnetMask,
            netmask: netmaskOf(network.subnetMask),
            gateway: config.networkGateway || offsetAddress(network, GATEWAY_OFFSET),
            broadcast: network.endAddress().correctForm(),
            bridge: bridgeName(context.project, context.stack),
            dockerRange: `${networkAddress}/${DOCKER_SLICE_PREFIX}`,
        },
        vbmc: { containerName: `${lab}-vbmc`, ip: offsetAddress(network, VBMC_OFFSET) },
        vips: {
            tinkerbell: config.tinkerbellVip || offsetAddress(network, TINKERBELL_VIP_OFFSET),
            artifacts: config.artifactsVip || offsetAddress(network, ARTIFACTS_VIP_OFFSET),
            controlPlane: config.controlPlaneVip || offsetAddress(network, CONTROL_PLANE_VIP_OFFSET),
        },
        cidrs: { pods: config.podCidr, services: config.serviceCidr },
        kind: { clusterName: lab, podSubnet: config.kindPodCidr, serviceSubnet: config.kindServiceCidr },
        libvirt: {
            uri: config.libvirtUri,
            poolName: lab,
            storageDir: config.storageDir || `/var/lib/libvirt/images/${lab}`,
        },
        outputDir: path.resolve(context.projectDir, config.outputDir || path.join(".lab", context.stack)),
        modes: labModes(config),
        ...(config.registryMirror ? { registryMirror: planRegistryMirror(config, network, lab) } : {}),
    };
}

export function labModes(config: LabConfig): LabModes {
    return {
        management: config.managementKubeconfig ? "existing" : "kind",
        tinkerbell: config.externalTinkerbell ? "external" : "local",
        machines: config.machines.length > 0 ? "real" : "vms",
        arch: config.machineArch,
        clusterApiInstaller: config.clusterApiInstaller,
        registryMirror: config.registryMirror,
        pivot: config.pivot,
    };
}

function netmaskOf(prefixLength: number): string {
    const bits = prefixLength === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefixLength)) - 1n);
    return Address4.fromBigInt(bits).correctForm();
}

/** The default lab's modes; plan.json lists the modes only when they differ (the default stays as it was). */
export const DEFAULT_MODES: LabModes = {
    management: "kind",
    tinkerbell: "local",
    machines: "vms",
    arch: "x86_64",
    clusterApiInstaller: "clusterctl",
    registryMirror: false,
    pivot: false,
};

function isDefaultModes(modes: LabModes): boolean {
    return (Object.keys(DEFAULT_MODES) as (keyof LabModes)[]).every((key) => modes[key] === DEFAULT_MODES[key]);
}

/** The machine-readable summary `npm run render` writes as plan.json. */
export function planSummary(plan: LabPlan) {
    const real = plan.modes.machines === "real";
    return {
        kubernetesVersion: plan.kubernetesVersion,
        ...(isDefaultModes(plan.modes) ? {} : { modes: plan.modes }),
        nodes: plan.machines.map(({ name, role, mac, ip, bmcPort, bmc, disk }) => ({
            name,
            role,
            mac,
            ip,
            bmcPort,
            // Real machines each have their own BMC (VMs share the virtual BMC, listed below).
            ...(real ? { bmc: `${bmc.protocol}://${bmc.host}:${bmc.port}`, disk } : {}),
        })),
        network: {
            subnet: plan.network.subnet,
            gateway: plan.network.gateway,
            bridge: plan.network.bridge,
            dockerRange: plan.network.dockerRange,
        },
        vips: plan.vips,
        cidrs: plan.cidrs,
        lab: { project: plan.project, stack: plan.stack, name: plan.labName },
        bmc: { containerName: plan.vbmc.containerName, ip: plan.vbmc.ip },
        kind: plan.kind,
        libvirt: plan.libvirt,
    };
}
