#!/usr/bin/env bash
# bmc.sh: the bundle piece `bmc`: the virtual BMC image that ../toolchain/vbmc-image.sh builds (the
# real virtualbmc and sushy-tools from PyPI on Debian; its header says how it matches `vbmcImage`).
# stdout: the piece's folder; stderr: progress.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

ref="$("$here/../toolchain/vbmc-image.sh" --no-verify)"
if ! part_begin bmc "$ref" "$(docker image inspect -f '{{.Id}}' "$ref")"; then
    part_print
    exit 0
fi
part_image "$ref" "built by tests/e2e/toolchain/vbmc-image.sh (virtualbmc and sushy-tools from PyPI on Debian bookworm)"
part_commit
