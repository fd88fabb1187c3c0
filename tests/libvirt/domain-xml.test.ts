/**
 * The pure domain XML builder: the fields the lab relies on, and libvirt's own schema
 * (virt-xml-validate) for the dev plan and its variations.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LabConfig } from "../../lib/config";
import { CPU_MODE, buildDomainXml, domainSpecFor, domainTypeFor } from "../../lib/libvirt/domain-xml";
import { OWNERSHIP_NAMESPACE, ownedUuid } from "../../lib/libvirt/ownership";
import { addDomainXmlFiles } from "../../lib/libvirt/render";
import { renderLabFiles } from "../../lib/render/files";
import { DomainInputs, DomainOutputs, domainProvider } from "../../providers/libvirt/domain";
import { keepLiveBootOrder, retypeDomain } from "../../providers/libvirt/domain-edit";
import { UNKNOWN } from "../../providers/libvirt/inputs";
import { domainDrift, domainFacts } from "../../providers/libvirt/domain-facts";
import { labPlan } from "../fixtures";
import { createTestFolder, describeWithXmlValidator } from "./gate";

const dev = labPlan();

function devXml(kvmUsable = true, raw = {}) {
    const { config, plan } = labPlan(raw);
    const spec = domainSpecFor(config, plan, plan.machines[0]);
    const xml = buildDomainXml(spec, kvmUsable);
    return { spec, xml, facts: domainFacts(xml, OWNERSHIP_NAMESPACE) };
}

describe("domain XML builder", () => {
    test("carries the planned identity, sizes and ownership tag", () => {
        const machine = dev.plan.machines[0];
        const { facts } = devXml();
        expect(facts.name).toBe(machine.name);
        expect(facts.uuid).toBe(ownedUuid("domain", { project: dev.plan.project, stack: "dev" }, machine.name));
        expect(facts.owner).toEqual({ project: dev.plan.project, stack: "dev" });
        expect(facts.memoryKiB).toBe(dev.config.vmMemoryMiB * 1024);
        expect(facts.vcpus).toBe(dev.config.vmCpus);
    });

    test("boots UEFI via firmware auto-selection, secure boot off, network then disk, q35", () => {
        const { facts, xml } = devXml();
        expect(facts.firmware).toBe("efi");
        expect(facts.firmwareFeatures).toEqual({ "enrolled-keys": "no", "secure-boot": "no" });
        expect(facts.boot).toEqual(["network", "hd"]);
        expect(facts.machine).toBe("q35");
        expect(xml).not.toMatch(/<loader|<nvram/);
    });

    test("has one bridged virtio NIC with the planned MAC and one virtio qcow2 volume disk", () => {
        const machine = dev.plan.machines[1];
        const facts = domainFacts(buildDomainXml(domainSpecFor(dev.config, dev.plan, machine)), OWNERSHIP_NAMESPACE);
        expect(facts.interfaces).toEqual([
            { type: "bridge", mac: machine.mac, bridge: dev.plan.network.bridge, model: "virtio" },
        ]);
        expect(facts.disks).toEqual([
            {
                type: "volume",
                device: "disk",
                pool: dev.plan.libvirt.poolName,
                volume: `${machine.name}.qcow2`,
                target: "vda",
                bus: "virtio",
                format: "qcow2",
                cache: dev.config.vmDiskCache,
            },
        ]);
    });

    test("logs the serial console, and the OSIE's port (ttyS1, Smee's console=), into the stack's storage folder", () => {
        const { facts, xml } = devXml();
        expect(facts.consoleLogs).toEqual([
            path.posix.join(dev.plan.libvirt.storageDir, `${dev.plan.machines[0].name}.console.log`),
            path.posix.join(dev.plan.libvirt.storageDir, `${dev.plan.machines[0].name}.osie.log`),
        ]);
        // The firmware and `virsh console` keep the first port; the OSIE's is the second UART.
        expect(xml).toMatch(
            /<serial type="pty">\s*<log file="[^"]+\.console\.log" append="on"\/>\s*<target port="0"\/>/,
        );
        expect(xml).toMatch(/<serial type="pty">\s*<log file="[^"]+\.osie\.log" append="on"\/>\s*<target port="1"\/>/);
    });

    test("VNC listens on 127.0.0.1 only, or there is no display at all", () => {
        expect(devXml(true, { vmGraphics: "vnc" }).facts.graphics).toEqual(["vnc@127.0.0.1"]);
        const none = devXml(true, { vmGraphics: "none" });
        expect(none.facts.graphics).toEqual([]);
        expect(none.xml).not.toContain("<graphics");
    });

    test("domain type: explicit choices win, auto follows the host probe", () => {
        expect(domainTypeFor("auto", true)).toBe("kvm");
        expect(domainTypeFor("auto", false)).toBe("qemu");
        expect(domainTypeFor("qemu", true)).toBe("qemu");
        expect(domainTypeFor("kvm", false)).toBe("kvm");
        expect(devXml(false).facts.type).toBe("qemu");
        expect(devXml(true, { domainType: "qemu" }).facts.type).toBe("qemu");
        expect(devXml(true).xml).toContain(`<cpu mode="host-passthrough"/>`);
    });

    test("escapes text instead of producing broken XML", () => {
        const { spec } = devXml();
        const xml = buildDomainXml({ ...spec, consoleLogPath: "/tmp/a&b<c>.log", osieLogPath: "/tmp/'d\"e.log" });
        expect(domainFacts(xml, OWNERSHIP_NAMESPACE).consoleLogs).toEqual(["/tmp/a&b<c>.log", "/tmp/'d\"e.log"]);
    });

    test("is deterministic and differs per stack", () => {
        expect(devXml().xml).toBe(devXml().xml);
        const other = labPlan({}, "other");
        const otherXml = buildDomainXml(domainSpecFor(other.config, other.plan, other.plan.machines[0]));
        expect(domainFacts(otherXml, OWNERSHIP_NAMESPACE).uuid).not.toBe(devXml().facts.uuid);
    });

    test("render writes domains/<machine>.xml with exactly the XML the Domain resource defines", () => {
        const files = renderLabFiles(dev.config, dev.plan);
        for (const machine of dev.plan.machines) {
            expect(files.get(`domains/${machine.name}.xml`)).toBe(
                buildDomainXml(domainSpecFor(dev.config, dev.plan, machine)),
            );
        }
    });
});

describe("domain XML builder, machineArch aarch64", () => {
    const arm = (raw: Record<string, unknown> = {}, kvmUsable = false) =>
        devXml(kvmUsable, { machineArch: "aarch64", vmGraphics: "vnc", ...raw });

    test("an aarch64 guest on QEMU's virt board, UEFI by the same auto-selection, network then disk", () => {
        const { facts, xml } = arm();
        expect(facts.arch).toBe("aarch64");
        expect(facts.machine).toBe("virt");
        expect(facts.firmware).toBe("efi");
        expect(facts.firmwareFeatures).toEqual({ "enrolled-keys": "no", "secure-boot": "no" });
        expect(facts.boot).toEqual(["network", "hd"]);
        // libvirt picks the AAVMF build and the emulator for the architecture: no host paths.
        expect(xml).not.toMatch(/<loader|<nvram|<emulator/);
    });

    test("no x86-only pieces: no APIC, and VNC gets a virtio GPU with USB keyboard and tablet", () => {
        const { xml } = arm();
        expect(xml).toMatch(/<features>\s*<acpi\/>\s*<\/features>/);
        expect(xml).not.toMatch(/apic|ps2|q35|vga|cirrus/);
        expect(xml).toContain('<controller type="usb" model="qemu-xhci"/>');
        expect(xml).toContain('<input type="keyboard" bus="usb"/>');
        expect(xml).toContain('<input type="tablet" bus="usb"/>');
        expect(xml).toMatch(/<video>\s*<model type="virtio"\/>\s*<\/video>/);
        const headless = arm({ vmGraphics: "none" }).xml;
        expect(headless).not.toMatch(/<graphics|<video|<input|<controller/);
    });

    test("the x86_64 machine keeps q35, ACPI and APIC, and adds no display devices of its own", () => {
        const { xml, facts } = devXml(true, { vmGraphics: "vnc" });
        expect([facts.arch, facts.machine]).toEqual(["x86_64", "q35"]);
        expect(xml).toMatch(/<features>\s*<acpi\/>\s*<apic\/>\s*<\/features>/);
        expect(xml).not.toMatch(/<video|<input|<controller/);
    });

    test("the same NIC, disk, console and identity as an x86_64 machine", () => {
        const x86 = devXml(true).facts;
        const { facts } = arm({ vmGraphics: "none" }, true);
        for (const field of ["name", "uuid", "owner", "memoryKiB", "vcpus", "interfaces", "disks"]) {
            expect([field, facts[field as keyof typeof facts]]).toEqual([field, x86[field as keyof typeof x86]]);
        }
        // The virt board has one PL011 UART: the console log only, no OSIE port.
        expect(facts.consoleLogs).toEqual([x86.consoleLogs[0]]);
    });

    test("domain type: TCG with the maximum CPU model when KVM cannot run it; the provider's retype agrees", () => {
        const { spec, xml } = arm();
        expect(domainFacts(xml, OWNERSHIP_NAMESPACE).type).toBe("qemu");
        expect(xml).toContain('<cpu mode="maximum"/>');
        const kvm = buildDomainXml(spec);
        expect(kvm).toContain('<cpu mode="host-passthrough"/>');
        expect(retypeDomain(kvm, "qemu", CPU_MODE)).toBe(xml);
    });

    test("an architecture changed by hand is drift", () => {
        const { xml } = devXml();
        const desired = domainFacts(xml, OWNERSHIP_NAMESPACE);
        const live = xml.replace('arch="x86_64"', 'arch="aarch64"');
        expect(domainDrift(desired, domainFacts(live, OWNERSHIP_NAMESPACE))).toEqual(["arch"]);
        // libvirt's expansion of the virt alias is not.
        const arm64 = arm().xml;
        const expanded = arm64.replace('machine="virt"', 'machine="virt-7.2"');
        expect(
            domainDrift(domainFacts(arm64, OWNERSHIP_NAMESPACE), domainFacts(expanded, OWNERSHIP_NAMESPACE)),
        ).toEqual([]);
    });

    test("render writes the aarch64 definitions the Domain resources define", () => {
        const { config, plan } = labPlan({ machineArch: "aarch64" });
        const files = renderLabFiles(config, plan);
        for (const machine of plan.machines) {
            const xml = files.get(`domains/${machine.name}.xml`)!;
            expect(xml).toBe(buildDomainXml(domainSpecFor(config, plan, machine)));
            expect(domainFacts(xml, OWNERSHIP_NAMESPACE)).toMatchObject({ arch: "aarch64", machine: "virt" });
        }
    });
});

/** What VirtualBMC's set_boot_device does (vbmc.py): drop every boot element, append one <os><boot dev>. */
function vbmcSetBootDevice(xml: string, dev: string): string {
    return xml.replace(/\s*<boot [^>]*\/>/g, "").replace("</os>", `<boot dev='${dev}'/></os>`);
}

/** What sushy-tools' set_boot_device does: no <os><boot>, a per-device <boot order='1'/> instead. */
function sushySetPxe(xml: string): string {
    return xml.replace(/\s*<boot [^>]*\/>/g, "").replace(/(<interface [^>]*>)/, "$1<boot order='1'/>");
}

describe("what the BMC owns (DESIGN.md decision 8) and what the provider resolves", () => {
    test("a boot order rewritten by VirtualBMC or sushy-tools is not drift", () => {
        const { xml } = devXml();
        const desired = domainFacts(xml, OWNERSHIP_NAMESPACE);
        for (const live of [vbmcSetBootDevice(xml, "network"), vbmcSetBootDevice(xml, "hd"), sushySetPxe(xml)]) {
            expect(domainDrift(desired, domainFacts(live, OWNERSHIP_NAMESPACE))).toEqual([]);
        }
        // Everything else still is.
        const otherMemory = xml.replace(/<memory unit="MiB">\d+</, '<memory unit="MiB">999<');
        expect(domainDrift(desired, domainFacts(otherMemory, OWNERSHIP_NAMESPACE))).toEqual(["memory"]);
    });

    test("a redefinition keeps the live boot order in either form, and changes nothing else", () => {
        const { xml } = devXml();
        const kept = keepLiveBootOrder(xml, vbmcSetBootDevice(xml, "hd"));
        expect(domainFacts(kept, OWNERSHIP_NAMESPACE).boot).toEqual(["hd"]);
        expect(kept.replace(/\s*<boot [^>]*\/>/g, "")).toBe(xml.replace(/\s*<boot [^>]*\/>/g, ""));
        const perDevice = keepLiveBootOrder(xml, sushySetPxe(xml));
        expect(domainFacts(perDevice, OWNERSHIP_NAMESPACE).boot).toEqual([]);
        expect(perDevice).toMatch(/<interface type="bridge">[\s\S]*<boot order="1"\/>[\s\S]*<\/interface>/);
        // Unchanged live order: the rendered text stays byte for byte.
        expect(keepLiveBootOrder(xml, xml)).toBe(xml);
    });

    test("auto: the provider's TCG form of the KVM rendering is exactly the builder's TCG rendering", () => {
        const { spec } = devXml();
        expect(spec.type).toBe("auto");
        const kvm = buildDomainXml(spec);
        expect(retypeDomain(kvm, "qemu", CPU_MODE)).toBe(buildDomainXml(spec, false));
        expect(retypeDomain(kvm, "kvm", CPU_MODE)).toBe(kvm);
        expect(retypeDomain(buildDomainXml(spec, false), "kvm", CPU_MODE)).toBe(kvm);
    });
});

describe("Domain provider with inputs not known yet (no libvirt call is needed)", () => {
    const { spec, xml } = devXml();
    const known: DomainInputs = { uri: "qemu:///system", name: spec.name, owner: spec.owner, xml, running: false };
    const unknown = { ...known, name: UNKNOWN, owner: UNKNOWN, xml: UNKNOWN, domainType: UNKNOWN };

    test("check passes a preview's unknown definition through instead of failing it", async () => {
        const result = await domainProvider.check!(known, unknown as unknown as DomainInputs);
        expect(result.failures).toEqual([]);
    });

    test("diff asks for a delete-first replacement when the disk it names is being replaced", async () => {
        const olds: DomainOutputs = { ...known, domainType: "auto", uuid: spec.uuid, resolvedType: "kvm", notices: [] };
        const diff = await domainProvider.diff!(spec.name, olds, unknown as unknown as DomainInputs);
        expect(diff).toMatchObject({ changes: true, deleteBeforeReplace: true });
        expect(diff.replaces).toContain("xml");
    });
});

const VARIATIONS: [string, Record<string, unknown>, boolean][] = [
    ["dev plan (auto -> kvm)", {}, true],
    ["auto on a host without KVM", {}, false],
    ["qemu, no graphics", { domainType: "qemu", vmGraphics: "none" }, true],
    ["kvm, vnc", { domainType: "kvm", vmGraphics: "vnc" }, true],
    ...(["unsafe", "none", "writeback", "writethrough", "directsync"] as LabConfig["vmDiskCache"][]).map(
        (cache): [string, Record<string, unknown>, boolean] => [`cache ${cache}`, { vmDiskCache: cache }, false],
    ),
    ["5 machines, bigger VMs", { hardwareCount: 5, workers: 2, vmCpus: 8, vmMemoryMiB: 16384 }, true],
    ["aarch64, auto on an x86_64 host (TCG), vnc", { machineArch: "aarch64", vmGraphics: "vnc" }, false],
    ["aarch64, no graphics", { machineArch: "aarch64", vmGraphics: "none" }, false],
    ["aarch64, auto on an aarch64 host (KVM)", { machineArch: "aarch64" }, true],
];

function validate(file: string): { status: number | null; output: string } {
    const result = spawnSync("virt-xml-validate", [file, "domain"], { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

describeWithXmlValidator("domain XML against libvirt's schema (virt-xml-validate)", () => {
    const folder = createTestFolder();
    afterAll(() => folder.remove());

    test.each(VARIATIONS)("%s", (_title, raw, kvmUsable) => {
        const { config, plan } = labPlan(raw);
        const files = new Map<string, string>();
        addDomainXmlFiles(files, config, plan, kvmUsable);
        expect(files.size).toBe(plan.machines.length);
        for (const [name, xml] of files) {
            const file = path.join(folder.dir, path.basename(name));
            fs.writeFileSync(file, xml);
            const result = validate(file);
            expect(`${name}: ${result.output}`).toBe(`${name}: ${file} validates`);
            expect(result.status).toBe(0);
        }
    });

    test("the validator does reject a broken domain", () => {
        const file = path.join(folder.dir, "broken.xml");
        fs.writeFileSync(file, devXml().xml.replace('<boot dev="network"/>', '<boot dev="floppy-net"/>'));
        const result = validate(file);
        expect(result.status).not.toBe(0);
        expect(result.output).toMatch(/fails to validate/);
    });
});
