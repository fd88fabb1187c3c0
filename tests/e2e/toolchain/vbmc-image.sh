#!/usr/bin/env bash
# vbmc-image.sh: build a local Docker image that stands in for the product's `vbmcImage`
# (default ghcr.io/jacobweinstock/virtualbmc:latest, which cannot be pulled here: no container
# registry), print its tag, and prove it works the way components/virtual-bmc.ts uses it.
#
# Usage: tests/e2e/toolchain/vbmc-image.sh [--verify | --no-verify]
#   default      build if needed; verify once per image (a stamp in the cache remembers success)
#   --verify     verify even when the stamp exists
#   --no-verify  never verify
# Environment:
#   VIRTUALBMC_VERSION      (default 3.3.0)   pinned PyPI versions
#   SUSHY_TOOLS_VERSION     (default 2.2.0)
#   LIBVIRT_PYTHON_VERSION  (default 9.0.0, = bookworm's libvirt, whose headers it is built against)
#   DEBIAN_MIRROR           (default http://deb.debian.org/debian)
#   VBMC_IMAGE_ALIAS        also tag the image with this name (e.g. the product's default vbmcImage)
#   CAPT_E2E_CACHE          cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/capt-playground-e2e)
# stdout: one line, the image tag, e.g. capt-e2e/virtualbmc:3f1c0a9b2d4e
# stderr: progress and timings
#
# What the product relies on (components/virtual-bmc.ts, lib/render/virtual-bmc.ts,
# components/scripts/vbmc-register.sh, vbmc-unregister.sh): a privileged container with the host's
# /var/run/libvirt bind-mounted; SUSHY_EMULATOR_CONFIG=/etc/sushy/sushy-emulator.conf and the files
# uploaded next to it (config, htpasswd, TLS key and cert) read by sushy-emulator at start, serving
# Redfish on :443; vbmcd running as root with its config_dir /root/.vbmc; `sh`, `cat`, `cmp`, `sed`,
# `mv`, `mkdir` for the registration scripts; `vbmc start|stop|delete` on PATH for `docker exec`.
# The real image (github.com/jacobweinstock/virtualbmc, read for facts only) is Alpine with
# s6-overlay as /init, vbmcd --foreground as an s6 service that halts the container when it ends,
# sushy-emulator as CMD, venvs /opt/virtualbmc and /opt/sushy-tools on PATH, openssl + htpasswd.
# vbmc-image/Dockerfile and vbmc-image/init reproduce that layout on Debian.
#
# Cache ($CAPT_E2E_CACHE/vbmc/):
#   rootfs/debian-bookworm-minbase-amd64.tar(.sha256)   debootstrap --variant=minbase output
#   wheels/<key>/       wheels + libvirt-python sdist for the pinned versions (lock.txt lists them)
#   build/<hash>/       the docker build context; <hash> covers every build input and is the tag
#   build/<hash>/verified  stamp written after a successful verification
# Idempotent: every product is reused when present; partial products are written to temporary
# names and moved into place only when complete. Concurrent runs serialise on a lock file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
me=vbmc-image.sh
log() { e2e_log "$me" "$@"; }

# wait_domstate URI DOMAIN STATE: up to 10 s for the libvirt domain to reach STATE; fails if it does not.
wait_domstate() {
    local i
    for i in $(seq 1 20); do
        [ "$(virsh -c "$1" domstate "$2")" = "$3" ] && return 0
        [ "$i" -lt 20 ] && sleep 0.5
    done
    return 1
}

verify=auto
case "${1:-}" in
"") ;;
--verify) verify=always ;;
--no-verify) verify=never ;;
*)
    log "usage: $0 [--verify | --no-verify]"
    exit 2
    ;;
esac

virtualbmc_version="${VIRTUALBMC_VERSION:-3.3.0}"
sushy_version="${SUSHY_TOOLS_VERSION:-2.2.0}"
libvirt_python_version="${LIBVIRT_PYTHON_VERSION:-9.0.0}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
python_version=3.11 # bookworm's python3

# Before taking the lock: a dockerd started from here must not inherit its descriptor.
"$here/docker.sh"

cache="$(e2e_cache_root)/vbmc"
mkdir -p "$cache/rootfs" "$cache/wheels" "$cache/build"
exec 9>"$cache/.lock"
flock 9
total_start="$(e2e_now)"

# 1. The Debian root filesystem.
rootfs_tar="$cache/rootfs/debian-${suite}-minbase-amd64.tar"
if [ ! -f "$rootfs_tar" ] || [ ! -f "$rootfs_tar.sha256" ]; then
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    step="$(e2e_now)"
    tmp="$(mktemp -d "$cache/rootfs/tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    log "debootstrap --variant=minbase ${suite} from ${mirror} (a few minutes)"
    debootstrap --variant=minbase --arch=amd64 "$suite" "$tmp/root" "$mirror" >"$cache/rootfs/debootstrap.log" 2>&1 || {
        tail -n 20 "$cache/rootfs/debootstrap.log" >&2
        exit 1
    }
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
    tar --numeric-owner -C "$tmp/root" -cf "$tmp/rootfs.tar" .
    sha256sum "$tmp/rootfs.tar" | cut -d' ' -f1 >"$tmp/rootfs.tar.sha256"
    mv -f "$tmp/rootfs.tar.sha256" "$rootfs_tar.sha256"
    mv -f "$tmp/rootfs.tar" "$rootfs_tar"
    rm -rf "$tmp"
    trap - EXIT
    log "root filesystem cached in $(e2e_elapsed "$step")s: ${rootfs_tar}"
fi
rootfs_sha="$(cat "$rootfs_tar.sha256")"
base_tag="capt-e2e/debian:${suite}-minbase-${rootfs_sha:0:12}"
if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    step="$(e2e_now)"
    docker import --message "debootstrap --variant=minbase ${suite}" "$rootfs_tar" "$base_tag" >/dev/null
    log "imported ${base_tag} in $(e2e_elapsed "$step")s"
fi

# 2. Python packages, downloaded on the host so the image build needs no PyPI access (the build
# containers do not trust this host's TLS interception CA, and the downloads stay cached).
wheels_key="$(printf '%s\n' "virtualbmc==${virtualbmc_version}" "sushy-tools==${sushy_version}" \
    "libvirt-python==${libvirt_python_version}" "cp${python_version/./}-manylinux-x86_64" "build: setuptools>=70.1" | sha256sum | cut -c1-12)"
wheels="$cache/wheels/$wheels_key"
if [ ! -f "$wheels/lock.txt" ]; then
    command -v pip3 >/dev/null || {
        log "pip3 is required on the host"
        exit 1
    }
    step="$(e2e_now)"
    rm -rf "$wheels.tmp"
    mkdir -p "$wheels.tmp"
    log "downloading virtualbmc ${virtualbmc_version}, sushy-tools ${sushy_version}, libvirt-python ${libvirt_python_version} and their dependencies"
    # Without dependencies first: virtualbmc requires libvirt-python, an sdist whose metadata only
    # builds where libvirt's development files are installed (not on this host). The
    # dependencies are then resolved from the wheels' own Requires-Dist, minus libvirt-python.
    pip3 download -q --no-deps -d "$wheels.tmp" "virtualbmc==${virtualbmc_version}" "sushy-tools==${sushy_version}"
    pip3 download -q --no-deps --no-binary :all: -d "$wheels.tmp" "libvirt-python==${libvirt_python_version}"
    python3 - "$wheels.tmp" >"$wheels.tmp/requirements.txt" <<'PY'
import glob, sys, zipfile
for whl in sorted(glob.glob(sys.argv[1] + "/*.whl")):
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            if line.startswith("Requires-Dist:"):
                req = line.split(":", 1)[1].strip()
                if "extra ==" in req or req.lower().startswith(("libvirt-python", "libvirt_python")):
                    continue
                print(req)
# To build libvirt-python's wheel in the image (bdist_wheel is part of setuptools from 70.1 on).
print("setuptools>=70.1")
PY
    platforms=()
    for minor in $(seq 36 -1 5); do # bookworm's glibc is 2.36
        platforms+=(--platform "manylinux_2_${minor}_x86_64")
    done
    platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
    pip3 download -q -d "$wheels.tmp" --only-binary=:all: --python-version "$python_version" \
        --implementation cp --abi "cp${python_version/./}" --abi abi3 --abi none "${platforms[@]}" \
        -r "$wheels.tmp/requirements.txt"
    find "$wheels.tmp" -maxdepth 1 -type f \( -name '*.whl' -o -name '*.tar.gz' \) -printf '%f\n' | sort >"$wheels.tmp/lock.txt"
    rm -rf "$wheels"
    mv "$wheels.tmp" "$wheels"
    log "Python packages cached in $(e2e_elapsed "$step")s: ${wheels} ($(wc -l <"$wheels/lock.txt") files)"
fi

# 3. The image. Its tag is a hash of every build input.
build_hash="$(
    {
        printf 'base %s\n' "$base_tag"
        printf 'versions %s %s %s\n' "$virtualbmc_version" "$sushy_version" "$libvirt_python_version"
        cat "$wheels/lock.txt"
        sha256sum "$here/vbmc-image/Dockerfile" "$here/vbmc-image/init" | cut -d' ' -f1
    } | sha256sum | cut -c1-12
)"
tag="capt-e2e/virtualbmc:${build_hash}"
context="$cache/build/$build_hash"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
    step="$(e2e_now)"
    rm -rf "$context"
    mkdir -p "$context/wheels"
    cp "$here/vbmc-image/Dockerfile" "$here/vbmc-image/init" "$context/"
    while read -r f; do
        cp "$wheels/$f" "$context/wheels/"
    done <"$wheels/lock.txt"
    log "docker build ${tag} (log: ${context}/build.log)"
    if ! docker build --force-rm -t "$tag" \
        --build-arg "BASE=${base_tag}" \
        --build-arg "VIRTUALBMC_VERSION=${virtualbmc_version}" \
        --build-arg "SUSHY_TOOLS_VERSION=${sushy_version}" \
        --build-arg "LIBVIRT_PYTHON_VERSION=${libvirt_python_version}" \
        --label "capt-e2e.inputs=${build_hash}" \
        "$context" >"$context/build.log" 2>&1; then
        tail -n 30 "$context/build.log" >&2
        exit 1
    fi
    log "built ${tag} in $(e2e_elapsed "$step")s"
fi
if [ -n "${VBMC_IMAGE_ALIAS:-}" ]; then
    docker tag "$tag" "$VBMC_IMAGE_ALIAS"
    log "also tagged ${VBMC_IMAGE_ALIAS}"
fi

# 4. Verification: the container the way the product runs it, a registration through the
# product's own script, then IPMI and Redfish answers from another network namespace (the host).
verify_image() {
    # Not local: the EXIT trap (cleanup) runs after this function has returned.
    local start c
    start="$(e2e_now)"
    for c in ipmitool virsh curl openssl node; do
        command -v "$c" >/dev/null || {
            log "verification needs ${c} (Debian: ipmitool libvirt-clients curl openssl; node + npm install in the repo)"
            return 1
        }
    done
    [ -d "$repo/node_modules/ts-node" ] || {
        log "verification renders the sushy config with the product's code: run npm install in ${repo}"
        return 1
    }
    probe="e2e-probe-$$-${RANDOM}"
    net="capt-${probe}"
    cname="capt-${probe}-vbmc"
    domain="$probe"
    port=6231
    user='admin'
    password="e2e%Pw-${RANDOM}${RANDOM}"
    uri=qemu:///system
    work="$(mktemp -d)"
    cleanup() {
        docker rm -f "$cname" >/dev/null 2>&1 || true
        docker network rm "$net" >/dev/null 2>&1 || true
        virsh -c "$uri" destroy "$domain" >/dev/null 2>&1 || true
        virsh -c "$uri" undefine "$domain" >/dev/null 2>&1 || true
        rm -rf "$work"
    }
    trap cleanup EXIT

    # libvirtd as .ci/run starts it (no systemd here).
    if ! virsh -c "$uri" version >/dev/null 2>&1; then
        log "starting virtlogd and libvirtd"
        if [ -e /dev/kvm ]; then
            chgrp kvm /dev/kvm && chmod 660 /dev/kvm
        fi
        pgrep -x virtlogd >/dev/null || virtlogd -d
        pgrep -x libvirtd >/dev/null || libvirtd -d
        for _ in $(seq 1 50); do
            virsh -c "$uri" version >/dev/null 2>&1 && break
            sleep 0.2
        done
    fi
    virsh -c "$uri" version >/dev/null

    # A throwaway domain: no disk, no network, TCG; it never needs to boot anything.
    cat >"$work/domain.xml" <<XML
<domain type='qemu'>
  <name>${domain}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices>
</domain>
XML
    virsh -c "$uri" define "$work/domain.xml" >/dev/null

    # A docker network with a free /24 and a fixed address for the container, like the lab's.
    local o
    for _ in 1 2 3 4 5 6 7 8; do
        o=$((RANDOM % 200 + 20))
        subnet="10.254.${o}.0/24"
        if docker network create --driver bridge --subnet "$subnet" --ip-range "10.254.${o}.0/28" "$net" >/dev/null 2>&1; then
            break
        fi
        subnet=""
    done
    [ -n "$subnet" ] || {
        log "could not create a test docker network"
        return 1
    }
    addr="10.254.${o}.16"

    # The files the component uploads, made by the product's own renderers.
    (
        cd "$repo"
        E2E_USER="$user" E2E_PASSWORD="$password" TS_NODE_TRANSPILE_ONLY=1 node -r ts-node/register -e '
            const v = require("./lib/render/virtual-bmc");
            const fs = require("fs");
            const out = process.argv[1];
            fs.writeFileSync(out + "/sushy-emulator.conf", v.sushyConfig({ libvirt: { poolName: "capt-e2e-probe" } }));
            const salt = v.htpasswdSalt({ project: "capt-e2e", stack: "probe" });
            fs.writeFileSync(out + "/htpasswd", v.htpasswdLine(process.env.E2E_USER, process.env.E2E_PASSWORD, salt), { mode: 0o600 });
            console.log([v.SUSHY_CONFIG_PATH, v.SUSHY_HTPASSWD_PATH, v.SUSHY_KEY_PATH, v.SUSHY_CERT_PATH, v.LIBVIRT_SOCKET_DIR].join("\n"));
        ' "$work" >"$work/paths"
    )
    local config_path htpasswd_path key_path cert_path socket_dir
    {
        read -r config_path
        read -r htpasswd_path
        read -r key_path
        read -r cert_path
        read -r socket_dir
    } <"$work/paths"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=${cname}" \
        -addext "subjectAltName=IP:${addr},DNS:${cname}" -keyout "$work/sushy.key" -out "$work/sushy.cert" 2>/dev/null

    # As the docker provider does: create, upload the files (a tar extracted at /, which creates the
    # directories), start.
    docker create --name "$cname" --privileged --restart unless-stopped \
        --network "$net" --ip "$addr" \
        --mount "type=bind,source=${socket_dir},target=${socket_dir}" \
        -e "SUSHY_EMULATOR_CONFIG=${config_path}" \
        --label capt-playground.project=capt-e2e --label "capt-playground.stack=${probe}" \
        "$tag" >/dev/null
    mkdir -p "$work/upload/$(dirname "$config_path")"
    cp "$work/sushy-emulator.conf" "$work/upload/$config_path"
    cp "$work/htpasswd" "$work/upload/$htpasswd_path"
    cp "$work/sushy.key" "$work/upload/$key_path"
    cp "$work/sushy.cert" "$work/upload/$cert_path"
    tar -C "$work/upload" -c . | docker cp - "$cname:/"
    docker start "$cname" >/dev/null

    # The product's registration script, with the environment the component gives it.
    VBMC_CONTAINER="$cname" VBMC_DOMAIN="$domain" VBMC_PORT="$port" VBMC_USERNAME="$user" \
        VBMC_PASSWORD="$password" "$repo/components/scripts/vbmc-register.sh" 2>"$work/register.log" || {
        cat "$work/register.log" >&2
        docker logs "$cname" 2>&1 | tail -n 20 >&2
        return 1
    }
    # A second run must find it up to date (the product's idempotency).
    VBMC_CONTAINER="$cname" VBMC_DOMAIN="$domain" VBMC_PORT="$port" VBMC_USERNAME="$user" \
        VBMC_PASSWORD="$password" "$repo/components/scripts/vbmc-register.sh" 2>>"$work/register.log"
    grep -q "is up to date" "$work/register.log" || {
        log "second vbmc-register run did not report the registration as up to date:"
        cat "$work/register.log" >&2
        return 1
    }

    local ipmi="" i
    for i in $(seq 1 30); do
        if ipmi="$(ipmitool -I lanplus -H "$addr" -p "$port" -U "$user" -P "$password" power status 2>&1)"; then
            break
        fi
        sleep 1
    done
    [[ "$ipmi" == *"Chassis Power is off"* ]] || {
        log "IPMI power status did not answer 'off' (after ${i} tries): ${ipmi}"
        docker logs "$cname" 2>&1 | tail -n 20 >&2
        return 1
    }
    log "IPMI ${addr}:${port}: ${ipmi}"
    if ipmitool -I lanplus -H "$addr" -p "$port" -U "$user" -P "wrong-${password}" power status >/dev/null 2>&1; then
        log "IPMI accepted a wrong password"
        return 1
    fi
    # Power on and off through IPMI: proves vbmc drives the host's libvirtd through the socket.
    ipmitool -I lanplus -H "$addr" -p "$port" -U "$user" -P "$password" power on >/dev/null
    wait_domstate "$uri" "$domain" "running" || {
        log "IPMI power on did not start ${domain}"
        return 1
    }
    ipmitool -I lanplus -H "$addr" -p "$port" -U "$user" -P "$password" power off >/dev/null
    wait_domstate "$uri" "$domain" "shut off" || true
    log "IPMI power on/off drove libvirt domain ${domain}: now $(virsh -c "$uri" domstate "$domain")"

    local code body
    for i in $(seq 1 30); do
        code="$(curl -sk -o /dev/null -w '%{http_code}' "https://${addr}/redfish/v1/Systems" || true)"
        [ "$code" = 401 ] && break
        sleep 1
    done
    [ "$code" = 401 ] || {
        log "Redfish without credentials answered ${code}, wanted 401"
        docker logs "$cname" 2>&1 | tail -n 20 >&2
        return 1
    }
    body="$(curl -sk --fail -K - "https://${addr}/redfish/v1/Systems" <<<"user = \"${user}:${password}\"")" || {
        log "Redfish with credentials failed"
        docker logs "$cname" 2>&1 | tail -n 20 >&2
        return 1
    }
    local uuid
    uuid="$(virsh -c "$uri" domuuid "$domain" | head -n1)"
    [[ "$body" == *"\"Members\""* && "$body" == *"$uuid"* ]] || {
        log "Redfish Systems does not list ${domain} (${uuid}): ${body}"
        return 1
    }
    # Also the certificate the container serves is the uploaded one.
    openssl s_client -connect "${addr}:443" </dev/null 2>/dev/null | openssl x509 -noout -subject | grep -q "$cname" || {
        log "Redfish does not serve the uploaded certificate"
        return 1
    }
    log "Redfish https://${addr}/redfish/v1/Systems lists ${domain} (${uuid}); 401 without credentials"

    VBMC_CONTAINER="$cname" VBMC_DOMAIN="$domain" "$repo/components/scripts/vbmc-unregister.sh" 2>"$work/unregister.log" || {
        cat "$work/unregister.log" >&2
        return 1
    }
    if docker exec "$cname" vbmc show "$domain" >/dev/null 2>&1; then
        log "vbmc still knows ${domain} after vbmc-unregister.sh"
        return 1
    fi
    log "vbmc-unregister.sh removed ${domain}"

    # The process layout: /init supervising vbmcd and the emulator.
    docker exec "$cname" ps -eo pid,args >"$work/ps"
    if ! grep -q 'vbmcd --foreground' "$work/ps" || ! grep -q 'sushy-emulator' "$work/ps"; then
        log "unexpected process layout:"
        cat "$work/ps" >&2
        return 1
    fi
    cleanup
    trap - EXIT
    log "verified ${tag} in $(e2e_elapsed "$start")s"
}

if [ "$verify" = always ] || { [ "$verify" = auto ] && [ ! -f "$context/verified" ]; }; then
    verify_image
    mkdir -p "$context"
    date -u +%FT%TZ >"$context/verified"
fi
log "done in $(e2e_elapsed "$total_start")s"
printf '%s\n' "$tag"
