/** The workload cluster's CNI settings, from the plan. */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { HelmValues } from "./helm-set";
import { API_SERVER_PORT } from "./cluster-api";

export const CILIUM_REPOSITORY = "https://helm.cilium.io";
export const CILIUM_CHART = "cilium";

/**
 * cilium-envoy's tag per Cilium chart version (the chart's `envoy.image.tag`; the envoy DaemonSet is
 * on by default since 1.16). 1.17.3, the default ciliumVersion: v1.32.5-1744305768-f9ddca7dc…, as
 * Cilium 1.17.3 installations report it (`cilium status`) and image lists pinned to 1.17.3 name it.
 */
export const CILIUM_ENVOY_TAGS: Readonly<Record<string, string>> = {
    "1.17.3": "v1.32.5-1744305768-f9ddca7dcd91f7ca25a505560e655c47d3dec2cf",
};

/**
 * The images the Cilium chart runs with the lab's values: the agent and the generic operator, tagged
 * v<chart version> by Cilium's release process, and cilium-envoy where its tag is known (above). The
 * chart pins each by digest as well; the workload machines pull them, not the lab.
 */
export function ciliumImages(ciliumVersion: string): string[] {
    const envoy = Object.hasOwn(CILIUM_ENVOY_TAGS, ciliumVersion) ? CILIUM_ENVOY_TAGS[ciliumVersion] : undefined;
    return [
        `quay.io/cilium/cilium:v${ciliumVersion}`,
        `quay.io/cilium/operator-generic:v${ciliumVersion}`,
        ...(envoy ? [`quay.io/cilium/cilium-envoy:${envoy}`] : []),
    ];
}

/** The default kubeRouterManifest (v2.11.1's daemonset/kubeadm-kuberouter.yaml) and the images it names. */
export const KUBE_ROUTER_MANIFEST_IMAGES: Readonly<Record<string, readonly string[]>> = {
    "https://raw.githubusercontent.com/cloudnativelabs/kube-router/v2.11.1/daemonset/kubeadm-kuberouter.yaml": [
        // Untagged (latest) with imagePullPolicy Always, in the DaemonSet and its init container.
        "docker.io/cloudnativelabs/kube-router",
    ],
};

/**
 * Cilium takes node pod ranges from Kubernetes (kubeadm hands the Cluster's pod CIDR to the
 * controller manager), instead of its default 10.0.0.0/8 pool, which could overlap the lab
 * network. It talks to the API server through the control-plane VIP.
 */
export function ciliumValues(_config: LabConfig, plan: LabPlan): HelmValues {
    return {
        ipam: { mode: "kubernetes" },
        k8sServiceHost: plan.vips.controlPlane,
        k8sServicePort: API_SERVER_PORT,
        operator: { replicas: 1 },
    };
}
