/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dpdk_virtio_user.h - DPDK's virtio-user network driver as a driver
 * under test.
 *
 * dpdk-testpmd runs the virtio-user PMD, which is a vhost-user front-end:
 * it connects to a backend socket (our checking device, vhu_back.h) and
 * drives a virtio-net device there with its own split or packed rings.
 * testpmd runs non-interactively in txonly mode, so it transmits a steady
 * stream of packets and never reads stdin; SIGTERM makes it stop its port
 * (GET_VRING_BASE) and disconnect.
 *
 * Memory: the backend can map only fd-backed memory.  With --no-huge,
 * DPDK 22.11 backs its memory with a memfd only when it runs without a
 * shared configuration (--no-shconf); plain --no-huge memory is
 * anonymous and virtio-user cannot send it.  (--in-memory would imply
 * --no-shconf too, but --no-huge implies --legacy-mem, which 22.11 refuses
 * together with --in-memory.)  So the EAL runs with --no-huge --no-shconf
 * -m 512 --no-pci.  The EAL still creates an empty runtime directory
 * (/var/run/dpdk/PREFIX as root, else $XDG_RUNTIME_DIR/dpdk/PREFIX): each
 * run has its own --file-prefix, and that directory is removed on stop.
 */
#ifndef VCTS_DPDK_VIRTIO_USER_H
#define VCTS_DPDK_VIRTIO_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "../../harness/proc.h"

#define DPDK_TESTPMD "dpdk-testpmd"

struct dpdk_vu_opts {
	const char *sock;         /* the backend's vhost-user socket        */
	bool packed;              /* packed_vq=1                            */
	bool in_order;            /* in_order=1 (default 0)                 */
};

struct dpdk_vu {
	struct vt_proc proc;
	char prefix[48];          /* --file-prefix: its EAL runtime directory */
	char version[32];         /* "22.11.11", from the EAL banner        */
};

/* Is dpdk-testpmd installed?  false with the reason in why. */
bool dpdk_vu_available(char *why, size_t whylen);
/* Start testpmd against o->sock.  Returns 0, or -1 with a reason. */
int  dpdk_vu_start(struct dpdk_vu *d, const struct dpdk_vu_opts *o, char *err, size_t errlen);
/* Has it exited (crashed or refused the device)? */
bool dpdk_vu_exited(struct dpdk_vu *d);
/* The DPDK version from the log ("" until the banner is written). */
const char *dpdk_vu_version(struct dpdk_vu *d);
/* SIGTERM (clean port stop), then KILL after the grace period. */
void dpdk_vu_stop(struct dpdk_vu *d);

#endif
