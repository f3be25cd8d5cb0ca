/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dma.c - what the device may touch.  A secure guest's private memory is
 * never touched (all data bounces through shared memory), no device
 * address reaches the device's address-width limit, and with translation
 * every access goes through a live mapping.  Each test ends with the
 * access log's proof, not just the absence of complaints.
 */
#include "common.h"
#include "suites.h"

/* Secure guest: rings shared, every buffer bounced; the device touched
 * pages, and none of them is private. */
static void secure_bounce(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;
	struct vt_dma_stats st;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	vt_ref_driver_dma_stats(p.drv, &st);
	CU_ASSERT_TRUE(st.bounces > 0);
	CU_ASSERT_TRUE(gmem_log_count(p.gm, false) > 0);
	CU_ASSERT_EQUAL(gmem_log_count(p.gm, true), 0);
	if (gmem_log_count(p.gm, true))
		vt_diag("the device touched %llu private pages",
			(unsigned long long)gmem_log_count(p.gm, true));
	suite_pair_finish(&p, &vd);
}

#define SECURE .secure = true, .access_platform = true
static const struct vt_variant secure[] = {
	CELL("split", SECURE, .nreq = 64, .depth = 4),
	CELL("packed", SECURE, .packed = true, .nreq = 64, .depth = 4),
	CELL("split-indirect", SECURE, .indirect = true, .nseg_out = 2, .nseg_in = 2, .nreq = 64),
	CELL("packed-indirect", SECURE, .packed = true, .indirect = true, .nseg_out = 2,
	     .nseg_in = 2, .nreq = 64),
	CELL("blk-split", SECURE, .blk = true, .buf_size = 4096, .nreq = 16),
	CELL("blk-packed-thread", SECURE, .blk = true, .packed = true, .threaded = true,
	     .buf_size = 4096, .nreq = 16),
	CELL("iommu-aw48", SECURE, .iommu_aw = 48, .nreq = 32),
};

/* Buffers far above a 32-bit device's reach: the driver bounces them
 * into low memory; no device address reaches 2^width. */
static void width_bounce(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;
	struct vt_dma_stats st;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	vt_ref_driver_dma_stats(p.drv, &st);
	CU_ASSERT_TRUE(st.bounces > 0);
	/* nothing in the buffers' high region was touched by the device */
	const struct gmem_region_desc *r = gmem_region(p.gm, gmem_nregions(p.gm) - 1);
	unsigned touched = 0;
	for (uint64_t gpa = r->gpa; gpa < r->gpa + r->size; gpa += GMEM_PAGE_SIZE)
		touched += gmem_log_page(p.gm, gpa) != 0;
	CU_ASSERT_EQUAL(touched, 0);
	suite_pair_finish(&p, &vd);
}

/* A region shared by construction holds rings and bounce pool: the
 * device touches nothing anywhere else, so a backend given only that
 * region's memfd can do its work. */
static void secure_shared_region(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	uint64_t outside = 0, inside = 0;
	for (unsigned r = 0; r < gmem_nregions(p.gm); r++) {
		const struct gmem_region_desc *d = gmem_region(p.gm, r);
		for (uint64_t gpa = d->gpa; gpa < d->gpa + d->size; gpa += GMEM_PAGE_SIZE) {
			if (!gmem_log_page(p.gm, gpa))
				continue;
			if (d->flags & GMEM_REGION_SHARED)
				inside++;
			else
				outside++;
		}
	}
	CU_ASSERT_TRUE(inside > 0);
	CU_ASSERT_EQUAL(outside, 0);
	if (outside)
		vt_diag("the device touched %llu pages outside the shared region",
			(unsigned long long)outside);
	suite_pair_finish(&p, &vd);
}

#define SHARED SECURE, .shared_region = true
static const struct vt_variant shared[] = {
	CELL("split", SHARED, .nreq = 64, .depth = 4),
	CELL("packed-indirect", SHARED, .packed = true, .indirect = true, .nseg_out = 2,
	     .nseg_in = 2, .nreq = 64),
	CELL("blk-thread", SHARED, .blk = true, .threaded = true, .buf_size = 4096, .nreq = 16),
};

#define HIGH .high_mem = true, .buf_region = -1
static const struct vt_variant widths[] = {
	CELL("split-width-32", HIGH, .dev_width = 32, .nreq = 32),
	CELL("packed-width-39", HIGH, .dev_width = 39, .packed = true, .nreq = 32),
	CELL("split-width-40-sg", HIGH, .dev_width = 40, .nseg_out = 2, .nseg_in = 2, .nreq = 32),
	CELL("blk-width-32", HIGH, .dev_width = 32, .blk = true, .buf_size = 4096, .nreq = 16),
};

/* Translation with buffers in every region: IOVAs stay inside the
 * aperture and every access hits a live mapping. */
static void iommu_regions(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;
	unsigned nf;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	iommu_faults(p.io, &nf);
	CU_ASSERT_EQUAL(nf, 0);
	CU_ASSERT_TRUE(gmem_log_count(p.gm, false) > 0);
	suite_pair_finish(&p, &vd);
}

#define IOMMU .access_platform = true, HIGH
static const struct vt_variant iommus[] = {
	CELL("split-aw39-buffers-near-2^48", IOMMU, .iommu_aw = 39, .nreq = 32),
	CELL("packed-aw48-buffers-near-2^48", IOMMU, .iommu_aw = 48, .packed = true, .nreq = 32),
	CELL("split-aw39-width-32", IOMMU, .iommu_aw = 39, .dev_width = 32, .nreq = 32),
};

static const struct vt_test tests[] = {
	{ "secure-guest-bounces-everything", "INV-unshared-access DRV-6.1", VT_ROLE_DRIVER,
	  "inproc", 0, secure_bounce, secure, VT_ARRAY_SIZE(secure) },
	{ "secure-guest-shared-region-only", "INV-unshared-access DRV-6.1", VT_ROLE_DRIVER,
	  "inproc", 0, secure_shared_region, shared, VT_ARRAY_SIZE(shared) },
	{ "device-width-respected", "INV-dma-width", VT_ROLE_DRIVER, "inproc", 0,
	  width_bounce, widths, VT_ARRAY_SIZE(widths) },
	{ "iommu-translation", "INV-iommu-fault DRV-6.1", VT_ROLE_DRIVER, "inproc", 0,
	  iommu_regions, iommus, VT_ARRAY_SIZE(iommus) },
};

const struct vt_suite vt_suite_dma = {
	.area = "dma",
	.title = "what the device may touch: sharing, address width, translation",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
