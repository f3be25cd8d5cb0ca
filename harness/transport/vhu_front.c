/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhu_front.c - the vhost-user front-end: device registers emulated for
 * the driver, vhost-user requests to a real backend (see vhu_front.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../virtio.h"
#include "vhost_user_msg.h"
#include "vhu_front.h"


#define FRONT_NAME        "vhost-user"
#define DEFAULT_QSIZE     256
#define MAX_GRANTS        1024
#define GRANT_MAX_PAGES   512u       /* one IOTLB update covers at most 2 MiB */
#define BACKEND_BUDGET    64u        /* backend requests served per poll      */

/* Protocol features this front-end implements. */
#define FRONT_PROTOCOL                                                          \
	(VT_BIT(VHU_PROTOCOL_F_MQ) | VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) |         \
	 VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ) | VT_BIT(VHU_PROTOCOL_F_CONFIG) |   \
	 VT_BIT(VHU_PROTOCOL_F_RESET_DEVICE))

/* Feature bits that belong to vhost itself, never shown to the driver. */
#define VHOST_ONLY_BITS   (VT_BIT(VHU_F_LOG_ALL) | VT_BIT(VHU_F_PROTOCOL_FEATURES))

/* Device-type bits the queue count depends on. */
#define BLK_CFG_NUM_QUEUES 34           /* le16 in struct virtio_blk_config  */
#define NET_CFG_MAX_PAIRS  8            /* le16 in struct virtio_net_config  */
#define FS_CFG_NUM_REQ     36           /* le32 in struct virtio_fs_config   */

struct front_queue {
	struct vt_queue_cfg cfg;
	bool set;                /* queue_set called since reset             */
	bool enabled;            /* queue_enable called since reset          */
	bool started;            /* rings handed to the backend              */
	bool reset_done;
	int kick, call;          /* eventfds                                 */
};

struct grant {                   /* an IOTLB entry the backend may cache     */
	uint64_t iova, size;
};

struct front {
	struct vt_transport t;   /* first: ops receive &t                    */
	struct vhu_session s;
	struct vhu_front_opts o;
	struct vhu_front_info info;
	bool death_reported;
	uint8_t status;
	uint32_t drv_features[2];
	bool ap;                 /* ACCESS_PLATFORM negotiated               */
	bool proto;              /* protocol features negotiated (bit 30)    */
	uint8_t config[VHU_CONFIG_MAX];
	unsigned config_size;
	uint32_t generation;
	uint16_t qsize_max;
	struct front_queue q[VT_MAX_QUEUES];
	struct pollfd *pfd;      /* call eventfds + main socket + channel     */
	struct grant grants[MAX_GRANTS];
	unsigned ngrants;
};

static inline struct front *of(struct vt_transport *t)
{
	return (struct front *)t;
}

static bool has_proto(const struct front *f, unsigned bit)
{
	return (f->info.protocol & VT_BIT(bit)) != 0;
}

/* ---- a dead backend: one INV-transport record ------------------------------ */

static void report_dead(struct front *f)
{
	if (!f->s.dead || f->death_reported)
		return;
	f->death_reported = true;
	f->info.dead = true;
	char extra[160] = "";
	if (f->o.describe_death)
		f->o.describe_death(f->o.owner, extra, sizeof(extra));
	snprintf(f->info.why, sizeof(f->info.why), "%s%s%s", f->s.why, extra[0] ? "; " : "",
		 extra);
	if (f->o.vd)
		vt_violation(f->o.vd, "INV-transport", VT_WHO_DEVICE, "a live backend", "dead",
			     "vhost-user backend: %s", f->info.why);
}

/* ---- requests ---------------------------------------------------------------- */

static uint32_t set_flags(const struct front *f)
{
	return f->s.reply_ack && !f->o.quirks.no_need_reply ? VHU_FLAG_NEED_REPLY : 0;
}

/* Send a SET request (payload already in m); returns its REPLY_ACK (0
 * without REPLY_ACK), -1 when the backend is dead.  A refusal is counted. */
static int64_t send_set(struct front *f, struct vhu_msg *m)
{
	int64_t ack = vhu_session_call_ack(&f->s, m);
	if (ack < 0) {
		report_dead(f);
		return -1;
	}
	if (ack > 0) {
		f->info.nacks++;
		f->info.last_nack_request = m->hdr.request;
	}
	return ack;
}

static int64_t send_u64(struct front *f, uint32_t req, uint64_t val, const int *fds,
			unsigned nfds)
{
	struct vhu_msg m;
	vhu_msg_init(&m, req, set_flags(f), sizeof(uint64_t));
	m.p.u64 = val;
	vhu_msg_set_fds(&m, fds, nfds);
	return send_set(f, &m);
}

static int64_t send_state(struct front *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_msg m;
	vhu_msg_init(&m, req, set_flags(f), sizeof(struct vhu_vring_state));
	m.p.state.index = index;
	m.p.state.num = num;
	return send_set(f, &m);
}

/* A request with a reply of exactly `size` bytes: 0, or -1 (dead, or the
 * reply has the wrong size: a protocol error ends the session). */
static int get_reply(struct front *f, struct vhu_msg *req, struct vhu_msg *r, uint32_t size)
{
	if (vhu_session_call(&f->s, req, r)) {
		report_dead(f);
		return -1;
	}
	vhu_msg_close_fds(r);
	if (r->hdr.size != size) {
		vhu_session_kill(&f->s, VHU_IO_PROTO, "reply to %s has %u payload bytes, not %u",
				 vhu_request_name(req->hdr.request), r->hdr.size, size);
		report_dead(f);
		return -1;
	}
	return 0;
}

static int get_u64(struct front *f, uint32_t req, uint64_t *val)
{
	struct vhu_msg m, r;
	vhu_msg_init(&m, req, 0, 0);
	if (get_reply(f, &m, &r, sizeof(uint64_t)))
		return -1;
	*val = r.p.u64;
	return 0;
}

/* ---- IOTLB: grants, misses, invalidations ---------------------------------- */

static int64_t send_iotlb(struct front *f, uint8_t type, uint64_t iova, uint64_t size,
			  uint64_t uaddr, uint8_t perm)
{
	struct vhu_msg m;
	vhu_msg_init(&m, VHU_IOTLB_MSG, set_flags(f), sizeof(struct vhu_iotlb));
	m.p.iotlb.iova = iova;
	m.p.iotlb.size = size;
	m.p.iotlb.uaddr = uaddr;
	m.p.iotlb.perm = perm;
	m.p.iotlb.type = type;
	return send_set(f, &m);
}

static void grant_add(struct front *f, uint64_t iova, uint64_t size)
{
	if (f->ngrants == MAX_GRANTS) {
		/* full: the oldest entry is withdrawn from the backend first */
		send_iotlb(f, VHU_IOTLB_INVALIDATE, f->grants[0].iova, f->grants[0].size, 0, 0);
		f->info.iotlb_invalidates++;
		memmove(f->grants, f->grants + 1, (MAX_GRANTS - 1) * sizeof(f->grants[0]));
		f->ngrants--;
	}
	f->grants[f->ngrants++] = (struct grant){ iova, size };
}

/* The IOMMU model unmapped [iova, iova+len): a backend that may cache a
 * translation of it drops it now, before the IOVA can be reused. */
static void front_unmapped(void *ctx, uint64_t iova, uint64_t len)
{
	struct front *f = ctx;
	bool hit = false;
	unsigned k = 0;
	for (unsigned i = 0; i < f->ngrants; i++) {
		struct grant *g = &f->grants[i];
		if (iova < g->iova + g->size && g->iova < iova + len)
			hit = true;
		else
			f->grants[k++] = *g;
	}
	f->ngrants = k;
	if (!hit || f->s.dead)
		return;
	send_iotlb(f, VHU_IOTLB_INVALIDATE, iova, len, 0, 0);
	f->info.iotlb_invalidates++;
}

/* Bit i set: gmem region i was given to the backend. */
static bool region_sent(const struct front *f, int idx)
{
	return idx >= 0 && idx < 64 && (f->info.mem_gpa_mask & VT_BIT(idx));
}

/* The user address of `len` bytes at gpa, if the backend holds that
 * memory (0 otherwise). */
static uint64_t gpa_to_uaddr(struct front *f, uint64_t gpa, uint64_t len)
{
	int idx = gmem_find(f->o.gm, gpa, len ? len : 1);
	if (!region_sent(f, idx))
		return 0;
	return (uint64_t)(uintptr_t)gmem_drv(f->o.gm, gpa, len ? len : 1);
}

static const char *perm_name(unsigned perm)
{
	switch (perm & VHU_ACCESS_RW) {
	case VHU_ACCESS_RO: return "read";
	case VHU_ACCESS_WO: return "write";
	case VHU_ACCESS_RW: return "read/write";
	}
	return "no";
}

/* Translate the page of `iova`: GPA and permission (identity, read/write,
 * without an IOMMU model).  0, or -1 when unmapped. */
static int lookup(struct front *f, uint64_t iova, uint64_t *gpa, unsigned *perm)
{
	if (!f->o.io) {
		*gpa = iova;
		*perm = IOMMU_PERM_RW;
		return gmem_find(f->o.gm, iova, 1) >= 0 ? 0 : -1;
	}
	return iommu_lookup(f->o.io, iova, gpa, perm);
}

/* A miss: answer with an update from the IOMMU model covering the run of
 * pages mapped contiguously with the same permission, or refuse by
 * sending nothing (unmapped, or memory the backend was never given). */
static void serve_miss(struct front *f, const struct vhu_iotlb *miss)
{
	uint64_t page = miss->iova & ~(GMEM_PAGE_SIZE - 1), gpa0, gpa;
	unsigned perm0, perm;

	f->info.iotlb_misses++;
	if (!f->ap || lookup(f, page, &gpa0, &perm0) || !gpa_to_uaddr(f, gpa0, GMEM_PAGE_SIZE)) {
		f->info.iotlb_refused++;
		return;
	}
	if ((miss->perm & VHU_ACCESS_RW) & ~perm0) {
		/* answered with what is mapped, as a platform IOMMU would; asking
		 * to read a write-only (device-writable) buffer goes against
		 * DEV-2.7.5.1 / DEV-2.8.15 (SHOULD NOT read it): noted once */
		if (!f->info.iotlb_perm_upgrades++ && f->o.vd)
			vt_advice(f->o.vd,
				  f->info.acked & VT_BIT(VIRTIO_F_RING_PACKED) ? "DEV-2.8.15" : "DEV-2.7.5.1",
				  VT_WHO_DEVICE, "IOTLB miss asks %s access to iova 0x%llx, mapped %s only",
				  perm_name(miss->perm), (unsigned long long)miss->iova,
				  perm_name(perm0));
	}
	uint64_t n = 1;
	while (n < GRANT_MAX_PAGES &&
	       lookup(f, page + n * GMEM_PAGE_SIZE, &gpa, &perm) == 0 && perm == perm0 &&
	       gpa == gpa0 + n * GMEM_PAGE_SIZE &&
	       gmem_find(f->o.gm, gpa0, (n + 1) * GMEM_PAGE_SIZE) >= 0)
		n++;
	uint64_t size = n * GMEM_PAGE_SIZE;
	uint64_t uaddr = gpa_to_uaddr(f, gpa0, size);
	if (send_iotlb(f, VHU_IOTLB_UPDATE, page, size, uaddr, (uint8_t)perm0) < 0)
		return;
	f->info.iotlb_updates++;
	grant_add(f, page, size);
}

/* ---- configuration space ------------------------------------------------------- */

/* Configuration sizes tried with GET_CONFIG, largest first. */
static unsigned config_sizes(uint16_t id, unsigned *out)
{
	switch (id) {
	case VIRTIO_ID_BLOCK:
		out[0] = 60;    /* up to write_zeroes_may_unmap            */
		out[1] = VIRTIO_BLK_CFG_SIZE;
		return 2;
	case VIRTIO_ID_NET:
		out[0] = 24;
		out[1] = 12;
		return 2;
	case VIRTIO_ID_FS:
		out[0] = 44;
		out[1] = 40;
		return 2;
	default:
		out[0] = 0;
		return 0;
	}
}

static int fetch_config(struct front *f)
{
	unsigned sizes[2], n = config_sizes(f->o.device_id, sizes);
	for (unsigned i = 0; i < n; i++) {
		struct vhu_msg m, r;
		/* the whole buffer goes out, not only the header */
		vhu_msg_init(&m, VHU_GET_CONFIG, 0, VHU_CONFIG_HDR_SIZE + sizes[i]);
		m.p.config.offset = 0;
		m.p.config.size = sizes[i];
		if (vhu_session_call(&f->s, &m, &r)) {
			report_dead(f);
			return -1;
		}
		vhu_msg_close_fds(&r);
		if (r.hdr.size == VHU_CONFIG_HDR_SIZE + sizes[i] && r.p.config.size == sizes[i]) {
			memcpy(f->config, r.p.config.region, sizes[i]);
			f->config_size = sizes[i];
			f->info.config_size = sizes[i];
			f->info.config_from_backend = true;
			return 0;
		}
		/* a reply of size 0 means "failed": try a smaller window */
	}
	return 1;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	v = vt_put_le16(v);
	memcpy(p, &v, 2);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = vt_put_le32(v);
	memcpy(p, &v, 4);
}

static uint32_t get_le(const uint8_t *p, unsigned width)
{
	uint32_t v = 0;
	memcpy(&v, p, width);
	return width == 2 ? vt_le16((uint16_t)v) : width == 4 ? vt_le32(v) : v;
}

/* A backend without the CONFIG protocol feature: the configuration the
 * VMM itself would show for the type. */
static void synth_config(struct front *f)
{
	memset(f->config, 0, sizeof(f->config));
	switch (f->o.device_id) {
	case VIRTIO_ID_NET: {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x76, 0x63, 0x74 };
		memcpy(f->config, mac, 6);
		put_le16(f->config + 6, 1);              /* status: LINK_UP */
		put_le16(f->config + NET_CFG_MAX_PAIRS, 1);
		put_le16(f->config + 10, 1500);          /* mtu */
		f->config_size = 24;
		break;
	}
	case VIRTIO_ID_FS:
		memcpy(f->config, "vcts", 4);            /* tag, NUL padded */
		put_le32(f->config + FS_CFG_NUM_REQ, 1);
		f->config_size = 44;
		break;
	case VIRTIO_ID_BLOCK:
		f->config_size = 60;                     /* capacity unknown: 0 */
		break;
	default:
		f->config_size = 0;
	}
	f->info.config_size = f->config_size;
}

/* ---- memory table ---------------------------------------------------------------- */

/* Every region of guest memory, or in a secure guest only the shared
 * ones: private memory lives in memfds the backend never receives. */
static int64_t send_mem_table(struct front *f)
{
	struct vhu_msg m;
	int fds[VHU_MAX_REGIONS];
	unsigned n = 0;
	uint64_t mask = 0;

	vhu_msg_init(&m, VHU_SET_MEM_TABLE, set_flags(f), 0);
	for (unsigned i = 0; i < gmem_nregions(f->o.gm) && n < VHU_MAX_REGIONS; i++) {
		const struct gmem_region_desc *d = gmem_region(f->o.gm, i);
		if ((f->o.secure && !(d->flags & GMEM_REGION_SHARED)) ||
		    (i < 64 && (f->o.quirks.withhold_regions & VT_BIT(i))))
			continue;
		struct vhu_mem_region *r = &m.p.memory.region[n];
		r->gpa = d->gpa;
		r->size = d->size;
		r->uaddr = (uint64_t)(uintptr_t)gmem_drv(f->o.gm, d->gpa, d->size);
		r->mmap_offset = 0;
		fds[n++] = gmem_region_fd(f->o.gm, i);
		mask |= VT_BIT(i);
	}
	m.p.memory.nregions = n;
	m.hdr.size = (uint32_t)(8 + n * sizeof(struct vhu_mem_region));
	vhu_msg_set_fds(&m, fds, n);
	f->info.mem_regions = n;
	f->info.mem_gpa_mask = mask;
	return send_set(f, &m);
}

/* ---- rings ------------------------------------------------------------------------- */

static void drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

/* Ring areas as the backend addresses them: IOVAs with ACCESS_PLATFORM
 * (it translates them through the IOTLB), else our user addresses. */
static uint64_t ring_addr(struct front *f, uint64_t dev, uint64_t len)
{
	if (f->ap)
		return dev;
	uint64_t u = gpa_to_uaddr(f, dev, len);
	return u ? u : dev;      /* not memory the backend holds: it must refuse */
}

static int start_ring(struct front *f, unsigned qi)
{
	struct front_queue *q = &f->q[qi];
	bool packed = (f->info.acked & VT_BIT(VIRTIO_F_RING_PACKED)) != 0;
	unsigned n = q->cfg.size;
	uint64_t dlen = packed ? virtq_packed_desc_size(n) : virtq_split_desc_size(n);
	uint64_t alen = packed ? VIRTQ_PACKED_EVENT_SIZE : virtq_split_avail_size(n) + 2;
	uint64_t ulen = packed ? VIRTQ_PACKED_EVENT_SIZE : virtq_split_used_size(n) + 2;
	struct vhu_msg m;

	drain(q->call);
	if (send_state(f, VHU_SET_VRING_NUM, qi, n))
		return -1;
	/* a fresh ring: next available index 0, wrap counters 1 (packed) */
	if (send_state(f, VHU_SET_VRING_BASE, qi, packed ? 0x80008000u : 0))
		return -1;
	vhu_msg_init(&m, VHU_SET_VRING_ADDR, set_flags(f), sizeof(struct vhu_vring_addr));
	m.p.addr.index = qi;
	m.p.addr.desc = ring_addr(f, q->cfg.desc, dlen);
	m.p.addr.avail = ring_addr(f, q->cfg.driver, alen);
	m.p.addr.used = ring_addr(f, q->cfg.device, ulen);
	if (send_set(f, &m))
		return -1;
	if (send_u64(f, VHU_SET_VRING_KICK, qi, &q->kick, 1))
		return -1;
	if (send_u64(f, VHU_SET_VRING_CALL, qi, &q->call, 1))
		return -1;
	q->started = true;
	f->info.rings_started++;
	/* with the protocol-features bit acked, rings start disabled */
	if ((f->info.acked & VT_BIT(VHU_F_PROTOCOL_FEATURES)) &&
	    !(f->o.quirks.skip_enable & (1u << qi)) && send_state(f, VHU_SET_VRING_ENABLE, qi, 1))
		return -1;
	return 0;
}

static void refused(struct front *f, const char *what, unsigned qi)
{
	if (f->s.dead || !f->o.vd)
		return;
	vt_violation(f->o.vd, "INV-transport", VT_WHO_DEVICE, "REPLY_ACK 0", "non-zero",
		     "vhost-user backend refused %s (queue %u)", what, qi);
}

static void start_rings(struct front *f)
{
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++) {
		struct front_queue *q = &f->q[qi];
		if (!q->set || !q->enabled || q->started)
			continue;
		if (start_ring(f, qi)) {
			if (f->s.dead)
				return;
			refused(f, vhu_request_name(f->info.last_nack_request), qi);
		}
	}
}

/* GET_VRING_BASE stops the ring; the reply is where the backend is. */
static void stop_ring(struct front *f, unsigned qi)
{
	struct front_queue *q = &f->q[qi];
	struct vhu_msg m, r;
	if (!q->started)
		return;
	q->started = false;
	vhu_msg_init(&m, VHU_GET_VRING_BASE, 0, sizeof(struct vhu_vring_state));
	m.p.state.index = qi;
	if (get_reply(f, &m, &r, sizeof(struct vhu_vring_state)) == 0)
		f->info.last_vring_base[qi] = r.p.state.num;
	/* signals sent before the stop are not notifications after reset */
	drain(q->call);
	drain(q->kick);
}

/* ---- status ------------------------------------------------------------------------- */

static uint64_t driver_features(const struct front *f)
{
	return (uint64_t)f->drv_features[1] << 32 | f->drv_features[0];
}

/* FEATURES_OK: the driver's set must be a subset of the offer; a
 * conforming device refuses it otherwise (DEV-2.2.2).  Backends do not
 * check, so the front-end does, unless told to forward it.  Returns
 * whether FEATURES_OK stays set. */
static bool features_ok(struct front *f)
{
	uint64_t drv = driver_features(f);
	uint64_t extra = drv & ~f->info.offer;
	f->info.driver_features = drv;
	if (extra && !f->o.quirks.forward_unoffered) {
		f->info.refused_unoffered = extra;
		return false;
	}
	if (extra)
		f->info.forwarded_unoffered = extra;
	uint64_t acked = drv | f->o.quirks.extra_features;
	if (f->proto)
		acked |= VT_BIT(VHU_F_PROTOCOL_FEATURES);
	f->info.acked = acked;
	int64_t ack = send_u64(f, VHU_SET_FEATURES, acked, NULL, 0);
	f->info.features_ack = ack;
	if (ack != 0)
		return false;
	f->ap = (acked & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0;
	if (send_mem_table(f) != 0) {
		refused(f, "SET_MEM_TABLE", 0);
		return false;
	}
	return true;
}

static void invalidate_all(struct front *f)
{
	for (unsigned i = 0; i < f->ngrants && !f->s.dead; i++) {
		send_iotlb(f, VHU_IOTLB_INVALIDATE, f->grants[i].iova, f->grants[i].size, 0, 0);
		f->info.iotlb_invalidates++;
	}
	f->ngrants = 0;
}

static void device_reset(struct front *f)
{
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++)
		stop_ring(f, qi);
	invalidate_all(f);
	if (has_proto(f, VHU_PROTOCOL_F_RESET_DEVICE) && !f->s.dead) {
		struct vhu_msg m;
		vhu_msg_init(&m, VHU_RESET_DEVICE, set_flags(f), 0);
		send_set(f, &m);
	}
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++) {
		struct front_queue *q = &f->q[qi];
		q->set = q->enabled = q->reset_done = false;
		memset(&q->cfg, 0, sizeof(q->cfg));
	}
	f->drv_features[0] = f->drv_features[1] = 0;
	f->info.acked = 0;
	f->ap = false;
	f->status = 0;
}

static uint8_t get_status(struct vt_transport *t)
{
	return of(t)->status;
}

static void set_status(struct vt_transport *t, uint8_t st)
{
	struct front *f = of(t);
	uint8_t old = f->status;

	if (st == 0) {
		device_reset(f);
		return;
	}
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !f->s.dead && !features_ok(f))
		st &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	f->status = st;
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !f->s.dead)
		start_rings(f);
}

/* ---- features, configuration, queues ------------------------------------------------ */

static uint32_t get_device_features(struct vt_transport *t, unsigned sel)
{
	struct front *f = of(t);
	return sel < 2 ? (uint32_t)(f->info.offer >> (32 * sel)) : 0;
}

static void set_driver_features(struct vt_transport *t, unsigned sel, uint32_t val)
{
	struct front *f = of(t);
	/* like a device, ignore writes once FEATURES_OK is set */
	if (sel < 2 && !(f->status & VIRTIO_STATUS_FEATURES_OK))
		f->drv_features[sel] = val;
}

static uint32_t config_generation(struct vt_transport *t)
{
	return of(t)->generation;
}

static uint32_t config_read(struct vt_transport *t, unsigned off, unsigned width)
{
	struct front *f = of(t);
	if ((width != 1 && width != 2 && width != 4) || off + width > f->config_size)
		return 0;
	return get_le(f->config + off, width);
}

static void config_write(struct vt_transport *t, unsigned off, unsigned width, uint32_t val)
{
	struct front *f = of(t);
	if ((width != 1 && width != 2 && width != 4) || off + width > f->config_size)
		return;
	if (!has_proto(f, VHU_PROTOCOL_F_CONFIG) || f->s.dead) {
		/* a VMM without SET_CONFIG keeps the write to itself */
		uint32_t le = vt_put_le32(val);
		memcpy(f->config + off, &le, width);
		return;
	}
	struct vhu_msg m;
	vhu_msg_init(&m, VHU_SET_CONFIG, set_flags(f), VHU_CONFIG_HDR_SIZE + width);
	m.p.config.offset = off;
	m.p.config.size = width;
	uint32_t le = vt_put_le32(val);
	memcpy(m.p.config.region, &le, width);
	send_set(f, &m);
}

static unsigned num_queues(struct vt_transport *t)
{
	struct front *f = of(t);
	uint64_t acc = driver_features(f);
	unsigned n;
	switch (f->o.device_id) {
	case VIRTIO_ID_BLOCK:
		n = acc & VT_BIT(VIRTIO_BLK_F_MQ) ? get_le(f->config + BLK_CFG_NUM_QUEUES, 2) : 1;
		break;
	case VIRTIO_ID_NET:
		n = 2 * (acc & VT_BIT(VIRTIO_NET_F_MQ) ? get_le(f->config + NET_CFG_MAX_PAIRS, 2)
						       : 1);
		if (acc & VT_BIT(VIRTIO_NET_F_CTRL_VQ))
			n++;
		break;
	case VIRTIO_ID_FS:
		n = 1 + get_le(f->config + FS_CFG_NUM_REQ, 4);
		break;
	default:
		n = f->info.queue_num ? f->info.queue_num : 1;
	}
	if (f->info.queue_num && n > f->info.queue_num)
		n = f->info.queue_num;
	return n > VT_MAX_QUEUES ? VT_MAX_QUEUES : n;
}

static uint16_t queue_size_max(struct vt_transport *t, unsigned qi)
{
	struct front *f = of(t);
	return qi < num_queues(t) ? f->qsize_max : 0;
}

static void queue_set(struct vt_transport *t, unsigned qi, const struct vt_queue_cfg *cfg)
{
	struct front *f = of(t);
	if (qi >= VT_MAX_QUEUES || f->q[qi].started)
		return;
	f->q[qi].cfg = *cfg;
	f->q[qi].set = true;
}

static void queue_enable(struct vt_transport *t, unsigned qi)
{
	struct front *f = of(t);
	if (qi >= VT_MAX_QUEUES)
		return;
	f->q[qi].enabled = true;
	f->q[qi].reset_done = false;
	/* a queue enabled again after its reset starts at once when live */
	if ((f->status & VIRTIO_STATUS_DRIVER_OK) && f->q[qi].set && !f->s.dead &&
	    !f->q[qi].started && start_ring(f, qi) && !f->s.dead)
		refused(f, vhu_request_name(f->info.last_nack_request), qi);
}

static bool queue_enabled(struct vt_transport *t, unsigned qi)
{
	return qi < VT_MAX_QUEUES && of(t)->q[qi].enabled;
}

static void queue_reset(struct vt_transport *t, unsigned qi)
{
	struct front *f = of(t);
	if (qi >= VT_MAX_QUEUES)
		return;
	stop_ring(f, qi);
	f->q[qi].set = f->q[qi].enabled = false;
	f->q[qi].reset_done = true;
}

static bool queue_reset_done(struct vt_transport *t, unsigned qi)
{
	return qi < VT_MAX_QUEUES && of(t)->q[qi].reset_done;
}

/* ---- notifications ------------------------------------------------------------------- */

static void notify(struct vt_transport *t, unsigned qi, uint32_t data)
{
	struct front *f = of(t);
	uint64_t one = 1;
	(void)data;
	if (qi < VT_MAX_QUEUES && write(f->q[qi].kick, &one, sizeof(one)) < 0)
		return;
}

/* Backend-channel requests queued or readable now. */
static void serve_backend(struct front *f)
{
	struct vhu_msg m;
	for (unsigned i = 0; i < BACKEND_BUDGET && vhu_session_backend_next(&f->s, &m); i++) {
		f->info.backend_requests++;
		uint64_t result = 0;
		switch (m.hdr.request) {
		case VHU_BACKEND_IOTLB_MSG:
			if (m.hdr.size >= sizeof(struct vhu_iotlb) &&
			    m.p.iotlb.type == VHU_IOTLB_MISS)
				serve_miss(f, &m.p.iotlb);
			break;
		case VHU_BACKEND_CONFIG_CHANGE_MSG:
			if (fetch_config(f) == 0) {
				f->generation++;
				__atomic_add_fetch(&f->t.config_irq, 1, __ATOMIC_RELEASE);
			}
			break;
		case VHU_BACKEND_VRING_CALL:
			if (m.p.state.index < VT_MAX_QUEUES)
				__atomic_add_fetch(&f->t.used_irq[m.p.state.index], 1,
						   __ATOMIC_RELEASE);
			break;
		default:
			result = 1;      /* not supported by this front-end */
		}
		vhu_session_backend_reply(&f->s, &m, result);
		vhu_msg_close_fds(&m);
		if (f->s.dead)
			break;
	}
}

static void poll_backend(struct vt_transport *t)
{
	struct front *f = of(t);
	unsigned n = 0;
	if (f->s.dead) {
		report_dead(f);
		return;
	}
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++)
		if (f->q[qi].started)
			f->pfd[n++] = (struct pollfd){ .fd = f->q[qi].call, .events = POLLIN };
	f->pfd[n++] = (struct pollfd){ .fd = f->s.sock, .events = POLLIN };
	f->pfd[n++] = (struct pollfd){ .fd = f->s.backend_fd, .events = POLLIN };
	if (poll(f->pfd, n, 0) > 0) {
		for (unsigned i = 0, qi = 0; qi < VT_MAX_QUEUES; qi++) {
			if (!f->q[qi].started)
				continue;
			uint64_t v;
			if ((f->pfd[i++].revents & POLLIN) &&
			    read(f->q[qi].call, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
				f->info.calls++;
				__atomic_add_fetch(&t->used_irq[qi], 1, __ATOMIC_RELEASE);
			}
		}
		if ((f->pfd[n - 2].revents || f->pfd[n - 1].revents) && vhu_session_pump(&f->s)) {
			report_dead(f);
			return;
		}
	}
	if (f->s.qlen)
		serve_backend(f);
	report_dead(f);
}

/* ---- lifetime ------------------------------------------------------------------------ */

static void destroy(struct vt_transport *t)
{
	struct front *f = of(t);
	if (f->o.io)
		iommu_set_unmap_listener(f->o.io, NULL, NULL);
	vhu_session_fini(&f->s);
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++) {
		if (f->q[qi].kick >= 0)
			close(f->q[qi].kick);
		if (f->q[qi].call >= 0)
			close(f->q[qi].call);
	}
	free(f->pfd);
	if (f->o.release)
		f->o.release(f->o.owner);
	free(f);
}

static const struct vt_transport_ops front_ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_device_features = get_device_features,
	.set_driver_features = set_driver_features,
	.config_generation = config_generation,
	.config_read = config_read,
	.config_write = config_write,
	.num_queues = num_queues,
	.queue_size_max = queue_size_max,
	.queue_set = queue_set,
	.queue_enable = queue_enable,
	.queue_enabled = queue_enabled,
	.queue_reset = queue_reset,
	.queue_reset_done = queue_reset_done,
	.notify = notify,
	.poll = poll_backend,
	.destroy = destroy,
};

int vhu_connect(const char *path, unsigned timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	/* a backend between bind and listen refuses for a moment: retry
	 * briefly, not for a whole reply deadline (a stale socket file) */
	unsigned ms = timeout_ms && timeout_ms < 200 ? timeout_ms : 200;
	uint64_t deadline = vhu_now_ns() + (uint64_t)ms * 1000000ull;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int e = errno;
		close(fd);
		if ((e != ECONNREFUSED && e != EAGAIN) || vhu_now_ns() >= deadline) {
			snprintf(err, errlen, "%s: cannot connect: %s", path, strerror(e));
			return -1;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
}

/* The connection-level handshake, before any driver action. */
static int handshake(struct front *f, char *err, size_t errlen)
{
	struct vhu_msg m;
	uint64_t v;

	if (get_u64(f, VHU_GET_FEATURES, &v))
		goto dead;
	f->info.backend_features = v;
	if ((v & VT_BIT(VHU_F_PROTOCOL_FEATURES)) && !f->o.quirks.no_protocol_features) {
		if (get_u64(f, VHU_GET_PROTOCOL_FEATURES, &v))
			goto dead;
		f->info.protocol_offered = v;
		f->info.protocol = v & FRONT_PROTOCOL;
		/* no NEED_REPLY here: REPLY_ACK is not in force yet */
		vhu_msg_init(&m, VHU_SET_PROTOCOL_FEATURES, 0, sizeof(uint64_t));
		m.p.u64 = f->info.protocol;
		if (vhu_session_call(&f->s, &m, NULL))
			goto dead;
		f->s.reply_ack = has_proto(f, VHU_PROTOCOL_F_REPLY_ACK);
		f->proto = true;
	}
	vhu_msg_init(&m, VHU_SET_OWNER, set_flags(f), 0);
	if (send_set(f, &m) < 0)
		goto dead;
	if (has_proto(f, VHU_PROTOCOL_F_BACKEND_REQ)) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			snprintf(err, errlen, "socketpair: %s", strerror(errno));
			return -1;
		}
		vhu_session_set_backend(&f->s, sv[0]);
		vhu_msg_init(&m, VHU_SET_BACKEND_REQ_FD, set_flags(f), 0);
		vhu_msg_set_fds(&m, &sv[1], 1);
		int64_t ack = send_set(f, &m);
		close(sv[1]);
		if (ack < 0)
			goto dead;
	}
	if (has_proto(f, VHU_PROTOCOL_F_MQ)) {
		if (get_u64(f, VHU_GET_QUEUE_NUM, &v))
			goto dead;
		f->info.queue_num = (uint32_t)v;
	}
	int c = has_proto(f, VHU_PROTOCOL_F_CONFIG) ? fetch_config(f) : 1;
	if (c < 0)
		goto dead;
	if (c > 0)
		synth_config(f);

	uint64_t offer = f->info.backend_features & ~VHOST_ONLY_BITS;
	/* IOTLB needs REPLY_ACK and the backend channel (as QEMU requires) */
	if (!has_proto(f, VHU_PROTOCOL_F_REPLY_ACK) || !has_proto(f, VHU_PROTOCOL_F_BACKEND_REQ))
		offer &= ~VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	f->info.offer = offer;
	return 0;
dead:
	snprintf(err, errlen, "%s: not a working vhost-user backend: %s",
		 f->o.path ? f->o.path : "socket", f->s.why);
	return -1;
}

struct vt_transport *vhu_front_open(const struct vhu_front_opts *o, char *err, size_t errlen)
{
	int sock = o->sock;
	if (!o->gm) {
		snprintf(err, errlen, "vhost-user front-end without guest memory");
		if (sock >= 0)
			close(sock);
		if (o->release)
			o->release(o->owner);
		return NULL;
	}
	if (sock < 0) {
		if (!o->path) {
			snprintf(err, errlen, "vhost-user front-end: no socket");
			if (o->release)
				o->release(o->owner);
			return NULL;
		}
		sock = vhu_connect(o->path, o->timeout_ms, err, errlen);
		if (sock < 0) {
			if (o->release)
				o->release(o->owner);
			return NULL;
		}
	}
	struct front *f = calloc(1, sizeof(*f));
	if (!f || vhu_session_init(&f->s, sock, o->timeout_ms)) {
		free(f);
		close(sock);
		if (o->release)
			o->release(o->owner);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->t.ops = &front_ops;
	f->t.name = FRONT_NAME;
	f->o = *o;
	f->o.sock = -1;
	f->qsize_max = o->queue_size_max ? o->queue_size_max : DEFAULT_QSIZE;
	for (unsigned qi = 0; qi < VT_MAX_QUEUES; qi++) {
		f->q[qi].kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		f->q[qi].call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (f->q[qi].kick < 0 || f->q[qi].call < 0) {
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
			destroy(&f->t);
			return NULL;
		}
	}
	f->pfd = calloc(VT_MAX_QUEUES + 2, sizeof(*f->pfd));
	if (!f->pfd) {
		snprintf(err, errlen, "out of memory");
		destroy(&f->t);
		return NULL;
	}
	/* the handshake's failures are the open's error, not a verdict */
	f->death_reported = true;
	if (handshake(f, err, errlen)) {
		destroy(&f->t);
		return NULL;
	}
	f->death_reported = false;
	if (o->io)
		iommu_set_unmap_listener(o->io, front_unmapped, f);
	return &f->t;
}

const struct vhu_front_info *vhu_front_info(struct vt_transport *t)
{
	if (!t || t->ops != &front_ops)
		return NULL;
	return &of(t)->info;
}

bool vhu_front_alive(struct vt_transport *t)
{
	if (!t || t->ops != &front_ops)
		return false;
	struct front *f = of(t);
	poll_backend(t);
	if (f->s.dead) {
		/* the reason is kept even when the handshake had it */
		if (!f->info.why[0])
			snprintf(f->info.why, sizeof(f->info.why), "%s", f->s.why);
		f->info.dead = true;
	}
	return !f->s.dead;
}

struct vhu_front_quirks *vhu_front_quirks(struct vt_transport *t)
{
	if (!t || t->ops != &front_ops)
		return NULL;
	return &of(t)->o.quirks;
}
