/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.c - print TAP 14: the one place outcomes become text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define TAP_DEFAULT_VERSION 14

bool vt_outcome_failed(enum vt_outcome o)
{
	switch (o) {
	case VT_PASS:
	case VT_SKIP:
	case VT_XFAIL:
		return false;
	default:
		return true;
	}
}

const char *vt_outcome_name(enum vt_outcome o)
{
	switch (o) {
	case VT_PASS:    return "pass";
	case VT_FAIL:    return "fail";
	case VT_SKIP:    return "skip";
	case VT_XFAIL:   return "xfail";
	case VT_XPASS:   return "xpass";
	case VT_BROKEN:  return "broken";
	case VT_TIMEOUT: return "timeout";
	case VT_CRASH:   return "crash";
	}
	return "?";
}

static void indent(const struct vt_tap *t, unsigned extra)
{
	fprintf(t->f, "%*s", (int)(t->indent + extra), "");
}

/*
 * A description or directive reason on a test line: '#' would start a
 * directive and '\' escapes, so both are escaped; a line break would end
 * the test line, so control characters become spaces.
 */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '#' || c == '\\')
			fputc('\\', f);
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
}

/* A directive reason: '#' is harmless after the directive, line breaks
 * are not. */
static void put_flat(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
}

void vt_tap_start(struct vt_tap *t, FILE *f, unsigned version)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	fprintf(f, "TAP version %u\n", version ? version : TAP_DEFAULT_VERSION);
	fflush(f);
}

void vt_tap_plan(struct vt_tap *t, unsigned n)
{
	t->plan = n;
	indent(t, 0);
	fprintf(t->f, "1..%u\n", n);
	fflush(t->f);
}

void vt_tap_skip_all(struct vt_tap *t, const char *reason)
{
	indent(t, 0);
	fputs("1..0 # SKIP ", t->f);
	put_flat(t->f, reason ? reason : "");
	fputc('\n', t->f);
	fflush(t->f);
}

unsigned vt_tap_result(struct vt_tap *t, enum vt_outcome o, const char *name,
		       const char *detail)
{
	bool ok = o == VT_PASS || o == VT_SKIP;
	const char *directive = NULL;
	bool has_detail = detail && *detail;

	switch (o) {
	case VT_SKIP:    directive = "SKIP"; break;
	case VT_XFAIL:   directive = "TODO"; break;
	case VT_XPASS:   directive = "XPASS"; break;
	case VT_BROKEN:  directive = "BROKEN"; break;
	case VT_TIMEOUT: directive = "timeout"; has_detail = false; break;
	case VT_CRASH:   directive = "crash"; break;
	default:         break;
	}
	t->n++;
	if (vt_outcome_failed(o))
		t->failed++;
	indent(t, 0);
	fprintf(t->f, "%sok %u - ", ok ? "" : "not ", t->n);
	put_escaped(t->f, name && *name ? name : "(unnamed)");
	if (directive) {
		fprintf(t->f, " # %s", directive);
		if (o == VT_CRASH) {
			fputs(" (signal ", t->f);
			put_flat(t->f, has_detail ? detail : "unknown");
			fputc(')', t->f);
		} else if (has_detail) {
			fputc(' ', t->f);
			put_flat(t->f, detail);
		}
	}
	fputc('\n', t->f);
	fflush(t->f);
	return t->n;
}

void vt_tap_yaml_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* key: "value" at the given extra indent, first-item dash optional. */
static void yaml_str(struct vt_tap *t, unsigned extra, bool *dash, const char *key,
		     const char *val)
{
	if (!val || !*val)
		return;
	if (dash && *dash) {
		indent(t, extra - 2);
		fputs("- ", t->f);
		*dash = false;
	} else {
		indent(t, extra);
	}
	fprintf(t->f, "%s: ", key);
	vt_tap_yaml_quote(t->f, val);
	fputc('\n', t->f);
}

static void yaml_finding(struct vt_tap *t, unsigned extra, bool item,
			 const struct vt_tap_finding *fd)
{
	bool dash = item;
	char hex[3][24];

	yaml_str(t, extra, &dash, "message", fd->message);
	yaml_str(t, extra, &dash, "rule", fd->rule);
	yaml_str(t, extra, &dash, "section", fd->section);
	yaml_str(t, extra, &dash, "severity", fd->severity);
	yaml_str(t, extra, &dash, "who", fd->who);
	yaml_str(t, extra, &dash, "expected", fd->expected);
	yaml_str(t, extra, &dash, "got", fd->got);
	yaml_str(t, extra, &dash, "at", fd->at);
	if (fd->has_addr) {
		snprintf(hex[0], sizeof(hex[0]), "0x%llx", (unsigned long long)fd->address);
		snprintf(hex[1], sizeof(hex[1]), "0x%llx", (unsigned long long)fd->gpa);
		snprintf(hex[2], sizeof(hex[2]), "0x%llx", (unsigned long long)fd->page);
		yaml_str(t, extra, &dash, "address", hex[0]);
		yaml_str(t, extra, &dash, "gpa", hex[1]);
		yaml_str(t, extra, &dash, "page", hex[2]);
	}
	if (dash)     /* an item with nothing to say still needs its dash */
		yaml_str(t, extra, &dash, "message", "(no detail)");
}

void vt_tap_yaml(struct vt_tap *t, const struct vt_tap_finding *top,
		 const struct vt_tap_finding *list, unsigned nlist)
{
	indent(t, 2);
	fputs("---\n", t->f);
	if (top)
		yaml_finding(t, 2, false, top);
	if (list && nlist) {
		indent(t, 2);
		fputs("violations:\n", t->f);
		for (unsigned i = 0; i < nlist; i++)
			yaml_finding(t, 6, true, &list[i]);
	}
	indent(t, 2);
	fputs("...\n", t->f);
	fflush(t->f);
}

static void diag_lines(struct vt_tap *t, const char *text)
{
	const char *p = text;
	do {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		indent(t, 0);
		if (len) {
			fputs("# ", t->f);
			fwrite(p, 1, len, t->f);
		} else {
			fputc('#', t->f);
		}
		fputc('\n', t->f);
		p = nl ? nl + 1 : p + len;
	} while (*p);
}

void vt_tap_diag(struct vt_tap *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag_lines(t, buf);
	fflush(t->f);
}

void vt_tap_bail(struct vt_tap *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fputs("Bail out! ", t->f);
	put_flat(t->f, buf);
	fputc('\n', t->f);
	fflush(t->f);
	t->bailed = true;
}

void vt_tap_subtest_begin(struct vt_tap *parent, struct vt_tap *sub, const char *name)
{
	memset(sub, 0, sizeof(*sub));
	sub->f = parent->f;
	sub->indent = parent->indent + 4;
	indent(parent, 0);
	fputs("# Subtest: ", parent->f);
	put_flat(parent->f, name ? name : "");
	fputc('\n', parent->f);
	fflush(parent->f);
}

unsigned vt_tap_subtest_end(struct vt_tap *parent, struct vt_tap *sub, const char *name)
{
	bool plan_met = true;
	if (!sub->plan)
		vt_tap_plan(sub, sub->n);     /* trailing plan: count what ran */
	else
		plan_met = sub->plan == sub->n;
	if (sub->bailed)
		parent->bailed = true;
	enum vt_outcome o = sub->failed || !plan_met ? VT_FAIL : VT_PASS;
	unsigned n = vt_tap_result(parent, o, name, NULL);
	if (!plan_met) {
		char msg[96];
		snprintf(msg, sizeof(msg), "planned %u subtests, ran %u", sub->plan, sub->n);
		struct vt_tap_finding fd = { .message = msg };
		vt_tap_yaml(parent, &fd, NULL, 0);
	}
	return n;
}
