/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_user.h - the vhost-user protocol: request codes, flags, feature
 * bits and message layouts (QEMU's docs/interop/vhost-user.rst), for both
 * roles.
 *
 * A message is a 12-byte header {request, flags, size} in host byte order
 * followed by `size` bytes of payload; file descriptors travel as
 * SCM_RIGHTS ancillary data of the same sendmsg as the header.  Replies
 * carry the request code of the message they answer and the REPLY flag.
 *
 * Two address spaces meet here: SET_VRING_ADDR carries the front-end's
 * user addresses (or IOVAs when the device translates through an IOTLB),
 * while descriptors in the rings carry guest-physical addresses (or
 * IOVAs).  SET_MEM_TABLE ties them together per region: guest-physical
 * address, size, user address, offset into the region's fd.
 */
#ifndef VCTS_VHOST_USER_H
#define VCTS_VHOST_USER_H

#include <stdint.h>

/* Header flags. */
#define VHU_VERSION                    0x1u
#define VHU_FLAG_VERSION_MASK          0x3u
#define VHU_FLAG_REPLY                 0x4u
#define VHU_FLAG_NEED_REPLY            0x8u

/* Requests from the front-end on the main socket. */
enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SEND_RARP = 19,
	VHU_NET_SET_MTU = 20,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_IOTLB_MSG = 22,
	VHU_SET_VRING_ENDIAN = 23,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_GET_INFLIGHT_FD = 31,
	VHU_SET_INFLIGHT_FD = 32,
	VHU_RESET_DEVICE = 34,
	VHU_VRING_KICK = 35,
	VHU_GET_MAX_MEM_SLOTS = 36,
	VHU_ADD_MEM_REG = 37,
	VHU_REM_MEM_REG = 38,
	VHU_SET_STATUS = 39,
	VHU_GET_STATUS = 40,
	VHU_REQUEST_MAX = 41,
};

/* Requests from the backend on the backend channel. */
enum vhu_backend_request {
	VHU_BACKEND_IOTLB_MSG = 1,
	VHU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VHU_BACKEND_VRING_CALL = 4,
	VHU_BACKEND_VRING_ERR = 5,
	VHU_BACKEND_REQUEST_MAX = 6,
};

/* Virtio feature bits with a vhost meaning: they belong to the
 * protocol between front-end and backend, never to the driver. */
#define VHU_F_LOG_ALL                  26
#define VHU_F_PROTOCOL_FEATURES        30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VHU_PROTOCOL_F_MQ              0
#define VHU_PROTOCOL_F_LOG_SHMFD       1
#define VHU_PROTOCOL_F_RARP            2
#define VHU_PROTOCOL_F_REPLY_ACK       3
#define VHU_PROTOCOL_F_NET_MTU         4
#define VHU_PROTOCOL_F_BACKEND_REQ     5
#define VHU_PROTOCOL_F_CROSS_ENDIAN    6
#define VHU_PROTOCOL_F_CRYPTO_SESSION  7
#define VHU_PROTOCOL_F_PAGEFAULT       8
#define VHU_PROTOCOL_F_CONFIG          9
#define VHU_PROTOCOL_F_BACKEND_SEND_FD 10
#define VHU_PROTOCOL_F_HOST_NOTIFIER   11
#define VHU_PROTOCOL_F_INFLIGHT_SHMFD  12
#define VHU_PROTOCOL_F_RESET_DEVICE    13
#define VHU_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS  15
#define VHU_PROTOCOL_F_STATUS          16

/* vring index word of SET_VRING_KICK / CALL / ERR: bits 0..7 the index,
 * bit 8 set when no file descriptor comes with it (polling). */
#define VHU_VRING_IDX_MASK             0xffu
#define VHU_VRING_NOFD_MASK            0x100u

/* Limits. */
#define VHU_MAX_REGIONS                8     /* without CONFIGURE_MEM_SLOTS */
#define VHU_MAX_FDS                    8     /* fds in one message          */
#define VHU_CONFIG_MAX                 256   /* device configuration bytes  */

/* IOTLB message types and permissions (struct vhost_iotlb_msg). */
#define VHU_IOTLB_MISS                 1
#define VHU_IOTLB_UPDATE               2
#define VHU_IOTLB_INVALIDATE           3
#define VHU_IOTLB_ACCESS_FAIL          4
#define VHU_ACCESS_RO                  0x1
#define VHU_ACCESS_WO                  0x2
#define VHU_ACCESS_RW                  0x3

/* SET_VRING_ADDR flags: bit 0 asks the backend to log used ring writes. */
#define VHU_VRING_F_LOG                0x1u

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;            /* payload bytes that follow */
} __attribute__((packed));

/* SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE.
 * For a packed ring `num` of SET_VRING_BASE is the next available index
 * in bits 0..14 with the driver's wrap counter in bit 15 (and the used
 * side the same way in bits 16..31). */
struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

/* SET_VRING_ADDR: note the order, used before avail. */
struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __attribute__((packed));

struct vhu_mem_region {
	uint64_t gpa;             /* guest-physical address               */
	uint64_t size;
	uint64_t uaddr;           /* front-end user address               */
	uint64_t mmap_offset;     /* offset of the region in its fd       */
} __attribute__((packed));

struct vhu_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region region[VHU_MAX_REGIONS];
} __attribute__((packed));

/* struct vhost_iotlb_msg: 32 bytes with its tail padding. */
struct vhu_iotlb {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
	uint8_t pad[6];
} __attribute__((packed));

/* GET_CONFIG / SET_CONFIG: the request carries a buffer of `size` bytes
 * (the whole size must be sent), the reply the same layout filled in; a
 * reply of payload size 0 means the backend failed the request. */
struct vhu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHU_CONFIG_MAX];
} __attribute__((packed));
#define VHU_CONFIG_HDR_SIZE            12u

union vhu_payload {
	uint64_t u64;
	struct vhu_vring_state state;
	struct vhu_vring_addr addr;
	struct vhu_memory memory;
	struct vhu_iotlb iotlb;
	struct vhu_config config;
	uint8_t raw[512];
};

#define VHU_PAYLOAD_MAX                ((uint32_t)sizeof(union vhu_payload))

_Static_assert(sizeof(struct vhu_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vring address is 40 bytes");
_Static_assert(sizeof(struct vhu_mem_region) == 32, "memory region is 32 bytes");
_Static_assert(sizeof(struct vhu_iotlb) == 32, "IOTLB message is 32 bytes");

#endif
