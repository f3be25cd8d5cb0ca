/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pci_check.h - judge a virtio PCI function's layout against the device
 * rules of 4.1 (Virtio Over PCI Bus).
 *
 * The input is an image of the function's configuration space, whatever
 * produced it (qtest, libpci on a host, a dump in a file), plus what is
 * known of its BARs (sizes and kinds) and, optionally, access to the
 * function itself for what an image cannot show (the queues' notify
 * offsets, the offered features, the PCI configuration access window).
 *
 * Judged, each finding a vt_violation naming its clause:
 *   DEV-4.1.2.1   vendor 0x1AF4; device ID 0x1040 + type or a transitional
 *                 ID of the table; revision >= 1 and subsystem device ID
 *                 >= 0x40 for non-transitional devices (SHOULD: advice)
 *   DEV-4.1.1     a well-formed type 0 header and capability list, MSI-X
 *                 table and PBA inside a BAR
 *   DEV-4.1.4.2   cap_len covers the structure and its extra data
 *   DEV-4.1.4.3.1 a common configuration structure: present, offset
 *                 4-byte aligned, inside its BAR, long enough; queue_size 0
 *                 or a power of 2; no feature bits above 63
 *   DEV-4.1.4.4.1 a notification structure: present, inside its BAR,
 *                 offset 2- (4-) byte aligned, notify_off_multiplier 0 or
 *                 an even power of 2 (a multiple of 4 with
 *                 NOTIFICATION_DATA), length covering every queue
 *   DEV-4.1.4.5.1 an ISR status structure: present, inside its BAR
 *   DEV-4.1.4.6.1 a device-specific configuration structure for types
 *                 that have one, 4-byte aligned, inside its BAR
 *   DEV-4.1.4.7.1 shared memory regions inside their BAR, ids unique
 *   DEV-4.1.4.8.1 vendor data: vendor_id not 0x1AF4, size a multiple of 4
 *   DEV-4.1.4.9.1 a PCI configuration access capability, and (with
 *                 access) its window reads what the BAR holds
 *   DEV-4.1.5.1.2.1 MSI-X table size of at least 2 (SHOULD: advice)
 */
#ifndef VCTS_TRANSPORT_PCI_CHECK_H
#define VCTS_TRANSPORT_PCI_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "virtio_pci.h"
#include "../verdict.h"

/* Access to the live function, for what the image cannot show.  Any
 * member may be NULL; without write the function is never disturbed. */
struct vt_pci_access {
	/* BAR bar at offset off, width 1, 2 or 4.  Return 0 or -1. */
	int (*bar_read)(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t *val);
	int (*bar_write)(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t val);
	/* Configuration space (the PCI configuration access window). */
	int (*cfg_read)(void *ctx, unsigned off, unsigned width, uint32_t *val);
	int (*cfg_write)(void *ctx, unsigned off, unsigned width, uint32_t val);
	void *ctx;
};

struct vt_pci_image {
	uint8_t cfg[VT_PCI_CFG_SIZE];
	bool bars_known;                        /* bar[] sizes are filled in */
	struct vt_pci_bar bar[VT_PCI_NBARS];
	const struct vt_pci_access *access;     /* NULL: the image alone     */
};

/* What the check found, beyond the verdict (for reports). */
struct vt_pci_summary {
	bool virtio;               /* vendor 0x1AF4                             */
	bool transitional;
	uint16_t device_id;        /* PCI device ID                             */
	int virtio_type;           /* virtio device ID, -1 unknown              */
	unsigned ncaps, nvcaps;    /* capabilities, virtio ones among them      */
	unsigned queues_checked;   /* queues whose notify offset was checked    */
	bool window_checked;       /* the configuration access window was used  */
};

/* Judge the image; every finding goes to vd.  Returns the number of
 * MUST-level findings. */
unsigned vt_pci_check(const struct vt_pci_image *img, struct vt_verdict *vd,
		      struct vt_pci_summary *sum);

/* Name of a virtio device type ("block", "network", ...), or NULL. */
const char *vt_pci_type_name(int virtio_type);

/*
 * Text form of an image: the lines of `lspci -xxx` ("00: f4 1a 42 10 ..."
 * with the offset in hex; other lines are ignored) and, for the BARs,
 * lines "bar N SIZE [io|mem32|mem64] [prefetch]" (SIZE in hex or
 * decimal).  Parse returns 0, or -1 with "LINE: what" in err.
 */
int  vt_pci_image_parse(FILE *f, struct vt_pci_image *img, char *err, size_t errlen);
void vt_pci_image_write(const struct vt_pci_image *img, FILE *f);

#endif
