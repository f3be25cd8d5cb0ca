/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload_fs.c - a file system device answers FUSE requests (5.11): the
 * driver puts a request (device-readable FUSE in-header and arguments)
 * and room for the reply (device-writable) on a request queue (queue 1;
 * queue 0 is hiprio).  After DRIVER_OK the session starts with a
 * FUSE_INIT round trip; every request after that is a FUSE_GETATTR of the
 * root.  Each reply is judged: out-header length equal to the used length,
 * no error, the request's unique id, and the reply itself (protocol major
 * 7; the root is a directory).
 */
#include <stdio.h>
#include <string.h>

#include "workload.h"

#define FS_REQQ          1
#define FUSE_GETATTR     3
#define FUSE_INIT        26
#define FUSE_MAJOR       7
#define FUSE_MINOR       31      /* the first minor with virtio-fs (DAX) */
#define FS_ROOT_ID       1
#define FS_INIT_UNIQUE   1
#define FS_MIN_BUF       128
#define FS_S_IFMT        0170000
#define FS_S_IFDIR       0040000

struct fuse_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen;
	uint16_t padding;
} __attribute__((packed));

struct fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
} __attribute__((packed));

struct fuse_init_in {
	uint32_t major, minor, max_readahead, flags;
} __attribute__((packed));

struct fuse_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2;
	uint32_t unused[7];
} __attribute__((packed));

struct fuse_getattr_in {
	uint32_t getattr_flags, dummy;
	uint64_t fh;
} __attribute__((packed));

struct fuse_attr_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec, dummy;
	uint64_t ino, size, blocks, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec, mode, nlink, uid, gid, rdev, blksize, flags;
} __attribute__((packed));

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header is 40 bytes");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out is 64 bytes");
_Static_assert(sizeof(struct fuse_attr_out) == 104, "fuse_attr_out is 104 bytes");

static uint64_t getattr_unique(uint64_t k)
{
	return k + 2;          /* 1 is the FUSE_INIT of the session */
}

/* Put request `opcode` with its arguments in slot s and make it
 * available with the slot's whole in-buffer for the reply. */
static int fs_add(struct vt_pair *p, unsigned s, uint32_t opcode, uint64_t unique,
		  const void *arg, uint32_t arglen)
{
	struct vt_pair_slot *sl = &p->slots[s];
	struct fuse_in_header h = {
		.len = vt_put_le32((uint32_t)sizeof(h) + arglen),
		.opcode = vt_put_le32(opcode),
		.unique = vt_put_le64(unique),
		.nodeid = vt_put_le64(FS_ROOT_ID),
	};
	uint8_t *req = gmem_drv(p->gm, sl->out_gpa, sizeof(h) + arglen);
	memcpy(req, &h, sizeof(h));
	memcpy(req + sizeof(h), arg, arglen);
	memset(gmem_drv(p->gm, sl->in_gpa, p->cfg.buf_size), 0xa5, p->cfg.buf_size);
	struct vt_buf out = { sl->out_gpa, (uint32_t)sizeof(h) + arglen };
	struct vt_buf in = { sl->in_gpa, p->cfg.buf_size };
	return p->drv->ops->add(p->drv, FS_REQQ, &out, 1, &in, 1, vt_pair_token(s));
}

static int fs_wrong(struct vt_pair *p, const char *what, uint64_t want, uint64_t got)
{
	char e[32], g[32];
	snprintf(e, sizeof(e), "%llu", (unsigned long long)want);
	snprintf(g, sizeof(g), "%llu", (unsigned long long)got);
	return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, e, g, "FUSE reply: %s",
			    what);
}

/* The out-header of the reply in slot s: length, error, unique id. */
static int fs_check_header(struct vt_pair *p, unsigned s, uint32_t len, uint64_t unique,
			   uint32_t body)
{
	struct fuse_out_header o;
	memcpy(&o, gmem_drv(p->gm, p->slots[s].in_gpa, sizeof(o)), sizeof(o));
	if (len < sizeof(o) || len > p->cfg.buf_size)
		return fs_wrong(p, "used length", sizeof(o) + body, len);
	if (vt_le32(o.len) != len)
		return fs_wrong(p, "out-header len against the used length", len, vt_le32(o.len));
	if (o.error)
		return fs_wrong(p, "error", 0, (uint64_t)-(int64_t)(int32_t)vt_le32((uint32_t)o.error));
	if (vt_le64(o.unique) != unique)
		return fs_wrong(p, "unique id", unique, vt_le64(o.unique));
	if (len != sizeof(o) + body)
		return fs_wrong(p, "reply length", sizeof(o) + body, len);
	return 0;
}

/* The session's FUSE_INIT, after DRIVER_OK. */
static int fs_setup(struct vt_pair *p)
{
	struct vt_driver *d = p->drv;
	struct fuse_init_in in = { vt_put_le32(FUSE_MAJOR), vt_put_le32(FUSE_MINOR), 0, 0 };
	void *tok;
	uint32_t len;

	if (p->cfg.buf_size < FS_MIN_BUF || d->nqueues < 2)
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
				    "virtio-fs needs %u-byte buffers and a request queue (%u "
				    "bytes, %u queues)", FS_MIN_BUF, p->cfg.buf_size, d->nqueues);
	if (fs_add(p, 0, FUSE_INIT, FS_INIT_UNIQUE, &in, sizeof(in)))
		return -1;
	d->ops->kick(d, FS_REQQ);
	int w = d->ops->wait_used(d, FS_REQQ, p->cfg.timeout_ms);
	if (w < 0)
		return -1;
	if (w == 0)
		return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
				    "FUSE_INIT not answered within %u ms", p->cfg.timeout_ms);
	if (d->ops->get_used(d, FS_REQQ, &tok, &len) != 1 || tok != vt_pair_token(0))
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
				    "FUSE_INIT: the driver returned another buffer");
	if (fs_check_header(p, 0, len, FS_INIT_UNIQUE, sizeof(struct fuse_init_out)))
		return -1;
	struct fuse_init_out out;
	memcpy(&out, gmem_drv(p->gm, p->slots[0].in_gpa + sizeof(struct fuse_out_header),
			      sizeof(out)), sizeof(out));
	if (vt_le32(out.major) != FUSE_MAJOR)
		return fs_wrong(p, "FUSE_INIT major version", FUSE_MAJOR, vt_le32(out.major));
	return 0;
}

static int fs_submit(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase)
{
	struct fuse_getattr_in in = { 0, 0, 0 };
	(void)phase;
	return fs_add(p, s, FUSE_GETATTR, getattr_unique(k), &in, sizeof(in));
}

static int fs_verify(struct vt_pair *p, unsigned s, uint32_t len, unsigned phase)
{
	struct vt_pair_slot *sl = &p->slots[s];
	(void)phase;
	if (fs_check_header(p, s, len, getattr_unique(sl->req), sizeof(struct fuse_attr_out)))
		return -1;
	struct fuse_attr_out a;
	memcpy(&a, gmem_drv(p->gm, sl->in_gpa + sizeof(struct fuse_out_header), sizeof(a)),
	       sizeof(a));
	if ((vt_le32(a.mode) & FS_S_IFMT) != FS_S_IFDIR)
		return fs_wrong(p, "FUSE_GETATTR of the root: file type", FS_S_IFDIR,
				vt_le32(a.mode) & FS_S_IFMT);
	return 0;
}

const struct vt_workload vt_workload_fs = {
	.name = "fs",
	.device_id = 26,         /* VIRTIO_ID_FS */
	.nphases = 1,
	.queue = FS_REQQ,
	.setup = fs_setup,
	.submit = fs_submit,
	.verify = fs_verify,
};
