#!/usr/bin/env bash
# remove-file: remove one file written by write-file.
#
# Environment:
#   FILE_PATH  the file to remove (required)
# stdout: nothing
# stderr: progress messages
#
# Tolerant: a file that is already gone is fine.
set -euo pipefail
unset PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR

: "${FILE_PATH:?FILE_PATH is required}"
rm -f -- "$FILE_PATH"
printf 'remove-file: removed %s (if it existed)\n' "$FILE_PATH" >&2
