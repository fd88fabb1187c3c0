import fc from "fast-check";
import { Address4 } from "ip-address";
import { machineCapacity } from "../lib/address-layout";
import { parseLabConfig } from "../lib/config";
import { PROJECT_NAME } from "../lib/config-schema";
import { bridgeName, labName, stackSlug } from "../lib/naming";
import { LabPlan, planLab } from "../lib/plan";
import { PROJECT_DIR, labPlan } from "./fixtures";

const stackArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);

/** Machine count, roles and a /16../26 private subnet big enough for them. */
const labArb = fc
    .record({
        hardwareCount: fc.integer({ min: 1, max: 500 }),
        prefix: fc.integer({ min: 16, max: 26 }),
        secondOctet: fc.integer({ min: 0, max: 255 }),
        thirdOctet: fc.integer({ min: 0, max: 255 }),
        cpRatio: fc.double({ min: 0, max: 1, noNaN: true }),
        workerRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .filter(({ hardwareCount, prefix }) => machineCapacity(prefix) >= hardwareCount)
    .map(({ hardwareCount, prefix, secondOctet, thirdOctet, cpRatio, workerRatio }) => {
        const controlPlanes = Math.max(1, Math.floor((cpRatio * Math.min(hardwareCount, 7) - 1) / 2) * 2 + 1);
        const cp = controlPlanes > hardwareCount ? 1 : controlPlanes;
        const workers = Math.floor(workerRatio * (hardwareCount - cp));
        const subnet = new Address4(`10.${secondOctet}.${thirdOctet}.0/${prefix}`).startAddress().correctForm();
        return {
            hardwareCount,
            controlPlanes: cp,
            workers,
            networkSubnet: `${subnet}/${prefix}`,
            // Keep the other ranges out of 10/8 so they never overlap the random lab subnet.
            podCidr: "172.16.0.0/14",
            serviceCidr: "172.20.0.0/16",
            kindPodCidr: "172.21.0.0/16",
            kindServiceCidr: "172.22.0.0/16",
        };
    });

function planFor(raw: Record<string, unknown>, stack: string): LabPlan {
    const config = parseLabConfig(raw, { stack });
    return planLab(config, { project: PROJECT_NAME, stack, projectDir: PROJECT_DIR });
}

function toBigInt(ip: string): bigint {
    return new Address4(ip).bigInt();
}

function allAddresses(plan: LabPlan): string[] {
    return [
        ...plan.machines.map((m) => m.ip),
        plan.vbmc.ip,
        plan.vips.tinkerbell,
        plan.vips.artifacts,
        plan.vips.controlPlane,
    ];
}

describe("plan properties", () => {
    test("names, MACs, IPs and BMC ports are unique; addresses are in the subnet, outside docker's slice", () => {
        fc.assert(
            fc.property(labArb, stackArb, (raw, stack) => {
                const plan = planFor(raw, stack);
                const machines = plan.machines;
                expect(machines).toHaveLength(raw.hardwareCount);
                for (const field of ["name", "mac", "ip", "bmcPort"] as const) {
                    expect(new Set(machines.map((m) => m[field])).size).toBe(machines.length);
                }
                const addresses = allAddresses(plan);
                expect(new Set(addresses).size).toBe(addresses.length);
                const subnet = new Address4(plan.network.subnet);
                const docker = new Address4(plan.network.dockerRange);
                const reserved = new Set([
                    subnet.startAddress().correctForm(),
                    plan.network.broadcast,
                    plan.network.gateway,
                ]);
                for (const ip of addresses) {
                    const address = new Address4(ip);
                    expect(address.isInSubnet(subnet)).toBe(true);
                    expect(address.isInSubnet(docker)).toBe(false);
                    expect(reserved.has(ip)).toBe(false);
                }
                expect(docker.isInSubnet(subnet)).toBe(true);
                expect(new Address4(plan.network.gateway).isInSubnet(subnet)).toBe(true);
            }),
            { numRuns: 60 },
        );
    });

    test("MACs are locally administered, unicast and lowercase", () => {
        fc.assert(
            fc.property(labArb, stackArb, (raw, stack) => {
                for (const { mac } of planFor(raw, stack).machines) {
                    expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
                    const first = parseInt(mac.slice(0, 2), 16);
                    expect(first & 0b10).toBe(0b10);
                    expect(first & 0b1).toBe(0);
                }
            }),
            { numRuns: 40 },
        );
    });

    test("roles follow the index: control planes, then workers, then spares", () => {
        fc.assert(
            fc.property(labArb, (raw) => {
                const roles = planFor(raw, "dev").machines.map((m) => m.role);
                const expected = [
                    ...Array(raw.controlPlanes).fill("control-plane"),
                    ...Array(raw.workers).fill("worker"),
                    ...Array(raw.hardwareCount - raw.controlPlanes - raw.workers).fill("spare"),
                ];
                expect(roles).toEqual(expected);
            }),
            { numRuns: 40 },
        );
    });

    test("the plan is deterministic", () => {
        fc.assert(
            fc.property(labArb, stackArb, (raw, stack) => {
                expect(planFor(raw, stack)).toEqual(planFor({ ...raw }, stack));
            }),
            { numRuns: 30 },
        );
    });

    test("two different stacks never share a machine name, MAC, lab name or bridge", () => {
        fc.assert(
            fc.property(labArb, stackArb, stackArb, (raw, a, b) => {
                fc.pre(a !== b);
                const one = planFor(raw, a);
                const two = planFor(raw, b);
                const names = new Set(one.machines.map((m) => m.name));
                const macs = new Set(one.machines.map((m) => m.mac));
                expect(two.machines.some((m) => names.has(m.name))).toBe(false);
                expect(two.machines.some((m) => macs.has(m.mac))).toBe(false);
                expect(one.labName).not.toBe(two.labName);
                expect(one.network.bridge).not.toBe(two.network.bridge);
            }),
            { numRuns: 60 },
        );
    });

    test("stacks whose names differ only in case or punctuation still get different names", () => {
        expect(labName("Dev")).not.toBe(labName("dev"));
        expect(labName("my.stack")).not.toBe(labName("my-stack"));
        expect(stackSlug("dev")).toBe("dev");
        fc.assert(
            fc.property(stackArb, (stack) => {
                expect(labName(stack)).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
                expect(labName(stack).length).toBeLessThanOrEqual(25);
                expect(bridgeName(PROJECT_NAME, stack).length).toBeLessThanOrEqual(15);
                expect(bridgeName(PROJECT_NAME, stack)).toMatch(/^[a-z0-9-]+$/);
            }),
        );
    });
});

describe("plan examples", () => {
    test("the dev stack", () => {
        const { plan } = labPlan();
        expect(plan.machines.map((m) => [m.name, m.role, m.ip, m.bmcPort])).toEqual([
            ["capt-dev-node1", "control-plane", "10.71.0.32", 6231],
            ["capt-dev-node2", "worker", "10.71.0.33", 6232],
            ["capt-dev-node3", "spare", "10.71.0.34", 6233],
        ]);
        expect(plan.network).toMatchObject({
            subnet: "10.71.0.0/16",
            gateway: "10.71.0.1",
            netmask: "255.255.0.0",
            dockerRange: "10.71.0.0/28",
        });
        expect(plan.vips).toEqual({ tinkerbell: "10.71.0.17", artifacts: "10.71.0.18", controlPlane: "10.71.0.19" });
        expect(plan.vbmc.ip).toBe("10.71.0.16");
    });

    test("machines past the old playground's octet limit get valid addresses (500 in a /16)", () => {
        const { plan } = labPlan({ hardwareCount: 500, workers: 400, podCidr: "10.64.0.0/14" });
        expect(plan.machines[499].ip).toBe("10.71.2.19");
        expect(plan.machines[499].bmcPort).toBe(6730);
    });

    test("a /24 lab gets its own netmask", () => {
        const { plan } = labPlan({ networkSubnet: "192.168.77.0/24" });
        expect(plan.network.netmask).toBe("255.255.255.0");
        expect(plan.network.broadcast).toBe("192.168.77.255");
    });

    test("planning 500 machines stays well under a second", () => {
        const raw = { hardwareCount: 500, workers: 400, podCidr: "10.64.0.0/14" };
        const started = process.hrtime.bigint();
        labPlan(raw);
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        expect(elapsedMs).toBeLessThan(1000);
    });

    test("the machine addresses start right after the reserved block and stay below broadcast", () => {
        const { plan } = labPlan({ hardwareCount: 31, workers: 20, networkSubnet: "10.71.0.0/26" });
        expect(plan.machines[0].ip).toBe("10.71.0.32");
        expect(plan.machines[30].ip).toBe("10.71.0.62");
        expect(toBigInt(plan.machines[30].ip)).toBeLessThan(toBigInt(plan.network.broadcast));
    });
});
