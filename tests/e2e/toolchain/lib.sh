# shellcheck shell=bash
# Shared helpers for the e2e toolchain scripts; sourced, never executed.
#
# Everything these scripts build or download lives OUTSIDE the clone, keyed by version, under
#   ${CAPT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e}/
# so that a fresh clone, `git clean` or another worktree reuses it.

e2e_cache_root() {
    printf '%s\n' "${CAPT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e}"
}

# e2e_log NAME MESSAGE...: progress on stderr, prefixed with the script's name.
e2e_log() {
    local name="$1"
    shift
    printf '%s: %s\n' "$name" "$*" >&2
}

# e2e_now: seconds since the epoch with milliseconds, for timings.
e2e_now() {
    date +%s.%N | cut -c1-14
}

# e2e_elapsed START: seconds since START (from e2e_now), one decimal.
e2e_elapsed() {
    awk -v s="$1" -v e="$(e2e_now)" 'BEGIN { printf "%.1f", e - s }'
}

# e2e_spawn PIDFILE LOGFILE COMMAND...: start COMMAND as a daemon that outlives the caller: its own
# session (setsid), immune to SIGHUP (nohup), stdin from /dev/null, output appended to LOGFILE, and
# no inherited descriptors above 2 (a daemon holding a caller's flock descriptor would hold the
# lock forever). PIDFILE gets the daemon's pid: the background subshell is not a process group
# leader, so setsid does not fork and the pid stays the same through both execs.
e2e_spawn() {
    local pidfile="$1" logfile="$2"
    shift 2
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd="${fd##*/}"
            if [ "$fd" -gt 2 ] 2>/dev/null; then
                eval "exec ${fd}>&-"
            fi
        done
        exec setsid nohup "$@" >>"$logfile" 2>&1 </dev/null
    ) &
    printf '%s\n' "$!" >"$pidfile"
}
