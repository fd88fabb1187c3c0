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
import { commandScript } from "./scripts";

export interface KindClusterArgs {
    config: LabConfig;
    plan: LabPlan;
    /** The lab network's name (an Output, so the cluster waits for the network). */
    networkName: pulumi.Input<string>;
}

export function kindCommandArgs(args: KindClusterArgs): command.local.CommandArgs {
    const kindConfig = kindConfigYaml(args.config, args.plan);
    return {
        interpreter: ["/bin/bash", "-c"],
        create: commandScript("kind-create"),
        delete: commandScript("kind-delete"),
        stdin: kindConfig,
        environment: {
            KIND_CLUSTER_NAME: args.plan.kind.clusterName,
            KIND_EXPERIMENTAL_DOCKER_NETWORK: args.networkName,
        },
        // Never stream stdout: it is the kubeconfig.
        logging: "stderr",
        // kind cannot change a cluster in place: a new config or network means a new cluster.
        triggers: [kindConfig, args.networkName],
    };
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
                // Only a new cluster name replaces the provider (and everything on it).
                clusterIdentifier: this.clusterName,
                // A cluster deleted by hand must not block `pulumi destroy`.
                deleteUnreachable: true,
            },
            childOptions(this, opts),
        );
        this.registerOutputs({ kubeconfig: this.kubeconfig, clusterName: this.clusterName });
    }
}
