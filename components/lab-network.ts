/**
 * The stack's own docker network (DESIGN.md decision 1): fixed subnet, fixed bridge name, and a
 * small ipRange for docker's own containers, so every other address is ours to plan.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LabPlan, stackDockerLabels } from "../lib/plan";
import { childOptions } from "./options";

export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

export function labNetworkArgs(plan: LabPlan): docker.NetworkArgs {
    return {
        name: plan.network.name,
        driver: "bridge",
        ipamConfigs: [
            { subnet: plan.network.subnet, gateway: plan.network.gateway, ipRange: plan.network.dockerRange },
        ],
        options: { [BRIDGE_NAME_OPTION]: plan.network.bridge },
        labels: stackDockerLabels(plan),
    };
}

export interface LabNetworkArgs {
    plan: LabPlan;
}

export class LabNetwork extends pulumi.ComponentResource {
    readonly network: docker.Network;
    /** The network's name, carrying the dependency on its creation. */
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: LabNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:LabNetwork", name, {}, opts);
        this.network = new docker.Network(
            `${name}-network`,
            labNetworkArgs(args.plan),
            // A fixed name cannot exist twice.
            childOptions(this, opts, { deleteBeforeReplace: true }),
        );
        this.name = this.network.name;
        this.registerOutputs({ name: this.name });
    }
}
