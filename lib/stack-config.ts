/**
 * A stack's config and plan read from the project's files, without the Pulumi CLI: Pulumi.yaml's
 * defaults, then Pulumi.<stack>.yaml, then `--set key=value` overrides. What `render`, `doctor` and
 * `status` read, so all three see exactly what `pulumi up` would.
 */
import { LabConfig, parseLabConfig } from "./config";
import { isEncryptedValue } from "./config-formats";
import { LabPlan, planLab } from "./plan";
import { mergeConfig, parseOverride, projectDefaults, readProjectFile, readStackValues } from "./stack-files";

export interface StackConfig {
    config: LabConfig;
    plan: LabPlan;
    /** False when the project has no Pulumi.<stack>.yaml (the defaults were read). */
    stackFileFound: boolean;
}

export function loadStackConfig(projectDir: string, stack: string, overrides: readonly string[] = []): StackConfig {
    const project = readProjectFile(projectDir);
    const stackValues = readStackValues(projectDir, stack);
    const raw = mergeConfig(
        projectDefaults(project),
        stackValues,
        mergeConfig(...overrides.map((assignment) => Object.fromEntries([parseOverride(assignment)]))),
    );
    // A `secure:` value in the stack file is encrypted; that is what makes it secret. Only that exact
    // shape: a plaintext made to look like one (`{value: ...}`, a list, `!!binary`) is not.
    const isSecret = (key: string) => isEncryptedValue(stackValues?.[key]);
    const config = parseLabConfig(raw, { stack, isSecret });
    const plan = planLab(config, { project: project.name ?? "capt-playground", stack, projectDir });
    return { config, plan, stackFileFound: stackValues !== undefined };
}
