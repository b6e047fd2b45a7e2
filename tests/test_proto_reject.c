/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Negative tests for the codec: one test per validation rule of proto.h
 * (decode rules 1-10, the trailing-bytes decision, the per-message rules of
 * the wire note 1.6 and 1.15, and the encode refusals), each asserting the
 * documented error code. Every failing decode is also checked to leave its
 * output struct untouched, and every failing encode to leave the output
 * buffer untouched ("nothing is written unless the whole message is valid
 * and fits").
 *
 * Messages are built by hand here from the wire note tables; the codec's
 * own output is never used as an expected value.
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "virtio_msg/config.h"
#include "virtio_msg/proto.h"

/* One-role builds: the codec calls below go through role wrappers. */
#include "proto_role.h"

#define P26 VMSG_PROFILE_2026
#define P25 VMSG_PROFILE_2025

/* Transport request/event 0x00, response 0x01; bus request 0x02, response 0x03. */
#define TREQ 0x00u
#define TRESP 0x01u
#define BREQ 0x02u
#define BRESP 0x03u

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Zero @size bytes at @b and write a header (token 0x7E7F) with msg_size = size. */
static size_t mk(uint8_t *b, uint8_t type, uint8_t id, uint16_t dev, uint16_t size)
{
	memset(b, 0, size > 8 ? size : 8);
	b[0] = type;
	b[1] = id;
	put16(b + 2, dev);
	put16(b + 4, 0x7E7F);
	put16(b + 6, size);
	return size;
}

static void set_size(uint8_t *b, uint16_t size)
{
	put16(b + 6, size);
}

static struct vmsg_codec codec(enum vmsg_profile prof, uint32_t max, uint32_t flags)
{
	struct vmsg_codec c;

#if VMSG_CONFIG_NO_PROFILE_2025
	if (prof == P25)
		skip();
#endif
	assert_int_equal(vmsg_codec_init(&c, prof, max, flags), 0);
	return c;
}

static const char *ename(int err)
{
	const char *s = vmsg_strerror_name(err);

	return s ? s : "(null)";
}

/*
 * Decode a heap copy of exactly @len bytes (so ASan sees any over-read) and
 * require @want. On error the output must be untouched. On success, the
 * message is decoded again from @b itself so that its views point into @b.
 */
#define DEC(c, b, len, want) dec_at((c), (b), (len), (want), __LINE__)
static struct vmsg_msg dec_at(const struct vmsg_codec *c, const uint8_t *b, size_t len, int want,
			      int line)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct vmsg_msg out, ref;
	int ret;

	assert_non_null(copy);
	memcpy(copy, b, len);
	memset(&out, 0xA5, sizeof(out));
	memcpy(&ref, &out, sizeof(ref));
	ret = vmsg_proto_decode(c, copy, len, &out);
	free(copy); /* before any failure: fail_msg does not return */
	if (ret != want)
		fail_msg("line %d: decode returned %d %s, want %d %s", line, ret, ename(ret), want,
			 ename(want));
	if (ret != 0) {
		if (memcmp(&out, &ref, sizeof(out)) != 0)
			fail_msg("line %d: decode failed but modified its output", line);
		return out;
	}
	assert_int_equal(vmsg_proto_decode(c, b, len, &out), 0);
	return out;
}

/* Encode into a buffer with @cap bytes plus a guard, and require @want (a
 * length or an error). On error nothing may be written. */
#define ENC(c, m, cap, want) enc_at((c), (m), (cap), (want), __LINE__)
static void enc_at(const struct vmsg_codec *c, const struct vmsg_msg *m, size_t cap, int want,
		   int line)
{
	uint8_t *buf = malloc(cap + 16);
	int ret;

	assert_non_null(buf);
	memset(buf, 0x5A, cap + 16);
	ret = vmsg_proto_encode(c, m, buf, cap);
	for (size_t i = (ret < 0 ? 0 : (size_t)ret); i < cap + 16; i++) {
		if (buf[i] != 0x5A) {
			free(buf);
			fail_msg("line %d: encode wrote byte %zu (ret %d)", line, i, ret);
		}
	}
	free(buf); /* before any failure: fail_msg does not return */
	if (ret != want)
		fail_msg("line %d: encode returned %d %s, want %d %s", line, ret, ename(ret), want,
			 ename(want));
}

static struct vmsg_msg msg(uint8_t type, uint8_t id, uint16_t dev)
{
	struct vmsg_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.msg_id = id;
	m.dev_num = dev;
	m.token = 0x7E7F;
	return m;
}

/* ------------------------------------------------------------------ */
/* Header rules 1-9                                                   */
/* ------------------------------------------------------------------ */

/* Rule 1: len < 8 -> VMSG_ESHORT. */
static void test_proto_decode_rejects_len_below_header(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[16];

	(void)state;
	mk(b, TREQ, 0x07, 1, 8); /* GET_DEVICE_STATUS request */
	for (size_t len = 0; len < 8; len++)
		DEC(&c, b, len, VMSG_ESHORT);
	/* rule 1 comes before rule 2 */
	set_size(b, 3);
	DEC(&c, b, 7, VMSG_ESHORT);
	DEC(&c, b, 8, VMSG_EBADMSG);
}

static void test_proto_decode_rejects_null_arguments(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg out;
	uint8_t b[8];

	(void)state;
	mk(b, TREQ, 0x07, 1, 8);
	assert_int_equal(vmsg_proto_decode(NULL, b, 8, &out), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_decode(&c, NULL, 8, &out), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_decode(&c, b, 8, NULL), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_decode(&c, b, 8, &out), 0);
}

/* Rule 2: msg_size < 8 -> VMSG_EBADMSG. */
static void test_proto_decode_rejects_msg_size_below_header(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[16];

	(void)state;
	for (uint16_t size = 0; size < 8; size++) {
		mk(b, TREQ, 0x07, 1, 16);
		set_size(b, size);
		DEC(&c, b, 8, VMSG_EBADMSG);
		DEC(&c, b, 16, VMSG_EBADMSG);
	}
}

/* Rule 3: msg_size > the codec maximum -> VMSG_EMSGSIZE, before rule 4. */
static void test_proto_decode_rejects_msg_size_above_max(void **state)
{
	struct vmsg_codec c52 = codec(P26, 52, 0), c264 = codec(P26, 264, 0);
	uint8_t b[300];

	(void)state;
	mk(b, BREQ, 0x80, 0, 53); /* opaque: any size is well-formed */
	DEC(&c52, b, 53, VMSG_EMSGSIZE);
	DEC(&c52, b, 8, VMSG_EMSGSIZE); /* rule 3 before rule 4 */
	DEC(&c264, b, 53, 0);
	set_size(b, 52);
	DEC(&c52, b, 52, 0);
	set_size(b, 265);
	DEC(&c264, b, 265, VMSG_EMSGSIZE);
	set_size(b, 0xFFFF);
	DEC(&c264, b, 8, VMSG_EMSGSIZE);
	/* a standard message too: GET_DEVICE_INFO response, 52 bytes */
	mk(b, TRESP, 0x02, 1, 52);
	DEC(&c52, b, 52, 0);
	set_size(b, 56);
	DEC(&c52, b, 56, VMSG_EMSGSIZE);
#if !VMSG_CONFIG_NO_PROFILE_2025
	{
		struct vmsg_codec c48 = codec(P25, 48, 0);

		mk(b, BREQ, 0x80, 0, 49);
		DEC(&c48, b, 49, VMSG_EMSGSIZE);
		set_size(b, 48);
		DEC(&c48, b, 48, 0);
	}
#endif
}

/* Rule 4: msg_size > len -> VMSG_ESHORT. */
static void test_proto_decode_rejects_msg_size_above_len(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[16];

	(void)state;
	mk(b, TREQ, 0x09, 1, 12); /* GET_VQUEUE request */
	DEC(&c, b, 11, VMSG_ESHORT);
	DEC(&c, b, 8, VMSG_ESHORT);
	set_size(b, 13);
	DEC(&c, b, 12, VMSG_ESHORT);
}

/* Rule 6: event ID with the response bit -> VMSG_EBADTYPE (GEN-2). */
static void test_proto_decode_rejects_response_bit_on_event(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t size;
	} cases[] = {
		{ TRESP, 0x40, 24 }, { TRESP, 0x41, 16 }, { TRESP, 0x42, 12 }, { TRESP, 0x43, 12 },
		{ TRESP, 0x7F, 12 }, { TRESP, 0xC1, 12 }, { TRESP, 0xFF, 8 },  { BRESP, 0x40, 12 },
		{ BRESP, 0x41, 12 }, { BRESP, 0xC0, 12 }, { 0xFD, 0x42, 12 },  { 0xFF, 0x40, 12 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[32];

		mk(b, cases[i].type, cases[i].id, 0, cases[i].size);
		if (cases[i].id == 0x40 && (cases[i].type & 2))
			put16(b + 10, 1); /* EVENT_DEVICE state ADDED */
		DEC(&c, b, cases[i].size, VMSG_EBADTYPE);
	}
}

/* Rule 7: bus message with dev_num != 0 -> VMSG_EBADDEV (GEN-3). */
static void test_proto_decode_rejects_dev_num_on_bus_message(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[32];

	(void)state;
	mk(b, BREQ, 0x03, 1, 12); /* PING */
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BRESP, 0x03, 0x0100, 12); /* high byte only */
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BREQ, 0x03, 0x8000, 12);
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BREQ, 0x02, 5, 12); /* GET_DEVICES */
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BREQ, 0x40, 1, 12); /* EVENT_DEVICE */
	put16(b + 10, 1);
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BREQ, 0x80, 1, 12); /* implementation-defined: rule 7 before 8 */
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BREQ, 0x04, 1, 12); /* unknown: rule 7 before 9 */
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, BRESP, 0x40, 1, 12); /* rule 6 before 7 */
	put16(b + 10, 1);
	DEC(&c, b, 12, VMSG_EBADTYPE);
	mk(b, BREQ, 0x03, 0, 12);
	DEC(&c, b, 12, 0);
}

/* "0 is a valid transport device number", and so is 0xFFFF. */
static void test_proto_decode_accepts_any_transport_dev_num(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg out;
	uint8_t b[16];

	(void)state;
	mk(b, TREQ, 0x42, 0, 12);
	out = DEC(&c, b, 12, 0);
	assert_int_equal(out.dev_num, 0);
	mk(b, TREQ, 0x42, 0xFFFF, 12);
	out = DEC(&c, b, 12, 0);
	assert_int_equal(out.dev_num, 0xFFFF);
}

/* Rule 9: unknown standard ID -> VMSG_ENOTSUP, in both namespaces. */
static void test_proto_decode_rejects_unknown_standard_id(void **state)
{
	static const struct {
		uint8_t type, id;
	} cases[] = {
		{ TREQ, 0x00 },	 { TREQ, 0x01 },  { TREQ, 0x0D },  { TREQ, 0x3F }, { TRESP, 0x00 },
		{ TRESP, 0x01 }, { TRESP, 0x0D }, { TRESP, 0x3F }, { TREQ, 0x43 }, { TREQ, 0x7F },
		{ BREQ, 0x00 },	 { BREQ, 0x01 },  { BREQ, 0x04 },  { BREQ, 0x05 }, { BREQ, 0x3F },
		{ BRESP, 0x00 }, { BRESP, 0x01 }, { BRESP, 0x04 }, { BREQ, 0x41 }, { BREQ, 0x42 },
		{ BREQ, 0x7F },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (uint16_t size = 8; size <= 24; size += 16) {
			uint8_t b[24];

			mk(b, cases[i].type, cases[i].id, 0, size);
			DEC(&c, b, size, VMSG_ENOTSUP);
		}
	}
}

/* Rule 5: type bits 2..7 are ignored on decode (GEN-1, DRV-1, DEV-1). */
static void test_proto_decode_ignores_reserved_type_bits(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (unsigned bit = 2; bit <= 8; bit++) {
		uint8_t mask = bit == 8 ? 0xFC : (uint8_t)(1u << bit);
		struct vmsg_msg out;
		uint8_t b[32];

		mk(b, (uint8_t)(BREQ | mask), 0x03, 0, 12); /* bus PING request */
		put32(b + 8, 0x01020304u);
		out = DEC(&c, b, 12, 0);
		assert_int_equal(out.type, BREQ);
		assert_int_equal(out.msg_id, 0x03);
		assert_int_equal(out.u.ping.data, 0x01020304u);

		mk(b, (uint8_t)(TRESP | mask), 0x07, 9, 12); /* GET_DEVICE_STATUS resp */
		put32(b + 8, 0x0A0B0C0Du);
		out = DEC(&c, b, 12, 0);
		assert_int_equal(out.type, TRESP);
		assert_int_equal(out.u.status.status, 0x0A0B0C0Du);

		/* the bits do not move a message into the bus namespace */
		mk(b, (uint8_t)(TREQ | mask), 0x03, 9, 16); /* GET_DEVICE_FEATURES req */
		put32(b + 8, 7);
		put32(b + 12, 1);
		out = DEC(&c, b, 16, 0);
		assert_int_equal(out.type, TREQ);
		assert_int_equal(out.u.features.block_index, 7);
		assert_int_equal(out.u.features.num_blocks, 1);
	}
}

/* ...but refused on encode (VMSG_ERESERVED). */
static void test_proto_encode_rejects_reserved_type_bits(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (unsigned bit = 2; bit < 8; bit++) {
		struct vmsg_msg m = msg((uint8_t)(BREQ | (1u << bit)), 0x03, 0);

		m.u.ping.data = 1;
		ENC(&c, &m, 64, VMSG_ERESERVED);
		m = msg((uint8_t)(TREQ | (1u << bit)), 0x42, 3);
		ENC(&c, &m, 64, VMSG_ERESERVED);
		m = msg((uint8_t)(TRESP | (1u << bit)), 0x81, 3); /* opaque too */
		ENC(&c, &m, 64, VMSG_ERESERVED);
	}
}

/* ------------------------------------------------------------------ */
/* Rule 10: sizes and count/length fields                             */
/* ------------------------------------------------------------------ */

/* msg_size below the fixed part -> VMSG_EBADMSG (every size in test_proto_golden). */
static void test_proto_decode_rejects_below_fixed_size(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t fixed;
	} cases[] = {
		{ TRESP, 0x02, 52 }, { TREQ, 0x03, 16 },  { TRESP, 0x03, 16 }, { TREQ, 0x04, 16 },
		{ TREQ, 0x05, 16 },  { TRESP, 0x05, 20 }, { TREQ, 0x06, 20 },  { TRESP, 0x06, 20 },
		{ TRESP, 0x07, 12 }, { TREQ, 0x08, 12 },  { TRESP, 0x08, 12 }, { TREQ, 0x09, 12 },
		{ TRESP, 0x09, 48 }, { TREQ, 0x0A, 48 },  { TREQ, 0x0B, 12 },  { TREQ, 0x0C, 12 },
		{ TRESP, 0x0C, 32 }, { TREQ, 0x40, 24 },  { TREQ, 0x41, 16 },  { TREQ, 0x42, 12 },
		{ BREQ, 0x02, 12 },  { BRESP, 0x02, 14 }, { BREQ, 0x03, 12 },  { BRESP, 0x03, 12 },
		{ BREQ, 0x40, 12 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];
		uint16_t size = (uint16_t)(cases[i].fixed - 1);

		memset(b, 0, sizeof(b));
		mk(b, cases[i].type, cases[i].id, cases[i].type & 2 ? 0 : 1, size);
		if (cases[i].id == 0x03 && !(cases[i].type & 2))
			put32(b + 12, 1); /* num_blocks 1 (only the request fits) */
		if (cases[i].id == 0x40 && (cases[i].type & 2))
			put16(b + 10, 1); /* EVENT_DEVICE state (cut off anyway) */
		DEC(&c, b, size, VMSG_EBADMSG);
		DEC(&c, b, sizeof(b), VMSG_EBADMSG); /* framing does not help */
	}
}

/* The 2025 layouts are shorter than the 2026 fixed sizes. */
static void test_proto_decode_rejects_2025_layouts_in_2026(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[32];

	(void)state;
	mk(b, TRESP, 0x02, 1, 32); /* 2025 GET_DEVICE_INFO response */
	DEC(&c, b, 32, VMSG_EBADMSG);
	mk(b, TRESP, 0x0C, 1, 20); /* 2025 GET_SHM response */
	DEC(&c, b, 20, VMSG_EBADMSG);
}

/* GET_DEVICE_FEATURES response / SET_DRIVER_FEATURES request: 16 + 4 * N. */
static void test_proto_decode_rejects_feature_blocks_past_msg_size(void **state)
{
	static const struct {
		uint8_t type, id;
		uint32_t num;
		uint16_t size;
	} cases[] = {
		{ TRESP, 0x03, 3, 24 },
		{ TRESP, 0x03, 2, 20 },
		{ TREQ, 0x04, 1, 16 },
		{ TREQ, 0x04, 2, 23 },
		/* 16 + 4 * N wraps around in 32 bits */
		{ TRESP, 0x03, 0x40000000u, 16 },
		{ TRESP, 0x03, 0x40000001u, 20 },
		{ TREQ, 0x04, 0x40000001u, 20 },
		{ TREQ, 0x04, 0xFFFFFFFFu, 16 },
		{ TRESP, 0x03, 0xFFFFFFFFu, 64 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];

		mk(b, cases[i].type, cases[i].id, 1, cases[i].size);
		put32(b + 8, 0);
		put32(b + 12, cases[i].num);
		DEC(&c, b, cases[i].size, VMSG_EBADMSG);
	}
}

/* Bytes past 16 + 4 * N are trailing bytes of a response: accepted. */
static void test_proto_decode_accepts_feature_blocks_with_trailing(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_codec x = codec(P26, 264, VMSG_CODEC_F_EXACT_SIZE);
	struct vmsg_msg out;
	uint8_t b[28];

	(void)state;
	mk(b, TRESP, 0x03, 1, 28);
	put32(b + 8, 5);
	put32(b + 12, 2);
	put32(b + 16, 0x11111111u);
	put32(b + 20, 0x22222222u);
	put32(b + 24, 0x33333333u);
	out = DEC(&c, b, 28, 0);
	assert_int_equal(out.msg_size, 28);
	assert_int_equal(out.u.features.num_blocks, 2);
	assert_ptr_equal(out.u.features.blocks, b + 16);
	DEC(&x, b, 28, VMSG_EBADMSG);
}

/* num_blocks == 0 is malformed (wire note 4.11: QEMU drops it). */
static void test_proto_decode_rejects_zero_feature_blocks(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[20];

	(void)state;
	mk(b, TREQ, 0x03, 1, 16);
	DEC(&c, b, 16, VMSG_EBADMSG);
	mk(b, TRESP, 0x03, 1, 16);
	DEC(&c, b, 16, VMSG_EBADMSG);
	mk(b, TRESP, 0x03, 1, 20); /* 4 more bytes do not make it a block */
	DEC(&c, b, 20, VMSG_EBADMSG);
	mk(b, TREQ, 0x04, 1, 16);
	DEC(&c, b, 16, VMSG_EBADMSG);
}

/* A GET_DEVICE_FEATURES request whose response cannot fit the maximum. */
static void test_proto_decode_rejects_feature_request_over_max(void **state)
{
	static const struct {
		uint32_t max, num;
		int want;
	} cases[] = {
		{ 264, 62, 0 },
		{ 264, 63, VMSG_EMSGSIZE },
		{ 52, 9, 0 },
		{ 52, 10, VMSG_EMSGSIZE },
		{ 264, 0x40000000u, VMSG_EMSGSIZE },
		{ 264, 0xFFFFFFFFu, VMSG_EMSGSIZE },
		{ 65535, 16379, 0 },
		{ 65535, 16380, VMSG_EMSGSIZE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_codec c = codec(P26, cases[i].max, 0);
		uint8_t b[16];

		mk(b, TREQ, 0x03, 1, 16);
		put32(b + 12, cases[i].num);
		DEC(&c, b, 16, cases[i].want);
	}
#if !VMSG_CONFIG_NO_PROFILE_2025
	{
		struct vmsg_codec c = codec(P25, 48, 0);
		uint8_t b[16];

		mk(b, TREQ, 0x03, 1, 16);
		put32(b + 12, 8);
		DEC(&c, b, 16, 0);
		put32(b + 12, 9);
		DEC(&c, b, 16, VMSG_EMSGSIZE);
	}
#endif
}

/* GET_CONFIG response / SET_CONFIG request: 20 + length. */
static void test_proto_decode_rejects_config_length_past_msg_size(void **state)
{
	static const struct {
		uint8_t type, id;
		uint32_t length;
		uint16_t size;
	} cases[] = {
		{ TRESP, 0x05, 8, 24 },
		{ TRESP, 0x05, 1, 20 },
		{ TREQ, 0x06, 5, 24 },
		{ TREQ, 0x06, 1, 20 },
		/* 20 + length wraps around in 32 bits */
		{ TRESP, 0x05, 0xFFFFFFFFu, 20 },
		{ TRESP, 0x05, 0xFFFFFFF0u, 28 },
		{ TREQ, 0x06, 0xFFFFFFFCu, 20 },
		{ TREQ, 0x06, 0xFFFFFFECu, 64 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];

		mk(b, cases[i].type, cases[i].id, 1, cases[i].size);
		put32(b + 16, cases[i].length);
		DEC(&c, b, cases[i].size, VMSG_EBADMSG);
	}
}

/* Bytes past 20 + length are trailing bytes: accepted unless exact. */
static void test_proto_decode_accepts_config_with_trailing(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_codec x = codec(P26, 264, VMSG_CODEC_F_EXACT_SIZE);
	struct vmsg_msg out;
	uint8_t b[32];

	(void)state;
	mk(b, TRESP, 0x05, 1, 28); /* GET_CONFIG response, length 4 + 4 extra */
	put32(b + 16, 4);
	memcpy(b + 20, "abcdEFGH", 8);
	out = DEC(&c, b, 28, 0);
	assert_int_equal(out.u.config.length, 4);
	assert_ptr_equal(out.u.config.data, b + 20);
	DEC(&x, b, 28, VMSG_EBADMSG);

	mk(b, TREQ, 0x06, 1, 26); /* SET_CONFIG request, length 4 + 2 extra */
	put32(b + 16, 4);
	out = DEC(&c, b, 26, 0);
	assert_int_equal(out.u.config.length, 4);
	assert_ptr_equal(out.u.config.data, b + 20);
	DEC(&x, b, 26, VMSG_EBADMSG);
}

/* A GET_CONFIG request whose response cannot fit the maximum. */
static void test_proto_decode_rejects_get_config_request_over_max(void **state)
{
	static const struct {
		uint32_t max, length;
		int want;
	} cases[] = {
		{ 264, 244, 0 },
		{ 264, 245, VMSG_EMSGSIZE },
		{ 52, 32, 0 },
		{ 52, 33, VMSG_EMSGSIZE },
		{ 264, 0xFFFFFFFFu, VMSG_EMSGSIZE },
		{ 264, 0xFFFFFFF0u, VMSG_EMSGSIZE },
		{ 65535, 65515, 0 },
		{ 65535, 65516, VMSG_EMSGSIZE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_codec c = codec(P26, cases[i].max, 0);
		uint8_t b[16];

		mk(b, TREQ, 0x05, 1, 16);
		put32(b + 8, 0); /* offset 0: the range itself is valid */
		put32(b + 12, cases[i].length);
		DEC(&c, b, 16, cases[i].want);
	}
}

/*
 * offset + length must stay inside a config space whose size is a le32
 * (DRV-44, DRV-45; GET_DEVICE_INFO config_size): a range that runs past
 * 0xFFFFFFFF is inconsistent. (Not spelled out in proto.h.)
 */
static void test_proto_decode_rejects_config_range_past_4g(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t size;
		unsigned off_at, len_at;
	} msgs[] = {
		{ TREQ, 0x05, 16, 8, 12 },   /* GET_CONFIG request */
		{ TRESP, 0x05, 24, 12, 16 }, /* GET_CONFIG response, 4 bytes */
		{ TREQ, 0x06, 24, 12, 16 },  /* SET_CONFIG request, 4 bytes */
		{ TRESP, 0x06, 24, 12, 16 }, /* SET_CONFIG response, echo */
		{ TREQ, 0x40, 28, 16, 20 },  /* EVENT_CONFIG with data */
	};
	static const struct {
		uint32_t offset;
		int want;
	} offs[] = { { 0xFFFFFFFBu, 0 },
		     { 0xFFFFFFFDu, VMSG_EBADMSG },
		     { 0xFFFFFFFFu, VMSG_EBADMSG } };
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			uint8_t b[32];

			mk(b, msgs[i].type, msgs[i].id, 1, msgs[i].size);
			put32(b + msgs[i].off_at, offs[j].offset);
			put32(b + msgs[i].len_at, 4);
			DEC(&c, b, msgs[i].size, offs[j].want);
		}
	}
}

/* SET_CONFIG response: 20 (not echoed) or 20 + length; nothing between. */
static void test_proto_decode_rejects_set_config_partial_echo(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_codec x = codec(P26, 264, VMSG_CODEC_F_EXACT_SIZE);
	struct vmsg_msg out;
	uint8_t b[32];

	(void)state;
	for (uint16_t size = 21; size < 25; size++) {
		mk(b, TRESP, 0x06, 1, size);
		put32(b + 16, 5);
		DEC(&c, b, size, VMSG_EBADMSG);
		DEC(&x, b, size, VMSG_EBADMSG);
	}
	mk(b, TRESP, 0x06, 1, 20);
	put32(b + 16, 5);
	out = DEC(&x, b, 20, 0);
	assert_int_equal(out.u.config.length, 5);
	assert_null(out.u.config.data);

	mk(b, TRESP, 0x06, 1, 25);
	put32(b + 16, 5);
	out = DEC(&x, b, 25, 0);
	assert_ptr_equal(out.u.config.data, b + 20);

	mk(b, TRESP, 0x06, 1, 27); /* echo plus 2 trailing bytes */
	put32(b + 16, 5);
	out = DEC(&c, b, 27, 0);
	assert_int_equal(out.u.config.length, 5);
	assert_ptr_equal(out.u.config.data, b + 20);
	DEC(&x, b, 27, VMSG_EBADMSG);

	/*
	 * 20 + 0xFFFFFFFF wraps to 19: still a partial echo. A length no message
	 * could echo may also be refused as too large; either way, not accepted.
	 */
	mk(b, TRESP, 0x06, 1, 24);
	put32(b + 16, 0xFFFFFFFFu);
	{
		struct vmsg_msg tmp;
		int ret = vmsg_proto_decode(&c, b, 24, &tmp);

		assert_true(ret == VMSG_EBADMSG || ret == VMSG_EMSGSIZE);
	}

	/* length 0 carries no data: exact mode refuses bytes after 20 */
	mk(b, TRESP, 0x06, 1, 24);
	DEC(&x, b, 24, VMSG_EBADMSG);
}

/* EVENT_CONFIG: D = msg_size - 24 must be 0 or length (proto.h decision). */
static void test_proto_decode_rejects_event_config_data_mismatch(void **state)
{
	static const struct {
		uint32_t offset, length;
		uint16_t d;
		int want;
	} cases[] = {
		{ 0x10, 4, 0, 0 },
		{ 0x10, 4, 4, 0 },
		{ 0x10, 4, 1, VMSG_EBADMSG },
		{ 0x10, 4, 2, VMSG_EBADMSG },
		{ 0x10, 4, 3, VMSG_EBADMSG },
		{ 0x10, 4, 5, VMSG_EBADMSG },
		{ 0x10, 4, 8, VMSG_EBADMSG },
		{ 0, 0, 0, 0 },
		{ 0, 0, 4, VMSG_EBADMSG },
		/* a range too large for one event is announced without data (DEV-24) */
		{ 0x10, 1000, 0, 0 },
		{ 0, 0xFFFFFFFFu, 0, 0 },
		/* 24 + length wraps around in 32 bits */
		{ 0, 0xFFFFFFFFu, 4, VMSG_EBADMSG },
		{ 0, 0xFFFFFFECu, 4, VMSG_EBADMSG },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[40];
		uint16_t size = (uint16_t)(24 + cases[i].d);
		struct vmsg_msg out;

		mk(b, TREQ, 0x40, 1, size);
		put32(b + 16, cases[i].offset);
		put32(b + 20, cases[i].length);
		out = DEC(&c, b, size, cases[i].want);
		if (cases[i].want == 0) {
			assert_int_equal(out.u.event_config.length, cases[i].length);
			if (cases[i].d)
				assert_ptr_equal(out.u.event_config.data, b + 24);
			else
				assert_null(out.u.event_config.data);
		}
	}
}

/* Events must have exactly their defined size (proto.h decision). */
static void test_proto_decode_rejects_event_trailing(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t size;
	} cases[] = {
		{ TREQ, 0x42, 13 }, { TREQ, 0x42, 16 }, { TREQ, 0x41, 17 },
		{ TREQ, 0x41, 20 }, { BREQ, 0x40, 13 }, { BREQ, 0x40, 14 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[32];

		mk(b, cases[i].type, cases[i].id, cases[i].type & 2 ? 0 : 1, cases[i].size);
		if (cases[i].type & 2)
			put16(b + 10, 1);
		DEC(&c, b, cases[i].size, VMSG_EBADMSG);
	}
}

/* Requests and responses may be longer than defined; exact mode refuses. */
static void test_proto_decode_accepts_request_response_trailing(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t size;
	} cases[] = {
		{ TREQ, 0x02, 12 }, { TREQ, 0x09, 13 },	 { TRESP, 0x07, 16 },
		{ TRESP, 0x0A, 9 }, { TRESP, 0x0B, 12 }, { TREQ, 0x0C, 20 },
		{ BREQ, 0x03, 16 }, { BRESP, 0x03, 13 }, { BREQ, 0x02, 14 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_codec x = codec(P26, 264, VMSG_CODEC_F_EXACT_SIZE);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[32];
		struct vmsg_msg out;

		mk(b, cases[i].type, cases[i].id, cases[i].type & 2 ? 0 : 1, cases[i].size);
		out = DEC(&c, b, cases[i].size, 0);
		assert_int_equal(out.msg_size, cases[i].size);
		DEC(&x, b, cases[i].size, VMSG_EBADMSG);
	}
}

/* Bytes past msg_size (len > msg_size) are framing, even in exact mode. */
static void test_proto_decode_ignores_framing_past_msg_size(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_codec x = codec(P26, 264, VMSG_CODEC_F_EXACT_SIZE);
	struct vmsg_msg out;
	uint8_t b[32];

	(void)state;
	mk(b, TREQ, 0x42, 1, 32);
	set_size(b, 12);
	memset(b + 12, 0xEE, 20);
	out = DEC(&c, b, 32, 0);
	assert_int_equal(out.msg_size, 12);
	out = DEC(&x, b, 32, 0);
	assert_int_equal(out.msg_size, 12);
}

/* ------------------------------------------------------------------ */
/* Rule 10: reserved fields, bits and values                          */
/* ------------------------------------------------------------------ */

/* GET_VQUEUE response flags bits 31:1 MUST be 0 (DEV-56). */
static void test_proto_decode_rejects_get_vqueue_flags_reserved(void **state)
{
	static const uint32_t bad[] = { 0x2,	    0x3,	 0x100,	     0x10000,
					0x01000000, 0x80000000u, 0xFFFFFFFFu };
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg out;
	uint8_t b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk(b, TRESP, 0x09, 1, 48);
		put32(b + 12, 256);
		put32(b + 16, 128);
		put32(b + 20, bad[i]);
		put64(b + 24, 0x1000); /* configured: addresses set */
		put64(b + 32, 0x2000);
		put64(b + 40, 0x3000);
		DEC(&c, b, 48, VMSG_ERESERVED);
	}
	put32(b + 20, 1);
	out = DEC(&c, b, 48, 0);
	assert_int_equal(out.u.vqueue.flags, 1);
	put32(b + 20, 0);
	out = DEC(&c, b, 48, 0);
	assert_int_equal(out.u.vqueue.flags, 0);
}

/* GET_SHM response reserved = 0 (DEV-68). */
static void test_proto_decode_rejects_get_shm_reserved(void **state)
{
	static const uint32_t bad[] = { 0x1, 0x100, 0x10000, 0x80000000u };
	struct vmsg_codec c = codec(P26, 264, 0);
	uint8_t b[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk(b, TRESP, 0x0C, 1, 32);
		put32(b + 12, bad[i]);
		put64(b + 16, 0x1000);
		DEC(&c, b, 32, VMSG_ERESERVED);
	}
}

/* GET_DEVICES response: unused high bits of the last bitmap byte are 0 (BUS-51). */
static void test_proto_decode_rejects_get_devices_unused_bitmap_bits(void **state)
{
	static const struct {
		uint16_t count;
		uint8_t bm[2];
		int want;
	} cases[] = {
		{ 13, { 0xFF, 0x1F }, 0 },
		{ 13, { 0x00, 0x20 }, VMSG_ERESERVED },
		{ 13, { 0x00, 0x80 }, VMSG_ERESERVED },
		{ 1, { 0x01, 0 }, 0 },
		{ 1, { 0x02, 0 }, VMSG_ERESERVED },
		{ 1, { 0x80, 0 }, VMSG_ERESERVED },
		{ 8, { 0xFF, 0 }, 0 },
		{ 9, { 0xFF, 0x01 }, 0 },
		{ 9, { 0x00, 0x02 }, VMSG_ERESERVED },
		{ 16, { 0xFF, 0xFF }, 0 },
	};

	(void)state;
	for (int prof = 0; prof < 2; prof++) {
#if VMSG_CONFIG_NO_PROFILE_2025
		if (prof == 1)
			break;
#endif
		struct vmsg_codec c = codec(prof ? P25 : P26, 264, 0);

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint8_t b[16];
			uint16_t n = (uint16_t)((cases[i].count + 7) / 8);

			mk(b, BRESP, 0x02, 0, (uint16_t)(14 + n));
			put16(b + 8, 0x300);
			put16(b + (prof ? 10 : 12), cases[i].count); /* 2025: count @10 */
			memcpy(b + 14, cases[i].bm, n);
			DEC(&c, b, 14u + n, cases[i].want);
		}
	}
}

/* A non-terminal next_offset must be above offset (BUS-53). */
static void test_proto_decode_rejects_get_devices_next_offset_not_above(void **state)
{
	static const struct {
		uint16_t next;
		int want;
	} cases[] = {
		{ 0x20, VMSG_EBADMSG },
		{ 0x1F, VMSG_EBADMSG },
		{ 0x01, VMSG_EBADMSG },
		{ 0x21, 0 },
		{ 0, 0 },
		{ 0xFFFF, 0 },
	};

	(void)state;
	for (int prof = 0; prof < 2; prof++) {
#if VMSG_CONFIG_NO_PROFILE_2025
		if (prof == 1)
			break;
#endif
		struct vmsg_codec c = codec(prof ? P25 : P26, 264, 0);

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint8_t b[16];
			struct vmsg_msg out;

			mk(b, BRESP, 0x02, 0, 15);
			put16(b + 8, 0x20);
			put16(b + (prof ? 12 : 10), cases[i].next);
			put16(b + (prof ? 10 : 12), 8);
			b[14] = 0x81;
			out = DEC(&c, b, 15, cases[i].want);
			if (cases[i].want == 0) {
				assert_int_equal(out.u.get_devices.offset, 0x20);
				assert_int_equal(out.u.get_devices.next_offset, cases[i].next);
				assert_int_equal(out.u.get_devices.count, 8);
			}
		}
	}
}

/* The window offset .. offset + count - 1 must be device numbers (le16). */
static void test_proto_decode_rejects_get_devices_window_past_65536(void **state)
{
	static const struct {
		uint16_t offset, count;
		int want;
	} cases[] = {
		{ 0xFFF8, 8, 0 },
		{ 0xFFF8, 9, VMSG_EBADMSG },
		{ 0xFFFF, 1, 0 },
		{ 0xFFFF, 2, VMSG_EBADMSG },
		{ 0, 0xFFFF, 0 },
		{ 1, 0xFFFF, 0 },
		{ 2, 0xFFFF, VMSG_EBADMSG },
		{ 0xFFFF, 0xFFFF, VMSG_EBADMSG },
	};
	struct vmsg_codec c = codec(P26, 65535, 0);
	uint8_t *b = malloc(14 + 8192);

	(void)state;
	assert_non_null(b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t size = (uint16_t)(14 + (cases[i].count + 7u) / 8u);

		mk(b, BRESP, 0x02, 0, size);
		put16(b + 8, cases[i].offset);
		put16(b + 12, cases[i].count);
		DEC(&c, b, size, cases[i].want);
	}
	free(b);
}

/* EVENT_DEVICE: 0x0003..0x7FFF reserved; 0 is not a defined state. */
static void test_proto_decode_rejects_event_device_reserved_state(void **state)
{
	static const struct {
		uint16_t st;
		int want;
	} cases[] = {
		{ 0, VMSG_ERESERVED },
		{ 3, VMSG_ERESERVED },
		{ 4, VMSG_ERESERVED },
		{ 0x100, VMSG_ERESERVED },
		{ 0x7FFF, VMSG_ERESERVED },
		{ 1, 0 },
		{ 2, 0 },
		{ 0x8000, 0 },
		{ 0x8001, 0 },
		{ 0xFFFF, 0 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[12];
		struct vmsg_msg out;

		mk(b, BREQ, 0x40, 0, 12);
		put16(b + 8, 0x1234);
		put16(b + 10, cases[i].st);
		out = DEC(&c, b, 12, cases[i].want);
		if (cases[i].want == 0) {
			assert_int_equal(out.u.event_device.dev_num, 0x1234);
			assert_int_equal(out.u.event_device.state, cases[i].st);
		}
	}
}

/* SET_VQUEUE with reserved bits is still decoded raw: the device must answer (DEV-58). */
static void test_proto_decode_keeps_invalid_set_vqueue_raw(void **state)
{
	static const struct {
		uint32_t flags, reserved;
	} cases[] = {
		{ 0x1, 0x12345678u }, { 0x40, 0 }, { 0x80000001u, 0 },		 { 0xFFFFFFC1u, 0 },
		{ 0x3, 0 },	      { 0x3F, 0 }, { 0xFFFFFFFFu, 0xFFFFFFFFu },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[48];
		struct vmsg_msg out;

		mk(b, TREQ, 0x0A, 1, 48);
		put32(b + 8, 2);
		put32(b + 12, cases[i].flags);
		put32(b + 16, 64);
		put32(b + 20, cases[i].reserved);
		put64(b + 24, 0x1000);
		out = DEC(&c, b, 48, 0);
		assert_int_equal(out.u.vqueue.index, 2);
		assert_int_equal(out.u.vqueue.flags, cases[i].flags);
		assert_int_equal(out.u.vqueue.reserved, cases[i].reserved);
		assert_int_equal(out.u.vqueue.size, 64);
		assert_int_equal(out.u.vqueue.desc_addr, 0x1000);
	}
}

/* ...but encode refuses to send them (DRV-54, DRV-55). */
static void test_proto_encode_rejects_set_vqueue_reserved(void **state)
{
	static const struct {
		uint32_t flags, reserved;
		int want;
	} cases[] = {
		{ 0x1, 1, VMSG_ERESERVED },
		{ 0x1, 0x80000000u, VMSG_ERESERVED },
		{ 0x40, 0, VMSG_ERESERVED },
		{ 0x80000001u, 0, VMSG_ERESERVED },
		{ 0x3, 0, VMSG_ERESERVED },
		{ 0x3F, 0, VMSG_ERESERVED },
		{ 0x0, 0, 48 },
		{ 0x1, 0, 48 },
		{ 0x2, 0, 48 },
		{ 0x3E, 0, 48 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(TREQ, 0x0A, 1);

		m.u.vqueue.index = 2;
		m.u.vqueue.flags = cases[i].flags;
		m.u.vqueue.reserved = cases[i].reserved;
		m.u.vqueue.size = 64;
		ENC(&c, &m, 64, cases[i].want);
	}
}

/* 2025: the SET_VQUEUE word at payload 4 is reserved (0). */
static void test_proto_decode_2025_rejects_set_vqueue_word4(void **state)
{
	static const uint32_t bad[] = { 0x1, 0x2, 0x100, 0x80000000u };
	struct vmsg_codec c = codec(P25, 264, 0);
	uint8_t b[48];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk(b, TREQ, 0x0A, 1, 48);
		put32(b + 16, 64);
		put32(b + 12, bad[i]);
		DEC(&c, b, 48, VMSG_ERESERVED);
	}
}

/* 2025: the GET_VQUEUE response word at payload 12 is reserved (0). */
static void test_proto_decode_2025_rejects_get_vqueue_word12(void **state)
{
	static const struct {
		uint32_t size, word;
	} cases[] = { { 64, 1 }, { 0, 1 }, { 64, 0x100 }, { 64, 0x80000000u } };
	struct vmsg_codec c = codec(P25, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[48];

		mk(b, TRESP, 0x09, 1, 48);
		put32(b + 12, 256);
		put32(b + 16, cases[i].size);
		put32(b + 20, cases[i].word);
		DEC(&c, b, 48, VMSG_ERESERVED);
	}
}

/* A failing decode never writes its output, whatever the error. */
static void test_proto_decode_leaves_out_untouched_on_error(void **state)
{
	struct vmsg_codec c = codec(P26, 52, 0);
	uint8_t b[64];

	(void)state;
	mk(b, TREQ, 0x42, 1, 12);
	DEC(&c, b, 5, VMSG_ESHORT);
	set_size(b, 4);
	DEC(&c, b, 12, VMSG_EBADMSG);
	set_size(b, 60);
	DEC(&c, b, 60, VMSG_EMSGSIZE);
	set_size(b, 12);
	b[0] = TRESP;
	DEC(&c, b, 12, VMSG_EBADTYPE);
	mk(b, BREQ, 0x03, 7, 12);
	DEC(&c, b, 12, VMSG_EBADDEV);
	mk(b, TREQ, 0x0D, 1, 12);
	DEC(&c, b, 12, VMSG_ENOTSUP);
	mk(b, TRESP, 0x0C, 1, 32);
	put32(b + 12, 1);
	DEC(&c, b, 32, VMSG_ERESERVED);
	mk(b, TRESP, 0x05, 1, 20);
	put32(b + 16, 1);
	DEC(&c, b, 20, VMSG_EBADMSG);
}

/* ------------------------------------------------------------------ */
/* Encode refusals                                                    */
/* ------------------------------------------------------------------ */

static const uint8_t data64[64] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static void test_proto_encode_rejects_null_arguments(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m = msg(TREQ, 0x07, 1);
	uint8_t buf[16];

	(void)state;
	assert_int_equal(vmsg_proto_encode(NULL, &m, buf, sizeof(buf)), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_encode(&c, NULL, buf, sizeof(buf)), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_encode(&c, &m, NULL, sizeof(buf)), VMSG_EINVAL);
	assert_int_equal(vmsg_proto_encode(&c, &m, buf, sizeof(buf)), 8);
}

/* The message would exceed the codec maximum -> VMSG_EMSGSIZE, even when cap is small. */
static void test_proto_encode_rejects_over_max(void **state)
{
	struct vmsg_codec c = codec(P26, 52, 0);
	struct vmsg_msg m;
	uint8_t bitmap[39];

	(void)state;
	memset(bitmap, 0, sizeof(bitmap));

	m = msg(TREQ, 0x06, 1); /* SET_CONFIG request: 20 + length */
	m.u.config.data = data64;
	m.u.config.length = 33;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);
	ENC(&c, &m, 8, VMSG_EMSGSIZE);
	m.u.config.length = 32;
	ENC(&c, &m, 128, 52);

	m = msg(TRESP, 0x05, 1); /* GET_CONFIG response */
	m.u.config.data = data64;
	m.u.config.length = 33;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);

	m = msg(TRESP, 0x06, 1); /* SET_CONFIG response with echo ... */
	m.u.config.data = data64;
	m.u.config.length = 33;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);

	m = msg(TREQ, 0x04, 1); /* SET_DRIVER_FEATURES: 16 + 4 * N */
	m.u.features.blocks = data64;
	m.u.features.num_blocks = 10;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);
	m.u.features.num_blocks = 9;
	ENC(&c, &m, 128, 52);

	m = msg(TRESP, 0x03, 1);
	m.u.features.blocks = data64;
	m.u.features.num_blocks = 10;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);

	m = msg(TREQ, 0x40, 1); /* EVENT_CONFIG: 24 + D */
	m.u.event_config.data = data64;
	m.u.event_config.length = 29;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);
	m.u.event_config.length = 28;
	ENC(&c, &m, 128, 52);
	m.u.event_config.data = NULL; /* a range too large to carry: no data */
	m.u.event_config.length = 1000;
	ENC(&c, &m, 128, 24);

	m = msg(BREQ, 0x80, 0); /* opaque */
	m.u.opaque.data = data64;
	m.u.opaque.len = 45;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);
	m.u.opaque.len = 44;
	ENC(&c, &m, 128, 52);

	m = msg(BRESP, 0x02, 0); /* GET_DEVICES response: 14 + ceil(count / 8) */
	m.u.get_devices.bitmap = bitmap;
	m.u.get_devices.count = 305;
	ENC(&c, &m, 128, VMSG_EMSGSIZE);
	m.u.get_devices.count = 304;
	ENC(&c, &m, 128, 52);
}

/*
 * A SET_CONFIG response that does not echo is 20 bytes whatever its length
 * field says. Whatever the codec decides about a length larger than one
 * message could carry, decode and encode must agree on it, or a decoded
 * message cannot be re-encoded (forwarded).
 */
static void test_proto_set_config_resp_noecho_length_symmetric(void **state)
{
	static const uint32_t lengths[] = { 5, 32, 33, 244, 245, 0xFFFFFFFFu };
	struct vmsg_codec c = codec(P26, 52, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t b[20], out[64];
		struct vmsg_msg m;
		int dret, eret;

		mk(b, TRESP, 0x06, 1, 20);
		put32(b + 8, 7);
		put32(b + 16, lengths[i]);
		dret = vmsg_proto_decode(&c, b, 20, &m);
		m = msg(TRESP, 0x06, 1);
		m.token = 0x7E7F;
		m.u.config.generation = 7;
		m.u.config.length = lengths[i];
		eret = vmsg_proto_encode(&c, &m, out, sizeof(out));
		if ((dret == 0) != (eret == 20))
			fail_msg("length %u: decode %d %s but encode %d %s (a 20-byte message)",
				 (unsigned)lengths[i], dret, ename(dret), eret, ename(eret));
		if (eret == 20)
			assert_memory_equal(out, b, 20);
	}
}

/* It fits the maximum but not cap -> VMSG_ENOSPC, and nothing is written. */
static void test_proto_encode_rejects_small_cap(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	static const uint8_t bm[2] = { 0x05, 0x01 };
	struct vmsg_msg cases[8];
	int sizes[8];
	size_t n = 0;

	(void)state;
	cases[n] = msg(TRESP, 0x02, 1); /* GET_DEVICE_INFO response */
	cases[n].u.device_info.device_id = 1;
	sizes[n++] = 52;
	cases[n] = msg(TREQ, 0x06, 1); /* SET_CONFIG request, 5 bytes */
	cases[n].u.config.length = 5;
	cases[n].u.config.data = data64;
	sizes[n++] = 25;
	cases[n] = msg(TREQ, 0x40, 1); /* EVENT_CONFIG, 4 bytes */
	cases[n].u.event_config.length = 4;
	cases[n].u.event_config.data = data64;
	sizes[n++] = 28;
	cases[n] = msg(BRESP, 0x02, 0); /* GET_DEVICES response, count 9 */
	cases[n].u.get_devices.count = 9;
	cases[n].u.get_devices.bitmap = bm;
	sizes[n++] = 16;
	cases[n] = msg(BREQ, 0x81, 0); /* opaque, 3 bytes */
	cases[n].u.opaque.len = 3;
	cases[n].u.opaque.data = data64;
	sizes[n++] = 11;
	cases[n] = msg(TREQ, 0x09, 1); /* GET_VQUEUE request */
	sizes[n++] = 12;
	cases[n] = msg(TREQ, 0x07, 1); /* GET_DEVICE_STATUS request: header only */
	sizes[n++] = 8;
	cases[n] = msg(TRESP, 0x09, 1); /* GET_VQUEUE response */
	sizes[n++] = 48;

	for (size_t i = 0; i < n; i++) {
		for (int cap = 0; cap < sizes[i]; cap++)
			ENC(&c, &cases[i], (size_t)cap, VMSG_ENOSPC);
		ENC(&c, &cases[i], (size_t)sizes[i], sizes[i]);
	}
}

/* A view that must carry data is NULL -> VMSG_EINVAL. */
static void test_proto_encode_rejects_null_views(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(TREQ, 0x04, 1); /* SET_DRIVER_FEATURES */
	m.u.features.num_blocks = 2;
	ENC(&c, &m, 64, VMSG_EINVAL);
	m = msg(TRESP, 0x03, 1); /* GET_DEVICE_FEATURES response */
	m.u.features.num_blocks = 1;
	ENC(&c, &m, 64, VMSG_EINVAL);
	m = msg(TRESP, 0x05, 1); /* GET_CONFIG response */
	m.u.config.length = 4;
	ENC(&c, &m, 64, VMSG_EINVAL);
	m = msg(TREQ, 0x06, 1); /* SET_CONFIG request */
	m.u.config.length = 4;
	ENC(&c, &m, 64, VMSG_EINVAL);
	m = msg(BRESP, 0x02, 0); /* GET_DEVICES response */
	m.u.get_devices.count = 8;
	ENC(&c, &m, 64, VMSG_EINVAL);
	m = msg(TREQ, 0xC1, 1); /* opaque */
	m.u.opaque.len = 4;
	ENC(&c, &m, 64, VMSG_EINVAL);
}

/* NULL is fine where the data is optional or empty. */
static void test_proto_encode_accepts_null_optional_views(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(TRESP, 0x06, 1); /* SET_CONFIG response, applied, not echoed */
	m.u.config.length = 5;
	ENC(&c, &m, 64, 20);
	m = msg(TREQ, 0x40, 1); /* EVENT_CONFIG announcing a range without data */
	m.u.event_config.length = 16;
	ENC(&c, &m, 64, 24);
	m = msg(TRESP, 0x05, 1); /* GET_CONFIG response, length 0 */
	ENC(&c, &m, 64, 20);
	m = msg(TREQ, 0x05, 1); /* GET_CONFIG request */
	m.u.config.length = 4;
	ENC(&c, &m, 64, 16);
	m = msg(TREQ, 0x03, 1); /* GET_DEVICE_FEATURES request */
	m.u.features.num_blocks = 2;
	ENC(&c, &m, 64, 16);
	m = msg(BRESP, 0x02, 0); /* GET_DEVICES response, count 0 */
	ENC(&c, &m, 64, 14);
	m = msg(BREQ, 0x80, 0); /* opaque, empty */
	ENC(&c, &m, 64, 8);
}

/* EVENT_CONFIG data without a length -> VMSG_EBADMSG (proto.h). */
static void test_proto_encode_rejects_event_config_data_without_length(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m = msg(TREQ, 0x40, 1);

	(void)state;
	m.u.event_config.data = data64;
	m.u.event_config.length = 0;
	ENC(&c, &m, 64, VMSG_EBADMSG);
}

/* GET_DEVICES bitmap bits past count: VMSG_ERESERVED, the code decode gives
 * for those bytes (BUS-51; proto.h). */
static void test_proto_encode_rejects_get_devices_bits_past_count(void **state)
{
	static const struct {
		uint16_t count;
		uint8_t bm[2];
		int want;
	} cases[] = {
		{ 13, { 0x00, 0x20 }, VMSG_ERESERVED },
		{ 1, { 0x02, 0 }, VMSG_ERESERVED },
		{ 9, { 0x00, 0x80 }, VMSG_ERESERVED },
		{ 13, { 0xFF, 0x1F }, 16 },
		{ 8, { 0xFF, 0 }, 15 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(BRESP, 0x02, 0);

		m.u.get_devices.offset = 0x10;
		m.u.get_devices.count = cases[i].count;
		m.u.get_devices.bitmap = cases[i].bm;
		ENC(&c, &m, 64, cases[i].want);
	}
}

/* next_offset not above offset -> VMSG_EBADMSG (proto.h); the window past 65536 too. */
static void test_proto_encode_rejects_bad_get_devices_window(void **state)
{
	static const uint8_t bm[2] = { 0, 0 };
	static const struct {
		uint16_t offset, next, count;
		int want;
	} cases[] = {
		{ 0x20, 0x20, 8, VMSG_EBADMSG },
		{ 0x20, 0x10, 8, VMSG_EBADMSG },
		{ 0x20, 0, 8, 15 },
		{ 0x20, 0x21, 8, 15 },
		{ 0xFFF8, 0, 9, VMSG_EBADMSG },
		{ 0xFFF8, 0, 8, 15 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(BRESP, 0x02, 0);

		m.u.get_devices.offset = cases[i].offset;
		m.u.get_devices.next_offset = cases[i].next;
		m.u.get_devices.count = cases[i].count;
		m.u.get_devices.bitmap = bm;
		ENC(&c, &m, 64, cases[i].want);
	}
}

static void test_proto_encode_rejects_response_bit_on_event(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(TRESP, 0x42, 1);
	ENC(&c, &m, 64, VMSG_EBADTYPE);
	m = msg(TRESP, 0x41, 1);
	ENC(&c, &m, 64, VMSG_EBADTYPE);
	m = msg(BRESP, 0x40, 0);
	m.u.event_device.state = 1;
	ENC(&c, &m, 64, VMSG_EBADTYPE);
	m = msg(TRESP, 0xC1, 1);
	ENC(&c, &m, 64, VMSG_EBADTYPE);
}

static void test_proto_encode_rejects_dev_num_on_bus_message(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(BREQ, 0x03, 1);
	ENC(&c, &m, 64, VMSG_EBADDEV);
	m = msg(BRESP, 0x03, 0x8000);
	ENC(&c, &m, 64, VMSG_EBADDEV);
	m = msg(BREQ, 0x80, 1);
	ENC(&c, &m, 64, VMSG_EBADDEV);
}

static void test_proto_encode_rejects_unknown_standard_id(void **state)
{
	static const struct {
		uint8_t type, id;
	} cases[] = {
		{ TREQ, 0x00 }, { TREQ, 0x01 }, { TREQ, 0x0D }, { TREQ, 0x3F },	 { TRESP, 0x0D },
		{ TREQ, 0x43 }, { BREQ, 0x00 }, { BREQ, 0x04 }, { BRESP, 0x04 }, { BREQ, 0x41 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(cases[i].type, cases[i].id, 0);

		ENC(&c, &m, 64, VMSG_ENOTSUP);
	}
}

static void test_proto_encode_rejects_get_vqueue_flags_reserved(void **state)
{
	static const uint32_t bad[] = { 0x2, 0x3, 0x100, 0x80000000u };
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmsg_msg m = msg(TRESP, 0x09, 1);

		m.u.vqueue.max_size = 256;
		m.u.vqueue.size = 128;
		m.u.vqueue.flags = bad[i];
		m.u.vqueue.desc_addr = 0x1000;
		m.u.vqueue.driver_addr = 0x2000;
		m.u.vqueue.device_addr = 0x3000;
		ENC(&c, &m, 64, VMSG_ERESERVED);
	}
}

static void test_proto_encode_rejects_event_device_reserved_state(void **state)
{
	static const struct {
		uint16_t st;
		int want;
	} cases[] = {
		{ 0, VMSG_ERESERVED },
		{ 3, VMSG_ERESERVED },
		{ 0x7FFF, VMSG_ERESERVED },
		{ 1, 12 },
		{ 2, 12 },
		{ 0x8000, 12 },
		{ 0xFFFF, 12 },
	};
	struct vmsg_codec c = codec(P26, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(BREQ, 0x40, 0);

		m.u.event_device.dev_num = 5;
		m.u.event_device.state = cases[i].st;
		ENC(&c, &m, 64, cases[i].want);
	}
}

/* num_blocks 0: what decode refuses as malformed, encode does not produce. */
static void test_proto_encode_rejects_zero_feature_blocks(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(TREQ, 0x03, 1);
	ENC(&c, &m, 64, VMSG_EBADMSG);
	m = msg(TRESP, 0x03, 1);
	m.u.features.blocks = data64;
	ENC(&c, &m, 64, VMSG_EBADMSG);
	m = msg(TREQ, 0x04, 1);
	m.u.features.blocks = data64;
	ENC(&c, &m, 64, VMSG_EBADMSG);
}

/* Requests whose response cannot fit: what decode refuses, encode does not produce. */
static void test_proto_encode_rejects_requests_over_max(void **state)
{
	struct vmsg_codec c = codec(P26, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = msg(TREQ, 0x03, 1);
	m.u.features.num_blocks = 62;
	ENC(&c, &m, 64, 16);
	m.u.features.num_blocks = 63;
	ENC(&c, &m, 64, VMSG_EMSGSIZE);
	m = msg(TREQ, 0x05, 1);
	m.u.config.length = 244;
	ENC(&c, &m, 64, 16);
	m.u.config.length = 245;
	ENC(&c, &m, 64, VMSG_EMSGSIZE);
}

/* ------------------------------------------------------------------ */
/* 2025 profile: values its layout cannot carry                       */
/* ------------------------------------------------------------------ */

static struct vmsg_msg devinfo_2025(void)
{
	struct vmsg_msg m = msg(TRESP, 0x02, 1);

	m.u.device_info.device_id = 1;
	m.u.device_info.num_feature_bits = 291;
	m.u.device_info.num_feature_blocks = 10;
	m.u.device_info.max_virtqueues = 0x10000;
	return m;
}

static void test_proto_encode_2025_rejects_device_info_values(void **state)
{
	struct vmsg_codec c = codec(P25, 264, 0);
	struct vmsg_msg m;

	(void)state;
	m = devinfo_2025();
	ENC(&c, &m, 64, 32);
	m.u.device_info.uuid[15] = 1; /* no UUID in 2025 */
	ENC(&c, &m, 64, VMSG_ENOTSUP);
	m = devinfo_2025();
	m.u.device_info.uuid[0] = 0x40;
	ENC(&c, &m, 64, VMSG_ENOTSUP);

	m = devinfo_2025(); /* le16 admin fields; max_virtqueues 65536 */
	m.u.device_info.admin_vq_start = 0xFFFF;
	m.u.device_info.admin_vq_count = 1;
	ENC(&c, &m, 64, 32);
	m.u.device_info.admin_vq_start = 0;
	m.u.device_info.admin_vq_count = 0xFFFF;
	ENC(&c, &m, 64, 32);
	m.u.device_info.admin_vq_count = 0x10000; /* valid in 2026 (DEV-44), no le16 */
	ENC(&c, &m, 64, VMSG_ERANGE);
	/*
	 * A start above 0xFFFF never comes with a valid admin range (DEV-41/43/44:
	 * start + count <= max_virtqueues <= 65536, and count 0 means start 0), so
	 * either refusal is right here; it must not encode.
	 */
	m = devinfo_2025();
	m.u.device_info.admin_vq_start = 0x10000;
	{
		uint8_t out[64];
		int ret = vmsg_proto_encode(&c, &m, out, sizeof(out));

		assert_true(ret == VMSG_ERANGE || ret == VMSG_EBADMSG);
	}

	m = devinfo_2025(); /* blocks must agree with ceil(bits / 32) */
	m.u.device_info.num_feature_blocks = 9;
	ENC(&c, &m, 64, VMSG_EBADMSG);
	m.u.device_info.num_feature_blocks = 11;
	ENC(&c, &m, 64, VMSG_EBADMSG);
	m.u.device_info.num_feature_bits = 0;
	m.u.device_info.num_feature_blocks = 0;
	ENC(&c, &m, 64, 32);
}

static void test_proto_encode_2025_rejects_shm_above_32_bits(void **state)
{
	struct vmsg_codec c = codec(P25, 264, 0);
	struct vmsg_msg m = msg(TRESP, 0x0C, 1);

	(void)state;
	m.u.shm.length = 0xFFFFFFFFu;
	m.u.shm.address = 0xFFFFFFFFu;
	ENC(&c, &m, 64, 20);
	m.u.shm.length = 0x100000000ull;
	ENC(&c, &m, 64, VMSG_ERANGE);
	m.u.shm.length = 1;
	m.u.shm.address = 0x100000000ull;
	ENC(&c, &m, 64, VMSG_ERANGE);
}

static void test_proto_encode_2025_rejects_set_vqueue_flags(void **state)
{
	static const struct {
		uint32_t flags;
		int want;
	} cases[] = {
		{ VMSG_SETVQ_OP_ENABLE, 48 },
		{ VMSG_SETVQ_OP_KEEP_DISABLED, VMSG_ENOTSUP },
		{ VMSG_SETVQ_OP_KEEP_STATE, VMSG_ENOTSUP },
		{ VMSG_SETVQ_OP_ENABLE | VMSG_SETVQ_F_SIZE_IGNORE, VMSG_ENOTSUP },
		{ 0x3C, VMSG_ENOTSUP },
	};
	struct vmsg_codec c = codec(P25, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(TREQ, 0x0A, 1);

		m.u.vqueue.size = 64;
		m.u.vqueue.flags = cases[i].flags;
		ENC(&c, &m, 64, cases[i].want);
	}
}

/* A 2025 queue is enabled exactly when configured: other states cannot be said. */
static void test_proto_encode_2025_rejects_get_vqueue_state_mismatch(void **state)
{
	static const struct {
		uint32_t size, flags;
		int want;
	} cases[] = {
		{ 64, VMSG_GETVQ_F_ENABLED, 48 },
		{ 0, 0, 48 },
		{ 64, 0, VMSG_ENOTSUP },
		{ 0, VMSG_GETVQ_F_ENABLED, VMSG_ENOTSUP },
	};
	struct vmsg_codec c = codec(P25, 264, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmsg_msg m = msg(TRESP, 0x09, 1);

		m.u.vqueue.max_size = 256;
		m.u.vqueue.size = cases[i].size;
		m.u.vqueue.flags = cases[i].flags;
		if (cases[i].size) {
			m.u.vqueue.desc_addr = 0x1000;
			m.u.vqueue.driver_addr = 0x2000;
			m.u.vqueue.device_addr = 0x3000;
		}
		ENC(&c, &m, 64, cases[i].want);
	}
}

/* ------------------------------------------------------------------ */
/* vmsg_codec_init                                                    */
/* ------------------------------------------------------------------ */

static void test_proto_codec_init_checks_range(void **state)
{
	static const struct {
		enum vmsg_profile prof;
		uint32_t max;
		int want;
	} cases[] = {
		{ P26, 0, VMSG_EINVAL },
		{ P26, 51, VMSG_EINVAL },
		{ P26, 52, 0 },
		{ P26, 264, 0 },
		{ P26, 65535, 0 },
		{ P26, 65536, VMSG_EINVAL },
		{ P26, 0xFFFFFFFFu, VMSG_EINVAL },
		{ P26, 0x10034, VMSG_EINVAL },
		{ P25, 47, VMSG_EINVAL },
		{ P25, 48, 0 },
		{ P25, 65535, 0 },
		{ P25, 65536, VMSG_EINVAL },
	};
	struct vmsg_codec c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].want;
		int ret;

#if VMSG_CONFIG_NO_PROFILE_2025
		if (cases[i].prof == P25) {
			/* compiled out: refused whatever the size */
			ret = vmsg_codec_init(&c, cases[i].prof, cases[i].max, 0);
			assert_true(ret == VMSG_ENOTSUP || (want != 0 && ret == VMSG_EINVAL));
			continue;
		}
#endif
		ret = vmsg_codec_init(&c, cases[i].prof, cases[i].max, 0);
		if (ret != want)
			fail_msg("profile %d max %u: %d, want %d", (int)cases[i].prof,
				 (unsigned)cases[i].max, ret, want);
		if (ret == 0) {
			assert_int_equal(c.max_msg_size, cases[i].max);
			assert_int_equal(c.profile, cases[i].prof);
			assert_int_equal(c.flags, 0);
		}
	}
	assert_int_equal(vmsg_codec_init(NULL, P26, 264, 0), VMSG_EINVAL);
	assert_int_equal(vmsg_codec_init(&c, (enum vmsg_profile)2, 264, 0), VMSG_EINVAL);
	assert_int_equal(vmsg_codec_init(&c, P26, 264, 0x2), VMSG_EINVAL);
	assert_int_equal(vmsg_codec_init(&c, P26, 264, 0x80000000u), VMSG_EINVAL);
	assert_int_equal(vmsg_codec_init(&c, P26, 264, VMSG_CODEC_F_EXACT_SIZE), 0);
	assert_int_equal(c.flags, VMSG_CODEC_F_EXACT_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_decode_rejects_len_below_header),
		cmocka_unit_test(test_proto_decode_rejects_null_arguments),
		cmocka_unit_test(test_proto_decode_rejects_msg_size_below_header),
		cmocka_unit_test(test_proto_decode_rejects_msg_size_above_max),
		cmocka_unit_test(test_proto_decode_rejects_msg_size_above_len),
		cmocka_unit_test(test_proto_decode_rejects_response_bit_on_event),
		cmocka_unit_test(test_proto_decode_rejects_dev_num_on_bus_message),
		cmocka_unit_test(test_proto_decode_accepts_any_transport_dev_num),
		cmocka_unit_test(test_proto_decode_rejects_unknown_standard_id),
		cmocka_unit_test(test_proto_decode_ignores_reserved_type_bits),
		cmocka_unit_test(test_proto_encode_rejects_reserved_type_bits),
		cmocka_unit_test(test_proto_decode_rejects_below_fixed_size),
		cmocka_unit_test(test_proto_decode_rejects_2025_layouts_in_2026),
		cmocka_unit_test(test_proto_decode_rejects_feature_blocks_past_msg_size),
		cmocka_unit_test(test_proto_decode_accepts_feature_blocks_with_trailing),
		cmocka_unit_test(test_proto_decode_rejects_zero_feature_blocks),
		cmocka_unit_test(test_proto_decode_rejects_feature_request_over_max),
		cmocka_unit_test(test_proto_decode_rejects_config_length_past_msg_size),
		cmocka_unit_test(test_proto_decode_accepts_config_with_trailing),
		cmocka_unit_test(test_proto_decode_rejects_get_config_request_over_max),
		cmocka_unit_test(test_proto_decode_rejects_config_range_past_4g),
		cmocka_unit_test(test_proto_decode_rejects_set_config_partial_echo),
		cmocka_unit_test(test_proto_decode_rejects_event_config_data_mismatch),
		cmocka_unit_test(test_proto_decode_rejects_event_trailing),
		cmocka_unit_test(test_proto_decode_accepts_request_response_trailing),
		cmocka_unit_test(test_proto_decode_ignores_framing_past_msg_size),
		cmocka_unit_test(test_proto_decode_rejects_get_vqueue_flags_reserved),
		cmocka_unit_test(test_proto_decode_rejects_get_shm_reserved),
		cmocka_unit_test(test_proto_decode_rejects_get_devices_unused_bitmap_bits),
		cmocka_unit_test(test_proto_decode_rejects_get_devices_next_offset_not_above),
		cmocka_unit_test(test_proto_decode_rejects_get_devices_window_past_65536),
		cmocka_unit_test(test_proto_decode_rejects_event_device_reserved_state),
		cmocka_unit_test(test_proto_decode_keeps_invalid_set_vqueue_raw),
		cmocka_unit_test(test_proto_encode_rejects_set_vqueue_reserved),
		cmocka_unit_test(test_proto_decode_2025_rejects_set_vqueue_word4),
		cmocka_unit_test(test_proto_decode_2025_rejects_get_vqueue_word12),
		cmocka_unit_test(test_proto_decode_leaves_out_untouched_on_error),
		cmocka_unit_test(test_proto_encode_rejects_null_arguments),
		cmocka_unit_test(test_proto_encode_rejects_over_max),
		cmocka_unit_test(test_proto_set_config_resp_noecho_length_symmetric),
		cmocka_unit_test(test_proto_encode_rejects_small_cap),
		cmocka_unit_test(test_proto_encode_rejects_null_views),
		cmocka_unit_test(test_proto_encode_accepts_null_optional_views),
		cmocka_unit_test(test_proto_encode_rejects_event_config_data_without_length),
		cmocka_unit_test(test_proto_encode_rejects_get_devices_bits_past_count),
		cmocka_unit_test(test_proto_encode_rejects_bad_get_devices_window),
		cmocka_unit_test(test_proto_encode_rejects_response_bit_on_event),
		cmocka_unit_test(test_proto_encode_rejects_dev_num_on_bus_message),
		cmocka_unit_test(test_proto_encode_rejects_unknown_standard_id),
		cmocka_unit_test(test_proto_encode_rejects_get_vqueue_flags_reserved),
		cmocka_unit_test(test_proto_encode_rejects_event_device_reserved_state),
		cmocka_unit_test(test_proto_encode_rejects_zero_feature_blocks),
		cmocka_unit_test(test_proto_encode_rejects_requests_over_max),
		cmocka_unit_test(test_proto_encode_2025_rejects_device_info_values),
		cmocka_unit_test(test_proto_encode_2025_rejects_shm_above_32_bits),
		cmocka_unit_test(test_proto_encode_2025_rejects_set_vqueue_flags),
		cmocka_unit_test(test_proto_encode_2025_rejects_get_vqueue_state_mismatch),
		cmocka_unit_test(test_proto_codec_init_checks_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
