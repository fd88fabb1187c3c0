/**
 * Everything `npm run render` writes, as relative path -> file content. Pure: the CLI decides
 * where (and whether) to write; tests compare these strings directly.
 */
import { LabConfig } from "../config";
import { addDomainXmlFiles } from "../libvirt/render";
import { LabPlan, planSummary } from "../plan";
import { renderKubernetesFiles } from "./lab-files";

export type RenderedFiles = Map<string, string>;

/** `kvmUsable` resolves `domainType: auto` the way `pulumi up` would on this host. */
export function renderLabFiles(config: LabConfig, plan: LabPlan, kvmUsable = true): RenderedFiles {
    const files: RenderedFiles = new Map();
    files.set("plan.json", `${JSON.stringify(planSummary(plan), null, 2)}\n`);
    addDomainXmlFiles(files, config, plan, kvmUsable);
    renderKubernetesFiles(config, plan, files);
    return files;
}
