/**
 * The capt-playground program: validated config -> plan -> preflight -> the lab (components/lab.ts).
 *
 * The preflight's probes are other programs and files: they run while the lab's modules load, and
 * the lab is built only once the host passed (nothing is registered before that).
 *
 * The program touches the host only through resources and the preflight (config `preflight`).
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, LabConfig, parseLabConfig, projectKeys } from "./lib/config";
import { STACK_NAME_ALLOWED, isStackName } from "./lib/config-formats";
import { formatFindings, preflightFailed } from "./lib/preflight";
import { runPreflight } from "./lib/host-facts";
import { outputDirLocationProblem } from "./lib/host-paths";
import { LabPlan, planLab } from "./lib/plan";
import { MINIMUM_PULUMI_VERSION, PULUMI_VERSION_RANGE } from "./lib/pulumi-version";

/** `isConfigSecret` is exported by the SDK's runtime but left out of its typings. */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/**
 * Raw stack config -> LabConfig and plan; throws with every problem before any resource exists. The
 * output directory is judged where it really is (a symbolic link on the way resolved), not only by
 * its spelling, since the lab's scripts write and delete there.
 */
function readLabConfig(): { config: LabConfig; plan: LabPlan } {
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    if (!isStackName(stack)) {
        // Pulumi allows `.` and `..`; the lab's names and its output folder (.lab/<stack>) do not.
        throw new Error(`the stack name ${JSON.stringify(stack)} cannot name a lab: expected ${STACK_NAME_ALLOWED}`);
    }
    const config = parseLabConfig(projectKeys(pulumi.runtime.allConfig()), {
        stack,
        isSecret: (key) => isConfigSecret(`${project}:${key}`),
    });
    const plan = planLab(config, { project, stack, projectDir: __dirname });
    const outputDirProblem = outputDirLocationProblem(config.outputDir, plan.outputDir, __dirname);
    if (outputDirProblem) {
        throw new ConfigError([{ key: "outputDir", message: outputDirProblem }]);
    }
    return { config, plan };
}

async function checkHost(config: LabConfig, plan: LabPlan): Promise<void> {
    const findings = await runPreflight(config, plan);
    const report = formatFindings(findings);
    if (preflightFailed(findings)) {
        throw new Error(`the host is not ready for this lab (set preflight: false to skip):\n${report}`);
    }
    pulumi.log.info(report);
}

/** Stops an engine older than the lab supports before anything is registered, saying what to do. */
async function requireSupportedEngine(): Promise<void> {
    try {
        await pulumi.requirePulumiVersion(PULUMI_VERSION_RANGE);
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(
            `this lab needs Pulumi CLI v${MINIMUM_PULUMI_VERSION} or newer (${reason}); ` +
                "`npm run up` runs the pinned CLI, or upgrade the pulumi on your PATH",
            { cause: error },
        );
    }
}

export = async () => {
    await requireSupportedEngine();
    const { config, plan } = readLabConfig();
    // The probes start here (child processes) and run while the lab's modules load; the lab is
    // built only after the host passed. Promise.all also settles whichever of the two fails second.
    const [lab] = await Promise.all([
        import("./components/lab"),
        config.preflight ? checkHost(config, plan) : undefined,
    ]);
    // `domainType: auto` is resolved by the Domain provider when it creates a domain, against that
    // domain's libvirt URI, so the resources are the same whether or not the preflight ran.
    return lab.createLab(config, plan);
};
