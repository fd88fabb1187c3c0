#!/usr/bin/env bash
# clusterctl-clean: remove what clusterctl-init (and wait-kubeconfig) wrote into the stack's output
# directory, then the directory itself if that is now empty. The delete step of the clusterctl Command.
#
# Environment:
#   STATE_DIR  the stack's output directory (required)
# stdout: nothing
# stderr: progress messages
#
# Removes exactly $STATE_DIR/clusterctl.yaml, $STATE_DIR/clusterctl-init.log, leftover
# $STATE_DIR/.clusterctl.yaml.* temp files of an interrupted init and $STATE_DIR/xdg (clusterctl's
# XDG directories, which the lab redirects there). Anything else in $STATE_DIR stays, and so does the
# directory while anything is left in it. The providers themselves live in the KinD cluster and go
# with it. Tolerant: a missing file or directory is fine, so a second run succeeds.
set -euo pipefail

log() { printf 'clusterctl-clean: %s\n' "$*" >&2; }

: "${STATE_DIR:?STATE_DIR is required}"
if [ ! -d "$STATE_DIR" ]; then
    log "${STATE_DIR} does not exist; nothing to remove"
    exit 0
fi
state_dir="$(cd -- "$STATE_DIR" && pwd)"

rm -f -- "${state_dir}/clusterctl.yaml" "${state_dir}/clusterctl-init.log" "${state_dir}"/.clusterctl.yaml.*
rm -rf -- "${state_dir}/xdg"
log "removed clusterctl's files from ${state_dir}"
if rmdir -- "$state_dir" 2>/dev/null; then
    log "removed the empty directory ${state_dir}"
fi
