/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One-line rendering of a message, for logs and the dump tool. Driven by the
 * same tables as the codec, so a new field shows up here by construction.
 * Needs no libc: a tiny writer that counts what it could not store, so the
 * return value is the full length, as with snprintf.
 */
#include "proto/proto_internal.h"

#if !VMSG_CONFIG_NO_FORMAT

#define MAX_DATA_SHOWN 16u /* bytes of a variable part shown before "..." */

struct writer {
	char *buf;
	size_t cap;
	size_t len; /* the full length, even past cap */
};

static void put_char(struct writer *w, char ch)
{
	if (w->len + 1 < w->cap)
		w->buf[w->len] = ch;
	w->len++;
}

static void put_str(struct writer *w, const char *s)
{
	while (*s)
		put_char(w, *s++);
}

static void put_dec(struct writer *w, uint64_t v)
{
	char tmp[20];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (n)
		put_char(w, tmp[--n]);
}

static void put_hex(struct writer *w, uint64_t v, unsigned min_digits)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	unsigned n = 0;

	do {
		tmp[n++] = digits[v & 0xFu];
		v >>= 4;
	} while (v || n < min_digits);
	while (n)
		put_char(w, tmp[--n]);
}

static void put_bytes(struct writer *w, const char *name, const uint8_t *p, uint32_t len)
{
	uint32_t shown = len < MAX_DATA_SHOWN ? len : MAX_DATA_SHOWN;

	put_char(w, ' ');
	put_str(w, name);
	put_char(w, '=');
	if (!p || len == 0) {
		put_str(w, "-");
		return;
	}
	for (uint32_t i = 0; i < shown; i++)
		put_hex(w, p[i], 2);
	if (shown < len)
		put_str(w, "...");
}

/* The host value of a (2, 4 or 8-byte) field of @m, read through its
 * object representation (valid for any member type and alignment). */
static uint64_t field_get(const struct vmsg_msg *m, const struct vmsg_field *f)
{
	const uint8_t *p = (const uint8_t *)m + f->host_off;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (VMSG_FIELD_HOST_SIZE(f)) {
	case 2:
		vmsg_move_bytes((uint8_t *)&v16, p, 2);
		return v16;
	case 4:
		vmsg_move_bytes((uint8_t *)&v32, p, 4);
		return v32;
	default:
		vmsg_move_bytes((uint8_t *)&v64, p, 8);
		return v64;
	}
}

/* Small values read best in decimal, addresses and bit sets in hex. */
static void put_field(struct writer *w, const struct vmsg_msg *m, const struct vmsg_field *f)
{
	const uint8_t *p = (const uint8_t *)m + f->host_off;
	uint64_t v;

	put_char(w, ' ');
	put_str(w, f->name);
	put_char(w, '=');
	if (VMSG_FIELD_HOST_SIZE(f) == 16) {
		for (unsigned i = 0; i < 16; i++)
			put_hex(w, p[i], 2);
		return;
	}
	v = field_get(m, f);
	if (v >= 0x10000u) {
		put_str(w, "0x");
		put_hex(w, v, 1);
	} else {
		put_dec(w, v);
	}
}

static void put_variable(struct writer *w, const struct vmsg_layout *l, const struct vmsg_msg *m)
{
	switch (l->kind) {
	case VMSG_VAR_FEAT_BLOCKS:
		put_bytes(w, "blocks", m->u.features.blocks, 4u * m->u.features.num_blocks);
		break;
	case VMSG_VAR_CFG_DATA:
	case VMSG_VAR_CFG_SET_RESP:
		put_bytes(w, "data", m->u.config.data, m->u.config.data ? m->u.config.length : 0);
		break;
	case VMSG_VAR_EVCFG:
		put_bytes(w, "data", m->u.event_config.data,
			  m->u.event_config.data ? m->u.event_config.length : 0);
		break;
	case VMSG_VAR_GETDEV_RESP:
		put_str(w, " present=");
		put_char(w, '[');
		for (uint32_t n = 0, shown = 0; n < m->u.get_devices.count; n++) {
			if (!vmsg_get_devices_present(&m->u.get_devices, n))
				continue;
			if (shown++)
				put_char(w, ',');
			put_dec(w, (uint32_t)m->u.get_devices.offset + n);
		}
		put_char(w, ']');
		break;
	default:
		break;
	}
}

int vmsg_proto_format(const struct vmsg_msg *m, char *buf, size_t cap)
{
	struct writer w = { buf, cap, 0 };
	const struct vmsg_msg_desc *d;

	if (!m || (!buf && cap))
		return VMSG_EINVAL;
	if (m->type & VMSG_TYPE_BUS)
		put_str(&w, "bus ");
	put_str(&w, vmsg_proto_msg_name(m->type, m->msg_id));
	if (!(m->msg_id & VMSG_ID_EVENT))
		put_str(&w, (m->type & VMSG_TYPE_RESPONSE) ? " resp" : " req");
	put_str(&w, " dev=");
	put_dec(&w, m->dev_num);
	put_str(&w, " token=0x");
	put_hex(&w, m->token, 4);
	put_str(&w, " size=");
	put_dec(&w, m->msg_size);

	d = (m->msg_id & VMSG_ID_IMPL) ?
		    0 : vmsg_proto_lookup(VMSG_PROFILE_2026, (m->type & VMSG_TYPE_BUS) != 0, m->msg_id);
	if (d) {
		const struct vmsg_layout *l = vmsg_desc_layout(d, m->type & VMSG_TYPE_RESPONSE);

		for (unsigned i = 0; l && i < l->nfields; i++)
			put_field(&w, m, &vmsg_layout_fields(l)[i]);
		if (l)
			put_variable(&w, l, m);
	} else if (m->msg_id & VMSG_ID_IMPL) {
		put_str(&w, " id=0x");
		put_hex(&w, m->msg_id, 2);
		put_bytes(&w, "payload", m->u.opaque.data, m->u.opaque.len);
	}
	if (cap)
		buf[w.len < cap ? w.len : cap - 1] = '\0';
	return w.len > 0x7FFFFFFF ? 0x7FFFFFFF : (int)w.len;
}

const char *vmsg_proto_msg_name(uint8_t type, uint8_t msg_id)
{
	const struct vmsg_msg_desc *d;

	if (msg_id & VMSG_ID_IMPL)
		return "impl-defined";
	d = vmsg_proto_lookup(VMSG_PROFILE_2026, (type & VMSG_TYPE_BUS) != 0, msg_id);
	if (!d)
		return "unknown";
	return d->name;
}

#else /* VMSG_CONFIG_NO_FORMAT */

int vmsg_proto_format(const struct vmsg_msg *m, char *buf, size_t cap)
{
	if (!m || (!buf && cap))
		return VMSG_EINVAL;
	if (cap)
		buf[0] = '\0';
	return 0;
}

const char *vmsg_proto_msg_name(uint8_t type, uint8_t msg_id)
{
	(void)type;
	(void)msg_id;
	return "?";
}

#endif
