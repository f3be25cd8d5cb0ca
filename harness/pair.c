/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pair.c - build a driver/device pair over guest memory and run I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair.h"
#include "transport/inproc.h"
#include "workload.h"

#define PAIR_LOW_RAM_MB  16

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
	/* Proposed bits: none known unless a caller sets them. */
	c->drv.identity_bit = -1;
	c->drv.no_translation_bit = -1;
	c->nreq = 64;
	c->buf_size = 64;
	c->nseg_out = c->nseg_in = 1;
	c->depth = 1;
	c->timeout_ms = 2000;
}

/* The payload byte i of request k. */
static inline uint8_t pattern(uint64_t k, uint64_t i)
{
	return (uint8_t)(k * 131u + i * 7u + 0x5au + (i >> 8));
}

/* pattern(k, i) == pattern(0, i) + k * 131 (mod 256): add the same byte
 * to every byte of the template, eight bytes at a time without carries
 * crossing byte boundaries. */
void vt_pair_fill(const struct vt_pair *p, uint8_t *buf, uint64_t len, uint64_t k)
{
	const uint8_t add = (uint8_t)(k * 131u);
	const uint64_t a = 0x0101010101010101ull * add;
	const uint64_t lo = 0x7f7f7f7f7f7f7f7full, hi = ~lo;
	uint64_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t t;
		memcpy(&t, p->tmpl + i, 8);
		t = ((t & lo) + (a & lo)) ^ ((t ^ a) & hi);
		memcpy(buf + i, &t, 8);
	}
	for (; i < len; i++)
		buf[i] = (uint8_t)(p->tmpl[i] + add);
}

uint64_t vt_pair_first_diff(const uint8_t *a, const uint8_t *b, uint64_t len)
{
	if (memcmp(a, b, len) == 0)
		return len;
	uint64_t i = 0;
	while (a[i] == b[i])
		i++;
	return i;
}

unsigned vt_pair_split_segs(struct vt_buf *b, uint64_t gpa, uint32_t len, unsigned n)
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

/* The regions data buffers go to: buf_region alone, or with buf_spread
 * every region that is not shared by construction (those hold rings and
 * bounce pools).  Returns how many, or 0 with a reason in err. */
static unsigned buffer_regions(const struct vt_pair *p, unsigned *reg, char *err, size_t errlen)
{
	const struct vt_pair_cfg *c = &p->cfg;
	unsigned nreg = gmem_nregions(p->gm), n = 0;
	if (c->buf_spread) {
		for (unsigned i = 0; i < nreg; i++)
			if (!(gmem_region(p->gm, i)->flags & GMEM_REGION_SHARED))
				reg[n++] = i;
		if (!n)
			snprintf(err, errlen, "no guest RAM outside the shared region");
		return n;
	}
	unsigned r = (unsigned)c->buf_region;
	if (c->buf_region < 0)   /* the highest RAM that is not shared by construction */
		for (r = nreg - 1; r > 0 && (gmem_region(p->gm, r)->flags & GMEM_REGION_SHARED);)
			r--;
	if (r >= nreg) {
		snprintf(err, errlen, "buffer region %d does not exist", c->buf_region);
		return 0;
	}
	reg[0] = r;
	return 1;
}

static int alloc_slots(struct vt_pair *p, char *err, size_t errlen)
{
	const struct vt_pair_cfg *c = &p->cfg;
	unsigned regs[GMEM_MAX_REGIONS];
	unsigned nbr = buffer_regions(p, regs, err, errlen);
	if (!nbr)
		return -1;
	p->tmpl = malloc(c->buf_size);
	p->scratch = malloc(c->buf_size);
	/* Spread buffers: one request in flight in every region at least. */
	p->nslots = c->buf_spread && c->depth < nbr ? nbr : c->depth;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->tmpl || !p->scratch || !p->slots) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint64_t i = 0; i < c->buf_size; i++)
		p->tmpl[i] = pattern(0, i);
	for (unsigned i = 0; i < p->nslots; i++) {
		struct vt_pair_slot *s = &p->slots[i];
		unsigned reg = regs[i % nbr];
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

/* Fill in what the configuration leaves at 0. */
static void apply_defaults(struct vt_pair_cfg *c)
{
	if (!c->type && !c->open_target)
		c->type = &vt_device_echo;
	c->dev.type = c->type;
	if (!c->device_id && c->type)
		c->device_id = c->type->device_id;
	c->drv.device_id = c->device_id;
	if (!c->nreq)
		c->nreq = 64;
	if (!c->buf_size)
		c->buf_size = 64;
	if (!c->nseg_out)
		c->nseg_out = 1;
	if (!c->nseg_in)
		c->nseg_in = 1;
	if (!c->depth)
		c->depth = 1;
	if (!c->timeout_ms)
		c->timeout_ms = 2000;
	if (!c->ram_mb)
		c->ram_mb = PAIR_LOW_RAM_MB;
	if (c->device_id == VIRTIO_ID_BLOCK)      /* whole sectors */
		c->buf_size = (c->buf_size + VIRTIO_BLK_SECTOR_SIZE - 1) /
			      VIRTIO_BLK_SECTOR_SIZE * VIRTIO_BLK_SECTOR_SIZE;
}

int vt_pair_open(struct vt_pair *p, const struct vt_pair_cfg *c, struct vt_verdict *vd,
		 char *err, size_t errlen)
{
	struct gmem_layout l;

	memset(p, 0, sizeof(*p));
	p->cfg = *c;
	p->vd = vd;
	apply_defaults(&p->cfg);
	p->cfg.drv.secure = c->secure;
	p->wl = vt_workload_find(p->cfg.device_id);
	if (!p->wl) {
		snprintf(err, errlen, "no workload for device type %u", p->cfg.device_id);
		return -1;
	}
	if (p->cfg.nseg_out > VT_PAIR_MAX_SEGS || p->cfg.nseg_in > VT_PAIR_MAX_SEGS ||
	    p->cfg.nseg_out > p->cfg.buf_size || p->cfg.nseg_in > p->cfg.buf_size) {
		snprintf(err, errlen, "segments per request out of range");
		return -1;
	}

	gmem_layout_standard(&l, (uint64_t)p->cfg.ram_mb << 20, p->cfg.high_mem);
	/* RAM from 2^48 up: only a 64-bit device (or platform) reaches it. */
	if (p->cfg.high_mem && p->cfg.above_48 &&
	    gmem_layout_add(&l, 1ULL << 48, (uint64_t)p->cfg.ram_mb << 20, 0)) {
		snprintf(err, errlen, "guest memory layout has no room for RAM at 2^48");
		return -1;
	}
	if (p->cfg.shared_region &&
	    gmem_layout_add(&l, VT_PAIR_SHARED_GPA, VT_PAIR_SHARED_SIZE, GMEM_REGION_SHARED)) {
		snprintf(err, errlen, "guest memory layout has no room for the shared region");
		return -1;
	}
	p->gm = gmem_create(&l, p->cfg.secure);
	if (!p->gm) {
		snprintf(err, errlen, "guest memory: %s", strerror(errno));
		return -1;
	}
	if (p->cfg.iommu_identity && !p->cfg.iommu_aw)
		p->cfg.iommu_aw = 64;
	if (p->cfg.iommu_aw) {
		p->io = iommu_create(p->cfg.iommu_aw, vd);
		if (!p->io) {
			snprintf(err, errlen, "IOMMU model with aw_bits %u", p->cfg.iommu_aw);
			goto fail;
		}
	}
	/* Pass-through: the platform maps all RAM 1:1 before anyone runs, so
	 * a driver hands guest-physical addresses and maps nothing. */
	if (p->cfg.iommu_identity) {
		if (iommu_identity_map_all(p->io, p->gm) != 0) {
			snprintf(err, errlen, "a %u-bit IOMMU cannot map all guest RAM 1:1",
				 p->cfg.iommu_aw);
			goto fail;
		}
		if (p->cfg.drv.dma == VT_DMA_IOMMU)
			p->cfg.drv.dma = VT_DMA_DIRECT;
	}
	gmem_dev_init(&p->dma, p->gm, p->io, p->cfg.dev_width ? p->cfg.dev_width : 64, vd);
	p->dma.platform_iommu = p->io;
	p->dma.checks = !p->cfg.checks_off;
	if (alloc_slots(p, err, errlen))
		goto fail;

	if (p->cfg.open_target) {
		p->t = p->cfg.open_target(p, err, errlen);
		if (!p->t)
			goto fail;
	} else {
		p->dev = vt_device_create(&p->cfg.dev, &p->dma, vd);
		if (!p->dev) {
			snprintf(err, errlen, "device model '%s' could not be created",
				 p->cfg.type->name);
			goto fail;
		}
		p->t = vt_inproc_create(p->dev, p->cfg.threaded);
		if (!p->t) {
			snprintf(err, errlen, "in-process transport");
			goto fail;
		}
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

	if (rc == 0 && p->wl->setup && p->wl->setup(p))
		return -1;
	return rc;
}

static int free_slot(struct vt_pair *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (!p->slots[i].busy)
			return (int)i;
	return -1;
}

/* Keep up to `depth` requests of `phase` in flight until n completed. */
static int run_phase(struct vt_pair *p, unsigned n, unsigned phase)
{
	struct vt_driver *d = p->drv;
	unsigned q = p->wl->queue, submitted = 0, completed = 0;

	while (completed < n) {
		int s;
		bool added = false;

		while (submitted < n && (s = free_slot(p)) >= 0) {
			struct vt_pair_slot *sl = &p->slots[s];
			sl->req = p->requests_done + submitted;
			sl->busy = true;
			int rc = p->wl->submit(p, (unsigned)s, sl->req, phase);
			if (rc == 1) {
				sl->busy = false;
				break;
			}
			if (rc < 0)
				return -1;
			submitted++;
			added = true;
		}
		if (added)
			d->ops->kick(d, q);
		if (vt_verdict_failed(p->vd))
			return -1;

		int w = d->ops->wait_used(d, q, p->cfg.timeout_ms);
		if (w < 0 || vt_verdict_failed(p->vd))
			return -1;
		if (w == 0)
			return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
					    "%u of %u requests still outstanding after %u ms",
					    submitted - completed, n, p->cfg.timeout_ms);
		for (;;) {
			void *tok;
			uint32_t len;
			int g = d->ops->get_used(d, q, &tok, &len);
			if (g < 0)
				return -1;
			if (g == 0)
				break;
			uintptr_t s1 = (uintptr_t)tok;
			if (s1 == 0 || s1 > p->nslots || !p->slots[s1 - 1].busy)
				return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
						    "driver returned an unknown token %p", tok);
			p->slots[s1 - 1].busy = false;
			if (p->wl->verify(p, (unsigned)(s1 - 1), len, phase))
				return -1;
			completed++;
		}
	}
	return 0;
}

int vt_pair_io(struct vt_pair *p, unsigned n)
{
	if (!n)
		n = p->cfg.nreq;
	if (p->wl->run)
		return p->wl->run(p, n);
	/* every phase covers the same requests (blk: write them, read back) */
	for (unsigned ph = 0; ph < p->wl->nphases; ph++)
		if (run_phase(p, n, ph))
			return -1;
	p->requests_done += n;
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
