#!/usr/bin/env bash
# pivot-move: make the workload cluster manage itself (`pivot: true`). Installs Cluster API with the
# Tinkerbell provider into the workload cluster (`clusterctl init`, the same clusterctl.yaml and
# TINKERBELL_IP as the management cluster got), then moves the lab's namespace there with
# `clusterctl move`: the Cluster API objects, and the Hardware, Rufio Machines and BMC Secret, which
# carry clusterctl's move labels (the playground's `task pivot`). The Tinkerbell chart (or, with an
# external Tinkerbell, CAPT's kubeconfig Secret) is put into the workload cluster before this runs.
#
# Environment:
#   KUBECONFIG_CONTENT           kubeconfig of the management cluster, the source (required, secret)
#   WORKLOAD_KUBECONFIG_CONTENT  kubeconfig of the workload cluster, the target (required, secret)
#   CLUSTERCTL_CONFIG_CONTENT    the rendered clusterctl.yaml (required)
#   TINKERBELL_IP                the Tinkerbell VIP, read by CAPT's components template (required)
#   CLUSTER_NAME                 the Cluster API cluster (required)
#   NAMESPACE                    its namespace, the one moved (required)
#   CAPI_VERSION                 the core and kubeadm providers' version installed (clusterctlVersion, required)
#   CAPT_VERSION                 the Tinkerbell provider's version installed (captVersion, required)
#   WAIT_PROVIDER_TIMEOUT        seconds clusterctl waits for each provider's deployment (default 600)
#   PULUMI_COMMAND_STDOUT        this script's previous stdout (the Command's previous output), so that a
#                                re-run keeps the record of the providers an earlier run installed
# stdout: one line `installed=<providers>`: the clusterctl inventory names this stack installed in the
#         workload cluster (pivot-back removes those again)
# stderr: progress messages and clusterctl's own output
#
# Both kubeconfigs and the config go to private temp files (mode 0600, in a private temp directory
# that also holds clusterctl's XDG directories, removed on exit), never into an argv or a log; the
# script leaves no file behind. Needs clusterctl and kubectl.
# The workload cluster gets the versions the management cluster got (clusterctl-init.sh): every provider
# is asked for at an explicit version, `--core cluster-api:$CAPI_VERSION --bootstrap kubeadm:$CAPI_VERSION
# --control-plane kubeadm:$CAPI_VERSION --infrastructure tinkerbell:$CAPT_VERSION`, never clusterctl's
# newest release.
# Idempotent: where the Cluster is decides what to do.
#   - in the management cluster only: init the workload cluster (clusterctl skips a provider installed
#     at the same version), then move;
#   - in the workload cluster only: already moved; nothing is installed and nothing moved;
#   - in both, or in neither: an error saying so (a move that stopped half-way needs a person).
set -euo pipefail

log() { printf 'pivot-move: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/clusterctl-providers.sh
source "${BASH_SOURCE[0]%/*}/lib/clusterctl-providers.sh"

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${WORKLOAD_KUBECONFIG_CONTENT:?WORKLOAD_KUBECONFIG_CONTENT is required}"
: "${CLUSTERCTL_CONFIG_CONTENT:?CLUSTERCTL_CONFIG_CONTENT is required}"
: "${TINKERBELL_IP:?TINKERBELL_IP is required}"
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${NAMESPACE:?NAMESPACE is required}"
: "${CAPI_VERSION:?CAPI_VERSION is required (clusterctlVersion)}"
: "${CAPT_VERSION:?CAPT_VERSION is required (captVersion)}"
wait_timeout="${WAIT_PROVIDER_TIMEOUT:-600}"
if ! [[ "$wait_timeout" =~ ^[1-9][0-9]*$ ]]; then
    log "WAIT_PROVIDER_TIMEOUT must be a positive number of seconds, got: ${wait_timeout}"
    exit 2
fi
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT
require_tools "to pivot" clusterctl kubectl

pivot_workdir pivot-move
export TINKERBELL_IP

in_source="$(has_cluster "$mgmt" management)"
in_target="$(has_cluster "$workload" workload)"
earlier="$(recorded_providers "$previous")"
added=""
case "${in_source}/${in_target}" in
no/yes)
    log "cluster ${CLUSTER_NAME} is already in the workload cluster and no longer in the management cluster;" \
        "nothing to install or move"
    ;;
yes/no)
    before="$(provider_names "$workload")"
    mapfile -t providers < <(pinned_provider_flags)
    log "clusterctl init --infrastructure tinkerbell against the workload cluster (${providers[*]})"
    clusterctl init --config "$config" --kubeconfig "$workload" "${providers[@]}" \
        --wait-providers --wait-provider-timeout "$wait_timeout" >&2
    after="$(provider_names "$workload")"
    added="$(comm -13 <(sed '/^$/d' <<<"$before") <(sed '/^$/d' <<<"$after"))"
    log "clusterctl move -n ${NAMESPACE}: management cluster -> workload cluster"
    clusterctl move --config "$config" --kubeconfig "$mgmt" --to-kubeconfig "$workload" -n "$NAMESPACE" >&2
    log "cluster ${CLUSTER_NAME} now manages itself"
    ;;
yes/yes)
    log "cluster ${CLUSTER_NAME} is in both the management and the workload cluster: a move stopped half-way." \
        "Look at both (clusterctl describe cluster ${CLUSTER_NAME} -n ${NAMESPACE}), remove the incomplete copy," \
        "then run up again"
    exit 1
    ;;
*)
    log "cluster ${CLUSTER_NAME} is in neither the management nor the workload cluster in namespace ${NAMESPACE};" \
        "nothing to move"
    exit 1
    ;;
esac

# What an earlier run recorded stays recorded while it is still installed.
present="$(provider_names "$workload")"
printf 'installed=%s\n' "$(installed_record "$earlier" "$present" "$added")"
