/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verdict.h - where every check of the suite reports a broken rule.
 *
 * A test owns one struct vt_verdict.  The checking device reports what the
 * driver did wrong, the reference driver reports what the device did wrong,
 * the guest-memory accessor and the IOMMU model report invariant breaches,
 * and the harness reports its own bugs.  Each record names the rule it
 * breaks: a clause id from spec/normative-sections.tsv (e.g. "DRV-2.7.5.2")
 * or an invariant id from spec/invariants.tsv (e.g. "INV-unshared-access").
 *
 * Reporting is thread-safe (a device may run on its own thread).  The
 * first record sets `stop`, which workloads poll to end a run early so a
 * single broken rule is not buried under its consequences.
 */
#ifndef VCTS_VERDICT_H
#define VCTS_VERDICT_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

enum vt_who {
	VT_WHO_DRIVER,   /* the driver under test broke the rule  */
	VT_WHO_DEVICE,   /* the device under test broke the rule  */
	VT_WHO_HARNESS,  /* a bug in vcts itself (never ignored)  */
};

enum vt_severity {
	VT_SEV_MUST,     /* MUST / MUST NOT: fails the test               */
	VT_SEV_SHOULD,   /* SHOULD / SHOULD NOT: recorded, does not fail  */
};

#define VT_VIOL_MSG   192
#define VT_VIOL_VAL   64
#define VT_MAX_VIOL   32

struct vt_violation {
	const char *rule;              /* clause or invariant id (static string) */
	enum vt_who who;
	enum vt_severity sev;
	char msg[VT_VIOL_MSG];         /* what happened, one line               */
	char expected[VT_VIOL_VAL];
	char got[VT_VIOL_VAL];
	bool has_addr;
	uint64_t addr;                 /* device address (IOVA or GPA) involved */
	uint64_t gpa;                  /* guest-physical address, if known      */
	uint64_t page;                 /* gpa >> 12                             */
};

struct vt_verdict {
	pthread_mutex_t lock;
	unsigned n;                    /* records kept (<= VT_MAX_VIOL)         */
	unsigned dropped;              /* records beyond VT_MAX_VIOL            */
	unsigned n_must;               /* MUST-level records, kept or dropped   */
	volatile int stop;             /* set by the first MUST-level record    */
	struct vt_violation v[VT_MAX_VIOL];
};

void vt_verdict_init(struct vt_verdict *vd);
void vt_verdict_reset(struct vt_verdict *vd);

/* Record a broken rule.  expected/got may be NULL.  Returns -1 so a check
 * can `return vt_violation(...)`. */
int vt_violation(struct vt_verdict *vd, const char *rule, enum vt_who who,
		 const char *expected, const char *got, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Same, for a memory access: addr is the device address, gpa the
 * guest-physical address it resolved to (or addr again if untranslated). */
int vt_violation_mem(struct vt_verdict *vd, const char *rule, enum vt_who who,
		     uint64_t addr, uint64_t gpa, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* SHOULD-level observation: kept, shown, never fails a test. */
int vt_advice(struct vt_verdict *vd, const char *rule, enum vt_who who,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline bool vt_verdict_failed(const struct vt_verdict *vd)
{
	return vd->stop != 0;
}

/* Does any MUST-level record name `rule`? */
bool vt_verdict_has(struct vt_verdict *vd, const char *rule);

const char *vt_who_name(enum vt_who w);   /* "driver", "device", "harness" */

/* Print the records as '# ' comment lines (for humans and debugging). */
void vt_verdict_dump(struct vt_verdict *vd, FILE *f);

#endif
