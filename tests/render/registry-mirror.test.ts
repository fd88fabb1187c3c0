/**
 * The registry mirror mode's pure parts: the plan (addresses, names), the registry config, the
 * containerd hosts.toml files, the reference rewrite, and what the mode adds to the KinD config and
 * the Cluster API objects (validated against the upstream schemas).
 */
import { Address4 } from "ip-address";
import { parse } from "yaml";
import { RawConfig } from "../../lib/config";
import { LabPlan } from "../../lib/plan";
import { clusterApiObjects, kubeVipCommand } from "../../lib/render/cluster-api";
import {
    kindClusterConfig,
    kindConfigYaml,
    CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH,
} from "../../lib/render/kind-config";
import { KubeObject } from "../../lib/render/kube-object";
import {
    CONTAINERD_HOSTS_DIR,
    REGISTRY_MIRROR_MAX_UPSTREAMS,
    RegistryMirrorPlan,
    hostsToml,
    hostsTomlFiles,
    kindHostsDir,
    machineHostsFiles,
    labReference,
    mirrorReference,
    planRegistryMirror,
    registryConfigYaml,
    registryMirrorRenderFiles,
    registryMirrorUpstreamsProblem,
} from "../../lib/render/registry-mirror";
import { tinkerbellReleaseArgs } from "../../components/tinkerbell-stack";
import { tinkerbellValues } from "../../lib/render/tinkerbell-values";
import { osImageUrl } from "../../lib/render/workflow";
import { labPlan } from "../fixtures";
import { describeWithSchemas, schemaErrors } from "./support";

const DEFAULT_UPSTREAMS = ["ghcr.io", "quay.io", "registry.k8s.io", "docker.io"];

function settings(upstreams: readonly string[] = DEFAULT_UPSTREAMS, keepCache = false) {
    return {
        registryMirrorHost: "",
        registryMirrorImage: "docker.io/library/registry:3.0.0",
        registryMirrorKeepCache: keepCache,
        registryMirrorUpstreams: upstreams,
    };
}

/** A stack with the mirror on, built from the planner itself (independent of planLab's wiring). */
function mirrorStack(raw: RawConfig = {}, upstreams: readonly string[] = DEFAULT_UPSTREAMS) {
    const { config, plan } = labPlan(raw);
    const registryMirror = planRegistryMirror(settings(upstreams), new Address4(plan.network.subnet), plan.labName);
    return { config, plan: { ...plan, registryMirror } as LabPlan & { registryMirror: RegistryMirrorPlan } };
}

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const specOf = (objects: KubeObject[], kind: string) => objects.find((o) => o.kind === kind)!.spec as Spec;

describe("the plan", () => {
    test("one container per upstream at offsets 20.. of the lab subnet, named after the lab", () => {
        const { plan } = mirrorStack();
        expect(plan.registryMirror.mirrors).toEqual([
            {
                upstream: "ghcr.io",
                remoteUrl: "https://ghcr.io",
                short: "ghcr",
                host: "10.71.0.20:5000",
                endpoint: "http://10.71.0.20:5000",
                cache: {
                    containerName: "capt-dev-mirror-ghcr",
                    ip: "10.71.0.20",
                    port: 5000,
                    volumeName: "capt-dev-mirror-ghcr-cache",
                },
            },
            expect.objectContaining({ upstream: "quay.io", short: "quay", host: "10.71.0.21:5000" }),
            expect.objectContaining({
                upstream: "registry.k8s.io",
                short: "registry-k8s",
                cache: expect.objectContaining({ containerName: "capt-dev-mirror-registry-k8s", ip: "10.71.0.22" }),
            }),
            // Docker Hub's registry API lives at registry-1.docker.io.
            expect.objectContaining({
                upstream: "docker.io",
                remoteUrl: "https://registry-1.docker.io",
                host: "10.71.0.23:5000",
            }),
        ]);
        expect(plan.registryMirror.image).toBe("docker.io/library/registry:3.0.0");
        expect(plan.registryMirror.keepCache).toBe(false);
    });

    test("twelve upstreams fill offsets 20..31 exactly, below the first machine and above the VIPs", () => {
        const upstreams = Array.from({ length: REGISTRY_MIRROR_MAX_UPSTREAMS }, (_, i) => `r${i}.example.com`);
        const { plan } = mirrorStack({ networkSubnet: "192.168.50.0/24" }, upstreams);
        const ips = plan.registryMirror.mirrors.map((m) => m.cache!.ip);
        expect(ips[0]).toBe("192.168.50.20");
        expect(ips[ips.length - 1]).toBe("192.168.50.31");
        expect(new Set(ips).size).toBe(12);
        const taken = [plan.vbmc.ip, ...Object.values(plan.vips), ...plan.machines.map((m) => m.ip)];
        expect(ips.filter((ip) => taken.includes(ip))).toEqual([]);
    });

    test("deterministic, and names stay unique when two upstreams shorten alike", () => {
        const upstreams = ["ghcr.io", "ghcr.example", "myreg.lan:5000"];
        const a = planRegistryMirror(settings(upstreams), new Address4("10.71.0.0/16"), "capt-x");
        const b = planRegistryMirror(settings(upstreams), new Address4("10.71.0.0/16"), "capt-x");
        expect(a).toEqual(b);
        const shorts = a.mirrors.map((m) => m.short);
        expect(new Set(shorts).size).toBe(3);
        expect(shorts[0]).toMatch(/^ghcr-[0-9a-f]{6}$/);
        // Host labels without the last one, then the port.
        expect(shorts[2]).toBe("myreg-5000");
        for (const m of a.mirrors) {
            expect(m.cache!.containerName).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
        }
    });

    test("planLab plans the same mirror from the config keys (and none with the mirror off)", () => {
        const { plan } = labPlan({ registryMirror: true });
        expect(plan.registryMirror).toEqual(mirrorStack().plan.registryMirror);
        expect(labPlan().plan.registryMirror).toBeUndefined();
    });

    test("keepCache and the image come from config", () => {
        const plan = planRegistryMirror(
            { ...settings(["quay.io"], true), registryMirrorImage: "mirror.lan/registry:3.0.0" },
            new Address4("10.71.0.0/16"),
            "capt-dev",
        );
        expect(plan).toMatchObject({ image: "mirror.lan/registry:3.0.0", keepCache: true });
    });

    test("the planner refuses lists config validation refuses", () => {
        const network = new Address4("10.71.0.0/16");
        const thirteen = Array.from({ length: 13 }, (_, i) => `r${i}.io`);
        expect(() => planRegistryMirror(settings(thirteen), network, "capt-dev")).toThrow(/at most 12/);
        expect(() => planRegistryMirror(settings([]), network, "capt-dev")).toThrow(/at least one/);
        expect(registryMirrorUpstreamsProblem(["quay.io", "quay.io"])).toMatch(/twice/);
        expect(registryMirrorUpstreamsProblem(["https://quay.io"])).toMatch(/not a registry host/);
        expect(registryMirrorUpstreamsProblem(DEFAULT_UPSTREAMS)).toBeUndefined();
    });
});

describe("files", () => {
    test("the registry config: a pull-through cache of its upstream on :5000, storage in the volume", () => {
        const { plan } = mirrorStack();
        const docker = plan.registryMirror.mirrors.find((m) => m.upstream === "docker.io")!;
        expect(parse(registryConfigYaml(docker))).toEqual({
            version: 0.1,
            log: { level: "info", fields: { service: "registry" } },
            storage: { filesystem: { rootdirectory: "/var/lib/registry" }, delete: { enabled: true } },
            http: { addr: ":5000" },
            proxy: { remoteurl: "https://registry-1.docker.io" },
        });
    });

    test("hosts.toml: the mirror over plain HTTP for pull and resolve, the upstream as fallback server", () => {
        const { plan } = mirrorStack();
        expect(hostsToml(plan.registryMirror.mirrors[0])).toBe(
            [
                'server = "https://ghcr.io"',
                "",
                '[host."http://10.71.0.20:5000"]',
                '  capabilities = ["pull", "resolve"]',
                "",
            ].join("\n"),
        );
        expect([...hostsTomlFiles(plan.registryMirror).keys()]).toEqual([
            "ghcr.io/hosts.toml",
            "quay.io/hosts.toml",
            "registry.k8s.io/hosts.toml",
            "docker.io/hosts.toml",
        ]);
        expect(hostsToml(plan.registryMirror.mirrors[3])).toContain('server = "https://registry-1.docker.io"');
    });

    test("the machines get one hosts.toml per upstream under containerd's hosts directory", () => {
        const { plan } = mirrorStack();
        const files = machineHostsFiles(plan.registryMirror);
        expect(files.map((f) => f.path)).toEqual(
            DEFAULT_UPSTREAMS.map((u) => `${CONTAINERD_HOSTS_DIR}/${u}/hosts.toml`),
        );
        expect(files.every((f) => f.owner === "root:root" && f.permissions === "0644")).toBe(true);
    });

    test("render files: each registry config and each hosts.toml", () => {
        const { plan } = mirrorStack();
        expect([...registryMirrorRenderFiles(plan.registryMirror).keys()]).toContain(
            "registry-mirror/registry-k8s/config.yml",
        );
        expect([...registryMirrorRenderFiles(plan.registryMirror).keys()]).toContain(
            "registry-mirror/certs.d/registry.k8s.io/hosts.toml",
        );
    });
});

describe("reference rewrite", () => {
    const { plan } = mirrorStack();
    const mirror = plan.registryMirror;

    test("the registry of a matching reference becomes its mirror's host", () => {
        expect(mirrorReference("ghcr.io/jacobweinstock/virtualbmc:latest", mirror)).toBe(
            "10.71.0.20:5000/jacobweinstock/virtualbmc:latest",
        );
        expect(mirrorReference("docker.io/library/registry:3.0.0@sha256:" + "a".repeat(64), mirror)).toBe(
            `10.71.0.23:5000/library/registry:3.0.0@sha256:${"a".repeat(64)}`,
        );
    });

    test("oci:// is kept", () => {
        expect(mirrorReference("oci://ghcr.io/tinkerbell/charts/tinkerbell", mirror)).toBe(
            "oci://10.71.0.20:5000/tinkerbell/charts/tinkerbell",
        );
    });

    test("the first matching upstream in config order wins", () => {
        const overlapping = planRegistryMirror(
            settings(["ghcr.io", "ghcr.io:443"]),
            new Address4("10.71.0.0/16"),
            "capt-dev",
        );
        expect(mirrorReference("ghcr.io/a/b:1", overlapping)).toBe("10.71.0.20:5000/a/b:1");
        expect(mirrorReference("ghcr.io:443/a/b:1", overlapping)).toBe("10.71.0.21:5000/a/b:1");
        const reordered = planRegistryMirror(settings(["quay.io", "ghcr.io"]), new Address4("10.71.0.0/16"), "c");
        expect(mirrorReference("ghcr.io/a/b:1", reordered)).toBe("10.71.0.21:5000/a/b:1");
    });

    test("non-matching references are untouched, and nothing changes with the mirror off", () => {
        for (const ref of [
            "gcr.io/x/y:1",
            "kindest/node:v1.35.0",
            "ghcr.iox/y:1",
            "registry.k8s.io.evil/x:1",
            "/charts/tinkerbell",
            "oci://example.com/charts/x",
        ]) {
            expect(mirrorReference(ref, mirror)).toBe(ref);
        }
        expect(mirrorReference("ghcr.io/a/b:1", undefined)).toBe("ghcr.io/a/b:1");
    });
});

describe("KinD config", () => {
    test("the mirror off: no mounts and no config_path patch (the default lab's config)", () => {
        const { config, plan } = labPlan();
        const kind = kindClusterConfig(config, plan);
        expect(kind.nodes[0].extraMounts).toBeUndefined();
        expect(kind.containerdConfigPatches).toEqual([CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH]);
        expect(kindConfigYaml(config, plan)).not.toContain("certs.d");
    });

    test("the mirror on: the host's hosts directory read-only at containerd's, and config_path set", () => {
        const { config, plan } = mirrorStack();
        const kind = kindClusterConfig(config, plan);
        expect(kind.nodes).toEqual([
            {
                role: "control-plane",
                image: config.kindNodeImage,
                extraMounts: [
                    { hostPath: `${plan.outputDir}/certs.d`, containerPath: "/etc/containerd/certs.d", readOnly: true },
                ],
            },
        ]);
        expect(kindHostsDir(plan.outputDir)).toBe(`${plan.outputDir}/certs.d`);
        expect(kind.nodes[0].extraMounts![0].hostPath.startsWith("/")).toBe(true);
        expect(kind.containerdConfigPatches).toEqual([
            CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH,
            '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
        ]);
    });
});

describe("Cluster API objects", () => {
    test("the mirror off: no files, kube-vip's ctr pull reads no hosts directory", () => {
        const { config, plan } = labPlan();
        const objects = clusterApiObjects(config, plan, "key");
        expect(specOf(objects, "KubeadmControlPlane").kubeadmConfigSpec.files).toBeUndefined();
        expect(specOf(objects, "KubeadmConfigTemplate").template.spec.files).toBeUndefined();
        expect(kubeVipCommand(config, plan)).not.toContain("--hosts-dir");
    });

    test("the mirror on: hosts.toml files on every machine, no restart, kube-vip pulled through the mirror", () => {
        const { config, plan } = mirrorStack();
        const objects = clusterApiObjects(config, plan, "key");
        const files = machineHostsFiles(plan.registryMirror);
        const kcp = specOf(objects, "KubeadmControlPlane").kubeadmConfigSpec;
        expect(kcp.files).toEqual(files);
        expect(specOf(objects, "KubeadmConfigTemplate").template.spec.files).toEqual(files);
        expect(kcp.preKubeadmCommands).toEqual([kubeVipCommand(config, plan)]);
        expect(kubeVipCommand(config, plan)).toContain(
            `ctr images pull --hosts-dir /etc/containerd/certs.d ghcr.io/kube-vip/kube-vip:${config.kubeVipVersion} && `,
        );
        expect(JSON.stringify(objects)).not.toContain("systemctl restart containerd");
    });
});

describeWithSchemas("upstream schema conformance with the mirror on", () => {
    test("KinD config", () => {
        const { config, plan } = mirrorStack();
        expect(schemaErrors(kindClusterConfig(config, plan))).toEqual([]);
    });

    test.each([
        ["netboot, 1 cp, 1 worker", {}],
        [
            "isoboot, 3 cp, 2 workers, 12 upstreams",
            { bootMode: "isoboot", controlPlanes: 3, workers: 2, hardwareCount: 5 },
        ],
    ])("KubeadmControlPlane and KubeadmConfigTemplate: %s", (_label, raw) => {
        const upstreams =
            "controlPlanes" in raw
                ? Array.from({ length: REGISTRY_MIRROR_MAX_UPSTREAMS }, (_, i) => `r${i}.example.com`)
                : DEFAULT_UPSTREAMS;
        const { config, plan } = mirrorStack(raw, upstreams);
        const objects = clusterApiObjects(config, plan, "ssh-ed25519 AAAA test");
        const checked = objects.filter((o) => ["KubeadmControlPlane", "KubeadmConfigTemplate"].includes(o.kind));
        expect(checked).toHaveLength(2);
        expect(checked.flatMap((o) => schemaErrors(o).map((e) => `${o.kind}: ${e}`))).toEqual([]);
    });

    test("the checker sees the files (a bad field fails)", () => {
        const { config, plan } = mirrorStack();
        const kcp = clusterApiObjects(config, plan, "key").find((o) => o.kind === "KubeadmControlPlane")!;
        const spec = kcp.spec as Spec;
        const bad = {
            ...kcp,
            spec: {
                ...spec,
                kubeadmConfigSpec: {
                    ...spec.kubeadmConfigSpec,
                    files: [{ ...spec.kubeadmConfigSpec.files[0], mode: 1 }],
                },
            },
        };
        expect(schemaErrors(bad)).not.toEqual([]);
    });
});

describe("a user's HTTPS mirror (registryMirrorHost)", () => {
    const raw = { registryMirror: true, registryMirrorHost: "mirror.example.com" };

    test("no caches: every upstream goes to that host over HTTPS", () => {
        const { plan } = labPlan(raw);
        const mirror = plan.registryMirror!;
        expect(mirror.externalHost).toBe("mirror.example.com");
        expect(mirror.mirrors.map((m) => [m.upstream, m.endpoint, m.cache])).toEqual([
            ["ghcr.io", "https://mirror.example.com", undefined],
            ["quay.io", "https://mirror.example.com", undefined],
            ["registry.k8s.io", "https://mirror.example.com", undefined],
            ["docker.io", "https://mirror.example.com", undefined],
        ]);
        expect(hostsToml(mirror.mirrors[0])).toBe(
            'server = "https://ghcr.io"\n\n[host."https://mirror.example.com"]\n  capabilities = ["pull", "resolve"]\n',
        );
        expect(
            [...registryMirrorRenderFiles(mirror).keys()].every((f) => f.startsWith("registry-mirror/certs.d/")),
        ).toBe(true);
    });

    test("the chart, OS image, CaptainOS and virtual BMC references are rewritten as the playground does", () => {
        const { config, plan } = labPlan(raw);
        expect(tinkerbellReleaseArgs(config, plan).chart).toBe("oci://mirror.example.com/tinkerbell/charts/tinkerbell");
        expect(osImageUrl(config, plan)).toBe(
            "mirror.example.com/tinkerbell/cluster-api-provider-tinkerbell/ubuntu:2404-v1.35.2-amd64.gz",
        );
        expect(tinkerbellValues(config, plan).optional).toEqual({
            captainos: { enabled: true, image: "mirror.example.com/tinkerbell/captain/artifacts:v0.0.0-a4be23c" },
            hookos: { enabled: false },
        });
        expect(labReference(config.vbmcImage, plan.registryMirror)).toBe(
            "mirror.example.com/jacobweinstock/virtualbmc:sha-9e669b4",
        );
    });

    test("with the lab's own caches, and with the mirror off, every reference keeps its upstream name", () => {
        for (const { config, plan } of [labPlan({ registryMirror: true }), labPlan()]) {
            expect(tinkerbellReleaseArgs(config, plan).chart).toBe(config.tinkerbellChart);
            expect(osImageUrl(config, plan)).toMatch(/^ghcr\.io\/tinkerbell\//);
            expect(labReference(config.vbmcImage, plan.registryMirror)).toBe(config.vbmcImage);
        }
    });

    test("the workload machines' hosts.toml point at the user's mirror", () => {
        const { plan } = labPlan(raw);
        const files = machineHostsFiles(plan.registryMirror!);
        expect(files.map((f) => f.path)).toContain("/etc/containerd/certs.d/ghcr.io/hosts.toml");
        expect(files.every((f) => f.content.includes('[host."https://mirror.example.com"]'))).toBe(true);
    });
});
