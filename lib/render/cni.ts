/** The workload cluster's CNI settings, from the plan. */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { HelmValues } from "./helm-set";
import { API_SERVER_PORT } from "./cluster-api";

export const CILIUM_REPOSITORY = "https://helm.cilium.io";

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
