/**
 * wait-kubeconfig.sh against a fake clusterctl whose `get kubeconfig` succeeds from the Nth attempt and a
 * fake kubectl whose `get --raw=/readyz` (the workload API server) answers from the Mth request.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox, expectSecretKept, sha256 } from "./harness";

const MGMT_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: mgmt-secret-token-77aa\n";
const WORKLOAD_KUBECONFIG =
    "apiVersion: v1\nkind: Config\nusers:\n- user:\n    client-key-data: workload-secret-key-99bb\n";

let sandbox: Sandbox;
let stateDir: string;
let env: Record<string, string>;
beforeEach(() => {
    sandbox = new Sandbox();
    stateDir = path.join(sandbox.root, "out");
    env = {
        KUBECONFIG_CONTENT: MGMT_KUBECONFIG,
        CLUSTER_NAME: "capt-dev",
        NAMESPACE: "tink",
        TIMEOUT_SECONDS: "20",
        POLL_SECONDS: "1",
        STATE_DIR: stateDir,
        CONSOLE_LOG_DIR: "/var/lib/libvirt/images/capt-dev",
        API_ENDPOINT: "10.71.0.19:6443",
    };
});
afterEach(() => sandbox.cleanup());

function lastGet(file = "clusterctl-get.last"): Record<string, string> {
    return sandbox.readRecord(file);
}

describe("wait-kubeconfig", () => {
    test("polls until clusterctl returns the kubeconfig, then prints exactly that", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const result = sandbox.run("wait-kubeconfig", { ...env, FAKE_KUBECONFIG_READY_AFTER: "3" });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(WORKLOAD_KUBECONFIG);
        expect(sandbox.readState("get-count")).toBe("3\n");
        const seen = lastGet();
        expect(sandbox.calls("clusterctl", "get", "kubeconfig")).toEqual(
            Array(3).fill(`clusterctl get kubeconfig capt-dev -n tink --kubeconfig ${seen.kubeconfig}`),
        );
        expect(seen["kubeconfig-sha256"]).toBe(sha256(MGMT_KUBECONFIG));
        for (const variable of ["XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"]) {
            expect(seen[variable]).toBe(path.join(stateDir, "xdg"));
        }
        expect(seen.CLUSTERCTL_DISABLE_VERSIONCHECK).toBe("true");
        expect(fs.existsSync(seen.kubeconfig)).toBe(false);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("returns at once when the kubeconfig exists and the API server already answers", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const result = sandbox.run("wait-kubeconfig", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(WORKLOAD_KUBECONFIG);
        expect(sandbox.calls("clusterctl", "get")).toHaveLength(1);
        expect(sandbox.calls("kubectl")).toHaveLength(1);
    });

    test("times out with what to look at", () => {
        const started = Date.now();
        const result = sandbox.run("wait-kubeconfig", { ...env, TIMEOUT_SECONDS: "2" });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("");
        expect(Date.now() - started).toBeLessThan(8000);
        expect(sandbox.calls("clusterctl", "get").length).toBeGreaterThanOrEqual(2);
        const message = result.stderr;
        expect(message).toContain(
            "timed out after 2s waiting for the kubeconfig of cluster capt-dev in namespace tink",
        );
        expect(message).toContain('secret "capt-dev-kubeconfig" not found');
        expect(message).toContain(`export KUBECONFIG=${path.join(stateDir, "kind.kubeconfig")}`);
        expect(message).toContain("kubectl get workflows -n tink");
        expect(message).toContain("kubectl get jobs.bmc.tinkerbell.org -n tink");
        expect(message).toContain("kubectl get hardware -n tink");
        expect(message).toContain("clusterctl describe cluster capt-dev -n tink");
        expect(message).toContain("/var/lib/libvirt/images/capt-dev/*.console.log");
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("names MGMT_KUBECONFIG_PATH when given", () => {
        const result = sandbox.run("wait-kubeconfig", {
            ...env,
            TIMEOUT_SECONDS: "0",
            MGMT_KUBECONFIG_PATH: "/somewhere/mgmt.kubeconfig",
        });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("export KUBECONFIG=/somewhere/mgmt.kubeconfig");
        expect(sandbox.calls("clusterctl", "get")).toHaveLength(1);
    });

    test("rejects a timeout that is not a number", () => {
        const result = sandbox.run("wait-kubeconfig", { ...env, TIMEOUT_SECONDS: "30m" });
        expect(result.status).toBe(2);
        expect(sandbox.argvLines()).toEqual([]);
    });

    test("neither kubeconfig reaches an argv, stderr or a child's environment", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const result = sandbox.run("wait-kubeconfig", {
            ...env,
            FAKE_KUBECONFIG_READY_AFTER: "2",
            FAKE_API_READY_AFTER: "2",
        });
        expect(result.status).toBe(0);
        expect(sandbox.calls("kubectl")).toHaveLength(2);
        expectSecretKept(sandbox, "mgmt-secret-token-77aa", [result]);
        expectSecretKept(sandbox, "workload-secret-key-99bb", [result]);
    });
});

describe("wait-kubeconfig: the kubeconfig exists before the API server answers", () => {
    // What Cluster API really does: the Secret exists about a minute in, the VIP answers many minutes later.
    test("keeps waiting until /readyz answers through that kubeconfig, then prints the kubeconfig", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const result = sandbox.run("wait-kubeconfig", { ...env, FAKE_API_READY_AFTER: "3" });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(WORKLOAD_KUBECONFIG);
        expect(sandbox.readState("readyz-count")).toBe("3\n");
        // The kubeconfig is fetched once; the probes go through it, as a private temp file.
        expect(sandbox.calls("clusterctl", "get")).toHaveLength(1);
        const seen = lastGet("kubectl-readyz.last");
        expect(seen["kubeconfig-sha256"]).toBe(sha256(WORKLOAD_KUBECONFIG));
        expect(seen["kubeconfig-mode"]).toBe("600");
        expect(sandbox.calls("kubectl")).toEqual(
            Array(3).fill(`kubectl --kubeconfig ${seen.kubeconfig} --request-timeout=10s get --raw=/readyz`),
        );
        expect(result.stderr).toContain("waiting for its API server to answer");
        expect(fs.existsSync(seen.kubeconfig)).toBe(false);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("one budget for both: the kubeconfig on the 2nd attempt, the API on the 3rd probe", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const result = sandbox.run("wait-kubeconfig", {
            ...env,
            FAKE_KUBECONFIG_READY_AFTER: "2",
            FAKE_API_READY_AFTER: "3",
        });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(WORKLOAD_KUBECONFIG);
        expect(sandbox.calls("clusterctl", "get")).toHaveLength(2);
        expect(sandbox.calls("kubectl")).toHaveLength(3);
    });

    test("an API server that never answers times out with diagnostics and prints nothing", () => {
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const started = Date.now();
        const result = sandbox.run("wait-kubeconfig", { ...env, TIMEOUT_SECONDS: "2", FAKE_API_READY_AFTER: "never" });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("");
        expect(Date.now() - started).toBeLessThan(8000);
        expect(sandbox.calls("clusterctl", "get")).toHaveLength(1);
        expect(sandbox.calls("kubectl").length).toBeGreaterThanOrEqual(2);
        // The last request is capped by what is left of the budget.
        expect(lastGet("kubectl-readyz.last")["request-timeout"]).toMatch(/^[12]s$/);
        const message = result.stderr;
        expect(message).toContain(
            "timed out after 2s: the kubeconfig of cluster capt-dev in namespace tink exists, " +
                "but its API server at 10.71.0.19:6443 does not answer /readyz",
        );
        expect(message).toContain("dial tcp 10.71.0.19:6443: connect: no route to host");
        expect(message).toContain(`export KUBECONFIG=${path.join(stateDir, "kind.kubeconfig")}`);
        expect(message).toContain("kubectl get workflows -n tink");
        expect(message).toContain("clusterctl describe cluster capt-dev -n tink");
        expect(message).toContain("/var/lib/libvirt/images/capt-dev/*.console.log");
        expect(message).not.toContain("workload-secret-key-99bb");
        expect(sandbox.tmpEntries()).toEqual([]);
    });
});
