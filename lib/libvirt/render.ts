/** The domain XML files `npm run render` writes: exactly what the Domain resources define. */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { buildDomainXml, domainSpecFor } from "./domain-xml";

export function domainXmlPath(machineName: string): string {
    return `domains/${machineName}.xml`;
}

/**
 * Adds `domains/<machine>.xml` for every planned machine to a render file map. `kvmUsable` resolves
 * `domainType: auto` as the Domain provider does when it creates a domain on that host (an existing
 * domain keeps the type recorded at its creation).
 */
export function addDomainXmlFiles(
    files: Map<string, string>,
    config: LabConfig,
    plan: LabPlan,
    kvmUsable = true,
): void {
    if (plan.modes.machines === "real") {
        return;
    }
    for (const machine of plan.machines) {
        files.set(domainXmlPath(machine.name), buildDomainXml(domainSpecFor(config, plan, machine), kvmUsable));
    }
}
