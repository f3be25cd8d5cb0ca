#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot-to-verdict time of every guest of `vcts guest` (Debian's kernel under
# QEMU, many devices per guest) and the cells judged per minute.  The
# kernel is fetched and cached by guests/build.sh on first use; the build
# is timed apart so the figures are the guests' own.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
vcts=${VCTS_BUILD:-$top/build}/vcts

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "bench-guest: qemu-system-x86_64 not found; skipped" >&2
	exit 0
fi
rc=0
"$top/guests/build.sh" >/dev/null 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "bench-guest: the guest could not be built (guests/build.sh exit $rc); skipped" >&2
	exit 0
fi

out=$(mktemp "${TMPDIR:-/tmp}/bench-guest.XXXXXX")
trap 'rm -f "$out"' EXIT
start=$(date +%s.%N)
"$vcts" guest >"$out" 2>/dev/null || true
end=$(date +%s.%N)

printf '\n%-22s %8s %14s\n' "guest" "devices" "boot-to-verdict s"
awk '/^# guest / {
	name = $3; sub(/:$/, "", name)
	printf "%-22s %8s %14s\n", name, $4, $6
}' "$out"
awk -v s="$start" -v e="$end" '
	/^(not )?ok [0-9]+ - guest\// { cells++ }
	/^ok [0-9]+ - guest\// && !/# SKIP/ { ok++ }
	/^not ok [0-9]+ - guest\/.*# TODO/ { todo++ }
	END {
		wall = e - s
		printf "%-22s %8d cells %6.1f s wall, %.0f cells/min (%d ok, %d TODO)\n",
		       "all guests", cells, wall, cells * 60 / wall, ok, todo
	}' "$out"
