/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Everything of the proto module besides golden vectors and rejections:
 * capacity helpers (wire note 1.7 table), error strings, version, the
 * formatter and name table, the endian helpers, and a round-trip property
 * test that doubles as a cheap fuzz: random, mostly plausible byte strings
 * are decoded; whatever decodes must re-encode to the same bytes.
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_msg/config.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/proto.h"
#include "virtio_msg/version.h"

/* The codec's tables and its general path (tests/CMakeLists.txt puts src/
 * on the include path). */
#include "proto/proto_internal.h"

/* One-role builds: the codec calls below go through role wrappers. */
#include "proto_role.h"

/* ------------------------------------------------------------------ */
/* Capacity helpers                                                   */
/* ------------------------------------------------------------------ */

/* The table of wire note 1.7, every column. */
static void test_proto_capacity_matches_wire_table(void **state)
{
	static const struct {
		uint32_t m, config, event, blocks, slots;
	} rows[] = {
		{ 52, 32, 28, 9, 304 },	    { 64, 44, 40, 12, 400 },	 { 104, 84, 80, 22, 720 },
		{ 128, 108, 104, 28, 912 }, { 264, 244, 240, 62, 2000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(vmsg_cap_config_bytes(rows[i].m), rows[i].config);
		assert_int_equal(vmsg_cap_event_config_bytes(rows[i].m), rows[i].event);
		assert_int_equal(vmsg_cap_feature_blocks(rows[i].m), rows[i].blocks);
		assert_int_equal(vmsg_cap_get_devices_slots(rows[i].m), rows[i].slots);
	}
}

/* Below the fixed part nothing fits: 0, never a wrapped-around huge value. */
static void test_proto_capacity_below_fixed_part_is_zero(void **state)
{
	(void)state;
	assert_int_equal(vmsg_cap_config_bytes(0), 0);
	assert_int_equal(vmsg_cap_config_bytes(8), 0);
	assert_int_equal(vmsg_cap_config_bytes(19), 0);
	assert_int_equal(vmsg_cap_event_config_bytes(0), 0);
	assert_int_equal(vmsg_cap_event_config_bytes(23), 0);
	assert_int_equal(vmsg_cap_feature_blocks(0), 0);
	assert_int_equal(vmsg_cap_feature_blocks(15), 0);
	assert_int_equal(vmsg_cap_get_devices_slots(0), 0);
	assert_int_equal(vmsg_cap_get_devices_slots(13), 0);
}

/* At the largest maximum, limited by the wire fields themselves. */
static void test_proto_capacity_at_65535(void **state)
{
	(void)state;
	assert_int_equal(vmsg_cap_config_bytes(65535), 65515);
	assert_int_equal(vmsg_cap_event_config_bytes(65535), 65511);
	assert_int_equal(vmsg_cap_feature_blocks(65535), 16379);
	/* count is a le16: one response describes at most 65535 slots */
	assert_int_equal(vmsg_cap_get_devices_slots(65535), 65535);
}

/* ------------------------------------------------------------------ */
/* Error strings and version                                          */
/* ------------------------------------------------------------------ */

static void test_proto_strerror_every_code(void **state)
{
	static const char *const names[] = {
		"VMSG_OK",	  "VMSG_EINVAL",    "VMSG_EAGAIN",  "VMSG_ENOSPC",
		"VMSG_EMSGSIZE",  "VMSG_ESHORT",    "VMSG_EBADMSG", "VMSG_EBADTYPE",
		"VMSG_EBADDEV",	  "VMSG_ERESERVED", "VMSG_ENOTSUP", "VMSG_ERANGE",
		"VMSG_EPROTO",	  "VMSG_ETIMEDOUT", "VMSG_ENODEV",  "VMSG_ECONNRESET",
		"VMSG_EBUSY",	  "VMSG_ESTATE",    "VMSG_EIO",	    "VMSG_ENOENT",
		"VMSG_ECANCELED", "VMSG_ENOMEM",
	};
	const int n = -VMSG_ERR_MIN + 1;

	(void)state;
	assert_int_equal(sizeof(names) / sizeof(names[0]), (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *s = vmsg_strerror(-i);
		const char *nm = vmsg_strerror_name(-i);

		assert_non_null(s);
		assert_non_null(nm);
		assert_true(s[0] != '\0');
#if !VMSG_CONFIG_NO_STRERROR
		assert_string_equal(nm, names[i]);
		assert_string_not_equal(s, "unknown error");
		for (int j = 0; j < i; j++) {
			assert_string_not_equal(s, vmsg_strerror(-j));
			assert_string_not_equal(nm, vmsg_strerror_name(-j));
		}
#endif
	}
}

static void test_proto_strerror_unknown_code(void **state)
{
	static const int unknown[] = { 1, 77, VMSG_ERR_MIN - 1, -1000, INT_MIN, INT_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *s = vmsg_strerror(unknown[i]);
		const char *nm = vmsg_strerror_name(unknown[i]);

		assert_non_null(s);
		assert_non_null(nm);
#if !VMSG_CONFIG_NO_STRERROR
		assert_string_equal(s, "unknown error");
#endif
		assert_string_equal(nm, "VMSG_E?"); /* documented for unknown values */
	}
}

static void test_proto_version(void **state)
{
	char expect[32];

	(void)state;
	assert_int_equal(vmsg_version(), VMSG_VERSION_NUMBER);
	assert_int_equal(VMSG_VERSION_NUMBER, (VMSG_VERSION_MAJOR << 16) |
						      (VMSG_VERSION_MINOR << 8) |
						      VMSG_VERSION_PATCH);
	assert_non_null(vmsg_version_string());
	assert_string_equal(vmsg_version_string(), VMSG_VERSION_STRING);
	snprintf(expect, sizeof(expect), "%d.%d.%d", VMSG_VERSION_MAJOR, VMSG_VERSION_MINOR,
		 VMSG_VERSION_PATCH);
	assert_string_equal(VMSG_VERSION_STRING, expect);
	assert_true(VMSG_CHECK_VERSION(VMSG_VERSION_MAJOR, VMSG_VERSION_MINOR));
	assert_false(VMSG_CHECK_VERSION(VMSG_VERSION_MAJOR + 1, 0));
}

/* ------------------------------------------------------------------ */
/* Formatter and names                                                */
/* ------------------------------------------------------------------ */

#if !VMSG_CONFIG_NO_FORMAT
static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] &&
		       (hay[i] == needle[i] ||
			(hay[i] >= 'A' && hay[i] <= 'Z' && hay[i] + 32 == needle[i]) ||
			(hay[i] >= 'a' && hay[i] <= 'z' && hay[i] - 32 == needle[i])))
			i++;
		if (i == n)
			return true;
	}
	return false;
}

/* The value appears in decimal or in hex (with or without 0x, any case). */
static bool contains_value(const char *s, uint32_t v)
{
	char dec[16], hex[16];

	snprintf(dec, sizeof(dec), "%lu", (unsigned long)v);
	snprintf(hex, sizeof(hex), "%lx", (unsigned long)v);
	return strstr(s, dec) != NULL || contains_ci(s, hex);
}
#endif

static struct vmsg_msg fmt_msg(uint8_t type, uint8_t id)
{
	struct vmsg_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.msg_id = id;
	m.dev_num = 0x0A0B;
	m.token = 0xC0DE;
	return m;
}

static void check_format(const struct vmsg_msg *m, const char *name, uint32_t key)
{
	char full[512], buf[520];
	int len = vmsg_proto_format(m, full, sizeof(full));

#if VMSG_CONFIG_NO_FORMAT
	assert_true(len >= 0);
	assert_string_equal(full, "");
	(void)name;
	(void)key;
	(void)buf;
	return;
#else
	assert_true(len > 0);
	assert_true((size_t)len < sizeof(full));
	assert_int_equal(strlen(full), (size_t)len);
	assert_null(strchr(full, '\n'));
	if (strstr(full, name) == NULL)
		fail_msg("\"%s\" does not name %s", full, name);
	if (!contains_value(full, key))
		fail_msg("\"%s\" does not show 0x%lx", full, (unsigned long)key);

	/* truncation: NUL-terminated prefix, same return value, nothing past cap */
	for (size_t cap = 1; cap <= (size_t)len + 2; cap++) {
		memset(buf, 0x7F, sizeof(buf));
		assert_int_equal(vmsg_proto_format(m, buf, cap), len);
		if (cap <= (size_t)len) {
			assert_int_equal(buf[cap - 1], '\0');
			assert_memory_equal(buf, full, cap - 1);
		} else {
			assert_string_equal(buf, full);
		}
		assert_int_equal((unsigned char)buf[cap], 0x7F);
	}
	/* cap 0 writes nothing */
	memset(buf, 0x7F, sizeof(buf));
	assert_int_equal(vmsg_proto_format(m, buf, 0), len);
	assert_int_equal((unsigned char)buf[0], 0x7F);
#endif
}

static void test_proto_format_messages(void **state)
{
	static const uint8_t cfg[4] = { 1, 2, 3, 4 };
	struct vmsg_msg m;

	(void)state;
	m = fmt_msg(0x00, 0x05);
	m.u.config.offset = 0x11223344u;
	m.u.config.length = 8;
	check_format(&m, "GET_CONFIG", 0x11223344u);

	m = fmt_msg(0x01, 0x05);
	m.u.config.generation = 0x55667788u;
	m.u.config.offset = 0x20;
	m.u.config.length = 4;
	m.u.config.data = cfg;
	check_format(&m, "GET_CONFIG", 0x55667788u);

	m = fmt_msg(0x02, 0x03);
	m.dev_num = 0;
	m.u.ping.data = 0xCAFEF00Du;
	check_format(&m, "PING", 0xCAFEF00Du);

	m = fmt_msg(0x00, 0x42);
	m.u.event_used.vq_index = 0x91929394u;
	check_format(&m, "EVENT_USED", 0x91929394u);

	m = fmt_msg(0x01, 0x02);
	m.u.device_info.device_id = 0x11223344u;
	check_format(&m, "GET_DEVICE_INFO", 0x11223344u);

	m = fmt_msg(0x01, 0x09);
	m.u.vqueue.index = 0x01020304u;
	check_format(&m, "GET_VQUEUE", 0x01020304u);
}

static void test_proto_format_rejects_null(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(vmsg_proto_format(NULL, buf, sizeof(buf)), VMSG_EINVAL);
}

static void test_proto_msg_names(void **state)
{
	static const struct {
		uint8_t id;
		const char *name;
	} transport[] = {
		{ 0x02, "GET_DEVICE_INFO" },   { 0x03, "GET_DEVICE_FEATURES" },
		{ 0x04, "SET_DRIVER_FEATURES" }, { 0x05, "GET_CONFIG" },
		{ 0x06, "SET_CONFIG" },        { 0x07, "GET_DEVICE_STATUS" },
		{ 0x08, "SET_DEVICE_STATUS" }, { 0x09, "GET_VQUEUE" },
		{ 0x0A, "SET_VQUEUE" },        { 0x0B, "RESET_VQUEUE" },
		{ 0x0C, "GET_SHM" },           { 0x40, "EVENT_CONFIG" },
		{ 0x41, "EVENT_AVAIL" },       { 0x42, "EVENT_USED" },
	}, bus[] = {
		{ 0x02, "GET_DEVICES" }, { 0x03, "PING" }, { 0x40, "EVENT_DEVICE" },
	};

	(void)state;
#if VMSG_CONFIG_NO_FORMAT
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x05), "?");
	skip();
#endif
	for (size_t i = 0; i < sizeof(transport) / sizeof(transport[0]); i++) {
		assert_string_equal(vmsg_proto_msg_name(0x00, transport[i].id), transport[i].name);
		if (!(transport[i].id & 0x40))
			assert_non_null(strstr(vmsg_proto_msg_name(0x01, transport[i].id),
					       transport[i].name));
	}
	for (size_t i = 0; i < sizeof(bus) / sizeof(bus[0]); i++) {
		assert_string_equal(vmsg_proto_msg_name(0x02, bus[i].id), bus[i].name);
		if (!(bus[i].id & 0x40))
			assert_non_null(strstr(vmsg_proto_msg_name(0x03, bus[i].id), bus[i].name));
	}
	/* the namespace comes from type bit 1 */
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x03), "GET_DEVICE_FEATURES");
	assert_string_equal(vmsg_proto_msg_name(0x02, 0x05), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x00), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x01), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x0D), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x43), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x02, 0x04), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x02, 0x41), "unknown");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0x80), "impl-defined");
	assert_string_equal(vmsg_proto_msg_name(0x00, 0xC1), "impl-defined");
	assert_string_equal(vmsg_proto_msg_name(0x02, 0x80), "impl-defined");
	assert_string_equal(vmsg_proto_msg_name(0x03, 0xFF), "impl-defined");

	/* Every ID in both namespaces: the table is indexed, not searched, so
	 * check that no other ID lands on a row (the 17 above and nothing else). */
	for (unsigned ns = 0; ns < 2; ns++) {
		for (unsigned id = 0; id < 0x80; id++) {
			const char *want = "unknown";
			const char *got = vmsg_proto_msg_name((uint8_t)(ns ? 0x02 : 0x00), (uint8_t)id);

			if (ns == 0) {
				for (size_t i = 0; i < sizeof(transport) / sizeof(transport[0]); i++)
					if (transport[i].id == id)
						want = transport[i].name;
			} else {
				for (size_t i = 0; i < sizeof(bus) / sizeof(bus[0]); i++)
					if (bus[i].id == id)
						want = bus[i].name;
			}
			assert_string_equal(got, want);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Endian helpers                                                     */
/* ------------------------------------------------------------------ */

static void test_proto_endian_put_writes_little_endian(void **state)
{
	static const uint8_t want16[] = { 0xEE, 0x34, 0x12, 0xEE };
	static const uint8_t want32[] = { 0xEE, 0x44, 0x33, 0x22, 0x11, 0xEE };
	static const uint8_t want64[] = {
		0xEE, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0xEE
	};
	uint8_t b[16];

	(void)state;
	memset(b, 0xEE, sizeof(b));
	vmsg_put_le16(b + 1, 0x1234);
	assert_memory_equal(b, want16, sizeof(want16));
	memset(b, 0xEE, sizeof(b));
	vmsg_put_le32(b + 1, 0x11223344u);
	assert_memory_equal(b, want32, sizeof(want32));
	memset(b, 0xEE, sizeof(b));
	vmsg_put_le64(b + 1, 0x0102030405060708ull);
	assert_memory_equal(b, want64, sizeof(want64));
}

static void test_proto_endian_get_reads_unaligned(void **state)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
				     0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0xFF };

	(void)state;
	assert_int_equal(vmsg_get_le16(b + 1), 0x0201);
	assert_int_equal(vmsg_get_le16(b + 15), 0xFF0F);
	assert_int_equal(vmsg_get_le32(b + 1), 0x04030201u);
	assert_int_equal(vmsg_get_le32(b + 3), 0x06050403u);
	assert_int_equal(vmsg_get_le32(b + 13), 0xFF0F0E0Du);
	assert_int_equal(vmsg_get_le64(b + 1), 0x0807060504030201ull);
	assert_int_equal(vmsg_get_le64(b + 5), 0x0C0B0A0908070605ull);
	assert_int_equal(vmsg_get_le64(b + 9), 0xFF0F0E0D0C0B0A09ull);
}

static void test_proto_endian_round_trip(void **state)
{
	static const uint64_t vals[] = { 0,
					 1,
					 0x80,
					 0xFF,
					 0x8000,
					 0xFFFF,
					 0x80000000u,
					 0xFFFFFFFFu,
					 0x8000000000000000ull,
					 ~0ull,
					 0x0123456789ABCDEFull };
	uint8_t b[16];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (size_t off = 0; off < 8; off++) {
			vmsg_put_le16(b + off, (uint16_t)vals[i]);
			assert_int_equal(vmsg_get_le16(b + off), (uint16_t)vals[i]);
			vmsg_put_le32(b + off, (uint32_t)vals[i]);
			assert_int_equal(vmsg_get_le32(b + off), (uint32_t)vals[i]);
			vmsg_put_le64(b + off, vals[i]);
			assert_int_equal(vmsg_get_le64(b + off), vals[i]);
			assert_int_equal(b[off], (uint8_t)vals[i]); /* LSB first */
		}
	}
}

/* ------------------------------------------------------------------ */
/* Round-trip property (and cheap fuzz)                               */
/* ------------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

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

struct kind {
	uint8_t type, id;
};

/* Every standard message and direction, a few impl-defined and bad ones. */
static const struct kind kinds[] = {
	{ 0, 0x02 },
	{ 1, 0x02 },
	{ 0, 0x03 },
	{ 1, 0x03 },
	{ 0, 0x04 },
	{ 1, 0x04 },
	{ 0, 0x05 },
	{ 1, 0x05 },
	{ 0, 0x06 },
	{ 1, 0x06 },
	{ 0, 0x07 },
	{ 1, 0x07 },
	{ 0, 0x08 },
	{ 1, 0x08 },
	{ 0, 0x09 },
	{ 1, 0x09 },
	{ 0, 0x0A },
	{ 1, 0x0A },
	{ 0, 0x0B },
	{ 1, 0x0B },
	{ 0, 0x0C },
	{ 1, 0x0C },
	{ 0, 0x40 },
	{ 0, 0x41 },
	{ 0, 0x42 },
	{ 2, 0x02 },
	{ 3, 0x02 },
	{ 2, 0x03 },
	{ 3, 0x03 },
	{ 2, 0x40 },
	{ 0, 0x80 },
	{ 1, 0x85 },
	{ 0, 0xC1 },
	{ 2, 0x80 },
	{ 3, 0x87 },
	{ 2, 0xC0 },
	/* never valid */
	{ 0, 0x0D },
	{ 2, 0x04 },
	{ 0, 0x43 },
	{ 1, 0x42 },
	{ 3, 0x40 },
	{ 0, 0x00 },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define NSTANDARD 30u /* the first 30 kinds are the standard messages */
#define BUFMAX 80u

/*
 * Fill @b with a message of kind @k whose count/length fields agree with
 * its size, and whose reserved fields are clear (the spec's rules, so that
 * many inputs decode). Returns its size.
 */
static uint16_t make_plausible(uint8_t *b, const struct kind *k, bool p25)
{
	bool resp = k->type & 1, bus = k->type & 2;
	uint16_t size = 8;

	if (k->id & 0x80)
		return (uint16_t)(8 + below(BUFMAX - 8 + 1));
	if (bus) {
		switch (k->id) {
		case 0x02:
			if (!resp)
				return 12;
			{
				uint32_t off = below(3) ? below(0x400) : below(0x10000);
				uint32_t room = 65536u - off, cnt = below(8 * (BUFMAX - 14) + 1);
				uint32_t next = 0;

				if (cnt > room)
					cnt = room;
				if (below(2) && off < 0xFFFF)
					next = off + 1 + below(0xFFFF - off);
				put16(b + 8, off);
				put16(b + (p25 ? 12 : 10), next);
				put16(b + (p25 ? 10 : 12), cnt);
				size = (uint16_t)(14 + (cnt + 7) / 8);
				if (cnt % 8)
					b[size - 1] &= (uint8_t)((1u << (cnt % 8)) - 1);
				return size;
			}
		case 0x40:
			put16(b + 10, below(3) == 0 ? 0x8000 | rnd() : 1 + below(2));
			return 12;
		default:
			return 12;
		}
	}
	switch (k->id) {
	case 0x02:
		if (!resp)
			return 8;
		{
			uint32_t max = below(65537), cnt = below(2) ? 0 : below(max + 1), start;

			if (p25 && cnt > 0xFFFF)
				cnt = 0xFFFF;
			start = cnt ? below(max - cnt + 1) : 0; /* DEV-43, DEV-44 */
			if (p25) {
				put32(b + 24, max);
				put16(b + 28, start);
				put16(b + 30, cnt);
				return 32;
			}
			if (below(2))
				memset(b + 16, 0, 16); /* nil UUID */
			put32(b + 40, max);
			put32(b + 44, start);
			put32(b + 48, cnt);
			return 52;
		}
	case 0x03:
	case 0x04: {
		uint32_t n = 1 + below(16);

		put32(b + 12, n);
		if ((k->id == 0x03 && !resp) || (k->id == 0x04 && resp))
			return k->id == 0x03 ? 16 : 8;
		return (uint16_t)(16 + 4 * n);
	}
	case 0x05:
	case 0x06:
	case 0x40: {
		unsigned fixed = k->id == 0x40 ? 24 : 20;
		unsigned lat = fixed - 4, oat = fixed - 8;
		uint32_t l = below(BUFMAX - fixed + 1);

		if (k->id == 0x05 && !resp) {
			put32(b + 8, below(0x10000));
			put32(b + 12, below(64));
			return 16;
		}
		put32(b + oat, below(0x10000));
		put32(b + lat, l);
		if ((k->id == 0x06 && resp) || k->id == 0x40)
			return (uint16_t)(fixed + (below(2) ? l : 0));
		return (uint16_t)(fixed + l);
	}
	case 0x07:
		return resp ? 12 : 8;
	case 0x08:
		return 12;
	case 0x09:
		if (!resp)
			return 12;
		{
			uint32_t max = below(4) ? 1 + below(1024) : 0;
			uint32_t cur = max && below(3) ? 1 + below(max) : 0;

			put32(b + 12, max);
			put32(b + 16, cur);
			put32(b + 20, p25 ? 0 : (cur ? below(2) : 0));
			if (!cur)
				memset(b + 24, 0, 24);
			else
				for (unsigned o = 24; o < 48; o += 8)
					put64(b + o, ((uint64_t)rnd() << 32) | (rnd() | 1u));
			return 48;
		}
	case 0x0A:
		if (resp)
			return 8;
		if (p25) {
			put32(b + 12, 0);
		} else {
			uint32_t f = below(64);

			if ((f & 3) == 3)
				f &= ~1u;
			put32(b + 12, f);
		}
		put32(b + 20, 0);
		return 48;
	case 0x0B:
		return resp ? 8 : 12;
	case 0x0C:
		if (!resp)
			return 12;
		if (p25)
			return 20;
		put32(b + 12, 0);
		return 32;
	case 0x41:
		return 16;
	case 0x42:
		return 12;
	default:
		return (uint16_t)(8 + below(8));
	}
}

/* The size the spec defines for a decoded message (wire note 1.4-1.6, 2.5). */
static int defined_size(bool p25, const struct vmsg_msg *m)
{
	bool resp = m->type & 1;

	if (m->msg_id & 0x80)
		return 8 + m->u.opaque.len;
	if (m->type & 2) {
		if (m->msg_id == 0x02 && resp)
			return 14 + (m->u.get_devices.count + 7) / 8;
		return 12;
	}
	switch (m->msg_id) {
	case 0x02:
		return resp ? (p25 ? 32 : 52) : 8;
	case 0x03:
		return resp ? 16 + 4 * (int)m->u.features.num_blocks : 16;
	case 0x04:
		return resp ? 8 : 16 + 4 * (int)m->u.features.num_blocks;
	case 0x05:
		return resp ? 20 + (int)m->u.config.length : 16;
	case 0x06:
		return 20 + (m->u.config.data ? (int)m->u.config.length : 0);
	case 0x07:
		return resp ? 12 : 8;
	case 0x08:
		return 12;
	case 0x09:
		return resp ? 48 : 12;
	case 0x0A:
		return resp ? 8 : 48;
	case 0x0B:
		return resp ? 8 : 12;
	case 0x0C:
		return resp ? (p25 ? 20 : 32) : 12;
	case 0x40:
		return 24 + (m->u.event_config.data ? (int)m->u.event_config.length : 0);
	case 0x41:
		return 16;
	case 0x42:
		return 12;
	default:
		fail_msg("decoded an unknown message 0x%02x", m->msg_id);
		return -1;
	}
}

static void check_view_inside(const uint8_t *v, size_t n, const uint8_t *buf, size_t size)
{
	if (n == 0)
		return;
	assert_non_null(v);
	assert_true(v >= buf + 8 && v + n <= buf + size);
}

/* The views of a decoded message lie inside the message. */
static void check_views(const struct vmsg_msg *m, const uint8_t *buf)
{
	bool resp = m->type & 1;

	if (m->msg_id & 0x80) {
		check_view_inside(m->u.opaque.data, m->u.opaque.len, buf, m->msg_size);
		assert_int_equal(m->u.opaque.len, m->msg_size - 8u);
	} else if (m->type & 2) {
		if (m->msg_id == 0x02 && resp)
			check_view_inside(m->u.get_devices.bitmap,
					  (m->u.get_devices.count + 7u) / 8u, buf, m->msg_size);
	} else if ((m->msg_id == 0x03 && resp) || (m->msg_id == 0x04 && !resp)) {
		check_view_inside(m->u.features.blocks, 4u * m->u.features.num_blocks, buf,
				  m->msg_size);
	} else if ((m->msg_id == 0x05 && resp) || m->msg_id == 0x06) {
		if (m->u.config.data)
			check_view_inside(m->u.config.data, m->u.config.length, buf, m->msg_size);
	} else if (m->msg_id == 0x40) {
		if (m->u.event_config.data)
			check_view_inside(m->u.event_config.data, m->u.event_config.length, buf,
					  m->msg_size);
	}
}

/* DEV-58: a SET_VQUEUE request that decodes but must not be sent. */
static bool set_vqueue_invalid(const struct vmsg_msg *m)
{
	return !(m->type & 3) && m->msg_id == 0x0A &&
	       (m->u.vqueue.reserved != 0 || (m->u.vqueue.flags & VMSG_SETVQ_F_RESERVED_MASK) ||
		(m->u.vqueue.flags & VMSG_SETVQ_OP_MASK) == VMSG_SETVQ_OP_RESERVED);
}

struct prop_stats {
	unsigned ok[NKINDS];
	unsigned runs, decoded;
};

static void property_run(enum vmsg_profile prof, uint32_t max, uint32_t flags, unsigned iters,
			 struct prop_stats *st)
{
	struct vmsg_codec c;
	bool p25 = prof == VMSG_PROFILE_2025;

#if VMSG_CONFIG_NO_PROFILE_2025
	if (p25)
		return;
#endif
	assert_int_equal(vmsg_codec_init(&c, prof, max, flags), 0);
	memset(st, 0, sizeof(*st));
	for (unsigned it = 0; it < iters; it++) {
		uint8_t b[BUFMAX + 8], out[320];
		const struct kind *k = &kinds[below(NKINDS)];
		struct vmsg_msg m, ref;
		uint16_t size;
		size_t len;
		uint8_t *heap;
		int ret, want;

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rnd();
		b[0] = k->type; /* reserved type bits 0: decode ignores, encode refuses */
		b[1] = k->id;
		if (k->type & 2)
			put16(b + 2, below(8) ? 0 : rnd());
		size = below(4) ? make_plausible(b, k, p25) : (uint16_t)below(BUFMAX + 1);
		switch (below(8)) {
		case 0:
			size = (uint16_t)(size + below(5)); /* trailing bytes */
			break;
		case 1:
			size = (uint16_t)below(BUFMAX + 1);
			break;
		default:
			break;
		}
		if (size > BUFMAX)
			size = BUFMAX;
		put16(b + 6, size);
		len = below(8) ? size + below(4) : below(BUFMAX + 1);
		if (len > sizeof(b))
			len = sizeof(b);

		heap = malloc(len ? len : 1); /* exact, for ASan */
		assert_non_null(heap);
		memcpy(heap, b, len);
		memset(&m, 0xA5, sizeof(m));
		memcpy(&ref, &m, sizeof(m));
		ret = vmsg_proto_decode(&c, heap, len, &m);
		st->runs++;
		if (ret != 0) {
			free(heap);
			assert_true(ret < 0 && ret >= VMSG_ERR_MIN);
			assert_memory_equal(&m, &ref, sizeof(m));
			continue;
		}
		st->decoded++;
		st->ok[k - kinds]++;

		assert_int_equal(m.type, k->type);
		assert_int_equal(m.msg_id, k->id);
		assert_int_equal(m.dev_num, vmsg_get_le16(b + 2));
		assert_int_equal(m.token, vmsg_get_le16(b + 4));
		assert_int_equal(m.msg_size, size);
		assert_true(size <= len && size <= max);
		check_views(&m, heap);

		want = defined_size(p25, &m);
		assert_true(want >= 8 && want <= size);
		if ((k->id & 0xC0) == 0x40 || (flags & VMSG_CODEC_F_EXACT_SIZE))
			assert_int_equal(want, size); /* no trailing bytes here */

		memset(out, 0x5A, sizeof(out));
		ret = vmsg_proto_encode(&c, &m, out, sizeof(out));
		if (set_vqueue_invalid(&m)) {
			assert_int_equal(ret, VMSG_ERESERVED);
			free(heap);
			continue;
		}
		if (ret != want) {
			char line[256];

			(void)vmsg_proto_format(&m, line, sizeof(line));
			free(heap);
			fail_msg("iteration %u: decoded [%s] (msg_size %u) but encode gave %d, "
				 "want %d",
				 it, line, size, ret, want);
		}
		/* the header with the defined size, then the payload byte for byte */
		assert_memory_equal(out, b, 6);
		assert_int_equal(vmsg_get_le16(out + 6), (uint16_t)want);
		assert_memory_equal(out + 8, b + 8, (size_t)want - 8);
		assert_int_equal(out[want], 0x5A);
		free(heap);
	}
}

static void test_proto_round_trip_property(void **state)
{
	static const struct {
		enum vmsg_profile prof;
		uint32_t max, flags;
		unsigned iters;
	} runs[] = {
		{ VMSG_PROFILE_2026, 264, 0, 80000 },
		{ VMSG_PROFILE_2026, 264, VMSG_CODEC_F_EXACT_SIZE, 30000 },
		{ VMSG_PROFILE_2025, 264, 0, 40000 },
		{ VMSG_PROFILE_2025, 48, 0, 20000 },
		{ VMSG_PROFILE_2026, 52, 0, 30000 },
	};
	struct prop_stats st;

	(void)state;
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		property_run(runs[r].prof, runs[r].max, runs[r].flags, runs[r].iters, &st);
		if (st.runs == 0)
			continue; /* profile compiled out */
		/* the generator must reach every standard message, or this proves nothing */
		if (runs[r].max == 264) {
			for (unsigned k = 0; k < NSTANDARD; k++)
				if (st.ok[k] < 50)
					fail_msg("run %zu: %s type %u decoded only %u times", r,
						 vmsg_proto_msg_name(kinds[k].type, kinds[k].id),
						 kinds[k].type, st.ok[k]);
		}
		for (unsigned k = NSTANDARD + 6; k < NKINDS; k++)
			assert_int_equal(st.ok[k], 0);
		print_message("run %zu: %u of %u inputs decoded and re-encoded\n", r, st.decoded,
			      st.runs);
	}
}

/*
 * Every (type, ID) pair, in both directions of a 2026 codec: exactly the
 * standard messages are known, whatever path the codec finds a layout by
 * (a build for speed has a direct table keyed by ID bits; this pins it to
 * the message list). Unknown IDs, including those with bit 4 or 5 set, are
 * VMSG_ENOTSUP; an event with the response bit is VMSG_EBADTYPE first.
 */
static void test_proto_known_ids_exactly(void **state)
{
	static const struct {
		uint8_t bus, id;
	} known[] = {
		{ 0, VMSG_ID_GET_DEVICE_INFO },	  { 0, VMSG_ID_GET_DEVICE_FEATURES },
		{ 0, VMSG_ID_SET_DRIVER_FEATURES }, { 0, VMSG_ID_GET_CONFIG },
		{ 0, VMSG_ID_SET_CONFIG },	  { 0, VMSG_ID_GET_DEVICE_STATUS },
		{ 0, VMSG_ID_SET_DEVICE_STATUS },   { 0, VMSG_ID_GET_VQUEUE },
		{ 0, VMSG_ID_SET_VQUEUE },	  { 0, VMSG_ID_RESET_VQUEUE },
		{ 0, VMSG_ID_GET_SHM },		  { 0, VMSG_ID_EVENT_CONFIG },
		{ 0, VMSG_ID_EVENT_AVAIL },	  { 0, VMSG_ID_EVENT_USED },
		{ 1, VMSG_BUS_ID_GET_DEVICES },	  { 1, VMSG_BUS_ID_PING },
		{ 1, VMSG_BUS_ID_EVENT_DEVICE },
	};
	struct vmsg_codec c;

	(void)state;
	if (VMSG_CONFIG_ROLE_DEVICE_ONLY || VMSG_CONFIG_ROLE_DRIVER_ONLY)
		skip(); /* a one-role codec also refuses what its role never gets */
	assert_int_equal(vmsg_codec_init(&c, VMSG_PROFILE_2026, 264, 0), 0);
	for (unsigned type = 0; type < 4; type++) {
		for (unsigned id = 0; id < 0x80; id++) {
			uint8_t buf[264] = { 0 };
			struct vmsg_msg m;
			bool is_known = false;
			int want, rc;

			for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (known[k].id == id && known[k].bus == ((type & VMSG_TYPE_BUS) != 0))
					is_known = true;
			want = (id & VMSG_ID_EVENT) && (type & VMSG_TYPE_RESPONSE) ? VMSG_EBADTYPE
			       : is_known					  ? 0
										  : VMSG_ENOTSUP;
			buf[VMSG_OFF_TYPE] = (uint8_t)type;
			buf[VMSG_OFF_MSG_ID] = (uint8_t)id;
			vmsg_put_le16(buf + VMSG_OFF_MSG_SIZE, 64);
			rc = vmsg_proto_decode(&c, buf, sizeof(buf), &m);
			if (want == 0 ? rc == VMSG_ENOTSUP || rc == VMSG_EBADTYPE : rc != want)
				fail_msg("decode type %u id 0x%02x: %d", type, id, rc);
			memset(&m, 0, sizeof(m));
			m.type = (uint8_t)type;
			m.msg_id = (uint8_t)id;
			rc = vmsg_proto_encode(&c, &m, buf, sizeof(buf));
			if (want == 0 ? rc == VMSG_ENOTSUP || rc == VMSG_EBADTYPE : rc != want)
				fail_msg("encode type %u id 0x%02x: %d", type, id, rc);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The image path against the general path                            */
/* ------------------------------------------------------------------ */

/*
 * Built for speed, vmsg_proto_encode() and vmsg_proto_decode() first try
 * the image path (a 2026 message whose fixed layout is the host struct's
 * own bytes: proto_internal.h) and fall back to the general path,
 * vmsg_proto_encode_general() and vmsg_proto_decode_general(). Built for
 * size the two names are the same functions and these tests compare a
 * path with itself.
 */

/* The image table entry a layout must have, worked out from its fields:
 * its size if it has no kind, is at most VMSG_IMAGE_MAX bytes and its
 * fields cover each byte past the header once, each at its host offset. */
static unsigned image_of(const struct vmsg_layout *l)
{
	const struct vmsg_field *f = vmsg_layout_fields(l);
	unsigned cover[VMSG_IMAGE_MAX] = { 0 };

	if (l->kind != VMSG_VAR_NONE || l->size > VMSG_IMAGE_MAX)
		return 0;
	for (unsigned k = 0; k < l->nfields; k++) {
		if (f[k].wire_off != f[k].host_off || VMSG_FIELD_HOST_SIZE(&f[k]) != f[k].wire_size ||
		    f[k].wire_off < VMSG_HDR_SIZE || f[k].wire_off + f[k].wire_size > l->size)
			return 0;
		for (unsigned i = 0; i < f[k].wire_size; i++)
			cover[f[k].wire_off + i]++;
	}
	for (unsigned i = VMSG_HDR_SIZE; i < l->size; i++)
		if (cover[i] != 1)
			return 0;
	return l->size;
}

/*
 * The image tables hold exactly what the layouts say (layouts.c derives
 * them at compile time from the same field lists), and every 2026 layout
 * without a kind is an image: the fast path serves all fixed layouts.
 */
static void test_proto_image_tables_match_layouts(void **state)
{
#if VMSG_PROTO_FOR_SPEED
	unsigned fixed = 0, images = 0;

	(void)state;
	for (unsigned key = 0; key < 128; key++) {
		uint8_t type = (uint8_t)(key >> 4 & 3u), id = (uint8_t)(key & 0x4Fu);
		const struct vmsg_msg_desc *d = vmsg_lookup_2026(type, id);
		const struct vmsg_layout *l = d ? vmsg_desc_layout(d, type & VMSG_TYPE_RESPONSE) : 0;
		unsigned from = d ? d->from : 0, want = l ? image_of(l) : 0;

		if (key & 0x80u || VMSG_DIRECT_KEY(type, id) != key)
			continue; /* bits 4 and 5 of a key are the type's */
		if (type & VMSG_TYPE_RESPONSE)
			from = (from & VMSG_FROM_DRIVER ? VMSG_FROM_DEVICE : 0u) |
			       (from & VMSG_FROM_DEVICE ? VMSG_FROM_DRIVER : 0u);
		if (l && l->kind == VMSG_VAR_NONE) {
			fixed++;
			if (!image_of(l))
				fail_msg("type %u id 0x%02x: a fixed layout that is no image", type, id);
		}
		images += want != 0;
		assert_int_equal(vmsg_image_recv[key], from & VMSG_PEER_ROLES ? want : 0);
		assert_int_equal(vmsg_image_send[key], from & VMSG_LOCAL_ROLES ? want : 0);
	}
	/* PING both ways, EVENT_AVAIL and EVENT_USED, the requests and
	 * responses without a payload or with index, status, shmid or the
	 * GET_DEVICES window. */
	assert_int_equal(fixed, images);
	assert_true(images >= 16);
	print_message("%u message directions have an image layout\n", images);
#else
	(void)state;
	skip(); /* built for size: no image path */
#endif
}

static uint8_t image_pool[70000];

/* Whether (type, id) has an image layout, for the counts (a build for size
 * has none). */
static bool is_image(uint8_t type, uint8_t id)
{
#if VMSG_PROTO_FOR_SPEED
	return !(id & VMSG_DIRECT_OUT) &&
	       (vmsg_image_recv[VMSG_DIRECT_KEY(type, id)] || vmsg_image_send[VMSG_DIRECT_KEY(type, id)]);
#else
	(void)type;
	(void)id;
	return false;
#endif
}

/* A random host message of (type, id): random or mostly zero members, its
 * views into image_pool with random lengths (the general path reads them). */
static void random_msg(struct vmsg_msg *m, uint8_t type, uint8_t id)
{
	uint8_t *p = (uint8_t *)m;
	bool zeros = below(2);

	for (size_t i = 0; i < sizeof(*m); i++)
		p[i] = zeros && below(8) ? 0 : (uint8_t)rnd();
	m->type = type;
	m->msg_id = id;
	if (below(4))
		m->dev_num = 0;
	if (id & VMSG_ID_IMPL) {
		m->u.opaque.data = below(8) ? image_pool : 0;
		m->u.opaque.len = (uint16_t)below(below(8) ? 64 : 400);
	} else if (type & VMSG_TYPE_BUS) {
		if (id == VMSG_BUS_ID_GET_DEVICES) {
			m->u.get_devices.bitmap = below(8) ? image_pool : 0;
			m->u.get_devices.count = (uint16_t)below(below(2) ? 64 : 3000);
		}
	} else if (id == VMSG_ID_GET_DEVICE_FEATURES || id == VMSG_ID_SET_DRIVER_FEATURES) {
		m->u.features.blocks = below(8) ? image_pool : 0;
		m->u.features.num_blocks = below(80);
	} else if (id == VMSG_ID_GET_CONFIG || id == VMSG_ID_SET_CONFIG) {
		m->u.config.data = below(4) ? image_pool : 0;
		m->u.config.length = below(300);
	} else if (id == VMSG_ID_EVENT_CONFIG) {
		m->u.event_config.data = below(4) ? image_pool : 0;
		m->u.event_config.length = below(300);
	}
}

/* The codecs the comparisons run with: valid ones of both profiles, and a
 * hand-made one whose maximum is below every fixed size it could meet. */
static unsigned image_codecs(struct vmsg_codec *c)
{
	unsigned n = 0;

	assert_int_equal(vmsg_codec_init(&c[n++], VMSG_PROFILE_2026, 264, 0), 0);
	assert_int_equal(vmsg_codec_init(&c[n++], VMSG_PROFILE_2026, 52, 0), 0);
	assert_int_equal(vmsg_codec_init(&c[n++], VMSG_PROFILE_2026, 65535, 0), 0);
	assert_int_equal(vmsg_codec_init(&c[n++], VMSG_PROFILE_2026, 264, VMSG_CODEC_F_EXACT_SIZE),
			 0);
	if (vmsg_codec_init(&c[n], VMSG_PROFILE_2025, 264, 0) == 0)
		n++;
	c[n] = c[0];
	c[n++].max_msg_size = (uint16_t)(8 + below(9));
	return n;
}

/*
 * Encode: every type (reserved bits too) and ID, many random members,
 * header fields and buffer sizes, each codec: the same result and the same
 * bytes in the whole buffer (nothing written past the message, or at all
 * on a refusal).
 */
static void test_proto_image_encode_agrees(void **state)
{
	static const uint8_t types[] = { 0, 1, 2, 3, 0x04, 0x81, 0xFE };
	struct vmsg_codec cs[8];
	unsigned n = image_codecs(cs), ok = 0, images = 0, calls = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(image_pool); i++)
		image_pool[i] = (uint8_t)rnd();
	for (unsigned ci = 0; ci < n; ci++) {
		for (size_t ti = 0; ti < sizeof(types); ti++) {
			for (unsigned id = 0; id < 256; id++) {
				/* Most rounds where the standard IDs are. */
				for (unsigned r = 0; r < (id & 0x30u ? 4u : 40u); r++) {
					uint8_t a[512], b[512];
					struct vmsg_msg m;
					size_t cap = below(3) ? sizeof(a) : below(24);
					int ra, rb;

					random_msg(&m, types[ti], (uint8_t)id);
					memset(a, 0xA5 ^ (int)r, sizeof(a));
					memcpy(b, a, sizeof(b));
					ra = (vmsg_proto_encode)(&cs[ci], &m, a, cap);
					rb = (vmsg_proto_encode_general)(&cs[ci], &m, b, cap);
					if (ra != rb || memcmp(a, b, sizeof(a)) != 0)
						fail_msg("encode codec %u type 0x%02x id 0x%02x cap %zu: %d, general %d",
							 ci, types[ti], id, cap, ra, rb);
					ok += ra > 0;
					images += ra > 0 && is_image(m.type, m.msg_id);
					calls++;
				}
			}
		}
	}
	assert_int_equal((vmsg_proto_encode)(0, &(struct vmsg_msg){ 0 }, image_pool, 64), VMSG_EINVAL);
	assert_int_equal((vmsg_proto_encode)(&cs[0], 0, image_pool, 64), VMSG_EINVAL);
	assert_int_equal((vmsg_proto_encode)(&cs[0], &(struct vmsg_msg){ .type = 2, .msg_id = 3 }, 0, 64),
			 VMSG_EINVAL);
	print_message("%u of %u encodes agreed on a message (%u of an image layout), the rest on the error\n",
		      ok, calls, images);
	assert_true(ok - images > 1000 && (!VMSG_PROTO_FOR_SPEED || images > 1000));
}

/*
 * Decode: the bytes of random messages (encoded by the general path) and
 * of random byte strings, with the header varied (reserved type bits,
 * dev_num, msg_size below, at and above the fixed size) and the length
 * short, exact or with trailing bytes: the same result and the same
 * struct, which is untouched on a refusal.
 */
static void test_proto_image_decode_agrees(void **state)
{
	static const uint8_t types[] = { 0, 1, 2, 3, 0x04, 0x81, 0xFE };
	struct vmsg_codec cs[8];
	unsigned n = image_codecs(cs), ok = 0, images = 0, calls = 0;

	(void)state;
	for (unsigned ci = 0; ci < n; ci++) {
		for (size_t ti = 0; ti < sizeof(types); ti++) {
			for (unsigned id = 0; id < 256; id++) {
				/* Most rounds where the standard IDs are. */
				for (unsigned r = 0; r < (id & 0x30u ? 4u : 40u); r++) {
					uint8_t buf[512];
					struct vmsg_msg m, oa, ob;
					int size = 0, ra, rb;
					size_t len;

					if (below(4)) {
						random_msg(&m, (uint8_t)(types[ti] & 3u), (uint8_t)id);
						size = (vmsg_proto_encode_general)(&cs[0], &m, buf, sizeof(buf));
					}
					if (size <= 0) { /* random bytes, a plausible size */
						const struct vmsg_msg_desc *d = vmsg_lookup_2026(types[ti], (uint8_t)id);
						const struct vmsg_layout *l =
							d ? vmsg_desc_layout(d, types[ti] & VMSG_TYPE_RESPONSE) : 0;

						/* Half of them of the fixed size (one-role builds
						 * cannot encode what they receive). */
						size = l && below(2) ? l->size : (int)below(below(2) ? 24 : 300);
						for (size_t i = 0; i < sizeof(buf); i++)
							buf[i] = (uint8_t)rnd();
						buf[VMSG_OFF_TYPE] = types[ti];
						buf[VMSG_OFF_MSG_ID] = (uint8_t)id;
						put16(buf + VMSG_OFF_MSG_SIZE, (uint32_t)size);
						if (below(2))
							put16(buf + VMSG_OFF_DEV_NUM, 0);
					}
					buf[VMSG_OFF_TYPE] = (uint8_t)(buf[VMSG_OFF_TYPE] | types[ti]);
					switch (below(8)) {
					case 0: /* another size in the header */
						put16(buf + VMSG_OFF_MSG_SIZE, (uint32_t)size - 4u + below(9));
						break;
					case 1:
						put16(buf + VMSG_OFF_DEV_NUM, rnd());
						break;
					default:
						break;
					}
					len = below(4) ? (size_t)size + below(3) : below(520);
					if (len > sizeof(buf))
						len = sizeof(buf);
					for (size_t i = 0; i < sizeof(oa); i++)
						((uint8_t *)&oa)[i] = (uint8_t)rnd();
					ob = oa;
					ra = (vmsg_proto_decode)(&cs[ci], buf, len, &oa);
					rb = (vmsg_proto_decode_general)(&cs[ci], buf, len, &ob);
					if (ra != rb || memcmp(&oa, &ob, sizeof(oa)) != 0)
						fail_msg("decode codec %u type 0x%02x id 0x%02x size %d len %zu: %d, general %d",
							 ci, buf[0], id, size, len, ra, rb);
					ok += ra == 0;
					images += ra == 0 && is_image(buf[0], buf[1]);
					calls++;
				}
			}
		}
	}
	assert_int_equal((vmsg_proto_decode)(0, image_pool, 64, &(struct vmsg_msg){ 0 }), VMSG_EINVAL);
	assert_int_equal((vmsg_proto_decode)(&cs[0], 0, 64, &(struct vmsg_msg){ 0 }), VMSG_EINVAL);
	assert_int_equal((vmsg_proto_decode)(&cs[0], image_pool, 64, 0), VMSG_EINVAL);
	print_message("%u of %u decodes agreed on a message (%u of an image layout), the rest on the error\n",
		      ok, calls, images);
	assert_true(ok - images > 1000 && (!VMSG_PROTO_FOR_SPEED || images > 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_capacity_matches_wire_table),
		cmocka_unit_test(test_proto_capacity_below_fixed_part_is_zero),
		cmocka_unit_test(test_proto_capacity_at_65535),
		cmocka_unit_test(test_proto_strerror_every_code),
		cmocka_unit_test(test_proto_strerror_unknown_code),
		cmocka_unit_test(test_proto_version),
		cmocka_unit_test(test_proto_format_messages),
		cmocka_unit_test(test_proto_format_rejects_null),
		cmocka_unit_test(test_proto_msg_names),
		cmocka_unit_test(test_proto_endian_put_writes_little_endian),
		cmocka_unit_test(test_proto_endian_get_reads_unaligned),
		cmocka_unit_test(test_proto_endian_round_trip),
		cmocka_unit_test(test_proto_round_trip_property),
		cmocka_unit_test(test_proto_known_ids_exactly),
		cmocka_unit_test(test_proto_image_tables_match_layouts),
		cmocka_unit_test(test_proto_image_encode_agrees),
		cmocka_unit_test(test_proto_image_decode_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
