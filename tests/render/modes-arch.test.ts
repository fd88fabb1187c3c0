/**
 * machineArch: the names that change with the machines' architecture (Hardware dhcp.arch, the OS
 * image tag, the CaptainOS ISO, the root partition the workflow writes to), every rendered object
 * still conformant, and the x86_64 default exactly as before.
 */
import { parse } from "yaml";
import { REAL_MACHINES_CONFIG, labPlan } from "../fixtures";
import { KubeObject, objectId } from "../../lib/render/kube-object";
import { ESP_PARTITION, OS_IMAGE_ARCH, ROOT_PARTITION, osieArch } from "../../lib/render/arch";
import { tinkerbellValues } from "../../lib/render/tinkerbell-values";
import { WorkflowTemplate, provisioningWorkflow } from "../../lib/render/workflow";
import { describeWithSchemas, renderedObjects, schemaErrors } from "./support";

type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const KERNEL = "6.19.7";

function lab(machineArch: "x86_64" | "aarch64", raw: Record<string, unknown> = {}) {
    const { config, plan } = labPlan({ machineArch, captainosKernelVersion: KERNEL, ...raw });
    return { config, plan, objects: renderedObjects(config, plan) };
}

const ofKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);

function actionEnv(workflow: WorkflowTemplate, action: string): Record<string, string> {
    return workflow.tasks[0].actions.find((a) => a.name === action)!.environment;
}

/** The partition numbers the workflow's actions address, by action name. */
function partitions(workflow: WorkflowTemplate): Record<string, number> {
    const found: Record<string, number> = {};
    for (const action of workflow.tasks[0].actions) {
        const device = action.environment.DEST_DISK ?? action.environment.BLOCK_DEVICE;
        const match = /formatPartition \( index \.Hardware\.Disks 0 \) (\d+) \}\}$/.exec(device ?? "");
        if (match) {
            found[action.name] = Number(match[1]);
        }
    }
    return found;
}

/** The workflow text every TinkerbellMachineTemplate carries, parsed. */
function templateWorkflows(objects: KubeObject[]): WorkflowTemplate[] {
    return ofKind(objects, "TinkerbellMachineTemplate").map(
        (t) => parse((t.spec as Loose).template.spec.templateOverride) as WorkflowTemplate,
    );
}

describe("names per architecture", () => {
    test("kernel names for Hardware and CaptainOS, Go names for CAPT's image tags", () => {
        expect([osieArch("x86_64"), osieArch("aarch64")]).toEqual(["x86_64", "aarch64"]);
        expect(OS_IMAGE_ARCH).toEqual({ x86_64: "amd64", aarch64: "arm64" });
    });

    test("CAPT's images: root on p3 behind the amd64 BIOS boot partition, p2 on the EFI-only arm64 image", () => {
        expect(ROOT_PARTITION).toEqual({ x86_64: 3, aarch64: 2 });
        expect(ESP_PARTITION).toBe(1);
    });
});

describe.each(["netboot", "isoboot"] as const)("aarch64, %s", (bootMode) => {
    const { config, plan, objects } = lab("aarch64", { bootMode });

    test("every Hardware asks Smee for aarch64 artifacts", () => {
        const hardware = ofKind(objects, "Hardware");
        expect(hardware).toHaveLength(plan.machines.length);
        for (const hw of hardware) {
            expect((hw.spec as Loose).interfaces.map((i: Loose) => i.dhcp.arch)).toEqual(["aarch64"]);
        }
    });

    test("the workflow streams the arm64 image and writes to its root on p2; the ESP stays p1", () => {
        const workflow = provisioningWorkflow(config, plan);
        expect(actionEnv(workflow, "stream image").IMG_URL).toBe(
            `${config.osImageRegistry}:${config.osVersion}-${config.kubernetesVersion}-arm64.gz`,
        );
        const expected: Record<string, number> = {
            "add tink cloud-init config": 2,
            "add tink cloud-init ds-config": 2,
            "kexec image": 1,
            ...(bootMode === "isoboot" ? { "disable cloud-init networking": 2, "create static netplan": 2 } : {}),
        };
        expect(partitions(workflow)).toEqual(expected);
        // What the machine templates carry is that workflow.
        for (const carried of templateWorkflows(objects)) {
            expect(carried).toEqual(workflow);
        }
    });

    test("isoboot patches CaptainOS's aarch64 ISO; netboot leaves the arch suffix to Smee", () => {
        const smee = (tinkerbellValues(config, plan) as Loose).deployment.envs.smee;
        if (bootMode === "isoboot") {
            expect(smee.isoUpstreamURL).toBe(`http://${plan.vips.artifacts}:7173/captainos-${KERNEL}-aarch64.iso`);
        } else {
            expect(smee).toEqual({
                ipxeHttpScriptKernelName: `vmlinuz-${KERNEL}`,
                ipxeHttpScriptInitrdName: `initramfs-${KERNEL}`,
            });
        }
    });
});

describe.each(["netboot", "isoboot"] as const)("x86_64 (the default), %s: as before", (bootMode) => {
    const { config, plan, objects } = lab("x86_64", { bootMode });

    test("x86_64 Hardware, the amd64 image with root on p3, the x86_64 ISO", () => {
        expect(labPlan({}).config.machineArch).toBe("x86_64");
        for (const hw of ofKind(objects, "Hardware")) {
            expect((hw.spec as Loose).interfaces[0].dhcp.arch).toBe("x86_64");
        }
        const workflow = provisioningWorkflow(config, plan);
        expect(actionEnv(workflow, "stream image").IMG_URL).toMatch(/-amd64\.gz$/);
        expect(partitions(workflow)["add tink cloud-init config"]).toBe(3);
        expect(partitions(workflow)["kexec image"]).toBe(1);
        if (bootMode === "isoboot") {
            const smee = (tinkerbellValues(config, plan) as Loose).deployment.envs.smee;
            expect(smee.isoUpstreamURL).toMatch(new RegExp(`/captainos-${KERNEL}-x86_64\\.iso$`));
        }
    });
});

describe("aarch64 real machines", () => {
    test("Hardware of real machines carries the arch too, next to their own disks", () => {
        const { objects } = lab("aarch64", { ...REAL_MACHINES_CONFIG });
        const hardware = ofKind(objects, "Hardware");
        expect(hardware.map((hw) => [(hw.spec as Loose).interfaces[0].dhcp.arch, (hw.spec as Loose).disks])).toEqual([
            ["aarch64", [{ device: "/dev/sda" }]],
            ["aarch64", [{ device: "/dev/nvme0n1" }]],
            ["aarch64", [{ device: "/dev/sda" }]],
        ]);
    });
});

describeWithSchemas("aarch64 objects against the upstream schemas (strict)", () => {
    test.each([
        ["netboot VMs", { bootMode: "netboot" }],
        ["isoboot VMs", { bootMode: "isoboot" }],
        ["netboot real machines", { bootMode: "netboot", ...REAL_MACHINES_CONFIG }],
        ["3 control planes, a worker and spares", { controlPlanes: 3, workers: 1, hardwareCount: 6 }],
    ])("%s", (_title, raw) => {
        const { objects } = lab("aarch64", raw);
        const failures = objects
            .filter((o) => !(o.apiVersion === "v1" && o.kind === "Secret"))
            .flatMap((o) => schemaErrors(o).map((e) => `${objectId(o)}: ${e}`));
        expect(failures).toEqual([]);
        expect(ofKind(objects, "Hardware").length).toBeGreaterThan(0);
    });
});
