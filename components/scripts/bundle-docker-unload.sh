#!/usr/bin/env bash
# bundle-docker-unload: the delete step of bundle-docker-load: remove the image it loaded, and only that.
#
# Environment:
#   IMAGE_REF              the name the image was loaded under (required)
#   IMAGE_ID               the bundle's image id (required): a name that now means another image stays
#   PULUMI_COMMAND_STDOUT  the load's stdout: `loaded=yes` when the load put the image there
# stdout: nothing
# stderr: progress messages
#
# An image that was there before the load (`loaded=no`), one already gone, or a name that now means
# another image is left alone. `docker image rm` by name removes only that name when other names still
# refer to the image.
set -euo pipefail

log() { printf 'bundle-docker-unload: %s\n' "$*" >&2; }

: "${IMAGE_REF:?IMAGE_REF is required}"
: "${IMAGE_ID:?IMAGE_ID is required}"
previous="${PULUMI_COMMAND_STDOUT:-}"
unset PULUMI_COMMAND_STDOUT

if ! grep -qx 'loaded=yes' <<<"$previous"; then
    log "${IMAGE_REF} was there before the lab; leaving it"
    exit 0
fi
present="$(docker image inspect -f '{{.Id}}' "$IMAGE_REF" 2>/dev/null || true)"
if [ -z "$present" ]; then
    log "${IMAGE_REF} is gone already"
elif [ "$present" != "$IMAGE_ID" ]; then
    log "${IMAGE_REF} is another image now (${present}); leaving it"
else
    log "removing ${IMAGE_REF}"
    docker image rm "$IMAGE_REF" >&2
fi
