/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * split.c - 2.7 Split Virtqueues: what the driver writes into the
 * descriptor table and available ring, what the device writes into the
 * used ring, and the notifications both owe each other.
 */
#include "common.h"
#include "suites.h"

/* The shapes every split-ring rule is checked in. */
static const struct vt_variant shapes[] = {
	CELL("plain", .nreq = 300, .depth = 4),
	CELL("sg", .nreq = 300, .depth = 4, .nseg_out = 3, .nseg_in = 2),
	CELL("indirect", .nreq = 300, .depth = 4, .indirect = true, .nseg_out = 3, .nseg_in = 2),
	CELL("event-idx", .nreq = 300, .depth = 4, .event_idx = true),
	CELL("indirect-event-idx", .nreq = 300, .depth = 8, .indirect = true, .event_idx = true,
	     .nseg_out = 2, .nseg_in = 2),
	CELL("small-queue", .nreq = 300, .depth = 8, .queue_size = 8, .nseg_out = 2),
	CELL("thread", .nreq = 2000, .depth = 8, .threaded = true, .event_idx = true),
	CELL("thread-indirect", .nreq = 2000, .depth = 8, .threaded = true, .indirect = true,
	     .nseg_out = 2, .nseg_in = 2),
};

static const struct vt_variant suppress[] = {
	CELL("flags", .nreq = 64, .depth = 4),
	CELL("flags-no-interrupt", .nreq = 64, .depth = 4, .suppress = true),
	CELL("event-idx", .nreq = 64, .depth = 4, .event_idx = true),
	CELL("event-idx-suppressed", .nreq = 64, .depth = 4, .event_idx = true, .suppress = true),
	CELL("thread-event-idx", .nreq = 1000, .depth = 8, .event_idx = true, .threaded = true),
};

static const struct vt_variant indirect[] = {
	CELL("table-only", .indirect = true, .nseg_out = 3, .nseg_in = 3),
	CELL("direct-then-table", .indirect = true, .mixed_indirect = true, .nseg_out = 3,
	     .nseg_in = 2),
	CELL("write-flag-on-table", .indirect = true, .indirect_write_flag = true, .nseg_out = 2,
	     .nseg_in = 2),
};

/* The device may not assume any arrangement of descriptors: the same
 * request cut into one-byte or odd-sized pieces must still work. */
static const struct vt_variant framing[] = {
	CELL("echo-8x8", .nseg_out = 8, .nseg_in = 8, .buf_size = 64),
	CELL("echo-bytes", .nseg_out = 16, .nseg_in = 16, .buf_size = 16),
	CELL("echo-uneven", .nseg_out = 3, .nseg_in = 5, .buf_size = 97),
	CELL("blk-4-segments", .blk = true, .buf_size = 2048, .nseg_out = 4, .nseg_in = 4),
	CELL("blk-indirect", .blk = true, .buf_size = 4096, .nseg_out = 8, .nseg_in = 8,
	     .indirect = true),
};

static const struct vt_variant held[] = {
	CELL("batch-4", .batch = 4, .nreq = 64),
	CELL("batch-16-sg", .batch = 16, .nreq = 128, .nseg_out = 2, .nseg_in = 2),
	CELL("batch-8-indirect", .batch = 8, .nreq = 64, .indirect = true, .nseg_out = 2),
};

static const struct vt_variant blk[] = {
	CELL("blk", .blk = true, .buf_size = 4096, .nreq = 32, .depth = 4),
	CELL("blk-event-idx", .blk = true, .buf_size = 512, .nreq = 64, .depth = 8,
	     .event_idx = true),
	CELL("blk-thread", .blk = true, .buf_size = 4096, .nreq = 64, .depth = 8, .threaded = true),
};

static const struct vt_test tests[] = {
	{ "driver-descriptors", "DRV-2.7.1 DRV-2.7.4.2 DRV-2.7.5.2 DRV-2.7.5.3.1 DRV-2.7.6.1",
	  VT_ROLE_DRIVER, "inproc", 0, suite_expect_clean, shapes, VT_ARRAY_SIZE(shapes) },
	{ "driver-notifications", "DRV-2.7.7.1 DRV-2.7.10.1", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, suppress, VT_ARRAY_SIZE(suppress) },
	{ "driver-exposed-buffers", "DRV-3.3.1", VT_ROLE_DRIVER, "inproc", 0,
	  suite_expect_clean, held, VT_ARRAY_SIZE(held) },
	{ "device-used-ring", "DEV-2.7.5.1 DEV-2.7.8.2 INV-data-integrity", VT_ROLE_DEVICE,
	  "inproc", 0, suite_expect_clean, shapes, VT_ARRAY_SIZE(shapes) },
	{ "device-notifications", "DEV-2.7.7.2 DEV-2.7.10.2", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, suppress, VT_ARRAY_SIZE(suppress) },
	{ "device-indirect", "DEV-2.7.5.3.2", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, indirect, VT_ARRAY_SIZE(indirect) },
	{ "device-message-framing", "DEV-2.7.4.1 INV-data-integrity", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, framing, VT_ARRAY_SIZE(framing) },
	{ "device-blk-read-back", "DEV-2.7.8.2 INV-data-integrity", VT_ROLE_DEVICE, "inproc", 0,
	  suite_expect_clean, blk, VT_ARRAY_SIZE(blk) },
};

const struct vt_suite vt_suite_split = {
	.area = "split",
	.title = "split virtqueues",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
