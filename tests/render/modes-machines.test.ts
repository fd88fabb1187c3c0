/**
 * Real machines (`machines` set): the Hardware and Rufio Machine of each point at the machine itself
 * and at its own BMC, IPMI and Redfish each with the options Rufio reads; every object conformant; the
 * VMs' objects (behind the virtual BMC) as before.
 */
import { ENCRYPTED_VALUE } from "../../lib/config";
import { REAL_MACHINES, REAL_MACHINES_CONFIG, labPlan } from "../fixtures";
import {
    BMC_PROVIDER,
    BMC_SECRET_NAME,
    CLUSTERCTL_MOVE_LABELS,
    REDACTED_BMC_PASSWORD,
    bmcMachine,
    machineBmcSecretName,
    redactedMachineBmcPassword,
} from "../../lib/render/bmc";
import { inventoryObjects } from "../../lib/render/manifests";
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

describe("real machines with their own BMC credentials", () => {
    // rack1-a: its own password; rack1-b: its own user name; rack1-c: shares bmc-creds.
    const OWN = {
        machineBmcPasswords: JSON.stringify({ "rack1-a": "Own-Pass-A1" }),
        machines: [
            REAL_MACHINES[0],
            { ...REAL_MACHINES[1], bmc: { ...REAL_MACHINES[1].bmc, username: "root" } },
            REAL_MACHINES[2],
        ],
    };
    const { config, plan, objects } = realLab(OWN);
    const secretRef = (name: string) => connection(objects, name).authSecretRef;

    test("each Rufio Machine points at the Secret with its credentials", () => {
        expect(secretRef("rack1-a")).toEqual({ name: "bmc-creds-rack1-a", namespace: config.namespace });
        expect(secretRef("rack1-b")).toEqual({ name: "bmc-creds-rack1-b", namespace: config.namespace });
        expect(secretRef("rack1-c")).toEqual({ name: BMC_SECRET_NAME, namespace: config.namespace });
        expect(machineBmcSecretName("rack1-a")).toBe("bmc-creds-rack1-a");
    });

    test("the Secrets: shared first, then each machine's own, all basic-auth with clusterctl's move labels", () => {
        const secrets = objects.filter((o) => o.kind === "Secret") as Loose[];
        expect(
            secrets.map((s) => [
                s.metadata.name,
                s.type,
                s.stringData.username,
                s.stringData.password,
                s.metadata.labels,
            ]),
        ).toEqual([
            [BMC_SECRET_NAME, "kubernetes.io/basic-auth", "admin", REDACTED_BMC_PASSWORD, CLUSTERCTL_MOVE_LABELS],
            [
                "bmc-creds-rack1-a",
                "kubernetes.io/basic-auth",
                "admin",
                redactedMachineBmcPassword("rack1-a"),
                CLUSTERCTL_MOVE_LABELS,
            ],
            // Its own user, the shared password.
            ["bmc-creds-rack1-b", "kubernetes.io/basic-auth", "root", REDACTED_BMC_PASSWORD, CLUSTERCTL_MOVE_LABELS],
        ]);
        expect(JSON.stringify(objects)).not.toContain("Own-Pass-A1");
    });

    test("order: Secrets, then Rufio Machines, then Hardware", () => {
        expect(
            objects
                .filter(
                    (o) =>
                        o.metadata.namespace === config.namespace && ["Secret", "Machine", "Hardware"].includes(o.kind),
                )
                .map((o) => o.kind),
        ).toEqual(["Secret", "Secret", "Secret", "Machine", "Machine", "Machine", "Hardware", "Hardware", "Hardware"]);
    });

    test("passwords are parameters: what the caller passes lands in the Secrets, untouched", () => {
        const shared = { secret: "shared" };
        const own = { secret: "rack1-a" };
        const [first, ...rest] = inventoryObjects(config, plan, shared, { "rack1-a": own });
        const secrets = [first, ...rest].filter((o) => o.kind === "Secret") as Loose[];
        expect(secrets.map((s) => s.stringData.password)).toEqual([shared, own, shared]);
        expect(() => inventoryObjects(config, plan, shared, {})).toThrow(/rack1-a has its own BMC password/);
    });

    test("with every machine its own password, no shared Secret (and no bmcPassword needed)", () => {
        const passwords = { "rack1-a": "Own-Pass-A1", "rack1-b": "Own-Pass-B1", "rack1-c": "Own-Pass-C1" };
        const { objects: all } = realLab({ bmcPassword: undefined, machineBmcPasswords: JSON.stringify(passwords) });
        expect(all.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual([
            "bmc-creds-rack1-a",
            "bmc-creds-rack1-b",
            "bmc-creds-rack1-c",
        ]);
        for (const name of Object.keys(passwords)) {
            expect(connection(all, name).authSecretRef.name).toBe(`bmc-creds-${name}`);
        }
    });

    test("offline, an encrypted machineBmcPasswords gives every machine its own Secret", () => {
        const { config: offline, objects: encrypted } = realLab({ machineBmcPasswords: { secure: "v1:abc" } });
        expect(offline.machineBmcPasswords).toBe(ENCRYPTED_VALUE);
        expect(encrypted.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual(
            REAL_MACHINES.map((m) => `bmc-creds-${m.name}`),
        );
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
        [
            "own credentials",
            {
                machineBmcPasswords: JSON.stringify({ "rack1-a": "Own-Pass-A1" }),
                machines: [
                    REAL_MACHINES[0],
                    { ...REAL_MACHINES[1], bmc: { ...REAL_MACHINES[1].bmc, username: "root" } },
                    REAL_MACHINES[2],
                ],
            },
        ],
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
