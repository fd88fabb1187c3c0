/**
 * clusterctl-init.sh and clusterctl-delete.sh against an existing management cluster
 * (MANAGEMENT_CLUSTER=existing): adopt what is there, record what this stack installed, delete only that.
 * The fake kubectl reads the fake clusterctl's inventory ($state/inventory/<name> holds the version).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox, clusterctlConfig, expectSecretKept } from "./harness";

const MGMT_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: existing-secret-token-4c4c\n";
const ALL = ["bootstrap-kubeadm", "cluster-api", "control-plane-kubeadm", "infrastructure-tinkerbell"];

let sandbox: Sandbox;
let stateDir: string;
let env: Record<string, string>;
beforeEach(() => {
    sandbox = new Sandbox();
    stateDir = path.join(sandbox.root, "project", ".lab", "dev");
    env = {
        KUBECONFIG_CONTENT: MGMT_KUBECONFIG,
        CLUSTERCTL_CONFIG_CONTENT: clusterctlConfig(),
        STATE_DIR: stateDir,
        TINKERBELL_IP: "10.10.0.74",
        MANAGEMENT_CLUSTER: "existing",
        CAPI_VERSION: "v1.12.5",
        CAPT_VERSION: "v0.7.0",
    };
});
afterEach(() => sandbox.cleanup());

function seed(providers: Record<string, string>): void {
    fs.mkdirSync(sandbox.stateFile("inventory"), { recursive: true });
    for (const [name, version] of Object.entries(providers)) {
        sandbox.writeState(`inventory/${name}`, version);
    }
}

function inventory(): string[] {
    return sandbox.listState("inventory");
}

function deleteLast(): Record<string, string> {
    return sandbox.readRecord("clusterctl-delete.last");
}

describe("an init killed after clusterctl installed the providers (its Command recorded no stdout)", () => {
    test("the next run still records them as this stack's, and destroy removes them", () => {
        seed({ "cluster-api": "v1.12.5" });
        const killed = sandbox.run("clusterctl-init", { ...env, FAKE_CLUSTERCTL_KILLED_AFTER_INSTALL: "1" });
        expect(killed.status).toBeNull();
        expect(inventory()).toEqual(ALL);

        const again = sandbox.run("clusterctl-init", env);
        expect(again.status).toBe(0);
        expect(again.stderr).toContain("an earlier run of this create did not finish");
        expect(again.stdout).toBe("installed=bootstrap-kubeadm,control-plane-kubeadm,infrastructure-tinkerbell\n");

        const removed = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: again.stdout });
        expect(removed.status).toBe(0);
        expect(inventory()).toEqual(["cluster-api"]);
        expect(fs.existsSync(stateDir)).toBe(false);
    });

    test("destroy straight after the kill (nothing recorded) removes what that run installed, and only that", () => {
        seed({ "cluster-api": "v1.12.5" });
        expect(sandbox.run("clusterctl-init", { ...env, FAKE_CLUSTERCTL_KILLED_AFTER_INSTALL: "1" }).status).toBeNull();
        const removed = sandbox.run("clusterctl-delete", env);
        expect(removed.status).toBe(0);
        expect(removed.stderr).toContain(
            "an init that never finished installed: bootstrap-kubeadm,control-plane-kubeadm,infrastructure-tinkerbell",
        );
        expect(inventory()).toEqual(["cluster-api"]);
        expect(fs.existsSync(stateDir)).toBe(false);
    });
});

describe("clusterctl-init against an existing management cluster", () => {
    test("an empty cluster: installs everything and records all four providers", () => {
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`installed=${ALL.join(",")}\n`);
        const [init] = sandbox.calls("clusterctl", "init");
        expect(init).toContain(
            "--core cluster-api:v1.12.5 --bootstrap kubeadm:v1.12.5 --control-plane kubeadm:v1.12.5 " +
                "--infrastructure tinkerbell:v0.7.0 --wait-providers",
        );
        expect(inventory()).toEqual(ALL);
        expect(sandbox.readState("inventory/cluster-api")).toBe("v1.12.5\n");
        // kubectl only reads: the inventory, and the webhooks the wait after init looks for.
        expect(
            sandbox
                .calls("kubectl", "--kubeconfig")
                .every((c) =>
                    / get (providers\.clusterctl\.cluster\.x-k8s\.io|validatingwebhookconfigurations,mutatingwebhookconfigurations) /.test(
                        c,
                    ),
                ),
        ).toBe(true);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("all providers there at the wanted versions: adopted, no clusterctl init at all", () => {
        seed({
            "cluster-api": "v1.12.8",
            "bootstrap-kubeadm": "v1.12.8",
            "control-plane-kubeadm": "v1.12.8",
            "infrastructure-tinkerbell": "v0.7.0",
        });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("installed=\n");
        expect(result.stderr).toContain("adopting them without installing anything");
        expect(sandbox.calls("clusterctl", "init")).toEqual([]);
        expect(sandbox.readState("installs")).toBeUndefined();
    });

    test("the core providers older than clusterctlVersion are not adopted: init runs (and adds nothing)", () => {
        seed({
            "cluster-api": "v1.11.3",
            "bootstrap-kubeadm": "v1.11.3",
            "control-plane-kubeadm": "v1.11.3",
            "infrastructure-tinkerbell": "v0.7.0",
        });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        // The user's core and kubeadm providers are not asked for, so clusterctl leaves them be.
        const [init] = sandbox.calls("clusterctl", "init");
        expect(init).not.toContain("--core");
        expect(init).not.toContain("kubeadm");
        expect(init).toContain("--infrastructure tinkerbell:v0.7.0 --wait-providers");
        expect(result.stdout).toBe("installed=\n");
    });

    test("the user's core providers without CAPT: only CAPT is installed and recorded", () => {
        seed({ "cluster-api": "v1.12.5", "bootstrap-kubeadm": "v1.12.5", "control-plane-kubeadm": "v1.12.5" });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("installed=infrastructure-tinkerbell\n");
        expect(sandbox.readState("installs")).toBe("infrastructure-tinkerbell\n");
    });

    test("the user's newer core providers without CAPT: kept at their version, CAPT added at captVersion", () => {
        seed({ "cluster-api": "v1.13.2", "bootstrap-kubeadm": "v1.13.2", "control-plane-kubeadm": "v1.13.2" });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("installed=infrastructure-tinkerbell\n");
        expect(sandbox.readState("inventory/cluster-api")).toBe("v1.13.2");
        expect(sandbox.readState("inventory/infrastructure-tinkerbell")).toBe("v0.7.0\n");
    });

    test("the user's core provider without the kubeadm ones: those are added at clusterctlVersion", () => {
        seed({ "cluster-api": "v1.13.2" });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        const [init] = sandbox.calls("clusterctl", "init");
        expect(init).not.toContain("--core");
        expect(init).toContain(
            "--bootstrap kubeadm:v1.12.5 --control-plane kubeadm:v1.12.5 --infrastructure tinkerbell:v0.7.0",
        );
        expect(result.stdout).toBe("installed=bootstrap-kubeadm,control-plane-kubeadm,infrastructure-tinkerbell\n");
    });

    test("CAPT at another version: clusterctl's refusal, with the way out", () => {
        seed({
            "cluster-api": "v1.12.5",
            "bootstrap-kubeadm": "v1.12.5",
            "control-plane-kubeadm": "v1.12.5",
            "infrastructure-tinkerbell": "v0.6.8",
        });
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).not.toBe(0);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("clusterctl upgrade apply");
    });

    test("a re-run keeps the record of what the first run installed (the previous stdout)", () => {
        const first = sandbox.run("clusterctl-init", env);
        expect(first.stdout).toBe(`installed=${ALL.join(",")}\n`);
        const again = sandbox.run("clusterctl-init", { ...env, PULUMI_COMMAND_STDOUT: first.stdout.trim() });
        expect(again.status).toBe(0);
        expect(sandbox.calls("clusterctl", "init")).toHaveLength(1);
        expect(again.stdout).toBe(first.stdout);
        // Without the previous output the same cluster reads as adopted.
        expect(sandbox.run("clusterctl-init", env).stdout).toBe("installed=\n");
    });

    test("an unreachable cluster fails before clusterctl runs", () => {
        sandbox.writeState("unreachable", "");
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("cannot read the Cluster API provider inventory");
        expect(sandbox.calls("clusterctl", "init")).toEqual([]);
    });

    test("the KinD mode reads no inventory with kubectl, and prints nothing on stdout", () => {
        const { MANAGEMENT_CLUSTER, ...kind } = env;
        expect(MANAGEMENT_CLUSTER).toBe("existing");
        const result = sandbox.run("clusterctl-init", kind);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
        // kubectl only for the wait on the providers' webhooks (none here), never for the inventory.
        expect(sandbox.calls("kubectl").map((c) => c.split(" ").slice(3, 5).join(" "))).toEqual([
            "get validatingwebhookconfigurations,mutatingwebhookconfigurations",
        ]);
    });

    test("refuses an unknown MANAGEMENT_CLUSTER and a missing CAPT_VERSION", () => {
        expect(sandbox.run("clusterctl-init", { ...env, MANAGEMENT_CLUSTER: "remote" }).status).toBe(2);
        const { CAPT_VERSION, ...noCapt } = env;
        expect(CAPT_VERSION).toBe("v0.7.0");
        expect(sandbox.run("clusterctl-init", noCapt).status).not.toBe(0);
        expect(sandbox.argvLines()).toEqual([]);
    });
});

describe("clusterctl-delete: removes what this stack installed, and only that", () => {
    test("everything installed here: clusterctl delete --all, then the files are gone", () => {
        const init = sandbox.run("clusterctl-init", env);
        const result = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() });
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
        const seen = deleteLast();
        expect(seen.all).toBe("yes");
        expect(seen["include-crd"]).toBe("yes");
        expect(seen["include-namespace"]).toBe("yes");
        expect(seen["kubeconfig-mode"]).toBe("600");
        expect(inventory()).toEqual([]);
        expect(result.stderr).toContain("cert-manager");
        expect(fs.existsSync(stateDir)).toBe(false);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("adopted providers: no clusterctl delete, only the files", () => {
        seed({
            "cluster-api": "v1.12.5",
            "bootstrap-kubeadm": "v1.12.5",
            "control-plane-kubeadm": "v1.12.5",
            "infrastructure-tinkerbell": "v0.7.0",
        });
        const init = sandbox.run("clusterctl-init", env);
        expect(init.stdout).toBe("installed=\n");
        const result = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() });
        expect(result.status).toBe(0);
        expect(sandbox.calls("clusterctl", "delete")).toEqual([]);
        // The inventory read and the wait on the (already running) webhooks.
        expect(sandbox.calls("kubectl")).toHaveLength(2);
        expect(inventory()).toEqual(ALL);
        // No previous output at all (a Command created before the record existed): the same.
        expect(sandbox.run("clusterctl-delete", env).status).toBe(0);
        expect(sandbox.calls("clusterctl", "delete")).toEqual([]);
    });

    test("only CAPT installed here: one flag, the user's core providers stay", () => {
        seed({ "cluster-api": "v1.12.5", "bootstrap-kubeadm": "v1.12.5", "control-plane-kubeadm": "v1.12.5" });
        const init = sandbox.run("clusterctl-init", env);
        const result = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() });
        expect(result.status).toBe(0);
        const [call] = sandbox.calls("clusterctl", "delete");
        expect(call).toMatch(/--infrastructure tinkerbell --include-crd --include-namespace$/);
        expect(call).not.toContain("--all");
        expect(inventory()).toEqual(["bootstrap-kubeadm", "cluster-api", "control-plane-kubeadm"]);
    });

    test("a provider someone added after the lab stays: per-provider flags instead of --all", () => {
        const init = sandbox.run("clusterctl-init", env);
        sandbox.writeState("inventory/infrastructure-docker", "v1.12.5");
        const result = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() });
        expect(result.status).toBe(0);
        expect(deleteLast().all).toBe("");
        expect(deleteLast().targets.split(" ").sort()).toEqual(ALL);
        expect(inventory()).toEqual(["infrastructure-docker"]);
        expect(result.stderr).toContain("leaving the providers this stack did not install: infrastructure-docker");
    });

    test("idempotent: a second delete finds nothing recorded still installed", () => {
        const init = sandbox.run("clusterctl-init", env);
        const previous = { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() };
        expect(sandbox.run("clusterctl-delete", previous).status).toBe(0);
        const again = sandbox.run("clusterctl-delete", previous);
        expect(again.status).toBe(0);
        expect(sandbox.calls("clusterctl", "delete")).toHaveLength(1);
    });

    test("the kubeconfig never reaches an argv, stderr or a child's environment", () => {
        const init = sandbox.run("clusterctl-init", env);
        const del = sandbox.run("clusterctl-delete", { ...env, PULUMI_COMMAND_STDOUT: init.stdout.trim() });
        expectSecretKept(sandbox, "existing-secret-token-4c4c", [init, del]);
        for (const line of (sandbox.readState("kubectl-get.modes") ?? "").split("\n").filter(Boolean)) {
            expect(line.endsWith(" 600")).toBe(true);
        }
    });
});
