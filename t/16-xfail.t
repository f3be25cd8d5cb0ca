#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Known differences as data (suites/xfail/*.tsv): a listed failure is an
# xfail, a listed pass is an xpass that fails the run, an intermittent
# entry lets a pass stay a pass, and a bad file is one clear error.
# Judged on QEMU's virtio-rng over qtest: status passes, features-hostile
# fails with DEV-2.2.2 (QEMU keeps FEATURES_OK with an unoffered bit).
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip_all "qemu-system-x86_64 not installed"
plan 7

mkdir xf
export VCTS_XFAIL_DIR=$TMP/xf
entry() { printf 'qemu\t7.2*\t%s\t%s\t%s\n' "$@" >xf/t.tsv; }

expect_success 'no entry: the failing test is a plain failure' '
	: >xf/t.tsv
	rc=0; "$VCTS" run --filter "qemu/features-hostile[[]rng]" >out 2>&1 || rc=$?
	test "$rc" -eq 1
	grep -q "^not ok 1 - qemu/features-hostile\[rng\]$" out
'
expect_success 'an entry on the clause it breaks: TODO xfail, run passes' '
	entry "qemu/features-hostile[[]rng]" DEV-2.2.2 "keeps FEATURES_OK"
	"$VCTS" run --filter "qemu/features-hostile[[]rng]" >out 2>&1
	grep -q "^not ok 1 - qemu/features-hostile\[rng\] # TODO xfail: keeps FEATURES_OK" out
'
expect_success 'an entry on another clause does not excuse the failure' '
	entry "qemu/features-hostile[[]rng]" DEV-2.4.1 "something else"
	rc=0; "$VCTS" run --filter "qemu/features-hostile[[]rng]" >out 2>&1 || rc=$?
	test "$rc" -eq 1
	! grep -q "TODO" out
'
expect_success 'an entry on a test that passes: XPASS fails the run' '
	entry "qemu/status[[]rng]" DEV-2.4.1 "was broken once"
	rc=0; "$VCTS" run --filter "qemu/status[[]rng]" >out 2>&1 || rc=$?
	test "$rc" -eq 1
	grep -q "^not ok 1 - qemu/status\[rng\] # XPASS known issue gone" out
'
expect_success 'an intermittent entry on a test that passes: still ok' '
	entry "qemu/status[[]rng]" DEV-2.4.1 "intermittent: shows now and then"
	"$VCTS" run --filter "qemu/status[[]rng]" >out 2>&1
	grep -q "^ok 1 - qemu/status\[rng\]$" out
'
expect_success 'a line with four fields: one line naming file and line, exit 2' '
	printf "qemu\t7.2*\tqemu/status*\tDEV-2.4.1\n" >xf/t.tsv
	rc=0; "$VCTS" run --filter "qemu/status[[]rng]" >out 2>err || rc=$?
	test "$rc" -eq 2
	one_line err
	grep -q "t.tsv:1:" err
'
expect_success 'an unknown clause: exit 2 naming file and line' '
	entry "qemu/status[[]rng]" DEV-99.9 "no such clause"
	rc=0; "$VCTS" run --filter "qemu/status[[]rng]" >out 2>err || rc=$?
	test "$rc" -eq 2
	grep -q "t.tsv:1:" err
'
