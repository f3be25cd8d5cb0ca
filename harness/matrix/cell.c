/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cell.c - run one matrix cell and judge it against the oracle.
 *
 * The strict reference driver and the checking device take their policy
 * from the profile (what a secure guest does without ACCESS_PLATFORM, when
 * the device refuses, the proposal's bit and rules, the DMA width), meet in
 * guest memory laid out across the address-width boundaries, and run a
 * few requests with one slot in every memory region.  What happened is then
 * compared with what the oracle says must happen, as subtests:
 *   negotiation          outcome, who refused, the negotiated bits
 *   INV-unshared-access  no private page touched (accessor + access log)
 *   INV-dma-width        no device address at or above 2^width
 *   INV-iommu-fault      every translated access through a live mapping
 *   identity             the 1:1 promise: complete, unchanged until reset
 *   no-translation       never with ACCESS_PLATFORM; nothing translated
 *   bounce-anyway        every buffer bounced through shared memory
 *   clauses              no other rule broken by either side
 *   data-integrity       every request came back byte for byte
 * A hazard (the profile lets an invariant break) turns the breach into a
 * TODO; a hazard that does not show is an XPASS, which fails the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "matrix.h"
#include "../pair.h"

#define CELL_NREQ_PER_SLOT 2

/* ---- watching the status the driver writes -------------------------------- */

/* The transport's ops with set_status recorded: the cell learns whether
 * FEATURES_OK was ever written (who refused) without the driver's help. */
struct watch {
	struct vt_transport_ops ops;
	const struct vt_transport_ops *inner;
	uint8_t written;            /* OR of every status value written */
};

static void watch_set_status(struct vt_transport *t, uint8_t status)
{
	struct watch *w = (struct watch *)((char *)t->ops - offsetof(struct watch, ops));
	w->written |= status;
	w->inner->set_status(t, status);
}

static void watch_attach(struct watch *w, struct vt_transport *t)
{
	w->inner = t->ops;
	w->ops = *t->ops;
	w->ops.set_status = watch_set_status;
	w->written = 0;
	t->ops = &w->ops;
}

static void watch_detach(struct watch *w, struct vt_transport *t)
{
	if (t && t->ops == &w->ops)
		t->ops = w->inner;
}

/* ---- cell -> pair ---------------------------------------------------------- */

static void cell_cfg(const struct vt_profile *p, const struct vt_mx_cell *c,
		     const struct vt_mx_faults *f, struct vt_pair_cfg *cfg)
{
	bool secure = c->v[MX_SECURE];
	unsigned tr = c->v[MX_TRANSLATION];
	unsigned width = vt_mx_width_bits(c);
	uint64_t prop = p->proposal != MX_PROPOSAL_NONE ? VT_BIT(p->proposal_bit) : 0;
	uint64_t ap = VT_BIT(VIRTIO_F_ACCESS_PLATFORM);

	vt_pair_cfg_default(cfg);
	cfg->type = c->v[MX_DEVICE] == MX_DEV_BLK ? &vt_device_blk : &vt_device_echo;

	uint64_t f_ring = VT_BIT(VIRTIO_F_VERSION_1);
	if (c->v[MX_RING] == MX_PACKED)
		f_ring |= VT_BIT(VIRTIO_F_RING_PACKED);
	if (c->v[MX_EVENT_IDX])
		f_ring |= VT_BIT(VIRTIO_F_EVENT_IDX);
	if (c->v[MX_INDIRECT])
		f_ring |= VT_BIT(VIRTIO_F_INDIRECT_DESC);

	/* Device: offers what the cell says, refuses as the profile says. */
	cfg->dev.offer = f_ring;
	if (c->v[MX_AP_OFFER])
		cfg->dev.offer |= ap;
	if (c->v[MX_PROP_OFFER])
		cfg->dev.offer |= prop;
	bool restricted = vt_mx_access_restricted(c);
	if (c->v[MX_AP_OFFER] && (p->device_refuse == MX_DEVREF_ALWAYS ||
				  (p->device_refuse == MX_DEVREF_RESTRICTED && restricted))) {
		if (p->proposal == MX_PROPOSAL_NO_TRANSLATION && c->v[MX_PROP_OFFER])
			/* confined either way: refuse only when neither is taken */
			cfg->dev.conflict[cfg->dev.nconflict++] =
				(struct vt_feature_conflict){ ap | prop, 0, NULL };
		else
			cfg->dev.require_acked |= ap;
	}
	if (p->proposal == MX_PROPOSAL_IDENTITY_ADDRESS) {
		cfg->dev.conflict[cfg->dev.nconflict++] =
			(struct vt_feature_conflict){ ap | prop, prop, "PROP-ia-needs-ap" };
		cfg->dev.identity_bit = (int)p->proposal_bit;
		cfg->dev.identity_check_features_ok = p->identity_map == MX_IDMAP_FEATURES_OK;
	}
	if (p->proposal == MX_PROPOSAL_NO_TRANSLATION)
		cfg->dev.conflict[cfg->dev.nconflict++] =
			(struct vt_feature_conflict){ ap | prop, ap | prop, "PROP-nt-exclusive" };
	cfg->dev.fault = (enum vt_dev_fault)f->dev;

	/* Driver: knows what the cell says, follows the profile. */
	cfg->drv.features = f_ring;
	cfg->drv.accept_access_platform = c->v[MX_AP_ACCEPT];
	cfg->drv.dma = (tr == MX_TR_IOMMU39 || tr == MX_TR_IOMMU48) ? VT_DMA_IOMMU : VT_DMA_DIRECT;
	cfg->drv.device_addr_width = width;
	cfg->drv.use_indirect = c->v[MX_INDIRECT];
	static const enum vt_secure_no_ap secure_no_ap[] = {
		[MX_SECURE_PROCEED] = VT_SECURE_NO_AP_PROCEED,
		[MX_SECURE_REFUSE] = VT_SECURE_NO_AP_REFUSE,
		[MX_SECURE_BOUNCE] = VT_SECURE_NO_AP_BOUNCE,
	};
	cfg->drv.secure_no_ap = secure_no_ap[p->secure_no_ap];
	cfg->drv.ignore_addr_width = p->driver_width == MX_WIDTH_IGNORE;
	cfg->drv.identity_bit = p->proposal == MX_PROPOSAL_IDENTITY_ADDRESS ?
				(int)p->proposal_bit : -1;
	cfg->drv.no_translation_bit = p->proposal == MX_PROPOSAL_NO_TRANSLATION ?
				      (int)p->proposal_bit : -1;
	cfg->drv.accept_proposal = c->v[MX_PROP_ACCEPT];
	cfg->drv.identity_before_features_ok = p->identity_map == MX_IDMAP_FEATURES_OK;
	cfg->drv.identity_width_limited = p->identity_width_limited;
	cfg->drv.fault = (enum vt_drv_fault)f->drv;

	/* Platform and memory. */
	cfg->secure = secure;
	cfg->iommu_aw = vt_mx_iommu_aw(c);
	cfg->iommu_identity = tr == MX_TR_IDENTITY;
	cfg->dev_width = width;
	cfg->high_mem = true;
	cfg->above_48 = true;
	cfg->shared_region = true;
	cfg->buf_spread = true;
	cfg->ram_mb = 4;
	cfg->nseg_out = cfg->nseg_in = c->v[MX_INDIRECT] ? 2 : 1;
	cfg->buf_size = c->v[MX_DEVICE] == MX_DEV_BLK ? 512 : 64;
	cfg->timeout_ms = 1000;
}

/* ---- judging --------------------------------------------------------------- */

/* dst = a then b, cut to fit (messages are one line; a cut one still says
 * what went wrong). */
static void put_text(char *dst, size_t n, const char *a, const char *b)
{
	size_t la = strnlen(a, n - 1);
	memcpy(dst, a, la);
	size_t lb = strnlen(b, n - 1 - la);
	memcpy(dst + la, b, lb);
	dst[la + lb] = '\0';
}

static struct vt_mx_sub *sub_add(struct vt_mx_result *r, const char *name)
{
	if (r->nsub >= MX_MAX_SUB)
		return NULL;
	struct vt_mx_sub *s = &r->sub[r->nsub++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->outcome = VT_PASS;
	return s;
}

static const char *who_name(enum vt_who w)
{
	switch (w) {
	case VT_WHO_DRIVER: return "driver";
	case VT_WHO_DEVICE: return "device";
	default:            return "harness";
	}
}

static void sub_finding(struct vt_mx_sub *s, const struct vt_violation *v)
{
	s->has_finding = true;
	snprintf(s->rule, sizeof(s->rule), "%s", v->rule);
	snprintf(s->who, sizeof(s->who), "%s", who_name(v->who));
	snprintf(s->expected, sizeof(s->expected), "%s", v->expected);
	snprintf(s->got, sizeof(s->got), "%s", v->got);
	snprintf(s->message, sizeof(s->message), "%s", v->msg);
	s->has_addr = v->has_addr;
	s->addr = v->addr;
	s->gpa = v->gpa;
}

static void sub_fail(struct vt_mx_sub *s, const char *rule, const char *expected,
		     const char *got, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void sub_fail(struct vt_mx_sub *s, const char *rule, const char *expected,
		     const char *got, const char *fmt, ...)
{
	va_list ap;
	s->outcome = VT_FAIL;
	s->has_finding = true;
	snprintf(s->rule, sizeof(s->rule), "%s", rule ? rule : "");
	snprintf(s->who, sizeof(s->who), "harness");
	snprintf(s->expected, sizeof(s->expected), "%s", expected ? expected : "");
	snprintf(s->got, sizeof(s->got), "%s", got ? got : "");
	va_start(ap, fmt);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
	va_end(ap);
	put_text(s->detail, sizeof(s->detail), "", s->message);
}

/* The first MUST-level violation whose rule is one of `rules` (NULL-ended). */
static const struct vt_violation *find_violation(const struct vt_verdict *vd,
						 const char *const *rules)
{
	for (unsigned i = 0; i < vd->n; i++) {
		if (vd->v[i].sev != VT_SEV_MUST)
			continue;
		for (const char *const *r = rules; *r; r++)
			if (strcmp(vd->v[i].rule, *r) == 0)
				return &vd->v[i];
	}
	return NULL;
}

/* An invariant subtest: its violations fail it, unless the profile lets
 * it break (hazard): then the breach is a TODO and its absence, for the
 * cell's first hazard, an XPASS. */
static void judge_invariant(struct vt_mx_result *r, const struct vt_verdict *vd,
			    const char *name, unsigned inv, const char *const *rules)
{
	struct vt_mx_sub *s = sub_add(r, name);
	if (!s)
		return;
	const struct vt_violation *v = find_violation(vd, rules);
	bool hazard = (r->exp.hazards & inv) != 0;
	if (v) {
		sub_finding(s, v);
		if (hazard) {
			s->outcome = VT_XFAIL;
			put_text(s->detail, sizeof(s->detail), "profile permits it: ", r->exp.hazard_why);
		} else {
			s->outcome = VT_FAIL;
			put_text(s->detail, sizeof(s->detail), "", v->msg);
		}
	} else if (hazard && r->exp.hazard && strcmp(r->exp.hazard, rules[0]) == 0) {
		s->outcome = VT_XPASS;
		snprintf(s->detail, sizeof(s->detail),
			 "the profile lets %s break here, but no breach was seen", rules[0]);
	}
}

static void hex_features(char *buf, size_t len, uint64_t f)
{
	snprintf(buf, len, "0x%llx", (unsigned long long)f);
}

static void judge_negotiation(struct vt_mx_result *r, const struct vt_verdict *vd,
			      uint8_t written)
{
	struct vt_mx_sub *s = sub_add(r, "negotiation");
	const struct vt_mx_expected *e = &r->exp;
	char want[64], got[64];

	if (r->got != e->outcome) {
		/* A refusal the device explains (a driver that asked for a
		 * forbidden combination) names that rule. */
		for (unsigned i = 0; i < vd->n; i++)
			if (vd->v[i].sev == VT_SEV_MUST && strncmp(vd->v[i].rule, "PROP-", 5) == 0) {
				sub_finding(s, &vd->v[i]);
				s->outcome = VT_FAIL;
				put_text(s->detail, sizeof(s->detail), "", vd->v[i].msg);
				return;
			}
		sub_fail(s, e->rule[0] ? e->rule : "DRV-3.1.1", vt_mx_outcome_name(e->outcome),
			 vt_mx_outcome_name(r->got), "expected %s (%s), observed %s (status 0x%02x)",
			 vt_mx_outcome_name(e->outcome), e->why, vt_mx_outcome_name(r->got),
			 r->status);
		return;
	}
	if (e->outcome == MX_LIVE) {
		if (r->features != e->features) {
			hex_features(want, sizeof(want), e->features);
			hex_features(got, sizeof(got), r->features);
			sub_fail(s, "DRV-2.2.1", want, got,
				 "negotiated features differ from the profile's (diff 0x%llx)",
				 (unsigned long long)(r->features ^ e->features));
		}
		return;
	}
	/* Refused: FAILED set, DRIVER_OK never, nothing served. */
	if (!(r->status & VIRTIO_STATUS_FAILED) || (written & VIRTIO_STATUS_DRIVER_OK) ||
	    r->requests) {
		snprintf(got, sizeof(got), "status 0x%02x, %llu requests", r->status,
			 (unsigned long long)r->requests);
		sub_fail(s, "DRV-2.1.1", "FAILED, no DRIVER_OK, no requests", got,
			 "a refused cell must end with FAILED set and nothing run");
	}
}

static void judge_live(const struct vt_profile *p, struct vt_mx_result *r, const struct vt_verdict *vd,
		       const struct vt_dma_stats *st, uint64_t iommu_maps_expected)
{
	const struct vt_mx_expected *e = &r->exp;

	if (e->invariants & MX_INV_UNSHARED) {
		static const char *const rules[] = { "INV-unshared-access", NULL };
		judge_invariant(r, vd, "INV-unshared-access", MX_INV_UNSHARED, rules);
		struct vt_mx_sub *s = &r->sub[r->nsub - 1];
		/* The access log is the proof: no private page was touched. */
		if (s->outcome == VT_PASS && r->private_pages)
			sub_fail(s, "INV-unshared-access", "0 private pages", "touched",
				 "access log: the device touched %llu private pages",
				 (unsigned long long)r->private_pages);
	}
	if (e->invariants & MX_INV_WIDTH) {
		static const char *const rules[] = { "INV-dma-width", NULL };
		judge_invariant(r, vd, "INV-dma-width", MX_INV_WIDTH, rules);
	}
	if (e->invariants & MX_INV_IOMMU) {
		static const char *const rules[] = { "INV-iommu-fault", "INV-iommu-bypass", NULL };
		judge_invariant(r, vd, "INV-iommu-fault", MX_INV_IOMMU, rules);
		struct vt_mx_sub *s = &r->sub[r->nsub - 1];
		if (s->outcome == VT_PASS && e->addressing == MX_ADDR_IOVA && !iommu_maps_expected)
			sub_fail(s, "DRV-6.1", "IOVAs mapped", "none",
				 "ACCESS_PLATFORM behind an IOMMU, but the driver mapped nothing");
	}
	if (e->invariants & MX_INV_IDENTITY) {
		static const char *const rules[] = { "PROP-ia-complete-map", "INV-iommu-changed",
						     NULL };
		judge_invariant(r, vd, "identity", MX_INV_IDENTITY, rules);
	}
	if (e->invariants & MX_INV_NO_TRANSL) {
		static const char *const rules[] = { "PROP-nt-exclusive", "PROP-nt-untranslated",
						     NULL };
		judge_invariant(r, vd, "no-translation", MX_INV_NO_TRANSL, rules);
		struct vt_mx_sub *s = &r->sub[r->nsub - 1];
		uint64_t both = VT_BIT(VIRTIO_F_ACCESS_PLATFORM) | (p->proposal != MX_PROPOSAL_NONE ? VT_BIT(p->proposal_bit) : 0);
		if (s->outcome == VT_PASS && (r->features & both) == both)
			sub_fail(s, "PROP-nt-exclusive", "not both", "both negotiated",
				 "NO_TRANSLATION and ACCESS_PLATFORM negotiated together");
		else if (s->outcome == VT_PASS && (r->features & both) == (both & ~VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) &&
			 st->iommu_maps)
			sub_fail(s, "PROP-nt-untranslated", "no IOMMU mappings", "mapped",
				 "NO_TRANSLATION negotiated, yet the driver mapped %llu IOVAs",
				 (unsigned long long)st->iommu_maps);
	}
	if (e->invariants & MX_INV_BOUNCE) {
		struct vt_mx_sub *s = sub_add(r, "bounce-anyway");
		if (s && (st->bounces == 0 || st->bounces != st->maps)) {
			char want[64], got[64];
			snprintf(want, sizeof(want), "%llu of %llu bounced",
				 (unsigned long long)st->maps, (unsigned long long)st->maps);
			snprintf(got, sizeof(got), "%llu", (unsigned long long)st->bounces);
			sub_fail(s, "PROP-ba-bounce", want, got,
				 "secure guest without ACCESS_PLATFORM: not every buffer bounced");
		}
	}
}

/* MUST-level violations outside the invariants the subtests own. */
static bool owned_rule(const char *rule)
{
	static const char *const owned[] = {
		"INV-unshared-access", "INV-dma-width", "INV-iommu-fault", "INV-iommu-bypass",
		"PROP-ia-complete-map", "INV-iommu-changed", "PROP-nt-exclusive",
		"PROP-nt-untranslated", "INV-data-integrity", NULL
	};
	for (const char *const *o = owned; *o; o++)
		if (strcmp(rule, *o) == 0)
			return true;
	return false;
}

static void judge_clauses(struct vt_mx_result *r, const struct vt_verdict *vd)
{
	struct vt_mx_sub *s = sub_add(r, "clauses");
	if (!s)
		return;
	for (unsigned i = 0; i < vd->n; i++) {
		const struct vt_violation *v = &vd->v[i];
		if (v->sev != VT_SEV_MUST || owned_rule(v->rule))
			continue;
		/* a negotiation subtest already named a refusal's rule */
		if (strncmp(v->rule, "PROP-", 5) == 0 && r->got != MX_LIVE)
			continue;
		/* a hazard's consequences are the hazard's */
		if (r->exp.hazards && strcmp(v->rule, "INV-transport") == 0)
			continue;
		sub_finding(s, v);
		s->outcome = VT_FAIL;
		put_text(s->detail, sizeof(s->detail), "", v->msg);
		return;
	}
}

static void judge_integrity(struct vt_mx_result *r, const struct vt_verdict *vd, int io_rc,
			    unsigned nreq)
{
	struct vt_mx_sub *s = sub_add(r, "data-integrity");
	if (!s)
		return;
	static const char *const rules[] = { "INV-data-integrity", NULL };
	const struct vt_violation *v = find_violation(vd, rules);
	if (io_rc == 0 && !v && r->requests == nreq)
		return;
	if (v)
		sub_finding(s, v);
	/* The first broken rule stops the run: the requests after it say
	 * nothing more (that rule's own subtest reports it). */
	const struct vt_violation *first = NULL;
	for (unsigned i = 0; i < vd->n && !first; i++)
		if (vd->v[i].sev == VT_SEV_MUST)
			first = &vd->v[i];
	if (!v && first) {
		s->outcome = VT_SKIP;
		snprintf(s->detail, sizeof(s->detail), "I/O stopped at %s", first->rule);
		return;
	}
	if (r->exp.hazards) {
		s->outcome = VT_XFAIL;
		put_text(s->detail, sizeof(s->detail), "follows from the hazard: ", r->exp.hazard_why);
		return;
	}
	s->outcome = VT_FAIL;
	if (!v) {
		char want[64], got[64];
		snprintf(want, sizeof(want), "%u requests", nreq);
		snprintf(got, sizeof(got), "%llu", (unsigned long long)r->requests);
		sub_fail(s, "INV-data-integrity", want, got,
			 "not every request came back verified");
	} else {
		put_text(s->detail, sizeof(s->detail), "", v->msg);
	}
}

/* ---- the run ----------------------------------------------------------------- */

static void finish_outcome(struct vt_mx_result *r)
{
	r->outcome = VT_PASS;
	for (unsigned i = 0; i < r->nsub; i++)
		if (vt_outcome_failed(r->sub[i].outcome))
			r->outcome = VT_FAIL;
}

void vt_mx_run_cell(const struct vt_profile *p, const struct vt_mx_cell *c,
		    const struct vt_mx_faults *f, struct vt_mx_result *r)
{
	static const struct vt_mx_faults none;
	struct vt_pair_cfg cfg;
	struct vt_verdict vd;
	struct vt_pair pair;
	struct watch w;
	char err[160];

	uint64_t index = r->index;
	memset(r, 0, sizeof(*r));
	r->index = index;
	r->cell = *c;
	vt_mx_oracle(p, c, &r->exp);
	if (r->exp.outcome == MX_CELL_SKIP) {
		r->outcome = VT_SKIP;
		snprintf(r->detail, sizeof(r->detail), "%s", r->exp.why);
		return;
	}
	cell_cfg(p, c, f ? f : &none, &cfg);
	vt_verdict_init(&vd);
	if (vt_pair_open(&pair, &cfg, &vd, err, sizeof(err)) != 0) {
		r->outcome = VT_BROKEN;
		snprintf(r->detail, sizeof(r->detail), "%s", err);
		return;
	}
	watch_attach(&w, pair.t);

	unsigned nreq = pair.nslots * CELL_NREQ_PER_SLOT;
	int rc = vt_pair_init(&pair);
	int io_rc = -1;
	r->status = pair.t->ops->get_status(pair.t);
	r->features = pair.drv->negotiated & vt_mx_feature_mask(p);
	if (rc == 0) {
		r->got = MX_LIVE;
		if (!vt_verdict_failed(&vd))
			io_rc = vt_pair_io(&pair, nreq);
		r->requests = pair.requests_done;
		if (!vt_verdict_failed(&vd))
			pair.drv->ops->reset(pair.drv);
	} else {
		r->got = (w.written & VIRTIO_STATUS_FEATURES_OK) ? MX_DEVICE_REFUSES
								   : MX_DRIVER_REFUSES;
		if (pair.dev)
			r->requests = vt_device_requests(pair.dev);
	}
	struct vt_dma_stats st;
	vt_ref_driver_dma_stats(pair.drv, &st);
	r->bounces = st.bounces;
	r->private_pages = gmem_log_count(pair.gm, true);

	judge_negotiation(r, &vd, w.written);
	if (r->got == MX_LIVE && r->exp.outcome == MX_LIVE) {
		judge_live(p, r, &vd, &st, st.iommu_maps);
		judge_clauses(r, &vd);
		judge_integrity(r, &vd, io_rc, nreq);
	} else {
		judge_clauses(r, &vd);
	}
	finish_outcome(r);

	watch_detach(&w, pair.t);
	vt_pair_close(&pair);
}
