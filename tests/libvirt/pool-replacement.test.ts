/**
 * A `storageDir` change replaces the stack's pool. The pool can only go once its volumes are gone,
 * so the volumes (and the domains whose disks they are) must be replaced with it. The engine decides
 * that from the property dependencies recorded in the previous state (calculateDependentReplacements
 * in pulumi's step generator): for every transitive dependent whose inputs came from a resource
 * being replaced, it sets those inputs to unknown and asks the provider's Diff; a dependent whose Diff
 * says "replace" is deleted — in reverse dependency order, before the delete-before-replace resource —
 * and created again when the program registers it.
 *
 * Here the Machines component is constructed under mocks (what the engine records), and that
 * sequence is played against the real providers and a real libvirtd.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { domainProvider } from "../../providers/libvirt/domain";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import { UNKNOWN } from "../../providers/libvirt/inputs";
import { poolProvider } from "../../providers/libvirt/pool";
import { volumeProvider } from "../../providers/libvirt/volume";
import { labPlan } from "../fixtures";
import { TEST_URI, describeWithLibvirt, virshOk, virshSync } from "./gate";
import { TestLab, createTestLab } from "./lab";
import { RecordedResource, machinesUnderMocks } from "./machines-under-mocks";

const POOL = "pulumi-nodejs:dynamic/libvirt:Pool";
const VOLUME = "pulumi-nodejs:dynamic/libvirt:Volume";
const DOMAIN = "pulumi-nodejs:dynamic/libvirt:Domain";

type Props = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the three providers, used uniformly
type AnyProvider = Required<import("@pulumi/pulumi").dynamic.ResourceProvider<any, any>>;
const PROVIDERS: Record<string, AnyProvider> = {
    [POOL]: poolProvider as AnyProvider,
    [VOLUME]: volumeProvider as AnyProvider,
    [DOMAIN]: domainProvider as AnyProvider,
};

/** One resource as the engine's state holds it. */
interface StateEntry {
    urn: string;
    type: string;
    id: string;
    inputs: Props;
    outputs: Props;
    propertyDependencies: Record<string, string[]>;
}

function providerInputs(resource: RecordedResource): Props {
    const { __provider: _serialized, ...inputs } = resource.inputs;
    return inputs;
}

/** The libvirt resources in registration order (which is dependency order). */
function custom(resources: RecordedResource[]): RecordedResource[] {
    return resources.filter((r) => r.type in PROVIDERS);
}

async function checked(resource: RecordedResource, olds: Props): Promise<Props> {
    const result = await PROVIDERS[resource.type].check(olds, providerInputs(resource));
    expect({ name: resource.name, failures: result.failures ?? [] }).toEqual({ name: resource.name, failures: [] });
    return result.inputs as Props;
}

async function create(resource: RecordedResource, state: Map<string, StateEntry>, olds: Props = {}): Promise<void> {
    const inputs = await checked(resource, olds);
    const { id, outs } = await PROVIDERS[resource.type].create(inputs);
    state.set(resource.urn, {
        urn: resource.urn,
        type: resource.type,
        id,
        inputs,
        outputs: outs as Props,
        propertyDependencies: resource.propertyDependencies,
    });
}

/** The engine's calculateDependentReplacements, over the previous state's property dependencies. */
async function dependentReplacements(root: StateEntry, state: Map<string, StateEntry>): Promise<StateEntry[]> {
    const replaceSet = new Set([root.urn]);
    const entries = [...state.values()];
    const after = entries.slice(entries.indexOf(root) + 1);
    const toReplace: StateEntry[] = [];
    for (const dependent of after) {
        let dependsOnReplaced = false;
        const inputsForDiff: Props = {};
        for (const [key, value] of Object.entries(dependent.inputs)) {
            const replaced = (dependent.propertyDependencies[key] ?? []).some((urn) => replaceSet.has(urn));
            dependsOnReplaced ||= replaced;
            inputsForDiff[key] = replaced ? UNKNOWN : value;
        }
        if (!dependsOnReplaced) {
            continue;
        }
        const diff = await PROVIDERS[dependent.type].diff(dependent.id, dependent.outputs, inputsForDiff);
        if ((diff.replaces ?? []).length > 0) {
            toReplace.push(dependent);
            replaceSet.add(dependent.urn);
        }
    }
    return toReplace;
}

/** A `pulumi up` of `program` over `state`: same, update, or (delete-before-)replace per resource. */
async function up(program: RecordedResource[], state: Map<string, StateEntry>): Promise<string[]> {
    const log: string[] = [];
    const deleted = new Set<string>();
    for (const resource of custom(program)) {
        const old = state.get(resource.urn);
        if (!old) {
            await create(resource, state);
            log.push(`create ${resource.name}`);
            continue;
        }
        if (deleted.has(resource.urn)) {
            await create(resource, state, old.inputs);
            log.push(`recreate ${resource.name}`);
            continue;
        }
        const provider = PROVIDERS[resource.type];
        const inputs = await checked(resource, old.inputs);
        const diff = await provider.diff(old.id, old.outputs, inputs);
        if (!diff.changes) {
            continue;
        }
        if ((diff.replaces ?? []).length === 0) {
            old.outputs = (await provider.update(old.id, old.outputs, inputs)).outs as Props;
            old.inputs = inputs;
            log.push(`update ${resource.name}`);
            continue;
        }
        expect({ name: resource.name, deleteBeforeReplace: diff.deleteBeforeReplace }).toEqual({
            name: resource.name,
            deleteBeforeReplace: true,
        });
        const dependents = await dependentReplacements(old, state);
        for (const dependent of [...dependents].reverse()) {
            await PROVIDERS[dependent.type].delete(dependent.id, dependent.outputs);
            deleted.add(dependent.urn);
            log.push(`delete ${dependent.urn.split("::").pop()}`);
        }
        await provider.delete(old.id, old.outputs);
        log.push(`delete ${resource.name}`);
        await create(resource, state, old.inputs);
        log.push(`create ${resource.name}`);
    }
    return log;
}

function byType(resources: RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

describe("Machines wiring (mocks)", () => {
    test("a volume's pool is the Pool's output, a domain's disk (its XML) is the Volume's outputs", async () => {
        const { config, plan } = labPlan({ preflight: false });
        const recorded = await machinesUnderMocks(config, plan);
        const [pool] = byType(recorded, POOL);
        const volumes = byType(recorded, VOLUME);
        const domains = byType(recorded, DOMAIN);
        expect(volumes).toHaveLength(plan.machines.length);
        expect(domains).toHaveLength(plan.machines.length);
        // Pool, volume and domain names are host-wide (or pool-wide): the old one goes first.
        expect([pool, ...volumes, ...domains].filter((r) => !r.deleteBeforeReplace)).toEqual([]);
        for (const volume of volumes) {
            expect(volume.inputs.pool).toBe(plan.libvirt.poolName);
            expect(volume.propertyDependencies.pool).toEqual([pool.urn]);
        }
        for (const domain of domains) {
            const volume = volumes.find((v) => v.inputs.name === `${domain.inputs.name}.qcow2`)!;
            expect(domain.propertyDependencies.xml).toEqual([volume.urn]);
            const disk = domainFacts(domain.inputs.xml as string, OWNERSHIP_NAMESPACE).disks[0];
            expect([disk.pool, disk.volume]).toEqual([volume.inputs.pool, volume.inputs.name]);
        }
    });
});

describeWithLibvirt("a storageDir change on a real libvirtd, in the engine's order", () => {
    let lab: TestLab;
    beforeAll(() => {
        lab = createTestLab();
    });
    afterAll(() => lab?.cleanup());

    test("replaces the pool with its volumes and domains: no refusal, nothing left in the old directory", async () => {
        const stack = `t${lab.token}`;
        const dirA = path.join(lab.folder, "disks-a");
        const dirB = path.join(lab.folder, "disks-b");
        const raw = { libvirtUri: TEST_URI, domainType: "qemu", hardwareCount: 2, vmDiskGiB: 10, preflight: false };
        const before = labPlan({ ...raw, storageDir: dirA }, stack);
        const state = new Map<string, StateEntry>();
        await up(await machinesUnderMocks(before.config, before.plan), state);
        const poolName = before.plan.libvirt.poolName;
        expect(virshOk("pool-dumpxml", poolName)).toContain(`<path>${dirA}</path>`);
        const machineNames = before.plan.machines.map((m) => m.name);
        expect(fs.readdirSync(dirA).sort()).toEqual(
            machineNames.flatMap((name) => [`${name}.console.log`, `${name}.osie.log`, `${name}.qcow2`]).sort(),
        );

        const after = labPlan({ ...raw, storageDir: dirB }, stack);
        const log = await up(await machinesUnderMocks(after.config, after.plan), state);
        // Domains, then their disks, then the pool go; then the pool, the disks and the domains come
        // back. Within a phase the machines' order is whatever order they registered in.
        const n = machineNames.length;
        const phases = [n, n, 2, n, n].map((size, i, sizes) => {
            const from = sizes.slice(0, i).reduce((a, b) => a + b, 0);
            return log.slice(from, from + size).sort();
        });
        expect(log).toHaveLength(4 * n + 2);
        expect(phases).toEqual([
            machineNames.map((name) => `delete machines-${name}`).sort(),
            machineNames.map((name) => `delete machines-${name}-disk`).sort(),
            ["create machines-pool", "delete machines-pool"],
            machineNames.map((name) => `recreate machines-${name}-disk`).sort(),
            machineNames.map((name) => `recreate machines-${name}`).sort(),
        ]);
        expect(log.slice(2 * n, 2 * n + 2)).toEqual(["delete machines-pool", "create machines-pool"]);
        expect(virshOk("pool-dumpxml", poolName)).toContain(`<path>${dirB}</path>`);
        expect(fs.existsSync(dirA)).toBe(false);
        for (const name of machineNames) {
            const live = domainFacts(virshOk("dumpxml", "--inactive", name), OWNERSHIP_NAMESPACE);
            expect(live.consoleLogs).toEqual([
                path.join(dirB, `${name}.console.log`),
                path.join(dirB, `${name}.osie.log`),
            ]);
            expect(virshOk("vol-path", "--pool", poolName, `${name}.qcow2`).trim()).toBe(
                path.join(dirB, `${name}.qcow2`),
            );
        }

        // A second `up` with the same program changes nothing; destroy then leaves nothing.
        expect(await up(await machinesUnderMocks(after.config, after.plan), state)).toEqual([]);
        for (const entry of [...state.values()].reverse()) {
            await PROVIDERS[entry.type].delete(entry.id, entry.outputs);
        }
        expect(virshSync("pool-info", poolName).status).not.toBe(0);
        expect(fs.existsSync(dirB)).toBe(false);
    }, 120_000);
});
