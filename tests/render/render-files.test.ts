/**
 * What `npm run render` writes for the dev stack. The snapshot is the reviewed record of every
 * object users apply: any change to it shows up in review.
 */
import { parseAllDocuments } from "yaml";
import { renderLabFiles } from "../../lib/render/files";
import { REDACTED_BMC_PASSWORD } from "../../lib/render/bmc";
import { GENERATED_SSH_KEY_PLACEHOLDER } from "../../lib/render/cluster-api";
import { devStack, renderedObjects } from "./support";

const KUBERNETES_FILES = [
    "kind-config.yaml",
    "tinkerbell-values.yaml",
    "clusterctl.yaml",
    "manifests/inventory.yaml",
    "manifests/cluster-api.yaml",
];

test("renderLabFiles writes the KinD config, chart values, clusterctl config and manifests", () => {
    const { config, plan } = devStack();
    const files = renderLabFiles(config, plan);
    expect([...files.keys()]).toEqual(expect.arrayContaining(["plan.json", ...KUBERNETES_FILES]));
    for (const file of KUBERNETES_FILES) {
        const documents = parseAllDocuments(files.get(file)!);
        expect(documents.every((d) => d.errors.length === 0)).toBe(true);
    }
});

test("the manifests hold every object the stack applies, with the secret inputs as placeholders", () => {
    const { config, plan } = devStack();
    const files = renderLabFiles(config, plan);
    const manifests = [...files.entries()].filter(([p]) => p.startsWith("manifests/"));
    const documents = manifests.flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS()));
    expect(documents).toEqual(JSON.parse(JSON.stringify(renderedObjects(config, plan))));
    const text = manifests.map(([, t]) => t).join("");
    expect(text).toContain(REDACTED_BMC_PASSWORD);
    expect(text).toContain(GENERATED_SSH_KEY_PLACEHOLDER);
});

test("dev stack rendered files (reviewed snapshot)", () => {
    const { config, plan } = devStack();
    const files = renderLabFiles(config, plan);
    for (const file of KUBERNETES_FILES) {
        expect(files.get(file)).toMatchSnapshot(file);
    }
});
