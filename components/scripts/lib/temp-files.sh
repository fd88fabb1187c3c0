# shellcheck shell=bash
# The temp files write-file writes beside its file before renaming it into place. Shared by
# write-file (which removes a killed run's before it writes) and remove-file (which removes them with
# the file). Sourced, never run.

# mktemp's template for a temp file of file $1: `.<name>.capt-write.XXXXXX` in the same directory
# (a rename within one file system is atomic), a name nothing but write-file makes.
write_temp_template() {
    printf '%s/.%s.capt-write.XXXXXX' "$(dirname -- "$1")" "$(basename -- "$1")"
}

# Removes the temp files of file $1 that a run killed before its rename left: regular files only,
# never a symlink or a directory.
remove_stale_write_temps() {
    local stale
    for stale in "$(dirname -- "$1")/.$(basename -- "$1").capt-write."??????; do
        if [ -f "$stale" ] && [ ! -L "$stale" ]; then
            rm -f -- "$stale"
            printf 'removed %s, left by an interrupted write\n' "$stale" >&2
        fi
    done
}
