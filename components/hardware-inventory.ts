/**
 * What Tinkerbell knows about the machines: the BMC credentials Secrets, one Rufio BMC Machine and
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
    /** Secret: the shared BMC password; absent when every machine has its own. */
    bmcPassword?: pulumi.Output<string>;
    /** Secrets: real machines' own BMC passwords by machine name. */
    machineBmcPasswords?: Readonly<Record<string, pulumi.Output<string>>>;
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
        const machinePasswords = Object.fromEntries(
            Object.entries(args.machineBmcPasswords ?? {}).map(([machine, password]) => [
                machine,
                pulumi.secret(password),
            ]),
        );
        const objects = inventoryObjects(
            args.config,
            args.plan,
            args.bmcPassword === undefined ? undefined : pulumi.secret(args.bmcPassword),
            machinePasswords,
        );
        const created: pulumi.CustomResource[] = [];
        const secrets: pulumi.CustomResource[] = [];
        for (const object of objects as KubeObject[]) {
            // Objects come after what they reference (Secrets, BMC Machines, Hardware).
            const isSecret = object.apiVersion === "v1" && object.kind === "Secret";
            const resource = applyKubeObject(
                kubeResourceName(name, object),
                object,
                childOptions(this, opts, {
                    dependsOn: !isSecret && secrets.length > 0 ? [...secrets] : undefined,
                    ignoreChanges: ignoredAfterCreate(object),
                }),
            );
            created.push(resource);
            if (isSecret) secrets.push(resource);
        }
        this.resources = created;
        this.registerOutputs({});
    }
}
