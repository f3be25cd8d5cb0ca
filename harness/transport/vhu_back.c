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

#include "../iommu.h"
#include "vhost_user_msg.h"
#include "vhu_back.h"

#define MAX_VRINGS          8
#define POLL_TICK_MS        100
#define DEFAULT_MSG_MS      2000
#define DEFAULT_ACCEPT_MS   20000
#define IOTLB_ENTRIES       1024    /* updates kept; the oldest is dropped */
#define HELD_MAX            8       /* requests held during a miss         */
#define STATUS_LIVE         (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
			     VIRTIO_STATUS_FEATURES_OK)

/* Protocol features this backend offers: acknowledgements of requests
 * (REPLY_ACK), the configuration space (CONFIG) and a device reset
 * message (RESET_DEVICE); with ACCESS_PLATFORM offered also the backend
 * channel (BACKEND_REQ) its IOTLB misses travel on. */
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
	bool pending;         /* waits for the IOTLB to translate its areas */
	bool misses_sent;     /* ...whose misses were sent                  */
};

struct vhu_back {
	struct vhu_back_opts o;
	char path[108];
	int listen_fd, sock, stop_fd;
	pthread_t thread;
	bool thread_started;

	const struct vt_device_type *type;
	struct vt_device *dev;
	struct gmem_dev dma;
	struct gmem *gm;
	struct vhu_mem_region regions[VHU_MAX_REGIONS];
	unsigned nregions;
	unsigned nq;
	struct vring vr[MAX_VRINGS];

	uint64_t proto_offer; /* protocol features offered */
	uint64_t protocol;    /* negotiated protocol features */
	bool protocol_set;
	bool features_ok;     /* FEATURES_OK played since the last reset */
	bool f_protocol;      /* VHOST_USER_F_PROTOCOL_FEATURES accepted: rings
				 start disabled until SET_VRING_ENABLE */

	/* IOTLB: the device's platform IOMMU, filled from IOTLB_MSG */
	struct iommu *iotlb;
	struct { uint64_t iova, size; } ent[IOTLB_ENTRIES];
	unsigned nent;
	int backend_fd;       /* the backend channel, or -1 */
	bool miss_ok;         /* misses are resolved now (ring processing) */
	/* requests read while a miss was pending, served in order after it */
	struct vhu_msg held[HELD_MAX];
	unsigned hhead, hlen;

	bool pool_shared;     /* secure guest: the bounce pool is shared    */

	pthread_mutex_t lock; /* guards st */
	struct vhu_back_status st;
	FILE *trace;          /* VCTS_VHU_TRACE: the session, line by line */
};

static void iotlb_flush(struct vhu_back *b);

/* ---- session state --------------------------------------------------------- */

/* One line of the session trace (VCTS_VHU_TRACE=DIR): control messages,
 * kicks, IOTLB traffic and ring state, for a person finding out why a
 * session stalled.  Nothing when tracing is off. */
static void trace(struct vhu_back *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct vhu_back *b, const char *fmt, ...)
{
	if (!b->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(b->trace, "%.6f ", (double)vhu_now_ns() / 1e9);
	vfprintf(b->trace, fmt, ap);
	fputc('\n', b->trace);
	fflush(b->trace);
	va_end(ap);
}

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

/* Is some ring handed to the device and not stopped since?  A ring
 * stopped by GET_VRING_BASE is no longer the device's to read: the
 * front-end (and its guest) may reuse that memory at once, e.g. a
 * firmware driver's ring that the guest kernel overwrites. */
static bool any_ring_live(const struct vhu_back *b)
{
	for (unsigned q = 0; q < b->nq; q++)
		if (b->vr[q].live)
			return true;
	return false;
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
		b->vr[q].live = b->vr[q].pending = false;
	iotlb_flush(b);
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
	b->st.iotlb = (b->st.negotiated >> VIRTIO_F_ACCESS_PLATFORM) & 1;
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

/* ---- IOTLB (ACCESS_PLATFORM) ------------------------------------------------ */

static bool iotlb_on(const struct vhu_back *b)
{
	return (vt_device_negotiated(b->dev) >> VIRTIO_F_ACCESS_PLATFORM) & 1;
}

/* A range of user addresses inside one memory region: its GPA. */
static uint64_t ua_range_to_gpa(const struct vhu_back *b, uint64_t ua, uint64_t len)
{
	uint64_t gpa = ua_to_gpa(b, ua);
	if (gpa == GMEM_NOADDR || len == 0 || ua_to_gpa(b, ua + len - 1) != gpa + len - 1)
		return GMEM_NOADDR;
	return gpa;
}

/* Unmap the pages of [iova, iova+size) that are mapped. */
static void iotlb_unmap_pages(struct vhu_back *b, uint64_t iova, uint64_t size)
{
	uint64_t gpa;
	unsigned perm;

	for (uint64_t off = 0; off < size; off += GMEM_PAGE_SIZE)
		if (iommu_lookup(b->iotlb, iova + off, &gpa, &perm) == 0)
			iommu_unmap(b->iotlb, iova + off, GMEM_PAGE_SIZE);
}

/* Drop every translation overlapping [iova, iova+len): the entries are
 * the only source of mappings, so walking them covers everything. */
static void iotlb_invalidate(struct vhu_back *b, uint64_t iova, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - iova ? UINT64_MAX : iova + len;
	unsigned k = 0;

	for (unsigned i = 0; i < b->nent; i++) {
		uint64_t s = b->ent[i].iova, e = s + b->ent[i].size;
		if (e <= iova || s >= end) {
			b->ent[k++] = b->ent[i];
			continue;
		}
		uint64_t lo = s > (iova & ~(GMEM_PAGE_SIZE - 1)) ? s : iova & ~(GMEM_PAGE_SIZE - 1);
		uint64_t hi = e < end ? e : end;
		iotlb_unmap_pages(b, lo, hi - lo);
		if (lo > s || hi < e)
			b->ent[k++] = b->ent[i];   /* partly still mapped */
	}
	b->nent = k;
}

static void iotlb_flush(struct vhu_back *b)
{
	for (unsigned i = 0; i < b->nent; i++)
		iotlb_unmap_pages(b, b->ent[i].iova, b->ent[i].size);
	b->nent = 0;
}

/* An update: IOVA -> the GPA of its user address, with its permission.
 * Returns false for one the device cannot use (misaligned, outside the
 * memory table, no permission). */
static bool iotlb_update(struct vhu_back *b, const struct vhu_iotlb *u)
{
	uint64_t mask = GMEM_PAGE_SIZE - 1;
	unsigned perm = u->perm;

	trace(b, "iotlb update iova 0x%llx size 0x%llx uaddr 0x%llx perm %u",
	      (unsigned long long)u->iova, (unsigned long long)u->size,
	      (unsigned long long)u->uaddr, perm);
	if (!u->size || ((u->iova | u->size | u->uaddr) & mask) || !perm ||
	    (perm & ~(unsigned)VHU_ACCESS_RW) || u->size - 1 > UINT64_MAX - u->iova)
		return false;
	uint64_t gpa = ua_range_to_gpa(b, u->uaddr, u->size);
	if (gpa == GMEM_NOADDR)
		return false;
	iotlb_invalidate(b, u->iova, u->size);
	if (b->nent == IOTLB_ENTRIES) {
		/* a cache: the oldest translation goes, a miss brings it back */
		iotlb_unmap_pages(b, b->ent[0].iova, b->ent[0].size);
		memmove(b->ent, b->ent + 1, (IOTLB_ENTRIES - 1) * sizeof(b->ent[0]));
		b->nent--;
	}
	/* VHU_ACCESS_RO / WO / RW are the IOMMU's R / W / RW */
	if (iommu_map(b->iotlb, u->iova, gpa, u->size, perm))
		return false;
	b->ent[b->nent].iova = u->iova;
	b->ent[b->nent].size = u->size;
	b->nent++;
	return true;
}

/* VHOST_USER_IOTLB_MSG from the front-end: update or invalidate. */
static void on_iotlb(struct vhu_back *b, struct vhu_msg *m)
{
	const struct vhu_iotlb *u = &m->p.iotlb;

	if (m->hdr.size != sizeof(struct vhu_iotlb)) {
		end_session(b, true, "IOTLB_MSG with a %u-byte payload, expected %zu", m->hdr.size,
			    sizeof(struct vhu_iotlb));
		return;
	}
	switch (u->type) {
	case VHU_IOTLB_UPDATE: {
		bool ok = iotlb_update(b, u);
		count(b, ok ? &b->st.iotlb_updates : &b->st.iotlb_rejected);
		ack(b, m, ok);
		return;
	}
	case VHU_IOTLB_INVALIDATE:
		iotlb_invalidate(b, u->iova, u->size);
		count(b, &b->st.iotlb_invalidates);
		ack(b, m, true);
		return;
	default:
		end_session(b, true, "IOTLB_MSG of type %u (iova 0x%llx): only updates and "
			    "invalidations come from a front-end", u->type,
			    (unsigned long long)u->iova);
		return;
	}
}

/* Keep a request read during a miss for after it; false when full. */
static bool hold_request(struct vhu_back *b, struct vhu_msg *m)
{
	if (b->hlen == HELD_MAX)
		return false;
	b->held[(b->hhead + b->hlen) % HELD_MAX] = *m;
	b->hlen++;
	m->nfds = 0;      /* the held copy owns them */
	count(b, &b->st.held_requests);
	return true;
}

/* Does the front-end wait for an answer to m (a reply by definition, or
 * NEED_REPLY)? */
static bool wants_reply(const struct vhu_msg *m)
{
	switch (m->hdr.request) {
	case VHU_GET_FEATURES: case VHU_GET_PROTOCOL_FEATURES: case VHU_GET_VRING_BASE:
	case VHU_GET_QUEUE_NUM: case VHU_GET_CONFIG:
		return true;
	default:
		return (m->hdr.flags & VHU_FLAG_NEED_REPLY) != 0;
	}
}

static bool iotlb_has(struct vhu_back *b, uint64_t iova, unsigned perm)
{
	uint64_t gpa;
	unsigned p;

	return iommu_lookup(b->iotlb, iova, &gpa, &p) == 0 && (p & perm) == perm;
}

static uint64_t iotlb_deadline(const struct vhu_back *b)
{
	return vhu_now_ns() + (uint64_t)b->o.iotlb_timeout_ms * 1000000ull;
}

/* Wait for the front-end to answer a miss: serve IOTLB messages, hold
 * everything else.  Returns 0 once iova is translated with perm. */
static int await_update(struct vhu_back *b, uint64_t iova, unsigned perm)
{
	uint64_t end = iotlb_deadline(b);
	struct vhu_msg m;

	while (!iotlb_has(b, iova, perm)) {
		uint64_t now = vhu_now_ns();
		if (now >= end || ended(b))
			return -1;
		struct pollfd pf[2] = { { b->stop_fd, POLLIN, 0 }, { b->sock, POLLIN, 0 } };
		int rc = poll(pf, 2, (int)((end - now + 999999) / 1000000));
		if (rc < 0 && errno != EINTR) {
			end_session(b, true, "poll: %s", strerror(errno));
			return -1;
		}
		if (rc <= 0)
			continue;
		if (pf[0].revents)
			return -1;        /* stopping: serve() sees it next */
		int io = vhu_msg_recv(b->sock, &m, deadline(b));
		if (io != VHU_IO_OK) {
			end_session(b, io != VHU_IO_EOF, "%s while an IOTLB miss was pending",
				    io == VHU_IO_EOF ? "front-end disconnected" : vhu_io_name(io));
			return -1;
		}
		if (m.hdr.request == VHU_IOTLB_MSG && !(m.hdr.flags & VHU_FLAG_REPLY)) {
			count(b, &b->st.messages);
			on_iotlb(b, &m);
		} else if (trace(b, "held %s while a miss is pending",
				 vhu_request_name(m.hdr.request)), !hold_request(b, &m)) {
			end_session(b, true, "more than %u requests arrived while an IOTLB miss was "
				    "pending", HELD_MAX);
		} else if (wants_reply(&m)) {
			/* the front-end now waits for our reply, not serving
			 * its backend channel: the miss will not be answered */
			return -1;
		}
		vhu_msg_close_fds(&m);
	}
	return 0;
}

/* Ask the front-end for the translation of iova (BACKEND_IOTLB_MSG,
 * type miss); the answer is an IOTLB_MSG update on the main socket, or
 * nothing.  Returns 0 when sent. */
static int send_miss(struct vhu_back *b, uint64_t iova, unsigned perm)
{
	struct vhu_msg m;

	if (b->backend_fd < 0 || ended(b))
		return -1;
	vhu_msg_init(&m, VHU_BACKEND_IOTLB_MSG, 0, sizeof(struct vhu_iotlb));
	m.p.iotlb.iova = iova;
	m.p.iotlb.perm = (uint8_t)(perm & VHU_ACCESS_RW);
	m.p.iotlb.type = VHU_IOTLB_MISS;
	count(b, &b->st.iotlb_misses);
	trace(b, "iotlb miss iova 0x%llx perm %u", (unsigned long long)iova, perm);
	int io = vhu_msg_send(b->backend_fd, &m, deadline(b));
	if (io != VHU_IO_OK) {
		end_session(b, true, "IOTLB miss on the backend channel: %s", vhu_io_name(io));
		return -1;
	}
	return 0;
}

/* The IOMMU's miss handler (iommu_set_miss_handler), on the device
 * thread before the access: ask the front-end for the page's
 * translation and wait for its update.  0 when it came; -1 (the access
 * then faults) when refused, or outside ring processing (b->miss_ok):
 * the front-end may then be waiting for our reply and cannot answer. */
static int iotlb_miss(void *ctx, uint64_t iova, unsigned perm)
{
	struct vhu_back *b = ctx;

	if (!b->miss_ok || send_miss(b, iova, perm))
		return -1;
	if (await_update(b, iova, perm)) {
		count(b, &b->st.iotlb_unanswered);
		return -1;
	}
	return 0;
}

/* A ring area the device checks and touches when the ring goes live. */
struct ring_area {
	uint64_t addr, len;
	unsigned perm;
};

/* The areas of ring v as the device's pre-flight checks see them: split
 * desc and avail read, used read (flags) and written; packed descriptor
 * ring read and written, driver event read, device event written. */
static void ring_areas(const struct vhu_back *b, const struct vring *v, struct ring_area *a)
{
	if (vt_device_negotiated(b->dev) & VT_BIT(VIRTIO_F_RING_PACKED)) {
		a[0] = (struct ring_area){ v->desc_ua, virtq_packed_desc_size(v->num), IOMMU_PERM_RW };
		a[1] = (struct ring_area){ v->avail_ua, VIRTQ_PACKED_EVENT_SIZE, IOMMU_PERM_R };
		a[2] = (struct ring_area){ v->used_ua, VIRTQ_PACKED_EVENT_SIZE, IOMMU_PERM_W };
		return;
	}
	a[0] = (struct ring_area){ v->desc_ua, virtq_split_desc_size(v->num), IOMMU_PERM_R };
	a[1] = (struct ring_area){ v->avail_ua, virtq_split_avail_size(v->num), IOMMU_PERM_R };
	a[2] = (struct ring_area){ v->used_ua, virtq_split_used_size(v->num), IOMMU_PERM_RW };
}

/* With ACCESS_PLATFORM, are the ring's areas in the IOTLB?  Pages that
 * are not are asked for.  While the rings are processed (`wait`) each
 * miss is awaited and true returned whatever came of it (a refused page
 * then faults in the device's own checks); while a request is served the
 * misses are only sent, once, and the ring waits for the updates: the
 * front-end answers them once it is no longer waiting for our reply. */
static bool ring_translated(struct vhu_back *b, struct vring *v, bool wait)
{
	struct ring_area a[3];
	bool ok = true;

	ring_areas(b, v, a);
	for (unsigned i = 0; i < 3; i++) {
		uint64_t first = a[i].addr & ~(GMEM_PAGE_SIZE - 1);
		for (uint64_t p = first; p < a[i].addr + a[i].len; p += GMEM_PAGE_SIZE) {
			if (iotlb_has(b, p, a[i].perm))
				continue;
			if (wait) {
				iotlb_miss(b, p, a[i].perm);
				continue;
			}
			ok = false;
			if (!v->misses_sent && send_miss(b, p, a[i].perm))
				return false;
		}
	}
	v->misses_sent = true;
	return ok;
}

/* A secure guest shares its bounce pool and its rings, nothing else:
 * share the pool once (asking the guest's side where it is) and the
 * ring's three areas (again at each go-live: idempotent).  Returns 0, or -1 (session ended). */
static int share_ring(struct vhu_back *b, unsigned q, struct vring *v, uint64_t desc,
		      uint64_t avail, uint64_t used)
{
	if (iotlb_on(b)) {
		end_session(b, true, "ring %u: a secure guest's rings behind an IOTLB are not "
			    "modelled", q);
		return -1;
	}
	if (!b->pool_shared) {
		/* Asked once.  A pool that cannot be learnt leaves only the
		 * rings shared: the session goes on (the guest must not hang)
		 * and the reason is kept for the verdict. */
		uint64_t gpa = 0, len = 0;
		char why[160] = "";
		b->pool_shared = true;
		if (b->o.bounce_pool(b->o.bounce_ctx, &gpa, &len, why, sizeof(why)) == 0 &&
		    (len == 0 || gmem_share(b->gm, gpa, len)))
			snprintf(why, sizeof(why), "0x%llx+0x%llx is not guest RAM",
				 (unsigned long long)gpa, (unsigned long long)len);
		pthread_mutex_lock(&b->lock);
		if (why[0]) {
			snprintf(b->st.pool_why, sizeof(b->st.pool_why), "%s", why);
		} else {
			b->st.pool_gpa = gpa;
			b->st.pool_len = len;
		}
		pthread_mutex_unlock(&b->lock);
	}
	struct ring_area a[3];
	uint64_t gpa[3] = { desc, avail, used };
	ring_areas(b, v, a);
	for (unsigned i = 0; i < 3; i++)
		if (gmem_share(b->gm, gpa[i], a[i].len)) {
			end_session(b, true, "ring %u: area at 0x%llx cannot be shared", q,
				    (unsigned long long)gpa[i]);
			return -1;
		}
	return 0;
}

/* Hand a ring that is started and enabled to the device; the first one
 * makes the device live (DRIVER_OK).  With ACCESS_PLATFORM its areas must
 * be translated first (ring_translated; `wait` as there): until they
 * are, the ring is pending and goes live after the updates or at its
 * first kick.  Returns 0, or -1 (session ended). */
static int ring_go_live(struct vhu_back *b, unsigned q, bool wait)
{
	struct vring *v = &b->vr[q];

	if (v->live || !v->started || !v->enabled)
		return 0;
	if (!b->gm || !v->addr_set) {
		end_session(b, true, "ring %u started before %s", q,
			    b->gm ? "SET_VRING_ADDR" : "SET_MEM_TABLE");
		return -1;
	}
	/* With ACCESS_PLATFORM the ring addresses are IOVAs the device
	 * translates through its IOTLB; otherwise front-end user addresses. */
	bool iova = iotlb_on(b);
	v->pending = iova && !ring_translated(b, v, wait);
	trace(b, "ring %u go-live%s: %s", q, wait ? " (waiting)" : "",
	      v->pending ? "pending" : "live");
	if (v->pending)
		return 0;
	uint64_t desc = iova ? v->desc_ua : ua_to_gpa(b, v->desc_ua);
	uint64_t avail = iova ? v->avail_ua : ua_to_gpa(b, v->avail_ua);
	uint64_t used = iova ? v->used_ua : ua_to_gpa(b, v->used_ua);
	if (desc == GMEM_NOADDR || avail == GMEM_NOADDR || used == GMEM_NOADDR) {
		end_session(b, true, "ring %u: an address of SET_VRING_ADDR (desc 0x%llx avail "
			    "0x%llx used 0x%llx) is outside every memory region", q,
			    (unsigned long long)v->desc_ua, (unsigned long long)v->avail_ua,
			    (unsigned long long)v->used_ua);
		return -1;
	}
	if (b->o.bounce_pool && share_ring(b, q, v, desc, avail, used))
		return -1;
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
	case VHU_SET_BACKEND_REQ_FD:
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
	struct gmem *gm = b->o.bounce_pool ? gmem_create_observed(&l, fds, offs) :
			   gmem_create_from_fds(&l, fds, offs);
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
	/* new memory: nothing of it is shared yet */
	b->pool_shared = false;
	memcpy(b->regions, mem->region, mem->nregions * sizeof(struct vhu_mem_region));
	b->nregions = mem->nregions;
	/* translations point into the old table: gone with it */
	iotlb_flush(b);
	pthread_mutex_lock(&b->lock);
	b->st.mem_regions = mem->nregions;
	for (unsigned i = 0; i < mem->nregions; i++) {
		b->st.mem_gpa[i] = mem->region[i].gpa;
		b->st.mem_size[i] = mem->region[i].size;
	}
	pthread_mutex_unlock(&b->lock);
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
		r->misses_sent = false;
		/* Without protocol features the ring is enabled as it starts. */
		if (!b->f_protocol)
			r->enabled = true;
		ring_go_live(b, (unsigned)q, false);
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
	r->pending = false;
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
	/* The front-end copies the whole configuration space for its driver,
	 * as a VMM does: that is not a driver's read (whose pieces and
	 * feature-dependent fields the device judges), so the bytes come as
	 * the device holds them; beyond its size they read 0. */
	const uint8_t *cfg = vt_device_config(b->dev);
	unsigned size = b->type->config_size;
	for (uint32_t i = 0; i < c->size; i++)
		c->region[i] = c->offset + i < size ? cfg[c->offset + i] : 0;
	send_reply(b, m, c, m->hdr.size);
}

/* SET_BACKEND_REQ_FD: the channel IOTLB misses are sent on. */
static void on_backend_req_fd(struct vhu_back *b, struct vhu_msg *m)
{
	if (m->nfds != 1 || !(b->protocol & VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ))) {
		end_session(b, true, "SET_BACKEND_REQ_FD with %u fds, BACKEND_REQ %s", m->nfds,
			    b->protocol & VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ) ? "negotiated" :
			    "not negotiated");
		return;
	}
	close_fd(&b->backend_fd);
	b->backend_fd = m->fds[0];
	m->nfds = 0;
	set_flag(b, &b->st.backend_channel);
	ack(b, m, true);
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
			ring_go_live(b, (unsigned)q, false);
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
	r->misses_sent = false;
	ack(b, m, true);
}

static void on_message(struct vhu_back *b, struct vhu_msg *m)
{
	uint32_t req = m->hdr.request;
	int64_t want = payload_size(req);

	count(b, &b->st.messages);
	trace(b, "message %s flags 0x%x size %u", vhu_request_name(req), m->hdr.flags,
	      m->hdr.size);
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
		reply_u64(b, m, b->proto_offer);
		return;
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->p.u64 & ~b->proto_offer) {
			end_session(b, true, "SET_PROTOCOL_FEATURES 0x%llx accepts bits never "
				    "offered (offer 0x%llx)", (unsigned long long)m->p.u64,
				    (unsigned long long)b->proto_offer);
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
	case VHU_SET_BACKEND_REQ_FD:
		on_backend_req_fd(b, m);
		return;
	case VHU_IOTLB_MSG:
		on_iotlb(b, m);
		/* rings waiting for these translations may go live now */
		for (unsigned q = 0; q < b->nq; q++)
			if (b->vr[q].pending) {
				b->miss_ok = true;
				ring_go_live(b, q, false);
				b->miss_ok = false;
			}
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
	trace(b, "kick ring %u%s%s", q, b->vr[q].pending ? " pending" : "",
	      b->vr[q].live ? " live" : "");
	b->miss_ok = true;
	if (b->vr[q].pending)
		ring_go_live(b, q, true);
	if (b->vr[q].live)
		vt_device_notify(b->dev, q, 0);
	b->miss_ok = false;
	if (b->trace) {
		uint16_t next = 0;
		bool wrap = false;
		vt_device_queue_avail_state(b->dev, q, &next, &wrap);
		trace(b, "ring %u after the kick: next avail %u wrap %d, %llu requests", q, next,
		      wrap, (unsigned long long)b->st.requests);
	}
}

/* Requests held while a miss was pending, in the order they came. */
static void serve_held(struct vhu_back *b)
{
	while (b->hlen && !ended(b)) {
		struct vhu_msg *m = &b->held[b->hhead];
		b->hhead = (b->hhead + 1) % HELD_MAX;
		b->hlen--;
		on_message(b, m);
		vhu_msg_close_fds(m);
	}
}

/* Is a message waiting on the main socket now?  (A miss may have read
 * what poll() announced.) */
static bool sock_readable(struct vhu_back *b)
{
	struct pollfd pf = { b->sock, POLLIN, 0 };
	return poll(&pf, 1, 0) > 0;
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
			if (b->st.driver_ok && any_ring_live(b)) {
				b->miss_ok = true;
				vt_device_poll(b->dev);
				b->miss_ok = false;
				serve_held(b);
			}
			continue;
		}
		if (pf[0].revents) {
			end_session(b, false, "stopped");
			return;
		}
		bool kicked = false;
		for (unsigned i = 2; i < n; i++) {
			if (pf[i].revents & POLLIN) {
				on_kick(b, qof[i]);
				kicked = true;
			}
		}
		if (kicked && b->st.iotlb) {
			/* misses may have read messages and held some */
			serve_held(b);
			if (pf[1].revents && !sock_readable(b))
				pf[1].revents = 0;
		}
		if (pf[1].revents && !ended(b)) {
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
	/* the session is over: the memory is ours alone to look at */
	if (b->o.bounce_pool && b->gm) {
		uint64_t n = gmem_log_count(b->gm, true);
		pthread_mutex_lock(&b->lock);
		b->st.private_pages = n;
		pthread_mutex_unlock(&b->lock);
	}
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
	if (b->trace)
		fclose(b->trace);
	for (unsigned q = 0; q < MAX_VRINGS; q++) {
		close_fd(&b->vr[q].kick);
		close_fd(&b->vr[q].call);
	}
	close_fd(&b->sock);
	close_fd(&b->listen_fd);
	close_fd(&b->stop_fd);
	close_fd(&b->backend_fd);
	for (; b->hlen; b->hlen--, b->hhead = (b->hhead + 1) % HELD_MAX)
		vhu_msg_close_fds(&b->held[b->hhead]);
	if (b->path[0])
		unlink(b->path);
	vt_device_destroy(b->dev);
	iommu_destroy(b->iotlb);
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
	b->st.secure = o->bounce_pool != NULL;
	b->o.msg_timeout_ms = o->msg_timeout_ms ? o->msg_timeout_ms : DEFAULT_MSG_MS;
	b->o.accept_timeout_ms = o->accept_timeout_ms ? o->accept_timeout_ms : DEFAULT_ACCEPT_MS;
	b->sock = b->listen_fd = b->stop_fd = b->backend_fd = -1;
	b->o.iotlb_timeout_ms = o->iotlb_timeout_ms ? o->iotlb_timeout_ms : b->o.msg_timeout_ms;
	for (unsigned q = 0; q < MAX_VRINGS; q++)
		b->vr[q].kick = b->vr[q].call = -1;
	if (!o->type || !o->vd || o->type->num_queues > MAX_VRINGS) {
		snprintf(err, errlen, "vhost-user backend: bad options");
		release(b);
		return NULL;
	}
	b->type = o->type;
	b->nq = o->type->num_queues;
	const char *tdir = getenv("VCTS_VHU_TRACE");
	if (tdir && *tdir) {
		char tpath[256];
		const char *base = strrchr(path, '/');
		snprintf(tpath, sizeof(tpath), "%s/%d.%s.trace", tdir, (int)getpid(),
			 base ? base + 1 : path);
		b->trace = fopen(tpath, "we");
	}
	/* No memory until SET_MEM_TABLE: the device touches none before a
	 * ring goes live, and rings go live only after it.  The IOTLB is the
	 * device's platform IOMMU: used once ACCESS_PLATFORM is negotiated. */
	b->iotlb = iommu_create(64, o->vd);
	if (!b->iotlb) {
		snprintf(err, errlen, "out of memory");
		release(b);
		return NULL;
	}
	iommu_set_miss_handler(b->iotlb, iotlb_miss, b);
	gmem_dev_init(&b->dma, NULL, b->iotlb, 64, o->vd);
	if (o->dev)
		d = *o->dev;
	d.type = o->type;
	d.offer = o->offer;
	if (o->queue_size_max || !o->dev)
		d.queue_size_max = o->queue_size_max;
	b->dev = vt_device_create(&d, &b->dma, o->vd);
	if (!b->dev) {
		snprintf(err, errlen, "device: %s", strerror(errno));
		release(b);
		return NULL;
	}
	vt_device_set_irq(b->dev, device_irq, b);
	b->proto_offer = PROTOCOL_OFFER;
	if ((uint64_t)vt_device_get_features(b->dev, 1) << 32 & VT_BIT(VIRTIO_F_ACCESS_PLATFORM))
		b->proto_offer |= VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ);
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
	st->iotlb_misses = __atomic_load_n(&b->st.iotlb_misses, __ATOMIC_RELAXED);
	st->iotlb_unanswered = __atomic_load_n(&b->st.iotlb_unanswered, __ATOMIC_RELAXED);
	st->iotlb_updates = __atomic_load_n(&b->st.iotlb_updates, __ATOMIC_RELAXED);
	st->iotlb_invalidates = __atomic_load_n(&b->st.iotlb_invalidates, __ATOMIC_RELAXED);
	st->iotlb_rejected = __atomic_load_n(&b->st.iotlb_rejected, __ATOMIC_RELAXED);
	st->held_requests = __atomic_load_n(&b->st.held_requests, __ATOMIC_RELAXED);
}

struct vt_device *vhu_back_device(struct vhu_back *b)
{
	return b->dev;
}

void vhu_back_finish(struct vhu_back *b, struct vhu_back_status *st)
{
	uint64_t one = 1;

	if (!b)
		return;
	if (b->thread_started) {
		if (write(b->stop_fd, &one, sizeof(one)) != sizeof(one))
			end_session(b, true, "cannot stop the service thread");
		pthread_join(b->thread, NULL);
	}
	if (st)
		vhu_back_status(b, st);
	release(b);
}

void vhu_back_stop(struct vhu_back *b)
{
	vhu_back_finish(b, NULL);
}
