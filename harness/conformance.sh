#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the conformance suites and keep their TAP in the reports directory.
#   harness/conformance.sh [REPORTS_DIR]
# With VCTS_SHARD=I/N in the environment, run only shard I of N of every
# part (vcts ... --shard I/N) into PART.shard-I-of-N.tap, and make no
# report: one shard cannot certify anything.  `vcts report` over the TAP
# of all N jobs, collected in one directory, merges the shards.
# Exit status: 0 when every test passed, 1 otherwise, 2 on a bad VCTS_SHARD.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${VCTS_BUILD:-$top/build}
reports=${1:-$top/reports}
vcts=$build/vcts
shard=${VCTS_SHARD:-}

if [ ! -x "$vcts" ]; then
	echo "conformance: $vcts is missing; run 'make' first" >&2
	exit 2
fi
shard_args=()
if [ -n "$shard" ]; then
	if ! [[ $shard =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] ||
		[ "${BASH_REMATCH[1]}" -gt "${BASH_REMATCH[2]}" ]; then
		echo "conformance: VCTS_SHARD wants I/N with 1 <= I <= N, not '$shard'" >&2
		exit 2
	fi
	shard_i=${BASH_REMATCH[1]}
	shard_n=${BASH_REMATCH[2]}
	shard_args=(--shard "$shard")
fi
mkdir -p "$reports"

# Where part $1's TAP goes.  What an earlier run of the same part with
# another sharding left here goes away: the report refuses a PART.tap
# beside its shards, and shards of two runs.
tap_path() {
	local name=$1 f
	if [ -z "$shard" ]; then
		rm -f "$reports/$name".shard-*-of-*.tap
		echo "$reports/$name.tap"
		return
	fi
	rm -f "$reports/$name.tap"
	for f in "$reports/$name".shard-*-of-*.tap; do
		case $f in
		*-of-"$shard_n".tap) ;;
		*) rm -f "$f" ;;
		esac
	done
	echo "$reports/$name.shard-$shard_i-of-$shard_n.tap"
}

status=0
run_part() {
	local name=$1
	shift
	local tap
	tap=$(tap_path "$name")
	echo "conformance: $name -> $tap" >&2
	if ! "$vcts" run --progress "${shard_args[@]}" "$@" >"$tap.tmp"; then
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
	tap=$(tap_path "matrix-$profile")
	echo "conformance: matrix $profile -> $tap" >&2
	if ! "$vcts" matrix --profile "$profile" --jobs "$jobs" "${shard_args[@]}" >"$tap.tmp"; then
		status=1
	fi
	mv "$tap.tmp" "$tap"
	grep "^# matrix " "$tap" | sed "s/^# /conformance: /" >&2 || true
done
# The Linux guest driver under QEMU, per device (kernel fetched and cached
# on first use).
tap=$(tap_path guest)
echo "conformance: guest -> $tap" >&2
if ! "$vcts" guest "${shard_args[@]}" >"$tap.tmp"; then
	status=1
fi
mv "$tap.tmp" "$tap"

# The diff as a table is of the whole matrix: without shards, or in shard 1.
diff=matrix-diff-identity-address-no-translation
tap=$(tap_path "$diff")
if [ -z "$shard" ] || [ "$shard_i" = 1 ]; then
	if ! "$vcts" matrix --diff identity-address no-translation --jobs "$jobs" \
		--format table >"$reports/$diff.txt"; then
		status=1
	fi
	echo "conformance: profile diff table -> $reports/$diff.txt" >&2
fi
if ! "$vcts" matrix --diff identity-address no-translation --jobs "$jobs" \
	"${shard_args[@]}" >"$tap"; then
	status=1
fi
echo "conformance: profile diff -> $tap" >&2

if [ -n "$shard" ]; then
	echo "conformance: shard $shard done; collect $reports/*.shard-*-of-$shard_n.tap and" \
		"$reports/*.txt of all $shard_n jobs in one directory DIR, then run:" \
		"$vcts report --dir DIR" >&2
	exit "$status"
fi

# What people read: the HTML page, the clause coverage, JUnit XML for CI.
# A report that cannot be made fails the run as a test would.
if ! "$vcts" report --dir "$reports" --out "$reports" >&2; then
	status=1
fi

exit "$status"
