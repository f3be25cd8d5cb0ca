/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backends.c - start and stop real vhost-user backends; connect a pair's
 * front-end to one.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends.h"
#include "virtio.h"


#define QSD_BIN        "qemu-storage-daemon"
#define TESTPMD_BIN    "dpdk-testpmd"
#define VIRTIOFSD_BIN  "/usr/lib/qemu/virtiofsd"
#define DEFAULT_BLK    (64ull << 20)
#define DEFAULT_START  10000u
#define STOP_GRACE_MS  500u

static unsigned started_count;

const char *vt_backend_name(enum vt_backend_kind k)
{
	switch (k) {
	case VT_BACKEND_QSD:       return "qemu-storage-daemon";
	case VT_BACKEND_DPDK:      return "dpdk-testpmd";
	case VT_BACKEND_VIRTIOFSD: return "virtiofsd";
	default:                   return "socket";
	}
}

uint16_t vt_backend_device_id(enum vt_backend_kind k)
{
	switch (k) {
	case VT_BACKEND_QSD:       return VIRTIO_ID_BLOCK;
	case VT_BACKEND_DPDK:      return VIRTIO_ID_NET;
	case VT_BACKEND_VIRTIOFSD: return VIRTIO_ID_FS;
	default:                   return 0;
	}
}

static const char *binary(enum vt_backend_kind k)
{
	switch (k) {
	case VT_BACKEND_QSD:       return QSD_BIN;
	case VT_BACKEND_DPDK:      return TESTPMD_BIN;
	case VT_BACKEND_VIRTIOFSD: return VIRTIOFSD_BIN;
	default:                   return NULL;
	}
}

/* An executable file: a path, or a name searched in PATH. */
static bool executable(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		char buf[PATH_MAX];
		if (n && n + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		if (!end)
			break;
		path = end + 1;
	}
	return false;
}

int vt_backend_available(enum vt_backend_kind k, char *why, size_t len)
{
	const char *bin = binary(k);
	if (k == VT_BACKEND_SOCKET)
		return 0;
	if (!executable(bin)) {
		snprintf(why, len, "%s not installed (make deps)", bin);
		return -1;
	}
	/* testpmd forwards on a second lcore */
	if (k == VT_BACKEND_DPDK && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		snprintf(why, len, "%s needs two CPUs", bin);
		return -1;
	}
	return 0;
}

/* "... version 7.2.22 ..." or "... 'DPDK 22.11.11'": the first token that
 * starts with a digit after the marker. */
static void parse_version(const char *line, const char *marker, char *out, size_t len)
{
	const char *p = strstr(line, marker);
	if (!p)
		return;
	p += strlen(marker);
	while (*p == ' ' || *p == '\'')
		p++;
	size_t n = 0;
	while (p[n] && (p[n] == '.' || (p[n] >= '0' && p[n] <= '9')))
		n++;
	if (n)
		snprintf(out, len, "%.*s", (int)n, p);
}

static char versions[4][32];

/* Scan a log for the version line. */
static void version_from_log(enum vt_backend_kind k, const char *log)
{
	FILE *f = fopen(log, "r");
	char line[512];
	if (!f)
		return;
	while (!versions[k][0] && fgets(line, sizeof(line), f))
		parse_version(line, k == VT_BACKEND_DPDK ? "DPDK" : "version", versions[k],
			      sizeof(versions[k]));
	fclose(f);
}

const char *vt_backend_version(enum vt_backend_kind k)
{
	if ((unsigned)k >= 4 || k == VT_BACKEND_SOCKET)
		return "";
	if (versions[k][0] || k == VT_BACKEND_DPDK)
		return versions[k];       /* DPDK: known once one has started */
	char err[128];
	struct vt_proc p;
	char *argv[] = { (char *)binary(k), (char *)"--version", NULL };
	if (vt_backend_available(k, err, sizeof(err)) ||
	    vt_proc_spawn(&p, argv, NULL, err, sizeof(err)))
		return "";
	if (vt_proc_wait(&p, 2000))
		vt_proc_stop(&p, 0);
	version_from_log(k, p.log);
	unlink(p.log);
	return versions[k];
}

/* ---- start / stop ---------------------------------------------------------- */

static int make_image(const char *path, uint64_t bytes, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int make_share(const char *dir, char *err, size_t errlen)
{
	char f[PATH_MAX + 16];
	if (mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(f, sizeof(f), "%s/hello", dir);
	FILE *fp = fopen(f, "w");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", f, strerror(errno));
		return -1;
	}
	fputs("vcts\n", fp);
	fclose(fp);
	return 0;
}

/* DPDK's runtime directory for a file prefix (empty once it stopped). */
static void dpdk_runtime_dir(const char *prefix, char *buf, size_t len)
{
	const char *base = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
	snprintf(buf, len, "%s/dpdk/%s", base && *base ? base : "/tmp", prefix);
}

/* One file prefix for every instance: with no shared configuration they
 * share nothing, and at most one empty directory can be left behind by a
 * test killed at its deadline (the next stop removes it). */
#define DPDK_PREFIX "vcts"

/* DPDK connects to us: a listening socket at b->sock. */
static int listen_at(struct vt_backend *b, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(b->sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", b->sock);
		return -1;
	}
	strcpy(sa.sun_path, b->sock);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(b->listen_fd, 4) < 0) {
		snprintf(err, errlen, "%s: %s", b->sock, strerror(errno));
		return -1;
	}
	return 0;
}

/* Wait for DPDK to connect (again, after the last connection closed),
 * watching that it is still there. */
static int accept_conn(struct vt_backend *b, unsigned timeout_ms, char *err, size_t errlen)
{
	for (unsigned waited = 0;; waited += 20) {
		struct pollfd pf = { .fd = b->listen_fd, .events = POLLIN };
		if (poll(&pf, 1, 20) > 0) {
			int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
		if (vt_proc_exited(&b->proc)) {
			char tail[160];
			vt_proc_log_tail(&b->proc, tail, sizeof(tail));
			snprintf(err, errlen, "%s exited before connecting%s%s",
				 vt_backend_name(b->kind), tail[0] ? ": " : "", tail);
			return -1;
		}
		if (waited >= timeout_ms) {
			snprintf(err, errlen, "%s did not connect to %s within %u ms",
				 vt_backend_name(b->kind), b->sock, timeout_ms);
			return -1;
		}
	}
}

static int spawn(struct vt_backend *b, const struct vt_backend_opts *o, char *err, size_t errlen)
{
	char a1[PATH_MAX + 64], a2[PATH_MAX + 64], a3[PATH_MAX + 64];

	switch (b->kind) {
	case VT_BACKEND_QSD: {
		snprintf(a1, sizeof(a1), "driver=file,node-name=f,filename=%s", b->image);
		snprintf(a2, sizeof(a2), "type=vhost-user-blk,id=e,node-name=r,addr.type=unix,"
			 "addr.path=%s,writable=on", b->sock);
		char *argv[] = { (char *)QSD_BIN, (char *)"--blockdev", a1, (char *)"--blockdev",
				 (char *)"raw,node-name=r,file=f", (char *)"--export", a2, NULL };
		return vt_proc_spawn(&b->proc, argv, NULL, err, errlen);
	}
	case VT_BACKEND_DPDK: {
		snprintf(a1, sizeof(a1), "--file-prefix=%s", DPDK_PREFIX);
		snprintf(a2, sizeof(a2), "net_vhost0,iface=%s,iommu-support=%d,client=1", b->sock,
			 o->no_iommu ? 0 : 1);
		/* io forwarding on a port looped to itself: a frame taken from
		 * the driver's transmitq goes back into its receiveq; the
		 * stats loop (not stdin) keeps testpmd running until SIGTERM */
		char *argv[] = { (char *)TESTPMD_BIN, (char *)"-v", (char *)"-l", (char *)"0-1",
				 (char *)"--no-huge", (char *)"-m", (char *)"128",
				 (char *)"--no-pci", (char *)"--no-shconf",
				 (char *)"--no-telemetry", a1, (char *)"--vdev", a2, (char *)"--",
				 (char *)"--total-num-mbufs=16384", (char *)"--forward-mode=io",
				 (char *)"--port-topology=loop", (char *)"--disable-link-check",
				 (char *)"--stats-period=3600", (char *)"-a", NULL };
		if (getuid() != 0) {
			/* keep DPDK's runtime directory out of shared places */
			const char *d = vt_proc_tmpdir();
			if (d)
				setenv("XDG_RUNTIME_DIR", d, 1);
		}
		return vt_proc_spawn(&b->proc, argv, NULL, err, errlen);
	}
	case VT_BACKEND_VIRTIOFSD: {
		snprintf(a1, sizeof(a1), "--socket-path=%s", b->sock);
		snprintf(a3, sizeof(a3), "source=%s", b->share);
		char *argv[] = { (char *)VIRTIOFSD_BIN, a1, (char *)"-o", a3, (char *)"-o",
				 (char *)"cache=none", NULL };
		return vt_proc_spawn(&b->proc, argv, NULL, err, errlen);
	}
	default:
		snprintf(err, errlen, "no backend to start");
		return -1;
	}
}

int vt_backend_start(struct vt_backend *b, enum vt_backend_kind k, const struct vt_backend_opts *o,
		     char *err, size_t errlen)
{
	static const struct vt_backend_opts none;
	char name[64];
	unsigned n = started_count++;

	if (!o)
		o = &none;
	memset(b, 0, sizeof(*b));
	b->kind = k;
	b->listen_fd = b->conn_fd = -1;
	if (vt_backend_available(k, err, errlen))
		return -1;
	snprintf(name, sizeof(name), "vhu-%s.%u", k == VT_BACKEND_QSD ? "blk" :
		 k == VT_BACKEND_DPDK ? "net" : "fs", n);
	if (vt_proc_path(b->sock, sizeof(b->sock), name)) {
		snprintf(err, errlen, "no room for a socket path in the temporary directory");
		return -1;
	}
	if (k == VT_BACKEND_QSD) {
		snprintf(name, sizeof(name), "vhu-blk.%u.img", n);
		if (vt_proc_path(b->image, sizeof(b->image), name) ||
		    make_image(b->image, o->blk_bytes ? o->blk_bytes : DEFAULT_BLK, err, errlen))
			return -1;
	}
	if (k == VT_BACKEND_VIRTIOFSD) {
		snprintf(name, sizeof(name), "vhu-fs.%u.share", n);
		if (vt_proc_path(b->share, sizeof(b->share), name) ||
		    make_share(b->share, err, errlen))
			return -1;
	}
	if (k == VT_BACKEND_VIRTIOFSD)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (k == VT_BACKEND_DPDK && listen_at(b, err, errlen)) {
		vt_backend_stop(b);
		return -1;
	}
	if (spawn(b, o, err, errlen)) {
		vt_backend_stop(b);
		return -1;
	}
	b->started = true;
	unsigned start_ms = o->start_ms ? o->start_ms : DEFAULT_START;
	if (k == VT_BACKEND_DPDK)
		b->conn_fd = accept_conn(b, start_ms, err, errlen);
	if (k == VT_BACKEND_DPDK ? b->conn_fd < 0
				 : vt_proc_wait_path(&b->proc, b->sock, start_ms, err, errlen)) {
		vt_backend_stop(b);
		return -1;
	}
	if (k == VT_BACKEND_DPDK)
		version_from_log(k, b->proc.log);
	return 0;
}

/* virtiofsd runs its session in a child of its own (a PID namespace):
 * killed with the group, that child comes back to us (we are its
 * subreaper) and is reaped here rather than left a zombie. */
static void reap_group(pid_t group)
{
	for (unsigned ms = 0; ms < 200; ms++) {
		pid_t w = waitpid(-group, NULL, WNOHANG);
		if (w < 0)
			return;          /* none left */
		if (w == 0) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
		}
	}
}

void vt_backend_stop(struct vt_backend *b)
{
	if (b->conn_fd >= 0)
		close(b->conn_fd);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	b->conn_fd = b->listen_fd = -1;
	if (b->started) {
		/* testpmd's orderly exit on SIGTERM takes half a second and
		 * leaves nothing that SIGKILL would not (no shared config) */
		pid_t group = b->proc.pid;
		vt_proc_stop(&b->proc, b->kind == VT_BACKEND_DPDK ? 0 : STOP_GRACE_MS);
		reap_group(group);
		b->started = false;
		if (b->kind == VT_BACKEND_DPDK) {
			char dir[PATH_MAX];
			dpdk_runtime_dir(DPDK_PREFIX, dir, sizeof(dir));
			if (rmdir(dir) == 0)
				rmdir(dirname(dir));   /* dpdk/, when we made it */
		}
	}
	if (b->sock[0])
		unlink(b->sock);
	if (b->image[0])
		unlink(b->image);
	if (b->share[0])
		vt_rmtree(b->share);
	b->sock[0] = b->image[0] = b->share[0] = '\0';
}

bool vt_backend_running(struct vt_backend *b)
{
	return b->started && !vt_proc_exited(&b->proc);
}

void vt_backend_describe(struct vt_backend *b, char *buf, size_t len)
{
	char tail[120];
	if (!b->started) {
		snprintf(buf, len, "%s not started", vt_backend_name(b->kind));
		return;
	}
	if (!vt_proc_exited(&b->proc)) {
		snprintf(buf, len, "%s still running", vt_backend_name(b->kind));
		return;
	}
	vt_proc_log_tail(&b->proc, tail, sizeof(tail));
	int st = b->proc.status;
	if (WIFSIGNALED(st))
		snprintf(buf, len, "%s killed by signal %d%s%s", vt_backend_name(b->kind),
			 WTERMSIG(st), tail[0] ? ": " : "", tail);
	else
		snprintf(buf, len, "%s exited with status %d%s%s", vt_backend_name(b->kind),
			 WEXITSTATUS(st), tail[0] ? ": " : "", tail);
}

int vt_backend_connect(struct vt_backend *b, unsigned timeout_ms, char *err, size_t errlen)
{
	if (b->kind != VT_BACKEND_DPDK)
		return vhu_connect(b->sock, timeout_ms, err, errlen);
	int fd = b->conn_fd;
	b->conn_fd = -1;
	return fd >= 0 ? fd : accept_conn(b, timeout_ms ? timeout_ms : 2000, err, errlen);
}

/* ---- the pair target --------------------------------------------------------- */

static void owner_describe(void *owner, char *buf, size_t len)
{
	vt_backend_describe(owner, buf, len);
}

static void owner_release(void *owner)
{
	vt_backend_stop(owner);
	free(owner);
}

static void shared_describe(void *owner, char *buf, size_t len)
{
	vt_backend_describe(owner, buf, len);
}

struct vt_transport *vt_vhu_open(struct vt_pair *p, char *err, size_t errlen)
{
	const struct vt_vhu_target *tg = p->cfg.target;
	struct vhu_front_opts o = {
		.sock = -1,
		.device_id = p->cfg.device_id,
		.gm = p->gm,
		.io = p->io,
		.vd = p->vd,
		.secure = p->cfg.secure,
	};

	if (!tg) {
		snprintf(err, errlen, "vhost-user pair without a target");
		return NULL;
	}
	o.timeout_ms = tg->timeout_ms;
	o.queue_size_max = tg->queue_size_max;
	o.quirks = tg->quirks;
	if (tg->kind == VT_BACKEND_SOCKET) {
		o.path = tg->socket;
	} else if (tg->backend) {
		o.path = tg->backend->sock;
		o.sock = vt_backend_connect(tg->backend, tg->timeout_ms, err, errlen);
		if (o.sock < 0)
			return NULL;
		o.describe_death = shared_describe;
		o.owner = tg->backend;
	} else {
		struct vt_backend *b = calloc(1, sizeof(*b));
		if (!b) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		if (vt_backend_start(b, tg->kind, &tg->bopts, err, errlen)) {
			free(b);
			return NULL;
		}
		o.path = b->sock;
		o.sock = vt_backend_connect(b, tg->timeout_ms, err, errlen);
		if (o.sock < 0) {
			owner_release(b);
			return NULL;
		}
		o.describe_death = owner_describe;
		o.release = owner_release;
		o.owner = b;
	}
	return vhu_front_open(&o, err, errlen);
}
