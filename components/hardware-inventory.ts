/**
 * What Tinkerbell knows about the machines: the BMC credentials Secret, one Rufio BMC Machine and
 * one Hardware per machine, each its own resource on the KinD provider.
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { KubeObject } from "../lib/render/kube-object";
import { controllerOwnedPaths } from "../lib/render/hardware";
import { inventoryObjects } from "../lib/render/manifests";
import { applyKubeObject, kubeResourceName } from "./kube-objects";
import { childOptions } from "./options";

export interface HardwareInventoryArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Secret. */
    bmcPassword: pulumi.Output<string>;
}

function ignoredAfterCreate(object: KubeObject): string[] | undefined {
    const paths = controllerOwnedPaths(object);
    return paths.length > 0 ? paths : undefined;
}

export class HardwareInventory extends pulumi.ComponentResource {
    readonly resources: pulumi.CustomResource[];

    /**
     * Pass the KinD provider in `opts.providers`, `deletedWith` the KinD cluster, and `dependsOn` the
     * chart (its CRDs) and the BMC registrations.
     */
    constructor(name: string, args: HardwareInventoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:HardwareInventory", name, {}, opts);
        const objects = inventoryObjects(args.config, args.plan, pulumi.secret(args.bmcPassword));
        const created: pulumi.CustomResource[] = [];
        for (const object of objects as KubeObject[]) {
            // Objects come after what they reference (Secret, BMC Machines, Hardware).
            created.push(
                applyKubeObject(
                    kubeResourceName(name, object),
                    object,
                    childOptions(this, opts, {
                        dependsOn: created.length > 0 ? [created[0]] : undefined,
                        ignoreChanges: ignoredAfterCreate(object),
                    }),
                ),
            );
        }
        this.resources = created;
        this.registerOutputs({});
    }
}
