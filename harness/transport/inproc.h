/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inproc.h - the in-process transport: a driver and a checking device in
 * the same process.
 *
 * "inproc": every operation is a direct call into the device; a
 * notification processes the queue before it returns; poll() runs the
 * device's deferred work.
 *
 * "inproc-thread": register operations are still direct calls (the
 * device locks), but a notification only rings a doorbell for a device
 * thread that processes the queue; the thread also polls the device
 * about every millisecond when idle.  poll() from the driver just yields.
 *
 * The transport does not own the device: destroy the transport first,
 * then the device.
 */
#ifndef VCTS_TRANSPORT_INPROC_H
#define VCTS_TRANSPORT_INPROC_H

#include <stdbool.h>

#include "transport.h"
#include "../device/device.h"

struct vt_transport *vt_inproc_create(struct vt_device *dev, bool threaded);

#endif
