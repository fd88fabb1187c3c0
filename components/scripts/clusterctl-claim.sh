#!/usr/bin/env bash
# clusterctl-claim: claim the names clusterctl-init writes in the stack's output directory (xdg,
# clusterctl.yaml, clusterctl-init.log) before it runs. The create step of the ClusterApi's files
# Command; its delete step is clusterctl-clean.
#
# Why a Command of its own: Pulumi records a resource only once its create returned. An `up` killed
# while clusterctl init runs (minutes) leaves init out of state, so `destroy` never runs its delete and
# the files it wrote would stay. This claim finishes in milliseconds, before init starts, so every
# stack that can have written those files has a delete that removes them.
#
# Environment:
#   STATE_DIR                  the stack's output directory (required; created)
#   CLUSTERCTL_CONFIG_CONTENT  the rendered clusterctl.yaml (required): a lab made before the record
#                              existed left exactly that file, which is then adopted (lib/owned-files.sh)
# stdout: nothing
# stderr: progress messages
#
# Refuses (exit 1, nothing written) when xdg, clusterctl.yaml or clusterctl-init.log exist and this
# stack did not create them. Idempotent: a second run finds its own record and changes nothing.
set -euo pipefail

log() { printf 'clusterctl-claim: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/owned-files.sh
source "${BASH_SOURCE[0]%/*}/lib/owned-files.sh"
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

: "${STATE_DIR:?STATE_DIR is required}"
: "${CLUSTERCTL_CONFIG_CONTENT:?CLUSTERCTL_CONFIG_CONTENT is required}"

refuse_symlink_on_path "$STATE_DIR" "to write clusterctl's files into ${STATE_DIR}"
mkdir -p -- "$STATE_DIR"
state_dir="$(cd -- "$STATE_DIR" && pwd)"
owned_claim "$state_dir" "$CLUSTERCTL_CONFIG_CONTENT"
