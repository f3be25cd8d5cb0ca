/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter.c - a matrix cell as an item of the selection language
 * (select.h): the keys it has and their values, so that --filter and
 * --exclude pick cells as they pick tests.
 *
 * Keys: every axis (ap-offer, ..., device) with its values; "expect", the
 * oracle's outcome (live, driver-refuses, device-refuses, skip) and also
 * "hazard" for a cell the profile lets run although an invariant cannot
 * hold, so "expect=live" takes a hazard cell and "expect!=hazard" leaves
 * it out; "clause", the ids the cell judges (the rule its outcome follows
 * from, the invariants it checks); "role" (a cell judges the driver and the
 * device); "transport" (inproc); "verdict", the one-line expected verdict
 * of --list; "profile".
 */
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

static const char *const expect_values[] = { "live", "driver-refuses", "device-refuses", "skip",
					     "hazard" };
static const char *const role_values[] = { "driver", "device" };

/* The ids each invariant bit of the oracle stands for (as cell.c judges
 * them). */
static const struct {
	unsigned bit;
	const char *ids[2];
} invariant_ids[] = {
	{ MX_INV_UNSHARED, { "INV-unshared-access" } },
	{ MX_INV_WIDTH, { "INV-dma-width" } },
	{ MX_INV_IOMMU, { "INV-iommu-fault", "INV-iommu-bypass" } },
	{ MX_INV_IDENTITY, { "PROP-ia-complete-map", "INV-iommu-changed" } },
	{ MX_INV_NO_TRANSL, { "PROP-nt-exclusive", "PROP-nt-untranslated" } },
	{ MX_INV_BOUNCE, { "PROP-ba-bounce" } },
	{ MX_INV_INTEGRITY, { "INV-data-integrity" } },
};

#define NINVARIANTS (sizeof(invariant_ids) / sizeof(invariant_ids[0]))

static struct vt_sel_key keys[MX_NAXES + 6];
static unsigned nkeys;

void vt_mx_keys(const struct vt_sel_key **out, unsigned *n)
{
	if (!nkeys) {
		keys[nkeys++] = (struct vt_sel_key){ "clause", NULL, 0 };
		keys[nkeys++] = (struct vt_sel_key){ "role", role_values, 2 };
		keys[nkeys++] = (struct vt_sel_key){ "transport", NULL, 0 };
		for (unsigned a = 0; a < MX_NAXES; a++)
			keys[nkeys++] = (struct vt_sel_key){ vt_mx_axes[a].name, vt_mx_axes[a].values,
							     vt_mx_axes[a].nvalues };
		keys[nkeys++] = (struct vt_sel_key){ "expect", expect_values,
						     sizeof(expect_values) / sizeof(expect_values[0]) };
		keys[nkeys++] = (struct vt_sel_key){ "verdict", NULL, 0 };
		keys[nkeys++] = (struct vt_sel_key){ "profile", NULL, 0 };
	}
	*out = keys;
	*n = nkeys;
}

static void add(struct vt_mx_item *d, const char *key, const char *value)
{
	if (d->item.nattr < MX_ITEM_ATTRS)
		d->attr[d->item.nattr++] = (struct vt_sel_attr){ key, value };
}

/* What the cell judges: the rule its outcome follows from (negotiation:
 * DRV-3.1.1 when the profile names none) and the invariants of a live
 * cell.  A cell that cannot exist judges nothing. */
static void add_clauses(struct vt_mx_item *d, const struct vt_mx_expected *e)
{
	if (e->outcome == MX_CELL_SKIP)
		return;
	add(d, "clause", e->rule[0] ? e->rule : "DRV-3.1.1");
	for (unsigned i = 0; i < NINVARIANTS; i++)
		for (unsigned k = 0; k < 2 && (e->invariants & invariant_ids[i].bit); k++)
			if (invariant_ids[i].ids[k])
				add(d, "clause", invariant_ids[i].ids[k]);
}

void vt_mx_describe(const struct vt_profile *p, const struct vt_mx_cell *c,
		    const struct vt_mx_expected *e, unsigned what, struct vt_mx_item *d)
{
	d->item = (struct vt_sel_item){ NULL, d->attr, 0 };
	if (what & MX_ITEM_NAME)
		d->item.name = vt_mx_cell_name(c, d->name, sizeof(d->name));
	add(d, "role", role_values[0]);
	add(d, "role", role_values[1]);
	add(d, "transport", "inproc");
	add_clauses(d, e);
	for (unsigned a = 0; a < MX_NAXES; a++)
		add(d, vt_mx_axes[a].name, vt_mx_axes[a].values[c->v[a]]);
	add(d, "expect", vt_mx_outcome_name(e->outcome));
	if (e->hazard)
		add(d, "expect", "hazard");
	if (what & MX_ITEM_VERDICT) {
		static struct vt_mx_result r;     /* the verdict reads r.exp only */
		r.exp = *e;
		vt_mx_verdict_expected(&r, d->verdict, sizeof(d->verdict));
		add(d, "verdict", d->verdict);
	}
	if (p)
		add(d, "profile", p->name);
}

/* The cell as an item, with its name and verdict only when asked for. */
static void describe_for(const struct vt_sel *s, const struct vt_profile *p,
			 const struct vt_mx_cell *c, const struct vt_mx_expected *e,
			 struct vt_mx_item *d)
{
	unsigned what = (vt_sel_uses(s, vt_sel_name_key) ? MX_ITEM_NAME : 0) |
			(vt_sel_uses(s, "verdict") ? MX_ITEM_VERDICT : 0);
	vt_mx_describe(p, c, e, what, d);
}

bool vt_mx_match(const struct vt_sel *s, const struct vt_profile *p, const struct vt_mx_cell *c,
		 const struct vt_mx_expected *e)
{
	struct vt_mx_item d;
	if (!vt_sel_active(s))
		return true;
	describe_for(s, p, c, e, &d);
	return vt_sel_match(s, &d.item);
}

bool vt_mx_take(struct vt_sel *s, const struct vt_profile *p, const struct vt_mx_cell *c,
		const struct vt_mx_expected *e)
{
	struct vt_mx_item d;
	if (!vt_sel_active(s))
		return true;
	describe_for(s, p, c, e, &d);
	return vt_sel_take(s, &d.item);
}

/* ---- one expression on its own ---- */

struct vt_mx_filter {
	struct vt_sel sel;
};

struct vt_mx_filter *vt_mx_filter_parse(const char *expr, char *err, size_t errlen)
{
	const struct vt_sel_key *k;
	unsigned n;
	struct vt_mx_filter *f = malloc(sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vt_mx_keys(&k, &n);
	vt_sel_init(&f->sel, k, n);
	if (vt_sel_add(&f->sel, VT_SEL_FILTER, expr, err, errlen)) {
		free(f);
		return NULL;
	}
	return f;
}

bool vt_mx_filter_match(const struct vt_mx_filter *f, const struct vt_mx_cell *c,
			const struct vt_mx_expected *e)
{
	return !f || vt_mx_match(&f->sel, NULL, c, e);
}

void vt_mx_filter_free(struct vt_mx_filter *f)
{
	free(f);
}
