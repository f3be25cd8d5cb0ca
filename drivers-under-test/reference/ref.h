/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ref.h - private interface of the strict reference driver.
 *
 * driver.c owns the device status sequence, feature negotiation, the
 * configuration space, device and queue reset and the vt_driver_ops
 * table; split.c and packed.c own what differs between the two virtqueue
 * formats and vq.c what they share (request planning, indirect tables,
 * segment records and their fingerprints, per-request bookkeeping); dma.c
 * turns guest-physical buffers into device addresses (direct, IOMMU,
 * bounce) and allocates the driver memory the device reads (rings,
 * indirect tables).
 */
#ifndef VCTS_REF_H
#define VCTS_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "../driver.h"

#define REF_NONE            0xffffu
#define REF_IND_MAX         32u      /* descriptors in one indirect table      */
#define REF_IND_TABLES      128u     /* indirect tables per queue (at most)    */
#define REF_BOUNCE_GRANULE  64u      /* bounce pool allocation unit            */
#define REF_IOVA_WINDOW     65536u   /* IOVA pages the driver hands out        */
#define REF_GRACE_NS        200000000ull  /* late notification allowance       */
#define REF_RESET_MS        2000u    /* deadline for status / queue_reset      */

/* Where a segment went for the device. */
struct ref_map {
	uint64_t gpa;           /* the caller's buffer                          */
	uint64_t view;          /* GPA the device actually reaches (bounce slot) */
	uint64_t dev;           /* device address written in the descriptor     */
	uint32_t len;
	uint32_t gran;          /* first bounce granule, or UINT32_MAX          */
	uint32_t ngran;
	uint32_t iova_page;     /* first IOVA window page, or UINT32_MAX        */
	uint32_t npages;
	uint8_t  write;         /* device-writable                              */
};

/* One segment of an outstanding request, with its fingerprint. */
struct ref_seg {
	struct ref_map m;
	uint64_t hash;          /* readable segments: bytes seen at add time    */
	uint8_t  check;         /* compare the fingerprint when used            */
};

/* Driver memory the device reads or writes as a whole (rings, tables). */
struct ref_coh {
	uint64_t gpa;           /* page aligned                                 */
	uint64_t cap;           /* bytes allocated (page multiple)              */
	uint64_t dev;           /* device address of gpa                        */
	uint32_t iova_page;     /* UINT32_MAX when not mapped in the IOMMU      */
	uint32_t npages;
	uint8_t *drv;           /* driver view                                  */
	uint8_t  private_mem;   /* fault RING_PRIVATE: low memory, not shared    */
};

/* Byte range of a block the device writes: mapped read/write in the
 * IOMMU, the rest of the block with the block's own permission. */
struct ref_rw {
	uint64_t off, end;
};

/* Request layout inside a ring. */
enum ref_layout {
	REF_DIRECT,
	REF_INDIRECT,           /* one descriptor pointing to a table           */
	REF_MIXED,              /* a direct descriptor then an indirect one     */
	REF_IND_NEXT,           /* INDIRECT|NEXT then a direct one (fault)      */
};

struct ref_req {
	void *token;
	uint64_t in_bytes;      /* device-writable bytes of the request         */
	uint16_t nseg;
	uint16_t ndesc;         /* ring descriptors the request occupies        */
	uint16_t last;          /* split: last descriptor of the chain          */
	uint16_t first;         /* packed: first ring slot of the list          */
	uint16_t table;         /* indirect table, or REF_NONE                  */
	uint16_t tn;            /* entries written in it                        */
	uint16_t table2;        /* nested table (fault), or REF_NONE            */
	uint16_t seg;           /* first segment record (see ref_vq.seg)        */
	uint8_t  busy;
	uint8_t  layout;        /* enum ref_layout                              */
	uint8_t  ind_wflag;     /* WRITE set on the indirect descriptor         */
	uint8_t  exposed;       /* made available to the device                 */
};

/* A request being made available: the caller's buffers, how it is laid
 * out in the ring, the driver fault it carries and what it holds. */
struct ref_plan {
	const struct vt_buf *out, *in;
	unsigned nout, nin, n;  /* n: segments                                  */
	enum ref_layout layout;
	unsigned ndesc;         /* ring descriptors                             */
	uint16_t t, t2;         /* indirect table, nested table (fault)         */
	uint16_t rec;           /* split: descriptor of the next direct segment */
	uint16_t first;         /* first segment record, once mapped            */
	uint64_t in_bytes;      /* device-writable bytes                        */
	bool wfirst;            /* writable segments first (fault)              */
	bool nested;            /* INDIRECT inside the table (fault)            */
	bool loop;              /* split: last NEXT points back (fault)         */
	bool over4g;            /* split: lengths summing above 2^32 (fault)    */
	bool head_first;        /* packed: head made available first (fault)   */
	bool too_long;          /* packed: a list longer than the queue (fault) */
	bool fault;             /* this request carries the driver fault        */
};

struct ref_split {
	uint8_t  *desc;         /* driver views */
	uint8_t  *avail;
	uint8_t  *used;
	struct virtq_desc *shadow;   /* what the driver wrote, per descriptor */
	uint16_t *free_next;    /* free list; a chain keeps its links         */
	uint16_t free_head;
	uint16_t avail_idx;     /* next avail idx the driver publishes          */
	uint16_t kicked_idx;    /* avail idx at the last notification decision  */
	uint16_t last_used;
	uint16_t avail_flags;   /* value kept in avail->flags                   */
	uint16_t used_event;    /* value kept in used_event                     */
	bool     flags_reported;
	/* used buffer notification judgement (DEV-2.7.7.2) */
	bool     armed;         /* our suppression state reached the device     */
	bool     owed;
	uint32_t irq_base;
	uint64_t owed_at;
};

struct ref_packed {
	uint8_t  *desc;         /* driver views */
	uint8_t  *drv_event;
	uint8_t  *dev_event;
	uint16_t *slot_flags;   /* last flags the driver wrote / saw per slot   */
	uint16_t *id_free;      /* free buffer ids (stack)                      */
	uint16_t nid_free;
	uint16_t *seg_free;     /* free direct segment records (stack)          */
	uint16_t nseg_free;
	uint16_t next_avail;
	uint16_t next_used;
	uint16_t added;         /* descriptors made available since last kick   */
	uint8_t  avail_wrap;
	uint8_t  used_wrap;
	int      suspect;       /* slot seen changed at the last idle scan     */
};

/* Segment records: [0, size) direct descriptors (split: the descriptor's
 * own index; packed: a free stack), then REF_IND_MAX per indirect table. */
struct ref_vq {
	bool ready;
	bool is_packed;         /* which host arrays the union holds          */
	bool broken;            /* a device violation made the queue unusable   */
	uint16_t size;
	uint16_t num_free;      /* free ring descriptors                        */
	uint16_t outstanding;   /* requests made available and not yet used     */
	uint64_t desc_off, drv_off, dev_off;   /* inside ring                   */
	struct ref_coh ring;
	struct ref_coh spare;   /* the other ring block (fresh after reset)     */
	struct ref_coh tables;  /* REF_IND_MAX * 16 bytes per table            */
	uint16_t ntables;
	uint16_t *table_free;
	uint16_t ntable_free;
	struct virtq_desc *table_shadow;  /* ntables * REF_IND_MAX            */
	struct ref_seg *seg;
	uint16_t *seg_link;     /* next segment record of the same request      */
	struct ref_req *req;    /* per head (split) / buffer id (packed)        */
	uint64_t adds;          /* requests made available                      */
	uint64_t completed;     /* used buffers collected                       */
	/* queue reset follow-up (DEV-2.6.1.1.1, DEV-2.6.1.2.1) */
	bool after_qreset;
	bool qreset_resized;
	uint64_t qreset_until;  /* completions after which the watch ends       */
	/* driver faults */
	bool fault_done;
	bool force_notify;
	union {
		struct ref_split s;
		struct ref_packed p;
	};
};

struct ref_pool {               /* bounce pool: shared, in low memory       */
	uint64_t gpa, size;
	uint8_t *drv;
	uint32_t ngran;
	uint32_t hint;
	uint64_t *bits;
};

struct ref_iova {               /* IOVA window below the top of the aperture */
	uint64_t top_page;      /* aperture top, in pages: the window ends here */
	uint32_t npages;
	uint32_t hint;
	uint64_t *bits;
};

struct ref_dma {
	bool use_iommu;         /* ACCESS_PLATFORM + VT_DMA_IOMMU + an iommu,
				   unless the addresses are untranslated
				   (NO_TRANSLATION) or 1:1 (IDENTITY_ADDRESS) */
	bool bounce_all;        /* confined secure guest, or VT_DMA_BOUNCE    */
	bool confine;           /* secure guest keeping what the device
				   reaches in shared memory: rings, tables,
				   bounce pool (not when it proceeds without
				   ACCESS_PLATFORM: then all is private)       */
	bool identity;          /* IDENTITY_ADDRESS negotiated: GPAs, and the
				   IOMMU left alone until reset               */
	bool gpa_for_iova;      /* fault GPA_FOR_IOVA                         */
	uint64_t limit;         /* buffers ending above it bounce (width)    */
	struct ref_pool pool;
	struct ref_iova iova;
	struct vt_dma_stats stats;
};

struct ref_driver {
	struct vt_driver pub;
	struct ref_dma dma;
	struct ref_vq vq[VT_MAX_QUEUES];
	bool live;
	bool needs_reset;       /* DEVICE_NEEDS_RESET seen                     */
	uint32_t cfg_irq_ok;    /* config_irq at DRIVER_OK                     */
	uint32_t cfg_irq_seen;
	unsigned own_violations;
	/* device configuration (blk) */
	uint64_t capacity;
	uint32_t blk_size;
	/* scratch page for the driver's own probe request */
	uint64_t scratch;
};

static inline struct ref_driver *ref_of(struct vt_driver *drv)
{
	return (struct ref_driver *)drv;
}

static inline bool ref_has(const struct ref_driver *d, unsigned bit)
{
	return (d->pub.negotiated & VT_BIT(bit)) != 0;
}

/* A proposed feature bit as the policy gives it: 0 when unknown (any
 * number <= 0, or beyond the 64 feature bits). */
static inline uint64_t ref_proposal(int bit)
{
	return bit > 0 && bit < 64 ? VT_BIT(bit) : 0;
}

/* Is proposed bit `bit` (a policy number) negotiated? */
static inline bool ref_has_proposal(const struct ref_driver *d, int bit)
{
	return (d->pub.negotiated & ref_proposal(bit)) != 0;
}

static inline bool ref_fault(const struct ref_driver *d, enum vt_drv_fault f)
{
	return d->pub.policy.fault == f;
}

static inline uint64_t ref_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A cheap 64-bit fingerprint of the bytes of a device-readable buffer. */
static inline uint64_t ref_hash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

/* A 64-bit fingerprint of a buffer.  Four independent lanes keep the
 * multiplies from serialising on large buffers. */
static inline uint64_t ref_hash(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint64_t h0 = 0x9e3779b97f4a7c15ull ^ len, h1 = 0xc2b2ae3d27d4eb4full,
		 h2 = 0x165667b19e3779f9ull, h3 = 0x27d4eb2f165667c5ull;
	while (len >= 32) {
		uint64_t w[4];
		memcpy(w, b, 32);
		h0 = ref_hash_mix(h0, w[0]);
		h1 = ref_hash_mix(h1, w[1]);
		h2 = ref_hash_mix(h2, w[2]);
		h3 = ref_hash_mix(h3, w[3]);
		b += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h0 = ref_hash_mix(h0, w);
		b += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, b, len);
		h1 = ref_hash_mix(h1, w);
	}
	uint64_t h = ref_hash_mix(ref_hash_mix(h0, h1), ref_hash_mix(h2, h3));
	return h ^ (h >> 32);
}

/* Little-endian ring fields through the driver view. */
static inline uint16_t ref_ld16_acq(const void *p)
{
	return vt_le16(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}
static inline uint16_t ref_ld16(const void *p)
{
	return vt_le16(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}
static inline void ref_st16_rel(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, vt_put_le16(v), __ATOMIC_RELEASE);
}
static inline void ref_st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, vt_put_le16(v), __ATOMIC_RELAXED);
}
static inline uint32_t ref_ld32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return vt_le32(v);
}
static inline void ref_full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Record a device violation found by the driver. */
int ref_dev_violation(struct ref_driver *d, const char *rule, const char *expected,
		      const char *got, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Available buffer notification with the right notification data. */
void ref_notify(struct ref_driver *d, unsigned q, uint16_t next_off, unsigned next_wrap);

/* Indirect table pool (both ring formats). */
static inline uint16_t ref_table_get(struct ref_vq *vq)
{
	return vq->ntable_free ? vq->table_free[--vq->ntable_free] : REF_NONE;
}
static inline void ref_table_put(struct ref_vq *vq, uint16_t t)
{
	if (t != REF_NONE)
		vq->table_free[vq->ntable_free++] = t;
}
static inline uint64_t ref_table_dev(const struct ref_vq *vq, uint16_t t)
{
	return vq->tables.dev + (uint64_t)t * REF_IND_MAX * 16;
}
static inline uint8_t *ref_table_drv(const struct ref_vq *vq, uint16_t t)
{
	return vq->tables.drv + (uint64_t)t * REF_IND_MAX * 16;
}
/* What the driver wrote in table t. */
static inline struct virtq_desc *ref_table_shadow(const struct ref_vq *vq, uint16_t t)
{
	return &vq->table_shadow[(unsigned)t * REF_IND_MAX];
}
/* Segment record of entry k of table t. */
static inline uint16_t ref_table_seg(const struct ref_vq *vq, uint16_t t, unsigned k)
{
	return (uint16_t)(vq->size + (unsigned)t * REF_IND_MAX + k);
}
/* The first indirect table of the request the device wrote into, or
 * REF_NONE: the entries written in the table, the one of a nested one. */
static inline uint16_t ref_tables_changed(const struct ref_vq *vq, const struct ref_req *req)
{
	if (req->table != REF_NONE &&
	    memcmp(ref_table_drv(vq, req->table), ref_table_shadow(vq, req->table),
		   16u * req->tn) != 0)
		return req->table;
	if (req->table2 != REF_NONE &&
	    memcmp(ref_table_drv(vq, req->table2), ref_table_shadow(vq, req->table2), 16) != 0)
		return req->table2;
	return REF_NONE;
}

/* The one-shot driver fault f is asked for and not yet spent on vq. */
static inline bool ref_fault_due(const struct ref_driver *d, const struct ref_vq *vq,
				 enum vt_drv_fault f)
{
	return ref_fault(d, f) && !vq->fault_done;
}

/* A queue the device broke: nothing more is made available or used. */
static inline int ref_vq_broken(struct ref_vq *vq)
{
	vq->broken = true;
	return -1;
}

/* dma.c ---------------------------------------------------------------- */
/* Decide, from the negotiated features and the policy, how buffers reach
 * the device; allocate the bounce pool and IOVA window that needs and,
 * under IDENTITY_ADDRESS, complete the 1:1 map if not done yet. */
int  ref_dma_setup(struct ref_driver *d);
/* IDENTITY_ADDRESS: map every page of guest RAM 1:1 in the IOMMU (if any)
 * unless the platform already did.  0, or -1 when it cannot. */
int  ref_dma_identity_map(struct ref_driver *d);
/* The driver fault REMAP_AFTER_DRIVER_OK: unmap one page of the 1:1 map
 * and map it again (INV-iommu-changed). */
void ref_dma_identity_remap(struct ref_driver *d);
/* The driver fault IDENTITY_INCOMPLETE: a hole in the 1:1 map before
 * FEATURES_OK (PROP-ia-complete-map). */
void ref_dma_identity_hole(struct ref_driver *d, uint64_t acc);
void ref_dma_free(struct ref_driver *d);
/* Map one segment: 0, 1 when the bounce pool or IOVA window is full,
 * -1 when the buffer is not guest RAM. */
int  ref_dma_map(struct ref_driver *d, uint64_t gpa, uint32_t len, bool write, struct ref_map *m);
/* Unmap; a bounced device-writable segment copies `written` bytes back. */
void ref_dma_unmap(struct ref_driver *d, struct ref_map *m, uint32_t written);
/* Driver pointer to the bytes the device reaches for this segment. */
void *ref_dma_view(struct ref_driver *d, const struct ref_map *m);
/* Driver memory shared with the device for the life of a queue: allocate
 * (or reuse when large enough) `size` bytes page aligned in low memory,
 * zero it, share it in a secure guest and map it in the IOMMU: the pages
 * holding `rw` (NULL: none) read/write, the others with `perm`. */
int  ref_dma_coh_alloc(struct ref_driver *d, struct ref_coh *c, uint64_t size, unsigned perm,
		       const struct ref_rw *rw);
void ref_dma_coh_unmap(struct ref_driver *d, struct ref_coh *c);

/* vq.c: what both formats share -------------------------------------------- */
/* Allocate the ring block: driver area at drv_off, device area at dev_off,
 * descriptors at desc_off (8 bytes further under the driver fault
 * MISALIGNED_RING); the device writes `rw` (the rest it only reads). */
int  ref_ring_alloc(struct ref_driver *d, struct ref_vq *vq, uint64_t drv_off, uint64_t dev_off,
		    uint64_t desc_off, uint64_t desc_size, const struct ref_rw *rw);
/* Take the notification a driver fault forced on the next kick. */
static inline bool ref_take_force(struct ref_vq *vq)
{
	bool force = vq->force_notify;
	vq->force_notify = false;
	return force;
}
/* End of a kick: notify with the next available position when the
 * device's suppression asks for it or a fault forced it; the driver fault
 * SKIP_NOTIFY drops a notification that was due. */
void ref_kick_notify(struct ref_driver *d, unsigned q, bool notify, bool force, uint16_t next_off,
		     unsigned next_wrap);
/* A layout's own one-shot faults: set them in the plan, true when this
 * request carries one. */
typedef bool ref_fault_fn(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p);
/* Plan a request: the layout the policy asks for (REF_MIXED only when
 * `mixed`), the driver fault it carries (shared ones, else `own`), its
 * ring descriptors and indirect tables.  0, 1 when a table for the fault
 * is not free yet, -1 when the queue cannot take requests. */
int  ref_plan(struct ref_driver *d, struct ref_vq *vq, const struct vt_buf *out, unsigned nout,
	      const struct vt_buf *in, unsigned nin, bool mixed, ref_fault_fn *own,
	      struct ref_plan *p);
/* Give the plan's tables back; returns r. */
static inline int ref_plan_drop(struct ref_vq *vq, struct ref_plan *p, int r)
{
	ref_table_put(vq, p->t);
	ref_table_put(vq, p->t2);
	p->t = p->t2 = REF_NONE;
	return r;
}
/* Map the segments in chain order into their records (a split queue's
 * direct ones: its descriptors from p->rec on), link them, fingerprint
 * the device-readable ones.  0, or as ref_dma_map with the tables given
 * back (-1 too when nothing in flight could make room). */
int  ref_plan_map(struct ref_driver *d, struct ref_vq *vq, struct ref_plan *p);
/* Fill in the request record `id` (busy, not yet exposed) from the plan. */
struct ref_req *ref_req_start(struct ref_driver *d, struct ref_vq *vq, uint16_t id,
			      const struct ref_plan *p, void *token);
/* The request is available: count it, spend the fault it carried.  True
 * when the driver fault ALTER_EXPOSED is due on it: the device was just
 * notified and given a moment to fetch it. */
bool ref_req_added(struct ref_driver *d, unsigned q, const struct ref_plan *p,
		   const struct ref_req *req);
/* DRV-3.3.1 / DRV-2.8.16 broken on purpose: change by one the len of a
 * descriptor the device holds, and the driver's own record of it. */
void ref_alter_len(struct ref_vq *vq, uint8_t *desc, struct virtq_desc *shadow, uint32_t len);
/* Unmap the request's segments (copying `written` bytes back), give its
 * tables and segment records back. */
void ref_req_release(struct ref_driver *d, struct ref_vq *vq, struct ref_req *req,
		     uint32_t written);
/* A used request: released, its ring descriptors free again, counted. */
void ref_req_retire(struct ref_driver *d, struct ref_vq *vq, struct ref_req *req,
		    uint32_t written);
/* The clause a used-buffer failure is charged to: while a queue reset is
 * being followed up, the reset's clause. */
const char *ref_vq_rule(struct ref_vq *vq, const char *rule);
/* Used len above the request's device-writable bytes (`what` names the
 * request: "head", "buffer id"; `note` follows the len in got). */
int  ref_len_violation(struct ref_driver *d, unsigned q, const struct ref_req *req,
		       const char *rule, const char *what, unsigned id, uint32_t len,
		       const char *note);
/* Device-readable bytes of the request are unchanged: 0, or the violation. */
int  ref_check_readable(struct ref_driver *d, unsigned q, const struct ref_req *req,
			const char *rule, const char *what, unsigned id);

/* split.c / packed.c ---------------------------------------------------- */
int  ref_split_setup(struct ref_driver *d, unsigned q);
int  ref_split_add(struct ref_driver *d, unsigned q, const struct vt_buf *out, unsigned nout,
		   const struct vt_buf *in, unsigned nin, void *token);
void ref_split_kick(struct ref_driver *d, unsigned q);
int  ref_split_get_used(struct ref_driver *d, unsigned q, void **token, uint32_t *len);
/* 1 when a used buffer is ready (and any owed notification arrived), 0
 * not yet, -1 after a violation. */
int  ref_split_ready(struct ref_driver *d, unsigned q, uint64_t now);
/* Fingerprint of everything the device writes in the queue. */
uint64_t ref_split_snapshot(struct ref_driver *d, unsigned q);
/* Driver notification data for the next available entry. */
void ref_split_next(struct ref_driver *d, unsigned q, uint16_t *off, unsigned *wrap);

int  ref_packed_setup(struct ref_driver *d, unsigned q);
int  ref_packed_add(struct ref_driver *d, unsigned q, const struct vt_buf *out, unsigned nout,
		    const struct vt_buf *in, unsigned nin, void *token);
void ref_packed_kick(struct ref_driver *d, unsigned q);
int  ref_packed_get_used(struct ref_driver *d, unsigned q, void **token, uint32_t *len);
int  ref_packed_ready(struct ref_driver *d, unsigned q, uint64_t now);
uint64_t ref_packed_snapshot(struct ref_driver *d, unsigned q);
void ref_packed_next(struct ref_driver *d, unsigned q, uint16_t *off, unsigned *wrap);
/* Idle scan for used descriptors written at the wrong place (DEV-2.8.12):
 * a change in a slot holding no available descriptor at once, a change
 * elsewhere than the next used slot when it persists.  0 or -1. */
int  ref_packed_scan(struct ref_driver *d, unsigned q);

/* driver.c: notifications the formats share. */
/* Make the driver fault ALTER_EXPOSED observable: notify so the device
 * fetches (and holds) the request, then give it a moment. */
void ref_expose_now(struct ref_driver *d, unsigned q);

#endif
