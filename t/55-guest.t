#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real Debian guests under QEMU: the Linux virtio driver judged per device
# against the linux-6.1 profile, three guests (no IOMMU, intel-iommu with
# 39- and 48-bit apertures) of ten devices each.  The checks must bite: a
# guest whose virtio_pci driver never loads fails every cell; a guest that
# misses its deadline is a verdict, not a hang, and leaves nothing behind.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts

# The kernel comes from Debian's mirror; a machine that cannot download it
# skips (the reason is shown), anything else that breaks the build fails.
rc=0
"$VCTS_SRCDIR/guests/build.sh" >build.out 2>build.err || rc=$?
if [ "$rc" -eq 2 ]; then
	skip_all "guest kernel unavailable: $(tail -n 1 build.err)"
fi
plan 8
ok_if 'the guest kernel and initramfs build' test "$rc" -eq 0

expect_success 'the default guest matrix: 30 cells, every one as linux-6.1 expects' '
	"$VCTS" guest >g.tap 2>g.err
	test "$(grep -c "^ok [0-9]* - guest/" g.tap)" -eq 30
	grep -q "^1\.\.30$" g.tap
'
expect_success 'a device offering ACCESS_PLATFORM: Linux negotiated bit 33' '
	sed -n "/Subtest: guest\/q35-iommu48\/blk-ap-packed$/,/^ok /p" g.tap >cell
	grep -q "linux-6.1 expects live, features 0x730000000; agent: driver virtio_blk, status 0xf, features 0x[0-9a-f]*7[0-9a-f]\{8\}," cell
	grep -q "^    ok [0-9] - io$" cell
'
expect_success 'every guest finished by itself, well inside its deadline' '
	test "$(grep -c "^# guest .*, agent done$" g.tap)" -eq 3
'
expect_success 'no virtio_pci driver in the guest: every cell fails, naming why' '
	rc=0
	VCTS_GUEST_APPEND=initcall_blacklist=virtio_pci_driver_init \
		"$VCTS" guest --filter "guest/q35/*" >nodrv.tap 2>/dev/null || rc=$?
	test "$rc" -eq 1
	test "$(grep -c "^not ok [0-9]* - guest/q35/" nodrv.tap)" -eq 10
	grep -q "message: \"expected live, driver .none.\"" nodrv.tap
'
expect_success 'a guest past its deadline: not ok with the reason, no QEMU left' '
	rc=0
	"$VCTS" guest --filter "guest/q35/blk" --timeout 1000 >late.tap 2>/dev/null || rc=$?
	test "$rc" -eq 1
	grep -q "^not ok 1 - guest/q35/blk$" late.tap
	grep -q "guest hit its deadline" late.tap
	! pgrep -f "[q]emu-system-x86_64 .*$TMP/" >/dev/null
'
expect_success 'a kernel version apt cannot download: SKIP with the reason' '
	"$VCTS" guest --kernel 6.1.0-999-amd64 >nokernel.tap 2>/dev/null
	grep -q "^1\.\.0 # SKIP .*6.1.0-999-amd64" nokernel.tap
'
expect_success 'a bad option: one line, exit 2' '
	rc=0
	"$VCTS" guest --colour blue >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && test "$(wc -l <err)" -eq 1
'
