/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inproc.c - the in-process transport (direct calls, optionally with the
 * device on its own thread).
 *
 * Threaded mode: the driver's notification runs the checks that belong
 * to the moment it is sent (vt_device_notify_check), sets the queue's
 * doorbell bit and wakes the device thread only if it sleeps.  The thread
 * takes the doorbell bits, processes those queues, polls the device every
 * millisecond, spins briefly when idle and then sleeps on a condition
 * variable with a 1 ms timeout.  No system call is made per notification
 * while the device thread is busy.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "inproc.h"

#define POLL_NS      1000000ULL   /* device poll period when idle     */
#define SPIN_NS      50000ULL     /* busy-wait before sleeping        */

struct inproc {
	struct vt_transport t;        /* first: ops receive &t            */
	struct vt_device *dev;
	bool threaded;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t doorbell;            /* one bit per queue with news       */
	int sleeping;
	int stop;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline struct inproc *of(struct vt_transport *t)
{
	return (struct inproc *)t;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Device-to-driver notifications are counted for the driver. */
static void irq(void *ctx, int vector)
{
	struct vt_transport *t = ctx;

	if (vector == VT_IRQ_CONFIG)
		__atomic_add_fetch(&t->config_irq, 1, __ATOMIC_RELEASE);
	else if (vector >= 0 && vector < VT_MAX_QUEUES)
		__atomic_add_fetch(&t->used_irq[vector], 1, __ATOMIC_RELEASE);
}

/* ---- register operations: direct calls in both modes ---- */

static uint8_t get_status(struct vt_transport *t)
{
	return vt_device_get_status(of(t)->dev);
}

static void set_status(struct vt_transport *t, uint8_t status)
{
	vt_device_set_status(of(t)->dev, status);
}

static uint32_t get_device_features(struct vt_transport *t, unsigned sel)
{
	return vt_device_get_features(of(t)->dev, sel);
}

static void set_driver_features(struct vt_transport *t, unsigned sel, uint32_t val)
{
	vt_device_set_features(of(t)->dev, sel, val);
}

static uint32_t config_generation(struct vt_transport *t)
{
	return vt_device_config_generation(of(t)->dev);
}

static uint32_t config_read(struct vt_transport *t, unsigned off, unsigned width)
{
	return vt_device_config_read(of(t)->dev, off, width);
}

static void config_write(struct vt_transport *t, unsigned off, unsigned width, uint32_t val)
{
	vt_device_config_write(of(t)->dev, off, width, val);
}

static unsigned num_queues(struct vt_transport *t)
{
	return vt_device_num_queues(of(t)->dev);
}

static uint16_t queue_size_max(struct vt_transport *t, unsigned q)
{
	return vt_device_queue_size_max(of(t)->dev, q);
}

static void queue_set(struct vt_transport *t, unsigned q, const struct vt_queue_cfg *cfg)
{
	vt_device_queue_set(of(t)->dev, q, cfg->size, cfg->desc, cfg->driver, cfg->device);
}

static void queue_enable(struct vt_transport *t, unsigned q)
{
	vt_device_queue_enable(of(t)->dev, q);
}

static bool queue_enabled(struct vt_transport *t, unsigned q)
{
	return vt_device_queue_enabled(of(t)->dev, q);
}

static void queue_reset(struct vt_transport *t, unsigned q)
{
	vt_device_queue_reset(of(t)->dev, q);
}

static bool queue_reset_done(struct vt_transport *t, unsigned q)
{
	return vt_device_queue_reset_done(of(t)->dev, q);
}


/* ---- threaded mode ---- */

static void ring_doorbell(struct inproc *ip, unsigned q)
{
	__atomic_fetch_or(&ip->doorbell, 1u << q, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ip->sleeping, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&ip->mu);
		pthread_cond_signal(&ip->cv);
		pthread_mutex_unlock(&ip->mu);
	}
}

/* Direct mode: the device runs now, in the driver's thread.  Threaded: the
 * checks that belong to the moment of the notification run here, the
 * processing on the device thread. */
static void notify_device(struct vt_transport *t, unsigned q, uint32_t data)
{
	struct inproc *ip = of(t);

	if (!ip->threaded || q >= 32) {
		vt_device_notify(ip->dev, q, data);
		return;
	}
	vt_device_notify_check(ip->dev, q, data);
	ring_doorbell(ip, q);
}

/* Direct mode: deferred work and idle checks; threaded: the device thread
 * does those, the driver just yields to it. */
static void poll_device(struct vt_transport *t)
{
	if (of(t)->threaded)
		sched_yield();
	else
		vt_device_poll(of(t)->dev);
}

static void sleep_briefly(struct inproc *ip)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)POLL_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_nsec -= 1000000000L;
		ts.tv_sec++;
	}
	pthread_mutex_lock(&ip->mu);
	__atomic_store_n(&ip->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&ip->doorbell, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&ip->stop, __ATOMIC_SEQ_CST))
		pthread_cond_timedwait(&ip->cv, &ip->mu, &ts);
	__atomic_store_n(&ip->sleeping, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&ip->mu);
}

static void *device_thread(void *arg)
{
	struct inproc *ip = arg;
	uint64_t last_poll = now_ns(), last_work = last_poll;

	while (!__atomic_load_n(&ip->stop, __ATOMIC_ACQUIRE)) {
		uint32_t bell = __atomic_exchange_n(&ip->doorbell, 0, __ATOMIC_SEQ_CST);
		uint64_t now;

		while (bell) {
			unsigned q = (unsigned)__builtin_ctz(bell);
			bell &= bell - 1;
			vt_device_process(ip->dev, q);
		}
		now = now_ns();
		if (now - last_poll >= POLL_NS) {
			vt_device_poll(ip->dev);
			last_poll = now;
		}
		if (__atomic_load_n(&ip->doorbell, __ATOMIC_RELAXED)) {
			last_work = now;
			continue;
		}
		if (now - last_work < SPIN_NS) {
			cpu_relax();
			continue;
		}
		sleep_briefly(ip);
		last_work = now_ns();
	}
	return NULL;
}

static void destroy(struct vt_transport *t)
{
	struct inproc *ip = of(t);

	if (ip->started) {
		__atomic_store_n(&ip->stop, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&ip->mu);
		pthread_cond_signal(&ip->cv);
		pthread_mutex_unlock(&ip->mu);
		pthread_join(ip->thread, NULL);
	}
	vt_device_set_irq(ip->dev, NULL, NULL);
	pthread_cond_destroy(&ip->cv);
	pthread_mutex_destroy(&ip->mu);
	free(ip);
}

static const struct vt_transport_ops inproc_ops = {
	.get_status = get_status,
	.set_status = set_status,
	.get_device_features = get_device_features,
	.set_driver_features = set_driver_features,
	.config_generation = config_generation,
	.config_read = config_read,
	.config_write = config_write,
	.num_queues = num_queues,
	.queue_size_max = queue_size_max,
	.queue_set = queue_set,
	.queue_enable = queue_enable,
	.queue_enabled = queue_enabled,
	.queue_reset = queue_reset,
	.queue_reset_done = queue_reset_done,
	.notify = notify_device,
	.poll = poll_device,
	.destroy = destroy,
};

struct vt_transport *vt_inproc_create(struct vt_device *dev, bool threaded)
{
	struct inproc *ip;
	pthread_condattr_t ca;

	if (!dev) {
		errno = EINVAL;
		return NULL;
	}
	ip = calloc(1, sizeof(*ip));
	if (!ip)
		return NULL;
	ip->dev = dev;
	ip->threaded = threaded;
	ip->t.ops = &inproc_ops;
	ip->t.name = threaded ? "inproc-thread" : "inproc";
	ip->t.synchronous = !threaded;
	pthread_mutex_init(&ip->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ip->cv, &ca);
	pthread_condattr_destroy(&ca);
	vt_device_set_irq(dev, irq, &ip->t);
	if (threaded) {
		int rc = pthread_create(&ip->thread, NULL, device_thread, ip);
		if (rc) {
			destroy(&ip->t);
			errno = rc;
			return NULL;
		}
		ip->started = true;
	}
	return &ip->t;
}
