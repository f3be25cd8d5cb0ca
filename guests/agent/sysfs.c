/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sysfs.c - the small readers and writers of sysfs attribute files the agent needs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

char *agent_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

long agent_read_bin(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}

int agent_read_text(const char *path, char *buf, size_t len)
{
	if (!len)
		return -1;
	long n = agent_read_bin(path, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -1;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	return 0;
}

int agent_read_num(const char *path, uint64_t *val)
{
	char text[64], *end;
	if (agent_read_text(path, text, sizeof(text)))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || end == text || *end) {
		errno = EINVAL;
		return -1;
	}
	*val = v;
	return 0;
}

int agent_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int e = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* The link's target with trailing slashes removed, and where its last
 * component starts. */
static int link_target(const char *path, char *target, size_t len, char **last)
{
	ssize_t n = readlink(path, target, len - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	char *slash = strrchr(target, '/');
	*last = slash ? slash + 1 : target;
	return 0;
}

static int copy_name(char *buf, size_t len, const char *name)
{
	if (!*name || strlen(name) >= len)
		return -1;
	strcpy(buf, name);
	return 0;
}

int agent_link_name(const char *path, char *buf, size_t len)
{
	char target[4096], *last;
	if (link_target(path, target, sizeof(target), &last))
		return -1;
	return copy_name(buf, len, last);
}

int agent_link_parent(const char *path, char *buf, size_t len)
{
	char target[4096], *last;
	if (link_target(path, target, sizeof(target), &last) || last == target)
		return -1;
	last[-1] = '\0';
	char *slash = strrchr(target, '/');
	return copy_name(buf, len, slash ? slash + 1 : target);
}

int agent_first_entry(const char *dir, char *buf, size_t len)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), rc = -1;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (rc && strcmp(name, ".") && strcmp(name, ".."))
			rc = copy_name(buf, len, name);
		free(list[i]);
	}
	free(list);
	return rc;
}
