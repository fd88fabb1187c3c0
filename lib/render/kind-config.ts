/**
 * The KinD management cluster's config file (`kind create cluster --config`).
 *
 * Pod and service subnets are set from the plan rather than left to KinD's defaults, so the
 * Tinkerbell chart's trustedProxies is known before the cluster exists (nothing is discovered
 * from the running cluster).
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { withoutDigest } from "../bundle/image-ref";
import { toYaml } from "./kube-object";
import { isOffline } from "./offline";
import { CONTAINERD_HOSTS_DIR, KIND_CONTAINERD_CONFIG_PATH_PATCH, kindHostsDir } from "./registry-mirror";

/** The Kubernetes release where image volumes became beta and enabled by default. */
const IMAGE_VOLUME_DEFAULT_ON = { major: 1, minor: 35 };
/** The first release that knows the ImageVolume feature gate (alpha); older releases reject the gate. */
const IMAGE_VOLUME_INTRODUCED = { major: 1, minor: 31 };

export type KindMount = { hostPath: string; containerPath: string; readOnly?: boolean };

export type KindNode = { role: "control-plane" | "worker"; image: string; extraMounts?: KindMount[] };

export type KindClusterConfig = {
    kind: "Cluster";
    apiVersion: "kind.x-k8s.io/v1alpha4";
    name: string;
    featureGates?: Record<string, boolean>;
    containerdConfigPatches?: string[];
    kubeadmConfigPatches?: string[];
    networking: { podSubnet: string; serviceSubnet: string };
    nodes: KindNode[];
};

/**
 * The Kubernetes version in a node image's tag (`kindest/node:v1.35.0@sha256:...` -> 1.35), or
 * undefined when the tag does not say (a custom build or a digest-only reference).
 */
export function nodeImageKubernetesVersion(image: string): { major: number; minor: number } | undefined {
    const withoutDigest = image.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    if (colon < 0) {
        return undefined;
    }
    const match = /^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$/.exec(withoutDigest.slice(colon + 1));
    return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

function olderThan(version: { major: number; minor: number }, than: { major: number; minor: number }): boolean {
    return version.major < than.major || (version.major === than.major && version.minor < than.minor);
}

/**
 * Feature gates the node image needs for the chart's CaptainOS image volume:
 *  - >= 1.35, or a tag without a version: none (image volumes are on by default; an unversioned
 *    tag is assumed current rather than guessed at, because a gate unknown to the release would
 *    stop the API server from starting);
 *  - 1.31 .. 1.34: ImageVolume=true (the gate exists but is off by default);
 *  - < 1.31: an error, since no setting gives those releases image volumes.
 */
export function imageVolumeFeatureGates(kindNodeImage: string): Record<string, boolean> | undefined {
    const version = nodeImageKubernetesVersion(kindNodeImage);
    if (!version || !olderThan(version, IMAGE_VOLUME_DEFAULT_ON)) {
        return undefined;
    }
    if (olderThan(version, IMAGE_VOLUME_INTRODUCED)) {
        throw new Error(
            `kindNodeImage ${kindNodeImage} runs Kubernetes ${version.major}.${version.minor}, which has no image volumes; ` +
                "the Tinkerbell chart mounts the CaptainOS artifacts as an image volume, so use a node image of Kubernetes 1.31 or newer (1.35+ recommended)",
        );
    }
    return { ImageVolume: true };
}

/**
 * The node image as kind is given it. Offline the image is loaded from the bundle (docker load), which
 * restores its name but no registry digest, and kind would try to pull a `name@digest` docker cannot
 * find: so the digest is dropped here, and kept as a check instead (the preflight requires the
 * bundle's image to carry it, the load verifies the image id the bundle records).
 */
export function kindNodeImageName(config: Pick<LabConfig, "kindNodeImage" | "offlineBundle">): string {
    return isOffline(config) ? withoutDigest(config.kindNodeImage) : config.kindNodeImage;
}

/**
 * With the registry mirror on, the node mounts the stack's hosts.toml directory (written on the
 * host before `kind create`) where containerd reads registry hosts, and containerd is told to read
 * it: node images of older kind releases ship containerd 1.7 - 2.1, which have no default
 * config_path (kind site/content/docs/user/private-registries.md uses the same patch). The
 * directory is mounted whole, so hosts.toml files rewritten later are seen without a restart.
 */
export function kindClusterConfig(config: LabConfig, plan: LabPlan): KindClusterConfig {
    const featureGates = imageVolumeFeatureGates(config.kindNodeImage);
    const mirrorOn = plan.registryMirror !== undefined;
    const node: KindNode = { role: "control-plane", image: kindNodeImageName(config) };
    if (mirrorOn) {
        node.extraMounts = [
            { hostPath: kindHostsDir(plan.outputDir), containerPath: CONTAINERD_HOSTS_DIR, readOnly: true },
        ];
    }
    return {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        name: plan.kind.clusterName,
        ...(featureGates ? { featureGates } : {}),
        containerdConfigPatches: [
            CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH,
            ...(mirrorOn ? [KIND_CONTAINERD_CONFIG_PATH_PATCH] : []),
        ],
        kubeadmConfigPatches: [KUBELET_CGROUP_V1_PATCH],
        networking: { podSubnet: plan.kind.podSubnet, serviceSubnet: plan.kind.serviceSubnet },
        nodes: [node],
    };
}

/**
 * Lets the kubelet run on a cgroup v1 host (older distributions, and some CI machines). From Kubernetes
 * 1.35 the kubelet refuses cgroup v1 unless its configuration says `failCgroupV1: false`
 * (pkg/kubelet/kubelet.go checks `FailCgroupV1 && !IsCgroup2UnifiedMode()`, and the v1beta1 default
 * turned true in 1.35): false changes nothing on a cgroup v2 host, where the check never fails, and
 * every node image the lab accepts (Kubernetes >= 1.31, imageVolumeFeatureGates) knows the field. So
 * the KinD config carries it on every host: rendered alike everywhere, no probe of the host.
 */
export const KUBELET_CGROUP_V1_PATCH = "kind: KubeletConfiguration\nfailCgroupV1: false\n";

/**
 * Lets runc start pods where the node container lacks CAP_SYS_RESOURCE (seen on cgroup v1 hosts here,
 * even with --privileged: runc then cannot lower a pod's oom_score_adj and every sandbox fails with
 * "can't get final child's PID from pipe: EOF"). With `restrict_oom_score_adj`, containerd's CRI never
 * asks for a score below its own (internal/cri/server: restrictOOMScoreAdj raises a lower request to
 * containerd's current value): kind's containerd runs at -999 (its containerd.service), so only a request
 * below -999 would change, which the kubelet never makes (its lowest is -998 for critical pods), and
 * kind sets the same for rootless nodes (images/base entrypoint). The node image's config.toml is
 * version 2 (kind images/base/files/etc/containerd/config.toml), hence the v2 plugin name, which
 * containerd 2 migrates.
 */
export const CONTAINERD_RESTRICT_OOM_SCORE_ADJ_PATCH =
    '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n';

export function kindConfigYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(kindClusterConfig(config, plan));
}
