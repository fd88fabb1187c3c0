/**
 * Preflight: can this host run the lab? Pure: judges facts that lib/host-facts.ts gathered (or a
 * test made up), so every verdict is testable without docker, libvirt or root.
 *
 * Every finding names what was looked at, what was found and, when something is wrong, the exact
 * command or setting that fixes it. `error` means `pulumi up` would fail or produce a broken lab;
 * `warning` means the lab works but slowly, partly, or only with luck.
 *
 * The checks live in one module per subject (tools, clusters, bmc, libvirt, forwarding, network,
 * resources); this module picks the ones the lab's modes call for and formats what they found.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { checkBmcs } from "./bmc";
import { checkOfflineBundle } from "./bundle";
import { checkCgroup } from "./cgroup";
import { checkRegistryMirror } from "./mirror";
import { checkManagementApi, checkTinkerbellApi } from "./clusters";
import { Finding, FindingStatus, HostFacts } from "./facts";
import { checkForwarding } from "./forwarding";
import { checkFirmware, checkKvm, checkLibvirt, checkQemuAarch64 } from "./libvirt";
import { checkDockerDns, checkSubnet } from "./network";
import { checkCpu, checkDisk, checkMemory } from "./resources";
import { checkClusterctl, checkDocker, checkKind, checkKubectl, dockerUses } from "./tools";

export * from "./facts";
export { compareVersions, parseVersion } from "../version";
export { domainCapabilitiesOfferEfi } from "./libvirt";
export { parseIptablesRules } from "./forwarding";
export { memoryNeeded } from "./resources";

/**
 * The checks the lab's modes (plan.modes) call for: docker only when the lab runs containers (KinD,
 * the virtual BMC, the registry mirror); kind, the lab network and KinD's DNS only when it creates
 * KinD (and the host's cgroup version, which KinD's kubelet runs in); an offline bundle against the
 * plan; the cluster APIs of managementKubeconfig and tinkerbellKubeconfig when set; libvirt,
 * firmware, KVM, CPU and disk only for VMs; the BMCs of real machines.
 */
export function evaluatePreflight(config: LabConfig, plan: LabPlan, facts: HostFacts): Finding[] {
    const modes = plan.modes;
    const kind = modes.management === "kind";
    const vms = modes.machines === "vms";
    const docker = dockerUses(modes);
    return [
        ...(docker.length > 0 ? [checkDocker(facts, docker)] : []),
        ...(kind ? [checkDockerDns(facts), checkKind(facts), checkCgroup(facts)] : []),
        ...(config.offlineBundle ? checkOfflineBundle(config, plan, facts) : []),
        ...(modes.registryMirror ? [checkRegistryMirror(config, plan)] : []),
        ...checkClusterctl(config, modes, facts),
        ...checkKubectl(config, modes, facts),
        ...(modes.management === "existing" ? [checkManagementApi(config, modes, facts)] : []),
        ...(modes.tinkerbell === "external" ? [checkTinkerbellApi(config, facts)] : []),
        ...(vms
            ? [
                  checkLibvirt(config, facts),
                  ...(modes.arch === "aarch64" ? [checkQemuAarch64(config, facts)] : []),
                  checkFirmware(config, facts),
                  checkKvm(config, facts),
              ]
            : []),
        ...(kind ? [checkForwarding(plan, facts), ...checkSubnet(plan, modes, facts)] : []),
        ...(vms ? [] : checkBmcs(modes, facts)),
        ...(vms ? [checkCpu(config, facts)] : []),
        ...(kind || vms ? [checkMemory(config, plan, modes, facts)] : []),
        ...(vms ? [checkDisk(config, plan, facts)] : []),
    ];
}

export function preflightFailed(findings: Finding[]): boolean {
    return findings.some((finding) => finding.status === "error");
}

const STATUS_LABEL: Record<FindingStatus, string> = { ok: "ok", warning: "WARN", error: "ERROR" };

/** One line per finding, `fix:` indented below it, and a closing count. */
export function formatFindings(findings: Finding[]): string {
    const checkWidth = Math.max(0, ...findings.map((f) => f.check.length));
    const lines: string[] = [];
    for (const finding of findings) {
        lines.push(`${STATUS_LABEL[finding.status].padEnd(5)} ${finding.check.padEnd(checkWidth)}  ${finding.message}`);
        if (finding.fix) {
            lines.push(`${" ".repeat(6 + checkWidth + 2)}fix: ${finding.fix}`);
        }
    }
    const errors = findings.filter((f) => f.status === "error").length;
    const warnings = findings.filter((f) => f.status === "warning").length;
    lines.push(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
    return `${lines.join("\n")}\n`;
}
