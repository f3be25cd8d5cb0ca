/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport.h - how a driver reaches a device, whatever carries it.
 *
 * The operations are the register-level interface every virtio transport
 * offers (4.1 PCI common configuration is the model): device status,
 * 32-bit feature words selected by index, the device-specific
 * configuration space accessed 1, 2 or 4 bytes at a time with a
 * generation counter, per-queue size and area addresses, queue enable
 * and reset, and available-buffer notifications.  Device-to-driver
 * notifications (used buffers, configuration change) are counted in the
 * transport; a driver reads the counters.
 *
 * Addresses given to queue_set() are device addresses: IOVAs when the
 * driver translates through the IOMMU, GPAs otherwise.
 *
 * A transport is shared by exactly one driver and one device.  In-process
 * today (transport/inproc.c); vhost-user and qtest implement the same ops.
 */
#ifndef VCTS_TRANSPORT_H
#define VCTS_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#define VT_MAX_QUEUES   8

struct vt_queue_cfg {
	uint16_t size;          /* queue size chosen by the driver */
	uint64_t desc;          /* descriptor area / descriptor ring     */
	uint64_t driver;        /* driver area: avail ring / driver event */
	uint64_t device;        /* device area: used ring / device event  */
};

struct vt_transport;

struct vt_transport_ops {
	uint8_t  (*get_status)(struct vt_transport *t);
	void     (*set_status)(struct vt_transport *t, uint8_t status);
	/* Feature word `sel` (0: bits 0..31, 1: bits 32..63). */
	uint32_t (*get_device_features)(struct vt_transport *t, unsigned sel);
	void     (*set_driver_features)(struct vt_transport *t, unsigned sel, uint32_t val);
	uint32_t (*config_generation)(struct vt_transport *t);
	/* width is 1, 2 or 4; off + width <= config size. */
	uint32_t (*config_read)(struct vt_transport *t, unsigned off, unsigned width);
	void     (*config_write)(struct vt_transport *t, unsigned off, unsigned width, uint32_t val);
	unsigned (*num_queues)(struct vt_transport *t);
	uint16_t (*queue_size_max)(struct vt_transport *t, unsigned q);
	/* Program size and areas of queue q (not yet enabled). */
	void     (*queue_set)(struct vt_transport *t, unsigned q, const struct vt_queue_cfg *cfg);
	void     (*queue_enable)(struct vt_transport *t, unsigned q);
	bool     (*queue_enabled)(struct vt_transport *t, unsigned q);
	/* VIRTIO_F_RING_RESET: request a reset of queue q; queue_reset_done
	 * reads back whether the device completed it (PCI queue_reset == 1). */
	void     (*queue_reset)(struct vt_transport *t, unsigned q);
	bool     (*queue_reset_done)(struct vt_transport *t, unsigned q);
	/* Available buffer notification.  `data` is what the driver writes:
	 * without VIRTIO_F_NOTIFICATION_DATA the queue index; with it
	 * q | next_off << 16 | next_wrap << 31. */
	void     (*notify)(struct vt_transport *t, unsigned q, uint32_t data);
	/* Give the device a chance to run: a device without its own thread
	 * completes deferred work and runs its idle checks here.  Drivers
	 * call it while they wait. */
	void     (*poll)(struct vt_transport *t);
	void     (*destroy)(struct vt_transport *t);
};

struct vt_transport {
	const struct vt_transport_ops *ops;
	const char *name;                     /* "inproc", "inproc-thread", ... */
	/* The device runs only inside these ops, on the caller's thread (an
	 * in-process device without a thread): after poll() it has done all
	 * it will do, so nobody needs to wait for it. */
	bool synchronous;
	/* Device-to-driver notifications, counted.  Written by the device
	 * side with __atomic_add_fetch(..., __ATOMIC_RELEASE); drivers read
	 * with __atomic_load_n(..., __ATOMIC_ACQUIRE). */
	uint32_t used_irq[VT_MAX_QUEUES];
	uint32_t config_irq;
};

#define VT_NOTIFY_DATA(q, off, wrap) \
	((uint32_t)(q) | ((uint32_t)(off) & 0x7fff) << 16 | ((uint32_t)(wrap) & 1) << 31)

static inline uint32_t vt_used_irqs(struct vt_transport *t, unsigned q)
{
	return __atomic_load_n(&t->used_irq[q], __ATOMIC_ACQUIRE);
}

static inline uint32_t vt_config_irqs(struct vt_transport *t)
{
	return __atomic_load_n(&t->config_irq, __ATOMIC_ACQUIRE);
}

/* 64-bit feature helpers over the 32-bit words. */
static inline uint64_t vt_get_device_features(struct vt_transport *t)
{
	return (uint64_t)t->ops->get_device_features(t, 1) << 32 |
	       t->ops->get_device_features(t, 0);
}

static inline void vt_set_driver_features(struct vt_transport *t, uint64_t f)
{
	t->ops->set_driver_features(t, 0, (uint32_t)f);
	t->ops->set_driver_features(t, 1, (uint32_t)(f >> 32));
}

#endif
