/**
 * The workload cluster: the Cluster API objects, then (unless `waitForWorkload` is false) its
 * kubeconfig once CAPT has provisioned a control plane, a provider from it, and the CNI.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import { CILIUM_CHART, CILIUM_REPOSITORY, ciliumValues } from "../lib/render/cni";
import { offlineCiliumChart, offlineKubeRouterManifest } from "../lib/render/offline";
import { API_SERVER_PORT, clusterApiObjects } from "../lib/render/cluster-api";
import { consoleLogDir } from "../lib/libvirt/domain-xml";
import { applyKubeObject, kubeResourceName } from "./kube-objects";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface WorkloadClusterArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Secret: the management (KinD) kubeconfig. */
    managementKubeconfig: pulumi.Output<string>;
    managementProvider: k8s.Provider;
    sshAuthorizedKey: pulumi.Input<string>;
    /** clusterctl init and the hardware inventory: the objects need both. */
    prerequisites: pulumi.Input<pulumi.Resource>[];
    /**
     * The KinD cluster the objects live in: skipped on destroy when it goes. Undefined for an
     * existing management cluster, which stays: there the objects are really deleted (and CAPT
     * releases the machines) before the inventory goes.
     */
    kindCluster?: pulumi.Resource;
}

/**
 * The one budget of `workloadTimeoutMinutes`, in seconds: the kubeconfig wait (which lasts until the
 * workload API server answers) gets it, and so does the CNI install after it.
 */
export function workloadTimeoutSeconds(config: Pick<LabConfig, "workloadTimeoutMinutes">): number {
    return config.workloadTimeoutMinutes * 60;
}

export function waitKubeconfigArgs(args: WorkloadClusterArgs): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "wait-kubeconfig",
            environment: {
                KUBECONFIG_CONTENT: pulumi.secret(args.managementKubeconfig),
                CLUSTER_NAME: args.plan.labName,
                NAMESPACE: args.config.namespace,
                TIMEOUT_SECONDS: String(workloadTimeoutSeconds(args.config)),
                STATE_DIR: args.plan.outputDir,
                API_ENDPOINT: `${args.plan.vips.controlPlane}:${API_SERVER_PORT}`,
                CONSOLE_LOG_DIR: consoleLogDir(args.plan),
            },
        }),
        logging: "stderr",
    };
}

export class WorkloadCluster extends pulumi.ComponentResource {
    readonly objects: pulumi.CustomResource[];
    readonly kubeconfig?: pulumi.Output<string>;
    readonly provider?: k8s.Provider;

    constructor(name: string, args: WorkloadClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:WorkloadCluster", name, {}, opts);
        const { config, plan } = args;
        this.objects = clusterApiObjects(config, plan, args.sshAuthorizedKey).map((object) =>
            applyKubeObject(
                kubeResourceName(name, object),
                object,
                childOptions(this, opts, {
                    provider: args.managementProvider,
                    deletedWith: args.kindCluster,
                    dependsOn: args.prerequisites,
                }),
            ),
        );
        if (config.waitForWorkload) {
            const wait = new command.local.Command(
                `${name}-kubeconfig`,
                waitKubeconfigArgs(args),
                childOptions(this, opts, {
                    dependsOn: this.objects,
                    additionalSecretOutputs: ["stdout"],
                    deletedWith: args.kindCluster,
                }),
            );
            this.kubeconfig = pulumi.secret(wait.stdout);
            this.provider = new k8s.Provider(
                `${name}-provider`,
                // No clusterIdentifier: the provider then replaces itself (and the CNI) exactly when the
                // kubeconfig names another cluster, e.g. a new CA after KinD and the machines were
                // rebuilt. No deleteUnreachable: a refresh while the VMs are off must not forget the CNI.
                { kubeconfig: this.kubeconfig },
                childOptions(this, opts),
            );
            this.installCni(name, args, this.provider, wait);
        }
        this.registerOutputs({ kubeconfig: this.kubeconfig });
    }

    private installCni(name: string, args: WorkloadClusterArgs, provider: k8s.Provider, after: pulumi.Resource) {
        // The CNI lives in the workload cluster (the VMs), not in KinD. Deleted with the kubeconfig wait:
        // `destroy` and `waitForWorkload: false` drop it from state without reaching for a cluster that
        // is going away or no longer managed, while a `cni` change really uninstalls the old CNI.
        const opts = childOptions(this, undefined, { provider, dependsOn: [after], deletedWith: after });
        if (args.config.cni === "cilium") {
            // Offline the chart's archive comes from the bundle; the machines still pull Cilium's images.
            const offlineChart = offlineCiliumChart(args.config);
            new k8s.helm.v3.Release(
                `${name}-cilium`,
                {
                    name: "cilium",
                    ...(offlineChart
                        ? { chart: offlineChart }
                        : {
                              chart: CILIUM_CHART,
                              version: args.config.ciliumVersion,
                              repositoryOpts: { repo: CILIUM_REPOSITORY },
                          }),
                    namespace: "kube-system",
                    values: ciliumValues(args.config, args.plan),
                    // Helm's default of 5 minutes is too short for a fresh cluster pulling the CNI's images.
                    timeout: workloadTimeoutSeconds(args.config),
                },
                opts,
            );
        } else if (args.config.cni === "kube-router") {
            new k8s.yaml.v2.ConfigFile(
                `${name}-kube-router`,
                // Offline the manifest is the bundle's copy of that URL.
                { file: offlineKubeRouterManifest(args.config) ?? args.config.kubeRouterManifest },
                opts,
            );
        }
    }
}
