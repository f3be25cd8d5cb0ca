/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runner.c - the parent side: pick the instances, check their clauses, run
 * each in a forked child under a deadline, and report it through tap.c.
 *
 * A child is the leader of its own process group.  The parent waits on the
 * result pipe and on the child's exit (a pidfd where the kernel has one,
 * else a short poll tick), kills the whole group on the deadline, reaps
 * everything in it (the runner is a child subreaper while it runs, so
 * orphans of a test come back to it), and only then reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clause.h"
#include "proc.h"
#include "runner.h"
#include "tap.h"
#include "xfail.h"

#define MAX_RECS         128    /* records kept per instance       */
#define REAP_WAIT_MS     2000   /* bound on reaping a killed group */
#define NO_PIDFD_TICK_MS 10

/* ---- the instance list ---- */

struct selection {
	struct vt_instance *inst;
	unsigned n;
	unsigned total;        /* selected before the shard took its share */
};

static unsigned nvariants(const struct vt_test *t)
{
	return t->variants && t->nvariants ? t->nvariants : 1;
}

static unsigned count_instances(const struct vt_suite *const *suites)
{
	unsigned n = 0;
	for (; suites && *suites; suites++)
		for (unsigned i = 0; i < (*suites)->ntests; i++)
			n += nvariants(&(*suites)->tests[i]);
	return n;
}

static void instance_name(struct vt_instance *in)
{
	if (in->variant)
		snprintf(in->name, sizeof(in->name), "%s/%s[%s]", in->suite->area,
			 in->test->name, in->variant->name ? in->variant->name : "");
	else
		snprintf(in->name, sizeof(in->name), "%s/%s", in->suite->area, in->test->name);
}

static int build_instances(const struct vt_suite *const *suites, struct selection *all)
{
	unsigned n = count_instances(suites), k = 0;
	all->inst = calloc(n ? n : 1, sizeof(*all->inst));
	if (!all->inst)
		return -1;
	for (; suites && *suites; suites++)
		for (unsigned i = 0; i < (*suites)->ntests; i++) {
			const struct vt_test *t = &(*suites)->tests[i];
			bool has_variants = t->variants && t->nvariants;
			for (unsigned v = 0; v < nvariants(t); v++) {
				struct vt_instance *in = &all->inst[k++];
				in->suite = *suites;
				in->test = t;
				in->variant = has_variants ? &t->variants[v] : NULL;
				instance_name(in);
			}
		}
	all->n = k;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct vt_instance *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Names are the stable interface of TAP: two instances may not share one. */
static unsigned check_unique(const struct selection *all, FILE *err)
{
	unsigned bad = 0;
	const struct vt_instance **v = malloc((all->n ? all->n : 1) * sizeof(*v));
	if (!v)
		return 1;
	for (unsigned i = 0; i < all->n; i++)
		v[i] = &all->inst[i];
	qsort(v, all->n, sizeof(*v), cmp_name);
	for (unsigned i = 1; i < all->n; i++)
		if (strcmp(v[i - 1]->name, v[i]->name) == 0 &&
		    (i < 2 || strcmp(v[i - 2]->name, v[i]->name) != 0)) {
			fprintf(err, "vcts: duplicate test name '%s'\n", v[i]->name);
			bad++;
		}
	free(v);
	return bad;
}

static unsigned check_test(const struct vt_suite *s, const struct vt_test *t, FILE *err)
{
	unsigned bad = 0;
	const char *name = t->name && *t->name ? t->name : "(unnamed)";
	if (!t->name || !*t->name) {
		fprintf(err, "vcts: suite '%s' has a test without a name\n", s->area);
		bad++;
	}
	if (!t->fn) {
		fprintf(err, "vcts: test '%s/%s' has no body\n", s->area, name);
		bad++;
	}
	if (!t->variants != !t->nvariants) {
		fprintf(err, "vcts: test '%s/%s' has variants %s but nvariants %u\n", s->area, name,
			t->variants ? "set" : "NULL", t->nvariants);
		bad++;
	}
	for (unsigned v = 0; t->variants && v < t->nvariants; v++)
		if (!t->variants[v].name || !*t->variants[v].name) {
			fprintf(err, "vcts: test '%s/%s' has a variant without a name\n", s->area,
				name);
			bad++;
		}
	const char *cur = t->clauses;
	char id[64];
	unsigned cited = 0;
	while (vt_clause_next(&cur, id, sizeof(id))) {
		cited++;
		if (!vt_clause_lookup(id)) {
			fprintf(err, "vcts: test '%s/%s' cites unknown clause '%s'\n", s->area, name,
				id);
			bad++;
		}
	}
	if (!cited) {
		fprintf(err, "vcts: test '%s/%s' cites no clause\n", s->area, name);
		bad++;
	}
	return bad;
}

unsigned vt_check_catalogue(const struct vt_suite *const *suites, FILE *err)
{
	unsigned bad = 0;
	for (; suites && *suites; suites++) {
		const struct vt_suite *s = *suites;
		if (!s->area || !*s->area) {
			fprintf(err, "vcts: a suite has no area name\n");
			bad++;
			continue;
		}
		for (unsigned i = 0; i < s->ntests; i++)
			bad += check_test(s, &s->tests[i], err);
	}
	return bad;
}

/* ---- selecting instances ---- */

static const char *const role_values[] = { "driver", "device" };
static const struct vt_sel_key run_keys[] = {
	{ "clause", NULL, 0 },
	{ "role", role_values, 2 },
	{ "transport", NULL, 0 },
	{ "area", NULL, 0 },
	{ "variant", NULL, 0 },
	{ "timeout", NULL, 0 },
};

void vt_run_keys(const struct vt_sel_key **keys, unsigned *nkeys)
{
	*keys = run_keys;
	*nkeys = VT_ARRAY_SIZE(run_keys);
}

#define MAX_ATTRS 64

/* An instance as an item to select and list. */
struct inst_item {
	struct vt_sel_item item;
	struct vt_sel_attr attr[MAX_ATTRS];
	char timeout[16];
};

static void add_attr(struct inst_item *d, const char *key, const char *value)
{
	if (d->item.nattr < MAX_ATTRS && value)
		d->attr[d->item.nattr++] = (struct vt_sel_attr){ key, value };
}

/* Its attributes: role, transport, the clauses it cites (the registry's
 * copy of each id), area, variant, timeout. */
static void describe_instance(const struct vt_instance *in, struct inst_item *d)
{
	const struct vt_test *t = in->test;
	char id[64];
	d->item = (struct vt_sel_item){ in->name, d->attr, 0 };
	add_attr(d, "role", role_values[t->role == VT_ROLE_DRIVER ? 0 : 1]);
	add_attr(d, "transport", t->transport && *t->transport ? t->transport : NULL);
	for (const char *cur = t->clauses; vt_clause_next(&cur, id, sizeof(id));) {
		const struct vt_clause *c = vt_clause_lookup(id);
		add_attr(d, "clause", c ? c->id : NULL);
	}
	add_attr(d, "area", in->suite->area);
	add_attr(d, "variant", in->variant ? in->variant->name : NULL);
	snprintf(d->timeout, sizeof(d->timeout), "%u",
		 t->timeout_ms ? t->timeout_ms : VT_DEFAULT_TIMEOUT_MS);
	add_attr(d, "timeout", d->timeout);
}

/* The selection of o: given, or parsed here from its expressions. */
static struct vt_sel *parse_selection(const struct vt_run_opts *o)
{
	char err[600];
	struct vt_sel *s = malloc(sizeof(*s));
	if (!s) {
		fprintf(stderr, "vcts: out of memory\n");
		return NULL;
	}
	vt_sel_init(s, run_keys, VT_ARRAY_SIZE(run_keys));
	for (unsigned i = 0; i < o->nfilters + o->nexcludes; i++) {
		bool filter = i < o->nfilters;
		if (vt_sel_add(s, filter ? VT_SEL_FILTER : VT_SEL_EXCLUDE,
			       filter ? o->filters[i] : o->excludes[i - o->nfilters], err,
			       sizeof(err))) {
			fprintf(stderr, "vcts: %s: %s\n", filter ? "--filter" : "--exclude", err);
			free(s);
			return NULL;
		}
	}
	return s;
}

/* Keep the instances the selection takes, then the shard's share of
 * them; sel->total is how many were selected before sharding. */
static int select_instances(const struct selection *all, const struct vt_run_opts *o,
			    struct selection *sel)
{
	struct vt_sel *s = o->sel ? o->sel : parse_selection(o);
	struct inst_item d;
	int rc = -1;

	if (!s)
		return -1;
	sel->inst = calloc(all->n ? all->n : 1, sizeof(*sel->inst));
	if (!sel->inst)
		goto out;
	sel->n = 0;
	sel->total = 0;
	for (unsigned i = 0; i < all->n; i++) {
		describe_instance(&all->inst[i], &d);
		if (!vt_sel_take(s, &d.item))
			continue;
		if (vt_sel_shard_takes(&o->shard, sel->total++))
			sel->inst[sel->n++] = all->inst[i];
	}
	const char *missed = o->into ? NULL : vt_sel_missed(s);
	if (missed)
		fprintf(stderr, "vcts: no test matches '%s'\n", missed);
	else
		rc = 0;
out:
	if (s != o->sel)
		free(s);
	return rc;
}

/* ---- list mode ---- */

static int list_instances(const struct selection *sel, const struct vt_run_opts *o, FILE *out)
{
	struct vt_sel_list *l = o->into ? o->into : vt_sel_list_new();
	struct inst_item d;
	int rc = 0;

	if (!l)
		return -1;
	for (unsigned i = 0; i < sel->n && !rc; i++) {
		describe_instance(&sel->inst[i], &d);
		rc = vt_sel_list_add(l, "test", &d.item);
	}
	vt_sel_list_units(l, sel->n, sel->total, "point");
	if (!o->into) {
		rc = vt_sel_list_write(l, out, o->format, &o->shard, vt_run_tap_version(o->tap_version));
		vt_sel_list_free(l);
	}
	return rc;
}

/* ---- the runner interrupted ---- */

/*
 * The process group of the test running now.  If the runner is told to
 * stop (Ctrl-C, SIGTERM, a closed stdout) the test's whole group goes
 * with it: a test's own children would otherwise outlive the run.
 */
static volatile sig_atomic_t running_pgid;
static char running_tmp[PATH_MAX];    /* its TMPDIR, removed with it */

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
static struct sigaction saved_actions[VT_ARRAY_SIZE(stop_signals)];

static void on_stop_signal(int sig)
{
	pid_t pgid = running_pgid;
	if (pgid > 0) {
		kill(-pgid, SIGKILL);
		if (running_tmp[0])
			vt_rmtree_signal_safe(running_tmp);
	}
	vt_proc_fatal_signal(sig);
}

static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < VT_ARRAY_SIZE(stop_signals); i++) {
		sigaction(stop_signals[i], NULL, &saved_actions[i]);
		if (saved_actions[i].sa_handler != SIG_IGN)   /* ignored stays ignored */
			sigaction(stop_signals[i], &sa, NULL);
	}
}

static void restore_stop_signals(void)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(stop_signals); i++)
		sigaction(stop_signals[i], &saved_actions[i], NULL);
}

/* ---- running one instance ---- */

struct result {
	struct vt_rec *recs;          /* MAX_RECS, non-final records in order */
	unsigned n, dropped;
	struct vt_rec final;
	bool has_final;
	bool garbled;                 /* a record without the magic, or cut  */
	unsigned char partial[sizeof(struct vt_rec)];
	size_t partial_len;
	bool timed_out;
	bool reaped;
	int status;                   /* from waitpid                        */
	unsigned deadline_ms;
	char error[160];              /* the runner itself failed            */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void take_record(struct result *r, const struct vt_rec *rec)
{
	if (rec->magic != VT_REC_MAGIC) {
		r->garbled = true;
		return;
	}
	if (rec->kind == VT_REC_SKIP || rec->kind == VT_REC_BROKEN || rec->kind == VT_REC_END) {
		if (!r->has_final) {
			r->final = *rec;
			r->has_final = true;
		}
		return;
	}
	if (r->n < MAX_RECS)
		r->recs[r->n++] = *rec;
	else
		r->dropped++;
}

/* Read what the pipe holds now; returns false on end of file. */
static bool drain_pipe(int fd, struct result *r)
{
	for (;;) {
		ssize_t got = read(fd, r->partial + r->partial_len,
				   sizeof(r->partial) - r->partial_len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (got == 0) {
			if (r->partial_len)
				r->garbled = true;
			return false;
		}
		r->partial_len += (size_t)got;
		if (r->partial_len == sizeof(r->partial)) {
			struct vt_rec rec;
			memcpy(&rec, r->partial, sizeof(rec));
			take_record(r, &rec);
			r->partial_len = 0;
		}
	}
}

/* Kill what is left of the group, then reap every child in it. */
static void kill_and_reap_group(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	uint64_t until = now_ms() + REAP_WAIT_MS;
	for (;;) {
		int st;
		pid_t w = waitpid(-pgid, &st, WNOHANG);
		if (w > 0)
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || now_ms() >= until)
			return;
		kill(-pgid, SIGKILL);      /* members forked meanwhile */
		poll(NULL, 0, 1);
	}
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

__attribute__((noreturn))
static void child_main(const struct vt_instance *in, int rfd, int wfd, pid_t parent,
		       const char *tmp)
{
	close(rfd);
	/* the test's private directory for sockets, images and logs */
	if (tmp[0]) {
		setenv("VCTS_TEST_TMPDIR", tmp, 1);
		setenv("TMPDIR", tmp, 1);
	}
	setpgid(0, 0);
	/* if the runner dies, so does the test */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* a crash is a verdict, not a core file in the working directory */
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	restore_stop_signals();
	/* stray prints of a test body must not land in the TAP stream */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	vt_child_run(in, wfd);
}

/* Wait for the child's records and exit until the deadline. */
static void supervise(pid_t pid, int rfd, struct result *r)
{
	int pidfd = open_pidfd(pid);
	uint64_t deadline = now_ms() + r->deadline_ms;
	bool pipe_open = true;

	for (;;) {
		uint64_t t = now_ms();
		if (t >= deadline) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		int wait_ms = (int)(deadline - t);
		if (pidfd < 0 && wait_ms > NO_PIDFD_TICK_MS)
			wait_ms = NO_PIDFD_TICK_MS;
		struct pollfd pf[2] = {
			{ .fd = pipe_open ? rfd : -1, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		int rc = poll(pf, 2, wait_ms);
		if (rc < 0 && errno != EINTR) {
			snprintf(r->error, sizeof(r->error), "poll: %s", strerror(errno));
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (pipe_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			pipe_open = drain_pipe(rfd, r);
		bool exited = pidfd >= 0 ? (pf[1].revents & POLLIN) != 0
					 : waitpid(pid, &r->status, WNOHANG) == pid;
		if (exited) {
			r->reaped = pidfd < 0;
			break;
		}
	}
	if (!r->reaped) {
		while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
			;
		r->reaped = true;
	}
	if (pipe_open)
		drain_pipe(rfd, r);    /* what the child wrote before it ended */
	if (pidfd >= 0)
		close(pidfd);
	kill_and_reap_group(pid);
	running_pgid = 0;
}

static void run_instance(const struct vt_instance *in, double scale, struct result *r)
{
	unsigned tmo = in->test->timeout_ms ? in->test->timeout_ms : VT_DEFAULT_TIMEOUT_MS;
	double ms = tmo * scale;
	r->deadline_ms = ms < 1 ? 1 : ms > 86400000.0 ? 86400000u : (unsigned)ms;

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(r->error, sizeof(r->error), "pipe: %s", strerror(errno));
		return;
	}
	char tmp[PATH_MAX];
	const char *base = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/vcts-test.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp))
		tmp[0] = '\0';
	memcpy(running_tmp, tmp, sizeof(running_tmp));

	fflush(NULL);     /* nothing buffered may be written twice */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (tmp[0])
			vt_rmtree(tmp);
		return;
	}
	if (pid == 0)
		child_main(in, p[0], p[1], parent, tmp);
	setpgid(pid, pid);    /* also done by the child: whoever runs first */
	running_pgid = pid;
	close(p[1]);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	supervise(pid, p[0], r);
	close(p[0]);
	/* whatever the test left there goes with it, whichever way it ended */
	if (tmp[0])
		vt_rmtree(tmp);
}

/* ---- reporting one instance ---- */

struct findings {
	struct vt_tap_finding *f;
	char (*section)[192];
	char (*at)[128];
	unsigned n;
	bool has_fail;           /* a FAIL record: it heads the YAML */
	struct vt_tap_finding fail;
	char fail_section[192];
};

static void section_of(const char *rule, char *buf, size_t len)
{
	const struct vt_clause *c = vt_clause_lookup(rule);
	buf[0] = '\0';
	if (!c)
		return;
	if (c->kind == VT_CLAUSE_SECTION)
		snprintf(buf, len, "%s %s", c->section, c->title);
	else
		snprintf(buf, len, "invariant: %s", c->title);
}

static void violation_finding(const struct vt_rec *rec, struct vt_tap_finding *f, char *section,
			      size_t len)
{
	section_of(rec->rule, section, len);
	f->message = rec->text;
	f->rule = rec->rule;
	f->section = section;
	f->severity = rec->sev == VT_SEV_SHOULD ? "should" : NULL;
	f->who = vt_who_name((enum vt_who)rec->who);
	f->expected = rec->expected;
	f->got = rec->got;
	f->has_addr = rec->has_addr;
	f->address = rec->addr;
	f->gpa = rec->gpa;
	f->page = rec->page;
}

static int collect_findings(const struct result *r, struct findings *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->f = calloc(r->n + 1, sizeof(*fs->f));
	fs->section = calloc(r->n + 1, sizeof(*fs->section));
	fs->at = calloc(r->n + 1, sizeof(*fs->at));
	if (!fs->f || !fs->section || !fs->at)
		return -1;
	for (unsigned i = 0; i < r->n; i++) {
		const struct vt_rec *rec = &r->recs[i];
		struct vt_tap_finding *f = &fs->f[fs->n];
		switch (rec->kind) {
		case VT_REC_ASSERT:
			snprintf(fs->at[fs->n], sizeof(fs->at[0]), "%s:%u", rec->file, rec->line);
			f->message = rec->text;
			f->at = fs->at[fs->n];
			fs->n++;
			break;
		case VT_REC_VIOL:
			if (!rec->judged)
				break;
			violation_finding(rec, f, fs->section[fs->n], sizeof(fs->section[0]));
			fs->n++;
			break;
		case VT_REC_FAIL:
			if (fs->has_fail)
				break;
			fs->has_fail = true;
			section_of(rec->rule, fs->fail_section, sizeof(fs->fail_section));
			fs->fail.message = rec->text;
			fs->fail.rule = rec->rule;
			fs->fail.section = fs->fail_section;
			fs->fail.expected = rec->expected;
			fs->fail.got = rec->got;
			break;
		default:
			break;
		}
	}
	return 0;
}

static void free_findings(struct findings *fs)
{
	free(fs->f);
	free(fs->section);
	free(fs->at);
}

/* Comment lines for what is shown but not judged. */
static void report_comments(struct vt_tap *tap, const struct result *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct vt_rec *rec = &r->recs[i];
		if (rec->kind == VT_REC_IMPL) {
			vt_tap_diag(tap, "implementation: %s %s", rec->text, rec->got);
		} else if (rec->kind == VT_REC_DIAG) {
			vt_tap_diag(tap, "%s", rec->text);
		} else if (rec->kind == VT_REC_VIOL && !rec->judged) {
			char extra[200] = "";
			if (rec->expected[0] || rec->got[0])
				snprintf(extra, sizeof(extra), " (expected %s, got %s)", rec->expected,
					 rec->got);
			vt_tap_diag(tap, "%s %s [%s]: %s%s",
				    rec->sev == VT_SEV_SHOULD ? "advice" : "record", rec->rule,
				    vt_who_name((enum vt_who)rec->who), rec->text, extra);
		}
	}
	if (r->dropped)
		vt_tap_diag(tap, "%u more result records were dropped", r->dropped);
}

static const char *signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "%d", sig);
	return buf;
}

/* Decide the outcome; fills detail and the YAML message. */
static enum vt_outcome judge(const struct result *r, const struct findings *fs, double scale,
			     char *detail, size_t dlen, char *msg, size_t mlen)
{
	bool failures = fs->n || fs->has_fail;
	detail[0] = msg[0] = '\0';
	if (r->error[0]) {
		snprintf(detail, dlen, "runner: %s", r->error);
		return VT_BROKEN;
	}
	if (r->timed_out) {
		snprintf(msg, mlen, "no result within %u ms (timeout x %g); process group killed",
			 r->deadline_ms, scale);
		return VT_TIMEOUT;
	}
	if (WIFSIGNALED(r->status)) {
		int sig = WTERMSIG(r->status);
		char name[32];
		signal_name(sig, name, sizeof(name));
		snprintf(detail, dlen, "%s", name);
		snprintf(msg, mlen, "killed by signal %s (%s)", name, strsignal(sig));
		return VT_CRASH;
	}
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0) {
		snprintf(detail, dlen, "test process exited with status %d",
			 WEXITSTATUS(r->status));
		return VT_BROKEN;
	}
	if (r->garbled) {
		snprintf(detail, dlen, "garbled result records from the test process");
		return VT_BROKEN;
	}
	if (!r->has_final) {
		snprintf(detail, dlen, "test process exited without a complete result");
		return VT_BROKEN;
	}
	switch (r->final.kind) {
	case VT_REC_BROKEN:
		snprintf(detail, dlen, "%s", r->final.text);
		return VT_BROKEN;
	case VT_REC_SKIP:
		if (failures) {
			snprintf(msg, mlen, "failed, then skipped: %s", r->final.text);
			return VT_FAIL;
		}
		snprintf(detail, dlen, "%s", r->final.text);
		return VT_SKIP;
	default:
		return r->final.passed && !failures ? VT_PASS : VT_FAIL;
	}
}

/* ---- known differences (xfail files) ---- */

static const struct vt_rec *impl_record(const struct result *r)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->recs[i].kind == VT_REC_IMPL)
			return &r->recs[i];
	return NULL;
}

/* Does a record of the result name rule (at any severity)? */
static bool cites(const struct result *r, const char *rule)
{
	for (unsigned i = 0; i < r->n; i++) {
		const struct vt_rec *rec = &r->recs[i];
		if ((rec->kind == VT_REC_VIOL || rec->kind == VT_REC_FAIL) &&
		    strcmp(rec->rule, rule) == 0)
			return true;
	}
	return false;
}

/* A listed difference of the implementation the instance judged: its
 * failure on the listed clause is expected (xfail), its pass is news
 * (xpass, which fails the run). */
static enum vt_outcome apply_xfail(const struct vt_instance *in, const struct result *r,
				   enum vt_outcome o, char *detail, size_t dlen)
{
	const struct vt_rec *im = impl_record(r);
	if (!im)
		return o;
	const struct vt_xfail *x = vt_xfail_match(in->name, im->text, im->got);
	if (!x)
		return o;
	if (o == VT_PASS && x->intermittent)
		return o;      /* it shows in some runs only */
	if (o == VT_PASS) {
		snprintf(detail, dlen, "known issue gone: %.120s (%.150s)", x->reason, x->where);
		return VT_XPASS;
	}
	if (o == VT_FAIL && cites(r, x->rule)) {
		snprintf(detail, dlen, "xfail: %s", x->reason);
		return VT_XFAIL;
	}
	return o;
}

/* "2 rules broken, 1 assertion failed" */
static void summarize(const struct findings *fs, char *buf, size_t len)
{
	unsigned rules = 0, asserts = 0;
	for (unsigned i = 0; i < fs->n; i++) {
		if (fs->f[i].rule)
			rules++;
		else
			asserts++;
	}
	if (rules && asserts)
		snprintf(buf, len, "%u rule%s broken, %u assertion%s failed", rules,
			 rules == 1 ? "" : "s", asserts, asserts == 1 ? "" : "s");
	else if (rules)
		snprintf(buf, len, "%u rules broken", rules);
	else
		snprintf(buf, len, "%u assertions failed", asserts);
}

static void report_yaml(struct vt_tap *tap, const struct findings *fs, const char *msg)
{
	struct vt_tap_finding top = { 0 };
	char summary[96], both[720];
	const struct vt_tap_finding *list = fs->f;
	unsigned nlist = fs->n;

	if (fs->has_fail) {
		top = fs->fail;
	} else if (fs->n == 1 && !msg[0]) {
		top = fs->f[0];
		nlist = 0;
	} else if (fs->n > 1) {
		summarize(fs, summary, sizeof(summary));
		top.message = summary;
	}
	/* The YAML block must follow its test line at once (no comment in
	 * between): the runner's message and the finding's go in one. */
	if (msg[0]) {
		if (top.message && top.message[0]) {
			snprintf(both, sizeof(both), "%s; %s", msg, top.message);
			top.message = both;
		} else {
			top.message = msg;
		}
	}
	if (!top.message && !nlist)
		return;
	vt_tap_yaml(tap, &top, list, nlist);
}

static enum vt_outcome report(struct vt_tap *tap, const struct vt_instance *in,
			      const struct result *r, double scale)
{
	struct findings fs;
	char detail[320], msg[320];

	if (collect_findings(r, &fs)) {
		free_findings(&fs);
		vt_tap_result(tap, VT_BROKEN, in->name, "runner: out of memory");
		return VT_BROKEN;
	}
	enum vt_outcome o = judge(r, &fs, scale, detail, sizeof(detail), msg, sizeof(msg));
	o = apply_xfail(in, r, o, detail, sizeof(detail));
	report_comments(tap, r);
	vt_tap_result(tap, o, in->name, detail);
	if (o != VT_PASS && o != VT_SKIP)
		report_yaml(tap, &fs, msg);
	free_findings(&fs);
	return o;
}

/* ---- the run ---- */

/*
 * The version line.  TAP 14 unless asked otherwise, except that a
 * Test::Harness (prove) older than 3.48 rejects a stream announcing 14;
 * it tells its tests who it is through HARNESS_ACTIVE and HARNESS_VERSION,
 * and gets the same stream announced as 13.
 */
unsigned vt_run_tap_version(unsigned asked)
{
	if (asked)
		return asked;
	const char *active = getenv("HARNESS_ACTIVE");
	if (!active || !*active)
		return 14;
	const char *v = getenv("HARNESS_VERSION");
	return v && strtod(v, NULL) >= 3.48 ? 14 : 13;
}

static unsigned tap_version(const struct vt_run_opts *o)
{
	return vt_run_tap_version(o->tap_version);
}

static void progress(bool on, bool tty, unsigned i, unsigned n, const char *name)
{
	if (!on)
		return;
	if (tty)
		fprintf(stderr, "\r\033[K[%u/%u] %s", i, n, name);
	else
		fprintf(stderr, "[%u/%u] %s\n", i, n, name);
	fflush(stderr);
}

static int run_selection(const struct selection *sel, const struct vt_run_opts *o, FILE *out)
{
	struct vt_tap tap;
	unsigned tally[VT_CRASH + 1] = { 0 };
	double scale = o->timeout_scale > 0 ? o->timeout_scale : 1.0;
	bool tty = isatty(STDERR_FILENO);
	/* a TAP harness (prove) shows its own progress on the terminal */
	bool show = o->progress || (tty && !getenv("HARNESS_ACTIVE"));
	struct result r;

	vt_tap_start(&tap, out, tap_version(o));
	if (vt_sel_shard_empty(&tap, &o->shard, sel->total, "point"))
		return VT_EXIT_OK;
	if (!sel->n) {
		vt_tap_skip_all(&tap, "no test selected");
		return VT_EXIT_OK;
	}
	vt_tap_plan(&tap, sel->n);
	vt_sel_shard_note(&tap, &o->shard, sel->total, "point");

	memset(&r, 0, sizeof(r));
	r.recs = calloc(MAX_RECS, sizeof(*r.recs));
	if (!r.recs) {
		vt_tap_bail(&tap, "out of memory");
		return VT_EXIT_FAIL;
	}
	int was_subreaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	catch_stop_signals();

	for (unsigned i = 0; i < sel->n; i++) {
		const struct vt_instance *in = &sel->inst[i];
		struct vt_rec *recs = r.recs;
		memset(&r, 0, sizeof(r));
		r.recs = recs;
		progress(show, tty, i + 1, sel->n, in->name);
		run_instance(in, scale, &r);
		tally[report(&tap, in, &r, scale)]++;
	}
	if (show && tty)
		fputs("\r\033[K", stderr);

	restore_stop_signals();
	prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
	free(r.recs);
	vt_tap_diag(&tap, "pass %u, fail %u, skip %u, broken %u, timeout %u, crash %u",
		    tally[VT_PASS], tally[VT_FAIL], tally[VT_SKIP], tally[VT_BROKEN],
		    tally[VT_TIMEOUT], tally[VT_CRASH]);
	if (tally[VT_XFAIL] || tally[VT_XPASS])
		vt_tap_diag(&tap, "xfail %u, xpass %u", tally[VT_XFAIL], tally[VT_XPASS]);
	return tap.failed ? VT_EXIT_FAIL : VT_EXIT_OK;
}

int vt_run(const struct vt_suite *const *suites, const struct vt_run_opts *o)
{
	static const struct vt_run_opts defaults;
	struct selection all = { 0 }, sel = { 0 };
	char err[512];
	int rc = VT_EXIT_USAGE;

	if (!o)
		o = &defaults;
	FILE *out = o->out ? o->out : stdout;
	if (vt_clause_load(o->spec_dir, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s\n", err);
		return VT_EXIT_USAGE;
	}
	if (vt_xfail_load(o->spec_dir, err, sizeof(err))) {
		fprintf(stderr, "vcts: %s\n", err);
		return VT_EXIT_USAGE;
	}
	if (build_instances(suites, &all)) {
		fprintf(stderr, "vcts: out of memory\n");
		goto out;
	}
	if (vt_check_catalogue(suites, stderr) || check_unique(&all, stderr))
		goto out;
	if (select_instances(&all, o, &sel))
		goto out;
	if (o->list) {
		if (list_instances(&sel, o, out)) {
			fprintf(stderr, "vcts: cannot write the list: %s\n",
				ferror(out) ? strerror(errno) : "out of memory");
			rc = VT_EXIT_FAIL;
		} else {
			rc = VT_EXIT_OK;
		}
	} else {
		rc = run_selection(&sel, o, out);
	}
out:
	free(all.inst);
	free(sel.inst);
	return rc;
}
