/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * split.c - the split virtqueue engine (2.7).
 *
 * On a notification the device reads avail idx, checks how far it moved,
 * walks each new descriptor chain (loops, length, flag and indirect
 * rules, readable before writable), pre-checks every buffer through the
 * accessor, hands the chain to the device type, writes the used element
 * and then used idx, and notifies as used buffer suppression asks.  Its
 * own available buffer suppression always asks for the next buffer:
 * used->flags 0, and with EVENT_IDX avail_event = the next entry.
 */
#include <stdio.h>

#include "ring.h"

#define DESC_SIZE 16

/* Driver area (avail ring) and device area (used ring) fields. */
static inline uint64_t avail_flags_addr(const struct vt_vq *vq) { return vq->driver; }
static inline uint64_t avail_idx_addr(const struct vt_vq *vq)   { return vq->driver + 2; }
static inline uint64_t avail_ring_addr(const struct vt_vq *vq, uint16_t i)
{
	return vq->driver + 4 + 2ULL * (i % vq->num);
}
static inline uint64_t used_event_addr(const struct vt_vq *vq)
{
	return vq->driver + virtq_used_event_off(vq->num);
}
static inline uint64_t used_flags_addr(const struct vt_vq *vq) { return vq->device; }
static inline uint64_t used_idx_addr(const struct vt_vq *vq)   { return vq->device + 2; }
static inline uint64_t used_elem_addr(const struct vt_vq *vq, uint16_t i)
{
	return vq->device + 4 + 8ULL * (i % vq->num);
}
static inline uint64_t avail_event_addr(const struct vt_vq *vq)
{
	return vq->device + virtq_avail_event_off(vq->num);
}
static inline uint64_t desc_addr(const struct vt_vq *vq, uint16_t i)
{
	return vq->desc + (uint64_t)DESC_SIZE * i;
}

static void num2(char *buf, size_t n, unsigned v)
{
	snprintf(buf, n, "%u", v);
}

/* ------------------------------------------------------------------ */
/* queue_enable                                                        */

static int split_enable(struct vt_device *dev, struct vt_vq *vq)
{
	struct gmem_dev *d = dev->dma;
	uint16_t flags;
	char got[96];

	/* Each part aligned as the table of 2.7 says (DRV-2.7.1). */
	if (vq->desc % VIRTQ_SPLIT_DESC_ALIGN || vq->driver % VIRTQ_SPLIT_AVAIL_ALIGN ||
	    vq->device % VIRTQ_SPLIT_USED_ALIGN) {
		snprintf(got, sizeof(got), "desc 0x%llx avail 0x%llx used 0x%llx",
			 (unsigned long long)vq->desc, (unsigned long long)vq->driver,
			 (unsigned long long)vq->device);
		return vt_drv_violation(dev, vq, "DRV-2.7.1", "desc 16, avail 2, used 4 aligned",
					got, "split ring part misaligned");
	}
	/* The areas must be memory the device may use. */
	if (gmem_dev_check(d, vq->desc, virtq_split_desc_size(vq->num), false, VT_WHO_DRIVER) ||
	    gmem_dev_check(d, vq->driver, virtq_split_avail_size(vq->num), false, VT_WHO_DRIVER) ||
	    gmem_dev_check(d, vq->device, virtq_split_used_size(vq->num), true, VT_WHO_DRIVER))
		return vt_ring_fault(vq);
	/* The driver zeroes used->flags when it allocates the ring
	 * (DRV-2.7.10.1). */
	if (gmem_dev_read16(d, used_flags_addr(vq), &flags))
		return vt_ring_fault(vq);
	if (flags != 0) {
		snprintf(got, sizeof(got), "0x%04x", flags);
		return vt_drv_violation(dev, vq, "DRV-2.7.10.1", "0", got,
					"used->flags not initialised to 0 when the queue is enabled");
	}
	if (vt_has(dev, VIRTIO_F_EVENT_IDX)) {
		if (gmem_dev_write16(d, avail_event_addr(vq), vq->last_avail))
			return vt_ring_fault(vq);
		vq->avail_event = vq->last_avail;
		vq->avail_event_set = true;
		/* Fault: asks for no notifications with a flag EVENT_IDX
		 * forbids (DEV-2.7.10.2). */
		if (dev->opts.fault == VT_DEV_FAULT_BAD_AVAIL_SUPPRESS &&
		    gmem_dev_write16(d, used_flags_addr(vq), VIRTQ_USED_F_NO_NOTIFY))
			return vt_ring_fault(vq);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fetching a chain                                                    */

#define CHAIN_MAX_BYTES (1ULL << 32)

/* How messages name a chain. */
#define CHAIN "chain from head"

/* Findings about a chain's content (element order, total length) wait
 * until the walk is over: if the chain loops or names a wild next index,
 * that is the fault to report, not what it led to. */
enum { LATE_NONE, LATE_ORDER, LATE_LENGTH };

struct late {
	uint8_t kind;
	bool in_table;
	uint16_t where;
	uint64_t total;
};

static void note_order(struct late *l, bool in_table, uint16_t i)
{
	if (l->kind == LATE_NONE) {
		l->kind = LATE_ORDER;
		l->in_table = in_table;
		l->where = i;
	}
}

static void note_length(struct late *l, const struct vt_chain *c)
{
	if (l->kind == LATE_NONE && c->out_len + c->in_len > CHAIN_MAX_BYTES) {
		l->kind = LATE_LENGTH;
		l->total = c->out_len + c->in_len;
	}
}

static int report_late(struct vt_device *dev, struct vt_vq *vq, uint16_t head,
		       const struct late *l)
{
	char got[32];

	switch (l->kind) {
	case LATE_ORDER:
		/* Device-writable elements come after readable ones (DRV-2.7.4.2). */
		return vt_drv_violation(dev, vq, "DRV-2.7.4.2", "writable after readable",
					"readable after writable", "chain from head %u: readable "
					"%sdescriptor %u follows a writable one", head,
					l->in_table ? "indirect " : "", l->where);
	case LATE_LENGTH:
		/* At most 2^32 bytes in one chain (DRV-2.7.5.2). */
		snprintf(got, sizeof(got), "%llu", (unsigned long long)l->total);
		return vt_drv_violation(dev, vq, "DRV-2.7.5.2", "<= 4294967296 bytes", got,
					"descriptor chain from head %u is longer than 2^32 bytes "
					"in total", head);
	default:
		return VT_FETCH_OK;
	}
}

/* The indirect table descriptor `d` (count-th of the chain): check it,
 * read the table, walk it. */
static int fetch_indirect(struct vt_device *dev, struct vt_vq *vq, struct vt_chain *c,
			  struct vt_walk *w, struct late *late, const uint8_t *d, unsigned count,
			  uint16_t head, struct vt_held *h)
{
	uint64_t addr = vt_rd64(d);
	uint32_t len = vt_rd32(d + 8);
	uint16_t flags = vt_rd16(d + 12);
	unsigned n = len / DESC_SIZE;
	char got[32];
	int r;

	r = vt_indirect_allowed(dev, vq, "DRV-2.7.5.3.1", CHAIN, head);
	if (r)
		return r;
	if (flags & VIRTQ_DESC_F_NEXT)
		return vt_drv_violation(dev, vq, "DRV-2.7.5.3.1", "INDIRECT without NEXT",
					"INDIRECT|NEXT", "chain from head %u: a descriptor sets "
					"both INDIRECT and NEXT", head);
	/* Faults: refuse a valid chain (DEV-2.7.5.3.2). */
	if (count > 1 && dev->opts.fault == VT_DEV_FAULT_NO_MIXED_INDIRECT)
		return VT_FETCH_ERROR;
	if ((flags & VIRTQ_DESC_F_WRITE) && dev->opts.fault == VT_DEV_FAULT_INDIRECT_WRITE_FLAG)
		return VT_FETCH_ERROR;
	r = vt_read_table(dev, vq, "DRV-2.7.5.3.1", CHAIN, head, addr, len);
	if (r)
		return r;

	uint16_t j = 0;
	for (unsigned k = 1;; k++) {
		const uint8_t *t = dev->table + (size_t)DESC_SIZE * j;
		uint16_t tf = vt_rd16(t + 12);
		if (k > n)
			return vt_drv_violation(dev, vq, "DRV-2.7.5.2", "no loop", "loop",
						"chain from head %u: the indirect table at 0x%llx "
						"loops", head, (unsigned long long)addr);
		if (tf & VIRTQ_DESC_F_INDIRECT)
			return vt_drv_violation(dev, vq, "DRV-2.7.5.3.1", "no INDIRECT in a table",
						"INDIRECT", "chain from head %u: INDIRECT set "
						"inside an indirect table (entry %u)", head, j);
		if (vt_chain_push(c, w, vt_rd64(t), vt_rd32(t + 8), tf & VIRTQ_DESC_F_WRITE))
			note_order(late, true, j);
		note_length(late, c);
		if (!(tf & VIRTQ_DESC_F_NEXT))
			break;
		uint16_t next = vt_rd16(t + 14);
		if (next >= n) {
			num2(got, sizeof(got), next);
			return vt_drv_violation(dev, vq, "DRV-2.7.5.2", "next inside the table", got,
						"chain from head %u: indirect entry %u has next %u "
						"beyond the table of %u", head, j, next, n);
		}
		j = next;
	}
	vt_hold_table(dev, h, addr, len);
	return VT_FETCH_OK;
}

/* Walk the chain starting at `head` into c.  Structure first (loops, next
 * indices, flags), element order and total length once the walk is over,
 * buffer addresses last (vt_check_buffers), so a malformed chain is
 * reported for what it is. */
static int fetch_chain(struct vt_device *dev, struct vt_vq *vq, uint16_t head,
		       struct vt_chain *c, struct vt_held *h)
{
	struct vt_walk w;
	struct late late = { .kind = LATE_NONE };
	uint64_t hm = VT_HASH_SEED;
	uint16_t i = head;
	unsigned count = 0;
	uint8_t d[DESC_SIZE];
	char exp[32], got[32];

	vt_chain_start(c, &w, head);
	if (h)
		h->table_len = 0;
	if (head >= vq->num) {
		snprintf(exp, sizeof(exp), "< %u", vq->num);
		num2(got, sizeof(got), head);
		return vt_drv_violation(dev, vq, "DRV-2.7.5.2", exp, got,
					"avail ring names head %u, beyond the descriptor table", head);
	}
	for (;;) {
		if (++count > vq->num)
			return vt_drv_violation(dev, vq, "DRV-2.7.5.2", "no loop", "loop",
						"descriptor chain from head %u is longer than the "
						"queue size %u: it loops", head, vq->num);
		if (gmem_dev_read(dev->dma, desc_addr(vq, i), d, DESC_SIZE))
			return vt_ring_fault(vq);
		if (h)
			hm = vt_hash_desc(hm, d);
		uint16_t flags = vt_rd16(d + 12);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			int r = fetch_indirect(dev, vq, c, &w, &late, d, count, head, h);
			if (r)
				return r;
			break;
		}
		if (vt_chain_push(c, &w, vt_rd64(d), vt_rd32(d + 8), flags & VIRTQ_DESC_F_WRITE))
			note_order(&late, false, i);
		note_length(&late, c);
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		uint16_t next = vt_rd16(d + 14);
		if (next >= vq->num) {
			snprintf(exp, sizeof(exp), "< %u", vq->num);
			num2(got, sizeof(got), next);
			return vt_drv_violation(dev, vq, "DRV-2.7.5.2", exp, got,
						"chain from head %u: descriptor %u has next %u beyond "
						"the table", head, i, next);
		}
		i = next;
	}
	c->ndesc = (uint16_t)count;
	if (late.kind != LATE_NONE)
		return report_late(dev, vq, head, &late);
	/* The device's own limit on buffer elements (VT_MAX_SEGS): the driver
	 * SHOULD NOT use so many (DRV-2.7.4.2). */
	if (w.full)
		return vt_too_many_segs(dev, vq, "DRV-2.7.4.2", CHAIN, head, w.total);
	if (h) {
		h->id = head;
		h->ndesc = (uint16_t)count;
		h->h_main = hm;
	}
	return VT_FETCH_OK;
}

/* ------------------------------------------------------------------ */
/* Returning chains as used                                            */

/* Fault USED_ID_NOT_HEAD looks for a descriptor index that heads no
 * outstanding chain (DEV-2.7.8.2): mark the heads the avail ring holds
 * beyond last_avail. */
static void mark_avail(struct vt_device *dev, struct vt_vq *vq, uint8_t *mark)
{
	uint16_t idx;

	if (gmem_dev_read16(dev->dma, avail_idx_addr(vq), &idx))
		return;
	for (uint16_t p = vq->last_avail; p != idx && (uint16_t)(p - vq->last_avail) < vq->num; p++) {
		uint16_t h2;
		if (gmem_dev_read16(dev->dma, avail_ring_addr(vq, p), &h2) == 0 && h2 < vq->num)
			mark[h2] = 1;
	}
}

/* Fault WRITE_DESC: the device changes the len of the head descriptor
 * (DEV-2.7.5.1: a device never writes the descriptor table). */
static void write_desc(struct vt_device *dev, struct vt_vq *vq, uint16_t head)
{
	uint8_t d[DESC_SIZE];

	if (head < vq->num && gmem_dev_read(dev->dma, desc_addr(vq, head), d, DESC_SIZE) == 0)
		gmem_dev_write32(dev->dma, desc_addr(vq, head) + 8, vt_rd32(d + 8) + 1);
}

/* Write one used element, id then len in one store; used idx follows
 * later (publish_used). */
static int put_used(struct vt_device *dev, struct vt_vq *vq, uint16_t head, uint32_t len)
{
	uint32_t id = vt_used_id(dev, vq, head, mark_avail);
	uint8_t e[8];

	if (dev->opts.fault == VT_DEV_FAULT_WRITE_DESC)
		write_desc(dev, vq, head);
	vt_wr32(e, id);
	vt_wr32(e + 4, len);
	if (gmem_dev_write(dev->dma, used_elem_addr(vq, vq->used_idx), e, sizeof(e)))
		return vt_ring_fault(vq);
	vq->used_idx++;
	return 0;
}

/* Used buffer notification suppression, read after used idx was
 * published and a full barrier (DEV-2.7.7.2). */
static bool wants_notify(struct vt_device *dev, struct vt_vq *vq, uint16_t old, uint16_t now)
{
	uint16_t v;

	if (!vt_may_notify(dev))
		return false;
	if (vt_has(dev, VIRTIO_F_EVENT_IDX)) {
		if (gmem_dev_read16(dev->dma, used_event_addr(vq), &v)) {
			vt_ring_fault(vq);
			return false;
		}
		/* Fault: misses the entry used_event names. */
		if (dev->opts.fault == VT_DEV_FAULT_EVENT_IDX_OFF_BY_ONE)
			v++;
		return vring_need_event(v, now, old);
	}
	if (gmem_dev_read16(dev->dma, avail_flags_addr(vq), &v)) {
		vt_ring_fault(vq);
		return false;
	}
	return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Publish used idx (release: the elements are visible first), then
 * notify if the driver asked for it. */
static void publish_used(struct vt_device *dev, struct vt_vq *vq, uint16_t old)
{
	if (vq->used_idx == old)
		return;
	/* Fault: used idx moves one past the elements written (DEV-2.7.8.2). */
	if (dev->opts.fault == VT_DEV_FAULT_USED_IDX_JUMP && !vq->idx_jumped) {
		vq->idx_jumped = true;
		vq->used_idx++;
	}
	if (gmem_dev_write16_rel(dev->dma, used_idx_addr(vq), vq->used_idx)) {
		vt_ring_fault(vq);
		return;
	}
	if (wants_notify(dev, vq, old, vq->used_idx))
		vt_irq(dev, vq->index);
}

/* ------------------------------------------------------------------ */
/* Held chains (opts.complete_batch > 1)                               */

/* Fingerprint a held chain's descriptors in the table again, following
 * NEXT as it was when fetched. */
static int held_rehash(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
		       uint64_t *hm)
{
	uint16_t i = h->id;
	uint8_t d[DESC_SIZE];

	*hm = VT_HASH_SEED;
	for (unsigned k = 0; k < h->ndesc; k++) {
		if (gmem_dev_read(dev->dma, desc_addr(vq, i), d, DESC_SIZE))
			return -1;
		*hm = vt_hash_desc(*hm, d);
		if (k + 1 < h->ndesc) {
			uint16_t next = vt_rd16(d + 14);
			if (!(vt_rd16(d + 12) & VIRTQ_DESC_F_NEXT) || next >= vq->num)
				return 0;
			i = next;
		}
	}
	return 1;
}

/* The driver leaves an exposed buffer alone until it is used (DRV-3.3.1). */
static int held_altered(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h)
{
	return vt_drv_violation(dev, vq, "DRV-3.3.1", "descriptors unchanged until used",
				"changed", "the driver altered the descriptors of the exposed "
				"buffer with head %u before it was used", h->id);
}

static int held_put_used(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
			 uint32_t len)
{
	return put_used(dev, vq, h->id, len);
}

static const struct vt_layout split_layout = {
	.rehash = held_rehash,
	.altered = held_altered,
	.put_used = held_put_used,
};

/* ------------------------------------------------------------------ */
/* Processing                                                          */

static int read_avail_idx(struct vt_device *dev, struct vt_vq *vq, uint16_t *idx)
{
	char exp[48], got[16];

	if (gmem_dev_read16_acq(dev->dma, avail_idx_addr(vq), idx))
		return vt_ring_fault(vq);
	if ((uint16_t)(*idx - vq->last_avail) <= vq->num)
		return 0;
	/* avail idx only grows, and never by more than the queue holds
	 * (DRV-2.7.6.1). */
	snprintf(exp, sizeof(exp), "%u..%u", vq->last_avail, (uint16_t)(vq->last_avail + vq->num));
	num2(got, sizeof(got), *idx);
	return vt_drv_violation(dev, vq, "DRV-2.7.6.1", exp, got,
				"avail idx moved from %u to %u: backwards, or further than the "
				"queue size %u", vq->last_avail, *idx, vq->num);
}

static int check_avail_flags(struct vt_device *dev, struct vt_vq *vq)
{
	bool ev = vt_has(dev, VIRTIO_F_EVENT_IDX);
	uint16_t f;
	char got[16];

	if (gmem_dev_read16(dev->dma, avail_flags_addr(vq), &f))
		return vt_ring_fault(vq);
	if (ev ? f == 0 : f <= VIRTQ_AVAIL_F_NO_INTERRUPT)
		return 0;
	/* 0 or 1 without EVENT_IDX, 0 with it (DRV-2.7.7.1). */
	snprintf(got, sizeof(got), "0x%04x", f);
	return vt_drv_violation(dev, vq, "DRV-2.7.7.1", ev ? "0 (EVENT_IDX)" : "0 or 1", got,
				"avail->flags is 0x%04x", f);
}

/* With EVENT_IDX, ask to hear about the next entry: avail_event = the
 * entry the device will read next (DEV-2.7.10.2).  Returns true when it
 * wrote a new value: avail idx must then be read again, after a full
 * barrier, or a buffer the driver added meanwhile could be missed. */
static bool publish_avail_event(struct vt_device *dev, struct vt_vq *vq)
{
	if (!vt_has(dev, VIRTIO_F_EVENT_IDX) ||
	    (vq->avail_event_set && vq->avail_event == vq->last_avail))
		return false;
	if (gmem_dev_write16(dev->dma, avail_event_addr(vq), vq->last_avail)) {
		vt_ring_fault(vq);
		return false;
	}
	vq->avail_event = vq->last_avail;
	vq->avail_event_set = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

static int serve_one(struct vt_device *dev, struct vt_vq *vq, uint16_t head)
{
	struct vt_chain *c = &dev->chain;
	bool hold = dev->opts.complete_batch > 1;
	struct vt_held h;
	uint32_t written = 0;
	int r;

	r = fetch_chain(dev, vq, head, c, hold ? &h : NULL);
	if (vt_serve_fetched(dev, vq, r, c, &written))
		return -1;
	if (!hold)
		return put_used(dev, vq, head, vt_used_len(dev, written, c->in_len));
	return vt_hold(dev, vq, &split_layout, &h, written, c->in_len);
}

/* Serve avail ring entries last_avail..idx-1. */
static int consume(struct vt_device *dev, struct vt_vq *vq, uint16_t idx)
{
	uint16_t n = (uint16_t)(idx - vq->last_avail);
	uint16_t start = vq->last_avail % vq->num;
	uint16_t first = n < vq->num - start ? n : (uint16_t)(vq->num - start);

	if (gmem_dev_read(dev->dma, avail_ring_addr(vq, vq->last_avail), dev->heads, 2ULL * first))
		return vt_ring_fault(vq);
	if (n > first &&
	    gmem_dev_read(dev->dma, avail_ring_addr(vq, 0), dev->heads + first, 2ULL * (n - first)))
		return vt_ring_fault(vq);
	for (uint16_t k = 0; k < n; k++) {
		if (serve_one(dev, vq, vt_le16(dev->heads[k])))
			return -1;
		vq->last_avail++;
		if (dev->error_pending)
			return -1;
	}
	return 0;
}

static void split_process(struct vt_device *dev, struct vt_vq *vq)
{
	uint16_t old = vq->used_idx;
	bool flags_checked = false;
	uint16_t idx;

	for (;;) {
		if (read_avail_idx(dev, vq, &idx))
			break;
		if (idx == vq->last_avail) {
			if (publish_avail_event(dev, vq))
				continue;
			break;
		}
		if (!flags_checked) {
			if (check_avail_flags(dev, vq))
				break;
			flags_checked = true;
		}
		if (consume(dev, vq, idx))
			break;
	}
	if (!vq->broken)
		publish_used(dev, vq, old);
}

/* No notification came: return held chains, and look for buffers the
 * driver made available without the notification the device asked for
 * (flags 0 / avail_event at the next entry): DRV-2.7.10.1. */
static void split_poll(struct vt_device *dev, struct vt_vq *vq)
{
	uint16_t idx;
	uint64_t now;

	if (vq->nheld) {
		uint16_t old = vq->used_idx;
		vt_flush_held(dev, vq, &split_layout);
		if (vq->broken)
			return;
		publish_used(dev, vq, old);
	}
	if (read_avail_idx(dev, vq, &idx))
		return;
	if (idx == vq->last_avail) {
		vq->suspect = false;
		return;
	}
	now = vt_now_ns();
	if (!vq->suspect) {
		vq->suspect = true;
		vq->suspect_ns = now;
		return;
	}
	if (now - vq->suspect_ns < VT_MISSED_NOTIFY_NS)
		return;
	vt_drv_violation(dev, vq, "DRV-2.7.10.1", "a notification", "none",
			 "avail idx moved from %u to %u and no notification came for %llu ms, "
			 "though the device asked for one (%s)", vq->last_avail, idx,
			 (unsigned long long)((now - vq->suspect_ns) / 1000000),
			 vt_has(dev, VIRTIO_F_EVENT_IDX) ? "avail_event at that entry"
							 : "used->flags 0");
}

/* Notification data carries nothing the split engine checks. */
static void split_notify_data(struct vt_device *dev, struct vt_vq *vq, uint32_t data)
{
	(void)dev;
	(void)vq;
	(void)data;
}

/* Fault USE_AFTER_RESET: return a held chain into the forgotten ring and
 * notify (DEV-2.4.1). */
static void split_ghost(struct vt_device *dev, struct vt_vq *vq)
{
	if (vq->nheld) {
		const struct vt_held *h = &vq->held[0];
		if (put_used(dev, vq, h->id, h->written) == 0)
			gmem_dev_write16_rel(dev->dma, used_idx_addr(vq), vq->used_idx);
	}
	vt_irq(dev, vq->index);
}

const struct vt_ring_engine vt_split_engine = {
	.enable = split_enable,
	.process = split_process,
	.poll = split_poll,
	.notify_data = split_notify_data,
	.ghost = split_ghost,
};
