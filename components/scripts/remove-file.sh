#!/usr/bin/env bash
# remove-file: remove one file written by write-file, then its directory if that is now empty.
#
# Environment:
#   FILE_PATH          the file to remove (required)
#   REMOVE_EMPTY_UP_TO optional: an ancestor directory of FILE_PATH; empty directories are removed
#                      from the file's own up to and including this one (nested files such as
#                      certs.d/<registry>/hosts.toml), never above it
# stdout: nothing
# stderr: progress messages
#
# Tolerant: a file that is already gone is fine. Temp files write-file left beside it when it was
# killed before its rename go too. The directory goes only when nothing is left in it
# (a user's own file keeps it; `rmdir` never removes anything else), so the stack's output directory
# and its ssh/ folder disappear with the last file the lab wrote there. Never through a symbolic
# link: a link on FILE_PATH (a folder on the way, or the file itself, which the lab never writes as a
# link) stops it before it removes anything (lib/safe-paths.sh).
set -euo pipefail

log() { printf 'remove-file: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"
# shellcheck source-path=SCRIPTDIR source=lib/temp-files.sh
source "${BASH_SOURCE[0]%/*}/lib/temp-files.sh"

: "${FILE_PATH:?FILE_PATH is required}"
refuse_symlink_on_path "$FILE_PATH" "to remove ${FILE_PATH}"
remove_stale_write_temps "$FILE_PATH"
rm -f -- "$FILE_PATH"
printf 'remove-file: removed %s (if it existed)\n' "$FILE_PATH" >&2
dir="$(dirname -- "$FILE_PATH")"
stop="${REMOVE_EMPTY_UP_TO:-$dir}"
case "$dir/" in
"${stop%/}/"*) ;;
*)
    printf 'remove-file: REMOVE_EMPTY_UP_TO=%s is not an ancestor of %s; only its own directory is tried\n' "$stop" "$dir" >&2
    stop="$dir"
    ;;
esac
while rmdir -- "$dir" 2>/dev/null; do
    printf 'remove-file: removed the empty directory %s\n' "$dir" >&2
    if [ "${dir%/}" = "${stop%/}" ]; then
        break
    fi
    dir="$(dirname -- "$dir")"
done
