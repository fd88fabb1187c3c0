/**
 * The capt-playground program: validated config -> plan -> preflight -> the lab (components/lab.ts).
 *
 * The preflight's probes are other programs and files: they run while the lab's modules load, and
 * the lab is built only once the host passed (nothing is registered before that).
 *
 * The program touches the host only through resources and the preflight (config `preflight`).
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig, parseLabConfig, projectKeys } from "./lib/config";
import { formatFindings, preflightFailed } from "./lib/preflight";
import { runPreflight } from "./lib/host-facts";
import { LabPlan, planLab } from "./lib/plan";
import { MINIMUM_PULUMI_VERSION, PULUMI_VERSION_RANGE } from "./lib/pulumi-version";

/** `isConfigSecret` is exported by the SDK's runtime but left out of its typings. */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/** Raw stack config -> LabConfig and plan; throws with every problem before any resource exists. */
function readLabConfig(): { config: LabConfig; plan: LabPlan } {
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    const config = parseLabConfig(projectKeys(pulumi.runtime.allConfig()), {
        stack,
        isSecret: (key) => isConfigSecret(`${project}:${key}`),
    });
    return { config, plan: planLab(config, { project, stack, projectDir: __dirname }) };
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
