/**
 * e2e harness program: reads the stack config with the project's own config parser and planner
 * (lib/config.ts, lib/plan.ts — the same keys and defaults as the real program) and instantiates the
 * real `Machines` component, nothing re-implemented. Only the libvirt part of the lab runs here,
 * because the other provider plugins cannot be obtained on the test machines; `preflight` is read
 * and validated but not run (it checks docker, kind and clusterctl, which this program never uses).
 */
import * as pulumi from "@pulumi/pulumi";
import { Machines } from "../../../components/machines";
import { parseLabConfig, projectKeys } from "../../../lib/config";
import { planLab, planSummary } from "../../../lib/plan";

/** `isConfigSecret` is exported by the SDK's runtime but left out of its typings (as in index.ts). */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

const project = pulumi.getProject();
const stack = pulumi.getStack();
const config = parseLabConfig(projectKeys(pulumi.runtime.allConfig()), {
    stack,
    isSecret: (key) => isConfigSecret(`${project}:${key}`),
});
const plan = planLab(config, { project, stack, projectDir: __dirname });
const lab = new Machines("machines", { config, plan });

const summary = planSummary(plan);
/** The machine table, in the shape the real program exports it. */
export const machines = summary.nodes.map((node) => ({ ...node, bmc: `${plan.vbmc.ip}:${node.bmcPort}` }));
export const libvirt = { ...summary.libvirt, bridge: summary.network.bridge };
export const poolName = lab.pool.name;
export const domainTypes = pulumi.all([...lab.domains.values()].map((d) => d.resolvedType));
