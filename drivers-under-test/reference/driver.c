/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * driver.c - the strict reference driver: device status sequence,
 * feature negotiation, configuration space, device and queue reset, and
 * the vt_driver_ops table over the split and packed virtqueues.
 *
 * The driver follows every driver rule (3.1.1 initialisation order,
 * DRV-2.1.1 status bits, DRV-2.2.1 / DRV-6.1 features, DRV-2.4.2 reset,
 * DRV-2.5.1 configuration reads, DRV-2.6.1.1.2 / DRV-2.6.1.2.2 queue
 * reset) and judges the device at each step: reset completes (DEV-2.4.1)
 * and leaves the queues quiet, offered features are valid (DEV-2.2.2,
 * DEV-6.2), configuration is readable before FEATURES_OK (DEV-2.5.2),
 * nothing is used or notified before DRIVER_OK and DEVICE_NEEDS_RESET
 * comes with a configuration change notification (DEV-2.1.2), a reset
 * queue stays quiet and observes its new size (DEV-2.6.1.1.1, DEV-2.6.1.2.1).
 *
 * Platform access follows the policy: ACCESS_PLATFORM when offered (a
 * SHOULD of DRV-6.1), the proposed NO_TRANSLATION (never with
 * ACCESS_PLATFORM) and IDENTITY_ADDRESS (only with it, and only when the
 * driver can keep the 1:1 promise) when the policy knows their bits, and
 * what a secure guest does with a device it cannot confine: refuse,
 * bounce anyway, or proceed unaware.
 *
 * policy.fault makes it break exactly one driver rule on purpose.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ref.h"

#define REF_PROBE_MS  2000u     /* the driver's own probe request        */
#define REF_CHECK_NS  10000000ull /* idle period between status checks   */

static char probe_token;

/* ---- reporting and notifications --------------------------------------- */

int ref_dev_violation(struct ref_driver *d, const char *rule, const char *expected,
		      const char *got, const char *fmt, ...)
{
	char msg[VT_VIOL_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->own_violations++;
	return vt_violation(d->pub.vd, rule, VT_WHO_DEVICE, expected, got, "%s", msg);
}

void ref_notify(struct ref_driver *d, unsigned q, uint16_t next_off, unsigned next_wrap)
{
	uint32_t data = q;
	if (ref_has(d, VIRTIO_F_NOTIFICATION_DATA)) {
		if (ref_fault(d, VT_DRV_FAULT_NOTIFY_DATA_WRONG))
			next_off = (uint16_t)(next_off + 1);  /* DRV-2.8.16 on purpose */
		data = VT_NOTIFY_DATA(q, next_off, next_wrap);
	}
	d->pub.t->ops->notify(d->pub.t, q, data);
}

static void notify_next(struct ref_driver *d, unsigned q)
{
	uint16_t off;
	unsigned wrap;
	if (d->pub.packed)
		ref_packed_next(d, q, &off, &wrap);
	else
		ref_split_next(d, q, &off, &wrap);
	ref_notify(d, q, off, wrap);
}

static void poll_device(struct ref_driver *d, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		d->pub.t->ops->poll(d->pub.t);
		sched_yield();
	}
}

static void nap_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };
	nanosleep(&ts, NULL);
}

void ref_expose_now(struct ref_driver *d, unsigned q)
{
	notify_next(d, q);
	nap_us(200);
}

/* ---- queue bookkeeping ----------------------------------------------------- */

static void free_host(struct ref_vq *vq)
{
	free(vq->req);
	free(vq->seg);
	free(vq->seg_link);
	free(vq->table_free);
	free(vq->table_shadow);
	if (vq->is_packed) {
		free(vq->p.slot_flags);
		free(vq->p.id_free);
		free(vq->p.seg_free);
	} else {
		free(vq->s.shadow);
		free(vq->s.free_next);
	}
	vq->req = NULL;
	vq->seg = NULL;
	vq->seg_link = NULL;
	vq->table_free = NULL;
	vq->table_shadow = NULL;
	memset(&vq->s, 0, sizeof(vq->s) > sizeof(vq->p) ? sizeof(vq->s) : sizeof(vq->p));
}

/* Host-side state of a queue: allocated at setup, never per request. */
static int alloc_host(struct ref_driver *d, unsigned q, bool tables)
{
	struct ref_vq *vq = &d->vq[q];
	unsigned S = vq->size;
	unsigned nt = tables ? (S < REF_IND_TABLES ? S : REF_IND_TABLES) : 0;
	unsigned nrec = S + nt * REF_IND_MAX;

	free_host(vq);
	vq->is_packed = d->pub.packed;
	vq->ntables = (uint16_t)nt;
	vq->req = calloc(S, sizeof(*vq->req));
	vq->seg = calloc(nrec, sizeof(*vq->seg));
	vq->seg_link = calloc(nrec, sizeof(*vq->seg_link));
	vq->table_free = calloc(nt ? nt : 1, sizeof(*vq->table_free));
	vq->table_shadow = calloc(nt ? nt * REF_IND_MAX : 1, sizeof(*vq->table_shadow));
	bool ok = vq->req && vq->seg && vq->seg_link && vq->table_free && vq->table_shadow;
	if (vq->is_packed) {
		vq->p.slot_flags = calloc(S, 2);
		vq->p.id_free = calloc(S, 2);
		vq->p.seg_free = calloc(S, 2);
		ok = ok && vq->p.slot_flags && vq->p.id_free && vq->p.seg_free;
	} else {
		vq->s.shadow = calloc(S, sizeof(*vq->s.shadow));
		vq->s.free_next = calloc(S, 2);
		ok = ok && vq->s.shadow && vq->s.free_next;
	}
	if (!ok)
		return -1;
	for (unsigned i = 0; i < S; i++)
		vq->req[i].table = vq->req[i].table2 = REF_NONE;
	for (unsigned i = 0; i < nt; i++)
		vq->table_free[i] = (uint16_t)(nt - 1 - i);
	vq->ntable_free = (uint16_t)nt;
	return 0;
}

/* Release every outstanding request: the queue is no longer live. */
static void drop_requests(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->req)
		return;
	for (unsigned i = 0; i < vq->size; i++) {
		struct ref_req *req = &vq->req[i];
		if (!req->busy)
			continue;
		ref_req_release(d, vq, req, 0);
	}
	vq->outstanding = 0;
}

static void teardown_queue(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready)
		return;
	drop_requests(d, q);
	ref_dma_coh_unmap(d, &vq->ring);
	ref_dma_coh_unmap(d, &vq->tables);
	vq->ready = false;
}

static void teardown_queues(struct ref_driver *d)
{
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		teardown_queue(d, q);
}

/* Discover-time setup of one queue (3.1.1 step 7), also used to re-enable
 * a reset queue (DRV-2.6.1.2.2): rings, queue_set, queue_enable. */
static int setup_queue(struct ref_driver *d, unsigned q, uint16_t size, bool program)
{
	struct ref_vq *vq = &d->vq[q];
	bool tables = ref_has(d, VIRTIO_F_INDIRECT_DESC) ||
		      ref_fault(d, VT_DRV_FAULT_INDIRECT_NOT_NEGOTIATED);
	vq->size = size;
	if (alloc_host(d, q, tables) != 0)
		return -1;
	if (vq->ntables &&
	    ref_dma_coh_alloc(d, &vq->tables, (uint64_t)vq->ntables * REF_IND_MAX * 16,
			      IOMMU_PERM_R, NULL) != 0)
		return -1;
	vq->broken = false;
	vq->outstanding = 0;
	vq->adds = vq->completed = 0;
	vq->fault_done = false;
	vq->force_notify = false;
	vq->after_qreset = false;
	if ((d->pub.packed ? ref_packed_setup(d, q) : ref_split_setup(d, q)) != 0)
		return -1;
	struct vt_queue_cfg cfg = {
		.size = size,
		.desc = vq->ring.dev + vq->desc_off,
		.driver = vq->ring.dev + vq->drv_off,
		.device = vq->ring.dev + vq->dev_off,
	};
	if (program)
		d->pub.t->ops->queue_set(d->pub.t, q, &cfg);
	d->pub.t->ops->queue_enable(d->pub.t, q);
	vq->ready = true;
	return 0;
}

static uint16_t pick_size(struct ref_driver *d, uint16_t want, uint16_t max)
{
	uint16_t size = want && want < max ? want : max;
	if (size > VIRTQ_MAX_SIZE)
		size = VIRTQ_MAX_SIZE;
	/* A split queue size is a power of 2 (2.7). */
	if (!d->pub.packed)
		while (size & (size - 1))
			size &= (uint16_t)(size - 1);
	return size;
}

static int setup_queues(struct ref_driver *d)
{
	struct vt_transport *t = d->pub.t;
	unsigned n = t->ops->num_queues(t);
	if (n > VT_MAX_QUEUES)
		n = VT_MAX_QUEUES;
	d->pub.nqueues = n;
	for (unsigned q = 0; q < n; q++) {
		uint16_t size = pick_size(d, d->pub.policy.queue_size, t->ops->queue_size_max(t, q));
		if (size == 0)
			continue;       /* queue unavailable */
		if (setup_queue(d, q, size, true) != 0)
			return -1;
	}
	return 0;
}

/* Fingerprint of what the device writes: used rings and notifications. */
struct quiet {
	uint64_t ring[VT_MAX_QUEUES];
	uint32_t irq[VT_MAX_QUEUES];
	uint32_t cfg;
};

static uint64_t vq_snapshot(struct ref_driver *d, unsigned q)
{
	return d->pub.packed ? ref_packed_snapshot(d, q) : ref_split_snapshot(d, q);
}

static void quiet_take(struct ref_driver *d, struct quiet *s)
{
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++) {
		s->ring[q] = d->vq[q].ready ? vq_snapshot(d, q) : 0;
		s->irq[q] = vt_used_irqs(d->pub.t, q);
	}
	s->cfg = vt_config_irqs(d->pub.t);
}

/* Give the device time (polls, and a moment for a threaded one), then
 * name the first thing that moved, or NULL. */
static const char *quiet_changed(struct ref_driver *d, const struct quiet *before, unsigned only_q,
				 unsigned *which)
{
	poll_device(d, 8);
	if (!d->pub.t->synchronous)
		nap_us(1000);
	poll_device(d, 8);
	struct quiet now;
	quiet_take(d, &now);
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++) {
		if (only_q < VT_MAX_QUEUES && q != only_q)
			continue;
		*which = q;
		if (now.ring[q] != before->ring[q])
			return "used ring";
		if (now.irq[q] != before->irq[q])
			return "used buffer notification";
	}
	if (only_q >= VT_MAX_QUEUES && now.cfg != before->cfg)
		return "configuration change notification";
	return NULL;
}

/* ---- status -------------------------------------------------------------- */

static void set_status(struct ref_driver *d, uint8_t s)
{
	d->pub.status = s;
	d->pub.t->ops->set_status(d->pub.t, s);
}

static void add_status(struct ref_driver *d, uint8_t bits)
{
	/* Every write keeps the bits set before (DRV-2.1.1). */
	set_status(d, (uint8_t)(d->pub.status | bits));
}

/* Give up on the device: FAILED on top of what is still set (3.1.1). */
static int fail_device(struct ref_driver *d)
{
	uint8_t st = d->pub.t->ops->get_status(d->pub.t);
	set_status(d, (uint8_t)((st & d->pub.status) | VIRTIO_STATUS_FAILED));
	d->live = false;
	return 1;
}

/* Write 0, then wait for status to read 0 (DRV-2.4.2) unless told not to. */
static int reset_device(struct ref_driver *d, bool await)
{
	struct vt_transport *t = d->pub.t;
	set_status(d, 0);
	if (!await)
		return 0;
	uint64_t deadline = ref_now_ns() + REF_RESET_MS * 1000000ull;
	uint8_t st;
	while ((st = t->ops->get_status(t)) != 0) {
		if (ref_now_ns() > deadline) {
			char got[VT_VIOL_VAL];
			snprintf(got, sizeof(got), "0x%02x", st);
			return ref_dev_violation(d, "DEV-2.4.1", "0x00", got,
						 "device status still 0x%02x %u ms after reset", st,
						 REF_RESET_MS);
		}
		t->ops->poll(t);
		sched_yield();
	}
	return 0;
}

/* Is any outstanding request one a device must accept by DEV-2.7.5.3.2
 * (WRITE on an indirect descriptor, direct + indirect chain)? */
static bool special_outstanding(struct ref_driver *d)
{
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++) {
		struct ref_vq *vq = &d->vq[q];
		if (!vq->ready || vq->is_packed)
			continue;
		for (unsigned i = 0; i < vq->size; i++)
			if (vq->req[i].busy &&
			    (vq->req[i].ind_wflag || vq->req[i].layout == REF_MIXED))
				return true;
	}
	return false;
}

/* DEVICE_NEEDS_RESET: read status when a configuration change
 * notification arrived (or when `force`); once live, the flag must come
 * with that notification (DEV-2.1.2).  Returns -1 when the device needs a
 * reset: the driver stops relying on its queues. */
static int check_needs_reset(struct ref_driver *d, bool force)
{
	struct vt_transport *t = d->pub.t;
	uint32_t irq = vt_config_irqs(t);
	if (irq == d->cfg_irq_seen && !force)
		return d->needs_reset ? -1 : 0;
	d->cfg_irq_seen = irq;
	uint8_t st = t->ops->get_status(t);
	if (!(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return 0;
	if (d->needs_reset)
		return -1;
	d->needs_reset = true;
	if (d->live && irq == d->cfg_irq_ok) {
		/* A threaded device notifies just after setting the bit. */
		uint64_t until = ref_now_ns() + REF_GRACE_NS;
		while (vt_config_irqs(t) == d->cfg_irq_ok && ref_now_ns() < until) {
			t->ops->poll(t);
			sched_yield();
		}
		if (vt_config_irqs(t) == d->cfg_irq_ok)
			ref_dev_violation(d, "DEV-2.1.2", "a configuration change notification",
					  "none", "DEVICE_NEEDS_RESET set after DRIVER_OK without a "
					  "configuration change notification (status 0x%02x)", st);
	}
	if (special_outstanding(d))
		ref_dev_violation(d, "DEV-2.7.5.3.2", "the chain served", "DEVICE_NEEDS_RESET",
				  "the device gave up on a chain with WRITE on its indirect "
				  "descriptor or direct descriptors before an indirect one");
	return -1;
}

/* ---- features ------------------------------------------------------------ */

/* Bits 24..40 the specification defines (24, 27, 30 for transitional
 * devices only). */
#define DEFINED_TRANSPORT_BITS                                                        \
	(VT_BIT(24) | VT_BIT(27) | VT_BIT(VIRTIO_F_INDIRECT_DESC) |                  \
	 VT_BIT(VIRTIO_F_EVENT_IDX) | VT_BIT(30) | (((1ULL << 41) - 1) & ~((1ULL << 32) - 1)))

/* Device-independent bits this driver implements. */
#define UNDERSTOOD_BITS                                                               \
	(VT_BIT(VIRTIO_F_INDIRECT_DESC) | VT_BIT(VIRTIO_F_EVENT_IDX) |               \
	 VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_F_RING_PACKED) |                  \
	 VT_BIT(VIRTIO_F_ORDER_PLATFORM) | VT_BIT(VIRTIO_F_NOTIFICATION_DATA) |       \
	 VT_BIT(VIRTIO_F_RING_RESET))

/* Device-type bits (0..23, 42, 50..63): the policy says which it knows. */
#define DEVICE_TYPE_BITS (((1ULL << 24) - 1) | VT_BIT(42) | ~((1ULL << 50) - 1))

/* The proposed bits the policy knows (profile parameters). */
static uint64_t known_proposals(const struct ref_driver *d)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	return ref_proposal(p->identity_bit) | ref_proposal(p->no_translation_bit);
}

/* The device offers only bits it could support (DEV-2.2.2): nothing
 * reserved for the future, nothing undefined in the transport range --
 * except a proposed bit this driver knows, which a device may offer. */
static void validate_offered(struct ref_driver *d, uint64_t offered)
{
	uint64_t bad = offered & (VT_FEATURES_RESERVED_FUTURE |
				  (VT_FEATURES_TRANSPORT_RANGE & ~DEFINED_TRANSPORT_BITS)) &
		       ~known_proposals(d);
	if (bad) {
		char got[VT_VIOL_VAL];
		snprintf(got, sizeof(got), "0x%llx", (unsigned long long)bad);
		ref_dev_violation(d, "DEV-2.2.2", "no reserved or undefined feature bits", got,
				  "device offers features 0x%llx including reserved/undefined bits "
				  "0x%llx", (unsigned long long)offered, (unsigned long long)bad);
	}
}

/* A bit the device did not offer, for the ACCEPT_UNOFFERED mutant. */
static uint64_t unoffered_bit(uint64_t offered)
{
	if (!(offered & VT_BIT(VIRTIO_F_ORDER_PLATFORM)))
		return VT_BIT(VIRTIO_F_ORDER_PLATFORM);
	for (int b = 23; b >= 0; b--)
		if (!(offered & VT_BIT(b)))
			return VT_BIT(b);
	return 0;
}

/* Can the driver promise that every device address is the GPA, through
 * a complete 1:1 map (IDENTITY_ADDRESS)?  Without an IOMMU addresses
 * already are physical; with one, its aperture must cover all RAM. */
static bool identity_possible(const struct ref_driver *d)
{
	const struct gmem *gm = d->pub.gm;
	unsigned aw;
	if (!d->pub.iommu)
		return true;
	aw = iommu_aw_bits(d->pub.iommu);
	if (aw >= 64)
		return true;
	for (unsigned i = 0; i < gmem_nregions(gm); i++) {
		const struct gmem_region_desc *r = gmem_region(gm, i);
		if (r->gpa + r->size > (1ull << aw))
			return false;
	}
	return true;
}

/* The proposals of the policy, on top of the subset acc: NO_TRANSLATION
 * when offered (never with ACCESS_PLATFORM: PROP-nt-exclusive), then
 * IDENTITY_ADDRESS only with ACCESS_PLATFORM (PROP-ia-needs-ap) and a map
 * the driver can make.  Each has a driver fault breaking its rule. */
static uint64_t choose_proposals(struct ref_driver *d, uint64_t offered, uint64_t acc)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	const uint64_t ap = VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	uint64_t nt = ref_proposal(p->no_translation_bit) & offered;
	uint64_t ia = ref_proposal(p->identity_bit) & offered;

	if (nt && p->accept_proposal) {
		acc |= nt;
		if (!ref_fault(d, VT_DRV_FAULT_NT_WITH_AP))
			acc &= ~ap;     /* else PROP-nt-exclusive broken on purpose */
	}
	if (ia && p->accept_proposal && ref_fault(d, VT_DRV_FAULT_PROPOSAL_WITHOUT_AP))
		return (acc | ia) & ~ap;   /* PROP-ia-needs-ap broken on purpose */
	if (ia && p->accept_proposal && (acc & ap) && identity_possible(d))
		acc |= ia;
	return acc;
}

/* The subset the driver accepts: only offered bits it understands
 * (DRV-2.2.1), VERSION_1 whenever offered (DRV-6.1), ACCESS_PLATFORM as
 * the policy says, and the proposed bits it knows under their rules. */
static uint64_t choose_features(struct ref_driver *d, uint64_t offered)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	uint64_t acc = offered & p->features & (UNDERSTOOD_BITS | DEVICE_TYPE_BITS);
	acc &= ~VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	if (offered & VT_BIT(VIRTIO_F_VERSION_1))
		acc |= VT_BIT(VIRTIO_F_VERSION_1);
	if ((offered & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) && p->accept_access_platform)
		acc |= VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	acc = choose_proposals(d, offered, acc);
	if (ref_fault(d, VT_DRV_FAULT_ACCEPT_UNOFFERED))
		acc |= unoffered_bit(offered);                 /* DRV-2.2.1 on purpose */
	if (ref_fault(d, VT_DRV_FAULT_NO_VERSION_1))
		acc &= ~VT_BIT(VIRTIO_F_VERSION_1);           /* DRV-6.1 on purpose */
	return acc;
}

/* ---- configuration space -------------------------------------------------- */

struct cfg {
	uint64_t wide;          /* blk: capacity; echo: its constant field */
	uint32_t blk_size;
};

static uint32_t cfg32(struct vt_transport *t, unsigned off)
{
	return t->ops->config_read(t, off, 4);
}

/* Fields read between two equal generation counts (DRV-2.5.1). */
static uint64_t cfg_read64(struct ref_driver *d, unsigned off)
{
	struct vt_transport *t = d->pub.t;
	if (ref_fault(d, VT_DRV_FAULT_CONFIG_NO_GENERATION))
		return cfg32(t, off) | (uint64_t)cfg32(t, off + 4) << 32;
	uint64_t v = 0;
	for (unsigned tries = 0; tries < 1000; tries++) {
		uint32_t before = t->ops->config_generation(t);
		v = cfg32(t, off) | (uint64_t)cfg32(t, off + 4) << 32;
		if (t->ops->config_generation(t) == before)
			break;
	}
	return v;
}

static uint32_t cfg_read32(struct ref_driver *d, unsigned off)
{
	struct vt_transport *t = d->pub.t;
	uint32_t v = 0;
	for (unsigned tries = 0; tries < 1000; tries++) {
		uint32_t before = t->ops->config_generation(t);
		v = cfg32(t, off);
		if (t->ops->config_generation(t) == before)
			break;
	}
	return v;
}

/* Read what the driver needs; optional fields only when their feature is
 * offered (DRV-2.5.1). */
static void read_config(struct ref_driver *d, uint64_t offered, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	if (d->pub.policy.device_id == VIRTIO_ID_VCTS_ECHO)
		c->wide = cfg_read64(d, 0);
	if (d->pub.policy.device_id != VIRTIO_ID_BLOCK)
		return;
	c->wide = cfg_read64(d, VIRTIO_BLK_CFG_CAPACITY);
	if (offered & VT_BIT(VIRTIO_BLK_F_BLK_SIZE))
		c->blk_size = cfg_read32(d, VIRTIO_BLK_CFG_BLK_SIZE);
	if (ref_fault(d, VT_DRV_FAULT_READ_UNOFFERED_CONFIG)) {
		/* DRV-2.5.1 broken on purpose: a field whose feature is absent. */
		static const unsigned optional[][2] = {
			{ VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_F_SIZE_MAX },
			{ VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_F_SEG_MAX },
			{ VIRTIO_BLK_CFG_GEOMETRY, VIRTIO_BLK_F_GEOMETRY },
			{ VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_F_BLK_SIZE },
		};
		for (unsigned i = 0; i < 4; i++)
			if (!(offered & VT_BIT(optional[i][1]))) {
				(void)cfg_read32(d, optional[i][0]);
				break;
			}
	}
}

static void compare_config(struct ref_driver *d, const struct cfg *pre, const struct cfg *post)
{
	char exp[VT_VIOL_VAL], got[VT_VIOL_VAL];
	if (pre->wide != post->wide) {
		snprintf(exp, sizeof(exp), "0x%llx", (unsigned long long)post->wide);
		snprintf(got, sizeof(got), "0x%llx", (unsigned long long)pre->wide);
		ref_dev_violation(d, "DEV-2.5.2", exp, got,
				  "the 64-bit field at offset 0 read before FEATURES_OK differs "
				  "from the value after");
	} else if (pre->blk_size != post->blk_size) {
		snprintf(exp, sizeof(exp), "blk_size %u", post->blk_size);
		snprintf(got, sizeof(got), "blk_size %u", pre->blk_size);
		ref_dev_violation(d, "DEV-2.5.2", exp, got,
				  "blk_size read before FEATURES_OK differs from the value after");
	}
}

/* ---- the probe request (a buffer made available before DRIVER_OK) ------- */

static int probe_add(struct ref_driver *d, unsigned q)
{
	struct gmem *gm = d->pub.gm;
	if (d->scratch == 0) {
		uint64_t gpa = gmem_alloc(gm, 0, GMEM_PAGE_SIZE, GMEM_PAGE_SIZE);
		if (gpa == GMEM_NOADDR)
			return -1;
		d->scratch = gpa;
	}
	uint8_t *p = gmem_drv(gm, d->scratch, GMEM_PAGE_SIZE);
	struct vt_buf out[1], in[2];
	unsigned nin;
	if (d->pub.policy.device_id == VIRTIO_ID_BLOCK) {
		struct virtio_blk_outhdr h = { vt_put_le32(VIRTIO_BLK_T_IN), 0, 0 };
		memcpy(p, &h, sizeof(h));
		out[0] = (struct vt_buf){ d->scratch, sizeof(h) };
		in[0] = (struct vt_buf){ d->scratch + 512, VIRTIO_BLK_SECTOR_SIZE };
		in[1] = (struct vt_buf){ d->scratch + 1024 + 512, 1 };
		nin = 2;
	} else {
		for (unsigned i = 0; i < 64; i++)
			p[i] = (uint8_t)(0xa5 ^ i);
		out[0] = (struct vt_buf){ d->scratch, 64 };
		in[0] = (struct vt_buf){ d->scratch + 2048, 64 };
		nin = 1;
	}
	return d->pub.ops->add(&d->pub, q, out, 1, in, nin, &probe_token);
}

/* Nothing may be used or notified before DRIVER_OK (DEV-2.1.2). */
static void probe_check_unused(struct ref_driver *d, const struct quiet *before)
{
	unsigned q = 0;
	const char *what = quiet_changed(d, before, 0, &q);
	if (what)
		ref_dev_violation(d, "DEV-2.1.2", "nothing before DRIVER_OK", what,
				  "queue 0: %s changed before DRIVER_OK (a buffer was made "
				  "available without a notification)", what);
}

static int probe_collect(struct ref_driver *d, unsigned q, const char *what)
{
	void *tok = NULL;
	uint32_t len;
	d->pub.ops->kick(&d->pub, q);
	int r = d->pub.ops->wait_used(&d->pub, q, REF_PROBE_MS);
	if (r == 0) {
		d->own_violations++;
		return vt_violation(d->pub.vd, "INV-transport", VT_WHO_DEVICE, "used", "never used",
				    "queue %u: %s was not used within %u ms", q, what,
				    REF_PROBE_MS);
	}
	if (r < 0)
		return -1;
	r = d->pub.ops->get_used(&d->pub, q, &tok, &len);
	return r == 1 && tok == &probe_token ? 0 : -1;
}

/* ---- initialisation (3.1.1) -------------------------------------------------- */

/* A secure guest refuses a device it cannot confine (neither
 * ACCESS_PLATFORM nor NO_TRANSLATION), unless its policy bounces anyway
 * or proceeds unaware. */
static bool refuse_secure(const struct ref_driver *d, uint64_t acc)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	uint64_t confined = VT_BIT(VIRTIO_F_ACCESS_PLATFORM) | ref_proposal(p->no_translation_bit);
	return p->secure && !(acc & confined) && p->secure_no_ap == VT_SECURE_NO_AP_REFUSE;
}

/* IDENTITY_ADDRESS accepted: when the policy promises the 1:1 map before
 * FEATURES_OK, make it complete now (otherwise ref_dma_setup does, before
 * DRIVER_OK).  0, or -1 when it cannot be made. */
static int identity_early(struct ref_driver *d, uint64_t acc)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	uint64_t ia = VT_BIT(VIRTIO_F_ACCESS_PLATFORM) | ref_proposal(p->identity_bit);
	if ((acc & ia) != ia || ia == VT_BIT(VIRTIO_F_ACCESS_PLATFORM) ||
	    !p->identity_before_features_ok)
		return 0;
	return ref_dma_identity_map(d);
}

/* Steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK.  Returns 0,
 * 1 when refused (FAILED set), -1 on a violation. */
static int negotiate(struct ref_driver *d, struct cfg *pre, struct cfg *post)
{
	struct vt_driver *drv = &d->pub;
	struct vt_transport *t = drv->t;

	/* After FAILED the driver resets before anything else (DRV-2.1.1). */
	bool skip_reset = ref_fault(d, VT_DRV_FAULT_NO_RESET_AFTER_FAILED) &&
			  (drv->status & VIRTIO_STATUS_FAILED);
	if (skip_reset)
		drv->status = 0;        /* DRV-2.1.1 broken on purpose: no reset */
	else if (reset_device(d, !ref_fault(d, VT_DRV_FAULT_RESET_NOT_AWAITED)) != 0)
		return -1;
	teardown_queues(d);
	add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	if (ref_fault(d, VT_DRV_FAULT_CLEAR_STATUS_BIT)) {
		t->ops->set_status(t, VIRTIO_STATUS_DRIVER);   /* DRV-2.1.1 on purpose */
		drv->status |= VIRTIO_STATUS_DRIVER;
	} else {
		add_status(d, VIRTIO_STATUS_DRIVER);
	}

	uint64_t offered = vt_get_device_features(t);
	drv->offered = offered;
	validate_offered(d, offered);
	if (!(offered & VT_BIT(VIRTIO_F_VERSION_1))) {
		ref_dev_violation(d, "DEV-6.2", "VIRTIO_F_VERSION_1 offered", "not offered",
				  "device features 0x%llx lack VIRTIO_F_VERSION_1",
				  (unsigned long long)offered);
		return fail_device(d);
	}
	uint64_t acc = choose_features(d, offered);

	/* Step 4 may read the configuration (DEV-2.5.2: it must be readable). */
	read_config(d, offered, pre);
	if (ref_fault(d, VT_DRV_FAULT_CONFIG_WRITE_EARLY))
		t->ops->config_write(t, VIRTIO_BLK_CFG_CAPACITY, 4,
				     (uint32_t)pre->wide);    /* DRV-3.1.1 on purpose */
	vt_set_driver_features(t, acc);

	if (refuse_secure(d, acc))
		return fail_device(d);
	if (identity_early(d, acc) != 0) {
		fail_device(d);
		return -1;
	}
	if (ref_fault(d, VT_DRV_FAULT_IDENTITY_INCOMPLETE))
		ref_dma_identity_hole(d, acc);   /* PROP-ia-complete-map on purpose */

	if (!ref_fault(d, VT_DRV_FAULT_DRIVER_OK_EARLY)) {
		add_status(d, VIRTIO_STATUS_FEATURES_OK);
		uint8_t st = t->ops->get_status(t);
		if (!(st & VIRTIO_STATUS_FEATURES_OK))
			return fail_device(d);  /* the device refused our subset */
		uint64_t extra = acc & ~offered;
		if (extra) {
			char got[VT_VIOL_VAL];
			snprintf(got, sizeof(got), "FEATURES_OK kept, 0x%llx", (unsigned long long)extra);
			ref_dev_violation(d, "DEV-2.2.2", "FEATURES_OK cleared", got,
					  "device accepted features 0x%llx it never offered",
					  (unsigned long long)extra);
		}
		if (ref_fault(d, VT_DRV_FAULT_FEATURES_AFTER_OK))
			vt_set_driver_features(t, acc);    /* DRV-3.1.1 on purpose */
	}
	drv->negotiated = acc;
	drv->packed = (acc & VT_BIT(VIRTIO_F_RING_PACKED)) != 0;
	read_config(d, offered, post);
	compare_config(d, pre, post);
	d->capacity = post->wide;
	d->blk_size = post->blk_size;
	return 0;
}

static int ref_init(struct vt_driver *drv)
{
	struct ref_driver *d = ref_of(drv);
	struct vt_transport *t = drv->t;
	unsigned v0 = d->own_violations;
	struct cfg pre, post;

	d->live = false;
	d->needs_reset = false;
	drv->negotiated = 0;
	drv->packed = false;
	drv->nqueues = 0;

	int r = negotiate(d, &pre, &post);
	if (r != 0) {
		drv->negotiated = 0;
		return r;
	}
	uint32_t irq0[VT_MAX_QUEUES];
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		irq0[q] = vt_used_irqs(t, q);

	/* Step 7: device-specific setup, queues. */
	if (ref_dma_setup(d) != 0 || setup_queues(d) != 0) {
		fail_device(d);
		return -1;
	}
	if (ref_fault(d, VT_DRV_FAULT_NOTIFY_BEFORE_DRIVER_OK) && d->vq[0].ready)
		notify_next(d, 0);                 /* DRV-3.1.1 on purpose */
	bool probe = drv->policy.prefill_before_driver_ok && d->vq[0].ready;
	if (probe) {
		struct quiet before;
		quiet_take(d, &before);
		if (probe_add(d, 0) != 0) {
			fail_device(d);
			return -1;
		}
		probe_check_unused(d, &before);
	}
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		if (vt_used_irqs(t, q) != irq0[q])
			ref_dev_violation(d, "DEV-2.1.2", "no used buffer notification",
					  "a notification", "queue %u: used buffer notification "
					  "before DRIVER_OK", q);

	/* Step 8. */
	d->cfg_irq_ok = d->cfg_irq_seen = vt_config_irqs(t);
	add_status(d, VIRTIO_STATUS_DRIVER_OK);
	d->live = true;
	if (ref_fault(d, VT_DRV_FAULT_REMAP_AFTER_DRIVER_OK))
		ref_dma_identity_remap(d);         /* INV-iommu-changed on purpose */
	if (probe && probe_collect(d, 0, "the buffer made available before DRIVER_OK") != 0)
		return -1;
	return d->own_violations != v0 ? -1 : 0;
}

/* ---- the data path --------------------------------------------------------- */

static bool queue_ok(struct ref_driver *d, unsigned q)
{
	return q < VT_MAX_QUEUES && d->vq[q].ready;
}

static int ref_add(struct vt_driver *drv, unsigned q, const struct vt_buf *out, unsigned nout,
		   const struct vt_buf *in, unsigned nin, void *token)
{
	struct ref_driver *d = ref_of(drv);
	if (!queue_ok(d, q) || d->needs_reset)
		return -1;
	return drv->packed ? ref_packed_add(d, q, out, nout, in, nin, token)
			   : ref_split_add(d, q, out, nout, in, nin, token);
}

static void ref_kick(struct vt_driver *drv, unsigned q)
{
	struct ref_driver *d = ref_of(drv);
	if (!queue_ok(d, q))
		return;
	if (drv->packed)
		ref_packed_kick(d, q);
	else
		ref_split_kick(d, q);
}

static int ref_get_used(struct vt_driver *drv, unsigned q, void **token, uint32_t *len)
{
	struct ref_driver *d = ref_of(drv);
	if (!queue_ok(d, q))
		return -1;
	return drv->packed ? ref_packed_get_used(d, q, token, len)
			   : ref_split_get_used(d, q, token, len);
}

static int vq_ready(struct ref_driver *d, unsigned q, uint64_t now)
{
	if (d->vq[q].broken)
		return -1;
	return d->pub.packed ? ref_packed_ready(d, q, now) : ref_split_ready(d, q, now);
}

/* The wait ran out: before calling it a stall (the caller reports
 * INV-transport), look for a cause the device is to blame for. */
static int wait_timed_out(struct ref_driver *d, unsigned q, unsigned timeout_ms)
{
	struct ref_vq *vq = &d->vq[q];
	if (d->pub.packed && ref_packed_scan(d, q) != 0)
		return -1;
	if (check_needs_reset(d, true) != 0)
		return -1;
	if (vq->outstanding && vq->after_qreset && vq->completed < vq->qreset_until) {
		ref_dev_violation(d, ref_vq_rule(vq, "DEV-2.6.1.1.1"), "the buffer used",
				  "nothing used", "queue %u: no buffer used within %u ms after the "
				  "queue was reset and re-enabled%s", q, timeout_ms,
				  vq->qreset_resized ? " with a new size" : "");
		return -1;
	}
	if (vq->outstanding && special_outstanding(d)) {
		ref_dev_violation(d, "DEV-2.7.5.3.2", "the chain served", "nothing used",
				  "queue %u: a chain with WRITE on its indirect descriptor or direct "
				  "descriptors before an indirect one was not used within %u ms",
				  q, timeout_ms);
		return -1;
	}
	return 0;
}

static int ref_wait_used(struct vt_driver *drv, unsigned q, unsigned timeout_ms)
{
	struct ref_driver *d = ref_of(drv);
	struct vt_transport *t = drv->t;
	if (!queue_ok(d, q))
		return -1;
	uint64_t now = ref_now_ns();
	uint64_t deadline = now + (uint64_t)timeout_ms * 1000000ull;
	uint64_t next_check = now + REF_CHECK_NS;
	for (;;) {
		int r = vq_ready(d, q, now);
		if (r != 0)
			return r;
		if (vt_verdict_failed(drv->vd) || check_needs_reset(d, false) != 0)
			return -1;
		t->ops->poll(t);
		r = vq_ready(d, q, now);
		if (r != 0)
			return r;
		sched_yield();
		now = ref_now_ns();
		if (now >= next_check) {
			/* Idle: a device in error without telling, or a used
			 * descriptor at the wrong place, shows up here. */
			next_check = now + REF_CHECK_NS;
			if (check_needs_reset(d, true) != 0)
				return -1;
			if (drv->packed && ref_packed_scan(d, q) != 0)
				return -1;
		}
		if (now >= deadline)
			return wait_timed_out(d, q, timeout_ms);
	}
}

/* ---- reset ----------------------------------------------------------------- */

static int ref_reset(struct vt_driver *drv)
{
	struct ref_driver *d = ref_of(drv);
	unsigned v0 = d->own_violations;
	bool await = !ref_fault(d, VT_DRV_FAULT_RESET_NOT_AWAITED);

	if (d->live)
		check_needs_reset(d, true);
	if (reset_device(d, await) != 0) {
		teardown_queues(d);
		d->live = false;
		return -1;
	}
	if (!await)
		/* DRV-2.4.2 broken on purpose: initialisation starts again at
		 * once, before status was seen to read 0. */
		add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	if (await) {
		/* Once status reads 0 the device leaves the queues alone and
		 * sends nothing (DEV-2.4.1). */
		struct quiet before;
		unsigned q = 0;
		quiet_take(d, &before);
		const char *what = quiet_changed(d, &before, VT_MAX_QUEUES, &q);
		if (what)
			ref_dev_violation(d, "DEV-2.4.1", "nothing after reset", what,
					  "%s changed (queue %u) after device status read 0",
					  what, q);
	}
	teardown_queues(d);
	d->live = false;
	d->needs_reset = false;
	return d->own_violations != v0 ? -1 : 0;
}

/* Reset queue q, verify it, then set it up again with fresh rings. */
static int ref_queue_reset(struct vt_driver *drv, unsigned q, uint16_t new_size)
{
	struct ref_driver *d = ref_of(drv);
	struct vt_transport *t = drv->t;
	if (!queue_ok(d, q) || !ref_has(d, VIRTIO_F_RING_RESET) || !d->live)
		return -1;
	struct ref_vq *vq = &d->vq[q];
	unsigned v0 = d->own_violations;

	t->ops->queue_reset(t, q);
	if (!ref_fault(d, VT_DRV_FAULT_QUEUE_RESET_UNVERIFIED)) {
		/* Not complete until the device says so (DRV-2.6.1.1.2). */
		uint64_t deadline = ref_now_ns() + REF_RESET_MS * 1000000ull;
		while (!t->ops->queue_reset_done(t, q)) {
			if (ref_now_ns() > deadline) {
				ref_dev_violation(d, "DEV-2.6.1.1.1", "queue reset complete",
						  "still resetting", "queue %u: reset not complete "
						  "after %u ms", q, REF_RESET_MS);
				return -1;
			}
			t->ops->poll(t);
			sched_yield();
		}
		/* A reset queue executes nothing and notifies nothing. */
		struct quiet before;
		unsigned which = q;
		quiet_take(d, &before);
		const char *what = quiet_changed(d, &before, q, &which);
		if (what)
			ref_dev_violation(d, "DEV-2.6.1.1.1", "nothing after queue reset", what,
					  "queue %u: %s changed after the queue was reset", q, what);
	}
	uint16_t old = vq->size;
	uint16_t size = pick_size(d, new_size ? new_size : old, t->ops->queue_size_max(t, q));
	teardown_queue(d, q);
	/* Fresh ring memory, so a device still on the old rings shows. */
	struct ref_coh tmp = vq->ring;
	vq->ring = vq->spare;
	vq->spare = tmp;
	bool program = !ref_fault(d, VT_DRV_FAULT_REENABLE_UNCONFIGURED);
	if (size == 0 || setup_queue(d, q, size, program) != 0)
		return -1;
	vq->after_qreset = true;
	vq->qreset_resized = size != old;
	vq->qreset_until = 2ull * (size > old ? size : old) + 2;
	/* Once around the new ring: a device still on the old size goes
	 * wrong at the wrap (DEV-2.6.1.2.1). */
	if (vq->qreset_resized && program)
		for (unsigned i = 0; i <= size && d->own_violations == v0; i++)
			if (probe_add(d, q) != 0 ||
			    probe_collect(d, q, "a request on the re-enabled queue") != 0)
				return -1;
	return d->own_violations != v0 ? -1 : 0;
}

/* ---- lifetime ---------------------------------------------------------------- */

static void ref_destroy(struct vt_driver *drv)
{
	struct ref_driver *d = ref_of(drv);
	if (!d)
		return;
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		free_host(&d->vq[q]);
	ref_dma_free(d);
	free(d);
}

static const struct vt_driver_ops ref_ops = {
	.name = "reference",
	.init = ref_init,
	.add = ref_add,
	.kick = ref_kick,
	.get_used = ref_get_used,
	.wait_used = ref_wait_used,
	.reset = ref_reset,
	.queue_reset = ref_queue_reset,
	.destroy = ref_destroy,
};

struct vt_driver *vt_ref_driver_create(const struct vt_driver_policy *p, struct vt_transport *t,
				       struct gmem *gm, struct iommu *iommu, struct vt_verdict *vd)
{
	if (!p || !t || !gm || !vd)
		return NULL;
	struct ref_driver *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->pub.ops = &ref_ops;
	d->pub.policy = *p;
	d->pub.t = t;
	d->pub.gm = gm;
	d->pub.iommu = iommu;
	d->pub.vd = vd;
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++) {
		d->vq[q].ring.iova_page = d->vq[q].spare.iova_page = UINT32_MAX;
		d->vq[q].tables.iova_page = UINT32_MAX;
	}
	return &d->pub;
}

void vt_ref_driver_dma_stats(struct vt_driver *drv, struct vt_dma_stats *out)
{
	*out = ref_of(drv)->dma.stats;
}
