/**
 * Preflight: real machines' BMCs. Pure.
 */
import { LabModes } from "../plan";
import { Finding, firstLine, HostFacts, succeeded } from "./facts";

// Real machines

/**
 * Each real machine's BMC from this host: a warning only, since Rufio reaches it from its cluster,
 * not from here. Redfish is HTTPS (TCP); IPMI runs over UDP, where no answer proves nothing.
 */
export function checkBmcs(modes: LabModes, facts: HostFacts): Finding[] {
    const check = "bmc";
    if (facts.bmcReachability === undefined) {
        return [{ check, status: "ok", message: "not checked: the machines' BMCs were not probed" }];
    }
    const rufio = modes.tinkerbell === "external" ? "the Tinkerbell cluster" : "the management cluster";
    return facts.bmcReachability.map((bmc): Finding => {
        const key = `machines[${bmc.index}].bmc`;
        const label = `${bmc.name} (${key}):`;
        const where = `${bmc.address}:${bmc.port}`;
        if (bmc.tcp === undefined) {
            return {
                check,
                status: "ok",
                message: `${label} ${bmc.protocol} BMC at ${where} not checked (IPMI runs over UDP)`,
            };
        }
        if (succeeded(bmc.tcp)) {
            return {
                check,
                status: "ok",
                message: `${label} the ${bmc.protocol} BMC at ${where} accepts connections from this host`,
            };
        }
        return {
            check,
            status: "warning",
            message: `${label} the ${bmc.protocol} BMC at ${where} does not accept connections from this host: ${firstLine(bmc.tcp.error)}`,
            fix: `check ${key}.address and ${key}.port, and that the BMC network is reachable; Rufio in ${rufio} must reach it`,
        };
    });
}
