/**
 * The common shape of every Kubernetes object the render layer builds, and the YAML form users
 * inspect. Pure: the components layer turns each object into its own Pulumi resource.
 */
import { stringify } from "yaml";

export type ObjectMeta = {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
};

/** Any Kubernetes object: type, metadata, and kind-specific fields (spec, data, ...). */
export type KubeObject = {
    apiVersion: string;
    kind: string;
    metadata: ObjectMeta;
    [field: string]: unknown;
};

/** A reference in the Cluster API v1beta2 form: group + kind + name, no version. */
export type ContractRef = { apiGroup: string; kind: string; name: string };

/**
 * A key that is unique among the lab's objects and never changes for the same object:
 * `apiVersion/kind/namespace/name`. Pulumi resource names are derived from it.
 */
export function objectId(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
    const { namespace, name } = object.metadata;
    return `${object.apiVersion}/${object.kind}/${namespace ?? ""}/${name}`;
}

/** The API group of an apiVersion ("" for the core group, as in `v1`). */
export function apiGroupOf(apiVersion: string): string {
    const slash = apiVersion.indexOf("/");
    return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** A v1beta2 contract reference to an object built here, so a reference can never misname its target. */
export function refTo(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): ContractRef {
    return { apiGroup: apiGroupOf(object.apiVersion), kind: object.kind, name: object.metadata.name };
}

/**
 * YAML for one document. Long lines are never folded (a folded shell command or template is
 * still correct YAML, but much harder to review), and an object used twice is written out twice
 * rather than as an anchor and alias, which some consumers (cloud-init, kubectl diff) handle poorly.
 * Strings that YAML 1.1 reads as something else (`on`, `off`, `yes`, `y`, dates) are quoted:
 * kubectl and cloud-init read YAML 1.1, where an unquoted `powerState: on` is a boolean.
 */
export function toYaml(value: unknown): string {
    return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" });
}

/** A multi-document YAML stream, as `kubectl apply -f` takes it. */
export function toYamlStream(values: readonly unknown[]): string {
    return values.map(toYaml).join("---\n");
}
