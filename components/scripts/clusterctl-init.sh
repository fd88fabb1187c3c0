#!/usr/bin/env bash
# clusterctl-init: install Cluster API with the Tinkerbell infrastructure provider (CAPT) into the
# KinD management cluster.
#
# Environment:
#   KUBECONFIG_CONTENT         kubeconfig of the KinD cluster (required, secret; written to a private temp
#                              file that is removed on exit, never echoed, never in an argv)
#   CLUSTERCTL_CONFIG_CONTENT  the rendered clusterctl.yaml (required); written to $STATE_DIR/clusterctl.yaml
#   STATE_DIR                  the stack's output directory (required; created). clusterctl's XDG
#                              directories go to $STATE_DIR/xdg, its output to $STATE_DIR/clusterctl-init.log;
#                              what the script creates there is recorded (lib/owned-files.sh) for the delete
#                              step, and an xdg, clusterctl.yaml or log the stack did not create stops it
#   TINKERBELL_IP              the Tinkerbell VIP, read by CAPT's components template (required)
#   WAIT_PROVIDER_TIMEOUT      seconds clusterctl waits for each provider's deployment (default 600)
#   MANAGEMENT_CLUSTER         "kind" (default: the lab's own KinD cluster) or "existing" (a cluster the user
#                              gave, see "Existing management cluster" below)
#   CAPI_VERSION               the core and kubeadm providers' version (clusterctlVersion, required): what
#                              init installs, as the Cluster API Operator does; existing: also the lowest
#                              version adopted
#   CAPT_VERSION               the Tinkerbell provider's version (captVersion, required): what init installs
#                              and, existing, the only version adopted
#   PULUMI_COMMAND_STDOUT      existing only: this script's previous stdout (the Command's previous output),
#                              so that a re-run keeps the record of what an earlier run installed; a run
#                              that never finished leaves its inventory-before in
#                              $STATE_DIR/xdg/.capt-playground-providers-before for the next run
# stdout: kind: nothing. existing: one line `installed=<providers>`, the clusterctl inventory names
#         (e.g. cluster-api,bootstrap-kubeadm,control-plane-kubeadm,infrastructure-tinkerbell) that this
#         stack installed, empty when it adopted what was there; clusterctl-delete reads it.
# stderr: progress messages and clusterctl's own output
#
# Versions: every provider is asked for at an explicit version, `--core cluster-api:$CAPI_VERSION
# --bootstrap kubeadm:$CAPI_VERSION --control-plane kubeadm:$CAPI_VERSION --infrastructure
# tinkerbell:$CAPT_VERSION`, the versions the Cluster API Operator installer pins. Without them clusterctl
# would install the newest Cluster API release of its contract (the core provider's URL is
# .../releases/latest/..., resolved by cmd/clusterctl/client/repository/repository_versions.go
# latestContractRelease), so a lab made next month would differ from one made today. CAPT's URL in
# clusterctl.yaml already names the release (.../releases/$CAPT_VERSION/...); `tinkerbell:$CAPT_VERSION`
# asks for that same release (client/common.go parseProviderName, repository/components_client.go).
#
# Idempotency: the script runs `clusterctl init` every time and relies on clusterctl itself, which
# has been idempotent since v1.2.0 (cluster-api commit 1da5d29 "make clusterctl init idempotent";
# see cmd/clusterctl/client/init.go and client/cluster/installer.go):
#   - a requested provider whose name, namespace, type and version already appear in the clusterctl
#     inventory is skipped (addToInstaller), so a re-run at the same versions installs nothing and
#     waits for nothing;
#   - cert-manager is skipped when its API already answers (EnsureInstalled);
#   - each provider's objects are created or patched and its inventory entry is written only after
#     them, so a run that failed half-way through a provider re-applies that provider on the next run;
#     and since the kubeadm providers are always asked for, a run that failed after the core provider
#     was recorded but before them adds them on the next run.
# This needs no kubectl and no probe of our own. The script refuses clusterctl older than v1.2.0.
# When a *different* version of a provider is installed (e.g. captVersion or clusterctlVersion changed,
# or a lab made before the versions were pinned got a newer Cluster API), clusterctl fails with "there
# is already an instance of the ... provider installed" before it installs anything; that is reported
# as an error with the way out, never treated as success, because the cluster would not match the
# configuration. Known gap, inherited from clusterctl: a re-run after a first run that timed out in
# --wait-providers does not wait again (nothing is left to install).
#
# Existing management cluster (MANAGEMENT_CLUSTER=existing): the providers may be the user's. The
# script reads clusterctl's inventory (the Provider objects, providers.clusterctl.cluster.x-k8s.io;
# needs kubectl) before and after. When the lab's four providers are all there, infrastructure-tinkerbell
# at CAPT_VERSION and the core and kubeadm providers at CAPI_VERSION or newer, it adopts them and runs
# no `clusterctl init` at all. Otherwise it runs init as above, which adds only what is missing: it asks
# for a core or kubeadm provider (at CAPI_VERSION) only when the inventory lacks it (all three when
# there is no core provider), so one the user installed at another version is left alone. Either
# way it prints which providers this stack installed (what init added, plus what an earlier run recorded
# and is still there), so that the delete step (clusterctl-delete) removes those and nothing else.
set -euo pipefail

log() { printf 'clusterctl-init: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/clusterctl-providers.sh
source "${BASH_SOURCE[0]%/*}/lib/clusterctl-providers.sh"
# shellcheck source-path=SCRIPTDIR source=lib/owned-files.sh
source "${BASH_SOURCE[0]%/*}/lib/owned-files.sh"
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${CLUSTERCTL_CONFIG_CONTENT:?CLUSTERCTL_CONFIG_CONTENT is required}"
: "${STATE_DIR:?STATE_DIR is required}"
: "${TINKERBELL_IP:?TINKERBELL_IP is required}"
wait_timeout="${WAIT_PROVIDER_TIMEOUT:-600}"
management="${MANAGEMENT_CLUSTER:-kind}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT
: "${CAPI_VERSION:?CAPI_VERSION is required (clusterctlVersion)}"
: "${CAPT_VERSION:?CAPT_VERSION is required (captVersion)}"
case "$management" in
kind) ;;
existing)
    if ! command -v kubectl >/dev/null; then
        log "kubectl is required to read the Cluster API providers of an existing management cluster; install it"
        exit 2
    fi
    ;;
*)
    log "MANAGEMENT_CLUSTER must be kind or existing, got: ${management}"
    exit 2
    ;;
esac
if ! [[ "$wait_timeout" =~ ^[1-9][0-9]*$ ]]; then
    log "WAIT_PROVIDER_TIMEOUT must be a positive number of seconds, got: ${wait_timeout}"
    exit 2
fi

refuse_symlink_on_path "$STATE_DIR" "to write clusterctl's files into ${STATE_DIR}"
mkdir -p -- "$STATE_DIR"
state_dir="$(cd -- "$STATE_DIR" && pwd)"
owned_claim "$state_dir" "$CLUSTERCTL_CONFIG_CONTENT"
xdg_before="$(owned_begin_run "$state_dir")"
# clusterctl otherwise writes ~/.config/cluster-api and reads /etc/xdg/cluster-api.
clusterctl_environment "${state_dir}/xdg"
export TINKERBELL_IP

umask 077
kubeconfig=""
config_tmp=""
errors=""
# Whatever clusterctl wrote below xdg is recorded, however the script ends.
trap 'rm -f -- ${kubeconfig:+"$kubeconfig"} ${config_tmp:+"$config_tmp"} ${errors:+"$errors"}; owned_end_run "$state_dir" "$xdg_before"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
kubeconfig="$(mktemp -- "${TMPDIR:-/tmp}/clusterctl-init-kubeconfig.XXXXXX")"
printf '%s' "$KUBECONFIG_CONTENT" >"$kubeconfig"
unset KUBECONFIG_CONTENT

config="${state_dir}/clusterctl.yaml"
# The temp file lives in the lab's own xdg folder: nothing of the lab's is left beside a user's files.
config_tmp="$(mktemp -- "${state_dir}/xdg/.clusterctl.yaml.XXXXXX")"
printf '%s' "$CLUSTERCTL_CONFIG_CONTENT" >"$config_tmp"
mv -f -- "$config_tmp" "$config"
config_tmp=""

version="$(clusterctl version -o short 2>/dev/null || true)"
if [[ "$version" =~ ^v?([0-9]+)\.([0-9]+)\. ]]; then
    major="${BASH_REMATCH[1]}"
    minor="${BASH_REMATCH[2]}"
    if ((major < 1 || (major == 1 && minor < 2))); then
        log "clusterctl ${version} is older than v1.2.0, whose init is not idempotent; install a current clusterctl"
        exit 1
    fi
else
    log "could not read clusterctl's version; assuming v1.2.0 or newer"
fi

# The version of one provider in an inventory ("" when absent).
version_in() { awk -v p="$2" '$1 == p { print $2 }' <<<"$1"; }

# True when version $1 is $2 or newer.
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# True when the lab's providers are all in the inventory $1 at the wanted versions.
adoptable() {
    local p v
    for p in cluster-api bootstrap-kubeadm control-plane-kubeadm; do
        v="$(version_in "$1" "$p")"
        [ -n "$v" ] && at_least "$v" "$CAPI_VERSION" || return 1
    done
    [ "$(version_in "$1" infrastructure-tinkerbell)" = "$CAPT_VERSION" ]
}

output_log="${state_dir}/clusterctl-init.log"

# clusterctl init with the given provider flags; its output to the log whole, and to stderr with lines
# clipped (clip_lines: the Command's log reader stops at a line over 64 KiB and the script then hangs);
# its exit in status.
run_init() {
    set +e
    clusterctl init --config "$config" --kubeconfig "$kubeconfig" "$@" \
        --wait-providers --wait-provider-timeout "$wait_timeout" 2>&1 | tee "$output_log" | clip_lines >&2
    status="${PIPESTATUS[0]}"
    set -e
}

# True when init refused because the core or kubeadm providers are installed at another version (and
# nothing else conflicted): clusterctl checks every provider before it installs any.
core_version_conflict() {
    grep -Eq 'already an instance of the "(cluster-api|bootstrap-kubeadm|control-plane-kubeadm)" provider' "$1" &&
        ! grep -q 'already an instance of the "infrastructure-tinkerbell" provider' "$1"
}
adopted=no
# The inventory before the first run of this create, kept until a run finishes: a run killed after
# clusterctl installed a provider (SIGKILL runs no trap, and the Command records no stdout) would
# otherwise leave the next run taking that provider for the user's, and destroy would never remove it.
before_record="${state_dir}/xdg/.capt-playground-providers-before"
if [ "$management" = existing ]; then
    errors="$(mktemp -- "${TMPDIR:-/tmp}/clusterctl-init-errors.XXXXXX")"
    if [ -f "$before_record" ] && [ ! -L "$before_record" ]; then
        before="$(cat -- "$before_record")"
        log "an earlier run of this create did not finish; the providers it may have installed count as this stack's"
    else
        before="$(provider_inventory "$kubeconfig")"
        printf '%s\n' "$before" >"$before_record"
    fi
    if adoptable "$before"; then
        log "the management cluster already has the lab's providers (core and kubeadm ${CAPI_VERSION} or newer," \
            "tinkerbell ${CAPT_VERSION}); adopting them without installing anything. Destroy leaves them in place."
        adopted=yes
        after="$before"
        added=""
    fi
fi

if [ "$adopted" = no ]; then
    # The providers init asks for, each at the version the operator installer pins.
    mapfile -t providers < <(pinned_provider_flags)
    if [ "$management" = existing ] && [ -n "$(version_in "$before" cluster-api)" ]; then
        # The user's core and kubeadm providers stay at whatever version they are; only missing ones are added.
        providers=()
        for flag in bootstrap control-plane; do
            if [ -z "$(version_in "$before" "${flag}-kubeadm")" ]; then
                providers+=("--${flag}" "kubeadm:${CAPI_VERSION}")
            fi
        done
        providers+=(--infrastructure "tinkerbell:${CAPT_VERSION}")
    fi
    log "clusterctl init ${providers[*]} (providers already installed at the same version are skipped)"
    run_init "${providers[@]}"
    if [ "$status" -ne 0 ] && [ "$management" = kind ] && core_version_conflict "$output_log"; then
        # A lab made before the versions were pinned got the newest Cluster API of clusterctl's
        # contract. clusterctl init never changes installed versions, and neither does the lab: it keeps
        # that core (clusterctl refused before installing anything) and asks only for CAPT.
        log "Cluster API is already installed at another version than clusterctlVersion ${CAPI_VERSION}" \
            "(kubectl get providers.clusterctl.cluster.x-k8s.io -A shows it); keeping it. Upgrade with" \
            "\`clusterctl upgrade apply\` or recreate the lab to get ${CAPI_VERSION}."
        run_init --infrastructure "tinkerbell:${CAPT_VERSION}"
    fi

    if [ "$status" -ne 0 ]; then
        if grep -q "there is already an instance of" "$output_log"; then
            log "a different version of a provider is already installed in the management cluster than the lab" \
                "pins (core and kubeadm ${CAPI_VERSION}: clusterctlVersion; tinkerbell ${CAPT_VERSION}: captVersion);" \
                "clusterctl init never changes installed versions. Set those config keys to the installed versions," \
                "upgrade with \`clusterctl upgrade apply --config ${config} ...\` against the management cluster," \
                "or recreate the lab."
        fi
        log "clusterctl init failed (exit ${status}); its output is in ${output_log}"
        exit "$status"
    fi
    log "management cluster initialised"
    if [ "$management" = existing ]; then
        after="$(provider_inventory "$kubeconfig")"
        added="$(comm -13 <(cut -d' ' -f1 <<<"$before" | sed '/^$/d') <(cut -d' ' -f1 <<<"$after" | sed '/^$/d'))"
    fi
fi

# The providers' admission webhooks (ValidatingWebhookConfigurations and MutatingWebhookConfigurations
# clusterctl labelled) answer before the lab applies its Cluster API objects: --wait-providers waits
# for the deployments, but the API server reaches a webhook through its Service, which refuses
# connections until the EndpointSlice lists a ready pod and kube-proxy has programmed it (seen in the
# real-lab suite: "failed calling webhook ... connection refused" right after init). kubectl reads
# the configurations and EndpointSlices; without it on PATH the script says so and does not wait.
wait_for_webhooks() {
    if ! command -v kubectl >/dev/null; then
        log "kubectl is not on PATH: not waiting for the providers' webhooks to have ready endpoints"
        return 0
    fi
    local deadline services service waiting
    deadline=$(($(date +%s) + wait_timeout))
    services="$(kubectl --kubeconfig "$kubeconfig" get validatingwebhookconfigurations,mutatingwebhookconfigurations \
        -l clusterctl.cluster.x-k8s.io \
        -o jsonpath='{range .items[*].webhooks[*]}{.clientConfig.service.namespace}/{.clientConfig.service.name}{"\n"}{end}' |
        sed '/^\/$/d;/^$/d' | LC_ALL=C sort -u)"
    while :; do
        waiting=()
        for service in $services; do
            if ! kubectl --kubeconfig "$kubeconfig" get endpointslices -n "${service%%/*}" \
                -l "kubernetes.io/service-name=${service#*/}" \
                -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' 2>/dev/null | grep -qx true; then
                waiting+=("$service")
            fi
        done
        if [ "${#waiting[@]}" -eq 0 ]; then
            break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "the providers' webhook services ${waiting[*]} have no ready endpoint after ${wait_timeout}s;" \
                "see kubectl --kubeconfig ${kubeconfig} get pods -A"
            exit 1
        fi
        sleep 2
    done
    # kube-proxy programs a Service's rules shortly after its EndpointSlice changes.
    [ -z "$services" ] || sleep 3
    log "the providers' webhooks have ready endpoints: $(wc -w <<<"$services") services"
}
wait_for_webhooks

if [ "$management" = existing ]; then
    # What an earlier run recorded stays recorded while it is still installed.
    installed="$(installed_record "$(recorded_providers "$previous")" "$(cut -d' ' -f1 <<<"$after")" "$added")"
    log "providers installed by this stack (removed again on destroy): ${installed:-none}"
    printf 'installed=%s\n' "$installed"
    rm -f -- "$before_record"
fi
