/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.c - what the split and packed engines do alike: the checks on an
 * indirect table and on a chain's element count, held chains (kept until
 * opts.complete_batch are served, then checked unchanged and returned as
 * used) and the used id the USED_ID_NOT_HEAD fault picks.  Each engine
 * supplies what depends on its layout through struct vt_layout.
 */
#include <stdio.h>
#include <string.h>

#include "ring.h"

#define DESC_SIZE 16

int vt_too_many_segs(struct vt_device *dev, struct vt_vq *vq, const char *rule,
		     const char *what, unsigned at, unsigned n)
{
	vt_advice(dev->vd, rule, VT_WHO_DRIVER,
		  "queue %u: %s %u has %u buffer elements; the device handles %u",
		  vq->index, what, at, n, VT_MAX_SEGS);
	return VT_FETCH_ERROR;
}

int vt_indirect_allowed(struct vt_device *dev, struct vt_vq *vq, const char *rule,
			const char *what, unsigned at)
{
	if (vt_has(dev, VIRTIO_F_INDIRECT_DESC))
		return VT_FETCH_OK;
	return vt_drv_violation(dev, vq, rule, "no INDIRECT flag", "INDIRECT",
				"%s %u uses INDIRECT but VIRTIO_F_INDIRECT_DESC was not "
				"negotiated", what, at);
}

int vt_read_table(struct vt_device *dev, struct vt_vq *vq, const char *rule, const char *what,
		  unsigned at, uint64_t addr, uint32_t len)
{
	char got[32];

	if (len == 0 || len % DESC_SIZE || len / DESC_SIZE > vq->num) {
		snprintf(got, sizeof(got), "%u", len);
		return vt_drv_violation(dev, vq, rule,
					"a non-zero multiple of 16, at most 16 x queue size", got,
					"%s %u: indirect table length %u is invalid (queue size %u)",
					what, at, len, vq->num);
	}
	if (gmem_dev_check(dev->dma, addr, len, false, VT_WHO_DRIVER) ||
	    gmem_dev_read(dev->dma, addr, dev->table, len))
		return vt_ring_fault(vq);
	return VT_FETCH_OK;
}

/* Read a held chain's descriptors, and its indirect table if any, again.
 * Returns 1 unchanged, 0 changed, -1 if the accessor refused. */
static int held_unchanged(struct vt_device *dev, struct vt_vq *vq, const struct vt_layout *l,
			  const struct vt_held *h)
{
	uint64_t hm;
	int r = l->rehash(dev, vq, h, &hm);

	if (r <= 0)
		return r;
	if (hm != h->h_main)
		return 0;
	if (!h->table_len)
		return 1;
	if (gmem_dev_read(dev->dma, h->table_addr, dev->table, h->table_len))
		return -1;
	return vt_hash_bytes(VT_HASH_SEED, dev->table, h->table_len) == h->h_table;
}

int vt_flush_held(struct vt_device *dev, struct vt_vq *vq, const struct vt_layout *l)
{
	unsigned n = vq->nheld;

	vq->nheld = 0;
	for (unsigned i = 0; i < n; i++) {
		int r = held_unchanged(dev, vq, l, &vq->held[i]);
		if (r < 0)
			return vt_ring_fault(vq);
		if (r == 0)
			return l->altered(dev, vq, &vq->held[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct vt_held *h = &vq->held[i];
		if (l->put_used(dev, vq, h, vt_used_len(dev, h->written, h->in_len)))
			return -1;
	}
	return 0;
}

int vt_hold(struct vt_device *dev, struct vt_vq *vq, const struct vt_layout *l,
	    struct vt_held *h, uint32_t written, uint64_t in_len)
{
	h->written = written;
	h->in_len = in_len;
	vq->held[vq->nheld++] = *h;
	if (vq->nheld >= dev->opts.complete_batch)
		return vt_flush_held(dev, vq, l);
	return 0;
}

uint32_t vt_pick_not_outstanding(struct vt_device *dev, struct vt_vq *vq, uint16_t id,
				 vt_mark_avail_fn *mark_avail)
{
	uint8_t *mark = dev->mark;

	memset(mark, 0, vq->num);
	if (id < vq->num)
		mark[id] = 1;
	for (unsigned i = 0; i < vq->nheld; i++)
		if (vq->held[i].id < vq->num)
			mark[vq->held[i].id] = 1;
	mark_avail(dev, vq, mark);
	for (uint32_t i = 0; i < vq->num; i++)
		if (!mark[i])
			return i;
	return vq->num;
}
