/**
 * A bundle checked against the bill of materials: every artifact the plan needs that the bundle lacks
 * or holds differently, each with the command that makes the bundle again. Pure: it judges the
 * manifest and what lib/bundle/read.ts saw of each file (lstat, realpath), so every verdict is
 * testable without a bundle on disk.
 *
 * No file is hashed here: the check runs on every preview, and a bundle holds gigabytes. A file's
 * size is compared with the manifest's; its sha256 and an image's imageId are verified when the
 * artifact is loaded (components/scripts/bundle-*.sh).
 */
import { BomArtifact, BomChart, BomFile, BomImage, UsedBy } from "./bill-of-materials";
import { isImageReference, normalizeImageReference, parseImageReference } from "./image-ref";
import { BundleArtifact, BundleManifest, ChartArtifact, FileArtifact, ImageArtifact } from "./manifest";

/** What was seen of one bundle file (path relative to the bundle). */
export type BundleFileFact =
    | { kind: "file"; size: number }
    | { kind: "missing" }
    | { kind: "symlink" }
    /** A folder, a device, a socket: not a regular file. */
    | { kind: "not-a-file" }
    /** Its real path leaves the bundle (a folder on its way is a symlink out of it). */
    | { kind: "outside"; realPath: string };

export interface BundleProblem {
    severity: "error" | "warning";
    /** What the problem is about: `image ghcr.io/tinkerbell/tinkerbell:v0.25.0`. */
    subject: string;
    message: string;
}

export interface BundleCheck {
    problems: BundleProblem[];
    /** Artifacts of the plan the bundle holds as needed. */
    satisfied: number;
    /** Artifacts of the plan. */
    needed: number;
}

/** The command that (re)makes a bundle for a stack. */
export function bundleFixCommand(stack: string, dir: string): string {
    return `npm run bundle -- --stack ${stack} --out ${dir}`;
}

function subjectOf(a: BomArtifact): string {
    return a.kind === "chart" ? `chart ${a.ref} ${a.version}` : `${a.kind} ${a.ref}`;
}

function missingSeverity(usedBy: UsedBy): "error" | "warning" {
    return usedBy === "lab" ? "error" : "warning";
}

function missingMessage(a: BomArtifact): string {
    return a.usedBy === "lab"
        ? `not in the bundle; the lab needs it offline for ${a.purpose}`
        : `not in the bundle; ${a.purpose} is pulled by the machines, which then need a registry that has it`;
}

/** The problem with an artifact's file, or undefined when it is a regular file of the recorded size inside the bundle. */
function fileProblem(entry: BundleArtifact, fact: BundleFileFact): string | undefined {
    switch (fact.kind) {
        case "missing":
            return `its file ${entry.file} is missing`;
        case "symlink":
            return `its file ${entry.file} is a symlink; a bundle holds regular files only`;
        case "not-a-file":
            return `its file ${entry.file} is not a regular file`;
        case "outside":
            return `its file ${entry.file} leads outside the bundle (to ${fact.realPath}): a folder on its way is a symlink`;
        case "file":
            return fact.size === entry.size
                ? undefined
                : `its file ${entry.file} has ${fact.size} bytes, the manifest records ${entry.size}: it was changed or cut short`;
    }
}

function sameImage(entry: ImageArtifact, wanted: BomImage): boolean {
    return isImageReference(entry.ref) && normalizeImageReference(entry.ref) === wanted.normalized;
}

/** The problem with an image the bundle has under the wanted name, if any. */
function imageProblem(entry: ImageArtifact, wanted: BomImage): string | undefined {
    const pinned = parseImageReference(wanted.ref).digest;
    if (pinned !== undefined && entry.repoDigest !== pinned) {
        return `the lab pins the digest ${pinned}, the bundle's image has ${
            entry.repoDigest === undefined ? "no registry digest" : `the digest ${entry.repoDigest}`
        }`;
    }
    return undefined;
}

function chartProblem(entry: ChartArtifact, wanted: BomChart): string | undefined {
    return entry.file === wanted.file
        ? undefined
        : `the bundle holds it at ${entry.file}; the lab reads ${wanted.file}`;
}

interface Match {
    entry?: BundleArtifact;
    /** A same-named artifact of another version (charts) or place (files): said instead of "not in the bundle". */
    near?: string;
    mismatch?: string;
}

function findImage(artifacts: BundleArtifact[], wanted: BomImage): Match {
    const entry = artifacts.find((a): a is ImageArtifact => a.kind === "image" && sameImage(a, wanted));
    if (entry) return { entry, mismatch: imageProblem(entry, wanted) };
    const repository = parseImageReference(wanted.ref).repository;
    const others = artifacts.filter(
        (a) => a.kind === "image" && isImageReference(a.ref) && parseImageReference(a.ref).repository === repository,
    );
    return others.length > 0 ? { near: `the bundle has ${others.map((a) => a.ref).join(", ")} instead` } : {};
}

function findChart(artifacts: BundleArtifact[], wanted: BomChart): Match {
    const charts = artifacts.filter((a): a is ChartArtifact => a.kind === "chart" && a.ref === wanted.ref);
    const entry = charts.find((a) => a.version === wanted.version);
    if (entry) return { entry, mismatch: chartProblem(entry, wanted) };
    return charts.length > 0
        ? {
              near: `wrong version: the bundle has ${charts.map((a) => a.version).join(", ")}, the plan needs ${wanted.version}`,
          }
        : {};
}

function findFile(artifacts: BundleArtifact[], wanted: BomFile): Match {
    const files = artifacts.filter((a): a is FileArtifact => a.kind === "file" && a.ref === wanted.ref);
    const entry = files.find((a) => a.file === wanted.file);
    if (entry) return { entry };
    return files.length > 0
        ? { near: `the bundle holds it at ${files.map((a) => a.file).join(", ")}; the lab reads ${wanted.file}` }
        : {};
}

function find(artifacts: BundleArtifact[], wanted: BomArtifact): Match {
    switch (wanted.kind) {
        case "image":
            return findImage(artifacts, wanted);
        case "chart":
            return findChart(artifacts, wanted);
        case "file":
            return findFile(artifacts, wanted);
    }
}

/** The bundle's artifact for a BOM entry, when the bundle has it (matching as the check does). */
export function bundleArtifactFor(manifest: BundleManifest, wanted: BomArtifact): BundleArtifact | undefined {
    return find(manifest.artifacts, wanted).entry;
}

/** Every artifact of the plan against the bundle's manifest and the files seen. */
export function checkBundle(
    bom: readonly BomArtifact[],
    manifest: BundleManifest,
    fileFact: (file: string) => BundleFileFact,
): BundleCheck {
    const problems: BundleProblem[] = [];
    let satisfied = 0;
    for (const wanted of bom) {
        const subject = subjectOf(wanted);
        const match = find(manifest.artifacts, wanted);
        if (!match.entry) {
            problems.push({
                severity: missingSeverity(wanted.usedBy),
                subject,
                message: match.near ? `${match.near} (${wanted.purpose})` : missingMessage(wanted),
            });
            continue;
        }
        const problem = match.mismatch ?? fileProblem(match.entry, fileFact(match.entry.file));
        if (problem) {
            problems.push({ severity: missingSeverity(wanted.usedBy), subject, message: problem });
            continue;
        }
        satisfied++;
    }
    return { problems, satisfied, needed: bom.length };
}
