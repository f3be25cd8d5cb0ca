/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.c - 2.1 Device Status Field, 2.4 Device Reset, 3.1 Device
 * Initialization: the status sequence both sides must keep.
 */
#include "common.h"
#include "suites.h"

static const struct vt_variant rings[] = {
	CELL("split", .nreq = 16),
	CELL("packed", .nreq = 16, .packed = true),
	CELL("split-thread", .nreq = 16, .threaded = true),
	CELL("packed-thread", .nreq = 16, .packed = true, .threaded = true),
};

/* The driver walks ACKNOWLEDGE, DRIVER, features, FEATURES_OK, DRIVER_OK,
 * never clears a bit and notifies only once the device is live. */
static void driver_init_sequence(const struct vt_variant *v)
{
	struct vt_pair p;
	struct vt_verdict vd;

	suite_pair_open(&p, variant_cell(v), &vd);
	uint8_t st = p.t->ops->get_status(p.t);
	CU_ASSERT_EQUAL(st, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CU_ASSERT_EQUAL(vt_pair_io(&p, 0), 0);
	suite_pair_finish(&p, &vd);
}

static const struct vt_variant prefill[] = {
	CELL("split", .prefill = true),
	CELL("packed", .prefill = true, .packed = true),
};

static const struct vt_variant error_state[] = {
	CELL("split", .flow = VT_FLOW_ERROR_STATE, .error_after = 3),
	CELL("packed", .flow = VT_FLOW_ERROR_STATE, .error_after = 3, .packed = true),
};

static const struct vt_variant refused[] = {
	CELL("device-requires-packed", .flow = VT_FLOW_REFUSE_REINIT,
	     .dev_require = VT_BIT(VIRTIO_F_RING_PACKED)),
	CELL("device-refuses-event-idx", .flow = VT_FLOW_REFUSE_REINIT, .event_idx = true,
	     .dev_refuse = VT_BIT(VIRTIO_F_EVENT_IDX)),
};

static const struct vt_variant resets[] = {
	CELL("idle", .nreq = 8),
	CELL("in-flight-split", .flow = VT_FLOW_RESET_INFLIGHT, .batch = 4),
	CELL("in-flight-packed", .flow = VT_FLOW_RESET_INFLIGHT, .batch = 4, .packed = true),
	CELL("in-flight-thread", .flow = VT_FLOW_RESET_INFLIGHT, .batch = 4, .threaded = true),
};

static const struct vt_variant slow_reset[] = {
	CELL("split", .reset_delay = 3, .nreq = 4),
	CELL("packed", .reset_delay = 3, .nreq = 4, .packed = true),
};

static const struct vt_test tests[] = {
	{ "driver-init-sequence", "DRV-3.1.1 DRV-2.1.1", VT_ROLE_DRIVER, "inproc", 0,
	  driver_init_sequence, rings, VT_ARRAY_SIZE(rings) },
	{ "device-idle-before-driver-ok", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, prefill, VT_ARRAY_SIZE(prefill) },
	{ "device-needs-reset-notifies", "DEV-2.1.2", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, error_state, VT_ARRAY_SIZE(error_state) },
	{ "driver-resets-after-failed", "DRV-2.1.1 DRV-3.1.1", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, refused, VT_ARRAY_SIZE(refused) },
	{ "device-reset", "DEV-2.4.1", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, resets, VT_ARRAY_SIZE(resets) },
	{ "driver-waits-for-reset", "DRV-2.4.2", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, slow_reset, VT_ARRAY_SIZE(slow_reset) },
};

const struct vt_suite vt_suite_status = {
	.area = "status",
	.title = "device status field, reset and initialization sequence",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
