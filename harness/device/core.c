/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core.c - the checking device's core: device status state machine,
 * feature negotiation, configuration space, queue registers, notification
 * dispatch, the lock, and the fault switches that make it misbehave.
 *
 * Every step the driver takes through a register is judged against the
 * driver clauses (status 2.1.1, initialisation 3.1.1, reset 2.4.2,
 * features 2.2.1 and 6.1, configuration space 2.5.1, queue reset
 * 2.6.1.x, ring placement 2.7.1 / 2.8.11).  Rings are left to the
 * engines (split.c, packed.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../iommu.h"
#include "ring.h"

#define DEFAULT_QUEUE_SIZE   256
#define RESERVED_FEATURE_BIT 44       /* reserved for future extensions */

#define S_ACK         VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRIVER      VIRTIO_STATUS_DRIVER
#define S_DRIVER_OK   VIRTIO_STATUS_DRIVER_OK
#define S_FEATURES_OK VIRTIO_STATUS_FEATURES_OK
#define S_NEEDS_RESET VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define S_FAILED      VIRTIO_STATUS_FAILED

static inline void lock(struct vt_device *dev)
{
	pthread_mutex_lock(&dev->lock);
}

static inline void unlock(struct vt_device *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

static inline uint8_t status_now(const struct vt_device *dev)
{
	return __atomic_load_n(&dev->status, __ATOMIC_ACQUIRE);
}

static inline void status_store(struct vt_device *dev, uint8_t v)
{
	__atomic_store_n(&dev->status, v, __ATOMIC_RELEASE);
}

static const struct vt_ring_engine *engine_of(const struct vt_vq *vq)
{
	return vq->packed ? &vt_packed_engine : &vt_split_engine;
}

uint64_t vt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Services for the engines                                           */

bool vt_vq_live(const struct vt_device *dev, const struct vt_vq *vq)
{
	if (!vq->enabled || vq->broken || vq->in_reset || dev->error_state)
		return false;
	/* The device consumes nothing before DRIVER_OK (DEV-2.1.2). */
	if (status_now(dev) & S_DRIVER_OK)
		return true;
	return dev->opts.fault == VT_DEV_FAULT_CONSUME_BEFORE_DRIVER_OK;
}

int vt_drv_violation(struct vt_device *dev, struct vt_vq *vq, const char *rule,
		     const char *expected, const char *got, const char *fmt, ...)
{
	char msg[VT_VIOL_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vq) {
		vq->broken = true;
		return vt_violation(dev->vd, rule, VT_WHO_DRIVER, expected, got, "queue %u: %s",
				    vq->index, msg);
	}
	return vt_violation(dev->vd, rule, VT_WHO_DRIVER, expected, got, "%s", msg);
}

void vt_irq(struct vt_device *dev, int vector)
{
	if (dev->irq)
		dev->irq(dev->irq_ctx, vector);
}

void vt_enter_error(struct vt_device *dev)
{
	if (dev->error_state)
		return;
	dev->error_state = true;
	status_store(dev, status_now(dev) | S_NEEDS_RESET);
	/* With DRIVER_OK set, DEVICE_NEEDS_RESET comes with a configuration
	 * change notification (DEV-2.1.2). */
	if ((status_now(dev) & S_DRIVER_OK) &&
	    dev->opts.fault != VT_DEV_FAULT_NEEDS_RESET_NO_NOTIFY)
		vt_irq(dev, VT_IRQ_CONFIG);
}

int vt_check_buffers(struct vt_device *dev, struct vt_vq *vq, const struct vt_chain *c)
{
	for (unsigned i = 0; i < c->nseg; i++) {
		const struct vt_seg *s = &c->seg[i];
		if (s->len && gmem_dev_check(dev->dma, s->addr, s->len, s->write, VT_WHO_DRIVER)) {
			vq->broken = true;
			return VT_FETCH_BROKEN;
		}
	}
	return VT_FETCH_OK;
}

/* Fault WRITE_READABLE: flip the first byte of the first readable buffer
 * (DEV-2.7.5.1 / DEV-2.8.15 forbid any write there). */
static void write_readable(struct vt_device *dev, const struct vt_chain *c)
{
	for (unsigned i = 0; i < c->nout; i++) {
		uint8_t b;
		if (!c->seg[i].len)
			continue;
		if (gmem_dev_read(dev->dma, c->seg[i].addr, &b, 1) == 0) {
			b = (uint8_t)~b;
			gmem_dev_write(dev->dma, c->seg[i].addr, &b, 1);
		}
		return;
	}
}

/* Fault IGNORE_IOMMU: the data buffers' addresses are taken as
 * guest-physical although ACCESS_PLATFORM puts them behind the IOMMU;
 * the rings stay translated (INV-iommu-bypass). */
static int handle_untranslated(struct vt_device *dev, struct vt_vq *vq, const struct vt_chain *c,
			       uint32_t *w)
{
	struct iommu *io = dev->dma->iommu;

	dev->dma->iommu = NULL;
	int rc = dev->type->handle(dev, vq->index, c, w);
	dev->dma->iommu = io;
	return rc;
}

/* The first page of guest RAM that is private now, or GMEM_NOADDR. */
static uint64_t private_page(const struct gmem *gm)
{
	if (!gmem_secure(gm))
		return GMEM_NOADDR;
	for (unsigned i = 0; i < gmem_nregions(gm); i++) {
		const struct gmem_region_desc *r = gmem_region(gm, i);
		for (uint64_t gpa = r->gpa; gpa < r->gpa + r->size; gpa += GMEM_PAGE_SIZE)
			if (!gmem_is_shared(gm, gpa, 1))
				return gpa;
	}
	return GMEM_NOADDR;
}

/* Fault READ_PRIVATE: besides the chain, read one private page of guest
 * RAM, by its guest-physical address (INV-unshared-access). */
static void read_private(struct vt_device *dev)
{
	uint64_t gpa = private_page(dev->dma->gm);
	struct iommu *io = dev->dma->iommu;
	uint8_t b;

	if (gpa == GMEM_NOADDR)
		return;
	dev->dma->iommu = NULL;
	gmem_dev_read(dev->dma, gpa, &b, 1);
	dev->dma->iommu = io;
}

/* Fault UNMAPPED_IOVA: read the first page past a buffer of the chain
 * that the IOMMU does not map (INV-iommu-fault). */
static void read_unmapped(struct vt_device *dev, const struct vt_chain *c)
{
	struct iommu *io = dev->dma->iommu;
	uint64_t gpa, page;
	unsigned perm;
	uint8_t b;

	if (!io || !c->nseg || !c->seg[0].len)
		return;
	page = ((c->seg[0].addr + c->seg[0].len - 1) >> GMEM_PAGE_SHIFT) + 1;
	for (unsigned i = 0; i < 4096 && page; i++, page++)
		if (iommu_lookup(io, page << GMEM_PAGE_SHIFT, &gpa, &perm) != 0) {
			gmem_dev_read(dev->dma, page << GMEM_PAGE_SHIFT, &b, 1);
			return;
		}
}

/* Fault WRITE_READONLY: store into the driver area (split: avail->flags,
 * packed: the driver event suppression), which the device only reads and
 * the driver mapped read-only (INV-iommu-fault).  Only behind an IOMMU,
 * where the store is refused and nothing changes. */
static void write_driver_area(struct vt_device *dev, const struct vt_vq *vq)
{
	uint16_t v;

	if (dev->dma->iommu && gmem_dev_read16(dev->dma, vq->driver, &v) == 0)
		gmem_dev_write16(dev->dma, vq->driver, v);
}

/* The faults that act once per chain served, after it. */
static void chain_fault(struct vt_device *dev, const struct vt_vq *vq, const struct vt_chain *c)
{
	switch (dev->opts.fault) {
	case VT_DEV_FAULT_WRITE_READABLE:
		write_readable(dev, c);
		break;
	case VT_DEV_FAULT_READ_PRIVATE:
		read_private(dev);
		break;
	case VT_DEV_FAULT_UNMAPPED_IOVA:
		read_unmapped(dev, c);
		break;
	case VT_DEV_FAULT_WRITE_READONLY:
		write_driver_area(dev, vq);
		break;
	default:
		break;
	}
}

int vt_serve(struct vt_device *dev, struct vt_vq *vq, const struct vt_chain *c,
	     uint32_t *written)
{
	uint32_t w = 0;
	int rc;

	if (__builtin_expect(dev->opts.fault == VT_DEV_FAULT_IGNORE_IOMMU, 0))
		rc = handle_untranslated(dev, vq, c, &w);
	else
		rc = dev->type->handle(dev, vq->index, c, &w);
	if (rc < 0)
		return VT_FETCH_ERROR;
	if (w > c->in_len) {
		vt_violation(dev->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
			     "device type %s reports %u bytes written into %llu writable bytes",
			     dev->type->name, w, (unsigned long long)c->in_len);
		w = (uint32_t)c->in_len;
	}
	if (__builtin_expect(dev->opts.fault != VT_DEV_FAULT_NONE, 0))
		chain_fault(dev, vq, c);
	__atomic_add_fetch(&dev->requests, 1, __ATOMIC_RELAXED);
	dev->served++;
	if (dev->opts.error_after && dev->served >= dev->opts.error_after)
		dev->error_pending = true;
	*written = w;
	return VT_FETCH_OK;
}

/* After a batch: the error state the batch asked for. */
static void finish_error(struct vt_device *dev)
{
	if (dev->error_pending) {
		dev->error_pending = false;
		vt_enter_error(dev);
	}
}

/* ------------------------------------------------------------------ */
/* Configuration space accesses and the generation bracket            */

static int popcount8(uint8_t v)
{
	return __builtin_popcount(v);
}

static void cfg_reset_window(struct vt_cfg_track *t)
{
	t->open = false;
	t->gen_in_window = false;
	t->pending_after = false;
	memset(t->wide_mask, 0, sizeof(t->wide_mask));
	memset(t->wide_before, 0, sizeof(t->wide_before));
}

static void cfg_report(struct vt_device *dev, const char *expected, const char *got,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cfg_report(struct vt_device *dev, const char *expected, const char *got,
		       const char *fmt, ...)
{
	char msg[VT_VIOL_MSG];
	va_list ap;

	if (dev->cfg.reported)
		return;
	dev->cfg.reported = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vt_violation(dev->vd, "DRV-2.5.1", VT_WHO_DRIVER, expected, got, "%s", msg);
}

/* Any register access other than the configuration space ends a run of
 * configuration reads: a wide field read in pieces must have been
 * followed by a generation read by then (DRV-2.5.1). */
static void close_cfg_window(struct vt_device *dev)
{
	struct vt_cfg_track *t = &dev->cfg;

	if (!t->open)
		return;
	if (t->pending_after)
		cfg_report(dev, "generation read after the pieces", "none",
			   "a configuration field wider than 32 bits was read in pieces "
			   "without reading config_generation afterwards");
	cfg_reset_window(t);
}

static void cfg_check_read(struct vt_device *dev, unsigned off, unsigned width)
{
	const struct vt_device_type *ty = dev->type;
	struct vt_cfg_track *t = &dev->cfg;

	t->open = true;
	/* An optional field exists only if its feature is offered: the
	 * driver checks the offer before touching it (DRV-2.5.1). */
	if (ty->config_field_feature && !t->reported) {
		for (unsigned i = 0; i < width; i++) {
			int bit = ty->config_field_feature(off + i, 1);
			if (bit >= 0 && bit < 64 && !((dev->offered >> bit) & 1)) {
				char exp[48];
				snprintf(exp, sizeof(exp), "feature bit %d offered", bit);
				cfg_report(dev, exp, "not offered",
					   "reads configuration byte %u, which exists only with "
					   "feature bit %d, and the device did not offer it",
					   off + i, bit);
				break;
			}
		}
	}
	/* Fields wider than 32 bits are not read atomically: the pieces go
	 * between two generation reads. */
	for (unsigned k = 0; k < ty->nwide && k < 4; k++) {
		const struct vt_config_field *f = &ty->wide[k];
		unsigned lo = off > f->off ? off : f->off;
		unsigned hi = off + width < f->off + f->width ? off + width : f->off + f->width;
		if (lo >= hi)
			continue;
		if (!t->wide_mask[k])
			t->wide_before[k] = t->gen_in_window;
		for (unsigned b = lo; b < hi; b++)
			t->wide_mask[k] |= (uint8_t)(1u << ((b - f->off) & 7));
		if (popcount8(t->wide_mask[k]) <= 4)
			continue;
		if (!t->wide_before[k])
			cfg_report(dev, "generation read before the pieces", "none",
				   "reads the %u-byte configuration field at offset %u in pieces "
				   "without reading config_generation first", f->width, f->off);
		else
			t->pending_after = true;
	}
}

/* ------------------------------------------------------------------ */
/* Device status                                                      */

static void init_violation(struct vt_device *dev, const char *rule, const char *expected,
			   const char *got, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One initialisation rule per reset: the first broken step is reported,
 * what follows from it is not. */
static void init_violation(struct vt_device *dev, const char *rule, const char *expected,
			   const char *got, const char *fmt, ...)
{
	char msg[VT_VIOL_MSG];
	va_list ap;

	if (dev->init_judged)
		return;
	dev->init_judged = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vt_violation(dev->vd, rule, VT_WHO_DRIVER, expected, got, "%s", msg);
}

static void hex8(char *buf, size_t n, uint8_t v)
{
	snprintf(buf, n, "0x%02x", v);
}

/* The status write rules: no bit cleared except by reset, nothing new
 * after FAILED (DRV-2.1.1), and the initialisation order (DRV-3.1.1). */
static void check_status_write(struct vt_device *dev, uint8_t cur, uint8_t v)
{
	uint8_t set = (uint8_t)(v & ~cur);
	uint8_t cleared = (uint8_t)(cur & ~v & ~S_NEEDS_RESET);
	bool v1 = (dev->offered >> VIRTIO_F_VERSION_1) & 1;
	char got[16], exp[32];

	if (dev->init_judged)
		return;
	hex8(got, sizeof(got), v);
	if (dev->failed && set) {
		init_violation(dev, "DRV-2.1.1", "a reset (status 0) first", got,
			       "status 0x%02x written after FAILED without resetting the device", v);
		return;
	}
	if (cleared) {
		snprintf(exp, sizeof(exp), "bits 0x%02x kept", cleared);
		init_violation(dev, "DRV-2.1.1", exp, got,
			       "status write 0x%02x clears bit(s) 0x%02x set before; only a reset "
			       "clears status bits", v, cleared);
		return;
	}
	if ((set & S_DRIVER) && !(v & S_ACK)) {
		init_violation(dev, "DRV-3.1.1", "ACKNOWLEDGE before DRIVER", got,
			       "DRIVER set before ACKNOWLEDGE");
		return;
	}
	if (set & S_FEATURES_OK) {
		if (!(v & S_ACK) || !(v & S_DRIVER)) {
			init_violation(dev, "DRV-3.1.1", "ACKNOWLEDGE and DRIVER first", got,
				       "FEATURES_OK set before ACKNOWLEDGE and DRIVER");
			return;
		}
		if (!dev->features_written) {
			init_violation(dev, "DRV-3.1.1", "driver features written", "none",
				       "FEATURES_OK set before the driver wrote the features it accepts");
			return;
		}
	}
	if (set & S_DRIVER_OK) {
		if (!(v & S_ACK) || !(v & S_DRIVER)) {
			init_violation(dev, "DRV-3.1.1", "ACKNOWLEDGE and DRIVER first", got,
				       "DRIVER_OK set before ACKNOWLEDGE and DRIVER");
			return;
		}
		if (v1 && !(cur & S_FEATURES_OK)) {
			const char *why = (set & S_FEATURES_OK) ?
				"FEATURES_OK and DRIVER_OK set in one write: FEATURES_OK was not re-read" :
				dev->features_refused ?
				"DRIVER_OK set after the device refused FEATURES_OK" :
				"DRIVER_OK set without FEATURES_OK";
			init_violation(dev, "DRV-3.1.1", "FEATURES_OK accepted first", got, "%s", why);
			return;
		}
		if (v1 && !dev->status_read_after_fok) {
			init_violation(dev, "DRV-3.1.1", "status re-read after FEATURES_OK", "none",
				       "DRIVER_OK set without re-reading device status after FEATURES_OK");
			return;
		}
	}
}

/* Device addresses go through the platform IOMMU only when
 * VIRTIO_F_ACCESS_PLATFORM is negotiated; otherwise they are physical
 * addresses (6, VIRTIO_F_ACCESS_PLATFORM). */
static void set_negotiated(struct vt_device *dev, uint64_t f)
{
	__atomic_store_n(&dev->negotiated, f, __ATOMIC_RELAXED);
	dev->dma->iommu = (f >> VIRTIO_F_ACCESS_PLATFORM) & 1 ? dev->platform_iommu : NULL;
}

/* A feature combination the device refuses (opts.conflict): the driver
 * that asked for it broke the conflict's rule, unless the refusal is the
 * device's own policy (no rule).  Returns whether one matched. */
static bool conflicting(struct vt_device *dev, uint64_t acked)
{
	unsigned n = dev->opts.nconflict < 2 ? dev->opts.nconflict : 2;

	for (unsigned i = 0; i < n; i++) {
		const struct vt_feature_conflict *k = &dev->opts.conflict[i];
		if (!k->mask || (acked & k->mask) != k->match)
			continue;
		if (k->rule) {
			char exp[VT_VIOL_VAL], got[VT_VIOL_VAL];
			snprintf(exp, sizeof(exp), "features & 0x%llx != 0x%llx",
				 (unsigned long long)k->mask, (unsigned long long)k->match);
			snprintf(got, sizeof(got), "0x%llx",
				 (unsigned long long)(acked & k->mask));
			vt_violation(dev->vd, k->rule, VT_WHO_DRIVER, exp, got,
				     "FEATURES_OK with driver features 0x%016llx: a combination the "
				     "device refuses", (unsigned long long)acked);
		}
		return true;
	}
	return false;
}

/* ACCESS_PLATFORM_IDENTITY_ADDRESS negotiated behind a platform IOMMU:
 * the promise of a 1:1 map is the device's to check. */
static bool identity_live(const struct vt_device *dev)
{
	int bit = dev->opts.identity_bit;
	return bit > 0 && bit < 64 && dev->platform_iommu && vt_has(dev, (unsigned)bit);
}

/* The 1:1 map must be complete by now (PROP-ia-complete-map). */
static void identity_checkpoint(struct vt_device *dev, const char *when)
{
	if (iommu_identity_complete(dev->platform_iommu, dev->dma->gm))
		return;
	vt_violation(dev->vd, "PROP-ia-complete-map", VT_WHO_DRIVER, "every RAM page mapped 1:1",
		     "incomplete", "IDENTITY_ADDRESS negotiated, but at %s the IOMMU does not map "
		     "all guest RAM 1:1 (%llu pages mapped)", when,
		     (unsigned long long)iommu_mapped_pages(dev->platform_iommu));
}

/* FEATURES_OK written: judge the accepted set, then accept or refuse it.
 * Refusing (FEATURES_OK reads back clear) is the device's right
 * (DEV-2.2.2).  Returns whether FEATURES_OK stays set. */
static bool features_ok(struct vt_device *dev)
{
	uint64_t acked = dev->acked;
	uint64_t unoffered = acked & ~dev->offered;
	uint64_t require = dev->opts.require_acked;
	bool refuse;

	dev->features_ok_written = true;
	dev->status_read_after_fok = false;
	if (((dev->offered >> VIRTIO_F_VERSION_1) & 1) && !((acked >> VIRTIO_F_VERSION_1) & 1))
		init_violation(dev, "DRV-6.1", "VERSION_1 accepted", "not accepted",
			       "FEATURES_OK with driver features 0x%016llx: VIRTIO_F_VERSION_1 is "
			       "offered but not accepted", (unsigned long long)acked);
	/* Fault: keeps FEATURES_OK without the ACCESS_PLATFORM its policy
	 * requires (POL-cc-device-refuses). */
	if (dev->opts.fault == VT_DEV_FAULT_ACCEPT_WITHOUT_AP)
		require &= ~VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	/* A forbidden combination is the driver's fault whatever else the
	 * device holds against the set. */
	refuse = dev->opts.nconflict && conflicting(dev, acked);
	refuse = refuse || (unoffered && dev->opts.fault != VT_DEV_FAULT_ACCEPT_UNOFFERED) ||
		 (acked & dev->opts.refuse_if_acked) || ((acked & require) != require);
	if (refuse) {
		dev->features_refused = true;
		set_negotiated(dev, acked & dev->offered);
		return false;
	}
	dev->features_refused = false;
	set_negotiated(dev, acked);
	if (dev->opts.identity_check_features_ok && identity_live(dev))
		identity_checkpoint(dev, "FEATURES_OK");
	return true;
}

static void process_locked(struct vt_device *dev, unsigned q, bool notified);

/* DRIVER_OK: the device is live.  Buffers the driver made available
 * before it (allowed, 3.1.1 step 7) are picked up now.  Under
 * IDENTITY_ADDRESS the 1:1 map is complete by now and stays as it is
 * until reset: the IOMMU reports any change from here on. */
static void went_live(struct vt_device *dev)
{
	if (identity_live(dev)) {
		if (!dev->opts.identity_check_features_ok)
			identity_checkpoint(dev, "DRIVER_OK");
		iommu_lock(dev->platform_iommu);
	}
	if (dev->error_state && dev->opts.fault != VT_DEV_FAULT_NEEDS_RESET_NO_NOTIFY)
		vt_irq(dev, VT_IRQ_CONFIG);
	for (unsigned q = 0; q < dev->nq; q++)
		if (dev->vq[q].enabled)
			process_locked(dev, q, true);
}

static void vq_clear_ring_state(struct vt_vq *vq, bool keep_used)
{
	vq->last_avail = 0;
	vq->avail_event = 0;
	vq->avail_event_set = false;
	vq->next_avail = 0;
	vq->avail_wrap = true;
	if (!keep_used) {
		vq->used_idx = 0;
		vq->next_used = 0;
		vq->used_wrap = true;
	}
	vq->idx_jumped = false;
	vq->suspect = false;
	vq->nheld = 0;
}

/* Fault USE_AFTER_RESET: keep what is needed to return one held chain
 * (or at least notify) after the reset. */
static void arm_ghost(struct vt_device *dev)
{
	struct vt_vq *pick = NULL;

	if (dev->opts.fault != VT_DEV_FAULT_USE_AFTER_RESET || !(status_now(dev) & S_DRIVER_OK))
		return;
	for (unsigned q = 0; q < dev->nq && !pick; q++)
		if (dev->vq[q].enabled && dev->vq[q].nheld)
			pick = &dev->vq[q];
	for (unsigned q = 0; q < dev->nq && !pick; q++)
		if (dev->vq[q].enabled)
			pick = &dev->vq[q];
	if (!pick)
		return;
	dev->ghost.vq = *pick;
	dev->ghost.vq.nheld = pick->nheld ? 1 : 0;
	if (pick->nheld)
		dev->ghost.held = pick->held[0];
	dev->ghost.vq.held = &dev->ghost.held;
	dev->ghost.eng = engine_of(pick);
	dev->ghost.iommu = dev->dma->iommu;
	dev->ghost.armed = true;
}

static void device_reset(struct vt_device *dev)
{
	uint8_t old = dev->show_stale || dev->reset_reads_left ? dev->shown : status_now(dev);

	/* The identity map may change again once the device is reset. */
	if (identity_live(dev))
		iommu_unlock(dev->platform_iommu);
	arm_ghost(dev);
	for (unsigned q = 0; q < dev->nq; q++) {
		struct vt_vq *vq = &dev->vq[q];
		struct vt_held *held = vq->held;
		unsigned idx = vq->index;
		memset(vq, 0, sizeof(*vq));
		vq->index = idx;
		vq->held = held;
		vq_clear_ring_state(vq, false);
	}
	status_store(dev, 0);
	dev->failed = false;
	dev->error_state = false;
	dev->error_pending = false;
	dev->init_judged = false;
	dev->status_read_after_fok = false;
	dev->acked = 0;
	set_negotiated(dev, 0);
	dev->features_written = false;
	dev->features_ok_written = false;
	dev->features_refused = false;
	dev->served = 0;
	cfg_reset_window(&dev->cfg);
	dev->cfg.reported = false;
	dev->read_zero = old == 0;
	dev->reset_reads_left = 0;
	dev->show_stale = false;
	if (old && dev->opts.fault == VT_DEV_FAULT_STATUS_NOT_RESET) {
		/* Fault: status keeps reading the old value (DEV-2.4.1). */
		dev->shown = old;
		dev->show_stale = true;
	} else if (old && dev->opts.reset_delay_reads) {
		dev->shown = old;
		dev->reset_reads_left = dev->opts.reset_delay_reads;
	}
}

static void status_write(struct vt_device *dev, uint8_t v)
{
	uint8_t cur = status_now(dev);
	uint8_t set = (uint8_t)(v & ~cur);
	uint8_t nv;

	/* The driver waits for status to read 0 before initialising again
	 * (DRV-2.4.2, a SHOULD: advice). */
	if (dev->opts.reset_delay_reads && !dev->read_zero &&
	    dev->opts.fault != VT_DEV_FAULT_STATUS_NOT_RESET) {
		dev->read_zero = true;
		vt_advice(dev->vd, "DRV-2.4.2", VT_WHO_DRIVER,
			  "status 0x%02x written before device status read back 0 after the reset",
			  v);
	}
	dev->read_zero = true;
	dev->reset_reads_left = 0;
	dev->show_stale = false;
	dev->ghost.armed = false;

	check_status_write(dev, cur, v);
	nv = (uint8_t)(v | (cur & S_NEEDS_RESET));
	if ((set & S_FEATURES_OK) && !features_ok(dev))
		nv &= (uint8_t)~S_FEATURES_OK;
	if (v & S_FAILED)
		dev->failed = true;
	status_store(dev, nv);
	if ((set & S_DRIVER_OK) && (nv & S_DRIVER_OK))
		went_live(dev);
}

/* Fault CONSUME_BEFORE_DRIVER_OK: a device that treats an enabled queue
 * as live takes buffers whenever it runs. */
static void consume_early(struct vt_device *dev)
{
	if (dev->opts.fault != VT_DEV_FAULT_CONSUME_BEFORE_DRIVER_OK ||
	    (status_now(dev) & S_DRIVER_OK))
		return;
	for (unsigned q = 0; q < dev->nq; q++)
		if (dev->vq[q].enabled)
			process_locked(dev, q, true);
}

uint8_t vt_device_get_status(struct vt_device *dev)
{
	uint8_t v;

	lock(dev);
	close_cfg_window(dev);
	if (dev->reset_reads_left) {
		dev->reset_reads_left--;
		v = dev->shown;
	} else if (dev->show_stale) {
		v = dev->shown;
	} else {
		v = status_now(dev);
	}
	if (v == 0)
		dev->read_zero = true;
	dev->status_read_after_fok = true;
	consume_early(dev);
	unlock(dev);
	return v;
}

void vt_device_set_status(struct vt_device *dev, uint8_t status)
{
	lock(dev);
	close_cfg_window(dev);
	if (status == 0)
		device_reset(dev);
	else
		status_write(dev, status);
	unlock(dev);
}

/* ------------------------------------------------------------------ */
/* Features                                                           */

uint32_t vt_device_get_features(struct vt_device *dev, unsigned sel)
{
	uint32_t v;

	lock(dev);
	close_cfg_window(dev);
	v = sel < 2 ? (uint32_t)(dev->offered >> (32 * sel)) : 0;
	unlock(dev);
	return v;
}

void vt_device_set_features(struct vt_device *dev, unsigned sel, uint32_t val)
{
	lock(dev);
	close_cfg_window(dev);
	if (dev->features_ok_written) {
		/* No new feature bits after FEATURES_OK (DRV-3.1.1 step 5). */
		char got[16];
		snprintf(got, sizeof(got), "0x%08x", val);
		init_violation(dev, "DRV-3.1.1", "no feature write after FEATURES_OK", got,
			       "driver features word %u written after FEATURES_OK", sel);
	} else if (!(status_now(dev) & S_DRIVER)) {
		char got[16];
		hex8(got, sizeof(got), status_now(dev));
		init_violation(dev, "DRV-3.1.1", "ACKNOWLEDGE and DRIVER set", got,
			       "driver features written before the DRIVER status bit");
	} else {
		uint32_t off = sel < 2 ? (uint32_t)(dev->offered >> (32 * sel)) : 0;
		if (val & ~off) {
			char exp[16], got[16];
			snprintf(exp, sizeof(exp), "0x%08x", val & off);
			snprintf(got, sizeof(got), "0x%08x", val);
			init_violation(dev, "DRV-2.2.1", exp, got,
				       "driver accepts feature bit(s) 0x%08x of word %u that the "
				       "device did not offer", val & ~off, sel);
		}
	}
	if (sel < 2) {
		uint64_t mask = 0xffffffffULL << (32 * sel);
		dev->acked = (dev->acked & ~mask) | ((uint64_t)val << (32 * sel));
	}
	dev->features_written = true;
	if (!dev->features_ok_written)
		set_negotiated(dev, dev->acked & dev->offered);
	unlock(dev);
}

/* ------------------------------------------------------------------ */
/* Configuration space                                                */

uint32_t vt_device_config_generation(struct vt_device *dev)
{
	uint32_t g;

	lock(dev);
	dev->cfg.open = true;
	dev->cfg.gen_in_window = true;
	/* This read closes any bracket in progress. */
	dev->cfg.pending_after = false;
	memset(dev->cfg.wide_mask, 0, sizeof(dev->cfg.wide_mask));
	g = dev->generation;
	unlock(dev);
	return g;
}

uint32_t vt_device_config_read(struct vt_device *dev, unsigned off, unsigned width)
{
	uint32_t v = 0;

	if (width != 1 && width != 2 && width != 4)
		return 0;
	lock(dev);
	if (off < dev->type->config_size && width <= dev->type->config_size - off) {
		cfg_check_read(dev, off, width);
		/* Fault: config reads 0 until FEATURES_OK (DEV-2.5.2). */
		if (dev->opts.fault != VT_DEV_FAULT_CONFIG_BEFORE_FEATURES_OK ||
		    (status_now(dev) & S_FEATURES_OK))
			for (unsigned i = 0; i < width; i++)
				v |= (uint32_t)dev->config[off + i] << (8 * i);
	}
	unlock(dev);
	return v;
}

void vt_device_config_write(struct vt_device *dev, unsigned off, unsigned width, uint32_t val)
{
	lock(dev);
	dev->cfg.open = true;
	/* During negotiation the driver may read but not write the
	 * configuration (DRV-3.1.1 step 4).  Our device types have no
	 * writable field, so the value itself is dropped. */
	if (!(status_now(dev) & S_FEATURES_OK)) {
		char got[48];
		snprintf(got, sizeof(got), "write of %u bytes at %u", width, off);
		init_violation(dev, "DRV-3.1.1", "no configuration write before FEATURES_OK", got,
			       "device configuration written (offset %u, value 0x%x) before "
			       "FEATURES_OK", off, val);
	}
	unlock(dev);
}

/* ------------------------------------------------------------------ */
/* Queues                                                             */

unsigned vt_device_num_queues(struct vt_device *dev)
{
	lock(dev);
	close_cfg_window(dev);
	unlock(dev);
	return dev->nq;
}

uint16_t vt_device_queue_size_max(struct vt_device *dev, unsigned q)
{
	lock(dev);
	close_cfg_window(dev);
	unlock(dev);
	return q < dev->nq ? dev->qmax : 0;
}

void vt_device_queue_set(struct vt_device *dev, unsigned q, uint16_t size, uint64_t desc,
			 uint64_t driver, uint64_t device)
{
	lock(dev);
	close_cfg_window(dev);
	if (q < dev->nq) {
		struct vt_vq *vq = &dev->vq[q];
		/* After a queue reset the driver verifies it before reusing
		 * the queue (DRV-2.6.1.1.2). */
		if (vq->was_reset && vq->reset_unverified && !vq->broken)
			vt_drv_violation(dev, vq, "DRV-2.6.1.1.2", "queue_reset read back",
					 "not read", "programmed again after a queue reset "
					 "without verifying the reset completed");
		vq->cfg_size = size;
		vq->cfg_desc = desc;
		vq->cfg_driver = driver;
		vq->cfg_device = device;
		vq->programmed = true;
		vq->needs_program = false;
	}
	unlock(dev);
}

/* Is the size acceptable: non-zero, at most the maximum, a power of 2 for
 * split rings (4.1.4.3.2, the common configuration rules). */
static int check_size(struct vt_device *dev, struct vt_vq *vq, uint16_t size, bool packed)
{
	char exp[48], got[16];

	if (size && size <= dev->qmax && (packed || !(size & (size - 1))))
		return 0;
	snprintf(exp, sizeof(exp), packed ? "1..%u" : "a power of 2 <= %u", dev->qmax);
	snprintf(got, sizeof(got), "%u", size);
	return vt_drv_violation(dev, vq, "DRV-4.1.4.3.2", exp, got, "queue size %u is invalid%s",
				size, vq->programmed ? "" : " (queue never programmed)");
}

void vt_device_queue_enable(struct vt_device *dev, unsigned q)
{
	struct vt_vq *vq;
	bool reenable, packed;
	uint16_t size;

	lock(dev);
	close_cfg_window(dev);
	if (q >= dev->nq || dev->vq[q].enabled) {
		unlock(dev);
		return;
	}
	vq = &dev->vq[q];
	reenable = vq->was_reset;
	packed = vt_has(dev, VIRTIO_F_RING_PACKED);
	if (reenable && !vq->broken) {
		if (vq->reset_unverified)
			vt_drv_violation(dev, vq, "DRV-2.6.1.1.2", "queue_reset read back",
					 "not read", "re-enabled after a queue reset without "
					 "verifying the reset completed");
		else if (vq->needs_program)
			vt_drv_violation(dev, vq, "DRV-2.6.1.2.2", "queue_set before queue_enable",
					 "no queue_set", "re-enabled after a queue reset without "
					 "configuring the queue again");
	}
	size = vq->cfg_size;
	/* Fault: a re-enabled queue keeps its old size (DEV-2.6.1.2.1). */
	if (reenable && vq->num && dev->opts.fault == VT_DEV_FAULT_REENABLE_OLD_SIZE)
		size = vq->num;
	vq->enabled = true;
	vq->in_reset = false;
	if (!vq->broken && check_size(dev, vq, size, packed) == 0) {
		vq->packed = packed;
		vq->num = size;
		vq->desc = vq->cfg_desc;
		vq->driver = vq->cfg_driver;
		vq->device = vq->cfg_device;
		/* Fault: queue reset kept the used state (DEV-2.6.1.1.1). */
		vq_clear_ring_state(vq, reenable &&
				    dev->opts.fault == VT_DEV_FAULT_QUEUE_RESET_KEEPS_STATE);
		if (engine_of(vq)->enable(dev, vq) == 0 && vt_vq_live(dev, vq)) {
			engine_of(vq)->process(dev, vq);
			finish_error(dev);
		}
	}
	unlock(dev);
}

bool vt_device_queue_enabled(struct vt_device *dev, unsigned q)
{
	bool r;

	lock(dev);
	close_cfg_window(dev);
	r = q < dev->nq && dev->vq[q].enabled;
	unlock(dev);
	return r;
}

void vt_device_queue_reset(struct vt_device *dev, unsigned q)
{
	lock(dev);
	close_cfg_window(dev);
	if (q < dev->nq && vt_has(dev, VIRTIO_F_RING_RESET)) {
		struct vt_vq *vq = &dev->vq[q];
		/* Stop using the queue and forget its state (DEV-2.6.1.1.1);
		 * the fault keeps the used side. */
		vq_clear_ring_state(vq, dev->opts.fault == VT_DEV_FAULT_QUEUE_RESET_KEEPS_STATE);
		vq->enabled = false;
		vq->broken = false;
		vq->was_reset = true;
		vq->in_reset = true;
		vq->reset_unverified = true;
		vq->needs_program = true;
	}
	unlock(dev);
}

bool vt_device_queue_reset_done(struct vt_device *dev, unsigned q)
{
	bool r = false;

	lock(dev);
	close_cfg_window(dev);
	if (q < dev->nq) {
		r = dev->vq[q].in_reset;
		if (r)
			dev->vq[q].reset_unverified = false;
	}
	unlock(dev);
	return r;
}

bool vt_device_queue_avail_state(struct vt_device *dev, unsigned q, uint16_t *next, bool *wrap)
{
	bool r = false;

	lock(dev);
	if (q < dev->nq && dev->vq[q].enabled) {
		const struct vt_vq *vq = &dev->vq[q];
		*next = vq->packed ? vq->next_avail : vq->last_avail;
		*wrap = vq->packed ? vq->avail_wrap : false;
		r = true;
	}
	unlock(dev);
	return r;
}

/* ------------------------------------------------------------------ */
/* Notifications and processing                                       */

static void notify_check_locked(struct vt_device *dev, unsigned q, uint32_t data)
{
	struct vt_vq *vq;

	close_cfg_window(dev);
	if (q >= dev->nq)
		return;
	if (!(status_now(dev) & S_DRIVER_OK)) {
		init_violation(dev, "DRV-3.1.1", "DRIVER_OK set first", "notification",
			       "available buffer notification for queue %u before DRIVER_OK", q);
		return;
	}
	vq = &dev->vq[q];
	if (vq->enabled && !vq->broken && vq->packed && vt_has(dev, VIRTIO_F_NOTIFICATION_DATA))
		engine_of(vq)->notify_data(dev, vq, data);
}

static void process_locked(struct vt_device *dev, unsigned q, bool notified)
{
	struct vt_vq *vq;

	if (q >= dev->nq)
		return;
	vq = &dev->vq[q];
	if (notified)
		vq->suspect = false;
	if (!vt_vq_live(dev, vq))
		return;
	engine_of(vq)->process(dev, vq);
	finish_error(dev);
}

void vt_device_notify_check(struct vt_device *dev, unsigned q, uint32_t data)
{
	/* Fast path: nothing to judge without the lock. */
	if (q < dev->nq && !__atomic_load_n(&dev->cfg.open, __ATOMIC_RELAXED) &&
	    (status_now(dev) & S_DRIVER_OK) &&
	    !(dev->vq[q].packed && vt_has(dev, VIRTIO_F_NOTIFICATION_DATA)))
		return;
	lock(dev);
	notify_check_locked(dev, q, data);
	unlock(dev);
}

void vt_device_process(struct vt_device *dev, unsigned q)
{
	lock(dev);
	process_locked(dev, q, true);
	unlock(dev);
}

void vt_device_notify(struct vt_device *dev, unsigned q, uint32_t data)
{
	lock(dev);
	notify_check_locked(dev, q, data);
	process_locked(dev, q, true);
	unlock(dev);
}

void vt_device_poll(struct vt_device *dev)
{
	lock(dev);
	/* Fault USE_AFTER_RESET: once the driver has seen the reset
	 * complete, touch the old queue anyway (DEV-2.4.1). */
	if (dev->ghost.armed && dev->read_zero) {
		struct iommu *now = dev->dma->iommu;
		dev->ghost.armed = false;
		dev->dma->iommu = dev->ghost.iommu;
		dev->ghost.eng->ghost(dev, &dev->ghost.vq);
		dev->dma->iommu = now;
	}
	consume_early(dev);
	if (status_now(dev) & S_DRIVER_OK) {
		for (unsigned q = 0; q < dev->nq; q++) {
			struct vt_vq *vq = &dev->vq[q];
			if (vt_vq_live(dev, vq))
				engine_of(vq)->poll(dev, vq);
		}
	}
	finish_error(dev);
	unlock(dev);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */

static uint64_t offered_features(const struct vt_device_opts *o)
{
	/* A device offers VERSION_1 (DEV-6.2) unless told to break that. */
	uint64_t f = o->offer | o->type->features | VT_BIT(VIRTIO_F_VERSION_1);

	if (o->fault == VT_DEV_FAULT_NO_VERSION_1)
		f &= ~VT_BIT(VIRTIO_F_VERSION_1);
	if (o->fault == VT_DEV_FAULT_OFFER_RESERVED)
		f |= VT_BIT(RESERVED_FEATURE_BIT);
	return f;
}

struct vt_device *vt_device_create(const struct vt_device_opts *o, struct gmem_dev *dma,
				   struct vt_verdict *vd)
{
	struct vt_device *dev;
	unsigned batch;

	if (!o || !o->type || !o->type->handle || !dma || !vd || o->fault >= VT_DEV_FAULT_COUNT) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	pthread_mutex_init(&dev->lock, NULL);
	dev->opts = *o;
	dev->type = o->type;
	dev->dma = dma;
	dev->platform_iommu = dma->iommu;
	dev->vd = vd;
	dev->qmax = o->queue_size_max ? o->queue_size_max : DEFAULT_QUEUE_SIZE;
	if (dev->qmax > VIRTQ_MAX_SIZE)
		dev->qmax = VIRTQ_MAX_SIZE;
	batch = o->complete_batch > dev->qmax ? dev->qmax : o->complete_batch;
	dev->opts.complete_batch = batch;
	dev->offered = offered_features(o);
	set_negotiated(dev, 0);
	dev->read_zero = true;
	dev->nq = o->type->num_queues;
	dev->vq = calloc(dev->nq ? dev->nq : 1, sizeof(*dev->vq));
	dev->config = calloc(1, o->type->config_size ? o->type->config_size : 1);
	dev->heads = malloc(sizeof(uint16_t) * dev->qmax);
	dev->table = malloc(16ULL * dev->qmax);
	dev->mark = malloc((size_t)dev->qmax + 1);
	if (!dev->vq || !dev->config || !dev->heads || !dev->table || !dev->mark)
		goto fail;
	for (unsigned q = 0; q < dev->nq; q++) {
		dev->vq[q].index = q;
		vq_clear_ring_state(&dev->vq[q], false);
		if (batch > 1) {
			dev->vq[q].held = calloc(batch, sizeof(struct vt_held));
			if (!dev->vq[q].held)
				goto fail;
		}
	}
	if (o->type->init && o->type->init(dev) < 0)
		goto fail;
	return dev;
fail:
	vt_device_destroy(dev);
	errno = ENOMEM;
	return NULL;
}

void vt_device_destroy(struct vt_device *dev)
{
	if (!dev)
		return;
	if (dev->type->fini && dev->type_state)
		dev->type->fini(dev);
	if (identity_live(dev))
		iommu_unlock(dev->platform_iommu);
	if (dev->dma)
		dev->dma->iommu = dev->platform_iommu;
	for (unsigned q = 0; dev->vq && q < dev->nq; q++)
		free(dev->vq[q].held);
	free(dev->vq);
	free(dev->config);
	free(dev->heads);
	free(dev->table);
	free(dev->mark);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

void vt_device_set_irq(struct vt_device *dev, vt_irq_fn fn, void *ctx)
{
	lock(dev);
	dev->irq = fn;
	dev->irq_ctx = ctx;
	unlock(dev);
}

/* ------------------------------------------------------------------ */
/* For device types                                                   */

uint8_t *vt_device_config(struct vt_device *dev)
{
	return dev->config;
}

void **vt_device_type_state(struct vt_device *dev)
{
	return &dev->type_state;
}

enum vt_dev_fault vt_device_fault(const struct vt_device *dev)
{
	return dev->opts.fault;
}

uint64_t vt_device_negotiated(const struct vt_device *dev)
{
	return __atomic_load_n(&dev->negotiated, __ATOMIC_RELAXED);
}

uint64_t vt_device_requests(const struct vt_device *dev)
{
	return __atomic_load_n(&dev->requests, __ATOMIC_RELAXED);
}

/* A device type touching a segment outside the chain is a bug of the
 * model, never the driver's. */
static int chain_range_bug(struct vt_device *dev, const char *what, uint64_t off, uint64_t len,
			   uint64_t have)
{
	return vt_violation(dev->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
			    "device type %s: %s of %llu bytes at %llu beyond the %llu-byte part",
			    dev->type->name, what, (unsigned long long)len,
			    (unsigned long long)off, (unsigned long long)have);
}

/* Copy between buf and the chain's segments [first, last), starting
 * `off` bytes into them. */
static int chain_copy(struct vt_device *dev, const struct vt_chain *c, unsigned first,
		      unsigned last, uint64_t off, uint8_t *buf, uint64_t len, bool write)
{
	for (unsigned i = first; i < last && len; i++) {
		const struct vt_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off < len ? s->len - off : len;
		int rc = write ? gmem_dev_write(dev->dma, s->addr + off, buf, n)
			       : gmem_dev_read(dev->dma, s->addr + off, buf, n);
		if (rc)
			return -1;
		buf += n;
		len -= n;
		off = 0;
	}
	return 0;
}

int vt_chain_read(struct vt_device *dev, const struct vt_chain *c, uint64_t off, void *buf,
		  uint64_t len)
{
	if (off > c->out_len || len > c->out_len - off)
		return chain_range_bug(dev, "read", off, len, c->out_len);
	return chain_copy(dev, c, 0, c->nout, off, buf, len, false);
}

int vt_chain_write(struct vt_device *dev, const struct vt_chain *c, uint64_t off,
		   const void *buf, uint64_t len)
{
	if (off > c->in_len || len > c->in_len - off)
		return chain_range_bug(dev, "write", off, len, c->in_len);
	return chain_copy(dev, c, c->nout, c->nseg, off, (uint8_t *)buf, len, true);
}

struct vt_verdict *vt_device_verdict(struct vt_device *dev)
{
	return dev->vd;
}
