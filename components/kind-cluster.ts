/**
 * The KinD management cluster on the stack's network. `kind` runs from a Command (DESIGN.md
 * decision 4); its stdout is the kubeconfig, kept secret, and feeds a Kubernetes provider.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { kindConfigYaml } from "../lib/render/kind-config";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface KindClusterArgs {
    config: LabConfig;
    plan: LabPlan;
    /** The lab network's name (an Output, so the cluster waits for the network). */
    networkName: pulumi.Input<string>;
}

export function kindCommandArgs(args: KindClusterArgs): command.local.CommandArgs {
    const kindConfig = kindConfigYaml(args.config, args.plan);
    return {
        ...scriptCommandArgs({
            create: "kind-create",
            delete: "kind-delete",
            environment: {
                KIND_CLUSTER_NAME: args.plan.kind.clusterName,
                KIND_EXPERIMENTAL_DOCKER_NETWORK: args.networkName,
            },
        }),
        stdin: kindConfig,
        // Never stream stdout: it is the kubeconfig.
        logging: "stderr",
        // kind cannot change a cluster in place: a new config or network means a new cluster.
        triggers: [kindConfig, args.networkName],
    };
}

/**
 * The KinD provider's cluster identity: the cluster name plus the id of the Command that created it.
 * Recreating the cluster replaces the Command (new id), so the provider and every object on it are
 * replaced too, on any engine: the engine itself decides that from the provider's diff, with no
 * reliance on newer engines replacing `deletedWith` dependents. An unchanged cluster keeps its id,
 * and a kubeconfig re-read (an edited create script re-runs it) replaces nothing.
 * No `deleteUnreachable`: with it, a refresh while KinD is stopped reports every object deleted;
 * `deletedWith` already keeps destroy off a cluster that is going away.
 */
export function kindProviderIdentity(clusterName: string, commandId: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`${clusterName}/${commandId}`;
}

export class KindCluster extends pulumi.ComponentResource {
    readonly command: command.local.Command;
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;
    readonly clusterName: string;

    constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:KindCluster", name, {}, opts);
        this.clusterName = args.plan.kind.clusterName;
        this.command = new command.local.Command(
            `${name}-cluster`,
            kindCommandArgs(args),
            childOptions(this, opts, { additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true }),
        );
        this.kubeconfig = pulumi.secret(this.command.stdout);
        this.provider = new k8s.Provider(
            `${name}-provider`,
            {
                kubeconfig: this.kubeconfig,
                clusterIdentifier: kindProviderIdentity(this.clusterName, this.command.id),
            },
            childOptions(this, opts),
        );
        this.registerOutputs({ kubeconfig: this.kubeconfig, clusterName: this.clusterName });
    }
}
