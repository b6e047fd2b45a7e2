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

/* Field names exist only for the formatter. */
#if VMSG_CONFIG_NO_FORMAT
#define VMSG_FIELD_NAME(s) 0
#else
#define VMSG_FIELD_NAME(s) s
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

struct vmsg_field {
	uint8_t wire_off;  /* absolute offset in the message */
	uint8_t wire_size; /* 2, 4, 8 or 16 */
	uint8_t host_off;  /* offset of the member in struct vmsg_msg */
	uint8_t host_size; /* 2, 4, 8 or 16; >= wire_size */
	const char *name;  /* formatter only (NULL when compiled out) */
};

struct vmsg_layout {
	uint8_t size;    /* fixed msg_size, header included */
	uint8_t kind;    /* enum vmsg_var_kind */
	uint8_t nfields;
	const struct vmsg_field *fields;
};

struct vmsg_msg_desc {
	uint8_t bus;    /* 1 = bus namespace */
	uint8_t msg_id;
	const char *name;
	const struct vmsg_layout *req;  /* the request, or the event */
	const struct vmsg_layout *resp; /* NULL for events */
};

/* The description of a standard message, or NULL if the ID is unknown. */
const struct vmsg_msg_desc *vmsg_proto_lookup(unsigned profile, int bus, uint8_t msg_id);

/* The host value of a (2, 4 or 8-byte) field of @m. */
uint64_t vmsg_field_get(const struct vmsg_msg *m, const struct vmsg_field *f);

/* Byte copy that tolerates overlap; the core uses no libc. */
void vmsg_move_bytes(uint8_t *dst, const uint8_t *src, size_t n);

#endif /* VMSG_PROTO_INTERNAL_H */
