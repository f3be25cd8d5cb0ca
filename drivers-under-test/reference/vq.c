/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vq.c - what the split (2.7) and packed (2.8) virtqueues of the reference
 * driver do alike, whatever the ring layout.
 *
 * Making a request available: plan it (direct descriptors or an indirect
 * table, and the one driver fault it may carry), reserve its indirect
 * tables, map its segments into segment records and fingerprint the
 * device-readable bytes, fill in its per-request record.  Collecting it:
 * the checks of a used buffer that do not depend on the layout (used len
 * against the device-writable bytes, device-readable bytes and indirect
 * tables unchanged), then unmap and give everything back.  Also the ring
 * block allocation, the end of a kick (notify or not) and the clause a
 * failure is charged to while a queue reset is followed up.
 */
#include <stdio.h>

#include "ref.h"

/* ---- the ring block and notifications -------------------------------------- */

int ref_ring_alloc(struct ref_driver *d, struct ref_vq *vq, uint64_t drv_off, uint64_t dev_off,
		   uint64_t desc_off, uint64_t desc_size, const struct ref_rw *rw)
{
	if (ref_fault(d, VT_DRV_FAULT_MISALIGNED_RING))
		desc_off += 8;          /* DRV-2.7.1, DRV-2.8.11 broken on purpose */
	/* INV-unshared-access broken on purpose: queue 0's rings stay in
	 * private memory in a secure guest. */
	vq->ring.private_mem = ref_fault(d, VT_DRV_FAULT_RING_PRIVATE) && vq == &d->vq[0];
	unsigned perm = d->pub.policy.rings_read_write ? IOMMU_PERM_RW : IOMMU_PERM_R;
	if (ref_dma_coh_alloc(d, &vq->ring, desc_off + desc_size, perm, rw))
		return -1;
	vq->desc_off = desc_off;
	vq->drv_off = drv_off;
	vq->dev_off = dev_off;
	return 0;
}

void ref_kick_notify(struct ref_driver *d, unsigned q, bool notify, bool force, uint16_t next_off,
		     unsigned next_wrap)
{
	if (ref_fault(d, VT_DRV_FAULT_SKIP_NOTIFY))
		notify = false;         /* DRV-2.7.10.1 broken on purpose */
	if (notify || force)
		ref_notify(d, q, next_off, next_wrap);
}

/* ---- planning a request ------------------------------------------------ */

/* The one-shot driver faults both layouts break the same way; any other
 * is the layout's own. */
static bool plan_fault(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p,
		       ref_fault_fn *own)
{
	unsigned n = p->n;
	bool ind = ref_has(d, VIRTIO_F_INDIRECT_DESC);
	switch (d->pub.policy.fault) {
	case VT_DRV_FAULT_NONE:
		return false;
	case VT_DRV_FAULT_WRITABLE_FIRST:          /* DRV-2.7.4.2, DRV-2.8.17 */
		if (!p->nout || !p->nin)
			return false;
		p->wfirst = true;
		return true;
	case VT_DRV_FAULT_INDIRECT_NOT_NEGOTIATED: /* DRV-2.7.5.3.1, DRV-2.8.19 */
		if (ind || !vq->ntables || n > REF_IND_MAX)
			return false;
		p->layout = REF_INDIRECT;
		return true;
	case VT_DRV_FAULT_INDIRECT_NESTED:         /* DRV-2.7.5.3.1, DRV-2.8.19 */
		if (!ind || vq->ntable_free < 2 || n > REF_IND_MAX)
			return false;
		p->layout = REF_INDIRECT;
		p->nested = true;
		return true;
	case VT_DRV_FAULT_INDIRECT_WITH_NEXT:      /* DRV-2.7.5.3.1, DRV-2.8.19 */
		if (!ind || !vq->ntables || n < 2 || n - 1 > REF_IND_MAX)
			return false;
		p->layout = REF_IND_NEXT;
		return true;
	default:
		return own(d, vq, p);
	}
}

/* Ring descriptors the layout occupies. */
static unsigned plan_ndesc(const struct ref_vq *vq, const struct ref_plan *p)
{
	switch (p->layout) {
	case REF_DIRECT:   return p->too_long ? vq->size : p->n;
	case REF_INDIRECT: return 1;
	default:           return 2;
	}
}

/* The indirect tables the layout needs; without them the request goes
 * direct, unless it exists to carry a fault through a table. */
static int plan_tables(struct ref_vq *vq, struct ref_plan *p)
{
	if (p->layout == REF_DIRECT)
		return 0;
	p->t = ref_table_get(vq);
	if (p->nested)
		p->t2 = ref_table_get(vq);
	if (p->t != REF_NONE && (!p->nested || p->t2 != REF_NONE))
		return 0;
	ref_table_put(vq, p->t);
	ref_table_put(vq, p->t2);
	p->t = p->t2 = REF_NONE;
	if (p->fault)
		return 1;
	p->layout = REF_DIRECT;
	p->ndesc = p->n;
	return 0;
}

int ref_plan(struct ref_driver *d, struct ref_vq *vq, const struct vt_buf *out, unsigned nout,
	     const struct vt_buf *in, unsigned nin, bool mixed, ref_fault_fn *own,
	     struct ref_plan *p)
{
	const struct vt_driver_policy *pol = &d->pub.policy;
	unsigned n = nout + nin;
	if (!vq->ready || vq->broken || n == 0)
		return -1;
	*p = (struct ref_plan){
		.out = out, .in = in, .nout = nout, .nin = nin, .n = n,
		.layout = REF_DIRECT, .t = REF_NONE, .t2 = REF_NONE, .rec = REF_NONE, .first = REF_NONE,
	};
	if (pol->use_indirect && ref_has(d, VIRTIO_F_INDIRECT_DESC) && vq->ntables && n >= 2) {
		if (mixed && pol->mixed_indirect && nout >= 1 && n - 1 <= REF_IND_MAX)
			p->layout = REF_MIXED;
		else if (n <= REF_IND_MAX)
			p->layout = REF_INDIRECT;
	}
	if (!vq->fault_done && plan_fault(d, vq, p, own))
		p->fault = true;
	p->ndesc = plan_ndesc(vq, p);
	return plan_tables(vq, p);
}

/* ---- segment records ---------------------------------------------------- */

/* Segment j in chain order: readable ones first, unless the plan breaks
 * that order on purpose. */
static const struct vt_buf *seg_at(const struct ref_plan *p, unsigned j, bool *write)
{
	if (p->wfirst) {
		*write = j < p->nin;
		return j < p->nin ? &p->in[j] : &p->out[j - p->nin];
	}
	*write = j >= p->nout;
	return j < p->nout ? &p->out[j] : &p->in[j - p->nout];
}

/* The record of a segment in a ring descriptor: a split queue's are its
 * descriptors, in chain order from p->rec; a packed queue's come off a
 * free stack. */
static uint16_t direct_rec(struct ref_vq *vq, struct ref_plan *p)
{
	if (vq->is_packed)
		return vq->p.seg_free[--vq->p.nseg_free];
	uint16_t rec = p->rec;
	p->rec = vq->s.free_next[rec];
	return rec;
}

/* A packed queue's direct record goes back on its free stack. */
static void direct_put(struct ref_vq *vq, uint16_t rec)
{
	if (vq->is_packed && rec < vq->size)
		vq->p.seg_free[vq->p.nseg_free++] = rec;
}

/* The record of segment j under the plan's layout. */
static uint16_t seg_rec(struct ref_vq *vq, struct ref_plan *p, unsigned j)
{
	unsigned last = p->n - 1;
	switch (p->layout) {
	case REF_DIRECT:
		return direct_rec(vq, p);
	case REF_INDIRECT:
		return p->nested && j == last ? ref_table_seg(vq, p->t2, 0) : ref_table_seg(vq, p->t, j);
	case REF_MIXED:
		return j == 0 ? direct_rec(vq, p) : ref_table_seg(vq, p->t, j - 1);
	default:
		return j == last ? direct_rec(vq, p) : ref_table_seg(vq, p->t, j);
	}
}

static int seg_map(struct ref_driver *d, struct ref_vq *vq, uint16_t idx, const struct vt_buf *b,
		   bool write)
{
	struct ref_seg *s = &vq->seg[idx];
	vq->seg_link[idx] = REF_NONE;
	s->check = 0;
	return ref_dma_map(d, b->gpa, b->len, write, &s->m);
}

static bool overlap(const struct ref_map *a, const struct ref_map *b)
{
	return a->view < b->view + b->len && b->view < a->view + a->len;
}

/* After all segments are mapped: fingerprint the readable ones that no
 * writable segment of the same request overlaps. */
static void seg_seal(struct ref_driver *d, struct ref_vq *vq, uint16_t first)
{
	for (uint16_t i = first; i != REF_NONE; i = vq->seg_link[i]) {
		struct ref_seg *s = &vq->seg[i];
		if (s->m.write || s->m.len == 0)
			continue;
		bool alone = true;
		for (uint16_t j = first; j != REF_NONE && alone; j = vq->seg_link[j])
			if (vq->seg[j].m.write && overlap(&s->m, &vq->seg[j].m))
				alone = false;
		const void *p = alone ? ref_dma_view(d, &s->m) : NULL;
		s->check = p != NULL;
		if (p)
			s->hash = ref_hash(p, s->m.len);
	}
}

/* Index of the first readable segment whose bytes changed, or REF_NONE. */
static uint16_t seg_changed(struct ref_driver *d, struct ref_vq *vq, uint16_t first)
{
	for (uint16_t i = first; i != REF_NONE; i = vq->seg_link[i]) {
		struct ref_seg *s = &vq->seg[i];
		if (s->check && ref_hash(ref_dma_view(d, &s->m), s->m.len) != s->hash)
			return i;
	}
	return REF_NONE;
}

/* Unmap every segment, copying `written` bytes back into the writable
 * ones in order. */
static void seg_unmap(struct ref_driver *d, struct ref_vq *vq, uint16_t first, uint32_t written)
{
	for (uint16_t i = first; i != REF_NONE; i = vq->seg_link[i]) {
		struct ref_map *m = &vq->seg[i].m;
		uint32_t w = 0;
		if (m->write) {
			w = written < m->len ? written : m->len;
			written -= w;
		}
		ref_dma_unmap(d, m, w);
	}
}

/* Direct records of a chain back on a packed queue's free stack. */
static void seg_release(struct ref_vq *vq, uint16_t first)
{
	for (uint16_t i = first; i != REF_NONE; i = vq->seg_link[i])
		direct_put(vq, i);
}

int ref_plan_map(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p)
{
	uint16_t first = REF_NONE, prev = REF_NONE;
	p->in_bytes = 0;
	for (unsigned j = 0; j < p->n; j++) {
		bool w;
		const struct vt_buf *b = seg_at(p, j, &w);
		uint16_t rec = seg_rec(vq, p, j);
		int r = seg_map(d, vq, rec, b, w);
		if (r != 0) {
			direct_put(vq, rec);
			seg_unmap(d, vq, first, 0);
			seg_release(vq, first);
			/* Nothing in flight to wait for: it never fits. */
			return ref_plan_drop(vq, p, r > 0 && vq->outstanding == 0 ? -1 : r);
		}
		if (prev == REF_NONE)
			first = rec;
		else
			vq->seg_link[prev] = rec;
		prev = rec;
		if (w)
			p->in_bytes += b->len;
	}
	seg_seal(d, vq, first);
	p->first = first;
	return 0;
}

/* ---- the request, from available to used ---------------------------------- */

struct ref_req *ref_req_start(struct ref_driver *d, struct ref_vq *vq, uint16_t id,
			      const struct ref_plan *p, void *token)
{
	struct ref_req *req = &vq->req[id];
	req->token = token;
	req->in_bytes = p->in_bytes;
	req->nseg = (uint16_t)p->n;
	req->ndesc = (uint16_t)p->ndesc;
	req->table = p->t;
	req->table2 = p->t2;
	req->tn = 0;
	req->seg = p->first;
	req->layout = (uint8_t)p->layout;
	/* WRITE on a descriptor pointing to a table (DEV-2.7.5.3.2). */
	req->ind_wflag = p->layout == REF_INDIRECT || p->layout == REF_MIXED
				 ? d->pub.policy.indirect_write_flag : 0;
	req->busy = 1;
	req->exposed = 0;
	return req;
}

bool ref_req_added(struct ref_driver *d, unsigned q, const struct ref_plan *p,
		   const struct ref_req *req)
{
	struct ref_vq *vq = &d->vq[q];
	vq->outstanding++;
	vq->adds++;
	if (p->fault)
		vq->fault_done = true;
	if (!ref_fault_due(d, vq, VT_DRV_FAULT_ALTER_EXPOSED) || !req->exposed)
		return false;
	ref_expose_now(d, q);
	return true;
}

void ref_alter_len(struct ref_vq *vq, uint8_t *desc, struct virtq_desc *shadow, uint32_t len)
{
	len = len > 1 ? len - 1 : len + 1;
	if (shadow)             /* the driver did it: its own record follows */
		shadow->len = vt_put_le32(len);
	__atomic_store_n((uint32_t *)(desc + 8), vt_put_le32(len), __ATOMIC_RELEASE);
	vq->fault_done = true;
}

void ref_req_release(struct ref_driver *d, struct ref_vq *vq, struct ref_req *req,
		     uint32_t written)
{
	seg_unmap(d, vq, req->seg, written);
	ref_table_put(vq, req->table);
	ref_table_put(vq, req->table2);
	req->table = req->table2 = REF_NONE;
	seg_release(vq, req->seg);
	req->busy = 0;
	req->exposed = 0;
}

void ref_req_retire(struct ref_driver *d, struct ref_vq *vq, struct ref_req *req,
		    uint32_t written)
{
	vq->num_free = (uint16_t)(vq->num_free + req->ndesc);
	ref_req_release(d, vq, req, written);
	vq->outstanding--;
	vq->completed++;
}

/* ---- checking a used buffer ------------------------------------------------ */

const char *ref_vq_rule(struct ref_vq *vq, const char *rule)
{
	if (!vq->after_qreset)
		return rule;
	if (vq->completed >= vq->qreset_until) {
		vq->after_qreset = false;
		return rule;
	}
	/* Right after a queue reset, a used ring out of step with the fresh
	 * ring is the reset's failure: before anything was used, state the
	 * device kept (DEV-2.6.1.1.1); later, at the wrap of a resized ring,
	 * the new size ignored (DEV-2.6.1.2.1). */
	return vq->completed && vq->qreset_resized ? "DEV-2.6.1.2.1" : "DEV-2.6.1.1.1";
}

int ref_len_violation(struct ref_driver *d, unsigned q, const struct ref_req *req,
		      const char *rule, const char *what, unsigned id, uint32_t len,
		      const char *note)
{
	char exp[VT_VIOL_VAL], got[VT_VIOL_VAL];
	snprintf(exp, sizeof(exp), "<= %llu", (unsigned long long)req->in_bytes);
	snprintf(got, sizeof(got), "%u%s", len, note);
	return ref_dev_violation(d, rule, exp, got,
				 "queue %u: used len %u for %s %u exceeds its writable bytes",
				 q, len, what, id);
}

int ref_check_readable(struct ref_driver *d, unsigned q, const struct ref_req *req,
		       const char *rule, const char *what, unsigned id)
{
	struct ref_vq *vq = &d->vq[q];
	uint16_t s = seg_changed(d, vq, req->seg);
	if (s == REF_NONE)
		return 0;
	const struct ref_map *m = &vq->seg[s].m;
	char got[VT_VIOL_VAL];
	snprintf(got, sizeof(got), "bytes changed at 0x%llx", (unsigned long long)m->dev);
	return ref_dev_violation(d, rule, "unchanged", got,
				 "queue %u: device-readable buffer of %s %u (addr 0x%llx len %u) "
				 "was written", q, what, id, (unsigned long long)m->dev, m->len);
}
