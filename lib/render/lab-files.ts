/**
 * The Kubernetes-facing files of `npm run render`: KinD config, Tinkerbell chart values,
 * clusterctl config and every manifest the stack applies.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { clusterApiRenderFiles } from "./cluster-api-operator";
import { clusterctlYaml } from "./clusterctl";
import { kindConfigYaml } from "./kind-config";
import { renderManifests } from "./manifests";
import { registryMirrorRenderFiles } from "./registry-mirror";
import { toYaml } from "./kube-object";
import { tinkerbellValuesYaml, workloadTinkerbellValues } from "./tinkerbell-values";

export function renderKubernetesFiles(config: LabConfig, plan: LabPlan, files: Map<string, string>): void {
    // An existing management cluster has no KinD config; an external Tinkerbell has its own values.
    if (plan.modes.management === "kind") {
        files.set("kind-config.yaml", kindConfigYaml(config, plan));
    }
    if (plan.modes.tinkerbell === "local") {
        files.set("tinkerbell-values.yaml", tinkerbellValuesYaml(config, plan));
        if (plan.modes.pivot) {
            files.set("pivot/tinkerbell-values.yaml", toYaml(workloadTinkerbellValues(config, plan)));
        }
    }
    files.set("clusterctl.yaml", clusterctlYaml(config, plan));
    for (const [path, content] of clusterApiRenderFiles(config, plan)) {
        files.set(path, content);
    }
    if (plan.registryMirror) {
        for (const [path, content] of registryMirrorRenderFiles(plan.registryMirror)) {
            files.set(path, content);
        }
    }
    for (const [path, content] of renderManifests(config, plan)) {
        files.set(path, content);
    }
}
