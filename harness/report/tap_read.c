/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap_read.c - read a TAP 13/14 file into the report model: test points
 * with their directives, subtests (4-space indented streams, introduced by
 * "# Subtest:" or by their indentation, closed by the parent's test line),
 * YAML blocks (yaml.c), comments, plans and "Bail out!".
 *
 * The reader is strict about what vcts writes: a line that is not TAP, a
 * test number out of sequence, a second plan or an unclosed YAML block is
 * an error naming FILE:LINE.  A plan that is not met is not: a run that
 * stopped early is a result the report shows.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proc.h"
#include "report.h"

#define MAX_DEPTH 16
#define MAX_SHOWN 60          /* characters of a bad line quoted in an error */

/* One open stream: the top level or a subtest. */
struct stream {
	unsigned count;           /* test points so far                       */
	bool has_plan;
	unsigned pt_start;        /* first point after the previous sibling   */
	unsigned c_start;         /* first comment after the previous sibling */
};

struct reader {
	struct vt_rp_tap *t;
	char **line;              /* every line, split in place               */
	unsigned nlines;
	unsigned i;               /* the line being read (0-based)            */
	struct stream st[MAX_DEPTH];
	unsigned depth;           /* deepest stream open                      */
	int yaml_for;             /* point a YAML block may follow, or -1     */
	char *err;
	size_t errlen;
};

static const char *const verdict_names[VT_RP_NV] = { "skip", "pass", "todo", "xpass", "fail" };
static const char *const verdict_labels[VT_RP_NV] = {
	"skipped", "passed", "todo", "xpass", "failed",
};

const char *vt_rp_verdict_name(enum vt_rp_verdict v)
{
	return v < VT_RP_NV ? verdict_names[v] : "?";
}

const char *vt_rp_verdict_label(enum vt_rp_verdict v)
{
	return v < VT_RP_NV ? verdict_labels[v] : "?";
}

__attribute__((format(printf, 3, 4)))
static int fail_at(struct reader *r, unsigned lineno, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s:%u: %s", r->t->path, lineno, msg);
	return -1;
}

/* The line quoted for an error: cut, control characters shown as '?'. */
static void shown(const char *s, char *buf, size_t len)
{
	size_t n = 0;
	for (; *s && n + 4 < len && n < MAX_SHOWN; s++)
		buf[n++] = (unsigned char)*s < 0x20 ? '?' : *s;
	if (*s && n + 4 < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

static int not_tap(struct reader *r, const char *text)
{
	char s[MAX_SHOWN + 8];
	shown(text, s, sizeof(s));
	return fail_at(r, r->i + 1, "not a TAP line: '%s'", s);
}

static int read_whole(const char *path, struct vt_rp_tap *t, size_t *size, char *err,
		      size_t errlen)
{
	char why[128];
	t->buf = vt_file_read(path, size, why, sizeof(why));
	if (!t->buf) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	return 0;
}

/* Split the buffer into lines in place ("\n" or "\r\n"). */
static int split_lines(struct reader *r, size_t size)
{
	char *p = r->t->buf, *end = p + size;
	unsigned n = 0;
	for (char *q = p; q < end; q++)
		n += *q == '\n';
	r->line = malloc((n + 1) * sizeof(*r->line));
	if (!r->line)
		return fail_at(r, 0, "out of memory");
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		if (memchr(p, '\0', (size_t)(stop - p)))
			return fail_at(r, r->nlines + 1, "NUL byte: not a text file");
		if (stop > p && stop[-1] == '\r')
			stop[-1] = '\0';
		*stop = '\0';
		r->line[r->nlines++] = p;
		p = stop + 1;
	}
	return 0;
}

static void *grow(void *arr, unsigned *cap, unsigned n, size_t elem)
{
	if (n < *cap)
		return arr;
	unsigned ncap = *cap ? *cap * 2 : 256;
	void *na = realloc(arr, (size_t)ncap * elem);
	if (na)
		*cap = ncap;
	return na;
}

static unsigned indent_of(const char *s)
{
	unsigned n = 0;
	while (s[n] == ' ')
		n++;
	return n;
}

static char *rtrim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static char *ltrim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Streams from depth `from` down to `to` start afresh here. */
static void open_streams(struct reader *r, unsigned from, unsigned to)
{
	for (unsigned d = from; d <= to; d++) {
		memset(&r->st[d], 0, sizeof(r->st[d]));
		r->st[d].pt_start = r->t->npt;
		r->st[d].c_start = r->t->ncm;
	}
	r->depth = to;
}

static int add_comment(struct reader *r, char *text, unsigned depth)
{
	struct vt_rp_tap *t = r->t;
	struct vt_rp_comment *cm = grow(t->cm, &t->cap_cm, t->ncm, sizeof(*cm));
	if (!cm)
		return fail_at(r, r->i + 1, "out of memory");
	t->cm = cm;
	text++;                       /* the '#' */
	if (*text == ' ')
		text++;
	cm[t->ncm++] = (struct vt_rp_comment){ rtrim(text), r->i + 1, depth };
	return 0;
}

/* Undo the description's escapes ("\#", "\\") in place. */
static void unescape_desc(char *s)
{
	char *w = s;
	for (; *s; s++) {
		if (*s == '\\' && (s[1] == '#' || s[1] == '\\'))
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

/* The first '#' not escaped by a backslash, or NULL. */
static char *directive_start(char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '#')
			return s;
	}
	return NULL;
}

static bool word_is(const char *s, const char *word, bool prefix)
{
	size_t n = strlen(word);
	if (strncasecmp(s, word, n) != 0)
		return false;
	if (prefix)
		while (isalpha((unsigned char)s[n]))
			n++;
	return s[n] == '\0' || s[n] == ' ' || s[n] == '\t';
}

static const char *const directives[] = { "SKIP", "TODO", "XPASS", "BROKEN", "timeout", "crash" };

/* Split "# DIRECTIVE reason" off the description; NULL if it is none. */
static const char *parse_directive(char *hash, const char **reason)
{
	char *d = ltrim(hash + 1);
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		if (!word_is(d, directives[i], i == 0))
			continue;
		char *sp = d;
		while (*sp && *sp != ' ' && *sp != '\t')
			sp++;
		*reason = *sp ? ltrim(sp + 1) : "";
		*sp = '\0';
		*hash = '\0';
		return directives[i];
	}
	return NULL;
}

static enum vt_rp_verdict verdict_of(bool ok, const char *dir)
{
	bool skip = dir && strcasecmp(dir, "SKIP") == 0, todo = dir && strcmp(dir, "TODO") == 0;
	if (ok)
		return skip ? VT_RP_SKIP : todo ? VT_RP_XPASS : VT_RP_PASS;
	if (todo)
		return VT_RP_TODO;
	if (skip)
		return VT_RP_SKIP;
	if (dir && strcmp(dir, "XPASS") == 0)
		return VT_RP_XPASS;
	return VT_RP_FAIL;
}

/* A parent's verdict with its subtests: an ok parent is as bad as its
 * worst subtest (a TODO subtest of an ok cell is a hazard). */
static void settle_children(struct vt_rp_tap *t, unsigned self)
{
	struct vt_rp_point *p = &t->pt[self];
	p->eff = p->own;
	for (unsigned i = p->sub_begin; i < self; i++) {
		if (t->pt[i].parent != -1)
			continue;
		t->pt[i].parent = (int)self;
		if (p->own == VT_RP_PASS && t->pt[i].eff > p->eff)
			p->eff = t->pt[i].eff;
	}
}

static int parse_number(const char *s, unsigned *out, const char **end)
{
	unsigned long v = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p++ - '0');
		if (v > 100000000ul)
			return -1;
	}
	*out = (unsigned)v;
	*end = p;
	return 0;
}

static int test_line(struct reader *r, char *s, unsigned depth)
{
	struct vt_rp_tap *t = r->t;
	bool ok = s[0] == 'o';
	char *p = s + (ok ? 2 : 6);
	struct stream *st = &r->st[depth];
	unsigned num = st->count + 1;
	const char *after;

	p = ltrim(p);
	if (isdigit((unsigned char)*p)) {
		if (parse_number(p, &num, &after) || (*after && *after != ' ' && *after != '\t'))
			return not_tap(r, s);
		if (num != st->count + 1)
			return fail_at(r, r->i + 1, "test number %u out of sequence (expected %u)",
				       num, st->count + 1);
		p = ltrim((char *)after);
	}
	if (p[0] == '-' && (p[1] == ' ' || p[1] == '\0'))
		p = ltrim(p + 1);
	const char *dir = NULL, *reason = "";
	char *hash = directive_start(p);
	if (hash)
		dir = parse_directive(hash, &reason);
	unescape_desc(rtrim(p));

	struct vt_rp_point *pt = grow(t->pt, &t->cap_pt, t->npt, sizeof(*pt));
	if (!pt)
		return fail_at(r, r->i + 1, "out of memory");
	t->pt = pt;
	unsigned self = t->npt++;
	pt[self] = (struct vt_rp_point){
		.name = p, .directive = dir, .reason = reason, .own = verdict_of(ok, dir),
		.number = num, .line = r->i + 1, .depth = depth, .parent = -1,
		.sub_begin = st->pt_start, .c_begin = st->c_start, .c_end = t->ncm,
	};
	settle_children(t, self);
	st->count++;
	st->pt_start = t->npt;
	st->c_start = t->ncm;
	r->depth = depth;
	r->yaml_for = (int)self;
	if (depth == 0)
		t->ntop++;
	return 0;
}

static int plan_line(struct reader *r, char *s, unsigned depth)
{
	struct stream *st = &r->st[depth];
	unsigned n;
	const char *after;
	if (parse_number(s + 3, &n, &after))
		return not_tap(r, s);
	after = ltrim((char *)after);
	if (*after && *after != '#')
		return not_tap(r, s);
	if (st->has_plan)
		return fail_at(r, r->i + 1, "a second plan");
	st->has_plan = true;
	if (depth == 0) {
		r->t->has_plan = true;
		r->t->plan = n;
		if (*after == '#') {
			const char *d = ltrim((char *)after + 1);
			if (n == 0 && word_is(d, "SKIP", true)) {
				r->t->skip_all = true;
				const char *sp = strpbrk(d, " \t");
				r->t->skip_reason = sp ? ltrim((char *)sp) : "";
			}
		}
	}
	return 0;
}

/* A YAML block after the test point it belongs to: up to the "..." line
 * at the indentation of its "---". */
static int yaml_block(struct reader *r, unsigned ind)
{
	unsigned start = r->i, j;
	for (j = start + 1; j < r->nlines; j++) {
		char *l = r->line[j];
		unsigned li = indent_of(l);
		if (l[li] == '\0')
			continue;
		if (li < ind)
			break;
		if (li == ind && strcmp(rtrim(l + li), "...") == 0) {
			char msg[200];
			int rc = vt_rp_yaml_parse(r->t, r->line + start + 1, j - start - 1, ind,
						  start + 2, msg, sizeof(msg));
			if (rc) {
				snprintf(r->err, r->errlen, "%s:%s", r->t->path, msg);
				return -1;
			}
			r->i = j;
			return 0;
		}
	}
	return fail_at(r, start + 1, "YAML block not closed by '...'");
}

/* One line after the version line. */
static int tap_line(struct reader *r)
{
	char *l = r->line[r->i];
	unsigned ind = indent_of(l);
	char *s = l + ind;
	if (*s == '\0' || (*s == '\t' && *ltrim(s) == '\0'))
		return 0;
	if (strncmp(s, "Bail out!", 9) == 0) {
		r->t->bailed = true;
		r->t->bail_reason = rtrim(ltrim(s + 9));
		r->t->bail_line = r->i + 1;
		return 1;
	}
	if (r->yaml_for >= 0 && ind == r->t->pt[r->yaml_for].depth * 4 + 2 &&
	    strcmp(rtrim(s), "---") == 0) {
		struct vt_rp_point *p = &r->t->pt[r->yaml_for];
		p->kv_begin = r->t->nkv;
		if (yaml_block(r, ind))
			return -1;
		p = &r->t->pt[r->yaml_for];
		p->nkv = r->t->nkv - p->kv_begin;
		r->yaml_for = -1;
		return 0;
	}
	r->yaml_for = -1;
	if (ind % 4)
		return not_tap(r, l);
	unsigned depth = ind / 4;
	if (depth >= MAX_DEPTH - 1)
		return fail_at(r, r->i + 1, "subtests nested deeper than %d levels", MAX_DEPTH - 2);
	if (depth > r->depth)
		open_streams(r, r->depth + 1, depth);
	if (strncmp(s, "ok", 2) == 0 && (s[2] == '\0' || s[2] == ' ' || s[2] == '\t'))
		return test_line(r, s, depth);
	if (strncmp(s, "not ok", 6) == 0 && (s[6] == '\0' || s[6] == ' ' || s[6] == '\t'))
		return test_line(r, s, depth);
	if (strncmp(s, "1..", 3) == 0)
		return plan_line(r, rtrim(s), depth);
	if (s[0] == '#') {
		if (strncmp(s, "# Subtest", 9) == 0) {
			open_streams(r, depth + 1, depth + 1);
			return 0;
		}
		return add_comment(r, s, depth);
	}
	if (strncmp(s, "pragma ", 7) == 0 || (depth > 0 && strncmp(s, "TAP version ", 12) == 0))
		return 0;
	return not_tap(r, l);
}

static int version_line(struct reader *r)
{
	if (!r->nlines)
		return fail_at(r, 1, "empty TAP file");
	char *l = rtrim(r->line[0]);
	if (strcmp(l, "TAP version 13") == 0 || strcmp(l, "TAP version 14") == 0) {
		r->t->version = (unsigned)atoi(l + 12);
		return 0;
	}
	char s[MAX_SHOWN + 8];
	shown(l, s, sizeof(s));
	return fail_at(r, 1, "expected 'TAP version 13' or 'TAP version 14', not '%s'", s);
}

static bool blank_file(const char *buf)
{
	for (; *buf; buf++)
		if (!isspace((unsigned char)*buf))
			return false;
	return true;
}

int vt_rp_tap_read(const char *path, struct vt_rp_tap *t, char *err, size_t errlen)
{
	size_t size;
	memset(t, 0, sizeof(*t));
	t->path = path;
	if (read_whole(path, t, &size, err, errlen))
		return -1;
	struct reader r = { .t = t, .yaml_for = -1, .err = err, .errlen = errlen };
	int rc = -1;
	if (blank_file(t->buf)) {
		fail_at(&r, 1, "empty TAP file");
		goto out;
	}
	if (split_lines(&r, size) || version_line(&r))
		goto out;
	open_streams(&r, 0, 0);
	for (r.i = 1; r.i < r.nlines; r.i++) {
		int s = tap_line(&r);
		if (s < 0)
			goto out;
		if (s > 0)
			break;
	}
	if (!t->has_plan && t->ntop == 0 && !t->bailed) {
		fail_at(&r, r.nlines, "no plan and no test points");
		goto out;
	}
	rc = 0;
out:
	free(r.line);
	if (rc)
		vt_rp_tap_free(t);
	return rc;
}

void vt_rp_tap_free(struct vt_rp_tap *t)
{
	free(t->buf);
	free(t->pt);
	free(t->cm);
	free(t->kv);
	vt_arena_free(&t->arena);
	const char *path = t->path;
	memset(t, 0, sizeof(*t));
	t->path = path;
}

const char *vt_rp_kv_get(const struct vt_rp_tap *t, const struct vt_rp_point *p,
			 const char *path)
{
	for (unsigned i = 0; i < p->nkv; i++)
		if (strcmp(t->kv[p->kv_begin + i].path, path) == 0)
			return t->kv[p->kv_begin + i].value;
	return NULL;
}

const char *vt_rp_comment_get(const struct vt_rp_tap *t, const struct vt_rp_point *p,
			      const char *prefix)
{
	size_t n = strlen(prefix);
	for (unsigned i = p->c_begin; i < p->c_end; i++)
		if (strncmp(t->cm[i].text, prefix, n) == 0)
			return t->cm[i].text + n;
	return NULL;
}

const char *vt_rp_tap_summary(const struct vt_rp_tap *t, const char *prefix)
{
	size_t n = strlen(prefix);
	for (unsigned i = t->ncm; i-- > 0;)
		if (t->cm[i].depth == 0 && strncmp(t->cm[i].text, prefix, n) == 0)
			return t->cm[i].text;
	return NULL;
}
