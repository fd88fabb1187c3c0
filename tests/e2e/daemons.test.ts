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
import { SpawnSyncReturns, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { clusterctlInitArgs } from "../../components/cluster-api";
import { kindCommandArgs } from "../../components/kind-cluster";
import { labNetworkArgs } from "../../components/lab-network";
import { SECRET_FILE_PERMISSIONS, bmcUploads, registrationArgs } from "../../components/virtual-bmc";
import { WorkloadClusterArgs, waitKubeconfigArgs } from "../../components/workload-cluster";
import { LabConfig, RawConfig, parseLabConfig } from "../../lib/config";
import { buildDomainXml, domainSpecFor, machineVolumeName } from "../../lib/libvirt/domain-xml";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { LabPlan, PlannedMachine, planLab } from "../../lib/plan";
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
    vbmcCertificateSubject,
} from "../../lib/render/virtual-bmc";
import { projectDefaults, readProjectFile, readStackValues } from "../../lib/stack-files";
import { keepBmcMedia } from "../../providers/libvirt/domain-edit";
import { domainDrift, domainFacts } from "../../providers/libvirt/domain-facts";
import {
    PROJECT_ROOT,
    PlainCommandArgs,
    RunResult,
    describeE2e,
    domainState,
    e2eCacheRoot,
    missingDocker,
    missingLibvirt,
    resolveInput,
    runCommandScript,
    sweepLibvirt,
    uniqueToken,
    virshOk,
} from "./support";

const TOOLCHAIN = path.join(__dirname, "toolchain");
const STAND_INS = path.join(__dirname, "stand-ins");
const KUBE_VERSION = "v1.35.4";
const SCHEMAS_DIR = process.env.CAPT_SCHEMAS_DIR ?? path.resolve(PROJECT_ROOT, "..", "shared", "schemas");
const CRDS_DIR = path.join(SCHEMAS_DIR, "crds");
const PROJECT = readProjectFile(PROJECT_ROOT);
const PROJECT_NAME = PROJECT.name ?? "capt-playground";

// ---------------------------------------------------------------------------------------------
// prerequisites

let kubeBin = "";
let vbmcImage = "";

function missingKubeToolchain(): string | undefined {
    const bin = path.join(e2eCacheRoot(), "kubernetes", KUBE_VERSION, "bin");
    const build = "build it with tests/e2e/toolchain/kube-apiserver.sh";
    for (const tool of ["kube-apiserver", "kubectl", "etcd"]) {
        if (!fs.existsSync(path.join(bin, tool))) {
            return `${tool} ${KUBE_VERSION} is not in ${bin}; ${build}`;
        }
    }
    // The directory kube-apiserver.sh prints; checked here without running it (it builds when stale).
    const version = spawnSync(path.join(bin, "kube-apiserver"), ["--version"], { encoding: "utf8", timeout: 30_000 });
    if (!(version.stdout ?? "").includes(KUBE_VERSION)) {
        return `${bin}/kube-apiserver does not report ${KUBE_VERSION}; ${build}`;
    }
    kubeBin = bin;
    return undefined;
}

/**
 * Only looks: describeE2e runs every check even after one failed, and vbmc-image.sh builds when its
 * inputs changed, so the exact tag is taken in beforeAll (`vbmcImageTag`).
 */
function missingVbmcImage(): string | undefined {
    if (process.env.CAPT_E2E_VBMC_IMAGE) {
        return undefined;
    }
    const images = spawnSync("docker", ["image", "ls", "-q", "capt-e2e/virtualbmc"], { encoding: "utf8" });
    if (images.status !== 0 || images.stdout.trim() === "") {
        return "no local virtual BMC image; build it with tests/e2e/toolchain/vbmc-image.sh";
    }
    return undefined;
}

/** The local image standing in for `vbmcImage`: CAPT_E2E_VBMC_IMAGE, else what vbmc-image.sh prints (warm: < 1 s). */
function vbmcImageTag(): string {
    if (process.env.CAPT_E2E_VBMC_IMAGE) {
        return process.env.CAPT_E2E_VBMC_IMAGE;
    }
    const result = spawnSync(path.join(TOOLCHAIN, "vbmc-image.sh"), ["--no-verify"], {
        encoding: "utf8",
        timeout: 900_000,
    });
    if (result.status !== 0) {
        throw new Error(`tests/e2e/toolchain/vbmc-image.sh --no-verify failed:\n${result.stderr}`);
    }
    return result.stdout.trim();
}

function missingTools(): string | undefined {
    for (const tool of ["ipmitool", "openssl", "curl"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
            return `${tool} is not installed (Debian: apt-get install ${tool})`;
        }
    }
    if (!fs.existsSync(CRDS_DIR)) {
        return `the upstream CRDs are not at ${CRDS_DIR} (set CAPT_SCHEMAS_DIR)`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// the run's environment, processes and what they were given

let tmp = "";
let env: NodeJS.ProcessEnv = {};
/** Every argv this suite started (its own commands; the product's scripts start their own). */
const argvLog: string[][] = [];
const timings: [string, number][] = [];

function timed<T>(label: string, fn: () => T): T {
    const start = process.hrtime.bigint();
    try {
        return fn();
    } finally {
        timings.push([label, Number(process.hrtime.bigint() - start) / 1e9]);
    }
}

async function timedAsync<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
        return await fn();
    } finally {
        timings.push([label, Number(process.hrtime.bigint() - start) / 1e9]);
    }
}

function run(
    file: string,
    args: string[],
    options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
    argvLog.push([file, ...args]);
    return spawnSync(file, args, {
        encoding: "utf8",
        env: options.env ?? env,
        input: options.input,
        timeout: options.timeoutMs ?? 120_000,
    });
}

function ok(file: string, args: string[], options?: Parameters<typeof run>[2]): string {
    const result = run(file, args, options);
    if (result.status !== 0) {
        throw new Error(`${file} ${args.join(" ")} failed (${result.status}): ${result.stderr}${result.stdout}`);
    }
    return result.stdout;
}

function kubectl(kubeconfig: string, args: string[], input?: string): SpawnSyncReturns<string> {
    return run("kubectl", ["--kubeconfig", kubeconfig, ...args], { input });
}

function kubectlOk(kubeconfig: string, args: string[], input?: string): string {
    const result = kubectl(kubeconfig, args, input);
    if (result.status !== 0) {
        throw new Error(`kubectl ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
    }
    return result.stdout;
}

function describeScriptRun(result: RunResult): string {
    return `$ ${result.command}\nexit ${result.code} after ${result.seconds.toFixed(1)} s\n--- stderr\n${result.stderr}`;
}

function expectScriptOk(result: RunResult): RunResult {
    if (result.code !== 0) {
        throw new Error(`expected exit 0:\n${describeScriptRun(result)}\n--- stdout\n${result.stdout}`);
    }
    return result;
}

async function runScript(
    label: string,
    args: PlainCommandArgs,
    step: "create" | "delete",
    overrides?: Record<string, string>,
): Promise<RunResult> {
    const result = await runCommandScript(args, step, { baseEnv: env, overrides }).done;
    timings.push([label, result.seconds]);
    return result;
}

async function waitFor(what: string, check: () => boolean, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!check()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${seconds}s waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

// ---------------------------------------------------------------------------------------------
// stacks, secrets

interface Stack {
    name: string;
    config: LabConfig;
    plan: LabPlan;
}

/** Pulumi.yaml defaults, then Pulumi.<file>.yaml, then overrides: what `render` and the CLI read. */
function stack(name: string, overrides: RawConfig, file = name): Stack {
    const raw = { ...projectDefaults(PROJECT), ...(readStackValues(PROJECT_ROOT, file) ?? {}), ...overrides };
    const config = parseLabConfig(raw, { stack: name });
    return { name, config, plan: planLab(config, { project: PROJECT_NAME, stack: name, projectDir: PROJECT_ROOT }) };
}

/** As `random.RandomPassword({ length: 16, special: false })`. */
function randomPassword(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** An OpenSSH ed25519 public key line, as `tls.PrivateKey({ algorithm: "ED25519" }).publicKeyOpenssh`. */
function sshPublicKey(): string {
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]).toString("base64")}`;
}

/** A /16 in 10.0.0.0/8 that neither a host route nor a docker network uses. */
function freeSubnet(): string {
    const routes = ok("ip", ["-4", "route", "show", "table", "all"]);
    const dockerSubnets = ok("sh", [
        "-c",
        "docker network ls -q | xargs -r docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}'",
    ]);
    for (let attempt = 0; attempt < 100; attempt++) {
        const second = 150 + randomInt(100);
        const prefix = `10.${second}.`;
        if (!routes.includes(prefix) && !dockerSubnets.includes(prefix) && !routes.includes("10.0.0.0/8")) {
            return `10.${second}.0.0/16`;
        }
    }
    throw new Error("no free 10.x.0.0/16 found");
}

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

function crdFiles(prefixes: string[]): string[] {
    return fs
        .readdirSync(CRDS_DIR)
        .filter((f) => f.endsWith(".yaml") && prefixes.some((p) => f.startsWith(p)))
        .map((f) => path.join(CRDS_DIR, f));
}

const TINKERBELL_CRDS = ["tinkerbell.org_", "bmc.tinkerbell.org_"];
const CLUSTER_API_CRDS = ["cluster.x-k8s.io_", "bootstrap.cluster.x-k8s.io_", "controlplane.cluster.x-k8s.io_"];
const CAPT_CRDS = ["infrastructure.cluster.x-k8s.io_tinkerbell"];

/** What the chart (Tinkerbell, Rufio) or clusterctl (Cluster API, CAPT) would install: the upstream CRDs. */
function installCrds(kubeconfig: string, prefixes: string[]): void {
    const files = crdFiles(prefixes);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
        kubectlOk(kubeconfig, ["apply", "--server-side", "-f", file]);
    }
    expectEstablished(kubeconfig, files, 60);
}

/** Polled, not `kubectl wait`: that fails outright on a new CRD whose status has no conditions yet. */
function expectEstablished(kubeconfig: string, files: string[], seconds: number): void {
    const deadline = Date.now() + seconds * 1000;
    for (const file of files) {
        const established = () =>
            kubectl(kubeconfig, [
                "get",
                "-f",
                file,
                "-o",
                'jsonpath={.status.conditions[?(@.type=="Established")].status}',
            ]).stdout === "True";
        while (!established()) {
            if (Date.now() > deadline) {
                throw new Error(`${path.basename(file)} is not Established after ${seconds}s`);
            }
            spawnSync("sleep", ["0.2"]);
        }
    }
}

/** Objects go to the API server on stdin (never an argv); one `kubectl apply` per group, as rendered. */
function applyObjects(kubeconfig: string, objects: readonly KubeObject[]): SpawnSyncReturns<string> {
    return kubectl(kubeconfig, ["apply", "--server-side", "-f", "-"], toYamlStream(objects));
}

// ---------------------------------------------------------------------------------------------
// the kind stand-in's clusters

function standInDir(cluster: string): string {
    return path.join(env.CAPT_E2E_STATE!, "kind", cluster);
}

function kindClusters(): string[] {
    return ok("kind", ["get", "clusters"])
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
}

function writeKubeconfig(name: string, content: string): string {
    const file = path.join(tmp, `${name}.kubeconfig`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
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
async function createManagementCluster(s: Stack): Promise<{ kubeconfig: string; content: string }> {
    const args = await resolveInput(
        kindCommandArgs({ config: s.config, plan: s.plan, networkName: s.plan.network.name }),
    );
    const result = expectScriptOk(await runScript(`kind-create ${s.name}`, args, "create"));
    return { kubeconfig: writeKubeconfig(s.plan.kind.clusterName, result.stdout), content: result.stdout };
}

async function deleteManagementCluster(s: Stack): Promise<void> {
    const args = await resolveInput(
        kindCommandArgs({ config: s.config, plan: s.plan, networkName: s.plan.network.name }),
    );
    expectScriptOk(await runScript(`kind-delete ${s.name}`, args, "delete"));
}

// ---------------------------------------------------------------------------------------------
// the virtual BMC

/** `ipmitool -I lanplus` against one machine's BMC; the password travels in IPMI_PASSWORD (-E). */
function ipmi(bmc: string, machine: PlannedMachine, user: string, password: string, args: string[]) {
    return run("ipmitool", ["-I", "lanplus", "-H", bmc, "-p", String(machine.bmcPort), "-U", user, "-E", ...args], {
        env: { ...env, IPMI_PASSWORD: password },
        timeoutMs: 60_000,
    });
}

/** `<os><boot dev=…>` of the persistent definition, in order. */
function bootDevices(domain: string): string[] {
    const xml = virshOk("dumpxml", "--inactive", domain);
    const os = /<os[^>]*>([\s\S]*?)<\/os>/.exec(xml)?.[1] ?? "";
    return [...os.matchAll(/<boot dev='([^']+)'\/>/g)].map((m) => m[1]);
}

/** A one-entry tar as terraform-provider-docker builds it for an upload: the path, the mode, owner root. */
function uploadTar(file: string, content: string, mode: number): Buffer {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512, 0);
    const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "utf8");
    const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
    put(file, 0, 100); // the upload's path as given (absolute); docker extracts it below "/"
    put(octal(mode, 8), 100, 8);
    put(octal(0, 8), 108, 8); // uid
    put(octal(0, 8), 116, 8); // gid
    put(octal(body.length, 12), 124, 12);
    put(octal(0, 12), 136, 12); // mtime: the provider leaves it zero
    put("        ", 148, 8); // checksum placeholder
    put("0", 156, 1); // regular file
    put("ustar\0", 257, 6);
    put("00", 263, 2);
    let sum = 0;
    for (const byte of header) {
        sum += byte;
    }
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    const padding = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
    return Buffer.concat([header, body, padding, Buffer.alloc(1024, 0)]);
}

interface HttpAnswer {
    status: number;
    body: string;
}

/** HTTPS GET, verifying the server against `ca` (the uploaded certificate, IP SAN). */
function httpsGet(url: string, ca: string, auth?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const request = https.get(url, { ca, auth, timeout: 10_000 }, (response) => {
            let body = "";
            response.on("data", (chunk: Buffer) => (body += chunk.toString()));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error(`timeout: ${url}`)));
        request.on("error", reject);
    });
}

/** HTTPS request with a JSON body (Redfish PATCH / POST actions), verifying the server against `ca`. */
function httpsJson(method: string, url: string, ca: string, auth: string, body: unknown): Promise<HttpAnswer> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
        const request = https.request(
            url,
            {
                method,
                ca,
                auth,
                timeout: 60_000,
                headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) },
            },
            (response) => {
                let text = "";
                response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
            },
        );
        request.on("timeout", () => request.destroy(new Error(`timeout: ${method} ${url}`)));
        request.on("error", reject);
        request.end(payload);
    });
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
    [missingDocker, missingLibvirt, missingKubeToolchain, missingVbmcImage, missingTools],
    () => {
        const token = uniqueToken();
        const password = randomPassword();
        const sshKey = sshPublicKey();
        let dev: Stack;
        let big: Stack;
        let bmc: Stack;
        let devManagement: { kubeconfig: string; content: string } | undefined;
        let bmcRegistrations: PlainCommandArgs[] = [];
        let networkCreated = false;
        let containerName = "";

        beforeAll(() => {
            vbmcImage = vbmcImageTag();
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capt-daemons-"));
            // libvirt's QEMU user must reach the pool directory below it.
            fs.chmodSync(tmp, 0o755);
            env = {
                ...process.env,
                PATH: [STAND_INS, kubeBin, process.env.PATH].join(":"),
                CAPT_E2E_STATE: path.join(tmp, "stand-ins"),
                CAPT_E2E_KUBE_BIN: kubeBin,
                CAPT_SCHEMAS_DIR: SCHEMAS_DIR,
                LC_ALL: "C",
            };
            delete env.KUBECONFIG;
            dev = stack("dev", { outputDir: path.join(tmp, "out-dev") });
            big = stack("k8s-1-35-3", { workers: 2, outputDir: path.join(tmp, "out-big") });
            bmc = stack(
                `dmn${token}`,
                {
                    outputDir: path.join(tmp, "out-bmc"),
                    storageDir: path.join(tmp, "pool"),
                    networkSubnet: freeSubnet(),
                    domainType: "qemu",
                },
                "dev",
            );
        });

        afterAll(async () => {
            const problems: string[] = [];
            const attempt = async (what: string, fn: () => unknown) => {
                try {
                    await fn();
                } catch (error) {
                    problems.push(`${what}: ${(error as Error).message}`);
                }
            };
            if (bmc) {
                // The registrations' delete step (vbmc-unregister.sh), then what the docker provider removes.
                for (const registration of bmcRegistrations) {
                    await attempt("vbmc-unregister", async () => {
                        const result = await runCommandScript(registration, "delete", { baseEnv: env }).done;
                        if (result.code !== 0) throw new Error(result.stderr);
                    });
                }
                if (containerName) {
                    await attempt("docker rm", () => run("docker", ["rm", "-f", containerName]));
                }
                if (networkCreated) {
                    await attempt("docker network rm", () => ok("docker", ["network", "rm", bmc.plan.network.name]));
                }
                await attempt("libvirt sweep", () => sweepLibvirt(bmc.plan.labName));
            }
            if (tmp) {
                // Stops every stand-in cluster of this run (all live under this run's CAPT_E2E_STATE).
                await attempt("kind delete clusters --all", () => ok("kind", ["delete", "clusters", "--all"]));
                fs.rmSync(tmp, { recursive: true, force: true });
            }
            console.log(
                `daemons e2e timings: ${timings.map(([label, s]) => `${label}=${s.toFixed(1)}s`).join(" ")}` +
                    (problems.length ? `\ncleanup problems:\n${problems.join("\n")}` : ""),
            );
        });

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
            const cases: [string, () => Stack][] = [
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

                timed(`crds-tinkerbell ${s.name}`, () => installCrds(kubeconfig, TINKERBELL_CRDS));
                const inventory = applyObjects(kubeconfig, objects.inventory);
                expect({ status: inventory.status, stderr: inventory.stderr }).toEqual({ status: 0, stderr: "" });
                expect(inventory.stdout.trim().split("\n")).toHaveLength(objects.inventory.length);

                // Cluster API objects before clusterctl init: rejected (why they wait for the ClusterApi Command).
                const tooEarly = applyObjects(kubeconfig, objects.clusterApi);
                expect(tooEarly.status).not.toBe(0);
                expect(tooEarly.stderr).toMatch(/no matches for kind "\w+" in version "[a-z.-]*cluster.x-k8s.io\//);

                timed(`crds-capi ${s.name}`, () => installCrds(kubeconfig, [...CLUSTER_API_CRDS, ...CAPT_CRDS]));
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
                for (const argv of argvLog) {
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
            expectEstablished(kubeconfig, crdFiles([...CLUSTER_API_CRDS, ...CAPT_CRDS]), 5);
            const inventory = kubectlOk(kubeconfig, [
                "get",
                "configmap",
                "-n",
                "kube-system",
                "clusterctl-stand-in-inventory",
                "-o",
                "jsonpath={.data.infrastructure-tinkerbell}",
            ]);
            expect(inventory).toBe(`capt-system ${big.config.captVersion}`);
            kubectlOk(kubeconfig, ["create", "namespace", big.config.namespace]);
            const objects = labObjects(big.config, big.plan, { bmcPassword: password, sshAuthorizedKey: sshKey });
            expect(applyObjects(kubeconfig, objects.clusterApi).status).toBe(0);

            // A second `up` re-runs it (an edited script): clusterctl skips what is installed.
            const again = expectScriptOk(await runScript("clusterctl-init again", args, "create"));
            expect(again.stderr).toContain('Skipping installing "infrastructure-tinkerbell"');

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
            const clean = expectScriptOk(await runScript("clusterctl-clean", args, "delete"));
            expect(clean.stderr).toContain(`removed clusterctl's files from ${stateDir}`);
            expect(fs.readdirSync(stateDir)).toEqual(["kind.kubeconfig"]);
            // ...and the directory too once it is empty; a second run is fine.
            fs.rmSync(path.join(stateDir, "kind.kubeconfig"));
            expectScriptOk(await runScript("clusterctl-init 3rd", args, "create"));
            const clean2 = expectScriptOk(await runScript("clusterctl-clean 2nd", args, "delete"));
            expect(clean2.stderr).toContain(`removed the empty directory ${stateDir}`);
            expect(fs.existsSync(stateDir)).toBe(false);
            const clean3 = expectScriptOk(await runScript("clusterctl-clean 3rd", args, "delete"));
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
                TIMEOUT_SECONDS: "4",
                POLL_SECONDS: "1",
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
            ok("kind", ["create", "cluster", "--name", workloadName]);
            const workloadKubeconfig = ok("kind", ["get", "kubeconfig", "--name", workloadName]);
            await stopStandIn(workloadName);
            const workloadFile = writeKubeconfig(workloadName, workloadKubeconfig);
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
                baseEnv: env,
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
            const restart = run("kind", ["create", "cluster", "--name", workloadName]);
            expect(restart.stderr).toContain(`Starting stopped cluster "${workloadName}" again`);
            const done = await waiting.done;
            timings.push(["wait-kubeconfig until API", Number(process.hrtime.bigint() - started) / 1e9]);
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
            const net = await resolveInput(labNetworkArgs(plan));
            const ipam = net.ipamConfigs![0];
            const netArgs = ["network", "create", "--driver", net.driver!];
            netArgs.push("--subnet", ipam.subnet!, "--gateway", ipam.gateway!, "--ip-range", ipam.ipRange!);
            for (const [key, value] of Object.entries(net.options ?? {})) netArgs.push("-o", `${key}=${value}`);
            for (const { label, value } of net.labels ?? []) netArgs.push("--label", `${label}=${value}`);
            timed("docker network create", () => ok("docker", [...netArgs, net.name!]));
            networkCreated = true;
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
            fs.mkdirSync(plan.libvirt.storageDir, { mode: 0o755 });
            timed("pool+volumes", () => {
                virshOk("pool-define-as", plan.libvirt.poolName, "dir", "--target", plan.libvirt.storageDir);
                virshOk("pool-start", plan.libvirt.poolName);
                for (const machine of plan.machines) {
                    virshOk(
                        "vol-create-as",
                        plan.libvirt.poolName,
                        machineVolumeName(machine),
                        "16M",
                        "--format",
                        "qcow2",
                    );
                }
            });
            timed("define domains", () => {
                for (const machine of plan.machines) {
                    const xml = buildDomainXml(domainSpecFor(config, plan, machine), false);
                    expect(xml).toMatch(/^<domain type="qemu">/);
                    const file = path.join(tmp, `${machine.name}.xml`);
                    fs.writeFileSync(file, xml);
                    virshOk("define", file);
                    expect(domainState(machine.name)).toBe("shut off");
                    expect(bootDevices(machine.name)).toEqual(["network", "hd"]);
                }
            });

            // The tls provider's key and self-signed certificate, with the component's subject, SANs and uses.
            const subject = vbmcCertificateSubject(config, plan);
            const keyFile = path.join(tmp, "sushy.key");
            const certFile = path.join(tmp, "sushy.cert");
            ok("openssl", [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                String(5 * 365),
                "-subj",
                `/CN=${subject.commonName}/O=${subject.organization}`,
                "-addext",
                `subjectAltName=IP:${bmcIp},DNS:${plan.vbmc.containerName}`,
                "-addext",
                "keyUsage=critical,digitalSignature,keyEncipherment",
                "-addext",
                "extendedKeyUsage=serverAuth",
                "-keyout",
                keyFile,
                "-out",
                certFile,
            ]);
            const tlsKeyPem = fs.readFileSync(keyFile, "utf8");
            const tlsCertPem = fs.readFileSync(certFile, "utf8");
            fs.rmSync(keyFile);
            const htpasswd = pulumi.secret(htpasswdLine(username, password, htpasswdSalt(plan)));
            const uploads = await resolveInput(bmcUploads(plan, { htpasswd, tlsKeyPem, tlsCertPem }));
            expect(uploads.map((u) => u.file)).toEqual([
                SUSHY_CONFIG_PATH,
                SUSHY_HTPASSWD_PATH,
                SUSHY_KEY_PATH,
                SUSHY_CERT_PATH,
            ]);

            // The VirtualBmc component's docker.Container, field by field (components/virtual-bmc.ts):
            //   name, image (the local stand-in for config.vbmcImage), privileged, restart,
            //   networksAdvanced [{ name, ipv4Address }], mounts [bind LIBVIRT_SOCKET_DIR], envs, labels;
            // then its uploads, before the first start, as the provider does (create, copy, start).
            containerName = plan.vbmc.containerName;
            timed("docker create+upload+start", () => {
                ok("docker", [
                    "create",
                    "--name",
                    containerName,
                    "--privileged",
                    "--restart",
                    "unless-stopped",
                    "--network",
                    net.name!,
                    "--ip",
                    bmcIp,
                    "--mount",
                    `type=bind,source=${LIBVIRT_SOCKET_DIR},target=${LIBVIRT_SOCKET_DIR}`,
                    "--env",
                    `SUSHY_EMULATOR_CONFIG=${SUSHY_CONFIG_PATH}`,
                    "--label",
                    `capt-playground.project=${plan.project}`,
                    "--label",
                    `capt-playground.stack=${plan.stack}`,
                    vbmcImage,
                ]);
                for (const upload of uploads) {
                    const mode = parseInt(upload.permissions ?? "0644", 8);
                    ok("docker", ["cp", "-", `${containerName}:/`], {
                        input: uploadTar(upload.file, upload.content ?? "", mode),
                    });
                }
                ok("docker", ["start", containerName]);
            });
            const containerId = ok("docker", ["inspect", "-f", "{{.Id}}", containerName]).trim();

            // One registration Command per machine (vbmc-register.sh), then once more: up to date.
            bmcRegistrations = [];
            for (const machine of plan.machines) {
                const args = await resolveInput(
                    registrationArgs({ plan, username, password: pulumi.secret(password) }, machine, containerId),
                );
                bmcRegistrations.push(args);
                const registered = expectScriptOk(await runScript(`vbmc-register ${machine.index}`, args, "create"));
                expect(registered.stderr).toContain(`registered ${machine.name} on port ${machine.bmcPort}`);
                expect(registered.stderr).toContain(`BMC of ${machine.name} started (port ${machine.bmcPort})`);
                expect(registered.stderr).not.toContain(password);
            }
            const rerun = expectScriptOk(await runScript("vbmc-register again", bmcRegistrations[0], "create"));
            expect(rerun.stderr).toContain(`registration of ${plan.machines[0].name} is up to date`);

            // IPMI, from the host through the lab bridge, per machine on its planned port.
            for (const machine of plan.machines) {
                let status = ipmi(bmcIp, machine, username, password, ["power", "status"]);
                const deadline = Date.now() + 30_000;
                while (status.status !== 0 && Date.now() < deadline) {
                    await new Promise((resolve) => setTimeout(resolve, 500));
                    status = ipmi(bmcIp, machine, username, password, ["power", "status"]);
                }
                expect({ machine: machine.name, out: status.stdout.trim() }).toEqual({
                    machine: machine.name,
                    out: "Chassis Power is off",
                });
                const wrong = ipmi(bmcIp, machine, username, `${password}x`, ["power", "status"]);
                expect(wrong.status).not.toBe(0);

                // One-time boot device: vbmc rewrites <os><boot>, as Rufio's network boot needs.
                ok(
                    "ipmitool",
                    [
                        "-I",
                        "lanplus",
                        "-H",
                        bmcIp,
                        "-p",
                        String(machine.bmcPort),
                        "-U",
                        username,
                        "-E",
                        "chassis",
                        "bootdev",
                        "disk",
                    ],
                    { env: { ...env, IPMI_PASSWORD: password } },
                );
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
            let systems: HttpAnswer = { status: 0, body: "" };
            const redfishDeadline = Date.now() + 30_000;
            while (Date.now() < redfishDeadline) {
                try {
                    systems = await httpsGet(systemsUrl, tlsCertPem, auth);
                    if (systems.status === 200) break;
                } catch {
                    // not listening yet
                }
                await new Promise((resolve) => setTimeout(resolve, 500));
            }
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
            for (const argv of argvLog) {
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
