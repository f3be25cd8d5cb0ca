/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.h - external processes the harness starts (QEMU, vhost-user
 * backends, DPDK): each in its own process group, with stdin from
 * /dev/null and stdout+stderr captured in a log file, killed by pid on
 * every exit path.
 *
 * Three layers make sure nothing is left running:
 *  - vt_proc_stop() (TERM, a grace period, then KILL to the whole group);
 *  - an atexit hook that stops every process still registered;
 *  - PR_SET_PDEATHSIG(SIGKILL) in the child, so a harness process that is
 *    killed outright (a test timeout) takes its children with it.
 * Temporary files live under vt_proc_tmpdir(), a directory private to the
 * running test (the runner gives every test its own TMPDIR and removes it
 * afterwards).
 */
#ifndef VCTS_PROC_H
#define VCTS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vt_proc {
	pid_t pid;                 /* 0 when not running                  */
	pid_t owner;               /* the process that started it         */
	char name[32];             /* for messages: basename of argv[0]   */
	char log[256];             /* stdout+stderr of the process        */
	int status;                /* wait status once reaped             */
	bool reaped;
};

struct vt_proc_opts {
	const char *log_path;      /* NULL: <tmpdir>/<name>.<n>.log         */
	const int *keep_fds;       /* fds to pass on (same numbers), or NULL */
	unsigned nkeep_fds;
};

/* A directory for this test's sockets and images: $TMPDIR (set per test
 * by the runner) or a fresh one under /tmp removed at exit.  Returns the
 * path (static storage) or NULL. */
const char *vt_proc_tmpdir(void);

/* Path of a file inside vt_proc_tmpdir(): writes "<tmpdir>/<name>". */
int vt_proc_path(char *buf, size_t len, const char *name);

/* Start argv[0] (searched in PATH) with argv.  Returns 0, or -1 with a
 * one-line reason in err. */
int vt_proc_spawn(struct vt_proc *p, char *const argv[], const struct vt_proc_opts *o,
		  char *err, size_t errlen);

/* Has the process exited?  Reaps it if so. */
bool vt_proc_exited(struct vt_proc *p);

/* Wait up to timeout_ms for `path` to exist (a socket the process
 * creates).  Returns 0, or -1 with a reason in err: timed out, or the
 * process died first (its log's last line is quoted). */
int vt_proc_wait_path(struct vt_proc *p, const char *path, unsigned timeout_ms,
		      char *err, size_t errlen);

/* Wait up to timeout_ms for the process to exit by itself.  Returns 0 if
 * it did (status in p->status), -1 otherwise. */
int vt_proc_wait(struct vt_proc *p, unsigned timeout_ms);

/* Stop: SIGTERM to the group, up to grace_ms, then SIGKILL; reap. */
void vt_proc_stop(struct vt_proc *p, unsigned grace_ms);

/* Killed by sig: kill every process still registered, remove the private
 * directory, then die of sig.  Async-signal-safe: the handler vcts installs
 * for SIGINT, SIGTERM and SIGHUP once it has a private directory, and what
 * other handlers call last instead of re-raising sig themselves. */
void vt_proc_fatal_signal(int sig);

/* In a forked child of `parent` that does not exec: be sent SIGTERM when
 * the parent dies (the handler above then stops what the child started).
 * Returns -1 when the parent is already gone. */
int vt_proc_bind_to_parent(pid_t parent);

/* The same with system calls only, for a signal handler; no result. */
void vt_rmtree_signal_safe(const char *path);

/* Remove a directory tree (nftw, no symlinks followed).  Returns 0 or -1. */
int vt_rmtree(const char *path);

/* The last non-empty line of a file (a log, for verdicts), into buf;
 * empty when the file cannot be read. */
void vt_file_last_line(const char *path, char *buf, size_t len);
/* A whole file in a malloc'd buffer with a NUL after its *len bytes, or
 * NULL with the reason in why ("cannot open: ...", "cannot read", "out of memory"). */
char *vt_file_read(const char *path, size_t *len, char *why, size_t whylen);
/* The last line of the process log (for verdicts), into buf. */
void vt_proc_log_tail(const struct vt_proc *p, char *buf, size_t len);

#endif
