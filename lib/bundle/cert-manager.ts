/**
 * The cert-manager release `clusterctl init` installs for each Cluster API release the lab supports
 * (config clusterctlVersion, v1.10.0 up to v1.14.0): clusterctl's
 * cmd/clusterctl/client/config/cert_manager_client.go `CertManagerDefaultVersion` at each release tag
 * of kubernetes-sigs/cluster-api, read for every tag from v1.10.0 to v1.13.5. The offline lab names
 * this version in clusterctl.yaml (`cert-manager: {url, version}`), so a connected and an offline lab
 * of one config run the same cert-manager.
 */
import { parseVersion } from "../version";

export const CERT_MANAGER_BY_CLUSTER_API: Readonly<Record<string, string>> = {
    "v1.10.0": "v1.16.3",
    "v1.10.1": "v1.17.1",
    "v1.10.2": "v1.17.2",
    "v1.10.3": "v1.17.2",
    "v1.10.4": "v1.18.1",
    "v1.10.5": "v1.18.1",
    "v1.10.6": "v1.18.1",
    "v1.10.7": "v1.18.1",
    "v1.10.8": "v1.19.1",
    "v1.10.9": "v1.19.1",
    "v1.10.10": "v1.19.1",
    "v1.11.0": "v1.18.2",
    "v1.11.1": "v1.18.2",
    "v1.11.2": "v1.18.2",
    "v1.11.3": "v1.19.1",
    "v1.11.4": "v1.19.1",
    "v1.11.5": "v1.19.1",
    "v1.11.6": "v1.19.3",
    "v1.11.7": "v1.19.4",
    "v1.11.8": "v1.20.1",
    "v1.11.9": "v1.20.2",
    "v1.11.10": "v1.20.2",
    "v1.11.11": "v1.20.2",
    "v1.12.0": "v1.19.1",
    "v1.12.1": "v1.19.1",
    "v1.12.2": "v1.19.1",
    "v1.12.3": "v1.19.3",
    "v1.12.4": "v1.19.4",
    "v1.12.5": "v1.20.1",
    "v1.12.6": "v1.20.2",
    "v1.12.7": "v1.20.2",
    "v1.12.8": "v1.20.2",
    "v1.12.9": "v1.20.2",
    "v1.12.10": "v1.20.3",
    "v1.12.11": "v1.21.0",
    "v1.13.0": "v1.20.2",
    "v1.13.1": "v1.20.2",
    "v1.13.2": "v1.20.2",
    "v1.13.3": "v1.20.2",
    "v1.13.4": "v1.20.3",
    "v1.13.5": "v1.21.1",
};

/**
 * The cert-manager of a Cluster API release: the table's entry, or for a patch release newer than the
 * table knows, the entry of the newest patch of that minor it knows (clusterctl only moves cert-manager
 * forward within a minor). The lab pins the result in clusterctl.yaml offline, so the bundle and the
 * lab agree even then.
 */
export function certManagerVersion(clusterApiVersion: string): string {
    const exact = CERT_MANAGER_BY_CLUSTER_API[clusterApiVersion];
    if (exact !== undefined) return exact;
    const wanted = parseVersion(clusterApiVersion);
    if (!wanted) throw new Error(`not a Cluster API release: ${JSON.stringify(clusterApiVersion)}`);
    const sameMinor = Object.keys(CERT_MANAGER_BY_CLUSTER_API)
        .map((release) => ({ release, version: parseVersion(release)! }))
        .filter(({ version }) => version[0] === wanted[0] && version[1] === wanted[1] && version[2] <= wanted[2])
        .sort((a, b) => b.version[2] - a.version[2]);
    if (sameMinor.length === 0) {
        throw new Error(`no cert-manager release is known for Cluster API ${clusterApiVersion}`);
    }
    return CERT_MANAGER_BY_CLUSTER_API[sameMinor[0].release];
}
