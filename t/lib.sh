# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/lib.sh - the TAP library of the t/*.t scripts (in the manner of git's
# test-lib.sh).  A script sources it, plans, and states its tests:
#
#   . "$(dirname "$0")/lib.sh"
#   need_build vcts
#   plan 2
#   expect_success 'help exits 0' '"$VCTS" --help >out'
#   ok_if 'help names the run command' grep -q "run" out
#
#   plan N                    announce N tests (else the plan comes last)
#   ok_if DESC CMD [ARG]...   ok if CMD succeeds
#   expect_success DESC CODE  ok if the shell CODE succeeds (run with set -e
#                             in a subshell, in the scratch directory)
#   expect_failure DESC CODE  a known breakage: "not ok ... # TODO" while
#                             CODE fails, and says so when it passes
#   skip DESC REASON          "ok N - DESC # SKIP REASON"
#   skip_all REASON           nothing here can run: "1..0 # SKIP REASON"
#   diag TEXT...              "# TEXT" lines
#   need_build FILE...        bail out unless $VCTS_BUILD/FILE exists
#   must_fail CMD [ARG]...    CMD fails with an exit status (not a signal)
#   one_line FILE             FILE holds exactly one line
#
# Binaries come from $VCTS_BUILD (default: <repo>/build).  Each script
# gets a private scratch directory $TMP, its working directory, removed
# when the script exits.  The output of a failed test is shown as "#".

set -u

VCTS_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VCTS_BUILD=${VCTS_BUILD:-$VCTS_SRCDIR/build}
VCTS_SPEC_DIR=$VCTS_SRCDIR/spec
VCTS=$VCTS_BUILD/vcts
export VCTS_SRCDIR VCTS_BUILD VCTS_SPEC_DIR VCTS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vcts-t.XXXXXX") || {
	echo "Bail out! cannot create a scratch directory"
	exit 1
}
export TMP
# everything a test starts keeps its files in the scratch directory
TMPDIR=$TMP
export TMPDIR

_t_count=0
_t_failed=0
_t_plan=
_t_log=$TMP/.test-output

_t_finish() {
	local rc=$?
	if [ -z "$_t_plan" ] && [ "$_t_count" -gt 0 ]; then
		echo "1..$_t_count"
	elif [ -n "$_t_plan" ] && [ "$_t_plan" != "$_t_count" ]; then
		echo "# planned $_t_plan tests, ran $_t_count"
		rc=1
	fi
	cd / && rm -rf "$TMP"
	if [ "$_t_failed" -gt 0 ]; then
		rc=1
	fi
	exit "$rc"
}
trap _t_finish EXIT
cd "$TMP" || exit 1

plan() {
	_t_plan=$1
	echo "1..$1"
}

skip_all() {
	echo "1..0 # SKIP $*"
	_t_plan=0
	exit 0
}

diag() {
	local line
	for line in "$@"; do
		while IFS= read -r l || [ -n "$l" ]; do
			echo "# $l"
		done <<<"$line"
	done
}

# The captured output of the test that just failed, as comments.
_t_show_log() {
	if [ -s "$_t_log" ]; then
		head -n 40 "$_t_log" | sed 's/^/#   /'
	fi
}

_t_result() {   # ok|fail DESC [DIRECTIVE]
	local desc=${2//#/\\#}
	_t_count=$((_t_count + 1))
	if [ "$1" = ok ]; then
		echo "ok $_t_count - $desc${3:+ # $3}"
	else
		echo "not ok $_t_count - $desc${3:+ # $3}"
		if [ -z "${3:-}" ]; then
			_t_failed=$((_t_failed + 1))
		fi
		_t_show_log
	fi
}

ok_if() {
	local desc=$1
	shift
	if "$@" >"$_t_log" 2>&1; then
		_t_result ok "$desc"
	else
		_t_result fail "$desc"
	fi
}

# Run CODE in a subshell with set -e.  It must itself run as a plain command: inside an if, && or || bash
# ignores set -e in the subshell too, and only the snippet's last command
# would count.  The status is left in _t_rc.
_t_eval() {
	local had_e=
	case $- in *e*) had_e=1 ;; esac
	set +e
	(
		set -e
		eval "$1"
	) >"$_t_log" 2>&1
	_t_rc=$?
	[ -z "$had_e" ] || set -e
}

expect_success() {
	_t_eval "$2"
	if [ "$_t_rc" -eq 0 ]; then
		_t_result ok "$1"
	else
		_t_result fail "$1"
	fi
}

expect_failure() {
	_t_eval "$2"
	if [ "$_t_rc" -eq 0 ]; then
		_t_result ok "$1" "TODO known breakage vanished"
	else
		_t_result fail "$1" "TODO known breakage"
	fi
}

skip() {
	_t_result ok "$1" "SKIP $2"
}

need_build() {
	local f
	for f in "$@"; do
		if [ ! -x "$VCTS_BUILD/$f" ]; then
			echo "Bail out! $VCTS_BUILD/$f is missing: run make"
			_t_plan=
			exit 1
		fi
	done
}

must_fail() {
	local rc=0
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "must_fail: '$*' succeeded" >&2
		return 1
	fi
	if [ "$rc" -gt 128 ]; then
		echo "must_fail: '$*' died of signal $((rc - 128))" >&2
		return 1
	fi
	return 0
}

# usage_error RE ARGS...: "vcts ARGS" fails with status 2, one line on
# stderr matching the extended regex RE (anchor it with ^ and $ for the
# whole line), nothing on stdout.
usage_error() {
	local re=$1 rc=0
	shift
	"$VCTS" "$@" >uo 2>ue || rc=$?
	if [ "$rc" != 2 ]; then
		echo "exit status $rc, expected 2"
		cat uo ue
		return 1
	fi
	one_line ue && grep -Eq "$re" ue && test ! -s uo
}

one_line() {
	local n
	n=$(wc -l <"$1")
	if [ "$n" -ne 1 ]; then
		echo "one_line: $1 has $n lines:" >&2
		cat "$1" >&2
		return 1
	fi
}
