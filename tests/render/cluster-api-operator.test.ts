/**
 * The operator installer's objects and the external Tinkerbell Secret. Core kinds (Namespace, Secret)
 * have no schema in ../shared/schemas: their shape is checked field by field. The operator's CRDs have
 * none either: the fields set here are checked against the upstream Go types (an allow-list taken from
 * cluster-api-operator api/v1alpha2/provider_types.go), and, when the cluster-api-operator sources are
 * on this machine (CAPI_OPERATOR_REPO, a git directory), strictly against the CRDs of the chosen
 * release (config/crd/bases at v<DEFAULT_CAPI_OPERATOR_VERSION>).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { parse, parseAllDocuments } from "yaml";
import {
    CAPT_IMAGE,
    CAPT_VARIABLES_SECRET,
    DEFAULT_CAPI_OPERATOR_VERSION,
    OPERATOR_API_VERSION,
    capiOperatorValues,
    captVariables,
    certManagerValues,
    clusterApiRenderFiles,
    operatorObjects,
    operatorProviders,
} from "../../lib/render/cluster-api-operator";
import { clusterctlConfig, clusterctlYaml } from "../../lib/render/clusterctl";
import {
    CAPT_NAMESPACE,
    EXTERNAL_TINKERBELL_SECRET_NAME,
    REDACTED_TINKERBELL_KUBECONFIG,
    captNamespace,
    externalTinkerbellSecret,
} from "../../lib/render/external-tinkerbell";
import { KubeObject } from "../../lib/render/kube-object";
import { labPlan, sampleKubeconfig } from "../fixtures";
import { describeWhenReady } from "../prerequisites";

const EXTERNAL = { externalTinkerbell: true, tinkerbellKubeconfig: sampleKubeconfig(), tinkerbellVip: "10.71.0.60" };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Every leaf path of an object, e.g. spec.fetchConfig.url, spec.deployment.containers[].name. */
function leafPaths(value: unknown, prefix = ""): string[] {
    if (Array.isArray(value)) {
        return value.flatMap((item) => leafPaths(item, `${prefix}[]`));
    }
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([key, item]) => leafPaths(item, prefix ? `${prefix}.${key}` : key));
    }
    return [prefix];
}

/** The json names of the upstream ProviderSpec fields we use (cluster-api-operator api/v1alpha2/provider_types.go). */
const UPSTREAM_SPEC_FIELDS = new Set([
    "spec.version",
    "spec.configSecret.name",
    "spec.configSecret.namespace",
    "spec.fetchConfig.url",
    "spec.deployment.containers[].name",
    "spec.deployment.containers[].imageUrl",
]);

function providerObjects(objects: KubeObject[]): KubeObject[] {
    return objects.filter((o) => o.apiVersion === OPERATOR_API_VERSION);
}

describe("operator objects", () => {
    const { config, plan } = labPlan({ clusterApiInstaller: "operator" });
    const objects = operatorObjects(config, plan);

    test("the providers clusterctl init installs, in its namespaces, at clusterctlVersion and captVersion", () => {
        expect(providerObjects(objects).map((o) => [o.kind, o.metadata.namespace, o.metadata.name, o.spec])).toEqual([
            ["CoreProvider", "capi-system", "cluster-api", { version: config.clusterctlVersion }],
            ["BootstrapProvider", "capi-kubeadm-bootstrap-system", "kubeadm", { version: config.clusterctlVersion }],
            [
                "ControlPlaneProvider",
                "capi-kubeadm-control-plane-system",
                "kubeadm",
                { version: config.clusterctlVersion },
            ],
            [
                "InfrastructureProvider",
                "capt-system",
                "tinkerbell",
                {
                    version: config.captVersion,
                    configSecret: { name: CAPT_VARIABLES_SECRET, namespace: "capt-system" },
                    fetchConfig: { url: clusterctlConfig(config, plan).providers[0].url },
                    deployment: { containers: [{ name: "manager", imageUrl: `${CAPT_IMAGE}:${config.captVersion}` }] },
                },
            ],
        ]);
        expect(operatorProviders(config).map((p) => p.inventoryName)).toEqual([
            "cluster-api",
            "bootstrap-kubeadm",
            "control-plane-kubeadm",
            "infrastructure-tinkerbell",
        ]);
    });

    test("namespaces first, then the variables Secret, then the providers", () => {
        expect(objects.map((o) => o.kind)).toEqual([
            "Namespace",
            "Namespace",
            "Namespace",
            "Namespace",
            "Secret",
            "CoreProvider",
            "BootstrapProvider",
            "ControlPlaneProvider",
            "InfrastructureProvider",
        ]);
        const namespaces = objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
        for (const object of objects.filter((o) => o.metadata.namespace)) {
            expect(namespaces).toContain(object.metadata.namespace);
        }
    });

    test("each provider waits as clusterctl --wait-providers: Ready at its version, 600s", () => {
        for (const object of providerObjects(objects)) {
            const annotations = object.metadata.annotations!;
            const version = (object.spec as { version: string }).version;
            expect(JSON.parse(annotations["pulumi.com/waitFor"])).toEqual([
                "condition=Ready",
                `jsonpath={.status.installedVersion}=${version}`,
            ]);
            expect(annotations["pulumi.com/timeoutSeconds"]).toBe("600");
        }
    });

    test("every spec field set exists in the upstream ProviderSpec; fetchConfig sets exactly one source", () => {
        for (const object of providerObjects(objects)) {
            for (const leaf of leafPaths({ spec: object.spec })) {
                expect(UPSTREAM_SPEC_FIELDS).toContain(leaf);
            }
            const fetch = (object.spec as { fetchConfig?: Record<string, unknown> }).fetchConfig;
            if (fetch) {
                expect(Object.keys(fetch)).toEqual(["url"]);
            }
        }
    });

    test("the variables Secret: CAPT's TINKERBELL_IP, in the provider's namespace (the operator requires it)", () => {
        const secret = objects.find((o) => o.kind === "Secret")!;
        expect(secret).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: CAPT_VARIABLES_SECRET, namespace: "capt-system" },
            type: "Opaque",
            stringData: { TINKERBELL_IP: plan.vips.tinkerbell },
        });
        expect(Object.keys(clusterctlConfig(config, plan))).toContain("TINKERBELL_IP");
    });

    test("core objects are well-formed: names are DNS labels/subdomains, stringData holds strings", () => {
        for (const object of objects.filter((o) => o.apiVersion === "v1")) {
            expect(["Namespace", "Secret"]).toContain(object.kind);
            expect(object.metadata.name).toMatch(object.kind === "Namespace" ? DNS_LABEL : DNS_SUBDOMAIN);
            if (object.kind === "Secret") {
                expect(Object.keys(object).sort()).toEqual(["apiVersion", "kind", "metadata", "stringData", "type"]);
                for (const [key, value] of Object.entries(object.stringData as Record<string, unknown>)) {
                    expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
                    expect(typeof value).toBe("string");
                }
            }
        }
    });

    test("chart values: only the operator, watching config Secrets; cert-manager with its CRDs", () => {
        expect(capiOperatorValues()).toEqual({ watchConfigSecret: true });
        expect(certManagerValues()).toEqual({ crds: { enabled: true } });
        expect(DEFAULT_CAPI_OPERATOR_VERSION).toBe("0.28.0");
    });
});

describe("external Tinkerbell", () => {
    test("the Secret of the playground (§2.7), with the kubeconfig as given", () => {
        const kubeconfig = sampleKubeconfig("https://172.18.0.3:6443");
        expect(externalTinkerbellSecret(kubeconfig)).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
                name: "external-tinkerbell-kubeconfig",
                namespace: "capt-system",
                labels: { "clusterctl.cluster.x-k8s.io/move": "", "clusterctl.cluster.x-k8s.io": "" },
            },
            type: "Opaque",
            stringData: { kubeconfig },
        });
        expect(externalTinkerbellSecret(REDACTED_TINKERBELL_KUBECONFIG).stringData.kubeconfig).toMatch(/^<redacted/);
        expect(captNamespace()).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: CAPT_NAMESPACE } });
    });

    test("clusterctl.yaml and the operator's variables name the Secret only in external mode", () => {
        const external = labPlan(EXTERNAL);
        expect(clusterctlConfig(external.config, external.plan).EXTERNAL_TINKERBELL_KUBECONFIG).toBe(
            EXTERNAL_TINKERBELL_SECRET_NAME,
        );
        expect(captVariables(external.plan)).toEqual({
            TINKERBELL_IP: "10.71.0.60",
            EXTERNAL_TINKERBELL_KUBECONFIG: EXTERNAL_TINKERBELL_SECRET_NAME,
        });
        const local = labPlan({});
        expect(clusterctlYaml(local.config, local.plan)).not.toContain("EXTERNAL_TINKERBELL_KUBECONFIG");
        expect(captVariables(local.plan)).toEqual({ TINKERBELL_IP: local.plan.vips.tinkerbell });
    });
});

// ---- strictly against the upstream CRDs (../shared/schemas/crds, cluster-api-operator v0.28.0) ----------

const OPERATOR_CRDS = path.resolve(__dirname, "..", "..", "..", "shared", "schemas", "crds");
const missingCrds = fs.existsSync(path.join(OPERATOR_CRDS, "operator.cluster.x-k8s.io_coreproviders.yaml"))
    ? undefined
    : `the cluster-api-operator CRDs are not in ${OPERATOR_CRDS}`;

const PLURALS: Record<string, string> = {
    CoreProvider: "coreproviders",
    BootstrapProvider: "bootstrapproviders",
    ControlPlaneProvider: "controlplaneproviders",
    InfrastructureProvider: "infrastructureproviders",
};

/** additionalProperties: false wherever the CRD lists properties and does not keep unknown fields. */
function strict(schema: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
        if (key === "properties" && typeof value === "object" && value !== null) {
            out.properties = Object.fromEntries(
                Object.entries(value).map(([k, v]) => [k, strict(v as Record<string, unknown>)]),
            );
        } else if ((key === "items" || key === "additionalProperties") && typeof value === "object" && value !== null) {
            out[key] = strict(value as Record<string, unknown>);
        } else if (!key.startsWith("x-kubernetes-")) {
            out[key] = value;
        }
    }
    if (
        schema.properties &&
        schema.additionalProperties === undefined &&
        !schema["x-kubernetes-preserve-unknown-fields"]
    ) {
        out.additionalProperties = false;
    }
    return out;
}

describeWhenReady(
    `the upstream CRDs of cluster-api-operator v${DEFAULT_CAPI_OPERATOR_VERSION}`,
    missingCrds,
    "the cluster-api-operator CRDs in ../shared/schemas",
    () => {
        const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
        const crd = (kind: string) =>
            parse(
                fs.readFileSync(path.join(OPERATOR_CRDS, `operator.cluster.x-k8s.io_${PLURALS[kind]}.yaml`), "utf8"),
            ) as {
                spec: {
                    group: string;
                    names: { kind: string };
                    versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[];
                };
            };

        test.each(Object.keys(PLURALS))("%s validates strictly (external Tinkerbell mode)", (kind) => {
            const { config, plan } = labPlan({ ...EXTERNAL, clusterApiInstaller: "operator" });
            const object = operatorObjects(config, plan).find((o) => o.kind === kind)!;
            const definition = crd(kind);
            const [group, version] = object.apiVersion.split("/");
            expect(definition.spec.group).toBe(group);
            expect(definition.spec.names.kind).toBe(kind);
            const served = definition.spec.versions.find((v) => v.name === version)!;
            const validate = ajv.compile(strict(served.schema.openAPIV3Schema));
            const valid = validate(JSON.parse(JSON.stringify(object)));
            expect(validate.errors ?? []).toEqual([]);
            expect(valid).toBe(true);
            // Strict for real: a field the API does not have is refused.
            expect(validate({ ...object, spec: { ...(object.spec as object), versions: "v1" } })).toBe(false);
        });
    },
);

describe("clusterApiRenderFiles", () => {
    test("nothing for the default lab", () => {
        const { config, plan } = labPlan({});
        expect([...clusterApiRenderFiles(config, plan).keys()]).toEqual([]);
    });

    test("operator and external: the values, the objects, the Secret with the kubeconfig redacted", () => {
        const { config, plan } = labPlan({ ...EXTERNAL, clusterApiInstaller: "operator" });
        const files = clusterApiRenderFiles(config, plan);
        expect([...files.keys()]).toEqual([
            "cert-manager-values.yaml",
            "cluster-api-operator-values.yaml",
            "manifests/cluster-api-operator.yaml",
            "manifests/external-tinkerbell.yaml",
        ]);
        const secret = files.get("manifests/external-tinkerbell.yaml")!;
        expect(secret).toContain(REDACTED_TINKERBELL_KUBECONFIG);
        expect(secret).not.toContain("fixture-token");
        const objects = parseAllDocuments(files.get("manifests/cluster-api-operator.yaml")!).map((d) => d.toJS());
        expect(objects).toEqual(operatorObjects(config, plan));
    });
});
