/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * catalogue.c - from a `vcts run` test point back to the catalogue test it
 * is an instance of ("area/name[variant]" -> the suite of `area`, its test
 * `name`): where its clauses, role and transport are declared.
 */
#include <string.h>

#include "report.h"
#include "../../suites/suites.h"

/* Does test t have the instance named by the rest "[variant]" (or "")? */
static bool has_variant(const struct vt_test *t, const char *rest)
{
	if (!*rest)
		return !t->variants;
	size_t n = strlen(rest);
	if (rest[0] != '[' || rest[n - 1] != ']')
		return false;
	for (unsigned v = 0; t->variants && v < t->nvariants; v++)
		if (strlen(t->variants[v].name) == n - 2 &&
		    strncmp(t->variants[v].name, rest + 1, n - 2) == 0)
			return true;
	return false;
}

const struct vt_test *vt_rp_catalogue_test(const char *instance, const struct vt_suite **suite)
{
	const char *slash = strchr(instance, '/');
	if (!slash)
		return NULL;
	size_t alen = (size_t)(slash - instance);
	const char *name = slash + 1;
	size_t nlen = strcspn(name, "[");
	for (const struct vt_suite *const *s = vt_suites; *s; s++) {
		if (strlen((*s)->area) != alen || strncmp((*s)->area, instance, alen) != 0)
			continue;
		for (unsigned i = 0; i < (*s)->ntests; i++) {
			const struct vt_test *t = &(*s)->tests[i];
			if (strlen(t->name) == nlen && strncmp(t->name, name, nlen) == 0 &&
			    has_variant(t, name + nlen)) {
				if (suite)
					*suite = *s;
				return t;
			}
		}
	}
	return NULL;
}
