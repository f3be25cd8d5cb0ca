/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scenario.c - run a cell's flow over a driver/device pair. */
#include <stdio.h>
#include <string.h>

#include "scenario.h"

void vt_cell_to_cfg(const struct vt_cell *cell, struct vt_pair_cfg *c)
{
	vt_pair_cfg_default(c);
	c->type = cell->blk ? &vt_device_blk : &vt_device_echo;

	uint64_t f = VT_BIT(VIRTIO_F_VERSION_1);
	if (cell->packed)
		f |= VT_BIT(VIRTIO_F_RING_PACKED);
	if (cell->indirect)
		f |= VT_BIT(VIRTIO_F_INDIRECT_DESC);
	if (cell->event_idx)
		f |= VT_BIT(VIRTIO_F_EVENT_IDX);
	if (cell->notif_data)
		f |= VT_BIT(VIRTIO_F_NOTIFICATION_DATA);
	if (cell->ring_reset || cell->flow == VT_FLOW_QUEUE_RESET)
		f |= VT_BIT(VIRTIO_F_RING_RESET);
	if (cell->access_platform) {
		f |= VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
		c->dev.offer |= VT_BIT(VIRTIO_F_ACCESS_PLATFORM);
	}
	c->drv.features = f;
	c->drv.accept_access_platform = true;
	c->drv.dma = cell->iommu_aw ? VT_DMA_IOMMU : VT_DMA_DIRECT;
	c->drv.device_addr_width = cell->dev_width;
	c->drv.use_indirect = cell->indirect || cell->drv_fault == VT_DRV_FAULT_INDIRECT_NOT_NEGOTIATED;
	c->drv.mixed_indirect = cell->mixed_indirect;
	c->drv.indirect_write_flag = cell->indirect_write_flag;
	c->drv.suppress_used_notify = cell->suppress;
	c->drv.prefill_before_driver_ok = cell->prefill;
	c->drv.fault = (enum vt_drv_fault)cell->drv_fault;
	c->drv.queue_size = cell->queue_size;

	c->dev.complete_batch = cell->batch;
	c->dev.reset_delay_reads = cell->reset_delay;
	c->dev.error_after = cell->error_after;
	c->dev.refuse_if_acked = cell->dev_refuse;
	c->dev.require_acked = cell->dev_require;
	c->dev.fault = (enum vt_dev_fault)cell->dev_fault;

	c->secure = cell->secure;
	c->iommu_aw = cell->iommu_aw;
	c->dev_width = cell->dev_width;
	c->high_mem = cell->high_mem;
	c->shared_region = cell->shared_region;
	c->buf_region = cell->buf_region;
	c->threaded = cell->threaded;
	if (cell->nseg_out)
		c->nseg_out = cell->nseg_out;
	if (cell->nseg_in)
		c->nseg_in = cell->nseg_in;
	if (cell->depth)
		c->depth = cell->depth;
	if (cell->nreq)
		c->nreq = cell->nreq;
	if (cell->buf_size)
		c->buf_size = cell->buf_size;
	if (cell->batch > c->depth)
		c->depth = cell->batch;   /* the device holds chains: keep them coming */
	c->target = cell->target;
	c->open_target = cell->open_target;
	if (cell->device_id)
		c->device_id = cell->device_id;
}

static int io_and_reset(struct vt_pair *p, unsigned n)
{
	int rc = vt_pair_io(p, n);
	if (p->drv->ops->reset(p->drv) && rc == 0)
		rc = -1;
	return rc;
}

static int flow_refuse_reinit(struct vt_pair *p)
{
	int rc = vt_pair_init(p);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, "FEATURES_OK refused",
				    "FEATURES_OK kept",
				    "the device was set to refuse this feature set but accepted it");
	/* the device refused: the driver set FAILED; it may start again */
	if (vt_pair_init(p) != 1)
		return vt_verdict_failed(p->vd) ? -1 : 0;
	return 0;
}

static int flow_queue_reset(struct vt_pair *p)
{
	struct vt_driver *d = p->drv;
	unsigned half = p->cfg.nreq / 2 ? p->cfg.nreq / 2 : 1;

	if (vt_pair_io(p, half))
		return -1;
	/* a smaller ring after re-enable: the device must use the new size */
	if (d->ops->queue_reset(d, 0, VT_CELL_RESET_QSIZE) < 0)
		return -1;
	return io_and_reset(p, half);
}

static int flow_reset_inflight(struct vt_pair *p)
{
	struct vt_driver *d = p->drv;
	unsigned held = p->cfg.dev.complete_batch ? p->cfg.dev.complete_batch - 1 : 1;

	/* leave fewer chains than the batch so the device holds them */
	if (vt_pair_io(p, p->cfg.dev.complete_batch ? p->cfg.dev.complete_batch : 1))
		return -1;
	for (unsigned i = 0; i < held; i++) {
		struct vt_buf out = { p->slots[i].out_gpa, p->cfg.buf_size };
		struct vt_buf in = { p->slots[i].in_gpa, p->cfg.buf_size };
		if (d->ops->add(d, 0, &out, 1, &in, 1, (void *)(uintptr_t)(i + 1)) != 0)
			return -1;
	}
	d->ops->kick(d, 0);
	p->t->ops->poll(p->t);
	return d->ops->reset(d) ? -1 : 0;
}

static int flow_error_state(struct vt_pair *p)
{
	/* the device enters its error state after error_after requests; the
	 * I/O is expected to stop, a rule broken on the way is not */
	(void)vt_pair_io(p, 0);
	if (vt_verdict_failed(p->vd))
		return -1;
	uint8_t st = p->t->ops->get_status(p->t);
	if (!(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return vt_violation(p->vd, "INV-harness-fault", VT_WHO_HARNESS, "NEEDS_RESET", "clear",
				    "the device was set to fail after %u requests but did not",
				    p->cfg.dev.error_after);
	return p->drv->ops->reset(p->drv) ? -1 : 0;
}

static int flow_hostile_features(struct vt_pair *p)
{
	int rc = vt_pair_init(p);
	if (rc == 0)
		return vt_violation(p->vd, "DEV-2.2.2", VT_WHO_DEVICE, "FEATURES_OK cleared",
				    "FEATURES_OK kept",
				    "device accepted a feature set containing a bit it did not offer");
	if (rc < 0 && !vt_verdict_has(p->vd, "DRV-2.2.1"))
		return -1;
	return p->drv->ops->reset(p->drv) ? -1 : 0;
}

/* Did the run fail on payload integrity alone? */
static bool only_integrity(struct vt_verdict *vd)
{
	if (!vd->n_must || vd->dropped)
		return false;
	for (unsigned i = 0; i < vd->n; i++)
		if (vd->v[i].sev == VT_SEV_MUST && strcmp(vd->v[i].rule, "INV-data-integrity"))
			return false;
	return true;
}

/*
 * A split-ring request cut into several descriptors came back wrong.  Run
 * the same cell with every request in one descriptor each way: if that is
 * right, the device depends on how the driver arranged the descriptors,
 * which 2.7.4 forbids (DEV-2.7.4.1), and that is the finding.
 */
static void attribute_framing(const struct vt_cell *cell, struct vt_verdict *vd)
{
	struct vt_cell one = *cell;
	struct vt_verdict again;
	char err[160];

	if (cell->packed || (cell->nseg_out <= 1 && cell->nseg_in <= 1) || !only_integrity(vd))
		return;
	one.nseg_out = one.nseg_in = 1;
	vt_verdict_init(&again);
	if (vt_cell_run(&one, &again, err, sizeof(err)) != 0 || again.n)
		return;
	char got[VT_VIOL_VAL];
	snprintf(got, sizeof(got), "%.*s", VT_VIOL_VAL - 1, vd->v[0].msg);
	vt_verdict_reset(vd);
	vt_violation(vd, "DEV-2.7.4.1", VT_WHO_DEVICE, "the same payload", got,
		     "requests in %u readable + %u writable descriptors come back wrong; "
		     "the same requests in one descriptor each way are right",
		     cell->nseg_out ? cell->nseg_out : 1, cell->nseg_in ? cell->nseg_in : 1);
}

int vt_cell_run(const struct vt_cell *cell, struct vt_verdict *vd, char *err, size_t errlen)
{
	struct vt_pair_cfg cfg;
	struct vt_pair p;
	int rc;

	vt_cell_to_cfg(cell, &cfg);
	if (vt_pair_open(&p, &cfg, vd, err, errlen))
		return -2;

	switch (cell->flow) {
	case VT_FLOW_REFUSE_REINIT:
		rc = flow_refuse_reinit(&p);
		break;
	case VT_FLOW_HOSTILE_FEATURES:
		rc = flow_hostile_features(&p);
		break;
	default:
		rc = vt_pair_init(&p);
		if (rc == 1) {
			snprintf(err, errlen, "the driver refused the device");
			rc = vt_verdict_failed(vd) ? -1 : -2;
			break;
		}
		if (rc < 0)
			break;
		switch (cell->flow) {
		case VT_FLOW_QUEUE_RESET:
			rc = flow_queue_reset(&p);
			break;
		case VT_FLOW_RESET_INFLIGHT:
			rc = flow_reset_inflight(&p);
			break;
		case VT_FLOW_ERROR_STATE:
			rc = flow_error_state(&p);
			break;
		default:
			rc = io_and_reset(&p, 0);
			break;
		}
	}
	vt_pair_close(&p);
	if (rc == -1)
		attribute_framing(cell, vd);
	return rc;
}
