/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test.h - how a conformance test is declared.
 *
 * One declarative struct per test (needs, timeout, clauses), run once per
 * variant: the shape of a matrix.  Test bodies are CUnit test functions:
 * they use CU_ASSERT*() and the vt_* helpers below.  The runner
 * (runner.c, cunit_tap.c) registers every test instance as a CUnit test,
 * runs each in a forked child with a deadline, and turns CUnit's results
 * (through its handlers) into TAP via tap.c.  A crash becomes
 * "not ok ... # crash", a hang "not ok ... # timeout".
 *
 * Instance names are stable: "area/name" or "area/name[variant]".
 */
#ifndef VCTS_TEST_H
#define VCTS_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "verdict.h"

enum vt_role {
	VT_ROLE_DRIVER,   /* judges a driver: cites DRV-* clauses */
	VT_ROLE_DEVICE,   /* judges a device: cites DEV-* clauses */
};

struct vt_variant {
	const char *name;     /* appended as "[name]"                  */
	const void *data;     /* test-specific parameters              */
};

struct vt_test {
	const char *name;           /* within the suite, e.g. "reset-clears-status" */
	const char *clauses;        /* space-separated clause / invariant ids       */
	enum vt_role role;
	const char *transport;      /* "inproc", ...                                */
	unsigned timeout_ms;        /* 0: VT_DEFAULT_TIMEOUT_MS                     */
	void (*fn)(const struct vt_variant *v);
	const struct vt_variant *variants;  /* NULL: a single instance             */
	unsigned nvariants;
};

struct vt_suite {
	const char *area;           /* "status", "features", "split", "packed", ... */
	const char *title;          /* one line for humans                          */
	const struct vt_test *tests;
	unsigned ntests;
};

#define VT_DEFAULT_TIMEOUT_MS 10000
#define VT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The catalogue: every suite, NULL-terminated (suites/suites.c). */
extern const struct vt_suite *const vt_suites[];

/* ---- helpers for test bodies (only valid inside a running test) ---- */

/* End the test now as skipped (a cell or feature that cannot run here). */
void vt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* End the test now as broken: the harness could not run it. */
void vt_broken(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A diagnostic line shown with the result. */
void vt_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every MUST-level record in vd fails the test, each reported with its
 * rule, expected, got and address.  SHOULD-level records are shown. */
void vt_assert_clean(struct vt_verdict *vd);
/* vd must hold a MUST-level record of `rule` and nothing of any other
 * rule (a mutant caught with exactly its clause). */
void vt_assert_only_rule(struct vt_verdict *vd, const char *rule);
/* Report the records of vd with the result without judging them. */
void vt_report_verdict(struct vt_verdict *vd);

/* The implementation the test judges and its version ("qemu", "7.2.22"):
 * known differences listed for it (xfail files) apply to the result. */
void vt_implementation(const char *name, const char *version);

/* Per-test context available to bodies: nothing global beyond this. */
const char *vt_current_test_name(void);

#endif
