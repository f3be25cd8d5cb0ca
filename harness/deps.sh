#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages vcts needs, or print the exact command.
set -euo pipefail

pkgs=(gcc make libc6-dev libcunit1-dev libpci-dev pkg-config perl shellcheck
      qemu-system-x86 qemu-utils dpdk-dev
      busybox-static cpio kmod xz-utils lz4 libelf1
      libtap-formatter-junit-perl libxml2-utils chromium)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
	echo "deps: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
