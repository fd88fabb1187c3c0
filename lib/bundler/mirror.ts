/**
 * `npm run bundle --mirror FROM=TO`: where each artifact is fetched from when the user's network
 * reaches the registries only through mirrors (a corporate pull-through cache, an air-gap transfer
 * host, the e2e suite's local registry). The bundle still records every artifact under its original
 * reference; only the fetch goes elsewhere. Pure.
 *
 * Two kinds of mirror:
 *  - a registry: `ghcr.io=registry.example:5000` or `docker.io=mirror.example/dockerhub` (a path
 *    prefix, as Harbor's proxy projects use). Images and OCI charts of that registry are fetched from
 *    `<to>/<repository path>`; over HTTPS, or plain HTTP for a mirror on loopback, unless TO starts
 *    with `https://` or `http://`;
 *  - a URL prefix: `https://github.com=https://mirror.example/github`. Every URL that starts with the
 *    prefix at a path boundary is fetched from the mirror with the rest of the URL appended.
 *
 * Plain HTTP (`http://` in TO) is accepted only for a mirror on the loopback interface, or with
 * `--insecure-mirror` in place of `--mirror`: an `http://` hop elsewhere lets anyone on the path
 * swap the artifacts.
 */
import { isImageReference, parseImageReference } from "../bundle/image-ref";

export class MirrorError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "MirrorError";
    }
}

export type Scheme = "https" | "http";

export interface RegistryMirror {
    kind: "registry";
    /** The registry it stands in for, normalised (`docker.io`, `ghcr.io`, `myreg:5000`). */
    from: string;
    scheme: Scheme;
    /** host[:port] of the mirror. */
    host: string;
    /** A path prefix inside the mirror (`dockerhub`, `proxy/ghcr.io`), or "". */
    prefix: string;
    /** The option as the user wrote it, for messages. */
    spec: string;
}

export interface UrlMirror {
    kind: "url";
    /** The URL prefix it stands in for, without a trailing `/`. */
    from: string;
    /** The mirror's URL prefix, without a trailing `/`. */
    to: string;
    spec: string;
}

export type Mirror = RegistryMirror | UrlMirror;

/** host[:port]: DNS names, IPv4, or a bracketed IPv6 address; a port of 1-65535. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;
/** One path component of an image repository (distribution's reference grammar). */
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function checkPort(host: string, spec: string): void {
    const port = /:(\d+)$/.exec(host)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
        throw new MirrorError(`${spec}: port ${port} is out of range (1-65535)`);
    }
}

/** The hostname without port or brackets: `127.0.0.1:5000` -> `127.0.0.1`, `[::1]:80` -> `::1`. */
export function hostname(host: string): string {
    if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
    const colon = host.lastIndexOf(":");
    return colon < 0 ? host : host.slice(0, colon);
}

/** True for `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves this machine. */
export function isLoopbackHost(host: string): boolean {
    const name = hostname(host.toLowerCase());
    return name === "localhost" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Docker Hub answers its registry API on registry-1.docker.io; every other registry on its own name. */
export function registryApiHost(registry: string): string {
    return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

function normalizeRegistry(host: string): string {
    return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function checkNoSecretsOrExtras(url: URL, spec: string): void {
    if (url.username !== "" || url.password !== "") {
        throw new MirrorError(
            `${spec}: a mirror URL must not hold credentials (they would show in logs and in the process list); docker uses its own login, and files and charts are fetched anonymously`,
        );
    }
    if (url.search !== "" || url.hash !== "") {
        throw new MirrorError(`${spec}: a mirror URL takes no ?query or #fragment`);
    }
}

function parseUrl(text: string, spec: string): URL {
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw new MirrorError(`${spec}: ${JSON.stringify(text)} is not a URL`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new MirrorError(`${spec}: expected an http:// or https:// URL, got ${url.protocol}`);
    }
    checkNoSecretsOrExtras(url, spec);
    return url;
}

function checkPlainHttp(scheme: Scheme, host: string, insecure: boolean, spec: string): void {
    if (scheme === "http" && !insecure && !isLoopbackHost(host)) {
        throw new MirrorError(
            `${spec}: plain http:// is accepted only for a mirror on this machine (localhost, 127.0.0.0/8, ::1); for another host use https://, or --insecure-mirror if you accept that anyone on the path can swap the artifacts`,
        );
    }
}

function withoutTrailingSlash(text: string): string {
    return text.replace(/\/+$/, "");
}

function parseRegistryMirror(from: string, to: string, insecure: boolean, spec: string): RegistryMirror {
    const fromHost = from.toLowerCase();
    if (!HOST.test(fromHost)) {
        throw new MirrorError(
            `${spec}: ${JSON.stringify(from)} is neither a registry host (ghcr.io, docker.io, myreg:5000) nor a URL prefix (https://github.com)`,
        );
    }
    checkPort(fromHost, spec);
    let scheme: Scheme | undefined;
    let rest = to;
    const schemeMatch = /^(https?):\/\//.exec(to);
    if (schemeMatch) {
        scheme = schemeMatch[1] as Scheme;
        rest = to.slice(schemeMatch[0].length);
    } else if (to.includes("://")) {
        throw new MirrorError(`${spec}: a registry mirror is host[:port][/path], optionally after http:// or https://`);
    }
    rest = withoutTrailingSlash(rest);
    const slash = rest.indexOf("/");
    const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
    const prefix = slash < 0 ? "" : rest.slice(slash + 1);
    if (!HOST.test(host)) {
        throw new MirrorError(`${spec}: ${JSON.stringify(host)} is not a registry host (host[:port])`);
    }
    checkPort(host, spec);
    if (prefix !== "" && !prefix.split("/").every((component) => REPOSITORY_COMPONENT.test(component))) {
        throw new MirrorError(
            `${spec}: the path ${JSON.stringify(prefix)} is not a repository path (lowercase letters, digits and . _ - between /)`,
        );
    }
    // Without a scheme, a registry on this machine speaks plain HTTP (docker treats loopback the same way).
    scheme ??= isLoopbackHost(host) ? "http" : "https";
    checkPlainHttp(scheme, host, insecure, spec);
    return { kind: "registry", from: normalizeRegistry(fromHost), scheme, host, prefix, spec };
}

function parseUrlMirror(from: string, to: string, insecure: boolean, spec: string): UrlMirror {
    const fromUrl = parseUrl(from, spec);
    const toUrl = parseUrl(to, spec);
    checkPlainHttp(toUrl.protocol === "http:" ? "http" : "https", toUrl.host, insecure, spec);
    return {
        kind: "url",
        from: withoutTrailingSlash(fromUrl.href),
        to: withoutTrailingSlash(toUrl.href),
        spec,
    };
}

/** One `--mirror FROM=TO` (or `--insecure-mirror FROM=TO`, which also accepts plain HTTP anywhere). */
export function parseMirror(spec: string, insecure = false): Mirror {
    const option = `${insecure ? "--insecure-mirror" : "--mirror"} ${spec}`;
    if ([...spec].some((char) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f)) {
        throw new MirrorError(`${option}: a mirror holds no spaces or control characters`);
    }
    const eq = spec.indexOf("=");
    if (eq <= 0 || eq === spec.length - 1) {
        throw new MirrorError(
            `${option}: expected FROM=TO, a registry (ghcr.io=registry.example:5000) or a URL prefix (https://github.com=https://mirror.example/github)`,
        );
    }
    const from = spec.slice(0, eq);
    const to = spec.slice(eq + 1);
    return from.includes("://")
        ? parseUrlMirror(from, to, insecure, option)
        : parseRegistryMirror(from, to, insecure, option);
}

/** Every mirror of the command line; the same FROM twice is refused (which one would win?). */
export function parseMirrors(specs: readonly string[], insecureSpecs: readonly string[] = []): Mirror[] {
    const mirrors = [...specs.map((s) => parseMirror(s)), ...insecureSpecs.map((s) => parseMirror(s, true))];
    const seen = new Map<string, string>();
    for (const mirror of mirrors) {
        const key = `${mirror.kind} ${mirror.from}`;
        const earlier = seen.get(key);
        if (earlier !== undefined) {
            throw new MirrorError(`${mirror.spec}: ${mirror.from} already has a mirror (${earlier})`);
        }
        seen.set(key, mirror.spec);
    }
    return mirrors;
}

/** Where a registry's repository is fetched from: the API endpoint and the repository path there. */
export interface RegistryLocation {
    scheme: Scheme;
    /** host[:port] of the registry API. */
    host: string;
    /** The repository path on that host (`tinkerbell/tinkerbell`, `ghcr.io/tinkerbell/tinkerbell`). */
    repository: string;
    /** The mirror used, if any. */
    mirror?: RegistryMirror;
}

/**
 * The registry location of `<registry>/<path>`: the mirror's when one stands in for the registry;
 * otherwise the registry itself, over HTTPS (plain HTTP for a registry on loopback, as docker does).
 */
export function locateRepository(registry: string, path: string, mirrors: readonly Mirror[]): RegistryLocation {
    const normalized = normalizeRegistry(registry.toLowerCase());
    const mirror = mirrors.find((m): m is RegistryMirror => m.kind === "registry" && m.from === normalized);
    if (mirror) {
        return {
            scheme: mirror.scheme,
            host: mirror.host,
            repository: mirror.prefix === "" ? path : `${mirror.prefix}/${path}`,
            mirror,
        };
    }
    return {
        scheme: isLoopbackHost(normalized) ? "http" : "https",
        host: registryApiHost(normalized),
        repository: path,
    };
}

/**
 * The reference docker pulls for an image the lab names `reference`: the mirror's name for it when a
 * mirror stands in for its registry (with the same tag and digest), else the reference itself.
 */
export function mirroredImageReference(reference: string, mirrors: readonly Mirror[]): string {
    if (!isImageReference(reference)) throw new MirrorError(`not an image reference: ${JSON.stringify(reference)}`);
    const parsed = parseImageReference(reference);
    const slash = parsed.repository.indexOf("/");
    const registry = parsed.repository.slice(0, slash);
    const mirror = mirrors.find((m): m is RegistryMirror => m.kind === "registry" && m.from === registry);
    if (!mirror) return reference;
    const path = parsed.repository.slice(slash + 1);
    const repository = [mirror.host, ...(mirror.prefix === "" ? [] : [mirror.prefix]), path].join("/");
    return `${repository}${parsed.tag !== undefined ? `:${parsed.tag}` : ""}${parsed.digest !== undefined ? `@${parsed.digest}` : ""}`;
}

/** True when `url` starts with `prefix` at a path boundary (`https://github.com` matches `https://github.com/x`, not `https://github.company`). */
function startsAtBoundary(url: string, prefix: string): boolean {
    if (!url.startsWith(prefix)) return false;
    const next = url.charAt(prefix.length);
    return next === "" || next === "/" || next === "?" || next === "#";
}

/** The URL a file is fetched from: the longest matching URL-prefix mirror applied, else the URL itself. */
export function mirroredUrl(url: string, mirrors: readonly Mirror[]): { url: string; mirror?: UrlMirror } {
    const normalized = new URL(url).href;
    const mirror = mirrors
        .filter((m): m is UrlMirror => m.kind === "url" && startsAtBoundary(normalized, m.from))
        .sort((a, b) => b.from.length - a.from.length)[0];
    return mirror ? { url: `${mirror.to}${normalized.slice(mirror.from.length)}`, mirror } : { url: normalized };
}

/**
 * Whether a plain-HTTP URL may be fetched: on loopback always, elsewhere only when the user named
 * that host in an --insecure-mirror (or an --insecure-mirror registry mirror).
 */
export function plainHttpAllowed(url: URL, mirrors: readonly Mirror[]): boolean {
    if (url.protocol !== "http:") return true;
    if (isLoopbackHost(url.host)) return true;
    return mirrors.some((m) =>
        m.kind === "registry"
            ? m.scheme === "http" && m.host === url.host.toLowerCase()
            : m.to.startsWith("http:") && new URL(m.to).host === url.host.toLowerCase(),
    );
}
