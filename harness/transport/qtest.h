/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest.h - a client of QEMU's qtest line protocol.
 *
 * QEMU started with "-qtest unix:PATH" connects to a socket we listen
 * on; every command is one text line ("outl 0xcf8 0x80001800") answered
 * by one line starting with "OK" or "FAIL".  Lines "IRQ raise N" and
 * "IRQ lower N" (after irq_intercept_in) arrive at any moment, also
 * between a command and its answer: they are consumed and counted, never
 * taken for an answer.
 *
 * Every call has a deadline.  The first failure (timeout, end of file,
 * FAIL, a malformed answer) is kept in q->err and makes the client dead:
 * every later call fails at once and returns all ones, so a caller
 * looping on a register cannot hang on a QEMU that died.
 *
 * Also here: the PCI function accessor over qtest (configuration space
 * through ports 0xcf8/0xcfc, BAR access through memory and port I/O,
 * INTx counted from intercepted IRQ lines), for transport/virtio_pci.c.
 */
#ifndef VCTS_TRANSPORT_QTEST_H
#define VCTS_TRANSPORT_QTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VT_QTEST_IRQ_LINES 256

struct vt_qtest {
	int fd;                        /* connected socket, -1 when closed     */
	unsigned timeout_ms;           /* deadline of one call                 */
	bool dead;                     /* a call failed: every next one fails  */
	char err[200];                 /* the first failure, one line          */
	/* receive buffer: one line at a time */
	char buf[16384];
	size_t len;
	/* asynchronous IRQ lines seen */
	uint64_t irq_raised, irq_lowered;
	uint8_t irq_level[VT_QTEST_IRQ_LINES];
	uint64_t calls;                /* commands answered                    */
	/* line buffers: an answer, a command, a bulk transfer in hex */
	char line[2 * 4096 + 64];
	char cmd[2 * 4096 + 64];
	char hex[2 * 4096 + 8];
};

/* Listen on a unix socket at path (removed first if it exists).
 * Returns the listening fd or -1 with a reason in err. */
int vt_qtest_listen(const char *path, char *err, size_t errlen);

/* Accept QEMU's connection on lfd within timeout_ms; `alive` (may be
 * NULL) is asked between waits whether QEMU still runs.  The listening
 * fd is closed.  Returns 0, or -1 with a reason in err. */
int vt_qtest_accept(struct vt_qtest *q, int lfd, unsigned timeout_ms,
		    bool (*alive)(void *ctx), void *ctx, char *err, size_t errlen);

void vt_qtest_close(struct vt_qtest *q);

/* One command line (without the newline); the answer's text after "OK"
 * goes to reply (may be NULL).  Returns 0, or -1 (q->err says why). */
int vt_qtest_cmd(struct vt_qtest *q, char *reply, size_t rlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Port I/O. */
void     vt_qtest_outb(struct vt_qtest *q, uint16_t port, uint8_t v);
void     vt_qtest_outw(struct vt_qtest *q, uint16_t port, uint16_t v);
void     vt_qtest_outl(struct vt_qtest *q, uint16_t port, uint32_t v);
uint8_t  vt_qtest_inb(struct vt_qtest *q, uint16_t port);
uint16_t vt_qtest_inw(struct vt_qtest *q, uint16_t port);
uint32_t vt_qtest_inl(struct vt_qtest *q, uint16_t port);

/* Guest-physical memory and MMIO, little-endian values. */
uint8_t  vt_qtest_readb(struct vt_qtest *q, uint64_t addr);
uint16_t vt_qtest_readw(struct vt_qtest *q, uint64_t addr);
uint32_t vt_qtest_readl(struct vt_qtest *q, uint64_t addr);
uint64_t vt_qtest_readq(struct vt_qtest *q, uint64_t addr);
void     vt_qtest_writeb(struct vt_qtest *q, uint64_t addr, uint8_t v);
void     vt_qtest_writew(struct vt_qtest *q, uint64_t addr, uint16_t v);
void     vt_qtest_writel(struct vt_qtest *q, uint64_t addr, uint32_t v);
void     vt_qtest_writeq(struct vt_qtest *q, uint64_t addr, uint64_t v);

/* Bulk guest memory ("read ADDR LEN" / "write ADDR LEN 0xHEX"), at most
 * 4096 bytes per call.  Returns 0 or -1. */
int vt_qtest_memread(struct vt_qtest *q, uint64_t addr, void *dst, size_t len);
int vt_qtest_memwrite(struct vt_qtest *q, uint64_t addr, const void *src, size_t len);

/* Report every input line of the QOM object at `path` ("ioapic") as IRQ
 * lines instead of delivering it.  Returns 0 or -1. */
int vt_qtest_irq_intercept_in(struct vt_qtest *q, const char *path);

/* Take the IRQ lines already received, without waiting.  Returns 0, or
 * -1 when the connection ended. */
int vt_qtest_drain(struct vt_qtest *q);

/* The PCI function at bus/dev/fn behind this client, as an accessor for
 * virtio_pci.c.  f holds its state; q and f must outlive the accessor. */
struct vt_qtest_fn {
	struct vt_qtest *q;
	uint32_t devfn_addr;        /* enable bit | bus | device | function */
};
void vt_qtest_pci_fn(struct vt_qtest_fn *f, struct vt_qtest *q, unsigned bus, unsigned dev,
		     unsigned fn, struct vt_pci_fn *out);

#endif
