/**
 * How `npm run status` reads the lab (lib/status/collect.ts) with a stand-in for kubectl and virsh
 * that answers from fixtures and records every call: kubeconfigs travel only by KUBECONFIG, missing
 * pieces become that part's error, the workload kubeconfig from its Secret lives only for one look.
 * Also the CLI's arguments and the "next steps" mention.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REAL_MACHINES_CONFIG, labPlan, sampleKubeconfig } from "../fixtures";
import { CommandRunner } from "../../lib/host-facts";
import { TINKERBELL_RELEASE as COMPONENT_RELEASE } from "../../components/tinkerbell-stack";
import { labFiles, nextSteps } from "../../lib/render/next-steps";
import {
    CLUSTER_API_RESOURCES,
    TINKERBELL_RELEASE,
    TINKERBELL_RESOURCES,
    collectSnapshot,
    parseHelmRevisions,
    parseVirshList,
} from "../../lib/status/collect";
import { statusContext } from "../../lib/status/context";
import { deriveStatus } from "../../lib/status/derive";
import { HelpRequested, parseStatusArgs, statusKubeconfigs } from "../../scripts/status";
import { NOW, labObjects } from "./fixtures";

const { config, plan } = labPlan({}, "dev");
const context = statusContext(config, plan);
const [cp, worker] = plan.machines;
const TOKEN = "fixture-token";

interface Call {
    file: string;
    args: string[];
    env: NodeJS.ProcessEnv;
}

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "status-collect-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeKubeconfig(name: string, server: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, sampleKubeconfig(server), { mode: 0o600 });
    return file;
}

/** kubectl and virsh as seen from the lab: each kubeconfig's server answers from its own objects. */
function fakeTools(
    servers: Record<string, { version?: string; items?: Record<string, unknown[]>; secret?: string; error?: string }>,
) {
    const calls: Call[] = [];
    const run: CommandRunner = async (file, args, _timeout, env = {}) => {
        calls.push({ file, args, env });
        if (file === "virsh") return { value: ` -    ${cp.name}   shut off\n 3    ${worker.name}   running\n` };
        const kubeconfig = fs.readFileSync(env.KUBECONFIG!, "utf8");
        const server = /server: "([^"]+)"/.exec(kubeconfig)![1];
        const answer = servers[server];
        if (!answer || answer.error)
            return { error: answer?.error ?? `dial ${server}: connection refused (token ${TOKEN})` };
        if (args[0] === "version") return { value: JSON.stringify({ serverVersion: { gitVersion: answer.version } }) };
        if (args[0] === "get" && args[1] === "secret")
            return answer.secret ? { value: answer.secret } : { error: "NotFound" };
        if (args[0] === "get" && args[1] === "secrets") return { value: "1 superseded\n2 deployed\n" };
        const items = answer.items?.[args[1]];
        return items
            ? { value: JSON.stringify({ items }) }
            : { error: `the server doesn't have a resource type "${args[1]}"` };
    };
    return { run, calls };
}

test("the release name is the one the Tinkerbell component installs", () => {
    expect(TINKERBELL_RELEASE).toBe(COMPONENT_RELEASE);
});

test("helm revisions and virsh's list are read as they print", () => {
    expect(parseHelmRevisions("1 superseded\n3 failed\n2 deployed\n")).toEqual({ revision: 3, status: "failed" });
    expect(parseHelmRevisions("")).toBeUndefined();
    expect(parseVirshList(" 1    capt-dev-node1   running\n -    capt-dev-node2   shut off\n")).toEqual({
        "capt-dev-node1": "running",
        "capt-dev-node2": "shut off",
    });
});

describe("one look at the lab", () => {
    test("every part from its cluster; the kubeconfig only in KUBECONFIG, never in an argv", async () => {
        const fixture = labObjects(config, plan, { [cp.name]: "ready", [worker.name]: "action-2-of-4" });
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40001");
        const workload = writeKubeconfig("workload.kubeconfig", "https://10.71.0.16:6443");
        const { run, calls } = fakeTools({
            "https://127.0.0.1:40001": {
                version: "v1.35.0",
                items: {
                    [TINKERBELL_RESOURCES]: fixture.tinkerbell,
                    [CLUSTER_API_RESOURCES]: fixture.clusterApi,
                    "providers.clusterctl.cluster.x-k8s.io": [
                        {
                            kind: "Provider",
                            metadata: { name: "infrastructure-tinkerbell" },
                            providerName: "tinkerbell",
                            type: "InfrastructureProvider",
                            version: "v0.7.0",
                        },
                    ],
                },
            },
            "https://10.71.0.16:6443": {
                version: "v1.35.3",
                items: {
                    nodes: fixture.workload,
                    "daemonsets.apps": [
                        { metadata: { name: "cilium" }, status: { desiredNumberScheduled: 2, numberReady: 1 } },
                    ],
                },
            },
        });
        const snapshot = await collectSnapshot({
            context,
            files: { management, workload },
            installer: "clusterctl",
            run,
            now: () => NOW,
        });
        const status = deriveStatus(snapshot, context);
        expect(status.machines.map((m) => [m.stage, m.vm])).toEqual([
            ["ready", "shut off"],
            ["workflow", "running"],
            ["spare", "missing"],
        ]);
        expect(status.header).toMatchObject({
            management: { ok: true, detail: "reachable (v1.35.0)" },
            tinkerbell: { ok: true, detail: "release deployed (revision 2)" },
            providers: { ok: true, detail: "tinkerbell v0.7.0" },
            workload: { ok: true, detail: "reachable (v1.35.3)" },
            cni: { ok: false, detail: "cilium 1/2 agents ready" },
        });
        const kubectlCalls = calls.filter((c) => c.file === "kubectl");
        expect(kubectlCalls.length).toBeGreaterThan(4);
        for (const call of kubectlCalls) {
            expect([management, workload]).toContain(call.env.KUBECONFIG);
            expect(call.args.join(" ")).not.toMatch(/kubeconfig|token|fixture/);
            expect(call.args).toContain("--request-timeout=10s");
        }
        // Objects of the namespace only; never a write verb.
        expect(kubectlCalls.find((c) => c.args[1] === TINKERBELL_RESOURCES)?.args).toEqual(
            expect.arrayContaining(["-n", config.namespace]),
        );
        expect(kubectlCalls.every((c) => ["get", "version"].includes(c.args[0]))).toBe(true);
    });

    test("KinD gone: each part says so, with kubeconfig credentials redacted", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40002");
        const { run } = fakeTools({});
        const snapshot = await collectSnapshot({
            context,
            files: { management, workload: path.join(dir, "absent.kubeconfig") },
            installer: "clusterctl",
            run,
        });
        expect(snapshot.management).toEqual({
            error: "dial https://127.0.0.1:40002: connection refused (token [redacted])",
        });
        expect(snapshot.tinkerbell).toEqual(snapshot.management);
        expect(snapshot.workload).toEqual({
            error: `the kubeconfig ${path.join(dir, "absent.kubeconfig")} is not written yet`,
        });
        expect(deriveStatus(snapshot, context).verdict).toBe("failed");
    });

    test("before up wrote the workload kubeconfig: read through Cluster API's Secret, in a private file removed after", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40003");
        const workloadContent = sampleKubeconfig("https://10.71.0.16:6443");
        const fixture = labObjects(config, plan, { [cp.name]: "node-not-ready" });
        const { run, calls } = fakeTools({
            "https://127.0.0.1:40003": {
                version: "v1.35.0",
                items: { [TINKERBELL_RESOURCES]: fixture.tinkerbell, [CLUSTER_API_RESOURCES]: fixture.clusterApi },
                secret: Buffer.from(workloadContent).toString("base64"),
            },
            "https://10.71.0.16:6443": {
                version: "v1.35.3",
                items: { nodes: fixture.workload, "daemonsets.apps": [] },
            },
        });
        const snapshot = await collectSnapshot({
            context,
            files: { management, workload: path.join(dir, "not-yet.kubeconfig") },
            installer: "clusterctl",
            run,
        });
        expect(deriveStatus(snapshot, context).machines[0].stage).toBe("node-not-ready");
        const secretCall = calls.find((c) => c.args[1] === "secret")!;
        expect(secretCall.args).toEqual(
            expect.arrayContaining([`${plan.labName}-kubeconfig`, "jsonpath={.data.value}"]),
        );
        const workloadFile = calls.find((c) => c.args[1] === "nodes")!.env.KUBECONFIG!;
        expect(path.basename(workloadFile)).toBe("workload.kubeconfig");
        expect(fs.existsSync(workloadFile)).toBe(false);
        expect(fs.existsSync(path.dirname(workloadFile))).toBe(false);
    });

    test("Cluster API's CRDs not installed yet: that part's error, the Hardware side still read", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40004");
        const fixture = labObjects(config, plan, {});
        const { run } = fakeTools({
            "https://127.0.0.1:40004": { version: "v1.35.0", items: { [TINKERBELL_RESOURCES]: fixture.tinkerbell } },
        });
        const snapshot = await collectSnapshot({
            context,
            files: { management, workload: path.join(dir, "x") },
            installer: "clusterctl",
            run,
        });
        expect(snapshot.clusterApi).toEqual({
            error: `the server doesn't have a resource type "${CLUSTER_API_RESOURCES}"`,
        });
        expect(deriveStatus(snapshot, context).machines[0].stage).toBe("unallocated");
    });
});

/**
 * The output folder may sit below /tmp, where another user can place a kubeconfig whose `exec`
 * plugin kubectl would run as whoever runs status. Status reads only kubeconfigs the lab could have
 * written there, and never one that names a program.
 */
describe("kubeconfigs found in the output folder", () => {
    const EXEC_KUBECONFIG = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        '  - name: c\n    cluster: {server: "https://127.0.0.1:40009"}',
        "users:",
        "  - name: u",
        "    user:",
        "      exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, touch /tmp/pwned]}",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
        "",
    ].join("\n");

    function lookWith(files: { management: string; workload: string }, labWritten: string[], secret?: string) {
        const fixture = labObjects(config, plan, {});
        const tools = fakeTools({
            "https://127.0.0.1:40009": {
                version: "v1.35.0",
                items: { [TINKERBELL_RESOURCES]: fixture.tinkerbell, [CLUSTER_API_RESOURCES]: fixture.clusterApi },
                secret,
            },
        });
        return collectSnapshot({
            context,
            files: { ...files, labWritten },
            installer: "clusterctl",
            run: tools.run,
        }).then((snapshot) => ({ snapshot, calls: tools.calls }));
    }

    test("one the lab wrote is read through a private copy of exactly what was checked, removed after", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40009");
        const workload = path.join(dir, "capt-dev.kubeconfig");
        const { snapshot, calls } = await lookWith({ management, workload }, [management, workload]);
        expect(snapshot.management).toEqual({ value: "v1.35.0" });
        const used = [...new Set(calls.filter((c) => c.file === "kubectl").map((c) => c.env.KUBECONFIG!))];
        expect(used).toHaveLength(1);
        expect(used[0]).not.toBe(management);
        expect(fs.existsSync(used[0])).toBe(false);
        expect(snapshot.workload).toEqual({
            error: "the workload cluster's kubeconfig is not there yet (no Secret from Cluster API)",
        });
    });

    test.each([
        [
            "names an exec plugin",
            (file: string) => fs.writeFileSync(file, EXEC_KUBECONFIG, { mode: 0o600 }),
            /names a program for kubectl to run \(users\[0\]\.user\.exec\)/,
        ],
        [
            "is a symbolic link",
            (file: string) => {
                fs.writeFileSync(`${file}.real`, sampleKubeconfig("https://127.0.0.1:40009"), { mode: 0o600 });
                fs.symlinkSync(`${file}.real`, file);
            },
            /is a symbolic link/,
        ],
        [
            "others may write it",
            (file: string) => {
                fs.writeFileSync(file, sampleKubeconfig("https://127.0.0.1:40009"));
                fs.chmodSync(file, 0o666);
            },
            /mode 666/,
        ],
        ["is a FIFO", (file: string) => spawnSync("mkfifo", [file]), /not a regular file/],
    ])("one that %s is not used at all: kubectl never sees it, the row says why", async (_name, plant, why) => {
        const management = path.join(dir, "kind.kubeconfig");
        plant(management);
        const { snapshot, calls } = await lookWith({ management, workload: path.join(dir, "w") }, [management]);
        expect(snapshot.management).toEqual({ error: expect.stringMatching(why) });
        expect(calls.filter((c) => c.file === "kubectl")).toEqual([]);
    });

    test("the workload kubeconfig the lab wrote with an exec plugin is refused, not replaced by the Secret", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40009");
        const workload = path.join(dir, "capt-dev.kubeconfig");
        fs.writeFileSync(workload, EXEC_KUBECONFIG, { mode: 0o600 });
        const secret = Buffer.from(sampleKubeconfig("https://10.71.0.16:6443")).toString("base64");
        const { snapshot, calls } = await lookWith({ management, workload }, [management, workload], secret);
        expect(snapshot.workload).toEqual({ error: expect.stringMatching(/names a program for kubectl to run/) });
        expect(calls.some((c) => c.args[1] === "secret")).toBe(false);
    });

    test("a workload kubeconfig Secret that names a program is not used either", async () => {
        const management = writeKubeconfig("kind.kubeconfig", "https://127.0.0.1:40009");
        const secret = Buffer.from(EXEC_KUBECONFIG).toString("base64");
        const { snapshot, calls } = await lookWith(
            { management, workload: path.join(dir, "no") },
            [management],
            secret,
        );
        expect(snapshot.workload).toEqual({
            error: expect.stringMatching(/the workload cluster's kubeconfig Secret names a program/),
        });
        expect(calls.filter((c) => c.args[0] === "version")).toHaveLength(1);
    });

    test("a kubeconfig the user names (--management-kubeconfig) is theirs: exec plugins work as in their kubectl", async () => {
        const mine = path.join(dir, "mine.kubeconfig");
        fs.writeFileSync(mine, EXEC_KUBECONFIG, { mode: 0o600 });
        const { calls } = await lookWith({ management: mine, workload: path.join(dir, "no") }, []);
        expect(calls.filter((c) => c.file === "kubectl").map((c) => c.env.KUBECONFIG)).toContain(mine);
    });

    test("status passes the output folder's kubeconfigs as lab-written, the user's own as theirs", () => {
        const kind = statusKubeconfigs(labFiles(plan, config), { management: "/mine", tinkerbell: "/theirs" });
        expect(kind.management).toBe(path.join(plan.outputDir, "kind.kubeconfig"));
        expect(kind.labWritten).toEqual([kind.management, path.join(plan.outputDir, "capt-dev.kubeconfig")]);
        const existing = labPlan({ ...REAL_MACHINES_CONFIG, managementKubeconfig: sampleKubeconfig() }, "dev");
        const theirs = statusKubeconfigs(labFiles(existing.plan, existing.config), { management: "/mine" });
        expect(theirs.management).toBe("/mine");
        expect(theirs.labWritten).toEqual([path.join(existing.plan.outputDir, "capt-dev.kubeconfig")]);
    });
});

describe("the command line", () => {
    test("--help prints the usage and what status reads, exit 0", () => {
        const result = spawnSync(
            process.execPath,
            [
                require.resolve("ts-node/dist/bin.js"),
                "--transpile-only",
                path.join(__dirname, "..", "..", "scripts", "status.ts"),
                "--help",
            ],
            { encoding: "utf8", timeout: 60_000 },
        );
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/^usage: npm run --silent status -- /);
        expect(result.stdout).toContain("name no program to run");
        expect(() => parseStatusArgs(["--watch", "-h"])).toThrow(HelpRequested);
    });

    test("flags, defaults and the stack from STACK", () => {
        expect(parseStatusArgs([], { STACK: "lab2" })).toMatchObject({
            stack: "lab2",
            watch: false,
            json: false,
            intervalSeconds: 5,
        });
        expect(
            parseStatusArgs([
                "--stack",
                "dev",
                "--watch",
                "--json",
                "--interval",
                "1",
                "--timeout",
                "2",
                "--set",
                "outputDir=/tmp/x",
            ]),
        ).toMatchObject({
            stack: "dev",
            watch: true,
            json: true,
            intervalSeconds: 1,
            timeoutMinutes: 2,
            overrides: ["outputDir=/tmp/x"],
        });
        expect(parseStatusArgs(["--management-kubeconfig", "mine.kubeconfig"]).kubeconfigs.management).toBe(
            path.resolve("mine.kubeconfig"),
        );
    });

    test.each([
        [["--bogus"], 'unknown argument "--bogus"'],
        [["--stack"], "--stack needs a value"],
        [["--interval", "0"], "--interval expects a number above 0"],
        [["--timeout", "soon"], "--timeout expects a number above 0"],
    ])("%j is refused: %s", (argv, message) => {
        expect(() => parseStatusArgs(argv)).toThrow(message);
    });

    test("up's next steps name the command", () => {
        expect(nextSteps(config, plan)).toContain(
            "Lab status, machine by machine: npm run status -- --stack dev --watch",
        );
    });
});
