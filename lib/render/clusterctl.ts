/**
 * clusterctl's config file: where the Tinkerbell infrastructure provider (CAPT) comes from, which
 * manager image tag it runs, and the variables its components template reads.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { externalTinkerbellVariables } from "./external-tinkerbell";
import { toYaml } from "./kube-object";

export const CAPT_RELEASES = "https://github.com/tinkerbell/cluster-api-provider-tinkerbell/releases";

export type ClusterctlConfig = {
    providers: { name: string; url: string; type: "InfrastructureProvider" }[];
    images: Record<string, { tag: string }>;
    /** Variables clusterctl substitutes into provider components; kept here so no env var is needed. */
    TINKERBELL_IP: string;
    /** External Tinkerbell only: the Secret CAPT's Deployment mounts (CAPT's default name, set explicitly). */
    EXTERNAL_TINKERBELL_KUBECONFIG?: string;
};

export function captComponentsUrl(captVersion: string): string {
    return `${CAPT_RELEASES}/${captVersion}/infrastructure-components.yaml`;
}

export function clusterctlConfig(config: LabConfig, plan: LabPlan): ClusterctlConfig {
    return {
        providers: [{ name: "tinkerbell", url: captComponentsUrl(config.captVersion), type: "InfrastructureProvider" }],
        // Pin the manager image to the release whose components are installed.
        images: { "infrastructure-tinkerbell": { tag: config.captVersion } },
        // CAPT's manager reads it only for its default workflow template, which every machine
        // template here overrides; set anyway so the manager never starts with an empty address.
        TINKERBELL_IP: plan.vips.tinkerbell,
        ...(plan.modes.tinkerbell === "external" ? externalTinkerbellVariables() : {}),
    };
}

export function clusterctlYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(clusterctlConfig(config, plan));
}
