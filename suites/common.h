/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * common.h - what the in-process suites share: cells as test variants and
 * the run-and-judge step.
 */
#ifndef VCTS_SUITES_COMMON_H
#define VCTS_SUITES_COMMON_H

#include "../harness/pair.h"
#include "../harness/scenario.h"
#include "../harness/test.h"

/* A variant whose data is a cell (file-scope compound literal). */
#define CELL(nm, ...) { .name = nm, .data = &(const struct vt_cell){ __VA_ARGS__ } }

static inline const struct vt_cell *variant_cell(const struct vt_variant *v)
{
	return v->data;
}

/* Run the cell; every rule broken fails the test; a pair that cannot be
 * built is a broken test. */
void suite_expect_clean(const struct vt_variant *v);

/* Run the cell; pass iff exactly `rule` was broken (besides `also`, a rule
 * the cell breaks on purpose, may be NULL). */
void suite_expect_rule(const struct vt_cell *cell, const char *rule, const char *also);

/* Open and init a pair for tests that inspect it; ends the test as broken
 * if it cannot be built, fails it if init does not reach DRIVER_OK. */
void suite_pair_open(struct vt_pair *p, const struct vt_cell *cell, struct vt_verdict *vd);
/* Reset, close and judge: every rule broken fails the test. */
void suite_pair_finish(struct vt_pair *p, struct vt_verdict *vd);

#endif
