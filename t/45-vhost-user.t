#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real vhost-user backends (qemu-storage-daemon, DPDK's vhost PMD in
# dpdk-testpmd, the C virtiofsd) judged by the reference driver through
# the vhost-user front-end: every vhost-user/* instance, known differences
# as xfail (suites/xfail/vhost-user.tsv).  The instances of a backend that
# is not installed skip with the reason; with none installed the whole
# script does.  vcts speaks TAP itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
missing=()
for b in qemu-storage-daemon dpdk-testpmd /usr/lib/qemu/virtiofsd; do
	if ! command -v "$b" >/dev/null 2>&1; then
		missing+=("${b##*/}")
	fi
done
if [ "${#missing[@]}" -eq 3 ]; then
	echo "1..0 # SKIP no vhost-user backend installed (${missing[*]}; make deps)"
	exit 0
fi
exec "${VCTS_BUILD:-$top/build}/vcts" run --filter 'vhost-user/*'
