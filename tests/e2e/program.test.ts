/**
 * The whole program as a user runs it: `index.ts` under the real Pulumi CLI, language host and the
 * five provider plugins (command, random, tls, docker, kubernetes) built by
 * tests/e2e/toolchain/pulumi.sh, with a file backend and a passphrase, against real daemons:
 * dockerd (the lab network, the virtual BMC container built by vbmc-image.sh), libvirt (pool,
 * volumes, domains), and, behind the kind stand-in, a real etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler. The Tinkerbell chart is the real one from
 * ../shared/charts, installed by the product's own helm.v3.Release with its own values, await and
 * timeout. Stand-ins only where nothing real can run offline (tests/e2e/stand-ins/README.md): the
 * KinD node (its kubelet is the node-agent), clusterctl's provider downloads, the images.
 *
 * One scenario on one stack, each step checked against the daemons (docker, virsh, kubectl,
 * ipmitool), not against Pulumi's own outputs: preview and up; a no-change up in which no Command
 * ran; the BMC used as CAPT would and then no drift; day-2 machine count changes and a Kubernetes
 * version bump; a failed step; `npm run up` killed inside each kind of create the lab makes
 * (tests/e2e/kill-points.ts) and recovered by `npm run up` alone; destroy leaving nothing while
 * foreign objects stay; and, over every one of those runs, every secret the labs held in no form
 * (plain, JSON-escaped, base64) anywhere it should not be. Timings are printed as one summary line
 * at the end.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { parseAllDocuments } from "yaml";
import { SUSHY_HTPASSWD_PATH, SUSHY_KEY_PATH } from "../../lib/render/virtual-bmc";
import { processAlive, runTempRoot } from "../../lib/recovery/run-temp";
import { Holds, KillPoints } from "./kill-points";
import { STAND_INS, daemonChecks } from "./lab-fixture";
import { Observed, findSecrets, pemLines, productProcessesMissing } from "./secret-search";
import {
    KUBE_BIN,
    ProgramStack,
    ProgramWorkspace,
    changedSteps,
    engineSteps,
    missingProgramParts,
    programWorkspace,
    rigConfig,
} from "./program-rig";
import {
    RunResult,
    Timings,
    describeE2e,
    domainNames,
    expectSuccess,
    scenarioSteps,
    sweepLibvirt,
    killTree,
    missingToolchain,
    poolNames,
    previewSteps,
    sh,
    shOk,
    uniqueToken,
    virsh,
    virshOk,
} from "./support";

const COMMAND_TYPE = "command:local:Command";

// ---------------------------------------------------------------------------------------------
// read-back helpers

function kubectl(kubeconfig: string, args: string[]): string {
    return shOk(path.join(KUBE_BIN, "kubectl"), ["--kubeconfig", kubeconfig, ...args]);
}

function names(kubeconfig: string, resource: string, namespace?: string): string[] {
    const ns = namespace ? ["-n", namespace] : ["-A"];
    return kubectl(kubeconfig, ["get", resource, ...ns, "-o", "name"])
        .split("\n")
        .filter(Boolean)
        .sort();
}

/** Docker objects carrying the stack's labels (what the product labels: network, container). */
function labelledDocker(kind: "network" | "container" | "volume", stack: string): string[] {
    const list = kind === "container" ? ["ps", "-a"] : [kind, "ls"];
    return shOk("docker", [...list, "-q", "--filter", `label=capt-playground.stack=${stack}`])
        .split("\n")
        .filter(Boolean);
}

/** The objects of a Helm release's manifest, from its storage Secret (helm's own record of what it applied). */
function helmReleaseObjects(kubeconfig: string, namespace: string, release: string): { kind: string; name: string }[] {
    const secrets = kubectl(kubeconfig, [
        "get",
        "secrets",
        "-n",
        namespace,
        "-l",
        `owner=helm,name=${release},status=deployed`,
        "-o",
        "jsonpath={.items[0].data.release}",
    ]);
    const gz = Buffer.from(Buffer.from(secrets, "base64").toString(), "base64");
    const record = JSON.parse(zlib.gunzipSync(gz).toString()) as { manifest: string };
    return parseAllDocuments(record.manifest)
        .map((d) => d.toJSON() as { kind?: string; metadata?: { name?: string } } | null)
        .filter((o): o is { kind: string; metadata: { name: string } } => Boolean(o?.kind && o.metadata?.name))
        .map((o) => ({ kind: o.kind, name: o.metadata.name }));
}

/** All command lines of running processes, NUL-separated args joined by spaces. */
function processCommandLines(): string[] {
    const lines: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            lines.push(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
        } catch {
            // gone
        }
    }
    return lines;
}

function filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
}

/** ipmitool against a machine's BMC port of the stack's virtual BMC; the password only in the environment. */
function ipmitool(stack: ProgramStack, port: number, password: string, args: string[]) {
    const target = ["-I", "lanplus", "-H", stack.plan.vbmc.ip, "-p", String(port)];
    return sh("ipmitool", [...target, "-U", stack.labConfig.bmcUsername, "-E", ...args], {
        ...process.env,
        IPMI_PASSWORD: password,
    });
}

// ---------------------------------------------------------------------------------------------

describeE2e(
    "the whole program under the real Pulumi engine",
    [missingToolchain, ...daemonChecks(["ipmitool", "tar"]), missingProgramParts],
    () => {
        let ws: ProgramWorkspace;
        let main: ProgramStack;
        const others: ProgramStack[] = [];
        const timings = new Timings();
        /** What the suite saw where no secret belongs: every run's output, docker inspect, the labs' other files. */
        const observed: Observed[] = [];
        const argvSamples = new Set<string>();
        /** Every secret the labs held, by name: searched for once every run is over (step 10). */
        const secretsHeld: Record<string, string> = {};
        let foreignNetwork: string;
        let foreignDomain: string;
        let foreignFile: string;

        const step = scenarioSteps(20 * 60_000);

        /**
         * Runs the CLI, keeps its output for the secrets search, and samples every process's argv
         * meanwhile. Every run of the product goes through here, a failing or killed one too.
         */
        async function run(
            stack: ProgramStack,
            label: string,
            args: string[],
            options: Parameters<ProgramStack["run"]>[1] = {},
        ): Promise<RunResult> {
            const sampler = setInterval(() => processCommandLines().forEach((l) => argvSamples.add(l)), 250);
            try {
                const result = await stack.run(args, { timeoutMs: 20 * 60_000, ...options });
                observed.push(
                    { where: `${label}: stdout`, text: result.stdout },
                    { where: `${label}: stderr`, text: result.stderr },
                );
                timings.record(label, result);
                return result;
            } finally {
                clearInterval(sampler);
            }
        }

        /** The files a stack writes to hold its secrets (mode 0600); nothing else may hold one. */
        const meantFiles = (stack: ProgramStack) => [
            path.join(stack.plan.outputDir, "kind.kubeconfig"),
            path.join(stack.plan.outputDir, `${stack.plan.labName}.kubeconfig`),
            path.join(stack.plan.outputDir, "ssh", "id_ed25519"),
        ];

        /** A kubeconfig's client key: its `client-key-data` and the decoded key's lines (or its token). */
        function kubeconfigSecrets(name: string, file: string): Record<string, string> {
            const text = fs.readFileSync(file, "utf8");
            const keyData = /client-key-data: (\S+)/.exec(text)?.[1];
            const token = /token: (\S+)/.exec(text)?.[1];
            const found: Record<string, string> = {};
            if (keyData) {
                found[`${name} client-key-data`] = keyData;
                pemLines(Buffer.from(keyData, "base64").toString()).forEach((line, i) => {
                    found[`${name} client key, line ${i + 1}`] = line;
                });
            }
            if (token) found[`${name} token`] = token;
            expect({ file, secrets: Object.keys(found).length > 0 }).toEqual({ file, secrets: true });
            return found;
        }

        /**
         * Every secret a running stack holds, for the search in step 10: the BMC password, both
         * kubeconfigs' keys, the SSH key, the Redfish TLS key and htpasswd inside the BMC container;
         * and, for that search, what docker shows of the container and the stack's other files.
         */
        async function recordSecrets(stack: ProgramStack, who: string): Promise<void> {
            const [kind, workload, ssh] = meantFiles(stack);
            const container = stack.plan.vbmc.containerName;
            const tlsKey = shOk("docker", ["exec", container, "cat", SUSHY_KEY_PATH]);
            const htpasswd = shOk("docker", ["exec", container, "cat", SUSHY_HTPASSWD_PATH]);
            Object.assign(
                secretsHeld,
                { [`${who}: BMC password`]: await stack.output("bmcPassword") },
                kubeconfigSecrets(`${who}: KinD kubeconfig`, kind),
                kubeconfigSecrets(`${who}: workload kubeconfig`, workload),
                Object.fromEntries(
                    pemLines(fs.readFileSync(ssh, "utf8")).map((l, i) => [`${who}: SSH key, line ${i + 1}`, l]),
                ),
                Object.fromEntries(pemLines(tlsKey).map((l, i) => [`${who}: Redfish TLS key, line ${i + 1}`, l])),
                Object.fromEntries(
                    htpasswd
                        .split("\n")
                        .filter(Boolean)
                        .map((line, i) => [
                            `${who}: Redfish htpasswd hash ${i + 1}`,
                            line.slice(line.indexOf(":") + 1),
                        ]),
                ),
            );
            expect(secretsHeld[`${who}: BMC password`].length).toBeGreaterThanOrEqual(8);
            expect(Object.keys(secretsHeld).some((k) => k.startsWith(`${who}: Redfish TLS key`))).toBe(true);
            observed.push({
                where: `${who}: docker inspect ${container}`,
                text: shOk("docker", ["inspect", container]),
            });
            const meant = new Set(meantFiles(stack));
            for (const file of filesUnder(stack.plan.outputDir).filter((f) => !meant.has(f))) {
                observed.push({ where: `${who}: ${file}`, text: fs.readFileSync(file, "utf8") });
            }
            for (const file of meant) {
                expect({ file, mode: fs.statSync(file).mode & 0o777 }).toEqual({ file, mode: 0o600 });
            }
        }

        const kindKubeconfig = () => path.join(main.plan.outputDir, "kind.kubeconfig");
        const workloadKubeconfig = () => path.join(main.plan.outputDir, `${main.plan.labName}.kubeconfig`);

        beforeAll(() => {
            ws = programWorkspace();
            const name = `e2e${uniqueToken(6)}`;
            main = new ProgramStack(ws, name, rigConfig(ws, name, 0));
            // Objects the stack must never touch, planted before it exists: a docker network and a
            // libvirt domain named like its own, and a file of the user's in its output directory.
            foreignNetwork = `${main.plan.network.name}-foreign`;
            shOk("docker", ["network", "create", "--label", `capt-playground.foreign=${name}`, foreignNetwork]);
            foreignDomain = `${main.plan.labName}-node9`;
            const xml = path.join(ws.tmp, "foreign.xml");
            fs.writeFileSync(
                xml,
                `<domain type='qemu'><name>${foreignDomain}</name><memory unit='MiB'>64</memory>` +
                    "<os><type arch='x86_64'>hvm</type></os></domain>",
            );
            virshOk("define", xml);
            fs.mkdirSync(main.plan.outputDir, { recursive: true });
            foreignFile = path.join(main.plan.outputDir, "my-notes.txt");
            fs.writeFileSync(foreignFile, "the user's own file\n");
        });

        afterAll(async () => {
            for (const stack of [...others, ...(main ? [main] : [])]) {
                const failed = await stack.remove();
                if (failed) {
                    process.stderr.write(`cleanup: destroy of ${stack.name} failed:\n${failed}\n`);
                }
                // Whatever a failed step left: the stack's domains and pool (its foreign domain too),
                // its labelled docker objects, its output directory.
                const swept = [
                    ...sweepLibvirt(stack.plan.labName),
                    ...labelledDocker("container", stack.name).map((id) => `container ${id}`),
                    ...labelledDocker("network", stack.name).map((id) => `network ${id}`),
                ];
                labelledDocker("container", stack.name).forEach((id) => sh("docker", ["rm", "-f", id]));
                labelledDocker("network", stack.name).forEach((id) => sh("docker", ["network", "rm", id]));
                if (swept.length > 0) {
                    process.stderr.write(`cleanup: swept after ${stack.name}: ${swept.join(", ")}\n`);
                }
                fs.rmSync(stack.plan.outputDir, { recursive: true, force: true });
            }
            if (main) {
                sh("docker", ["network", "rm", foreignNetwork]);
                virsh("undefine", foreignDomain);
                sh(path.join(STAND_INS, "kind"), ["delete", "clusters", "--all"], ws.env);
            }
            if (ws) {
                fs.rmSync(ws.tmp, { recursive: true, force: true });
            }
            process.stdout.write(`${timings.line("whole program")}\n`);
        });

        step("1. preview lists every resource; up creates the lab, checked against the daemons", async () => {
            await main.init();
            const preview = expectSuccess(await run(main, "preview", ["preview", "--json"]));
            const planned = previewSteps(preview);
            expect(planned.length).toBeGreaterThan(40);
            expect(planned.filter((s) => s.op !== "create")).toEqual([]);
            const plannedTypes = new Set(planned.map((s) => s.type));
            for (const type of [
                "docker:index/network:Network",
                "docker:index/container:Container",
                "command:local:Command",
                "kubernetes:helm.sh/v3:Release",
                "random:index/randomPassword:RandomPassword",
                "tls:index/privateKey:PrivateKey",
            ]) {
                expect([...plannedTypes]).toContain(type);
            }

            const eventLog = path.join(ws.tmp, "up1.events");
            const up = await run(main, "up", ["up", "--yes", "--skip-preview", "--event-log", eventLog]);
            expectSuccess(up);
            // up created exactly what the preview listed (preview --json leaves out the default providers).
            const isDefaultProvider = (urn: string) => /::pulumi:providers:[\w-]+::default(_[\d_]+)?$/.test(urn);
            const created = engineSteps(eventLog)
                .filter((s) => s.op === "create" && !isDefaultProvider(s.urn))
                .map((s) => s.urn);
            const previewed = planned.map((s) => s.urn);
            expect(created.sort()).toEqual(previewed.sort());

            const plan = main.plan;
            // docker: the network with its bridge, the BMC container running on it.
            expect(labelledDocker("network", main.name)).toHaveLength(1);
            const bridge = shOk("docker", [
                "network",
                "inspect",
                plan.network.name,
                "-f",
                '{{index .Options "com.docker.network.bridge.name"}}',
            ]).trim();
            expect(bridge).toBe(plan.network.bridge);
            expect(shOk("docker", ["inspect", plan.vbmc.containerName, "-f", "{{.State.Running}}"]).trim()).toBe(
                "true",
            );
            // The BMC's secret files, as the docker provider uploaded them (permissions, docker 5.0.0).
            const modes = shOk("docker", [
                "exec",
                plan.vbmc.containerName,
                "stat",
                "-c",
                "%a %n",
                SUSHY_HTPASSWD_PATH,
                SUSHY_KEY_PATH,
            ]);
            expect(modes.trim().split("\n")).toEqual([`600 ${SUSHY_HTPASSWD_PATH}`, `600 ${SUSHY_KEY_PATH}`]);
            // libvirt: one defined domain per machine, none running (the BMC powers them).
            const ours = domainNames().filter((d) => d.startsWith(`${plan.labName}-`) && d !== foreignDomain);
            expect(ours.sort()).toEqual(plan.machines.map((m) => m.name).sort());
            expect(ours.map((d) => virshOk("domstate", d).trim())).toEqual(ours.map(() => "shut off"));
            // The management cluster: the real chart released and rolled out by real controllers.
            const kc = kindKubeconfig();
            expect(fs.statSync(kc).mode & 0o777).toBe(0o600);
            const ns = main.labConfig.namespace;
            const objects = helmReleaseObjects(kc, ns, "tinkerbell");
            expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(["Deployment", "Service"]));
            for (const o of objects) {
                const namespaced = !["ClusterRole", "ClusterRoleBinding", "StorageClass", "PersistentVolume"].includes(
                    o.kind,
                );
                kubectl(kc, ["get", o.kind, o.name, ...(namespaced ? ["-n", ns] : [])]);
            }
            const deployments = kubectl(kc, [
                "get",
                "deployments",
                "-n",
                ns,
                "-o",
                'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas}{"\\n"}{end}',
            ])
                .split("\n")
                .filter(Boolean);
            expect(deployments.length).toBeGreaterThan(0);
            for (const d of deployments) {
                const [ready, wanted] = d.split("=")[1].split("/");
                expect({ d, ready }).toEqual({ d, ready: wanted });
            }
            // The inventory and Cluster API objects the program applied.
            expect(names(kc, "hardware.tinkerbell.org", ns)).toHaveLength(plan.machines.length);
            expect(names(kc, "machines.bmc.tinkerbell.org", ns)).toHaveLength(plan.machines.length);
            expect(names(kc, "providers.clusterctl.cluster.x-k8s.io")).toHaveLength(4);
            expect(names(kc, "clusters.cluster.x-k8s.io", ns)).toEqual([`cluster.cluster.x-k8s.io/${plan.labName}`]);
            // The workload cluster's kubeconfig, written by the program, reaches its API server.
            expect(fs.statSync(workloadKubeconfig()).mode & 0o777).toBe(0o600);
            expect(kubectl(workloadKubeconfig(), ["get", "--raw=/readyz"]).trim()).toBe("ok");
        });

        step("2. up again changes nothing, and no Command runs", async () => {
            const eventLog = path.join(ws.tmp, "up2.events");
            const logBefore = fs.statSync(path.join(main.plan.outputDir, "clusterctl-init.log")).mtimeMs;
            const up = await run(main, "no-change up", ["up", "--yes", "--expect-no-changes", "--event-log", eventLog]);
            expectSuccess(up);
            const steps = engineSteps(eventLog);
            const commands = steps.filter((s) => s.type === COMMAND_TYPE);
            expect(commands.length).toBeGreaterThan(3);
            expect(commands.filter((s) => s.op !== "same")).toEqual([]);
            expect(changedSteps(eventLog)).toEqual([]);
            // clusterctl-init writes its log whenever it runs.
            expect(fs.statSync(path.join(main.plan.outputDir, "clusterctl-init.log")).mtimeMs).toBe(logBefore);
        });

        step("3. the BMC used as CAPT would (IPMI power and boot device) is not drift", async () => {
            const plan = main.plan;
            const password = await main.output("bmcPassword");
            const machine = plan.machines[0];
            const ipmi = (...args: string[]) => {
                const result = ipmitool(main, machine.bmcPort, password, args);
                expect({ args, ...result }).toMatchObject({ args, status: 0 });
                return result.stdout;
            };
            ipmi("chassis", "bootdev", "pxe");
            ipmi("chassis", "power", "on");
            await new Promise((r) => setTimeout(r, 2000));
            expect(virshOk("domstate", machine.name).trim()).toBe("running");
            ipmi("chassis", "power", "off");
            expectSuccess(await run(main, "preview after BMC", ["preview", "--expect-no-changes"]));
            expectSuccess(await run(main, "refresh", ["refresh", "--yes"]));
            expectSuccess(await run(main, "preview after refresh", ["preview", "--expect-no-changes"]));
        });

        step(
            "3b. a new BMC password from config: the BMC refuses the old one and takes the new, by ipmitool",
            async () => {
                const plan = main.plan;
                const old = await main.output("bmcPassword");
                const fresh = `New${uniqueToken(12)}`;
                expectSuccess(await main.run(["config", "set", "--secret", "bmcPassword", fresh]));
                expectSuccess(await run(main, "up with a new BMC password", ["up", "--yes", "--skip-preview"]));
                const power = (password: string) =>
                    ipmitool(main, plan.machines[0].bmcPort, password, ["chassis", "power", "status"]);
                expect(power(fresh)).toMatchObject({
                    status: 0,
                    stdout: expect.stringContaining("Chassis Power is off"),
                });
                expect(power(old).status).not.toBe(0);
                // The Rufio Secret Tinkerbell uses carries the new one too.
                const ns = main.labConfig.namespace;
                const secrets = kubectl(kindKubeconfig(), [
                    "get",
                    "secrets",
                    "-n",
                    ns,
                    "-o",
                    'jsonpath={range .items[*]}{.data.password}{"\\n"}{end}',
                ])
                    .split("\n")
                    .filter(Boolean)
                    .map((b64) => Buffer.from(b64, "base64").toString());
                expect(secrets).toContain(fresh);
                expect(secrets).not.toContain(old);
                expect(await main.output("bmcPassword")).toBe(fresh);
                // Step 10 looks for it too.
                secretsHeld["main stack: the BMC password before 3b"] = old;
            },
        );

        step("4. day 2: hardwareCount +1 adds one machine everywhere, -1 removes exactly it", async () => {
            const before = main.plan;
            await main.set("hardwareCount", "3");
            const added = main.plan.machines[2];
            const eventLog = path.join(ws.tmp, "up-add.events");
            expectSuccess(await run(main, "up +1 machine", ["up", "--yes", "--skip-preview", "--event-log", eventLog]));
            const changed = changedSteps(eventLog);
            expect(changed.every((s) => s.op === "create" || s.op === "update")).toBe(true);
            expect(changed.filter((s) => s.op === "create").map((s) => s.name)).toEqual(
                expect.arrayContaining([expect.stringContaining(added.name)]),
            );
            const kc = kindKubeconfig();
            const ns = main.labConfig.namespace;
            expect(domainNames()).toContain(added.name);
            expect(names(kc, "hardware.tinkerbell.org", ns)).toHaveLength(3);
            expect(names(kc, "machines.bmc.tinkerbell.org", ns)).toHaveLength(3);
            expect(shOk("docker", ["exec", before.vbmc.containerName, "vbmc", "list"])).toContain(added.name);

            await main.set("hardwareCount", "2");
            const removeLog = path.join(ws.tmp, "up-remove.events");
            expectSuccess(
                await run(main, "up -1 machine", ["up", "--yes", "--skip-preview", "--event-log", removeLog]),
            );
            const removed = engineSteps(removeLog).filter((s) => s.op === "delete");
            expect(removed.length).toBeGreaterThan(0);
            expect(removed.every((s) => s.name.includes(added.name) || s.type.includes("Secret"))).toBe(true);
            expect(domainNames()).not.toContain(added.name);
            expect(names(kc, "hardware.tinkerbell.org", ns)).toHaveLength(2);
            expect(shOk("docker", ["exec", before.vbmc.containerName, "vbmc", "list"])).not.toContain(added.name);
        });

        step(
            "4b. day 2: a kubernetesVersion bump replaces the templates, updates KCP and MachineDeployment, nothing else",
            async () => {
                await main.set("kubernetesVersion", "v1.35.3");
                const eventLog = path.join(ws.tmp, "up-version.events");
                expectSuccess(
                    await run(main, "up version bump", ["up", "--yes", "--skip-preview", "--event-log", eventLog]),
                );
                const kind = (s: { type: string }) => s.type.split(":").pop()!;
                // The default dynamic provider is configured with the stack's config (the SDK's
                // cmd/dynamic-provider hands it to `configure`), so any config change updates it in place.
                const changed = changedSteps(eventLog).filter((s) => s.type !== "pulumi:providers:pulumi-nodejs");
                const updated = new Set(changed.filter((s) => s.op === "update").map(kind));
                expect(updated).toEqual(new Set(["KubeadmControlPlane", "MachineDeployment"]));
                const others = changed.filter((s) => s.op !== "update");
                expect(others.filter((s) => !/Template$/.test(kind(s))).map((s) => `${s.op} ${s.name}`)).toEqual([]);
                expect(others.some((s) => kind(s) === "TinkerbellMachineTemplate")).toBe(true);
                const kc = kindKubeconfig();
                const ns = main.labConfig.namespace;
                const version = (resource: string, jsonpath: string) =>
                    kubectl(kc, ["get", resource, "-n", ns, "-o", `jsonpath=${jsonpath}`]).trim();
                expect(version("kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", "{.items[*].spec.version}")).toBe(
                    "v1.35.3",
                );
                expect(version("machinedeployments.cluster.x-k8s.io", "{.items[*].spec.template.spec.version}")).toBe(
                    "v1.35.3",
                );
                expect(
                    names(kc, "tinkerbellmachinetemplates.infrastructure.cluster.x-k8s.io", ns).join(" "),
                ).not.toMatch(/v1-35-2/);
            },
        );

        step(
            "5. every secret the lab holds is recorded for the search after the last run; the files meant to hold them are 0600",
            async () => {
                await recordSecrets(main, "main stack");
            },
        );

        step(
            "6. a step that fails names the resource and its step, shows no secret, and the next up converges",
            async () => {
                const plan = main.plan;
                const password = await main.output("bmcPassword");
                // The BMC is down when a new machine is registered: its registration cannot run.
                shOk("docker", ["stop", plan.vbmc.containerName]);
                await main.set("hardwareCount", "3");
                const added = main.plan.machines[2];
                const failed = await run(main, "up with the BMC down", ["up", "--yes", "--skip-preview"]);
                expect(failed.code).not.toBe(0);
                const output = failed.stdout + failed.stderr;
                expect(output).toContain(`bmc-${added.name}`);
                expect(output).toMatch(/vbmc-register/);
                expect(output).not.toContain(password);
                // Fixed: the BMC is back; the next up converges and registers the machine.
                shOk("docker", ["start", plan.vbmc.containerName]);
                expectSuccess(await run(main, "up after the fix", ["up", "--yes", "--skip-preview"]));
                expect(shOk("docker", ["exec", plan.vbmc.containerName, "vbmc", "list"])).toContain(added.name);
                expectSuccess(await run(main, "no-change preview after the fix", ["preview", "--expect-no-changes"]));
                await main.set("hardwareCount", "2");
                expectSuccess(await run(main, "up back to 2 machines", ["up", "--yes", "--skip-preview"]));
                observed.push({
                    where: "main stack after the failure: docker inspect",
                    text: shOk("docker", ["inspect", plan.vbmc.containerName]),
                });
            },
        );

        step(
            "7+8. a second stack beside the first, killed inside each kind of create it makes; npm run up alone recovers every kill, preview then shows no change, destroy leaves nothing, and the first keeps working",
            async () => {
                const name = `e2e${uniqueToken(6)}`;
                const second = new ProgramStack(ws, name, rigConfig(ws, name, 1));
                others.push(second);
                await second.init();
                const kills = new KillPoints(ws, second.plan.kind.clusterName);
                try {
                    await kills.ready();
                    // (a) Killed while clusterctl init runs, then `npm run destroy` at once: the lock the
                    // kill left goes by itself, init never reached the state, and still nothing is left.
                    await killUpDuringClusterctlInit(second, kills.stackEnv);
                    const destroyed = expectSuccess(
                        await labRun(
                            second,
                            "destroy after a kill",
                            "destroy",
                            ["--yes", "--skip-preview"],
                            kills.stackEnv,
                        ),
                    );
                    expect(destroyed.stderr).toMatch(
                        /recovery: found the lock of an interrupted run: .*no longer runs; removed the lock/,
                    );
                    expect(filesUnder(second.plan.outputDir)).toEqual([]);
                    expect(labelledDocker("network", second.name)).toEqual([]);
                    expect(labelledDocker("container", second.name)).toEqual([]);
                    expect(domainNames().filter((d) => d.startsWith(`${second.plan.labName}-`))).toEqual([]);

                    // (b) Killed inside each kind of create, wave by wave; each `npm run up` first recovers
                    // the kill before it (its lines checked), then is killed at the next wave's points.
                    let recovered: RegExp[] = [];
                    for (const wave of killWaves(second)) {
                        const run = await killLabUpInside(second, kills, wave);
                        expectRecovered(run, recovered);
                        wave.afterKill();
                        recovered = wave.recovered;
                    }
                    kills.disarm();
                    const up = expectSuccess(
                        await labRun(second, "npm run up after the last kill", "up", [], kills.stackEnv),
                    );
                    expectRecovered(up, recovered);
                    expectSuccess(
                        await run(second, "no-change preview after the kills", ["preview", "--expect-no-changes"], {
                            env: kills.stackEnv,
                        }),
                    );
                    checkSecondLab(second);
                    await recordSecrets(second, "second stack");

                    // Both labs side by side, each on its own network and bridge; then the second goes.
                    expect(second.plan.network.bridge).not.toBe(main.plan.network.bridge);
                    expectSuccess(
                        await labRun(
                            second,
                            "destroy of the second stack",
                            "destroy",
                            ["--yes", "--skip-preview"],
                            kills.stackEnv,
                        ),
                    );
                } finally {
                    kills.stop();
                }
                expect(labelledDocker("network", second.name)).toEqual([]);
                expect(labelledDocker("container", second.name)).toEqual([]);
                expect(domainNames().filter((d) => d.startsWith(`${second.plan.labName}-`))).toEqual([]);
                expect(poolNames().filter((p) => p.startsWith(second.plan.labName))).toEqual([]);
                expect(filesUnder(second.plan.libvirt.storageDir)).toEqual([]);
                expect(filesUnder(second.plan.outputDir)).toEqual([]);
                expect(shOk(path.join(STAND_INS, "kind"), ["get", "clusters"], ws.env)).not.toContain(
                    second.plan.kind.clusterName,
                );
                // No run's private TMPDIR outlives its run (a killed run's goes with the next run).
                const runs = fs.existsSync(runTempRoot()) ? fs.readdirSync(runTempRoot()) : [];
                expect(runs.filter((pid) => /^\d+$/.test(pid) && !processAlive(Number(pid)))).toEqual([]);
                // The first is untouched and still answers.
                expect(kubectl(kindKubeconfig(), ["get", "--raw=/readyz"]).trim()).toBe("ok");
                expect(
                    shOk("docker", ["inspect", main.plan.vbmc.containerName, "-f", "{{.State.Running}}"]).trim(),
                ).toBe("true");
                expectSuccess(await run(main, "first stack after the second went", ["preview", "--expect-no-changes"]));
            },
            90 * 60_000,
        );

        /** `npm run <command>` of a stack, its output kept for the secrets check, timed. */
        async function labRun(
            stack: ProgramStack,
            label: string,
            command: "up" | "destroy",
            args: string[],
            env: NodeJS.ProcessEnv,
        ): Promise<RunResult> {
            const result = await stack.lab(command, args, { timeoutMs: 20 * 60_000, env });
            observed.push(
                { where: `${label}: stdout`, text: result.stdout },
                { where: `${label}: stderr`, text: result.stderr },
            );
            timings.record(label, result);
            return result;
        }

        /** Every line in `expected` is among the recovery lines the run printed. */
        function expectRecovered(run: RunResult, expected: RegExp[]): void {
            const lines = run.stderr.split("\n").filter((l) => l.startsWith("recovery:"));
            for (const line of expected) {
                expect({ line: line.source, found: lines.some((l) => line.test(l)) }).toEqual({
                    line: line.source,
                    found: true,
                });
            }
        }

        interface KillWave {
            label: string;
            holds: Holds;
            /** The creates the state must show pending at the kill (resource names). */
            pending: string[];
            /** Resources a later step of this wave relies on being recorded first. */
            recorded?: string[];
            /** The host shows what the held creates made, beyond the markers. */
            made?: () => boolean;
            /** How many held markers the wave waits for. */
            markers: number;
            /** What the kill left on the host. */
            afterKill: () => void;
            /** The lines the next `npm run up` prints for it. */
            recovered: RegExp[];
        }

        function killWaves(stack: ProgramStack): KillWave[] {
            const plan = stack.plan;
            const ns = stack.labConfig.namespace;
            const [m1, m2] = plan.machines.map((m) => m.name);
            const pool = plan.libvirt.poolName;
            const cluster = plan.kind.clusterName;
            const clusterDir = path.join(ws.standIns, "kind", cluster);
            const direct = path.join(clusterDir, "kubeconfig");
            const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            const line = (text: string) => new RegExp(`^recovery: ${text}`);
            const lock = line("found the lock of an interrupted run: .*no longer runs; removed the lock$");
            const kubeGet = (args: string[]) => sh(path.join(KUBE_BIN, "kubectl"), ["--kubeconfig", direct, ...args]);
            const sshTemps = () =>
                fs.existsSync(path.join(plan.outputDir, "ssh"))
                    ? fs.readdirSync(path.join(plan.outputDir, "ssh")).filter((f) => f.includes(".capt-write."))
                    : [];
            return [
                {
                    label: "docker network; a file write before its rename",
                    holds: {
                        docker: ["POST ^/v[0-9.]+/networks/create"],
                        shim: ["mv before \\.id_ed25519\\.capt-write\\."],
                    },
                    pending: ["network-network", "ssh-key-file-write"],
                    markers: 2,
                    afterKill: () => {
                        expect(labelledDocker("network", stack.name)).toHaveLength(1);
                        expect(sshTemps()).toHaveLength(1);
                    },
                    recovered: [
                        lock,
                        line(
                            `docker network ${escape(plan.network.name)} \\(\\w+\\) made by the interrupted run, labelled for stack ${stack.name}, not in the state; removed it so up creates it afresh$`,
                        ),
                        line(
                            "an interrupted run of write-file \\(ssh-key-file-write\\); the script is idempotent and runs again$",
                        ),
                        line("\\d+ interrupted creates resolved; dropped their pending records from the state$"),
                    ],
                },
                {
                    label: "KinD cluster, BMC container, libvirt pool",
                    holds: {
                        docker: ["POST ^/v[0-9.]+/containers/create"],
                        shim: ["virsh after ^--quiet -c \\S+ pool-define "],
                        env: { CAPT_E2E_KIND_CREATE_HOLD: "1" },
                    },
                    pending: ["kind-cluster", "bmc-container", "machines-pool"],
                    recorded: ["ssh-key-file-write"],
                    made: () => fs.existsSync(path.join(clusterDir, "create-held")),
                    markers: 2,
                    afterKill: () => {
                        expect(sshTemps()).toEqual([]);
                        expect(labelledDocker("container", stack.name)).toHaveLength(1);
                        expect(shOk(path.join(STAND_INS, "kind"), ["get", "clusters"], ws.env)).toContain(cluster);
                        expect(virshOk("pool-info", pool)).toMatch(/State:\s+inactive/);
                    },
                    recovered: [
                        lock,
                        line(
                            `KinD cluster ${cluster} half-made by the interrupted run \\(.*\\); deleted it so up creates it afresh$`,
                        ),
                        line(
                            `docker container ${escape(plan.vbmc.containerName)} \\(\\w+\\) made by the interrupted run, .*; removed it so up creates it afresh$`,
                        ),
                        line(
                            `an interrupted create of libvirt pool ${pool}; its create takes over the stack's own pool`,
                        ),
                    ],
                },
                {
                    // Not clusterctl init: it waits for the whole Tinkerbell stack (components/lab.ts),
                    // so it cannot start while the chart's install is held; the next wave holds it.
                    label: "Helm release, libvirt volume and domain, a file write after its rename",
                    holds: {
                        pods: ["tinkerbell"],
                        shim: [
                            `virsh after ^--quiet -c \\S+ vol-create-as \\S+ ${escape(m1)}\\.qcow2 `,
                            "virsh after ^--quiet -c \\S+ define ",
                            "mv after kind\\.kubeconfig$",
                        ],
                    },
                    pending: [
                        "tinkerbell-release",
                        `machines-${m1}-disk`,
                        `machines-${m2}`,
                        "kind-kubeconfig-file-write",
                    ],
                    // Not while docker still makes the BMC container the last wave's recovery removed
                    // (slow on vfs): a kill then leaves dockerd finishing a create no state records,
                    // which is the docker wave's kill point, not this one's.
                    recorded: ["bmc-container"],
                    made: () => {
                        const records = kubeGet([
                            "get",
                            "secrets",
                            "-n",
                            ns,
                            "-l",
                            "owner=helm,name=tinkerbell,status=pending-install",
                            "-o",
                            "name",
                        ]);
                        return records.status === 0 && records.stdout.trim() !== "";
                    },
                    markers: 3,
                    afterKill: () => {
                        expect(virshOk("vol-list", pool)).toContain(`${m1}.qcow2`);
                        expect(domainNames()).toContain(m2);
                        expect(fs.existsSync(path.join(plan.outputDir, "kind.kubeconfig"))).toBe(true);
                        // clusterctl init never started: it waits for the chart.
                        expect(fs.existsSync(path.join(plan.outputDir, "clusterctl-init.log"))).toBe(false);
                    },
                    recovered: [
                        lock,
                        line(
                            `Helm's record of Helm release ${ns}/tinkerbell left pending-install by the interrupted run; deleted the record; the install runs again`,
                        ),
                        line(
                            `libvirt volume ${pool}/${escape(m1)}\\.qcow2 made by the interrupted run in the stack's own pool, empty, not in the state; removed it so up creates it afresh$`,
                        ),
                        line(
                            `an interrupted create of libvirt domain ${escape(m2)}; its create redefines the stack's own domain`,
                        ),
                        line("an interrupted run of write-file \\(kind-kubeconfig-file-write\\)"),
                    ],
                },
                {
                    // clusterctl init runs once the chart is installed, beside the BMC registrations.
                    label: "BMC registrations, clusterctl init",
                    holds: {
                        shim: ["docker after ^exec -i \\S+ sh -c "],
                        env: { CAPT_E2E_CLUSTERCTL_INIT_SECONDS: "900" },
                    },
                    pending: [`bmc-${m1}`, `bmc-${m2}`, "capi-init"],
                    made: () => fs.existsSync(path.join(plan.outputDir, "clusterctl-init.log")),
                    markers: 2,
                    afterKill: () => {
                        for (const machine of [m1, m2]) {
                            shOk("docker", [
                                "exec",
                                plan.vbmc.containerName,
                                "test",
                                "-f",
                                `/root/.vbmc/${machine}/config`,
                            ]);
                        }
                    },
                    recovered: [
                        lock,
                        line("an interrupted run of clusterctl-init \\(capi-init\\); the script is idempotent"),
                        ...[m1, m2].map((m) =>
                            line(
                                `an interrupted run of vbmc-register \\(bmc-${escape(m)}\\); the script is idempotent`,
                            ),
                        ),
                    ],
                },
                {
                    label: "Kubernetes objects",
                    holds: { api: ["POST ^/apis/tinkerbell\\.org/v1alpha1/namespaces/[^/]+/hardware"] },
                    pending: [`inventory-hardware-${m1}`, `inventory-hardware-${m2}`],
                    markers: 2,
                    afterKill: () => {
                        expect(
                            kubeGet(["get", "hardware.tinkerbell.org", "-n", ns, "-o", "name"])
                                .stdout.trim()
                                .split("\n"),
                        ).toHaveLength(2);
                    },
                    recovered: [
                        lock,
                        ...[m1, m2].map((m) =>
                            line(
                                `Hardware ${ns}/${escape(m)} made by the interrupted run, not in the state; recorded it in the state as made$`,
                            ),
                        ),
                        // The two held Hardware creates, and any other object the run had made by then
                        // (a Rufio Machine's create, not held, may have landed too).
                        line(
                            "\\d+ interrupted creates resolved; recorded \\d+ of them in the state as made, and dropped the pending records$",
                        ),
                    ],
                },
            ];
        }

        /**
         * `npm run up` of `stack` with the wave's holds, SIGKILLed (lab.ts, the CLI, its language host,
         * providers and scripts) once every held point is reached and the state shows those creates pending.
         */
        async function killLabUpInside(stack: ProgramStack, kills: KillPoints, wave: KillWave): Promise<RunResult> {
            const env = kills.arm(wave.holds);
            let killed = false;
            const result = await stack.lab("up", [], {
                timeoutMs: 20 * 60_000,
                env,
                poll: {
                    everyMs: 500,
                    check: (child) => {
                        if (killed || kills.held().length < wave.markers || (wave.made && !wave.made())) return;
                        const pending = stack.pendingCreates();
                        if (!wave.pending.every((p) => pending.includes(p))) return;
                        if (wave.recorded && !stack.persisted(wave.recorded)) return;
                        killed = true;
                        killTree(child.pid);
                    },
                },
            });
            observed.push(
                { where: `killed up, ${wave.label}: stdout`, text: result.stdout },
                { where: `killed up, ${wave.label}: stderr`, text: result.stderr },
            );
            timings.record(`killed up: ${wave.label}`, result);
            expect({ wave: wave.label, killed, signal: result.signal, held: kills.held().length }).toEqual({
                wave: wave.label,
                killed: true,
                signal: "SIGKILL",
                held: expect.any(Number),
            });
            kills.disarm();
            return result;
        }

        /** The second lab, complete after the kills: checked against the daemons. */
        function checkSecondLab(stack: ProgramStack): void {
            const plan = stack.plan;
            const kc = path.join(plan.outputDir, "kind.kubeconfig");
            const ns = stack.labConfig.namespace;
            expect(helmReleaseObjects(kc, ns, "tinkerbell").length).toBeGreaterThan(5);
            expect(names(kc, "providers.clusterctl.cluster.x-k8s.io")).toHaveLength(4);
            expect(names(kc, "hardware.tinkerbell.org", ns)).toHaveLength(plan.machines.length);
            expect(shOk("docker", ["inspect", plan.vbmc.containerName, "-f", "{{.State.Running}}"]).trim()).toBe(
                "true",
            );
            const vbmc = shOk("docker", ["exec", plan.vbmc.containerName, "vbmc", "list"]);
            for (const machine of plan.machines) {
                expect(vbmc).toContain(machine.name);
                expect(virshOk("domstate", machine.name).trim()).toBe("shut off");
            }
            expect(labelledDocker("network", stack.name)).toHaveLength(1);
            expect(labelledDocker("container", stack.name)).toHaveLength(1);
            expect(fs.statSync(path.join(plan.outputDir, "ssh", "id_ed25519")).mode & 0o777).toBe(0o600);
        }

        /**
         * `up` of `stack`, SIGKILLed (the CLI, its language host and providers) at one defined point:
         * clusterctl init is running (the stand-in holds it, as real init waits for its controllers),
         * it has written its files, and everything that does not wait for it (network, BMC container,
         * machines, KinD, the Tinkerbell release) is created.
         */
        async function killUpDuringClusterctlInit(stack: ProgramStack, env: NodeJS.ProcessEnv): Promise<void> {
            const log = path.join(stack.plan.outputDir, "clusterctl-init.log");
            // The display's lines are "<type> <name> <status>", with the type shortened (docker:index:Container).
            const ready = [/ capi-init creating/, / bmc-container created/, / tinkerbell-release created/];
            let killed = false;
            let poll: NodeJS.Timeout | undefined;
            const result = await run(stack, "up killed during clusterctl init", ["up", "--yes", "--skip-preview"], {
                timeoutMs: 20 * 60_000,
                env: { ...env, CAPT_E2E_CLUSTERCTL_INIT_SECONDS: "300" },
                onStdout: (soFar, child) => {
                    if (!killed && !poll && ready.every((line) => line.test(soFar)) && fs.existsSync(log)) {
                        poll = setInterval(() => {
                            if (!killed && stack.persisted(["bmc-container", "tinkerbell-release"])) {
                                killed = true;
                                killTree(child.pid);
                            }
                        }, 200);
                        child.on("close", () => clearInterval(poll));
                    }
                },
            });
            expect({ killed, signal: result.signal }).toEqual({ killed: true, signal: "SIGKILL" });
            expect(fs.existsSync(path.join(stack.plan.outputDir, "clusterctl.yaml"))).toBe(true);
        }

        step("9. destroy leaves nothing of the lab, and the foreign objects are untouched", async () => {
            const plan = main.plan;
            expectSuccess(await run(main, "destroy", ["destroy", "--yes", "--skip-preview"]));
            expect(labelledDocker("network", main.name)).toEqual([]);
            expect(labelledDocker("container", main.name)).toEqual([]);
            expect(domainNames().filter((d) => d.startsWith(`${plan.labName}-`))).toEqual([foreignDomain]);
            expect(poolNames().filter((p) => p.startsWith(plan.labName))).toEqual([]);
            expect(filesUnder(plan.libvirt.storageDir)).toEqual([]);
            expect(filesUnder(plan.outputDir)).toEqual([foreignFile]);
            expect(fs.readFileSync(foreignFile, "utf8")).toBe("the user's own file\n");
            expect(shOk("docker", ["network", "inspect", foreignNetwork, "-f", "{{.Name}}"]).trim()).toBe(
                foreignNetwork,
            );
            expect(virshOk("domstate", foreignDomain).trim()).toBe("shut off");
            // No daemon of the lab's clusters is left (the stand-in's state directory names them all).
            const stateDir = path.join(ws.tmp, "stand-ins");
            expect(processCommandLines().filter((l) => l.includes(stateDir))).toEqual([]);
            expect(shOk(path.join(STAND_INS, "kind"), ["get", "clusters"], ws.env).trim()).toBe("");
        });

        step(
            "10. over every run of the suite (the failing and the killed one too), no secret the labs held appears in any form where it does not belong",
            async () => {
                // Both labs' secrets: BMC passwords (the old one too), both kubeconfigs' keys, the SSH key,
                // the Redfish TLS key and htpasswd.
                expect(Object.keys(secretsHeld).filter((k) => k.startsWith("main stack")).length).toBeGreaterThan(6);
                expect(Object.keys(secretsHeld).filter((k) => k.startsWith("second stack")).length).toBeGreaterThan(6);
                // The state: every checkpoint, history and backup the file backend kept. Not the engine's
                // event logs (--event-log): a debugging aid the suite turns on to count steps, which the
                // Pulumi CLI writes with resource outputs unmasked and `npm run up` never asks for.
                const stateFiles = filesUnder(path.join(ws.tmp, "state"));
                expect(stateFiles.length).toBeGreaterThan(0);
                const everything: Observed[] = [
                    ...observed,
                    ...stateFiles.map((file) => ({ where: file, text: fs.readFileSync(file, "utf8") })),
                    ...[...argvSamples].map((line) => ({
                        where: `the command line ${line.slice(0, 60)}...`,
                        text: line,
                    })),
                ];
                expect(findSecrets(secretsHeld, everything)).toEqual([]);
                // The search saw something: the product's own processes (the CLI, the language host, every
                // provider, the lab's scripts) were sampled, not just the host's unrelated ones.
                expect(productProcessesMissing(argvSamples)).toEqual([]);
                expect(observed.filter((o) => o.where.startsWith("up killed during clusterctl init")).length).toBe(2);
            },
        );
    },
);
