/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_rng.c - entropy device I/O: 64 bytes read from /dev/hwrng with the
 * device's hw_random source made current.
 *
 * virtio-rng registers with the hw_random core as "virtio_rng.K", K the
 * lowest free index when its driver probed it; drivers probe bound
 * devices in virtio index order, so the K-th bound entropy device (in
 * that order) is virtio_rng.K.  The source current before the read is
 * made current again afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define RNG_BYTES     64
#define RNG_WAIT_MS   3000

static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Read RNG_BYTES from the device node, waiting up to RNG_WAIT_MS for a
 * device that is slow to fill its buffers.  0, or -1 with r set. */
static int read_rng(const char *path, unsigned char *buf, struct agent_io *r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		agent_io_set(r, AGENT_IO_FAIL, "open %s: %s", path, strerror(errno));
		return -1;
	}
	size_t got = 0;
	for (long waited = 0; got < RNG_BYTES && waited <= RNG_WAIT_MS;) {
		ssize_t n = read(fd, buf + got, RNG_BYTES - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			agent_io_set(r, AGENT_IO_FAIL, "read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		nap_ms(10);
		waited += 10;
	}
	close(fd);
	if (got < RNG_BYTES) {
		agent_io_set(r, AGENT_IO_FAIL, "%zu of %d bytes within %d ms", got, RNG_BYTES,
			     RNG_WAIT_MS);
		return -1;
	}
	return 0;
}

void agent_io_rng(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	char path[512], name[32], avail[512], current[64] = "";
	unsigned char buf[RNG_BYTES];

	snprintf(name, sizeof(name), "virtio_rng.%u", d->type_ordinal);
	if (agent_read_text(agent_path(path, sizeof(path), "%s/class/misc/hw_random/rng_available",
				       o->sysfs), avail, sizeof(avail))) {
		agent_io_set(r, AGENT_IO_FAIL, "no hw_random sources (%s)", strerror(errno));
		return;
	}
	if (!listed(avail, name)) {
		agent_io_set(r, AGENT_IO_FAIL, "%s is not a hw_random source (available: %.100s)",
			     name, avail);
		return;
	}
	agent_path(path, sizeof(path), "%s/class/misc/hw_random/rng_current", o->sysfs);
	agent_read_text(path, current, sizeof(current));
	bool switched = strcmp(current, name) != 0;
	if (switched && agent_write_text(path, name)) {
		agent_io_set(r, AGENT_IO_FAIL, "cannot make %s current: %s", name, strerror(errno));
		return;
	}
	if (read_rng(agent_path(path, sizeof(path), "%s/hwrng", o->dev), buf, r) == 0) {
		unsigned same = 1;
		for (unsigned i = 1; i < RNG_BYTES; i++)
			same += buf[i] == buf[0];
		if (same == RNG_BYTES)
			agent_io_set(r, AGENT_IO_FAIL, "%d bytes all 0x%02x", RNG_BYTES, buf[0]);
		else
			agent_io_set(r, AGENT_IO_OK, "%s", "");
		snprintf(r->detail, sizeof(r->detail), "%d bytes from %s", RNG_BYTES, name);
	}
	if (switched && current[0] && strcmp(current, "none"))
		agent_write_text(agent_path(path, sizeof(path), "%s/class/misc/hw_random/rng_current",
					    o->sysfs), current);
}
