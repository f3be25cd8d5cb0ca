/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qemu.c - start QEMU as a device under test, its RAM our guest memory, reached over qtest. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qemu.h"
#include "../virtio.h"

#define QEMU_CONNECT_MS   10000
#define QEMU_STOP_MS      200
#define DISK_BYTES        (4u << 20)
#define FIRMWARE_BYTES    65536u
#define LEGACY_HOLE_END   0x100000ull   /* VGA window and BIOS area end here */
#define MMIO32_BASE       0xe0000000ull
#define MMIO64_BASE       0x800000000ull /* 32 GiB: far above our RAM       */
#define MAX_ARGS          48

#define LEGACY_OFF "disable-legacy=on"

const struct vt_qemu_target vt_qemu_targets[] = {
	{ "blk", "virtio-blk-pci", LEGACY_OFF, VIRTIO_ID_BLOCK, VT_QEMU_BACKEND_DISK, false, false },
	{ "blk-iommu", "virtio-blk-pci", LEGACY_OFF ",iommu_platform=on", VIRTIO_ID_BLOCK,
	  VT_QEMU_BACKEND_DISK, false, false },
	{ "blk-packed", "virtio-blk-pci", LEGACY_OFF ",packed=on", VIRTIO_ID_BLOCK,
	  VT_QEMU_BACKEND_DISK, false, false },
	{ "blk-intx", "virtio-blk-pci", LEGACY_OFF ",vectors=0", VIRTIO_ID_BLOCK,
	  VT_QEMU_BACKEND_DISK, false, true },
	{ "net", "virtio-net-pci", LEGACY_OFF, VIRTIO_ID_NET, VT_QEMU_BACKEND_NET, true, false },
	{ "net-iommu", "virtio-net-pci", LEGACY_OFF ",iommu_platform=on", VIRTIO_ID_NET,
	  VT_QEMU_BACKEND_NET, true, false },
	{ "net-packed", "virtio-net-pci", LEGACY_OFF ",packed=on", VIRTIO_ID_NET,
	  VT_QEMU_BACKEND_NET, true, false },
	{ "rng", "virtio-rng-pci", LEGACY_OFF, VIRTIO_ID_RNG, VT_QEMU_BACKEND_RNG, true, false },
	{ "rng-iommu", "virtio-rng-pci", LEGACY_OFF ",iommu_platform=on", VIRTIO_ID_RNG,
	  VT_QEMU_BACKEND_RNG, true, false },
	{ "rng-packed", "virtio-rng-pci", LEGACY_OFF ",packed=on", VIRTIO_ID_RNG,
	  VT_QEMU_BACKEND_RNG, true, false },
	{ "serial", "virtio-serial-pci", LEGACY_OFF ",max_ports=1", VIRTIO_ID_CONSOLE,
	  VT_QEMU_BACKEND_CONSOLE, true, false },
	{ "serial-iommu", "virtio-serial-pci", LEGACY_OFF ",max_ports=1,iommu_platform=on",
	  VIRTIO_ID_CONSOLE, VT_QEMU_BACKEND_CONSOLE, true, false },
	{ "serial-packed", "virtio-serial-pci", LEGACY_OFF ",max_ports=1,packed=on",
	  VIRTIO_ID_CONSOLE, VT_QEMU_BACKEND_CONSOLE, true, false },
	{ NULL, NULL, NULL, 0, VT_QEMU_BACKEND_NONE, false, false },
};

const struct vt_qemu_target *vt_qemu_target_find(const char *name)
{
	for (const struct vt_qemu_target *t = vt_qemu_targets; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

const char *vt_qemu_binary(void)
{
	const char *b = getenv("VCTS_QEMU");
	return b && *b ? b : "qemu-system-x86_64";
}

bool vt_qemu_available(void)
{
	const char *b = vt_qemu_binary();
	if (strchr(b, '/'))
		return access(b, X_OK) == 0;
	const char *path = getenv("PATH");
	char dir[4096];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, path, b);
		if (n && access(dir, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

int vt_qemu_version(char *buf, size_t len)
{
	struct vt_proc p;
	char err[160], log[256], line[256] = "";
	char *argv[] = { (char *)vt_qemu_binary(), (char *)"--version", NULL };
	struct vt_proc_opts o = { .log_path = log };

	if (vt_proc_path(log, sizeof(log), "qemu-version.log"))
		return -1;
	if (vt_proc_spawn(&p, argv, &o, err, sizeof(err)))
		return -1;
	if (vt_proc_wait(&p, 5000))
		vt_proc_stop(&p, 100);
	FILE *f = fopen(log, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	unlink(log);
	const char *v = strstr(line, "version ");
	if (!v)
		return -1;
	v += 8;
	snprintf(buf, len, "%.*s", (int)strcspn(v, " \n"), v);
	return buf[0] ? 0 : -1;
}

/* ---- files the backends use ---- */

static int make_disk(struct vt_qemu *qm, char *err, size_t errlen)
{
	if (vt_proc_path(qm->disk, sizeof(qm->disk), "disk.raw"))
		goto fail;
	int fd = open(qm->disk, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	int rc = ftruncate(fd, DISK_BYTES);
	close(fd);
	if (rc == 0)
		return 0;
fail:
	snprintf(err, errlen, "disk image %s: %s", qm->disk, strerror(errno));
	return -1;
}

/* One FIFO under two names: QEMU's pipe chardev writes path.out and
 * reads path.in, so what the device transmits comes back to it. */
static int make_console_loop(struct vt_qemu *qm, char *err, size_t errlen)
{
	char in[300], out[300];
	if (vt_proc_path(qm->console, sizeof(qm->console), "console"))
		goto fail;
	snprintf(in, sizeof(in), "%s.in", qm->console);
	snprintf(out, sizeof(out), "%s.out", qm->console);
	unlink(in);
	unlink(out);
	if (mkfifo(in, 0600) || link(in, out))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "console FIFO %s: %s", qm->console, strerror(errno));
	return -1;
}

/* A free UDP port on loopback (asked of the kernel, then let go). */
static int free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Firmware whose reset vector is "cli; hlt; jmp .-1": the vCPU stops
 * at once and stays stopped. */
static int make_firmware(char *path, size_t len, char *err, size_t errlen)
{
	static const uint8_t reset[] = { 0xfa, 0xf4, 0xeb, 0xfd };
	uint8_t *img = calloc(1, FIRMWARE_BYTES);
	int fd = -1;
	if (!img || vt_proc_path(path, len, "halt.bin"))
		goto fail;
	memset(img, 0xf4, FIRMWARE_BYTES);
	memcpy(img + FIRMWARE_BYTES - 16, reset, sizeof(reset));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img, FIRMWARE_BYTES) != (ssize_t)FIRMWARE_BYTES)
		goto fail;
	close(fd);
	free(img);
	return 0;
fail:
	snprintf(err, errlen, "firmware image: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(img);
	return -1;
}

/* ---- the command line ---- */

struct argv_buf {
	char *v[MAX_ARGS];
	unsigned n;
	char store[8192];
	size_t used;
	bool overflow;
};

static void arg(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	if (a->n + 1 >= MAX_ARGS) {
		a->overflow = true;
		return;
	}
	char *dst = a->store + a->used;
	size_t room = sizeof(a->store) - a->used;
	va_start(ap, fmt);
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		a->overflow = true;
		return;
	}
	a->used += (size_t)n + 1;
	a->v[a->n++] = dst;
	a->v[a->n] = NULL;
}

static int backend_args(struct vt_qemu *qm, struct argv_buf *a, char *err, size_t errlen)
{
	const struct vt_qemu_target *tg = qm->target;
	char dev[512];
	snprintf(dev, sizeof(dev), "%s,addr=0x%x%s%s", tg->device, VT_QEMU_SLOT,
		 tg->props && *tg->props ? "," : "", tg->props ? tg->props : "");

	switch (tg->backend) {
	case VT_QEMU_BACKEND_DISK:
		if (make_disk(qm, err, errlen))
			return -1;
		arg(a, "-drive");
		arg(a, "if=none,id=disk0,format=raw,file=%s", qm->disk);
		arg(a, "-device");
		arg(a, "%s,drive=disk0", dev);
		return 0;
	case VT_QEMU_BACKEND_NET: {
		int port = free_udp_port();
		if (port < 0) {
			snprintf(err, errlen, "no free UDP port on loopback: %s", strerror(errno));
			return -1;
		}
		arg(a, "-netdev");
		arg(a, "socket,id=net0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", port, port);
		arg(a, "-device");
		arg(a, "%s,netdev=net0", dev);
		return 0;
	}
	case VT_QEMU_BACKEND_CONSOLE:
		if (make_console_loop(qm, err, errlen))
			return -1;
		arg(a, "-chardev");
		arg(a, "pipe,id=con0,path=%s", qm->console);
		arg(a, "-device");
		arg(a, "%s", dev);
		arg(a, "-device");
		arg(a, "virtconsole,chardev=con0,nr=0");
		return 0;
	default:
		arg(a, "-device");
		arg(a, "%s", dev);
		return 0;
	}
}

static int build_argv(struct vt_qemu *qm, struct gmem *gm, struct argv_buf *a, char *err,
		      size_t errlen)
{
	const struct gmem_region_desc *r = gmem_region(gm, 0);
	unsigned long long mb = r->size >> 20;

	arg(a, "%s", vt_qemu_binary());
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-nodefaults");
	arg(a, "-monitor");
	arg(a, "none");
	arg(a, "-machine");
	arg(a, "q35,memory-backend=ram0");
	arg(a, "-accel");
	arg(a, "tcg");
	arg(a, "-m");
	arg(a, "%lluM", mb);
	arg(a, "-object");
	arg(a, "memory-backend-file,id=ram0,size=%lluM,mem-path=/proc/%d/fd/%d,share=on", mb,
	    (int)getpid(), gmem_region_fd(gm, 0));
	arg(a, "-qtest");
	arg(a, "unix:%s", qm->sock);
	arg(a, "-qtest-log");
	arg(a, "/dev/null");
	if (qm->target->run) {
		char fw[256];
		if (make_firmware(fw, sizeof(fw), err, errlen))
			return -1;
		arg(a, "-bios");
		arg(a, "%s", fw);
	} else {
		arg(a, "-S");
	}
	if (backend_args(qm, a, err, errlen))
		return -1;
	if (a->overflow) {
		snprintf(err, errlen, "QEMU command line too long");
		return -1;
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool proc_alive(void *ctx)
{
	return !vt_proc_exited(ctx);
}

bool vt_qemu_alive(struct vt_qemu *qm)
{
	return qm->started && !vt_proc_exited(&qm->proc);
}

void vt_qemu_log_tail(struct vt_qemu *qm, char *buf, size_t len)
{
	buf[0] = '\0';
	if (qm->started)
		vt_proc_log_tail(&qm->proc, buf, len);
}

int vt_qemu_start(struct vt_qemu *qm, const struct vt_qemu_target *tg, struct gmem *gm,
		  char *err, size_t errlen)
{
	struct argv_buf *a = calloc(1, sizeof(*a));
	int rc = -1;

	memset(qm, 0, sizeof(*qm));
	qm->qt.fd = -1;
	qm->target = tg;
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (gmem_nregions(gm) != 1 || gmem_region(gm, 0)->gpa != 0) {
		snprintf(err, errlen, "QEMU's RAM is one region from GPA 0 (no high memory)");
		goto out;
	}
	if (vt_proc_path(qm->sock, sizeof(qm->sock), "qtest.sock")) {
		snprintf(err, errlen, "no directory for the qtest socket");
		goto out;
	}
	if (build_argv(qm, gm, a, err, errlen))
		goto out;
	int lfd = vt_qtest_listen(qm->sock, err, errlen);
	if (lfd < 0)
		goto out;
	uint64_t t0 = now_ms();
	if (vt_proc_spawn(&qm->proc, a->v, NULL, err, errlen)) {
		close(lfd);
		goto out;
	}
	qm->started = true;
	if (vt_qtest_accept(&qm->qt, lfd, QEMU_CONNECT_MS, proc_alive, &qm->proc, err, errlen)) {
		char tail[160];
		vt_qemu_log_tail(qm, tail, sizeof(tail));
		if (tail[0]) {
			size_t n = strlen(err);
			snprintf(err + n, errlen > n ? errlen - n : 0, ": %s", tail);
		}
		vt_qemu_stop(qm);
		goto out;
	}
	qm->startup_ms = (unsigned)(now_ms() - t0);
	vt_qtest_pci_fn(&qm->fn_state, &qm->qt, 0, VT_QEMU_SLOT, 0, &qm->fn);
	/* INTx comes to us as IRQ lines, not to a guest */
	if (vt_qtest_irq_intercept_in(&qm->qt, "ioapic")) {
		snprintf(err, errlen, "%s", qm->qt.err);
		vt_qemu_stop(qm);
		goto out;
	}
	rc = 0;
out:
	free(a);
	return rc;
}

static void remove_file(char *path, const char *suffix)
{
	char p[300];
	if (!path[0])
		return;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	unlink(p);
}

void vt_qemu_stop(struct vt_qemu *qm)
{
	vt_qtest_close(&qm->qt);
	if (qm->started)
		vt_proc_stop(&qm->proc, QEMU_STOP_MS);
	qm->started = false;
	remove_file(qm->sock, "");
	remove_file(qm->disk, "");
	remove_file(qm->console, ".in");
	remove_file(qm->console, ".out");
	qm->sock[0] = qm->disk[0] = qm->console[0] = '\0';
}

/* ---- the pair's open_target ---- */

static void release_qemu(void *ctx)
{
	struct vt_qemu *qm = ctx;
	vt_qemu_stop(qm);
	free(qm);
}

/* The VGA window and BIOS area below 1 MiB are not RAM to a device on
 * q35: nothing the device must reach may lie there. */
static int skip_legacy_hole(struct gmem *gm, char *err, size_t errlen)
{
	uint64_t mark = gmem_alloc_mark(gm, 0);
	if (mark > 0xa0000) {
		snprintf(err, errlen, "buffers reach the legacy hole at 0xa0000 (mark 0x%llx)",
			 (unsigned long long)mark);
		return -1;
	}
	if (mark < LEGACY_HOLE_END && gmem_alloc(gm, 0, LEGACY_HOLE_END - mark, 1) == GMEM_NOADDR) {
		snprintf(err, errlen, "guest RAM too small");
		return -1;
	}
	return 0;
}

/* The driver's view of guest RAM and QEMU's are the same bytes: a word
 * written on each side reads back on the other. */
static int check_shared_ram(struct vt_qemu *qm, struct gmem *gm, uint64_t gpa, char *err,
			    size_t errlen)
{
	volatile uint64_t *w = gmem_drv(gm, gpa, 8);
	uint64_t mine = 0x5663747351454d55ull ^ (uint64_t)getpid(), theirs = ~mine;
	*w = mine;
	uint64_t seen = vt_qtest_readq(&qm->qt, gpa);
	vt_qtest_writeq(&qm->qt, gpa, theirs);
	uint64_t back = *w;
	*w = 0;
	if (qm->qt.dead) {
		snprintf(err, errlen, "%s", qm->qt.err);
		return -1;
	}
	if (seen != mine || back != theirs) {
		snprintf(err, errlen, "guest RAM is not shared with QEMU at GPA 0x%llx (QEMU read "
			 "0x%llx for 0x%llx)", (unsigned long long)gpa, (unsigned long long)seen,
			 (unsigned long long)mine);
		return -1;
	}
	return 0;
}

struct vt_transport *vt_qemu_open(const struct vt_qemu_target *tg, struct gmem *gm,
				  struct vt_verdict *vd, char *err, size_t errlen)
{
	if (!tg) {
		snprintf(err, errlen, "no QEMU target");
		return NULL;
	}
	if (!vt_qemu_available()) {
		snprintf(err, errlen, "%s not found", vt_qemu_binary());
		return NULL;
	}
	if (skip_legacy_hole(gm, err, errlen))
		return NULL;
	uint64_t page = gmem_alloc(gm, 0, GMEM_PAGE_SIZE, GMEM_PAGE_SIZE);
	if (page == GMEM_NOADDR) {
		snprintf(err, errlen, "guest RAM too small");
		return NULL;
	}
	struct vt_qemu *qm = calloc(1, sizeof(*qm));
	if (!qm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (vt_qemu_start(qm, tg, gm, err, errlen)) {
		free(qm);
		return NULL;
	}
	if (check_shared_ram(qm, gm, page, err, errlen)) {
		release_qemu(qm);
		return NULL;
	}
	struct vt_virtio_pci_opts o = {
		.vd = vd,
		.gm = gm,
		.msi_gpa = tg->intx ? 0 : page,
		.mmio32_base = MMIO32_BASE,
		.mmio64_base = MMIO64_BASE,
		.name = "qtest",
	};
	struct vt_transport *t = vt_virtio_pci_create(&qm->fn, &o, err, errlen);
	if (!t) {
		release_qemu(qm);
		return NULL;
	}
	vt_virtio_pci_set_release(t, release_qemu, qm);
	return t;
}

struct vt_transport *vt_qtest_open(struct vt_pair *p, char *err, size_t errlen)
{
	return vt_qemu_open(p->cfg.target, p->gm, p->vd, err, errlen);
}

struct vt_qemu *vt_qtest_qemu(struct vt_transport *t)
{
	return vt_virtio_pci_owner(t);
}

/* ---- the function's layout, for pci_check ---- */

static int view_fail(struct vt_qemu_pci_view *v)
{
	return v->qm->qt.dead ? -1 : 0;
}

static int view_bar_read(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t *val)
{
	struct vt_qemu_pci_view *v = ctx;
	if (bar >= VT_PCI_NBARS || !v->bar[bar].present)
		return -1;
	*val = (uint32_t)v->qm->fn.ops->bar_read(v->qm->fn.ctx, v->bar[bar].io,
						 v->bar[bar].addr + off, width);
	return view_fail(v);
}

static int view_bar_write(void *ctx, unsigned bar, uint64_t off, unsigned width, uint32_t val)
{
	struct vt_qemu_pci_view *v = ctx;
	if (bar >= VT_PCI_NBARS || !v->bar[bar].present)
		return -1;
	v->qm->fn.ops->bar_write(v->qm->fn.ctx, v->bar[bar].io, v->bar[bar].addr + off, width, val);
	return view_fail(v);
}

static int view_cfg_read(void *ctx, unsigned off, unsigned width, uint32_t *val)
{
	struct vt_qemu_pci_view *v = ctx;
	*val = v->qm->fn.ops->cfg_read(v->qm->fn.ctx, off, width);
	return view_fail(v);
}

static int view_cfg_write(void *ctx, unsigned off, unsigned width, uint32_t val)
{
	struct vt_qemu_pci_view *v = ctx;
	v->qm->fn.ops->cfg_write(v->qm->fn.ctx, off, width, val);
	return view_fail(v);
}

int vt_qemu_pci_image(struct vt_transport *t, struct vt_pci_image *img,
		      struct vt_qemu_pci_view *view)
{
	struct vt_qemu *qm = vt_qtest_qemu(t);
	const struct vt_virtio_pci_info *in = vt_virtio_pci_info(t);

	memset(img, 0, sizeof(*img));
	memset(view, 0, sizeof(*view));
	view->qm = qm;
	memcpy(view->bar, in->bar, sizeof(view->bar));
	view->access = (struct vt_pci_access){
		.bar_read = view_bar_read,
		.bar_write = view_bar_write,
		.cfg_read = view_cfg_read,
		.cfg_write = view_cfg_write,
		.ctx = view,
	};
	vt_pci_read_config(&qm->fn, img->cfg, VT_PCI_CFG_SIZE);
	img->bars_known = true;
	memcpy(img->bar, in->bar, sizeof(img->bar));
	img->access = &view->access;
	return view_fail(view);
}
