/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backends.h - real vhost-user backends, started and stopped by the
 * harness, and the pair target that connects the front-end to one.
 *
 *   qemu-storage-daemon   vhost-user-blk over a raw image
 *   dpdk-testpmd          DPDK's vhost PMD (vhost-user-net), io forwarding
 *                         with the port looped to itself: every frame the
 *                         driver transmits comes back on its receive queue;
 *                         a vhost-user client of a socket we listen on (as
 *                         a server, testpmd accepts its first connection
 *                         only after a one-second poll of its event thread)
 *   virtiofsd (C)         vhost-user-fs over a directory; one session
 *
 * Each runs through proc.h (own process group, killed on every path,
 * log in the test's private directory) with its own socket and image in
 * vt_proc_tmpdir(); nothing is left behind when it stops.
 */
#ifndef VCTS_BACKENDS_H
#define VCTS_BACKENDS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pair.h"
#include "proc.h"
#include "transport/vhu_front.h"

enum vt_backend_kind {
	VT_BACKEND_SOCKET,        /* a socket someone else started            */
	VT_BACKEND_QSD,           /* qemu-storage-daemon: blk                 */
	VT_BACKEND_DPDK,          /* dpdk-testpmd, vhost PMD: net             */
	VT_BACKEND_VIRTIOFSD,     /* the C virtiofsd: fs                      */
};

struct vt_backend_opts {
	uint64_t blk_bytes;       /* raw image size (0: 64 MiB)                */
	bool no_iommu;            /* DPDK without iommu-support                */
	unsigned start_ms;        /* wait for the socket (0: 10000)            */
};

struct vt_backend {
	enum vt_backend_kind kind;
	struct vt_proc proc;
	bool started;
	char sock[108];
	char image[PATH_MAX];     /* qsd: the raw image                        */
	char share[PATH_MAX];     /* virtiofsd: the shared directory           */
	int listen_fd;            /* DPDK: our socket it connects to, or -1    */
	int conn_fd;              /* DPDK: its connection not yet taken, or -1 */
};

/* "qemu-storage-daemon", "dpdk-testpmd", "virtiofsd", "socket". */
const char *vt_backend_name(enum vt_backend_kind k);
/* Device type a backend serves (VIRTIO_ID_*; 0 for a socket). */
uint16_t vt_backend_device_id(enum vt_backend_kind k);
/* Can it run here?  0, or -1 with the reason (a missing binary). */
int vt_backend_available(enum vt_backend_kind k, char *why, size_t len);
/* The implementation's version ("7.2.22", "22.11.11"), "" if unknown. */
const char *vt_backend_version(enum vt_backend_kind k);

/* Start a backend and wait for its socket.  Returns 0, or -1 with a
 * one-line reason (the process's last log line when it died). */
int  vt_backend_start(struct vt_backend *b, enum vt_backend_kind k,
		      const struct vt_backend_opts *o, char *err, size_t errlen);
/* A connection to the backend for one front-end: connected to its socket,
 * or (DPDK, a vhost-user client here) accepted from it.  The fd, or -1
 * with a reason. */
int  vt_backend_connect(struct vt_backend *b, unsigned timeout_ms, char *err, size_t errlen);
/* Stop it and remove its socket, image and directory. */
void vt_backend_stop(struct vt_backend *b);
/* Is the process still there? */
bool vt_backend_running(struct vt_backend *b);
/* "exited with status N: <last log line>" or "running", for verdicts. */
void vt_backend_describe(struct vt_backend *b, char *buf, size_t len);

/* A pair's target (cfg.target of a pair opened with vt_vhu_open). */
struct vt_vhu_target {
	enum vt_backend_kind kind;
	const char *socket;             /* VT_BACKEND_SOCKET: its path            */
	struct vt_backend *backend;     /* started by the caller and kept, or
					   NULL: started for the pair, stopped
					   when the pair closes                  */
	struct vt_backend_opts bopts;
	struct vhu_front_quirks quirks;
	unsigned timeout_ms;            /* every reply (0: 2000)                  */
	uint16_t queue_size_max;        /* 0: 256                                 */
};

/* cfg.open_target for pairs: connect the vhost-user front-end to the
 * target's backend over the pair's guest memory and IOMMU model. */
struct vt_transport *vt_vhu_open(struct vt_pair *p, char *err, size_t errlen);

#endif
