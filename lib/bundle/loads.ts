/**
 * What the offline lab loads, and from where: each image of the bill of materials that is loaded into
 * docker or the KinD node, joined with the bundle's record of it (file, SHA-256, image id). Pure.
 */
import { BomImage, loadedImages, BomArtifact } from "./bill-of-materials";
import { bundleArtifactFor } from "./check";
import { withoutDigest } from "./image-ref";
import { BundleManifest, ImageArtifact } from "./manifest";

export interface ImageLoad {
    /** The reference as the lab names it. */
    ref: string;
    /** The name the image is loaded under and run by: the reference without a digest (a load keeps none). */
    name: string;
    purpose: string;
    /** Relative to the bundle, as bundle.json records it. */
    file: string;
    sha256: string;
    imageId: string;
    /** A short, readable suffix for the load's resource name: `kindest-node-v1.35.0`. */
    slug: string;
}

export interface BundleLoads {
    docker: ImageLoad[];
    node: ImageLoad[];
    /** Images the lab loads that the bundle lacks (the preflight reports them with their fix). */
    missing: BomImage[];
}

/** `ghcr.io/tinkerbell/tinkerbell:v0.25.0` -> `ghcr.io-tinkerbell-tinkerbell-v0.25.0`. */
export function imageSlug(reference: string): string {
    return withoutDigest(reference).replace(/[^A-Za-z0-9._-]+/g, "-");
}

function load(bom: BomImage, artifact: ImageArtifact): ImageLoad {
    return {
        ref: bom.ref,
        name: withoutDigest(bom.ref),
        purpose: bom.purpose,
        file: artifact.file,
        sha256: artifact.sha256,
        imageId: artifact.imageId,
        slug: imageSlug(bom.ref),
    };
}

export function bundleLoads(bom: readonly BomArtifact[], manifest: BundleManifest): BundleLoads {
    const loads: BundleLoads = { docker: [], node: [], missing: [] };
    for (const target of ["docker", "kind-node"] as const) {
        for (const image of loadedImages(bom, target)) {
            const artifact = bundleArtifactFor(manifest, image);
            if (artifact?.kind !== "image") {
                loads.missing.push(image);
                continue;
            }
            (target === "docker" ? loads.docker : loads.node).push(load(image, artifact));
        }
    }
    return loads;
}
