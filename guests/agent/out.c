/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * out.c - the channel the report goes out on: the guest's second serial
 * port (or a file, for tests on a host).  A terminal is set raw: no
 * newline becomes CR LF, nothing is echoed, no flow control, so the host
 * reads exactly the bytes written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/serial.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

/* A serial port the kernel has a node for but no UART behind (a machine
 * with one serial port, such as microvm, still has ttyS1): writes to it
 * fail, so it counts as absent. */
static bool no_uart(int fd)
{
	struct serial_struct ss;
	return ioctl(fd, TIOCGSERIAL, &ss) == 0 && ss.type == PORT_UNKNOWN;
}

static void make_raw(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &t))
		return;                   /* not a terminal */
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~(tcflag_t)CRTSCTS;
	cfsetospeed(&t, B115200);
	cfsetispeed(&t, B115200);
	tcsetattr(fd, TCSANOW, &t);
}

FILE *agent_out_open(const char *path)
{
	int fd;
	if (!strcmp(path, "-")) {
		fd = dup(STDOUT_FILENO);     /* as it is: it may be the console */
	} else {
		fd = open(path, O_WRONLY | O_NOCTTY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0 && no_uart(fd)) {
			close(fd);
			errno = ENODEV;
			return NULL;
		}
		if (fd >= 0)
			make_raw(fd);
	}
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int agent_out_close(FILE *f)
{
	int rc = fflush(f) ? -1 : 0;
	int fd = fileno(f);
	if (isatty(fd))
		tcdrain(fd);
	else
		fsync(fd);              /* EINVAL on a pipe: nothing to sync */
	if (ferror(f))
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}
