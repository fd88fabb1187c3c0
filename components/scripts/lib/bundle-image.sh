# shellcheck shell=bash disable=SC2154 # log comes from the sourcing script
# Shared by the scripts that load an image of the offline bundle (bundle-docker-load, bundle-node-load):
# the image's file in the bundle, checked against the manifest's SHA-256 before anything loads it.
#
# Sourced, never run. The caller defines `log` (messages to stderr) and sets BUNDLE_DIR, IMAGE_FILE
# (relative to the bundle, as bundle.json records it) and IMAGE_SHA256.

# The image's file, after checking it is a regular file inside the bundle with the recorded SHA-256.
# The program allows only relative paths without `..` (lib/bundle/manifest.ts); checked again here
# because the script is the last step before docker reads the file.
bundle_image_file() {
    local file="${BUNDLE_DIR%/}/${IMAGE_FILE}" actual
    case "/${IMAGE_FILE}/" in
    */../* | */./* | //*)
        log "IMAGE_FILE must be a path inside the bundle, got: ${IMAGE_FILE}"
        return 2
        ;;
    esac
    if [ -L "$file" ] || [ ! -f "$file" ]; then
        log "${file} is missing or not a regular file; make the bundle again (npm run bundle)"
        return 1
    fi
    actual="$(sha256sum -- "$file" | cut -d' ' -f1)"
    if [ "$actual" != "$IMAGE_SHA256" ]; then
        log "${file} has SHA-256 ${actual}, bundle.json records ${IMAGE_SHA256}: the file was changed or cut short;" \
            "make the bundle again (npm run bundle)"
        return 1
    fi
    printf '%s\n' "$file"
}
