/**
 * Cluster API with the Tinkerbell provider, installed by `clusterctl init` into the KinD cluster.
 * clusterctl's XDG directories are redirected into the stack's output folder: it otherwise writes
 * to ~/.config and /etc/xdg. `destroy` removes those files again.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { clusterctlYaml } from "../lib/render/clusterctl";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface ClusterApiArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Secret: the KinD kubeconfig. */
    kubeconfig: pulumi.Output<string>;
}

export function clusterctlInitArgs(args: ClusterApiArgs): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "clusterctl-init",
            // Removes clusterctl's files from the output directory (and the directory once it is empty).
            delete: "clusterctl-clean",
            environment: {
                KUBECONFIG_CONTENT: pulumi.secret(args.kubeconfig),
                CLUSTERCTL_CONFIG_CONTENT: clusterctlYaml(args.config, args.plan),
                STATE_DIR: args.plan.outputDir,
                TINKERBELL_IP: args.plan.vips.tinkerbell,
            },
        }),
        logging: "stderr",
    };
}

export class ClusterApi extends pulumi.ComponentResource {
    readonly init: command.local.Command;

    constructor(name: string, args: ClusterApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:ClusterApi", name, {}, opts);
        // The providers live in the KinD cluster and go away with it; the delete only cleans the host's
        // output directory. So never `deletedWith` KinD: destroying KinD would then skip this delete
        // and leave clusterctl's files behind.
        this.init = new command.local.Command(
            `${name}-init`,
            clusterctlInitArgs(args),
            childOptions(this, opts, { deletedWith: undefined }),
        );
        this.registerOutputs({});
    }
}
