/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scenario.h - a cell (what is negotiated and how the pair is shaped) and
 * a flow (what the driver does with it), run over a pair.
 *
 * The conformance suites run cells with a clean driver and device; the
 * mutant tests run the same cells with one fault switched on and expect
 * exactly the fault's rule.  Keeping both on one definition is what makes
 * "the clean pair passes" and "the mutant is caught" comparable.
 */
#ifndef VCTS_SCENARIO_H
#define VCTS_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "pair.h"

/* Queue size a queue is given again after VT_FLOW_QUEUE_RESET. */
#define VT_CELL_RESET_QSIZE 64

enum vt_flow {
	VT_FLOW_IO,              /* init, I/O, reset                                   */
	VT_FLOW_REFUSE_REINIT,   /* init is refused (FAILED), init again, I/O, reset   */
	VT_FLOW_QUEUE_RESET,     /* init, I/O, queue reset to half size, I/O, reset    */
	VT_FLOW_RESET_INFLIGHT,  /* init, requests held by the device, reset at once   */
	VT_FLOW_ERROR_STATE,     /* init, I/O until the device enters NEEDS_RESET      */
	VT_FLOW_HOSTILE_FEATURES,/* driver acks an unoffered bit; device must refuse   */
};

struct vt_cell {
	enum vt_flow flow;
	bool blk;                /* blk device instead of echo                         */
	bool packed, indirect, event_idx, notif_data, ring_reset;
	bool threaded;
	bool mixed_indirect, indirect_write_flag, prefill, suppress;
	bool secure, access_platform, high_mem, shared_region;
	unsigned iommu_aw;       /* 0: no IOMMU                                        */
	unsigned dev_width;      /* 0: 64                                              */
	int buf_region;          /* data buffers' region (-1 last)                     */
	unsigned batch;          /* device holds this many chains before using them    */
	unsigned nseg_out, nseg_in, depth, nreq, buf_size;
	uint16_t queue_size;     /* 0: the device maximum                             */
	unsigned reset_delay;    /* device status reads non-zero this long after reset */
	unsigned error_after;
	uint64_t dev_refuse, dev_require;
	int drv_fault;           /* enum vt_drv_fault */
	int dev_fault;           /* enum vt_dev_fault */
	/* A device elsewhere (see struct vt_pair_cfg): passed through as is. */
	const void *target;
	struct vt_transport *(*open_target)(struct vt_pair *p, char *err, size_t errlen);
	uint16_t device_id;      /* 0: the blk or echo device's                       */
};

/* Translate a cell into a pair configuration. */
void vt_cell_to_cfg(const struct vt_cell *cell, struct vt_pair_cfg *c);

/* Run the cell's flow, everything reported into vd.  Returns 0 when the
 * flow completed as the cell expects, -1 when a rule was broken, -2 when
 * the pair could not be built (reason in err: a broken test). */
int vt_cell_run(const struct vt_cell *cell, struct vt_verdict *vd, char *err, size_t errlen);

#endif
