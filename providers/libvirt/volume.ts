/**
 * Volume: a qcow2 disk of a given size in the stack's pool.
 *
 * Ownership: volumes have neither metadata nor a UUID. Every call addresses the pool by the
 * stack's derived pool UUID, so a volume is only ever created, resized or deleted inside the
 * stack's own pool, and create never adopts a volume that is already there (libvirt refuses to
 * create a volume whose name exists, and we report that instead of taking it over).
 *
 * Size: disks only grow (`vol-resize`); asking for a smaller size is refused at check time, and a
 * disk grown by hand beyond the requested size is left alone with a warning.
 */
import * as pulumi from "@pulumi/pulumi";
import { OwnerTag, ownedUuid } from "../../lib/libvirt/ownership";
import { LIBVIRT_URI, OBJECT_NAME, inputChecker, unwrapSecrets } from "./inputs";
import { Revisioned, refreshStaleCode, withRevision } from "./revision";
import { isNotFound, virsh, virshIfExists } from "./virsh";
import { child, parseXml, text } from "./xml";

export interface VolumeInputs extends Revisioned {
    uri: string;
    /**
     * Name of the stack's pool: the Pool resource's `name` output (Machines), so the engine knows the
     * volume lives in the pool and deletes it before it replaces the pool (a storageDir change).
     */
    pool: string;
    name: string;
    capacityGiB: number;
    owner: OwnerTag;
}

export interface VolumeOutputs extends VolumeInputs {
    /** Size libvirt reports, in bytes. */
    capacityBytes: number;
}

export interface VolumeArgs {
    uri: pulumi.Input<string>;
    pool: pulumi.Input<string>;
    name: pulumi.Input<string>;
    capacityGiB: pulumi.Input<number>;
    owner: pulumi.Input<OwnerTag>;
}

const GiB = 1024 ** 3;

function checkVolumeInputs(
    olds: Partial<VolumeInputs>,
    news: Record<string, unknown>,
): pulumi.dynamic.CheckResult<VolumeInputs> {
    const inputs = unwrapSecrets(news) as Record<string, unknown>;
    const c = inputChecker(inputs);
    const checked: VolumeInputs = {
        uri: c.string("uri", LIBVIRT_URI, "a libvirt URI such as qemu:///system"),
        pool: c.string("pool", OBJECT_NAME, "a pool name"),
        name: c.string("name", OBJECT_NAME, "a volume name of letters, digits, '.', '_', '+' or '-'"),
        capacityGiB: c.integer("capacityGiB", 1, 65536),
        owner: c.owner(),
    };
    const sameVolume = olds.uri === checked.uri && olds.pool === checked.pool && olds.name === checked.name;
    if (sameVolume && typeof olds.capacityGiB === "number" && checked.capacityGiB < olds.capacityGiB) {
        c.fail(
            "capacityGiB",
            `volume '${checked.name}' is ${olds.capacityGiB} GiB; shrinking a disk would destroy data, so it is ` +
                `refused. Keep capacityGiB at ${olds.capacityGiB} or more (or recreate the machine)`,
        );
    }
    return { inputs: withRevision(checked, news), failures: c.failures };
}

function volumeLabel(inputs: Pick<VolumeInputs, "pool" | "name">): string {
    return `${inputs.pool}/${inputs.name}`;
}

async function createVolume(inputs: VolumeInputs): Promise<VolumeOutputs> {
    const poolUuid = ownedUuid("pool", inputs.owner, inputs.pool);
    const bytes = inputs.capacityGiB * GiB;
    try {
        await virsh(
            inputs.uri,
            ["vol-create-as", poolUuid, inputs.name, `${bytes}`, "--format", "qcow2"],
            volumeLabel(inputs),
        );
    } catch (error) {
        if (isNotFound(error)) {
            throw new Error(
                `cannot create volume '${inputs.name}': the pool '${inputs.pool}' of stack '${inputs.owner.stack}' ` +
                    `(UUID ${poolUuid}) does not exist on ${inputs.uri}; a pool of that name owned by anyone else is never used`,
                { cause: error },
            );
        }
        if (/already exists|exists already/i.test((error as Error).message)) {
            throw new Error(
                `refusing to create volume '${inputs.name}' in pool '${inputs.pool}': a volume of that name already ` +
                    "exists and is not recorded in this stack's state, so it was left untouched; remove it with " +
                    `\`virsh vol-delete --pool ${inputs.pool} ${inputs.name}\` if it is a leftover`,
                { cause: error },
            );
        }
        throw error;
    }
    return { ...inputs, capacityBytes: bytes };
}

async function liveCapacity(inputs: VolumeInputs): Promise<number | undefined> {
    const poolUuid = ownedUuid("pool", inputs.owner, inputs.pool);
    const xml = await virshIfExists(inputs.uri, ["vol-dumpxml", "--pool", poolUuid, inputs.name], volumeLabel(inputs));
    if (xml === undefined) {
        return undefined;
    }
    const capacity = child(child(parseXml(xml), "volume"), "capacity");
    return Number(text(capacity));
}

function warnNoShrink(inputs: VolumeInputs, liveBytes: number): void {
    console.warn(
        `warning: volume ${volumeLabel(inputs)} is ${(liveBytes / GiB).toFixed(1)} GiB, more than the requested ` +
            `${inputs.capacityGiB} GiB; disks are never shrunk, so it keeps its size`,
    );
}

async function diffVolume(olds: VolumeOutputs, news: VolumeInputs): Promise<pulumi.dynamic.DiffResult> {
    // `pool` is the Pool's output: while the engine replaces the pool it asks with `pool` unknown
    // (inputs.ts, UNKNOWN), which differs from the old name, so the volume is replaced with its pool.
    const replaces = (["uri", "pool", "name", "owner"] as const).filter(
        (key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
    );
    if (replaces.length > 0) {
        return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const live = await liveCapacity(olds);
    if (live === undefined) {
        // Deleted out of band: recreate it (empty; the machine reinstalls through Tinkerbell).
        return { changes: true, replaces: ["name"], deleteBeforeReplace: true };
    }
    const wanted = news.capacityGiB * GiB;
    if (live > wanted) {
        warnNoShrink(news, live);
    }
    return { changes: live < wanted || olds.capacityGiB !== news.capacityGiB, replaces: [], deleteBeforeReplace: true };
}

async function updateVolume(news: VolumeInputs): Promise<VolumeOutputs> {
    const live = await liveCapacity(news);
    if (live === undefined) {
        return createVolume(news);
    }
    const wanted = news.capacityGiB * GiB;
    if (live < wanted) {
        const poolUuid = ownedUuid("pool", news.owner, news.pool);
        await virsh(news.uri, ["vol-resize", "--pool", poolUuid, news.name, `${wanted}`], volumeLabel(news));
        return { ...news, capacityBytes: wanted };
    }
    if (live > wanted) {
        warnNoShrink(news, live);
    }
    return { ...news, capacityBytes: live };
}

async function deleteVolume(props: VolumeInputs): Promise<void> {
    const poolUuid = ownedUuid("pool", props.owner, props.pool);
    // A missing pool or volume means there is nothing left to delete.
    await virshIfExists(props.uri, ["vol-delete", "--pool", poolUuid, props.name], volumeLabel(props));
}

/** The provider object Pulumi serializes; every method only calls the functions above. */
export const volumeProvider: pulumi.dynamic.ResourceProvider<VolumeInputs, VolumeOutputs> = {
    check: async (olds, news) => checkVolumeInputs(olds ?? {}, news as unknown as Record<string, unknown>),
    create: async (inputs) => {
        const outs = await createVolume(inputs);
        return { id: volumeLabel(outs), outs };
    },
    diff: async (_id, olds, news) => refreshStaleCode(await diffVolume(olds, news), olds, news),
    // Only ever grows the disk; with the size unchanged (a revision-only update) it leaves it alone.
    update: async (_id, _olds, news) => ({ outs: await updateVolume(news) }),
    delete: async (_id, props) => deleteVolume(props),
};

/** A qcow2 volume in the stack's pool. Token: `pulumi-nodejs:dynamic/libvirt:Volume`. */
export class Volume extends pulumi.dynamic.Resource {
    declare readonly uri: pulumi.Output<string>;
    declare readonly pool: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly capacityGiB: pulumi.Output<number>;
    declare readonly owner: pulumi.Output<OwnerTag>;
    declare readonly capacityBytes: pulumi.Output<number>;
    declare readonly providerRevision: pulumi.Output<string>;

    constructor(name: string, args: VolumeArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { ...args, capacityBytes: undefined, providerRevision: undefined };
        super(volumeProvider, name, props, opts, "libvirt", "Volume");
    }
}
