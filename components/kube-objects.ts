/**
 * One Pulumi resource per rendered Kubernetes object, so previews show per-object diffs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CAPT_NAMESPACE, externalTinkerbellSecret } from "../lib/render/external-tinkerbell";
import { KubeObject } from "../lib/render/kube-object";

/** A Pulumi name for an object: `<prefix>-<kind>-<name>`, unique within the lab. */
export function kubeResourceName(prefix: string, object: Pick<KubeObject, "kind" | "metadata">): string {
    return `${prefix}-${object.kind.toLowerCase()}-${object.metadata.name}`;
}

/**
 * Core objects get their typed resource (a Secret's data is then secret in state automatically);
 * everything else, CRD-backed, is a CustomResource whose token reads `kubernetes:<apiVersion>:<Kind>`.
 */
export function applyKubeObject(
    name: string,
    object: KubeObject,
    opts: pulumi.CustomResourceOptions,
): pulumi.CustomResource {
    if (object.apiVersion === "v1" && object.kind === "Secret") {
        return new k8s.core.v1.Secret(name, object as k8s.core.v1.SecretArgs, opts);
    }
    return new k8s.apiextensions.CustomResource(name, object as k8s.apiextensions.CustomResourceArgs, opts);
}

/**
 * CAPT's external-Tinkerbell kubeconfig Secret (`<prefix>-secret-…`) in capt-system, for a cluster
 * whose CAPT has not started yet: it reads the Secret only when it starts. The namespace may already
 * be there (an adopted CAPT), so unless the caller owns it (`namespace`) it is only patched into
 * existence (`<prefix>-namespace-capt-system`), never owned.
 */
export function applyExternalTinkerbellSecret(
    prefix: string,
    tinkerbellKubeconfig: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
    namespace?: pulumi.Resource,
): k8s.core.v1.Secret {
    const ns =
        namespace ??
        new k8s.core.v1.NamespacePatch(
            `${prefix}-namespace-${CAPT_NAMESPACE}`,
            { metadata: { name: CAPT_NAMESPACE } },
            opts,
        );
    const secret = externalTinkerbellSecret(pulumi.secret(tinkerbellKubeconfig));
    const dependsOn = [...((opts.dependsOn as pulumi.Input<pulumi.Resource>[] | undefined) ?? []), ns];
    return new k8s.core.v1.Secret(kubeResourceName(prefix, secret), secret as k8s.core.v1.SecretArgs, {
        ...opts,
        dependsOn,
    });
}
