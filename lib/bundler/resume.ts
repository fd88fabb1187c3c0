/**
 * What `npm run bundle` does with each artifact of the bill of materials when the folder already
 * holds some of them (a finished bundle, or an unfinished one whose run was interrupted or failed):
 * keep what is there with the recorded digest, fetch the rest. Pure: it judges the recorded entries
 * and what was seen of each file (lib/bundle/read.ts's facts, and the file's SHA-256 once asked for).
 */
import { BomArtifact } from "../bundle/bill-of-materials";
import { BundleFileFact } from "../bundle/check";
import { isImageReference, normalizeImageReference, parseImageReference, withoutDigest } from "../bundle/image-ref";
import { BundleArtifact, artifactKey } from "../bundle/manifest";

export type Decision =
    /** The file is there with the recorded digest: nothing to fetch. */
    | { action: "keep"; entry: BundleArtifact }
    /** The file is there with the recorded size: its SHA-256 decides (ask again with it). */
    | { action: "hash"; entry: BundleArtifact }
    | { action: "fetch"; reason: string };

function sameArtifact(bom: BomArtifact, entry: BundleArtifact): boolean {
    if (bom.kind !== entry.kind) return false;
    switch (bom.kind) {
        case "image":
            return isImageReference(entry.ref) && normalizeImageReference(entry.ref) === bom.normalized;
        case "chart":
            return entry.kind === "chart" && entry.ref === bom.ref && entry.version === bom.version;
        case "file":
            return entry.ref === bom.ref && entry.file === bom.file;
    }
}

/** The entry an earlier run recorded for a bill-of-materials artifact, if any. */
export function recordedEntry(bom: BomArtifact, entries: readonly BundleArtifact[]): BundleArtifact | undefined {
    return entries.find((entry) => sameArtifact(bom, entry));
}

/**
 * What to do with one artifact. Call without `sha256` first; on `hash`, hash the file and call again
 * with it (a bundle holds gigabytes: a file of the wrong size is not hashed at all).
 */
export function resumeDecision(
    bom: BomArtifact,
    recorded: BundleArtifact | undefined,
    fact: BundleFileFact,
    sha256?: string,
): Decision {
    if (recorded === undefined) return { action: "fetch", reason: "not in the bundle yet" };
    if (recorded.file !== bom.file) {
        return { action: "fetch", reason: `recorded at ${recorded.file}, the bundle's layout puts it at ${bom.file}` };
    }
    if (bom.kind === "image" && recorded.kind === "image") {
        const pinned = parseImageReference(bom.ref).digest;
        if (pinned !== undefined && recorded.repoDigest !== pinned) {
            return {
                action: "fetch",
                reason: `the config pins ${pinned}, the bundle's image has ${recorded.repoDigest ?? "no registry digest"}`,
            };
        }
    }
    switch (fact.kind) {
        case "missing":
            return { action: "fetch", reason: `its file ${bom.file} is missing` };
        case "symlink":
            return { action: "fetch", reason: `its file ${bom.file} is a symlink (replaced by a regular file)` };
        case "not-a-file":
            return { action: "fetch", reason: `its file ${bom.file} is not a regular file` };
        case "outside":
            return { action: "fetch", reason: `its file ${bom.file} leads outside the bundle` };
        case "file":
            break;
    }
    if (fact.size !== recorded.size) {
        return {
            action: "fetch",
            reason: `its file has ${fact.size} bytes, ${recorded.size} were recorded (cut short or changed)`,
        };
    }
    if (sha256 === undefined) return { action: "hash", entry: recorded };
    if (sha256 !== recorded.sha256) {
        return { action: "fetch", reason: "its file's SHA-256 differs from the recorded one (corrupted or changed)" };
    }
    return { action: "keep", entry: recorded };
}

/** The entries of bundle.json overlaid with a run's progress record (the newer entry of a key wins). */
export function mergeRecorded(...layers: readonly (readonly BundleArtifact[])[]): BundleArtifact[] {
    const byKey = new Map<string, BundleArtifact>();
    for (const layer of layers) {
        for (const entry of layer) byKey.set(artifactKey(entry), entry);
    }
    return [...byKey.values()];
}

/**
 * The manifest's artifacts after a run: the bill of materials' entries, plus entries of earlier runs
 * that this stack no longer needs (another stack's, an older version's) while their file is intact
 * and no entry of this run took their key or their file. One folder can so hold the bundle of
 * several stacks.
 */
export function finalArtifacts(
    current: readonly BundleArtifact[],
    earlier: readonly BundleArtifact[],
    intact: (entry: BundleArtifact) => boolean,
): BundleArtifact[] {
    const keys = new Set(current.map(artifactKey));
    const images = new Set(
        current.filter((e) => e.kind === "image" && isImageReference(e.ref)).map((e) => normalizeImageReference(e.ref)),
    );
    const files = new Set(current.map((e) => e.file));
    const kept: BundleArtifact[] = [];
    for (const entry of earlier) {
        if (keys.has(artifactKey(entry)) || files.has(entry.file)) continue;
        if (entry.kind === "image" && isImageReference(entry.ref) && images.has(normalizeImageReference(entry.ref))) {
            continue;
        }
        if (!intact(entry)) continue;
        keys.add(artifactKey(entry));
        files.add(entry.file);
        kept.push(entry);
    }
    return [...current, ...kept];
}

/**
 * The tag the saved image carries: the lab's reference without its digest (a load restores no
 * digest, so the lab finds the image by this name). A reference by digest alone has no tag to give:
 * undefined, and the image is saved under its digest (the lab then finds it by its ID).
 */
export function labTag(reference: string): string | undefined {
    const digestOnly = reference.includes("@") && parseImageReference(reference).tag === undefined;
    return digestOnly ? undefined : withoutDigest(reference);
}

/**
 * The name docker pulls: a pinned reference by its digest alone (`repo:tag@sha256:...` ->
 * `repo@sha256:...`), so that the registry must serve exactly the pinned manifest; any other as it is.
 */
export function pullReference(reference: string): string {
    const at = reference.indexOf("@");
    if (at < 0) return reference;
    const name = reference.slice(0, at);
    const lastSlash = name.lastIndexOf("/");
    const colon = name.indexOf(":", lastSlash + 1);
    return `${colon < 0 ? name : name.slice(0, colon)}${reference.slice(at)}`;
}
