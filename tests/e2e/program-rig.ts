/**
 * The rig that runs the whole program (`index.ts`) under the real CLI: a workspace whose environment
 * puts the stand-ins and the kube toolchain on PATH, the real Tinkerbell chart unpacked for
 * `tinkerbellChart`, stacks whose config lives in the test's own files (`--config-file`, so nothing
 * is written into the clone), and readers of the engine's event log. Shared by
 * tests/e2e/program.test.ts and the whole-program section of `npm run bench`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { LabConfig, parseLabConfig } from "../../lib/config";
import { LabPlan, planLab } from "../../lib/plan";
import { projectDefaults } from "../../lib/stack-files";
import { KUBE_VERSION, STAND_INS, vbmcImageTag } from "./lab-fixture";
import {
    PROJECT_ROOT,
    PulumiWorkspace,
    RunResult,
    RunOptions,
    createWorkspace,
    e2eCacheRoot,
    expectSuccess,
    lab,
    pulumi,
} from "./support";

const PROJECT_FILE = parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), "utf8"));
const PROJECT_NAME = "capt-playground";
const SHARED = path.resolve(PROJECT_ROOT, "..", "shared");
export const CHART_TARBALL = path.join(SHARED, "charts", "tinkerbell-chart@23da0880.tar.gz");
export const SCHEMAS_DIR = process.env.CAPT_SCHEMAS_DIR ?? path.join(SHARED, "schemas");
export const KUBE_BIN = path.join(e2eCacheRoot(), "kubernetes", KUBE_VERSION, "bin");

export type RawConfig = Record<string, string>;

interface PendingRecord {
    type: string;
    resource: { urn: string };
}

/** Why the node's daemons or the chart are not there, or undefined. */
export function missingProgramParts(): string | undefined {
    for (const tool of ["kube-controller-manager", "kube-scheduler"]) {
        if (!fs.existsSync(path.join(KUBE_BIN, tool))) {
            return `${tool} ${KUBE_VERSION} is not in ${KUBE_BIN}; build it with tests/e2e/toolchain/kube-apiserver.sh`;
        }
    }
    if (!fs.existsSync(CHART_TARBALL)) {
        return `the Tinkerbell chart is not at ${CHART_TARBALL}`;
    }
    return undefined;
}

export interface ProgramWorkspace extends PulumiWorkspace {
    /** The real chart's directory, given as `tinkerbellChart`. */
    chart: string;
    /** The stand-ins' state (the kind clusters). */
    standIns: string;
}

/** A file backend with a passphrase in a fresh directory, the stand-ins on PATH, the real chart unpacked. */
export function programWorkspace(): ProgramWorkspace {
    const ws = createWorkspace(PROJECT_ROOT);
    const standIns = path.join(ws.tmp, "stand-ins");
    Object.assign(ws.env, {
        PATH: [STAND_INS, KUBE_BIN, ws.env.PATH].join(":"),
        CAPT_E2E_STATE: standIns,
        CAPT_E2E_KUBE_BIN: KUBE_BIN,
        CAPT_SCHEMAS_DIR: SCHEMAS_DIR,
        // Unhides `--event-log` (pkg/cmd/pulumi/operations: registered only with debug commands on).
        PULUMI_DEBUG_COMMANDS: "true",
    });
    delete ws.env.KUBECONFIG;
    const chartDir = path.join(ws.tmp, "chart");
    fs.mkdirSync(chartDir);
    const untar = spawnSync("tar", ["-xzf", CHART_TARBALL, "-C", chartDir], { encoding: "utf8" });
    if (untar.status !== 0) {
        throw new Error(`tar -xzf ${CHART_TARBALL}: ${untar.stderr}`);
    }
    return { ...ws, chart: path.join(chartDir, "tinkerbell"), standIns };
}

/**
 * The config every rig stack starts from: no preflight (it checks KVM and the real kind and
 * clusterctl), TCG domains, the local virtual BMC image, the real chart, no CNI (a chart from the
 * internet that would need nodes), and address ranges of its own (`slot` 0..9) so two stacks and the
 * other suites never share a subnet.
 */
export function rigConfig(ws: ProgramWorkspace, name: string, slot: number, overrides: RawConfig = {}): RawConfig {
    const base = 180 + slot * 5;
    return {
        hardwareCount: "2",
        controlPlanes: "1",
        workers: "1",
        preflight: "false",
        domainType: "qemu",
        vmGraphics: "none",
        cni: "none",
        workloadTimeoutMinutes: "5",
        storageDir: path.join(ws.tmp, `${name}-pool`),
        vbmcImage: vbmcImageTag(),
        tinkerbellChart: ws.chart,
        networkSubnet: `10.${base}.0.0/16`,
        podCidr: `10.${base + 1}.0.0/16`,
        serviceCidr: `10.${base + 2}.0.0/16`,
        kindPodCidr: `10.${base + 3}.0.0/16`,
        kindServiceCidr: `10.${base + 4}.0.0/16`,
        ...overrides,
    };
}

/** A stack of the real program; its config lives in a file of the rig's (`--config-file`), not in the clone. */
export class ProgramStack {
    config: RawConfig;
    readonly configFile: string;
    constructor(
        readonly ws: ProgramWorkspace,
        readonly name: string,
        config: RawConfig,
    ) {
        this.config = { ...config };
        this.configFile = path.join(ws.tmp, `Pulumi.${name}.yaml`);
    }

    get labConfig(): LabConfig {
        return parseLabConfig({ ...projectDefaults(PROJECT_FILE), ...this.config }, { stack: this.name });
    }

    get plan(): LabPlan {
        return planLab(this.labConfig, { project: PROJECT_NAME, stack: this.name, projectDir: PROJECT_ROOT });
    }

    run(args: string[], options?: Parameters<typeof pulumi>[2]): Promise<RunResult> {
        return pulumi(this.ws, [...args, "--stack", this.name, "--config-file", this.configFile], options);
    }

    /** A stack output, secrets shown (`stack output` takes no --config-file). */
    async output(name: string): Promise<string> {
        const run = expectSuccess(
            await pulumi(this.ws, ["stack", "output", name, "--show-secrets", "--stack", this.name]),
        );
        return run.stdout.trim();
    }

    /** The state as `pulumi stack export` prints it. */
    async exportState(): Promise<{ deployment: { resources: { urn: string; custom?: boolean }[] } }> {
        return JSON.parse(expectSuccess(await pulumi(this.ws, ["stack", "export", "--stack", this.name])).stdout);
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

    /**
     * True when the file backend's state holds each named resource as created, not as a pending
     * operation. The display prints "created" before the engine has written that to the state, so a
     * kill meant to land after a create waits for this.
     */
    persisted(names: string[]): boolean {
        const file = path.join(this.ws.tmp, "state", ".pulumi", "stacks", PROJECT_NAME, `${this.name}.json`);
        try {
            const latest = JSON.parse(fs.readFileSync(file, "utf8")).checkpoint?.latest ?? {};
            const urns = (list?: { urn?: string; resource?: { urn: string } }[]) =>
                (list ?? []).map((r) => r.urn ?? r.resource?.urn ?? "");
            const done = urns(latest.resources);
            const pending = urns(latest.pending_operations);
            return names.every(
                (n) => done.some((u) => u.endsWith(`::${n}`)) && !pending.some((u) => u.endsWith(`::${n}`)),
            );
        } catch {
            return false; // not written yet, or caught half-way through a write
        }
    }

    /** `npm run <command>` of this stack (scripts/lab.ts with its recovery), its config from the rig's file. */
    lab(command: "up" | "preview" | "destroy", args: string[] = [], options?: RunOptions): Promise<RunResult> {
        return lab(this.ws, command, ["--stack", this.name, "--config-file", this.configFile, ...args], options);
    }

    /** The checkpoint as the file backend holds it now, or undefined (none yet, or caught mid-write). */
    private checkpoint(): { resources?: { urn: string }[]; pending_operations?: PendingRecord[] } | undefined {
        const file = path.join(this.ws.tmp, "state", ".pulumi", "stacks", PROJECT_NAME, `${this.name}.json`);
        try {
            return JSON.parse(fs.readFileSync(file, "utf8")).checkpoint?.latest ?? {};
        } catch {
            return undefined;
        }
    }

    /** The names of the resources the state shows as being created (pending `creating` operations). */
    pendingCreates(): string[] {
        return (this.checkpoint()?.pending_operations ?? [])
            .filter((op) => op.type === "creating")
            .map((op) => op.resource.urn.split("::").pop() ?? "");
    }

    /** `pulumi cancel`: removes the lock a killed update left (it takes no --config-file). */
    cancel(): Promise<RunResult> {
        return pulumi(this.ws, ["cancel", "--yes", "--stack", this.name]);
    }

    /** destroy (after a cancel, for a killed update's lock) and stack rm; never throws. */
    async remove(): Promise<string | undefined> {
        await this.cancel();
        const destroy = await this.run(["destroy", "--yes", "--skip-preview"], { timeoutMs: 10 * 60_000 });
        await pulumi(this.ws, ["stack", "rm", "--yes", "--force", this.name]);
        return destroy.code === 0 ? undefined : destroy.stderr;
    }
}

// ---------------------------------------------------------------------------------------------
// the engine's event log (`--event-log FILE`)

export interface EngineStep {
    op: string;
    urn: string;
    type: string;
    name: string;
    /** Seconds since the epoch: the step's resourcePreEvent and its resOutputsEvent (or failure). */
    start: number;
    end?: number;
}

interface EngineEvent {
    timestamp: number;
    resourcePreEvent?: { metadata: { op: string; urn: string; type: string } };
    resOutputsEvent?: { metadata: { urn: string } };
    resOpFailedEvent?: { metadata: { urn: string } };
}

/** The steps of one engine operation, in the order they started. */
export function engineSteps(eventLog: string): EngineStep[] {
    const steps = new Map<string, EngineStep>();
    for (const line of fs.readFileSync(eventLog, "utf8").split("\n").filter(Boolean)) {
        const event = JSON.parse(line) as EngineEvent;
        if (event.resourcePreEvent) {
            const { op, urn, type } = event.resourcePreEvent.metadata;
            steps.set(urn, { op, urn, type, name: urn.split("::").pop() ?? "", start: event.timestamp });
        }
        const done = event.resOutputsEvent ?? event.resOpFailedEvent;
        const step = done && steps.get(done.metadata.urn);
        if (step) {
            step.end = event.timestamp;
        }
    }
    return [...steps.values()];
}

/** Steps that changed something (neither `same` nor a read). */
export function changedSteps(eventLog: string): EngineStep[] {
    return engineSteps(eventLog).filter((s) => s.op !== "same" && s.op !== "read" && s.op !== "refresh");
}

export interface PathFigures {
    /** Seconds from the first step's start to the last step's end. */
    span: number;
    /** Sum of every step's duration. */
    serial: number;
    /** The longest chain of dependent steps (dependencies, parents and providers from the state). */
    critical: number;
    /** That chain, last step first. */
    chain: string[];
}

interface StateResource {
    urn: string;
    custom?: boolean;
    parent?: string;
    provider?: string;
    dependencies?: string[];
}

/** The critical path of an operation: its event log's step durations over the state's dependency graph. */
export function criticalPath(steps: EngineStep[], state: { deployment: { resources: StateResource[] } }): PathFigures {
    // Components (custom: false) and the stack span their children's steps: they take no time of their own.
    const custom = new Set(state.deployment.resources.filter((r) => r.custom).map((r) => r.urn));
    const duration = new Map(
        steps.filter((s) => custom.has(s.urn)).map((s) => [s.urn, Math.max(0, (s.end ?? s.start) - s.start)]),
    );
    const deps = new Map<string, string[]>();
    for (const r of state.deployment.resources) {
        const provider = r.provider ? r.provider.slice(0, r.provider.lastIndexOf("::")) : undefined;
        deps.set(r.urn, [...(r.dependencies ?? []), ...(r.parent ? [r.parent] : []), ...(provider ? [provider] : [])]);
    }
    const memo = new Map<string, { total: number; chain: string[] }>();
    const longest = (urn: string, seen: Set<string>): { total: number; chain: string[] } => {
        const known = memo.get(urn);
        if (known) {
            return known;
        }
        let best = { total: 0, chain: [] as string[] };
        for (const d of deps.get(urn) ?? []) {
            if (!seen.has(d)) {
                const candidate = longest(d, new Set([...seen, d]));
                if (candidate.total > best.total) {
                    best = candidate;
                }
            }
        }
        const own = duration.get(urn) ?? 0;
        const result = {
            total: own + best.total,
            chain: own > 0 ? [urn.split("::").pop()!, ...best.chain] : best.chain,
        };
        memo.set(urn, result);
        return result;
    };
    let critical = { total: 0, chain: [] as string[] };
    for (const r of state.deployment.resources) {
        const candidate = longest(r.urn, new Set([r.urn]));
        if (candidate.total > critical.total) {
            critical = candidate;
        }
    }
    const starts = steps.map((s) => s.start);
    const ends = steps.map((s) => s.end ?? s.start);
    return {
        span: steps.length ? Math.max(...ends) - Math.min(...starts) : 0,
        serial: [...duration.values()].reduce((a, b) => a + b, 0),
        critical: critical.total,
        chain: critical.chain,
    };
}
