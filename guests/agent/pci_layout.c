/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pci_layout.c - a virtio PCI function's layout as the guest sees it,
 * judged against the device rules of 4.1 (DEV-4.1.*) by pci_check.
 *
 * The image is what libpci's sysfs backend reads: the function's
 * configuration space from /sys/bus/pci/devices/ADDR/config (the first
 * 256 bytes; reading past 64 needs root) and its BARs from the resource
 * file (one "start end flags" line per BAR).  The live function is never
 * written: no access is given to the check, so it judges the image alone.
 *
 * A transitional function (PCI device id 0x1000..0x103f) also owes legacy
 * drivers what the legacy notes of 4.1 ask (INV-transitional-pci); one
 * without virtio capabilities is a legacy device, judged without the
 * structure rules that only modern interfaces have.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "harness/tap.h"
#include "harness/transport/pci_check.h"

/* struct resource flags as sysfs prints them */
#define IORESOURCE_IO        0x00000100ull
#define IORESOURCE_MEM       0x00000200ull
#define IORESOURCE_PREFETCH  0x00002000ull
#define IORESOURCE_MEM_64    0x00100000ull

#define PCI_COMMAND          0x04
#define PCI_REVISION_ID      0x08
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_COMMAND_MEMORY   0x02
#define PCI_STATUS           0x06
#define PCI_STATUS_CAP_LIST  0x10
#define PCI_CAP_PTR          0x34
#define PCI_CAP_ID_VNDR      0x09
#define PCI_HEADER_SIZE      64
#define MAX_CAPS             48

/* Configuration space into img->cfg; the bytes read, or -1. */
static long read_config(const struct agent_opts *o, const char *pci, struct vt_pci_image *img)
{
	char path[512];
	return agent_read_bin(agent_path(path, sizeof(path), "%s/bus/pci/devices/%s/config",
					 o->sysfs, pci), img->cfg, sizeof(img->cfg));
}

/* BAR sizes and kinds from the resource file: lines 0..5 are the BARs;
 * the upper half of a 64-bit BAR reads as zeros. */
static void read_bars(const struct agent_opts *o, const char *pci, struct vt_pci_image *img)
{
	char path[512], line[128];
	FILE *f = fopen(agent_path(path, sizeof(path), "%s/bus/pci/devices/%s/resource", o->sysfs,
				   pci), "r");
	if (!f)
		return;
	for (unsigned i = 0; i < VT_PCI_NBARS && fgets(line, sizeof(line), f); i++) {
		unsigned long long start, end, flags;
		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3) {
			fclose(f);
			return;                       /* not the format: sizes unknown */
		}
		struct vt_pci_bar *b = &img->bar[i];
		memset(b, 0, sizeof(*b));
		if (end > start && flags & (IORESOURCE_IO | IORESOURCE_MEM)) {
			b->present = true;
			b->io = flags & IORESOURCE_IO;
			b->mem64 = !b->io && (flags & IORESOURCE_MEM_64);
			b->prefetch = flags & IORESOURCE_PREFETCH;
			b->size = end - start + 1;
			b->addr = start;
		}
		img->bars_known = true;
	}
	fclose(f);
}

/* The test point: pass, or fail with the MUST-level findings in a YAML
 * block; SHOULD-level advice as comments. */
static void report(struct vt_tap *sub, struct vt_verdict *vd)
{
	struct vt_tap_finding list[VT_MAX_VIOL];
	unsigned n = 0;

	for (unsigned i = 0; i < vd->n; i++) {
		const struct vt_violation *v = &vd->v[i];
		if (v->sev == VT_SEV_SHOULD) {
			vt_tap_diag(sub, "advice %s: %s", v->rule, v->msg);
			continue;
		}
		list[n++] = (struct vt_tap_finding){
			.message = v->msg, .rule = v->rule, .who = vt_who_name(v->who),
			.expected = v->expected, .got = v->got,
		};
	}
	if (!n) {
		vt_tap_result(sub, VT_PASS, "pci-layout", NULL);
		return;
	}
	char summary[64];
	snprintf(summary, sizeof(summary), "%u rule%s broken", vd->n_must,
		 vd->n_must == 1 ? "" : "s");
	vt_tap_result(sub, VT_FAIL, "pci-layout", NULL);
	struct vt_tap_finding top = { .message = summary };
	vt_tap_yaml(sub, n == 1 ? &list[0] : &top, list, n == 1 ? 0 : n);
}

/* ---- transitional and legacy functions ---- */

/* One of the structure rules (DEV-4.1.4.*)? */
static bool structure_rule(const char *rule)
{
	return strncmp(rule, "DEV-", 4) == 0 && strncmp(rule + 4, "4.1.4.", 6) == 0;
}

/*
 * A function with a Transitional PCI Device ID and no virtio capability
 * is a legacy device: legacy devices predate the virtio structures, and a
 * driver that finds none uses the legacy interface in BAR0 (the legacy note
 * on device layout detection).  The structure rules have nothing to judge
 * there - without a virtio capability each of their findings says a
 * structure is missing - so they are left out; the identity, header and
 * MSI-X rules stay.  A transitional function that has virtio capabilities
 * keeps every rule of a modern one.
 */
static void keep_legacy_rules(const struct vt_verdict *all, struct vt_verdict *vd)
{
	for (unsigned i = 0; i < all->n; i++) {
		const struct vt_violation *v = &all->v[i];
		if (structure_rule(v->rule))
			continue;
		if (v->sev == VT_SEV_SHOULD)
			vt_advice(vd, v->rule, v->who, "%s", v->msg);
		else
			vt_violation(vd, v->rule, v->who, v->expected[0] ? v->expected : NULL,
				     v->got[0] ? v->got : NULL, "%s", v->msg);
	}
}

/* What every transitional function owes legacy drivers (the legacy notes
 * on PCI device discovery and layout): Revision ID 0, the virtio device
 * ID as Subsystem Device ID, the legacy interface in an I/O BAR0. */
static void check_transitional(const struct vt_pci_image *img, const struct vt_pci_summary *sum,
			       struct vt_verdict *vd)
{
	unsigned rev = img->cfg[PCI_REVISION_ID];
	unsigned subsys = (unsigned)(img->cfg[PCI_SUBSYSTEM_ID] |
				     img->cfg[PCI_SUBSYSTEM_ID + 1] << 8);
	char exp[16], got[16];

	if (rev != 0) {
		snprintf(got, sizeof(got), "%u", rev);
		vt_violation(vd, "INV-transitional-pci", VT_WHO_DEVICE, "0", got,
			     "transitional device 0x%04x with PCI Revision ID %u: legacy drivers "
			     "match Revision ID 0", sum->device_id, rev);
	}
	if (sum->virtio_type >= 0 && subsys != (unsigned)sum->virtio_type) {
		snprintf(exp, sizeof(exp), "0x%04x", (unsigned)sum->virtio_type);
		snprintf(got, sizeof(got), "0x%04x", subsys);
		vt_violation(vd, "INV-transitional-pci", VT_WHO_DEVICE, exp, got,
			     "transitional device 0x%04x: PCI Subsystem Device ID is not its "
			     "virtio device ID", sum->device_id);
	}
	if (img->bars_known && (!img->bar[0].present || !img->bar[0].io))
		vt_violation(vd, "INV-transitional-pci", VT_WHO_DEVICE, "an I/O BAR0",
			     !img->bar[0].present ? "no BAR0" : "a memory BAR0",
			     "transitional device 0x%04x: the legacy interface is not in I/O BAR0",
			     sum->device_id);
}

void agent_pci_layout(const struct agent_opts *o, const struct agent_dev *d, struct vt_tap *sub)
{
	static struct vt_pci_image img;
	static struct vt_verdict all, kept;
	struct vt_pci_summary sum;
	char why[96];

	memset(&img, 0, sizeof(img));
	long n = read_config(o, d->parent, &img);
	if (n < (long)sizeof(img.cfg)) {
		snprintf(why, sizeof(why), n < 0 ? "configuration space unreadable" :
			 "only %ld bytes of configuration space readable (root reads 256)", n);
		vt_tap_result(sub, VT_BROKEN, "pci-layout", why);
		return;
	}
	read_bars(o, d->parent, &img);
	if (!img.bars_known)
		vt_tap_diag(sub, "BAR sizes unknown: structures not checked against their BARs");
	vt_verdict_init(&all);
	vt_pci_check(&img, &all, &sum);
	bool legacy = sum.transitional && sum.nvcaps == 0;
	struct vt_verdict *vd = &all;
	if (legacy) {
		vt_verdict_init(&kept);
		keep_legacy_rules(&all, &kept);
		vd = &kept;
	}
	if (sum.transitional)
		check_transitional(&img, &sum, vd);
	const char *kind = legacy ? ": a legacy device" :
			   sum.transitional ? ": a transitional device" : "";
	vt_tap_diag(sub, "pci: %04x:%04x, %u capabilities (%u virtio)%s",
		    (unsigned)(img.cfg[0] | img.cfg[1] << 8), sum.device_id, sum.ncaps, sum.nvcaps,
		    kind);
	report(sub, vd);
}

/* ---- device status through the common configuration structure ---- */

/* The first common configuration capability of the image, or -1. */
static int find_common(const uint8_t *cfg, struct vt_pci_vcap *cap)
{
	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return -1;
	unsigned pos = cfg[PCI_CAP_PTR] & 0xfc;
	for (unsigned k = 0; pos >= PCI_HEADER_SIZE && pos < VT_PCI_CFG_SIZE && k < MAX_CAPS; k++) {
		if (cfg[pos] == PCI_CAP_ID_VNDR) {
			vt_pci_parse_vcap(cfg, pos, cap);
			if (cap->cfg_type == VT_PCI_CAP_COMMON_CFG && cap->bar < VT_PCI_NBARS)
				return 0;
		}
		pos = cfg[pos + 1] & 0xfc;
	}
	return -1;
}

int agent_pci_peek_status(const struct agent_opts *o, const char *pci, uint32_t *status)
{
	static struct vt_pci_image img;
	struct vt_pci_vcap cap;
	char path[512];

	memset(&img, 0, sizeof(img));
	if (read_config(o, pci, &img) < (long)sizeof(img.cfg) ||
	    !(img.cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY) || find_common(img.cfg, &cap))
		return -1;
	read_bars(o, pci, &img);
	const struct vt_pci_bar *b = &img.bar[cap.bar];
	if (!b->present || b->io || cap.offset + VT_PCI_COMMON_STATUS >= b->size)
		return -1;
	int fd = open(agent_path(path, sizeof(path), "%s/bus/pci/devices/%s/resource%u", o->sysfs,
				 pci, cap.bar), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t at = cap.offset + VT_PCI_COMMON_STATUS;
	uint64_t base = at & ~(uint64_t)(page - 1);
	void *p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, (off_t)base);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	*status = *(volatile uint8_t *)((uint8_t *)p + (at - base));
	munmap(p, (size_t)page);
	return 0;
}
