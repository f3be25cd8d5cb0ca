/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * features.c - 2.2 Feature Bits, 6 Reserved Feature Bits: what may be
 * offered, what may be accepted, and ACCESS_PLATFORM's address rule.
 */
#include "common.h"
#include "suites.h"

/* The device offers more than the driver understands: the driver takes a
 * subset of the offer, VERSION_1 always. */
static void driver_accepts_subset(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;

	suite_pair_open(&p, variant_cell(v), &vd);
	uint64_t offered = p.drv->offered;
	CU_ASSERT_EQUAL(p.drv->negotiated & ~p.drv->offered, 0);
	CU_ASSERT_TRUE((p.drv->negotiated & VT_BIT(VIRTIO_F_VERSION_1)) != 0);
	CU_ASSERT_EQUAL(vt_device_negotiated(p.dev), p.drv->negotiated);
	CU_ASSERT_TRUE((offered & VT_BIT(VIRTIO_F_RING_PACKED)) != 0);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	suite_pair_finish(&p, &vd);
}

static const struct vt_variant subsets[] = {
	CELL("version-1-only", .nreq = 4),
	CELL("with-rings", .nreq = 4, .packed = true, .indirect = true, .event_idx = true),
};

/* The device's offer: VERSION_1 present, nothing reserved or undefined. */
static void device_offer(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_TRUE((p.drv->offered & VT_BIT(VIRTIO_F_VERSION_1)) != 0);
	CU_ASSERT_EQUAL(p.drv->offered & VT_FEATURES_RESERVED_FUTURE, 0);
	suite_pair_finish(&p, &vd);
}

static const struct vt_variant offers[] = {
	CELL("echo"),
	CELL("blk", .blk = true, .buf_size = 512),
};

/* A hostile driver accepts a bit that was not offered: the device must
 * refuse FEATURES_OK.  The driver's own breach is expected. */
static void device_refuses_unoffered(const struct vt_variant *v)
{
	suite_expect_rule(variant_cell(v), "DRV-2.2.1", NULL);
}

static const struct vt_variant hostile[] = {
	CELL("echo", .flow = VT_FLOW_HOSTILE_FEATURES, .drv_fault = VT_DRV_FAULT_ACCEPT_UNOFFERED),
	CELL("blk", .flow = VT_FLOW_HOSTILE_FEATURES, .drv_fault = VT_DRV_FAULT_ACCEPT_UNOFFERED,
	     .blk = true),
};

/* ACCESS_PLATFORM negotiated with an IOMMU: every address the driver
 * hands over is an IOVA the platform translates, never a raw GPA. */
static void access_platform_iommu(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;
	struct vt_dma_stats st;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_TRUE((p.drv->negotiated & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	vt_ref_driver_dma_stats(p.drv, &st);
	CU_ASSERT_TRUE(st.iommu_maps > 0);
	CU_ASSERT_TRUE(iommu_mapped_pages(p.io) > 0);
	unsigned nf;
	iommu_faults(p.io, &nf);
	CU_ASSERT_EQUAL(nf, 0);
	suite_pair_finish(&p, &vd);
}

static const struct vt_variant iommus[] = {
	CELL("split-aw48", .access_platform = true, .iommu_aw = 48, .nreq = 32),
	CELL("packed-aw48", .access_platform = true, .iommu_aw = 48, .packed = true, .nreq = 32),
	CELL("split-aw39-high", .access_platform = true, .iommu_aw = 39, .high_mem = true,
	     .buf_region = 1, .nreq = 32),
	CELL("packed-aw39-indirect", .access_platform = true, .iommu_aw = 39, .packed = true,
	     .indirect = true, .nseg_out = 2, .nseg_in = 2, .nreq = 32),
};

/* ACCESS_PLATFORM not offered: the driver passes physical addresses even
 * when the platform has an IOMMU. */
static void physical_without_access_platform(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;
	struct vt_dma_stats st;

	suite_pair_open(&p, variant_cell(v), &vd);
	CU_ASSERT_FALSE((p.drv->negotiated & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	vt_ref_driver_dma_stats(p.drv, &st);
	CU_ASSERT_EQUAL(st.iommu_maps, 0);
	CU_ASSERT_EQUAL(iommu_mapped_pages(p.io), 0);
	suite_pair_finish(&p, &vd);
}

static const struct vt_variant physical[] = {
	CELL("split", .iommu_aw = 48, .nreq = 16),
	CELL("packed", .iommu_aw = 48, .packed = true, .nreq = 16),
};

static const struct vt_test tests[] = {
	{ "driver-accepts-offered-subset", "DRV-2.2.1 DRV-6.1", VT_ROLE_DRIVER, "inproc", 0,
	  driver_accepts_subset, subsets, VT_ARRAY_SIZE(subsets) },
	{ "device-offers-defined-features", "DEV-2.2.2 DEV-6.2", VT_ROLE_DEVICE, "inproc", 0,
	  device_offer, offers, VT_ARRAY_SIZE(offers) },
	{ "device-refuses-unoffered-bit", "DEV-2.2.2 DRV-2.2.1", VT_ROLE_DEVICE, "inproc", 0,
	  device_refuses_unoffered, hostile, VT_ARRAY_SIZE(hostile) },
	{ "driver-access-platform-iommu", "DRV-6.1 INV-iommu-fault", VT_ROLE_DRIVER, "inproc", 0,
	  access_platform_iommu, iommus, VT_ARRAY_SIZE(iommus) },
	{ "driver-physical-addresses", "DRV-6.1", VT_ROLE_DRIVER, "inproc", 0,
	  physical_without_access_platform, physical, VT_ARRAY_SIZE(physical) },
};

const struct vt_suite vt_suite_features = {
	.area = "features",
	.title = "feature bits: offer, acceptance, VERSION_1 and ACCESS_PLATFORM",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
