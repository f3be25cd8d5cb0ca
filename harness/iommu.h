/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iommu.h - a model of the platform IOMMU that ACCESS_PLATFORM refers to.
 *
 * IOVA -> GPA at page granularity, each page with read/write permission,
 * inside an aperture of `aw_bits` bits (IOVAs must be < 2^aw_bits).
 * Faults (no mapping, wrong permission, outside the aperture) are kept in
 * a list with the rule they break and reported to the verdict.
 *
 * Identity mode models the proposed IDENTITY_ADDRESS promise: the driver
 * maps every page of guest RAM 1:1 (iommu_identity_map_all), the
 * mapping must be complete before DRIVER_OK (iommu_identity_complete) and
 * must not change from DRIVER_OK until reset: iommu_lock() at DRIVER_OK,
 * iommu_unlock() at reset; a map/unmap while locked is recorded as a
 * fault of kind IOMMU_FAULT_CHANGED_LOCKED (the change still happens, so
 * later accesses show its effect).
 */
#ifndef VCTS_IOMMU_H
#define VCTS_IOMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "verdict.h"

#define IOMMU_PERM_R   0x1
#define IOMMU_PERM_W   0x2
#define IOMMU_PERM_RW  0x3

enum iommu_fault_kind {
	IOMMU_FAULT_UNMAPPED,
	IOMMU_FAULT_PERM,
	IOMMU_FAULT_APERTURE,
	IOMMU_FAULT_CHANGED_LOCKED,
};

struct iommu_fault {
	enum iommu_fault_kind kind;
	uint64_t iova;
	unsigned perm;        /* access that faulted (R or W) */
};

struct gmem;
struct iommu;

/* aw_bits in 12..64.  `vd` may be NULL (faults only kept in the list). */
struct iommu *iommu_create(unsigned aw_bits, struct vt_verdict *vd);
void iommu_destroy(struct iommu *io);
unsigned iommu_aw_bits(const struct iommu *io);

/* Map [iova, iova+len) -> [gpa, gpa+len).  All page aligned.  Fails (-1)
 * if any page is outside the aperture or already mapped. */
int iommu_map(struct iommu *io, uint64_t iova, uint64_t gpa, uint64_t len, unsigned perm);
/* Unmap; fails (-1) if any page was not mapped (nothing is changed then). */
int iommu_unmap(struct iommu *io, uint64_t iova, uint64_t len);
/* Invalidate cached translations for the range (the model's own lookup
 * cache); counts invalidations for the record. */
void iommu_invalidate(struct iommu *io, uint64_t iova, uint64_t len);

/* Translate one access of `len` bytes at `iova` needing `perm`.  The
 * range may cross pages; every page must be mapped with `perm` and the
 * pages must be contiguous in GPA space for *gpa to describe the whole
 * range.  Returns 0 with *gpa set, 1 if the range is mapped but not
 * GPA-contiguous (*gpa covers the first page only: callers split per
 * page), or -1 after recording a fault (rule INV-iommu-fault). */
int iommu_translate(struct iommu *io, uint64_t iova, uint64_t len, unsigned perm, uint64_t *gpa);
/* The same, with a fault blamed on `who` instead of the device (a
 * pre-flight check of an address the driver handed over blames the
 * driver; see gmem_dev_check). */
int iommu_translate_who(struct iommu *io, uint64_t iova, uint64_t len, unsigned perm,
			uint64_t *gpa, enum vt_who who);

/* Without recording anything: the GPA of `iova` and the permission of
 * its page.  Returns 0, or -1 when the page is unmapped or outside the
 * aperture.  (For a device with its own IOTLB: answering its misses.) */
int iommu_lookup(struct iommu *io, uint64_t iova, uint64_t *gpa, unsigned *perm);
/* Call fn(ctx, iova, len) after every unmap, so a device that caches
 * translations (a vhost-user backend's IOTLB) drops them before the
 * IOVA can be reused.  One listener; fn NULL removes it. */
void iommu_set_unmap_listener(struct iommu *io, void (*fn)(void *ctx, uint64_t iova, uint64_t len),
			      void *ctx);
/* A device that keeps its own IOTLB in a struct iommu (a vhost-user
 * backend) fills it on demand: when a translation finds a page unmapped
 * or mapped without the permission it needs, fn(ctx, iova, perm) is
 * called first (on the accessing thread); if it returns 0 the page is
 * checked again, and only then is a fault recorded.  One handler; fn
 * NULL removes it.  Without a handler nothing changes. */
void iommu_set_miss_handler(struct iommu *io, int (*fn)(void *ctx, uint64_t iova, unsigned perm),
			    void *ctx);

/* Number of mapped pages; number of map/unmap operations so far. */
uint64_t iommu_mapped_pages(const struct iommu *io);
uint64_t iommu_generation(const struct iommu *io);

/* Faults recorded so far (pointer valid until the next iommu call). */
const struct iommu_fault *iommu_faults(const struct iommu *io, unsigned *n);
void iommu_clear_faults(struct iommu *io);

/* Identity mode. */
int  iommu_identity_map_all(struct iommu *io, const struct gmem *gm);
bool iommu_identity_complete(const struct iommu *io, const struct gmem *gm);
void iommu_lock(struct iommu *io);
void iommu_unlock(struct iommu *io);
bool iommu_locked(const struct iommu *io);

#endif
