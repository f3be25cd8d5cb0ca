/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu.c - QEMU's built-in virtio-pci devices judged by the strict
 * reference driver over qtest (no guest kernel).
 *
 * Every instance starts its own QEMU (harness/qemu/qemu.h) with one
 * device: virtio-blk-pci, virtio-net-pci, virtio-rng-pci or
 * virtio-serial-pci, non-transitional (disable-legacy=on), also with
 * iommu_platform=on (ACCESS_PLATFORM offered, no IOMMU: addresses stay
 * guest-physical) and packed=on.  The variant name is the target's.
 *
 *   pci-capabilities   the function's layout (pci_check, 4.1)
 *   status             reset reads 0, the DRIVER_OK sequence, reset again
 *   features           the offer: VERSION_1, nothing reserved
 *   features-hostile   a driver accepting a bit never offered
 *   ring-*             the device type's workload on split and packed rings
 *   queue-reset        VIRTIO_F_RING_RESET (QEMU 7.2 offers it on PCI)
 *   hostile-*          the reference driver breaking one ring rule on
 *                      purpose; verdict reject (QEMU ignored it or marked
 *                      itself broken, and a reset brings it back), wedged
 *                      (a reset does not) or crash (QEMU died)
 *
 * Known differences of QEMU are listed in suites/xfail/qemu.tsv.
 */
#include <stdio.h>
#include <string.h>

#include "../harness/qemu/qemu.h"
#include "../harness/workload.h"
#include "common.h"
#include "suites.h"

#define HOSTILE_WAIT_MS  300     /* a device that went quiet on hostile input */
#define HOSTILE_ANSWER_MS 500    /* QEMU answering qtest while it sees them   */
#define LOW_RAM          (16u << 20)

/* A target and the cell to run on it. */
struct qcase {
	const char *target;
	struct vt_cell cell;
};

#define Q(tg, ...) { .name = tg, .data = &(const struct qcase){ tg, { __VA_ARGS__ } } }

/* ---- common steps ---- */

/* The target, once QEMU is known to be there; the instance is marked as
 * judging QEMU of this version (xfail entries apply). */
static const struct vt_qemu_target *need_qemu(const struct vt_variant *v)
{
	const struct qcase *qc = v->data;
	char ver[64];
	if (!vt_qemu_available())
		vt_skip("%s not found", vt_qemu_binary());
	const struct vt_qemu_target *tg = vt_qemu_target_find(qc->target);
	if (!tg)
		vt_broken("no QEMU target named %s", qc->target);
	vt_implementation("qemu", vt_qemu_version(ver, sizeof(ver)) == 0 ? ver : "unknown");
	return tg;
}

/* The cell of a target with a workload for its device type. */
static const struct vt_qemu_target *workload_cell(const struct vt_variant *v,
						  struct vt_cell *cell)
{
	const struct vt_qemu_target *tg = need_qemu(v);
	if (!vt_workload_find(tg->device_id))
		vt_skip("no workload for %s (device type %u) yet", tg->device, tg->device_id);
	*cell = ((const struct qcase *)v->data)->cell;
	cell->target = tg;
	cell->open_target = vt_qtest_open;
	cell->device_id = tg->device_id;
	return tg;
}

/* One instance without a workload: the target, the pair on it and what
 * it found. */
struct qrun {
	const struct vt_qemu_target *tg;
	struct vt_pair p;
	struct vt_verdict vd;
};

/* A pair with no workload: guest memory, QEMU over qtest, the reference
 * driver (for tests that do no I/O, and devices without a workload). */
static void bare_open(struct qrun *r, const struct vt_variant *v, uint64_t features,
		      enum vt_drv_fault fault)
{
	struct vt_pair *p = &r->p;
	struct gmem_layout l;
	char err[256];

	r->tg = need_qemu(v);
	memset(p, 0, sizeof(*p));
	vt_verdict_init(&r->vd);
	vt_pair_cfg_default(&p->cfg);
	p->cfg.target = r->tg;
	p->cfg.open_target = vt_qtest_open;
	p->cfg.device_id = r->tg->device_id;
	p->cfg.drv.device_id = r->tg->device_id;
	p->cfg.drv.features = features | VT_BIT(VIRTIO_F_VERSION_1);
	p->cfg.drv.dma = VT_DMA_DIRECT;
	p->cfg.drv.fault = fault;
	p->vd = &r->vd;
	gmem_layout_standard(&l, LOW_RAM, false);
	p->gm = gmem_create(&l, false);
	if (!p->gm)
		vt_broken("guest memory could not be created");
	gmem_dev_init(&p->dma, p->gm, NULL, 64, &r->vd);
	p->t = vt_qtest_open(p, err, sizeof(err));
	if (p->t)
		p->drv = vt_ref_driver_create(&p->cfg.drv, p->t, p->gm, NULL, &r->vd);
	if (!p->drv) {
		if (p->t)
			snprintf(err, sizeof(err), "the reference driver could not be created");
		vt_pair_close(p);
		vt_broken("%s", err);
	}
}

/* QEMU gone, then the verdict of the instance. */
static void bare_judge(struct qrun *r)
{
	vt_pair_close(&r->p);
	vt_assert_clean(&r->vd);
}

static void show_startup(struct vt_pair *p)
{
	struct vt_qemu *qm = vt_qtest_qemu(p->t);
	vt_diag("%s: QEMU up and connected in %u ms", qm->target->name, qm->startup_ms);
}

/* ---- the PCI layout ---- */

static void pci_capabilities(const struct vt_variant *v)
{
	struct qrun r;
	struct vt_pci_image img;
	struct vt_qemu_pci_view view;
	struct vt_pci_summary sum = { 0 };

	bare_open(&r, v, 0, VT_DRV_FAULT_NONE);
	show_startup(&r.p);
	if (vt_qemu_pci_image(r.p.t, &img, &view))
		vt_violation(&r.vd, "INV-transport", VT_WHO_DEVICE, "an answer", "none",
			     "the function stopped answering while its image was read");
	else
		vt_pci_check(&img, &r.vd, &sum);
	vt_diag("%u capabilities (%u virtio), %u queues' notify offsets checked, access window %s",
		sum.ncaps, sum.nvcaps, sum.queues_checked, sum.window_checked ? "checked" : "not used");
	CU_ASSERT_TRUE(sum.virtio);
	CU_ASSERT_EQUAL(sum.virtio_type, r.tg->device_id);
	CU_ASSERT_TRUE(sum.queues_checked > 0);
	CU_ASSERT_TRUE(sum.window_checked);
	bare_judge(&r);
}

/* ---- status: reset, the initialisation sequence, reset again ---- */

static void status_sequence(const struct vt_variant *v)
{
	const uint8_t live = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	struct qrun r;

	bare_open(&r, v, 0, VT_DRV_FAULT_NONE);
	struct vt_transport *t = r.p.t;
	struct vt_driver *d = r.p.drv;
	/* a device fresh from power-on is in its reset state */
	CU_ASSERT_EQUAL(t->ops->get_status(t), 0);
	/* each bit written reads back */
	t->ops->set_status(t, VIRTIO_STATUS_ACKNOWLEDGE);
	CU_ASSERT_EQUAL(t->ops->get_status(t), VIRTIO_STATUS_ACKNOWLEDGE);
	t->ops->set_status(t, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CU_ASSERT_EQUAL(t->ops->get_status(t), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_EQUAL(d->ops->init(d), 0);
		CU_ASSERT_EQUAL(t->ops->get_status(t), live);
		CU_ASSERT_EQUAL(d->ops->reset(d), 0);
		CU_ASSERT_EQUAL(t->ops->get_status(t), 0);
	}
	bare_judge(&r);
}

/* ---- features ---- */

#define ALL_RING_FEATURES                                                          \
	(VT_BIT(VIRTIO_F_INDIRECT_DESC) | VT_BIT(VIRTIO_F_EVENT_IDX) |              \
	 VT_BIT(VIRTIO_F_RING_PACKED) | VT_BIT(VIRTIO_F_RING_RESET) |               \
	 VT_BIT(VIRTIO_F_NOTIFICATION_DATA))

static bool wants(const struct vt_qemu_target *tg, const char *prop)
{
	return tg->props && strstr(tg->props, prop) != NULL;
}

static void device_offer(const struct vt_variant *v)
{
	struct qrun r;

	bare_open(&r, v, ALL_RING_FEATURES, VT_DRV_FAULT_NONE);
	struct vt_driver *d = r.p.drv;
	CU_ASSERT_EQUAL(d->ops->init(d), 0);
	uint64_t off = d->offered, neg = d->negotiated;
	vt_diag("offered 0x%016llx, negotiated 0x%016llx", (unsigned long long)off,
		(unsigned long long)neg);
	CU_ASSERT_TRUE((off & VT_BIT(VIRTIO_F_VERSION_1)) != 0);
	CU_ASSERT_EQUAL(off & VT_FEATURES_RESERVED_FUTURE, 0);
	CU_ASSERT_EQUAL(neg & ~off, 0);
	/* the variant is what it says it is */
	CU_ASSERT_EQUAL((off & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0,
			wants(r.tg, "iommu_platform=on"));
	CU_ASSERT_EQUAL((off & VT_BIT(VIRTIO_F_RING_PACKED)) != 0, wants(r.tg, "packed=on"));
	if (wants(r.tg, "iommu_platform=on"))
		CU_ASSERT_TRUE((neg & VT_BIT(VIRTIO_F_ACCESS_PLATFORM)) != 0);
	CU_ASSERT_EQUAL(d->ops->reset(d), 0);
	bare_judge(&r);
}

/* driver_feature as the device presents it now. */
static uint64_t driver_feature_now(struct vt_transport *t)
{
	const struct vt_virtio_pci_info *in = vt_virtio_pci_info(t);
	uint64_t f = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		vt_virtio_pci_cap_write(t, &in->common, VT_PCI_COMMON_GFSELECT, 4, sel);
		f |= (uint64_t)vt_virtio_pci_cap_read(t, &in->common, VT_PCI_COMMON_GF, 4) << (32 * sel);
	}
	return f;
}

/* A hostile driver accepts a bit the device did not offer: the device
 * must not keep FEATURES_OK (DEV-2.2.2); the reference driver reports it
 * when it does.  What QEMU does is the finding either way. */
static void device_refuses_unoffered(const struct vt_variant *v)
{
	struct qrun r;

	bare_open(&r, v, 0, VT_DRV_FAULT_ACCEPT_UNOFFERED);
	struct vt_driver *d = r.p.drv;
	int rc = d->ops->init(d);
	uint8_t st = r.p.t->ops->get_status(r.p.t);
	vt_diag("offered 0x%016llx; driver_feature now presents 0x%016llx; status 0x%02x: %s",
		(unsigned long long)d->offered, (unsigned long long)driver_feature_now(r.p.t), st,
		rc == 1 ? "QEMU refused FEATURES_OK" : "QEMU kept FEATURES_OK");
	CU_ASSERT_EQUAL(d->ops->reset(d), 0);
	bare_judge(&r);
}

/* ---- rings: the device type's workload ---- */

static void ring_clean(const struct vt_variant *v)
{
	struct vt_cell cell;
	workload_cell(v, &cell);
	struct vt_variant run = { v->name, &cell };
	suite_expect_clean(&run);
}

/* ---- hostile driver ---- */

static void save_records(struct vt_verdict *vd, struct vt_verdict *copy)
{
	vt_verdict_init(copy);
	pthread_mutex_lock(&vd->lock);
	copy->n = vd->n;
	copy->n_must = vd->n_must;
	copy->dropped = vd->dropped;
	copy->stop = vd->stop;
	memcpy(copy->v, vd->v, vd->n * sizeof(vd->v[0]));
	pthread_mutex_unlock(&vd->lock);
}

/* What the device did with the hostile requests. */
static const char *hostile_outcome(int io, uint8_t status, bool alive)
{
	if (!alive)
		return "QEMU died";
	if (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return "QEMU marked the device broken (DEVICE_NEEDS_RESET)";
	if (io == 0)
		return "QEMU served the requests as if nothing were wrong";
	return "QEMU left the requests unused";
}

/* Phase 2: a clean driver resets the device and uses it again.  True
 * when the device answered throughout (its findings are in vd). */
static bool recover(struct vt_pair *p, struct vt_qemu *qm)
{
	p->drv->policy.fault = VT_DRV_FAULT_NONE;
	p->cfg.timeout_ms = 2000;
	bool ok = p->drv->ops->reset(p->drv) == 0;
	for (unsigned i = 0; i < p->nslots; i++)
		p->slots[i].busy = false;      /* the reset dropped them */
	if (ok && vt_pair_init(p) == 0)
		vt_pair_io(p, 4);
	p->drv->ops->reset(p->drv);
	return vt_qemu_alive(qm) && !qm->qt.dead && !vt_verdict_has(p->vd, "INV-transport");
}

static void hostile(const struct vt_variant *v)
{
	struct vt_cell cell;
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	struct vt_verdict vd, phase1;
	char err[256], tail[200];

	workload_cell(v, &cell);
	vt_cell_to_cfg(&cell, &cfg);
	cfg.timeout_ms = HOSTILE_WAIT_MS;
	vt_verdict_init(&vd);
	if (vt_pair_open(&p, &cfg, &vd, err, sizeof(err)))
		vt_broken("%s", err);
	struct vt_qemu *qm = vt_qtest_qemu(p.t);

	/* phase 1: the driver breaks its rule */
	qm->qt.timeout_ms = HOSTILE_ANSWER_MS;
	int rc = vt_pair_init(&p);
	int io = rc == 0 ? vt_pair_io(&p, 0) : -1;
	bool alive = vt_qemu_alive(qm), answers = alive && !qm->qt.dead;
	uint8_t st = answers ? p.t->ops->get_status(p.t) : 0;
	qm->qt.timeout_ms = 2000;
	save_records(&vd, &phase1);
	vt_qemu_log_tail(qm, tail, sizeof(tail));
	vt_diag("hostile requests: %s%s%s", !answers && alive ? "QEMU stopped answering"
		: hostile_outcome(io, st, alive), tail[0] ? "; QEMU said: " : "", tail);
	vt_report_verdict(&phase1);
	vt_verdict_reset(&vd);

	if (!alive) {
		vt_diag("verdict: crash");
		vt_violation(&vd, "INV-transport", VT_WHO_DEVICE, "QEMU running", "exited",
			     "QEMU died on hostile driver input");
	} else if (!answers || !recover(&p, qm)) {
		vt_diag("verdict: %s", vt_qemu_alive(qm) ? "wedged" : "crash");
		vt_violation(&vd, "DEV-2.4.1", VT_WHO_DEVICE, "the device back after a reset",
			     qm->qt.dead ? "no answer" : "stalled",
			     "after the hostile requests a reset did not bring the device back%s",
			     qm->qt.dead ? ": QEMU no longer answers at all" : "");
	} else {
		vt_diag("verdict: reject (a reset brought the device back)");
	}
	/* a device that sets DEVICE_NEEDS_RESET once live must notify (DEV-2.1.2) */
	if (vt_verdict_has(&phase1, "DEV-2.1.2"))
		vt_violation(&vd, "DEV-2.1.2", VT_WHO_DEVICE, "a configuration change notification",
			     "none", "DEVICE_NEEDS_RESET after the hostile requests came without a "
			     "configuration change notification");
	vt_pair_close(&p);
	vt_assert_clean(&vd);
}

/* ---- the cells ---- */

static const struct vt_variant all_targets[] = {
	Q("blk"), Q("blk-iommu"), Q("blk-packed"), Q("blk-intx"),
	Q("net"), Q("net-iommu"), Q("net-packed"),
	Q("rng"), Q("rng-iommu"), Q("rng-packed"),
	Q("serial"), Q("serial-iommu"), Q("serial-packed"),
};

static const struct vt_variant base_targets[] = {
	Q("blk"), Q("net"), Q("rng"), Q("serial"),
};

/* Request shapes per device type. */
#define BLK     .buf_size = 4096, .nreq = 32, .depth = 4
#define NET     .buf_size = 1024, .nreq = 32, .depth = 4
#define RNG     .buf_size = 64, .nreq = 32, .depth = 4
#define CON     .buf_size = 256, .nreq = 16, .depth = 2
#define SG      .indirect = true, .event_idx = true, .nseg_out = 2, .nseg_in = 2
#define PK      .packed = true
#define AP      .access_platform = true

static const struct vt_variant split_rings[] = {
	Q("blk", BLK), Q("blk-iommu", BLK, AP), Q("blk-intx", BLK),
	Q("net", NET), Q("net-iommu", NET, AP),
	Q("rng", RNG), Q("rng-iommu", RNG, AP),
	Q("serial", CON), Q("serial-iommu", CON, AP),
};

static const struct vt_variant split_sg_rings[] = {
	Q("blk", BLK, SG), Q("blk-intx", BLK, SG), Q("net", NET, SG), Q("rng", RNG, SG),
	Q("serial", CON, SG),
};

static const struct vt_variant packed_rings[] = {
	Q("blk-packed", BLK, PK), Q("net-packed", NET, PK), Q("rng-packed", RNG, PK),
	Q("serial-packed", CON, PK),
};

static const struct vt_variant packed_sg_rings[] = {
	Q("blk-packed", BLK, PK, SG), Q("net-packed", NET, PK, SG), Q("rng-packed", RNG, PK, SG),
	Q("serial-packed", CON, PK, SG),
};

#define QR .flow = VT_FLOW_QUEUE_RESET
/* The flow resets queue 0 and has the driver probe it with a request of its
 * own: a receive queue (net, console) has nothing to use it for. */
static const struct vt_variant queue_resets[] = {
	Q("blk", BLK, QR), Q("rng", RNG, QR), Q("blk-packed", BLK, PK, QR),
};

/* Hostile requests: a few, each in two readable and two writable parts. */
#define HB  .buf_size = 1024, .nreq = 8, .nseg_out = 2, .nseg_in = 2
#define HC  .buf_size = 256, .nreq = 8, .nseg_out = 2, .nseg_in = 2
#define HR  .buf_size = 64, .nreq = 8, .nseg_in = 2
#define F(x) .drv_fault = VT_DRV_FAULT_##x

static const struct vt_variant chain_loop[] = {
	Q("blk", HB, F(CHAIN_LOOP)), Q("serial", HC, F(CHAIN_LOOP)), Q("rng", HR, F(CHAIN_LOOP)),
};
static const struct vt_variant chain_over_4g[] = {
	Q("blk", HB, F(CHAIN_OVER_4G)),
};
static const struct vt_variant avail_decrement[] = {
	Q("blk", HB, F(AVAIL_IDX_DECREMENT)), Q("serial", HC, F(AVAIL_IDX_DECREMENT)),
	Q("rng", HR, F(AVAIL_IDX_DECREMENT)),
};
/* Not on the console: QEMU transmits a nested table as data, and those
 * bytes, already in the loopback, would come back after the reset. */
static const struct vt_variant indirect_nested[] = {
	Q("blk", HB, .indirect = true, F(INDIRECT_NESTED)),
	Q("blk-packed", HB, PK, .indirect = true, F(INDIRECT_NESTED)),
};
static const struct vt_variant writable_first[] = {
	Q("blk", HB, F(WRITABLE_FIRST)), Q("blk-packed", HB, PK, F(WRITABLE_FIRST)),
};
static const struct vt_variant list_too_long[] = {
	Q("blk-packed", HB, PK, F(CHAIN_TOO_LONG)),
};

#define T(nm, cl, fn, vars) { nm, cl, VT_ROLE_DEVICE, "qtest", 0, fn, vars, VT_ARRAY_SIZE(vars) }

/* A hostile driver: the rule it breaks, then what every such test judges:
 * the device back after a reset (DEV-2.4.1), DEVICE_NEEDS_RESET notified
 * (DEV-2.1.2). */
#define H(nm, rule, vars) T("hostile-" nm, rule " DEV-2.1.2 DEV-2.4.1", hostile, vars)

static const struct vt_test tests[] = {
	T("pci-capabilities", "DEV-4.1.2.1 DEV-4.1.4.2 DEV-4.1.4.3.1 DEV-4.1.4.4.1 DEV-4.1.4.5.1 "
	  "DEV-4.1.4.6.1 DEV-4.1.4.9.1", pci_capabilities, all_targets),
	T("status", "DEV-2.1.2 DEV-2.4.1 DEV-4.1.4.3.1 DEV-4.1.5.1.2.1", status_sequence,
	  all_targets),
	T("features", "DEV-2.2.2 DEV-6.2 DEV-4.1.4.3.1", device_offer, all_targets),
	T("features-hostile", "DEV-2.2.2", device_refuses_unoffered, base_targets),
	T("ring-split", "DEV-2.7.8.2 DEV-2.7.7.2 DEV-2.7.5.1 INV-data-integrity", ring_clean,
	  split_rings),
	T("ring-split-indirect-event-idx", "DEV-2.7.5.3.2 DEV-2.7.7.2 DEV-2.7.4.1 INV-data-integrity",
	  ring_clean, split_sg_rings),
	T("ring-packed", "DEV-2.8.12 DEV-2.8.15 INV-data-integrity", ring_clean, packed_rings),
	T("ring-packed-indirect-event-idx", "DEV-2.8.12 DEV-2.8.15 DEV-2.8.18 INV-data-integrity",
	  ring_clean, packed_sg_rings),
	T("queue-reset", "DEV-2.6.1.1.1 DEV-2.6.1.2.1 DEV-4.1.4.3.1", ring_clean, queue_resets),
	H("chain-loop", "DRV-2.7.5.2", chain_loop),
	H("chain-over-4g", "DRV-2.7.5.2", chain_over_4g),
	H("avail-idx-decrement", "DRV-2.7.6.1", avail_decrement),
	H("indirect-nested", "DRV-2.7.5.3.1 DRV-2.8.19", indirect_nested),
	H("writable-first", "DRV-2.7.4.2 DRV-2.8.17", writable_first),
	H("list-too-long", "DRV-2.8.17", list_too_long),
};

const struct vt_suite vt_suite_qemu = {
	.area = "qemu",
	.title = "QEMU's virtio-pci devices over qtest, judged by the reference driver",
	.tests = tests,
	.ntests = VT_ARRAY_SIZE(tests),
};
