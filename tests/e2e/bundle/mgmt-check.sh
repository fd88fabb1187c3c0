#!/usr/bin/env bash
# mgmt-check.sh: proves the "tinkerbell" and "cluster-api" pieces in a real KinD cluster (README.md
# beside this file, section "Checking the management plane"): a cluster made by the pinned kind
# from the "node" piece's image on a docker network of its own, the pieces' images loaded from
# their archives (`kind load image-archive`), `clusterctl init` from the piece's clusterctl
# repository the way the product runs it offline, and the piece's Tinkerbell chart installed with
# values like the lab's; then every pod Running and Ready with no restart. Everything it creates is
# deleted at the end, also on failure.
#
# Usage: tests/e2e/bundle/mgmt-check.sh
# Uses the docker daemon's networks and containers: on a shared machine, hold its e2e lock, e.g.
#   flock /work/locks/e2e.lock tests/e2e/bundle/mgmt-check.sh
# Environment:
#   MGMT_CHECK_NAME       cluster and network name (default capt-mgmttest)
#   MGMT_CHECK_SUBNET     the docker network's /16 (default 10.232.0.0/16)
#   MGMT_CHECK_NODE_PART  the node piece's folder (default: the newest built one in the cache)
#   CAPT_SHARED_DIR       as for the pieces
# stderr: each step and its timing; exit status 0 when all pass.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR source=host-tools.sh
. "$here/host-tools.sh"
me=mgmt-check
log() { e2e_log "$me" "$@"; }
fail() {
    log "FAILED: $*"
    exit 1
}

KIND_VERSION=v0.31.0
CAPI_VERSION=v1.12.5
CAPT_VERSION=v0.7.0
CERT_MANAGER_VERSION=v1.20.1
TINKERBELL_VERSION=v0.25.0
name="${MGMT_CHECK_NAME:-capt-mgmttest}"
subnet="${MGMT_CHECK_SUBNET:-10.232.0.0/16}"
[[ "$name" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || fail "MGMT_CHECK_NAME must be a lowercase DNS label: ${name}"
[[ "$subnet" =~ ^([0-9]{1,3}\.[0-9]{1,3})\.0\.0/16$ ]] || fail "MGMT_CHECK_SUBNET must be an IPv4 /16: ${subnet}"
prefix="${BASH_REMATCH[1]}"

"$here/../toolchain/docker.sh"
node_part="${MGMT_CHECK_NODE_PART:-}"
if [ -z "$node_part" ]; then
    node_part="$(find "$(bundle_cache_root)/parts" -maxdepth 2 -path '*/node-*/artifacts.json' -printf '%T@ %h\n' |
        sort -rn | head -n 1 | cut -d' ' -f2-)"
fi
[ -f "${node_part:-/nonexistent}/artifacts.json" ] || fail "no node piece built (tests/e2e/bundle/build.sh node)"
tinkerbell_part="$("$here/tinkerbell.sh" | tail -n 1)"
capi_part="$("$here/cluster_api.sh" | tail -n 1)"
kind="$(e2e_cache_root)/kind/${KIND_VERSION}/kind"
[ -x "$kind" ] || fail "no kind at ${kind} (the node piece installs it)"
clusterctl="$(e2e_cache_root)/clusterctl/${CAPI_VERSION}/clusterctl"
helm="$(helm_bin)"
node_ref="$(jq -er '[.[] | select(.kind == "image")][0].ref' "$node_part/artifacts.json")"
node="${name}-control-plane"
work="$(mktemp -d)"
kubeconfig="$work/kubeconfig"
loaded=()
network_made=""

cleanup() {
    "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig" >/dev/null 2>&1 || true
    [ -z "$network_made" ] || docker network rm "$name" >/dev/null 2>&1 || true
    local ref
    for ref in "${loaded[@]}"; do
        docker rmi "$ref" >/dev/null 2>&1 || true
    done
    rm -rf -- "$work"
}
trap cleanup EXIT

# k ARG...: kubectl in the node, as cluster admin.
k() {
    docker exec -i "$node" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"
}

# load_into_docker PART REF: docker load the piece's archive of REF unless docker has that image;
# remembered for removal when it was not there before.
load_into_docker() {
    local part="$1" ref="$2" entry
    entry="$(jq -ec --arg ref "$ref" '.[] | select(.kind == "image" and .ref == $ref)' "$part/artifacts.json")" ||
        fail "${part} has no ${ref}"
    if [ "$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)" != "$(jq -r .imageId <<<"$entry")" ]; then
        docker load -q -i "$part/$(jq -r .file <<<"$entry")" >/dev/null
        loaded+=("$ref")
    fi
}

# 1. The node image, a network of our own, the cluster on it (node-check.sh's settings).
load_into_docker "$node_part" "$node_ref"
if docker network inspect "$name" >/dev/null 2>&1; then
    fail "docker network ${name} exists already (another run, or someone else's)"
fi
docker network create --driver bridge --subnet "$subnet" "$name" >/dev/null
network_made=1
cat >"$work/kind.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: ${name}
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri"]
      restrict_oom_score_adj = true
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
networking:
  podSubnet: 10.74.0.0/16
  serviceSubnet: 10.75.0.0/16
nodes:
  - role: control-plane
    image: ${node_ref}
EOF
start="$(e2e_now)"
KIND_EXPERIMENTAL_DOCKER_NETWORK="$name" "$kind" create cluster --config "$work/kind.yaml" \
    --kubeconfig "$kubeconfig" >"$work/create.log" 2>&1 || {
    cat "$work/create.log" >&2
    fail "kind create cluster"
}
k wait --for=condition=Ready node --all --timeout=180s >/dev/null || fail "node not Ready"
log "kind create cluster: $(e2e_elapsed "$start") s"

# 2. Every image of the two pieces, into the node from its archive (as the product loads the bundle).
start="$(e2e_now)"
for part in "$tinkerbell_part" "$capi_part"; do
    while IFS=$'\t' read -r ref file; do
        "$kind" load image-archive --name "$name" "$part/$file" >/dev/null || fail "kind load image-archive ${ref}"
    done < <(jq -r '.[] | select(.kind == "image") | [.ref, .file] | @tsv' "$part/artifacts.json")
done
log "loaded $(jq -s '[.[][] | select(.kind == "image")] | length' "$tinkerbell_part/artifacts.json" "$capi_part/artifacts.json") images into the node in $(e2e_elapsed "$start") s"

# 3. clusterctl init offline, from the piece's repository (providers: and cert-manager: url:).
repo_dir="$capi_part/clusterctl"
cat >"$work/clusterctl.yaml" <<YAML
providers:
  - { name: cluster-api, type: CoreProvider, url: "${repo_dir}/cluster-api/${CAPI_VERSION}/core-components.yaml" }
  - { name: kubeadm, type: BootstrapProvider, url: "${repo_dir}/bootstrap-kubeadm/${CAPI_VERSION}/bootstrap-components.yaml" }
  - { name: kubeadm, type: ControlPlaneProvider, url: "${repo_dir}/control-plane-kubeadm/${CAPI_VERSION}/control-plane-components.yaml" }
  - { name: tinkerbell, type: InfrastructureProvider, url: "${repo_dir}/infrastructure-tinkerbell/${CAPT_VERSION}/infrastructure-components.yaml" }
cert-manager:
  url: "${repo_dir}/cert-manager/${CERT_MANAGER_VERSION}/cert-manager.yaml"
  version: "${CERT_MANAGER_VERSION}"
YAML
start="$(e2e_now)"
CLUSTERCTL_DISABLE_VERSIONCHECK=true TINKERBELL_IP="${prefix}.0.100" "$clusterctl" init \
    --config "$work/clusterctl.yaml" --kubeconfig "$kubeconfig" \
    --core "cluster-api:${CAPI_VERSION}" --bootstrap "kubeadm:${CAPI_VERSION}" \
    --control-plane "kubeadm:${CAPI_VERSION}" --infrastructure "tinkerbell:${CAPT_VERSION}" \
    --wait-providers --wait-provider-timeout 600 >"$work/init.log" 2>&1 || {
    cat "$work/init.log" >&2
    k get pods -A -o wide >&2
    fail "clusterctl init"
}
log "clusterctl init (cert-manager and four providers ready): $(e2e_elapsed "$start") s"
k get providers.clusterctl.cluster.x-k8s.io -A \
    -o jsonpath='{range .items[*]}{.metadata.name} {.version}{"\n"}{end}' >"$work/providers.txt"
for want in "cluster-api ${CAPI_VERSION}" "bootstrap-kubeadm ${CAPI_VERSION}" "control-plane-kubeadm ${CAPI_VERSION}" \
    "infrastructure-tinkerbell ${CAPT_VERSION}"; do
    grep -qx "$want" "$work/providers.txt" || {
        cat "$work/providers.txt" >&2
        fail "the Provider inventory lacks ${want}"
    }
done

# 4. The Tinkerbell chart with values like the lab's (lib/render/tinkerbell-values.ts): addresses on
# this network, CaptainOS on (its artifacts image is the OSIE piece's; any image the node holds
# shows the image volume works: tink-agent's), HookOS's download off (offline).
start="$(e2e_now)"
"$helm" install tinkerbell "$tinkerbell_part/charts/tinkerbell-${TINKERBELL_VERSION}.tgz" \
    --kubeconfig "$kubeconfig" --namespace tinkerbell --create-namespace \
    --set "publicIP=${prefix}.0.100" --set 'trustedProxies={10.74.0.0/16}' \
    --set "artifactsFileServer=http://${prefix}.0.101:7173" \
    --set optional.hookos.enabled=false --set optional.captainos.enabled=true \
    --set "optional.captainos.image=ghcr.io/tinkerbell/tink-agent:${TINKERBELL_VERSION}" \
    --set deployment.envs.ui.enableAutoLogin=true \
    --wait --timeout 10m >"$work/helm.log" 2>&1 || {
    cat "$work/helm.log" >&2
    k get pods -A -o wide >&2
    fail "helm install of the Tinkerbell chart"
}
log "helm install tinkerbell (--wait): $(e2e_elapsed "$start") s"

# 5. Every pod Running and Ready, none restarted (probes pass); the CRDs installed by Tinkerbell.
sleep 20
k get pods -A -o json >"$work/pods.json"
jq -e '[.items[] | select(.status.phase != "Running"
        or ([.status.containerStatuses[] | select(.ready | not)] | length) > 0
        or ([.status.containerStatuses[] | .restartCount] | add) > 0)] | length == 0' "$work/pods.json" >/dev/null || {
    k get pods -A -o wide >&2
    fail "a pod is not Running and Ready, or has restarted"
}
k get pods -A -o wide >&2
k get crd hardware.tinkerbell.org workflows.tinkerbell.org >/dev/null || fail "Tinkerbell did not install its CRDs"
for image in "ghcr.io/tinkerbell/tinkerbell:${TINKERBELL_VERSION}" ghcr.io/jacobweinstock/relay-init:v0.1.0 \
    nginx:1.29.5 ghcr.io/kube-vip/kube-vip:v1.0.0 "ghcr.io/tinkerbell/cluster-api-provider-tinkerbell:${CAPT_VERSION}" \
    "registry.k8s.io/cluster-api/cluster-api-controller:${CAPI_VERSION}" "quay.io/jetstack/cert-manager-webhook:${CERT_MANAGER_VERSION}"; do
    jq -e --arg i "$image" '[.items[].spec | (.containers + (.initContainers // []))[] | select(.image == $i)] | length > 0' \
        "$work/pods.json" >/dev/null || fail "no pod runs ${image}"
done
log "$(jq '.items | length' "$work/pods.json") pods Running and Ready with no restart"
