/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * html.c - the report page: one self-contained HTML file (inline CSS and
 * SVG, no script, nothing fetched) with a summary per part, then the
 * sections written by findings.c, impl.c, heatmap.c, difftable.c and
 * covhtml.c.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
	"color:#1d232a;background:#fbfbfa}\n"
	"header{background:#22313f;color:#fff;padding:14px 28px}\n"
	"header h1{margin:0;font-size:22px}header p{margin:4px 0 0}\n"
	"nav{background:#e9edf1;padding:6px 28px;position:sticky;top:0;z-index:1}\n"
	"nav a{margin-right:14px;color:#1f4e79;text-decoration:none}\n"
	"main{padding:0 28px 48px;max-width:1500px}\n"
	"h2{margin:28px 0 8px;border-bottom:2px solid #d5dbe1;padding-bottom:2px}\n"
	"h3{margin:20px 0 6px}h4{margin:10px 0 4px}\n"
	"table{border-collapse:collapse;margin:6px 0 12px}\n"
	"th,td{border:1px solid #d5dbe1;padding:2px 8px;text-align:left;vertical-align:top}\n"
	"th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.z{color:#9aa5b1}\n"
	"code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px}\n"
	"pre.cmd{background:#f0f2f4;border-left:3px solid #5b7896;padding:4px 8px;margin:4px 0;"
	"white-space:pre-wrap;word-break:break-all}\n"
	".badge{display:inline-block;min-width:44px;text-align:center;border-radius:3px;"
	"padding:0 6px;font-size:12px;font-weight:600;color:#fff}\n"
	".badge.v-skip,.chip.v-skip{background:#9e9e9e}\n"
	".badge.v-pass,.chip.v-pass{background:#1a9850}\n"
	".badge.v-todo,.chip.v-todo{background:#e08214}\n"
	".badge.v-xpass,.chip.v-xpass{background:#7b3294}\n"
	".badge.v-fail,.chip.v-fail{background:#d73027}\n"
	"td.c-fail{background:#f8d4cf}td.c-xpass{background:#e8d5f0}td.c-todo{background:#fde6c8}\n"
	"td.c-pass{background:#dcefd9}td.c-skip{background:#eeeeee}\n"
	".chip{display:inline-block;color:#fff;border-radius:3px;padding:0 5px;margin:1px;"
	"font-size:12px}\n"
	".finding{border:1px solid #d5dbe1;border-left:4px solid #d73027;background:#fff;"
	"padding:6px 10px;margin:8px 0}\n"
	".finding.v-todo{border-left-color:#e08214}.finding.v-xpass{border-left-color:#7b3294}\n"
	".finding .where{color:#66707a;font-size:12px;margin-left:8px}\n"
	".finding ul.diag{margin:2px 0;padding-left:18px;color:#4a545e;font-size:12.5px}\n"
	"dl.yaml{display:grid;grid-template-columns:max-content auto;gap:1px 12px;margin:4px 0}\n"
	"dl.yaml dt{font-weight:600;color:#4a545e}dl.yaml dd{margin:0;word-break:break-word}\n"
	"dd.got{color:#b2182b}dd.expected{color:#1b7837}\n"
	".label{color:#66707a;font-size:12px}.more{color:#66707a;font-style:italic}\n"
	".verdict-pass{color:#1a9850}.verdict-fail{color:#d73027}\n"
	"svg.heat text{font:10px ui-monospace,'DejaVu Sans Mono',monospace;fill:#1d232a}\n"
	"svg.heat text.ax{font-weight:700;fill:#4a545e}\n"
	"svg.heat text.in{font-size:8.5px;text-anchor:middle;"
	"fill:#fff;pointer-events:none}\n"
	"svg.heat rect.v-skip{fill:#bdbdbd}svg.heat rect.v-pass{fill:#1a9850}"
	"svg.heat rect.v-todo{fill:#f4a340}\n"
	"svg.heat rect.v-xpass{fill:#7b3294}svg.heat rect.v-fail{fill:#d73027}\n"
	"svg.heat a rect{stroke:#1d232a;stroke-width:1.5}\n"
	".group{border-top:1px solid #e1e5e9;padding:4px 0}\n"
	"td.bad{background:#f8d4cf;font-weight:600}\n";

static void count_cell(FILE *f, unsigned n, enum vt_rp_verdict v)
{
	bool loud = n && (v == VT_RP_FAIL || v == VT_RP_XPASS || v == VT_RP_TODO);
	fprintf(f, "<td class=\"n%s%s\">%u</td>", n ? "" : " z",
		loud ? (v == VT_RP_FAIL ? " c-fail" : v == VT_RP_XPASS ? " c-xpass" : " c-todo") :
		"", n);
}

static const char *kind_name(enum vt_rp_kind k)
{
	switch (k) {
	case VT_RP_RUN:    return "vcts run";
	case VT_RP_GUEST:  return "vcts guest";
	case VT_RP_MATRIX: return "vcts matrix";
	case VT_RP_DIFF:   return "vcts matrix --diff";
	}
	return "?";
}

/* What else is wrong with a part: a bail, an unmet plan, a skipped file. */
static void part_note(FILE *f, const struct vt_rp_part *p)
{
	const struct vt_rp_tap *t = &p->tap;
	if (t->bailed) {
		fputs("Bail out! ", f);
		vt_rp_esc(f, t->bail_reason);
	} else if (!t->has_plan) {
		fprintf(f, "no plan (%u test points): the run stopped early", t->ntop);
	} else if (t->plan != t->ntop) {
		fprintf(f, "planned %u, ran %u", t->plan, t->ntop);
	} else if (t->skip_all) {
		fputs("skipped: ", f);
		vt_rp_esc(f, t->skip_reason);
	}
}

static void summary(FILE *f, const struct vt_rp_report *r)
{
	unsigned tot[VT_RP_NV] = { 0 }, points = 0;
	fputs("<section id=\"summary\"><h2>Summary</h2>\n<table><tr><th>part</th><th>from</th>"
	      "<th>tests</th>", f);
	static const enum vt_rp_verdict order[] = { VT_RP_PASS, VT_RP_FAIL, VT_RP_SKIP,
						    VT_RP_TODO, VT_RP_XPASS };
	for (unsigned k = 0; k < 5; k++)
		fprintf(f, "<th>%s</th>", vt_rp_verdict_label(order[k]));
	fputs("<th>verdict</th><th>note</th></tr>\n", f);
	for (unsigned i = 0; i < r->nparts; i++) {
		const struct vt_rp_part *p = &r->parts[i];
		char id[160];
		vt_rp_anchor(id, sizeof(id), "part-", p->name);
		fprintf(f, "<tr id=\"%s\"><td><code>", id);
		vt_rp_esc(f, p->name);
		fprintf(f, ".tap</code></td><td>%s</td><td class=\"n\">%u</td>", kind_name(p->kind),
			p->tap.ntop);
		for (unsigned k = 0; k < 5; k++) {
			count_cell(f, p->n[order[k]], order[k]);
			tot[order[k]] += p->n[order[k]];
		}
		points += p->tap.ntop;
		bool bad = vt_rp_part_failed(p);
		fprintf(f, "<td><span class=\"badge v-%s\">%s</span></td><td>",
			bad ? "fail" : "pass", bad ? "FAIL" : "PASS");
		part_note(f, p);
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "<tr><th>total</th><th></th><th class=\"n\">%u</th>", points);
	for (unsigned k = 0; k < 5; k++)
		fprintf(f, "<th class=\"n\">%u</th>", tot[order[k]]);
	fputs("<th></th><th></th></tr></table>\n", f);
	fputs("<p class=\"label\">Counted per top-level test point.  todo: a known issue (xfail) "
	      "or, in the matrix, a hazard the profile permits; xpass: a known issue that is "
	      "gone (fails the run).</p></section>\n", f);
}

static void nav(FILE *f, const struct vt_rp_report *r)
{
	bool matrix = false, diff = false;
	for (unsigned i = 0; i < r->nparts; i++) {
		matrix |= r->parts[i].kind == VT_RP_MATRIX;
		diff |= r->parts[i].kind == VT_RP_DIFF;
	}
	fputs("<nav><a href=\"#summary\">Summary</a><a href=\"#failures\">Failures</a>"
	      "<a href=\"#impl\">Implementations</a>", f);
	if (matrix)
		fputs("<a href=\"#matrix\">Matrix</a>", f);
	if (diff)
		fputs("<a href=\"#diffs\">Profile diffs</a>", f);
	fputs("<a href=\"#known\">Known issues</a><a href=\"#coverage\">Clause coverage</a>"
	      "</nav>\n", f);
}

void vt_rp_html(FILE *f, const struct vt_rp_report *r, const struct vt_rp_cov *cov)
{
	bool failed = false;
	for (unsigned i = 0; i < r->nparts; i++)
		failed |= vt_rp_part_failed(&r->parts[i]);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>vcts conformance report</title>\n<style>\n", f);
	fputs(css, f);
	fputs("</style></head><body>\n<header><h1>vcts conformance report</h1><p>", f);
	fprintf(f, "%u TAP files from <code>", r->nparts);
	vt_rp_esc(f, r->dir);
	fprintf(f, "</code> &middot; verdict: <span class=\"badge v-%s\">%s</span></p></header>\n",
		failed ? "fail" : "pass", failed ? "FAIL" : "PASS");
	nav(f, r);
	fputs("<main>\n", f);
	summary(f, r);
	vt_rp_html_failures(f, r);
	vt_rp_html_impl(f, r);
	bool any = false;
	for (unsigned i = 0; i < r->nparts; i++) {
		if (r->parts[i].kind != VT_RP_MATRIX)
			continue;
		if (!any)
			fputs("<section id=\"matrix\"><h2>Platform-access matrix</h2>\n", f);
		any = true;
		vt_rp_html_heatmap(f, &r->parts[i]);
	}
	if (any)
		fputs("</section>\n", f);
	any = false;
	for (unsigned i = 0; i < r->nparts; i++) {
		if (r->parts[i].kind != VT_RP_DIFF)
			continue;
		if (!any)
			fputs("<section id=\"diffs\"><h2>Profile diffs</h2>\n", f);
		any = true;
		vt_rp_html_diff(f, &r->parts[i]);
	}
	if (any)
		fputs("</section>\n", f);
	vt_rp_html_known(f, r);
	vt_rp_html_coverage(f, cov);
	fputs("</main></body></html>\n", f);
}
