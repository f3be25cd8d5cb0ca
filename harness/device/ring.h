/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring.h - what the device core (core.c) and its ring engines (split.c,
 * packed.c, with what they do alike in engine.c) share.  Private to
 * harness/device/.
 *
 * The core owns the device: status, features, configuration space, the
 * lock, the error state and the notifications.  An engine owns one ring
 * format: it fetches what the driver made available, checks it, hands
 * each well-formed chain to vt_serve(), returns it as used and decides
 * whether the driver wants a used buffer notification.  Everything runs
 * with the device lock held.
 */
#ifndef VCTS_DEVICE_RING_H
#define VCTS_DEVICE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"

/* A poll that still finds buffers nobody announced after this long
 * decides the driver missed a required notification (DRV-2.7.10.1).  The
 * grace covers a driver thread pre-empted between publishing avail idx
 * and notifying while the device runs on its own thread. */
#define VT_MISSED_NOTIFY_NS  (500ULL * 1000 * 1000)

/* A chain served but not yet returned as used (opts.complete_batch > 1),
 * with a fingerprint of what was fetched: at completion the engine reads
 * the descriptors again, and a difference means the driver altered an
 * exposed buffer of a live queue. */
struct vt_held {
	uint16_t id;             /* split: head index; packed: buffer id    */
	uint16_t ndesc;          /* packed: ring slots; split: table descs  */
	uint16_t slot;           /* packed: ring slot of the first desc     */
	bool     slot_wrap;      /* packed: driver wrap counter at slot     */
	uint32_t written;        /* used length                             */
	uint64_t in_len;         /* writable bytes of the chain             */
	uint64_t h_main;         /* descriptors in the ring / desc table    */
	uint64_t h_table;        /* the indirect table, if any              */
	uint64_t table_addr;
	uint32_t table_len;
};

struct vt_vq {
	unsigned index;
	/* What the driver programmed with queue_set. */
	bool     programmed;
	uint16_t cfg_size;
	uint64_t cfg_desc, cfg_driver, cfg_device;
	/* The layout in use since queue_enable. */
	bool     enabled;
	bool     packed;
	bool     broken;         /* a driver rule was broken: not processed */
	uint16_t num;
	uint64_t desc, driver, device;
	/* Virtqueue reset (VIRTIO_F_RING_RESET). */
	bool     was_reset;      /* reset at least once since device reset  */
	bool     in_reset;       /* reset complete, not re-enabled yet      */
	bool     reset_unverified;/* queue_reset_done not read since reset  */
	bool     needs_program;  /* queue_set not called since reset        */
	/* Split ring state. */
	uint16_t last_avail;     /* next avail ring entry to consume        */
	uint16_t used_idx;       /* next used ring entry to fill            */
	uint16_t avail_event;    /* value last published in avail_event     */
	bool     avail_event_set;
	bool     idx_jumped;     /* fault USED_IDX_JUMP applied             */
	/* Packed ring state. */
	uint16_t next_avail, next_used;
	bool     avail_wrap, used_wrap;
	/* Missed available buffer notification (split). */
	bool     suspect;
	uint64_t suspect_ns;
	/* Held chains. */
	struct vt_held *held;
	unsigned nheld;
};

struct vt_ring_engine;

/* The state the used-after-reset fault keeps of a queue it should have
 * forgotten. */
struct vt_ghost {
	bool armed;
	struct vt_vq vq;
	struct iommu *iommu;     /* translation in force when armed        */
	struct vt_held held;
	const struct vt_ring_engine *eng;
};

struct vt_cfg_track {
	bool open;               /* configuration accessed since the last
				    other register access                   */
	bool gen_in_window;      /* generation read since the last other
				    register access                         */
	bool pending_after;      /* a wide field was read in pieces: a
				    generation read must follow             */
	uint8_t  wide_mask[4];   /* bytes read of each wide field          */
	bool     wide_before[4]; /* generation read before its first byte  */
	bool     reported;       /* DRV-2.5.1 reported since reset         */
};

struct vt_device {
	pthread_mutex_t lock;
	struct vt_device_opts opts;
	const struct vt_device_type *type;
	struct gmem_dev *dma;
	struct iommu *platform_iommu; /* translation used once ACCESS_PLATFORM
					 is negotiated; none without it   */
	struct vt_verdict *vd;
	vt_irq_fn irq;
	void *irq_ctx;
	void *type_state;

	/* Device status.  `status` is what the device holds; reads may show
	 * `shown` instead (reset delay, fault STATUS_NOT_RESET). */
	uint8_t  status;
	uint8_t  shown;
	unsigned reset_reads_left;
	bool     show_stale;
	bool     read_zero;      /* driver read status 0 since reset        */
	bool     failed;         /* FAILED set since reset                  */
	bool     error_state;    /* DEVICE_NEEDS_RESET set                  */
	bool     error_pending;  /* enter the error state after this batch  */
	bool     init_judged;    /* an initialisation rule was reported     */
	bool     status_read_after_fok; /* status read since FEATURES_OK    */

	/* Feature negotiation. */
	uint64_t offered;
	uint64_t acked;
	uint64_t negotiated;
	bool     features_written;
	bool     features_ok_written;
	bool     features_refused;

	/* Configuration space. */
	uint8_t *config;
	uint32_t generation;
	struct vt_cfg_track cfg;

	/* Queues. */
	unsigned nq;
	struct vt_vq *vq;
	uint16_t qmax;

	/* Counters. */
	uint64_t requests;       /* chains served, ever                     */
	uint64_t served;         /* chains served since reset               */

	/* Scratch, sized for the largest queue (used with the lock held). */
	struct vt_chain chain;
	uint16_t *heads;
	uint8_t *table;          /* one indirect table                      */
	uint8_t *mark;           /* one byte per descriptor index / id      */

	struct vt_ghost ghost;
};

/* One ring format. */
struct vt_ring_engine {
	/* queue_enable: check the areas, start from the initial state.
	 * Returns 0, or -1 after recording a violation. */
	int  (*enable)(struct vt_device *dev, struct vt_vq *vq);
	/* Fetch, serve and return what the driver made available. */
	void (*process)(struct vt_device *dev, struct vt_vq *vq);
	/* No notification: return held chains; split looks for buffers
	 * made available without the notification the driver owed. */
	void (*poll)(struct vt_device *dev, struct vt_vq *vq);
	/* Check the notification data the driver sent (NOTIFICATION_DATA). */
	void (*notify_data)(struct vt_device *dev, struct vt_vq *vq, uint32_t data);
	/* Return one held chain of a queue that was reset (fault). */
	void (*ghost)(struct vt_device *dev, struct vt_vq *vq);
};

extern const struct vt_ring_engine vt_split_engine;
extern const struct vt_ring_engine vt_packed_engine;

/* ---- core services for the engines (core.c) ---- */

static inline bool vt_has(const struct vt_device *dev, unsigned bit)
{
	return (dev->negotiated >> bit) & 1;
}

/* May queue vq be processed now (live, enabled, not broken, no error)? */
bool vt_vq_live(const struct vt_device *dev, const struct vt_vq *vq);

/* Record a driver violation of a MUST rule; the queue (if any) is marked
 * broken so that one broken rule is not buried under its consequences.
 * Returns -1. */
int vt_drv_violation(struct vt_device *dev, struct vt_vq *vq, const char *rule,
		     const char *expected, const char *got, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The device cannot go on: DEVICE_NEEDS_RESET, and a configuration
 * change notification when DRIVER_OK is set. */
void vt_enter_error(struct vt_device *dev);

/* Send a notification to the driver (vector: queue or VT_IRQ_CONFIG). */
void vt_irq(struct vt_device *dev, int vector);

/* Results of fetching a chain. */
enum vt_fetch {
	VT_FETCH_OK = 0,
	VT_FETCH_BROKEN = -1,    /* the driver broke a rule (recorded)      */
	VT_FETCH_ERROR = 1,      /* the device enters its error state       */
};

/* Pre-check every buffer of a chain through the accessor (translation,
 * width, sharing), blaming the driver.  Returns VT_FETCH_*. */
int vt_check_buffers(struct vt_device *dev, struct vt_vq *vq, const struct vt_chain *c);

/* Hand a fetched chain to the device type.  Returns VT_FETCH_OK with
 * *written set (complete it), or VT_FETCH_ERROR (do not complete it). */
int vt_serve(struct vt_device *dev, struct vt_vq *vq, const struct vt_chain *c,
	     uint32_t *written);

/* Used length to report for a chain, after the USED_LEN_TOO_LARGE fault. */
static inline uint32_t vt_used_len(const struct vt_device *dev, uint32_t written, uint64_t in_len)
{
	if (dev->opts.fault == VT_DEV_FAULT_USED_LEN_TOO_LARGE)
		return (uint32_t)(in_len + 1);
	return written;
}

/* Fault NO_USED_NOTIFY: no used buffer notification ever (DEV-2.7.7.2). */
static inline bool vt_no_used_notify(const struct vt_device *dev)
{
	return dev->opts.fault == VT_DEV_FAULT_NO_USED_NOTIFY;
}

uint64_t vt_now_ns(void);

/* ---- chain building, shared by both engines ---- */

enum vt_push {
	VT_PUSH_OK,
	VT_PUSH_ORDER,           /* readable element after a writable one  */
};

/* Progress of one chain walk. */
struct vt_walk {
	unsigned total;          /* buffer elements seen                    */
	bool saw_write;          /* a device-writable element was seen      */
	bool full;               /* more elements than VT_MAX_SEGS          */
};

static inline void vt_chain_start(struct vt_chain *c, struct vt_walk *w, uint16_t head)
{
	c->head = head;
	c->ndesc = 0;
	c->nseg = 0;
	c->nout = 0;
	c->out_len = 0;
	c->in_len = 0;
	w->total = 0;
	w->saw_write = false;
	w->full = false;
}

/* Append one buffer element: readable ones first.  Counting continues
 * past VT_MAX_SEGS so the structural checks still see the whole chain. */
static inline enum vt_push vt_chain_push(struct vt_chain *c, struct vt_walk *w, uint64_t addr,
					 uint32_t len, bool write)
{
	if (!write && w->saw_write)
		return VT_PUSH_ORDER;
	if (write) {
		w->saw_write = true;
		c->in_len += len;
	} else {
		c->out_len += len;
	}
	w->total++;
	if (c->nseg >= VT_MAX_SEGS) {
		w->full = true;
		return VT_PUSH_OK;
	}
	struct vt_seg *s = &c->seg[c->nseg++];
	s->addr = addr;
	s->len = len;
	s->write = write;
	if (!write)
		c->nout++;
	return VT_PUSH_OK;
}

/* Fingerprint of fetched descriptors (not cryptographic: it only has to
 * notice that the driver rewrote one). */
static inline uint64_t vt_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 31);
}

static inline uint64_t vt_hash_desc(uint64_t h, const uint8_t raw[16])
{
	uint64_t a, b;
	__builtin_memcpy(&a, raw, 8);
	__builtin_memcpy(&b, raw + 8, 8);
	return vt_mix(vt_mix(h, a), b);
}

static inline uint64_t vt_hash_bytes(uint64_t h, const uint8_t *p, uint64_t len)
{
	uint64_t i = 0;
	for (; i + 16 <= len; i += 16)
		h = vt_hash_desc(h, p + i);
	for (; i < len; i++)
		h = vt_mix(h, p[i]);
	return h;
}

#define VT_HASH_SEED 0xcbf29ce484222325ULL

/* Little-endian field access in raw descriptor bytes. */
static inline uint16_t vt_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vt_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vt_rd64(const uint8_t *p)
{
	return (uint64_t)vt_rd32(p) | (uint64_t)vt_rd32(p + 4) << 32;
}

static inline void vt_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}


/* ---- what both engines do alike (engine.c) ---- */

/* A ring access the accessor refused (the violation is already
 * recorded): the queue is not processed further.  Returns -1. */
static inline int vt_ring_fault(struct vt_vq *vq)
{
	vq->broken = true;
	return -1;
}

/* Pre-check and serve a chain whose fetch returned r (VT_FETCH_*); on
 * VT_FETCH_ERROR the device enters its error state after this batch.
 * Returns 0 with *written set (complete it), or -1. */
static inline int vt_serve_fetched(struct vt_device *dev, struct vt_vq *vq, int r,
				   const struct vt_chain *c, uint32_t *written)
{
	if (r == VT_FETCH_OK)
		r = vt_check_buffers(dev, vq, c);
	if (r == VT_FETCH_OK)
		r = vt_serve(dev, vq, c, written);
	if (r == VT_FETCH_ERROR)
		dev->error_pending = true;
	return r ? -1 : 0;
}

/* In messages a layout names a chain `what at`: "chain from head 3",
 * "list at slot 5". */

/* More buffer elements than the device handles (VT_MAX_SEGS): advice
 * under `rule`, and the device goes into its error state rather than
 * truncate the chain.  Returns VT_FETCH_ERROR. */
int vt_too_many_segs(struct vt_device *dev, struct vt_vq *vq, const char *rule,
		     const char *what, unsigned at, unsigned n);

/* The chain uses INDIRECT: a violation of `rule` unless
 * VIRTIO_F_INDIRECT_DESC was negotiated.  Returns VT_FETCH_OK or -1. */
int vt_indirect_allowed(struct vt_device *dev, struct vt_vq *vq, const char *rule,
			const char *what, unsigned at);

/* Check an indirect table's length (a non-zero multiple of 16, at most
 * 16 x queue size: `rule`) and that the device may read it, then read it
 * into dev->table.  Returns VT_FETCH_OK or -1 (recorded). */
int vt_read_table(struct vt_device *dev, struct vt_vq *vq, const char *rule, const char *what,
		  unsigned at, uint64_t addr, uint32_t len);

/* Remember the indirect table just walked in a held chain (if any). */
static inline void vt_hold_table(const struct vt_device *dev, struct vt_held *h, uint64_t addr,
				 uint32_t len)
{
	if (h) {
		h->table_addr = addr;
		h->table_len = len;
		h->h_table = vt_hash_bytes(VT_HASH_SEED, dev->table, len);
	}
}

/* What a ring layout supplies for held chains (opts.complete_batch > 1). */
struct vt_layout {
	/* Fingerprint a held chain's descriptors in the ring or descriptor
	 * table again, into *hm.  Returns 1, 0 if the chain plainly changed
	 * shape, -1 if the accessor refused. */
	int (*rehash)(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
		      uint64_t *hm);
	/* Record that the driver altered held chain h while it was exposed.
	 * Returns -1. */
	int (*altered)(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h);
	/* Return held chain h as used, with used length len.  Returns 0 or -1. */
	int (*put_used)(struct vt_device *dev, struct vt_vq *vq, const struct vt_held *h,
			uint32_t len);
};

/* Keep a served chain until complete_batch are held, then return them all
 * (vt_flush_held).  Returns 0 or -1. */
int vt_hold(struct vt_device *dev, struct vt_vq *vq, const struct vt_layout *l,
	    struct vt_held *h, uint32_t written, uint64_t in_len);

/* Return every held chain: first check the driver left all of them alone
 * while exposed, then write their used entries.  Returns 0 or -1. */
int vt_flush_held(struct vt_device *dev, struct vt_vq *vq, const struct vt_layout *l);

/* Marks in `mark` every id the driver made available that the device has
 * not fetched yet. */
typedef void vt_mark_avail_fn(struct vt_device *dev, struct vt_vq *vq, uint8_t *mark);

/* Fault USED_ID_NOT_HEAD: an id that is neither `id`, nor held, nor made
 * available and not fetched yet (vq->num if there is none). */
uint32_t vt_pick_not_outstanding(struct vt_device *dev, struct vt_vq *vq, uint16_t id,
				 vt_mark_avail_fn *mark_avail);

/* The id a used entry reports for chain `id`, after the faults
 * USED_ID_RANGE and USED_ID_NOT_HEAD (DEV-2.7.8.2). */
static inline uint32_t vt_used_id(struct vt_device *dev, struct vt_vq *vq, uint16_t id,
				  vt_mark_avail_fn *mark_avail)
{
	switch (dev->opts.fault) {
	case VT_DEV_FAULT_USED_ID_RANGE:
		return vq->num;
	case VT_DEV_FAULT_USED_ID_NOT_HEAD:
		return vt_pick_not_outstanding(dev, vq, id, mark_avail);
	default:
		return id;
	}
}

/* Whether to consult the driver's used buffer notification suppression
 * at all: never under fault NO_USED_NOTIFY (DEV-2.7.7.2), otherwise only
 * after a full barrier, so that it is read after the used entries were
 * published. */
static inline bool vt_may_notify(const struct vt_device *dev)
{
	if (vt_no_used_notify(dev))
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

#endif
