/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qtest.c - QEMU's qtest line protocol, with deadlines, and a PCI accessor over it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qtest.h"

#define ACCEPT_TICK_MS  10
#define MEM_CHUNK       4096

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The first failure makes the client dead and is kept. */
static int fail(struct vt_qtest *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct vt_qtest *q, const char *fmt, ...)
{
	if (!q->dead) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(q->err, sizeof(q->err), fmt, ap);
		va_end(ap);
		q->dead = true;
	}
	return -1;
}

int vt_qtest_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int vt_qtest_accept(struct vt_qtest *q, int lfd, unsigned timeout_ms,
		    bool (*alive)(void *ctx), void *ctx, char *err, size_t errlen)
{
	uint64_t end = now_ms() + timeout_ms;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->timeout_ms = 2000;
	for (;;) {
		struct pollfd pf = { .fd = lfd, .events = POLLIN };
		int rc = poll(&pf, 1, ACCEPT_TICK_MS);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (rc > 0) {
			q->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (q->fd >= 0)
				break;
			if (errno != EINTR && errno != EAGAIN) {
				snprintf(err, errlen, "accept: %s", strerror(errno));
				break;
			}
		}
		if (alive && !alive(ctx)) {
			snprintf(err, errlen, "QEMU exited before connecting its qtest socket");
			break;
		}
		if (now_ms() >= end) {
			snprintf(err, errlen, "QEMU did not connect its qtest socket within %u ms",
				 timeout_ms);
			break;
		}
	}
	close(lfd);
	return q->fd >= 0 ? 0 : -1;
}

void vt_qtest_close(struct vt_qtest *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->dead = true;
}

/* ---- lines ---- */

/* An asynchronous line: counted, never an answer. */
static bool take_irq_line(struct vt_qtest *q, const char *line)
{
	unsigned n;
	if (strncmp(line, "IRQ ", 4) != 0)
		return false;
	if (sscanf(line, "IRQ raise %u", &n) == 1) {
		q->irq_raised++;
		if (n < VT_QTEST_IRQ_LINES)
			q->irq_level[n] = 1;
	} else if (sscanf(line, "IRQ lower %u", &n) == 1) {
		q->irq_lowered++;
		if (n < VT_QTEST_IRQ_LINES)
			q->irq_level[n] = 0;
	}
	return true;
}

/* Read more bytes, waiting until `end` (0: do not wait).  Returns bytes
 * read, 0 when nothing came (no wait), -1 on end of file / error. */
static int fill(struct vt_qtest *q, uint64_t end)
{
	if (q->len == sizeof(q->buf))
		return fail(q, "qtest: answer line longer than %zu bytes", sizeof(q->buf));
	for (;;) {
		int wait = 0;
		if (end) {
			uint64_t t = now_ms();
			if (t >= end)
				return fail(q, "qtest: no answer within %u ms", q->timeout_ms);
			wait = (int)(end - t);
		}
		struct pollfd pf = { .fd = q->fd, .events = POLLIN };
		int rc = poll(&pf, 1, wait);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return fail(q, "qtest: poll: %s", strerror(errno));
		if (rc == 0) {
			if (!end)
				return 0;
			continue;
		}
		ssize_t n = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return fail(q, "qtest: recv: %s", strerror(errno));
		if (n == 0)
			return fail(q, "qtest: QEMU closed the connection");
		q->len += (size_t)n;
		return (int)n;
	}
}

/* Take one complete line out of the buffer into line; false if none. */
static bool next_line(struct vt_qtest *q, char *line, size_t llen)
{
	char *nl = memchr(q->buf, '\n', q->len);
	if (!nl)
		return false;
	size_t n = (size_t)(nl - q->buf);
	size_t c = n < llen - 1 ? n : llen - 1;
	memcpy(line, q->buf, c);
	line[c] = '\0';
	memmove(q->buf, nl + 1, q->len - n - 1);
	q->len -= n + 1;
	return true;
}

int vt_qtest_drain(struct vt_qtest *q)
{
	char line[256];
	if (q->dead)
		return -1;
	for (;;) {
		while (next_line(q, line, sizeof(line)))
			if (!take_irq_line(q, line))
				return fail(q, "qtest: unexpected line '%.60s'", line);
		int n = fill(q, 0);
		if (n <= 0)
			return n;
	}
}

static int send_all(struct vt_qtest *q, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(q->fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(q, "qtest: send: %s", strerror(errno));
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait for the answer: the first line that is not an IRQ line. */
static int answer(struct vt_qtest *q, const char *cmd, char *reply, size_t rlen)
{
	char *line = q->line;
	uint64_t end = now_ms() + q->timeout_ms;

	for (;;) {
		while (next_line(q, line, sizeof(q->line))) {
			if (take_irq_line(q, line))
				continue;
			q->calls++;
			if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
				if (reply)
					snprintf(reply, rlen, "%s", line[2] ? line + 3 : "");
				return 0;
			}
			return fail(q, "qtest: '%.40s' answered '%.80s'", cmd, line);
		}
		if (fill(q, end) < 0)
			return -1;
	}
}

static int vcmd(struct vt_qtest *q, char *reply, size_t rlen, const char *fmt, va_list ap)
{
	char *cmd = q->cmd;
	if (q->dead)
		return -1;
	int n = vsnprintf(cmd, sizeof(q->cmd) - 1, fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(q->cmd) - 1)
		return fail(q, "qtest: command too long");
	cmd[n++] = '\n';
	if (send_all(q, cmd, (size_t)n))
		return -1;
	cmd[n - 1] = '\0';
	return answer(q, cmd, reply, rlen);
}

int vt_qtest_cmd(struct vt_qtest *q, char *reply, size_t rlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vcmd(q, reply, rlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* A command whose answer is "OK 0x<value>". */
static uint64_t value_cmd(struct vt_qtest *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint64_t value_cmd(struct vt_qtest *q, const char *fmt, ...)
{
	char reply[64], *end;
	va_list ap;
	va_start(ap, fmt);
	int rc = vcmd(q, reply, sizeof(reply), fmt, ap);
	va_end(ap);
	if (rc)
		return UINT64_MAX;
	errno = 0;
	uint64_t v = strtoull(reply, &end, 0);
	if (errno || end == reply) {
		fail(q, "qtest: answer '%.40s' is not a number", reply);
		return UINT64_MAX;
	}
	return v;
}

void vt_qtest_outb(struct vt_qtest *q, uint16_t port, uint8_t v)
{
	vt_qtest_cmd(q, NULL, 0, "outb 0x%x 0x%x", port, v);
}

void vt_qtest_outw(struct vt_qtest *q, uint16_t port, uint16_t v)
{
	vt_qtest_cmd(q, NULL, 0, "outw 0x%x 0x%x", port, v);
}

void vt_qtest_outl(struct vt_qtest *q, uint16_t port, uint32_t v)
{
	vt_qtest_cmd(q, NULL, 0, "outl 0x%x 0x%x", port, v);
}

uint8_t vt_qtest_inb(struct vt_qtest *q, uint16_t port)
{
	return (uint8_t)value_cmd(q, "inb 0x%x", port);
}

uint16_t vt_qtest_inw(struct vt_qtest *q, uint16_t port)
{
	return (uint16_t)value_cmd(q, "inw 0x%x", port);
}

uint32_t vt_qtest_inl(struct vt_qtest *q, uint16_t port)
{
	return (uint32_t)value_cmd(q, "inl 0x%x", port);
}

uint8_t vt_qtest_readb(struct vt_qtest *q, uint64_t addr)
{
	return (uint8_t)value_cmd(q, "readb 0x%" PRIx64, addr);
}

uint16_t vt_qtest_readw(struct vt_qtest *q, uint64_t addr)
{
	return (uint16_t)value_cmd(q, "readw 0x%" PRIx64, addr);
}

uint32_t vt_qtest_readl(struct vt_qtest *q, uint64_t addr)
{
	return (uint32_t)value_cmd(q, "readl 0x%" PRIx64, addr);
}

uint64_t vt_qtest_readq(struct vt_qtest *q, uint64_t addr)
{
	return value_cmd(q, "readq 0x%" PRIx64, addr);
}

void vt_qtest_writeb(struct vt_qtest *q, uint64_t addr, uint8_t v)
{
	vt_qtest_cmd(q, NULL, 0, "writeb 0x%" PRIx64 " 0x%x", addr, v);
}

void vt_qtest_writew(struct vt_qtest *q, uint64_t addr, uint16_t v)
{
	vt_qtest_cmd(q, NULL, 0, "writew 0x%" PRIx64 " 0x%x", addr, v);
}

void vt_qtest_writel(struct vt_qtest *q, uint64_t addr, uint32_t v)
{
	vt_qtest_cmd(q, NULL, 0, "writel 0x%" PRIx64 " 0x%x", addr, v);
}

void vt_qtest_writeq(struct vt_qtest *q, uint64_t addr, uint64_t v)
{
	vt_qtest_cmd(q, NULL, 0, "writeq 0x%" PRIx64 " 0x%" PRIx64, addr, v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vt_qtest_memread(struct vt_qtest *q, uint64_t addr, void *dst, size_t len)
{
	char *reply = q->hex;
	uint8_t *d = dst;

	if (len > MEM_CHUNK)
		return fail(q, "qtest: read of %zu bytes (at most %d)", len, MEM_CHUNK);
	if (vt_qtest_cmd(q, reply, sizeof(q->hex), "read 0x%" PRIx64 " 0x%zx", addr, len))
		return -1;
	const char *h = reply;
	if (h[0] == '0' && h[1] == 'x')
		h += 2;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(h[2 * i]), lo = hi < 0 ? -1 : hexval(h[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return fail(q, "qtest: short or malformed read answer");
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int vt_qtest_memwrite(struct vt_qtest *q, uint64_t addr, const void *src, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = q->hex;
	const uint8_t *s = src;

	if (len > MEM_CHUNK)
		return fail(q, "qtest: write of %zu bytes (at most %d)", len, MEM_CHUNK);
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[s[i] >> 4];
		hex[2 * i + 1] = digits[s[i] & 15];
	}
	hex[2 * len] = '\0';
	return vt_qtest_cmd(q, NULL, 0, "write 0x%" PRIx64 " 0x%zx 0x%s", addr, len, hex);
}

int vt_qtest_irq_intercept_in(struct vt_qtest *q, const char *path)
{
	return vt_qtest_cmd(q, NULL, 0, "irq_intercept_in %s", path);
}

/* ---- the PCI function accessor ---- */

/* Configuration mechanism #1: address at 0xcf8, data window at 0xcfc. */
#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static void cfg_select(struct vt_qtest_fn *f, unsigned off)
{
	vt_qtest_outl(f->q, PCI_CONFIG_ADDR, f->devfn_addr | (off & 0xfc));
}

static uint32_t fn_cfg_read(void *ctx, unsigned off, unsigned width)
{
	struct vt_qtest_fn *f = ctx;
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
	cfg_select(f, off);
	switch (width) {
	case 1: return vt_qtest_inb(f->q, port);
	case 2: return vt_qtest_inw(f->q, port);
	default: return vt_qtest_inl(f->q, port);
	}
}

static void fn_cfg_write(void *ctx, unsigned off, unsigned width, uint32_t val)
{
	struct vt_qtest_fn *f = ctx;
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));
	cfg_select(f, off);
	switch (width) {
	case 1: vt_qtest_outb(f->q, port, (uint8_t)val); break;
	case 2: vt_qtest_outw(f->q, port, (uint16_t)val); break;
	default: vt_qtest_outl(f->q, port, val); break;
	}
}

static uint64_t fn_bar_read(void *ctx, bool io, uint64_t addr, unsigned width)
{
	struct vt_qtest_fn *f = ctx;
	if (io) {
		switch (width) {
		case 1: return vt_qtest_inb(f->q, (uint16_t)addr);
		case 2: return vt_qtest_inw(f->q, (uint16_t)addr);
		default: return vt_qtest_inl(f->q, (uint16_t)addr);
		}
	}
	switch (width) {
	case 1: return vt_qtest_readb(f->q, addr);
	case 2: return vt_qtest_readw(f->q, addr);
	case 4: return vt_qtest_readl(f->q, addr);
	default: return vt_qtest_readq(f->q, addr);
	}
}

static void fn_bar_write(void *ctx, bool io, uint64_t addr, unsigned width, uint64_t val)
{
	struct vt_qtest_fn *f = ctx;
	if (io) {
		switch (width) {
		case 1: vt_qtest_outb(f->q, (uint16_t)addr, (uint8_t)val); return;
		case 2: vt_qtest_outw(f->q, (uint16_t)addr, (uint16_t)val); return;
		default: vt_qtest_outl(f->q, (uint16_t)addr, (uint32_t)val); return;
		}
	}
	switch (width) {
	case 1: vt_qtest_writeb(f->q, addr, (uint8_t)val); return;
	case 2: vt_qtest_writew(f->q, addr, (uint16_t)val); return;
	case 4: vt_qtest_writel(f->q, addr, (uint32_t)val); return;
	default: vt_qtest_writeq(f->q, addr, val); return;
	}
}

static uint64_t fn_irq_count(void *ctx, bool *asserted)
{
	struct vt_qtest_fn *f = ctx;
	bool any = false;
	for (unsigned i = 0; i < VT_QTEST_IRQ_LINES && !any; i++)
		any = f->q->irq_level[i] != 0;
	if (asserted)
		*asserted = any;
	return f->q->irq_raised;
}

static void fn_poll(void *ctx)
{
	struct vt_qtest_fn *f = ctx;
	vt_qtest_drain(f->q);
}

static int fn_failed(void *ctx, char *why, size_t len)
{
	struct vt_qtest_fn *f = ctx;
	if (!f->q->dead)
		return 0;
	snprintf(why, len, "%s", f->q->err[0] ? f->q->err : "qtest connection closed");
	return 1;
}

static const struct vt_pci_fn_ops qtest_fn_ops = {
	.cfg_read = fn_cfg_read,
	.cfg_write = fn_cfg_write,
	.bar_read = fn_bar_read,
	.bar_write = fn_bar_write,
	.irq_count = fn_irq_count,
	.poll = fn_poll,
	.failed = fn_failed,
};

void vt_qtest_pci_fn(struct vt_qtest_fn *f, struct vt_qtest *q, unsigned bus, unsigned dev,
		     unsigned fn, struct vt_pci_fn *out)
{
	f->q = q;
	f->devfn_addr = 0x80000000u | (bus & 0xff) << 16 | (dev & 0x1f) << 11 | (fn & 7) << 8;
	out->ops = &qtest_fn_ops;
	out->ctx = f;
}
