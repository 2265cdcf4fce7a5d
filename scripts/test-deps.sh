#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: Debian packages, the
# Playwright driver (it drives Debian's chromium; no browser download), and
# the Go-built Kubernetes tools (cached outside the repo by version).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(redis-server postgresql prometheus chromium podman debootstrap uidmap fuse-overlayfs openssl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "test-deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -x scripts/k8s-tools/build.sh ]] || [[ -f scripts/k8s-tools/build.sh ]]; then
  bash scripts/k8s-tools/build.sh >&2
fi
