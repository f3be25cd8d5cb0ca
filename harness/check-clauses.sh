#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-clauses.sh - every rule id quoted in the C sources must exist.
#
#   harness/check-clauses.sh SECTIONS.tsv INVARIANTS.tsv [DIR...]
#
# Scans the .c and .h files under DIR... (default: harness
# drivers-under-test suites) for string literals holding rule ids
# ("DRV-2.7.5.2", "DEV-2.7.8.2", "INV-unshared-access", also several in one
# literal) and prints "FILE:LINE: unknown clause ID" for each id that is in
# neither registry file.  Comments are not scanned.  Exit status: 0 when
# every id is known (silently), 1 when one is not, 2 on a usage error.
set -euo pipefail

me=${0##*/}

if [ $# -lt 2 ]; then
	echo "usage: $me SECTIONS.tsv INVARIANTS.tsv [DIR...]" >&2
	exit 2
fi
sections=$1
invariants=$2
shift 2
for f in "$sections" "$invariants"; do
	if [ ! -r "$f" ]; then
		echo "$me: cannot read $f" >&2
		exit 2
	fi
done

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	dirs=(harness drivers-under-test suites)
fi
present=()
for d in "${dirs[@]}"; do
	if [ -d "$d" ]; then
		present+=("$d")
	fi
done
if [ ${#present[@]} -eq 0 ]; then
	exit 0
fi

# A small C lexer: strings, character constants, /* */ and // comments.
# The text of each string literal is searched for rule ids.
# shellcheck disable=SC2016  # $0, $1 belong to awk
prog='
BEGIN { FS = "\t"; bad = 0 }
FILENAME == sections || FILENAME == invariants {
	if (FNR > 1 && $1 != "")
		known[$1] = 1
	next
}
FNR == 1 { in_block = 0 }
{
	line = $0; n = length(line); in_str = 0; text = ""
	for (i = 1; i <= n; i++) {
		c = substr(line, i, 1)
		if (in_block) {
			if (c == "*" && substr(line, i + 1, 1) == "/") { in_block = 0; i++ }
		} else if (in_str) {
			if (c == "\\") { text = text c substr(line, i + 1, 1); i++ }
			else if (c == "\"") { scan(text); in_str = 0 }
			else text = text c
		} else if (c == "/" && substr(line, i + 1, 1) == "*") {
			in_block = 1; i++
		} else if (c == "/" && substr(line, i + 1, 1) == "/") {
			break
		} else if (c == "\"") {
			in_str = 1; text = ""
		} else if (c == "\047") {
			# a character constant: skip it, escaped or not
			j = i + 1
			if (substr(line, j, 1) == "\\") j++
			if (substr(line, j + 1, 1) == "\047") i = j + 1
		}
	}
	if (in_str) scan(text)
}
function scan(s,    id, before) {
	while (match(s, /(DRV|DEV)-[0-9]+(\.[0-9]+)*|(INV|PROP|POL)-[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*/)) {
		id = substr(s, RSTART, RLENGTH)
		before = RSTART > 1 ? substr(s, RSTART - 1, 1) : ""
		if (before !~ /[A-Za-z0-9_-]/ && !(id in known)) {
			printf "%s:%d: unknown clause %s\n", FILENAME, FNR, id
			bad = 1
		}
		s = substr(s, RSTART + RLENGTH)
	}
}
END { exit bad }
'

status=0
find "${present[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 |
	sort -z |
	xargs -0 -r awk -v sections="$sections" -v invariants="$invariants" "$prog" \
		"$sections" "$invariants" >&2 || status=1
exit "$status"
