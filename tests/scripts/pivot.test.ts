/**
 * pivot-move.sh (create) and pivot-back.sh (delete) against fake clusters: the management cluster is
 * the sandbox's state directory, the workload cluster $state/clusters/workload (its kubeconfig names it
 * with a `# fake-cluster: workload` line); objects are files under objects/<namespace>/.
 */
import * as fs from "node:fs";
import { Sandbox, clusterctlConfig, expectSecretKept, expectVersionsRequired } from "./harness";

const MGMT_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: pivot-mgmt-secret-1a1a\n";
const WORKLOAD_KUBECONFIG =
    "# fake-cluster: workload\napiVersion: v1\nkind: Config\nusers:\n- user:\n    client-key-data: pivot-workload-secret-2b2b\n";
const OBJECTS = ["cluster.capt-dev", "hardware.node-1", "machine.node-1", "secret.bmc-creds"];
const ALL = "bootstrap-kubeadm,cluster-api,control-plane-kubeadm,infrastructure-tinkerbell";

let sandbox: Sandbox;
let env: Record<string, string>;
beforeEach(() => {
    sandbox = new Sandbox();
    env = {
        KUBECONFIG_CONTENT: MGMT_KUBECONFIG,
        WORKLOAD_KUBECONFIG_CONTENT: WORKLOAD_KUBECONFIG,
        CLUSTERCTL_CONFIG_CONTENT: clusterctlConfig(),
        TINKERBELL_IP: "172.30.0.74",
        CLUSTER_NAME: "capt-dev",
        NAMESPACE: "tink",
        CAPI_VERSION: "v1.12.5",
        CAPT_VERSION: "v0.7.0",
    };
    // The management cluster after `up`: the providers and the lab's objects.
    for (const p of ALL.split(",")) {
        sandbox.writeState(`inventory/${p}`, p.includes("tinkerbell") ? "v0.7.0" : "v1.12.5");
    }
    for (const object of OBJECTS) {
        sandbox.writeState(`objects/tink/${object}`, "");
    }
});
afterEach(() => sandbox.cleanup());

function objectsIn(cluster: "management" | "workload"): string[] {
    return sandbox.listState(cluster === "management" ? "objects/tink" : "clusters/workload/objects/tink");
}

function workloadInventory(): string[] {
    return sandbox.listState("clusters/workload/inventory");
}

function lastMove(): Record<string, string> {
    return sandbox.readRecord("clusterctl-move.last");
}

describe("pivot-move", () => {
    test("installs Cluster API into the workload cluster, then moves the namespace there", () => {
        const result = sandbox.run("pivot-move", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`installed=${ALL}\n`);
        expect(workloadInventory()).toEqual(ALL.split(","));
        expect(objectsIn("workload")).toEqual(OBJECTS);
        expect(objectsIn("management")).toEqual([]);
        expect(sandbox.readState("moves")).toBe("state -> workload 4\n");
        // init before move, both against the right clusters, with private files that are gone afterwards.
        const calls = sandbox.calls("clusterctl");
        expect(calls.map((c) => c.split(" ")[1])).toEqual(["init", "move"]);
        const move = lastMove();
        expect(calls[1]).toBe(
            `clusterctl move --config ${move.config} --kubeconfig ${move.from} --to-kubeconfig ${move.to} -n tink`,
        );
        expect([move["from-mode"], move["to-mode"]]).toEqual(["600", "600"]);
        // Every provider at the version the management cluster got (clusterctlVersion, captVersion).
        expect(calls[0]).toBe(
            `clusterctl init --config ${move.config} --kubeconfig ${move.to} --core cluster-api:v1.12.5 ` +
                "--bootstrap kubeadm:v1.12.5 --control-plane kubeadm:v1.12.5 --infrastructure tinkerbell:v0.7.0 " +
                "--wait-providers --wait-provider-timeout 600",
        );
        expect(sandbox.readState("clusters/workload/inventory/cluster-api")).toBe("v1.12.5\n");
        expect(sandbox.readState("clusters/workload/inventory/control-plane-kubeadm")).toBe("v1.12.5\n");
        expect(sandbox.readState("clusters/workload/inventory/infrastructure-tinkerbell")).toBe("v0.7.0\n");
        expect(move.TINKERBELL_IP).toBe("172.30.0.74");
        expect(move.CLUSTERCTL_DISABLE_VERSIONCHECK).toBe("true");
        expect(fs.existsSync(move.from)).toBe(false);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("idempotent: a second run sees the Cluster in the target only and moves nothing", () => {
        const first = sandbox.run("pivot-move", env);
        const again = sandbox.run("pivot-move", { ...env, PULUMI_COMMAND_STDOUT: first.stdout.trim() });
        expect(again.status).toBe(0);
        expect(again.stderr).toContain("already in the workload cluster");
        expect(again.stdout).toBe(first.stdout);
        expect(sandbox.calls("clusterctl", "move")).toHaveLength(1);
        expect(sandbox.calls("clusterctl", "init")).toHaveLength(1);
        expect(objectsIn("workload")).toEqual(OBJECTS);
    });

    test("a workload cluster with the core and kubeadm providers at the pinned version: init adds CAPT only", () => {
        for (const p of ["cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm"]) {
            sandbox.writeState(`clusters/workload/inventory/${p}`, "v1.12.5");
        }
        const result = sandbox.run("pivot-move", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("installed=infrastructure-tinkerbell\n");
        expect(objectsIn("workload")).toEqual(OBJECTS);
    });

    test("a workload cluster with only a core provider: the kubeadm providers are added too, pinned", () => {
        sandbox.writeState("clusters/workload/inventory/cluster-api", "v1.12.5");
        const result = sandbox.run("pivot-move", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("installed=bootstrap-kubeadm,control-plane-kubeadm,infrastructure-tinkerbell\n");
        expect(sandbox.readState("clusters/workload/inventory/bootstrap-kubeadm")).toBe("v1.12.5\n");
    });

    test("a workload cluster with another Cluster API version: clusterctl refuses, nothing is moved", () => {
        sandbox.writeState("clusters/workload/inventory/cluster-api", "v1.13.2");
        const result = sandbox.run("pivot-move", env);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain('there is already an instance of the "cluster-api" provider');
        expect(sandbox.calls("clusterctl", "move")).toEqual([]);
        expect(objectsIn("management")).toEqual(OBJECTS);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("refuses to run without the versions to install", () => {
        expectVersionsRequired(sandbox, "pivot-move", env);
    });

    test("the Cluster in both clusters (a move stopped half-way) is an error; in neither, too", () => {
        sandbox.writeState("clusters/workload/inventory/cluster-api", "v1.12.5");
        sandbox.writeState("clusters/workload/objects/tink/cluster.capt-dev", "");
        const both = sandbox.run("pivot-move", env);
        expect(both.status).toBe(1);
        expect(both.stderr).toContain("in both the management and the workload cluster");
        fs.rmSync(sandbox.stateFile("clusters/workload/objects/tink/cluster.capt-dev"));
        fs.rmSync(sandbox.stateFile("objects/tink/cluster.capt-dev"));
        const neither = sandbox.run("pivot-move", env);
        expect(neither.status).toBe(1);
        expect(neither.stderr).toContain("in neither");
        expect(sandbox.calls("clusterctl")).toEqual([]);
    });

    test("an unreachable workload cluster fails before anything runs", () => {
        sandbox.writeState("clusters/workload/unreachable", "");
        const result = sandbox.run("pivot-move", env);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("cannot read Clusters from the workload cluster");
        expect(sandbox.calls("clusterctl")).toEqual([]);
        expect(sandbox.tmpEntries()).toEqual([]);
    });
});

describe("pivot-back (the delete step)", () => {
    test("moves the namespace back, then removes the providers the pivot installed", () => {
        const move = sandbox.run("pivot-move", env);
        const back = sandbox.run("pivot-back", { ...env, PULUMI_COMMAND_STDOUT: move.stdout.trim() });
        expect(back.status).toBe(0);
        expect(back.stdout).toBe("");
        expect(objectsIn("management")).toEqual(OBJECTS);
        expect(objectsIn("workload")).toEqual([]);
        expect(sandbox.readState("moves")).toBe("state -> workload 4\nworkload -> state 4\n");
        const [del] = sandbox.calls("clusterctl", "delete");
        expect(del).toMatch(/--all --include-crd --include-namespace$/);
        expect(workloadInventory()).toEqual([]);
        // The management cluster's providers are untouched.
        expect(fs.readdirSync(sandbox.stateFile("inventory")).sort()).toEqual(ALL.split(","));
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("idempotent: a second run finds the Cluster back and nothing recorded still installed", () => {
        const move = sandbox.run("pivot-move", env);
        const previous = { ...env, PULUMI_COMMAND_STDOUT: move.stdout.trim() };
        expect(sandbox.run("pivot-back", previous).status).toBe(0);
        const again = sandbox.run("pivot-back", previous);
        expect(again.status).toBe(0);
        expect(again.stderr).toContain("already in the management cluster");
        expect(sandbox.calls("clusterctl", "move")).toHaveLength(2);
        expect(sandbox.calls("clusterctl", "delete")).toHaveLength(1);
    });

    test("providers the pivot did not install stay in the workload cluster", () => {
        sandbox.writeState("clusters/workload/inventory/cluster-api", "v1.12.5");
        const move = sandbox.run("pivot-move", env);
        const back = sandbox.run("pivot-back", { ...env, PULUMI_COMMAND_STDOUT: move.stdout.trim() });
        expect(back.status).toBe(0);
        const [del] = sandbox.calls("clusterctl", "delete");
        expect(del).not.toContain("--all");
        expect(workloadInventory()).toEqual(["cluster-api"]);
    });

    test("a pivot that never ran (the Cluster still in management): nothing moved, nothing removed", () => {
        const back = sandbox.run("pivot-back", env);
        expect(back.status).toBe(0);
        expect(sandbox.calls("clusterctl")).toEqual([]);
        expect(objectsIn("management")).toEqual(OBJECTS);
    });

    test("neither kubeconfig reaches an argv, stderr or a child's environment", () => {
        const move = sandbox.run("pivot-move", env);
        const back = sandbox.run("pivot-back", { ...env, PULUMI_COMMAND_STDOUT: move.stdout.trim() });
        expect(back.status).toBe(0);
        for (const secret of ["pivot-mgmt-secret-1a1a", "pivot-workload-secret-2b2b"]) {
            expectSecretKept(sandbox, secret, [move, back]);
        }
        for (const line of (sandbox.readState("kubectl-get.modes") ?? "").split("\n").filter(Boolean)) {
            expect(line.endsWith(" 600")).toBe(true);
        }
    });
});
