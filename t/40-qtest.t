#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# QEMU's built-in virtio-pci devices judged by the reference driver over
# qtest, no guest kernel: every qemu/* instance, known differences of QEMU
# as xfail (suites/xfail/qemu.tsv).  vcts speaks TAP itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
qemu=${VCTS_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "1..0 # SKIP $qemu not found"
	exit 0
fi
exec "${VCTS_BUILD:-$top/build}/vcts" run --filter 'qemu/*'
