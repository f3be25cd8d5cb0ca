/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user_msg.h - vhost-user messages on a unix socket.
 *
 * Two layers:
 *  - framing, the same for both roles: send a message with its file
 *    descriptors (SCM_RIGHTS on the header's sendmsg, MSG_NOSIGNAL), and
 *    receive one under a deadline, validating the header (version, size)
 *    before reading the payload;
 *  - the front-end's session: one request at a time on the main socket,
 *    its reply read in order (request code and REPLY flag checked), a
 *    REPLY_ACK awaited when NEED_REPLY was set, and requests arriving on
 *    the backend channel meanwhile (IOTLB misses) queued for later so the
 *    wait never reads the wrong message.
 * Every read has a deadline.  A closed connection, a missed deadline or a
 * malformed message ends the session: it is then dead, with a one-line
 * reason, and every later call fails at once.
 */
#ifndef VCTS_VHOST_USER_MSG_H
#define VCTS_VHOST_USER_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost_user.h"

struct vhu_msg {
	struct vhu_hdr hdr;
	union vhu_payload p;
	int fds[VHU_MAX_FDS];     /* received: owned by the message */
	unsigned nfds;
};

/* Results of the framing layer. */
enum vhu_io {
	VHU_IO_OK = 0,
	VHU_IO_EOF = -1,          /* the peer closed the connection          */
	VHU_IO_TIMEOUT = -2,      /* the deadline passed                     */
	VHU_IO_PROTO = -3,        /* malformed header or payload size        */
	VHU_IO_ERR = -4,          /* a system call failed                    */
};

/* ---- framing (both roles) ---------------------------------------------- */

uint64_t vhu_now_ns(void);

/* A request (or reply) with `size` payload bytes, payload zeroed. */
void vhu_msg_init(struct vhu_msg *m, uint32_t request, uint32_t flags, uint32_t size);
/* Attach fds to send (not owned by the message). */
void vhu_msg_set_fds(struct vhu_msg *m, const int *fds, unsigned n);
/* Close the fds a received message carries. */
void vhu_msg_close_fds(struct vhu_msg *m);

/* Send m (header, payload, fds) before the deadline.  Returns VHU_IO_*. */
int vhu_msg_send(int sock, const struct vhu_msg *m, uint64_t deadline_ns);
/* Receive one message before the deadline.  Returns VHU_IO_*; on
 * anything but VHU_IO_OK no fd is left open. */
int vhu_msg_recv(int sock, struct vhu_msg *m, uint64_t deadline_ns);

const char *vhu_io_name(int rc);                 /* "closed", "timed out", ... */
const char *vhu_request_name(uint32_t request);  /* "SET_VRING_ADDR", ...      */
const char *vhu_backend_request_name(uint32_t request);

/* ---- the front-end's session ------------------------------------------- */

#define VHU_BACKEND_QUEUE 64

struct vhu_session {
	int sock;                 /* main socket                              */
	int backend_fd;           /* our end of the backend channel, or -1    */
	unsigned timeout_ms;      /* deadline of every wait                   */
	bool reply_ack;           /* REPLY_ACK negotiated                     */
	bool dead;
	int dead_io;              /* VHU_IO_* that ended the session          */
	char why[192];            /* one line: what ended it                  */
	/* backend-channel requests read while a reply was awaited */
	struct vhu_msg *queue;
	unsigned qhead, qlen;
	uint64_t qdropped;
	uint64_t requests, backend_requests;
};

/* Take over a connected socket.  Returns 0, or -1 (out of memory). */
int  vhu_session_init(struct vhu_session *s, int sock, unsigned timeout_ms);
/* Close both channels, drop queued requests. */
void vhu_session_fini(struct vhu_session *s);

/* Does the backend answer m (a request with a reply by definition, or
 * NEED_REPLY with REPLY_ACK negotiated)? */
bool vhu_session_expects_reply(const struct vhu_session *s, const struct vhu_msg *m);

/* Send req; when it expects a reply, wait for it (queueing backend-channel
 * requests meanwhile) and put it in *reply (may be NULL to drop it).
 * Returns 0, or -1 when the session is dead (s->why says why). */
int  vhu_session_call(struct vhu_session *s, const struct vhu_msg *req, struct vhu_msg *reply);
/* The same, for a request sent with NEED_REPLY: returns the REPLY_ACK
 * value (0 success), or -1 when dead.  Without REPLY_ACK negotiated it
 * returns 0 once the request is sent. */
int64_t vhu_session_call_ack(struct vhu_session *s, struct vhu_msg *req);

/* Install the backend channel (our end; the session owns it). */
void vhu_session_set_backend(struct vhu_session *s, int fd);
/* Read what the backend channel holds now without blocking, and check the
 * main socket for a closed connection or unsolicited bytes.  Returns 0,
 * or -1 when the session is dead. */
int  vhu_session_pump(struct vhu_session *s);
/* Take the oldest queued backend-channel request: 1 with *m set (the
 * caller owns its fds), 0 when none. */
int  vhu_session_backend_next(struct vhu_session *s, struct vhu_msg *m);
/* Answer a backend-channel request that asked for a reply (NEED_REPLY)
 * with `val`; does nothing otherwise. */
void vhu_session_backend_reply(struct vhu_session *s, const struct vhu_msg *req, uint64_t val);

/* End the session with a reason (first reason wins). */
void vhu_session_kill(struct vhu_session *s, int io, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
