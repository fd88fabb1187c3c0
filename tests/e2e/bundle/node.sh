#!/usr/bin/env bash
# node.sh: the bundle's "node" piece (README.md beside this file, section "node"): the KinD node
# image kindest/node:v1.35.4, built offline the way `kind build node-image` of kind v0.31.0 builds
# it, and kind v0.31.0 itself as a host tool (not in the bundle).
#
# Usage: tests/e2e/bundle/node.sh       (build.sh runs it; stdout: the piece's folder)
# Environment:
#   CAPT_SHARED_DIR         the folder with lab-sources/ (default: ../shared beside the clone)
#   DEBIAN_MIRROR           (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   CAPT_E2E_CACHE          cache root (../toolchain/lib.sh)
# Files:
#   $CAPT_E2E_CACHE/kind/v0.31.0/kind   kind, for the suite (built even when the piece is cached)
#   $CAPT_E2E_CACHE/bundle/work/node/   what the piece is made of, each cached by its own inputs:
#     bin/<name>-<key>/     the Go binaries (and pause); <key> covers versions, flags and Go
#     rootfs/<name>-<key>.tar   the Debian root filesystems (mmdebstrap)
#     go/                   the wrapper modules; logs/ the build logs
# stderr: progress and timings. Needs gcc, libseccomp-dev and mmdebstrap (.ci/run installs them).
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=node
log() { e2e_log "$me" "$@"; }

# ---- pinned inputs -------------------------------------------------------------------------------
KIND_VERSION=v0.31.0
KUBE_VERSION=v1.35.4
NODE_REF="kindest/node:${KUBE_VERSION}"
# kind v0.31.0's images/base/Dockerfile pins these; crictl is the exception: kind pins v1.33.0,
# which the module proxy refuses (so does v1.35.0); v1.34.0 is the newest it serves.
CONTAINERD_VERSION=v2.2.0
RUNC_VERSION=v1.2.9
CNI_PLUGINS_VERSION=v1.8.0
CRICTL_VERSION=v1.34.0
FUSE_OVERLAYFS_VERSION=v2.1.7
# The images kubeadm v1.35.4 asks for (checked against `kubeadm config images list` below), the
# sandbox image kind's containerd config names, and kind's CNI and storage images.
ETCD_VERSION=v3.6.6
COREDNS_VERSION=v1.13.1
PAUSE_VERSIONS=(3.10 3.10.1)
# kind's local-path-provisioner image is built from v0.0.32, which the module proxy refuses.
LOCAL_PATH_VERSION=v0.0.33
KIND_IMAGES_SOURCE=kubernetes-sigs+kind@v0.31.0-images
KUBE_COMMANDS=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
# kind's containerd build tags (leaving out the snapshotters a node never selects) plus the
# Makefile's own.
CONTAINERD_TAGS="no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
DEBIAN_SOURCES=(
    "deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE} main"
    "deb ${DEBIAN_MIRROR} ${DEBIAN_SUITE}-updates main"
    "deb ${DEBIAN_SECURITY_MIRROR} ${DEBIAN_SUITE}-security main"
)
# No recommended packages (as kind's clean-install); no documentation, manuals or translations
# (Debian's slim images leave them out, kind's clean-install deletes them); dpkg without fsync, as in
# Debian's container images (a root filesystem that dies half-way is thrown away anyway).
MMDEBSTRAP_OPTIONS=(--aptopt='APT::Install-Recommends "false"' --dpkgopt=force-unsafe-io)
for p in doc doc-base groff info linda lintian locale man; do
    MMDEBSTRAP_OPTIONS+=(--dpkgopt="path-exclude=/usr/share/${p}/*")
done
# The userland of the kube-proxy and kindnetd images (upstream: distroless-iptables): the packages
# unpacked, no package manager run, plus node/iptables-wrapper.
IPTABLES_PACKAGES=(iptables nftables conntrack dash)
PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

shared="${CAPT_SHARED_DIR:-$(dirname -- "$repo")/shared}"
work="$(bundle_cache_root)/work/node"
mkdir -p "$work/bin" "$work/rootfs" "$work/go" "$work/logs" "$work/src"

# ---- helpers -------------------------------------------------------------------------------------

# lab_source NAME: the tarball NAME from ../shared/lab-sources/, or from the cache's lab-sources/
# (where a source not yet in ../shared is placed by hand); fails naming it.
lab_source() {
    local f
    for f in "${shared}/lab-sources/$1" "$(e2e_cache_root)/lab-sources/$1"; do
        if [ -f "$f" ]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    log "missing source tarball $1 (looked in ${shared}/lab-sources and $(e2e_cache_root)/lab-sources)"
    return 1
}

# module_dir MODULE@VERSION: the module's folder in the module cache (downloaded if needed).
module_dir() {
    go mod download -json "$1" | jq -er '.Dir'
}

# module_commit MODULE@VERSION: the commit the proxy says the version was cut from (may be empty).
module_commit() {
    go mod download -json "$1" | jq -r '.Origin.Hash // empty'
}

# quietly LOG COMMAND...: COMMAND with its output in LOG; on failure the log's end on stderr.
quietly() {
    local logfile="$1"
    shift
    if ! "$@" >"$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        log "failed: ${*:0:4}... (log: ${logfile})"
        return 1
    fi
}

# bin_cache NAME INPUT...: the folder for NAME's binaries built from INPUT with this Go.
bin_cache() {
    local name="$1"
    shift
    printf '%s/bin/%s-%s\n' "$work" "$name" "$(printf '%s\n' "$@" "$(go env GOVERSION)" | sha256sum | cut -c1-12)"
}

# have DIR: DIR holds a finished build. fresh DIR: an empty DIR.tmp to build into.
# seal DIR START WHAT: DIR.tmp becomes DIR; logs the time since START.
have() { [ -f "$1/.done" ]; }
fresh() {
    rm -rf -- "$1.tmp" "$1"
    mkdir -p "$1.tmp"
}
seal() {
    date -u +%FT%TZ >"$1.tmp/.done"
    mv -- "$1.tmp" "$1"
    log "$3 built in $(e2e_elapsed "$2") s"
}

# go_install_into DIR LOG [ENV=VALUE...] -- GO-INSTALL-ARGUMENT...: `go install` into DIR.tmp.
go_install_into() {
    local dir="$1" logfile="$2" envs=()
    shift 2
    while [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    quietly "$logfile" env GOBIN="$dir.tmp" "${envs[@]}" go install "$@"
}

# wrapper_module DIR MODULE VERSION: DIR holds a module that requires MODULE@VERSION. Go ignores a
# dependency's replace and exclude lines, and `go install` refuses modules that have them, so the
# commands of such a module are built from here.
wrapper_module() {
    local dir="$1" module="$2" version="$3"
    if grep -qs "^require ${module} ${version}\$" "$dir/go.mod"; then
        return 0
    fi
    rm -rf -- "$dir"
    mkdir -p "$dir"
    (
        cd "$dir"
        go mod init "capt-e2e/$(basename -- "$dir")" >/dev/null 2>&1
        go mod edit -go=1.25.0 -require="${module}@${version}"
    )
}

# ---- kind, the host tool -------------------------------------------------------------------------

# install_kind: $CAPT_E2E_CACHE/kind/<version>/kind, `go install`ed with the ldflags of kind's
# Makefile. Not part of the bundle: the suite runs it.
install_kind() {
    local dir bin start commit
    dir="$(e2e_cache_root)/kind/${KIND_VERSION}"
    bin="$dir/kind"
    mkdir -p "$dir"
    (
        exec 7>"$dir/.lock"
        flock 7
        if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "^kind ${KIND_VERSION} "; then
            exit 0
        fi
        start="$(e2e_now)"
        commit="$(module_commit "sigs.k8s.io/kind@${KIND_VERSION}")"
        rm -rf -- "$dir/gobin"
        quietly "$dir/build.log" env GOBIN="$dir/gobin" go install \
            -ldflags "-buildid= -w -X=sigs.k8s.io/kind/pkg/cmd/kind/version.gitCommit=${commit}" \
            "sigs.k8s.io/kind@${KIND_VERSION}"
        mv -f -- "$dir/gobin/kind" "$bin"
        rm -rf -- "$dir/gobin"
        log "kind ${KIND_VERSION} built in $(e2e_elapsed "$start") s: ${bin}"
    )
}

# ---- Debian root filesystems ---------------------------------------------------------------------

# debian_tar NAME VARIANT PACKAGE...: an mmdebstrap tarball of the suite with its updates and
# security updates and MMDEBSTRAP_OPTIONS, cached by its inputs; prints its path.
debian_tar() {
    local name="$1" variant="$2" key out start
    shift 2
    key="$(printf '%s\n' "$variant" "$@" "${DEBIAN_SOURCES[@]}" "${MMDEBSTRAP_OPTIONS[@]}" "$(mmdebstrap --version)" |
        sha256sum | cut -c1-12)"
    out="$work/rootfs/${name}-${key}.tar"
    if [ ! -f "$out" ]; then
        start="$(e2e_now)"
        local include
        include="$(
            IFS=,
            printf '%s' "$*"
        )"
        # mmdebstrap picks the output format from the name's extension.
        quietly "$work/logs/rootfs-${name}.log" mmdebstrap --variant="$variant" --arch=amd64 --format=tar \
            "${MMDEBSTRAP_OPTIONS[@]}" --include="$include" "$DEBIAN_SUITE" "${out%.tar}.tmp.tar" "${DEBIAN_SOURCES[@]}"
        mv -f -- "${out%.tar}.tmp.tar" "$out"
        # Only the newest of each root filesystem is kept: an older one is never asked for again.
        find "$work/rootfs" -maxdepth 1 -name "${name}-*.tar" ! -name "${out##*/}" -delete
        log "root filesystem ${name} (mmdebstrap --variant=${variant}) in $(e2e_elapsed "$start") s"
    fi
    printf '%s\n' "$out"
}

# kind_base_packages: the packages kind's images/base/Dockerfile installs (its clean-install line).
kind_base_packages() {
    awk '/clean-install \\$/ { on = 1; next } on && /&&/ { exit } on { for (i = 1; i <= NF; i++) if ($i != "\\") print $i }' \
        "$KIND_DIR/images/base/Dockerfile"
}

# ---- the Go builds -------------------------------------------------------------------------------

# Kubernetes: the node's kubelet, kubeadm and kubectl and the control-plane and kube-proxy images'
# commands, from a wrapper module as ../toolchain/kube-apiserver.sh builds them (the same flags, so
# the two share the Go build cache): each staging module replaced by its published release.
# Static, stripped, with the version ldflags of Kubernetes' release build.
build_kubernetes() {
    local dir mod start minor ldflags p t
    dir="$(bin_cache kubernetes "$KUBE_VERSION" "${KUBE_COMMANDS[*]}" cgo0)"
    KUBE_BIN="$dir"
    have "$dir" && return 0
    start="$(e2e_now)"
    log "building ${KUBE_COMMANDS[*]} ${KUBE_VERSION} (cold: 10-20 minutes on 2 cores)"
    fresh "$dir"
    minor="$(printf '%s' "$KUBE_VERSION" | cut -d. -f2)"
    mod="$work/go/kubernetes-${KUBE_VERSION}"
    (
        if ! grep -qs "^require k8s.io/kubernetes ${KUBE_VERSION}\$" "$mod/go.mod" || [ ! -f "$mod/go.sum" ]; then
            wrapper_module "$mod" k8s.io/kubernetes "$KUBE_VERSION"
            local upstream edits=()
            upstream="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | jq -er '.GoMod')"
            while read -r m; do
                edits+=(-replace="${m}=${m}@v0.${minor}.${KUBE_VERSION##*.}")
            done < <(go mod edit -json "$upstream" | jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path')
            [ "${#edits[@]}" -gt 0 ] || {
                log "no staging replace lines in ${upstream}"
                exit 1
            }
            cd "$mod"
            go mod edit "${edits[@]}"
            {
                printf '//go:build tools\n\n// Package tools pins the Kubernetes commands node.sh builds.\npackage tools\n\nimport (\n'
                for t in "${KUBE_COMMANDS[@]}"; do
                    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$t"
                done
                printf ')\n'
            } >tools.go
            quietly "$work/logs/kubernetes-tidy.log" go mod tidy
        fi
        cd "$mod"
        ldflags="-s -w"
        for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            ldflags+=" -X ${p}.gitVersion=${KUBE_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${minor}"
            ldflags+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=1970-01-01T00:00:00Z"
        done
        local pkgs=()
        for t in "${KUBE_COMMANDS[@]}"; do
            pkgs+=("k8s.io/kubernetes/cmd/${t}")
        done
        quietly "$work/logs/kubernetes.log" env CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$dir.tmp/" "${pkgs[@]}"
    )
    for t in "${KUBE_COMMANDS[@]}"; do
        "$dir.tmp/$t" --version 2>/dev/null | grep -q "$KUBE_VERSION" ||
            "$dir.tmp/$t" version --client 2>/dev/null | grep -q "$KUBE_VERSION" ||
            "$dir.tmp/$t" version -o short 2>/dev/null | grep -q "$KUBE_VERSION" || {
            log "${t} does not report ${KUBE_VERSION}"
            return 1
        }
    done
    seal "$dir" "$start" "Kubernetes ${KUBE_VERSION} (${KUBE_COMMANDS[*]})"
}

# containerd, ctr and the runc shim, as containerd's Makefile builds them with kind's tags: the
# daemon and ctr with cgo, the shim static and without gRPC. A wrapper module, because containerd's
# go.mod has exclude lines (copied into the wrapper, so the same versions are selected).
build_containerd() {
    local dir mod start pkg=github.com/containerd/containerd/v2 ldflags
    dir="$(bin_cache containerd "$CONTAINERD_VERSION" "$CONTAINERD_TAGS")"
    CONTAINERD_BIN="$dir"
    have "$dir" && return 0
    start="$(e2e_now)"
    fresh "$dir"
    mod="$work/go/containerd-${CONTAINERD_VERSION}"
    ldflags="-s -w -X ${pkg}/version.Version=${CONTAINERD_VERSION} -X ${pkg}/version.Package=${pkg}"
    (
        if ! grep -qs "^require ${pkg} ${CONTAINERD_VERSION}\$" "$mod/go.mod"; then
            wrapper_module "$mod" "$pkg" "$CONTAINERD_VERSION"
            local upstream excludes=()
            upstream="$(go mod download -json "${pkg}@${CONTAINERD_VERSION}" | jq -er '.GoMod')"
            mapfile -t excludes < <(go mod edit -json "$upstream" | jq -r '.Exclude[]? | "-exclude=\(.Path)@\(.Version)"')
            cd "$mod"
            [ "${#excludes[@]}" -eq 0 ] || go mod edit "${excludes[@]}"
        fi
        cd "$mod"
        quietly "$work/logs/containerd.log" env CGO_ENABLED=1 go build -mod=mod -tags "$CONTAINERD_TAGS" -ldflags "$ldflags" \
            -o "$dir.tmp/" "${pkg}/cmd/containerd" "${pkg}/cmd/ctr"
        quietly "$work/logs/containerd-shim.log" env CGO_ENABLED=0 go build -mod=mod -tags "$CONTAINERD_TAGS no_grpc" \
            -ldflags "$ldflags -extldflags -static" -o "$dir.tmp/" "${pkg}/cmd/containerd-shim-runc-v2"
    )
    seal "$dir" "$start" "containerd ${CONTAINERD_VERSION}"
}

# runc with seccomp (cgo against Debian's libseccomp, which the node has as libseccomp2), as runc's
# Makefile builds it.
build_runc() {
    local dir start commit
    dir="$(bin_cache runc "$RUNC_VERSION" seccomp)"
    RUNC_BIN="$dir"
    have "$dir" && return 0
    [ -f /usr/include/seccomp.h ] || {
        log "runc needs libseccomp's headers: apt-get install libseccomp-dev"
        return 1
    }
    start="$(e2e_now)"
    fresh "$dir"
    commit="$(module_commit "github.com/opencontainers/runc@${RUNC_VERSION}")"
    go_install_into "$dir" "$work/logs/runc.log" CGO_ENABLED=1 -- -tags "seccomp urfave_cli_no_docs" \
        -ldflags "-s -w -X main.version=${RUNC_VERSION#v} -X main.gitCommit=${commit}" \
        "github.com/opencontainers/runc@${RUNC_VERSION}"
    seal "$dir" "$start" "runc ${RUNC_VERSION}"
}

# crictl, the CNI plugins kind installs, the fuse-overlayfs snapshotter: static, with their
# Makefiles' version ldflags.
build_node_tools() {
    local dir start commit plugins=() p
    dir="$(bin_cache node-tools "$CRICTL_VERSION" "$CNI_PLUGINS_VERSION" "$FUSE_OVERLAYFS_VERSION")"
    TOOLS_BIN="$dir"
    have "$dir" && return 0
    start="$(e2e_now)"
    fresh "$dir"
    go_install_into "$dir" "$work/logs/crictl.log" -- \
        -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION#v}" \
        "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}"
    for p in ipam/host-local main/loopback main/ptp meta/portmap; do
        plugins+=("github.com/containernetworking/plugins/plugins/${p}@${CNI_PLUGINS_VERSION}")
    done
    go_install_into "$dir" "$work/logs/cni-plugins.log" -- \
        -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS_VERSION}" \
        "${plugins[@]}"
    p=github.com/containerd/fuse-overlayfs-snapshotter/v2
    commit="$(module_commit "${p}@${FUSE_OVERLAYFS_VERSION}")"
    go_install_into "$dir" "$work/logs/fuse-overlayfs.log" -- \
        -ldflags "-s -w -X ${p}/cmd/containerd-fuse-overlayfs-grpc/version.Version=${FUSE_OVERLAYFS_VERSION} -X ${p}/cmd/containerd-fuse-overlayfs-grpc/version.Revision=${commit}" \
        "${p}/cmd/containerd-fuse-overlayfs-grpc@${FUSE_OVERLAYFS_VERSION}"
    seal "$dir" "$start" "crictl ${CRICTL_VERSION}, CNI plugins ${CNI_PLUGINS_VERSION}, fuse-overlayfs ${FUSE_OVERLAYFS_VERSION}"
}

# The binaries of the node's other images: etcd (a wrapper module: its go.mod replaces its sibling
# modules with ../ paths), CoreDNS, local-path-provisioner, kindnetd (from lab-sources: a nested
# module the proxy cannot serve), pause (C, static, as build/pause's Makefile compiles it).
build_image_binaries() {
    local dir start mod commit kind_images v
    kind_images="$(lab_source "${KIND_IMAGES_SOURCE}.tar.gz")"
    dir="$(bin_cache images "$ETCD_VERSION" "$COREDNS_VERSION" "$LOCAL_PATH_VERSION" "${PAUSE_VERSIONS[*]}" \
        "$KUBE_VERSION" "$(file_sha256 "$kind_images")")"
    IMAGES_BIN="$dir"
    have "$dir" && return 0
    start="$(e2e_now)"
    fresh "$dir"
    mod="$work/go/etcd-${ETCD_VERSION}"
    (
        if ! grep -qs "^require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}\$" "$mod/go.mod"; then
            wrapper_module "$mod" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
        fi
        cd "$mod"
        quietly "$work/logs/etcd.log" go build -mod=mod -ldflags "-s -w" -o "$dir.tmp/etcd" go.etcd.io/etcd/server/v3
    )
    commit="$(module_commit "github.com/coredns/coredns@${COREDNS_VERSION}")"
    go_install_into "$dir" "$work/logs/coredns.log" -- \
        -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${commit:0:12}" \
        "github.com/coredns/coredns@${COREDNS_VERSION}"
    go_install_into "$dir" "$work/logs/local-path-provisioner.log" -- \
        -ldflags "-X main.VERSION=${LOCAL_PATH_VERSION} -extldflags -static -s -w" \
        "github.com/rancher/local-path-provisioner@${LOCAL_PATH_VERSION}"
    rm -rf -- "$work/src/${KIND_IMAGES_SOURCE}"
    tar -xzf "$kind_images" -C "$work/src"
    (
        cd "$work/src/${KIND_IMAGES_SOURCE}/images/kindnetd"
        quietly "$work/logs/kindnetd.log" go build -mod=readonly -o "$dir.tmp/kindnetd" ./cmd/kindnetd
    )
    for v in "${PAUSE_VERSIONS[@]}"; do
        quietly "$work/logs/pause.log" gcc -Os -Wall -Werror -static "-DVERSION=v${v}" -o "$dir.tmp/pause-${v}" \
            "$KUBE_DIR/build/pause/linux/pause.c"
    done
    seal "$dir" "$start" "etcd ${ETCD_VERSION}, CoreDNS ${COREDNS_VERSION}, local-path-provisioner ${LOCAL_PATH_VERSION}, kindnetd, pause ${PAUSE_VERSIONS[*]}"
}

# ---- the images inside the node ------------------------------------------------------------------

# layer_image REF STAGE BASE INSTRUCTION...: REF is BASE plus one layer holding the folder STAGE
# (file capabilities kept), then the Dockerfile instructions.
layer_image() {
    local ref="$1" stage="$2" base="$3" ctx
    shift 3
    ctx="${stage}.ctx"
    rm -rf -- "$ctx"
    mkdir -p "$ctx"
    tar --numeric-owner --xattrs --xattrs-include=security.capability --sort=name -C "$stage" -cf "$ctx/layer.tar" .
    quietly "$work/logs/images.log" scratch_image "$ref" "$ctx" "FROM ${base}" "ADD layer.tar /" "$@"
    rm -rf -- "$ctx" "$stage"
    BUILT_REFS+=("$ref")
}

# static_files DIR: what distroless' static image gives a static binary: the CA bundle (the
# node's, made by Debian's ca-certificates), passwd and group with root and nonroot (65532),
# nsswitch.conf, /tmp.
static_files() {
    local dir="$1"
    mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot"
    cp -- "$tree/etc/ssl/certs/ca-certificates.crt" "$dir/etc/ssl/certs/"
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
        >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$dir/etc/group"
    printf '%s\n' 'hosts: files dns' >"$dir/etc/nsswitch.conf"
    chmod 1777 "$dir/tmp"
    chown 65532:65532 "$dir/home/nonroot"
}

# stage_path ROOT DEST PATH: PATH of the tree ROOT copied to DEST, and every link on its way.
stage_path() {
    local root="$1" dest="$2" path="$3" target
    (cd "$root" && cp -a --parents ".${path}" "$dest")
    if [ -L "${root}${path}" ]; then
        target="$(readlink "${root}${path}")"
        case "$target" in
        /*) ;;
        *) target="$(dirname -- "$path")/${target}" ;;
        esac
        stage_path "$root" "$dest" "$(realpath -m -s "$target")"
    fi
}

# stage_binary ROOT DEST PATH: an executable of the tree ROOT and the libraries it loads.
stage_binary() {
    local root="$1" dest="$2" path="$3" lib
    stage_path "$root" "$dest" "$path"
    # The tree is Debian bookworm like this host: the host's ldd names the same paths.
    while read -r lib; do
        stage_path "$root" "$dest" "$lib"
    done < <(ldd "${root}${path}" | sed -E 's#.* => /#/#' | awk '$1 ~ /^\// { print $1 }')
}

# build_base_images: the two bases: "static" (static_files) for the Go commands that need no
# userland, "iptables" (Debian's iptables, nftables, conntrack and dash, unpacked, plus
# iptables-wrapper) for kube-proxy and kindnetd.
build_base_images() {
    local stage="$build/static-base" ipt="$build/iptables-base" n
    static_files "$stage"
    STATIC_BASE="capt-e2e-node-build/static-base:${key}"
    layer_image "$STATIC_BASE" "$stage" scratch "$PATH_ENV"

    mkdir -p "$ipt"
    tar --numeric-owner -xf "$IPTABLES_TAR" -C "$ipt"
    rm -rf -- "${ipt:?}/dev/"* "$ipt/usr/share/doc" "$ipt/usr/share/man" "$ipt/usr/share/info" "$ipt/usr/share/locale" \
        "$ipt/usr/share/lintian" "$ipt/var/cache/"* "$ipt/var/lib/apt" "$ipt/var/log/"*
    static_files "$ipt"
    install -m 0755 "$here/node/iptables-wrapper" "$ipt/usr/sbin/iptables-wrapper"
    for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -sfn iptables-wrapper "$ipt/usr/sbin/$n"
    done
    mkdir -p "$ipt/var/lib/iptables-wrapper" "$ipt/run"
    IPTABLES_BASE="capt-e2e-node-build/iptables-base:${key}"
    layer_image "$IPTABLES_BASE" "$ipt" scratch "$PATH_ENV"
}

# build_image REF: the image REF (as the node names it) under a build-time name; appends
# "ARCHIVE BUILD-NAME REF" to the import list.
build_image() {
    local ref="$1" image_repo tag name stage build_ref
    image_repo="${ref%:*}"
    tag="${ref##*:}"
    name="${image_repo##*/}"
    build_ref="capt-e2e-node-build/${name}:${tag}-${key}"
    stage="$build/img-${name}-${tag}"
    rm -rf -- "$stage"
    mkdir -p "$stage"
    case "$name" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy)
        [ "$tag" = "$KUBE_VERSION" ] || return 1
        install -D -m 0755 "$KUBE_BIN/$name" "$stage/usr/local/bin/$name"
        local base="$STATIC_BASE"
        [ "$name" != kube-proxy ] || base="$IPTABLES_BASE"
        layer_image "$build_ref" "$stage" "$base" "ENTRYPOINT [\"/usr/local/bin/${name}\"]"
        ;;
    etcd)
        [ "$tag" = "${ETCD_VERSION#v}-0" ] || return 1
        install -D -m 0755 "$IMAGES_BIN/etcd" "$stage/usr/local/bin/etcd"
        layer_image "$build_ref" "$stage" "$STATIC_BASE" 'EXPOSE 2379 2380' 'ENTRYPOINT ["/usr/local/bin/etcd"]'
        ;;
    coredns)
        [ "$tag" = "$COREDNS_VERSION" ] || return 1
        # As CoreDNS's Dockerfile: non-root, and port 53 through a file capability.
        install -m 0755 "$IMAGES_BIN/coredns" "$stage/coredns"
        setcap cap_net_bind_service=+ep "$stage/coredns"
        layer_image "$build_ref" "$stage" "$STATIC_BASE" 'USER 65532:65532' 'EXPOSE 53 53/udp' 'ENTRYPOINT ["/coredns"]'
        ;;
    pause)
        local v found=""
        for v in "${PAUSE_VERSIONS[@]}"; do
            [ "$v" != "$tag" ] || found=1
        done
        [ -n "$found" ] || return 1
        install -m 0755 "$IMAGES_BIN/pause-${tag}" "$stage/pause"
        layer_image "$build_ref" "$stage" scratch 'USER 65535:65535' 'ENTRYPOINT ["/pause"]'
        ;;
    kindnetd)
        install -D -m 0755 "$IMAGES_BIN/kindnetd" "$stage/bin/kindnetd"
        layer_image "$build_ref" "$stage" "$IPTABLES_BASE" 'CMD ["/bin/kindnetd"]'
        ;;
    local-path-provisioner)
        install -D -m 0755 "$IMAGES_BIN/local-path-provisioner" "$stage/usr/local/bin/local-path-provisioner"
        layer_image "$build_ref" "$stage" "$STATIC_BASE" 'ENTRYPOINT ["/usr/local/bin/local-path-provisioner"]'
        ;;
    local-path-helper)
        # As kind's recipe: sh, rm and mkdir with their libraries, from Debian, and nothing else.
        local b
        for b in /bin/sh /bin/dash /bin/rm /bin/mkdir; do
            stage_binary "$tree" "$stage" "$b"
        done
        mkdir -p "$stage/tmp"
        chmod 1777 "$stage/tmp"
        layer_image "$build_ref" "$stage" scratch "$PATH_ENV"
        ;;
    *) return 1 ;;
    esac
    docker save -o "$build/images/${name}-${tag}.tar" "$build_ref"
    printf '%s %s %s\n' "${name}-${tag}.tar" "docker.io/${build_ref}" "$(normalized_ref "$ref")" >>"$build/images/list"
}

# normalized_ref REF: REF as containerd names it (docker.io/ and library/ made explicit).
normalized_ref() {
    local ref="$1" first="${1%%/*}"
    if [ "$first" = "$ref" ]; then
        ref="docker.io/library/${ref}"
    elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then
        ref="docker.io/${ref}"
    fi
    printf '%s\n' "$ref"
}

# ---- the node ------------------------------------------------------------------------------------

# install_kind_base_files: images/base/files as kind's Dockerfile copies them (scripts 0755,
# everything else 0644), each at its own path.
install_kind_base_files() {
    local files="$KIND_DIR/images/base/files" f mode
    while IFS= read -r -d '' f; do
        f="${f#./}"
        case "$f" in
        usr/local/bin/* | kind/bin/*) mode=0755 ;;
        *) mode=0644 ;;
        esac
        install -D -m "$mode" "$files/$f" "$tree/$f"
    done < <(cd "$files" && find . -type f -print0)
}

# in_tree COMMAND...: COMMAND run in the node's root filesystem (chroot), with the node's PATH.
in_tree() {
    chroot "$tree" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# assemble_tree: the node's root filesystem in $tree: Debian with kind's packages, then what kind's
# base Dockerfile and `kind build node-image` add, except the images.
assemble_tree() {
    local start f
    start="$(e2e_now)"
    rm -rf -- "$tree"
    mkdir -p "$tree"
    tar --numeric-owner --xattrs --xattrs-include=security.capability -xpf "$NODE_ROOTFS_TAR" -C "$tree"
    rm -rf -- "${tree:?}/dev/"*

    install_kind_base_files
    chmod 0755 "$tree/kind/bin"
    # The base Dockerfile's clean-up: no unit starts but the node's own, no kernel log in journald.
    find "$tree/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
    rm -f -- "$tree"/lib/systemd/system/multi-user.target.wants/* "$tree"/etc/systemd/system/*.wants/* \
        "$tree"/lib/systemd/system/local-fs.target.wants/* "$tree"/lib/systemd/system/sockets.target.wants/*udev* \
        "$tree"/lib/systemd/system/sockets.target.wants/*initctl* "$tree"/lib/systemd/system/basic.target.wants/*
    echo "ReadKMsg=no" >>"$tree/etc/systemd/journald.conf"
    [ -L "$tree/usr/bin/systemd" ] || {
        log "the root filesystem has no /usr/bin/systemd"
        return 1
    }
    ln -sfn /usr/bin/systemd "$tree/sbin/init"
    rm -rf -- "${tree:?}"/var/cache/debconf/* "${tree:?}"/var/log/* "${tree:?}"/tmp/* "${tree:?}"/var/tmp/*
    in_tree systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
    in_tree systemctl mask systemd-binfmt.service >/dev/null 2>&1
    mkdir -p "$tree/etc/kubernetes/manifests"

    for f in containerd ctr containerd-shim-runc-v2; do
        install -m 0755 "$CONTAINERD_BIN/$f" "$tree/usr/local/bin/$f"
    done
    install -D -m 0755 "$RUNC_BIN/runc" "$tree/usr/local/sbin/runc"
    install -m 0755 "$TOOLS_BIN/crictl" "$TOOLS_BIN/containerd-fuse-overlayfs-grpc" "$tree/usr/local/bin/"
    mkdir -p "$tree/opt/cni/bin"
    for f in host-local loopback ptp portmap; do
        install -m 0755 "$TOOLS_BIN/$f" "$tree/opt/cni/bin/$f"
    done
    # kind build node-image: kubeadm, kubelet and kubectl in /usr/bin, the version in /kind/version.
    for f in kubeadm kubelet kubectl; do
        install -m 0755 "$KUBE_BIN/$f" "$tree/usr/bin/$f"
    done
    printf '%s' "$KUBE_VERSION" >"$tree/kind/version"

    # The runtime's base spec, as kind's base Dockerfile derives it from containerd's default.
    in_tree ctr oci spec |
        jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
        jq 'del(.process.rlimits)' >"$tree/etc/containerd/cri-base.json"
    if ! in_tree containerd --version | grep -qw -- "$CONTAINERD_VERSION" ||
        ! in_tree runc --version | grep -q "^runc version ${RUNC_VERSION#v}\$" ||
        ! in_tree crictl --version | grep -qw -- "${CRICTL_VERSION#v}" ||
        ! in_tree kubelet --version | grep -qw -- "$KUBE_VERSION"; then
        log "a node binary does not run in the node's root filesystem or reports another version"
        return 1
    fi
    log "node root filesystem assembled in $(e2e_elapsed "$start") s"
}

# node_images: every image the node holds, as the node names them: kubeadm's list for this
# version, the sandbox image of kind's containerd config, kind's CNI and storage images.
node_images() {
    "$KUBE_BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION" 2>/dev/null
    sed -n 's/^[[:space:]]*sandbox_image[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$tree/etc/containerd/config.toml"
    jq -r '.kindnetdImage, .storageProvisionerImage, .storageHelperImage' "$KIND_CONSTS"
}

# node_ctr ARG...: the node's ctr, in the node's root filesystem, talking to the import daemon.
node_ctr() {
    in_tree ctr --address /run/node-import/containerd.sock --namespace k8s.io "$@"
}

# import_images: the archives imported into the node's /var/lib/containerd the way kind build
# node-image imports them: the node's containerd (here in a throwaway container of the iptables
# base, which has the C library it links, over the tree's /var/lib/containerd) and the node's ctr
# (in the tree); each image pinned, so the kubelet's image garbage collection keeps it, and not
# unpacked (the runtime unpacks on first use). --compress-blobs stores the layers gzipped as a
# pulled image's are (docker save writes them uncompressed). The archives carry build-time names,
# so the build never retagged a docker image of the user's: each is renamed to the name the node's
# pods use.
import_images() {
    local start sockets="$tree/run/node-import" archive build_name node_name
    start="$(e2e_now)"
    mkdir -p "$sockets" "$tree/var/lib/containerd"
    mv -- "$build/images" "$tree/tmp/node-images"
    docker run -d --name "capt-e2e-node-import-${key}" --network none \
        -v "$tree/var/lib/containerd:/var/lib/containerd" -v "$sockets:/run/node-import" \
        -v "$tree/usr/local/bin/containerd:/usr/local/bin/containerd:ro" \
        --entrypoint /usr/local/bin/containerd "$IPTABLES_BASE" \
        --root /var/lib/containerd --state /run/node-import/state --address /run/node-import/containerd.sock >/dev/null
    for _ in $(seq 1 120); do
        [ -S "$sockets/containerd.sock" ] && node_ctr version >/dev/null 2>&1 && break
        sleep 1
    done
    node_ctr version >/dev/null 2>&1 || {
        docker logs "capt-e2e-node-import-${key}" 2>&1 | tail -n 20 >&2
        log "the import containerd did not answer"
        return 1
    }
    while read -r archive build_name node_name; do
        quietly "$work/logs/import.log" node_ctr images import --label=io.cri-containerd.pinned=pinned --all-platforms \
            --no-unpack --digests --compress-blobs "/tmp/node-images/${archive}"
        quietly "$work/logs/import.log" node_ctr images tag --local --force "$build_name" "$node_name"
        quietly "$work/logs/import.log" node_ctr images rm "$build_name"
    done <"$tree/tmp/node-images/list"
    node_ctr images ls >"$work/logs/import.log" 2>&1
    docker stop -t 30 "capt-e2e-node-import-${key}" >/dev/null
    docker rm "capt-e2e-node-import-${key}" >/dev/null
    local want missing=0
    while read -r _ _ want; do
        grep -q "^${want} " "$work/logs/import.log" || {
            log "${want} is not in the node's containerd after the import"
            missing=1
        }
    done <"$tree/tmp/node-images/list"
    [ "$missing" -eq 0 ] || return 1
    log "$(wc -l <"$tree/tmp/node-images/list") images imported into the node in $(e2e_elapsed "$start") s ($(du -sh "$tree/var/lib/containerd" | cut -f1))"
    rm -rf -- "$sockets" "$tree/tmp/node-images"
}

# write_manifests: /kind/manifests/default-cni.yaml and default-storage.yaml, kind v0.31.0's own.
write_manifests() {
    mkdir -p "$tree/kind/manifests"
    jq -j '.defaultCNIManifest' "$KIND_CONSTS" >"$tree/kind/manifests/default-cni.yaml"
    jq -j '.defaultStorageManifest' "$KIND_CONSTS" >"$tree/kind/manifests/default-storage.yaml"
    chmod 0644 "$tree/kind/manifests/"*
}

# commit_node: the tree as a one-layer image with the node's image config (kind's base image
# config plus what kind build node-image's commit sets).
commit_node() {
    local start stage_ref ctx
    start="$(e2e_now)"
    stage_ref="capt-e2e-node-build/node-rootfs:${key}"
    tar --numeric-owner --xattrs --xattrs-include=security.capability --sort=name -C "$tree" -cf - . |
        docker import --message "kind node root filesystem (tests/e2e/bundle/node.sh)" - "$stage_ref" >/dev/null
    BUILT_REFS+=("$stage_ref")
    ctx="$build/node.ctx"
    mkdir -p "$ctx"
    NODE_BUILD_REF="capt-e2e-node-build/node:${key}"
    quietly "$work/logs/images.log" scratch_image "$NODE_BUILD_REF" "$ctx" "FROM ${stage_ref}" 'ENV container=docker' 'STOPSIGNAL SIGRTMIN+3' \
        'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""' 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]'
    BUILT_REFS+=("$NODE_BUILD_REF")
    log "node image committed in $(e2e_elapsed "$start") s ($(docker image inspect -f '{{.Size}}' "$NODE_BUILD_REF" | numfmt --to=iec) uncompressed)"
}

# save_node: the node image recorded under its own name. The name is only borrowed for the save:
# an image the user had under it gets it back, else the name goes again.
save_node() {
    local before=""
    before="$(docker image inspect -f '{{.Id}}' "$NODE_REF" 2>/dev/null || true)"
    docker tag "$NODE_BUILD_REF" "$NODE_REF"
    part_image "$NODE_REF" "built offline as kind ${KIND_VERSION} builds a node image (images/base files and packages on Debian ${DEBIAN_SUITE}): Kubernetes ${KUBE_VERSION}, containerd ${CONTAINERD_VERSION}, runc ${RUNC_VERSION}, crictl ${CRICTL_VERSION}, CNI plugins ${CNI_PLUGINS_VERSION}; images etcd ${ETCD_VERSION}, CoreDNS ${COREDNS_VERSION}, pause ${PAUSE_VERSIONS[*]}, kindnetd (kind ${KIND_VERSION}), local-path-provisioner ${LOCAL_PATH_VERSION}; from the Go module proxy, Debian's archive and lab-sources ${KIND_IMAGES_SOURCE}"
    if [ -n "$before" ]; then
        docker tag "$before" "$NODE_REF"
    else
        docker rmi "$NODE_REF" >/dev/null
    fi
}

cleanup() {
    local i
    # Newest first: an image goes before the base it was built on.
    for ((i = ${#BUILT_REFS[@]} - 1; i >= 0; i--)); do
        docker rmi -f "${BUILT_REFS[$i]}" >/dev/null 2>&1 || true
    done
    docker rm -f "capt-e2e-node-import-${key}" >/dev/null 2>&1 || true
    rm -rf -- "$build"
}

# ---- main ----------------------------------------------------------------------------------------

for c in gcc mmdebstrap setcap jq; do
    command -v "$c" >/dev/null || {
        log "${c} is required (Debian: gcc libseccomp-dev mmdebstrap libcap2-bin jq)"
        exit 1
    }
done
"$here/../toolchain/docker.sh"
install_kind

kind_images_tarball="$(lab_source "${KIND_IMAGES_SOURCE}.tar.gz")"
part_begin node "$KIND_VERSION" "$KUBE_VERSION" "$CONTAINERD_VERSION" "$RUNC_VERSION" "$CNI_PLUGINS_VERSION" \
    "$CRICTL_VERSION" "$FUSE_OVERLAYFS_VERSION" "$ETCD_VERSION" "$COREDNS_VERSION" "${PAUSE_VERSIONS[*]}" \
    "$LOCAL_PATH_VERSION" "$CONTAINERD_TAGS" "${DEBIAN_SOURCES[*]}" "${IPTABLES_PACKAGES[*]}" \
    "$(file_sha256 "$kind_images_tarball")" "$(cd "$here/node" && sha256sum -- * | sha256sum)" || {
    part_print
    exit 0
}
key="$(basename -- "$PART_TMP" .tmp)"
key="${key##*-}"
build="$work/build-${key}"
tree="$build/tree"
BUILT_REFS=()
trap cleanup EXIT
rm -rf -- "$build"
mkdir -p "$build/images"
: >"$build/images/list"

KIND_DIR="$(module_dir "sigs.k8s.io/kind@${KIND_VERSION}")"
KUBE_DIR="$(module_dir "k8s.io/kubernetes@${KUBE_VERSION}")"
KIND_CONSTS="$build/kind-consts.json"
go build -o "$build/go-consts" "$here/node/go-consts.go"
"$build/go-consts" "$KIND_DIR/pkg/build/nodeimage/"{const_cni.go,const_storage.go,defaults.go} >"$KIND_CONSTS"
mapfile -t node_packages < <(kind_base_packages)
[[ " ${node_packages[*]} " == *" systemd "* ]] || {
    log "could not read the package list of ${KIND_DIR}/images/base/Dockerfile"
    exit 1
}

# The root filesystems download while the Go builds compile.
debian_tar node minbase "${node_packages[@]}" >"$build/rootfs-node" &
rootfs_node_pid=$!
debian_tar iptables extract "${IPTABLES_PACKAGES[@]}" >"$build/rootfs-iptables" &
rootfs_iptables_pid=$!

build_kubernetes
build_containerd
build_runc
build_node_tools
build_image_binaries
if ! wait "$rootfs_node_pid" || ! wait "$rootfs_iptables_pid"; then
    log "a root filesystem failed (logs: ${work}/logs/rootfs-*.log)"
    exit 1
fi
NODE_ROOTFS_TAR="$(cat "$build/rootfs-node")"
IPTABLES_TAR="$(cat "$build/rootfs-iptables")"

assemble_tree
write_manifests
step="$(e2e_now)"
build_base_images
mapfile -t images < <(node_images | LC_ALL=C sort -u)
for ref in "${images[@]}"; do
    build_image "$ref" || {
        log "the node needs ${ref}, which this piece does not build (a pinned version is out of date?)"
        exit 1
    }
done
log "${#images[@]} images built in $(e2e_elapsed "$step") s: ${images[*]}"
import_images
commit_node
save_node
part_commit
