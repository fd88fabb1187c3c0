#!/usr/bin/env bash
# pivot-back: the delete step of the pivot (`pivot: true` -> false, or the Pivot resource replaced).
# Moves the lab's namespace back from the workload cluster to the management cluster with
# `clusterctl move`, then removes the Cluster API providers pivot-move installed in the workload
# cluster, so the lab is again what it was before the pivot.
#
# Environment:
#   KUBECONFIG_CONTENT           kubeconfig of the management cluster, the target (required, secret)
#   WORKLOAD_KUBECONFIG_CONTENT  kubeconfig of the workload cluster, the source (required, secret)
#   CLUSTERCTL_CONFIG_CONTENT    the rendered clusterctl.yaml (required)
#   CLUSTER_NAME                 the Cluster API cluster (required)
#   NAMESPACE                    its namespace, the one moved (required)
#   PULUMI_COMMAND_STDOUT        pivot-move's stdout (the Command's last output): `installed=<providers>`,
#                                the providers it installed in the workload cluster
# stdout: nothing
# stderr: progress messages and clusterctl's own output
#
# Secrets as in pivot-move: private temp files in a private temp directory, removed on exit.
# Idempotent: where the Cluster is decides what to do.
#   - in the workload cluster only: move back;
#   - in the management cluster only: already back; nothing moved;
#   - in neither: nothing to move (a warning); in both: an error (a move stopped half-way).
# Then `clusterctl delete` of the recorded providers still in the workload cluster (--all when they are
# all it has, else one flag each; with --include-crd and --include-namespace). A second run finds
# nothing to move and nothing recorded still installed.
# The whole step is skipped on a full destroy (the resource is deleted with the KinD cluster).
set -euo pipefail

log() { printf 'pivot-back: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/clusterctl-providers.sh
source "${BASH_SOURCE[0]%/*}/lib/clusterctl-providers.sh"

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${WORKLOAD_KUBECONFIG_CONTENT:?WORKLOAD_KUBECONFIG_CONTENT is required}"
: "${CLUSTERCTL_CONFIG_CONTENT:?CLUSTERCTL_CONFIG_CONTENT is required}"
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${NAMESPACE:?NAMESPACE is required}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT
require_tools "to move the cluster back" clusterctl kubectl

pivot_workdir pivot-back

in_mgmt="$(has_cluster "$mgmt" management)"
in_workload="$(has_cluster "$workload" workload)"
case "${in_workload}/${in_mgmt}" in
yes/no)
    log "clusterctl move -n ${NAMESPACE}: workload cluster -> management cluster"
    clusterctl move --config "$config" --kubeconfig "$workload" --to-kubeconfig "$mgmt" -n "$NAMESPACE" >&2
    log "cluster ${CLUSTER_NAME} is managed from the management cluster again"
    ;;
no/yes)
    log "cluster ${CLUSTER_NAME} is already in the management cluster; nothing to move"
    ;;
yes/yes)
    log "cluster ${CLUSTER_NAME} is in both the workload and the management cluster: a move stopped half-way." \
        "Look at both (clusterctl describe cluster ${CLUSTER_NAME} -n ${NAMESPACE}), remove the incomplete copy," \
        "then run again"
    exit 1
    ;;
*)
    log "warning: cluster ${CLUSTER_NAME} is in neither cluster in namespace ${NAMESPACE}; nothing to move"
    ;;
esac

recorded="$(recorded_providers "$previous")"
log "removing from the workload cluster the Cluster API providers the pivot installed there"
remove_recorded_providers "$workload" "$recorded"
