/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * merge_summary.c - the comment lines of the shards that belong to no
 * unit (a header before the first unit, the summary after the last) made
 * the lines the whole run would have printed.
 *
 * The summaries vcts writes are known forms: their counts of the shard's
 * own units are added up, the counts of the whole run (which every shard
 * computes alike) must agree and are kept.  A form whose kept counts
 * disagree, and any other line that is not alike in every shard with
 * units, is kept once per shard as "# shard I/N: text", so nothing a shard
 * said is lost or passed off as the whole run's.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

#define MAX_FIELDS 12

/*
 * The summary lines, as the commands print them: %+ a count of the
 * shard's own units (summed), %= a count of the whole run (kept, must
 * agree), %w a word that must agree (a profile name).
 */
static const char *const forms[] = {
	/* vcts run, vcts device (runner.c) */
	"pass %+, fail %+, skip %+, broken %+, timeout %+, crash %+",
	"xfail %+, xpass %+",
	/* vcts matrix --profile P (matrix/cmd.c) */
	("matrix %w: %+ cells: %+ live, %+ driver-refuses, %+ device-refuses, %+ skip, "
	 "%+ hazard; %+ failed"),
	/* vcts matrix --diff P1 P2: every shard compares all cells */
	"matrix diff %w %w: %+ of %= cells differ; failed: %= under %w, %= under %w",
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

struct fields {
	unsigned n;
	char kind[MAX_FIELDS];             /* '+', '=' or 'w'                  */
	unsigned long long num[MAX_FIELDS];
	const char *word[MAX_FIELDS];
	size_t wlen[MAX_FIELDS];
};

struct vt_rp_cm_entry {
	int form;                          /* index in forms; -1: another line */
	const char *raw;                   /* the first member's whole line    */
	size_t rawlen;
	const char *text;                  /* ... and its comment text         */
	size_t len;
	struct fields f;                   /* its fields; sums in the %+ ones  */
	unsigned members;
	unsigned last_i;                   /* shard of the latest member       */
	bool split;                        /* kept per shard                   */
	bool from_empty;                   /* a shard without units has it     */
};

struct vt_rp_cm_member {
	unsigned entry, i;
	const char *text;
	size_t len;
};

static bool is_delim(char c)
{
	return c == ' ' || c == ':' || c == ',' || c == ';';
}

/* A decimal count without leading zeros (so it prints back the same). */
static bool take_count(const char **s, const char *end, unsigned long long *v)
{
	const char *p = *s;
	unsigned long long x = 0;
	if (p >= end || !isdigit((unsigned char)*p) || (*p == '0' && p + 1 < end &&
							 isdigit((unsigned char)p[1])))
		return false;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		if (x > (ULLONG_MAX - 9) / 10)
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	*v = x;
	*s = p;
	return true;
}

/* Is text [s, s+len) the form fmt?  Then its fields are in f. */
static bool match_form(const char *fmt, const char *s, size_t len, struct fields *f)
{
	const char *end = s + len;
	f->n = 0;
	while (*fmt) {
		if (fmt[0] != '%') {
			if (s >= end || *s != *fmt)
				return false;
			s++;
			fmt++;
			continue;
		}
		if (f->n == MAX_FIELDS)
			return false;
		unsigned k = f->n++;
		f->kind[k] = fmt[1];
		if (fmt[1] == 'w') {
			const char *w = s;
			while (s < end && !is_delim(*s))
				s++;
			if (s == w)
				return false;
			f->word[k] = w;
			f->wlen[k] = (size_t)(s - w);
		} else if (!take_count(&s, end, &f->num[k])) {
			return false;
		}
		fmt += 2;
	}
	return s == end;
}

static int form_of(const char *text, size_t len, struct fields *f)
{
	for (unsigned i = 0; i < NFORMS; i++)
		if (match_form(forms[i], text, len, f))
			return (int)i;
	return -1;
}

/* Same form with the same words: one summary of several shards. */
static bool same_entry(const struct vt_rp_cm_entry *e, int form, const struct fields *f,
		       const char *text, size_t len)
{
	if (e->form != form)
		return false;
	if (form < 0)
		return e->len == len && memcmp(e->text, text, len) == 0;
	for (unsigned k = 0; k < f->n; k++)
		if (f->kind[k] == 'w' && (e->f.wlen[k] != f->wlen[k] ||
					  memcmp(e->f.word[k], f->word[k], f->wlen[k]) != 0))
			return false;
	return true;
}

static void *grow(void *arr, unsigned *cap, unsigned n, size_t elem)
{
	if (n < *cap)
		return arr;
	unsigned ncap = *cap ? *cap * 2 : 16;
	void *na = realloc(arr, (size_t)ncap * elem);
	if (na)
		*cap = ncap;
	return na;
}

/* The comment text of a raw line: after "#" and one space, without a
 * trailing "\r". */
static void comment_text(const char *raw, size_t rawlen, const char **text, size_t *len)
{
	const char *s = raw + 1, *end = raw + rawlen;
	if (s < end && *s == ' ')
		s++;
	if (end > s && end[-1] == '\r')
		end--;
	*text = s;
	*len = (size_t)(end - s);
}

static void join(struct vt_rp_cm_entry *e, const struct fields *f, unsigned i, bool empty)
{
	for (unsigned k = 0; e->form >= 0 && k < f->n; k++) {
		if (f->kind[k] == '+')
			e->f.num[k] += f->num[k];
		else if (f->kind[k] == '=' && e->f.num[k] != f->num[k])
			e->split = true;
	}
	if (e->last_i == i)
		e->split = true;         /* twice in one shard: not one summary */
	e->last_i = i;
	e->members++;
	e->from_empty |= empty;
}

int vt_rp_cmerge_add(struct vt_rp_cmerge *c, unsigned i, bool empty, const char *raw,
		     size_t rawlen)
{
	const char *text;
	size_t len;
	struct fields f;
	comment_text(raw, rawlen, &text, &len);
	int form = form_of(text, len, &f);
	unsigned e;
	for (e = 0; e < c->ne; e++)
		if (same_entry(&c->e[e], form, &f, text, len))
			break;
	if (e == c->ne) {
		struct vt_rp_cm_entry *ne = grow(c->e, &c->cap_e, c->ne, sizeof(*ne));
		if (!ne)
			return -1;
		c->e = ne;
		ne[c->ne++] = (struct vt_rp_cm_entry){ .form = form, .raw = raw, .rawlen = rawlen,
						       .text = text, .len = len, .f = f,
						       .last_i = i, .members = 1,
						       .from_empty = empty };
	} else {
		join(&c->e[e], &f, i, empty);
	}
	struct vt_rp_cm_member *m = grow(c->m, &c->cap_m, c->nm, sizeof(*m));
	if (!m)
		return -1;
	c->m = m;
	m[c->nm++] = (struct vt_rp_cm_member){ e, i, text, len };
	return 0;
}

/* A summary form with its merged fields. */
static void write_form(FILE *out, const struct vt_rp_cm_entry *e)
{
	const char *fmt = forms[e->form];
	unsigned k = 0;
	fputs("# ", out);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			fputc(*fmt, out);
			continue;
		}
		if (fmt[1] == 'w')
			fwrite(e->f.word[k], 1, e->f.wlen[k], out);
		else
			fprintf(out, "%llu", e->f.num[k]);
		k++;
		fmt++;
	}
	fputc('\n', out);
}

void vt_rp_cmerge_write(const struct vt_rp_cmerge *c, FILE *out, unsigned n, unsigned nonempty)
{
	for (unsigned e = 0; e < c->ne; e++) {
		const struct vt_rp_cm_entry *en = &c->e[e];
		if (en->form >= 0 && !en->split) {
			write_form(out, en);
			continue;
		}
		if (!en->split && !en->from_empty && en->members == nonempty) {
			fwrite(en->raw, 1, en->rawlen, out);
			fputc('\n', out);
			continue;
		}
		for (unsigned k = 0; k < c->nm; k++)
			if (c->m[k].entry == e)
				fprintf(out, "# shard %u/%u: %.*s\n", c->m[k].i, n, (int)c->m[k].len,
					c->m[k].text);
	}
}

void vt_rp_cmerge_free(struct vt_rp_cmerge *c)
{
	free(c->e);
	free(c->m);
	*c = (struct vt_rp_cmerge){ 0 };
}
