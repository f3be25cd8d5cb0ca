#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/65-bisect.t - harness/bisect: the git bisect run contract and the
# search over guest kernels.
#
# A throwaway git repository holds a tiny C program and its Makefile: two
# good commits, a planted regression, more bad commits, and (in a second
# history) a commit that does not build.  git bisect run with harness/bisect
# must name the planted commit, skipping the one that does not build (125).
# Each exit status of the contract is checked on its own, then on the real
# tree: a passing vcts selection is 0, QEMU's virtio-rng keeping FEATURES_OK
# with an unoffered bit (no xfail entry) is 1, a selection of nothing or of
# skips only is 125, a vcts that crashes is 1.  --kernels runs against a
# stand-in vcts and guests/build.sh (no network): it finds the first kernel
# whose failing set changes, steps around a kernel that cannot be had, and
# says when OLD and NEW agree or the kernel list cannot be had.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
plan 28

BISECT=$VCTS_SRCDIR/harness/bisect
export BISECT
# No crash below leaves a core file behind.
ulimit -c 0

# Each check runs in a bash of its own with -e, so that any command in it
# that fails fails the check: inside expect_success the snippet runs in an
# if condition, where bash ignores set -e and only the last command counts.
expect() {
	ok_if "$1" bash -ec "$2"
}

# CMD... fails (a "!" does not stop a bash -e).
not() {
	if "$@"; then
		return 1
	fi
}

# status CODE CMD...: CMD exits with CODE and one line on stderr matching
# the extended regex in $want (stdout into out, stderr into err).
status() {
	local code=$1 rc=0
	shift
	"$@" >out 2>err || rc=$?
	if [ "$rc" != "$code" ]; then
		echo "exit status $rc, expected $code"
		cat err
		return 1
	fi
	if [ -n "${want:-}" ] && ! grep -Eq -- "$want" err; then
		echo "stderr does not match: $want"
		cat err
		return 1
	fi
}
export -f status not one_line

# ---------------------------------------------------------- git bisect run

have_tools=1
for t in git make cc; do
	command -v "$t" >/dev/null 2>&1 || have_tools=0
done

# The repository's author, and no user or system configuration.
export GIT_AUTHOR_NAME=vcts GIT_AUTHOR_EMAIL=vcts@example.invalid
export GIT_COMMITTER_NAME=vcts GIT_COMMITTER_EMAIL=vcts@example.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

# commit MESSAGE EXPR: sum.c prints a + b as EXPR says; tag the commit.
commit() {
	cat >sum.c <<EOF
/* $1 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long a, b;

	if (argc != 3)
		return 2;
	a = atol(argv[1]);
	b = atol(argv[2]);
	printf("%ld\\n", $2);
	return 0;
}
EOF
	git add sum.c Makefile && git commit -qm "$1" && git tag "$1"
}

make_repo() {
	rm -rf "${TMP:?}/$1" && mkdir "$TMP/$1" && cd "$TMP/$1" && git init -q
	printf 'all: sum\nsum: sum.c\n\t$(CC) -o $@ sum.c\n' >Makefile
	printf 'sum\n' >.gitignore
}
export -f commit make_repo

# The test of a commit: 2 + 3 is 5.
export SUMTEST='test "$(./sum 2 3)" = 5'

if [ "$have_tools" = 1 ]; then
	(
		set -e
		make_repo linear
		commit good0 'a + b'
		commit good1 'b + a'
		commit bad2 'a + b + 1'
		commit bad3 'b + a + 1'
		commit bad4 '1 + b + a'
	) >repo.log 2>&1 || have_tools=0
fi

if [ "$have_tools" = 1 ]; then
	expect 'git bisect run names the planted regression' '
		cd linear
		git bisect start bad4 good0 >/dev/null
		git bisect run "$BISECT" --build make --test "$SUMTEST" >../run.out 2>&1
		test "$(git rev-parse refs/bisect/bad)" = "$(git rev-parse bad2)"
		grep -q "^$(git rev-parse bad2) is the first bad commit" ../run.out
		git bisect reset >/dev/null
	'
	expect 'each step says its verdict in one line on stderr' '
		grep -Eq "^harness/bisect: [0-9a-f]+: good \(0\): .+ passed$" run.out
		grep -Eq "^harness/bisect: [0-9a-f]+: bad \(1\): .+ exited 1$" run.out
	'
	expect 'the default build is make (quiet) in the current directory' '
		cd linear && git checkout -q good1 && rm -f sum
		want="good \(0\)" status 0 "$BISECT" --test "$SUMTEST"
		test -x sum && test ! -s out
	'
	expect 'exit status 1 on the planted regression, with -C' '
		cd linear && git checkout -q bad2
		want="bad \(1\)" status 1 "$BISECT" -C "$TMP/linear" --build make --test "$SUMTEST"
		one_line err
	'
	expect 'a build that fails is 125 with the tail of its log' '
		mkdir -p broken && cd broken && printf "all:\n\t@echo cc: error: no such thing; exit 1\n" >Makefile
		want="cannot test \(125\): the build .make. failed" status 125 "$BISECT" --build make --test true
		grep -q "^  | cc: error: no such thing" err
	'
	expect 'git bisect run skips a commit that does not build (125)' '
		make_repo skipping
		commit good0 "a + b"
		commit good1 "b + a"
		commit good2 "a + (b)"
		commit nobuild3 "a + b +"
		commit good4 "a + b"
		commit bad5 "a + b - 1"
		commit bad6 "b + a - 1"
		git bisect start bad6 good0 >/dev/null
		git bisect run "$BISECT" --build make --test "$SUMTEST" >../skip.out 2>&1
		test "$(git rev-parse refs/bisect/bad)" = "$(git rev-parse bad5)"
		git bisect log >../skip.log
		grep -qx "git bisect skip $(git rev-parse nobuild3)" ../skip.log
		grep -Eq "cannot test \(125\): the build .make. failed" ../skip.out
		git bisect reset >/dev/null
	'
else
	for t in 'git bisect run names the planted regression' \
		'each step says its verdict in one line on stderr' \
		'the default build is make (quiet) in the current directory' \
		'exit status 1 on the planted regression, with -C' \
		'a build that fails is 125 with the tail of its log' \
		'git bisect run skips a commit that does not build (125)'; do
		skip "$t" "needs git, make and cc ($(tail -n 1 repo.log 2>/dev/null))"
	done
fi

# ------------------------------------------------------------ exit statuses

expect 'what a test command says: 0 good, 1 bad, 125 cannot test' '
	want="good \(0\)" status 0 "$BISECT" --no-build --test true
	want="bad \(1\)" status 1 "$BISECT" --no-build --test "exit 3"
	want="bad \(1\)" status 1 "$BISECT" --no-build --test "exit 2"
	want="cannot test \(125\): .* said it cannot test" status 125 "$BISECT" --no-build --test "exit 125"
'
expect 'a command that cannot run is 125, never 126 or 127' '
	want="cannot test \(125\): cannot run .* \(status 127\)" \
		status 125 "$BISECT" --no-build --test "no-such-command-here"
	want="cannot test \(125\): cannot run .* \(status 126\)" \
		status 125 "$BISECT" --no-build --test "exit 126"
	want="cannot test \(125\): cannot run the build" \
		status 125 "$BISECT" --build no-such-command-here --test true
'
expect 'a crash signal is bad (1), a signal from outside is 125, never >127' '
	want="bad \(1\): .* crashed \(SIGSEGV\)$" status 1 "$BISECT" --no-build --test "kill -SEGV \$\$"
	want="bad \(1\): .* crashed \(SIGABRT\)$" status 1 "$BISECT" --no-build --test "kill -ABRT \$\$"
	want="cannot test \(125\): .* stopped by SIGKILL$" status 125 "$BISECT" --no-build --test "kill -KILL \$\$"
	want="cannot test \(125\): .* stopped by SIGTERM$" status 125 "$BISECT" --no-build --test "kill -TERM \$\$"
	one_line err
'
expect 'TAP that skips everything, or plans nothing, is 125' '
	want="cannot test \(125\): .* skipped all 2 test points$" status 125 "$BISECT" --no-build \
		--test "printf \"1..2\\nok 1 - a # SKIP x\\nok 2 - b # skip y\\n\""
	want="cannot test \(125\): .* ran nothing: no disk here$" status 125 "$BISECT" --no-build \
		--test "printf \"1..0 # SKIP no disk here\\n\""
'
expect 'TAP failures are named, even with exit 0; a TODO is no failure; only BROKEN is 125' '
	want="bad \(1\): .*: 2 of 4 test points failed: b#c, d$" status 1 "$BISECT" --no-build \
		--test "printf \"1..4\\nok 1 - a\\nnot ok 2 - b\\\\\\\\#c\\nnot ok 3 - d # timeout\\nnot ok 4 - e # TODO known\\n\"; exit 1"
	want="bad \(1\): .*: 1 of 2 test points failed: b$" status 1 "$BISECT" --no-build \
		--test "printf \"1..2\\nok 1 - a\\nnot ok 2 - b\\n\""
	want="cannot test \(125\): .* could not run 1 test point \(BROKEN\): b$" status 125 \
		"$BISECT" --no-build --test "printf \"1..2\\nok 1 - a\\nnot ok 2 - b # BROKEN no fork\\n\"; exit 1"
	want="cannot test \(125\): .* bailed out: no QEMU$" status 125 "$BISECT" --no-build \
		--test "printf \"1..2\\nBail out! no QEMU\\n\"; exit 1"
'
expect 'a wrong command line is 128: git bisect run stops' '
	want="no vcts command given" status 128 "$BISECT"
	want="unknown option .--frob." status 128 "$BISECT" --frob
	want="not both" status 128 "$BISECT" --test true run
	want="contradict" status 128 "$BISECT" --build make --no-build run
	want="belongs to --kernels" status 128 "$BISECT" --filter x run
	want="needs a value" status 128 "$BISECT" --test
	want="no such directory" status 128 "$BISECT" -C "$TMP/nowhere" run
	test ! -s out
'
expect '--help: usage on stdout, exit 0' '
	"$BISECT" --help >out 2>err && test ! -s err
	grep -q "^usage: harness/bisect" out
	grep -q -- "--kernels OLD..NEW" out
	grep -q "^  125 " out
'
expect 'SIGTERM to the script stops its command at once and is 125' '
	gone() { case $(ps -o stat= -p "$1") in "" | Z*) return 0 ;; esac; return 1; }
	"$BISECT" --no-build --test "echo \$\$ >pid; exec sleep 30" >out 2>err &
	b=$!
	for _ in $(seq 100); do test -s pid && break; sleep 0.05; done
	kill -TERM "$b"
	for _ in $(seq 100); do gone "$b" && break; sleep 0.05; done
	if ! gone "$b"; then
		echo "still running 5 s after SIGTERM"
		kill -KILL "$b" "$(cat pid)"
		exit 1
	fi
	rc=0; wait "$b" || rc=$?
	test "$rc" -eq 125
	grep -q "stopped by SIGTERM: cannot test" err
	gone "$(cat pid)"
	test -z "$(find "$TMP" -maxdepth 1 -name "vcts-bisect.*")"
'

# ------------------------------------------------------- the real tree

# A vcts that misbehaves, in a build directory of its own.
mkdir -p fake
cat >fake/vcts <<'EOF'
#!/bin/bash
case ${FAKE_VCTS:-} in
segv) kill -SEGV $$ ;;
term) kill -TERM $$ ;;
esac
EOF
chmod +x fake/vcts

expect 'real tree: a passing selection is good (0)' '
	want="good \(0\): vcts run passed: 1 test point$" status 0 \
		"$BISECT" -C "$VCTS_SRCDIR" --no-build run --filter "status/driver-init-sequence[[]split]"
	one_line err
'
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	expect 'real tree: QEMU keeping FEATURES_OK (no xfail entry) is bad (1)' '
		mkdir -p no-xfail
		VCTS_XFAIL_DIR=$TMP/no-xfail want="bad \(1\): vcts run: 1 of 1 test points failed: qemu/features-hostile\[rng\]$" \
			status 1 "$BISECT" -C "$VCTS_SRCDIR" --no-build run --filter "qemu/features-hostile[[]rng]"
	'
else
	skip 'real tree: QEMU keeping FEATURES_OK (no xfail entry) is bad (1)' \
		"qemu-system-x86_64 not installed"
fi
expect 'real tree: a filter matching nothing is 125 (vcts usage error)' '
	want="cannot test \(125\): vcts run: usage error \(exit 2\): vcts: no test matches" \
		status 125 "$BISECT" -C "$VCTS_SRCDIR" --no-build run --filter "no/such-test"
'
expect 'real tree: a matrix whose cells all skip, or with no cell, is 125' '
	axes="--axis translation=none --axis width=64 --axis ring=split --axis event-idx=on --axis indirect=on --axis device=blk"
	want="cannot test \(125\): vcts matrix skipped all 24 test points$" status 125 \
		"$BISECT" -C "$VCTS_SRCDIR" --no-build matrix --profile spec-1.4 $axes --filter expect=skip
	want="cannot test \(125\): vcts matrix ran nothing: no cell selected$" status 125 \
		"$BISECT" -C "$VCTS_SRCDIR" --no-build matrix --profile identity-address $axes --filter expect=skip
'
expect 'a vcts that crashes is bad (1); one stopped from outside is 125' '
	FAKE_VCTS=segv VCTS_BUILD=$TMP/fake want="bad \(1\): vcts run crashed \(SIGSEGV\)$" \
		status 1 "$BISECT" --no-build run
	FAKE_VCTS=term VCTS_BUILD=$TMP/fake want="cannot test \(125\): vcts run was stopped by SIGTERM$" \
		status 125 "$BISECT" --no-build run
	FAKE_VCTS= VCTS_BUILD=$TMP/fake want="cannot test \(125\): vcts run reported no test point$" \
		status 125 "$BISECT" --no-build run
	VCTS_BUILD=$TMP/nowhere want="cannot test \(125\): no .*/vcts to run" \
		status 125 "$BISECT" --no-build run
'

# --------------------------------------------------------------- --kernels

# Stand-ins: build.sh lists ten kernels (out of order); vcts guest fails
# guest/q35/blk-packed from kernel $FAKE_CHANGE on, cannot have the kernels
# in $FAKE_UNTESTABLE, times out on kernel $FAKE_FLAKY from its second run,
# and logs every run.
mkdir -p kfake
cat >kfake/build.sh <<'EOF'
#!/bin/bash
if [ -n "${FAKE_NOLIST:-}" ]; then
	echo "guests/build.sh: needs 'apt-cache' (run: make deps)" >&2
	exit 2
fi
[ "$1" = --list-kernels ] || exit 9
for n in 49 40 41 42 43 44 45 46 47 48; do echo "6.1.0-$n-amd64"; done
EOF
cat >kfake/vcts <<'EOF'
#!/bin/bash
[ "$1 $2" = "guest --kernel" ] || { echo "vcts: unexpected $*" >&2; exit 2; }
n=${3#6.1.0-}
n=${n%-amd64}
echo "$*" >>"$TMP/kruns"
echo "TAP version 14"
case " ${FAKE_UNTESTABLE:-} " in
*" $n "*)
	echo "1..0 # SKIP guests/build.sh failed (exit 2): apt-get download linux-image-$3 failed"
	exit 0
	;;
esac
echo "1..3"
if [ "$n" = "${FAKE_FLAKY:-}" ] && [ "$(grep -c -- "--kernel $3" "$TMP/kruns")" -ge 2 ]; then
	echo "not ok 1 - guest/q35/blk # timeout"
else
	echo "ok 1 - guest/q35/blk"
fi
rc=0
if [ "$n" -ge "$FAKE_CHANGE" ]; then
	echo "not ok 2 - guest/q35/blk-packed"
	rc=1
else
	echo "ok 2 - guest/q35/blk-packed"
fi
echo "ok 3 - guest/q35/rng # SKIP no rng"
exit "$rc"
EOF
chmod +x kfake/build.sh kfake/vcts

# kernels CODE ARGS...: harness/bisect --kernels with the stand-ins.
kernels() {
	local code=$1
	shift
	rm -f "$TMP/kruns"
	VCTS_BUILD=$TMP/kfake VCTS_BUILD_SH=$TMP/kfake/build.sh status "$code" "$BISECT" "$@"
}
export -f kernels

expect '--kernels: the first kernel whose failing set changes, in 5 runs + 2 to confirm' '
	FAKE_CHANGE=45 kernels 0 --kernels 6.1.0-40-amd64..6.1.0-49-amd64 --filter "guest/q35/*"
	grep -qx "first version where the verdict changes: 6.1.0-45-amd64 (OLD verdict: pass (2 test points), NEW verdict: 1 failing: guest/q35/blk-packed)" out
	grep -qx "last version with OLD.s verdict: 6.1.0-44-amd64" out
	grep -qx "newly failing in 6.1.0-45-amd64: guest/q35/blk-packed" out
	test "$(wc -l <"$TMP/kruns")" -eq 7
	test "$(grep -c "^guest --kernel 6.1.0-45-amd64 --filter guest/q35/\*\$" "$TMP/kruns")" -eq 2
	test "$(grep -c "^guest --kernel 6.1.0-44-amd64 --filter guest/q35/\*\$" "$TMP/kruns")" -eq 2
	grep -Eq "^harness/bisect: \[5\] 6.1.0-45-amd64: 1 failing" err
	grep -Eq "^harness/bisect: \[7\] 6.1.0-45-amd64 \(again\): " err
'
expect '--kernels: a kernel that cannot be had is skipped for a neighbour' '
	FAKE_CHANGE=46 FAKE_UNTESTABLE=44 kernels 0 --kernels 6.1.0-40-amd64..6.1.0-49-amd64
	grep -q "^first version where the verdict changes: 6.1.0-46-amd64 " out
	grep -q "6.1.0-44-amd64: cannot test .*apt-get download linux-image-6.1.0-44-amd64 failed" err
	grep -qx "guest --kernel 6.1.0-45-amd64" "$TMP/kruns"
'
expect '--kernels: untestable kernels next to the change: 125, naming them' '
	FAKE_CHANGE=45 FAKE_UNTESTABLE=44 kernels 125 --kernels 6.1.0-40-amd64..6.1.0-49-amd64
	grep -qx "the verdict changes after 6.1.0-43-amd64 and by 6.1.0-45-amd64; cannot test the ones between: 6.1.0-44-amd64" out
'
expect '--kernels: OLD and NEW with the same verdict: 1, nothing bisected' '
	FAKE_CHANGE=99 kernels 1 --kernels 6.1.0-41-amd64..6.1.0-48-amd64
	grep -qx "no change: 6.1.0-41-amd64 and 6.1.0-48-amd64 give the same verdict: pass (2 test points)" out
	test "$(wc -l <"$TMP/kruns")" -eq 2
'
expect '--kernels: a verdict that does not come back is 125' '
	FAKE_CHANGE=45 FAKE_FLAKY=45 kernels 125 --kernels 6.1.0-40-amd64..6.1.0-49-amd64
	grep -qx "6.1.0-45-amd64 did not give the same verdict twice: 1 failing: guest/q35/blk-packed; then 2 failing: guest/q35/blk, guest/q35/blk-packed" out
	not grep -q "^first version" out
'
expect '--kernels: an end that cannot be tested is 125' '
	FAKE_CHANGE=45 FAKE_UNTESTABLE=40 want="6.1.0-40-amd64 cannot test: .*: the search needs both ends" \
		kernels 125 --kernels 6.1.0-40-amd64..6.1.0-49-amd64
'
expect '--kernels: the kernel list cannot be had: 125, with the reason' '
	FAKE_NOLIST=1 want="cannot list the kernels .*status 2\): guests/build.sh: needs .apt-cache." \
		kernels 125 --kernels 6.1.0-40-amd64..6.1.0-49-amd64
	test ! -e "$TMP/kruns"
	want="6.1.0-59-amd64 is not among the 10 kernels apt can download \(6.1.0-40-amd64 .. 6.1.0-49-amd64\)" \
		kernels 125 --kernels 6.1.0-40-amd64..6.1.0-59-amd64
'
expect '--kernels: its command line' '
	want="wants OLD..NEW" kernels 128 --kernels 6.1.0-40-amd64
	want="wants OLD..NEW" kernels 128 --kernels ..6.1.0-40-amd64
	want="OLD and NEW are both" kernels 128 --kernels 6.1.0-40-amd64..6.1.0-40-amd64
	want="OLD 6.1.0-49-amd64 comes after NEW 6.1.0-40-amd64" kernels 128 --kernels 6.1.0-49-amd64..6.1.0-40-amd64
	want="takes no command" kernels 128 --kernels 6.1.0-40-amd64..6.1.0-49-amd64 run
	want="--timeout wants milliseconds" kernels 128 --kernels 6.1.0-40-amd64..6.1.0-49-amd64 --timeout 5s
	want="builds nothing" kernels 128 --kernels 6.1.0-40-amd64..6.1.0-49-amd64 --build make
	test ! -e "$TMP/kruns"
'
expect '--kernels: no vcts built is 125' '
	VCTS_BUILD=$TMP/nowhere VCTS_BUILD_SH=$TMP/kfake/build.sh want="run make first" \
		status 125 "$BISECT" --kernels 6.1.0-40-amd64..6.1.0-49-amd64
'
