/** kind-create.sh / kind-delete.sh against a fake `kind` that keeps its cluster list in a file. */
import { Sandbox, expectSecretKept } from "./harness";

const KIND_CONFIG = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  podSubnet: 10.244.0.0/16\n";
const ENV = { KIND_CLUSTER_NAME: "lab-dev", KIND_EXPERIMENTAL_DOCKER_NETWORK: "capt-dev" };
const kubeconfigOf = (name: string) =>
    `apiVersion: v1\nkind: Config\nclusters:\n- name: kind-${name}\nusers:\n- user:\n    token: kind-secret-token-${name}\n`;

let sandbox: Sandbox;
beforeEach(() => {
    sandbox = new Sandbox();
});
afterEach(() => sandbox.cleanup());

describe("kind-create", () => {
    test("creates the cluster from the config on stdin and prints only its kubeconfig", () => {
        const result = sandbox.run("kind-create", ENV, KIND_CONFIG);
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(kubeconfigOf("lab-dev"));
        expect(sandbox.calls("kind", "create", "cluster")).toEqual([
            "kind create cluster --name lab-dev --config - --wait 5m",
        ]);
        expect(sandbox.readState("kind-config.lab-dev")).toBe(KIND_CONFIG);
        expect(sandbox.readState("kind-network.lab-dev")).toBe("capt-dev\n");
        // kind's own progress goes to stderr, never into the captured kubeconfig.
        expect(result.stderr).toContain('Creating cluster "lab-dev"');
    });

    test("a second run does not create again and still prints the kubeconfig", () => {
        expect(sandbox.run("kind-create", ENV, KIND_CONFIG).status).toBe(0);
        const again = sandbox.run("kind-create", ENV, KIND_CONFIG);
        expect(again.status).toBe(0);
        expect(again.stdout).toBe(kubeconfigOf("lab-dev"));
        expect(again.stderr).toContain("already exists");
        expect(sandbox.calls("kind", "create")).toHaveLength(1);
        expect(sandbox.calls("kind", "get", "kubeconfig")).toHaveLength(2);
    });

    test("matches the cluster name exactly, not as a prefix or substring", () => {
        sandbox.writeState("kind-clusters", "lab-dev-2\nold-lab-dev\n");
        const result = sandbox.run("kind-create", ENV, KIND_CONFIG);
        expect(result.status).toBe(0);
        expect(sandbox.calls("kind", "create")).toHaveLength(1);
        expect(sandbox.readState("kind-clusters")).toBe("lab-dev-2\nold-lab-dev\nlab-dev\n");
    });

    test("passes KIND_WAIT through", () => {
        expect(sandbox.run("kind-create", { ...ENV, KIND_WAIT: "90s" }, KIND_CONFIG).status).toBe(0);
        expect(sandbox.readState("kind-wait")).toBe("90s\n");
    });

    test("refuses to create without a config on stdin", () => {
        const result = sandbox.run("kind-create", ENV, "");
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("config must be given on stdin");
        expect(sandbox.calls("kind", "create")).toEqual([]);
    });

    test("stops when kind cannot list clusters instead of creating blindly", () => {
        const result = sandbox.run("kind-create", { ...ENV, FAKE_KIND_BROKEN: "1" }, KIND_CONFIG);
        expect(result.status).not.toBe(0);
        expect(result.stdout).toBe("");
        expect(sandbox.calls("kind", "create")).toEqual([]);
    });

    test("requires the docker network", () => {
        const result = sandbox.run("kind-create", { KIND_CLUSTER_NAME: "lab-dev" }, KIND_CONFIG);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain("KIND_EXPERIMENTAL_DOCKER_NETWORK is required");
        expect(sandbox.argvLines()).toEqual([]);
    });

    // The previous stdout never reaches the script at all: scriptCommandArgs sets addPreviousOutputInEnv: false.
    test("the kubeconfig never reaches an argv, stderr or a child's environment", () => {
        const first = sandbox.run("kind-create", ENV, KIND_CONFIG);
        const again = sandbox.run("kind-create", ENV, KIND_CONFIG);
        expectSecretKept(sandbox, "kind-secret-token-lab-dev", [first, again]);
    });
});

describe("kind-delete", () => {
    test("deletes only the named cluster", () => {
        sandbox.writeState("kind-clusters", "lab-dev\nlab-dev-2\n");
        const result = sandbox.run("kind-delete", { KIND_CLUSTER_NAME: "lab-dev" });
        expect(result.status).toBe(0);
        expect(sandbox.calls("kind", "delete")).toEqual(["kind delete cluster --name lab-dev"]);
        expect(sandbox.readState("kind-clusters")).toBe("lab-dev-2\n");
        expectSecretKept(sandbox, "kind-secret-token-lab-dev", [result]);
    });

    test("a missing cluster is fine and nothing is deleted", () => {
        sandbox.writeState("kind-clusters", "lab-dev-2\n");
        const result = sandbox.run("kind-delete", { KIND_CLUSTER_NAME: "lab-dev" });
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("nothing to delete");
        expect(sandbox.calls("kind", "delete")).toEqual([]);
        expect(sandbox.readState("kind-clusters")).toBe("lab-dev-2\n");
    });

    test("create, delete, delete again, create again", () => {
        expect(sandbox.run("kind-create", ENV, KIND_CONFIG).status).toBe(0);
        expect(sandbox.run("kind-delete", ENV).status).toBe(0);
        expect(sandbox.run("kind-delete", ENV).status).toBe(0);
        expect(sandbox.calls("kind", "delete")).toHaveLength(1);
        expect(sandbox.run("kind-create", ENV, KIND_CONFIG).stdout).toBe(kubeconfigOf("lab-dev"));
        expect(sandbox.calls("kind", "create")).toHaveLength(2);
    });
});
