/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catalogue.c - the catalogue of selected items that `vcts list` and the
 * --list of the commands print: aligned text, TAP ("ok i - NAME # SKIP
 * listed" with the attributes in YAML) or one JSON document.  Items are
 * copied into an arena and their keys interned; the format is in select.h.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "select.h"

int vt_sel_format_parse(const char *s, enum vt_sel_format *f)
{
	static const char *const names[] = { [VT_SEL_TEXT] = "text", [VT_SEL_TAP] = "tap",
					     [VT_SEL_JSON] = "json" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*f = (enum vt_sel_format)i;
			return 0;
		}
	return -1;
}

#define MAX_KEYS     64       /* distinct keys and kinds, interned */

struct list_item {
	const char *kind;
	const char *name;
	size_t attr0;
	unsigned nattr;
};

struct vt_sel_list {
	struct list_item *item;
	size_t nitem, capitem;
	struct vt_sel_attr *attr;
	size_t nattr, capattr;
	struct vt_arena strings;  /* names, values, interned keys */
	const char *interned[MAX_KEYS];
	unsigned ninterned;
	uint64_t units, total;    /* shard accounting, summed over catalogues */
	const char *unit;         /* "point", "guest" or "mixed"               */
	bool oom;
};

struct vt_sel_list *vt_sel_list_new(void)
{
	return calloc(1, sizeof(struct vt_sel_list));
}

void vt_sel_list_free(struct vt_sel_list *l)
{
	if (!l)
		return;
	vt_arena_free(&l->strings);
	free(l->item);
	free(l->attr);
	free(l);
}

static const char *copy_string(struct vt_sel_list *l, const char *s)
{
	return vt_arena_strdup(&l->strings, s);
}

/* Keys and kinds repeat on every item: one copy each. */
static const char *intern(struct vt_sel_list *l, const char *s)
{
	for (unsigned i = 0; i < l->ninterned; i++)
		if (strcmp(l->interned[i], s) == 0)
			return l->interned[i];
	const char *d = copy_string(l, s);
	if (d && l->ninterned < MAX_KEYS)
		l->interned[l->ninterned++] = d;
	return d;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

int vt_sel_list_add(struct vt_sel_list *l, const char *kind, const struct vt_sel_item *it)
{
	if (l->oom || !grow((void **)&l->item, &l->capitem, l->nitem + 1, sizeof(*l->item)) ||
	    !grow((void **)&l->attr, &l->capattr, l->nattr + it->nattr, sizeof(*l->attr)))
		goto oom;
	struct list_item *li = &l->item[l->nitem];
	li->kind = intern(l, kind);
	li->name = copy_string(l, it->name ? it->name : "");
	li->attr0 = l->nattr;
	li->nattr = 0;
	if (!li->kind || !li->name)
		goto oom;
	for (unsigned a = 0; a < it->nattr; a++) {
		if (!it->attr[a].value)
			continue;
		struct vt_sel_attr *d = &l->attr[l->nattr + li->nattr];
		d->key = intern(l, it->attr[a].key);
		d->value = copy_string(l, it->attr[a].value);
		if (!d->key || !d->value)
			goto oom;
		li->nattr++;
	}
	l->nattr += li->nattr;
	l->nitem++;
	return 0;
oom:
	l->oom = true;
	return -1;
}

void vt_sel_list_units(struct vt_sel_list *l, uint64_t units, uint64_t total, const char *unit)
{
	l->units += units;
	l->total += total;
	if (!l->unit)
		l->unit = unit;
	else if (strcmp(l->unit, unit) != 0)
		l->unit = "mixed";
}

/* ---- writing ---- */

/* The values of key in item i: how many, and the first. */
static unsigned values_of(const struct vt_sel_list *l, const struct list_item *li,
			  const char *key, const char **first)
{
	unsigned n = 0;
	*first = NULL;
	for (unsigned a = 0; a < li->nattr; a++) {
		const struct vt_sel_attr *at = &l->attr[li->attr0 + a];
		if (strcmp(at->key, key) == 0) {
			if (!n)
				*first = at->value;
			n++;
		}
	}
	return n;
}

/* Every value of key in item i, joined by sep ("" when none). */
static void join_values(const struct vt_sel_list *l, const struct list_item *li, const char *key,
			const char *sep, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned a = 0; a < li->nattr && off < len; a++) {
		const struct vt_sel_attr *at = &l->attr[li->attr0 + a];
		if (strcmp(at->key, key) == 0)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? sep : "",
						at->value);
	}
}

/* Is attribute a of the item the first one with its key? */
static bool first_of_key(const struct vt_sel_list *l, const struct list_item *li, unsigned a)
{
	const char *key = l->attr[li->attr0 + a].key;
	for (unsigned b = 0; b < a; b++)
		if (l->attr[li->attr0 + b].key == key)     /* interned */
			return false;
	return true;
}

/* Keys written first, in this order; clause as the list "clauses". */
static bool leading_key(const char *key)
{
	return strcmp(key, "role") == 0 || strcmp(key, "transport") == 0 ||
	       strcmp(key, "clause") == 0;
}

/* name  role  transport  clauses, aligned as `vcts list` always was. */
static void write_text(const struct vt_sel_list *l, FILE *f)
{
	int wname = 4, wrole = 6, wtrans = 6;
	char role[128], clauses[2048];
	const char *trans;

	for (size_t i = 0; i < l->nitem; i++) {
		const struct list_item *li = &l->item[i];
		join_values(l, li, "role", ",", role, sizeof(role));
		values_of(l, li, "transport", &trans);
		if ((int)strlen(li->name) > wname)
			wname = (int)strlen(li->name);
		if ((int)strlen(role) > wrole)
			wrole = (int)strlen(role);
		if (trans && (int)strlen(trans) > wtrans)
			wtrans = (int)strlen(trans);
	}
	for (size_t i = 0; i < l->nitem; i++) {
		const struct list_item *li = &l->item[i];
		join_values(l, li, "role", ",", role, sizeof(role));
		join_values(l, li, "clause", " ", clauses, sizeof(clauses));
		values_of(l, li, "transport", &trans);
		fprintf(f, "%-*s  %-*s  %-*s  %s\n", wname, li->name, wrole, role[0] ? role : "-",
			wtrans, trans ? trans : "-", clauses);
	}
}

/* ---- JSON ---- */

/* A JSON string: vt_tap_yaml_quote writes JSON-compatible escapes. */
static void json_string(FILE *f, const char *s)
{
	vt_tap_yaml_quote(f, s);
}

/* "key": "v" for one value, "key": ["v1", "v2"] for several (clauses
 * always a list). */
static void json_attr(FILE *f, const struct vt_sel_list *l, const struct list_item *li,
		      const char *key)
{
	const char *first;
	bool clauses = strcmp(key, "clause") == 0;
	unsigned n = values_of(l, li, key, &first);
	if (!n && !clauses)
		return;
	fputs(", ", f);
	json_string(f, clauses ? "clauses" : key);
	fputs(": ", f);
	if (n == 1 && !clauses) {
		json_string(f, first);
		return;
	}
	fputc('[', f);
	unsigned k = 0;
	for (unsigned a = 0; a < li->nattr; a++) {
		const struct vt_sel_attr *at = &l->attr[li->attr0 + a];
		if (strcmp(at->key, key) != 0)
			continue;
		fputs(k++ ? ", " : "", f);
		json_string(f, at->value);
	}
	fputc(']', f);
}

static void json_item(FILE *f, const struct vt_sel_list *l, const struct list_item *li)
{
	fputs("{\"kind\": ", f);
	json_string(f, li->kind);
	fputs(", \"name\": ", f);
	json_string(f, li->name);
	json_attr(f, l, li, "role");
	json_attr(f, l, li, "transport");
	json_attr(f, l, li, "clause");
	for (unsigned a = 0; a < li->nattr; a++) {
		const char *key = l->attr[li->attr0 + a].key;
		if (!leading_key(key) && first_of_key(l, li, a))
			json_attr(f, l, li, key);
	}
	fputc('}', f);
}

static void write_json(const struct vt_sel_list *l, FILE *f, const struct vt_sel_shard *sh)
{
	fputs("{\"vcts\": ", f);
	json_string(f, VCTS_VERSION);
	if (sh && sh->count) {
		fprintf(f, ", \"shard\": {\"index\": %u, \"count\": %u, \"units\": %llu, "
			"\"total\": %llu, \"unit\": ", sh->index, sh->count,
			(unsigned long long)l->units, (unsigned long long)l->total);
		json_string(f, l->unit ? l->unit : "point");
		fputc('}', f);
	}
	fputs(", \"items\": [", f);
	for (size_t i = 0; i < l->nitem; i++) {
		fputs(i ? ",\n  " : "\n  ", f);
		json_item(f, l, &l->item[i]);
	}
	fputs(l->nitem ? "\n]}\n" : "]}\n", f);
}

/* ---- TAP ---- */

static void yaml_attr(FILE *f, const struct vt_sel_list *l, const struct list_item *li,
		      const char *key)
{
	const char *first;
	bool clauses = strcmp(key, "clause") == 0;
	unsigned n = values_of(l, li, key, &first);
	if (!n)
		return;
	fprintf(f, "  %s:", clauses ? "clauses" : key);
	if (n == 1 && !clauses) {
		fputc(' ', f);
		vt_tap_yaml_quote(f, first);
		fputc('\n', f);
		return;
	}
	fputc('\n', f);
	for (unsigned a = 0; a < li->nattr; a++) {
		const struct vt_sel_attr *at = &l->attr[li->attr0 + a];
		if (strcmp(at->key, key) != 0)
			continue;
		fputs("    - ", f);
		vt_tap_yaml_quote(f, at->value);
		fputc('\n', f);
	}
}

static void tap_item(struct vt_tap *t, const struct vt_sel_list *l, const struct list_item *li)
{
	vt_tap_result(t, VT_SKIP, li->name, "listed");
	fputs("  ---\n  kind: ", t->f);
	vt_tap_yaml_quote(t->f, li->kind);
	fputc('\n', t->f);
	yaml_attr(t->f, l, li, "role");
	yaml_attr(t->f, l, li, "transport");
	yaml_attr(t->f, l, li, "clause");
	for (unsigned a = 0; a < li->nattr; a++) {
		const char *key = l->attr[li->attr0 + a].key;
		if (!leading_key(key) && first_of_key(l, li, a))
			yaml_attr(t->f, l, li, key);
	}
	fputs("  ...\n", t->f);
}

static void write_tap(const struct vt_sel_list *l, FILE *f, const struct vt_sel_shard *sh,
		      unsigned tap_version)
{
	struct vt_tap t;
	const char *unit = l->unit ? l->unit : "point";
	vt_tap_start(&t, f, tap_version);
	if (sh && sh->count && !l->units) {
		vt_sel_shard_skip_all(&t, sh, l->total, unit);
		return;
	}
	if (!l->nitem)
		vt_tap_skip_all(&t, "nothing listed");
	else
		vt_tap_plan(&t, (unsigned)l->nitem);
	vt_sel_shard_line(&t, sh, l->units, l->total, unit);
	for (size_t i = 0; i < l->nitem; i++)
		tap_item(&t, l, &l->item[i]);
}

int vt_sel_list_write(const struct vt_sel_list *l, FILE *f, enum vt_sel_format fmt,
		      const struct vt_sel_shard *sh, unsigned tap_version)
{
	if (l->oom)
		return -1;
	switch (fmt) {
	case VT_SEL_TAP:
		write_tap(l, f, sh, tap_version);
		break;
	case VT_SEL_JSON:
		write_json(l, f, sh);
		break;
	default:
		write_text(l, f);
		break;
	}
	return fflush(f) || ferror(f) ? -1 : 0;
}
