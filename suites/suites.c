/* SPDX-License-Identifier: GPL-2.0-or-later */
/* suites.c - the catalogue, in the order the specification tells it. */
#include <stddef.h>

#include "suites.h"

const struct vt_suite *const vt_suites[] = {
	&vt_suite_status,
	&vt_suite_features,
	&vt_suite_config,
	&vt_suite_vq_reset,
	&vt_suite_split,
	&vt_suite_packed,
	&vt_suite_dma,
	&vt_suite_qemu,
	&vt_suite_vhost_user,
	&vt_suite_vhost_user_backend,
	&vt_suite_vhost_user_loop,
	&vt_suite_mutant,
	NULL,
};
