/**
 * The registry mirror mode (`registryMirror: true`): one pull-through cache container per upstream
 * registry on the lab network, and the containerd configuration that sends pulls there. Pure: the
 * plan, the files and the reference rewrite; components/registry-mirror.ts creates the resources.
 *
 * Facts this rests on (upstream sources):
 *  - The CNCF distribution registry proxies exactly one upstream per instance (`proxy.remoteurl`;
 *    distribution docs/content/recipes/mirror.md "It's currently possible to mirror only one
 *    upstream registry at a time"), hence one container per upstream. Docker Hub's registry API is
 *    at registry-1.docker.io, not docker.io (same recipe; containerd's resolver maps docker.io to
 *    registry-1.docker.io, core/remotes/docker/registry.go). The `registry:3` image reads
 *    /etc/distribution/config.yml and stores under /var/lib/registry, port 5000
 *    (distribution/distribution-library-image Dockerfile).
 *  - containerd takes `[host."http://ip:port"]` in hosts.toml as plain HTTP (no TLS attempt unless
 *    ca/client/skip_verify are set; core/remotes/docker/config/hosts.go), tries the hosts in order
 *    and falls back to `server`, so a mirror that is down only costs a retry. hosts.toml files are
 *    read at every pull: writing them needs no containerd restart (containerd docs/hosts.md).
 *  - Which containerd reads /etc/containerd/certs.d: containerd 2.2.x and later default the CRI
 *    `config_path` to "/etc/containerd/certs.d:/etc/docker/certs.d" when config.toml sets neither
 *    config_path nor registry mirrors (plugins/cri/images/plugin.go, v2.2.2); 1.7, 2.0 and 2.1 do
 *    not. The CAPT OS images run containerd 2.2.2 with a config.toml that sets neither
 *    (cluster-api-provider-tinkerbell image-builder/Makefile CONTAINERD_VERSION, mkosi.prepare), so
 *    the hosts.toml files alone configure the workload nodes. That config.toml has no `imports`
 *    line, so a conf.d drop-in (the playground's approach) would never be read; none is written.
 *    KinD node images differ by release, so the KinD config sets config_path explicitly (kind's own
 *    recipe, site/content/docs/user/private-registries.md).
 *
 * With registryMirrorHost (the user's own HTTPS mirror, publicly trusted, as the playground's mirror
 * mode expects) there are no cache containers and the lab's references are rewritten to that host
 * (`labReference`): every puller below trusts it. With the lab's own plain-HTTP caches no reference
 * is rewritten, for these reasons:
 *  - images pulled by containerd (KinD: the chart's images and the CaptainOS image volume; the
 *    machines: kubeadm, CNI, kube-vip) keep their upstream names: containerd redirects them by
 *    hosts.toml and falls back to the upstream. A rewritten `ip:port/...` name would be pulled over
 *    HTTPS and fail, since containerd only uses plain HTTP for hosts its hosts.toml says so.
 *  - the OS image is pulled by the oci2disk action inside HookOS/CaptainOS, with containerd's
 *    default resolver and no PlainHTTP option: plain HTTP only for localhost (tinkerbell/actions
 *    oci2disk/image/image.go; containerd v1.4 remotes/docker/resolver.go MatchLocalhost).
 *  - the Tinkerbell chart is pulled by pulumi-kubernetes' helm.v3.Release, whose registry client
 *    has no plain-HTTP option (provider/pkg/provider/helm_release.go; no plainHttp in ReleaseArgs).
 *  - the virtual BMC image is pulled by the host's docker daemon, which refuses plain-HTTP
 *    registries outside 127.0.0.0/8 unless daemon.json lists them, and the lab never edits the
 *    user's daemon. Publishing a mirror on 127.0.0.1 would add a host-wide port per stack for one
 *    image the daemon already keeps (RemoteImage keepLocally), so it keeps its upstream name.
 */
import * as path from "node:path";
import { Address4 } from "ip-address";
import { stringify } from "yaml";
import { LAB_SERVICES_OFFSET, LAB_SERVICES_SLOTS } from "../address-layout";
import { shortHash } from "../naming";

/** The lab services' slice of the subnet (offsets 20..31): mirror i sits at offset 20 + i. */
export const REGISTRY_MIRROR_FIRST_OFFSET = LAB_SERVICES_OFFSET;
export const REGISTRY_MIRROR_LAST_OFFSET = LAB_SERVICES_OFFSET + LAB_SERVICES_SLOTS - 1;
/** One container (and address) per upstream: at most 12. */
export const REGISTRY_MIRROR_MAX_UPSTREAMS = LAB_SERVICES_SLOTS;
/** The distribution registry's listen port (its image's default). */
export const REGISTRY_MIRROR_PORT = 5000;
/** Where the registry:3 image reads its config and keeps its storage. */
export const REGISTRY_CONFIG_PATH = "/etc/distribution/config.yml";
export const REGISTRY_STORAGE_PATH = "/var/lib/registry";
/** containerd's registry hosts directory, on KinD nodes and machines alike. */
export const CONTAINERD_HOSTS_DIR = "/etc/containerd/certs.d";
/** An upstream registry host, optionally with a port: `ghcr.io`, `registry.k8s.io`, `myreg.lan:5000`. */
export const REGISTRY_UPSTREAM_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** The config keys this module reads (LabConfig has them). */
export interface RegistryMirrorSettings {
    registryMirrorHost: string;
    registryMirrorImage: string;
    registryMirrorKeepCache: boolean;
    registryMirrorUpstreams: readonly string[];
}

/** The lab's own cache of one upstream: a container on the lab network. */
export interface PlannedRegistryCache {
    containerName: string;
    ip: string;
    port: number;
    /** Docker volume holding the cache. */
    volumeName: string;
}

export interface PlannedRegistryMirror {
    /** The registry it mirrors, as image references name it: `ghcr.io`. */
    upstream: string;
    /** The upstream's registry API (`proxy.remoteurl`, hosts.toml `server`): `https://registry-1.docker.io`. */
    remoteUrl: string;
    /** A DNS-safe short form of the upstream: `ghcr`, `registry-k8s`. */
    short: string;
    /** The registry host a rewritten reference starts with: the cache's `ip:port`, or registryMirrorHost. */
    host: string;
    /** The host entry of the upstream's hosts.toml: `http://ip:port`, or `https://<registryMirrorHost>`. */
    endpoint: string;
    /** The lab's cache container; absent with registryMirrorHost (the user's mirror serves every upstream). */
    cache?: PlannedRegistryCache;
}

export interface RegistryMirrorPlan {
    /** registryMirrorHost: the user's HTTPS mirror; references are rewritten to it. */
    externalHost?: string;
    image: string;
    keepCache: boolean;
    /** One per upstream, in the order of registryMirrorUpstreams (the rewrite's precedence). */
    mirrors: PlannedRegistryMirror[];
}

/** The problem with an upstream list, or undefined when it can be planned. */
export function registryMirrorUpstreamsProblem(upstreams: readonly string[]): string | undefined {
    if (upstreams.length === 0) {
        return "expected at least one upstream registry";
    }
    if (upstreams.length > REGISTRY_MIRROR_MAX_UPSTREAMS) {
        return `expected at most ${REGISTRY_MIRROR_MAX_UPSTREAMS} upstreams (one cache container each, at offsets ${REGISTRY_MIRROR_FIRST_OFFSET}..${REGISTRY_MIRROR_LAST_OFFSET} of networkSubnet)`;
    }
    const bad = upstreams.find((u) => !REGISTRY_UPSTREAM_PATTERN.test(u));
    if (bad !== undefined) {
        return `${JSON.stringify(bad)} is not a registry host (expected a host such as ghcr.io or myregistry.lan:5000, without scheme or path)`;
    }
    const duplicate = upstreams.find((u, i) => upstreams.indexOf(u) !== i);
    if (duplicate !== undefined) {
        return `${JSON.stringify(duplicate)} is listed twice`;
    }
    return undefined;
}

/** Docker Hub's registry API does not answer at docker.io. */
export function upstreamRemoteUrl(upstream: string): string {
    return upstream === "docker.io" ? "https://registry-1.docker.io" : `https://${upstream}`;
}

/** `registry.k8s.io` -> `registry-k8s`, `ghcr.io` -> `ghcr`, `myreg.lan:5000` -> `myreg-5000`. */
function baseShortName(upstream: string): string {
    const [host, port] = upstream.split(":");
    const labels = host.split(".");
    const kept = labels.length > 1 ? labels.slice(0, -1) : labels;
    return [...kept, ...(port ? [port] : [])].join("-");
}

/** Short names, unique within the list: a clash (ghcr.io and ghcr.com) gets a hash of the upstream. */
function shortNames(upstreams: readonly string[]): string[] {
    const bases = upstreams.map(baseShortName);
    return bases.map((base, i) =>
        bases.indexOf(base) === bases.lastIndexOf(base) ? base : `${base}-${shortHash(upstreams[i], 6)}`,
    );
}

/**
 * The mirror containers, from the validated config. `network` is the lab subnet
 * (`new Address4(config.networkSubnet)`), `lab` the lab name (plan.labName).
 */
export function planRegistryMirror(config: RegistryMirrorSettings, network: Address4, lab: string): RegistryMirrorPlan {
    const problem = registryMirrorUpstreamsProblem(config.registryMirrorUpstreams);
    if (problem) {
        // parseLabConfig rejects this first; the planner guards its own invariant too.
        throw new Error(`registryMirrorUpstreams: ${problem}`);
    }
    const start = network.startAddress().bigInt();
    const shorts = shortNames(config.registryMirrorUpstreams);
    const external = config.registryMirrorHost;
    const mirrors = config.registryMirrorUpstreams.map((upstream, i): PlannedRegistryMirror => {
        const common = { upstream, remoteUrl: upstreamRemoteUrl(upstream), short: shorts[i] };
        if (external) {
            return { ...common, host: external, endpoint: `https://${external}` };
        }
        const ip = Address4.fromBigInt(start + BigInt(REGISTRY_MIRROR_FIRST_OFFSET + i)).correctForm();
        const host = `${ip}:${REGISTRY_MIRROR_PORT}`;
        return {
            ...common,
            host,
            endpoint: `http://${host}`,
            cache: {
                containerName: `${lab}-mirror-${shorts[i]}`,
                ip,
                port: REGISTRY_MIRROR_PORT,
                volumeName: `${lab}-mirror-${shorts[i]}-cache`,
            },
        };
    });
    return {
        ...(external ? { externalHost: external } : {}),
        image: config.registryMirrorImage,
        keepCache: config.registryMirrorKeepCache,
        mirrors,
    };
}

/**
 * The distribution registry's config for one mirror: a pull-through cache of its upstream on
 * plain HTTP (the lab network is private), filesystem storage in the cache volume. Deletes are
 * enabled so the proxy's scheduler can evict content after its TTL (default 7 days; distribution
 * docs/content/recipes/mirror.md).
 */
export function registryConfigYaml(mirror: PlannedRegistryMirror): string {
    return stringify(
        {
            version: 0.1,
            log: { level: "info", fields: { service: "registry" } },
            storage: { filesystem: { rootdirectory: REGISTRY_STORAGE_PATH }, delete: { enabled: true } },
            http: { addr: `:${REGISTRY_MIRROR_PORT}` },
            proxy: { remoteurl: mirror.remoteUrl },
        },
        { lineWidth: 0 },
    );
}

/** `<upstream>/hosts.toml`, relative to a containerd hosts directory. */
export function hostsTomlRelativePath(mirror: PlannedRegistryMirror): string {
    return `${mirror.upstream}/hosts.toml`;
}

/**
 * containerd's hosts.toml for one upstream: the mirror first, for pulls and tag resolution (it
 * is the lab's own cache), then the upstream itself as the fallback `server`.
 */
export function hostsToml(mirror: PlannedRegistryMirror): string {
    return [
        `server = ${JSON.stringify(mirror.remoteUrl)}`,
        "",
        `[host.${JSON.stringify(mirror.endpoint)}]`,
        '  capabilities = ["pull", "resolve"]',
        "",
    ].join("\n");
}

/** Every hosts.toml, keyed by its path relative to a containerd hosts directory. */
export function hostsTomlFiles(plan: RegistryMirrorPlan): Map<string, string> {
    return new Map(plan.mirrors.map((m) => [hostsTomlRelativePath(m), hostsToml(m)]));
}

/** The host directory the KinD nodes mount at /etc/containerd/certs.d (read-only). */
export function kindHostsDir(outputDir: string): string {
    return path.join(outputDir, "certs.d");
}

/** Makes KinD's containerd read the hosts directory whatever its version's default (see above). */
export const KIND_CONTAINERD_CONFIG_PATH_PATCH = `[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CONTAINERD_HOSTS_DIR}"\n`;

/** The machines' cloud-init files: one hosts.toml per upstream (KubeadmConfigSpec.files). */
export function machineHostsFiles(
    plan: RegistryMirrorPlan,
): { path: string; owner: string; permissions: string; content: string }[] {
    return plan.mirrors.map((m) => ({
        path: `${CONTAINERD_HOSTS_DIR}/${hostsTomlRelativePath(m)}`,
        owner: "root:root",
        permissions: "0644",
        content: hostsToml(m),
    }));
}

/**
 * An image or chart reference with its registry replaced by the mirror of that registry, as the
 * playground's mirror mode rewrites host-side references: the first upstream (in config order)
 * the reference starts with wins, `oci://` is kept, anything else is returned unchanged.
 */
export function mirrorReference(reference: string, plan: RegistryMirrorPlan | undefined): string {
    if (!plan) {
        return reference;
    }
    const scheme = reference.startsWith("oci://") ? "oci://" : "";
    const bare = reference.slice(scheme.length);
    const mirror = plan.mirrors.find((m) => bare.startsWith(`${m.upstream}/`));
    return mirror ? `${scheme}${mirror.host}${bare.slice(mirror.upstream.length)}` : reference;
}

/**
 * The lab's own references (chart, OS image, CaptainOS, virtual BMC image) as the lab uses them:
 * rewritten only to a user's HTTPS mirror (registryMirrorHost), which every puller trusts; with the
 * lab's plain-HTTP caches they keep their upstream names (see the module comment) and containerd
 * redirects what it pulls through hosts.toml.
 */
export function labReference(reference: string, plan: RegistryMirrorPlan | undefined): string {
    return plan?.externalHost ? mirrorReference(reference, plan) : reference;
}

/** What `npm run render` can show for the mirror: each registry config and each hosts.toml. */
export function registryMirrorRenderFiles(plan: RegistryMirrorPlan): Map<string, string> {
    const files = new Map<string, string>();
    for (const mirror of plan.mirrors) {
        if (mirror.cache) {
            files.set(`registry-mirror/${mirror.short}/config.yml`, registryConfigYaml(mirror));
        }
        files.set(`registry-mirror/certs.d/${hostsTomlRelativePath(mirror)}`, hostsToml(mirror));
    }
    return files;
}
