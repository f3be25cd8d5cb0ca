/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * yaml.c - the YAML that TAP diagnostics carry, flattened into key paths:
 * block mappings ("key: value", keys plain or quoted), nested mappings,
 * block sequences ("- key: value" items, numbered from 0), quoted and plain
 * scalars, and literal/folded block scalars.  Flow collections are kept as
 * their text.  Anything else is an error naming the line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_LEVELS 32

/* An open collection: its content is at `indent` (-1 until its first line
 * says), its keys start with `prefix`. */
struct level {
	int indent;
	const char *prefix;
	bool seq;
	bool map;
	unsigned items;
};

struct yparse {
	struct vt_rp_tap *t;
	char **lines;
	unsigned n, i;
	unsigned base;             /* block indentation                        */
	unsigned first_line;
	struct level lv[MAX_LEVELS];
	unsigned nlv;
	char *err;
	size_t errlen;
};

static int bad(struct yparse *y, const char *what)
{
	char s[64];
	const char *l = y->lines[y->i] + y->base;
	size_t k = 0;
	for (; l[k] && k < 50; k++)
		s[k] = (unsigned char)l[k] < 0x20 ? '?' : l[k];
	s[k] = '\0';
	snprintf(y->err, y->errlen, "%u: %s: '%s%s'", y->first_line + y->i, what, s,
		 l[k] ? "..." : "");
	return -1;
}

static const char *join(struct yparse *y, const char *prefix, const char *key, size_t klen)
{
	size_t pl = strlen(prefix);
	char *p = vt_arena_alloc(&y->t->arena, pl + klen + 2);
	if (!p)
		return NULL;
	memcpy(p, prefix, pl);
	if (pl)
		p[pl++] = '.';
	memcpy(p + pl, key, klen);
	p[pl + klen] = '\0';
	return p;
}

static int emit(struct yparse *y, const char *path, const char *value)
{
	struct vt_rp_tap *t = y->t;
	if (!path || !value)
		return bad(y, "out of memory");
	if (t->nkv == t->cap_kv) {
		unsigned cap = t->cap_kv ? t->cap_kv * 2 : 256;
		struct vt_rp_kv *kv = realloc(t->kv, cap * sizeof(*kv));
		if (!kv)
			return bad(y, "out of memory");
		t->kv = kv;
		t->cap_kv = cap;
	}
	t->kv[t->nkv++] = (struct vt_rp_kv){ path, value, y->first_line + y->i };
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A double-quoted scalar starting at s (after the quote): its value into
 * out, *end after the closing quote.  -1 if it is not closed. */
static int dquoted(const char *s, char *out, const char **end)
{
	for (; *s && *s != '"'; s++) {
		if (*s != '\\') {
			*out++ = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': *out++ = '\n'; break;
		case 't': *out++ = '\t'; break;
		case 'r': *out++ = '\r'; break;
		case '0': *out++ = '\0'; break;
		case 'x':
			if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
				*out++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
				s += 2;
				break;
			}
			*out++ = 'x';
			break;
		case 'u':        /* \u00XX, as vt_tap_yaml_quote writes control bytes */
			if (s[1] == '0' && s[2] == '0' && hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
				*out++ = (char)(hexval(s[3]) * 16 + hexval(s[4]));
				s += 4;
				break;
			}
			*out++ = 'u';
			break;
		case '\0':
			return -1;
		default:         /* \" \\ \/ and the rest: the character itself */
			*out++ = *s;
		}
	}
	if (*s != '"')
		return -1;
	*out = '\0';
	*end = s + 1;
	return 0;
}

static int squoted(const char *s, char *out, const char **end)
{
	for (; *s; s++) {
		if (*s == '\'') {
			if (s[1] != '\'')
				break;
			s++;
		}
		*out++ = *s;
	}
	if (*s != '\'')
		return -1;
	*out = '\0';
	*end = s + 1;
	return 0;
}

static bool blank_or_comment(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' || *s == '#';
}

/* A scalar value (the rest of a line) into the arena; NULL on an error. */
static const char *scalar(struct yparse *y, const char *s)
{
	size_t n = strlen(s);
	char *out = vt_arena_alloc(&y->t->arena, n + 1);
	const char *end;
	if (!out)
		return NULL;
	if (*s == '"' || *s == '\'') {
		if ((*s == '"' ? dquoted(s + 1, out, &end) : squoted(s + 1, out, &end)) ||
		    !blank_or_comment(end))
			return NULL;
		return out;
	}
	/* plain: up to a " #" comment, trailing blanks dropped */
	const char *c = strstr(s, " #");
	n = c ? (size_t)(c - s) : n;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

static unsigned indent_of(const char *s)
{
	unsigned n = 0;
	while (s[n] == ' ')
		n++;
	return n;
}

/* A literal (|) or folded (>) block scalar: the lines indented deeper
 * than `ind` that follow. */
static const char *block_scalar(struct yparse *y, unsigned ind, bool folded)
{
	size_t total = 1;
	unsigned j, strip = 0;
	for (j = y->i + 1; j < y->n; j++) {
		const char *l = y->lines[j];
		unsigned li = indent_of(l);
		if (l[li] && li <= ind + y->base)
			break;
		if (l[li] && !strip)
			strip = li;
		total += strlen(l) + 1;
	}
	char *out = vt_arena_alloc(&y->t->arena, total), *w = out;
	if (!out)
		return NULL;
	for (unsigned k = y->i + 1; k < j; k++) {
		const char *l = y->lines[k];
		unsigned li = indent_of(l);
		l += li < strip ? li : strip;
		if (w > out)
			*w++ = folded && *l ? ' ' : '\n';
		size_t n = strlen(l);
		memcpy(w, l, n);
		w += n;
	}
	*w = '\0';
	y->i = j - 1;
	return out;
}

static int push(struct yparse *y, const char *prefix, int indent)
{
	if (!prefix)
		return bad(y, "out of memory");
	if (y->nlv == MAX_LEVELS)
		return bad(y, "nested too deeply");
	y->lv[y->nlv++] = (struct level){ .indent = indent, .prefix = prefix };
	return 0;
}

/*
 * The key of a "key: value" or "key:" line, unquoted into the arena, with
 * *colon at its ':'; NULL when the line is not one.
 */
static char *key_of(struct yparse *y, const char *s, const char **colon)
{
	char *key = vt_arena_alloc(&y->t->arena, strlen(s) + 1);
	const char *end;
	if (!key)
		return NULL;
	if (*s == '"' || *s == '\'') {
		if ((*s == '"' ? dquoted(s + 1, key, &end) : squoted(s + 1, key, &end)) ||
		    *end != ':' || (end[1] && end[1] != ' ' && end[1] != '\t'))
			return NULL;
		*colon = end;
		return key;
	}
	const char *c = strstr(s, ": ");
	size_t n = c ? (size_t)(c - s) : strlen(s);
	if (!c) {
		if (n < 2 || s[n - 1] != ':')
			return NULL;
		n--;
	}
	if (n == 0)
		return NULL;
	memcpy(key, s, n);
	key[n] = '\0';
	*colon = s + n;
	return key;
}

/* "key: value" or "key:" at indentation ind inside the top level. */
static int map_entry(struct yparse *y, const char *s, unsigned ind)
{
	struct level *lv = &y->lv[y->nlv - 1];
	if (lv->seq)
		return bad(y, "a key among sequence items");
	lv->map = true;
	const char *rest;
	const char *key = key_of(y, s, &rest);
	if (!key)
		return bad(y, "not a YAML 'key: value' line");
	rest++;                          /* the ':' */
	while (*rest == ' ' || *rest == '\t')
		rest++;
	const char *path = join(y, lv->prefix, key, strlen(key));
	if (blank_or_comment(rest))
		return push(y, path, -1);   /* a nested collection, or empty */
	if ((rest[0] == '|' || rest[0] == '>') &&
	    blank_or_comment(rest + 1 + strspn(rest + 1, "+-0123456789")))
		return emit(y, path, block_scalar(y, ind, rest[0] == '>'));
	const char *v = scalar(y, rest);
	if (!v)
		return bad(y, "bad YAML scalar");
	return emit(y, path, v);
}

/* "- ..." at indentation ind: the next item of the top level. */
static int seq_item(struct yparse *y, const char *s, unsigned ind)
{
	struct level *lv = &y->lv[y->nlv - 1];
	if (lv->map)
		return bad(y, "a sequence item among keys");
	lv->seq = true;
	char num[16];
	int k = snprintf(num, sizeof(num), "%u", lv->items++);
	const char *path = join(y, lv->prefix, num, (size_t)k);
	const char *rest = s + 1;
	while (*rest == ' ')
		rest++;
	if (blank_or_comment(rest))
		return push(y, path, -1);
	const char *colon;
	if (!key_of(y, rest, &colon)) {
		const char *v = scalar(y, rest);
		return v ? emit(y, path, v) : bad(y, "bad YAML scalar");
	}
	unsigned item_ind = ind + (unsigned)(rest - s);
	if (push(y, path, (int)item_ind))
		return -1;
	return map_entry(y, rest, item_ind);
}

static int yaml_line(struct yparse *y)
{
	const char *l = y->lines[y->i];
	unsigned li = indent_of(l);
	if (blank_or_comment(l))
		return 0;
	if (li < y->base)
		return bad(y, "YAML less indented than its block");
	unsigned ind = li - y->base;
	const char *s = l + li;
	bool item = s[0] == '-' && (s[1] == ' ' || s[1] == '\0');

	/* close what this line is outside of */
	while (y->nlv > 1) {
		struct level *top = &y->lv[y->nlv - 1];
		if (top->indent < 0) {
			struct level *up = &y->lv[y->nlv - 2];
			if ((int)ind > up->indent || (item && (int)ind == up->indent && !up->seq)) {
				top->indent = (int)ind;
				break;
			}
			if (emit(y, top->prefix, ""))   /* "key:" with nothing under it */
				return -1;
			y->nlv--;
			continue;
		}
		if ((int)ind >= top->indent)
			break;
		y->nlv--;
	}
	struct level *top = &y->lv[y->nlv - 1];
	if ((int)ind != top->indent)
		return bad(y, "unexpected YAML indentation");
	return item ? seq_item(y, s, ind) : map_entry(y, s, ind);
}

int vt_rp_yaml_parse(struct vt_rp_tap *t, char **lines, unsigned nlines, unsigned indent,
		     unsigned first_line, char *err, size_t errlen)
{
	struct yparse y = { .t = t, .lines = lines, .n = nlines, .base = indent,
			    .first_line = first_line, .err = err, .errlen = errlen };
	y.lv[y.nlv++] = (struct level){ .indent = 0, .prefix = "" };
	for (y.i = 0; y.i < y.n; y.i++)
		if (yaml_line(&y))
			return -1;
	for (; y.nlv > 1; y.nlv--)
		if (y.lv[y.nlv - 1].indent < 0 && emit(&y, y.lv[y.nlv - 1].prefix, ""))
			return -1;
	return 0;
}
