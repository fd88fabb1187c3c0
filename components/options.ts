/**
 * Options for a component's children. Pulumi does not pass a component's `dependsOn` or
 * `deletedWith` on to the resources inside it, so every child takes them from here: a component
 * that must wait for something really makes all its resources wait.
 */
import * as pulumi from "@pulumi/pulumi";

type Dependencies = pulumi.CustomResourceOptions["dependsOn"];

function asList(dependsOn: Dependencies): pulumi.Input<pulumi.Resource>[] {
    if (dependsOn === undefined) {
        return [];
    }
    return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}

export function childOptions(
    parent: pulumi.ComponentResource,
    componentOpts: pulumi.ComponentResourceOptions | undefined,
    extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
    const dependsOn = [...asList(componentOpts?.dependsOn), ...asList(extra.dependsOn)];
    return {
        deletedWith: componentOpts?.deletedWith,
        ...extra,
        parent,
        dependsOn: dependsOn.length > 0 ? dependsOn : undefined,
    };
}
