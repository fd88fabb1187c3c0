/**
 * Virtual media the BMC inserts (Redfish InsertMedia through sushy-tools, Tinkerbell's isoboot) is
 * BMC-owned state of the stack's domains, against a real libvirtd: no drift, kept by updates,
 * removed with the domain, and the pool then deletes cleanly. The insert is reproduced with virsh
 * exactly as sushy-tools 2.2.0 does it (libvirtdriver.py: _upload_image, _add_boot_image,
 * set_boot_device), so this suite needs no BMC container; tests/e2e/daemons.test.ts step 5 runs the
 * real InsertMedia.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { isBmcMediaDisk, isBmcMediaName } from "../../providers/libvirt/bmc-media";
import { DomainInputs, DomainOutputs, domainProvider } from "../../providers/libvirt/domain";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import { PoolOutputs, poolProvider } from "../../providers/libvirt/pool";
import { VolumeOutputs, volumeProvider } from "../../providers/libvirt/volume";
import { describeWithLibvirt, virshOk, virshSync } from "./gate";
import { TestLab, createTestLab } from "./lab";

/** sushy-tools' volume name for an image downloaded as `file` into domain `uuid` (_upload_image). */
function sushyVolumeName(file: string, uuid: string): string {
    return `${file.replace(/\./g, "-")}-${uuid}.img`;
}

/**
 * How Python's ElementTree, which sushy-tools and VirtualBMC redefine domains with, writes our
 * ownership element back: prefix renamed to ns0, declared on the root (libvirt then keeps the
 * declaration on <metadata>).
 */
function throughElementTree(xml: string): string {
    return xml
        .replace(/<capt:owner xmlns:capt=(['"])[^'"]+\1/, "<ns0:owner")
        .replace("<domain ", `<domain xmlns:ns0="${OWNERSHIP_NAMESPACE}" `);
}

/**
 * InsertMedia as sushy-tools does it on a q35 domain: a raw volume in the pool, then a read-only
 * cdrom on the SATA bus pointing at it, made the one-time boot device (per-device <boot order>).
 */
function sushyInsertMedia(lab: TestLab, domain: string, file = "boot.iso"): string {
    const uuid = virshOk("domuuid", domain).trim();
    const volume = sushyVolumeName(file, uuid);
    virshOk("vol-create-as", lab.pool.name, volume, "1M", "--format", "raw");
    const volumePath = virshOk("vol-path", "--pool", lab.pool.name, volume).trim();
    const disk =
        "<disk type='file' device='cdrom'><target dev='sdx' bus='sata'/>" +
        "<address type='drive' controller='0' bus='0' target='0' unit='0'/>" +
        `<driver name='qemu' type='raw'/><source file='${volumePath}'/><readonly/><boot order='1'/></disk>`;
    const xml = virshOk("dumpxml", "--inactive", "--security-info", domain)
        .replace(/\s*<boot dev=[^>]*\/>/g, "")
        .replace("</devices>", `${disk}</devices>`);
    const definition = path.join(lab.folder, `${domain}-vmedia.xml`);
    fs.writeFileSync(definition, throughElementTree(xml));
    virshOk("define", definition);
    return volume;
}

function volumeNames(lab: TestLab): string[] {
    return virshOk("vol-list", lab.pool.name)
        .split("\n")
        .map((line) => line.trim().split(/\s+/)[0])
        .filter((name) => name);
}

function liveFacts(name: string) {
    return domainFacts(virshOk("dumpxml", "--inactive", name), OWNERSHIP_NAMESPACE);
}

async function createDomain(inputs: DomainInputs): Promise<DomainOutputs> {
    const checked = await domainProvider.check!({} as DomainInputs, inputs);
    expect(checked.failures).toEqual([]);
    return (await domainProvider.create(checked.inputs!)).outs as DomainOutputs;
}

test("sushy-tools' media names are recognised only with the domain's own UUID", () => {
    const uuid = "3f1c2b7a-0d4e-8a11-9f00-0123456789ab";
    expect(isBmcMediaName(`/var/lib/libvirt/images/lab/boot-iso-${uuid}.img`, uuid)).toBe(true);
    expect(isBmcMediaName(`hook-x86_64-iso-${uuid.toUpperCase()}.img`, uuid)).toBe(true);
    expect(isBmcMediaName(`-${uuid}.img`, uuid)).toBe(false);
    expect(isBmcMediaName(`boot-iso-${uuid}.img`, "11111111-2222-8333-8444-555555555555")).toBe(false);
    expect(isBmcMediaName(`boot-iso-${uuid}.img`, undefined)).toBe(false);
    const media = { type: "file", device: "cdrom", file: `/p/boot-iso-${uuid}.img` };
    expect(isBmcMediaDisk(media, uuid)).toBe(true);
    expect(isBmcMediaDisk({ ...media, device: "disk" }, uuid)).toBe(false);
    expect(isBmcMediaDisk({ ...media, file: "/p/mine.iso" }, uuid)).toBe(false);
});

describeWithLibvirt("virtual media the BMC inserts, against a real libvirtd", () => {
    let lab: TestLab;
    let pool: PoolOutputs;

    beforeAll(async () => {
        lab = createTestLab();
        pool = (await poolProvider.create(lab.pool)).outs as PoolOutputs;
    });
    afterAll(() => lab?.cleanup());

    test("an inserted CD is no drift, survives an update with its boot order, and goes with the domain", async () => {
        const name = lab.objectName("iso");
        const disk = lab.volume(`${name}.qcow2`, 1);
        const diskOuts = (await volumeProvider.create(disk)).outs as VolumeOutputs;
        const created = lab.domain(name);
        let outs = await createDomain(created);
        const media = sushyInsertMedia(lab, name);
        expect(liveFacts(name).disks.map((d) => d.device)).toEqual(["disk", "cdrom"]);
        // The BMC's rewrite moved the ownership tag's namespace declaration: still the stack's domain.
        expect(virshOk("dumpxml", "--inactive", name)).toMatch(/<metadata xmlns:ns0=[^>]*>\s*<ns0:owner /);
        expect(liveFacts(name).owner).toEqual(lab.owner);
        expect(await domainProvider.diff!(name, outs, created)).toMatchObject({ changes: false });

        // An update for another reason keeps the CD and its one-time boot order.
        const mac = domainFacts(created.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac!;
        const bigger = lab.domain(name, { memoryMiB: 1024, network: { mac, bridge: lab.bridge } });
        expect(await domainProvider.diff!(name, outs, bigger)).toMatchObject({ changes: true, replaces: [] });
        outs = (await domainProvider.update!(name, outs, bigger)).outs as DomainOutputs;
        const liveXml = virshOk("dumpxml", "--inactive", name);
        expect(liveFacts(name)).toMatchObject({ memoryKiB: 1024 * 1024, boot: [] });
        expect(liveXml).toMatch(new RegExp(`<disk type='file' device='cdrom'>[^]*${media}[^]*<boot order='1'/>`));
        expect(await domainProvider.diff!(name, outs, bigger)).toMatchObject({ changes: false });

        // Powered on by the BMC (the CD's file is opened by QEMU), then destroyed: domain, media volume,
        // disk, pool, in the engine's order, with nothing left behind.
        virshOk("start", name);
        await domainProvider.delete!(name, outs);
        expect(virshSync("domuuid", name).status).not.toBe(0);
        expect(volumeNames(lab)).not.toContain(media);
        expect(fs.existsSync(path.join(lab.pool.path, media))).toBe(false);
        await volumeProvider.delete!(disk.name, diskOuts);
        expect(volumeNames(lab)).toEqual([]);
    });

    test("after EjectMedia (CD gone, volume left) the domain's delete still removes the volume", async () => {
        const name = lab.objectName("eject");
        const outs = await createDomain(lab.domain(name));
        const media = sushyInsertMedia(lab, name, "hook.iso");
        // EjectMedia: _remove_boot_images drops every cdrom; the volume stays in the pool.
        const ejected = virshOk("dumpxml", "--inactive", "--security-info", name).replace(
            /<disk type='file' device='cdrom'>[^]*?<\/disk>/,
            "",
        );
        const file = path.join(lab.folder, `${name}-ejected.xml`);
        fs.writeFileSync(file, throughElementTree(ejected));
        virshOk("define", file);
        expect(liveFacts(name).disks.map((d) => d.device)).toEqual(["disk"]);
        expect(volumeNames(lab)).toContain(media);
        await domainProvider.delete!(name, outs);
        expect(virshSync("domuuid", name).status).not.toBe(0);
        expect(volumeNames(lab)).not.toContain(media);
    });

    test("a CD attached by hand, not by the BMC, is still drift and an update removes it", async () => {
        const name = lab.objectName("hand");
        const created = lab.domain(name);
        let outs = await createDomain(created);
        const image = path.join(lab.pool.path, "mine.iso");
        fs.writeFileSync(image, Buffer.alloc(4096));
        virshOk("attach-disk", name, image, "sdx", "--type", "cdrom", "--targetbus", "sata", "--config");
        expect(await domainProvider.diff!(name, outs, created)).toMatchObject({ changes: true });
        outs = (await domainProvider.update!(name, outs, created)).outs as DomainOutputs;
        expect(liveFacts(name).disks.map((d) => d.device)).toEqual(["disk"]);
        await domainProvider.delete!(name, outs);
        // Not the stack's: left where it is.
        expect(fs.existsSync(image)).toBe(true);
        fs.rmSync(image);
    });

    test("the pool never removes media volumes it cannot attribute, and says what they are", async () => {
        const stray = sushyVolumeName("boot.iso", "3f1c2b7a-0d4e-8a11-9f00-0123456789ab");
        virshOk("pool-refresh", lab.pool.name);
        virshOk("vol-create-as", lab.pool.name, stray, "1M", "--format", "raw");
        await expect(poolProvider.delete!(lab.pool.name, pool)).rejects.toThrow(
            new RegExp(`still holds ${stray}[^]*virtual media the BMC \\(sushy-tools\\) uploaded`),
        );
        expect(fs.existsSync(path.join(lab.pool.path, stray))).toBe(true);
        virshOk("vol-delete", "--pool", lab.pool.name, stray);
        await poolProvider.delete!(lab.pool.name, pool);
        expect(virshSync("pool-info", lab.pool.name).status).not.toBe(0);
        expect(fs.existsSync(lab.pool.path)).toBe(false);
    });
});
