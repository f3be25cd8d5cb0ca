/* SPDX-License-Identifier: GPL-2.0-or-later */
/* suites.h - the suites of the in-process catalogue. */
#ifndef VCTS_SUITES_H
#define VCTS_SUITES_H

#include "../harness/test.h"

extern const struct vt_suite vt_suite_status;
extern const struct vt_suite vt_suite_features;
extern const struct vt_suite vt_suite_config;
extern const struct vt_suite vt_suite_split;
extern const struct vt_suite vt_suite_packed;
extern const struct vt_suite vt_suite_vq_reset;
extern const struct vt_suite vt_suite_dma;
extern const struct vt_suite vt_suite_qemu;
extern const struct vt_suite vt_suite_vhost_user;
extern const struct vt_suite vt_suite_vhost_user_backend;
extern struct vt_suite vt_suite_vhost_user_loop;
extern struct vt_suite vt_suite_mutant;
/* `vcts device --vhost-user SOCK`: the vhost-user tests against a socket. */
const struct vt_suite *const *vt_vhost_user_device_catalogue(uint16_t device_id, const char *sock);

#endif
