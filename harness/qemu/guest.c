/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest.c - boot a Linux guest with many virtio devices and read what the
 * in-guest agent reports.
 *
 *   qemu-system-x86_64 -accel tcg|kvm -machine q35 -m N -nodefaults
 *     -display none -monitor none -no-reboot
 *     [-device intel-iommu,aw-bits=39|48]
 *     -kernel vmlinux -initrd initramfs
 *     -append "console=ttyS0 panic=-1 quiet [intel_iommu=on iommu.forcedac=1
 *                  [iommu.strict=1 with a vhost-user device]]"
 *     -serial file:DIR/console.log     (ttyS0: the console)
 *     -serial file:DIR/agent.tap       (ttyS1: the agent's TAP)
 *     -device virtio-...-pci,addr=0x3,...   one per cell
 *     [-netdev user,restrict=on,id=netN]    behind each net device: its own
 *                                           user network, nothing beyond it
 *
 * A cell served by our own checking device adds
 *     -chardev socket,id=vuN,path=DIR/vuN.sock
 *     -device vhost-user-blk-pci,addr=0xS,chardev=vuN,...
 * with the backend (vhu_back) listening on that socket, on a thread of this
 * process, before QEMU starts; guest RAM is then a shared memfd
 * (-object memory-backend-memfd,share=on, -machine q35,memory-backend=mem)
 * so the backend can map it, and [-bios FIRMWARE] may pick the firmware.
 *
 * A microvm guest (no PCI, no IOMMU, QEMU's qboot firmware) instead has
 *     -machine microvm -global virtio-mmio.force-legacy=false
 *     -append "... tsc_early_khz=<host kHz>"
 *     -serial file:DIR/console.log     (ttyS0, microvm's own ISA serial port)
 *     -chardev file,id=agent,path=DIR/agent.tap
 *     -device isa-serial,index=1,chardev=agent   (ttyS1: the agent's TAP)
 *     -device virtio-...-device,...            one per cell, no addr
 * microvm's ACPI tables name the virtio-mmio transports (LNRO0005) and
 * let poweroff end the guest.  Without tsc_early_khz the kernel may hang
 * calibrating its clock against the PIT on a busy host; without the
 * -global every transport is the legacy (version 1) virtio-mmio.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "qemu.h"
#include "../proc.h"
#include "../transport/vhu_back.h"
#include "../verdict.h"

#define GUEST_DISK_BYTES (8u << 20)
#define GUEST_POWEROFF_MS 5000     /* from the agent's last line to QEMU's exit */
#define MAX_ARGS (40 + 8 * VT_GUEST_MAX_DEVS)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Arguments live in one arena for the life of a run. */
struct argbuf {
	char *argv[MAX_ARGS];
	unsigned n;
	char arena[16384];
	size_t used;
	bool full;
};

static void arg(struct argbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct argbuf *a, const char *fmt, ...)
{
	va_list ap;
	if (a->n + 1 >= MAX_ARGS || a->used >= sizeof(a->arena)) {
		a->full = true;
		return;
	}
	va_start(ap, fmt);
	int n = vsnprintf(a->arena + a->used, sizeof(a->arena) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->arena) - a->used) {
		a->full = true;
		return;
	}
	a->argv[a->n++] = a->arena + a->used;
	a->argv[a->n] = NULL;
	a->used += (size_t)n + 1;
}

static int make_disk(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, GUEST_DISK_BYTES);
	close(fd);
	return rc;
}

/* Is any device of the guest served by our own vhost-user device? */
static bool has_vhost(const struct vt_guest_cfg *c)
{
	for (unsigned i = 0; i < c->ndev; i++)
		if (c->dev[i].vhost.type)
			return true;
	return false;
}

/* Our checking devices, one per vhost-user cell, each with its verdict. */
struct backends {
	struct vhu_back *b[VT_GUEST_MAX_DEVS];
	struct vt_verdict vd[VT_GUEST_MAX_DEVS];
	char console[300];        /* where a secure guest names its bounce pool */
};

/* A secure guest's bounce pool, as its /init prints it on the console
 * ("swiotlb: mapped [mem 0xSTART-0xEND] (64MB)", END exclusive).  The
 * device asks when its first ring goes live: by then the guest has
 * printed it, but the console may lag a little behind, so it waits up to
 * 5 s for the line. */
static int bounce_pool(void *ctx, uint64_t *gpa, uint64_t *len, char *why, size_t whylen)
{
	const struct backends *bk = ctx;
	static const char key[] = "swiotlb: mapped [mem ";
	double end = now_s() + 5.0;

	do {
		FILE *f = fopen(bk->console, "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, key);
			unsigned long long lo, hi;
			if (!p || sscanf(p + sizeof(key) - 1, "%llx-%llx]", &lo, &hi) != 2)
				continue;
			fclose(f);
			if (hi <= lo || (lo | hi) & 0xfff) {
				snprintf(why, whylen, "range 0x%llx-0x%llx printed by the guest is not "
					 "a page-aligned range", lo, hi);
				return -1;
			}
			*gpa = lo;
			*len = hi - lo;
			return 0;
		}
		if (f)
			fclose(f);
		usleep(20000);
	} while (now_s() < end);
	snprintf(why, whylen, "was never printed on the console (no \"%s\" line)", key);
	return -1;
}

static void vhost_sock(char *buf, size_t len, const char *dir, unsigned i)
{
	snprintf(buf, len, "%s/vu%u.sock", dir, i);
}

/* Listen for QEMU on DIR/vuN.sock before QEMU starts: its socket chardev
 * connects at start-up and fails without a listener. */
static int backends_start(struct backends *bk, const struct vt_guest_cfg *c, const char *dir,
			  unsigned timeout_ms, struct vt_guest_result *r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->ndev; i++) {
		const struct vt_guest_vhost *v = &c->dev[i].vhost;
		if (!v->type)
			continue;
		char sock[300], e[160] = "";
		vhost_sock(sock, sizeof(sock), dir, i);
		vt_verdict_init(&bk->vd[i]);
		snprintf(bk->console, sizeof(bk->console), "%s/console.log", dir);
		struct vt_device_opts dopts = { .fault = (enum vt_dev_fault)v->fault };
		struct vhu_back_opts o = {
			.dev = v->fault ? &dopts : NULL,
			.type = v->type,
			.offer = v->offer,
			.vd = &bk->vd[i],
			.msg_timeout_ms = 5000,
			.iotlb_timeout_ms = 5000,
			.accept_timeout_ms = timeout_ms,
			.bounce_pool = c->secure_memory ? bounce_pool : NULL,
			.bounce_ctx = bk,
		};
		bk->b[i] = vhu_back_start(sock, &o, e, sizeof(e));
		r->vhost[i].served = true;
		if (!bk->b[i]) {
			snprintf(r->vhost[i].why, sizeof(r->vhost[i].why), "%.*s",
				 (int)sizeof(r->vhost[i].why) - 1, e);
			snprintf(err, errlen, "vhost-user device %s: %s", c->dev[i].name, e);
			return -1;
		}
	}
	return 0;
}

/* The device's verdict, MUST-level records first, into fixed fields. */
static void copy_findings(struct vt_guest_vhost_result *out, const struct vt_verdict *vd)
{
	out->n_must = vd->n_must;
	for (unsigned k = 0; k < vd->n; k++)
		out->n_advice += vd->v[k].sev == VT_SEV_SHOULD;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < vd->n && out->nfind < VT_GUEST_MAX_FINDINGS; k++) {
			const struct vt_violation *v = &vd->v[k];
			if ((v->sev == VT_SEV_MUST) != (pass == 0))
				continue;
			struct vt_guest_finding *f = &out->find[out->nfind++];
			snprintf(f->rule, sizeof(f->rule), "%s", v->rule ? v->rule : "?");
			snprintf(f->who, sizeof(f->who), "%s", vt_who_name(v->who));
			f->must = v->sev == VT_SEV_MUST;
			snprintf(f->msg, sizeof(f->msg), "%.*s", (int)sizeof(f->msg) - 1, v->msg);
			snprintf(f->expected, sizeof(f->expected), "%.*s",
				 (int)sizeof(f->expected) - 1, v->expected);
			snprintf(f->got, sizeof(f->got), "%.*s", (int)sizeof(f->got) - 1, v->got);
			f->has_addr = v->has_addr;
			f->address = v->addr;
			f->gpa = v->gpa;
		}
	}
}

/* After QEMU is gone: let each session see the front-end's hang-up, keep
 * what it saw and what the device recorded, and remove the backends. */
static void backends_stop(struct backends *bk, unsigned ndev, struct vt_guest_result *r)
{
	double end = now_s() + 1.0;
	for (unsigned i = 0; i < ndev; i++) {
		if (!bk->b[i])
			continue;
		struct vhu_back_status st;
		vhu_back_status(bk->b[i], &st);
		while (st.connected && !st.ended && now_s() < end) {
			usleep(5000);
			vhu_back_status(bk->b[i], &st);
		}
		vhu_back_finish(bk->b[i], &st);
		bk->b[i] = NULL;
		struct vt_guest_vhost_result *o = &r->vhost[i];
		o->connected = st.connected;
		o->error = st.error;
		o->driver_ok = st.driver_ok;
		snprintf(o->why, sizeof(o->why), "%.*s", (int)sizeof(o->why) - 1,
			 st.ended ? st.why : st.connected ? "session still open" :
			 "QEMU never connected");
		o->negotiated = st.negotiated;
		o->protocol = st.protocol;
		o->requests = st.requests;
		o->kicks = st.kicks;
		o->calls = st.calls;
		o->iotlb_misses = st.iotlb_misses;
		o->iotlb_unanswered = st.iotlb_unanswered;
		o->iotlb_updates = st.iotlb_updates;
		o->iotlb_invalidates = st.iotlb_invalidates;
		o->secure = st.secure;
		o->pool_gpa = st.pool_gpa;
		o->pool_len = st.pool_len;
		snprintf(o->pool_why, sizeof(o->pool_why), "%.*s", (int)sizeof(o->pool_why) - 1,
			 st.pool_why);
		o->private_pages = st.private_pages;
		copy_findings(o, &bk->vd[i]);
	}
}

/* The cell's properties with the extra ones VT_GUEST_PROPS_ENV names for
 * it ("CELL:PROPS;..."), into buf. */
static void cell_props(const struct vt_guest_dev *d, char *buf, size_t len)
{
	const char *env = getenv(VT_GUEST_PROPS_ENV);
	size_t n = strlen(d->name);
	snprintf(buf, len, "%s", d->props);
	for (const char *p = env; p && *p; p += strcspn(p, ";"), p += *p == ';') {
		size_t item = strcspn(p, ";");
		if (item <= n + 1 || strncmp(p, d->name, n) || p[n] != ':')
			continue;
		size_t have = strlen(buf);
		snprintf(buf + have, len - have, "%s%.*s", have ? "," : "", (int)(item - n - 1),
			 p + n + 1);
	}
}

/* The -netdev backend's options (without its id). */
static const char *netdev_backend(void)
{
	const char *env = getenv(VT_GUEST_NETDEV_ENV);
	return env && *env ? env : "user,restrict=on";
}

/* The -device lines of one cell, with what it needs behind it.  A PCI
 * device sits at its own slot; a virtio-mmio device takes the next free
 * transport (see mmio_index). */
static int add_device(struct argbuf *a, const char *dir, unsigned i, const struct vt_guest_dev *d,
		      bool mmio, char *err, size_t errlen)
{
	char addr[16] = "", props[400];

	cell_props(d, props, sizeof(props));
	const char *sep = props[0] ? "," : "";
	if (!mmio)
		snprintf(addr, sizeof(addr), ",addr=0x%x", VT_GUEST_FIRST_SLOT + i);
	if (d->vhost.type) {
		char sock[300];
		vhost_sock(sock, sizeof(sock), dir, i);
		arg(a, "-chardev");
		arg(a, "socket,id=vu%u,path=%s", i, sock);
		arg(a, "-device");
		arg(a, "%s%s,chardev=vu%u%s%s", d->device, addr, i, sep, props);
	} else if (d->disk) {
		char img[320];
		snprintf(img, sizeof(img), "%s/disk%u.img", dir, i);
		if (make_disk(img)) {
			snprintf(err, errlen, "disk image %s: %s", img, strerror(errno));
			return -1;
		}
		arg(a, "-drive");
		arg(a, "if=none,id=d%u,file=%s,format=raw", i, img);
		arg(a, "-device");
		arg(a, "%s%s,drive=d%u%s%s", d->device, addr, i, sep, props);
	} else if (d->rng) {
		arg(a, "-object");
		arg(a, "rng-random,id=rng%u,filename=/dev/urandom", i);
		arg(a, "-device");
		arg(a, "%s%s,rng=rng%u%s%s", d->device, addr, i, sep, props);
	} else if (d->console) {
		arg(a, "-device");
		arg(a, "%s%s,id=vs%u%s%s", d->device, addr, i, sep, props);
		arg(a, "-chardev");
		arg(a, "null,id=con%u", i);
		arg(a, "-device");
		arg(a, "virtconsole,bus=vs%u.0,chardev=con%u", i, i);
	} else if (d->net) {
		/* each net device on a user network of its own: what one
		 * device sends never reaches another */
		arg(a, "-netdev");
		arg(a, "%s,id=net%u", netdev_backend(), i);
		arg(a, "-device");
		arg(a, "%s%s,netdev=net%u%s%s", d->device, addr, i, sep, props);
	} else {
		arg(a, "-device");
		arg(a, "%s%s%s%s", d->device, addr, sep, props);
	}
	return 0;
}

/* The host's TSC rate in kHz ("cpu MHz" of /proc/cpuinfo, rounded), for
 * tsc_early_khz; 0 when it is not known. */
static unsigned host_tsc_khz(void)
{
	static unsigned khz;
	static bool known;
	char line[256];
	double mhz;

	if (known)
		return khz;
	known = true;
	FILE *f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {   /* "cpu MHz\t\t: 2596.144" */
			if (mhz > 1 && mhz < 100000)
				khz = (unsigned)(mhz * 1000 + 0.5);
			break;
		}
	}
	if (f)
		fclose(f);
	return khz;
}

static void build_argv(struct argbuf *a, const struct vt_guest_cfg *c, const char *dir)
{
	arg(a, "%s", vt_qemu_binary());
	arg(a, "-accel");
	arg(a, "%s", c->kvm ? "kvm" : "tcg");
	unsigned mem = c->mem_mb ? c->mem_mb : 512;
	const char *machine = c->microvm ? "microvm" : "q35";
	if (has_vhost(c)) {
		/* A vhost-user backend maps guest RAM through the fds of
		 * SET_MEM_TABLE: RAM must be a shared memfd. */
		arg(a, "-object");
		arg(a, "memory-backend-memfd,id=mem,size=%uM,share=on", mem);
		arg(a, "-machine");
		arg(a, "%s,memory-backend=mem", machine);
	} else {
		arg(a, "-machine");
		arg(a, "%s", machine);
	}
	if (c->microvm) {
		/* modern virtio-mmio (version 2): VERSION_1 and 64 feature bits */
		arg(a, "-global");
		arg(a, "virtio-mmio.force-legacy=false");
	}
	arg(a, "-m");
	arg(a, "%u", mem);
	arg(a, "-nodefaults");
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-monitor");
	arg(a, "none");
	arg(a, "-no-reboot");
	if (c->bios) {
		arg(a, "-bios");
		arg(a, "%s", c->bios);
	}
	if (c->iommu_aw) {
		arg(a, "-device");
		arg(a, "intel-iommu,aw-bits=%u", c->iommu_aw);
	}
	arg(a, "-kernel");
	arg(a, "%s", c->vmlinux);
	arg(a, "-initrd");
	arg(a, "%s", c->initrd);
	/* A vhost-user device behind intel-iommu keeps an IOTLB of its own,
	 * which QEMU empties only on page-selective invalidations: the lazy
	 * (flush queue) mode of Linux flushes whole domains, which QEMU does
	 * not pass on, and the device would go on using stale translations.
	 * Strict mode invalidates each unmapped range at once.  no_timer_check:
	 * under TCG on a busy host the IO-APIC timer check can fail and panic
	 * ("timer doesn't work through Interrupt-remapped IO-APIC"). */
	bool strict = c->iommu_aw && has_vhost(c);
	char tsc[32] = "";
	unsigned khz = c->microvm ? host_tsc_khz() : 0;
	if (khz)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u", khz);
	arg(a, "-append");
	arg(a, "console=ttyS0 panic=-1 quiet no_timer_check%s%s%s%s%s",
	    c->iommu_aw ? " intel_iommu=on iommu.forcedac=1" : "",
	    strict ? " iommu.strict=1" : "", tsc, c->append ? " " : "",
	    c->append ? c->append : "");
	arg(a, "-serial");
	arg(a, "file:%s/console.log", dir);
	if (c->microvm) {
		/* microvm has one serial port of its own: the agent's is a
		 * second ISA port at the legacy address of ttyS1 */
		arg(a, "-chardev");
		arg(a, "file,id=agent,path=%s/agent.tap", dir);
		arg(a, "-device");
		arg(a, "isa-serial,index=1,chardev=agent");
	} else {
		arg(a, "-serial");
		arg(a, "file:%s/agent.tap", dir);
	}
}

/* The last `len - 1` bytes of a file, from a line start. */
static void file_tail(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		off_t off = st.st_size > (off_t)(len - 1) ? st.st_size - (off_t)(len - 1) : 0;
		ssize_t n = pread(fd, buf, len - 1, off);
		buf[n > 0 ? n : 0] = '\0';
		char *nl = off ? strchr(buf, '\n') : NULL;
		if (nl)
			memmove(buf, nl + 1, strlen(nl + 1) + 1);
	}
	close(fd);
}

/* microvm's virtio-mmio transports: MMIO_TRANSPORTS register windows of
 * MMIO_STRIDE bytes from MMIO_BASE.  QEMU plugs the -device's into them
 * from the top down: the first device sits in the last window, the i-th
 * in window MMIO_TRANSPORTS - 1 - i (QEMU 7.2, measured). */
#define MMIO_BASE       0xfeb00000ull
#define MMIO_STRIDE     0x200u
#define MMIO_TRANSPORTS 24u

/* "mmio-0xfeb02a00" -> device index 2, or -1. */
static int mmio_index(const char *name, unsigned nrep)
{
	unsigned long long base;
	int end = 0;
	if (sscanf(name, "mmio-0x%llx%n", &base, &end) != 1 || name[end] || base < MMIO_BASE ||
	    (base - MMIO_BASE) % MMIO_STRIDE)
		return -1;
	unsigned long long w = (base - MMIO_BASE) / MMIO_STRIDE;
	if (w >= MMIO_TRANSPORTS || MMIO_TRANSPORTS - 1 - w >= nrep)
		return -1;
	return (int)(MMIO_TRANSPORTS - 1 - w);
}

/* "pci-0000:00:05.0" -> slot index 2, a virtio-mmio name -> its device
 * index, or -1. */
static int slot_index(const char *name, unsigned nrep)
{
	unsigned dom, bus, slot, fn;
	if (strncmp(name, "mmio-", 5) == 0)
		return mmio_index(name, nrep);
	if (sscanf(name, "pci-%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4 || dom || bus || fn)
		return -1;
	if (slot < VT_GUEST_FIRST_SLOT || slot - VT_GUEST_FIRST_SLOT >= nrep)
		return -1;
	return (int)(slot - VT_GUEST_FIRST_SLOT);
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* One "# key: value" fact of the current device. */
static void fact(struct vt_guest_report *r, const char *key, const char *val)
{
	if (strcmp(key, "device") == 0)
		r->device = (uint16_t)strtoul(val, NULL, 0);
	else if (strcmp(key, "features") == 0)
		r->features = strtoull(val, NULL, 0);
	else if (strcmp(key, "status") == 0)
		r->status = (uint32_t)strtoul(val, NULL, 0);
	else if (strcmp(key, "driver") == 0)
		snprintf(r->driver, sizeof(r->driver), "%.*s", (int)sizeof(r->driver) - 1, val);
	else if (strcmp(key, "virtio-device") == 0)
		snprintf(r->vdev, sizeof(r->vdev), "%.*s", (int)strcspn(val, " "), val);
	else if (strcmp(key, "io") == 0)
		snprintf(r->io, sizeof(r->io), "%.*s", (int)sizeof(r->io) - 1, val);
	else if (strcmp(key, "io-detail") == 0)
		snprintf(r->io_detail, sizeof(r->io_detail), "%.*s", (int)sizeof(r->io_detail) - 1,
			 val);
	else if (strcmp(key, "kernel") == 0)
		snprintf(r->said, sizeof(r->said), "%.*s", (int)sizeof(r->said) - 1, val);
}

bool vt_guest_parse_tap(const char *path, struct vt_guest_report *rep, unsigned nrep)
{
	char line[512];
	int cur = -1;
	bool done = false;

	memset(rep, 0, sizeof(*rep) * nrep);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		trim(line);
		const char *s = line + strspn(line, " ");
		bool top = s == line;
		if (strncmp(s, "# Subtest: ", 11) == 0) {
			cur = slot_index(s + 11, nrep);
			if (cur >= 0)
				rep[cur].seen = true;
			continue;
		}
		if (strcmp(s, "# vcts-agent: done") == 0) {
			done = true;
			continue;
		}
		if (!top && cur >= 0 && s[0] == '#') {
			char key[24], val[160];
			if (sscanf(s, "# %23[a-z-]: %159[^\n]", key, val) == 2)
				fact(&rep[cur], key, val);
			continue;
		}
		if (!top && cur >= 0 && strncmp(s, "not ok", 6) == 0 && !rep[cur].first_failure[0]) {
			snprintf(rep[cur].first_failure, sizeof(rep[cur].first_failure), "%s", s);
			continue;
		}
		if (top && (strncmp(s, "ok ", 3) == 0 || strncmp(s, "not ok ", 7) == 0)) {
			const char *dash = strstr(s, " - ");
			int i = dash ? slot_index(dash + 3, nrep) : -1;
			if (i >= 0) {
				rep[i].seen = true;
				rep[i].ok = s[0] == 'o';
			}
			cur = -1;
		}
	}
	fclose(f);
	return done;
}

/* Has the agent written its last line?  Only the file's end is read. */
static bool agent_done(const char *tap)
{
	char tail[64];
	file_tail(tap, tail, sizeof(tail));
	return strstr(tail, "# vcts-agent: done") != NULL;
}

/* Wait for QEMU to exit.  Returns 0 when it did, -1 when it must be
 * stopped: at the deadline (timed_out), or when the agent said it was done
 * and the guest did not power off within GUEST_POWEROFF_MS (stuck: the
 * report is complete, so the cells are still judged; the diagnostics say
 * what happened). */
static int wait_guest(struct vt_proc *p, const char *tap, unsigned timeout_ms,
		      unsigned grace_ms, struct vt_guest_result *r)
{
	double end = now_s() + timeout_ms / 1000.0, grace = 0;
	for (;;) {
		if (vt_proc_wait(p, 50) == 0)
			return 0;
		double t = now_s();
		if (!grace && agent_done(tap))
			grace = t + (grace_ms ? grace_ms : GUEST_POWEROFF_MS) / 1000.0;
		if (grace && t >= grace) {
			r->stuck_after_done = true;
			return -1;
		}
		if (t >= end) {
			r->timed_out = true;
			return -1;
		}
	}
}

/* What the kernel said about each device on the console (errors show
 * even under "quiet"): the first line naming "virtioN: ", e.g.
 * "virtio_blk virtio3: req.0:id 300 out of range". */
static void kernel_messages(const char *console, struct vt_guest_report *rep, unsigned n)
{
	FILE *f = fopen(console, "r");
	char line[512], key[24];

	while (f && fgets(line, sizeof(line), f)) {
		for (unsigned i = 0; i < n; i++) {
			if (!rep[i].vdev[0] || rep[i].kmsg[0])
				continue;
			snprintf(key, sizeof(key), " %s: ", rep[i].vdev);
			const char *p = strstr(line, key);
			if (!p)
				continue;
			/* from the driver's name on, without the time stamp */
			const char *from = p;
			while (from > line && from[-1] != ' ' && from[-1] != ']')
				from--;
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(rep[i].kmsg, sizeof(rep[i].kmsg), "%.*s",
				 (int)sizeof(rep[i].kmsg) - 1, from);
		}
	}
	if (f)
		fclose(f);
}

int vt_guest_run(const struct vt_guest_cfg *c, struct vt_guest_result *r, char *err,
		 size_t errlen)
{
	static unsigned seq;
	struct argbuf *a = calloc(1, sizeof(*a));
	struct vt_proc p = { 0 };
	struct backends *bk = calloc(1, sizeof(*bk));
	char path[320];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!a || !bk) {
		snprintf(err, errlen, "out of memory");
		free(a);
		free(bk);
		return -1;
	}
	if (c->ndev > VT_GUEST_MAX_DEVS) {
		snprintf(err, errlen, "%u devices in one guest, at most %d", c->ndev,
			 VT_GUEST_MAX_DEVS);
		goto out;
	}
	if (c->microvm && c->iommu_aw) {
		snprintf(err, errlen, "microvm has no PCI bus for intel-iommu");
		goto out;
	}
	if (c->microvm && c->ndev > MMIO_TRANSPORTS) {
		snprintf(err, errlen, "%u devices, microvm has %u virtio-mmio transports", c->ndev,
			 MMIO_TRANSPORTS);
		goto out;
	}
	char name[32];
	snprintf(name, sizeof(name), "guest.%d.%u", (int)getpid(), seq++);
	if (vt_proc_path(r->dir, sizeof(r->dir), name) || mkdir(r->dir, 0700)) {
		snprintf(err, errlen, "run directory: %s", strerror(errno));
		goto out;
	}
	build_argv(a, c, r->dir);
	for (unsigned i = 0; i < c->ndev; i++)
		if (add_device(a, r->dir, i, &c->dev[i], c->microvm, err, errlen))
			goto out;
	if (a->full) {
		snprintf(err, errlen, "QEMU command line too long");
		goto out;
	}
	unsigned timeout = c->timeout_ms ? c->timeout_ms : 60000;
	if (backends_start(bk, c, r->dir, timeout, r, err, errlen))
		goto out;
	snprintf(path, sizeof(path), "%s/qemu.log", r->dir);
	struct vt_proc_opts o = { .log_path = path };
	double t0 = now_s();
	if (vt_proc_spawn(&p, a->argv, &o, err, errlen))
		goto out;
	r->started = true;
	char tap[320];
	snprintf(tap, sizeof(tap), "%s/agent.tap", r->dir);
	if (wait_guest(&p, tap, timeout, c->poweroff_ms, r)) {
		vt_proc_stop(&p, 500);
	} else {
		r->exit_status = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status);
		vt_proc_stop(&p, 0);
	}
	backends_stop(bk, c->ndev, r);
	r->seconds = now_s() - t0;
	file_tail(path, r->qemu_tail, sizeof(r->qemu_tail));
	snprintf(path, sizeof(path), "%s/console.log", r->dir);
	file_tail(path, r->console_tail, sizeof(r->console_tail));
	snprintf(path, sizeof(path), "%s/agent.tap", r->dir);
	r->done = vt_guest_parse_tap(path, r->rep, c->ndev);
	snprintf(path, sizeof(path), "%s/console.log", r->dir);
	kernel_messages(path, r->rep, c->ndev);
	rc = 0;
out:
	if (bk)
		backends_stop(bk, c->ndev, r);
	free(bk);
	free(a);
	return rc;
}

/* Where the probe's answer is kept for this boot of the host:
 * ${VCTS_CACHE:-$HOME/.cache/vcts}/kvm-probe holding "BOOT_ID yes|no". */
static bool probe_file(char *path, size_t len)
{
	const char *c = getenv("VCTS_CACHE");
	const char *home = getenv("HOME");
	int n = c && *c ? snprintf(path, len, "%s/kvm-probe", c) :
		home && *home ? snprintf(path, len, "%s/.cache/vcts/kvm-probe", home) : -1;
	return n > 0 && (size_t)n < len;
}

static bool boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	bool ok = f && fgets(buf, (int)len, f);
	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

/* 1 yes, 0 no, -1 not known for this boot. */
static int probe_cached(void)
{
	char path[512], id[64], line[128];
	if (!probe_file(path, sizeof(path)) || !boot_id(id, sizeof(id)))
		return -1;
	FILE *f = fopen(path, "re");
	int r = -1;
	if (f && fgets(line, sizeof(line), f)) {
		size_t n = strlen(id);
		if (strncmp(line, id, n) == 0 && line[n] == ' ')
			r = strncmp(line + n + 1, "yes", 3) == 0;
	}
	if (f)
		fclose(f);
	return r;
}

static void probe_remember(bool works)
{
	char path[512], id[64];
	if (!probe_file(path, sizeof(path)) || !boot_id(id, sizeof(id)))
		return;
	FILE *f = fopen(path, "we");
	if (!f)
		return;                 /* no cache directory: probe again next time */
	fprintf(f, "%s %s\n", id, works ? "yes" : "no");
	fclose(f);
}

bool vt_guest_kvm_works(const char *vmlinux, const char *initrd)
{
	static int known = -1;
	if (known >= 0)
		return known;
	known = 0;
	const char *force = getenv("VCTS_ACCEL");
	if (force && strcmp(force, "tcg") == 0)
		return false;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	int cached = probe_cached();
	if (cached >= 0)
		return (known = cached) != 0;
	/* A probe boot with no device: the agent reports nothing and says
	 * it is done, well within a TCG boot's time when KVM works.  KVM
	 * that hangs (broken nesting) misses the deadline. */
	struct vt_guest_cfg c = { .vmlinux = vmlinux, .initrd = initrd, .kvm = true,
				  .timeout_ms = 8000 };
	struct vt_guest_result *r = calloc(1, sizeof(*r));
	char err[160];
	if (r && vt_guest_run(&c, r, err, sizeof(err)) == 0 && r->done && !r->timed_out)
		known = 1;
	free(r);
	probe_remember(known);
	return known;
}

/* Does `QEMU -machine help` list the machine?  1 yes, 0 no (why says so). */
static int machine_listed(const char *machine, char *why, size_t len)
{
	struct vt_proc p;
	char err[160], log[256], line[256];
	char *argv[] = { (char *)vt_qemu_binary(), (char *)"-machine", (char *)"help", NULL };
	struct vt_proc_opts o = { .log_path = log };
	size_t n = strlen(machine);
	int found = 0;

	if (vt_proc_path(log, sizeof(log), "qemu-machines.log")) {
		snprintf(why, len, "no scratch directory for `%s -machine help`", argv[0]);
		return 0;
	}
	if (vt_proc_spawn(&p, argv, &o, err, sizeof(err))) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	if (vt_proc_wait(&p, 10000))
		vt_proc_stop(&p, 100);
	FILE *f = fopen(log, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strncmp(line, machine, n) == 0 && (line[n] == ' ' || line[n] == '\n');
	if (f)
		fclose(f);
	unlink(log);
	if (!found)
		snprintf(why, len, "%s has no %s machine (not in its -machine help)", argv[0],
			 machine);
	return found;
}

bool vt_guest_microvm_supported(char *why, size_t len)
{
	static int known = -1;
	static char reason[256];
	if (known < 0)
		known = machine_listed("microvm", reason, sizeof(reason));
	if (!known)
		snprintf(why, len, "%s", reason);
	return known;
}
