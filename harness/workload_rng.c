/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * workload_rng.c - an entropy device fills device-writable buffers (5.4):
 * each used buffer must report at least one byte and no more than the
 * buffer holds (DEV-5.4.6.2, DEV-2.7.8.2), the bytes it reports must have
 * been written (not the poison left there), and two buffers used one
 * after the other must not hold the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

#define RNG_POISON 0xa5

static int rng_submit(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf in[VT_PAIR_MAX_SEGS];

	(void)phase;
	sl->req = k;
	memset(gmem_drv(p->gm, sl->in_gpa, c->buf_size), RNG_POISON, c->buf_size);
	unsigned nin = vt_pair_split_segs(in, sl->in_gpa, c->buf_size, c->nseg_in);
	return p->drv->ops->add(p->drv, 0, NULL, 0, in, nin, vt_pair_token(s));
}

/* Bytes the device reported writing that still hold the poison: a run
 * of 8 is not chance (2^-64). */
static bool poison_run(const uint8_t *b, uint32_t len)
{
	unsigned run = 0;
	for (uint32_t i = 0; i < len; i++) {
		run = b[i] == RNG_POISON ? run + 1 : 0;
		if (run == 8)
			return true;
	}
	return false;
}

/* The previous used buffer: its bytes are in p->scratch. */
struct rng_prev {
	uint32_t len;
	bool valid;
};

static int rng_judge(struct vt_pair *p, unsigned s, uint32_t len, struct rng_prev *prev)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	const uint8_t *b = gmem_drv(p->gm, sl->in_gpa, c->buf_size);
	char exp[32], got[32];

	snprintf(got, sizeof(got), "%u", len);
	if (len == 0)
		return vt_violation(p->vd, "DEV-5.4.6.2", VT_WHO_DEVICE, "1 or more bytes", got,
				    "entropy request %llu used with no random bytes",
				    (unsigned long long)sl->req);
	if (len > c->buf_size) {
		snprintf(exp, sizeof(exp), "<= %u", c->buf_size);
		return vt_violation(p->vd, "DEV-2.7.8.2", VT_WHO_DEVICE, exp, got,
				    "entropy request %llu: used length beyond the buffer",
				    (unsigned long long)sl->req);
	}
	if (poison_run(b, len))
		return vt_violation(p->vd, "DEV-2.7.8.2", VT_WHO_DEVICE, "random bytes", "the poison",
				    "entropy request %llu: %u bytes reported written, but the "
				    "buffer still holds what the driver left there",
				    (unsigned long long)sl->req, len);
	uint32_t n = prev->len < len ? prev->len : len;
	if (prev->valid && n >= 8 && memcmp(p->scratch, b, n) == 0)
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, "fresh bytes",
				    "a repeat", "entropy request %llu holds the same %u bytes as "
				    "the buffer used before it", (unsigned long long)sl->req, n);
	memcpy(p->scratch, b, len);
	prev->len = len;
	prev->valid = true;
	return 0;
}

/* Keep up to `depth` buffers with the device until n came back. */
static int rng_run(struct vt_pair *p, unsigned n)
{
	struct vt_driver *d = p->drv;
	struct rng_prev prev = { 0, false };
	unsigned submitted = 0, completed = 0;

	while (completed < n) {
		bool added = false;
		for (unsigned s = 0; s < p->nslots && submitted < n; s++) {
			if (p->slots[s].busy)
				continue;
			int rc = rng_submit(p, s, p->requests_done + submitted, 0);
			if (rc < 0)
				return -1;
			if (rc == 1)
				break;
			p->slots[s].busy = true;
			submitted++;
			added = true;
		}
		if (added)
			d->ops->kick(d, 0);
		int w = d->ops->wait_used(d, 0, p->cfg.timeout_ms);
		if (w < 0 || vt_verdict_failed(p->vd))
			return -1;
		if (w == 0)
			return vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE, NULL, NULL,
					    "%u entropy requests still outstanding after %u ms",
					    submitted - completed, p->cfg.timeout_ms);
		void *tok;
		uint32_t len;
		int g;
		while ((g = d->ops->get_used(d, 0, &tok, &len)) == 1) {
			uintptr_t s1 = (uintptr_t)tok;
			if (s1 == 0 || s1 > p->nslots || !p->slots[s1 - 1].busy)
				return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, NULL,
						    NULL, "driver returned an unknown token %p", tok);
			p->slots[s1 - 1].busy = false;
			if (rng_judge(p, (unsigned)(s1 - 1), len, &prev))
				return -1;
			completed++;
		}
		if (g < 0)
			return -1;
	}
	p->requests_done += n;
	return 0;
}

const struct vt_workload vt_workload_rng = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nphases = 1,
	.queue = 0,
	.run = rng_run,
};
