/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unit.h - the main() of a unit-test program: one CUnit suite of named
 * tests, run verbosely, exit status 1 if any assertion failed (2 if CUnit
 * could not be set up).  t/05-units.t turns each program into a TAP line.
 */
#ifndef VCTS_T_UNIT_H
#define VCTS_T_UNIT_H

#include <stddef.h>

#include <CUnit/Basic.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

static inline int unit_run(const char *suite, const struct unit_test *t, size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	if (!s)
		return 2;
	for (size_t i = 0; i < n; i++)
		if (!CU_add_test(s, t[i].name, t[i].fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#define UNIT_RUN(suite, tests) unit_run(suite, tests, sizeof(tests) / sizeof((tests)[0]))

#endif
