/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * covhtml.c - the clause coverage on the page: totals per role and per
 * chapter, then every normative section with its citing tests, their
 * verdicts and its status (the same numbers as coverage.txt).
 */
#include <stdio.h>

#include "report.h"

static const char *const status_class[VT_COV_N] = {
	"c-fail", "c-todo", "c-pass", "c-skip", "", "z",
};

static void total_row(FILE *f, const struct vt_rp_cov_total *t, bool head)
{
	const char *td = head ? "th" : "td";
	fprintf(f, "<tr><%s>", td);
	vt_rp_esc(f, t->key);
	fprintf(f, "</%s><%s class=\"n\">%u</%s><%s class=\"n\">%u</%s>", td, td, t->clauses, td,
		td, t->cited, td);
	for (unsigned s = 0; s < VT_COV_N; s++)
		fprintf(f, "<%s class=\"n %s\">%u</%s>", td, t->st[s] ? status_class[s] : "z",
			t->st[s], td);
	fprintf(f, "</tr>\n");
}

static void totals_table(FILE *f, const char *what, const struct vt_rp_cov_total *t, unsigned n,
			 const struct vt_rp_cov_total *all)
{
	fprintf(f, "<table class=\"cov-%s\"><tr><th>%s</th><th>clauses</th><th>cited</th>", what,
		what);
	for (unsigned s = 0; s < VT_COV_N; s++)
		fprintf(f, "<th>%s</th>", vt_rp_cov_status_name(s));
	fputs("</tr>\n", f);
	for (unsigned i = 0; i < n; i++)
		total_row(f, &t[i], false);
	if (all)
		total_row(f, all, true);
	fputs("</table>\n", f);
}

static void clause_row(FILE *f, const struct vt_rp_cov_row *r)
{
	char id[96];
	vt_rp_anchor(id, sizeof(id), "c-", r->c->id);
	fprintf(f, "<tr id=\"%s\"><td><code>", id);
	vt_rp_esc(f, r->c->id);
	fputs("</code></td><td>", f);
	vt_rp_esc(f, r->c->role);
	fprintf(f, "</td><td class=\"%s\">%s</td><td class=\"n\">%u</td>", status_class[r->st],
		vt_rp_cov_status_name(r->st), r->tests);
	static const enum vt_rp_verdict order[] = { VT_RP_PASS, VT_RP_FAIL, VT_RP_SKIP,
						    VT_RP_TODO, VT_RP_XPASS };
	for (unsigned k = 0; k < 5; k++)
		fprintf(f, "<td class=\"n%s\">%u</td>", r->n[order[k]] ? "" : " z", r->n[order[k]]);
	fprintf(f, "<td class=\"n%s\">%u/%u</td><td>", r->named_fail || r->named_todo ? "" : " z",
		r->named_fail, r->named_todo);
	vt_rp_esc(f, r->c->section);
	fputc(' ', f);
	vt_rp_esc(f, r->c->title);
	fputs("</td></tr>\n", f);
}

void vt_rp_html_coverage(FILE *f, const struct vt_rp_cov *cov)
{
	const struct vt_rp_cov_total *a = &cov->all;
	fputs("<section id=\"coverage\"><h2>Clause coverage</h2>\n", f);
	fprintf(f, "<p>%u normative sections of the specification "
		   "(<code>spec/normative-sections.tsv</code>); %u cited by the catalogue's tests. "
		   "A clause's status is the worst of: its citing tests' results in the "
		   "<code>vcts run</code> parts, and failures or known issues anywhere whose YAML "
		   "<code>rule</code> names it. Also in <code>coverage.txt</code>.</p>\n",
		a->clauses, a->cited);
	fputs("<h3>Per role</h3>\n", f);
	totals_table(f, "role", cov->roles, 2, a);
	fputs("<h3>Per chapter</h3>\n", f);
	totals_table(f, "chapter", cov->chapters, cov->nchapters, a);
	fputs("<details><summary>Every normative section</summary>\n<table class=\"clauses\">"
	      "<tr><th>id</th><th>role</th><th>status</th><th>tests</th><th>passed</th>"
	      "<th>failed</th><th>skipped</th><th>todo</th><th>xpass</th><th>named</th>"
	      "<th>section</th></tr>\n", f);
	for (unsigned i = 0; i < cov->nrows; i++)
		clause_row(f, &cov->rows[i]);
	fputs("</table></details>\n</section>\n", f);
}
