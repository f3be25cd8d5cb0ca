/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio_pci.h - the modern virtio over PCI transport (4.1), driver side.
 *
 * A PCI function is reached through a small accessor (struct vt_pci_fn):
 * configuration space reads and writes of 1, 2 or 4 bytes, BAR reads and
 * writes (memory or port I/O, at the address the BAR was given) and a
 * count of INTx assertions.  Over it this file sizes and programs the
 * BARs (64-bit ones too), enables memory space and bus mastering, walks
 * the capability list for the virtio structures (common configuration,
 * notification, ISR, device configuration) and MSI-X, and implements
 * struct vt_transport_ops so the reference driver drives the function
 * unchanged.
 *
 * Used buffer and configuration change notifications: with MSI-X, every
 * vector is aimed at its own 32-bit word in guest RAM (a page the caller
 * gives), so a message is a memory write the transport sees in poll()
 * and counts per queue (queues sharing a vector, when the table has
 * fewer entries than there are queues, each count every message on it);
 * without MSI-X (or without that page) poll()
 * reads ISR status when INTx was asserted (reading clears it) and counts
 * a queue interrupt for every enabled queue, since INTx cannot tell the
 * queues apart.
 *
 * While driving the function the transport also judges the PCI-specific
 * device rules it can see from here (DEV-4.1.4.3.1 common configuration,
 * DEV-4.1.5.1.2.1 MSI-X vectors) into the verdict it was given, and
 * reports the accessor failing (QEMU gone or not answering) once as
 * INV-transport; after that every register reads as a reset device so no
 * driver loop waits on a dead function.
 */
#ifndef VCTS_TRANSPORT_VIRTIO_PCI_H
#define VCTS_TRANSPORT_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"
#include "../gmem.h"
#include "../verdict.h"

/* ---- the PCI function accessor ---- */

struct vt_pci_fn_ops {
	/* Configuration space, width 1, 2 or 4, naturally aligned. */
	uint32_t (*cfg_read)(void *ctx, unsigned off, unsigned width);
	void     (*cfg_write)(void *ctx, unsigned off, unsigned width, uint32_t val);
	/* Memory (io false) or port I/O space at an absolute address; width
	 * 1, 2, 4 or 8 (8: memory only). */
	uint64_t (*bar_read)(void *ctx, bool io, uint64_t addr, unsigned width);
	void     (*bar_write)(void *ctx, bool io, uint64_t addr, unsigned width, uint64_t val);
	/* INTx assertions seen so far, and whether the line is asserted now. */
	uint64_t (*irq_count)(void *ctx, bool *asserted);
	/* Take pending asynchronous events (may be NULL). */
	void     (*poll)(void *ctx);
	/* Non-zero once the function can no longer be reached; a one-line
	 * reason goes to why. */
	int      (*failed)(void *ctx, char *why, size_t len);
};

struct vt_pci_fn {
	const struct vt_pci_fn_ops *ops;
	void *ctx;
};

/* ---- configuration space vocabulary ---- */

#define VT_PCI_VENDOR_VIRTIO      0x1af4
#define VT_PCI_NBARS              6
#define VT_PCI_CFG_SIZE           256

#define VT_PCI_CAP_COMMON_CFG     1
#define VT_PCI_CAP_NOTIFY_CFG     2
#define VT_PCI_CAP_ISR_CFG        3
#define VT_PCI_CAP_DEVICE_CFG     4
#define VT_PCI_CAP_PCI_CFG        5
#define VT_PCI_CAP_SHARED_MEMORY  8
#define VT_PCI_CAP_VENDOR_CFG     9

/* struct virtio_pci_common_cfg offsets */
#define VT_PCI_COMMON_DFSELECT    0x00
#define VT_PCI_COMMON_DF          0x04
#define VT_PCI_COMMON_GFSELECT    0x08
#define VT_PCI_COMMON_GF          0x0c
#define VT_PCI_COMMON_MSIX        0x10
#define VT_PCI_COMMON_NUMQ        0x12
#define VT_PCI_COMMON_STATUS      0x14
#define VT_PCI_COMMON_CFGGEN      0x15
#define VT_PCI_COMMON_Q_SELECT    0x16
#define VT_PCI_COMMON_Q_SIZE      0x18
#define VT_PCI_COMMON_Q_MSIX      0x1a
#define VT_PCI_COMMON_Q_ENABLE    0x1c
#define VT_PCI_COMMON_Q_NOFF      0x1e
#define VT_PCI_COMMON_Q_DESCLO    0x20
#define VT_PCI_COMMON_Q_DESCHI    0x24
#define VT_PCI_COMMON_Q_AVAILLO   0x28
#define VT_PCI_COMMON_Q_AVAILHI   0x2c
#define VT_PCI_COMMON_Q_USEDLO    0x30
#define VT_PCI_COMMON_Q_USEDHI    0x34
#define VT_PCI_COMMON_Q_NDATA     0x38
#define VT_PCI_COMMON_Q_RESET     0x3a
#define VT_PCI_COMMON_V1_SIZE     0x38   /* the structure without the 1.2+ fields */

#define VT_PCI_MSI_NO_VECTOR      0xffff

struct vt_pci_bar {
	bool present;
	bool io;          /* port I/O space                      */
	bool mem64;       /* 64-bit memory BAR (takes two slots)  */
	bool prefetch;
	uint64_t size;
	uint64_t addr;    /* where it was programmed, 0 if not   */
};

/* One virtio structure capability as found in configuration space. */
struct vt_pci_vcap {
	uint8_t pos;      /* offset of the capability in config space */
	uint8_t cap_len;
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t id;
	uint64_t offset;
	uint64_t length;
	uint32_t extra;   /* notify: notify_off_multiplier */
};

/* Parse the virtio structure capability at pos of a configuration-space
 * image (VT_PCI_CFG_SIZE bytes; reads past it give 0).  notify: extra is
 * notify_off_multiplier; shared memory: the 64-bit offset and length. */
void vt_pci_parse_vcap(const uint8_t *img, unsigned pos, struct vt_pci_vcap *c);

/* Read len bytes of configuration space (len a multiple of 4). */
void vt_pci_read_config(const struct vt_pci_fn *fn, uint8_t *img, unsigned len);

/* Size every BAR: memory and I/O decoding off, all ones written to each
 * BAR, read back, the old value restored.  Returns 0, or -1 when a
 * 64-bit BAR sits in the last slot. */
int vt_pci_size_bars(const struct vt_pci_fn *fn, struct vt_pci_bar bars[VT_PCI_NBARS]);

/* ---- the transport ---- */

struct vt_virtio_pci_opts {
	struct vt_verdict *vd;     /* device findings and INV-transport      */
	struct gmem *gm;           /* guest RAM holding msi_gpa              */
	uint64_t msi_gpa;          /* 4 KiB of guest RAM for MSI-X messages;
				      0: notifications through INTx / ISR   */
	uint64_t mmio32_base;      /* where 32-bit memory BARs go            */
	uint64_t mmio64_base;      /* where 64-bit memory BARs go (0: 32-bit
				      area)                                 */
	uint16_t io_base;          /* where I/O BARs go                      */
	const char *name;          /* transport name, e.g. "qtest"           */
};

/* What the transport found; for tests and reports. */
struct vt_virtio_pci_info {
	uint16_t vendor, device;
	uint8_t revision;
	struct vt_pci_bar bar[VT_PCI_NBARS];
	struct vt_pci_vcap common, notify, isr, device_cfg;
	bool has_device_cfg;
	unsigned msix_table_size;      /* 0: no MSI-X capability              */
	bool msix;                     /* notifications by MSI-X messages     */
	unsigned num_queues;
	uint64_t msi_seen, isr_reads;  /* notifications taken each way        */
};

/* Bring the function up as a virtio device (not yet reset): BARs,
 * command register, capabilities, MSI-X.  Returns the transport, or NULL
 * with a reason in err (not a virtio function, a required capability
 * missing, ...). */
struct vt_transport *vt_virtio_pci_create(const struct vt_pci_fn *fn,
					  const struct vt_virtio_pci_opts *o,
					  char *err, size_t errlen);

/* Called with ctx after the transport is destroyed: whoever owns the
 * function behind the accessor (a QEMU process) lets it go. */
void vt_virtio_pci_set_release(struct vt_transport *t, void (*release)(void *ctx), void *ctx);
/* The ctx given to vt_virtio_pci_set_release, or NULL. */
void *vt_virtio_pci_owner(struct vt_transport *t);

/* The transport's findings about the function; t must come from
 * vt_virtio_pci_create. */
const struct vt_virtio_pci_info *vt_virtio_pci_info(struct vt_transport *t);

/* Read len bytes of the BAR region of virtio structure cap at off. */
uint32_t vt_virtio_pci_cap_read(struct vt_transport *t, const struct vt_pci_vcap *cap,
				uint64_t off, unsigned width);
void vt_virtio_pci_cap_write(struct vt_transport *t, const struct vt_pci_vcap *cap,
			     uint64_t off, unsigned width, uint32_t val);

#endif
