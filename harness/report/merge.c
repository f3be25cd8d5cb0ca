/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * merge.c - the shards of one run made one TAP again.
 *
 * `vcts run|device|matrix|guest --shard I/N` numbers the selected units
 * 0..T-1 in the order the whole run prints them and keeps the units u with
 * u % N == I-1.  A unit is one test point, or for `vcts guest` one guest:
 * its consecutive cells "guest/GUEST/CELL".  The line after a shard's plan
 * says which shard it is:
 *     # vcts-shard I/N units=K total=T unit=point|guest
 * The merge checks that the files are the N shards of one run (same N, T,
 * unit and TAP version; every I once; K the round-robin count; no test
 * point twice) and writes what the whole run would have printed: its
 * version line, the plan (the sum of the shards' plans), the units back in
 * their order with the top-level test points numbered anew, and every
 * other line of a unit byte for byte: the comments before a point, its
 * subtests and its YAML.
 *
 * Lines that are no unit's (merge_summary.c): a guest run's header (the
 * comments before its first guest, such as "# kernel ..."), and the
 * summary after the last unit.  The vcts-shard lines are dropped.
 *
 * A shard that was cut short (it bailed out, or printed fewer points than
 * its plan) merges as far as it got: the merged plan is still the sum, so
 * the merged TAP shows a run cut short, and the first "Bail out!" comes
 * last, naming its shard.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proc.h"
#include "merge.h"
#include "report.h"

#define MAX_SHARDS 1000

struct line {
	const char *s;                /* the raw bytes, without the '\n'     */
	size_t len;
};

struct unit {
	unsigned first, end;          /* its lines [first, end)              */
	const char *key;              /* guest: "guest/G/"; a point: its name */
	size_t keylen;
	unsigned line;                /* its first test point (1-based)      */
};

struct shard {
	const struct vt_rp_shard_file *file;
	unsigned i, n, units, total;
	bool guest;
	struct vt_rp_tap tap;         /* the model: names, points, the plan   */
	char *raw;
	struct line *ln;
	unsigned nln;
	unsigned hdr_end;             /* header: lines [BODY, hdr_end)        */
	struct unit *u;
	unsigned nu;
	unsigned tail;                /* summary: lines [tail, nln)           */
	int bail;                     /* the "Bail out!" line, or -1          */
	bool cut_short;
};

/* Line 1 the version, 2 the plan, 3 the vcts-shard line: a shard's own
 * lines start after them. */
#define PLAN_LINE  1
#define SHARD_LINE 2
#define BODY       3

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- a shard's file ---- */

static int split_lines(struct shard *sh, size_t size)
{
	unsigned n = 0;
	for (size_t k = 0; k < size; k++)
		n += sh->raw[k] == '\n';
	sh->ln = malloc((n + 1) * sizeof(*sh->ln));
	if (!sh->ln)
		return -1;
	const char *p = sh->raw, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		sh->ln[sh->nln++] = (struct line){ p, (size_t)(stop - p) };
		p = stop + 1;
	}
	return 0;
}

/* Is line l `indent` spaces, then word, then only blanks? */
static bool line_is(const struct line *l, unsigned indent, const char *word)
{
	size_t wl = strlen(word);
	if (l->len < indent + wl)
		return false;
	for (unsigned k = 0; k < indent; k++)
		if (l->s[k] != ' ')
			return false;
	if (memcmp(l->s + indent, word, wl) != 0)
		return false;
	for (size_t k = indent + wl; k < l->len; k++)
		if (l->s[k] != ' ' && l->s[k] != '\t' && l->s[k] != '\r')
			return false;
	return true;
}

static bool starts(const struct line *l, const char *prefix)
{
	size_t n = strlen(prefix);
	return l->len >= n && memcmp(l->s, prefix, n) == 0;
}

/* A decimal number of up to 9 digits at *p. */
static bool take_num(const char **p, unsigned *v)
{
	unsigned x = 0, digits = 0;
	while (**p >= '0' && **p <= '9' && digits < 10) {
		x = x * 10 + (unsigned)(**p - '0');
		(*p)++;
		digits++;
	}
	*v = x;
	return digits > 0 && digits < 10;
}

static bool take(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Digits at *p without a leading zero, as a number of 1..MAX_SHARDS. */
static bool take_index(const char **p, unsigned *v)
{
	return **p >= '1' && **p <= '9' && take_num(p, v) && *v <= MAX_SHARDS;
}

bool vt_rp_shard_name(const char *file, size_t *part_len, unsigned *i, unsigned *n)
{
	const char *s = NULL;
	for (const char *q = strstr(file, ".shard-"); q; q = strstr(q + 1, ".shard-"))
		s = q;
	if (!s || s == file)
		return false;
	const char *p = s;
	if (!take(&p, ".shard-") || !take_index(&p, i) || !take(&p, "-of-") ||
	    !take_index(&p, n) || strcmp(p, ".tap") != 0)
		return false;
	*part_len = (size_t)(s - file);
	return true;
}

/* "# vcts-shard I/N units=K total=T unit=point|guest" */
static int shard_line(struct shard *sh, char *err, size_t errlen)
{
	const char *path = sh->file->path;
	char buf[160];
	const struct line *l = sh->nln > SHARD_LINE ? &sh->ln[SHARD_LINE] : NULL;
	size_t len = l ? l->len : 0;
	while (len && (l->s[len - 1] == '\r' || l->s[len - 1] == ' '))
		len--;
	snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : 0), l ? l->s : "");
	const char *p = buf;
	bool ok = l && take(&p, "# vcts-shard ") && take_num(&p, &sh->i) && take(&p, "/") &&
		  take_num(&p, &sh->n) && take(&p, " units=") && take_num(&p, &sh->units) &&
		  take(&p, " total=") && take_num(&p, &sh->total) && take(&p, " unit=");
	if (ok && strcmp(p, "guest") == 0)
		sh->guest = true;
	else if (!ok || strcmp(p, "point") != 0)
		return fail(err, errlen, "%s:%u: no '# vcts-shard I/N units=K total=T "
			    "unit=point|guest' line after the plan: not a shard", path,
			    SHARD_LINE + 1);
	if (sh->i < 1 || sh->i > sh->n || sh->n > MAX_SHARDS)
		return fail(err, errlen, "%s:%u: shard %u/%u: I must be in 1..N, N in 1..%u",
			    path, SHARD_LINE + 1, sh->i, sh->n, MAX_SHARDS);
	if (sh->units > sh->total)
		return fail(err, errlen, "%s:%u: units=%u is more than total=%u", path,
			    SHARD_LINE + 1, sh->units, sh->total);
	if (sh->file->n && (sh->file->i != sh->i || sh->file->n != sh->n))
		return fail(err, errlen, "%s: its vcts-shard line says %u/%u, its name %u/%u",
			    path, sh->i, sh->n, sh->file->i, sh->file->n);
	return 0;
}

/* The line after test point `line` and its YAML block. */
static unsigned point_end(const struct shard *sh, unsigned line)
{
	if (line + 1 >= sh->nln || !line_is(&sh->ln[line + 1], 2, "---"))
		return line + 1;
	for (unsigned j = line + 2; j < sh->nln; j++)
		if (line_is(&sh->ln[j], 2, "..."))
			return j + 1;
	return sh->nln;          /* the reader checked the block is closed */
}

/* "guest/GUEST/" of a guest cell's name, or 0. */
static size_t guest_key(const char *name)
{
	if (strncmp(name, "guest/", 6) != 0)
		return 0;
	const char *slash = strchr(name + 6, '/');
	return slash && slash > name + 6 ? (size_t)(slash - name) + 1 : 0;
}

/* Guest runs: the comments before the first guest's "# guest G: ...", its
 * "# Subtest:" or its first point are the run's header. */
static unsigned header_end(const struct shard *sh, unsigned first_point)
{
	unsigned j = BODY;
	for (; j < first_point; j++) {
		const struct line *l = &sh->ln[j];
		if (line_is(l, 0, ""))
			continue;
		if (!starts(l, "#") || starts(l, "# guest ") || starts(l, "# Subtest"))
			break;
	}
	return j;
}

static int add_unit(struct shard *sh, const struct vt_rp_point *p, unsigned first, char *err,
		    size_t errlen)
{
	size_t klen = strlen(p->name);
	if (sh->guest && !(klen = guest_key(p->name)))
		return fail(err, errlen, "%s:%u: '%s' is not a guest cell (guest/GUEST/CELL), "
			    "but the shard's unit is guest", sh->file->path, p->line, p->name);
	struct unit *u = sh->nu ? &sh->u[sh->nu - 1] : NULL;
	if (sh->guest && u && u->keylen == klen && memcmp(u->key, p->name, klen) == 0)
		return 0;        /* another cell of the same guest */
	sh->u[sh->nu++] = (struct unit){ .first = first, .key = p->name, .keylen = klen,
					 .line = p->line };
	return 0;
}

/* Cut the lines into header, units and summary. */
static int segment(struct shard *sh, char *err, size_t errlen)
{
	const struct vt_rp_tap *t = &sh->tap;
	sh->u = calloc(t->ntop ? t->ntop : 1, sizeof(*sh->u));
	if (!sh->u)
		return fail(err, errlen, "out of memory");
	sh->bail = t->bailed ? (int)t->bail_line - 1 : -1;
	sh->hdr_end = BODY;
	unsigned end = BODY;
	bool first = true;
	for (unsigned k = 0; k < t->npt; k++) {
		const struct vt_rp_point *p = &t->pt[k];
		if (p->depth)
			continue;
		if (first && sh->guest)
			sh->hdr_end = header_end(sh, p->line - 1);
		if (add_unit(sh, p, first ? sh->hdr_end : end, err, errlen))
			return -1;
		first = false;
		end = point_end(sh, p->line - 1);
		sh->u[sh->nu - 1].end = end;
	}
	sh->tail = end;
	sh->cut_short = t->bailed || t->plan != t->ntop;
	return 0;
}

/* What the shard says of itself against what it holds. */
static int check_self(const struct shard *sh, char *err, size_t errlen)
{
	const char *path = sh->file->path;
	const struct vt_rp_tap *t = &sh->tap;
	const char *what = sh->guest ? "guests" : "test points";
	if (!sh->units != t->skip_all)
		return fail(err, errlen, "%s:2: plan 1..%u%s, but its vcts-shard line says "
			    "units=%u", path, t->plan, t->skip_all ? " # SKIP" : "", sh->units);
	if (!sh->guest && t->plan != sh->units)
		return fail(err, errlen, "%s:2: plan 1..%u, but its vcts-shard line says "
			    "units=%u (one test point each)", path, t->plan, sh->units);
	if (sh->guest && t->plan < sh->units)
		return fail(err, errlen, "%s:2: plan 1..%u: fewer cells than units=%u guests",
			    path, t->plan, sh->units);
	if (sh->nu > sh->units || (sh->nu < sh->units && !sh->cut_short))
		return fail(err, errlen, "%s: %u %s, but its vcts-shard line says units=%u", path,
			    sh->nu, what, sh->units);
	return 0;
}

static int load_shard(struct shard *sh, const struct vt_rp_shard_file *f, char *err,
		      size_t errlen)
{
	char why[128];
	size_t size;
	sh->file = f;
	sh->bail = -1;
	if (vt_rp_tap_read(f->path, &sh->tap, err, errlen))
		return -1;
	sh->raw = vt_file_read(f->path, &size, why, sizeof(why));
	if (!sh->raw)
		return fail(err, errlen, "%s: %s", f->path, why);
	if (split_lines(sh, size))
		return fail(err, errlen, "out of memory");
	if (!sh->tap.has_plan || sh->nln <= PLAN_LINE || !starts(&sh->ln[PLAN_LINE], "1.."))
		return fail(err, errlen, "%s:%u: not a plan: a shard's plan is its second line",
			    f->path, PLAN_LINE + 1);
	if (shard_line(sh, err, errlen) || segment(sh, err, errlen))
		return -1;
	return check_self(sh, err, errlen);
}

static void free_shard(struct shard *sh)
{
	vt_rp_tap_free(&sh->tap);
	free(sh->raw);
	free(sh->ln);
	free(sh->u);
}

/* ---- the shards together ---- */

struct merge {
	struct shard *sh;             /* as given                             */
	unsigned nsh;
	struct shard **by_i;          /* [I-1]                                */
	const char *part;             /* "DIR/PART" of PART.shard-I-of-N.tap  */
};

/* Units of shard i of n round-robin over total. */
static unsigned round_robin(unsigned i, unsigned n, unsigned total)
{
	return total >= i ? (total - i) / n + 1 : 0;
}

static int check_same_run(const struct shard *ref, const struct shard *s, char *err,
			  size_t errlen)
{
	const char *a = ref->file->path, *b = s->file->path;
	if (s->n != ref->n)
		return fail(err, errlen, "%s: shard %u/%u, but %s is shard %u/%u: not one run", b,
			    s->i, s->n, a, ref->i, ref->n);
	if (s->total != ref->total)
		return fail(err, errlen, "%s: total=%u, but %s says total=%u: not one selection",
			    b, s->total, a, ref->total);
	if (s->guest != ref->guest)
		return fail(err, errlen, "%s: unit=%s, but %s says unit=%s", b,
			    s->guest ? "guest" : "point", a, ref->guest ? "guest" : "point");
	if (s->tap.version != ref->tap.version)
		return fail(err, errlen, "%s: TAP version %u, but %s has TAP version %u", b,
			    s->tap.version, a, ref->tap.version);
	return 0;
}

/* K is the round-robin count of its shard. */
static int check_count(const struct shard *s, char *err, size_t errlen)
{
	unsigned want = round_robin(s->i, s->n, s->total);
	if (s->units != want)
		return fail(err, errlen, "%s: units=%u, but shard %u/%u of %u units has %u",
			    s->file->path, s->units, s->i, s->n, s->total, want);
	return 0;
}

static int check_all_there(struct merge *m, char *err, size_t errlen)
{
	unsigned n = m->sh[0].n;
	m->by_i = calloc(n, sizeof(*m->by_i));
	if (!m->by_i)
		return fail(err, errlen, "out of memory");
	for (unsigned k = 0; k < m->nsh; k++) {
		struct shard *s = &m->sh[k];
		const struct shard *was = m->by_i[s->i - 1];
		if (was && strcmp(was->file->path, s->file->path) == 0)
			return fail(err, errlen, "%s: given twice", s->file->path);
		if (was)
			return fail(err, errlen, "%s: shard %u/%u again (%s is shard %u/%u too)",
				    s->file->path, s->i, n, was->file->path, s->i, n);
		m->by_i[s->i - 1] = s;
	}
	for (unsigned i = 1; i <= n; i++) {
		if (m->by_i[i - 1])
			continue;
		if (m->part)
			return fail(err, errlen, "%s.shard-%u-of-%u.tap: missing: %u of the %u "
				    "shards are here", m->part, i, n, m->nsh, n);
		return fail(err, errlen, "shard %u/%u is missing: %u of the %u shards given "
			    "(%s is shard %u/%u)", i, n, m->nsh, n, m->sh[0].file->path,
			    m->sh[0].i, n);
	}
	return 0;
}

struct name_ref {
	const char *s;
	size_t len;
	const struct shard *sh;
	unsigned line;
};

static int cmp_name(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->s, y->s, n);
	if (d)
		return d;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* No unit in two places: test points by name, guests by "guest/G/". */
static int check_unique(const struct merge *m, char *err, size_t errlen)
{
	size_t cap = 0;
	for (unsigned k = 0; k < m->nsh; k++)
		cap += m->sh[k].guest ? m->sh[k].nu : m->sh[k].tap.ntop;
	struct name_ref *v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return fail(err, errlen, "out of memory");
	size_t n = 0;
	for (unsigned k = 0; k < m->nsh; k++) {
		const struct shard *s = &m->sh[k];
		if (s->guest) {
			for (unsigned u = 0; u < s->nu; u++)
				v[n++] = (struct name_ref){ s->u[u].key, s->u[u].keylen, s,
							    s->u[u].line };
			continue;
		}
		for (unsigned p = 0; p < s->tap.npt; p++)
			if (!s->tap.pt[p].depth)
				v[n++] = (struct name_ref){ s->tap.pt[p].name,
							    strlen(s->tap.pt[p].name), s,
							    s->tap.pt[p].line };
	}
	qsort(v, n, sizeof(*v), cmp_name);
	int rc = 0;
	for (size_t k = 1; k < n && rc == 0; k++) {
		if (cmp_name(&v[k - 1], &v[k]) != 0)
			continue;
		const struct name_ref *a = &v[k - 1], *b = &v[k];
		if (a->sh->i > b->sh->i || (a->sh == b->sh && a->line > b->line)) {
			const struct name_ref *t = a;
			a = b;
			b = t;
		}
		bool guest = a->sh->guest;
		rc = fail(err, errlen, "%s:%u: %s '%.*s' is also at %s:%u", b->sh->file->path,
			  b->line, guest ? "guest" : "test point",
			  (int)(guest ? a->len - 7 : a->len), a->s + (guest ? 6 : 0),
			  a->sh->file->path, a->line);
	}
	free(v);
	return rc;
}

/* ---- the merged TAP ---- */

static bool is_test_line(const struct line *l)
{
	return (starts(l, "ok") && (l->len == 2 || l->s[2] == ' ' || l->s[2] == '\t' ||
				    l->s[2] == '\r')) ||
	       (starts(l, "not ok") && (l->len == 6 || l->s[6] == ' ' || l->s[6] == '\t' ||
					l->s[6] == '\r'));
}

/* A top-level test line with number `num` in place of its own. */
static void write_renumbered(FILE *out, const struct line *l, unsigned num)
{
	size_t k = l->s[0] == 'o' ? 2 : 6;
	fwrite(l->s, 1, k, out);
	while (k < l->len && (l->s[k] == ' ' || l->s[k] == '\t'))
		k++;
	while (k < l->len && l->s[k] >= '0' && l->s[k] <= '9')
		k++;
	fprintf(out, " %u", num);
	if (k < l->len && l->s[k] != ' ' && l->s[k] != '\t' && l->s[k] != '\r')
		fputc(' ', out);
	fwrite(l->s + k, 1, l->len - k, out);
	fputc('\n', out);
}

static void write_unit(FILE *out, const struct shard *s, const struct unit *u, unsigned *num)
{
	for (unsigned j = u->first; j < u->end; j++) {
		const struct line *l = &s->ln[j];
		if (is_test_line(l)) {
			write_renumbered(out, l, ++*num);
		} else {
			fwrite(l->s, 1, l->len, out);
			fputc('\n', out);
		}
	}
}

/* Header or summary comments of every shard, merged. */
static int write_comments(FILE *out, const struct merge *m, bool header, unsigned nonempty)
{
	struct vt_rp_cmerge c = { 0 };
	unsigned n = m->sh[0].n;
	for (unsigned i = 1; i <= n; i++) {
		const struct shard *s = m->by_i[i - 1];
		unsigned from = header ? BODY : s->tail, to = header ? s->hdr_end : s->nln;
		for (unsigned j = from; j < to; j++) {
			/* only comments: the rest of an unfinished subtest is left out */
			if ((int)j == s->bail || !starts(&s->ln[j], "#"))
				continue;
			if (vt_rp_cmerge_add(&c, i, !s->units, s->ln[j].s, s->ln[j].len)) {
				vt_rp_cmerge_free(&c);
				return -1;
			}
		}
	}
	vt_rp_cmerge_write(&c, out, n, nonempty);
	vt_rp_cmerge_free(&c);
	return 0;
}

static void write_bail(FILE *out, const struct merge *m)
{
	unsigned n = m->sh[0].n;
	for (unsigned i = 1; i <= n; i++) {
		const struct shard *s = m->by_i[i - 1];
		if (s->bail < 0)
			continue;
		const char *r = s->tap.bail_reason ? s->tap.bail_reason : "";
		fprintf(out, "Bail out! shard %u/%u: %s\n", i, n, *r ? r : "bailed out");
		return;
	}
}

static int write_merged(FILE *out, const struct merge *m, char *err, size_t errlen)
{
	const struct shard *ref = &m->sh[0];
	unsigned n = ref->n, plan = 0, nonempty = 0, num = 0;
	for (unsigned k = 0; k < m->nsh; k++) {
		plan += m->sh[k].tap.plan;
		nonempty += m->sh[k].units > 0;
	}
	fwrite(ref->ln[0].s, 1, ref->ln[0].len, out);
	fputc('\n', out);
	if (plan)
		fprintf(out, "1..%u\n", plan);
	else
		fprintf(out, "1..0 # SKIP no units in the %u shards\n", n);
	if (write_comments(out, m, true, nonempty))
		return fail(err, errlen, "out of memory");
	for (unsigned u = 0; u < ref->total; u++) {
		const struct shard *s = m->by_i[u % n];
		if (u / n < s->nu)
			write_unit(out, s, &s->u[u / n], &num);
	}
	if (write_comments(out, m, false, nonempty))
		return fail(err, errlen, "out of memory");
	write_bail(out, m);
	return 0;
}

int vt_rp_merge(const struct vt_rp_shard_file *files, unsigned nfiles, const char *part,
		FILE *out, char *err, size_t errlen)
{
	if (!nfiles)
		return fail(err, errlen, "no shard files");
	if (nfiles > MAX_SHARDS)
		return fail(err, errlen, "%u files: more than %u shards", nfiles, MAX_SHARDS);
	struct merge m = { .nsh = nfiles, .part = part };
	m.sh = calloc(nfiles, sizeof(*m.sh));
	if (!m.sh)
		return fail(err, errlen, "out of memory");
	int rc = 0;
	unsigned loaded = 0;
	for (; loaded < nfiles && rc == 0; loaded++)
		rc = load_shard(&m.sh[loaded], &files[loaded], err, errlen);
	for (unsigned k = 1; k < nfiles && rc == 0; k++)
		rc = check_same_run(&m.sh[0], &m.sh[k], err, errlen);
	for (unsigned k = 0; k < nfiles && rc == 0; k++)
		rc = check_count(&m.sh[k], err, errlen);
	if (rc == 0)
		rc = check_all_there(&m, err, errlen);
	if (rc == 0)
		rc = check_unique(&m, err, errlen);
	if (rc == 0)
		rc = write_merged(out, &m, err, errlen);
	for (unsigned k = 0; k < loaded; k++)
		free_shard(&m.sh[k]);
	free(m.sh);
	free(m.by_i);
	return rc;
}
