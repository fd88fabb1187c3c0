# shellcheck shell=bash
# Helpers of the bundle pieces (README.md beside this file); sourced, never executed. Needs the
# toolchain's lib.sh first (e2e_cache_root, e2e_log, e2e_now, e2e_elapsed).
#
# A piece runs as:
#   part_begin <piece> <pinned input>...   || { part_print; exit 0; }   # cached: nothing to do
#   ...build, calling part_image / part_file / part_chart for each artifact...
#   part_commit
# part_begin sets PART_TMP, the folder the piece fills; part_commit writes its artifacts.json and
# moves it into place as $CAPT_E2E_CACHE/bundle/parts/<piece>-<key>/, so a piece that dies half-way
# leaves nothing that looks finished. Concurrent runs of one piece serialise on a lock file.

bundle_cache_root() {
    printf '%s/bundle\n' "$(e2e_cache_root)"
}

# The Go settings every piece builds with: the machine's Go, no toolchain download, reproducible paths.
export GOTOOLCHAIN=local CGO_ENABLED="${CGO_ENABLED:-0}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-trimpath -buildvcs=false"

# part_key SCRIPT INPUT...: a 12-hex-digit key over the piece's script, this file and the inputs.
part_key() {
    local script="$1"
    shift
    {
        sha256sum "$script" "${BASH_SOURCE[0]}" | cut -d' ' -f1
        printf '%s\n' "$@"
        go env GOVERSION
    } | sha256sum | cut -c1-12
}

# part_begin PIECE INPUT...: 1 (and PART_DIR set) when the piece is cached; else 0 with PART_TMP empty.
part_begin() {
    local piece="$1" key
    shift
    key="$(part_key "$0" "$@")"
    PART_NAME="$piece"
    PART_DIR="$(bundle_cache_root)/parts/${piece}-${key}"
    mkdir -p "$(bundle_cache_root)/parts"
    exec 8>"$(bundle_cache_root)/parts/.${piece}.lock"
    flock 8
    if [ -f "$PART_DIR/artifacts.json" ]; then
        return 1
    fi
    PART_TMP="${PART_DIR}.tmp"
    rm -rf -- "$PART_TMP"
    mkdir -p "$PART_TMP/images"
    : >"$PART_TMP/artifacts.jsonl"
    PART_START="$(e2e_now)"
    return 0
}

# part_print: the finished piece's folder on stdout (the assembler reads it).
part_print() {
    printf '%s\n' "$PART_DIR"
}

# part_record JSON: append one artifact (file paths relative to the piece folder).
part_record() {
    printf '%s\n' "$1" >>"$PART_TMP/artifacts.jsonl"
}

file_sha256() {
    sha256sum "$1" | cut -d' ' -f1
}

file_size() {
    stat -c %s "$1"
}

# image_file_name REF: a file name for an image reference (registry/path:tag -> registry_path_tag.tar).
image_file_name() {
    printf '%s.tar\n' "$(printf '%s' "$1" | tr '/:@' '___')"
}

# part_image REF SOURCE: docker save the local image REF into images/ and record it.
part_image() {
    local ref="$1" source="$2" rel id
    rel="images/$(image_file_name "$ref")"
    id="$(docker image inspect -f '{{.Id}}' "$ref")"
    docker save -o "$PART_TMP/$rel" "$ref"
    part_record "$(jq -cn --arg ref "$ref" --arg id "$id" --arg file "$rel" --arg sha "$(file_sha256 "$PART_TMP/$rel")" \
        --argjson size "$(file_size "$PART_TMP/$rel")" --arg source "$source" \
        '{kind: "image", ref: $ref, imageId: $id, file: $file, sha256: $sha, size: $size, source: $source}')"
}

# part_file REF REL SOURCE: record the file PART_TMP/REL (already in place) as fetched from URL REF.
part_file() {
    local ref="$1" rel="$2" source="$3"
    part_record "$(jq -cn --arg ref "$ref" --arg file "$rel" --arg sha "$(file_sha256 "$PART_TMP/$rel")" \
        --argjson size "$(file_size "$PART_TMP/$rel")" --arg source "$source" \
        '{kind: "file", ref: $ref, file: $file, sha256: $sha, size: $size, source: $source}')"
}

# part_chart REF VERSION REL SOURCE: record the chart archive PART_TMP/REL as chart REF at VERSION.
part_chart() {
    local ref="$1" version="$2" rel="$3" source="$4"
    part_record "$(jq -cn --arg ref "$ref" --arg version "$version" --arg file "$rel" \
        --arg sha "$(file_sha256 "$PART_TMP/$rel")" --argjson size "$(file_size "$PART_TMP/$rel")" --arg source "$source" \
        '{kind: "chart", ref: $ref, version: $version, file: $file, sha256: $sha, size: $size, source: $source}')"
}

# part_commit: seal the piece (artifacts.json) and move it into place; prints its folder.
part_commit() {
    jq -s . "$PART_TMP/artifacts.jsonl" >"$PART_TMP/artifacts.json"
    rm -f -- "$PART_TMP/artifacts.jsonl"
    rm -rf -- "$PART_DIR"
    mv -- "$PART_TMP" "$PART_DIR"
    e2e_log "$PART_NAME" "built in $(e2e_elapsed "$PART_START") s: $PART_DIR"
    part_print
}

# scratch_image REF CONTEXT [DOCKERFILE-LINES...]: docker build REF from a context folder with a
# Dockerfile made of the given lines (FROM scratch or a local base: nothing is pulled).
scratch_image() {
    local ref="$1" context="$2"
    shift 2
    printf '%s\n' "$@" >"$context/Dockerfile"
    docker build --quiet --pull=false -t "$ref" "$context" >/dev/null
}
