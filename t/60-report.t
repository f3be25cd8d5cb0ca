#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vcts report: small TAP fixtures (a passing run, a failing one with a YAML
# block, two reduced matrices, a profile diff, a guest-like file) make a
# page whose failure shows its clause, expected, got, address and the
# command that runs it again (which does run it), whose heat maps have the
# squares and colours the axes imply, whose coverage matches a hand count,
# and whose JUnit files prove made count the failures; bad input is one
# line naming FILE:LINE and exit status 2.  Last, a person's look: the page
# rendered by headless Chromium, with no console errors.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
plan 27

mkdir -p in out
cat >in/suites.tap <<'EOF'
TAP version 14
1..4
ok 1 - status/driver-init-sequence[split]
ok 2 - status/driver-init-sequence[packed]
ok 3 - status/device-reset[idle]
ok 4 - config/device-readable-before-features-ok[blk-split] # SKIP no blk device here
EOF
cat >in/failing.tap <<'EOF'
TAP version 14
1..3
ok 1 - features/driver-accepts-offered-subset[version-1-only]
# implementation: qemu 7.2.22
not ok 2 - features/device-refuses-unoffered-bit[blk]
  ---
  message: "device accepted <b>&bad</b> features it never offered"
  rule: "DEV-2.2.2"
  section: "2.2.2 Device Requirements: Feature Bits"
  who: "device"
  expected: "FEATURES_OK cleared"
  got: "FEATURES_OK kept, 0x1000000000"
  address: "0x7f000"
  gpa: "0x7f000"
  page: "0x7f"
  ...
not ok 3 - status/device-needs-reset-notifies[split] # TODO xfail: a known difference
EOF
cat >in/guest.tap <<'EOF'
TAP version 14
1..2
# Subtest: guest/q35/blk
    ok 1 - driver-bound
    1..1
ok 1 - guest/q35/blk
# Subtest: guest/q35-secure/rng
    # linux-6.1 expects driver-refuses
    not ok 1 - status
      ---
      message: "the driver drove a device without ACCESS_PLATFORM"
      rule: "DRV-6.1"
      who: "driver"
      expected: "FAILED set"
      got: "DRIVER_OK"
      ...
    1..1
not ok 2 - guest/q35-secure/rng
EOF
# strict-cc: ap-offer 2 x prop-offer 2 x secure 2 rows, translation 2
# columns, two devices per square: 16 squares; the 8 with prop-offer=yes
# skip (no proposal), the other 8 pass, 2 of them driver-refuses.
"$VCTS" matrix --profile strict-cc --axis ap-offer=no,yes --axis ap-accept=yes \
	--axis prop-offer=no,yes --axis prop-accept=no --axis secure=off,on \
	--axis translation=none,iommu48 --axis width=64 --axis ring=split \
	--axis event-idx=off --axis indirect=off --axis device=blk,echo --quiet \
	>in/matrix-strict-cc.tap
# spec-1.4: ap-accept 2 x secure 2 rows, one column: the 2 secure squares
# are hazards (TODO), the other 2 pass.
"$VCTS" matrix --profile spec-1.4 --axis ap-offer=no --axis ap-accept=no,yes \
	--axis prop-offer=no --axis prop-accept=no --axis secure=off,on --axis translation=none \
	--axis width=64 --axis ring=split --axis event-idx=off --axis indirect=off \
	--axis device=blk --quiet >in/matrix-spec-1.4.tap
diffsel=(--axis translation=none --axis width=64 --axis ring=split --axis event-idx=off
	 --axis indirect=off --axis device=blk --quiet)
"$VCTS" matrix --diff identity-address no-translation "${diffsel[@]}" --format table \
	>in/matrix-diff-identity-address-no-translation.txt
"$VCTS" matrix --diff identity-address no-translation "${diffsel[@]}" \
	>in/matrix-diff-identity-address-no-translation.tap

expect_success 'report writes the page, the coverage and one JUnit file per TAP file' '
	"$VCTS" report --dir in --out out >stdout 2>stderr
	test -s out/index.html && test -s out/coverage.txt
	test "$(ls out/junit | wc -l)" -eq 6
	grep -q "from 6 TAP files" stdout
	test ! -s stderr
'
# the part of the page between two markers
section() {
	awk -v a="$1" -v b="$2" 'index($0, a) { on = 1 } on && index($0, b) && !index($0, a) { exit }
				 on' out/index.html
}
expect_success 'the summary counts every part by verdict' '
	section "id=\"summary\"" "</section>" >sum
	grep -q "<code>failing.tap</code></td><td>vcts run</td><td class=\"n\">3</td><td class=\"n\">1</td><td class=\"n c-fail\">1</td><td class=\"n z\">0</td><td class=\"n c-todo\">1</td>" sum
	grep -q "<code>matrix-strict-cc.tap</code></td><td>vcts matrix</td><td class=\"n\">32</td><td class=\"n\">16</td><td class=\"n z\">0</td><td class=\"n\">16</td>" sum
	grep -q "<code>matrix-spec-1.4.tap</code>.*<td class=\"n\">4</td><td class=\"n\">2</td>.*<td class=\"n c-todo\">2</td>" sum
	grep -q "verdict: <span class=\"badge v-fail\">FAIL" out/index.html
'
expect_success 'the failure shows its clause with label and section, expected, got, address' '
	section "id=\"f-failing-2\"" "</pre>" >f
	grep -q "<b>DEV-2.2.2</b> &mdash; 2.2.2 Device Requirements: Feature Bits" f
	grep -q "devicenormative:Basic Facilities of a Virtio Device / Feature Bits" f
	grep -q "<dd class=\"expected\">FEATURES_OK cleared</dd>" f
	grep -q "<dd class=\"got\">FEATURES_OK kept, 0x1000000000</dd>" f
	grep -q "<dt>address</dt><dd class=\"v\">0x7f000</dd>" f
	grep -q "<dt>page</dt><dd class=\"v\">0x7f</dd>" f
	grep -q "implementation: qemu 7.2.22" f
'
expect_success 'everything from the TAP is HTML-escaped' '
	grep -q "device accepted &lt;b&gt;&amp;bad&lt;/b&gt; features" out/index.html
	! grep -q "<b>&bad" out/index.html
'
expect_success 'the failure says how to run it again, and that command runs exactly it' '
	grep -q "<pre class=\"cmd\">build/vcts run --filter &#39;features/device-refuses-unoffered-bit\[blk\]&#39;</pre>" out/index.html
	grep -q "<pre class=\"cmd\">build/vcts guest --filter guest/q35-secure/rng</pre>" out/index.html
	cmd=$(grep -o "<pre class=\"cmd\">build/vcts matrix --profile spec-1.4 [^<]*device=blk</pre>" out/index.html |
	      head -n 1 | sed -e "s/<[^>]*>//g")
	test -n "$cmd"
	eval "\"\$VCTS\" ${cmd#build/vcts }" >one.tap
	grep -qx "1..1" one.tap
	grep -q "^ok 1 - ap-offer=no ap-accept=no prop-offer=no prop-accept=no secure=on translation=none width=64 " one.tap
'
expect_success 'the guest failure shows the subtest, its clause and expectation' '
	section "id=\"f-guest-2\"" "</pre>" >g
	grep -q "linux-6.1 expects driver-refuses" g
	grep -q "subtest <code>status</code> <span class=\"badge v-fail\">" g
	grep -q "<b>DRV-6.1</b> &mdash; 6.1 Driver Requirements: Reserved Feature Bits" g
'
expect_success 'strict-cc heat map: 16 squares, 8 passed, 8 skipped, 2 refusing, no links' '
	section "<h3 id=\"mx-strict-cc\">" "<h3 " >sc
	test "$(grep -o "<rect class=\"cell " sc | wc -l)" -eq 16
	test "$(grep -o "<rect class=\"cell v-pass\"" sc | wc -l)" -eq 8
	test "$(grep -o "<rect class=\"cell v-skip\"" sc | wc -l)" -eq 8
	test "$(grep -o ">drv</text>" sc | wc -l)" -eq 2
	! grep -q "<a href=" sc
	grep -q "Rows: ap-offer &times; ap-accept &times; prop-offer &times; prop-accept &times; secure; columns: translation &times; width" sc
'
expect_success 'spec-1.4 heat map: 2 hazard squares linked to their details, 2 passed' '
	section "<h3 id=\"mx-spec-1_4\">" "<h3 id=\"mx-strict-cc\">" >sp
	test "$(grep -o "<rect class=\"cell " sp | wc -l)" -eq 4
	test "$(grep -o "<rect class=\"cell v-todo\"" sp | wc -l)" -eq 2
	test "$(grep -o "<rect class=\"cell v-pass\"" sp | wc -l)" -eq 2
	test "$(grep -o "<a href=\"#g-spec-1_4-r[0-9]*-c0\">" sp | wc -l)" -eq 2
	for id in $(grep -o "<a href=\"#g-spec-1_4-r[0-9]*-c0\">" sp | sed "s/.*#\(.*\)\">/\1/"); do
		grep -q "<div class=\"group\" id=\"$id\">" sp
	done
	grep -q "<title>ap-offer=no ap-accept=no prop-offer=no prop-accept=no secure=on" sp
	grep -q "1 cell: 1 todo" sp
	grep -q "<b>INV-unshared-access</b>" sp
'
expect_success 'the profile diff is a table with both profiles as columns' '
	section "<section id=\"diffs\">" "</section>" >df
	grep -q "<th>identity-address</th><th>no-translation</th>" df
	grep -q "<td>driver-refuses POL-cc-secure-refuses</td>" df
'
expect_success 'the page is self-contained: no script, no external resource' '
	! grep -qi "<script\|<link\|<img\|<iframe\|src=\|@import\|url(" out/index.html
	test "$(grep -o "https\?://[^\"]*" out/index.html | sort -u)" = "http://www.w3.org/2000/svg"
'

# Coverage by hand: suites.tap passes DRV-3.1.1 DRV-2.1.1 (x2) and
# DEV-2.4.1, skips DEV-2.5.2; failing.tap passes DRV-2.2.1 DRV-6.1, fails
# DEV-2.2.2 DRV-2.2.1 (the YAML names DEV-2.2.2 too), has a TODO on
# DEV-2.1.2; guest.tap's failure names DRV-6.1.  So: failed DRV-2.2.1
# DEV-2.2.2 DRV-6.1; known DEV-2.1.2; passed DRV-3.1.1 DRV-2.1.1
# DEV-2.4.1; skipped DEV-2.5.2.
# shellcheck disable=SC2034  # used inside the snippets
cited=$("$VCTS" clauses | grep -c "^D[RE][VR]-")
expect_success 'the fixture instances cite what the hand count assumes' '
	"$VCTS" list | awk "{ print \$1, \$4, \$5 }" >cites
	grep -qx "features/device-refuses-unoffered-bit\[blk\] DEV-2.2.2 DRV-2.2.1" cites
	grep -qx "features/driver-accepts-offered-subset\[version-1-only\] DRV-2.2.1 DRV-6.1" cites
	grep -qx "status/driver-init-sequence\[split\] DRV-3.1.1 DRV-2.1.1" cites
	grep -qx "status/device-needs-reset-notifies\[split\] DEV-2.1.2 " cites
	grep -qx "status/device-reset\[idle\] DEV-2.4.1 " cites
	grep -qx "config/device-readable-before-features-ok\[blk-split\] DEV-2.5.2 " cites
'
row() {   # ID STATUS PASS FAIL TODO SKIP NAMED
	awk -v id="$1" '$1 == id { print $3, $5, $6, $7, $9, $10 }' out/coverage.txt
}
expect_success 'coverage.txt: each clause of the fixture has the hand-counted verdicts' '
	test "$(row DRV-2.2.1)" = "failed 1 1 0 0 0/0"
	test "$(row DEV-2.2.2)" = "failed 0 1 0 0 1/0"
	test "$(row DRV-6.1)" = "failed 1 0 0 0 1/0"
	test "$(row DEV-2.1.2)" = "known 0 0 1 0 0/0"
	test "$(row DRV-3.1.1)" = "passed 2 0 0 0 0/0"
	test "$(row DRV-2.1.1)" = "passed 2 0 0 0 0/0"
	test "$(row DEV-2.4.1)" = "passed 1 0 0 0 0/0"
	test "$(row DEV-2.5.2)" = "skipped 0 0 0 1 0/0"
	test "$(grep -c "^D[RE][VR]-.* not-run " out/coverage.txt)" -eq $((cited - 8))
'
expect_success 'coverage.txt: the citing-test counts are those of vcts clauses' '
	for id in DRV-2.2.1 DEV-2.2.2 DEV-2.1.2 DRV-3.1.1; do
		want=$("$VCTS" clauses | awk -v id="$id" "\$1 == id { print \$3 }")
		test "$(awk -v id="$id" "\$1 == id { print \$4 }" out/coverage.txt)" = "$want"
	done
'
expect_success 'coverage.txt: totals per role and overall match the hand count' '
	total=$(grep -c "^D[RE][VR]-" "$VCTS_SPEC_DIR/normative-sections.tsv")
	grep -qx "# clause coverage: $total normative sections, $cited cited by tests; 3 failed, 1 known, 3 passed, 1 skipped, $((cited - 8)) not run, $((total - cited)) not cited" out/coverage.txt
	drv=$(grep -c "^DRV-" "$VCTS_SPEC_DIR/normative-sections.tsv")
	awk "\$1 == \"driver\"" out/coverage.txt >d
	test "$(awk "{ print \$2, \$4, \$5, \$6, \$7 }" d)" = "$drv 2 0 2 0"
	awk "\$1 == \"device\"" out/coverage.txt >v
	test "$(awk "{ print \$4, \$5, \$6, \$7 }" v)" = "1 1 1 1"
	grep -Eq "^3 General Initialization And Device Operation +[0-9]+ +[0-9]+ +0 +0 +1 +0 " out/coverage.txt
	grep -Eq "^6 Reserved Feature Bits +[0-9]+ +[0-9]+ +1 +0 +0 +0 " out/coverage.txt
'
expect_success 'the page has the same coverage numbers' '
	grep -q "<tr id=\"c-DEV-2_2_2\"><td><code>DEV-2.2.2</code></td><td>device</td><td class=\"c-fail\">failed</td>" out/index.html
	grep -q "<tr id=\"c-DEV-2_1_2\"><td><code>DEV-2.1.2</code></td><td>device</td><td class=\"c-todo\">known</td>" out/index.html
'

# JUnit: made by prove; the TODO is no failure, the others count.
failures() {
	grep -o "failures=\"[0-9]*\"" "out/junit/$1.xml" | head -n 1 | tr -dc 0-9
}
expect_success 'the JUnit files are well formed and count the failures' '
	for x in out/junit/*.xml; do xmllint --noout "$x"; done
	test "$(failures failing)" = 1
	test "$(failures guest)" = 1
	test "$(failures suites)" = 0
	test "$(failures matrix-spec-1.4)" = 0
	grep -q "tests=\"32\"" out/junit/matrix-strict-cc.xml
'
expect_success 'a report run again leaves JUnit files newer than their TAP alone' '
	before=$(stat -c %Y.%y out/junit/suites.xml)
	"$VCTS" report --dir in --out out >/dev/null
	test "$(stat -c %Y.%y out/junit/suites.xml)" = "$before"
	touch in/suites.tap
	sleep 0.01
	"$VCTS" report --dir in --out out >/dev/null
	test "$(stat -c %Y.%y out/junit/suites.xml)" != "$before"
'
mkdir -p fakebin
cat >fakebin/prove <<'EOF'
#!/bin/sh
echo "Can't load TAP::Formatter::JUnit: Can't locate TAP/Formatter/JUnit.pm in @INC" >&2
exit 2
EOF
chmod +x fakebin/prove
expect_success 'a prove without the JUnit formatter: one line naming the package, exit 2' '
	rm -rf out2
	rc=0
	PATH=$TMP/fakebin:$PATH "$VCTS" report --dir in --out out2 2>err || rc=$?
	test "$rc" -eq 2
	one_line err
	grep -q "libtap-formatter-junit-perl" err
'
expect_success 'no prove at all: one line, exit 2' '
	rc=0
	PATH=/nonexistent "$VCTS" report --dir in --out out2 2>err || rc=$?
	test "$rc" -eq 2
	one_line err
	grep -q "prove not found" err
'

# bad input: DIR FILE-CONTENT EXPECTED-MESSAGE
bad_input() {
	expect_success "bad input, $1: one line naming it, exit 2, the last page kept" '
		rm -rf bad && mkdir bad
		printf "%b" "'"$2"'" >bad/x.tap
		cp out/index.html keep.html
		rc=0
		"$VCTS" report --dir bad --out out --no-junit 2>err || rc=$?
		test "$rc" -eq 2
		one_line err
		grep -q "^vcts: report: bad/x.tap:'"$3"'" err
		cmp -s keep.html out/index.html
	'
}
bad_input 'an empty file' '' '1: empty TAP file'
bad_input 'no version line' '1..1\nok 1\n' "1: expected 'TAP version 13' or 'TAP version 14'"
bad_input 'a line that is not TAP' 'TAP version 14\n1..2\nok 1 - a\nhello world\n' \
	"4: not a TAP line: 'hello world'"
bad_input 'a number out of sequence' 'TAP version 14\n1..2\nok 1 - a\nok 3 - b\n' \
	'4: test number 3 out of sequence (expected 2)'
bad_input 'an unclosed YAML block' 'TAP version 14\n1..1\nnot ok 1 - a\n  ---\n  rule: x\n' \
	"4: YAML block not closed by '...'"
expect_success 'a missing directory: one line, exit 2' '
	rc=0
	"$VCTS" report --dir nowhere 2>err || rc=$?
	test "$rc" -eq 2
	one_line err
	grep -q "^vcts: report: nowhere: No such file or directory" err
'

# A person's look: the page as Chromium renders it.
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
	skip 'Chromium renders the page' 'chromium not installed (make deps installs it)'
	skip 'Chromium builds the heat maps from the page' 'chromium not installed'
else
	chrome_run() {
		timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run \
			--user-data-dir="$TMP/chrome" --window-size=1280,2000 "$@" \
			"file://$TMP/out/index.html"
	}
	expect_success 'Chromium renders the page: a real screenshot, no console errors' '
		chrome_run --enable-logging=stderr --v=0 --screenshot="$TMP/page.png" \
			>shot.out 2>shot.err
		test "$(stat -c %s page.png)" -gt 20000
		! grep -i "CONSOLE\|Uncaught\|SyntaxError" shot.err
	'
	expect_success 'Chromium builds the heat maps from the page: every square is there' '
		chrome_run --dump-dom >dom.html 2>/dev/null
		test "$(grep -o "<rect class=\"cell " dom.html | wc -l)" -eq 20
		grep -q "<svg class=\"heat\"" dom.html
	'
fi
