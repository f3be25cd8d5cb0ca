#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/15-runner.t - the runner turns every outcome into the right TAP.
#
# build/t/runner (t/unit/runner.c) runs a catalogue with one selftest per
# outcome.  Checked here: the plan comes first, each test line and its
# directive, the YAML keys of failures, that tests after a crash and a
# hang still run, the exit status, and that no process is left behind.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

need_build t/runner
# The version line depends on who reads the stream: not prove, here.
unset HARNESS_ACTIVE HARNESS_VERSION
RUNNER=$VCTS_BUILD/t/runner
export RUNNER

plan 38

# One full run shared by most tests below.
export VT_SELFTEST_PIDS=$TMP/pids
rc=0
"$RUNNER" >out 2>err || rc=$?
echo "$rc" >rc

# Wait up to 5 s for PID to be dead: gone, or a zombie left to whoever
# inherited it (that is not the runner once the runner is gone).
dead() {
	local state
	for _ in $(seq 100); do
		state=$(ps -o stat= -p "$1" || true)
		case $state in "" | Z*) return 0 ;; esac
		sleep 0.05
	done
	echo "process $1 is still alive: $state"
	return 1
}

# The YAML block after test line "N - NAME" (first match), without indent.
yaml_of() {
	awk -v want="$1" '
		/^(not )?ok / { inside = ($0 ~ ("^(not )?ok [0-9]+ - " want "( #|$)")); next }
		inside && /^  ---$/ { y = 1; next }
		inside && /^  \.\.\.$/ { exit }
		inside && y { sub(/^  /, ""); print }
	' out
}

expect_success 'a failing run exits 1' 'test "$(cat rc)" = 1'
expect_success 'the version line comes first' 'test "$(sed -n 1p out)" = "TAP version 14"'
expect_success 'the plan comes before any test line' 'test "$(sed -n 2p out)" = "1..15"'
expect_success 'as many test lines as planned, numbered in order' '
	grep -E "^(not )?ok " out | awk "{ n++; num = (\$1 == \"not\") ? \$3 : \$2;
		if (num != n) exit 1 } END { exit n != 15 }"
'
expect_success 'every YAML block is indented and closed' '
	awk "/^  ---\$/ { if (open) exit 1; open = 1; next }
	     /^  \\.\\.\\.\$/ { if (!open) exit 1; open = 0; next }
	     /^(not )?ok / { if (open) exit 1 }
	     END { exit open }" out
'
expect_success 'stdout holds only TAP' '
	! grep -Ev "^(TAP version 14|1\.\.[0-9]+|(not )?ok [0-9]+ - .*|#.*|  ---|  \.\.\.|  [a-z]+: .*|  violations:|    - [a-z]+: .*|      [a-z]+: .*)\$" out
'
expect_success 'nothing of the TAP leaks to stderr' '! grep -E "^(not )?ok " err'

expect_success 'pass: ok, its diagnostics shown before it' '
	grep -qx "ok 1 - selftest/pass" out &&
	grep -B2 -x "ok 1 - selftest/pass" out | grep -qx "# hello from selftest/pass" &&
	grep -qx "# advice DEV-2.7.8.2 \[device\]: used length larger than needed" out
'
expect_success 'violation: not ok with rule, section, who, expected, got' '
	grep -qx "not ok 2 - selftest/violation" out &&
	yaml_of selftest/violation >y &&
	grep -qx "rule: \"DRV-2.7.5.2\"" y &&
	grep -qx "section: \"2.7.5.2 Driver Requirements: The Virtqueue Descriptor Table\"" y &&
	grep -qx "who: \"driver\"" y &&
	grep -qx "expected: \"avail idx 7\"" y &&
	grep -qx "got: \"avail idx 3\"" y
'
expect_success 'violation: quotes and line breaks are escaped in YAML' '
	yaml_of selftest/violation >y &&
	grep -qxF "message: \"avail idx moved \\\"backwards\\\"\\nby 4\"" y
'
expect_success 'memory violation: address, gpa and page in hex' '
	yaml_of selftest/memory >y &&
	grep -qx "violations:" y &&
	grep -qx "  - message: \"device read a private page\"" y &&
	grep -qx "    rule: \"INV-unshared-access\"" y &&
	grep -qx "    address: \"0xfee01000\"" y &&
	grep -qx "    gpa: \"0x7f3000\"" y &&
	grep -qx "    page: \"0x7f3\"" y &&
	grep -qx "    rule: \"DEV-2.7.8.2\"" y
'
expect_success 'failed assertion: its condition and where' '
	grep -qx "not ok 4 - selftest/assert" out &&
	yaml_of selftest/assert >y &&
	grep -qx "message: \"CU_ASSERT_EQUAL(status,0x0f)\"" y &&
	grep -Eqx "at: \"[^\"]*t/unit/runner.c:[0-9]+\"" y
'
expect_success 'crash: not ok # crash (signal SIGSEGV)' '
	grep -qx "not ok 5 - selftest/crash # crash (signal SIGSEGV)" out &&
	yaml_of selftest/crash | grep -q "^message: \"killed by signal SIGSEGV"
'
expect_success 'hang: not ok # timeout after its own 300 ms' '
	grep -qx "not ok 6 - selftest/hang # timeout" out &&
	yaml_of selftest/hang | grep -q "^message: \"no result within 300 ms"
'
expect_success 'skip: ok # SKIP with the reason' '
	grep -qx "ok 7 - selftest/skip # SKIP feature VIRTIO_F_RING_PACKED not offered" out
'
expect_success 'broken: not ok # BROKEN with the reason' '
	grep -qx "not ok 8 - selftest/broken # BROKEN cannot set up the device: no memory" out
'
expect_success 'exit without a result: not ok # BROKEN' '
	grep -qx "not ok 9 - selftest/exit # BROKEN test process exited without a complete result" out
'
expect_success 'only-rule: the expected rule alone passes' '
	grep -qx "ok 10 - selftest/only-rule" out
'
expect_success 'only-rule: another rule fails, every record reported' '
	grep -qx "not ok 11 - selftest/only-rule-wrong" out &&
	yaml_of selftest/only-rule-wrong >y &&
	grep -qx "expected: \"DRV-2.7.5.2\"" y &&
	grep -qx "got: \"DRV-2.7.5.2 DEV-2.7.8.2\"" y &&
	grep -qx "  - message: \"expected rule\"" y &&
	grep -qx "  - message: \"another rule\"" y
'
expect_success 'variants: one instance each, named area/name[variant]' '
	grep -qx "ok 12 - selftest/report\[split\]" out &&
	grep -qx "ok 13 - selftest/report\[packed\]" out &&
	grep -qx "# record DRV-2.7.5.2 \[driver\]: shown, not judged" out
'
expect_success 'the run goes on after a crash and a hang' 'grep -qx "ok 14 - selftest/after" out'
# TAP 14: a YAML block follows its test line at once; a crash after a
# finding puts both messages in it.
expect_success 'a crash after a finding: its YAML right below the test line' '
	grep -A1 "^not ok 15 - selftest/crash-after-finding # crash" out | tail -1 | grep -qx "  ---" &&
	yaml_of selftest/crash-after-finding |
		grep -q "^message: \"killed by signal SIGSEGV.*; 2 rules broken"
'
expect_success 'the crash and hang processes were all seen' 'test "$(wc -l <"$VT_SELFTEST_PIDS")" = 3'
expect_success 'no test process is left, not even a zombie' '
	grep -qx "# no child process left" out &&
	while read -r pid; do
		if kill -0 "$pid" 2>/dev/null; then
			echo "process $pid is still there: $(ps -o pid=,stat=,comm= -p "$pid")"
			exit 1
		fi
	done <"$VT_SELFTEST_PIDS"
'
expect_success 'no file left in the working directory' '
	test -z "$(ls -A | grep -Ev "^(out|err|rc|pids|y|\.test-output)\$")"
'
expect_success 'run by this prove, the stream parses as TAP' '
	hv=$(perl -MTest::Harness -e "print \$Test::Harness::VERSION") &&
	{ HARNESS_ACTIVE=1 HARNESS_VERSION=$hv "$RUNNER" >tapp 2>/dev/null || true; } &&
	{ prove -e cat ./tapp >p 2>&1 || true; } &&
	grep -q "Failed 9/15 subtests" p && ! grep -q "Parse errors" p
'

expect_success 'an unknown clause: one line, exit 2, nothing run' '
	rc=0; "$RUNNER" --bad-clause >o 2>e || rc=$?
	test "$rc" = 2 && one_line e &&
	grep -qx "vcts: test '\''bad/unknown-clause'\'' cites unknown clause '\''DRV-99.99.99'\''" e &&
	! grep -q "^ok\|^not ok\|^1\.\." o
'
expect_success 'a filter matching nothing: one line, exit 2' '
	rc=0; "$RUNNER" --filter "no/such-*" >o 2>e || rc=$?
	test "$rc" = 2 && one_line e && grep -qx "vcts: no test matches '\''no/such-\*'\''" e
'
expect_success 'passing tests only: exit 0' '
	"$RUNNER" --filter selftest/pass --filter "selftest/report*" >o 2>e &&
	test "$(sed -n 2p o)" = "1..3"
'
expect_success 'filters are globs, excludes remove' '
	"$RUNNER" --filter "selftest/report*" --exclude "*packed*" >o 2>e &&
	test "$(grep -c "^ok " o)" = 1 && grep -qx "ok 1 - selftest/report\[split\]" o
'
expect_success 'an exact name with brackets is a filter too' '
	"$RUNNER" --filter "selftest/report[packed]" >o 2>e &&
	grep -qx "ok 1 - selftest/report\[packed\]" o
'
expect_success 'the timeout scales' '
	rc=0; "$RUNNER" --filter selftest/hang --timeout-scale 2 >o 2>e || rc=$?
	test "$rc" = 1 && grep -q "no result within 600 ms" o
'
expect_success '--progress goes to stderr only' '
	"$RUNNER" --progress --filter selftest/pass --filter selftest/after >o 2>e &&
	grep -qx "\[1/2\] selftest/pass" e && grep -qx "\[2/2\] selftest/after" e &&
	! grep -q "^\[" o
'
expect_success 'list mode: one aligned line per instance, nothing run' '
	"$RUNNER" --list >o 2>e &&
	test "$(grep -c "^selftest/" o)" = 15 &&
	grep -Eqx "selftest/report\[packed\] +driver +vhost-user +DRV-2.7.5.2" o &&
	test "$(grep "^selftest/" o | awk "{ print index(\$0, \" driver \") + index(\$0, \" device \") }" | sort -u | wc -l)" = 1
'
expect_success 'a runner killed mid-test leaves no test behind' '
	: >pids2
	VT_SELFTEST_PIDS=$TMP/pids2 "$RUNNER" --filter selftest/hang --timeout-scale 100 >o 2>e &
	runner=$!
	for _ in $(seq 100); do test "$(wc -l <pids2)" = 2 && break; sleep 0.05; done
	test "$(wc -l <pids2)" = 2
	kill -9 "$runner"; wait "$runner" || true
	test_pid=$(sed -n 1p pids2)
	grandchild=$(sed -n 2p pids2)
	rc=0; dead "$test_pid" || rc=1
	# the grandchild outlives a SIGKILLed runner: that is documented, clean it up
	kill -9 "$grandchild" 2>/dev/null || true
	test "$rc" = 0
'
expect_success 'a runner stopped by SIGTERM takes the whole test group along' '
	: >pids3
	mkdir -p stopped
	TMPDIR=$TMP/stopped VT_SELFTEST_PIDS=$TMP/pids3 "$RUNNER" --filter selftest/hang \
		--timeout-scale 100 >o 2>e &
	runner=$!
	for _ in $(seq 100); do test "$(wc -l <pids3)" = 2 && break; sleep 0.05; done
	test "$(wc -l <pids3)" = 2
	kill -TERM "$runner"; wait "$runner" || true
	rc=0
	while read -r pid; do
		dead "$pid" || { kill -9 "$pid"; rc=1; }
	done <pids3
	test "$rc" = 0
'
ok_if '...and its test directory' sh -c '! ls -d "$TMP"/stopped/vcts-test.* 2>/dev/null | grep -q .'
expect_success 'the version line is 13 for a prove older than 3.48, else 14' '
	HARNESS_ACTIVE=1 HARNESS_VERSION=3.44 "$RUNNER" --filter selftest/pass >o &&
	test "$(sed -n 1p o)" = "TAP version 13" &&
	HARNESS_ACTIVE=1 HARNESS_VERSION=3.48 "$RUNNER" --filter selftest/pass >o &&
	test "$(sed -n 1p o)" = "TAP version 14"
'
