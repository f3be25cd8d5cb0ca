/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_net.c - network device I/O, the least of it: the interface the
 * virtio_net driver made is brought up and must report carrier (the link
 * is up without VIRTIO_NET_F_STATUS, and with it when the device says
 * so).  No packets are sent.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define CARRIER_WAIT_MS 3000

static int bring_up(const char *ifname, struct agent_io *r)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		agent_io_set(r, AGENT_IO_FAIL, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.15s", ifname);
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc)
		agent_io_set(r, AGENT_IO_FAIL, "%s up: %s", ifname, strerror(errno));
	close(s);
	return rc ? -1 : 0;
}

void agent_io_net(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	char path[512], ifname[IF_NAMESIZE], carrier[8] = "";

	if (agent_first_entry(agent_path(path, sizeof(path), "%s/bus/virtio/devices/%s/net",
					 o->sysfs, d->vdev), ifname, sizeof(ifname))) {
		agent_io_set(r, AGENT_IO_FAIL, "no network interface under %s", d->vdev);
		return;
	}
	if (bring_up(ifname, r))
		return;
	agent_path(path, sizeof(path), "%s/class/net/%s/carrier", o->sysfs, ifname);
	for (long waited = 0; waited <= CARRIER_WAIT_MS; waited += 20) {
		if (agent_read_text(path, carrier, sizeof(carrier)) == 0 && !strcmp(carrier, "1"))
			break;
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	snprintf(r->detail, sizeof(r->detail), "%s up, carrier %s", ifname,
		 carrier[0] ? carrier : "unreadable");
	if (strcmp(carrier, "1"))
		agent_io_set(r, AGENT_IO_FAIL, "%s: no carrier within %d ms", ifname, CARRIER_WAIT_MS);
	else
		agent_io_set(r, AGENT_IO_OK, "%s", "");
}
