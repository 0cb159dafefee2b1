#!/usr/bin/env bash
# System packages the tests need (Debian 12, run as root; idempotent, non-interactive).
# ncmd-link system tests and the simulator's data link: network namespaces and veth
# pairs (iproute2), a DHCP server on the simulated link (dnsmasq), ping; the status
# page's browser test drives Debian's headless Chromium through chromedriver.
# scripts/package runs the cross-built binaries under qemu-user (qemu-user-static).
set -euo pipefail

packages=(iproute2 dnsmasq-base iputils-ping procps chromium chromium-driver qemu-user-static xz-utils)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
