#!/usr/bin/env bash
# docker.sh: make sure a docker daemon answers on this machine (Debian, root, no systemd).
#
# Usage: tests/e2e/toolchain/docker.sh
# Environment:
#   DOCKERD_LOG           dockerd's log file (default /var/log/capt-e2e-dockerd.log, or
#                         $CAPT_E2E_CACHE/docker/dockerd.log when /var/log is not writable)
#   DOCKERD_STORAGE       storage driver (default vfs: works on any filesystem, including overlay
#                         roots where overlay2 cannot nest)
#   DOCKERD_WAIT_SECONDS  how long to wait for `docker info` (default 60)
#   DOCKERD_RESTART       1: restart a dockerd this script started when it lacks the runtime below,
#                         even with containers running (they stop; restart policies bring them back)
# stdout: nothing
# stderr: progress
#
# Idempotent: when `docker info` already answers nothing is done. Otherwise Debian's docker.io is
# installed if missing, and dockerd (which starts its own containerd) is started detached from this
# shell (setsid + nohup, so it outlives the caller), unless a dockerd process already exists, in
# which case the script only waits for it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=docker.sh
log() { e2e_log "$me" "$@"; }

storage="${DOCKERD_STORAGE:-vfs}"
wait_seconds="${DOCKERD_WAIT_SECONDS:-60}"
if [ -n "${DOCKERD_LOG:-}" ]; then
    logfile="$DOCKERD_LOG"
elif [ -w /var/log ]; then
    logfile=/var/log/capt-e2e-dockerd.log
else
    logfile="$(e2e_cache_root)/docker/dockerd.log"
fi

# needs_capfilter: the bounding set lacks a capability the kernel knows.
needs_capfilter() {
    local bnd last
    bnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
    last="$(cat /proc/sys/kernel/cap_last_cap)"
    (((16#$bnd & ((1 << (last + 1)) - 1)) != ((1 << (last + 1)) - 1)))
}
runtime_name=capt-e2e-runc
runtime_args=()
if needs_capfilter; then
    runc_path="$(command -v runc || echo /usr/sbin/runc)"
    src="$here/docker/runc-capfilter"
    sum="$(sed "s|@RUNC@|${runc_path}|" "$src" | sha256sum | cut -c1-12)"
    wrapper="$(e2e_cache_root)/docker/runc-capfilter-${sum}"
    if [ ! -x "$wrapper" ]; then
        mkdir -p "$(dirname "$wrapper")"
        sed "s|@RUNC@|${runc_path}|" "$src" >"$wrapper.tmp"
        chmod 0755 "$wrapper.tmp"
        mv -f "$wrapper.tmp" "$wrapper"
    fi
    runtime_args=(--add-runtime "${runtime_name}=${wrapper}" --default-runtime "$runtime_name")
fi
pidfile="${logfile%.log}.pid"

if docker info >/dev/null 2>&1; then
    if [ "${#runtime_args[@]}" -eq 0 ] || [ "$(docker info -f '{{.DefaultRuntime}}')" = "$runtime_name" ]; then
        log "docker daemon already answers"
        exit 0
    fi
    log "this machine's capability bounding set is restricted and the running dockerd lacks the ${runtime_name} runtime: privileged containers would fail"
    daemon_pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
    if [ -z "$daemon_pid" ] || [ "$daemon_pid" != "$(cat "$pidfile" 2>/dev/null || true)" ]; then
        log "that dockerd was not started by this script; restart it with: ${runtime_args[*]}"
        exit 1
    fi
    if [ -n "$(docker ps -q)" ] && [ "${DOCKERD_RESTART:-0}" != 1 ]; then
        log "containers are running; set DOCKERD_RESTART=1 to restart dockerd anyway"
        exit 1
    fi
    log "restarting dockerd (pid ${daemon_pid}) with the ${runtime_name} runtime"
    kill -TERM "$daemon_pid"
    for _ in $(seq 1 60); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
        log "dockerd (pid ${daemon_pid}) did not stop within 30s"
        exit 1
    fi
fi

if ! dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q "install ok installed"; then
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
command -v dockerd >/dev/null || {
    log "dockerd is not on PATH after installing docker.io"
    exit 1
}

start="$(e2e_now)"
if pgrep -x dockerd >/dev/null; then
    log "dockerd is running but does not answer yet; waiting"
else
    mkdir -p "$(dirname "$logfile")"
    # A stale pid file from a killed daemon makes dockerd refuse to start.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    log "starting dockerd --storage-driver=${storage} ${runtime_args[*]} (log: ${logfile})"
    e2e_spawn "$pidfile" "$logfile" dockerd --storage-driver="$storage" "${runtime_args[@]}"
fi

deadline=$((SECONDS + wait_seconds))
until docker info >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        log "docker info does not answer after ${wait_seconds}s; last lines of ${logfile}:"
        tail -n 20 "$logfile" >&2 || true
        exit 1
    fi
    if ! pgrep -x dockerd >/dev/null; then
        log "dockerd exited; last lines of ${logfile}:"
        tail -n 20 "$logfile" >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "docker daemon answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null), storage $(docker info -f '{{.Driver}}'), runtime $(docker info -f '{{.DefaultRuntime}}')) after $(e2e_elapsed "$start")s"
