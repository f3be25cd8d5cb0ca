/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhu_back.c - the vhost-user backend: one front-end session served by
 * the checking device on its own thread (see vhu_back.h for the mapping
 * of messages to device operations).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user_msg.h"
#include "vhu_back.h"

#define MAX_VRINGS          8
#define POLL_TICK_MS        100
#define DEFAULT_MSG_MS      2000
#define DEFAULT_ACCEPT_MS   20000
#define STATUS_LIVE         (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
			     VIRTIO_STATUS_FEATURES_OK)

/* Protocol features this backend offers: acknowledgements of requests
 * (REPLY_ACK), the configuration space (CONFIG) and a device reset
 * message (RESET_DEVICE). */
#define PROTOCOL_OFFER      (VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) | \
			     VT_BIT(VHU_PROTOCOL_F_CONFIG) | \
			     VT_BIT(VHU_PROTOCOL_F_RESET_DEVICE))

/* Feature bits that belong to the vhost-user protocol, not the driver. */
#define VHOST_BITS          (VT_BIT(VHU_F_PROTOCOL_FEATURES) | VT_BIT(VHU_F_LOG_ALL))

struct vring {
	uint16_t num;
	uint32_t base;
	bool addr_set;
	uint64_t desc_ua, avail_ua, used_ua;   /* front-end user addresses */
	int kick, call;
	bool started;         /* kick fd received: the ring runs          */
	bool enabled;         /* SET_VRING_ENABLE 1 (or no protocol feats) */
	bool live;            /* handed to the device                      */
};

struct vhu_back {
	struct vhu_back_opts o;
	char path[108];
	int listen_fd, sock, stop_fd;
	pthread_t thread;
	bool thread_started;

	struct vt_device *dev;
	struct gmem_dev dma;
	struct gmem *gm;
	struct vhu_mem_region regions[VHU_MAX_REGIONS];
	unsigned nregions;
	unsigned nq;
	struct vring vr[MAX_VRINGS];

	uint64_t protocol;    /* negotiated protocol features */
	bool protocol_set;
	bool features_ok;     /* FEATURES_OK played since the last reset */
	bool f_protocol;      /* VHOST_USER_F_PROTOCOL_FEATURES accepted: rings
				 start disabled until SET_VRING_ENABLE */

	pthread_mutex_t lock; /* guards st */
	struct vhu_back_status st;
};

/* ---- session state --------------------------------------------------------- */

static void set_flag(struct vhu_back *b, bool *flag)
{
	pthread_mutex_lock(&b->lock);
	*flag = true;
	pthread_mutex_unlock(&b->lock);
}

/* End the session (first reason wins). */
static void end_session(struct vhu_back *b, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void end_session(struct vhu_back *b, bool error, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->lock);
	if (!b->st.ended) {
		b->st.ended = true;
		b->st.error = error;
		va_start(ap, fmt);
		vsnprintf(b->st.why, sizeof(b->st.why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&b->lock);
}

static bool ended(struct vhu_back *b)
{
	pthread_mutex_lock(&b->lock);
	bool e = b->st.ended;
	pthread_mutex_unlock(&b->lock);
	return e;
}

static void count(struct vhu_back *b, uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
	(void)b;
}

/* ---- replies ----------------------------------------------------------------- */

static uint64_t deadline(const struct vhu_back *b)
{
	return vhu_now_ns() + (uint64_t)b->o.msg_timeout_ms * 1000000ull;
}

static int send_reply(struct vhu_back *b, const struct vhu_msg *req, const void *payload,
		      uint32_t size)
{
	struct vhu_msg r;

	vhu_msg_init(&r, req->hdr.request, VHU_FLAG_REPLY, size);
	if (size)
		memcpy(&r.p, payload, size);
	int rc = vhu_msg_send(b->sock, &r, deadline(b));
	if (rc != VHU_IO_OK)
		end_session(b, true, "reply to %s: %s", vhu_request_name(req->hdr.request),
			    vhu_io_name(rc));
	return rc;
}

static int reply_u64(struct vhu_back *b, const struct vhu_msg *req, uint64_t v)
{
	return send_reply(b, req, &v, sizeof(v));
}

/* REPLY_ACK: a request sent with NEED_REPLY is answered with 0 (done) or
 * non-zero (failed) once the protocol feature is negotiated. */
static void ack(struct vhu_back *b, const struct vhu_msg *req, bool ok)
{
	if ((req->hdr.flags & VHU_FLAG_NEED_REPLY) &&
	    (b->protocol & VT_BIT(VHU_PROTOCOL_F_REPLY_ACK)))
		reply_u64(b, req, ok ? 0 : 1);
}

/* ---- the device's side ------------------------------------------------------ */

/* Used buffer notification: signal the ring's call eventfd. */
static void device_irq(void *ctx, int vector)
{
	struct vhu_back *b = ctx;
	uint64_t one = 1;

	if (vector < 0 || (unsigned)vector >= b->nq || b->vr[vector].call < 0)
		return;     /* no backend channel: configuration changes are not sent */
	if (write(b->vr[vector].call, &one, sizeof(one)) == sizeof(one))
		count(b, &b->st.calls);
}

/* Device reset, as a VMM resets its device: status 0, then read back
 * until it shows 0 (the device may delay it). */
static void device_reset(struct vhu_back *b)
{
	vt_device_set_status(b->dev, 0);
	for (int i = 0; i < 64 && vt_device_get_status(b->dev) != 0; i++)
		;
	b->features_ok = false;
	for (unsigned q = 0; q < b->nq; q++)
		b->vr[q].live = false;
	pthread_mutex_lock(&b->lock);
	b->st.driver_ok = false;
	pthread_mutex_unlock(&b->lock);
}

/* SET_FEATURES: the status writes of feature negotiation (3.1.1 steps
 * 1-6) with the driver's accepted set. */
static bool negotiate(struct vhu_back *b, uint64_t acked)
{
	uint64_t f = acked & ~VHOST_BITS;

	b->f_protocol = (acked >> VHU_F_PROTOCOL_FEATURES) & 1;
	if (b->features_ok)
		device_reset(b);
	vt_device_set_status(b->dev, VIRTIO_STATUS_ACKNOWLEDGE);
	vt_device_set_status(b->dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vt_device_set_features(b->dev, 0, (uint32_t)f);
	vt_device_set_features(b->dev, 1, (uint32_t)(f >> 32));
	vt_device_set_status(b->dev, STATUS_LIVE);
	bool ok = (vt_device_get_status(b->dev) & VIRTIO_STATUS_FEATURES_OK) != 0;
	b->features_ok = true;
	pthread_mutex_lock(&b->lock);
	b->st.negotiated = vt_device_negotiated(b->dev);
	pthread_mutex_unlock(&b->lock);
	return ok;
}

/* A front-end user address to a GPA through the memory table. */
static uint64_t ua_to_gpa(const struct vhu_back *b, uint64_t ua)
{
	for (unsigned i = 0; i < b->nregions; i++) {
		const struct vhu_mem_region *r = &b->regions[i];
		if (ua >= r->uaddr && ua - r->uaddr < r->size)
			return r->gpa + (ua - r->uaddr);
	}
	return GMEM_NOADDR;
}

/* Hand a ring that is started and enabled to the device; the first one
 * makes the device live (DRIVER_OK).  Returns 0, or -1 (session ended). */
static int ring_go_live(struct vhu_back *b, unsigned q)
{
	struct vring *v = &b->vr[q];

	if (v->live || !v->started || !v->enabled)
		return 0;
	if (!b->gm || !v->addr_set) {
		end_session(b, true, "ring %u started before %s", q,
			    b->gm ? "SET_VRING_ADDR" : "SET_MEM_TABLE");
		return -1;
	}
	uint64_t desc = ua_to_gpa(b, v->desc_ua);
	uint64_t avail = ua_to_gpa(b, v->avail_ua);
	uint64_t used = ua_to_gpa(b, v->used_ua);
	if (desc == GMEM_NOADDR || avail == GMEM_NOADDR || used == GMEM_NOADDR) {
		end_session(b, true, "ring %u: an address of SET_VRING_ADDR (desc 0x%llx avail "
			    "0x%llx used 0x%llx) is outside every memory region", q,
			    (unsigned long long)v->desc_ua, (unsigned long long)v->avail_ua,
			    (unsigned long long)v->used_ua);
		return -1;
	}
	vt_device_queue_set(b->dev, q, v->num, desc, avail, used);
	vt_device_queue_enable(b->dev, q);
	v->live = true;
	if (!(vt_device_get_status(b->dev) & VIRTIO_STATUS_DRIVER_OK)) {
		vt_device_set_status(b->dev, STATUS_LIVE | VIRTIO_STATUS_DRIVER_OK);
		set_flag(b, &b->st.driver_ok);
	}
	return 0;
}

/* ---- messages ---------------------------------------------------------------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The payload size a request must carry, or -1 when it varies. */
static int64_t payload_size(uint32_t req)
{
	switch (req) {
	case VHU_SET_FEATURES: case VHU_SET_PROTOCOL_FEATURES:
	case VHU_SET_VRING_KICK: case VHU_SET_VRING_CALL: case VHU_SET_VRING_ERR:
		return 8;
	case VHU_SET_VRING_NUM: case VHU_SET_VRING_BASE: case VHU_GET_VRING_BASE:
	case VHU_SET_VRING_ENABLE:
		return (int64_t)sizeof(struct vhu_vring_state);
	case VHU_SET_VRING_ADDR:
		return (int64_t)sizeof(struct vhu_vring_addr);
	case VHU_GET_FEATURES: case VHU_GET_PROTOCOL_FEATURES: case VHU_SET_OWNER:
	case VHU_RESET_OWNER: case VHU_GET_QUEUE_NUM: case VHU_RESET_DEVICE:
		return 0;
	default:
		return -1;
	}
}

/* The ring a ring message names, or -1 after ending the session. */
static int ring_index(struct vhu_back *b, const struct vhu_msg *m, uint32_t idx)
{
	if (idx < b->nq)
		return (int)idx;
	end_session(b, true, "%s names ring %u; the device has %u",
		    vhu_request_name(m->hdr.request), idx, b->nq);
	return -1;
}

static void on_mem_table(struct vhu_back *b, struct vhu_msg *m)
{
	const struct vhu_memory *mem = &m->p.memory;
	struct gmem_layout l;
	int fds[VHU_MAX_REGIONS];
	uint64_t offs[VHU_MAX_REGIONS];

	if (m->hdr.size < 8 || mem->nregions == 0 || mem->nregions > VHU_MAX_REGIONS ||
	    m->hdr.size != 8 + mem->nregions * sizeof(struct vhu_mem_region) ||
	    m->nfds != mem->nregions) {
		end_session(b, true, "SET_MEM_TABLE malformed: %u regions, %u bytes, %u fds",
			    mem->nregions, m->hdr.size, m->nfds);
		return;
	}
	gmem_layout_init(&l);
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct vhu_mem_region *r = &mem->region[i];
		if (gmem_layout_add(&l, r->gpa, r->size, 0) || (r->mmap_offset & (GMEM_PAGE_SIZE - 1))) {
			end_session(b, true, "SET_MEM_TABLE region %u (gpa 0x%llx size 0x%llx offset "
				    "0x%llx) is misaligned or overlaps another", i,
				    (unsigned long long)r->gpa, (unsigned long long)r->size,
				    (unsigned long long)r->mmap_offset);
			return;
		}
		fds[i] = m->fds[i];
		offs[i] = r->mmap_offset;
	}
	struct gmem *gm = gmem_create_from_fds(&l, fds, offs);
	if (!gm) {
		end_session(b, true, "SET_MEM_TABLE: mapping %u regions failed: %s", mem->nregions,
			    strerror(errno));
		return;
	}
	/* The device only touches memory from this thread: swap now. */
	struct gmem *old = b->gm;
	b->gm = gm;
	b->dma.gm = gm;
	gmem_destroy(old);
	memcpy(b->regions, mem->region, mem->nregions * sizeof(struct vhu_mem_region));
	b->nregions = mem->nregions;
	ack(b, m, true);
}

static void on_vring_fd(struct vhu_back *b, struct vhu_msg *m)
{
	uint64_t v = m->p.u64;
	bool nofd = v & VHU_VRING_NOFD_MASK;
	int q = ring_index(b, m, (uint32_t)(v & VHU_VRING_IDX_MASK));

	if (q < 0)
		return;
	if (nofd != (m->nfds == 0) || m->nfds > 1) {
		end_session(b, true, "%s for ring %d: %u fds with the no-fd flag %s",
			    vhu_request_name(m->hdr.request), q, m->nfds, nofd ? "set" : "clear");
		return;
	}
	int fd = m->nfds ? m->fds[0] : -1;
	m->nfds = 0;
	struct vring *r = &b->vr[q];
	switch (m->hdr.request) {
	case VHU_SET_VRING_CALL:
		close_fd(&r->call);
		r->call = fd;
		break;
	case VHU_SET_VRING_ERR:
		close_fd(&fd);
		break;
	default:
		if (fd < 0) {
			end_session(b, true, "SET_VRING_KICK for ring %d without an eventfd: "
				    "polling rings are not served", q);
			return;
		}
		close_fd(&r->kick);
		r->kick = fd;
		r->started = true;
		/* Without protocol features the ring is enabled as it starts. */
		if (!b->f_protocol)
			r->enabled = true;
		ring_go_live(b, (unsigned)q);
		break;
	}
	ack(b, m, true);
}

static void on_get_vring_base(struct vhu_back *b, struct vhu_msg *m)
{
	int q = ring_index(b, m, m->p.state.index);
	struct vhu_vring_state s = { .index = m->p.state.index, .num = 0 };
	uint16_t next = 0;
	bool wrap = false;

	if (q < 0)
		return;
	struct vring *r = &b->vr[q];
	if (r->live && vt_device_queue_avail_state(b->dev, (unsigned)q, &next, &wrap))
		s.num = (uint32_t)next | (wrap ? 0x8000u : 0);
	else
		s.num = r->base;
	/* The ring stops: no more kicks are taken from it. */
	close_fd(&r->kick);
	r->started = false;
	r->live = false;
	send_reply(b, m, &s, sizeof(s));
}

static void on_config(struct vhu_back *b, struct vhu_msg *m)
{
	struct vhu_config *c = &m->p.config;

	if (m->hdr.size < VHU_CONFIG_HDR_SIZE || c->size > VHU_CONFIG_MAX ||
	    m->hdr.size != VHU_CONFIG_HDR_SIZE + c->size || c->offset > VHU_CONFIG_MAX ||
	    c->size > VHU_CONFIG_MAX - c->offset) {
		end_session(b, true, "%s malformed: offset %u size %u in %u bytes",
			    vhu_request_name(m->hdr.request), c->offset, c->size, m->hdr.size);
		return;
	}
	if (m->hdr.request == VHU_SET_CONFIG) {
		for (uint32_t i = 0; i < c->size; i++)
			vt_device_config_write(b->dev, c->offset + i, 1, c->region[i]);
		ack(b, m, true);
		return;
	}
	for (uint32_t i = 0; i < c->size; i++)
		c->region[i] = (uint8_t)vt_device_config_read(b->dev, c->offset + i, 1);
	send_reply(b, m, c, m->hdr.size);
}

static void on_vring_state(struct vhu_back *b, struct vhu_msg *m)
{
	int q = ring_index(b, m, m->p.state.index);
	uint32_t num = m->p.state.num;

	if (q < 0)
		return;
	struct vring *r = &b->vr[q];
	switch (m->hdr.request) {
	case VHU_SET_VRING_NUM:
		if (num > UINT16_MAX) {
			end_session(b, true, "SET_VRING_NUM %u for ring %d", num, q);
			return;
		}
		r->num = (uint16_t)num;
		break;
	case VHU_SET_VRING_BASE: {
		/* Only a fresh ring: index 0 (packed: wrap counter 1). */
		bool packed = vt_device_negotiated(b->dev) & VT_BIT(VIRTIO_F_RING_PACKED);
		bool fresh = packed ? (num & 0xffffu) == 0x8000u : num == 0;
		if (!fresh) {
			end_session(b, true, "SET_VRING_BASE 0x%x for ring %d: resuming a ring is "
				    "not served", num, q);
			return;
		}
		r->base = num;
		break;
	}
	default: /* SET_VRING_ENABLE */
		r->enabled = num != 0;
		if (r->enabled)
			ring_go_live(b, (unsigned)q);
		break;
	}
	ack(b, m, true);
}

static void on_vring_addr(struct vhu_back *b, struct vhu_msg *m)
{
	const struct vhu_vring_addr *a = &m->p.addr;
	int q = ring_index(b, m, a->index);

	if (q < 0)
		return;
	struct vring *r = &b->vr[q];
	r->desc_ua = a->desc;
	r->avail_ua = a->avail;
	r->used_ua = a->used;
	r->addr_set = true;
	ack(b, m, true);
}

static void on_message(struct vhu_back *b, struct vhu_msg *m)
{
	uint32_t req = m->hdr.request;
	int64_t want = payload_size(req);

	count(b, &b->st.messages);
	if (m->hdr.flags & VHU_FLAG_REPLY) {
		end_session(b, true, "front-end sent a reply (%s) with no request pending",
			    vhu_request_name(req));
		return;
	}
	if (want >= 0 && m->hdr.size != (uint32_t)want) {
		end_session(b, true, "%s with a %u-byte payload, expected %lld",
			    vhu_request_name(req), m->hdr.size, (long long)want);
		return;
	}
	switch (req) {
	case VHU_GET_FEATURES:
		reply_u64(b, m, ((uint64_t)vt_device_get_features(b->dev, 1) << 32 |
				 vt_device_get_features(b->dev, 0)) |
				VT_BIT(VHU_F_PROTOCOL_FEATURES));
		return;
	case VHU_SET_FEATURES:
		ack(b, m, negotiate(b, m->p.u64));
		return;
	case VHU_GET_PROTOCOL_FEATURES:
		reply_u64(b, m, PROTOCOL_OFFER);
		return;
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->p.u64 & ~PROTOCOL_OFFER) {
			end_session(b, true, "SET_PROTOCOL_FEATURES 0x%llx accepts bits never "
				    "offered (offer 0x%llx)", (unsigned long long)m->p.u64,
				    (unsigned long long)PROTOCOL_OFFER);
			return;
		}
		b->protocol = m->p.u64;
		b->protocol_set = true;
		pthread_mutex_lock(&b->lock);
		b->st.protocol = b->protocol;
		pthread_mutex_unlock(&b->lock);
		ack(b, m, true);
		return;
	case VHU_SET_OWNER:
		ack(b, m, true);
		return;
	case VHU_RESET_OWNER: case VHU_RESET_DEVICE:
		device_reset(b);
		ack(b, m, true);
		return;
	case VHU_GET_QUEUE_NUM:
		reply_u64(b, m, b->nq);
		return;
	case VHU_SET_MEM_TABLE:
		on_mem_table(b, m);
		return;
	case VHU_SET_VRING_NUM: case VHU_SET_VRING_BASE: case VHU_SET_VRING_ENABLE:
		on_vring_state(b, m);
		return;
	case VHU_SET_VRING_ADDR:
		on_vring_addr(b, m);
		return;
	case VHU_GET_VRING_BASE:
		on_get_vring_base(b, m);
		return;
	case VHU_SET_VRING_KICK: case VHU_SET_VRING_CALL: case VHU_SET_VRING_ERR:
		on_vring_fd(b, m);
		return;
	case VHU_GET_CONFIG: case VHU_SET_CONFIG:
		on_config(b, m);
		return;
	default:
		end_session(b, true, "%s (request %u) is not served by this backend",
			    vhu_request_name(req), req);
		return;
	}
}

/* ---- the service thread ------------------------------------------------------ */

/* Wait for the front-end; returns false when stopped or timed out. */
static bool accept_front_end(struct vhu_back *b)
{
	uint64_t end = vhu_now_ns() + (uint64_t)b->o.accept_timeout_ms * 1000000ull;

	for (;;) {
		struct pollfd pf[2] = { { b->stop_fd, POLLIN, 0 }, { b->listen_fd, POLLIN, 0 } };
		uint64_t now = vhu_now_ns();
		if (now >= end) {
			end_session(b, true, "no front-end connected within %u ms",
				    b->o.accept_timeout_ms);
			return false;
		}
		int rc = poll(pf, 2, POLL_TICK_MS);
		if (rc < 0 && errno != EINTR) {
			end_session(b, true, "poll: %s", strerror(errno));
			return false;
		}
		if (rc > 0 && pf[0].revents) {
			end_session(b, false, "stopped before a front-end connected");
			return false;
		}
		if (rc > 0 && pf[1].revents) {
			b->sock = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (b->sock >= 0) {
				set_flag(b, &b->st.connected);
				return true;
			}
		}
	}
}

/* A kick: drain the eventfd and notify the device. */
static void on_kick(struct vhu_back *b, unsigned q)
{
	uint64_t n;

	if (read(b->vr[q].kick, &n, sizeof(n)) != sizeof(n))
		return;
	count(b, &b->st.kicks);
	if (b->vr[q].live)
		vt_device_notify(b->dev, q, 0);
}

static void serve(struct vhu_back *b)
{
	struct vhu_msg m;

	while (!ended(b)) {
		struct pollfd pf[2 + MAX_VRINGS];
		unsigned qof[2 + MAX_VRINGS];
		unsigned n = 0;
		pf[n++] = (struct pollfd){ b->stop_fd, POLLIN, 0 };
		pf[n++] = (struct pollfd){ b->sock, POLLIN, 0 };
		for (unsigned q = 0; q < b->nq; q++) {
			if (b->vr[q].kick >= 0) {
				qof[n] = q;
				pf[n++] = (struct pollfd){ b->vr[q].kick, POLLIN, 0 };
			}
		}
		int rc = poll(pf, n, POLL_TICK_MS);
		if (rc < 0 && errno != EINTR) {
			end_session(b, true, "poll: %s", strerror(errno));
			return;
		}
		if (rc <= 0) {
			/* Idle: held work and the missed-notification check. */
			if (b->st.driver_ok)
				vt_device_poll(b->dev);
			continue;
		}
		if (pf[0].revents) {
			end_session(b, false, "stopped");
			return;
		}
		for (unsigned i = 2; i < n; i++)
			if (pf[i].revents & POLLIN)
				on_kick(b, qof[i]);
		if (pf[1].revents) {
			int io = vhu_msg_recv(b->sock, &m, deadline(b));
			if (io == VHU_IO_EOF) {
				end_session(b, false, "front-end disconnected");
				return;
			}
			if (io != VHU_IO_OK) {
				end_session(b, true, "reading a message: %s", vhu_io_name(io));
				return;
			}
			on_message(b, &m);
			vhu_msg_close_fds(&m);
		}
	}
}

static void *service_thread(void *arg)
{
	struct vhu_back *b = arg;

	if (accept_front_end(b))
		serve(b);
	return NULL;
}

/* ---- life cycle -------------------------------------------------------------- */

static int listen_on(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		snprintf(err, errlen, "listen on %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void release(struct vhu_back *b)
{
	for (unsigned q = 0; q < MAX_VRINGS; q++) {
		close_fd(&b->vr[q].kick);
		close_fd(&b->vr[q].call);
	}
	close_fd(&b->sock);
	close_fd(&b->listen_fd);
	close_fd(&b->stop_fd);
	if (b->path[0])
		unlink(b->path);
	vt_device_destroy(b->dev);
	gmem_destroy(b->gm);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

struct vhu_back *vhu_back_start(const char *path, const struct vhu_back_opts *o, char *err,
				size_t errlen)
{
	struct vhu_back *b = calloc(1, sizeof(*b));
	struct vt_device_opts d = { 0 };

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->o = *o;
	b->o.msg_timeout_ms = o->msg_timeout_ms ? o->msg_timeout_ms : DEFAULT_MSG_MS;
	b->o.accept_timeout_ms = o->accept_timeout_ms ? o->accept_timeout_ms : DEFAULT_ACCEPT_MS;
	b->sock = b->listen_fd = b->stop_fd = -1;
	for (unsigned q = 0; q < MAX_VRINGS; q++)
		b->vr[q].kick = b->vr[q].call = -1;
	if (!o->type || !o->vd || o->type->num_queues > MAX_VRINGS) {
		snprintf(err, errlen, "vhost-user backend: bad options");
		release(b);
		return NULL;
	}
	b->nq = o->type->num_queues;
	/* No memory until SET_MEM_TABLE: the device touches none before a
	 * ring goes live, and rings go live only after it. */
	gmem_dev_init(&b->dma, NULL, NULL, 64, o->vd);
	d.type = o->type;
	d.offer = o->offer;
	d.queue_size_max = o->queue_size_max;
	b->dev = vt_device_create(&d, &b->dma, o->vd);
	if (!b->dev) {
		snprintf(err, errlen, "device: %s", strerror(errno));
		release(b);
		return NULL;
	}
	vt_device_set_irq(b->dev, device_irq, b);
	b->stop_fd = eventfd(0, EFD_CLOEXEC);
	b->listen_fd = listen_on(path, err, errlen);
	if (b->stop_fd < 0 || b->listen_fd < 0) {
		if (b->stop_fd < 0)
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
		release(b);
		return NULL;
	}
	snprintf(b->path, sizeof(b->path), "%s", path);
	if (pthread_create(&b->thread, NULL, service_thread, b)) {
		snprintf(err, errlen, "pthread_create failed");
		release(b);
		return NULL;
	}
	b->thread_started = true;
	return b;
}

void vhu_back_status(struct vhu_back *b, struct vhu_back_status *st)
{
	pthread_mutex_lock(&b->lock);
	*st = b->st;
	pthread_mutex_unlock(&b->lock);
	st->messages = __atomic_load_n(&b->st.messages, __ATOMIC_RELAXED);
	st->kicks = __atomic_load_n(&b->st.kicks, __ATOMIC_RELAXED);
	st->calls = __atomic_load_n(&b->st.calls, __ATOMIC_RELAXED);
	st->requests = vt_device_requests(b->dev);
}

struct vt_device *vhu_back_device(struct vhu_back *b)
{
	return b->dev;
}

void vhu_back_stop(struct vhu_back *b)
{
	uint64_t one = 1;

	if (!b)
		return;
	if (b->thread_started) {
		if (write(b->stop_fd, &one, sizeof(one)) != sizeof(one))
			end_session(b, true, "cannot stop the service thread");
		pthread_join(b->thread, NULL);
	}
	release(b);
}
