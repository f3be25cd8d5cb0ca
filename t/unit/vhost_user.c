/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the vhost-user message layer and the front-end's
 * handshake against fake peers (threads on a socketpair): fds carried as
 * SCM_RIGHTS, malformed headers, deadlines, end of file, a reply to the
 * wrong request, a backend-channel request that arrives while a reply is
 * awaited, and peers that are not vhost-user or close mid-handshake.
 * Also the IOMMU model's lookup and unmap listener the front-end uses.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/gmem.h"
#include "harness/iommu.h"
#include "harness/transport/vhost_user_msg.h"
#include "harness/transport/vhu_front.h"
#include "unit.h"
#include "harness/virtio.h"

#define MS (1000000ull)

static uint64_t deadline_in(unsigned ms)
{
	return vhu_now_ns() + ms * MS;
}

static void pair_of(int sv[2])
{
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- framing ---------------------------------------------------------------- */

static void test_fds_round_trip(void)
{
	int sv[2], e[2];
	struct vhu_msg m, r;
	pair_of(sv);
	e[0] = eventfd(0, EFD_CLOEXEC);
	e[1] = eventfd(0, EFD_CLOEXEC);
	vhu_msg_init(&m, VHU_SET_VRING_KICK, VHU_FLAG_NEED_REPLY, sizeof(uint64_t));
	m.p.u64 = 3;
	vhu_msg_set_fds(&m, e, 2);
	CU_ASSERT_EQUAL(vhu_msg_send(sv[0], &m, deadline_in(500)), VHU_IO_OK);
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &r, deadline_in(500)), VHU_IO_OK);
	CU_ASSERT_EQUAL(r.hdr.request, VHU_SET_VRING_KICK);
	CU_ASSERT_EQUAL(r.hdr.flags, VHU_VERSION | VHU_FLAG_NEED_REPLY);
	CU_ASSERT_EQUAL(r.p.u64, 3);
	CU_ASSERT_EQUAL_FATAL(r.nfds, 2);
	/* the received fds are the same eventfds: a write shows on the other */
	uint64_t one = 1, v = 0;
	CU_ASSERT_EQUAL(write(r.fds[1], &one, 8), 8);
	CU_ASSERT_EQUAL(read(e[1], &v, 8), 8);
	CU_ASSERT_EQUAL(v, 1);
	vhu_msg_close_fds(&r);
	close(e[0]);
	close(e[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_bad_headers(void)
{
	int sv[2];
	struct vhu_msg r;
	pair_of(sv);
	/* "HTTP..." is no vhost-user header: version bits are wrong */
	CU_ASSERT_EQUAL(write(sv[0], "HTTP/1.1 400 Bad\r\n", 18), 18);
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &r, deadline_in(500)), VHU_IO_PROTO);
	close(sv[0]);
	close(sv[1]);

	pair_of(sv);
	struct vhu_hdr h = { VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 1u << 20 };
	CU_ASSERT_EQUAL(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &r, deadline_in(500)), VHU_IO_PROTO);
	close(sv[0]);
	close(sv[1]);
}

static void test_deadline_and_eof(void)
{
	int sv[2];
	struct vhu_msg r;
	pair_of(sv);
	uint64_t t0 = vhu_now_ns();
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &r, deadline_in(100)), VHU_IO_TIMEOUT);
	uint64_t took = vhu_now_ns() - t0;
	CU_ASSERT_TRUE(took >= 90 * MS && took < 2000 * MS);
	/* half a message, then the peer goes away */
	struct vhu_hdr h = { VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 8 };
	CU_ASSERT_EQUAL(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	CU_ASSERT_EQUAL(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &r, deadline_in(500)), VHU_IO_EOF);
	close(sv[1]);
}

/* ---- the session ----------------------------------------------------------------- */

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
	struct vhu_msg m;
	vhu_msg_init(&m, req, VHU_FLAG_REPLY, 8);
	m.p.u64 = v;
	vhu_msg_send(fd, &m, deadline_in(500));
}

static void test_session_queue_and_order(void)
{
	int sv[2], bc[2];
	struct vhu_session s;
	struct vhu_msg m, r, q;
	pair_of(sv);
	pair_of(bc);
	CU_ASSERT_EQUAL_FATAL(vhu_session_init(&s, sv[0], 500), 0);
	vhu_session_set_backend(&s, bc[0]);
	s.reply_ack = true;

	/* the backend's miss is on its way before the reply */
	struct vhu_msg miss;
	vhu_msg_init(&miss, VHU_BACKEND_IOTLB_MSG, 0, sizeof(struct vhu_iotlb));
	miss.p.iotlb.iova = 0x123000;
	miss.p.iotlb.type = VHU_IOTLB_MISS;
	CU_ASSERT_EQUAL(vhu_msg_send(bc[1], &miss, deadline_in(500)), VHU_IO_OK);
	reply_u64(sv[1], VHU_GET_FEATURES, 0x1234);
	vhu_msg_init(&m, VHU_GET_FEATURES, 0, 0);
	CU_ASSERT_EQUAL_FATAL(vhu_session_call(&s, &m, &r), 0);
	CU_ASSERT_EQUAL(r.p.u64, 0x1234);
	/* the request waits in the queue; nothing else */
	CU_ASSERT_EQUAL(vhu_session_backend_next(&s, &q), 1);
	CU_ASSERT_EQUAL(q.hdr.request, VHU_BACKEND_IOTLB_MSG);
	CU_ASSERT_EQUAL(q.p.iotlb.iova, 0x123000);
	CU_ASSERT_EQUAL(vhu_session_backend_next(&s, &q), 0);

	/* drain what the session sent to the fake backend */
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &q, deadline_in(500)), VHU_IO_OK);

	/* a reply to another request ends the session, never matches */
	reply_u64(sv[1], VHU_GET_PROTOCOL_FEATURES, 1);
	vhu_msg_init(&m, VHU_GET_QUEUE_NUM, 0, 0);
	CU_ASSERT_EQUAL(vhu_session_call(&s, &m, &r), -1);
	CU_ASSERT_TRUE(s.dead);
	CU_ASSERT_PTR_NOT_NULL(strstr(s.why, "expected the reply to GET_QUEUE_NUM"));
	/* and stays dead */
	CU_ASSERT_EQUAL(vhu_session_call(&s, &m, &r), -1);
	vhu_session_fini(&s);
	close(sv[1]);
	close(bc[1]);
}

static void test_session_ack_and_timeout(void)
{
	int sv[2];
	struct vhu_session s;
	struct vhu_msg m, q;
	pair_of(sv);
	CU_ASSERT_EQUAL_FATAL(vhu_session_init(&s, sv[0], 150), 0);
	s.reply_ack = true;
	reply_u64(sv[1], VHU_SET_OWNER, 5);
	vhu_msg_init(&m, VHU_SET_OWNER, VHU_FLAG_NEED_REPLY, 0);
	CU_ASSERT_EQUAL(vhu_session_call_ack(&s, &m), 5);
	CU_ASSERT_EQUAL(vhu_msg_recv(sv[1], &q, deadline_in(500)), VHU_IO_OK);
	/* without NEED_REPLY nothing is awaited */
	vhu_msg_init(&m, VHU_SET_OWNER, 0, 0);
	CU_ASSERT_EQUAL(vhu_session_call_ack(&s, &m), 0);
	/* a reply that never comes: dead after the deadline */
	vhu_msg_init(&m, VHU_GET_FEATURES, 0, 0);
	CU_ASSERT_EQUAL(vhu_session_call(&s, &m, NULL), -1);
	CU_ASSERT_EQUAL(s.dead_io, VHU_IO_TIMEOUT);
	vhu_session_fini(&s);
	close(sv[1]);
}

/* ---- the front-end against fake peers ------------------------------------------- */

enum peer_mode { PEER_CLOSE, PEER_GARBAGE, PEER_FEATURES_THEN_CLOSE, PEER_SILENT, PEER_MINIMAL };

struct peer {
	int fd;
	enum peer_mode mode;
	pthread_t th;
};

/* A minimal backend: VERSION_1 and protocol features (REPLY_ACK,
 * BACKEND_REQ); it sends an IOTLB miss on the backend channel before it
 * acks SET_BACKEND_REQ_FD, then answers until the front-end goes away. */
static void *peer_main(void *arg)
{
	struct peer *pr = arg;
	struct vhu_msg m;
	int chan = -1;
	if (pr->mode == PEER_CLOSE)
		goto out;
	while (vhu_msg_recv(pr->fd, &m, deadline_in(3000)) == VHU_IO_OK) {
		uint32_t req = m.hdr.request;
		bool ack = m.hdr.flags & VHU_FLAG_NEED_REPLY;
		if (pr->mode == PEER_GARBAGE) {
			if (write(pr->fd, "220 smtp ready\r\n", 16) < 0)
				break;
			break;
		}
		if (pr->mode == PEER_SILENT) {
			vhu_msg_close_fds(&m);
			continue;
		}
		if (req == VHU_GET_FEATURES) {
			reply_u64(pr->fd, req, VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(30));
			continue;
		}
		if (pr->mode == PEER_FEATURES_THEN_CLOSE)
			break;
		if (req == VHU_GET_PROTOCOL_FEATURES) {
			reply_u64(pr->fd, req, VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) |
					       VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
			continue;
		}
		if (req == VHU_SET_BACKEND_REQ_FD && m.nfds == 1) {
			chan = m.fds[0];
			m.nfds = 0;
			struct vhu_msg miss;
			vhu_msg_init(&miss, VHU_BACKEND_IOTLB_MSG, 0, sizeof(struct vhu_iotlb));
			miss.p.iotlb.iova = 0x5000;
			miss.p.iotlb.perm = VHU_ACCESS_RO;
			miss.p.iotlb.type = VHU_IOTLB_MISS;
			vhu_msg_send(chan, &miss, deadline_in(500));
		}
		vhu_msg_close_fds(&m);
		if (ack)
			reply_u64(pr->fd, req, 0);
	}
out:
	if (chan >= 0)
		close(chan);
	close(pr->fd);
	return NULL;
}

static struct vt_transport *open_against(enum peer_mode mode, struct gmem *gm, struct peer *pr,
					 char *err, size_t errlen)
{
	int sv[2];
	pair_of(sv);
	pr->fd = sv[1];
	pr->mode = mode;
	pthread_create(&pr->th, NULL, peer_main, pr);
	struct vhu_front_opts o = { .path = "fake", .sock = sv[0], .device_id = VIRTIO_ID_BLOCK,
				    .gm = gm, .timeout_ms = 300 };
	return vhu_front_open(&o, err, errlen);
}

static void test_front_bad_peers(void)
{
	static const struct {
		enum peer_mode mode;
		const char *says;
	} cases[] = {
		{ PEER_CLOSE, "connection closed" },
		{ PEER_GARBAGE, "not a vhost-user message" },
		{ PEER_FEATURES_THEN_CLOSE, "GET_PROTOCOL_FEATURES" },
		{ PEER_SILENT, "no reply within the deadline" },
	};
	struct gmem_layout l;
	gmem_layout_standard(&l, 1 << 20, false);
	struct gmem *gm = gmem_create(&l, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gm);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peer pr;
		char err[256] = "";
		uint64_t t0 = vhu_now_ns();
		struct vt_transport *t = open_against(cases[i].mode, gm, &pr, err, sizeof(err));
		CU_ASSERT_PTR_NULL(t);
		CU_ASSERT_TRUE(vhu_now_ns() - t0 < 2000 * MS);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a working vhost-user backend"));
		if (!strstr(err, cases[i].says)) {
			fprintf(stderr, "case %u: '%s' lacks '%s'\n", i, err, cases[i].says);
			CU_FAIL("the error does not say what happened");
		}
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		if (t)
			t->ops->destroy(t);
		pthread_join(pr.th, NULL);
	}
	gmem_destroy(gm);
}

static void test_front_miss_while_pending(void)
{
	struct gmem_layout l;
	gmem_layout_standard(&l, 1 << 20, false);
	struct gmem *gm = gmem_create(&l, false);
	struct peer pr;
	char err[256] = "";
	struct vt_transport *t = open_against(PEER_MINIMAL, gm, &pr, err, sizeof(err));
	if (!t)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	const struct vhu_front_info *in = vhu_front_info(t);
	CU_ASSERT_EQUAL(in->protocol, VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) |
				      VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ));
	/* the miss queued during SET_BACKEND_REQ_FD is served at the next poll:
	 * ACCESS_PLATFORM is not negotiated, so it is refused */
	for (unsigned i = 0; i < 100 && !in->iotlb_misses; i++) {
		t->ops->poll(t);
		usleep(1000);
	}
	CU_ASSERT_EQUAL(in->iotlb_misses, 1);
	CU_ASSERT_EQUAL(in->iotlb_refused, 1);
	CU_ASSERT_EQUAL(in->iotlb_updates, 0);
	CU_ASSERT_TRUE(vhu_front_alive(t));
	/* the driver sees the device features without the vhost-only bit */
	CU_ASSERT_EQUAL(vt_get_device_features(t), VT_BIT(VIRTIO_F_VERSION_1));
	t->ops->destroy(t);
	pthread_join(pr.th, NULL);
	gmem_destroy(gm);
}

/* ---- the IOMMU model's side -------------------------------------------------------- */

static uint64_t seen_iova, seen_len;
static unsigned seen;

static void on_unmap(void *ctx, uint64_t iova, uint64_t len)
{
	(void)ctx;
	seen++;
	seen_iova = iova;
	seen_len = len;
}

static void test_iommu_lookup_and_listener(void)
{
	struct vt_verdict vd;
	vt_verdict_init(&vd);
	struct iommu *io = iommu_create(48, &vd);
	uint64_t gpa;
	unsigned perm;
	CU_ASSERT_EQUAL(iommu_map(io, 0x10000, 0x7000, 0x2000, IOMMU_PERM_W), 0);
	CU_ASSERT_EQUAL(iommu_lookup(io, 0x11008, &gpa, &perm), 0);
	CU_ASSERT_EQUAL(gpa, 0x8008);
	CU_ASSERT_EQUAL(perm, IOMMU_PERM_W);
	/* a miss outside the mappings records nothing */
	CU_ASSERT_EQUAL(iommu_lookup(io, 0x20000, &gpa, &perm), -1);
	CU_ASSERT_EQUAL(iommu_lookup(io, 1ull << 50, &gpa, &perm), -1);
	CU_ASSERT_EQUAL(vd.n, 0);
	iommu_set_unmap_listener(io, on_unmap, NULL);
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x10000, 0x2000), 0);
	CU_ASSERT_EQUAL(seen, 1);
	CU_ASSERT_EQUAL(seen_iova, 0x10000);
	CU_ASSERT_EQUAL(seen_len, 0x2000);
	iommu_set_unmap_listener(io, NULL, NULL);
	CU_ASSERT_EQUAL(iommu_map(io, 0x10000, 0x7000, 0x1000, IOMMU_PERM_R), 0);
	CU_ASSERT_EQUAL(iommu_unmap(io, 0x10000, 0x1000), 0);
	CU_ASSERT_EQUAL(seen, 1);
	iommu_destroy(io);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "fds ride with the header", test_fds_round_trip },
		{ "malformed headers", test_bad_headers },
		{ "deadline and end of file", test_deadline_and_eof },
		{ "backend channel queued while a reply is awaited", test_session_queue_and_order },
		{ "REPLY_ACK and a reply that never comes", test_session_ack_and_timeout },
		{ "front-end against peers that are not backends", test_front_bad_peers },
		{ "front-end serves a miss queued mid-handshake", test_front_miss_while_pending },
		{ "IOMMU lookup and unmap listener", test_iommu_lookup_and_listener },
	};
	return UNIT_RUN("vhost-user", tests);
}
