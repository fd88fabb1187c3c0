/**
 * clusterctl's config file: where the Tinkerbell infrastructure provider (CAPT) comes from, which
 * manager image tag it runs, and the variables its components template reads.
 */
import { LabConfig } from "../config";
import { LabPlan } from "../plan";
import { externalTinkerbellVariables } from "./external-tinkerbell";
import { certManagerVersion } from "../bundle/cert-manager";
import { certManagerBundlePath, clusterctlBundlePath } from "../bundle/manifest";
import { toYaml } from "./kube-object";
import { bundleFile, isOffline } from "./offline";

export const CAPT_RELEASES = "https://github.com/tinkerbell/cluster-api-provider-tinkerbell/releases";

export type ClusterctlConfig = {
    providers: { name: string; url: string; type: ClusterctlProviderRelease["type"] }[];
    /** Offline: cert-manager's manifest in the bundle, at the version clusterctl of clusterctlVersion installs. */
    "cert-manager"?: { url: string; version: string };
    images: Record<string, { tag: string }>;
    /** Variables clusterctl substitutes into provider components; kept here so no env var is needed. */
    TINKERBELL_IP: string;
    /** External Tinkerbell only: the Secret CAPT's Deployment mounts (CAPT's default name, set explicitly). */
    EXTERNAL_TINKERBELL_KUBECONFIG?: string;
};

/** A clusterctl provider the lab installs, at the version the config pins. */
export interface ClusterctlProviderRelease {
    /** clusterctl's provider name (`--core cluster-api`, `--bootstrap kubeadm`, ...). */
    name: string;
    type: "CoreProvider" | "BootstrapProvider" | "ControlPlaneProvider" | "InfrastructureProvider";
    /** clusterctl's manifest label (cmd/clusterctl/api ManifestLabel): a local repository's folder name. */
    label: string;
    version: string;
    /** GitHub `owner/repo` the release comes from. */
    repository: string;
    componentsFile: string;
    /** The controller image the release's components run. */
    image: string;
    purpose: string;
}

export const CLUSTER_API_REPOSITORY = "kubernetes-sigs/cluster-api";
export const CAPT_REPOSITORY = "tinkerbell/cluster-api-provider-tinkerbell";
/** CAPT's manager image (CAPT Makefile: REGISTRY ghcr.io, IMAGE_NAME tinkerbell/cluster-api-provider-tinkerbell). */
export const CAPT_IMAGE = "ghcr.io/tinkerbell/cluster-api-provider-tinkerbell";

/**
 * The four providers `clusterctl init` installs (components/scripts/clusterctl-init.sh asks for each at
 * these versions): Cluster API's core and kubeadm providers at clusterctlVersion (their release images
 * on registry.k8s.io/cluster-api), CAPT at captVersion (its image tag pinned by `images:` below).
 */
export function clusterctlProviders(
    config: Pick<LabConfig, "clusterctlVersion" | "captVersion">,
): ClusterctlProviderRelease[] {
    const capi = config.clusterctlVersion;
    const capiProvider = (
        name: string,
        type: ClusterctlProviderRelease["type"],
        label: string,
        componentsFile: string,
        image: string,
        purpose: string,
    ): ClusterctlProviderRelease => ({
        name,
        type,
        label,
        version: capi,
        repository: CLUSTER_API_REPOSITORY,
        componentsFile,
        image: `registry.k8s.io/cluster-api/${image}:${capi}`,
        purpose,
    });
    return [
        capiProvider(
            "cluster-api",
            "CoreProvider",
            "cluster-api",
            "core-components.yaml",
            "cluster-api-controller",
            "Cluster API's core controller",
        ),
        capiProvider(
            "kubeadm",
            "BootstrapProvider",
            "bootstrap-kubeadm",
            "bootstrap-components.yaml",
            "kubeadm-bootstrap-controller",
            "Cluster API's kubeadm bootstrap provider",
        ),
        capiProvider(
            "kubeadm",
            "ControlPlaneProvider",
            "control-plane-kubeadm",
            "control-plane-components.yaml",
            "kubeadm-control-plane-controller",
            "Cluster API's kubeadm control-plane provider",
        ),
        {
            name: "tinkerbell",
            type: "InfrastructureProvider",
            label: "infrastructure-tinkerbell",
            version: config.captVersion,
            repository: CAPT_REPOSITORY,
            componentsFile: "infrastructure-components.yaml",
            image: `${CAPT_IMAGE}:${config.captVersion}`,
            purpose: "Cluster API Provider Tinkerbell (CAPT)",
        },
    ];
}

/** The metadata file of every clusterctl provider release. */
export const CLUSTERCTL_METADATA_FILE = "metadata.yaml";

/** A file of a GitHub release, as clusterctl (and `npm run bundle`) downloads it. */
export function githubReleaseAssetUrl(repository: string, version: string, file: string): string {
    return `https://github.com/${repository}/releases/download/${version}/${file}`;
}

export function captComponentsUrl(captVersion: string): string {
    return `${CAPT_RELEASES}/${captVersion}/infrastructure-components.yaml`;
}

/**
 * Offline (offlineBundle): every provider `clusterctl init` installs, and cert-manager, from the
 * bundle's clusterctl repository, a local repository as clusterctl reads one
 * (cmd/clusterctl/client/repository/repository_local.go: an absolute `<base>/<provider-label>/<version>/
 * <components file>`, whose folder names give the label and the version; cert-manager is the provider
 * labelled `cert-manager`, cluster/cert_manager.go). Together with CLUSTERCTL_DISABLE_VERSIONCHECK
 * (clusterctl's version check against GitHub, cmd/root.go; lib/clusterctl-providers.sh sets it for
 * every lab) nothing in `clusterctl init` then reaches the network: the remaining downloads of
 * clusterctl v1.12 are GitHub and GitLab repositories (repository_github.go, including the Go proxy
 * it asks for versions, repository_gitlab.go), a remote config file (config/reader_viper.go, the lab's
 * is a local file) and `generate cluster --from <URL>` (cluster/template.go), none of which init uses
 * with local URLs. The version pinned for cert-manager is clusterctl's own for that release.
 */
function offlineProviders(config: LabConfig): Pick<ClusterctlConfig, "providers" | "cert-manager"> {
    const certManager = certManagerVersion(config.clusterctlVersion);
    return {
        providers: clusterctlProviders(config).map((provider) => ({
            name: provider.name,
            url: bundleFile(config, clusterctlBundlePath(provider.label, provider.version, provider.componentsFile)),
            type: provider.type,
        })),
        "cert-manager": { url: bundleFile(config, certManagerBundlePath(certManager)), version: certManager },
    };
}

export function clusterctlConfig(config: LabConfig, plan: LabPlan): ClusterctlConfig {
    return {
        ...(isOffline(config)
            ? offlineProviders(config)
            : {
                  providers: [
                      {
                          name: "tinkerbell",
                          url: captComponentsUrl(config.captVersion),
                          type: "InfrastructureProvider",
                      },
                  ],
              }),
        // Pin the manager image to the release whose components are installed.
        images: { "infrastructure-tinkerbell": { tag: config.captVersion } },
        // CAPT's manager reads it only for its default workflow template, which every machine
        // template here overrides; set anyway so the manager never starts with an empty address.
        TINKERBELL_IP: plan.vips.tinkerbell,
        ...(plan.modes.tinkerbell === "external" ? externalTinkerbellVariables() : {}),
    };
}

export function clusterctlYaml(config: LabConfig, plan: LabPlan): string {
    return toYaml(clusterctlConfig(config, plan));
}
