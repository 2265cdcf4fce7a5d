#!/usr/bin/env bash
# Build the telesniff image without a Docker engine and without a container registry.
#
#   scripts/image/build.sh                  # -> localhost/telesniff:dev
#   IMAGE=localhost/telesniff:abc scripts/image/build.sh
#   scripts/image/build.sh --no-cache       # extra arguments go to `podman build`
#
# 1. Installs Debian's podman and debootstrap when they are missing (needs root; idempotent).
# 2. Makes the base image once: a Debian bookworm root filesystem with python3 and
#    python3-venv made by debootstrap from the Debian mirror apt already uses, imported with
#    `podman import` as $BASE_IMAGE. Skipped when that image exists; the root filesystem
#    tarball is kept in $CACHE_DIR so a wiped podman storage does not need debootstrap again.
# 3. `podman build --isolation=chroot --build-arg BASE_IMAGE=$BASE_IMAGE` of ./Dockerfile.
#    PyPI is reached from inside the build through the host network; the host's CA bundle is
#    handed to pip as a build secret (never stored in a layer).
#
# Environment:
#   IMAGE        image to build            (default localhost/telesniff:dev)
#   BASE_IMAGE   local base image tag      (default localhost/telesniff-base:bookworm-python3.11)
#   CACHE_DIR    rootfs tarball cache      (default ~/.cache/telesniff/image)
#   DEBIAN_MIRROR  mirror for debootstrap  (default: the first Debian URI in apt's sources)
#   PIP_CA_BUNDLE  CA bundle for pip       (default $PIP_CERT or /etc/ssl/certs/ca-certificates.crt)
#   BUILD_ONLY_BASE=1  stop after the base image
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE="${IMAGE:-localhost/telesniff:dev}"
BASE_IMAGE="${BASE_IMAGE:-localhost/telesniff-base:bookworm-python3.11}"
SUITE="bookworm"
CACHE_DIR="${CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telesniff/image}"
ROOTFS_TAR="$CACHE_DIR/${SUITE}-python3-rootfs.tar"
PIP_CA_BUNDLE="${PIP_CA_BUNDLE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}"

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root for: $*"
    fi
}

ensure_tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v newuidmap >/dev/null || missing+=(uidmap)
    command -v fuse-overlayfs >/dev/null || missing+=(fuse-overlayfs)
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "install ${missing[*]} (no apt-get here)"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
        as_root apt-get update -q >/dev/null
        as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# The first Debian archive URI in apt's sources (deb822 or one-line format).
debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}' \
        | grep -v -- '-security' | head -n1 || true)"
    if [ -z "$uri" ]; then
        uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' \
            | grep -v -- '-security' | head -n1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

make_rootfs_tar() {
    local mirror work
    mirror="$(debian_mirror)"
    work="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    # shellcheck disable=SC2064
    trap "as_root rm -rf '$work'" EXIT
    log "debootstrap $SUITE from $mirror (minbase + python3, python3-venv, ca-certificates)"
    as_root debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    # Slim it: package caches and indexes, documentation, translations.
    as_root rm -rf "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/var/cache/apt/archives/*.deb \
        "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/log/* \
        "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* \
        "$work"/rootfs/usr/share/info/* "$work"/rootfs/usr/share/locale/*
    as_root chroot "$work/rootfs" python3 -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)'
    as_root tar --numeric-owner -C "$work/rootfs" -cf "$ROOTFS_TAR.tmp" .
    mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
    as_root rm -rf "$work"
    trap - EXIT
}

ensure_base_image() {
    if podman image exists "$BASE_IMAGE"; then
        log "base image $BASE_IMAGE exists"
        return
    fi
    mkdir -p "$CACHE_DIR"
    (
        flock 9
        podman image exists "$BASE_IMAGE" && exit 0
        [ -s "$ROOTFS_TAR" ] || make_rootfs_tar
        log "podman import $ROOTFS_TAR as $BASE_IMAGE"
        podman import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["python3"]' \
            "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
    ) 9>"$CACHE_DIR/.lock"
}

project_version() {
    sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$REPO_ROOT/src/telesniff/__init__.py" | head -n1
}

build_image() {
    local args=(
        --isolation=chroot
        --network=host
        --build-arg "BASE_IMAGE=$BASE_IMAGE"
        --build-arg "VERSION=$(project_version)"
        --file "$REPO_ROOT/Dockerfile"
        --tag "$IMAGE"
    )
    if [ -s "$PIP_CA_BUNDLE" ]; then
        args+=(--secret "id=pip-ca,src=$PIP_CA_BUNDLE")
    fi
    log "podman build $IMAGE"
    podman build "${args[@]}" "$@" "$REPO_ROOT"
}

main() {
    local start=$SECONDS
    ensure_tools
    ensure_base_image
    if [ "${BUILD_ONLY_BASE:-0}" = 1 ]; then return; fi
    build_image "$@"
    log "built $IMAGE in $((SECONDS - start))s"
}

main "$@"
