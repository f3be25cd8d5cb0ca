/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * select.c - the selection language (--filter, --exclude) and shards
 * (--shard I/N); the catalogue they feed is catalogue.c.
 * The grammar and its rules are in select.h.
 *
 * Expressions are parsed once into fixed arrays inside struct vt_sel;
 * matching walks them against an item's attributes with strcmp (fnmatch
 * only for values holding a glob character): nothing is allocated.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

const char vt_sel_name_key[] = "name";

/* ---- parsing ---- */

void vt_sel_init(struct vt_sel *s, const struct vt_sel_key *keys, unsigned nkeys)
{
	memset(s, 0, sizeof(*s));
	if (keys && nkeys)
		vt_sel_add_keys(s, keys, nkeys);
}

int vt_sel_add_keys(struct vt_sel *s, const struct vt_sel_key *keys, unsigned nkeys)
{
	if (s->ntables == VT_SEL_MAX_TABLES)
		return -1;
	s->table[s->ntables] = keys;
	s->ntable[s->ntables++] = nkeys;
	return 0;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool has_glob(const char *v)
{
	return strpbrk(v, "*?[") != NULL;
}

static void trim(const char **p, size_t *len)
{
	while (*len && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

/* Copy len bytes into the text buffer, NUL-terminated; NULL when full. */
static const char *keep_text(struct vt_sel *s, const char *p, size_t len)
{
	if (len + 1 > sizeof(s->text) - s->used)
		return NULL;
	char *d = s->text + s->used;
	memcpy(d, p, len);
	d[len] = '\0';
	s->used += (unsigned)len + 1;
	return d;
}

/* The canonical name of key (len bytes) from the tables, or NULL. */
static const char *find_key(const struct vt_sel *s, const char *k, size_t len)
{
	if (len == 4 && strncmp(k, "name", 4) == 0)
		return vt_sel_name_key;
	for (unsigned t = 0; t < s->ntables; t++)
		for (unsigned i = 0; i < s->ntable[t]; i++) {
			const char *n = s->table[t][i].name;
			if (strlen(n) == len && strncmp(n, k, len) == 0)
				return n;
		}
	return NULL;
}

/* Is key among the first `upto` keys of table t, or of an earlier table? */
static bool key_seen(const struct vt_sel *s, unsigned t, unsigned upto, const char *key)
{
	for (unsigned u = 0; u <= t; u++)
		for (unsigned i = 0; i < (u == t ? upto : s->ntable[u]); i++)
			if (strcmp(s->table[u][i].name, key) == 0)
				return true;
	return false;
}

/* "name, clause, role, ...": every key known, once. */
static void key_names(const struct vt_sel *s, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "name");
	for (unsigned t = 0; t < s->ntables; t++)
		for (unsigned i = 0; i < s->ntable[t] && off < len; i++) {
			const char *n = s->table[t][i].name;
			if (strcmp(n, "name") == 0 || key_seen(s, t, i, n))
				continue;
			off += (size_t)snprintf(buf + off, len - off, ", %s", n);
		}
}

/* May a plain value v be given for key?  Yes when some table leaves the
 * key open or lists v.  Fills `vals` with the values the first table
 * lists otherwise. */
static bool value_known(const struct vt_sel *s, const char *key, const char *v, char *vals,
			size_t len)
{
	size_t off = 0;
	bool listed = false;
	vals[0] = '\0';
	if (key == vt_sel_name_key)
		return true;
	for (unsigned t = 0; t < s->ntables; t++)
		for (unsigned i = 0; i < s->ntable[t]; i++) {
			const struct vt_sel_key *k = &s->table[t][i];
			if (strcmp(k->name, key) != 0)
				continue;
			if (!k->nvalues)
				return true;
			for (unsigned j = 0; j < k->nvalues; j++) {
				if (strcmp(k->values[j], v) == 0)
					return true;
				if (!listed && off < len)
					off += (size_t)snprintf(vals + off, len - off, "%s%s",
								off ? ", " : "", k->values[j]);
			}
			listed = true;
		}
	return false;
}

/* The values of one term, '|'-separated, p..p+len. */
static int parse_values(struct vt_sel *s, struct vt_sel_term *t, const char *p, size_t len,
			const char *term, size_t tlen, char *err, size_t errlen)
{
	const char *end = p + len;
	t->first = (uint16_t)s->nvalue;
	t->n = 0;
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		const char *v = p;
		size_t vlen = (size_t)((bar ? bar : end) - p);
		trim(&v, &vlen);
		if (!vlen) {
			snprintf(err, errlen, "empty value in '%.*s'", (int)tlen, term);
			return -1;
		}
		if (s->nvalue == VT_SEL_MAX_VALUES) {
			snprintf(err, errlen, "more than %d values in all", VT_SEL_MAX_VALUES);
			return -1;
		}
		const char *text = keep_text(s, v, vlen);
		if (!text) {
			snprintf(err, errlen, "expressions longer than %d bytes in all",
				 VT_SEL_MAX_TEXT);
			return -1;
		}
		char vals[256];
		bool glob = has_glob(text);
		if (!glob && !value_known(s, t->key, text, vals, sizeof(vals))) {
			snprintf(err, errlen, "unknown value '%s' for %s in '%.*s' (values: %s)", text,
				 t->key, (int)tlen, term, vals);
			return -1;
		}
		s->value[s->nvalue++] = (struct vt_sel_value){ text, glob };
		t->n++;
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

/* One term, p..p+len (not NUL-terminated). */
static int parse_term(struct vt_sel *s, const char *p, size_t len, char *err, size_t errlen)
{
	trim(&p, &len);
	if (!len) {
		snprintf(err, errlen, "empty term (terms are KEY=V1|V2, KEY!=V1|V2 or a name glob, "
			 "joined by ',')");
		return -1;
	}
	if (s->nterm == VT_SEL_MAX_TERMS) {
		snprintf(err, errlen, "more than %d terms in all", VT_SEL_MAX_TERMS);
		return -1;
	}
	struct vt_sel_term *t = &s->term[s->nterm];
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : 0;
	bool negated = klen && p[klen - 1] == '!';
	const char *k = p;
	size_t kl = klen - (negated ? 1 : 0);
	trim(&k, &kl);
	bool keyed = eq && kl;
	for (size_t i = 0; keyed && i < kl; i++)
		keyed = is_key_char(k[i]);
	if (!keyed) {
		/* a bare glob: name=GLOB */
		t->key = vt_sel_name_key;
		t->negated = false;
		if (parse_values(s, t, p, len, p, len, err, errlen))
			return -1;
		s->nterm++;
		return 0;
	}
	t->key = find_key(s, k, kl);
	t->negated = negated;
	if (!t->key) {
		char names[512];
		key_names(s, names, sizeof(names));
		snprintf(err, errlen, "unknown key '%.*s' in '%.*s' (keys: %s)", (int)kl, k, (int)len,
			 p, names);
		return -1;
	}
	if (parse_values(s, t, eq + 1, len - klen - 1, p, len, err, errlen))
		return -1;
	s->nterm++;
	return 0;
}

int vt_sel_add(struct vt_sel *s, enum vt_sel_kind kind, const char *expr, char *err,
	       size_t errlen)
{
	unsigned nterm = s->nterm, nvalue = s->nvalue, used = s->used;
	if (s->nexpr == VT_SEL_MAX_EXPRS) {
		snprintf(err, errlen, "more than %d --filter and --exclude in all",
			 VT_SEL_MAX_EXPRS);
		return -1;
	}
	struct vt_sel_expr *e = &s->expr[s->nexpr];
	e->exclude = kind == VT_SEL_EXCLUDE;
	e->first = (uint16_t)s->nterm;
	e->text = keep_text(s, expr, strlen(expr));
	if (!e->text) {
		snprintf(err, errlen, "expressions longer than %d bytes in all", VT_SEL_MAX_TEXT);
		return -1;
	}
	for (const char *p = expr;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_term(s, p, len, err, errlen)) {
			s->nterm = nterm;          /* leave the selection as it was */
			s->nvalue = nvalue;
			s->used = used;
			return -1;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	e->n = (uint16_t)(s->nterm - e->first);
	s->nexpr++;
	s->nfilter += !e->exclude;
	return 0;
}

/* ---- matching ---- */

static bool value_matches(const struct vt_sel_value *v, const char *str)
{
	return strcmp(v->text, str) == 0 || (v->glob && fnmatch(v->text, str, 0) == 0);
}

static bool any_value_matches(const struct vt_sel *s, const struct vt_sel_term *t,
			      const char *str)
{
	for (unsigned i = t->first; i < (unsigned)t->first + t->n; i++)
		if (value_matches(&s->value[i], str))
			return true;
	return false;
}

static bool same_key(const char *a, const char *b)
{
	return a == b || strcmp(a, b) == 0;
}

/* KEY=V: some value of KEY matches; KEY!=V: none does. */
static bool term_holds(const struct vt_sel *s, const struct vt_sel_term *t,
		       const struct vt_sel_item *it)
{
	bool found = false;
	if (t->key == vt_sel_name_key) {
		found = it->name && any_value_matches(s, t, it->name);
	} else {
		for (unsigned a = 0; a < it->nattr && !found; a++)
			found = it->attr[a].value && same_key(it->attr[a].key, t->key) &&
				any_value_matches(s, t, it->attr[a].value);
	}
	return found != t->negated;
}

static bool expr_holds(const struct vt_sel *s, const struct vt_sel_expr *e,
		       const struct vt_sel_item *it)
{
	for (unsigned i = e->first; i < (unsigned)e->first + e->n; i++)
		if (!term_holds(s, &s->term[i], it))
			return false;
	return true;
}

/* The --filter side; hits (if not NULL) gets a bit per --filter held. */
static bool filtered_in(const struct vt_sel *s, const struct vt_sel_item *it, uint64_t *hits)
{
	bool kept = s->nfilter == 0;
	unsigned k = 0;
	for (unsigned i = 0; i < s->nexpr; i++) {
		const struct vt_sel_expr *e = &s->expr[i];
		if (e->exclude)
			continue;
		if (kept && !hits)
			break;
		if (expr_holds(s, e, it)) {
			kept = true;
			if (hits)
				*hits |= 1ull << k;
		}
		k++;
	}
	return kept;
}

static bool excluded(const struct vt_sel *s, const struct vt_sel_item *it)
{
	for (unsigned i = 0; i < s->nexpr; i++)
		if (s->expr[i].exclude && expr_holds(s, &s->expr[i], it))
			return true;
	return false;
}

bool vt_sel_match(const struct vt_sel *s, const struct vt_sel_item *it)
{
	return filtered_in(s, it, NULL) && !excluded(s, it);
}

bool vt_sel_take(struct vt_sel *s, const struct vt_sel_item *it)
{
	return filtered_in(s, it, &s->hits) && !excluded(s, it);
}

const char *vt_sel_missed(const struct vt_sel *s)
{
	unsigned k = 0;
	for (unsigned i = 0; i < s->nexpr; i++) {
		if (s->expr[i].exclude)
			continue;
		if (!(s->hits & (1ull << k)))
			return s->expr[i].text;
		k++;
	}
	return NULL;
}

bool vt_sel_uses(const struct vt_sel *s, const char *key)
{
	for (unsigned i = 0; i < s->nterm; i++)
		if (same_key(s->term[i].key, key))
			return true;
	return false;
}

bool vt_sel_active(const struct vt_sel *s)
{
	return s->nexpr != 0;
}

/* ---- shards ---- */

/* A decimal number 1..VT_SEL_MAX_SHARDS, digits only. */
static bool shard_number(const char *p, size_t len, unsigned *out)
{
	unsigned v = 0;
	if (!len || len > 4)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return v >= 1 && v <= VT_SEL_MAX_SHARDS;
}

int vt_sel_shard_parse(const char *spec, struct vt_sel_shard *sh, char *err, size_t errlen)
{
	const char *slash = strchr(spec, '/');
	unsigned i = 0, n = 0;
	if (!slash || !shard_number(spec, (size_t)(slash - spec), &i) ||
	    !shard_number(slash + 1, strlen(slash + 1), &n) || i > n) {
		snprintf(err, errlen, "--shard wants I/N with 1 <= I <= N <= %d, not '%s'",
			 VT_SEL_MAX_SHARDS, spec);
		return -1;
	}
	sh->index = i;
	sh->count = n;
	return 0;
}

bool vt_sel_shard_takes(const struct vt_sel_shard *sh, uint64_t u)
{
	return !sh || !sh->count || u % sh->count == sh->index - 1;
}

uint64_t vt_sel_shard_size(const struct vt_sel_shard *sh, uint64_t total)
{
	if (!sh || !sh->count)
		return total;
	return total >= sh->index ? (total - sh->index) / sh->count + 1 : 0;
}

void vt_sel_shard_line(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t units,
		       uint64_t total, const char *unit)
{
	if (!sh || !sh->count)
		return;
	vt_tap_diag(t, "vcts-shard %u/%u units=%llu total=%llu unit=%s", sh->index, sh->count,
		    (unsigned long long)units, (unsigned long long)total, unit);
}

/* "1..0 # SKIP no units in shard I/N" and the shard line. */
void vt_sel_shard_skip_all(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
			   const char *unit)
{
	char why[64];
	snprintf(why, sizeof(why), "no units in shard %u/%u", sh->index, sh->count);
	vt_tap_skip_all(t, why);
	vt_sel_shard_line(t, sh, 0, total, unit);
}

void vt_sel_shard_note(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
		       const char *unit)
{
	vt_sel_shard_line(t, sh, vt_sel_shard_size(sh, total), total, unit);
}

bool vt_sel_shard_empty(struct vt_tap *t, const struct vt_sel_shard *sh, uint64_t total,
			const char *unit)
{
	if (!sh || !sh->count || vt_sel_shard_size(sh, total))
		return false;
	vt_sel_shard_skip_all(t, sh, total, unit);
	return true;
}
