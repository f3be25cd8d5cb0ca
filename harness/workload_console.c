/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload_console.c - a console device (5.3), port 0: what the driver
 * puts on transmitq0 (queue 1) leaves through the port's backend, and
 * what comes in arrives in the buffers on receiveq0 (queue 0).  The
 * backend loops back, so every transmitted byte must come back, in
 * order, unchanged, however the device cuts the stream into receive
 * buffers (INV-data-integrity); a used receive buffer reports no more
 * than it holds and a transmit buffer nothing written (DEV-2.7.8.2).
 */
#include <stdio.h>
#include <string.h>

#include "workload.h"

#define CON_RX 0
#define CON_TX 1
#define CON_POISON 0xa5
#define CON_TX_TOKEN ((void *)(uintptr_t)0x7f7f)
#define CON_LOOP_MS  1000   /* bytes in a local loopback come back in far less */

struct con_state {
	uint64_t tx_bytes;      /* bytes transmitted (and used) so far       */
	uint64_t rx_bytes;      /* bytes that came back so far               */
	uint64_t msg;           /* message whose bytes are in p->scratch     */
	bool have_msg;
};

static int post_rx(struct vt_pair *p, unsigned s)
{
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf in[VT_PAIR_MAX_SEGS];
	memset(gmem_drv(p->gm, sl->in_gpa, p->cfg.buf_size), CON_POISON, p->cfg.buf_size);
	unsigned nin = vt_pair_split_segs(in, sl->in_gpa, p->cfg.buf_size, p->cfg.nseg_in);
	int rc = p->drv->ops->add(p->drv, CON_RX, NULL, 0, in, nin, vt_pair_token(s));
	if (rc == 0)
		sl->busy = true;
	return rc;
}

/* Compare len received bytes at stream position rx_bytes. */
static int check_rx(struct vt_pair *p, struct con_state *st, const uint8_t *b, uint32_t len)
{
	uint32_t sz = p->cfg.buf_size;
	for (uint32_t done = 0; done < len;) {
		uint64_t k = st->rx_bytes / sz, i = st->rx_bytes % sz;
		if (!st->have_msg || st->msg != k) {
			vt_pair_fill(p, p->scratch, sz, k);
			st->msg = k;
			st->have_msg = true;
		}
		uint32_t n = (uint32_t)(sz - i) < len - done ? (uint32_t)(sz - i) : len - done;
		uint64_t d = vt_pair_first_diff(p->scratch + i, b + done, n);
		if (d != n) {
			char exp[16], got[16];
			snprintf(exp, sizeof(exp), "0x%02x", p->scratch[i + d]);
			snprintf(got, sizeof(got), "0x%02x", b[done + d]);
			return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
					    "console byte %llu of the stream (message %llu, byte %llu) "
					    "came back wrong", (unsigned long long)(st->rx_bytes + d),
					    (unsigned long long)k, (unsigned long long)(i + d));
		}
		done += n;
		st->rx_bytes += n;
	}
	return 0;
}

/* Collect every used buffer of queue q. */
static int collect(struct vt_pair *p, unsigned q, struct con_state *st)
{
	void *tok;
	uint32_t len;
	int g;
	while ((g = p->drv->ops->get_used(p->drv, q, &tok, &len)) == 1) {
		char got[24];
		snprintf(got, sizeof(got), "%u", len);
		if (q == CON_TX) {
			if (tok != CON_TX_TOKEN)
				return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
						    "transmit token %p unknown", tok);
			st->tx_bytes += p->cfg.buf_size;
			continue;
		}
		uintptr_t s1 = (uintptr_t)tok;
		if (s1 == 0 || s1 > p->nslots || !p->slots[s1 - 1].busy)
			return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL, NULL,
					    "receive token %p unknown", tok);
		struct vt_pair_slot *sl = &p->slots[s1 - 1];
		sl->busy = false;
		if (len > p->cfg.buf_size)
			return vt_violation(p->vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "<= buffer size", got,
					    "receive buffer used with more bytes than it holds");
		if (len > st->tx_bytes - st->rx_bytes)
			return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE,
					    "no more than was sent", got,
					    "receive buffer holds bytes nobody transmitted");
		if (check_rx(p, st, gmem_drv(p->gm, sl->in_gpa, p->cfg.buf_size), len))
			return -1;
		if (post_rx(p, (unsigned)(s1 - 1)) < 0)
			return -1;
	}
	return g < 0 ? -1 : 0;
}

/* Wait on queue q and collect; 0 on progress, -1 on a violation or stall. */
static int wait_collect(struct vt_pair *p, unsigned q, struct con_state *st, const char *what)
{
	unsigned ms = q == CON_RX && p->cfg.timeout_ms > CON_LOOP_MS ? CON_LOOP_MS : p->cfg.timeout_ms;
	int w = p->drv->ops->wait_used(p->drv, q, ms);
	if (w < 0 || vt_verdict_failed(p->vd))
		return -1;
	if (w == 0)
		return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
				    "console: %s within %u ms (%llu bytes sent, %llu came back)",
				    what, ms, (unsigned long long)st->tx_bytes,
				    (unsigned long long)st->rx_bytes);
	return collect(p, q, st);
}

static int con_run(struct vt_pair *p, unsigned n)
{
	struct vt_driver *d = p->drv;
	struct vt_pair_slot *tx = &p->slots[0];
	struct con_state st = { 0, 0, 0, false };
	uint32_t sz = p->cfg.buf_size;

	for (unsigned s = 0; s < p->nslots; s++)
		if (!p->slots[s].busy && post_rx(p, s) < 0)
			return -1;
	d->ops->kick(d, CON_RX);
	for (unsigned k = 0; k < n; k++) {
		struct vt_buf out[VT_PAIR_MAX_SEGS];
		vt_pair_fill(p, gmem_drv(p->gm, tx->out_gpa, sz), sz, k);
		unsigned nout = vt_pair_split_segs(out, tx->out_gpa, sz, p->cfg.nseg_out);
		uint64_t sent = st.tx_bytes;
		if (d->ops->add(d, CON_TX, out, nout, NULL, 0, CON_TX_TOKEN) != 0)
			return -1;
		d->ops->kick(d, CON_TX);
		while (st.tx_bytes == sent)
			if (wait_collect(p, CON_TX, &st, "transmit buffer not used"))
				return -1;
		d->ops->kick(d, CON_RX);
		while (st.rx_bytes < st.tx_bytes) {
			if (wait_collect(p, CON_RX, &st, "bytes did not come back"))
				return -1;
			d->ops->kick(d, CON_RX);
		}
	}
	p->requests_done += n;
	return 0;
}

const struct vt_workload vt_workload_console = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nphases = 1,
	.queue = CON_RX,
	.run = con_run,
};
