/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhu_back.h - the vhost-user backend role: the checking device serves a
 * vhost-user front-end (QEMU, DPDK virtio-user) over a unix socket and
 * judges the driver behind it.
 *
 * The backend listens on a socket, accepts one front-end and serves its
 * session on a thread of its own (poll() on the socket and the kick
 * eventfds).  The front-end's messages become register operations of the
 * device core (device/device.h):
 *  - GET_FEATURES: the device's offer plus VHOST_USER_F_PROTOCOL_FEATURES;
 *  - SET_FEATURES: vhost-user has no status register (the STATUS protocol
 *    feature is not offered), so the backend plays the status writes a
 *    VMM makes for its guest: ACKNOWLEDGE, DRIVER, the accepted features,
 *    FEATURES_OK and a status read-back;
 *  - the first ring started (SET_VRING_KICK, plus SET_VRING_ENABLE when
 *    protocol features are negotiated): DRIVER_OK, as a VMM starts its
 *    vhost device only once the guest set DRIVER_OK;
 *  - a SET_FEATURES after FEATURES_OK, RESET_OWNER and RESET_DEVICE:
 *    a device reset (status 0) first, as a VMM resets its device;
 *  - SET_MEM_TABLE: the regions become guest memory (gmem) through their
 *    fds; each region's user address is kept to translate the ring
 *    addresses of SET_VRING_ADDR (front-end user addresses) to GPAs;
 *  - SET_VRING_NUM / BASE / ADDR / KICK / CALL / ENABLE: queue_set and
 *    queue_enable; a kick is an available buffer notification; the
 *    device's used buffer notifications write the call eventfd;
 *  - GET_VRING_BASE stops the ring and returns where the device stands;
 *  - GET_CONFIG / SET_CONFIG: the configuration space.
 * Every read has a deadline.  A front-end that disconnects ends the
 * session cleanly; a malformed or unexpected message ends it with a
 * one-line reason (vhu_back_status().error).  Rules the driver breaks are
 * recorded by the device in the verdict given at start.
 *
 * Only fresh rings are served: a SET_VRING_BASE that resumes a ring
 * somewhere other than its initial state ends the session with a reason.
 *
 * IOTLB (VIRTIO_F_ACCESS_PLATFORM).  When the device offers bit 33 the
 * backend also offers the protocol features REPLY_ACK and BACKEND_REQ and
 * takes the backend channel (SET_BACKEND_REQ_FD).  Once bit 33 is
 * negotiated, the ring addresses of SET_VRING_ADDR and every descriptor
 * address are IOVAs: the device translates them through its own IOTLB, a
 * struct iommu installed as the device's platform IOMMU, so every access
 * of the accessor (gmem_dev) goes through it.  IOTLB_MSG updates map
 * IOVA -> GPA (the update's user address through the memory table) with
 * their permission; invalidations unmap; SET_MEM_TABLE and a device reset
 * empty it.  A page the accessor finds missing (or without the permission
 * an access needs) is a miss: the IOMMU's miss handler, on the device
 * thread and before the access, sends BACKEND_IOTLB_MSG (type miss) on the
 * backend channel and reads the main socket until the update arrives or
 * the IOTLB deadline passes; IOTLB messages read meanwhile are applied
 * and acknowledged, any other request is held and served, in order, once
 * the device returns (one the front-end awaits an answer to ends the wait
 * at once: it cannot answer the miss before our reply).  A miss nobody
 * answers is a failed access: the accessor records INV-iommu-fault
 * (blamed on the driver when it is a buffer or ring the driver handed
 * over, on the device otherwise) and the request is not completed.
 * Misses are awaited only while the device processes its rings (a kick
 * or the idle poll): while a front-end request is being served the
 * front-end waits for our reply and cannot answer one.  So a ring started
 * by a request (SET_VRING_KICK / ENABLE) whose areas are not translated
 * yet only sends its misses and waits: it goes live once the updates
 * have come, or at its first kick.
 *
 * A secure guest (opts.bounce_pool set).  Its memory is private except
 * what it shares: the bounce pool its DMA layer copies every buffer
 * through, and the rings.  The memory table then becomes observed guest
 * memory (gmem_create_observed): before the first ring goes live the
 * backend asks bounce_pool() for the pool's guest-physical range (it may
 * wait a little for the guest to tell it) and shares it, and each ring's
 * areas are shared as the ring goes live.  Any other page the driver
 * hands over is recorded as INV-unshared-access (once per page, blamed
 * on the driver) and served anyway, so the guest runs to its end.  A
 * pool that cannot be learnt is not shared (status pool_why says why):
 * the session goes on with only the rings shared.  Rings
 * behind an IOTLB are not modelled in a secure guest (the session ends
 * with a reason).
 */
#ifndef VCTS_VHU_BACK_H
#define VCTS_VHU_BACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../device/device.h"

struct vhu_back_opts {
	const struct vt_device_type *type;
	uint64_t offer;               /* device-independent features offered */
	uint16_t queue_size_max;      /* 0: 256                              */
	unsigned msg_timeout_ms;      /* deadline of every read; 0: 2000     */
	unsigned accept_timeout_ms;   /* wait for the front-end; 0: 20000    */
	struct vt_verdict *vd;        /* driver violations go here           */
	/* Optional: the whole device configuration (faults, batching, policy);
	 * its type and offer are replaced by `type` and `offer` above. */
	const struct vt_device_opts *dev;
	unsigned iotlb_timeout_ms;    /* wait for an IOTLB update; 0: msg_timeout_ms */
	/* A secure guest: the bounce pool's range [*gpa, *gpa + *len), or -1
	 * with a one-line reason.  NULL: a guest whose memory is all shared. */
	int (*bounce_pool)(void *ctx, uint64_t *gpa, uint64_t *len, char *why, size_t whylen);
	void *bounce_ctx;
};

#define VHU_BACK_MAX_REGIONS 8        /* VHU_MAX_REGIONS */

struct vhu_back_status {
	bool connected;               /* a front-end was accepted            */
	bool ended;                   /* the session is over                 */
	bool error;                   /* ...and not by a clean disconnect    */
	bool driver_ok;               /* the device went live                */
	char why[192];                /* how it ended                        */
	uint64_t negotiated;          /* device features negotiated          */
	uint64_t protocol;            /* protocol features negotiated        */
	uint64_t messages;            /* front-end messages served           */
	uint64_t kicks, calls;        /* notifications each way              */
	uint64_t requests;            /* chains the device served            */
	/* the memory table in force (SET_MEM_TABLE) */
	unsigned mem_regions;
	uint64_t mem_gpa[VHU_BACK_MAX_REGIONS], mem_size[VHU_BACK_MAX_REGIONS];
	/* IOTLB (ACCESS_PLATFORM) */
	bool backend_channel;         /* SET_BACKEND_REQ_FD received          */
	bool iotlb;                   /* addresses are IOVAs                  */
	uint64_t iotlb_misses;        /* BACKEND_IOTLB_MSG misses sent        */
	uint64_t iotlb_unanswered;    /* ...of them never answered in time    */
	uint64_t iotlb_updates, iotlb_invalidates;
	uint64_t iotlb_rejected;      /* updates refused (not in the memory table) */
	uint64_t held_requests;       /* requests held while a miss was pending */
	/* a secure guest (opts.bounce_pool) */
	bool secure;
	uint64_t pool_gpa, pool_len;  /* the bounce pool shared (len 0: not yet) */
	char pool_why[160];           /* why it could not be shared               */
	uint64_t private_pages;       /* private pages the device touched: final
					 once the session is over (vhu_back_finish) */
};

struct vhu_back;

/* Listen on `path` and serve the first front-end that connects, on a new
 * thread.  Returns NULL with a one-line reason in err. */
struct vhu_back *vhu_back_start(const char *path, const struct vhu_back_opts *o, char *err,
				size_t errlen);
/* A snapshot of the session, safe while it runs. */
void vhu_back_status(struct vhu_back *b, struct vhu_back_status *st);
/* The device served (for introspection after the session). */
struct vt_device *vhu_back_device(struct vhu_back *b);
/* End the session, join the thread, free the device and guest memory,
 * remove the socket. */
void vhu_back_stop(struct vhu_back *b);
/* vhu_back_stop, giving the session's final status first. */
void vhu_back_finish(struct vhu_back *b, struct vhu_back_status *st);

#endif
