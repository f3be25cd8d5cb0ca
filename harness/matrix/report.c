/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c - a cell's result as TAP (one test point, subtests for
 * negotiation, each invariant and data integrity), and the one-line
 * verdicts --diff compares between two profiles.
 */
#include <stdio.h>
#include <string.h>

#include "matrix.h"
#include "../clause.h"

static const char *addressing_name(enum vt_mx_addressing a)
{
	switch (a) {
	case MX_ADDR_IOVA:     return "iova";
	case MX_ADDR_IDENTITY: return "identity";
	default:               return "gpa";
	}
}

static void print_sub(struct vt_tap *t, const struct vt_mx_sub *s)
{
	vt_tap_result(t, s->outcome, s->name, s->detail);
	if (!s->has_finding || s->outcome == VT_PASS)
		return;
	char section[160] = "";
	const struct vt_clause *cl = s->rule[0] ? vt_clause_lookup(s->rule) : NULL;
	if (cl)
		snprintf(section, sizeof(section), "%s%s%s", cl->section, *cl->section ? " " : "",
			 cl->title);
	struct vt_tap_finding fd = {
		.message = s->message,
		.rule = s->rule[0] ? s->rule : NULL,
		.section = section[0] ? section : NULL,
		.who = s->who[0] ? s->who : NULL,
		.expected = s->expected[0] ? s->expected : NULL,
		.got = s->got[0] ? s->got : NULL,
		.has_addr = s->has_addr,
		.address = s->addr,
		.gpa = s->gpa,
		.page = s->gpa >> 12,
	};
	vt_tap_yaml(t, &fd, NULL, 0);
}

void vt_mx_print(struct vt_tap *tap, const struct vt_mx_result *r, const char *name)
{
	if (r->outcome == VT_SKIP || r->outcome == VT_BROKEN || r->outcome == VT_TIMEOUT ||
	    r->outcome == VT_CRASH || r->nsub == 0) {
		vt_tap_result(tap, r->outcome, name, r->detail);
		return;
	}
	struct vt_tap sub;
	vt_tap_subtest_begin(tap, &sub, name);
	char exp[128];
	vt_mx_verdict_expected(r, exp, sizeof(exp));
	vt_tap_diag(&sub, "expected: %s%s%s", exp, r->exp.why[0] ? " - " : "", r->exp.why);
	vt_tap_plan(&sub, r->nsub);
	for (unsigned i = 0; i < r->nsub; i++)
		print_sub(&sub, &r->sub[i]);
	vt_tap_subtest_end(tap, &sub, name);
}

/* "AP+P" style feature summary of the bits the oracle predicts. */
static void feature_word(uint64_t f, char *buf, size_t len)
{
	bool ap = (f >> 33) & 1, prop = (f & ~MX_FEATURE_MASK_BASE) != 0;
	snprintf(buf, len, "%s", ap ? (prop ? "AP+prop" : "AP") : (prop ? "prop" : "no-AP"));
}

static void verdict(enum vt_mx_outcome o, uint64_t features, enum vt_mx_addressing a,
		    const char *hazard, const char *rule, char *buf, size_t len)
{
	char fw[16];
	switch (o) {
	case MX_LIVE:
		feature_word(features, fw, sizeof(fw));
		snprintf(buf, len, "%s%s%s %s %s", hazard ? "hazard " : "live", hazard ? hazard : "",
			 hazard ? "," : "", fw, addressing_name(a));
		break;
	case MX_DRIVER_REFUSES:
	case MX_DEVICE_REFUSES:
		snprintf(buf, len, "%s%s%s", vt_mx_outcome_name(o), rule && *rule ? " " : "",
			 rule ? rule : "");
		break;
	default:
		snprintf(buf, len, "%s", vt_mx_outcome_name(o));
		break;
	}
}

void vt_mx_verdict_expected(const struct vt_mx_result *r, char *buf, size_t len)
{
	verdict(r->exp.outcome, r->exp.features, r->exp.addressing, r->exp.hazard, r->exp.rule,
		buf, len);
}

void vt_mx_verdict_observed(const struct vt_mx_result *r, char *buf, size_t len)
{
	switch (r->outcome) {
	case VT_SKIP:
		snprintf(buf, len, "skip");
		return;
	case VT_BROKEN:
	case VT_TIMEOUT:
	case VT_CRASH:
		snprintf(buf, len, "%s", vt_outcome_name(r->outcome));
		return;
	default:
		break;
	}
	/* The first failing or TODO subtest names what was seen. */
	const char *seen = NULL;
	for (unsigned i = 0; i < r->nsub && !seen; i++)
		if (r->sub[i].outcome == VT_XFAIL || vt_outcome_failed(r->sub[i].outcome))
			seen = r->sub[i].rule[0] ? r->sub[i].rule : r->sub[i].name;
	char v[128];
	verdict(r->got, r->features, r->exp.addressing, NULL, r->got == r->exp.outcome ?
		r->exp.rule : NULL, v, sizeof(v));
	if (seen && r->got == MX_LIVE)
		snprintf(buf, len, "breach %s", seen);
	else
		snprintf(buf, len, "%s%s", v, r->outcome == VT_FAIL ? " (fail)" : "");
}
