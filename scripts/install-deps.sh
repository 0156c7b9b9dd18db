#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-deps.sh: make sure the Debian bookworm packages that Tern's build,
# tests, demo and benchmarks need are installed.  As root it installs what
# is missing with apt-get; otherwise it prints the apt-get command to run.
#   install-deps.sh --fuzz   the extra packages of make fuzz only: clang
#                            and its compiler-rt (libFuzzer, ASan, UBSan)
set -e
if [ "$1" = "--fuzz" ]; then
    PKGS="clang libclang-rt-14-dev"
else
PKGS="gcc gcc-multilib make meson ninja-build pkg-config python3
libglib2.0-dev libgnutls28-dev gnutls-bin nettle-dev libjson-c-dev
zlib1g-dev libzstd-dev librdmacm-dev libibverbs-dev
qemu-system-x86 gnuplot-nox iproute2
libvirt-daemon-system libvirt-clients"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
    echo "install-deps: done"
else
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root:  apt-get install -y$missing" >&2
    exit 1
fi
