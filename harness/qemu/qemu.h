/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu.h - QEMU's built-in virtio-pci devices as devices under test,
 * reached over the qtest protocol with no guest kernel.
 *
 * A target names one device and its properties (virtio-blk-pci with
 * disable-legacy=on and packed=on, ...).  vt_qemu_start() builds the
 * command line and starts QEMU through proc.h:
 *
 *   qemu-system-x86_64 -display none -nodefaults -monitor none
 *     -machine q35,memory-backend=ram0 -accel tcg -m N
 *     -object memory-backend-file,id=ram0,size=N,share=on,
 *             mem-path=/proc/<our pid>/fd/<memfd of guest RAM>
 *     -qtest unix:SOCK -qtest-log /dev/null  [-S | -bios HALT]
 *     <backend> -device <device>,addr=0x3,<properties>
 *
 * Guest RAM is the pair's own memfd: the rings and buffers the driver
 * writes through gmem_drv() are QEMU's guest RAM byte for byte, so the
 * device reads and writes them with no copy and no qtest traffic.
 *
 * Devices whose queues only run while the machine runs (virtio-rng,
 * virtio-net, virtio-serial check the run state) get a running machine
 * instead of -S: the firmware is a 64 KiB image whose reset vector halts
 * the only vCPU with interrupts off, so nothing but us touches the PCI
 * configuration ports.
 *
 * vt_qtest_open() is a pair's open_target: cfg.target points at a struct
 * vt_qemu_target, the pair's guest memory becomes QEMU's RAM, and the
 * returned transport (virtio_pci.c over the qtest accessor) stops QEMU
 * when it is destroyed.
 */
#ifndef VCTS_QEMU_H
#define VCTS_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../gmem.h"
#include "../pair.h"
#include "../proc.h"
#include "../transport/pci_check.h"
#include "../transport/qtest.h"
#include "../transport/virtio_pci.h"

enum vt_qemu_backend {
	VT_QEMU_BACKEND_NONE,
	VT_QEMU_BACKEND_DISK,      /* a raw image in the test's directory            */
	VT_QEMU_BACKEND_NET,       /* -netdev socket, UDP to itself on loopback     */
	VT_QEMU_BACKEND_RNG,       /* QEMU's built-in entropy source                 */
	VT_QEMU_BACKEND_CONSOLE,   /* virtconsole on port 0, chardev looping back    */
};

struct vt_qemu_target {
	const char *name;          /* "blk", "blk-packed", ...                     */
	const char *device;        /* "virtio-blk-pci"                             */
	const char *props;         /* "disable-legacy=on,packed=on"                */
	uint16_t device_id;        /* VIRTIO_ID_*                                  */
	enum vt_qemu_backend backend;
	bool run;                  /* the machine must run (see above)             */
	bool intx;                 /* no MSI-X: notifications through INTx / ISR    */
};

/* The targets the qemu suite runs, NULL-terminated by name. */
extern const struct vt_qemu_target vt_qemu_targets[];
const struct vt_qemu_target *vt_qemu_target_find(const char *name);

/* The emulator: $VCTS_QEMU, else qemu-system-x86_64 from PATH. */
const char *vt_qemu_binary(void);
/* Is it there (an executable found in PATH)? */
bool vt_qemu_available(void);
/* "7.2.22" from `QEMU --version`; returns 0 or -1. */
int vt_qemu_version(char *buf, size_t len);

/* Where the function sits: bus 0, device 3, function 0. */
#define VT_QEMU_SLOT 3

struct vt_qemu {
	struct vt_proc proc;
	struct vt_qtest qt;
	struct vt_qtest_fn fn_state;
	struct vt_pci_fn fn;          /* the device's PCI function over qtest */
	const struct vt_qemu_target *target;
	char sock[256];
	char disk[256];
	char console[256];            /* the loopback FIFO of a console          */
	unsigned startup_ms;          /* spawn to qtest connected                */
	bool started;
};

/* Start QEMU with `gm` as its RAM (region 0 only, from GPA 0) and connect
 * the qtest socket.  Returns 0, or -1 with a reason in err. */
int  vt_qemu_start(struct vt_qemu *qm, const struct vt_qemu_target *tg, struct gmem *gm,
		   char *err, size_t errlen);
/* Is QEMU still running? */
bool vt_qemu_alive(struct vt_qemu *qm);
/* The last line QEMU printed (its complaints), into buf. */
void vt_qemu_log_tail(struct vt_qemu *qm, char *buf, size_t len);
/* Close the socket, stop QEMU, remove what it left. */
void vt_qemu_stop(struct vt_qemu *qm);

/* QEMU with target's device, gm (one region from GPA 0) as its RAM, the
 * function brought up as a virtio-pci transport reporting into vd.  Below
 * 1 MiB and one page more of gm are taken (legacy hole, MSI-X messages).
 * Destroying the transport stops QEMU.  NULL with a reason in err. */
struct vt_transport *vt_qemu_open(const struct vt_qemu_target *tg, struct gmem *gm,
				  struct vt_verdict *vd, char *err, size_t errlen);
/* The pair's open_target for cfg.target = a struct vt_qemu_target. */
struct vt_transport *vt_qtest_open(struct vt_pair *p, char *err, size_t errlen);
/* The QEMU behind a transport vt_qtest_open returned. */
struct vt_qemu *vt_qtest_qemu(struct vt_transport *t);

/* The layout of the function behind a vt_qtest_open transport, for
 * vt_pci_check(): its configuration space now, its BARs, and access to
 * the live function through view (which must outlive img). */
struct vt_qemu_pci_view {
	struct vt_pci_access access;
	struct vt_qemu *qm;
	struct vt_pci_bar bar[VT_PCI_NBARS];
};
int vt_qemu_pci_image(struct vt_transport *t, struct vt_pci_image *img,
		      struct vt_qemu_pci_view *view);

#endif
