/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * device.h - the checking device: a virtio device model that judges the
 * driver talking to it.
 *
 * The core (core.c) owns the device status state machine, feature
 * negotiation and the configuration space, and checks every step the
 * driver takes against the driver clauses (DRV-*).  The ring engines
 * (split.c, packed.c) fetch what the driver made available, validate it
 * (chain loops and length, descriptor flags, indirect rules, index
 * movement, event suppression) and hand each well-formed chain to the
 * device type (blk.c, echo.c), then return it as used and notify as the
 * suppression rules require.  Every guest-memory access goes through the
 * struct gmem_dev accessor.
 *
 * A device can be made to break one rule on purpose (enum vt_dev_fault):
 * those are the device mutants, and the same switches make it a
 * malicious device for driver-hardening tests.
 *
 * Threading: register operations (vt_device_* below) may be called from
 * the driver's thread while the rings are processed on another thread;
 * the core serialises them with its own lock.
 */
#ifndef VCTS_DEVICE_H
#define VCTS_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "../gmem.h"
#include "../verdict.h"
#include "../virtio.h"

/* Device mutants: each breaks exactly one rule (clause in the comment). */
enum vt_dev_fault {
	VT_DEV_FAULT_NONE = 0,
	VT_DEV_FAULT_STATUS_NOT_RESET,        /* DEV-2.4.1  status reads non-zero after reset      */
	VT_DEV_FAULT_USE_AFTER_RESET,         /* DEV-2.4.1  completes a buffer after reset         */
	VT_DEV_FAULT_CONSUME_BEFORE_DRIVER_OK,/* DEV-2.1.2  uses buffers before DRIVER_OK          */
	VT_DEV_FAULT_NEEDS_RESET_NO_NOTIFY,   /* DEV-2.1.2  NEEDS_RESET without config notify      */
	VT_DEV_FAULT_ACCEPT_UNOFFERED,        /* DEV-2.2.2  FEATURES_OK kept with an unoffered bit */
	VT_DEV_FAULT_OFFER_RESERVED,          /* DEV-2.2.2  offers reserved feature bit 44         */
	VT_DEV_FAULT_NO_VERSION_1,            /* DEV-6.2    does not offer VERSION_1               */
	VT_DEV_FAULT_CONFIG_BEFORE_FEATURES_OK,/* DEV-2.5.2 config reads 0 before FEATURES_OK      */
	VT_DEV_FAULT_WRITE_READABLE,          /* DEV-2.7.5.1 / DEV-2.8.15 writes a readable buffer */
	VT_DEV_FAULT_WRITE_DESC,              /* DEV-2.7.5.1 writes the descriptor table (split)   */
	VT_DEV_FAULT_USED_ID_RANGE,           /* DEV-2.7.8.2 used id >= queue size (split)         */
	VT_DEV_FAULT_USED_ID_NOT_HEAD,        /* DEV-2.7.8.2 / DEV-2.8.15 id not outstanding       */
	VT_DEV_FAULT_USED_LEN_TOO_LARGE,      /* DEV-2.7.8.2 / DEV-2.8.15 len > writable bytes     */
	VT_DEV_FAULT_USED_IDX_JUMP,           /* DEV-2.7.8.2 used idx moves past written entries   */
	VT_DEV_FAULT_NO_USED_NOTIFY,          /* DEV-2.7.7.2 no notification though flags == 0     */
	VT_DEV_FAULT_EVENT_IDX_OFF_BY_ONE,    /* DEV-2.7.7.2 misses the used_event notification    */
	VT_DEV_FAULT_BAD_AVAIL_SUPPRESS,      /* DEV-2.7.10.2 used->flags = 1 under EVENT_IDX      */
	VT_DEV_FAULT_INDIRECT_WRITE_FLAG,     /* DEV-2.7.5.3.2 honours WRITE on an indirect desc   */
	VT_DEV_FAULT_NO_MIXED_INDIRECT,       /* DEV-2.7.5.3.2 rejects direct + indirect chains    */
	VT_DEV_FAULT_PACKED_WRONG_WRAP,       /* DEV-2.8.12 used desc written with wrong wrap bits */
	VT_DEV_FAULT_PACKED_USED_SLOT,        /* DEV-2.8.12 used desc not at the next used slot    */
	VT_DEV_FAULT_PACKED_SG_ORDER,         /* DEV-2.8.18 fills a list's buffers out of order    */
	VT_DEV_FAULT_QUEUE_RESET_KEEPS_STATE, /* DEV-2.6.1.1.1 queue reset keeps avail/used state  */
	VT_DEV_FAULT_REENABLE_OLD_SIZE,       /* DEV-2.6.1.2.1 re-enable ignores the new size      */
	VT_DEV_FAULT_ASSUME_FRAMING,          /* DEV-2.7.4.1 echo reads only the first readable desc */
	VT_DEV_FAULT_READ_PRIVATE,            /* INV-unshared-access reads a private page per chain  */
	VT_DEV_FAULT_IGNORE_IOMMU,            /* INV-iommu-bypass data addresses used as GPAs         */
	VT_DEV_FAULT_UNMAPPED_IOVA,           /* INV-iommu-fault reads an unmapped page past a buffer */
	VT_DEV_FAULT_ACCEPT_WITHOUT_AP,       /* POL-cc-device-refuses keeps FEATURES_OK without the
						 ACCESS_PLATFORM it requires                        */
	VT_DEV_FAULT_WRITE_READONLY,          /* INV-iommu-fault writes the driver area (read-only)   */
	VT_DEV_FAULT_COUNT
};

/* One segment of a chain, in device addresses. */
struct vt_seg {
	uint64_t addr;
	uint32_t len;
	bool write;             /* device-writable */
};

#define VT_MAX_SEGS 256

/* A well-formed chain fetched from a ring, as handed to the device type. */
struct vt_chain {
	uint16_t head;          /* split: head index; packed: buffer id      */
	uint16_t ndesc;         /* ring slots the chain occupies (packed skip) */
	uint16_t nseg;
	uint16_t nout;          /* readable segments come first ...          */
	uint64_t out_len;       /* total readable bytes                      */
	uint64_t in_len;        /* total writable bytes                      */
	struct vt_seg seg[VT_MAX_SEGS];
};

struct vt_device;

/* A configuration field wider than 32 bits: the driver reads it in pieces
 * and must bracket the pieces with generation reads (DRV-2.5.1). */
struct vt_config_field {
	uint16_t off;
	uint16_t width;
};

struct vt_device_type {
	const char *name;             /* "blk", "echo"                        */
	uint16_t device_id;           /* VIRTIO_ID_*                          */
	unsigned num_queues;
	uint64_t features;            /* device-type bits offered (0..23 ...) */
	unsigned config_size;
	/* Allocate type state and fill the configuration space. */
	int  (*init)(struct vt_device *dev);
	void (*fini)(struct vt_device *dev);
	/* Serve one chain from queue q.  Sets *written to the bytes written
	 * into the writable part.  Returns 0, or -1 if the device must enter
	 * its error state (DEVICE_NEEDS_RESET). */
	int  (*handle)(struct vt_device *dev, unsigned q, const struct vt_chain *c, uint32_t *written);
	/* Configuration space bytes offset..offset+width that exist only if
	 * feature `bit` is offered; returns that bit, or -1 for fields
	 * always present.  May be NULL. */
	int  (*config_field_feature)(unsigned offset, unsigned width);
	/* Fields wider than 32 bits (at most 4); may be NULL. */
	const struct vt_config_field *wide;
	unsigned nwide;
};

extern const struct vt_device_type vt_device_blk;
extern const struct vt_device_type vt_device_echo;
extern const struct vt_device_type vt_device_net;   /* net.c: rx 0, tx 1, mac */

struct vt_device_opts {
	const struct vt_device_type *type;
	/* Device-independent features offered, e.g. VERSION_1 | INDIRECT_DESC
	 * | EVENT_IDX | RING_PACKED | ACCESS_PLATFORM | NOTIFICATION_DATA |
	 * RING_RESET.  The type's own bits are added. */
	uint64_t offer;
	/* Bits the device will refuse (clear FEATURES_OK) if accepted, and
	 * bits it requires (refuse if not accepted): the device's policy. */
	uint64_t refuse_if_acked;
	uint64_t require_acked;
	uint16_t queue_size_max;      /* 0: 256 */
	unsigned reset_delay_reads;   /* status reads that still show the old
					 value after a reset: checks the
					 driver waits for 0 (DRV-2.4.2)      */
	unsigned complete_batch;      /* hold up to this many chains before
					 returning them used (0/1: at once);
					 held chains complete on poll       */
	unsigned error_after;         /* enter the error state (NEEDS_RESET)
					 after this many requests; 0: never  */
	enum vt_dev_fault fault;
	/* Feature combinations the device refuses (clears FEATURES_OK):
	 * refused when (acked & mask) == match; the driver that asked broke
	 * `rule` (recorded as a driver violation).  A NULL rule is the
	 * device's own policy: refused, nothing recorded.  A mask of 0 never
	 * matches. */
	struct vt_feature_conflict {
		uint64_t mask, match;
		const char *rule;
	} conflict[2];
	unsigned nconflict;
	/* ACCESS_PLATFORM_IDENTITY_ADDRESS (a proposal: its bit is a
	 * parameter).  When negotiated and the device sits behind a platform
	 * IOMMU, the device checks the 1:1 map is complete at the checkpoint
	 * (else PROP-ia-complete-map, the driver's), locks the map at
	 * DRIVER_OK and unlocks it at reset (a change in between is
	 * INV-iommu-changed). */
	int identity_bit;                 /* <= 0: none                               */
	bool identity_check_features_ok;  /* the 1:1 map must be complete at
					     FEATURES_OK (else at DRIVER_OK)          */
};

struct vt_device *vt_device_create(const struct vt_device_opts *o, struct gmem_dev *dma,
				   struct vt_verdict *vd);
void vt_device_destroy(struct vt_device *dev);

/* Where the device sends its notifications (set by the transport). */
typedef void (*vt_irq_fn)(void *ctx, int vector);   /* vector: queue or -1 config */
void vt_device_set_irq(struct vt_device *dev, vt_irq_fn fn, void *ctx);
#define VT_IRQ_CONFIG (-1)

/* Register operations, called by transports (same meaning as the
 * struct vt_transport_ops members of the same name). */
uint8_t  vt_device_get_status(struct vt_device *dev);
void     vt_device_set_status(struct vt_device *dev, uint8_t status);
uint32_t vt_device_get_features(struct vt_device *dev, unsigned sel);
void     vt_device_set_features(struct vt_device *dev, unsigned sel, uint32_t val);
uint32_t vt_device_config_generation(struct vt_device *dev);
uint32_t vt_device_config_read(struct vt_device *dev, unsigned off, unsigned width);
void     vt_device_config_write(struct vt_device *dev, unsigned off, unsigned width, uint32_t val);
unsigned vt_device_num_queues(struct vt_device *dev);
uint16_t vt_device_queue_size_max(struct vt_device *dev, unsigned q);
void     vt_device_queue_set(struct vt_device *dev, unsigned q, uint16_t size,
			     uint64_t desc, uint64_t driver, uint64_t device);
void     vt_device_queue_enable(struct vt_device *dev, unsigned q);
bool     vt_device_queue_enabled(struct vt_device *dev, unsigned q);
void     vt_device_queue_reset(struct vt_device *dev, unsigned q);
bool     vt_device_queue_reset_done(struct vt_device *dev, unsigned q);
/* Where the device stands in the available side of queue q: the next
 * entry it will consume (split: avail ring index; packed: ring slot) and,
 * for a packed ring, the driver wrap counter it expects there.  A
 * vhost-user backend answers GET_VRING_BASE with it.  Returns false for
 * a queue that does not exist or is not enabled. */
bool     vt_device_queue_avail_state(struct vt_device *dev, unsigned q, uint16_t *next,
				     bool *wrap);
/* An available buffer notification: process queue q now. */
void     vt_device_notify(struct vt_device *dev, unsigned q, uint32_t data);
/* The same notification in two halves, for a transport that processes
 * queues on a device thread: vt_device_notify_check() runs, in the
 * driver's context, the checks that belong to the moment the driver
 * notifies (DRIVER_OK set, notification data); vt_device_process() then
 * processes queue q as after a notification.  vt_device_notify() is both. */
void     vt_device_notify_check(struct vt_device *dev, unsigned q, uint32_t data);
void     vt_device_process(struct vt_device *dev, unsigned q);
/* Deferred work and idle checks (no new notification). */
void     vt_device_poll(struct vt_device *dev);

/* For device types: configuration bytes, type state, chain I/O through
 * the accessor (offsets count from the start of the readable part for
 * read, of the writable part for write).  Return 0 or -1 (violation
 * recorded by the accessor). */
uint8_t *vt_device_config(struct vt_device *dev);
void   **vt_device_type_state(struct vt_device *dev);
int vt_chain_read(struct vt_device *dev, const struct vt_chain *c, uint64_t off, void *buf, uint64_t len);
int vt_chain_write(struct vt_device *dev, const struct vt_chain *c, uint64_t off, const void *buf, uint64_t len);
enum vt_dev_fault vt_device_fault(const struct vt_device *dev);
/* Where a device type reports a rule the driver broke in a request. */
struct vt_verdict *vt_device_verdict(struct vt_device *dev);

/* Introspection for tests. */
uint64_t vt_device_negotiated(const struct vt_device *dev);
uint64_t vt_device_requests(const struct vt_device *dev);  /* chains served */

#endif
