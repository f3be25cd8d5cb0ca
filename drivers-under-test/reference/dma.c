/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dma.c - the reference driver's DMA layer.
 *
 * A buffer reaches the device in one of these ways:
 *  - directly: the device address is the guest-physical address (without
 *    ACCESS_PLATFORM the driver passes only physical addresses, DRV-6.1);
 *  - through the IOMMU model (ACCESS_PLATFORM negotiated): the pages are
 *    mapped at IOVAs handed out top-down from 2 GiB below the top of what
 *    the device may be handed (never numerically a GPA), read-only for
 *    device-readable buffers, write-only for device-writable ones, and
 *    unmapped when the buffer is used;
 *  - 1:1 (IDENTITY_ADDRESS, or a platform IOMMU in pass-through): the
 *    device address is the GPA and the driver never touches the IOMMU
 *    after the complete 1:1 map is made;
 *  - bounced: copied through a pool of shared low memory, for a secure
 *    guest (its private pages are out of the device's reach) and for any
 *    buffer ending above the device's DMA address width (unless the
 *    policy ignores the width).
 * Rings and indirect tables are driver memory the device reads for the
 * life of a queue: page-aligned blocks in low memory, shared in a secure
 * guest, mapped in the IOMMU read-only except the pages the device writes
 * (used ring, packed descriptors and device event suppression).
 * A secure guest that proceeds without ACCESS_PLATFORM (a policy) shares
 * nothing: the device gets private memory, as an unaware driver would.
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

/* Reserve n window pages; the IOVA of the first is *iova.  0, or 1 when
 * the window is full. */
static int iova_alloc(struct ref_iova *w, uint64_t n, uint32_t *page, uint64_t *iova)
{
	if (n > w->npages)
		return 1;
	int64_t r = bm_alloc(w->bits, w->npages, &w->hint, (uint32_t)n);
	if (r < 0)
		return 1;
	*page = (uint32_t)r;
	*iova = iova_of(w, (uint32_t)r, (uint32_t)n);
	return 0;
}

static void iova_release(struct ref_driver *d, uint32_t page, uint32_t npages, uint64_t mapped)
{
	struct ref_iova *w = &d->dma.iova;
	uint64_t iova = iova_of(w, page, npages);
	if (mapped) {
		iommu_unmap(d->pub.iommu, iova, mapped << GMEM_PAGE_SHIFT);
		iommu_invalidate(d->pub.iommu, iova, mapped << GMEM_PAGE_SHIFT);
	}
	bm_fill(w->bits, page, npages, false);
}

/* Map [gpa, gpa+len) at fresh IOVAs with one permission: a streaming
 * mapping (read-only for device-readable buffers, write-only for
 * device-writable ones). */
static int iova_map(struct ref_driver *d, uint64_t gpa, uint64_t len, unsigned perm,
		    uint32_t *page, uint32_t *npages, uint64_t *dev)
{
	uint64_t first = gpa & ~PAGE_MASK;
	uint64_t n = ((gpa + (len ? len : 1) - 1) >> GMEM_PAGE_SHIFT) - (gpa >> GMEM_PAGE_SHIFT) + 1;
	uint64_t iova;
	if (iova_alloc(&d->dma.iova, n, page, &iova))
		return 1;
	if (iommu_map(d->pub.iommu, iova, first, n << GMEM_PAGE_SHIFT, perm) != 0) {
		iova_release(d, *page, (uint32_t)n, 0);
		return -1;
	}
	d->dma.stats.iommu_maps++;
	*npages = (uint32_t)n;
	*dev = iova + (gpa & PAGE_MASK);
	return 0;
}

/* Map a page-aligned block of n pages: the pages holding rw read/write,
 * the others `perm` (a ring's driver-written parts are read-only to the
 * device). */
static int iova_map_block(struct ref_driver *d, uint64_t gpa, uint64_t n, unsigned perm,
			  const struct ref_rw *rw, uint32_t *page, uint64_t *dev)
{
	uint64_t iova, done = 0;
	uint64_t a = n, b = n;          /* read/write pages [a, b) */
	if (rw && rw->end > rw->off) {
		uint64_t bytes = n << GMEM_PAGE_SHIFT;
		uint64_t end = rw->end < bytes ? rw->end : bytes;
		a = rw->off < bytes ? rw->off >> GMEM_PAGE_SHIFT : n;
		b = (end + PAGE_MASK) >> GMEM_PAGE_SHIFT;
		b = b > a ? b : a;
	}
	const uint64_t cut[4] = { 0, a, b, n };
	if (iova_alloc(&d->dma.iova, n, page, &iova))
		return -1;
	for (unsigned k = 0; k < 3; k++) {
		uint64_t len = (cut[k + 1] - cut[k]) << GMEM_PAGE_SHIFT;
		uint64_t off = cut[k] << GMEM_PAGE_SHIFT;
		if (!len)
			continue;
		if (iommu_map(d->pub.iommu, iova + off, gpa + off, len,
			      k == 1 ? IOMMU_PERM_RW : perm) != 0) {
			iova_release(d, *page, (uint32_t)n, done);
			return -1;
		}
		done = cut[k + 1];
	}
	d->dma.stats.iommu_maps++;
	*dev = iova;
	return 0;
}

static void iova_unmap(struct ref_driver *d, uint32_t page, uint32_t npages)
{
	iova_release(d, page, npages, npages);
}

/* ---- setup ------------------------------------------------------------ */

/* Where memory the device must reach lives: in a confined secure guest
 * the first region that is shared by construction (the one an external
 * backend is given), else low memory. */
static unsigned shared_region(const struct ref_driver *d)
{
	const struct gmem *gm = d->pub.gm;
	if (d->dma.confine)
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
	if (d->dma.confine && gmem_share(d->pub.gm, gpa, size) != 0)
		return -1;
	p->gpa = gpa;
	p->size = size;
	p->ngran = (uint32_t)(size / REF_BOUNCE_GRANULE);
	p->hint = 0;
	return 0;
}

/* The window: REF_IOVA_WINDOW pages (at most) ending 2 GiB below the top
 * of what the device may be handed, 2^eff with eff the smaller of the
 * aperture and the device's width (the aperture alone when the width is
 * ignored).  RAM never lies there, so an IOVA is never numerically a GPA:
 * a device that takes one for the other reaches no RAM. */
static int iova_setup(struct ref_driver *d)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	struct ref_iova *w = &d->dma.iova;
	unsigned aw = iommu_aw_bits(d->pub.iommu);
	unsigned width = p->device_addr_width ? p->device_addr_width : 64;
	unsigned eff = !p->ignore_addr_width && width < aw ? width : aw;
	if (eff <= GMEM_PAGE_SHIFT)
		return -1;
	uint64_t top = eff >= 64 ? 1ull << (64 - GMEM_PAGE_SHIFT) : 1ull << (eff - GMEM_PAGE_SHIFT);
	if (eff >= 32)
		top -= 1ull << (31 - GMEM_PAGE_SHIFT);
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

int ref_dma_identity_map(struct ref_driver *d)
{
	struct iommu *io = d->pub.iommu;
	/* the IDENTITY_INCOMPLETE mutant keeps its hole */
	if (!io || ref_fault(d, VT_DRV_FAULT_IDENTITY_INCOMPLETE) ||
	    iommu_identity_complete(io, d->pub.gm))
		return 0;
	return iommu_identity_map_all(io, d->pub.gm);
}

/* The IDENTITY_INCOMPLETE mutant: with IDENTITY_ADDRESS accepted, take the
 * last page of guest RAM out of the 1:1 map before FEATURES_OK, so the
 * promise does not hold when the device checks it. */
void ref_dma_identity_hole(struct ref_driver *d, uint64_t acc)
{
	const struct gmem *gm = d->pub.gm;
	struct iommu *io = d->pub.iommu;
	uint64_t ia = ref_proposal(d->pub.policy.identity_bit);
	if (!io || !ia || !(acc & ia) || !gmem_nregions(gm))
		return;
	if (!iommu_identity_complete(io, gm) && iommu_identity_map_all(io, gm) != 0)
		return;
	const struct gmem_region_desc *r = gmem_region(gm, gmem_nregions(gm) - 1);
	uint64_t gpa = r->gpa + r->size - PAGE;
	if (iommu_unmap(io, gpa, PAGE) == 0)
		iommu_invalidate(io, gpa, PAGE);
}

void ref_dma_identity_remap(struct ref_driver *d)
{
	const struct gmem *gm = d->pub.gm;
	struct iommu *io = d->pub.iommu;
	if (!io || !d->dma.identity || !gmem_nregions(gm))
		return;
	/* The last page of guest RAM: nothing the driver allocated is there. */
	const struct gmem_region_desc *r = gmem_region(gm, gmem_nregions(gm) - 1);
	uint64_t gpa = r->gpa + r->size - PAGE;
	if (iommu_unmap(io, gpa, PAGE) == 0) {
		iommu_invalidate(io, gpa, PAGE);
		iommu_map(io, gpa, gpa, PAGE, IOMMU_PERM_RW);   /* INV-iommu-changed on purpose */
	}
}

/* Does the driver keep to the device's DMA width? */
static bool width_respected(const struct ref_driver *d)
{
	const struct vt_driver_policy *p = &d->pub.policy;
	if (ref_fault(d, VT_DRV_FAULT_ABOVE_WIDTH))
		return false;           /* INV-dma-width broken on purpose */
	/* Whether identity addresses are subject to the width is the open
	 * question of IDENTITY_ADDRESS: the policy answers it. */
	if (d->dma.identity)
		return p->identity_width_limited;
	return !p->ignore_addr_width;
}

int ref_dma_setup(struct ref_driver *d)
{
	struct ref_dma *m = &d->dma;
	const struct vt_driver_policy *p = &d->pub.policy;
	bool ap = ref_has(d, VIRTIO_F_ACCESS_PLATFORM);
	bool nt = ref_has_proposal(d, p->no_translation_bit);
	unsigned width = p->device_addr_width ? p->device_addr_width : 64;

	/* A secure guest confines the device to shared memory when it knows
	 * the device is confined (ACCESS_PLATFORM, NO_TRANSLATION) or bounces
	 * anyway; one that proceeds unaware hands it private memory. */
	m->confine = p->secure && (ap || nt || p->secure_no_ap == VT_SECURE_NO_AP_BOUNCE);
	m->identity = ap && ref_has_proposal(d, p->identity_bit);
	/* Translated addresses only with ACCESS_PLATFORM alone: untranslated
	 * under NO_TRANSLATION, 1:1 under IDENTITY_ADDRESS. */
	m->use_iommu = ap && !nt && !m->identity && p->dma == VT_DMA_IOMMU && d->pub.iommu;
	m->bounce_all = m->confine || (ap && p->dma == VT_DMA_BOUNCE);
	if (m->confine && ref_fault(d, VT_DRV_FAULT_SKIP_BOUNCE_SECURE))
		m->bounce_all = false;  /* INV-unshared-access broken on purpose */
	m->gpa_for_iova = ref_fault(d, VT_DRV_FAULT_GPA_FOR_IOVA);
	/* An IOVA is always below the width; a GPA above it must bounce. */
	m->limit = (m->use_iommu || width >= 64 || !width_respected(d)) ? UINT64_MAX
									 : 1ull << width;
	if ((m->bounce_all || m->limit != UINT64_MAX) && pool_setup(d) != 0)
		return -1;
	if (m->use_iommu && iova_setup(d) != 0)
		return -1;
	/* Under IDENTITY_ADDRESS the 1:1 map is complete before DRIVER_OK
	 * (before FEATURES_OK when the policy says so: done then). */
	if (m->identity && ref_dma_identity_map(d) != 0)
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
		if (dm->gpa_for_iova)
			m->dev = m->view;   /* INV-iommu-fault broken on purpose */
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

int ref_dma_coh_alloc(struct ref_driver *d, struct ref_coh *c, uint64_t size, unsigned perm,
		      const struct ref_rw *rw)
{
	uint64_t need = (size + PAGE_MASK) & ~PAGE_MASK;
	/* Shared in a confined secure guest, unless the driver fault
	 * RING_PRIVATE keeps it in private low memory. */
	bool share = d->dma.confine && !c->private_mem;
	if (need == 0)
		need = PAGE;
	if (c->cap < need) {
		/* Own whole pages, so sharing never exposes a neighbour. */
		unsigned region = c->private_mem ? 0 : shared_region(d);
		uint64_t gpa = gmem_alloc(d->pub.gm, region, need, PAGE);
		if (gpa == GMEM_NOADDR)
			return -1;
		if (c->cap && gmem_secure(d->pub.gm))
			gmem_unshare(d->pub.gm, c->gpa, c->cap);
		c->gpa = gpa;
		c->cap = need;
		c->drv = gmem_drv(d->pub.gm, gpa, need);
		if (!c->drv)
			return -1;
		if (share && gmem_share(d->pub.gm, gpa, need) != 0)
			return -1;
	}
	memset(c->drv, 0, c->cap);
	c->iova_page = UINT32_MAX;
	c->npages = 0;
	c->dev = c->gpa;
	if (d->dma.use_iommu) {
		uint64_t n = c->cap >> GMEM_PAGE_SHIFT;
		if (iova_map_block(d, c->gpa, n, perm, rw, &c->iova_page, &c->dev) != 0) {
			c->iova_page = UINT32_MAX;
			c->dev = c->gpa;
			return -1;
		}
		c->npages = (uint32_t)n;
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
