/**
 * A small client of the OCI distribution API, for the one thing `npm run bundle` fetches from a
 * registry without docker: a Helm chart pushed as an OCI artifact (`helm push`, Tinkerbell's chart on
 * ghcr.io). Anonymous access: the registry's 401 challenge names a token service, which hands out a
 * pull token without credentials (distribution's token flow, what ghcr.io, quay.io and Docker Hub do
 * for public repositories). Every manifest and blob is checked against its digest.
 *
 * Why not an npm library: the one maintained registry client (@snyk/docker-registry-v2-client)
 * returns manifests parsed, not their bytes, so their digest cannot be checked, and is built around
 * image platforms rather than artifacts; the others are unmaintained. This needs three requests.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import {
    HttpError,
    HttpPolicy,
    HttpResponse,
    Written,
    expectOk,
    httpGet,
    readBytes,
    readText,
    streamBodyTo,
} from "./http";
import { RegistryLocation } from "./mirror";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";
export const HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/** What Helm 3.0-3.7 pushed before the media type above was registered. */
const HELM_CHART_LAYER_LEGACY = "application/tar+gzip";

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface Challenge {
    scheme: string;
    params: Record<string, string>;
}

/** `Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"` -> its parts. */
export function parseChallenge(header: string): Challenge | undefined {
    const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/.exec(header);
    if (!match) return undefined;
    const params: Record<string, string> = {};
    const param = /\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/y;
    const rest = match[2];
    param.lastIndex = 0;
    while (param.lastIndex < rest.length) {
        const p = param.exec(rest);
        if (!p) break;
        params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
    }
    return { scheme: match[1].toLowerCase(), params };
}

/** The token service URL for a challenge: its realm with service and scope (the challenge's, else a pull of `repository`). */
export function tokenRequestUrl(challenge: Challenge, repository: string): string {
    const realm = challenge.params.realm;
    if (realm === undefined || realm === "") throw new Error("the registry's Bearer challenge names no realm");
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("scope", challenge.params.scope || `repository:${repository}:pull`);
    return url.href;
}

export interface ManifestLayer {
    mediaType: string;
    digest: string;
    size: number;
}

/** The chart archive layer of a Helm chart's OCI manifest; throws saying what the manifest is instead. */
export function chartLayer(manifestText: string): ManifestLayer {
    let manifest: { mediaType?: unknown; config?: { mediaType?: unknown }; layers?: unknown };
    try {
        manifest = JSON.parse(manifestText);
    } catch {
        throw new Error("the manifest is not JSON");
    }
    if (typeof manifest !== "object" || manifest === null) throw new Error("the manifest is not a JSON object");
    if (manifest.config?.mediaType !== HELM_CONFIG) {
        throw new Error(
            `not a Helm chart: its config is ${JSON.stringify(manifest.config?.mediaType ?? null)}, a chart's is ${HELM_CONFIG}`,
        );
    }
    const layers = Array.isArray(manifest.layers) ? (manifest.layers as Partial<ManifestLayer>[]) : [];
    const layer =
        layers.find((l) => l.mediaType === HELM_CHART_LAYER) ??
        layers.find((l) => l.mediaType === HELM_CHART_LAYER_LEGACY);
    if (!layer) throw new Error(`the chart's manifest has no ${HELM_CHART_LAYER} layer`);
    if (typeof layer.digest !== "string" || !DIGEST.test(layer.digest)) {
        throw new Error(`the chart layer's digest ${JSON.stringify(layer.digest)} is not sha256:<64 hex digits>`);
    }
    if (typeof layer.size !== "number" || !Number.isSafeInteger(layer.size) || layer.size < 0) {
        throw new Error(`the chart layer's size ${JSON.stringify(layer.size)} is not a byte count`);
    }
    return { mediaType: layer.mediaType!, digest: layer.digest, size: layer.size };
}

export interface FetchedManifest {
    text: string;
    /** sha256:<hex> of the manifest's bytes. */
    digest: string;
    mediaType: string;
}

export class RegistryClient {
    private readonly tokens = new Map<string, string>();

    constructor(private readonly policy: HttpPolicy) {}

    private endpoint(location: RegistryLocation, path: string): string {
        return `${location.scheme}://${location.host}/v2/${location.repository}/${path}`;
    }

    /** GET on the registry API, answering a Bearer challenge with an anonymous token once. */
    private async get(location: RegistryLocation, path: string, accept: string): Promise<HttpResponse> {
        const url = this.endpoint(location, path);
        const key = `${location.host} ${location.repository}`;
        const headers = (): Record<string, string> => {
            const token = this.tokens.get(key);
            return { Accept: accept, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) };
        };
        let got = await httpGet(url, headers(), this.policy);
        if (got.response.status !== 401) return got;
        const header = got.response.headers.get("www-authenticate") ?? "";
        got.abort();
        const challenge = parseChallenge(header);
        if (challenge?.scheme !== "bearer") {
            throw new HttpError(
                `${url} asks for credentials (${header === "" ? "401 without a challenge" : header.split(" ")[0]}); charts are fetched anonymously: use a public repository or a mirror that serves it without login`,
                url,
                401,
            );
        }
        this.tokens.set(key, await this.anonymousToken(challenge, location.repository));
        got = await httpGet(url, headers(), this.policy);
        if (got.response.status === 401) {
            got.abort();
            throw new HttpError(
                `${url}: the anonymous token was refused (the repository is private or does not exist)`,
                url,
                401,
            );
        }
        return got;
    }

    private async anonymousToken(challenge: Challenge, repository: string): Promise<string> {
        const url = tokenRequestUrl(challenge, repository);
        const got = await httpGet(url, { Accept: "application/json" }, this.policy);
        await expectOk(got, `the registry's token service ${url}`);
        let body: { token?: unknown; access_token?: unknown };
        try {
            body = JSON.parse(await readText(got));
        } catch {
            throw new HttpError(`the token service ${url} did not answer JSON`, url);
        }
        const token = typeof body.token === "string" ? body.token : body.access_token;
        if (typeof token !== "string" || token === "") {
            throw new HttpError(`the token service ${url} answered no token`, url);
        }
        return token;
    }

    /** The manifest `reference` (a tag or a digest), its digest checked against the bytes. */
    async manifest(location: RegistryLocation, reference: string, accept = OCI_MANIFEST): Promise<FetchedManifest> {
        const got = await this.get(location, `manifests/${reference}`, accept);
        await expectOk(got, `the registry's manifest ${this.endpoint(location, `manifests/${reference}`)}`);
        const bytes = await readBytes(got);
        const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
        const stated = got.response.headers.get("docker-content-digest");
        if (DIGEST.test(reference) && reference !== digest) {
            throw new Error(`the registry served ${digest} for the manifest ${reference}`);
        }
        if (stated !== null && stated.startsWith("sha256:") && stated !== digest) {
            throw new Error(`the manifest's bytes are ${digest}, the registry says ${stated}`);
        }
        return {
            text: bytes.toString("utf8"),
            digest,
            mediaType: (got.response.headers.get("content-type") ?? "").split(";")[0].trim(),
        };
    }

    /** The blob `layer` streamed into `stream`; its digest and size checked. */
    async blob(location: RegistryLocation, layer: ManifestLayer, stream: fs.WriteStream): Promise<Written> {
        const got = await this.get(location, `blobs/${layer.digest}`, "*/*");
        await expectOk(got, `the registry's blob ${this.endpoint(location, `blobs/${layer.digest}`)}`);
        const written = await streamBodyTo(got, stream);
        if (`sha256:${written.sha256}` !== layer.digest || written.size !== layer.size) {
            throw new Error(
                `the blob ${layer.digest} (${layer.size} bytes) arrived as sha256:${written.sha256} (${written.size} bytes)`,
            );
        }
        return written;
    }
}
