/**
 * Domain: a libvirt domain defined from the pure builder's XML (lib/libvirt/domain-xml.ts); defined,
 * not started, unless `running: true` (Tinkerbell's BMC controller powers machines on).
 *
 * Ownership: the XML carries `<metadata><capt:owner project stack/>` and a UUID derived from the
 * owner; a domain of the same name without our tag is never redefined, stopped or undefined.
 * Drift: diff compares the desired XML with `virsh dumpxml --inactive` field by field
 * (domain-facts.ts), so changes made by hand show up, and a domain removed by hand is recreated.
 * What the BMC owns after create — power state, boot order (DESIGN.md decision 8) and the virtual
 * media a Redfish InsertMedia added (bmc-media.ts) — is not drift, and an update keeps the boot
 * order and the media the live domain has (domain-edit.ts); delete removes the media's volumes.
 * Type: `domainType: auto` is resolved here, at create, against the domain's own URI and guest
 * architecture (an aarch64 guest on an x86_64 host is emulated), and recorded
 * as `resolvedType`; later diffs and updates use the recorded type, so neither the program's
 * `preflight` setting nor a host that gains or loses KVM changes an existing domain.
 */
import * as pulumi from "@pulumi/pulumi";
import { DomainTypeChoice, MachineArch } from "../../lib/config";
import { CPU_MODE, DomainSpec, DomainType, buildDomainXml } from "../../lib/libvirt/domain-xml";
import { OWNERSHIP_NAMESPACE, OwnerTag, ownedUuid, sameOwner } from "../../lib/libvirt/ownership";
import { isBmcMediaName } from "./bmc-media";
import { keepBmcMedia, keepLiveBootOrder, retypeDomain } from "./domain-edit";
import { DomainFacts, domainDrift, domainFacts } from "./domain-facts";
import { kvmUsable } from "./host";
import { LIBVIRT_URI, OBJECT_NAME, inputChecker, isUnknown, unwrapSecrets } from "./inputs";
import { poolVolumeNames } from "./pool";
import { Revisioned, refreshStaleCode, withRevision } from "./revision";
import { isNotFound, virsh, virshIfExists, withXmlFile } from "./virsh";

export interface DomainInputs extends Revisioned {
    uri: string;
    name: string;
    owner: OwnerTag;
    /**
     * The complete definition, as buildDomainXml renders it; with `domainType: auto` the KVM form,
     * which the provider turns into the TCG form when the host cannot run KVM guests.
     */
    xml: string;
    /** The configured choice; absent in state written before the provider resolved `auto`. */
    domainType?: DomainTypeChoice;
    /** Start the domain after defining it. False leaves its power state alone (the BMC owns it). */
    running: boolean;
}

export interface DomainOutputs extends DomainInputs {
    uuid: string;
    /** The type the domain was defined with; `auto` keeps it for the domain's lifetime. */
    resolvedType?: DomainType;
    /** Things the last update could not do without a power cycle; also printed as warnings. */
    notices: string[];
}

export interface DomainArgs {
    uri: pulumi.Input<string>;
    /**
     * The builder's input, e.g. domainSpecFor(config, plan, machine); Machines passes the disk's
     * pool and volume as the Volume's outputs, so the engine replaces the domain with its disk.
     */
    spec: pulumi.Input<DomainSpec>;
    running?: pulumi.Input<boolean>;
}

const DOMAIN_TYPES: readonly string[] = ["auto", "kvm", "qemu"];

function checkDomainInputs(news: Record<string, unknown>): pulumi.dynamic.CheckResult<DomainInputs> {
    const inputs = unwrapSecrets(news) as Record<string, unknown>;
    if (["name", "owner", "xml"].some((key) => isUnknown(inputs[key]))) {
        // A preview in which the disk's volume is not known yet: the real create checks again.
        return { inputs: withRevision(inputs as unknown as DomainInputs, news), failures: [] };
    }
    const c = inputChecker(inputs);
    const checked: DomainInputs = {
        uri: c.string("uri", LIBVIRT_URI, "a libvirt URI such as qemu:///system"),
        name: c.string("name", OBJECT_NAME, "a domain name of letters, digits, '.', '_', '+' or '-'"),
        owner: c.owner(),
        xml: typeof inputs.xml === "string" ? inputs.xml : "",
        running: c.boolean("running", false),
    };
    if (inputs.domainType !== undefined && inputs.domainType !== null) {
        if (typeof inputs.domainType === "string" && DOMAIN_TYPES.includes(inputs.domainType)) {
            checked.domainType = inputs.domainType as DomainTypeChoice;
        } else {
            c.fail("domainType", `expected auto, kvm or qemu, got ${JSON.stringify(inputs.domainType)}`);
        }
    }
    let facts: DomainFacts | undefined;
    try {
        facts = domainFacts(checked.xml, OWNERSHIP_NAMESPACE);
    } catch (error) {
        c.fail("xml", `expected libvirt domain XML: ${(error as Error).message}`);
    }
    if (facts) {
        if (facts.name !== checked.name) {
            c.fail("xml", `the XML defines '${facts.name}', not '${checked.name}'`);
        }
        if (!facts.uuid) {
            c.fail("xml", "the XML must carry the domain's derived <uuid> (redefinitions keep it)");
        }
        if (!sameOwner(facts.owner, checked.owner)) {
            c.fail("xml", "the XML's <metadata> ownership tag must name the same project and stack as owner");
        }
        if (checked.domainType !== undefined && checked.domainType !== "auto" && facts.type !== checked.domainType) {
            c.fail("xml", `the XML defines a '${facts.type}' domain, but domainType is '${checked.domainType}'`);
        }
    }
    return { inputs: withRevision(checked, news), failures: c.failures };
}

function refusal(inputs: DomainInputs, why: string): Error {
    return new Error(
        `refusing to touch libvirt domain '${inputs.name}' on ${inputs.uri}: ${why}. It is not tagged as owned by ` +
            `stack '${inputs.owner.stack}' of project '${inputs.owner.project}' and was left untouched; ` +
            "rename or remove it, or use another stack name.",
    );
}

/**
 * The type to define: an explicit choice as given; `auto` keeps the type recorded at create (or,
 * for state from before `resolvedType` existed, the type the domain has), and asks the host only
 * for a domain that does not exist yet.
 */
async function typeFor(news: DomainInputs, recorded: DomainType | undefined): Promise<DomainType> {
    if (news.domainType !== "auto") {
        const explicit = news.domainType ?? domainFacts(news.xml, OWNERSHIP_NAMESPACE).type;
        return explicit === "qemu" ? "qemu" : "kvm";
    }
    // KVM runs guests of the host's own architecture only: ask for the one the definition names.
    return recorded ?? ((await kvmUsable(news.uri, archOf(news.xml))) ? "kvm" : "qemu");
}

function archOf(xml: string): MachineArch | undefined {
    const arch = domainFacts(xml, OWNERSHIP_NAMESPACE).arch;
    return arch === "x86_64" || arch === "aarch64" ? arch : undefined;
}

function asDomainType(type: string | undefined): DomainType | undefined {
    return type === "kvm" || type === "qemu" ? type : undefined;
}

/** The XML to define for `inputs` once its type is known. */
function definitionFor(inputs: DomainInputs, type: DomainType): string {
    return inputs.domainType === "auto" ? retypeDomain(inputs.xml, type, CPU_MODE) : inputs.xml;
}

/**
 * `virsh define` either creates the domain or redefines the one with our derived UUID; it fails
 * when the name belongs to a domain with another UUID, which is then explained.
 */
async function defineDomain(inputs: DomainInputs, xml: string): Promise<void> {
    try {
        await withXmlFile(xml, (file) => virsh(inputs.uri, ["define", file], inputs.name));
    } catch (error) {
        // If even the diagnosis fails (libvirtd unreachable), the define error is the one to report.
        const existing = await virshIfExists(inputs.uri, ["dumpxml", "--inactive", inputs.name], inputs.name).catch(
            () => undefined,
        );
        if (existing !== undefined && !sameOwner(domainFacts(existing, OWNERSHIP_NAMESPACE).owner, inputs.owner)) {
            throw refusal(inputs, "a domain of that name already exists");
        }
        throw error;
    }
}

async function startDomain(inputs: DomainInputs): Promise<void> {
    try {
        await virsh(inputs.uri, ["start", inputs.name], inputs.name);
    } catch (error) {
        if (!/already active|already running/i.test((error as Error).message)) {
            throw error;
        }
    }
}

async function createDomain(inputs: DomainInputs): Promise<DomainOutputs> {
    const resolvedType = await typeFor(inputs, undefined);
    await defineDomain(inputs, definitionFor(inputs, resolvedType));
    try {
        await registerConsoleLogs(inputs);
    } catch (error) {
        // Create is transactional for Pulumi: a failed create leaves no domain behind.
        await virshIfExists(inputs.uri, ["undefine", "--nvram", inputs.name], inputs.name).catch(() => undefined);
        throw error;
    }
    if (inputs.running) {
        await startDomain(inputs);
    }
    return { ...inputs, uuid: domainFacts(inputs.xml, OWNERSHIP_NAMESPACE).uuid ?? "", resolvedType, notices: [] };
}

async function diffDomain(olds: DomainOutputs, news: DomainInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces: string[] = (["uri", "name", "owner"] as const).filter(
        (key) => isUnknown(news[key]) || JSON.stringify(olds[key]) !== JSON.stringify(news[key]),
    );
    if (isUnknown(news.xml)) {
        // The engine asks this while it replaces what the definition names (the disk's volume and
        // pool, see Machines): a machine whose disk is replaced is replaced with it.
        replaces.push("xml");
    }
    if (replaces.length > 0) {
        // The same name may be reused; the old domain must be gone before the new one is defined.
        return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const liveXml = await virshIfExists(olds.uri, ["dumpxml", "--inactive", olds.name], olds.name);
    if (liveXml === undefined) {
        return { changes: true, replaces: ["xml"], deleteBeforeReplace: true };
    }
    const live = domainFacts(liveXml, OWNERSHIP_NAMESPACE);
    if (!sameOwner(live.owner, olds.owner)) {
        throw refusal(news, "the domain of that name was replaced by one this stack did not define");
    }
    const recorded = olds.resolvedType ?? asDomainType(live.type);
    const oldType = olds.domainType === "auto" ? (recorded ?? "kvm") : await typeFor(olds, undefined);
    const desired = definitionFor(news, await typeFor(news, recorded));
    const drift = domainDrift(domainFacts(desired, OWNERSHIP_NAMESPACE), live);
    const startWanted = news.running && !(await isActive(olds));
    return {
        // Compared as defined, so `auto` and the explicit type it resolved to are no change.
        changes: drift.length > 0 || definitionFor(olds, oldType) !== desired || startWanted,
        replaces: [],
        deleteBeforeReplace: true,
    };
}

async function isActive(inputs: DomainInputs): Promise<boolean> {
    const state = await virsh(inputs.uri, ["domstate", inputs.name], inputs.name);
    return !/shut off|crashed/i.test(state);
}

async function updateDomain(olds: DomainOutputs, news: DomainInputs): Promise<DomainOutputs> {
    const before = await virshIfExists(news.uri, ["dumpxml", "--inactive", news.name], news.name);
    const beforeFacts = before === undefined ? undefined : domainFacts(before, OWNERSHIP_NAMESPACE);
    if (beforeFacts && !sameOwner(beforeFacts.owner, news.owner)) {
        throw refusal(news, "a domain of that name exists");
    }
    const resolvedType = await typeFor(news, olds.resolvedType ?? asDomainType(beforeFacts?.type));
    const desired = definitionFor(news, resolvedType);
    // The BMC's boot order and media (if it changed them) survive a redefinition made for another reason.
    await defineDomain(news, before === undefined ? desired : keepLiveBootOrder(keepBmcMedia(desired, before), before));
    await registerConsoleLogs(news);
    const notices: string[] = [];
    if (beforeFacts) {
        const changed = domainDrift(domainFacts(desired, OWNERSHIP_NAMESPACE), beforeFacts);
        if (changed.length > 0 && (await isActive(news))) {
            notices.push(
                `domain ${news.name} is running: its new definition (${changed.join(", ")}) takes effect at ` +
                    "its next power cycle; it was not restarted",
            );
        }
    }
    for (const notice of notices) {
        console.warn(`warning: ${notice}`);
    }
    if (news.running) {
        await startDomain(news);
    }
    return { ...news, uuid: domainFacts(news.xml, OWNERSHIP_NAMESPACE).uuid ?? "", resolvedType, notices };
}

async function deleteDomain(props: DomainInputs): Promise<void> {
    const liveXml = await virshIfExists(props.uri, ["dumpxml", props.name], props.name);
    if (liveXml !== undefined) {
        const live = domainFacts(liveXml, OWNERSHIP_NAMESPACE);
        if (!sameOwner(live.owner, props.owner)) {
            console.warn(`warning: ${refusal(props, "the domain of that name is not this stack's").message}`);
            return;
        }
        if (live.running) {
            await virshIfExists(props.uri, ["destroy", props.name], props.name).catch(ignoreNotRunning);
        }
        // --nvram removes the UEFI variable store libvirt created at first start.
        await virshIfExists(props.uri, ["undefine", "--nvram", props.name], props.name);
    }
    await removeConsoleLogs(props);
    await removeBmcMedia(props);
}

function ignoreNotRunning(error: unknown): undefined {
    if (/not running/i.test((error as Error).message)) {
        return undefined;
    }
    throw error;
}

/**
 * Console logs, by convention `<pool dir>/<domain>.console.log` (and `<domain>.osie.log`, the second
 * serial port's) in the pool of the domain's disk
 * (domainSpecFor puts them there). The provider registers each one as an empty volume of that pool
 * when it defines the domain, so libvirt knows the file and delete removes it with one vol-delete —
 * also on remote hosts — without a pool refresh; virtlogd appends to it once the domain runs.
 */
function consoleLogVolumes(inputs: DomainInputs): { poolUuid: string; pool: string; volume: string }[] {
    const facts = domainFacts(inputs.xml, OWNERSHIP_NAMESPACE);
    const pool = facts.disks.map((d) => d.pool).find((p): p is string => p !== undefined);
    const expected = [`${inputs.name}.console.log`, `${inputs.name}.osie.log`];
    if (pool === undefined) {
        return [];
    }
    return facts.consoleLogs
        .map((log) => expected.find((name) => log.endsWith(`/${name}`)))
        .filter((volume): volume is string => volume !== undefined)
        .map((volume) => ({ poolUuid: ownedUuid("pool", inputs.owner, pool), pool, volume }));
}

async function registerConsoleLogs(inputs: DomainInputs): Promise<void> {
    for (const log of consoleLogVolumes(inputs)) {
        try {
            await virsh(inputs.uri, ["vol-create-as", log.poolUuid, log.volume, "0", "--format", "raw"], log.volume);
        } catch (error) {
            // Already there (a redefinition) or no pool of ours: virtlogd creates the file when needed.
            if (!isNotFound(error) && !/already exists|exists already/i.test((error as Error).message)) {
                throw error;
            }
        }
    }
}

async function removeConsoleLogs(props: DomainInputs): Promise<void> {
    for (const log of consoleLogVolumes(props)) {
        const remove = () =>
            virshIfExists(props.uri, ["vol-delete", "--pool", log.poolUuid, log.volume], `${log.pool}/${log.volume}`);
        if ((await remove()) !== undefined) {
            continue;
        }
        // Not known to libvirt (removed from the pool's list, or written while unregistered):
        // a refresh lists the files in the directory again, then remove it if it is there.
        try {
            await virsh(props.uri, ["pool-refresh", log.poolUuid], log.pool);
        } catch (error) {
            if (isNotFound(error) || /not active/i.test((error as Error).message)) {
                continue; // no pool of ours, or an inactive one: nothing libvirt could remove
            }
            throw error;
        }
        await remove();
    }
}

/**
 * The volumes sushy-tools uploaded for this domain's virtual media into the pool of its disk
 * (bmc-media.ts: named after the domain's derived UUID). EjectMedia leaves them there, and the
 * pool's delete refuses volumes it cannot attribute, so they go with the domain. Found by listing
 * the pool (libvirt created them, so it knows them); an absent or inactive pool holds nothing to remove.
 */
async function removeBmcMedia(props: DomainInputs): Promise<void> {
    const facts = domainFacts(props.xml, OWNERSHIP_NAMESPACE);
    const pool = facts.disks.map((d) => d.pool).find((p): p is string => p !== undefined);
    if (pool === undefined || !facts.uuid) {
        return;
    }
    const poolUuid = ownedUuid("pool", props.owner, pool);
    let volumes: string[] | undefined;
    try {
        volumes = await poolVolumeNames(props.uri, poolUuid, pool);
    } catch (error) {
        if (/not active/i.test((error as Error).message)) {
            return;
        }
        throw error;
    }
    for (const volume of (volumes ?? []).filter((name) => isBmcMediaName(name, facts.uuid))) {
        await virshIfExists(props.uri, ["vol-delete", "--pool", poolUuid, volume], `${pool}/${volume}`);
    }
}

/** The provider object Pulumi serializes; every method only calls the functions above. */
export const domainProvider: pulumi.dynamic.ResourceProvider<DomainInputs, DomainOutputs> = {
    check: async (_olds, news) => checkDomainInputs(news as unknown as Record<string, unknown>),
    create: async (inputs) => {
        const outs = await createDomain(inputs);
        return { id: outs.name, outs };
    },
    diff: async (_id, olds, news) => refreshStaleCode(await diffDomain(olds, news), olds, news),
    // Redefines with the same UUID and MACs and keeps what the BMC changed; never restarts a running domain.
    update: async (_id, olds, news) => ({ outs: await updateDomain(olds, news) }),
    delete: async (_id, props) => deleteDomain(props),
};

/** A lab machine's libvirt domain. Token: `pulumi-nodejs:dynamic/libvirt:Domain`. */
export class Domain extends pulumi.dynamic.Resource {
    declare readonly uri: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;
    declare readonly owner: pulumi.Output<OwnerTag>;
    declare readonly xml: pulumi.Output<string>;
    declare readonly domainType: pulumi.Output<DomainTypeChoice>;
    declare readonly running: pulumi.Output<boolean>;
    declare readonly uuid: pulumi.Output<string>;
    declare readonly resolvedType: pulumi.Output<DomainType>;
    declare readonly notices: pulumi.Output<string[]>;
    declare readonly providerRevision: pulumi.Output<string>;

    constructor(name: string, args: DomainArgs, opts?: pulumi.CustomResourceOptions) {
        const spec = pulumi.output(args.spec);
        super(
            domainProvider,
            name,
            {
                uri: args.uri,
                name: spec.name,
                owner: spec.owner,
                // `auto` renders the KVM form here; the provider resolves it (see the file comment).
                xml: spec.apply((s) => buildDomainXml(s as DomainSpec)),
                domainType: spec.type,
                running: args.running ?? false,
                uuid: undefined,
                resolvedType: undefined,
                notices: undefined,
                providerRevision: undefined,
            },
            opts,
            "libvirt",
            "Domain",
        );
    }
}
