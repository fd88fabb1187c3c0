/**
 * The lab's machines under the REAL Pulumi engine: the CLI v3.260.0 and Node.js language host built
 * by tests/e2e/toolchain/pulumi.sh run tests/e2e/engine/ — a tiny program that reads its stack config
 * with the project's own lib/config.ts + lib/plan.ts and instantiates the real `Machines` component
 * (the libvirt Pool, Volume and Domain dynamic providers over virsh). The other provider plugins of
 * the full program cannot be obtained on the test machines, so this is the part that runs for real.
 *
 * One scenario, each step checking what a user would check (CLI exit codes and summaries, then the
 * host read back with virsh): preview, up, no-change preview/up, the BMC's changes are not drift,
 * day-2 changes (machine count, memory, storageDir), out-of-band drift, destroy with zero leftovers
 * and foreign objects untouched, two stacks side by side, a killed `up`, and timings for 3 and 10
 * machines (printed as one summary line at the end).
 *
 * Every stack name is unique per run (`e2e<hex>`); afterAll destroys every stack it created and then
 * sweeps libvirt for anything named after those stacks, even when a step failed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { machineVolumeName } from "../../lib/libvirt/domain-xml";
import { parseLabConfig } from "../../lib/config";
import { LabPlan, planLab } from "../../lib/plan";
import { labName } from "../../lib/naming";
import {
    PulumiWorkspace,
    RunResult,
    Timings,
    createWorkspace,
    describeE2e,
    describeRun,
    domainNames,
    domainState,
    ensureBridge,
    expectSuccess,
    scenarioSteps,
    killGroup,
    missingLibvirt,
    missingToolchain,
    poolNames,
    previewSteps,
    pulumi,
    resourceSummary,
    sweepLibvirt,
    uniqueToken,
    virsh,
    virshOk,
} from "./support";

const ENGINE_DIR = path.join(__dirname, "engine");
const PROJECT = "capt-playground";
const POOL_TYPE = "pulumi-nodejs:dynamic/libvirt:Pool";
const VOLUME_TYPE = "pulumi-nodejs:dynamic/libvirt:Volume";
const DOMAIN_TYPE = "pulumi-nodejs:dynamic/libvirt:Domain";
/** Delay between the first "Volume … creating" line and the SIGKILL of step 9 (a disk takes ~60 ms). */
const KILL_DELAY_MS = Number(process.env.CAPT_E2E_KILL_DELAY_MS ?? 40);

type RawConfig = Record<string, string>;

/** A stack of the engine program, with the config the test gave it and the plan that config means. */
class TestStack {
    config: RawConfig;
    constructor(
        readonly ws: PulumiWorkspace,
        readonly name: string,
        config: RawConfig,
    ) {
        this.config = { ...config };
    }

    get lab(): string {
        return labName(this.name);
    }

    /** The plan the program computes for the current config: the project's own planner. */
    get plan(): LabPlan {
        const config = parseLabConfig(this.config, { stack: this.name });
        return planLab(config, { project: PROJECT, stack: this.name, projectDir: ENGINE_DIR });
    }

    run(args: string[], options?: Parameters<typeof pulumi>[2]): Promise<RunResult> {
        return pulumi(this.ws, [...args, "--stack", this.name], options);
    }

    async init(): Promise<void> {
        expectSuccess(await pulumi(this.ws, ["stack", "init", this.name]));
        const pairs = Object.entries(this.config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]);
        expectSuccess(await this.run(["config", "set-all", ...pairs]));
    }

    async set(key: string, value: string): Promise<void> {
        expectSuccess(await this.run(["config", "set", key, value]));
        this.config[key] = value;
    }
}

// ---------------------------------------------------------------------------------------------
// read-back helpers

function machineUrnName(machine: string): string {
    return `machines-${machine}`;
}

/** `+ <type> <name> create` lines of a text preview, as "type name". */
function plannedCreates(output: string): string[] {
    return [...output.matchAll(/^\s*\+\s+(pulumi-nodejs:dynamic\/libvirt:\w+) (\S+) create\s*$/gm)].map(
        (m) => `${m[1]} ${m[2]}`,
    );
}

function poolPath(pool: string): string | undefined {
    return /<path>([^<]+)<\/path>/.exec(virshOk("pool-dumpxml", pool))?.[1];
}

/** `virsh domiflist` rows: type, source (bridge), model, MAC. */
function interfaces(domain: string): { type: string; source: string; model: string; mac: string }[] {
    return virshOk("domiflist", domain)
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter((cols) => cols.length >= 5)
        .map(([, type, source, model, mac]) => ({ type, source, model, mac }));
}

/** Boot devices of the domain's definition: `<os><boot dev>` first, then per-device `<boot order>`. */
function bootDevices(domain: string): string[] {
    const xml = virshOk("dumpxml", "--inactive", domain);
    const os = /<os\b[\s\S]*?<\/os>/.exec(xml)?.[0] ?? "";
    const osBoots = [...os.matchAll(/<boot dev='([^']+)'\/>/g)].map((m) => m[1]);
    const deviceBoots = [...xml.matchAll(/<boot order='(\d+)'/g)].map((m) => `order=${m[1]}`);
    return [...osBoots, ...deviceBoots];
}

/**
 * What VirtualBMC does for "set boot device network": the domain's XML with every `<os><boot>` and
 * every per-device `<boot>` removed and one `<boot dev='network'/>` added, defined again.
 */
function rewriteBootLikeVbmc(domain: string, dir: string): void {
    const xml = virshOk("dumpxml", "--inactive", domain);
    const stripped = xml.replace(/\s*<boot\b[^>]*\/>/g, "");
    const rewritten = stripped.replace(/(\s*)<\/os>/, "$1  <boot dev='network'/>$1</os>");
    const file = path.join(dir, `${domain}.vbmc.xml`);
    fs.writeFileSync(file, rewritten);
    virshOk("define", file);
}

function maxMemoryKiB(domain: string): number {
    const match = /^Max memory:\s+(\d+) KiB/m.exec(virshOk("dominfo", domain));
    return Number(match?.[1]);
}

/** The UEFI variable store of a running domain (firmware auto-selection shows it only in the live XML). */
function nvramPath(domain: string): string | undefined {
    return /<nvram\b[^>]*>([^<]+)<\/nvram>/.exec(virshOk("dumpxml", domain))?.[1];
}

function volumePath(pool: string, volume: string): string | undefined {
    const result = virsh("vol-path", "--pool", pool, volume);
    return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Lines of `up` output with the given marker, in order, as "type name". */
function eventOrder(output: string, event: string): string[] {
    const pattern = new RegExp(`^\\s*[-+~]+\\s+(pulumi-nodejs:dynamic/libvirt:\\w+) (\\S+) ${event}\\b`, "gm");
    return [...output.matchAll(pattern)].map((m) => `${m[1]} ${m[2]}`);
}

function ownedLeftovers(lab: string): string[] {
    const ours = (n: string) => n === lab || n.startsWith(`${lab}-`);
    return [
        ...domainNames()
            .filter(ours)
            .map((d) => `domain ${d}`),
        ...poolNames()
            .filter(ours)
            .map((p) => `pool ${p}`),
    ];
}

// ---------------------------------------------------------------------------------------------

describeE2e("libvirt machines under the real Pulumi engine", [missingToolchain, missingLibvirt], () => {
    let ws: PulumiWorkspace;
    const stacks: TestStack[] = [];
    const bridges: (() => void)[] = [];
    const timings = new Timings();
    const timings10 = new Timings();
    const findings: string[] = [];

    const step = scenarioSteps(15 * 60_000);

    function newStack(config: RawConfig): TestStack {
        const name = `e2e${uniqueToken(6)}`;
        const stack = new TestStack(ws, name, {
            preflight: "false",
            domainType: "qemu",
            vmGraphics: "none",
            storageDir: path.join(ws.tmp, `${name}-a`),
            ...config,
        });
        stacks.push(stack);
        return stack;
    }

    let main: TestStack;
    let foreignDomain: string;
    let foreignPool: string;
    let foreignDomainXml: string;
    let defaultPoolBefore: string | undefined;

    beforeAll(() => {
        ws = createWorkspace(ENGINE_DIR);
        main = newStack({ hardwareCount: "3" });
        // Objects the stack must never touch, with names close to its own: a domain named like one
        // of its machines (but not tagged as its), and a pool of another name holding a volume named
        // like one of its disks. Created "by someone else" before the stack exists.
        foreignDomain = `${main.lab}-node9`;
        const foreignXmlFile = path.join(ws.tmp, "foreign-domain.xml");
        fs.writeFileSync(
            foreignXmlFile,
            `<domain type='qemu'><name>${foreignDomain}</name><memory unit='MiB'>64</memory>` +
                "<os><type arch='x86_64'>hvm</type></os></domain>",
        );
        virshOk("define", foreignXmlFile);
        foreignDomainXml = virshOk("dumpxml", "--inactive", foreignDomain);
        foreignPool = `${main.lab}-foreign`;
        const foreignDir = path.join(ws.tmp, "foreign-pool");
        virshOk("pool-define-as", foreignPool, "dir", "--target", foreignDir);
        virshOk("pool-build", foreignPool);
        virshOk("pool-start", foreignPool);
        virshOk("vol-create-as", foreignPool, machineVolumeName(main.plan.machines[0]), "1M", "--format", "qcow2");
        defaultPoolBefore = poolNames().includes("default") ? virshOk("pool-info", "default") : undefined;
        // The machines' NICs attach to the planned bridge when a domain starts (the docker network
        // creates it in the real lab); the test provides it for the power-state steps.
        bridges.push(ensureBridge(main.plan.network.bridge));
    });

    afterAll(async () => {
        const leftovers: string[] = [];
        for (const stack of stacks) {
            const exists = fs.existsSync(path.join(ENGINE_DIR, `Pulumi.${stack.name}.yaml`));
            if (exists) {
                // A killed update leaves the file backend's lock behind; without one this is a no-op.
                await stack.run(["cancel", "--yes"]);
                const destroy = await stack.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 10 * 60_000 });
                if (destroy.code !== 0) {
                    console.warn(`cleanup: destroy of ${stack.name} failed:\n${describeRun(destroy)}`);
                }
                await stack.run(["stack", "rm", "--yes", "--force"]);
            }
            fs.rmSync(path.join(ENGINE_DIR, `Pulumi.${stack.name}.yaml`), { force: true });
            leftovers.push(...sweepLibvirt(stack.lab));
        }
        for (const remove of bridges) {
            remove();
        }
        if (ws) {
            fs.rmSync(ws.tmp, { recursive: true, force: true });
        }
        // The foreign objects are the test's own and were expected to survive; the sweep removed them.
        const unexpected = leftovers.filter((l) => l !== `domain ${foreignDomain}` && l !== `pool ${foreignPool}`);
        if (unexpected.length > 0) {
            console.warn(`cleanup swept leftovers: ${unexpected.join(", ")}`);
        }
        console.log(
            [
                timings.line("e2e timings, 3 machines"),
                timings10.line("e2e timings, 10 machines"),
                ...findings.map((f) => `finding: ${f}`),
            ].join("\n"),
        );
    }, 20 * 60_000);

    step("1. preview of a new stack lists the pool, 3 volumes and 3 domains, and changes nothing", async () => {
        await main.init();
        const plan = main.plan;
        const preview = timings.record("preview", await main.run(["preview"]));
        expectSuccess(preview);
        expect(plannedCreates(preview.stdout).sort()).toEqual(
            [
                `${POOL_TYPE} machines-pool`,
                ...plan.machines.map((m) => `${VOLUME_TYPE} ${machineUrnName(m.name)}-disk`),
                ...plan.machines.map((m) => `${DOMAIN_TYPE} ${machineUrnName(m.name)}`),
            ].sort(),
        );
        expect(resourceSummary(preview.stdout)).toEqual({ created: 9 });
        expect(poolNames()).not.toContain(plan.libvirt.poolName);
        expect(domainNames().filter((d) => plan.machines.some((m) => m.name === d))).toEqual([]);
        expect(fs.existsSync(plan.libvirt.storageDir)).toBe(false);
    });

    step(
        "2. up creates them: pool active at the planned dir, volumes, domains shut off on the planned bridge",
        async () => {
            const plan = main.plan;
            const up = timings.record("up", await main.run(["up", "--yes"]));
            expectSuccess(up);
            expect(resourceSummary(up.stdout)).toEqual({ created: 9 });

            const info = virshOk("pool-info", plan.libvirt.poolName);
            expect(info).toMatch(/^State:\s+running$/m);
            expect(info).toMatch(/^Autostart:\s+yes$/m);
            expect(poolPath(plan.libvirt.poolName)).toBe(plan.libvirt.storageDir);
            for (const machine of plan.machines) {
                const volume = machineVolumeName(machine);
                expect(volumePath(plan.libvirt.poolName, volume)).toBe(path.join(plan.libvirt.storageDir, volume));
                expect(fs.existsSync(path.join(plan.libvirt.storageDir, volume))).toBe(true);
                expect(domainState(machine.name)).toBe("shut off");
                expect(interfaces(machine.name)).toEqual([
                    { type: "bridge", source: plan.network.bridge, model: "virtio", mac: machine.mac },
                ]);
                expect(bootDevices(machine.name)).toEqual(["network", "hd"]);
            }
            const outputs = expectSuccess(await main.run(["stack", "output", "machines", "--json"]));
            expect(JSON.parse(outputs.stdout)).toEqual(
                plan.machines.map(({ name, role, mac, ip, bmcPort }) => ({
                    name,
                    role,
                    mac,
                    ip,
                    bmcPort,
                    bmc: `${plan.vbmc.ip}:${bmcPort}`,
                })),
            );
        },
    );

    step("3. no changes after up, and the BMC's boot order and power state are not drift", async () => {
        const plan = main.plan;
        const [node1, node2] = plan.machines;
        timings.record("preview-no-change", expectSuccess(await main.run(["preview", "--expect-no-changes"])));
        const again = timings.record("up-no-change", expectSuccess(await main.run(["up", "--yes"])));
        expect(resourceSummary(again.stdout)).toEqual({ unchanged: 9 });

        rewriteBootLikeVbmc(node1.name, ws.tmp);
        expect(bootDevices(node1.name)).toEqual(["network"]);
        virshOk("start", node2.name);
        expect(domainState(node2.name)).toBe("running");
        const whileRunning = await main.run(["preview", "--expect-no-changes"]);
        virshOk("destroy", node2.name);
        expectSuccess(whileRunning);
        expect(domainState(node2.name)).toBe("shut off");
        expectSuccess(await main.run(["preview", "--expect-no-changes"]));
        expect(bootDevices(node1.name)).toEqual(["network"]);
    });

    step("4. day 2: one more machine, back again, and a memory change updates every domain in place", async () => {
        await main.set("hardwareCount", "4");
        const node4 = main.plan.machines[3];
        const grow = expectSuccess(await main.run(["preview", "--json"]));
        const growSteps = previewSteps(grow);
        expect(growSteps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.type} ${s.name}`)).toEqual(
            expect.arrayContaining([
                `create ${VOLUME_TYPE} ${machineUrnName(node4.name)}-disk`,
                `create ${DOMAIN_TYPE} ${machineUrnName(node4.name)}`,
            ]),
        );
        expect(growSteps.filter((s) => s.op !== "same")).toHaveLength(2);
        const up4 = timings.record("up-add-1", expectSuccess(await main.run(["up", "--yes"])));
        expect(resourceSummary(up4.stdout)).toEqual({ created: 2, unchanged: 9 });
        expect(domainState(node4.name)).toBe("shut off");
        expect(interfaces(node4.name)[0].mac).toBe(node4.mac);
        expect(volumePath(main.plan.libvirt.poolName, machineVolumeName(node4))).toBeDefined();

        await main.set("hardwareCount", "3");
        const shrink = previewSteps(expectSuccess(await main.run(["preview", "--json"])));
        expect(
            shrink
                .filter((s) => s.op !== "same")
                .map((s) => `${s.op} ${s.type} ${s.name}`)
                .sort(),
        ).toEqual(
            [
                `delete ${DOMAIN_TYPE} ${machineUrnName(node4.name)}`,
                `delete ${VOLUME_TYPE} ${machineUrnName(node4.name)}-disk`,
            ].sort(),
        );
        const up3 = timings.record("up-remove-1", expectSuccess(await main.run(["up", "--yes"])));
        expect(resourceSummary(up3.stdout)).toEqual({ deleted: 2, unchanged: 9 });
        expect(domainState(node4.name)).toBeUndefined();
        expect(volumePath(main.plan.libvirt.poolName, machineVolumeName(node4))).toBeUndefined();
        expect(fs.readdirSync(main.plan.libvirt.storageDir).filter((f) => f.startsWith(`${node4.name}.`))).toEqual([]);

        await main.set("vmMemoryMiB", "2304");
        const diff = expectSuccess(await main.run(["preview", "--diff"]));
        const updates = [
            ...diff.stdout.matchAll(/^\s*~ (\S+): \(update\)\s*\n(?:\s*\[id=[^\]]*\]\s*\n)?\s*\[urn=([^\]]+)\]/gm),
        ].map((m) => `${m[1]} ${m[2].split("::").pop()}`);
        expect(updates.sort()).toEqual(
            main.plan.machines.map((m) => `${DOMAIN_TYPE} ${machineUrnName(m.name)}`).sort(),
        );
        expect(diff.stdout).not.toMatch(/\(replace\)|\+-|to replace/);
        expect(resourceSummary(diff.stdout)).toEqual({ updated: 3, unchanged: 6 });
        const upMem = timings.record("up-memory", expectSuccess(await main.run(["up", "--yes"])));
        expect(resourceSummary(upMem.stdout)).toEqual({ updated: 3, unchanged: 6 });
        for (const machine of main.plan.machines) {
            expect(maxMemoryKiB(machine.name)).toBe(2304 * 1024);
            expect(bootDevices(machine.name)).toEqual(machine.index === 1 ? ["network"] : ["network", "hd"]);
        }
        expectSuccess(await main.run(["preview", "--expect-no-changes"]));
    });

    step("5. a storageDir change replaces pool, volumes and domains in order and moves the disks", async () => {
        const oldDir = main.plan.libvirt.storageDir;
        await main.set("storageDir", path.join(ws.tmp, `${main.name}-b`));
        const plan = main.plan;
        const steps = previewSteps(expectSuccess(await main.run(["preview", "--json"])));
        expect(
            steps
                .filter((s) => s.op !== "same")
                .map((s) => `${s.op} ${s.type} ${s.name}`)
                .sort(),
        ).toEqual(
            [
                `replace ${POOL_TYPE} machines-pool`,
                ...plan.machines.map((m) => `replace ${VOLUME_TYPE} ${machineUrnName(m.name)}-disk`),
                ...plan.machines.map((m) => `replace ${DOMAIN_TYPE} ${machineUrnName(m.name)}`),
            ].sort(),
        );
        const up = timings.record("up-storage-dir", await main.run(["up", "--yes"]));
        if (up.code !== 0) {
            throw new Error(`PRODUCT FAULT? storageDir change did not apply:\n${describeRun(up)}`);
        }
        expect(resourceSummary(up.stdout)).toEqual({ replaced: 7, unchanged: 2 });
        // Order: domains deleted, then volumes, then the pool; the pool created, then volumes, then domains.
        const kind = (line: string) => line.split(" ")[0];
        const deleted = eventOrder(up.stdout, "deleted original").map(kind);
        const created = eventOrder(up.stdout, "created replacement").map(kind);
        expect(deleted).toEqual([...Array(3).fill(DOMAIN_TYPE), ...Array(3).fill(VOLUME_TYPE), POOL_TYPE]);
        expect(created).toEqual([POOL_TYPE, ...Array(3).fill(VOLUME_TYPE), ...Array(3).fill(DOMAIN_TYPE)]);
        const lastDelete = up.stdout.lastIndexOf("deleted original");
        const firstCreate = up.stdout.indexOf("created replacement");
        expect(lastDelete).toBeLessThan(firstCreate);

        expect(fs.existsSync(oldDir)).toBe(false);
        expect(poolPath(plan.libvirt.poolName)).toBe(plan.libvirt.storageDir);
        for (const machine of plan.machines) {
            const volume = machineVolumeName(machine);
            expect(fs.existsSync(path.join(plan.libvirt.storageDir, volume))).toBe(true);
            expect(volumePath(plan.libvirt.poolName, volume)).toBe(path.join(plan.libvirt.storageDir, volume));
            expect(domainState(machine.name)).toBe("shut off");
            expect(virshOk("dumpxml", "--inactive", machine.name)).toContain(
                `<log file='${path.join(plan.libvirt.storageDir, `${machine.name}.console.log`)}'`,
            );
        }
        expectSuccess(await main.run(["preview", "--expect-no-changes"]));
    });

    step("6. a domain undefined out of band is recreated by the next plain up", async () => {
        const plan = main.plan;
        const node2 = plan.machines[1];
        virshOk("undefine", "--nvram", node2.name);
        expect(domainState(node2.name)).toBeUndefined();
        const preview = await main.run(["preview", "--expect-no-changes"]);
        expect(preview.code).not.toBe(0);
        expect(preview.stdout).toMatch(new RegExp(`\\+-\\s+${DOMAIN_TYPE} ${machineUrnName(node2.name)} replace`));
        const up = timings.record("up-drift", expectSuccess(await main.run(["up", "--yes"])));
        expect(resourceSummary(up.stdout)).toEqual({ replaced: 1, unchanged: 8 });
        findings.push(
            "drift (domain undefined out of band): a plain `pulumi up --yes` recreates it (no --refresh needed)",
        );
        expect(domainState(node2.name)).toBe("shut off");
        expect(interfaces(node2.name)[0].mac).toBe(node2.mac);
        expectSuccess(await main.run(["preview", "--expect-no-changes"]));
    });

    step("7. destroy leaves nothing of the stack and touches nothing else", async () => {
        const plan = main.plan;
        const node3 = plan.machines[2];
        // A machine that was powered on once has an NVRAM file; destroy must remove it too.
        virshOk("start", node3.name);
        const nvram = nvramPath(node3.name);
        virshOk("destroy", node3.name);
        expect(nvram).toBeDefined();
        expect(fs.existsSync(nvram as string)).toBe(true);

        const destroy = timings.record("destroy", expectSuccess(await main.run(["destroy", "--yes"])));
        expect(resourceSummary(destroy.stdout)).toEqual({ deleted: 9 });

        expect(
            ownedLeftovers(main.lab).filter((l) => l !== `domain ${foreignDomain}` && l !== `pool ${foreignPool}`),
        ).toEqual([]);
        expect(fs.existsSync(nvram as string)).toBe(false);
        expect(fs.existsSync(plan.libvirt.storageDir)).toBe(false);
        expect(fs.existsSync(path.join(ws.tmp, `${main.name}-a`))).toBe(false);
        const exported = JSON.parse(expectSuccess(await main.run(["stack", "export"])).stdout);
        expect(exported.deployment.resources ?? []).toEqual([]);

        // Foreign objects: untouched.
        expect(virshOk("dumpxml", "--inactive", foreignDomain)).toBe(foreignDomainXml);
        expect(virshOk("pool-info", foreignPool)).toMatch(/^State:\s+running$/m);
        expect(volumePath(foreignPool, machineVolumeName(plan.machines[0]))).toBeDefined();
        if (defaultPoolBefore !== undefined) {
            expect(virshOk("pool-info", "default")).toBe(defaultPoolBefore);
        }
        expectSuccess(await main.run(["stack", "rm", "--yes"]));
    });

    test("8. two stacks up at the same time get disjoint names and MACs, and both destroy cleanly", async () => {
        const a = newStack({ hardwareCount: "2" });
        const b = newStack({ hardwareCount: "2" });
        await Promise.all([a.init(), b.init()]);
        const ups = await Promise.all([a.run(["up", "--yes"]), b.run(["up", "--yes"])]);
        timings.record("up-2-stacks-concurrently", ups[0].seconds > ups[1].seconds ? ups[0] : ups[1]);
        ups.forEach(expectSuccess);
        const names = [...a.plan.machines, ...b.plan.machines].map((m) => m.name);
        const macs = [...a.plan.machines, ...b.plan.machines].map((m) => m.mac);
        expect(new Set(names).size).toBe(4);
        expect(new Set(macs).size).toBe(4);
        expect(a.plan.libvirt.poolName).not.toBe(b.plan.libvirt.poolName);
        for (const stack of [a, b]) {
            expect(poolPath(stack.plan.libvirt.poolName)).toBe(stack.plan.libvirt.storageDir);
            for (const machine of stack.plan.machines) {
                expect(interfaces(machine.name)[0].mac).toBe(machine.mac);
            }
        }
        const destroys = await Promise.all([a.run(["destroy", "--yes"]), b.run(["destroy", "--yes"])]);
        destroys.forEach(expectSuccess);
        expect([...ownedLeftovers(a.lab), ...ownedLeftovers(b.lab)]).toEqual([]);
        await Promise.all([a.run(["stack", "rm", "--yes"]), b.run(["stack", "rm", "--yes"])]);
    });

    test("9. an up killed with SIGKILL after the pool exists is recovered, then up converges", async () => {
        const stack = newStack({ hardwareCount: "3" });
        await stack.init();
        const plan = stack.plan;
        // Killed (the CLI and its language host and provider processes) as soon as the first disk is
        // being created: the pool exists, no domain does, and a volume create may be left pending.
        let killed = false;
        const interrupted = await stack.run(["up", "--yes", "--skip-preview"], {
            onStdout: (soFar, child) => {
                if (!killed && /Volume \S+ creating/.test(soFar)) {
                    killed = true;
                    // A moment later libvirt has often made a disk the engine has not recorded yet.
                    setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_DELAY_MS);
                }
            },
        });
        expect(killed).toBe(true);
        expect(interrupted.signal).toBe("SIGKILL");
        expect(poolNames()).toContain(plan.libvirt.poolName);
        expect(plan.machines.filter((m) => domainState(m.name) !== undefined)).toEqual([]);
        const volumesAtKill = plan.machines.filter((m) => volumePath(plan.libvirt.poolName, machineVolumeName(m)));
        findings.push(`killed up: pool existed, 0 of 3 domains, ${volumesAtKill.length} of 3 disks at the kill`);

        // The file backend writes no metadata sidecars (`metadata=skip`): one rewritten in place at the
        // kill would leave the stack unreadable ("failed to load checkpoint: EOF").
        const stateFiles = fs.readdirSync(path.join(ws.tmp, "state"), { recursive: true, encoding: "utf8" });
        expect(stateFiles.filter((file) => file.endsWith(".attrs"))).toEqual([]);

        // 1. The file backend keeps the killed update's lock: the next up refuses until `pulumi cancel`.
        const locked = await stack.run(["up", "--yes"]);
        expect(locked.code).not.toBe(0);
        expect(`${locked.stdout}${locked.stderr}`).toMatch(/currently locked/);
        expectSuccess(await stack.run(["cancel", "--yes"]));

        // 2. Up again. A disk whose create was interrupted after libvirt made it is a pending create
        // the Volume provider will not adopt; then: clear pending creates, delete that disk, up.
        const next = await stack.run(["up", "--yes"]);
        if (next.code === 0) {
            findings.push("killed up: recovered with `pulumi cancel --yes`, then `pulumi up --yes`");
        } else {
            const output = `${next.stdout}\n${next.stderr}`;
            expect(output).toMatch(/pending operations from previous deployment/);
            const refused = [
                ...new Set(
                    [...output.matchAll(/refusing to create volume '([^']+)' in pool '([^']+)'/g)].map(
                        (m) => `${m[2]}/${m[1]}`,
                    ),
                ),
            ];
            expect(refused.length).toBeGreaterThan(0);
            expectSuccess(await stack.run(["refresh", "--clear-pending-creates", "--yes"]));
            for (const entry of refused) {
                const [pool, volume] = entry.split("/");
                virshOk("vol-delete", "--pool", pool, volume);
            }
            expectSuccess(await stack.run(["up", "--yes"]));
            findings.push(
                "killed up: `pulumi cancel --yes`; `pulumi up` then failed (pending create, volume " +
                    `${refused.join(", ")} refused as not in state); recovered with ` +
                    "`pulumi refresh --clear-pending-creates --yes`, `virsh vol-delete` of each refused disk, `pulumi up --yes`",
            );
        }
        expectSuccess(await stack.run(["preview", "--expect-no-changes"]));
        for (const machine of plan.machines) {
            expect(domainState(machine.name)).toBe("shut off");
        }
        expectSuccess(await stack.run(["destroy", "--yes"]));
        expect(ownedLeftovers(stack.lab)).toEqual([]);
        await stack.run(["stack", "rm", "--yes"]);
    });

    test("10. timings with 10 machines: preview, up, no-change up, destroy", async () => {
        const stack = newStack({ hardwareCount: "10" });
        await stack.init();
        timings10.record("preview", expectSuccess(await stack.run(["preview"])));
        const up = timings10.record("up", expectSuccess(await stack.run(["up", "--yes"])));
        expect(resourceSummary(up.stdout)).toEqual({ created: 23 });
        const again = timings10.record("up-no-change", expectSuccess(await stack.run(["up", "--yes"])));
        expect(resourceSummary(again.stdout)).toEqual({ unchanged: 23 });
        const destroy = timings10.record("destroy", expectSuccess(await stack.run(["destroy", "--yes"])));
        expect(resourceSummary(destroy.stdout)).toEqual({ deleted: 23 });
        expect(ownedLeftovers(stack.lab)).toEqual([]);
        await stack.run(["stack", "rm", "--yes"]);
    });
});
