#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Shards made one run again.  Hand-made shards of small TAP files (a run
# with comments, YAML, a known issue and its summary; a guest run with its
# header and subtests; a real `vcts run`) merge back byte for byte, with
# `vcts merge` and inside `vcts report`, whose page and coverage are then
# those of the unsharded files; shards that are not one run are one line
# naming the file and exit status 2, as is a bad VCTS_SHARD for
# conformance.sh.  Then, with the real --shard: a run in 3 shards, a
# reduced matrix and a profile diff in 2 merge to the unsharded output and
# report, and two small guests split 2 ways merge to the unsharded verdicts.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
plan 25

# split_tap FILE N UNIT PREFIX [block]: PREFIX.shard-I-of-N.tap as --shard
# makes them: units (test points, or guests "guest/G/...") dealt
# round-robin (or in blocks, which --shard never does), points numbered
# anew, the vcts-shard line after the plan, a guest run's header in every
# shard, the "# pass ..." and "# xfail ..." summaries counted per shard.
split_tap() {
	awk -v N="$2" -v unit="$3" -v pre="$4" -v mode="${5:-rr}" '
	function outcome(l) {
		if (l ~ /^ok .*# SKIP/) return "skip"
		if (l ~ /^ok/) return "pass"
		if (l ~ /# TODO/) return "xfail"
		if (l ~ /# XPASS/) return "xpass"
		if (l ~ /# BROKEN/) return "broken"
		if (l ~ /# timeout/) return "timeout"
		if (l ~ /# crash/) return "crash"
		return "fail"
	}
	function key(l,   k, p) {
		k = l
		sub(/^(not )?ok [0-9]+ - |^# Subtest: /, "", k)
		sub(/ # .*/, "", k)
		if (unit == "guest") { split(k, p, "/"); k = p[1] "/" p[2] "/" }
		return k
	}
	NR == 1 { ver = $0; next }
	NR == 2 { next }
	{ L[++n] = $0 }
	END {
		i = 1
		if (unit == "guest")
			for (; i <= n && L[i] ~ /^#/ && L[i] !~ /^# (guest |Subtest)/; i++)
				hdr = hdr L[i] "\n"
		for (; i <= n; i++) {
			if (L[i] !~ /^(not )?ok/) { cur = cur L[i] "\n"; continue }
			cur = cur "@" outcome(L[i]) "@" L[i] "\n"
			k = key(L[i])
			if (L[i + 1] == "  ---")
				do { cur = cur L[++i] "\n" } while (L[i] != "  ...")
			if (unit == "guest" && L[i + 1] ~ /^((not )?ok |# Subtest: )/ && key(L[i + 1]) == k)
				continue
			body[++T] = cur
			cur = ""
		}
		trailer = cur
		per = int((T + N - 1) / N)
		for (s = 1; s <= N; s++) {
			f = pre ".shard-" s "-of-" N ".tap"
			K = 0; P = 0; out = ""; split("", c)
			for (u = 1; u <= T; u++) {
				if (mode == "rr" ? (u - 1) % N + 1 != s : int((u - 1) / per) + 1 != s)
					continue
				K++
				m = split(body[u], ls, "\n")
				for (j = 1; j < m; j++) {
					l = ls[j]
					if (l ~ /^@/) {
						sub(/^@/, "", l); c[substr(l, 1, index(l, "@") - 1)]++
						sub(/^[a-z]*@/, "", l); sub(/ok [0-9]+/, "ok " ++P, l)
					}
					out = out l "\n"
				}
			}
			if (!K) {
				printf "%s\n1..0 # SKIP no units in shard %d/%d\n# vcts-shard %d/%d units=0 total=%d unit=%s\n", ver, s, N, s, N, T, unit >f
				close(f)
				continue
			}
			printf "%s\n1..%d\n# vcts-shard %d/%d units=%d total=%d unit=%s\n%s%s", ver, P, s, N, K, T, unit, hdr, out >f
			m = split(trailer, ls, "\n")
			for (j = 1; j < m; j++)
				if (ls[j] ~ /^# pass [0-9]+, fail/)
					printf "# pass %d, fail %d, skip %d, broken %d, timeout %d, crash %d\n", c["pass"], c["fail"], c["skip"], c["broken"], c["timeout"], c["crash"] >f
				else if (ls[j] ~ /^# xfail [0-9]+, xpass/) {
					if (c["xfail"] + c["xpass"])
						printf "# xfail %d, xpass %d\n", c["xfail"], c["xpass"] >f
				} else
					print ls[j] >f
			close(f)
		}
	}' "$1"
}

mkdir -p in
cat >in/failing.tap <<'EOF'
TAP version 14
1..7
ok 1 - features/driver-accepts-offered-subset[version-1-only]
# implementation: qemu 7.2.22
# record DRV-2.2.1 [driver]: a comment before its point
not ok 2 - features/device-refuses-unoffered-bit[blk]
  ---
  message: "device accepted features it never offered"
  rule: "DEV-2.2.2"
  section: "2.2.2 Device Requirements: Feature Bits"
  who: "device"
  expected: "FEATURES_OK cleared"
  got: "FEATURES_OK kept, 0x1000000000"
  ...
not ok 3 - status/device-needs-reset-notifies[split] # TODO xfail: a known difference
  ---
  message: "known"
  rule: "DEV-2.1.2"
  ...
ok 4 - status/device-reset[idle]
ok 5 - config/device-readable-before-features-ok[blk-split] # SKIP no blk device here
not ok 6 - status/driver-init-sequence[split] # timeout
ok 7 - status/driver-init-sequence[packed]
# pass 3, fail 1, skip 1, broken 0, timeout 1, crash 0
# xfail 1, xpass 0
EOF
cat >in/guest.tap <<'EOF'
TAP version 14
1..5
# kernel /cache/vmlinux, accel tcg
# guest q35: 2 devices, 3.4 s, agent done
# Subtest: guest/q35/blk
    # linux-6.1 expects live
    ok 1 - driver-bound
    1..1
ok 1 - guest/q35/blk
# Subtest: guest/q35/rng
    ok 1 - driver-bound
    1..1
ok 2 - guest/q35/rng
# guest q35-secure: 1 devices, 3.3 s, agent done
# Subtest: guest/q35-secure/rng
    not ok 1 - status
      ---
      message: "the driver drove a device without ACCESS_PLATFORM"
      rule: "DRV-6.1"
      ...
    1..1
not ok 3 - guest/q35-secure/rng
ok 4 - guest/microvm/blk # SKIP no microvm machine in this QEMU
ok 5 - guest/microvm/rng # SKIP no microvm machine in this QEMU
EOF
"$VCTS" run --filter 'status/*' --filter 'features/*' --filter 'mutant/drv-*' >in/suites.tap ||
	true

expect_success 'hand-made shards of a run merge back byte for byte (N = 1, 2, 3, 9)' '
	for n in 1 2 3 9; do
		rm -rf s && mkdir s
		split_tap in/failing.tap $n point s/failing
		"$VCTS" merge s/failing.shard-*-of-$n.tap >merged.tap
		cmp merged.tap in/failing.tap
	done
	grep -q "^1..0 # SKIP no units in shard 9/9" s/failing.shard-9-of-9.tap
'
expect_success 'a real vcts run in 4 hand-made shards merges back byte for byte' '
	grep -q "^# record " in/suites.tap
	rm -rf s && mkdir s
	split_tap in/suites.tap 4 point s/suites
	test "$(grep -c "^# pass " s/suites.shard-2-of-4.tap)" = 1
	"$VCTS" merge -o merged.tap s/suites.shard-*-of-4.tap
	cmp merged.tap in/suites.tap
	test "$(ls merged.tap*)" = merged.tap
'
expect_success 'a guest run split by guest merges back: the header once, each guest whole' '
	for n in 1 2 3 4; do
		rm -rf s && mkdir s
		split_tap in/guest.tap $n guest s/guest
		"$VCTS" merge s/guest.shard-*-of-$n.tap >merged.tap
		cmp merged.tap in/guest.tap
	done
	grep -q "^# vcts-shard 2/4 units=1 total=3 unit=guest" s/guest.shard-2-of-4.tap
	grep -q "^# kernel " s/guest.shard-3-of-4.tap
'

# The report over shards is the report over the whole files: the same
# directory name, since the page names it.
mkdir -p whole/reports sharded/reports
cp in/failing.tap in/guest.tap in/suites.tap whole/reports/
split_tap in/failing.tap 3 point sharded/reports/failing
split_tap in/guest.tap 2 guest sharded/reports/guest
split_tap in/suites.tap 5 point sharded/reports/suites
expect_success 'vcts report over shards: the page and the coverage of the whole files' '
	(cd whole && "$VCTS" report --dir reports >../whole.out)
	(cd sharded && "$VCTS" report --dir reports >../sharded.out)
	cmp whole/reports/coverage.txt sharded/reports/coverage.txt
	cmp whole/reports/index.html sharded/reports/index.html
	grep -q "from 3 TAP files$" whole.out
	grep -q "from 3 TAP files (3 merged from 10 shard files)$" sharded.out
'
expect_success 'one JUnit file per merged part, as for the whole file' '
	ls sharded/reports/junit >junits
	test "$(cat junits)" = "$(printf "failing.xml\nguest.xml\nsuites.xml")"
	for x in failing guest suites; do
		want=$(grep -o "failures=\"[0-9]*\"" whole/reports/junit/$x.xml | head -n 1)
		test "$(grep -o "failures=\"[0-9]*\"" sharded/reports/junit/$x.xml | head -n 1)" = "$want"
	done
'
expect_success 'the merge leaves nothing in the directory or the temporary one' '
	ls sharded/reports | grep -v "\.shard-[0-9]*-of-[0-9]*\.tap$" >left
	test "$(cat left)" = "$(printf "coverage.txt\nindex.html\njunit")"
	test -z "$(ls -A "$TMP" | grep "^vcts\.")"
'

# Shards that are not one run: ERROR-PATTERN, then the command.
rm -rf s && mkdir s
split_tap in/failing.tap 3 point s/a
split_tap in/failing.tap 4 point s/b
split_tap in/failing.tap 3 point s/blk block
bad_merge() {
	expect_success "not one run, $1: one line naming it, exit 2" '
		rc=0
		"$VCTS" merge '"$3"' >out 2>err || rc=$?
		test "$rc" -eq 2
		one_line err
		test ! -s out
		grep -qF "vcts: merge: '"$2"'" err
	'
}
bad_merge 'a shard missing' 'shard 2/3 is missing: 2 of the 3 shards given' \
	's/a.shard-1-of-3.tap s/a.shard-3-of-3.tap'
sed 's/^ok 1 - /ok 1 - other-/' s/a.shard-2-of-3.tap >s/dup.tap
bad_merge 'shard I twice' 's/dup.tap: shard 2/3 again (s/a.shard-2-of-3.tap is shard 2/3 too)' \
	's/a.shard-1-of-3.tap s/a.shard-2-of-3.tap s/dup.tap s/a.shard-3-of-3.tap'
bad_merge 'different N' \
	's/b.shard-3-of-4.tap: shard 3/4, but s/a.shard-1-of-3.tap is shard 1/3: not one run' \
	's/a.shard-1-of-3.tap s/a.shard-2-of-3.tap s/b.shard-3-of-4.tap'
sed 's/ total=7 / total=8 /' s/a.shard-2-of-3.tap >s/total.tap
bad_merge 'a different total' \
	's/total.tap: total=8, but s/a.shard-1-of-3.tap says total=7: not one selection' \
	's/a.shard-1-of-3.tap s/total.tap s/a.shard-3-of-3.tap'
bad_merge 'K not the round-robin count' \
	's/blk.shard-2-of-3.tap: units=3, but shard 2/3 of 7 units has 2' \
	's/blk.shard-1-of-3.tap s/blk.shard-2-of-3.tap s/blk.shard-3-of-3.tap'
sed '1s/14/13/' s/a.shard-3-of-3.tap >s/v13.tap
bad_merge 'another TAP version' \
	's/v13.tap: TAP version 13, but s/a.shard-1-of-3.tap has TAP version 14' \
	's/a.shard-1-of-3.tap s/a.shard-2-of-3.tap s/v13.tap'
sed 's/^ok 2 - .*/ok 2 - features\/driver-accepts-offered-subset[version-1-only]/' \
	s/a.shard-2-of-3.tap >s/same.tap
bad_merge 'a test point in two shards' \
	"s/same.tap:15: test point 'features/driver-accepts-offered-subset[version-1-only]' is also at s/a.shard-1-of-3.tap:4" \
	's/a.shard-1-of-3.tap s/same.tap s/a.shard-3-of-3.tap'
bad_merge 'not a shard' \
	"in/failing.tap:3: no '# vcts-shard I/N units=K total=T unit=point|guest' line after the plan" \
	'in/failing.tap'

expect_success 'the summaries: counts added up, a line not alike in every shard kept per shard' '
	rm -rf n && mkdir n
	split_tap in/failing.tap 2 point n/f
	echo "# note: alike" >>n/f.shard-1-of-2.tap
	echo "# note: alike" >>n/f.shard-2-of-2.tap
	echo "# only in the first" >>n/f.shard-1-of-2.tap
	"$VCTS" merge n/f.shard-*-of-2.tap >m.tap
	tail -n 4 m.tap >tail
	printf "%s\n" "# pass 3, fail 1, skip 1, broken 0, timeout 1, crash 0" "# xfail 1, xpass 0" \
		"# note: alike" "# shard 1/2: only in the first" >want
	cmp tail want
'
expect_success 'a shard cut short merges as far as it got: the plan is the sum, its bail last' '
	rm -rf c && mkdir c
	split_tap in/failing.tap 2 point c/f
	head -n 14 c/f.shard-2-of-2.tap >c/cut.tap
	echo "Bail out! the device went away" >>c/cut.tap
	"$VCTS" merge c/f.shard-1-of-2.tap c/cut.tap >m.tap
	sed -n 2p m.tap | grep -qx "1\.\.7"
	test "$(grep -c "^\(not \)\?ok " m.tap)" = 5
	tail -n 1 m.tap | grep -qx "Bail out! shard 2/2: the device went away"
'

# The report refuses what is not one run: the same one-line error.
bad_report() {
	expect_success "report, $1: one line, exit 2, the last page kept" '
		rm -rf r && mkdir r
		split_tap in/failing.tap 3 point r/failing
		'"$2"'
		cp sharded/reports/index.html keep.html
		rc=0
		"$VCTS" report --dir r --out sharded/reports --no-junit 2>err || rc=$?
		test "$rc" -eq 2
		one_line err
		grep -qF "vcts: report: '"$3"'" err
		cmp -s keep.html sharded/reports/index.html
	'
}
bad_report 'PART.tap beside its shards' 'cp in/failing.tap r/' \
	'r/failing.tap: beside its shards (r/failing.shard-1-of-3.tap, ...)'
bad_report 'a shard missing: the file it wants' 'rm r/failing.shard-2-of-3.tap' \
	'r/failing.shard-2-of-3.tap: missing: 2 of the 3 shards are here'
bad_report 'a name that is not its content' \
	'mv r/failing.shard-3-of-3.tap r/failing.shard-3-of-4.tap' \
	'r/failing.shard-3-of-4.tap: its vcts-shard line says 3/3, its name 3/4'

expect_success 'conformance.sh: a bad VCTS_SHARD is one line and exit 2, nothing run' '
	for s in 0/2 3/2 1/0 x 1/2/3; do
		rc=0
		VCTS_SHARD=$s "$VCTS_SRCDIR/harness/conformance.sh" cr 2>err || rc=$?
		test "$rc" -eq 2
		one_line err
		grep -q "^conformance: VCTS_SHARD wants I/N with 1 <= I <= N, not " err
	done
	test ! -e cr
'

# With the real --shard.  The verdicts (test lines, subtests, YAML) must be
# those of the whole run; comments are left out where they may differ
# between two runs (timings, what a real guest happened to do), and kept
# where the output is deterministic (the matrix).
verdicts() {
	awk '!/^ *#/ || /^ *# Subtest: /' "$1"
}
if ! "$VCTS" help run | grep -q -- "--shard"; then
	for t in 'vcts run --shard in 3 merged' 'vcts matrix --shard in 2 merged' \
		'vcts matrix --diff --shard in 2 merged' 'vcts report over real shards' \
		'vcts guest --shard in 2 merged'; do
		skip "$t" 'this vcts has no --shard'
	done
	exit 0
fi
# shellcheck disable=SC2034  # used inside the snippets
sel=(--filter 'status/*' --filter 'config/*' --filter 'mutant/dev-*')
# shellcheck disable=SC2034,SC2054  # used inside the snippets; ',' joins axis values
axes=(--axis ap-offer=no,yes --axis ap-accept=yes --axis prop-offer=no --axis prop-accept=no
      --axis secure=off,on --axis translation=none,iommu48 --axis width=64 --axis ring=split
      --axis event-idx=off --axis indirect=off,on --axis device=blk,echo --quiet)
# shellcheck disable=SC2034  # used inside the snippets
diffsel=(--axis translation=none --axis width=64 --axis ring=split --axis event-idx=off
	 --axis indirect=off --axis device=blk --quiet)
rm -rf w sh && mkdir -p w/reports sh/reports
expect_success 'vcts run --shard in 3, merged: the unsharded run' '
	"$VCTS" run "${sel[@]}" >w/reports/suites.tap || true
	for i in 1 2 3; do
		"$VCTS" run "${sel[@]}" --shard $i/3 >sh/reports/suites.shard-$i-of-3.tap || true
	done
	"$VCTS" merge sh/reports/suites.shard-*-of-3.tap >m.tap
	verdicts w/reports/suites.tap >want
	verdicts m.tap >got
	cmp want got
'
expect_success 'vcts matrix --shard in 2, merged: the unsharded matrix, its summary too' '
	"$VCTS" matrix --profile strict-cc "${axes[@]}" >w/reports/matrix-strict-cc.tap
	for i in 1 2; do
		"$VCTS" matrix --profile strict-cc "${axes[@]}" --shard $i/2 \
			>sh/reports/matrix-strict-cc.shard-$i-of-2.tap
	done
	"$VCTS" merge sh/reports/matrix-strict-cc.shard-*-of-2.tap >m.tap
	cmp w/reports/matrix-strict-cc.tap m.tap
'
expect_success 'vcts matrix --diff --shard in 2, merged: the unsharded diff' '
	d=matrix-diff-identity-address-no-translation
	"$VCTS" matrix --diff identity-address no-translation "${diffsel[@]}" >w/reports/$d.tap
	for i in 1 2; do
		"$VCTS" matrix --diff identity-address no-translation "${diffsel[@]}" --shard $i/2 \
			>sh/reports/$d.shard-$i-of-2.tap
	done
	"$VCTS" merge sh/reports/$d.shard-*-of-2.tap >m.tap
	cmp w/reports/$d.tap m.tap
	test "$(grep -c "^ok " m.tap)" -eq 8
'
expect_success 'vcts report over real shards: the page and coverage of the unsharded run' '
	(cd w && "$VCTS" report --dir reports --no-junit >/dev/null)
	(cd sh && "$VCTS" report --dir reports --no-junit >/dev/null)
	cmp w/reports/coverage.txt sh/reports/coverage.txt
	cmp w/reports/index.html sh/reports/index.html
'

# Two small guests (the kernel t/55 builds, cached): q35 and microvm.
rc=0
"$VCTS_SRCDIR/guests/build.sh" >build.out 2>build.err || rc=$?
if [ "$rc" -ne 0 ]; then
	skip 'vcts guest --shard in 2 merged' "guest kernel unavailable: $(tail -n 1 build.err)"
	exit 0
fi
expect_success 'vcts guest --shard in 2, merged: the verdicts of the unsharded run' '
	gsel=(--filter "guest/q35/*" --filter "guest/microvm/*")
	"$VCTS" guest "${gsel[@]}" >g.tap || true
	for i in 1 2; do
		"$VCTS" guest "${gsel[@]}" --shard $i/2 >g.shard-$i-of-2.tap || true
	done
	grep -q "^# vcts-shard 2/2 units=1 total=2 unit=guest" g.shard-2-of-2.tap
	"$VCTS" merge g.shard-*-of-2.tap >m.tap
	verdicts g.tap >want
	verdicts m.tap >got
	cmp want got
'
