/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packed.c - packed virtqueues (2.8) in the reference driver.
 *
 * The driver writes the descriptors of a list in ring order with its
 * wrap counter in AVAIL (USED inverted) and the head's flags last, with
 * release ordering, so the whole list becomes available at once
 * (DRV-2.8.17).  It reads the device event suppression structure after a
 * full fence to decide whether to notify.  Used descriptors are read at
 * the driver's next used slot only: a slot whose flags changed without
 * forming a used descriptor for the current wrap, or a change in a slot
 * holding no available descriptor, is a used descriptor written wrongly
 * (DEV-2.8.12); a bad buffer id, len, or a write into device-readable
 * memory breaks DEV-2.8.15.
 */
#include <sched.h>
#include <stdio.h>

#include "ref.h"

#define PD_ADDR   0
#define PD_LEN    8
#define PD_ID     12
#define PD_FLAGS  14
#define AVAIL_USED (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED)

static uint8_t *pdesc(struct ref_vq *vq, unsigned slot)
{
	return vq->p.desc + 16u * slot;
}

static uint16_t wrap_bits(unsigned wrap)
{
	/* Available: AVAIL matches the driver's wrap counter, USED does not. */
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

static void put_body(uint8_t *p, uint64_t addr, uint32_t len, uint16_t id)
{
	uint64_t a = vt_put_le64(addr);
	uint32_t l = vt_put_le32(len);
	uint16_t i = vt_put_le16(id);
	memcpy(p + PD_ADDR, &a, 8);
	memcpy(p + PD_LEN, &l, 4);
	memcpy(p + PD_ID, &i, 2);
}

/* What the driver asks of the device: ENABLE, DISABLE when suppressing,
 * DESC at the next used slot with EVENT_IDX. */
static void publish_driver_event(struct ref_driver *d, struct ref_vq *vq)
{
	uint16_t flags = RING_EVENT_FLAGS_ENABLE;
	if (d->pub.policy.suppress_used_notify)
		flags = RING_EVENT_FLAGS_DISABLE;
	else if (ref_has(d, VIRTIO_F_EVENT_IDX))
		flags = RING_EVENT_FLAGS_DESC;
	if (flags == RING_EVENT_FLAGS_DESC)
		ref_st16(vq->p.drv_event, (uint16_t)(vq->p.next_used | vq->p.used_wrap << 15));
	ref_st16_rel(vq->p.drv_event + 2, flags);
}

int ref_packed_setup(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	unsigned S = vq->size;
	/* Each part at exactly its alignment: events 4, descriptors 16.  The
	 * driver event suppression has a page of its own, which the device
	 * only reads; it writes the device event suppression and the
	 * descriptors (used descriptors) on the next page. */
	uint64_t drv_off = 4, dev_off = GMEM_PAGE_SIZE + 12, desc_off = GMEM_PAGE_SIZE + 16;
	const struct ref_rw rw = { GMEM_PAGE_SIZE, UINT64_MAX };
	if (ref_ring_alloc(d, vq, drv_off, dev_off, desc_off, virtq_packed_desc_size(S), &rw) != 0)
		return -1;
	vq->p.desc = vq->ring.drv + vq->desc_off;
	vq->p.drv_event = vq->ring.drv + vq->drv_off;
	vq->p.dev_event = vq->ring.drv + vq->dev_off;

	for (unsigned i = 0; i < S; i++) {
		vq->p.slot_flags[i] = 0;
		vq->p.id_free[i] = (uint16_t)(S - 1 - i);
		vq->p.seg_free[i] = (uint16_t)(S - 1 - i);
	}
	vq->p.nid_free = (uint16_t)S;
	vq->p.nseg_free = (uint16_t)S;
	vq->num_free = (uint16_t)S;
	vq->p.next_avail = vq->p.next_used = 0;
	vq->p.avail_wrap = vq->p.used_wrap = 1;   /* both counters start at 1 */
	vq->p.suspect = -1;
	vq->p.added = 0;
	publish_driver_event(d, vq);
	return 0;
}

void ref_packed_next(struct ref_driver *d, unsigned q, uint16_t *off, unsigned *wrap)
{
	struct ref_vq *vq = &d->vq[q];
	*off = vq->p.next_avail;
	*wrap = vq->p.avail_wrap;
}

/* ---- making buffers available --------------------------------------------- */

/* The packed ring's own one-shot faults (DRV-2.8.17). */
static bool packed_fault(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p)
{
	switch (d->pub.policy.fault) {
	case VT_DRV_FAULT_PACKED_HEAD_FIRST:       /* DRV-2.8.17 */
		if (p->n < 2)
			return false;
		p->layout = REF_DIRECT;
		p->head_first = true;
		return true;
	case VT_DRV_FAULT_CHAIN_TOO_LONG:          /* DRV-2.8.17 */
		if (vq->num_free != vq->size || p->n > vq->size)
			return false;
		p->layout = REF_DIRECT;
		p->too_long = true;
		return true;
	default:
		return false;
	}
}

/* One entry of an indirect table: only WRITE may be set (DRV-2.8.19). */
static void put_entry(uint8_t *p, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint16_t f = vt_put_le16(flags);
	put_body(p, addr, len, 0);
	memcpy(p + PD_FLAGS, &f, 2);
}

/* Write an indirect table: only WRITE may be set inside (DRV-2.8.19). */
static unsigned write_table(struct ref_vq *vq, uint16_t t, uint16_t rec, unsigned cnt,
			    uint16_t t2)
{
	uint8_t *tab = ref_table_drv(vq, t);
	for (unsigned k = 0; k < cnt; k++, rec = vq->seg_link[rec]) {
		const struct ref_map *m = &vq->seg[rec].m;
		put_entry(tab + 16u * k, m->dev, m->len, m->write ? VIRTQ_DESC_F_WRITE : 0);
	}
	unsigned total = cnt;
	if (t2 != REF_NONE) {
		/* DRV-2.8.19 broken on purpose: INDIRECT inside a table. */
		const struct ref_map *m = &vq->seg[rec].m;
		uint8_t *tab2 = ref_table_drv(vq, t2);
		put_entry(tab2, m->dev, m->len, m->write ? VIRTQ_DESC_F_WRITE : 0);
		memcpy(ref_table_shadow(vq, t2), tab2, 16);
		put_entry(tab + 16u * cnt, ref_table_dev(vq, t2), 16, VIRTQ_DESC_F_INDIRECT);
		total++;
	}
	memcpy(ref_table_shadow(vq, t), tab, 16u * total);
	return total;
}

/* Descriptor i of the list: address, length and flags (without the
 * AVAIL/USED/NEXT bits). */
static void list_desc(struct ref_driver *d, struct ref_vq *vq, const struct ref_plan *p,
		      const struct ref_req *req, unsigned i, uint16_t *rec, uint64_t *addr,
		      uint32_t *len, uint16_t *flags)
{
	if (p->layout == REF_INDIRECT || (p->layout == REF_IND_NEXT && i == 0)) {
		*addr = ref_table_dev(vq, req->table);
		*len = 16u * req->tn;
		*flags = VIRTQ_DESC_F_INDIRECT;
		if (p->layout == REF_INDIRECT && d->pub.policy.indirect_write_flag)
			*flags |= VIRTQ_DESC_F_WRITE;
		return;
	}
	const struct ref_map *m = &vq->seg[*rec].m;
	*addr = m->dev;
	*len = m->len;
	*flags = m->write ? VIRTQ_DESC_F_WRITE : 0;
	/* A list longer than the queue repeats its last segment. */
	if (vq->seg_link[*rec] != REF_NONE)
		*rec = vq->seg_link[*rec];
}

/* Make the list available: every descriptor but the head, then the
 * head's flags with release ordering (DRV-2.8.17). */
static void write_list(struct ref_driver *d, struct ref_vq *vq, const struct ref_plan *p,
		       const struct ref_req *req, uint16_t id)
{
	unsigned slot = vq->p.next_avail, wrap = vq->p.avail_wrap;
	unsigned head = slot;
	uint16_t head_flags = 0;
	uint16_t rec = req->seg;
	if (p->layout == REF_IND_NEXT) {
		/* The direct descriptor follows the table's segments. */
		for (unsigned k = 0; k + 1 < req->nseg; k++)
			rec = vq->seg_link[rec];
	}
	for (unsigned i = 0; i < p->ndesc; i++) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		list_desc(d, vq, p, req, i, &rec, &addr, &len, &flags);
		flags |= wrap_bits(wrap);
		if (i + 1 < p->ndesc || p->too_long)
			flags |= VIRTQ_DESC_F_NEXT;   /* too_long: DRV-2.8.17 on purpose */
		uint8_t *dp = pdesc(vq, slot);
		put_body(dp, addr, len, id);
		vq->p.slot_flags[slot] = flags;
		if (i == 0) {
			head_flags = flags;
			if (p->head_first) {
				/* DRV-2.8.17 broken on purpose: the head is
				 * available before the rest of the list, and
				 * the device gets a chance to look. */
				ref_st16_rel(dp + PD_FLAGS, flags);
				d->pub.t->ops->poll(d->pub.t);
				sched_yield();
			}
		} else {
			ref_st16(dp + PD_FLAGS, flags);
		}
		if (++slot == vq->size) {
			slot = 0;
			wrap ^= 1;
		}
	}
	if (!p->head_first)
		ref_st16_rel(pdesc(vq, head) + PD_FLAGS, head_flags);
	else
		__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->p.next_avail = (uint16_t)slot;
	vq->p.avail_wrap = (uint8_t)wrap;
	vq->p.added = (uint16_t)(vq->p.added + p->ndesc);
}

/* DRV-2.8.16 broken on purpose: change the len of a descriptor after it
 * was made available, while the device holds it. */
static void alter_exposed(struct ref_vq *vq, uint16_t id)
{
	struct ref_req *req = &vq->req[id];
	if (!req->busy)
		return;
	uint8_t *dp = pdesc(vq, req->first);
	if (ref_ld16_acq(dp + PD_FLAGS) != vq->p.slot_flags[req->first])
		return;                 /* already used: no longer exposed */
	bool ind = req->layout == REF_INDIRECT;
	uint8_t *tp = ind ? ref_table_drv(vq, req->table) : dp;
	ref_alter_len(vq, tp, ind ? ref_table_shadow(vq, req->table) : NULL, ref_ld32(tp + PD_LEN));
}

int ref_packed_add(struct ref_driver *d, unsigned q, const struct vt_buf *out, unsigned nout,
		   const struct vt_buf *in, unsigned nin, void *token)
{
	struct ref_vq *vq = &d->vq[q];
	struct ref_plan p;
	/* A list holds descriptors of one kind only (DRV-2.8.19), so the
	 * split ring's direct + indirect mix has no packed form. */
	int r = ref_plan(d, vq, out, nout, in, nin, false, packed_fault, &p);
	if (r != 0)
		return r;
	/* A list never outgrows the queue and fits whole (DRV-2.8.17). */
	if ((p.ndesc > vq->size && !p.too_long) || vq->num_free < p.ndesc || !vq->p.nid_free)
		return ref_plan_drop(vq, &p, p.ndesc > vq->size ? -1 : 1);
	r = ref_plan_map(d, vq, &p);
	if (r != 0)
		return r;

	uint16_t id = vq->p.id_free[--vq->p.nid_free];
	struct ref_req *req = ref_req_start(d, vq, id, &p, token);
	req->first = vq->p.next_avail;
	if (p.layout == REF_INDIRECT)
		req->tn = (uint16_t)write_table(vq, p.t, p.first, p.nested ? p.n - 1 : p.n,
						p.nested ? p.t2 : REF_NONE);
	else if (p.layout == REF_IND_NEXT)
		req->tn = (uint16_t)write_table(vq, p.t, p.first, p.n - 1, REF_NONE);
	req->exposed = 1;
	write_list(d, vq, &p, req, id);
	vq->num_free = (uint16_t)(vq->num_free - p.ndesc);
	if (ref_req_added(d, q, &p, req))
		alter_exposed(vq, id);
	return 0;
}

/* ---- notifying the device ------------------------------------------------ */

void ref_packed_kick(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready)
		return;
	bool force = ref_take_force(vq);
	if (vq->p.added == 0 && !force)
		return;
	uint16_t new_off = vq->p.next_avail;
	uint16_t old_off = (uint16_t)(new_off - vq->p.added);
	vq->p.added = 0;

	/* The flags must be visible before reading the device event
	 * suppression structure (DRV-2.8.21.3.1). */
	ref_full_fence();
	uint16_t off_wrap = ref_ld16(vq->p.dev_event);
	uint16_t flags = ref_ld16(vq->p.dev_event + 2) & 3;
	bool notify;
	if (flags == RING_EVENT_FLAGS_DESC && ref_has(d, VIRTIO_F_EVENT_IDX)) {
		uint16_t event = off_wrap & 0x7fff;
		if ((off_wrap >> 15) != vq->p.avail_wrap)
			event = (uint16_t)(event - vq->size);
		notify = vring_need_event(event, new_off, old_off);
	} else {
		notify = flags != RING_EVENT_FLAGS_DISABLE;
	}
	ref_kick_notify(d, q, notify, force, vq->p.next_avail, vq->p.avail_wrap);
}

/* ---- collecting used buffers ----------------------------------------------- */

static bool is_used(uint16_t flags, unsigned wrap)
{
	unsigned a = !!(flags & VIRTQ_DESC_F_AVAIL), u = !!(flags & VIRTQ_DESC_F_USED);
	return a == wrap && u == wrap;
}

/* A slot changed into something other than a used descriptor at the next
 * used slot: the queue is broken. */
static int bad_slot(struct ref_driver *d, unsigned q, unsigned slot, uint16_t flags)
{
	struct ref_vq *vq = &d->vq[q];
	char exp[VT_VIOL_VAL], got[VT_VIOL_VAL];
	vq->broken = true;
	snprintf(exp, sizeof(exp), "flags 0x%x or used with wrap %u", vq->p.slot_flags[slot],
		 vq->p.used_wrap);
	snprintf(got, sizeof(got), "flags 0x%x at slot %u", flags, slot);
	return ref_dev_violation(d, ref_vq_rule(vq, "DEV-2.8.12"), exp, got,
				 "queue %u: slot %u changed but is not a used descriptor at the next "
				 "used slot %u (used wrap counter %u)", q, slot, vq->p.next_used,
				 vq->p.used_wrap);
}

int ref_packed_scan(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready || vq->broken)
		return 0;
	int seen = -1;
	unsigned slot = vq->p.next_used;
	for (unsigned k = 0; k < vq->size; k++) {
		uint16_t f = ref_ld16_acq(pdesc(vq, slot) + PD_FLAGS);
		bool changed = (f ^ vq->p.slot_flags[slot]) & AVAIL_USED;
		bool in_flight = k < (unsigned)(vq->size - vq->num_free);
		if (changed && k > 0) {
			/* Nothing available there: never a used descriptor. */
			if (!in_flight)
				return bad_slot(d, q, slot, f);
			/* In flight but not the next used slot: the device may
			 * finish writes out of order for a moment, not for an
			 * idle period while the next used slot stays empty. */
			if (vq->p.suspect == (int)slot)
				return bad_slot(d, q, slot, f);
			if (seen < 0)
				seen = (int)slot;
		}
		if (++slot == vq->size)
			slot = 0;
	}
	vq->p.suspect = seen;
	return 0;
}

/* The driver's next used slot: 1 when it holds a used descriptor (its
 * flags in *flags), 0 not yet, -1 after a violation. */
static int next_used(struct ref_driver *d, unsigned q, uint16_t *flags)
{
	struct ref_vq *vq = &d->vq[q];
	unsigned slot = vq->p.next_used;
	*flags = ref_ld16_acq(pdesc(vq, slot) + PD_FLAGS);
	if (is_used(*flags, vq->p.used_wrap))
		return 1;
	/* Changed, yet not a used descriptor for this wrap: wrong wrap bits. */
	if ((*flags ^ vq->p.slot_flags[slot]) & AVAIL_USED)
		return bad_slot(d, q, slot, *flags);
	return 0;
}

int ref_packed_ready(struct ref_driver *d, unsigned q, uint64_t now)
{
	uint16_t flags;
	(void)now;
	return next_used(d, q, &flags);
}

static int check_used(struct ref_driver *d, unsigned q, uint16_t id, uint16_t flags, uint32_t len)
{
	struct ref_vq *vq = &d->vq[q];
	char got[VT_VIOL_VAL];
	if (id >= vq->size || !vq->req[id].busy || !vq->req[id].exposed) {
		snprintf(got, sizeof(got), "%u", id);
		return ref_dev_violation(d, ref_vq_rule(vq, "DEV-2.8.15"), "an outstanding buffer id",
					 got, "queue %u: used descriptor at slot %u has buffer id %u, "
					 "not outstanding", q, vq->p.next_used, id);
	}
	struct ref_req *req = &vq->req[id];
	bool wflag = flags & VIRTQ_DESC_F_WRITE;
	if (wflag && len > req->in_bytes)
		return ref_len_violation(d, q, req, ref_vq_rule(vq, "DEV-2.8.15"), "buffer id", id,
					 len, "");
	if (!wflag && len)
		/* Without WRITE the len field is reserved (2.8, descriptive text):
		 * a note, not a failure.  Drivers in the field read it anyway. */
		vt_advice(d->pub.vd, "INV-packed-write-flag", VT_WHO_DEVICE,
			  "queue %u: used descriptor for id %u has len %u but no WRITE flag%s",
			  q, id, len, len > req->in_bytes ? " (more than the buffer holds)" : "");
	int r = ref_check_readable(d, q, req, "DEV-2.8.15", "id", id);
	if (r != 0)
		return r;
	if (ref_tables_changed(vq, req) != REF_NONE)
		return ref_dev_violation(d, "DEV-2.8.15", "unchanged", "table changed",
					 "queue %u: the device wrote the indirect table of "
					 "buffer id %u", q, id);
	return 0;
}

int ref_packed_get_used(struct ref_driver *d, unsigned q, void **token, uint32_t *len)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready || vq->broken)
		return -1;
	uint16_t flags;
	int r = next_used(d, q, &flags);
	if (r != 1)
		return r;
	unsigned slot = vq->p.next_used;
	uint8_t *dp = pdesc(vq, slot);
	uint16_t id = ref_ld16(dp + PD_ID);
	uint32_t ulen = ref_ld32(dp + PD_LEN);
	if (check_used(d, q, id, flags, ulen) != 0)
		return ref_vq_broken(vq);
	struct ref_req *req = &vq->req[id];
	/* Like the drivers in the field, take len as the bytes written even
	 * without WRITE, as long as the buffer can hold them. */
	uint32_t written = ulen <= req->in_bytes ? ulen : 0;
	vq->p.slot_flags[slot] = flags;
	/* Skip the rest of the list: one used descriptor stands for it. */
	unsigned next = slot + req->ndesc;
	if (next >= vq->size) {
		next -= vq->size;
		vq->p.used_wrap ^= 1;
	}
	vq->p.next_used = (uint16_t)next;
	ref_req_retire(d, vq, req, written);
	vq->p.id_free[vq->p.nid_free++] = id;
	vq->p.suspect = -1;
	if (ref_has(d, VIRTIO_F_EVENT_IDX) && !d->pub.policy.suppress_used_notify)
		ref_st16_rel(vq->p.drv_event, (uint16_t)(vq->p.next_used | vq->p.used_wrap << 15));
	*token = req->token;
	*len = written;
	return 1;
}

uint64_t ref_packed_snapshot(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	/* What the device changed: slots whose flags differ from what the
	 * driver wrote or last saw, and the device event suppression. */
	uint64_t h = ref_hash(vq->p.dev_event, VIRTQ_PACKED_EVENT_SIZE);
	for (unsigned s = 0; s < vq->size; s++) {
		uint16_t f = ref_ld16_acq(pdesc(vq, s) + PD_FLAGS);
		if (f != vq->p.slot_flags[s])
			h = (h ^ ((uint64_t)s << 16 ^ f)) * 0x9e3779b97f4a7c15ull;
	}
	return h;
}
