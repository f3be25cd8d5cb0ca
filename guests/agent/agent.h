/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * agent.h - the in-guest agent: what it knows of each virtio device and
 * the steps that find it out.
 *
 * The agent runs inside a Linux guest (as root, from the initramfs) and
 * reports on every virtio device the guest has: the facts the virtio core
 * shows in sysfs (device id, negotiated features, device status, the
 * driver bound), the PCI layout of virtio PCI functions (DEV-4.1.*), and
 * whether real I/O through the bound driver works.  The report is TAP on
 * the guest's second serial port, read by the host (harness/qemu/guest.c).
 *
 * Every path is taken relative to a sysfs, /dev and /proc root so the
 * agent can be run on a host against a tree made up for a test.
 */
#ifndef VCTS_AGENT_H
#define VCTS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_MAX_DEVS   64
#define AGENT_NAME_LEN   64

struct agent_opts {
	const char *out;           /* TAP destination ("-": stdout)            */
	const char *sysfs;         /* sysfs root, "/sys"                       */
	const char *dev;           /* device nodes, "/dev"                     */
	const char *proc;          /* procfs root, "/proc"                     */
	unsigned io_timeout_s;     /* per device; an I/O step past it fails    */
	bool io;                   /* run the I/O step at all                  */
	unsigned long long out_rdev; /* the report channel as a character device
					number, 0 if it is none: the console
					I/O step writes nothing there       */
};

enum agent_transport {
	AGENT_PCI,                 /* a PCI function                          */
	AGENT_MMIO,                /* a virtio-mmio platform device           */
	AGENT_OTHER,               /* any other parent (reported, not judged) */
};

/* One virtio device, or one virtio PCI function without a virtio device
 * (its transport probe failed or never ran). */
struct agent_dev {
	char name[AGENT_NAME_LEN];      /* test point: "pci-0000:00:03.0",
					   "mmio-0xfeb00000"                    */
	enum agent_transport transport;
	char parent[AGENT_NAME_LEN];    /* PCI address or platform device name */
	char vdev[32];                  /* "virtio3"; "" when there is none    */
	unsigned vindex;                /* 3 for virtio3                       */
	int virtio_id;                  /* virtio device ID, -1 unknown        */
	bool features_known;
	uint64_t features;              /* negotiated, bit 0 = first char      */
	unsigned feature_bits;          /* characters in the features file     */
	bool features_beyond_64;        /* a bit past 63 is set                */
	bool status_known;
	uint32_t status;                /* device status                       */
	char driver[48];                /* virtio driver bound, "none"         */
	char pci_driver[48];            /* PCI driver of the function, "none"  */
	unsigned type_ordinal;          /* among bound devices of its virtio ID,
					   in virtio index order (0, 1, ...)    */
};

/* The outcome of the I/O step of one device. */
enum agent_io_result { AGENT_IO_OK, AGENT_IO_FAIL, AGENT_IO_NONE };

struct agent_io {
	enum agent_io_result result;
	char reason[160];          /* why it failed or did nothing            */
	char detail[160];          /* what was done (for the report)          */
};

/* ---- sysfs.c: small file readers ---- */

/* snprintf into buf; returns buf ("" when it did not fit). */
char *agent_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The file as text, trailing white space removed.  0, or -1 (errno). */
int agent_read_text(const char *path, char *buf, size_t len);
/* The file as a number (C syntax: "0x1af4", "12").  0, or -1. */
int agent_read_num(const char *path, uint64_t *val);
/* Up to len bytes of the file; the count read, or -1. */
long agent_read_bin(const char *path, void *buf, size_t len);
/* Write text to the file.  0, or -1 (errno). */
int agent_write_text(const char *path, const char *text);
/* Last component of the symbolic link's target.  0, or -1. */
int agent_link_name(const char *path, char *buf, size_t len);
/* Second-to-last component of the link's target (a sysfs device's
 * parent device).  0, or -1. */
int agent_link_parent(const char *path, char *buf, size_t len);
/* The first directory entry of dir (not "." or ".."), in name order.
 * 0, or -1 when there is none. */
int agent_first_entry(const char *dir, char *buf, size_t len);

/* ---- enumerate.c: the devices ---- */

/* Every virtio device of the bus and every virtio PCI function without
 * one, sorted by name.  Returns the count (at most max). */
unsigned agent_enumerate(const struct agent_opts *o, struct agent_dev *devs, unsigned max);

/* ---- pci_layout.c: the layout rules of a virtio PCI function ---- */

struct vt_tap;
/* Judge the function's configuration space (DEV-4.1.*) and print the
 * "pci-layout" test point into sub. */
void agent_pci_layout(const struct agent_opts *o, const struct agent_dev *d, struct vt_tap *sub);
/* Device status read from the function's common configuration structure
 * through its memory BAR (reads only).  0, or -1 when it cannot be read. */
int agent_pci_peek_status(const struct agent_opts *o, const char *pci, uint32_t *status);

/* ---- kmsg.c: what the kernel said ---- */

/* The first kernel log message at warning level or worse that names the
 * virtio device ("virtio_blk virtio3: ..."), from o->dev/kmsg.  0, or -1
 * when there is none (buf is then ""). */
int agent_kmsg(const struct agent_opts *o, const char *vdev, char *buf, size_t len);

/* ---- io.c and io_*.c: real I/O through the bound driver ---- */

/* Run the I/O step of the device's type in a child process bounded by
 * o->io_timeout_s. */
void agent_io(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r);

void agent_io_blk(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r);
void agent_io_rng(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r);
void agent_io_console(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r);
void agent_io_net(const struct agent_opts *o, const struct agent_dev *d, struct agent_io *r);

/* printf into r->reason and set the result; for one-line returns. */
void agent_io_set(struct agent_io *r, enum agent_io_result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- out.c: the report channel ---- */

/* Open the TAP destination: a terminal is put in raw mode so no newline
 * translation touches the stream.  Returns a stream, or NULL (errno). */
FILE *agent_out_open(const char *path);
/* Flush, drain a terminal, sync a file, close.  0, or -1. */
int agent_out_close(FILE *f);

#endif
