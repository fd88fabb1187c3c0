/**
 * The capt-playground program: validated config -> plan -> components, in dependency order.
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig, parseLabConfig, projectKeys } from "./lib/config";
import { LabPlan, planLab, planSummary } from "./lib/plan";

/** `isConfigSecret` is exported by the SDK's runtime but left out of its typings. */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/** Raw stack config -> LabConfig; fails the program with every problem before any resource exists. */
export function readLabConfig(): { config: LabConfig; plan: LabPlan } {
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    const config = parseLabConfig(projectKeys(pulumi.runtime.allConfig()), {
        stack,
        isSecret: (key) => isConfigSecret(`${project}:${key}`),
    });
    return { config, plan: planLab(config, { project, stack, projectDir: __dirname }) };
}

const { plan } = readLabConfig();

export const machines = planSummary(plan).nodes;
export const network = planSummary(plan).network;
export const vips = plan.vips;
