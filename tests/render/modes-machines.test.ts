/**
 * Real machines (`machines` set): the Hardware and Rufio Machine of each point at the machine itself
 * and at its own BMC, IPMI and Redfish each with the options Rufio reads; every object conformant; the
 * VMs' objects (behind the virtual BMC) as before.
 */
import { REAL_MACHINES, REAL_MACHINES_CONFIG, labPlan } from "../fixtures";
import { BMC_PROVIDER, BMC_SECRET_NAME, bmcMachine } from "../../lib/render/bmc";
import { hardware } from "../../lib/render/hardware";
import { KubeObject, objectId } from "../../lib/render/kube-object";
import { describeWithSchemas, renderedObjects, schemaErrors } from "./support";

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function realLab(raw: Record<string, unknown> = {}) {
    const { config, plan } = labPlan({ ...REAL_MACHINES_CONFIG, ...raw });
    return { config, plan, objects: renderedObjects(config, plan) };
}

function named(objects: KubeObject[], kind: string, name: string): Loose {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    expect(found).toBeDefined();
    return found as Loose;
}

const connection = (objects: KubeObject[], name: string) => named(objects, "Machine", name).spec.connection;

describe("real machines: Hardware", () => {
    const { plan, objects } = realLab();

    test("one per listed machine, by its name, with its MAC (lowercase), address and disk", () => {
        const hardware = objects.filter((o) => o.kind === "Hardware");
        expect(hardware.map((h) => h.metadata.name)).toEqual(["rack1-a", "rack1-b", "rack1-c"]);
        const facts = hardware.map((h) => {
            const spec = h.spec as Loose;
            const dhcp = spec.interfaces[0].dhcp;
            return [h.metadata.name, dhcp.mac, dhcp.ip.address, spec.disks, dhcp.hostname, spec.metadata.instance.id];
        });
        expect(facts).toEqual([
            ["rack1-a", "0c:c4:7a:00:00:01", "10.71.1.10", [{ device: "/dev/sda" }], "rack1-a", "0c:c4:7a:00:00:01"],
            [
                "rack1-b",
                "0c:c4:7a:00:00:02",
                "10.71.1.11",
                [{ device: "/dev/nvme0n1" }],
                "rack1-b",
                "0c:c4:7a:00:00:02",
            ],
            // No ip in the list: the planned address; no disk: the default.
            [
                "rack1-c",
                "0c:c4:7a:00:00:03",
                plan.machines[2].ip,
                [{ device: "/dev/sda" }],
                "rack1-c",
                "0c:c4:7a:00:00:03",
            ],
        ]);
        expect(plan.machines[2].ip).toMatch(/^10\.71\./);
    });

    test("roles, arch and the BMC reference follow the machine", () => {
        for (const machine of plan.machines) {
            const spec = named(objects, "Hardware", machine.name);
            expect(spec.metadata.labels).toEqual({ "tinkerbell.org/role": machine.role });
            expect(spec.spec.bmcRef).toEqual({ apiGroup: "bmc.tinkerbell.org", kind: "Machine", name: machine.name });
            expect(spec.spec.interfaces[0].dhcp.arch).toBe("x86_64");
            expect(spec.spec.interfaces[0].dhcp.ip.gateway).toBe(plan.network.gateway);
        }
    });
});

describe("real machines: Rufio Machines point at the real BMCs", () => {
    const { config, objects } = realLab();

    test("IPMI: ipmitool first, on the BMC's port; nothing of Redfish", () => {
        expect(connection(objects, "rack1-a")).toEqual({
            host: "10.71.2.10",
            port: 623,
            authSecretRef: { name: BMC_SECRET_NAME, namespace: config.namespace },
            insecureTLS: true,
            providerOptions: { preferredOrder: ["ipmitool"], ipmitool: { port: 623 } },
        });
        expect(connection(objects, "rack1-c")).toMatchObject({
            host: "10.71.2.12",
            port: 6230,
            providerOptions: { preferredOrder: ["ipmitool"], ipmitool: { port: 6230 } },
        });
        expect(connection(objects, "rack1-c").providerOptions.redfish).toBeUndefined();
    });

    test("Redfish: bmclib's gofish provider, on the BMC's port, basic auth, the System id", () => {
        expect(BMC_PROVIDER).toEqual({ ipmi: "ipmitool", redfish: "gofish" });
        expect(connection(objects, "rack1-b")).toEqual({
            host: "bmc-b.lab.example",
            port: 443,
            authSecretRef: { name: BMC_SECRET_NAME, namespace: config.namespace },
            insecureTLS: true,
            providerOptions: {
                preferredOrder: ["gofish"],
                redfish: { port: 443, useBasicAuth: true, systemName: "System.Embedded.1" },
            },
        });
    });

    test("a Redfish BMC with one System gets no System id; a verified certificate when asked", () => {
        const machines = [
            {
                ...REAL_MACHINES[0],
                bmc: { address: "10.71.2.10", protocol: "redfish", port: 8443, insecureTLS: false },
            },
        ];
        const { objects: one } = realLab({ machines, controlPlanes: 1, workers: 0 });
        expect(connection(one, "rack1-a")).toMatchObject({
            host: "10.71.2.10",
            port: 8443,
            insecureTLS: false,
            providerOptions: { preferredOrder: ["gofish"], redfish: { port: 8443, useBasicAuth: true } },
        });
        expect(connection(one, "rack1-a").providerOptions.redfish).not.toHaveProperty("systemName");
    });

    test("all machines share the one BMC Secret, and nothing points at the virtual BMC", () => {
        const { plan } = realLab();
        const secrets = objects.filter((o) => o.kind === "Secret");
        expect(secrets.map((s) => s.metadata.name)).toEqual([BMC_SECRET_NAME]);
        const hosts = objects.filter((o) => o.kind === "Machine").map((m) => (m.spec as Loose).connection.host);
        expect(hosts).not.toContain(plan.vbmc.ip);
    });
});

describe("VMs behind the virtual BMC: as before", () => {
    const { config, plan } = labPlan({});

    test("IPMI per VM port on the vbmc container, Redfish (sushy) with the domain as System, /dev/vda", () => {
        expect(plan.modes.machines).toBe("vms");
        for (const machine of plan.machines) {
            expect((bmcMachine(config, plan, machine).spec as Loose).connection).toEqual({
                host: plan.vbmc.ip,
                port: machine.bmcPort,
                authSecretRef: { name: BMC_SECRET_NAME, namespace: config.namespace },
                insecureTLS: true,
                providerOptions: {
                    preferredOrder: ["ipmitool"],
                    ipmitool: { port: machine.bmcPort },
                    redfish: { useBasicAuth: true, systemName: machine.name },
                },
            });
            expect((hardware(config, plan, machine).spec as Loose).disks).toEqual([{ device: "/dev/vda" }]);
        }
    });
});

describeWithSchemas("real machines against the upstream schemas (strict)", () => {
    test.each([
        ["netboot", {}],
        // ISO boot needs virtual media, so every BMC speaks Redfish.
        [
            "isoboot",
            {
                bootMode: "isoboot",
                machines: REAL_MACHINES.map((m) => ({ ...m, bmc: { ...m.bmc, protocol: "redfish", port: 443 } })),
            },
        ],
        ["3 control planes", { controlPlanes: 3, workers: 0 }],
    ])("%s", (_title, raw) => {
        const { objects } = realLab(raw);
        const failures = objects
            .filter((o) => !(o.apiVersion === "v1" && o.kind === "Secret"))
            .flatMap((o) => schemaErrors(o).map((e) => `${objectId(o)}: ${e}`));
        expect(failures).toEqual([]);
        expect(objects.filter((o) => o.kind === "Machine")).toHaveLength(REAL_MACHINES.length);
    });

    test("the checker does reject a Redfish option Rufio does not know (it can fail)", () => {
        const { objects } = realLab();
        const machine = named(objects, "Machine", "rack1-b") as KubeObject & Loose;
        const bad = structuredClone(machine);
        bad.spec.connection.providerOptions.redfish.basicAuth = true;
        expect(schemaErrors(bad)).not.toEqual([]);
        const badName = structuredClone(machine);
        badName.spec.connection.providerOptions.preferredOrder = ["redfish"];
        expect(schemaErrors(badName)).not.toEqual([]);
    });
});
