/**
 * Where an offline lab (config offlineBundle) takes what a connected lab downloads: the charts and
 * manifests as files of the bundle, at the paths the bundle's layout fixes (lib/bundle/manifest.ts),
 * so what `npm run render` shows needs no bundle on disk; the preflight checks that the bundle holds
 * each of them (lib/bundle/check.ts). Pure.
 */
import * as path from "node:path";
import { LabConfig } from "../config";
import { chartBundlePath, urlFileBundlePath } from "../bundle/manifest";
import { CILIUM_CHART } from "./cni";

export function isOffline(config: Pick<LabConfig, "offlineBundle">): boolean {
    return config.offlineBundle !== "";
}

/** A file of the bundle by its path relative to the bundle. */
export function bundleFile(config: Pick<LabConfig, "offlineBundle">, relative: string): string {
    return path.posix.join(config.offlineBundle, relative);
}

/** The Tinkerbell chart's archive in the bundle; a chart directory on disk (tinkerbellChart) is used as it is. */
export function offlineTinkerbellChart(config: LabConfig): string | undefined {
    if (!isOffline(config) || !config.tinkerbellChart.startsWith("oci://")) return undefined;
    const name = config.tinkerbellChart.split("/").pop()!;
    return bundleFile(config, chartBundlePath(name, config.tinkerbellVersion));
}

export function offlineCiliumChart(config: LabConfig): string | undefined {
    return isOffline(config) ? bundleFile(config, chartBundlePath(CILIUM_CHART, config.ciliumVersion)) : undefined;
}

export function offlineKubeRouterManifest(config: LabConfig): string | undefined {
    return isOffline(config) ? bundleFile(config, urlFileBundlePath(config.kubeRouterManifest)) : undefined;
}
