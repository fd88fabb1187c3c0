/**
 * `npm run up` and `npm run destroy` after an interrupted run: the stale lock, and each create the
 * state shows as pending, handled as lib/recovery/interrupted.ts describes, with one line each
 * saying what was found and what was done. Runs before the CLI, on a file backend only (only there
 * can a lock be judged, so only there is it certain that no run is going on while the state is read).
 *
 * After `up`'s recovery every half-made object is either gone or taken over by its create, and the
 * pending records are dropped (`pulumi stack import`, which drops every pending operation): the
 * update then starts clean. `destroy`'s recovery records what the interrupted run made as
 * resources, so destroy removes them with their own providers' deletes (a Command's delete script,
 * the Pool and Domain providers' ownership-checked deletes); docker objects are removed directly.
 *
 * Tools: the same docker, virsh, kind and kubectl the lab runs. A kubeconfig goes to kubectl only as
 * a 0600 file in a private directory, removed at once; no secret is printed.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { OwnerTag } from "../libvirt/ownership";
import { redactKubeconfigSecrets } from "../host-facts";
import {
    Evidence,
    ExportedStack,
    HelmRecord,
    InterruptedCreate,
    ProcessFacts,
    StateResource,
    judgeHelmRecords,
    judgeLock,
    interruptedCreates,
    madeByInterruptedRun,
    pendingCreates,
    plainValue,
    providerUrn,
    recoveryLine,
    urnName,
    withoutPendingOperations,
} from "./interrupted";
import { checkpointHasPendingOperations, findStackLocks, hostProcesses, removeLock } from "./locks";

export interface ExecResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

export interface ExecOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    input?: string;
    timeoutMs?: number;
}

export type Exec = (file: string, args: string[], options?: ExecOptions) => Promise<ExecResult>;

/** execFile with a large buffer (a stack's export holds every dynamic provider's code) and stdin. */
export const exec: Exec = (file, args, options = {}) =>
    new Promise((resolve) => {
        const child = execFile(
            file,
            args,
            {
                env: options.env ?? process.env,
                cwd: options.cwd,
                timeout: options.timeoutMs ?? 120_000,
                maxBuffer: 512 * 1024 * 1024,
                encoding: "utf8",
            },
            (error, stdout, stderr) => {
                const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
                const missing = (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
                resolve({ code, stdout: stdout ?? "", stderr: missing ? `${file} is not installed` : (stderr ?? "") });
            },
        );
        child.stdin?.end(options.input ?? "");
    });

export interface RecoveryOptions {
    mode: "up" | "destroy";
    /** The Pulumi CLI, its environment and the project directory it runs in. */
    cli: string;
    env: NodeJS.ProcessEnv;
    cwd: string;
    project: string;
    stack: string;
    /** Flags passed through to the CLI (e.g. --config-file). */
    flags: string[];
    /** The file backend's directory; recovery runs only with one. */
    backendDir?: string;
    log: (line: string) => void;
    exec?: Exec;
    processes?: ProcessFacts;
    /** Runs the CLI for the user to watch (stdio inherited); returns its exit code. */
    runVisible: (args: string[], env: NodeJS.ProcessEnv) => number;
}

export interface RecoveryResult {
    /** False when the stack is busy (a live lock) or not on a file backend: nothing was looked at. */
    checked: boolean;
    /** Exit code of a failed adopting update; the caller stops with it. */
    failed?: number;
}

interface Outcome {
    handled: boolean;
    line: string;
    /** The resource to record in the state: destroy then deletes it, up takes it as made. */
    record?: StateResource;
}

interface Context {
    options: RecoveryOptions;
    exec: Exec;
    owner: OwnerTag;
    evidence: { since?: Date };
    state: ExportedStack;
    /** The export with secrets shown, read once when a kubeconfig is needed. */
    secretState?: ExportedStack;
    workDir: string;
}

/** Runs the recovery; never throws for what it finds on the host (it says so and leaves it). */
export async function recoverInterruptedRun(options: RecoveryOptions): Promise<RecoveryResult> {
    const none: RecoveryResult = { checked: false };
    if (!options.backendDir) {
        return none;
    }
    const log = options.log;
    const processes = options.processes ?? hostProcesses();
    let since: Date | undefined;
    for (const lock of findStackLocks(options.backendDir, options.project, options.stack)) {
        const judged = judgeLock(lock, processes);
        if (judged.verdict !== "stale") {
            log(recoveryLine(`stack ${options.stack} is locked: ${judged.why}`, "left the lock and the state alone"));
            return none;
        }
        removeLock(lock);
        log(recoveryLine(`found the lock of an interrupted run: ${judged.why}`, "removed the lock"));
        const taken = new Date(lock.timestamp);
        if (!Number.isNaN(taken.getTime()) && (!since || taken < since)) {
            since = taken;
        }
    }
    if (checkpointHasPendingOperations(options.backendDir, options.project, options.stack) === false) {
        return { checked: true };
    }
    const run = options.exec ?? exec;
    const state = await exportStack(options, run, false);
    if (!state) {
        return { checked: true };
    }
    const owner = { project: options.project, stack: options.stack };
    const creates = interruptedCreates(state.deployment, owner);
    if (creates.length === 0) {
        return { checked: true };
    }
    const workDir = fs.mkdtempSync(path.join(tempBase(options), "capt-recovery-"));
    try {
        const context: Context = { options, exec: run, owner, evidence: { since }, state, workDir };
        const outcomes: Outcome[] = [];
        for (const create of creates) {
            const outcome = await handle(create, context).catch((error: Error): Outcome => ({
                handled: false,
                line: recoveryLine(
                    `could not look at ${urnName(create.urn)} of the interrupted run (${error.message})`,
                    "left it",
                ),
            }));
            log(outcome.line);
            outcomes.push(outcome);
        }
        if (!outcomes.every((o) => o.handled)) {
            log(
                recoveryLine(
                    "some interrupted creates could not be resolved (above)",
                    "kept their records in the state; the CLI names them too",
                ),
            );
            return { checked: true };
        }
        const records = outcomes.flatMap((o) => (o.record ? [o.record] : []));
        try {
            await importWithoutPending(options, run, records);
        } catch (error) {
            log(recoveryLine(`the pending records could not be dropped (${(error as Error).message})`, "left them"));
            return { checked: true };
        }
        log(
            recoveryLine(
                `${creates.length} interrupted create${creates.length === 1 ? "" : "s"} resolved`,
                records.length > 0
                    ? `recorded ${records.length} of them in the state ${options.mode === "destroy" ? "so destroy removes them" : "as made"}, and dropped the pending records`
                    : "dropped their pending records from the state",
            ),
        );
        return { checked: true };
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

/** The run's private TMPDIR (scripts/lab.ts), so nothing of a killed recovery outlives the next run. */
function tempBase(options: RecoveryOptions): string {
    return options.env.TMPDIR || os.tmpdir();
}

function pulumiArgs(options: RecoveryOptions, args: string[]): string[] {
    return [...args, "--stack", options.stack, "--non-interactive"];
}

async function exportStack(
    options: RecoveryOptions,
    run: Exec,
    showSecrets: boolean,
): Promise<ExportedStack | undefined> {
    const args = pulumiArgs(options, ["stack", "export", ...(showSecrets ? ["--show-secrets"] : [])]);
    const result = await run(options.cli, args, { env: options.env, cwd: options.cwd, timeoutMs: 300_000 });
    if (result.code !== 0) {
        // A stack without a state yet, or a backend the CLI cannot read: the CLI itself says what is wrong.
        return undefined;
    }
    return JSON.parse(result.stdout) as ExportedStack;
}

/** `pulumi stack import` of the current state plus `records`; it drops every pending operation. */
async function importWithoutPending(options: RecoveryOptions, run: Exec, records: StateResource[]): Promise<void> {
    const state = await exportStack(options, run, false);
    if (!state?.deployment) {
        return;
    }
    const edited = withoutPendingOperations(state);
    if (records.length > 0 && edited.deployment) {
        edited.deployment = { ...edited.deployment, resources: [...(edited.deployment.resources ?? []), ...records] };
    }
    const file = path.join(fs.mkdtempSync(path.join(tempBase(options), "capt-recovery-state-")), "state.json");
    try {
        fs.writeFileSync(file, JSON.stringify(edited), { mode: 0o600 });
        const result = await run(options.cli, pulumiArgs(options, ["stack", "import", "--file", file]), {
            env: options.env,
            cwd: options.cwd,
            timeoutMs: 300_000,
        });
        if (result.code !== 0) {
            throw new Error(`pulumi stack import failed: ${result.stderr.trim() || result.stdout.trim()}`);
        }
    } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------

async function handle(create: InterruptedCreate, context: Context): Promise<Outcome> {
    const { mode } = context.options;
    const name = urnName(create.urn);
    switch (create.kind) {
        case "recorded":
            return {
                handled: true,
                line: recoveryLine(`a pending record of ${name}, which a later run finished`, "dropped the record"),
            };
        case "state-only":
            return {
                handled: true,
                line: recoveryLine(
                    `an interrupted create of ${name}, which lives in the state only`,
                    mode === "up" ? "it is made again" : "nothing to remove",
                ),
            };
        case "unknown":
            return {
                handled: false,
                line: recoveryLine(`an interrupted create of ${name} the lab cannot place (${create.why})`, "left it"),
            };
        case "docker-container":
        case "docker-network":
            return removeDockerObject(create, context);
        case "docker-volume":
            return mode === "up"
                ? {
                      handled: true,
                      line: recoveryLine(
                          `an interrupted create of docker volume ${create.name}`,
                          "docker's create takes a volume of that name over, so it runs again",
                      ),
                  }
                : removeDockerObject(create, context);
        case "libvirt-volume":
            return removeLibvirtVolume(create, context);
        case "libvirt-pool":
        case "libvirt-domain":
            return mode === "up"
                ? {
                      handled: true,
                      line: recoveryLine(
                          `an interrupted create of libvirt ${create.kind === "libvirt-pool" ? "pool" : "domain"} ${create.name}`,
                          create.kind === "libvirt-pool"
                              ? "its create takes over the stack's own pool (derived UUID), so it runs again"
                              : "its create redefines the stack's own domain (ownership tag), so it runs again",
                      ),
                  }
                : recordForDestroy(create.urn, create.name, context);
        case "kind-cluster":
            return mode === "up" ? kindCluster(create, context) : recordForDestroy(create.urn, undefined, context);
        case "command":
            return mode === "up"
                ? {
                      handled: true,
                      line: recoveryLine(
                          `an interrupted run of ${create.script} (${name})`,
                          "the script is idempotent and runs again",
                      ),
                  }
                : create.deleteScript
                  ? recordForDestroy(create.urn, undefined, context)
                  : {
                        handled: true,
                        line: recoveryLine(
                            `an interrupted run of ${create.script} (${name})`,
                            "it has nothing to undo",
                        ),
                    };
        case "helm-release":
            return helmRelease(create, context);
        case "kube-object":
            return kubeObject(create, context);
    }
}

function pendingResource(urn: string, context: Context): StateResource | undefined {
    return pendingCreates(context.state.deployment).find((r) => r.urn === urn);
}

/** destroy: the pending create as a recorded resource (its inputs as its outputs), so its provider's delete runs. */
function recordForDestroy(urn: string, id: string | undefined, context: Context): Outcome {
    const pending = pendingResource(urn, context);
    if (!pending) {
        return { handled: false, line: recoveryLine(`no pending record of ${urnName(urn)}`, "left it") };
    }
    const record: StateResource = {
        ...pending,
        id: id ?? `interrupted-${randomBytes(6).toString("hex")}`,
        outputs: { ...(pending.inputs ?? {}) },
    };
    return {
        handled: true,
        record,
        line: recoveryLine(
            `an interrupted create of ${urnName(urn)}`,
            "recorded it in the state so destroy removes it with its own delete",
        ),
    };
}

function recordedIds(context: Context, type: string): Set<string> {
    return new Set(
        (context.state.deployment?.resources ?? []).filter((r) => r.type === type && r.id).map((r) => r.id as string),
    );
}

async function removeDockerObject(
    create: Extract<InterruptedCreate, { kind: "docker-container" | "docker-network" | "docker-volume" }>,
    context: Context,
): Promise<Outcome> {
    const what = create.kind.replace("docker-", "");
    const label = `docker ${what} ${create.name}`;
    const inspect = await context.exec("docker", [what, "inspect", create.name], { env: context.options.env });
    if (inspect.code !== 0) {
        if (/no such|not found/i.test(inspect.stderr)) {
            return {
                handled: true,
                line: recoveryLine(`an interrupted create of ${label}; docker has none`, "nothing to remove"),
            };
        }
        return { handled: false, line: recoveryLine(`cannot look at ${label}: ${inspect.stderr.trim()}`, "left it") };
    }
    const [object] = JSON.parse(inspect.stdout) as {
        Id?: string;
        Name?: string;
        Labels?: Record<string, string> | null;
        Config?: { Labels?: Record<string, string> | null };
        Containers?: Record<string, unknown> | null;
    }[];
    const id = object.Id ?? object.Name ?? create.name;
    const labels = object.Labels ?? object.Config?.Labels ?? {};
    const ours =
        labels["capt-playground.project"] === context.owner.project &&
        labels["capt-playground.stack"] === context.owner.stack;
    if (!ours) {
        return {
            handled: false,
            line: recoveryLine(
                `${label}, which the interrupted run was creating, does not carry stack ${context.owner.stack}'s labels`,
                "left it alone; remove or rename it, then run up again",
            ),
        };
    }
    const type = {
        container: "docker:index/container:Container",
        network: "docker:index/network:Network",
        volume: "docker:index/volume:Volume",
    }[what as "container" | "network" | "volume"];
    if (recordedIds(context, type).has(id)) {
        return {
            handled: true,
            line: recoveryLine(`${label} is recorded in the state under another resource`, "left it"),
        };
    }
    if (what === "network" && Object.keys(object.Containers ?? {}).length > 0) {
        return {
            handled: false,
            line: recoveryLine(
                `${label}, made by the interrupted run, has containers attached (${Object.keys(object.Containers ?? {}).length})`,
                "left it; detach them, then run up again",
            ),
        };
    }
    const removal = what === "container" ? ["rm", "--force", id] : [what, "rm", id];
    const removed = await context.exec("docker", removal, { env: context.options.env });
    if (removed.code !== 0) {
        return {
            handled: false,
            line: recoveryLine(`${label} (${id.slice(0, 12)})`, `removing it failed: ${removed.stderr.trim()}`),
        };
    }
    return {
        handled: true,
        line: recoveryLine(
            `${label} (${id.slice(0, 12)}) made by the interrupted run, labelled for stack ${context.owner.stack}, not in the state`,
            context.options.mode === "up" ? "removed it so up creates it afresh" : "removed it",
        ),
    };
}

/** A fresh qcow2 holds its header and tables only; a disk a machine used holds far more. */
const EMPTY_VOLUME_BYTES = 16 * 1024 * 1024;

async function removeLibvirtVolume(
    create: Extract<InterruptedCreate, { kind: "libvirt-volume" }>,
    context: Context,
): Promise<Outcome> {
    const label = `libvirt volume ${create.pool}/${create.name}`;
    const virsh = (args: string[]) =>
        context.exec("virsh", ["--quiet", "-c", create.uri, ...args], { env: { ...context.options.env, LC_ALL: "C" } });
    const info = await virsh(["vol-info", "--pool", create.poolUuid, create.name, "--bytes"]);
    if (info.code !== 0) {
        if (/not found|no storage (vol|pool)|failed to get (vol|pool)/i.test(info.stderr)) {
            return {
                handled: true,
                line: recoveryLine(
                    `an interrupted create of ${label}; the stack's pool holds none`,
                    "nothing to remove",
                ),
            };
        }
        return { handled: false, line: recoveryLine(`cannot look at ${label}: ${info.stderr.trim()}`, "left it") };
    }
    if (recordedIds(context, "pulumi-nodejs:dynamic/libvirt:Volume").has(`${create.pool}/${create.name}`)) {
        return { handled: true, line: recoveryLine(`${label} is recorded in the state`, "left it") };
    }
    const allocation = Number(/^Allocation:\s+(\d+)/m.exec(info.stdout)?.[1] ?? NaN);
    if (!(allocation <= EMPTY_VOLUME_BYTES)) {
        return {
            handled: false,
            line: recoveryLine(
                `${label} in the stack's pool, not in the state, holds data (${Math.round(allocation / 1024 / 1024)} MiB)`,
                `left it; remove it with \`virsh vol-delete --pool ${create.pool} ${create.name}\` if it is a leftover`,
            ),
        };
    }
    const removed = await virsh(["vol-delete", "--pool", create.poolUuid, create.name]);
    if (removed.code !== 0) {
        return { handled: false, line: recoveryLine(label, `removing it failed: ${removed.stderr.trim()}`) };
    }
    return {
        handled: true,
        line: recoveryLine(
            `${label} made by the interrupted run in the stack's own pool, empty, not in the state`,
            context.options.mode === "up" ? "removed it so up creates it afresh" : "removed it",
        ),
    };
}

/** A kubeconfig in a private 0600 file for kubectl, or an error. */
function kubeconfigFile(context: Context, content: string): string {
    const file = path.join(context.workDir, `kubeconfig-${randomBytes(4).toString("hex")}`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
}

async function kubectl(
    context: Context,
    kubeconfig: string,
    args: string[],
): Promise<ExecResult & { redacted: string }> {
    const file = kubeconfigFile(context, kubeconfig);
    try {
        const result = await context.exec("kubectl", ["--request-timeout=20s", ...args], {
            env: { ...context.options.env, KUBECONFIG: file },
        });
        return { ...result, redacted: redactKubeconfigSecrets(result.stderr.trim(), kubeconfig) };
    } finally {
        fs.rmSync(file, { force: true });
    }
}

async function kindCluster(
    create: Extract<InterruptedCreate, { kind: "kind-cluster" }>,
    context: Context,
): Promise<Outcome> {
    const env = context.options.env;
    const label = `KinD cluster ${create.clusterName}`;
    const clusters = await context.exec("kind", ["get", "clusters"], { env });
    if (clusters.code !== 0) {
        return {
            handled: false,
            line: recoveryLine(`cannot list KinD clusters: ${clusters.stderr.trim()}`, "left it"),
        };
    }
    if (!clusters.stdout.split("\n").includes(create.clusterName)) {
        return {
            handled: true,
            line: recoveryLine(`an interrupted create of ${label}; kind lists none`, "nothing to remove"),
        };
    }
    const foreign = await foreignKindNodes(create, context);
    if (foreign) {
        return {
            handled: false,
            line: recoveryLine(`${label} is listed, but ${foreign}`, "left it; remove or rename it, then run up again"),
        };
    }
    const why = await incompleteCluster(create.clusterName, context);
    if (why === undefined) {
        return {
            handled: true,
            line: recoveryLine(
                `${label}, whose create the interrupted run did not record, is complete (every node Ready)`,
                "its create takes it over",
            ),
        };
    }
    const deleted = await context.exec("kind", ["delete", "cluster", "--name", create.clusterName], {
        env,
        timeoutMs: 300_000,
    });
    if (deleted.code !== 0) {
        return { handled: false, line: recoveryLine(label, `deleting it failed: ${deleted.stderr.trim()}`) };
    }
    return {
        handled: true,
        line: recoveryLine(`${label} half-made by the interrupted run (${why})`, "deleted it so up creates it afresh"),
    };
}

/**
 * Why the cluster's node containers (KinD labels them with the cluster's name) are not provably the
 * stack's, or undefined: each must be on the stack's docker network, which carries the stack's labels.
 * A cluster without node containers (a kind that runs none) is judged by its name alone.
 */
async function foreignKindNodes(
    create: Extract<InterruptedCreate, { kind: "kind-cluster" }>,
    context: Context,
): Promise<string | undefined> {
    const env = context.options.env;
    const listed = await context.exec(
        "docker",
        ["ps", "--all", "--quiet", "--filter", `label=io.x-k8s.kind.cluster=${create.clusterName}`],
        { env },
    );
    const nodes = listed.code === 0 ? listed.stdout.split("\n").filter(Boolean) : [];
    if (nodes.length === 0) {
        return undefined;
    }
    if (!create.network) {
        return "the interrupted create names no docker network for its nodes";
    }
    const network = await context.exec("docker", ["network", "inspect", create.network], { env });
    const labels =
        network.code === 0
            ? ((JSON.parse(network.stdout) as { Labels?: Record<string, string> }[])[0]?.Labels ?? {})
            : {};
    if (
        labels["capt-playground.project"] !== context.owner.project ||
        labels["capt-playground.stack"] !== context.owner.stack
    ) {
        return `docker network ${create.network} is not stack ${context.owner.stack}'s`;
    }
    for (const node of nodes) {
        const joined = await context.exec(
            "docker",
            ["inspect", "--format", "{{json .NetworkSettings.Networks}}", node],
            {
                env,
            },
        );
        const networks = joined.code === 0 ? Object.keys(JSON.parse(joined.stdout) ?? {}) : [];
        if (!networks.includes(create.network)) {
            return `its node container ${node} is not on the stack's network ${create.network}`;
        }
    }
    return undefined;
}

/** Why the cluster is not a finished KinD cluster (kubeconfig, API, Ready nodes), or undefined. */
async function incompleteCluster(clusterName: string, context: Context): Promise<string | undefined> {
    const kubeconfig = await context.exec("kind", ["get", "kubeconfig", "--name", clusterName], {
        env: context.options.env,
    });
    if (kubeconfig.code !== 0 || !kubeconfig.stdout.trim()) {
        return "its kubeconfig cannot be read";
    }
    const nodes = await kubectl(context, kubeconfig.stdout, ["get", "nodes", "-o", "json"]);
    if (nodes.code !== 0) {
        return `its API server does not answer: ${nodes.redacted.split("\n").pop()}`;
    }
    const items =
        (JSON.parse(nodes.stdout) as { items?: { status?: { conditions?: { type: string; status: string }[] } }[] })
            .items ?? [];
    const ready = items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    if (items.length === 0 || ready.length < items.length) {
        return `${ready.length} of ${items.length} nodes Ready`;
    }
    return undefined;
}

/** The kubeconfig the resource's Kubernetes provider holds in the state. */
async function providerKubeconfig(provider: string, context: Context): Promise<string | undefined> {
    context.secretState ??= await exportStack(context.options, context.exec, true);
    const urn = providerUrn(provider);
    const resource = (context.secretState?.deployment?.resources ?? []).find((r) => r.urn === urn);
    const kubeconfig = plainValue(resource?.inputs?.kubeconfig);
    return typeof kubeconfig === "string" && kubeconfig.trim() ? kubeconfig : undefined;
}

function evidence(context: Context, ownCluster: boolean): Evidence {
    return { ownCluster, since: context.evidence.since };
}

async function helmRelease(
    create: Extract<InterruptedCreate, { kind: "helm-release" }>,
    context: Context,
): Promise<Outcome> {
    const label = `Helm release ${create.namespace}/${create.release}`;
    const kubeconfig = await providerKubeconfig(create.provider, context);
    if (!kubeconfig) {
        return { handled: false, line: recoveryLine(`cannot reach the cluster of ${label}`, "left it") };
    }
    const listed = await kubectl(context, kubeconfig, [
        "get",
        "secrets",
        "-n",
        create.namespace,
        "-l",
        `owner=helm,name=${create.release}`,
        "-o",
        "json",
    ]);
    if (listed.code !== 0) {
        return {
            handled: false,
            line: recoveryLine(`cannot read Helm's records of ${label}: ${listed.redacted}`, "left it"),
        };
    }
    const items =
        (
            JSON.parse(listed.stdout) as {
                items?: { metadata: { name: string; creationTimestamp?: string; labels?: Record<string, string> } }[];
            }
        ).items ?? [];
    const records: HelmRecord[] = items.map((item) => ({
        name: item.metadata.name,
        status: item.metadata.labels?.status ?? "",
        version: Number(item.metadata.labels?.version ?? NaN),
        createdAt: item.metadata.creationTimestamp ? new Date(item.metadata.creationTimestamp) : undefined,
    }));
    const verdict = judgeHelmRecords(records, evidence(context, create.ownCluster));
    if (verdict.verdict === "none") {
        return {
            handled: true,
            line: recoveryLine(`an interrupted install of ${label}; Helm has no record of it`, "nothing to remove"),
        };
    }
    if (verdict.verdict === "keep") {
        return {
            handled: false,
            line: recoveryLine(`${label} exists but is not the state's: ${verdict.why}`, "left it"),
        };
    }
    if (context.options.mode === "destroy") {
        // Helm's own uninstall (the provider's delete) removes the objects with the record.
        return {
            handled: true,
            record: recordForDestroy(create.urn, `${create.namespace}/${create.release}`, context).record,
            line: recoveryLine(
                `${label} left ${verdict.status} by the interrupted run`,
                "recorded it so destroy uninstalls it",
            ),
        };
    }
    const deleted = await kubectl(context, kubeconfig, [
        "delete",
        "secret",
        "-n",
        create.namespace,
        ...verdict.records,
    ]);
    if (deleted.code !== 0) {
        return { handled: false, line: recoveryLine(label, `deleting Helm's record failed: ${deleted.redacted}`) };
    }
    return {
        handled: true,
        line: recoveryLine(
            `Helm's record of ${label} left ${verdict.status} by the interrupted run`,
            "deleted the record; the install runs again and takes back the objects Helm already made",
        ),
    };
}

async function kubeObject(
    create: Extract<InterruptedCreate, { kind: "kube-object" }>,
    context: Context,
): Promise<Outcome> {
    const where = create.namespace ? `${create.namespace}/${create.name}` : create.name;
    const label = `${create.objectKind} ${where}`;
    const kubeconfig = await providerKubeconfig(create.provider, context);
    if (!kubeconfig) {
        return { handled: false, line: recoveryLine(`cannot reach the cluster of ${label}`, "left it") };
    }
    const [group, version] = create.apiVersion.includes("/") ? create.apiVersion.split("/") : ["", create.apiVersion];
    const resource = group ? `${create.objectKind}.${version}.${group}` : create.objectKind;
    const got = await kubectl(context, kubeconfig, [
        "get",
        resource,
        create.name,
        ...(create.namespace ? ["-n", create.namespace] : []),
        "--ignore-not-found",
        // kubectl leaves managedFields out of its output unless asked: they say who made the object.
        "--show-managed-fields",
        "-o",
        "json",
    ]);
    if (got.code !== 0) {
        return { handled: false, line: recoveryLine(`cannot read ${label}: ${got.redacted}`, "left it") };
    }
    if (!got.stdout.trim()) {
        return {
            handled: true,
            line: recoveryLine(`an interrupted create of ${label}; the cluster has none`, "nothing to adopt"),
        };
    }
    const object = JSON.parse(got.stdout) as {
        metadata?: { creationTimestamp?: string; managedFields?: { manager?: string }[] };
    };
    const createdAt = object.metadata?.creationTimestamp ? new Date(object.metadata.creationTimestamp) : undefined;
    const byPulumi = (object.metadata?.managedFields ?? []).some((f) => f.manager?.startsWith("pulumi-kubernetes"));
    if (!byPulumi || !madeByInterruptedRun(createdAt, evidence(context, create.ownCluster))) {
        return {
            handled: false,
            line: recoveryLine(
                `${label} exists but is not provably made by the interrupted run`,
                "left it; the create will say it exists",
            ),
        };
    }
    if (context.options.mode === "destroy") {
        return {
            handled: true,
            record: recordForDestroy(create.urn, where, context).record,
            line: recoveryLine(`${label} made by the interrupted run`, "recorded it so destroy deletes it"),
        };
    }
    // The API server took the create whole (one request), so the object is what the stack asked for:
    // it is recorded as made, and the update compares and updates it like any other. Not adopted by
    // a targeted update of just these objects: Pulumi processes every new provider in a targeted
    // update and refuses one whose inputs come from an untargeted resource not yet made (the
    // workload cluster's provider, until its kubeconfig exists), and the provider's create-time
    // apply would then have to force its way past the create's own field manager.
    return {
        handled: true,
        record: recordForDestroy(create.urn, where, context).record,
        line: recoveryLine(
            `${label} made by the interrupted run, not in the state`,
            "recorded it in the state as made",
        ),
    };
}
