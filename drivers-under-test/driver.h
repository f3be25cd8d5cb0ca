/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * driver.h - the interface of an in-process virtio driver.
 *
 * A driver brings a device up over a struct vt_transport (status
 * sequence, feature negotiation under a stated policy, queue setup),
 * makes buffers available on split or packed virtqueues, collects used
 * buffers and resets the device.  The strict reference driver
 * (reference/) implements it and checks everything the device writes
 * back, reporting device violations (DEV-* clauses) to the verdict.
 *
 * The reference driver can break one rule on purpose (enum vt_drv_fault):
 * those are the driver mutants, and the same switches make it a hostile
 * driver for tests of devices under test.
 *
 * Buffers live in guest memory: callers allocate them with gmem_alloc()
 * and pass guest-physical addresses.  The driver's DMA layer turns them
 * into device addresses: directly (GPA), through the IOMMU model (IOVA),
 * or by bouncing through a pool of shared memory (secure guests, and any
 * buffer above the device's DMA address width).
 */
#ifndef VCTS_DRIVER_H
#define VCTS_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../harness/gmem.h"
#include "../harness/iommu.h"
#include "../harness/transport/transport.h"
#include "../harness/verdict.h"
#include "../harness/virtio.h"

/* Driver mutants: each breaks exactly one rule (clause in the comment). */
enum vt_drv_fault {
	VT_DRV_FAULT_NONE = 0,
	VT_DRV_FAULT_CLEAR_STATUS_BIT,        /* DRV-2.1.1 writes DRIVER with ACKNOWLEDGE cleared  */
	VT_DRV_FAULT_NO_RESET_AFTER_FAILED,   /* DRV-2.1.1 re-initialises after FAILED, no reset   */
	VT_DRV_FAULT_DRIVER_OK_EARLY,         /* DRV-3.1.1 sets DRIVER_OK without FEATURES_OK      */
	VT_DRV_FAULT_ACCEPT_UNOFFERED,        /* DRV-2.2.1 accepts a feature not offered           */
	VT_DRV_FAULT_NO_VERSION_1,            /* DRV-6.1   does not accept VERSION_1               */
	VT_DRV_FAULT_FEATURES_AFTER_OK,       /* DRV-3.1.1 writes features after FEATURES_OK       */
	VT_DRV_FAULT_NOTIFY_BEFORE_DRIVER_OK, /* DRV-3.1.1 notifies before DRIVER_OK               */
	VT_DRV_FAULT_CONFIG_WRITE_EARLY,      /* DRV-3.1.1 writes config during negotiation        */
	VT_DRV_FAULT_MISALIGNED_RING,         /* DRV-2.7.1 / DRV-2.8.11 ring part misaligned       */
	VT_DRV_FAULT_WRITABLE_FIRST,          /* DRV-2.7.4.2 / DRV-2.8.17 writable before readable */
	VT_DRV_FAULT_CHAIN_LOOP,              /* DRV-2.7.5.2 split chain loops back                */
	VT_DRV_FAULT_CHAIN_OVER_4G,           /* DRV-2.7.5.2 chain longer than 2^32 bytes          */
	VT_DRV_FAULT_CHAIN_TOO_LONG,          /* DRV-2.8.17 packed list longer than queue size     */
	VT_DRV_FAULT_INDIRECT_NOT_NEGOTIATED, /* DRV-2.7.5.3.1 / DRV-2.8.19 indirect w/o feature   */
	VT_DRV_FAULT_INDIRECT_NESTED,         /* DRV-2.7.5.3.1 / DRV-2.8.19 INDIRECT in a table    */
	VT_DRV_FAULT_INDIRECT_WITH_NEXT,      /* DRV-2.7.5.3.1 / DRV-2.8.19 INDIRECT and NEXT      */
	VT_DRV_FAULT_AVAIL_IDX_DECREMENT,     /* DRV-2.7.6.1 avail idx moves backwards             */
	VT_DRV_FAULT_AVAIL_FLAGS_EVENT_IDX,   /* DRV-2.7.7.1 avail->flags = 1 under EVENT_IDX      */
	VT_DRV_FAULT_USED_FLAGS_NOT_ZERO,     /* DRV-2.7.10.1 used->flags not 0 when allocated     */
	VT_DRV_FAULT_SKIP_NOTIFY,             /* DRV-2.7.10.1 no notification though required      */
	VT_DRV_FAULT_ALTER_EXPOSED,           /* DRV-3.3.1 / DRV-2.8.16 changes an exposed desc    */
	VT_DRV_FAULT_PACKED_HEAD_FIRST,       /* DRV-2.8.17 head made available before the rest    */
	VT_DRV_FAULT_NOTIFY_DATA_WRONG,       /* DRV-2.8.16 next_off/next_wrap not the next desc   */
	VT_DRV_FAULT_RESET_NOT_AWAITED,       /* DRV-2.4.2 re-inits before status reads 0          */
	VT_DRV_FAULT_CONFIG_NO_GENERATION,    /* DRV-2.5.1 64-bit field read without generation    */
	VT_DRV_FAULT_READ_UNOFFERED_CONFIG,   /* DRV-2.5.1 reads a field whose feature is absent   */
	VT_DRV_FAULT_QUEUE_RESET_UNVERIFIED,  /* DRV-2.6.1.1.2 reuses a queue without verifying    */
	VT_DRV_FAULT_REENABLE_UNCONFIGURED,   /* DRV-2.6.1.2.2 re-enables without programming it   */
	VT_DRV_FAULT_SKIP_BOUNCE_SECURE,      /* INV-unshared-access secure: data buffers not bounced  */
	VT_DRV_FAULT_RING_PRIVATE,            /* INV-unshared-access secure: queue 0 rings private     */
	VT_DRV_FAULT_ABOVE_WIDTH,             /* INV-dma-width a buffer GPA above the width, unbounced */
	VT_DRV_FAULT_REMAP_AFTER_DRIVER_OK,   /* INV-iommu-changed identity: remaps a page when live   */
	VT_DRV_FAULT_PROPOSAL_WITHOUT_AP,     /* PROP-ia-needs-ap IDENTITY_ADDRESS w/o ACCESS_PLATFORM */
	VT_DRV_FAULT_NT_WITH_AP,              /* PROP-nt-exclusive NO_TRANSLATION + ACCESS_PLATFORM    */
	VT_DRV_FAULT_GPA_FOR_IOVA,            /* INV-iommu-fault hands the GPA, not the IOVA (data)    */
	VT_DRV_FAULT_IDENTITY_INCOMPLETE,     /* PROP-ia-complete-map 1:1 map missing a page at DRIVER_OK */
	VT_DRV_FAULT_COUNT
};

enum vt_dma_mode {
	VT_DMA_DIRECT,      /* device address = GPA                                  */
	VT_DMA_IOMMU,       /* device address = IOVA mapped in the IOMMU model       */
	VT_DMA_BOUNCE,      /* copy through a shared bounce pool; address = its GPA   */
};

struct vt_driver_policy {
	/* Features the driver understands and accepts when offered. */
	uint64_t features;
	/* Secure (confidential) guest: memory is private unless shared; the
	 * driver shares its rings and bounces every buffer. */
	bool secure;
	/* Accept ACCESS_PLATFORM when offered (spec: SHOULD). */
	bool accept_access_platform;
	/* How data reaches the device when ACCESS_PLATFORM is negotiated:
	 * VT_DMA_IOMMU needs an iommu; otherwise the driver uses GPAs
	 * (bouncing as needed).  Without ACCESS_PLATFORM the driver passes
	 * physical addresses (DRV-6.1) and bounces only when secure. */
	enum vt_dma_mode dma;
	unsigned device_addr_width;    /* bounce buffers above it; 0 = 64     */
	uint64_t bounce_pool_size;     /* 0: 1 MiB when bouncing              */
	/* Ring layout choices. */
	uint16_t queue_size;           /* 0: the device maximum               */
	bool use_indirect;             /* put chains of >= 2 segments in an
					  indirect table when negotiated       */
	bool mixed_indirect;           /* direct descriptors followed by one
					  indirect descriptor (DEV-2.7.5.3.2)  */
	bool indirect_write_flag;      /* set WRITE on the descriptor that
					  points to an indirect table          */
	bool suppress_used_notify;     /* ask for no used notifications
					  (flags = 1 / used_event far ahead)   */
	bool prefill_before_driver_ok; /* make one buffer available before
					  DRIVER_OK (allowed: 3.1.1 step 7)    */
	bool rings_read_write;         /* map every ring part read/write behind an
					  IOMMU, as Linux's coherent allocations
					  are (default: the parts the device only
					  reads are read-only)                 */
	/* Device type the driver binds to (VIRTIO_ID_*): decides which
	 * configuration fields it reads (blk: capacity, blk_size) and what its
	 * own probe request looks like.  0: a generic driver that reads no
	 * configuration. */
	uint16_t device_id;
	enum vt_drv_fault fault;
	/* Secure guest and a device without ACCESS_PLATFORM (and without
	 * NO_TRANSLATION): refuse (FAILED, the default), bounce everything
	 * through shared memory (bounce-anyway), or proceed unaware (rings and
	 * buffers in private memory, physical addresses). */
	enum vt_secure_no_ap { VT_SECURE_NO_AP_REFUSE = 0, VT_SECURE_NO_AP_BOUNCE,
			       VT_SECURE_NO_AP_PROCEED } secure_no_ap;
	bool ignore_addr_width;       /* a 64-bit DMA mask whatever device_addr_width
					 says: never bounce for width, IOVAs below the
					 aperture only                                   */
	/* The proposed bits' numbers (never in the specification: a profile
	 * parameter).  -1 means unknown; so does any value <= 0, so a policy
	 * zeroed by a caller knows no proposal (bit 0 is a device-type bit and
	 * can never be one).  vt_pair_cfg_default() sets both to -1. */
	int identity_bit;             /* ACCESS_PLATFORM_IDENTITY_ADDRESS bit, -1: unknown */
	int no_translation_bit;       /* ACCESS_PLATFORM_NO_TRANSLATION bit, -1: unknown   */
	bool accept_proposal;         /* accept a known proposed bit when offered and its
					 rules allow                                      */
	bool identity_before_features_ok; /* complete the 1:1 map before FEATURES_OK
					     (else before DRIVER_OK)                    */
	bool identity_width_limited;  /* identity addresses respect device_addr_width
					 (bounce above it); else not                    */
};

struct vt_driver;

/* One data segment of a request, in guest-physical memory. */
struct vt_buf {
	uint64_t gpa;
	uint32_t len;
};

struct vt_driver_ops {
	const char *name;
	/* Full initialisation up to DRIVER_OK.  Returns 0 when live, 1 when
	 * the driver (or the device) refused and the device was left with
	 * FAILED set, -1 on a violation or transport error. */
	int  (*init)(struct vt_driver *drv);
	/* Make a request available on queue q: `nout` readable then `nin`
	 * writable segments.  `token` comes back from get_used.  Returns 0,
	 * 1 if the queue is full (collect used buffers first), -1 on error. */
	int  (*add)(struct vt_driver *drv, unsigned q, const struct vt_buf *out, unsigned nout,
		    const struct vt_buf *in, unsigned nin, void *token);
	/* Notify the device if the suppression rules ask for it. */
	void (*kick)(struct vt_driver *drv, unsigned q);
	/* Collect one used buffer: returns 1 with *token and *len set, 0 if
	 * none yet, -1 on a device violation. */
	int  (*get_used)(struct vt_driver *drv, unsigned q, void **token, uint32_t *len);
	/* Wait until at least one used buffer is ready or the deadline (ms)
	 * passes, polling the transport.  Returns 1 ready, 0 timeout, -1 on
	 * a violation. */
	int  (*wait_used)(struct vt_driver *drv, unsigned q, unsigned timeout_ms);
	/* Reset the device (status 0, wait for it to read 0) and check the
	 * device stays quiet afterwards. */
	int  (*reset)(struct vt_driver *drv);
	/* VIRTIO_F_RING_RESET: reset queue q and set it up again with a new
	 * size (0: same). */
	int  (*queue_reset)(struct vt_driver *drv, unsigned q, uint16_t new_size);
	void (*destroy)(struct vt_driver *drv);
};

struct vt_driver {
	const struct vt_driver_ops *ops;
	struct vt_driver_policy policy;
	struct vt_transport *t;
	struct gmem *gm;
	struct iommu *iommu;          /* may be NULL */
	struct vt_verdict *vd;
	uint64_t offered;             /* device features read             */
	uint64_t negotiated;          /* features written and accepted    */
	uint8_t status;               /* last status written              */
	bool packed;
	unsigned nqueues;
};

/* The strict reference driver. */
struct vt_driver *vt_ref_driver_create(const struct vt_driver_policy *p, struct vt_transport *t,
				       struct gmem *gm, struct iommu *iommu, struct vt_verdict *vd);

/* Statistics the DMA layer keeps (for invariants and benches). */
struct vt_dma_stats {
	uint64_t maps, bounces, bounce_bytes, iommu_maps;
};
void vt_ref_driver_dma_stats(struct vt_driver *drv, struct vt_dma_stats *out);

#endif
