/**
 * `npm run bundle` against a registry run here: the CNCF distribution registry
 * (tests/e2e/toolchain/registry.sh) on 127.0.0.1, seeded with an image for every image of the stack's
 * bill of materials (the rig's real images when tests/e2e/bundle has built them, else small ones made
 * here) and with the Tinkerbell chart pushed as an OCI artifact; the GitHub release files and the
 * Cilium chart repository served by a local HTTP server. The command fetches through `--mirror`s and
 * the bundle is checked against the daemons: every artifact present with its digest, each image
 * loaded back by docker with its recorded ID, a second run fetching nothing, a corrupted file fetched
 * again, a missing upstream artifact named.
 *
 * Shared daemon: docker. The lab's image names the command tags (as `docker pull` would) are put
 * back as they were before the suite; the images made here are removed.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo, createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import { BomArtifact, BomImage, billOfMaterials } from "../../lib/bundle/bill-of-materials";
import { checkBundle } from "../../lib/bundle/check";
import { normalizeImageReference } from "../../lib/bundle/image-ref";
import { BundleManifest, ImageArtifact, parseBundleManifest } from "../../lib/bundle/manifest";
import { bundleFileFact } from "../../lib/bundle/read";
import { PROGRESS_FILE } from "../../lib/bundler/bundle-dir";
import { Mirror, mirroredImageReference, parseMirrors } from "../../lib/bundler/mirror";
import { labTag, pullReference } from "../../lib/bundler/resume";
import { loadStackConfig } from "../../lib/stack-config";
import { PROJECT_ROOT, describeE2e, e2eCacheRoot, missingDocker } from "./support";

const REGISTRY_VERSION = "v3.1.2";
const STACK = "dev";
const TS_NODE = require.resolve("ts-node/dist/bin.js");
const BUNDLE_SCRIPT = path.join(PROJECT_ROOT, "scripts", "bundle.ts");

function registryBinary(): string {
    return path.join(e2eCacheRoot(), "registry", REGISTRY_VERSION, "registry");
}

function missingRegistry(): string | undefined {
    const binary = registryBinary();
    const version = spawnSync(binary, ["--version"], { encoding: "utf8" });
    if (version.error || !version.stdout.includes(REGISTRY_VERSION)) {
        return `the distribution registry ${REGISTRY_VERSION} is not built (${binary}); build it with tests/e2e/toolchain/registry.sh`;
    }
    return undefined;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function run(command: string, args: string[], input?: Buffer): string {
    const result = spawnSync(command, args, { input, encoding: "buffer", maxBuffer: 1 << 30 });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.toString().trim()}`);
    }
    return result.stdout.toString();
}

/** As run(), without blocking this process: for docker commands that reach the registry, whose token service runs here. */
function runAsync(command: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("close", (code) =>
            code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.trim()}`)),
        );
    });
}

/** The image ID a name has in docker, or undefined. */
function imageId(reference: string): string | undefined {
    const result = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", reference], { encoding: "utf8" });
    return result.status === 0 ? result.stdout.trim() : undefined;
}

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds = 30): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
        if (await check().catch(() => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${what} did not come up within ${seconds} s`);
}

interface BundleRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** The command as a user runs it: its own process (the file server lives in this one, so never spawnSync). */
function bundle(args: string[], killWhen?: (stdout: string) => boolean): Promise<BundleRun> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [TS_NODE, "--transpile-only", BUNDLE_SCRIPT, ...args], {
            cwd: PROJECT_ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            if (killWhen?.(stdout)) child.kill("SIGKILL");
        });
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** Fails with the command's whole output when it did not exit with `code`. */
function expectExit(result: BundleRun, code: number): void {
    if (result.code !== code) {
        throw new Error(
            `expected exit ${code}, got ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
        );
    }
}

/** The rig's real images (tests/e2e/bundle pieces), by normalised reference, when it has built them. */
function rigImages(): Map<string, string> {
    const images = new Map<string, string>();
    const parts = path.join(e2eCacheRoot(), "bundle", "parts");
    if (!fs.existsSync(parts)) return images;
    for (const part of fs.readdirSync(parts)) {
        const record = path.join(parts, part, "artifacts.json");
        if (part.endsWith(".tmp") || !fs.existsSync(record)) continue;
        for (const a of JSON.parse(fs.readFileSync(record, "utf8")) as { kind: string; ref: string; file: string }[]) {
            if (a.kind === "image") images.set(normalizeImageReference(a.ref), path.join(parts, part, a.file));
        }
    }
    return images;
}

/** Serves the GitHub release files and the Cilium chart repository, as their mirrors would. */
class FileServer {
    readonly requests: string[] = [];
    readonly missing = new Set<string>();
    private readonly files = new Map<string, Buffer>();
    private server?: http.Server;
    base = "";

    set(pathname: string, content: Buffer): void {
        this.files.set(pathname, content);
    }

    get(pathname: string): Buffer {
        return this.files.get(pathname)!;
    }

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            const pathname = new URL(req.url ?? "/", "http://x").pathname;
            this.requests.push(pathname);
            const content = this.files.get(pathname);
            if (content === undefined || this.missing.has(pathname)) {
                res.writeHead(404).end("Not Found");
                return;
            }
            res.writeHead(200, { "Content-Length": content.length }).end(content);
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/**
 * The registry's token service, as ghcr.io's: anyone gets a token for the actions the scope asks for
 * (pull for the bundle, push for the seeding), signed with an ES256 key the registry trusts through
 * its JWKS. The registry then answers only requests that carry such a token, so every pull goes
 * through the anonymous token flow.
 */
class TokenService {
    readonly service = "capt-e2e-registry";
    readonly issuer = "capt-e2e-token-service";
    /** The scopes asked for, one entry per token handed out. */
    readonly scopes: string[] = [];
    private readonly keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    private readonly kid = "capt-e2e-key";
    private server?: http.Server;
    realm = "";

    jwks(): string {
        const jwk = this.keys.publicKey.export({ format: "jwk" });
        return JSON.stringify({ keys: [{ ...jwk, kid: this.kid, alg: "ES256", use: "sig" }] });
    }

    token(scopes: string[]): string {
        const now = Math.floor(Date.now() / 1000);
        const access = scopes.map((scope) => {
            const parts = scope.split(":");
            return { type: parts[0], name: parts.slice(1, -1).join(":"), actions: parts[parts.length - 1].split(",") };
        });
        const header = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: this.kid }));
        const claims = base64url(
            JSON.stringify({
                iss: this.issuer,
                sub: "",
                aud: this.service,
                exp: now + 600,
                nbf: now - 10,
                iat: now,
                jti: `${now}-${this.scopes.length}`,
                access,
            }),
        );
        const signature = sign("sha256", Buffer.from(`${header}.${claims}`), {
            key: this.keys.privateKey,
            dsaEncoding: "ieee-p1363",
        });
        return `${header}.${claims}.${base64url(signature)}`;
    }

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            const url = new URL(req.url ?? "/", "http://x");
            if (url.pathname !== "/token" || url.searchParams.get("service") !== this.service) {
                res.writeHead(404).end();
                return;
            }
            const scopes = url.searchParams.getAll("scope");
            this.scopes.push(...scopes);
            const token = this.token(scopes);
            res.writeHead(200, { "Content-Type": "application/json" }).end(
                JSON.stringify({ token, access_token: token, expires_in: 600 }),
            );
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.realm = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

/** Pushes a chart archive as Helm does: config and chart blobs, then the OCI manifest under the version. */
async function pushChart(
    registry: string,
    token: string,
    repository: string,
    tag: string,
    chart: Buffer,
    config: string,
) {
    const authorization = { Authorization: `Bearer ${token}` };
    const upload = async (blob: Buffer) => {
        const digest = `sha256:${sha256(blob)}`;
        const started = await fetch(`${registry}/v2/${repository}/blobs/uploads/`, {
            method: "POST",
            headers: authorization,
        });
        if (started.status !== 202) throw new Error(`blob upload start: ${started.status}`);
        const location = new URL(started.headers.get("location")!, registry);
        location.searchParams.set("digest", digest);
        const put = await fetch(location, {
            method: "PUT",
            body: blob,
            headers: { ...authorization, "Content-Type": "application/octet-stream" },
        });
        if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
        return { digest, size: blob.length };
    };
    const configBlob = await upload(Buffer.from(config));
    const chartBlob = await upload(chart);
    const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.cncf.helm.config.v1+json", ...configBlob },
        layers: [{ mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", ...chartBlob }],
    });
    const put = await fetch(`${registry}/v2/${repository}/manifests/${tag}`, {
        method: "PUT",
        body: manifest,
        headers: { ...authorization, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    if (put.status !== 201) throw new Error(`manifest push: ${put.status} ${await put.text()}`);
}

describeE2e("npm run bundle against a local registry", [missingDocker, missingRegistry], () => {
    let work: string;
    let registry: ChildProcess;
    let registryUrl: string;
    let registryLog: string;
    const files = new FileServer();
    const tokens = new TokenService();
    let mirrorArgs: string[];
    let mirrors: Mirror[];
    let setArgs: string[];
    let bom: BomArtifact[];
    /** The registry digest each seeded image was pushed with, by the lab's tag. */
    const pushed = new Map<string, string>();
    /** What each lab tag named in docker before the suite (undefined: nothing), to put back. */
    const tagsBefore = new Map<string, string | undefined>();
    /** Images this suite made (docker import), removed at the end. */
    const madeImages = new Set<string>();
    let chartArchive: Buffer;
    let out: string;

    function stackBom(sets: string[]): BomArtifact[] {
        const { config, plan } = loadStackConfig(PROJECT_ROOT, STACK, sets);
        return billOfMaterials(config, plan);
    }

    function images(of: BomArtifact[]): BomImage[] {
        return of.filter((a): a is BomImage => a.kind === "image");
    }

    function registryPulls(): number {
        return fs
            .readFileSync(registryLog, "utf8")
            .split("\n")
            .filter((line) => /"(GET|HEAD) \/v2\/.+\/(manifests|blobs)\//.test(line)).length;
    }

    function readManifest(): BundleManifest {
        return parseBundleManifest(fs.readFileSync(path.join(out, "bundle.json"), "utf8"));
    }

    /** Makes a small image that says which reference it stands for, pushes it under the mirror's name. */
    async function seedImage(image: BomImage, mirrorName: string, rig: Map<string, string>): Promise<void> {
        const tag = labTag(image.ref)!;
        const real = rig.get(normalizeImageReference(tag));
        if (real !== undefined) {
            run("docker", ["load", "-i", real]);
            run("docker", ["tag", tag, mirrorName]);
        } else {
            const dir = fs.mkdtempSync(path.join(work, "seed-"));
            fs.writeFileSync(path.join(dir, "stands-for"), `${image.ref}\n`);
            const tar = spawnSync("tar", ["-c", "-C", dir, "."], { maxBuffer: 1 << 20 }).stdout;
            madeImages.add(run("docker", ["import", "-", mirrorName], tar).trim());
        }
        const output = await runAsync("docker", ["push", mirrorName]);
        const digest = /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];
        if (digest === undefined) throw new Error(`docker push ${mirrorName} printed no digest:\n${output}`);
        pushed.set(tag, digest);
        run("docker", ["image", "rm", "--no-prune", mirrorName]);
    }

    beforeAll(
        async () => {
            work = fs.mkdtempSync(path.join(os.tmpdir(), "capt bundle e2e "));
            out = path.join(work, "the bundle");
            const port = await freePort();
            registryUrl = `http://127.0.0.1:${port}`;
            registryLog = path.join(work, "registry.log");
            const configFile = path.join(work, "registry.yml");
            await tokens.start();
            const jwks = path.join(work, "jwks.json");
            fs.writeFileSync(jwks, tokens.jwks());
            fs.writeFileSync(
                configFile,
                toYaml({
                    version: 0.1,
                    log: { level: "info" },
                    storage: { filesystem: { rootdirectory: path.join(work, "registry") }, delete: { enabled: true } },
                    http: { addr: `127.0.0.1:${port}` },
                    auth: {
                        token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, jwks },
                    },
                }),
            );
            const log = fs.openSync(registryLog, "a");
            registry = spawn(registryBinary(), ["serve", configFile], { stdio: ["ignore", log, log] });
            fs.closeSync(log);
            // Up, and asking for a token.
            await waitFor("the registry", async () => (await fetch(`${registryUrl}/v2/`)).status === 401);
            await files.start();

            bom = stackBom([]);
            const registries = [
                ...new Set([...images(bom).map((a) => normalizeImageReference(a.ref).split("/")[0]), "ghcr.io"]),
            ];
            mirrorArgs = [
                ...registries.flatMap((r) => ["--mirror", `${r}=127.0.0.1:${port}/${r}`]),
                "--mirror",
                `https://github.com=${files.base}/github`,
                "--mirror",
                `https://helm.cilium.io=${files.base}/cilium`,
            ];
            mirrors = parseMirrors(mirrorArgs.filter((_, i) => i % 2 === 1));

            // Images: every lab tag remembered, then a seed pushed under the mirror's name.
            const rig = rigImages();
            for (const image of images(bom)) {
                const tag = labTag(image.ref)!;
                tagsBefore.set(tag, imageId(tag));
                await seedImage(image, mirroredImageReference(tag, mirrors), rig);
            }
            // The node image is pinned by digest in the stack: pin the seed's.
            const node = images(bom).find((a) => a.ref.startsWith("kindest/node:"))!;
            setArgs = ["--set", `kindNodeImage=${labTag(node.ref)}@${pushed.get(labTag(node.ref)!)}`];
            bom = stackBom(setArgs.filter((_, i) => i % 2 === 1));

            // The Tinkerbell chart, as an OCI artifact under the mirror's name.
            const chart = bom.find((a): a is Extract<BomArtifact, { kind: "chart" }> => a.ref.startsWith("oci://"))!;
            const chartDir = path.join(work, "chart", chart.chartName);
            fs.mkdirSync(chartDir, { recursive: true });
            const chartYaml = { apiVersion: "v2", name: chart.chartName, version: chart.version };
            fs.writeFileSync(path.join(chartDir, "Chart.yaml"), toYaml(chartYaml));
            chartArchive = spawnSync("tar", ["-cz", "-C", path.dirname(chartDir), chart.chartName]).stdout;
            const repository = chart.ref.slice("oci://".length);
            const pushToken = tokens.token([`repository:${repository}:pull,push`]);
            await pushChart(registryUrl, pushToken, repository, chart.version, chartArchive, JSON.stringify(chartYaml));

            // Release files and the Cilium repository (its index names the archive by absolute URL).
            for (const a of bom.filter((x) => x.kind === "file")) {
                const url = new URL(a.ref);
                if (url.host === "github.com")
                    files.set(`/github${url.pathname}`, Buffer.from(`# ${a.ref}\nkind: Test\n`));
            }
            const cilium = bom.find((a): a is Extract<BomArtifact, { kind: "chart" }> => a.ref.includes("cilium"));
            if (cilium) {
                const archive = Buffer.from(`cilium chart ${cilium.version}`);
                files.set(`/cilium/cilium-${cilium.version}.tgz`, archive);
                files.set(
                    "/cilium/index.yaml",
                    Buffer.from(
                        toYaml({
                            apiVersion: "v1",
                            entries: {
                                cilium: [
                                    {
                                        version: cilium.version,
                                        digest: sha256(archive),
                                        urls: [`https://helm.cilium.io/cilium-${cilium.version}.tgz`],
                                    },
                                ],
                            },
                        }),
                    ),
                );
            }
        },
        20 * 60 * 1000,
    );

    afterAll(
        async () => {
            registry?.kill();
            await files.stop();
            await tokens.stop();
            for (const [tag, before] of tagsBefore) {
                const now = imageId(tag);
                if (before !== undefined && now !== before) spawnSync("docker", ["tag", before, tag]);
                if (before === undefined && now !== undefined) spawnSync("docker", ["image", "rm", "--no-prune", tag]);
            }
            for (const id of madeImages) spawnSync("docker", ["image", "rm", "--force", id]);
            if (work) fs.rmSync(work, { recursive: true, force: true });
        },
        5 * 60 * 1000,
    );

    test("every artifact of the bill of materials lands in the bundle with its digest", async () => {
        const result = await bundle(["--stack", STACK, ...setArgs, "--out", out, ...mirrorArgs]);
        expectExit(result, 0);
        expect(result.stdout.match(/^\[\s*\d+\/\d+\] fetched /gm)).toHaveLength(bom.length);
        expect(result.stdout).toMatch(
            new RegExp(`${bom.length} artifacts, .*: ${bom.length} fetched, 0 already present`),
        );

        const manifest = readManifest();
        // The lab's own check of a bundle against the plan finds nothing missing or different.
        const check = checkBundle(bom, manifest, (file) => bundleFileFact(out, file));
        expect(check.problems).toEqual([]);
        expect(check.satisfied).toBe(bom.length);
        expect(manifest.artifacts).toHaveLength(bom.length);
        for (const entry of manifest.artifacts) {
            const content = fs.readFileSync(path.join(out, entry.file));
            expect({ file: entry.file, sha256: sha256(content), size: content.length }).toEqual({
                file: entry.file,
                sha256: entry.sha256,
                size: entry.size,
            });
            if (entry.kind === "image") {
                expect({ ref: entry.ref, repoDigest: entry.repoDigest }).toEqual({
                    ref: entry.ref,
                    repoDigest: pushed.get(labTag(entry.ref)!),
                });
                expect(entry.source).toMatch(/through the mirror 127\.0\.0\.1:/);
            } else if (entry.kind === "chart" && entry.ref.startsWith("oci://")) {
                expect(content).toEqual(chartArchive);
            } else if (entry.kind === "chart") {
                expect(content).toEqual(files.get(`/cilium/cilium-${entry.version}.tgz`));
            } else {
                expect(content).toEqual(files.get(`/github${new URL(entry.ref).pathname}`));
            }
        }
        // A release asset wanted in several places (each provider's metadata.yaml) is downloaded once.
        expect(files.requests.length).toBe(new Set(files.requests).size);
        expect(files.requests.length).toBeLessThan(bom.filter((a) => a.kind !== "image").length);
        // Every pull went through the anonymous token flow: docker's, and the chart client's.
        const chartRepository = bom.find((a) => a.ref.startsWith("oci://"))!.ref.slice("oci://".length);
        for (const image of images(bom)) {
            const repository = mirroredImageReference(labTag(image.ref)!, mirrors).split("/").slice(1).join("/");
            expect(tokens.scopes).toContain(`repository:${repository.replace(/:[^/]*$/, "")}:pull`);
        }
        expect(tokens.scopes).toContain(`repository:${chartRepository}:pull`);
        expect(fs.existsSync(path.join(out, PROGRESS_FILE))).toBe(false);
        expect(spawnSync("find", [out, "-name", "*.partial"], { encoding: "utf8" }).stdout).toBe("");
        // The mirror's names (the pinned image's by its digest) were this run's doing: gone again.
        const leftOver = images(bom)
            .map((a) => pullReference(mirroredImageReference(a.ref, mirrors)))
            .filter((name) => imageId(name) !== undefined);
        expect(leftOver).toEqual([]);
    });

    test("docker load of each image file gives the recorded image ID under the lab's name", () => {
        const entries = readManifest().artifacts.filter((a): a is ImageArtifact => a.kind === "image");
        expect(entries.length).toBeGreaterThan(0);
        for (const entry of entries) {
            const tag = labTag(entry.ref)!;
            // Only ever the image the command saved (and docker still has it under this name).
            expect({ tag, id: imageId(tag) }).toEqual({ tag, id: entry.imageId });
            run("docker", ["image", "rm", "--no-prune", tag]);
            expect(imageId(tag)).toBeUndefined();
            const loaded = run("docker", ["load", "-i", path.join(out, entry.file)]);
            expect(loaded).toMatch(/Loaded image/);
            expect({ tag, id: imageId(tag) }).toEqual({ tag, id: entry.imageId });
        }
    });

    test("a second run fetches nothing: no registry request, no download, bundle.json untouched", async () => {
        const pullsBefore = registryPulls();
        const downloadsBefore = files.requests.length;
        const manifestStat = fs.statSync(path.join(out, "bundle.json"));
        const result = await bundle(["--stack", STACK, ...setArgs, "--out", out, ...mirrorArgs]);
        expectExit(result, 0);
        expect(result.stdout.match(/^\[\s*\d+\/\d+\] present /gm)).toHaveLength(bom.length);
        expect(result.stdout).toMatch(/0 fetched/);
        expect(registryPulls()).toBe(pullsBefore);
        expect(files.requests.length).toBe(downloadsBefore);
        expect(fs.statSync(path.join(out, "bundle.json")).mtimeMs).toBe(manifestStat.mtimeMs);
    });

    test("a corrupted file and a cut-short image are detected and fetched again", async () => {
        const manifest = readManifest();
        const file = manifest.artifacts.find((a) => a.kind === "file")!;
        const image = manifest.artifacts.find((a) => a.kind === "image")!;
        const filePath = path.join(out, file.file);
        const bytes = fs.readFileSync(filePath);
        bytes[0] ^= 0xff;
        fs.writeFileSync(filePath, bytes);
        fs.truncateSync(path.join(out, image.file), image.size - 1024);

        const result = await bundle(["--stack", STACK, ...setArgs, "--out", out, ...mirrorArgs]);
        expectExit(result, 0);
        const fetched = result.stdout.match(/^\[\s*\d+\/\d+\] fetched .*/gm) ?? [];
        expect(fetched).toHaveLength(2);
        expect(fetched).toEqual(
            expect.arrayContaining([
                expect.stringMatching(new RegExp(`fetched  image ${literal(image.ref)} .*bytes, \\d+ were recorded`)),
                expect.stringMatching(new RegExp(`fetched  file ${literal(file.ref)} .*SHA-256 differs`)),
            ]),
        );
        for (const entry of [file, image]) {
            const content = fs.readFileSync(path.join(out, entry.file));
            expect(sha256(content)).toBe(readManifest().artifacts.find((a) => a.file === entry.file)!.sha256);
        }
        expect(fs.readFileSync(filePath)).toEqual(files.get(`/github${new URL(file.ref).pathname}`));
    });

    test("a run killed half-way leaves an unfinished bundle; the next run keeps what it fetched", async () => {
        const fresh = path.join(work, "killed");
        const fetchedLines = (stdout: string) => stdout.match(/^\[\s*\d+\/\d+\] fetched .*/gm) ?? [];
        const killed = await bundle(
            ["--stack", STACK, ...setArgs, "--out", fresh, ...mirrorArgs],
            (stdout) => fetchedLines(stdout).length >= 5,
        );
        expect(killed.code).toBeNull();
        expect(fs.existsSync(path.join(fresh, "bundle.json"))).toBe(false);
        const progress = parseBundleManifest(fs.readFileSync(path.join(fresh, PROGRESS_FILE), "utf8"));
        expect(progress.artifacts.length).toBeGreaterThanOrEqual(5);

        const resumed = await bundle(["--stack", STACK, ...setArgs, "--out", fresh, ...mirrorArgs]);
        expectExit(resumed, 0);
        const present = resumed.stdout.match(/^\[\s*\d+\/\d+\] present .*/gm) ?? [];
        expect(present.length).toBe(progress.artifacts.length);
        expect(fetchedLines(resumed.stdout)).toHaveLength(bom.length - progress.artifacts.length);
        expect(spawnSync("find", [fresh, "-name", "*.partial"], { encoding: "utf8" }).stdout).toBe("");
        const finished = parseBundleManifest(fs.readFileSync(path.join(fresh, "bundle.json"), "utf8"));
        expect(checkBundle(bom, finished, (file) => bundleFileFact(fresh, file)).problems).toEqual([]);
    });

    test("a missing upstream artifact fails the run naming it; the next run finishes the bundle", async () => {
        const metadata = bom.find((a) => a.kind === "file" && a.ref.endsWith("/metadata.yaml"))!;
        const served = `/github${new URL(metadata.ref).pathname}`;
        files.missing.add(served);
        // Every provider's folder holds the release's one metadata.yaml: remove them all.
        const gone = bom.filter((a) => a.ref === metadata.ref);
        for (const a of gone) fs.rmSync(path.join(out, a.file));
        const missingImage = "ghcr.io/jacobweinstock/virtualbmc:not-pushed";
        tagsBefore.set(missingImage, imageId(missingImage));

        const failed = await bundle([
            "--stack",
            STACK,
            ...setArgs,
            "--set",
            `vbmcImage=${missingImage}`,
            "--out",
            out,
            ...mirrorArgs,
        ]);
        expectExit(failed, 3);
        expect(failed.stderr).toMatch(new RegExp(`could not fetch ${gone.length + 1} of`));
        expect(failed.stderr).toContain(`image ${missingImage}: docker pull 127.0.0.1:`);
        expect(failed.stderr).toMatch(
            new RegExp(
                `file ${literal(metadata.ref)} as clusterctl/.*/metadata.yaml: the mirror's http://127.0.0.1:\\d+/github/.*/metadata.yaml answered 404`,
            ),
        );
        expect(failed.stderr).toMatch(/unfinished \(no bundle.json\)/);
        expect(fs.existsSync(path.join(out, "bundle.json"))).toBe(false);
        expect(fs.existsSync(path.join(out, PROGRESS_FILE))).toBe(true);

        files.missing.delete(served);
        const resumed = await bundle(["--stack", STACK, ...setArgs, "--out", out, ...mirrorArgs]);
        expectExit(resumed, 0);
        expect(resumed.stdout.match(/^\[\s*\d+\/\d+\] fetched /gm)).toHaveLength(gone.length);
        expect(fs.existsSync(path.join(out, PROGRESS_FILE))).toBe(false);
        expect(checkBundle(bom, readManifest(), (file) => bundleFileFact(out, file)).problems).toEqual([]);
    });
});

function literal(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
