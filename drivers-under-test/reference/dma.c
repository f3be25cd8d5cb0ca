/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dma.c - the reference driver's DMA layer.
 *
 * A buffer reaches the device in one of three ways:
 *  - directly: the device address is the guest-physical address (without
 *    ACCESS_PLATFORM the driver passes only physical addresses, DRV-6.1);
 *  - through the IOMMU model (ACCESS_PLATFORM negotiated): the pages are
 *    mapped at IOVAs handed out top-down from the top of the aperture,
 *    read-only for device-readable buffers, write-only for device-writable
 *    ones, and unmapped when the buffer is used;
 *  - bounced: copied through a pool of shared low memory, for a secure
 *    guest (its private pages are out of the device's reach) and for any
 *    buffer ending above the device's DMA address width.
 * Rings and indirect tables are driver memory the device reads for the
 * life of a queue: page-aligned blocks in low memory, shared in a secure
 * guest, mapped read/write in the IOMMU.
 *
 * The bounce pool and the IOVA window are bitmaps allocated once; mapping
 * a buffer allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#define PAGE GMEM_PAGE_SIZE
#define PAGE_MASK (GMEM_PAGE_SIZE - 1)

/* ---- bitmaps ---------------------------------------------------------- */

static uint32_t bm_next(const uint64_t *b, uint32_t i, uint32_t end, bool one)
{
	while (i < end) {
		uint64_t w = one ? b[i >> 6] : ~b[i >> 6];
		w >>= (i & 63);
		if (w) {
			uint32_t r = i + (uint32_t)__builtin_ctzll(w);
			return r < end ? r : end;
		}
		i = (i | 63) + 1;
	}
	return end;
}

static void bm_fill(uint64_t *b, uint32_t i, uint32_t n, bool set)
{
	while (n) {
		uint32_t off = i & 63, k = 64 - off;
		if (k > n)
			k = n;
		uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << off;
		if (set)
			b[i >> 6] |= mask;
		else
			b[i >> 6] &= ~mask;
		i += k;
		n -= k;
	}
}

static int64_t bm_find(const uint64_t *b, uint32_t start, uint32_t end, uint32_t n)
{
	uint32_t i = start;
	while ((uint64_t)i + n <= end) {
		i = bm_next(b, i, end, false);
		if ((uint64_t)i + n > end)
			break;
		uint32_t j = bm_next(b, i, i + n, true);
		if (j >= i + n)
			return i;
		i = j + 1;
	}
	return -1;
}

/* Next-fit run of n free units; most buffers are freed in the order they
 * were mapped, so the area after the hint is usually free. */
static int64_t bm_alloc(uint64_t *b, uint32_t nbits, uint32_t *hint, uint32_t n)
{
	if (n == 0 || n > nbits)
		return -1;
	int64_t r = bm_find(b, *hint, nbits, n);
	if (r < 0)
		r = bm_find(b, 0, nbits, n);
	if (r < 0)
		return -1;
	bm_fill(b, (uint32_t)r, n, true);
	*hint = (uint32_t)r + n >= nbits ? 0 : (uint32_t)r + n;
	return r;
}

/* ---- IOVA window ------------------------------------------------------ */

static uint64_t iova_of(const struct ref_iova *w, uint32_t page, uint32_t n)
{
	return (w->top_page - page - n) << GMEM_PAGE_SHIFT;
}

static int iova_map(struct ref_driver *d, uint64_t gpa, uint64_t len, unsigned perm,
		    uint32_t *page, uint32_t *npages, uint64_t *dev)
{
	struct ref_iova *w = &d->dma.iova;
	uint64_t first = gpa & ~PAGE_MASK;
	uint64_t n = ((gpa + (len ? len : 1) - 1) >> GMEM_PAGE_SHIFT) - (gpa >> GMEM_PAGE_SHIFT) + 1;
	if (n > w->npages)
		return 1;
	int64_t r = bm_alloc(w->bits, w->npages, &w->hint, (uint32_t)n);
	if (r < 0)
		return 1;
	uint64_t iova = iova_of(w, (uint32_t)r, (uint32_t)n);
	if (iommu_map(d->pub.iommu, iova, first, n << GMEM_PAGE_SHIFT, perm) != 0) {
		bm_fill(w->bits, (uint32_t)r, (uint32_t)n, false);
		return -1;
	}
	d->dma.stats.iommu_maps++;
	*page = (uint32_t)r;
	*npages = (uint32_t)n;
	*dev = iova + (gpa & PAGE_MASK);
	return 0;
}

static void iova_unmap(struct ref_driver *d, uint32_t page, uint32_t npages)
{
	struct ref_iova *w = &d->dma.iova;
	uint64_t iova = iova_of(w, page, npages);
	iommu_unmap(d->pub.iommu, iova, (uint64_t)npages << GMEM_PAGE_SHIFT);
	iommu_invalidate(d->pub.iommu, iova, (uint64_t)npages << GMEM_PAGE_SHIFT);
	bm_fill(w->bits, page, npages, false);
}

/* ---- setup ------------------------------------------------------------ */

/* Where memory the device must reach lives: in a secure guest the first
 * region that is shared by construction (the one an external backend is
 * given), else low memory. */
static unsigned shared_region(const struct ref_driver *d)
{
	const struct gmem *gm = d->pub.gm;
	if (d->pub.policy.secure)
		for (unsigned i = 0; i < gmem_nregions(gm); i++)
			if (gmem_region(gm, i)->flags & GMEM_REGION_SHARED)
				return i;
	return 0;
}

static int pool_setup(struct ref_driver *d)
{
	struct ref_pool *p = &d->dma.pool;
	if (p->bits) {
		memset(p->bits, 0, ((p->ngran + 63) / 64) * 8);
		p->hint = 0;
		return 0;
	}
	uint64_t size = d->pub.policy.bounce_pool_size ? d->pub.policy.bounce_pool_size : 1ull << 20;
	size = (size + PAGE_MASK) & ~PAGE_MASK;
	if (size / REF_BOUNCE_GRANULE > UINT32_MAX)
		size = (uint64_t)UINT32_MAX * REF_BOUNCE_GRANULE & ~PAGE_MASK;
	uint64_t gpa = gmem_alloc(d->pub.gm, shared_region(d), size, PAGE);
	if (gpa == GMEM_NOADDR)
		return -1;
	p->drv = gmem_drv(d->pub.gm, gpa, size);
	p->bits = calloc((size / REF_BOUNCE_GRANULE + 63) / 64, 8);
	if (!p->drv || !p->bits)
		return -1;
	/* The pool is the memory a secure guest deliberately exposes. */
	if (d->pub.policy.secure && gmem_share(d->pub.gm, gpa, size) != 0)
		return -1;
	p->gpa = gpa;
	p->size = size;
	p->ngran = (uint32_t)(size / REF_BOUNCE_GRANULE);
	p->hint = 0;
	return 0;
}

static int iova_setup(struct ref_driver *d)
{
	struct ref_iova *w = &d->dma.iova;
	unsigned aw = iommu_aw_bits(d->pub.iommu);
	unsigned width = d->pub.policy.device_addr_width ? d->pub.policy.device_addr_width : 64;
	unsigned eff = aw < width ? aw : width;
	if (eff <= GMEM_PAGE_SHIFT)
		return -1;
	uint64_t top = eff >= 64 ? 1ull << (64 - GMEM_PAGE_SHIFT) : 1ull << (eff - GMEM_PAGE_SHIFT);
	uint32_t n = top < REF_IOVA_WINDOW ? (uint32_t)top : REF_IOVA_WINDOW;
	if (!w->bits) {
		w->bits = calloc(REF_IOVA_WINDOW / 64, 8);
		if (!w->bits)
			return -1;
	}
	memset(w->bits, 0, REF_IOVA_WINDOW / 8);
	w->top_page = top;
	w->npages = n;
	w->hint = 0;
	return 0;
}

/* Decide how buffers reach the device, from the negotiated features and
 * the policy; allocate the bounce pool and IOVA window it needs. */
int ref_dma_setup(struct ref_driver *d)
{
	struct ref_dma *m = &d->dma;
	const struct vt_driver_policy *p = &d->pub.policy;
	bool ap = ref_has(d, VIRTIO_F_ACCESS_PLATFORM);
	unsigned width = p->device_addr_width ? p->device_addr_width : 64;

	m->use_iommu = ap && p->dma == VT_DMA_IOMMU && d->pub.iommu;
	m->bounce_all = p->secure || (ap && p->dma == VT_DMA_BOUNCE);
	/* An IOVA is always below the width; a GPA above it must bounce. */
	m->limit = (m->use_iommu || width >= 64) ? UINT64_MAX : 1ull << width;
	if ((m->bounce_all || m->limit != UINT64_MAX) && pool_setup(d) != 0)
		return -1;
	if (m->use_iommu && iova_setup(d) != 0)
		return -1;
	return 0;
}

void ref_dma_free(struct ref_driver *d)
{
	free(d->dma.pool.bits);
	free(d->dma.iova.bits);
	d->dma.pool.bits = NULL;
	d->dma.iova.bits = NULL;
}

/* ---- streaming mappings ----------------------------------------------- */

int ref_dma_map(struct ref_driver *d, uint64_t gpa, uint32_t len, bool write, struct ref_map *m)
{
	struct ref_dma *dm = &d->dma;
	m->gpa = gpa;
	m->view = gpa;
	m->dev = gpa;
	m->len = len;
	m->write = write;
	m->gran = UINT32_MAX;
	m->ngran = 0;
	m->iova_page = UINT32_MAX;
	m->npages = 0;
	dm->stats.maps++;
	if (len == 0)
		return 0;
	void *src = gmem_drv(d->pub.gm, gpa, len);
	if (!src)
		return -1;
	if (dm->bounce_all || gpa + len > dm->limit) {
		struct ref_pool *p = &dm->pool;
		uint32_t n = (len + REF_BOUNCE_GRANULE - 1) / REF_BOUNCE_GRANULE;
		if (n > p->ngran)
			return -1;      /* larger than the whole pool */
		int64_t r = bm_alloc(p->bits, p->ngran, &p->hint, n);
		if (r < 0)
			return 1;
		m->gran = (uint32_t)r;
		m->ngran = n;
		m->view = p->gpa + (uint64_t)r * REF_BOUNCE_GRANULE;
		uint8_t *slot = p->drv + (uint64_t)r * REF_BOUNCE_GRANULE;
		/* Out-data goes in now; a writable slot starts zeroed so no
		 * stale bytes of another buffer reach the device. */
		if (write)
			memset(slot, 0, len);
		else
			memcpy(slot, src, len);
		dm->stats.bounces++;
		dm->stats.bounce_bytes += len;
		m->dev = m->view;
	}
	if (dm->use_iommu) {
		int r = iova_map(d, m->view, len, write ? IOMMU_PERM_W : IOMMU_PERM_R,
				 &m->iova_page, &m->npages, &m->dev);
		if (r != 0) {
			m->iova_page = UINT32_MAX;
			ref_dma_unmap(d, m, 0);
			return r;
		}
	}
	return 0;
}

void ref_dma_unmap(struct ref_driver *d, struct ref_map *m, uint32_t written)
{
	if (m->iova_page != UINT32_MAX) {
		iova_unmap(d, m->iova_page, m->npages);
		m->iova_page = UINT32_MAX;
	}
	if (m->gran != UINT32_MAX) {
		struct ref_pool *p = &d->dma.pool;
		if (m->write && written) {
			uint32_t n = written < m->len ? written : m->len;
			void *dst = gmem_drv(d->pub.gm, m->gpa, n);
			if (dst)
				memcpy(dst, p->drv + (uint64_t)m->gran * REF_BOUNCE_GRANULE, n);
		}
		bm_fill(p->bits, m->gran, m->ngran, false);
		m->gran = UINT32_MAX;
	}
}

void *ref_dma_view(struct ref_driver *d, const struct ref_map *m)
{
	if (m->gran != UINT32_MAX)
		return d->dma.pool.drv + (uint64_t)m->gran * REF_BOUNCE_GRANULE;
	return gmem_drv(d->pub.gm, m->view, m->len ? m->len : 1);
}

/* ---- memory shared for the life of a queue ----------------------------- */

int ref_dma_coh_alloc(struct ref_driver *d, struct ref_coh *c, uint64_t size, unsigned perm)
{
	uint64_t need = (size + PAGE_MASK) & ~PAGE_MASK;
	if (need == 0)
		need = PAGE;
	if (c->cap < need) {
		/* Own whole pages, so sharing never exposes a neighbour. */
		uint64_t gpa = gmem_alloc(d->pub.gm, shared_region(d), need, PAGE);
		if (gpa == GMEM_NOADDR)
			return -1;
		if (c->cap && d->pub.policy.secure)
			gmem_unshare(d->pub.gm, c->gpa, c->cap);
		c->gpa = gpa;
		c->cap = need;
		c->drv = gmem_drv(d->pub.gm, gpa, need);
		if (!c->drv)
			return -1;
		if (d->pub.policy.secure && gmem_share(d->pub.gm, gpa, need) != 0)
			return -1;
	}
	memset(c->drv, 0, c->cap);
	c->iova_page = UINT32_MAX;
	c->npages = 0;
	c->dev = c->gpa;
	if (d->dma.use_iommu &&
	    iova_map(d, c->gpa, c->cap, perm, &c->iova_page, &c->npages, &c->dev) != 0) {
		c->iova_page = UINT32_MAX;
		return -1;
	}
	return 0;
}

void ref_dma_coh_unmap(struct ref_driver *d, struct ref_coh *c)
{
	if (c->iova_page != UINT32_MAX) {
		iova_unmap(d, c->iova_page, c->npages);
		c->iova_page = UINT32_MAX;
	}
}
