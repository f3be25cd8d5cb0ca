/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net.c - a minimal network device (VIRTIO_ID_NET) for judging network
 * drivers.
 *
 * Queues: receiveq1 = 0, transmitq1 = 1 (5.1.2).  Device-type features:
 * VIRTIO_NET_F_MAC only; the configuration space is the 6-byte mac and
 * the le16 status (status exists only with VIRTIO_NET_F_STATUS, which is
 * not offered, so the driver sees only the mac).
 *
 * Every packet starts with struct virtio_net_hdr, which is 12 bytes once
 * VERSION_1 is negotiated (num_buffers always present).  On transmit the
 * device checks the header the driver wrote (DRV-5.1.9.2.1): without
 * VIRTIO_NET_F_CSUM the flags are zero, without any host GSO feature the
 * gso_type is GSO_NONE, and num_buffers is zero.  On receive the device
 * fills each buffer with one generated Ethernet frame (a header with
 * num_buffers 1, then a broadcast frame from the device's own mac) when
 * the buffer holds it; a receive buffer smaller than a header is a
 * driver fault (DRV-5.1.9.3.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#define NET_CFG_SIZE        8           /* mac[6], status le16 */
#define NET_HDR_LEN_LEGACY  10

#define NET_FRAME_LEN       60          /* minimum Ethernet frame, no FCS */
#define NET_ETHERTYPE       0x88b5      /* IEEE local experimental */

static const uint8_t net_mac[6] = { 0x52, 0x54, 0x00, 0x76, 0x63, 0x01 };

struct net_state {
	uint64_t tx_packets, tx_bytes, rx_packets;
};

static int net_init(struct vt_device *dev)
{
	struct net_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	*vt_device_type_state(dev) = s;
	memcpy(vt_device_config(dev), net_mac, sizeof(net_mac));
	return 0;
}

static void net_fini(struct vt_device *dev)
{
	void **st = vt_device_type_state(dev);

	free(*st);
	*st = NULL;
}

static unsigned hdr_len(struct vt_device *dev)
{
	return (vt_device_negotiated(dev) & VT_BIT(VIRTIO_F_VERSION_1)) ? VIRTIO_NET_HDR_LEN
									 : NET_HDR_LEN_LEGACY;
}

static bool has(struct vt_device *dev, unsigned bit)
{
	return (vt_device_negotiated(dev) >> bit) & 1;
}

/* Judge the header of one transmitted packet (DRV-5.1.9.2.1). */
static void check_tx_hdr(struct vt_device *dev, const struct vt_chain *c)
{
	struct vt_verdict *vd = vt_device_verdict(dev);
	unsigned hl = hdr_len(dev);
	uint8_t h[VIRTIO_NET_HDR_LEN] = { 0 };
	char got[32];

	if (c->out_len < hl) {
		snprintf(got, sizeof(got), "%llu bytes", (unsigned long long)c->out_len);
		vt_violation(vd, "DRV-5.1.9.2.1", VT_WHO_DRIVER, "a full virtio_net_hdr", got,
			     "transmitted buffer %u is shorter than the %u-byte virtio_net_hdr",
			     c->head, hl);
		return;
	}
	if (vt_chain_read(dev, c, 0, h, hl))
		return;
	if (h[0] && !has(dev, VIRTIO_NET_F_CSUM)) {
		snprintf(got, sizeof(got), "flags 0x%02x", h[0]);
		vt_violation(vd, "DRV-5.1.9.2.1", VT_WHO_DRIVER, "flags 0", got,
			     "transmit header flags set without VIRTIO_NET_F_CSUM negotiated");
	}
	if (h[1] && !has(dev, VIRTIO_NET_F_HOST_TSO4) && !has(dev, VIRTIO_NET_F_HOST_TSO6) &&
	    !has(dev, VIRTIO_NET_F_HOST_UFO) && !has(dev, VIRTIO_NET_F_HOST_USO)) {
		snprintf(got, sizeof(got), "gso_type 0x%02x", h[1]);
		vt_violation(vd, "DRV-5.1.9.2.1", VT_WHO_DRIVER, "GSO_NONE", got,
			     "transmit header gso_type set without a host GSO feature negotiated");
	}
	if (hl == VIRTIO_NET_HDR_LEN && (h[10] || h[11])) {
		snprintf(got, sizeof(got), "num_buffers %u", h[10] | (unsigned)h[11] << 8);
		vt_violation(vd, "DRV-5.1.9.2.1", VT_WHO_DRIVER, "num_buffers 0", got,
			     "transmit header num_buffers is not zero");
	}
}

/* Fill one receive buffer with a header and a generated frame. */
static uint32_t fill_rx(struct vt_device *dev, struct net_state *s, const struct vt_chain *c)
{
	unsigned hl = hdr_len(dev);
	uint8_t pkt[VIRTIO_NET_HDR_LEN + NET_FRAME_LEN] = { 0 };
	uint8_t *f = pkt + hl;
	char got[32];

	if (c->in_len < hl) {
		/* a MUST with MRG_RXBUF; without it the rule is a SHOULD
		 * (buffers of at least 1526 bytes), so only advice */
		snprintf(got, sizeof(got), "%llu bytes", (unsigned long long)c->in_len);
		if (vt_device_negotiated(dev) & VT_BIT(VIRTIO_NET_F_MRG_RXBUF))
			vt_violation(vt_device_verdict(dev), "DRV-5.1.9.3.1", VT_WHO_DRIVER,
				     "room for a virtio_net_hdr", got,
				     "receive buffer %u cannot hold the %u-byte virtio_net_hdr",
				     c->head, hl);
		else
			vt_advice(vt_device_verdict(dev), "DRV-5.1.9.3.1", VT_WHO_DRIVER,
				  "receive buffer %u cannot hold the %u-byte virtio_net_hdr",
				  c->head, hl);
		return 0;
	}
	if (hl == VIRTIO_NET_HDR_LEN)
		pkt[10] = 1;                    /* num_buffers */
	memset(f, 0xff, 6);                     /* broadcast destination */
	memcpy(f + 6, net_mac, 6);
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xff;
	memcpy(f + 14, &s->rx_packets, sizeof(s->rx_packets));
	uint32_t n = hl + NET_FRAME_LEN;
	if (n > c->in_len)
		n = (uint32_t)c->in_len;        /* header only: a truncated frame */
	if (vt_chain_write(dev, c, 0, pkt, n))
		return 0;
	s->rx_packets++;
	return n;
}

static int net_handle(struct vt_device *dev, unsigned q, const struct vt_chain *c,
		      uint32_t *written)
{
	struct net_state *s = *vt_device_type_state(dev);

	if (q == VIRTIO_NET_TXQ) {
		check_tx_hdr(dev, c);
		s->tx_packets++;
		s->tx_bytes += c->out_len;
		*written = 0;
		return 0;
	}
	*written = fill_rx(dev, s, c);
	return 0;
}

static int net_config_field_feature(unsigned offset, unsigned width)
{
	(void)width;
	return offset >= 6 ? VIRTIO_NET_F_STATUS : VIRTIO_NET_F_MAC;
}

const struct vt_device_type vt_device_net = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.features = VT_BIT(VIRTIO_NET_F_MAC),
	.config_size = NET_CFG_SIZE,
	.init = net_init,
	.fini = net_fini,
	.handle = net_handle,
	.config_field_feature = net_config_field_feature,
	.wide = NULL,
	.nwide = 0,
};
