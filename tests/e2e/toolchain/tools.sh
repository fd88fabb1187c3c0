#!/usr/bin/env bash
# npm run e2e:tools: prepares everything the end-to-end suites need, each step cached outside the
# clone (see README.md beside this file) so a warm run takes seconds:
#   - dockerd (Debian's docker.io, vfs storage), started when not running;
#   - the Pulumi CLI, its Node.js language host and the five provider plugins, built from the source
#     tarballs in ../shared/toolchain-sources plus the Go module proxy (pulumi.sh);
#   - kube-apiserver, kube-controller-manager, kube-scheduler and kubectl built from Go modules, etcd
#     from Debian (for the kind stand-in);
#   - the local virtual BMC image standing in for `vbmcImage`;
#   - the CNCF distribution registry built from Go modules (registry.sh, for the bundle suite).
# Prints one `<name> <value>` line per product on stdout (the vbmc image tag, the kube bin dir, the
# pulumi env file); progress and timings go to stderr. Exits non-zero naming the step that failed.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

step() {
    local name="$1" start
    shift
    start="$(e2e_now)"
    if ! "$@"; then
        e2e_log tools "step ${name} failed (${*})"
        exit 1
    fi
    e2e_log tools "${name} ready in $(e2e_elapsed "$start") s"
}

step docker "$here/docker.sh"
# The image build is mostly downloads (debootstrap, PyPI) and the Go builds are CPU: on a cold machine
# they overlap, which takes several minutes off the first run.
vbmc_out="$(mktemp)"
trap 'rm -f -- "$vbmc_out"' EXIT
step vbmc-image "$here/vbmc-image.sh" --no-verify >"$vbmc_out" &
vbmc_pid=$!
pulumi_out="$(step pulumi "$here/pulumi.sh" --plugins all)"
kube_bin="$(step kube-apiserver "$here/kube-apiserver.sh")"
registry_bin="$(step registry "$here/registry.sh")"
wait "$vbmc_pid" || exit 1
vbmc_image="$(cat "$vbmc_out")"

printf 'pulumi-env %s\n' "$(awk '$1 == "env" { print $2 }' <<<"$pulumi_out")"
printf 'kube-bin %s\n' "$kube_bin"
printf 'vbmc-image %s\n' "$vbmc_image"
printf 'registry %s\n' "$registry_bin"
