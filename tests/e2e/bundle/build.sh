#!/usr/bin/env bash
# build.sh: build every piece of the lab bundle that is not cached (README.md beside this file), then
# assemble the bundle and print its folder.
#
# Usage: tests/e2e/bundle/build.sh [PIECE...]     (default: every piece)
# stdout: the bundle folder, $CAPT_E2E_CACHE/bundle/lab-<key>/ (bundle.json + files hard-linked
#         from the pieces); with PIECE arguments, each piece's folder instead and no bundle
# stderr: progress and timings; times.tsv in the bundle records each piece's build time
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=bundle
log() { e2e_log "$me" "$@"; }

# In build order: osie takes the tink-agent image from tinkerbell. bmc and osie mostly download
# (Debian packages, PyPI) and run beside the CPU-bound Go builds; two Go builds at once only
# interleave on two cores, so those run one after another.
all_pieces=(tinkerbell bmc osie node cluster-api)
overlapping=" bmc osie "
pieces=("$@")
[ "${#pieces[@]}" -gt 0 ] || pieces=("${all_pieces[@]}")

"$here/../toolchain/docker.sh"
logs="$(bundle_cache_root)/logs"
mkdir -p "$logs"

# run_piece PIECE: its part folder on stdout; its log under logs/.
run_piece() {
    "$here/${1//-/_}.sh" 2> >(tee "$logs/${1}.log" >&2)
}

declare -A out pids
for piece in "${pieces[@]}"; do
    out[$piece]="$(mktemp)"
    run_piece "$piece" >"${out[$piece]}" &
    pids[$piece]=$!
    if [[ "$overlapping" != *" $piece "* ]]; then
        wait "${pids[$piece]}" || {
            log "piece ${piece} failed (log: ${logs}/${piece}.log)"
            exit 1
        }
    fi
done
parts=()
for piece in "${pieces[@]}"; do
    if [[ "$overlapping" == *" $piece "* ]] && ! wait "${pids[$piece]}"; then
        log "piece ${piece} failed (log: ${logs}/${piece}.log)"
        exit 1
    fi
    parts+=("$(tail -n 1 "${out[$piece]}")")
    rm -f -- "${out[$piece]}"
done

if [ "$#" -gt 0 ]; then
    printf '%s\n' "${parts[@]}"
    exit 0
fi

key="$(printf '%s\n' "${parts[@]}" | sha256sum | cut -c1-12)"
bundle="$(bundle_cache_root)/lab-${key}"
if [ ! -f "$bundle/bundle.json" ]; then
    rm -rf -- "$bundle.tmp"
    mkdir -p "$bundle.tmp"
    for part in "${parts[@]}"; do
        # Hard links: the bundle costs no space beside its pieces, and holds no symlink.
        (cd "$part" && find . -type f ! -name artifacts.json -print0) |
            while IFS= read -r -d '' f; do
                mkdir -p "$bundle.tmp/$(dirname "$f")"
                ln -f "$part/$f" "$bundle.tmp/$f"
            done
    done
    jq -s '{schemaVersion: 1, createdBy: "capt-playground e2e rig (tests/e2e/bundle, built from sources)",
            artifacts: (map(.) | add | sort_by(.kind, .ref))}' "${parts[@]/%//artifacts.json}" >"$bundle.tmp/bundle.json"
    rm -rf -- "$bundle"
    mv -- "$bundle.tmp" "$bundle"
    log "assembled $(jq '.artifacts | length' "$bundle/bundle.json") artifacts, $(du -sh "$bundle" | cut -f1): $bundle"
fi
printf '%s\n' "$bundle"
