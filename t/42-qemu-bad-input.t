#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A QEMU that cannot give us the device, or never answers: a clear verdict
# naming the reason, a non-zero exit, no hang, nothing left running.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
plan 8

cat >fake-qemu-nodev <<'SH'
#!/bin/sh
echo "qemu-system-x86_64: -device virtio-blk-pci: 'virtio-blk-pci' is not a valid device model name" >&2
exit 1
SH
cat >fake-qemu-hang <<'SH'
#!/bin/sh
# not exec: the shell keeps this name in the process list for pgrep
sleep 600
SH
chmod +x fake-qemu-nodev fake-qemu-hang

expect_success 'QEMU without the device: the test is BROKEN with QEMU'"'"'s reason' '
	rc=0
	VCTS_QEMU=$TMP/fake-qemu-nodev "$VCTS" run --filter "qemu/status[[]blk]" >out 2>err || rc=$?
	test "$rc" -eq 1
	grep -q "^not ok 1 - qemu/status\[blk\] # BROKEN .*not a valid device model name" out
'
expect_success 'QEMU that never opens its qtest socket: BROKEN within the deadline' '
	rc=0
	start=$(date +%s)
	VCTS_QEMU=$TMP/fake-qemu-hang timeout 60 "$VCTS" run --filter "qemu/status[[]blk]" >out 2>err || rc=$?
	test "$rc" -eq 1
	test $(( $(date +%s) - start )) -lt 30
	grep -q "^not ok 1 - qemu/status\[blk\] # " out
'
ok_if 'the hanging QEMU was killed' sh -c '! pgrep -f "$TMP/fake-qemu-hang" >/dev/null'
expect_success 'a QEMU binary that is not there: SKIP naming it' '
	VCTS_QEMU=$TMP/no-such-qemu "$VCTS" run --filter "qemu/status[[]blk]" >out 2>err
	grep -q "^ok 1 - qemu/status\[blk\] # SKIP .*no-such-qemu not found" out
'
expect_success 'pci --qemu with an unknown target: one line, exit 2' '
	rc=0
	"$VCTS" pci --qemu no-such-target >out 2>err || rc=$?
	test "$rc" -eq 2
	one_line err
'
ok_if 'no test directory left behind' sh -c '! ls -d "$TMP"/vcts-test.* 2>/dev/null | grep -q .'
# Interrupted: `vcts guest` killed while its QEMU runs takes the QEMU, the
# worker that waits for it and its private directory with it.  (The first
# guest run may build the kernel: up to five minutes for the QEMU to start.)
expect_success 'vcts guest killed mid-run: nothing left running' '
	mkdir -p killed
	VCTS_ACCEL=tcg VCTS_QEMU=$TMP/fake-qemu-hang TMPDIR=$TMP/killed \
		"$VCTS" guest --filter "guest/q35/blk" >out 2>err &
	pid=$!
	n=0
	until pgrep -f "$TMP/fake-qemu-hang" >/dev/null; do
		n=$((n + 1))
		test "$n" -lt 3000 || { kill -KILL "$pid"; false; }
		sleep 0.1
	done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	test "$rc" -eq 143
	n=0
	while pgrep -f "$TMP/fake-qemu-hang" >/dev/null; do
		n=$((n + 1))
		test "$n" -lt 50
		sleep 0.1
	done
'
ok_if 'and no private directory left behind' sh -c '! ls -d "$TMP"/killed/vcts.* 2>/dev/null | grep -q .'
