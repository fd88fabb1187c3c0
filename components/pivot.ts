/**
 * The pivot (`pivot: true`): once the workload cluster is up with its CNI, it gets Tinkerbell (the
 * chart, unless Tinkerbell is external: then CAPT's kubeconfig Secret) and Cluster API with CAPT, and
 * the lab's namespace is `clusterctl move`d into it, as the playground's `task pivot` does (reference
 * §1.10). Deleting the Pivot (pivot: true -> false) moves everything back first, so the lab is again
 * managed from the management cluster; a full destroy of a KinD lab skips all of it (deletedWith KinD).
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { clusterctlYaml } from "../lib/render/clusterctl";
import { workloadTinkerbellValues } from "../lib/render/tinkerbell-values";
import { applyExternalTinkerbellSecret } from "./kube-objects";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";
import { tinkerbellReleaseArgs } from "./tinkerbell-stack";

export interface PivotArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Secret: the management cluster's kubeconfig (the source of the move). */
    managementKubeconfig: pulumi.Output<string>;
    /** Secret: the workload cluster's kubeconfig (WorkloadCluster.kubeconfig), the target. */
    workloadKubeconfig: pulumi.Output<string>;
    /** The workload cluster's provider (WorkloadCluster.provider). */
    workloadProvider: k8s.Provider;
    /** Secret: the external Tinkerbell cluster's kubeconfig; required with `externalTinkerbell`. */
    tinkerbellKubeconfig?: pulumi.Input<string>;
    /**
     * What must be in place first: the WorkloadCluster component (its objects, kubeconfig wait and CNI),
     * ClusterApi and the hardware inventory.
     */
    prerequisites: pulumi.Input<pulumi.Resource>[];
    /** KinD's cluster Command: a full destroy of a KinD lab skips the move back. */
    kindCluster?: pulumi.Resource;
}

export function pivotCommandArgs(args: PivotArgs): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "pivot-move",
            delete: "pivot-back",
            environment: {
                KUBECONFIG_CONTENT: pulumi.secret(args.managementKubeconfig),
                WORKLOAD_KUBECONFIG_CONTENT: pulumi.secret(args.workloadKubeconfig),
                CLUSTERCTL_CONFIG_CONTENT: clusterctlYaml(args.config, args.plan),
                TINKERBELL_IP: args.plan.vips.tinkerbell,
                CLUSTER_NAME: args.plan.labName,
                NAMESPACE: args.config.namespace,
                // The versions clusterctl init installs in the workload cluster, as in the management cluster.
                CAPI_VERSION: args.config.clusterctlVersion,
                CAPT_VERSION: args.config.captVersion,
            },
        }),
        // stdout is only `installed=<provider names>` (what pivot-back removes again), never a secret.
        addPreviousOutputInEnv: true,
        logging: "stderr",
    };
}

export class Pivot extends pulumi.ComponentResource {
    /** The Tinkerbell chart in the workload cluster (local Tinkerbell only). */
    readonly tinkerbell?: k8s.helm.v3.Release;
    /** CAPT's kubeconfig Secret in the workload cluster (external Tinkerbell only). */
    readonly externalTinkerbellSecret?: k8s.core.v1.Secret;
    /** clusterctl init into the workload cluster, then clusterctl move; moves back on delete. */
    readonly move: command.local.Command;

    constructor(name: string, args: PivotArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:Pivot", name, {}, opts);
        const { config, plan } = args;
        const inWorkload = (extra: pulumi.CustomResourceOptions = {}) =>
            childOptions(this, opts, {
                provider: args.workloadProvider,
                deletedWith: args.kindCluster,
                dependsOn: args.prerequisites,
                ...extra,
            });
        let before: pulumi.Resource;
        if (plan.modes.tinkerbell === "external") {
            if (args.tinkerbellKubeconfig === undefined) {
                throw new pulumi.ResourceError("Pivot: an external Tinkerbell needs args.tinkerbellKubeconfig", this);
            }
            // CAPT in the workload cluster must find its kubeconfig when it first starts, as in KinD.
            this.externalTinkerbellSecret = applyExternalTinkerbellSecret(
                name,
                args.tinkerbellKubeconfig,
                inWorkload(),
            );
            before = this.externalTinkerbellSecret;
        } else {
            // Hardware and Rufio Machines move too: their CRDs must be in the target first.
            this.tinkerbell = new k8s.helm.v3.Release(
                `${name}-tinkerbell`,
                { ...tinkerbellReleaseArgs(config, plan), values: workloadTinkerbellValues(config, plan) },
                inWorkload(),
            );
            before = this.tinkerbell;
        }
        this.move = new command.local.Command(
            `${name}-move`,
            pivotCommandArgs(args),
            childOptions(this, opts, {
                deletedWith: args.kindCluster,
                dependsOn: [...args.prerequisites, before],
                deleteBeforeReplace: true,
            }),
        );
        this.registerOutputs({});
    }
}
