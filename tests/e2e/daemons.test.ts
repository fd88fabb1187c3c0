/**
 * What the program's Commands, its BMC container and its Kubernetes objects do, against REAL daemons,
 * with the product's own code. The five provider plugins of the full program (command, random, tls,
 * docker, kubernetes) cannot be obtained on the test machines, so the program cannot run under the
 * real engine; this suite does each provider's job by hand, from the same inputs the program gives it:
 *
 * - pulumi-command: every Command's script runs as the local provider runs it (`/bin/bash
 *   components/scripts/<name>.sh` from the project directory, the args builder's environment over the
 *   provider's, its stdin), via `runCommandScript` in support.ts, with the args from the exported
 *   builders (`kindCommandArgs`, `clusterctlInitArgs`, `waitKubeconfigArgs`, `registrationArgs`)
 *   resolved from their Pulumi Inputs;
 * - pulumi-kubernetes: every object of `labObjects` (the same list the components apply) goes to a
 *   real kube-apiserver by `kubectl apply --server-side`, on stdin;
 * - pulumi-docker: `labNetworkArgs` becomes `docker network create`, and the VirtualBmc component's
 *   `docker.Container` (components/virtual-bmc.ts) is mirrored field by field with the docker CLI,
 *   uploads (`bmcUploads`) copied in as the provider does (one tar per file, its mode, owner root);
 * - pulumi-tls / pulumi-random: openssl makes the certificate from the component's subject, SANs and
 *   uses; a random 16-character alphanumeric password as `RandomPassword` would.
 *
 * Real: dockerd, kube-apiserver v1.35.4 + etcd (via the kind stand-in, tests/e2e/stand-ins/kind),
 * kubectl, the locally built virtual BMC image (vbmcd + sushy-emulator), libvirtd with QEMU (TCG),
 * ipmitool. Stand-ins: `kind` (no node image) and `clusterctl` (no provider downloads), both in
 * tests/e2e/stand-ins with their reasons.
 *
 * Prerequisites (skipped with the reason printed when missing, failed under CI=true):
 *   tests/e2e/toolchain/docker.sh; tests/e2e/toolchain/kube-apiserver.sh;
 *   tests/e2e/toolchain/vbmc-image.sh (or CAPT_E2E_VBMC_IMAGE=<tag>); libvirtd (virtlogd -d;
 *   libvirtd -d); ipmitool, openssl, curl; the upstream CRDs in ../shared/schemas/crds
 *   (CAPT_SCHEMAS_DIR). Runs in about 2 minutes.
 *
 * Everything host-wide is named after a unique stack (`dmn<hex>`) or lives in a temporary directory;
 * afterAll removes it (BMC registrations, container, network, domains, pool, stand-in clusters) even
 * when a step failed. Timings are printed as one line at the end.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { clusterctlFilesArgs, clusterctlInitArgs } from "../../components/cluster-api";
import { kindCommandArgs } from "../../components/kind-cluster";
import { SECRET_FILE_PERMISSIONS } from "../../components/virtual-bmc";
import { WorkloadClusterArgs, waitKubeconfigArgs } from "../../components/workload-cluster";
import { buildDomainXml, domainSpecFor } from "../../lib/libvirt/domain-xml";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { PlannedMachine } from "../../lib/plan";
import { BMC_SECRET_NAME } from "../../lib/render/bmc";
import { clusterApiNames } from "../../lib/render/cluster-api";
import { clusterctlYaml } from "../../lib/render/clusterctl";
import { KubeObject, toYamlStream } from "../../lib/render/kube-object";
import { LabObjects, allLabObjects, labObjects } from "../../lib/render/manifests";
import {
    LIBVIRT_SOCKET_DIR,
    SUSHY_CERT_PATH,
    SUSHY_CONFIG_PATH,
    SUSHY_HTPASSWD_PATH,
    SUSHY_KEY_PATH,
    htpasswdLine,
    htpasswdSalt,
} from "../../lib/render/virtual-bmc";
import { keepBmcMedia } from "../../providers/libvirt/domain-edit";
import { domainDrift, domainFacts } from "../../providers/libvirt/domain-facts";
import {
    CAPT_CRDS,
    CLUSTER_API_CRDS,
    DaemonSession,
    LabStack,
    TINKERBELL_CRDS,
    crdFiles,
    daemonChecks,
    expectScriptOk,
    labStack,
    pollUntil,
    randomPassword,
    sshPublicKey,
    vbmcImageTag,
} from "./lab-fixture";
import {
    HttpsAnswer,
    describeE2e,
    domainState,
    httpsRequest,
    resolveInput,
    runCommandScript,
    uniqueToken,
    virshOk,
    waitFor,
} from "./support";

const session = new DaemonSession("daemons");
const {
    run,
    ok,
    kubectl,
    kubectlOk,
    runScript,
    timedAsync,
    applyObjects,
    installCrds,
    expectEstablished,
    writeKubeconfig,
} = session;

// ---------------------------------------------------------------------------------------------
// Kubernetes helpers

/** `kind.version.group` for kubectl, so an object is read back in the version it was written in. */
function resourceOf(object: KubeObject): string {
    const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
    return group ? `${object.kind.toLowerCase()}.${version}.${group}` : object.kind.toLowerCase();
}

/** Every field of `expected` is in `actual` with the same value (the server adds defaults and status). */
function expectSubset(actual: unknown, expected: unknown, where: string): void {
    if (Array.isArray(expected)) {
        expect({ where, length: (actual as unknown[])?.length }).toEqual({ where, length: expected.length });
        expected.forEach((item, i) => expectSubset((actual as unknown[])[i], item, `${where}[${i}]`));
    } else if (expected !== null && typeof expected === "object") {
        expect({ where, type: typeof actual }).toEqual({ where, type: "object" });
        for (const [key, value] of Object.entries(expected)) {
            expectSubset((actual as Record<string, unknown>)[key], value, `${where}.${key}`);
        }
    } else {
        expect({ where, value: actual }).toEqual({ where, value: expected });
    }
}

// ---------------------------------------------------------------------------------------------
// the kind stand-in's clusters

function standInDir(cluster: string): string {
    return path.join(session.env.CAPT_E2E_STATE!, "kind", cluster);
}

function kindClusters(): string[] {
    return ok("kind", ["get", "clusters"])
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
}

/** Stops a stand-in cluster's daemons by the pids it recorded (processes this suite started). */
async function stopStandIn(cluster: string): Promise<void> {
    for (const daemon of ["kube-apiserver", "etcd"]) {
        const pidFile = path.join(standInDir(cluster), `${daemon}.pid`);
        const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
        process.kill(pid, "SIGTERM");
        await waitFor(`${daemon} (${pid}) to exit`, () => !fs.existsSync(`/proc/${pid}`), 30);
    }
}

/** kind-create.sh for a stack, as the KindCluster Command runs it; returns the kubeconfig file. */
async function createManagementCluster(s: LabStack): Promise<{ kubeconfig: string; content: string }> {
    const args = await resolveInput(
        kindCommandArgs({ config: s.config, plan: s.plan, networkName: s.plan.network.name }),
    );
    const result = expectScriptOk(await runScript(`kind-create ${s.name}`, args, "create"));
    return { kubeconfig: writeKubeconfig(s.plan.kind.clusterName, result.stdout), content: result.stdout };
}

async function deleteManagementCluster(s: LabStack): Promise<void> {
    const args = await resolveInput(
        kindCommandArgs({ config: s.config, plan: s.plan, networkName: s.plan.network.name }),
    );
    expectScriptOk(await runScript(`kind-delete ${s.name}`, args, "delete"));
}

// ---------------------------------------------------------------------------------------------
// the virtual BMC

/** `ipmitool -I lanplus` against one machine's BMC; the password travels in IPMI_PASSWORD (-E). */
function ipmi(bmc: string, machine: PlannedMachine, user: string, password: string, args: string[]) {
    return session.ipmitool(bmc, machine.bmcPort, user, password, args);
}

/** `<os><boot dev=…>` of the persistent definition, in order. */
function bootDevices(domain: string): string[] {
    const xml = virshOk("dumpxml", "--inactive", domain);
    const os = /<os[^>]*>([\s\S]*?)<\/os>/.exec(xml)?.[1] ?? "";
    return [...os.matchAll(/<boot dev='([^']+)'\/>/g)].map((m) => m[1]);
}

/** HTTPS GET, verifying the server against `ca` (the uploaded certificate, IP SAN). */
function httpsGet(url: string, ca: string, auth?: string): Promise<HttpsAnswer> {
    return httpsRequest("GET", url, { ca, auth, timeoutMs: 10_000 });
}

/** HTTPS request with a JSON body (Redfish PATCH / POST actions), verifying the server against `ca`. */
function httpsJson(method: string, url: string, ca: string, auth: string, body: unknown): Promise<HttpsAnswer> {
    return httpsRequest(method, url, { ca, auth, json: body });
}

/** A one-file HTTP server on `host` (an ephemeral port), recording the requests it answered. */
async function serveFile(
    host: string,
    urlPath: string,
    content: Buffer,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
    const requests: string[] = [];
    const server = http.createServer((request, response) => {
        requests.push(`${request.method} ${request.url}`);
        if (request.url !== urlPath) {
            response.writeHead(404).end();
            return;
        }
        response.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": content.length });
        response.end(content);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, host, resolve);
    });
    const { port } = server.address() as { port: number };
    return {
        url: `http://${host}:${port}${urlPath}`,
        requests,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

/** Source files of the domain's cdrom disks in its persistent definition. */
function cdroms(domain: string): string[] {
    const xml = virshOk("dumpxml", "--inactive", domain);
    return [...xml.matchAll(/<disk type='file' device='cdrom'>[^]*?<\/disk>/g)].map(
        ([disk]) => /<source file='([^']+)'/.exec(disk)?.[1] ?? "",
    );
}

/** Volume names of a pool. */
function volumeNames(pool: string): string[] {
    return virshOk("vol-list", pool)
        .split("\n")
        .map((line) => line.trim().split(/\s+/)[0])
        .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------

describeE2e(
    "the program's Commands, BMC container and Kubernetes objects against real daemons",
    daemonChecks(["ipmitool", "openssl", "curl"]),
    () => {
        const token = uniqueToken();
        const password = randomPassword();
        const sshKey = sshPublicKey();
        let vbmcImage = "";
        let dev: LabStack;
        let big: LabStack;
        let bmc: LabStack;
        let devManagement: { kubeconfig: string; content: string } | undefined;

        beforeAll(() => {
            vbmcImage = vbmcImageTag();
            session.start("capt-daemons-");
            const tmp = session.tmp;
            dev = labStack("dev", { outputDir: path.join(tmp, "out-dev") });
            big = labStack("k8s-1-35-3", { workers: 2, outputDir: path.join(tmp, "out-big") });
            bmc = labStack(
                `dmn${token}`,
                {
                    outputDir: path.join(tmp, "out-bmc"),
                    storageDir: path.join(tmp, "pool"),
                    networkSubnet: session.freeSubnet(),
                    domainType: "qemu",
                },
                "dev",
            );
        });

        // The registrations' delete step (vbmc-unregister.sh), what the docker provider removes, the stack's
        // domains and pool, every stand-in cluster of this run; then the timings.
        afterAll(() => session.cleanUp());

        test("1. KinD: kind-create.sh makes the management cluster, idempotently; kind-delete.sh removes it", async () => {
            const args = await resolveInput(
                kindCommandArgs({ config: dev.config, plan: dev.plan, networkName: dev.plan.network.name }),
            );
            const cluster = dev.plan.kind.clusterName;
            expect(args.environment?.KIND_CLUSTER_NAME).toBe(cluster);

            const first = expectScriptOk(await runScript("kind-create", args, "create"));
            expect(first.stdout).toMatch(/^apiVersion: v1\nkind: Config\n/);
            expect(first.stderr).toContain(`creating cluster ${cluster} on docker network ${dev.plan.network.name}`);
            // The kubeconfig (stdout) is never echoed to stderr, which the Command streams.
            expect(first.stderr).not.toContain("client-key-data");
            const kubeconfig = writeKubeconfig(cluster, first.stdout);
            expect(kubectlOk(kubeconfig, ["get", "--raw=/readyz"]).trim()).toBe("ok");
            // The stand-in got the rendered kind config on stdin and the network in the environment.
            expect(fs.readFileSync(path.join(standInDir(cluster), "config.yaml"), "utf8").trim()).toBe(
                (args.stdin ?? "").trim(),
            );
            expect(fs.readFileSync(path.join(standInDir(cluster), "network"), "utf8").trim()).toBe(
                dev.plan.network.name,
            );

            const second = expectScriptOk(await runScript("kind-create again", args, "create"));
            expect(second.stdout).toBe(first.stdout);
            expect(second.stderr).toContain(`cluster ${cluster} already exists; not creating it again`);
            expect(kindClusters()).toEqual([cluster]);

            const removed = expectScriptOk(await runScript("kind-delete", args, "delete"));
            expect(removed.stderr).toContain(`deleting cluster ${cluster}`);
            expect(kindClusters()).toEqual([]);
            expect(fs.existsSync(standInDir(cluster))).toBe(false);
            expect(kubectl(kubeconfig, ["--request-timeout=5s", "get", "--raw=/readyz"]).status).not.toBe(0);

            const again = expectScriptOk(await runScript("kind-delete again", args, "delete"));
            expect(again.stderr).toContain(`cluster ${cluster} does not exist; nothing to delete`);
        });

        describe("2. CRDs, then every Kubernetes object the program applies, accepted by a real API server", () => {
            const cases: [string, () => LabStack][] = [
                ["dev (1 control plane, 1 worker, 1 spare, netboot)", () => dev],
                ["k8s-1-35-3 with workers: 2 (3 control planes, 2 workers, isoboot)", () => big],
            ];
            test.each(cases)("%s", async (_, current) => {
                const s = current();
                const { kubeconfig, content } = await createManagementCluster(s);
                if (s === dev) {
                    devManagement = { kubeconfig, content };
                }
                const ns = s.config.namespace;
                const objects: LabObjects<string> = labObjects(s.config, s.plan, {
                    bmcPassword: password,
                    sshAuthorizedKey: sshKey,
                });
                const all = allLabObjects(objects);
                const machines = s.plan.machines.length;
                expect(all.filter((o) => o.kind === "Hardware")).toHaveLength(machines);
                expect(all.filter((o) => o.kind === "Machine")).toHaveLength(machines);

                // The chart's createNamespace.
                kubectlOk(kubeconfig, ["create", "namespace", ns]);

                // Before the CRDs: the API server has no such kinds (why the inventory waits for the chart).
                const hardware = objects.inventory.find((o) => o.kind === "Hardware") as KubeObject;
                const early = applyObjects(kubeconfig, [hardware]);
                expect(early.status).not.toBe(0);
                expect(early.stderr).toMatch(/no matches for kind "Hardware" in version "tinkerbell.org\/v1alpha1"/);

                await timedAsync(`crds-tinkerbell ${s.name}`, () => installCrds(kubeconfig, TINKERBELL_CRDS));
                const inventory = applyObjects(kubeconfig, objects.inventory);
                expect({ status: inventory.status, stderr: inventory.stderr }).toEqual({ status: 0, stderr: "" });
                expect(inventory.stdout.trim().split("\n")).toHaveLength(objects.inventory.length);

                // Cluster API objects before clusterctl init: rejected (why they wait for the ClusterApi Command).
                const tooEarly = applyObjects(kubeconfig, objects.clusterApi);
                expect(tooEarly.status).not.toBe(0);
                expect(tooEarly.stderr).toMatch(/no matches for kind "\w+" in version "[a-z.-]*cluster.x-k8s.io\//);

                await timedAsync(`crds-capi ${s.name}`, () =>
                    installCrds(kubeconfig, [...CLUSTER_API_CRDS, ...CAPT_CRDS]),
                );
                const clusterApi = applyObjects(kubeconfig, objects.clusterApi);
                expect({ status: clusterApi.status, stderr: clusterApi.stderr }).toEqual({ status: 0, stderr: "" });
                expect(clusterApi.stdout.trim().split("\n")).toHaveLength(objects.clusterApi.length);
                for (const line of [...inventory.stdout.split("\n"), ...clusterApi.stdout.split("\n")].filter(
                    Boolean,
                )) {
                    expect(line).toMatch(/ serverside-applied$/);
                }

                // Negative controls: the API server really enforces the schemas' CEL rules and unknown fields
                // (server-side apply rejects fields the schema does not declare), so "accepted" above means something.
                if (s === dev) {
                    const broken = JSON.parse(JSON.stringify(hardware)) as KubeObject & {
                        spec: { interfaces: { dhcp: Record<string, unknown> }[] };
                    };
                    broken.spec.interfaces[0].dhcp.tftp_server_name = "10.0.0.1";
                    const cel = kubectl(
                        kubeconfig,
                        ["apply", "--server-side", "--dry-run=server", "-f", "-"],
                        toYamlStream([broken]),
                    );
                    expect(cel.status).not.toBe(0);
                    expect(cel.stderr).toContain(
                        "TFTPServerName and BootFileName must both be specified or both be empty",
                    );
                    const unknown = { ...hardware, spec: { ...(hardware.spec as object), bogusField: true } };
                    const strict = kubectl(
                        kubeconfig,
                        ["apply", "--server-side", "--dry-run=server", "-f", "-"],
                        toYamlStream([unknown]),
                    );
                    expect(strict.status).not.toBe(0);
                    expect(strict.stderr).toContain(".spec.bogusField: field not declared in schema");
                }

                // Read back, in the version each was written in: everything sent is stored as sent.
                for (const object of all) {
                    const stored = JSON.parse(
                        kubectlOk(kubeconfig, [
                            "get",
                            resourceOf(object),
                            object.metadata.name,
                            "-n",
                            ns,
                            "-o",
                            "json",
                        ]),
                    ) as Record<string, unknown> & { data?: Record<string, string> };
                    if (object.kind === "Secret") {
                        const { stringData, ...rest } = object as unknown as { stringData: Record<string, string> };
                        expectSubset(stored, rest, `Secret ${object.metadata.name}`);
                        const decoded = Object.fromEntries(
                            Object.entries(stored.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
                        );
                        expect(decoded).toEqual(stringData);
                    } else {
                        expectSubset(stored, object, `${object.kind} ${object.metadata.name}`);
                    }
                }

                // Key fields, as a user would look at them.
                const get = (resource: string, name: string, jsonpath: string) =>
                    kubectlOk(kubeconfig, ["get", resource, name, "-n", ns, "-o", `jsonpath=${jsonpath}`]);
                for (const machine of s.plan.machines) {
                    expect(get("hardware.tinkerbell.org", machine.name, "{.spec.interfaces[0].dhcp.mac}")).toBe(
                        machine.mac,
                    );
                    expect(get("hardware.tinkerbell.org", machine.name, "{.spec.interfaces[0].dhcp.ip.address}")).toBe(
                        machine.ip,
                    );
                    expect(
                        get("hardware.tinkerbell.org", machine.name, "{.metadata.labels.tinkerbell\\.org/role}"),
                    ).toBe(machine.role);
                    expect(
                        get(
                            "machines.bmc.tinkerbell.org",
                            machine.name,
                            "{.spec.connection.host}:{.spec.connection.port}",
                        ),
                    ).toBe(`${s.plan.vbmc.ip}:${machine.bmcPort}`);
                }
                const names = clusterApiNames(s.plan);
                expect(get("clusters.cluster.x-k8s.io", names.cluster, "{.spec.controlPlaneEndpoint.host}")).toBe(
                    s.plan.vips.controlPlane,
                );
                expect(
                    get("kubeadmcontrolplanes.controlplane.cluster.x-k8s.io", names.controlPlane, "{.spec.replicas}"),
                ).toBe(String(s.config.controlPlanes));
                expect(get("machinedeployments.cluster.x-k8s.io", names.workerPool, "{.spec.replicas}")).toBe(
                    String(s.config.workers),
                );
                const bootModes = kubectlOk(kubeconfig, [
                    "get",
                    "tinkerbellmachinetemplates.infrastructure.cluster.x-k8s.io",
                    "-n",
                    ns,
                    "-o",
                    "jsonpath={range .items[*]}{.spec.template.spec.bootOptions.bootMode}{'\\n'}{end}",
                ]);
                expect(new Set(bootModes.trim().split("\n"))).toEqual(new Set([s.config.bootMode]));
                expect(get("secret", BMC_SECRET_NAME, "{.type}")).toBe("kubernetes.io/basic-auth");

                // The password went on stdin only.
                for (const argv of session.argvLog) {
                    expect(argv.join(" ")).not.toContain(password);
                }
                if (s !== dev) {
                    await deleteManagementCluster(s);
                }
            });
        });

        test("3. clusterctl (stand-in): clusterctl-init.sh and clusterctl-clean.sh as the ClusterApi Command runs them", async () => {
            expect(ok("clusterctl", ["version", "-o", "short"]).trim()).toMatch(/^v1\.\d+\.\d+$/);
            const { kubeconfig, content } = await createManagementCluster(big);
            const args = await resolveInput(
                clusterctlInitArgs({ config: big.config, plan: big.plan, kubeconfig: pulumi.secret(content) }),
            );
            // The files Command runs first (init depends on it); its delete is the clean.
            const files = await resolveInput(clusterctlFilesArgs({ config: big.config, plan: big.plan }));
            expectScriptOk(await runScript("clusterctl-claim", files, "create"));
            const stateDir = big.plan.outputDir;
            expect(args.environment?.STATE_DIR).toBe(stateDir);
            expect(args.environment?.CLUSTERCTL_CONFIG_CONTENT).toBe(clusterctlYaml(big.config, big.plan));

            const init = expectScriptOk(await runScript("clusterctl-init", args, "create"));
            expect(init.stderr).toContain("clusterctl-init: management cluster initialised");
            expect(init.stderr).toContain(
                `Installing Provider="infrastructure-tinkerbell" Version="${big.config.captVersion}"`,
            );
            expect(init.stderr).not.toContain("client-key-data");
            expect(init.stdout).toBe("");
            // Its files in STATE_DIR: the config (private), clusterctl's log, its XDG directory.
            expect(fs.readFileSync(path.join(stateDir, "clusterctl.yaml"), "utf8")).toBe(
                args.environment?.CLUSTERCTL_CONFIG_CONTENT,
            );
            expect(fs.statSync(path.join(stateDir, "clusterctl.yaml")).mode & 0o777).toBe(0o600);
            expect(fs.readFileSync(path.join(stateDir, "clusterctl-init.log"), "utf8")).toContain(
                "Your management cluster has been initialized successfully!",
            );
            expect(fs.statSync(path.join(stateDir, "xdg")).isDirectory()).toBe(true);
            expect(fs.readdirSync(stateDir).sort()).toEqual(["clusterctl-init.log", "clusterctl.yaml", "xdg"]);
            // In the cluster: the CRDs the workload objects need, and the providers recorded.
            await expectEstablished(kubeconfig, crdFiles([...CLUSTER_API_CRDS, ...CAPT_CRDS]), 5);
            const inventory = session.installedProvider(kubeconfig, "infrastructure-tinkerbell");
            expect(inventory).toBe(`capt-system ${big.config.captVersion}`);
            kubectlOk(kubeconfig, ["create", "namespace", big.config.namespace]);
            const objects = labObjects(big.config, big.plan, { bmcPassword: password, sshAuthorizedKey: sshKey });
            expect(applyObjects(kubeconfig, objects.clusterApi).status).toBe(0);

            // A second `up` re-runs it (an edited script): clusterctl skips what is installed, so the
            // Provider objects the product reads are not touched (same resourceVersions).
            const installed = session.providerInventory(kubeconfig);
            expect(installed.map((l) => l.split(" ")[0])).toEqual([
                "capi-kubeadm-bootstrap-system/bootstrap-kubeadm",
                "capi-kubeadm-control-plane-system/control-plane-kubeadm",
                "capi-system/cluster-api",
                "capt-system/infrastructure-tinkerbell",
            ]);
            expectScriptOk(await runScript("clusterctl-init again", args, "create"));
            expect(session.providerInventory(kubeconfig)).toEqual(installed);

            // get kubeconfig: absent -> non-zero; present -> the Secret's `value`.
            const ns = big.config.namespace;
            const absent = run("clusterctl", [
                "get",
                "kubeconfig",
                big.plan.labName,
                "-n",
                ns,
                "--kubeconfig",
                kubeconfig,
            ]);
            expect(absent.status).not.toBe(0);
            expect(absent.stderr).toContain(`secrets "${big.plan.labName}-kubeconfig" not found`);
            const workloadKubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
            kubectlOk(
                kubeconfig,
                ["apply", "--server-side", "-f", "-"],
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Secret",
                    metadata: { name: `${big.plan.labName}-kubeconfig`, namespace: ns },
                    type: "cluster.x-k8s.io/secret",
                    data: { value: Buffer.from(workloadKubeconfig).toString("base64") },
                }),
            );
            expect(
                ok("clusterctl", ["get", "kubeconfig", big.plan.labName, "-n", ns, "--kubeconfig", kubeconfig]),
            ).toBe(workloadKubeconfig);

            // The delete step removes exactly its files, keeps anything else and the directory with it...
            fs.writeFileSync(path.join(stateDir, "kind.kubeconfig"), "x", { mode: 0o600 });
            const clean = expectScriptOk(await runScript("clusterctl-clean", files, "delete"));
            expect(clean.stderr).toContain(`removed clusterctl's files from ${stateDir}`);
            expect(fs.readdirSync(stateDir)).toEqual(["kind.kubeconfig"]);
            // ...and the directory too once it is empty; a second run is fine.
            fs.rmSync(path.join(stateDir, "kind.kubeconfig"));
            expectScriptOk(await runScript("clusterctl-init 3rd", args, "create"));
            const clean2 = expectScriptOk(await runScript("clusterctl-clean 2nd", files, "delete"));
            expect(clean2.stderr).toContain(`removed the empty directory ${stateDir}`);
            expect(fs.existsSync(stateDir)).toBe(false);
            const clean3 = expectScriptOk(await runScript("clusterctl-clean 3rd", files, "delete"));
            expect(clean3.stderr).toContain("does not exist; nothing to remove");
            await deleteManagementCluster(big);
        });

        test("4. wait-kubeconfig.sh: times out with diagnostics, then waits for a real workload API server", async () => {
            expect(devManagement).toBeDefined();
            const management = devManagement!;
            const args = await resolveInput(
                waitKubeconfigArgs({
                    config: dev.config,
                    plan: dev.plan,
                    managementKubeconfig: pulumi.secret(management.content),
                } as WorkloadClusterArgs),
            );
            const cluster = dev.plan.labName;
            const ns = dev.config.namespace;
            expect(args.environment?.CLUSTER_NAME).toBe(cluster);
            expect(args.environment?.TIMEOUT_SECONDS).toBe(String(dev.config.workloadTimeoutMinutes * 60));

            // (a) No kubeconfig Secret yet: a short budget (the real one is workloadTimeoutMinutes) runs out.
            const timeout = await runScript("wait-kubeconfig timeout", args, "create", {
                overrides: { TIMEOUT_SECONDS: "4", POLL_SECONDS: "1" },
            });
            expect(timeout.code).toBe(1);
            expect(timeout.stdout).toBe("");
            expect(timeout.stderr).toContain(
                `wait-kubeconfig: timed out after 4s waiting for the kubeconfig of cluster ${cluster} in namespace ${ns}.`,
            );
            expect(timeout.stderr).toContain(
                `Last error: clusterctl: Error: failed to get kubeconfig for cluster "${cluster}"`,
            );
            expect(timeout.stderr).toContain(`kubectl get workflows -n ${ns}`);
            expect(timeout.stderr).toContain(`clusterctl describe cluster ${cluster} -n ${ns}`);
            expect(timeout.stderr).toContain(`${dev.plan.libvirt.storageDir}/*.console.log`);
            expect(timeout.seconds).toBeLessThan(30);

            // (b) The Secret exists and points at a second API server that is not running yet.
            const workloadName = `${cluster}-workload`;
            const { file: workloadFile, content: workloadKubeconfig } = session.startCluster(workloadName);
            await stopStandIn(workloadName);
            expect(kubectl(workloadFile, ["--request-timeout=3s", "get", "--raw=/readyz"]).status).not.toBe(0);
            kubectlOk(
                management.kubeconfig,
                ["apply", "--server-side", "-f", "-"],
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Secret",
                    metadata: {
                        name: `${cluster}-kubeconfig`,
                        namespace: ns,
                        labels: { "cluster.x-k8s.io/cluster-name": cluster },
                    },
                    type: "cluster.x-k8s.io/secret",
                    data: { value: Buffer.from(workloadKubeconfig).toString("base64") },
                }),
            );
            const started = process.hrtime.bigint();
            let stderr = "";
            const waiting = runCommandScript(args, "create", {
                baseEnv: session.env,
                overrides: { TIMEOUT_SECONDS: "120", POLL_SECONDS: "1" },
                onStderr: (soFar) => (stderr = soFar),
            });
            await waitFor(
                "the script to get the kubeconfig",
                () => stderr.includes(`got the kubeconfig of ${cluster}`),
                30,
            );
            await waitFor("a failed /readyz attempt", () => stderr.includes("not there yet"), 30);
            await new Promise((resolve) => setTimeout(resolve, 3000));
            expect(waiting.child.exitCode).toBeNull(); // still waiting: the kubeconfig exists, the API does not answer
            expect(stderr).toMatch(/not there yet after \d+s \(kubectl: .*\)/);

            // The workload API server comes up (the stand-in starts it again from its data and certificates).
            const restart = run("kind", ["start", "cluster", "--name", workloadName]);
            expect(restart.stderr).toContain(`Starting stopped cluster "${workloadName}" again`);
            const done = await waiting.done;
            session.timings.push(["wait-kubeconfig until API", Number(process.hrtime.bigint() - started) / 1e9]);
            expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
            expect(done.stdout).toBe(`${workloadKubeconfig.replace(/\n+$/, "")}\n`);
            expect(done.stderr).toMatch(new RegExp(`the API server of ${cluster} answers after \\d+s`));
            // Neither kubeconfig in stderr (the Command streams it).
            for (const secretText of [workloadKubeconfig, management.content]) {
                const key = /client-key-data: (\S+)/.exec(secretText)![1];
                expect(done.stderr).not.toContain(key);
            }
            expect(done.stderr).not.toContain("client-key-data");
            expect(kubectlOk(workloadFile, ["get", "--raw=/readyz"]).trim()).toBe("ok");
            await deleteManagementCluster(dev);
            ok("kind", ["delete", "cluster", "--name", workloadName]);
            expect(kindClusters()).not.toContain(dev.plan.kind.clusterName);
            expect(kindClusters()).not.toContain(workloadName);
        });

        test("5. the virtual BMC: network, container, registrations; IPMI and Redfish drive the libvirt domains", async () => {
            const { config, plan } = bmc;
            const username = config.bmcUsername;
            const bmcIp = plan.vbmc.ip;

            // The LabNetwork's docker.Network, done with the docker CLI.
            const net = await session.createLabNetwork(plan);
            const inspectedNet = JSON.parse(ok("docker", ["network", "inspect", net.name!]))[0];
            expect(inspectedNet.IPAM.Config).toEqual([
                expect.objectContaining({
                    Subnet: plan.network.subnet,
                    Gateway: plan.network.gateway,
                    IPRange: plan.network.dockerRange,
                }),
            ]);
            expect(inspectedNet.Options["com.docker.network.bridge.name"]).toBe(plan.network.bridge);
            expect(ok("ip", ["-4", "addr", "show", "dev", plan.network.bridge])).toContain(
                `inet ${plan.network.gateway}/${plan.network.prefixLength}`,
            );

            // The Machines component's pool, volumes and domains (disks are tiny: nothing boots from them).
            session.createPool(plan);
            const xmls = session.defineDomains(config, plan);
            for (const [i, machine] of plan.machines.entries()) {
                expect(xmls[i]).toMatch(/^<domain type="qemu">/);
                expect(domainState(machine.name)).toBe("shut off");
                expect(bootDevices(machine.name)).toEqual(["network", "hd"]);
            }

            // The tls provider's key and self-signed certificate, with the component's subject, SANs and uses.
            const { uploads, tlsCertPem } = await session.virtualBmcUploads(config, plan, password);
            expect(uploads.map((u) => u.file)).toEqual([
                SUSHY_CONFIG_PATH,
                SUSHY_HTPASSWD_PATH,
                SUSHY_KEY_PATH,
                SUSHY_CERT_PATH,
            ]);

            // The VirtualBmc component's docker.Container, field by field, then its uploads before the first start.
            const containerName = plan.vbmc.containerName;
            const containerId = session.createBmcContainer(plan, net.name!, vbmcImage, uploads);

            // One registration Command per machine (vbmc-register.sh), then once more: up to date.
            const registered = await session.registerBmcs(config, plan, password, containerId);
            for (const { machine, result } of registered) {
                expect(result.stderr).toContain(`registered ${machine.name} on port ${machine.bmcPort}`);
                expect(result.stderr).toContain(`BMC of ${machine.name} started (port ${machine.bmcPort})`);
                expect(result.stderr).not.toContain(password);
            }
            const bmcRegistrations = registered.map(({ args }) => args);
            const rerun = expectScriptOk(await runScript("vbmc-register again", bmcRegistrations[0], "create"));
            expect(rerun.stderr).toContain(`registration of ${plan.machines[0].name} is up to date`);

            // IPMI, from the host through the lab bridge, per machine on its planned port.
            for (const machine of plan.machines) {
                const status = await pollUntil(
                    () => ipmi(bmcIp, machine, username, password, ["power", "status"]),
                    (answer) => answer.status === 0,
                );
                expect({ machine: machine.name, out: status?.stdout.trim() }).toEqual({
                    machine: machine.name,
                    out: "Chassis Power is off",
                });
                const wrong = ipmi(bmcIp, machine, username, `${password}x`, ["power", "status"]);
                expect(wrong.status).not.toBe(0);

                // One-time boot device: vbmc rewrites <os><boot>, as Rufio's network boot needs.
                expect(ipmi(bmcIp, machine, username, password, ["chassis", "bootdev", "disk"]).status).toBe(0);
                expect(bootDevices(machine.name)).toEqual(["hd"]);
                const pxe = ipmi(bmcIp, machine, username, password, ["chassis", "bootdev", "pxe"]);
                expect(pxe.stdout).toContain("Set Boot Device to pxe");
                expect(bootDevices(machine.name)).toEqual(["network"]);

                // Power on really starts the domain (a TCG guest), power off stops it at once.
                await timedAsync(`ipmi power on/off ${machine.index}`, async () => {
                    expect(ipmi(bmcIp, machine, username, password, ["power", "on"]).status).toBe(0);
                    await waitFor(`${machine.name} running`, () => domainState(machine.name) === "running", 30);
                    expect(ipmi(bmcIp, machine, username, password, ["power", "status"]).stdout).toContain(
                        "Chassis Power is on",
                    );
                    expect(ipmi(bmcIp, machine, username, password, ["power", "off"]).status).toBe(0);
                    await waitFor(`${machine.name} shut off`, () => domainState(machine.name) === "shut off", 30);
                });
                expect(ipmi(bmcIp, machine, username, password, ["power", "status"]).stdout).toContain(
                    "Chassis Power is off",
                );
            }

            // Redfish (sushy-emulator on :443): TLS with the uploaded certificate, basic auth from the htpasswd.
            const systemsUrl = `https://${bmcIp}/redfish/v1/Systems`;
            const auth = `${username}:${password}`;
            const systems = (await pollUntil(
                () => httpsGet(systemsUrl, tlsCertPem, auth),
                (answer) => answer.status === 200,
            )) ?? { status: 0, body: "" };
            expect(systems.status).toBe(200);
            const members = (JSON.parse(systems.body) as { Members: { "@odata.id": string }[] }).Members.map(
                (m) => m["@odata.id"],
            );
            for (const machine of plan.machines) {
                const uuid = virshOk("domuuid", machine.name).trim();
                expect(members).toContain(`/redfish/v1/Systems/${uuid}`);
                const system = await httpsGet(`${systemsUrl}/${uuid}`, tlsCertPem, auth);
                expect(JSON.parse(system.body)).toEqual(
                    expect.objectContaining({ Name: machine.name, PowerState: "Off" }),
                );
            }
            expect((await httpsGet(systemsUrl, tlsCertPem, `${username}:${password}x`)).status).toBe(401);
            expect((await httpsGet(systemsUrl, tlsCertPem)).status).toBe(401);

            // Redfish boot override as bmclib's redfish provider sends it (gofish SetBoot: a PATCH of the
            // System's Boot), BootSourceOverrideMode UEFI from Rufio's efiBoot (the Hardware says uefi).
            // The isoboot BMC job: eject/insert virtual media, one-time boot from Cd, power on; netboot
            // over Redfish: Pxe. sushy rewrites the domain (set_boot_device, then set_boot_mode); it must
            // stay defined and keep libvirt's firmware auto-selection (firmware='efi', no explicit
            // <loader>: libvirt 9.0 refuses a read-only loader next to auto-selection).
            const first = plan.machines[0];
            const firstUuid = virshOk("domuuid", first.name).trim();
            const firstUrl = `${systemsUrl}/${firstUuid}`;
            // The isoboot BMC job's InsertMedia (bmclib's redfish provider: Image URL, Inserted, WriteProtected).
            // sushy-tools downloads the image, uploads it as a volume into SUSHY_EMULATOR_STORAGE_POOL — the
            // stack's pool (sushyConfig) — and adds a read-only cdrom pointing at it (libvirtdriver.py
            // _upload_image, _add_boot_image). The image is served from here on the lab bridge's gateway;
            // sushy does not look inside it, so a small file with an ISO's name stands in for the hook ISO.
            const image = Buffer.alloc(64 * 1024, "capt-e2e virtual media\n");
            const media = await serveFile(plan.network.gateway, "/hook.iso", image);
            const mediaUrl = `${firstUrl}/VirtualMedia/Cd`;
            const mediaVolume = `hook-iso-${firstUuid}.img`;
            const mediaPath = path.join(plan.libvirt.storageDir, mediaVolume);
            try {
                const inserted = await httpsJson(
                    "POST",
                    `${mediaUrl}/Actions/VirtualMedia.InsertMedia`,
                    tlsCertPem,
                    auth,
                    {
                        Image: media.url,
                        Inserted: true,
                        WriteProtected: true,
                    },
                );
                expect({ status: inserted.status, body: inserted.body }).toEqual({ status: 204, body: "" });
            } finally {
                await media.close();
            }
            expect(media.requests).toEqual(["GET /hook.iso"]);
            expect(volumeNames(plan.libvirt.poolName)).toContain(mediaVolume);
            expect(virshOk("vol-path", "--pool", plan.libvirt.poolName, mediaVolume).trim()).toBe(mediaPath);
            expect(fs.readFileSync(mediaPath).equals(image)).toBe(true);
            expect(cdroms(first.name)).toEqual([mediaPath]);
            expect(JSON.parse((await httpsGet(mediaUrl, tlsCertPem, auth)).body)).toEqual(
                expect.objectContaining({ Image: media.url, Inserted: true, WriteProtected: true }),
            );
            // The Domain provider's view of sushy's real edit: BMC-owned, so no drift, and a
            // redefinition carries the CD over (providers/libvirt/bmc-media.ts, domain-edit.ts).
            const desiredXml = buildDomainXml(domainSpecFor(config, plan, first), false);
            const withMedia = virshOk("dumpxml", "--inactive", first.name);
            const facts = (xml: string) => domainFacts(xml, OWNERSHIP_NAMESPACE);
            expect(domainDrift(facts(desiredXml), facts(withMedia))).toEqual([]);
            expect(facts(keepBmcMedia(desiredXml, withMedia)).disks).toEqual(facts(withMedia).disks);
            for (const target of ["Cd", "Pxe"]) {
                const patched = await httpsJson("PATCH", firstUrl, tlsCertPem, auth, {
                    Boot: {
                        BootSourceOverrideEnabled: "Once",
                        BootSourceOverrideTarget: target,
                        BootSourceOverrideMode: "UEFI",
                    },
                });
                expect({ target, status: patched.status, body: patched.body }).toEqual({
                    target,
                    status: 204,
                    body: "",
                });
                const xml = virshOk("dumpxml", "--inactive", first.name);
                expect(/<os[^>]*>/.exec(xml)?.[0]).toBe("<os firmware='efi'>");
                expect(xml).not.toMatch(/<loader|<nvram/);
                const boot = JSON.parse((await httpsGet(firstUrl, tlsCertPem, auth)).body).Boot;
                expect(boot).toEqual(
                    expect.objectContaining({ BootSourceOverrideTarget: target, BootSourceOverrideMode: "UEFI" }),
                );
                // libvirt starts the rewritten domain (it resolves the firmware at start), and stops it.
                await timedAsync(`redfish ${target} on/off`, async () => {
                    for (const [resetType, state] of [
                        ["On", "running"],
                        ["ForceOff", "shut off"],
                    ]) {
                        const reset = await httpsJson(
                            "POST",
                            `${firstUrl}/Actions/ComputerSystem.Reset`,
                            tlsCertPem,
                            auth,
                            {
                                ResetType: resetType,
                            },
                        );
                        expect({ resetType, status: reset.status }).toEqual({ resetType, status: 204 });
                        await waitFor(`${first.name} ${state}`, () => domainState(first.name) === state, 30);
                    }
                });
            }

            // EjectMedia drops the cdrom from the definition (_remove_boot_images) but leaves the volume in
            // the stack's pool: the Domain provider removes it with the domain (providers/libvirt/bmc-media.ts),
            // here afterAll's sweep of the pool does.
            const ejected = await httpsJson(
                "POST",
                `${mediaUrl}/Actions/VirtualMedia.EjectMedia`,
                tlsCertPem,
                auth,
                {},
            );
            expect({ status: ejected.status, body: ejected.body }).toEqual({ status: 204, body: "" });
            expect(cdroms(first.name)).toEqual([]);
            expect(JSON.parse((await httpsGet(mediaUrl, tlsCertPem, auth)).body)).toEqual(
                expect.objectContaining({ Inserted: false }),
            );
            expect(volumeNames(plan.libvirt.poolName)).toContain(mediaVolume);

            // Inside the container: secrets 0600 root, the rest 0644; nothing secret in the container's config.
            const modes = ok("docker", [
                "exec",
                containerName,
                "stat",
                "-c",
                "%n %a %u %g",
                SUSHY_CONFIG_PATH,
                SUSHY_HTPASSWD_PATH,
                SUSHY_KEY_PATH,
                SUSHY_CERT_PATH,
            ]);
            const secretMode = SECRET_FILE_PERMISSIONS.replace(/^0/, "");
            expect(modes.trim().split("\n")).toEqual([
                `${SUSHY_CONFIG_PATH} 644 0 0`,
                `${SUSHY_HTPASSWD_PATH} ${secretMode} 0 0`,
                `${SUSHY_KEY_PATH} ${secretMode} 0 0`,
                `${SUSHY_CERT_PATH} 644 0 0`,
            ]);
            const inspect = ok("docker", ["inspect", containerName]);
            expect(inspect).not.toContain(password);
            expect(inspect).not.toContain(htpasswdLine(username, password, htpasswdSalt(plan)).split(":")[1].trim());
            const c = JSON.parse(inspect)[0];
            expect(c.HostConfig.Privileged).toBe(true);
            expect(c.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
            expect(c.Mounts).toEqual([
                expect.objectContaining({ Type: "bind", Source: LIBVIRT_SOCKET_DIR, Destination: LIBVIRT_SOCKET_DIR }),
            ]);
            expect(c.NetworkSettings.Networks[net.name!].IPAddress).toBe(bmcIp);
            expect(c.Config.Labels).toEqual(
                expect.objectContaining({
                    "capt-playground.project": plan.project,
                    "capt-playground.stack": plan.stack,
                }),
            );
            for (const argv of session.argvLog) {
                expect(argv.join(" ")).not.toContain(password);
            }

            // destroy: each registration's delete step; the BMC stops answering on that port.
            for (const [i, registration] of bmcRegistrations.entries()) {
                const removed = expectScriptOk(await runScript(`vbmc-unregister ${i + 1}`, registration, "delete"));
                expect(removed.stderr).toContain(`unregistered ${plan.machines[i].name}`);
            }
            expect(ok("docker", ["exec", containerName, "vbmc", "list"])).not.toContain(plan.machines[0].name);
            const gone = ipmi(bmcIp, plan.machines[0], username, password, ["-R", "1", "-N", "1", "power", "status"]);
            expect(gone.status).not.toBe(0);
            const again = expectScriptOk(await runScript("vbmc-unregister again", bmcRegistrations[0], "delete"));
            expect(again.stderr).toContain("is not registered; nothing to do");
        });
    },
);
