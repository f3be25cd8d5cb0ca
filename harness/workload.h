/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload.h - what a pair does with a device of a given type.
 *
 * A workload turns "run n requests" into requests the device type
 * understands and checks every answer: the echo device returns the
 * payload, a block device stores it and reads it back, an entropy device
 * fills buffers, a network device carries frames.  The pair owns the
 * slots (one per request in flight) and the loop that keeps them busy;
 * the workload fills a slot (submit) and judges what came back (verify),
 * phase by phase (blk: phase 0 writes, phase 1 reads back).  A workload
 * that needs more than one queue at a time supplies run() instead.
 */
#ifndef VCTS_WORKLOAD_H
#define VCTS_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "pair.h"

struct vt_workload {
	const char *name;
	uint16_t device_id;             /* VIRTIO_ID_*                              */
	unsigned nphases;               /* 1 or more                                */
	unsigned queue;                 /* queue the phases use                     */
	/* After DRIVER_OK: read what the workload needs (capacity ...). */
	int  (*setup)(struct vt_pair *p);
	/* Fill slot s for request k of `phase` and make it available
	 * (p->drv->ops->add, token = vt_pair_token(s)).  Returns what add
	 * returns (1: queue full). */
	int  (*submit)(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase);
	/* Judge the used buffer of slot s (len from the used ring).  Returns
	 * 0, or -1 after recording a violation. */
	int  (*verify)(struct vt_pair *p, unsigned s, uint32_t len, unsigned phase);
	/* Optional: the whole run for multi-queue workloads (n requests). */
	int  (*run)(struct vt_pair *p, unsigned n);
};

/* The workload for a device type, or NULL. */
const struct vt_workload *vt_workload_find(uint16_t device_id);

/* ---- helpers for workloads ---- */

#define VT_PAIR_MAX_SEGS 16

static inline void *vt_pair_token(unsigned slot)
{
	return (void *)(uintptr_t)(slot + 1);
}

/* Payload of request k: byte i = pattern(k, i), different for every k and
 * i so a stale, shifted or misplaced copy never matches. */
void vt_pair_fill(const struct vt_pair *p, uint8_t *buf, uint64_t len, uint64_t k);
/* Index of the first differing byte, len if equal. */
uint64_t vt_pair_first_diff(const uint8_t *a, const uint8_t *b, uint64_t len);
/* Cut [gpa, gpa+len) into n nearly equal segments; returns n. */
unsigned vt_pair_split_segs(struct vt_buf *b, uint64_t gpa, uint32_t len, unsigned n);

extern const struct vt_workload vt_workload_echo;
extern const struct vt_workload vt_workload_blk;
extern const struct vt_workload vt_workload_net;
extern const struct vt_workload vt_workload_fs;
extern const struct vt_workload vt_workload_rng;
extern const struct vt_workload vt_workload_console;

#endif
