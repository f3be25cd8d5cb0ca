#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Wall time of the full qtest device suite against each QEMU device
# (every variant of the device: plain, -packed, -iommu, ...).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
vcts=${VCTS_BUILD:-$top/build}/vcts

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "bench-qtest: qemu-system-x86_64 not found; skipped" >&2
	exit 0
fi

printf '\n%-8s %10s %8s %6s %6s\n' "qemu dev" "wall s" "tests" "pass" "xfail"
for dev in blk net rng serial; do
	start=$(date +%s.%N)
	out=$("$vcts" run --filter "qemu/*\\[$dev*" 2>/dev/null) || true
	end=$(date +%s.%N)
	awk -v dev="$dev" -v s="$start" -v e="$end" '
		/^1\.\./        { n = substr($0, 4) + 0 }
		/^ok /          { ok++ }
		/# TODO xfail/  { xf++ }
		END { printf "%-8s %10.2f %8d %6d %6d\n", dev, e - s, n, ok, xf }
	' <<<"$out"
done
