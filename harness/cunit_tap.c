/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cunit_tap.c - the child side of the runner: one test instance under
 * CUnit, its results sent to the parent as records.
 *
 * CUnit has no TAP mode and its printed text is not an interface, so the
 * bridge goes through CUnit's handlers: the test-complete handler walks
 * the test's CU_FailureRecord list and sends one record per failed
 * assertion, then a final record.  The vt_* helpers of test.h also live
 * here: they only make sense inside a running test.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <CUnit/TestRun.h>

#include "runner.h"
#include "test.h"
#include "verdict.h"

/* File name given to the CUnit failures the verdict helpers raise: their
 * details travel as VIOL/FAIL records, so they are not sent twice. */
static const char verdict_file[] = "<verdict>";

static struct {
	const struct vt_instance *inst;
	int fd;                  /* -1 outside a runner child */
	bool final_sent;
} cur = { .fd = -1 };

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void send_rec(const struct vt_rec *r)
{
	const char *p = (const char *)r;
	size_t left = sizeof(*r);
	while (left) {
		ssize_t w = write(cur.fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);            /* the runner is gone: nobody to tell */
		p += w;
		left -= (size_t)w;
	}
}

static void rec_init(struct vt_rec *r, enum vt_rec_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->magic = VT_REC_MAGIC;
	r->kind = (uint16_t)kind;
}

static void send_text(enum vt_rec_kind kind, const char *text)
{
	struct vt_rec r;
	rec_init(&r, kind);
	copy(r.text, sizeof(r.text), text);
	send_rec(&r);
	if (kind == VT_REC_SKIP || kind == VT_REC_BROKEN || kind == VT_REC_END)
		cur.final_sent = true;
}

static void send_violation(const struct vt_violation *v, bool judged)
{
	struct vt_rec r;
	rec_init(&r, VT_REC_VIOL);
	r.who = (uint8_t)v->who;
	r.sev = (uint8_t)v->sev;
	r.judged = judged;
	r.has_addr = v->has_addr;
	r.addr = v->addr;
	r.gpa = v->gpa;
	r.page = v->page;
	copy(r.rule, sizeof(r.rule), v->rule);
	copy(r.text, sizeof(r.text), v->msg);
	copy(r.expected, sizeof(r.expected), v->expected);
	copy(r.got, sizeof(r.got), v->got);
	send_rec(&r);
}

static const char *failure_text(const CU_FailureRecord *f)
{
	switch (f->type) {
	case CUF_SuiteInactive:      return "suite inactive";
	case CUF_SuiteInitFailed:    return "suite initialization failed";
	case CUF_SuiteCleanupFailed: return "suite cleanup failed";
	case CUF_TestInactive:       return "test inactive";
	default:                     return f->strCondition ? f->strCondition : "";
	}
}

/* Send the CUnit failures from f on (those of the verdict helpers are
 * already on their way); returns how many failures there were. */
static unsigned send_failures(const CU_FailureRecord *f)
{
	unsigned n = 0;
	for (; f; f = f->pNext) {
		n++;
		if (f->strFileName && strcmp(f->strFileName, verdict_file) == 0)
			continue;
		struct vt_rec r;
		rec_init(&r, VT_REC_ASSERT);
		copy(r.file, sizeof(r.file), f->strFileName);
		r.line = f->uiLineNumber;
		copy(r.text, sizeof(r.text), failure_text(f));
		send_rec(&r);
	}
	return n;
}

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
			     const CU_pFailureRecord failure)
{
	(void)test;
	(void)suite;
	unsigned n = send_failures(failure);
	struct vt_rec r;
	rec_init(&r, VT_REC_END);
	r.passed = n == 0;
	send_rec(&r);
	cur.final_sent = true;
}

static void on_suite_init_failure(const CU_pSuite suite)
{
	(void)suite;
	send_text(VT_REC_BROKEN, "CUnit suite initialization failed");
}

static void on_suite_cleanup_failure(const CU_pSuite suite)
{
	(void)suite;
	send_text(VT_REC_DIAG, "CUnit suite cleanup failed");
}

static void trampoline(void)
{
	cur.inst->test->fn(cur.inst->variant);
}

__attribute__((noreturn))
static void child_broken(const char *what)
{
	char buf[200];
	snprintf(buf, sizeof(buf), "%s: %s", what, CU_get_error_msg());
	send_text(VT_REC_BROKEN, buf);
	_exit(0);
}

void vt_child_run(const struct vt_instance *inst, int fd)
{
	cur.inst = inst;
	cur.fd = fd;
	cur.final_sent = false;

	CU_set_error_action(CUEA_IGNORE);
	if (CU_initialize_registry() != CUE_SUCCESS)
		child_broken("CU_initialize_registry");
	CU_pSuite s = CU_add_suite(inst->suite->area, NULL, NULL);
	if (!s)
		child_broken("CU_add_suite");
	if (!CU_add_test(s, inst->name, trampoline))
		child_broken("CU_add_test");
	CU_set_test_complete_handler(on_test_complete);
	CU_set_suite_init_failure_handler(on_suite_init_failure);
	CU_set_suite_cleanup_failure_handler(on_suite_cleanup_failure);

	/* CU_run_all_tests prints nothing: the handlers are the only output. */
	if (CU_run_all_tests() != CUE_SUCCESS && !cur.final_sent)
		child_broken("CU_run_all_tests");
	if (!cur.final_sent)
		send_text(VT_REC_BROKEN, "CUnit did not run the test");
	CU_cleanup_registry();
	_exit(0);
}

/* ---- helpers for test bodies (test.h) ---- */

static bool in_runner(void)
{
	return cur.fd >= 0;
}

__attribute__((noreturn))
static void misuse(const char *fn)
{
	fprintf(stderr, "vcts: %s() called outside a test run by vt_run()\n", fn);
	abort();
}

/* A test ending early first sends the CUnit failures it already has. */
__attribute__((noreturn))
static void end_early(enum vt_rec_kind kind, const char *fmt, va_list ap)
{
	char reason[256];
	vsnprintf(reason, sizeof(reason), fmt, ap);
	if (CU_is_test_running())
		send_failures(CU_get_failure_list());
	send_text(kind, reason);
	_exit(0);
}

void vt_skip(const char *fmt, ...)
{
	va_list ap;
	if (!in_runner())
		misuse("vt_skip");
	va_start(ap, fmt);
	end_early(VT_REC_SKIP, fmt, ap);
}

void vt_broken(const char *fmt, ...)
{
	va_list ap;
	if (!in_runner())
		misuse("vt_broken");
	va_start(ap, fmt);
	end_early(VT_REC_BROKEN, fmt, ap);
}

void vt_diag(const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (in_runner())
		send_text(VT_REC_DIAG, text);
	else
		fprintf(stderr, "# %s\n", text);
}

/* A copy of the records, so none is sent while vd is locked. */
struct snapshot {
	unsigned n, n_must, dropped;
	struct vt_violation v[VT_MAX_VIOL];
};

static void take_snapshot(struct vt_verdict *vd, struct snapshot *s)
{
	pthread_mutex_lock(&vd->lock);
	s->n = vd->n;
	s->n_must = vd->n_must;
	s->dropped = vd->dropped;
	memcpy(s->v, vd->v, s->n * sizeof(s->v[0]));
	pthread_mutex_unlock(&vd->lock);
}

static unsigned kept_must(const struct snapshot *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->n; i++)
		n += s->v[i].sev == VT_SEV_MUST;
	return n;
}

/* Fail the running CUnit test; the details are in the records sent. */
static void cunit_fail(const char *what)
{
	if (CU_is_test_running())
		CU_assertImplementation(CU_FALSE, 0, what, verdict_file, "", CU_FALSE);
}

static void note_dropped(const struct snapshot *s)
{
	char text[128];
	if (!s->dropped)
		return;
	snprintf(text, sizeof(text), "%u more verdict records were dropped (%u MUST-level in all)",
		 s->dropped, s->n_must);
	send_text(VT_REC_DIAG, text);
}

void vt_assert_clean(struct vt_verdict *vd)
{
	struct snapshot s;
	take_snapshot(vd, &s);
	if (!in_runner()) {
		vt_verdict_dump(vd, stderr);
		if (s.n_must)
			cunit_fail("vt_assert_clean: rules broken");
		return;
	}
	for (unsigned i = 0; i < s.n; i++)
		send_violation(&s.v[i], s.v[i].sev == VT_SEV_MUST);
	note_dropped(&s);
	if (s.n_must && !kept_must(&s)) {
		/* every MUST record was dropped: still a failure, say so */
		struct vt_rec r;
		rec_init(&r, VT_REC_FAIL);
		snprintf(r.text, sizeof(r.text), "%u MUST-level records, none kept", s.n_must);
		send_rec(&r);
	}
	if (s.n_must)
		cunit_fail("vt_assert_clean: rules broken");
}

/* "RULE RULE ..." of the distinct MUST-level rules, or "nothing". */
static void must_rules(const struct snapshot *s, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		const struct vt_violation *v = &s->v[i];
		if (v->sev != VT_SEV_MUST)
			continue;
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			if (s->v[j].sev == VT_SEV_MUST && strcmp(s->v[j].rule, v->rule) == 0)
				seen = true;
		if (seen)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", v->rule);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, len, "nothing");
}

void vt_assert_only_rule(struct vt_verdict *vd, const char *rule)
{
	struct snapshot s;
	bool has = false, other = false;

	take_snapshot(vd, &s);
	for (unsigned i = 0; i < s.n; i++) {
		if (s.v[i].sev != VT_SEV_MUST)
			continue;
		if (strcmp(s.v[i].rule, rule) == 0)
			has = true;
		else
			other = true;
	}
	if (!in_runner()) {
		if (!has || other) {
			fprintf(stderr, "# expected only %s\n", rule);
			vt_verdict_dump(vd, stderr);
			cunit_fail("vt_assert_only_rule");
		}
		return;
	}
	if (has && !other) {
		for (unsigned i = 0; i < s.n; i++)
			if (s.v[i].sev == VT_SEV_SHOULD)
				send_violation(&s.v[i], false);
		note_dropped(&s);
		return;
	}
	struct vt_rec r;
	rec_init(&r, VT_REC_FAIL);
	copy(r.rule, sizeof(r.rule), rule);
	copy(r.expected, sizeof(r.expected), rule);
	must_rules(&s, r.got, sizeof(r.got));
	if (!has)
		snprintf(r.text, sizeof(r.text), "no MUST-level record of %s", rule);
	else
		snprintf(r.text, sizeof(r.text), "%s caught, but other rules broken too", rule);
	send_rec(&r);
	for (unsigned i = 0; i < s.n; i++)
		send_violation(&s.v[i], true);
	note_dropped(&s);
	cunit_fail("vt_assert_only_rule: wrong rules");
}

void vt_report_verdict(struct vt_verdict *vd)
{
	struct snapshot s;
	take_snapshot(vd, &s);
	if (!in_runner()) {
		vt_verdict_dump(vd, stderr);
		return;
	}
	for (unsigned i = 0; i < s.n; i++)
		send_violation(&s.v[i], false);
	note_dropped(&s);
}

void vt_implementation(const char *name, const char *version)
{
	struct vt_rec r;
	if (!in_runner()) {
		fprintf(stderr, "# implementation: %s %s\n", name, version ? version : "");
		return;
	}
	rec_init(&r, VT_REC_IMPL);
	copy(r.text, sizeof(r.text), name);
	copy(r.got, sizeof(r.got), version);
	send_rec(&r);
}

const char *vt_current_test_name(void)
{
	return cur.inst ? cur.inst->name : "";
}
