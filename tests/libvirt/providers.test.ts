/**
 * The Pool, Volume and Domain providers' CRUD against a real libvirtd (domain type qemu: nested
 * KVM is not trusted on test machines). Each test builds on the lab created in beforeAll.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { OWNERSHIP_NAMESPACE, ownedUuid } from "../../lib/libvirt/ownership";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import { DomainInputs, DomainOutputs, domainProvider } from "../../providers/libvirt/domain";
import { PoolOutputs, poolProvider } from "../../providers/libvirt/pool";
import { VolumeInputs, VolumeOutputs, volumeProvider } from "../../providers/libvirt/volume";
import * as host from "../../providers/libvirt/host";
import { TEST_URI, describeWithLibvirt, nvramFile, virshOk, virshSync } from "./gate";
import { TestLab, createTestLab } from "./lab";

const GiB = 1024 ** 3;

function liveFacts(name: string) {
    return domainFacts(virshOk("dumpxml", "--inactive", name), OWNERSHIP_NAMESPACE);
}

function volumeCapacity(lab: TestLab, name: string): number {
    const xml = virshOk("vol-dumpxml", "--pool", lab.pool.name, name);
    return Number(/<capacity unit='bytes'>(\d+)<\/capacity>/.exec(xml)?.[1]);
}

/**
 * Rewrites a domain's boot order the way the BMC does, on the live libvirtd: dump the definition,
 * edit it, define it again. VirtualBMC's set_boot_device (IPMI, vbmc.py) drops every <os><boot> and
 * per-device <boot order> and appends one <os><boot dev>; sushy-tools' (Redfish) drops them too and
 * marks the chosen devices with <boot order='1'/> instead.
 */
function bmcSetBootDevice(lab: TestLab, name: string, how: { vbmc: string } | { sushyPxe: true }): void {
    const dropped = virshOk("dumpxml", "--security-info", name).replace(/\s*<boot [^>]*\/>/g, "");
    const edited =
        "vbmc" in how
            ? dropped.replace("</os>", `<boot dev='${how.vbmc}'/></os>`)
            : dropped.replace(/(<interface [^>]*>)/, "$1<boot order='1'/>");
    const file = path.join(lab.folder, `${name}-bmc.xml`);
    fs.writeFileSync(file, edited);
    virshOk("define", file);
}

function domainExists(name: string): boolean {
    return virshSync("domuuid", name).status === 0;
}

async function createDomain(inputs: DomainInputs): Promise<DomainOutputs> {
    const checked = await domainProvider.check!({} as DomainInputs, inputs);
    expect(checked.failures).toEqual([]);
    return (await domainProvider.create(checked.inputs!)).outs as DomainOutputs;
}

describeWithLibvirt("libvirt providers against a real libvirtd", () => {
    let lab: TestLab;
    let pool: PoolOutputs;

    beforeAll(async () => {
        lab = createTestLab();
        pool = (await poolProvider.create(lab.pool)).outs as PoolOutputs;
    });
    afterAll(() => lab?.cleanup());

    describe("Pool", () => {
        test("defines a started, autostarted dir pool whose UUID marks it as the stack's", async () => {
            expect(pool.uuid).toBe(ownedUuid("pool", lab.owner, lab.pool.name));
            const info = virshOk("pool-info", lab.pool.name);
            expect(info).toMatch(new RegExp(`UUID:\\s+${pool.uuid}`));
            expect(info).toMatch(/State:\s+running/);
            expect(info).toMatch(/Autostart:\s+yes/);
            expect(fs.statSync(lab.pool.path).isDirectory()).toBe(true);
            expect((await poolProvider.diff!(lab.pool.name, pool, lab.pool)).changes).toBe(false);
        });

        test("drift: a pool stopped by hand is reported and started again by update", async () => {
            virshOk("pool-destroy", lab.pool.name);
            expect((await poolProvider.diff!(lab.pool.name, pool, lab.pool)).changes).toBe(true);
            await poolProvider.update!(lab.pool.name, pool, lab.pool);
            expect(virshOk("pool-info", lab.pool.name)).toMatch(/State:\s+running/);
        });

        test("refuses a pool name held by a foreign pool, and never touches it", async () => {
            const name = lab.objectName("foreign-pool");
            const dir = path.join(lab.folder, "foreign");
            virshOk("pool-define-as", name, "dir", "--target", dir);
            const before = virshOk("pool-dumpxml", name);
            const inputs = { ...lab.pool, name, path: dir };
            await expect(poolProvider.create(inputs)).rejects.toThrow(
                /refusing to use libvirt pool .* not owned by stack/,
            );
            // A volume aimed at the foreign pool is refused too: volumes only go into the stack's pool.
            await expect(volumeProvider.create({ ...lab.volume("x.qcow2"), pool: name })).rejects.toThrow(
                /does not exist .* never used/,
            );
            await poolProvider.delete!(name, { ...inputs, uuid: "" });
            expect(virshOk("pool-dumpxml", name)).toBe(before);
            virshOk("pool-undefine", name);
        });

        test("refuses a directory that already holds files, and leaves them", async () => {
            const dir = path.join(lab.folder, "busy");
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, "user-file.img"), "mine");
            const inputs = { ...lab.pool, name: lab.objectName("busy-pool"), path: dir };
            await expect(poolProvider.create(inputs)).rejects.toThrow(/already holds user-file.img/);
            expect(fs.readFileSync(path.join(dir, "user-file.img"), "utf8")).toBe("mine");
            expect(virshSync("pool-info", inputs.name).status).not.toBe(0);
        });

        test("check rejects a relative path and a missing owner", async () => {
            const result = await poolProvider.check!({} as PoolOutputs, {
                ...lab.pool,
                path: "pool",
                owner: undefined!,
            });
            expect(result.failures?.map((f) => f.property).sort()).toEqual(["owner", "path"]);
        });
    });

    describe("Volume", () => {
        let inputs: VolumeInputs;
        let volume: VolumeOutputs;

        beforeAll(async () => {
            inputs = lab.volume(lab.objectName("vol.qcow2"), 1);
            volume = (await volumeProvider.create(inputs)).outs as VolumeOutputs;
        });

        test("creates a qcow2 volume of the requested size in the stack's pool", async () => {
            expect(volumeCapacity(lab, inputs.name)).toBe(GiB);
            expect(virshOk("vol-dumpxml", "--pool", lab.pool.name, inputs.name)).toContain("<format type='qcow2'/>");
            expect((await volumeProvider.diff!(inputs.name, volume, inputs)).changes).toBe(false);
        });

        test("grows with vol-resize", async () => {
            const bigger = { ...inputs, capacityGiB: 2 };
            expect((await volumeProvider.check!(inputs, bigger)).failures).toEqual([]);
            const diff = await volumeProvider.diff!(inputs.name, volume, bigger);
            expect(diff).toMatchObject({ changes: true, replaces: [] });
            volume = (await volumeProvider.update!(inputs.name, volume, bigger)).outs as VolumeOutputs;
            expect(volumeCapacity(lab, inputs.name)).toBe(2 * GiB);
            inputs = bigger;
        });

        test("never shrinks: a smaller size is refused with a clear message", async () => {
            const result = await volumeProvider.check!(inputs, { ...inputs, capacityGiB: 1 });
            expect(result.failures).toEqual([
                {
                    property: "capacityGiB",
                    reason: expect.stringMatching(/is 2 GiB; shrinking a disk would destroy data/),
                },
            ]);
        });

        test("refuses a volume of the same name it did not create, and leaves it", async () => {
            const name = lab.objectName("handmade.qcow2");
            virshOk("vol-create-as", lab.pool.name, name, "3M", "--format", "raw");
            await expect(volumeProvider.create(lab.volume(name, 1))).rejects.toThrow(/refusing to create volume/);
            expect(volumeCapacity(lab, name)).toBe(3 * 1024 * 1024);
            virshOk("vol-delete", "--pool", lab.pool.name, name);
        });

        test("a volume deleted out of band is recreated (replacement); delete is idempotent", async () => {
            virshOk("vol-delete", "--pool", lab.pool.name, inputs.name);
            expect(await volumeProvider.diff!(inputs.name, volume, inputs)).toMatchObject({
                changes: true,
                replaces: ["name"],
                deleteBeforeReplace: true,
            });
            await volumeProvider.delete!(inputs.name, volume);
            volume = (await volumeProvider.create(inputs)).outs as VolumeOutputs;
            expect(volumeCapacity(lab, inputs.name)).toBe(2 * GiB);
            await volumeProvider.delete!(inputs.name, volume);
            await volumeProvider.delete!(inputs.name, volume);
            expect(virshSync("vol-info", "--pool", lab.pool.name, inputs.name).status).not.toBe(0);
        });
    });

    describe("Domain", () => {
        let inputs: DomainInputs;
        let domain: DomainOutputs;

        beforeAll(async () => {
            inputs = lab.domain(lab.objectName("m1"));
            domain = await createDomain(inputs);
        });

        test("defines (not starts) the domain; MAC, bridge, firmware, boot order and disk read back", async () => {
            const desired = domainFacts(inputs.xml, OWNERSHIP_NAMESPACE);
            const live = liveFacts(inputs.name);
            expect(virshOk("domstate", inputs.name).trim()).toBe("shut off");
            expect(live.uuid).toBe(domain.uuid);
            expect(live.owner).toEqual(lab.owner);
            expect(live.type).toBe("qemu");
            expect(live.interfaces).toEqual([
                { type: "bridge", mac: desired.interfaces[0].mac, bridge: lab.bridge, model: "virtio" },
            ]);
            expect(live.firmware).toBe("efi");
            expect(live.firmwareFeatures).toEqual({ "enrolled-keys": "no", "secure-boot": "no" });
            expect(live.boot).toEqual(["network", "hd"]);
            expect(live.machine).toMatch(/^pc-q35-/);
            expect(live.disks).toEqual([
                expect.objectContaining({
                    type: "volume",
                    pool: lab.pool.name,
                    volume: `${inputs.name}.qcow2`,
                    target: "vda",
                    bus: "virtio",
                    format: "qcow2",
                    cache: "unsafe",
                }),
            ]);
            expect((await domainProvider.diff!(inputs.name, domain, inputs)).changes).toBe(false);
        });

        test("updates memory and vCPUs in place, keeping UUID and MAC", async () => {
            const mac = domainFacts(inputs.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac!;
            const bigger = lab.domain(inputs.name, { memoryMiB: 1024, vcpus: 2, network: { mac, bridge: lab.bridge } });
            expect(await domainProvider.diff!(inputs.name, domain, bigger)).toMatchObject({
                changes: true,
                replaces: [],
            });
            domain = (await domainProvider.update!(inputs.name, domain, bigger)).outs as DomainOutputs;
            const live = liveFacts(inputs.name);
            expect([live.memoryKiB, live.vcpus]).toEqual([1024 * 1024, 2]);
            expect(live.uuid).toBe(domain.uuid);
            expect(live.interfaces[0].mac).toBe(mac);
            expect(domain.notices).toEqual([]);
            inputs = bigger;
        });

        test("drift made by hand shows up in diff and update restores the definition", async () => {
            virshOk("setmaxmem", inputs.name, "768M", "--config");
            expect(liveFacts(inputs.name).memoryKiB).toBe(768 * 1024);
            expect((await domainProvider.diff!(inputs.name, domain, inputs)).changes).toBe(true);
            domain = (await domainProvider.update!(inputs.name, domain, inputs)).outs as DomainOutputs;
            expect(liveFacts(inputs.name).memoryKiB).toBe(1024 * 1024);
            expect((await domainProvider.diff!(inputs.name, domain, inputs)).changes).toBe(false);
        });

        test("the BMC owns the boot order: its rewrite is no drift, and an update for memory keeps it", async () => {
            const name = lab.objectName("bmcboot");
            const created = lab.domain(name);
            const mac = domainFacts(created.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac!;
            let outs = await createDomain(created);
            // Rufio's PXE boot job through VirtualBMC, then a boot from disk.
            bmcSetBootDevice(lab, name, { vbmc: "network" });
            expect(liveFacts(name).boot).toEqual(["network"]);
            expect(await domainProvider.diff!(name, outs, created)).toMatchObject({ changes: false });
            bmcSetBootDevice(lab, name, { vbmc: "hd" });
            expect(await domainProvider.diff!(name, outs, created)).toMatchObject({ changes: false });

            const bigger = lab.domain(name, { memoryMiB: 1024, network: { mac, bridge: lab.bridge } });
            expect(await domainProvider.diff!(name, outs, bigger)).toMatchObject({ changes: true, replaces: [] });
            outs = (await domainProvider.update!(name, outs, bigger)).outs as DomainOutputs;
            expect(liveFacts(name)).toMatchObject({ memoryKiB: 1024 * 1024, boot: ["hd"] });
            expect(await domainProvider.diff!(name, outs, bigger)).toMatchObject({ changes: false });

            // The Redfish form (per-device boot order) survives an update just the same.
            bmcSetBootDevice(lab, name, { sushyPxe: true });
            expect(await domainProvider.diff!(name, outs, bigger)).toMatchObject({ changes: false });
            const twoCpus = lab.domain(name, { memoryMiB: 1024, vcpus: 2, network: { mac, bridge: lab.bridge } });
            outs = (await domainProvider.update!(name, outs, twoCpus)).outs as DomainOutputs;
            const liveXml = virshOk("dumpxml", "--inactive", name);
            expect(liveFacts(name)).toMatchObject({ vcpus: 2, boot: [] });
            expect(liveXml).toMatch(/<interface type='bridge'>[^]*<boot order='1'\/>[^]*<\/interface>/);
            await domainProvider.delete!(name, outs);
        });

        test("domainType auto: resolved at create against the domain's URI, recorded, then stable", async () => {
            const expected = (await host.kvmUsable(TEST_URI)) ? "kvm" : "qemu";
            const other = expected === "kvm" ? "qemu" : "kvm";
            const name = lab.objectName("auto");
            const auto = lab.domain(name, { type: "auto" });
            const mac = domainFacts(auto.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac!;
            let outs = await createDomain(auto);
            expect(outs.resolvedType).toBe(expected);
            expect(liveFacts(name).type).toBe(expected);
            expect(await domainProvider.diff!(name, outs, auto)).toMatchObject({ changes: false });

            // The host's answer flips (KVM lost, or gained): the existing domain keeps its type.
            const probe = jest.spyOn(host, "kvmUsable").mockResolvedValue(other === "kvm");
            try {
                expect(await domainProvider.diff!(name, outs, auto)).toMatchObject({ changes: false });
                const twoCpus = lab.domain(name, { type: "auto", vcpus: 2, network: { mac, bridge: lab.bridge } });
                outs = (await domainProvider.update!(name, outs, twoCpus)).outs as DomainOutputs;
                expect(outs.resolvedType).toBe(expected);
                expect(liveFacts(name)).toMatchObject({ type: expected, vcpus: 2 });
                // Naming the recorded type explicitly is no change either.
                const explicit = lab.domain(name, { type: expected, vcpus: 2, network: { mac, bridge: lab.bridge } });
                expect(await domainProvider.diff!(name, outs, explicit)).toMatchObject({ changes: false });
                // A new domain asks the host as it is now.
                const fresh = await createDomain(lab.domain(lab.objectName("auto2"), { type: "auto" }));
                expect([fresh.resolvedType, liveFacts(fresh.name).type]).toEqual([other, other]);
                await domainProvider.delete!(fresh.name, fresh);
            } finally {
                probe.mockRestore();
            }
            await domainProvider.delete!(name, outs);
        });

        test("a domain undefined out of band is reported for replacement and recreated", async () => {
            virshOk("undefine", "--nvram", inputs.name);
            expect(await domainProvider.diff!(inputs.name, domain, inputs)).toMatchObject({
                changes: true,
                replaces: ["xml"],
                deleteBeforeReplace: true,
            });
            // What the engine then does: delete (already gone) and create.
            await domainProvider.delete!(inputs.name, domain);
            domain = await createDomain(inputs);
            expect(liveFacts(inputs.name).uuid).toBe(domain.uuid);
        });

        test("refuses a foreign domain of the same name and leaves it untouched", async () => {
            const name = lab.objectName("foreign");
            const foreignXml = inputs.xml
                .replace(/<uuid>[^<]*<\/uuid>/, "")
                .replace(/<metadata>[\s\S]*<\/metadata>/, "")
                .replaceAll(inputs.name, name);
            const file = path.join(lab.folder, "foreign.xml");
            fs.writeFileSync(file, foreignXml);
            virshOk("define", file);
            const before = virshOk("dumpxml", "--inactive", name);
            const ours = lab.domain(name);
            await expect(domainProvider.create(ours)).rejects.toThrow(
                /refusing to touch libvirt domain .* not tagged as owned/,
            );
            await expect(domainProvider.update!(name, { ...ours, uuid: "", notices: [] }, ours)).rejects.toThrow(
                /refusing/,
            );
            const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
            try {
                await domainProvider.delete!(name, { ...ours, uuid: "", notices: [] });
                expect(warn).toHaveBeenCalledWith(expect.stringMatching(/refusing to touch .* left untouched/));
            } finally {
                warn.mockRestore();
            }
            expect(virshOk("dumpxml", "--inactive", name)).toBe(before);
            virshOk("undefine", "--nvram", name);
        });

        test("check rejects XML whose name or ownership tag does not match the inputs", async () => {
            const other = lab.domain(lab.objectName("other"));
            const result = await domainProvider.check!({} as DomainInputs, {
                ...other,
                name: inputs.name,
                owner: { project: "p", stack: "s" },
            });
            expect(result.failures?.map((f) => f.reason).join("\n")).toMatch(/defines .*\n.*ownership tag/);
        });

        test("delete is idempotent and leaves no domain or NVRAM file", async () => {
            await domainProvider.delete!(inputs.name, domain);
            await domainProvider.delete!(inputs.name, domain);
            expect(domainExists(inputs.name)).toBe(false);
            expect(fs.existsSync(nvramFile(inputs.name))).toBe(false);
        });

        test("a running domain: update warns instead of rebooting; delete powers off and removes NVRAM and console log", async () => {
            const name = lab.objectName("run");
            const volume = lab.volume(`${name}.qcow2`, 1);
            const volumeOuts = (await volumeProvider.create(volume)).outs as VolumeOutputs;
            const running = lab.domain(name, {}, true);
            let outs = await createDomain(running);
            expect(virshOk("domstate", name).trim()).toBe("running");
            const logPath = domainFacts(running.xml, OWNERSHIP_NAMESPACE).consoleLogs[0];
            expect(fs.existsSync(nvramFile(name))).toBe(true);
            expect(fs.existsSync(logPath)).toBe(true);

            const mac = domainFacts(running.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac!;
            const changed = lab.domain(name, { vcpus: 2, network: { mac, bridge: lab.bridge } }, true);
            const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
            try {
                outs = (await domainProvider.update!(name, outs, changed)).outs as DomainOutputs;
                expect(warn).toHaveBeenCalledWith(expect.stringContaining("next power cycle"));
            } finally {
                warn.mockRestore();
            }
            expect(outs.notices).toEqual([
                expect.stringMatching(/is running: its new definition \(vcpus\) takes effect at its next power cycle/),
            ]);
            expect(virshOk("domstate", name).trim()).toBe("running");
            expect(domainFacts(virshOk("dumpxml", name), OWNERSHIP_NAMESPACE).vcpus).toBe(1);

            await domainProvider.delete!(name, outs);
            expect(domainExists(name)).toBe(false);
            expect(fs.existsSync(nvramFile(name))).toBe(false);
            expect(fs.existsSync(logPath)).toBe(false);
            await volumeProvider.delete!(volume.name, volumeOuts);
        });

        test("a console log libvirt lost track of is still removed on delete", async () => {
            const name = lab.objectName("lostlog");
            const outs = await createDomain(lab.domain(name));
            const logPath = path.join(lab.pool.path, `${name}.console.log`);
            expect(fs.existsSync(logPath)).toBe(true); // registered in the pool at define time
            // Someone removes the registered file; virtlogd later writes a new one libvirt does not list.
            virshOk("vol-delete", "--pool", lab.pool.name, `${name}.console.log`);
            fs.writeFileSync(logPath, "boot output\n");
            await domainProvider.delete!(name, outs);
            expect(fs.existsSync(logPath)).toBe(false);
            expect(domainExists(name)).toBe(false);
        });

        test("ten domains (and their volumes) created and deleted concurrently", async () => {
            const names = Array.from({ length: 10 }, (_, i) => lab.objectName(`c${i}`));
            const domains = names.map((name) => lab.domain(name));
            const volumes = names.map((name) => lab.volume(`${name}.qcow2`, 1));
            const [domainOuts, volumeOuts] = await Promise.all([
                Promise.all(domains.map(createDomain)),
                Promise.all(volumes.map(async (v) => (await volumeProvider.create(v)).outs as VolumeOutputs)),
            ]);
            for (const d of domains) {
                expect(liveFacts(d.name).interfaces[0].mac).toBe(
                    domainFacts(d.xml, OWNERSHIP_NAMESPACE).interfaces[0].mac,
                );
            }
            expect(
                virshOk("vol-list", lab.pool.name)
                    .split("\n")
                    .filter((l) => l.includes(".qcow2")),
            ).toHaveLength(10);
            await Promise.all(domainOuts.map((d) => domainProvider.delete!(d.name, d)));
            await Promise.all(volumeOuts.map((v) => volumeProvider.delete!(v.name, v)));
            expect(names.filter(domainExists)).toEqual([]);
        });

        test("a virsh failure names the operation and the object", async () => {
            const broken = { ...lab.domain(lab.objectName("bad")), uri: "qemu:///nonexistent-path" };
            await expect(domainProvider.create(broken)).rejects.toThrow(
                /virsh define of 'capt-t\w+-bad' on qemu:\/\/\/nonexistent-path failed/,
            );
        });
    });

    describe("Pool deletion", () => {
        test("removes the pool and its directory, idempotently, leaving nothing behind", async () => {
            await poolProvider.delete!(lab.pool.name, pool);
            await poolProvider.delete!(lab.pool.name, pool);
            expect(virshSync("pool-info", lab.pool.name).status).not.toBe(0);
            expect(fs.existsSync(lab.pool.path)).toBe(false);
            const leftovers = fs.readdirSync("/var/lib/libvirt/qemu/nvram").filter((f) => f.includes(lab.token));
            expect(leftovers).toEqual([]);
        });

        test("refuses to delete the stack's pool while it holds files it does not manage", async () => {
            const again = (await poolProvider.create(lab.pool)).outs as PoolOutputs;
            const stray = lab.volume(lab.objectName("stray.img"));
            virshOk("vol-create-as", lab.pool.name, stray.name, "1M", "--format", "raw");
            await expect(poolProvider.delete!(lab.pool.name, again)).rejects.toThrow(/still holds .*stray\.img/);
            expect(fs.existsSync(path.join(lab.pool.path, stray.name))).toBe(true);
            virshOk("vol-delete", "--pool", lab.pool.name, stray.name);
            await poolProvider.delete!(lab.pool.name, again);
            expect(fs.existsSync(lab.pool.path)).toBe(false);
        });
    });
});
