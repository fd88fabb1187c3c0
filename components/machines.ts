/**
 * The lab's "bare metal": a libvirt pool the stack owns, and per machine a qcow2 volume and a
 * domain (defined, not started: Tinkerbell powers machines through the virtual BMC).
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { domainSpecFor, machineVolumeName } from "../lib/libvirt/domain-xml";
import { LabPlan } from "../lib/plan";
import { Domain, Pool, Volume } from "../providers/libvirt";
import { childOptions } from "./options";

export interface MachinesArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Resolves `domainType: auto`; the program asks the host once, during the preflight. */
    kvmUsable: boolean;
}

export class Machines extends pulumi.ComponentResource {
    readonly pool: Pool;
    readonly volumes: ReadonlyMap<string, Volume>;
    /** Domain per machine name. */
    readonly domains: ReadonlyMap<string, Domain>;

    constructor(name: string, args: MachinesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:Machines", name, {}, opts);
        const { config, plan } = args;
        const uri = plan.libvirt.uri;
        const owner = { project: plan.project, stack: plan.stack };
        this.pool = new Pool(
            `${name}-pool`,
            { uri, name: plan.libvirt.poolName, path: plan.libvirt.storageDir, owner },
            childOptions(this, opts),
        );
        const volumes = new Map<string, Volume>();
        const domains = new Map<string, Domain>();
        for (const machine of plan.machines) {
            const volume = new Volume(
                `${name}-${machine.name}-disk`,
                {
                    uri,
                    pool: plan.libvirt.poolName,
                    name: machineVolumeName(machine),
                    capacityGiB: config.vmDiskGiB,
                    owner,
                },
                childOptions(this, opts, { dependsOn: [this.pool] }),
            );
            const domain = new Domain(
                `${name}-${machine.name}`,
                { uri, spec: domainSpecFor(config, plan, machine, args.kvmUsable) },
                // A domain name is host-wide: the old one must go before its replacement is defined.
                childOptions(this, opts, { dependsOn: [volume], deleteBeforeReplace: true }),
            );
            volumes.set(machine.name, volume);
            domains.set(machine.name, domain);
        }
        this.volumes = volumes;
        this.domains = domains;
        this.registerOutputs({ pool: this.pool.name });
    }
}
