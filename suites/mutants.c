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

static void run_mutant(const struct vt_variant *v)
{
	const struct mutant_run *r = v->data;
	struct vt_cell cell = r->m->cell;

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
