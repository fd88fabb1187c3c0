/**
 * Preflight: clusters given by a kubeconfig (managementKubeconfig, tinkerbellKubeconfig). Pure.
 */
import { ENCRYPTED_VALUE, LabConfig } from "../config";
import { LabModes } from "../plan";
import { compareVersions, parseVersion } from "../version";
import {
    CERT_MANAGER_RESOURCE,
    ClusterApiFact,
    Finding,
    firstLine,
    HostFacts,
    MIN_CHART_KUBERNETES_VERSION,
    Probe,
    succeeded,
    TINKERBELL_RESOURCES,
} from "./facts";

// Clusters given by a kubeconfig (managementKubeconfig, tinkerbellKubeconfig)

type KubeconfigKey = "managementKubeconfig" | "tinkerbellKubeconfig";

/** The API of the cluster behind a kubeconfig key, or the finding that says why it was not reached. */
function reachCluster(
    check: string,
    key: KubeconfigKey,
    value: string | undefined,
    probe: Probe<ClusterApiFact> | undefined,
): Finding | ClusterApiFact {
    if (value === ENCRYPTED_VALUE) {
        return {
            check,
            status: "ok",
            message: `not checked: ${key} is encrypted in the stack file; \`pulumi up\` checks it with the decrypted value`,
        };
    }
    if (probe === undefined) {
        return { check, status: "ok", message: `not checked: ${key} was not probed` };
    }
    if (!succeeded(probe)) {
        if (probe.notInstalled) {
            return { check, status: "ok", message: `not checked: kubectl is not installed (see the kubectl check)` };
        }
        return {
            check,
            status: "error",
            message: `the API server in ${key} does not answer: ${firstLine(probe.error)}`,
            fix: `make sure this host reaches the server named in that kubeconfig and its credentials are valid (kubectl --kubeconfig <file> version), then store it again: pulumi config set --secret ${key} < <file>`,
        };
    }
    return probe.value;
}

/**
 * An existing management cluster (managementKubeconfig): its API answers, and when the lab installs
 * the Tinkerbell chart there (externalTinkerbell false), it runs Kubernetes >= v1.35.
 */
export function checkManagementApi(config: LabConfig, modes: LabModes, facts: HostFacts): Finding {
    const check = "management-api";
    const reached = reachCluster(check, "managementKubeconfig", config.managementKubeconfig, facts.managementApi);
    if ("check" in reached) {
        return reached;
    }
    const { serverVersion } = reached;
    const chartHere = modes.tinkerbell === "local";
    const found = parseVersion(serverVersion);
    const minimum = parseVersion(MIN_CHART_KUBERNETES_VERSION)!;
    if (!found) {
        return {
            check,
            status: chartHere ? "warning" : "ok",
            message: `the API server in managementKubeconfig answers, but its version ${JSON.stringify(serverVersion)} is unreadable`,
            fix: chartHere
                ? `make sure that cluster runs Kubernetes ${MIN_CHART_KUBERNETES_VERSION} or newer (the Tinkerbell chart mounts CaptainOS as an image volume)`
                : undefined,
        };
    }
    const operatorProblem = certManagerProblem(check, modes, reached.resources);
    if (operatorProblem) {
        return operatorProblem;
    }
    if (chartHere && compareVersions(found, minimum) < 0) {
        return {
            check,
            status: "error",
            message: `the cluster in managementKubeconfig runs Kubernetes ${serverVersion}; the Tinkerbell chart the lab installs there needs ${MIN_CHART_KUBERNETES_VERSION} or newer (it mounts CaptainOS as an image volume, on by default from v1.35)`,
            fix: "upgrade that cluster to Kubernetes v1.35 or newer; or enable the ImageVolume feature gate on its API servers and kubelets and set preflight: false; or run Tinkerbell in a cluster of its own (externalTinkerbell: true, tinkerbellKubeconfig)",
        };
    }
    return {
        check,
        status: "ok",
        message: `the API server in managementKubeconfig answers: Kubernetes ${serverVersion}${
            chartHere ? ` (>= ${MIN_CHART_KUBERNETES_VERSION} for the Tinkerbell chart)` : ""
        }`,
    };
}

/**
 * clusterApiInstaller: operator in a cluster of the user's: the operator's providers need cert-manager,
 * which the lab installs only in its own KinD (its chart cannot tell whether one is already there).
 */
function certManagerProblem(
    check: string,
    modes: LabModes,
    resources: Probe<string[]> | undefined,
): Finding | undefined {
    if (modes.clusterApiInstaller !== "operator" || resources === undefined) {
        return undefined;
    }
    if (succeeded(resources) && resources.value.includes(CERT_MANAGER_RESOURCE)) {
        return undefined;
    }
    return {
        check,
        status: "error",
        message: succeeded(resources)
            ? "clusterApiInstaller is operator, but the cluster in managementKubeconfig has no cert-manager (certificates.cert-manager.io), which the Cluster API Operator's providers need; the lab installs cert-manager only in its own KinD"
            : `clusterApiInstaller is operator, but the API resources of the cluster in managementKubeconfig could not be listed to find cert-manager: ${firstLine(resources.error)}`,
        fix: "install cert-manager in that cluster (https://cert-manager.io/docs/installation/), or use clusterApiInstaller: clusterctl, which installs it when it is missing",
    };
}

/** An external Tinkerbell (externalTinkerbell, tinkerbellKubeconfig): its API answers and serves Tinkerbell's resources. */
export function checkTinkerbellApi(config: LabConfig, facts: HostFacts): Finding {
    const check = "tinkerbell-api";
    const reached = reachCluster(check, "tinkerbellKubeconfig", config.tinkerbellKubeconfig, facts.tinkerbellApi);
    if ("check" in reached) {
        return reached;
    }
    const where = `the cluster in tinkerbellKubeconfig (Kubernetes ${reached.serverVersion})`;
    const resources = reached.resources;
    if (resources === undefined) {
        return { check, status: "ok", message: `${where} answers; its resources were not listed` };
    }
    if (!succeeded(resources)) {
        return {
            check,
            status: "error",
            message: `${where} answers, but its API resources could not be listed: ${firstLine(resources.error)}`,
            fix: "make sure the kubeconfig's user may discover API resources (kubectl api-resources --api-group=tinkerbell.org works with it)",
        };
    }
    const missing = TINKERBELL_RESOURCES.filter((name) => !resources.value.includes(name));
    if (missing.length > 0) {
        return {
            check,
            status: "error",
            message: `${where} does not serve ${missing.join(", ")}: Tinkerbell is not installed there`,
            fix: "install Tinkerbell in that cluster (its Helm chart brings the CRDs), or point tinkerbellKubeconfig at the cluster that runs it: pulumi config set --secret tinkerbellKubeconfig < <file>",
        };
    }
    return { check, status: "ok", message: `${where} answers and serves ${TINKERBELL_RESOURCES.join(", ")}` };
}
