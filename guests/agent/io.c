/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io.c - the I/O step of one device: real requests through the driver
 * bound to it, chosen by virtio device ID.
 *
 * The step runs in a child process.  A device that never returns a used
 * buffer leaves the child blocked (often uninterruptibly) in the driver;
 * the parent gives up after the deadline, reports a failure and goes on
 * with the other devices, so one wedged device does not silence the
 * whole report.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4

void agent_io_set(struct agent_io *r, enum agent_io_result res, const char *fmt, ...)
{
	va_list ap;
	r->result = res;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

typedef void (*io_fn)(const struct agent_opts *, const struct agent_dev *, struct agent_io *);

static io_fn io_for(int virtio_id)
{
	switch (virtio_id) {
	case VIRTIO_ID_NET:     return agent_io_net;
	case VIRTIO_ID_BLOCK:   return agent_io_blk;
	case VIRTIO_ID_CONSOLE: return agent_io_console;
	case VIRTIO_ID_RNG:     return agent_io_rng;
	default:                return NULL;
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the child's result; 0, -1 at the deadline, -2 when the child
 * ended without a whole result. */
static int collect(int fd, struct agent_io *r, unsigned timeout_s)
{
	char *p = (char *)r;
	size_t got = 0;
	long long deadline = now_ms() + (long long)timeout_s * 1000;

	while (got < sizeof(*r)) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int k = poll(&pfd, 1, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		ssize_t n = read(fd, p + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -2;
		got += (size_t)n;
	}
	return 0;
}

void agent_io(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	int fds[2];
	io_fn fn = io_for(d->virtio_id);

	memset(r, 0, sizeof(*r));
	if (!o->io) {
		agent_io_set(r, AGENT_IO_NONE, "I/O step switched off");
		return;
	}
	if (!d->vdev[0] || !strcmp(d->driver, "none")) {
		agent_io_set(r, AGENT_IO_NONE, "no driver bound");
		return;
	}
	if (!fn) {
		agent_io_set(r, AGENT_IO_NONE, "no I/O check for virtio device ID %d", d->virtio_id);
		return;
	}
	if (pipe(fds)) {
		agent_io_set(r, AGENT_IO_FAIL, "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		agent_io_set(r, AGENT_IO_FAIL, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		struct agent_io res;
		memset(&res, 0, sizeof(res));
		close(fds[0]);
		fn(o, d, &res);
		ssize_t n = write(fds[1], &res, sizeof(res));
		_exit(n == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	int rc = collect(fds[0], r, o->io_timeout_s);
	close(fds[0]);
	if (rc)
		memset(r, 0, sizeof(*r));
	if (rc == -1) {
		/* A child stuck in the driver may not die; it is not waited for. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
		agent_io_set(r, AGENT_IO_FAIL, "no answer within %u s", o->io_timeout_s);
		return;
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	if (rc) {
		if (WIFSIGNALED(ws))
			agent_io_set(r, AGENT_IO_FAIL, "I/O process killed by signal %d",
				     WTERMSIG(ws));
		else
			agent_io_set(r, AGENT_IO_FAIL, "I/O process gave no result");
		return;
	}
	r->reason[sizeof(r->reason) - 1] = '\0';
	r->detail[sizeof(r->detail) - 1] = '\0';
}
