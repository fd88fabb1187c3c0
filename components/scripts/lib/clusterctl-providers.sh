# shellcheck shell=bash disable=SC2154 # log, errors, CLUSTER_NAME and NAMESPACE come from the sourcing script
# Shared by the scripts that run clusterctl (clusterctl-init, clusterctl-delete, wait-kubeconfig,
# pivot-move, pivot-back): clusterctl's environment, the provider versions the lab pins, reading its
# provider inventory and the lab's Cluster, the record of the providers a stack installed (its
# Command's stdout `installed=<names>`) and removing them, and a private work directory for secrets.
#
# Sourced, never run. The caller defines `log` (messages to stderr) and `errors` (a temp file for
# kubectl's stderr; private_workdir sets one), and for has_cluster CLUSTER_NAME and NAMESPACE.
# Kubeconfigs are file paths.

# "yes" when the cluster behind kubeconfig $1 has the lab's Cluster, "no" when not (or it has no Cluster
# API at all). $2 names that cluster in the error message.
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

# clusterctl's inventory in the cluster behind kubeconfig $1: one "<inventory name> <version>" line per
# provider (cluster-api, bootstrap-kubeadm, control-plane-kubeadm, infrastructure-tinkerbell, ...),
# sorted; nothing when Cluster API was never installed (no Provider CRD). Fails when it cannot be read.
provider_inventory() {
    local out type name version
    if ! out="$(kubectl --kubeconfig "$1" get providers.clusterctl.cluster.x-k8s.io -A \
        -o 'jsonpath={range .items[*]}{.type}{" "}{.providerName}{" "}{.version}{"\n"}{end}' 2>"$errors")"; then
        if grep -q "doesn't have a resource type" "$errors"; then
            return 0
        fi
        log "cannot read the Cluster API provider inventory: $(tail -n 1 -- "$errors")"
        return 1
    fi
    while read -r type name version; do
        case "$type" in
        "") ;;
        CoreProvider) printf '%s %s\n' "$name" "$version" ;;
        BootstrapProvider) printf 'bootstrap-%s %s\n' "$name" "$version" ;;
        ControlPlaneProvider) printf 'control-plane-%s %s\n' "$name" "$version" ;;
        InfrastructureProvider) printf 'infrastructure-%s %s\n' "$name" "$version" ;;
        *) printf '%s-%s %s\n' "$type" "$name" "$version" ;;
        esac
    done <<<"$out" | sort
}

# The inventory names only, one a line.
provider_names() {
    local inventory
    inventory="$(provider_inventory "$1")" || return 1
    sed -n 's/ .*//p' <<<"$inventory"
}

# The providers clusterctl init is asked for, each at the version the lab pins (core and kubeadm at
# CAPI_VERSION, tinkerbell at CAPT_VERSION), never clusterctl's newest release: one argument a line.
pinned_provider_flags() {
    printf '%s\n' --core "cluster-api:${CAPI_VERSION}" --bootstrap "kubeadm:${CAPI_VERSION}" \
        --control-plane "kubeadm:${CAPI_VERSION}" --infrastructure "tinkerbell:${CAPT_VERSION}"
}

# The providers an earlier run recorded: the `installed=a,b` line of its stdout $1, one name a line, sorted.
recorded_providers() {
    sed -n 's/^installed=//p' <<<"$1" | tr ',' '\n' | sed '/^$/d' | sort -u
}

# The record a run leaves (comma-separated): what was recorded before ($1) and is still installed ($2),
# and what this run added ($3); each of them names one a line.
installed_record() {
    local kept
    kept="$(comm -12 <(sed '/^$/d' <<<"$1" | sort -u) <(sed '/^$/d' <<<"$2" | sort -u))"
    printf '%s\n%s\n' "$kept" "$3" | sed '/^$/d' | sort -u | paste -sd, -
}

# Exits 2 with one message when a tool named after $1 (what it is needed for) is not on PATH.
require_tools() {
    local purpose="$1" tool
    shift
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null; then
            log "${tool} is required ${purpose}; install it and run again"
            exit 2
        fi
    done
}

# clusterctl delete's flag for an inventory name ("" for a kind clusterctl delete has no flag for).
provider_delete_flag() {
    case "$1" in
    bootstrap-*) printf -- '--bootstrap %s' "${1#bootstrap-}" ;;
    control-plane-*) printf -- '--control-plane %s' "${1#control-plane-}" ;;
    infrastructure-*) printf -- '--infrastructure %s' "${1#infrastructure-}" ;;
    cluster-api) printf -- '--core %s' "$1" ;;
    esac
}

# Removes from the cluster behind kubeconfig $1 the providers named in $2 (inventory names, one a line)
# that are still installed, with their CRDs and namespaces, and nothing else: `--all` when they are
# every provider there, else one flag each. cert-manager stays (clusterctl delete never removes it).
remove_recorded_providers() {
    local kubeconfig="$1" recorded present ours others name
    local -a selection=()
    recorded="$(sed '/^$/d' <<<"$2" | sort -u)"
    if [ -z "$recorded" ]; then
        log "no Cluster API provider was installed by this stack; nothing to remove"
        return 0
    fi
    present="$(provider_names "$kubeconfig")" || return 1
    ours="$(comm -12 <(printf '%s\n' "$recorded") <(sed '/^$/d' <<<"$present"))"
    others="$(comm -13 <(printf '%s\n' "$recorded") <(sed '/^$/d' <<<"$present"))"
    if [ -z "$ours" ]; then
        log "none of the providers this stack installed ($(paste -sd, - <<<"$recorded")) is still installed"
        return 0
    fi
    if [ -z "$others" ]; then
        selection=(--all)
    else
        while read -r name; do
            # shellcheck disable=SC2207 # the flag is two words by design
            selection+=($(provider_delete_flag "$name"))
        done <<<"$ours"
        log "leaving the providers this stack did not install: $(paste -sd, - <<<"$others")"
    fi
    log "clusterctl delete ${selection[*]} --include-crd --include-namespace (installed by this stack:" \
        "$(paste -sd, - <<<"$ours"))"
    clusterctl delete --kubeconfig "$kubeconfig" "${selection[@]}" --include-crd --include-namespace >&2
    log "cert-manager, if clusterctl init installed it, stays: clusterctl never removes it"
}

# clusterctl's environment: its XDG directories (config, cache, state; it otherwise writes to ~/.config
# and /etc/xdg) all in directory $1, created if needed, and no version check against GitHub.
clusterctl_environment() {
    mkdir -p -- "$1"
    export XDG_CONFIG_HOME="$1" XDG_CONFIG_DIRS="$1" XDG_STATE_HOME="$1" XDG_CACHE_HOME="$1" \
        XDG_RUNTIME_DIR="$1" XDG_DATA_HOME="$1" XDG_DATA_DIRS="$1"
    export CLUSTERCTL_DISABLE_VERSIONCHECK=true
}

# A private work directory for secrets: a 0700 temp directory named after $1, removed on exit, with
# `errors` (kubectl's stderr) inside it. Sets work and errors. Call it from the script itself (not in a
# subshell): it installs the traps.
private_workdir() {
    umask 077
    work=""
    trap 'rm -rf -- ${work:+"$work"}' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    work="$(mktemp -d -- "${TMPDIR:-/tmp}/$1.XXXXXX")"
    errors="${work}/errors"
}

# The pivot scripts' work directory: both kubeconfigs and the clusterctl config written from their
# variables into a private work directory (private_workdir) and the variables unset, clusterctl's XDG
# directories inside it, its version check off. Sets work, mgmt, workload, config and errors.
pivot_workdir() {
    private_workdir "$1"
    mgmt="${work}/management.kubeconfig"
    workload="${work}/workload.kubeconfig"
    config="${work}/clusterctl.yaml"
    printf '%s' "$KUBECONFIG_CONTENT" >"$mgmt"
    printf '%s' "$WORKLOAD_KUBECONFIG_CONTENT" >"$workload"
    printf '%s' "$CLUSTERCTL_CONFIG_CONTENT" >"$config"
    unset KUBECONFIG_CONTENT WORKLOAD_KUBECONFIG_CONTENT CLUSTERCTL_CONFIG_CONTENT
    clusterctl_environment "${work}/xdg"
}

# Filter: each line cut to 4096 bytes. pulumi-command's local provider reads a Command's stderr with a
# bufio.Scanner (64 KiB lines at most; provider/pkg/provider/util LogOutput in v1.2.1): at a longer
# line it stops reading, the pipe fills, and the script blocks on its next write for ever. Tools print
# such lines (kubectl dumps a whole object in some errors), so whatever a tool prints to a Command's
# stderr goes through this.
clip_lines() {
    cut -b 1-4096
}
