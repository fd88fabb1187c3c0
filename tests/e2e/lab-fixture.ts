/**
 * The fixture of the suites that drive the product's code against REAL daemons (tests/e2e/daemons.test.ts,
 * tests/e2e/modes.test.ts), doing each provider's job by hand from the program's own inputs:
 *
 * - prerequisites: docker, libvirtd, the kube-apiserver toolchain, the virtual BMC image, host tools and
 *   the upstream CRDs (`daemonChecks`);
 * - a session (`DaemonSession`): a temporary directory, the environment of the stand-ins and the kube
 *   toolchain, every argv the suite started, timings, and `cleanUp`, which removes what the session made
 *   (BMC registrations, container, network, libvirt domains and pool, stand-in clusters) even when a step
 *   failed;
 * - stacks as `render` and the CLI read them, and the secrets the random and tls providers would make;
 * - Kubernetes: clusters of the kind stand-in, the upstream CRDs (Established), objects by server-side
 *   apply on stdin;
 * - the lab's host side from the product's specs: the docker network (`labNetworkArgs`), the libvirt pool,
 *   volumes and domains (`domainSpecFor`), the VirtualBmc component's container with its uploads
 *   (`bmcUploads`), and one registration Command per machine (`registrationArgs`).
 */
import { SpawnSyncReturns, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { labNetworkArgs } from "../../components/lab-network";
import { bmcUploads, registrationArgs } from "../../components/virtual-bmc";
import { LabConfig, RawConfig, parseLabConfig } from "../../lib/config";
import { buildDomainXml, domainSpecFor, machineVolumeName } from "../../lib/libvirt/domain-xml";
import { LabPlan, PlannedMachine, planLab } from "../../lib/plan";
import { KubeObject, toYamlStream } from "../../lib/render/kube-object";
import {
    LIBVIRT_SOCKET_DIR,
    SUSHY_CONFIG_PATH,
    htpasswdLine,
    htpasswdSalt,
    vbmcCertificateSubject,
} from "../../lib/render/virtual-bmc";
import { projectDefaults, readProjectFile, readStackValues } from "../../lib/stack-files";
import {
    PROJECT_ROOT,
    PlainCommandArgs,
    RunResult,
    dockerUploadTar,
    e2eCacheRoot,
    missingDocker,
    missingLibvirt,
    resolveInput,
    runCommandScript,
    sweepLibvirt,
    virshOk,
    waitFor,
} from "./support";

const TOOLCHAIN = path.join(__dirname, "toolchain");
export const STAND_INS = path.join(__dirname, "stand-ins");
export const KUBE_VERSION = "v1.35.4";
const KUBE_BIN = path.join(e2eCacheRoot(), "kubernetes", KUBE_VERSION, "bin");
const SCHEMAS_DIR = process.env.CAPT_SCHEMAS_DIR ?? path.resolve(PROJECT_ROOT, "..", "shared", "schemas");
const CRDS_DIR = path.join(SCHEMAS_DIR, "crds");
const PROJECT = readProjectFile(PROJECT_ROOT);
const PROJECT_NAME = PROJECT.name ?? "capt-playground";

// ---------------------------------------------------------------------------------------------
// prerequisites

function missingKubeToolchain(): string | undefined {
    const build = "build it with tests/e2e/toolchain/kube-apiserver.sh";
    for (const tool of ["kube-apiserver", "kubectl", "etcd"]) {
        if (!fs.existsSync(path.join(KUBE_BIN, tool))) {
            return `${tool} ${KUBE_VERSION} is not in ${KUBE_BIN}; ${build}`;
        }
    }
    // The directory kube-apiserver.sh prints; checked here without running it (it builds when stale).
    const version = spawnSync(path.join(KUBE_BIN, "kube-apiserver"), ["--version"], {
        encoding: "utf8",
        timeout: 30_000,
    });
    if (!(version.stdout ?? "").includes(KUBE_VERSION)) {
        return `${KUBE_BIN}/kube-apiserver does not report ${KUBE_VERSION}; ${build}`;
    }
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

function missingTools(tools: string[]): string | undefined {
    for (const tool of tools) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
            return `${tool} is not installed (Debian: apt-get install ${tool})`;
        }
    }
    if (!fs.existsSync(CRDS_DIR)) {
        return `the upstream CRDs are not at ${CRDS_DIR} (set CAPT_SCHEMAS_DIR)`;
    }
    return undefined;
}

/** describeE2e's checks for a daemon suite: docker, libvirt, the kube toolchain, the BMC image, `tools` and the CRDs. */
export function daemonChecks(tools: string[]): (() => string | undefined)[] {
    return [missingDocker, missingLibvirt, missingKubeToolchain, missingVbmcImage, () => missingTools(tools)];
}

/** The local image standing in for `vbmcImage`: CAPT_E2E_VBMC_IMAGE, else what vbmc-image.sh prints (warm: < 1 s). */
export function vbmcImageTag(): string {
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

// ---------------------------------------------------------------------------------------------
// stacks, secrets, CRDs

export interface LabStack {
    name: string;
    config: LabConfig;
    plan: LabPlan;
}

/**
 * Pulumi.yaml defaults, then Pulumi.<file>.yaml, then overrides: what `render` and the CLI read. The
 * overrides count as set with `--secret` (bmcPassword, the kubeconfigs); the stack file's values do not.
 */
export function labStack(name: string, overrides: RawConfig, file = name): LabStack {
    const raw = { ...projectDefaults(PROJECT), ...(readStackValues(PROJECT_ROOT, file) ?? {}), ...overrides };
    const config = parseLabConfig(raw, { stack: name, isSecret: (key) => key in overrides });
    return { name, config, plan: planLab(config, { project: PROJECT_NAME, stack: name, projectDir: PROJECT_ROOT }) };
}

/** As `random.RandomPassword({ length: 16, special: false })`. */
export function randomPassword(): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** An OpenSSH ed25519 public key line, as `tls.PrivateKey({ algorithm: "ED25519" }).publicKeyOpenssh`. */
export function sshPublicKey(): string {
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    return `ssh-ed25519 ${Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]).toString("base64")}`;
}

export const TINKERBELL_CRDS = ["tinkerbell.org_", "bmc.tinkerbell.org_"];
export const CLUSTER_API_CRDS = ["cluster.x-k8s.io_", "bootstrap.cluster.x-k8s.io_", "controlplane.cluster.x-k8s.io_"];
export const CAPT_CRDS = ["infrastructure.cluster.x-k8s.io_tinkerbell"];

/** The upstream CRD files whose names start with one of `prefixes`. */
export function crdFiles(prefixes: string[]): string[] {
    return fs
        .readdirSync(CRDS_DIR)
        .filter((f) => f.endsWith(".yaml") && prefixes.some((p) => f.startsWith(p)))
        .map((f) => path.join(CRDS_DIR, f));
}

/** Fails naming the command and its whole output when a Command's script did not exit 0. */
export function expectScriptOk(result: RunResult): RunResult {
    if (result.code !== 0) {
        throw new Error(
            `expected exit 0:\n$ ${result.command}\nexit ${result.code} after ${result.seconds.toFixed(1)} s\n` +
                `--- stderr\n${result.stderr}\n--- stdout\n${result.stdout}`,
        );
    }
    return result;
}

/** Calls `attempt` (every 500 ms, a throw counting as a miss) until `accept` holds or `seconds` pass; the last answer. */
export async function pollUntil<T>(
    attempt: () => T | Promise<T>,
    accept: (answer: T) => boolean,
    seconds = 30,
): Promise<T | undefined> {
    const deadline = Date.now() + seconds * 1000;
    let answer: T | undefined;
    for (;;) {
        try {
            answer = await attempt();
            if (accept(answer)) return answer;
        } catch {
            // not answering yet
        }
        if (Date.now() >= deadline) return answer;
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

// ---------------------------------------------------------------------------------------------
// the session

export interface Cluster {
    name: string;
    /** The admin kubeconfig, written 0600 in the session's directory. */
    file: string;
    content: string;
}

export type RunOptions = { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number };

/**
 * One suite's run: its temporary directory and environment (`start`), the processes it starts, its
 * timings, the host-wide things it made, and `cleanUp`. The methods are bound: `const { ok } = session`.
 */
export class DaemonSession {
    tmp = "";
    env: NodeJS.ProcessEnv = {};
    /** Every argv this suite started (its own commands; the product's scripts start their own). */
    readonly argvLog: string[][] = [];
    readonly timings: [string, number][] = [];
    /** The kube toolchain's bin directory (kubectl for the product's probes that use this process's PATH). */
    readonly kubeBin = KUBE_BIN;
    private readonly registrations: PlainCommandArgs[] = [];
    private readonly containers: string[] = [];
    private readonly networks: string[] = [];
    private readonly labs = new Set<string>();

    /** `title` heads the timings line printed by cleanUp. */
    constructor(private readonly title: string) {}

    /** The temporary directory (`<tmpdir>/<prefix>…`, reachable by libvirt's QEMU user) and the environment. */
    start(prefix: string): void {
        this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
        fs.chmodSync(this.tmp, 0o755);
        this.env = {
            ...process.env,
            PATH: [STAND_INS, KUBE_BIN, process.env.PATH].join(":"),
            CAPT_E2E_STATE: path.join(this.tmp, "stand-ins"),
            CAPT_E2E_KUBE_BIN: KUBE_BIN,
            CAPT_SCHEMAS_DIR: SCHEMAS_DIR,
            // These suites move objects through their states themselves; a node-agent (and the workload
            // API servers it makes for Cluster objects) runs only under the whole program (program.test.ts).
            CAPT_E2E_NODE_AGENT: "0",
            LC_ALL: "C",
        };
        delete this.env.KUBECONFIG;
    }

    timed = <T>(label: string, fn: () => T): T => {
        const start = process.hrtime.bigint();
        try {
            return fn();
        } finally {
            this.timings.push([label, Number(process.hrtime.bigint() - start) / 1e9]);
        }
    };

    timedAsync = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
        const start = process.hrtime.bigint();
        try {
            return await fn();
        } finally {
            this.timings.push([label, Number(process.hrtime.bigint() - start) / 1e9]);
        }
    };

    run = (file: string, args: string[], options: RunOptions = {}): SpawnSyncReturns<string> => {
        this.argvLog.push([file, ...args]);
        return spawnSync(file, args, {
            encoding: "utf8",
            env: options.env ?? this.env,
            input: options.input,
            timeout: options.timeoutMs ?? 120_000,
        });
    };

    ok = (file: string, args: string[], options?: RunOptions): string => {
        const result = this.run(file, args, options);
        if (result.status !== 0) {
            throw new Error(`${file} ${args.join(" ")} failed (${result.status}): ${result.stderr}${result.stdout}`);
        }
        return result.stdout;
    };

    kubectl = (kubeconfig: string, args: string[], input?: string): SpawnSyncReturns<string> =>
        this.run("kubectl", ["--kubeconfig", kubeconfig, ...args], { input });

    kubectlOk = (kubeconfig: string, args: string[], input?: string): string => {
        const result = this.kubectl(kubeconfig, args, input);
        if (result.status !== 0) {
            throw new Error(`kubectl ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
        }
        return result.stdout;
    };

    /** A Command's step as the local provider runs it (runCommandScript), over the session's environment. */
    runScript = async (
        label: string,
        args: PlainCommandArgs,
        step: "create" | "delete",
        options: { overrides?: Record<string, string>; baseEnv?: NodeJS.ProcessEnv } = {},
    ): Promise<RunResult> => {
        const result = await runCommandScript(args, step, {
            baseEnv: options.baseEnv ?? this.env,
            overrides: options.overrides,
        }).done;
        this.timings.push([label, result.seconds]);
        return result;
    };

    /** `ipmitool -I lanplus` as bmclib's ipmitool provider calls it; the password travels in IPMI_PASSWORD (-E). */
    ipmitool = (host: string, port: number | undefined, user: string, password: string, args: string[]) =>
        this.run("ipmitool", ["-I", "lanplus", "-H", host, "-p", String(port), "-U", user, "-E", ...args], {
            env: { ...this.env, IPMI_PASSWORD: password },
            timeoutMs: 60_000,
        });

    /** A /16 in 10.0.0.0/8 that neither a host route nor a docker network uses. */
    freeSubnet = (): string => {
        const routes = this.ok("ip", ["-4", "route", "show", "table", "all"]);
        const dockerSubnets = this.ok("sh", [
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
    };

    // -----------------------------------------------------------------------------------------
    // Kubernetes

    writeKubeconfig = (name: string, content: string): string => {
        const file = path.join(this.tmp, `${name}.kubeconfig`);
        fs.writeFileSync(file, content, { mode: 0o600 });
        return file;
    };

    /** A cluster of the kind stand-in (real etcd + kube-apiserver on 127.0.0.1), with its admin kubeconfig. */
    startCluster = (name: string): Cluster => {
        this.ok("kind", ["create", "cluster", "--name", name], { timeoutMs: 300_000 });
        const content = this.ok("kind", ["get", "kubeconfig", "--name", name]);
        return { name, file: this.writeKubeconfig(name, content), content };
    };

    /** The Established condition's status of a CRD file's definition ("True" once served). */
    establishedStatus = (kubeconfig: string, file: string): string =>
        this.kubectl(kubeconfig, [
            "get",
            "-f",
            file,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ]).stdout;

    /**
     * Every file's CRD Established within `seconds` in all. Polled, not `kubectl wait`: that fails outright
     * on a new CRD whose status has no conditions yet.
     */
    expectEstablished = async (kubeconfig: string, files: string[], seconds: number): Promise<void> => {
        const deadline = Date.now() + seconds * 1000;
        for (const file of files) {
            await waitFor(
                `${path.basename(file)} Established`,
                () => this.establishedStatus(kubeconfig, file) === "True",
                Math.max(0, (deadline - Date.now()) / 1000),
            );
        }
    };

    /** What the chart (Tinkerbell, Rufio) or clusterctl (Cluster API, CAPT) would install: the upstream CRDs. */
    installCrds = async (kubeconfig: string, prefixes: string[]): Promise<void> => {
        const files = crdFiles(prefixes);
        expect(files.length).toBeGreaterThan(0);
        for (const file of files) {
            this.kubectlOk(kubeconfig, ["apply", "--server-side", "-f", file]);
        }
        await this.expectEstablished(kubeconfig, files, 60);
    };

    /** Objects go to the API server on stdin (never an argv); one `kubectl apply` per group, as rendered. */
    applyObjects = (kubeconfig: string, objects: readonly KubeObject[]): SpawnSyncReturns<string> =>
        this.kubectl(kubeconfig, ["apply", "--server-side", "-f", "-"], toYamlStream(objects));

    ensureNamespace = (kubeconfig: string, namespace: string): void => {
        this.kubectlOk(
            kubeconfig,
            ["apply", "--server-side", "-f", "-"],
            JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }),
        );
    };

    /**
     * clusterctl's inventory as the product reads it: one "<namespace>/<provider> <version> <resourceVersion>"
     * line per Provider object (providers.clusterctl.cluster.x-k8s.io), sorted.
     */
    providerInventory = (kubeconfig: string): string[] =>
        this.kubectlOk(kubeconfig, [
            "get",
            "providers.clusterctl.cluster.x-k8s.io",
            "-A",
            "-o",
            'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.version} {.metadata.resourceVersion}{"\\n"}{end}',
        ])
            .split("\n")
            .filter(Boolean)
            .sort();

    /** The Provider object `provider` as "<namespace> <version>", or "" when clusterctl has not installed it. */
    installedProvider = (kubeconfig: string, provider: string): string => {
        const line = this.providerInventory(kubeconfig).find((l) => l.split(" ")[0].endsWith(`/${provider}`));
        return line ? `${line.split("/")[0]} ${line.split(" ")[1]}` : "";
    };

    // -----------------------------------------------------------------------------------------
    // the lab's host side, from the product's specs

    /** The LabNetwork's docker.Network (labNetworkArgs), done with the docker CLI; its resolved args. */
    createLabNetwork = async (plan: LabPlan) => {
        const net = await resolveInput(labNetworkArgs(plan));
        const ipam = net.ipamConfigs![0];
        const args = ["network", "create", "--driver", net.driver!];
        args.push("--subnet", ipam.subnet!, "--gateway", ipam.gateway!, "--ip-range", ipam.ipRange!);
        for (const [key, value] of Object.entries(net.options ?? {})) args.push("-o", `${key}=${value}`);
        for (const { label, value } of net.labels ?? []) args.push("--label", `${label}=${value}`);
        this.timed("docker network create", () => this.ok("docker", [...args, net.name!]));
        this.networks.push(net.name!);
        return net;
    };

    /** The Machines component's pool and volumes (tiny: nothing boots from them). */
    createPool = (plan: LabPlan): void => {
        this.labs.add(plan.labName);
        fs.mkdirSync(plan.libvirt.storageDir, { mode: 0o755 });
        this.timed("pool+volumes", () => {
            virshOk("pool-define-as", plan.libvirt.poolName, "dir", "--target", plan.libvirt.storageDir);
            virshOk("pool-start", plan.libvirt.poolName);
            for (const machine of plan.machines) {
                virshOk("vol-create-as", plan.libvirt.poolName, machineVolumeName(machine), "16M", "--format", "qcow2");
            }
        });
    };

    /** The Machines component's domains, defined (not started); the XML of each, in the plan's order. */
    defineDomains = (config: LabConfig, plan: LabPlan): string[] => {
        this.labs.add(plan.labName);
        return this.timed("define domains", () =>
            plan.machines.map((machine) => {
                const xml = buildDomainXml(domainSpecFor(config, plan, machine), false);
                const file = path.join(this.tmp, `${machine.name}.xml`);
                fs.writeFileSync(file, xml);
                virshOk("define", file);
                return xml;
            }),
        );
    };

    /**
     * The VirtualBmc component's uploads (bmcUploads), with the tls provider's key and self-signed
     * certificate made by openssl from the component's subject, SANs and uses.
     */
    virtualBmcUploads = async (config: LabConfig, plan: LabPlan, password: string) => {
        const subject = vbmcCertificateSubject(config, plan);
        const keyFile = path.join(this.tmp, "sushy.key");
        const certFile = path.join(this.tmp, "sushy.cert");
        this.ok("openssl", [
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
            `subjectAltName=IP:${plan.vbmc.ip},DNS:${plan.vbmc.containerName}`,
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
        const htpasswd = pulumi.secret(htpasswdLine(config.bmcUsername, password, htpasswdSalt(plan)));
        const uploads = await resolveInput(bmcUploads(plan, { htpasswd, tlsKeyPem, tlsCertPem }));
        return { uploads, tlsCertPem };
    };

    /**
     * The VirtualBmc component's docker.Container, field by field (components/virtual-bmc.ts): name, image
     * (the local stand-in for config.vbmcImage), privileged, restart, networksAdvanced [{ name, ipv4Address }],
     * mounts [bind LIBVIRT_SOCKET_DIR], envs, labels; then its uploads before the first start, as the provider
     * does (create, copy one tar per file, start). Returns the container's id.
     */
    createBmcContainer = (
        plan: LabPlan,
        network: string,
        image: string,
        uploads: { file: string; content?: string; permissions?: string }[],
    ): string => {
        const name = plan.vbmc.containerName;
        this.containers.push(name);
        this.timed("docker create+upload+start", () => {
            this.ok("docker", [
                "create",
                "--name",
                name,
                "--privileged",
                "--restart",
                "unless-stopped",
                "--network",
                network,
                "--ip",
                plan.vbmc.ip,
                "--mount",
                `type=bind,source=${LIBVIRT_SOCKET_DIR},target=${LIBVIRT_SOCKET_DIR}`,
                "--env",
                `SUSHY_EMULATOR_CONFIG=${SUSHY_CONFIG_PATH}`,
                "--label",
                `capt-playground.project=${plan.project}`,
                "--label",
                `capt-playground.stack=${plan.stack}`,
                image,
            ]);
            for (const upload of uploads) {
                const mode = parseInt(upload.permissions ?? "0644", 8);
                this.ok("docker", ["cp", "-", `${name}:/`], {
                    input: dockerUploadTar(upload.file, upload.content ?? "", mode),
                });
            }
            this.ok("docker", ["start", name]);
        });
        return this.ok("docker", ["inspect", "-f", "{{.Id}}", name]).trim();
    };

    /** One registration Command per machine (vbmc-register.sh), each expected to succeed; cleanUp unregisters them. */
    registerBmcs = async (
        config: LabConfig,
        plan: LabPlan,
        password: string,
        containerId: string,
    ): Promise<{ machine: PlannedMachine; args: PlainCommandArgs; result: RunResult }[]> => {
        const registered = [];
        for (const machine of plan.machines) {
            const args = await resolveInput(
                registrationArgs(
                    { plan, username: config.bmcUsername, password: pulumi.secret(password) },
                    machine,
                    containerId,
                ),
            );
            this.registrations.push(args);
            const result = expectScriptOk(await this.runScript(`vbmc-register ${machine.index}`, args, "create"));
            registered.push({ machine, args, result });
        }
        return registered;
    };

    /**
     * Removes what the session made, even after a failed step: the registrations' delete step
     * (vbmc-unregister.sh), then what the docker provider removes (container, network), the labs' libvirt
     * domains and pools, every stand-in cluster (all live under the session's CAPT_E2E_STATE), the temporary
     * directory. Prints the timings, and any cleanup problem.
     */
    cleanUp = async (): Promise<void> => {
        const problems: string[] = [];
        const attempt = async (what: string, fn: () => unknown) => {
            try {
                await fn();
            } catch (error) {
                problems.push(`${what}: ${(error as Error).message}`);
            }
        };
        for (const registration of this.registrations) {
            await attempt("vbmc-unregister", async () => {
                const result = await runCommandScript(registration, "delete", { baseEnv: this.env }).done;
                if (result.code !== 0) throw new Error(result.stderr);
            });
        }
        for (const container of this.containers) {
            await attempt("docker rm", () => this.run("docker", ["rm", "-f", container]));
        }
        for (const network of this.networks) {
            await attempt("docker network rm", () => this.ok("docker", ["network", "rm", network]));
        }
        for (const lab of this.labs) {
            await attempt("libvirt sweep", () => sweepLibvirt(lab));
        }
        if (this.tmp) {
            await attempt("kind delete clusters --all", () => this.ok("kind", ["delete", "clusters", "--all"]));
            fs.rmSync(this.tmp, { recursive: true, force: true });
        }
        console.log(
            `${this.title} e2e timings: ${this.timings.map(([label, s]) => `${label}=${s.toFixed(1)}s`).join(" ")}` +
                (problems.length ? `\ncleanup problems:\n${problems.join("\n")}` : ""),
        );
    };
}
