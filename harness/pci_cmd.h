/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pci_cmd.h - "vcts pci": judge the layout of virtio PCI functions (4.1)
 * found on this machine through libpci, read from an image file, or
 * started in QEMU and reached over qtest; TAP on stdout, one test point
 * per function.
 */
#ifndef VCTS_PCI_CMD_H
#define VCTS_PCI_CMD_H

extern const char vt_pci_cmd_usage[];

/* argv[0] is "pci".  Exit status: 0 nothing failed, 1 a function broke a
 * rule (or could not be judged), 2 usage. */
int vt_pci_cmd(int argc, char **argv);

#endif
