/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common.c - run a cell and judge its verdict. */
#include <string.h>

#include "common.h"

void suite_expect_clean(const struct vt_variant *v)
{
	struct vt_verdict vd;
	char err[160] = "";

	vt_verdict_init(&vd);
	int rc = vt_cell_run(variant_cell(v), &vd, err, sizeof(err));
	if (rc == -2 && !vt_verdict_failed(&vd))
		vt_broken("%s", err);
	vt_assert_clean(&vd);
	CU_ASSERT_EQUAL(rc, 0);
}

void suite_expect_rule(const struct vt_cell *cell, const char *rule, const char *also)
{
	struct vt_verdict vd;
	char err[160] = "";
	bool other = false, found = false;

	vt_verdict_init(&vd);
	int rc = vt_cell_run(cell, &vd, err, sizeof(err));
	if (rc == -2 && !vt_verdict_failed(&vd))
		vt_broken("%s", err);
	for (unsigned i = 0; i < vd.n; i++) {
		const char *r = vd.v[i].rule;
		if (strcmp(r, rule) == 0)
			found = true;   /* at any severity: some rules are SHOULDs */
		else if (!also || strcmp(r, also))
			other = true;
	}
	vt_report_verdict(&vd);
	if (!found)
		vt_diag("expected rule %s to be caught; it was not", rule);
	if (other)
		vt_diag("rules other than %s were reported", rule);
	CU_ASSERT_TRUE(found);
	CU_ASSERT_FALSE(other);
}

void suite_pair_open(struct vt_pair *p, const struct vt_cell *cell, struct vt_verdict *vd)
{
	struct vt_pair_cfg cfg;
	char err[160] = "";

	vt_verdict_init(vd);
	vt_cell_to_cfg(cell, &cfg);
	if (vt_pair_open(p, &cfg, vd, err, sizeof(err)))
		vt_broken("%s", err);
	int rc = vt_pair_init(p);
	if (rc != 0) {
		vt_report_verdict(vd);
		vt_pair_close(p);
		vt_assert_clean(vd);
		CU_FAIL_FATAL("the driver did not bring the device up");
	}
}

void suite_pair_finish(struct vt_pair *p, struct vt_verdict *vd)
{
	p->drv->ops->reset(p->drv);
	vt_pair_close(p);
	vt_assert_clean(vd);
}
