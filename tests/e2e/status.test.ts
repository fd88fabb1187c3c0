/**
 * `npm run status` against a REAL kube-apiserver with the upstream CRDs and REAL libvirt: the test
 * plays the controllers. It creates the lab's Hardware and Rufio Machines (the product's own
 * builders), then the objects CAPT, the tink controller, Rufio, Cluster API and kubelet would write
 * (tests/status/fixtures.ts), and moves their status through every stage with kubectl. After each
 * step `status --json` must follow; `--watch` under a pseudo-terminal (script) must end with exit 0
 * when the last machine turns Ready and with exit 1 when a workflow fails; piped, it prints one line
 * per change.
 *
 * Real: kube-apiserver + etcd (the kind stand-in, twice: the management and the workload cluster),
 * kubectl, the CRDs in ../shared/schemas/crds, libvirtd (the lab's domains defined from the
 * product's XML, one started). Stand-in: Cluster API's Machine CRD is not in the schema collection,
 * so a minimal CRD of our own serves machines.cluster.x-k8s.io v1beta2 (status subresource, fields
 * kept as written); the status command reads it exactly as it reads the real one.
 *
 * Prerequisites (skipped with the reason printed when missing, failed under CI=true):
 * tests/e2e/toolchain/kube-apiserver.sh; libvirtd; the CRDs (CAPT_SCHEMAS_DIR).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { KubeObject } from "../../lib/render/kube-object";
import { StatusDocument } from "../../lib/status/render";
import { FixtureStage, STREAM_IMAGE_ERROR, labObjects } from "../status/fixtures";
import { CLUSTER_API_CRDS, DaemonSession, LabStack, TINKERBELL_CRDS, crdFiles, labStack } from "./lab-fixture";
import { PROJECT_ROOT, describeE2e, ensureBridge, missingLibvirt, uniqueToken, virshOk, waitFor } from "./support";

const session = new DaemonSession("status");
const TS_NODE = path.join(PROJECT_ROOT, "node_modules", ".bin", "ts-node");

function missingKubeToolchain(): string | undefined {
    for (const tool of ["kube-apiserver", "etcd", "kubectl"]) {
        if (!fs.existsSync(path.join(session.kubeBin, tool))) {
            return `${tool} is not in ${session.kubeBin}; build it with tests/e2e/toolchain/kube-apiserver.sh`;
        }
    }
    return undefined;
}

function missingCrds(): string | undefined {
    try {
        return crdFiles(TINKERBELL_CRDS).length > 0 ? undefined : "no Tinkerbell CRDs in the schemas directory";
    } catch (error) {
        return `the upstream CRDs cannot be read: ${(error as Error).message} (set CAPT_SCHEMAS_DIR)`;
    }
}

function missingScript(): string | undefined {
    return fs.existsSync("/usr/bin/script") ? undefined : "script (util-linux) is not installed";
}

/** The one CRD the schema collection lacks: Cluster API's Machine, as a structural stand-in. */
const MACHINE_CRD = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "machines.cluster.x-k8s.io" },
    spec: {
        group: "cluster.x-k8s.io",
        names: {
            kind: "Machine",
            listKind: "MachineList",
            plural: "machines",
            singular: "machine",
            shortNames: ["ma"],
        },
        scope: "Namespaced",
        versions: [
            {
                name: "v1beta2",
                served: true,
                storage: true,
                subresources: { status: {} },
                schema: {
                    openAPIV3Schema: {
                        type: "object",
                        properties: {
                            spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                            status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                        },
                    },
                },
            },
        ],
    },
};

/** `kind.version.group` for kubectl. */
function resourceOf(object: KubeObject): string {
    const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
    return group ? `${object.kind.toLowerCase()}.${version}.${group}` : object.kind.toLowerCase();
}

interface Clusters {
    management: string;
    workload: string;
}

/** Objects as written (server-side apply on stdin), then each one's status through the status subresource. */
function writeObjects(kubeconfig: string, objects: KubeObject[]): void {
    if (objects.length === 0) return;
    // JSON, not YAML: kubectl reads YAML 1.1, where a bare `on`/`off` (Rufio's power states) is a boolean.
    const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
    session.kubectlOk(kubeconfig, ["apply", "--server-side", "--force-conflicts", "-f", "-"], list);
    for (const object of objects.filter((o) => o.status !== undefined)) {
        const namespace = object.metadata.namespace ? ["-n", object.metadata.namespace] : [];
        session.kubectlOk(kubeconfig, [
            "patch",
            resourceOf(object),
            object.metadata.name,
            ...namespace,
            "--subresource=status",
            // The whole status, as a controller's update leaves it (a merge would keep stale fields).
            "--type=json",
            "-p",
            JSON.stringify([{ op: "add", path: "/status", value: object.status }]),
        ]);
    }
}

/** Every machine of the lab at its stage, as the controllers would leave the three clusters. */
function moveTo(s: LabStack, clusters: Clusters, stages: Record<string, FixtureStage>): void {
    const fixture = labObjects(s.config, s.plan, stages);
    writeObjects(clusters.management, [...fixture.tinkerbell, ...fixture.clusterApi]);
    writeObjects(clusters.workload, fixture.workload);
}

interface CliRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

function statusArgs(s: LabStack, outputDir: string, extra: string[]): string[] {
    return [
        "--transpile-only",
        "scripts/status.ts",
        "--stack",
        s.name,
        "--set",
        `outputDir=${outputDir}`,
        "--set",
        `storageDir=${s.plan.libvirt.storageDir}`,
        ...extra,
    ];
}

interface Running {
    /** What it printed so far. */
    output: () => string;
    done: Promise<CliRun>;
}

function startCli(argv: string[], timeoutMs = 120_000, file = TS_NODE): Running {
    const child = spawn(file, argv, { cwd: PROJECT_ROOT, env: session.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<CliRun>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
    return { output: () => stdout, done };
}

function runCli(argv: string[], timeoutMs = 120_000): Promise<CliRun> {
    return startCli(argv, timeoutMs).done;
}

/** The CLI under a pseudo-terminal: `script` gives it a tty and returns its exit code (-e). */
function underTerminal(argv: string[], timeoutMs: number): Running {
    const command = [TS_NODE, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    return startCli(["-q", "-e", "-f", "-c", command, "/dev/null"], timeoutMs, "script");
}

/** Until a running watch has printed `text` (its first look took place). */
function printed(running: Running, text: string): Promise<void> {
    return waitFor(`the watch to print ${JSON.stringify(text)}`, () => running.output().includes(text), 120);
}

const stageOf = (doc: StatusDocument) => doc.machines.map((m) => m.stage);

describeE2e(
    "npm run status against a real API server and libvirt",
    [missingLibvirt, missingKubeToolchain, missingCrds, missingScript],
    () => {
        let s: LabStack;
        let outputDir: string;
        let clusters: Clusters;
        let removeBridge = () => undefined as void;

        beforeAll(async () => {
            session.start("capt-status-");
            // Bare API servers: this test plays every controller and kubelet itself (the kind stand-in's
            // node agent would make a workload cluster of its own for the Cluster object).
            session.env.CAPT_E2E_NODE_AGENT = "0";
            const name = `sts${uniqueToken()}`;
            outputDir = path.join(session.tmp, "out");
            s = labStack(name, { outputDir, storageDir: path.join(session.tmp, "pool") });
            fs.mkdirSync(outputDir, { recursive: true });
            const management = session.startCluster(`${s.plan.labName}-mgmt`);
            const workload = session.startCluster(`${s.plan.labName}-wl`);
            clusters = { management: management.file, workload: workload.file };
            await session.timedAsync("crds", () =>
                session.installCrds(management.file, [...TINKERBELL_CRDS, ...CLUSTER_API_CRDS]),
            );
            const machineCrd = path.join(session.tmp, "machines.cluster.x-k8s.io.json");
            fs.writeFileSync(machineCrd, JSON.stringify(MACHINE_CRD));
            session.kubectlOk(management.file, ["apply", "--server-side", "-f", machineCrd]);
            await session.expectEstablished(management.file, [machineCrd], 60);
            session.ensureNamespace(management.file, s.config.namespace);
            // The domains as the Machines component defines them; libvirt reports them "shut off".
            session.createPool(s.plan);
            session.defineDomains(s.config, s.plan);
            removeBridge = ensureBridge(s.plan.network.bridge);
            // Until `up` writes KinD's kubeconfig the status command has nothing to read.
            const before = await runCli(statusArgs(s, outputDir, ["--json"]));
            expect(before.code).toBe(2);
            expect((JSON.parse(before.stdout) as StatusDocument).problem?.step).toMatch(/not up yet/);
            fs.writeFileSync(path.join(outputDir, "kind.kubeconfig"), management.content, { mode: 0o600 });
            // The workload kubeconfig where Cluster API keeps it; `up` has not written the file yet.
            session.kubectlOk(
                management.file,
                ["apply", "--server-side", "-f", "-"],
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Secret",
                    metadata: { name: `${s.plan.labName}-kubeconfig`, namespace: s.config.namespace },
                    data: { value: Buffer.from(workload.content).toString("base64") },
                }),
            );
        }, 600_000);

        afterAll(async () => {
            removeBridge();
            await session.cleanUp();
        }, 300_000);

        const json = async (): Promise<{ code: number | null; doc: StatusDocument }> => {
            const result = await runCli(statusArgs(s, outputDir, ["--json"]));
            if (!result.stdout.trim().startsWith("{"))
                throw new Error(`status --json printed no document:\n${result.stderr}`);
            return { code: result.code, doc: JSON.parse(result.stdout) as StatusDocument };
        };

        test("status --json follows every stage, machine by machine", async () => {
            const [cp, worker, spare] = s.plan.machines;
            const steps: [FixtureStage, FixtureStage, string, string][] = [
                ["free", "free", "unallocated", "unallocated"],
                ["powered-off", "allocated", "powered-off", "allocated"],
                ["pxe", "powered-off", "pxe", "powered-off"],
                ["action-2-of-4", "pxe", "workflow", "pxe"],
                ["provisioned", "action-2-of-4", "provisioned", "workflow"],
                ["node-not-ready", "provisioned", "node-not-ready", "provisioned"],
                ["ready", "node-not-ready", "ready", "node-not-ready"],
            ];
            for (const [cpStage, workerStage, cpExpected, workerExpected] of steps) {
                moveTo(s, clusters, { [cp.name]: cpStage, [worker.name]: workerStage });
                const { code, doc } = await json();
                expect({ step: cpStage, stages: stageOf(doc), code }).toEqual({
                    step: cpStage,
                    stages: [cpExpected, workerExpected, "spare"],
                    code: 2,
                });
            }
            const { doc } = await json();
            expect(doc.machines.map((m) => m.vm)).toEqual(["shut off", "shut off", "shut off"]);
            expect(doc.machines[0]).toMatchObject({
                hardware: { state: "allocated" },
                workflow: { state: "SUCCESS", actionsDone: 4, actionsTotal: 4 },
                node: { name: cp.name, ready: "True", kubeletVersion: s.config.kubernetesVersion },
            });
            expect(doc.machines[1]).toMatchObject({ node: { ready: "False" }, machine: { phase: "Running" } });
            expect(doc.machines[2]).toMatchObject({ name: spare.name, stage: "spare", hardware: { state: "free" } });
            expect(doc.header.management.ok).toBe(true);
            expect(doc.header.workload).toMatchObject({
                ok: true,
                detail: expect.stringMatching(/^reachable \(v1\.35/),
            });
            expect(doc.problem).toMatchObject({ machine: worker.name, step: `node ${worker.name} is not Ready` });

            // libvirt's view follows the domain.
            virshOk("start", spare.name);
            try {
                expect((await json()).doc.machines[2].vm).toBe("running");
            } finally {
                virshOk("destroy", spare.name);
            }
        });

        test("--watch on a terminal ends with exit 0 when the last machine turns Ready", async () => {
            const [cp, worker] = s.plan.machines;
            moveTo(s, clusters, { [cp.name]: "ready", [worker.name]: "node-not-ready" });
            const watch = underTerminal(
                statusArgs(s, outputDir, ["--watch", "--interval", "1", "--timeout", "3"]),
                240_000,
            );
            await printed(watch, "PROGRESS");
            moveTo(s, clusters, { [cp.name]: "ready", [worker.name]: "ready" });
            const result = await watch.done;
            expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
            // The progress view, drawn in place (autowrap off while drawing, cursor back on at the end).
            expect(result.stdout).toContain("PROGRESS");
            expect(result.stdout).toContain("\u001b[?7l");
            expect(result.stdout).toContain("\u001b[?7h\u001b[?25h");
            expect(result.stdout).toMatch(/: READY/);
        }, 300_000);

        test("--watch ends with exit 1 when a workflow fails, saying the action's message; piped, one line per change", async () => {
            const [cp, worker] = s.plan.machines;
            session.kubectlOk(clusters.workload, ["delete", "node", worker.name, "--ignore-not-found"]);
            moveTo(s, clusters, { [cp.name]: "ready", [worker.name]: "action-2-of-4" });
            const piped = startCli(statusArgs(s, outputDir, ["--watch", "--interval", "1", "--timeout", "3"]), 240_000);
            const terminal = underTerminal(
                statusArgs(s, outputDir, ["--watch", "--interval", "1", "--timeout", "3"]),
                240_000,
            );
            await printed(piped, `${worker.name}: workflow,`);
            await printed(terminal, "PROGRESS");
            moveTo(s, clusters, { [cp.name]: "ready", [worker.name]: "workflow-failed" });
            const [pipedResult, terminalResult] = await Promise.all([piped.done, terminal.done]);
            expect(terminalResult.code).toBe(1);
            expect(terminalResult.stdout).toContain(STREAM_IMAGE_ERROR);
            expect(pipedResult.code).toBe(1);
            const lines = pipedResult.stdout.split("\n");
            // No drawing escapes when piped; the worker's change is one line, then the verdict.
            expect(pipedResult.stdout).not.toContain("\u001b[");
            expect(lines.filter((l) => l.includes(`${worker.name}: workflow,`))).toHaveLength(1);
            expect(lines.filter((l) => l.includes(`${worker.name}: failed,`))).toHaveLength(1);
            expect(lines).toContainEqual(expect.stringMatching(/ verdict: failed$/));
            expect(pipedResult.stdout).toContain(
                `${worker.name}: workflow action stream image failed: ${STREAM_IMAGE_ERROR}`,
            );
        }, 300_000);
    },
);
