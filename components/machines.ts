/**
 * The lab's "bare metal": a libvirt pool the stack owns, and per machine a qcow2 volume and a
 * domain (defined, not started: Tinkerbell powers machines through the virtual BMC).
 *
 * Each volume takes the pool's name as the Pool's output, and each domain its disk as the Volume's
 * outputs. Those property dependencies are what the engine reads when it replaces the pool (a
 * `storageDir` change): it asks the volumes and domains whether they must go too, gets "replace",
 * and deletes domains, then volumes, then the pool, before creating them again in that order. With
 * plain strings it would delete the pool while its volumes still existed.
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
            // The pool's name and directory are host-wide.
            childOptions(this, opts, { deleteBeforeReplace: true }),
        );
        const volumes = new Map<string, Volume>();
        const domains = new Map<string, Domain>();
        for (const machine of plan.machines) {
            const volume = new Volume(
                `${name}-${machine.name}-disk`,
                {
                    uri,
                    pool: this.pool.name,
                    name: machineVolumeName(machine),
                    capacityGiB: config.vmDiskGiB,
                    owner,
                },
                // Volume names are unique in the pool, which keeps its name across a replacement.
                childOptions(this, opts, { deleteBeforeReplace: true }),
            );
            // `domainType: auto` stays auto: the Domain provider resolves it against the domain's URI.
            const spec = domainSpecFor(config, plan, machine);
            const domain = new Domain(
                `${name}-${machine.name}`,
                {
                    uri,
                    spec: pulumi
                        .all([volume.pool, volume.name])
                        .apply(([pool, disk]) => ({ ...spec, disk: { ...spec.disk, pool, volume: disk } })),
                },
                // A domain name is host-wide: the old one must go before its replacement is defined.
                childOptions(this, opts, { deleteBeforeReplace: true }),
            );
            volumes.set(machine.name, volume);
            domains.set(machine.name, domain);
        }
        this.volumes = volumes;
        this.domains = domains;
        this.registerOutputs({ pool: this.pool.name });
    }
}
