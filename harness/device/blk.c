/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blk.c - a RAM-backed virtio block device (5.2).
 *
 * 2048 sectors of 512 bytes.  Offers SEG_MAX, BLK_SIZE and FLUSH; the
 * configuration space holds capacity (le64 at 0, read in two pieces
 * between generation reads), seg_max (12) and blk_size (20).
 *
 * A request is struct virtio_blk_outhdr in the readable part, data
 * (readable for OUT, writable for IN and GET_ID), and a status byte as
 * the last writable byte.  IN, OUT, FLUSH and GET_ID have their real
 * meaning; unknown types get UNSUPP.  Rules of 5.2.6.1 the driver breaks
 * (beyond capacity, data not whole sectors, FLUSH sector not 0, GET_ID
 * data not 20 bytes) are reported and answered with IOERR where the
 * request cannot be carried out.  The whole writable part is written
 * (data or zeroes, then status), so the used length is its size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#define BLK_SECTORS  2048ULL
#define BLK_SEG_MAX  (VT_MAX_SEGS - 2)   /* header and status take two */
#define BLK_ID       "vcts-blk"
#define BLK_CHUNK    512

struct blk {
	uint8_t *disk;
	uint64_t sectors;
};

static const struct vt_config_field blk_wide[] = {
	{ .off = VIRTIO_BLK_CFG_CAPACITY, .width = 8 },
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static int blk_init(struct vt_device *dev)
{
	struct blk *b = calloc(1, sizeof(*b));
	uint8_t *cfg = vt_device_config(dev);

	if (!b)
		return -1;
	b->sectors = BLK_SECTORS;
	b->disk = calloc(BLK_SECTORS, VIRTIO_BLK_SECTOR_SIZE);
	if (!b->disk) {
		free(b);
		return -1;
	}
	*vt_device_type_state(dev) = b;
	put_le64(cfg + VIRTIO_BLK_CFG_CAPACITY, b->sectors);
	put_le32(cfg + VIRTIO_BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(cfg + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR_SIZE);
	return 0;
}

static void blk_fini(struct vt_device *dev)
{
	struct blk *b = *vt_device_type_state(dev);

	if (b) {
		free(b->disk);
		free(b);
		*vt_device_type_state(dev) = NULL;
	}
}

/* Fields that exist only with their feature (5.2.4). */
static int blk_config_field_feature(unsigned offset, unsigned width)
{
	(void)width;
	if (offset >= VIRTIO_BLK_CFG_SIZE_MAX && offset < VIRTIO_BLK_CFG_SEG_MAX)
		return VIRTIO_BLK_F_SIZE_MAX;
	if (offset >= VIRTIO_BLK_CFG_SEG_MAX && offset < VIRTIO_BLK_CFG_GEOMETRY)
		return VIRTIO_BLK_F_SEG_MAX;
	if (offset >= VIRTIO_BLK_CFG_GEOMETRY && offset < VIRTIO_BLK_CFG_BLK_SIZE)
		return VIRTIO_BLK_F_GEOMETRY;
	if (offset >= VIRTIO_BLK_CFG_BLK_SIZE && offset < VIRTIO_BLK_CFG_SIZE)
		return VIRTIO_BLK_F_BLK_SIZE;
	return -1;
}

static void driver_broke(struct vt_device *dev, const char *expected, const char *got,
			 const char *what)
{
	vt_violation(vt_device_verdict(dev), "DRV-5.2.6.1", VT_WHO_DRIVER, expected, got,
		     "blk request: %s", what);
}

/* Fill writable bytes [from, to) with zeroes. */
static int zero_fill(struct vt_device *dev, const struct vt_chain *c, uint64_t from, uint64_t to)
{
	static const uint8_t zero[BLK_CHUNK];

	while (from < to) {
		uint64_t n = to - from < sizeof(zero) ? to - from : sizeof(zero);
		if (vt_chain_write(dev, c, from, zero, n))
			return -1;
		from += n;
	}
	return 0;
}

/* IN / OUT: whole sectors inside the capacity.  Returns the status. */
static uint8_t blk_rw(struct vt_device *dev, struct blk *b, const struct vt_chain *c,
		      bool out, uint64_t sector, uint64_t len, uint64_t *done)
{
	char got[48];

	if (len % VIRTIO_BLK_SECTOR_SIZE) {
		snprintf(got, sizeof(got), "%llu bytes", (unsigned long long)len);
		driver_broke(dev, "a multiple of 512 bytes", got, "data is not whole sectors");
		return VIRTIO_BLK_S_IOERR;
	}
	uint64_t n = len / VIRTIO_BLK_SECTOR_SIZE;
	if (sector > b->sectors || n > b->sectors - sector) {
		snprintf(got, sizeof(got), "sectors %llu..%llu", (unsigned long long)sector,
			 (unsigned long long)(sector + n));
		driver_broke(dev, "within capacity", got, "read or write beyond capacity");
		return VIRTIO_BLK_S_IOERR;
	}
	uint8_t *p = b->disk + sector * VIRTIO_BLK_SECTOR_SIZE;
	int rc = out ? vt_chain_read(dev, c, sizeof(struct virtio_blk_outhdr), p, len)
		     : vt_chain_write(dev, c, 0, p, len);
	if (rc)
		return VIRTIO_BLK_S_IOERR;
	if (!out)
		*done = len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_get_id(struct vt_device *dev, const struct vt_chain *c, uint64_t len,
			  uint64_t *done)
{
	uint8_t id[VIRTIO_BLK_ID_BYTES] = { 0 };
	char got[24];

	if (len != VIRTIO_BLK_ID_BYTES) {
		snprintf(got, sizeof(got), "%llu bytes", (unsigned long long)len);
		driver_broke(dev, "20 bytes", got, "GET_ID data is not 20 bytes");
	}
	memcpy(id, BLK_ID, sizeof(BLK_ID) - 1);
	uint64_t n = len < sizeof(id) ? len : sizeof(id);
	if (vt_chain_write(dev, c, 0, id, n))
		return VIRTIO_BLK_S_IOERR;
	*done = n;
	return VIRTIO_BLK_S_OK;
}

static int blk_handle(struct vt_device *dev, unsigned q, const struct vt_chain *c,
		      uint32_t *written)
{
	struct blk *b = *vt_device_type_state(dev);
	struct virtio_blk_outhdr hdr;
	uint64_t data_in, done = 0;
	uint8_t status;

	(void)q;
	if (c->out_len < sizeof(hdr) || c->in_len < 1 || c->in_len > UINT32_MAX) {
		driver_broke(dev, "header, data, status byte", "no room for them",
			     "request without a header or a status byte");
		*written = 0;
		return 0;
	}
	if (vt_chain_read(dev, c, 0, &hdr, sizeof(hdr)))
		return -1;
	data_in = c->in_len - 1;
	uint64_t sector = vt_le64(hdr.sector);
	switch (vt_le32(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		status = blk_rw(dev, b, c, false, sector, data_in, &done);
		break;
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(dev, b, c, true, sector, c->out_len - sizeof(hdr), &done);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (sector)
			driver_broke(dev, "sector 0", "non-zero sector", "FLUSH with a sector");
		status = (vt_device_negotiated(dev) & VT_BIT(VIRTIO_BLK_F_FLUSH)) ?
			 VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP;
		break;
	case VIRTIO_BLK_T_GET_ID:
		status = blk_get_id(dev, c, data_in, &done);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (zero_fill(dev, c, done, data_in) || vt_chain_write(dev, c, data_in, &status, 1))
		return -1;
	*written = (uint32_t)c->in_len;
	return 0;
}

const struct vt_device_type vt_device_blk = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.features = VT_BIT(VIRTIO_BLK_F_SEG_MAX) | VT_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		    VT_BIT(VIRTIO_BLK_F_FLUSH),
	.config_size = VIRTIO_BLK_CFG_SIZE,
	.init = blk_init,
	.fini = blk_fini,
	.handle = blk_handle,
	.config_field_feature = blk_config_field_feature,
	.wide = blk_wide,
	.nwide = 1,
};
