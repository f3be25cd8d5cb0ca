/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user_loop.c - both vhost-user roles against each other (area
 * "vhost-user-loop").
 *
 * The reference driver drives the vhost-user front-end (transport/
 * vhu_front.h), which talks over a real unix socket to the vhost-user
 * backend (transport/vhu_back.h) serving the checking device on its own
 * thread, all in one process.  Both sides are the real protocol
 * implementations, so every cell here proves that the rules each side
 * checks survive the trip through vhost-user: ring layouts (split,
 * packed, indirect, event idx), ACCESS_PLATFORM with the IOMMU model
 * (the backend's IOTLB misses answered by the front-end from the IOMMU
 * model), a secure guest whose backend is given the shared region only,
 * and mutants of either side caught with exactly their rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../drivers-under-test/mutants/mutants.h"
#include "../harness/proc.h"
#include "../harness/transport/vhu_back.h"
#include "../harness/transport/vhu_front.h"
#include "common.h"
#include "suites.h"

#define LOOP_TIMEOUT_MS   10000
#define REFUSED_MISS_MS   200      /* the backend's wait for an update that never comes */

/* cfg.target of a loop pair: what the backend saw, kept when it stops. */
struct loop_target {
	unsigned iotlb_timeout_ms;       /* 0: the backend's default */
	bool stopped;
	struct vhu_back_status last;
};

struct loop_owner {
	struct vhu_back *b;
	struct loop_target *tg;
};

static void loop_release(void *owner)
{
	struct loop_owner *l = owner;

	if (l->b && l->tg) {
		vhu_back_status(l->b, &l->tg->last);
		l->tg->stopped = true;
	}
	vhu_back_stop(l->b);
	free(l);
}

static void loop_describe(void *owner, char *buf, size_t len)
{
	struct loop_owner *l = owner;
	struct vhu_back_status st;

	vhu_back_status(l->b, &st);
	snprintf(buf, len, "backend session %s: %s", st.ended ? "ended" : "running",
		 st.why[0] ? st.why : "no reason given");
}

/* cfg.open_target: start the backend with the pair's device options on
 * a socket in the test's directory, connect the front-end to it.  The
 * transport's destroy stops the backend (loop_release). */
static struct vt_transport *loop_open(struct vt_pair *p, char *err, size_t errlen)
{
	static unsigned seq;
	struct loop_owner *l = calloc(1, sizeof(*l));
	struct vt_device_opts d = p->cfg.dev;
	char name[64], sock[256];

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->tg = (struct loop_target *)p->cfg.target;
	snprintf(name, sizeof(name), "vhost-user-loop-%u.sock", seq++);
	if (vt_proc_path(sock, sizeof(sock), name)) {
		snprintf(err, errlen, "no temporary directory");
		free(l);
		return NULL;
	}
	d.type = p->cfg.type;
	struct vhu_back_opts bo = {
		.type = p->cfg.type,
		.offer = d.offer,
		.vd = p->vd,
		.dev = &d,
		.iotlb_timeout_ms = l->tg ? l->tg->iotlb_timeout_ms : 0,
	};
	l->b = vhu_back_start(sock, &bo, err, errlen);
	if (!l->b) {
		free(l);
		return NULL;
	}
	struct vhu_front_opts o = {
		.path = sock,
		.sock = -1,
		.device_id = p->cfg.device_id ? p->cfg.device_id : p->cfg.type->device_id,
		.gm = p->gm,
		.io = p->io,
		.vd = p->vd,
		.secure = p->cfg.secure,
		.queue_size_max = d.queue_size_max,
		.describe_death = loop_describe,
		.release = loop_release,
		.owner = l,
	};
	return vhu_front_open(&o, err, errlen);
}

static void loop_cell(struct vt_cell *cell, struct loop_target *tg)
{
	memset(tg, 0, sizeof(*tg));
	cell->open_target = loop_open;
	cell->target = tg;
}

static void diag_backend(const struct loop_target *tg)
{
	const struct vhu_back_status *st = &tg->last;

	vt_diag("backend: %llu messages, %llu kicks, %llu calls, %llu chains; IOTLB %llu misses "
		"(%llu unanswered), %llu updates, %llu invalidations; %s",
		(unsigned long long)st->messages, (unsigned long long)st->kicks,
		(unsigned long long)st->calls, (unsigned long long)st->requests,
		(unsigned long long)st->iotlb_misses, (unsigned long long)st->iotlb_unanswered,
		(unsigned long long)st->iotlb_updates, (unsigned long long)st->iotlb_invalidates,
		st->why);
	vt_diag("backend: features 0x%llx, protocol 0x%llx, backend channel %s, held %llu",
		(unsigned long long)st->negotiated, (unsigned long long)st->protocol,
		st->backend_channel ? "yes" : "no", (unsigned long long)st->held_requests);
}

/* Run the cell over the loop: clean, every request served by the
 * backend's device, and the session ended by the front-end. */
static void run_clean(const struct vt_cell *c, struct loop_target *tg)
{
	struct vt_cell cell = *c;
	struct vt_verdict vd;
	char err[160] = "";

	loop_cell(&cell, tg);
	vt_verdict_init(&vd);
	int rc = vt_cell_run(&cell, &vd, err, sizeof(err));
	if (rc == -2 && !vt_verdict_failed(&vd))
		vt_broken("%s", err);
	vt_assert_clean(&vd);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE_FATAL(tg->stopped);
	diag_backend(tg);
	CU_ASSERT_TRUE(tg->last.requests >= (cell.nreq ? cell.nreq : 64));
	CU_ASSERT_FALSE(tg->last.error);
}

/* ---- rings over the loop ------------------------------------------------------- */

static void ring(const struct vt_variant *v)
{
	struct loop_target tg;

	run_clean(variant_cell(v), &tg);
	CU_ASSERT_FALSE(tg.last.iotlb);
}

static const struct vt_variant ring_cells[] = {
	CELL("echo-split", .flow = VT_FLOW_IO, .nreq = 64, .depth = 4),
	CELL("echo-packed", .flow = VT_FLOW_IO, .packed = true, .nreq = 64, .depth = 4),
	CELL("echo-split-indirect", .flow = VT_FLOW_IO, .indirect = true, .nseg_out = 3,
	     .nseg_in = 3, .nreq = 64, .depth = 4),
	CELL("echo-packed-indirect", .flow = VT_FLOW_IO, .packed = true, .indirect = true,
	     .nseg_out = 3, .nseg_in = 3, .nreq = 64, .depth = 4),
	CELL("echo-split-event-idx", .flow = VT_FLOW_IO, .event_idx = true, .nreq = 64,
	     .depth = 8),
	CELL("echo-packed-event-idx", .flow = VT_FLOW_IO, .packed = true, .event_idx = true,
	     .nreq = 64, .depth = 8),
	CELL("blk-split", .flow = VT_FLOW_IO, .blk = true, .nreq = 32, .depth = 4,
	     .buf_size = 4096),
	CELL("blk-packed-indirect-event-idx", .flow = VT_FLOW_IO, .blk = true, .packed = true,
	     .indirect = true, .event_idx = true, .nreq = 32, .depth = 4, .buf_size = 4096),
};

/* ---- ACCESS_PLATFORM: the backend's IOTLB ------------------------------------ */

/* Ring and buffer addresses are IOVAs: every one the device touched was
 * a miss the front-end answered from the IOMMU model, and the driver's
 * unmaps reached the backend as invalidations. */
static void iotlb(const struct vt_variant *v)
{
	struct loop_target tg;

	run_clean(variant_cell(v), &tg);
	CU_ASSERT_TRUE(tg.last.iotlb);
	CU_ASSERT_TRUE(tg.last.backend_channel);
	CU_ASSERT_TRUE(tg.last.iotlb_misses > 0);
	CU_ASSERT_TRUE(tg.last.iotlb_updates > 0);
	CU_ASSERT_EQUAL(tg.last.iotlb_unanswered, 0);
	CU_ASSERT_EQUAL(tg.last.iotlb_rejected, 0);
}

static const struct vt_variant iotlb_cells[] = {
	CELL("echo-split", .flow = VT_FLOW_IO, .access_platform = true, .iommu_aw = 48,
	     .nreq = 64, .depth = 4),
	CELL("echo-packed-indirect", .flow = VT_FLOW_IO, .access_platform = true,
	     .iommu_aw = 48, .packed = true, .indirect = true, .nseg_out = 2, .nseg_in = 2,
	     .nreq = 64, .depth = 4),
	CELL("blk-split-event-idx", .flow = VT_FLOW_IO, .blk = true, .access_platform = true,
	     .iommu_aw = 48, .event_idx = true, .nreq = 32, .depth = 4, .buf_size = 4096),
	CELL("blk-packed", .flow = VT_FLOW_IO, .blk = true, .access_platform = true,
	     .iommu_aw = 39, .packed = true, .nreq = 32, .depth = 4, .buf_size = 4096),
};

/* ACCESS_PLATFORM negotiated, yet the driver hands over guest-physical
 * addresses it never mapped (DRV-6.1): the front-end refuses every miss,
 * the device's access fails with INV-iommu-fault after the IOTLB
 * deadline, nothing completes, and nothing hangs. */
static void iotlb_refused(const struct vt_variant *v)
{
	struct vt_cell cell = *variant_cell(v);
	struct loop_target tg;
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	struct vt_verdict vd;
	char err[160] = "";

	loop_cell(&cell, &tg);
	tg.iotlb_timeout_ms = REFUSED_MISS_MS;
	vt_cell_to_cfg(&cell, &cfg);
	cfg.drv.dma = VT_DMA_DIRECT;
	cfg.timeout_ms = 1000;
	vt_verdict_init(&vd);
	if (vt_pair_open(&p, &cfg, &vd, err, sizeof(err)))
		vt_broken("%s", err);
	if (vt_pair_init(&p) == 0)
		CU_ASSERT_NOT_EQUAL(vt_pair_io(&p, 0), 0);
	const struct vhu_front_info *in = vhu_front_info(p.t);
	CU_ASSERT_TRUE_FATAL(in != NULL);
	vt_diag("front-end: %llu misses, %llu refused, %llu updates",
		(unsigned long long)in->iotlb_misses, (unsigned long long)in->iotlb_refused,
		(unsigned long long)in->iotlb_updates);
	CU_ASSERT_TRUE(in->iotlb_refused > 0);
	CU_ASSERT_EQUAL(in->iotlb_updates, 0);
	CU_ASSERT_TRUE(vhu_front_alive(p.t));
	p.drv->ops->reset(p.drv);
	vt_pair_close(&p);
	CU_ASSERT_TRUE_FATAL(tg.stopped);
	diag_backend(&tg);
	CU_ASSERT_TRUE(tg.last.iotlb_unanswered > 0);
	CU_ASSERT_EQUAL(tg.last.requests, 0);
	CU_ASSERT_FALSE(tg.last.error);
	CU_ASSERT_TRUE(vt_verdict_has(&vd, "INV-iommu-fault"));
	vt_report_verdict(&vd);
}

static const struct vt_variant refused_cells[] = {
	CELL("echo-split", .flow = VT_FLOW_IO, .access_platform = true, .iommu_aw = 48,
	     .nreq = 2),
	CELL("blk-packed", .flow = VT_FLOW_IO, .blk = true, .packed = true,
	     .access_platform = true, .iommu_aw = 48, .nreq = 2, .buf_size = 4096),
};

/* ---- a secure guest ---------------------------------------------------------- */

/* The backend is given the memfd of the region shared by construction and
 * nothing else; rings and bounce buffers live there. */
static void secure_shared_region(const struct vt_variant *v)
{
	struct loop_target tg;

	run_clean(variant_cell(v), &tg);
	CU_ASSERT_EQUAL(tg.last.mem_regions, 1);
	CU_ASSERT_EQUAL(tg.last.mem_gpa[0], VT_PAIR_SHARED_GPA);
	CU_ASSERT_EQUAL(tg.last.mem_size[0], VT_PAIR_SHARED_SIZE);
}

static const struct vt_variant secure_cells[] = {
	CELL("echo-split-iommu", .flow = VT_FLOW_IO, .secure = true, .shared_region = true,
	     .access_platform = true, .iommu_aw = 48, .nreq = 32, .depth = 4),
	CELL("blk-packed-iommu", .flow = VT_FLOW_IO, .blk = true, .packed = true,
	     .secure = true, .shared_region = true, .access_platform = true, .iommu_aw = 48,
	     .nreq = 16, .depth = 2, .buf_size = 4096),
};

/* ---- mutants across the socket ----------------------------------------------- */

/* Mutants whose cells fit a vhost-user loop: ring rules, which travel
 * through shared memory, not register rules the front-end emulates. */
static const char *const loop_mutant_names[] = {
	"drv-chain-loop", "drv-writable-first-split", "drv-indirect-nested-split",
	"drv-avail-idx-decrement",
	"dev-used-id-range", "dev-used-len-too-large-split", "dev-used-idx-jump",
	"dev-packed-wrong-wrap",
};
#define NMUT VT_ARRAY_SIZE(loop_mutant_names)

struct loop_mutant {
	const struct vt_mutant *m;
	bool faulty;
};

static struct loop_mutant mruns[NMUT][2];
static struct vt_variant mvariants[NMUT][2];
static char mclauses[NMUT][48];

static void mutant(const struct vt_variant *v)
{
	const struct loop_mutant *r = v->data;
	struct vt_cell cell = r->m->cell;
	struct loop_target tg;

	if (!r->faulty) {
		cell.drv_fault = VT_DRV_FAULT_NONE;
		cell.dev_fault = VT_DEV_FAULT_NONE;
		run_clean(&cell, &tg);
		return;
	}
	loop_cell(&cell, &tg);
	suite_expect_rule(&cell, r->m->rule, r->m->also);
	CU_ASSERT_TRUE(tg.stopped);
}

#define T(nm, cl, role, fn, vars) \
	{ nm, cl, role, "vhost-user", LOOP_TIMEOUT_MS, fn, vars, VT_ARRAY_SIZE(vars) }

static struct vt_test tests[4 + NMUT] = {
	T("ring", "DEV-2.7.8.2 DEV-2.8.15 DRV-2.7.5.2 DRV-2.8.17 INV-data-integrity",
	  VT_ROLE_DEVICE, ring, ring_cells),
	T("iotlb", "DEV-6.2 DRV-6.1 INV-iommu-fault INV-data-integrity", VT_ROLE_DEVICE, iotlb,
	  iotlb_cells),
	T("iotlb-refused", "DRV-6.1 INV-iommu-fault", VT_ROLE_DRIVER, iotlb_refused,
	  refused_cells),
	T("secure-shared-region", "INV-unshared-access INV-iommu-fault INV-data-integrity",
	  VT_ROLE_DRIVER, secure_shared_region, secure_cells),
};

struct vt_suite vt_suite_vhost_user_loop = {
	.area = "vhost-user-loop",
	.title = "the reference driver and the checking device through both vhost-user roles",
	.tests = tests,
	.ntests = 4,
};

__attribute__((constructor)) static void build_loop_mutants(void)
{
	unsigned n = 4;

	for (unsigned i = 0; i < NMUT; i++) {
		const struct vt_mutant *m = NULL;
		for (unsigned k = 0; k < vt_nmutants && !m; k++)
			if (!strcmp(vt_mutants[k].name, loop_mutant_names[i]))
				m = &vt_mutants[k];
		if (!m)
			continue;
		mruns[i][0] = (struct loop_mutant){ m, false };
		mruns[i][1] = (struct loop_mutant){ m, true };
		mvariants[i][0] = (struct vt_variant){ "clean", &mruns[i][0] };
		mvariants[i][1] = (struct vt_variant){ "caught", &mruns[i][1] };
		snprintf(mclauses[i], sizeof(mclauses[i]), "%s%s%s", m->rule, m->also ? " " : "",
			 m->also ? m->also : "");
		tests[n++] = (struct vt_test){
			.name = m->name,
			.clauses = mclauses[i],
			.role = m->subject,
			.transport = "vhost-user",
			.timeout_ms = LOOP_TIMEOUT_MS,
			.fn = mutant,
			.variants = mvariants[i],
			.nvariants = 2,
		};
	}
	vt_suite_vhost_user_loop.ntests = n;
}
