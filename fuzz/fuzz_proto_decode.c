/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: vmsg_proto_decode() on hostile bytes, and the round trip of
 * what it accepts.
 *
 * Input: byte 0 picks the bus maximum (index into a table, or a value from
 * bytes 1..2), byte 3 the formatter's buffer size; the rest is the message,
 * in a buffer of exactly its length. Each input is decoded with every codec
 * this build has: both profiles (2025 when compiled in) and both flag
 * settings. Decode and encode give the same answer, struct and bytes as the
 * codec's general path (a build for speed tries an image path first:
 * proto_internal.h). When decode succeeds:
 *  - every view lies inside [buf, buf + msg_size);
 *  - the message re-encodes (msg_size recomputed), its encoding decodes to
 *    the same message, and encoding that again gives the same bytes;
 *  - the re-encoded size is msg_size exactly for events and with
 *    VMSG_CODEC_F_EXACT_SIZE, at most msg_size otherwise (trailing bytes of
 *    requests and responses are ignored, so they are not re-sent);
 *  - an encode into a buffer one byte short refuses (VMSG_ENOSPC) and
 *    writes nothing;
 *  - vmsg_proto_format() terminates its line within any buffer size.
 *
 * What is intentionally not the identity (proto.h, wire-decisions.md):
 *  - type bits 2..7 are cleared on decode (GEN-1), so they are not re-sent;
 *  - trailing bytes and the contents of reserved words and padding that
 *    decode does not check are dropped: encode writes zeros there;
 *  - a SET_VQUEUE request is decoded raw (DEV-58: the device must answer
 *    it), so one with reserved bits set, state op 3 or a non-zero reserved
 *    word decodes but does not encode (VMSG_ERESERVED);
 *  - in a one-role build (config.h), a message this side only receives
 *    cannot be encoded (VMSG_ENOTSUP).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proto/proto_internal.h"
#include "virtio_msg/config.h"
#include "virtio_msg/proto.h"

#define ONE_ROLE (VMSG_CONFIG_ROLE_DEVICE_ONLY || VMSG_CONFIG_ROLE_DRIVER_ONLY)

/* The one view (variable part) a message carries, or none. */
static void msg_view(const struct vmsg_msg *m, const uint8_t **p, size_t *n)
{
	bool resp = (m->type & VMSG_TYPE_RESPONSE) != 0;

	*p = NULL;
	*n = 0;
	if (m->msg_id & VMSG_ID_IMPL) {
		*p = m->u.opaque.data;
		*n = m->u.opaque.len;
		return;
	}
	if (m->type & VMSG_TYPE_BUS) {
		if (m->msg_id == VMSG_BUS_ID_GET_DEVICES && resp) {
			*p = m->u.get_devices.bitmap;
			*n = (m->u.get_devices.count + 7u) / 8u;
		}
		return;
	}
	switch (m->msg_id) {
	case VMSG_ID_GET_DEVICE_FEATURES:
		if (!resp)
			return;
		/* fall through */
	case VMSG_ID_SET_DRIVER_FEATURES:
		if (m->msg_id == VMSG_ID_SET_DRIVER_FEATURES && resp)
			return;
		*p = m->u.features.blocks;
		*n = 4u * (size_t)m->u.features.num_blocks;
		return;
	case VMSG_ID_GET_CONFIG:
		if (!resp)
			return;
		/* fall through */
	case VMSG_ID_SET_CONFIG:
		*p = m->u.config.data;
		*n = m->u.config.data ? m->u.config.length : 0;
		return;
	case VMSG_ID_EVENT_CONFIG:
		*p = m->u.event_config.data;
		*n = m->u.event_config.data ? m->u.event_config.length : 0;
		return;
	default:
		return;
	}
}

/* Same message: header, the fixed fields its kind has, and the view's bytes. */
static bool msg_eq(const struct vmsg_msg *a, const struct vmsg_msg *b)
{
	bool resp = (a->type & VMSG_TYPE_RESPONSE) != 0;
	const uint8_t *pa, *pb;
	size_t na, nb;

	if (a->type != b->type || a->msg_id != b->msg_id || a->dev_num != b->dev_num ||
	    a->token != b->token)
		return false;
	msg_view(a, &pa, &na);
	msg_view(b, &pb, &nb);
	if (na != nb || (pa == NULL) != (pb == NULL) || (na && memcmp(pa, pb, na) != 0))
		return false;
	if (a->msg_id & VMSG_ID_IMPL)
		return a->u.opaque.len == b->u.opaque.len;
	if (a->type & VMSG_TYPE_BUS) {
		switch (a->msg_id) {
		case VMSG_BUS_ID_GET_DEVICES:
			return a->u.get_devices.offset == b->u.get_devices.offset &&
			       a->u.get_devices.count == b->u.get_devices.count &&
			       (!resp || a->u.get_devices.next_offset == b->u.get_devices.next_offset);
		case VMSG_BUS_ID_PING:
			return a->u.ping.data == b->u.ping.data;
		case VMSG_BUS_ID_EVENT_DEVICE:
			return a->u.event_device.dev_num == b->u.event_device.dev_num &&
			       a->u.event_device.state == b->u.event_device.state;
		default:
			return false; /* decode accepted an unknown bus message */
		}
	}
	switch (a->msg_id) {
	case VMSG_ID_GET_DEVICE_INFO:
		return !resp || memcmp(&a->u.device_info, &b->u.device_info,
				       sizeof(a->u.device_info)) == 0;
	case VMSG_ID_GET_DEVICE_FEATURES:
	case VMSG_ID_SET_DRIVER_FEATURES:
		if (a->msg_id == VMSG_ID_SET_DRIVER_FEATURES && resp)
			return true;
		return a->u.features.block_index == b->u.features.block_index &&
		       a->u.features.num_blocks == b->u.features.num_blocks;
	case VMSG_ID_GET_CONFIG:
	case VMSG_ID_SET_CONFIG:
		return a->u.config.generation == b->u.config.generation &&
		       a->u.config.offset == b->u.config.offset &&
		       a->u.config.length == b->u.config.length;
	case VMSG_ID_GET_DEVICE_STATUS:
	case VMSG_ID_SET_DEVICE_STATUS:
		return a->u.status.status == b->u.status.status;
	case VMSG_ID_GET_VQUEUE:
	case VMSG_ID_SET_VQUEUE:
	case VMSG_ID_RESET_VQUEUE:
		return a->u.vqueue.index == b->u.vqueue.index &&
		       a->u.vqueue.max_size == b->u.vqueue.max_size &&
		       a->u.vqueue.size == b->u.vqueue.size &&
		       a->u.vqueue.flags == b->u.vqueue.flags &&
		       a->u.vqueue.reserved == b->u.vqueue.reserved &&
		       a->u.vqueue.desc_addr == b->u.vqueue.desc_addr &&
		       a->u.vqueue.driver_addr == b->u.vqueue.driver_addr &&
		       a->u.vqueue.device_addr == b->u.vqueue.device_addr;
	case VMSG_ID_GET_SHM:
		return a->u.shm.shmid == b->u.shm.shmid && a->u.shm.length == b->u.shm.length &&
		       a->u.shm.address == b->u.shm.address;
	case VMSG_ID_EVENT_CONFIG:
		return a->u.event_config.device_status == b->u.event_config.device_status &&
		       a->u.event_config.generation == b->u.event_config.generation &&
		       a->u.event_config.offset == b->u.event_config.offset &&
		       a->u.event_config.length == b->u.event_config.length;
	case VMSG_ID_EVENT_AVAIL:
		return a->u.event_avail.vq_index == b->u.event_avail.vq_index &&
		       a->u.event_avail.next_offset == b->u.event_avail.next_offset;
	case VMSG_ID_EVENT_USED:
		return a->u.event_used.vq_index == b->u.event_used.vq_index;
	default:
		return false; /* decode accepted an unknown transport message */
	}
}

/* The decoder's allowed answers. */
static bool decode_code(int err)
{
	return err == 0 || err == VMSG_ESHORT || err == VMSG_EBADMSG || err == VMSG_EMSGSIZE ||
	       err == VMSG_EBADTYPE || err == VMSG_EBADDEV || err == VMSG_ERESERVED ||
	       err == VMSG_ENOTSUP;
}

/* A decoded message the encoder may refuse (see the file comment). */
static bool refusal_intended(const struct vmsg_msg *m, int err)
{
	bool setvq = !(m->type & (VMSG_TYPE_BUS | VMSG_TYPE_RESPONSE)) &&
		     m->msg_id == VMSG_ID_SET_VQUEUE;

	if (err == VMSG_ERESERVED && setvq)
		return true;
	return err == VMSG_ENOTSUP && ONE_ROLE;
}

static void one_codec(const struct vmsg_codec *c, const uint8_t *buf, size_t len, size_t fmt_cap)
{
	static uint8_t enc[VMSG_MAX_MSG_SIZE_MAX], enc2[VMSG_MAX_MSG_SIZE_MAX];
	static uint8_t probe[VMSG_MAX_MSG_SIZE_MAX], general[VMSG_MAX_MSG_SIZE_MAX];
	struct vmsg_msg m, m2, mg;
	char line[300];
	const uint8_t *v;
	size_t vn;
	int err, n, n2, r;

	memset(&m, 0x5A, sizeof(m));
	memset(&mg, 0x5A, sizeof(mg));
	err = vmsg_proto_decode(c, buf, len, &m);
	FUZZ_CHECK(decode_code(err));
	FUZZ_CHECK(vmsg_proto_decode_general(c, buf, len, &mg) == err);
	FUZZ_CHECK(memcmp(&m, &mg, sizeof(m)) == 0);
	if (err)
		return;
	FUZZ_CHECK(m.msg_size >= VMSG_HDR_SIZE && m.msg_size <= len &&
		   m.msg_size <= c->max_msg_size);
	FUZZ_CHECK((m.type & VMSG_TYPE_RESERVED_MASK) == 0);
	msg_view(&m, &v, &vn);
	if (vn) {
		FUZZ_CHECK(v >= buf + VMSG_HDR_SIZE && v <= buf + m.msg_size);
		FUZZ_CHECK(vn <= (size_t)(buf + m.msg_size - v));
	}

	/* The formatter: a bounded, terminated line whatever the fields say. */
	memset(line, 0x55, sizeof(line));
	r = vmsg_proto_format(&m, line, fmt_cap);
	FUZZ_CHECK(r >= 0);
	if (fmt_cap) {
		FUZZ_CHECK(memchr(line, '\0', fmt_cap) != NULL);
		FUZZ_CHECK(strlen(line) == ((size_t)r < fmt_cap ? (size_t)r : fmt_cap - 1));
	}
	for (size_t i = fmt_cap; i < sizeof(line); i++)
		FUZZ_CHECK((uint8_t)line[i] == 0x55);

	n = vmsg_proto_encode(c, &m, enc, sizeof(enc));
	FUZZ_CHECK(vmsg_proto_encode_general(c, &m, general, sizeof(general)) == n);
	FUZZ_CHECK(n < 0 || memcmp(enc, general, (size_t)n) == 0);
	if (n < 0) {
		if (!refusal_intended(&m, n))
			fprintf(stderr, "re-encode refused: %d (type %#x id %#x)\n", n, m.type,
				m.msg_id);
		FUZZ_CHECK(refusal_intended(&m, n));
		return;
	}
	FUZZ_CHECK(n >= (int)VMSG_HDR_SIZE && n <= m.msg_size);
	if ((m.msg_id & VMSG_ID_EVENT) || (c->flags & VMSG_CODEC_F_EXACT_SIZE))
		FUZZ_CHECK(n == m.msg_size);

	err = vmsg_proto_decode(c, enc, (size_t)n, &m2);
	if (err)
		fprintf(stderr, "re-decode failed: %d (type %#x id %#x)\n", err, m.type, m.msg_id);
	FUZZ_CHECK(err == 0);
	FUZZ_CHECK(m2.msg_size == n);
	FUZZ_CHECK(msg_eq(&m, &m2));

	n2 = vmsg_proto_encode(c, &m2, enc2, sizeof(enc2));
	FUZZ_CHECK(n2 == n);
	FUZZ_CHECK(memcmp(enc, enc2, (size_t)n) == 0);

	/* One byte short: refused, nothing written. */
	memset(probe, 0xA5, (size_t)n);
	r = vmsg_proto_encode(c, &m2, probe, (size_t)n - 1);
	FUZZ_CHECK(r == VMSG_ENOSPC);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(probe[i] == 0xA5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[] = { 0, 52, 64, 128, 264, 1024, 65535, 0 };
	struct fuzz_in in = { data, size };
	uint8_t sel = fuzz_u8(&in);
	uint16_t custom = fuzz_u16(&in);
	size_t fmt_cap = fuzz_u8(&in) % 300u;
	uint8_t *buf;

	/* The message in a buffer of exactly its size (at least 1 byte). */
	buf = malloc(in.n ? in.n : 1u);
	if (!buf)
		return 0;
	if (in.n)
		memcpy(buf, in.p, in.n);
	for (unsigned prof = 0; prof < 2; prof++) {
		for (unsigned flags = 0; flags < 2; flags++) {
			struct vmsg_codec c;
			uint32_t max = maxes[sel % 8u];
			uint32_t min = prof ? VMSG_MAX_MSG_SIZE_MIN_2025 : VMSG_MAX_MSG_SIZE_MIN;

			if (sel % 8u == 0)
				max = min; /* the smallest maximum of the profile */
			else if (sel % 8u == 7u)
				max = custom < min ? min : custom;
			if (vmsg_codec_init(&c, prof ? VMSG_PROFILE_2025 : VMSG_PROFILE_2026, max,
					    flags ? VMSG_CODEC_F_EXACT_SIZE : 0) != 0) {
				/* only a profile compiled out may be refused */
				FUZZ_CHECK(prof == 1 && VMSG_CONFIG_NO_PROFILE_2025);
				continue;
			}
			one_codec(&c, buf, in.n, fmt_cap);
		}
	}
	free(buf);
	return 0;
}
