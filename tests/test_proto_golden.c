/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden vectors for the codec: one hand-written byte array per message and
 * direction, taken from the wire note (virtio-msg-wire.md) tables 1.2-1.6 for
 * the 2026 profile and 2.5 for the 2025 ("T") profile. They are not produced
 * by the codec. Every field carries a distinctive non-zero value so that a
 * wrong offset, width or byte order shows up.
 *
 * For each vector:
 *  - encode(struct) gives exactly the bytes (into a buffer of exactly that
 *    size, so ASan sees any write past it) and returns msg_size;
 *  - decode(bytes) gives the struct back, with views pointing into the input;
 *  - every truncation (len 0 .. msg_size-1, in a heap buffer of exactly that
 *    length so ASan sees any over-read) fails with VMSG_ESHORT;
 *  - every smaller msg_size (with len = msg_size) fails with VMSG_EBADMSG,
 *    unless the spec makes that smaller size valid too;
 *  - trailing bytes are accepted on requests and responses, refused on
 *    events and under VMSG_CODEC_F_EXACT_SIZE (proto.h decision).
 * Vectors marked for both profiles must be byte-identical in both (wire note
 * 2.5: only five messages differ).
 */
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_msg/config.h"
#include "virtio_msg/proto.h"

/* One-role builds: the codec calls below go through role wrappers. */
#include "proto_role.h"

/* The vectors are laid out one field per line, by hand. */
/* clang-format off */

#define P26 0x1u
#define P25 0x2u
#define PBOTH (P26 | P25)

#define MAX 264u /* codec maximum used for every vector */

/* What a larger msg_size (trailing bytes) must do. */
enum grow_rule {
	GROW_TRAILING, /* request/response: accepted, refused when exact */
	GROW_EVENT,    /* event: always refused (EBADMSG) */
	GROW_NONE,     /* a larger size changes the meaning: not tested here */
};

#define SHRINK_NONE 0u     /* no smaller msg_size is valid */
#define SHRINK_ANY 0xFFFFu /* every smaller size is valid (opaque payload) */

struct golden {
	unsigned profiles;
	const uint8_t *bytes;
	uint16_t len;
	struct vmsg_msg msg; /* expected decode result, and the encode input */
	uint16_t shrink_ok;  /* a smaller msg_size that is valid too */
	uint8_t grow;        /* enum grow_rule */
};

#define BYTES(a) .bytes = (a), .len = (uint16_t)sizeof(a)

/* Transport header fields used everywhere: dev_num 0x0A0B, token 0xC0DE. */
#define DEV 0x0A0Bu
#define TOK 0xC0DEu
/* Bus messages: dev_num 0, token 0x5A5B. */
#define BTOK 0x5A5Bu

/* ------------------------------------------------------------------ */
/* Transport messages, 2026 layout (wire note 1.4, 1.6)               */
/* ------------------------------------------------------------------ */

static const uint8_t get_device_info_req_bytes[] = {
	0x00, 0x02, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00,
};
static const struct golden get_device_info_req = {
	PBOTH, BYTES(get_device_info_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x02, .dev_num = DEV, .token = TOK, .msg_size = 8 },
	.grow = GROW_TRAILING,
};

static const uint8_t get_device_info_resp_bytes[] = {
	0x01, 0x02, 0x0B, 0x0A, 0xDE, 0xC0, 0x34, 0x00, /* msg_size 52 */
	0x44, 0x33, 0x22, 0x11,                         /* @8 device_id 0x11223344 */
	0x51, 0x45, 0x4D, 0x55,                         /* @12 vendor_id "QEMU" */
	0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0x46, 0xD7, /* @16 uuid[16] */
	0x98, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
	0x34, 0x33, 0x32, 0x31,                         /* @32 num_feature_blocks */
	0x44, 0x43, 0x42, 0x41,                         /* @36 config_size */
	0x00, 0x00, 0x01, 0x00,                         /* @40 max_virtqueues 65536 */
	0xE2, 0xE1, 0x00, 0x00,                         /* @44 admin_vq_start */
	0x10, 0x0F, 0x00, 0x00,                         /* @48 admin_vq_count */
};
static const struct golden get_device_info_resp = {
	P26, BYTES(get_device_info_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x02, .dev_num = DEV, .token = TOK, .msg_size = 52,
		 .u.device_info = {
			 .device_id = 0x11223344u, .vendor_id = 0x554D4551u,
			 .uuid = { 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0x46, 0xD7,
				   0x98, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF },
			 .num_feature_blocks = 0x31323334u, .config_size = 0x41424344u,
			 .max_virtqueues = 0x00010000u, .admin_vq_start = 0xE1E2u,
			 .admin_vq_count = 0x0F10u, .num_feature_bits = 0 } },
	.grow = GROW_TRAILING,
};

static const uint8_t get_device_features_req_bytes[] = {
	0x00, 0x03, 0x0B, 0x0A, 0xDE, 0xC0, 0x10, 0x00,
	0x0D, 0x0C, 0x0B, 0x0A, /* @8 block_index 0x0A0B0C0D */
	0x03, 0x00, 0x00, 0x00, /* @12 num_blocks 3 */
};
static const struct golden get_device_features_req = {
	PBOTH, BYTES(get_device_features_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x03, .dev_num = DEV, .token = TOK, .msg_size = 16,
		 .u.features = { .block_index = 0x0A0B0C0Du, .num_blocks = 3 } },
	.grow = GROW_TRAILING,
};

static const uint8_t gdf_blocks[] = {
	0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55, 0xCC, 0xBB, 0xAA, 0x99,
};
static const uint8_t get_device_features_resp_bytes[] = {
	0x01, 0x03, 0x0B, 0x0A, 0xDE, 0xC0, 0x1C, 0x00, /* msg_size 28 */
	0x0D, 0x0C, 0x0B, 0x0A,                         /* @8 block_index */
	0x03, 0x00, 0x00, 0x00,                         /* @12 num_blocks 3 */
	0x44, 0x33, 0x22, 0x11,                         /* @16 block 0x11223344 */
	0x88, 0x77, 0x66, 0x55,                         /* @20 block 0x55667788 */
	0xCC, 0xBB, 0xAA, 0x99,                         /* @24 block 0x99AABBCC */
};
static const struct golden get_device_features_resp = {
	PBOTH, BYTES(get_device_features_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x03, .dev_num = DEV, .token = TOK, .msg_size = 28,
		 .u.features = { .block_index = 0x0A0B0C0Du, .num_blocks = 3,
				 .blocks = gdf_blocks } },
	.grow = GROW_TRAILING,
};

static const uint8_t sdf_blocks[] = { 0x34, 0x33, 0x32, 0x31, 0x44, 0x43, 0x42, 0x41 };
static const uint8_t set_driver_features_req_bytes[] = {
	0x00, 0x04, 0x0B, 0x0A, 0xDE, 0xC0, 0x18, 0x00, /* msg_size 24 */
	0x24, 0x23, 0x22, 0x21,                         /* @8 block_index 0x21222324 */
	0x02, 0x00, 0x00, 0x00,                         /* @12 num_blocks 2 */
	0x34, 0x33, 0x32, 0x31,                         /* @16 */
	0x44, 0x43, 0x42, 0x41,                         /* @20 */
};
static const struct golden set_driver_features_req = {
	PBOTH, BYTES(set_driver_features_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x04, .dev_num = DEV, .token = TOK, .msg_size = 24,
		 .u.features = { .block_index = 0x21222324u, .num_blocks = 2,
				 .blocks = sdf_blocks } },
	.grow = GROW_TRAILING,
};

static const uint8_t set_driver_features_resp_bytes[] = {
	0x01, 0x04, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00,
};
static const struct golden set_driver_features_resp = {
	PBOTH, BYTES(set_driver_features_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x04, .dev_num = DEV, .token = TOK, .msg_size = 8 },
	.grow = GROW_TRAILING,
};

static const uint8_t get_config_req_bytes[] = {
	0x00, 0x05, 0x0B, 0x0A, 0xDE, 0xC0, 0x10, 0x00,
	0x44, 0x33, 0x22, 0x11, /* @8 offset 0x11223344 */
	0x08, 0x00, 0x00, 0x00, /* @12 length 8 */
};
static const struct golden get_config_req = {
	PBOTH, BYTES(get_config_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x05, .dev_num = DEV, .token = TOK, .msg_size = 16,
		 .u.config = { .offset = 0x11223344u, .length = 8 } },
	.grow = GROW_TRAILING,
};

static const uint8_t gcfg_data[] = { 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7 };
static const uint8_t get_config_resp_bytes[] = {
	0x01, 0x05, 0x0B, 0x0A, 0xDE, 0xC0, 0x1C, 0x00, /* msg_size 28 */
	0x88, 0x77, 0x66, 0x55,                         /* @8 generation 0x55667788 */
	0x44, 0x33, 0x22, 0x11,                         /* @12 offset */
	0x08, 0x00, 0x00, 0x00,                         /* @16 length 8 */
	0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, /* @20 data */
};
static const struct golden get_config_resp = {
	PBOTH, BYTES(get_config_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x05, .dev_num = DEV, .token = TOK, .msg_size = 28,
		 .u.config = { .generation = 0x55667788u, .offset = 0x11223344u, .length = 8,
			       .data = gcfg_data } },
	.grow = GROW_TRAILING,
};

/* Length 0 (the QEMU PoC v2 answer to an out-of-range read, wire note 4.24). */
static const uint8_t get_config_resp_empty_bytes[] = {
	0x01, 0x05, 0x0B, 0x0A, 0xDE, 0xC0, 0x14, 0x00, /* msg_size 20 */
	0x88, 0x77, 0x66, 0x55,
	0x44, 0x33, 0x22, 0x11,
	0x00, 0x00, 0x00, 0x00,
};
static const struct golden get_config_resp_empty = {
	PBOTH, BYTES(get_config_resp_empty_bytes),
	.msg = { .type = 0x01, .msg_id = 0x05, .dev_num = DEV, .token = TOK, .msg_size = 20,
		 .u.config = { .generation = 0x55667788u, .offset = 0x11223344u, .length = 0,
			       .data = NULL } },
	.grow = GROW_TRAILING,
};

static const uint8_t scfg_data[] = { 0xE0, 0xE1, 0xE2, 0xE3, 0xE4 };
static const uint8_t set_config_req_bytes[] = {
	0x00, 0x06, 0x0B, 0x0A, 0xDE, 0xC0, 0x19, 0x00, /* msg_size 25 */
	0x0D, 0x0C, 0x0B, 0x0A,                         /* @8 generation 0x0A0B0C0D */
	0x04, 0x01, 0x00, 0x00,                         /* @12 offset 0x104 */
	0x05, 0x00, 0x00, 0x00,                         /* @16 length 5 */
	0xE0, 0xE1, 0xE2, 0xE3, 0xE4,                   /* @20 data */
};
static const struct golden set_config_req = {
	PBOTH, BYTES(set_config_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x06, .dev_num = DEV, .token = TOK, .msg_size = 25,
		 .u.config = { .generation = 0x0A0B0C0Du, .offset = 0x104u, .length = 5,
			       .data = scfg_data } },
	.grow = GROW_TRAILING,
};

/* Applied, with the data echoed (20 + L). */
static const uint8_t set_config_resp_bytes[] = {
	0x01, 0x06, 0x0B, 0x0A, 0xDE, 0xC0, 0x19, 0x00, /* msg_size 25 */
	0x0E, 0x0C, 0x0B, 0x0A,                         /* @8 generation 0x0A0B0C0E */
	0x04, 0x01, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00,
	0xE0, 0xE1, 0xE2, 0xE3, 0xE4,
};
static const struct golden set_config_resp = {
	PBOTH, BYTES(set_config_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x06, .dev_num = DEV, .token = TOK, .msg_size = 25,
		 .u.config = { .generation = 0x0A0B0C0Eu, .offset = 0x104u, .length = 5,
			       .data = scfg_data } },
	/* msg_size 20 with length 5 is "applied, not echoed" (wire note 4.4) */
	.shrink_ok = 20, .grow = GROW_TRAILING,
};

/* Applied, not echoed: msg_size 20 (Linux PoC v2 needs only this). */
static const uint8_t set_config_resp_noecho_bytes[] = {
	0x01, 0x06, 0x0B, 0x0A, 0xDE, 0xC0, 0x14, 0x00, /* msg_size 20 */
	0x0E, 0x0C, 0x0B, 0x0A,
	0x04, 0x01, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00,
};
static const struct golden set_config_resp_noecho = {
	PBOTH, BYTES(set_config_resp_noecho_bytes),
	.msg = { .type = 0x01, .msg_id = 0x06, .dev_num = DEV, .token = TOK, .msg_size = 20,
		 .u.config = { .generation = 0x0A0B0C0Eu, .offset = 0x104u, .length = 5,
			       .data = NULL } },
	.grow = GROW_NONE, /* 21..24 is a partial echo: see test_proto_reject.c */
};

/* Not applied: length 0, no data. */
static const uint8_t set_config_resp_rejected_bytes[] = {
	0x01, 0x06, 0x0B, 0x0A, 0xDE, 0xC0, 0x14, 0x00,
	0x0F, 0x0C, 0x0B, 0x0A, /* generation 0x0A0B0C0F */
	0x04, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};
static const struct golden set_config_resp_rejected = {
	PBOTH, BYTES(set_config_resp_rejected_bytes),
	.msg = { .type = 0x01, .msg_id = 0x06, .dev_num = DEV, .token = TOK, .msg_size = 20,
		 .u.config = { .generation = 0x0A0B0C0Fu, .offset = 0x104u, .length = 0,
			       .data = NULL } },
	.grow = GROW_NONE,
};

static const uint8_t get_device_status_req_bytes[] = {
	0x00, 0x07, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00,
};
static const struct golden get_device_status_req = {
	PBOTH, BYTES(get_device_status_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x07, .dev_num = DEV, .token = TOK, .msg_size = 8 },
	.grow = GROW_TRAILING,
};

static const uint8_t get_device_status_resp_bytes[] = {
	0x01, 0x07, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x0F, 0x0C, 0x0B, 0x0A, /* @8 status 0x0A0B0C0F (raw le32) */
};
static const struct golden get_device_status_resp = {
	PBOTH, BYTES(get_device_status_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x07, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.status = { .status = 0x0A0B0C0Fu } },
	.grow = GROW_TRAILING,
};

static const uint8_t set_device_status_req_bytes[] = {
	0x00, 0x08, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x0B, 0x1C, 0x1B, 0x1A, /* @8 status 0x1A1B1C0B */
};
static const struct golden set_device_status_req = {
	PBOTH, BYTES(set_device_status_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x08, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.status = { .status = 0x1A1B1C0Bu } },
	.grow = GROW_TRAILING,
};

static const uint8_t set_device_status_resp_bytes[] = {
	0x01, 0x08, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x03, 0x2C, 0x2B, 0x2A, /* @8 status 0x2A2B2C03 */
};
static const struct golden set_device_status_resp = {
	PBOTH, BYTES(set_device_status_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x08, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.status = { .status = 0x2A2B2C03u } },
	.grow = GROW_TRAILING,
};

static const uint8_t get_vqueue_req_bytes[] = {
	0x00, 0x09, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x04, 0x03, 0x02, 0x01, /* @8 index 0x01020304 */
};
static const struct golden get_vqueue_req = {
	PBOTH, BYTES(get_vqueue_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x09, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.vqueue = { .index = 0x01020304u } },
	.grow = GROW_TRAILING,
};

static const uint8_t get_vqueue_resp_bytes[] = {
	0x01, 0x09, 0x0B, 0x0A, 0xDE, 0xC0, 0x30, 0x00, /* msg_size 48 */
	0x04, 0x03, 0x02, 0x01,                         /* @8 index */
	0x24, 0x23, 0x22, 0x21,                         /* @12 max_size 0x21222324 */
	0x14, 0x13, 0x12, 0x11,                         /* @16 cur_size 0x11121314 */
	0x01, 0x00, 0x00, 0x00,                         /* @20 flags: enabled */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* @24 desc_addr */
	0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, /* @32 driver_addr */
	0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* @40 device_addr */
};
static const struct golden get_vqueue_resp = {
	P26, BYTES(get_vqueue_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x09, .dev_num = DEV, .token = TOK, .msg_size = 48,
		 .u.vqueue = { .index = 0x01020304u, .max_size = 0x21222324u,
			       .size = 0x11121314u, .flags = VMSG_GETVQ_F_ENABLED,
			       .desc_addr = 0x0102030405060708ull,
			       .driver_addr = 0x1112131415161718ull,
			       .device_addr = 0x2122232425262728ull } },
	.grow = GROW_TRAILING,
};

static const uint8_t set_vqueue_req_bytes[] = {
	0x00, 0x0A, 0x0B, 0x0A, 0xDE, 0xC0, 0x30, 0x00, /* msg_size 48 */
	0x34, 0x33, 0x32, 0x31,                         /* @8 index 0x31323334 */
	0x25, 0x00, 0x00, 0x00,                         /* @12 flags: op 1, size/dev ignore */
	0x00, 0x04, 0x00, 0x00,                         /* @16 size 1024 */
	0x00, 0x00, 0x00, 0x00,                         /* @20 reserved */
	0x88, 0x87, 0x86, 0x85, 0x84, 0x83, 0x82, 0x81, /* @24 desc_addr */
	0x98, 0x97, 0x96, 0x95, 0x94, 0x93, 0x92, 0x91, /* @32 driver_addr */
	0xA8, 0xA7, 0xA6, 0xA5, 0xA4, 0xA3, 0xA2, 0xA1, /* @40 device_addr */
};
static const struct golden set_vqueue_req = {
	P26, BYTES(set_vqueue_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x0A, .dev_num = DEV, .token = TOK, .msg_size = 48,
		 .u.vqueue = { .index = 0x31323334u,
			       .flags = VMSG_SETVQ_OP_ENABLE | VMSG_SETVQ_F_SIZE_IGNORE |
					VMSG_SETVQ_F_DEVICE_IGNORE,
			       .size = 0x400u, .reserved = 0,
			       .desc_addr = 0x8182838485868788ull,
			       .driver_addr = 0x9192939495969798ull,
			       .device_addr = 0xA1A2A3A4A5A6A7A8ull } },
	.grow = GROW_TRAILING,
};

static const uint8_t set_vqueue_resp_bytes[] = {
	0x01, 0x0A, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00,
};
static const struct golden set_vqueue_resp = {
	PBOTH, BYTES(set_vqueue_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x0A, .dev_num = DEV, .token = TOK, .msg_size = 8 },
	.grow = GROW_TRAILING,
};

static const uint8_t reset_vqueue_req_bytes[] = {
	0x00, 0x0B, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x44, 0x43, 0x42, 0x41, /* @8 index 0x41424344 */
};
static const struct golden reset_vqueue_req = {
	PBOTH, BYTES(reset_vqueue_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x0B, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.vqueue = { .index = 0x41424344u } },
	.grow = GROW_TRAILING,
};

static const uint8_t reset_vqueue_resp_bytes[] = {
	0x01, 0x0B, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00,
};
static const struct golden reset_vqueue_resp = {
	PBOTH, BYTES(reset_vqueue_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x0B, .dev_num = DEV, .token = TOK, .msg_size = 8 },
	.grow = GROW_TRAILING,
};

static const uint8_t get_shm_req_bytes[] = {
	0x00, 0x0C, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x54, 0x53, 0x52, 0x51, /* @8 shmid 0x51525354 */
};
static const struct golden get_shm_req = {
	PBOTH, BYTES(get_shm_req_bytes),
	.msg = { .type = 0x00, .msg_id = 0x0C, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.shm = { .shmid = 0x51525354u } },
	.grow = GROW_TRAILING,
};

static const uint8_t get_shm_resp_bytes[] = {
	0x01, 0x0C, 0x0B, 0x0A, 0xDE, 0xC0, 0x20, 0x00, /* msg_size 32 */
	0x54, 0x53, 0x52, 0x51,                         /* @8 shmid */
	0x00, 0x00, 0x00, 0x00,                         /* @12 reserved */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* @16 length */
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* @24 address */
};
static const struct golden get_shm_resp = {
	P26, BYTES(get_shm_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x0C, .dev_num = DEV, .token = TOK, .msg_size = 32,
		 .u.shm = { .shmid = 0x51525354u, .length = 0x0102030405060708ull,
			    .address = 0x1122334455667788ull } },
	.grow = GROW_TRAILING,
};

static const uint8_t evcfg_data[] = { 0xC0, 0xC1, 0xC2, 0xC3 };
static const uint8_t event_config_bytes[] = {
	0x00, 0x40, 0x0B, 0x0A, 0xDE, 0xC0, 0x1C, 0x00, /* msg_size 28 */
	0x4F, 0x30, 0x20, 0x10,                         /* @8 device_status 0x1020304F */
	0x74, 0x73, 0x72, 0x71,                         /* @12 generation 0x71727374 */
	0x20, 0x00, 0x00, 0x00,                         /* @16 offset 0x20 */
	0x04, 0x00, 0x00, 0x00,                         /* @20 length 4 */
	0xC0, 0xC1, 0xC2, 0xC3,                         /* @24 data */
};
static const struct golden event_config = {
	PBOTH, BYTES(event_config_bytes),
	.msg = { .type = 0x00, .msg_id = 0x40, .dev_num = DEV, .token = TOK, .msg_size = 28,
		 .u.event_config = { .device_status = 0x1020304Fu, .generation = 0x71727374u,
				     .offset = 0x20u, .length = 4, .data = evcfg_data } },
	/* msg_size 24: the same range announced without data */
	.shrink_ok = 24, .grow = GROW_EVENT,
};

static const uint8_t event_config_nodata_bytes[] = {
	0x00, 0x40, 0x0B, 0x0A, 0xDE, 0xC0, 0x18, 0x00, /* msg_size 24 */
	0x4F, 0x30, 0x20, 0x10,
	0x75, 0x73, 0x72, 0x71, /* generation 0x71727375 */
	0x40, 0x01, 0x00, 0x00, /* offset 0x140 */
	0x10, 0x00, 0x00, 0x00, /* length 16, no data */
};
static const struct golden event_config_nodata = {
	PBOTH, BYTES(event_config_nodata_bytes),
	.msg = { .type = 0x00, .msg_id = 0x40, .dev_num = DEV, .token = TOK, .msg_size = 24,
		 .u.event_config = { .device_status = 0x1020304Fu, .generation = 0x71727375u,
				     .offset = 0x140u, .length = 16, .data = NULL } },
	.grow = GROW_EVENT,
};

static const uint8_t event_avail_bytes[] = {
	0x00, 0x41, 0x0B, 0x0A, 0xDE, 0xC0, 0x10, 0x00,
	0x84, 0x83, 0x82, 0x81, /* @8 vq_index 0x81828384 */
	0x34, 0x12, 0x00, 0x80, /* @12 next_offset: wrap | 0x1234 */
};
static const struct golden event_avail = {
	PBOTH, BYTES(event_avail_bytes),
	.msg = { .type = 0x00, .msg_id = 0x41, .dev_num = DEV, .token = TOK, .msg_size = 16,
		 .u.event_avail = { .vq_index = 0x81828384u, .next_offset = 0x80001234u } },
	.grow = GROW_EVENT,
};

static const uint8_t event_used_bytes[] = {
	0x00, 0x42, 0x0B, 0x0A, 0xDE, 0xC0, 0x0C, 0x00,
	0x94, 0x93, 0x92, 0x91, /* @8 vq_index 0x91929394 */
};
static const struct golden event_used = {
	PBOTH, BYTES(event_used_bytes),
	.msg = { .type = 0x00, .msg_id = 0x42, .dev_num = DEV, .token = TOK, .msg_size = 12,
		 .u.event_used = { .vq_index = 0x91929394u } },
	.grow = GROW_EVENT,
};

/* ------------------------------------------------------------------ */
/* Bus messages (wire note 1.5, 1.6)                                  */
/* ------------------------------------------------------------------ */

/* The spec's example: offset 0, count 16 -> bitmap 0x25 0x00, next 16. */
static const uint8_t get_devices_req_bytes[] = {
	0x02, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x00, 0x00, /* @8 offset 0 */
	0x10, 0x00, /* @10 count 16 */
};
static const struct golden get_devices_req = {
	PBOTH, BYTES(get_devices_req_bytes),
	.msg = { .type = 0x02, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.get_devices = { .offset = 0, .count = 16 } },
	.grow = GROW_TRAILING,
};

static const uint8_t gdev_example_bitmap[] = { 0x25, 0x00 };
static const uint8_t get_devices_resp_bytes[] = {
	0x03, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x10, 0x00, /* msg_size 16 */
	0x00, 0x00,                                     /* @8 offset 0 */
	0x10, 0x00,                                     /* @10 next_offset 16 */
	0x10, 0x00,                                     /* @12 count 16 */
	0x25, 0x00,                                     /* @14 bitmap: 0, 2, 5 */
};
static const struct golden get_devices_resp = {
	P26, BYTES(get_devices_resp_bytes),
	.msg = { .type = 0x03, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 16,
		 .u.get_devices = { .offset = 0, .count = 16, .next_offset = 16,
				    .bitmap = gdev_example_bitmap } },
	.grow = GROW_TRAILING,
};

/* A window with distinct values in every field, so a count/next swap shows. */
static const uint8_t get_devices_req_window_bytes[] = {
	0x02, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x20, 0x01, /* offset 0x120 */
	0x10, 0x00, /* count 16 */
};
static const struct golden get_devices_req_window = {
	PBOTH, BYTES(get_devices_req_window_bytes),
	.msg = { .type = 0x02, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.get_devices = { .offset = 0x120, .count = 16 } },
	.grow = GROW_TRAILING,
};

static const uint8_t gdev_window_bitmap[] = { 0xA5, 0x15 };
static const uint8_t get_devices_resp_window_bytes[] = {
	0x03, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x10, 0x00, /* msg_size 16 */
	0x20, 0x01,                                     /* @8 offset 0x120 */
	0x2D, 0x01,                                     /* @10 next_offset 0x12D */
	0x0D, 0x00,                                     /* @12 count 13 */
	0xA5, 0x15,                                     /* @14 bitmap, bits 13..15 clear */
};
static const struct golden get_devices_resp_window = {
	P26, BYTES(get_devices_resp_window_bytes),
	.msg = { .type = 0x03, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 16,
		 .u.get_devices = { .offset = 0x120, .count = 13, .next_offset = 0x12D,
				    .bitmap = gdev_window_bitmap } },
	.grow = GROW_TRAILING,
};

/* count 0, terminal: identical in both layouts (both swapped fields are 0). */
static const uint8_t get_devices_resp_empty_bytes[] = {
	0x03, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x0E, 0x00, /* msg_size 14 */
	0x40, 0x00,
	0x00, 0x00,
	0x00, 0x00,
};
static const struct golden get_devices_resp_empty = {
	PBOTH, BYTES(get_devices_resp_empty_bytes),
	.msg = { .type = 0x03, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 14,
		 .u.get_devices = { .offset = 0x40, .count = 0, .next_offset = 0 } },
	.grow = GROW_TRAILING,
};

static const uint8_t ping_req_bytes[] = {
	0x02, 0x03, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x0D, 0xF0, 0xFE, 0xCA, /* @8 data 0xCAFEF00D */
};
static const struct golden ping_req = {
	PBOTH, BYTES(ping_req_bytes),
	.msg = { .type = 0x02, .msg_id = 0x03, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.ping = { .data = 0xCAFEF00Du } },
	.grow = GROW_TRAILING,
};

static const uint8_t ping_resp_bytes[] = {
	0x03, 0x03, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x0D, 0xF0, 0xFE, 0xCA,
};
static const struct golden ping_resp = {
	PBOTH, BYTES(ping_resp_bytes),
	.msg = { .type = 0x03, .msg_id = 0x03, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.ping = { .data = 0xCAFEF00Du } },
	.grow = GROW_TRAILING,
};

static const uint8_t event_device_bytes[] = {
	0x02, 0x40, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x02, 0x01, /* @8 device_number 0x0102 */
	0x01, 0x00, /* @10 state ADDED */
};
static const struct golden event_device = {
	PBOTH, BYTES(event_device_bytes),
	.msg = { .type = 0x02, .msg_id = 0x40, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.event_device = { .dev_num = 0x0102, .state = VMSG_EVDEV_STATE_ADDED } },
	.grow = GROW_EVENT,
};

static const uint8_t event_device_removed_bytes[] = {
	0x02, 0x40, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00,
	0x04, 0x03, /* device_number 0x0304 */
	0x02, 0x00, /* state REMOVED */
};
static const struct golden event_device_removed = {
	PBOTH, BYTES(event_device_removed_bytes),
	.msg = { .type = 0x02, .msg_id = 0x40, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.event_device = { .dev_num = 0x0304, .state = VMSG_EVDEV_STATE_REMOVED } },
	.grow = GROW_EVENT,
};

/* ------------------------------------------------------------------ */
/* Implementation-defined IDs (bit 7): opaque payload (wire note 4.19) */
/* ------------------------------------------------------------------ */

static const uint8_t bus_impl_payload[] = {
	0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB,
};
static const uint8_t bus_impl_req_bytes[] = {
	0x02, 0x80, 0x00, 0x00, 0x5B, 0x5A, 0x14, 0x00, /* bus 0x80, msg_size 20 */
	0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB,
};
static const struct golden bus_impl_req = {
	PBOTH, BYTES(bus_impl_req_bytes),
	.msg = { .type = 0x02, .msg_id = 0x80, .dev_num = 0, .token = BTOK, .msg_size = 20,
		 .u.opaque = { .data = bus_impl_payload, .len = 12 } },
	.shrink_ok = SHRINK_ANY, .grow = GROW_NONE,
};

static const uint8_t bus_impl_event_payload[] = { 0x01, 0x02, 0x03, 0x04 };
static const uint8_t bus_impl_event_bytes[] = {
	0x02, 0xC0, 0x00, 0x00, 0x5B, 0x5A, 0x0C, 0x00, /* bus 0xC0 event */
	0x01, 0x02, 0x03, 0x04,
};
static const struct golden bus_impl_event = {
	PBOTH, BYTES(bus_impl_event_bytes),
	.msg = { .type = 0x02, .msg_id = 0xC0, .dev_num = 0, .token = BTOK, .msg_size = 12,
		 .u.opaque = { .data = bus_impl_event_payload, .len = 4 } },
	.shrink_ok = SHRINK_ANY, .grow = GROW_NONE,
};

static const uint8_t transport_impl_event_payload[] = { 0xC0, 0xFF, 0xEE, 0x11, 0x22 };
static const uint8_t transport_impl_event_bytes[] = {
	0x00, 0xC1, 0x0B, 0x0A, 0xDE, 0xC0, 0x0D, 0x00, /* transport 0xC1, msg_size 13 */
	0xC0, 0xFF, 0xEE, 0x11, 0x22,
};
static const struct golden transport_impl_event = {
	PBOTH, BYTES(transport_impl_event_bytes),
	.msg = { .type = 0x00, .msg_id = 0xC1, .dev_num = DEV, .token = TOK, .msg_size = 13,
		 .u.opaque = { .data = transport_impl_event_payload, .len = 5 } },
	.shrink_ok = SHRINK_ANY, .grow = GROW_NONE,
};

static const uint8_t transport_impl_resp_bytes[] = {
	0x01, 0x81, 0x0B, 0x0A, 0xDE, 0xC0, 0x08, 0x00, /* transport 0x81 resp, empty */
};
static const struct golden transport_impl_resp = {
	PBOTH, BYTES(transport_impl_resp_bytes),
	.msg = { .type = 0x01, .msg_id = 0x81, .dev_num = DEV, .token = TOK, .msg_size = 8,
		 .u.opaque = { .data = NULL, .len = 0 } },
	.shrink_ok = SHRINK_ANY, .grow = GROW_NONE,
};

/* ------------------------------------------------------------------ */
/* The five messages that differ in the 2025 layout (wire note 2.5)   */
/* ------------------------------------------------------------------ */

/* 24-byte payload: feature *bits*, no UUID, le16 admin fields. */
static const uint8_t get_device_info_resp_2025_bytes[] = {
	0x01, 0x02, 0x0B, 0x0A, 0xDE, 0xC0, 0x20, 0x00, /* msg_size 32 */
	0x44, 0x33, 0x22, 0x11,                         /* @8 device_id */
	0x51, 0x45, 0x4D, 0x55,                         /* @12 vendor_id */
	0x23, 0x01, 0x00, 0x00,                         /* @16 num_feature_bits 291 */
	0x44, 0x43, 0x42, 0x41,                         /* @20 config_size */
	0x00, 0x00, 0x01, 0x00,                         /* @24 max_virtqueues 65536 */
	0xE2, 0xE1,                                     /* @28 admin_vq_start le16 */
	0x10, 0x0F,                                     /* @30 admin_vq_count le16 */
};
static const struct golden get_device_info_resp_2025 = {
	P25, BYTES(get_device_info_resp_2025_bytes),
	.msg = { .type = 0x01, .msg_id = 0x02, .dev_num = DEV, .token = TOK, .msg_size = 32,
		 .u.device_info = {
			 .device_id = 0x11223344u, .vendor_id = 0x554D4551u, .uuid = { 0 },
			 /* ceil(291 / 32) = 10 blocks */
			 .num_feature_blocks = 10, .config_size = 0x41424344u,
			 .max_virtqueues = 0x00010000u, .admin_vq_start = 0xE1E2u,
			 .admin_vq_count = 0x0F10u, .num_feature_bits = 291 } },
	.grow = GROW_TRAILING,
};

/* 12-byte payload: le32 length and address. */
static const uint8_t get_shm_resp_2025_bytes[] = {
	0x01, 0x0C, 0x0B, 0x0A, 0xDE, 0xC0, 0x14, 0x00, /* msg_size 20 */
	0x54, 0x53, 0x52, 0x51,                         /* @8 shmid */
	0x64, 0x63, 0x62, 0x61,                         /* @12 length le32 */
	0x74, 0x73, 0x72, 0x71,                         /* @16 address le32 */
};
static const struct golden get_shm_resp_2025 = {
	P25, BYTES(get_shm_resp_2025_bytes),
	.msg = { .type = 0x01, .msg_id = 0x0C, .dev_num = DEV, .token = TOK, .msg_size = 20,
		 .u.shm = { .shmid = 0x51525354u, .length = 0x61626364u,
			    .address = 0x71727374u } },
	.grow = GROW_TRAILING,
};

/* count @10 and next_offset @12 swapped. */
static const uint8_t get_devices_resp_2025_bytes[] = {
	0x03, 0x02, 0x00, 0x00, 0x5B, 0x5A, 0x10, 0x00,
	0x20, 0x01, /* @8 offset 0x120 */
	0x0D, 0x00, /* @10 count 13 */
	0x2D, 0x01, /* @12 next_offset 0x12D */
	0xA5, 0x15, /* @14 bitmap */
};
static const struct golden get_devices_resp_2025 = {
	P25, BYTES(get_devices_resp_2025_bytes),
	.msg = { .type = 0x03, .msg_id = 0x02, .dev_num = 0, .token = BTOK, .msg_size = 16,
		 .u.get_devices = { .offset = 0x120, .count = 13, .next_offset = 0x12D,
				    .bitmap = gdev_window_bitmap } },
	.grow = GROW_TRAILING,
};

/* Word @4 of the payload is reserved (0); a 2025 device enables the queue. */
static const uint8_t set_vqueue_req_2025_bytes[] = {
	0x00, 0x0A, 0x0B, 0x0A, 0xDE, 0xC0, 0x30, 0x00,
	0x34, 0x33, 0x32, 0x31, /* @8 index */
	0x00, 0x00, 0x00, 0x00, /* @12 reserved0 */
	0x00, 0x04, 0x00, 0x00, /* @16 size */
	0x00, 0x00, 0x00, 0x00, /* @20 reserved */
	0x88, 0x87, 0x86, 0x85, 0x84, 0x83, 0x82, 0x81,
	0x98, 0x97, 0x96, 0x95, 0x94, 0x93, 0x92, 0x91,
	0xA8, 0xA7, 0xA6, 0xA5, 0xA4, 0xA3, 0xA2, 0xA1,
};
static const struct golden set_vqueue_req_2025 = {
	P25, BYTES(set_vqueue_req_2025_bytes),
	.msg = { .type = 0x00, .msg_id = 0x0A, .dev_num = DEV, .token = TOK, .msg_size = 48,
		 .u.vqueue = { .index = 0x31323334u, .flags = VMSG_SETVQ_OP_ENABLE,
			       .size = 0x400u, .reserved = 0,
			       .desc_addr = 0x8182838485868788ull,
			       .driver_addr = 0x9192939495969798ull,
			       .device_addr = 0xA1A2A3A4A5A6A7A8ull } },
	.grow = GROW_TRAILING,
};

/* Word @12 is reserved (0); enabled exactly when configured (size != 0). */
static const uint8_t get_vqueue_resp_2025_bytes[] = {
	0x01, 0x09, 0x0B, 0x0A, 0xDE, 0xC0, 0x30, 0x00,
	0x04, 0x03, 0x02, 0x01,
	0x24, 0x23, 0x22, 0x21,
	0x14, 0x13, 0x12, 0x11, /* @16 cur_size != 0 */
	0x00, 0x00, 0x00, 0x00, /* @20 reserved */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
	0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,
};
static const struct golden get_vqueue_resp_2025 = {
	P25, BYTES(get_vqueue_resp_2025_bytes),
	.msg = { .type = 0x01, .msg_id = 0x09, .dev_num = DEV, .token = TOK, .msg_size = 48,
		 .u.vqueue = { .index = 0x01020304u, .max_size = 0x21222324u,
			       .size = 0x11121314u, .flags = VMSG_GETVQ_F_ENABLED,
			       .desc_addr = 0x0102030405060708ull,
			       .driver_addr = 0x1112131415161718ull,
			       .device_addr = 0x2122232425262728ull } },
	.grow = GROW_TRAILING,
};

static const uint8_t get_vqueue_resp_2025_unconfigured_bytes[] = {
	0x01, 0x09, 0x0B, 0x0A, 0xDE, 0xC0, 0x30, 0x00,
	0x04, 0x03, 0x02, 0x01,
	0x24, 0x23, 0x22, 0x21, /* max_size */
	0x00, 0x00, 0x00, 0x00, /* cur_size 0: not enabled */
	0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const struct golden get_vqueue_resp_2025_unconfigured = {
	P25, BYTES(get_vqueue_resp_2025_unconfigured_bytes),
	.msg = { .type = 0x01, .msg_id = 0x09, .dev_num = DEV, .token = TOK, .msg_size = 48,
		 .u.vqueue = { .index = 0x01020304u, .max_size = 0x21222324u, .size = 0,
			       .flags = 0 } },
	.grow = GROW_TRAILING,
};

/* clang-format on */

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* Abs offsets of the variable parts (wire note 1.6). */
#define OFF_FEAT_BLOCKS 16u
#define OFF_CFG_DATA 20u
#define OFF_EVCFG_DATA 24u
#define OFF_GETDEV_BITMAP 14u
#define OFF_OPAQUE 8u

static unsigned usable_profiles(unsigned profiles)
{
#if VMSG_CONFIG_NO_PROFILE_2025
	profiles &= ~P25;
#endif
	if (profiles == 0)
		skip();
	return profiles;
}

static struct vmsg_codec make_codec(unsigned prof, uint32_t flags)
{
	struct vmsg_codec c;

	assert_int_equal(vmsg_codec_init(&c, prof == P25 ? VMSG_PROFILE_2025 : VMSG_PROFILE_2026,
					 MAX, flags),
			 0);
	return c;
}

/* A heap copy of exactly n bytes (at least one byte is allocated). */
static uint8_t *dup_exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

static void check_view(const uint8_t *got, const uint8_t *exp, size_t n, const uint8_t *buf,
		       size_t off)
{
	if (exp == NULL) {
		assert_null(got);
		return;
	}
	assert_ptr_equal(got, buf + off);
	assert_memory_equal(got, exp, n);
}

static void check_bus(const struct vmsg_msg *e, const struct vmsg_msg *o, const uint8_t *buf)
{
	switch (e->msg_id) {
	case 0x02: {
		const struct vmsg_get_devices *eg = &e->u.get_devices, *og = &o->u.get_devices;

		assert_int_equal(og->offset, eg->offset);
		assert_int_equal(og->count, eg->count);
		if (e->type & VMSG_TYPE_RESPONSE) {
			assert_int_equal(og->next_offset, eg->next_offset);
			if (eg->count)
				check_view(og->bitmap, eg->bitmap, (eg->count + 7u) / 8u, buf,
					   OFF_GETDEV_BITMAP);
		}
		break;
	}
	case 0x03:
		assert_int_equal(o->u.ping.data, e->u.ping.data);
		break;
	case 0x40:
		assert_int_equal(o->u.event_device.dev_num, e->u.event_device.dev_num);
		assert_int_equal(o->u.event_device.state, e->u.event_device.state);
		break;
	default:
		fail_msg("no bus vector for msg_id 0x%02x", e->msg_id);
	}
}

static void check_device_info(const struct vmsg_device_info *ed, const struct vmsg_device_info *od)
{
	assert_int_equal(od->device_id, ed->device_id);
	assert_int_equal(od->vendor_id, ed->vendor_id);
	assert_memory_equal(od->uuid, ed->uuid, 16);
	assert_int_equal(od->num_feature_blocks, ed->num_feature_blocks);
	assert_int_equal(od->config_size, ed->config_size);
	assert_int_equal(od->max_virtqueues, ed->max_virtqueues);
	assert_int_equal(od->admin_vq_start, ed->admin_vq_start);
	assert_int_equal(od->admin_vq_count, ed->admin_vq_count);
	assert_int_equal(od->num_feature_bits, ed->num_feature_bits);
}

static void check_vqueue(const struct vmsg_msg *e, const struct vmsg_msg *o)
{
	const struct vmsg_vqueue *ev = &e->u.vqueue, *ov = &o->u.vqueue;
	bool resp = (e->type & VMSG_TYPE_RESPONSE) != 0;

	if (resp && e->msg_id != 0x09)
		return; /* SET_VQUEUE / RESET_VQUEUE responses are empty */
	assert_int_equal(ov->index, ev->index);
	if (e->msg_id == 0x0B || (e->msg_id == 0x09 && !resp))
		return; /* index only */
	if (e->msg_id == 0x09)
		assert_int_equal(ov->max_size, ev->max_size);
	assert_int_equal(ov->size, ev->size);
	assert_int_equal(ov->flags, ev->flags);
	if (e->msg_id == 0x0A)
		assert_int_equal(ov->reserved, ev->reserved);
	assert_int_equal(ov->desc_addr, ev->desc_addr);
	assert_int_equal(ov->driver_addr, ev->driver_addr);
	assert_int_equal(ov->device_addr, ev->device_addr);
}

static void check_transport(const struct vmsg_msg *e, const struct vmsg_msg *o, const uint8_t *buf)
{
	bool resp = (e->type & VMSG_TYPE_RESPONSE) != 0;

	switch (e->msg_id) {
	case 0x02:
		if (resp)
			check_device_info(&e->u.device_info, &o->u.device_info);
		break;
	case 0x03:
	case 0x04:
		if (e->msg_id == 0x04 && resp)
			break;
		assert_int_equal(o->u.features.block_index, e->u.features.block_index);
		assert_int_equal(o->u.features.num_blocks, e->u.features.num_blocks);
		if (e->u.features.blocks)
			check_view(o->u.features.blocks, e->u.features.blocks,
				   4u * e->u.features.num_blocks, buf, OFF_FEAT_BLOCKS);
		break;
	case 0x05:
	case 0x06:
		if (e->msg_id == 0x06 || resp)
			assert_int_equal(o->u.config.generation, e->u.config.generation);
		assert_int_equal(o->u.config.offset, e->u.config.offset);
		assert_int_equal(o->u.config.length, e->u.config.length);
		check_view(o->u.config.data, e->u.config.data, e->u.config.length, buf,
			   OFF_CFG_DATA);
		break;
	case 0x07:
		if (resp)
			assert_int_equal(o->u.status.status, e->u.status.status);
		break;
	case 0x08:
		assert_int_equal(o->u.status.status, e->u.status.status);
		break;
	case 0x09:
	case 0x0A:
	case 0x0B:
		check_vqueue(e, o);
		break;
	case 0x0C:
		assert_int_equal(o->u.shm.shmid, e->u.shm.shmid);
		if (resp) {
			assert_int_equal(o->u.shm.length, e->u.shm.length);
			assert_int_equal(o->u.shm.address, e->u.shm.address);
		}
		break;
	case 0x40: {
		const struct vmsg_event_config *ee = &e->u.event_config, *oe = &o->u.event_config;

		assert_int_equal(oe->device_status, ee->device_status);
		assert_int_equal(oe->generation, ee->generation);
		assert_int_equal(oe->offset, ee->offset);
		assert_int_equal(oe->length, ee->length);
		check_view(oe->data, ee->data, ee->length, buf, OFF_EVCFG_DATA);
		break;
	}
	case 0x41:
		assert_int_equal(o->u.event_avail.vq_index, e->u.event_avail.vq_index);
		assert_int_equal(o->u.event_avail.next_offset, e->u.event_avail.next_offset);
		break;
	case 0x42:
		assert_int_equal(o->u.event_used.vq_index, e->u.event_used.vq_index);
		break;
	default:
		fail_msg("no transport vector for msg_id 0x%02x", e->msg_id);
	}
}

/* Compare a decoded message with the expected one, field by field. */
static void check_msg(const struct vmsg_msg *e, const struct vmsg_msg *o, const uint8_t *buf)
{
	assert_int_equal(o->type, e->type);
	assert_int_equal(o->msg_id, e->msg_id);
	assert_int_equal(o->dev_num, e->dev_num);
	assert_int_equal(o->token, e->token);
	assert_int_equal(o->msg_size, e->msg_size);

	if (e->msg_id & 0x80u) {
		assert_int_equal(o->u.opaque.len, e->u.opaque.len);
		if (e->u.opaque.len)
			check_view(o->u.opaque.data, e->u.opaque.data, e->u.opaque.len, buf,
				   OFF_OPAQUE);
	} else if (e->type & VMSG_TYPE_BUS) {
		check_bus(e, o, buf);
	} else {
		check_transport(e, o, buf);
	}
}

/* ------------------------------------------------------------------ */
/* The per-vector tests                                               */
/* ------------------------------------------------------------------ */

/* encode(struct) == bytes, into a buffer of exactly msg_size and a larger one. */
static void golden_encode(void **state)
{
	const struct golden *g = *state;
	unsigned profiles = usable_profiles(g->profiles);

	for (unsigned prof = P26; prof <= P25; prof <<= 1) {
		struct vmsg_codec c;
		struct vmsg_msg m = g->msg;
		uint8_t *exact, big[MAX + 16];
		int ret;

		if (!(profiles & prof))
			continue;
		c = make_codec(prof, 0);
		m.msg_size = 0xDEAD; /* ignored by encode */

		/* a heap buffer of exactly msg_size: ASan sees any write past it */
		exact = malloc(g->len);
		assert_non_null(exact);
		memset(exact, 0xA5, g->len);
		ret = vmsg_proto_encode(&c, &m, exact, g->len);
		memcpy(big, exact, g->len);
		free(exact);
		assert_int_equal(ret, g->len);
		assert_memory_equal(big, g->bytes, g->len);

		memset(big, 0xA5, sizeof(big));
		ret = vmsg_proto_encode(&c, &m, big, sizeof(big));
		assert_int_equal(ret, g->len);
		assert_memory_equal(big, g->bytes, g->len);
		for (size_t i = g->len; i < sizeof(big); i++)
			assert_int_equal(big[i], 0xA5);

		/* the exact-size flag changes nothing for a well-formed message */
		c = make_codec(prof, VMSG_CODEC_F_EXACT_SIZE);
		ret = vmsg_proto_encode(&c, &m, big, sizeof(big));
		assert_int_equal(ret, g->len);
		assert_memory_equal(big, g->bytes, g->len);
	}
}

/* decode(bytes) == struct; with bus framing after msg_size too. */
static void golden_decode(void **state)
{
	const struct golden *g = *state;
	unsigned profiles = usable_profiles(g->profiles);

	for (unsigned prof = P26; prof <= P25; prof <<= 1) {
		for (int exact_flag = 0; exact_flag < 2; exact_flag++) {
			struct vmsg_codec c;
			struct vmsg_msg out;
			uint8_t *buf;

			if (!(profiles & prof))
				continue;
			c = make_codec(prof, exact_flag ? VMSG_CODEC_F_EXACT_SIZE : 0);

			buf = dup_exact(g->bytes, g->len);
			memset(&out, 0xA5, sizeof(out));
			assert_int_equal(vmsg_proto_decode(&c, buf, g->len, &out), 0);
			check_msg(&g->msg, &out, buf);
			free(buf);

			/* len > msg_size: the extra bytes are framing and ignored */
			buf = malloc(g->len + 5u);
			assert_non_null(buf);
			memcpy(buf, g->bytes, g->len);
			memset(buf + g->len, 0xEE, 5);
			memset(&out, 0x5A, sizeof(out));
			assert_int_equal(vmsg_proto_decode(&c, buf, g->len + 5u, &out), 0);
			check_msg(&g->msg, &out, buf);
			free(buf);
		}
	}
}

/* Every truncation fails with VMSG_ESHORT and leaves out untouched. */
static void golden_truncated(void **state)
{
	const struct golden *g = *state;
	unsigned profiles = usable_profiles(g->profiles);

	for (unsigned prof = P26; prof <= P25; prof <<= 1) {
		struct vmsg_codec c;

		if (!(profiles & prof))
			continue;
		c = make_codec(prof, 0);
		for (size_t len = 0; len < g->len; len++) {
			uint8_t *buf = dup_exact(g->bytes, len);
			struct vmsg_msg out, ref;
			int ret;

			memset(&out, 0xA5, sizeof(out));
			memcpy(&ref, &out, sizeof(ref));
			ret = vmsg_proto_decode(&c, buf, len, &out);
			free(buf);
			/* len < 8: rule 1; otherwise msg_size > len: rule 4 */
			if (ret != VMSG_ESHORT)
				fail_msg("len %zu of %u: decode returned %d", len, g->len, ret);
			assert_memory_equal(&out, &ref, sizeof(out));
		}
	}
}

/* Every smaller msg_size (len = msg_size) is inconsistent, unless valid too. */
static void golden_shrunk(void **state)
{
	const struct golden *g = *state;
	unsigned profiles = usable_profiles(g->profiles);

	for (unsigned prof = P26; prof <= P25; prof <<= 1) {
		struct vmsg_codec c;

		if (!(profiles & prof))
			continue;
		c = make_codec(prof, 0);
		for (uint16_t size = 8; size < g->len; size++) {
			uint8_t *buf = dup_exact(g->bytes, size);
			struct vmsg_msg out;
			int ret, want;

			buf[6] = (uint8_t)size;
			buf[7] = (uint8_t)(size >> 8);
			ret = vmsg_proto_decode(&c, buf, size, &out);
			free(buf);
			want = g->shrink_ok == SHRINK_ANY || size == g->shrink_ok ? 0 :
										    VMSG_EBADMSG;
			if (ret != want)
				fail_msg("msg_size %u: decode returned %d, want %d", size, ret,
					 want);
		}
	}
}

/* Trailing bytes inside msg_size: requests/responses yes, events and exact no. */
static void golden_trailing(void **state)
{
	const struct golden *g = *state;
	unsigned profiles = usable_profiles(g->profiles);

	for (unsigned prof = P26; prof <= P25; prof <<= 1) {
		if (!(profiles & prof))
			continue;
		for (uint16_t extra = 1; extra <= 4; extra++) {
			uint16_t size = (uint16_t)(g->len + extra);
			struct vmsg_codec c = make_codec(prof, 0);
			struct vmsg_codec x = make_codec(prof, VMSG_CODEC_F_EXACT_SIZE);
			struct vmsg_msg out, exp = g->msg;
			uint8_t *buf = malloc(size);
			int ret, xret;

			assert_non_null(buf);
			memcpy(buf, g->bytes, g->len);
			memset(buf + g->len, 0xEE, extra);
			buf[6] = (uint8_t)size;
			buf[7] = (uint8_t)(size >> 8);

			xret = vmsg_proto_decode(&x, buf, size, &out);
			ret = vmsg_proto_decode(&c, buf, size, &out);
			if (g->grow == GROW_TRAILING && ret == 0) {
				exp.msg_size = size;
				check_msg(&exp, &out, buf);
			}
			free(buf);
			assert_int_equal(ret, g->grow == GROW_TRAILING ? 0 : VMSG_EBADMSG);
			assert_int_equal(xret, VMSG_EBADMSG);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Extra checks on particular messages                                */
/* ------------------------------------------------------------------ */

/* The spec's example: bitmap 0x25 0x00 means devices 0, 2 and 5. */
static void test_proto_get_devices_resp_spec_example_present(void **state)
{
	struct vmsg_codec c = make_codec(P26, 0);
	struct vmsg_msg out;

	(void)state;
	assert_int_equal(
		vmsg_proto_decode(&c, get_devices_resp_bytes, sizeof(get_devices_resp_bytes), &out),
		0);
	for (uint32_t n = 0; n < 20; n++) {
		bool want = n == 0 || n == 2 || n == 5;

		assert_int_equal(vmsg_get_devices_present(&out.u.get_devices, n), want);
	}

	/* window 0x120 + 13 with 0xA5 0x15: slots 0, 2, 5, 7, 8, 10, 12 */
	assert_int_equal(vmsg_proto_decode(&c, get_devices_resp_window_bytes,
					   sizeof(get_devices_resp_window_bytes), &out),
			 0);
	for (uint32_t n = 0; n < 16; n++) {
		bool want = n == 0 || n == 2 || n == 5 || n == 7 || n == 8 || n == 10 || n == 12;

		assert_int_equal(vmsg_get_devices_present(&out.u.get_devices, n), want);
	}
}

static void test_proto_get_device_features_resp_blocks(void **state)
{
	struct vmsg_codec c = make_codec(P26, 0);
	struct vmsg_msg out;

	(void)state;
	assert_int_equal(vmsg_proto_decode(&c, get_device_features_resp_bytes,
					   sizeof(get_device_features_resp_bytes), &out),
			 0);
	assert_int_equal(vmsg_features_block(&out.u.features, 0), 0x11223344u);
	assert_int_equal(vmsg_features_block(&out.u.features, 1), 0x55667788u);
	assert_int_equal(vmsg_features_block(&out.u.features, 2), 0x99AABBCCu);
}

/* 2026 encode ignores num_feature_bits (proto.h). */
static void test_proto_get_device_info_resp_ignores_feature_bits(void **state)
{
	struct vmsg_codec c = make_codec(P26, 0);
	struct vmsg_msg m = get_device_info_resp.msg;
	uint8_t buf[64];

	(void)state;
	m.u.device_info.num_feature_bits = 12345;
	assert_int_equal(vmsg_proto_encode(&c, &m, buf, sizeof(buf)), 52);
	assert_memory_equal(buf, get_device_info_resp_bytes, 52);
}

/* 2025: num_feature_blocks = ceil(num_feature_bits / 32), without overflow. */
static void test_proto_get_device_info_resp_2025_feature_bits_rounding(void **state)
{
	static const struct {
		uint32_t bits, blocks;
	} cases[] = {
		{ 0, 0 },
		{ 1, 1 },
		{ 31, 1 },
		{ 32, 1 },
		{ 33, 2 },
		{ 64, 2 },
		{ 0xFFFFFFE0u, 0x07FFFFFFu },
		{ 0xFFFFFFE1u, 0x08000000u },
		{ 0xFFFFFFFFu, 0x08000000u },
	};
	struct vmsg_codec c;

	(void)state;
	usable_profiles(P25);
	c = make_codec(P25, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[32];
		struct vmsg_msg out;

		memcpy(buf, get_device_info_resp_2025_bytes, sizeof(buf));
		buf[16] = (uint8_t)cases[i].bits;
		buf[17] = (uint8_t)(cases[i].bits >> 8);
		buf[18] = (uint8_t)(cases[i].bits >> 16);
		buf[19] = (uint8_t)(cases[i].bits >> 24);
		assert_int_equal(vmsg_proto_decode(&c, buf, sizeof(buf), &out), 0);
		assert_int_equal(out.u.device_info.num_feature_bits, cases[i].bits);
		assert_int_equal(out.u.device_info.num_feature_blocks, cases[i].blocks);
	}
}

/* "A view may point into buf (the data is moved)." */
static void test_proto_encode_view_inside_output(void **state)
{
	struct vmsg_codec c = make_codec(P26, 0);
	static const size_t where[] = { 0, 3, 20, 21, 40 };

	(void)state;
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		uint8_t buf[64];
		struct vmsg_msg m = set_config_req.msg;

		memset(buf, 0xA5, sizeof(buf));
		memcpy(buf + where[i], scfg_data, sizeof(scfg_data));
		m.u.config.data = buf + where[i];
		assert_int_equal(vmsg_proto_encode(&c, &m, buf, sizeof(buf)), 25);
		assert_memory_equal(buf, set_config_req_bytes, 25);
	}
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		uint8_t buf[64];
		struct vmsg_msg m = get_device_features_resp.msg;

		memset(buf, 0xA5, sizeof(buf));
		memcpy(buf + where[i], gdf_blocks, sizeof(gdf_blocks));
		m.u.features.blocks = buf + where[i];
		assert_int_equal(vmsg_proto_encode(&c, &m, buf, sizeof(buf)), 28);
		assert_memory_equal(buf, get_device_features_resp_bytes, 28);
	}
}

/* The differing messages do not decode to the same meaning in the other profile. */
static void test_proto_profiles_differ_on_five_messages(void **state)
{
	struct vmsg_codec c26 = make_codec(P26, 0), c25;
	struct vmsg_msg out;

	(void)state;
	usable_profiles(P25);
	c25 = make_codec(P25, 0);
	/* 2025 GET_DEVICE_INFO/GET_SHM responses are below the 2026 fixed size */
	assert_int_equal(vmsg_proto_decode(&c26, get_device_info_resp_2025_bytes,
					   sizeof(get_device_info_resp_2025_bytes), &out),
			 VMSG_EBADMSG);
	assert_int_equal(vmsg_proto_decode(&c26, get_shm_resp_2025_bytes,
					   sizeof(get_shm_resp_2025_bytes), &out),
			 VMSG_EBADMSG);
	/* the 2026 flags words are reserved in 2025 */
	assert_int_equal(
		vmsg_proto_decode(&c25, set_vqueue_req_bytes, sizeof(set_vqueue_req_bytes), &out),
		VMSG_ERESERVED);
	assert_int_equal(
		vmsg_proto_decode(&c25, get_vqueue_resp_bytes, sizeof(get_vqueue_resp_bytes), &out),
		VMSG_ERESERVED);
	/* GET_DEVICES: read with count and next_offset swapped, the 2026 window
	 * says count 0x12D, which needs 38 bitmap bytes: inconsistent */
	assert_int_equal(vmsg_proto_decode(&c25, get_devices_resp_window_bytes,
					   sizeof(get_devices_resp_window_bytes), &out),
			 VMSG_EBADMSG);
	/* and the 2025 window read as 2026: next_offset 13 is not above 0x120 */
	assert_int_equal(vmsg_proto_decode(&c26, get_devices_resp_2025_bytes,
					   sizeof(get_devices_resp_2025_bytes), &out),
			 VMSG_EBADMSG);
}

/* ------------------------------------------------------------------ */

#define T(name, fn, v)                                           \
	{                                                        \
		"test_proto_" name, fn, NULL, NULL, (void *)&(v) \
	}
/* every vector */
#define GOLDEN(v)                                                             \
	T(#v "_encode", golden_encode, v), T(#v "_decode", golden_decode, v), \
		T(#v "_truncated", golden_truncated, v)
/* vectors with a payload: also the smaller-msg_size sweep */
#define SHRINK(v) T(#v "_shrunk", golden_shrunk, v)
/* vectors whose larger msg_size is trailing bytes (or an event) */
#define TRAIL(v) T(#v "_trailing", golden_trailing, v)

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		GOLDEN(get_device_info_req), TRAIL(get_device_info_req),
		GOLDEN(get_device_info_resp), SHRINK(get_device_info_resp),
		TRAIL(get_device_info_resp),
		GOLDEN(get_device_features_req), SHRINK(get_device_features_req),
		TRAIL(get_device_features_req),
		GOLDEN(get_device_features_resp), SHRINK(get_device_features_resp),
		TRAIL(get_device_features_resp),
		GOLDEN(set_driver_features_req), SHRINK(set_driver_features_req),
		TRAIL(set_driver_features_req),
		GOLDEN(set_driver_features_resp), TRAIL(set_driver_features_resp),
		GOLDEN(get_config_req), SHRINK(get_config_req), TRAIL(get_config_req),
		GOLDEN(get_config_resp), SHRINK(get_config_resp), TRAIL(get_config_resp),
		GOLDEN(get_config_resp_empty), SHRINK(get_config_resp_empty),
		TRAIL(get_config_resp_empty),
		GOLDEN(set_config_req), SHRINK(set_config_req), TRAIL(set_config_req),
		GOLDEN(set_config_resp), SHRINK(set_config_resp), TRAIL(set_config_resp),
		GOLDEN(set_config_resp_noecho), SHRINK(set_config_resp_noecho),
		GOLDEN(set_config_resp_rejected), SHRINK(set_config_resp_rejected),
		GOLDEN(get_device_status_req), TRAIL(get_device_status_req),
		GOLDEN(get_device_status_resp), SHRINK(get_device_status_resp),
		TRAIL(get_device_status_resp),
		GOLDEN(set_device_status_req), SHRINK(set_device_status_req),
		TRAIL(set_device_status_req),
		GOLDEN(set_device_status_resp), SHRINK(set_device_status_resp),
		TRAIL(set_device_status_resp),
		GOLDEN(get_vqueue_req), SHRINK(get_vqueue_req), TRAIL(get_vqueue_req),
		GOLDEN(get_vqueue_resp), SHRINK(get_vqueue_resp), TRAIL(get_vqueue_resp),
		GOLDEN(set_vqueue_req), SHRINK(set_vqueue_req), TRAIL(set_vqueue_req),
		GOLDEN(set_vqueue_resp), TRAIL(set_vqueue_resp),
		GOLDEN(reset_vqueue_req), SHRINK(reset_vqueue_req), TRAIL(reset_vqueue_req),
		GOLDEN(reset_vqueue_resp), TRAIL(reset_vqueue_resp),
		GOLDEN(get_shm_req), SHRINK(get_shm_req), TRAIL(get_shm_req),
		GOLDEN(get_shm_resp), SHRINK(get_shm_resp), TRAIL(get_shm_resp),
		GOLDEN(event_config), SHRINK(event_config), TRAIL(event_config),
		GOLDEN(event_config_nodata), SHRINK(event_config_nodata),
		TRAIL(event_config_nodata),
		GOLDEN(event_avail), SHRINK(event_avail), TRAIL(event_avail),
		GOLDEN(event_used), SHRINK(event_used), TRAIL(event_used),
		GOLDEN(get_devices_req), SHRINK(get_devices_req), TRAIL(get_devices_req),
		GOLDEN(get_devices_resp), SHRINK(get_devices_resp), TRAIL(get_devices_resp),
		GOLDEN(get_devices_req_window), SHRINK(get_devices_req_window),
		TRAIL(get_devices_req_window),
		GOLDEN(get_devices_resp_window), SHRINK(get_devices_resp_window),
		TRAIL(get_devices_resp_window),
		GOLDEN(get_devices_resp_empty), SHRINK(get_devices_resp_empty),
		TRAIL(get_devices_resp_empty),
		GOLDEN(ping_req), SHRINK(ping_req), TRAIL(ping_req),
		GOLDEN(ping_resp), SHRINK(ping_resp), TRAIL(ping_resp),
		GOLDEN(event_device), SHRINK(event_device), TRAIL(event_device),
		GOLDEN(event_device_removed), SHRINK(event_device_removed),
		GOLDEN(bus_impl_req), SHRINK(bus_impl_req),
		GOLDEN(bus_impl_event), SHRINK(bus_impl_event),
		GOLDEN(transport_impl_event), SHRINK(transport_impl_event),
		GOLDEN(transport_impl_resp),
		GOLDEN(get_device_info_resp_2025), SHRINK(get_device_info_resp_2025),
		TRAIL(get_device_info_resp_2025),
		GOLDEN(get_shm_resp_2025), SHRINK(get_shm_resp_2025), TRAIL(get_shm_resp_2025),
		GOLDEN(get_devices_resp_2025), SHRINK(get_devices_resp_2025),
		TRAIL(get_devices_resp_2025),
		GOLDEN(set_vqueue_req_2025), SHRINK(set_vqueue_req_2025),
		TRAIL(set_vqueue_req_2025),
		GOLDEN(get_vqueue_resp_2025), SHRINK(get_vqueue_resp_2025),
		TRAIL(get_vqueue_resp_2025),
		GOLDEN(get_vqueue_resp_2025_unconfigured),
		SHRINK(get_vqueue_resp_2025_unconfigured),
		TRAIL(get_vqueue_resp_2025_unconfigured),
		cmocka_unit_test(test_proto_get_devices_resp_spec_example_present),
		cmocka_unit_test(test_proto_get_device_features_resp_blocks),
		cmocka_unit_test(test_proto_get_device_info_resp_ignores_feature_bits),
		cmocka_unit_test(test_proto_get_device_info_resp_2025_feature_bits_rounding),
		cmocka_unit_test(test_proto_encode_view_inside_output),
		cmocka_unit_test(test_proto_profiles_differ_on_five_messages),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
