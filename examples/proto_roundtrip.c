/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Demo of the codec: a driver builds the requests of a device's start-up
 * sequence, a device-side decoder reads them back, and both sides print
 * every message as one line. Also shows how hostile input is refused.
 */
#include <stdio.h>
#include <string.h>

#include <virtio_msg/virtio_msg.h>

static int show(const char *who, const struct vmsg_codec *c, const uint8_t *buf, size_t len)
{
	struct vmsg_msg m;
	char line[256];
	int err = vmsg_proto_decode(c, buf, len, &m);

	if (err) {
		printf("%-7s rejected %zu bytes: %s (%s)\n", who, len, vmsg_strerror_name(err),
		       vmsg_strerror(err));
		return err;
	}
	(void)vmsg_proto_format(&m, line, sizeof(line));
	printf("%-7s %s\n", who, line);
	return 0;
}

static int send_and_show(const struct vmsg_codec *c, const struct vmsg_msg *m)
{
	uint8_t buf[VMSG_MAX_MSG_SIZE_DEFAULT];
	int n = vmsg_proto_encode(c, m, buf, sizeof(buf));

	if (n < 0) {
		printf("encode failed: %s\n", vmsg_strerror(n));
		return n;
	}
	return show(vmsg_wire_is_response(buf[0]) ? "device:" : "driver:", c, buf, (size_t)n);
}

int main(void)
{
	struct vmsg_codec codec;
	struct vmsg_msg m;
	uint8_t features[8], cfg[8] = { 0x00, 0x10, 0, 0, 0, 0, 0, 0 };
	uint8_t bitmap[2] = { 0x25, 0x00 };
	uint8_t evil[12];
	int err = 0;

	printf("virtio-msg %s, transport revision %d\n", vmsg_version_string(), VMSG_SPEC_REVISION);
	if (vmsg_codec_init(&codec, VMSG_PROFILE_2026, VMSG_MAX_MSG_SIZE_DEFAULT, 0))
		return 1;

	/* Bus discovery: which device numbers exist? */
	memset(&m, 0, sizeof(m));
	m.type = VMSG_TYPE_BUS;
	m.msg_id = VMSG_BUS_ID_GET_DEVICES;
	m.token = 1;
	m.u.get_devices.count = 16;
	err |= send_and_show(&codec, &m);
	m.type |= VMSG_TYPE_RESPONSE;
	m.u.get_devices.next_offset = 0;
	m.u.get_devices.bitmap = bitmap;
	err |= send_and_show(&codec, &m);

	/* Device 2: identify it, then negotiate features. */
	memset(&m, 0, sizeof(m));
	m.msg_id = VMSG_ID_GET_DEVICE_INFO;
	m.dev_num = 2;
	m.token = 2;
	err |= send_and_show(&codec, &m);
	m.type = VMSG_TYPE_RESPONSE;
	m.u.device_info.device_id = 4; /* entropy */
	m.u.device_info.vendor_id = 0x554D4551;
	m.u.device_info.num_feature_blocks = 2;
	m.u.device_info.max_virtqueues = 1;
	err |= send_and_show(&codec, &m);

	memset(&m, 0, sizeof(m));
	m.msg_id = VMSG_ID_SET_DRIVER_FEATURES;
	m.dev_num = 2;
	m.token = 3;
	vmsg_put_le32(features, 0);
	vmsg_put_le32(features + 4, 1); /* VIRTIO_F_VERSION_1 = bit 32 */
	m.u.features.num_blocks = 2;
	m.u.features.blocks = features;
	err |= send_and_show(&codec, &m);

	memset(&m, 0, sizeof(m));
	m.msg_id = VMSG_ID_SET_CONFIG;
	m.dev_num = 2;
	m.token = 4;
	m.u.config.offset = 0;
	m.u.config.length = sizeof(cfg);
	m.u.config.data = cfg;
	err |= send_and_show(&codec, &m);

	memset(&m, 0, sizeof(m));
	m.msg_id = VMSG_ID_EVENT_AVAIL;
	m.dev_num = 2;
	err |= send_and_show(&codec, &m);

	/* Hostile input: a response bit on an event, and a truncated message. */
	memcpy(evil, (const uint8_t[]){ 0x01, 0x42, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0 }, 12);
	if (show("peer:", &codec, evil, sizeof(evil)) != VMSG_EBADTYPE)
		err = 1;
	evil[0] = 0;
	if (show("peer:", &codec, evil, 10) != VMSG_ESHORT)
		err = 1;

	printf(err ? "demo: FAILED\n" : "demo: ok\n");
	return err ? 1 : 0;
}
