#!/usr/bin/env bash
# bundle-docker-load: load one image of the offline bundle (config offlineBundle) into the host's docker
# daemon: the KinD node image and the virtual BMC image, before KinD and the BMC container need them.
#
# Environment:
#   BUNDLE_DIR    the bundle's folder (required)
#   IMAGE_FILE    the image's `docker save` archive, relative to the bundle (required)
#   IMAGE_SHA256  the archive's SHA-256 from bundle.json (required; checked before loading)
#   IMAGE_REF     the name the lab runs the image by, without a digest (required)
#   IMAGE_ID      the image's id (config digest) from bundle.json (required; checked after loading)
#   PULUMI_COMMAND_STDOUT  this script's previous stdout, so that a re-run keeps the record
# stdout: one line, `loaded=yes` when this script loaded the image (the delete step removes it again),
#         `loaded=no` when docker already had it under that name (the user's: it stays)
# stderr: progress messages and docker's own output
#
# Never touches an image it did not load: when docker already has IMAGE_REF as another image, the
# script stops before loading (docker load would move the name onto the bundle's image).
set -euo pipefail

log() { printf 'bundle-docker-load: %s\n' "$*" >&2; }
# shellcheck source-path=SCRIPTDIR source=lib/bundle-image.sh
source "${BASH_SOURCE[0]%/*}/lib/bundle-image.sh"

: "${BUNDLE_DIR:?BUNDLE_DIR is required}"
: "${IMAGE_FILE:?IMAGE_FILE is required}"
: "${IMAGE_SHA256:?IMAGE_SHA256 is required}"
: "${IMAGE_REF:?IMAGE_REF is required}"
: "${IMAGE_ID:?IMAGE_ID is required}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT

# The id docker has under a name, empty when it has none.
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

present="$(image_id "$IMAGE_REF")"
if [ "$present" = "$IMAGE_ID" ]; then
    # An earlier run's load keeps its record; an image that was there first stays the user's.
    if grep -qx 'loaded=yes' <<<"$previous"; then
        log "${IMAGE_REF} is loaded already (${IMAGE_ID})"
        echo "loaded=yes"
    else
        log "docker already has ${IMAGE_REF} as ${IMAGE_ID}, the bundle's image; using it (destroy leaves it)"
        echo "loaded=no"
    fi
    exit 0
fi
if [ -n "$present" ]; then
    log "docker already has ${IMAGE_REF} as another image (${present}); the bundle's is ${IMAGE_ID}." \
        "The lab never replaces an image it did not load: remove or retag yours (docker image rm ${IMAGE_REF})," \
        "then run up again"
    exit 1
fi

file="$(bundle_image_file)"
log "loading ${IMAGE_REF} from ${file}"
docker load --input "$file" >&2
if [ -z "$(image_id "$IMAGE_REF")" ]; then
    # An archive saved by digest restores no name: give the loaded image the lab's.
    docker tag "$IMAGE_ID" "$IMAGE_REF" >&2
fi
loaded="$(image_id "$IMAGE_REF")"
if [ "$loaded" != "$IMAGE_ID" ]; then
    log "${file} loaded ${IMAGE_REF} as ${loaded:-nothing}, bundle.json records ${IMAGE_ID}; make the bundle again (npm run bundle)"
    exit 1
fi
echo "loaded=yes"
