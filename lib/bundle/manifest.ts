/**
 * The offline bundle's manifest, `bundle.json`, and the bundle's layout: the contract between
 * `npm run bundle` (which writes a bundle on a connected host), the e2e rig (which builds one from
 * sources, tests/e2e/bundle/) and the lab (which checks a bundle and loads from it with
 * `offlineBundle`). tests/e2e/bundle/README.md describes it for people; this module is its schema.
 * Pure: parsing and paths only, no file access.
 *
 * ```
 * <bundle>/
 *   bundle.json                                   this manifest
 *   images/<name>.tar                             one image per file, `docker save` format
 *   charts/<chart>-<version>.tgz                  Helm chart archives
 *   clusterctl/<provider-label>/<version>/<file>  a clusterctl local repository
 *   clusterctl/cert-manager/<version>/cert-manager.yaml
 *   files/<name>                                  other files fetched by URL
 * ```
 */
import { z } from "zod";

export const BUNDLE_MANIFEST_FILE = "bundle.json";
export const BUNDLE_SCHEMA_VERSION = 1;

export type ArtifactKind = "image" | "chart" | "file";

const SHA256_HEX = /^[a-f0-9]{64}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** One path segment of a bundle file: letters, digits and . _ + @ = , - (what the layout's names use). */
const SEGMENT = /^[A-Za-z0-9._+@=,-]+$/;

/**
 * A file path relative to the bundle that stays inside it: no leading `/`, no `.` or `..` segment,
 * no empty segment (`a//b`), no backslash, only the segment characters above.
 */
export function isBundleRelativePath(value: string): boolean {
    if (value === "" || value.startsWith("/")) return false;
    return value.split("/").every((segment) => SEGMENT.test(segment) && segment !== "." && segment !== "..");
}

function hasControlCharacters(text: string): boolean {
    return [...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
}

const ref = z
    .string({ error: "expected a reference (text)" })
    .min(1, { error: "expected a non-empty reference" })
    .max(1024, { error: "expected at most 1024 characters" })
    .refine((value) => !hasControlCharacters(value) && !/\s/.test(value), {
        error: "expected a reference without spaces or control characters",
    });

const bundleFile = z.string({ error: "expected a path relative to the bundle (text)" }).refine(isBundleRelativePath, {
    error: "expected a path relative to the bundle that stays inside it (no leading /, no . or .. segments; letters, digits and . _ + @ = , - in each segment)",
});

const common = {
    ref,
    file: bundleFile,
    sha256: z.string({ error: "expected 64 lowercase hex digits" }).regex(SHA256_HEX, {
        error: "expected 64 lowercase hex digits (the file's SHA-256)",
    }),
    size: z
        .number({ error: "expected the file's size in bytes (a number)" })
        .int({ error: "expected a whole number of bytes" })
        .min(0, { error: "expected a size of 0 bytes or more" }),
    source: z
        .string({ error: "expected text saying where the artifact came from" })
        .refine((value) => !hasControlCharacters(value.replace(/\n/g, " ")), {
            error: "expected text without control characters",
        }),
};

const digest = (what: string) =>
    z.string({ error: `expected ${what} as sha256:<64 hex digits>` }).regex(DIGEST, {
        error: `expected ${what} as sha256:<64 hex digits>`,
    });

const imageArtifact = z.strictObject({
    kind: z.literal("image"),
    ...common,
    imageId: digest("the image's config digest (docker image inspect -f '{{.Id}}')"),
    repoDigest: digest("the registry's manifest digest").optional(),
});

const chartArtifact = z.strictObject({
    kind: z.literal("chart"),
    ...common,
    version: z
        .string({ error: "expected the chart version (text)" })
        .regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/, {
            error: "expected a chart version like v0.25.0 or 1.17.3",
        }),
});

const fileArtifact = z.strictObject({ kind: z.literal("file"), ...common });

const artifact = z.discriminatedUnion("kind", [imageArtifact, chartArtifact, fileArtifact], {
    error: "expected an artifact with kind image, chart or file",
});

const manifestSchema = z.strictObject({
    schemaVersion: z.literal(BUNDLE_SCHEMA_VERSION, {
        error: `expected schemaVersion ${BUNDLE_SCHEMA_VERSION} (a bundle of another version: make it again with npm run bundle)`,
    }),
    createdBy: z.string({ error: "expected text naming what wrote the bundle" }),
    artifacts: z.array(artifact, { error: "expected a list of artifacts" }),
});

export type ImageArtifact = z.output<typeof imageArtifact>;
export type ChartArtifact = z.output<typeof chartArtifact>;
export type FileArtifact = z.output<typeof fileArtifact>;
export type BundleArtifact = z.output<typeof artifact>;
export type BundleManifest = z.output<typeof manifestSchema>;

/** Every problem of a manifest, one line each, naming where (`artifacts[3].sha256`) and what is expected. */
export class BundleManifestError extends Error {
    constructor(
        readonly problems: string[],
        where = BUNDLE_MANIFEST_FILE,
    ) {
        super(`${where} is not a valid bundle manifest:\n${problems.map((p) => `  ${p}`).join("\n")}`);
        this.name = "BundleManifestError";
    }
}

function issuePath(path: readonly PropertyKey[]): string {
    return path.reduce<string>(
        (text, step) =>
            typeof step === "number" ? `${text}[${step}]` : text ? `${text}.${String(step)}` : String(step),
        "",
    );
}

/**
 * The key of an artifact the lab matches on: kind + ref, and the version for charts; for files also the
 * file, because one release asset can be in a bundle twice (each Cluster API provider's folder of
 * clusterctl's repository holds the release's one metadata.yaml).
 */
export function artifactKey(a: { kind: ArtifactKind; ref: string; version?: string; file?: string }): string {
    if (a.kind === "chart") return `chart ${a.ref} ${a.version ?? ""}`;
    return a.kind === "file" ? `file ${a.ref} ${a.file ?? ""}` : `image ${a.ref}`;
}

/** Rules across artifacts: one artifact per key, one artifact per file. */
function duplicateProblems(manifest: BundleManifest): string[] {
    const problems: string[] = [];
    const keys = new Map<string, number>();
    const files = new Map<string, number>();
    manifest.artifacts.forEach((a, index) => {
        const key = artifactKey(a);
        const first = keys.get(key);
        if (first !== undefined) {
            problems.push(`artifacts[${index}]: ${key} is listed again (first at artifacts[${first}])`);
        } else {
            keys.set(key, index);
        }
        const owner = files.get(a.file);
        if (owner !== undefined) {
            problems.push(`artifacts[${index}].file: ${a.file} is already the file of artifacts[${owner}]`);
        } else {
            files.set(a.file, index);
        }
    });
    return problems;
}

/** A manifest from its parsed JSON; throws BundleManifestError listing every problem. */
export function validateBundleManifest(document: unknown, where = BUNDLE_MANIFEST_FILE): BundleManifest {
    const result = manifestSchema.safeParse(document);
    if (!result.success) {
        const problems = result.error.issues.map((issue) => {
            const path = issuePath(issue.path);
            return `${path || "(top level)"}: ${issue.message}`;
        });
        throw new BundleManifestError(problems, where);
    }
    const problems = duplicateProblems(result.data);
    if (problems.length > 0) {
        throw new BundleManifestError(problems, where);
    }
    return result.data;
}

/** A manifest from bundle.json's text; throws BundleManifestError (also for text that is no JSON). */
export function parseBundleManifest(text: string, where = BUNDLE_MANIFEST_FILE): BundleManifest {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (error) {
        throw new BundleManifestError([`not JSON: ${error instanceof Error ? error.message : String(error)}`], where);
    }
    return validateBundleManifest(document, where);
}

/** bundle.json's text: artifacts sorted by kind and ref, two-space indent, a final newline. */
export function serializeBundleManifest(manifest: BundleManifest): string {
    const artifacts = [...manifest.artifacts].sort((a, b) => artifactKey(a).localeCompare(artifactKey(b)));
    return `${JSON.stringify({ ...validateBundleManifest({ ...manifest, artifacts }) }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// The layout: where each artifact lives in a bundle

/** `registry/path:tag` -> `registry_path_tag.tar` (`/`, `:` and `@` become `_`), as the e2e rig names them. */
export function imageFileName(reference: string): string {
    return `${reference.replace(/[/:@]/g, "_")}.tar`;
}

export function imageBundlePath(reference: string): string {
    return `images/${imageFileName(reference)}`;
}

/** `charts/<chart>-<version>.tgz`: the chart's name is the last segment of its repository reference. */
export function chartBundlePath(chartName: string, version: string): string {
    return `charts/${chartName}-${version}.tgz`;
}

/** clusterctl's local repository layout: `clusterctl/<provider-label>/<version>/<file>`. */
export function clusterctlBundlePath(providerLabel: string, version: string, file: string): string {
    return `clusterctl/${providerLabel}/${version}/${file}`;
}

export const CERT_MANAGER_LABEL = "cert-manager";
export const CERT_MANAGER_MANIFEST = "cert-manager.yaml";

export function certManagerBundlePath(version: string): string {
    return clusterctlBundlePath(CERT_MANAGER_LABEL, version, CERT_MANAGER_MANIFEST);
}

/** `files/<name>`: a file fetched by URL keeps the last segment of the URL's path. */
export function urlFileBundlePath(url: string): string {
    const name =
        new URL(url).pathname
            .split("/")
            .filter((segment) => segment !== "")
            .pop() ?? "index";
    return `files/${name}`;
}
