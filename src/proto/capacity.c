/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How much one message can carry for a maximum message size M (wire note,
 * table in 1.7). Below the fixed size of the message the answer is 0.
 */
#include "virtio_msg/proto.h"

uint32_t vmsg_cap_config_bytes(uint32_t max_msg_size)
{
	return max_msg_size > VMSG_SIZE_CONFIG_RESP_FIXED ? VMSG_CAP_CONFIG_BYTES(max_msg_size) : 0;
}

uint32_t vmsg_cap_event_config_bytes(uint32_t max_msg_size)
{
	return max_msg_size > VMSG_SIZE_EVENT_CONFIG_FIXED ?
		       VMSG_CAP_EVENT_CONFIG_BYTES(max_msg_size) : 0;
}

uint32_t vmsg_cap_feature_blocks(uint32_t max_msg_size)
{
	return max_msg_size > VMSG_SIZE_FEATURES_FIXED ? VMSG_CAP_FEATURE_BLOCKS(max_msg_size) : 0;
}

uint32_t vmsg_cap_get_devices_slots(uint32_t max_msg_size)
{
	uint32_t slots;

	if (max_msg_size <= VMSG_SIZE_GET_DEVICES_RESP_FIXED)
		return 0;
	/* count is le16, so one window never exceeds 65535 slots. */
	slots = VMSG_CAP_GET_DEVICES_SLOTS(max_msg_size);
	return slots > 0xFFFFu ? 0xFFFFu : slots;
}
