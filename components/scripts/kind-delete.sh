#!/usr/bin/env bash
# kind-delete: delete the stack's KinD cluster if it exists.
#
# Environment:
#   KIND_CLUSTER_NAME  cluster name (required)
# stdout: nothing
# stderr: progress messages and kind's own output
#
# Tolerant: a cluster that `kind get clusters` does not list under exactly this name is left alone
# and the script succeeds; no other cluster is ever touched.
set -euo pipefail

log() { printf 'kind-delete: %s\n' "$*" >&2; }

: "${KIND_CLUSTER_NAME:?KIND_CLUSTER_NAME is required}"

clusters="$(kind get clusters)"
if grep -Fxq -- "$KIND_CLUSTER_NAME" <<<"$clusters"; then
    log "deleting cluster ${KIND_CLUSTER_NAME}"
    kind delete cluster --name "$KIND_CLUSTER_NAME" >&2
else
    log "cluster ${KIND_CLUSTER_NAME} does not exist; nothing to delete"
fi
