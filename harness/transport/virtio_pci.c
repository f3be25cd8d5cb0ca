/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio_pci.c - modern virtio over PCI (4.1), driver side, over a PCI function accessor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_pci.h"
#include "../virtio.h"

/* PCI configuration header */
#define PCI_COMMAND            0x04
#define PCI_COMMAND_IO         0x1
#define PCI_COMMAND_MEMORY     0x2
#define PCI_COMMAND_MASTER     0x4
#define PCI_STATUS             0x06
#define PCI_STATUS_CAP_LIST    0x10
#define PCI_REVISION_ID        0x08
#define PCI_BAR0               0x10
#define PCI_CAP_PTR            0x34
#define PCI_CAP_ID_VNDR        0x09
#define PCI_CAP_ID_MSIX        0x11
#define PCI_MSIX_FLAGS_ENABLE  0x8000
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define MSIX_ENTRY_SIZE        16

#define MAX_CAPS               48     /* a list longer than this loops */
#define MSI_DATA_TAG           0x5e00u

struct vpci {
	struct vt_transport t;               /* first: ops receive &t */
	struct vt_pci_fn fn;
	struct vt_virtio_pci_opts o;
	struct vt_virtio_pci_info info;
	void (*release)(void *ctx);
	void *release_ctx;
	/* MSI-X */
	unsigned msix_pos;
	uint8_t msix_bir;
	uint32_t msix_table;
	uint32_t *msi;                       /* driver view of the message words */
	unsigned nvec;                       /* vectors programmed                */
	int cfg_vec;                         /* -1: none                          */
	int q_vec[VT_MAX_QUEUES];
	bool isr_needed;                     /* some event has no vector          */
	uint64_t irq_seen;
	/* what the driver did */
	uint32_t dev_feat[2];
	bool dev_feat_known[2];
	uint64_t drv_feat;
	uint8_t status_written;
	bool reset_pending;                  /* 0 written, not yet read back     */
	bool q_enabled[VT_MAX_QUEUES];
	uint16_t q_notify_off[VT_MAX_QUEUES];
	bool dead_reported;
};

static inline struct vpci *of(struct vt_transport *t)
{
	return (struct vpci *)t;
}

/* ---- configuration space ---- */

void vt_pci_read_config(const struct vt_pci_fn *fn, uint8_t *img, unsigned len)
{
	for (unsigned off = 0; off + 4 <= len; off += 4) {
		uint32_t v = fn->ops->cfg_read(fn->ctx, off, 4);
		img[off] = (uint8_t)v;
		img[off + 1] = (uint8_t)(v >> 8);
		img[off + 2] = (uint8_t)(v >> 16);
		img[off + 3] = (uint8_t)(v >> 24);
	}
}

static uint8_t img8(const uint8_t *img, unsigned off)
{
	return off < VT_PCI_CFG_SIZE ? img[off] : 0;
}

static uint32_t img32(const uint8_t *img, unsigned off)
{
	return (uint32_t)img8(img, off) | (uint32_t)img8(img, off + 1) << 8 |
	       (uint32_t)img8(img, off + 2) << 16 | (uint32_t)img8(img, off + 3) << 24;
}

int vt_pci_size_bars(const struct vt_pci_fn *fn, struct vt_pci_bar bars[VT_PCI_NBARS])
{
	const struct vt_pci_fn_ops *op = fn->ops;
	uint32_t cmd = op->cfg_read(fn->ctx, PCI_COMMAND, 2);
	int rc = 0;

	memset(bars, 0, sizeof(*bars) * VT_PCI_NBARS);
	/* no decoding while the BARs hold all ones */
	op->cfg_write(fn->ctx, PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (unsigned i = 0; i < VT_PCI_NBARS; i++) {
		unsigned off = PCI_BAR0 + 4 * i;
		uint32_t old = op->cfg_read(fn->ctx, off, 4);
		op->cfg_write(fn->ctx, off, 4, 0xffffffffu);
		uint32_t v = op->cfg_read(fn->ctx, off, 4);
		op->cfg_write(fn->ctx, off, 4, old);
		struct vt_pci_bar *b = &bars[i];
		if (v == 0 || v == 0xffffffffu)
			continue;
		if (v & 1) {                         /* I/O space */
			uint32_t mask = v & ~3u;
			if (!(mask & 0xffff0000u))
				mask |= 0xffff0000u;       /* 16-bit decoder */
			b->io = true;
			b->size = (uint64_t)(~mask + 1u);
		} else {
			uint64_t mask = v & ~0xfull;
			b->prefetch = (v & 8) != 0;
			if (((v >> 1) & 3) == 2) {   /* 64-bit memory */
				if (i == VT_PCI_NBARS - 1) {
					rc = -1;
					continue;
				}
				unsigned hoff = off + 4;
				uint32_t hold = op->cfg_read(fn->ctx, hoff, 4);
				op->cfg_write(fn->ctx, hoff, 4, 0xffffffffu);
				uint32_t hv = op->cfg_read(fn->ctx, hoff, 4);
				op->cfg_write(fn->ctx, hoff, 4, hold);
				mask |= (uint64_t)hv << 32;
				b->mem64 = true;
				b->size = ~mask + 1;
				b->addr = (old & ~0xfull) | (uint64_t)hold << 32;
			} else {
				mask |= 0xffffffff00000000ull;
				b->size = ~mask + 1;
				b->addr = old & ~0xfull;
			}
		}
		if (b->io)
			b->addr = old & ~3u;
		b->present = b->size != 0;
		if (b->mem64)
			i++;                         /* the high half is not a BAR */
	}
	op->cfg_write(fn->ctx, PCI_COMMAND, 2, cmd);
	return rc;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a ? (v + a - 1) & ~(a - 1) : v;
}

/* Give every BAR an address of its own, naturally aligned. */
static void program_bars(struct vpci *d)
{
	const struct vt_pci_fn *fn = &d->fn;
	uint64_t m32 = d->o.mmio32_base ? d->o.mmio32_base : 0xe0000000ull;
	uint64_t m64 = d->o.mmio64_base ? d->o.mmio64_base : 0;
	uint64_t io = d->o.io_base ? d->o.io_base : 0xc000;

	for (unsigned i = 0; i < VT_PCI_NBARS; i++) {
		struct vt_pci_bar *b = &d->info.bar[i];
		unsigned off = PCI_BAR0 + 4 * i;
		if (!b->present)
			continue;
		if (b->io) {
			io = align_up(io, b->size);
			b->addr = io;
			io += b->size;
			fn->ops->cfg_write(fn->ctx, off, 4, (uint32_t)b->addr);
			continue;
		}
		uint64_t *cur = b->mem64 && m64 ? &m64 : &m32;
		*cur = align_up(*cur, b->size < 4096 ? 4096 : b->size);
		b->addr = *cur;
		*cur += b->size;
		fn->ops->cfg_write(fn->ctx, off, 4, (uint32_t)b->addr);
		if (b->mem64)
			fn->ops->cfg_write(fn->ctx, off + 4, 4, (uint32_t)(b->addr >> 32));
	}
}

/* ---- capabilities ---- */

void vt_pci_parse_vcap(const uint8_t *img, unsigned pos, struct vt_pci_vcap *c)
{
	memset(c, 0, sizeof(*c));
	c->pos = (uint8_t)pos;
	c->cap_len = img8(img, pos + 2);
	c->cfg_type = img8(img, pos + 3);
	c->bar = img8(img, pos + 4);
	c->id = img8(img, pos + 5);
	c->offset = img32(img, pos + 8);
	c->length = img32(img, pos + 12);
	if (c->cfg_type == VT_PCI_CAP_NOTIFY_CFG)
		c->extra = img32(img, pos + 16);
	if (c->cfg_type == VT_PCI_CAP_SHARED_MEMORY && c->cap_len >= 24) {
		c->offset |= (uint64_t)img32(img, pos + 16) << 32;
		c->length |= (uint64_t)img32(img, pos + 20) << 32;
	}
}

/* A structure the driver can use: a BAR that exists and holds it. */
static bool usable(const struct vpci *d, const struct vt_pci_vcap *c)
{
	if (c->bar >= VT_PCI_NBARS || !d->info.bar[c->bar].present)
		return false;
	const struct vt_pci_bar *b = &d->info.bar[c->bar];
	return c->offset < b->size && c->length <= b->size - c->offset && c->length > 0;
}

/* The first usable capability of each type (the device's preferred). */
static void walk_caps(struct vpci *d, const uint8_t *img)
{
	unsigned pos = img8(img, PCI_CAP_PTR) & 0xfc;
	if (!(img32(img, PCI_STATUS - 2) >> 16 & PCI_STATUS_CAP_LIST))
		return;
	for (unsigned n = 0; pos >= 0x40 && n < MAX_CAPS; n++) {
		uint8_t id = img8(img, pos);
		if (id == PCI_CAP_ID_MSIX && !d->msix_pos) {
			uint32_t tbl = img32(img, pos + 4);
			d->msix_pos = pos;
			d->info.msix_table_size = ((img32(img, pos) >> 16) & 0x7ff) + 1;
			d->msix_bir = tbl & 7;
			d->msix_table = tbl & ~7u;
		} else if (id == PCI_CAP_ID_VNDR) {
			struct vt_pci_vcap c;
			vt_pci_parse_vcap(img, pos, &c);
			if (c.cfg_type == VT_PCI_CAP_NOTIFY_CFG && c.cap_len < 20)
				c.extra = 0;    /* too short to hold the multiplier */
			struct vt_pci_vcap *slot = NULL;
			switch (c.cfg_type) {
			case VT_PCI_CAP_COMMON_CFG: slot = &d->info.common; break;
			case VT_PCI_CAP_NOTIFY_CFG: slot = &d->info.notify; break;
			case VT_PCI_CAP_ISR_CFG:    slot = &d->info.isr; break;
			case VT_PCI_CAP_DEVICE_CFG: slot = &d->info.device_cfg; break;
			default: break;
			}
			if (slot && !slot->pos && usable(d, &c))
				*slot = c;
		}
		pos = img8(img, pos + 1) & 0xfc;
	}
	d->info.has_device_cfg = d->info.device_cfg.pos != 0;
}

/* ---- register access ---- */

static bool fn_dead(struct vpci *d)
{
	char why[200];
	if (!d->fn.ops->failed || !d->fn.ops->failed(d->fn.ctx, why, sizeof(why)))
		return false;
	if (!d->dead_reported && d->o.vd) {
		d->dead_reported = true;
		vt_violation(d->o.vd, "INV-transport", VT_WHO_DEVICE, "an answer", "none",
			     "the PCI function stopped answering: %s", why);
	}
	return true;
}

uint32_t vt_virtio_pci_cap_read(struct vt_transport *t, const struct vt_pci_vcap *cap,
				uint64_t off, unsigned width)
{
	struct vpci *d = of(t);
	const struct vt_pci_bar *b = &d->info.bar[cap->bar];
	return (uint32_t)d->fn.ops->bar_read(d->fn.ctx, b->io, b->addr + cap->offset + off, width);
}

void vt_virtio_pci_cap_write(struct vt_transport *t, const struct vt_pci_vcap *cap, uint64_t off,
			     unsigned width, uint32_t val)
{
	struct vpci *d = of(t);
	const struct vt_pci_bar *b = &d->info.bar[cap->bar];
	d->fn.ops->bar_write(d->fn.ctx, b->io, b->addr + cap->offset + off, width, val);
}

static uint32_t common_rd(struct vpci *d, unsigned off, unsigned width)
{
	return vt_virtio_pci_cap_read(&d->t, &d->info.common, off, width);
}

static void common_wr(struct vpci *d, unsigned off, unsigned width, uint32_t val)
{
	vt_virtio_pci_cap_write(&d->t, &d->info.common, off, width, val);
}

/* 64-bit fields as two 32-bit accesses, low part first (4.1.3). */
static void common_wr64(struct vpci *d, unsigned off, uint64_t val)
{
	common_wr(d, off, 4, (uint32_t)val);
	common_wr(d, off + 4, 4, (uint32_t)(val >> 32));
}

static void select_queue(struct vpci *d, unsigned q)
{
	common_wr(d, VT_PCI_COMMON_Q_SELECT, 2, q);
}

/* ---- MSI-X: every vector writes a word of guest RAM ---- */

static void msix_entry(struct vpci *d, unsigned v, uint64_t addr, uint32_t data, bool masked)
{
	const struct vt_pci_bar *b = &d->info.bar[d->msix_bir];
	uint64_t e = b->addr + d->msix_table + (uint64_t)v * MSIX_ENTRY_SIZE;
	d->fn.ops->bar_write(d->fn.ctx, false, e, 4, (uint32_t)addr);
	d->fn.ops->bar_write(d->fn.ctx, false, e + 4, 4, (uint32_t)(addr >> 32));
	d->fn.ops->bar_write(d->fn.ctx, false, e + 8, 4, data);
	d->fn.ops->bar_write(d->fn.ctx, false, e + 12, 4, masked ? 1 : 0);
}

static int setup_msix(struct vpci *d)
{
	unsigned ts = d->info.msix_table_size;
	d->cfg_vec = -1;
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		d->q_vec[q] = -1;
	/* one vector for configuration changes and at least one for queues */
	if (!d->msix_pos || ts < 2 || !d->o.msi_gpa || !d->o.gm ||
	    d->msix_bir >= VT_PCI_NBARS || d->info.bar[d->msix_bir].io ||
	    !d->info.bar[d->msix_bir].present)
		return 0;
	d->msi = gmem_drv(d->o.gm, d->o.msi_gpa, GMEM_PAGE_SIZE);
	if (!d->msi)
		return -1;
	memset(d->msi, 0, GMEM_PAGE_SIZE);
	d->nvec = ts < 1 + VT_MAX_QUEUES ? ts : 1 + VT_MAX_QUEUES;
	for (unsigned v = 0; v < d->nvec; v++)
		msix_entry(d, v, d->o.msi_gpa + 4ull * v, MSI_DATA_TAG | v, false);
	uint32_t ctl = d->fn.ops->cfg_read(d->fn.ctx, d->msix_pos + 2, 2);
	ctl = (ctl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL;
	d->fn.ops->cfg_write(d->fn.ctx, d->msix_pos + 2, 2, ctl);
	d->info.msix = true;
	return 0;
}

static unsigned queue_vector(const struct vpci *d, unsigned q)
{
	return 1 + q % (d->nvec - 1);
}

/* Map an event to a vector and verify it (DEV-4.1.5.1.2.1): the device
 * returns the vector, or NO_VECTOR when it could not map it. */
static int map_vector(struct vpci *d, unsigned off, unsigned v, const char *what)
{
	common_wr(d, off, 2, v);
	uint16_t got = (uint16_t)common_rd(d, off, 2);
	if (got == v)
		return (int)v;
	if (fn_dead(d))
		return -1;
	if (got == VT_PCI_MSI_NO_VECTOR) {
		vt_advice(d->o.vd, "DEV-4.1.5.1.2.1", VT_WHO_DEVICE,
			  "%s: mapping to MSI-X vector %u failed (table size %u)", what, v,
			  d->info.msix_table_size);
	} else {
		char exp[16], gt[16];
		snprintf(exp, sizeof(exp), "%u", v);
		snprintf(gt, sizeof(gt), "%u", got);
		vt_violation(d->o.vd, "DEV-4.1.5.1.2.1", VT_WHO_DEVICE, exp, gt,
			     "%s: vector read back is neither the one written nor NO_VECTOR", what);
	}
	d->isr_needed = true;
	return -1;
}

/* After a reset every event is unmapped and every queue disabled
 * (DEV-4.1.5.1.2.1, DEV-4.1.4.3.1). */
static void check_after_reset(struct vpci *d)
{
	if (d->info.msix) {
		uint16_t v = (uint16_t)common_rd(d, VT_PCI_COMMON_MSIX, 2);
		if (v != VT_PCI_MSI_NO_VECTOR && !fn_dead(d)) {
			char gt[16];
			snprintf(gt, sizeof(gt), "%u", v);
			vt_violation(d->o.vd, "DEV-4.1.5.1.2.1", VT_WHO_DEVICE, "NO_VECTOR (65535)", gt,
				     "config_msix_vector still mapped after reset");
		}
	}
	unsigned n = d->info.num_queues < VT_MAX_QUEUES ? d->info.num_queues : VT_MAX_QUEUES;
	for (unsigned q = 0; q < n; q++) {
		select_queue(d, q);
		uint16_t en = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_ENABLE, 2);
		uint16_t mv = d->info.msix ? (uint16_t)common_rd(d, VT_PCI_COMMON_Q_MSIX, 2)
					   : VT_PCI_MSI_NO_VECTOR;
		if (fn_dead(d))
			return;
		if (en)
			vt_violation(d->o.vd, "DEV-4.1.4.3.1", VT_WHO_DEVICE, "0", "1",
				     "queue %u: queue_enable reads 1 after reset", q);
		if (mv != VT_PCI_MSI_NO_VECTOR) {
			char gt[16];
			snprintf(gt, sizeof(gt), "%u", mv);
			vt_violation(d->o.vd, "DEV-4.1.5.1.2.1", VT_WHO_DEVICE, "NO_VECTOR (65535)", gt,
				     "queue %u: queue_msix_vector still mapped after reset", q);
		}
		d->q_enabled[q] = false;
		d->q_vec[q] = -1;
	}
	d->cfg_vec = -1;
	d->isr_needed = false;
}

/* ---- struct vt_transport_ops ---- */

static uint8_t get_status(struct vt_transport *t)
{
	struct vpci *d = of(t);
	uint8_t st = (uint8_t)common_rd(d, VT_PCI_COMMON_STATUS, 1);
	if (fn_dead(d))
		return 0;          /* a dead function reads as reset: no loop waits */
	if (st == 0 && d->reset_pending) {
		d->reset_pending = false;
		check_after_reset(d);
	}
	return st;
}

static void set_status(struct vt_transport *t, uint8_t status)
{
	struct vpci *d = of(t);
	bool starting = d->status_written == 0 && status != 0;
	common_wr(d, VT_PCI_COMMON_STATUS, 1, status);
	d->status_written = status;
	if (status == 0) {
		d->reset_pending = true;
		d->drv_feat = 0;
		d->dev_feat_known[0] = d->dev_feat_known[1] = false;
		return;
	}
	/* configuration change notifications get their vector before
	 * anything can change (vectors are unmapped by every reset) */
	if (starting && d->info.msix)
		d->cfg_vec = map_vector(d, VT_PCI_COMMON_MSIX, 0, "config_msix_vector");
	else if (starting)
		d->isr_needed = true;
}

static uint32_t get_device_features(struct vt_transport *t, unsigned sel)
{
	struct vpci *d = of(t);
	common_wr(d, VT_PCI_COMMON_DFSELECT, 4, sel);
	uint32_t v = common_rd(d, VT_PCI_COMMON_DF, 4);
	if (fn_dead(d))
		return 0;
	if (sel < 2) {
		d->dev_feat[sel] = v;
		d->dev_feat_known[sel] = true;
	}
	return v;
}

/* The device presents the valid bits the driver wrote (DEV-4.1.4.3.1). */
static void set_driver_features(struct vt_transport *t, unsigned sel, uint32_t val)
{
	struct vpci *d = of(t);
	common_wr(d, VT_PCI_COMMON_GFSELECT, 4, sel);
	common_wr(d, VT_PCI_COMMON_GF, 4, val);
	if (sel >= 2)
		return;
	d->drv_feat = (d->drv_feat & ~(0xffffffffull << (32 * sel))) | (uint64_t)val << (32 * sel);
	if (!d->dev_feat_known[sel])
		get_device_features(t, sel);
	common_wr(d, VT_PCI_COMMON_GFSELECT, 4, sel);
	uint32_t back = common_rd(d, VT_PCI_COMMON_GF, 4);
	uint32_t valid = val & d->dev_feat[sel];
	if ((back & valid) != valid && !fn_dead(d)) {
		char exp[24], gt[24];
		snprintf(exp, sizeof(exp), "0x%08x", valid);
		snprintf(gt, sizeof(gt), "0x%08x", back);
		vt_violation(d->o.vd, "DEV-4.1.4.3.1", VT_WHO_DEVICE, exp, gt,
			     "driver_feature word %u does not present the valid bits written", sel);
	}
}

static uint32_t config_generation(struct vt_transport *t)
{
	struct vpci *d = of(t);
	uint32_t g = common_rd(d, VT_PCI_COMMON_CFGGEN, 1);
	return fn_dead(d) ? 0 : g;
}

static uint32_t config_read(struct vt_transport *t, unsigned off, unsigned width)
{
	struct vpci *d = of(t);
	if (!d->info.has_device_cfg || off + width > d->info.device_cfg.length)
		return 0;
	uint32_t v = vt_virtio_pci_cap_read(t, &d->info.device_cfg, off, width);
	return fn_dead(d) ? 0 : v;
}

static void config_write(struct vt_transport *t, unsigned off, unsigned width, uint32_t val)
{
	struct vpci *d = of(t);
	if (d->info.has_device_cfg && off + width <= d->info.device_cfg.length)
		vt_virtio_pci_cap_write(t, &d->info.device_cfg, off, width, val);
}

static unsigned num_queues(struct vt_transport *t)
{
	struct vpci *d = of(t);
	unsigned n = common_rd(d, VT_PCI_COMMON_NUMQ, 2);
	if (fn_dead(d))
		return 0;
	d->info.num_queues = n;
	return n;
}

/* Queue size: 0 or a power of 2 unless RING_PACKED was negotiated
 * (DEV-4.1.4.3.1). */
static uint16_t queue_size_max(struct vt_transport *t, unsigned q)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	uint16_t n = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_SIZE, 2);
	if (fn_dead(d))
		return 0;
	if (n & (n - 1) && !(d->drv_feat & VT_BIT(VIRTIO_F_RING_PACKED))) {
		char gt[16];
		snprintf(gt, sizeof(gt), "%u", n);
		vt_violation(d->o.vd, "DEV-4.1.4.3.1", VT_WHO_DEVICE, "0 or a power of 2", gt,
			     "queue %u: queue_size without RING_PACKED negotiated", q);
	}
	return n;
}

static void queue_set(struct vt_transport *t, unsigned q, const struct vt_queue_cfg *cfg)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	common_wr(d, VT_PCI_COMMON_Q_SIZE, 2, cfg->size);
	common_wr64(d, VT_PCI_COMMON_Q_DESCLO, cfg->desc);
	common_wr64(d, VT_PCI_COMMON_Q_AVAILLO, cfg->driver);
	common_wr64(d, VT_PCI_COMMON_Q_USEDLO, cfg->device);
	if (q < VT_MAX_QUEUES) {
		d->q_notify_off[q] = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_NOFF, 2);
		if (d->info.msix) {
			char what[32];
			snprintf(what, sizeof(what), "queue %u vector", q);
			d->q_vec[q] = map_vector(d, VT_PCI_COMMON_Q_MSIX, queue_vector(d, q), what);
		}
	}
}

static void queue_enable(struct vt_transport *t, unsigned q)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	if (q < VT_MAX_QUEUES && d->info.msix && d->q_vec[q] < 0)
		/* re-enabled without queue_set: the vector the queue had */
		d->q_vec[q] = (int)common_rd(d, VT_PCI_COMMON_Q_MSIX, 2) == VT_PCI_MSI_NO_VECTOR
				      ? -1 : (int)queue_vector(d, q);
	common_wr(d, VT_PCI_COMMON_Q_ENABLE, 2, 1);
	if (q < VT_MAX_QUEUES)
		d->q_enabled[q] = true;
	/* queue_reset reads 0 once the queue is enabled (DEV-4.1.4.3.1) */
	if (d->drv_feat & VT_BIT(VIRTIO_F_RING_RESET) && d->info.common.length > VT_PCI_COMMON_Q_RESET) {
		uint16_t r = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_RESET, 2);
		if (r && !fn_dead(d))
			vt_violation(d->o.vd, "DEV-4.1.4.3.1", VT_WHO_DEVICE, "0", "1",
				     "queue %u: queue_reset reads 1 after queue_enable", q);
	}
}

static bool queue_enabled(struct vt_transport *t, unsigned q)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	uint16_t en = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_ENABLE, 2);
	return !fn_dead(d) && en != 0;
}

static void queue_reset(struct vt_transport *t, unsigned q)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	common_wr(d, VT_PCI_COMMON_Q_RESET, 2, 1);
}

/* Complete when queue_reset reads 0; queue_enable reads 0 then too
 * (DEV-4.1.4.3.1). */
static bool queue_reset_done(struct vt_transport *t, unsigned q)
{
	struct vpci *d = of(t);
	select_queue(d, q);
	uint16_t r = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_RESET, 2);
	if (fn_dead(d))
		return true;
	if (r)
		return false;
	uint16_t en = (uint16_t)common_rd(d, VT_PCI_COMMON_Q_ENABLE, 2);
	if (en && !fn_dead(d))
		vt_violation(d->o.vd, "DEV-4.1.4.3.1", VT_WHO_DEVICE, "0", "1",
			     "queue %u: queue_enable reads 1 after the queue reset completed", q);
	if (q < VT_MAX_QUEUES) {
		d->q_enabled[q] = false;
		d->q_vec[q] = -1;
	}
	return true;
}

/* Queue Notify address: cap.offset + queue_notify_off * multiplier; 16
 * bits of queue index, or the 32 bits of notification data. */
static void notify(struct vt_transport *t, unsigned q, uint32_t data)
{
	struct vpci *d = of(t);
	uint64_t off = q < VT_MAX_QUEUES ? (uint64_t)d->q_notify_off[q] * d->info.notify.extra : 0;
	if (d->drv_feat & VT_BIT(VIRTIO_F_NOTIFICATION_DATA))
		vt_virtio_pci_cap_write(t, &d->info.notify, off, 4, data);
	else
		vt_virtio_pci_cap_write(t, &d->info.notify, off, 2, data & 0xffff);
}

static void count_queue_irq(struct vpci *d, bool only_unmapped)
{
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		if (d->q_enabled[q] && (!only_unmapped || d->q_vec[q] < 0))
			__atomic_add_fetch(&d->t.used_irq[q], 1, __ATOMIC_RELEASE);
}

/* ISR status: reading it clears it and deasserts INTx. */
static void take_isr(struct vpci *d)
{
	uint8_t isr = (uint8_t)vt_virtio_pci_cap_read(&d->t, &d->info.isr, 0, 1);
	if (fn_dead(d))
		return;
	d->info.isr_reads++;
	if (isr & 1)
		count_queue_irq(d, d->info.msix);
	if (isr & 2 && (!d->info.msix || d->cfg_vec < 0))
		__atomic_add_fetch(&d->t.config_irq, 1, __ATOMIC_RELEASE);
}

static void take_msi(struct vpci *d)
{
	for (unsigned v = 0; v < d->nvec; v++) {
		if (!__atomic_load_n(&d->msi[v], __ATOMIC_RELAXED))
			continue;
		uint32_t w = __atomic_exchange_n(&d->msi[v], 0, __ATOMIC_ACQ_REL);
		if (!w)
			continue;
		d->info.msi_seen++;
		if ((int)v == d->cfg_vec)
			__atomic_add_fetch(&d->t.config_irq, 1, __ATOMIC_RELEASE);
		for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
			if (d->q_vec[q] == (int)v)
				__atomic_add_fetch(&d->t.used_irq[q], 1, __ATOMIC_RELEASE);
	}
}

static void poll_fn(struct vt_transport *t)
{
	struct vpci *d = of(t);
	if (fn_dead(d))
		return;
	if (d->info.msix)
		take_msi(d);
	if (d->info.msix && !d->isr_needed)
		return;
	if (d->fn.ops->poll)
		d->fn.ops->poll(d->fn.ctx);
	bool asserted = true;
	uint64_t n = d->fn.ops->irq_count ? d->fn.ops->irq_count(d->fn.ctx, &asserted) : 0;
	/* without an INTx count, ISR is read on every poll */
	if (!d->fn.ops->irq_count || asserted || n != d->irq_seen) {
		d->irq_seen = n;
		take_isr(d);
	}
}

static void destroy(struct vt_transport *t)
{
	struct vpci *d = of(t);
	void (*release)(void *) = d->release;
	void *ctx = d->release_ctx;
	free(d);
	if (release)
		release(ctx);
}

static const struct vt_transport_ops vpci_ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_device_features = get_device_features,
	.set_driver_features = set_driver_features,
	.config_generation = config_generation,
	.config_read = config_read,
	.config_write = config_write,
	.num_queues = num_queues,
	.queue_size_max = queue_size_max,
	.queue_set = queue_set,
	.queue_enable = queue_enable,
	.queue_enabled = queue_enabled,
	.queue_reset = queue_reset,
	.queue_reset_done = queue_reset_done,
	.notify = notify,
	.poll = poll_fn,
	.destroy = destroy,
};

/* ---- bring-up ---- */

static int missing(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "no usable %s capability", what);
	return -1;
}

static int bring_up(struct vpci *d, char *err, size_t errlen)
{
	const struct vt_pci_fn *fn = &d->fn;
	uint8_t img[VT_PCI_CFG_SIZE];
	uint32_t id = fn->ops->cfg_read(fn->ctx, 0, 4);

	d->info.vendor = (uint16_t)id;
	d->info.device = (uint16_t)(id >> 16);
	if (fn_dead(d)) {
		snprintf(err, errlen, "the PCI function does not answer");
		return -1;
	}
	if (d->info.vendor != VT_PCI_VENDOR_VIRTIO) {
		snprintf(err, errlen, "PCI function %04x:%04x is not a virtio device",
			 d->info.vendor, d->info.device);
		return -1;
	}
	if (vt_pci_size_bars(fn, d->info.bar)) {
		snprintf(err, errlen, "a 64-bit BAR in the last BAR slot");
		return -1;
	}
	program_bars(d);
	bool io = false;
	for (unsigned i = 0; i < VT_PCI_NBARS; i++)
		io |= d->info.bar[i].present && d->info.bar[i].io;
	uint32_t cmd = fn->ops->cfg_read(fn->ctx, PCI_COMMAND, 2);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | (io ? PCI_COMMAND_IO : 0);
	fn->ops->cfg_write(fn->ctx, PCI_COMMAND, 2, cmd);

	vt_pci_read_config(fn, img, sizeof(img));
	d->info.revision = img[PCI_REVISION_ID];
	walk_caps(d, img);
	if (fn_dead(d)) {
		snprintf(err, errlen, "the PCI function stopped answering during bring-up");
		return -1;
	}
	if (!d->info.common.pos)
		return missing(err, errlen, "common configuration");
	if (!d->info.notify.pos)
		return missing(err, errlen, "notification");
	if (!d->info.isr.pos)
		return missing(err, errlen, "ISR status");
	if (setup_msix(d)) {
		snprintf(err, errlen, "MSI-X message page 0x%llx is not guest RAM",
			 (unsigned long long)d->o.msi_gpa);
		return -1;
	}
	d->info.num_queues = common_rd(d, VT_PCI_COMMON_NUMQ, 2);
	return 0;
}

struct vt_transport *vt_virtio_pci_create(const struct vt_pci_fn *fn,
					  const struct vt_virtio_pci_opts *o,
					  char *err, size_t errlen)
{
	struct vpci *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->fn = *fn;
	d->o = *o;
	d->t.ops = &vpci_ops;
	d->t.name = o->name ? o->name : "virtio-pci";
	d->reset_pending = true;
	if (bring_up(d, err, errlen)) {
		free(d);
		return NULL;
	}
	return &d->t;
}

void vt_virtio_pci_set_release(struct vt_transport *t, void (*release)(void *ctx), void *ctx)
{
	of(t)->release = release;
	of(t)->release_ctx = ctx;
}

const struct vt_virtio_pci_info *vt_virtio_pci_info(struct vt_transport *t)
{
	return &of(t)->info;
}

void *vt_virtio_pci_owner(struct vt_transport *t)
{
	return of(t)->release_ctx;
}
