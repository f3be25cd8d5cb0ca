#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# t/10-cli.t - the vcts command line: help, list, run, clauses, and one
# clear line with exit status 2 for every usage or registry error.  Also
# the build's check that every rule id quoted in the sources exists.
# shellcheck disable=SC2016  # the snippets are expanded when they run

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

need_build vcts
# The version line depends on who reads the stream: not prove, here.
unset HARNESS_ACTIVE HARNESS_VERSION

plan 31

expect_success '--help: usage on stdout, exit 0' '
	"$VCTS" --help >o 2>e && test ! -s e &&
	grep -q "^usage: vcts <command>" o &&
	for c in list run clauses help; do grep -q "^  $c " o; done
'
expect_success 'help COMMAND and COMMAND --help show its options' '
	"$VCTS" help run >o && grep -q -- "--timeout-scale" o &&
	"$VCTS" run --help >o2 && cmp o o2 &&
	"$VCTS" help list >o && grep -q -- "--exclude" o &&
	"$VCTS" clauses --help >o && grep -q -- "--check" o
'
expect_success '--version' '"$VCTS" --version >o && grep -Eqx "vcts [0-9][0-9a-z.+-]*" o'
expect_success 'no command: one line, exit 2' 'usage_error "^vcts: no command given.*$"'
expect_success 'unknown command: one line, exit 2' '
	usage_error "^vcts: unknown command '\''frobnicate'\'' .*$" frobnicate
'
expect_success 'unknown top-level option: one line, exit 2' '
	usage_error "^vcts: unknown option '\''--frobnicate'\'' .*$" --frobnicate
'
expect_success 'unknown option of run: one line, exit 2' '
	usage_error "^vcts: run: unknown option '\''--frob'\'' .*$" run --frob
'
expect_success 'unknown option of list: one line, exit 2' '
	usage_error "^vcts: list: unknown option '\''-x'\'' .*$" list -x
'
expect_success 'a missing option value: one line, exit 2' '
	usage_error "^vcts: list: option '\''--filter'\'' needs an argument$" list --filter
'
expect_success 'a bad timeout scale: one line, exit 2' '
	usage_error "^vcts: run: --timeout-scale wants .*$" run --timeout-scale fast
'
expect_success 'help for an unknown command: one line, exit 2' '
	usage_error "^vcts: help: unknown command .*$" help frobnicate
'
expect_success 'a filter matching no test: one line, exit 2' '
	usage_error "^vcts: no test matches '\''no/such-test\*'\''$" list --filter "no/such-test*" &&
	usage_error "^vcts: no test matches '\''no/such-test'\''$" run --filter no/such-test
'

expect_success 'list: one line per instance, name role transport clauses' '
	"$VCTS" list >list 2>e && test -s list && test ! -s e &&
	awk "NF < 4 || \$2 !~ /^(driver|device)\$/ || \$1 !~ /^[a-z0-9-]+\/[^ ]+\$/ { exit 1 }" list
'
expect_success 'list: columns are aligned' '
	test "$(awk "{ print index(\$0, \" \" \$2 \" \") }" list | sort -u | wc -l)" = 1
'
expect_success 'list: names are unique' 'test -z "$(awk "{ print \$1 }" list | sort | uniq -d)"'
expect_success 'list --filter with an exact name (brackets too) gives that line' '
	first=$(awk "NR == 1 { print \$1 }" list) &&
	"$VCTS" list --filter "$first" >o && one_line o && test "$(awk "{ print \$1 }" o)" = "$first"
'
expect_success 'list --filter glob, --exclude glob' '
	area=$(awk -F/ "NR == 1 { print \$1 }" list) &&
	"$VCTS" list --filter "$area/*" >o &&
	test "$(wc -l <o)" = "$(grep -c "^$area/" list)" &&
	"$VCTS" list --filter "$area/*" --exclude "$area/*" >o && test ! -s o
'

expect_success 'clauses --check: silent, exit 0' '"$VCTS" clauses --check >o 2>e && test ! -s o && test ! -s e'
expect_success 'clauses ID: the registry row' '
	"$VCTS" clauses DRV-2.7.5.2 INV-unshared-access >o &&
	grep -q "^DRV-2.7.5.2  driver  2.7.5.2 Driver Requirements: The Virtqueue Descriptor Table" o &&
	grep -q "^INV-unshared-access  invariant" o
'
expect_success 'clauses with an unknown id: one line, exit 2' '
	usage_error "^vcts: unknown clause '\''DRV-0.0'\''$" clauses DRV-0.0
'
expect_success 'clauses: every clause the catalogue cites, with its section' '
	"$VCTS" clauses >o &&
	for id in $(awk "{ \$1 = \"\"; \$2 = \"\"; \$3 = \"\"; print }" list | tr " " "\n" | sort -u); do
		grep -q "^$id " o || { echo "$id missing"; exit 1; }
	done
'

# A copy of the registry, broken in one way; VCTS_SPEC_DIR points at it.
corrupt() {
	rm -rf spec && cp -r "$VCTS_SRCDIR/spec" spec && "$@"
}
registry_error() {   # FILE-RE
	VCTS_SPEC_DIR=$TMP/spec usage_error "^vcts: $TMP/spec/$1$" list
}
expect_success 'corrupt registry: a wrong header' '
	corrupt sed -i "1s/section_title/title/" spec/normative-sections.tsv &&
	registry_error "normative-sections.tsv:1: header column 13 is .title., expected .section_title."
'
expect_success 'corrupt registry: a row missing a column' '
	corrupt sed -i "4s/\t[^\t]*\$//" spec/normative-sections.tsv &&
	registry_error "normative-sections.tsv:4: 18 columns, expected 19"
'
expect_success 'corrupt registry: a duplicate id' '
	corrupt sed -i "3s/^INV-dma-width/INV-unshared-access/" spec/invariants.tsv &&
	registry_error "invariants.tsv:3: duplicate id .INV-unshared-access. .*"
'
expect_success 'corrupt registry: a count that is not a number' '
	corrupt sed -i "2s/^\(\([^\t]*\t\)\{5\}\)[0-9]*/\1many/" spec/normative-sections.tsv &&
	registry_error "normative-sections.tsv:2: column .must. is .many., expected a number"
'
expect_success 'corrupt registry: an invariant relating to no clause' '
	corrupt sed -i "2s/\tDEV-6.2 /\tDEV-66.6 /" spec/invariants.tsv &&
	registry_error "invariants.tsv:2: related clause .DEV-66.6. .*"
'
expect_success 'a missing registry: one line, exit 2' '
	VCTS_SPEC_DIR=$TMP/nowhere usage_error "^vcts: $TMP/nowhere/normative-sections.tsv: cannot open: .*$" run
'

expect_success 'run --filter NAME: TAP on stdout, version and plan first' '
	first=$(awk "NR == 1 { print \$1 }" list) &&
	rc=0 && "$VCTS" run --filter "$first" >o 2>e || rc=$?
	test "$rc" -lt 2 &&
	test "$(sed -n 1p o)" = "TAP version 14" && test "$(sed -n 2p o)" = "1..1" &&
	test "$(grep -Ec "^(not )?ok " o)" = 1 &&
	line=$(grep -E "^(not )?ok " o) &&
	case $line in
	"ok 1 - $first" | "ok 1 - $first #"* | "not ok 1 - $first" | "not ok 1 - $first #"*) ;;
	*) echo "unexpected: $line"; exit 1 ;;
	esac
	if grep -q "^ok 1 " o; then test "$rc" = 0; else test "$rc" = 1; fi &&
	! grep -Eq "^(not )?ok " e
'
expect_success 'run --tap-version 13 output parses with prove' '
	first=$(awk "NR == 1 { print \$1 }" list) &&
	{ "$VCTS" run --tap-version 13 --filter "$first" >tap13 2>e || true; } &&
	test "$(sed -n 1p tap13)" = "TAP version 13" &&
	{ prove -e cat ./tap13 >p 2>&1 || true; } &&
	grep -q "Tests=1" p && ! grep -q "Parse errors" p
'

expect_success 'check-clauses: the tree cites only known ids' '
	cd "$VCTS_SRCDIR" &&
	harness/check-clauses.sh spec/normative-sections.tsv spec/invariants.tsv >"$TMP/o" 2>&1 &&
	test ! -s "$TMP/o"
'
expect_success 'check-clauses: an unknown id in a literal fails with file:line' '
	mkdir -p src &&
	printf "/* \"DRV-0.1\" */\nstatic const char *c = \"DRV-2.7.5.2 DEV-0.2\";\n" >src/x.c &&
	rc=0 && "$VCTS_SRCDIR/harness/check-clauses.sh" "$VCTS_SPEC_DIR/normative-sections.tsv" \
		"$VCTS_SPEC_DIR/invariants.tsv" src >o 2>e || rc=$?
	test "$rc" = 1 && one_line e && grep -qx "src/x.c:2: unknown clause DEV-0.2" e
'
