/**
 * What an interrupted `up` (SIGKILL, Ctrl-C, a closed terminal, a host that went down) left behind,
 * read from the stack's state, and what `npm run up` does about each piece. Pure: no host access;
 * lib/recovery/host.ts looks at the host and acts, scripts/lab.ts runs it before the CLI.
 *
 * The engine's record of an interrupted create is a pending operation of type `creating` in the
 * state (`pending_operations`): the resource's inputs, no ID, no outputs. The engine writes it when
 * the create starts and replaces it with the resource once the provider answered. On the next update
 * it only warns about it, runs the create again as if nothing existed, and carries the record on
 * forever (pkg/backend/journal.go keeps the base snapshot's `creating` operations). The CLI offers
 * two ways out, both on `pulumi refresh`: `--clear-pending-creates` drops the records and nothing
 * else, and `--import-pending-creates URN ID` turns one into an `importing` operation, which the
 * refresh that follows drops as well (only `creating` records are carried over; no step of the
 * refresh reads the ID): neither touches what the provider made. `pulumi stack import` drops every
 * pending operation. So the half-made object is the lab's to handle, and it is handled here:
 *
 * - made by a provider whose create takes over what it made before (the lab's Pool and Domain
 *   providers find their own objects by derived UUID and ownership tag; the Commands' scripts are
 *   idempotent; random, tls, provider and image resources live in the state or in the docker
 *   image store): the create simply runs again;
 * - made by a provider whose create refuses an object that exists (docker's container and network
 *   "Conflict ... already in use", the Volume provider's "not recorded in this stack's state"): the
 *   object, new and never used (nothing waits on a create that did not finish), is removed when it
 *   carries this stack's ownership, so the create makes it afresh;
 * - a KinD cluster whose create did not finish: taken over when it is complete, else removed;
 * - a Helm release: Helm's own record of an install that never finished (`pending-install`, or the
 *   first revision of a release the state does not hold) is deleted, so the create installs again
 *   and Helm takes back the objects it already made (they carry its ownership annotations);
 * - Kubernetes objects (the provider refuses one that exists, `upsertExistingObjects` off): recorded
 *   in the state as made when they are provably the stack's (the API server takes a create whole).
 *
 * Only objects proven to be this stack's are ever touched: docker labels
 * (`capt-playground.project`/`.stack`), libvirt's derived UUIDs and ownership tags, the KinD cluster
 * that the stack's name names and whose create the state shows (its node containers, when it has
 * any, on the stack's labelled docker network), and in a Kubernetes cluster either
 * the stack's own KinD cluster or an object made after the interrupted run began.
 */
import { OwnerTag, ownedUuid } from "../libvirt/ownership";
import { labName } from "../naming";

/** A resource as `pulumi stack export` prints it (the fields read here). */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    custom?: boolean;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    parent?: string;
    /** `<provider URN>::<provider ID>` */
    provider?: string;
}

export interface PendingOperation {
    resource: StateResource;
    type: string;
}

export interface Deployment {
    resources?: StateResource[] | null;
    pending_operations?: PendingOperation[] | null;
}

/** `pulumi stack export` output: `{ version, deployment }`. */
export interface ExportedStack {
    version?: number;
    deployment?: Deployment;
}

/** The marker Pulumi puts on a secret value in state and exports. */
export const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/**
 * A value as exported: a secret is `{<signature>: …, ciphertext}`, or with `--show-secrets`
 * `{<signature>: …, plaintext: <JSON text>}`. Returns the plain value, or undefined for ciphertext.
 */
export function plainValue(value: unknown): unknown {
    if (value !== null && typeof value === "object" && SECRET_SIGNATURE in (value as object)) {
        const secret = value as { plaintext?: string };
        if (typeof secret.plaintext !== "string") {
            return undefined;
        }
        try {
            return JSON.parse(secret.plaintext);
        } catch {
            return secret.plaintext;
        }
    }
    return value;
}

function str(value: unknown): string | undefined {
    const plain = plainValue(value);
    return typeof plain === "string" ? plain : undefined;
}

function record(value: unknown): Record<string, unknown> {
    const plain = plainValue(value);
    return plain !== null && typeof plain === "object" && !Array.isArray(plain)
        ? (plain as Record<string, unknown>)
        : {};
}

/** The resource's name: the last part of its URN. */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The provider URN of a `<provider URN>::<provider ID>` reference. */
export function providerUrn(reference: string | undefined): string | undefined {
    return reference ? reference.slice(0, reference.lastIndexOf("::")) : undefined;
}

/** The provider the lab makes for its own KinD cluster (components/kind-cluster.ts): its objects are all the stack's. */
export function isKindProvider(reference: string | undefined): boolean {
    return /capt-playground:index:KindCluster\$pulumi:providers:kubernetes::[^:]+$/.test(providerUrn(reference) ?? "");
}

/** The Command's script (`components/scripts/<name>.sh` in its `create`), without the extension. */
export function commandScript(
    inputs: Record<string, unknown> | undefined,
    key: "create" | "delete",
): string | undefined {
    const command = str(inputs?.[key]);
    const match = command ? /(?:^|\/)([a-z0-9-]+)\.sh$/.exec(command) : null;
    return match ? match[1] : undefined;
}

/** The docker labels a docker resource's inputs carry, as a map. */
export function dockerLabels(inputs: Record<string, unknown> | undefined): Record<string, string> {
    const labels = plainValue(inputs?.labels);
    const result: Record<string, string> = {};
    if (Array.isArray(labels)) {
        for (const entry of labels) {
            const { label, value } = record(entry);
            if (typeof label === "string" && typeof value === "string") {
                result[label] = value;
            }
        }
    }
    return result;
}

/** The labels the lab puts on every docker object of a stack (lib/plan.ts stackDockerLabels). */
export function ownerDockerLabels(owner: OwnerTag): Record<string, string> {
    return { "capt-playground.project": owner.project, "capt-playground.stack": owner.stack };
}

/** True when `labels` carry this stack's ownership labels. */
export function carriesOwnerLabels(labels: Record<string, string>, owner: OwnerTag): boolean {
    return Object.entries(ownerDockerLabels(owner)).every(([key, value]) => labels[key] === value);
}

function ownerOf(inputs: Record<string, unknown> | undefined): OwnerTag | undefined {
    const owner = record(inputs?.owner);
    return typeof owner.project === "string" && typeof owner.stack === "string"
        ? { project: owner.project, stack: owner.stack }
        : undefined;
}

function sameOwner(a: OwnerTag | undefined, b: OwnerTag): boolean {
    return a !== undefined && a.project === b.project && a.stack === b.stack;
}

/** One interrupted create, and what it made (or may have made) outside the state. */
export type InterruptedCreate =
    /** A later run recorded the resource: only the stale record is left. */
    | { kind: "recorded"; urn: string }
    /** Lives in the state only (random, tls, providers, components) or in the image store: the create runs again. */
    | { kind: "state-only"; urn: string }
    | { kind: "docker-container"; urn: string; name: string }
    | { kind: "docker-network"; urn: string; name: string }
    /** A docker volume: docker's create returns the volume of that name when it exists, so it runs again. */
    | { kind: "docker-volume"; urn: string; name: string }
    | { kind: "libvirt-pool"; urn: string; uri: string; name: string; uuid: string }
    | { kind: "libvirt-volume"; urn: string; uri: string; pool: string; poolUuid: string; name: string }
    | { kind: "libvirt-domain"; urn: string; uri: string; name: string; owner: OwnerTag }
    /** `network`: the docker network its nodes join (KIND_EXPERIMENTAL_DOCKER_NETWORK), the stack's own. */
    | { kind: "kind-cluster"; urn: string; clusterName: string; network?: string }
    /** Any other Command: its create script is idempotent; its delete (if any) undoes it. */
    | { kind: "command"; urn: string; script: string; deleteScript?: string }
    | { kind: "helm-release"; urn: string; namespace: string; release: string; provider: string; ownCluster: boolean }
    | {
          kind: "kube-object";
          urn: string;
          apiVersion: string;
          objectKind: string;
          namespace?: string;
          name: string;
          provider: string;
          ownCluster: boolean;
      }
    /** Not a kind of resource the lab makes, or not the stack's: left alone. */
    | { kind: "unknown"; urn: string; why: string };

const STATE_ONLY_TYPES = [
    /^random:/,
    /^tls:/,
    /^pulumi:providers:/,
    /^pulumi:pulumi:Stack$/,
    /^capt-playground:index:/,
    /^docker:index\/remoteImage:RemoteImage$/,
];

/** The pending creates of a deployment, in state order. */
export function pendingCreates(deployment: Deployment | undefined): StateResource[] {
    return (deployment?.pending_operations ?? []).filter((op) => op.type === "creating").map((op) => op.resource);
}

/** What one pending create is, given the stack's ownership (`owner`) and the URNs the state records. */
export function classifyPendingCreate(
    resource: StateResource,
    owner: OwnerTag,
    recorded: ReadonlySet<string>,
): InterruptedCreate {
    const { urn, type } = resource;
    const inputs = resource.inputs ?? {};
    if (recorded.has(urn)) {
        return { kind: "recorded", urn };
    }
    if (STATE_ONLY_TYPES.some((pattern) => pattern.test(type)) || resource.custom === false) {
        return { kind: "state-only", urn };
    }
    const name = str(inputs.name);
    const labelled = carriesOwnerLabels(dockerLabels(inputs), owner);
    switch (type) {
        case "docker:index/container:Container":
        case "docker:index/network:Network":
        case "docker:index/volume:Volume": {
            if (!name) {
                return { kind: "unknown", urn, why: "its inputs name no docker object" };
            }
            if (!labelled) {
                return { kind: "unknown", urn, why: `its inputs do not carry stack ${owner.stack}'s docker labels` };
            }
            const kind =
                type === "docker:index/container:Container"
                    ? "docker-container"
                    : type === "docker:index/network:Network"
                      ? "docker-network"
                      : "docker-volume";
            return { kind, urn, name };
        }
        case "pulumi-nodejs:dynamic/libvirt:Pool":
        case "pulumi-nodejs:dynamic/libvirt:Volume":
        case "pulumi-nodejs:dynamic/libvirt:Domain": {
            const uri = str(inputs.uri);
            const objectOwner = ownerOf(inputs);
            if (!uri || !name || !sameOwner(objectOwner, owner)) {
                return { kind: "unknown", urn, why: `its inputs do not name a libvirt object of stack ${owner.stack}` };
            }
            if (type.endsWith(":Pool")) {
                return { kind: "libvirt-pool", urn, uri, name, uuid: ownedUuid("pool", owner, name) };
            }
            if (type.endsWith(":Domain")) {
                return { kind: "libvirt-domain", urn, uri, name, owner };
            }
            const pool = str(inputs.pool);
            if (!pool) {
                return { kind: "unknown", urn, why: "its inputs name no pool" };
            }
            return { kind: "libvirt-volume", urn, uri, pool, poolUuid: ownedUuid("pool", owner, pool), name };
        }
        case "command:local:Command": {
            const script = commandScript(inputs, "create");
            if (!script) {
                return { kind: "unknown", urn, why: "it does not run one of the lab's scripts" };
            }
            if (script === "kind-create") {
                // The stack's cluster is named after the stack (lib/naming.ts labName), as kind-create adopts it.
                const environment = record(inputs.environment);
                const clusterName = str(environment.KIND_CLUSTER_NAME);
                const network = str(environment.KIND_EXPERIMENTAL_DOCKER_NETWORK);
                return clusterName === labName(owner.stack)
                    ? { kind: "kind-cluster", urn, clusterName, ...(network ? { network } : {}) }
                    : { kind: "unknown", urn, why: `it does not name stack ${owner.stack}'s KinD cluster` };
            }
            const deleteScript = commandScript(inputs, "delete");
            return { kind: "command", urn, script, ...(deleteScript ? { deleteScript } : {}) };
        }
        case "kubernetes:helm.sh/v3:Release": {
            const namespace = str(inputs.namespace) ?? "default";
            if (!name || !resource.provider) {
                return { kind: "unknown", urn, why: "its inputs name no release" };
            }
            return {
                kind: "helm-release",
                urn,
                namespace,
                release: name,
                provider: resource.provider,
                ownCluster: isKindProvider(resource.provider),
            };
        }
    }
    if (type.startsWith("kubernetes:") && resource.provider) {
        const metadata = record(inputs.metadata);
        const objectName = str(metadata.name);
        const apiVersion = str(inputs.apiVersion);
        const objectKind = str(inputs.kind);
        if (!objectName || !apiVersion || !objectKind) {
            return { kind: "unknown", urn, why: "its inputs name no Kubernetes object" };
        }
        const namespace = str(metadata.namespace);
        return {
            kind: "kube-object",
            urn,
            apiVersion,
            objectKind,
            ...(namespace ? { namespace } : {}),
            name: objectName,
            provider: resource.provider,
            ownCluster: isKindProvider(resource.provider),
        };
    }
    return { kind: "unknown", urn, why: `the lab does not make resources of type ${type}` };
}

/** Every interrupted create of a deployment, classified. */
export function interruptedCreates(deployment: Deployment | undefined, owner: OwnerTag): InterruptedCreate[] {
    const recorded = new Set((deployment?.resources ?? []).map((r) => r.urn));
    return pendingCreates(deployment).map((resource) => classifyPendingCreate(resource, owner, recorded));
}

/** The deployment without its pending operations, as `pulumi stack import` would store it. */
export function withoutPendingOperations(exported: ExportedStack): ExportedStack {
    if (!exported.deployment) {
        return exported;
    }
    const { pending_operations: _dropped, ...deployment } = exported.deployment;
    void _dropped;
    return { ...exported, deployment };
}

// ---------------------------------------------------------------------------------------------
// the lock a killed run leaves

/** A file backend's lock (pkg/backend/diy/lock.go lockContent). */
export interface StackLock {
    /** Where it is, for the message. */
    file: string;
    pid: number;
    username: string;
    hostname: string;
    /** RFC 3339. */
    timestamp: string;
}

/** What this host can tell about a process. */
export interface ProcessFacts {
    hostname: string;
    /** Undefined when no such process runs. */
    process(pid: number): { commandLine: string; startedAt?: Date } | undefined;
}

export type LockVerdict =
    { verdict: "stale"; why: string } | { verdict: "live"; why: string } | { verdict: "elsewhere"; why: string };

/** How far the lock's time and the process's start time may be apart for one process (clock granularity). */
const START_SLACK_MS = 60_000;

/**
 * A lock is stale when it was taken on this host by a process that no longer runs: the pid is gone,
 * or is now another program, or a process started after the lock was taken (a reused pid).
 */
export function judgeLock(lock: StackLock, facts: ProcessFacts): LockVerdict {
    const taken = Date.parse(lock.timestamp);
    const who = `pulumi (pid ${lock.pid}, ${lock.username}@${lock.hostname}, since ${lock.timestamp})`;
    if (lock.hostname !== facts.hostname) {
        return {
            verdict: "elsewhere",
            why: `${who} runs on another host; this host cannot tell whether it still runs`,
        };
    }
    const process = facts.process(lock.pid);
    if (!process) {
        return { verdict: "stale", why: `${who} no longer runs` };
    }
    if (!/pulumi/.test(process.commandLine)) {
        return { verdict: "stale", why: `${who} no longer runs (pid ${lock.pid} is now another program)` };
    }
    if (process.startedAt && Number.isFinite(taken) && process.startedAt.getTime() > taken + START_SLACK_MS) {
        return { verdict: "stale", why: `${who} no longer runs (pid ${lock.pid} is a later process)` };
    }
    return { verdict: "live", why: `${who} is still running` };
}

// ---------------------------------------------------------------------------------------------
// Helm's record of a release

/** One of Helm's release records (a Secret `sh.helm.release.v1.<release>.v<n>`, labels owner=helm,name,status,version). */
export interface HelmRecord {
    name: string;
    status: string;
    version: number;
    createdAt?: Date;
}

/** What the interrupted run may have made, and when it began (the stale lock's time, when one was found). */
export interface Evidence {
    /** The objects live in the stack's own KinD cluster: everything there is the stack's. */
    ownCluster: boolean;
    /** The interrupted run began at this time. */
    since?: Date;
}

/** Objects created this long before the lock's time still count as the interrupted run's (clocks of other hosts). */
const CLOCK_SLACK_MS = 60_000;

export function madeByInterruptedRun(createdAt: Date | undefined, evidence: Evidence): boolean {
    if (evidence.ownCluster) {
        return true;
    }
    return (
        createdAt !== undefined &&
        evidence.since !== undefined &&
        createdAt.getTime() >= evidence.since.getTime() - CLOCK_SLACK_MS
    );
}

export type HelmVerdict =
    { verdict: "none" } | { verdict: "delete"; records: string[]; status: string } | { verdict: "keep"; why: string };

/**
 * The records to delete for a release the state does not hold. Helm refuses to install over any
 * record ("cannot re-use a name that is still in use") and cannot go on from a `pending-install`
 * one. The interrupted run's install is the release's only revision: Helm made its record when
 * the install began. An install still pending is deleted as it is (no install of anyone else's is
 * left half-way); a finished first revision (`deployed`, or `failed` by its own timeout) only when
 * it is provably the interrupted run's. A release with later revisions was upgraded, so it is not
 * a fresh install of this run, and is left alone.
 */
export function judgeHelmRecords(records: HelmRecord[], evidence: Evidence): HelmVerdict {
    if (records.length === 0) {
        return { verdict: "none" };
    }
    if (records.length > 1 || records[0].version !== 1) {
        const versions = records.map((r) => `v${r.version} ${r.status}`).join(", ");
        return { verdict: "keep", why: `it has revisions ${versions}: not an install this stack began` };
    }
    const [only] = records;
    if (only.status === "pending-install") {
        return { verdict: "delete", records: [only.name], status: only.status };
    }
    if (["deployed", "failed"].includes(only.status) && madeByInterruptedRun(only.createdAt, evidence)) {
        return { verdict: "delete", records: [only.name], status: only.status };
    }
    return {
        verdict: "keep",
        why: `its revision 1 is ${only.status} and was not provably made by the interrupted run`,
    };
}

// ---------------------------------------------------------------------------------------------
// the one line each recovery prints

export const RECOVERY_PREFIX = "recovery:";

export function recoveryLine(found: string, did: string): string {
    return `${RECOVERY_PREFIX} ${found}; ${did}`;
}
