/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proc.c - supervise external processes; nothing left running or on disk. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define MAX_PROCS 32

static struct vt_proc *live[MAX_PROCS];
static char tmpdir[256];
static bool own_tmpdir;          /* created here: removed at exit */
static pid_t tmpdir_owner;       /* ...by this process, not a forked child */
static unsigned spawned;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int vt_rmtree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void stop_all(void)
{
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if (live[i])
			vt_proc_stop(live[i], 200);
	if (own_tmpdir && tmpdir[0] && getpid() == tmpdir_owner) {
		vt_rmtree(tmpdir);
		own_tmpdir = false;
	}
}

/*
 * Empty the directory open as dirfd and everything below it, with system
 * calls only (no malloc, no stdio): safe in a signal handler.  Entries
 * are read again from the start until a pass removes nothing, since
 * removing while reading may skip some.
 */
static void rmtree_at(int dirfd, unsigned depth)
{
	char buf[2048] __attribute__((aligned(8)));
	bool removed = true;
	while (removed) {
		removed = false;
		lseek(dirfd, 0, SEEK_SET);
		long n;
		while ((n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < n;) {
				/* linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
				unsigned short reclen;
				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				const char *name = buf + off + 19;
				off += reclen;
				if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
					continue;
				if (unlinkat(dirfd, name, 0) == 0) {
					removed = true;
					continue;
				}
				if (depth >= 16)
					continue;
				int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub < 0)
					continue;
				rmtree_at(sub, depth + 1);
				close(sub);
				if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
					removed = true;
			}
		}
	}
}

int vt_proc_bind_to_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM))
		return -1;
	return getppid() == parent ? 0 : -1;
}

void vt_rmtree_signal_safe(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	rmtree_at(fd, 0);
	close(fd);
	rmdir(path);
}

void vt_proc_fatal_signal(int sig)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		struct vt_proc *p = live[i];
		/* a forked child holds a copy of the list: only its own */
		if (p && p->pid > 0 && !p->reaped && p->owner == getpid()) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
		}
	}
	if (own_tmpdir && tmpdir[0] && getpid() == tmpdir_owner)
		vt_rmtree_signal_safe(tmpdir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Interrupted (Ctrl-C, kill, a closed terminal): clean up as at exit.
 * A disposition someone already chose (ignored, or a handler) is kept. */
static void catch_fatal_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa;
		if (sigaction(sigs[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = vt_proc_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static void register_exit(void)
{
	static bool done;
	if (!done) {
		atexit(stop_all);
		done = true;
	}
}

const char *vt_proc_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	register_exit();
	const char *t = getenv("VCTS_TEST_TMPDIR");
	if (t && *t) {
		snprintf(tmpdir, sizeof(tmpdir), "%s", t);
		return tmpdir;
	}
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/vcts.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		return NULL;
	}
	own_tmpdir = true;
	tmpdir_owner = getpid();
	catch_fatal_signals();
	return tmpdir;
}

int vt_proc_path(char *buf, size_t len, const char *name)
{
	const char *d = vt_proc_tmpdir();
	if (!d)
		return -1;
	int n = snprintf(buf, len, "%s/%s", d, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void track(struct vt_proc *p)
{
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if (!live[i]) {
			live[i] = p;
			return;
		}
}

static void untrack(struct vt_proc *p)
{
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if (live[i] == p)
			live[i] = NULL;
}

static bool kept(const struct vt_proc_opts *o, int fd)
{
	for (unsigned i = 0; o && i < o->nkeep_fds; i++)
		if (o->keep_fds[i] == fd)
			return true;
	return false;
}

__attribute__((noreturn))
static void child(char *const argv[], const struct vt_proc_opts *o, int logfd, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	/* close what the harness holds open, except what is passed on */
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 4096); fd++) {
		if (kept(o, fd)) {
			int fl = fcntl(fd, F_GETFD);
			if (fl >= 0)
				fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
			continue;
		}
		close(fd);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int vt_proc_spawn(struct vt_proc *p, char *const argv[], const struct vt_proc_opts *o,
		  char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	const char *base = strrchr(argv[0], '/');
	snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : argv[0]);

	if (o && o->log_path) {
		snprintf(p->log, sizeof(p->log), "%s", o->log_path);
	} else {
		char n[64];
		snprintf(n, sizeof(n), "%s.%u.log", p->name, spawned);
		if (vt_proc_path(p->log, sizeof(p->log), n)) {
			snprintf(err, errlen, "no temporary directory for %s", p->name);
			return -1;
		}
	}
	int logfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		snprintf(err, errlen, "%s: %s", p->log, strerror(errno));
		return -1;
	}
	register_exit();
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(logfd);
		return -1;
	}
	if (pid == 0)
		child(argv, o, logfd, parent);
	close(logfd);
	setpgid(pid, pid);
	p->pid = pid;
	p->owner = getpid();
	spawned++;
	track(p);
	return 0;
}

bool vt_proc_exited(struct vt_proc *p)
{
	if (p->reaped || !p->pid)
		return true;
	pid_t w = waitpid(p->pid, &p->status, WNOHANG);
	if (w == p->pid || (w < 0 && errno == ECHILD)) {
		p->reaped = true;
		kill(-p->pid, SIGKILL);     /* anything it left in its group */
		untrack(p);
		return true;
	}
	return false;
}

void vt_file_last_line(const char *path, char *buf, size_t len)
{
	char chunk[1024];
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(chunk, sizeof(chunk), f)) {
		size_t n = strlen(chunk);
		while (n && (chunk[n - 1] == '\n' || chunk[n - 1] == '\r'))
			chunk[--n] = '\0';
		if (n)
			snprintf(buf, len, "%s", chunk);
	}
	fclose(f);
}

char *vt_file_read(const char *path, size_t *len, char *why, size_t whylen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	bool bad = ferror(f);
	fclose(f);
	if (!buf || bad) {
		snprintf(why, whylen, "%s", buf ? "cannot read" : "out of memory");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

void vt_proc_log_tail(const struct vt_proc *p, char *buf, size_t len)
{
	vt_file_last_line(p->log, buf, len);
}

int vt_proc_wait_path(struct vt_proc *p, const char *path, unsigned timeout_ms,
		      char *err, size_t errlen)
{
	uint64_t end = now_ms() + timeout_ms;
	struct stat st;

	for (;;) {
		if (stat(path, &st) == 0)
			return 0;
		if (vt_proc_exited(p)) {
			char tail[200];
			vt_proc_log_tail(p, tail, sizeof(tail));
			snprintf(err, errlen, "%s exited before creating %s%s%s", p->name, path,
				 tail[0] ? ": " : "", tail);
			return -1;
		}
		if (now_ms() >= end) {
			snprintf(err, errlen, "%s did not create %s within %u ms", p->name, path,
				 timeout_ms);
			return -1;
		}
		sleep_ms(5);
	}
}

int vt_proc_wait(struct vt_proc *p, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	while (!vt_proc_exited(p)) {
		if (now_ms() >= end)
			return -1;
		sleep_ms(2);
	}
	return 0;
}

void vt_proc_stop(struct vt_proc *p, unsigned grace_ms)
{
	if (!p->pid || p->reaped) {
		untrack(p);
		return;
	}
	kill(-p->pid, SIGTERM);
	kill(p->pid, SIGTERM);
	if (vt_proc_wait(p, grace_ms)) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
		p->reaped = true;
	}
	kill(-p->pid, SIGKILL);
	untrack(p);
}
