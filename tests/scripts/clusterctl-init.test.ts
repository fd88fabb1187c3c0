/** clusterctl-init.sh against a fake clusterctl that installs like clusterctl >= v1.2 (skips installed providers). */
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox, clusterctlConfig, expectSecretKept, expectVersionsRequired, sha256 } from "./harness";

const MGMT_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: mgmt-secret-token-1f2e3d\n";
const XDG = [
    "XDG_CACHE_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
    "XDG_STATE_HOME",
];

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
        TINKERBELL_IP: "172.30.0.74",
        CAPI_VERSION: "v1.12.5",
        CAPT_VERSION: "v0.7.0",
    };
});
afterEach(() => sandbox.cleanup());

function lastInit(): Record<string, string> {
    return sandbox.readRecord("clusterctl-init.last");
}

describe("clusterctl-init", () => {
    test("after init it waits until every webhook service of the providers has a ready endpoint", () => {
        fs.writeFileSync(
            path.join(sandbox.state, "webhook-services"),
            "capi-system/capi-webhook-service\ncapt-system/capt-webhook-service\n",
        );
        const result = sandbox.run("clusterctl-init", { ...env, FAKE_WEBHOOKS_READY_AFTER: "3" });
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("the providers' webhooks have ready endpoints: 2 services");
        // Polled until the third answer said ready, for each service.
        for (const service of ["capi-webhook-service", "capt-webhook-service"]) {
            expect(sandbox.readState(`endpointslices-count.${service}`)).toBe("3\n");
        }
    }, 30_000);

    test("first run installs core, kubeadm and tinkerbell with the config and a private kubeconfig", () => {
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
        expect(sandbox.readState("installs")).toBe(
            "cluster-api\nbootstrap-kubeadm\ncontrol-plane-kubeadm\ninfrastructure-tinkerbell\n",
        );
        const configPath = path.join(stateDir, "clusterctl.yaml");
        expect(fs.readFileSync(configPath, "utf8")).toBe(clusterctlConfig());
        const seen = lastInit();
        expect(seen.config).toBe(configPath);
        expect(seen["kubeconfig-sha256"]).toBe(sha256(MGMT_KUBECONFIG));
        expect(seen["kubeconfig-mode"]).toBe("600");
        expect(seen["wait-providers"]).toBe("yes");
        expect(seen["wait-provider-timeout"]).toBe("600");
        expect(sandbox.calls("clusterctl", "init")).toEqual([
            `clusterctl init --config ${configPath} --kubeconfig ${seen.kubeconfig} --core cluster-api:v1.12.5 ` +
                "--bootstrap kubeadm:v1.12.5 --control-plane kubeadm:v1.12.5 --infrastructure tinkerbell:v0.7.0 " +
                "--wait-providers --wait-provider-timeout 600",
        ]);
        // The versions the operator installer pins, not clusterctl's newest release.
        for (const p of ["cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm"]) {
            expect(sandbox.readState(`inventory/${p}`)).toBe("v1.12.5\n");
        }
        expect(sandbox.readState("inventory/infrastructure-tinkerbell")).toBe("v0.7.0\n");
        // The private kubeconfig is gone once the script ends; nothing else was left in TMPDIR.
        expect(fs.existsSync(seen.kubeconfig)).toBe(false);
        expect(sandbox.tmpEntries()).toEqual([]);
        expect(fs.readFileSync(path.join(stateDir, "clusterctl-init.log"), "utf8")).toContain(
            'Installing provider="infrastructure-tinkerbell"',
        );
    });

    test("a line over 64 KiB reaches the log whole and stderr clipped (the Command's log reader stops at 64 KiB)", () => {
        const result = sandbox.run("clusterctl-init", { ...env, FAKE_CLUSTERCTL_LONG_LINE: "200000" });
        expect(result.status).toBe(0);
        const longest = Math.max(...result.stderr.split("\n").map((l) => Buffer.byteLength(l)));
        expect(longest).toBe(4096);
        const log = fs.readFileSync(path.join(stateDir, "clusterctl-init.log"), "utf8");
        expect(log.split("\n").some((l) => l.length === 200000)).toBe(true);
    });

    test("clusterctl's XDG directories, version check and TINKERBELL_IP are set as the playground does", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const seen = lastInit();
        for (const variable of XDG) {
            expect(seen[variable]).toBe(path.join(stateDir, "xdg"));
        }
        expect(fs.statSync(path.join(stateDir, "xdg")).isDirectory()).toBe(true);
        expect(seen.CLUSTERCTL_DISABLE_VERSIONCHECK).toBe("true");
        expect(seen.TINKERBELL_IP).toBe("172.30.0.74");
    });

    test("a second run succeeds without installing anything again", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const again = sandbox.run("clusterctl-init", env);
        expect(again.status).toBe(0);
        expect(again.stderr).toContain("Skipping installing cert-manager");
        expect(sandbox.readState("installs")?.split("\n").filter(Boolean)).toHaveLength(4);
        expect(sandbox.calls("clusterctl", "init")).toHaveLength(2);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("a different provider version already installed fails loudly, with the way out", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const bumped = sandbox.run("clusterctl-init", {
            ...env,
            CLUSTERCTL_CONFIG_CONTENT: clusterctlConfig("v0.8.0"),
            CAPT_VERSION: "v0.8.0",
        });
        expect(bumped.status).not.toBe(0);
        expect(bumped.stderr).toContain("there is already an instance of");
        expect(bumped.stderr).toContain("clusterctl upgrade apply");
        expect(bumped.stderr).toContain("captVersion");
        expect(sandbox.calls("clusterctl", "init")[1]).toContain("--infrastructure tinkerbell:v0.8.0");
        expect(sandbox.readState("installs")?.split("\n").filter(Boolean)).toHaveLength(4);
        // The failure path removes the private kubeconfig as well.
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("clusterctlVersion changed after the first run: the installed core stays (init never changes versions)", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        const bumped = sandbox.run("clusterctl-init", { ...env, CAPI_VERSION: "v1.12.6" });
        expect(bumped.status).toBe(0);
        expect(bumped.stderr).toContain('there is already an instance of the "cluster-api" provider');
        expect(bumped.stderr).toContain("already installed at another version than clusterctlVersion v1.12.6");
        expect(bumped.stderr).toContain("clusterctl upgrade apply");
        expect(sandbox.readState("installs")?.split("\n").filter(Boolean)).toHaveLength(4);
        expect(sandbox.readState("inventory/cluster-api")).toBe("v1.12.5\n");
    });

    test("a lab made before the versions were pinned, at a newer Cluster API: keeps it, nothing changed", () => {
        // What an unpinned `clusterctl init --infrastructure tinkerbell` left: the newest core release.
        for (const p of ["cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm"]) {
            sandbox.writeState(`inventory/${p}`, "v1.13.2");
        }
        sandbox.writeState("inventory/infrastructure-tinkerbell", "v0.7.0");
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("Cluster API is already installed at another version than clusterctlVersion");
        expect(sandbox.readState("installs")).toBeUndefined();
        expect(sandbox.readState("inventory/cluster-api")).toBe("v1.13.2");
        const inits = sandbox.calls("clusterctl").filter((c) => c.startsWith("clusterctl init"));
        expect(inits).toHaveLength(2);
        expect(inits[1]).toContain("--infrastructure tinkerbell:v0.7.0");
        expect(inits[1]).not.toContain("--core");
    });

    test("the same lab with another captVersion installed: refused with the way out, nothing installed", () => {
        for (const p of ["cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm"]) {
            sandbox.writeState(`inventory/${p}`, "v1.13.2");
        }
        sandbox.writeState("inventory/infrastructure-tinkerbell", "v0.6.5");
        const result = sandbox.run("clusterctl-init", env);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("Set those config keys to the installed versions");
        expect(sandbox.readState("installs")).toBeUndefined();
    });

    test("a first run that stopped after the core provider: the kubeadm providers are added on the next run", () => {
        sandbox.writeState("inventory/cluster-api", "v1.12.5");
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        expect(sandbox.readState("installs")).toBe(
            "bootstrap-kubeadm\ncontrol-plane-kubeadm\ninfrastructure-tinkerbell\n",
        );
        expect(sandbox.readState("inventory/control-plane-kubeadm")).toBe("v1.12.5\n");
    });

    test("refuses to run without the versions to install", () => {
        expectVersionsRequired(sandbox, "clusterctl-init", env);
    });

    test("WAIT_PROVIDER_TIMEOUT is passed through and validated", () => {
        expect(sandbox.run("clusterctl-init", { ...env, WAIT_PROVIDER_TIMEOUT: "42" }).status).toBe(0);
        expect(lastInit()["wait-provider-timeout"]).toBe("42");
        const bad = sandbox.run("clusterctl-init", { ...env, WAIT_PROVIDER_TIMEOUT: "10m" });
        expect(bad.status).toBe(2);
        expect(sandbox.calls("clusterctl", "init")).toHaveLength(1);
    });

    test("refuses a clusterctl older than v1.2.0, whose init is not idempotent", () => {
        const result = sandbox.run("clusterctl-init", { ...env, FAKE_CLUSTERCTL_VERSION: "v1.1.5" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("older than v1.2.0");
        expect(sandbox.calls("clusterctl", "init")).toEqual([]);
        expect(sandbox.tmpEntries()).toEqual([]);
    });

    test("the kubeconfig never reaches an argv, stderr or a child's environment", () => {
        const first = sandbox.run("clusterctl-init", env);
        const again = sandbox.run("clusterctl-init", env);
        expectSecretKept(sandbox, "mgmt-secret-token-1f2e3d", [first, again]);
        expect(fs.readFileSync(path.join(stateDir, "clusterctl-init.log"), "utf8")).not.toContain("mgmt-secret");
    });
});

describe("clusterctl-clean (the delete step of clusterctl init)", () => {
    const WORKLOAD_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: workload-7c7c\n";

    /** Everything `up` writes into the output directory: clusterctl's files, the kubeconfigs, the SSH key. */
    function createLab(): void {
        const write = (file: string, content: string) =>
            expect(
                sandbox.run("write-file", { FILE_PATH: path.join(stateDir, file), FILE_CONTENT: content }).status,
            ).toBe(0);
        write("kind.kubeconfig", MGMT_KUBECONFIG);
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        sandbox.writeState("workload.kubeconfig", WORKLOAD_KUBECONFIG);
        const wait = sandbox.run("wait-kubeconfig", {
            KUBECONFIG_CONTENT: MGMT_KUBECONFIG,
            CLUSTER_NAME: "capt-dev",
            NAMESPACE: "tink",
            TIMEOUT_SECONDS: "5",
            STATE_DIR: stateDir,
        });
        expect(wait.status).toBe(0);
        write("capt-dev.kubeconfig", wait.stdout);
        write("ssh/id_ed25519", "private key");
        expect(fs.readdirSync(stateDir).sort()).toEqual([
            "capt-dev.kubeconfig",
            "clusterctl-init.log",
            "clusterctl.yaml",
            "kind.kubeconfig",
            "ssh",
            "xdg",
        ]);
    }

    /** `destroy` in Pulumi's order: the files nothing depends on first, then the clusterctl Command. */
    function destroyLab(): void {
        for (const file of ["kind.kubeconfig", "capt-dev.kubeconfig", "ssh/id_ed25519"]) {
            expect(sandbox.run("remove-file", { FILE_PATH: path.join(stateDir, file) }).status).toBe(0);
        }
        const clean = sandbox.run("clusterctl-clean", env);
        expect(clean.status).toBe(0);
        expect(clean.stdout).toBe("");
    }

    test("after create then delete, the output directory is gone", () => {
        createLab();
        destroyLab();
        expect(fs.existsSync(stateDir)).toBe(false);
        // Its parent (.lab) is not the lab's to remove.
        expect(fs.existsSync(path.dirname(stateDir))).toBe(true);
    });

    test("a user's own file stays, and so does the directory holding it; nothing else does", () => {
        createLab();
        fs.writeFileSync(path.join(stateDir, "my-notes.txt"), "mine");
        destroyLab();
        expect(fs.readdirSync(stateDir)).toEqual(["my-notes.txt"]);
    });

    test("the clusterctl Command may also be deleted before the kubeconfig files", () => {
        createLab();
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(fs.readdirSync(stateDir).sort()).toEqual(["capt-dev.kubeconfig", "kind.kubeconfig", "ssh"]);
        for (const file of ["ssh/id_ed25519", "capt-dev.kubeconfig", "kind.kubeconfig"]) {
            expect(sandbox.run("remove-file", { FILE_PATH: path.join(stateDir, file) }).status).toBe(0);
        }
        expect(fs.existsSync(stateDir)).toBe(false);
    });

    test("tolerant: a second run, or a directory that never existed, is fine", () => {
        expect(sandbox.run("clusterctl-init", env).status).toBe(0);
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(sandbox.run("clusterctl-clean", env).status).toBe(0);
        expect(fs.existsSync(stateDir)).toBe(false);
        expect(sandbox.run("clusterctl-clean", { STATE_DIR: path.join(sandbox.root, "never") }).status).toBe(0);
        expect(sandbox.run("clusterctl-clean", {}).status).not.toBe(0);
    });
});
