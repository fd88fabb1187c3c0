/**
 * One look at a running lab for `npm run status`: the objects through `kubectl` with the
 * kubeconfigs the stack wrote, the VMs' states through `virsh`. Reads only. Never throws: a part
 * that cannot be read (no kubeconfig yet, KinD gone, a CRD not installed) becomes that part's error.
 *
 * kubectl rather than a client library: the lab already needs kubectl (the preflight checks it), it
 * reads kubeconfigs exactly as the user's own `kubectl` does (exec plugins, contexts), and a client
 * library would add a large dependency tree for a handful of GETs. A kubeconfig reaches kubectl only
 * as a file named by KUBECONFIG, never in an argv. The kubeconfigs the lab wrote into its output
 * folder are read only as the lab writes them and never when they name a program to run
 * (lab-kubeconfig.ts); kubectl reads a private 0600 copy of them, and of the workload kubeconfig read
 * from its Secret, removed after the look. kubectl's errors pass through `redactKubeconfigSecrets`
 * before anyone sees them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandRunner, redactKubeconfigSecrets, run as runCommand } from "../host-facts";
import { Source, StatusContext } from "./context";
import { MAX_KUBECONFIG_BYTES, kubeconfigRunsProgram, privateKubeconfig, readLabKubeconfig } from "./lab-kubeconfig";
import {
    CapiCluster,
    CapiMachine,
    ClusterApiObjects,
    DaemonSet,
    HelmRelease,
    InstalledProvider,
    LabSnapshot,
    Node,
    Probe,
    ScalableObject,
    TinkerbellObjects,
    WorkloadObjects,
    valueOf,
} from "./objects";

/** The Tinkerbell chart's Helm release name (components/tinkerbell-stack.ts TINKERBELL_RELEASE). */
export const TINKERBELL_RELEASE = "tinkerbell";

const REQUEST_TIMEOUT_S = 10;
const PROCESS_TIMEOUT_MS = (REQUEST_TIMEOUT_S + 5) * 1000;
const VIRSH_TIMEOUT_MS = 15_000;

export const TINKERBELL_RESOURCES =
    "hardware.tinkerbell.org,workflows.tinkerbell.org,machines.bmc.tinkerbell.org,jobs.bmc.tinkerbell.org";
export const CLUSTER_API_RESOURCES =
    "clusters.cluster.x-k8s.io,machines.cluster.x-k8s.io,kubeadmcontrolplanes.controlplane.cluster.x-k8s.io,machinedeployments.cluster.x-k8s.io";
const OPERATOR_RESOURCES = [
    "coreproviders.operator.cluster.x-k8s.io",
    "bootstrapproviders.operator.cluster.x-k8s.io",
    "controlplaneproviders.operator.cluster.x-k8s.io",
    "infrastructureproviders.operator.cluster.x-k8s.io",
].join(",");

/** The kubeconfig files to read each cluster through (the stack's, or the user's for their own clusters). */
export interface KubeconfigFiles {
    management?: string;
    tinkerbell?: string;
    workload: string;
    /**
     * Which of these the lab wrote into its output folder: read only when they are as the lab writes
     * them, never when they name a program, and through a private copy (lab-kubeconfig.ts).
     */
    labWritten?: readonly string[];
}

export interface CollectOptions {
    context: StatusContext;
    files: KubeconfigFiles;
    /** clusterctl's inventory or the Cluster API Operator's objects. */
    installer: "clusterctl" | "operator";
    run?: CommandRunner;
    now?: () => Date;
}

interface Item {
    apiVersion?: string;
    kind?: string;
    metadata: { name: string };
}

/** A cluster to ask: the kubeconfig file and its content (kept only to redact kubectl's errors). */
interface Cluster {
    file: string;
    content: string;
}

/** The private copies made for one look, removed when it ends. */
type Releases = (() => void)[];

/**
 * A cluster to ask through `file`. One the lab wrote is read as lab-kubeconfig.ts allows and handed
 * to kubectl as a private copy; one the user named is read as it is. `notWritten`: the file does not
 * exist (yet).
 */
function openCluster(
    file: string | undefined,
    missing: string,
    files: KubeconfigFiles,
    releases: Releases,
): Probe<Cluster> & { notWritten?: boolean } {
    if (!file) return { error: missing };
    if (files.labWritten?.includes(file)) {
        const read = readLabKubeconfig(file);
        if ("error" in read) return read;
        const copy = privateKubeconfig(read.content, path.basename(file));
        releases.push(copy.release);
        return { value: { file: copy.file, content: read.content } };
    }
    try {
        return { value: { file, content: readUserKubeconfig(file) } };
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return {
            error:
                code === "ENOENT"
                    ? `the kubeconfig ${file} is not written yet`
                    : `the kubeconfig ${file} cannot be read (${code ?? (error as Error).message})`,
            notWritten: code === "ENOENT",
        };
    }
}

/** A kubeconfig the user named: a regular file (a FIFO would block the look for ever), read as it is. */
function readUserKubeconfig(file: string): string {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
        const stats = fs.fstatSync(fd);
        if (!stats.isFile()) throw new Error("not a regular file");
        if (stats.size > MAX_KUBECONFIG_BYTES) throw new Error(`${stats.size} bytes, not a kubeconfig`);
        return fs.readFileSync(fd, "utf8");
    } finally {
        fs.closeSync(fd);
    }
}

const KLOG_LINE = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]/;

class Kubectl {
    constructor(
        private readonly cluster: Cluster,
        private readonly run: CommandRunner,
    ) {}

    async text(args: string[]): Promise<Probe<string>> {
        const result = await this.run(
            "kubectl",
            [...args, `--request-timeout=${REQUEST_TIMEOUT_S}s`],
            PROCESS_TIMEOUT_MS,
            { KUBECONFIG: this.cluster.file },
        );
        if ("error" in result) {
            const lines = result.error.split("\n").filter((line) => !KLOG_LINE.test(line.trim()));
            const message = lines.join(" ").trim() || result.error;
            return { error: redactKubeconfigSecrets(message, this.cluster.content) };
        }
        return result;
    }

    async json<T>(args: string[]): Promise<Probe<T>> {
        const result = await this.text([...args, "-o", "json"]);
        if ("error" in result) return result;
        try {
            return { value: JSON.parse(result.value) as T };
        } catch {
            return { error: `kubectl ${args[0]} printed no JSON` };
        }
    }

    async items(resources: string, namespace?: string): Promise<Probe<Item[]>> {
        const scope = namespace ? ["-n", namespace] : ["--all-namespaces"];
        const list = await this.json<{ items?: Item[] }>(["get", resources, ...scope]);
        return "error" in list ? list : { value: list.value.items ?? [] };
    }

    async serverVersion(): Promise<Probe<string>> {
        const version = await this.json<{ serverVersion?: { gitVersion?: string } }>(["version"]);
        if ("error" in version) return version;
        const git = version.value.serverVersion?.gitVersion;
        return git ? { value: git } : { error: "the API server did not say its version" };
    }
}

function ofKind<T>(items: Item[], group: string, kind: string): T[] {
    return items.filter((i) => i.kind === kind && (i.apiVersion ?? "").split("/")[0] === group) as unknown as T[];
}

async function tinkerbellObjects(kubectl: Kubectl, namespace: string): Promise<Probe<TinkerbellObjects>> {
    const items = await kubectl.items(TINKERBELL_RESOURCES, namespace);
    if ("error" in items) return items;
    return {
        value: {
            hardware: ofKind(items.value, "tinkerbell.org", "Hardware"),
            workflows: ofKind(items.value, "tinkerbell.org", "Workflow"),
            bmcMachines: ofKind(items.value, "bmc.tinkerbell.org", "Machine"),
            bmcJobs: ofKind(items.value, "bmc.tinkerbell.org", "Job"),
        },
    };
}

async function clusterApiObjects(kubectl: Kubectl, namespace: string): Promise<Probe<ClusterApiObjects>> {
    const items = await kubectl.items(CLUSTER_API_RESOURCES, namespace);
    if ("error" in items) return items;
    return {
        value: {
            clusters: ofKind<CapiCluster>(items.value, "cluster.x-k8s.io", "Cluster"),
            machines: ofKind<CapiMachine>(items.value, "cluster.x-k8s.io", "Machine"),
            controlPlanes: ofKind<ScalableObject>(items.value, "controlplane.cluster.x-k8s.io", "KubeadmControlPlane"),
            machineDeployments: ofKind<ScalableObject>(items.value, "cluster.x-k8s.io", "MachineDeployment"),
        },
    };
}

/** Helm keeps each revision of a release in a Secret labelled owner=helm,name=<release>,status,version; only the labels are printed. */
async function helmRelease(kubectl: Kubectl, namespace: string): Promise<Probe<HelmRelease | undefined>> {
    const listed = await kubectl.text([
        "get",
        "secrets",
        "-n",
        namespace,
        "-l",
        `owner=helm,name=${TINKERBELL_RELEASE}`,
        "-o",
        'jsonpath={range .items[*]}{.metadata.labels.version} {.metadata.labels.status}{"\\n"}{end}',
    ]);
    if ("error" in listed) return listed;
    return { value: parseHelmRevisions(listed.value) };
}

/** The newest revision of "<version> <status>" lines. */
export function parseHelmRevisions(text: string): HelmRelease | undefined {
    const revisions = text
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter(([version, status]) => /^\d+$/.test(version ?? "") && !!status)
        .map(([version, status]) => ({ revision: Number(version), status }));
    return revisions.sort((a, b) => b.revision - a.revision)[0];
}

async function providers(
    kubectl: Kubectl,
    installer: CollectOptions["installer"],
): Promise<Probe<InstalledProvider[]>> {
    if (installer === "operator") {
        const items = await kubectl.items(OPERATOR_RESOURCES);
        if ("error" in items) return items;
        return {
            value: (items.value as (Item & { status?: { installedVersion?: string } })[]).map((p) => ({
                name: p.metadata.name,
                type: p.kind ?? "",
                ...(p.status?.installedVersion ? { version: p.status.installedVersion } : {}),
            })),
        };
    }
    // clusterctl's inventory: one Provider per installed provider, with its version.
    const items = await kubectl.items("providers.clusterctl.cluster.x-k8s.io");
    if ("error" in items) return items;
    return {
        value: (items.value as (Item & { providerName?: string; type?: string; version?: string })[]).map((p) => ({
            name: p.providerName ?? p.metadata.name,
            type: p.type ?? "",
            ...(p.version ? { version: p.version } : {}),
        })),
    };
}

/** `virsh list --all` (one call for every domain): name -> state, e.g. "running", "shut off". */
export function parseVirshList(text: string): Record<string, string> {
    const states: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const fields = line.trim().split(/\s+/);
        if (fields.length >= 3 && /^(\d+|-)$/.test(fields[0])) {
            states[fields[1]] = fields.slice(2).join(" ");
        }
    }
    return states;
}

async function domainStates(context: StatusContext, run: CommandRunner): Promise<Probe<Record<string, string>>> {
    const listed = await run("virsh", ["-q", "-c", context.libvirtUri, "list", "--all"], VIRSH_TIMEOUT_MS);
    return "error" in listed ? listed : { value: parseVirshList(listed.value) };
}

/**
 * The workload kubeconfig: the file `up` writes, else (before `up` got that far) the Secret Cluster
 * API keeps it in, in a private file removed after the look. A file that is there but refused is
 * that refusal, not a reason to look elsewhere.
 */
async function workloadCluster(
    files: KubeconfigFiles,
    clusterApi: Kubectl | undefined,
    context: StatusContext,
    releases: Releases,
): Promise<Probe<Cluster>> {
    const written = openCluster(files.workload, "no workload kubeconfig", files, releases);
    if ("value" in written || !written.notWritten || !clusterApi) {
        return "value" in written ? written : { error: written.error };
    }
    const secret = await clusterApi.text([
        "get",
        "secret",
        `${context.clusterName}-kubeconfig`,
        "-n",
        context.namespace,
        "-o",
        "jsonpath={.data.value}",
    ]);
    if ("error" in secret || secret.value.trim() === "") {
        return { error: "the workload cluster's kubeconfig is not there yet (no Secret from Cluster API)" };
    }
    const content = Buffer.from(secret.value.trim(), "base64").toString("utf8");
    const program = kubeconfigRunsProgram(content);
    if (program) {
        return { error: `the workload cluster's kubeconfig Secret ${program}` };
    }
    const copy = privateKubeconfig(content, "workload.kubeconfig");
    releases.push(copy.release);
    return { value: { file: copy.file, content } };
}

async function workloadObjects(kubectl: Kubectl): Promise<Probe<WorkloadObjects>> {
    const version = await kubectl.serverVersion();
    if ("error" in version) return version;
    const [nodes, daemonSets] = await Promise.all([
        kubectl.items("nodes"),
        kubectl.items("daemonsets.apps", "kube-system"),
    ]);
    if ("error" in nodes) return nodes;
    return {
        value: {
            serverVersion: version.value,
            nodes: nodes.value as unknown as Node[],
            // Without DaemonSets the CNI reads as not installed; the nodes still count.
            daemonSets: "error" in daemonSets ? [] : (daemonSets.value as unknown as DaemonSet[]),
        },
    };
}

function unreachable<T>(probe: { error: string }): Probe<T> {
    return { error: probe.error };
}

/** Takes one look at the lab. */
export async function collectSnapshot(options: CollectOptions): Promise<LabSnapshot> {
    const releases: Releases = [];
    try {
        return await look(options, releases);
    } finally {
        for (const release of releases) release();
    }
}

async function look(options: CollectOptions, releases: Releases): Promise<LabSnapshot> {
    const { context, files } = options;
    const run = options.run ?? runCommand;
    const ns = context.namespace;
    const management = openCluster(
        files.management,
        "no management kubeconfig: pass --management-kubeconfig <file>",
        files,
        releases,
    );
    const mgmt = "value" in management ? new Kubectl(management.value, run) : undefined;
    const managementVersion = mgmt ? await mgmt.serverVersion() : unreachable<string>(management as { error: string });
    const mgmtUp = "value" in managementVersion ? mgmt : undefined;

    let tinkerbellKubectl = mgmtUp;
    let tinkerbellProbe: Probe<unknown> = managementVersion;
    if (context.tinkerbellMode === "external") {
        const external = openCluster(
            files.tinkerbell,
            "no Tinkerbell kubeconfig: pass --tinkerbell-kubeconfig <file>",
            files,
            releases,
        );
        tinkerbellKubectl = "value" in external ? new Kubectl(external.value, run) : undefined;
        tinkerbellProbe = external;
    }

    let clusterApiKubectl = mgmtUp;
    let sources: LabSnapshot["sources"];
    const workload = await workloadCluster(files, mgmtUp, context, releases);
    const workloadKubectl = "value" in workload ? new Kubectl(workload.value, run) : undefined;
    // After a pivot Cluster API (and a local Tinkerbell) run in the workload cluster.
    if (context.pivot && workloadKubectl) {
        const moved = await clusterApiObjects(workloadKubectl, ns);
        if (valueOf(moved)?.clusters.some((c) => c.metadata.name === context.clusterName)) {
            clusterApiKubectl = workloadKubectl;
            const pivoted: { clusterApi: Source; tinkerbell?: Source } = { clusterApi: "workload" };
            if (context.tinkerbellMode === "local") {
                tinkerbellKubectl = workloadKubectl;
                pivoted.tinkerbell = "workload";
            }
            sources = pivoted;
        }
    }
    const [tinkerbell, clusterApi, release, installed, workloadState, domains] = await Promise.all([
        tinkerbellKubectl
            ? tinkerbellObjects(tinkerbellKubectl, ns)
            : unreachable<TinkerbellObjects>(tinkerbellProbe as { error: string }),
        clusterApiKubectl
            ? clusterApiObjects(clusterApiKubectl, ns)
            : unreachable<ClusterApiObjects>(managementVersion as { error: string }),
        context.tinkerbellMode === "local" && tinkerbellKubectl
            ? helmRelease(tinkerbellKubectl, ns)
            : unreachable<HelmRelease | undefined>(tinkerbellProbe as { error: string }),
        clusterApiKubectl
            ? providers(clusterApiKubectl, options.installer)
            : unreachable<InstalledProvider[]>(managementVersion as { error: string }),
        workloadKubectl
            ? workloadObjects(workloadKubectl)
            : unreachable<WorkloadObjects>(workload as { error: string }),
        context.vms ? domainStates(context, run) : Promise.resolve(undefined),
    ]);
    return {
        observedAt: (options.now ?? (() => new Date()))(),
        management: managementVersion,
        ...(context.tinkerbellMode === "local" ? { tinkerbellRelease: release } : {}),
        providers: installed,
        tinkerbell,
        clusterApi,
        workload: workloadState,
        ...(domains ? { domains } : {}),
        ...(sources ? { sources } : {}),
    };
}
