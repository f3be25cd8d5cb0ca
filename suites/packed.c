/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * packed.c - 2.8 Packed Virtqueues: descriptor lists made available
 * atomically, used descriptors written in ring order with the right wrap
 * counter, indirect tables, and lists used in the order given.
 */
#include "common.h"
#include "suites.h"

#define P .packed = true

/* nreq well above the queue size: the wrap counters flip many times. */
static const struct vt_variant shapes[] = {
	CELL("plain", P, .nreq = 600, .depth = 4),
	CELL("sg", P, .nreq = 600, .depth = 4, .nseg_out = 3, .nseg_in = 2),
	CELL("indirect", P, .nreq = 600, .depth = 4, .indirect = true, .nseg_out = 3, .nseg_in = 2),
	CELL("event-idx", P, .nreq = 600, .depth = 4, .event_idx = true),
	CELL("small-queue", P, .nreq = 300, .depth = 8, .queue_size = 8, .nseg_out = 2),
	CELL("odd-queue", P, .nreq = 300, .depth = 5, .queue_size = 7, .nseg_out = 2),
	CELL("notification-data", P, .nreq = 300, .depth = 4, .notif_data = true),
	CELL("thread", P, .nreq = 2000, .depth = 8, .threaded = true, .event_idx = true),
	CELL("thread-sg", P, .nreq = 2000, .depth = 8, .threaded = true, .nseg_out = 2,
	     .nseg_in = 2),
};

static const struct vt_variant held[] = {
	CELL("batch-4", P, .batch = 4, .nreq = 64),
	CELL("batch-8-sg", P, .batch = 8, .nreq = 128, .nseg_out = 2, .nseg_in = 2),
	CELL("batch-8-notification-data", P, .batch = 8, .nreq = 64, .notif_data = true),
};

static const struct vt_variant lists[] = {
	CELL("in-4", P, .nseg_in = 4, .nreq = 64),
	CELL("in-8-out-3", P, .nseg_in = 8, .nseg_out = 3, .nreq = 64),
	CELL("indirect-in-4", P, .indirect = true, .nseg_in = 4, .nseg_out = 2, .nreq = 64),
};

static const struct vt_variant blk[] = {
	CELL("blk", P, .blk = true, .buf_size = 4096, .nreq = 32, .depth = 4),
	CELL("blk-indirect", P, .blk = true, .buf_size = 4096, .nreq = 32, .depth = 4,
	     .indirect = true, .nseg_out = 4, .nseg_in = 4),
	CELL("blk-thread", P, .blk = true, .buf_size = 4096, .nreq = 64, .depth = 8,
	     .threaded = true),
};

static const struct vt_test tests[] = {
	{ "driver-descriptors", "DRV-2.8.11 DRV-2.8.17 DRV-2.8.19", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, shapes, VT_ARRAY_SIZE(shapes) },
	{ "driver-available-descriptors-stable", "DRV-2.8.16", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, held, VT_ARRAY_SIZE(held) },
	{ "device-used-descriptors", "DEV-2.8.12 DEV-2.8.15 INV-data-integrity", VT_ROLE_DEVICE,
	  "inproc", 0, suite_expect_clean, shapes, VT_ARRAY_SIZE(shapes) },
	{ "device-list-order", "DEV-2.8.18", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, lists, VT_ARRAY_SIZE(lists) },
	{ "device-blk-read-back", "DEV-2.8.15 INV-data-integrity", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, blk, VT_ARRAY_SIZE(blk) },
};

const struct vt_suite vt_suite_packed = {
	.area = "packed",
	.title = "packed virtqueues",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
