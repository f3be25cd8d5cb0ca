/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest.h - a real Linux guest under QEMU, carrying many virtio devices.
 *
 * One guest serves many device-level cells: each device gets its own PCI
 * slot (addr=0x3, 0x4, ...) and its own properties (iommu_platform,
 * packed, event_idx, indirect_desc ...).  The guest boots Debian's kernel
 * uncompressed with an initramfs whose /init loads the virtio modules and
 * runs the static agent (guests/agent/), which reports TAP on the guest's
 * second serial port: one test point per virtio function, named
 * "pci-0000:00:SS.0", with the facts the host judges (virtio device id,
 * negotiated features, status, driver, I/O result).
 *
 * On -M microvm (no PCI) the devices are virtio-mmio transports instead,
 * named by their register base ("mmio-0xfeb02e00"); the agent's port is a
 * second ISA serial port, ttyS1 as on q35.
 *
 * The console (ttyS0) and QEMU's own output are kept apart in the run's
 * directory and attached to failures.  A guest that hangs, panics or never
 * says it is done is stopped at its deadline: never a hang of the harness.
 */
#ifndef VCTS_GUEST_H
#define VCTS_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_GUEST_MAX_DEVS  24
#define VT_GUEST_FIRST_SLOT 3

/* The -netdev backend of every net device, options without the id
 * (default "user,restrict=on": QEMU's user network answers ARP and ICMP
 * echo for its host address 10.0.2.2 and reaches nothing outside).  E.g.
 * "hubport,hubid=7", a hub with nothing else on it: frames go out and
 * nothing ever answers. */
#define VT_GUEST_NETDEV_ENV "VCTS_GUEST_NETDEV"
/* Extra QEMU properties for the devices of named cells, appended to the
 * cell's own (the last value of a property wins): "CELL:PROPS[;CELL:PROPS]",
 * e.g. "blk:disable-legacy=off,disable-modern=on" makes the blk cell's
 * device a legacy one, judged by what the blk cell expects. */
#define VT_GUEST_PROPS_ENV "VCTS_GUEST_DEVICE_PROPS"

struct vt_device_type;

/* Our checking device served to QEMU as a vhost-user device (a
 * vhost-user-blk-pci function): it judges the guest's driver. */
struct vt_guest_vhost {
	const struct vt_device_type *type;   /* NULL: a QEMU device           */
	uint64_t offer;           /* device-independent features offered        */
	unsigned fault;           /* enum vt_dev_fault: a device that breaks one
				     rule on purpose, to see how the guest's
				     driver takes it (0: none)                 */
};

struct vt_guest_dev {
	char name[48];            /* the cell: "blk", "blk-ap", "rng-packed" ...   */
	char device[32];          /* "virtio-blk-pci"                              */
	char props[160];          /* "disable-legacy=on,iommu_platform=on"         */
	bool disk;                /* needs a backing raw image                     */
	bool rng;                 /* needs an rng backend object                   */
	bool console;             /* needs a virtconsole port                      */
	bool net;                 /* needs a -netdev: its own QEMU user network,
				     restricted (nothing reaches the host's
				     network; VT_GUEST_NETDEV_ENV overrides)  */
	struct vt_guest_vhost vhost; /* type set: served by our device         */
};

struct vt_guest_cfg {
	const char *vmlinux;
	const char *initrd;
	unsigned mem_mb;          /* 0: 512                                        */
	unsigned iommu_aw;        /* 0: none; 39 or 48: intel-iommu aw-bits        */
	const char *append;       /* extra kernel command line, or NULL            */
	const char *bios;         /* firmware image (-bios), or NULL: QEMU's own   */
	unsigned timeout_ms;      /* 0: 60000                                      */
	bool kvm;                 /* -accel kvm (only after vt_guest_kvm_works)    */
	bool microvm;             /* -M microvm: virtio-mmio devices, no PCI, no
				     IOMMU (see vt_guest_microvm_supported)     */
	unsigned poweroff_ms;     /* from the agent's report to QEMU's exit; past
				     it the guest is stopped (0: 5000)          */
	bool secure_memory;       /* a secure guest: our devices hold it to its
				     bounce pool (printed by /init) and rings  */
	unsigned ndev;
	struct vt_guest_dev dev[VT_GUEST_MAX_DEVS];
};

/* What the agent said about one device (a test point of its TAP). */
struct vt_guest_report {
	bool seen;                /* the agent reported this slot                  */
	bool ok;                  /* its own test point was ok                     */
	uint16_t device;          /* virtio device id                              */
	uint64_t features;        /* negotiated                                    */
	uint32_t status;
	char driver[32];          /* "virtio_blk", "none"                          */
	char io[96];              /* "ok", "fail <reason>", "none"                 */
	char io_detail[160];      /* what the I/O step did ("eth0 up, carrier 1;
				     ARP: ...; echo: ..."), if it said   */
	char first_failure[160];  /* the first failing subtest line, if any        */
	char vdev[16];            /* the kernel's name for it: "virtio3"           */
	char kmsg[160];           /* the first console line naming vdev, if any    */
	char said[160];           /* the agent's "kernel" fact: the first kernel
				     log message naming vdev at warning level
				     or worse, whatever reached the console     */
};

/* A rule our device found broken (a copy of a struct vt_violation that
 * survives being sent whole between processes). */
#define VT_GUEST_MAX_FINDINGS 4
struct vt_guest_finding {
	char rule[32];
	char who[12];             /* "driver", "device", "harness"              */
	bool must;                /* MUST-level (else SHOULD: advice)            */
	char msg[160];
	char expected[48];
	char got[48];
	bool has_addr;            /* a memory rule: where                        */
	uint64_t address, gpa;
};

/* What our vhost-user device saw of its session with QEMU and the guest. */
struct vt_guest_vhost_result {
	bool served;              /* a backend was started for this device       */
	bool connected, error, driver_ok;
	char why[128];            /* how the session ended, or why it never began */
	uint64_t negotiated, protocol, requests, kicks, calls;
	uint64_t iotlb_misses, iotlb_unanswered, iotlb_updates, iotlb_invalidates;
	bool secure;              /* the guest's memory was private but for its
				     bounce pool and rings                     */
	uint64_t pool_gpa, pool_len;   /* the bounce pool shared (len 0: never)  */
	char pool_why[128];       /* why not                                    */
	uint64_t private_pages;   /* private pages the device was made to touch */
	unsigned n_must;          /* MUST-level records (kept or dropped)        */
	unsigned n_advice;        /* SHOULD-level records kept                   */
	unsigned nfind;           /* findings kept below (MUST ones first)       */
	struct vt_guest_finding find[VT_GUEST_MAX_FINDINGS];
};

struct vt_guest_result {
	bool started;
	bool done;                /* "# vcts-agent: done" seen                     */
	bool timed_out;
	bool stuck_after_done;    /* the agent was done but the guest did not
				     power off: stopped (cells still judged)   */
	int exit_status;          /* QEMU's exit status when it exited             */
	double seconds;           /* start to exit                                 */
	char dir[256];            /* the run's directory (console, agent TAP, log) */
	char console_tail[1024];  /* last lines of the console                     */
	char qemu_tail[512];      /* last lines of QEMU's stderr                   */
	struct vt_guest_report rep[VT_GUEST_MAX_DEVS];
	struct vt_guest_vhost_result vhost[VT_GUEST_MAX_DEVS];
};

/* Run the guest to completion (or its deadline) and read the agent's
 * report.  Returns 0 when QEMU ran (whatever the guest did: see r), -1
 * with a reason in err when it could not be started (broken). */
/* Cells with vhost.type set are served by our checking device on threads
 * of the calling process (started before QEMU, stopped after it): their
 * sessions and verdicts land in r->vhost[].  Guest RAM is then a shared
 * memfd. */
int vt_guest_run(const struct vt_guest_cfg *c, struct vt_guest_result *r, char *err,
		 size_t errlen);

/* Parse an agent TAP file into reports by device index: i is the device
 * at PCI slot VT_GUEST_FIRST_SLOT + i, or the i-th virtio-mmio device of a
 * microvm guest.  Returns whether "# vcts-agent: done" was seen. */
bool vt_guest_parse_tap(const char *path, struct vt_guest_report *rep, unsigned nrep);

/* Does KVM work here?  /dev/kvm must open and a short probe boot of the
 * given kernel must finish; the answer is kept for the process. */
bool vt_guest_kvm_works(const char *vmlinux, const char *initrd);

/* Does this QEMU have the microvm machine?  false with the reason in why;
 * the answer is kept for the process. */
bool vt_guest_microvm_supported(char *why, size_t len);

#endif
