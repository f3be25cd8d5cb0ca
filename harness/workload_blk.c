/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload_blk.c - a block device stores what is written and reads it back
 * (5.2): phase 0 writes every request's sectors, phase 1 reads them back
 * and compares; every request must complete with VIRTIO_BLK_S_OK and the
 * used length must count the data read plus the status byte.
 */
#include <stdio.h>
#include <string.h>

#include "workload.h"

enum { BLK_WRITE, BLK_READ };

/* Capacity is a 64-bit field: read it under the generation counter (2.5). */
static int blk_setup(struct vt_pair *p)
{
	struct vt_transport *t = p->t;
	uint32_t gen, lo, hi;

	do {
		gen = t->ops->config_generation(t);
		lo = t->ops->config_read(t, VIRTIO_BLK_CFG_CAPACITY, 4);
		hi = t->ops->config_read(t, VIRTIO_BLK_CFG_CAPACITY + 4, 4);
	} while (gen != t->ops->config_generation(t));
	p->blk_sectors = (uint64_t)hi << 32 | lo;
	if (p->blk_sectors < p->cfg.buf_size / VIRTIO_BLK_SECTOR_SIZE)
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
				    "block device of %llu sectors is too small for %u-byte requests",
				    (unsigned long long)p->blk_sectors, p->cfg.buf_size);
	return 0;
}

static int blk_submit(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf out[VT_PAIR_MAX_SEGS + 1], in[VT_PAIR_MAX_SEGS + 1];
	unsigned nout = 0, nin = 0;
	struct virtio_blk_outhdr *h = gmem_drv(p->gm, sl->hdr_gpa, sizeof(*h));
	uint64_t per = c->buf_size / VIRTIO_BLK_SECTOR_SIZE;
	uint64_t span = p->blk_sectors / per * per;

	h->type = vt_put_le32(phase == BLK_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
	h->reserved = 0;
	h->sector = vt_put_le64(span ? (k * per) % span : 0);
	*(uint8_t *)gmem_drv(p->gm, sl->status_gpa, 1) = 0xff;
	out[nout].gpa = sl->hdr_gpa;
	out[nout++].len = sizeof(*h);
	if (phase == BLK_WRITE) {
		vt_pair_fill(p, gmem_drv(p->gm, sl->out_gpa, c->buf_size), c->buf_size, k);
		nout += vt_pair_split_segs(out + nout, sl->out_gpa, c->buf_size, c->nseg_out);
	} else {
		memset(gmem_drv(p->gm, sl->in_gpa, c->buf_size), 0xa5, c->buf_size);  /* poison */
		nin += vt_pair_split_segs(in, sl->in_gpa, c->buf_size, c->nseg_in);
	}
	in[nin].gpa = sl->status_gpa;
	in[nin++].len = 1;
	return p->drv->ops->add(p->drv, 0, out, nout, in, nin, vt_pair_token(s));
}

static int blk_verify(struct vt_pair *p, unsigned s, uint32_t len, unsigned phase)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	uint8_t st = *(uint8_t *)gmem_drv(p->gm, sl->status_gpa, 1);
	uint32_t want = phase == BLK_WRITE ? 1 : c->buf_size + 1;
	char exp[32], got[32];

	if (st != VIRTIO_BLK_S_OK) {
		snprintf(got, sizeof(got), "%u", st);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, "0 (OK)", got,
				    "blk request %llu completed with status %u",
				    (unsigned long long)sl->req, st);
	}
	if (len != want) {
		snprintf(exp, sizeof(exp), "%u", want);
		snprintf(got, sizeof(got), "%u", len);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
				    "blk request %llu: used length", (unsigned long long)sl->req);
	}
	if (phase == BLK_WRITE)
		return 0;
	const uint8_t *inp = gmem_drv(p->gm, sl->in_gpa, c->buf_size);
	vt_pair_fill(p, p->scratch, c->buf_size, sl->req);
	uint64_t i = vt_pair_first_diff(p->scratch, inp, c->buf_size);
	if (i == c->buf_size)
		return 0;
	snprintf(exp, sizeof(exp), "0x%02x", p->scratch[i]);
	snprintf(got, sizeof(got), "0x%02x", inp[i]);
	return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
			    "blk read-back of request %llu differs at byte %llu",
			    (unsigned long long)sl->req, (unsigned long long)i);
}

const struct vt_workload vt_workload_blk = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nphases = 2,
	.setup = blk_setup,
	.submit = blk_submit,
	.verify = blk_verify,
};
