/**
 * A Kubernetes cluster the lab does not create: an existing management cluster
 * (`managementKubeconfig`) or an external Tinkerbell cluster (`tinkerbellKubeconfig`). Only a
 * provider from the user's kubeconfig, kept secret; the cluster itself is never created or deleted.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOptions } from "./options";

export interface ClusterConnectionArgs {
    /** Secret. */
    kubeconfig: pulumi.Output<string>;
}

export class ClusterConnection extends pulumi.ComponentResource {
    readonly kubeconfig: pulumi.Output<string>;
    readonly provider: k8s.Provider;

    constructor(name: string, args: ClusterConnectionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:ClusterConnection", name, {}, opts);
        this.kubeconfig = pulumi.secret(args.kubeconfig);
        // No clusterIdentifier: the provider replaces itself (and what it manages) exactly when the
        // kubeconfig names another cluster. No deleteUnreachable: a refresh while the cluster is
        // unreachable must not forget objects that still exist in it.
        this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: this.kubeconfig }, childOptions(this, opts));
        this.registerOutputs({});
    }
}
