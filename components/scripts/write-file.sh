#!/usr/bin/env bash
# write-file: write one file atomically (temp file in the same directory, chmod, rename).
#
# Environment:
#   FILE_PATH     destination path (required); missing parent directories are created
#   FILE_CONTENT  the exact bytes to write (required, may be empty, may be secret; never echoed)
#   FILE_MODE     octal mode of the file (default 0600)
# stdout: nothing
# stderr: progress messages
#
# Idempotent: every run replaces the file with the same content. Readers never see a partial file,
# and the content is never readable by others, not even briefly (the temp file is created under
# umask 077 and gets FILE_MODE only just before the rename). Never through a symbolic link: a link
# anywhere on FILE_PATH (a folder on the way, or the file itself) stops it before it writes a byte
# (lib/safe-paths.sh). The temp file's name is `.<file>.capt-write.XXXXXX`: a run killed before its
# rename (SIGKILL runs no trap) leaves one, holding the content (maybe a secret), and the next run,
# or remove-file, removes it.
set -euo pipefail

log() { printf 'write-file: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/safe-paths.sh
source "${BASH_SOURCE[0]%/*}/lib/safe-paths.sh"

: "${FILE_PATH:?FILE_PATH is required}"
if [ -z "${FILE_CONTENT+set}" ]; then
    log "FILE_CONTENT is required (it may be empty)"
    exit 2
fi
mode="${FILE_MODE:-0600}"
if ! [[ "$mode" =~ ^[0-7]{3,4}$ ]]; then
    log "FILE_MODE must be an octal mode such as 0600, got: ${mode}"
    exit 2
fi
refuse_symlink_on_path "$FILE_PATH" "to write ${FILE_PATH}"
if [ -d "$FILE_PATH" ]; then
    log "${FILE_PATH} is a directory"
    exit 1
fi

dir="$(dirname -- "$FILE_PATH")"
# The directory gets the caller's umask (it may be shared with other readers); the file stays private.
mkdir -p -- "$dir"

# shellcheck source-path=SCRIPTDIR source=lib/temp-files.sh
source "${BASH_SOURCE[0]%/*}/lib/temp-files.sh"
remove_stale_write_temps "$FILE_PATH"

umask 077
tmp=""
trap 'rm -f -- ${tmp:+"$tmp"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp="$(mktemp -- "$(write_temp_template "$FILE_PATH")")"
printf '%s' "$FILE_CONTENT" >"$tmp"
chmod "$mode" -- "$tmp"
mv -f -- "$tmp" "$FILE_PATH"
tmp=""
log "wrote ${FILE_PATH} (mode ${mode})"
