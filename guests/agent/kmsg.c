/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmsg.c - what the kernel said about a virtio device: its first message
 * at warning level or worse, read from the kernel log (/dev/kmsg) whatever
 * the console's log level let through.  A driver that refuses a device
 * says why there: "virtio_blk virtio3: device must provide
 * VIRTIO_F_VERSION_1", "virtio_balloon virtio9: virtio: device refuses
 * features: 3".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define KMSG_WARNING 4             /* log levels 0..4: emergency .. warning */
#define KMSG_RECORD  2048          /* one record, dictionary lines included */

/* One record "PRIO,SEQ,TIME,FLAGS;TEXT\n[ KEY=VALUE\n]...": its text, if
 * its level is warning or worse and it names the device ("... virtio3: "). */
static bool take_record(char *rec, const char *key, char *buf, size_t len)
{
	unsigned prio;
	char *text = strchr(rec, ';');
	if (!text || sscanf(rec, "%u,", &prio) != 1 || (prio & 7) > KMSG_WARNING)
		return false;
	text++;
	text[strcspn(text, "\n")] = '\0';
	if (!strstr(text, key))
		return false;
	snprintf(buf, len, "%s", text);
	return true;
}

int agent_kmsg(const struct agent_opts *o, const char *vdev, char *buf, size_t len)
{
	char path[512], key[48];
	static char rec[KMSG_RECORD];

	buf[0] = '\0';
	if (!vdev[0])
		return -1;
	snprintf(key, sizeof(key), " %s: ", vdev);
	int fd = open(agent_path(path, sizeof(path), "%s/kmsg", o->dev),
		      O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;           /* records overwritten: read on */
		if (n <= 0)
			break;              /* EAGAIN: the end of the log    */
		rec[n] = '\0';
		if (take_record(rec, key, buf, len))
			break;
	}
	close(fd);
	return buf[0] ? 0 : -1;
}
