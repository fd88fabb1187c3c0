/**
 * The capt-playground program: validated config -> plan -> components, wired in dependency order:
 *
 *   network -> { KinD -> { Tinkerbell chart, clusterctl init }, BMC container, pool/volumes/domains }
 *     -> BMC registrations -> hardware inventory -> Cluster API objects -> workload API -> CNI
 *
 * The program touches the host only through resources and the preflight (config `preflight`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { ClusterApi } from "./components/cluster-api";
import { HardwareInventory } from "./components/hardware-inventory";
import { KindCluster } from "./components/kind-cluster";
import { LabNetwork } from "./components/lab-network";
import { LocalFile } from "./components/local-file";
import { Machines } from "./components/machines";
import { TinkerbellStack } from "./components/tinkerbell-stack";
import { VirtualBmc } from "./components/virtual-bmc";
import { WorkloadCluster } from "./components/workload-cluster";
import { LabConfig, parseLabConfig, projectKeys } from "./lib/config";
import { formatFindings, preflightFailed } from "./lib/preflight";
import { runPreflight } from "./lib/host-facts";
import { LabPlan, planLab, planSummary } from "./lib/plan";
import { MINIMUM_PULUMI_VERSION, PULUMI_VERSION_RANGE } from "./lib/pulumi-version";
import { labFiles, nextSteps, tinkerbellUiUrl } from "./lib/render/next-steps";

/** `isConfigSecret` is exported by the SDK's runtime but left out of its typings. */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/** Raw stack config -> LabConfig and plan; throws with every problem before any resource exists. */
function readLabConfig(): { config: LabConfig; plan: LabPlan } {
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    const config = parseLabConfig(projectKeys(pulumi.runtime.allConfig()), {
        stack,
        isSecret: (key) => isConfigSecret(`${project}:${key}`),
    });
    return { config, plan: planLab(config, { project, stack, projectDir: __dirname }) };
}

async function checkHost(config: LabConfig, plan: LabPlan): Promise<void> {
    const findings = await runPreflight(config, plan);
    const report = formatFindings(findings);
    if (preflightFailed(findings)) {
        throw new Error(`the host is not ready for this lab (set preflight: false to skip):\n${report}`);
    }
    pulumi.log.info(report);
}

function bmcPassword(config: LabConfig, plan: LabPlan): pulumi.Output<string> {
    if (config.bmcPassword) {
        return pulumi.secret(config.bmcPassword);
    }
    // IPMI passwords hold at most 20 characters; letters and digits survive every BMC protocol.
    const generated = new random.RandomPassword(`${plan.labName}-bmc-password`, { length: 16, special: false });
    return pulumi.secret(generated.result);
}

function sshKey(
    config: LabConfig,
    plan: LabPlan,
): { publicKey: pulumi.Input<string>; privateKey?: pulumi.Output<string> } {
    if (config.sshPublicKey) {
        return { publicKey: config.sshPublicKey };
    }
    const key = new tls.PrivateKey(`${plan.labName}-ssh-key`, { algorithm: "ED25519" });
    return { publicKey: key.publicKeyOpenssh.apply((k) => k.trim()), privateKey: pulumi.secret(key.privateKeyOpenssh) };
}

/** Builds the whole lab; returns the stack outputs. */
function createLab(config: LabConfig, plan: LabPlan) {
    const password = bmcPassword(config, plan);
    const ssh = sshKey(config, plan);
    const files = labFiles(plan, config);

    const network = new LabNetwork("network", { plan });
    const kind = new KindCluster("kind", { config, plan, networkName: network.name });
    const inKind = { providers: [kind.provider], deletedWith: kind.command };

    const tinkerbell = new TinkerbellStack("tinkerbell", { config, plan }, inKind);
    const clusterApi = new ClusterApi("capi", { config, plan, kubeconfig: kind.kubeconfig }, { dependsOn: [kind] });
    // The machines and the BMC need only the lab network (the bridge), not KinD: they start at once.
    const machines = new Machines("machines", { config, plan }, { dependsOn: [network] });
    const bmc = new VirtualBmc(
        "bmc",
        { config, plan, networkName: network.name, username: config.bmcUsername, password, domains: machines.domains },
        { dependsOn: [network] },
    );
    const inventory = new HardwareInventory(
        "inventory",
        { config, plan, bmcPassword: password },
        { ...inKind, dependsOn: [tinkerbell, ...bmc.registrations.values()] },
    );
    const workload = new WorkloadCluster("workload", {
        config,
        plan,
        managementKubeconfig: kind.kubeconfig,
        managementProvider: kind.provider,
        sshAuthorizedKey: ssh.publicKey,
        prerequisites: [clusterApi, inventory],
        kindCluster: kind.command,
    });

    new LocalFile("kind-kubeconfig-file", { path: files.kindKubeconfig, content: kind.kubeconfig });
    if (workload.kubeconfig) {
        new LocalFile("workload-kubeconfig-file", { path: files.workloadKubeconfig, content: workload.kubeconfig });
    }
    if (ssh.privateKey && files.sshPrivateKey) {
        new LocalFile("ssh-key-file", { path: files.sshPrivateKey, content: ssh.privateKey });
    }

    const summary = planSummary(plan);
    return {
        machines: summary.nodes.map((node) => ({ ...node, bmc: `${plan.vbmc.ip}:${node.bmcPort}` })),
        network: summary.network,
        vips: plan.vips,
        tinkerbellUi: tinkerbellUiUrl(plan),
        kindKubeconfig: kind.kubeconfig,
        workloadKubeconfig: workload.kubeconfig,
        bmcUsername: config.bmcUsername,
        bmcPassword: password,
        files,
        nextSteps: nextSteps(config, plan),
    };
}

/** Stops an engine older than the lab supports before anything is registered, saying what to do. */
async function requireSupportedEngine(): Promise<void> {
    try {
        await pulumi.requirePulumiVersion(PULUMI_VERSION_RANGE);
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
            `this lab needs Pulumi CLI v${MINIMUM_PULUMI_VERSION} or newer (${reason}); ` +
                "`npm run up` runs the pinned CLI, or upgrade the pulumi on your PATH",
            { cause: error },
        );
    }
}

export = async () => {
    await requireSupportedEngine();
    const { config, plan } = readLabConfig();
    if (config.preflight) {
        await checkHost(config, plan);
    }
    // `domainType: auto` is resolved by the Domain provider when it creates a domain, against that
    // domain's libvirt URI, so the resources are the same whether or not the preflight ran.
    return createLab(config, plan);
};
