/**
 * Cluster API with the Tinkerbell provider (CAPT) in the management cluster, installed one of two ways
 * (`clusterApiInstaller`):
 *  - clusterctl: `clusterctl init` from a Command. clusterctl's XDG directories are redirected into the
 *    stack's output folder: it otherwise writes to ~/.config and /etc/xdg. `destroy` removes those files
 *    again. Against an existing management cluster the Command also records which providers it
 *    installed (stdout) and its delete removes exactly those (clusterctl-delete.sh);
 *  - operator: cert-manager's chart, the Cluster API Operator's chart, and one provider object per
 *    provider (lib/render/cluster-api-operator.ts), each waited for until Ready at its version.
 * With an external Tinkerbell, CAPT's kubeconfig Secret (lib/render/external-tinkerbell.ts) is applied
 * first: CAPT's manager reads it only when it starts.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../lib/config";
import { LabPlan } from "../lib/plan";
import {
    CAPI_OPERATOR_CHART,
    CAPI_OPERATOR_NAMESPACE,
    CAPI_OPERATOR_RELEASE,
    CAPI_OPERATOR_REPOSITORY,
    CERT_MANAGER_CHART,
    CERT_MANAGER_NAMESPACE,
    CERT_MANAGER_REPOSITORY,
    CERT_MANAGER_VERSION,
    capiOperatorValues,
    certManagerValues,
    operatorObjects,
} from "../lib/render/cluster-api-operator";
import { clusterctlYaml } from "../lib/render/clusterctl";
import { CAPT_NAMESPACE } from "../lib/render/external-tinkerbell";
import { KubeObject } from "../lib/render/kube-object";
import { applyExternalTinkerbellSecret, applyKubeObject, kubeResourceName } from "./kube-objects";
import { childOptions } from "./options";
import { scriptCommandArgs } from "./scripts";

export interface ClusterApiArgs {
    config: LabConfig;
    plan: LabPlan;
    /** Secret: the management cluster's kubeconfig. */
    kubeconfig: pulumi.Output<string>;
    /**
     * The management cluster's provider: required by the operator installer and by an external
     * Tinkerbell (the objects this component applies itself).
     */
    provider?: k8s.Provider;
    /** Secret: the external Tinkerbell cluster's kubeconfig; required with `externalTinkerbell`. */
    tinkerbellKubeconfig?: pulumi.Input<string>;
    /** KinD's cluster Command: the objects applied here are skipped on destroy when KinD goes. */
    kindCluster?: pulumi.Resource;
    /**
     * Whether to install cert-manager's chart with the operator (default true). clusterctl installs
     * cert-manager only when its API is missing; the chart cannot detect an existing one.
     */
    installCertManager?: boolean;
}

export function clusterctlInitArgs(args: ClusterApiArgs): command.local.CommandArgs {
    const { config, plan } = args;
    const environment: Record<string, pulumi.Input<string>> = {
        KUBECONFIG_CONTENT: pulumi.secret(args.kubeconfig),
        CLUSTERCTL_CONFIG_CONTENT: clusterctlYaml(config, plan),
        STATE_DIR: plan.outputDir,
        TINKERBELL_IP: plan.vips.tinkerbell,
        // The versions clusterctl init installs, the ones the operator installer pins (operatorProviders).
        CAPI_VERSION: config.clusterctlVersion,
        CAPT_VERSION: config.captVersion,
    };
    if (plan.modes.management === "existing") {
        // The providers may be the user's: adopt them when they are all there, record what this stack
        // installs (stdout, kept in state and handed to the next run and to the delete), and remove
        // only that on delete.
        return {
            ...scriptCommandArgs({
                create: "clusterctl-init",
                delete: "clusterctl-delete",
                environment: {
                    ...environment,
                    MANAGEMENT_CLUSTER: "existing",
                },
            }),
            // stdout is only `installed=<provider names>`, never a secret.
            addPreviousOutputInEnv: true,
            logging: "stderr",
        };
    }
    // No delete: the providers live in KinD and go with it; clusterctl's files go with clusterctlFilesArgs.
    return { ...scriptCommandArgs({ create: "clusterctl-init", environment }), logging: "stderr" };
}

/**
 * The Command that claims clusterctl's files in the output directory before init runs and removes
 * them on delete. A resource of its own because an `up` killed while init runs leaves init out of
 * state (Pulumi records a create only once it returned), and its delete would then never run.
 */
export function clusterctlFilesArgs(args: Pick<ClusterApiArgs, "config" | "plan">): command.local.CommandArgs {
    return {
        ...scriptCommandArgs({
            create: "clusterctl-claim",
            // Removes what clusterctl-init recorded creating (and the directory once it is empty).
            delete: "clusterctl-clean",
            environment: {
                STATE_DIR: args.plan.outputDir,
                CLUSTERCTL_CONFIG_CONTENT: clusterctlYaml(args.config, args.plan),
            },
        }),
        logging: "stderr",
    };
}

export function certManagerReleaseArgs(): k8s.helm.v3.ReleaseArgs {
    return {
        name: CERT_MANAGER_CHART,
        chart: CERT_MANAGER_CHART,
        version: CERT_MANAGER_VERSION,
        repositoryOpts: { repo: CERT_MANAGER_REPOSITORY },
        namespace: CERT_MANAGER_NAMESPACE,
        createNamespace: true,
        values: certManagerValues(),
        timeout: 600,
    };
}

export function capiOperatorReleaseArgs(config: LabConfig): k8s.helm.v3.ReleaseArgs {
    return {
        name: CAPI_OPERATOR_RELEASE,
        chart: CAPI_OPERATOR_CHART,
        version: config.clusterApiOperatorVersion,
        repositoryOpts: { repo: CAPI_OPERATOR_REPOSITORY },
        namespace: CAPI_OPERATOR_NAMESPACE,
        createNamespace: true,
        values: capiOperatorValues(),
        // The upstream docs require waiting: the webhooks must serve before providers are created.
        timeout: 600,
    };
}

export class ClusterApi extends pulumi.ComponentResource {
    /** clusterctl: the `clusterctl init` Command. */
    readonly init?: command.local.Command;
    /** clusterctl: the Command owning clusterctl's files in the output directory (clusterctlFilesArgs). */
    readonly files?: command.local.Command;
    /** operator: cert-manager's release (unless installCertManager is false). */
    readonly certManager?: k8s.helm.v3.Release;
    /** operator: the operator's release. */
    readonly operator?: k8s.helm.v3.Release;
    /** operator: the provider objects, each ready at its version once created. */
    readonly providers: pulumi.CustomResource[] = [];
    /** external Tinkerbell: CAPT's kubeconfig Secret. */
    readonly externalTinkerbellSecret?: k8s.core.v1.Secret;

    constructor(name: string, args: ClusterApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capt-playground:index:ClusterApi", name, {}, opts);
        const { config, plan } = args;
        const external = plan.modes.tinkerbell === "external";
        const operator = plan.modes.clusterApiInstaller === "operator";
        if ((external || operator) && !args.provider) {
            throw new pulumi.ResourceError(
                "ClusterApi: the operator installer and an external Tinkerbell need args.provider",
                this,
            );
        }
        if (external && args.tinkerbellKubeconfig === undefined) {
            throw new pulumi.ResourceError("ClusterApi: an external Tinkerbell needs args.tinkerbellKubeconfig", this);
        }
        const inCluster = (extra: pulumi.CustomResourceOptions = {}) =>
            childOptions(this, opts, { provider: args.provider, deletedWith: args.kindCluster, ...extra });

        // Operator: every namespace is this stack's; clusterctl: capt-system may already be there (an
        // adopted CAPT in an existing cluster), so it is only patched into existence, never owned.
        const objects = operator ? operatorObjects(config, plan) : [];
        const namespaces = new Map<string, pulumi.CustomResource>();
        for (const object of objects.filter((o) => o.kind === "Namespace")) {
            namespaces.set(
                object.metadata.name,
                new k8s.core.v1.Namespace(
                    kubeResourceName(name, object),
                    { metadata: { name: object.metadata.name } },
                    inCluster(),
                ),
            );
        }
        let before: pulumi.Resource[] = [];
        if (external) {
            this.externalTinkerbellSecret = applyExternalTinkerbellSecret(
                name,
                args.tinkerbellKubeconfig!,
                inCluster(),
                namespaces.get(CAPT_NAMESPACE),
            );
            before = [this.externalTinkerbellSecret];
        }

        if (!operator) {
            // The providers live in the management cluster. In KinD they go away with it; in an existing
            // cluster the delete removes what this stack installed. Replacing deletes first: a new create
            // would otherwise adopt the providers the old delete then removes. clusterctl's files on the
            // host belong to `files`, never `deletedWith` KinD: destroying KinD would skip its delete.
            this.files = new command.local.Command(
                `${name}-files`,
                clusterctlFilesArgs(args),
                childOptions(this, opts, { deletedWith: undefined }),
            );
            this.init = new command.local.Command(
                `${name}-init`,
                clusterctlInitArgs(args),
                childOptions(this, opts, {
                    deletedWith: undefined,
                    dependsOn: [...before, this.files],
                    ...(plan.modes.management === "existing" ? { deleteBeforeReplace: true } : {}),
                }),
            );
        } else {
            if (args.installCertManager ?? true) {
                this.certManager = new k8s.helm.v3.Release(
                    `${name}-cert-manager`,
                    certManagerReleaseArgs(),
                    inCluster(),
                );
            }
            this.operator = new k8s.helm.v3.Release(
                `${name}-operator`,
                capiOperatorReleaseArgs(config),
                inCluster({ dependsOn: this.certManager ? [this.certManager] : [] }),
            );
            const secrets = objects
                .filter((o) => o.kind === "Secret")
                .map((o) => this.applyInNamespace(name, o, namespaces, inCluster()));
            for (const object of objects.filter((o) => o.kind !== "Namespace" && o.kind !== "Secret")) {
                this.providers.push(
                    this.applyInNamespace(
                        name,
                        object,
                        namespaces,
                        inCluster({ dependsOn: [this.operator, ...secrets, ...before] }),
                    ),
                );
            }
        }
        this.registerOutputs({});
    }

    private applyInNamespace(
        name: string,
        object: KubeObject,
        namespaces: Map<string, pulumi.CustomResource>,
        opts: pulumi.CustomResourceOptions,
    ): pulumi.CustomResource {
        const namespace = namespaces.get(object.metadata.namespace ?? "");
        const dependsOn = [
            ...((opts.dependsOn as pulumi.Input<pulumi.Resource>[] | undefined) ?? []),
            ...(namespace ? [namespace] : []),
        ];
        return applyKubeObject(kubeResourceName(name, object), object, { ...opts, dependsOn });
    }
}
