#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The platform-access matrix: a reduced matrix under every shipped profile
# gives the verdict counts the rules imply (worked out by hand in the
# comments), every mutant of the platform rules is caught with its rule,
# the profile diff shows where the two proposals disagree, and bad input
# is one clear line with exit status 2 and nothing run.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
plan 33

# 4 ACCESS_PLATFORM x 4 proposal x 2 secure x 3 translation x 2 width x
# 2 ring x 2 device = 768 cells; event index and indirect on.
# shellcheck disable=SC2034,SC2054  # used inside the snippets; commas are values
reduced=(--axis translation=none,iommu39,identity --axis width=32,64
	 --axis event-idx=on --axis indirect=on --jobs 2)

# counts PROFILE "LINE": the run passes and its summary line is LINE.
counts() {
	local p=$1 want=$2
	expect_success "matrix $p: $want" '
		"$VCTS" matrix --profile '"$p"' "${reduced[@]}" >'"$p"'.tap 2>err
		grep -qx "# matrix '"$p"': 768 cells: '"$want"'; 0 failed" '"$p"'.tap
		test "$(grep -c "^ok " '"$p"'.tap)" -eq 768
	'
}

# Without a proposal the prop-* axes can only be "no": 576 cells skip.
# spec-1.4: a secure guest proceeds without ACCESS_PLATFORM (3 of the 4
# ap-offer/ap-accept pairs x 3 x 2 x 2 x 2 = 72 hazards).
counts spec-1.4 '192 live, 0 driver-refuses, 0 device-refuses, 576 skip, 72 hazard'
# strict-cc: those 72 refuse in the driver; a device offering it to a
# driver that does not know it refuses when translated (2 x 2 x 2 x 2 = 16).
counts strict-cc '104 live, 72 driver-refuses, 16 device-refuses, 576 skip, 0 hazard'
# linux-6.1: refuses like strict-cc; QEMU's device refuses FEATURES_OK whenever
# it offers ACCESS_PLATFORM to a driver that does not know it (3 x 2 x 2 x 2
# = 24, 12 of them hazards before); a 64-bit DMA mask: width 32 gets high RAM
# unbounced (24 + 8 cells) or IOVAs above 2^32 from a 39-bit IOMMU (8).
counts linux-6.1 '96 live, 72 driver-refuses, 24 device-refuses, 576 skip, 40 hazard'
counts bounce-anyway '192 live, 0 driver-refuses, 0 device-refuses, 576 skip, 0 hazard'
# identity-address: 3 x 4 x 3 x 2 x 2 x 2 = 288 secure cells refuse.
# Not subject to the width, the 1:1 cells (no IOMMU or pass-through) of a
# 32-bit device see high RAM: 2 translations x 2 rings x 2 devices = 8.
counts identity-address '480 live, 288 driver-refuses, 0 device-refuses, 0 skip, 0 hazard'
# no-translation: NO_TRANSLATION confines the device too: 3 x 3 x 24 = 216.
counts no-translation '552 live, 216 driver-refuses, 0 device-refuses, 0 skip, 0 hazard'

expect_success 'a hazard shows its breach as TODO with the address and page' '
	grep -A8 "not ok 2 - INV-unshared-access # TODO profile permits it" spec-1.4.tap >h
	grep -q "rule: \"INV-unshared-access\"" h
	grep -q "page: \"0x" h
'
expect_success 'a parameter changes the verdicts: linux-6.1 respecting the width has no hazard' '
	"$VCTS" matrix --profile linux-6.1 --set driver.address-width=respect "${reduced[@]}" >o
	grep -q ": 768 cells: 96 live, 72 driver-refuses, 24 device-refuses, 576 skip, 0 hazard; 0 failed" o
'
expect_success 'identity not subject to the width: narrow devices see high RAM (hazards)' '
	"$VCTS" matrix --profile identity-address --set identity.width-limited=no \
		--filter "expect=hazard" "${reduced[@]}" >o
	grep -q "^# matrix identity-address: 8 cells: 8 live, .* 8 hazard; 0 failed" o
'
expect_success '--filter selects by axis and by expected outcome' '
	"$VCTS" matrix --profile strict-cc --filter "secure=on,expect=driver-refuses" \
		"${reduced[@]}" >o
	grep -q "^# matrix strict-cc: 72 cells: 0 live, 72 driver-refuses" o
	! grep "^ok .*secure=off" o
'

# Every mutant of the platform-access rules, clean and caught.
for m in drv-skip-bounce-secure drv-ring-private drv-above-width drv-remap-after-driver-ok \
	 drv-proposal-without-ap drv-nt-with-ap drv-gpa-for-iova drv-identity-incomplete \
	 dev-read-private \
	 dev-ignore-iommu dev-unmapped-iova dev-accept-without-ap dev-write-readonly; do
	expect_success "mutant $m is caught in its matrix cell, the clean cell passes" '
		"$VCTS" run --filter "mutant/'"$m"'*" >o
		test "$(grep -c "^ok [0-9]* - mutant/'"$m"'\[\(clean\|caught\)\]$" o)" -eq 2
	'
done

expect_success '--diff identity-address no-translation: the wordings disagree on confined cells' '
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" --format table >d
	grep -q "^192 of 768 cells differ between identity-address and no-translation, in 24 rows" d
	grep -q "^no verdict depends on: width, ring, device " d
	grep -E "^yes +yes +on +none +.*live AP\+prop identity +live prop gpa" d
	grep -E "^no +no +on +.*driver-refuses .*live prop gpa" d
'
expect_success '--diff as TAP: one passing test point per differing cell' '
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" >d.tap
	n=$(grep -c "^ok " d.tap)
	test "$n" -gt 0
	grep -q "^1\.\.$n$" d.tap
	! grep -q "^not ok" d.tap
'

# Bad input: one line on stderr naming the problem, exit 2, nothing run.
printf 'name broken\ntitle x\nproposal none\ndriver.secure-without-access-platform refuse\n' \
	>broken.profile
printf 'name contra\ntitle x\nproposal none\ndriver.secure-without-access-platform refuse POL-cc-secure-refuses\ndevice.refuse-without-access-platform never DEV-6.2\ndriver.address-width respect DRV-6.1\nidentity.width-limited yes PROP-ia-width\n' \
	>contra.profile
expect_success 'a malformed profile: FILE:LINE and exit 2' '
	rc=0
	"$VCTS" matrix --profile "$TMP/broken.profile" >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && test "$(wc -l <err)" -eq 1
	grep -q "broken.profile:4:" err
'
expect_success 'a contradictory profile: identity rules without the proposal' '
	rc=0
	"$VCTS" matrix --profile "$TMP/contra.profile" >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out
	grep -q "contra.profile:7:" err
'
expect_success 'an unknown profile' '
	rc=0
	"$VCTS" matrix --profile no-such-profile >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && grep -q "no-such-profile" err
'
expect_success 'an unknown axis names the axes' '
	rc=0
	"$VCTS" matrix --profile spec-1.4 --axis colour=red >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && grep -q "unknown axis .colour." err
'
expect_success 'an axis value that does not exist names the values' '
	rc=0
	"$VCTS" matrix --profile spec-1.4 --axis width=40 >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && grep -q "32, 39, 48, 64" err
'
expect_success 'a bad --filter term' '
	rc=0
	"$VCTS" matrix --profile spec-1.4 --filter "expect=maybe" >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && grep -q "maybe" err
'
expect_success 'a bad --set' '
	rc=0
	"$VCTS" matrix --profile spec-1.4 --set driver.address-width=sometimes >out 2>err || rc=$?
	test "$rc" -eq 2 && test ! -s out && grep -q "respect, ignore" err
'
expect_success 'a run stopped by SIGTERM leaves no worker running' '
	cp "$VCTS_SRCDIR/harness/matrix/profiles/identity-address.profile" "$TMP/"
	rc=0
	timeout -s TERM 1 "$VCTS" matrix --profile "$TMP/identity-address.profile" --jobs 2 \
		>/dev/null 2>&1 || rc=$?
	test "$rc" -ne 0
	sleep 0.3
	! pgrep -f "[v]cts matrix --profile $TMP/identity-address.profile"
'
