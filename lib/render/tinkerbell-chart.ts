/**
 * Facts about the Tinkerbell Helm chart's images, read from the chart archives of v0.25.0 and
 * v0.23.1-23da0880 (../shared/charts; both agree on every image value) and from tinkerbell/tinkerbell's
 * Makefile (`helm package --version $(VERSION) --app-version $(VERSION)`, images pushed as
 * `<image>:$(VERSION)`): the Tinkerbell and tink-agent images are tagged with the chart's version
 * (`coalesce .Values.deployment.imageTag .Chart.AppVersion`), every other image is a value with a
 * default. Pure.
 *
 * Which images a release runs with given values (templates/*.yaml):
 *  - `deployment.image:tag` (the tinkerbell container; `deployment.imagePullPolicy`);
 *  - `deployment.agentImage:agentImageTag`: not run in the cluster; Smee hands it to the OSIE as the
 *    kernel argument `tink_worker_image`, and CaptainOS pulls it unless its containerd has it;
 *  - `deployment.init.image` when `deployment.init.enabled` (the DHCP relay init container; no pull
 *    policy value, so the kubelet's default for a tagged image, IfNotPresent);
 *  - `optional.hookos.image`, else `optional.osie.image`, when HookOS or CaptainOS is enabled (the
 *    artifacts file server, nginx; no pull policy value either);
 *  - `optional.hookos.scriptImage` when HookOS is enabled (downloads HookOS from GitHub);
 *  - `optional.captainos.image` when CaptainOS is enabled: an image volume
 *    (`optional.captainos.pullPolicy`);
 *  - `optional.kubevip.image` when kube-vip is enabled (`optional.kubevip.imagePullPolicy`).
 */
import { HelmValues } from "./helm-set";

/** The chart's default image values (values.yaml of both charts). */
export const TINKERBELL_CHART_DEFAULTS = {
    image: "ghcr.io/tinkerbell/tinkerbell",
    agentImage: "ghcr.io/tinkerbell/tink-agent",
    initImage: "ghcr.io/jacobweinstock/relay-init:v0.1.0",
    osieImage: "nginx:1.29.5",
    hookosScriptImage: "bash:5.2.37",
    kubevipImage: "ghcr.io/kube-vip/kube-vip:v1.0.0",
} as const;

/** What an image of the chart is for, and whether the management cluster runs it. */
export interface ChartImage {
    ref: string;
    purpose: string;
    /** In the cluster (the KinD node's containerd pulls or finds it); false: the OSIE on a machine pulls it. */
    inCluster: boolean;
}

function at(values: HelmValues, path: string): unknown {
    let node: unknown = values;
    for (const key of path.split(".")) {
        if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return undefined;
        node = (node as Record<string, unknown>)[key];
    }
    return node;
}

function text(values: HelmValues, path: string, fallback: string): string {
    const value = at(values, path);
    return typeof value === "string" && value !== "" ? value : fallback;
}

/** An enabled flag: the chart's default when unset (helm merges values over values.yaml). */
function enabled(values: HelmValues, path: string, chartDefault: boolean): boolean {
    const value = at(values, path);
    return typeof value === "boolean" ? value : chartDefault;
}

/** The images a release of the chart at `chartVersion` runs or hands out with `values` (the lab's, merged). */
export function tinkerbellChartImages(values: HelmValues, chartVersion: string): ChartImage[] {
    const d = TINKERBELL_CHART_DEFAULTS;
    const hookos = enabled(values, "optional.hookos.enabled", true);
    const captainos = enabled(values, "optional.captainos.enabled", false);
    const images: ChartImage[] = [
        {
            ref: `${text(values, "deployment.image", d.image)}:${text(values, "deployment.imageTag", chartVersion)}`,
            purpose: "Tinkerbell (Smee, Tink server and controller, Rufio, Tootles, UI)",
            inCluster: true,
        },
        {
            ref: `${text(values, "deployment.agentImage", d.agentImage)}:${text(values, "deployment.agentImageTag", chartVersion)}`,
            purpose: "tink-agent, which the OSIE runs on each machine (Smee names it in the kernel arguments)",
            inCluster: false,
        },
    ];
    if (enabled(values, "deployment.init.enabled", true)) {
        images.push({
            ref: text(values, "deployment.init.image", d.initImage),
            purpose: "Tinkerbell's init container (the DHCP relay interface)",
            inCluster: true,
        });
    }
    if (hookos || captainos) {
        images.push({
            ref: text(values, "optional.hookos.image", text(values, "optional.osie.image", d.osieImage)),
            purpose: "the artifacts file server (serves the OSIE's kernel and initramfs)",
            inCluster: true,
        });
    }
    if (hookos) {
        images.push({
            ref: text(values, "optional.hookos.scriptImage", d.hookosScriptImage),
            purpose: "HookOS's download script",
            inCluster: true,
        });
    }
    if (captainos) {
        const image = at(values, "optional.captainos.image");
        if (typeof image === "string" && image !== "") {
            images.push({
                ref: image,
                purpose: "CaptainOS artifacts (kernel, initramfs, ISO), mounted as an image volume",
                inCluster: true,
            });
        }
    }
    if (enabled(values, "optional.kubevip.enabled", true)) {
        images.push({
            ref: text(values, "optional.kubevip.image", d.kubevipImage),
            purpose: "kube-vip announcing Tinkerbell's load-balancer addresses",
            inCluster: true,
        });
    }
    return images;
}
