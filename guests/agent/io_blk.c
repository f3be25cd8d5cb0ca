/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_blk.c - block device I/O: a pattern written to the first sectors of
 * the disk with O_DIRECT (so every request reaches the device), a flush,
 * and the same sectors read back and compared.  Three 4 KiB requests and
 * one 64 KiB request (which the driver splits into several descriptors).
 * The pattern depends on a per-run seed, so data left by an earlier run
 * cannot pass.  The disk's contents are overwritten: only scratch disks
 * belong in a test guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define ALIGN      4096
#define MAX_REQ    (64 * 1024)

static const struct { uint64_t off; size_t len; } requests[] = {
	{ 0, 4096 }, { 4096, 4096 }, { 8192, 4096 }, { 65536, 65536 },
};
#define NREQ (sizeof(requests) / sizeof(requests[0]))

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The pattern of the disk bytes [off, off + len). */
static void fill(uint64_t *buf, uint64_t off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len / 8; i++)
		buf[i] = mix(seed ^ (off / 8 + i));
}

static uint64_t run_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mix((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
}

/* Open the disk for direct I/O; a file system without O_DIRECT (a test
 * on a host) gets buffered I/O and a note. */
static int open_disk(const char *path, bool ro, bool *direct)
{
	int mode = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = open(path, mode | O_DIRECT);
	*direct = fd >= 0;
	if (fd < 0 && errno == EINVAL)
		fd = open(path, mode);
	return fd;
}

static int write_all(int fd, const uint64_t *buf, uint64_t off, size_t len, struct agent_io *r)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);
	if (n == (ssize_t)len)
		return 0;
	agent_io_set(r, AGENT_IO_FAIL, "write of %zu bytes at %llu: %s", len,
		     (unsigned long long)off, n < 0 ? strerror(errno) : "short write");
	return -1;
}

static int read_all(int fd, uint64_t *buf, uint64_t off, size_t len, struct agent_io *r)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);
	if (n == (ssize_t)len)
		return 0;
	agent_io_set(r, AGENT_IO_FAIL, "read of %zu bytes at %llu: %s", len,
		     (unsigned long long)off, n < 0 ? strerror(errno) : "short read");
	return -1;
}

static int compare(const uint64_t *got, const uint64_t *want, uint64_t off, size_t len,
		   struct agent_io *r)
{
	for (size_t i = 0; i < len / 8; i++)
		if (got[i] != want[i]) {
			agent_io_set(r, AGENT_IO_FAIL, "read back differs at byte %llu",
				     (unsigned long long)(off + i * 8));
			return -1;
		}
	return 0;
}

/* Requests [0, n) write, flush, read back; or read only. */
static void exercise(int fd, unsigned n, bool ro, uint64_t *want, uint64_t *got,
		     struct agent_io *r)
{
	uint64_t seed = run_seed();
	for (unsigned i = 0; i < n && !ro; i++) {
		fill(want, requests[i].off, requests[i].len, seed);
		if (write_all(fd, want, requests[i].off, requests[i].len, r))
			return;
	}
	if (!ro && fdatasync(fd)) {
		agent_io_set(r, AGENT_IO_FAIL, "flush: %s", strerror(errno));
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (read_all(fd, got, requests[i].off, requests[i].len, r))
			return;
		fill(want, requests[i].off, requests[i].len, seed);
		if (!ro && compare(got, want, requests[i].off, requests[i].len, r))
			return;
	}
	agent_io_set(r, AGENT_IO_OK, "%s", "");
}

/* The disk of the virtio device: its name, capacity and read-only flag.
 * 0, or -1 with the reason in r. */
static int find_disk(const struct agent_opts *o, const struct agent_dev *d, char *disk,
		     size_t len, uint64_t *sectors, uint64_t *ro, struct agent_io *r)
{
	char path[512];

	agent_path(path, sizeof(path), "%s/bus/virtio/devices/%s/block", o->sysfs, d->vdev);
	if (agent_first_entry(path, disk, len)) {
		agent_io_set(r, AGENT_IO_FAIL, "no block device under %s", d->vdev);
		return -1;
	}
	if (agent_read_num(agent_path(path, sizeof(path), "%s/bus/virtio/devices/%s/block/%s/size",
				      o->sysfs, d->vdev, disk), sectors)) {
		agent_io_set(r, AGENT_IO_FAIL, "%s: capacity unreadable", disk);
		return -1;
	}
	*ro = 0;
	agent_read_num(agent_path(path, sizeof(path), "%s/bus/virtio/devices/%s/block/%s/ro",
				  o->sysfs, d->vdev, disk), ro);
	return 0;
}

void agent_io_blk(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	char path[512], disk[64];
	uint64_t sectors, ro;
	uint64_t *want = NULL, *got = NULL;
	bool direct;

	if (find_disk(o, d, disk, sizeof(disk), &sectors, &ro, r))
		return;
	unsigned n = 0;
	while (n < NREQ && requests[n].off + requests[n].len <= sectors * 512)
		n++;
	if (!n) {
		agent_io_set(r, AGENT_IO_FAIL, "%s: %llu sectors, too small for a 4 KiB request",
			     disk, (unsigned long long)sectors);
		return;
	}
	int fd = open_disk(agent_path(path, sizeof(path), "%s/%s", o->dev, disk), ro, &direct);
	if (fd < 0) {
		agent_io_set(r, AGENT_IO_FAIL, "open %s: %s", path, strerror(errno));
		return;
	}
	if (posix_memalign((void **)&want, ALIGN, MAX_REQ) ||
	    posix_memalign((void **)&got, ALIGN, MAX_REQ)) {
		agent_io_set(r, AGENT_IO_FAIL, "out of memory");
	} else {
		exercise(fd, n, ro, want, got, r);
		unsigned small = n < 3 ? n : 3;
		snprintf(r->detail, sizeof(r->detail), "%s: %u x 4 KiB%s %s%s", disk, small,
			 n > 3 ? " + 1 x 64 KiB" : "",
			 ro ? "read (read-only disk)" : "written, flushed, read back",
			 direct ? " (O_DIRECT)" : " (buffered: no O_DIRECT here)");
	}
	free(want);
	free(got);
	close(fd);
}
