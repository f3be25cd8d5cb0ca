#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/41-pci-check.t - the virtio-pci layout checker (vcts pci): images
# captured from QEMU's devices pass, and every finding bites: each
# hand-broken copy of a captured image fails with exactly the clause its
# breakage names.  Also vcts pci on this machine's own functions.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

need_build vcts
unset HARNESS_ACTIVE HARNESS_VERSION

if ! command -v "${VCTS_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1; then
	skip_all "${VCTS_QEMU:-qemu-system-x86_64} not found: no image to capture"
fi

plan 43

# ---- the image format: 16 lines "OO: b0 ... b15", then "bar N SIZE KIND" ----

# The byte (two hex digits) at offset $2 of image $1.
getb() {
	awk -v o="$(($2))" 'NR == int(o / 16) + 1 { print $(o % 16 + 2); exit }' "$1"
}

# Overwrite bytes of image $1 from offset $2 with the hex bytes that follow.
setb() {
	local f=$1 off=$(($2))
	shift 2
	awk -v o="$off" -v bytes="$*" '
		BEGIN { n = split(bytes, b, " "); for (i = 1; i <= n; i++) v[o + i - 1] = b[i] }
		NR <= 16 { for (i = 0; i < 16; i++) { k = (NR - 1) * 16 + i; if (k in v) $(i + 2) = v[k] } }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
}

# Offset of the first virtio capability of cfg_type $2 in image $1 (or of
# the MSI-X capability for $2 = msix).
cap_pos() {
	local img=$1 want=$2 pos n=0 id
	pos=$((0x$(getb "$img" 0x34)))
	while [ "$pos" -ne 0 ] && [ "$n" -lt 48 ]; do
		id=$(getb "$img" "$pos")
		if [ "$want" = msix ]; then
			[ "$id" = 11 ] && { echo "$pos"; return 0; }
		elif [ "$id" = 09 ] && [ $((0x$(getb "$img" $((pos + 3))))) -eq "$want" ]; then
			echo "$pos"
			return 0
		fi
		pos=$((0x$(getb "$img" $((pos + 1)))))
		n=$((n + 1))
	done
	echo "no capability $want in $img" >&2
	return 1
}

hex() { printf '%02x' "$(($1))"; }

# A fresh copy of the captured virtio-blk image to break.
fresh() { cp img.blk "$1"; }

# vcts pci --image $1 fails (status 1) and names clause $2 in its YAML.
bites() {
	local rc=0
	"$VCTS" pci --image "$1" >out 2>err || rc=$?
	cat out err
	test "$rc" -eq 1 && grep -q "rule: \"$2\"" out
}

# ---- captured from QEMU: every device passes ----

for t in blk net rng serial blk-packed blk-intx; do
	expect_success "QEMU $t: the live function passes, its image is saved" "
		\"\$VCTS\" pci --qemu $t --dump \"\$TMP/img.$t\" >out &&
		grep -q '^1\.\.1\$' out && grep -q '^ok 1 - qemu $t ' out
	"
done
expect_success 'the saved images pass as files too' '
	for t in blk net rng serial blk-packed blk-intx; do
		"$VCTS" pci --image img.$t >out && grep -q "^ok 1 - img.$t 1af4:104" out
	done
'
expect_success 'an image without BAR lines is judged, saying what it could not check' '
	grep -v "^bar " img.blk >nobars &&
	"$VCTS" pci --image nobars >out && grep -q "^ok 1" out && grep -qi "BAR sizes unknown" out
'

# ---- identity (4.1.2) ----

expect_success 'a vendor other than 0x1AF4: DEV-4.1.2.1' '
	fresh b && setb b 0 34 12 && bites b DEV-4.1.2.1
'
expect_success 'a device ID outside both ranges: DEV-4.1.2.1' '
	fresh b && setb b 2 10 10 && bites b DEV-4.1.2.1
'
expect_success 'a transitional ID of the table is accepted' '
	fresh b && setb b 2 01 10 && "$VCTS" pci --image b >out && grep -q "^ok 1" out
'
expect_success 'revision 0 of a non-transitional device: advice only (SHOULD)' '
	fresh b && setb b 8 00 && "$VCTS" pci --image b >out &&
	grep -q "^ok 1" out && grep -q "advice DEV-4.1.2.1: .*Revision ID 0" out
'
expect_success 'subsystem device ID below 0x40: advice only (SHOULD)' '
	fresh b && setb b 0x2e 02 00 && "$VCTS" pci --image b >out &&
	grep -q "^ok 1" out && grep -q "advice DEV-4.1.2.1: .*Subsystem Device ID" out
'

# ---- header and capability list (DEV-4.1.1) ----

expect_success 'a header type other than 0: DEV-4.1.1' '
	fresh b && setb b 0x0e 01 && bites b DEV-4.1.1
'
expect_success 'no Capabilities List bit: DEV-4.1.1' '
	fresh b && setb b 6 00 00 && bites b DEV-4.1.1
'
expect_success 'a capability pointer not dword aligned: DEV-4.1.1' '
	fresh b && setb b 0x34 "$(hex $((0x$(getb b 0x34) + 1)))" && bites b DEV-4.1.1
'
expect_success 'a capability list that loops: DEV-4.1.1' '
	fresh b && c=$(cap_pos b 1) && setb b $((c + 1)) "$(getb b 0x34)" && bites b DEV-4.1.1
'
expect_success 'an MSI-X table outside its BAR: DEV-4.1.1' '
	fresh b && m=$(cap_pos b msix) && setb b $((m + 4)) 01 00 10 00 && bites b DEV-4.1.1
'
expect_success 'an MSI-X table of one entry: advice only (SHOULD at least 2)' '
	fresh b && m=$(cap_pos b msix) && setb b $((m + 2)) 00 &&
	"$VCTS" pci --image b >out && grep -q "advice DEV-4.1.5.1.2.1" out
'

# ---- the virtio structures (4.1.4) ----

expect_success 'a cap_len short of the notification structure: DEV-4.1.4.2' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 2)) 10 && bites b DEV-4.1.4.2
'
expect_success 'no common configuration capability: DEV-4.1.4.3.1' '
	fresh b && c=$(cap_pos b 1) && setb b $((c + 3)) 0a && bites b DEV-4.1.4.3.1
'
expect_success 'common configuration offset not 4-byte aligned: DEV-4.1.4.3.1' '
	fresh b && c=$(cap_pos b 1) && setb b $((c + 8)) 02 && bites b DEV-4.1.4.3.1
'
expect_success 'common configuration shorter than its fields: DEV-4.1.4.3.1' '
	fresh b && c=$(cap_pos b 1) && setb b $((c + 12)) 20 00 00 00 && bites b DEV-4.1.4.3.1
'
expect_success 'common configuration in a BAR the function lacks: DEV-4.1.4.3.1' '
	fresh b && c=$(cap_pos b 1) && setb b $((c + 4)) 02 && bites b DEV-4.1.4.3.1
'
expect_success 'no notification capability: DEV-4.1.4.4.1' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 3)) 0a && bites b DEV-4.1.4.4.1
'
expect_success 'notify_off_multiplier not an even power of 2: DEV-4.1.4.4.1' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 16)) 03 00 00 00 && bites b DEV-4.1.4.4.1
'
expect_success 'notify_off_multiplier 1: DEV-4.1.4.4.1' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 16)) 01 00 00 00 && bites b DEV-4.1.4.4.1
'
expect_success 'notification offset not 2-byte aligned: DEV-4.1.4.4.1' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 8)) 01 && bites b DEV-4.1.4.4.1
'
expect_success 'a notification structure of one byte: DEV-4.1.4.4.1' '
	fresh b && c=$(cap_pos b 2) && setb b $((c + 12)) 01 00 00 00 && bites b DEV-4.1.4.4.1
'
expect_success 'structures past the end of a shrunken BAR: DEV-4.1.4.4.1' '
	fresh b && sed -i "s/^bar 4 0x4000 /bar 4 0x1000 /" b && grep -q "^bar 4 0x1000 " b &&
	bites b DEV-4.1.4.4.1
'
expect_success 'no ISR status capability: DEV-4.1.4.5.1' '
	fresh b && c=$(cap_pos b 3) && setb b $((c + 3)) 0a && bites b DEV-4.1.4.5.1
'
expect_success 'a block device without device configuration: DEV-4.1.4.6.1' '
	fresh b && c=$(cap_pos b 4) && setb b $((c + 3)) 0a && bites b DEV-4.1.4.6.1
'
expect_success 'an entropy device may go without one' '
	cp img.rng r && c=$(cap_pos r 4) && setb r $((c + 3)) 0a &&
	"$VCTS" pci --image r >out && grep -q "^ok 1" out
'
expect_success 'device configuration offset not 4-byte aligned: DEV-4.1.4.6.1' '
	fresh b && c=$(cap_pos b 4) && setb b $((c + 8)) 02 && bites b DEV-4.1.4.6.1
'
expect_success 'no PCI configuration access capability: DEV-4.1.4.9.1' '
	fresh b && c=$(cap_pos b 5) && setb b $((c + 3)) 0a && bites b DEV-4.1.4.9.1
'
expect_success 'vendor data naming vendor 0x1AF4: DEV-4.1.4.8.1' '
	fresh b && c=$(cap_pos b 5) && setb b $((c + 3)) 09 f4 1a && bites b DEV-4.1.4.8.1
'
expect_success 'vendor data not a multiple of 4 bytes: DEV-4.1.4.8.1' '
	fresh b && c=$(cap_pos b 5) && setb b $((c + 2)) 13 09 00 10 && bites b DEV-4.1.4.8.1
'
# Two shared memory regions with the same id, appended to the list in the
# free space at 0xc0 and 0xd8 (struct virtio_pci_cap64, 24 bytes each).
expect_success 'shared memory regions sharing an id: DEV-4.1.4.7.1' '
	fresh b &&
	setb b 0xc0 09 d8 18 08 04 07 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 &&
	setb b 0xd8 09 "$(getb b 0x34)" 18 08 04 07 00 00 00 00 02 00 00 01 00 00 00 00 00 00 00 00 00 00 &&
	setb b 0x34 c0 && bites b DEV-4.1.4.7.1
'
expect_success 'a shared memory region past its BAR: DEV-4.1.4.7.1' '
	fresh b &&
	setb b 0xc0 09 "$(getb b 0x34)" 18 08 04 01 00 00 00 30 00 00 00 20 00 00 00 00 00 00 00 00 00 00 &&
	setb b 0x34 c0 && bites b DEV-4.1.4.7.1
'

# ---- the parser ----

expect_success 'a malformed image line: usage error, exit 2' '
	fresh b && echo "10: zz" >>b && rc=0 && "$VCTS" pci --image b >out 2>err || rc=$?
	test "$rc" -eq 2 && grep -q "malformed" err && test ! -s out
'

# ---- this machine ----

expect_success 'vcts pci: TAP for every virtio function here, or a skip' '
	rc=0 && "$VCTS" pci >out 2>err || rc=$?
	cat out err && test "$rc" -le 1 && grep -Eq "^1\.\.([1-9][0-9]*|0 # SKIP no virtio PCI function found)$" out
'
expect_success 'vcts pci SLOT with no virtio function there: a skip' '
	"$VCTS" pci 0000:ff:1f.7 >out && grep -qx "1..0 # SKIP no virtio PCI function found" out
'
expect_success 'vcts pci with a bad slot: exit 2' '
	rc=0 && "$VCTS" pci not-a-slot >out 2>err || rc=$?
	test "$rc" -eq 2 && grep -q "bad slot" err
'
