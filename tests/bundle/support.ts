/** A bundle made to measure for a bill of materials: its manifest, and on request its files on disk. */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BomArtifact } from "../../lib/bundle/bill-of-materials";
import { withoutDigest, parseImageReference } from "../../lib/bundle/image-ref";
import {
    BUNDLE_MANIFEST_FILE,
    BundleArtifact,
    BundleManifest,
    serializeBundleManifest,
} from "../../lib/bundle/manifest";

/** The content a fixture gives an artifact's file: small and different per file. */
export function fixtureContent(file: string): string {
    return `fixture ${file}\n`;
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/** A fake image id derived from the reference, as a real bundle records docker's config digest. */
export function fixtureImageId(ref: string): string {
    return `sha256:${sha256(`image ${withoutDigest(ref)}`)}`;
}

/** The manifest a complete bundle for `bom` would have. */
export function manifestFor(bom: readonly BomArtifact[]): BundleManifest {
    const artifacts: BundleArtifact[] = bom.map((a) => {
        const content = fixtureContent(a.file);
        const common = {
            ref: a.ref,
            file: a.file,
            sha256: sha256(content),
            size: Buffer.byteLength(content),
            source: "fixture",
        };
        if (a.kind === "image") {
            const digest = parseImageReference(a.ref).digest;
            return {
                kind: "image",
                ...common,
                imageId: fixtureImageId(a.ref),
                ...(digest ? { repoDigest: digest } : {}),
            };
        }
        return a.kind === "chart" ? { kind: "chart", ...common, version: a.version } : { kind: "file", ...common };
    });
    return { schemaVersion: 1, createdBy: "tests/bundle/support.ts", artifacts };
}

/** Writes a complete bundle for `bom` into `dir` (bundle.json and every file). */
export function writeBundle(dir: string, bom: readonly BomArtifact[]): BundleManifest {
    const manifest = manifestFor(bom);
    for (const a of manifest.artifacts) {
        fs.mkdirSync(path.join(dir, path.dirname(a.file)), { recursive: true });
        fs.writeFileSync(path.join(dir, a.file), fixtureContent(a.file));
    }
    fs.writeFileSync(path.join(dir, BUNDLE_MANIFEST_FILE), serializeBundleManifest(manifest));
    return manifest;
}
