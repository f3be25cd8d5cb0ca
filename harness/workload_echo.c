/* SPDX-License-Identifier: GPL-2.0-or-later */
/* workload_echo.c - the echo device returns every payload byte for byte. */
#include <stdio.h>
#include <string.h>

#include "workload.h"

static int echo_submit(struct vt_pair *p, unsigned s, uint64_t k, unsigned phase)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	struct vt_buf out[VT_PAIR_MAX_SEGS], in[VT_PAIR_MAX_SEGS];

	(void)phase;
	memset(gmem_drv(p->gm, sl->in_gpa, c->buf_size), 0xa5, c->buf_size);   /* poison */
	vt_pair_fill(p, gmem_drv(p->gm, sl->out_gpa, c->buf_size), c->buf_size, k);
	unsigned nout = vt_pair_split_segs(out, sl->out_gpa, c->buf_size, c->nseg_out);
	unsigned nin = vt_pair_split_segs(in, sl->in_gpa, c->buf_size, c->nseg_in);
	return p->drv->ops->add(p->drv, 0, out, nout, in, nin, vt_pair_token(s));
}

static int echo_verify(struct vt_pair *p, unsigned s, uint32_t len, unsigned phase)
{
	const struct vt_pair_cfg *c = &p->cfg;
	struct vt_pair_slot *sl = &p->slots[s];
	const uint8_t *inp = gmem_drv(p->gm, sl->in_gpa, c->buf_size);
	const uint8_t *outp = gmem_drv(p->gm, sl->out_gpa, c->buf_size);
	char exp[32], got[32];

	(void)phase;
	if (len != c->buf_size) {
		snprintf(exp, sizeof(exp), "%u", c->buf_size);
		snprintf(got, sizeof(got), "%u", len);
		return vt_violation(p->vd, "INV-data-integrity", VT_WHO_DEVICE, exp, got,
				    "echo request %llu: used length", (unsigned long long)sl->req);
	}
	uint64_t i = vt_pair_first_diff(outp, inp, c->buf_size);
	if (i == c->buf_size)
		return 0;
	/* Several writable descriptors filled out of order break the packed
	 * list-order rule; anything else is corruption. */
	const char *rule = (c->nseg_in > 1 && p->drv->packed) ? "DEV-2.8.18" : "INV-data-integrity";
	snprintf(exp, sizeof(exp), "0x%02x", outp[i]);
	snprintf(got, sizeof(got), "0x%02x", inp[i]);
	return vt_violation(p->vd, rule, VT_WHO_DEVICE, exp, got,
			    "echo of request %llu differs at byte %llu",
			    (unsigned long long)sl->req, (unsigned long long)i);
}

const struct vt_workload vt_workload_echo = {
	.name = "echo",
	.device_id = VIRTIO_ID_VCTS_ECHO,
	.nphases = 1,
	.submit = echo_submit,
	.verify = echo_verify,
};
