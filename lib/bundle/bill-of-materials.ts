/**
 * The bill of materials: every artifact a stack's plan needs, derived from the config and the plan
 * alone (DESIGN.md decision 9). It is the one list of the lab's images, charts and downloaded files:
 * `npm run bundle` fetches it, the offline preflight checks a bundle against it, the lab loads the
 * bundle's images it names, and the README's image table is generated from it. Pure.
 *
 * Each entry says what it is, what it is for, where it is used, and where the offline lab loads it:
 *  - `docker`: the host's docker daemon (the KinD node image, the virtual BMC image);
 *  - `kind-node`: the KinD node's containerd, before anything in the cluster needs it (the chart's and
 *    the providers' images, the CaptainOS artifacts image);
 *  - `none`: read from the bundle as a file (charts, clusterctl's repository, manifests), or pulled by
 *    the machines themselves (tink-agent in the OSIE, the workload cluster's images), which the lab
 *    does not serve from the bundle yet.
 * `usedBy` tells these last apart: `lab` artifacts are what the lab itself needs offline (a missing one
 * is an error), `machines` artifacts are pulled by the machines by name (a missing one is a warning:
 * those machines then need a registry).
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { ACTION_IMAGES } from "../render/workflow";
import { CILIUM_CHART, CILIUM_REPOSITORY, KUBE_ROUTER_MANIFEST_IMAGES, ciliumImages } from "../render/cni";
import { kubeVipImage } from "../render/cluster-api";
import {
    CLUSTERCTL_METADATA_FILE,
    ClusterctlProviderRelease,
    clusterctlProviders,
    githubReleaseAssetUrl,
} from "../render/clusterctl";
import { tinkerbellChartImages } from "../render/tinkerbell-chart";
import { tinkerbellValues } from "../render/tinkerbell-values";
import { certManagerVersion } from "./cert-manager";
import { normalizeImageReference } from "./image-ref";
import {
    CERT_MANAGER_MANIFEST,
    certManagerBundlePath,
    chartBundlePath,
    clusterctlBundlePath,
    imageBundlePath,
    urlFileBundlePath,
} from "./manifest";

export type LoadTarget = "docker" | "kind-node" | "none";
export type UsedBy = "lab" | "machines";

interface BomCommon {
    /** The reference exactly as the lab names it (an image as the chart or components name it, a URL). */
    ref: string;
    /** Where the artifact lives in a bundle (tests/e2e/bundle/README.md's layout). */
    file: string;
    purpose: string;
    load: LoadTarget;
    usedBy: UsedBy;
}

export interface BomImage extends BomCommon {
    kind: "image";
    /** The reference in normal form (docker.io/library/...), what matching compares. */
    normalized: string;
}

export interface BomChart extends BomCommon {
    kind: "chart";
    version: string;
    /** The chart's name (the archive is `<name>-<version>.tgz`). */
    chartName: string;
    load: "none";
}

export interface BomFile extends BomCommon {
    kind: "file";
    load: "none";
}

export type BomArtifact = BomImage | BomChart | BomFile;

function image(ref: string, purpose: string, load: LoadTarget, usedBy: UsedBy = "lab"): BomImage {
    return {
        kind: "image",
        ref,
        normalized: normalizeImageReference(ref),
        file: imageBundlePath(ref),
        purpose,
        load,
        usedBy,
    };
}

/** An OCI chart `oci://registry/path/<name>` or a repository's chart (`<repo URL>/<name>`). */
function chart(ref: string, version: string, purpose: string): BomChart {
    const chartName = ref.split("/").pop()!;
    return {
        kind: "chart",
        ref,
        version,
        chartName,
        file: chartBundlePath(chartName, version),
        purpose,
        load: "none",
        usedBy: "lab",
    };
}

function file(ref: string, bundleFile: string, purpose: string): BomFile {
    return { kind: "file", ref, file: bundleFile, purpose, load: "none", usedBy: "lab" };
}

/** The Tinkerbell chart (an OCI reference; a chart directory on disk needs no bundle) and its images. */
function tinkerbell(config: LabConfig, plan: LabPlan): BomArtifact[] {
    if (plan.modes.tinkerbell !== "local") return [];
    const artifacts: BomArtifact[] = [];
    if (config.tinkerbellChart.startsWith("oci://")) {
        artifacts.push(chart(config.tinkerbellChart, config.tinkerbellVersion, "the Tinkerbell Helm chart"));
    }
    for (const chartImage of tinkerbellChartImages(tinkerbellValues(config, plan), config.tinkerbellVersion)) {
        artifacts.push(
            image(
                chartImage.ref,
                chartImage.purpose,
                chartImage.inCluster ? "kind-node" : "none",
                chartImage.inCluster ? "lab" : "machines",
            ),
        );
    }
    return artifacts;
}

function providerFiles(provider: ClusterctlProviderRelease): BomFile[] {
    return [provider.componentsFile, CLUSTERCTL_METADATA_FILE].map((name) =>
        file(
            githubReleaseAssetUrl(provider.repository, provider.version, name),
            clusterctlBundlePath(provider.label, provider.version, name),
            `clusterctl's ${name === CLUSTERCTL_METADATA_FILE ? "metadata" : "components"} of ${provider.purpose} ${provider.version}`,
        ),
    );
}

/**
 * Cluster API, the kubeadm providers and CAPT: their controller images, and with clusterctl their
 * release files (clusterctl's local repository) and cert-manager, which `clusterctl init` installs in
 * the lab's own KinD (a cluster of the user's keeps its own).
 */
function clusterApi(config: LabConfig, plan: LabPlan): BomArtifact[] {
    const providers = clusterctlProviders(config);
    const artifacts: BomArtifact[] = providers.map((p) => image(p.image, p.purpose, "kind-node"));
    if (plan.modes.clusterApiInstaller === "clusterctl") {
        artifacts.push(...providers.flatMap(providerFiles));
    }
    if (plan.modes.management === "kind") {
        const version = certManagerVersion(config.clusterctlVersion);
        for (const component of ["controller", "webhook", "cainjector"]) {
            artifacts.push(
                image(
                    `quay.io/jetstack/cert-manager-${component}:${version}`,
                    `cert-manager's ${component}`,
                    "kind-node",
                ),
            );
        }
        if (plan.modes.clusterApiInstaller === "clusterctl") {
            artifacts.push(
                file(
                    githubReleaseAssetUrl("cert-manager/cert-manager", version, CERT_MANAGER_MANIFEST),
                    certManagerBundlePath(version),
                    `cert-manager ${version}'s manifest, which clusterctl init applies`,
                ),
            );
        }
    }
    return artifacts;
}

/** What the workload machines pull themselves: kube-vip for the control-plane VIP, the workflow's actions, the CNI. */
function workload(config: LabConfig): BomArtifact[] {
    const artifacts: BomArtifact[] = [
        image(kubeVipImage(config), "kube-vip for the workload control plane's VIP", "none", "machines"),
        ...Object.entries(ACTION_IMAGES).map(([name, ref]) =>
            image(ref, `the workflow's ${name} action`, "none", "machines"),
        ),
    ];
    if (!config.waitForWorkload) return artifacts;
    if (config.cni === "cilium") {
        artifacts.push(
            chart(
                `${CILIUM_REPOSITORY}/${CILIUM_CHART}`,
                config.ciliumVersion,
                "the Cilium Helm chart (the workload CNI)",
            ),
            ...ciliumImages(config.ciliumVersion).map((ref) =>
                image(ref, "Cilium (the workload CNI)", "none", "machines"),
            ),
        );
    } else if (config.cni === "kube-router") {
        artifacts.push(
            file(
                config.kubeRouterManifest,
                urlFileBundlePath(config.kubeRouterManifest),
                "kube-router's manifest (the workload CNI)",
            ),
            ...(KUBE_ROUTER_MANIFEST_IMAGES[config.kubeRouterManifest] ?? []).map((ref) =>
                image(ref, "kube-router (the workload CNI)", "none", "machines"),
            ),
        );
    }
    return artifacts;
}

/** Same kind and reference (and version, file) twice: kept once, the first purpose wins. */
function unique(artifacts: BomArtifact[]): BomArtifact[] {
    const seen = new Set<string>();
    return artifacts.filter((a) => {
        const key = bomKey(a);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

/** How artifacts are told apart: images by normal form, charts by ref and version, files by ref and file. */
export function bomKey(a: BomArtifact): string {
    switch (a.kind) {
        case "image":
            return `image ${a.normalized}`;
        case "chart":
            return `chart ${a.ref} ${a.version}`;
        case "file":
            return `file ${a.ref} ${a.file}`;
    }
}

/** Every artifact the stack's plan needs, in the order the lab uses them. */
export function billOfMaterials(config: LabConfig, plan: LabPlan): BomArtifact[] {
    const host: BomArtifact[] = [];
    if (plan.modes.management === "kind") {
        host.push(image(config.kindNodeImage, "the KinD node of the management cluster", "docker"));
    }
    if (plan.modes.machines === "vms") {
        host.push(image(config.vbmcImage, "the virtual BMC (IPMI and Redfish for the VMs)", "docker"));
    }
    if (plan.registryMirror?.mirrors.some((m) => m.cache)) {
        host.push(image(config.registryMirrorImage, "the registry mirror's caches", "docker"));
    }
    return unique([...host, ...tinkerbell(config, plan), ...clusterApi(config, plan), ...workload(config)]);
}

/** The entries the offline lab loads, in loading order: docker first (KinD needs its node), then the node. */
export function loadedImages(bom: readonly BomArtifact[], target: "docker" | "kind-node"): BomImage[] {
    return bom.filter((a): a is BomImage => a.kind === "image" && a.load === target);
}
