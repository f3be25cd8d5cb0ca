/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload_net.c - a network device carries frames (5.1): each request is
 * a virtio_net_hdr plus an Ethernet frame made available on the
 * transmitq (queue 1); the device under test loops it back (DPDK's io
 * forwarding on a port looped to itself) into a buffer on the receiveq
 * (queue 0).  Receive buffers are made available first and kept
 * available, so the device never has to drop a frame; at most as many
 * frames are in flight as there are receive buffers.
 *
 * Every received frame is judged: used length = header + frame, header
 * fields as 5.1.9.4 wants them when no offload was negotiated (flags 0,
 * gso_type NONE, num_buffers 1: DEV-5.1.9.4.1), and the frame byte for
 * byte the one sent, each frame received once (INV-data-integrity).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define ETH_HLEN         14
#define ETH_TYPE_VCTS    0x88b5 /* IEEE local experimental ethertype        */
#define NET_MIN_FRAME    (ETH_HLEN + 8)

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr) == VIRTIO_NET_HDR_LEN, "virtio_net_hdr is 12 bytes");

/* The device's MAC from its configuration, as destination; a locally
 * administered source. */
static const uint8_t src_mac[6] = { 0x02, 0x76, 0x63, 0x74, 0x73, 0x01 };

static uint32_t frame_len(const struct vt_pair *p)
{
	return p->cfg.buf_size - VIRTIO_NET_HDR_LEN;
}

/* Frame k: Ethernet header, k (le64), then the payload pattern of k. */
static void frame_build(struct vt_pair *p, uint8_t *fr, uint64_t k)
{
	uint32_t len = frame_len(p);
	for (unsigned i = 0; i < 6; i++)
		fr[i] = (uint8_t)p->t->ops->config_read(p->t, i, 1);
	memcpy(fr + 6, src_mac, 6);
	fr[12] = ETH_TYPE_VCTS >> 8;
	fr[13] = ETH_TYPE_VCTS & 0xff;
	uint64_t le = vt_put_le64(k);
	memcpy(fr + ETH_HLEN, &le, 8);
	vt_pair_fill(p, fr + NET_MIN_FRAME, len - NET_MIN_FRAME, k);
}

/* The slot's status byte (unused by this device type) marks whether its
 * receive buffer is with the device; setup() clears the marks after every
 * initialisation, when the driver has dropped every buffer. */
static uint8_t *rx_mark(struct vt_pair *p, unsigned s)
{
	return gmem_drv(p->gm, p->slots[s].status_gpa, 1);
}

struct net_run {
	struct vt_pair *p;
	unsigned n;
	uint64_t base;            /* request number of frame 0 of this run     */
	uint64_t sent, received;  /* frames made available / received           */
	uint64_t rx_low;          /* lowest frame not yet received               */
	uint8_t *seen;            /* received, per frame number mod nslots       */
	uint8_t *frame;           /* expected frame bytes                        */
};

static int rx_post(struct net_run *r, unsigned s)
{
	struct vt_pair *p = r->p;
	struct vt_buf in = { p->slots[s].in_gpa, p->cfg.buf_size };
	memset(gmem_drv(p->gm, in.gpa, in.len), 0xa5, in.len);   /* poison */
	int rc = p->drv->ops->add(p->drv, VIRTIO_NET_RXQ, NULL, 0, &in, 1, vt_pair_token(s));
	if (rc == 0)
		*rx_mark(p, s) = 1;
	return rc;
}

static int tx_submit(struct net_run *r, unsigned s)
{
	struct vt_pair *p = r->p;
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf out[VT_PAIR_MAX_SEGS + 1];
	uint64_t k = r->base + r->sent;

	memset(gmem_drv(p->gm, sl->hdr_gpa, VIRTIO_NET_HDR_LEN), 0, VIRTIO_NET_HDR_LEN);  /* no offloads */
	frame_build(p, gmem_drv(p->gm, sl->out_gpa, frame_len(p)), k);
	out[0] = (struct vt_buf){ sl->hdr_gpa, VIRTIO_NET_HDR_LEN };
	unsigned nout = 1 + vt_pair_split_segs(out + 1, sl->out_gpa, frame_len(p),
					       p->cfg.nseg_out);
	int rc = p->drv->ops->add(p->drv, VIRTIO_NET_TXQ, out, nout, NULL, 0, vt_pair_token(s));
	if (rc == 0) {
		sl->busy = true;
		sl->req = k;
		r->sent++;
	}
	return rc;
}

static int header_violation(struct vt_pair *p, const char *field, unsigned want, unsigned got)
{
	char e[16], g[16];
	snprintf(e, sizeof(e), "%u", want);
	snprintf(g, sizeof(g), "%u", got);
	return vt_violation(p->vd, "DEV-5.1.9.4.1", VT_WHO_DEVICE, e, g,
			    "received virtio_net_hdr: %s", field);
}

/* Judge the frame in receive buffer s. */
static int rx_verify(struct net_run *r, unsigned s, uint32_t len)
{
	struct vt_pair *p = r->p;
	const uint8_t *b = gmem_drv(p->gm, p->slots[s].in_gpa, p->cfg.buf_size);
	struct virtio_net_hdr h;
	char e[32], g[32];

	if (len != p->cfg.buf_size) {
		snprintf(e, sizeof(e), "%u", p->cfg.buf_size);
		snprintf(g, sizeof(g), "%u", len);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, e, g,
				    "received frame: used length (header + %u-byte frame)",
				    frame_len(p));
	}
	memcpy(&h, b, sizeof(h));
	if (h.flags != 0)
		return header_violation(p, "flags without GUEST_CSUM", 0, h.flags);
	if (h.gso_type != 0)
		return header_violation(p, "gso_type without GUEST_TSO/UFO", 0, h.gso_type);
	/* one buffer per frame: without MRG_RXBUF num_buffers must say 1; with
	 * it our frames fit one buffer, so 1 is all this workload takes */
	bool mrg = (p->drv->negotiated & VT_BIT(VIRTIO_NET_F_MRG_RXBUF)) != 0;
	if (vt_le16(h.num_buffers) != 1) {
		if (mrg)
			return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, "1", NULL,
					    "a frame spread over %u receive buffers",
					    vt_le16(h.num_buffers));
		return header_violation(p, "num_buffers without MRG_RXBUF", 1,
					vt_le16(h.num_buffers));
	}
	uint64_t k;
	memcpy(&k, b + VIRTIO_NET_HDR_LEN + ETH_HLEN, 8);
	k = vt_le64(k);
	uint64_t first = r->base + r->rx_low, end = r->base + r->sent;
	if (k < first || k >= end || r->seen[(k - r->base) % p->nslots]) {
		snprintf(g, sizeof(g), "frame %llu", (unsigned long long)k);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE,
				    "a frame sent and not yet received", g,
				    "received a frame never sent or received twice (in flight: "
				    "%llu..%llu)", (unsigned long long)first,
				    (unsigned long long)end - 1);
	}
	frame_build(p, r->frame, k);
	uint64_t i = vt_pair_first_diff(r->frame, b + VIRTIO_NET_HDR_LEN, frame_len(p));
	if (i != frame_len(p)) {
		snprintf(e, sizeof(e), "0x%02x", r->frame[i]);
		snprintf(g, sizeof(g), "0x%02x", b[VIRTIO_NET_HDR_LEN + i]);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, e, g,
				    "frame %llu came back different at byte %llu",
				    (unsigned long long)k, (unsigned long long)i);
	}
	r->seen[(k - r->base) % p->nslots] = 1;
	while (r->rx_low < r->sent && r->seen[r->rx_low % p->nslots]) {
		r->seen[r->rx_low % p->nslots] = 0;
		r->rx_low++;
	}
	r->received++;
	return 0;
}

/* Collect used buffers of queue q: transmitted frames free their slot,
 * received ones are judged and their buffer made available again. */
static int collect(struct net_run *r, unsigned q, bool *any)
{
	struct vt_pair *p = r->p;
	for (;;) {
		void *tok;
		uint32_t len;
		int g = p->drv->ops->get_used(p->drv, q, &tok, &len);
		if (g <= 0)
			return g;
		uintptr_t s1 = (uintptr_t)tok;
		if (s1 == 0 || s1 > p->nslots ||
		    (q == VIRTIO_NET_TXQ ? !p->slots[s1 - 1].busy : !*rx_mark(p, (unsigned)(s1 - 1))))
			return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
					    "driver returned an unknown token %p on queue %u", tok, q);
		*any = true;
		if (q == VIRTIO_NET_TXQ) {
			p->slots[s1 - 1].busy = false;
			continue;
		}
		*rx_mark(p, (unsigned)(s1 - 1)) = 0;
		if (rx_verify(r, (unsigned)(s1 - 1), len) || rx_post(r, (unsigned)(s1 - 1)) < 0)
			return -1;
	}
}

static int free_tx_slot(const struct vt_pair *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		if (!p->slots[i].busy)
			return (int)i;
	return -1;
}

static int net_loop(struct net_run *r)
{
	struct vt_pair *p = r->p;
	struct vt_driver *d = p->drv;
	unsigned idle_ms = 0;

	for (unsigned s = 0; s < p->nslots; s++)
		if (!*rx_mark(p, s) && rx_post(r, s))
			return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
					    "receive buffer %u could not be made available", s);
	d->ops->kick(d, VIRTIO_NET_RXQ);
	while (r->received < r->n) {
		bool added = false, any = false;
		int s;
		/* never more frames in flight than receive buffers */
		while (r->sent < r->n && r->sent - r->received < p->nslots &&
		       (s = free_tx_slot(p)) >= 0) {
			int rc = tx_submit(r, (unsigned)s);
			if (rc == 1)
				break;
			if (rc < 0)
				return -1;
			added = true;
		}
		if (added)
			d->ops->kick(d, VIRTIO_NET_TXQ);
		if (vt_verdict_failed(p->vd))
			return -1;
		int w = d->ops->wait_used(d, VIRTIO_NET_RXQ, 1);
		if (w < 0 || vt_verdict_failed(p->vd))
			return -1;
		if (collect(r, VIRTIO_NET_RXQ, &any) < 0 || collect(r, VIRTIO_NET_TXQ, &any) < 0)
			return -1;
		if (any) {
			d->ops->kick(d, VIRTIO_NET_RXQ);
			idle_ms = 0;
		} else if (++idle_ms >= p->cfg.timeout_ms) {
			return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
					    "%llu of %u frames not looped back after %u ms "
					    "(%llu sent)", (unsigned long long)(r->n - r->received),
					    r->n, p->cfg.timeout_ms, (unsigned long long)r->sent);
		}
	}
	/* wait for the last transmit completions so every slot is idle */
	for (unsigned ms = 0;; ms++) {
		bool any = false, idle = true;
		for (unsigned i = 0; i < p->nslots; i++)
			idle = idle && !p->slots[i].busy;
		if (idle)
			return 0;
		if (ms >= p->cfg.timeout_ms)
			return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
					    "transmitted frames not used after %u ms",
					    p->cfg.timeout_ms);
		if (d->ops->wait_used(d, VIRTIO_NET_TXQ, 1) < 0 || collect(r, VIRTIO_NET_TXQ, &any) < 0)
			return -1;
	}
}

static int net_setup(struct vt_pair *p)
{
	if (p->cfg.buf_size < VIRTIO_NET_HDR_LEN + NET_MIN_FRAME || p->cfg.nseg_out > frame_len(p))
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
				    "%u-byte buffers cannot hold a header and a frame",
				    p->cfg.buf_size);
	if (p->drv->nqueues < 2)
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
				    "network device with %u queues", p->drv->nqueues);
	for (unsigned s = 0; s < p->nslots; s++)
		*rx_mark(p, s) = 0;
	return 0;
}

static int net_run(struct vt_pair *p, unsigned n)
{
	struct net_run r = { .p = p, .n = n, .base = p->requests_done };
	r.seen = calloc(p->nslots, 1);
	r.frame = malloc(p->cfg.buf_size);
	int rc = -1;
	if (!r.seen || !r.frame)
		vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL, "out of memory");
	else
		rc = net_loop(&r);
	/* receive buffers still available stay with the device (marked) */
	free(r.seen);
	free(r.frame);
	if (rc == 0)
		p->requests_done += n;
	return rc;
}

static int net_submit(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase)
{
	(void)p;
	(void)s;
	(void)k;
	(void)phase;
	return -1;       /* run() drives both queues */
}

static int net_verify(struct vt_pair *p, unsigned s, uint32_t len, unsigned phase)
{
	(void)p;
	(void)s;
	(void)len;
	(void)phase;
	return -1;
}

const struct vt_workload vt_workload_net = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nphases = 1,
	.queue = VIRTIO_NET_TXQ,
	.setup = net_setup,
	.submit = net_submit,
	.verify = net_verify,
	.run = net_run,
};
