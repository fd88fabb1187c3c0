#!/usr/bin/env bash
# tinkerbell.sh: the bundle's "tinkerbell" piece (README.md beside this file, section "tinkerbell"):
# the Tinkerbell and tink-agent images, the other images the Tinkerbell chart runs with the lab's
# values (the broadcast-interface init container, the OSIE file server, kube-vip) plus the kube-vip
# of the workload control plane, and the chart archive as Tinkerbell's release packages it.
#
# Usage: tests/e2e/bundle/tinkerbell.sh       (build.sh runs it; stdout: the piece's folder)
# Environment:
#   CAPT_SHARED_DIR   the folder with charts/ and lab-sources/ (default: ../shared beside the clone)
#   CAPT_E2E_CACHE    cache root (../toolchain/lib.sh)
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd -- "$here/../../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR source=host-tools.sh
. "$here/host-tools.sh"
me=tinkerbell
log() { e2e_log "$me" "$@"; }

TINKERBELL_VERSION=v0.25.0
TINKERBELL_MODULE=github.com/tinkerbell/tinkerbell
# The chart's kube-vip (optional.kubevip.image) and the product's default kubeVipVersion for the
# workload control plane.
KUBE_VIP_VERSIONS=(v1.0.0 v1.1.2)
# The chart's deployment.init.image and optional.osie.image at this version.
RELAY_INIT_REF=ghcr.io/jacobweinstock/relay-init:v0.1.0
NGINX_REF=nginx:1.29.5
CHART_REF=oci://ghcr.io/tinkerbell/charts/tinkerbell
# The quamina commit tinkerbell's go.mod pins (the proxy refuses every quamina.net version).
QUAMINA_SOURCE=timbray+quamina@0526acc321a8
PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

shared="${CAPT_SHARED_DIR:-$(dirname -- "$repo")/shared}"
chart_archive="${shared}/charts/tinkerbell-chart@${TINKERBELL_VERSION}.tar.gz"

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

# kube_vip_source VERSION: the folder of kube-vip's module at VERSION, from the Go module proxy or,
# for a version the proxy refuses, from its tarball in lab-sources (unpacked under the work folder).
kube_vip_source() {
    local version="$1" dir tarball
    if dir="$(go_module_dir "github.com/kube-vip/kube-vip@${version}" 2>/dev/null)"; then
        printf '%s\n' "$dir"
        return 0
    fi
    tarball="$(lab_source "kube-vip+kube-vip@${version}.tar.gz")" || return 1
    tar -xzf "$tarball" -C "$work"
    printf '%s\n' "${work}/kube-vip+kube-vip@${version}"
}

# The sources a cached piece must be rebuilt for.
quamina_tarball="$(lab_source "${QUAMINA_SOURCE}.tar.gz")"
[ -f "$chart_archive" ] || {
    log "missing the Tinkerbell chart ${chart_archive}"
    exit 1
}
source_sums=("$(file_sha256 "$quamina_tarball")" "$(file_sha256 "$chart_archive")")
for version in "${KUBE_VIP_VERSIONS[@]}"; do
    if f="$(lab_source "kube-vip+kube-vip@${version}.tar.gz" 2>/dev/null)"; then
        source_sums+=("$(file_sha256 "$f")")
    fi
done

"$here/../toolchain/docker.sh"
part_begin tinkerbell "$TINKERBELL_VERSION" "${KUBE_VIP_VERSIONS[*]}" "$RELAY_INIT_REF" "$NGINX_REF" \
    "$HELM_VERSION" "$DEBIAN_SUITE" "$(file_sha256 "$here/host-tools.sh")" "${source_sums[@]}" || {
    part_print
    exit 0
}
work="$(bundle_cache_root)/work/tinkerbell"
rm -rf -- "$work"
mkdir -p "$work/out"

# 1. tinkerbell and tink-agent, built as upstream's Makefile does (CGO off, -s -w), from a copy of
# the module with the two replaces the proxy needs. The copy is committed and tagged in a local git
# repository so that Go stamps the version into the binaries as in upstream's tagged checkout
# (`tinkerbell` logs it and its UI shows it): the commit is local, the version is the tag.
build_tinkerbell() {
    local src="$work/tinkerbell" start
    start="$(e2e_now)"
    cp -r -- "$(go_module_dir "${TINKERBELL_MODULE}@${TINKERBELL_VERSION}")" "$src"
    chmod -R u+w "$src"
    tar -xzf "$quamina_tarball" -C "$work"
    (
        cd "$src"
        go mod edit -replace "${TINKERBELL_MODULE}/api=${TINKERBELL_MODULE}/api@${TINKERBELL_VERSION}" \
            -replace "quamina.net/go/quamina=../${QUAMINA_SOURCE}"
        go mod download "${TINKERBELL_MODULE}/api"
        git init -q
        git add -A
        GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z git -c user.name=capt-e2e -c user.email=capt-e2e@localhost \
            commit -q -m "tinkerbell ${TINKERBELL_VERSION}, api and quamina replaced"
        git tag "$TINKERBELL_VERSION"
        go build -buildvcs=true -ldflags "-s -w" -o "$work/out/tinkerbell" ./cmd/tinkerbell
        go build -buildvcs=true -ldflags "-s -w" -o "$work/out/tink-agent" ./cmd/agent
        go_licenses "$work/out/THIRD_PARTY_LICENSES" script/third_party_licenses_header.txt ./cmd/tinkerbell ./cmd/agent
    )
    local bin stamped
    for bin in tinkerbell tink-agent; do
        stamped="$(go version -m "$work/out/$bin" | awk '$1 == "mod" { print $3 }')"
        [ "$stamped" = "$TINKERBELL_VERSION" ] || {
            log "${bin} is stamped ${stamped}, not ${TINKERBELL_VERSION}"
            return 1
        }
    done
    log "built tinkerbell and tink-agent ${TINKERBELL_VERSION} in $(e2e_elapsed "$start") s"
}

# 2. The images. Upstream's tinkerbell image is Alpine with ipmitool (bmclib and secondstar call it,
# the chart points secondstar at /usr/sbin/ipmitool); here Debian's minbase with ipmitool, linked
# at that path. tink-agent is FROM scratch with the CA bundle, as upstream's.
image_tinkerbell() {
    local rootfs="$work/rootfs-tinkerbell"
    debian_rootfs "$rootfs" ipmitool ca-certificates
    [ -e "$rootfs/usr/sbin/ipmitool" ] || ln -s ../bin/ipmitool "$rootfs/usr/sbin/ipmitool"
    install -m 0755 "$work/out/tinkerbell" "$rootfs/tinkerbell"
    install -D -m 0644 "$work/tinkerbell/LICENSE" "$rootfs/usr/share/doc/tinkerbell/LICENSE"
    install -m 0644 "$work/out/THIRD_PARTY_LICENSES" "$rootfs/usr/share/doc/tinkerbell/THIRD_PARTY_LICENSES"
    # The CA bundle of the scratch images: Debian's, not this host's (which may trust more).
    cp "$rootfs/etc/ssl/certs/ca-certificates.crt" "$work/ca-certificates.crt"
    rootfs_image "ghcr.io/tinkerbell/tinkerbell:${TINKERBELL_VERSION}" "$rootfs" "$work/ctx-tinkerbell" \
        "$PATH_ENV" 'ENTRYPOINT ["/tinkerbell"]'
    part_image "ghcr.io/tinkerbell/tinkerbell:${TINKERBELL_VERSION}" \
        "built from ${TINKERBELL_MODULE}@${TINKERBELL_VERSION} (cmd/tinkerbell) on Debian ${DEBIAN_SUITE} minbase + ipmitool"
    rm -rf -- "$rootfs"
}

image_tink_agent() {
    local ctx="$work/ctx-tink-agent"
    install -D -m 0755 "$work/out/tink-agent" "$ctx/rootfs/tink-agent"
    install -D -m 0644 "$work/ca-certificates.crt" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
    install -D -m 0644 "$work/tinkerbell/LICENSE" "$ctx/rootfs/usr/share/doc/tinkerbell/LICENSE"
    install -m 0644 "$work/out/THIRD_PARTY_LICENSES" "$ctx/rootfs/usr/share/doc/tinkerbell/THIRD_PARTY_LICENSES"
    scratch_image "ghcr.io/tinkerbell/tink-agent:${TINKERBELL_VERSION}" "$ctx" \
        "FROM scratch" "COPY rootfs/ /" 'ENTRYPOINT ["/tink-agent"]'
    part_image "ghcr.io/tinkerbell/tink-agent:${TINKERBELL_VERSION}" \
        "built from ${TINKERBELL_MODULE}@${TINKERBELL_VERSION} (cmd/agent), FROM scratch"
}

# kube-vip as its Makefile and Dockerfile build it: main.Version and main.Build ldflags, static,
# FROM scratch with the CA bundle and /kube-vip as the entrypoint.
image_kube_vip() {
    local version="$1" src commit ctx="$work/ctx-kube-vip-$1" start from
    start="$(e2e_now)"
    src="$(kube_vip_source "$version")"
    if [ -f "$src/SOURCE-COMMIT" ]; then
        commit="$(cut -f2 "$src/SOURCE-COMMIT")"
        from="lab-sources kube-vip+kube-vip@${version}.tar.gz"
    else
        commit="$(go_module_commit "github.com/kube-vip/kube-vip@${version}")"
        from="the Go module proxy"
    fi
    cp -r -- "$src" "$work/kube-vip-${version}"
    chmod -R u+w "$work/kube-vip-${version}"
    (
        cd "$work/kube-vip-${version}"
        go build -ldflags "-s -w -X=main.Version=${version} -X=main.Build=${commit} -extldflags -static" \
            -o "$ctx/rootfs/kube-vip" .
    )
    install -D -m 0644 "$work/ca-certificates.crt" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
    scratch_image "ghcr.io/kube-vip/kube-vip:${version}" "$ctx" "FROM scratch" "COPY rootfs/ /" 'ENTRYPOINT ["/kube-vip"]'
    part_image "ghcr.io/kube-vip/kube-vip:${version}" \
        "built from github.com/kube-vip/kube-vip@${version} (${from}), FROM scratch"
    rm -rf -- "$work/kube-vip-${version}"
    log "built kube-vip ${version} in $(e2e_elapsed "$start") s"
}

# The broadcast-interface init container runs the chart's host_interface.sh: upstream's image is
# Alpine with nmap and nmap-scripts, whose busybox sh takes the script's bash-isms (`function`,
# `[[`, pipefail). Here Debian's minbase with iproute2 (ip), util-linux (nsenter), mawk (awk),
# nmap (with its scripts) and bash as /bin/sh, since dash refuses the script.
image_relay_init() {
    local rootfs="$work/rootfs-relay-init"
    debian_rootfs "$rootfs" bash iproute2 nmap
    ln -sf bash "$rootfs/usr/bin/sh"
    check_relay_init "$rootfs"
    rootfs_image "$RELAY_INIT_REF" "$rootfs" "$work/ctx-relay-init" "$PATH_ENV" 'CMD ["/bin/sh"]'
    part_image "$RELAY_INIT_REF" \
        "Debian ${DEBIAN_SUITE} minbase with bash (as sh), iproute2, util-linux and nmap: the tools of the chart's host_interface.sh, as upstream's Alpine image has them"
    rm -rf -- "$rootfs"
}

# The OSIE file server: the chart mounts its nginx.conf over /etc/nginx and runs the image's
# command. Upstream's nginx image runs `nginx -g 'daemon off;'` with the logs linked to the
# container's stdout and stderr; here Debian's nginx, the same way.
image_nginx() {
    local rootfs="$work/rootfs-nginx"
    debian_rootfs "$rootfs" nginx
    ln -sf /dev/stdout "$rootfs/var/log/nginx/access.log"
    ln -sf /dev/stderr "$rootfs/var/log/nginx/error.log"
    check_nginx "$rootfs"
    rootfs_image "$NGINX_REF" "$rootfs" "$work/ctx-nginx" "$PATH_ENV" 'EXPOSE 80' 'STOPSIGNAL SIGQUIT' \
        'CMD ["nginx", "-g", "daemon off;"]'
    part_image "$NGINX_REF" \
        "Debian ${DEBIAN_SUITE} minbase with Debian's nginx $(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f='${Version}' nginx) (serves the chart's nginx.conf)"
    rm -rf -- "$rootfs"
}

# 3. The chart archive, as Tinkerbell's Makefile (helm-package) makes it: helm package with
# --version and --app-version the release's VERSION (the tag, v-prefixed).
package_chart() {
    tar -xzf "$chart_archive" -C "$work"
    mkdir -p "$PART_TMP/charts"
    "$(helm_bin)" package -d "$PART_TMP/charts" "$work/tinkerbell" \
        --version "$TINKERBELL_VERSION" --app-version "$TINKERBELL_VERSION" >/dev/null
    part_chart "$CHART_REF" "$TINKERBELL_VERSION" "charts/tinkerbell-${TINKERBELL_VERSION}.tgz" \
        "packaged from ${TINKERBELL_MODULE}@${TINKERBELL_VERSION} helm/tinkerbell (../shared/charts/tinkerbell-chart@${TINKERBELL_VERSION}.tar.gz) with helm ${HELM_VERSION} package --version/--app-version ${TINKERBELL_VERSION}"
}

# The chart rendered with the lab's kind of values (CaptainOS on, HookOS off as offline), for the
# checks of the images against the files the chart mounts into them.
render_chart() {
    "$(helm_bin)" template tinkerbell "$PART_TMP/charts/tinkerbell-${TINKERBELL_VERSION}.tgz" --namespace tinkerbell \
        --set publicIP=10.232.0.100 --set 'trustedProxies={10.244.0.0/16}' \
        --set artifactsFileServer=http://10.232.0.101:7173 \
        --set optional.hookos.enabled=false --set optional.captainos.enabled=true >"$work/chart.yaml"
}

# chart_config_file NAME KEY: a ConfigMap's data entry from the rendered chart.
chart_config_file() {
    # shellcheck disable=SC2016 # a jq program: $name and $key are its arguments
    yq -rj --arg name "$1" --arg key "$2" \
        'select(.kind == "ConfigMap" and .metadata.name == $name) | .data[$key]' "$work/chart.yaml"
}

# The init script parses with the image's sh, and every program it calls is on the image's PATH.
check_relay_init() {
    local rootfs="$1" tool
    chart_config_file host-interface-script host_interface.sh >"$rootfs/tmp/host_interface.sh"
    chroot "$rootfs" /bin/sh -n /tmp/host_interface.sh
    for tool in ip nsenter awk head nmap; do
        chroot "$rootfs" /bin/sh -c "command -v ${tool}" >/dev/null || {
            log "relay-init lacks ${tool}, which the chart's host_interface.sh calls"
            return 1
        }
    done
    [ -f "$rootfs/usr/share/nmap/scripts/broadcast-dhcp-discover.nse" ] || {
        log "relay-init lacks nmap's broadcast-dhcp-discover script"
        return 1
    }
    rm -f -- "$rootfs/tmp/host_interface.sh"
}

# The image's nginx accepts the chart's nginx.conf.
check_nginx() {
    local rootfs="$1"
    chart_config_file nginx-conf nginx.conf >"$rootfs/tmp/nginx.conf"
    mkdir -p "$rootfs/captain"
    chroot "$rootfs" /usr/sbin/nginx -t -e stderr -c /tmp/nginx.conf 2>"$work/nginx-t.log" || {
        cat "$work/nginx-t.log" >&2
        return 1
    }
    rmdir "$rootfs/captain"
    rm -f -- "$rootfs/tmp/nginx.conf"
}

build_tinkerbell
image_tinkerbell
image_tink_agent
for version in "${KUBE_VIP_VERSIONS[@]}"; do
    image_kube_vip "$version"
done
package_chart
render_chart
image_relay_init
image_nginx
rm -rf -- "$work"
part_commit
