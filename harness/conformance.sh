#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the conformance suites and keep their TAP in the reports directory.
#   harness/conformance.sh [REPORTS_DIR]
# Exit status: 0 when every test passed, 1 otherwise.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${VCTS_BUILD:-$top/build}
reports=${1:-$top/reports}
vcts=$build/vcts

if [ ! -x "$vcts" ]; then
	echo "conformance: $vcts is missing; run 'make' first" >&2
	exit 2
fi
mkdir -p "$reports"

status=0
run_part() {
	local name=$1
	shift
	local tap=$reports/$name.tap
	echo "conformance: $name -> $tap" >&2
	if ! "$vcts" run --progress "$@" >"$tap.tmp"; then
		status=1
	fi
	mv "$tap.tmp" "$tap"
	awk -v part="$name" '
		/^ok /                    { ok++ }
		/^not ok .*# TODO xfail/ { xfail++; next }
		/^not ok /                { bad++ }
		/^ok .*# SKIP/           { skip++ }
		END { printf "conformance: %-8s %d passed, %d failed, %d skipped, %d known differences (xfail)\n", part, ok - skip, bad, skip, xfail }
	' "$tap" >&2
}

run_part suites --exclude 'mutant/*'
run_part mutants --filter 'mutant/*'

# The platform-access matrix under every shipped profile, and the spec
# editor's view of the two proposals side by side.
jobs=$(nproc 2>/dev/null || echo 2)
for profile in $("$vcts" matrix --profiles | awk '{ print $1 }'); do
	tap=$reports/matrix-$profile.tap
	echo "conformance: matrix $profile -> $tap" >&2
	if ! "$vcts" matrix --profile "$profile" --jobs "$jobs" >"$tap.tmp"; then
		status=1
	fi
	mv "$tap.tmp" "$tap"
	grep "^# matrix " "$tap" | sed "s/^# /conformance: /" >&2 || true
done
# The Linux guest driver under QEMU, per device (kernel fetched and cached
# on first use).
echo "conformance: guest -> $reports/guest.tap" >&2
if ! "$vcts" guest >"$reports/guest.tap.tmp"; then
	status=1
fi
mv "$reports/guest.tap.tmp" "$reports/guest.tap"

diff=$reports/matrix-diff-identity-address-no-translation
if ! "$vcts" matrix --diff identity-address no-translation --jobs "$jobs" --format table \
	>"$diff.txt" || ! "$vcts" matrix --diff identity-address no-translation --jobs "$jobs" \
	>"$diff.tap"; then
	status=1
fi
echo "conformance: profile diff -> $diff.txt, $diff.tap" >&2

# What people read: the HTML page, the clause coverage, JUnit XML for CI.
# A report that cannot be made fails the run as a test would.
if ! "$vcts" report --dir "$reports" --out "$reports" >&2; then
	status=1
fi

exit "$status"
