/**
 * Cluster API through the Cluster API Operator (`clusterApiInstaller: operator`): cert-manager's chart,
 * the operator's chart, and one provider object per provider `clusterctl init --infrastructure
 * tinkerbell` would install, at the same versions.
 *
 * Facts from kubernetes-sigs/cluster-api-operator (v0.28.0):
 *  - the chart (hack/charts/cluster-api-operator) needs cert-manager and no longer installs it (commit
 *    a83d119 "remove cert-manager support from helm chart"; docs/book/src/02_installation/01_prerequisites.md);
 *    its templates include cert-manager Issuer/Certificate objects for the operator's webhook;
 *  - the provider kinds are operator.cluster.x-k8s.io/v1alpha2 CoreProvider, BootstrapProvider,
 *    ControlPlaneProvider, InfrastructureProvider with spec.version, spec.configSecret (a Secret in the
 *    provider's namespace whose keys are the clusterctl variables), spec.fetchConfig.url (read as a
 *    clusterctl provider URL, internal/controller/phase_initialize.go) and spec.deployment.containers;
 *  - the components go into the provider object's namespace (namespaces themselves are filtered out,
 *    internal/controller/component_customizer.go), so the namespaces are created here;
 *  - readiness: the provider's `Ready` condition copies its Deployment's `Available` once
 *    `ProviderInstalled` is true (internal/controller/healthcheck/healthcheck_controller.go), and
 *    status.installedVersion records the installed version: the wait below asks for both, which is what
 *    `clusterctl init --wait-providers` waits for.
 *  - with `watchConfigSecret`, a changed variables Secret re-applies the provider (the Secret's data is
 *    part of the provider's applied-spec hash, internal/controller/genericprovider_controller.go).
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { CAPT_IMAGE, captComponentsUrl } from "./clusterctl";
import {
    CAPT_NAMESPACE,
    REDACTED_TINKERBELL_KUBECONFIG,
    externalTinkerbellSecret,
    externalTinkerbellVariables,
} from "./external-tinkerbell";
import { HelmValues } from "./helm-set";
import { KubeObject, toYaml, toYamlStream } from "./kube-object";

export const CAPI_OPERATOR_CHART = "cluster-api-operator";
export const CAPI_OPERATOR_REPOSITORY = "https://kubernetes-sigs.github.io/cluster-api-operator";
/**
 * The newest released chart (2026-07-17), built against Cluster API v1.12.10 (its go.mod): contract
 * v1beta2, which CAPT v0.7.0 needs. 0.25.0 is the first release on Cluster API v1.12.
 */
export const DEFAULT_CAPI_OPERATOR_VERSION = "0.28.0";
export const CAPI_OPERATOR_NAMESPACE = "capi-operator-system";
export const CAPI_OPERATOR_RELEASE = "capi-operator";

export const CERT_MANAGER_CHART = "cert-manager";
export const CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io";
/** The cert-manager clusterctl v1.12.5 installs (cmd/clusterctl/client/config/cert_manager_client.go). */
export const CERT_MANAGER_VERSION = "v1.20.1";
export const CERT_MANAGER_NAMESPACE = "cert-manager";

export const OPERATOR_API_VERSION = "operator.cluster.x-k8s.io/v1alpha2";

/** The Secret whose keys are the clusterctl variables CAPT's components template reads. */
export const CAPT_VARIABLES_SECRET = "capt-variables";

export { CAPT_IMAGE } from "./clusterctl";

/** Seconds each provider may take to become ready: clusterctl-init's --wait-provider-timeout default. */
export const PROVIDER_WAIT_SECONDS = 600;

export type OperatorProviderKind =
    "CoreProvider" | "BootstrapProvider" | "ControlPlaneProvider" | "InfrastructureProvider";

/** One provider as clusterctl names it: its kind, name, namespace and version. */
export interface OperatorProvider {
    kind: OperatorProviderKind;
    name: string;
    namespace: string;
    version: string;
    /** clusterctl's inventory name (cluster-api, bootstrap-kubeadm, ...). */
    inventoryName: string;
}

/**
 * What `clusterctl init` installs (components/scripts/clusterctl-init.sh pins the same versions), in
 * clusterctl's namespaces: the core and kubeadm providers at clusterctlVersion, CAPT at captVersion.
 */
export function operatorProviders(config: Pick<LabConfig, "clusterctlVersion" | "captVersion">): OperatorProvider[] {
    const capi = config.clusterctlVersion;
    return [
        {
            kind: "CoreProvider",
            name: "cluster-api",
            namespace: "capi-system",
            version: capi,
            inventoryName: "cluster-api",
        },
        {
            kind: "BootstrapProvider",
            name: "kubeadm",
            namespace: "capi-kubeadm-bootstrap-system",
            version: capi,
            inventoryName: "bootstrap-kubeadm",
        },
        {
            kind: "ControlPlaneProvider",
            name: "kubeadm",
            namespace: "capi-kubeadm-control-plane-system",
            version: capi,
            inventoryName: "control-plane-kubeadm",
        },
        {
            kind: "InfrastructureProvider",
            name: "tinkerbell",
            namespace: CAPT_NAMESPACE,
            version: config.captVersion,
            inventoryName: "infrastructure-tinkerbell",
        },
    ];
}

/** The operator chart's values: only the operator (no provider from the chart), watching config Secrets. */
export function capiOperatorValues(): HelmValues {
    return { watchConfigSecret: true };
}

/** cert-manager's chart values: with its CRDs, as clusterctl's cert-manager.yaml has them. */
export function certManagerValues(): HelmValues {
    return { crds: { enabled: true } };
}

/** The variables CAPT's components template reads (clusterctl.yaml has the same ones). */
export function captVariables(plan: LabPlan): Record<string, string> {
    return {
        TINKERBELL_IP: plan.vips.tinkerbell,
        ...(plan.modes.tinkerbell === "external" ? externalTinkerbellVariables() : {}),
    };
}

export function captVariablesSecret(plan: LabPlan): KubeObject {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: CAPT_VARIABLES_SECRET, namespace: CAPT_NAMESPACE },
        type: "Opaque",
        stringData: captVariables(plan),
    };
}

/** pulumi-kubernetes' await annotations (v4.18+): wait as `clusterctl init --wait-providers` does. */
export function providerWaitAnnotations(version: string): Record<string, string> {
    return {
        "pulumi.com/waitFor": JSON.stringify(["condition=Ready", `jsonpath={.status.installedVersion}=${version}`]),
        "pulumi.com/timeoutSeconds": String(PROVIDER_WAIT_SECONDS),
    };
}

export function operatorProviderObject(provider: OperatorProvider): KubeObject {
    const spec: Record<string, unknown> = { version: provider.version };
    if (provider.kind === "InfrastructureProvider") {
        // As clusterctl.yaml: components from CAPT's GitHub release, the manager pinned to that release.
        spec.configSecret = { name: CAPT_VARIABLES_SECRET, namespace: provider.namespace };
        spec.fetchConfig = { url: captComponentsUrl(provider.version) };
        spec.deployment = { containers: [{ name: "manager", imageUrl: `${CAPT_IMAGE}:${provider.version}` }] };
    }
    return {
        apiVersion: OPERATOR_API_VERSION,
        kind: provider.kind,
        metadata: {
            name: provider.name,
            namespace: provider.namespace,
            annotations: providerWaitAnnotations(provider.version),
        },
        spec,
    };
}

/** Every object the operator installer applies after the charts, in apply order (namespaces first). */
export function operatorObjects(config: LabConfig, plan: LabPlan): KubeObject[] {
    const providers = operatorProviders(config);
    return [
        ...providers.map((p): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: p.namespace } })),
        captVariablesSecret(plan),
        ...providers.map(operatorProviderObject),
    ];
}

/**
 * The files `npm run render` adds for the installer and external-Tinkerbell modes (none for the default
 * lab): the operator's chart values and objects, and CAPT's external kubeconfig Secret with the
 * kubeconfig redacted.
 */
export function clusterApiRenderFiles(config: LabConfig, plan: LabPlan): Map<string, string> {
    const files = new Map<string, string>();
    if (plan.modes.clusterApiInstaller === "operator") {
        files.set("cert-manager-values.yaml", toYaml(certManagerValues()));
        files.set("cluster-api-operator-values.yaml", toYaml(capiOperatorValues()));
        files.set("manifests/cluster-api-operator.yaml", toYamlStream(operatorObjects(config, plan)));
    }
    if (plan.modes.tinkerbell === "external") {
        files.set(
            "manifests/external-tinkerbell.yaml",
            toYamlStream([externalTinkerbellSecret(REDACTED_TINKERBELL_KUBECONFIG)]),
        );
    }
    return files;
}
