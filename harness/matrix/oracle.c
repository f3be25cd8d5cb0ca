/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oracle.c - what must happen in a cell under a profile.
 *
 * The order follows the driver's initialisation: it reads the offered
 * features and chooses its subset (ACCESS_PLATFORM when offered and known,
 * the proposed bit under the proposal's own rules), a secure guest may
 * then refuse before FEATURES_OK, the device may refuse at FEATURES_OK,
 * and a live cell hands the device addresses in one of three ways.  The
 * hazards are the cells the profile lets run although the device cannot
 * stay inside what it may touch: a secure guest that proceeds without
 * ACCESS_PLATFORM (private memory reaches the device), and addresses above
 * the device's DMA width that nothing bounced.
 */
#include <stdio.h>
#include <string.h>

#include "matrix.h"
#include "../virtio.h"

const char *vt_mx_outcome_name(enum vt_mx_outcome o)
{
	switch (o) {
	case MX_LIVE:           return "live";
	case MX_DRIVER_REFUSES: return "driver-refuses";
	case MX_DEVICE_REFUSES: return "device-refuses";
	case MX_CELL_SKIP:      return "skip";
	default:                return "?";
	}
}

uint64_t vt_mx_feature_mask(const struct vt_profile *p)
{
	uint64_t m = MX_FEATURE_MASK_BASE;
	if (p->proposal != MX_PROPOSAL_NONE)
		m |= 1ull << p->proposal_bit;
	return m;
}

/* Every byte of a matrix cell's guest RAM lies below 2^48 + 16 MiB (a
 * region starts at 2^48), so only an untranslated or 64-bit platform can
 * map all of it 1:1. */
static bool can_map_identity(const struct vt_mx_cell *c)
{
	unsigned t = c->v[MX_TRANSLATION];
	return t == MX_TR_NONE || t == MX_TR_IDENTITY;
}

static void set_rule(struct vt_mx_expected *e, const char *id)
{
	snprintf(e->rule, sizeof(e->rule), "%s", id ? id : "");
}

static void add_hazard(struct vt_mx_expected *e, unsigned inv, const char *id, const char *why)
{
	if (!e->hazard) {
		e->hazard = id;
		snprintf(e->hazard_why, sizeof(e->hazard_why), "%s", why);
	}
	e->hazards |= inv;
}

void vt_mx_oracle(const struct vt_profile *p, const struct vt_mx_cell *c,
		  struct vt_mx_expected *e)
{
	memset(e, 0, sizeof(*e));
	bool ap_offer = c->v[MX_AP_OFFER], ap_known = c->v[MX_AP_ACCEPT];
	bool prop_offer = c->v[MX_PROP_OFFER], prop_known = c->v[MX_PROP_ACCEPT];
	bool secure = c->v[MX_SECURE];
	unsigned tr = c->v[MX_TRANSLATION];
	unsigned width = vt_mx_width_bits(c);

	if (p->proposal == MX_PROPOSAL_NONE && (prop_offer || prop_known)) {
		e->outcome = MX_CELL_SKIP;
		snprintf(e->why, sizeof(e->why), "profile %s defines no proposed feature", p->name);
		return;
	}

	/* The driver's subset. */
	bool ap = ap_offer && ap_known;
	bool ia = false, nt = false;
	if (p->proposal == MX_PROPOSAL_IDENTITY_ADDRESS)
		ia = prop_offer && prop_known && ap && can_map_identity(c);
	if (p->proposal == MX_PROPOSAL_NO_TRANSLATION && prop_offer && prop_known) {
		nt = true;
		ap = false;          /* PROP-nt-exclusive */
	}
	e->features = VT_BIT(VIRTIO_F_VERSION_1);
	if (c->v[MX_RING] == MX_PACKED)
		e->features |= VT_BIT(VIRTIO_F_RING_PACKED);
	if (c->v[MX_EVENT_IDX])
		e->features |= VT_BIT(VIRTIO_F_EVENT_IDX);
	if (c->v[MX_INDIRECT])
		e->features |= VT_BIT(VIRTIO_F_INDIRECT_DESC);
	if (ap)
		e->features |= VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	if (ia || nt)
		e->features |= 1ull << p->proposal_bit;

	/* A secure guest whose device is not confined. */
	bool unconfined = secure && !ap && !nt;
	if (unconfined && p->secure_no_ap == MX_SECURE_REFUSE) {
		e->outcome = MX_DRIVER_REFUSES;
		set_rule(e, p->src[MX_RULE_SECURE_NO_AP].source);
		snprintf(e->why, sizeof(e->why), "secure guest, ACCESS_PLATFORM %s",
			 ap_offer ? "not known to the driver" : "not offered");
		return;
	}

	/* The device's policy at FEATURES_OK. */
	bool restricted = vt_mx_access_restricted(c);
	bool dev_refuses = ap_offer && !ap && !nt &&
			   (p->device_refuse == MX_DEVREF_ALWAYS ||
			    (p->device_refuse == MX_DEVREF_RESTRICTED && restricted));
	if (dev_refuses) {
		e->outcome = MX_DEVICE_REFUSES;
		set_rule(e, p->src[MX_RULE_DEVICE_REFUSE].source);
		snprintf(e->why, sizeof(e->why), "device requires ACCESS_PLATFORM%s, not accepted",
			 p->device_refuse == MX_DEVREF_RESTRICTED ?
			 (secure ? " (secure guest)" : " (translated)") : "");
		return;
	}

	e->outcome = MX_LIVE;
	e->invariants = MX_INV_INTEGRITY;
	if (ia)
		e->addressing = MX_ADDR_IDENTITY;
	else if (ap && (tr == MX_TR_IOMMU39 || tr == MX_TR_IOMMU48))
		e->addressing = MX_ADDR_IOVA;
	else
		e->addressing = MX_ADDR_GPA;

	if (secure)
		e->invariants |= MX_INV_UNSHARED;
	if (width < 64)
		e->invariants |= MX_INV_WIDTH;
	if (tr != MX_TR_NONE)
		e->invariants |= MX_INV_IOMMU;
	if (ia && tr != MX_TR_NONE)      /* without an IOMMU nothing can change */
		e->invariants |= MX_INV_IDENTITY;
	if (p->proposal == MX_PROPOSAL_NO_TRANSLATION)
		e->invariants |= MX_INV_NO_TRANSL;

	bool bounce_anyway = unconfined && p->secure_no_ap == MX_SECURE_BOUNCE;
	if (bounce_anyway)
		e->invariants |= MX_INV_BOUNCE;
	e->bounce_all = secure && !(unconfined && p->secure_no_ap == MX_SECURE_PROCEED);

	if (unconfined && p->secure_no_ap == MX_SECURE_PROCEED)
		add_hazard(e, MX_INV_UNSHARED, "INV-unshared-access",
			   "nothing in the profile stops a secure guest: private memory reaches "
			   "the device");

	/* The device's DMA width. */
	bool respect = p->driver_width == MX_WIDTH_RESPECT;
	if (e->addressing == MX_ADDR_IDENTITY)
		respect = p->identity_width_limited;
	if (width < 64 && e->addressing == MX_ADDR_IOVA) {
		/* IOVAs come from below the aperture (and the width, when
		 * respected), bounced buffers included. */
		if (!respect && vt_mx_iommu_aw(c) > width)
			add_hazard(e, MX_INV_WIDTH, "INV-dma-width",
				   "IOVAs are allocated up to the aperture, above the "
				   "device's width");
	} else if (width < 64 && !e->bounce_all) {
		if (respect) {
			e->bounce_high = true;
		} else {
			add_hazard(e, MX_INV_WIDTH, "INV-dma-width",
				   e->addressing == MX_ADDR_IDENTITY ?
				   "identity addresses are not subject to the width: high RAM "
				   "reaches a narrow device" :
				   "the driver ignores the device's width: high RAM reaches it");
		}
	}
}
