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
 * The microvm guests carry the same QEMU devices over virtio-mmio (no PCI,
 * no IOMMU): the oracle does not depend on the transport, so their cells
 * are judged alike.  A QEMU without the microvm machine skips them.
 *
 * The vhost-* cells put our own checking device (blk) in the guest as
 * vhost-user-blk-pci: besides what the agent reports, the device's
 * verdict on the driver (rules with clause ids, who broke them) is judged:
 * "device-session" (QEMU connected, the driver set DRIVER_OK, requests were
 * served) and "device-checks" (no MUST-level rule broken).
 */
#include <errno.h>
#include <poll.h>
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
#include "select.h"
#include "tap.h"
#include "virtio.h"

const char vt_guest_usage[] =
	"usage: vcts guest [--kernel VERSION] [--profile NAME|FILE] [--filter EXPR]...\n"
	"                  [--exclude EXPR]... [--shard I/N] [--timeout MS]\n"
	"                  [--tap-version 13|14] [--list [--format text|tap|json]]\n"
	"\n"
	"Boot Debian's Linux kernel under QEMU with many virtio devices per guest and\n"
	"judge what its virtio driver did with each one (one test point per cell,\n"
	"named guest/GUEST/CELL) against a rule profile (linux-6.1): the negotiated\n"
	"features (ACCESS_PLATFORM, packed, event index, indirect), the status, the\n"
	"driver bound, and real I/O through the device.  The kernel and initramfs are\n"
	"built on demand by guests/build.sh and cached per kernel version.\n"
	"Exit status: 0 if every cell passed, 1 if one failed, 2 on a usage error.\n"
	"\n"
	"  --kernel VERSION   Debian kernel ABI, e.g. 6.1.0-56-amd64 (default: what\n"
	"                     linux-image-amd64 depends on)\n"
	"  --profile P        judge by rule profile P (default linux-6.1): what the\n"
	"                     driver negotiates, refuses, and how it takes a hostile\n"
	"                     device (the driver.used-* rules)\n"
	"  --filter EXPR      only cells for which EXPR holds (repeatable, OR'ed):\n"
	"                     terms joined by ',', all must hold, each KEY=V1|V2,\n"
	"                     KEY!=V1|V2 or a name glob (as for 'vcts run').  Keys:\n"
	"                     name, guest, transport (pci|mmio), secure (on|off),\n"
	"                     translation (none|iommu39|iommu48), ring, event-idx,\n"
	"                     indirect, ap-offer (yes|no), device (blk, rng, ...),\n"
	"                     backend (qemu|vcts: vhost cells are our device),\n"
	"                     interface, fault, expect, clause, role (driver).\n"
	"                     Example: --filter 'backend=vcts,ring=packed'\n"
	"  --exclude EXPR     leave out the cells for which EXPR holds\n"
	"  --shard I/N        boot only shard I of N: the guests with a selected\n"
	"                     cell numbered from 0 in guest order, those whose\n"
	"                     number modulo N is I-1 (a unit is a guest)\n"
	"  --timeout MS       per guest (default 90000)\n"
	"  --tap-version N    13 or 14 (default: 14, or 13 under an older prove)\n"
	"  --list             print the selected cells, boot nothing; --format text\n"
	"                     (default), tap or json as 'vcts list --guest'\n"
	"\n"
	"Environment: VCTS_GUEST_APPEND adds kernel command-line arguments to every\n"
	"guest; VCTS_ACCEL=tcg skips the KVM probe (KVM is used only when a probe\n"
	"boot proves it works; the answer is kept per host boot); VCTS_QEMU names the\n"
	"QEMU binary; VCTS_CACHE the kernel cache (default ~/.cache/vcts).\n"
	"VCTS_VHU_TRACE=DIR makes our device write DIR/PID.SOCKET.trace: its vhost-user\n"
	"session line by line (messages, kicks, IOTLB misses and updates, ring state).\n"
	"Cells named vhost-* are served by vcts's own checking device (blk) as\n"
	"vhost-user-blk-pci: it judges the guest's driver clause by clause.  Their\n"
	"guests boot with qboot, so that no firmware driver uses the device first;\n"
	"VCTS_GUEST_FIRMWARE=default keeps QEMU's own firmware (or names a -bios).\n"
	"Guests named microvm* carry the QEMU devices over virtio-mmio (-M microvm).\n"
	"Net cells exchange ARP and ICMP echo with QEMU's user network (restrict=on);\n"
	"VCTS_GUEST_NETDEV replaces that -netdev backend (e.g. hubport,hubid=7: nobody\n"
	"answers), VCTS_GUEST_DEVICE_PROPS='CELL:PROPS;...' appends QEMU properties to\n"
	"a cell's device (see guests/README.md).\n";

/* A device-level cell: a QEMU device with properties. */
struct gcell {
	const char *name;
	const char *device;
	const char *props;
	enum vt_mx_device kind;     /* blk or other (features only)       */
	bool disk, rng, console;
	bool net;                   /* on a QEMU user network of its own  */
	bool balloon;               /* QEMU takes one balloon per machine:
				       a guest carries balloon or balloon-ap */
	bool legacy;                /* the legacy interface only (no
				       VERSION_1; PCI: disable-modern=on)   */
	bool transitional;          /* legacy and modern interfaces (PCI
				       device id 0x1000 + ...)              */
	bool ap, packed, no_event_idx, no_indirect;
	bool vhost;                 /* served by our checking device      */
	unsigned fault;             /* ...which breaks this rule on purpose
				       (enum vt_dev_fault): a hostile cell  */
	enum vt_mx_rule reaction;   /* the profile rule saying how the driver
				       takes it                             */
	bool ap_matters;            /* only where ACCESS_PLATFORM changes what
				       the device sees: behind a vIOMMU (IOVAs)
				       or in a secure guest (bounced buffers)  */
	const char *io;             /* expected io: "ok" or NULL (none)   */
	const char *mmio_device;    /* the same device on virtio-mmio, or
				       NULL: none in a microvm guest       */
};

#define MODERN "disable-legacy=on"
#define VHOST_BLK "vhost-user-blk-pci"
/* The QEMU devices on virtio-mmio (a microvm guest) */
#define MMIO_BLK "virtio-blk-device"
#define MMIO_RNG "virtio-rng-device"
#define MMIO_SERIAL "virtio-serial-device"
#define MMIO_NET "virtio-net-device"
#define MMIO_BALLOON "virtio-balloon-device"
/* PCI: both interfaces, or the legacy one alone (4.1.2 Transitional PCI
 * Device IDs; QEMU's legacy interface sits in I/O BAR0). */
#define TRANSITIONAL "disable-legacy=off,disable-modern=off"
#define LEGACY "disable-legacy=off,disable-modern=on"
static const struct gcell cells[] = {
	{ "blk", "virtio-blk-pci", MODERN, MX_DEV_BLK, .disk = true, .io = "ok",
	  .mmio_device = MMIO_BLK },
	{ "blk-ap", "virtio-blk-pci", MODERN ",iommu_platform=on", MX_DEV_BLK, .disk = true,
	  .ap = true, .io = "ok", .mmio_device = MMIO_BLK },
	{ "blk-packed", "virtio-blk-pci", MODERN ",packed=on", MX_DEV_BLK, .disk = true,
	  .packed = true, .io = "ok", .mmio_device = MMIO_BLK },
	{ "blk-ap-packed", "virtio-blk-pci", MODERN ",iommu_platform=on,packed=on", MX_DEV_BLK,
	  .disk = true, .ap = true, .packed = true, .io = "ok", .mmio_device = MMIO_BLK },
	{ "blk-no-event-idx", "virtio-blk-pci", MODERN ",event_idx=off", MX_DEV_BLK,
	  .disk = true, .no_event_idx = true, .io = "ok", .mmio_device = MMIO_BLK },
	{ "blk-no-indirect", "virtio-blk-pci", MODERN ",indirect_desc=off", MX_DEV_BLK,
	  .disk = true, .no_indirect = true, .io = "ok", .mmio_device = MMIO_BLK },
	{ "rng", "virtio-rng-pci", MODERN, MX_DEV_ECHO, .rng = true, .io = "ok",
	  .mmio_device = MMIO_RNG },
	{ "rng-ap-packed", "virtio-rng-pci", MODERN ",iommu_platform=on,packed=on", MX_DEV_ECHO,
	  .rng = true, .ap = true, .packed = true, .io = "ok", .mmio_device = MMIO_RNG },
	{ "console", "virtio-serial-pci", MODERN, MX_DEV_ECHO, .console = true,
	  .mmio_device = MMIO_SERIAL },
	{ "console-ap", "virtio-serial-pci", MODERN ",iommu_platform=on", MX_DEV_ECHO,
	  .console = true, .ap = true, .mmio_device = MMIO_SERIAL },
	/* Network: frames both ways through the device (ARP, ICMP echo with
	 * QEMU's user network). */
	{ "net", "virtio-net-pci", MODERN, MX_DEV_ECHO, .net = true, .io = "ok",
	  .mmio_device = MMIO_NET },
	{ "net-ap", "virtio-net-pci", MODERN ",iommu_platform=on", MX_DEV_ECHO, .net = true,
	  .ap = true, .io = "ok", .mmio_device = MMIO_NET },
	{ "net-packed", "virtio-net-pci", MODERN ",packed=on", MX_DEV_ECHO, .net = true,
	  .packed = true, .io = "ok", .mmio_device = MMIO_NET },
	/* The balloon: whether its driver accepts ACCESS_PLATFORM is the
	 * profile's driver.balloon-access-platform.  No I/O: the host never
	 * asks for pages.  Linux 6.1's balloon driver also clears
	 * INDIRECT_DESC (no allocation while reporting free pages): the
	 * device does not offer it, so the cell does not hang on that. */
	{ "balloon", "virtio-balloon-pci", MODERN ",indirect_desc=off", MX_DEV_ECHO,
	  .balloon = true, .no_indirect = true, .mmio_device = MMIO_BALLOON },
	{ "balloon-ap", "virtio-balloon-pci", MODERN ",iommu_platform=on,indirect_desc=off",
	  MX_DEV_ECHO, .balloon = true, .ap = true, .no_indirect = true,
	  .mmio_device = MMIO_BALLOON },
	/* Both interfaces (PCI device id 0x1001): Linux takes the modern one.
	 * The legacy interface alone: 32 feature bits, no VERSION_1, no
	 * FEATURES_OK step, rings at page frame numbers. */
	{ "blk-transitional", "virtio-blk-pci", TRANSITIONAL, MX_DEV_BLK, .disk = true,
	  .transitional = true, .io = "ok" },
	{ "blk-legacy", "virtio-blk-pci", LEGACY, MX_DEV_BLK, .disk = true, .legacy = true,
	  .io = "ok" },
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
	/* ACCESS_PLATFORM: behind the guest's intel-iommu every address is an
	 * IOVA the device translates through its IOTLB, filled by QEMU; in a
	 * secure guest every buffer is bounced through the pool (QEMU passes
	 * bit 33 to a backend only behind an IOMMU: it sees GPAs). */
	{ "vhost-blk-ap", VHOST_BLK, MODERN ",iommu_platform=on", MX_DEV_BLK, .vhost = true,
	  .ap = true, .ap_matters = true, .io = "ok" },
	/* Hostile: our device breaks one rule of the used ring from its first
	 * request on (DEV-2.7.8.2); the profile says what the driver does. */
	{ "vhost-blk-used-id-out-of-range", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .fault = VT_DEV_FAULT_USED_ID_RANGE, .reaction = MX_RULE_USED_ID_RANGE },
	{ "vhost-blk-used-id-not-outstanding", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .fault = VT_DEV_FAULT_USED_ID_NOT_HEAD, .reaction = MX_RULE_USED_ID_NOT_HEAD },
	{ "vhost-blk-packed-used-id-not-outstanding", VHOST_BLK, MODERN ",packed=on", MX_DEV_BLK,
	  .vhost = true, .packed = true, .fault = VT_DEV_FAULT_USED_ID_NOT_HEAD,
	  .reaction = MX_RULE_USED_ID_NOT_HEAD },
	{ "vhost-blk-used-len-too-large", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .fault = VT_DEV_FAULT_USED_LEN_TOO_LARGE, .reaction = MX_RULE_USED_LEN_LARGE },
	{ "vhost-blk-used-idx-jump", VHOST_BLK, MODERN, MX_DEV_BLK, .vhost = true,
	  .fault = VT_DEV_FAULT_USED_IDX_JUMP, .reaction = MX_RULE_USED_IDX_JUMP },
	{ "vhost-blk-ap-packed", VHOST_BLK, MODERN ",iommu_platform=on,packed=on", MX_DEV_BLK,
	  .vhost = true, .ap = true, .packed = true, .ap_matters = true, .io = "ok" },
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
	bool mmio;                  /* microvm: virtio-mmio devices, no PCI     */
	bool hostile;               /* carries only our misbehaving devices     */
	bool balloon_ap;            /* carries balloon-ap, not balloon: QEMU
				       takes one balloon per machine           */
};
/* A secure guest loads the module that makes virtio require
 * ACCESS_PLATFORM (as an SEV guest) and bounces everything. */
#define SECURE_APPEND "vcts.secure=1 swiotlb=force"
#define UNAWARE_APPEND "swiotlb=force"
/* The kernel names the pool's range only when it has a reason to keep
 * it (more than 4 GiB of RAM, or a software IOMMU): our device in a
 * secure guest learns it from there (/init echoes the line). */
#define POOL_APPEND "iommu=soft"
#define HOSTILE_APPEND "vcts.async_probe=1 vcts.agent_args=--io-timeout=1"
static const struct gguest guests[] = {
	/* One balloon each ("Only one balloon device is supported"): each
	 * outcome at least twice - balloon-ap refused by the device (q35,
	 * iommu48) or by a secure driver, balloon live (iommu39, microvm),
	 * refused for lacking ACCESS_PLATFORM, or driven by an unaware one. */
	{ "q35", .tr = MX_TR_NONE, .balloon_ap = true },
	{ "q35-iommu39", .iommu_aw = 39, .tr = MX_TR_IOMMU39 },
	{ "q35-iommu48", .iommu_aw = 48, .tr = MX_TR_IOMMU48, .balloon_ap = true },
	{ "q35-secure", .tr = MX_TR_NONE, .secure = true, .balloon_ap = true },
	{ "q35-secure-iommu48", .iommu_aw = 48, .tr = MX_TR_IOMMU48, .secure = true },
	{ "q35-secure-unaware", .tr = MX_TR_NONE, .secure = true, .unaware = true },
	{ "microvm", .tr = MX_TR_NONE, .mmio = true },
	{ "microvm-secure", .tr = MX_TR_NONE, .secure = true, .mmio = true, .balloon_ap = true },
	/* Our device breaking a rule of the used ring, to see what Linux's
	 * driver makes of it.  A queue the driver marks broken never
	 * completes the request in flight: probing asynchronously keeps a
	 * stuck probe from holding up /init and the other devices. */
	{ "q35-hostile", .tr = MX_TR_NONE, .hostile = true },
};
#define NGUESTS (sizeof(guests) / sizeof(guests[0]))

#define GUEST_MAX_EXPRS 64    /* --filter and --exclude, each */

struct gargs {
	const char *kernel;
	const char *profile;
	const char *filter[GUEST_MAX_EXPRS];
	unsigned nfilter;
	const char *exclude[GUEST_MAX_EXPRS];
	unsigned nexclude;
	struct vt_sel_shard shard;
	bool list;                  /* print the cells, boot nothing */
	enum vt_sel_format format;
	unsigned timeout_ms;
	unsigned tap_version;
};

/* A cell's properties on virtio-mmio: without MODERN, which only PCI
 * devices know (a microvm guest makes every transport modern at once). */
static const char *mmio_props(const char *props)
{
	size_t n = strlen(MODERN);
	if (strncmp(props, MODERN, n) == 0 && (props[n] == ',' || props[n] == '\0'))
		return props + n + (props[n] == ',');
	return props;
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
 * has a 64-bit DMA width.  The balloon's driver knows ACCESS_PLATFORM
 * only if the profile's driver.balloon-access-platform says it accepts it.
 * A legacy device offers neither ACCESS_PLATFORM nor packed rings: the
 * legacy interface carries feature bits 0 to 31 alone. */
static void as_matrix_cell(const struct vt_profile *prof, const struct gguest *g,
			   const struct gcell *c, struct vt_mx_cell *m)
{
	memset(m, 0, sizeof(*m));
	m->v[MX_AP_OFFER] = c->ap && !c->legacy;
	m->v[MX_AP_ACCEPT] = !c->balloon || prof->balloon_ap == MX_BALLOON_AP_ACCEPT;
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

/* The first INV-unshared-access our device recorded, or NULL. */
static const struct vt_guest_finding *unshared_finding(const struct vt_guest_vhost_result *v)
{
	for (unsigned k = 0; k < v->nfind; k++)
		if (strcmp(v->find[k].rule, "INV-unshared-access") == 0)
			return &v->find[k];
	return NULL;
}

/* In a secure guest our device shares only the bounce pool and the rings:
 * a live cell passes when the pool was learnt and no private page was
 * touched (the invariant on a real driver). */
static void judge_shared(struct vt_tap *st, const struct vt_guest_vhost_result *v)
{
	const struct vt_guest_finding *f = unshared_finding(v);
	bool ok = v->pool_len && !v->private_pages && !f;
	char detail[200];
	if (!v->pool_len)
		snprintf(detail, sizeof(detail), "the bounce pool was never shared (%s); %llu "
			 "private pages touched", v->pool_why[0] ? v->pool_why : "no ring went live",
			 (unsigned long long)v->private_pages);
	else
		snprintf(detail, sizeof(detail), "%llu private page%s touched; first: %s",
			 (unsigned long long)v->private_pages, v->private_pages == 1 ? "" : "s",
			 f ? f->msg : "(not kept)");
	if (ok)
		vt_tap_diag(st, "our device shared the bounce pool 0x%llx-0x%llx (%llu MiB) and the "
			    "rings only: no private page touched", (unsigned long long)v->pool_gpa,
			    (unsigned long long)(v->pool_gpa + v->pool_len),
			    (unsigned long long)(v->pool_len >> 20));
	vt_tap_result(st, ok ? VT_PASS : VT_FAIL, "INV-unshared-access", ok ? NULL : detail);
	if (!ok) {
		struct vt_tap_finding fd = {
			.message = detail, .rule = "INV-unshared-access", .who = "driver",
			.expected = "buffers only in the bounce pool or the rings",
			.got = f ? f->got : NULL,
			.has_addr = f && f->has_addr, .address = f ? f->address : 0,
			.gpa = f ? f->gpa : 0, .page = f ? f->gpa >> 12 : 0,
		};
		vt_tap_yaml(st, &fd, NULL, 0);
	}
}

/* Our device's own verdict on the driver.  A live cell: its session with
 * QEMU went live and served requests; a refused one: the session never
 * reached DRIVER_OK and served nothing.  Then: no MUST-level rule was
 * recorded.  A finding's YAML names the rule, who broke it, expected and
 * got; SHOULD records are shown as diagnostics. */
/* What our device saw of its session, as one diagnostic line. */
static void vhost_summary(struct vt_tap *st, const struct vt_guest_vhost_result *v)
{
	vt_tap_diag(st, "our device: %s; negotiated 0x%llx, protocol 0x%llx, %llu requests, "
		    "%llu kicks, %llu calls; IOTLB %llu misses (%llu unanswered), %llu updates, "
		    "%llu invalidates", v->why, (unsigned long long)v->negotiated,
		    (unsigned long long)v->protocol, (unsigned long long)v->requests,
		    (unsigned long long)v->kicks, (unsigned long long)v->calls,
		    (unsigned long long)v->iotlb_misses, (unsigned long long)v->iotlb_unanswered,
		    (unsigned long long)v->iotlb_updates, (unsigned long long)v->iotlb_invalidates);
}

static void judge_vhost(struct vt_tap *st, const struct vt_guest_vhost_result *v, bool expect_live)
{
	vhost_summary(st, v);
	bool live = v->connected && v->driver_ok && !v->error && v->requests > 0;
	bool idle = v->connected && !v->driver_ok && !v->error && v->requests == 0;
	bool as_expected = expect_live ? live : idle;
	vt_tap_result(st, as_expected ? VT_PASS : VT_FAIL, "device-session",
		      as_expected ? NULL : expect_live ? "our device was not driven to completion" :
		      "our device went live though the driver refused it");
	if (!as_expected) {
		char got[160];
		snprintf(got, sizeof(got), "connected %d, driver_ok %d, error %d, %llu requests: %s",
			 v->connected, v->driver_ok, v->error, (unsigned long long)v->requests,
			 v->why);
		struct vt_tap_finding fd = {
			.message = "the vhost-user session did not serve the guest's I/O",
			.expected = expect_live ? "connected, DRIVER_OK, requests served, clean end" :
			"connected, never DRIVER_OK, nothing served",
			.got = got, .who = v->error ? "harness" : "driver",
		};
		vt_tap_yaml(st, &fd, NULL, 0);
	}
	if (v->secure && expect_live)
		judge_shared(st, v);
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
			.has_addr = v->find[k].has_addr, .address = v->find[k].address,
			.gpa = v->find[k].gpa, .page = v->find[k].gpa >> 12,
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
			  const struct vt_guest_report *rep, const struct gcell *c,
			  const struct vt_guest_vhost_result *vh)
{
	char detail[240];
	bool bound = strcmp(rep->driver, "none") != 0 && rep->driver[0];
	const struct vt_guest_finding *f = c->vhost ? unshared_finding(vh) : NULL;
	if (bound && c->vhost && vh->private_pages) {
		/* our device holds the address-level proof */
		snprintf(detail, sizeof(detail), "secure but unaware: %s handed our device %llu "
			 "private page%s outside the bounce pool 0x%llx-0x%llx; %s expects a refusal",
			 rep->driver, (unsigned long long)vh->private_pages,
			 vh->private_pages == 1 ? "" : "s", (unsigned long long)vh->pool_gpa,
			 (unsigned long long)(vh->pool_gpa + vh->pool_len), e->rule);
		vt_tap_result(tap, VT_XFAIL, name, detail);
		struct vt_tap_finding fd = {
			.message = f ? f->msg : detail, .rule = "INV-unshared-access", .who = "driver",
			.expected = "a refusal (status 0x83), or buffers only in the bounce pool",
			.got = detail, .has_addr = f && f->has_addr, .address = f ? f->address : 0,
			.gpa = f ? f->gpa : 0, .page = f ? f->gpa >> 12 : 0,
		};
		vt_tap_yaml(tap, &fd, NULL, 0);
	} else if (bound && c->vhost) {
		snprintf(detail, sizeof(detail), "%s drove our device without ACCESS_PLATFORM, yet it "
			 "saw no private page touched (pool %llu MiB): %s", rep->driver,
			 (unsigned long long)(vh->pool_len >> 20), vh->why);
		vt_tap_result(tap, VT_XPASS, name, detail);
	} else if (bound) {
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

/* Did the kernel name the queue broken?  Linux's virtio_ring says so
 * (BAD_RING) with "id N out of range" or "id N is not a head!". */
static bool said_broken(const char *kmsg)
{
	return strstr(kmsg, "out of range") || strstr(kmsg, "is not a head");
}

/* A hostile cell: our device breaks one rule of the used ring from its
 * first request on; the profile says how the driver takes it.  Whatever
 * it says, the guest must live to the end of its report. */
static void judge_hostile(struct vt_tap *tap, const struct vt_profile *prof, const char *name,
			  const struct gcell *c, const struct vt_guest_result *res,
			  const struct vt_guest_report *rep, const struct vt_guest_vhost_result *vh)
{
	enum vt_mx_reaction want = prof->reaction[c->reaction];
	const char *key = vt_mx_rule_key[c->reaction];
	const char *src = prof->src[c->reaction].source;
	if (want == MX_REACT_UNSAID) {
		char why[160];
		snprintf(why, sizeof(why), "profile %s does not say %s", prof->name, key);
		vt_tap_result(tap, VT_SKIP, name, why);
		return;
	}
	struct vt_tap st;
	vt_tap_subtest_begin(tap, &st, name);
	vt_tap_diag(&st, "%s: %s %s (%s); agent: driver %s, io %s; kernel: %s", prof->name, key,
		    want == MX_REACT_BROKEN ? "queue-broken" : "ignored", src, rep->driver,
		    rep->io[0] ? rep->io : "none", rep->kmsg[0] ? rep->kmsg : "(nothing)");
	/* the fault fired: our device completed at least one request */
	sub(&st, vh->driver_ok && vh->requests > 0, "device-fault", "DEV-2.7.8.2",
	    "our device never completed a request (driver_ok %d, %llu requests: %s)",
	    vh->driver_ok, (unsigned long long)vh->requests, vh->why);
	bool io_ok = strcmp(rep->io, "ok") == 0;
	bool broken = said_broken(rep->kmsg);
	if (want == MX_REACT_BROKEN)
		sub(&st, broken && !io_ok, "reaction", src,
		    "expected the queue marked broken and the I/O not done; kernel said '%s', io '%s'",
		    rep->kmsg[0] ? rep->kmsg : "nothing", rep->io);
	else
		sub(&st, !broken && io_ok, "reaction", src,
		    "expected the fault ignored and the I/O done; kernel said '%s', io '%s'",
		    rep->kmsg[0] ? rep->kmsg : "nothing", rep->io);
	sub(&st, res->done, "guest-lives", NULL, "the guest did not finish its report: %s",
	    res->timed_out ? "deadline" : "agent not done");
	vt_tap_subtest_end(tap, &st, name);
}

/* The rule deciding whether the driver takes the device: for a balloon
 * offering ACCESS_PLATFORM the profile's driver.balloon-access-platform
 * (NULL when the profile does not say), else the driver's initialisation. */
static const char *cell_rule(const struct vt_profile *prof, const struct gcell *c)
{
	if (!c->balloon || !c->ap)
		return "DRV-3.1.1";
	return prof->balloon_ap == MX_BALLOON_AP_UNSAID ? NULL :
	       prof->src[MX_RULE_BALLOON_AP].source;
}

/* One line on what makes the cell special. */
static const char *cell_note(const struct vt_profile *prof, const struct gcell *c)
{
	static char note[160];
	if (c->legacy)
		return "the legacy interface alone: no VERSION_1, 32 feature bits, no FEATURES_OK";
	if (c->transitional)
		return "transitional: legacy and modern interfaces, the driver takes the modern one";
	if (c->balloon && c->ap) {
		snprintf(note, sizeof(note), "%s %s (%s): %s", vt_mx_rule_key[MX_RULE_BALLOON_AP],
			 prof->balloon_ap == MX_BALLOON_AP_CLEAR ? "clear" : "accept",
			 prof->src[MX_RULE_BALLOON_AP].source,
			 prof->balloon_ap == MX_BALLOON_AP_CLEAR ?
			 "the driver never accepts ACCESS_PLATFORM" : "the driver accepts it");
		return note;
	}
	return c->balloon ? "the balloon, ACCESS_PLATFORM not offered" : "";
}

/* What the kernel said about the device: the agent's reading of the
 * kernel log, else the console's. */
static const char *said(const struct vt_guest_report *rep)
{
	return rep->said[0] ? rep->said : rep->kmsg[0] ? rep->kmsg : "nothing";
}

/* A refused device: the kernel says why.  Linux's driver names the bit it
 * misses - VERSION_1 first (a legacy device), else ACCESS_PLATFORM - and
 * reports a device's refusal as "device refuses features". */
static void judge_refusal_said(struct vt_tap *st, const struct gcell *c,
			       const struct vt_mx_expected *e, const struct vt_guest_report *rep)
{
	const char *words = "VIRTIO_F_ACCESS_PLATFORM", *rule = e->rule;
	if (e->outcome == MX_DEVICE_REFUSES) {
		words = "device refuses features";
	} else if (c->legacy) {
		words = "VIRTIO_F_VERSION_1";
		rule = "POL-linux61-secure-refuses-legacy";
	}
	sub(st, strstr(said(rep), words) != NULL, "refusal-said", rule,
	    "the kernel said '%s'; expected it to name %s", said(rep), words);
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
	as_matrix_cell(prof, g, c, &m);
	vt_mx_oracle(prof, &m, &e);

	if (!rep->seen) {
		if (vh && vh->served) {
			vhost_summary(tap, vh);
			for (unsigned k = 0; k < vh->nfind; k++)
				vt_tap_diag(tap, "our device recorded %s (%s): %s", vh->find[k].rule,
					    vh->find[k].who, vh->find[k].msg);
		}
		vt_tap_result(tap, VT_FAIL, name, "the agent did not report this device");
		struct vt_tap_finding fd = {
			.message = res->done ? "agent finished without it" :
			res->timed_out ? "guest hit its deadline" : "agent never finished",
			.got = res->console_tail,
		};
		vt_tap_yaml(tap, &fd, NULL, 0);
		return;
	}
	if (c->fault) {
		judge_hostile(tap, prof, name, c, res, rep, vh);
		return;
	}
	if (g->unaware && e.outcome == MX_DRIVER_REFUSES) {
		judge_unaware(tap, name, &e, rep, c, vh);
		return;
	}
	const char *rule = cell_rule(prof, c);
	if (!rule) {
		char why[160];
		snprintf(why, sizeof(why), "profile %s does not say %s", prof->name,
			 vt_mx_rule_key[MX_RULE_BALLOON_AP]);
		vt_tap_result(tap, VT_SKIP, name, why);
		return;
	}
	uint64_t want = c->legacy ? e.features & ~VT_BIT(VIRTIO_F_VERSION_1) : e.features;
	struct vt_tap st;
	vt_tap_subtest_begin(tap, &st, name);
	vt_tap_diag(&st, "%s expects %s, features 0x%llx; agent: driver %s, status 0x%x, "
		    "features 0x%llx, io %s", prof->name, vt_mx_outcome_name(e.outcome),
		    (unsigned long long)want, rep->driver, rep->status,
		    (unsigned long long)rep->features, rep->io[0] ? rep->io : "none");
	if (c->legacy || c->transitional || c->balloon)
		vt_tap_diag(&st, "%s", cell_note(prof, c));
	if (rep->io_detail[0])
		vt_tap_diag(&st, "io: %s", rep->io_detail);
	if (rep->said[0] || rep->kmsg[0])
		vt_tap_diag(&st, "kernel: %s", said(rep));
	uint64_t mask = MX_FEATURE_MASK_BASE;
	bool live = e.outcome == MX_LIVE;
	bool bound = strcmp(rep->driver, "none") != 0 && rep->driver[0];
	const char *why = e.why[0] ? e.why : cell_note(prof, c);
	sub(&st, live == bound, "driver-bound", rule, "expected %s, driver '%s'%s%s%s",
	    vt_mx_outcome_name(e.outcome), rep->driver, why[0] ? " (" : "", why,
	    why[0] ? ")" : "");
	if (!live)
		/* refused before FEATURES_OK, or FEATURES_OK not kept by the
		 * device: ACKNOWLEDGE|DRIVER|FAILED */
		sub(&st, rep->status == 0x83, "status", e.rule, "status 0x%x, expected 0x83: the %s "
		    "refuses (%s)", rep->status, e.outcome == MX_DEVICE_REFUSES ? "device" : "driver",
		    e.why);
	else if (c->legacy)
		/* the legacy interface has no FEATURES_OK step (3.1) */
		sub(&st, rep->status == 0x07, "status", "DRV-3.1.1",
		    "status 0x%x, expected 0x07 (ACKNOWLEDGE|DRIVER|DRIVER_OK: a legacy device has "
		    "no FEATURES_OK)", rep->status);
	else
		sub(&st, rep->status == 0x0f, "status", "DRV-3.1.1",
		    "status 0x%x, expected 0x0f (ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK)",
		    rep->status);
	sub(&st, !live || (rep->features & mask) == want, "features",
	    c->balloon && c->ap ? rule : "DRV-6.1",
	    "negotiated 0x%llx (within 0x%llx), %s expects 0x%llx%s",
	    (unsigned long long)(rep->features & mask), (unsigned long long)mask, prof->name,
	    (unsigned long long)want, c->legacy ? " (legacy: no VERSION_1)" : "");
	const char *io = live ? c->io : "none";       /* a refused device does no I/O */
	if (io)
		sub(&st, strcmp(rep->io, io) == 0, "io", "INV-data-integrity",
		    "io '%s', expected '%s'", rep->io, io);
	sub(&st, rep->ok || rep->first_failure[0] == '\0', "agent-checks", NULL, "%s",
	    rep->first_failure);
	if (c->vhost)
		judge_vhost(&st, vh, live);
	if (!live)
		judge_refusal_said(&st, c, &e, rep);
	vt_tap_subtest_end(tap, &st, name);
}

/* One guest in a child process: its result comes back whole on fd. */
static pid_t start_guest(const struct vt_guest_cfg *cfg, int *fd)
{
	int p[2];
	if (pipe(p))
		return -1;
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (vt_proc_bind_to_parent(parent))
			_exit(1);
		static struct vt_guest_result r;
		char e2[200] = "";
		if (vt_guest_run(cfg, &r, e2, sizeof(e2)))
			snprintf(r.console_tail, sizeof(r.console_tail), "%s", e2);
		const char *q = (const char *)&r;
		size_t left = sizeof(r);
		while (left) {
			ssize_t w = write(p[1], q, left);
			if (w <= 0)
				_exit(1);
			q += w;
			left -= (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*fd = p[0];
	return pid;
}

/* Run the guests marked in run[], `par` at a time: a new one starts as
 * soon as one ends (guests differ in length: a hostile one waits out its
 * I/O deadlines).  A result that does not come back whole is left zeroed:
 * its cells are then judged unreported. */
static void run_guests(const struct vt_guest_cfg *cfg, struct vt_guest_result *res,
		       const bool *run, unsigned n, unsigned par)
{
	struct { pid_t pid; int fd; unsigned g; size_t got; } slot[NGUESTS];
	unsigned nslot = 0, next = 0, order[NGUESTS], no = 0;

	/* the longest first: hostile guests wait out I/O deadlines */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned g = 0; g < n; g++)
			if (guests[g].hostile == (pass == 0))
				order[no++] = g;

	for (;;) {
		while (nslot < par && next < n) {
			unsigned g = order[next++];
			memset(&res[g], 0, sizeof(res[g]));
			if (!run[g])
				continue;
			int fd;
			pid_t pid = start_guest(&cfg[g], &fd);
			if (pid > 0)
				slot[nslot++] = (typeof(slot[0])){ pid, fd, g, 0 };
		}
		if (!nslot)
			return;
		struct pollfd pf[NGUESTS];
		for (unsigned k = 0; k < nslot; k++)
			pf[k] = (struct pollfd){ .fd = slot[k].fd, .events = POLLIN };
		if (poll(pf, nslot, -1) < 0 && errno != EINTR)
			return;
		for (unsigned k = 0; k < nslot; k++) {
			if (!pf[k].revents)
				continue;
			char *p = (char *)&res[slot[k].g];
			ssize_t r = read(slot[k].fd, p + slot[k].got,
					 sizeof(res[0]) - slot[k].got);
			if (r > 0) {
				slot[k].got += (size_t)r;
				if (slot[k].got < sizeof(res[0]))
					continue;
			}
			/* whole, at its end, or broken: this guest is over */
			close(slot[k].fd);
			waitpid(slot[k].pid, NULL, 0);
			if (slot[k].got != sizeof(res[0]))
				memset(p, 0, sizeof(res[0]));
			slot[k] = slot[--nslot];
			break;        /* the poll set changed */
		}
	}
}

/* ---- which cells: --filter, --exclude, --shard, --list (select.h) ---- */

static const char *const role_values[] = { "driver", "device" };
static const char *const transport_values[] = { "pci", "mmio" };
static const char *const on_off[] = { "off", "on" };
static const char *const yes_no[] = { "no", "yes" };
static const char *const ring_values[] = { "split", "packed" };
static const char *const backend_values[] = { "qemu", "vcts" };
static const char *const expect_values[] = { "live", "driver-refuses", "device-refuses", "skip",
					     "hazard" };
static const struct vt_sel_key guest_keys[] = {
	{ "clause", NULL, 0 },
	{ "role", role_values, 2 },
	{ "transport", transport_values, 2 },
	{ "guest", NULL, 0 },
	{ "secure", on_off, 2 },
	{ "translation", NULL, 0 },
	{ "ring", ring_values, 2 },
	{ "event-idx", on_off, 2 },
	{ "indirect", on_off, 2 },
	{ "ap-offer", yes_no, 2 },
	{ "device", NULL, 0 },
	{ "backend", backend_values, 2 },
	{ "interface", NULL, 0 },
	{ "fault", NULL, 0 },
	{ "expect", expect_values, 5 },
};

void vt_guest_keys(const struct vt_sel_key **keys, unsigned *nkeys)
{
	*keys = guest_keys;
	*nkeys = sizeof(guest_keys) / sizeof(guest_keys[0]);
}

#define GITEM_ATTRS 32

/* A cell of a guest as an item to select and list. */
struct gitem {
	struct vt_sel_item item;
	struct vt_sel_attr attr[GITEM_ATTRS];
	char name[128];
	char device[32];
	char rule[48];
};

static void gattr(struct gitem *d, const char *key, const char *value)
{
	if (d->item.nattr < GITEM_ATTRS && value && *value)
		d->attr[d->item.nattr++] = (struct vt_sel_attr){ key, value };
}

/* "blk" of virtio-blk-pci and vhost-user-blk-pci; the console is a
 * virtio-serial device. */
static const char *device_kind(const struct gcell *c, char *buf, size_t len)
{
	const char *p = c->device;
	if (c->console)
		return "console";
	if (strncmp(p, "virtio-", 7) == 0)
		p += 7;
	else if (strncmp(p, "vhost-user-", 11) == 0)
		p += 11;
	snprintf(buf, len, "%.*s", (int)strcspn(p, "-"), p);
	return buf;
}

/*
 * Every attribute of cell c in guest g, from their fields (the one place
 * to map a new field): the matrix axes where one applies (as the oracle
 * sees the cell), the transport, who serves it, the hostile rule it breaks,
 * the outcome the profile expects and the clauses judge() cites.
 */
static void cell_item(const struct vt_profile *prof, const struct gguest *g,
		      const struct gcell *c, struct gitem *d)
{
	struct vt_mx_cell m;
	struct vt_mx_expected e;
	as_matrix_cell(prof, g, c, &m);
	vt_mx_oracle(prof, &m, &e);
	snprintf(d->name, sizeof(d->name), "guest/%s/%s", g->name, c->name);
	snprintf(d->rule, sizeof(d->rule), "%s", e.rule);
	d->item = (struct vt_sel_item){ d->name, d->attr, 0 };
	gattr(d, "role", "driver");
	gattr(d, "transport", g->mmio ? "mmio" : "pci");
	if (c->fault) {
		gattr(d, "clause", "DEV-2.7.8.2");
		gattr(d, "clause", prof->src[c->reaction].source);
	} else {
		gattr(d, "clause", cell_rule(prof, c));
		if (e.outcome == MX_DRIVER_REFUSES || e.outcome == MX_DEVICE_REFUSES)
			gattr(d, "clause", c->legacy && e.outcome == MX_DRIVER_REFUSES ?
			      "POL-linux61-secure-refuses-legacy" : d->rule);
		gattr(d, "clause", "DRV-6.1");
		gattr(d, "clause", c->io ? "INV-data-integrity" : NULL);
		gattr(d, "clause", g->secure ? "INV-unshared-access" : NULL);
	}
	gattr(d, "guest", g->name);
	gattr(d, "secure", vt_mx_axes[MX_SECURE].values[m.v[MX_SECURE]]);
	gattr(d, "translation", vt_mx_axes[MX_TRANSLATION].values[m.v[MX_TRANSLATION]]);
	gattr(d, "ring", vt_mx_axes[MX_RING].values[m.v[MX_RING]]);
	gattr(d, "event-idx", vt_mx_axes[MX_EVENT_IDX].values[m.v[MX_EVENT_IDX]]);
	gattr(d, "indirect", vt_mx_axes[MX_INDIRECT].values[m.v[MX_INDIRECT]]);
	gattr(d, "ap-offer", vt_mx_axes[MX_AP_OFFER].values[m.v[MX_AP_OFFER]]);
	gattr(d, "device", device_kind(c, d->device, sizeof(d->device)));
	gattr(d, "backend", c->vhost ? "vcts" : "qemu");
	gattr(d, "interface", c->legacy ? "legacy" : c->transitional ? "transitional" : "modern");
	gattr(d, "fault", c->fault ? vt_mx_rule_key[c->reaction] : NULL);
	gattr(d, "expect", c->fault ? NULL : vt_mx_outcome_name(e.outcome));
}

/* Does guest g carry cell c at all? */
static bool cell_in_guest(const struct gguest *g, const struct gcell *c)
{
	if (c->ap_matters && !g->iommu_aw && !g->secure)
		return false;
	if (g->hostile != (c->fault != 0))
		return false;
	if (g->mmio && !c->mmio_device)
		return false;       /* no such device on virtio-mmio */
	/* our device holds a secure guest to its bounce pool and rings;
	 * rings behind an IOTLB it does not model */
	if (c->vhost && g->secure && g->iommu_aw)
		return false;
	if (c->balloon && c->ap != g->balloon_ap)
		return false;       /* one balloon per machine */
	return true;
}

/*
 * pick[g][i]: guest g runs cell i.  The cells the selection keeps; a
 * guest with any is a unit, numbered in guest order, and only the units
 * of the shard keep theirs.  Returns the number of units before sharding.
 */
static unsigned pick_cells(struct vt_sel *sel, const struct vt_sel_shard *sh,
			   const struct vt_profile *prof, bool pick[NGUESTS][NCELLS])
{
	static struct gitem d;
	unsigned units = 0;
	for (unsigned g = 0; g < NGUESTS; g++) {
		bool any = false;
		for (unsigned i = 0; i < NCELLS; i++) {
			pick[g][i] = cell_in_guest(&guests[g], &cells[i]);
			if (pick[g][i] && vt_sel_active(sel)) {
				cell_item(prof, &guests[g], &cells[i], &d);
				pick[g][i] = vt_sel_take(sel, &d.item);
			}
			any |= pick[g][i];
		}
		if (any && !vt_sel_shard_takes(sh, units++))
			memset(pick[g], 0, sizeof(pick[g]));
	}
	return units;
}

/* The picked cells as items of a listing. */
static int list_cells(const struct vt_profile *prof, bool pick[NGUESTS][NCELLS], unsigned units,
		      const struct vt_sel_shard *sh, struct vt_sel_list *l)
{
	static struct gitem d;
	for (unsigned g = 0; g < NGUESTS; g++)
		for (unsigned i = 0; i < NCELLS; i++) {
			if (!pick[g][i])
				continue;
			cell_item(prof, &guests[g], &cells[i], &d);
			if (vt_sel_list_add(l, "guest-cell", &d.item))
				return -1;
		}
	vt_sel_list_units(l, vt_sel_shard_size(sh, units), units, "guest");
	return 0;
}

int vt_guest_list(const char *profile, struct vt_sel *sel, const struct vt_sel_shard *sh,
		  struct vt_sel_list *l, char *err, size_t errlen)
{
	static struct vt_profile prof;
	static bool pick[NGUESTS][NCELLS];
	if (vt_mx_profile_load(profile ? profile : "linux-6.1", &prof, err, errlen))
		return -1;
	unsigned units = pick_cells(sel, sh, &prof, pick);
	if (list_cells(&prof, pick, units, sh, l)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* vcts guest --list: the same writer as `vcts list --guest`. */
static int list_guest_cells(const struct gargs *a, const struct vt_profile *prof,
			    bool pick[NGUESTS][NCELLS], unsigned units)
{
	struct vt_sel_list *l = vt_sel_list_new();
	int rc = !l || list_cells(prof, pick, units, &a->shard, l) ||
		 vt_sel_list_write(l, stdout, a->format, &a->shard,
				   vt_run_tap_version(a->tap_version));
	vt_sel_list_free(l);
	if (rc)
		fprintf(stderr, "vcts guest: cannot write the list\n");
	return rc ? VT_EXIT_FAIL : VT_EXIT_OK;
}

/* --filter and --exclude against the keys of a cell: 0, or -1 (said). */
static int parse_selection(const struct gargs *a, struct vt_sel *sel)
{
	char err[640];
	vt_sel_init(sel, guest_keys, sizeof(guest_keys) / sizeof(guest_keys[0]));
	for (unsigned i = 0; i < a->nfilter + a->nexclude; i++) {
		bool filter = i < a->nfilter;
		if (vt_sel_add(sel, filter ? VT_SEL_FILTER : VT_SEL_EXCLUDE,
			       filter ? a->filter[i] : a->exclude[i - a->nfilter], err, sizeof(err))) {
			fprintf(stderr, "vcts guest: %s: %s\n", filter ? "--filter" : "--exclude", err);
			return -1;
		}
	}
	return 0;
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
		if (strcmp(o, "--list") == 0) {
			a->list = true;
			i--;              /* the one option without a value */
			continue;
		}
		if (!v && (strcmp(o, "--kernel") == 0 || strcmp(o, "--filter") == 0 ||
			   strcmp(o, "--exclude") == 0 || strcmp(o, "--shard") == 0 ||
			   strcmp(o, "--format") == 0 || strcmp(o, "--profile") == 0 ||
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
		} else if (strcmp(o, "--profile") == 0) {
			a->profile = v;
		} else if (strcmp(o, "--filter") == 0 || strcmp(o, "--exclude") == 0) {
			bool filter = strcmp(o, "--filter") == 0;
			unsigned *n = filter ? &a->nfilter : &a->nexclude;
			if (*n >= GUEST_MAX_EXPRS) {
				fprintf(stderr, "vcts guest: at most %d %s\n", GUEST_MAX_EXPRS, o);
				return -1;
			}
			(filter ? a->filter : a->exclude)[(*n)++] = v;
		} else if (strcmp(o, "--shard") == 0) {
			char err[160];
			if (vt_sel_shard_parse(v, &a->shard, err, sizeof(err))) {
				fprintf(stderr, "vcts guest: %s\n", err);
				return -1;
			}
		} else if (strcmp(o, "--format") == 0) {
			if (vt_sel_format_parse(v, &a->format)) {
				fprintf(stderr, "vcts guest: --format wants text, tap or json, not '%s'\n",
					v);
				return -1;
			}
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
	if (a->format && !a->list) {
		fprintf(stderr, "vcts guest: --format goes with --list\n");
		return -1;
	}
	return 0;
}

int vt_guest_main(int argc, char **argv)
{
	struct gargs a = { .timeout_ms = 90000 };
	char err[512], vmlinux[512], initrd[512];
	struct vt_profile prof;
	struct vt_tap tap;

	static struct vt_sel sel;
	static bool pick[NGUESTS][NCELLS];

	int pr = parse_args(argc, argv, &a);
	if (pr)
		return pr > 0 ? VT_EXIT_OK : VT_EXIT_USAGE;
	if (parse_selection(&a, &sel))
		return VT_EXIT_USAGE;
	if (vt_clause_load(NULL, err, sizeof(err)) ||
	    vt_mx_profile_load(a.profile ? a.profile : "linux-6.1", &prof, err, sizeof(err))) {
		fprintf(stderr, "vcts guest: %s\n", err);
		return VT_EXIT_USAGE;
	}
	/* a unit of a shard is a guest: a boot is the cost */
	unsigned units = pick_cells(&sel, &a.shard, &prof, pick);
	if (a.list)
		return list_guest_cells(&a, &prof, pick, units);
	vt_tap_start(&tap, stdout, vt_run_tap_version(a.tap_version));
	if (vt_sel_shard_empty(&tap, &a.shard, units, "guest"))
		return VT_EXIT_OK;
	if (!vt_qemu_available()) {
		vt_tap_skip_all(&tap, "qemu-system-x86_64 not found");
		vt_sel_shard_note(&tap, &a.shard, units, "guest");
		return VT_EXIT_OK;
	}
	bool have_secure;
	int b = build_guest(a.kernel, vmlinux, initrd, sizeof(vmlinux), &have_secure, err,
			    sizeof(err));
	if (b == 2) {
		vt_tap_skip_all(&tap, err);
		vt_sel_shard_note(&tap, &a.shard, units, "guest");
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
	static char skip_why[NGUESTS][256];   /* why an unsupported guest's cells skip */
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
		snprintf(append[g], sizeof(append[g]), "%s%s%s%s",
			 guests[g].unaware ? UNAWARE_APPEND : guests[g].secure ? SECURE_APPEND : "",
			 guests[g].secure && !guests[g].iommu_aw ? " " POOL_APPEND :
			 guests[g].hostile ? HOSTILE_APPEND : "",
			 (guests[g].secure || guests[g].hostile) && extra ? " " : "", extra ? extra : "");
		c->append = append[g][0] ? append[g] : NULL;
		c->secure_memory = guests[g].secure;
		/* a probe stuck behind a hostile device holds up power-off */
		c->poweroff_ms = guests[g].hostile ? 1000 : 0;
		unsupported[g] = guests[g].secure && !guests[g].unaware && !have_secure;
		if (unsupported[g])
			snprintf(skip_why[g], sizeof(skip_why[g]), "no secure-guest module for this "
				 "kernel (its headers could not be fetched)");
		c->microvm = guests[g].mmio;
		for (unsigned i = 0; i < NCELLS; i++) {
			if (!pick[g][i])        /* cell_in_guest(), selected, in the shard */
				continue;
			struct vt_guest_dev *d = &c->dev[c->ndev];
			snprintf(d->name, sizeof(d->name), "%s", cells[i].name);
			snprintf(d->device, sizeof(d->device), "%s",
				 guests[g].mmio ? cells[i].mmio_device : cells[i].device);
			snprintf(d->props, sizeof(d->props), "%s",
				 guests[g].mmio ? mmio_props(cells[i].props) : cells[i].props);
			d->disk = cells[i].disk;
			d->rng = cells[i].rng;
			d->console = cells[i].console;
			d->net = cells[i].net;
			if (cells[i].vhost) {
				d->vhost.type = &vt_device_blk;
				c->bios = vhost_guest_bios();
				d->vhost.offer = vhost_offer(&cells[i]);
				d->vhost.fault = cells[i].fault;
			}
			slot[g][c->ndev++] = &cells[i];
		}
		if (c->ndev && c->microvm && !unsupported[g])
			unsupported[g] = !vt_guest_microvm_supported(skip_why[g], sizeof(skip_why[g]));
		total += c->ndev;
	}
	if (!total) {
		vt_tap_skip_all(&tap, "no cell selected");
		return VT_EXIT_OK;
	}
	vt_tap_plan(&tap, total);
	vt_sel_shard_note(&tap, &a.shard, units, "guest");
	vt_tap_diag(&tap, "kernel %s, accel %s", vmlinux, kvm ? "kvm" : "tcg");

	/* Boot the guests, up to the number of CPUs at a time. */
	bool run[NGUESTS];
	for (unsigned g = 0; g < NGUESTS; g++)
		run[g] = cfg[g].ndev && !unsupported[g];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	run_guests(cfg, res, run, NGUESTS, ncpu > 0 ? (unsigned)ncpu : 1);

	unsigned failed_before = tap.failed;
	for (unsigned g = 0; g < NGUESTS; g++) {
		if (unsupported[g]) {
			for (unsigned i = 0; i < cfg[g].ndev; i++) {
				char name[128];
				snprintf(name, sizeof(name), "guest/%s/%s", guests[g].name,
					 slot[g][i]->name);
				vt_tap_result(&tap, VT_SKIP, name, skip_why[g]);
			}
			continue;
		}
		if (cfg[g].ndev)
			vt_tap_diag(&tap, "guest %s: %u devices, %.1f s, %s%s%s", guests[g].name,
				    cfg[g].ndev, res[g].seconds,
				    res[g].timed_out ? "deadline" :
				    res[g].done ? "agent done" : "agent not done",
				    res[g].stuck_after_done ?
				    "; the guest did not power off after its report: stopped" : "",
				    res[g].started ? "" : " (QEMU did not start)");
		for (unsigned i = 0; i < cfg[g].ndev; i++)
			judge(&tap, &prof, &guests[g], slot[g][i], &res[g], &res[g].rep[i],
			      &res[g].vhost[i]);
	}
	return tap.failed > failed_before ? VT_EXIT_FAIL : VT_EXIT_OK;
}
