/**
 * HTTP for `npm run bundle`, on Node's fetch: redirects followed by hand, so that a redirect to plain
 * HTTP is refused (except to loopback or an --insecure-mirror host) and credentials never follow a
 * redirect to another origin; a time limit on the answer and on every pause of a download; bodies
 * streamed to a file while hashed; retries for what a retry can fix (network errors, 429, 5xx).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export class HttpError extends Error {
    constructor(
        message: string,
        readonly url: string,
        /** The HTTP status, when the server answered. */
        readonly status?: number,
    ) {
        super(message);
        this.name = "HttpError";
    }

    /** Worth another try: no answer, too many requests, or a server error. */
    get transient(): boolean {
        return this.status === undefined || this.status === 429 || this.status >= 500;
    }
}

export interface HttpPolicy {
    /** Whether a plain-HTTP URL may be fetched (lib/bundler/mirror.ts plainHttpAllowed). */
    allowPlainHttp: (url: URL) => boolean;
    /** How long to wait for an answer, and for the next chunk of a body. Default 60 s. */
    timeoutMs?: number;
    /** The fetch to use (tests pass their own). Default: Node's. */
    fetch?: typeof fetch;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

function checkScheme(url: URL, policy: HttpPolicy, what: string): void {
    if (url.protocol === "https:") return;
    if (url.protocol === "http:" && policy.allowPlainHttp(url)) return;
    throw new HttpError(
        `${what} ${url.href}: ${url.protocol === "http:" ? "plain HTTP is accepted only on this machine or for an --insecure-mirror host" : `${url.protocol} is not fetched`}`,
        url.href,
    );
}

export interface HttpResponse {
    response: Response;
    /** The URL asked for. */
    requested: string;
    /** The URL that answered, after redirects. */
    url: string;
    /** Aborts the body's download; `armStall` starts the pause limit, each chunk re-arms it. */
    abort: () => void;
    armStall: () => void;
}

/**
 * GET `url`, following redirects. Returns any status (the caller decides); a redirect to a
 * disallowed scheme, too many redirects, a network error or a timeout throw HttpError. The body
 * must be consumed or `abort` called.
 */
export async function httpGet(url: string, headers: Record<string, string>, policy: HttpPolicy): Promise<HttpResponse> {
    const doFetch = policy.fetch ?? fetch;
    const timeoutMs = policy.timeoutMs ?? 60_000;
    let current = new URL(url);
    let currentHeaders = { ...headers };
    checkScheme(current, policy, "refusing to fetch");
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const controller = new AbortController();
        let timer = setTimeout(() => controller.abort(), timeoutMs);
        let response: Response;
        try {
            response = await doFetch(current.href, {
                headers: currentHeaders,
                redirect: "manual",
                signal: controller.signal,
            });
        } catch (error) {
            clearTimeout(timer);
            const cause = (error as { cause?: { code?: string; message?: string } }).cause;
            const why = controller.signal.aborted
                ? `no answer within ${timeoutMs / 1000} s`
                : (cause?.code ?? cause?.message ?? (error as Error).message);
            throw new HttpError(`GET ${current.href}: ${why}`, current.href);
        }
        clearTimeout(timer);
        const location = response.headers.get("location");
        if (REDIRECTS.has(response.status) && location !== null) {
            await response.body?.cancel().catch(() => undefined);
            const next = new URL(location, current);
            checkScheme(next, policy, `${current.href} redirects to`);
            if (next.origin !== current.origin) {
                // A token for one registry is not for the storage it redirects blobs to.
                currentHeaders = Object.fromEntries(
                    Object.entries(currentHeaders).filter(([name]) => name.toLowerCase() !== "authorization"),
                );
            }
            current = next;
            continue;
        }
        return {
            response,
            requested: url,
            url: current.href,
            abort: () => {
                clearTimeout(timer);
                controller.abort();
            },
            armStall: () => {
                clearTimeout(timer);
                timer = setTimeout(() => controller.abort(), timeoutMs);
                timer.unref?.();
            },
        };
    }
    throw new HttpError(`GET ${url}: more than ${MAX_REDIRECTS} redirects`, url);
}

/** The first lines of an error body, for a message (registries explain in JSON, servers in HTML). */
async function errorSnippet(response: Response): Promise<string> {
    const text = await response.text().catch(() => "");
    const compact = text.replace(/\s+/g, " ").trim();
    return compact === "" ? "" : `: ${compact.slice(0, 200)}`;
}

/** Throws HttpError for a status other than 200: `<what> answered 404 Not Found (after a redirect to ...): <body>`. */
export async function expectOk(got: HttpResponse, what: string): Promise<void> {
    if (got.response.status === 200) return;
    const status = got.response.status;
    const redirected = got.url !== got.requested ? ` (after a redirect to ${got.url})` : "";
    throw new HttpError(
        `${what} answered ${status} ${got.response.statusText}${redirected}${await errorSnippet(got.response)}`,
        got.url,
        status,
    );
}

/** A 200 body read as text (manifests, index.yaml, tokens: small). */
export async function readText(got: HttpResponse): Promise<string> {
    got.armStall();
    try {
        return await got.response.text();
    } finally {
        got.abort();
    }
}

/** A 200 body read as bytes. */
export async function readBytes(got: HttpResponse): Promise<Buffer> {
    got.armStall();
    try {
        return Buffer.from(await got.response.arrayBuffer());
    } finally {
        got.abort();
    }
}

export interface Written {
    sha256: string;
    size: number;
}

/** A transform that hashes and counts what passes through, calling `onChunk` on each chunk. */
export function hashingPassThrough(onChunk: () => void = () => undefined): {
    transform: Transform;
    result: () => Written;
} {
    const hash = createHash("sha256");
    let size = 0;
    const transform = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            onChunk();
            callback(null, chunk);
        },
    });
    return { transform, result: () => ({ sha256: hash.digest("hex"), size }) };
}

/** Streams a 200 body into `stream` (closed at the end), hashing it; a pause longer than the limit aborts. */
export async function streamBodyTo(got: HttpResponse, stream: fs.WriteStream): Promise<Written> {
    if (got.response.body === null) throw new HttpError(`GET ${got.url}: empty answer`, got.url);
    const { transform, result } = hashingPassThrough(got.armStall);
    got.armStall();
    try {
        await pipeline(
            Readable.fromWeb(got.response.body as import("node:stream/web").ReadableStream),
            transform,
            stream,
        );
    } catch (error) {
        throw new HttpError(`GET ${got.url}: the download broke off (${(error as Error).message})`, got.url);
    } finally {
        got.abort();
    }
    return result();
}

/** The SHA-256 and size of a file, streamed. */
export async function hashFile(file: string): Promise<Written> {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of fs.createReadStream(file)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
    }
    return { sha256: hash.digest("hex"), size };
}

export interface RetryOptions {
    attempts?: number;
    /** Waits before the 2nd, 3rd, ... attempt. */
    delaysMs?: number[];
    sleep?: (ms: number) => Promise<void>;
}

/** Runs `attempt` again after a transient HttpError (up to 3 times, after 1 s and 4 s); anything else fails at once. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
    const attempts = options.attempts ?? 3;
    const delays = options.delaysMs ?? [1000, 4000];
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let i = 1; ; i++) {
        try {
            return await attempt();
        } catch (error) {
            if (!(error instanceof HttpError) || !error.transient || i >= attempts) throw error;
            await sleep(delays[Math.min(i - 1, delays.length - 1)] ?? 0);
        }
    }
}
