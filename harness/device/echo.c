/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * echo.c - the echo test device (VIRTIO_ID_VCTS_ECHO).
 *
 * One queue, no device-type features.  Each chain is answered by copying
 * its readable bytes, in order, into its writable part; the used length
 * is min(readable, writable).  The configuration space is one constant
 * le64 field, the ASCII bytes "vctsecho", wide enough that reading it
 * takes two pieces bracketed by generation reads (DRV-2.5.1).
 */
#include <string.h>

#include "device.h"

#define ECHO_CFG_SIZE 8
#define ECHO_CHUNK    4096

static const struct vt_config_field echo_wide[] = {
	{ .off = 0, .width = 8 },
};

static int echo_init(struct vt_device *dev)
{
	memcpy(vt_device_config(dev), "vctsecho", ECHO_CFG_SIZE);
	return 0;
}

static void echo_fini(struct vt_device *dev)
{
	(void)dev;
}

/* Copy readable bytes [from, from+len) to writable offset `to`. */
static int copy_span(struct vt_device *dev, const struct vt_chain *c, uint64_t from, uint64_t to,
		     uint64_t len)
{
	uint8_t buf[ECHO_CHUNK];

	while (len) {
		uint64_t n = len < sizeof(buf) ? len : sizeof(buf);
		if (vt_chain_read(dev, c, from, buf, n) || vt_chain_write(dev, c, to, buf, n))
			return -1;
		from += n;
		to += n;
		len -= n;
	}
	return 0;
}

/* Fault PACKED_SG_ORDER: the stream goes into the writable descriptors
 * last one first (DEV-2.8.18: a list's buffers are used in order). */
static int copy_reversed(struct vt_device *dev, const struct vt_chain *c, uint64_t n)
{
	uint64_t pos = 0, start = c->in_len;

	for (unsigned i = c->nseg; i-- > c->nout && pos < n;) {
		uint64_t len = c->seg[i].len;
		start -= len;
		if (len > n - pos)
			len = n - pos;
		if (copy_span(dev, c, pos, start, len))
			return -1;
		pos += len;
	}
	return 0;
}

/* Fault ASSUME_FRAMING: the device takes the first readable descriptor
 * for the whole message, as if every request came in one piece
 * (DEV-2.7.4.1: no assumption about the arrangement of descriptors). */
static int copy_first_only(struct vt_device *dev, const struct vt_chain *c, uint64_t n)
{
	uint64_t first = c->nout ? c->seg[0].len : 0;

	for (uint64_t to = 0; to < n; to += first) {
		uint64_t len = n - to < first ? n - to : first;
		if (!len || copy_span(dev, c, 0, to, len))
			return -1;
	}
	return 0;
}

static int echo_handle(struct vt_device *dev, unsigned q, const struct vt_chain *c,
		       uint32_t *written)
{
	uint64_t n = c->out_len < c->in_len ? c->out_len : c->in_len;
	bool reverse = vt_device_fault(dev) == VT_DEV_FAULT_PACKED_SG_ORDER &&
		       (vt_device_negotiated(dev) & VT_BIT(VIRTIO_F_RING_PACKED)) &&
		       c->nseg - c->nout > 1;

	(void)q;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	int rc;
	if (reverse)
		rc = copy_reversed(dev, c, n);
	else if (vt_device_fault(dev) == VT_DEV_FAULT_ASSUME_FRAMING && c->nout > 1)
		rc = copy_first_only(dev, c, n);
	else
		rc = copy_span(dev, c, 0, 0, n);
	if (rc)
		return 0;       /* the accessor recorded why; nothing written */
	*written = (uint32_t)n;
	return 0;
}

const struct vt_device_type vt_device_echo = {
	.name = "echo",
	.device_id = VIRTIO_ID_VCTS_ECHO,
	.num_queues = 1,
	.features = 0,
	.config_size = ECHO_CFG_SIZE,
	.init = echo_init,
	.fini = echo_fini,
	.handle = echo_handle,
	.config_field_feature = NULL,
	.wide = echo_wide,
	.nwide = 1,
};
