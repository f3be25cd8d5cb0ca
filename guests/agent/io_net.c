/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_net.c - network device I/O: real frames both ways through the device.
 *
 * The interface the virtio_net driver made is brought up and must report
 * carrier (the link is up without VIRTIO_NET_F_STATUS, and with it when the
 * device says so).  Then two exchanges with QEMU's user network, the only
 * network there is (-netdev user,restrict=on: nothing reaches the host's own
 * network):
 *   1. an ARP request for the user network's host address (10.0.2.2) goes
 *      out through the transmit queue; its reply must come back through the
 *      receive queue, naming that address and our MAC;
 *   2. an ICMP echo request carrying a patterned payload goes to that
 *      address; the echo reply must carry the very same bytes back.
 * Frames are built and read whole on an AF_PACKET socket bound to the
 * interface: no address is configured on it and the kernel's own network
 * stack takes no part.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define CARRIER_WAIT_MS 3000
#define ARP_TRIES       5
#define ARP_WAIT_MS     300
#define ECHO_TRIES      3
#define ECHO_WAIT_MS    600
#define ECHO_PAYLOAD    1400        /* a frame of 1442 bytes: within MTU 1500 */

/* QEMU's user network: the guest's default address and the host's. */
static const uint8_t guest_ip[4] = { 10, 0, 2, 15 };
static const uint8_t host_ip[4] = { 10, 0, 2, 2 };

#define ETH_HLEN_     14
#define ETH_P_IP_     0x0800
#define ETH_P_ARP_    0x0806
#define ETH_P_ALL_    0x0003
#define ARP_LEN       28            /* Ethernet/IPv4 ARP payload          */
#define IP_HLEN       20
#define ICMP_HLEN     8
#define FRAME_MAX     1536

/* The interface, and what the exchanges learnt. */
struct link {
	int fd;                      /* AF_PACKET socket bound to it       */
	int ifindex;
	uint8_t mac[6];
	uint8_t host_mac[6];         /* from the ARP reply                 */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The Internet checksum (RFC 1071) over len bytes. */
static unsigned inet_sum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Bring the interface up and read its MAC. */
static int bring_up(const char *ifname, struct link *l, struct agent_io *r)
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
	if (rc == 0)
		rc = ioctl(s, SIOCGIFHWADDR, &ifr);
	if (rc)
		agent_io_set(r, AGENT_IO_FAIL, "%s up: %s", ifname, strerror(errno));
	else
		memcpy(l->mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return rc ? -1 : 0;
}

static bool wait_carrier(const struct agent_opts *o, const char *ifname, char *carrier,
			 size_t len)
{
	char path[512];
	agent_path(path, sizeof(path), "%s/class/net/%s/carrier", o->sysfs, ifname);
	for (long waited = 0; waited <= CARRIER_WAIT_MS; waited += 20) {
		if (agent_read_text(path, carrier, len) == 0 && !strcmp(carrier, "1"))
			return true;
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static int open_packet(const char *ifname, struct link *l, struct agent_io *r)
{
	l->ifindex = (int)if_nametoindex(ifname);
	l->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL_));
	if (!l->ifindex || l->fd < 0) {
		agent_io_set(r, AGENT_IO_FAIL, "packet socket on %s: %s", ifname, strerror(errno));
		return -1;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL_),
				   .sll_ifindex = l->ifindex };
	if (bind(l->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		agent_io_set(r, AGENT_IO_FAIL, "bind to %s: %s", ifname, strerror(errno));
		return -1;
	}
	return 0;
}

static int send_frame(const struct link *l, const uint8_t *f, size_t len, struct agent_io *r)
{
	ssize_t n = send(l->fd, f, len, 0);
	if (n == (ssize_t)len)
		return 0;
	agent_io_set(r, AGENT_IO_FAIL, "send of a %zu-byte frame: %s", len,
		     n < 0 ? strerror(errno) : "short");
	return -1;
}

/* The next frame the device received, until the deadline: its length, 0
 * at the deadline, -1 on an error.  Our own frames on their way out are
 * skipped. */
static long recv_frame(const struct link *l, uint8_t *f, size_t len, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		int k = poll(&p, 1, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(l->fd, f, len, 0, (struct sockaddr *)&from, &fl);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (from.sll_pkttype != PACKET_OUTGOING)
			return (long)n;
	}
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, unsigned type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
}

/* who-has host_ip tell guest_ip, broadcast. */
static size_t arp_request(const struct link *l, uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + ETH_HLEN_;
	eth_header(f, bcast, l->mac, ETH_P_ARP_);
	put16(a, 1);                 /* hardware: Ethernet   */
	put16(a + 2, ETH_P_IP_);     /* protocol: IPv4       */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);             /* request              */
	memcpy(a + 8, l->mac, 6);
	memcpy(a + 14, guest_ip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, host_ip, 4);
	return ETH_HLEN_ + ARP_LEN;
}

/* An ARP reply: host_ip is at SHA, to our MAC and address. */
static bool is_arp_reply(const struct link *l, const uint8_t *f, long n)
{
	const uint8_t *a = f + ETH_HLEN_;
	return n >= ETH_HLEN_ + ARP_LEN && get16(f + 12) == ETH_P_ARP_ && get16(a + 6) == 2 &&
	       !memcmp(a + 14, host_ip, 4) && !memcmp(a + 18, l->mac, 6) &&
	       !memcmp(a + 24, guest_ip, 4);
}

/* ARP: out through the transmit queue, the reply back through the
 * receive queue.  The number of tries it took, or -1. */
static int exchange_arp(struct link *l, struct agent_io *r)
{
	uint8_t f[FRAME_MAX];
	for (int t = 1; t <= ARP_TRIES; t++) {
		uint8_t req[64];
		if (send_frame(l, req, arp_request(l, req), r))
			return -1;
		long long deadline = now_ms() + ARP_WAIT_MS;
		long n;
		while ((n = recv_frame(l, f, sizeof(f), deadline)) > 0) {
			if (is_arp_reply(l, f, n)) {
				memcpy(l->host_mac, f + ETH_HLEN_ + 8, 6);
				return t;
			}
		}
		if (n < 0) {
			agent_io_set(r, AGENT_IO_FAIL, "receive: %s", strerror(errno));
			return -1;
		}
	}
	agent_io_set(r, AGENT_IO_FAIL, "no ARP reply for %u.%u.%u.%u after %d requests of "
		     "%d ms", host_ip[0], host_ip[1], host_ip[2], host_ip[3], ARP_TRIES,
		     ARP_WAIT_MS);
	return -1;
}

static uint8_t pattern(unsigned i, unsigned seq)
{
	return (uint8_t)(i * 131u + seq * 17u + (i >> 8));
}

/* IPv4 + ICMP echo request number seq with the patterned payload. */
static size_t echo_request(const struct link *l, uint8_t *f, unsigned seq)
{
	uint8_t *ip = f + ETH_HLEN_, *icmp = ip + IP_HLEN;
	size_t icmp_len = ICMP_HLEN + ECHO_PAYLOAD;
	eth_header(f, l->host_mac, l->mac, ETH_P_IP_);
	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45;                            /* version 4, 5 words */
	put16(ip + 2, (unsigned)(IP_HLEN + icmp_len));
	put16(ip + 4, 0x5600 + seq);             /* identification     */
	ip[8] = 64;                              /* TTL                */
	ip[9] = 1;                               /* ICMP               */
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, host_ip, 4);
	put16(ip + 10, inet_sum(ip, IP_HLEN));
	memset(icmp, 0, ICMP_HLEN);
	icmp[0] = 8;                             /* echo request       */
	put16(icmp + 4, 0x7663);                 /* identifier "vc"    */
	put16(icmp + 6, seq);
	for (unsigned i = 0; i < ECHO_PAYLOAD; i++)
		icmp[ICMP_HLEN + i] = pattern(i, seq);
	put16(icmp + 2, inet_sum(icmp, icmp_len));
	return ETH_HLEN_ + IP_HLEN + icmp_len;
}

/* Is it the echo reply to request seq?  1 yes and intact, 0 not it, -1
 * it is but its payload differs (the offset in *bad). */
static int check_echo_reply(const uint8_t *f, long n, unsigned seq, unsigned *bad)
{
	const uint8_t *ip = f + ETH_HLEN_;
	if (n < ETH_HLEN_ + IP_HLEN + ICMP_HLEN || get16(f + 12) != ETH_P_IP_ ||
	    (ip[0] >> 4) != 4 || ip[9] != 1 || memcmp(ip + 12, host_ip, 4) ||
	    memcmp(ip + 16, guest_ip, 4))
		return 0;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	const uint8_t *icmp = ip + ihl;
	if (ihl < IP_HLEN || n < (long)(ETH_HLEN_ + ihl + ICMP_HLEN) || icmp[0] != 0 ||
	    get16(icmp + 4) != 0x7663 || get16(icmp + 6) != seq)
		return 0;
	long have = n - (long)(ETH_HLEN_ + ihl + ICMP_HLEN);
	for (unsigned i = 0; i < ECHO_PAYLOAD; i++) {
		if (i >= have || icmp[ICMP_HLEN + i] != pattern(i, seq)) {
			*bad = i;
			return -1;
		}
	}
	return 1;
}

/* ICMP echo: the payload out and back intact.  The tries it took, or -1. */
static int exchange_echo(const struct link *l, struct agent_io *r)
{
	static uint8_t f[FRAME_MAX], req[FRAME_MAX];
	for (unsigned t = 1; t <= ECHO_TRIES; t++) {
		if (send_frame(l, req, echo_request(l, req, t), r))
			return -1;
		long long deadline = now_ms() + ECHO_WAIT_MS;
		long n;
		while ((n = recv_frame(l, f, sizeof(f), deadline)) > 0) {
			unsigned bad = 0;
			int k = check_echo_reply(f, n, t, &bad);
			if (k > 0)
				return (int)t;
			if (k < 0) {
				agent_io_set(r, AGENT_IO_FAIL, "echo reply %u: payload differs "
					     "from byte %u of %d (frame of %ld bytes)", t, bad,
					     ECHO_PAYLOAD, n);
				return -1;
			}
		}
		if (n < 0) {
			agent_io_set(r, AGENT_IO_FAIL, "receive: %s", strerror(errno));
			return -1;
		}
	}
	agent_io_set(r, AGENT_IO_FAIL, "no echo reply from %u.%u.%u.%u after %d requests of "
		     "%d ms", host_ip[0], host_ip[1], host_ip[2], host_ip[3], ECHO_TRIES,
		     ECHO_WAIT_MS);
	return -1;
}

void agent_io_net(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r)
{
	char path[512], ifname[IF_NAMESIZE], carrier[8] = "";
	struct link l = { .fd = -1 };

	if (agent_first_entry(agent_path(path, sizeof(path), "%s/bus/virtio/devices/%s/net",
					 o->sysfs, d->vdev), ifname, sizeof(ifname))) {
		agent_io_set(r, AGENT_IO_FAIL, "no network interface under %s", d->vdev);
		return;
	}
	if (bring_up(ifname, &l, r))
		return;
	bool up = wait_carrier(o, ifname, carrier, sizeof(carrier));
	snprintf(r->detail, sizeof(r->detail), "%s up, carrier %s", ifname,
		 carrier[0] ? carrier : "unreadable");
	if (!up) {
		agent_io_set(r, AGENT_IO_FAIL, "%s: no carrier within %d ms", ifname,
			     CARRIER_WAIT_MS);
		return;
	}
	int arp = -1, echo = -1;
	if (open_packet(ifname, &l, r) == 0 && (arp = exchange_arp(&l, r)) > 0)
		echo = exchange_echo(&l, r);
	if (l.fd >= 0)
		close(l.fd);
	if (arp > 0) {
		char tail[64] = "";
		if (echo > 0)
			snprintf(tail, sizeof(tail), "; echo: %d bytes back intact (request %d)",
				 ECHO_PAYLOAD, echo);
		snprintf(r->detail, sizeof(r->detail), "%s up, carrier 1; ARP: %u.%u.%u.%u is "
			 "%02x:%02x:%02x:%02x:%02x:%02x (request %d)%s", ifname, host_ip[0],
			 host_ip[1], host_ip[2], host_ip[3], l.host_mac[0], l.host_mac[1],
			 l.host_mac[2], l.host_mac[3], l.host_mac[4], l.host_mac[5], arp, tail);
	}
	if (echo > 0)
		agent_io_set(r, AGENT_IO_OK, "%s", "");
}
