/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter.c - --filter EXPR: which cells of a selection take part.
 *
 *   EXPR  := TERM [',' TERM]...          every term must hold
 *   TERM  := NAME '=' VALUES             the cell's value is one of VALUES
 *          | NAME '!=' VALUES            the cell's value is none of them
 *   VALUES:= VALUE ['|' VALUE]...
 *
 * NAME is an axis (vt_mx_axes) or "expect", whose values are the oracle's
 * outcomes (live, driver-refuses, device-refuses, skip) and "hazard": a
 * cell the profile lets run although an invariant cannot hold.  A hazard
 * cell also has its outcome, so "expect=live" takes it and
 * "expect=live,expect!=hazard" leaves it out.
 */
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

#define EXPECT_AXIS  (-1)

/* The values of "expect", by bit; the outcomes keep their enum order. */
static const struct {
	const char *name;
	unsigned bit;
} expect_values[] = {
	{ "live", MX_LIVE },
	{ "driver-refuses", MX_DRIVER_REFUSES },
	{ "device-refuses", MX_DEVICE_REFUSES },
	{ "skip", MX_CELL_SKIP },
	{ "hazard", MX_NOUTCOMES },
};
#define NEXPECT (sizeof(expect_values) / sizeof(expect_values[0]))

struct mx_term {
	int axis;           /* enum vt_mx_axis, or EXPECT_AXIS */
	bool negated;       /* NAME!=...                       */
	uint32_t values;    /* bit per value named             */
};

struct vt_mx_filter {
	unsigned n;
	struct mx_term term[];
};

/* ", "-joined names, for error messages. */
static void list_axes(char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned a = 0; a < MX_NAXES && off < len; a++)
		off += (size_t)snprintf(buf + off, len - off, "%s, ", vt_mx_axes[a].name);
	if (off < len)
		snprintf(buf + off, len - off, "expect");
}

static void list_values(int axis, char *buf, size_t len)
{
	size_t off = 0;
	unsigned n = axis == EXPECT_AXIS ? NEXPECT : vt_mx_axes[axis].nvalues;
	buf[0] = '\0';
	for (unsigned v = 0; v < n && off < len; v++) {
		const char *name = axis == EXPECT_AXIS ? expect_values[v].name :
							 vt_mx_axes[axis].values[v];
		off += (size_t)snprintf(buf + off, len - off, "%s%s", v ? ", " : "", name);
	}
}

static int find_axis(const char *name, size_t len)
{
	if (len == 6 && strncmp(name, "expect", 6) == 0)
		return EXPECT_AXIS;
	for (unsigned a = 0; a < MX_NAXES; a++)
		if (strlen(vt_mx_axes[a].name) == len && strncmp(vt_mx_axes[a].name, name, len) == 0)
			return (int)a;
	return -2;
}

/* The bit of one value of the axis, or -1. */
static int find_value(int axis, const char *v, size_t len)
{
	if (axis == EXPECT_AXIS) {
		for (unsigned k = 0; k < NEXPECT; k++)
			if (strlen(expect_values[k].name) == len &&
			    strncmp(expect_values[k].name, v, len) == 0)
				return (int)expect_values[k].bit;
		return -1;
	}
	const struct vt_mx_axis_def *d = &vt_mx_axes[axis];
	for (unsigned k = 0; k < d->nvalues; k++)
		if (strlen(d->values[k]) == len && strncmp(d->values[k], v, len) == 0)
			return (int)k;
	return -1;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* Parse one term (s, len: not NUL-terminated). */
static int parse_term(const char *s, size_t len, struct mx_term *t, char *err, size_t errlen)
{
	char names[256];
	trim(&s, &len);
	const char *eq = memchr(s, '=', len);
	if (!len) {
		snprintf(err, errlen, "empty term (terms are NAME=V1|V2 or NAME!=V1|V2, joined "
				      "by ',')");
		return -1;
	}
	if (!eq) {
		snprintf(err, errlen, "bad term '%.*s': no '=' or '!=' (terms are NAME=V1|V2 or "
				      "NAME!=V1|V2)", (int)len, s);
		return -1;
	}
	size_t nlen = (size_t)(eq - s);
	t->negated = nlen && s[nlen - 1] == '!';
	const char *name = s;
	size_t namelen = nlen - (t->negated ? 1 : 0);
	trim(&name, &namelen);
	t->axis = find_axis(name, namelen);
	if (t->axis == -2) {
		list_axes(names, sizeof(names));
		snprintf(err, errlen, "bad term '%.*s': unknown name '%.*s' (names: %s)", (int)len,
			 s, (int)namelen, name, names);
		return -1;
	}
	const char *v = eq + 1, *end = s + len;
	t->values = 0;
	for (;;) {
		const char *bar = memchr(v, '|', (size_t)(end - v));
		const char *vend = bar ? bar : end;
		const char *val = v;
		size_t vlen = (size_t)(vend - v);
		trim(&val, &vlen);
		int bit = vlen ? find_value(t->axis, val, vlen) : -1;
		if (bit < 0) {
			list_values(t->axis, names, sizeof(names));
			snprintf(err, errlen, "bad term '%.*s': %s%.*s%s for %.*s (values: %s)",
				 (int)len, s, vlen ? "unknown value '" : "empty value", (int)vlen,
				 val, vlen ? "'" : "", (int)namelen, name, names);
			return -1;
		}
		t->values |= 1u << bit;
		if (!bar)
			break;
		v = bar + 1;
	}
	return 0;
}

struct vt_mx_filter *vt_mx_filter_parse(const char *expr, char *err, size_t errlen)
{
	unsigned n = 1;
	for (const char *c = expr; *c; c++)
		n += *c == ',';
	struct vt_mx_filter *f = calloc(1, sizeof(*f) + n * sizeof(f->term[0]));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *s = expr;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (parse_term(s, len, &f->term[f->n], err, errlen)) {
			free(f);
			return NULL;
		}
		f->n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	return f;
}

static bool term_holds(const struct mx_term *t, const struct vt_mx_cell *c,
		       const struct vt_mx_expected *e)
{
	uint32_t have;
	if (t->axis == EXPECT_AXIS)
		have = (1u << e->outcome) | (e->hazard ? 1u << MX_NOUTCOMES : 0);
	else
		have = 1u << c->v[t->axis];
	return ((t->values & have) != 0) != t->negated;
}

bool vt_mx_filter_match(const struct vt_mx_filter *f, const struct vt_mx_cell *c,
			const struct vt_mx_expected *e)
{
	for (unsigned i = 0; f && i < f->n; i++)
		if (!term_holds(&f->term[i], c, e))
			return false;
	return true;
}

void vt_mx_filter_free(struct vt_mx_filter *f)
{
	free(f);
}
