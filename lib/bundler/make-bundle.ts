/**
 * `npm run bundle`: every artifact of a stack's bill of materials fetched into a bundle folder in the
 * layout of tests/e2e/bundle/README.md, and bundle.json written last. Images come from the user's
 * docker (pull, then save one image per file), charts and files over HTTPS (lib/bundler/http.ts,
 * lib/bundler/oci-registry.ts). What the folder already holds with the recorded digest is kept; an
 * interrupted or failed run is resumed by running the same command again.
 */
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { BomArtifact, BomChart, BomFile, BomImage } from "../bundle/bill-of-materials";
import { bundleFileFact } from "../bundle/read";
import { parseImageReference } from "../bundle/image-ref";
import {
    BUNDLE_MANIFEST_FILE,
    BUNDLE_SCHEMA_VERSION,
    BundleArtifact,
    ImageArtifact,
    serializeBundleManifest,
} from "../bundle/manifest";
import {
    PROGRESS_FILE,
    bundlePath,
    commitPartial,
    inspectBundleDir,
    openPartial,
    partialPath,
    removeStalePartials,
    writeFileAtomically,
} from "./bundle-dir";
import { findChartInIndex, parseChartReference } from "./chart-ref";
import { Docker } from "./docker";
import {
    HttpPolicy,
    RetryOptions,
    Written,
    expectOk,
    hashFile,
    httpGet,
    readText,
    streamBodyTo,
    withRetries,
} from "./http";
import { Mirror, locateRepository, mirroredImageReference, mirroredUrl } from "./mirror";
import { RegistryClient, chartLayer } from "./oci-registry";
import {
    Decision,
    finalArtifacts,
    labTag,
    mergeRecorded,
    pullReference,
    recordedEntry,
    resumeDecision,
} from "./resume";

export interface BundleOptions {
    dir: string;
    bom: readonly BomArtifact[];
    mirrors: readonly Mirror[];
    /** bundle.json's createdBy. */
    createdBy: string;
    docker: Docker;
    http: HttpPolicy;
    /** One line of progress (no newline). */
    progress: (line: string) => void;
    retry?: RetryOptions;
}

export interface BundleFailure {
    subject: string;
    message: string;
}

export interface BundleResult {
    /** bundle.json was written: every artifact is in the bundle. */
    complete: boolean;
    total: number;
    fetched: number;
    present: number;
    failures: BundleFailure[];
    /** Bytes of the stack's artifacts in the bundle. */
    bytes: number;
    /** Entries of earlier runs this stack does not need, kept in bundle.json. */
    keptEarlier: number;
}

/** A fault that stops the whole run before anything is fetched (docker missing, a folder refused). */
export class BundleRunError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BundleRunError";
    }
}

export function formatBytes(bytes: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit++;
    }
    return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** What a progress line names: a file also by its place (one release asset can fill several). */
export function subjectOf(a: BomArtifact): string {
    switch (a.kind) {
        case "chart":
            return `chart ${a.ref} ${a.version}`;
        case "file":
            return `file ${a.ref} as ${a.file}`;
        case "image":
            return `image ${a.ref}`;
    }
}

class Fetcher {
    private readonly registry: RegistryClient;
    /** Files this run downloaded, by URL: a release asset wanted in several places is downloaded once. */
    private readonly downloaded = new Map<string, BundleArtifact>();

    constructor(private readonly options: BundleOptions) {
        this.registry = new RegistryClient(options.http);
    }

    async fetch(a: BomArtifact): Promise<BundleArtifact> {
        switch (a.kind) {
            case "image":
                return this.image(a);
            case "chart":
                return this.chart(a);
            case "file":
                return this.file(a);
        }
    }

    /** Writes `a.file` from `write` through its partial file; the partial is removed on failure. */
    private async write(file: string, write: (stream: fs.WriteStream) => Promise<Written>): Promise<Written> {
        const partial = openPartial(this.options.dir, file);
        try {
            const written = await write(partial.stream);
            commitPartial(this.options.dir, file);
            return written;
        } catch (error) {
            partial.stream.destroy();
            fs.rmSync(partial.path, { force: true });
            throw error;
        }
    }

    private async image(a: BomImage): Promise<ImageArtifact> {
        const docker = this.options.docker;
        const reference = parseImageReference(a.ref);
        const mirrored = mirroredImageReference(a.ref, this.options.mirrors);
        // Pinned: pull by the digest alone, so the registry must serve exactly that manifest.
        const pullName = pullReference(mirrored);
        const viaMirror = mirrored !== a.ref;
        const hadPullName = viaMirror && (await docker.inspect(pullName)) !== undefined;
        const printed = await docker.pull(pullName);
        const pulled = await docker.inspect(pullName);
        if (pulled === undefined) throw new Error(`docker pull ${pullName} left no image of that name`);
        const repoDigest = reference.digest ?? printed ?? this.repoDigestOf(pulled, pullName);
        if (reference.digest !== undefined && printed !== undefined && printed !== reference.digest) {
            throw new Error(`the registry served ${printed} for the pinned ${reference.digest}`);
        }
        const tag = labTag(a.ref);
        const saveName = tag ?? pullName;
        if (tag !== undefined && tag !== pullName) await docker.tag(pullName, tag);
        const saved = await docker.inspect(saveName);
        if (saved?.id !== pulled.id) throw new Error(`${saveName} is not the image docker pulled (${pulled.id})`);
        const written = await this.write(a.file, (stream) => docker.save(saveName, stream));
        if (viaMirror && !hadPullName && saveName !== pullName) {
            // The mirror's name was this run's doing; the lab's own name stays, as a pull without a mirror leaves it.
            await docker.untag(pullName);
        }
        return {
            kind: "image",
            ref: a.ref,
            imageId: pulled.id,
            ...(repoDigest !== undefined ? { repoDigest } : {}),
            file: a.file,
            sha256: written.sha256,
            size: written.size,
            source: viaMirror ? `pulled from ${a.ref} through the mirror ${pullName}` : `pulled from ${a.ref}`,
        };
    }

    /** The registry digest docker recorded for the repository pulled from, when there is exactly one. */
    private repoDigestOf(facts: { repoDigests: string[] }, pullName: string): string | undefined {
        const repository = parseImageReference(pullName).repository;
        const digests = facts.repoDigests
            .map((d) => parseImageReference(d))
            .filter((d) => d.repository === repository && d.digest !== undefined)
            .map((d) => d.digest!);
        return digests.length === 1 ? digests[0] : undefined;
    }

    private async chart(a: BomChart): Promise<BundleArtifact> {
        const chart = parseChartReference(a.ref, a.version);
        if (chart.kind === "oci") {
            const location = locateRepository(chart.registry, chart.repository, this.options.mirrors);
            const manifest = await this.registry.manifest(location, chart.tag);
            const layer = chartLayer(manifest.text);
            const written = await this.write(a.file, (stream) => this.registry.blob(location, layer, stream));
            const through = location.mirror ? ` through the mirror ${location.host}/${location.repository}` : "";
            return {
                kind: "chart",
                ref: a.ref,
                version: a.version,
                file: a.file,
                sha256: written.sha256,
                size: written.size,
                source: `${a.ref}:${chart.tag}@${manifest.digest}${through}`,
            };
        }
        const index = mirroredUrl(chart.indexUrl, this.options.mirrors);
        const got = await httpGet(index.url, { Accept: "application/x-yaml, text/yaml, */*" }, this.options.http);
        await expectOk(got, index.mirror ? `the mirror's ${index.url}` : chart.indexUrl);
        const found = findChartInIndex(await readText(got), chart);
        const written = await this.download(a.file, found.url);
        if (found.sha256 !== undefined && found.sha256 !== written.sha256) {
            fs.rmSync(bundlePath(this.options.dir, a.file), { force: true });
            throw new Error(
                `${found.url} arrived as sha256:${written.sha256}; ${chart.indexUrl} lists sha256:${found.sha256}`,
            );
        }
        return {
            kind: "chart",
            ref: a.ref,
            version: a.version,
            file: a.file,
            sha256: written.sha256,
            size: written.size,
            source: `${found.url} (listed in ${chart.indexUrl})${index.mirror ? " through a mirror" : ""}`,
        };
    }

    private async download(file: string, url: string): Promise<Written> {
        const target = mirroredUrl(url, this.options.mirrors);
        return this.write(file, async (stream) => {
            const got = await httpGet(target.url, {}, this.options.http);
            await expectOk(got, url === target.url ? url : `the mirror's ${target.url}`);
            return streamBodyTo(got, stream);
        });
    }

    private async file(a: BomFile): Promise<BundleArtifact> {
        const earlier = this.downloaded.get(a.ref);
        if (earlier !== undefined) {
            const copied = await this.write(a.file, (stream) =>
                pipeline(fs.createReadStream(bundlePath(this.options.dir, earlier.file)), stream).then(() =>
                    hashFile(partialPath(this.options.dir, a.file)),
                ),
            );
            if (copied.sha256 === earlier.sha256) return { ...earlier, file: a.file };
        }
        const written = await this.download(a.file, a.ref);
        const target = mirroredUrl(a.ref, this.options.mirrors);
        const entry: BundleArtifact = {
            kind: "file",
            ref: a.ref,
            file: a.file,
            sha256: written.sha256,
            size: written.size,
            source: target.mirror ? `downloaded from ${a.ref} through ${target.url}` : `downloaded from ${a.ref}`,
        };
        this.downloaded.set(a.ref, entry);
        return entry;
    }
}

function manifestText(createdBy: string, artifacts: BundleArtifact[]): string {
    return serializeBundleManifest({ schemaVersion: BUNDLE_SCHEMA_VERSION, createdBy, artifacts });
}

/** Decides, for each artifact, whether the folder holds it with the recorded digest (hashing only files of the recorded size). */
async function decide(dir: string, bom: readonly BomArtifact[], recorded: BundleArtifact[]): Promise<Decision[]> {
    const decisions: Decision[] = [];
    for (const a of bom) {
        const entry = recordedEntry(a, recorded);
        const fact = bundleFileFact(dir, a.file);
        let decision = resumeDecision(a, entry, fact);
        if (decision.action === "hash") {
            decision = resumeDecision(a, entry, fact, (await hashFile(bundlePath(dir, a.file))).sha256);
        }
        decisions.push(decision);
    }
    return decisions;
}

export async function makeBundle(options: BundleOptions): Promise<BundleResult> {
    const { dir, bom, progress } = options;
    const state = inspectBundleDir(dir);
    if (state.kind === "new") fs.mkdirSync(dir, { recursive: true });
    removeStalePartials(dir);
    const recorded =
        state.kind === "bundle" ? mergeRecorded(state.manifest?.artifacts ?? [], state.progress?.artifacts ?? []) : [];
    if (recorded.length > 0) progress(`checking the ${recorded.length} artifacts ${dir} already records`);
    const decisions = await decide(dir, bom, recorded);
    const toFetch = decisions.filter((d) => d.action === "fetch");
    if (toFetch.length > 0 && bom.some((a, i) => a.kind === "image" && decisions[i].action === "fetch")) {
        try {
            await options.docker.serverVersion();
        } catch (error) {
            throw new BundleRunError(`docker is needed to pull the stack's images: ${(error as Error).message}`);
        }
    }

    const done = new Map<number, BundleArtifact>();
    const saveProgress = () =>
        writeFileAtomically(
            dir,
            PROGRESS_FILE,
            manifestText(
                options.createdBy,
                finalArtifacts([...done.values()], recorded, () => true),
            ),
        );
    if (toFetch.length > 0) {
        // From here until bundle.json is written again the folder is an unfinished bundle.
        saveProgress();
        fs.rmSync(bundlePath(dir, BUNDLE_MANIFEST_FILE), { force: true });
    }

    const fetcher = new Fetcher(options);
    const failures: BundleFailure[] = [];
    let fetched = 0;
    const width = String(bom.length).length;
    for (const [i, a] of bom.entries()) {
        const decision = decisions[i];
        const counter = `[${String(i + 1).padStart(width)}/${bom.length}]`;
        if (decision.action === "keep") {
            done.set(i, decision.entry);
            progress(`${counter} present  ${subjectOf(a)} (${formatBytes(decision.entry.size)})`);
            continue;
        }
        const reason =
            decision.action === "fetch" && decision.reason !== "not in the bundle yet" ? `; ${decision.reason}` : "";
        try {
            const entry = await withRetries(() => fetcher.fetch(a), options.retry);
            done.set(i, entry);
            saveProgress();
            fetched++;
            progress(`${counter} fetched  ${subjectOf(a)} (${formatBytes(entry.size)}${reason})`);
        } catch (error) {
            const message = (error as Error).message;
            failures.push({ subject: subjectOf(a), message });
            progress(`${counter} FAILED   ${subjectOf(a)}: ${message}`);
        }
    }

    const current = [...done.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
    const bytes = current.reduce((sum, entry) => sum + entry.size, 0);
    const result = { total: bom.length, fetched, present: bom.length - toFetch.length, failures, bytes };
    if (failures.length > 0) return { ...result, complete: false, keptEarlier: 0 };

    const intact = (entry: BundleArtifact) => {
        const fact = bundleFileFact(dir, entry.file);
        return fact.kind === "file" && fact.size === entry.size;
    };
    const artifacts = finalArtifacts(current, recorded, intact);
    const text = manifestText(options.createdBy, artifacts);
    const manifestPath = bundlePath(dir, BUNDLE_MANIFEST_FILE);
    if (!fs.existsSync(manifestPath) || fs.readFileSync(manifestPath, "utf8") !== text) {
        writeFileAtomically(dir, BUNDLE_MANIFEST_FILE, text);
    }
    fs.rmSync(bundlePath(dir, PROGRESS_FILE), { force: true });
    return { ...result, complete: true, keptEarlier: artifacts.length - current.length };
}
