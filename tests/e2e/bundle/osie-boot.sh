#!/usr/bin/env bash
# osie-boot.sh: boot the osie piece's kernel and initramfs under QEMU (TCG, no KVM needed) with the
# kernel command line Smee's iPXE script gives a machine (Tinkerbell v0.25.0,
# smee/internal/ipxe/script/hook.go), and follow the serial console until tink-agent, started from
# the image baked into the initramfs, tries to reach Tinkerbell's gRPC address, where nothing
# listens. Shows that the piece boots offline: systemd up, containerd running, tink-agent-setup
# finding the image without a pull, tink-agent starting.
#
# Usage: tests/e2e/bundle/osie-boot.sh [PART_DIR]   (default: the osie piece, built if not cached)
# Environment:
#   OSIE_BOOT_TIMEOUT     seconds to wait for the last step (default 900)
#   OSIE_BOOT_MEMORY_MIB  guest memory (default 2048, config vmMemoryMiB's default)
#   OSIE_BOOT_CPUS        guest vCPUs (default 2, config vmCpus's default)
# stdout: one line per step with the seconds since QEMU started, then the sizes
# stderr: progress; the serial console is kept in $CAPT_E2E_CACHE/bundle/logs/osie-boot/
#
# The guest gets QEMU's user-mode network with restrict=on: DHCP from QEMU itself and no way out of
# it, so grpc_authority (10.0.2.2:42113, QEMU's host address) never answers. Needs no lock: no
# docker or libvirt object is made.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../toolchain/lib.sh
. "$here/../toolchain/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=osie-boot
log() { e2e_log "$me" "$@"; }

timeout_s="${OSIE_BOOT_TIMEOUT:-900}"
memory="${OSIE_BOOT_MEMORY_MIB:-2048}"
cpus="${OSIE_BOOT_CPUS:-2}"
TINK_AGENT_REF=ghcr.io/tinkerbell/tink-agent:v0.25.0
MAC=52:54:00:0a:5e:01
GRPC_AUTHORITY=10.0.2.2:42113
SYSLOG_HOST=10.0.2.2

part="${1:-$("$here/osie.sh" | tail -n 1)}"
image_tar="${part}/$(jq -r '.[] | select(.kind == "image") | .file' "${part}/artifacts.json")"
[ -f "$image_tar" ] || {
    log "no image in ${part}"
    exit 1
}
logs="$(bundle_cache_root)/logs/osie-boot"
work="$(mktemp -d)"
qemu_pid=""
cleanup() {
    [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
    rm -rf -- "$work"
}
trap cleanup EXIT
mkdir -p "$logs"

# The artifacts image's files and kernel-version label, read from its docker-save archive.
manifest="$(tar -xOf "$image_tar" manifest.json)"
kernel_version="$(tar -xOf "$image_tar" "$(jq -r '.[0].Config' <<<"$manifest")" |
    jq -r '.config.Labels["org.capt-playground.kernel-version"]')"
mkdir -p "${work}/files"
while read -r layer; do
    tar -xOf "$image_tar" "$layer" | tar -x -C "${work}/files"
done < <(jq -r '.[0].Layers[]' <<<"$manifest")
kernel="${work}/files/vmlinuz-${kernel_version}-x86_64"
initrd="${work}/files/initramfs-${kernel_version}-x86_64"
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
    log "the image lacks vmlinuz-${kernel_version}-x86_64 or initramfs-${kernel_version}-x86_64"
    exit 1
fi

# Smee's kernel parameters, in its order, as the lab's chart values make them: the global
# parameters (facility is empty, TLS off), worker_id and hw_addr the MAC, then the chart's extra
# kernel argument tink_worker_image. One addition, for this check only: journald forwards to the
# console, so the units' own log lines reach the serial log.
cmdline="facility= syslog_host=${SYSLOG_HOST} grpc_authority=${GRPC_AUTHORITY} tinkerbell_tls=false"
cmdline+=" tinkerbell_insecure_tls=false worker_id=${MAC} hw_addr=${MAC}"
cmdline+=" modules=loop,squashfs,sd-mod,usb-storage intel_iommu=on iommu=pt"
cmdline+=" initrd=initramfs-${kernel_version}-x86_64 console=tty0 console=ttyS1,115200"
cmdline+=" tink_worker_image=${TINK_AGENT_REF}"
cmdline+=" systemd.journald.forward_to_console=1"

# Smee names console ttyS1: the guest gets two serial ports and the log is the second's.
console="${logs}/ttyS1.log"
: >"$console"
: >"${logs}/ttyS0.log"
log "booting ${kernel##*/} + ${initrd##*/} under TCG (${cpus} vCPUs, ${memory} MiB); console: ${console}"
start="$(e2e_now)"
qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp "$cpus" -m "$memory" -display none -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
    -serial "file:${logs}/ttyS0.log" -serial "file:${console}" -monitor none \
    -nic "user,model=virtio-net-pci,mac=${MAC},restrict=on" \
    -device virtio-rng-pci >"${logs}/qemu.log" 2>&1 &
qemu_pid=$!

# The steps, each a fixed string of the serial console. They are timed as they appear, whatever
# their order (networkd and containerd start side by side), and printed in this order.
steps=(
    "kernel started|Linux version"
    "systemd started|systemd[1]: Detected virtualization"
    "DHCP lease (from QEMU)|DHCPv4 address"
    "containerd running|containerd successfully booted"
    "tink-agent-setup: image found, no pull|image already present locally, skipping pull"
    "tink-agent-setup: binary extracted|installed tink-agent"
    "tink-agent started|starting Agent"
    "tink-agent tries grpc_authority|error reading/retrieving action"
)
declare -A seen
while [ "${#seen[@]}" -lt "${#steps[@]}" ]; do
    for s in "${steps[@]}"; do
        marker="${s#*|}"
        if [ -z "${seen[$marker]:-}" ] && grep -qF -- "$marker" "$console"; then
            seen[$marker]="$(e2e_elapsed "$start")"
        fi
    done
    [ "${#seen[@]}" -lt "${#steps[@]}" ] || break
    kill -0 "$qemu_pid" 2>/dev/null || {
        log "QEMU stopped before every step was seen (${console}; ${logs}/qemu.log)"
        exit 1
    }
    if awk -v s="$start" -v e="$(e2e_now)" -v t="$timeout_s" 'BEGIN { exit !(e - s > t) }'; then
        for s in "${steps[@]}"; do
            [ -n "${seen[${s#*|}]:-}" ] || log "not seen within ${timeout_s} s: ${s%%|*} (\"${s#*|}\")"
        done
        tail -n 40 "$console" >&2
        exit 1
    fi
    sleep 0.5
done
for s in "${steps[@]}"; do
    printf '%-42s %6s s\n' "${s%%|*}" "${seen[${s#*|}]}"
done
if grep -qE "image pulled successfully|pull attempt failed|failed to pull image" "$console"; then
    log "tink-agent-setup tried to pull the image"
    exit 1
fi
grep -F "error reading/retrieving action" "$console" | head -n 1 >&2
printf 'initramfs %s bytes, kernel %s bytes (%s)\n' "$(file_size "$initrd")" "$(file_size "$kernel")" "$kernel_version"
