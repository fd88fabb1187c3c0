/**
 * What the components hand to `local.Command` and to the BMC container, checked on the args builders
 * and on every resource of the real program under mocks:
 * - every Command runs its script from the file, with the script's hash in its environment, and
 *   never gets the previous stdout (`addPreviousOutputInEnv: false`);
 * - a failing Command's error (formatted as pulumi-command v1.2.1 does) holds the script's path and
 *   its own output, not the script;
 * - the clusterctl Command has a delete that runs on destroy (no `deletedWith`);
 * - the CNI release gets the workload budget as its timeout;
 * - the BMC's TLS key and htpasswd are uploaded with mode 0600.
 */
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { clusterctlFilesArgs, clusterctlInitArgs } from "../../components/cluster-api";
import { kindCommandArgs } from "../../components/kind-cluster";
import { localFileCommandArgs } from "../../components/local-file";
import {
    CommandScriptName,
    commandScriptPath,
    commandScriptRunPath,
    commandScriptSha256,
} from "../../components/scripts";
import { bmcUploads, registrationArgs } from "../../components/virtual-bmc";
import { WorkloadClusterArgs, waitKubeconfigArgs } from "../../components/workload-cluster";
import { SUSHY_CERT_PATH, SUSHY_CONFIG_PATH, SUSHY_HTPASSWD_PATH, SUSHY_KEY_PATH } from "../../lib/render/virtual-bmc";
import { labPlan } from "../fixtures";
import { ProgramRun, byType, isSecretValue, one, runProgram } from "../program/harness";
import { Sandbox } from "./harness";

const { config, plan } = labPlan();
const KUBECONFIG = pulumi.output("apiVersion: v1\nkind: Config\n");

const BUILDERS: [string, () => command.local.CommandArgs, CommandScriptName, CommandScriptName | undefined][] = [
    ["kind", () => kindCommandArgs({ config, plan, networkName: "net" }), "kind-create", "kind-delete"],
    ["clusterctl", () => clusterctlInitArgs({ config, plan, kubeconfig: KUBECONFIG }), "clusterctl-init", undefined],
    ["clusterctl files", () => clusterctlFilesArgs({ config, plan }), "clusterctl-claim", "clusterctl-clean"],
    [
        "kubeconfig wait",
        () => waitKubeconfigArgs({ config, plan, managementKubeconfig: KUBECONFIG } as WorkloadClusterArgs),
        "wait-kubeconfig",
        undefined,
    ],
    [
        "BMC registration",
        () => registrationArgs({ plan, username: "admin", password: pulumi.output("pw") }, plan.machines[0], "id"),
        "vbmc-register",
        "vbmc-unregister",
    ],
    ["local file", () => localFileCommandArgs({ path: "/tmp/x", content: "c" }), "write-file", "remove-file"],
];

/** pulumi-command v1.2.1 provider/pkg/provider/local/commandOutputs.go `run`, on a non-zero exit. */
function providerFailureMessage(create: string, status: number, combinedOutput: string): string {
    return `exit status ${status}: running ${JSON.stringify(create)}:\n${combinedOutput}`;
}

describe.each(BUILDERS)("%s Command args", (_, build, createScript, deleteScript) => {
    const args = build();

    test("run the scripts from their files, never the previous stdout", () => {
        expect(args.interpreter).toEqual(["/bin/bash"]);
        expect(args.create).toBe(commandScriptRunPath(createScript));
        expect(args.delete).toBe(deleteScript ? commandScriptRunPath(deleteScript) : undefined);
        expect(args.addPreviousOutputInEnv).toBe(false);
    });

    test("an edited script changes the inputs: its hash is in the environment", () => {
        const environment = args.environment as Record<string, unknown>;
        expect(environment.SCRIPT_SHA256).toBe(commandScriptSha256(createScript));
        expect(environment.DELETE_SCRIPT_SHA256).toBe(deleteScript ? commandScriptSha256(deleteScript) : undefined);
    });
});

/** The hash scriptCommandArgs gives the script a Command runs, found by that path. */
function scriptFileSha256(runPath: string): string {
    const name = path.basename(runPath, ".sh") as CommandScriptName;
    expect(path.resolve(runPath)).toBe(path.resolve(commandScriptPath(name)));
    return commandScriptSha256(name);
}

test("a failing Command reports the script's path and the script's own output, not its text", () => {
    const sandbox = new Sandbox();
    try {
        const create = kindCommandArgs({ config, plan, networkName: "net" }).create as string;
        const result = sandbox.run(
            "kind-create",
            { KIND_CLUSTER_NAME: "lab", KIND_EXPERIMENTAL_DOCKER_NETWORK: "net", FAKE_KIND_BROKEN: "1" },
            "kind: Cluster\n",
        );
        expect(result.status).not.toBe(0);
        const message = providerFailureMessage(create, result.status!, result.stdout + result.stderr);
        expect(message).toBe(
            'exit status 1: running "components/scripts/kind-create.sh":\n' +
                "ERROR: failed to list clusters: cannot reach docker\n",
        );
    } finally {
        sandbox.cleanup();
    }
});

test("the BMC's TLS key and htpasswd are uploaded with mode 0600, the rest with the default", () => {
    const uploads = bmcUploads(
        { libvirt: { uri: "qemu:///system", poolName: "p", storageDir: "/d" } },
        { htpasswd: "h", tlsKeyPem: "k", tlsCertPem: "c" },
    );
    expect(uploads.map((u) => [u.file, u.permissions])).toEqual([
        [SUSHY_CONFIG_PATH, undefined],
        [SUSHY_HTPASSWD_PATH, "0600"],
        [SUSHY_KEY_PATH, "0600"],
        [SUSHY_CERT_PATH, undefined],
    ]);
});

/** A registered input with its secret wrappers taken off (an environment holding a secret is one). */
function plain<T>(value: unknown): T {
    if (isSecretValue(value)) return plain((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map((item) => plain(item)) as T;
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
    }
    return value as T;
}

describe("the whole program (mocks, update)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ preflight: "false" }, { stack: "dev", preview: false });
    });

    test("every local.Command runs a script file, with its hash, without the previous output", () => {
        const commands = byType(run, "command:local:Command");
        expect(commands.length).toBeGreaterThanOrEqual(5);
        for (const { name, inputs } of commands) {
            const environment = plain<Record<string, string>>(inputs.environment);
            const scripts = { create: inputs.create as string, delete: inputs.delete as string | undefined };
            expect({ name, interpreter: inputs.interpreter, noPrevious: inputs.addPreviousOutputInEnv }).toEqual({
                name,
                interpreter: ["/bin/bash"],
                noPrevious: false,
            });
            expect(path.isAbsolute(scripts.create)).toBe(false);
            // The hash of the file the Command runs (and of the libraries it sources).
            expect(environment.SCRIPT_SHA256).toBe(scriptFileSha256(scripts.create));
            if (scripts.delete) {
                expect(environment.DELETE_SCRIPT_SHA256).toBe(scriptFileSha256(scripts.delete));
            }
        }
    });

    test("clusterctl's files are cleaned on destroy by a Command that init depends on, never deletedWith", () => {
        const files = one(run, "command:local:Command", "capi-files");
        const init = one(run, "command:local:Command", "capi-init");
        expect(files.inputs.delete).toBe(commandScriptRunPath("clusterctl-clean"));
        expect(files.deletedWith).toBe("");
        expect(init.dependencies).toContain(files.urn);
    });

    test("the cilium release may take the whole workload budget", () => {
        const release = one(run, "kubernetes:helm.sh/v3:Release", "workload-cilium");
        expect(release.inputs.timeout).toBe(config.workloadTimeoutMinutes * 60);
        const wait = one(run, "command:local:Command", "workload-kubeconfig");
        expect(plain<Record<string, string>>(wait.inputs.environment).TIMEOUT_SECONDS).toBe(
            String(config.workloadTimeoutMinutes * 60),
        );
    });

    test("the BMC container gets its secret files with mode 0600", () => {
        const container = one(run, "docker:index/container:Container", "bmc-container");
        const modes = Object.fromEntries(
            plain<{ file: string; permissions?: string }[]>(container.inputs.uploads).map((u) => [
                u.file,
                u.permissions,
            ]),
        );
        expect(modes[SUSHY_KEY_PATH]).toBe("0600");
        expect(modes[SUSHY_HTPASSWD_PATH]).toBe("0600");
    });
});
