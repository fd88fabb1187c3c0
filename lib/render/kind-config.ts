/**
 * The KinD management cluster's config file (`kind create cluster --config`).
 *
 * Pod and service subnets are set from the plan rather than left to KinD's defaults, so the
 * Tinkerbell chart's trustedProxies is known before the cluster exists (nothing is discovered
 * from the running cluster).
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { toYaml } from "./kube-object";

/** The Kubernetes release where image volumes became beta and enabled by default. */
const IMAGE_VOLUME_DEFAULT_ON = { major: 1, minor: 35 };
/** The first release that knows the ImageVolume feature gate (alpha); older releases reject the gate. */
const IMAGE_VOLUME_INTRODUCED = { major: 1, minor: 31 };

export type KindNode = { role: "control-plane" | "worker"; image: string };

export type KindClusterConfig = {
    kind: "Cluster";
    apiVersion: "kind.x-k8s.io/v1alpha4";
    name: string;
    featureGates?: Record<string, boolean>;
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

export function kindClusterConfig(config: LabConfig, plan: LabPlan): KindClusterConfig {
    const featureGates = imageVolumeFeatureGates(config.kindNodeImage);
    return {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        name: plan.kind.clusterName,
        ...(featureGates ? { featureGates } : {}),
        networking: { podSubnet: plan.kind.podSubnet, serviceSubnet: plan.kind.serviceSubnet },
        nodes: [{ role: "control-plane", image: config.kindNodeImage }],
    };
}

export function kindConfigYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(kindClusterConfig(config, plan));
}
