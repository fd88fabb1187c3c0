/** The chart client against a registry made to measure on 127.0.0.1: the token flow, redirects, digests. */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { HttpError, HttpPolicy, httpGet, withRetries } from "../../lib/bundler/http";
import { RegistryLocation } from "../../lib/bundler/mirror";
import {
    HELM_CHART_LAYER,
    HELM_CONFIG,
    RegistryClient,
    chartLayer,
    parseChallenge,
    tokenRequestUrl,
} from "../../lib/bundler/oci-registry";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("the registry's challenge", () => {
    test("Bearer with quoted parameters (a scope holding a comma)", () => {
        const challenge = parseChallenge(
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push"',
        );
        expect(challenge).toEqual({
            scheme: "bearer",
            params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:a/b:pull,push" },
        });
        expect(tokenRequestUrl(challenge!, "a/b")).toBe(
            "https://ghcr.io/token?service=ghcr.io&scope=repository%3Aa%2Fb%3Apull%2Cpush",
        );
    });

    test("no scope in the challenge: a pull of the repository", () => {
        const challenge = parseChallenge('Bearer realm="https://auth.example/token", service=reg')!;
        expect(challenge.params.service).toBe("reg");
        expect(tokenRequestUrl(challenge, "x/y")).toBe(
            "https://auth.example/token?service=reg&scope=repository%3Ax%2Fy%3Apull",
        );
        expect(() => tokenRequestUrl(parseChallenge("Bearer service=x")!, "x")).toThrow(/no realm/);
        expect(parseChallenge('Basic realm="r"')?.scheme).toBe("basic");
    });
});

describe("a chart's manifest", () => {
    const layer = { mediaType: HELM_CHART_LAYER, digest: `sha256:${"ab".repeat(32)}`, size: 12 };
    test("the chart layer", () => {
        expect(chartLayer(JSON.stringify({ config: { mediaType: HELM_CONFIG }, layers: [layer] }))).toEqual(layer);
    });
    test.each([
        ["not json", /not JSON/],
        [JSON.stringify({ config: { mediaType: "application/vnd.oci.image.config.v1+json" } }), /not a Helm chart/],
        [JSON.stringify({ config: { mediaType: HELM_CONFIG }, layers: [] }), /has no .* layer/],
        [JSON.stringify({ config: { mediaType: HELM_CONFIG }, layers: [{ ...layer, digest: "md5:x" }] }), /digest/],
        [JSON.stringify({ config: { mediaType: HELM_CONFIG }, layers: [{ ...layer, size: -1 }] }), /size/],
    ])("refuses %s", (text, message) => {
        expect(() => chartLayer(text)).toThrow(message);
    });
});

interface Served {
    status?: number;
    headers?: Record<string, string>;
    body?: Buffer | string;
}

/** A server on 127.0.0.1 answering from `route`, recording each request. */
async function serve(route: (req: http.IncomingMessage) => Served) {
    const requests: { url: string; authorization?: string }[] = [];
    const server = http.createServer((req, res) => {
        requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
        const answer = route(req);
        res.writeHead(answer.status ?? 200, answer.headers ?? {});
        res.end(answer.body ?? "");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { base, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("the client against a token-protected registry", () => {
    const chart = Buffer.from("a chart archive");
    const layer = { mediaType: HELM_CHART_LAYER, digest: `sha256:${sha256(chart)}`, size: chart.length };
    const manifest = JSON.stringify({ schemaVersion: 2, config: { mediaType: HELM_CONFIG }, layers: [layer] });
    const policy: HttpPolicy = { allowPlainHttp: (url) => url.hostname === "127.0.0.1" };
    let storage: Awaited<ReturnType<typeof serve>>;
    let registry: Awaited<ReturnType<typeof serve>>;
    let work: string;
    let served: { manifest: string; digestHeader?: string; blob: Buffer };

    beforeAll(async () => {
        // Blobs redirect to another origin, as registries redirect to object storage.
        storage = await serve(() => ({ body: served.blob }));
        registry = await serve((req): Served => {
            const url = new URL(req.url!, "http://x");
            if (url.pathname === "/token") {
                const ok =
                    url.searchParams.get("service") === "test-registry" &&
                    url.searchParams.get("scope") === "repository:mirror/charts/tinkerbell:pull";
                return ok ? { body: JSON.stringify({ token: "anonymous-token" }) } : { status: 400 };
            }
            if (req.headers.authorization !== "Bearer anonymous-token") {
                return {
                    status: 401,
                    headers: {
                        "WWW-Authenticate": `Bearer realm="${registry.base}/token",service="test-registry",scope="repository:mirror/charts/tinkerbell:pull"`,
                    },
                };
            }
            if (url.pathname === "/v2/mirror/charts/tinkerbell/manifests/v0.25.0") {
                return {
                    headers: {
                        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                        "Docker-Content-Digest": served.digestHeader ?? `sha256:${sha256(served.manifest)}`,
                    },
                    body: served.manifest,
                };
            }
            if (url.pathname === `/v2/mirror/charts/tinkerbell/blobs/${layer.digest}`) {
                return { status: 307, headers: { Location: `${storage.base}/blob` } };
            }
            return { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' };
        });
    });
    afterAll(async () => {
        await storage.close();
        await registry.close();
    });
    beforeEach(() => {
        served = { manifest, blob: chart };
        storage.requests.length = 0;
        registry.requests.length = 0;
        work = fs.mkdtempSync(path.join(os.tmpdir(), "oci-client-"));
    });
    afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

    const location = (): RegistryLocation => ({
        scheme: "http",
        host: registry.base.slice("http://".length),
        repository: "mirror/charts/tinkerbell",
    });

    async function fetchChart() {
        const client = new RegistryClient(policy);
        const got = await client.manifest(location(), "v0.25.0");
        const stream = fs.createWriteStream(path.join(work, "chart.tgz"));
        const written = await client.blob(location(), chartLayer(got.text), stream);
        return { got, written };
    }

    test("an anonymous token, the manifest checked, the blob from storage without the token", async () => {
        const { got, written } = await fetchChart();
        expect(got.digest).toBe(`sha256:${sha256(manifest)}`);
        expect(written).toEqual({ sha256: sha256(chart), size: chart.length });
        expect(fs.readFileSync(path.join(work, "chart.tgz"))).toEqual(chart);
        expect(registry.requests.filter((r) => r.url.startsWith("/token"))).toHaveLength(1);
        expect(storage.requests).toEqual([{ url: "/blob", authorization: undefined }]);
    });

    test("a manifest whose bytes are not the digest the registry states is refused", async () => {
        served.digestHeader = `sha256:${"00".repeat(32)}`;
        await expect(fetchChart()).rejects.toThrow(/the manifest's bytes are sha256:/);
    });

    test("a blob that arrives other than its digest is refused", async () => {
        served.blob = Buffer.from("a chart archivX");
        await expect(fetchChart()).rejects.toThrow(/arrived as sha256:/);
    });

    test("a missing chart version names the registry's answer", async () => {
        const client = new RegistryClient(policy);
        const error = await client.manifest(location(), "v9.9.9").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(HttpError);
        expect((error as HttpError).status).toBe(404);
        expect((error as Error).message).toMatch(
            /manifest http:\/\/127.0.0.1:\d+\/v2\/mirror\/charts\/tinkerbell\/manifests\/v9.9.9 answered 404 Not Found: .*MANIFEST_UNKNOWN/,
        );
    });

    test("a registry asking for a login is named, not retried", async () => {
        const basic = await serve(() => ({ status: 401, headers: { "WWW-Authenticate": 'Basic realm="r"' } }));
        try {
            const client = new RegistryClient(policy);
            const at = { ...location(), host: basic.base.slice("http://".length) };
            await expect(client.manifest(at, "v1")).rejects.toThrow(/asks for credentials \(Basic\)/);
        } finally {
            await basic.close();
        }
    });
});

describe("redirects and retries", () => {
    const fakeFetch = (answers: Record<string, Response>): typeof fetch =>
        (async (input: string | URL | Request) => {
            const answer = answers[String(input)];
            if (!answer) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
            return answer;
        }) as typeof fetch;

    test("a redirect from HTTPS to plain HTTP elsewhere is refused", async () => {
        const policy: HttpPolicy = {
            allowPlainHttp: () => false,
            fetch: fakeFetch({
                "https://github.com/x": new Response(null, {
                    status: 302,
                    headers: { Location: "http://cdn.example/x" },
                }),
            }),
        };
        await expect(httpGet("https://github.com/x", {}, policy)).rejects.toThrow(
            /redirects to http:\/\/cdn.example\/x: plain HTTP is accepted only/,
        );
    });

    test("no answer is a transient error, retried; a 404 is not", async () => {
        let calls = 0;
        const sleeps: number[] = [];
        const retry = { sleep: async (ms: number) => void sleeps.push(ms) };
        await expect(
            withRetries(async () => {
                calls++;
                throw new HttpError("GET x: ECONNREFUSED", "x");
            }, retry),
        ).rejects.toThrow(/ECONNREFUSED/);
        expect(calls).toBe(3);
        expect(sleeps).toEqual([1000, 4000]);
        calls = 0;
        await expect(
            withRetries(async () => {
                calls++;
                throw new HttpError("404", "x", 404);
            }, retry),
        ).rejects.toThrow("404");
        expect(calls).toBe(1);
        calls = 0;
        await expect(
            withRetries(async () => {
                if (++calls < 2) throw new HttpError("503", "x", 503);
                return "ok";
            }, retry),
        ).resolves.toBe("ok");
    });
});
