/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mutants.h - the catalogue of mutants: a reference driver or checking
 * device that breaks exactly one rule, in the cell where it shows.
 *
 * The suite must catch every mutant with exactly the mutant's rule; the
 * same cell without the fault must pass.  That is the suite's own proof
 * that its checks bite.
 */
#ifndef VCTS_MUTANTS_H
#define VCTS_MUTANTS_H

#include "../../harness/scenario.h"
#include "../../harness/test.h"

struct vt_mutant {
	const char *name;        /* "drv-chain-loop", "dev-used-id-range", ...     */
	enum vt_role subject;    /* whose fault: VT_ROLE_DRIVER or VT_ROLE_DEVICE  */
	const char *rule;        /* the one rule it breaks                         */
	const char *also;        /* a rule the cell breaks on purpose, or NULL
				    (a hostile driver probing a device)           */
	const char *what;        /* one line                                       */
	struct vt_cell cell;     /* with drv_fault or dev_fault set                */
	/* A mutant of the platform-access rules shows in a matrix cell instead:
	 * "PROFILE: axis=value ..." (axes missing take value 0), run with the
	 * cell's drv_fault / dev_fault switched on.  NULL: the cell above. */
	const char *matrix;
};

extern const struct vt_mutant vt_mutants[];
extern const unsigned vt_nmutants;

#endif
