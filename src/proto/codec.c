/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encode and decode of every virtio-msg message. The fixed fields of each
 * message come from the tables in layouts.c; this file applies the header
 * rules, converts the fields, and runs the per-kind checks for what a table
 * cannot express (variable parts, reserved words, cross-field rules).
 *
 * The rules and decisions are listed in include/virtio_msg/proto.h and
 * docs/wire-decisions.md. Everything here treats the input as hostile: every
 * length is checked before the bytes it covers are read, each length is
 * compared with the room left before it is added (so no sum can wrap, with
 * no 64-bit arithmetic on 32-bit MCUs), and nothing is written to the
 * caller's output until the whole message has been validated.
 */
#include "proto/proto_internal.h"

#include "virtio_msg/wire.h"

void vmsg_move_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (dst == src || n == 0)
		return;
	if (dst < src) {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	} else {
		for (size_t i = n; i-- > 0;)
			dst[i] = src[i];
	}
}

int vmsg_codec_init(struct vmsg_codec *c, enum vmsg_profile profile, uint32_t max_msg_size,
		    uint32_t flags)
{
	uint32_t min = VMSG_MAX_MSG_SIZE_MIN;

	if (!c || (flags & ~VMSG_CODEC_F_EXACT_SIZE) != 0)
		return VMSG_EINVAL;
	if (profile == VMSG_PROFILE_2025) {
#if VMSG_CONFIG_NO_PROFILE_2025
		return VMSG_ENOTSUP;
#else
		min = VMSG_MAX_MSG_SIZE_MIN_2025;
#endif
	} else if (profile != VMSG_PROFILE_2026) {
		return VMSG_EINVAL;
	}
	if (max_msg_size < min || max_msg_size > VMSG_MAX_MSG_SIZE_MAX)
		return VMSG_EINVAL;
	c->max_msg_size = (uint16_t)max_msg_size;
	c->profile = (uint8_t)profile;
	c->flags = (uint8_t)flags;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Fixed fields                                                           */
/* ---------------------------------------------------------------------- */

/*
 * A wire field is a little-endian integer; its host member holds the same
 * integer in host byte order, so converting one is a byte copy in one order
 * or the other, with no arithmetic: no 64-bit shifts, which cost a lot of
 * code on 32-bit MCUs. Members are reached through their object
 * representation, which is valid C for any member type and alignment.
 */

/* Whether integers are stored least significant byte first. C11 has no
 * macro for it; the compiler folds this to a constant. */
static inline bool host_is_le(void)
{
	const union {
		uint16_t v;
		uint8_t b[2];
	} probe = { 1 };

	return probe.b[0] == 1;
}

/* Index in a host member of @hn bytes of its byte of significance @i. The
 * UUID (16 bytes) is a byte array: no byte order. */
static inline unsigned host_byte(unsigned i, unsigned hn)
{
	return host_is_le() || hn == 16 ? i : hn - 1u - i;
}

/*
 * Shortcuts that buy instructions with code bytes are for builds that are
 * not optimised for size (the firmware images are).
 */
#if VMSG_PROTO_FOR_SPEED
#define CODEC_FOR_SPEED 1
/* For a helper that both encode and decode call, which the compiler would
 * keep out of line (a call, a return and the registers to move). */
#define CODEC_HOT static inline __attribute__((always_inline))
#else
#define CODEC_FOR_SPEED 0
#if defined(__GNUC__) || defined(__clang__)
/* One copy, called from both: the smaller image. */
#define CODEC_HOT static __attribute__((noinline))
#else
#define CODEC_HOT static
#endif
#endif

/* The general path, in a build for speed: out of line, so that the image
 * path in front of it saves no registers. */
#if CODEC_FOR_SPEED
#define CODEC_GENERAL __attribute__((noinline))
#else
#define CODEC_GENERAL
#endif

/*
 * A field's wire and host widths as one number, and that number for a field
 * as wide as its member: one compare tests both (in a 2026-only build the
 * widths are always equal and the number is the width).
 */
#if VMSG_CONFIG_NO_PROFILE_2025
#define FIELD_WIDTHS(f) ((unsigned)(f)->wire_size)
#define SAME_WIDTHS(n) (n)
#else
#define FIELD_WIDTHS(f) ((unsigned)(f)->wire_size | (unsigned)(f)->host_size << 8)
#define SAME_WIDTHS(n) ((n) | (n) << 8)
#endif

/*
 * A little-endian host with a field as wide as its member (every 2026
 * field) converts it with one fixed-size copy: a load and a store, where
 * the byte loop costs about 6 instructions a byte (bench/README.md, bus
 * sixth round). Builds optimised for size keep the loop alone.
 */
#if CODEC_FOR_SPEED
static inline bool field_copy(uint8_t *dst, const uint8_t *src, unsigned widths)
{
	if (!host_is_le())
		return false;
	/* Most fields are 32-bit, then 64-bit: test in that order (a switch
	 * compiles to a compare tree that puts 4 third). */
	if (widths == SAME_WIDTHS(4u))
		__builtin_memcpy(dst, src, 4);
	else if (widths == SAME_WIDTHS(8u))
		__builtin_memcpy(dst, src, 8);
	else if (widths == SAME_WIDTHS(2u))
		__builtin_memcpy(dst, src, 2);
	else if (widths == SAME_WIDTHS(16u))
		__builtin_memcpy(dst, src, 16);
	else
		return false; /* a 2025 field narrower than its member */
	return true;
}
#else
static inline bool field_copy(uint8_t *dst, const uint8_t *src, unsigned widths)
{
	(void)dst;
	(void)src;
	(void)widths;
	return false;
}
#endif

static void fields_decode(const struct vmsg_layout *l, const uint8_t *buf, struct vmsg_msg *m)
{
	const struct vmsg_field *f = vmsg_layout_fields(l), *end = f + l->nfields;

	for (; f != end; f++) {
		uint8_t *h = (uint8_t *)m + f->host_off;
		unsigned hn = VMSG_FIELD_HOST_SIZE(f);

		if (field_copy(h, buf + f->wire_off, FIELD_WIDTHS(f)))
			continue;
		/* Zero-extended: a 2025 wire field may be narrower. */
		for (unsigned i = 0; i < hn; i++)
			h[host_byte(i, hn)] = i < f->wire_size ? buf[f->wire_off + i] : 0;
	}
}

#if !VMSG_CONFIG_NO_PROFILE_2025
/* A host value wider than its wire field cannot be sent in this profile
 * (only 2025 layouts have such fields: layouts.c checks it at compile time). */
static int fields_check_range(const struct vmsg_layout *l, const struct vmsg_msg *m)
{
	const struct vmsg_field *fields = vmsg_layout_fields(l);

	for (unsigned k = 0; k < l->nfields; k++) {
		const struct vmsg_field *f = &fields[k];
		const uint8_t *h = (const uint8_t *)m + f->host_off;

		for (unsigned i = f->wire_size; i < f->host_size; i++)
			if (h[host_byte(i, f->host_size)] != 0)
				return VMSG_ERANGE;
	}
	return 0;
}
#endif

static void fields_encode(const struct vmsg_layout *l, const struct vmsg_msg *m, uint8_t *buf)
{
	const struct vmsg_field *fields = vmsg_layout_fields(l);

	for (unsigned k = 0; k < l->nfields; k++) {
		const struct vmsg_field *f = &fields[k];
		const uint8_t *h = (const uint8_t *)m + f->host_off;

		if (field_copy(buf + f->wire_off, h, FIELD_WIDTHS(f)))
			continue;
		for (unsigned i = 0; i < f->wire_size; i++)
			buf[f->wire_off + i] = h[host_byte(i, VMSG_FIELD_HOST_SIZE(f))];
	}
}

/* ---------------------------------------------------------------------- */
/* Rules shared by decode and encode                                      */
/* ---------------------------------------------------------------------- */

/* DEV-41, DEV-43, DEV-44; the Linux PoC v2 driver rejects the same. */
static int devinfo_check(const struct vmsg_device_info *d)
{
	if (d->max_virtqueues > VMSG_MAX_VIRTQUEUES_LIMIT)
		return VMSG_EBADMSG;
	if (d->admin_vq_count == 0 && d->admin_vq_start != 0)
		return VMSG_EBADMSG;
	/* start + count > max, without a 64-bit sum */
	if (d->admin_vq_count > d->max_virtqueues ||
	    d->admin_vq_start > d->max_virtqueues - d->admin_vq_count)
		return VMSG_EBADMSG;
	return 0;
}

/*
 * DEV-55/56 and the Linux PoC v2 driver's consistency rules for a GET_VQUEUE
 * response (wire note 4.24): an unavailable queue is all zero, a configured
 * one has every address, an unconfigured one is disabled with no address.
 */
static int vq_get_resp_check(const struct vmsg_vqueue *q)
{
	/* How many of the three addresses are set: any is > 0, all is 3. */
	unsigned n_addr = (q->desc_addr != 0) + (q->driver_addr != 0) + (q->device_addr != 0);
	int any_addr = n_addr != 0;
	int all_addr = n_addr == 3;

	if (q->flags & ~(uint32_t)VMSG_GETVQ_F_ENABLED)
		return VMSG_ERESERVED;
	if (q->max_size == 0 && (q->size || q->flags || any_addr))
		return VMSG_EBADMSG;
	if (q->size > q->max_size)
		return VMSG_EBADMSG;
	if (q->size == 0 && (q->flags || any_addr))
		return VMSG_EBADMSG;
	if (q->size != 0 && !all_addr)
		return VMSG_EBADMSG;
	return 0;
}

/* BUS-51, BUS-53, and a window may not run past device number 65535. */
static int getdev_resp_check(const struct vmsg_get_devices *g)
{
	unsigned tail = g->count % 8u;

	if ((uint32_t)g->offset + g->count > 0x10000u)
		return VMSG_EBADMSG;
	if (g->next_offset != 0 && g->next_offset <= g->offset)
		return VMSG_EBADMSG;
	if (tail && (g->bitmap[g->count / 8u] >> tail) != 0)
		return VMSG_ERESERVED;
	return 0;
}

/* 0x0003..0x7FFF are reserved; 0 is undefined in SPEC-2026 (decision). */
static int evdev_state_check(uint16_t state)
{
	if (state == VMSG_EVDEV_STATE_ADDED || state == VMSG_EVDEV_STATE_REMOVED ||
	    state >= VMSG_EVDEV_STATE_IMPL_MIN)
		return 0;
	return VMSG_ERESERVED;
}

/* A config range must not wrap the 32-bit offset space (offset + length
 * <= 0xFFFFFFFF, without a 64-bit sum). */
static int cfg_range_check(uint32_t offset, uint32_t length)
{
	return length > 0xFFFFFFFFu - offset ? VMSG_EBADMSG : 0;
}

#if !VMSG_CONFIG_NO_PROFILE_2025 && VMSG_CONFIG_HAS_DEVICE /* 2025 GET_DEVICE_INFO encode */
static int uuid_is_nil(const uint8_t *u)
{
	uint8_t acc = 0;

	for (unsigned i = 0; i < 16; i++)
		acc |= u[i];
	return acc == 0;
}
#endif

/* ---------------------------------------------------------------------- */
/* Decode                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Checks and variable part of one message after its fixed fields were read.
 * Returns the size the message defines (fixed part plus variable part), or
 * a negative error. The caller guarantees size >= l->size, so @room (the
 * bytes past the fixed part) does not wrap, and a variable part is checked
 * against it before it is added: no sum can wrap in 32 bits.
 *
 * The kinds are grouped by who sends them, so a one-role build (config.h)
 * keeps only the kinds its peer sends: layout_of() never hands it others.
 */
static int decode_kind(const struct vmsg_codec *c, const struct vmsg_layout *l,
		       const uint8_t *buf, uint32_t size, struct vmsg_msg *m)
{
	uint32_t need = l->size, room = size - l->size;

	/* The commonest kind (no kind) without the jump table's indirect
	 * branch, in builds not optimised for size. */
	if (CODEC_FOR_SPEED && l->kind == VMSG_VAR_NONE)
		return (int)need;
	switch (l->kind) {
	/* Sent by both sides (GET_DEVICE_FEATURES response and
	 * SET_DRIVER_FEATURES; the GET_CONFIG response and SET_CONFIG). */
	case VMSG_VAR_FEAT_BLOCKS:
		if (m->u.features.num_blocks == 0)
			return VMSG_EBADMSG;
		if (m->u.features.num_blocks > room / 4u)
			return VMSG_EBADMSG;
		need += 4u * m->u.features.num_blocks;
		m->u.features.blocks = buf + VMSG_OFF_FEAT_BLOCKS;
		break;
	case VMSG_VAR_CFG_DATA:
		if (cfg_range_check(m->u.config.offset, m->u.config.length))
			return VMSG_EBADMSG;
		if (m->u.config.length > room)
			return VMSG_EBADMSG;
		need += m->u.config.length;
		m->u.config.data = m->u.config.length ? buf + VMSG_OFF_CFG_DATA : 0;
		break;
#if VMSG_CONFIG_HAS_DEVICE
	/* Sent by a driver only: received by the device side. */
	case VMSG_VAR_FEAT_GET_REQ:
		if (m->u.features.num_blocks == 0)
			return VMSG_EBADMSG;
		if (m->u.features.num_blocks > vmsg_cap_feature_blocks(c->max_msg_size))
			return VMSG_EMSGSIZE; /* no response could carry them */
		break;
	case VMSG_VAR_CFG_GET_REQ:
		if (cfg_range_check(m->u.config.offset, m->u.config.length))
			return VMSG_EBADMSG;
		if (m->u.config.length > vmsg_cap_config_bytes(c->max_msg_size))
			return VMSG_EMSGSIZE; /* no response could carry them */
		break;
#if !VMSG_CONFIG_NO_PROFILE_2025
	case VMSG_VAR_VQ_SET_REQ_2025:
		if (vmsg_get_le32(buf + VMSG_OFF_SETVQ_FLAGS) != 0)
			return VMSG_ERESERVED;
		m->u.vqueue.flags = VMSG_SETVQ_OP_ENABLE; /* a 2025 device always enables */
		break;
#endif
#endif /* VMSG_CONFIG_HAS_DEVICE */
#if VMSG_CONFIG_HAS_DRIVER
	/* Sent by a device only: received by the driver side. */
	case VMSG_VAR_CFG_SET_RESP:
		/* The echo is optional (wire note 4.4): 20 or 20 + length. */
		if (cfg_range_check(m->u.config.offset, m->u.config.length))
			return VMSG_EBADMSG;
		if (m->u.config.length > vmsg_cap_config_bytes(c->max_msg_size))
			return VMSG_EMSGSIZE; /* no request could have carried it */
		if (m->u.config.length != 0 && room != 0) {
			if (m->u.config.length > room)
				return VMSG_EBADMSG; /* a partial echo */
			need += m->u.config.length;
			m->u.config.data = buf + VMSG_OFF_CFG_DATA;
		}
		break;
#if !VMSG_CONFIG_NO_PROFILE_2025
	case VMSG_VAR_DEVINFO_2025:
		m->u.device_info.num_feature_blocks =
			(uint32_t)(((uint64_t)m->u.device_info.num_feature_bits + 31u) / 32u);
		return devinfo_check(&m->u.device_info) ? VMSG_EBADMSG : (int)need;
	case VMSG_VAR_VQ_GET_RESP_2025: {
		int err;

		if (vmsg_get_le32(buf + VMSG_OFF_GETVQ_FLAGS) != 0)
			return VMSG_ERESERVED;
		m->u.vqueue.flags = m->u.vqueue.size ? VMSG_GETVQ_F_ENABLED : 0;
		err = vq_get_resp_check(&m->u.vqueue);
		return err ? err : (int)need;
	}
#endif
	case VMSG_VAR_DEVINFO:
		return devinfo_check(&m->u.device_info) ? VMSG_EBADMSG : (int)need;
	case VMSG_VAR_VQ_GET_RESP: {
		int err = vq_get_resp_check(&m->u.vqueue);

		return err ? err : (int)need;
	}
	case VMSG_VAR_SHM_RESP:
		if (vmsg_get_le32(buf + VMSG_OFF_SHM_RESERVED) != 0)
			return VMSG_ERESERVED;
		break;
	case VMSG_VAR_EVCFG: {
		/* Decision (wire note 4.3): data is absent or covers the range. */
		uint32_t d = room;

		if (cfg_range_check(m->u.event_config.offset, m->u.event_config.length))
			return VMSG_EBADMSG;
		if (d != 0 && d != m->u.event_config.length)
			return VMSG_EBADMSG;
		m->u.event_config.data = d ? buf + VMSG_OFF_EVCFG_DATA : 0;
		need = size;
		break;
	}
	case VMSG_VAR_EVDEV:
		if (evdev_state_check(m->u.event_device.state))
			return VMSG_ERESERVED;
		break;
	case VMSG_VAR_GETDEV_RESP: {
		int err;

		if ((m->u.get_devices.count + 7u) / 8u > room)
			return VMSG_EBADMSG;
		need += (m->u.get_devices.count + 7u) / 8u;
		m->u.get_devices.bitmap = m->u.get_devices.count ? buf + VMSG_OFF_GETDEV_BITMAP : 0;
		err = getdev_resp_check(&m->u.get_devices);
		if (err)
			return err;
		break;
	}
#endif /* VMSG_CONFIG_HAS_DRIVER */
	default: /* VMSG_VAR_NONE, VMSG_VAR_VQ_SET_REQ: raw values (DEV-58) */
		VMSG_ASSERT(l->kind == VMSG_VAR_NONE || l->kind == VMSG_VAR_VQ_SET_REQ);
		break;
	}
	(void)c;
	return (int)need;
}

/*
 * On a little-endian host the first members of struct vmsg_msg (type,
 * msg_id, dev_num, token, msg_size) have the header's own layout, so a
 * build for speed copies the header whole instead of field by field.
 */
VMSG_STATIC_ASSERT(offsetof(struct vmsg_msg, type) == VMSG_OFF_TYPE &&
			   offsetof(struct vmsg_msg, msg_id) == VMSG_OFF_MSG_ID &&
			   offsetof(struct vmsg_msg, dev_num) == VMSG_OFF_DEV_NUM &&
			   offsetof(struct vmsg_msg, token) == VMSG_OFF_TOKEN &&
			   offsetof(struct vmsg_msg, msg_size) == VMSG_OFF_MSG_SIZE,
		   "struct vmsg_msg starts with the header's layout");

static void decode_header(const uint8_t *buf, struct vmsg_msg *m)
{
	if (CODEC_FOR_SPEED && host_is_le()) {
		__builtin_memcpy(m, buf, VMSG_HDR_SIZE);
		m->type &= (uint8_t)~VMSG_TYPE_RESERVED_MASK; /* GEN-1, as below */
		return;
	}
	/* GEN-1: reserved type bits are ignored on receive. */
	m->type = (uint8_t)(buf[VMSG_OFF_TYPE] & ~VMSG_TYPE_RESERVED_MASK);
	m->msg_id = buf[VMSG_OFF_MSG_ID];
	m->dev_num = vmsg_get_le16(buf + VMSG_OFF_DEV_NUM);
	m->token = vmsg_get_le16(buf + VMSG_OFF_TOKEN);
	m->msg_size = vmsg_get_le16(buf + VMSG_OFF_MSG_SIZE);
}

/* GEN-2 and GEN-3, shared by decode and encode. */
static int header_check(uint8_t type, uint8_t msg_id, uint16_t dev_num)
{
	if ((msg_id & VMSG_ID_EVENT) && (type & VMSG_TYPE_RESPONSE))
		return VMSG_EBADTYPE;
	if ((type & VMSG_TYPE_BUS) && dev_num != 0)
		return VMSG_EBADDEV;
	return 0;
}

/*
 * The layout of a standard message, or NULL when it is unknown, or (in a
 * one-role build) when none of @senders sends it: the request or event goes
 * from desc->from, its response the other way.
 */
CODEC_HOT const struct vmsg_layout *layout_of(const struct vmsg_codec *c, uint8_t type,
					     uint8_t msg_id, unsigned senders)
{
	const struct vmsg_msg_desc *d;

#if VMSG_PROTO_DIRECT
	(void)senders; /* both roles: every message is sent and received */
	if (c->profile != VMSG_PROFILE_2025) {
		unsigned i = (msg_id & VMSG_DIRECT_OUT) ?
				     0u : vmsg_layout_direct[VMSG_DIRECT_KEY(type, msg_id)];

		return i ? &vmsg_layouts[i - 1u] : 0;
	}
#endif
	/*
	 * The 2026 table is looked up inline: every message encoded or decoded
	 * comes here. A build with the 2025 profile keeps vmsg_proto_lookup()
	 * for it anyway, so when optimised for size it calls that for both
	 * rather than hold a second copy of the lookup.
	 */
#if VMSG_CONFIG_NO_PROFILE_2025
	(void)c;
	d = vmsg_lookup_2026(type, msg_id);
#elif !CODEC_FOR_SPEED
	d = vmsg_proto_lookup(c->profile, (type & VMSG_TYPE_BUS) != 0, msg_id);
#else
	d = c->profile == VMSG_PROFILE_2025 ?
		    vmsg_proto_lookup(c->profile, (type & VMSG_TYPE_BUS) != 0, msg_id) :
		    vmsg_lookup_2026(type, msg_id);
#endif

	if (!d)
		return 0;
	if (VMSG_ONE_ROLE) {
		unsigned from = d->from;

		if (type & VMSG_TYPE_RESPONSE) /* swap the two bits */
			from = ((from & VMSG_FROM_DRIVER) ? VMSG_FROM_DEVICE : 0u) |
			       ((from & VMSG_FROM_DEVICE) ? VMSG_FROM_DRIVER : 0u);
		if (!(from & senders))
			return 0;
	}
	return vmsg_desc_layout(d, type & VMSG_TYPE_RESPONSE);
}

/*
 * Every message. Built for speed, the general path, after the image path
 * of vmsg_proto_decode() below; built for size, vmsg_proto_decode() itself
 * (proto_internal.h names it so).
 */
CODEC_GENERAL int vmsg_proto_decode_general(const struct vmsg_codec *c, const uint8_t *buf,
					    size_t len, struct vmsg_msg *out)
{
	struct vmsg_msg m = { 0 };
	const struct vmsg_layout *l;
	int defined, err;

	if (!c || !buf || !out)
		return VMSG_EINVAL;
	if (len < VMSG_HDR_SIZE)
		return VMSG_ESHORT;
	decode_header(buf, &m);
	if (m.msg_size < VMSG_HDR_SIZE)
		return VMSG_EBADMSG;
	if (m.msg_size > c->max_msg_size)
		return VMSG_EMSGSIZE;
	if (m.msg_size > len)
		return VMSG_ESHORT;
	err = header_check(m.type, m.msg_id, m.dev_num);
	if (err)
		return err;

	if (m.msg_id & VMSG_ID_IMPL) {
		/* Implementation-defined: an opaque payload for the bus or app. */
		m.u.opaque.len = (uint16_t)(m.msg_size - VMSG_HDR_SIZE);
		m.u.opaque.data = m.u.opaque.len ? buf + VMSG_HDR_SIZE : 0;
		*out = m;
		return 0;
	}

	l = layout_of(c, m.type, m.msg_id, VMSG_PEER_ROLES);
	if (!l)
		return VMSG_ENOTSUP; /* unknown, or never sent to this role */
	if (m.msg_size < l->size)
		return VMSG_EBADMSG;
	fields_decode(l, buf, &m);
	defined = decode_kind(c, l, buf, m.msg_size, &m);
	if (defined < 0)
		return defined;
	/* Events are exact (Linux PoC v2); requests and responses may carry
	 * trailing bytes unless the codec asks for exact sizes. */
	if (m.msg_size != (uint32_t)defined &&
	    ((m.msg_id & VMSG_ID_EVENT) || (c->flags & VMSG_CODEC_F_EXACT_SIZE)))
		return VMSG_EBADMSG;
	*out = m;
	return 0;
}

#if CODEC_FOR_SPEED
/*
 * A message of an image layout (proto_internal.h), valid, decoded with two
 * 8-byte copies into @out on a little-endian host: the general path's
 * checks, in any order, since any that fails returns false with @out
 * untouched and the general path decides (and gives its error). Sizes 8 to
 * 16: the copies of the first and the last 8 bytes overlap or coincide.
 */
static inline __attribute__((always_inline)) bool
decode_image(const struct vmsg_codec *c, const uint8_t *buf, size_t len, struct vmsg_msg *out)
{
	uint64_t head, tail;
	unsigned size;

	if (!host_is_le() || !c || !buf || !out || len < VMSG_HDR_SIZE)
		return false;
#if !VMSG_CONFIG_NO_PROFILE_2025
	if (c->profile == VMSG_PROFILE_2025)
		return false;
#endif
	/* An ID outside the key (implementation-defined or not 2026) has no
	 * image; the table has none for an event's response (GEN-2). */
	if (buf[VMSG_OFF_MSG_ID] & VMSG_DIRECT_OUT)
		return false;
	size = vmsg_image_recv[VMSG_DIRECT_KEY(buf[VMSG_OFF_TYPE], buf[VMSG_OFF_MSG_ID])];
	/* Exactly the fixed size: trailing bytes (and EXACT_SIZE) take the
	 * general path. */
	if (size == 0 || vmsg_get_le16(buf + VMSG_OFF_MSG_SIZE) != size || size > len ||
	    size > c->max_msg_size)
		return false;
	if ((buf[VMSG_OFF_TYPE] & VMSG_TYPE_BUS) && vmsg_get_le16(buf + VMSG_OFF_DEV_NUM) != 0)
		return false; /* GEN-3 */
	__builtin_memcpy(&head, buf, 8);
	__builtin_memcpy(&tail, buf + size - 8u, 8);
	*out = (struct vmsg_msg){ 0 };
	__builtin_memcpy((uint8_t *)out + size - 8u, &tail, 8);
	/* After the tail (the same 8 bytes at size 8): GEN-1, reserved type
	 * bits are ignored on receive (byte 0 is the low byte). */
	head &= ~(uint64_t)VMSG_TYPE_RESERVED_MASK;
	__builtin_memcpy(out, &head, 8);
	return true;
}

int vmsg_proto_decode(const struct vmsg_codec *c, const uint8_t *buf, size_t len,
		      struct vmsg_msg *out)
{
	if (decode_image(c, buf, len, out))
		return 0;
	return vmsg_proto_decode_general(c, buf, len, out);
}
#endif

/* ---------------------------------------------------------------------- */
/* Encode                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * The variable part of a message being encoded: where its bytes come from.
 * Encode refuses with the code decode would give for the bytes it would
 * produce, so both directions enforce one set of rules.
 */
struct var_part {
	const uint8_t *src;
	uint32_t len;
	uint16_t off;
};

static int encode_kind(const struct vmsg_codec *c, const struct vmsg_layout *l,
		       const struct vmsg_msg *m, struct var_part *v)
{
	const struct vmsg_config *cfg = &m->u.config;

	/* As in decode_kind(). */
	if (CODEC_FOR_SPEED && l->kind == VMSG_VAR_NONE)
		return 0;
	/* Grouped by sender, as in decode_kind(): a one-role build keeps only
	 * the kinds it sends. */
	switch (l->kind) {
	/* Sent by both sides. */
	case VMSG_VAR_FEAT_BLOCKS:
		if (m->u.features.num_blocks == 0)
			return VMSG_EBADMSG;
		if (m->u.features.num_blocks > vmsg_cap_feature_blocks(c->max_msg_size))
			return VMSG_EMSGSIZE;
		if (!m->u.features.blocks)
			return VMSG_EINVAL;
		v->src = m->u.features.blocks;
		v->len = 4u * m->u.features.num_blocks;
		v->off = VMSG_OFF_FEAT_BLOCKS;
		return 0;
	case VMSG_VAR_CFG_SET_RESP: /* device only, but it shares the code */
	case VMSG_VAR_CFG_DATA:
		if (cfg_range_check(cfg->offset, cfg->length))
			return VMSG_EBADMSG;
		if (cfg->length > vmsg_cap_config_bytes(c->max_msg_size))
			return VMSG_EMSGSIZE;
		if (l->kind == VMSG_VAR_CFG_SET_RESP && !cfg->data)
			return 0; /* a response that does not echo */
		if (cfg->length && !cfg->data)
			return VMSG_EINVAL;
		v->src = cfg->data;
		v->len = cfg->length;
		v->off = VMSG_OFF_CFG_DATA;
		return 0;
#if VMSG_CONFIG_HAS_DRIVER
	/* Sent by a driver only. */
	case VMSG_VAR_FEAT_GET_REQ:
		if (m->u.features.num_blocks == 0)
			return VMSG_EBADMSG;
		if (m->u.features.num_blocks > vmsg_cap_feature_blocks(c->max_msg_size))
			return VMSG_EMSGSIZE;
		return 0;
	case VMSG_VAR_CFG_GET_REQ:
		if (cfg_range_check(cfg->offset, cfg->length))
			return VMSG_EBADMSG;
		return cfg->length > vmsg_cap_config_bytes(c->max_msg_size) ? VMSG_EMSGSIZE : 0;
#if !VMSG_CONFIG_NO_PROFILE_2025
	case VMSG_VAR_VQ_SET_REQ_2025:
		if (m->u.vqueue.reserved)
			return VMSG_ERESERVED;
		return m->u.vqueue.flags == VMSG_SETVQ_OP_ENABLE ? 0 : VMSG_ENOTSUP;
#endif
	case VMSG_VAR_VQ_SET_REQ:
		/* DRV-54, DRV-55: never send reserved bits or state op 3. */
		if (m->u.vqueue.reserved || (m->u.vqueue.flags & VMSG_SETVQ_F_RESERVED_MASK) ||
		    (m->u.vqueue.flags & VMSG_SETVQ_OP_MASK) == VMSG_SETVQ_OP_RESERVED)
			return VMSG_ERESERVED;
		return 0;
#endif /* VMSG_CONFIG_HAS_DRIVER */
#if VMSG_CONFIG_HAS_DEVICE
	/* Sent by a device only. */
#if !VMSG_CONFIG_NO_PROFILE_2025
	case VMSG_VAR_DEVINFO_2025: {
		const struct vmsg_device_info *d = &m->u.device_info;

		if (!uuid_is_nil(d->uuid))
			return VMSG_ENOTSUP; /* the 2025 layout has no UUID */
		if (((uint64_t)d->num_feature_bits + 31u) / 32u != d->num_feature_blocks)
			return VMSG_EBADMSG;
		return devinfo_check(d);
	}
	case VMSG_VAR_VQ_GET_RESP_2025:
		if (m->u.vqueue.flags & ~(uint32_t)VMSG_GETVQ_F_ENABLED)
			return VMSG_ERESERVED;
		if ((m->u.vqueue.flags != 0) != (m->u.vqueue.size != 0))
			return VMSG_ENOTSUP; /* 2025 queues are enabled iff configured */
		return vq_get_resp_check(&m->u.vqueue);
#endif
	case VMSG_VAR_DEVINFO:
		return devinfo_check(&m->u.device_info);
	case VMSG_VAR_VQ_GET_RESP:
		return vq_get_resp_check(&m->u.vqueue);
	case VMSG_VAR_EVCFG: {
		const struct vmsg_event_config *e = &m->u.event_config;

		if (cfg_range_check(e->offset, e->length))
			return VMSG_EBADMSG;
		if (!e->data)
			return 0;
		if (e->length == 0)
			return VMSG_EBADMSG; /* data needs a range */
		if (e->length > vmsg_cap_event_config_bytes(c->max_msg_size))
			return VMSG_EMSGSIZE;
		v->src = e->data;
		v->len = e->length;
		v->off = VMSG_OFF_EVCFG_DATA;
		return 0;
	}
	case VMSG_VAR_EVDEV:
		return evdev_state_check(m->u.event_device.state);
	case VMSG_VAR_GETDEV_RESP:
		if (m->u.get_devices.count && !m->u.get_devices.bitmap)
			return VMSG_EINVAL;
		v->src = m->u.get_devices.bitmap;
		v->len = (m->u.get_devices.count + 7u) / 8u;
		v->off = VMSG_OFF_GETDEV_BITMAP;
		return getdev_resp_check(&m->u.get_devices);
#endif /* VMSG_CONFIG_HAS_DEVICE */
	default: /* VMSG_VAR_NONE, VMSG_VAR_SHM_RESP (reserved word left 0) */
		VMSG_ASSERT(l->kind == VMSG_VAR_NONE || l->kind == VMSG_VAR_SHM_RESP);
		return 0;
	}
}

/*
 * Reserved words and padding of the fixed part are zero (DRV-4, DEV-4): zero
 * it past the header (which is written whole afterwards). Not past @fixed:
 * the variable part is already in place. Builds not optimised for size
 * store words, where the byte loop costs about 3 instructions a byte.
 */
static void zero_body(uint8_t *buf, uint32_t fixed)
{
	uint32_t i = VMSG_HDR_SIZE;

#if CODEC_FOR_SPEED
	const uint64_t zero = 0;

	for (; i + 8u <= fixed; i += 8u)
		__builtin_memcpy(buf + i, &zero, 8);
	/* No loop for the last 0..7 bytes: the compiler would make it a
	 * memset() call, and the core uses no libc. */
	if (i + 4u <= fixed) {
		__builtin_memcpy(buf + i, &zero, 4);
		i += 4u;
	}
	if (i + 2u <= fixed) {
		__builtin_memcpy(buf + i, &zero, 2);
		i += 2u;
	}
	if (i < fixed)
		buf[i] = 0;
#else
	for (; i < fixed; i++)
		buf[i] = 0;
#endif
}

/* Every message: see vmsg_proto_decode_general(). */
CODEC_GENERAL int vmsg_proto_encode_general(const struct vmsg_codec *c, const struct vmsg_msg *m,
					    uint8_t *buf, size_t cap)
{
	struct var_part v = { 0, 0, VMSG_HDR_SIZE };
	const struct vmsg_layout *l = 0;
	uint32_t fixed = VMSG_HDR_SIZE, total;
	int err;

	if (!c || !m || !buf)
		return VMSG_EINVAL;
	if (m->type & VMSG_TYPE_RESERVED_MASK)
		return VMSG_ERESERVED; /* GEN-1, DRV-1, DEV-1 */
	err = header_check(m->type, m->msg_id, m->dev_num);
	if (err)
		return err;

	if (m->msg_id & VMSG_ID_IMPL) {
		if (m->u.opaque.len && !m->u.opaque.data)
			return VMSG_EINVAL;
		v.src = m->u.opaque.data;
		v.len = m->u.opaque.len;
	} else {
		l = layout_of(c, m->type, m->msg_id, VMSG_LOCAL_ROLES);
		if (!l)
			return VMSG_ENOTSUP; /* unknown, or never sent by this role */
		err = encode_kind(c, l, m, &v);
#if !VMSG_CONFIG_NO_PROFILE_2025
		/* Every 2026 field is as wide as its member: only a 2025 codec
		 * can meet a value too wide for the wire. (A build optimised
		 * for size runs the loop anyway: the test costs more code.) */
		if (!err && (!CODEC_FOR_SPEED || c->profile == VMSG_PROFILE_2025))
			err = fields_check_range(l, m);
#endif
		if (err)
			return err;
		fixed = l->size;
	}

	/* encode_kind bounded v.len by the codec maximum, so this cannot wrap. */
	total = fixed + v.len;
	if (v.len > VMSG_MAX_MSG_SIZE_MAX || total > c->max_msg_size)
		return VMSG_EMSGSIZE;
	if (total > cap)
		return VMSG_ENOSPC;

	/* The variable part first: its view may point into buf. */
	if (v.len)
		vmsg_move_bytes(buf + v.off, v.src, v.len);
	zero_body(buf, fixed);
	if (CODEC_FOR_SPEED && host_is_le()) {
		/* type, msg_id, dev_num and token: see decode_header(). */
		__builtin_memcpy(buf, m, VMSG_OFF_MSG_SIZE);
	} else {
		buf[VMSG_OFF_TYPE] = m->type;
		buf[VMSG_OFF_MSG_ID] = m->msg_id;
		vmsg_put_le16(buf + VMSG_OFF_DEV_NUM, m->dev_num);
		vmsg_put_le16(buf + VMSG_OFF_TOKEN, m->token);
	}
	vmsg_put_le16(buf + VMSG_OFF_MSG_SIZE, (uint16_t)total);
	if (l)
		fields_encode(l, m, buf);
	return (int)total;
}

#if CODEC_FOR_SPEED
/*
 * A message of an image layout (proto_internal.h) encoded with two 8-byte
 * copies on a little-endian host, as decode_image(): the size it wrote, or
 * 0 with nothing written when the general path must decide. Every field is
 * as wide as its member in a 2026 codec: no range to check.
 */
static inline __attribute__((always_inline)) int
encode_image(const struct vmsg_codec *c, const struct vmsg_msg *m, uint8_t *buf, size_t cap)
{
	uint64_t head, tail;
	unsigned size;

	if (!host_is_le() || !c || !m || !buf)
		return 0;
#if !VMSG_CONFIG_NO_PROFILE_2025
	if (c->profile == VMSG_PROFILE_2025)
		return 0;
#endif
	if ((m->type & VMSG_TYPE_RESERVED_MASK) || (m->msg_id & VMSG_DIRECT_OUT))
		return 0;
	size = vmsg_image_send[VMSG_DIRECT_KEY(m->type, m->msg_id)];
	if (size == 0 || size > c->max_msg_size || size > cap)
		return 0;
	if ((m->type & VMSG_TYPE_BUS) && m->dev_num != 0)
		return 0; /* GEN-3 */
	/* Both read before either is written. The header's first 6 bytes are
	 * the struct's (decode_header()), msg_size is ours. */
	__builtin_memcpy(&head, m, 8);
	__builtin_memcpy(&tail, (const uint8_t *)m + size - 8u, 8);
	head &= ((uint64_t)1 << 8 * VMSG_OFF_MSG_SIZE) - 1u;
	head |= (uint64_t)size << 8 * VMSG_OFF_MSG_SIZE;
	__builtin_memcpy(buf + size - 8u, &tail, 8);
	__builtin_memcpy(buf, &head, 8);
	return (int)size;
}

int vmsg_proto_encode(const struct vmsg_codec *c, const struct vmsg_msg *m, uint8_t *buf,
		      size_t cap)
{
	int n = encode_image(c, m, buf, cap);

	return n ? n : vmsg_proto_encode_general(c, m, buf, cap);
}
#endif
