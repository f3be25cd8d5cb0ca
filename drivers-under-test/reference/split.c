/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * split.c - split virtqueues (2.7) in the reference driver.
 *
 * The driver fills free descriptors (direct, or an indirect table when
 * negotiated), writes the head into the avail ring and publishes avail
 * idx with release ordering; it notifies unless the device suppressed
 * notifications.  When collecting used buffers it checks everything the
 * device wrote: used idx movement, used id and len (DEV-2.7.8.2), that
 * device-readable buffers and descriptors are unchanged (DEV-2.7.5.1),
 * used->flags (DEV-2.7.10.2) and that owed used buffer notifications
 * arrived (DEV-2.7.7.2).
 */
#include <stdio.h>

#include "ref.h"

/* ---- ring fields ------------------------------------------------------ */

static uint8_t *desc_at(struct ref_vq *vq, unsigned i)
{
	return vq->s.desc + 16u * i;
}
static void *avail_idx_p(struct ref_vq *vq)
{
	return vq->s.avail + 2;
}
static void *avail_ring_p(struct ref_vq *vq, unsigned i)
{
	return vq->s.avail + 4 + 2u * i;
}
static void *used_event_p(struct ref_vq *vq)
{
	return vq->s.avail + virtq_used_event_off(vq->size);
}
static void *used_idx_p(struct ref_vq *vq)
{
	return vq->s.used + 2;
}
static uint8_t *used_elem(struct ref_vq *vq, unsigned i)
{
	return vq->s.used + 4 + 8u * i;
}
static void *avail_event_p(struct ref_vq *vq)
{
	return vq->s.used + virtq_avail_event_off(vq->size);
}

static void put_desc(uint8_t *dst, struct virtq_desc *shadow, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc v;
	v.addr = vt_put_le64(addr);
	v.len = vt_put_le32(len);
	v.flags = vt_put_le16(flags);
	v.next = vt_put_le16(next);
	memcpy(dst, &v, sizeof(v));
	*shadow = v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---- used buffer notification judgement -------------------------------- */

/* What the driver asks of the device after consuming up to last_used: the
 * used_event word, or avail->flags without EVENT_IDX (2.7.7). */
static void publish_used_event(struct ref_driver *d, struct ref_vq *vq)
{
	if (!ref_has(d, VIRTIO_F_EVENT_IDX))
		return;
	/* Suppressing: one behind, so the next crossing is 65536 away. */
	vq->s.used_event = d->pub.policy.suppress_used_notify ? (uint16_t)(vq->s.last_used - 1)
							      : vq->s.last_used;
	ref_st16(used_event_p(vq), vq->s.used_event);
}

/* After our suppression state is visible (full fence), re-read used idx:
 * if the device has not moved it, its next used write must see our state,
 * so the next batch can be judged against the notification counter. */
static void arm(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	ref_full_fence();
	vq->s.owed = false;
	vq->s.armed = ref_ld16_acq(used_idx_p(vq)) == vq->s.last_used;
	vq->s.irq_base = vt_used_irqs(d->pub.t, q);
}

int ref_split_ready(struct ref_driver *d, unsigned q, uint64_t now)
{
	struct ref_vq *vq = &d->vq[q];
	uint16_t idx = ref_ld16_acq(used_idx_p(vq));
	if (idx == vq->s.last_used)
		return 0;
	if (!vq->s.armed)
		return 1;
	bool owed = ref_has(d, VIRTIO_F_EVENT_IDX)
			    ? vring_need_event(vq->s.used_event, idx, vq->s.last_used)
			    : vq->s.avail_flags == 0;
	if (!owed || vt_used_irqs(d->pub.t, q) != vq->s.irq_base) {
		vq->s.armed = false;
		return 1;
	}
	/* A threaded device notifies just after publishing used idx. */
	if (!vq->s.owed) {
		vq->s.owed = true;
		vq->s.owed_at = now;
		return 0;
	}
	if (now - vq->s.owed_at < REF_GRACE_NS)
		return 0;
	vq->s.armed = false;
	char got[VT_VIOL_VAL];
	snprintf(got, sizeof(got), "%u notifications", vt_used_irqs(d->pub.t, q) - vq->s.irq_base);
	if (ref_has(d, VIRTIO_F_EVENT_IDX))
		return ref_dev_violation(d, "DEV-2.7.7.2", "a used buffer notification", got,
					 "queue %u: used idx moved %u -> %u past used_event %u "
					 "without a notification", q, vq->s.last_used, idx,
					 vq->s.used_event);
	return ref_dev_violation(d, "DEV-2.7.7.2", "a used buffer notification", got,
				 "queue %u: used idx moved %u -> %u with avail->flags 0 "
				 "and no notification", q, vq->s.last_used, idx);
}

/* ---- setup -------------------------------------------------------------- */

int ref_split_setup(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	unsigned S = vq->size;
	bool event_idx = ref_has(d, VIRTIO_F_EVENT_IDX);
	bool suppress = d->pub.policy.suppress_used_notify;

	/* Each part exactly at its alignment (2.7), not more, so a device
	 * assuming a larger one is caught: avail 2, used 4, desc 16.  When the
	 * parts the device only reads are mapped read-only, each part starts a
	 * page of its own, so behind an IOMMU the device may write the used
	 * ring and only read the avail ring and the descriptors; otherwise
	 * they follow each other, each at an offset that is not a multiple of
	 * twice its alignment. */
	bool own_pages = !d->pub.policy.rings_read_write;
	uint64_t avail_off = 2;
	uint64_t used_off = align_up(avail_off + virtq_split_avail_size(S), 4);
	if (own_pages)
		used_off = align_up(used_off, GMEM_PAGE_SIZE) + 4;
	else if (used_off % 8 == 0)
		used_off += 4;
	/* At least 16 guard bytes after the used ring: a device writing past
	 * it (a stale, larger queue size) shows there. */
	uint64_t used_end = used_off + virtq_split_used_size(S) + 16;
	uint64_t desc_off = align_up(used_end, 16);
	if (own_pages)
		desc_off = align_up(desc_off, GMEM_PAGE_SIZE) + 16;
	else if (desc_off % 32 == 0)
		desc_off += 16;
	const struct ref_rw rw = { used_off, used_end };
	if (ref_ring_alloc(d, vq, avail_off, used_off, desc_off, virtq_split_desc_size(S), &rw) != 0)
		return -1;
	vq->s.desc = vq->ring.drv + vq->desc_off;
	vq->s.avail = vq->ring.drv + vq->drv_off;
	vq->s.used = vq->ring.drv + vq->dev_off;

	for (unsigned i = 0; i < S; i++)
		vq->s.free_next[i] = (uint16_t)(i + 1 < S ? i + 1 : REF_NONE);
	vq->s.free_head = 0;
	vq->num_free = (uint16_t)S;
	vq->s.avail_idx = vq->s.kicked_idx = vq->s.last_used = 0;
	vq->s.flags_reported = false;

	/* avail->flags: 1 asks for no used notifications, only without
	 * EVENT_IDX (DRV-2.7.7.1). */
	uint16_t flags = event_idx ? 0 : suppress ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
	if (event_idx && ref_fault(d, VT_DRV_FAULT_AVAIL_FLAGS_EVENT_IDX))
		flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	vq->s.avail_flags = flags;
	ref_st16(vq->s.avail, flags);
	publish_used_event(d, vq);
	/* used->flags starts 0 (DRV-2.7.10.1): the block is zeroed. */
	if (ref_fault(d, VT_DRV_FAULT_USED_FLAGS_NOT_ZERO))
		ref_st16(vq->s.used, VIRTQ_USED_F_NO_NOTIFY);
	arm(d, q);
	return 0;
}

void ref_split_next(struct ref_driver *d, unsigned q, uint16_t *off, unsigned *wrap)
{
	struct ref_vq *vq = &d->vq[q];
	*off = vq->s.avail_idx & 0x7fff;
	*wrap = vq->s.avail_idx >> 15;
}

/* ---- making buffers available --------------------------------------------- */

/* The split ring's own one-shot faults (DRV-2.7.5.2). */
static bool split_fault(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p)
{
	switch (d->pub.policy.fault) {
	case VT_DRV_FAULT_CHAIN_LOOP:              /* DRV-2.7.5.2 */
		p->layout = REF_DIRECT;
		p->loop = true;
		return true;
	case VT_DRV_FAULT_CHAIN_OVER_4G:           /* DRV-2.7.5.2 */
		if (p->n < 2)
			return false;
		p->layout = REF_DIRECT;
		p->over4g = true;
		return true;
	default:
		return false;
	}
}

/* Write table t: segment records rec[0..cnt) (linked), plus the nested
 * entry when asked.  Returns the number of entries. */
static unsigned write_table(struct ref_vq *vq, uint16_t t, uint16_t rec, unsigned cnt,
			    uint16_t t2)
{
	unsigned total = cnt + (t2 != REF_NONE);
	uint8_t *tab = ref_table_drv(vq, t);
	struct virtq_desc *sh = ref_table_shadow(vq, t);
	for (unsigned k = 0; k < cnt; k++, rec = vq->seg_link[rec]) {
		const struct ref_map *m = &vq->seg[rec].m;
		bool more = k + 1 < total;
		put_desc(tab + 16u * k, &sh[k], m->dev, m->len,
			 (uint16_t)((m->write ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(more ? k + 1 : 0));
	}
	if (t2 != REF_NONE) {
		/* DRV-2.7.5.3.1 broken on purpose: a table inside a table. */
		const struct ref_map *m = &vq->seg[rec].m;
		put_desc(ref_table_drv(vq, t2), ref_table_shadow(vq, t2),
			 m->dev, m->len, m->write ? VIRTQ_DESC_F_WRITE : 0, 0);
		put_desc(tab + 16u * cnt, &sh[cnt], ref_table_dev(vq, t2), 16,
			 VIRTQ_DESC_F_INDIRECT, 0);
	}
	return total;
}

static uint16_t ind_flags(struct ref_driver *d)
{
	/* WRITE on a descriptor pointing to a table: the device must ignore
	 * it (DEV-2.7.5.3.2). */
	return (uint16_t)(VIRTQ_DESC_F_INDIRECT |
			  (d->pub.policy.indirect_write_flag ? VIRTQ_DESC_F_WRITE : 0));
}

/* Write the ring's descriptors; returns the chain's last descriptor. */
static uint16_t write_chain(struct ref_driver *d, struct ref_vq *vq, const struct ref_plan *p,
			    struct ref_req *req)
{
	unsigned n = p->n;
	uint16_t t = p->t, t2 = p->t2;
	uint16_t d0 = vq->s.free_head, cur = d0, last = d0, first_w = REF_NONE;
	uint16_t rec = req->seg;
	struct virtq_desc *sh = vq->s.shadow;

	switch (p->layout) {
	case REF_DIRECT:
		for (unsigned j = 0; j < n; j++, rec = vq->seg_link[rec]) {
			const struct ref_map *m = &vq->seg[rec].m;
			bool more = j + 1 < n;
			uint16_t flags = (uint16_t)((m->write ? VIRTQ_DESC_F_WRITE : 0) |
						    (more ? VIRTQ_DESC_F_NEXT : 0));
			uint16_t next = more ? vq->s.free_next[cur] : 0;
			uint32_t len = m->len;
			if (m->write && first_w == REF_NONE)
				first_w = cur;
			if (p->over4g && j < 2)           /* DRV-2.7.5.2, on purpose */
				len = j == 0 ? 0x80000000u : 0x80000001u;
			if (p->loop && !more) {           /* DRV-2.7.5.2, on purpose */
				/* Back to the first writable descriptor (or the
				 * head): the order of the chain stays right. */
				flags |= VIRTQ_DESC_F_NEXT;
				next = first_w != REF_NONE ? first_w : d0;
			}
			put_desc(desc_at(vq, cur), &sh[cur], m->dev, len, flags, next);
			last = cur;
			cur = vq->s.free_next[cur];
		}
		break;
	case REF_INDIRECT:
		req->tn = (uint16_t)write_table(vq, t, rec, p->nested ? n - 1 : n, p->nested ? t2 : REF_NONE);
		put_desc(desc_at(vq, d0), &sh[d0], ref_table_dev(vq, t), 16u * req->tn, ind_flags(d), 0);
		break;
	case REF_MIXED: {
		const struct ref_map *m = &vq->seg[rec].m;
		uint16_t d1 = vq->s.free_next[d0];
		put_desc(desc_at(vq, d0), &sh[d0], m->dev, m->len,
			 (uint16_t)((m->write ? VIRTQ_DESC_F_WRITE : 0) | VIRTQ_DESC_F_NEXT), d1);
		req->tn = (uint16_t)write_table(vq, t, vq->seg_link[rec], n - 1, REF_NONE);
		put_desc(desc_at(vq, d1), &sh[d1], ref_table_dev(vq, t), 16u * req->tn, ind_flags(d), 0);
		last = d1;
		break;
	}
	default: {
		/* DRV-2.7.5.3.1 broken on purpose: INDIRECT together with NEXT. */
		uint16_t d1 = vq->s.free_next[d0];
		req->tn = (uint16_t)write_table(vq, t, rec, n - 1, REF_NONE);
		uint16_t lastrec = rec;
		for (unsigned j = 0; j + 1 < n; j++)
			lastrec = vq->seg_link[lastrec];
		const struct ref_map *m = &vq->seg[lastrec].m;
		put_desc(desc_at(vq, d0), &sh[d0], ref_table_dev(vq, t), 16u * req->tn,
			 VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, d1);
		put_desc(desc_at(vq, d1), &sh[d1], m->dev, m->len, m->write ? VIRTQ_DESC_F_WRITE : 0, 0);
		last = d1;
		break;
	}
	}
	return last;
}

/* Has the device put `head` in the used ring (not yet collected)? */
static bool head_used(struct ref_vq *vq, uint16_t head)
{
	uint16_t idx = ref_ld16_acq(used_idx_p(vq));
	for (uint16_t i = vq->s.last_used; i != idx; i++)
		if (ref_ld32(used_elem(vq, i % vq->size)) == head)
			return true;
	return false;
}

/* DRV-3.3.1 broken on purpose: change the len of a descriptor the device
 * holds (exposed and not used).  The shadow follows: the driver did it. */
static void alter_exposed(struct ref_vq *vq, uint16_t head)
{
	struct ref_req *req = &vq->req[head];
	if (!req->busy || !req->exposed || head_used(vq, head))
		return;
	uint8_t *dp;
	struct virtq_desc *sh;
	if (req->layout == REF_INDIRECT) {
		dp = ref_table_drv(vq, req->table);
		sh = ref_table_shadow(vq, req->table);
	} else {
		dp = desc_at(vq, head);
		sh = &vq->s.shadow[head];
	}
	ref_alter_len(vq, dp, sh, vt_le32(sh->len));
}

int ref_split_add(struct ref_driver *d, unsigned q, const struct vt_buf *out, unsigned nout,
		  const struct vt_buf *in, unsigned nin, void *token)
{
	struct ref_vq *vq = &d->vq[q];
	struct ref_plan p;
	int r = ref_plan(d, vq, out, nout, in, nin, true, split_fault, &p);
	if (r != 0)
		return r;
	/* A chain never outgrows the queue (DRV-2.7.5.3.1). */
	if (p.ndesc > vq->size || vq->num_free < p.ndesc)
		return ref_plan_drop(vq, &p, p.ndesc > vq->size ? -1 : 1);
	/* Direct segments are recorded at their descriptors, in chain order:
	 * after the table's descriptor when INDIRECT comes with NEXT. */
	p.rec = vq->s.free_head;
	if (p.layout == REF_IND_NEXT)
		p.rec = vq->s.free_next[p.rec];
	r = ref_plan_map(d, vq, &p);
	if (r != 0)
		return r;

	uint16_t head = vq->s.free_head;
	struct ref_req *req = ref_req_start(d, vq, head, &p, token);
	req->last = write_chain(d, vq, &p, req);
	vq->s.free_head = vq->s.free_next[req->last];
	vq->num_free = (uint16_t)(vq->num_free - p.ndesc);

	/* avail ring entry, then avail idx with release ordering so the
	 * device sees the descriptors and the entry first (DRV-2.7.13.3.1). */
	ref_st16(avail_ring_p(vq, vq->s.avail_idx % vq->size), head);
	if (ref_fault_due(d, vq, VT_DRV_FAULT_AVAIL_IDX_DECREMENT) && vq->adds >= 3 &&
	    vq->outstanding == 0) {
		/* DRV-2.7.6.1 broken on purpose: idx one lower than what the
		 * device already consumed; notify so it looks. */
		ref_st16_rel(avail_idx_p(vq), (uint16_t)(vq->s.avail_idx - 1));
		req->exposed = 0;
		vq->force_notify = true;
		p.fault = true;
	} else {
		vq->s.avail_idx++;
		ref_st16_rel(avail_idx_p(vq), vq->s.avail_idx);
		req->exposed = 1;
	}
	if (ref_req_added(d, q, &p, req))
		alter_exposed(vq, head);
	return 0;
}

/* ---- notifying the device ------------------------------------------------ */

void ref_split_kick(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready)
		return;
	uint16_t new_idx = vq->s.avail_idx, old_idx = vq->s.kicked_idx;
	bool force = ref_take_force(vq);
	if (new_idx == old_idx && !force)
		return;
	vq->s.kicked_idx = new_idx;

	/* avail idx must be visible before reading the device's suppression
	 * (DRV-2.7.13.4.1). */
	ref_full_fence();
	uint16_t flags = ref_ld16(vq->s.used);
	bool event_idx = ref_has(d, VIRTIO_F_EVENT_IDX);
	bool own_flags = ref_fault(d, VT_DRV_FAULT_USED_FLAGS_NOT_ZERO);
	if (!own_flags && !vq->s.flags_reported && (event_idx ? flags != 0 : flags > 1)) {
		char got[VT_VIOL_VAL];
		vq->s.flags_reported = true;
		snprintf(got, sizeof(got), "%u", flags);
		ref_dev_violation(d, "DEV-2.7.10.2", event_idx ? "0" : "0 or 1", got,
				  "queue %u: used->flags %u%s", q, flags,
				  event_idx ? " with VIRTIO_F_EVENT_IDX" : "");
	}
	bool notify;
	if (event_idx)
		/* The lower bit of flags is ignored (DRV-2.7.10.1). */
		notify = vring_need_event(ref_ld16(avail_event_p(vq)), new_idx, old_idx);
	else
		notify = own_flags || flags != VIRTQ_USED_F_NO_NOTIFY;
	ref_kick_notify(d, q, notify, force, new_idx & 0x7fff, new_idx >> 15);
}

/* ---- collecting used buffers ----------------------------------------------- */

/* Which clause a broken used entry is charged to. */
static const char *layout_rule(const struct ref_req *req, const char *rule)
{
	/* A device that mishandles WRITE on an indirect descriptor or a
	 * direct + indirect chain breaks DEV-2.7.5.3.2 first. */
	if (req && (req->ind_wflag || req->layout == REF_MIXED))
		return "DEV-2.7.5.3.2";
	return rule;
}

static const char *req_rule(struct ref_vq *vq, const struct ref_req *req, const char *rule)
{
	const char *r = ref_vq_rule(vq, rule);
	return r != rule ? r : layout_rule(req, rule);
}

/* Did the device write into the descriptor table or an indirect table? */
static int descs_changed(struct ref_vq *vq, uint16_t head, const struct ref_req *req,
			 unsigned *where)
{
	uint16_t cur = head;
	for (unsigned k = 0; k < req->ndesc; k++, cur = vq->s.free_next[cur])
		if (memcmp(desc_at(vq, cur), &vq->s.shadow[cur], 16) != 0) {
			*where = cur;
			return 1;
		}
	uint16_t t = ref_tables_changed(vq, req);
	if (t != REF_NONE) {
		*where = t;
		return 2;
	}
	return 0;
}

/* The guard bytes after the used ring stay zero. */
static bool guard_written(struct ref_vq *vq)
{
	static const uint8_t zero[16];
	return memcmp(vq->s.used + virtq_split_used_size(vq->size), zero, 16) != 0;
}

static int check_entry(struct ref_driver *d, unsigned q, uint16_t idx, uint32_t id, uint32_t len)
{
	struct ref_vq *vq = &d->vq[q];
	char exp[VT_VIOL_VAL], got[VT_VIOL_VAL];
	uint16_t delta = (uint16_t)(idx - vq->s.last_used);

	if (vq->after_qreset && guard_written(vq))
		return ref_dev_violation(d, ref_vq_rule(vq, "DEV-2.7.8.2"), "nothing past the used ring",
					 "written", "queue %u: the device wrote past the end of the %u-entry "
					 "used ring", q, vq->size);
	if (delta > vq->outstanding) {
		snprintf(exp, sizeof(exp), "<= %u", vq->s.last_used + vq->outstanding);
		snprintf(got, sizeof(got), "%u", idx);
		return ref_dev_violation(d, req_rule(vq, NULL, "DEV-2.7.8.2"), exp, got,
					 "queue %u: used idx moved %u -> %u with %u buffers outstanding",
					 q, vq->s.last_used, idx, vq->outstanding);
	}
	if (id >= vq->size) {
		snprintf(exp, sizeof(exp), "< %u", vq->size);
		snprintf(got, sizeof(got), "%u", id);
		return ref_dev_violation(d, req_rule(vq, NULL, "DEV-2.7.8.2"), exp, got,
					 "queue %u: used ring entry %u has id %u beyond the queue size",
					 q, vq->s.last_used, id);
	}
	struct ref_req *req = &vq->req[id];
	if (!req->busy || !req->exposed) {
		snprintf(got, sizeof(got), "%u", id);
		return ref_dev_violation(d, req_rule(vq, NULL, "DEV-2.7.8.2"),
					 "the head of an outstanding chain", got,
					 "queue %u: used ring entry %u has id %u, not an outstanding head",
					 q, vq->s.last_used, id);
	}
	if (len > req->in_bytes)
		return ref_len_violation(d, q, req, req_rule(vq, req, "DEV-2.7.8.2"), "head", id, len,
					 "");
	/* Device-readable buffers and descriptors are the driver's: the
	 * device writes neither (DEV-2.7.5.1). */
	int r = ref_check_readable(d, q, req, layout_rule(req, "DEV-2.7.5.1"), "head", id);
	if (r != 0)
		return r;
	unsigned where = 0;
	int which = descs_changed(vq, (uint16_t)id, req, &where);
	if (which) {
		snprintf(got, sizeof(got), "%s %u changed", which == 1 ? "descriptor" : "table", where);
		return ref_dev_violation(d, req_rule(vq, req, "DEV-2.7.5.1"), "unchanged", got,
					 "queue %u: the device wrote %s %u of the chain at head %u", q,
					 which == 1 ? "descriptor" : "indirect table", where, id);
	}
	return 0;
}

int ref_split_get_used(struct ref_driver *d, unsigned q, void **token, uint32_t *len)
{
	struct ref_vq *vq = &d->vq[q];
	if (!vq->ready || vq->broken)
		return -1;
	uint16_t idx = ref_ld16_acq(used_idx_p(vq));
	if (idx == vq->s.last_used)
		return 0;
	const uint8_t *e = used_elem(vq, vq->s.last_used % vq->size);
	uint32_t id = ref_ld32(e), ulen = ref_ld32(e + 4);
	if (check_entry(d, q, idx, id, ulen) != 0)
		return ref_vq_broken(vq);

	struct ref_req *req = &vq->req[id];
	vq->s.free_next[req->last] = vq->s.free_head;
	vq->s.free_head = (uint16_t)id;
	ref_req_retire(d, vq, req, ulen);
	vq->s.last_used++;
	publish_used_event(d, vq);
	arm(d, q);
	*token = req->token;
	*len = ulen;
	return 1;
}

uint64_t ref_split_snapshot(struct ref_driver *d, unsigned q)
{
	struct ref_vq *vq = &d->vq[q];
	/* used idx and the used ring entries */
	return ref_hash(vq->s.used + 2, 2 + 8ull * vq->size);
}
