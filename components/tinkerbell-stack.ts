/** The Tinkerbell stack: one Helm release of the OCI chart with values from the render layer. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { labReference } from "../lib/render/registry-mirror";
import { offlineTinkerbellChart } from "../lib/render/offline";
import { tinkerbellValues } from "../lib/render/tinkerbell-values";
import { childOptions } from "./options";

export const TINKERBELL_RELEASE = "tinkerbell";

export function tinkerbellReleaseArgs(config: LabConfig, plan: LabPlan): k8s.helm.v3.ReleaseArgs {
    return {
        name: TINKERBELL_RELEASE,
        // Pulled by the provider on the host: helm.v3.Release has no plain-HTTP option, so the chart
        // keeps its upstream name with the lab's caches and is rewritten only to a user's HTTPS mirror
        // (registryMirrorHost; lib/render/registry-mirror.ts).
        // Offline: the chart's archive in the bundle, whose version the preflight checked (a local
        // archive has the version it has; helm ignores `version` for it).
        ...(offlineTinkerbellChart(config)
            ? { chart: offlineTinkerbellChart(config)! }
            : { chart: labReference(config.tinkerbellChart, plan.registryMirror), version: config.tinkerbellVersion }),
        namespace: config.namespace,
        createNamespace: true,
        values: tinkerbellValues(config, plan),
        // The chart's first install pulls its images (offline: they are in the node already).
        timeout: 900,
    };
}

export interface TinkerbellStackArgs {
    config: LabConfig;
    plan: LabPlan;
}

export class TinkerbellStack extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    /** Pass the KinD provider in `opts.providers` and `deletedWith` the KinD cluster. */
    constructor(name: string, args: TinkerbellStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:TinkerbellStack", name, {}, opts);
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            tinkerbellReleaseArgs(args.config, args.plan),
            childOptions(this, opts),
        );
        this.registerOutputs({ status: this.release.status });
    }
}
