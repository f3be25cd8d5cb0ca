/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pair.c - build a driver/device pair over guest memory and run I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair.h"
#include "transport/inproc.h"

#define PAIR_LOW_RAM   (16ULL << 20)
#define PAIR_MAX_SEGS  16

void vt_pair_cfg_default(struct vt_pair_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->type = &vt_device_echo;
	c->dev.offer = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_F_INDIRECT_DESC) |
		       VT_BIT(VIRTIO_F_EVENT_IDX) | VT_BIT(VIRTIO_F_RING_PACKED) |
		       VT_BIT(VIRTIO_F_NOTIFICATION_DATA) | VT_BIT(VIRTIO_F_RING_RESET);
	c->drv.features = VT_BIT(VIRTIO_F_VERSION_1);
	c->drv.accept_access_platform = true;
	c->drv.dma = VT_DMA_IOMMU;
	c->nreq = 64;
	c->buf_size = 64;
	c->nseg_out = c->nseg_in = 1;
	c->depth = 1;
	c->timeout_ms = 2000;
}

static bool is_blk(const struct vt_pair *p)
{
	return p->cfg.type == &vt_device_blk;
}

/* The payload byte i of request k: varies with both so that a shifted,
 * stale or misplaced copy never matches by accident. */
static inline uint8_t pattern(uint64_t k, uint64_t i)
{
	return (uint8_t)(k * 131u + i * 7u + 0x5au + (i >> 8));
}

/* pattern(k, i) == pattern(0, i) + k * 131: one vectorisable pass. */
static void fill_pattern(const struct vt_pair *p, uint8_t *restrict b, uint64_t len, uint64_t k)
{
	const uint8_t add = (uint8_t)(k * 131u);
	const uint8_t *restrict t = p->tmpl;
	for (uint64_t i = 0; i < len; i++)
		b[i] = (uint8_t)(t[i] + add);
}

/* Index of the first byte where a and b differ (len if none). */
static uint64_t first_diff(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	if (memcmp(a, b, len) == 0)
		return len;
	uint64_t i = 0;
	while (a[i] == b[i])
		i++;
	return i;
}

static int alloc_slots(struct vt_pair *p, char *err, size_t errlen)
{
	const struct vt_pair_cfg *c = &p->cfg;
	unsigned nreg = gmem_nregions(p->gm);
	unsigned reg = c->buf_region < 0 ? nreg - 1 : (unsigned)c->buf_region;

	if (reg >= nreg) {
		snprintf(err, errlen, "buffer region %d does not exist", c->buf_region);
		return -1;
	}
	p->tmpl = malloc(c->buf_size);
	p->scratch = malloc(c->buf_size);
	if (!p->tmpl || !p->scratch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint64_t i = 0; i < c->buf_size; i++)
		p->tmpl[i] = pattern(0, i);
	p->nslots = c->depth;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->slots) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < p->nslots; i++) {
		struct vt_pair_slot *s = &p->slots[i];
		s->out_gpa = gmem_alloc(p->gm, reg, c->buf_size, 64);
		s->in_gpa = gmem_alloc(p->gm, reg, c->buf_size, 64);
		s->hdr_gpa = gmem_alloc(p->gm, reg, sizeof(struct virtio_blk_outhdr), 16);
		s->status_gpa = gmem_alloc(p->gm, reg, 1, 1);
		if (s->out_gpa == GMEM_NOADDR || s->in_gpa == GMEM_NOADDR ||
		    s->hdr_gpa == GMEM_NOADDR || s->status_gpa == GMEM_NOADDR) {
			snprintf(err, errlen, "guest memory exhausted for %u x %u-byte buffers",
				 p->nslots, c->buf_size);
			return -1;
		}
	}
	return 0;
}

int vt_pair_open(struct vt_pair *p, const struct vt_pair_cfg *c, struct vt_verdict *vd,
		 char *err, size_t errlen)
{
	struct gmem_layout l;

	memset(p, 0, sizeof(*p));
	p->cfg = *c;
	p->vd = vd;
	if (!p->cfg.type)
		p->cfg.type = &vt_device_echo;
	p->cfg.dev.type = p->cfg.type;
	p->cfg.drv.secure = c->secure;
	p->cfg.drv.device_id = p->cfg.type->device_id;
	if (!p->cfg.nreq)
		p->cfg.nreq = 64;
	if (!p->cfg.buf_size)
		p->cfg.buf_size = 64;
	if (!p->cfg.nseg_out)
		p->cfg.nseg_out = 1;
	if (!p->cfg.nseg_in)
		p->cfg.nseg_in = 1;
	if (!p->cfg.depth)
		p->cfg.depth = 1;
	if (!p->cfg.timeout_ms)
		p->cfg.timeout_ms = 2000;
	if (is_blk(p)) {
		/* whole sectors */
		p->cfg.buf_size = (p->cfg.buf_size + VIRTIO_BLK_SECTOR_SIZE - 1) /
				  VIRTIO_BLK_SECTOR_SIZE * VIRTIO_BLK_SECTOR_SIZE;
	}
	if (p->cfg.nseg_out > PAIR_MAX_SEGS || p->cfg.nseg_in > PAIR_MAX_SEGS ||
	    p->cfg.nseg_out > p->cfg.buf_size || p->cfg.nseg_in > p->cfg.buf_size) {
		snprintf(err, errlen, "segments per request out of range");
		return -1;
	}

	gmem_layout_standard(&l, PAIR_LOW_RAM, p->cfg.high_mem);
	p->gm = gmem_create(&l, p->cfg.secure);
	if (!p->gm) {
		snprintf(err, errlen, "guest memory: %s", strerror(errno));
		return -1;
	}
	if (p->cfg.iommu_aw) {
		p->io = iommu_create(p->cfg.iommu_aw, vd);
		if (!p->io) {
			snprintf(err, errlen, "IOMMU model with aw_bits %u", p->cfg.iommu_aw);
			goto fail;
		}
	}
	gmem_dev_init(&p->dma, p->gm, p->io, p->cfg.dev_width ? p->cfg.dev_width : 64, vd);
	p->dma.checks = !p->cfg.checks_off;
	if (alloc_slots(p, err, errlen))
		goto fail;

	p->dev = vt_device_create(&p->cfg.dev, &p->dma, vd);
	if (!p->dev) {
		snprintf(err, errlen, "device model '%s' could not be created", p->cfg.type->name);
		goto fail;
	}
	p->t = vt_inproc_create(p->dev, p->cfg.threaded);
	if (!p->t) {
		snprintf(err, errlen, "in-process transport");
		goto fail;
	}
	p->drv = vt_ref_driver_create(&p->cfg.drv, p->t, p->gm, p->io, vd);
	if (!p->drv) {
		snprintf(err, errlen, "reference driver");
		goto fail;
	}
	return 0;
fail:
	vt_pair_close(p);
	return -1;
}

int vt_pair_init(struct vt_pair *p)
{
	int rc = p->drv->ops->init(p->drv);

	if (rc == 0 && is_blk(p)) {
		/* a 64-bit field: read under the generation counter (2.5) */
		struct vt_transport *t = p->t;
		uint32_t gen, lo, hi;
		do {
			gen = t->ops->config_generation(t);
			lo = t->ops->config_read(t, VIRTIO_BLK_CFG_CAPACITY, 4);
			hi = t->ops->config_read(t, VIRTIO_BLK_CFG_CAPACITY + 4, 4);
		} while (gen != t->ops->config_generation(t));
		p->blk_sectors = (uint64_t)hi << 32 | lo;
	}
	return rc;
}

/* Split [gpa, gpa+len) into n nearly equal segments. */
static unsigned split_segs(struct vt_buf *b, uint64_t gpa, uint32_t len, unsigned n)
{
	uint32_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t l = len / n + (i < len % n ? 1 : 0);
		b[i].gpa = gpa + off;
		b[i].len = l;
		off += l;
	}
	return n;
}

/* Prepare slot s for request k and make it available. */
static int submit(struct vt_pair *p, unsigned s, uint64_t k, bool blk_write)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf out[PAIR_MAX_SEGS + 1], in[PAIR_MAX_SEGS + 1];
	unsigned nout = 0, nin = 0;
	uint8_t *outp = gmem_drv(p->gm, sl->out_gpa, c->buf_size);
	uint8_t *inp = gmem_drv(p->gm, sl->in_gpa, c->buf_size);

	sl->req = k;
	memset(inp, 0xa5, c->buf_size);               /* poison */
	if (!is_blk(p)) {
		fill_pattern(p, outp, c->buf_size, k);
		nout = split_segs(out, sl->out_gpa, c->buf_size, c->nseg_out);
		nin = split_segs(in, sl->in_gpa, c->buf_size, c->nseg_in);
	} else {
		struct virtio_blk_outhdr *h = gmem_drv(p->gm, sl->hdr_gpa, sizeof(*h));
		uint64_t per = c->buf_size / VIRTIO_BLK_SECTOR_SIZE;
		uint64_t span = p->blk_sectors / per * per;

		h->type = vt_put_le32(blk_write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
		h->reserved = 0;
		h->sector = vt_put_le64(span ? (k * per) % span : 0);
		*(uint8_t *)gmem_drv(p->gm, sl->status_gpa, 1) = 0xff;
		out[nout].gpa = sl->hdr_gpa;
		out[nout++].len = sizeof(*h);
		if (blk_write) {
			fill_pattern(p, outp, c->buf_size, k);
			nout += split_segs(out + nout, sl->out_gpa, c->buf_size, c->nseg_out);
		} else {
			nin += split_segs(in, sl->in_gpa, c->buf_size, c->nseg_in);
		}
		in[nin].gpa = sl->status_gpa;
		in[nin++].len = 1;
	}
	sl->busy = true;
	return p->drv->ops->add(p->drv, 0, out, nout, in, nin, (void *)(uintptr_t)(s + 1));
}

/* Check what the device returned for slot s. */
static int verify(struct vt_pair *p, unsigned s, uint32_t len, bool blk_write)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	const uint8_t *inp = gmem_drv(p->gm, sl->in_gpa, c->buf_size);
	const uint8_t *outp = gmem_drv(p->gm, sl->out_gpa, c->buf_size);
	char exp[32], got[32];

	sl->busy = false;
	if (is_blk(p)) {
		uint8_t st = *(uint8_t *)gmem_drv(p->gm, sl->status_gpa, 1);
		uint32_t want = blk_write ? 1 : c->buf_size + 1;

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
		if (blk_write)
			return 0;
		fill_pattern(p, p->scratch, c->buf_size, sl->req);
		uint64_t i = first_diff(p->scratch, inp, c->buf_size);
		if (i == c->buf_size)
			return 0;
		snprintf(exp, sizeof(exp), "0x%02x", p->scratch[i]);
		snprintf(got, sizeof(got), "0x%02x", inp[i]);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
				    "blk read-back of request %llu differs at byte %llu",
				    (unsigned long long)sl->req, (unsigned long long)i);
	}

	if (len != c->buf_size) {
		snprintf(exp, sizeof(exp), "%u", c->buf_size);
		snprintf(got, sizeof(got), "%u", len);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
				    "echo request %llu: used length", (unsigned long long)sl->req);
	}
	uint64_t i = first_diff(outp, inp, c->buf_size);
	if (i == c->buf_size)
		return 0;
	/* Several writable descriptors filled out of order break the packed
	 * list-order rule; anything else is corruption. */
	const char *rule = (c->nseg_in > 1 && p->drv->packed) ? "DEV-2.8.18" : "INV-data-integrity";
	snprintf(exp, sizeof(exp), "0x%02x", outp[i]);
	snprintf(got, sizeof(got), "0x%02x", inp[i]);
	return vt_violation(p->vd, rule, VT_WHO_DEVICE, exp, got,
			    "echo of request %llu differs at byte %llu",
			    (unsigned long long)sl->req, (unsigned long long)i);
}

static int free_slot(struct vt_pair *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (!p->slots[i].busy)
			return (int)i;
	return -1;
}

static int run_phase(struct vt_pair *p, unsigned n, bool blk_write)
{
	struct vt_driver *d = p->drv;
	unsigned submitted = 0, completed = 0;

	while (completed < n) {
		int s;
		bool added = false;

		while (submitted < n && (s = free_slot(p)) >= 0) {
			int rc = submit(p, (unsigned)s, p->requests_done + submitted, blk_write);
			if (rc == 1) {
				p->slots[s].busy = false;
				break;
			}
			if (rc < 0)
				return -1;
			submitted++;
			added = true;
		}
		if (added)
			d->ops->kick(d, 0);
		if (vt_verdict_failed(p->vd))
			return -1;

		int w = d->ops->wait_used(d, 0, p->cfg.timeout_ms);
		if (w < 0 || vt_verdict_failed(p->vd))
			return -1;
		if (w == 0)
			return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
					    "%u of %u requests still outstanding after %u ms",
					    submitted - completed, n, p->cfg.timeout_ms);
		for (;;) {
			void *tok;
			uint32_t len;
			int g = d->ops->get_used(d, 0, &tok, &len);
			if (g < 0)
				return -1;
			if (g == 0)
				break;
			uintptr_t s1 = (uintptr_t)tok;
			if (s1 == 0 || s1 > p->nslots || !p->slots[s1 - 1].busy)
				return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
						    "driver returned an unknown token %p", tok);
			if (verify(p, (unsigned)(s1 - 1), len, blk_write))
				return -1;
			completed++;
		}
	}
	p->requests_done += n;
	return 0;
}

int vt_pair_io(struct vt_pair *p, unsigned n)
{
	if (!n)
		n = p->cfg.nreq;
	if (!is_blk(p))
		return run_phase(p, n, false);
	/* blk: write n requests, then read them back and compare */
	uint64_t base = p->requests_done;
	if (run_phase(p, n, true))
		return -1;
	p->requests_done = base;
	if (run_phase(p, n, false))
		return -1;
	p->requests_done = base + n;
	return 0;
}

void vt_pair_close(struct vt_pair *p)
{
	if (p->drv) {
		p->drv->ops->destroy(p->drv);
		p->drv = NULL;
	}
	if (p->t) {
		p->t->ops->destroy(p->t);
		p->t = NULL;
	}
	if (p->dev) {
		vt_device_destroy(p->dev);
		p->dev = NULL;
	}
	if (p->io) {
		iommu_destroy(p->io);
		p->io = NULL;
	}
	if (p->gm) {
		gmem_destroy(p->gm);
		p->gm = NULL;
	}
	free(p->slots);
	free(p->tmpl);
	free(p->scratch);
	p->slots = NULL;
	p->tmpl = p->scratch = NULL;
}

int vt_pair_run(const struct vt_pair_cfg *c, struct vt_verdict *vd, char *err, size_t errlen)
{
	struct vt_pair p;
	int rc;

	if (vt_pair_open(&p, c, vd, err, errlen))
		return -2;
	rc = vt_pair_init(&p);
	if (rc == 0) {
		if (vt_pair_io(&p, 0))
			rc = -1;
		if (p.drv->ops->reset(p.drv) && rc == 0)
			rc = -1;
	}
	vt_pair_close(&p);
	return rc;
}
