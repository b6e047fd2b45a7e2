/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file proto.h
 * @brief The virtio-msg codec: encode plain host structs into wire bytes and
 *        decode wire bytes into validated host structs.
 *
 * The codec never allocates and never copies variable-length parts: feature
 * blocks, config data, the GET_DEVICES bitmap, EVENT_CONFIG data and the
 * payload of implementation-defined messages are *views* (pointer + length)
 * into the caller's buffer. Such a view stays valid as long as that buffer.
 *
 * Decoding is strict and total: any input of any length gives either 0 and a
 * fully validated message, or a negative VMSG_E* code, and never reads
 * outside [buf, buf + len). The rules, in the order they are checked:
 *
 *  1. len < 8                                  -> VMSG_ESHORT
 *  2. msg_size < 8                             -> VMSG_EBADMSG
 *  3. msg_size > the codec's maximum           -> VMSG_EMSGSIZE
 *  4. msg_size > len                           -> VMSG_ESHORT
 *     (len > msg_size is fine: bytes past msg_size are bus framing or slot
 *     padding, which the receiver ignores.)
 *  5. type bits 2..7 are ignored (GEN-1) and cleared in the decoded type.
 *  6. event ID (bit 6) with the response bit   -> VMSG_EBADTYPE (GEN-2)
 *  7. bus message with dev_num != 0            -> VMSG_EBADDEV (GEN-3)
 *  8. implementation-defined ID (bit 7): decoded as an opaque payload.
 *  9. unknown standard ID                      -> VMSG_ENOTSUP
 * 10. per message: msg_size below what the fixed part and the count/length
 *     fields require, or inconsistent with them -> VMSG_EBADMSG; a reserved
 *     field, bit or value in use                -> VMSG_ERESERVED; a request
 *     whose response could not fit the maximum, or a SET_CONFIG response
 *     longer than any request could be          -> VMSG_EMSGSIZE.
 *     Cross-field rules (each in docs/wire-decisions.md): a config range
 *     (offset + length) past 0xFFFFFFFF; GET_DEVICE_INFO with more than
 *     65536 queues or an admin range outside max_virtqueues (DEV-41/43/44);
 *     a GET_VQUEUE response that breaks the Linux PoC v2 rules (max_size 0
 *     with other fields set, cur_size > max_size, cur_size 0 but enabled or
 *     with an address, cur_size set but an address 0) -> VMSG_EBADMSG.
 *
 * Trailing bytes (decision, documented in docs/wire-decisions.md): a request
 * or response may be longer than its defined size; the extra bytes are
 * ignored, as both the QEMU PoC v2 device and the Linux PoC v2 driver accept
 * them. An event must have exactly its defined size, as the Linux PoC v2
 * requires (EVENT_CONFIG's data length is derived from msg_size, so nothing
 * else would be unambiguous). VMSG_CODEC_F_EXACT_SIZE makes requests and
 * responses exact too.
 *
 * Where the spec requires the *device* to answer an invalid request with a
 * normal response (SET_VQUEUE with reserved bits: DEV-58), the codec decodes
 * the raw values instead of rejecting, so the device layer can answer.
 */
#ifndef VIRTIO_MSG_PROTO_H
#define VIRTIO_MSG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/wire.h"

VMSG_BEGIN_DECLS

/**
 * Wire profile of a codec context.
 *
 * VMSG_PROFILE_2026 is the 2026 draft (SPEC-2026, Linux PoC v2, QEMU PoC v2).
 * VMSG_PROFILE_2025 is the 2025 "token group" layout (RFC3, PR28, Linux PoC
 * v1, QEMU PATCH v1). The host structs always carry 2026 semantics; the 2025
 * codec translates exactly five messages:
 *  - GET_DEVICE_INFO response: no UUID (must be nil to encode), feature
 *    *bits* (num_feature_bits; num_feature_blocks is derived on decode and
 *    must agree on encode), le16 admin_vq_start/count (VMSG_ERANGE above).
 *  - GET_SHM response: le32 length and address (VMSG_ERANGE above).
 *  - GET_DEVICES response: count and next_offset swapped.
 *  - SET_VQUEUE request: the word at payload 4 is reserved (0) and a 2025
 *    device always enables the queue, so it decodes as flags =
 *    VMSG_SETVQ_OP_ENABLE, and only that value encodes.
 *  - GET_VQUEUE response: the word at payload 12 is reserved (0); a 2025
 *    queue is enabled exactly when configured, so flags decodes as
 *    VMSG_GETVQ_F_ENABLED iff size != 0, and must say so to encode.
 */
enum vmsg_profile {
	VMSG_PROFILE_2026 = 0,
	VMSG_PROFILE_2025 = 1,
};

/** Codec flags. */
#define VMSG_CODEC_F_EXACT_SIZE 0x1u /**< reject trailing bytes on requests and responses */

/** A codec context: profile, bus maximum message size and flags. */
struct vmsg_codec {
	uint16_t max_msg_size; /**< advertised maximum, header included */
	uint8_t profile;       /**< enum vmsg_profile */
	uint8_t flags;         /**< VMSG_CODEC_F_* */
};

/** GET_DEVICE_INFO response. */
struct vmsg_device_info {
	uint32_t device_id;          /**< virtio device type (0 = no device) */
	uint32_t vendor_id;
	uint8_t uuid[16];            /**< all zero = no UUID */
	uint32_t num_feature_blocks; /**< 32-bit feature blocks offered */
	uint32_t config_size;
	uint32_t max_virtqueues;     /**< <= 65536, admin queues included */
	uint32_t admin_vq_start;
	uint32_t admin_vq_count;
	/** 2025 profile only: the wire's feature *bit* count. Decode of a 2026
	 *  message leaves it 0; 2026 encode ignores it. */
	uint32_t num_feature_bits;
};

/**
 * GET_DEVICE_FEATURES request (no blocks), GET_DEVICE_FEATURES response and
 * SET_DRIVER_FEATURES request (num_blocks little-endian 32-bit words).
 */
struct vmsg_features {
	uint32_t block_index;  /**< block 0 = feature bits 0..31 */
	uint32_t num_blocks;   /**< >= 1 */
	const uint8_t *blocks; /**< view of 4 * num_blocks bytes; read with vmsg_features_block() */
};

/**
 * GET_CONFIG request (offset, length), GET_CONFIG response, SET_CONFIG
 * request and SET_CONFIG response (generation, offset, length, data).
 */
struct vmsg_config {
	uint32_t generation;
	uint32_t offset;
	uint32_t length;
	/** View of @c length config bytes. NULL in a GET_CONFIG request, and in a
	 *  SET_CONFIG response that does not echo the data (always NULL when
	 *  length is 0). */
	const uint8_t *data;
};

/** GET/SET_DEVICE_STATUS (request of SET, responses of both). */
struct vmsg_status {
	uint32_t status; /**< VMSG_WIRE_STATUS_* bits; raw le32 */
};

/**
 * GET_VQUEUE request and RESET_VQUEUE request (index only), GET_VQUEUE
 * response and SET_VQUEUE request.
 */
struct vmsg_vqueue {
	uint32_t index;
	uint32_t max_size; /**< GET_VQUEUE response only; 0 = unavailable */
	uint32_t size;     /**< GET_VQUEUE response: cur_size; SET_VQUEUE: size */
	/** GET_VQUEUE response: VMSG_GETVQ_F_ENABLED. SET_VQUEUE: state op and
	 *  ignore bits (VMSG_SETVQ_*), decoded raw (see DEV-58). */
	uint32_t flags;
	uint32_t reserved; /**< SET_VQUEUE only; decoded raw, must be 0 to encode */
	uint64_t desc_addr;
	uint64_t driver_addr;
	uint64_t device_addr;
};

/** GET_SHM request (shmid) and response. */
struct vmsg_shm {
	uint32_t shmid;
	uint64_t length; /**< 0 = shmid not supported */
	uint64_t address;
};

/** EVENT_CONFIG. */
struct vmsg_event_config {
	uint32_t device_status;
	uint32_t generation;
	uint32_t offset;
	uint32_t length; /**< bytes in the affected range */
	/** View of @c length bytes of new config data, or NULL when the event
	 *  carries none. (Decision: data, when present, covers the whole range.) */
	const uint8_t *data;
};

/** EVENT_AVAIL. */
struct vmsg_event_avail {
	uint32_t vq_index;
	uint32_t next_offset; /**< 0 without VIRTIO_F_NOTIFICATION_DATA */
};

/** EVENT_USED. */
struct vmsg_event_used {
	uint32_t vq_index;
};

/** Bus GET_DEVICES request (offset, count) and response. */
struct vmsg_get_devices {
	uint16_t offset;         /**< first device number of the window */
	uint16_t count;          /**< slots in the window */
	uint16_t next_offset;    /**< response only: 0 = terminal */
	const uint8_t *bitmap;   /**< response only: view of ceil(count / 8) bytes */
};

/** Bus PING request and response. */
struct vmsg_ping {
	uint32_t data;
};

/** Bus EVENT_DEVICE. */
struct vmsg_event_device {
	uint16_t dev_num; /**< the device the event is about */
	uint16_t state;   /**< VMSG_EVDEV_STATE_* */
};

/** An implementation-defined message (msg_id bit 7): opaque payload. */
struct vmsg_opaque {
	const uint8_t *data; /**< view of the payload (may be NULL when len is 0) */
	uint16_t len;
};

/**
 * One message in host form. Fill type, msg_id, dev_num, token and the union
 * member that the (type, msg_id) pair selects; vmsg_proto_encode() computes
 * msg_size. vmsg_proto_decode() fills everything, msg_size included.
 *
 * Which member goes with which message:
 * | message                         | request      | response     |
 * |---------------------------------|--------------|--------------|
 * | GET_DEVICE_INFO                 | (none)       | device_info  |
 * | GET_DEVICE_FEATURES             | features (no blocks) | features |
 * | SET_DRIVER_FEATURES             | features     | (none)       |
 * | GET_CONFIG                      | config (offset, length) | config |
 * | SET_CONFIG                      | config       | config       |
 * | GET_DEVICE_STATUS               | (none)       | status       |
 * | SET_DEVICE_STATUS               | status       | status       |
 * | GET_VQUEUE                      | vqueue (index) | vqueue     |
 * | SET_VQUEUE                      | vqueue       | (none)       |
 * | RESET_VQUEUE                    | vqueue (index) | (none)     |
 * | GET_SHM                         | shm (shmid)  | shm          |
 * | EVENT_CONFIG / AVAIL / USED     | event_config / event_avail / event_used | |
 * | bus GET_DEVICES                 | get_devices (offset, count) | get_devices |
 * | bus PING                        | ping         | ping         |
 * | bus EVENT_DEVICE                | event_device |              |
 * | implementation-defined (bit 7)  | opaque       | opaque       |
 */
struct vmsg_msg {
	uint8_t type;      /**< VMSG_TYPE_RESPONSE | VMSG_TYPE_BUS */
	uint8_t msg_id;
	uint16_t dev_num;
	uint16_t token;
	uint16_t msg_size; /**< output of encode and decode */
	union {
		struct vmsg_device_info device_info;
		struct vmsg_features features;
		struct vmsg_config config;
		struct vmsg_status status;
		struct vmsg_vqueue vqueue;
		struct vmsg_shm shm;
		struct vmsg_event_config event_config;
		struct vmsg_event_avail event_avail;
		struct vmsg_event_used event_used;
		struct vmsg_get_devices get_devices;
		struct vmsg_ping ping;
		struct vmsg_event_device event_device;
		struct vmsg_opaque opaque;
	} u;
};

/**
 * @brief Initialise a codec context.
 * @param[out] c the context.
 * @param[in] profile VMSG_PROFILE_2026 or VMSG_PROFILE_2025.
 * @param[in] max_msg_size the bus maximum, 52..65535 (2025 profile: 48..65535).
 * @param[in] flags VMSG_CODEC_F_* bits.
 * @retval 0 success.
 * @retval VMSG_EINVAL NULL context, unknown profile or flag, or a maximum
 *         outside the range.
 * @retval VMSG_ENOTSUP the 2025 profile was compiled out.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_codec_init(struct vmsg_codec *c, enum vmsg_profile profile,
					     uint32_t max_msg_size, uint32_t flags);

/**
 * @brief Decode and validate one message.
 * @param[in] c codec context.
 * @param[in] buf the bytes, already copied out of shared memory.
 * @param[in] len bytes available at @p buf (may exceed msg_size).
 * @param[out] out the message; views point into @p buf. Untouched on error.
 * @retval 0 success.
 * @retval VMSG_EINVAL NULL argument.
 * @retval VMSG_ESHORT, VMSG_EBADMSG, VMSG_EMSGSIZE, VMSG_EBADTYPE,
 *         VMSG_EBADDEV, VMSG_ERESERVED, VMSG_ENOTSUP see the file comment.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_proto_decode(const struct vmsg_codec *c, const uint8_t *buf,
					       size_t len, struct vmsg_msg *out);

/**
 * @brief Encode one message.
 *
 * Refuses rather than truncates: nothing is written unless the whole message
 * is valid and fits. A view may point into @p buf (the data is moved).
 * @param[in] c codec context.
 * @param[in] m the message (msg_size is ignored and computed).
 * @param[out] buf output buffer.
 * @param[in] cap bytes available at @p buf.
 * @return the number of bytes written (= msg_size), or:
 * @retval VMSG_EINVAL NULL argument, or a view that is NULL but must carry data.
 * @retval VMSG_EMSGSIZE the message would exceed the codec's maximum.
 * @retval VMSG_ENOSPC it fits the maximum but not @p cap.
 * Encode refuses a field with the code decode would return for the bytes it
 * would produce, so both directions enforce one set of rules.
 * @retval VMSG_ERESERVED a reserved type bit, field, flag or value is set
 *         (including GET_DEVICES bitmap bits past count, BUS-51).
 * @retval VMSG_EBADTYPE response bit on an event.
 * @retval VMSG_EBADDEV non-zero dev_num on a bus message.
 * @retval VMSG_EBADMSG fields that contradict each other (for example
 *         EVENT_CONFIG data without a length, a GET_DEVICES next_offset not
 *         above offset, num_blocks 0).
 * @retval VMSG_ERANGE a value does not fit the wire field of this profile.
 * @retval VMSG_ENOTSUP unknown standard ID, or a value the 2025 profile
 *         cannot express.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_proto_encode(const struct vmsg_codec *c, const struct vmsg_msg *m,
					       uint8_t *buf, size_t cap);

/**
 * @brief Render a message as one readable line (no newline), for logs.
 *
 * Always NUL-terminates when @p cap > 0, truncating if needed. Needs no libc.
 * @return the length the full line has (like snprintf), or VMSG_EINVAL.
 */
VMSG_API int vmsg_proto_format(const struct vmsg_msg *m, char *buf, size_t cap);

/**
 * @brief Name of a message, such as "GET_CONFIG" or "PING" (the namespace is
 *        chosen by the VMSG_TYPE_BUS bit of @p type).
 * @return a static string; "impl-defined" for bit-7 IDs, "unknown" otherwise.
 */
VMSG_API const char *vmsg_proto_msg_name(uint8_t type, uint8_t msg_id);

/**
 * @brief Host-order value of feature block @p i of a features view.
 * @p i must be below num_blocks (caller's precondition).
 */
static inline uint32_t vmsg_features_block(const struct vmsg_features *f, uint32_t i)
{
	return vmsg_get_le32(f->blocks + 4u * i);
}

/** @brief Whether device @p n of a GET_DEVICES response window is present. */
static inline bool vmsg_get_devices_present(const struct vmsg_get_devices *g, uint32_t n)
{
	return n < g->count && ((g->bitmap[n / 8u] >> (n % 8u)) & 1u) != 0;
}

/* Capacity helpers for a maximum message size (0 below the useful minimum). */

/** Config bytes one GET_CONFIG or SET_CONFIG can carry. */
VMSG_API uint32_t vmsg_cap_config_bytes(uint32_t max_msg_size);
/** Config bytes one EVENT_CONFIG can carry. */
VMSG_API uint32_t vmsg_cap_event_config_bytes(uint32_t max_msg_size);
/** Feature blocks one GET_DEVICE_FEATURES/SET_DRIVER_FEATURES can carry. */
VMSG_API uint32_t vmsg_cap_feature_blocks(uint32_t max_msg_size);
/** Device slots one GET_DEVICES response can describe. */
VMSG_API uint32_t vmsg_cap_get_devices_slots(uint32_t max_msg_size);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PROTO_H */
