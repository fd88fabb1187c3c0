#!/usr/bin/env bash
# Builds the Pulumi toolchain of the end-to-end rig from the Go module proxy into a cache outside the
# clone, keyed by version, and says exactly what cannot be had. See README.md beside this file.
#
# usage: tests/e2e/toolchain/pulumi.sh [--plugins all|none|NAME,NAME...]
#
# Prints one line per tool: `<tool> <version> <path>`, or `<tool> <version> MISSING: <why>`, then the
# path of an env file to source before running pulumi. Exits 0 when everything asked for is there,
# 1 when something is missing (everything that can be built is still built), 2 on a usage or
# prerequisite error. A second run only links and checks: a tool already built for its version is
# skipped.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CAPT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e}

# The CLI: github.com/pulumi/pulumi/pkg/v3, the newest release the proxy serves below the npm launcher
# pin 3.265.0 (which it refuses). The launcher is pointed at it with PULUMI_VERSION (see the env file).
CLI_VERSION=3.260.0
# The Node.js language host: the last github.com/pulumi/pulumi/sdk/v3 release that carries it.
NODEJS_HOST_VERSION=3.68.0
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

# Provider plugins at the versions of the npm SDKs in package.json, and why the module proxy cannot
# give them (the proxy's answers as of 2026-11-29; a 403 "not available" is final, so they are not
# asked again on every run). A plugin that is found in the plugin cache anyway is used.
PLUGIN_NAMES=(command random tls docker kubernetes)
declare -A PLUGIN_VERSION=(
    [command]=1.2.1
    [random]=4.21.2
    [tls]=5.6.1
    [docker]=5.2.0
    [kubernetes]=4.34.2
)
declare -A PLUGIN_WHY=(
    [command]='module github.com/pulumi/pulumi-command/provider@v1.2.1: proxy answers "404 Not Found" (and 403 "This module version is not available" for its version list); the root module github.com/pulumi/pulumi-command@v1.2.1 is served but holds no Go code'
    [random]='module github.com/pulumi/pulumi-random/provider/v4@v4.21.2: proxy answers 403 "This module version is not available" (its version list too)'
    [tls]='module github.com/pulumi/pulumi-tls/provider/v5@v5.6.1: proxy answers 403 "This module version is not available" (its version list too)'
    [docker]='module github.com/pulumi/pulumi-docker/provider/v5@v5.2.0: proxy answers 403 "This module version is not available" (list included); even if served, its go.mod replaces the bridged terraform provider with ../upstream, a git submodule outside any module zip'
    [kubernetes]='module github.com/pulumi/pulumi-kubernetes/provider/v4@v4.34.2: proxy answers 403 "This module version is not available"; the only version it serves is the pseudo-version v4.0.0-20260115033456-f47bc2d6f199 (= tag v4.25.0), and the CLI takes a cached plugin only at the exact version the SDK asks for'
)

usage() {
    sed -n '5,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
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

if ! command -v go >/dev/null 2>&1; then
    echo "pulumi.sh: 'go' is not on PATH; the toolchain is built from the Go module proxy with the Go command" >&2
    exit 2
fi

mkdir -p "$CACHE"
# One builder at a time per cache; a second run waits for the first.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock 9
fi

missing=0
lines=()

# build_go_tool NAME VERSION WRAPPER_DIR PACKAGE: builds PACKAGE with the wrapper module into
# $CACHE/NAME-vVERSION/bin/NAME, unless that binary is there from the same go.mod and go.sum.
build_go_tool() {
    local name=$1 version=$2 wrapper=$3 pkg=$4
    local dir="$CACHE/$name-v$version"
    local out="$dir/bin/$name"
    local stamp
    stamp=$(cat "$wrapper/go.mod" "$wrapper/go.sum" | sha256sum | cut -d' ' -f1)
    if [[ -x $out && -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
        lines+=("$name v$version $out")
        return 0
    fi
    mkdir -p "$dir/bin"
    echo "pulumi.sh: building $name v$version (log: $dir/build.log)" >&2
    local start=$SECONDS
    if ! (cd "$wrapper" && GOFLAGS='-mod=readonly -buildvcs=false' go build -p 2 -trimpath \
        -ldflags "-s -w -X $VERSION_VAR=v$version" -o "$out.tmp" "$pkg") >"$dir/build.log" 2>&1; then
        rm -f "$out.tmp"
        tail -n 20 "$dir/build.log" >&2
        lines+=("$name v$version MISSING: go build of $pkg failed, see $dir/build.log")
        missing=1
        return 0
    fi
    mv -f "$out.tmp" "$out"
    echo "$stamp" >"$dir/.stamp"
    echo "$((SECONDS - start))" >"$dir/build-seconds"
    echo "pulumi.sh: built $name v$version in $((SECONDS - start)) s" >&2
    lines+=("$name v$version $out")
}

build_go_tool pulumi "$CLI_VERSION" "$HERE/go/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
build_go_tool pulumi-language-nodejs "$NODEJS_HOST_VERSION" "$HERE/go/pulumi-language-nodejs" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs

# PULUMI_HOME for the rig. versions/<v>/bin is where the npm `pulumi` launcher (and the Automation
# API) look for an installed CLI before downloading one; the CLI finds its language host and the
# dynamic-provider shim next to its own executable there ("bundled" plugins), and provider plugins in
# plugins/resource-<name>-v<version>/pulumi-resource-<name>.
home="$CACHE/pulumi-home"
bin="$home/versions/$CLI_VERSION/bin"
mkdir -p "$bin" "$home/plugins"

# link_into_bin SRC NAME: a hard link (a copy across file systems), so that the executable's real
# directory is $bin and the CLI finds the bundled plugins beside it.
link_into_bin() {
    rm -f "$bin/$2.tmp"
    if [[ $1 -ef $bin/$2 ]]; then
        return 0
    fi
    ln "$1" "$bin/$2.tmp" 2>/dev/null || cp "$1" "$bin/$2.tmp"
    mv -f "$bin/$2.tmp" "$bin/$2"
}

cli="$CACHE/pulumi-v$CLI_VERSION/bin/pulumi"
host="$CACHE/pulumi-language-nodejs-v$NODEJS_HOST_VERSION/bin/pulumi-language-nodejs"
[[ -x $cli ]] && link_into_bin "$cli" pulumi
[[ -x $host ]] && link_into_bin "$host" pulumi-language-nodejs

# The dynamic-provider shim (pulumi-resource-pulumi-nodejs, a sh script) that release archives ship
# beside the CLI, from the sdk/v3 module of the same release.
shim_name=pulumi-resource-pulumi-nodejs
if [[ ! -x $bin/$shim_name ]]; then
    if sdk_dir=$(cd "$HERE/go/pulumi" && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3 2>/dev/null) &&
        [[ -n $sdk_dir ]] && [[ -f $sdk_dir/nodejs/dist/$shim_name ]]; then
        install -m 0755 "$sdk_dir/nodejs/dist/$shim_name" "$bin/$shim_name"
    fi
fi
if [[ -x $bin/$shim_name ]]; then
    lines+=("$shim_name v$CLI_VERSION $bin/$shim_name")
else
    lines+=("$shim_name v$CLI_VERSION MISSING: not found in the sdk/v3 v$CLI_VERSION module (go list -m failed)")
    missing=1
fi

for p in "${PLUGIN_NAMES[@]}"; do
    v=${PLUGIN_VERSION[$p]}
    f="$home/plugins/resource-$p-v$v/pulumi-resource-$p"
    is_required=0
    for r in "${required[@]}"; do
        [[ $r == "$p" ]] && is_required=1
    done
    if [[ -x $f ]]; then
        lines+=("resource-$p v$v $f")
    elif [[ $is_required == 1 ]]; then
        lines+=("resource-$p v$v MISSING: cannot be built from the Go module proxy: ${PLUGIN_WHY[$p]}")
        missing=1
    else
        lines+=("resource-$p v$v absent (not required): ${PLUGIN_WHY[$p]}")
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
