/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * findings.c - the details of test points that did not simply pass:
 * failures (not ok without TODO, XPASS, a bail, an unmet plan) and known
 * issues (TODO: xfail, matrix hazards).  Each shows its verdict, the
 * clause its YAML names with the registry's label and section, expected
 * and got, the address and page when there is one, its subtests that went
 * wrong, and the command that runs it again.  Lists are capped.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

#define FAIL_CAP    50      /* failures shown per part          */
#define KNOWN_CAP   10      /* known issues shown per part       */
#define DIAG_CAP    8       /* comment lines shown per finding   */

static const char *last_key(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot ? dot + 1 : path;
}

/* The YAML path without its last key: "" or "violations.0". */
static size_t prefix_len(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot ? (size_t)(dot - path) : 0;
}

/* rule: the id, the registry's section and title, its LaTeX label. */
static bool clause_dd(FILE *f, const char *id)
{
	const struct vt_clause *c = vt_clause_lookup(id);
	fputs("<dt>clause</dt><dd class=\"rule\"><b>", f);
	vt_rp_esc(f, id);
	fputs("</b>", f);
	if (c) {
		fputs(" &mdash; ", f);
		if (c->section && *c->section) {
			vt_rp_esc(f, c->section);
			fputc(' ', f);
		}
		vt_rp_esc(f, c->title);
		if (c->label && *c->label) {
			fputs(" <span class=\"label\">", f);
			vt_rp_esc(f, c->label);
			fputs("</span>", f);
		}
	}
	fputs("</dd>", f);
	return c != NULL;
}

/* Has the group [from, to) of p's YAML a rule the registry knows? */
static bool group_has_clause(const struct vt_rp_tap *t, unsigned from, unsigned to)
{
	for (unsigned k = from; k < to; k++)
		if (strcmp(last_key(t->kv[k].path), "rule") == 0 &&
		    vt_clause_lookup(t->kv[k].value))
			return true;
	return false;
}

/* One YAML group: the keys sharing a path prefix, as a definition list. */
static void yaml_group(FILE *f, const struct vt_rp_tap *t, unsigned from, unsigned to)
{
	size_t pl = prefix_len(t->kv[from].path);
	if (pl) {
		fputs("<div class=\"label\">", f);
		vt_rp_escn(f, t->kv[from].path, pl);
		fputs("</div>", f);
	}
	bool known = group_has_clause(t, from, to);
	fputs("<dl class=\"yaml\">", f);
	for (unsigned k = from; k < to; k++) {
		const char *key = last_key(t->kv[k].path), *val = t->kv[k].value;
		if (strcmp(key, "rule") == 0 && clause_dd(f, val))
			continue;
		if (strcmp(key, "section") == 0 && known)
			continue;         /* the registry's text stands for it */
		fputs("<dt>", f);
		vt_rp_esc(f, key);
		const char *cls = strcmp(key, "got") == 0 ? "got" :
				  strcmp(key, "expected") == 0 ? "expected" : "v";
		fprintf(f, "</dt><dd class=\"%s\">", cls);
		vt_rp_esc(f, val);
		fputs("</dd>", f);
	}
	fputs("</dl>\n", f);
}

static void yaml_blocks(FILE *f, const struct vt_rp_tap *t, const struct vt_rp_point *p)
{
	unsigned end = p->kv_begin + p->nkv;
	for (unsigned k = p->kv_begin; k < end;) {
		size_t pl = prefix_len(t->kv[k].path);
		unsigned j = k + 1;
		while (j < end && prefix_len(t->kv[j].path) == pl &&
		       strncmp(t->kv[j].path, t->kv[k].path, pl) == 0)
			j++;
		yaml_group(f, t, k, j);
		k = j;
	}
}

static void badge(FILE *f, enum vt_rp_verdict v)
{
	fprintf(f, "<span class=\"badge v-%s\">%s</span>", vt_rp_verdict_name(v),
		vt_rp_verdict_name(v));
}

static void directive(FILE *f, const struct vt_rp_point *p)
{
	if (!p->directive)
		return;
	fputs(" <span class=\"label\">", f);
	vt_rp_esc(f, p->directive);
	if (*p->reason) {
		fputc(' ', f);
		vt_rp_esc(f, p->reason);
	}
	fputs("</span>", f);
}

static void comments(FILE *f, const struct vt_rp_tap *t, const struct vt_rp_point *p)
{
	unsigned n = p->c_end - p->c_begin;
	if (!n)
		return;
	fputs("<ul class=\"diag\">", f);
	for (unsigned i = p->c_begin; i < p->c_end && i < p->c_begin + DIAG_CAP; i++) {
		fputs("<li>", f);
		vt_rp_esc(f, t->cm[i].text);
		fputs("</li>", f);
	}
	if (n > DIAG_CAP)
		fprintf(f, "<li class=\"more\">... and %u more lines</li>", n - DIAG_CAP);
	fputs("</ul>\n", f);
}

void vt_rp_html_finding(FILE *f, const struct vt_rp_part *part, const struct vt_rp_point *p,
			const char *id)
{
	const struct vt_rp_tap *t = &part->tap;
	char cmd[2048];
	fprintf(f, "<div class=\"finding v-%s\"", vt_rp_verdict_name(p->eff));
	if (id)
		fprintf(f, " id=\"%s\"", id);
	fputs("><div>", f);
	badge(f, p->eff);
	fputs(" <code>", f);
	vt_rp_esc(f, p->name);
	fputs("</code>", f);
	directive(f, p);
	fputs("<span class=\"where\">", f);
	vt_rp_esc(f, part->name);
	fprintf(f, ".tap:%u</span></div>\n", p->line);
	comments(f, t, p);
	yaml_blocks(f, t, p);
	unsigned self = (unsigned)(p - t->pt);
	for (unsigned i = p->sub_begin; i < self; i++) {
		const struct vt_rp_point *s = &t->pt[i];
		if (!vt_rp_is_problem(s->own))
			continue;
		fputs("<div>subtest <code>", f);
		vt_rp_esc(f, s->name);
		fputs("</code> ", f);
		badge(f, s->own);
		directive(f, s);
		fputs("</div>\n", f);
		yaml_blocks(f, t, s);
	}
	vt_rp_repro_point(part, p, cmd, sizeof(cmd));
	if (cmd[0]) {
		fputs("<div class=\"label\">reproduce:</div><pre class=\"cmd\">", f);
		vt_rp_esc(f, cmd);
		fputs("</pre>\n", f);
	}
	fputs("</div>\n", f);
}

static bool is_failure(enum vt_rp_verdict v)
{
	return v == VT_RP_FAIL || v == VT_RP_XPASS;
}

/* A bail or an unmet plan: the part itself went wrong. */
static bool part_problem(FILE *f, const struct vt_rp_part *part)
{
	const struct vt_rp_tap *t = &part->tap;
	if (!t->bailed && !part->bad_plan)
		return false;
	fputs("<div class=\"finding v-fail\"><div><span class=\"badge v-fail\">fail</span> <code>",
	      f);
	vt_rp_esc(f, part->name);
	fputs(".tap</code> ", f);
	if (t->bailed) {
		fputs("Bail out! ", f);
		vt_rp_esc(f, t->bail_reason);
		fputs("<span class=\"where\">", f);
		vt_rp_esc(f, part->name);
		fprintf(f, ".tap:%u</span>", t->bail_line);
	} else if (!t->has_plan) {
		fprintf(f, "has no plan: the run stopped after %u test points", t->ntop);
	} else {
		fprintf(f, "planned %u test points, ran %u", t->plan, t->ntop);
	}
	fputs("</div></div>\n", f);
	return true;
}

void vt_rp_html_failures(FILE *f, const struct vt_rp_report *r)
{
	unsigned shown_any = 0;
	char id[192];
	fputs("<section id=\"failures\"><h2>Failures</h2>\n", f);
	for (unsigned k = 0; k < r->nparts; k++) {
		const struct vt_rp_part *part = &r->parts[k];
		const struct vt_rp_tap *t = &part->tap;
		unsigned n = 0;
		shown_any += part_problem(f, part);
		for (unsigned i = 0; i < t->npt; i++) {
			const struct vt_rp_point *p = &t->pt[i];
			if (p->depth || !is_failure(p->eff))
				continue;
			if (n++ >= FAIL_CAP)
				continue;
			char num[16];
			snprintf(num, sizeof(num), "-%u", p->number);
			vt_rp_anchor(id, sizeof(id) - sizeof(num), "f-", part->name);
			strcat(id, num);
			vt_rp_html_finding(f, part, p, id);
			shown_any++;
		}
		if (n > FAIL_CAP) {
			fprintf(f, "<p class=\"more\">... and %u more failures in <code>",
				n - FAIL_CAP);
			vt_rp_esc(f, part->name);
			fputs(".tap</code></p>\n", f);
		}
	}
	if (!shown_any)
		fputs("<p class=\"verdict-pass\">No failures: nothing failed, broke, timed out, "
		      "crashed or passed unexpectedly.</p>\n", f);
	fputs("</section>\n", f);
}

void vt_rp_html_known(FILE *f, const struct vt_rp_report *r)
{
	unsigned total = 0;
	char id[192];
	fputs("<section id=\"known\"><h2>Known issues and hazards</h2>\n", f);
	for (unsigned k = 0; k < r->nparts; k++) {
		const struct vt_rp_part *part = &r->parts[k];
		const struct vt_rp_tap *t = &part->tap;
		unsigned n = part->n[VT_RP_TODO], shown = 0;
		if (!n)
			continue;
		total += n;
		fputs("<h3><code>", f);
		vt_rp_esc(f, part->name);
		fprintf(f, ".tap</code>: %u %s</h3>\n", n,
			part->kind == VT_RP_MATRIX ? "hazard cells (see the heat map)" :
			"known issues (TODO)");
		for (unsigned i = 0; i < t->npt && shown < KNOWN_CAP; i++) {
			const struct vt_rp_point *p = &t->pt[i];
			if (p->depth || p->eff != VT_RP_TODO)
				continue;
			char num[16];
			snprintf(num, sizeof(num), "-%u", p->number);
			vt_rp_anchor(id, sizeof(id) - sizeof(num), "k-", part->name);
			strcat(id, num);
			vt_rp_html_finding(f, part, p, id);
			shown++;
		}
		if (n > shown)
			fprintf(f, "<p class=\"more\">... and %u more</p>\n", n - shown);
	}
	if (!total)
		fputs("<p>No known issues.</p>\n", f);
	fputs("</section>\n", f);
}
