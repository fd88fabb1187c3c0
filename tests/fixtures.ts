/** Configs and plans shared by the tests: the dev stack and a few variations. */
import * as path from "node:path";
import { LabConfig, RawConfig, parseLabConfig } from "../lib/config";
import { PROJECT_NAME } from "../lib/config-schema";
import { LabPlan, planLab } from "../lib/plan";

export const PROJECT_DIR = path.resolve(__dirname, "..");

export function labConfig(raw: RawConfig = {}, stack = "dev"): LabConfig {
    return parseLabConfig(raw, { stack });
}

export function labPlan(raw: RawConfig = {}, stack = "dev"): { config: LabConfig; plan: LabPlan } {
    const config = labConfig(raw, stack);
    return { config, plan: planLab(config, { project: PROJECT_NAME, stack, projectDir: PROJECT_DIR }) };
}
