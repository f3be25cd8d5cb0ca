/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_console.c - console device I/O, best effort: one line written to
 * each port of the device.
 *
 * virtio_console makes every port a child vportNpM of the virtio device
 * and a character device of that name; a console port refuses that node
 * (ENXIO) and is reached as an hvc terminal instead, numbered in the order
 * console ports appeared (hvc0 for the first console device, as a rule).
 * A port whose host side is not connected cannot take data (EAGAIN): no
 * I/O, not a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define MAX_PORTS 8

enum port_write { PORT_WRITTEN, PORT_DEAF, PORT_REPORT, PORT_FAILED };

/* One line to the port.  PORT_DEAF: nobody listens on the host side;
 * PORT_REPORT: the port carries the agent's report and is left alone;
 * PORT_FAILED: errno says why. */
static enum port_write write_line(const char *path, const char *line,
				  unsigned long long report_rdev)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return PORT_FAILED;
	if (report_rdev && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	    st.st_rdev == report_rdev) {
		close(fd);
		return PORT_REPORT;
	}
	ssize_t n = write(fd, line, strlen(line));
	int e = errno;
	close(fd);
	if (n == (ssize_t)strlen(line))
		return PORT_WRITTEN;
	if (n < 0 && (e == EAGAIN || e == EPIPE))
		return PORT_DEAF;
	errno = n < 0 ? e : EIO;
	return PORT_FAILED;
}

static void list_ports(const char *dir, char ports[][32], unsigned *n)
{
	struct dirent **list;
	int m = scandir(dir, &list, NULL, alphasort);
	*n = 0;
	for (int i = 0; i < m; i++) {
		const char *name = list[i]->d_name;
		if (!strncmp(name, "vport", 5) && strlen(name) < 32 && *n < MAX_PORTS)
			strcpy(ports[(*n)++], name);
		free(list[i]);
	}
	if (m >= 0)
		free(list);
}

void agent_io_console(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	char dir[512], path[600], line[400], ports[MAX_PORTS][32];
	unsigned n, count[PORT_FAILED + 1] = { 0 };
	int first_errno = 0;
	const char *first_fail = NULL;

	list_ports(agent_path(dir, sizeof(dir), "%s/bus/virtio/devices/%s/virtio-ports", o->sysfs,
			      d->vdev), ports, &n);
	if (!n) {
		agent_io_set(r, AGENT_IO_NONE, "no ports");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "vcts-agent: %s %s\n", d->name, ports[i]);
		enum port_write w = write_line(agent_path(path, sizeof(path), "%s/%s", o->dev,
							  ports[i]), line, o->out_rdev);
		if (w == PORT_FAILED && errno == ENXIO) {   /* a console port: its hvc terminal */
			w = write_line(agent_path(path, sizeof(path), "%s/hvc%u", o->dev,
						  d->type_ordinal), line, o->out_rdev);
			/* hvc numbers follow the order console ports appeared, which
			 * asynchronous probing can change: a guessed terminal that has
			 * no port behind it says nothing about this device */
			if (w == PORT_FAILED && errno == ENODEV)
				w = PORT_DEAF;
		}
		count[w]++;
		if (w == PORT_FAILED && !first_fail) {
			first_fail = ports[i];
			first_errno = errno;
		}
	}
	snprintf(r->detail, sizeof(r->detail), "%u of %u ports written%s", count[PORT_WRITTEN], n,
		 count[PORT_REPORT] ? " (the port carrying the report left alone)" : "");
	if (first_fail)
		agent_io_set(r, AGENT_IO_FAIL, "%s: %s", first_fail, strerror(first_errno));
	else if (count[PORT_WRITTEN])
		agent_io_set(r, AGENT_IO_OK, "%s", "");
	else
		agent_io_set(r, AGENT_IO_NONE, "%u ports: none connected on the host side, %u "
			     "carrying the report", count[PORT_DEAF], count[PORT_REPORT]);
}
