#!/usr/bin/env bash
# node-check.sh: proves the "node" piece's image works the way the product uses it (README.md
# beside this file, section "node"): loaded from the piece's archive, a KinD cluster made by the
# pinned kind on a docker network of its own (KIND_EXPERIMENTAL_DOCKER_NETWORK, as the product
# puts the node on the lab network) with a config like the product's (pod and service subnets set)
# plus the settings this kind of host needs; then every system pod Running and Ready, service and
# pod networking, an image volume, a volume claim bound by local-path. Everything it creates is
# deleted at the end, also on failure.
#
# Usage: tests/e2e/bundle/node-check.sh [PIECE-FOLDER]     (default: node.sh's, built if needed)
# Uses the docker daemon's networks and containers: on a shared machine, hold its e2e lock, e.g.
#   flock /work/locks/e2e.lock tests/e2e/bundle/node-check.sh
# Environment:
#   NODE_CHECK_NAME     cluster and network name (default capt-nodetest)
#   NODE_CHECK_SUBNET   the docker network's subnet (default 10.231.0.0/16)
#   NODE_CHECK_PODS     pod subnet (default 10.74.0.0/16, the product's kindPodCidr default)
#   NODE_CHECK_SERVICES service subnet (default 10.75.0.0/16, the product's kindServiceCidr default)
# stderr: each check and its timing; exit status 0 when all pass.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
me="node-check"
log() { e2e_log "$me" "$@"; }
fail() {
    log "FAILED: $*"
    exit 1
}

KIND_VERSION=v0.31.0
NODE_REF=kindest/node:v1.35.4
name="${NODE_CHECK_NAME:-capt-nodetest}"
subnet="${NODE_CHECK_SUBNET:-10.231.0.0/16}"
pods="${NODE_CHECK_PODS:-10.74.0.0/16}"
services="${NODE_CHECK_SERVICES:-10.75.0.0/16}"
[[ "$name" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || fail "NODE_CHECK_NAME must be a lowercase DNS label: ${name}"
for cidr in "$subnet" "$pods" "$services"; do
    [[ "$cidr" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] || fail "not an IPv4 CIDR: ${cidr}"
done

"$here/../toolchain/docker.sh"
part="${1:-}"
[ -n "$part" ] || part="$("$here/node.sh" | tail -n 1)"
kind="$(e2e_cache_root)/kind/${KIND_VERSION}/kind"
[ -x "$kind" ] || fail "no kind at ${kind} (node.sh installs it)"
node="${name}-control-plane"
work="$(mktemp -d)"
kubeconfig="$work/kubeconfig"
image_before="$(docker image inspect -f '{{.Id}}' "$NODE_REF" 2>/dev/null || true)"
network_made=""

cleanup() {
    "$kind" delete cluster --name "$name" --kubeconfig "$kubeconfig" >/dev/null 2>&1 || true
    [ -z "$network_made" ] || docker network rm "$name" >/dev/null 2>&1 || true
    [ -n "$image_before" ] || docker rmi "$NODE_REF" >/dev/null 2>&1 || true
    rm -rf -- "$work"
}
trap cleanup EXIT

# k ARG...: kubectl in the node, as cluster admin.
k() {
    docker exec -i "$node" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"
}

# 1. The node image, loaded from the piece's archive as the product loads the bundle's.
entry="$(jq -ec --arg ref "$NODE_REF" '.[] | select(.kind == "image" and .ref == $ref)' "$part/artifacts.json")" ||
    fail "${part}/artifacts.json has no ${NODE_REF}"
archive="$part/$(jq -r .file <<<"$entry")"
[ "$(sha256sum "$archive" | cut -d' ' -f1)" = "$(jq -r .sha256 <<<"$entry")" ] || fail "${archive}: sha256 differs from the record"
[ -z "$image_before" ] || [ "$image_before" = "$(jq -r .imageId <<<"$entry")" ] ||
    fail "docker already has another ${NODE_REF} (${image_before}); remove it first"
start="$(e2e_now)"
docker load -q -i "$archive" >/dev/null
[ "$(docker image inspect -f '{{.Id}}' "$NODE_REF")" = "$(jq -r .imageId <<<"$entry")" ] || fail "the loaded image's id differs from the record"
log "loaded ${NODE_REF} ($(jq -r .size <<<"$entry" | numfmt --to=iec)) in $(e2e_elapsed "$start") s"

# 2. A network of our own, and the cluster on it.
if docker network inspect "$name" >/dev/null 2>&1; then
    fail "docker network ${name} exists already (another run, or someone else's)"
fi
docker network create --driver bridge --subnet "$subnet" "$name" >/dev/null
network_made=1
# The product's kind config (lib/render/kind-config.ts) plus the two settings a cgroup-v1 host whose
# containers lack CAP_SYS_RESOURCE needs; both are no-ops on a normal cgroup-v2 host (README).
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
  podSubnet: ${pods}
  serviceSubnet: ${services}
nodes:
  - role: control-plane
    image: ${NODE_REF}
EOF
start="$(e2e_now)"
KIND_EXPERIMENTAL_DOCKER_NETWORK="$name" "$kind" create cluster --config "$work/kind.yaml" \
    --kubeconfig "$kubeconfig" --retain >"$work/create.log" 2>&1 || {
    cat "$work/create.log" >&2
    docker exec "$node" journalctl -u kubelet --no-pager 2>/dev/null | tail -n 40 >&2 || true
    fail "kind create cluster"
}
log "kind create cluster: $(e2e_elapsed "$start") s"
[ "$(docker inspect -f "{{(index .NetworkSettings.Networks \"${name}\").IPAddress}}" "$node")" != "" ] ||
    fail "the node is not on network ${name}"

# 3. Node Ready; every system pod Running and Ready (readiness probes pass), none restarted
# (liveness probes pass); the components this image brings are among them.
start="$(e2e_now)"
k wait --for=condition=Ready node --all --timeout=180s >/dev/null || fail "node not Ready"
for ns in kube-system local-path-storage; do
    for _ in $(seq 1 60); do
        [ -n "$(k get pods -n "$ns" -o name)" ] && break
        sleep 2
    done
    k wait --for=condition=Ready pods --all -n "$ns" --timeout=240s >/dev/null || {
        k get pods -n "$ns" -o wide >&2
        fail "pods in ${ns} not Ready"
    }
done
sleep 20 # a liveness probe that fails restarts its container within this
k get pods -A -o json >"$work/pods.json"
jq -e '[.items[] | select(.metadata.namespace == "kube-system" or .metadata.namespace == "local-path-storage")
        | select(.status.phase != "Running" or ([.status.containerStatuses[] | .restartCount] | add) > 0)] | length == 0' \
    "$work/pods.json" >/dev/null || {
    k get pods -A -o wide >&2
    fail "a system pod is not Running or has restarted"
}
for want in etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns kindnet local-path-provisioner; do
    jq -e --arg w "$want" '[.items[] | select(.metadata.name | startswith($w))] | length > 0' "$work/pods.json" >/dev/null ||
        fail "no ${want} pod"
done
log "node Ready, $(jq '[.items[] | select(.metadata.namespace == "kube-system" or .metadata.namespace == "local-path-storage")] | length' "$work/pods.json") system pods Running and Ready with no restart, in $(e2e_elapsed "$start") s"
k get pods -A -o wide >&2

# The node's settings took: the kubelet's cgroup setting, containerd's effective CRI config.
docker exec "$node" grep -q '^failCgroupV1: false' /var/lib/kubelet/config.yaml || fail "kubelet config lacks failCgroupV1: false"
docker exec "$node" containerd config dump 2>/dev/null | grep -q 'restrict_oom_score_adj = true' ||
    fail "containerd's effective config does not restrict oom_score_adj"

# 4. Networking: a pod address through kindnet's routes, a service address through kube-proxy.
dns_pod="$(jq -r '[.items[] | select(.metadata.name | startswith("coredns"))][0].status.podIP' "$work/pods.json")"
docker exec "$node" curl -sf --max-time 10 "http://${dns_pod}:8181/ready" >/dev/null || fail "coredns pod ${dns_pod}:8181 unreachable"
dns_service="$(k get service -n kube-system kube-dns -o jsonpath='{.spec.clusterIP}')"
docker exec "$node" curl -sf --max-time 10 "http://${dns_service}:9153/metrics" | grep -q '^coredns_build_info' ||
    fail "kube-dns service ${dns_service}:9153 unreachable"
log "pod ${dns_pod} and service ${dns_service} answer from the node"

# 5. An image volume (as the product mounts the OSIE artifacts) of an image the node holds, never
# pulled; and a claim bound by local-path (its helper image runs the setup and teardown).
etcd_image="$(k get pod -n kube-system -l component=etcd -o jsonpath='{.items[0].spec.containers[0].image}')"
pause_image="$(docker exec "$node" sed -n 's/^[[:space:]]*sandbox_image[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' /etc/containerd/config.toml)"
start="$(e2e_now)"
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: node-check, namespace: default }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Mi } }
---
apiVersion: v1
kind: Pod
metadata: { name: node-check, namespace: default }
spec:
  containers:
    - name: main
      image: ${pause_image}
      imagePullPolicy: Never
      volumeMounts:
        - { name: artifacts, mountPath: /artifacts, readOnly: true }
        - { name: data, mountPath: /data }
  volumes:
    - name: artifacts
      image: { reference: ${etcd_image}, pullPolicy: Never }
    - name: data
      persistentVolumeClaim: { claimName: node-check }
EOF
k wait --for=condition=Ready pod/node-check --timeout=180s >/dev/null || {
    k describe pod node-check >&2
    fail "the image-volume and volume-claim pod is not Ready"
}
[ "$(k get pvc node-check -o jsonpath='{.status.phase}')" = Bound ] || fail "the claim is not Bound"
pid="$(docker exec "$node" crictl inspect --output go-template --template '{{.info.pid}}' \
    "$(docker exec "$node" crictl ps -q --name main --label io.kubernetes.pod.name=node-check)")"
docker exec "$node" test -x "/proc/${pid}/root/artifacts/usr/local/bin/etcd" ||
    fail "the image volume does not show ${etcd_image}'s /usr/local/bin/etcd in the container"
volume="$(k get pv "$(k get pvc node-check -o jsonpath='{.spec.volumeName}')" -o jsonpath='{.spec.hostPath.path}{.spec.local.path}')"
docker exec "$node" test -d "$volume" || fail "local-path made no folder ${volume}"
log "image volume of ${etcd_image} mounted, claim Bound at ${volume}, in $(e2e_elapsed "$start") s"
k delete pod node-check --wait=true >/dev/null
k delete pvc node-check --wait=true >/dev/null
for _ in $(seq 1 60); do
    docker exec "$node" test -e "$volume" || break
    sleep 2
done
! docker exec "$node" test -e "$volume" || fail "local-path's teardown left ${volume}"
log "claim deleted, local-path removed ${volume}"

# 6. No image was pulled: every image a container runs is one the node image brought.
docker exec "$node" crictl images -o json | jq -r '.images[].repoTags[]' | sort >"$work/images"
k get pods -A -o jsonpath='{range .items[*]}{range .spec.containers[*]}{.image}{"\n"}{end}{end}' | sort -u |
    while read -r img; do
        grep -qx -- "$img" "$work/images" || grep -qx -- "docker.io/$img" "$work/images" || fail "${img} is not among the node's images"
    done
log "all checks passed"
