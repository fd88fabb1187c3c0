# shellcheck shell=bash
# Host tools the bundle pieces build with (helm, kustomize, clusterctl) and the Debian root
# filesystems of the images that need a userland; sourced after ../toolchain/lib.sh and lib.sh,
# never executed. The tools are not in the bundle: each is built once from the Go module proxy
# into $CAPT_E2E_CACHE/<tool>/<version>/<tool>, with the version ldflags its release sets, and is
# shared by every piece and by the suite (clusterctl).

# Pinned tool versions: helm as Tinkerbell's release workflow packages its chart with, kustomize
# as the lab-sources README checked against Cluster API's and CAPT's config/.
HELM_VERSION="${HELM_VERSION:-v3.17.0}"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.7.1}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# go_module_dir MODULE@VERSION: the module's folder in the module cache (downloaded if needed).
go_module_dir() {
    go mod download -json "$1" | jq -er '.Dir'
}

# go_module_commit MODULE@VERSION: the commit the proxy says the version was cut from (empty if unknown).
go_module_commit() {
    go mod download -json "$1" | jq -r '.Origin.Hash // empty'
}

# host_tool NAME VERSION PACKAGE LDFLAGS: path of the tool, built once with `go install PACKAGE@VERSION`.
host_tool() {
    local name="$1" version="$2" package="$3" ldflags="$4" dir bin start
    dir="$(e2e_cache_root)/${name}/${version}"
    bin="${dir}/${name}"
    if [ ! -x "$bin" ]; then
        mkdir -p "$dir"
        (
            exec 7>"${dir}/.lock"
            flock 7
            [ -x "$bin" ] && exit 0
            start="$(e2e_now)"
            rm -rf "${dir}/gobin"
            GOBIN="${dir}/gobin" go install -ldflags "$ldflags" "${package}@${version}"
            mv -f "${dir}/gobin/${name}" "$bin"
            rm -rf "${dir}/gobin"
            e2e_log host-tools "built ${name} ${version} in $(e2e_elapsed "$start") s: ${bin}"
        )
    fi
    printf '%s\n' "$bin"
}

# helm_bin: helm, with the ldflags of helm's Makefile (version, tree state, and the Kubernetes
# version `helm template` assumes: client-go's minor + 1.0 as its Makefile derives it).
helm_bin() {
    local major="${HELM_VERSION%%.*}" client_go minor
    client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$(go_module_dir "helm.sh/helm/${major}@${HELM_VERSION}")/go.mod")"
    minor="$(printf '%s' "$client_go" | cut -d. -f2)"
    host_tool helm "$HELM_VERSION" "helm.sh/helm/${major}/cmd/helm" \
        "-w -s -X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION} \
-X helm.sh/helm/${major}/internal/version.gitTreeState=clean \
-X helm.sh/helm/${major}/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/${major}/pkg/lint/rules.k8sVersionMinor=${minor} \
-X helm.sh/helm/${major}/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/${major}/pkg/chartutil.k8sVersionMinor=${minor}"
}

# kustomize_bin: kustomize (its version comes from the module's build information).
kustomize_bin() {
    host_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5 "-s -w"
}

# debian_rootfs DIR PACKAGE...: a Debian minbase root filesystem with the packages (and their
# dependencies) in DIR, without apt's lists and downloads, /dev emptied (the runtime fills it).
# The .deb files are kept in one cache, so a rebuild downloads nothing new.
debian_rootfs() {
    local dir="$1" include
    shift
    include="$(
        IFS=,
        printf '%s' "$*"
    )"
    command -v debootstrap >/dev/null || {
        e2e_log host-tools "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    mkdir -p "$(bundle_cache_root)/debs"
    rm -rf -- "$dir"
    debootstrap --variant=minbase --arch=amd64 ${include:+--include="$include"} \
        --cache-dir="$(bundle_cache_root)/debs" "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >"${dir}.log" 2>&1 || {
        tail -n 20 "${dir}.log" >&2
        return 1
    }
    rm -rf -- "${dir:?}"/var/cache/apt/archives/*.deb "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/dev/* "${dir:?}"/var/log/*.log \
        "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old
    rm -f -- "${dir}.log"
}

# rootfs_image REF DIR CONTEXT DOCKERFILE-LINE...: a one-layer image of the root filesystem DIR
# (FROM scratch, ADD of its tarball), then the given instructions (ENTRYPOINT, CMD, USER...).
rootfs_image() {
    local ref="$1" dir="$2" context="$3"
    shift 3
    mkdir -p "$context"
    tar --numeric-owner --sort=name -C "$dir" -cf "$context/rootfs.tar" .
    scratch_image "$ref" "$context" "FROM scratch" "ADD rootfs.tar /" "$@"
    rm -f -- "$context/rootfs.tar"
}

# go_licenses OUT HEADER PACKAGE...: the license and notice files of every module compiled into the
# packages (run in the main module's folder), one after the other under the header, as the
# upstream third-party bundles do (module roots only).
go_licenses() {
    local out="$1" header="$2" path dir f rule
    shift 2
    rule="$(printf '%080d' 0 | tr 0 =)"
    cat "$header" >"$out"
    go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Dir}}{{end}}{{end}}' "$@" | LC_ALL=C sort -u |
        while read -r path dir; do
            for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE*; do
                [ -f "$f" ] || continue
                printf '\n%s\nModule: %s\nFile:   %s\n%s\n\n' "$rule" "$path" "$(basename "$f")" "$rule" >>"$out"
                cat "$f" >>"$out"
            done
        done
}
