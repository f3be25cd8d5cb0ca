/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c - 2.5 Device Configuration Space: readable before FEATURES_OK,
 * multi-word fields read under the generation counter, optional fields
 * only when their feature is offered.
 */
#include "common.h"
#include "suites.h"

static const struct vt_variant blk[] = {
	CELL("blk-split", .blk = true, .buf_size = 512, .nreq = 8),
	CELL("blk-packed", .blk = true, .buf_size = 512, .nreq = 8, .packed = true),
};

static const struct vt_test tests[] = {
	{ "device-readable-before-features-ok", "DEV-2.5.2", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, blk, VT_ARRAY_SIZE(blk) },
	{ "driver-generation-and-optional-fields", "DRV-2.5.1", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, blk, VT_ARRAY_SIZE(blk) },
};

const struct vt_suite vt_suite_config = {
	.area = "config",
	.title = "device configuration space",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
