/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to src/proto: the message tables that drive the codec and the
 * formatter. One row per message and direction lists the fixed fields
 * (wire offset and width, host member offset and width), so every field is
 * converted by construction; a "kind" names the few checks and
 * variable-length parts that a table cannot express.
 */
#ifndef VMSG_PROTO_INTERNAL_H
#define VMSG_PROTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/config.h"
#include "virtio_msg/proto.h"
#include "virtio_msg/wire.h"

/*
 * Names exist only for the formatter: without it the tables carry no name
 * pointers at all (VMSG_NAME_INIT(s) expands to nothing), which halves them.
 */
#if VMSG_CONFIG_NO_FORMAT
#define VMSG_NAME_INIT(s)
#else
#define VMSG_NAME_INIT(s) .name = (s),
#endif

/* What a layout needs beyond its fixed fields. */
enum vmsg_var_kind {
	VMSG_VAR_NONE,
	VMSG_VAR_FEAT_GET_REQ,    /* num_blocks >= 1; its response must fit */
	VMSG_VAR_FEAT_BLOCKS,     /* + 4 * num_blocks feature words */
	VMSG_VAR_CFG_GET_REQ,     /* its response must fit */
	VMSG_VAR_CFG_DATA,        /* + length config bytes */
	VMSG_VAR_CFG_SET_RESP,    /* + length bytes or nothing (echo optional) */
	VMSG_VAR_DEVINFO,         /* virtqueue/admin range rules */
	VMSG_VAR_DEVINFO_2025,    /* + feature bits <-> blocks, no UUID */
	VMSG_VAR_VQ_GET_RESP,     /* flag bits, the Linux PoC v2 consistency rules */
	VMSG_VAR_VQ_GET_RESP_2025,/* + reserved word, enabled derived from size */
	VMSG_VAR_VQ_SET_REQ,      /* raw on decode (DEV-58), strict on encode */
	VMSG_VAR_VQ_SET_REQ_2025, /* + reserved word, always enables */
	VMSG_VAR_SHM_RESP,        /* reserved word */
	VMSG_VAR_EVCFG,           /* + 0 or length data bytes */
	VMSG_VAR_EVDEV,           /* state values */
	VMSG_VAR_GETDEV_RESP,     /* + ceil(count / 8) bitmap bytes */
};

/*
 * One fixed field. Wire fields are little-endian integers of 2, 4 or 8
 * bytes, or a 16-byte array (the UUID, no byte order). Every 2026 field is
 * exactly as wide as its host member (layouts.c checks it at compile time),
 * so a 2026-only build stores no host width: 3 bytes per field.
 */
struct vmsg_field {
	uint8_t wire_off;  /* absolute offset in the message */
	uint8_t host_off;  /* offset of the member in struct vmsg_msg */
	/* The two widths are adjacent: the codec reads them as one number. */
	uint8_t wire_size; /* 2, 4, 8 or 16 */
#if !VMSG_CONFIG_NO_PROFILE_2025
	uint8_t host_size; /* 2, 4, 8 or 16; > wire_size in some 2025 layouts */
#endif
#if !VMSG_CONFIG_NO_FORMAT
	const char *name;
#endif
};

#if VMSG_CONFIG_NO_PROFILE_2025
#define VMSG_FIELD_HOST_SIZE(f) ((f)->wire_size)
#else
#define VMSG_FIELD_HOST_SIZE(f) ((f)->host_size)
#endif

struct vmsg_layout {
	uint8_t size;    /* fixed msg_size, header included */
	uint8_t kind;    /* enum vmsg_var_kind */
	uint8_t nfields;
	uint8_t first;   /* index of the first field in vmsg_field_table */
};

/* Every field of every layout (layouts.c), in runs; its type is layouts.c's. */
struct vmsg_field_table;
extern const struct vmsg_field_table vmsg_field_table;

/* The fields of @l (nfields of them). */
static inline const struct vmsg_field *vmsg_layout_fields(const struct vmsg_layout *l)
{
	return (const struct vmsg_field *)(const void *)((const uint8_t *)&vmsg_field_table +
							  l->first * sizeof(struct vmsg_field));
}

/* Who sends a message's request (or the event): VMSG_FROM_* bits. */
#define VMSG_FROM_DRIVER 1u
#define VMSG_FROM_DEVICE 2u

struct vmsg_msg_desc {
	uint8_t bus;    /* 1 = bus namespace */
	uint8_t msg_id;
	uint8_t from;   /* VMSG_FROM_*: sender of the request or event */
#if !VMSG_CONFIG_NO_FORMAT
	const char *name;
#endif
	/* Indices in vmsg_layouts[]: a byte each, where a pointer takes four.
	 * [0] the request or the event, [1] the response (VMSG_LAYOUT_NONE for
	 * events): the response bit of the type picks one with no branch. */
	uint8_t layout[2];
};

/* Every layout (layouts.c); a message row names its two by index. */
extern const struct vmsg_layout vmsg_layouts[];
#define VMSG_LAYOUT_NONE 0xFFu

/* The layout of the request or event (@resp false) or of the response of a
 * message, or NULL (an event has no response). */
static inline const struct vmsg_layout *vmsg_desc_layout(const struct vmsg_msg_desc *d, int resp)
{
	unsigned i = d->layout[resp != 0];

	return i == VMSG_LAYOUT_NONE ? 0 : &vmsg_layouts[i];
}

/* The description of a standard message, or NULL if the ID is unknown. */
const struct vmsg_msg_desc *vmsg_proto_lookup(unsigned profile, int bus, uint8_t msg_id);

/*
 * Shortcuts that buy instructions with bytes are for builds not optimised
 * for size (the firmware images are). codec.c and layouts.c must agree.
 */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define VMSG_PROTO_FOR_SPEED 1
#else
#define VMSG_PROTO_FOR_SPEED 0
#endif

/*
 * In a build for speed with both roles, the codec finds a 2026 layout with
 * one load from a direct table (layouts.c), where the lookup below costs
 * some twenty instructions. Its key is the ID with the type's bus and
 * response bits in ID bits 4 and 5: every 2026 message number is below 16
 * (checked at compile time), so an ID with bit 4, 5 or 7 set is not in it.
 * An entry is a layout index plus one, 0 for none. A one-role build also
 * needs the sender of the message (vmsg_msg_desc.from), so it looks up the
 * row.
 */
#define VMSG_PROTO_DIRECT \
	(VMSG_PROTO_FOR_SPEED && !VMSG_CONFIG_ROLE_DEVICE_ONLY && !VMSG_CONFIG_ROLE_DRIVER_ONLY)
#define VMSG_DIRECT_KEY(type, msg_id) (((msg_id) & 0x4Fu) | ((type) & 3u) << 4)
#define VMSG_DIRECT_OUT 0xB0u /* ID bits outside the key: never in the table */
#if VMSG_PROTO_DIRECT
extern const uint8_t vmsg_layout_direct[128];
#endif

/*
 * Roles as VMSG_FROM_* bits: the ones compiled in (we send as them) and the
 * ones our peer can have (it sends as them). Both are 3 unless config.h
 * asks for one role.
 */
#define VMSG_LOCAL_ROLES ((VMSG_CONFIG_HAS_DRIVER ? VMSG_FROM_DRIVER : 0u) | \
			  (VMSG_CONFIG_HAS_DEVICE ? VMSG_FROM_DEVICE : 0u))
#define VMSG_PEER_ROLES ((VMSG_CONFIG_HAS_DEVICE ? VMSG_FROM_DRIVER : 0u) | \
			 (VMSG_CONFIG_HAS_DRIVER ? VMSG_FROM_DEVICE : 0u))
#define VMSG_ONE_ROLE (VMSG_CONFIG_ROLE_DEVICE_ONLY || VMSG_CONFIG_ROLE_DRIVER_ONLY)

/*
 * Built for speed, a message whose layout is an *image* is encoded and
 * decoded with two 8-byte copies and no field loop (codec.c): a layout with
 * no kind (no variable part, no check past the header's), at most
 * VMSG_IMAGE_MAX bytes, whose fields cover every byte past the header each
 * at the same offset in struct vmsg_msg as in the message (on a
 * little-endian host the struct then holds the message's own bytes: the
 * header too, see codec.c). Every 2026 layout without a kind is one.
 * Indexed by VMSG_DIRECT_KEY(): the fixed size of the message's layout if
 * it is an image and this build receives (recv) or sends (send) it, else 0.
 * layouts.c derives them at compile time from the field lists.
 */
#define VMSG_IMAGE_MAX 16u
#if VMSG_PROTO_FOR_SPEED
extern const uint8_t vmsg_image_recv[128];
#if VMSG_ONE_ROLE
extern const uint8_t vmsg_image_send[128];
#else
#define vmsg_image_send vmsg_image_recv /* both roles: the same messages */
#endif

/*
 * The general path of the codec, which decides everything (and gives every
 * error); vmsg_proto_encode() and vmsg_proto_decode() take the image path
 * first and fall back to it. Built for size there is only the general path:
 * the names are the public functions. For tests that compare the two.
 */
int vmsg_proto_decode_general(const struct vmsg_codec *c, const uint8_t *buf, size_t len,
			      struct vmsg_msg *out);
int vmsg_proto_encode_general(const struct vmsg_codec *c, const struct vmsg_msg *m, uint8_t *buf,
			      size_t cap);
#else
#define vmsg_proto_decode_general vmsg_proto_decode
#define vmsg_proto_encode_general vmsg_proto_encode
#endif

/*
 * The 2026 message table is indexed, not searched (layouts.c): its rows come
 * in four groups, each a run of consecutive message numbers. Per group
 * (index: 2 * bus bit + event bit) the first number of its run, its number of
 * rows and its first row in vmsg_messages[].
 */
struct vmsg_msg_group {
	uint8_t num;
	uint8_t n;
	uint8_t row;
};
extern const struct vmsg_msg_group vmsg_msg_groups[4];
extern const struct vmsg_msg_desc vmsg_messages[];

/*
 * vmsg_proto_lookup() for the 2026 table, inline: the codec looks up every
 * message it encodes or decodes. The group index comes straight from the
 * type's bus bit (bit 1) and the ID's event bit (bit 6), with no branch.
 */
static inline const struct vmsg_msg_desc *vmsg_lookup_2026(uint8_t type, uint8_t msg_id)
{
	const struct vmsg_msg_group *g =
		&vmsg_msg_groups[(type & VMSG_TYPE_BUS) | ((msg_id & VMSG_ID_EVENT) >> 6)];
	unsigned k = (unsigned)(msg_id & VMSG_ID_NUMBER_MASK) - g->num; /* wraps if below */
	const struct vmsg_msg_desc *d;

	if (k >= g->n)
		return 0;
	d = &vmsg_messages[g->row + k];
	/* An implementation-defined ID (bit 7) or a hole in the table. */
	return d->msg_id == msg_id ? d : 0;
}

/* Byte copy that tolerates overlap; the core uses no libc. */
void vmsg_move_bytes(uint8_t *dst, const uint8_t *src, size_t n);

#endif /* VMSG_PROTO_INTERNAL_H */
