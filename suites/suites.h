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
extern struct vt_suite vt_suite_mutant;

#endif
