/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap.h - the only writer of TAP (version 14) in vcts.
 *
 * One outcome vocabulary, mapped here once:
 *   pass     ok N - name
 *   fail     not ok N - name
 *   skip     ok N - name # SKIP reason
 *   xfail    not ok N - name # TODO reason        (a known issue, still there)
 *   xpass    not ok N - name # XPASS reason       (a known issue gone: fails)
 *   broken   not ok N - name # BROKEN reason      (the test could not run)
 *   timeout  not ok N - name # timeout
 *   crash    not ok N - name # crash (signal SIGSEGV)
 * A YAML block (2-space indent, "---" ... "...") may follow a test line;
 * "# " lines are comments; subtests are 4-space indented streams introduced
 * by "# Subtest: name" and closed by the parent's test line.  Every test
 * line is flushed at once so a crash of the writer loses nothing printed.
 */
#ifndef VCTS_TAP_H
#define VCTS_TAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum vt_outcome {
	VT_PASS,
	VT_FAIL,
	VT_SKIP,
	VT_XFAIL,
	VT_XPASS,
	VT_BROKEN,
	VT_TIMEOUT,
	VT_CRASH,
};

/* Does the outcome fail a run? (fail, xpass, broken, timeout, crash) */
bool vt_outcome_failed(enum vt_outcome o);
const char *vt_outcome_name(enum vt_outcome o);   /* "pass", "fail", ... */

struct vt_tap {
	FILE *f;
	unsigned indent;     /* 0 for the top stream, +4 per subtest level */
	unsigned n;          /* test points printed so far                  */
	unsigned plan;       /* announced count, 0 if none yet              */
	unsigned failed;     /* test points whose outcome fails a run       */
	bool bailed;
};

/*
 * One finding shown in a YAML block: a broken rule (rule, section, who,
 * expected, got, address), a failed assertion (message, at) or a plain
 * message.  NULL or empty strings are left out.
 */
struct vt_tap_finding {
	const char *message;
	const char *rule;        /* clause or invariant id                  */
	const char *section;     /* "2.7.5.2 Driver Requirements: ..."      */
	const char *severity;    /* "should" for an advisory record          */
	const char *who;         /* "driver", "device", "harness"            */
	const char *expected;
	const char *got;
	const char *at;          /* "file.c:42" of a failed assertion        */
	bool has_addr;
	uint64_t address;        /* device address (IOVA or GPA)             */
	uint64_t gpa;
	uint64_t page;
};

/* Start the top-level stream on f: prints "TAP version V" (0: 14). */
void vt_tap_start(struct vt_tap *t, FILE *f, unsigned version);
/* "1..N"; print it before the first test point when N is known. */
void vt_tap_plan(struct vt_tap *t, unsigned n);
/* "1..0 # SKIP reason": nothing in this stream will run. */
void vt_tap_skip_all(struct vt_tap *t, const char *reason);

/*
 * Print the next test point and flush; returns its number.  detail is the
 * reason for skip/xfail/xpass/broken and the signal name for a crash
 * ("SIGSEGV"); NULL or "" leaves it out.
 */
unsigned vt_tap_result(struct vt_tap *t, enum vt_outcome o, const char *name,
		       const char *detail);

/*
 * The YAML block of the test point just printed: the keys of `top`, then
 * "violations:" with one item per entry of list (when nlist > 0).
 */
void vt_tap_yaml(struct vt_tap *t, const struct vt_tap_finding *top,
		 const struct vt_tap_finding *list, unsigned nlist);

/* "# text": one comment line per line of the formatted text. */
void vt_tap_diag(struct vt_tap *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "Bail out! reason" (always at the top level) and flush. */
void vt_tap_bail(struct vt_tap *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Open a subtest of parent named name: prints "# Subtest: name" and makes
 * sub a stream indented 4 more spaces.  Close it with vt_tap_subtest_end,
 * which prints the parent's test point (ok unless a sub test point failed
 * or the sub plan was not met) and returns its number.
 */
void vt_tap_subtest_begin(struct vt_tap *parent, struct vt_tap *sub, const char *name);
unsigned vt_tap_subtest_end(struct vt_tap *parent, struct vt_tap *sub, const char *name);

/* Write s as a double-quoted string (quotes, backslashes, control
 * characters escaped, the latter as \uXXXX): a YAML scalar and a JSON
 * string alike. */
void vt_tap_yaml_quote(FILE *f, const char *s);

#endif
