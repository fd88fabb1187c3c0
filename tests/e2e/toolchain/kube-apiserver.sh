#!/usr/bin/env bash
# kube-apiserver.sh: build kube-apiserver, kube-controller-manager and kube-scheduler (and kubectl
# when the host has no suitable one) from the Go module proxy, cached outside the clone, and make sure
# there is an etcd the apiserver accepts. The controller manager and scheduler run beside the kind
# stand-in's API server for the whole-program suite, so that Deployments, DaemonSets and volume claims
# really roll out (tests/e2e/stand-ins/README.md).
#
# Usage: tests/e2e/toolchain/kube-apiserver.sh
# Environment:
#   KUBE_VERSION     Kubernetes release to build (default v1.35.4; must exist as k8s.io/kubernetes on
#                    the Go module proxy)
#   ETCD_VERSION     etcd release to build when the host's etcd is too old (default v3.6.5, the client
#                    version k8s.io/kubernetes v1.35 pins)
#   ETCD_MIN_VERSION oldest host etcd accepted as it is (default 3.4.0, see "etcd" below)
#   CAPT_E2E_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e)
# stdout: one line, the directory that holds kube-apiserver, kubectl and etcd (symlinks into the
#         cache, or to the host's binaries when those are suitable); put it first on PATH.
# stderr: progress and timings
#
# Cache layout ($CAPT_E2E_CACHE/kubernetes/<version>/):
#   build/    the wrapper module (go.mod, go.sum) and build log
#   bin/      kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (if built), etcd
#             (symlink to the host's or a built one)
#
# Idempotent: a cached binary that reports the wanted version is reused; a build that died half-way
# leaves no binary in bin/ (the output is moved into place only after it succeeded), so the next run
# starts it again. Concurrent runs serialise on a lock file. A cold build takes minutes: measured on
# this 2-core machine with an empty Go build cache, kube-apiserver 245 s + kubectl 33 s when quiet,
# 657 s + 74 s while other builds ran; run it in the background and poll. A warm run takes < 1 s.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=kube-apiserver.sh
log() { e2e_log "$me" "$@"; }

kube_version="${KUBE_VERSION:-v1.35.4}"
etcd_version="${ETCD_VERSION:-v3.6.5}"
etcd_min="${ETCD_MIN_VERSION:-3.4.0}"
[[ "$kube_version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || {
    log "KUBE_VERSION must look like v1.35.4: ${kube_version}"
    exit 2
}
kube_minor="${BASH_REMATCH[1]}"
kube_patch="${BASH_REMATCH[2]}"
# The staging modules (k8s.io/api, k8s.io/apiserver, ...) are published as v0.<minor>.<patch>.
staging_version="v0.${kube_minor}.${kube_patch}"

command -v go >/dev/null || {
    log "go is required (Go >= the version in k8s.io/kubernetes's go.mod)"
    exit 1
}

root="$(e2e_cache_root)/kubernetes/${kube_version}"
build="$root/build"
bin="$root/bin"
mkdir -p "$build" "$bin"

exec 9>"$root/.lock"
flock 9

# version_ge A B: A >= B for dotted versions (no leading v).
version_ge() {
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# host_cmd NAME: the first NAME on PATH that is not in our own bin directory (which may be on PATH
# and holds symlinks to host binaries).
host_cmd() {
    local c
    while read -r c; do
        [ -n "$c" ] || continue
        [ "$(realpath -m "$(dirname "$c")")" = "$(realpath -m "$bin")" ] && continue
        printf '%s\n' "$c"
        return 0
    done < <(type -ap "$1")
    return 1
}

# has_version BINARY: the binary exists and reports exactly $kube_version.
has_version() {
    [ -x "$1" ] || return 1
    local out
    out="$("$1" --version 2>/dev/null || "$1" version --client 2>/dev/null || true)"
    [[ "$out" == *"${kube_version}"* ]]
}

# A host kubectl is suitable when it is within kubectl's supported skew (one minor version) of the
# apiserver. Debian bookworm has no kubectl package; a cloud SDK's kubectl is often far behind.
host_kubectl_ok() {
    local k minor
    k="$(host_cmd kubectl)" || return 1
    minor="$("$k" version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n1)"
    [ -n "$minor" ] || return 1
    local d=$((minor - kube_minor))
    ((d >= -1 && d <= 1))
}

targets=()
for t in kube-apiserver kube-controller-manager kube-scheduler; do
    has_version "$bin/$t" || targets+=("$t")
done
if [ -L "$bin/kubectl" ] && host_kubectl_ok; then
    : # linked to a suitable host kubectl earlier
elif has_version "$bin/kubectl" && [ ! -L "$bin/kubectl" ]; then
    : # built earlier
elif host_kubectl_ok; then
    ln -sfn "$(host_cmd kubectl)" "$bin/kubectl"
    log "using the host's kubectl ($(host_cmd kubectl)): within one minor version of ${kube_version}"
else
    rm -f "$bin/kubectl"
    targets+=(kubectl)
    log "the host's kubectl is missing or more than one minor version away from ${kube_version}; building kubectl"
fi

if [ "${#targets[@]}" -gt 0 ]; then
    log "building ${targets[*]} ${kube_version} in ${build} (cold: 5-12 minutes on 2 cores)"
    start="$(e2e_now)"
    # Why a wrapper module: k8s.io/kubernetes's own go.mod requires every staging module
    # (k8s.io/api, k8s.io/apiserver, ...) at the placeholder v0.0.0 and points them at
    # ./staging/src/... with replace directives. replace directives of a dependency are ignored, so
    # `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.35.4` fails ("unknown revision v0.0.0",
    # and go install refuses modules with replace lines anyway). This module requires
    # k8s.io/kubernetes and replaces each staging module with its published v0.<minor>.<patch>
    # release, which is the same source the release was cut from.
    cd "$build"
    export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
    if [ ! -f go.mod ] || ! grep -q "k8s.io/kubernetes ${kube_version}\$" go.mod ||
        ! grep -q kube-scheduler tools.go 2>/dev/null; then
        rm -f go.mod go.sum
        go mod init capt-e2e/kubernetes-build >/dev/null 2>&1
        go mod edit -go=1.25.0
        upstream_mod="$(go mod download -json "k8s.io/kubernetes@${kube_version}" | sed -n 's/.*"GoMod": *"\([^"]*\)".*/\1/p')"
        [ -f "$upstream_mod" ] || {
            log "could not download the go.mod of k8s.io/kubernetes@${kube_version}"
            exit 1
        }
        mapfile -t staging < <(sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$upstream_mod")
        [ "${#staging[@]}" -gt 0 ] || {
            log "no staging replace lines found in ${upstream_mod}"
            exit 1
        }
        edits=(-require="k8s.io/kubernetes@${kube_version}")
        for m in "${staging[@]}"; do
            edits+=(-replace="${m}=${m}@${staging_version}")
        done
        go mod edit "${edits[@]}"
        # A source file that imports the commands makes `go mod tidy` record every needed module.
        cat >tools.go <<'EOF'
//go:build tools

// Package tools pins the commands built from k8s.io/kubernetes (see kube-apiserver.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
        log "resolving modules (go mod tidy)"
        go mod tidy >"$build/tidy.log" 2>&1 || {
            tail -n 30 "$build/tidy.log" >&2
            exit 1
        }
        log "modules resolved in $(e2e_elapsed "$start")s"
    fi
    ldflags="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X ${p}.gitVersion=${kube_version} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${kube_minor}"
        ldflags+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=1970-01-01T00:00:00Z"
    done
    for t in "${targets[@]}"; do
        t_start="$(e2e_now)"
        log "go build ${t} (log: ${build}/${t}.log)"
        if ! CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$build/${t}.new" "k8s.io/kubernetes/cmd/${t}" \
            >"$build/${t}.log" 2>&1; then
            tail -n 30 "$build/${t}.log" >&2
            rm -f "$build/${t}.new"
            exit 1
        fi
        mv -f "$build/${t}.new" "$bin/${t}"
        log "built ${t} in $(e2e_elapsed "$t_start")s"
    done
    log "build finished in $(e2e_elapsed "$start")s"
fi
for t in kube-apiserver kube-controller-manager kube-scheduler; do
    has_version "$bin/$t" || {
        log "${bin}/$t does not report ${kube_version}"
        exit 1
    }
done

# etcd: Debian bookworm's etcd-server is 3.4.23. kube-apiserver v1.35 talks to it with the v3.6
# client; it has no hard minimum-version check and switches off features the server lacks (it
# probes the server version, e.g. for consistent reads from the watch cache). The kind stand-in
# runs the two together and waits for /readyz, which is the real acceptance test. When the host's
# etcd is missing or older than ETCD_MIN_VERSION, build etcd from go.etcd.io/etcd/server/v3.
host_etcd="$(host_cmd etcd || true)"
host_etcd_version=""
if [ -n "$host_etcd" ]; then
    host_etcd_version="$("$host_etcd" --version 2>/dev/null | sed -n 's/^etcd Version: *//p')"
fi
ebuild="$root/etcd-build-${etcd_version}"
if [ -n "$host_etcd_version" ] && version_ge "$host_etcd_version" "$etcd_min"; then
    ln -sfn "$host_etcd" "$bin/etcd"
    log "etcd: the host's ${host_etcd} ${host_etcd_version} (>= ${etcd_min})"
else
    if [ -x "$ebuild/etcd" ] && "$ebuild/etcd" --version | grep -q "etcd Version: ${etcd_version#v}"; then
        log "etcd: built ${etcd_version} (cached)"
    else
        log "etcd: host etcd '${host_etcd_version:-none}' is missing or older than ${etcd_min}; building go.etcd.io/etcd/server/v3@${etcd_version}"
        e_start="$(e2e_now)"
        mkdir -p "$ebuild"
        # A wrapper module again: go.etcd.io/etcd/server/v3's go.mod has replace directives (../api,
        # ../client/...), so `go install ...@version` refuses it; as a dependency its replaces are
        # ignored and the published api/client/pkg modules of the same version are used.
        (
            cd "$ebuild"
            export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
            if ! grep -qs "go.etcd.io/etcd/server/v3 ${etcd_version}" go.mod; then
                rm -f go.mod go.sum
                go mod init capt-e2e/etcd-build >/dev/null 2>&1
                go get "go.etcd.io/etcd/server/v3@${etcd_version}" >"$ebuild/get.log" 2>&1
            fi
            CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ebuild/etcd.new" go.etcd.io/etcd/server/v3 \
                >"$ebuild/build.log" 2>&1
        ) || {
            tail -n 30 "$ebuild"/*.log >&2
            exit 1
        }
        mv -f "$ebuild/etcd.new" "$ebuild/etcd"
        log "built etcd in $(e2e_elapsed "$e_start")s"
    fi
    ln -sfn "$ebuild/etcd" "$bin/etcd"
fi

printf '%s\n' "$bin"
