#!/usr/bin/env bash
# wait-kubeconfig: wait until Cluster API has written the workload cluster's kubeconfig, then print it.
#
# Environment:
#   KUBECONFIG_CONTENT    kubeconfig of the management (KinD) cluster (required, secret; written to a
#                         private temp file that is removed on exit, never echoed, never in an argv)
#   CLUSTER_NAME          the Cluster API cluster (required)
#   NAMESPACE             its namespace (required)
#   TIMEOUT_SECONDS       how long to wait before giving up (required)
#   STATE_DIR             the stack's output directory (required); clusterctl's XDG dirs go to $STATE_DIR/xdg
#   POLL_SECONDS          pause between attempts (default 10)
#   CONSOLE_LOG_DIR       directory of the VMs' serial console logs, named in the timeout message (optional)
#   MGMT_KUBECONFIG_PATH  where the management kubeconfig is written for people to use, named in the
#                         timeout message (default $STATE_DIR/kind.kubeconfig)
# stdout: the workload cluster's kubeconfig (`clusterctl get kubeconfig`) and nothing else
# stderr: progress messages; on timeout, what to look at
#
# Idempotent: it only reads. A re-run returns at once when the kubeconfig already exists.
set -euo pipefail
# The previous run's captured stdout is the workload kubeconfig; keep it away from child processes.
unset PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR

log() { printf 'wait-kubeconfig: %s\n' "$*" >&2; }

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${NAMESPACE:?NAMESPACE is required}"
: "${TIMEOUT_SECONDS:?TIMEOUT_SECONDS is required}"
: "${STATE_DIR:?STATE_DIR is required}"
poll="${POLL_SECONDS:-10}"
for pair in "TIMEOUT_SECONDS=${TIMEOUT_SECONDS}" "POLL_SECONDS=${poll}"; do
    if ! [[ "${pair#*=}" =~ ^[0-9]+$ ]]; then
        log "${pair%%=*} must be a whole number of seconds, got: ${pair#*=}"
        exit 2
    fi
done
if [ "$poll" -lt 1 ]; then
    poll=1
fi

mkdir -p -- "$STATE_DIR"
state_dir="$(cd -- "$STATE_DIR" && pwd)"
mgmt_kubeconfig="${MGMT_KUBECONFIG_PATH:-${state_dir}/kind.kubeconfig}"
xdg="${state_dir}/xdg"
mkdir -p -- "$xdg"
export XDG_CONFIG_HOME="$xdg" XDG_CONFIG_DIRS="$xdg" XDG_STATE_HOME="$xdg" XDG_CACHE_HOME="$xdg" \
    XDG_RUNTIME_DIR="$xdg" XDG_DATA_HOME="$xdg" XDG_DATA_DIRS="$xdg"
export CLUSTERCTL_DISABLE_VERSIONCHECK=true

umask 077
kubeconfig=""
errors=""
trap 'rm -f -- ${kubeconfig:+"$kubeconfig"} ${errors:+"$errors"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
kubeconfig="$(mktemp -- "${TMPDIR:-/tmp}/wait-kubeconfig-mgmt.XXXXXX")"
errors="$(mktemp -- "${TMPDIR:-/tmp}/wait-kubeconfig-errors.XXXXXX")"
printf '%s' "$KUBECONFIG_CONTENT" >"$kubeconfig"
unset KUBECONFIG_CONTENT

deadline=$((SECONDS + TIMEOUT_SECONDS))
attempt=0
last_error=""
log "waiting up to ${TIMEOUT_SECONDS}s for the kubeconfig of cluster ${CLUSTER_NAME} in namespace ${NAMESPACE}"
while :; do
    attempt=$((attempt + 1))
    if workload="$(clusterctl get kubeconfig "$CLUSTER_NAME" -n "$NAMESPACE" --kubeconfig "$kubeconfig" 2>"$errors")" &&
        [ -n "$workload" ]; then
        printf '%s\n' "$workload"
        log "got the kubeconfig of ${CLUSTER_NAME} after ${SECONDS}s (attempt ${attempt})"
        exit 0
    fi
    last_error="$(tail -n 1 -- "$errors")"
    remaining=$((deadline - SECONDS))
    if [ "$remaining" -le 0 ]; then
        break
    fi
    if [ "$attempt" -eq 1 ] || [ $((attempt % 6)) -eq 0 ]; then
        log "not there yet after ${SECONDS}s (${last_error:-no error text}); ${remaining}s left"
    fi
    sleep "$((poll < remaining ? poll : remaining))"
done

console_hint="the VMs' serial console logs (see the libvirt storage directory of the stack)"
if [ -n "${CONSOLE_LOG_DIR:-}" ]; then
    console_hint="the VMs' serial console logs: ${CONSOLE_LOG_DIR}/*.console.log"
fi
{
    printf 'wait-kubeconfig: timed out after %ss waiting for the kubeconfig of cluster %s in namespace %s.\n' \
        "$TIMEOUT_SECONDS" "$CLUSTER_NAME" "$NAMESPACE"
    printf '  Last clusterctl error: %s\n' "${last_error:-none}"
    printf 'Look at these, against the management cluster (export KUBECONFIG=%s):\n' "$mgmt_kubeconfig"
    printf '  kubectl get workflows -n %s                 # Tinkerbell workflows: did provisioning start and finish?\n' "$NAMESPACE"
    printf '  kubectl get jobs.bmc.tinkerbell.org -n %s   # BMC jobs: did power-on and network boot succeed?\n' "$NAMESPACE"
    printf '  kubectl get hardware -n %s                  # Hardware: is each machine claimed by the cluster?\n' "$NAMESPACE"
    printf '  clusterctl describe cluster %s -n %s\n' "$CLUSTER_NAME" "$NAMESPACE"
    printf '  %s\n' "$console_hint"
} >&2
exit 1
