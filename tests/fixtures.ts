/** Configs and plans shared by the tests: the dev stack and a few variations. */
import * as path from "node:path";
import { LabConfig, RawConfig, parseLabConfig } from "../lib/config";
import { PROJECT_NAME } from "../lib/config-schema";
import { LabPlan, planLab } from "../lib/plan";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** Secret keys (kubeconfigs, BMC password) in fixtures count as set with `--secret`. */
export function labConfig(raw: RawConfig = {}, stack = "dev"): LabConfig {
    return parseLabConfig(raw, { stack, isSecret: () => true });
}

/** A kubeconfig as the config check accepts it (no real credentials). */
export function sampleKubeconfig(server = "https://10.0.0.10:6443"): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: c",
        `    cluster: {server: "${server}", certificate-authority-data: Q0E=}`,
        "users:",
        "  - name: u",
        "    user: {token: fixture-token}",
        "contexts:",
        "  - name: x",
        "    context: {cluster: c, user: u}",
        "current-context: x",
        "",
    ].join("\n");
}

/** Three real machines on 10.71.0.0/16: one control plane (IPMI), one worker (Redfish), one spare. */
export const REAL_MACHINES = [
    {
        name: "rack1-a",
        mac: "0C:C4:7A:00:00:01",
        ip: "10.71.1.10",
        bmc: { address: "10.71.2.10", protocol: "ipmi" },
    },
    {
        name: "rack1-b",
        mac: "0c:c4:7a:00:00:02",
        ip: "10.71.1.11",
        disk: "/dev/nvme0n1",
        bmc: { address: "bmc-b.lab.example", protocol: "redfish", systemName: "System.Embedded.1" },
    },
    { name: "rack1-c", mac: "0c:c4:7a:00:00:03", bmc: { address: "10.71.2.12", port: 6230, protocol: "ipmi" } },
];

/** Raw config of the real-machines mode (with the BMC password it requires). */
export const REAL_MACHINES_CONFIG: RawConfig = { machines: REAL_MACHINES, bmcPassword: "bmc-secret-1" };

export function labPlan(raw: RawConfig = {}, stack = "dev"): { config: LabConfig; plan: LabPlan } {
    const config = labConfig(raw, stack);
    return { config, plan: planLab(config, { project: PROJECT_NAME, stack, projectDir: PROJECT_DIR }) };
}
