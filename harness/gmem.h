/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gmem.h - guest memory with enforced sharing.
 *
 * Guest RAM is a set of regions laid out at guest-physical addresses
 * (GPAs), each backed by its own memfd.  The layout is sparse: low RAM at
 * GPA 0 plus optional regions above 4 GiB and near 2^39 and 2^48, so that
 * address-width rules mean something.
 *
 * Each region is mapped twice:
 *  - the driver view: all of it, read/write (what guest software sees);
 *  - the device view: the same memfd, where in a secure guest every page
 *    is PROT_NONE until the driver shares it (our set_memory_decrypted).
 *    In a non-secure guest every page is shared from the start.
 *
 * A device touches guest memory only through struct gmem_dev and its
 * accessors, which in this order: (1) translate the device address
 * (IOVA -> GPA through the IOMMU model, else the address is a GPA),
 * (2) enforce the device's DMA address width, (3) check every page is
 * shared, (4) log the access, and only then (5) copy through the device
 * view.  Page protection is the backstop: a copy that faults is caught and
 * reported as a harness bug with its GPA and page, never ignored.
 *
 * The access log keeps, per page, whether the device read and/or wrote
 * it, plus the last accesses in a small ring, so a run can prove which
 * pages a device touched.
 */
#ifndef VCTS_GMEM_H
#define VCTS_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verdict.h"

#define GMEM_PAGE_SHIFT     12
#define GMEM_PAGE_SIZE      (1ULL << GMEM_PAGE_SHIFT)
#define GMEM_MAX_REGIONS    8
#define GMEM_NOADDR         UINT64_MAX

/* Region flags */
#define GMEM_REGION_SHARED  0x1   /* always shared (e.g. a bounce pool); in a
				     secure guest this is the only memory an
				     external backend may ever be given */

struct gmem_region_desc {
	uint64_t gpa;             /* page aligned */
	uint64_t size;            /* page aligned, > 0 */
	unsigned flags;           /* GMEM_REGION_* */
};

struct gmem_layout {
	unsigned nregions;
	struct gmem_region_desc region[GMEM_MAX_REGIONS];
};

/* Layout helpers.  Return 0, or -1 on overlap / misalignment / full. */
void gmem_layout_init(struct gmem_layout *l);
int  gmem_layout_add(struct gmem_layout *l, uint64_t gpa, uint64_t size, unsigned flags);
/* Low RAM of `low` bytes at GPA 0; with `high`, also a region of the same
 * size at 4 GiB, just below 2^39 and just below 2^48. */
void gmem_layout_standard(struct gmem_layout *l, uint64_t low, bool high);

struct gmem;

/* Create guest memory.  `secure`: pages start private (device view
 * PROT_NONE) except in GMEM_REGION_SHARED regions.  Returns NULL with
 * errno set on failure. */
struct gmem *gmem_create(const struct gmem_layout *l, bool secure);
/* Guest memory someone else owns (a vhost-user front-end's memory table):
 * region i is fds[i] from offsets[i] (page aligned; NULL: 0).  The fds are
 * duplicated; the caller keeps its own.  Never secure: the owner shared
 * all of it by handing it over. */
struct gmem *gmem_create_from_fds(const struct gmem_layout *l, const int *fds,
				  const uint64_t *offsets);
/* The memory of a secure guest someone else owns (a real guest's RAM
 * handed over by its VMM): every page starts private and only what the
 * owner shares (gmem_share: the guest's bounce pool, its rings) is
 * shared.  Private pages are not protected: the device stands in for a
 * host that can physically reach all of the guest's RAM, so an access to
 * a private page is recorded as INV-unshared-access once per page (blamed
 * as the access says) and then carried out, leaving the guest running to
 * the end of its report instead of hanging on a refused request. */
struct gmem *gmem_create_observed(const struct gmem_layout *l, const int *fds,
				  const uint64_t *offsets);
void gmem_destroy(struct gmem *gm);

bool gmem_secure(const struct gmem *gm);
unsigned gmem_nregions(const struct gmem *gm);
const struct gmem_region_desc *gmem_region(const struct gmem *gm, unsigned idx);
int gmem_region_fd(const struct gmem *gm, unsigned idx);
/* Index of the region holding [gpa, gpa+len), or -1. */
int gmem_find(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* Driver view: pointer to `len` bytes at `gpa`, or NULL if the range is
 * not wholly inside one region. */
void *gmem_drv(struct gmem *gm, uint64_t gpa, uint64_t len);

/* Guest-physical allocator for drivers (rings, buffers, bounce pools).
 * Allocates from region `idx`, aligned to `align` (power of two).  Memory
 * is zeroed.  Returns the GPA or GMEM_NOADDR. */
uint64_t gmem_alloc(struct gmem *gm, unsigned idx, uint64_t size, uint64_t align);
/* Bump-allocator checkpoint: everything allocated after mark is released
 * (and unshared again in a secure guest) by release. */
uint64_t gmem_alloc_mark(struct gmem *gm, unsigned idx);
void gmem_alloc_release(struct gmem *gm, unsigned idx, uint64_t mark);

/* Sharing (page granular: the range is rounded out to whole pages).
 * Return 0 or -1 if the range is not guest RAM.  In a non-secure guest
 * these are no-ops. */
int  gmem_share(struct gmem *gm, uint64_t gpa, uint64_t len);
int  gmem_unshare(struct gmem *gm, uint64_t gpa, uint64_t len);
bool gmem_is_shared(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* Access-log bits per page. */
#define GMEM_LOG_READ   0x1
#define GMEM_LOG_WRITE  0x2
unsigned gmem_log_page(const struct gmem *gm, uint64_t gpa); /* GMEM_LOG_* */
/* Count pages the device touched; with `private_only`, count only pages
 * that are private now (a secure guest's proof of no unshared access). */
uint64_t gmem_log_count(const struct gmem *gm, bool private_only);
void gmem_log_clear(struct gmem *gm);

struct gmem_access {
	uint64_t addr;    /* device address */
	uint64_t gpa;
	uint32_t len;
	uint8_t  write;
};
/* Copy up to `max` of the most recent accesses (newest last); returns n. */
unsigned gmem_log_recent(const struct gmem *gm, struct gmem_access *out, unsigned max);

/* ------------------------------------------------------------------ */
/* The device's window onto guest memory: the ONE accessor.           */

struct iommu;

struct gmem_dev {
	struct gmem *gm;
	struct iommu *iommu;          /* NULL: device addresses are GPAs      */
	struct iommu *platform_iommu; /* the platform IOMMU whether or not the
					 device uses it (NULL: none known):
					 names an untranslated access to a
					 mapped IOVA INV-iommu-bypass         */
	unsigned addr_width;          /* device DMA address width, 1..64      */
	bool checks;                  /* invariant checks (width, sharing,
					 log); translation and bounds are
					 always enforced                      */
	struct vt_verdict *vd;        /* where breaches are reported          */
	enum vt_who blame;            /* who is blamed for a breach found by
					 the accessor itself: the device      */
};

void gmem_dev_init(struct gmem_dev *d, struct gmem *gm, struct iommu *iommu,
		   unsigned addr_width, struct vt_verdict *vd);

/* Pre-flight check of a buffer the driver handed over, without touching
 * memory or the log: translation, width and sharing.  On failure records
 * a violation blamed on `who` (normally VT_WHO_DRIVER: the driver gave
 * the device an address it may not use) and returns -1. */
int gmem_dev_check(struct gmem_dev *d, uint64_t addr, uint64_t len, bool write,
		   enum vt_who who);

/* The accessor.  Returns 0, or -1 after recording a violation (nothing is
 * copied then).  Rules reported:
 *   INV-iommu-fault       no live mapping / wrong permission / aperture
 *   INV-dma-width         device address at or above 2^addr_width
 *   INV-unshared-access   a page of the range is private
 *   INV-not-ram           the GPA range is not guest RAM
 *   INV-iommu-bypass      instead of INV-not-ram: an untranslated access
 *                         (iommu NULL) at an address platform_iommu maps
 *   INV-harness-fault     the device view faulted (harness bug)       */
int gmem_dev_read(struct gmem_dev *d, uint64_t addr, void *dst, uint64_t len);
int gmem_dev_write(struct gmem_dev *d, uint64_t addr, const void *src, uint64_t len);

/* Fixed-size little-endian helpers over the accessor (ring fields).
 * Acquire/release ordering is provided by the _acq/_rel variants. */
int gmem_dev_read16(struct gmem_dev *d, uint64_t addr, uint16_t *v);
int gmem_dev_read16_acq(struct gmem_dev *d, uint64_t addr, uint16_t *v);
int gmem_dev_write16_rel(struct gmem_dev *d, uint64_t addr, uint16_t v);
int gmem_dev_write16(struct gmem_dev *d, uint64_t addr, uint16_t v);
int gmem_dev_write32(struct gmem_dev *d, uint64_t addr, uint32_t v);

#endif
