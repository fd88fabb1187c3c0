import * as path from "node:path";
import fc from "fast-check";
import { isImageReference } from "../../lib/bundle/image-ref";
import {
    BundleManifestError,
    artifactKey,
    chartBundlePath,
    imageBundlePath,
    imageFileName,
    isBundleRelativePath,
    parseBundleManifest,
    serializeBundleManifest,
    urlFileBundlePath,
    validateBundleManifest,
} from "../../lib/bundle/manifest";

const HEX = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX}`;

function sampleManifest() {
    return {
        schemaVersion: 1,
        createdBy: "test",
        artifacts: [
            {
                kind: "image",
                ref: "ghcr.io/tinkerbell/tinkerbell:v0.25.0",
                imageId: DIGEST,
                file: "images/ghcr.io_tinkerbell_tinkerbell_v0.25.0.tar",
                sha256: HEX,
                size: 123,
                source: "built from github.com/tinkerbell/tinkerbell@v0.25.0",
            },
            {
                kind: "chart",
                ref: "oci://ghcr.io/tinkerbell/charts/tinkerbell",
                version: "v0.25.0",
                file: "charts/tinkerbell-v0.25.0.tgz",
                sha256: HEX,
                size: 7,
                source: "x",
            },
            {
                kind: "file",
                ref: "https://github.com/kubernetes-sigs/cluster-api/releases/download/v1.12.5/metadata.yaml",
                file: "clusterctl/cluster-api/v1.12.5/metadata.yaml",
                sha256: HEX,
                size: 1,
                source: "x",
            },
            {
                kind: "file",
                ref: "https://github.com/kubernetes-sigs/cluster-api/releases/download/v1.12.5/metadata.yaml",
                file: "clusterctl/bootstrap-kubeadm/v1.12.5/metadata.yaml",
                sha256: HEX,
                size: 1,
                source: "x",
            },
        ],
    };
}

function problemsOf(document: unknown): string[] {
    try {
        validateBundleManifest(document);
    } catch (error) {
        expect(error).toBeInstanceOf(BundleManifestError);
        return (error as BundleManifestError).problems;
    }
    return [];
}

describe("bundle.json", () => {
    test("the README's example shape parses, the same release asset in two provider folders included", () => {
        const manifest = validateBundleManifest(sampleManifest());
        expect(manifest.artifacts).toHaveLength(4);
        expect(parseBundleManifest(serializeBundleManifest(manifest))).toEqual({
            ...manifest,
            artifacts: [...manifest.artifacts].sort((a, b) => artifactKey(a).localeCompare(artifactKey(b))),
        });
    });

    test("every problem is reported, each naming where it is", () => {
        const bad = sampleManifest() as { schemaVersion: number; artifacts: Record<string, unknown>[] };
        bad.schemaVersion = 2;
        bad.artifacts[0].imageId = "abc";
        bad.artifacts[0].size = -1;
        bad.artifacts[1].version = "latest";
        bad.artifacts[2].file = "../etc/passwd";
        bad.artifacts[3].sha256 = "ABC";
        bad.artifacts.push({ kind: "archive", ref: "x" });
        const problems = problemsOf(bad);
        expect(problems).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^schemaVersion: expected schemaVersion 1/),
                expect.stringMatching(/^artifacts\[0\]\.imageId: expected .*sha256:<64 hex digits>/),
                expect.stringMatching(/^artifacts\[0\]\.size: /),
                expect.stringMatching(/^artifacts\[1\]\.version: expected a chart version/),
                expect.stringMatching(
                    /^artifacts\[2\]\.file: expected a path relative to the bundle that stays inside it/,
                ),
                expect.stringMatching(/^artifacts\[3\]\.sha256: expected 64 lowercase hex digits/),
                expect.stringMatching(/^artifacts\[4\]/),
            ]),
        );
        expect(problems.length).toBeGreaterThanOrEqual(7);
    });

    test("unknown keys, duplicates and shared files are refused", () => {
        const extra = sampleManifest() as unknown as { artifacts: Record<string, unknown>[] };
        extra.artifacts[0].sha512 = "x";
        expect(problemsOf(extra)).toEqual([expect.stringMatching(/^artifacts\[0\]: .*sha512/)]);
        const twice = sampleManifest();
        twice.artifacts.push({ ...twice.artifacts[0], file: "images/other.tar" });
        twice.artifacts.push({ ...twice.artifacts[1], ref: "oci://example.com/other/tinkerbell" });
        expect(problemsOf(twice)).toEqual([
            "artifacts[4]: image ghcr.io/tinkerbell/tinkerbell:v0.25.0 is listed again (first at artifacts[0])",
            "artifacts[5].file: charts/tinkerbell-v0.25.0.tgz is already the file of artifacts[1]",
        ]);
    });

    test("text that is no JSON is one problem", () => {
        expect(() => parseBundleManifest("{", "/b/bundle.json")).toThrow(
            /\/b\/bundle.json is not a valid bundle manifest:\n {2}not JSON/,
        );
    });

    test("a bundle file never leaves the bundle", () => {
        for (const bad of ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/./b", "a\\b", "a b", "a/$(x)"]) {
            expect(isBundleRelativePath(bad)).toBe(false);
        }
        fc.assert(
            fc.property(
                fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
                (parts) => {
                    const candidate = parts.join("/");
                    if (isBundleRelativePath(candidate)) {
                        const resolved = path.posix.normalize(`/bundle/${candidate}`);
                        expect(resolved.startsWith("/bundle/")).toBe(true);
                        expect(resolved).toBe(`/bundle/${candidate}`);
                    }
                },
            ),
        );
    });

    test("the layout's names", () => {
        expect(imageFileName("ghcr.io/tinkerbell/tinkerbell:v0.25.0")).toBe(
            "ghcr.io_tinkerbell_tinkerbell_v0.25.0.tar",
        );
        expect(imageFileName(`kindest/node:v1@${DIGEST}`)).toBe(`kindest_node_v1_sha256_${HEX}.tar`);
        expect(chartBundlePath("tinkerbell", "v0.25.0")).toBe("charts/tinkerbell-v0.25.0.tgz");
        expect(
            urlFileBundlePath(
                "https://raw.githubusercontent.com/cloudnativelabs/kube-router/v2.11.1/daemonset/kubeadm-kuberouter.yaml",
            ),
        ).toBe("files/kubeadm-kuberouter.yaml");
        fc.assert(
            fc.property(fc.stringMatching(/^[a-z0-9][a-z0-9./:@_-]{0,40}$/), (ref) => {
                fc.pre(isImageReference(ref));
                const file = imageBundlePath(ref);
                expect(isBundleRelativePath(file)).toBe(true);
                expect(file.split("/")).toHaveLength(2);
            }),
        );
    });
});
