/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * t/unit/runner.c - a catalogue of selftests for the runner itself: one
 * test per outcome (pass, fail with a verdict record, failed assertion,
 * crash, hang, skip, broken, early exit) so t/15-runner.t can check the
 * TAP each one becomes, and that the run goes on after a crash or a hang.
 *
 *   runner [--bad-clause] [--list] [--progress] [--filter GLOB]...
 *          [--exclude GLOB]... [--timeout-scale X]
 *
 * --bad-clause adds a test citing a clause that is not in the registry.
 * With $VT_SELFTEST_PIDS set, the crash and hang tests append the pids of
 * their processes to that file, so the caller can check none is left.
 * After the run, the program checks it has no child left and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/runner.h"
#include "harness/test.h"
#include "harness/verdict.h"

static void note_pid(void)
{
	const char *path = getenv("VT_SELFTEST_PIDS");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char line[32];
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) != n)
		vt_diag("could not record pid %d", (int)getpid());
	close(fd);
}

static void t_pass(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_diag("hello from %s", vt_current_test_name());
	vt_advice(&vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "used length larger than needed");
	CU_ASSERT_EQUAL(1 + 1, 2);
	vt_assert_clean(&vd);       /* a SHOULD-level record does not fail */
}

static void t_violation(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_violation(&vd, "DRV-2.7.5.2", VT_WHO_DRIVER, "avail idx 7", "avail idx 3",
		     "avail idx moved \"backwards\"\nby 4");
	vt_assert_clean(&vd);
}

static void t_memory(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_violation_mem(&vd, "INV-unshared-access", VT_WHO_DEVICE, 0xfee01000ull, 0x7f3000ull,
			 "device read a private page");
	vt_violation(&vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "len <= 512", "len 4096",
		     "used len beyond the buffer");
	vt_assert_clean(&vd);
}

static void t_assert(const struct vt_variant *v)
{
	int status = 0x40;
	(void)v;
	CU_ASSERT_EQUAL(status, 0x0f);
}

static void t_crash(const struct vt_variant *v)
{
	(void)v;
	note_pid();
	/* a real fault, with the default action whatever a sanitizer set up */
	signal(SIGSEGV, SIG_DFL);
	volatile int *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		vt_broken("mmap: %s", strerror(errno));
	*page = 1;
	vt_broken("a write to a PROT_NONE page did not fault");
}

/* A finding recorded, then a crash: two messages for one YAML block. */
static void t_crash_after_finding(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_violation(&vd, "DEV-2.1.2", VT_WHO_DEVICE, "0", "1", "found before the crash");
	vt_violation(&vd, "DEV-2.1.2", VT_WHO_DEVICE, "0", "2", "and another");
	vt_assert_clean(&vd);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	vt_broken("raise(SIGSEGV) returned");
}

static void t_hang(const struct vt_variant *v)
{
	(void)v;
	note_pid();
	pid_t pid = fork();
	if (pid < 0)
		vt_broken("fork: %s", strerror(errno));
	if (pid == 0) {
		note_pid();
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

static void t_skip(const struct vt_variant *v)
{
	(void)v;
	vt_skip("feature %s not offered", "VIRTIO_F_RING_PACKED");
}

static void t_broken(const struct vt_variant *v)
{
	(void)v;
	vt_broken("cannot set up the device: %s", "no memory");
}

static void t_exit(const struct vt_variant *v)
{
	(void)v;
	exit(0);
}

static void t_only_rule(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_violation(&vd, "DRV-2.7.5.2", VT_WHO_DRIVER, NULL, NULL, "caught");
	vt_advice(&vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "advice only");
	vt_assert_only_rule(&vd, "DRV-2.7.5.2");
}

static void t_only_rule_wrong(const struct vt_variant *v)
{
	struct vt_verdict vd;
	(void)v;
	vt_verdict_init(&vd);
	vt_violation(&vd, "DRV-2.7.5.2", VT_WHO_DRIVER, NULL, NULL, "expected rule");
	vt_violation(&vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "0", "1", "another rule");
	vt_assert_only_rule(&vd, "DRV-2.7.5.2");
}

static void t_report(const struct vt_variant *v)
{
	struct vt_verdict vd;
	vt_verdict_init(&vd);
	vt_violation(&vd, "DRV-2.7.5.2", VT_WHO_DRIVER, NULL, NULL, "shown, not judged");
	vt_report_verdict(&vd);
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_STRING_EQUAL(v->data, v->name);
}

static const struct vt_variant ring_variants[] = {
	{ "split", "split" },
	{ "packed", "packed" },
};

static void t_after(const struct vt_variant *v)
{
	(void)v;
	CU_ASSERT_TRUE(1);
}

static const struct vt_test selftests[] = {
	{ "pass", "DEV-2.7.8.2", VT_ROLE_DEVICE, "inproc", 0, t_pass, NULL, 0 },
	{ "violation", "DRV-2.7.5.2", VT_ROLE_DRIVER, "inproc", 0, t_violation, NULL, 0 },
	{ "memory", "INV-unshared-access DEV-2.7.8.2", VT_ROLE_DEVICE, "inproc", 0, t_memory,
	  NULL, 0 },
	{ "assert", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0, t_assert, NULL, 0 },
	{ "crash", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0, t_crash, NULL, 0 },
	{ "hang", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 300, t_hang, NULL, 0 },
	{ "skip", "DRV-2.2.1", VT_ROLE_DRIVER, "inproc", 0, t_skip, NULL, 0 },
	{ "broken", "DRV-2.2.1", VT_ROLE_DRIVER, "inproc", 0, t_broken, NULL, 0 },
	{ "exit", "DRV-2.2.1", VT_ROLE_DRIVER, "inproc", 0, t_exit, NULL, 0 },
	{ "only-rule", "DRV-2.7.5.2", VT_ROLE_DRIVER, "inproc", 0, t_only_rule, NULL, 0 },
	{ "only-rule-wrong", "DRV-2.7.5.2", VT_ROLE_DRIVER, "inproc", 0, t_only_rule_wrong,
	  NULL, 0 },
	{ "report", "DRV-2.7.5.2", VT_ROLE_DRIVER, "vhost-user", 0, t_report, ring_variants,
	  VT_ARRAY_SIZE(ring_variants) },
	{ "after", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0, t_after, NULL, 0 },
	{ "crash-after-finding", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0,
	  t_crash_after_finding, NULL, 0 },
};

static const struct vt_suite selftest_suite = {
	"selftest", "the runner's own outcomes", selftests, VT_ARRAY_SIZE(selftests),
};

static const struct vt_test bad_tests[] = {
	{ "unknown-clause", "DRV-2.7.5.2 DRV-99.99.99", VT_ROLE_DRIVER, "inproc", 0, t_after,
	  NULL, 0 },
};

static const struct vt_suite bad_suite = {
	"bad", "a test citing a clause that does not exist", bad_tests, VT_ARRAY_SIZE(bad_tests),
};

/* After vt_run, nothing forked by a test may be left as our child. */
static int check_no_children(FILE *out)
{
	int st;
	pid_t w = waitpid(-1, &st, WNOHANG);
	if (w < 0 && errno == ECHILD) {
		fprintf(out, "# no child process left\n");
		return 0;
	}
	fprintf(out, "# a child process was left behind (waitpid: %d)\n", (int)w);
	return 1;
}

int main(int argc, char **argv)
{
	const char *filters[16], *excludes[16];
	struct vt_run_opts o = { .filters = filters, .excludes = excludes };
	const struct vt_suite *suites[3] = { &selftest_suite, NULL, NULL };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--bad-clause") == 0) {
			suites[1] = &bad_suite;
		} else if (strcmp(a, "--list") == 0) {
			o.list = true;
		} else if (strcmp(a, "--progress") == 0) {
			o.progress = true;
		} else if (strcmp(a, "--filter") == 0 && i + 1 < argc && o.nfilters < 16) {
			filters[o.nfilters++] = argv[++i];
		} else if (strcmp(a, "--exclude") == 0 && i + 1 < argc && o.nexcludes < 16) {
			excludes[o.nexcludes++] = argv[++i];
		} else if (strcmp(a, "--timeout-scale") == 0 && i + 1 < argc) {
			o.timeout_scale = strtod(argv[++i], NULL);
		} else {
			fprintf(stderr, "runner: unknown argument '%s'\n", a);
			return VT_EXIT_USAGE;
		}
	}
	int rc = vt_run(suites, &o);
	if (check_no_children(stdout))
		return 3;
	return rc;
}
