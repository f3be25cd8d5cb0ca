/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xfail.h - known differences of implementations under test, as data.
 *
 * An xfail file (*.tsv) lists, one per line, tab-separated:
 *
 *   implementation  version  test  clause  reason
 *   qemu            7.2*     qemu/ring-packed[blk-packed]  DEV-2.8.15  ...
 *
 * "version" and "test" are globs (fnmatch); "implementation" is exact or
 * "*"; "clause" must be in the registry.  '#' starts a comment line.  A
 * test instance reports the implementation it judges and its version
 * (vt_implementation()); when an entry matches name, implementation and
 * version, a failure citing the entry's clause is an xfail ("not ok ...
 * # TODO xfail: reason") and a pass is an xpass, which fails the run: the
 * known issue is gone and the entry must go too.  A failure for any other
 * rule stays a failure.
 *
 * A reason that starts with "intermittent:" marks a difference seen only
 * in some runs (a race in the implementation, or one not yet understood):
 * a failure on its clause is an xfail as above, a pass stays a pass.
 *
 * Files are read from $VCTS_XFAIL_DIR when set, else from <spec dir>/xfail
 * and VCTS_SRCDIR/suites/xfail (a directory that does not exist holds no
 * entries).
 */
#ifndef VCTS_XFAIL_H
#define VCTS_XFAIL_H

#include <stdbool.h>
#include <stddef.h>

struct vt_xfail {
	char impl[32];
	char version[32];
	char test[160];
	char rule[48];
	char reason[200];
	char where[160];          /* "FILE:LINE" */
	bool intermittent;        /* reason starts "intermittent:"          */
};

/* Load every *.tsv of the directories (the clause registry must be
 * loaded: clauses are checked).  Returns 0, or -1 with "FILE:LINE: what"
 * in err. */
int vt_xfail_load(const char *spec_dir, char *err, size_t errlen);
void vt_xfail_unload(void);
unsigned vt_xfail_count(void);

/* The entry for an instance that reported impl/version, or NULL. */
const struct vt_xfail *vt_xfail_match(const char *name, const char *impl, const char *version);

#endif
