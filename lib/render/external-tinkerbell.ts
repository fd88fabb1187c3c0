/**
 * External Tinkerbell (`externalTinkerbell: true`): CAPT runs in the management cluster but talks to a
 * Tinkerbell in another cluster, through a kubeconfig in a Secret its Deployment mounts.
 *
 * CAPT v0.7.0 (config/manager/manager.yaml) mounts the Secret named by the clusterctl variable
 * `${EXTERNAL_TINKERBELL_KUBECONFIG:=external-tinkerbell-kubeconfig}` as an optional volume at
 * /var/run/secrets/external-tinkerbell, and main.go reads `--external-kubeconfig` (default
 * /var/run/secrets/external-tinkerbell/kubeconfig) once, when the manager starts: so the Secret has to be
 * there before CAPT's controller first starts. The shape is the playground's (reference §2.7), with
 * clusterctl's move labels.
 *
 * The kubeconfig is a parameter, never a value built here: `pulumi up` passes a secret Output, the
 * offline render an obviously redacted placeholder.
 */
import { CLUSTERCTL_MOVE_LABELS } from "./bmc";
import { KubeObject } from "./kube-object";

/** The namespace CAPT's components install into (its kustomize `namespace: capt-system`). */
export const CAPT_NAMESPACE = "capt-system";

/** The Secret's name: CAPT's default for EXTERNAL_TINKERBELL_KUBECONFIG, set explicitly anyway. */
export const EXTERNAL_TINKERBELL_SECRET_NAME = "external-tinkerbell-kubeconfig";

/** Shown instead of the Tinkerbell cluster's kubeconfig wherever the lab is rendered offline. */
export const REDACTED_TINKERBELL_KUBECONFIG = "<redacted: Tinkerbell cluster kubeconfig, set by pulumi up>";

/** The clusterctl / operator variables CAPT's components template reads for external mode. */
export function externalTinkerbellVariables(): { EXTERNAL_TINKERBELL_KUBECONFIG: string } {
    return { EXTERNAL_TINKERBELL_KUBECONFIG: EXTERNAL_TINKERBELL_SECRET_NAME };
}

export type ExternalTinkerbellSecret<K> = {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "Opaque";
    stringData: { kubeconfig: K };
};

export function externalTinkerbellSecret<K>(kubeconfig: K): ExternalTinkerbellSecret<K> {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            name: EXTERNAL_TINKERBELL_SECRET_NAME,
            namespace: CAPT_NAMESPACE,
            labels: { ...CLUSTERCTL_MOVE_LABELS },
        },
        type: "Opaque",
        stringData: { kubeconfig },
    };
}

/** The namespace object the Secret lives in (CAPT's own namespace, which clusterctl would create later). */
export function captNamespace(): KubeObject {
    return { apiVersion: "v1", kind: "Namespace", metadata: { name: CAPT_NAMESPACE } };
}
