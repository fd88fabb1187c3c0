/**
 * Values of the Tinkerbell Helm chart. Every address comes from the plan: the chart's services
 * get their load-balancer IPs from publicIP and artifactsFileServer, and trustedProxies is the KinD
 * pod subnet the lab sets itself (so it is known before the cluster exists).
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { labReference } from "./registry-mirror";
import { osieArch } from "./arch";
import { HelmValues, applySetValues } from "./helm-set";
import { toYaml } from "./kube-object";
import { isOffline } from "./offline";
import { TINKERBELL_CHART_DEFAULTS } from "./tinkerbell-chart";

/** Port of the chart's OSIE (artifacts) file server. */
export const ARTIFACTS_PORT = 7173;
/** The chart's unified HTTP port: iPXE scripts, metadata (Tootles), ISO patching, UI. */
export const TINKERBELL_HTTP_PORT = 7080;

export function artifactsFileServerUrl(plan: LabPlan): string {
    return `http://${plan.vips.artifacts}:${ARTIFACTS_PORT}`;
}

/**
 * Smee settings per boot mode. netboot: the iPXE script must name CaptainOS's kernel and initrd
 * (Smee appends `-<arch>`; the chart's defaults are HookOS names, which 404 against CaptainOS).
 * isoboot: no DHCP from Smee, and the ISO it patches per machine is CaptainOS's.
 */
function smeeValues(config: LabConfig, plan: LabPlan): HelmValues {
    const kernel = config.captainosKernelVersion;
    if (config.bootMode === "netboot") {
        return { ipxeHttpScriptKernelName: `vmlinuz-${kernel}`, ipxeHttpScriptInitrdName: `initramfs-${kernel}` };
    }
    return {
        dhcpEnabled: false,
        isoUpstreamURL: `${artifactsFileServerUrl(plan)}/captainos-${kernel}-${osieArch(config.machineArch)}.iso`,
    };
}

/**
 * Offline (offlineBundle): every image the chart runs is named explicitly, at the tag the bill of
 * materials (and so the bundle) records, and no pull policy the chart exposes lets the kubelet pull:
 * the bundle's images are in the KinD node before the chart is installed, and a missing one should
 * fail at once rather than wait on a registry. The relay init container and the artifacts file
 * server expose no pull policy; their images are tagged, so the kubelet's default is IfNotPresent
 * and it finds the loaded image. The Tinkerbell and tink-agent tags are the chart's version (what its
 * release process tags them with), set explicitly because a chart built from source says 0.0.1.
 */
function offlineImageValues(config: LabConfig): HelmValues {
    const d = TINKERBELL_CHART_DEFAULTS;
    return {
        image: d.image,
        imageTag: config.tinkerbellVersion,
        imagePullPolicy: "Never",
        agentImage: d.agentImage,
        agentImageTag: config.tinkerbellVersion,
        init: { image: d.initImage },
    };
}

/** The lab's own values, before the user's tinkerbellExtraValues. */
export function baseTinkerbellValues(config: LabConfig, plan: LabPlan): HelmValues {
    const offline = isOffline(config);
    return {
        publicIP: plan.vips.tinkerbell,
        trustedProxies: [plan.kind.podSubnet],
        artifactsFileServer: artifactsFileServerUrl(plan),
        optional: {
            // Pulled by KinD's containerd (an image volume): with the lab's caches its hosts.toml sends the
            // pull there under the upstream name; a user's HTTPS mirror (registryMirrorHost) gets it
            // rewritten. Offline it is loaded into the node from the bundle.
            captainos: {
                enabled: true,
                image: labReference(config.captainosImage, plan.registryMirror),
                ...(offline ? { pullPolicy: "Never" } : {}),
            },
            // The lab serves CaptainOS only: Smee's iPXE script names CaptainOS's kernel and initrd and
            // isoboot patches CaptainOS's ISO (smeeValues), so HookOS's files would never be fetched. The
            // chart enables HookOS by default, which downloads it from GitHub into a local volume at
            // every start (and breaks offline); off, the file server serves /captain alone.
            hookos: { enabled: false },
            ...(offline
                ? {
                      osie: { image: TINKERBELL_CHART_DEFAULTS.osieImage },
                      kubevip: { image: TINKERBELL_CHART_DEFAULTS.kubevipImage, imagePullPolicy: "Never" },
                  }
                : {}),
        },
        deployment: {
            ...(offline ? offlineImageValues(config) : {}),
            envs: {
                smee: smeeValues(config, plan),
                // A lab UI nobody should have to log in to; it is reachable only on the lab network.
                ui: { enableAutoLogin: true },
            },
        },
    };
}

/** The values the Tinkerbell Helm release takes: the lab's values with tinkerbellExtraValues applied last. */
export function tinkerbellValues(config: LabConfig, plan: LabPlan): HelmValues {
    return applySetValues(baseTinkerbellValues(config, plan), config.tinkerbellExtraValues);
}

/**
 * The Tinkerbell chart's values in the workload cluster: the lab's values (the same VIPs and
 * addresses), with trustedProxies the workload cluster's pod network instead of KinD's; the user's
 * tinkerbellExtraValues still last.
 */
export function workloadTinkerbellValues(config: LabConfig, plan: LabPlan): HelmValues {
    return applySetValues(
        { ...baseTinkerbellValues(config, plan), trustedProxies: [plan.cidrs.pods] },
        config.tinkerbellExtraValues,
    );
}

export function tinkerbellValuesYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(tinkerbellValues(config, plan));
}
