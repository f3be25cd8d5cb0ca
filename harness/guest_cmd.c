/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest_cmd.c - `vcts guest`: Debian's Linux guest driver through a matrix
 * of QEMU devices, judged per device against the linux-6.1 profile.
 *
 * A guest-level combination (IOMMU none / intel-iommu aw 39 / aw 48) is
 * one QEMU boot carrying one device per device-level cell (ACCESS_PLATFORM
 * on or off, packed, event index, indirect, device type).  The agent in the
 * guest reports what Linux negotiated and whether I/O worked; the oracle
 * of the linux-6.1 profile says what it must have negotiated.  Guests boot
 * in parallel, up to the number of CPUs.
 *
 * The vhost-* cells put our own checking device (blk) in the guest as
 * vhost-user-blk-pci: besides what the agent reports, the device's
 * verdict on the driver (rules with clause ids, who broke them) is judged:
 * "device-session" (QEMU connected, the driver set DRIVER_OK, requests were
 * served) and "device-checks" (no MUST-level rule broken).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clause.h"
#include "guest_cmd.h"
#include "matrix/matrix.h"
#include "qemu/guest.h"
#include "qemu/qemu.h"
#include "runner.h"
#include "tap.h"
#include "virtio.h"

const char vt_guest_usage[] =
	"usage: vcts guest [--kernel VERSION] [--filter GLOB]... [--timeout MS]\n"
	"                  [--tap-version 13|14]\n"
	"\n"
	"Boot Debian's Linux kernel under QEMU with many virtio devices per guest and\n"
	"judge what its virtio driver did with each one (one test point per cell,\n"
	"named guest/GUEST/CELL) against the linux-6.1 profile: the negotiated\n"
	"features (ACCESS_PLATFORM, packed, event index, indirect), the status, the\n"
	"driver bound, and real I/O through the device.  The kernel and initramfs are\n"
	"built on demand by guests/build.sh and cached per kernel version.\n"
	"Exit status: 0 if every cell passed, 1 if one failed, 2 on a usage error.\n"
	"\n"
	"  --kernel VERSION   Debian kernel ABI, e.g. 6.1.0-56-amd64 (default: what\n"
	"                     linux-image-amd64 depends on)\n"
	"  --filter GLOB      only cells whose name matches (repeatable)\n"
	"  --timeout MS       per guest (default 90000)\n"
	"  --tap-version N    13 or 14 (default: 14, or 13 under an older prove)\n"
	"\n"
	"Environment: VCTS_GUEST_APPEND adds kernel command-line arguments to every\n"
	"guest; VCTS_ACCEL=tcg skips the KVM probe (KVM is used only when a probe\n"
	"boot proves it works; the answer is kept per host boot); VCTS_QEMU names the\n"
	"QEMU binary; VCTS_CACHE the kernel cache (default ~/.cache/vcts).\n"
	"Cells named vhost-* are served by vcts's own checking device (blk) as\n"
	"vhost-user-blk-pci: it judges the guest's driver clause by clause.  Their\n"
	"guests boot with qboot, so that no firmware driver uses the device first;\n"
	"VCTS_GUEST_FIRMWARE=default keeps QEMU's own firmware (or names a -bios).\n";

/* A device-level cell: a QEMU device with properties. */
struct gcell {
	const char *name;
	const char *device;
	const char *props;
	enum vt_mx_device kind;     /* blk or other (features only)       */
	bool disk, rng, console;
	bool ap, packed, no_event_idx, no_indirect;
	bool vhost;                 /* served by our checking device      */
	bool iommu_only;            /* only in guests with a vIOMMU       */
	const char *io;             /* expected io: "ok" or NULL (none)   */
};

#define MODERN "disable-legacy=on"
#define VHOST_BLK "vhost-user-blk-pci"
static const struct gcell cells[] = {
	{ "blk", "virtio-blk-pci", MODERN, MX_DEV_BLK, .disk = true, .io = "ok" },
	{ "blk-ap", "virtio-blk-pci", MODERN ",iommu_platform=on", MX_DEV_BLK, .disk = true,
	  .ap = true, .io = "ok" },
	{ "blk-packed", "virtio-blk-pci", MODERN ",packed=on", MX_DEV_BLK, .disk = true,
	  .packed = true, .io = "ok" },
	{ "blk-ap-packed", "virtio-blk-pci", MODERN ",iommu_platform=on,packed=on", MX_DEV_BLK,
	  .disk = true, .ap = true, .packed = true, .io = "ok" },
	{ "blk-no-event-idx", "virtio-blk-pci", MODERN ",event_idx=off", MX_DEV_BLK,
	  .disk = true, .no_event_idx = true, .io = "ok" },
	{ "blk-no-indirect", "virtio-blk-pci", MODERN ",indirect_desc=off", MX_DEV_BLK,
	  .disk = true, .no_indirect = true, .io = "ok" },
	{ "rng", "virtio-rng-pci", MODERN, MX_DEV_ECHO, .rng = true, .io = "ok" },
	{ "rng-ap-packed", "virtio-rng-pci", MODERN ",iommu_platform=on,packed=on", MX_DEV_ECHO,
	  .rng = true, .ap = true, .packed = true, .io = "ok" },
	{ "console", "virtio-serial-pci", MODERN, MX_DEV_ECHO, .console = true },
	{ "console-ap", "virtio-serial-pci", MODERN ",iommu_platform=on", MX_DEV_ECHO,
	  .console = true, .ap = true },
	/* Our checking device (blk) as vhost-user-blk-pci: the device judges
	 * the driver.  Its offer follows the cell: VERSION_1, plus
	 * INDIRECT_DESC, EVENT_IDX, RING_PACKED and ACCESS_PLATFORM as named. */
	{ "vhost-blk", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true, .io = "ok" },
	{ "vhost-blk-packed", VHOST_BLK, MODERN ",packed=on", MX_DEV_BLK, .vhost = true,
	  .packed = true, .io = "ok" },
	{ "vhost-blk-no-event-idx", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .no_event_idx = true, .io = "ok" },
	{ "vhost-blk-no-indirect", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .no_indirect = true, .io = "ok" },
	{ "vhost-blk-packed-no-event-idx", VHOST_BLK, MODERN ",packed=on", MX_DEV_BLK,
	  .vhost = true, .packed = true, .no_event_idx = true, .io = "ok" },
	/* ACCESS_PLATFORM: every address is an IOVA the device translates
	 * through its IOTLB, filled by QEMU from the guest's intel-iommu. */
	{ "vhost-blk-ap", VHOST_BLK, MODERN ",iommu_platform=on", MX_DEV_BLK, .vhost = true,
	  .ap = true, .iommu_only = true, .io = "ok" },
	{ "vhost-blk-ap-packed", VHOST_BLK, MODERN ",iommu_platform=on,packed=on", MX_DEV_BLK,
	  .vhost = true, .ap = true, .packed = true, .iommu_only = true, .io = "ok" },
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

/* Guest-level combinations. */
struct gguest {
	const char *name;
	unsigned iommu_aw;
	enum vt_mx_translation tr;
	bool secure;                /* vcts_secure.ko: restricted memory access */
	bool unaware;               /* secure memory (bounce pool forced) but no
				       refusal hook: the seed threads' hazard      */
};
/* A secure guest loads the module that makes virtio require
 * ACCESS_PLATFORM (as an SEV guest) and bounces everything. */
#define SECURE_APPEND "vcts.secure=1 swiotlb=force"
static const struct gguest guests[] = {
	{ "q35", 0, MX_TR_NONE, false, false },
	{ "q35-iommu39", 39, MX_TR_IOMMU39, false, false },
	{ "q35-iommu48", 48, MX_TR_IOMMU48, false, false },
	{ "q35-secure", 0, MX_TR_NONE, true, false },
	{ "q35-secure-iommu48", 48, MX_TR_IOMMU48, true, false },
	{ "q35-secure-unaware", 0, MX_TR_NONE, true, true },
};
#define NGUESTS (sizeof(guests) / sizeof(guests[0]))

struct gargs {
	const char *kernel;
	const char *filters[16];
	unsigned nfilters;
	unsigned timeout_ms;
	unsigned tap_version;
};

static bool selected(const struct gargs *a, const char *name)
{
	if (!a->nfilters)
		return true;
	for (unsigned i = 0; i < a->nfilters; i++)
		if (fnmatch(a->filters[i], name, 0) == 0)
			return true;
	return false;
}

/* guests/build.sh prints "vmlinux=PATH", "initrd=PATH" and "secure=PATH"
 * (or "secure=none": no secure-guest module for this kernel).  Returns 0,
 * 2 when the kernel cannot be had (a skip), -1 on another failure. */
static int build_guest(const char *kernel, char *vmlinux, char *initrd, size_t len,
		       bool *secure, char *err, size_t errlen)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s/guests/build.sh'%s%s%s 2>'%s/build.log'", VCTS_SRCDIR,
		 kernel ? " --kernel '" : "", kernel ? kernel : "", kernel ? "'" : "",
		 vt_proc_tmpdir());
	vmlinux[0] = initrd[0] = '\0';
	*secure = false;
	FILE *p = popen(cmd, "r");
	if (!p) {
		snprintf(err, errlen, "guests/build.sh: %s", strerror(errno));
		return -1;
	}
	char line[600];
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "vmlinux=", 8) == 0)
			snprintf(vmlinux, len, "%.*s", (int)len - 1, line + 8);
		else if (strncmp(line, "initrd=", 7) == 0)
			snprintf(initrd, len, "%.*s", (int)len - 1, line + 7);
		else if (strncmp(line, "secure=", 7) == 0)
			*secure = strcmp(line + 7, "none") != 0;
	}
	int st = pclose(p);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (code == 0 && vmlinux[0] && initrd[0])
		return 0;
	char log[300], tail[200];
	snprintf(log, sizeof(log), "%s/build.log", vt_proc_tmpdir());
	vt_file_last_line(log, tail, sizeof(tail));
	snprintf(err, errlen, "guests/build.sh failed (exit %d)%s%s", code, tail[0] ? ": " : "",
		 tail);
	return code == 2 ? 2 : -1;
}

/* The matrix cell a guest device stands for, judged under linux-6.1:
 * the driver knows ACCESS_PLATFORM, the guest is not secure, the device
 * has a 64-bit DMA width. */
static void as_matrix_cell(const struct gguest *g, const struct gcell *c, struct vt_mx_cell *m)
{
	memset(m, 0, sizeof(*m));
	m->v[MX_AP_OFFER] = c->ap;
	m->v[MX_AP_ACCEPT] = 1;
	m->v[MX_SECURE] = g->secure;
	m->v[MX_TRANSLATION] = (uint8_t)g->tr;
	m->v[MX_WIDTH] = MX_W64;
	m->v[MX_RING] = c->packed ? MX_PACKED : MX_SPLIT;
	m->v[MX_EVENT_IDX] = !c->no_event_idx;
	m->v[MX_INDIRECT] = !c->no_indirect;
	m->v[MX_DEVICE] = (uint8_t)c->kind;
}

/* The firmware of a guest that carries our device.  SeaBIOS drives every
 * virtio-blk function itself (to boot from it) and hands it to the kernel
 * still live: our device would judge the firmware's driver along with
 * Linux's.  qboot, which only loads the kernel, leaves the devices to
 * Linux alone.  NULL (QEMU's default firmware) when it is not installed.
 * VCTS_GUEST_FIRMWARE overrides: a -bios image, or "default". */
static const char *vhost_guest_bios(void)
{
	const char *env = getenv("VCTS_GUEST_FIRMWARE");
	if (env && *env)
		return strcmp(env, "default") == 0 ? NULL : env;
	static const char *const dirs[] = { "/usr/share/qemu", "/usr/share/seabios" };
	static char path[64];
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/qboot.rom", dirs[i]);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

/* What our device offers for a vhost cell. */
static uint64_t vhost_offer(const struct gcell *c)
{
	return VT_BIT(VIRTIO_F_VERSION_1) | (c->no_indirect ? 0 : VT_BIT(VIRTIO_F_INDIRECT_DESC)) |
	       (c->no_event_idx ? 0 : VT_BIT(VIRTIO_F_EVENT_IDX)) |
	       (c->packed ? VT_BIT(VIRTIO_F_RING_PACKED) : 0) |
	       (c->ap ? VT_BIT(VIRTIO_F_ACCESS_PLATFORM) : 0);
}

static void sub(struct vt_tap *t, bool ok, const char *name, const char *rule, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));

/* One subtest of a cell; a failure names the rule it judges. */
static void sub(struct vt_tap *t, bool ok, const char *name, const char *rule, const char *fmt,
		...)
{
	char detail[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	vt_tap_result(t, ok ? VT_PASS : VT_FAIL, name, ok ? NULL : detail);
	if (!ok) {
		struct vt_tap_finding fd = { .message = detail, .rule = rule, .who = "driver" };
		vt_tap_yaml(t, &fd, NULL, 0);
	}
}

/* Our device's own verdict on the driver: its session with QEMU went
 * live and served requests, and no MUST-level rule was recorded.  A
 * finding's YAML names the rule, who broke it, expected and got; SHOULD
 * records are shown as diagnostics. */
static void judge_vhost(struct vt_tap *st, const struct vt_guest_vhost_result *v)
{
	vt_tap_diag(st, "our device: %s; negotiated 0x%llx, protocol 0x%llx, %llu requests, "
		    "%llu kicks, %llu calls; IOTLB %llu misses (%llu unanswered), %llu updates, "
		    "%llu invalidates", v->why, (unsigned long long)v->negotiated,
		    (unsigned long long)v->protocol, (unsigned long long)v->requests,
		    (unsigned long long)v->kicks, (unsigned long long)v->calls,
		    (unsigned long long)v->iotlb_misses, (unsigned long long)v->iotlb_unanswered,
		    (unsigned long long)v->iotlb_updates, (unsigned long long)v->iotlb_invalidates);
	bool live = v->connected && v->driver_ok && !v->error && v->requests > 0;
	vt_tap_result(st, live ? VT_PASS : VT_FAIL, "device-session",
		      live ? NULL : "our device was not driven to completion");
	if (!live) {
		char got[160];
		snprintf(got, sizeof(got), "connected %d, driver_ok %d, error %d, %llu requests: %s",
			 v->connected, v->driver_ok, v->error, (unsigned long long)v->requests,
			 v->why);
		struct vt_tap_finding fd = {
			.message = "the vhost-user session did not serve the guest's I/O",
			.expected = "connected, DRIVER_OK, requests served, clean end",
			.got = got, .who = v->error ? "harness" : "driver",
		};
		vt_tap_yaml(st, &fd, NULL, 0);
	}
	for (unsigned k = 0; k < v->nfind; k++)
		if (!v->find[k].must)
			vt_tap_diag(st, "advice %s (%s): %s", v->find[k].rule, v->find[k].who,
				    v->find[k].msg);
	const struct vt_guest_finding *f = v->nfind && v->find[0].must ? &v->find[0] : NULL;
	vt_tap_result(st, v->n_must == 0 ? VT_PASS : VT_FAIL, "device-checks",
		      v->n_must == 0 ? NULL : f ? f->msg : "a MUST-level rule was broken");
	if (v->n_must == 0)
		return;
	struct vt_tap_finding list[VT_GUEST_MAX_FINDINGS];
	unsigned n = 0;
	for (unsigned k = 0; k < v->nfind; k++) {
		if (!v->find[k].must)
			continue;
		list[n++] = (struct vt_tap_finding){
			.message = v->find[k].msg, .rule = v->find[k].rule, .who = v->find[k].who,
			.expected = v->find[k].expected[0] ? v->find[k].expected : NULL,
			.got = v->find[k].got[0] ? v->find[k].got : NULL,
		};
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "%u MUST-level violation%s recorded by our device", v->n_must,
		 v->n_must == 1 ? "" : "s");
	struct vt_tap_finding top = n ? list[0] : (struct vt_tap_finding){ .message = msg };
	vt_tap_yaml(st, &top, n > 1 ? list + 1 : NULL, n > 1 ? n - 1 : 0);
}

/* A secure guest without the refusal hook (memory private, bounce pool
 * forced) that meets a device without ACCESS_PLATFORM: the profile says
 * refuse; such a guest drives the device with guest-physical addresses of
 * memory the host cannot read.  That breach is the known hazard (TODO); a
 * guest that refuses here anyway is an XPASS: the cell no longer shows
 * what it is meant to show. */
static void judge_unaware(struct vt_tap *tap, const char *name, const struct vt_mx_expected *e,
			  const struct vt_guest_report *rep)
{
	char detail[200];
	bool bound = strcmp(rep->driver, "none") != 0 && rep->driver[0];
	if (bound) {
		snprintf(detail, sizeof(detail), "secure but unaware: %s drove a device without "
			 "ACCESS_PLATFORM (status 0x%x, io %s); %s expects a refusal", rep->driver,
			 rep->status, rep->io[0] ? rep->io : "none", e->rule);
		vt_tap_result(tap, VT_XFAIL, name, detail);
		struct vt_tap_finding fd = { .message = detail, .rule = "INV-unshared-access",
					     .who = "driver" };
		vt_tap_yaml(tap, &fd, NULL, 0);
	} else {
		snprintf(detail, sizeof(detail), "the unaware guest refused (driver %s, status 0x%x)",
			 rep->driver[0] ? rep->driver : "none", rep->status);
		vt_tap_result(tap, VT_XPASS, name, detail);
	}
}

static void judge(struct vt_tap *tap, const struct vt_profile *prof, const struct gguest *g,
		  const struct gcell *c, const struct vt_guest_result *res,
		  const struct vt_guest_report *rep,
		  const struct vt_guest_vhost_result *vh)
{
	char name[128];
	struct vt_mx_cell m;
	struct vt_mx_expected e;
	snprintf(name, sizeof(name), "guest/%s/%s", g->name, c->name);
	as_matrix_cell(g, c, &m);
	vt_mx_oracle(prof, &m, &e);

	if (!rep->seen) {
		vt_tap_result(tap, VT_FAIL, name, "the agent did not report this device");
		struct vt_tap_finding fd = {
			.message = res->done ? "agent finished without it" :
			res->timed_out ? "guest hit its deadline" : "agent never finished",
			.got = res->console_tail,
		};
		vt_tap_yaml(tap, &fd, NULL, 0);
		return;
	}
	if (g->unaware && e.outcome == MX_DRIVER_REFUSES) {
		judge_unaware(tap, name, &e, rep);
		return;
	}
	struct vt_tap st;
	vt_tap_subtest_begin(tap, &st, name);
	vt_tap_diag(&st, "linux-6.1 expects %s, features 0x%llx; agent: driver %s, status 0x%x, "
		    "features 0x%llx, io %s", vt_mx_outcome_name(e.outcome),
		    (unsigned long long)e.features, rep->driver, rep->status,
		    (unsigned long long)rep->features, rep->io[0] ? rep->io : "none");
	uint64_t mask = MX_FEATURE_MASK_BASE;
	bool live = e.outcome == MX_LIVE;
	bool bound = strcmp(rep->driver, "none") != 0 && rep->driver[0];
	sub(&st, live == bound, "driver-bound", "DRV-3.1.1",
	    "expected %s, driver '%s'", vt_mx_outcome_name(e.outcome), rep->driver);
	if (e.outcome == MX_DRIVER_REFUSES)
		/* refused before FEATURES_OK: ACKNOWLEDGE|DRIVER|FAILED */
		sub(&st, rep->status == 0x83, "status", e.rule,
		    "status 0x%x, expected 0x83: the driver refuses (%s)", rep->status, e.why);
	else
		sub(&st, !live || rep->status == 0x0f, "status", "DRV-3.1.1",
		    "status 0x%x, expected 0x0f (ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK)",
		    rep->status);
	sub(&st, !live || (rep->features & mask) == e.features, "features", "DRV-6.1",
	    "negotiated 0x%llx (within 0x%llx), linux-6.1 expects 0x%llx",
	    (unsigned long long)(rep->features & mask), (unsigned long long)mask,
	    (unsigned long long)e.features);
	const char *io = live ? c->io : "none";       /* a refused device does no I/O */
	if (io)
		sub(&st, strcmp(rep->io, io) == 0, "io", "INV-data-integrity",
		    "io '%s', expected '%s'", rep->io, io);
	sub(&st, rep->ok || rep->first_failure[0] == '\0', "agent-checks", NULL, "%s",
	    rep->first_failure);
	if (c->vhost)
		judge_vhost(&st, vh);
	vt_tap_subtest_end(tap, &st, name);
}

static int parse_args(int argc, char **argv, struct gargs *a)
{
	for (int i = 1; i < argc; i += 2) {   /* each option takes a value */
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			fputs(vt_guest_usage, stdout);
			return 1;
		}
		if (!v && (strcmp(o, "--kernel") == 0 || strcmp(o, "--filter") == 0 ||
			   strcmp(o, "--timeout") == 0 || strcmp(o, "--tap-version") == 0)) {
			fprintf(stderr, "vcts guest: %s needs a value\n", o);
			return -1;
		}
		if (strcmp(o, "--kernel") == 0) {
			/* a Debian ABI name; it reaches a shell command line */
			if (!*v || v[strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.+-")]) {
				fprintf(stderr, "vcts guest: --kernel wants a version such as "
					"6.1.0-56-amd64, not '%s'\n", v);
				return -1;
			}
			a->kernel = v;
		} else if (strcmp(o, "--filter") == 0) {
			if (a->nfilters >= 16) {
				fprintf(stderr, "vcts guest: at most 16 --filter\n");
				return -1;
			}
			a->filters[a->nfilters++] = v;
		} else if (strcmp(o, "--timeout") == 0) {
			char *end;
			unsigned long t = strtoul(v, &end, 10);
			if (*end || t < 1000 || t > 3600000) {
				fprintf(stderr, "vcts guest: --timeout wants 1000..3600000 ms, not '%s'\n",
					v);
				return -1;
			}
			a->timeout_ms = (unsigned)t;
		} else if (strcmp(o, "--tap-version") == 0) {
			if (strcmp(v, "13") && strcmp(v, "14")) {
				fprintf(stderr, "vcts guest: --tap-version wants 13 or 14\n");
				return -1;
			}
			a->tap_version = (unsigned)atoi(v);
		} else {
			fprintf(stderr, "vcts guest: unknown %s '%s' (see 'vcts help guest')\n",
				o[0] == '-' ? "option" : "argument", o);
			return -1;
		}
	}
	return 0;
}

int vt_guest_main(int argc, char **argv)
{
	struct gargs a = { .timeout_ms = 90000 };
	char err[512], vmlinux[512], initrd[512];
	struct vt_profile prof;
	struct vt_tap tap;

	int pr = parse_args(argc, argv, &a);
	if (pr)
		return pr > 0 ? VT_EXIT_OK : VT_EXIT_USAGE;
	if (vt_clause_load(NULL, err, sizeof(err)) ||
	    vt_mx_profile_load("linux-6.1", &prof, err, sizeof(err))) {
		fprintf(stderr, "vcts guest: %s\n", err);
		return VT_EXIT_USAGE;
	}
	vt_tap_start(&tap, stdout, vt_run_tap_version(a.tap_version));
	if (!vt_qemu_available()) {
		vt_tap_skip_all(&tap, "qemu-system-x86_64 not found");
		return VT_EXIT_OK;
	}
	bool have_secure;
	int b = build_guest(a.kernel, vmlinux, initrd, sizeof(vmlinux), &have_secure, err,
			    sizeof(err));
	if (b == 2) {
		vt_tap_skip_all(&tap, err);
		return VT_EXIT_OK;
	}
	if (b) {
		vt_tap_bail(&tap, "%s", err);
		return VT_EXIT_FAIL;
	}

	/* The guests and which of their cells are selected. */
	static struct vt_guest_cfg cfg[NGUESTS];
	static struct vt_guest_result res[NGUESTS];
	const struct gcell *slot[NGUESTS][VT_GUEST_MAX_DEVS];
	static char append[NGUESTS][256];
	bool unsupported[NGUESTS] = { false };
	unsigned total = 0;
	bool kvm = vt_guest_kvm_works(vmlinux, initrd);
	for (unsigned g = 0; g < NGUESTS; g++) {
		struct vt_guest_cfg *c = &cfg[g];
		memset(c, 0, sizeof(*c));
		c->vmlinux = vmlinux;
		c->initrd = initrd;
		c->iommu_aw = guests[g].iommu_aw;
		c->timeout_ms = a.timeout_ms;
		c->kvm = kvm;
		const char *extra = getenv("VCTS_GUEST_APPEND");   /* extra kernel arguments */
		snprintf(append[g], sizeof(append[g]), "%s%s%s",
			 guests[g].unaware ? "swiotlb=force" : guests[g].secure ? SECURE_APPEND : "",
			 guests[g].secure && extra ? " " : "", extra ? extra : "");
		c->append = append[g][0] ? append[g] : NULL;
		unsupported[g] = guests[g].secure && !guests[g].unaware && !have_secure;
		for (unsigned i = 0; i < NCELLS; i++) {
			char name[128];
			snprintf(name, sizeof(name), "guest/%s/%s", guests[g].name, cells[i].name);
			if (cells[i].iommu_only && !guests[g].iommu_aw)
				continue;
			/* our device does not yet hold a secure guest to the
			 * bounce pool: its cells run in the other guests */
			if (cells[i].vhost && guests[g].secure)
				continue;
			if (!selected(&a, name))
				continue;
			struct vt_guest_dev *d = &c->dev[c->ndev];
			snprintf(d->name, sizeof(d->name), "%s", cells[i].name);
			snprintf(d->device, sizeof(d->device), "%s", cells[i].device);
			snprintf(d->props, sizeof(d->props), "%s", cells[i].props);
			d->disk = cells[i].disk;
			d->rng = cells[i].rng;
			d->console = cells[i].console;
			if (cells[i].vhost) {
				d->vhost.type = &vt_device_blk;
				c->bios = vhost_guest_bios();
				d->vhost.offer = vhost_offer(&cells[i]);
			}
			slot[g][c->ndev++] = &cells[i];
		}
		total += c->ndev;
	}
	if (!total) {
		vt_tap_skip_all(&tap, "no cell selected");
		return VT_EXIT_OK;
	}
	vt_tap_plan(&tap, total);
	vt_tap_diag(&tap, "kernel %s, accel %s", vmlinux, kvm ? "kvm" : "tcg");

	/* Boot the guests, up to the number of CPUs at a time. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned par = ncpu > 0 ? (unsigned)ncpu : 1;
	for (unsigned g0 = 0; g0 < NGUESTS; g0 += par) {
		pid_t kids[NGUESTS];
		int fds[NGUESTS][2];
		unsigned n = 0;
		for (unsigned g = g0; g < NGUESTS && g < g0 + par; g++, n++) {
			kids[n] = -1;
			if (!cfg[g].ndev || unsupported[g] || pipe(fds[n]))
				continue;
			fflush(NULL);
			kids[n] = fork();
			if (kids[n] == 0) {
				close(fds[n][0]);
				struct vt_guest_result r;
				char e2[200] = "";
				if (vt_guest_run(&cfg[g], &r, e2, sizeof(e2)))
					snprintf(r.console_tail, sizeof(r.console_tail), "%s", e2);
				ssize_t w = write(fds[n][1], &r, sizeof(r));
				_exit(w == (ssize_t)sizeof(r) ? 0 : 1);
			}
			close(fds[n][1]);
		}
		for (unsigned k = 0; k < n; k++) {
			unsigned g = g0 + k;
			if (kids[k] <= 0)
				continue;
			ssize_t got = 0, r;
			char *p = (char *)&res[g];
			while ((r = read(fds[k][0], p + got, sizeof(res[g]) - (size_t)got)) > 0)
				got += r;
			close(fds[k][0]);
			waitpid(kids[k], NULL, 0);
			if (got != (ssize_t)sizeof(res[g]))
				memset(&res[g], 0, sizeof(res[g]));
		}
	}

	unsigned failed_before = tap.failed;
	for (unsigned g = 0; g < NGUESTS; g++) {
		if (unsupported[g]) {
			for (unsigned i = 0; i < cfg[g].ndev; i++) {
				char name[128];
				snprintf(name, sizeof(name), "guest/%s/%s", guests[g].name,
					 slot[g][i]->name);
				vt_tap_result(&tap, VT_SKIP, name, "no secure-guest module for this "
					      "kernel (its headers could not be fetched)");
			}
			continue;
		}
		if (cfg[g].ndev)
			vt_tap_diag(&tap, "guest %s: %u devices, %.1f s, %s%s%s", guests[g].name,
				    cfg[g].ndev, res[g].seconds,
				    res[g].timed_out ? "deadline" :
				    res[g].done ? "agent done" : "agent not done",
				    res[g].stuck_after_done ?
				    "; the guest did not power off within 5 s: stopped" : "",
				    res[g].started ? "" : " (QEMU did not start)");
		for (unsigned i = 0; i < cfg[g].ndev; i++)
			judge(&tap, &prof, &guests[g], slot[g][i], &res[g], &res[g].rep[i],
			      &res[g].vhost[i]);
	}
	return tap.failed > failed_before ? VT_EXIT_FAIL : VT_EXIT_OK;
}
