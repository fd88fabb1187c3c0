#!/usr/bin/env bash
# wait-kubeconfig: wait until the workload cluster's API server answers, then print its kubeconfig.
#
# Cluster API writes the <cluster>-kubeconfig Secret as soon as the cluster and its endpoint exist,
# long before a machine has booted, so the kubeconfig alone says nothing about the cluster. The
# script waits for both, within one budget: first for `clusterctl get kubeconfig`, then for
# `kubectl get --raw=/readyz` through that kubeconfig to answer "ok" (what the CNI install needs).
#
# Environment:
#   KUBECONFIG_CONTENT    kubeconfig of the management (KinD) cluster (required, secret; written to a
#                         private temp file that is removed on exit, never echoed, never in an argv)
#   CLUSTER_NAME          the Cluster API cluster (required)
#   NAMESPACE             its namespace (required)
#   TIMEOUT_SECONDS       how long to wait for kubeconfig and API together before giving up (required)
#   STATE_DIR             the stack's output directory (required); clusterctl's XDG dirs go to $STATE_DIR/xdg
#   POLL_SECONDS          pause between attempts (default 10)
#   API_ENDPOINT          the workload API server's address (host:port), named in the timeout message (optional)
#   CONSOLE_LOG_DIR       directory of the VMs' serial console logs, named in the timeout message (optional)
#   MGMT_KUBECONFIG_PATH  where the management kubeconfig is written for people to use, named in the
#                         timeout message (default $STATE_DIR/kind.kubeconfig)
# stdout: the workload cluster's kubeconfig (`clusterctl get kubeconfig`) and nothing else, printed
#         only once its API server answers
# stderr: progress messages; on timeout, what to look at
#
# The workload kubeconfig (secret) goes to kubectl as a private temp file (mode 0600, removed on
# exit), never in an argv. Needs kubectl on PATH.
# Idempotent: it only reads. A re-run returns at once when the API server already answers.
set -euo pipefail

log() { printf 'wait-kubeconfig: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/clusterctl-providers.sh
source "${BASH_SOURCE[0]%/*}/lib/clusterctl-providers.sh"
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

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
# Found out now, not after waiting for the kubeconfig for half an hour.
if ! command -v kubectl >/dev/null; then
    log "kubectl is required to check that the workload API server answers; install it and run up again"
    exit 2
fi

refuse_symlink_on_path "$STATE_DIR/xdg" "to keep clusterctl's files in ${STATE_DIR}"
mkdir -p -- "$STATE_DIR"
state_dir="$(cd -- "$STATE_DIR" && pwd)"
mgmt_kubeconfig="${MGMT_KUBECONFIG_PATH:-${state_dir}/kind.kubeconfig}"
clusterctl_environment "${state_dir}/xdg"

umask 077
kubeconfig=""
workload_file=""
errors=""
trap 'rm -f -- ${kubeconfig:+"$kubeconfig"} ${workload_file:+"$workload_file"} ${errors:+"$errors"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
kubeconfig="$(mktemp -- "${TMPDIR:-/tmp}/wait-kubeconfig-mgmt.XXXXXX")"
workload_file="$(mktemp -- "${TMPDIR:-/tmp}/wait-kubeconfig-workload.XXXXXX")"
errors="$(mktemp -- "${TMPDIR:-/tmp}/wait-kubeconfig-errors.XXXXXX")"
printf '%s' "$KUBECONFIG_CONTENT" >"$kubeconfig"
unset KUBECONFIG_CONTENT

deadline=$((SECONDS + TIMEOUT_SECONDS))
workload=""

# Sets $workload (and its file) once clusterctl returns the kubeconfig; else $last_error.
fetch_kubeconfig() {
    local out
    if out="$(clusterctl get kubeconfig "$CLUSTER_NAME" -n "$NAMESPACE" --kubeconfig "$kubeconfig" 2>"$errors")" &&
        [ -n "$out" ]; then
        workload="$out"
        printf '%s\n' "$workload" >"$workload_file"
        log "got the kubeconfig of ${CLUSTER_NAME} after ${SECONDS}s; waiting for its API server to answer"
        return 0
    fi
    last_error="clusterctl: $(tail -n 1 -- "$errors")"
    return 1
}

# True when the API server answers /readyz with "ok"; else sets $last_error. One request never
# outlasts the budget (an unreachable VIP can hang a connection).
api_ready() {
    local answer remaining=$((deadline - SECONDS)) limit=10
    if ((remaining < limit)); then
        limit=$((remaining > 1 ? remaining : 1))
    fi
    if answer="$(kubectl --kubeconfig "$workload_file" --request-timeout="${limit}s" get --raw=/readyz 2>"$errors")"; then
        [ "$answer" = "ok" ] && return 0
        last_error="kubectl: /readyz answered: ${answer}"
        return 1
    fi
    last_error="kubectl: $(tail -n 1 -- "$errors")"
    return 1
}

attempt=0
last_error=""
log "waiting up to ${TIMEOUT_SECONDS}s for the kubeconfig of cluster ${CLUSTER_NAME} in namespace ${NAMESPACE}" \
    "and for its API server to answer"
while :; do
    attempt=$((attempt + 1))
    if { [ -n "$workload" ] || fetch_kubeconfig; } && api_ready; then
        log "the API server of ${CLUSTER_NAME} answers after ${SECONDS}s (attempt ${attempt})"
        # Last, so that no failure can follow it: pulumi-command puts stdout into its error message.
        printf '%s\n' "$workload"
        exit 0
    fi
    remaining=$((deadline - SECONDS))
    if [ "$remaining" -le 0 ]; then
        break
    fi
    if [ "$attempt" -eq 1 ] || [ $((attempt % 6)) -eq 0 ]; then
        log "not there yet after ${SECONDS}s (${last_error}); ${remaining}s left"
    fi
    sleep "$((poll < remaining ? poll : remaining))"
done

console_hint="the VMs' serial console logs (see the libvirt storage directory of the stack)"
if [ -n "${CONSOLE_LOG_DIR:-}" ]; then
    console_hint="the VMs' serial console logs: ${CONSOLE_LOG_DIR}/*.console.log"
fi
{
    if [ -z "$workload" ]; then
        printf 'wait-kubeconfig: timed out after %ss waiting for the kubeconfig of cluster %s in namespace %s.\n' \
            "$TIMEOUT_SECONDS" "$CLUSTER_NAME" "$NAMESPACE"
    else
        printf 'wait-kubeconfig: timed out after %ss: the kubeconfig of cluster %s in namespace %s exists, but its API server%s does not answer /readyz.\n' \
            "$TIMEOUT_SECONDS" "$CLUSTER_NAME" "$NAMESPACE" "${API_ENDPOINT:+ at ${API_ENDPOINT}}"
        printf '  The control plane machine has probably not finished provisioning; Cluster API writes the kubeconfig before any machine boots.\n'
    fi
    printf '  Last error: %s\n' "${last_error:-none}"
    printf 'Look at these, against the management cluster (export KUBECONFIG=%s):\n' "$mgmt_kubeconfig"
    printf '  kubectl get workflows -n %s                 # Tinkerbell workflows: did provisioning start and finish?\n' "$NAMESPACE"
    printf '  kubectl get jobs.bmc.tinkerbell.org -n %s   # BMC jobs: did power-on and network boot succeed?\n' "$NAMESPACE"
    printf '  kubectl get hardware -n %s                  # Hardware: is each machine claimed by the cluster?\n' "$NAMESPACE"
    printf '  clusterctl describe cluster %s -n %s\n' "$CLUSTER_NAME" "$NAMESPACE"
    printf '  %s\n' "$console_hint"
} >&2
exit 1
