/**
 * The real lab, offline: the product's own program with `offlineBundle` set to the bundle the rig
 * builds from sources (tests/e2e/bundle/build.sh), and no stand-in on PATH: the real kind v0.31.0,
 * clusterctl v1.12.5 and kubectl v1.35.4, the KinD node image, Tinkerbell v0.25.0, Cluster API
 * v1.12.5, CAPT v0.7.0, cert-manager and the CaptainOS artifacts built offline. Nothing is pulled
 * (there is no registry to pull from). Checked against the daemons, not Pulumi's outputs:
 *
 *   1. preflight on, as users run it; `npm run up` brings the management plane up: the KinD node on
 *      the lab network with the product's kind config, every pod Running and Ready from the bundle's
 *      images, Tinkerbell's CRDs installed by Tinkerbell, clusterctl's inventory and webhooks;
 *   2. the controllers reconcile the product's objects: CAPT claims a Hardware and makes a Workflow,
 *      Rufio powers the VM on through the virtual BMC;
 *   3. the VM network-boots from the lab: Smee's DHCP and TFTP, the iPXE script, the OSIE's kernel
 *      and initramfs from the artifacts server, the OSIE's boot on the serial console, tink-agent
 *      takes the Workflow (RUNNING). The workflow's actions need the action images and an OS image,
 *      which this suite's bundle does not carry yet: the suite stops there;
 *   4. `npm run status -- --json` names each machine's stage; a no-change preview;
 *   5. `npm run destroy` leaves nothing: no cluster, network, container, domain, pool, file, and none
 *      of the images the lab loaded into docker.
 *
 * The stand-in program suite (program.test.ts) keeps the day-2 steps (scaling, version bumps,
 * failures, kills), which take seconds there and many minutes here.
 */
import { spawnSync } from "node:child_process";
import { Address4 } from "ip-address";
import * as fs from "node:fs";
import * as path from "node:path";
import { consoleLogDir } from "../../lib/libvirt/domain-xml";
import { KUBE_BIN, ProgramStack, ProgramWorkspace, RawConfig, programWorkspace } from "./program-rig";
import { Observed, findSecrets, pemLines } from "./secret-search";
import {
    RunResult,
    Timings,
    describeE2e,
    domainNames,
    e2eCacheRoot,
    expectSuccess,
    missingDocker,
    missingLibvirt,
    missingToolchain,
    poolNames,
    scenarioSteps,
    sh,
    shOk,
    uniqueToken,
} from "./support";

const KIND = path.join(e2eCacheRoot(), "kind", "v0.31.0", "kind");
const CLUSTERCTL = path.join(e2eCacheRoot(), "clusterctl", "v1.12.5", "clusterctl");
/** The folder tests/e2e/run.sh exports after tests/e2e/bundle/build.sh made (or found) it. */
const BUNDLE = process.env.CAPT_E2E_BUNDLE ?? "";

interface BundleArtifact {
    kind: string;
    ref: string;
    file: string;
    imageId?: string;
}

function bundleArtifacts(): BundleArtifact[] {
    return JSON.parse(fs.readFileSync(path.join(BUNDLE, "bundle.json"), "utf8")).artifacts;
}

/** Why this suite cannot run here, or undefined. */
function missingRealLab(): string | undefined {
    if (!BUNDLE || !fs.existsSync(path.join(BUNDLE, "bundle.json"))) {
        return "no lab bundle: tests/e2e/run.sh builds it with tests/e2e/bundle/build.sh (hours cold, cached after) and exports CAPT_E2E_BUNDLE";
    }
    for (const tool of [KIND, CLUSTERCTL, path.join(KUBE_BIN, "kubectl")]) {
        if (!fs.existsSync(tool)) {
            return `${tool} is missing: tests/e2e/bundle/build.sh builds it`;
        }
    }
    return undefined;
}

/** The one image of the bundle whose reference starts with `prefix`. */
function bundleImage(prefix: string): BundleArtifact {
    const found = bundleArtifacts().filter((a) => a.kind === "image" && a.ref.startsWith(prefix));
    expect(found.map((a) => a.ref)).toHaveLength(1);
    return found[0];
}

/** A label of an image in a `docker save` archive, read from the archive (docker need not have it). */
function imageLabel(archive: string, label: string): string {
    const tar = (member: string) => {
        const out = spawnSync("tar", ["-xOf", archive, member], { encoding: "utf8", maxBuffer: 64 << 20 });
        if (out.status !== 0) throw new Error(`tar -xOf ${archive} ${member}: ${out.stderr}`);
        return out.stdout;
    };
    const manifest = JSON.parse(tar("manifest.json"));
    const config = JSON.parse(tar(manifest[0].Config));
    return config.config?.Labels?.[label] ?? "";
}

interface KubeItem {
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        managedFields?: { manager: string }[];
    };
    spec?: Record<string, unknown>;
    status?: Record<string, unknown>;
}

async function sleep(seconds: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/**
 * The lab refuses to load a bundle image over another image of the same name (it never replaces an
 * image it did not load). An earlier build of the rig, or a manual run, may have left such a name on
 * this machine: the suite untags it, saying so, so that the lab loads the bundle's.
 */
function untagStaleHostImages(): void {
    for (const artifact of bundleArtifacts()) {
        if (artifact.kind !== "image" || !/^(kindest\/node|capt-e2e\/virtualbmc):/.test(artifact.ref)) continue;
        const present = sh("docker", ["image", "inspect", "-f", "{{.Id}}", artifact.ref]);
        if (present.status === 0 && present.stdout.trim() !== artifact.imageId) {
            console.log(
                `real lab: docker had ${artifact.ref} as another image (${present.stdout.trim()}); untagged it`,
            );
            shOk("docker", ["image", "rm", artifact.ref]);
        }
    }
}

describeE2e(
    "the real lab, offline: real KinD, Tinkerbell and Cluster API from the rig's bundle, until a VM network-boots and its workflow runs",
    [missingToolchain, missingLibvirt, missingDocker, missingRealLab],
    () => {
        let ws: ProgramWorkspace;
        let stack: ProgramStack;
        const timings = new Timings();
        const step = scenarioSteps(40 * 60_000);
        /** Images docker had before the run: the lab may remove only those it loaded. */
        let imagesBefore: string[] = [];
        let kubeconfig = "";
        /** Seconds from the start of `up` to each milestone of the first machine, for the README and bench. */
        const milestones: Record<string, number> = {};
        let upStarted = 0;
        const mark = (name: string) => {
            if (!(name in milestones)) milestones[name] = Math.round((Date.now() - upStarted) / 1000);
        };

        /** Each distinct stage `npm run status --json` reported for the machine, in order. */
        const stagesSeen: string[] = [];
        /** What the suite saw where no secret belongs (step 5 searches it). */
        const observed: Observed[] = [];
        const statusJson = (): { machines: { name: string; stage: string }[]; verdict: string } => {
            const sets = Object.entries(stack.config).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
            const status = spawnSync(
                "npm",
                ["run", "--silent", "status", "--", "--stack", stack.name, "--json", ...sets],
                {
                    cwd: ws.projectDir,
                    env: ws.env,
                    encoding: "utf8",
                },
            );
            const doc = JSON.parse(status.stdout);
            const stage = doc.machines[0]?.stage;
            if (stage && stagesSeen[stagesSeen.length - 1] !== stage) stagesSeen.push(stage);
            return doc;
        };

        const kubectl = (args: string[]) => shOk(path.join(KUBE_BIN, "kubectl"), ["--kubeconfig", kubeconfig, ...args]);
        const items = (args: string[]): KubeItem[] => JSON.parse(kubectl([...args, "-o", "json"])).items;
        const dockerImages = () =>
            shOk("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"])
                .split("\n")
                .filter((l) => l && !l.includes("<none>"));

        beforeAll(async () => {
            ws = programWorkspace();
            // The real tools, first on PATH; no stand-in anywhere on it.
            const bin = path.join(ws.tmp, "real-bin");
            fs.mkdirSync(bin);
            fs.symlinkSync(KIND, path.join(bin, "kind"));
            fs.symlinkSync(CLUSTERCTL, path.join(bin, "clusterctl"));
            fs.symlinkSync(path.join(KUBE_BIN, "kubectl"), path.join(bin, "kubectl"));
            const rest = (ws.env.PATH ?? "").split(":").filter((dir) => !dir.includes(`${path.sep}stand-ins`));
            ws.env.PATH = [bin, ...rest].join(":");
            delete ws.env.CAPT_E2E_STATE;

            const osie = bundleImage("capt-playground.local/captain/artifacts:");
            const kernel = imageLabel(path.join(BUNDLE, osie.file), "org.capt-playground.kernel-version");
            expect(kernel).toMatch(/^\d+\.\d+\.\d+$/);
            const name = `real${uniqueToken(5)}`;
            const config: RawConfig = {
                hardwareCount: "1",
                controlPlanes: "1",
                workers: "0",
                preflight: "true",
                offlineBundle: BUNDLE,
                domainType: "qemu",
                vmGraphics: "none",
                cni: "none",
                waitForWorkload: "false",
                kindNodeImage: bundleImage("kindest/node:").ref,
                tinkerbellVersion: "v0.25.0",
                captainosImage: osie.ref,
                captainosKernelVersion: kernel,
                vbmcImage: bundleImage("capt-e2e/virtualbmc:").ref,
                storageDir: path.join(ws.tmp, "pool"),
                outputDir: path.join(ws.tmp, "out"),
                networkSubnet: "10.230.0.0/16",
                podCidr: "10.231.0.0/16",
                serviceCidr: "10.232.0.0/16",
                kindPodCidr: "10.233.0.0/16",
                kindServiceCidr: "10.234.0.0/16",
            };
            stack = new ProgramStack(ws, name, config);
            await stack.init();
            untagStaleHostImages();
            imagesBefore = dockerImages();
        }, 10 * 60_000);

        afterAll(async () => {
            if (!stack) return;
            // Whatever a failed step left: the product's own destroy, then the suite's sweep.
            const leftover = await stack.remove();
            if (leftover) console.log(`real lab: destroy after the suite failed: ${leftover.slice(-2000)}`);
            sh(KIND, ["delete", "cluster", "--name", stack.plan.kind.clusterName]);
            console.log(
                `${timings.line("real lab timings")}; first machine, seconds from the start of up: ${JSON.stringify(milestones)}`,
            );
        }, 20 * 60_000);

        async function timed(label: string, result: Promise<RunResult>): Promise<RunResult> {
            const done = await result;
            timings.record(label, done);
            return done;
        }

        step("1. preview and npm run up bring the management plane up from the bundle, preflight on", async () => {
            const preview = expectSuccess(await timed("preview", stack.run(["preview"])));
            expect(preview.stdout).toMatch(/capt-playground:index:KindCluster/);
            upStarted = Date.now();
            const up = expectSuccess(await timed("up", stack.lab("up", [], { timeoutMs: 40 * 60_000 })));
            // The preflight ran (as users run it) and found nothing in the way.
            expect(up.stdout).toMatch(/\b0 errors, \d+ warnings?\b/);
            kubeconfig = path.join(stack.plan.outputDir, "kind.kubeconfig");
            expect(fs.existsSync(kubeconfig)).toBe(true);

            // The KinD node: a container of the real node image on the lab network, in docker's range.
            const node = `${stack.plan.kind.clusterName}-control-plane`;
            const inspect = JSON.parse(shOk("docker", ["inspect", node]))[0];
            expect(inspect.Config.Image).toBe(stack.config.kindNodeImage);
            const networks = inspect.NetworkSettings.Networks as Record<string, { IPAddress: string }>;
            expect(Object.keys(networks)).toEqual([stack.plan.network.name]);
            // At the address the plan leaves docker for KinD nodes (the machines, the VIPs and the
            // BMC hold the rest of the subnet).
            const nodeIp = new Address4(networks[stack.plan.network.name].IPAddress);
            expect({
                nodeIp: nodeIp.address,
                inRange: nodeIp.isInSubnet(new Address4(stack.plan.network.dockerRange)),
            }).toEqual({
                nodeIp: nodeIp.address,
                inRange: true,
            });
            // The product's kind config, as kubeadm got it: the stack's pod and service subnets.
            const kubeadm = kubectl(["-n", "kube-system", "get", "configmap", "kubeadm-config", "-o", "yaml"]);
            expect(kubeadm).toContain(`podSubnet: ${stack.plan.kind.podSubnet}`);
            expect(kubeadm).toContain(`serviceSubnet: ${stack.plan.kind.serviceSubnet}`);
            // The kubelet runs on this cgroup-v1 host because the kind config lets it.
            const kubelet = shOk("docker", ["exec", node, "cat", "/var/lib/kubelet/config.yaml"]);
            expect(kubelet).toMatch(/failCgroupV1: false/);

            // Every pod Running with every container Ready, none restarted, every image from the bundle.
            const pods = items(["get", "pods", "-A"]);
            const notReady = pods
                .filter((pod) => {
                    const status = pod.status as {
                        phase: string;
                        containerStatuses?: { ready: boolean; restartCount: number }[];
                    };
                    return status.phase !== "Running" || !(status.containerStatuses ?? []).every((c) => c.ready);
                })
                .map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`);
            expect(notReady).toEqual([]);
            const events = kubectl(["get", "events", "-A", "--field-selector", "reason=Pulling", "-o", "name"]);
            expect(events.trim()).toBe("");

            // Tinkerbell's CRDs, installed by Tinkerbell itself when it started (not by the chart or Pulumi).
            const crds = items(["get", "crd"]).filter((crd) => /tinkerbell\.org$/.test(crd.metadata.name));
            expect(crds.map((crd) => crd.metadata.name).sort()).toEqual(
                expect.arrayContaining([
                    "hardware.tinkerbell.org",
                    "workflows.tinkerbell.org",
                    "jobs.bmc.tinkerbell.org",
                ]),
            );
            for (const crd of crds) {
                const managers = (crd.metadata.managedFields ?? []).map((f) => f.manager);
                expect({ crd: crd.metadata.name, byHelm: managers.includes("helm") }).toEqual({
                    crd: crd.metadata.name,
                    byHelm: false,
                });
            }

            // clusterctl's inventory, written by the real clusterctl at the versions the bundle holds.
            const providers = items(["get", "providers.clusterctl.cluster.x-k8s.io", "-A"]).map(
                (p) =>
                    `${(p as unknown as { providerName: string }).providerName}@${(p as unknown as { version: string }).version}`,
            );
            expect(providers.sort()).toEqual([
                "cluster-api@v1.12.5",
                "kubeadm@v1.12.5",
                "kubeadm@v1.12.5",
                "tinkerbell@v0.7.0",
            ]);
            // The product's Cluster API objects went through every provider's webhooks (the API server
            // calls them on create), so those answer.
            const cluster = items(["get", "clusters.cluster.x-k8s.io", "-A"]);
            expect(cluster.map((c) => c.metadata.name)).toEqual([stack.plan.labName]);
            mark("up done");
        });

        step(
            "2-3. the controllers provision the VM: claimed, powered on through the BMC, network-booted from the lab, tink-agent runs its Workflow",
            async () => {
                const machine = stack.plan.machines[0];
                const ns = stack.labConfig.namespace;
                const consoleLog = path.join(consoleLogDir(stack.plan), `${machine.name}.console.log`);
                // The OSIE writes to the second serial port (Smee's console=ttyS1).
                const osieLog = path.join(consoleLogDir(stack.plan), `${machine.name}.osie.log`);
                const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "latin1") : "");
                let repaired = 0;
                let running = false;
                const deadline = Date.now() + 35 * 60_000;
                while (!running && Date.now() < deadline) {
                    const hardware = items(["-n", ns, "get", "hardware"]).find((h) => h.metadata.name === machine.name);
                    if (hardware?.metadata.labels?.["v1alpha1.tinkerbell.org/ownerName"]) mark("hardware claimed");
                    if (
                        sh("virsh", ["-c", stack.plan.libvirt.uri, "domstate", machine.name]).stdout.includes("running")
                    ) {
                        mark("powered on");
                    }
                    const firmware = read(consoleLog);
                    const osie = read(osieLog);
                    if (/iPXE/.test(firmware)) mark("iPXE");
                    if (/EFI stub: Loaded initrd/.test(firmware)) mark("OSIE loaded");
                    if (/Linux version/.test(osie)) mark("OSIE kernel");
                    if (/installed tink-agent|starting Agent/.test(osie)) mark("tink-agent");
                    for (const workflow of items(["-n", ns, "get", "workflows"])) {
                        mark("workflow created");
                        const status = (workflow.status ?? {}) as {
                            state?: string;
                            conditions?: { type: string; status: string; message?: string }[];
                            tasks?: { actions?: { executionStart?: string; state?: string }[] }[];
                        };
                        const started = (status.tasks ?? []).some((t) =>
                            (t.actions ?? []).some((a) => a.executionStart),
                        );
                        if (status.state === "RUNNING" || started) {
                            mark("workflow running");
                            running = true;
                        }
                        const raced = (status.conditions ?? []).find(
                            (c) =>
                                c.type === "BootJobSetupFailed" &&
                                c.status === "True" &&
                                /already exists/.test(c.message ?? ""),
                        );
                        if (status.state === "FAILED" && raced && repaired < 3) {
                            // Tinkerbell v0.25.0's workflow controller creates the Rufio Job, then reads a stale
                            // cache, tries again, gets "already exists" and fails the Workflow for good. CAPT
                            // makes a new Workflow once the old one and its Job are gone.
                            repaired++;
                            console.log(
                                `real lab: upstream race (Tinkerbell v0.25.0 workflow controller: "${raced.message}"); deleting Job and Workflow ${workflow.metadata.name} so CAPT recreates it`,
                            );
                            sh(path.join(KUBE_BIN, "kubectl"), [
                                "--kubeconfig",
                                kubeconfig,
                                "-n",
                                ns,
                                "delete",
                                "jobs.bmc.tinkerbell.org",
                                "--all",
                                "--wait=true",
                            ]);
                            kubectl(["-n", ns, "delete", "workflow", workflow.metadata.name, "--wait=true"]);
                        } else if (status.state === "FAILED" && !running) {
                            throw new Error(
                                `workflow ${workflow.metadata.name} FAILED: ${JSON.stringify(status.conditions)}`,
                            );
                        }
                    }
                    statusJson();
                    if (!running) await sleep(3);
                }
                expect({ milestones, running }).toEqual({ milestones: expect.any(Object), running: true });

                // The machine the product planned: Smee gave it its planned address, CAPT claimed the
                // Hardware of the control plane's role, Rufio left the domain running.
                expect(read(consoleLog)).toContain(`net0: ${machine.ip}/`);
                const claimed = items(["-n", ns, "get", "hardware"]).find((h) => h.metadata.name === machine.name);
                expect(claimed?.metadata.labels?.["v1alpha1.tinkerbell.org/ownerName"]).toMatch(/control-plane/);
                expect(sh("virsh", ["-c", stack.plan.libvirt.uri, "domstate", machine.name]).stdout.trim()).toBe(
                    "running",
                );
                const cluster = items(["-n", ns, "get", "clusters.cluster.x-k8s.io"])[0];
                expect((cluster.status as { phase?: string }).phase).toBe("Provisioned");
                // The Workflow comes from the product's template for that machine.
                const workflows = items(["-n", ns, "get", "workflows"]);
                expect(workflows.map((w) => (w.spec as { templateRef?: string }).templateRef)).toEqual(
                    workflows.map((w) => w.metadata.name),
                );

                // Each hop of the network boot, from the daemons' own records.
                const firmware = read(consoleLog);
                expect(firmware).toMatch(/iPXE/);
                expect(firmware).toMatch(
                    new RegExp(`vmlinuz-${stack.config.captainosKernelVersion}-x86_64\\.\\.\\..*ok`),
                );
                expect(firmware).toMatch(/EFI stub: Loaded initrd/);
                expect(read(osieLog)).toMatch(/Linux version/);
                const smee = kubectl(["-n", ns, "logs", "deploy/tinkerbell", "-c", "tinkerbell", "--tail=-1"]);
                expect(smee.toLowerCase()).toContain(machine.mac.toLowerCase());
                const artifacts = kubectl(["-n", ns, "logs", "deploy/hookos", "--all-containers", "--tail=-1"]);
                expect(artifacts).toMatch(
                    new RegExp(`GET /vmlinuz-${stack.config.captainosKernelVersion}-x86_64 HTTP/1\\.1" 200`),
                );
                expect(artifacts).toMatch(
                    new RegExp(`GET /initramfs-${stack.config.captainosKernelVersion}-x86_64 HTTP/1\\.1" 200`),
                );
                // Rufio powered it on through the lab's virtual BMC.
                const jobs = items(["-n", ns, "get", "jobs.bmc.tinkerbell.org"]);
                expect(jobs.length).toBeGreaterThan(0);
            },
            40 * 60_000,
        );

        step(
            "4. npm run status followed every stage; a no-change up runs nothing; no secret where it does not belong",
            async () => {
                const doc = statusJson();
                expect(doc.machines.map((m) => m.name)).toEqual([stack.plan.machines[0].name]);
                // Seen while the machine went: powered off or PXE, then its workflow.
                expect(stagesSeen).toEqual(expect.arrayContaining(["pxe", "workflow"]));
                expect(stagesSeen.indexOf("pxe")).toBeLessThan(stagesSeen.lastIndexOf("workflow"));
                const again = expectSuccess(
                    await timed("no-change up", stack.run(["up", "--yes", "--skip-preview", "--expect-no-changes"])),
                );
                observed.push({ where: "no-change up", text: again.stdout + again.stderr });

                // The lab's secrets (the BMC password, the KinD kubeconfig's key) in no form in any output, the
                // state, the containers' `docker inspect`, or the environment of any container in the node.
                const secrets: Record<string, string> = { "BMC password": await stack.output("bmcPassword") };
                const keyData = /client-key-data: (\S+)/.exec(fs.readFileSync(kubeconfig, "utf8"))?.[1] ?? "";
                pemLines(Buffer.from(keyData, "base64").toString()).forEach(
                    (line, i) => (secrets[`KinD key, line ${i + 1}`] = line),
                );
                expect(Object.keys(secrets).length).toBeGreaterThan(3);
                const node = `${stack.plan.kind.clusterName}-control-plane`;
                const containers = shOk("docker", ["exec", node, "crictl", "ps", "-q"]).trim().split("\n");
                for (const id of containers) {
                    // The whole record (its config's envs, mounts and args); some containers have no envs.
                    const record = shOk("docker", ["exec", node, "crictl", "inspect", id]);
                    observed.push({ where: `node container ${id}: crictl inspect`, text: record });
                }
                for (const name of [node, stack.plan.vbmc.containerName]) {
                    observed.push({ where: `docker inspect ${name}`, text: shOk("docker", ["inspect", name]) });
                }
                for (const file of fs.readdirSync(path.join(ws.tmp, "state"), { recursive: true }) as string[]) {
                    const full = path.join(ws.tmp, "state", file);
                    if (fs.statSync(full).isFile()) observed.push({ where: full, text: fs.readFileSync(full, "utf8") });
                }
                expect(findSecrets(secrets, observed)).toEqual([]);
            },
        );

        step("5. npm run destroy leaves nothing, and docker keeps only the images it had", async () => {
            expectSuccess(
                await timed("destroy", stack.lab("destroy", ["--yes", "--skip-preview"], { timeoutMs: 20 * 60_000 })),
            );
            expect(sh(KIND, ["get", "clusters"]).stdout).not.toContain(stack.plan.kind.clusterName);
            expect(shOk("docker", ["ps", "-a", "--format", "{{.Names}}"])).not.toContain(stack.plan.labName);
            expect(shOk("docker", ["network", "ls", "--format", "{{.Name}}"]).split("\n")).not.toContain(
                stack.plan.network.name,
            );
            expect(domainNames().filter((d) => d.startsWith(`${stack.plan.labName}-`))).toEqual([]);
            expect(poolNames()).not.toContain(stack.plan.libvirt.poolName);
            expect(fs.existsSync(stack.plan.outputDir) ? fs.readdirSync(stack.plan.outputDir) : []).toEqual([]);
            expect(dockerImages().filter((image) => !imagesBefore.includes(image))).toEqual([]);
        });
    },
);
