/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mutants.c - the suite's proof that its checks bite.
 *
 * For every mutant of the catalogue two instances run the same cell:
 * "mutant/NAME[clean]" without the fault, which must pass, and
 * "mutant/NAME[caught]" with it, which passes only when exactly the
 * mutant's rule is reported.
 */
#include <stdio.h>
#include <string.h>

#include "../drivers-under-test/mutants/mutants.h"
#include "../harness/matrix/matrix.h"
#include "common.h"
#include "suites.h"

#define MAX_MUTANTS 96

struct mutant_run {
	const struct vt_mutant *m;
	bool faulty;
};

static struct mutant_run runs[MAX_MUTANTS][2];
static struct vt_variant variants[MAX_MUTANTS][2];
static struct vt_test tests[MAX_MUTANTS];
static char clauses[MAX_MUTANTS][48];

/* A mutant of the platform-access rules runs in a matrix cell under a
 * profile ("PROFILE: axis=value ..."): clean, the cell passes; with the
 * fault, it fails and every failing subtest names the mutant's rule. */
static void run_matrix_mutant(const struct vt_mutant *m, bool faulty)
{
	char prof_name[64], err[256];
	const char *colon = strchr(m->matrix, ':');
	if (!colon || (size_t)(colon - m->matrix) >= sizeof(prof_name))
		vt_broken("mutant %s: matrix cell '%s' is not PROFILE: CELL", m->name, m->matrix);
	snprintf(prof_name, sizeof(prof_name), "%.*s", (int)(colon - m->matrix), m->matrix);

	struct vt_profile prof;
	struct vt_mx_cell cell;
	if (vt_mx_profile_load(prof_name, &prof, err, sizeof(err)))
		vt_broken("%s", err);
	if (vt_mx_cell_parse(colon + 1, true, &cell, err, sizeof(err)))
		vt_broken("mutant %s: %s", m->name, err);

	struct vt_mx_faults f = { 0, 0 };
	if (faulty) {
		f.drv = m->cell.drv_fault;
		f.dev = m->cell.dev_fault;
	}
	static struct vt_mx_result r;
	r.index = 0;
	vt_mx_run_cell(&prof, &cell, &f, &r);
	if (r.outcome == VT_BROKEN)
		vt_broken("%s", r.detail);

	bool found = false, other = false;
	for (unsigned i = 0; i < r.nsub; i++) {
		const struct vt_mx_sub *s = &r.sub[i];
		if (!vt_outcome_failed(s->outcome))
			continue;
		vt_diag("%s: %s %s: %s", s->name, vt_outcome_name(s->outcome), s->rule, s->detail);
		if (strcmp(s->rule, m->rule) == 0)
			found = true;
		else
			other = true;
	}
	if (!faulty) {
		CU_ASSERT_EQUAL(r.outcome, VT_PASS);
		return;
	}
	if (!found)
		vt_diag("expected rule %s to be caught in %s; it was not", m->rule, m->matrix);
	if (other)
		vt_diag("rules other than %s were reported", m->rule);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_FALSE(other);
}

static void run_mutant(const struct vt_variant *v)
{
	const struct mutant_run *r = v->data;
	struct vt_cell cell = r->m->cell;

	if (r->m->matrix) {
		run_matrix_mutant(r->m, r->faulty);
		return;
	}

	if (!r->faulty) {
		/* a hostile cell stays hostile (the driver keeps probing the
		 * device): only its own rule is expected */
		cell.dev_fault = VT_DEV_FAULT_NONE;
		if (r->m->also) {
			suite_expect_rule(&cell, r->m->also, NULL);
			return;
		}
		cell.drv_fault = VT_DRV_FAULT_NONE;
		struct vt_variant clean = { .name = "clean", .data = &cell };
		suite_expect_clean(&clean);
		return;
	}
	suite_expect_rule(&cell, r->m->rule, r->m->also);
}

struct vt_suite vt_suite_mutant = {
	.area = "mutant",
	.title = "every mutant is caught with exactly its rule; the same cell without it passes",
	.tests = tests,
};

__attribute__((constructor)) static void build_mutant_suite(void)
{
	unsigned n = vt_nmutants < MAX_MUTANTS ? vt_nmutants : MAX_MUTANTS;

	for (unsigned i = 0; i < n; i++) {
		const struct vt_mutant *m = &vt_mutants[i];
		runs[i][0] = (struct mutant_run){ m, false };
		runs[i][1] = (struct mutant_run){ m, true };
		variants[i][0] = (struct vt_variant){ "clean", &runs[i][0] };
		variants[i][1] = (struct vt_variant){ "caught", &runs[i][1] };
		snprintf(clauses[i], sizeof(clauses[i]), "%s%s%s", m->rule, m->also ? " " : "",
			 m->also ? m->also : "");
		tests[i] = (struct vt_test){
			.name = m->name,
			.clauses = clauses[i],
			.role = m->subject,
			.transport = "inproc",
			.fn = run_mutant,
			.variants = variants[i],
			.nvariants = 2,
		};
	}
	vt_suite_mutant.ntests = n;
}
