/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the selection language (harness/select.c): how terms are
 * read (KEY=..., KEY!=..., a bare name glob), what holds for an item,
 * several --filter OR'ed and --exclude, errors naming the keys and the
 * values; --shard I/N; the catalogue as text, TAP and JSON.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "harness/matrix/matrix.h"
#include "harness/select.h"

static const char *const roles[] = { "driver", "device" };
static const char *const rings[] = { "split", "packed" };
static const struct vt_sel_key keys[] = {
	{ "clause", NULL, 0 },
	{ "role", roles, 2 },
	{ "ring", rings, 2 },
	{ "area", NULL, 0 },
};

static struct vt_sel sel;
static char err[1024];

/* A test instance "split/avail[packed]" citing two clauses. */
static const struct vt_sel_attr avail_attrs[] = {
	{ "role", "driver" },
	{ "clause", "DRV-2.7.5.2" },
	{ "clause", "INV-unshared-access" },
	{ "ring", "packed" },
	{ "area", "split" },
};
static const struct vt_sel_item avail = { "split/avail[packed]", avail_attrs, 5 };

/* A device test with no ring attribute. */
static const struct vt_sel_attr used_attrs[] = {
	{ "role", "device" },
	{ "clause", "DEV-2.7.8.2" },
	{ "area", "used" },
};
static const struct vt_sel_item used = { "used/id-range", used_attrs, 3 };

static void fresh(void)
{
	vt_sel_init(&sel, keys, sizeof(keys) / sizeof(keys[0]));
	err[0] = '\0';
}

/* A selection of one --filter expr. */
static void filter(const char *expr)
{
	fresh();
	CU_ASSERT_EQUAL_FATAL(vt_sel_add(&sel, VT_SEL_FILTER, expr, err, sizeof(err)), 0);
}

static void test_no_filter_keeps_all(void)
{
	fresh();
	CU_ASSERT_FALSE(vt_sel_active(&sel));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
}

static void test_bare_glob_is_name(void)
{
	filter("split/*");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
	CU_ASSERT_TRUE(vt_sel_uses(&sel, vt_sel_name_key));
	/* an exact name matches itself though "[packed]" reads as a set */
	filter("split/avail[packed]");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	/* the glob form of the same */
	filter("split/avail[[]packed]");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	/* name=... is the same as the bare term */
	filter("name=used/*");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
}

static void test_key_equals(void)
{
	filter("role=device");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	filter("role=driver|device");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	/* blanks around terms and values do not count */
	filter(" role = device | driver , area=used ");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
}

static void test_multi_valued_clause(void)
{
	filter("clause=INV-unshared-access");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));     /* its second clause */
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
	filter("clause=DRV-2.7.*");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
	filter("clause=D?V-2.7.*");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
}

static void test_key_not_equals(void)
{
	/* no value of the key matches: with several values, none may */
	filter("clause!=INV-unshared-access");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	/* an item without the key holds KEY!=... and not KEY=... */
	filter("ring!=packed");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	filter("ring=split|packed");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
}

static void test_terms_and_filters_or_exclude(void)
{
	filter("area=split,role=device");       /* both must hold */
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
	/* several --filter: any may hold */
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "area=used", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "split/*", err, sizeof(err)), 0);
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	/* an --exclude takes out what any filter kept */
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_EXCLUDE, "role=device", err, sizeof(err)), 0);
	CU_ASSERT_TRUE(vt_sel_match(&sel, &avail));
	CU_ASSERT_FALSE(vt_sel_match(&sel, &used));
	/* an --exclude alone: everything else */
	fresh();
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_EXCLUDE, "*[[]*", err, sizeof(err)), 0);
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
}

static void test_missed_filter(void)
{
	fresh();
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "area=used", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "area=nowhere", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_EXCLUDE, "area=used", err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(vt_sel_missed(&sel), "area=used");   /* nothing taken yet */
	CU_ASSERT_FALSE(vt_sel_take(&sel, &used));    /* held, then excluded: still a hit */
	CU_ASSERT_FALSE(vt_sel_take(&sel, &avail));
	CU_ASSERT_STRING_EQUAL(vt_sel_missed(&sel), "area=nowhere");
}

/* expr must be refused with a message holding each of the words. */
static void refused(const char *expr, const char *w1, const char *w2)
{
	fresh();
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, expr, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, w1));
	if (w2)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, w2));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	CU_ASSERT_FALSE(vt_sel_active(&sel));          /* nothing half-added */
}

static void test_errors(void)
{
	refused("colour=red", "unknown key 'colour'", "keys: name, clause, role, ring, area");
	refused("role=drivre", "unknown value 'drivre'", "values: driver, device");
	refused("role!=x,area=a", "unknown value 'x'", NULL);
	refused("area=a,,role=driver", "empty term", NULL);
	refused("", "empty term", NULL);
	refused("area=", "empty value", NULL);
	refused("area=a||b", "empty value", NULL);
	/* a glob is not checked against the values */
	filter("role=dev*");
	CU_ASSERT_TRUE(vt_sel_match(&sel, &used));
	/* not a key word before '=': a name glob, whatever follows */
	filter("split/x[y=z]");
	CU_ASSERT_FALSE(vt_sel_match(&sel, &avail));
	CU_ASSERT_FALSE(vt_sel_uses(&sel, "area"));
}

static void test_several_tables(void)
{
	static const struct vt_sel_key more[] = { { "role", NULL, 0 }, { "guest", NULL, 0 } };
	fresh();
	CU_ASSERT_EQUAL(vt_sel_add_keys(&sel, more, 2), 0);
	/* a value another table leaves open is fine; keys listed once */
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "role=other", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "guest=q35", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "x=1", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "(keys: name, clause, role, ring, area, guest)"));
}

static void test_limits(void)
{
	char big[VT_SEL_MAX_TEXT + 16];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "longer than", NULL);
	fresh();
	for (unsigned i = 0; i < VT_SEL_MAX_EXPRS; i++)
		CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "a/b", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "a/b", err, sizeof(err)), -1);
}

static void test_shard_parse(void)
{
	static const char *const bad[] = { "0/3", "4/3", "1/0", "x/y", "1/1001", "1", "/3", "1/",
					   "1/3/5", "-1/3", " 1/3", "1/3 ", "+1/3", "" };
	struct vt_sel_shard sh;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(vt_sel_shard_parse(bad[i], &sh, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 <= I <= N <= 1000"));
	}
	CU_ASSERT_EQUAL(vt_sel_shard_parse("3/1000", &sh, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(sh.index, 3);
	CU_ASSERT_EQUAL(sh.count, 1000);
	CU_ASSERT_EQUAL(vt_sel_shard_parse("1/1", &sh, err, sizeof(err)), 0);
}

static void test_shards_partition(void)
{
	/* every unit in exactly one shard; sizes add up; I-1 first */
	for (unsigned n = 1; n <= 7; n++)
		for (uint64_t total = 0; total <= 20; total++) {
			uint64_t sum = 0;
			for (uint64_t u = 0; u < total; u++) {
				unsigned owners = 0;
				for (unsigned i = 1; i <= n; i++)
					owners += vt_sel_shard_takes(&(struct vt_sel_shard){ i, n }, u);
				CU_ASSERT_EQUAL(owners, 1);
			}
			for (unsigned i = 1; i <= n; i++) {
				struct vt_sel_shard sh = { i, n };
				uint64_t k = 0;
				for (uint64_t u = 0; u < total; u++)
					k += vt_sel_shard_takes(&sh, u);
				CU_ASSERT_EQUAL(vt_sel_shard_size(&sh, total), k);
				sum += k;
			}
			CU_ASSERT_EQUAL(sum, total);
		}
	struct vt_sel_shard none = { 0, 0 };
	CU_ASSERT_TRUE(vt_sel_shard_takes(&none, 12345));
	CU_ASSERT_EQUAL(vt_sel_shard_size(&none, 17), 17);
	CU_ASSERT_TRUE(vt_sel_shard_takes(&(struct vt_sel_shard){ 2, 3 }, 1));
	CU_ASSERT_FALSE(vt_sel_shard_takes(&(struct vt_sel_shard){ 2, 3 }, 0));
}

/* ---- the catalogue ---- */

static char *out;
static size_t outlen;

static char *written(const struct vt_sel_list *l, enum vt_sel_format fmt,
		     const struct vt_sel_shard *sh)
{
	free(out);
	out = NULL;
	FILE *f = open_memstream(&out, &outlen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(vt_sel_list_write(l, f, fmt, sh, 14), 0);
	fclose(f);
	return out;
}

static struct vt_sel_list *two_items(void)
{
	static const struct vt_sel_attr odd_attrs[] = {
		{ "role", "driver" }, { "role", "device" }, { "note", "a \"quoted\"\\\n\tline\x01" },
	};
	static const struct vt_sel_item odd = { "odd # name", odd_attrs, 3 };
	struct vt_sel_list *l = vt_sel_list_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(vt_sel_list_add(l, "test", &avail), 0);
	CU_ASSERT_EQUAL(vt_sel_list_add(l, "matrix-cell", &odd), 0);
	vt_sel_list_units(l, 2, 5, "point");
	return l;
}

static void test_list_text(void)
{
	struct vt_sel_list *l = two_items();
	const char *t = written(l, VT_SEL_TEXT, NULL);
	CU_ASSERT_STRING_EQUAL(t,
		"split/avail[packed]  driver         -       DRV-2.7.5.2 INV-unshared-access\n"
		"odd # name           driver,device  -       \n");
	vt_sel_list_free(l);
}

static void test_list_json(void)
{
	struct vt_sel_list *l = two_items();
	const char *t = written(l, VT_SEL_JSON, NULL);
	CU_ASSERT_STRING_EQUAL(t,
		"{\"vcts\": \"" VCTS_VERSION "\", \"items\": [\n"
		"  {\"kind\": \"test\", \"name\": \"split/avail[packed]\", \"role\": \"driver\", "
		"\"clauses\": [\"DRV-2.7.5.2\", \"INV-unshared-access\"], \"ring\": \"packed\", "
		"\"area\": \"split\"},\n"
		"  {\"kind\": \"matrix-cell\", \"name\": \"odd # name\", \"role\": [\"driver\", "
		"\"device\"], \"clauses\": [], \"note\": \"a \\\"quoted\\\"\\\\\\n\\tline\\u0001\"}\n"
		"]}\n");
	struct vt_sel_shard sh = { 2, 3 };
	t = written(l, VT_SEL_JSON, &sh);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"shard\": {\"index\": 2, \"count\": 3, \"units\": 2, "
				      "\"total\": 5, \"unit\": \"point\"}"));
	vt_sel_list_free(l);
	l = vt_sel_list_new();
	CU_ASSERT_STRING_EQUAL(written(l, VT_SEL_JSON, NULL),
			       "{\"vcts\": \"" VCTS_VERSION "\", \"items\": []}\n");
	vt_sel_list_free(l);
}

static void test_list_tap(void)
{
	struct vt_sel_list *l = two_items();
	struct vt_sel_shard sh = { 1, 2 };
	const char *t = written(l, VT_SEL_TAP, &sh);
	CU_ASSERT_STRING_EQUAL(t,
		"TAP version 14\n"
		"1..2\n"
		"# vcts-shard 1/2 units=2 total=5 unit=point\n"
		"ok 1 - split/avail[packed] # SKIP listed\n"
		"  ---\n"
		"  kind: \"test\"\n"
		"  role: \"driver\"\n"
		"  clauses:\n"
		"    - \"DRV-2.7.5.2\"\n"
		"    - \"INV-unshared-access\"\n"
		"  ring: \"packed\"\n"
		"  area: \"split\"\n"
		"  ...\n"
		"ok 2 - odd \\# name # SKIP listed\n"
		"  ---\n"
		"  kind: \"matrix-cell\"\n"
		"  role:\n"
		"    - \"driver\"\n"
		"    - \"device\"\n"
		"  note: \"a \\\"quoted\\\"\\\\\\n\\tline\\u0001\"\n"
		"  ...\n");
	vt_sel_list_free(l);
	/* a shard with no unit */
	l = vt_sel_list_new();
	vt_sel_list_units(l, 0, 1, "guest");
	sh = (struct vt_sel_shard){ 2, 2 };
	CU_ASSERT_STRING_EQUAL(written(l, VT_SEL_TAP, &sh),
			       "TAP version 14\n"
			       "1..0 # SKIP no units in shard 2/2\n"
			       "# vcts-shard 2/2 units=0 total=1 unit=guest\n");
	vt_sel_list_free(l);
}

/* ---- a matrix cell as an item ---- */

static void test_matrix_cell(void)
{
	static struct vt_profile p;
	struct vt_mx_cell c = { { 0 } };
	struct vt_mx_expected e;
	struct vt_mx_item d;
	strcpy(p.name, "made-up");
	c.v[MX_SECURE] = 1;
	c.v[MX_RING] = MX_PACKED;
	memset(&e, 0, sizeof(e));
	e.outcome = MX_LIVE;
	e.hazard = "INV-unshared-access";
	e.invariants = MX_INV_UNSHARED | MX_INV_INTEGRITY;

	const struct vt_sel_key *k;
	unsigned n;
	vt_mx_keys(&k, &n);
	vt_sel_init(&sel, k, n);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "expect=live,ring=packed,secure=on", err,
				   sizeof(err)), 0);
	CU_ASSERT_TRUE(vt_mx_match(&sel, &p, &c, &e));
	/* a hazard cell is live and a hazard */
	vt_sel_init(&sel, k, n);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "expect=live,expect!=hazard", err,
				   sizeof(err)), 0);
	CU_ASSERT_FALSE(vt_mx_match(&sel, &p, &c, &e));
	vt_sel_init(&sel, k, n);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "clause=INV-unshared-access,profile=made-up,"
				   "name=*secure=on*", err, sizeof(err)), 0);
	CU_ASSERT_TRUE(vt_mx_match(&sel, &p, &c, &e));
	vt_sel_init(&sel, k, n);
	CU_ASSERT_EQUAL(vt_sel_add(&sel, VT_SEL_FILTER, "width=40", err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "values: 32, 39, 48, 64"));
	/* the one-expression form of the matrix */
	struct vt_mx_filter *f = vt_mx_filter_parse("device=echo|blk,translation!=iommu*", err,
						    sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_TRUE(vt_mx_filter_match(f, &c, &e));
	vt_mx_filter_free(f);
	vt_mx_describe(&p, &c, &e, MX_ITEM_NAME, &d);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.item.name, "secure=on translation=none"));
}

static const struct unit_test tests[] = {
	{ "no filter keeps every item", test_no_filter_keeps_all },
	{ "a bare term is a name glob, an exact name matches itself", test_bare_glob_is_name },
	{ "KEY=V1|V2", test_key_equals },
	{ "a key with several values: any of them", test_multi_valued_clause },
	{ "KEY!=V: no value matches", test_key_not_equals },
	{ "terms AND, --filter OR, --exclude removes", test_terms_and_filters_or_exclude },
	{ "a --filter that held for nothing is named", test_missed_filter },
	{ "errors name the keys and the values", test_errors },
	{ "keys of several catalogues", test_several_tables },
	{ "limits are errors, not overflows", test_limits },
	{ "--shard I/N: what is refused", test_shard_parse },
	{ "shards partition the units", test_shards_partition },
	{ "list as text", test_list_text },
	{ "list as JSON, escaped", test_list_json },
	{ "list as TAP with YAML", test_list_tap },
	{ "a matrix cell as an item", test_matrix_cell },
};

int main(void)
{
	int rc = UNIT_RUN("select", tests);
	free(out);
	return rc;
}
