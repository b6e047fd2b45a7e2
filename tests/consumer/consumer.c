/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal program written against the installed headers and library only:
 * encode a bus PING request, check the wire bytes, decode them back and
 * compare. Also valid C++ (scripts/consumer-check.sh compiles it with
 * g++ -x c++), so it uses no designated initializers. Exits non-zero on any
 * mismatch.
 */
#include <stdio.h>
#include <string.h>

#include <virtio_msg/virtio_msg.h>

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "consumer: FAIL: %s\n", what);
		failures++;
	}
}

int main(void)
{
	/* PING request: type 0x02 (bus), msg_id 0x03, dev_num 0, token,
	 * msg_size 12, le32 data (virtio-msg bus PING). */
	static const uint8_t expect[VMSG_SIZE_PING] = {
		0x02, 0x03, 0x00, 0x00, 0x34, 0x12, 0x0c, 0x00, 0xef, 0xbe, 0xad, 0xde,
	};
	struct vmsg_codec codec;
	struct vmsg_msg req;
	struct vmsg_msg got;
	uint8_t buf[64];
	int rc;

	rc = vmsg_codec_init(&codec, VMSG_PROFILE_2026, VMSG_MAX_MSG_SIZE_DEFAULT, 0);
	check(rc == 0, "vmsg_codec_init");
	if (rc != 0)
		return 1;

	memset(&req, 0, sizeof(req));
	req.type = VMSG_TYPE_BUS;
	req.msg_id = VMSG_BUS_ID_PING;
	req.dev_num = 0;
	req.token = 0x1234;
	req.u.ping.data = 0xdeadbeefu;

	rc = vmsg_proto_encode(&codec, &req, buf, sizeof(buf));
	check(rc == (int)VMSG_SIZE_PING, "encode returns the PING size");
	if (rc != (int)VMSG_SIZE_PING) {
		fprintf(stderr, "consumer: encode: %d (%s)\n", rc, vmsg_strerror(rc));
		return 1;
	}
	check(memcmp(buf, expect, sizeof(expect)) == 0, "PING wire bytes");

	memset(&got, 0xa5, sizeof(got));
	rc = vmsg_proto_decode(&codec, buf, (size_t)VMSG_SIZE_PING, &got);
	check(rc == 0, "decode");
	if (rc != 0) {
		fprintf(stderr, "consumer: decode: %d (%s)\n", rc, vmsg_strerror(rc));
		return 1;
	}
	check(got.type == VMSG_TYPE_BUS, "decoded type");
	check(got.msg_id == VMSG_BUS_ID_PING, "decoded msg_id");
	check(got.dev_num == 0, "decoded dev_num");
	check(got.token == 0x1234, "decoded token");
	check(got.msg_size == VMSG_SIZE_PING, "decoded msg_size");
	check(got.u.ping.data == 0xdeadbeefu, "decoded ping data");

	/* The headers and the library must come from the same release. */
	check(vmsg_version() == (unsigned)VMSG_VERSION_NUMBER,
	      "vmsg_version() == VMSG_VERSION_NUMBER");
	check(strcmp(vmsg_version_string(), VMSG_VERSION_STRING) == 0,
	      "vmsg_version_string() == VMSG_VERSION_STRING");

	if (failures == 0)
		printf("consumer: OK (virtio-msg %s)\n", vmsg_version_string());
	return failures == 0 ? 0 : 1;
}
