/**
 * Stale provider code in state, against a real libvirtd: a resource whose stored outputs were written
 * by older provider code (Pulumi's delete runs that stored code) gets exactly one in-place update for
 * it, which leaves the pool, the volume and the running domain as they were; the diff is clean after.
 *
 * The provider methods are called directly, so the test plays the dynamic-provider host's part: the
 * inputs carry the program's `__provider`, and the stored outputs the one that wrote them.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { DomainInputs, DomainOutputs, domainProvider } from "../../providers/libvirt/domain";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import { PoolOutputs, poolProvider } from "../../providers/libvirt/pool";
import { providerRevision, refreshStaleCode } from "../../providers/libvirt/revision";
import { VolumeInputs, VolumeOutputs, volumeProvider } from "../../providers/libvirt/volume";
import { describeWithLibvirt, virshOk } from "./gate";
import { TestLab, createTestLab } from "./lab";

/** Stand-ins for serialized provider code: only their identity matters to the revision. */
const OLDER_CODE = "exports.handler = () => ({}); // written by an older version of the providers";
const CURRENT_CODE = "exports.handler = () => ({}); // the program's providers";

type Stored<T> = T & { __provider: string };

/** Outputs as the host stores them: the provider's outs plus the code that wrote them. */
function stored<T extends object>(outs: T, code: string): Stored<T> {
    return { ...outs, __provider: code };
}

/** State written before `providerRevision` existed: older code, and no revision recorded. */
function legacyState<T extends { providerRevision?: string }>(outs: T): Stored<T> {
    const { providerRevision: _absent, ...rest } = outs;
    return stored(rest as T, OLDER_CODE);
}

/** The program's inputs after check, as the engine hands them to diff and update (the host re-adds the code). */
async function checkedNow<T>(
    provider: { check?: (olds: T, news: T) => Promise<{ inputs?: T; failures?: unknown[] }> },
    olds: T,
    inputs: T,
): Promise<Stored<T>> {
    const checked = await provider.check!(olds, stored(inputs as object, CURRENT_CODE) as T);
    expect(checked.failures).toEqual([]);
    return stored(checked.inputs as object, CURRENT_CODE) as Stored<T>;
}

const STALE_ONLY = { changes: true, replaces: [], deleteBeforeReplace: true };

function poolFacts(lab: TestLab) {
    const xml = virshOk("pool-dumpxml", lab.pool.name);
    return {
        uuid: /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1],
        path: /<path>([^<]+)<\/path>/.exec(xml)?.[1],
        info: virshOk("pool-info", lab.pool.name).replace(/^(Capacity|Allocation|Available):.*$/gm, ""),
        volumes: virshOk("vol-list", lab.pool.name).split("\n").sort(),
    };
}

function volumeFacts(lab: TestLab, name: string) {
    const file = path.join(lab.pool.path, name);
    return {
        xml: virshOk("vol-dumpxml", "--pool", lab.pool.name, name),
        inode: fs.statSync(file).ino,
        sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex"),
    };
}

function domainState(name: string) {
    return {
        inactiveXml: virshOk("dumpxml", "--inactive", name),
        // A restart would give the running domain another id.
        id: virshOk("domid", name).trim(),
        state: virshOk("domstate", name).trim(),
    };
}

/** The BMC's edit of a defined domain (VirtualBMC's set_boot_device): one <os><boot dev>, nothing else. */
function bmcBootFromDisk(lab: TestLab, name: string): void {
    const edited = virshOk("dumpxml", "--inactive", "--security-info", name)
        .replace(/\s*<boot [^>]*\/>/g, "")
        .replace("</os>", "<boot dev='hd'/></os>");
    const file = path.join(lab.folder, `${name}-bmc.xml`);
    fs.writeFileSync(file, edited);
    virshOk("define", file);
}

test("refreshStaleCode: only a clean diff over stale code becomes an update; replacements stay", () => {
    const olds = { __provider: OLDER_CODE };
    const news = { __provider: CURRENT_CODE };
    const clean = { changes: false, replaces: [], deleteBeforeReplace: true };
    const replace = { changes: true, replaces: ["name"], deleteBeforeReplace: true };
    expect(refreshStaleCode(clean, olds, news)).toEqual(STALE_ONLY);
    expect(refreshStaleCode(replace, olds, news)).toEqual(replace);
    expect(refreshStaleCode(clean, news, news)).toEqual(clean);
    // Without code (direct calls) or with code not known yet (previews) there is nothing to compare.
    expect(refreshStaleCode(clean, olds, {})).toEqual(clean);
    expect(refreshStaleCode(clean, olds, { __provider: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).toEqual(clean);
    expect(providerRevision(news)).toMatch(/^[0-9a-f]{16}$/);
    expect(providerRevision(news)).not.toBe(providerRevision(olds));
});

describeWithLibvirt("state written by older provider code: one harmless in-place update", () => {
    let lab: TestLab;
    let pool: Stored<PoolOutputs>;
    let volume: Stored<VolumeOutputs>;
    let volumeIn: VolumeInputs;
    let domain: Stored<DomainOutputs>;
    let domainIn: DomainInputs;

    beforeAll(async () => {
        lab = createTestLab();
        pool = legacyState((await poolProvider.create(lab.pool)).outs as PoolOutputs);
        volumeIn = lab.volume(lab.objectName("data.qcow2"), 1);
        volume = legacyState((await volumeProvider.create(volumeIn)).outs as VolumeOutputs);
        const name = lab.objectName("stale");
        await volumeProvider.create(lab.volume(`${name}.qcow2`, 1));
        domainIn = lab.domain(name);
        domain = legacyState((await domainProvider.create(domainIn)).outs as DomainOutputs);
        // As in a lab: the BMC has changed the boot order and powered the machine on.
        bmcBootFromDisk(lab, name);
        virshOk("start", name);
    });
    afterAll(() => lab?.cleanup());

    test("Pool: update (not replace) for the code alone; the pool and its volumes stay as they were", async () => {
        const news = await checkedNow(poolProvider, lab.pool, lab.pool);
        expect(news.providerRevision).toBe(providerRevision(news));
        expect(await poolProvider.diff!(pool.name, pool, news)).toEqual(STALE_ONLY);
        // The stored code is the only reason: the same state with the current code is no change.
        expect((await poolProvider.diff!(pool.name, stored(pool, CURRENT_CODE), news)).changes).toBe(false);

        const before = poolFacts(lab);
        const outs = (await poolProvider.update!(pool.name, pool, news)).outs as PoolOutputs;
        expect(poolFacts(lab)).toEqual(before);
        expect(outs).toMatchObject({ uuid: pool.uuid, providerRevision: news.providerRevision });
        expect((await poolProvider.diff!(pool.name, stored(outs, CURRENT_CODE), news)).changes).toBe(false);
    });

    test("Volume: update (not replace) for the code alone; the disk is neither resized nor rewritten", async () => {
        const news = await checkedNow(volumeProvider, volumeIn, volumeIn);
        expect(await volumeProvider.diff!(volume.name, volume, news)).toEqual(STALE_ONLY);
        expect((await volumeProvider.diff!(volume.name, stored(volume, CURRENT_CODE), news)).changes).toBe(false);

        const before = volumeFacts(lab, volume.name);
        const outs = (await volumeProvider.update!(volume.name, volume, news)).outs as VolumeOutputs;
        expect(volumeFacts(lab, volume.name)).toEqual(before);
        expect(outs).toMatchObject({ capacityBytes: volume.capacityBytes, providerRevision: news.providerRevision });
        expect((await volumeProvider.diff!(volume.name, stored(outs, CURRENT_CODE), news)).changes).toBe(false);
    });

    test("Domain: update (not replace) for the code alone; same UUID, MAC and BMC boot order, no restart", async () => {
        const news = await checkedNow(domainProvider, domainIn, domainIn);
        expect(await domainProvider.diff!(domain.name, domain, news)).toEqual(STALE_ONLY);
        expect((await domainProvider.diff!(domain.name, stored(domain, CURRENT_CODE), news)).changes).toBe(false);

        const before = domainState(domain.name);
        expect(before.state).toBe("running");
        const outs = (await domainProvider.update!(domain.name, domain, news)).outs as DomainOutputs;
        expect(domainState(domain.name)).toEqual(before);
        const live = domainFacts(before.inactiveXml, OWNERSHIP_NAMESPACE);
        expect(live.uuid).toBe(domain.uuid);
        expect(live.interfaces.map((i) => i.mac)).toEqual(
            domainFacts(domainIn.xml, OWNERSHIP_NAMESPACE).interfaces.map((i) => i.mac),
        );
        expect(before.inactiveXml).toContain("<boot dev='hd'/>");
        expect(outs).toMatchObject({ uuid: domain.uuid, notices: [], providerRevision: news.providerRevision });
        expect((await domainProvider.diff!(domain.name, stored(outs, CURRENT_CODE), news)).changes).toBe(false);
    });
});
