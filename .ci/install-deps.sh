#!/usr/bin/env bash
# System packages the tests need (Debian 12, run as root; idempotent, non-interactive).
# ncmd-link system tests and the simulator's data link: network namespaces and veth
# pairs (iproute2), a DHCP server on the simulated link (dnsmasq), ping; the status
# page's browser test drives Debian's headless Chromium through chromedriver. The tests
# under the real netifd (crates/ncmd/tests/netifd_real.rs) build OpenWrt's netifd, ubus
# and uci with the netifd harness (../shared/netifd-harness, its README's list) and run
# comgt-ncm with Debian's comgt beside ncmd; the ubus object is tested against that
# ubusd. The shared AT port is tested with real programs: comgt (sig, info, an SMS
# script), socat and picocom. scripts/package runs the cross-built binaries under
# qemu-user (qemu-user-static).
set -euo pipefail

packages=(iproute2 dnsmasq-base iputils-ping procps chromium chromium-driver
    build-essential cmake pkg-config libjson-c-dev util-linux socat busybox comgt picocom
    qemu-user-static xz-utils)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # A partial index failure (a mirror in sync, a foreign architecture left configured)
    # must not stop the run: the install below fails loudly if a package is really missing.
    apt-get update -q || echo "install-deps: apt-get update reported errors; trying the install anyway" >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
