/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user_backend.c - drivers under test behind a vhost-user socket,
 * judged by the checking device (area "vhost-user-backend").
 *
 * The checking network device (device/net.c) serves the socket through
 * the vhost-user backend (transport/vhu_back.h); DPDK's virtio-user
 * driver, run by dpdk-testpmd in txonly mode, negotiates, places its
 * rings and transmits a steady stream of packets.  Every driver rule the
 * device catches on the way (initialisation, feature negotiation, ring
 * placement and sizes, descriptor chains, indices, notifications, the
 * virtio_net_hdr of each packet) is the verdict.  Known deviations of an
 * implementation are listed in suites/xfail/dpdk-virtio-user.tsv.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../drivers-under-test/dpdk-virtio-user/dpdk_virtio_user.h"
#include "../harness/proc.h"
#include "../harness/transport/vhost_user_msg.h"
#include "../harness/transport/vhu_back.h"
#include "suites.h"

#define TX_TARGET      4000      /* chains served before the run is enough */
#define RUN_MS         8000      /* the most we wait for them             */
#define END_MS         4000      /* testpmd's clean stop and disconnect   */

struct dpdk_cell {
	bool packed;
	uint64_t offer;              /* device-independent features offered */
};

static const struct dpdk_cell dpdk_cells[] = {
	{ .packed = false, .offer = VT_BIT(VIRTIO_F_VERSION_1) },
	{ .packed = false, .offer = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_F_INDIRECT_DESC) |
				    VT_BIT(VIRTIO_F_EVENT_IDX) },
	{ .packed = true, .offer = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_F_RING_PACKED) },
	{ .packed = true, .offer = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_F_RING_PACKED) |
				   VT_BIT(VIRTIO_F_INDIRECT_DESC) | VT_BIT(VIRTIO_F_EVENT_IDX) },
};

static const struct vt_variant dpdk_variants[] = {
	{ "split", &dpdk_cells[0] },
	{ "split-indirect-event-idx", &dpdk_cells[1] },
	{ "packed", &dpdk_cells[2] },
	{ "packed-indirect-event-idx", &dpdk_cells[3] },
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Run testpmd against the backend until the device served TX_TARGET
 * chains, testpmd died, or the session ended.  Returns false (with the
 * reason in why) when testpmd died on its own. */
static bool drive(struct vhu_back *b, struct dpdk_vu *d, char *why, size_t whylen)
{
	struct vhu_back_status st;

	for (unsigned t = 0; t < RUN_MS; t += 20) {
		vhu_back_status(b, &st);
		if (st.requests >= TX_TARGET || st.ended)
			return true;
		if (dpdk_vu_exited(d)) {
			char tail[160];
			vt_proc_log_tail(&d->proc, tail, sizeof(tail));
			snprintf(why, whylen, "dpdk-testpmd exited (status 0x%x): %s",
				 d->proc.status, tail);
			return false;
		}
		sleep_ms(20);
	}
	return true;
}

/* testpmd stopped: wait for its disconnect to end the session. */
static void wait_end(struct vhu_back *b)
{
	struct vhu_back_status st;

	for (unsigned t = 0; t < END_MS; t += 20) {
		vhu_back_status(b, &st);
		if (st.ended)
			return;
		sleep_ms(20);
	}
}

static void dpdk_transmit(const struct vt_variant *v)
{
	const struct dpdk_cell *cell = v->data;
	struct vhu_back_opts o = { .type = &vt_device_net, .offer = cell->offer };
	struct vhu_back_status st;
	struct vt_verdict vd;
	struct dpdk_vu d;
	char sock[256], err[256], why[256] = "";

	if (!dpdk_vu_available(err, sizeof(err)))
		vt_skip("%s", err);
	if (vt_proc_path(sock, sizeof(sock), "vhost-user-backend.sock"))
		vt_broken("no temporary directory");
	vt_verdict_init(&vd);
	o.vd = &vd;
	struct vhu_back *b = vhu_back_start(sock, &o, err, sizeof(err));
	if (!b)
		vt_broken("vhost-user backend: %s", err);
	struct dpdk_vu_opts dopts = { .sock = sock, .packed = cell->packed };
	if (dpdk_vu_start(&d, &dopts, err, sizeof(err))) {
		vhu_back_stop(b);
		vt_broken("%s", err);
	}
	bool alive = drive(b, &d, why, sizeof(why));
	dpdk_vu_stop(&d);
	wait_end(b);
	vhu_back_status(b, &st);
	vhu_back_stop(b);
	vt_implementation("dpdk-virtio-user", dpdk_vu_version(&d)[0] ? dpdk_vu_version(&d) : "unknown");

	vt_diag("DPDK %s: negotiated 0x%llx, protocol 0x%llx, %llu messages, %llu kicks, "
		"%llu calls, %llu chains served; session: %s", dpdk_vu_version(&d),
		(unsigned long long)st.negotiated, (unsigned long long)st.protocol,
		(unsigned long long)st.messages, (unsigned long long)st.kicks,
		(unsigned long long)st.calls, (unsigned long long)st.requests, st.why);
	/* The rules the device caught are the verdict, whatever else went on. */
	vt_assert_clean(&vd);
	if (!alive) {
		vt_diag("%s", why);
		CU_FAIL("dpdk-testpmd died while driving the device");
	}
	if (!st.connected)
		CU_FAIL("virtio-user never connected to the backend socket");
	if (st.error) {
		vt_diag("vhost-user session: %s", st.why);
		CU_FAIL("the vhost-user session ended with an error");
	}
	CU_ASSERT(st.driver_ok);
	CU_ASSERT((st.negotiated & VT_BIT(VIRTIO_F_VERSION_1)) != 0);
	if (cell->packed && !(st.negotiated & VT_BIT(VIRTIO_F_RING_PACKED)))
		CU_FAIL("packed_vq=1 but VIRTIO_F_RING_PACKED was not negotiated");
	if (st.requests < TX_TARGET) {
		vt_diag("only %llu chains served in %u ms", (unsigned long long)st.requests, RUN_MS);
		CU_FAIL("virtio-user transmitted too little through the device");
	}
}

/* ---- hostile and vanishing front-ends -------------------------------------- */

/* One message a broken front-end sends: a header, and `send` of its
 * `size` payload bytes, the first word `word0`. */
struct hostile_msg {
	uint32_t request, flags, size, send;
	uint32_t word0;
};

static const struct hostile_msg hostile_msgs[] = {
	{ VHU_GET_FEATURES, 0x2, 0, 0, 0 },                    /* header version 2      */
	{ VHU_SET_VRING_NUM, VHU_VERSION, 4, 4, 0 },           /* payload too short     */
	{ VHU_SET_MEM_TABLE, VHU_VERSION, 0x100000, 0, 0 },    /* size beyond any payload */
	{ VHU_SET_VRING_NUM, VHU_VERSION, 8, 8, 7 },           /* ring 7 of 2           */
	{ VHU_SET_MEM_TABLE, VHU_VERSION, 40, 40, 1 },         /* a region without fd   */
	{ 99, VHU_VERSION, 0, 0, 0 },                          /* unknown request       */
	{ VHU_SET_FEATURES, VHU_VERSION, 8, 4, 0 },            /* stops mid-payload     */
};

static const struct vt_variant hostile_variants[] = {
	{ "bad-version", &hostile_msgs[0] },
	{ "short-payload", &hostile_msgs[1] },
	{ "huge-size", &hostile_msgs[2] },
	{ "ring-out-of-range", &hostile_msgs[3] },
	{ "mem-table-without-fd", &hostile_msgs[4] },
	{ "unknown-request", &hostile_msgs[5] },
	{ "truncated", &hostile_msgs[6] },
};

#define HOSTILE_MSG_MS 300

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A backend serving the net device with a short read deadline, and a
 * connected front-end socket that already checked GET_FEATURES. */
static struct vhu_back *hostile_setup(struct vt_verdict *vd, int *sock)
{
	struct vhu_back_opts o = { .type = &vt_device_net, .offer = VT_BIT(VIRTIO_F_VERSION_1),
				   .msg_timeout_ms = HOSTILE_MSG_MS, .vd = vd };
	char path[256], err[256];
	struct vhu_msg m, r;

	vt_verdict_init(vd);
	if (vt_proc_path(path, sizeof(path), "vhost-user-backend.sock"))
		vt_broken("no temporary directory");
	struct vhu_back *b = vhu_back_start(path, &o, err, sizeof(err));
	if (!b)
		vt_broken("vhost-user backend: %s", err);
	*sock = connect_to(path);
	if (*sock < 0) {
		vhu_back_stop(b);
		vt_broken("connect %s failed", path);
	}
	uint64_t dl = vhu_now_ns() + 2000000000ull;
	vhu_msg_init(&m, VHU_GET_FEATURES, 0, 0);
	if (vhu_msg_send(*sock, &m, dl) || vhu_msg_recv(*sock, &r, dl)) {
		close(*sock);
		vhu_back_stop(b);
		vt_broken("GET_FEATURES went unanswered");
	}
	uint64_t want = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(5) | VT_BIT(VHU_F_PROTOCOL_FEATURES);
	CU_ASSERT_EQUAL(r.hdr.request, VHU_GET_FEATURES);
	CU_ASSERT((r.hdr.flags & VHU_FLAG_REPLY) != 0);
	CU_ASSERT_EQUAL(r.hdr.size, 8);
	CU_ASSERT_EQUAL(r.p.u64 & want, want);
	vhu_msg_close_fds(&r);
	return b;
}

/* Wait for the session to end; returns its status. */
static void hostile_wait(struct vhu_back *b, struct vhu_back_status *st)
{
	for (unsigned t = 0; t < 3 * HOSTILE_MSG_MS + 1000; t += 10) {
		vhu_back_status(b, st);
		if (st->ended)
			return;
		sleep_ms(10);
	}
}

/* A broken message ends the session with a reason: never a crash, never
 * a hang, nothing blamed on a driver rule. */
static void hostile_front_end(const struct vt_variant *v)
{
	const struct hostile_msg *h = v->data;
	struct vhu_back_status st;
	struct vt_verdict vd;
	uint8_t buf[12 + 64] = { 0 };
	int sock;

	struct vhu_back *b = hostile_setup(&vd, &sock);
	struct vhu_hdr hdr = { h->request, h->flags, h->size };
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &h->word0, sizeof(h->word0));
	ssize_t n = write(sock, buf, sizeof(hdr) + h->send);
	hostile_wait(b, &st);
	close(sock);
	vhu_back_stop(b);
	CU_ASSERT_EQUAL(n, (ssize_t)(sizeof(hdr) + h->send));
	vt_diag("session: %s", st.ended ? st.why : "still running");
	CU_ASSERT(st.ended);
	CU_ASSERT(st.error);
	CU_ASSERT(st.why[0] != 0);
	vt_assert_clean(&vd);
}

/* A front-end that goes away between messages ends the session cleanly. */
static void front_end_disconnect(const struct vt_variant *v)
{
	struct vhu_back_status st;
	struct vt_verdict vd;
	int sock;

	(void)v;
	struct vhu_back *b = hostile_setup(&vd, &sock);
	close(sock);
	hostile_wait(b, &st);
	vhu_back_stop(b);
	vt_diag("session: %s", st.ended ? st.why : "still running");
	CU_ASSERT(st.ended);
	CU_ASSERT(!st.error);
	vt_assert_clean(&vd);
}

static const struct vt_test tests[] = {
	{ "dpdk-virtio-user-tx", "DRV-3.1.1 DRV-2.2.1 DRV-6.1 DRV-2.7.5.2 DRV-2.7.5.3.1 "
	  "DRV-2.7.6.1 DRV-2.7.10.1 DRV-2.8.17 DRV-2.8.19 DRV-5.1.9.2.1 DRV-5.1.9.3.1",
	  VT_ROLE_DRIVER, "vhost-user-backend", 30000, dpdk_transmit, dpdk_variants,
	  VT_ARRAY_SIZE(dpdk_variants) },
	{ "hostile-front-end", "INV-transport", VT_ROLE_DRIVER, "vhost-user-backend", 0,
	  hostile_front_end, hostile_variants, VT_ARRAY_SIZE(hostile_variants) },
	{ "front-end-disconnect", "INV-transport", VT_ROLE_DRIVER, "vhost-user-backend", 0,
	  front_end_disconnect, NULL, 0 },
};

const struct vt_suite vt_suite_vhost_user_backend = {
	.area = "vhost-user-backend",
	.title = "drivers under test (DPDK virtio-user) driving the checking device over vhost-user",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
