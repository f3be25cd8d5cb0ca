/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhu_front.h - the vhost-user front-end as a struct vt_transport.
 *
 * vcts plays the VMM: it emulates the device registers for the driver
 * (status, feature words, configuration space, queues) and turns them
 * into vhost-user requests to a real backend over its unix socket.
 *
 *   open        GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 *               SET_OWNER, SET_BACKEND_REQ_FD, GET_QUEUE_NUM, GET_CONFIG
 *   FEATURES_OK the driver's set checked against the offer (backends do
 *               not check it), SET_FEATURES (with the protocol-features
 *               bit), SET_MEM_TABLE with the guest memory's memfds (a
 *               secure guest: its shared regions only)
 *   DRIVER_OK   per enabled queue SET_VRING_NUM, _BASE, _ADDR, _KICK,
 *               _CALL, _ENABLE
 *   reset       GET_VRING_BASE per started queue (stops it), RESET_DEVICE
 *               when the backend offers it
 *   notify      writes the queue's kick eventfd
 *   poll        reads the call eventfds (used_irq) and serves the backend
 *               channel: IOTLB misses answered from the IOMMU model
 *
 * Ring addresses in SET_VRING_ADDR are our user addresses (the driver
 * view of guest memory), or IOVAs when ACCESS_PLATFORM is negotiated.  An
 * unmap in the IOMMU model becomes an IOTLB invalidation at once.
 *
 * A backend that closes the connection, misses a deadline or sends a
 * malformed message is dead: recorded once as INV-transport (who:
 * device), and from then on every register operation is harmless.
 */
#ifndef VCTS_VHU_FRONT_H
#define VCTS_VHU_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gmem.h"
#include "../iommu.h"
#include "../verdict.h"
#include "transport.h"

/* Deliberate departures from a conforming front-end, to see what a
 * backend does with them. */
struct vhu_front_quirks {
	bool forward_unoffered;     /* send a driver set with unoffered bits
				       instead of refusing FEATURES_OK       */
	uint64_t extra_features;    /* OR'ed into SET_FEATURES               */
	uint32_t skip_enable;       /* queues never sent SET_VRING_ENABLE    */
	bool no_protocol_features;  /* never negotiate protocol features     */
	bool no_need_reply;         /* never set NEED_REPLY                  */
	uint64_t withhold_regions;  /* gmem regions (bit i) never sent in
				       SET_MEM_TABLE: buffers there are out
				       of the backend's reach              */
};

struct vhu_front_opts {
	const char *path;           /* socket to connect to                   */
	int sock;                   /* or a connected socket (>= 0), taken   */
	uint16_t device_id;         /* VIRTIO_ID_*                            */
	struct gmem *gm;
	struct iommu *io;           /* answers IOTLB misses; NULL: identity  */
	struct vt_verdict *vd;
	unsigned timeout_ms;        /* every reply (0: 2000)                  */
	bool secure;                /* send only GMEM_REGION_SHARED regions   */
	uint16_t queue_size_max;    /* offered to the driver (0: 256)         */
	struct vhu_front_quirks quirks;
	/* The backend's owner: what a dead backend says for itself (its
	 * process's exit and last log line, appended to the INV-transport
	 * record) and what to do when the transport is destroyed (stop the
	 * process).  Both may be NULL; release is also called when open
	 * fails. */
	void (*describe_death)(void *owner, char *buf, size_t len);
	void (*release)(void *owner);
	void *owner;
};

/* What the front-end saw, for tests. */
struct vhu_front_info {
	uint64_t backend_features;     /* GET_FEATURES                        */
	uint64_t protocol_offered;     /* GET_PROTOCOL_FEATURES               */
	uint64_t protocol;             /* SET_PROTOCOL_FEATURES               */
	uint32_t queue_num;            /* GET_QUEUE_NUM (0: not asked)        */
	uint32_t config_size;          /* bytes the backend's config fills    */
	bool config_from_backend;      /* GET_CONFIG answered                 */
	uint64_t offer;                /* features shown to the driver        */
	uint64_t driver_features;      /* features the driver wrote           */
	uint64_t acked;                /* last SET_FEATURES                   */
	int64_t features_ack;          /* its REPLY_ACK (-1: dead, 0: none)   */
	uint64_t refused_unoffered;    /* unoffered bits we refused ourselves */
	uint64_t forwarded_unoffered;  /* unoffered bits sent on purpose      */
	unsigned mem_regions;          /* regions in SET_MEM_TABLE            */
	uint64_t mem_gpa_mask;         /* which gmem regions were sent (bit i)*/
	unsigned rings_started;
	uint32_t last_vring_base[VT_MAX_QUEUES];  /* GET_VRING_BASE replies   */
	uint64_t iotlb_misses, iotlb_updates, iotlb_refused, iotlb_invalidates;
	uint64_t iotlb_perm_upgrades;  /* misses asking more than mapped      */
	uint64_t nacks;                /* non-zero REPLY_ACKs                 */
	uint32_t last_nack_request;
	uint64_t backend_requests;     /* on the backend channel              */
	uint64_t calls;                /* call eventfd signals read           */
	bool dead;
	char why[384];
};

/* Connect (or take opts->sock) and bring the connection up to the point
 * where the driver can start: returns the transport, or NULL with a
 * one-line reason in err (not vhost-user, closed mid-handshake, ...). */
struct vt_transport *vhu_front_open(const struct vhu_front_opts *o, char *err, size_t errlen);

/* NULL when t is not a vhost-user front-end. */
const struct vhu_front_info *vhu_front_info(struct vt_transport *t);
/* The quirks in force, to change between two initialisations; NULL
 * when t is not a vhost-user front-end. */
struct vhu_front_quirks *vhu_front_quirks(struct vt_transport *t);

/* Serve the backend channel and check the connection now; false once the
 * backend is dead. */
bool vhu_front_alive(struct vt_transport *t);

/* Connect to a unix socket path: the fd, or -1 with a reason in err. */
int vhu_connect(const char *path, unsigned timeout_ms, char *err, size_t errlen);

#endif
