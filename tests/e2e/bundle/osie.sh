#!/usr/bin/env bash
# osie.sh: the bundle's "osie" piece (README.md beside this file, section "osie"): the CaptainOS
# artifacts image the chart's OSIE file server mounts at /captain, built offline from CaptainOS's
# own recipe (mkosi.conf, mkosi.extra/, postinst and finalize scripts) with mkosi v26 in native mode.
# CaptainOS's build downloads a kernel.org kernel and GitHub releases; here the kernel is Debian's,
# the container tools are built from the Go module proxy at the versions CaptainOS pins, and the
# tink-agent image of the tinkerbell piece is imported into the initramfs's containerd, so the
# booted machine pulls nothing.
#
# Usage: tests/e2e/bundle/osie.sh       (build.sh runs it; stdout: the piece's folder)
# Environment:
#   CAPT_SHARED_DIR   the folder with lab-sources/ (default: ../shared beside the clone)
#   CAPT_E2E_CACHE    cache root (../toolchain/lib.sh)
# The image carries the kernel version its file names use as the label
# org.capt-playground.kernel-version: the value of config captainosKernelVersion.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=osie
log() { e2e_log "$me" "$@"; }

CAPTAIN_SOURCE=tinkerbell+captain@9ea7a56e1453
MKOSI_SOURCE=systemd+mkosi@v26
# nerdctl's binary links its nested module mod/tigron (through pkg/testutil), which go.mod replaces
# with ./mod/tigron: the module zip lacks it and the proxy refuses the module itself.
TIGRON_SOURCE=containerd+nerdctl@v2.2.1-tigron
# The versions CaptainOS's recipe downloads (captain/tools.py; checked against the recipe below).
CONTAINERD_VERSION=v2.2.1
RUNC_VERSION=v1.4.0
NERDCTL_VERSION=v2.2.1
CNI_PLUGINS_VERSION=v1.6.0
# CaptainOS takes these CNI plugins from the release (captain/tools.py).
CNI_PLUGINS=(main/bridge ipam/host-local main/loopback meta/portmap meta/firewall meta/tuning)
DEBIAN_RELEASE=trixie
TINK_AGENT_REF=ghcr.io/tinkerbell/tink-agent:v0.25.0
# nerdctl's namespace in CaptainOS (mkosi.extra/etc/nerdctl/nerdctl.toml): where tink-agent-setup
# looks for the image before it would pull it.
TINK_AGENT_NAMESPACE=tinkerbell
ARTIFACTS_REPO=capt-playground.local/captain/artifacts
# Architecture names: Debian's, mkosi's, and the suffix Smee appends to the file names.
DEB_ARCH=amd64
MKOSI_ARCH=x86-64
OSIE_ARCH=x86_64
# The kernel modules the initramfs keeps (mkosi's KernelModules= globs; their dependencies come
# along). CaptainOS builds its kernel with most drivers as modules and trims a few directories in
# mkosi.finalize; Debian's kernel has every driver as a module, so this keeps what provisioning needs
# instead: mkosi-initrd's defaults (storage, virtio, filesystems, crypto, input), every wired NIC,
# storage controllers, IPMI, and what containerd and the CNI bridge use (overlay, bridge, veth,
# netfilter). Left out: graphics, sound, media, wireless, bluetooth, infiniband, staging.
KERNEL_MODULES=(
    default
    /drivers/net/ethernet/ /drivers/net/phy/ /drivers/net/mdio/ /drivers/net/pcs/ /drivers/net/usb/
    bonding 8021q veth bridge br_netfilter macvlan tun dummy
    /drivers/scsi/ /drivers/ata/ /drivers/nvme/ /drivers/md/ /drivers/block/ /drivers/mmc/
    /drivers/usb/storage/ /drivers/usb/host/ /drivers/virtio/ /drivers/char/ipmi/
    /net/netfilter/ /net/ipv4/netfilter/ /net/ipv6/netfilter/ /net/bridge/
    isofs udf fuse
)

shared="${CAPT_SHARED_DIR:-$(dirname -- "$repo")/shared}"

# lab_source NAME: the tarball NAME from ../shared/lab-sources/ (checked against its SHA256SUMS), or
# from the cache's lab-sources/, where a source not yet in ../shared is placed by hand.
lab_source() {
    local f="${shared}/lab-sources/$1" want
    if [ -f "$f" ]; then
        want="$(awk -v n="$1" '$2 == n { print $1 }' "${shared}/lab-sources/SHA256SUMS")"
        [ "$(file_sha256 "$f")" = "$want" ] || {
            log "${f} does not match its line in ${shared}/lab-sources/SHA256SUMS"
            return 1
        }
    else
        f="$(e2e_cache_root)/lab-sources/$1"
        [ -f "$f" ] || {
            log "missing source tarball $1 (looked in ${shared}/lab-sources and $(e2e_cache_root)/lab-sources)"
            return 1
        }
    fi
    printf '%s\n' "$f"
}

# tink_agent_part: the tinkerbell piece's folder (built first when it is not cached).
tink_agent_part() {
    "$here/tinkerbell.sh" | tail -n 1
}

captain_tarball="$(lab_source "${CAPTAIN_SOURCE}.tar.gz")"
mkosi_tarball="$(lab_source "${MKOSI_SOURCE}.tar.gz")"
tigron_tarball="$(lab_source "${TIGRON_SOURCE}.tar.gz")"
"$here/../toolchain/docker.sh"
tinkerbell_part="$(tink_agent_part)"
tink_agent_tar="${tinkerbell_part}/images/$(image_file_name "$TINK_AGENT_REF")"
tink_agent_id="$(jq -r --arg ref "$TINK_AGENT_REF" '.[] | select(.kind == "image" and .ref == $ref) | .imageId' \
    "${tinkerbell_part}/artifacts.json")"
if [ ! -f "$tink_agent_tar" ] || [ -z "$tink_agent_id" ]; then
    log "the tinkerbell piece (${tinkerbell_part}) has no ${TINK_AGENT_REF}"
    exit 1
fi

if ! part_begin osie "$(file_sha256 "$captain_tarball")" "$(file_sha256 "$mkosi_tarball")" \
    "$(file_sha256 "$tigron_tarball")" "$CONTAINERD_VERSION" "$RUNC_VERSION" "$NERDCTL_VERSION" "$CNI_PLUGINS_VERSION" "${CNI_PLUGINS[*]}" \
    "$DEBIAN_RELEASE" "$tink_agent_id" "${KERNEL_MODULES[*]}"; then
    part_print
    exit 0
fi

work="$(bundle_cache_root)/work/osie"
ctr_run=""
cleanup() {
    stop_containerd
    rm -rf -- "$work"
}
trap cleanup EXIT
rm -rf -- "$work"
mkdir -p "$work"
# Downloaded .debs survive a rebuild of the piece (apt checks them against the archive's index).
packages="$(bundle_cache_root)/cache/osie-debs"
mkdir -p "$packages"

# 1. CaptainOS's recipe and mkosi, unpacked; the tool versions checked against the recipe's pins.
unpack_sources() {
    tar -xzf "$captain_tarball" -C "$work"
    tar -xzf "$mkosi_tarball" -C "$work"
    recipe="${work}/${CAPTAIN_SOURCE}"
    mkosi_dir="${work}/${MKOSI_SOURCE}"
    local pinned
    pinned="$(python3 - "${recipe}/captain/tools.py" <<'EOF'
import ast, sys
# ToolSpec(name="containerd", version="2.2.1", ...) calls in CaptainOS's tool manifest.
for node in ast.walk(ast.parse(open(sys.argv[1]).read())):
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ToolSpec":
        kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        print(f"{kw['name']}=v{kw['version']}")
EOF
    )"
    local want=("containerd=${CONTAINERD_VERSION}" "runc=${RUNC_VERSION}" "nerdctl=${NERDCTL_VERSION}"
        "cni-plugins=${CNI_PLUGINS_VERSION}")
    [ "$(printf '%s\n' "$pinned" | sort | tr '\n' ' ')" = "$(printf '%s\n' "${want[@]}" | sort | tr '\n' ' ')" ] || {
        log "CaptainOS pins other tool versions than this script builds: ${pinned//$'\n'/ } (script: ${want[*]})"
        exit 1
    }
}

# 2. Debian's package sources, shared by apt (the kernel) and mkosi (its sandbox tree replaces the
# repositories mkosi would add itself, among them debian-debug, which this archive mirror lacks).
write_apt_sources() {
    sandbox="${work}/sandbox"
    mkdir -p "${sandbox}/etc/apt/sources.list.d"
    cat >"${sandbox}/etc/apt/sources.list.d/mkosi.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${DEBIAN_RELEASE} ${DEBIAN_RELEASE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${DEBIAN_RELEASE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# apt_private ARGS...: apt-get (or apt-cache with APT_CMD) on the release's sources with its own state,
# leaving the host's apt alone.
apt_private() {
    "${APT_CMD:-apt-get}" -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=${sandbox}/etc/apt/sources.list.d" \
        -o "Dir::State::Lists=${work}/apt/lists" -o Dir::State::Status=/dev/null -o "Dir::Cache=${work}/apt/cache" \
        -o "APT::Architecture=${DEB_ARCH}" -o Acquire::Languages=none \
        -o APT::Sandbox::User=root "$@"
}

# 3. The kernel: the release's current linux-image-amd64 (the archive keeps only the newest build, so
# the version is read, not pinned). Its vmlinuz becomes the artifact; its modules go into the image
# as an extra tree, where mkosi keeps the KERNEL_MODULES above and runs depmod.
fetch_kernel() {
    local start package version deb
    start="$(e2e_now)"
    mkdir -p "${work}/apt/lists/partial" "${work}/apt/cache"
    apt_private update >"${work}/apt.log" 2>&1 || {
        tail -n 20 "${work}/apt.log" >&2
        exit 1
    }
    package="$(APT_CMD=apt-cache apt_private depends "linux-image-${DEB_ARCH}" |
        sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*-${DEB_ARCH}\)\$/\1/p" | head -n 1)"
    [ -n "$package" ] || {
        log "no kernel package behind linux-image-${DEB_ARCH} in ${DEBIAN_RELEASE}"
        exit 1
    }
    version="$(APT_CMD=apt-cache apt_private show --no-all-versions "$package" | sed -n 's/^Version: //p' | head -n 1)"
    deb="${packages}/kernel/${package}_${version}_${DEB_ARCH}.deb"
    if [ ! -f "$deb" ]; then
        mkdir -p "${packages}/kernel"
        (cd "${packages}/kernel" && apt_private download "$package") >>"${work}/apt.log" 2>&1 || {
            tail -n 20 "${work}/apt.log" >&2
            exit 1
        }
    fi
    kernel_package="$package"
    kernel_deb_version="$(dpkg-deb -f "$deb" Version)"
    # captainosKernelVersion must be a plain x.y.z (lib/config-schema.ts): Debian's upstream version.
    kernel_version="${kernel_deb_version%%-*}"
    [[ "$kernel_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
        log "cannot make a plain x.y.z kernel version of ${kernel_package} ${kernel_deb_version}"
        exit 1
    }
    modules_tree="${work}/modules"
    dpkg-deb -x "$deb" "${work}/kernel"
    mkdir -p "${modules_tree}/usr/lib"
    mv "${work}/kernel/usr/lib/modules" "${modules_tree}/usr/lib/modules"
    kernel_release="$(basename "$(find "${modules_tree}/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d)")"
    # The package leaves modules.dep to its postinst; mkosi's module filter resolves names through it.
    depmod -a -b "${modules_tree}/usr" "$kernel_release"
    vmlinuz="${work}/kernel/boot/vmlinuz-${kernel_release}"
    [ -f "$vmlinuz" ] || {
        log "${kernel_package} has no /boot/vmlinuz-${kernel_release}"
        exit 1
    }
    log "kernel ${kernel_package} ${kernel_deb_version} (${kernel_release}) in $(e2e_elapsed "$start") s"
}

# go_module_dir MODULE@VERSION: the module's folder in the Go module cache (downloaded if needed).
go_module_dir() {
    go mod download -json "$1" | jq -r '.Dir // empty'
}

# go_build_in MODULE@VERSION|DIR LOG ARGS...: go build ARGS inside the module's own folder, so its
# own go.mod and go.sum (with their replace and exclude lines) decide every dependency, as upstream's
# release build does (-mod=readonly: a module zip keeps vendor/modules.txt but not the vendored code).
go_build_in() {
    local module="$1" logfile="$2" dir="$1"
    shift 2
    [ -d "$dir" ] || dir="$(go_module_dir "$module")"
    [ -n "$dir" ] || {
        log "the Go module proxy does not serve ${module}"
        exit 1
    }
    (cd "$dir" && go build -mod=readonly "$@") >>"$logfile" 2>&1 || {
        tail -n 30 "$logfile" >&2
        exit 1
    }
}

# 4. The tools CaptainOS downloads from GitHub releases, built from the Go module proxy into the tree
# layout its tools stage writes (usr/local/bin, opt/cni/bin). ctr only serves step 5, on this host.
build_tools() {
    local start logfile="${work}/go-build.log" bin cni_bin p
    start="$(e2e_now)"
    tools_tree="${work}/tools"
    bin="${tools_tree}/usr/local/bin"
    cni_bin="${tools_tree}/opt/cni/bin"
    host_bin="${work}/host-bin"
    mkdir -p "$bin" "$cni_bin" "$host_bin"
    local containerd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}"
    # As containerd's release: static, without the cgo-only btrfs snapshotter.
    CGO_ENABLED=0 go_build_in "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" "$logfile" \
        -tags "urfave_cli_no_docs no_btrfs" -ldflags "$containerd_ldflags" -o "$bin/" \
        ./cmd/containerd ./cmd/containerd-shim-runc-v2
    CGO_ENABLED=0 go_build_in "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" "$logfile" \
        -tags "urfave_cli_no_docs no_btrfs" -ldflags "$containerd_ldflags" -o "$host_bin/" ./cmd/ctr
    log "containerd ${CONTAINERD_VERSION} built ($(e2e_elapsed "$start") s so far)"
    # As runc's `make static` (its release binaries): seccomp through libseccomp, static PIE.
    CGO_ENABLED=1 go_build_in "github.com/opencontainers/runc@${RUNC_VERSION}" "$logfile" \
        -buildmode=pie -tags "seccomp urfave_cli_no_docs netgo osusergo" \
        -ldflags "-s -w -linkmode external -extldflags -static-pie" -o "$bin/runc" .
    log "runc ${RUNC_VERSION} built ($(e2e_elapsed "$start") s so far)"
    # A writable copy of nerdctl's module with mod/tigron put back where its go.mod expects it.
    local nerdctl_src="${work}/nerdctl"
    cp -r "$(go_module_dir "github.com/containerd/nerdctl/v2@${NERDCTL_VERSION}")" "$nerdctl_src"
    chmod -R u+w "$nerdctl_src"
    tar -xzf "$tigron_tarball" -C "$work"
    mkdir -p "${nerdctl_src}/mod"
    cp -r "${work}/${TIGRON_SOURCE}/mod/tigron" "${nerdctl_src}/mod/tigron"
    CGO_ENABLED=0 go_build_in "$nerdctl_src" "$logfile" \
        -ldflags "-s -w -X github.com/containerd/nerdctl/v2/pkg/version.Version=${NERDCTL_VERSION}" \
        -o "$bin/nerdctl" ./cmd/nerdctl
    log "nerdctl ${NERDCTL_VERSION} built ($(e2e_elapsed "$start") s so far)"
    for p in "${CNI_PLUGINS[@]}"; do
        CGO_ENABLED=0 go_build_in "github.com/containernetworking/plugins@${CNI_PLUGINS_VERSION}" "$logfile" \
            -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${CNI_PLUGINS_VERSION}" \
            -o "$cni_bin/" "./plugins/${p}"
    done
    log "tools built in $(e2e_elapsed "$start") s"
}

# 5. tink-agent baked in: the tinkerbell piece's image imported into a containerd store laid out as
# the initramfs's /var/lib/containerd, in nerdctl's namespace, so tink-agent-setup finds it and
# pulls nothing. Not unpacked: tink-agent-setup only lists and saves the image (content, no
# snapshot), then runs the binary it extracts on the host.
stop_containerd() {
    if [ -n "$ctr_run" ] && [ -f "${ctr_run}/pid" ]; then
        local pid
        pid="$(cat "${ctr_run}/pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        rm -rf -- "$ctr_run"
        ctr_run=""
    fi
}

import_tink_agent() {
    local start sock
    start="$(e2e_now)"
    store_tree="${work}/store"
    mkdir -p "${store_tree}/var/lib/containerd"
    # A short folder of its own: the socket path must fit in 108 bytes.
    ctr_run="$(mktemp -d /tmp/osie-containerd.XXXXXX)"
    sock="${ctr_run}/containerd.sock"
    # Only what an import needs: no CRI, no NRI socket on this host, no /opt.
    cat >"${ctr_run}/config.toml" <<'EOF'
version = 3
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt"]
EOF
    e2e_spawn "${ctr_run}/pid" "${work}/containerd.log" "${tools_tree}/usr/local/bin/containerd" \
        --config "${ctr_run}/config.toml" --root "${store_tree}/var/lib/containerd" \
        --state "${ctr_run}/state" --address "$sock"
    for _ in $(seq 1 100); do
        [ -S "$sock" ] && "${host_bin}/ctr" --address "$sock" version >/dev/null 2>&1 && break
        sleep 0.2
    done
    "${host_bin}/ctr" --address "$sock" -n "$TINK_AGENT_NAMESPACE" images import --no-unpack \
        --platform "linux/${DEB_ARCH}" "$tink_agent_tar" >"${work}/import.log" 2>&1 || {
        cat "${work}/import.log" "${work}/containerd.log" >&2
        exit 1
    }
    "${host_bin}/ctr" --address "$sock" -n "$TINK_AGENT_NAMESPACE" images ls -q 2>>"${work}/import.log" |
        grep -qxF "$TINK_AGENT_REF" || {
        log "${TINK_AGENT_REF} is not in the store after the import"
        exit 1
    }
    stop_containerd
    log "${TINK_AGENT_REF} imported in $(e2e_elapsed "$start") s"
}

# 6. The initramfs: CaptainOS's mkosi stage (captain/cli/_stages.py, native mode) with the same
# extra trees, plus the module filter, the sources above, and no tools tree (the host's apt, dpkg
# and systemd tools assemble the trixie image).
build_initramfs() {
    local start modules
    start="$(e2e_now)"
    modules="$(
        IFS=,
        printf '%s' "${KERNEL_MODULES[*]}"
    )"
    initramfs_out="${work}/initramfs"
    (cd "$recipe" && PYTHONPATH="$mkosi_dir" python3 -m mkosi \
        --tools-tree= --sandbox-tree="$sandbox" --incremental=no --package-cache-directory="$packages" \
        --architecture="$MKOSI_ARCH" --extra-tree="$tools_tree" --extra-tree="$modules_tree" \
        --extra-tree="$store_tree" --kernel-modules="$modules" --output-dir="$initramfs_out" build) \
        >"${work}/mkosi.log" 2>&1 || {
        tail -n 40 "${work}/mkosi.log" >&2
        exit 1
    }
    [ -f "${initramfs_out}/image.cpio.zst" ] || {
        log "mkosi wrote no image.cpio.zst"
        exit 1
    }
    log "initramfs built in $(e2e_elapsed "$start") s"
}

# 7. The artifacts image: the files at its root (the chart mounts it at /captain, nginx's root),
# named as Smee asks for them (ipxeHttpScriptKernelName/InitrdName vmlinuz-<v>/initramfs-<v>, plus
# -<arch>), with CaptainOS's checksum file beside them.
build_artifacts_image() {
    local ctx="${work}/image" kernel="vmlinuz-${kernel_version}-${OSIE_ARCH}" initrd="initramfs-${kernel_version}-${OSIE_ARCH}"
    local sums="sha256sums-${kernel_version}-${OSIE_ARCH}.txt" commit="${CAPTAIN_SOURCE##*@}"
    mkdir -p "${ctx}/files"
    install -m 0644 "$vmlinuz" "${ctx}/files/${kernel}"
    install -m 0644 "${initramfs_out}/image.cpio.zst" "${ctx}/files/${initrd}"
    (cd "${ctx}/files" && sha256sum "$kernel" "$initrd" >"$sums")
    artifacts_ref="${ARTIFACTS_REPO}:${commit}-${kernel_version}"
    scratch_image "$artifacts_ref" "$ctx" "FROM scratch" "COPY files/ /" \
        "LABEL org.capt-playground.kernel-version=\"${kernel_version}\"" \
        "LABEL org.capt-playground.kernel-release=\"${kernel_release}\"" \
        "LABEL org.opencontainers.image.title=\"artifacts\" org.opencontainers.image.description=\"CaptainOS build artifacts\"" \
        "LABEL org.opencontainers.image.source=\"https://github.com/tinkerbell/captain\" org.opencontainers.image.revision=\"${commit}\""
    [ "$(docker image inspect -f '{{index .Config.Labels "org.capt-playground.kernel-version"}}' "$artifacts_ref")" = "$kernel_version" ] || {
        log "${artifacts_ref} lacks its kernel-version label"
        exit 1
    }
    log "initramfs $(du -h "${ctx}/files/${initrd}" | cut -f1), kernel $(du -h "${ctx}/files/${kernel}" | cut -f1): ${artifacts_ref}"
}

unpack_sources
write_apt_sources
fetch_kernel
build_tools
import_tink_agent
build_initramfs
build_artifacts_image
part_image "$artifacts_ref" "built from github.com/tinkerbell/captain@${CAPTAIN_SOURCE##*@} (lab-sources) with mkosi ${MKOSI_SOURCE##*@} in native mode: Debian ${DEBIAN_RELEASE} userspace; kernel ${kernel_package} ${kernel_deb_version} from Debian (captainosKernelVersion ${kernel_version}, label org.capt-playground.kernel-version); containerd ${CONTAINERD_VERSION}, runc ${RUNC_VERSION}, nerdctl ${NERDCTL_VERSION} and CNI plugins ${CNI_PLUGINS_VERSION} built from the Go module proxy; ${TINK_AGENT_REF} (${tink_agent_id}) imported into its containerd"
part_commit
