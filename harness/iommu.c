/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iommu.c - the platform IOMMU that ACCESS_PLATFORM refers to.
 *
 * The page table is a radix tree over IOVA page numbers, 9 bits a level,
 * as deep as the aperture needs (3 levels for 39 bits, 4 for 48, 6 for
 * 64).  A leaf entry holds (gpa page << 2 | perm); 0 means unmapped.
 * Tables are never freed before iommu_destroy and every entry is read and
 * written atomically, so the device may translate on its own thread while
 * the driver maps and unmaps, without a lock.  Each thread remembers the
 * last leaf table it walked to: a one-page translation that stays within
 * the same 2 MiB of IOVA space is one compare and one load, and it always
 * reads the live entry, so an unmap takes effect at once.
 *
 * Faults (no mapping, wrong permission, outside the aperture) are kept in
 * a list under a mutex -- they are rare -- and reported to the verdict as
 * INV-iommu-fault; a map or unmap while the identity promise is locked is
 * reported as INV-iommu-changed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "iommu.h"

#define LVL_BITS     9
#define LVL_SIZE     (1u << LVL_BITS)
#define LVL_MASK     (LVL_SIZE - 1)
#define PG_SHIFT     GMEM_PAGE_SHIFT
#define PG_MASK      (GMEM_PAGE_SIZE - 1)
#define PTE_PERM     IOMMU_PERM_RW
#define MAX_FAULTS   1024

struct node {
	uint64_t slot[LVL_SIZE];   /* interior: child pointer; leaf: pte */
};

struct iommu {
	unsigned aw_bits;
	unsigned levels;
	uint64_t id;               /* tags the per-thread leaf cache */
	struct vt_verdict *vd;
	struct node *root;
	uint64_t mapped;           /* pages, atomic */
	uint64_t generation;       /* map/unmap operations, atomic */
	uint64_t invalidations;    /* atomic */
	bool locked;               /* atomic */
	pthread_mutex_t fault_lock;
	struct iommu_fault *faults;
	unsigned nfaults, cap;
	uint64_t faults_dropped;   /* beyond MAX_FAULTS */
	/* told about every unmap (a device IOTLB to keep coherent) */
	void (*unmap_fn)(void *ctx, uint64_t iova, uint64_t len);
	void *unmap_ctx;
	/* asked before a missing or too weak entry faults (a device IOTLB
	 * filled on demand) */
	int (*miss_fn)(void *ctx, uint64_t iova, unsigned perm);
	void *miss_ctx;
};

static uint64_t next_id = 1;

/* The last leaf table this thread walked to. */
static __thread struct {
	uint64_t id;
	uint64_t key;              /* iova page >> LVL_BITS */
	struct node *leaf;
} leaf_cache;

static inline uint64_t pte_make(uint64_t gpa_pfn, unsigned perm)
{
	return gpa_pfn << 2 | perm;
}

static inline uint64_t pte_pfn(uint64_t pte)
{
	return pte >> 2;
}

/* ------------------------------------------------------------------ */
/* Create / destroy                                                   */

struct iommu *iommu_create(unsigned aw_bits, struct vt_verdict *vd)
{
	if (aw_bits < PG_SHIFT || aw_bits > 64)
		return NULL;
	struct iommu *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->root = calloc(1, sizeof(*io->root));
	if (!io->root) {
		free(io);
		return NULL;
	}
	unsigned pfn_bits = aw_bits - PG_SHIFT;
	io->levels = pfn_bits <= LVL_BITS ? 1 : (pfn_bits + LVL_BITS - 1) / LVL_BITS;
	io->aw_bits = aw_bits;
	io->vd = vd;
	io->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&io->fault_lock, NULL);
	return io;
}

static void node_free(struct node *n, unsigned level)
{
	if (level > 0)
		for (unsigned i = 0; i < LVL_SIZE; i++)
			if (n->slot[i])
				node_free((struct node *)(uintptr_t)n->slot[i], level - 1);
	free(n);
}

void iommu_destroy(struct iommu *io)
{
	if (!io)
		return;
	node_free(io->root, io->levels - 1);
	pthread_mutex_destroy(&io->fault_lock);
	free(io->faults);
	if (leaf_cache.id == io->id)
		leaf_cache.id = 0;
	free(io);
}

unsigned iommu_aw_bits(const struct iommu *io)
{
	return io->aw_bits;
}

/* ------------------------------------------------------------------ */
/* Page table                                                         */

/* Does the whole of [addr, addr+len) lie inside the aperture? */
static bool in_aperture(const struct iommu *io, uint64_t addr, uint64_t len)
{
	if (len - 1 > UINT64_MAX - addr)
		return false;
	return io->aw_bits >= 64 || ((addr + len - 1) >> io->aw_bits) == 0;
}

/* The leaf slot of IOVA page `pfn`; with `create`, missing tables are
 * added (published with a CAS so concurrent mappers agree).  NULL if
 * absent (or out of memory). */
static uint64_t *pte_slot(struct iommu *io, uint64_t pfn, bool create)
{
	struct node *n = io->root;
	for (unsigned l = io->levels - 1; l > 0; l--) {
		uint64_t *s = &n->slot[(pfn >> (l * LVL_BITS)) & LVL_MASK];
		uint64_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);
		if (!v) {
			if (!create)
				return NULL;
			struct node *fresh = calloc(1, sizeof(*fresh));
			if (!fresh)
				return NULL;
			v = (uint64_t)(uintptr_t)fresh;
			uint64_t seen = 0;
			if (!__atomic_compare_exchange_n(s, &seen, v, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE)) {
				free(fresh);
				v = seen;
			}
		}
		n = (struct node *)(uintptr_t)v;
	}
	return &n->slot[pfn & LVL_MASK];
}

/* The live entry of IOVA page `pfn` (0 if unmapped). */
static inline uint64_t pte_load(struct iommu *io, uint64_t pfn)
{
	uint64_t key = pfn >> LVL_BITS;
	if (leaf_cache.id == io->id && leaf_cache.key == key)
		return __atomic_load_n(&leaf_cache.leaf->slot[pfn & LVL_MASK], __ATOMIC_ACQUIRE);
	uint64_t *s = pte_slot(io, pfn, false);
	if (!s)
		return 0;
	leaf_cache.id = io->id;
	leaf_cache.key = key;
	leaf_cache.leaf = (struct node *)(s - (pfn & LVL_MASK));
	return __atomic_load_n(s, __ATOMIC_ACQUIRE);
}

static void drop_leaf_cache(const struct iommu *io)
{
	if (leaf_cache.id == io->id)
		leaf_cache.id = 0;
}

/* ------------------------------------------------------------------ */
/* Faults                                                             */

static const char *kind_name(enum iommu_fault_kind k)
{
	switch (k) {
	case IOMMU_FAULT_UNMAPPED:       return "no mapping";
	case IOMMU_FAULT_PERM:           return "permission";
	case IOMMU_FAULT_APERTURE:       return "outside the aperture";
	case IOMMU_FAULT_CHANGED_LOCKED: return "mapping changed while locked";
	}
	return "?";
}

static const char *perm_name(unsigned perm)
{
	switch (perm & PTE_PERM) {
	case IOMMU_PERM_R: return "read";
	case IOMMU_PERM_W: return "write";
	case IOMMU_PERM_RW: return "read/write";
	}
	return "none";
}

static void fault_keep(struct iommu *io, enum iommu_fault_kind kind, uint64_t iova, unsigned perm)
{
	pthread_mutex_lock(&io->fault_lock);
	if (io->nfaults == io->cap && io->cap < MAX_FAULTS) {
		unsigned cap = io->cap ? io->cap * 2 : 16;
		struct iommu_fault *f = realloc(io->faults, cap * sizeof(*f));
		if (f) {
			io->faults = f;
			io->cap = cap;
		}
	}
	if (io->nfaults < io->cap)
		io->faults[io->nfaults++] = (struct iommu_fault){ kind, iova, perm };
	else
		io->faults_dropped++;
	pthread_mutex_unlock(&io->fault_lock);
}

/* A translation fault: kept and reported; returns -1. */
static int fault(struct iommu *io, enum iommu_fault_kind kind, uint64_t iova, unsigned perm,
		 enum vt_who who)
{
	fault_keep(io, kind, iova, perm);
	if (io->vd)
		vt_violation_mem(io->vd, "INV-iommu-fault", who, iova, 0,
				 "IOMMU fault (%s) on a %s at iova 0x%llx", kind_name(kind),
				 perm_name(perm), (unsigned long long)iova);
	return -1;
}

/* A change of the map after the identity promise was locked (the change
 * still happens; the driver broke its promise). */
static void changed_locked(struct iommu *io, const char *what, uint64_t iova, uint64_t gpa,
			   uint64_t len)
{
	if (!__atomic_load_n(&io->locked, __ATOMIC_ACQUIRE))
		return;
	fault_keep(io, IOMMU_FAULT_CHANGED_LOCKED, iova, 0);
	if (io->vd)
		vt_violation_mem(io->vd, "INV-iommu-changed", VT_WHO_DRIVER, iova, gpa,
				 "IOMMU %s of %llu bytes at iova 0x%llx between DRIVER_OK and reset",
				 what, (unsigned long long)len, (unsigned long long)iova);
}

const struct iommu_fault *iommu_faults(const struct iommu *cio, unsigned *n)
{
	struct iommu *io = (struct iommu *)cio;   /* the lock is not state */
	pthread_mutex_lock(&io->fault_lock);
	*n = io->nfaults;
	const struct iommu_fault *f = io->faults;
	pthread_mutex_unlock(&io->fault_lock);
	return f;
}

void iommu_clear_faults(struct iommu *io)
{
	pthread_mutex_lock(&io->fault_lock);
	io->nfaults = 0;
	io->faults_dropped = 0;
	pthread_mutex_unlock(&io->fault_lock);
}

/* ------------------------------------------------------------------ */
/* Map / unmap                                                        */

static bool perm_valid(unsigned perm)
{
	return perm != 0 && (perm & ~(unsigned)PTE_PERM) == 0;
}

/* Clear the entries of pages [pfn, pfn+n) (rolling back a failed map). */
static void clear_ptes(struct iommu *io, uint64_t pfn, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *s = pte_slot(io, pfn + i, false);
		if (s)
			__atomic_store_n(s, 0, __ATOMIC_RELEASE);
	}
}

int iommu_map(struct iommu *io, uint64_t iova, uint64_t gpa, uint64_t len, unsigned perm)
{
	if (len == 0 || ((iova | gpa | len) & PG_MASK) || !perm_valid(perm))
		return -1;
	if (!in_aperture(io, iova, len) || len - 1 > UINT64_MAX - gpa)
		return -1;
	uint64_t pfn = iova >> PG_SHIFT, gfn = gpa >> PG_SHIFT, n = len >> PG_SHIFT;
	for (uint64_t i = 0; i < n; i++)
		if (pte_load(io, pfn + i))
			return -1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *s = pte_slot(io, pfn + i, true);
		uint64_t seen = 0;
		/* A concurrent mapper may have taken the page since the scan. */
		if (!s || !__atomic_compare_exchange_n(s, &seen, pte_make(gfn + i, perm), false,
						       __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			clear_ptes(io, pfn, i);
			return -1;
		}
	}
	__atomic_fetch_add(&io->mapped, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&io->generation, 1, __ATOMIC_RELAXED);
	changed_locked(io, "map", iova, gpa, len);
	return 0;
}

int iommu_unmap(struct iommu *io, uint64_t iova, uint64_t len)
{
	if (len == 0 || ((iova | len) & PG_MASK) || !in_aperture(io, iova, len))
		return -1;
	uint64_t pfn = iova >> PG_SHIFT, n = len >> PG_SHIFT;
	for (uint64_t i = 0; i < n; i++)
		if (!pte_load(io, pfn + i))
			return -1;
	for (uint64_t i = 0; i < n; i++)
		__atomic_store_n(pte_slot(io, pfn + i, false), 0, __ATOMIC_RELEASE);
	drop_leaf_cache(io);
	__atomic_fetch_sub(&io->mapped, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&io->generation, 1, __ATOMIC_RELAXED);
	changed_locked(io, "unmap", iova, 0, len);
	if (io->unmap_fn)
		io->unmap_fn(io->unmap_ctx, iova, len);
	return 0;
}

void iommu_invalidate(struct iommu *io, uint64_t iova, uint64_t len)
{
	drop_leaf_cache(io);
	__atomic_fetch_add(&io->invalidations, 1, __ATOMIC_RELAXED);
}

uint64_t iommu_mapped_pages(const struct iommu *io)
{
	return __atomic_load_n(&io->mapped, __ATOMIC_RELAXED);
}

uint64_t iommu_generation(const struct iommu *io)
{
	return __atomic_load_n(&io->generation, __ATOMIC_RELAXED);
}

void iommu_set_unmap_listener(struct iommu *io, void (*fn)(void *ctx, uint64_t iova, uint64_t len),
			      void *ctx)
{
	io->unmap_fn = fn;
	io->unmap_ctx = fn ? ctx : NULL;
}

void iommu_set_miss_handler(struct iommu *io, int (*fn)(void *ctx, uint64_t iova, unsigned perm),
			    void *ctx)
{
	io->miss_fn = fn;
	io->miss_ctx = fn ? ctx : NULL;
}

int iommu_lookup(struct iommu *io, uint64_t iova, uint64_t *gpa, unsigned *perm)
{
	if (!in_aperture(io, iova, 1))
		return -1;
	uint64_t e = pte_load(io, iova >> PG_SHIFT);
	if (!e)
		return -1;
	*gpa = pte_pfn(e) << PG_SHIFT | (iova & PG_MASK);
	*perm = (unsigned)(e & PTE_PERM);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Translation                                                        */

/* A page without the entry an access needs: the miss handler (if any)
 * may fill it; then the entry is checked again and a fault recorded. */
static __attribute__((cold, noinline)) int pte_miss(struct iommu *io, uint64_t *pte, uint64_t iova,
						    unsigned perm, enum vt_who who)
{
	if (io->miss_fn && io->miss_fn(io->miss_ctx, iova, perm) == 0)
		*pte = pte_load(io, iova >> PG_SHIFT);
	if (!*pte)
		return fault(io, IOMMU_FAULT_UNMAPPED, iova, perm, who);
	if ((*pte & perm) != perm)
		return fault(io, IOMMU_FAULT_PERM, iova, perm, who);
	return 0;
}

/* Check one page's entry for an access needing `perm`. */
static inline int pte_check(struct iommu *io, uint64_t *pte, uint64_t iova, unsigned perm,
			    enum vt_who who)
{
	if (!*pte || (*pte & perm) != perm)
		return pte_miss(io, pte, iova, perm, who);
	return 0;
}

int iommu_translate_who(struct iommu *io, uint64_t iova, uint64_t len, unsigned perm,
			uint64_t *gpa, enum vt_who who)
{
	if (len == 0)
		len = 1;
	perm &= PTE_PERM;
	if (!in_aperture(io, iova, len)) {
		uint64_t top = io->aw_bits >= 64 ? 0 : 1ULL << io->aw_bits;
		return fault(io, IOMMU_FAULT_APERTURE, iova > top ? iova : top, perm, who);
	}
	uint64_t p0 = iova >> PG_SHIFT, p1 = (iova + len - 1) >> PG_SHIFT;
	uint64_t e0 = pte_load(io, p0);
	if (pte_check(io, &e0, iova, perm, who))
		return -1;
	bool contiguous = true;
	for (uint64_t p = p0 + 1; p <= p1; p++) {
		uint64_t e = pte_load(io, p);
		if (pte_check(io, &e, p << PG_SHIFT, perm, who))
			return -1;
		if (pte_pfn(e) != pte_pfn(e0) + (p - p0))
			contiguous = false;
	}
	*gpa = pte_pfn(e0) << PG_SHIFT | (iova & PG_MASK);
	return contiguous ? 0 : 1;
}

int iommu_translate(struct iommu *io, uint64_t iova, uint64_t len, unsigned perm, uint64_t *gpa)
{
	return iommu_translate_who(io, iova, len, perm, gpa, VT_WHO_DEVICE);
}

/* ------------------------------------------------------------------ */
/* Identity mode (IDENTITY_ADDRESS proposal)                          */

/* Map one region 1:1 read/write.  Pages already mapped 1:1 read/write are
 * kept; pages outside the aperture or mapped otherwise make it fail. */
static int identity_map_region(struct iommu *io, const struct gmem_region_desc *d, bool *changed)
{
	int rc = 0;
	uint64_t first = d->gpa >> PG_SHIFT, n = d->size >> PG_SHIFT, added = 0;
	for (uint64_t pfn = first; pfn < first + n; pfn++) {
		if (!in_aperture(io, pfn << PG_SHIFT, GMEM_PAGE_SIZE)) {
			rc = -1;
			continue;
		}
		uint64_t want = pte_make(pfn, IOMMU_PERM_RW);
		uint64_t *s = pte_slot(io, pfn, true);
		uint64_t seen = 0;
		if (!s) {
			rc = -1;
			continue;
		}
		if (__atomic_compare_exchange_n(s, &seen, want, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			added++;
		else if (seen != want)
			rc = -1;
	}
	if (added) {
		__atomic_fetch_add(&io->mapped, added, __ATOMIC_RELAXED);
		__atomic_fetch_add(&io->generation, 1, __ATOMIC_RELAXED);
		*changed = true;
	}
	return rc;
}

int iommu_identity_map_all(struct iommu *io, const struct gmem *gm)
{
	int rc = 0;
	for (unsigned i = 0; i < gmem_nregions(gm); i++) {
		const struct gmem_region_desc *d = gmem_region(gm, i);
		bool changed = false;
		if (identity_map_region(io, d, &changed))
			rc = -1;
		if (changed)
			changed_locked(io, "identity map", d->gpa, d->gpa, d->size);
	}
	return rc;
}

bool iommu_identity_complete(const struct iommu *cio, const struct gmem *gm)
{
	struct iommu *io = (struct iommu *)cio;   /* lookups only fill the cache */
	for (unsigned i = 0; i < gmem_nregions(gm); i++) {
		const struct gmem_region_desc *d = gmem_region(gm, i);
		uint64_t first = d->gpa >> PG_SHIFT, n = d->size >> PG_SHIFT;
		if (!in_aperture(io, d->gpa, d->size))
			return false;
		for (uint64_t pfn = first; pfn < first + n; pfn++)
			if (pte_load(io, pfn) != pte_make(pfn, IOMMU_PERM_RW))
				return false;
	}
	return true;
}

void iommu_lock(struct iommu *io)
{
	__atomic_store_n(&io->locked, true, __ATOMIC_RELEASE);
}

void iommu_unlock(struct iommu *io)
{
	__atomic_store_n(&io->locked, false, __ATOMIC_RELEASE);
}

bool iommu_locked(const struct iommu *io)
{
	return __atomic_load_n(&io->locked, __ATOMIC_ACQUIRE);
}
