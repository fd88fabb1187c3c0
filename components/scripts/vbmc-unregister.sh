#!/usr/bin/env bash
# vbmc-unregister: stop and remove one domain's BMC from vbmcd in the virtual BMC container.
#
# Environment:
#   VBMC_CONTAINER   name of the virtual BMC container (required)
#   VBMC_DOMAIN      libvirt domain name = BMC name (required)
#   VBMC_CONFIG_DIR  vbmcd's config_dir inside the container (default /root/.vbmc)
# stdout: nothing
# stderr: progress messages
#
# Tolerant: succeeds when the container is gone or not running (its BMCs went with it) and when the
# domain is not registered. Only $VBMC_CONFIG_DIR/<domain> is ever touched, never other domains.
# Before `vbmc delete`, the registration is marked active = False in its file: `vbmc delete` stops
# the BMC by rewriting the file through configparser, which refuses values with `%` (our passwords
# may have one); when the file already says inactive, vbmcd only has to end the instance.
set -euo pipefail

log() { printf 'vbmc-unregister: %s\n' "$*" >&2; }

: "${VBMC_CONTAINER:?VBMC_CONTAINER is required}"
: "${VBMC_DOMAIN:?VBMC_DOMAIN is required}"
config_dir="${VBMC_CONFIG_DIR:-/root/.vbmc}"
if ! [[ "$VBMC_DOMAIN" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
    log "VBMC_DOMAIN is not a plain domain name: ${VBMC_DOMAIN}"
    exit 2
fi

if ! running="$(docker container inspect -f '{{.State.Running}}' "$VBMC_CONTAINER" 2>&1)"; then
    shopt -s nocasematch
    if [[ "$running" == *"no such container"* || "$running" == *"no such object"* ]]; then
        log "container ${VBMC_CONTAINER} is gone; nothing to unregister for ${VBMC_DOMAIN}"
        exit 0
    fi
    log "cannot inspect container ${VBMC_CONTAINER}: ${running}"
    exit 1
fi
if [ "$running" != "true" ]; then
    log "container ${VBMC_CONTAINER} is not running; its BMCs are not serving, nothing to unregister"
    exit 0
fi

# Runs inside the container with $1 = config dir, $2 = domain.
# shellcheck disable=SC2016 # expanded by the container's sh, not here
deactivate='set -eu
d="$1/$2"
if [ ! -f "$d/config" ]; then
    rm -rf "$d"
    echo absent
    exit 0
fi
sed "s/^active = .*/active = False/" "$d/config" >"$d/config.off"
mv -f "$d/config.off" "$d/config"
echo present'
state="$(docker exec "$VBMC_CONTAINER" sh -c "$deactivate" sh "$config_dir" "$VBMC_DOMAIN")"
if [ "$state" = "absent" ]; then
    log "${VBMC_DOMAIN} is not registered; nothing to do"
    exit 0
fi

if ! out="$(docker exec "$VBMC_CONTAINER" vbmc delete "$VBMC_DOMAIN" 2>&1)"; then
    if [[ "$out" == *"No domain with matching name"* ]]; then
        log "${VBMC_DOMAIN} was already unregistered"
        exit 0
    fi
    log "vbmc delete ${VBMC_DOMAIN} failed: ${out}"
    exit 1
fi
log "unregistered ${VBMC_DOMAIN}"
