/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packed.c - the packed virtqueue engine (2.8).
 *
 * The device keeps next_avail with the driver ring wrap counter it
 * expects and next_used with its own device ring wrap counter, both
 * starting at 1.  A descriptor is available when its AVAIL bit equals
 * that wrap counter and its USED bit does not.  A list is read in ring
 * order while NEXT is set; its buffer id is in the last descriptor.  The
 * device writes one used descriptor per list at next_used (id and len
 * first, flags last) and skips next_used past the whole list.  Used
 * buffer notifications follow the driver event suppression structure;
 * the device event suppression structure always says ENABLE.
 */
#include <stdio.h>

#include "ring.h"

#define DESC_SIZE     16
#define F_AVAIL       VIRTQ_DESC_F_AVAIL
#define F_USED        VIRTQ_DESC_F_USED

/* How messages name a list. */
#define LIST          "list at slot"

static inline uint64_t slot_addr(const struct vt_vq *vq, uint16_t slot)
{
	return vq->desc + (uint64_t)DESC_SIZE * slot;
}

static inline bool is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & F_AVAIL) == wrap && !!(flags & F_USED) != wrap;
}

static inline void advance(const struct vt_vq *vq, uint16_t *slot, bool *wrap, uint16_t n)
{
	*slot = (uint16_t)(*slot + n);
	if (*slot >= vq->num) {
		*slot = (uint16_t)(*slot - vq->num);
		*wrap = !*wrap;
	}
}

/* Position on a ring of 2 * num: the wrap counter starts at 1. */
static inline uint32_t lin(const struct vt_vq *vq, uint16_t slot, bool wrap)
{
	return wrap ? slot : (uint32_t)slot + vq->num;
}

/* ------------------------------------------------------------------ */
/* queue_enable                                                        */

static int packed_enable(struct vt_device *dev, struct vt_vq *vq)
{
	struct gmem_dev *d = dev->dma;
	uint8_t ev[4] = { 0, 0, RING_EVENT_FLAGS_ENABLE, 0 };
	char got[96];

	/* Descriptor ring 16, both event structures 4 (DRV-2.8.11). */
	if (vq->desc % VIRTQ_PACKED_DESC_ALIGN || vq->driver % VIRTQ_PACKED_EVENT_ALIGN ||
	    vq->device % VIRTQ_PACKED_EVENT_ALIGN) {
		snprintf(got, sizeof(got), "desc 0x%llx driver 0x%llx device 0x%llx",
			 (unsigned long long)vq->desc, (unsigned long long)vq->driver,
			 (unsigned long long)vq->device);
		return vt_drv_violation(dev, vq, "DRV-2.8.11", "desc 16, events 4 aligned", got,
					"packed ring part misaligned");
	}
	if (gmem_dev_check(d, vq->desc, virtq_packed_desc_size(vq->num), true, VT_WHO_DRIVER) ||
	    gmem_dev_check(d, vq->driver, VIRTQ_PACKED_EVENT_SIZE, false, VT_WHO_DRIVER) ||
	    gmem_dev_check(d, vq->device, VIRTQ_PACKED_EVENT_SIZE, true, VT_WHO_DRIVER))
		return vt_ring_fault(vq);
	/* Device event suppression: notifications wanted. */
	if (gmem_dev_write(d, vq->device, ev, sizeof(ev)))
		return vt_ring_fault(vq);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fetching a list                                                     */

static int order_violation(struct vt_device *dev, struct vt_vq *vq, uint16_t first,
			   const char *where)
{
	return vt_drv_violation(dev, vq, "DRV-2.8.17", "writable after readable",
				"readable after writable", "list at slot %u: a readable %sdescriptor "
				"follows a writable one", first, where);
}

static int fetch_indirect(struct vt_device *dev, struct vt_vq *vq, struct vt_chain *c,
			  struct vt_walk *w, const uint8_t *d, uint16_t first, struct vt_held *h)
{
	uint64_t addr = vt_rd64(d);
	uint32_t len = vt_rd32(d + 8);
	unsigned n = len / DESC_SIZE;
	char got[32];
	int r = vt_read_table(dev, vq, "DRV-2.8.19", LIST, first, addr, len);

	if (r)
		return r;
	for (unsigned k = 0; k < n; k++) {
		const uint8_t *t = dev->table + (size_t)DESC_SIZE * k;
		uint16_t tf = vt_rd16(t + 14);
		/* Only WRITE is valid inside an indirect table (DRV-2.8.19). */
		if (tf & ~VIRTQ_DESC_F_WRITE) {
			snprintf(got, sizeof(got), "0x%04x", tf);
			return vt_drv_violation(dev, vq, "DRV-2.8.19", "WRITE or 0", got,
						"list at slot %u: indirect entry %u has flags "
						"0x%04x", first, k, tf);
		}
		if (vt_chain_push(c, w, vt_rd64(t), vt_rd32(t + 8), tf & VIRTQ_DESC_F_WRITE))
			return order_violation(dev, vq, first, "indirect ");
	}
	vt_hold_table(dev, h, addr, len);
	return VT_FETCH_OK;
}

/* Read the list whose head is at next_avail (already seen available). */
static int fetch_list(struct vt_device *dev, struct vt_vq *vq, struct vt_chain *c,
		      struct vt_held *h)
{
	uint16_t first = vq->next_avail, slot = first;
	bool wrap = vq->avail_wrap;
	uint64_t hm = VT_HASH_SEED;
	unsigned count = 0;
	uint16_t id = 0;
	struct vt_walk w;
	uint8_t d[DESC_SIZE];
	char got[16];

	vt_chain_start(c, &w, 0);
	if (h)
		h->table_len = 0;
	for (;;) {
		count++;
		if (gmem_dev_read(dev->dma, slot_addr(vq, slot), d, DESC_SIZE))
			return vt_ring_fault(vq);
		uint16_t flags = vt_rd16(d + 14);
		/* The head is made available last (DRV-2.8.17). */
		if (!is_avail(flags, wrap)) {
			snprintf(got, sizeof(got), "0x%04x", flags);
			return vt_drv_violation(dev, vq, "DRV-2.8.17", "available", got,
						"list at slot %u: descriptor at slot %u is not "
						"available though the head is: the head was made "
						"available before the rest", first, slot);
		}
		if (h)
			hm = vt_hash_desc(hm, d);
		id = vt_rd16(d + 12);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			int r = vt_indirect_allowed(dev, vq, "DRV-2.8.19", LIST, first);
			if (r)
				return r;
			if ((flags & VIRTQ_DESC_F_NEXT) || count > 1)
				return vt_drv_violation(dev, vq, "DRV-2.8.19", "INDIRECT alone",
							"INDIRECT in a NEXT list", "list at slot %u: "
							"an INDIRECT descriptor in a list linked by "
							"NEXT", first);
			/* Fault: honours the reserved WRITE flag. */
			if ((flags & VIRTQ_DESC_F_WRITE) &&
			    dev->opts.fault == VT_DEV_FAULT_INDIRECT_WRITE_FLAG)
				return VT_FETCH_ERROR;
			r = fetch_indirect(dev, vq, c, &w, d, first, h);
			if (r)
				return r;
			break;
		}
		if (vt_chain_push(c, &w, vt_rd64(d), vt_rd32(d + 8), flags & VIRTQ_DESC_F_WRITE))
			return order_violation(dev, vq, first, "");
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		if (count >= vq->num) {
			snprintf(got, sizeof(got), "> %u", vq->num);
			return vt_drv_violation(dev, vq, "DRV-2.8.17", "<= queue size", got,
						"list at slot %u is longer than the queue size %u",
						first, vq->num);
		}
		advance(vq, &slot, &wrap, 1);
	}
	c->head = id;
	c->ndesc = (uint16_t)count;
	/* The device's own limit on buffer elements (VT_MAX_SEGS), which the
	 * driver must respect (DRV-2.8.17). */
	if (w.full)
		return vt_too_many_segs(dev, vq, "DRV-2.8.17", LIST, first, w.total);
	if (h) {
		h->id = id;
		h->ndesc = (uint16_t)count;
		h->slot = first;
		h->slot_wrap = vq->avail_wrap;
		h->h_main = hm;
	}
	return VT_FETCH_OK;
}

/* ------------------------------------------------------------------ */
/* Used descriptors                                                    */

/* Fault USED_ID_NOT_HEAD looks for a buffer id that is not outstanding:
 * mark the ids of the descriptors available from next_avail on. */
static void mark_avail(struct vt_device *dev, struct vt_vq *vq, uint8_t *mark)
{
	uint16_t slot = vq->next_avail;
	bool wrap = vq->avail_wrap;

	for (unsigned k = 0; k < vq->num; k++) {
		uint8_t d[DESC_SIZE];
		if (gmem_dev_read(dev->dma, slot_addr(vq, slot), d, DESC_SIZE) ||
		    !is_avail(vt_rd16(d + 14), wrap))
			break;
		if (vt_rd16(d + 12) < vq->num)
			mark[vt_rd16(d + 12)] = 1;
		advance(vq, &slot, &wrap, 1);
	}
}

/* Write the used descriptor of one list at next_used: len and id first,
 * then flags with AVAIL and USED equal to the device wrap counter (and
 * WRITE if anything was written), then skip the list's slots. */
static int put_used(struct vt_device *dev, struct vt_vq *vq, uint16_t id, uint32_t len,
		    uint16_t ndesc)
{
	uint16_t slot = vq->next_used;
	bool wrap = vq->used_wrap;
	uint32_t bid = vt_used_id(dev, vq, id, mark_avail);
	uint16_t flags;
	uint8_t b[6];

	/* Fault: one slot further than next_used (DEV-2.8.12). */
	if (dev->opts.fault == VT_DEV_FAULT_PACKED_USED_SLOT)
		advance(vq, &slot, &wrap, 1);
	flags = wrap ? (F_AVAIL | F_USED) : 0;
	/* Fault: the inverse of the device wrap counter (DEV-2.8.12). */
	if (dev->opts.fault == VT_DEV_FAULT_PACKED_WRONG_WRAP)
		flags ^= F_AVAIL | F_USED;
	if (len)
		flags |= VIRTQ_DESC_F_WRITE;
	vt_wr32(b, len);
	b[4] = (uint8_t)bid;
	b[5] = (uint8_t)(bid >> 8);
	if (gmem_dev_write(dev->dma, slot_addr(vq, slot) + 8, b, sizeof(b)) ||
	    gmem_dev_write16_rel(dev->dma, slot_addr(vq, slot) + 14, flags))
		return vt_ring_fault(vq);
	advance(vq, &vq->next_used, &vq->used_wrap, ndesc);
	return 0;
}

/* Driver event suppression, read after the used descriptors and a full
 * barrier: ENABLE, DISABLE, or (with EVENT_IDX) DESC at an offset and
 * wrap counter, which fires when a used descriptor is written at or past
 * it in this batch. */
static bool wants_notify(struct vt_device *dev, struct vt_vq *vq, uint16_t old_slot,
			 bool old_wrap)
{
	uint8_t ev[4];
	uint16_t off_wrap, flags;

	if (vt_no_used_notify(dev))
	if (!vt_may_notify(dev))
		return false;
	if (gmem_dev_read(dev->dma, vq->driver, ev, sizeof(ev))) {
		vt_ring_fault(vq);
		return false;
	}
	off_wrap = vt_rd16(ev);
	flags = vt_rd16(ev + 2) & 3;
	if (flags == RING_EVENT_FLAGS_DISABLE)
		return false;
	if (flags != RING_EVENT_FLAGS_DESC || !vt_has(dev, VIRTIO_F_EVENT_IDX))
		return true;
	uint32_t n2 = 2u * vq->num;
	uint32_t old = lin(vq, old_slot, old_wrap);
	uint32_t now = lin(vq, vq->next_used, vq->used_wrap);
	uint32_t evp = lin(vq, (uint16_t)((off_wrap & 0x7fff) % vq->num), off_wrap >> 15);
	/* Fault: counts from one descriptor too late, so the descriptor the
	 * driver named never triggers the notification. */
	if (dev->opts.fault == VT_DEV_FAULT_EVENT_IDX_OFF_BY_ONE)
		evp = (evp + n2 - 1) % n2;
	return (evp + n2 - old) % n2 < (now + n2 - old) % n2;
}

static void notify_if_wanted(struct vt_device *dev, struct vt_vq *vq, uint16_t old_slot,
			     bool old_wrap)
{
	if (vq->broken || (vq->next_used == old_slot && vq->used_wrap == old_wrap))
		return;
	if (wants_notify(dev, vq, old_slot, old_wrap))
		vt_irq(dev, vq->index);
}

/* ------------------------------------------------------------------ */
/* Held chains (opts.complete_batch > 1)                               */

/* Fingerprint a held list's slots again. */
static int held_rehash(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
		       uint64_t *hm)
{
	uint16_t slot = h->slot;
	bool wrap = h->slot_wrap;
	uint8_t d[DESC_SIZE];

	*hm = VT_HASH_SEED;
	for (unsigned k = 0; k < h->ndesc; k++) {
		if (gmem_dev_read(dev->dma, slot_addr(vq, slot), d, DESC_SIZE))
			return -1;
		*hm = vt_hash_desc(*hm, d);
		advance(vq, &slot, &wrap, 1);
	}
	return 1;
}

/* The driver changes none of a list's descriptors after making it
 * available (DRV-2.8.16). */
static int held_altered(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h)
{
	return vt_drv_violation(dev, vq, "DRV-2.8.16", "descriptors unchanged until used",
				"changed", "the driver changed a descriptor of buffer id %u "
				"(slot %u) after making it available", h->id, h->slot);
}

static int held_put_used(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
			 uint32_t len)
{
	return put_used(dev, vq, h->id, len, h->ndesc);
}

static const struct vt_layout packed_layout = {
	.rehash = held_rehash,
	.altered = held_altered,
	.put_used = held_put_used,
};

/* ------------------------------------------------------------------ */
/* Processing                                                          */

static int serve_one(struct vt_device *dev, struct vt_vq *vq)
{
	struct vt_chain *c = &dev->chain;
	bool hold = dev->opts.complete_batch > 1;
	struct vt_held h;
	uint32_t written = 0;
	int r;

	r = fetch_list(dev, vq, c, hold ? &h : NULL);
	if (vt_serve_fetched(dev, vq, r, c, &written))
		return -1;
	advance(vq, &vq->next_avail, &vq->avail_wrap, c->ndesc);
	if (!hold)
		return put_used(dev, vq, c->head, vt_used_len(dev, written, c->in_len), c->ndesc);
	return vt_hold(dev, vq, &packed_layout, &h, written, c->in_len);
}

static void packed_process(struct vt_device *dev, struct vt_vq *vq)
{
	uint16_t old_slot = vq->next_used;
	bool old_wrap = vq->used_wrap;

	for (;;) {
		uint16_t flags;
		if (gmem_dev_read16_acq(dev->dma, slot_addr(vq, vq->next_avail) + 14, &flags)) {
			vt_ring_fault(vq);
			break;
		}
		if (!is_avail(flags, vq->avail_wrap))
			break;
		if (serve_one(dev, vq) || dev->error_pending)
			break;
	}
	notify_if_wanted(dev, vq, old_slot, old_wrap);
}

/* Without a notification: return held lists and take whatever the
 * driver made available (the packed format has no driver obligation to
 * notify that the device could check). */
static void packed_poll(struct vt_device *dev, struct vt_vq *vq)
{
	if (vq->nheld) {
		uint16_t old_slot = vq->next_used;
		bool old_wrap = vq->used_wrap;
		vt_flush_held(dev, vq, &packed_layout);
		notify_if_wanted(dev, vq, old_slot, old_wrap);
		if (vq->broken)
			return;
	}
	packed_process(dev, vq);
}

/* With VIRTIO_F_NOTIFICATION_DATA the driver names the next descriptor
 * it has not made available yet (DRV-2.8.16).  Checked when the
 * notification is sent, so the driver cannot have moved on. */
static void packed_notify_data(struct vt_device *dev, struct vt_vq *vq, uint32_t data)
{
	uint16_t off = (uint16_t)((data >> 16) & 0x7fff);
	bool nwrap = data >> 31;
	uint16_t slot = vq->next_avail;
	bool wrap = vq->avail_wrap;
	char exp[32], got[32];

	for (unsigned k = 0; k < vq->num; k++) {
		uint16_t flags;
		if (gmem_dev_read16_acq(dev->dma, slot_addr(vq, slot) + 14, &flags)) {
			vt_ring_fault(vq);
			return;
		}
		if (!is_avail(flags, wrap))
			break;
		advance(vq, &slot, &wrap, 1);
	}
	if (off == slot && nwrap == wrap)
		return;
	snprintf(exp, sizeof(exp), "off %u wrap %u", slot, wrap);
	snprintf(got, sizeof(got), "off %u wrap %u", off, nwrap);
	vt_drv_violation(dev, vq, "DRV-2.8.16", exp, got,
			 "notification data does not name the next descriptor not yet made "
			 "available");
}

/* Fault USE_AFTER_RESET: return a held list into the forgotten ring and
 * notify (DEV-2.4.1). */
static void packed_ghost(struct vt_device *dev, struct vt_vq *vq)
{
	if (vq->nheld) {
		const struct vt_held *h = &vq->held[0];
		put_used(dev, vq, h->id, h->written, h->ndesc);
	}
	vt_irq(dev, vq->index);
}

const struct vt_ring_engine vt_packed_engine = {
	.enable = packed_enable,
	.process = packed_process,
	.poll = packed_poll,
	.notify_data = packed_notify_data,
	.ghost = packed_ghost,
};
