#!/usr/bin/env bash
# clusterctl-clean: remove what clusterctl-init (and wait-kubeconfig) wrote into the stack's output
# directory, then the directory itself if that is now empty. The delete step of the clusterctl Command.
#
# Environment:
#   STATE_DIR  the stack's output directory (required)
# stdout: nothing
# stderr: progress messages
#
# Removes exactly what clusterctl-init recorded creating (lib/owned-files.sh): clusterctl.yaml,
# clusterctl-init.log, the files clusterctl wrote below xdg (the XDG directories the lab redirects
# there) and xdg itself once empty. Anything else in $STATE_DIR or below xdg stays, and so does the
# directory while anything is left in it; without a record nothing is removed. The providers
# themselves live in the KinD cluster and go with it. Tolerant: a missing file or directory is fine,
# so a second run succeeds.
set -euo pipefail

log() { printf 'clusterctl-clean: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/owned-files.sh
source "${BASH_SOURCE[0]%/*}/lib/owned-files.sh"
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

: "${STATE_DIR:?STATE_DIR is required}"
if [ ! -d "$STATE_DIR" ]; then
    log "${STATE_DIR} does not exist; nothing to remove"
    exit 0
fi
state_dir="$(cd -- "$STATE_DIR" && pwd)"

owned_remove "$state_dir"
