/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pair.h - one driver, one device, the guest memory between them.
 *
 * A pair is the unit every in-process test runs: guest memory (secure or
 * not, optionally with RAM above 4 GiB / near 2^39 / 2^48), an optional
 * IOMMU model, the checking device behind the in-process transport (on
 * its own thread or not) and the reference driver, all reporting into one
 * verdict.  The workload makes requests available, waits for them, and
 * checks what comes back: echo payloads and block read-back must match
 * byte for byte (INV-data-integrity).
 */
#ifndef VCTS_PAIR_H
#define VCTS_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/device.h"
#include "gmem.h"
#include "iommu.h"
#include "transport/transport.h"
#include "verdict.h"
#include "../drivers-under-test/driver.h"

/* The shared-by-construction region (cfg.shared_region). */
#define VT_PAIR_SHARED_GPA   (1ULL << 30)
#define VT_PAIR_SHARED_SIZE  (4ULL << 20)

struct vt_pair;

struct vt_pair_cfg {
	const struct vt_device_type *type;  /* &vt_device_echo (default) or &vt_device_blk */
	struct vt_device_opts dev;          /* offer, faults, batching ... (type set here) */
	struct vt_driver_policy drv;        /* features, secure, dma, faults ...          */
	bool secure;                        /* secure guest (copied into drv.secure)       */
	unsigned iommu_aw;                  /* 0: no IOMMU model; else its aperture bits   */
	unsigned dev_width;                 /* device DMA address width; 0: 64             */
	bool high_mem;                      /* also RAM at 4 GiB, near 2^39 and 2^48       */
	bool shared_region;                 /* a region shared by construction (4 MiB at
					       1 GiB): a secure guest keeps its rings
					       and bounce pool there, the only memory
					       an external backend is given          */
	int buf_region;                     /* region of the data buffers (-1: last)       */
	bool above_48;                      /* with high_mem: one more RAM region at 2^48  */
	bool buf_spread;                    /* slot i's buffers in the i-th RAM region (mod
					       their number; regions shared by
					       construction are not data memory), and at
					       least one slot per such region; overrides
					       buf_region                                  */
	bool iommu_identity;                /* the platform IOMMU (aw iommu_aw, 0: 64) is in
					       pass-through: mapped 1:1 over all RAM at
					       creation; the driver then hands GPAs
					       (policy dma DIRECT unless BOUNCE)           */
	bool threaded;                      /* device on its own thread                    */
	bool checks_off;                    /* accessor invariant checks off (bench only)  */
	unsigned nreq;                      /* requests to run (0: 64)                     */
	unsigned buf_size;                  /* payload bytes per request (0: 64)           */
	unsigned nseg_out, nseg_in;         /* payload segments each way (0: 1)            */
	unsigned depth;                     /* requests in flight (0: 1)                   */
	unsigned timeout_ms;                /* per wait (0: 2000)                          */
	/* A device elsewhere (QEMU over qtest, a vhost-user backend): when set,
	 * no checking device is built; open_target connects to the device over
	 * the pair's guest memory and returns its transport.  device_id names
	 * the device type for the driver and the workload (0: type's id). */
	struct vt_transport *(*open_target)(struct vt_pair *p, char *err, size_t errlen);
	const void *target;
	uint16_t device_id;
	unsigned ram_mb;                    /* low RAM (0: 16 MiB)                         */
};

/* Defaults: echo device offering VERSION_1, INDIRECT_DESC, EVENT_IDX,
 * RING_PACKED, NOTIFICATION_DATA, RING_RESET; a driver accepting
 * VERSION_1 only (callers add what the cell needs); 64 requests of 64 B. */
void vt_pair_cfg_default(struct vt_pair_cfg *c);

/* One request in flight: its buffers in guest memory. */
struct vt_pair_slot {
	uint64_t out_gpa;      /* payload the device reads            */
	uint64_t in_gpa;       /* payload the device writes           */
	uint64_t hdr_gpa;      /* blk: request header                 */
	uint64_t status_gpa;   /* blk: status byte                    */
	uint64_t req;          /* request number in this slot         */
	bool busy;
};

struct vt_workload;

struct vt_pair {
	struct vt_pair_cfg cfg;
	struct vt_verdict *vd;
	struct gmem *gm;
	struct iommu *io;
	struct gmem_dev dma;
	struct vt_device *dev;
	struct vt_transport *t;
	struct vt_driver *drv;
	const struct vt_workload *wl;
	/* workload: one slot per request in flight */
	struct vt_pair_slot *slots;
	unsigned nslots;
	uint64_t blk_sectors;              /* sectors the blk workload uses   */
	uint8_t *tmpl;                     /* payload of request 0             */
	uint8_t *scratch;                  /* expected bytes of a read-back    */
	uint64_t requests_done;
};

/* Build everything.  Returns 0, or -1 with a reason in errbuf (broken). */
int  vt_pair_open(struct vt_pair *p, const struct vt_pair_cfg *c, struct vt_verdict *vd,
		  char *errbuf, size_t errlen);
/* Driver init; returns what the driver's init returns (0 live, 1 refused, -1). */
int  vt_pair_init(struct vt_pair *p);
/* Run `n` requests (0: cfg.nreq).  Returns 0 when all completed and
 * verified, -1 when a rule was broken or the device stopped answering
 * (recorded in p->vd). */
int  vt_pair_io(struct vt_pair *p, unsigned n);
/* Tear everything down (a caller that wants the reset judged calls the
 * driver's reset first). */
void vt_pair_close(struct vt_pair *p);

#endif
