/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guest_cmd.h - the `vcts guest` command. */
#ifndef VCTS_GUEST_CMD_H
#define VCTS_GUEST_CMD_H

int vt_guest_main(int argc, char **argv);
extern const char vt_guest_usage[];

#endif
