/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the proto tests: include after <cmocka.h> and
 * "virtio_msg/proto.h" (it uses fail_msg() and skip()).
 */
#ifndef VMSG_TESTS_PROTO_ROLE_H
#define VMSG_TESTS_PROTO_ROLE_H

/* ------------------------------------------------------------------ */
/* One-role builds                                                    */
/* ------------------------------------------------------------------ */

/*
 * With VMSG_CONFIG_ROLE_DEVICE_ONLY or _DRIVER_ONLY (config.h) the codec
 * refuses with VMSG_ENOTSUP every message this role never sends (encode) or
 * never receives (decode). A test that needs such a message checks exactly
 * that refusal and is then skipped, never passed: these wrappers replace
 * the two calls for the rest of the including file. Errors the codec finds before
 * it looks at the message (length, header, arguments) come first whatever
 * the role, so the test goes on with them. Both roles: no wrapper.
 */
#if VMSG_CONFIG_ROLE_DEVICE_ONLY || VMSG_CONFIG_ROLE_DRIVER_ONLY
#define ROLE_DRIVER 1u
#define ROLE_DEVICE 2u
#define LOCAL_ROLE (VMSG_CONFIG_ROLE_DRIVER_ONLY ? ROLE_DRIVER : ROLE_DEVICE)
#define PEER_ROLE (ROLE_DRIVER + ROLE_DEVICE - LOCAL_ROLE)

/* Who sends (type, msg_id), from the spec (1.2 to 1.6): transport requests
 * and EVENT_AVAIL go driver to device, their responses and EVENT_CONFIG and
 * EVENT_USED the other way; bus GET_DEVICES from the driver, EVENT_DEVICE
 * from the device, PING both ways. Implementation-defined and unknown IDs:
 * either side (the codec's answer does not depend on the role). */
static unsigned role_sender(uint8_t type, uint8_t msg_id)
{
	unsigned req;

	if (msg_id & 0x80u)
		return ROLE_DRIVER | ROLE_DEVICE;
	if (type & 0x02u) { /* bus */
		if (msg_id == 0x02u)
			req = ROLE_DRIVER;
		else if (msg_id == 0x40u)
			req = ROLE_DEVICE;
		else
			return ROLE_DRIVER | ROLE_DEVICE;
	} else if ((msg_id >= 0x02u && msg_id <= 0x0Cu) || msg_id == 0x41u) {
		req = ROLE_DRIVER;
	} else if (msg_id == 0x40u || msg_id == 0x42u) {
		req = ROLE_DEVICE;
	} else {
		return ROLE_DRIVER | ROLE_DEVICE;
	}
	return (type & 0x01u) ? ROLE_DRIVER + ROLE_DEVICE - req : req;
}

static int role_encode(const struct vmsg_codec *c, const struct vmsg_msg *m, uint8_t *buf,
		       size_t cap)
{
	int ret = (vmsg_proto_encode)(c, m, buf, cap);

	if (m && !(role_sender(m->type, m->msg_id) & LOCAL_ROLE)) {
		if (ret >= 0)
			fail_msg("encoded type %u id 0x%02x, which this role never sends",
				 m->type, m->msg_id);
		if (ret == VMSG_ENOTSUP)
			skip(); /* needs the other role */
	}
	return ret;
}

static int role_decode(const struct vmsg_codec *c, const uint8_t *buf, size_t len,
		       struct vmsg_msg *out)
{
	int ret = (vmsg_proto_decode)(c, buf, len, out);

	if (buf && len >= 8 && !(role_sender(buf[0] & 0x03u, buf[1]) & PEER_ROLE)) {
		if (ret == 0)
			fail_msg("decoded type %u id 0x%02x, which this role never receives",
				 buf[0] & 0x03u, buf[1]);
		if (ret == VMSG_ENOTSUP)
			skip(); /* needs the other role */
	}
	return ret;
}

#define vmsg_proto_encode(c, m, buf, cap) role_encode(c, m, buf, cap)
#define vmsg_proto_decode(c, buf, len, out) role_decode(c, buf, len, out)
#endif

#endif /* VMSG_TESTS_PROTO_ROLE_H */
