#!/usr/bin/env bash
# registry.sh: build the CNCF distribution registry (`registry`) from the Go module proxy, cached
# outside the clone. The bundle suite (tests/e2e/bundle-command.test.ts) runs it on 127.0.0.1 as the
# registry `npm run bundle` pulls images and the Tinkerbell chart from: no container registry is
# reachable here, and this is the registry most mirrors and private registries run.
#
# Usage: tests/e2e/toolchain/registry.sh
# Environment:
#   REGISTRY_VERSION  release of github.com/distribution/distribution/v3 (default v3.1.2)
#   CAPT_E2E_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e)
# stdout: one line, the path of the registry binary
# stderr: progress and timings
#
# Cache layout: $CAPT_E2E_CACHE/registry/<version>/registry (and build.log).
# Idempotent: a cached binary that reports the wanted version is reused (< 1 s); a build that died
# half-way leaves no binary (it is moved into place only after it succeeded). Concurrent runs
# serialise on a lock file.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=registry.sh
log() { e2e_log "$me" "$@"; }

version="${REGISTRY_VERSION:-v3.1.2}"
[[ "$version" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || {
    log "REGISTRY_VERSION must look like v3.1.2: ${version}"
    exit 2
}
command -v go >/dev/null || {
    log "go is required to build the registry"
    exit 1
}

root="$(e2e_cache_root)/registry/${version}"
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9

# has_version: the cached binary exists and reports the wanted release (`registry --version` prints
# `registry github.com/distribution/distribution/v3 <version>`).
has_version() {
    [ -x "$root/registry" ] && "$root/registry" --version 2>/dev/null | grep -qF " ${version}"
}

if ! has_version; then
    log "building github.com/distribution/distribution/v3/cmd/registry@${version} (log: ${root}/build.log)"
    start="$(e2e_now)"
    rm -rf -- "$root/bin.new"
    # The release's version string is set by its Makefile through this ldflag; `go install` alone
    # would report "(devel)" and has_version could never recognise the cached binary.
    if ! GOBIN="$root/bin.new" CGO_ENABLED=0 go install -trimpath \
        -ldflags "-s -w -X github.com/distribution/distribution/v3/version.version=${version}" \
        "github.com/distribution/distribution/v3/cmd/registry@${version}" >"$root/build.log" 2>&1; then
        tail -n 30 "$root/build.log" >&2
        rm -rf -- "$root/bin.new"
        exit 1
    fi
    mv -f "$root/bin.new/registry" "$root/registry"
    rm -rf -- "$root/bin.new"
    has_version || {
        log "${root}/registry does not report ${version}: $("$root/registry" --version 2>&1 || true)"
        exit 1
    }
    log "built the registry ${version} in $(e2e_elapsed "$start") s"
fi
printf '%s\n' "$root/registry"
