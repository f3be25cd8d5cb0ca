/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dpdk_virtio_user.c - start and stop dpdk-testpmd with a virtio-user
 * port on a vhost-user socket (see dpdk_virtio_user.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpdk_virtio_user.h"

#define STOP_GRACE_MS 3000

static unsigned started;

/* Look for an executable in PATH. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[512];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

bool dpdk_vu_available(char *why, size_t whylen)
{
	if (in_path(DPDK_TESTPMD))
		return true;
	snprintf(why, whylen, "%s not installed (Debian package dpdk)", DPDK_TESTPMD);
	return false;
}

int dpdk_vu_start(struct dpdk_vu *d, const struct dpdk_vu_opts *o, char *err, size_t errlen)
{
	char vdev[384];

	memset(d, 0, sizeof(*d));
	snprintf(d->prefix, sizeof(d->prefix), "vcts-%ld-%u", (long)getpid(), started++);
	char prefix_opt[64];
	snprintf(prefix_opt, sizeof(prefix_opt), "--file-prefix=%s", d->prefix);
	snprintf(vdev, sizeof(vdev), "net_virtio_user0,path=%s,queues=1,server=0%s%s", o->sock,
		 o->packed ? ",packed_vq=1" : "", o->in_order ? ",in_order=1" : ",in_order=0");
	char *const argv[] = {
		DPDK_TESTPMD,
		"-v",                       /* the EAL banner names the version   */
		"-l", "0-1",
		"--no-huge", "-m", "512",
		"--no-shconf",              /* memfd-backed memory: shareable     */
		"--no-pci",
		prefix_opt,                 /* a runtime directory of its own     */
		"--vdev", vdev,
		"--",
		"--total-num-mbufs=16384",
		"--forward-mode=txonly",
		"--txpkts=64",
		"--stats-period", "1",      /* runs until a signal, no stdin      */
		NULL,
	};
	return vt_proc_spawn(&d->proc, argv, NULL, err, errlen);
}

/* The EAL creates an empty runtime directory even without a shared
 * configuration; remove ours (never the shared parent: another DPDK may be
 * starting in it). */
static void remove_runtime_dir(const struct dpdk_vu *d)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[512];

	if (!d->prefix[0])
		return;
	if (getuid() == 0 || !xdg)
		snprintf(dir, sizeof(dir), "/var/run/dpdk/%s", d->prefix);
	else
		snprintf(dir, sizeof(dir), "%s/dpdk/%s", xdg, d->prefix);
	rmdir(dir);
}

bool dpdk_vu_exited(struct dpdk_vu *d)
{
	return vt_proc_exited(&d->proc);
}

const char *dpdk_vu_version(struct dpdk_vu *d)
{
	char line[256];
	FILE *f;

	if (d->version[0] || !d->proc.log[0])
		return d->version;
	f = fopen(d->proc.log, "r");
	if (!f)
		return d->version;
	while (fgets(line, sizeof(line), f)) {
		const char *v = strstr(line, "RTE Version: 'DPDK ");
		if (v) {
			v += strlen("RTE Version: 'DPDK ");
			size_t n = strcspn(v, "'\n");
			snprintf(d->version, sizeof(d->version), "%.*s", (int)n, v);
			break;
		}
	}
	fclose(f);
	return d->version;
}

void dpdk_vu_stop(struct dpdk_vu *d)
{
	dpdk_vu_version(d);
	if (d->proc.pid)
		vt_proc_stop(&d->proc, STOP_GRACE_MS);
	remove_runtime_dir(d);
}
