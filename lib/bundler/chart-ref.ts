/**
 * Where a chart of the bill of materials comes from: an OCI reference (`oci://ghcr.io/tinkerbell/
 * charts/tinkerbell` at a version) or a chart in an HTTP chart repository (`https://helm.cilium.io/
 * cilium`: the repository's index.yaml names the archive). Pure.
 */
import { parse as parseYaml } from "yaml";

export interface OciChartReference {
    kind: "oci";
    /** The registry host[:port] as written (`ghcr.io`). */
    registry: string;
    /** The repository path on it (`tinkerbell/charts/tinkerbell`). */
    repository: string;
    /** The tag Helm pushes the version under: `+` is not allowed in tags, Helm writes `_`. */
    tag: string;
}

export interface RepositoryChartReference {
    kind: "repository";
    /** The repository URL, without a trailing `/` (`https://helm.cilium.io`). */
    repositoryUrl: string;
    /** index.yaml of the repository. */
    indexUrl: string;
    chartName: string;
    version: string;
}

export type ChartReference = OciChartReference | RepositoryChartReference;

const OCI_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const OCI_REGISTRY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;
/** An OCI tag: 128 characters at most, a word character first. */
const OCI_TAG = /^[\w][\w.-]{0,127}$/;

/** `oci://registry/path/name` at `version`; throws naming what is wrong. */
export function parseOciChartReference(ref: string, version: string): OciChartReference {
    if (!ref.startsWith("oci://")) throw new Error(`not an OCI chart reference: ${JSON.stringify(ref)}`);
    const [registry, ...path] = ref.slice("oci://".length).split("/");
    if (!OCI_REGISTRY.test(registry) || path.length === 0 || !path.every((c) => OCI_PATH_COMPONENT.test(c))) {
        throw new Error(
            `not an OCI chart reference: ${JSON.stringify(ref)}; expected oci://<registry>/<path>/<chart> in lowercase`,
        );
    }
    const tag = version.replace(/\+/g, "_");
    if (!OCI_TAG.test(tag)) throw new Error(`chart version ${JSON.stringify(version)} cannot be an OCI tag`);
    return { kind: "oci", registry, repository: path.join("/"), tag };
}

/** A chart reference of the bill of materials: `oci://...`, or `<repository URL>/<chart name>`. */
export function parseChartReference(ref: string, version: string): ChartReference {
    if (ref.startsWith("oci://")) return parseOciChartReference(ref, version);
    let url: URL;
    try {
        url = new URL(ref);
    } catch {
        throw new Error(
            `not a chart reference: ${JSON.stringify(ref)}; expected oci://... or https://<repository>/<chart>`,
        );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new Error(`not a chart reference: ${JSON.stringify(ref)}; expected oci://, https:// or http://`);
    }
    const href = url.href.replace(/\/+$/, "");
    const slash = href.lastIndexOf("/");
    const repositoryUrl = href.slice(0, slash);
    const chartName = href.slice(slash + 1);
    if (repositoryUrl.endsWith(":/") || chartName === "") {
        throw new Error(`not a chart reference: ${JSON.stringify(ref)}; expected <repository URL>/<chart name>`);
    }
    return { kind: "repository", repositoryUrl, indexUrl: `${repositoryUrl}/index.yaml`, chartName, version };
}

export interface IndexedChart {
    /** The archive's URL, absolute (a relative URL in the index is resolved against the repository). */
    url: string;
    /** The archive's SHA-256 as the index records it, when it does. */
    sha256?: string;
}

/** Versions match with or without a leading `v` (repositories differ; Helm's own matching ignores it). */
function sameVersion(a: string, b: string): boolean {
    return a.replace(/^v/, "") === b.replace(/^v/, "");
}

/**
 * The archive of `chart` in a repository's index.yaml; throws naming the versions the index has
 * when the wanted one is missing.
 */
export function findChartInIndex(indexText: string, chart: RepositoryChartReference): IndexedChart {
    const index = parseYaml(indexText) as { entries?: Record<string, unknown> } | null;
    const entries = index?.entries?.[chart.chartName];
    if (!Array.isArray(entries)) {
        throw new Error(`${chart.indexUrl} has no chart named ${chart.chartName}`);
    }
    const entry = entries.find(
        (e): e is { version: string; urls?: unknown; digest?: unknown } =>
            typeof e === "object" &&
            e !== null &&
            typeof e.version === "string" &&
            sameVersion(e.version, chart.version),
    );
    if (!entry) {
        const versions = entries
            .map((e) => (typeof e === "object" && e !== null ? (e as { version?: unknown }).version : undefined))
            .filter((v): v is string => typeof v === "string");
        throw new Error(
            `${chart.indexUrl} has no ${chart.chartName} ${chart.version} (it has ${versions.slice(0, 5).join(", ")}${versions.length > 5 ? ", ..." : ""})`,
        );
    }
    const first = Array.isArray(entry.urls) ? entry.urls.find((u): u is string => typeof u === "string") : undefined;
    if (first === undefined) {
        throw new Error(`${chart.indexUrl}: ${chart.chartName} ${chart.version} lists no download URL`);
    }
    const url = new URL(first, `${chart.repositoryUrl}/`).href;
    const digest = typeof entry.digest === "string" && /^[a-f0-9]{64}$/.test(entry.digest) ? entry.digest : undefined;
    return { url, ...(digest !== undefined ? { sha256: digest } : {}) };
}
