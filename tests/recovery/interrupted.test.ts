/** lib/recovery/interrupted.ts: reading an interrupted run's pending creates, locks and Helm records. */
import fc from "fast-check";
import {
    InterruptedCreate,
    SECRET_SIGNATURE,
    StateResource,
    classifyPendingCreate,
    interruptedCreates,
    judgeHelmRecords,
    judgeLock,
    plainValue,
    withoutPendingOperations,
} from "../../lib/recovery/interrupted";
import { ownedUuid } from "../../lib/libvirt/ownership";

const owner = { project: "capt-playground", stack: "dev" };
const prefix = "urn:pulumi:dev::capt-playground::";
const labels = [
    { label: "capt-playground.project", value: "capt-playground" },
    { label: "capt-playground.stack", value: "dev" },
];
const kindProvider = `${prefix}capt-playground:index:KindCluster$pulumi:providers:kubernetes::kind-provider::0a1b`;
const secret = (ciphertext: string) => ({ [SECRET_SIGNATURE]: "1b47061264138c4ac30d75fd1eb44270", ciphertext });

function classify(resource: Partial<StateResource> & { type: string }, recorded: string[] = []): InterruptedCreate {
    const urn = resource.urn ?? `${prefix}${resource.type}::thing`;
    return classifyPendingCreate({ custom: true, ...resource, urn }, owner, new Set(recorded));
}

describe("what a pending create made", () => {
    test("docker objects carrying the stack's labels are removable; any other docker object is not placed", () => {
        const container = classify({
            type: "docker:index/container:Container",
            inputs: { name: "capt-dev-vbmc", labels },
        });
        expect(container).toMatchObject({ kind: "docker-container", name: "capt-dev-vbmc" });
        expect(classify({ type: "docker:index/network:Network", inputs: { name: "capt-dev", labels } })).toMatchObject({
            kind: "docker-network",
            name: "capt-dev",
        });
        const otherStack = [labels[0], { label: "capt-playground.stack", value: "prod" }];
        expect(
            classify({
                type: "docker:index/container:Container",
                inputs: { name: "capt-dev-vbmc", labels: otherStack },
            }),
        ).toMatchObject({ kind: "unknown" });
        expect(classify({ type: "docker:index/network:Network", inputs: { name: "capt-dev" } })).toMatchObject({
            kind: "unknown",
        });
    });

    test("libvirt objects are addressed by the stack's derived UUID; another stack's owner tag is not placed", () => {
        const inputs = { uri: "qemu:///system", pool: "capt-dev", name: "capt-dev-node1.qcow2", owner };
        expect(classify({ type: "pulumi-nodejs:dynamic/libvirt:Volume", inputs })).toEqual({
            kind: "libvirt-volume",
            urn: `${prefix}pulumi-nodejs:dynamic/libvirt:Volume::thing`,
            uri: "qemu:///system",
            pool: "capt-dev",
            poolUuid: ownedUuid("pool", owner, "capt-dev"),
            name: "capt-dev-node1.qcow2",
        });
        expect(
            classify({
                type: "pulumi-nodejs:dynamic/libvirt:Pool",
                inputs: { uri: "qemu:///system", name: "capt-dev", owner },
            }),
        ).toMatchObject({ kind: "libvirt-pool", uuid: ownedUuid("pool", owner, "capt-dev") });
        expect(
            classify({
                type: "pulumi-nodejs:dynamic/libvirt:Domain",
                inputs: { uri: "qemu:///system", name: "capt-dev-node1", owner: { ...owner, stack: "prod" } },
            }),
        ).toMatchObject({ kind: "unknown" });
    });

    test("Commands by the script they run: the stack's KinD cluster, or any other script of the lab", () => {
        const kind = (name: string) =>
            classify({
                type: "command:local:Command",
                inputs: {
                    create: "components/scripts/kind-create.sh",
                    environment: { KIND_CLUSTER_NAME: name, KIND_EXPERIMENTAL_DOCKER_NETWORK: "capt-dev" },
                },
            });
        expect(kind("capt-dev")).toMatchObject({ kind: "kind-cluster", clusterName: "capt-dev" });
        expect(kind("someone-elses")).toMatchObject({ kind: "unknown" });
        expect(
            classify({
                type: "command:local:Command",
                inputs: {
                    create: "components/scripts/write-file.sh",
                    delete: "components/scripts/remove-file.sh",
                    environment: { FILE_PATH: "/x", FILE_CONTENT: secret("abc") },
                },
            }),
        ).toMatchObject({ kind: "command", script: "write-file", deleteScript: "remove-file" });
        expect(classify({ type: "command:local:Command", inputs: { create: "rm -rf /" } })).toMatchObject({
            kind: "unknown",
        });
    });

    test("Kubernetes: a Helm release and objects, marked when they live in the stack's own KinD cluster", () => {
        const release = classify({
            type: "kubernetes:helm.sh/v3:Release",
            provider: kindProvider,
            inputs: { name: "tinkerbell", namespace: "tinkerbell" },
        });
        expect(release).toMatchObject({ kind: "helm-release", release: "tinkerbell", ownCluster: true });
        const hardware = classify({
            type: "kubernetes:tinkerbell.org/v1alpha1:Hardware",
            provider: `${prefix}pulumi:providers:kubernetes::management-provider::77`,
            inputs: {
                apiVersion: "tinkerbell.org/v1alpha1",
                kind: "Hardware",
                metadata: { name: "capt-dev-node1", namespace: "tinkerbell" },
            },
        });
        expect(hardware).toMatchObject({
            kind: "kube-object",
            objectKind: "Hardware",
            namespace: "tinkerbell",
            name: "capt-dev-node1",
            ownCluster: false,
        });
    });

    test("state-only resources, and a pending create a later run recorded", () => {
        for (const type of [
            "random:index/randomPassword:RandomPassword",
            "tls:index/privateKey:PrivateKey",
            "pulumi:providers:kubernetes",
            "docker:index/remoteImage:RemoteImage",
        ]) {
            expect(classify({ type })).toMatchObject({ kind: "state-only" });
        }
        const urn = `${prefix}docker:index/container:Container::c`;
        expect(classify({ urn, type: "docker:index/container:Container" }, [urn])).toEqual({ kind: "recorded", urn });
    });

    test("only creating operations count, and the state without them keeps everything else", () => {
        const deployment = {
            resources: [{ urn: "a", type: "random:index/randomPassword:RandomPassword" }],
            pending_operations: [
                { type: "updating", resource: { urn: "a", type: "random:index/randomPassword:RandomPassword" } },
                { type: "creating", resource: { urn: "b", type: "tls:index/privateKey:PrivateKey" } },
            ],
        };
        expect(interruptedCreates(deployment, owner)).toEqual([{ kind: "state-only", urn: "b" }]);
        const cleared = withoutPendingOperations({ version: 3, deployment });
        expect(cleared).toEqual({ version: 3, deployment: { resources: deployment.resources } });
    });

    test("property: a docker object is only ever removable with both of this stack's labels", () => {
        const label = fc.constantFrom("capt-playground.project", "capt-playground.stack", "other");
        const value = fc.constantFrom("capt-playground", "dev", "prod", "");
        fc.assert(
            fc.property(fc.array(fc.record({ label, value })), (given) => {
                const found = classify({
                    type: "docker:index/container:Container",
                    inputs: { name: "c", labels: given },
                });
                const last = (key: string) => [...given].reverse().find((l) => l.label === key)?.value;
                const ours =
                    last("capt-playground.project") === "capt-playground" && last("capt-playground.stack") === "dev";
                return (found.kind === "docker-container") === ours;
            }),
        );
    });
});

describe("secret values as exported", () => {
    test("ciphertext stays unknown, plaintext is its JSON value", () => {
        expect(plainValue(secret("abc"))).toBeUndefined();
        expect(plainValue({ [SECRET_SIGNATURE]: "x", plaintext: '"kubeconfig"' })).toBe("kubeconfig");
        expect(plainValue({ [SECRET_SIGNATURE]: "x", plaintext: '{"a":1}' })).toEqual({ a: 1 });
        expect(plainValue("plain")).toBe("plain");
    });
});

describe("a killed run's lock", () => {
    const lock = { file: "/l.json", pid: 4242, username: "root", hostname: "lab", timestamp: "2026-12-07T10:00:00Z" };
    const facts = (process?: { commandLine: string; startedAt?: Date }) => ({
        hostname: "lab",
        process: () => process,
    });

    test("is stale when its process is gone, is another program, or started after the lock", () => {
        expect(judgeLock(lock, facts(undefined)).verdict).toBe("stale");
        expect(judgeLock(lock, facts({ commandLine: "sleep 100" })).verdict).toBe("stale");
        const later = { commandLine: "pulumi up", startedAt: new Date("2026-12-07T11:00:00Z") };
        expect(judgeLock(lock, facts(later)).verdict).toBe("stale");
    });

    test("a running pulumi that took it, or a lock of another host, is never judged stale", () => {
        const same = { commandLine: "/usr/bin/pulumi up --yes", startedAt: new Date("2026-12-07T09:59:59Z") };
        expect(judgeLock(lock, facts(same)).verdict).toBe("live");
        expect(judgeLock({ ...lock, hostname: "other" }, facts(undefined)).verdict).toBe("elsewhere");
    });
});

describe("Helm's records of a release the state does not hold", () => {
    const since = new Date("2026-12-07T10:00:00Z");
    const record = (status: string, version = 1, createdAt = new Date("2026-12-07T10:01:00Z")) => ({
        name: `sh.helm.release.v1.tinkerbell.v${version}`,
        status,
        version,
        createdAt,
    });

    test("an install still pending is deleted; no record means nothing to do", () => {
        expect(judgeHelmRecords([], { ownCluster: false })).toEqual({ verdict: "none" });
        expect(judgeHelmRecords([record("pending-install")], { ownCluster: false })).toEqual({
            verdict: "delete",
            records: ["sh.helm.release.v1.tinkerbell.v1"],
            status: "pending-install",
        });
    });

    test("a finished first revision only when provably the interrupted run's", () => {
        expect(judgeHelmRecords([record("deployed")], { ownCluster: true }).verdict).toBe("delete");
        expect(judgeHelmRecords([record("deployed")], { ownCluster: false, since }).verdict).toBe("delete");
        expect(judgeHelmRecords([record("failed")], { ownCluster: false }).verdict).toBe("keep");
        const older = record("deployed", 1, new Date("2026-12-06T10:00:00Z"));
        expect(judgeHelmRecords([older], { ownCluster: false, since }).verdict).toBe("keep");
    });

    test("a release with later revisions was not installed by this stack's run", () => {
        const upgraded = [record("superseded"), record("pending-upgrade", 2)];
        expect(judgeHelmRecords(upgraded, { ownCluster: true }).verdict).toBe("keep");
    });
});
