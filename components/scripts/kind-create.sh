#!/usr/bin/env bash
# kind-create: create the stack's KinD management cluster unless it already exists, then print its
# kubeconfig.
#
# Environment:
#   KIND_CLUSTER_NAME                 cluster name (required)
#   KIND_EXPERIMENTAL_DOCKER_NETWORK  the stack's docker network (required; kind reads it itself)
#   KIND_WAIT                         how long `kind create cluster` waits for the control plane (default 5m)
# stdin:  the kind cluster config (YAML); read only when the cluster has to be created
# stdout: the cluster's kubeconfig (`kind get kubeconfig`) and nothing else; the Command keeps it as a secret
# stderr: progress messages and kind's own output
#
# Idempotent: a cluster that `kind get clusters` lists under exactly this name is reused as it is.
# A failed `kind create cluster` removes its own nodes (kind's default without --retain), so a re-run
# after a failure starts over cleanly.
set -euo pipefail

log() { printf 'kind-create: %s\n' "$*" >&2; }

: "${KIND_CLUSTER_NAME:?KIND_CLUSTER_NAME is required}"
: "${KIND_EXPERIMENTAL_DOCKER_NETWORK:?KIND_EXPERIMENTAL_DOCKER_NETWORK is required}"
export KIND_EXPERIMENTAL_DOCKER_NETWORK
kind_wait="${KIND_WAIT:-5m}"

# Listed at top level so that a failing `kind get clusters` (docker unreachable) stops the script.
clusters="$(kind get clusters)"
if grep -Fxq -- "$KIND_CLUSTER_NAME" <<<"$clusters"; then
    log "cluster ${KIND_CLUSTER_NAME} already exists; not creating it again"
    # Drain the unused config so the writer of a pipe never sees EPIPE.
    if [ ! -t 0 ]; then
        cat >/dev/null
    fi
else
    config="$(cat)"
    if [ -z "$config" ]; then
        log "the kind cluster config must be given on stdin"
        exit 2
    fi
    log "creating cluster ${KIND_CLUSTER_NAME} on docker network ${KIND_EXPERIMENTAL_DOCKER_NETWORK}"
    printf '%s\n' "$config" | kind create cluster --name "$KIND_CLUSTER_NAME" --config - --wait "$kind_wait" >&2
fi

if ! kind get kubeconfig --name "$KIND_CLUSTER_NAME"; then
    log "cannot read the kubeconfig of ${KIND_CLUSTER_NAME}; if its node containers are stopped or half-created," \
        "start them with docker or remove the cluster with: kind delete cluster --name ${KIND_CLUSTER_NAME}"
    exit 1
fi
