#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every unit test program built into $VCTS_BUILD/t/ (one TAP line each;
# a failing program's output follows as comment lines).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${VCTS_BUILD:-$here/../build}
dir=$build/t
limit=${VCTS_UNIT_TIMEOUT:-300}

units=()
if [[ -d $dir ]]; then
	for f in "$dir"/*; do
		# runner is the runner's selftest catalogue: it fails on purpose
		# and t/15-runner.t judges its output
		[[ $(basename "$f") == runner ]] && continue
		[[ -f $f && -x $f ]] && units+=("$f")
	done
fi

if [[ ${#units[@]} -eq 0 ]]; then
	echo "1..0 # SKIP no unit test programs in $dir (run make units)"
	exit 0
fi

echo "1..${#units[@]}"
n=0
for f in "${units[@]}"; do
	n=$((n + 1))
	name=unit/$(basename "$f")
	if out=$(timeout "$limit" "$f" 2>&1); then
		echo "ok $n - $name"
	else
		rc=$?
		echo "not ok $n - $name"
		echo "# exit status $rc"
		while IFS= read -r line; do
			echo "# $line"
		done <<<"$out"
	fi
done
