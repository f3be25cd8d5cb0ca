/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * coverage.c - which normative sections of the spec the run tested, and
 * how that went.  For every row of spec/normative-sections.tsv:
 *   - the catalogue tests that cite it (as `vcts clauses` counts them);
 *   - the verdicts of their instances in the `vcts run` parts;
 *   - failures and known issues anywhere (matrix, guest) whose YAML
 *     "rule" names it.
 * Its status is the worst of these: failed, known (only TODO), passed,
 * skipped, not run (cited, no result), not cited.  Totals go per chapter
 * and per role.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "../../suites/suites.h"

static const char *const status_names[VT_COV_N] = {
	"failed", "known", "passed", "skipped", "not-run", "not-cited",
};

const char *vt_rp_cov_status_name(enum vt_rp_cov_status s)
{
	return s < VT_COV_N ? status_names[s] : "?";
}

static struct vt_rp_cov_row *row_of(struct vt_rp_cov *cov, const char *id)
{
	const struct vt_clause *c = vt_clause_lookup(id);
	if (!c || c->kind != VT_CLAUSE_SECTION)
		return NULL;
	for (unsigned i = 0; i < cov->nrows; i++)
		if (cov->rows[i].c == c)
			return &cov->rows[i];
	return NULL;
}

/* Catalogue tests citing each clause: the same walk as `vcts clauses`. */
static void count_citations(struct vt_rp_cov *cov)
{
	for (const struct vt_suite *const *s = vt_suites; *s; s++)
		for (unsigned i = 0; i < (*s)->ntests; i++) {
			const char *cur = (*s)->tests[i].clauses;
			char id[64];
			while (vt_clause_next(&cur, id, sizeof(id))) {
				struct vt_rp_cov_row *row = row_of(cov, id);
				if (row)
					row->tests++;
			}
		}
}

/* A `vcts run` point counts for every clause its catalogue test cites. */
static void count_instance(struct vt_rp_cov *cov, const struct vt_rp_point *p)
{
	const struct vt_test *t = vt_rp_catalogue_test(p->name, NULL);
	if (!t)
		return;
	const char *cur = t->clauses;
	char id[64];
	while (vt_clause_next(&cur, id, sizeof(id))) {
		struct vt_rp_cov_row *row = row_of(cov, id);
		if (row)
			row->n[p->eff]++;
	}
}

/* The YAML "rule" keys of a failing or TODO point name broken clauses. */
static void count_named(struct vt_rp_cov *cov, const struct vt_rp_tap *t, unsigned i)
{
	const struct vt_rp_point *p = &t->pt[i];
	if (!vt_rp_is_problem(p->own) || !p->nkv)
		return;
	bool todo = p->own == VT_RP_TODO;
	for (int a = p->parent; a >= 0 && !todo; a = t->pt[a].parent)
		todo = t->pt[a].own == VT_RP_TODO;
	for (unsigned k = 0; k < p->nkv; k++) {
		const struct vt_rp_kv *kv = &t->kv[p->kv_begin + k];
		const char *dot = strrchr(kv->path, '.');
		if (strcmp(dot ? dot + 1 : kv->path, "rule") != 0)
			continue;
		struct vt_rp_cov_row *row = row_of(cov, kv->value);
		if (row)
			(*(todo ? &row->named_todo : &row->named_fail))++;
	}
}

static enum vt_rp_cov_status status_of(const struct vt_rp_cov_row *r)
{
	if (r->n[VT_RP_FAIL] || r->n[VT_RP_XPASS] || r->named_fail)
		return VT_COV_FAILED;
	if (r->n[VT_RP_TODO] || r->named_todo)
		return VT_COV_KNOWN;
	if (r->n[VT_RP_PASS])
		return VT_COV_PASSED;
	if (r->n[VT_RP_SKIP])
		return VT_COV_SKIPPED;
	return r->tests ? VT_COV_NOT_RUN : VT_COV_NOT_CITED;
}

static void add_total(struct vt_rp_cov_total *t, const struct vt_rp_cov_row *r)
{
	t->clauses++;
	t->cited += r->tests > 0;
	t->st[r->st]++;
}

static int totals(struct vt_rp_cov *cov)
{
	cov->roles[0].key = "driver";
	cov->roles[1].key = "device";
	cov->all.key = "all";
	cov->chapters = calloc(cov->nrows ? cov->nrows : 1, sizeof(*cov->chapters));
	if (!cov->chapters)
		return -1;
	for (unsigned i = 0; i < cov->nrows; i++) {
		const struct vt_rp_cov_row *r = &cov->rows[i];
		unsigned c = 0;
		while (c < cov->nchapters && strcmp(cov->chapters[c].key, r->c->chapter) != 0)
			c++;
		if (c == cov->nchapters)
			cov->chapters[cov->nchapters++].key = r->c->chapter;
		add_total(&cov->chapters[c], r);
		add_total(&cov->roles[strcmp(r->c->role, "driver") == 0 ? 0 : 1], r);
		add_total(&cov->all, r);
	}
	return 0;
}

int vt_rp_coverage(const struct vt_rp_report *r, struct vt_rp_cov *cov)
{
	memset(cov, 0, sizeof(*cov));
	unsigned n = vt_clause_count();
	cov->rows = calloc(n ? n : 1, sizeof(*cov->rows));
	if (!cov->rows)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		const struct vt_clause *c = vt_clause_at(i);
		if (c->kind == VT_CLAUSE_SECTION)
			cov->rows[cov->nrows++].c = c;
	}
	count_citations(cov);
	for (unsigned k = 0; k < r->nparts; k++) {
		const struct vt_rp_part *part = &r->parts[k];
		const struct vt_rp_tap *t = &part->tap;
		for (unsigned i = 0; i < t->npt; i++) {
			if (part->kind == VT_RP_RUN && t->pt[i].depth == 0)
				count_instance(cov, &t->pt[i]);
			count_named(cov, t, i);
		}
	}
	for (unsigned i = 0; i < cov->nrows; i++)
		cov->rows[i].st = status_of(&cov->rows[i]);
	if (totals(cov)) {
		vt_rp_coverage_free(cov);
		return -1;
	}
	return 0;
}

void vt_rp_coverage_free(struct vt_rp_cov *cov)
{
	free(cov->rows);
	free(cov->chapters);
	memset(cov, 0, sizeof(*cov));
}

static void total_line(FILE *f, const struct vt_rp_cov_total *t, int w)
{
	fprintf(f, "%-*s %7u %5u", w, t->key, t->clauses, t->cited);
	for (unsigned s = 0; s < VT_COV_N; s++)
		fprintf(f, " %9u", t->st[s]);
	fputc('\n', f);
}

static void total_header(FILE *f, const char *what, int w)
{
	fprintf(f, "%-*s %7s %5s", w, what, "clauses", "cited");
	for (unsigned s = 0; s < VT_COV_N; s++)
		fprintf(f, " %9s", status_names[s]);
	fputc('\n', f);
}

void vt_rp_coverage_txt(const struct vt_rp_cov *cov, FILE *f)
{
	const struct vt_rp_cov_total *a = &cov->all;
	fprintf(f, "# clause coverage: %u normative sections, %u cited by tests; %u failed, "
		   "%u known, %u passed, %u skipped, %u not run, %u not cited\n",
		a->clauses, a->cited, a->st[VT_COV_FAILED], a->st[VT_COV_KNOWN],
		a->st[VT_COV_PASSED], a->st[VT_COV_SKIPPED], a->st[VT_COV_NOT_RUN],
		a->st[VT_COV_NOT_CITED]);
	fprintf(f, "# tests: catalogue tests citing the clause; pass/fail/todo/xpass/skip: "
		   "verdicts of their test points; named: failures (and known issues) whose "
		   "YAML rule is the clause\n\n");
	fprintf(f, "%-16s %-6s %-9s %5s %5s %5s %5s %5s %5s %9s  %s\n", "id", "role", "status",
		"tests", "pass", "fail", "todo", "xpass", "skip", "named", "section");
	for (unsigned i = 0; i < cov->nrows; i++) {
		const struct vt_rp_cov_row *r = &cov->rows[i];
		char named[24];
		snprintf(named, sizeof(named), "%u/%u", r->named_fail, r->named_todo);
		fprintf(f, "%-16s %-6s %-9s %5u %5u %5u %5u %5u %5u %9s  %s %s\n", r->c->id,
			r->c->role, status_names[r->st], r->tests, r->n[VT_RP_PASS],
			r->n[VT_RP_FAIL], r->n[VT_RP_TODO], r->n[VT_RP_XPASS], r->n[VT_RP_SKIP],
			named, r->c->section, r->c->title);
	}
	int w = 6;
	for (unsigned c = 0; c < cov->nchapters; c++)
		if ((int)strlen(cov->chapters[c].key) > w)
			w = (int)strlen(cov->chapters[c].key);
	fputc('\n', f);
	total_header(f, "chapter", w);
	for (unsigned c = 0; c < cov->nchapters; c++)
		total_line(f, &cov->chapters[c], w);
	fputc('\n', f);
	total_header(f, "role", w);
	total_line(f, &cov->roles[0], w);
	total_line(f, &cov->roles[1], w);
	total_line(f, &cov->all, w);
}
