#!/usr/bin/env bash
# cluster_api.sh: the bundle's "cluster-api" piece (README.md beside this file, section
# "cluster-api"): the Cluster API core, kubeadm bootstrap and control-plane, CAPT and cert-manager
# images; the clusterctl local repository (components and metadata as the releases make them, and
# cert-manager's static manifest); and, outside the bundle, the host's clusterctl.
#
# Usage: tests/e2e/bundle/cluster_api.sh      (build.sh runs it; stdout: the piece's folder)
# Environment:
#   CAPT_SHARED_DIR   the folder with lab-sources/ (default: ../shared beside the clone)
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
me=cluster-api
log() { e2e_log "$me" "$@"; }

CAPI_VERSION=v1.12.5
CAPI_MODULE=sigs.k8s.io/cluster-api
CAPI_REGISTRY=registry.k8s.io/cluster-api
CAPT_VERSION=v0.7.0
CAPT_MODULE=github.com/tinkerbell/cluster-api-provider-tinkerbell
CAPT_IMAGE=ghcr.io/tinkerbell/cluster-api-provider-tinkerbell
# clusterctl v1.12.5's CertManagerDefaultVersion.
CERT_MANAGER_VERSION=v1.20.1
CERT_MANAGER_MODULE=github.com/cert-manager/cert-manager
CERT_MANAGER_REGISTRY=quay.io/jetstack
# The binaries the static manifest runs, and acmesolver, whose image the controller is given.
CERT_MANAGER_BINARIES=(controller webhook cainjector acmesolver)
# The user of distroless's nonroot images, which the managers' pods expect (runAsNonRoot).
NONROOT_UID=65532

shared="${CAPT_SHARED_DIR:-$(dirname -- "$repo")/shared}"
cert_manager_tarball="${shared}/lab-sources/cert-manager+cert-manager@${CERT_MANAGER_VERSION}-cmd.tar.gz"
[ -f "$cert_manager_tarball" ] || {
    log "missing source tarball ${cert_manager_tarball}"
    exit 1
}

"$here/../toolchain/docker.sh"
part_begin cluster-api "$CAPI_VERSION" "$CAPT_VERSION" "$CERT_MANAGER_VERSION" "${CERT_MANAGER_BINARIES[*]}" \
    "$KUSTOMIZE_VERSION" "$HELM_VERSION" "$(file_sha256 "$here/host-tools.sh")" "$(file_sha256 "$cert_manager_tarball")" || {
    part_print
    exit 0
}
work="$(bundle_cache_root)/work/cluster-api"
rm -rf -- "$work"
mkdir -p "$work/out"
capi_src="$(go_module_dir "${CAPI_MODULE}@${CAPI_VERSION}")"
capt_src="$(go_module_dir "${CAPT_MODULE}@${CAPT_VERSION}")"
cert_manager_src="$(go_module_dir "${CERT_MANAGER_MODULE}@${CERT_MANAGER_VERSION}")"

# capi_ldflags: what Cluster API's hack/version.sh gives a clean checkout of the release tag (the
# build date is the tag's commit time, as with SOURCE_DATE_EPOCH).
capi_ldflags() {
    local info commit date major minor rest
    info="$(go mod download -json "${CAPI_MODULE}@${CAPI_VERSION}")"
    commit="$(jq -r '.Origin.Hash' <<<"$info")"
    date="$(jq -r '.Time' "$(jq -r '.Info' <<<"$info")")"
    rest="${CAPI_VERSION#v}"
    major="${rest%%.*}"
    rest="${rest#*.}"
    minor="${rest%%.*}"
    local -a flags=(
        "-X 'sigs.k8s.io/cluster-api/version.buildDate=${date}'"
        "-X 'sigs.k8s.io/cluster-api/version.gitCommit=${commit}'"
        "-X 'sigs.k8s.io/cluster-api/version.gitTreeState=clean'"
        "-X 'sigs.k8s.io/cluster-api/version.gitMajor=${major}'"
        "-X 'sigs.k8s.io/cluster-api/version.gitMinor=${minor}'"
        "-X 'sigs.k8s.io/cluster-api/version.gitVersion=${CAPI_VERSION}'"
        "-X 'sigs.k8s.io/cluster-api/version.gitReleaseCommit=${commit}'"
    )
    printf '%s' "${flags[*]}"
}

# 1. The host's clusterctl, with the release's version ldflags (its version checks read them).
clusterctl="$(host_tool clusterctl "$CAPI_VERSION" "${CAPI_MODULE}/cmd/clusterctl" "$(capi_ldflags)")"

# 2. The managers, built as each project's release builds them.
build_managers() {
    local start ldflags name bin dir
    start="$(e2e_now)"
    ldflags="$(capi_ldflags)"
    # Cluster API's Dockerfile: CGO off, the version ldflags, static.
    (
        cd "$capi_src"
        go build -ldflags "${ldflags} -extldflags '-static'" -o "$work/out/cluster-api-controller" .
        go build -ldflags "${ldflags} -extldflags '-static'" -o "$work/out/kubeadm-bootstrap-controller" ./bootstrap/kubeadm
        go build -ldflags "${ldflags} -extldflags '-static'" -o "$work/out/kubeadm-control-plane-controller" ./controlplane/kubeadm
    )
    log "built the Cluster API ${CAPI_VERSION} managers in $(e2e_elapsed "$start") s"
    # CAPT's goreleaser build: CGO off, -s -w.
    start="$(e2e_now)"
    (cd "$capt_src" && go build -ldflags "-s -w" -o "$work/out/capt" .)
    log "built CAPT ${CAPT_VERSION} in $(e2e_elapsed "$start") s"
    # cert-manager: each binary is its own module, pointed at the root module at the same tag.
    start="$(e2e_now)"
    tar -xzf "$cert_manager_tarball" -C "$work"
    dir="$work/cert-manager+cert-manager@${CERT_MANAGER_VERSION}-cmd"
    cert_manager_commit="$(cut -f2 "$dir/SOURCE-COMMIT")"
    for name in "${CERT_MANAGER_BINARIES[@]}"; do
        bin="$work/out/cert-manager-${name}"
        (
            cd "$dir/cmd/${name}"
            go mod edit -replace "${CERT_MANAGER_MODULE}=${CERT_MANAGER_MODULE}@${CERT_MANAGER_VERSION}"
            go mod download "$CERT_MANAGER_MODULE"
            go build -ldflags "-w -s -X ${CERT_MANAGER_MODULE}/pkg/util.AppVersion=${CERT_MANAGER_VERSION} \
-X ${CERT_MANAGER_MODULE}/pkg/util.AppGitCommit=${cert_manager_commit}" -o "$bin" .
        )
    done
    log "built cert-manager ${CERT_MANAGER_VERSION} (${CERT_MANAGER_BINARIES[*]}) in $(e2e_elapsed "$start") s"
}

# debian_ca_bundle OUT: Debian's CA bundle (what update-ca-certificates makes of the mozilla
# certificates), from the ca-certificates package, not from this host's /etc/ssl (which may trust more).
debian_ca_bundle() {
    local out="$1" tmp="$work/ca-certificates"
    mkdir -p "$tmp"
    (cd "$tmp" && { apt-get download -q ca-certificates >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get download -q ca-certificates >/dev/null; }; })
    dpkg-deb -x "$tmp"/ca-certificates_*.deb "$tmp/root"
    find "$tmp/root/usr/share/ca-certificates/mozilla" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat >"$out"
    rm -rf -- "$tmp"
}

# nonroot_rootfs DIR: the files distroless's static:nonroot base gives a Go binary: the users
# root, nobody and nonroot (65532) with their groups and homes, /tmp, and the CA bundle.
nonroot_rootfs() {
    local dir="$1"
    mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/root" "$dir/home/nonroot"
    printf '%s\n' "root:x:0:0:root:/root:/sbin/nologin" "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin" \
        "nonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin" >"$dir/etc/passwd"
    printf '%s\n' "root:x:0:" "nobody:x:65534:" "nonroot:x:${NONROOT_UID}:" >"$dir/etc/group"
    cp "$work/ca-certificates.crt" "$dir/etc/ssl/certs/ca-certificates.crt"
    chmod 1777 "$dir/tmp"
    chmod 0700 "$dir/root" "$dir/home/nonroot"
    chown "${NONROOT_UID}:${NONROOT_UID}" "$dir/home/nonroot"
}

# manager_image REF BINARY PATH SOURCE DOCKERFILE-LINE...: a one-layer image of the nonroot base
# with BINARY at PATH, then the instructions.
manager_image() {
    local ref="$1" binary="$2" path="$3" source="$4" rootfs
    shift 4
    rootfs="$work/rootfs-$(basename "$binary")"
    nonroot_rootfs "$rootfs"
    install -D -m 0755 "$binary" "$rootfs$path"
    rootfs_image "$ref" "$rootfs" "$work/ctx-$(basename "$binary")" "$@"
    part_image "$ref" "$source"
    rm -rf -- "$rootfs"
}

build_images() {
    local name
    debian_ca_bundle "$work/ca-certificates.crt"
    for name in cluster-api-controller kubeadm-bootstrap-controller kubeadm-control-plane-controller; do
        # Cluster API's Dockerfile: distroless static:nonroot, /manager, USER 65532.
        manager_image "${CAPI_REGISTRY}/${name}:${CAPI_VERSION}" "$work/out/${name}" /manager \
            "built from ${CAPI_MODULE}@${CAPI_VERSION} (${name}) on a distroless-like nonroot base" \
            'WORKDIR /' "USER ${NONROOT_UID}" 'ENTRYPOINT ["/manager"]'
    done
    # CAPT's Dockerfile: distroless static:nonroot, /capt, USER nonroot:nonroot.
    manager_image "${CAPT_IMAGE}:${CAPT_VERSION}" "$work/out/capt" /capt \
        "built from ${CAPT_MODULE}@${CAPT_VERSION} on a distroless-like nonroot base" \
        'USER nonroot:nonroot' 'ENTRYPOINT ["/capt"]'
    # cert-manager's Containerfiles: /app/cmd/<name>/<name> and /licenses on distroless static; the
    # user is numeric here because the chart's pods set runAsNonRoot without a runAsUser.
    for name in "${CERT_MANAGER_BINARIES[@]}"; do
        install -D -m 0644 "$cert_manager_src/LICENSE" "$work/licenses-${name}/LICENSE"
        manager_image "${CERT_MANAGER_REGISTRY}/cert-manager-${name}:${CERT_MANAGER_VERSION}" \
            "$work/out/cert-manager-${name}" "/app/cmd/${name}/${name}" \
            "built from ${CERT_MANAGER_MODULE}@${CERT_MANAGER_VERSION} cmd/${name} (lab-sources) on a distroless-like nonroot base" \
            "LABEL org.opencontainers.image.source=https://github.com/cert-manager/cert-manager" \
            "USER ${NONROOT_UID}" "ENTRYPOINT [\"/app/cmd/${name}/${name}\"]"
    done
}

# 3. The clusterctl repository. release_url OWNER/REPO VERSION FILE: the file's release download URL.
release_url() {
    printf 'https://github.com/%s/releases/download/%s/%s\n' "$1" "$2" "$3"
}

# set_manifest_image FILE IMAGE / set_manifest_pull_policy FILE POLICY: the releases' sed edits
# of the kustomize patches (set-manifest-image and set-manifest-pull-policy in their Makefiles).
set_manifest_image() {
    sed -i -e "s@image: .*@image: $2@" "$1"
}
set_manifest_pull_policy() {
    sed -i -e "s@imagePullPolicy: .*@imagePullPolicy: $2@" "$1"
}

# Cluster API's release-manifests after manifest-modification with the production registry.
capi_components() {
    local src="$work/cluster-api" out="$PART_TMP/clusterctl" kustomize dir
    kustomize="$(kustomize_bin)"
    cp -r -- "$capi_src" "$src"
    chmod -R u+w "$src"
    set_manifest_image "$src/config/default/manager_image_patch.yaml" "${CAPI_REGISTRY}/cluster-api-controller:${CAPI_VERSION}"
    set_manifest_image "$src/bootstrap/kubeadm/config/default/manager_image_patch.yaml" \
        "${CAPI_REGISTRY}/kubeadm-bootstrap-controller:${CAPI_VERSION}"
    set_manifest_image "$src/controlplane/kubeadm/config/default/manager_image_patch.yaml" \
        "${CAPI_REGISTRY}/kubeadm-control-plane-controller:${CAPI_VERSION}"
    for dir in config bootstrap/kubeadm/config controlplane/kubeadm/config; do
        set_manifest_pull_policy "$src/${dir}/default/manager_pull_policy.yaml" IfNotPresent
    done
    mkdir -p "$out/cluster-api/${CAPI_VERSION}" "$out/bootstrap-kubeadm/${CAPI_VERSION}" "$out/control-plane-kubeadm/${CAPI_VERSION}"
    "$kustomize" build "$src/config/default" >"$out/cluster-api/${CAPI_VERSION}/core-components.yaml"
    "$kustomize" build "$src/bootstrap/kubeadm/config/default" >"$out/bootstrap-kubeadm/${CAPI_VERSION}/bootstrap-components.yaml"
    "$kustomize" build "$src/controlplane/kubeadm/config/default" \
        >"$out/control-plane-kubeadm/${CAPI_VERSION}/control-plane-components.yaml"
    local label file
    for label in cluster-api bootstrap-kubeadm control-plane-kubeadm; do
        cp "$src/metadata.yaml" "$out/${label}/${CAPI_VERSION}/metadata.yaml"
        for file in "$out/${label}/${CAPI_VERSION}"/*.yaml; do
            part_file "$(release_url kubernetes-sigs/cluster-api "$CAPI_VERSION" "$(basename "$file")")" \
                "clusterctl/${label}/${CAPI_VERSION}/$(basename "$file")" \
                "${CAPI_MODULE}@${CAPI_VERSION}: $(release_source "$(basename "$file")")"
        done
    done
}

# release_source FILE: how a release file was made (for the manifest's source field).
release_source() {
    case "$1" in
    metadata.yaml) printf 'metadata.yaml of the module' ;;
    *) printf 'kustomize %s build of config/default with the release images' "$KUSTOMIZE_VERSION" ;;
    esac
}

# CAPT's `make release`: set-manifest-image to the release tag, kustomize build config/default.
capt_components() {
    local src="$work/capt" out="$PART_TMP/clusterctl/infrastructure-tinkerbell/${CAPT_VERSION}" file
    cp -r -- "$capt_src" "$src"
    chmod -R u+w "$src"
    set_manifest_image "$src/config/default/manager_image_patch.yaml" "${CAPT_IMAGE}:${CAPT_VERSION}"
    mkdir -p "$out"
    "$(kustomize_bin)" build "$src/config/default" >"$out/infrastructure-components.yaml"
    cp "$src/metadata.yaml" "$out/metadata.yaml"
    for file in infrastructure-components.yaml metadata.yaml; do
        part_file "$(release_url tinkerbell/cluster-api-provider-tinkerbell "$CAPT_VERSION" "$file")" \
            "clusterctl/infrastructure-tinkerbell/${CAPT_VERSION}/${file}" "${CAPT_MODULE}@${CAPT_VERSION}: $(release_source "$file")"
    done
}

# cert-manager's static manifest as make/manifests.mk makes it: the chart from its template (version,
# appVersion, prerelease), rendered without and with the CRDs, the CRDs extracted by its
# hack/extractcrd, then the license header, the namespace, the CRDs and the rest.
cert_manager_manifest() {
    local chart="$work/cert-manager-chart" out="$PART_TMP/clusterctl/cert-manager/${CERT_MANAGER_VERSION}" helm
    local -a render=(template --kube-version=1.29.0 --api-versions= --namespace=cert-manager
        --set=creator=static --set=startupapicheck.enabled=false cert-manager "$chart")
    helm="$(helm_bin)"
    cp -r -- "$cert_manager_src/deploy/charts/cert-manager" "$chart"
    chmod -R u+w "$chart"
    sed -e "s/{{IS_PRERELEASE}}/false/" -e "s/^version: .*/version: ${CERT_MANAGER_VERSION}/" \
        -e "s/^appVersion: .*/appVersion: ${CERT_MANAGER_VERSION}/" "$chart/Chart.template.yaml" >"$chart/Chart.yaml"
    rm -f -- "$chart/Chart.template.yaml" "$chart/README.template.md"
    "$helm" "${render[@]}" | sed -e '1{/^---$/d;}' >"$work/cm-noncrd.yaml"
    "$helm" "${render[@]}" --set=crds.enabled=true | sed -e '1{/^---$/d;}' >"$work/cm-all.yaml"
    (cd "$cert_manager_src" && go build -o "$work/extractcrd" ./hack/extractcrd)
    "$work/extractcrd" "$work/cm-all.yaml" >"$work/cm-crds.yaml"
    mkdir -p "$out"
    {
        sed -e "s/YEAR/2022/g" "$cert_manager_src/hack/boilerplate-yaml.txt"
        bash "$cert_manager_src/hack/concat-yaml.sh" "$cert_manager_src/deploy/manifests/namespace.yaml" \
            "$work/cm-crds.yaml" "$work/cm-noncrd.yaml"
    } >"$out/cert-manager.yaml"
    part_file "$(release_url cert-manager/cert-manager "$CERT_MANAGER_VERSION" cert-manager.yaml)" \
        "clusterctl/cert-manager/${CERT_MANAGER_VERSION}/cert-manager.yaml" \
        "${CERT_MANAGER_MODULE}@${CERT_MANAGER_VERSION} deploy/charts/cert-manager, rendered as make/manifests.mk does with helm ${HELM_VERSION}"
}

# 4. Checks that need no cluster.
# Every image the repository's files run (containers' `image:` and flags such as the controller's
# --acme-http01-solver-image) is one this piece recorded, under that exact name.
check_images_referenced() {
    local ref missing=0 count=0
    while read -r ref; do
        count=$((count + 1))
        if ! jq -se --arg ref "$ref" 'any(.[]; .kind == "image" and .ref == $ref)' "$PART_TMP/artifacts.jsonl" >/dev/null; then
            log "the clusterctl repository references ${ref}, which this piece did not build"
            missing=1
        fi
    done < <({
        grep -rhE '^[[:space:]-]*image:[[:space:]]*[^[:space:]]+' "$PART_TMP/clusterctl" |
            sed -E "s/^[[:space:]-]*image:[[:space:]]*//; s/[\"']//g"
        grep -rhoE -- '--[a-z0-9-]*image=[^[:space:]"]+' "$PART_TMP/clusterctl" | sed 's/^[^=]*=//'
    } | sort -u)
    [ "$missing" = 1 ] || log "the clusterctl repository runs ${count} images, all built here"
    return "$missing"
}

# clusterctl reads the repository: its providers and cert-manager, and renders CAPT's components.
check_clusterctl() {
    local config="$work/clusterctl.yaml" repo_dir="$PART_TMP/clusterctl"
    cat >"$config" <<YAML
providers:
  - name: cluster-api
    type: CoreProvider
    url: ${repo_dir}/cluster-api/${CAPI_VERSION}/core-components.yaml
  - name: kubeadm
    type: BootstrapProvider
    url: ${repo_dir}/bootstrap-kubeadm/${CAPI_VERSION}/bootstrap-components.yaml
  - name: kubeadm
    type: ControlPlaneProvider
    url: ${repo_dir}/control-plane-kubeadm/${CAPI_VERSION}/control-plane-components.yaml
  - name: tinkerbell
    type: InfrastructureProvider
    url: ${repo_dir}/infrastructure-tinkerbell/${CAPT_VERSION}/infrastructure-components.yaml
cert-manager:
  url: ${repo_dir}/cert-manager/${CERT_MANAGER_VERSION}/cert-manager.yaml
  version: ${CERT_MANAGER_VERSION}
YAML
    "$clusterctl" version -o short | grep -qx "$CAPI_VERSION" || {
        log "clusterctl reports $("$clusterctl" version -o short), not ${CAPI_VERSION}"
        return 1
    }
    export CLUSTERCTL_DISABLE_VERSIONCHECK=true
    "$clusterctl" config repositories --config "$config" >"$work/repositories.txt"
    # It prints each URL as its folder and its file.
    grep -qE "^tinkerbell +InfrastructureProvider +${repo_dir}/infrastructure-tinkerbell/${CAPT_VERSION}/ +infrastructure-components.yaml" \
        "$work/repositories.txt" || {
        log "clusterctl config repositories does not list the repository's CAPT:"
        cat "$work/repositories.txt" >&2
        return 1
    }
    local type
    for type in "--core cluster-api:${CAPI_VERSION}" "--bootstrap kubeadm:${CAPI_VERSION}" \
        "--control-plane kubeadm:${CAPI_VERSION}" "--infrastructure tinkerbell:${CAPT_VERSION}"; do
        # shellcheck disable=SC2086 # "--flag provider:version", two words
        "$clusterctl" generate provider $type --describe --config "$config" >"$work/describe.txt"
        # shellcheck disable=SC2086 # rendered with the variables' defaults, as clusterctl init does
        "$clusterctl" generate provider $type --config "$config" >"$work/provider.yaml"
        grep -q '^kind: Deployment' "$work/provider.yaml" || {
            log "clusterctl generate provider ${type} rendered no Deployment"
            return 1
        }
    done
}

# Each manager starts and prints its flags.
check_binaries() {
    local bin
    for bin in "$work"/out/*; do
        "$bin" --help >"$work/help.txt" 2>&1 || true
        # pflag and cobra print --flags; CAPT's main uses Go's flag package (-flags).
        grep -qE '^[[:space:]]+--?[a-z]' "$work/help.txt" || {
            log "$(basename "$bin") --help printed no flags:"
            head -n 5 "$work/help.txt" >&2
            return 1
        }
    done
}

build_managers
check_binaries
build_images
capi_components
capt_components
cert_manager_manifest
check_images_referenced
check_clusterctl
rm -rf -- "$work"
part_commit
