/**
 * The Tinkerbell workflow every machine template carries as `templateOverride`: stream the OS
 * image to the disk, point cloud-init at Tinkerbell's metadata service, and kexec into the OS.
 *
 * CAPT renders the text as a Go template against the Hardware, so `{{ ... }}` expressions stay
 * plain strings here; they must contain no quotes or backslashes, which YAML escaping would break.
 */
import { BootMode, LabConfig, MachineArch } from "../config";
import { LabPlan } from "../plan";
import { toYaml } from "./kube-object";
import { labReference } from "./registry-mirror";
import { ESP_PARTITION, OS_IMAGE_ARCH, ROOT_PARTITION } from "./arch";
import { TINKERBELL_HTTP_PORT } from "./tinkerbell-values";

/**
 * The commit of github.com/tinkerbell/actions whose images the workflow runs. The project publishes
 * no release tags: every push to main pushes each action as `quay.io/tinkerbell/actions/<action>`
 * tagged with the full commit id and `latest` (its Makefile, `release-%`). The commit id is the
 * immutable name; `latest` (or no tag) would make a lab made next month run other code.
 */
export const ACTIONS_COMMIT = "ae3e51dfb3c1dd54c143e6d2fe48c248ae86e78d";

export const ACTION_IMAGES = {
    oci2disk: `quay.io/tinkerbell/actions/oci2disk:${ACTIONS_COMMIT}`,
    writefile: `quay.io/tinkerbell/actions/writefile:${ACTIONS_COMMIT}`,
    kexec: `quay.io/tinkerbell/actions/kexec:${ACTIONS_COMMIT}`,
    // Reports the kexec action as done before running it; kexec never returns to report itself.
    // Release 0.4.3 (goreleaser tags the image with the version without its v).
    waitdaemon: "ghcr.io/jacobweinstock/waitdaemon:0.4.3",
} as const;

/** Go template expressions CAPT evaluates per machine. */
const TEMPLATE = {
    worker: "{{.device_1}}",
    disk: "{{ index .Hardware.Disks 0 }}",
    /** The image's ext4 root filesystem: p3 on the amd64 images, p2 on the EFI-only arm64 ones (arch.ts). */
    rootPartition: (arch: MachineArch) => `{{ formatPartition ( index .Hardware.Disks 0 ) ${ROOT_PARTITION[arch]} }}`,
    /** The image's EFI system partition, holding the kernel and grub.cfg. */
    espPartition: `{{ formatPartition ( index .Hardware.Disks 0 ) ${ESP_PARTITION} }}`,
    mac: "{{ (index .Hardware.Interfaces 0).DHCP.MAC }}",
    ip: "{{ (index .Hardware.Interfaces 0).DHCP.IP.Address }}",
    gateway: "{{ (index .Hardware.Interfaces 0).DHCP.IP.Gateway }}",
} as const;

export type WorkflowAction = {
    name: string;
    image: string;
    timeout: number;
    pid?: string;
    environment: Record<string, string>;
    volumes?: string[];
};

export type WorkflowTemplate = {
    version: string;
    name: string;
    global_timeout: number;
    tasks: { name: string; worker: string; volumes: string[]; actions: WorkflowAction[] }[];
};

export const WORKFLOW_NAME = "capt-playground";

/**
 * The OS image CAPT publishes per Ubuntu and Kubernetes version (a raw disk, gzipped, in OCI).
 * The oci2disk action pulls it itself, with containerd's default resolver, which speaks plain HTTP
 * only to localhost (see lib/render/registry-mirror.ts): it is rewritten to a user's HTTPS mirror
 * (registryMirrorHost) but keeps its upstream name with the lab's own plain-HTTP caches.
 */
export function osImageUrl(config: LabConfig, plan: Pick<LabPlan, "registryMirror">): string {
    return labReference(
        `${config.osImageRegistry}:${config.osVersion}-${config.kubernetesVersion}-${OS_IMAGE_ARCH[config.machineArch]}.gz`,
        plan.registryMirror,
    );
}

export function metadataUrl(plan: LabPlan): string {
    return `http://${plan.vips.tinkerbell}:${TINKERBELL_HTTP_PORT}`;
}

/** A writefile action onto the root filesystem. Environment values are strings, as the action reads them. */
function writeRootFile(
    arch: MachineArch,
    name: string,
    destPath: string,
    contents: string,
    dirMode: string,
): WorkflowAction {
    return {
        name,
        image: ACTION_IMAGES.writefile,
        timeout: 90,
        environment: {
            DEST_DISK: TEMPLATE.rootPartition(arch),
            FS_TYPE: "ext4",
            DEST_PATH: destPath,
            UID: "0",
            GID: "0",
            MODE: "0600",
            DIRMODE: dirMode,
            CONTENTS: contents,
        },
    };
}

function cloudInitConfig(plan: LabPlan): string {
    return toYaml({
        datasource: { Ec2: { metadata_urls: [metadataUrl(plan)], strict_id: false } },
        system_info: {
            default_user: {
                name: "tink",
                groups: ["wheel", "adm"],
                sudo: ["ALL=(ALL) NOPASSWD:ALL"],
                shell: "/bin/bash",
            },
        },
        manage_etc_hosts: "localhost",
        // The datasource is pinned by ds-identify.cfg below; the warning would only add boot delay.
        warnings: { dsid_missing_source: false },
    });
}

/**
 * isoboot has no DHCP from Smee after the OS boots, so the OS gets a static address. The prefix
 * is the lab subnet's; the name servers are the ones every Hardware carries (config.nameServers).
 */
function staticNetplan(config: LabConfig, plan: LabPlan): string {
    return toYaml({
        network: {
            version: 2,
            renderer: "networkd",
            ethernets: {
                id0: {
                    match: { macaddress: TEMPLATE.mac },
                    addresses: [`${TEMPLATE.ip}/${plan.network.prefixLength}`],
                    nameservers: { addresses: [...config.nameServers] },
                    routes: [{ to: "default", via: TEMPLATE.gateway }],
                    // Keeps systemd-networkd-wait-online from stalling boot.
                    optional: true,
                },
            },
        },
    });
}

function isobootNetworkActions(config: LabConfig, plan: LabPlan): WorkflowAction[] {
    return [
        writeRootFile(
            config.machineArch,
            "disable cloud-init networking",
            "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg",
            toYaml({ network: { config: "disabled" } }),
            "0700",
        ),
        writeRootFile(
            config.machineArch,
            "create static netplan",
            "/etc/netplan/config.yaml",
            staticNetplan(config, plan),
            "0755",
        ),
    ];
}

export function workflowActions(config: LabConfig, plan: LabPlan, bootMode: BootMode): WorkflowAction[] {
    return [
        {
            name: "stream image",
            image: ACTION_IMAGES.oci2disk,
            timeout: 1200,
            environment: { IMG_URL: osImageUrl(config, plan), DEST_DISK: TEMPLATE.disk, COMPRESSED: "true" },
        },
        writeRootFile(
            config.machineArch,
            "add tink cloud-init config",
            "/etc/cloud/cloud.cfg.d/10_tinkerbell.cfg",
            cloudInitConfig(plan),
            "0700",
        ),
        ...(bootMode === "isoboot" ? isobootNetworkActions(config, plan) : []),
        writeRootFile(
            config.machineArch,
            "add tink cloud-init ds-config",
            "/etc/cloud/ds-identify.cfg",
            "datasource: Ec2\n",
            "0700",
        ),
        {
            name: "kexec image",
            image: ACTION_IMAGES.waitdaemon,
            timeout: 90,
            pid: "host",
            environment: {
                IMAGE: ACTION_IMAGES.kexec,
                BLOCK_DEVICE: TEMPLATE.espPartition,
                FS_TYPE: "vfat",
                GRUBCFG_PATH: "/grub/grub.cfg",
                WAIT_SECONDS: "10",
            },
            volumes: ["/var/run/docker.sock:/var/run/docker.sock"],
        },
    ];
}

export function provisioningWorkflow(config: LabConfig, plan: LabPlan): WorkflowTemplate {
    return {
        version: "0.1",
        name: WORKFLOW_NAME,
        global_timeout: 6000,
        tasks: [
            {
                name: WORKFLOW_NAME,
                worker: TEMPLATE.worker,
                volumes: ["/dev:/dev"],
                actions: workflowActions(config, plan, config.bootMode),
            },
        ],
    };
}

/** The text that goes into `templateOverride`. */
export function provisioningWorkflowYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(provisioningWorkflow(config, plan));
}
