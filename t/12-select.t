#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/12-select.t - one selection language on every command: --filter by
# name, clause, role, transport and axis, several --filter OR'ed,
# --exclude, one clear line for a bad key or shard; --shard I/N splits a
# selection into disjoint shards whose union is the whole, says so after
# the plan, and an empty shard skips; the catalogue as JSON (read by a
# strict JSON reader) and as TAP (read by prove, as TAP 13).
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
need_build vcts
# The version line depends on who reads the stream: not prove, here.
unset HARNESS_ACTIVE HARNESS_VERSION

plan 29

# grep finds nothing (a plain command: set -e sees it fail).
none() { ! grep -q "$@"; }

# The names of a text listing, sorted: what comes before the first two
# blanks (a matrix cell's name holds single blanks).
names() { sed "s/  .*//" "$1" | sort; }

# A strict JSON reader: the document on stdin, decoded by JSON::PP (perl's
# core), prints "KIND COUNT" per kind and checks every item's shape.
json_kinds() {
	perl -MJSON::PP -e '
		local $/;
		my $d = JSON::PP->new->decode(<STDIN>);
		die "no vcts version\n" unless defined $d->{vcts} && !ref $d->{vcts};
		my %n;
		for my $i (@{ $d->{items} }) {
			die "item without kind or name\n" unless $i->{kind} && defined $i->{name};
			die "$i->{name}: clauses is not a list\n" unless ref $i->{clauses} eq "ARRAY";
			die "$i->{name}: no role\n" unless $i->{role};
			$n{ $i->{kind} }++;
		}
		print "$_ $n{$_}\n" for sort keys %n;
	'
}

# A small reduced matrix: 2 (ap-offer) x 2 x 2 x 2 (prop-accept) x 2 (secure)
# x 2 (translation) x 2 (ring) = 128 cells.
# shellcheck disable=SC2034,SC2054  # used inside the snippets; commas are values
reduced=(--axis translation=none,iommu48 --axis width=64 --axis event-idx=on
	 --axis indirect=on --axis device=blk)

"$VCTS" list >all 2>/dev/null

expect_success 'filter by name: a glob, and an exact name with [variant]' '
	"$VCTS" list --filter "split/*" >o
	test "$(wc -l <o)" -eq "$(grep -c "^split/" all)"
	first=$(grep "\[" all | awk "NR == 1 { print \$1 }")
	"$VCTS" list --filter "$first" >o
	one_line o
	test "$(awk "{ print \$1 }" o)" = "$first"
	"$VCTS" list --filter "name=$first" >o2
	cmp o o2
'
expect_success 'filter by clause: a glob over every id an instance cites' '
	"$VCTS" list --filter "clause=DRV-2.7.*" >o
	test -s o
	test "$(wc -l <o)" -eq "$(awk "{ for (i = 4; i <= NF; i++) if (\$i ~ /^DRV-2\.7\./) { n++; break } } END { print n }" all)"
	"$VCTS" list --filter "clause=INV-unshared-access" >o
	test "$(wc -l <o)" -eq "$(grep -c " INV-unshared-access\( \|$\)" all)"
'
expect_success 'filter by role and transport' '
	"$VCTS" list --filter role=device >o
	test -s o
	awk "\$2 != \"device\" { exit 1 }" o
	test "$(wc -l <o)" -eq "$(awk "\$2 == \"device\"" all | wc -l)"
	"$VCTS" list --filter "transport=qtest,role=device" >o
	test -s o
	awk "\$2 != \"device\" || \$3 != \"qtest\" { exit 1 }" o
'
expect_success 'filter by area and variant; KEY!=' '
	"$VCTS" list --filter "area=split,variant=*thread*" >o
	test -s o
	none -v "^split/[^ ]*\[[^]]*thread[^]]*\] " o
	"$VCTS" list --filter "area=split,variant!=*thread*" >o2
	test "$(($(wc -l <o) + $(wc -l <o2)))" -eq "$(grep -c "^split/" all)"
'
expect_success 'several --filter are OR'\''ed; --exclude removes' '
	"$VCTS" list --filter role=driver --filter role=device >o
	cmp o all
	"$VCTS" list --filter "split/*" --filter "packed/*" --exclude role=driver >o
	test "$(wc -l <o)" -eq "$(grep -E "^(split|packed)/" all | awk "\$2 == \"device\"" | wc -l)"
	"$VCTS" list --exclude "area=mutant" >o
	test "$(wc -l <o)" -eq "$(grep -vc "^mutant/" all)"
'
expect_success 'an unknown key: one line naming the keys, exit 2' '
	usage_error "^vcts: list: --filter: unknown key .colour. in .colour=red. \(keys: name, clause, role, transport, area, variant, timeout\)$" \
		list --filter colour=red
	usage_error "unknown key .colour." run --exclude colour=red
	usage_error "^vcts matrix: --filter: unknown key .colour. .*keys: .*ap-offer.*expect" \
		matrix --profile spec-1.4 --filter colour=red
	usage_error "^vcts guest: --filter: unknown key .colour. .*keys: .*backend" \
		guest --filter colour=red
'
expect_success 'a value outside a closed set: one line naming the values' '
	usage_error "unknown value .drvier. for role .*values: driver, device" list --filter role=drvier
	usage_error "unknown value .splt. .*values: split, packed" guest --list --filter ring=splt
'
expect_success 'a filter matching nothing is an error for list and run, not for matrix' '
	usage_error "^vcts: no test matches .area=nowhere.$" list --filter area=nowhere
	usage_error "^vcts: no test matches .clause=DRV-0\.\*.$" run --filter "role=device" --filter "clause=DRV-0.*"
	"$VCTS" matrix --profile identity-address "${reduced[@]}" --filter expect=skip >o
	grep -qx "1..0 # SKIP no cell selected" o
'
expect_success 'bad --shard specs: one line, exit 2' '
	for s in 0/3 4/3 1/0 x/y 1/1001 3 1/3/1; do
		usage_error "^vcts: run: --shard wants I/N with 1 <= I <= N <= 1000, not .$s.$" run --shard "$s"
	done
	usage_error "^vcts: list: --shard wants" list --shard 2/1
	usage_error "^vcts matrix: --shard wants" matrix --profile spec-1.4 --shard 0/1
	usage_error "^vcts guest: --shard wants" guest --shard 1/0
'

# shards N SPEC... : run "vcts SPEC... --shard I/N" for every I into
# shard.I; their names are disjoint, and together the unsharded listing.
shards_partition() {
	local n=$1 i
	shift
	"$VCTS" "$@" >whole
	: >union
	for i in $(seq 1 "$n"); do
		"$VCTS" "$@" --shard "$i/$n" >"shard.$i"
		names "shard.$i" >>union
	done
	sort union >union.sorted
	test -z "$(uniq -d union.sorted)" || { echo "in two shards: $(uniq -d union.sorted)"; return 1; }
	diff <(names whole) union.sorted
}
expect_success 'list: shards are disjoint and their union is the selection' '
	shards_partition 3 list
	shards_partition 7 list --filter "area=split|packed" --exclude role=device
	shards_partition 2 run --list --filter "status/*"
'
expect_success 'list: shard I takes every Nth instance from the (I-1)th' '
	"$VCTS" list --filter "split/*" >w
	"$VCTS" list --filter "split/*" --shard 2/3 >s
	diff <(awk "NR % 3 == 2 { print \$1 }" w) <(awk "{ print \$1 }" s)
'
expect_success 'matrix --list: shards are disjoint and their union is the selection' '
	shards_partition 3 matrix --profile spec-1.4 "${reduced[@]}" --list
	shards_partition 4 matrix --profile strict-cc "${reduced[@]}" --list --filter secure=on
	test "$(wc -l <whole)" -eq 64
'
expect_success 'guest --list: a shard takes whole guests, the union is every cell' '
	shards_partition 3 guest --list
	for i in 1 2 3; do
		awk -F/ "{ print \$2 }" "shard.$i" | sort -u >"guests.$i"
	done
	test -z "$(sort guests.1 guests.2 guests.3 | uniq -d)"
	test "$(cat guests.1 guests.2 guests.3 | wc -l)" -eq "$(awk -F/ "{ print \$2 }" whole | sort -u | wc -l)"
'
expect_success 'run --shard: "# vcts-shard" right after the plan, numbered from 1' '
	"$VCTS" run --filter "status/*" --shard 2/3 >s.tap
	t=$(grep -c "^status/" all)
	k=$(( (t - 2) / 3 + 1 ))
	test "$(sed -n 2p s.tap)" = "1..$k"
	test "$(sed -n 3p s.tap)" = "# vcts-shard 2/3 units=$k total=$t unit=point"
	grep -E "^(not )?ok " s.tap | awk "{ n++; num = (\$1 == \"not\") ? \$3 : \$2; if (num != n) exit 1 }"
	diff <(grep -E "^(not )?ok " s.tap | sed "s/^\(not \)\{0,1\}ok [0-9]* - //; s/ #.*//") \
	     <(grep "^status/" all | awk "NR % 3 == 2 { print \$1 }")
'
expect_success 'unsharded output has no vcts-shard line' '
	"$VCTS" run --filter "status/*" >u.tap
	none "vcts-shard" u.tap
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --filter "ring=split,secure=on" >u.tap
	none "vcts-shard" u.tap
'
expect_success 'the same test points, sharded or not' '
	"$VCTS" run --filter "status/*" >u.tap
	for i in 1 2; do "$VCTS" run --filter "status/*" --shard "$i/2" >"s$i.tap"; done
	diff <(grep -E "^(not )?ok " u.tap | sed "s/ [0-9]* - / - /" | sort) \
	     <(cat s1.tap s2.tap | grep -E "^(not )?ok " | sed "s/ [0-9]* - / - /" | sort)
'
expect_success 'an empty shard: skip plan, the shard line, exit 0' '
	one=$(awk "NR == 1 { print \$1 }" all)
	"$VCTS" run --filter "$one" --shard 2/2 >e.tap
	test "$(sed -n 2p e.tap)" = "1..0 # SKIP no units in shard 2/2"
	test "$(sed -n 3p e.tap)" = "# vcts-shard 2/2 units=0 total=1 unit=point"
	test "$(wc -l <e.tap)" -eq 3
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --filter "ring=split,secure=on,ap-offer=no,ap-accept=no,translation=none,prop-offer=no,prop-accept=no" --shard 3/3 >e.tap
	grep -qx "1..0 # SKIP no units in shard 3/3" e.tap
	grep -qx "# vcts-shard 3/3 units=0 total=1 unit=point" e.tap
	"$VCTS" guest --filter "guest=q35" --shard 2/2 >e.tap
	grep -qx "1..0 # SKIP no units in shard 2/2" e.tap
	grep -qx "# vcts-shard 2/2 units=0 total=1 unit=guest" e.tap
'
expect_success 'matrix --shard: the summary describes the shard'\''s own cells' '
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --filter ring=split --jobs 2 >u.tap
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --filter ring=split --jobs 2 --shard 1/2 >s1.tap
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --filter ring=split --jobs 2 --shard 2/2 >s2.tap
	grep -q "^# matrix spec-1.4: 64 cells: " u.tap
	grep -qx "# vcts-shard 1/2 units=32 total=64 unit=point" s1.tap
	grep -q "^# matrix spec-1.4: 32 cells: " s1.tap
	grep -q "^# matrix spec-1.4: 32 cells: " s2.tap
	diff <(grep "^ok " u.tap | sed "s/^ok [0-9]* - //" | sort) \
	     <(cat s1.tap s2.tap | grep "^ok " | sed "s/^ok [0-9]* - //" | sort)
'
expect_success 'matrix: several --filter are OR'\''ed, --exclude removes' '
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --list --filter secure=on >a
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --list --filter ring=packed >b
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --list --filter secure=on --filter ring=packed >ab
	diff <(cat a b | sed "s/  .*//" | sort -u) <(names ab)
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --list --filter secure=on --exclude ring=packed >ax
	test "$(wc -l <ax)" -eq 32
	"$VCTS" matrix --profile spec-1.4 "${reduced[@]}" --list --filter "expect=live,expect!=hazard" --filter "name=*width=64*,ring=split" >o
	test -s o
'
expect_success 'matrix --diff: a cell is kept when the filter holds under either profile; a differing cell is a unit' '
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" --jobs 2 \
		--filter "expect=driver-refuses" --format table >d
	grep -q "^12 of 48 cells differ between identity-address and no-translation" d
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" --jobs 2 \
		--filter "expect=driver-refuses" >d.tap
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" --jobs 2 \
		--filter "expect=driver-refuses" --shard 1/2 >d1.tap
	"$VCTS" matrix --diff identity-address no-translation "${reduced[@]}" --jobs 2 \
		--filter "expect=driver-refuses" --shard 2/2 >d2.tap
	grep -qx "# vcts-shard 1/2 units=6 total=12 unit=point" d1.tap
	grep -q "^# matrix diff identity-address no-translation: 6 of 48 cells differ; " d2.tap
	diff <(grep "^ok " d.tap | sed "s/^ok [0-9]* - //" | sort) \
	     <(cat d1.tap d2.tap | grep "^ok " | sed "s/^ok [0-9]* - //" | sort)
'
expect_success 'guest: cells selected by their attributes, without a boot' '
	"$VCTS" guest --list >g
	test "$(grep -c "^guest/" g)" -eq "$(wc -l <g)"
	"$VCTS" guest --list --filter "backend=vcts,ring=packed" >o
	test -s o
	none -v "/vhost-" o
	"$VCTS" guest --list --filter "transport=mmio" >o
	test -s o
	none -v "^guest/microvm" o
	"$VCTS" guest --list --filter "secure=on,ap-offer=no,device=blk" --exclude "guest=*unaware*" >o
	test -s o
	none -E "unaware|-ap" o
	"$VCTS" guest --list --filter "guest/q35/*" >o
	test "$(wc -l <o)" -eq "$(grep -c "^guest/q35/" g)"
'
expect_success 'list --format json: one document, every item, strictly read' '
	"$VCTS" list --format json >l.json
	json_kinds <l.json >k
	test "$(cat k)" = "test $(wc -l <all)"
	"$VCTS" list --tests --guest --matrix spec-1.4 --format json >l.json
	"$VCTS" guest --list >g
	json_kinds <l.json >k
	printf "guest-cell %d\nmatrix-cell 8192\ntest %d\n" "$(wc -l <g)" "$(wc -l <all)" >want
	diff want k
'
expect_success 'list --format json: names, attributes and escapes as listed' '
	"$VCTS" list --filter "status/*" --format json >l.json
	perl -MJSON::PP -e "
		local \$/; my \$d = JSON::PP->new->decode(<STDIN>);
		for my \$i (@{ \$d->{items} }) {
			print join(\" \", \$i->{name}, \$i->{role}, \$i->{transport}, \$i->{area},
				   \$i->{timeout} =~ /^[0-9]+\$/ ? q(ms) : q(bad),
				   @{ \$i->{clauses} }), \"\n\";
		}" <l.json >n
	diff <(grep "^status/" all | awk "{ c = \"\"; for (i = 4; i <= NF; i++) c = c \" \" \$i; print \$1, \$2, \$3, \"status\", \"ms\" c }") n
'
expect_success 'list --format json with jq, if it is installed' '
	if command -v jq >/dev/null; then
		"$VCTS" list --matrix spec-1.4 --filter "secure=on,expect=hazard" --format json >m.json
		test "$(jq ".items | length" m.json)" -gt 0
		test "$(jq "[.items[] | select(.expect | index(\"hazard\") | not)] | length" m.json)" -eq 0
		jq -e ".items[0].role == [\"driver\", \"device\"]" m.json
	fi
'
expect_success 'list --format tap: read by prove, one listed point per item' '
	"$VCTS" list --filter "split/*" --format tap --tap-version 13 >l.tap
	prove -e cat ./l.tap >p 2>&1
	grep -q "Tests=$(grep -c "^split/" all)," p
	none "Parse errors" p
	grep -q "^ok 1 - split/.* # SKIP listed$" l.tap
	grep -q "^  clauses:$" l.tap
'
expect_success 'list --format tap --shard: the shard line, read by prove' '
	"$VCTS" list --guest --format tap --shard 2/4 --tap-version 13 >g.tap
	grep -Eq "^# vcts-shard 2/4 units=[0-9]+ total=[0-9]+ unit=guest$" g.tap
	test "$(sed -n 3p g.tap | cut -c1-16)" = "# vcts-shard 2/4"
	prove -e cat ./g.tap >p 2>&1
	grep -q "Result: PASS" p
'
expect_success 'matrix --list --format and list --matrix: the same catalogue' '
	"$VCTS" matrix --profile spec-1.4 --list --format json --filter secure=on --shard 2/5 >a.json
	"$VCTS" list --matrix spec-1.4 --format json --filter secure=on --shard 2/5 >b.json
	cmp a.json b.json
	"$VCTS" guest --list --format tap >a.tap
	"$VCTS" list --guest --format tap >b.tap
	cmp a.tap b.tap
'
expect_success 'list --format text is the listing of old' '
	"$VCTS" list --format text >o
	cmp o all
	"$VCTS" run --list >o
	cmp o all
'
expect_success '--format outside a listing: one line, exit 2' '
	usage_error "^vcts: run: --format goes with --list$" run --format json
	usage_error "^vcts: list: --format wants text, tap or json, not .yaml.$" list --format yaml
	usage_error "^vcts matrix: --format goes with --diff or --list$" matrix --profile spec-1.4 --format json
	usage_error "^vcts guest: --format goes with --list$" guest --format json
	usage_error "^vcts matrix: --shard does not go with --format table" \
		matrix --diff spec-1.4 strict-cc --format table --shard 1/2
'
