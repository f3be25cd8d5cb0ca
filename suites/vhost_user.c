/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user.c - real vhost-user backends judged by the strict reference
 * driver through the vhost-user front-end (harness/transport/vhu_front.h):
 * qemu-storage-daemon (blk), DPDK's vhost PMD in dpdk-testpmd (net, frames
 * looped back), the C virtiofsd (fs).  Every instance starts its own
 * backend (harness/backends.h); `vcts device --vhost-user SOCK` runs the
 * same tests against a socket someone else started.
 *
 *   bring-up             the whole sequence, I/O, reset, again
 *   offer                what the backend offers makes sense
 *   acked-subset         a driver accepting an unoffered bit is refused by
 *                        the front-end: the backend never sees the set
 *   unoffered-bit        the same set sent on purpose: the backend must
 *                        refuse it (DEV-2.2.2)
 *   ring-enable          rings with protocol features start disabled: no
 *                        buffer consumed before SET_VRING_ENABLE
 *   ring-split/-packed   the device type's workload on both ring layouts
 *   net-header           virtio_net_hdr of received frames without offloads
 *   iotlb-*              ACCESS_PLATFORM: translations only from IOTLB
 *                        updates the front-end gives from the IOMMU model
 *   secure-shared-only   a secure guest gives the backend only the memfd
 *                        of its shared region
 *   backend-dies         a backend killed mid-test is a verdict, not a hang
 *   hostile-*            the reference driver breaking one rule on purpose
 *                        (hostile-outside-memory: buffers in a region the
 *                        front-end never put in SET_MEM_TABLE);
 *                        verdict reject (a reset brings the device back on
 *                        the same connection), wedged (it does not) or
 *                        crash (the backend process died)
 *
 * Known differences of the backends are in suites/xfail/vhost-user.tsv.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/backends.h"
#include "../harness/transport/vhost_user.h"
#include "../harness/workload.h"
#include "common.h"
#include "suites.h"

#define WAIT_MS               1000    /* a conforming backend answers well within   */
#define QUIET_MS              300     /* a backend that must not act, watched this long */
#define DPDK_TIMEOUT_MS       20000   /* testpmd takes ~1.3 s before it accepts     */

/* A backend (or a socket) and the cell to run on it. */
struct vcase {
	enum vt_backend_kind kind;
	uint16_t device_id;          /* a socket's device type (0: the backend's) */
	const char *socket;          /* VT_BACKEND_SOCKET                          */
	struct vt_cell cell;         /* ring options, request shape, driver fault  */
	bool raw_header;             /* net: no MRG_RXBUF                          */
	bool unmapped;               /* ACCESS_PLATFORM, yet the driver passes GPAs */
	bool withhold_buffers;       /* the buffers' region not in SET_MEM_TABLE    */
};

/* One instance: its backend (or socket), the pair on it, what it found. */
struct run {
	const struct vcase *vc;
	struct vt_backend b;
	struct vt_vhu_target tg;
	bool started;                /* b is ours to stop                          */
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	struct vt_verdict vd;
};

static const struct vcase *vcase_of(const struct vt_variant *v)
{
	return v->data;
}

static uint16_t case_device_id(const struct vcase *vc)
{
	return vc->device_id ? vc->device_id : vt_backend_device_id(vc->kind);
}

/* Start the case's backend (or aim at the socket); the instance is marked
 * as judging that implementation and version (xfail entries apply). */
static void need_backend(struct run *r)
{
	const struct vcase *vc = r->vc;
	char why[256];
	r->tg.kind = vc->kind;
	r->tg.timeout_ms = 2000;
	if (vc->kind == VT_BACKEND_SOCKET) {
		r->tg.socket = vc->socket;
		return;
	}
	if (vt_backend_available(vc->kind, why, sizeof(why)))
		vt_skip("%s", why);
	if (vt_backend_start(&r->b, vc->kind, NULL, why, sizeof(why)))
		vt_broken("%s", why);
	r->started = true;
	r->tg.backend = &r->b;
	vt_implementation(vt_backend_name(vc->kind), vt_backend_version(vc->kind));
}

static void need_type(const struct vt_variant *v, uint16_t id, const char *what)
{
	if (case_device_id(vcase_of(v)) != id)
		vt_skip("%s only", what);
}

/* The pair configuration of a case. */
static void case_cfg(struct run *r)
{
	const struct vcase *vc = r->vc;
	struct vt_pair_cfg *cfg = &r->cfg;
	struct vt_cell cell = vc->cell;
	uint16_t id = case_device_id(vc);

	cell.target = &r->tg;
	cell.open_target = vt_vhu_open;
	cell.device_id = id;
	if (!cell.buf_size) {
		cell.buf_size = id == VIRTIO_ID_NET ? 1024 : 4096;
		cell.nreq = cell.nreq ? cell.nreq : 32;
		cell.depth = cell.depth ? cell.depth : 4;
	}
	vt_cell_to_cfg(&cell, cfg);
	/* ACCESS_PLATFORM only where the cell asks for it */
	cfg->drv.accept_access_platform = cell.access_platform;
	/* rings read/write, as a Linux guest maps them: DPDK 22.11 asks for
	 * write access to the descriptor table and avail ring it only reads */
	cfg->drv.rings_read_write = true;
	if (cell.access_platform && !cell.iommu_aw)
		cfg->iommu_aw = cfg->iommu_aw ? cfg->iommu_aw : 48;
	if (cell.access_platform)
		cfg->drv.dma = vc->unmapped ? VT_DMA_DIRECT : VT_DMA_IOMMU;
	/* buffers near 2^48: guest-physical addresses, mmap offsets, user
	 * addresses and IOVAs all differ, so a mix-up fails loudly */
	cfg->high_mem = true;
	cfg->buf_region = -1;
	if (id == VIRTIO_ID_NET && !vc->raw_header)
		cfg->drv.features |= VT_BIT(VIRTIO_NET_F_MRG_RXBUF);
	cfg->timeout_ms = WAIT_MS;
}

/* The backend up and the pair configuration derived; a test adjusts
 * r->cfg or r->tg.quirks before run_open(). */
static void run_prepare(struct run *r, const struct vt_variant *v)
{
	memset(r, 0, sizeof(*r));
	r->vc = vcase_of(v);
	need_backend(r);
	case_cfg(r);
}

/* The pair connected: the front-end has the backend's offer. */
static void run_open(struct run *r)
{
	const struct vcase *vc = r->vc;
	char err[256];
	vt_verdict_init(&r->vd);
	if (vt_pair_open(&r->p, &r->cfg, &r->vd, err, sizeof(err)))
		vt_broken("%s", err);
	const struct vhu_front_info *in = vhu_front_info(r->p.t);
	vt_diag("%s: features 0x%llx, protocol features 0x%llx (negotiated 0x%llx)",
		vc->kind == VT_BACKEND_SOCKET ? vc->socket : vt_backend_name(vc->kind),
		(unsigned long long)in->backend_features, (unsigned long long)in->protocol_offered,
		(unsigned long long)in->protocol);
}

static void run_start(struct run *r, const struct vt_variant *v)
{
	run_prepare(r, v);
	run_open(r);
}

/* The pair closed, the backend stopped. */
static void run_stop(struct run *r)
{
	vt_pair_close(&r->p);
	if (r->started)
		vt_backend_stop(&r->b);
	r->started = false;
}

static void __attribute__((noreturn)) run_skip(struct run *r, const char *why)
{
	run_stop(r);
	vt_skip("%s", why);
}

/* Stop, then the verdict of the instance. */
static void run_judge(struct run *r)
{
	run_stop(r);
	vt_assert_clean(&r->vd);
}

static const struct vhu_front_info *info(struct vt_pair *p)
{
	return vhu_front_info(p->t);
}

/* Slots the reset dropped are free again. */
static void slots_free(struct vt_pair *p)
{
	for (unsigned i = 0; i < p->nslots; i++)
		p->slots[i].busy = false;
}

static bool offered(struct vt_pair *p, unsigned bit)
{
	return (info(p)->offer & VT_BIT(bit)) != 0;
}

/* The device type's workload once, then a reset. */
static void io_and_reset(struct vt_pair *p)
{
	vt_pair_io(p, 0);
	p->drv->ops->reset(p->drv);
}

/* ---- bring-up ------------------------------------------------------------ */

/* GET_VRING_BASE of a split ring after a reset is the next available index
 * the backend would take: every buffer made available on the workload's
 * queue must have been consumed. */
static void check_ring_base(struct vt_pair *p, unsigned q, uint32_t want)
{
	uint32_t got = info(p)->last_vring_base[q] & 0xffff;
	if (got != (want & 0xffff))
		vt_diag("GET_VRING_BASE of queue %u: %u, expected %u", q, got, want & 0xffff);
	CU_ASSERT_EQUAL(got, want & 0xffff);
}

/* After a clean round on a split ring: every buffer the workload made
 * available was consumed. */
static void check_consumed(struct vt_pair *p, uint16_t device_id, unsigned n)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		check_ring_base(p, 0, 2 * n);               /* writes, read-backs */
		break;
	case VIRTIO_ID_NET:
		check_ring_base(p, VIRTIO_NET_TXQ, n);
		check_ring_base(p, VIRTIO_NET_RXQ, n);   /* one buffer per frame */
		break;
	case VIRTIO_ID_FS:
		check_ring_base(p, 1, n + 1);               /* FUSE_INIT first   */
		break;
	}
}

static void bring_up(const struct vt_variant *v)
{
	struct run r;

	run_start(&r, v);
	for (unsigned round = 0; round < 2 && !vt_verdict_failed(&r.vd); round++) {
		int rc = vt_pair_init(&r.p);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			break;
		CU_ASSERT_EQUAL(vt_pair_io(&r.p, 0), 0);
		CU_ASSERT_EQUAL(r.p.drv->ops->reset(r.p.drv), 0);
		slots_free(&r.p);
		if (!vt_verdict_failed(&r.vd) && !r.p.drv->packed)
			check_consumed(&r.p, r.cfg.device_id, r.cfg.nreq);
	}
	CU_ASSERT_EQUAL(info(&r.p)->nacks, 0);
	run_judge(&r);
}

/* ---- features ------------------------------------------------------------ */

static void offer(const struct vt_variant *v)
{
	struct run r;

	run_start(&r, v);
	const struct vhu_front_info *in = info(&r.p);
	/* the reference driver judges the offer itself (DEV-2.2.2, DEV-6.2) */
	int rc = vt_pair_init(&r.p);
	CU_ASSERT_TRUE(rc == 0 || vt_verdict_failed(&r.vd));
	/* ACCESS_PLATFORM cannot be honoured without the backend channel and
	 * REPLY_ACK: an offer the device could not support (DEV-2.2.2) */
	uint64_t needed = VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) | VT_BIT(VHU_PROTOCOL_F_BACKEND_REQ);
	if ((in->backend_features & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) &&
	    (in->protocol_offered & needed) != needed)
		vt_violation(&r.vd, "DEV-2.2.2", VT_WHO_DEVICE, "REPLY_ACK and BACKEND_REQ",
			     "missing", "ACCESS_PLATFORM offered without the protocol features "
			     "IOTLB needs (protocol features 0x%llx)",
			     (unsigned long long)in->protocol_offered);
	if (r.cfg.device_id == VIRTIO_ID_BLOCK && in->config_from_backend)
		vt_diag("blk configuration: %u bytes by GET_CONFIG", in->config_size);
	if (rc == 0)
		r.p.drv->ops->reset(r.p.drv);
	run_judge(&r);
}

/* The driver accepts a bit never offered: the front-end, acting as a
 * conforming device, refuses FEATURES_OK; the backend never sees the set. */
static void acked_subset(const struct vt_variant *v)
{
	struct run r;

	run_prepare(&r, v);
	r.cfg.drv.fault = VT_DRV_FAULT_ACCEPT_UNOFFERED;
	run_open(&r);
	CU_ASSERT_EQUAL(vt_pair_init(&r.p), 1);
	CU_ASSERT_NOT_EQUAL(info(&r.p)->refused_unoffered, 0);
	CU_ASSERT_EQUAL(info(&r.p)->acked, 0);          /* no SET_FEATURES went out */
	/* and a driver that behaves gets the device */
	r.p.drv->policy.fault = VT_DRV_FAULT_NONE;
	CU_ASSERT_EQUAL(vt_pair_init(&r.p), 0);
	CU_ASSERT_EQUAL(info(&r.p)->acked & ~(info(&r.p)->offer | VT_BIT(VHU_F_PROTOCOL_FEATURES)),
			0);
	r.p.drv->ops->reset(r.p.drv);
	run_judge(&r);
}

/* The same set sent to the backend on purpose: it must refuse it (a
 * non-zero REPLY_ACK, or closing the connection), DEV-2.2.2. */
static void unoffered_bit(const struct vt_variant *v)
{
	struct run r;
	struct vt_verdict judged;

	run_prepare(&r, v);
	r.cfg.drv.fault = VT_DRV_FAULT_ACCEPT_UNOFFERED;
	r.tg.quirks.forward_unoffered = true;
	run_open(&r);
	int rc = vt_pair_init(&r.p);
	const struct vhu_front_info *in = info(&r.p);
	vt_verdict_init(&judged);
	CU_ASSERT_NOT_EQUAL(in->forwarded_unoffered, 0);
	if (in->dead)
		vt_diag("the backend closed the connection: %s", in->why);
	else if (in->features_ack > 0)
		vt_diag("the backend refused SET_FEATURES 0x%llx (REPLY_ACK %lld)",
			(unsigned long long)in->acked, (long long)in->features_ack);
	else
		vt_violation(&judged, "DEV-2.2.2", VT_WHO_DEVICE, "SET_FEATURES refused",
			     in->protocol & VT_BIT(VHU_PROTOCOL_F_REPLY_ACK) ? "REPLY_ACK 0"
									   : "accepted",
			     "the backend accepted features 0x%llx with bits 0x%llx it never "
			     "offered", (unsigned long long)in->acked,
			     (unsigned long long)in->forwarded_unoffered);
	/* the driver's own record of it (same rule) is shown, not judged twice */
	vt_report_verdict(&r.vd);
	if (rc == 0)
		r.p.drv->ops->reset(r.p.drv);
	run_stop(&r);
	vt_assert_clean(&judged);
}

/* ---- rings ------------------------------------------------------------- */

/* With the protocol-features bit acked rings start disabled: a backend
 * must not consume from a ring that never got SET_VRING_ENABLE (the
 * vhost-user protocol's rule, INV-vhost-user-ring-enable; the virtio
 * analogue is DEV-2.1.2).  Then the same rings enabled must work. */
static void ring_enable(const struct vt_variant *v)
{
	struct run r;
	struct vt_verdict judged;

	run_prepare(&r, v);
	r.cfg.timeout_ms = QUIET_MS;
	r.cfg.nreq = 4;
	r.tg.quirks.skip_enable = ~0u;
	run_open(&r);
	if (!(info(&r.p)->backend_features & VT_BIT(VHU_F_PROTOCOL_FEATURES)))
		run_skip(&r, "the backend offers no protocol features: rings start enabled");
	if (vt_pair_init(&r.p) == 0)
		vt_pair_io(&r.p, 0);
	r.p.drv->ops->reset(r.p.drv);
	slots_free(&r.p);
	vt_verdict_init(&judged);
	uint32_t consumed = 0;
	for (unsigned q = 0; q < VT_MAX_QUEUES; q++)
		consumed += info(&r.p)->last_vring_base[q] & 0x7fff;
	if (consumed)
		vt_violation(&judged, "INV-vhost-user-ring-enable", VT_WHO_DEVICE, "nothing consumed",
			     "buffers used", "the backend consumed %u available buffers from rings "
			     "that never received SET_VRING_ENABLE (protocol features negotiated)",
			     consumed);
	/* the control: enabled, the same rings work */
	vhu_front_quirks(r.p.t)->skip_enable = 0;
	r.p.cfg.timeout_ms = WAIT_MS;
	vt_verdict_reset(&r.vd);
	CU_ASSERT_EQUAL(vt_pair_init(&r.p), 0);
	CU_ASSERT_EQUAL(vt_pair_io(&r.p, 0), 0);
	r.p.drv->ops->reset(r.p.drv);
	run_judge(&r);
	vt_assert_clean(&judged);
}

/* The first ring option the backend lacks. */
static const char *ring_option_name(uint64_t miss)
{
	return miss & VT_BIT(VIRTIO_F_RING_PACKED) ? "RING_PACKED" :
	       miss & VT_BIT(VIRTIO_F_INDIRECT_DESC) ? "INDIRECT_DESC" : "EVENT_IDX";
}

/* The device type's workload over the cell's ring options. */
static void ring(const struct vt_variant *v)
{
	struct run r;
	char why[64];

	run_start(&r, v);
	uint64_t want = r.cfg.drv.features & (VT_BIT(VIRTIO_F_RING_PACKED) |
					      VT_BIT(VIRTIO_F_INDIRECT_DESC) |
					      VT_BIT(VIRTIO_F_EVENT_IDX));
	if ((info(&r.p)->offer & want) != want) {
		snprintf(why, sizeof(why), "the backend does not offer %s",
			 ring_option_name(want & ~info(&r.p)->offer));
		run_skip(&r, why);
	}
	if (vt_pair_init(&r.p) == 0) {
		CU_ASSERT_EQUAL(r.p.drv->negotiated & want, want);
		io_and_reset(&r.p);
	}
	run_judge(&r);
}

/* Received frames without offloads negotiated: the header says so (no
 * MRG_RXBUF here, so num_buffers must read 1). */
static void net_header(const struct vt_variant *v)
{
	need_type(v, VIRTIO_ID_NET, "virtio-net");
	ring(v);
}

/* ---- ACCESS_PLATFORM, IOTLB, secure guests ---------------------------------- */

/* Frames on the transmitq only (nothing looped back: no receive buffers):
 * every buffer the device reads goes through an IOTLB translation. */
static int tx_only(struct vt_pair *p, unsigned n)
{
	struct vt_driver *d = p->drv;
	unsigned done = 0;
	uint32_t flen = p->cfg.buf_size - VIRTIO_NET_HDR_LEN;

	while (done < n) {
		unsigned batch = 0;
		for (unsigned s = 0; s < p->nslots && done + batch < n; s++, batch++) {
			struct vt_pair_slot *sl = &p->slots[s];
			memset(gmem_drv(p->gm, sl->hdr_gpa, VIRTIO_NET_HDR_LEN), 0, VIRTIO_NET_HDR_LEN);
			vt_pair_fill(p, gmem_drv(p->gm, sl->out_gpa, flen), flen, done + batch);
			struct vt_buf out[2] = { { sl->hdr_gpa, VIRTIO_NET_HDR_LEN }, { sl->out_gpa, flen } };
			if (d->ops->add(d, VIRTIO_NET_TXQ, out, 2, NULL, 0, vt_pair_token(s)))
				return -1;
		}
		d->ops->kick(d, VIRTIO_NET_TXQ);
		for (unsigned got = 0; got < batch;) {
			int w = d->ops->wait_used(d, VIRTIO_NET_TXQ, p->cfg.timeout_ms);
			if (w <= 0)
				return w < 0 ? -1 : vt_violation(p->vd, "INV-transport", VT_WHO_DEVICE,
								 NULL, NULL, "transmitted frames not "
								 "used within %u ms",
								 p->cfg.timeout_ms);
			void *tok;
			uint32_t len;
			while (d->ops->get_used(d, VIRTIO_NET_TXQ, &tok, &len) == 1)
				got++;
		}
		done += batch;
	}
	return 0;
}

/* run_prepare() for a virtio-net case with ACCESS_PLATFORM. */
static void run_prepare_iotlb(struct run *r, const struct vt_variant *v, const char *what)
{
	need_type(v, VIRTIO_ID_NET, what);
	run_prepare(r, v);
}

/* run_open() on a backend that must offer ACCESS_PLATFORM. */
static void run_open_iotlb(struct run *r)
{
	run_open(r);
	if (!offered(&r->p, VIRTIO_F_ACCESS_PLATFORM))
		run_skip(r, "the backend does not offer ACCESS_PLATFORM (no IOTLB)");
}

/* What the IOTLB exchange must show after a clean run: misses answered
 * from mappings only, unmaps passed on. */
static void check_iotlb(struct vt_pair *p)
{
	const struct vhu_front_info *in = info(p);
	unsigned nf;
	vt_diag("IOTLB: %llu misses, %llu updates, %llu refused, %llu invalidations",
		(unsigned long long)in->iotlb_misses, (unsigned long long)in->iotlb_updates,
		(unsigned long long)in->iotlb_refused, (unsigned long long)in->iotlb_invalidates);
	CU_ASSERT_TRUE(in->iotlb_misses > 0);
	CU_ASSERT_TRUE(in->iotlb_updates > 0);
	CU_ASSERT_EQUAL(in->iotlb_refused, 0);
	CU_ASSERT_TRUE(in->iotlb_invalidates > 0);
	iommu_faults(p->io, &nf);
	CU_ASSERT_EQUAL(nf, 0);
}

/* Frames on the transmitq through translations, a reset, then the IOTLB
 * exchange judged (check_iotlb). */
static void tx_through_iotlb(struct vt_pair *p, unsigned n)
{
	CU_ASSERT_EQUAL(tx_only(p, n), 0);
	p->drv->ops->reset(p->drv);
	check_iotlb(p);
}

/* ACCESS_PLATFORM with the IOMMU model: the device reads every buffer and
 * ring through translations it asked for. */
static void iotlb_tx(const struct vt_variant *v)
{
	struct run r;

	run_prepare_iotlb(&r, v, "virtio-net");
	run_open_iotlb(&r);
	CU_ASSERT_EQUAL_FATAL(vt_pair_init(&r.p), 0);
	CU_ASSERT_TRUE((r.p.drv->negotiated & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0);
	tx_through_iotlb(&r.p, r.cfg.nreq);
	run_judge(&r);
}

/* Frames looped back with ACCESS_PLATFORM: receive buffers are mapped
 * write-only, as the device only writes them. */
static void iotlb_loopback(const struct vt_variant *v)
{
	struct run r;

	run_prepare_iotlb(&r, v, "virtio-net");
	run_open_iotlb(&r);
	if (vt_pair_init(&r.p) == 0)
		io_and_reset(&r.p);
	if (info(&r.p)->iotlb_perm_upgrades)
		vt_diag("%llu IOTLB misses asked for more access than mapped",
			(unsigned long long)info(&r.p)->iotlb_perm_upgrades);
	run_judge(&r);
}

/* ACCESS_PLATFORM negotiated, yet the driver hands over guest-physical
 * addresses nobody mapped (DRV-6.1 broken): every miss is refused, the
 * device reaches nothing, and stays alive. */
static void iotlb_unmapped(const struct vt_variant *v)
{
	struct run r;

	run_prepare_iotlb(&r, v, "virtio-net");
	r.cfg.timeout_ms = QUIET_MS;
	r.cfg.nreq = 4;
	run_open_iotlb(&r);
	if (vt_pair_init(&r.p) == 0)
		tx_only(&r.p, r.cfg.nreq);
	const struct vhu_front_info *in = info(&r.p);
	vt_diag("IOTLB: %llu misses, %llu refused, %llu updates",
		(unsigned long long)in->iotlb_misses, (unsigned long long)in->iotlb_refused,
		(unsigned long long)in->iotlb_updates);
	/* expected: the requests never complete, nothing was translated */
	CU_ASSERT_TRUE(vt_verdict_has(&r.vd, "INV-transport"));
	CU_ASSERT_TRUE(in->iotlb_refused > 0);
	CU_ASSERT_EQUAL(in->iotlb_updates, 0);
	CU_ASSERT_TRUE(vhu_front_alive(r.p.t));
	CU_ASSERT_TRUE(r.tg.kind == VT_BACKEND_SOCKET || vt_backend_running(&r.b));
	vt_report_verdict(&r.vd);
	r.p.drv->ops->reset(r.p.drv);
	run_stop(&r);
}

/* A secure guest: the backend is given the memfd of the shared region
 * only, reaches everything through the bounce pool there, and every
 * translation it asks for stays inside it. */
static void secure_shared_only(const struct vt_variant *v)
{
	struct run r;

	run_prepare_iotlb(&r, v, "virtio-net (transmit only)");
	r.cfg.secure = true;
	r.cfg.shared_region = true;
	run_open_iotlb(&r);
	CU_ASSERT_EQUAL_FATAL(vt_pair_init(&r.p), 0);
	const struct vhu_front_info *in = info(&r.p);
	int shared = gmem_find(r.p.gm, VT_PAIR_SHARED_GPA, 1);
	CU_ASSERT_EQUAL(in->mem_regions, 1);
	CU_ASSERT_TRUE(shared >= 0 && in->mem_gpa_mask == VT_BIT(shared));
	tx_through_iotlb(&r.p, r.cfg.nreq);
	run_judge(&r);
}

/* ---- a backend that dies ------------------------------------------------------ */

static void backend_dies(const struct vt_variant *v)
{
	struct run r;

	if (vcase_of(v)->kind == VT_BACKEND_SOCKET)
		vt_skip("the backend is not ours to kill");
	run_start(&r, v);
	CU_ASSERT_EQUAL_FATAL(vt_pair_init(&r.p), 0);
	kill(r.b.proc.pid, SIGKILL);
	vt_proc_wait(&r.b.proc, 2000);
	CU_ASSERT_NOT_EQUAL(vt_pair_io(&r.p, 0), 0);
	r.p.drv->ops->reset(r.p.drv);
	/* exactly one verdict: the device is gone (INV-transport, device) */
	bool found = false;
	for (unsigned i = 0; i < r.vd.n; i++)
		if (!strcmp(r.vd.v[i].rule, "INV-transport") && r.vd.v[i].who == VT_WHO_DEVICE)
			found = true;
	CU_ASSERT_TRUE(found);
	CU_ASSERT_TRUE(info(&r.p)->dead);
	vt_diag("recorded: %s", info(&r.p)->why);
	run_stop(&r);
}

/* ---- hostile drivers ---------------------------------------------------------- */

/* After the hostile requests: reset, a driver that behaves, a few
 * requests.  True when the device is back on the same connection. */
static bool recover(struct vt_pair *p)
{
	p->drv->policy.fault = VT_DRV_FAULT_NONE;
	struct vhu_front_quirks *q = vhu_front_quirks(p->t);
	q->withhold_regions = 0;
	p->cfg.timeout_ms = WAIT_MS;
	bool ok = p->drv->ops->reset(p->drv) == 0;
	slots_free(p);
	ok = ok && vt_pair_init(p) == 0 && vt_pair_io(p, 4) == 0;
	p->drv->ops->reset(p->drv);
	return ok && vhu_front_alive(p->t);
}

static void hostile(const struct vt_variant *v)
{
	struct run r;
	struct vt_verdict phase1;

	run_prepare(&r, v);
	r.cfg.timeout_ms = QUIET_MS;
	run_open(&r);
	if (r.vc->cell.indirect && !offered(&r.p, VIRTIO_F_INDIRECT_DESC))
		run_skip(&r, "the backend does not offer INDIRECT_DESC");
	if (r.vc->withhold_buffers) {
		int rg = gmem_find(r.p.gm, r.p.slots[0].out_gpa, 1);
		vhu_front_quirks(r.p.t)->withhold_regions = rg >= 0 ? VT_BIT(rg) : 0;
	}

	/* phase 1: the driver breaks its rule */
	int rc = vt_pair_init(&r.p);
	int io = rc == 0 ? vt_pair_io(&r.p, 0) : -1;
	bool conn = vhu_front_alive(r.p.t);
	vt_diag("hostile requests: %s; connection %s%s%s", rc ? "initialisation failed" :
		io ? "not completed" : "completed", conn ? "alive" : "closed",
		conn ? "" : ": ", conn ? "" : info(&r.p)->why);
	vt_verdict_init(&phase1);
	for (unsigned i = 0; i < r.vd.n && i < VT_MAX_VIOL; i++)
		phase1.v[phase1.n++] = r.vd.v[i];
	vt_report_verdict(&phase1);
	vt_verdict_reset(&r.vd);

	if (!conn && r.started) {
		/* a backend that gave up may be on its way out: let it go */
		vt_proc_wait(&r.b.proc, QUIET_MS);
		char tail[160];
		vt_proc_log_tail(&r.b.proc, tail, sizeof(tail));
		if (tail[0])
			vt_diag("the backend said: %s", tail);
	}
	bool running = r.tg.kind == VT_BACKEND_SOCKET || vt_backend_running(&r.b);
	if (!running) {
		char d[200];
		vt_backend_describe(&r.b, d, sizeof(d));
		vt_diag("verdict: crash (%s)", d);
		vt_violation(&r.vd, "INV-transport", VT_WHO_DEVICE, "the backend running", "exited",
			     "the backend died on hostile driver input: %s", d);
	} else if (!conn || !recover(&r.p)) {
		vt_diag("verdict: wedged");
		vt_verdict_reset(&r.vd);
		vt_violation(&r.vd, "DEV-2.4.1", VT_WHO_DEVICE, "the device back after a reset",
			     vhu_front_alive(r.p.t) ? "stalled" : "connection closed",
			     "after the hostile requests a reset did not bring the device back%s",
			     vhu_front_alive(r.p.t) ? "" : ": the backend closed the connection");
	} else {
		vt_diag("verdict: reject (a reset brought the device back)");
	}
	run_judge(&r);
}

/* ---- the cells ---------------------------------------------------------------- */

#define B(nm, k, ...) { .name = nm, .data = &(const struct vcase){ .kind = k, __VA_ARGS__ } }
#define QSD   VT_BACKEND_QSD
#define DPDK  VT_BACKEND_DPDK
#define VFS   VT_BACKEND_VIRTIOFSD

static const struct vt_variant all_backends[] = {
	B("qsd", QSD), B("dpdk", DPDK), B("virtiofsd", VFS),
};

static const struct vt_variant split_rings[] = {
	B("qsd", QSD),
	B("qsd-indirect-eventidx", QSD, .cell = { .indirect = true, .event_idx = true,
						  .nseg_out = 2, .nseg_in = 2, .depth = 8 }),
	B("qsd-depth32", QSD, .cell = { .event_idx = true, .depth = 32, .nreq = 128,
					.buf_size = 512 }),
	B("dpdk", DPDK),
	B("dpdk-indirect-eventidx", DPDK, .cell = { .indirect = true, .event_idx = true,
						    .nseg_out = 2, .depth = 8 }),
	B("dpdk-depth32", DPDK, .cell = { .event_idx = true, .depth = 32, .nreq = 256,
					  .buf_size = 256 }),
	B("virtiofsd", VFS),
	B("virtiofsd-indirect-eventidx", VFS, .cell = { .indirect = true, .event_idx = true,
							.depth = 8 }),
};

static const struct vt_variant packed_rings[] = {
	B("qsd", QSD, .cell = { .packed = true }),
	B("dpdk", DPDK, .cell = { .packed = true }),
	B("dpdk-indirect-eventidx", DPDK, .cell = { .packed = true, .indirect = true,
						    .event_idx = true, .nseg_out = 2,
						    .depth = 8 }),
	B("virtiofsd", VFS, .cell = { .packed = true }),
};

static const struct vt_variant net_headers[] = {
	B("dpdk", DPDK, .raw_header = true),
};

#define APC .cell = { .access_platform = true, .iommu_aw = 48 }
static const struct vt_variant iotlb_cells[] = {
	B("dpdk", DPDK, APC),
};

static const struct vt_variant iotlb_unmapped_cells[] = {
	B("dpdk", DPDK, APC, .unmapped = true),
};

#define HOSTILE(nm, f, ...)                                                            \
	B("qsd-" nm, QSD, .cell = { .drv_fault = f, .nreq = 8, .nseg_out = 2, .nseg_in = 2,  \
				    __VA_ARGS__ }),                                        \
	B("dpdk-" nm, DPDK, .cell = { .drv_fault = f, .nreq = 8, .nseg_out = 2, __VA_ARGS__ }), \
	B("virtiofsd-" nm, VFS, .cell = { .drv_fault = f, .nreq = 8, __VA_ARGS__ })

static const struct vt_variant hostile_chain_loop[] = {
	HOSTILE("split", VT_DRV_FAULT_CHAIN_LOOP, .depth = 1),
};
static const struct vt_variant hostile_indirect_nested[] = {
	HOSTILE("split", VT_DRV_FAULT_INDIRECT_NESTED, .indirect = true, .depth = 1),
};
static const struct vt_variant hostile_indirect_next[] = {
	HOSTILE("split", VT_DRV_FAULT_INDIRECT_WITH_NEXT, .indirect = true, .depth = 1),
};
static const struct vt_variant hostile_avail_decrement[] = {
	HOSTILE("split", VT_DRV_FAULT_AVAIL_IDX_DECREMENT, .depth = 2),
};
static const struct vt_variant hostile_writable_first[] = {
	HOSTILE("split", VT_DRV_FAULT_WRITABLE_FIRST, .depth = 1),
};
static const struct vt_variant hostile_misaligned[] = {
	HOSTILE("split", VT_DRV_FAULT_MISALIGNED_RING, .depth = 1),
};
static const struct vt_variant hostile_outside_memory[] = {
	B("qsd", QSD, .withhold_buffers = true, .cell = { .nreq = 4, .depth = 1 }),
	B("dpdk", DPDK, .withhold_buffers = true, .cell = { .nreq = 4, .depth = 1 }),
	B("virtiofsd", VFS, .withhold_buffers = true, .cell = { .nreq = 4, .depth = 1 }),
};

/* Every test waits for the slowest backend to start (DPDK). */
#define T(nm, cl, fn, vars) \
	{ nm, cl, VT_ROLE_DEVICE, "vhost-user", DPDK_TIMEOUT_MS, fn, vars, VT_ARRAY_SIZE(vars) }

/* A hostile driver: the rule it breaks, then what every such test judges:
 * the device back after a reset (DEV-2.4.1), the backend alive. */
#define H(nm, rule, vars) T("hostile-" nm, rule " DEV-2.4.1 INV-transport", hostile, vars)

static const struct vt_test tests[] = {
	T("bring-up", "DEV-2.1.2 DEV-2.4.1 DEV-2.7.8.2 INV-data-integrity", bring_up,
	  all_backends),
	T("offer", "DEV-2.2.2 DEV-6.2", offer, all_backends),
	T("acked-subset", "DEV-2.2.2 DRV-2.2.1", acked_subset, all_backends),
	T("unoffered-bit", "DEV-2.2.2", unoffered_bit, all_backends),
	T("ring-enable", "INV-vhost-user-ring-enable", ring_enable, all_backends),
	T("ring-split", "DEV-2.7.5.1 DEV-2.7.5.3.2 DEV-2.7.7.2 DEV-2.7.8.2 INV-data-integrity",
	  ring, split_rings),
	T("ring-packed", "DEV-2.8.12 DEV-2.8.15 DEV-2.8.18 INV-data-integrity", ring,
	  packed_rings),
	T("net-header", "DEV-5.1.9.4.1", net_header, net_headers),
	T("iotlb-tx", "DEV-6.2 DRV-6.1 INV-iommu-fault", iotlb_tx, iotlb_cells),
	T("iotlb-loopback", "DEV-2.7.5.1 INV-iommu-fault INV-transport", iotlb_loopback,
	  iotlb_cells),
	T("iotlb-unmapped", "DRV-6.1 INV-iommu-fault", iotlb_unmapped, iotlb_unmapped_cells),
	T("secure-shared-only", "INV-unshared-access INV-iommu-fault DRV-6.1",
	  secure_shared_only, iotlb_cells),
	T("backend-dies", "INV-transport", backend_dies, all_backends),
	H("chain-loop", "DRV-2.7.5.2", hostile_chain_loop),
	H("indirect-nested", "DRV-2.7.5.3.1", hostile_indirect_nested),
	H("indirect-next", "DRV-2.7.5.3.1", hostile_indirect_next),
	H("avail-decrement", "DRV-2.7.6.1", hostile_avail_decrement),
	H("writable-first", "DRV-2.7.4.2", hostile_writable_first),
	H("misaligned-ring", "DRV-2.7.1", hostile_misaligned),
	H("outside-memory", "INV-not-ram", hostile_outside_memory),
};

const struct vt_suite vt_suite_vhost_user = {
	.area = "vhost-user",
	.title = "real vhost-user backends through the vhost-user front-end",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};

/* ---- vcts device --vhost-user SOCK ------------------------------------------- */

/* The backend whose cells stand for a device type. */
static enum vt_backend_kind kind_for(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK: return VT_BACKEND_QSD;
	case VIRTIO_ID_NET:   return VT_BACKEND_DPDK;
	default:              return VT_BACKEND_VIRTIOFSD;
	}
}

/* The variants of one test for the socket: the cells of the backend of
 * the same type, renamed "socket..." ("qsd-depth32" -> "socket-depth32"). */
static unsigned socket_variants(const struct vt_test *t, enum vt_backend_kind k,
				uint16_t device_id, const char *sock, struct vt_variant *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < t->nvariants; i++) {
		const struct vcase *vc = t->variants[i].data;
		if (vc->kind != k)
			continue;
		struct vcase *c = malloc(sizeof(*c));
		const char *rest = strchr(t->variants[i].name, '-');
		char *name = malloc(strlen("socket") + (rest ? strlen(rest) : 0) + 1);
		if (!c || !name) {
			free(c);
			free(name);
			continue;
		}
		*c = *vc;
		c->kind = VT_BACKEND_SOCKET;
		c->device_id = device_id;
		c->socket = sock;
		sprintf(name, "socket%s", rest ? rest : "");
		out[n++] = (struct vt_variant){ name, c };
	}
	return n;
}

const struct vt_suite *const *vt_vhost_user_device_catalogue(uint16_t device_id, const char *sock)
{
	static struct vt_test dtests[VT_ARRAY_SIZE(tests)];
	static struct vt_suite suite;
	static const struct vt_suite *catalogue[2];
	enum vt_backend_kind k = kind_for(device_id);
	unsigned nt = 0;

	for (unsigned i = 0; i < VT_ARRAY_SIZE(tests); i++) {
		const struct vt_test *t = &tests[i];
		/* a user's process is not ours to kill; virtiofsd serves a
		 * single session, so the fs device gets the one test */
		if (t->fn == backend_dies || (device_id == VIRTIO_ID_FS && t->fn != bring_up))
			continue;
		struct vt_variant *vars = calloc(t->nvariants, sizeof(*vars));
		if (!vars)
			return NULL;
		unsigned nv = socket_variants(t, k, device_id, sock, vars);
		if (!nv) {
			free(vars);
			continue;
		}
		dtests[nt] = *t;
		dtests[nt].variants = vars;
		dtests[nt].nvariants = nv;
		dtests[nt].timeout_ms = 10000;
		nt++;
	}
	suite = vt_suite_vhost_user;
	suite.tests = dtests;
	suite.ntests = nt;
	catalogue[0] = &suite;
	catalogue[1] = NULL;
	return catalogue;
}
