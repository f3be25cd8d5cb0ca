/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pci_check.c - a virtio PCI function's layout judged against the device rules of 4.1. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci_check.h"
#include "../virtio.h"

#define CAP_ID_VNDR      0x09
#define CAP_ID_MSIX      0x11
#define MAX_CAPS         48
#define MAX_QUEUES       64      /* queues whose notify offset is checked */
#define VIRTIO_CAP_LEN   16      /* struct virtio_pci_cap                 */

struct check {
	const struct vt_pci_image *img;
	struct vt_verdict *vd;
	struct vt_pci_summary *sum;
	struct vt_pci_vcap cap[MAX_CAPS];
	unsigned ncap;
	unsigned msix_pos;
	int pci_cfg_pos;               /* first PCI configuration access cap */
	bool features_known;
	uint64_t features;
	unsigned musts;
};

/* ---- the image ---- */

static uint8_t c8(const struct check *c, unsigned off)
{
	return off < VT_PCI_CFG_SIZE ? c->img->cfg[off] : 0;
}

static uint16_t c16(const struct check *c, unsigned off)
{
	return (uint16_t)(c8(c, off) | c8(c, off + 1) << 8);
}

static uint32_t c32(const struct check *c, unsigned off)
{
	return (uint32_t)c16(c, off) | (uint32_t)c16(c, off + 2) << 16;
}

static void finding(struct check *c, const char *rule, const char *exp, const char *got,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finding(struct check *c, const char *rule, const char *exp, const char *got,
		    const char *fmt, ...)
{
	char msg[VT_VIOL_MSG];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->musts++;
	vt_violation(c->vd, rule, VT_WHO_DEVICE, exp, got, "%s", msg);
}

/* ---- device types ---- */

static const struct { uint16_t pci_id; int type; } transitional_ids[] = {
	{ 0x1000, 1 }, { 0x1001, 2 }, { 0x1002, 5 }, { 0x1003, 3 },
	{ 0x1004, 8 }, { 0x1005, 4 }, { 0x1009, 9 },
};

static const struct { int type; const char *name; bool config; } types[] = {
	{ 1, "network", true },        { 2, "block", true },
	{ 3, "console", true },        { 4, "entropy", false },
	{ 5, "memory balloon", true }, { 8, "SCSI host", true },
	{ 9, "9P transport", true },   { 16, "GPU", true },
	{ 18, "input", true },         { 19, "socket", true },
	{ 20, "crypto", true },        { 23, "IOMMU", true },
	{ 24, "memory", true },        { 25, "sound", true },
	{ 26, "file system", true },   { 27, "PMEM", true },
	{ 28, "RPMB", true },
};

const char *vt_pci_type_name(int virtio_type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == virtio_type)
			return types[i].name;
	return NULL;
}

/* 1: the type has a device-specific configuration, 0: it has none,
 * -1: not known here. */
static int type_has_config(int virtio_type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == virtio_type)
			return types[i].config;
	return -1;
}

/* ---- identity (4.1.2) ---- */

static bool check_ids(struct check *c)
{
	uint16_t vendor = c16(c, 0x00), dev = c16(c, 0x02), subdev = c16(c, 0x2e);
	uint8_t rev = c8(c, 0x08);
	char got[24];

	c->sum->device_id = dev;
	c->sum->virtio_type = -1;
	if (vendor != VT_PCI_VENDOR_VIRTIO) {
		snprintf(got, sizeof(got), "0x%04x", vendor);
		finding(c, "DEV-4.1.2.1", "0x1af4", got, "PCI Vendor ID is not 0x1AF4");
		return false;
	}
	c->sum->virtio = true;
	if (dev >= 0x1040 && dev <= 0x107f) {
		c->sum->virtio_type = dev - 0x1040;
		if (rev < 1)
			vt_advice(c->vd, "DEV-4.1.2.1", VT_WHO_DEVICE,
				  "non-transitional device with PCI Revision ID %u (should be 1 or "
				  "higher)", rev);
		if (subdev < 0x40)
			vt_advice(c->vd, "DEV-4.1.2.1", VT_WHO_DEVICE,
				  "non-transitional device with PCI Subsystem Device ID 0x%04x "
				  "(should be 0x40 or higher)", subdev);
		return true;
	}
	for (size_t i = 0; i < sizeof(transitional_ids) / sizeof(transitional_ids[0]); i++)
		if (transitional_ids[i].pci_id == dev) {
			c->sum->transitional = true;
			c->sum->virtio_type = transitional_ids[i].type;
			return true;
		}
	snprintf(got, sizeof(got), "0x%04x", dev);
	finding(c, "DEV-4.1.2.1", "0x1040 + device type, or a transitional ID", got,
		"PCI Device ID is neither 0x1040 + a device type nor a transitional ID of "
		"the table");
	return true;
}

/* ---- header and capability list (PCI: DEV-4.1.1) ---- */

static void check_header(struct check *c)
{
	uint8_t ht = c8(c, 0x0e) & 0x7f;
	char got[16];
	if (ht != 0) {
		snprintf(got, sizeof(got), "%u", ht);
		finding(c, "DEV-4.1.1", "header type 0", got,
			"a virtio function's configuration header is not an endpoint's (type 0)");
	}
}

/* Bytes a capability of this type needs in cap_len (DEV-4.1.4.2). */
static unsigned vcap_min_len(uint8_t cfg_type)
{
	switch (cfg_type) {
	case VT_PCI_CAP_NOTIFY_CFG:    return VIRTIO_CAP_LEN + 4;   /* notify_off_multiplier */
	case VT_PCI_CAP_PCI_CFG:       return VIRTIO_CAP_LEN + 4;   /* pci_cfg_data          */
	case VT_PCI_CAP_SHARED_MEMORY: return VIRTIO_CAP_LEN + 8;   /* offset_hi, length_hi  */
	case VT_PCI_CAP_VENDOR_CFG:    return 8;
	default:                       return VIRTIO_CAP_LEN;
	}
}

static void take_vcap(struct check *c, unsigned pos)
{
	struct vt_pci_vcap v;
	char exp[16], got[16];

	vt_pci_parse_vcap(c->img->cfg, pos, &v);
	c->sum->nvcaps++;
	unsigned need = vcap_min_len(v.cfg_type);
	if (v.cap_len < need) {
		snprintf(exp, sizeof(exp), ">= %u", need);
		snprintf(got, sizeof(got), "%u", v.cap_len);
		finding(c, "DEV-4.1.4.2", exp, got,
			"virtio capability at 0x%02x (cfg_type %u): cap_len does not cover the "
			"structure and its extra data", pos, v.cfg_type);
	}
	if (pos + v.cap_len > VT_PCI_CFG_SIZE) {
		snprintf(got, sizeof(got), "%u", pos + v.cap_len);
		finding(c, "DEV-4.1.1", "<= 256", got,
			"capability at 0x%02x runs past the end of configuration space", pos);
	}
	if (v.cfg_type == VT_PCI_CAP_VENDOR_CFG) {
		uint16_t vid = c16(c, pos + 4);
		if (vid == VT_PCI_VENDOR_VIRTIO)
			finding(c, "DEV-4.1.4.8.1", "not 0x1af4", "0x1af4",
				"vendor data capability at 0x%02x has vendor_id 0x1AF4", pos);
		if (v.cap_len % 4) {
			snprintf(got, sizeof(got), "%u", v.cap_len);
			finding(c, "DEV-4.1.4.8.1", "a multiple of 4", got,
				"vendor data capability at 0x%02x: size not a multiple of 4", pos);
		}
	}
	if (v.cfg_type == VT_PCI_CAP_PCI_CFG && c->pci_cfg_pos < 0 && v.cap_len >= need)
		c->pci_cfg_pos = (int)pos;
	if (c->ncap < MAX_CAPS)
		c->cap[c->ncap++] = v;
}

static void walk(struct check *c)
{
	bool seen[VT_PCI_CFG_SIZE / 4] = { false };
	char got[16];

	if (!(c16(c, 0x06) & 0x10)) {
		finding(c, "DEV-4.1.1", "Capabilities List bit set", "clear",
			"the status register says there is no capability list; virtio "
			"structures are found through it");
		return;
	}
	unsigned pos = c8(c, 0x34);
	while (pos) {
		if (pos < 0x40 || pos > VT_PCI_CFG_SIZE - 4 || (pos & 3)) {
			snprintf(got, sizeof(got), "0x%02x", pos);
			finding(c, "DEV-4.1.1", "a dword in 0x40..0xfc", got,
				"capability pointer outside the device-specific part of "
				"configuration space or not dword aligned");
			return;
		}
		if (seen[pos / 4]) {
			snprintf(got, sizeof(got), "0x%02x", pos);
			finding(c, "DEV-4.1.1", "a list that ends", got,
				"the capability list loops back to 0x%02x", pos);
			return;
		}
		seen[pos / 4] = true;
		c->sum->ncaps++;
		uint8_t id = c8(c, pos);
		if (id == CAP_ID_VNDR)
			take_vcap(c, pos);
		else if (id == CAP_ID_MSIX && !c->msix_pos)
			c->msix_pos = pos;
		pos = c8(c, pos + 1);
	}
}

/* ---- BARs ---- */

/* The BAR a capability names, or NULL when the slot is no BAR of its own
 * (reserved value, not implemented, upper half of a 64-bit BAR). */
static const struct vt_pci_bar *bar_of(const struct check *c, unsigned bar)
{
	const struct vt_pci_image *img = c->img;
	if (bar >= VT_PCI_NBARS)
		return NULL;
	if (!img->bars_known)
		return NULL;
	if (bar > 0 && img->bar[bar - 1].present && img->bar[bar - 1].mem64)
		return NULL;
	return img->bar[bar].present ? &img->bar[bar] : NULL;
}

static bool range_in_bar(const struct vt_pci_bar *b, uint64_t off, uint64_t len)
{
	return off <= b->size && len <= b->size - off;
}

static const char *type_rule(uint8_t cfg_type)
{
	switch (cfg_type) {
	case VT_PCI_CAP_COMMON_CFG:    return "DEV-4.1.4.3.1";
	case VT_PCI_CAP_NOTIFY_CFG:    return "DEV-4.1.4.4.1";
	case VT_PCI_CAP_ISR_CFG:       return "DEV-4.1.4.5.1";
	case VT_PCI_CAP_DEVICE_CFG:    return "DEV-4.1.4.6.1";
	case VT_PCI_CAP_SHARED_MEMORY: return "DEV-4.1.4.7.1";
	default:                       return NULL;
	}
}

static const char *type_name(uint8_t cfg_type)
{
	switch (cfg_type) {
	case VT_PCI_CAP_COMMON_CFG:    return "common configuration";
	case VT_PCI_CAP_NOTIFY_CFG:    return "notification";
	case VT_PCI_CAP_ISR_CFG:       return "ISR status";
	case VT_PCI_CAP_DEVICE_CFG:    return "device-specific configuration";
	case VT_PCI_CAP_SHARED_MEMORY: return "shared memory";
	default:                       return "virtio";
	}
}

/* A structure a driver can reach: its BAR exists and holds it.  With BAR
 * sizes unknown only the BAR number can be judged. */
static bool structure_reachable(struct check *c, const struct vt_pci_vcap *v, bool report)
{
	const char *rule = type_rule(v->cfg_type);
	char got[48];
	if (v->bar >= VT_PCI_NBARS)
		return false;              /* reserved: a driver ignores it */
	if (!c->img->bars_known)
		return true;
	const struct vt_pci_bar *b = bar_of(c, v->bar);
	if (!b) {
		if (report && rule) {
			snprintf(got, sizeof(got), "BAR %u", v->bar);
			finding(c, rule, "an implemented BAR", got, "%s structure (capability at "
				"0x%02x) names a BAR the function does not implement",
				type_name(v->cfg_type), v->pos);
		}
		return false;
	}
	if (!range_in_bar(b, v->offset, v->length)) {
		if (report && rule) {
			snprintf(got, sizeof(got), "0x%llx+0x%llx > 0x%llx",
				 (unsigned long long)v->offset, (unsigned long long)v->length,
				 (unsigned long long)b->size);
			finding(c, rule, "inside the BAR", got, "%s structure (capability at 0x%02x) "
				"runs past the end of BAR %u", type_name(v->cfg_type), v->pos, v->bar);
		}
		return false;
	}
	return true;
}

/* ---- the structures (4.1.4) ---- */

static const struct vt_pci_vcap *first_usable(struct check *c, uint8_t cfg_type)
{
	for (unsigned i = 0; i < c->ncap; i++)
		if (c->cap[i].cfg_type == cfg_type && c->cap[i].cap_len >= vcap_min_len(cfg_type) &&
		    structure_reachable(c, &c->cap[i], false))
			return &c->cap[i];
	return NULL;
}

static void check_alignment(struct check *c, const struct vt_pci_vcap *v, unsigned align)
{
	char exp[32], got[24];
	if (v->offset % align == 0)
		return;
	snprintf(exp, sizeof(exp), "a multiple of %u", align);
	snprintf(got, sizeof(got), "0x%llx", (unsigned long long)v->offset);
	finding(c, type_rule(v->cfg_type), exp, got, "%s structure (capability at 0x%02x): "
		"offset not %u-byte aligned", type_name(v->cfg_type), v->pos, align);
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void check_notify(struct check *c, const struct vt_pci_vcap *v)
{
	bool data = c->features_known && (c->features & VT_BIT(VIRTIO_F_NOTIFICATION_DATA));
	unsigned width = data ? 4 : 2;
	char exp[48], got[24];

	check_alignment(c, v, width);
	uint32_t m = v->extra;
	if (data ? (m && (!pow2(m) || m % 4)) : (m && (!pow2(m) || m % 2))) {
		snprintf(exp, sizeof(exp), data ? "0 or a power of 2, multiple of 4"
						: "0 or an even power of 2");
		snprintf(got, sizeof(got), "%u", m);
		finding(c, "DEV-4.1.4.4.1", exp, got,
			"notify_off_multiplier (capability at 0x%02x)", v->pos);
	}
	if (v->length < width) {
		snprintf(exp, sizeof(exp), ">= %u", width);
		snprintf(got, sizeof(got), "%llu", (unsigned long long)v->length);
		finding(c, "DEV-4.1.4.4.1", exp, got,
			"notification structure (capability at 0x%02x) shorter than one "
			"notification", v->pos);
	}
}

static void check_structures(struct check *c)
{
	for (unsigned i = 0; i < c->ncap; i++) {
		const struct vt_pci_vcap *v = &c->cap[i];
		if (type_rule(v->cfg_type))
			structure_reachable(c, v, true);
	}
	const struct vt_pci_vcap *common = first_usable(c, VT_PCI_CAP_COMMON_CFG);
	const struct vt_pci_vcap *notify = first_usable(c, VT_PCI_CAP_NOTIFY_CFG);
	const struct vt_pci_vcap *isr = first_usable(c, VT_PCI_CAP_ISR_CFG);
	const struct vt_pci_vcap *dev = first_usable(c, VT_PCI_CAP_DEVICE_CFG);

	if (!common)
		finding(c, "DEV-4.1.4.3.1", "a common configuration capability", "none usable",
			"no common configuration structure a driver can use");
	else {
		check_alignment(c, common, 4);
		if (common->length < VT_PCI_COMMON_V1_SIZE) {
			char got[24];
			snprintf(got, sizeof(got), "%llu", (unsigned long long)common->length);
			finding(c, "DEV-4.1.4.3.1", ">= 56 (every field up to queue_device)", got,
				"common configuration structure too short for its fields");
		}
	}
	if (!notify)
		finding(c, "DEV-4.1.4.4.1", "a notification capability", "none usable",
			"no notification structure a driver can use");
	else
		check_notify(c, notify);
	if (!isr)
		finding(c, "DEV-4.1.4.5.1", "an ISR status capability", "none usable",
			"no ISR status structure a driver can use");
	if (dev)
		check_alignment(c, dev, 4);
	else if (type_has_config(c->sum->virtio_type) == 1)
		finding(c, "DEV-4.1.4.6.1", "a device-specific configuration capability",
			"none usable", "the %s device type has a device-specific configuration but "
			"no capability points to it", vt_pci_type_name(c->sum->virtio_type));
	if (c->pci_cfg_pos < 0)
		finding(c, "DEV-4.1.4.9.1", "a PCI configuration access capability", "none",
			"no VIRTIO_PCI_CAP_PCI_CFG capability");
}

static void check_shared_memory(struct check *c)
{
	for (unsigned i = 0; i < c->ncap; i++) {
		const struct vt_pci_vcap *a = &c->cap[i];
		if (a->cfg_type != VT_PCI_CAP_SHARED_MEMORY)
			continue;
		for (unsigned j = i + 1; j < c->ncap; j++)
			if (c->cap[j].cfg_type == VT_PCI_CAP_SHARED_MEMORY && c->cap[j].id == a->id) {
				char got[16];
				snprintf(got, sizeof(got), "%u twice", a->id);
				finding(c, "DEV-4.1.4.7.1", "unique ids", got, "shared memory "
					"capabilities at 0x%02x and 0x%02x share cap.id", a->pos,
					c->cap[j].pos);
			}
	}
}

/* ---- MSI-X ---- */

static void check_msix_region(struct check *c, const char *what, uint32_t reg, uint64_t len)
{
	unsigned bir = reg & 7;
	uint64_t off = reg & ~7u;
	char got[48];
	if (!c->img->bars_known)
		return;
	const struct vt_pci_bar *b = bar_of(c, bir);
	if (b && !b->io && range_in_bar(b, off, len))
		return;
	snprintf(got, sizeof(got), "BAR %u + 0x%llx", bir, (unsigned long long)off);
	finding(c, "DEV-4.1.1", "inside a memory BAR", got, "MSI-X %s not inside a memory BAR",
		what);
}

static void check_msix(struct check *c)
{
	if (!c->msix_pos)
		return;
	unsigned ts = (c16(c, c->msix_pos + 2) & 0x7ff) + 1;
	if (ts < 2)
		vt_advice(c->vd, "DEV-4.1.5.1.2.1", VT_WHO_DEVICE,
			  "MSI-X table size %u (should be at least 2)", ts);
	check_msix_region(c, "table", c32(c, c->msix_pos + 4), 16ull * ts);
	check_msix_region(c, "pending bit array", c32(c, c->msix_pos + 8), (ts + 63) / 64 * 8);
}

/* ---- the live function: what the image cannot show ---- */

static int bar_rd(struct check *c, const struct vt_pci_vcap *v, uint64_t off, unsigned w,
		  uint32_t *val)
{
	const struct vt_pci_access *a = c->img->access;
	return a && a->bar_read ? a->bar_read(a->ctx, v->bar, v->offset + off, w, val) : -1;
}

static int bar_wr(struct check *c, const struct vt_pci_vcap *v, uint64_t off, unsigned w,
		  uint32_t val)
{
	const struct vt_pci_access *a = c->img->access;
	return a && a->bar_write ? a->bar_write(a->ctx, v->bar, v->offset + off, w, val) : -1;
}

/* Offered features, and no bits beyond 63 (DEV-4.1.4.3.1). */
static void probe_features(struct check *c, const struct vt_pci_vcap *common)
{
	uint32_t sel, lo, hi, beyond;
	if (bar_rd(c, common, VT_PCI_COMMON_DFSELECT, 4, &sel) ||
	    bar_wr(c, common, VT_PCI_COMMON_DFSELECT, 4, 0) ||
	    bar_rd(c, common, VT_PCI_COMMON_DF, 4, &lo) ||
	    bar_wr(c, common, VT_PCI_COMMON_DFSELECT, 4, 1) ||
	    bar_rd(c, common, VT_PCI_COMMON_DF, 4, &hi) ||
	    bar_wr(c, common, VT_PCI_COMMON_DFSELECT, 4, 2) ||
	    bar_rd(c, common, VT_PCI_COMMON_DF, 4, &beyond))
		return;
	bar_wr(c, common, VT_PCI_COMMON_DFSELECT, 4, sel);
	c->features_known = true;
	c->features = (uint64_t)hi << 32 | lo;
	if (beyond) {
		char got[16];
		snprintf(got, sizeof(got), "0x%08x", beyond);
		finding(c, "DEV-4.1.4.3.1", "0", got,
			"device_feature with device_feature_select 2 presents bits beyond 63");
	}
}

/* Every queue's notification address fits the notification structure;
 * queue sizes are 0 or powers of 2 before anything is negotiated. */
static void probe_queues(struct check *c, const struct vt_pci_vcap *common,
			 const struct vt_pci_vcap *notify)
{
	uint32_t nq, sel;
	if (bar_rd(c, common, VT_PCI_COMMON_NUMQ, 2, &nq) ||
	    bar_rd(c, common, VT_PCI_COMMON_Q_SELECT, 2, &sel))
		return;
	unsigned width = c->features & VT_BIT(VIRTIO_F_NOTIFICATION_DATA) ? 4 : 2;
	for (unsigned q = 0; q < nq && q < MAX_QUEUES; q++) {
		uint32_t size, noff;
		if (bar_wr(c, common, VT_PCI_COMMON_Q_SELECT, 2, q) ||
		    bar_rd(c, common, VT_PCI_COMMON_Q_SIZE, 2, &size) ||
		    bar_rd(c, common, VT_PCI_COMMON_Q_NOFF, 2, &noff))
			break;
		c->sum->queues_checked++;
		char exp[48], got[48];
		if (size & (size - 1)) {
			snprintf(got, sizeof(got), "%u", size);
			finding(c, "DEV-4.1.4.3.1", "0 or a power of 2", got,
				"queue %u: queue_size with RING_PACKED not negotiated", q);
		}
		uint64_t need = (uint64_t)noff * notify->extra + width;
		if (size && notify->length < need) {
			snprintf(exp, sizeof(exp), ">= %llu", (unsigned long long)need);
			snprintf(got, sizeof(got), "%llu", (unsigned long long)notify->length);
			finding(c, "DEV-4.1.4.4.1", exp, got, "queue %u: queue_notify_off %u x "
				"multiplier %u lies beyond the notification structure", q, noff,
				notify->extra);
		}
	}
	bar_wr(c, common, VT_PCI_COMMON_Q_SELECT, 2, sel);
}

/* The PCI configuration access window reads what the BAR holds
 * (DEV-4.1.4.9.1): num_queues (2 bytes) and device_status (1 byte). */
static void probe_window(struct check *c, const struct vt_pci_vcap *common)
{
	const struct vt_pci_access *a = c->img->access;
	unsigned p = (unsigned)c->pci_cfg_pos;
	static const struct { unsigned off, width; const char *field; } probes[] = {
		{ VT_PCI_COMMON_NUMQ, 2, "num_queues" },
		{ VT_PCI_COMMON_STATUS, 1, "device_status" },
	};
	uint32_t bar0, off0, len0;

	if (!a || !a->cfg_read || !a->cfg_write || c->pci_cfg_pos < 0)
		return;
	if (a->cfg_read(a->ctx, p + 4, 1, &bar0) || a->cfg_read(a->ctx, p + 8, 4, &off0) ||
	    a->cfg_read(a->ctx, p + 12, 4, &len0))
		return;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint32_t direct, win, mask = probes[i].width == 4 ? ~0u : (1u << 8 * probes[i].width) - 1;
		if (bar_rd(c, common, probes[i].off, probes[i].width, &direct) ||
		    a->cfg_write(a->ctx, p + 4, 1, common->bar) ||
		    a->cfg_write(a->ctx, p + 12, 4, probes[i].width) ||
		    a->cfg_write(a->ctx, p + 8, 4, (uint32_t)(common->offset + probes[i].off)) ||
		    a->cfg_read(a->ctx, p + 16, 4, &win))
			break;
		c->sum->window_checked = true;
		if ((win & mask) != (direct & mask)) {
			char exp[24], got[24];
			snprintf(exp, sizeof(exp), "0x%x", direct & mask);
			snprintf(got, sizeof(got), "0x%x", win & mask);
			finding(c, "DEV-4.1.4.9.1", exp, got, "pci_cfg_data for %s (BAR %u offset "
				"0x%llx, %u bytes) differs from the BAR", probes[i].field, common->bar,
				(unsigned long long)(common->offset + probes[i].off), probes[i].width);
		}
	}
	a->cfg_write(a->ctx, p + 4, 1, bar0);
	a->cfg_write(a->ctx, p + 8, 4, off0);
	a->cfg_write(a->ctx, p + 12, 4, len0);
}

/* The live function can be asked (and its selectors moved). */
static bool live(const struct check *c)
{
	const struct vt_pci_access *a = c->img->access;
	return a && a->bar_read && a->bar_write && c->img->bars_known;
}

/* Before the structures are judged: with the features known the
 * notification rules are exact. */
static void probe_live_features(struct check *c)
{
	const struct vt_pci_vcap *common = first_usable(c, VT_PCI_CAP_COMMON_CFG);
	if (common && live(c))
		probe_features(c, common);
}

static void probe_live(struct check *c)
{
	const struct vt_pci_vcap *common = first_usable(c, VT_PCI_CAP_COMMON_CFG);
	const struct vt_pci_vcap *notify = first_usable(c, VT_PCI_CAP_NOTIFY_CFG);
	if (!common || !live(c))
		return;
	if (notify)
		probe_queues(c, common, notify);
	probe_window(c, common);
}

unsigned vt_pci_check(const struct vt_pci_image *img, struct vt_verdict *vd,
		      struct vt_pci_summary *sum)
{
	struct vt_pci_summary dummy;
	struct check *c = calloc(1, sizeof(*c));
	if (!sum)
		sum = &dummy;
	memset(sum, 0, sizeof(*sum));
	if (!c) {
		vt_violation(vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL, "out of memory");
		return 1;
	}
	c->img = img;
	c->vd = vd;
	c->sum = sum;
	c->pci_cfg_pos = -1;
	if (check_ids(c)) {
		check_header(c);
		walk(c);
		probe_live_features(c);
		check_structures(c);
		check_shared_memory(c);
		check_msix(c);
		probe_live(c);
	}
	unsigned n = c->musts;
	free(c);
	return n;
}

/* ---- text form ---- */

static int parse_hex_line(const char *s, struct vt_pci_image *img, unsigned *max)
{
	char *end;
	unsigned long off = strtoul(s, &end, 16);
	if (end == s || *end != ':' || off >= VT_PCI_CFG_SIZE)
		return 0;                   /* not a dump line: ignored */
	s = end + 1;
	unsigned n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!isxdigit((unsigned char)s[0]))
			break;
		unsigned long b = strtoul(s, &end, 16);
		if (end - s != 2 || b > 0xff)
			return -1;
		if (off + n >= VT_PCI_CFG_SIZE)
			return -1;
		img->cfg[off + n++] = (uint8_t)b;
		s = end;
	}
	if (*s && *s != '\n' && *s != '\r')
		return -1;
	if (off + n > *max)
		*max = (unsigned)(off + n);
	return 1;
}

static int parse_bar_line(const char *s, struct vt_pci_image *img)
{
	unsigned idx;
	char size[32], kind[16] = "mem32", pf[16] = "";
	int n = sscanf(s, "bar %u %31s %15s %15s", &idx, size, kind, pf);
	if (n < 2 || idx >= VT_PCI_NBARS)
		return -1;
	char *end;
	errno = 0;
	uint64_t sz = strtoull(size, &end, 0);
	if (errno || *end || !sz)
		return -1;
	struct vt_pci_bar *b = &img->bar[idx];
	memset(b, 0, sizeof(*b));
	b->present = true;
	b->size = sz;
	if (strcmp(kind, "io") == 0)
		b->io = true;
	else if (strcmp(kind, "mem64") == 0)
		b->mem64 = true;
	else if (strcmp(kind, "mem32") != 0)
		return -1;
	if (n == 4 && strcmp(pf, "prefetch") != 0)
		return -1;
	b->prefetch = n == 4;
	img->bars_known = true;
	return 0;
}

int vt_pci_image_parse(FILE *f, struct vt_pci_image *img, char *err, size_t errlen)
{
	char line[512];
	unsigned lineno = 0, max = 0;

	memset(img, 0, sizeof(*img));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (strncmp(line, "bar ", 4) == 0) {
			if (parse_bar_line(line, img)) {
				snprintf(err, errlen, "%u: expected 'bar N SIZE [io|mem32|mem64] "
					 "[prefetch]'", lineno);
				return -1;
			}
			continue;
		}
		if (parse_hex_line(line, img, &max) < 0) {
			snprintf(err, errlen, "%u: malformed configuration space line", lineno);
			return -1;
		}
	}
	if (max < 64) {
		snprintf(err, errlen, "no configuration space header (64 bytes) in the image");
		return -1;
	}
	return 0;
}

void vt_pci_image_write(const struct vt_pci_image *img, FILE *f)
{
	for (unsigned off = 0; off < VT_PCI_CFG_SIZE; off += 16) {
		fprintf(f, "%02x:", off);
		for (unsigned i = 0; i < 16; i++)
			fprintf(f, " %02x", img->cfg[off + i]);
		fputc('\n', f);
	}
	if (!img->bars_known)
		return;
	for (unsigned i = 0; i < VT_PCI_NBARS; i++) {
		const struct vt_pci_bar *b = &img->bar[i];
		if (b->present)
			fprintf(f, "bar %u 0x%llx %s%s\n", i, (unsigned long long)b->size,
				b->io ? "io" : b->mem64 ? "mem64" : "mem32",
				b->prefetch ? " prefetch" : "");
	}
}
