/**
 * Pool: a `dir` storage pool the stack owns (the directory of its disks and console logs).
 *
 * Ownership: libvirt's pool XML has no metadata or description element, so the pool's UUID is
 * derived from (project, stack, name) (lib/libvirt/ownership.ts) and every later call addresses the
 * pool by that UUID: a pool of the same name defined by someone else has another UUID and is
 * never looked at, changed or removed. Create also refuses a directory that already holds files.
 */
import * as pulumi from "@pulumi/pulumi";
import { OwnerTag, ownedUuid } from "../../lib/libvirt/ownership";
import { LIBVIRT_URI, OBJECT_NAME, inputChecker, unwrapSecrets } from "./inputs";
import { Revisioned, refreshStaleCode, withRevision } from "./revision";
import { isNotFound, virsh, virshIfExists, withXmlFile } from "./virsh";
import { buildXml, child, parseXml, text } from "./xml";

export interface PoolInputs extends Revisioned {
    uri: string;
    name: string;
    /** Absolute directory of the pool on the libvirt host. */
    path: string;
    owner: OwnerTag;
}

export interface PoolOutputs extends PoolInputs {
    uuid: string;
}

export interface PoolArgs {
    uri: pulumi.Input<string>;
    name: pulumi.Input<string>;
    path: pulumi.Input<string>;
    owner: pulumi.Input<OwnerTag>;
}

/** Suffix of the serial console logs domains write into the pool directory (see domain-xml.ts). */
const CONSOLE_LOG_SUFFIX = ".console.log";

function checkPoolInputs(news: Record<string, unknown>): pulumi.dynamic.CheckResult<PoolInputs> {
    const inputs = unwrapSecrets(news) as Record<string, unknown>;
    const c = inputChecker(inputs);
    const checked: PoolInputs = {
        uri: c.string("uri", LIBVIRT_URI, "a libvirt URI such as qemu:///system"),
        name: c.string("name", OBJECT_NAME, "a pool name of letters, digits, '.', '_', '+' or '-'"),
        path: c.string("path", /^\/[^\0\n]*[^/\0\n]$/, "an absolute directory path without a trailing slash"),
        owner: c.owner(),
    };
    return { inputs: withRevision(checked, news), failures: c.failures };
}

interface LivePool {
    uuid?: string;
    path?: string;
}

function livePool(xml: string): LivePool {
    const pool = child(parseXml(xml), "pool");
    return { uuid: text(child(pool, "uuid"))?.toLowerCase(), path: text(child(child(pool, "target"), "path")) };
}

function poolXml(inputs: PoolInputs, uuid: string): string {
    return buildXml({
        pool: { "@type": "dir", name: inputs.name, uuid, target: { path: inputs.path } },
    });
}

function notOurs(inputs: PoolInputs, what: string): Error {
    return new Error(
        `refusing to use libvirt pool '${inputs.name}' on ${inputs.uri}: ${what}. It is not owned by stack ` +
            `'${inputs.owner.stack}' of project '${inputs.owner.project}' and was left untouched; remove or rename it, ` +
            "or choose another storageDir/stack.",
    );
}

async function createPool(inputs: PoolInputs): Promise<PoolOutputs> {
    const uuid = ownedUuid("pool", inputs.owner, inputs.name);
    const existing = await virshIfExists(inputs.uri, ["pool-dumpxml", inputs.name], inputs.name);
    if (existing !== undefined) {
        // Ours from an interrupted run (same derived UUID): make sure it is usable and keep it.
        const live = livePool(existing);
        if (live.uuid !== uuid) {
            throw notOurs(inputs, `a pool of that name already exists with UUID ${live.uuid}`);
        }
        if (live.path !== inputs.path) {
            throw new Error(
                `libvirt pool '${inputs.name}' of this stack points at ${live.path}, not ${inputs.path}; ` +
                    "destroy the stack's libvirt resources first or keep the old storageDir",
            );
        }
        await ensurePoolActive(inputs, uuid);
        return { ...inputs, uuid };
    }
    await withXmlFile(poolXml(inputs, uuid), (file) => virsh(inputs.uri, ["pool-define", file], inputs.name));
    try {
        await virsh(inputs.uri, ["pool-start", "--build", uuid], inputs.name);
        const leftovers = await poolVolumes(inputs, uuid);
        if (leftovers.length > 0) {
            throw new Error(
                `refusing to create libvirt pool '${inputs.name}': its directory ${inputs.path} already holds ` +
                    `${leftovers.join(", ")}; the stack's pool needs a directory of its own (set storageDir)`,
            );
        }
        await virsh(inputs.uri, ["pool-autostart", uuid], inputs.name);
    } catch (error) {
        // Create is transactional for Pulumi: take back the definition; a directory that held
        // files before is never removed (pool-delete only removes an empty directory).
        await virshIfExists(inputs.uri, ["pool-destroy", uuid], inputs.name).catch(() => undefined);
        await virshIfExists(inputs.uri, ["pool-delete", uuid], inputs.name).catch(() => undefined);
        await virshIfExists(inputs.uri, ["pool-undefine", uuid], inputs.name).catch(() => undefined);
        throw error;
    }
    return { ...inputs, uuid };
}

async function ensurePoolActive(inputs: PoolInputs, uuid: string): Promise<void> {
    try {
        await virsh(inputs.uri, ["pool-start", "--build", uuid], inputs.name);
    } catch (error) {
        if (!/already active/i.test((error as Error).message)) {
            throw error;
        }
    }
    await virsh(inputs.uri, ["pool-autostart", uuid], inputs.name);
}

/** Volume names in the pool (our names have no spaces; a path column follows each name). */
function poolVolumes(inputs: PoolInputs, uuid: string): Promise<string[]> {
    return poolVolumeNames(inputs.uri, uuid, inputs.name).then((names) => names ?? []);
}

/**
 * Volume names in the pool with UUID `poolUuid` (a path column follows each name; the names the
 * lab and sushy-tools give have no spaces), or undefined when there is no such pool.
 */
export async function poolVolumeNames(uri: string, poolUuid: string, label: string): Promise<string[] | undefined> {
    const listing = await virshIfExists(uri, ["vol-list", poolUuid], label);
    if (listing === undefined) {
        return undefined;
    }
    return listing
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0)
        .map((line) => {
            const pathStart = line.lastIndexOf(" /");
            return (pathStart > 0 ? line.slice(0, pathStart) : line).trim();
        });
}

async function diffPool(olds: PoolOutputs, news: PoolInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["uri", "name", "path", "owner"] as const).filter(
        (key) => JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
    );
    if (replaces.length > 0) {
        // Names and directories are unique per host: the old pool must go before the new one comes.
        return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const uuid = ownedUuid("pool", olds.owner, olds.name);
    const xml = await virshIfExists(olds.uri, ["pool-dumpxml", uuid], olds.name);
    if (xml === undefined) {
        return { changes: true, replaces: ["path"], deleteBeforeReplace: true };
    }
    if (livePool(xml).path !== news.path) {
        return { changes: true, replaces: ["path"], deleteBeforeReplace: true };
    }
    const info = await virsh(olds.uri, ["pool-info", uuid], olds.name);
    const active = /^State:\s+running$/m.test(info) && /^Autostart:\s+yes$/m.test(info);
    return { changes: !active, replaces: [], deleteBeforeReplace: true };
}

/** sushy-tools' virtual media volumes end in their domain's UUID (bmc-media.ts). */
const BMC_MEDIA_NAME = /-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.img$/i;

/**
 * The pool cannot tell which domain UUIDs are the stack's, so it never removes such volumes itself
 * (the Domain provider does, with the domain); it only explains what they probably are.
 */
function bmcMediaHint(pool: string, volumes: string[]): string {
    const media = volumes.filter((v) => BMC_MEDIA_NAME.test(v));
    return media.length === 0
        ? ""
        : `. ${media.join(", ")} look like virtual media the BMC (sushy-tools) uploaded for a machine; a domain ` +
              "deleted by an older version of this program leaves them: remove them with " +
              `\`virsh vol-delete --pool ${pool} <name>\``;
}

async function deletePool(props: PoolOutputs): Promise<void> {
    const uuid = ownedUuid("pool", props.owner, props.name);
    // The refresh doubles as the lookup: by UUID, so a pool of that name with another UUID is never seen.
    let active = true;
    try {
        await virsh(props.uri, ["pool-refresh", uuid], props.name);
    } catch (error) {
        if (isNotFound(error)) {
            return; // already gone
        }
        if (!/not active/i.test((error as Error).message)) {
            throw error;
        }
        active = false;
    }
    if (active) {
        const volumes = await poolVolumes(props, uuid);
        // Console logs of this stack's domains are written here by libvirt; they are the stack's.
        for (const log of volumes.filter((v) => v.endsWith(CONSOLE_LOG_SUFFIX))) {
            await virshIfExists(props.uri, ["vol-delete", "--pool", uuid, log], `${props.name}/${log}`);
        }
        const others = volumes.filter((v) => !v.endsWith(CONSOLE_LOG_SUFFIX));
        if (others.length > 0) {
            // The stack deletes its own disks before their pool (Machines wires them to it), so what is
            // left is either not the stack's, or disks recorded by a state from before that wiring.
            throw new Error(
                `not deleting libvirt pool '${props.name}': ${props.path} still holds ${others.join(", ")}, ` +
                    "which are not in this stack's state; move them away and run again. If they are this stack's " +
                    "machine disks (a storageDir change on a state written by an older version), put storageDir " +
                    "back, run `pulumi up` once, then change it" +
                    bmcMediaHint(props.name, others),
            );
        }
        await virsh(props.uri, ["pool-destroy", uuid], props.name);
    }
    try {
        // Removes the directory only when it is empty.
        await virsh(props.uri, ["pool-delete", uuid], props.name);
    } catch (error) {
        if (!/No such file or directory/i.test((error as Error).message)) {
            throw error;
        }
    }
    try {
        await virsh(props.uri, ["pool-undefine", uuid], props.name);
    } catch (error) {
        if (!isNotFound(error)) {
            throw error;
        }
    }
}

/** The provider object Pulumi serializes; every method only calls the functions above. */
export const poolProvider: pulumi.dynamic.ResourceProvider<PoolInputs, PoolOutputs> = {
    check: async (_olds, news) => checkPoolInputs(news as unknown as Record<string, unknown>),
    create: async (inputs) => {
        const outs = await createPool(inputs);
        return { id: outs.name, outs };
    },
    diff: async (_id, olds, news) => refreshStaleCode(await diffPool(olds, news), olds, news),
    // Starts and autostarts the pool if needed; never touches its volumes (also the revision-only update).
    update: async (_id, _olds, news) => {
        const uuid = ownedUuid("pool", news.owner, news.name);
        await ensurePoolActive(news, uuid);
        return { outs: { ...news, uuid } };
    },
    delete: async (_id, props) => deletePool(props),
};

/** A libvirt `dir` pool owned by the stack. Token: `pulumi-nodejs:dynamic/libvirt:Pool`. */
export class Pool extends pulumi.dynamic.Resource {
    declare readonly uri: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly path: pulumi.Output<string>;
    declare readonly owner: pulumi.Output<OwnerTag>;
    declare readonly uuid: pulumi.Output<string>;
    declare readonly providerRevision: pulumi.Output<string>;

    constructor(name: string, args: PoolArgs, opts?: pulumi.CustomResourceOptions) {
        super(poolProvider, name, { ...args, uuid: undefined, providerRevision: undefined }, opts, "libvirt", "Pool");
    }
}
