/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vq_reset.c - 2.6.1 Virtqueue Reset (VIRTIO_F_RING_RESET): a reset queue
 * forgets its state and comes back with the size the driver sets.
 */
#include "common.h"
#include "suites.h"

static const struct vt_variant cells[] = {
	CELL("split", .flow = VT_FLOW_QUEUE_RESET, .nreq = 32),
	CELL("packed", .flow = VT_FLOW_QUEUE_RESET, .nreq = 32, .packed = true),
	CELL("split-event-idx", .flow = VT_FLOW_QUEUE_RESET, .nreq = 32, .event_idx = true),
	CELL("packed-thread", .flow = VT_FLOW_QUEUE_RESET, .nreq = 32, .packed = true,
	     .threaded = true),
};

static const struct vt_test tests[] = {
	{ "device-queue-reset", "DEV-2.6.1.1.1 DEV-2.6.1.2.1", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, cells, VT_ARRAY_SIZE(cells) },
	{ "driver-queue-reset", "DRV-2.6.1.1.2 DRV-2.6.1.2.2", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, cells, VT_ARRAY_SIZE(cells) },
};

const struct vt_suite vt_suite_vq_reset = {
	.area = "vq-reset",
	.title = "virtqueue reset and re-enable",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
