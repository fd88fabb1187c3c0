/**
 * The Kubernetes-facing files of `npm run render`: KinD config, Tinkerbell chart values,
 * clusterctl config and every manifest the stack applies.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { clusterctlYaml } from "./clusterctl";
import { kindConfigYaml } from "./kind-config";
import { renderManifests } from "./manifests";
import { tinkerbellValuesYaml } from "./tinkerbell-values";

export function renderKubernetesFiles(config: LabConfig, plan: LabPlan, files: Map<string, string>): void {
    files.set("kind-config.yaml", kindConfigYaml(config, plan));
    files.set("tinkerbell-values.yaml", tinkerbellValuesYaml(config, plan));
    files.set("clusterctl.yaml", clusterctlYaml(config, plan));
    for (const [path, content] of renderManifests(config, plan)) {
        files.set(path, content);
    }
}
