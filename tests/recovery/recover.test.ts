/**
 * lib/recovery/recover.ts with the CLI and the host tools replaced by a recording fake: which locks
 * go, what is asked of docker, virsh, kind and kubectl, what is removed, the line each finding
 * prints, and the state that is imported afterwards.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ExecOptions, ExecResult, RecoveryOptions, recoverInterruptedRun } from "../../lib/recovery/recover";
import { ExportedStack, ProcessFacts, SECRET_SIGNATURE, StateResource } from "../../lib/recovery/interrupted";

const PREFIX = "urn:pulumi:dev::capt-playground::";
const LABELS = [
    { label: "capt-playground.project", value: "capt-playground" },
    { label: "capt-playground.stack", value: "dev" },
];
const KIND_PROVIDER = `${PREFIX}capt-playground:index:KindCluster$pulumi:providers:kubernetes::kind-provider`;
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: recovery-test-token\n";

const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): ExecResult => ({ code: 1, stdout: "", stderr });

interface Call {
    file: string;
    args: string[];
    env?: NodeJS.ProcessEnv;
    kubeconfig?: { content: string; mode: number };
}

class Rig {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-recovery-test-"));
    readonly calls: Call[] = [];
    readonly lines: string[] = [];
    readonly visible: { args: string[]; env: NodeJS.ProcessEnv }[] = [];
    state: ExportedStack;
    /** Answers of the host tools, by the first words of their argv. */
    answers: Record<string, (args: string[]) => ExecResult> = {};
    processes: ProcessFacts = { hostname: os.hostname(), process: () => undefined };

    constructor(resources: StateResource[], pending: StateResource[]) {
        this.state = {
            version: 3,
            deployment: {
                resources,
                pending_operations: pending.map((resource) => ({ type: "creating", resource })),
            },
        };
    }

    lock(pid = 2_000_000_000): string {
        const dir = path.join(this.dir, ".pulumi", "locks", "organization", "capt-playground", "dev");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "0c0ffee0.json");
        const content = { pid, username: "root", hostname: os.hostname(), timestamp: "2026-12-07T10:00:00Z" };
        fs.writeFileSync(file, JSON.stringify(content));
        return file;
    }

    async exec(file: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
        const call: Call = { file, args, env: options.env };
        const kubeconfig = options.env?.KUBECONFIG;
        if (kubeconfig && fs.existsSync(kubeconfig)) {
            call.kubeconfig = {
                content: fs.readFileSync(kubeconfig, "utf8"),
                mode: fs.statSync(kubeconfig).mode & 0o777,
            };
        }
        this.calls.push(call);
        if (file === "pulumi") {
            if (args[0] === "stack" && args[1] === "export") {
                return ok(JSON.stringify(args.includes("--show-secrets") ? this.revealed() : this.state));
            }
            if (args[0] === "stack" && args[1] === "import") {
                this.state = JSON.parse(fs.readFileSync(args[args.indexOf("--file") + 1], "utf8"));
                return ok();
            }
        }
        const key = Object.keys(this.answers)
            .filter((k) => `${file} ${args.join(" ")}`.startsWith(k))
            .sort((a, b) => b.length - a.length)[0];
        return key ? this.answers[key](args) : fail(`unexpected: ${file} ${args.join(" ")}`);
    }

    /** The state as `--show-secrets` prints it: each secret's plaintext. */
    revealed(): ExportedStack {
        return JSON.parse(
            JSON.stringify(this.state, (_key, value) =>
                value && typeof value === "object" && SECRET_SIGNATURE in value && "test-plaintext" in value
                    ? {
                          [SECRET_SIGNATURE]: value[SECRET_SIGNATURE],
                          plaintext: JSON.stringify(value["test-plaintext"]),
                      }
                    : value,
            ),
        );
    }

    options(mode: "up" | "destroy" = "up"): RecoveryOptions {
        return {
            mode,
            cli: "pulumi",
            env: { PATH: "/usr/bin", TMPDIR: this.dir },
            cwd: this.dir,
            project: "capt-playground",
            stack: "dev",
            flags: ["--config-file", "/x/Pulumi.dev.yaml"],
            backendDir: this.dir,
            log: (line) => this.lines.push(line),
            exec: (file, args, options) => this.exec(file, args, options),
            processes: this.processes,
            runVisible: (args, env) => {
                this.visible.push({ args, env });
                return 0;
            },
        };
    }

    pendingUrns(): string[] {
        return (this.state.deployment?.pending_operations ?? []).map((op) => op.resource.urn);
    }

    toolCalls(): string[] {
        return this.calls.filter((c) => c.file !== "pulumi").map((c) => `${c.file} ${c.args.join(" ")}`);
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

const container: StateResource = {
    urn: `${PREFIX}capt-playground:index:VirtualBmc$docker:index/container:Container::bmc-container`,
    type: "docker:index/container:Container",
    custom: true,
    inputs: { name: "capt-dev-vbmc", labels: LABELS },
};
const tlsKey: StateResource = {
    urn: `${PREFIX}tls:index/privateKey:PrivateKey::capt-dev-ssh-key`,
    type: "tls:index/privateKey:PrivateKey",
    custom: true,
};
const stackResource: StateResource = {
    urn: `${PREFIX}pulumi:pulumi:Stack::capt-playground-dev`,
    type: "pulumi:pulumi:Stack",
};

function inspected(labels: Record<string, string>) {
    return () => ok(JSON.stringify([{ Id: "f00dfeedbeef0000", Name: "/capt-dev-vbmc", Config: { Labels: labels } }]));
}

let rig: Rig;
afterEach(() => rig?.cleanup());

describe("npm run up after a killed up", () => {
    test("the stale lock goes, the stack's orphaned container is removed, the pending records are dropped", async () => {
        rig = new Rig([stackResource], [container, tlsKey]);
        const lock = rig.lock();
        rig.answers["docker container inspect capt-dev-vbmc"] = inspected({
            "capt-playground.project": "capt-playground",
            "capt-playground.stack": "dev",
        });
        rig.answers["docker rm --force f00dfeedbeef0000"] = () => ok();

        const result = await recoverInterruptedRun(rig.options());

        expect(result).toEqual({ checked: true });
        expect(fs.existsSync(lock)).toBe(false);
        expect(rig.toolCalls()).toEqual([
            "docker container inspect capt-dev-vbmc",
            "docker rm --force f00dfeedbeef0000",
        ]);
        expect(rig.pendingUrns()).toEqual([]);
        expect(rig.state.deployment?.resources).toEqual([stackResource]);
        expect(rig.lines).toEqual([
            expect.stringMatching(
                /^recovery: found the lock of an interrupted run: pulumi \(pid 2000000000.*no longer runs; removed the lock$/,
            ),
            expect.stringMatching(
                /^recovery: docker container capt-dev-vbmc \(f00dfeedbeef\) made by the interrupted run.*; removed it so up creates it afresh$/,
            ),
            expect.stringMatching(
                /^recovery: an interrupted create of capt-dev-ssh-key, which lives in the state only; it is made again$/,
            ),
            "recovery: 2 interrupted creates resolved; dropped their pending records from the state",
        ]);
    });

    test("a container of that name without the stack's labels is left alone, and so are the records", async () => {
        rig = new Rig([stackResource], [container]);
        rig.answers["docker container inspect capt-dev-vbmc"] = inspected({ "capt-playground.stack": "someone" });

        await recoverInterruptedRun(rig.options());

        expect(rig.toolCalls()).toEqual(["docker container inspect capt-dev-vbmc"]);
        expect(rig.pendingUrns()).toEqual([container.urn]);
        expect(rig.lines[0]).toMatch(/does not carry stack dev's labels; left it alone/);
        expect(rig.calls.some((c) => c.args.includes("import"))).toBe(false);
    });

    test("a lock whose pulumi still runs stops everything: nothing is read, removed or imported", async () => {
        rig = new Rig([stackResource], [container]);
        const lock = rig.lock(process.pid);
        rig.processes = { hostname: os.hostname(), process: () => ({ commandLine: "pulumi up --yes" }) };

        expect(await recoverInterruptedRun(rig.options())).toEqual({ checked: false });
        expect(fs.existsSync(lock)).toBe(true);
        expect(rig.calls).toEqual([]);
        expect(rig.lines).toEqual([expect.stringMatching(/stack dev is locked: .* is still running; left the lock/)]);
    });

    test("a half-made KinD cluster is deleted; a complete one is taken over", async () => {
        const kind: StateResource = {
            urn: `${PREFIX}capt-playground:index:KindCluster$command:local:Command::kind-cluster`,
            type: "command:local:Command",
            custom: true,
            inputs: { create: "components/scripts/kind-create.sh", environment: { KIND_CLUSTER_NAME: "capt-dev" } },
        };
        rig = new Rig([stackResource], [kind]);
        rig.answers["kind get clusters"] = () => ok("capt-dev\nother\n");
        rig.answers["kind get kubeconfig --name capt-dev"] = () => ok(KUBECONFIG);
        const nodes = (ready: string) =>
            ok(JSON.stringify({ items: [{ status: { conditions: [{ type: "Ready", status: ready }] } }] }));
        rig.answers["kubectl --request-timeout=20s get nodes"] = () => nodes("False");
        rig.answers["kind delete cluster --name capt-dev"] = () => ok();

        await recoverInterruptedRun(rig.options());
        expect(rig.toolCalls()).toContain("kind delete cluster --name capt-dev");
        expect(rig.lines[0]).toMatch(
            /KinD cluster capt-dev half-made by the interrupted run \(0 of 1 nodes Ready\); deleted it/,
        );
        const kubectl = rig.calls.find((c) => c.file === "kubectl");
        expect(kubectl?.kubeconfig).toEqual({ content: KUBECONFIG, mode: 0o600 });
        expect(fs.existsSync(kubectl?.env?.KUBECONFIG ?? "")).toBe(false);

        rig.cleanup();
        rig = new Rig([stackResource], [kind]);
        rig.answers["kind get clusters"] = () => ok("capt-dev\n");
        rig.answers["kind get kubeconfig --name capt-dev"] = () => ok(KUBECONFIG);
        rig.answers["kubectl --request-timeout=20s get nodes"] = () => nodes("True");
        await recoverInterruptedRun(rig.options());
        expect(rig.toolCalls().filter((c) => c.startsWith("kind delete"))).toEqual([]);
        expect(rig.lines[0]).toMatch(/is complete \(every node Ready\); its create takes it over/);
    });

    test("a KinD cluster whose node containers are not on the stack's labelled network is left alone", async () => {
        const kind: StateResource = {
            urn: `${PREFIX}capt-playground:index:KindCluster$command:local:Command::kind-cluster`,
            type: "command:local:Command",
            custom: true,
            inputs: {
                create: "components/scripts/kind-create.sh",
                environment: { KIND_CLUSTER_NAME: "capt-dev", KIND_EXPERIMENTAL_DOCKER_NETWORK: "capt-dev" },
            },
        };
        const ourNetwork = () =>
            ok(
                JSON.stringify([
                    { Labels: { "capt-playground.project": "capt-playground", "capt-playground.stack": "dev" } },
                ]),
            );
        const attempt = async (networks: Record<string, unknown>) => {
            rig?.cleanup();
            rig = new Rig([stackResource], [kind]);
            rig.answers["kind get clusters"] = () => ok("capt-dev\n");
            rig.answers["docker ps --all --quiet --filter label=io.x-k8s.kind.cluster=capt-dev"] = () => ok("n0de\n");
            rig.answers["docker network inspect capt-dev"] = ourNetwork;
            rig.answers["docker inspect --format {{json .NetworkSettings.Networks}} n0de"] = () =>
                ok(JSON.stringify(networks));
            rig.answers["kind get kubeconfig --name capt-dev"] = () => fail("no control plane");
            rig.answers["kind delete cluster --name capt-dev"] = () => ok();
            await recoverInterruptedRun(rig.options());
        };

        await attempt({ kind: {} });
        expect(rig.toolCalls().filter((c) => c.startsWith("kind delete"))).toEqual([]);
        expect(rig.lines[0]).toMatch(/its node container n0de is not on the stack's network capt-dev; left it/);
        expect(rig.pendingUrns()).toEqual([kind.urn]);

        await attempt({ "capt-dev": {} });
        expect(rig.toolCalls()).toContain("kind delete cluster --name capt-dev");
        expect(rig.lines[0]).toMatch(/half-made by the interrupted run \(its kubeconfig cannot be read\)/);
    });

    test("Helm's pending-install record is deleted, read through the provider's kubeconfig from the state", async () => {
        const provider: StateResource = {
            urn: KIND_PROVIDER,
            type: "pulumi:providers:kubernetes",
            id: "0a1b",
            inputs: {
                kubeconfig: { [SECRET_SIGNATURE]: "1b47061264138c4ac30d75fd1eb44270", "test-plaintext": KUBECONFIG },
            },
        };
        const release: StateResource = {
            urn: `${PREFIX}capt-playground:index:TinkerbellStack$kubernetes:helm.sh/v3:Release::tinkerbell-release`,
            type: "kubernetes:helm.sh/v3:Release",
            custom: true,
            provider: `${KIND_PROVIDER}::0a1b`,
            inputs: { name: "tinkerbell", namespace: "tinkerbell" },
        };
        rig = new Rig([stackResource, provider], [release]);
        rig.answers["kubectl --request-timeout=20s get secrets -n tinkerbell -l owner=helm,name=tinkerbell"] = () =>
            ok(
                JSON.stringify({
                    items: [
                        {
                            metadata: {
                                name: "sh.helm.release.v1.tinkerbell.v1",
                                labels: { status: "pending-install", version: "1" },
                            },
                        },
                    ],
                }),
            );
        rig.answers["kubectl --request-timeout=20s delete secret -n tinkerbell sh.helm.release.v1.tinkerbell.v1"] =
            () => ok();

        await recoverInterruptedRun(rig.options());

        expect(rig.toolCalls()).toEqual([
            "kubectl --request-timeout=20s get secrets -n tinkerbell -l owner=helm,name=tinkerbell -o json",
            "kubectl --request-timeout=20s delete secret -n tinkerbell sh.helm.release.v1.tinkerbell.v1",
        ]);
        expect(rig.calls.filter((c) => c.file === "kubectl").map((c) => c.kubeconfig)).toEqual([
            { content: KUBECONFIG, mode: 0o600 },
            { content: KUBECONFIG, mode: 0o600 },
        ]);
        expect(rig.lines[0]).toBe(
            "recovery: Helm's record of Helm release tinkerbell/tinkerbell left pending-install by the interrupted run; " +
                "deleted the record; the install runs again and takes back the objects Helm already made",
        );
        expect(rig.lines.join("\n")).not.toContain("recovery-test-token");
        expect(rig.pendingUrns()).toEqual([]);
    });

    test("Kubernetes objects the run made in the stack's KinD cluster are recorded in the state as made, with no update of their own", async () => {
        const provider: StateResource = {
            urn: KIND_PROVIDER,
            type: "pulumi:providers:kubernetes",
            id: "0a1b",
            inputs: {
                kubeconfig: { [SECRET_SIGNATURE]: "1b47061264138c4ac30d75fd1eb44270", "test-plaintext": KUBECONFIG },
            },
        };
        const hardware: StateResource = {
            urn: `${PREFIX}capt-playground:index:HardwareInventory$kubernetes:tinkerbell.org/v1alpha1:Hardware::inventory-hardware-capt-dev-node1`,
            type: "kubernetes:tinkerbell.org/v1alpha1:Hardware",
            custom: true,
            provider: `${KIND_PROVIDER}::0a1b`,
            inputs: {
                apiVersion: "tinkerbell.org/v1alpha1",
                kind: "Hardware",
                metadata: { name: "capt-dev-node1", namespace: "tinkerbell" },
            },
        };
        rig = new Rig([stackResource, provider], [hardware]);
        rig.answers["kubectl --request-timeout=20s get Hardware.v1alpha1.tinkerbell.org capt-dev-node1"] = (args) =>
            // kubectl prints managedFields only when asked.
            ok(
                JSON.stringify({
                    metadata: args.includes("--show-managed-fields")
                        ? { managedFields: [{ manager: "pulumi-kubernetes" }] }
                        : {},
                }),
            );

        await recoverInterruptedRun(rig.options());

        // No targeted update: the record is in the state, the pending one gone; the update takes it from there.
        expect(rig.visible).toEqual([]);
        expect(rig.pendingUrns()).toEqual([]);
        expect(rig.state.deployment?.resources).toEqual([
            stackResource,
            provider,
            { ...hardware, id: "tinkerbell/capt-dev-node1", outputs: hardware.inputs },
        ]);
        expect(rig.lines).toEqual([
            "recovery: Hardware tinkerbell/capt-dev-node1 made by the interrupted run, not in the state; recorded it in the state as made",
            "recovery: 1 interrupted create resolved; recorded 1 of them in the state as made, and dropped the pending records",
        ]);
    });
});

describe("npm run destroy after a killed up", () => {
    test("what the run made is recorded in the state, so destroy removes it with its own delete", async () => {
        const pool: StateResource = {
            urn: `${PREFIX}capt-playground:index:Machines$pulumi-nodejs:dynamic/libvirt:Pool::machines-pool`,
            type: "pulumi-nodejs:dynamic/libvirt:Pool",
            custom: true,
            parent: `${PREFIX}capt-playground:index:Machines::machines`,
            inputs: { uri: "qemu:///system", name: "capt-dev", owner: { project: "capt-playground", stack: "dev" } },
        };
        rig = new Rig([stackResource], [pool]);

        await recoverInterruptedRun(rig.options("destroy"));

        expect(rig.pendingUrns()).toEqual([]);
        expect(rig.state.deployment?.resources).toEqual([
            stackResource,
            { ...pool, id: "capt-dev", outputs: pool.inputs },
        ]);
        expect(rig.lines).toEqual([
            "recovery: an interrupted create of machines-pool; recorded it in the state so destroy removes it with its own delete",
            "recovery: 1 interrupted create resolved; recorded 1 of them in the state so destroy removes them, and dropped the pending records",
        ]);
    });
});
