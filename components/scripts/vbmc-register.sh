#!/usr/bin/env bash
# vbmc-register: register one libvirt domain with vbmcd in the virtual BMC container (an IPMI
# endpoint) and start it.
#
# Environment:
#   VBMC_CONTAINER     name of the virtual BMC container (required)
#   VBMC_DOMAIN        libvirt domain name, which is also the BMC's name (required)
#   VBMC_PORT          IPMI UDP port of this BMC (required)
#   VBMC_USERNAME      IPMI user name (required)
#   VBMC_PASSWORD      IPMI password (required, secret; sent on stdin only, never echoed, never in an argv)
#   VBMC_LIBVIRT_URI   libvirt URI vbmcd uses inside the container (default qemu:///system)
#   VBMC_CONFIG_DIR    vbmcd's config_dir inside the container (default /root/.vbmc)
#   VBMC_WAIT_SECONDS  how long to wait for the container to accept `docker exec` and for vbmcd to
#                      answer (default 60)
# stdout: nothing
# stderr: progress messages
#
# How: `vbmc add --password` would put the password in an argv inside the container, so this script
# writes the per-domain file vbmcd's manager reads with configparser, $VBMC_CONFIG_DIR/<domain>/config,
# section [VirtualBMC], in the exact layout vbmcd itself writes, sent over `docker exec -i` on stdin.
# Only paths and the domain name (as positional parameters) appear in the `sh -c` argv.
# `%` is written as `%%` because configparser interpolates values.
#
# Idempotent and converging:
#   - unchanged file: nothing is rewritten; `vbmc start` is a no-op for a running BMC;
#   - changed file (port, user, password, URI): vbmcd keeps a running BMC on its old settings, so the
#     new file is first written with active = False, `vbmc stop` ends the old instance (vbmcd does not
#     need to rewrite the file for that), then the file with active = True goes in place and
#     `vbmc start` starts the BMC with the new settings;
#   - a run that stopped half-way leaves a file that differs from the wanted one, so the next run takes
#     the "changed" path again.
set -euo pipefail

log() { printf 'vbmc-register: %s\n' "$*" >&2; }
fail() {
    log "$*"
    exit 2
}

: "${VBMC_CONTAINER:?VBMC_CONTAINER is required}"
: "${VBMC_DOMAIN:?VBMC_DOMAIN is required}"
: "${VBMC_PORT:?VBMC_PORT is required}"
: "${VBMC_USERNAME:?VBMC_USERNAME is required}"
: "${VBMC_PASSWORD:?VBMC_PASSWORD is required}"
libvirt_uri="${VBMC_LIBVIRT_URI:-qemu:///system}"
config_dir="${VBMC_CONFIG_DIR:-/root/.vbmc}"
wait_seconds="${VBMC_WAIT_SECONDS:-60}"

# The domain name becomes a directory name inside the container.
[[ "$VBMC_DOMAIN" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || fail "VBMC_DOMAIN is not a plain domain name: ${VBMC_DOMAIN}"
[[ "$VBMC_PORT" =~ ^[0-9]{1,5}$ ]] || fail "VBMC_PORT is not a port number: ${VBMC_PORT}"
port=$((10#$VBMC_PORT))
if ((port < 1 || port > 65535)); then
    fail "VBMC_PORT is out of range: ${VBMC_PORT}"
fi
[[ "$wait_seconds" =~ ^[0-9]+$ ]] || fail "VBMC_WAIT_SECONDS must be a whole number of seconds"
[[ "$config_dir" == /* ]] || fail "VBMC_CONFIG_DIR must be an absolute path: ${config_dir}"

# A configparser value is one line without surrounding blanks. Names the variable, never the value.
require_one_line() {
    case "$2" in
    *$'\n'* | *$'\r'* | [[:space:]]* | *[[:space:]]) fail "$1 must be one line without leading or trailing blanks" ;;
    esac
}
require_one_line VBMC_USERNAME "$VBMC_USERNAME"
require_one_line VBMC_PASSWORD "$VBMC_PASSWORD"
require_one_line VBMC_LIBVIRT_URI "$libvirt_uri"

pct='%'
body="$(
    printf '[VirtualBMC]\n'
    printf 'username = %s\n' "${VBMC_USERNAME//"$pct"/%%}"
    printf 'password = %s\n' "${VBMC_PASSWORD//"$pct"/%%}"
    printf 'address = 0.0.0.0\n'
    printf 'port = %s\n' "$port"
    printf 'domain_name = %s\n' "$VBMC_DOMAIN"
    printf 'libvirt_uri = %s\n' "${libvirt_uri//"$pct"/%%}"
)"
unset VBMC_PASSWORD

deadline=$((SECONDS + wait_seconds))

log "waiting for container ${VBMC_CONTAINER} to accept docker exec"
until out="$(docker exec "$VBMC_CONTAINER" true 2>&1)"; do
    if ((SECONDS >= deadline)); then
        log "container ${VBMC_CONTAINER} does not accept docker exec after ${wait_seconds}s: ${out}"
        exit 1
    fi
    sleep 1
done

# Runs inside the container with $1 = config dir, $2 = domain; the file body arrives on stdin.
# shellcheck disable=SC2016 # expanded by the container's sh, not here
stage='set -eu
umask 077
d="$1/$2"
mkdir -p "$d"
cat >"$d/config.body"
{ cat "$d/config.body"; printf "active = True\n\n"; } >"$d/config.new"
if [ -f "$d/config" ] && cmp -s "$d/config.new" "$d/config"; then
    rm -f "$d/config.new" "$d/config.body"
    echo unchanged
elif [ -f "$d/config" ]; then
    { cat "$d/config.body"; printf "active = False\n\n"; } >"$d/config.off"
    mv -f "$d/config.off" "$d/config"
    rm -f "$d/config.body"
    echo changed
else
    mv -f "$d/config.new" "$d/config"
    rm -f "$d/config.body"
    echo new
fi'
state="$(printf '%s\n' "$body" | docker exec -i "$VBMC_CONTAINER" sh -c "$stage" sh "$config_dir" "$VBMC_DOMAIN")"
unset body

case "$state" in
unchanged) log "registration of ${VBMC_DOMAIN} is up to date" ;;
new) log "registered ${VBMC_DOMAIN} on port ${port}" ;;
changed)
    log "registration of ${VBMC_DOMAIN} changed; restarting its BMC with the new settings"
    if ! out="$(docker exec "$VBMC_CONTAINER" vbmc stop "$VBMC_DOMAIN" 2>&1)"; then
        log "vbmc stop ${VBMC_DOMAIN} failed (continuing): ${out}"
    fi
    # shellcheck disable=SC2016 # expanded by the container's sh, not here
    docker exec "$VBMC_CONTAINER" sh -c 'mv -f "$1/$2/config.new" "$1/$2/config"' sh "$config_dir" "$VBMC_DOMAIN"
    ;;
*)
    log "unexpected answer from the container while writing the registration: ${state}"
    exit 1
    ;;
esac

# vbmcd may still be starting in a fresh container; `vbmc start` on a running BMC succeeds and changes nothing.
until out="$(docker exec "$VBMC_CONTAINER" vbmc start "$VBMC_DOMAIN" 2>&1)"; do
    if [[ "$out" == *"already running"* ]]; then
        break
    fi
    if ((SECONDS >= deadline)); then
        log "vbmc start ${VBMC_DOMAIN} failed: ${out}"
        exit 1
    fi
    sleep 1
done
log "BMC of ${VBMC_DOMAIN} started (port ${port})"
