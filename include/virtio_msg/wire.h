/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file wire.h
 * @brief The virtio-msg wire format as constants: message IDs, type and
 *        status bits, flags, fixed sizes and field offsets.
 *
 * Header-only and self-contained: a kernel driver, QEMU or firmware can
 * include it (with endian.h) without linking the library, the way one
 * includes a protocol header. The compiled codec (proto.h) is built on these
 * same definitions, so there is one source of truth.
 *
 * Reference: the 2026 draft of the virtio-msg transport (SPEC-2026, "N"
 * layout; the Linux PoC v2 and QEMU PoC v2 match it). Where the 2025 "token
 * group" drafts (RFC3, PR28, Linux PoC v1, QEMU PATCH v1; "T" layout) differ,
 * the constant carries a _2025 suffix. Only five messages differ: the
 * GET_DEVICE_INFO, GET_SHM and bus GET_DEVICES responses, and the meaning of
 * the SET_VQUEUE word at payload offset 4 and the GET_VQUEUE response word at
 * payload offset 12.
 *
 * Offsets named VMSG_OFF_* are absolute: bytes from the start of the
 * message, header included. All multi-byte fields are little-endian; read
 * and write them only with vmsg_get_le*() / vmsg_put_le*().
 */
#ifndef VIRTIO_MSG_WIRE_H
#define VIRTIO_MSG_WIRE_H

#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/endian.h"

VMSG_BEGIN_DECLS

/* ---------------------------------------------------------------------- */
/* Common header (8 bytes, every message)                                 */
/* ---------------------------------------------------------------------- */

#define VMSG_HDR_SIZE 8u
#define VMSG_OFF_TYPE 0u     /**< u8: VMSG_TYPE_* bits */
#define VMSG_OFF_MSG_ID 1u   /**< u8: message ID */
#define VMSG_OFF_DEV_NUM 2u  /**< le16: device number (0 on bus messages) */
#define VMSG_OFF_TOKEN 4u    /**< le16: correlation token, owned by the bus */
#define VMSG_OFF_MSG_SIZE 6u /**< le16: total size, header included */
#define VMSG_OFF_PAYLOAD 8u

/* type byte */
#define VMSG_TYPE_RESPONSE 0x01u      /**< bit 0: 0 = request or event, 1 = response */
#define VMSG_TYPE_BUS 0x02u           /**< bit 1: 0 = transport, 1 = bus message */
#define VMSG_TYPE_RESERVED_MASK 0xFCu /**< bits 2..7: send 0, ignore on receive */

/* msg_id byte, the same in both namespaces */
#define VMSG_ID_NUMBER_MASK 0x3Fu /**< bits 0..5: number within the range */
#define VMSG_ID_EVENT 0x40u       /**< bit 6: event (one-way, never a response) */
#define VMSG_ID_IMPL 0x80u        /**< bit 7: implementation-defined ID */

/* ---------------------------------------------------------------------- */
/* Message IDs                                                            */
/* ---------------------------------------------------------------------- */

/* Transport namespace (type bit 1 = 0) */
#define VMSG_ID_GET_DEVICE_INFO 0x02u
#define VMSG_ID_GET_DEVICE_FEATURES 0x03u
#define VMSG_ID_SET_DRIVER_FEATURES 0x04u
#define VMSG_ID_GET_CONFIG 0x05u
#define VMSG_ID_SET_CONFIG 0x06u
#define VMSG_ID_GET_DEVICE_STATUS 0x07u
#define VMSG_ID_SET_DEVICE_STATUS 0x08u
#define VMSG_ID_GET_VQUEUE 0x09u
#define VMSG_ID_SET_VQUEUE 0x0Au
#define VMSG_ID_RESET_VQUEUE 0x0Bu
#define VMSG_ID_GET_SHM 0x0Cu
#define VMSG_ID_EVENT_CONFIG 0x40u
#define VMSG_ID_EVENT_AVAIL 0x41u
#define VMSG_ID_EVENT_USED 0x42u

/* Bus namespace (type bit 1 = 1, dev_num = 0) */
#define VMSG_BUS_ID_GET_DEVICES 0x02u
#define VMSG_BUS_ID_PING 0x03u
#define VMSG_BUS_ID_EVENT_DEVICE 0x40u

/* ---------------------------------------------------------------------- */
/* Maximum message size (out of band, per bus instance)                   */
/* ---------------------------------------------------------------------- */

#define VMSG_MAX_MSG_SIZE_MIN 52u         /**< a bus MUST advertise >= 52 */
#define VMSG_MAX_MSG_SIZE_MAX 65535u      /**< the most le16 msg_size can say */
#define VMSG_MAX_MSG_SIZE_DEFAULT 264u    /**< recommended (256-byte payload) */
#define VMSG_MAX_MSG_SIZE_MIN_2025 48u    /**< largest fixed 2025 message (GET/SET_VQUEUE) */
#define VMSG_TRANSPORT_REVISION 1u        /**< the only defined transport revision */

/* Transport feature bits (out of band, never in feature blocks) */
#define VMSG_TF_STRICT_CONFIG_GENERATION (1ull << 0)

/* Virtio device status bits carried in le32 status fields */
#define VMSG_WIRE_STATUS_ACKNOWLEDGE 0x01u
#define VMSG_WIRE_STATUS_DRIVER 0x02u
#define VMSG_WIRE_STATUS_DRIVER_OK 0x04u
#define VMSG_WIRE_STATUS_FEATURES_OK 0x08u
#define VMSG_WIRE_STATUS_DEVICE_NEEDS_RESET 0x40u
#define VMSG_WIRE_STATUS_FAILED 0x80u

/* ---------------------------------------------------------------------- */
/* Transport messages: sizes (msg_size, header included) and offsets      */
/* ---------------------------------------------------------------------- */

/* GET_DEVICE_INFO (0x02): empty request, 44-byte response payload */
#define VMSG_SIZE_GET_DEVICE_INFO_REQ 8u
#define VMSG_SIZE_GET_DEVICE_INFO_RESP 52u
#define VMSG_OFF_DEVINFO_DEVICE_ID 8u           /**< le32 virtio device type */
#define VMSG_OFF_DEVINFO_VENDOR_ID 12u          /**< le32 */
#define VMSG_OFF_DEVINFO_UUID 16u               /**< u8[16], nil = no UUID */
#define VMSG_OFF_DEVINFO_NUM_FEATURE_BLOCKS 32u /**< le32 */
#define VMSG_OFF_DEVINFO_CONFIG_SIZE 36u        /**< le32 */
#define VMSG_OFF_DEVINFO_MAX_VIRTQUEUES 40u     /**< le32, <= 65536 */
#define VMSG_OFF_DEVINFO_ADMIN_VQ_START 44u     /**< le32 */
#define VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT 48u     /**< le32 */
#define VMSG_DEVINFO_UUID_SIZE 16u
#define VMSG_MAX_VIRTQUEUES_LIMIT 65536u

/* 2025 layout: 24-byte payload, no UUID, feature *bits*, le16 admin fields */
#define VMSG_SIZE_GET_DEVICE_INFO_RESP_2025 32u
#define VMSG_OFF_DEVINFO_DEVICE_ID_2025 8u        /**< le32 */
#define VMSG_OFF_DEVINFO_VENDOR_ID_2025 12u       /**< le32 */
#define VMSG_OFF_DEVINFO_NUM_FEATURE_BITS_2025 16u/**< le32: bits, not blocks */
#define VMSG_OFF_DEVINFO_CONFIG_SIZE_2025 20u     /**< le32 */
#define VMSG_OFF_DEVINFO_MAX_VIRTQUEUES_2025 24u  /**< le32 */
#define VMSG_OFF_DEVINFO_ADMIN_VQ_START_2025 28u  /**< le16 */
#define VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT_2025 30u  /**< le16 */

/* GET_DEVICE_FEATURES (0x03) and SET_DRIVER_FEATURES (0x04) */
#define VMSG_SIZE_GET_DEVICE_FEATURES_REQ 16u
#define VMSG_SIZE_FEATURES_FIXED 16u /**< GET resp / SET req: + 4 * num_blocks */
#define VMSG_SIZE_SET_DRIVER_FEATURES_RESP 8u
#define VMSG_OFF_FEAT_BLOCK_INDEX 8u /**< le32 */
#define VMSG_OFF_FEAT_NUM_BLOCKS 12u /**< le32 */
#define VMSG_OFF_FEAT_BLOCKS 16u     /**< le32[num_blocks] */
#define VMSG_FEATURE_BLOCK_SIZE 4u

/* GET_CONFIG (0x05) */
#define VMSG_SIZE_GET_CONFIG_REQ 16u
#define VMSG_OFF_GETCFG_REQ_OFFSET 8u  /**< le32 */
#define VMSG_OFF_GETCFG_REQ_LENGTH 12u /**< le32 */
#define VMSG_SIZE_CONFIG_RESP_FIXED 20u /**< GET/SET_CONFIG resp: + data */
#define VMSG_OFF_CFG_GENERATION 8u      /**< le32 (resp, and SET req) */
#define VMSG_OFF_CFG_OFFSET 12u         /**< le32 (resp, and SET req) */
#define VMSG_OFF_CFG_LENGTH 16u         /**< le32 (resp, and SET req) */
#define VMSG_OFF_CFG_DATA 20u           /**< u8[length] */

/* SET_CONFIG (0x06): request and response share the GET_CONFIG resp layout */
#define VMSG_SIZE_SET_CONFIG_FIXED 20u

/* GET_DEVICE_STATUS (0x07) and SET_DEVICE_STATUS (0x08) */
#define VMSG_SIZE_GET_DEVICE_STATUS_REQ 8u
#define VMSG_SIZE_STATUS 12u /**< GET resp, SET req, SET resp */
#define VMSG_OFF_STATUS 8u   /**< le32 */

/* GET_VQUEUE (0x09), SET_VQUEUE (0x0A), RESET_VQUEUE (0x0B) */
#define VMSG_SIZE_VQ_INDEX_REQ 12u /**< GET_VQUEUE and RESET_VQUEUE requests */
#define VMSG_OFF_VQ_INDEX 8u       /**< le32, all vqueue messages */
#define VMSG_SIZE_GET_VQUEUE_RESP 48u
#define VMSG_OFF_GETVQ_MAX_SIZE 12u    /**< le32, 0 = unavailable */
#define VMSG_OFF_GETVQ_CUR_SIZE 16u    /**< le32, 0 = unconfigured */
#define VMSG_OFF_GETVQ_FLAGS 20u       /**< le32 (2025: reserved, 0) */
#define VMSG_OFF_GETVQ_DESC_ADDR 24u   /**< le64 */
#define VMSG_OFF_GETVQ_DRIVER_ADDR 32u /**< le64 */
#define VMSG_OFF_GETVQ_DEVICE_ADDR 40u /**< le64 */
#define VMSG_GETVQ_F_ENABLED 0x1u
#define VMSG_SIZE_SET_VQUEUE_REQ 48u
#define VMSG_OFF_SETVQ_FLAGS 12u       /**< le32 (2025: reserved, 0) */
#define VMSG_OFF_SETVQ_SIZE 16u        /**< le32 */
#define VMSG_OFF_SETVQ_RESERVED 20u    /**< le32, MUST be 0 */
#define VMSG_OFF_SETVQ_DESC_ADDR 24u   /**< le64 */
#define VMSG_OFF_SETVQ_DRIVER_ADDR 32u /**< le64 */
#define VMSG_OFF_SETVQ_DEVICE_ADDR 40u /**< le64 */
#define VMSG_SIZE_SET_VQUEUE_RESP 8u
#define VMSG_SIZE_RESET_VQUEUE_RESP 8u

/* SET_VQUEUE flags */
#define VMSG_SETVQ_OP_MASK 0x3u          /**< bits 1:0: state operation */
#define VMSG_SETVQ_OP_KEEP_DISABLED 0x0u /**< apply fields, stay disabled */
#define VMSG_SETVQ_OP_ENABLE 0x1u        /**< apply fields, then enable */
#define VMSG_SETVQ_OP_KEEP_STATE 0x2u    /**< apply fields, keep state */
#define VMSG_SETVQ_OP_RESERVED 0x3u      /**< invalid */
#define VMSG_SETVQ_F_SIZE_IGNORE (1u << 2)
#define VMSG_SETVQ_F_DESC_IGNORE (1u << 3)
#define VMSG_SETVQ_F_DRIVER_IGNORE (1u << 4)
#define VMSG_SETVQ_F_DEVICE_IGNORE (1u << 5)
#define VMSG_SETVQ_F_RESERVED_MASK 0xFFFFFFC0u /**< bits 31:6 MUST be 0 */

/* GET_SHM (0x0C) */
#define VMSG_SIZE_GET_SHM_REQ 12u
#define VMSG_OFF_SHM_ID 8u /**< le32, request and response */
#define VMSG_SIZE_GET_SHM_RESP 32u
#define VMSG_OFF_SHM_RESERVED 12u /**< le32 = 0 */
#define VMSG_OFF_SHM_LENGTH 16u   /**< le64, 0 = unsupported shmid */
#define VMSG_OFF_SHM_ADDRESS 24u  /**< le64 */
/* 2025 layout: 12-byte payload, le32 length and address */
#define VMSG_SIZE_GET_SHM_RESP_2025 20u
#define VMSG_OFF_SHM_LENGTH_2025 12u  /**< le32 */
#define VMSG_OFF_SHM_ADDRESS_2025 16u /**< le32 */

/* EVENT_CONFIG (0x40, device -> driver) */
#define VMSG_SIZE_EVENT_CONFIG_FIXED 24u /**< + D optional data bytes */
#define VMSG_OFF_EVCFG_STATUS 8u         /**< le32 device_status */
#define VMSG_OFF_EVCFG_GENERATION 12u    /**< le32 */
#define VMSG_OFF_EVCFG_OFFSET 16u        /**< le32 */
#define VMSG_OFF_EVCFG_LENGTH 20u        /**< le32: bytes in the affected range */
#define VMSG_OFF_EVCFG_DATA 24u

/* EVENT_AVAIL (0x41, driver -> device) */
#define VMSG_SIZE_EVENT_AVAIL 16u
#define VMSG_OFF_EVAVAIL_VQ_INDEX 8u     /**< le32 */
#define VMSG_OFF_EVAVAIL_NEXT_OFFSET 12u /**< le32: next_off 30:0, next_wrap 31 */
#define VMSG_EVAVAIL_NEXT_WRAP (1u << 31)
#define VMSG_EVAVAIL_NEXT_OFF_MASK 0x7FFFFFFFu

/* EVENT_USED (0x42, device -> driver) */
#define VMSG_SIZE_EVENT_USED 12u
#define VMSG_OFF_EVUSED_VQ_INDEX 8u /**< le32 */

/* ---------------------------------------------------------------------- */
/* Bus messages                                                           */
/* ---------------------------------------------------------------------- */

/* GET_DEVICES (0x02) */
#define VMSG_SIZE_GET_DEVICES_REQ 12u
#define VMSG_OFF_GETDEV_REQ_OFFSET 8u  /**< le16: first device number */
#define VMSG_OFF_GETDEV_REQ_COUNT 10u  /**< le16: number of slots (0 is valid) */
#define VMSG_SIZE_GET_DEVICES_RESP_FIXED 14u /**< + ceil(count / 8) bitmap bytes */
#define VMSG_OFF_GETDEV_OFFSET 8u       /**< le16 (echo) */
#define VMSG_OFF_GETDEV_NEXT_OFFSET 10u /**< le16, 0 = terminal */
#define VMSG_OFF_GETDEV_COUNT 12u       /**< le16, <= request count */
#define VMSG_OFF_GETDEV_BITMAP 14u      /**< bit n%8 of byte n/8 = device offset+n */
/* 2025 layout: count and next_offset are swapped */
#define VMSG_OFF_GETDEV_COUNT_2025 10u
#define VMSG_OFF_GETDEV_NEXT_OFFSET_2025 12u

/* PING (0x03) */
#define VMSG_SIZE_PING 12u /**< request and response */
#define VMSG_OFF_PING_DATA 8u

/* EVENT_DEVICE (0x40) */
#define VMSG_SIZE_EVENT_DEVICE 12u
#define VMSG_OFF_EVDEV_DEV_NUM 8u /**< le16 device_number */
#define VMSG_OFF_EVDEV_STATE 10u  /**< le16 device_bus_state */
#define VMSG_EVDEV_STATE_ADDED 0x0001u   /**< called READY in older drafts */
#define VMSG_EVDEV_STATE_REMOVED 0x0002u
#define VMSG_EVDEV_STATE_IMPL_MIN 0x8000u /**< 0x8000..0xFFFF bus-defined */

/* ---------------------------------------------------------------------- */
/* Capacity for a maximum message size M (wire note, table in 1.7)        */
/* ---------------------------------------------------------------------- */

/** Config bytes one GET_CONFIG/SET_CONFIG can carry. */
#define VMSG_CAP_CONFIG_BYTES(M) ((M) - VMSG_SIZE_CONFIG_RESP_FIXED)
/** Config bytes one EVENT_CONFIG can carry. */
#define VMSG_CAP_EVENT_CONFIG_BYTES(M) ((M) - VMSG_SIZE_EVENT_CONFIG_FIXED)
/** Feature blocks one GET_DEVICE_FEATURES/SET_DRIVER_FEATURES can carry. */
#define VMSG_CAP_FEATURE_BLOCKS(M) (((M) - VMSG_SIZE_FEATURES_FIXED) / 4u)
/** Device slots one GET_DEVICES response can describe. */
#define VMSG_CAP_GET_DEVICES_SLOTS(M) (((M) - VMSG_SIZE_GET_DEVICES_RESP_FIXED) * 8u)

/* ---------------------------------------------------------------------- */
/* Header accessors (raw bytes; the caller checks the length first)       */
/* ---------------------------------------------------------------------- */

/** True if the type byte marks a response. */
static inline int vmsg_wire_is_response(uint8_t type)
{
	return (type & VMSG_TYPE_RESPONSE) != 0;
}

/** True if the type byte marks a bus message. */
static inline int vmsg_wire_is_bus(uint8_t type)
{
	return (type & VMSG_TYPE_BUS) != 0;
}

/** True if the msg_id is an event ID (bit 6). */
static inline int vmsg_wire_is_event(uint8_t msg_id)
{
	return (msg_id & VMSG_ID_EVENT) != 0;
}

/** True if the msg_id is implementation-defined (bit 7). */
static inline int vmsg_wire_is_impl(uint8_t msg_id)
{
	return (msg_id & VMSG_ID_IMPL) != 0;
}

/** msg_size of a message whose first 8 bytes are at @p hdr. */
static inline uint16_t vmsg_wire_msg_size(const uint8_t *hdr)
{
	return vmsg_get_le16(hdr + VMSG_OFF_MSG_SIZE);
}

/** dev_num of a message whose first 8 bytes are at @p hdr. */
static inline uint16_t vmsg_wire_dev_num(const uint8_t *hdr)
{
	return vmsg_get_le16(hdr + VMSG_OFF_DEV_NUM);
}

/** token of a message whose first 8 bytes are at @p hdr. */
static inline uint16_t vmsg_wire_token(const uint8_t *hdr)
{
	return vmsg_get_le16(hdr + VMSG_OFF_TOKEN);
}

/** Rewrite the token of an encoded message in place (the bus owns it). */
static inline void vmsg_wire_set_token(uint8_t *hdr, uint16_t token)
{
	vmsg_put_le16(hdr + VMSG_OFF_TOKEN, token);
}

/* ---------------------------------------------------------------------- */
/* Pinned facts: a typo in a number above fails the build                 */
/* ---------------------------------------------------------------------- */

VMSG_STATIC_ASSERT(VMSG_SIZE_GET_DEVICE_INFO_RESP == VMSG_MAX_MSG_SIZE_MIN,
		   "the largest fixed message sets the minimum maximum size");
VMSG_STATIC_ASSERT(VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT + 4 == VMSG_SIZE_GET_DEVICE_INFO_RESP,
		   "GET_DEVICE_INFO response is 8 + 44 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_DEVINFO_UUID + VMSG_DEVINFO_UUID_SIZE ==
			   VMSG_OFF_DEVINFO_NUM_FEATURE_BLOCKS,
		   "UUID is 16 bytes before num_feature_blocks");
VMSG_STATIC_ASSERT(VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT_2025 + 2 == VMSG_SIZE_GET_DEVICE_INFO_RESP_2025,
		   "2025 GET_DEVICE_INFO response is 8 + 24 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_GETVQ_DEVICE_ADDR + 8 == VMSG_SIZE_GET_VQUEUE_RESP,
		   "GET_VQUEUE response is 8 + 40 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_SETVQ_DEVICE_ADDR + 8 == VMSG_SIZE_SET_VQUEUE_REQ,
		   "SET_VQUEUE request is 8 + 40 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_SHM_ADDRESS + 8 == VMSG_SIZE_GET_SHM_RESP,
		   "GET_SHM response is 8 + 24 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_SHM_ADDRESS_2025 + 4 == VMSG_SIZE_GET_SHM_RESP_2025,
		   "2025 GET_SHM response is 8 + 12 bytes");
VMSG_STATIC_ASSERT(VMSG_OFF_EVCFG_DATA == VMSG_SIZE_EVENT_CONFIG_FIXED,
		   "EVENT_CONFIG data follows the 16-byte fixed payload");
VMSG_STATIC_ASSERT(VMSG_OFF_CFG_DATA == VMSG_SIZE_CONFIG_RESP_FIXED,
		   "config data follows the 12-byte fixed payload");
VMSG_STATIC_ASSERT(VMSG_OFF_GETDEV_BITMAP == VMSG_SIZE_GET_DEVICES_RESP_FIXED,
		   "GET_DEVICES bitmap follows the 6-byte fixed payload");
VMSG_STATIC_ASSERT(VMSG_CAP_CONFIG_BYTES(264u) == 244u, "wire note table, M = 264");
VMSG_STATIC_ASSERT(VMSG_CAP_EVENT_CONFIG_BYTES(52u) == 28u, "wire note table, M = 52");
VMSG_STATIC_ASSERT(VMSG_CAP_FEATURE_BLOCKS(104u) == 22u, "wire note table, M = 104");
VMSG_STATIC_ASSERT(VMSG_CAP_GET_DEVICES_SLOTS(128u) == 912u, "wire note table, M = 128");

VMSG_END_DECLS

#endif /* VIRTIO_MSG_WIRE_H */
