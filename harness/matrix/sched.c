/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sched.c - run a selection of matrix cells on N worker processes.
 *
 * The parent picks the cells first (the oracle and the keep() filter are
 * cheap), so it knows how many will be reported and in which order.  Each
 * worker is a forked process, leader of its own process group, joined to
 * the parent by a SOCK_SEQPACKET socket pair: the parent sends a cell
 * number (8 bytes), the worker runs the cell and sends the fixed-size
 * struct vt_mx_result back as one record.  A worker holds at most two
 * cells, the one it runs and the next, so it never waits for the parent.
 *
 * The parent owns the clock.  A worker that overruns a cell's deadline is
 * killed with its group; a worker that dies mid-cell leaves that cell a
 * crash; either way the worker is replaced and the cell it had queued is
 * handed out again.  Results go to the sink in cell order through a
 * window of slots; cells past the window wait to be handed out, which
 * bounds memory when one cell hangs.  Workers die with the parent
 * (PR_SET_PDEATHSIG), and SIGINT, SIGTERM, SIGHUP and SIGQUIT kill them
 * before the parent goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "matrix.h"
#include "../proc.h"

#define MX_MAX_JOBS        256
#define MX_DEPTH           2       /* cells a worker holds               */
#define MX_WINDOW          512     /* results held for reordering        */
#define MX_DEFAULT_TMO_MS  10000
#define MX_PROGRESS_MS     100     /* at most ~10 progress updates per s */
#define MX_MAX_IDLE_DEATHS 16      /* workers lost without a cell        */

struct worker {
	pid_t pid;                 /* 0: no worker in this slot            */
	int fd;                    /* the parent's end of the socket pair  */
	uint64_t pos[MX_DEPTH];    /* positions handed out, oldest first    */
	unsigned n;
	int64_t started_ms;        /* when pos[0] began (as far as we know) */
};

struct progress {
	bool on;
	bool erase;                /* stdout and stderr share a terminal   */
	bool shown;                /* a line is on the screen              */
	int64_t t0_ms, last_ms;
	unsigned width;            /* length of the last line              */
};

struct run {
	const struct vt_profile *p;
	const struct vt_mx_sel *s;
	const struct vt_mx_faults *faults;
	vt_mx_sink sink;
	void *ctx;
	pid_t parent;
	unsigned timeout_ms;

	uint64_t *cells;           /* kept cell numbers, in order          */
	uint64_t ncells;
	uint64_t next_send;        /* first position never handed out      */
	uint64_t retry[MX_MAX_JOBS * MX_DEPTH];
	unsigned nretry;           /* positions to hand out again          */
	uint64_t next_sink;        /* first position not yet reported      */

	struct vt_mx_result *win;  /* slot pos % nwin holds position pos   */
	bool *ready;
	unsigned nwin;

	struct worker w[MX_MAX_JOBS];
	unsigned jobs;
	unsigned alive;
	unsigned idle_deaths;
	char start_err[160];       /* why no worker could be started       */

	unsigned failed;
	struct progress pg;
};

/* ---- time ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- signals: no worker outlives the parent ---- */

static volatile pid_t mx_pids[MX_MAX_JOBS];
static const int mx_fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static struct sigaction mx_old[sizeof(mx_fatal) / sizeof(mx_fatal[0])];
static bool mx_installed[sizeof(mx_fatal) / sizeof(mx_fatal[0])];

static void kill_all_workers(void)
{
	for (unsigned i = 0; i < MX_MAX_JOBS; i++) {
		pid_t pid = mx_pids[i];
		if (pid > 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
}

/* Async-signal-safe: kill the workers, then die of the same signal
 * (cleaning up what proc.c started first). */
static void on_fatal_signal(int sig)
{
	kill_all_workers();
	vt_proc_fatal_signal(sig);
}

static void install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(mx_fatal) / sizeof(mx_fatal[0]); i++) {
		mx_installed[i] = false;
		if (sigaction(mx_fatal[i], NULL, &mx_old[i]) < 0)
			continue;
		if (mx_old[i].sa_handler == SIG_IGN)   /* nohup and the like */
			continue;
		mx_installed[i] = sigaction(mx_fatal[i], &sa, NULL) == 0;
	}
}

static void restore_handlers(void)
{
	for (size_t i = 0; i < sizeof(mx_fatal) / sizeof(mx_fatal[0]); i++)
		if (mx_installed[i])
			sigaction(mx_fatal[i], &mx_old[i], NULL);
}

/* ---- the worker process ---- */

static void worker_setup(struct run *r, unsigned self)
{
	/* die with the parent, even if it is killed outright */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->parent)
		_exit(127);
	setpgid(0, 0);
	for (size_t i = 0; i < sizeof(mx_fatal) / sizeof(mx_fatal[0]); i++)
		signal(mx_fatal[i], SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	for (unsigned i = 0; i < r->jobs; i++)
		if (i != self && r->w[i].pid > 0)
			close(r->w[i].fd);
	/* TAP is the parent's alone: nothing a cell prints may reach it */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
}

/* Run cells until the parent closes the socket; never returns. */
static void __attribute__((noreturn)) worker_main(struct run *r, unsigned self, int fd)
{
	static struct vt_mx_result res;
	struct vt_mx_cell c;
	uint64_t idx;

	worker_setup(r, self);
	for (;;) {
		ssize_t n = recv(fd, &idx, sizeof(idx), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(idx))
			_exit(n == 0 ? 0 : 126);
		vt_mx_sel_cell(r->s, idx, &c);
		memset(&res, 0, sizeof(res));
		vt_mx_run_cell(r->p, &c, r->faults, &res);
		res.index = idx;
		res.cell = c;
		while ((n = send(fd, &res, sizeof(res), MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(res))
			_exit(125);
	}
}

/* ---- starting and losing workers ---- */

static int spawn_worker(struct run *r, unsigned i)
{
	struct worker *w = &r->w[i];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(r->start_err, sizeof(r->start_err), "socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);          /* nothing buffered may be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->start_err, sizeof(r->start_err), "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(r, i, sv[1]);
	}
	setpgid(pid, pid);     /* also done by the worker: whoever runs first */
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w->pid = pid;
	w->fd = sv[0];
	w->n = 0;
	mx_pids[i] = pid;
	r->alive++;
	return 0;
}

/* SIGKILL the worker's group and reap it; returns its wait status. */
static int kill_worker(struct run *r, unsigned i)
{
	struct worker *w = &r->w[i];
	int status = 0;

	kill(-w->pid, SIGKILL);
	kill(w->pid, SIGKILL);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(w->fd);
	mx_pids[i] = 0;
	w->pid = 0;
	w->fd = -1;
	r->alive--;
	return status;
}

/* A cell the worker could not report: the parent writes its result. */
static void cell_lost(struct run *r, uint64_t pos, enum vt_outcome o, const char *detail)
{
	struct vt_mx_result *res = &r->win[pos % r->nwin];
	uint64_t idx = r->cells[pos];

	memset(res, 0, sizeof(*res));
	res->index = idx;
	vt_mx_sel_cell(r->s, idx, &res->cell);
	vt_mx_oracle(r->p, &res->cell, &res->exp);
	res->got = res->exp.outcome;     /* nothing was observed */
	res->outcome = o;
	snprintf(res->detail, sizeof(res->detail), "%s", detail);
	r->ready[pos % r->nwin] = true;
}

static void retry_later(struct run *r, uint64_t pos)
{
	if (r->nretry < sizeof(r->retry) / sizeof(r->retry[0]))
		r->retry[r->nretry++] = pos;
}

/* The worker is gone: the cell it was running is lost with outcome o, the
 * one it had queued is handed out again. */
static void worker_lost(struct run *r, const uint64_t *held, unsigned n,
			enum vt_outcome o, const char *detail)
{
	if (!n) {
		r->idle_deaths++;
		return;
	}
	cell_lost(r, held[0], o, detail);
	for (unsigned k = 1; k < n; k++)
		retry_later(r, held[k]);
}

static void signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
}

/* The worker ended by itself (end of file on its socket, or garbage). */
static void worker_died(struct run *r, unsigned i, const char *garbled)
{
	struct worker *w = &r->w[i];
	uint64_t held[MX_DEPTH];
	unsigned n = w->n;
	char detail[160];

	memcpy(held, w->pos, sizeof(held));
	int status = kill_worker(r, i);
	if (garbled) {
		snprintf(detail, sizeof(detail), "worker sent %s; killed", garbled);
		worker_lost(r, held, n, VT_BROKEN, detail);
	} else if (WIFSIGNALED(status)) {
		signal_name(WTERMSIG(status), detail, sizeof(detail));
		worker_lost(r, held, n, VT_CRASH, detail);
	} else {
		snprintf(detail, sizeof(detail), "worker exited with status %d during the cell",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		worker_lost(r, held, n, VT_BROKEN, detail);
	}
}

/* ---- handing out cells and taking results ---- */

static bool work_left(const struct run *r)
{
	return r->nretry || r->next_send < r->ncells;
}

/* The lowest position waiting to be handed out, if the window allows. */
static bool take_position(struct run *r, uint64_t *pos)
{
	if (r->nretry) {
		unsigned lo = 0;
		for (unsigned k = 1; k < r->nretry; k++)
			if (r->retry[k] < r->retry[lo])
				lo = k;
		*pos = r->retry[lo];
		r->retry[lo] = r->retry[--r->nretry];
		return true;
	}
	if (r->next_send < r->ncells && r->next_send < r->next_sink + r->nwin) {
		*pos = r->next_send++;
		return true;
	}
	return false;
}

static void drain(struct run *r, unsigned i);

static void feed(struct run *r, unsigned i)
{
	struct worker *w = &r->w[i];
	uint64_t pos;

	while (w->pid > 0 && w->n < MX_DEPTH && take_position(r, &pos)) {
		uint64_t idx = r->cells[pos];
		ssize_t n;
		while ((n = send(w->fd, &idx, sizeof(idx), MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(idx)) {
			retry_later(r, pos);
			drain(r, i);    /* the worker is gone: take what it sent */
			if (w->pid > 0)
				worker_died(r, i, NULL);
			return;
		}
		if (w->n == 0)
			w->started_ms = now_ms();
		w->pos[w->n++] = pos;
	}
}

/* One record from worker i: the result of its oldest cell. */
static void take_result(struct run *r, unsigned i, struct vt_mx_result *res)
{
	struct worker *w = &r->w[i];
	uint64_t pos = w->pos[0];
	if (res->index != r->cells[pos]) {
		worker_died(r, i, "the result of another cell");
		return;
	}
	r->ready[pos % r->nwin] = true;
	for (unsigned k = 1; k < w->n; k++)
		w->pos[k - 1] = w->pos[k];
	w->n--;
	w->started_ms = now_ms();
}

/* Read every record worker i has sent; notice when it is gone. */
static void drain(struct run *r, unsigned i)
{
	struct worker *w = &r->w[i];
	struct vt_mx_result spare;

	while (w->pid > 0) {
		struct vt_mx_result *res = &spare;
		if (w->n)
			res = &r->win[w->pos[0] % r->nwin];
		ssize_t n = recv(w->fd, res, sizeof(*res), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			worker_died(r, i, NULL);
			return;
		}
		if (n != (ssize_t)sizeof(*res) || !w->n) {
			worker_died(r, i, w->n ? "a short record" : "a record it was not asked for");
			return;
		}
		take_result(r, i, res);
	}
}

static void check_deadlines(struct run *r, int64_t t)
{
	for (unsigned i = 0; i < r->jobs; i++) {
		struct worker *w = &r->w[i];
		if (w->pid <= 0 || !w->n || t - w->started_ms < (int64_t)r->timeout_ms)
			continue;
		uint64_t held[MX_DEPTH];
		unsigned n = w->n;
		char detail[160];
		memcpy(held, w->pos, sizeof(held));
		kill_worker(r, i);
		snprintf(detail, sizeof(detail), "no result within %u ms; worker killed",
			 r->timeout_ms);
		worker_lost(r, held, n, VT_TIMEOUT, detail);
	}
}

/* ---- progress on stderr ---- */

static void progress_init(struct progress *pg, bool asked)
{
	const char *env = getenv("VCTS_PROGRESS");
	bool forced = env && strcmp(env, "1") == 0;
	memset(pg, 0, sizeof(*pg));
	pg->on = asked && (forced || isatty(STDERR_FILENO));
	pg->erase = pg->on && isatty(STDERR_FILENO) && isatty(STDOUT_FILENO);
	pg->t0_ms = now_ms();
	pg->last_ms = pg->t0_ms - MX_PROGRESS_MS;
}

/* "matrix PROFILE: 1234/8192 cells, 2 jobs, 0 failed, ETA 3 s" */
static void progress_show(struct run *r, bool final)
{
	struct progress *pg = &r->pg;
	int64_t t = now_ms();
	char eta[32], line[256];

	if (!pg->on || (!final && t - pg->last_ms < MX_PROGRESS_MS))
		return;
	pg->last_ms = t;
	if (r->next_sink == 0) {
		snprintf(eta, sizeof(eta), "?");
	} else {
		/* the rate so far; rounded up, so 0 only at the end */
		double left_ms = (double)(t - pg->t0_ms) * (double)(r->ncells - r->next_sink) /
				 (double)r->next_sink;
		snprintf(eta, sizeof(eta), "%llu s", (unsigned long long)((left_ms + 999) / 1000));
	}
	int len = snprintf(line, sizeof(line), "matrix %s: %llu/%llu cells, %u jobs, %u failed, "
			   "ETA %s", r->p->name, (unsigned long long)r->next_sink,
			   (unsigned long long)r->ncells, r->jobs, r->failed, eta);
	if (len < 0)
		return;
	if ((unsigned)len >= sizeof(line))
		len = sizeof(line) - 1;
	/* pad over what a longer line left behind */
	fprintf(stderr, "\r%s%*s", line, pg->width > (unsigned)len ? (int)(pg->width - len) : 0, "");
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
	pg->width = (unsigned)len;
	pg->shown = !final;
}

/* Before a TAP line reaches the same terminal: take the progress away. */
static void progress_hide(struct progress *pg)
{
	if (!pg->erase || !pg->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	pg->shown = false;
	pg->width = 0;
}

/* ---- reporting in cell order ---- */

static void flush_in_order(struct run *r)
{
	while (r->next_sink < r->ncells && r->ready[r->next_sink % r->nwin]) {
		struct vt_mx_result *res = &r->win[r->next_sink % r->nwin];
		r->ready[r->next_sink % r->nwin] = false;
		if (vt_outcome_failed(res->outcome))
			r->failed++;
		progress_hide(&r->pg);
		r->sink(r->ctx, res);
		r->next_sink++;
	}
}

/* No worker left and none can be started: the rest cannot run. */
static void abandon_rest(struct run *r)
{
	char detail[200];
	snprintf(detail, sizeof(detail), "no worker process: %s", r->start_err);
	while (r->next_sink < r->ncells) {
		uint64_t pos = r->next_sink;
		if (!r->ready[pos % r->nwin])
			cell_lost(r, pos, VT_BROKEN, detail);
		flush_in_order(r);
	}
}

/* Replace lost workers while there is work for them. */
static void respawn(struct run *r)
{
	if (r->idle_deaths > MX_MAX_IDLE_DEATHS) {
		if (!r->start_err[0])
			snprintf(r->start_err, sizeof(r->start_err),
				 "workers keep dying before they take a cell");
		return;
	}
	for (unsigned i = 0; i < r->jobs && work_left(r); i++)
		if (r->w[i].pid <= 0 && spawn_worker(r, i) < 0)
			return;
}

static int poll_timeout(const struct run *r, int64_t t)
{
	int64_t wait = -1;
	for (unsigned i = 0; i < r->jobs; i++) {
		const struct worker *w = &r->w[i];
		if (w->pid <= 0 || !w->n)
			continue;
		int64_t left = w->started_ms + r->timeout_ms - t;
		if (left < 0)
			left = 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	if (r->pg.on && (wait < 0 || wait > MX_PROGRESS_MS))
		wait = MX_PROGRESS_MS;
	/* nothing to wait for but results: still wake up now and then */
	if (wait < 0 || wait > 1000)
		wait = 1000;
	return (int)wait;
}

static void run_loop(struct run *r)
{
	struct pollfd pfd[MX_MAX_JOBS];
	unsigned map[MX_MAX_JOBS];

	while (r->next_sink < r->ncells) {
		respawn(r);
		if (!r->alive) {
			abandon_rest(r);
			break;
		}
		for (unsigned i = 0; i < r->jobs; i++)
			feed(r, i);
		unsigned n = 0;
		for (unsigned i = 0; i < r->jobs; i++)
			if (r->w[i].pid > 0) {
				pfd[n] = (struct pollfd){ .fd = r->w[i].fd, .events = POLLIN };
				map[n++] = i;
			}
		int rc = poll(pfd, n, poll_timeout(r, now_ms()));
		if (rc < 0 && errno != EINTR)
			break;
		for (unsigned k = 0; rc > 0 && k < n; k++)
			if (pfd[k].revents)
				drain(r, map[k]);
		check_deadlines(r, now_ms());
		flush_in_order(r);
		progress_show(r, false);
	}
}

/* ---- the run ---- */

/* The cells that take part: those listed, else every selected one that
 * keep() accepts. */
static int pick_cells(struct run *r, const struct vt_mx_run_opts *o)
{
	uint64_t count = vt_mx_sel_count(r->s);
	if (o->cells) {
		r->cells = malloc((o->ncells ? o->ncells : 1) * sizeof(*r->cells));
		if (!r->cells)
			return -1;
		memcpy(r->cells, o->cells, o->ncells * sizeof(*r->cells));
		r->ncells = o->ncells;
		return 0;
	}
	r->cells = malloc((count ? count : 1) * sizeof(*r->cells));
	if (!r->cells)
		return -1;
	r->ncells = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (o->keep) {
			struct vt_mx_cell c;
			struct vt_mx_expected e;
			vt_mx_sel_cell(r->s, i, &c);
			vt_mx_oracle(r->p, &c, &e);
			if (!o->keep(o->keep_ctx, &c, &e))
				continue;
		}
		r->cells[r->ncells++] = i;
	}
	return 0;
}

static void stop_all(struct run *r)
{
	for (unsigned i = 0; i < r->jobs; i++)
		if (r->w[i].pid > 0)
			kill_worker(r, i);
}

long vt_mx_run(const struct vt_profile *p, const struct vt_mx_sel *s,
	       const struct vt_mx_run_opts *o, vt_mx_sink sink, void *ctx,
	       char *err, size_t errlen)
{
	static const struct vt_mx_run_opts defaults;
	struct run *r = calloc(1, sizeof(*r));
	long reported = -1;

	if (!o)
		o = &defaults;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->p = p;
	r->s = s;
	r->faults = &o->faults;
	r->sink = sink;
	r->ctx = ctx;
	r->parent = getpid();
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : MX_DEFAULT_TMO_MS;
	if (pick_cells(r, o)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!r->ncells) {
		reported = 0;
		goto out;
	}
	r->jobs = o->jobs ? o->jobs : 1;
	if (r->jobs > MX_MAX_JOBS)
		r->jobs = MX_MAX_JOBS;
	if (r->jobs > r->ncells)
		r->jobs = (unsigned)r->ncells;
	r->nwin = r->ncells < MX_WINDOW ? (unsigned)r->ncells : MX_WINDOW;
	r->win = calloc(r->nwin, sizeof(*r->win));
	r->ready = calloc(r->nwin, sizeof(*r->ready));
	if (!r->win || !r->ready) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < r->jobs; i++)
		r->w[i].fd = -1;

	install_handlers();
	respawn(r);
	if (!r->alive) {
		snprintf(err, errlen, "cannot start a worker: %s", r->start_err);
		restore_handlers();
		goto out;
	}
	progress_init(&r->pg, o->progress);
	run_loop(r);
	stop_all(r);
	restore_handlers();
	progress_show(r, true);
	reported = (long)r->next_sink;
	if (r->next_sink < r->ncells)
		snprintf(err, errlen, "poll: %s", strerror(errno));
out:
	free(r->cells);
	free(r->win);
	free(r->ready);
	free(r);
	return reported;
}
