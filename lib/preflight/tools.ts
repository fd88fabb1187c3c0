/**
 * Preflight: the tools the lab runs (docker, kind, clusterctl, kubectl). Pure.
 */
import { LabConfig } from "../config";
import { LabModes } from "../plan";
import { compareVersions, parseVersion, versionText } from "../version";
import {
    Finding,
    firstLine,
    HostFacts,
    linuxAsset,
    MIN_DOCKER_VERSION,
    MIN_KIND_VERSION,
    MIN_KUBECTL_VERSION,
    Probe,
    succeeded,
} from "./facts";

// Tools

/** What the lab runs as docker containers in these modes; empty when it needs no docker at all. */
export function dockerUses(modes: LabModes): string[] {
    return [
        modes.management === "kind" ? "the KinD management cluster (managementKubeconfig is empty)" : undefined,
        modes.machines === "vms" ? "the virtual BMC of the VMs (machines is empty)" : undefined,
        modes.registryMirror ? "the registry mirror (registryMirror is true)" : undefined,
    ].filter((use): use is string => use !== undefined);
}

export function checkDocker(facts: HostFacts, uses: string[]): Finding {
    const check = "docker";
    const probe = facts.dockerServerVersion;
    const why = `docker runs ${uses.length > 1 ? `${uses.slice(0, -1).join(", ")} and ${uses[uses.length - 1]}` : uses[0]}`;
    if (!succeeded(probe)) {
        if (probe.notInstalled) {
            return {
                check,
                status: "error",
                message: `docker is not installed; ${why}`,
                fix: `install Docker Engine ${versionText(parseVersion(MIN_DOCKER_VERSION)!)} or newer: https://docs.docker.com/engine/install/`,
            };
        }
        const permissionDenied = /permission denied/i.test(probe.error);
        return {
            check,
            status: "error",
            message: `the docker daemon is not reachable: ${firstLine(probe.error)}; ${why}`,
            fix: permissionDenied
                ? "let your user talk to docker: sudo usermod -aG docker $USER, then log out and in again"
                : "start the docker daemon: sudo systemctl enable --now docker",
        };
    }
    const version = parseVersion(probe.value);
    if (!version) {
        return {
            check,
            status: "warning",
            message: `could not read the docker daemon's version from ${JSON.stringify(firstLine(probe.value))}`,
            fix: `make sure \`docker version\` shows a Server section with Docker Engine ${versionText(parseVersion(MIN_DOCKER_VERSION)!)} or newer`,
        };
    }
    if (compareVersions(version, parseVersion(MIN_DOCKER_VERSION)!) < 0) {
        return {
            check,
            status: "error",
            message: `Docker Engine ${versionText(version)} is too old; the lab needs ${versionText(parseVersion(MIN_DOCKER_VERSION)!)} or newer`,
            fix: "upgrade Docker Engine: https://docs.docker.com/engine/install/",
        };
    }
    return { check, status: "ok", message: `Docker Engine ${versionText(version)} is running` };
}

/** A required command-line tool at or above a minimum version. */
export function checkToolVersion(
    check: string,
    probe: Probe<string>,
    minimum: string,
    why: string,
    downloadUrl: string,
): Finding {
    const install = `download ${downloadUrl}, make it executable and put it on your PATH (e.g. ~/.local/bin/${check})`;
    if (!succeeded(probe)) {
        return probe.notInstalled
            ? { check, status: "error", message: `${check} is not installed; ${why}`, fix: install }
            : {
                  check,
                  status: "error",
                  message: `\`${check} version\` failed: ${firstLine(probe.error)}`,
                  fix: `reinstall ${check} ${minimum} or newer: ${install}`,
              };
    }
    const found = parseVersion(probe.value);
    if (!found) {
        return {
            check,
            status: "warning",
            message: `could not read a version from \`${check} version\`: ${JSON.stringify(firstLine(probe.value))}`,
            fix: `use a released ${check} ${minimum} or newer: ${install}`,
        };
    }
    if (compareVersions(found, parseVersion(minimum)!) < 0) {
        return {
            check,
            status: "error",
            message: `${check} v${versionText(found)} is too old; ${why}`,
            fix: `upgrade to ${minimum} or newer: ${install}`,
        };
    }
    return { check, status: "ok", message: `${check} v${versionText(found)} (>= ${minimum})` };
}

export function checkKind(facts: HostFacts): Finding {
    const url = `https://github.com/kubernetes-sigs/kind/releases/download/${MIN_KIND_VERSION}/kind-${linuxAsset(facts.arch)}`;
    return checkToolVersion(
        "kind",
        facts.kindVersion,
        MIN_KIND_VERSION,
        `the lab needs ${MIN_KIND_VERSION} or newer for Kubernetes 1.35 node images`,
        url,
    );
}

/**
 * clusterctl installs Cluster API (clusterApiInstaller: clusterctl) and moves the lab (pivot); with
 * the Cluster API Operator and no pivot it is not used.
 */
export function checkClusterctl(config: LabConfig, modes: LabModes, facts: HostFacts): Finding[] {
    const uses = [
        modes.clusterApiInstaller === "clusterctl"
            ? "the lab installs Cluster API with `clusterctl init` (clusterApiInstaller is clusterctl)"
            : undefined,
        modes.pivot
            ? "pivot moves the lab into the workload cluster with `clusterctl move` (pivot is true)"
            : undefined,
    ].filter((use): use is string => use !== undefined);
    if (uses.length === 0) {
        return [];
    }
    const minimum = config.clusterctlVersion;
    const url = `https://github.com/kubernetes-sigs/cluster-api/releases/download/${minimum}/clusterctl-${linuxAsset(facts.arch)}`;
    return [
        checkToolVersion(
            "clusterctl",
            facts.clusterctlVersion,
            minimum,
            `${uses.join(" and ")}; it needs clusterctl ${minimum} or newer (config key clusterctlVersion)`,
            url,
        ),
    ];
}

/**
 * kubectl waits for the providers' webhooks after clusterctl init, probes the workload API in the
 * wait for it (waitForWorkload), and the preflight reaches the clusters of managementKubeconfig and
 * tinkerbellKubeconfig with it; otherwise (the operator installs Cluster API, no wait) it is not needed.
 */
export function checkKubectl(config: LabConfig, modes: LabModes, facts: HostFacts): Finding[] {
    const uses = [
        modes.clusterApiInstaller === "clusterctl"
            ? "clusterctl init waits with it until the providers' webhooks have ready endpoints"
            : undefined,
        config.waitForWorkload
            ? "up waits for the workload API server with kubectl (config key waitForWorkload)"
            : undefined,
        modes.management === "existing"
            ? "the preflight checks the cluster of managementKubeconfig with kubectl"
            : undefined,
        modes.tinkerbell === "external"
            ? "the preflight checks the cluster of tinkerbellKubeconfig with kubectl"
            : undefined,
    ].filter((use): use is string => use !== undefined);
    if (uses.length === 0) {
        return [];
    }
    const url = `https://dl.k8s.io/release/${MIN_KUBECTL_VERSION}/bin/linux/${facts.arch === "arm64" ? "arm64" : "amd64"}/kubectl`;
    return [checkToolVersion("kubectl", facts.kubectlVersion, MIN_KUBECTL_VERSION, uses.join("; "), url)];
}
