/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pci_cmd.c - "vcts pci": virtio PCI functions judged against 4.1, from the host, a file or QEMU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include "clause.h"
#include "pci_cmd.h"
#include "qemu/qemu.h"
#include "tap.h"
#include "transport/pci_check.h"

#define MAX_FUNCTIONS 256
#define QEMU_RAM      (16u << 20)

const char vt_pci_cmd_usage[] =
	"usage: vcts pci [SLOT] [--dump FILE]\n"
	"       vcts pci --image FILE\n"
	"       vcts pci --qemu TARGET [--dump FILE]\n"
	"\n"
	"Judge the layout of virtio PCI functions (vendor 0x1af4) against the\n"
	"device rules of 4.1 (Virtio Over PCI Bus): IDs, capabilities, BARs,\n"
	"alignment, notification offsets.  TAP on stdout, one test point per\n"
	"function.  Exit status: 0 if nothing failed, 1 if a function broke a\n"
	"rule, 2 on a usage error.\n"
	"\n"
	"  SLOT            [[domain:]bus:]device[.func]: only that function of this\n"
	"                  machine (default: every virtio function libpci finds;\n"
	"                  reading past the first 64 bytes needs root)\n"
	"  --image FILE    judge an image: lines of `lspci -xxx` and, for BAR sizes,\n"
	"                  lines \"bar N SIZE [io|mem32|mem64] [prefetch]\"\n"
	"  --qemu TARGET   start QEMU with one device of the qemu suite (blk,\n"
	"                  blk-packed, net, rng, serial, ...) and judge it over\n"
	"                  qtest, with access to the live function\n"
	"  --dump FILE     also write the image judged to FILE (in --image form)\n";

/* ---- reporting ---- */

static unsigned tap_version(void)
{
	const char *active = getenv("HARNESS_ACTIVE"), *v = getenv("HARNESS_VERSION");
	if (!active || !*active)
		return 14;
	return v && strtod(v, NULL) >= 3.48 ? 14 : 13;
}

/* One test point: pass, or fail with the MUST-level findings; advice as
 * comments.  Returns 1 when it failed. */
static int report(struct vt_tap *tap, const char *name, struct vt_verdict *vd)
{
	struct vt_tap_finding list[VT_MAX_VIOL];
	char sections[VT_MAX_VIOL][192];
	unsigned n = 0;

	for (unsigned i = 0; i < vd->n; i++) {
		const struct vt_violation *v = &vd->v[i];
		if (v->sev == VT_SEV_SHOULD) {
			vt_tap_diag(tap, "advice %s: %s", v->rule, v->msg);
			continue;
		}
		const struct vt_clause *c = vt_clause_loaded() ? vt_clause_lookup(v->rule) : NULL;
		snprintf(sections[n], sizeof(sections[n]), "%s%s%s", c ? c->section : "",
			 c ? " " : "", c ? c->title : "");
		list[n] = (struct vt_tap_finding){
			.message = v->msg, .rule = v->rule, .section = sections[n], .who = "device",
			.expected = v->expected, .got = v->got,
		};
		n++;
	}
	if (!n) {
		vt_tap_result(tap, VT_PASS, name, NULL);
		return 0;
	}
	char summary[64];
	snprintf(summary, sizeof(summary), "%u rule%s broken", vd->n_must, vd->n_must == 1 ? "" : "s");
	vt_tap_result(tap, VT_FAIL, name, NULL);
	struct vt_tap_finding top = { .message = summary };
	vt_tap_yaml(tap, n == 1 ? &list[0] : &top, list, n == 1 ? 0 : n);
	return 1;
}

static void point_name(char *buf, size_t len, const char *where, const struct vt_pci_image *img)
{
	uint16_t ven = (uint16_t)(img->cfg[0] | img->cfg[1] << 8);
	uint16_t dev = (uint16_t)(img->cfg[2] | img->cfg[3] << 8);
	int type = dev >= 0x1040 && dev <= 0x107f ? dev - 0x1040 : -1;
	const char *tn = vt_pci_type_name(type);
	snprintf(buf, len, "%s %04x:%04x%s%s", where, ven, dev, tn ? " virtio " : "", tn ? tn : "");
}

static int dump_image(const struct vt_pci_image *img, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	vt_pci_image_write(img, f);
	return fclose(f);
}

/* ---- an image file ---- */

static int read_image(const char *path, struct vt_pci_image *img)
{
	char err[200];
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "vcts: pci: %s: cannot open\n", path);
		return -1;
	}
	int rc = vt_pci_image_parse(f, img, err, sizeof(err));
	fclose(f);
	if (rc)
		fprintf(stderr, "vcts: pci: %s:%s\n", path, err);
	return rc;
}

static int judge_file(struct vt_tap *tap, const char *path, struct vt_pci_image *img_in)
{
	struct vt_pci_image img = *img_in;
	struct vt_verdict vd;
	char name[300];

	vt_tap_plan(tap, 1);
	vt_verdict_init(&vd);
	vt_pci_check(&img, &vd, NULL);
	point_name(name, sizeof(name), path, &img);
	if (!img.bars_known)
		vt_tap_diag(tap, "BAR sizes unknown: structures were not checked against their BARs");
	return report(tap, name, &vd);
}

/* ---- a device in QEMU ---- */

static int judge_qemu(struct vt_tap *tap, const struct vt_qemu_target *tg, const char *dump)
{
	struct vt_pci_image img;
	struct vt_qemu_pci_view view;
	struct gmem_layout l;
	struct vt_verdict vd;
	char err[300], name[300];

	if (!vt_qemu_available()) {
		vt_tap_skip_all(tap, "QEMU not found");
		return 0;
	}
	vt_tap_plan(tap, 1);
	snprintf(name, sizeof(name), "qemu %s (%s)", tg->name, tg->device);
	gmem_layout_standard(&l, QEMU_RAM, false);
	struct gmem *gm = gmem_create(&l, false);
	vt_verdict_init(&vd);
	struct vt_transport *t = gm ? vt_qemu_open(tg, gm, &vd, err, sizeof(err)) : NULL;
	if (!t) {
		vt_tap_result(tap, VT_BROKEN, name, gm ? err : "guest memory");
		if (gm)
			gmem_destroy(gm);
		return 1;
	}
	int dead = vt_qemu_pci_image(t, &img, &view);
	if (!dead)
		vt_pci_check(&img, &vd, NULL);
	if (!dead && dump && dump_image(&img, dump)) {
		t->ops->destroy(t);
		gmem_destroy(gm);
		return 2;
	}
	t->ops->destroy(t);
	gmem_destroy(gm);
	if (dead) {
		vt_tap_result(tap, VT_BROKEN, name, "QEMU stopped answering");
		return 1;
	}
	point_name(name + strlen(name), sizeof(name) - strlen(name), "", &img);
	return report(tap, name, &vd);
}

/* ---- the functions of this machine ---- */

/* Sizes and kinds of the BARs as libpci knows them. */
static void host_bars(struct pci_dev *d, struct vt_pci_image *img)
{
	img->bars_known = (d->known_fields & PCI_FILL_SIZES) != 0;
	for (unsigned i = 0; i < VT_PCI_NBARS && img->bars_known; i++) {
		struct vt_pci_bar *b = &img->bar[i];
		uint32_t reg = img->cfg[0x10 + 4 * i] | (uint32_t)img->cfg[0x11 + 4 * i] << 8;
		if (!d->size[i])
			continue;
		b->present = true;
		b->size = d->size[i];
		b->io = reg & 1;
		b->mem64 = !b->io && ((reg >> 1) & 3) == 2;
		b->prefetch = !b->io && (reg & 8);
		b->addr = d->base_addr[i] & ~(pciaddr_t)0xf;
	}
}

static int judge_host_fn(struct vt_tap *tap, struct pci_dev *d, const char *dump)
{
	struct vt_pci_image img;
	struct vt_verdict vd;
	char where[32], name[300];

	memset(&img, 0, sizeof(img));
	snprintf(where, sizeof(where), "%04x:%02x:%02x.%u", d->domain, d->bus, d->dev, d->func);
	if (!pci_read_block(d, 0, img.cfg, VT_PCI_CFG_SIZE)) {
		pci_read_block(d, 0, img.cfg, 64);
		point_name(name, sizeof(name), where, &img);
		vt_tap_result(tap, VT_SKIP, name, "configuration space past 64 bytes not readable "
			      "(run as root)");
		return 0;
	}
	host_bars(d, &img);
	/* a function in use by its driver is never written to */
	img.access = NULL;
	vt_verdict_init(&vd);
	vt_pci_check(&img, &vd, NULL);
	if (dump && dump_image(&img, dump))
		return 2;
	point_name(name, sizeof(name), where, &img);
	return report(tap, name, &vd);
}

static int judge_host(struct vt_tap *tap, char *slot, const char *dump)
{
	struct pci_access *pa = pci_alloc();
	struct pci_filter filter;
	struct pci_dev *found[MAX_FUNCTIONS];
	unsigned n = 0;
	int rc = 0;

	if (!pa) {
		fprintf(stderr, "vcts: pci: libpci could not be set up\n");
		return 2;
	}
	pci_filter_init(pa, &filter);
	if (slot) {
		char *e = pci_filter_parse_slot(&filter, slot);
		if (e) {
			fprintf(stderr, "vcts: pci: bad slot '%s': %s\n", slot, e);
			pci_cleanup(pa);
			return 2;
		}
	}
	pci_init(pa);
	pci_scan_bus(pa);
	for (struct pci_dev *d = pa->devices; d && n < MAX_FUNCTIONS; d = d->next) {
		pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_BASES | PCI_FILL_SIZES);
		if (d->vendor_id == VT_PCI_VENDOR_VIRTIO && pci_filter_match(&filter, d))
			found[n++] = d;
	}
	if (!n) {
		vt_tap_skip_all(tap, "no virtio PCI function found");
	} else if (dump && n > 1) {
		fprintf(stderr, "vcts: pci: --dump needs one function (give its SLOT)\n");
		rc = 2;
	} else {
		vt_tap_plan(tap, n);
		for (unsigned i = 0; i < n; i++) {
			int r = judge_host_fn(tap, found[i], dump);
			rc = r > rc ? r : rc;
		}
	}
	pci_cleanup(pa);
	return rc;
}

/* ---- the command ---- */

int vt_pci_cmd(int argc, char **argv)
{
	const char *image = NULL, *qemu = NULL, *dump = NULL;
	char *slot = NULL;
	char err[300];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = strcmp(a, "--image") == 0 ? &image
				 : strcmp(a, "--qemu") == 0  ? &qemu
				 : strcmp(a, "--dump") == 0  ? &dump : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(vt_pci_cmd_usage, stdout);
			return 0;
		}
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vcts: pci: option '%s' needs an argument\n", a);
				return 2;
			}
			*dst = argv[++i];
		} else if (a[0] == '-') {
			fprintf(stderr, "vcts: pci: unknown option '%s' (see 'vcts help pci')\n", a);
			return 2;
		} else if (slot) {
			fprintf(stderr, "vcts: pci: unexpected argument '%s' (see 'vcts help pci')\n", a);
			return 2;
		} else {
			slot = argv[i];
		}
	}
	if ((image != NULL) + (qemu != NULL) + (slot != NULL) > 1 || (image && dump)) {
		fprintf(stderr, "vcts: pci: SLOT, --image and --qemu exclude each other "
			"(see 'vcts help pci')\n");
		return 2;
	}
	/* the registry names the sections findings cite; judging works without */
	if (vt_clause_load(NULL, err, sizeof(err)))
		fprintf(stderr, "vcts: pci: %s (sections not shown)\n", err);

	struct vt_pci_image img;
	if (image && read_image(image, &img))
		return 2;
	const struct vt_qemu_target *tg = qemu ? vt_qemu_target_find(qemu) : NULL;
	if (qemu && !tg) {
		fprintf(stderr, "vcts: pci: unknown QEMU target '%s' (one of:", qemu);
		for (const struct vt_qemu_target *t = vt_qemu_targets; t->name; t++)
			fprintf(stderr, " %s", t->name);
		fprintf(stderr, ")\n");
		return 2;
	}

	struct vt_tap tap;
	vt_tap_start(&tap, stdout, tap_version());
	if (image)
		return judge_file(&tap, image, &img);
	if (qemu)
		return judge_qemu(&tap, tg, dump);
	return judge_host(&tap, slot, dump);
}
