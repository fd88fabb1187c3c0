/**
 * The rendered objects agree with each other and with the plan: every reference resolves, each
 * machine template selects exactly the Hardware of its role, and addresses are the plan's.
 */
import { XMLParser } from "fast-xml-parser";
import { labPlan } from "../fixtures";
import { buildDomainXml, domainSpecFor } from "../../lib/libvirt/domain-xml";
import { API_SERVER_PORT } from "../../lib/render/cluster-api";
import { KubeObject, objectId } from "../../lib/render/kube-object";
import { LAB_OBJECT_GROUPS, labObjects, renderInputs } from "../../lib/render/manifests";
import { ROLE_LABEL } from "../../lib/render/hardware";
import { MachineRole } from "../../lib/plan";
import { contractRefs, devStack, findObject, renderedObjects, selects, stackMatrix } from "./support";

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const specOf = (o: KubeObject) => o.spec as Spec;
const ofKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);

/** References that do not resolve to a rendered object in the referrer's namespace. */
function danglingRefs(objects: KubeObject[]): string[] {
    const dangling: string[] = [];
    for (const object of objects) {
        for (const ref of contractRefs(object)) {
            if (!findObject(objects, ref, object.metadata.namespace)) {
                dangling.push(`${objectId(object)} -> ${ref.apiGroup}/${ref.kind}/${ref.name}`);
            }
        }
        const secretRef = specOf(object)?.connection?.authSecretRef;
        if (secretRef && !findObject(objects, { kind: "Secret", name: secretRef.name }, secretRef.namespace)) {
            dangling.push(`${objectId(object)} -> Secret ${secretRef.namespace}/${secretRef.name}`);
        }
    }
    return dangling;
}

/** Machine templates with their consumers: KCP (control-plane) and MachineDeployment (worker). */
function templateConsumers(objects: KubeObject[]): { role: MachineRole; replicas: number; template: KubeObject }[] {
    const consumers: { role: MachineRole; replicas: number; template: KubeObject }[] = [];
    for (const kcp of ofKind(objects, "KubeadmControlPlane")) {
        const ref = specOf(kcp).machineTemplate.spec.infrastructureRef;
        consumers.push({
            role: "control-plane",
            replicas: specOf(kcp).replicas,
            template: findObject(objects, ref, kcp.metadata.namespace)!,
        });
    }
    for (const md of ofKind(objects, "MachineDeployment")) {
        const ref = specOf(md).template.spec.infrastructureRef;
        consumers.push({
            role: "worker",
            replicas: specOf(md).replicas,
            template: findObject(objects, ref, md.metadata.namespace)!,
        });
    }
    return consumers;
}

describe.each([{ label: "dev stack", raw: undefined }, ...stackMatrix()])("$label", ({ raw }) => {
    const { config, plan } = raw ? labPlan(raw) : devStack();
    const objects = renderedObjects(config, plan);

    test("every reference (v1beta2 refs, bmcRef, authSecretRef) resolves to a rendered object", () => {
        expect(contractRefs(objects).length).toBeGreaterThan(0);
        expect(danglingRefs(objects)).toEqual([]);
    });

    test("each machine template selects exactly the Hardware of its role, at least as many as its replicas", () => {
        const consumers = templateConsumers(objects);
        expect(consumers.map((c) => c.role)).toEqual(
            config.workers > 0 ? ["control-plane", "worker"] : ["control-plane"],
        );
        for (const { role, replicas, template } of consumers) {
            expect(template).toBeDefined();
            const terms = specOf(template).template.spec.hardwareAffinity.required;
            const selected = ofKind(objects, "Hardware").filter((hw) =>
                terms.some((t: Spec) => selects(t.labelSelector.matchLabels, hw)),
            );
            const expected = plan.machines.filter((m) => m.role === role).map((m) => m.name);
            expect(selected.map((hw) => hw.metadata.name)).toEqual(expected);
            expect(selected.length).toBeGreaterThanOrEqual(replicas);
        }
        const replicasByRole = Object.fromEntries(consumers.map((c) => [c.role, c.replicas]));
        expect(replicasByRole["control-plane"]).toBe(config.controlPlanes);
        expect(replicasByRole.worker).toBe(config.workers > 0 ? config.workers : undefined);
    });

    test("Hardware carries the plan's role, MAC, IP, netmask and gateway; its BMC the plan's port", () => {
        for (const machine of plan.machines) {
            const hw = findObject(objects, { kind: "Hardware", name: machine.name }, config.namespace)!;
            expect(hw.metadata.labels?.[ROLE_LABEL]).toBe(machine.role);
            const dhcp = specOf(hw).interfaces[0].dhcp;
            expect(dhcp).toMatchObject({
                mac: machine.mac,
                ip: { address: machine.ip, netmask: plan.network.netmask, gateway: plan.network.gateway },
            });
            expect(specOf(hw).metadata.instance.id).toBe(machine.mac);
            const bmc = findObject(objects, specOf(hw).bmcRef, config.namespace)!;
            expect(specOf(bmc).connection).toMatchObject({ host: plan.vbmc.ip, port: machine.bmcPort });
            expect(specOf(bmc).connection.providerOptions.ipmitool.port).toBe(machine.bmcPort);
        }
        expect(ofKind(objects, "Hardware")).toHaveLength(plan.machines.length);
    });

    test("the Cluster's endpoint is the control-plane VIP and its networks are the plan's", () => {
        const [cluster] = ofKind(objects, "Cluster");
        expect(cluster.metadata.name).toBe(plan.labName);
        expect(specOf(cluster).controlPlaneEndpoint).toEqual({ host: plan.vips.controlPlane, port: API_SERVER_PORT });
        expect(specOf(cluster).clusterNetwork.pods.cidrBlocks).toEqual([plan.cidrs.pods]);
        expect(specOf(cluster).clusterNetwork.services.cidrBlocks).toEqual([plan.cidrs.services]);
    });

    test("every object is in the configured namespace and has a unique identity", () => {
        expect(objects.every((o) => o.metadata.namespace === config.namespace)).toBe(true);
        const ids = objects.map(objectId);
        expect(new Set(ids).size).toBe(ids.length);
    });
});

test("a reference to an object that is not rendered is reported (the check can fail)", () => {
    const { config, plan } = devStack();
    const objects = renderedObjects(config, plan).filter((o) => o.kind !== "TinkerbellCluster");
    expect(danglingRefs(objects)).toEqual([
        `cluster.x-k8s.io/v1beta2/Cluster/${config.namespace}/${plan.labName} -> infrastructure.cluster.x-k8s.io/TinkerbellCluster/${plan.labName}`,
    ]);
});

test("without workers there is no MachineDeployment, KubeadmConfigTemplate or worker template", () => {
    const { config, plan } = labPlan({ workers: 0, hardwareCount: 2 });
    const kinds = renderedObjects(config, plan).map((o) => o.kind);
    expect(kinds).not.toContain("MachineDeployment");
    expect(kinds).not.toContain("KubeadmConfigTemplate");
    expect(kinds.filter((k) => k === "TinkerbellMachineTemplate")).toHaveLength(1);
});

test("the groups hold the inventory and the Cluster API objects, each after what it references", () => {
    const { config, plan } = devStack();
    const groups = labObjects(config, plan, renderInputs(config));
    expect(LAB_OBJECT_GROUPS).toEqual(["inventory", "clusterApi"]);
    expect(groups.inventory.map((o) => o.kind)).toEqual([
        "Secret",
        ...plan.machines.map(() => "Machine"),
        ...plan.machines.map(() => "Hardware"),
    ]);
    for (const group of LAB_OBJECT_GROUPS) {
        const list = groups[group] as KubeObject[];
        list.forEach((object, position) => {
            for (const ref of contractRefs(object)) {
                const target = findObject(list, ref, object.metadata.namespace);
                if (target) {
                    expect(list.indexOf(target)).toBeLessThan(position);
                }
            }
        });
    }
});

describe("the libvirt domains agree with the Hardware and BMC objects", () => {
    const { config, plan } = devStack();
    const objects = renderedObjects(config, plan);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" });

    test.each(plan.machines.map((m) => [m.name, m] as const))("%s", (_name, machine) => {
        const domain = parser.parse(buildDomainXml(domainSpecFor(config, plan, machine))).domain;
        const hw = findObject(objects, { kind: "Hardware", name: machine.name }, config.namespace)!;
        // DHCP answers the NIC's MAC; the workflow writes to the disk the VM exposes.
        expect(domain.devices.interface.mac.address).toBe(specOf(hw).interfaces[0].dhcp.mac);
        expect(specOf(hw).disks).toEqual([{ device: `/dev/${domain.devices.disk.target.dev}` }]);
        // Redfish (sushy-tools) finds the System by libvirt domain name.
        const bmc = findObject(objects, specOf(hw).bmcRef, config.namespace)!;
        expect(specOf(bmc).connection.providerOptions.redfish.systemName).toBe(domain.name);
    });
});
