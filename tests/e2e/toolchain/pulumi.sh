#!/usr/bin/env bash
# Builds the Pulumi toolchain of the end-to-end rig — the CLI, its Node.js language host and the five
# provider plugins the program uses — from the source tarballs in ../shared/toolchain-sources (their
# build.sh, plus the Go module proxy for everything else) into a cache outside the clone, keyed by
# version. See README.md beside this file.
#
# usage: tests/e2e/toolchain/pulumi.sh [--plugins all|none|NAME,NAME...]
#
# Prints one line per tool: `<tool> <version> <path>`, or `<tool> <version> MISSING: <why>`, then the
# path of an env file to source before running pulumi. Exits 0 when everything asked for is there,
# 1 when something is missing, 2 on a usage or prerequisite error. A second run only checks stamps
# and links: a tool already built from the same sources is not built again.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(cd "$HERE/../../.." && pwd)
CACHE=${CAPT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e}
SOURCES=${CAPT_TOOLCHAIN_SOURCES:-$PROJECT/../shared/toolchain-sources}

# One Pulumi release for the CLI and the language host (the newest release in the sources). The npm
# `pulumi` launcher is pinned to the same version in package.json, so it runs this CLI as it is.
CLI_VERSION=3.259.0

# Provider plugins at exactly the versions of the npm SDKs in package.json: the engine loads a plugin
# only at the version its SDK asks for. build.sh builds each from its tarball.
PLUGIN_NAMES=(command random tls docker kubernetes)
declare -A PLUGIN_VERSION=(
    [command]=1.2.1
    [random]=4.21.1
    [tls]=5.3.1
    [docker]=5.0.0
    [kubernetes]=4.32.0
)

usage() {
    sed -n '7,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit "${1:-2}"
}

want_plugins=all
while [[ $# -gt 0 ]]; do
    case $1 in
        --plugins)
            [[ $# -ge 2 ]] || usage
            want_plugins=$2
            shift 2
            ;;
        --plugins=*)
            want_plugins=${1#--plugins=}
            shift
            ;;
        -h | --help) usage 0 ;;
        *)
            echo "pulumi.sh: unknown argument: $1" >&2
            usage
            ;;
    esac
done

required=()
case $want_plugins in
    all) required=("${PLUGIN_NAMES[@]}") ;;
    none | "") ;;
    *)
        IFS=, read -r -a required <<<"$want_plugins"
        for p in "${required[@]}"; do
            if [[ -z ${PLUGIN_VERSION[$p]+set} ]]; then
                echo "pulumi.sh: unknown plugin '$p' (known: ${PLUGIN_NAMES[*]})" >&2
                exit 2
            fi
        done
        ;;
esac

for tool in go git tar sha256sum; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "pulumi.sh: '$tool' is not on PATH; the toolchain is built from source with it" >&2
        exit 2
    fi
done
if [[ ! -f $SOURCES/build.sh || ! -f $SOURCES/SHA256SUMS ]]; then
    echo "pulumi.sh: no toolchain sources at $SOURCES (build.sh, SHA256SUMS and the tarballs);" \
        "set CAPT_TOOLCHAIN_SOURCES to their directory" >&2
    exit 2
fi

mkdir -p "$CACHE"
# One builder at a time per cache; a second run waits for the first.
exec 9>"$CACHE/.lock"
flock 9

# The stamp of a build: the sources (their pinned checksums and the build script) and the Go version.
# A binary built from other sources or by another Go is built again.
stamp=$(cat "$SOURCES/SHA256SUMS" "$SOURCES/build.sh" <(go env GOVERSION) | sha256sum | cut -c1-16)
root="$CACHE/pulumi-toolchain"

# tool NAME -> "<build.sh name> <binary> <version>"
declare -A TOOL=(
    [cli]="cli pulumi $CLI_VERSION"
    [nodejs]="nodejs pulumi-language-nodejs $CLI_VERSION"
)
for p in "${PLUGIN_NAMES[@]}"; do
    TOOL[$p]="$p pulumi-resource-$p ${PLUGIN_VERSION[$p]}"
done

tool_path() { # tool_path NAME -> the cached binary
    local binary version
    read -r _ binary version <<<"${TOOL[$1]}"
    printf '%s/%s-v%s-%s/%s\n' "$root" "$binary" "$version" "$stamp" "$binary"
}

wanted=(cli nodejs "${required[@]}")
to_build=()
for t in "${wanted[@]}"; do
    [[ -x $(tool_path "$t") ]] || to_build+=("$t")
done

if [[ ${#to_build[@]} -gt 0 ]]; then
    echo "pulumi.sh: building ${to_build[*]} from $SOURCES (cold: 15-25 minutes on 2 cores)" >&2
    (cd "$SOURCES" && sha256sum --quiet -c SHA256SUMS) >&2 || {
        echo "pulumi.sh: a source tarball does not match SHA256SUMS" >&2
        exit 1
    }
    out="$root/.build-$stamp"
    mkdir -p "$out"
    start=$SECONDS
    if ! ONLY="${to_build[*]}" bash "$SOURCES/build.sh" "$SOURCES" "$out" >&2; then
        echo "pulumi.sh: build.sh failed; see $out/build.log" >&2
        exit 1
    fi
    for t in "${to_build[@]}"; do
        read -r _ binary _ <<<"${TOOL[$t]}"
        dest=$(tool_path "$t")
        mkdir -p "$(dirname "$dest")"
        mv -f "$out/$binary" "$dest"
    done
    cp -f "$out/times.tsv" "$root/build-times-$stamp.tsv" 2>/dev/null || true
    echo "pulumi.sh: built ${to_build[*]} in $((SECONDS - start)) s" >&2
fi

# PULUMI_HOME for the rig. versions/<v>/bin is where the npm `pulumi` launcher looks for an installed
# CLI before downloading one; the CLI finds its language host and the dynamic-provider shim next to
# its own executable there ("bundled" plugins), and provider plugins in
# plugins/resource-<name>-v<version>/pulumi-resource-<name>.
home="$CACHE/pulumi-home"
bin="$home/versions/$CLI_VERSION/bin"
mkdir -p "$bin" "$home/plugins"

# link_into DIR SRC NAME: a hard link (a copy across file systems), so that the executable's real
# directory is DIR and the CLI finds the bundled plugins beside it.
link_into() {
    local dir=$1 src=$2 name=$3
    [[ $src -ef $dir/$name ]] && return 0
    rm -f "$dir/$name.tmp"
    ln "$src" "$dir/$name.tmp" 2>/dev/null || cp "$src" "$dir/$name.tmp"
    mv -f "$dir/$name.tmp" "$dir/$name"
}

lines=()
missing=0
link_into "$bin" "$(tool_path cli)" pulumi
link_into "$bin" "$(tool_path nodejs)" pulumi-language-nodejs
lines+=("pulumi v$CLI_VERSION $bin/pulumi" "pulumi-language-nodejs v$CLI_VERSION $bin/pulumi-language-nodejs")

# The dynamic-provider shim that release archives ship beside the CLI: a sh script that runs
# @pulumi/pulumi's dynamic provider. The npm SDK ships the same script.
shim_name=pulumi-resource-pulumi-nodejs
shim_src=$PROJECT/node_modules/@pulumi/pulumi/$shim_name
if [[ -f $shim_src ]]; then
    install -m 0755 "$shim_src" "$bin/$shim_name"
    lines+=("$shim_name v$CLI_VERSION $bin/$shim_name")
else
    lines+=("$shim_name v$CLI_VERSION MISSING: $shim_src not found (run npm install first)")
    missing=1
fi

for p in "${PLUGIN_NAMES[@]}"; do
    v=${PLUGIN_VERSION[$p]}
    dir="$home/plugins/resource-$p-v$v"
    src=$(tool_path "$p")
    if [[ -x $src ]]; then
        mkdir -p "$dir"
        link_into "$dir" "$src" "pulumi-resource-$p"
        lines+=("resource-$p v$v $dir/pulumi-resource-$p")
    elif [[ " ${required[*]} " == *" $p "* ]]; then
        lines+=("resource-$p v$v MISSING: not built")
        missing=1
    else
        lines+=("resource-$p v$v absent (not asked for)")
    fi
done

env_file="$CACHE/pulumi-env.sh"
cat >"$env_file.tmp" <<EOF
# Written by tests/e2e/toolchain/pulumi.sh; source it before running pulumi or the npm launcher.
export PATH="$bin:\${PATH}"
export PULUMI_HOME="$home"
export PULUMI_VERSION="$CLI_VERSION"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
export PULUMI_SKIP_UPDATE_CHECK=true
EOF
mv -f "$env_file.tmp" "$env_file"

printf '%s\n' "${lines[@]}"
echo "env $env_file"
if [[ $missing != 0 ]]; then
    echo "pulumi.sh: incomplete toolchain: see the MISSING lines above" >&2
    exit 1
fi
