/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user_msg.c - vhost-user framing (both roles) and the front-end's
 * request/reply session with its backend-channel queue.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user_msg.h"

uint64_t vhu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left before the deadline, rounded up, for poll(). */
static int ms_left(uint64_t deadline_ns)
{
	uint64_t now = vhu_now_ns();
	if (now >= deadline_ns)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

/* Wait until fd is ready for `events` or the deadline passes: 1 ready,
 * 0 timed out, -1 error (POLLERR/POLLHUP count as ready: the next read
 * or write says what happened). */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = events };
		int rc = poll(&pf, 1, ms_left(deadline_ns));
		if (rc > 0)
			return 1;
		if (rc == 0) {
			if (vhu_now_ns() >= deadline_ns)
				return 0;
			continue;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* ---- framing ------------------------------------------------------------- */

void vhu_msg_init(struct vhu_msg *m, uint32_t request, uint32_t flags, uint32_t size)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	memset(&m->p, 0, sizeof(m->p));
	m->hdr.request = request;
	m->hdr.flags = VHU_VERSION | flags;
	m->hdr.size = size;
	m->nfds = 0;
}

void vhu_msg_set_fds(struct vhu_msg *m, const int *fds, unsigned n)
{
	if (n > VHU_MAX_FDS)
		n = VHU_MAX_FDS;
	if (n)
		memcpy(m->fds, fds, n * sizeof(int));
	m->nfds = n;
}

void vhu_msg_close_fds(struct vhu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

int vhu_msg_send(int sock, const struct vhu_msg *m, uint64_t deadline_ns)
{
	size_t total = sizeof(m->hdr) + m->hdr.size, done = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;

	if (m->hdr.size > VHU_PAYLOAD_MAX || m->nfds > VHU_MAX_FDS)
		return VHU_IO_PROTO;
	while (done < total) {
		struct iovec iov[2];
		int niov = 0;
		if (done < sizeof(m->hdr)) {
			iov[niov].iov_base = (char *)&m->hdr + done;
			iov[niov++].iov_len = sizeof(m->hdr) - done;
			if (m->hdr.size) {
				iov[niov].iov_base = (void *)&m->p;
				iov[niov++].iov_len = m->hdr.size;
			}
		} else {
			iov[niov].iov_base = (char *)&m->p + (done - sizeof(m->hdr));
			iov[niov++].iov_len = total - done;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
		/* the fds ride on the first bytes of the message only */
		if (done == 0 && m->nfds) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
			memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
		}
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(sock, POLLOUT, deadline_ns);
			if (w == 0)
				return VHU_IO_TIMEOUT;
			if (w < 0)
				return VHU_IO_ERR;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
			return VHU_IO_EOF;
		return VHU_IO_ERR;
	}
	return VHU_IO_OK;
}

/* Take the fds out of the control data of a received chunk. */
static int take_fds(struct msghdr *mh, struct vhu_msg *m)
{
	int rc = VHU_IO_OK;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int fds[VHU_MAX_FDS + 8];
		if (n > VHU_MAX_FDS + 8)
			n = VHU_MAX_FDS + 8;
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			if (m->nfds < VHU_MAX_FDS)
				m->fds[m->nfds++] = fds[i];
			else {
				close(fds[i]);
				rc = VHU_IO_PROTO;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		rc = VHU_IO_PROTO;
	return rc;
}

/* Read exactly len bytes into buf before the deadline; the first chunk of
 * a message may carry fds (want_fds). */
static int read_exact(int sock, void *buf, size_t len, bool want_fds, struct vhu_msg *m,
		      uint64_t deadline_ns)
{
	size_t got = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VHU_MAX_FDS + 8))];
		struct cmsghdr align;
	} ctl;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		if (want_fds && got == 0) {
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
		}
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			if (mh.msg_controllen) {
				int rc = take_fds(&mh, m);
				if (rc)
					return rc;
			}
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return VHU_IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = wait_fd(sock, POLLIN, deadline_ns);
			if (w == 0)
				return VHU_IO_TIMEOUT;
			if (w < 0)
				return VHU_IO_ERR;
			continue;
		}
		if (errno == ECONNRESET || errno == ENOTCONN)
			return VHU_IO_EOF;
		return VHU_IO_ERR;
	}
	return VHU_IO_OK;
}

int vhu_msg_recv(int sock, struct vhu_msg *m, uint64_t deadline_ns)
{
	m->nfds = 0;
	int rc = read_exact(sock, &m->hdr, sizeof(m->hdr), true, m, deadline_ns);
	if (rc == VHU_IO_OK) {
		/* validate before trusting size: a garbage peer fails here */
		if ((m->hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION ||
		    m->hdr.size > VHU_PAYLOAD_MAX)
			rc = VHU_IO_PROTO;
	}
	if (rc == VHU_IO_OK && m->hdr.size) {
		memset(&m->p, 0, sizeof(m->p));
		rc = read_exact(sock, &m->p, m->hdr.size, false, m, deadline_ns);
	}
	if (rc != VHU_IO_OK)
		vhu_msg_close_fds(m);
	return rc;
}

const char *vhu_io_name(int rc)
{
	switch (rc) {
	case VHU_IO_OK:      return "ok";
	case VHU_IO_EOF:     return "connection closed";
	case VHU_IO_TIMEOUT: return "timed out";
	case VHU_IO_PROTO:   return "not a vhost-user message (bad header or size)";
	default:             return "socket error";
	}
}

static const char *const request_names[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES] = "GET_FEATURES",
	[VHU_SET_FEATURES] = "SET_FEATURES",
	[VHU_SET_OWNER] = "SET_OWNER",
	[VHU_RESET_OWNER] = "RESET_OWNER",
	[VHU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHU_SET_LOG_FD] = "SET_LOG_FD",
	[VHU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHU_SEND_RARP] = "SEND_RARP",
	[VHU_NET_SET_MTU] = "NET_SET_MTU",
	[VHU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VHU_IOTLB_MSG] = "IOTLB_MSG",
	[VHU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHU_GET_CONFIG] = "GET_CONFIG",
	[VHU_SET_CONFIG] = "SET_CONFIG",
	[VHU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHU_RESET_DEVICE] = "RESET_DEVICE",
	[VHU_VRING_KICK] = "VRING_KICK",
	[VHU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHU_REM_MEM_REG] = "REM_MEM_REG",
	[VHU_SET_STATUS] = "SET_STATUS",
	[VHU_GET_STATUS] = "GET_STATUS",
};

const char *vhu_request_name(uint32_t request)
{
	if (request < VHU_REQUEST_MAX && request_names[request])
		return request_names[request];
	return "unknown request";
}

const char *vhu_backend_request_name(uint32_t request)
{
	switch (request) {
	case VHU_BACKEND_IOTLB_MSG:               return "BACKEND_IOTLB_MSG";
	case VHU_BACKEND_CONFIG_CHANGE_MSG:       return "BACKEND_CONFIG_CHANGE_MSG";
	case VHU_BACKEND_VRING_HOST_NOTIFIER_MSG: return "BACKEND_VRING_HOST_NOTIFIER_MSG";
	case VHU_BACKEND_VRING_CALL:              return "BACKEND_VRING_CALL";
	case VHU_BACKEND_VRING_ERR:               return "BACKEND_VRING_ERR";
	}
	return "unknown backend request";
}

/* ---- the front-end's session --------------------------------------------- */

int vhu_session_init(struct vhu_session *s, int sock, unsigned timeout_ms)
{
	memset(s, 0, sizeof(*s));
	s->sock = sock;
	s->backend_fd = -1;
	s->timeout_ms = timeout_ms ? timeout_ms : 2000;
	s->queue = calloc(VHU_BACKEND_QUEUE, sizeof(*s->queue));
	return s->queue ? 0 : -1;
}

static void backend_close(struct vhu_session *s)
{
	if (s->backend_fd >= 0)
		close(s->backend_fd);
	s->backend_fd = -1;
}

void vhu_session_fini(struct vhu_session *s)
{
	struct vhu_msg m;
	while (s->queue && vhu_session_backend_next(s, &m))
		vhu_msg_close_fds(&m);
	free(s->queue);
	s->queue = NULL;
	backend_close(s);
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
}

void vhu_session_kill(struct vhu_session *s, int io, const char *fmt, ...)
{
	if (s->dead)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->dead = true;
	s->dead_io = io;
}

bool vhu_session_expects_reply(const struct vhu_session *s, const struct vhu_msg *m)
{
	switch (m->hdr.request) {
	case VHU_GET_FEATURES:
	case VHU_GET_PROTOCOL_FEATURES:
	case VHU_GET_VRING_BASE:
	case VHU_GET_QUEUE_NUM:
	case VHU_GET_CONFIG:
	case VHU_GET_INFLIGHT_FD:
	case VHU_GET_MAX_MEM_SLOTS:
	case VHU_GET_STATUS:
		return true;
	default:
		return s->reply_ack && (m->hdr.flags & VHU_FLAG_NEED_REPLY);
	}
}

static void queue_push(struct vhu_session *s, struct vhu_msg *m)
{
	if (s->qlen == VHU_BACKEND_QUEUE) {
		/* a flooding backend: the oldest request goes (a miss is
		 * repeated by a backend that still needs it) */
		vhu_msg_close_fds(&s->queue[s->qhead]);
		s->qhead = (s->qhead + 1) % VHU_BACKEND_QUEUE;
		s->qlen--;
		s->qdropped++;
	}
	s->queue[(s->qhead + s->qlen) % VHU_BACKEND_QUEUE] = *m;
	s->qlen++;
	s->backend_requests++;
}

/* Read one backend-channel message and queue it.  A closed or broken
 * channel is closed on our side; the main socket decides liveness. */
static void backend_read_one(struct vhu_session *s, uint64_t deadline_ns)
{
	struct vhu_msg m;
	int rc = vhu_msg_recv(s->backend_fd, &m, deadline_ns);
	if (rc == VHU_IO_OK) {
		queue_push(s, &m);
		return;
	}
	backend_close(s);
}

/* Is a message waiting on the main socket?  The reply is read there;
 * backend-channel messages are queued meanwhile. */
static int wait_main(struct vhu_session *s, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = s->sock, .events = POLLIN },
			{ .fd = s->backend_fd, .events = POLLIN },
		};
		int rc = poll(pf, 2, ms_left(deadline_ns));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return VHU_IO_ERR;
		}
		if (rc == 0) {
			if (vhu_now_ns() >= deadline_ns)
				return VHU_IO_TIMEOUT;
			continue;
		}
		if (pf[1].revents)
			backend_read_one(s, deadline_ns);
		if (pf[0].revents)
			return VHU_IO_OK;
	}
}

int vhu_session_call(struct vhu_session *s, const struct vhu_msg *req, struct vhu_msg *reply)
{
	const char *name = vhu_request_name(req->hdr.request);
	if (s->dead)
		return -1;
	uint64_t deadline = vhu_now_ns() + (uint64_t)s->timeout_ms * 1000000ull;
	int rc = vhu_msg_send(s->sock, req, deadline);
	if (rc) {
		vhu_session_kill(s, rc, "sending %s: %s", name, vhu_io_name(rc));
		return -1;
	}
	s->requests++;
	if (!vhu_session_expects_reply(s, req))
		return 0;
	rc = wait_main(s, deadline);
	struct vhu_msg tmp, *r = reply ? reply : &tmp;
	if (rc == VHU_IO_OK)
		rc = vhu_msg_recv(s->sock, r, deadline);
	if (rc) {
		vhu_session_kill(s, rc, "waiting for the reply to %s: %s", name,
				 rc == VHU_IO_TIMEOUT ? "no reply within the deadline" :
							vhu_io_name(rc));
		return -1;
	}
	/* replies come in order: anything else is the wrong message */
	if (!(r->hdr.flags & VHU_FLAG_REPLY) || r->hdr.request != req->hdr.request) {
		vhu_session_kill(s, VHU_IO_PROTO, "expected the reply to %s, got %s (%u) flags 0x%x",
				 name, vhu_request_name(r->hdr.request), r->hdr.request,
				 r->hdr.flags);
		vhu_msg_close_fds(r);
		return -1;
	}
	if (!reply)
		vhu_msg_close_fds(r);
	return 0;
}

int64_t vhu_session_call_ack(struct vhu_session *s, struct vhu_msg *req)
{
	struct vhu_msg r;
	bool want = vhu_session_expects_reply(s, req);
	if (vhu_session_call(s, req, want ? &r : NULL))
		return -1;
	if (!want)
		return 0;
	vhu_msg_close_fds(&r);
	if (r.hdr.size != sizeof(uint64_t)) {
		vhu_session_kill(s, VHU_IO_PROTO, "REPLY_ACK to %s has %u payload bytes, not 8",
				 vhu_request_name(req->hdr.request), r.hdr.size);
		return -1;
	}
	return r.p.u64 > INT64_MAX ? INT64_MAX : (int64_t)r.p.u64;
}

void vhu_session_set_backend(struct vhu_session *s, int fd)
{
	backend_close(s);
	s->backend_fd = fd;
}

int vhu_session_pump(struct vhu_session *s)
{
	if (s->dead)
		return -1;
	for (unsigned rounds = 0; rounds < 16; rounds++) {
		struct pollfd pf[2] = {
			{ .fd = s->sock, .events = POLLIN },
			{ .fd = s->backend_fd, .events = POLLIN },
		};
		int rc = poll(pf, 2, 0);
		if (rc <= 0)
			return 0;
		if (pf[0].revents) {
			/* nothing is owed on the main socket: this is a closed
			 * connection or a message nobody asked for */
			char c;
			ssize_t n = recv(s->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				vhu_session_kill(s, VHU_IO_EOF, "the backend closed the connection");
				return -1;
			}
			if (n > 0) {
				vhu_session_kill(s, VHU_IO_PROTO,
						 "the backend sent an unsolicited message");
				return -1;
			}
		}
		if (!pf[1].revents)
			return 0;
		uint64_t deadline = vhu_now_ns() + (uint64_t)s->timeout_ms * 1000000ull;
		backend_read_one(s, deadline);
	}
	return 0;
}

int vhu_session_backend_next(struct vhu_session *s, struct vhu_msg *m)
{
	if (!s->qlen)
		return 0;
	*m = s->queue[s->qhead];
	s->qhead = (s->qhead + 1) % VHU_BACKEND_QUEUE;
	s->qlen--;
	return 1;
}

void vhu_session_backend_reply(struct vhu_session *s, const struct vhu_msg *req, uint64_t val)
{
	if (!(req->hdr.flags & VHU_FLAG_NEED_REPLY) || s->backend_fd < 0)
		return;
	struct vhu_msg r;
	vhu_msg_init(&r, req->hdr.request, VHU_FLAG_REPLY, sizeof(uint64_t));
	r.p.u64 = val;
	uint64_t deadline = vhu_now_ns() + (uint64_t)s->timeout_ms * 1000000ull;
	if (vhu_msg_send(s->backend_fd, &r, deadline))
		backend_close(s);
}
