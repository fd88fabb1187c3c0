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

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${WORKLOAD_KUBECONFIG_CONTENT:?WORKLOAD_KUBECONFIG_CONTENT is required}"
: "${CLUSTERCTL_CONFIG_CONTENT:?CLUSTERCTL_CONFIG_CONTENT is required}"
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${NAMESPACE:?NAMESPACE is required}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT
for tool in clusterctl kubectl; do
    if ! command -v "$tool" >/dev/null; then
        log "${tool} is required to move the cluster back; install it and run again"
        exit 2
    fi
done

umask 077
work=""
trap 'rm -rf -- ${work:+"$work"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
work="$(mktemp -d -- "${TMPDIR:-/tmp}/pivot-back.XXXXXX")"
mgmt="${work}/management.kubeconfig"
workload="${work}/workload.kubeconfig"
config="${work}/clusterctl.yaml"
errors="${work}/errors"
printf '%s' "$KUBECONFIG_CONTENT" >"$mgmt"
printf '%s' "$WORKLOAD_KUBECONFIG_CONTENT" >"$workload"
printf '%s' "$CLUSTERCTL_CONFIG_CONTENT" >"$config"
unset KUBECONFIG_CONTENT WORKLOAD_KUBECONFIG_CONTENT CLUSTERCTL_CONFIG_CONTENT

xdg="${work}/xdg"
mkdir -p -- "$xdg"
export XDG_CONFIG_HOME="$xdg" XDG_CONFIG_DIRS="$xdg" XDG_STATE_HOME="$xdg" XDG_CACHE_HOME="$xdg" \
    XDG_RUNTIME_DIR="$xdg" XDG_DATA_HOME="$xdg" XDG_DATA_DIRS="$xdg"
export CLUSTERCTL_DISABLE_VERSIONCHECK=true

# "yes" when the cluster behind kubeconfig $1 has the Cluster, "no" when not (or has no Cluster API).
has_cluster() {
    local out
    if out="$(kubectl --kubeconfig "$1" get clusters.cluster.x-k8s.io "$CLUSTER_NAME" -n "$NAMESPACE" \
        --ignore-not-found -o name 2>"$errors")"; then
        if [ -n "$out" ]; then echo yes; else echo no; fi
        return 0
    fi
    if grep -q "doesn't have a resource type" "$errors"; then
        echo no
        return 0
    fi
    log "cannot read Clusters from the $2 cluster: $(tail -n 1 -- "$errors")"
    return 1
}

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

recorded="$(sed -n 's/^installed=//p' <<<"$previous" | tr ',' '\n' | sed '/^$/d' | sort -u)"
if [ -z "$recorded" ]; then
    log "no Cluster API provider was installed in the workload cluster by the pivot; nothing to remove"
    exit 0
fi
if ! out="$(kubectl --kubeconfig "$workload" get providers.clusterctl.cluster.x-k8s.io -A \
    -o 'jsonpath={range .items[*]}{.type}{" "}{.providerName}{" "}{.version}{"\n"}{end}' 2>"$errors")"; then
    if ! grep -q "doesn't have a resource type" "$errors"; then
        log "cannot read the workload cluster's Cluster API provider inventory: $(tail -n 1 -- "$errors")"
        exit 1
    fi
    out=""
fi
present=""
flags=()
while read -r type name _; do
    case "$type" in
    "") continue ;;
    CoreProvider) label="$name" flag=(--core "$name") ;;
    BootstrapProvider) label="bootstrap-$name" flag=(--bootstrap "$name") ;;
    ControlPlaneProvider) label="control-plane-$name" flag=(--control-plane "$name") ;;
    InfrastructureProvider) label="infrastructure-$name" flag=(--infrastructure "$name") ;;
    *) label="$type-$name" flag=() ;;
    esac
    present="${present}${label}"$'\n'
    if grep -Fxq -- "$label" <<<"$recorded"; then
        flags+=("${flag[@]}")
    fi
done <<<"$out"
ours="$(comm -12 <(sort <<<"$recorded") <(sed '/^$/d' <<<"$present" | sort))"
others="$(comm -13 <(sort <<<"$recorded") <(sed '/^$/d' <<<"$present" | sort))"
if [ -z "$ours" ]; then
    log "none of the providers the pivot installed in the workload cluster is still there"
    exit 0
fi
if [ -z "$others" ]; then
    selection=(--all)
else
    selection=("${flags[@]}")
fi
log "clusterctl delete ${selection[*]} --include-crd --include-namespace against the workload cluster" \
    "(installed by the pivot: $(paste -sd, - <<<"$ours"))"
clusterctl delete --kubeconfig "$workload" "${selection[@]}" --include-crd --include-namespace >&2
