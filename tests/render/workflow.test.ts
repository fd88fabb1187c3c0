/**
 * The workflow each machine template carries: it parses, holds the expected actions per boot
 * mode, and stays valid YAML once CAPT has filled in its Go template expressions.
 */
import { parse } from "yaml";
import { labPlan } from "../fixtures";
import { KubeObject } from "../../lib/render/kube-object";
import { ACTION_IMAGES, WorkflowTemplate } from "../../lib/render/workflow";
import { renderedObjects } from "./support";

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const templateSpec = (tmt: KubeObject) => (tmt.spec as Loose).template.spec;

function templates(raw: Record<string, unknown>) {
    const { config, plan } = labPlan(raw);
    const tmts = renderedObjects(config, plan).filter((o: KubeObject) => o.kind === "TinkerbellMachineTemplate");
    const texts = tmts.map((t) => templateSpec(t).templateOverride as string);
    return { config, plan, tmts, texts };
}

const env = (workflow: WorkflowTemplate, action: string) =>
    workflow.tasks[0].actions.find((a) => a.name === action)!.environment;

/**
 * Roughly what CAPT does: evaluate `{{ ... }}` against one machine. Enough to prove the text is
 * still YAML afterwards; the expressions themselves are CAPT's.
 */
function fillTemplate(text: string, machine: { mac: string; ip: string }, gateway: string): string {
    const values: [RegExp, string][] = [
        [/\{\{\.device_1\}\}/g, machine.mac],
        [/\{\{ formatPartition \( index \.Hardware\.Disks 0 \) (\d) \}\}/g, "/dev/vda$1"],
        [/\{\{ index \.Hardware\.Disks 0 \}\}/g, "/dev/vda"],
        [/\{\{ \(index \.Hardware\.Interfaces 0\)\.DHCP\.MAC \}\}/g, machine.mac],
        [/\{\{ \(index \.Hardware\.Interfaces 0\)\.DHCP\.IP\.Address \}\}/g, machine.ip],
        [/\{\{ \(index \.Hardware\.Interfaces 0\)\.DHCP\.IP\.Gateway \}\}/g, gateway],
    ];
    const filled = values.reduce((t, [pattern, value]) => t.replace(pattern, value), text);
    expect(filled).not.toContain("{{");
    return filled;
}

const COMMON_START = ["stream image", "add tink cloud-init config"];
const COMMON_END = ["add tink cloud-init ds-config", "kexec image"];
const ISOBOOT_ONLY = ["disable cloud-init networking", "create static netplan"];

describe.each(["netboot", "isoboot"] as const)("%s", (bootMode) => {
    const { config, plan, tmts, texts } = templates({ bootMode, networkSubnet: "192.168.50.0/24", hardwareCount: 3 });
    const workflow = parse(texts[0]) as WorkflowTemplate;

    test("every machine template carries the same workflow and the boot options of the mode", () => {
        expect(tmts).toHaveLength(2);
        expect(new Set(texts).size).toBe(1);
        const bootOptions = templateSpec(tmts[0]).bootOptions;
        expect(bootOptions).toEqual(
            bootMode === "isoboot"
                ? { bootMode, isoURL: `http://${plan.vips.tinkerbell}:7080/iso/hook.iso` }
                : { bootMode },
        );
    });

    test("the actions, in order, with their images", () => {
        const actions = workflow.tasks[0].actions;
        const expected = [...COMMON_START, ...(bootMode === "isoboot" ? ISOBOOT_ONLY : []), ...COMMON_END];
        expect(actions.map((a) => a.name)).toEqual(expected);
        expect(actions.map((a) => a.image)).toEqual(
            expected.map((name) =>
                name === "stream image"
                    ? ACTION_IMAGES.oci2disk
                    : name === "kexec image"
                      ? ACTION_IMAGES.waitdaemon
                      : ACTION_IMAGES.writefile,
            ),
        );
        expect(workflow.tasks[0].worker).toBe("{{.device_1}}");
    });

    test("streams the configured OS image and points cloud-init at Tinkerbell's metadata service", () => {
        expect(env(workflow, "stream image").IMG_URL).toBe(
            `${config.osImageRegistry}:${config.osVersion}-${config.kubernetesVersion}-amd64.gz`,
        );
        const cloudInit = parse(env(workflow, "add tink cloud-init config").CONTENTS);
        expect(cloudInit.datasource.Ec2.metadata_urls).toEqual([`http://${plan.vips.tinkerbell}:7080`]);
        expect(env(workflow, "kexec image").IMAGE).toBe(ACTION_IMAGES.kexec);
    });

    test("every environment value is a string, as the actions read them", () => {
        for (const action of workflow.tasks[0].actions) {
            for (const value of Object.values(action.environment)) {
                expect(typeof value).toBe("string");
            }
        }
    });

    test("after CAPT fills in a machine, the workflow (and the netplan) is still YAML", () => {
        const machine = plan.machines[0];
        const filled = parse(fillTemplate(texts[0], machine, plan.network.gateway)) as WorkflowTemplate;
        expect(filled.tasks[0].worker).toBe(machine.mac);
        expect(env(filled, "stream image").DEST_DISK).toBe("/dev/vda");
        expect(env(filled, "kexec image").BLOCK_DEVICE).toBe("/dev/vda1");
        if (bootMode === "isoboot") {
            const netplan = parse(env(filled, "create static netplan").CONTENTS).network.ethernets.id0;
            expect(netplan.match.macaddress).toBe(machine.mac);
            expect(netplan.addresses).toEqual([`${machine.ip}/24`]);
            expect(netplan.routes).toEqual([{ to: "default", via: plan.network.gateway }]);
            expect(netplan.nameservers.addresses).toEqual(config.nameServers);
        }
    });
});

test("the static netplan's prefix is the lab subnet's, not a fixed /16", () => {
    for (const [networkSubnet, prefix] of [
        ["10.71.0.0/16", 16],
        ["172.20.8.0/22", 22],
        ["192.168.50.0/24", 24],
    ] as const) {
        const { texts } = templates({ bootMode: "isoboot", networkSubnet });
        const netplan = parse(env(parse(texts[0]), "create static netplan").CONTENTS);
        expect(netplan.network.ethernets.id0.addresses).toEqual([
            `{{ (index .Hardware.Interfaces 0).DHCP.IP.Address }}/${prefix}`,
        ]);
    }
});
