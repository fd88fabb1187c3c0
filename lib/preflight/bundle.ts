/**
 * Preflight: the offline bundle (config offlineBundle) against the plan's bill of materials, before
 * anything is created. Every missing or mismatched artifact is one finding with the command that makes
 * the bundle again. Pure.
 */
import { billOfMaterials } from "../bundle/bill-of-materials";
import { bundleFixCommand, checkBundle } from "../bundle/check";
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { Finding, HostFacts, firstLine, succeeded } from "./facts";

export function checkOfflineBundle(config: LabConfig, plan: LabPlan, facts: HostFacts): Finding[] {
    const check = "bundle";
    const fix = bundleFixCommand(plan.stack, config.offlineBundle);
    const bundle = facts.bundle;
    if (bundle === undefined) {
        return [{ check, status: "ok", message: "not checked: the bundle was not read" }];
    }
    if (!succeeded(bundle.manifest)) {
        return [
            {
                check,
                status: "error",
                message: `no usable bundle at ${bundle.dir} (offlineBundle): ${firstLine(bundle.manifest.error)}${
                    bundle.manifest.error.includes("\n")
                        ? ` ${bundle.manifest.error.split("\n").slice(1).join(" ").trim()}`
                        : ""
                }`,
                fix,
            },
        ];
    }
    const bom = billOfMaterials(config, plan);
    const result = checkBundle(bom, bundle.manifest.value, (file) => bundle.files[file] ?? { kind: "missing" });
    const findings: Finding[] = result.problems.map((problem) => ({
        check,
        status: problem.severity,
        message: `${problem.subject}: ${problem.message}`,
        fix,
    }));
    if (findings.every((finding) => finding.status !== "error")) {
        findings.unshift({
            check,
            status: "ok",
            message: `the bundle at ${bundle.dir} holds ${result.satisfied} of the ${result.needed} artifacts the plan needs${
                result.satisfied < result.needed ? " (the rest are pulled by the machines)" : ""
            }; files are hashed when they are loaded`,
        });
    }
    return findings;
}
