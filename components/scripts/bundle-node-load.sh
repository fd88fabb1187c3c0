#!/usr/bin/env bash
# bundle-node-load: load one image of the offline bundle (config offlineBundle) into the KinD node's
# containerd, before the chart, clusterctl init and the objects that run it: the Tinkerbell chart's
# images, Cluster API's, CAPT's and cert-manager's controllers, the CaptainOS artifacts image.
#
# Environment:
#   KIND_CLUSTER_NAME  the KinD cluster (required); its node is <name>-control-plane
#   BUNDLE_DIR         the bundle's folder (required)
#   IMAGE_FILE         the image's `docker save` archive, relative to the bundle (required)
#   IMAGE_SHA256       the archive's SHA-256 from bundle.json (required; checked before loading)
#   IMAGE_REF          the name the cluster runs the image by (required)
#   IMAGE_ID           the image's id (config digest) from bundle.json (required; checked after loading)
# stdout: nothing
# stderr: progress messages and kind's own output
#
# `kind load image-archive` imports the archive with the node's own snapshotter; the image then lives
# in the node and goes with it, so there is no delete step. A re-run imports again (idempotent).
set -euo pipefail

log() { printf 'bundle-node-load: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/bundle-image.sh
source "${BASH_SOURCE[0]%/*}/lib/bundle-image.sh"

: "${KIND_CLUSTER_NAME:?KIND_CLUSTER_NAME is required}"
: "${BUNDLE_DIR:?BUNDLE_DIR is required}"
: "${IMAGE_FILE:?IMAGE_FILE is required}"
: "${IMAGE_SHA256:?IMAGE_SHA256 is required}"
: "${IMAGE_REF:?IMAGE_REF is required}"
: "${IMAGE_ID:?IMAGE_ID is required}"
node="${KIND_CLUSTER_NAME}-control-plane"

file="$(bundle_image_file)"
log "loading ${IMAGE_REF} into ${node} from ${file}"
kind load image-archive "$file" --name "$KIND_CLUSTER_NAME" >&2
# The CRI's image id is the config digest, the id docker gave the image when the bundle was made.
loaded="$(docker exec "$node" crictl inspecti -o go-template --template '{{.status.id}}' "$IMAGE_REF" 2>/dev/null || true)"
if [ "$loaded" != "$IMAGE_ID" ]; then
    log "after loading ${file}, ${node} has ${IMAGE_REF} as ${loaded:-nothing}, bundle.json records ${IMAGE_ID};" \
        "make the bundle again (npm run bundle)"
    exit 1
fi
