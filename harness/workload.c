/* SPDX-License-Identifier: GPL-2.0-or-later */
/* workload.c - the workload of each device type. */
#include <stddef.h>

#include "workload.h"

static const struct vt_workload *const workloads[] = {
	&vt_workload_echo,
	&vt_workload_blk,
	&vt_workload_net,
	&vt_workload_fs,
	&vt_workload_rng,
	&vt_workload_console,
	NULL,
};

const struct vt_workload *vt_workload_find(uint16_t device_id)
{
	for (unsigned i = 0; workloads[i]; i++)
		if (workloads[i]->device_id == device_id)
			return workloads[i];
	return NULL;
}
