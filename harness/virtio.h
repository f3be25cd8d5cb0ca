/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio.h - the wire-level vocabulary of the virtio specification (v1.4):
 * device status bits, reserved feature bits, split and packed ring layouts.
 *
 * Everything in guest memory is little-endian.  The structures below
 * describe the in-memory layout; access them through vt_le16()/vt_le32()/
 * vt_le64() and their vt_put_* counterparts so that a big-endian host
 * would still be right.
 */
#ifndef VCTS_VIRTIO_H
#define VCTS_VIRTIO_H

#include <stdint.h>
#include <endian.h>

/* 2.1 Device Status Field */
#define VIRTIO_STATUS_ACKNOWLEDGE      0x01
#define VIRTIO_STATUS_DRIVER           0x02
#define VIRTIO_STATUS_DRIVER_OK        0x04
#define VIRTIO_STATUS_FEATURES_OK      0x08
#define VIRTIO_STATUS_SUSPEND          0x10
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED           0x80

/* 6 Reserved Feature Bits (device-independent) */
#define VIRTIO_F_INDIRECT_DESC         28
#define VIRTIO_F_EVENT_IDX             29
#define VIRTIO_F_VERSION_1             32
#define VIRTIO_F_ACCESS_PLATFORM       33
#define VIRTIO_F_RING_PACKED           34
#define VIRTIO_F_IN_ORDER              35
#define VIRTIO_F_ORDER_PLATFORM        36
#define VIRTIO_F_SR_IOV                37
#define VIRTIO_F_NOTIFICATION_DATA     38
#define VIRTIO_F_NOTIF_CONFIG_DATA     39
#define VIRTIO_F_RING_RESET            40
#define VIRTIO_F_ADMIN_VQ              41
#define VIRTIO_F_SUSPEND               43

#define VT_BIT(n)                      (1ULL << (n))

/* Bits 24..40 and 43 belong to the queue/negotiation extensions; 0..23,
 * 41, 42 and 50..63 to the device type; 44..49 are reserved for the future. */
#define VT_FEATURES_TRANSPORT_RANGE    (((1ULL << 41) - 1) & ~((1ULL << 24) - 1))
#define VT_FEATURES_RESERVED_FUTURE    (((1ULL << 50) - 1) & ~((1ULL << 44) - 1))

/* Device IDs (5 Device Types) used by the in-process device models. */
#define VIRTIO_ID_NET                  1
#define VIRTIO_ID_BLOCK                2
#define VIRTIO_ID_CONSOLE              3
#define VIRTIO_ID_RNG                  4
#define VIRTIO_ID_FS                   26
/* The echo device is a test device: it takes a device ID the specification
 * leaves unassigned in v1.4 and reserves for nothing. */
#define VIRTIO_ID_VCTS_ECHO            0xfff0

/* 2.7 Split virtqueues ------------------------------------------------- */
#define VIRTQ_DESC_F_NEXT              1
#define VIRTQ_DESC_F_WRITE             2
#define VIRTQ_DESC_F_INDIRECT          4

#define VIRTQ_AVAIL_F_NO_INTERRUPT     1 /* avail->flags: used-buffer suppression */
#define VIRTQ_USED_F_NO_NOTIFY         1 /* used->flags: available-buffer suppression */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
	/* uint16_t used_event follows ring[queue_size] */
} __attribute__((packed));

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
} __attribute__((packed));

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
	/* uint16_t avail_event follows ring[queue_size] */
} __attribute__((packed));

/* Alignment and size of each part (2.7, table "Virtqueue Part Alignment"). */
#define VIRTQ_SPLIT_DESC_ALIGN         16
#define VIRTQ_SPLIT_AVAIL_ALIGN        2
#define VIRTQ_SPLIT_USED_ALIGN         4

static inline uint64_t virtq_split_desc_size(unsigned qsz)  { return 16ULL * qsz; }
static inline uint64_t virtq_split_avail_size(unsigned qsz) { return 6ULL + 2ULL * qsz; }
static inline uint64_t virtq_split_used_size(unsigned qsz)  { return 6ULL + 8ULL * qsz; }
/* Offsets of the event-index words inside the avail / used areas. */
static inline uint64_t virtq_used_event_off(unsigned qsz)   { return 4ULL + 2ULL * qsz; }
static inline uint64_t virtq_avail_event_off(unsigned qsz)  { return 4ULL + 8ULL * qsz; }

/* The event-index test of 2.7.7/2.7.10: should moving the index from
 * old_idx to new_idx trigger a notification for event_idx? */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* 2.8 Packed virtqueues ------------------------------------------------ */
#define VIRTQ_DESC_F_AVAIL             (1 << 7)
#define VIRTQ_DESC_F_USED              (1 << 15)

#define RING_EVENT_FLAGS_ENABLE        0x0
#define RING_EVENT_FLAGS_DISABLE       0x1
#define RING_EVENT_FLAGS_DESC          0x2

struct pvirtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
} __attribute__((packed));

struct pvirtq_event_suppress {
	uint16_t desc;   /* bits 0..14 offset, bit 15 wrap counter */
	uint16_t flags;  /* bits 0..1 RING_EVENT_FLAGS_* */
} __attribute__((packed));

#define VIRTQ_PACKED_DESC_ALIGN        16
#define VIRTQ_PACKED_EVENT_ALIGN       4
static inline uint64_t virtq_packed_desc_size(unsigned qsz) { return 16ULL * qsz; }
#define VIRTQ_PACKED_EVENT_SIZE        4ULL

/* Largest queue: split rings are limited to 32768, packed to 32768 too. */
#define VIRTQ_MAX_SIZE                 32768

/* Little-endian helpers. */
static inline uint16_t vt_le16(uint16_t v) { return le16toh(v); }
static inline uint32_t vt_le32(uint32_t v) { return le32toh(v); }
static inline uint64_t vt_le64(uint64_t v) { return le64toh(v); }
static inline uint16_t vt_put_le16(uint16_t v) { return htole16(v); }
static inline uint32_t vt_put_le32(uint32_t v) { return htole32(v); }
static inline uint64_t vt_put_le64(uint64_t v) { return htole64(v); }

/* virtio-net (5.1) ------------------------------------------------------ */
#define VIRTIO_NET_F_CSUM              0
#define VIRTIO_NET_F_MAC               5
#define VIRTIO_NET_F_HOST_TSO4         11
#define VIRTIO_NET_F_HOST_TSO6         12
#define VIRTIO_NET_F_HOST_UFO          14
#define VIRTIO_NET_F_MRG_RXBUF         15
#define VIRTIO_NET_F_STATUS            16
#define VIRTIO_NET_F_CTRL_VQ           17
#define VIRTIO_NET_F_MQ                22
#define VIRTIO_NET_F_HOST_USO          56
#define VIRTIO_NET_HDR_LEN             12   /* struct virtio_net_hdr with VERSION_1 */
#define VIRTIO_NET_RXQ                 0
#define VIRTIO_NET_TXQ                 1

/* virtio-blk (5.2) ----------------------------------------------------- */
#define VIRTIO_BLK_F_SIZE_MAX          1
#define VIRTIO_BLK_F_SEG_MAX           2
#define VIRTIO_BLK_F_GEOMETRY          4
#define VIRTIO_BLK_F_RO                5
#define VIRTIO_BLK_F_BLK_SIZE          6
#define VIRTIO_BLK_F_FLUSH             9
#define VIRTIO_BLK_F_MQ                12

#define VIRTIO_BLK_T_IN                0
#define VIRTIO_BLK_T_OUT               1
#define VIRTIO_BLK_T_FLUSH             4
#define VIRTIO_BLK_T_GET_ID            8

#define VIRTIO_BLK_S_OK                0
#define VIRTIO_BLK_S_IOERR             1
#define VIRTIO_BLK_S_UNSUPP            2

#define VIRTIO_BLK_SECTOR_SIZE         512
#define VIRTIO_BLK_ID_BYTES            20

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} __attribute__((packed));

/* Offsets in struct virtio_blk_config. */
#define VIRTIO_BLK_CFG_CAPACITY        0   /* le64 */
#define VIRTIO_BLK_CFG_SIZE_MAX        8   /* le32, VIRTIO_BLK_F_SIZE_MAX */
#define VIRTIO_BLK_CFG_SEG_MAX         12  /* le32, VIRTIO_BLK_F_SEG_MAX */
#define VIRTIO_BLK_CFG_GEOMETRY        16  /* 4 bytes, VIRTIO_BLK_F_GEOMETRY */
#define VIRTIO_BLK_CFG_BLK_SIZE        20  /* le32, VIRTIO_BLK_F_BLK_SIZE */
#define VIRTIO_BLK_CFG_SIZE            24  /* the part the model implements */

#endif
