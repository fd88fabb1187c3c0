/**
 * Every generated object against the real upstream schemas (strict: unknown fields fail), for
 * the dev stack and a matrix of shapes. The core v1 Secret has no schema there; its shape is
 * checked by hand.
 */
import { parseAllDocuments } from "yaml";
import { labConfig, labPlan } from "../fixtures";
import { BMC_SECRET_NAME, REDACTED_BMC_PASSWORD, bmcSecret } from "../../lib/render/bmc";
import { kindClusterConfig } from "../../lib/render/kind-config";
import { KubeObject, objectId } from "../../lib/render/kube-object";
import { renderManifests } from "../../lib/render/manifests";
import { describeWithSchemas, devStack, renderedObjects, schemaErrors, stackMatrix } from "./support";

function isCoreSecret(o: KubeObject): boolean {
    return o.apiVersion === "v1" && o.kind === "Secret";
}

function expectConformant(objects: readonly KubeObject[]): void {
    const failures = objects
        .filter((o) => !isCoreSecret(o))
        .flatMap((o) => schemaErrors(o).map((e) => `${objectId(o)}: ${e}`));
    expect(failures).toEqual([]);
}

describeWithSchemas("upstream schema conformance", () => {
    test("the dev stack: every object and the KinD config", () => {
        const { config, plan } = devStack();
        const objects = renderedObjects(config, plan);
        expect(objects.length).toBeGreaterThan(plan.machines.length * 2);
        expectConformant(objects);
        expect(schemaErrors(kindClusterConfig(config, plan))).toEqual([]);
    });

    test.each(stackMatrix())("$label", ({ raw }) => {
        const { config, plan } = labPlan(raw);
        expectConformant(renderedObjects(config, plan));
        expect(schemaErrors(kindClusterConfig(config, plan))).toEqual([]);
    });

    test("the YAML users inspect parses back to conformant objects", () => {
        const { config, plan } = devStack();
        const documents = [...renderManifests(config, plan).values()].flatMap((text) =>
            parseAllDocuments(text).map((d) => d.toJS() as KubeObject),
        );
        expect(documents).toHaveLength(renderedObjects(config, plan).length);
        expectConformant(documents);
    });

    test("the checker rejects an unknown field and a wrong type (it can fail)", () => {
        const { config, plan } = devStack();
        const hw = renderedObjects(config, plan).find((o) => o.kind === "Hardware")!;
        const spec = hw.spec as Record<string, unknown>;
        expect(schemaErrors({ ...hw, spec: { ...spec, bogus: true } })).not.toEqual([]);
        expect(schemaErrors({ ...hw, spec: { ...spec, disks: "/dev/vda" } })).not.toEqual([]);
        const kind = kindClusterConfig(config, plan);
        expect(schemaErrors({ ...kind, networking: { ...kind.networking, podCIDR: "x" } })).not.toEqual([]);
    });
});

describe("the BMC Secret (core v1, checked by hand)", () => {
    test("a basic-auth Secret with only username and password, labelled for clusterctl move", () => {
        const config = labConfig();
        const secret = bmcSecret(config, "pw-from-caller");
        expect(secret).toEqual({
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
                name: BMC_SECRET_NAME,
                namespace: config.namespace,
                labels: { "clusterctl.cluster.x-k8s.io": "", "clusterctl.cluster.x-k8s.io/move": "" },
            },
            type: "kubernetes.io/basic-auth",
            stringData: { username: config.bmcUsername, password: "pw-from-caller" },
        });
    });

    test("the password is passed through untouched (a Pulumi Output stays an Output)", () => {
        const output = { secretOutput: true };
        expect(bmcSecret(labConfig(), output).stringData.password).toBe(output);
    });

    test("the rendered Secret shows the redacted placeholder, never a configured password", () => {
        // As index.ts holds it after decrypting a secret config value.
        const { config: parsed, plan } = labPlan();
        const config = { ...parsed, bmcPassword: "S3cret-pass!" };
        const rendered = [...renderManifests(config, plan).values()].join("\n");
        expect(rendered).not.toContain("S3cret-pass!");
        const secret = renderedObjects(config, plan).find(isCoreSecret)!;
        expect((secret.stringData as { password: string }).password).toBe(REDACTED_BMC_PASSWORD);
    });
});
