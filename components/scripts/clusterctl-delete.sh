#!/usr/bin/env bash
# clusterctl-delete: the delete step of clusterctl init against an existing management cluster (one the
# user gave, which outlives the lab). Removes the Cluster API providers this stack installed, and only
# those, then clusterctl's files in the output directory as clusterctl-clean does.
#
# Environment:
#   KUBECONFIG_CONTENT     kubeconfig of the management cluster (required, secret; written to a private
#                          temp file that is removed on exit, never echoed, never in an argv)
#   STATE_DIR              the stack's output directory (required): what clusterctl-init recorded creating
#                          there is removed (lib/owned-files.sh); clusterctl delete itself uses a private XDG dir
#   PULUMI_COMMAND_STDOUT  clusterctl-init's stdout (the Command's last output): `installed=<providers>`,
#                          the inventory names this stack installed. Absent or empty list: nothing is removed.
# stdout: nothing
# stderr: progress messages and clusterctl's own output
#
# Which providers: those clusterctl-init recorded as installed here and still in the inventory
# (providers.clusterctl.cluster.x-k8s.io; needs kubectl). When they are every provider in the cluster,
# `clusterctl delete --all`; otherwise one flag per provider (--core, --bootstrap, --control-plane,
# --infrastructure), so a provider someone else installed (before or after the lab) stays. With
# --include-crd and --include-namespace: the CRDs and namespaces came with those providers too.
# clusterctl never deletes cert-manager, and neither does this script (it may serve others).
# Adopted providers (an empty record) are left exactly as they were. An init killed before it finished
# recorded nothing; what it installed is told by the inventory it kept from before it started. A second run finds nothing
# recorded still installed and only cleans the files. Files removed: as clusterctl-clean.
set -euo pipefail

log() { printf 'clusterctl-delete: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/clusterctl-providers.sh
source "${BASH_SOURCE[0]%/*}/lib/clusterctl-providers.sh"
# shellcheck source-path=SCRIPTDIR source=lib/owned-files.sh
source "${BASH_SOURCE[0]%/*}/lib/owned-files.sh"
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${STATE_DIR:?STATE_DIR is required}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT
recorded="$(recorded_providers "$previous")"

state_dir=""
if [ -d "$STATE_DIR" ]; then
    state_dir="$(cd -- "$STATE_DIR" && pwd)"
fi

# An init that never finished (killed: its Command recorded no stdout) left the inventory from before
# it (clusterctl-init.sh): what was added since is this stack's too.
before_record=""
if [ -n "$state_dir" ] && [ -f "${state_dir}/xdg/.capt-playground-providers-before" ] &&
    [ ! -L "${state_dir}/xdg/.capt-playground-providers-before" ]; then
    before_record="${state_dir}/xdg/.capt-playground-providers-before"
fi

if [ -z "$recorded" ] && [ -z "$before_record" ]; then
    log "this stack installed no Cluster API provider in the management cluster; leaving the providers as they are"
    unset KUBECONFIG_CONTENT
else
    require_tools "to read the Cluster API providers of the management cluster" kubectl
    # clusterctl's XDG directories in the private work directory: whatever clusterctl delete writes
    # there goes with it, and nothing new lands in the output directory as destroy empties it.
    private_workdir clusterctl-delete
    clusterctl_environment "${work}/xdg"

    kubeconfig="${work}/kubeconfig"
    printf '%s' "$KUBECONFIG_CONTENT" >"$kubeconfig"
    unset KUBECONFIG_CONTENT

    if [ -n "$before_record" ]; then
        present="$(provider_names "$kubeconfig")"
        unfinished="$(comm -13 <(cut -d' ' -f1 "$before_record" | sed '/^$/d' | sort -u) <(sed '/^$/d' <<<"$present" | sort -u))"
        log "an init that never finished installed: $(paste -sd, - <<<"$unfinished" | sed 's/^$/none/')"
        recorded="$(printf '%s\n%s\n' "$recorded" "$unfinished" | sed '/^$/d' | sort -u)"
    fi
    remove_recorded_providers "$kubeconfig" "$recorded"
fi

if [ -n "$state_dir" ]; then
    owned_remove "$state_dir"
fi
