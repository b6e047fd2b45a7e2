/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The message tables: one layout per message and direction, taken from the
 * offsets in virtio_msg/wire.h. The 2025 profile overrides exactly five
 * layouts; everything else is shared between the profiles.
 */
#include "proto/proto_internal.h"

#include "virtio_msg/wire.h"

#define HOST_SIZE(member) sizeof(((struct vmsg_msg *)0)->u.member)
/*
 * A 2026 field (FIELD) must be exactly as wide as its host member, or this
 * array gets a negative size and the build fails. Only a 2025 layout may have
 * a wire field narrower than its member (FIELD_2025), so only a codec of the
 * 2025 profile has host values to range-check on encode (codec.c).
 */
#define SAME_WIDTH(member, wsize) (0 * sizeof(char[HOST_SIZE(member) == (wsize) ? 1 : -1]))
#if VMSG_CONFIG_NO_PROFILE_2025
/* No host width is stored: every field is a 2026 one. */
#define HOST_SIZE_INIT(member, wsize) \
	.host_off = offsetof(struct vmsg_msg, u.member) + SAME_WIDTH(member, wsize),
#else
#define HOST_SIZE_INIT(member, wsize) \
	.host_off = offsetof(struct vmsg_msg, u.member) + SAME_WIDTH(member, wsize), \
	.host_size = HOST_SIZE(member),
#define HOST_SIZE_INIT_2025(member, wsize) \
	.host_off = offsetof(struct vmsg_msg, u.member), .host_size = HOST_SIZE(member),
#define FIELD_2025(name, off, wsize, member) \
	{ .wire_off = (off), .wire_size = (wsize), HOST_SIZE_INIT_2025(member, wsize) VMSG_NAME_INIT(name) }
#endif
#define FIELD(name, off, wsize, member) \
	{ .wire_off = (off), .wire_size = (wsize), HOST_SIZE_INIT(member, wsize) VMSG_NAME_INIT(name) }
/* A layout's run of fields: its number and its first index in the table. */
#define FIELD_N(m) (sizeof(((struct vmsg_field_table *)0)->m) / sizeof(struct vmsg_field))
#define FIELD_FIRST(m) (offsetof(struct vmsg_field_table, m) / sizeof(struct vmsg_field))
#define LAYOUT(size, kind, m) { (size), (kind), FIELD_N(m), FIELD_FIRST(m) }
#define EMPTY(size, kind, m) { (size), (kind), 0, 0 }
/*
 * The 2026 table is indexed, not searched: its rows come in four groups
 * (transport requests, transport events, bus requests, bus events), each a
 * run of consecutive message numbers (bits 0..5 of the ID), and a message's
 * row is its group's first row plus its number minus the group's first
 * number. MSG() places each row there with a designated initializer, so the
 * order of the lines below does not matter; a row given twice fails the
 * build (-Woverride-init), a number outside its group's run gets an index
 * out of range or lands on another message's row, which vmsg_proto_lookup()
 * never returns for the wrong ID (it compares the row's ID).
 */
#define G_TREQ_NUM (VMSG_ID_GET_DEVICE_INFO & VMSG_ID_NUMBER_MASK)
#define G_TREQ_N ((VMSG_ID_GET_SHM & VMSG_ID_NUMBER_MASK) - G_TREQ_NUM + 1)
#define G_TEV_NUM (VMSG_ID_EVENT_CONFIG & VMSG_ID_NUMBER_MASK)
#define G_TEV_N ((VMSG_ID_EVENT_USED & VMSG_ID_NUMBER_MASK) - G_TEV_NUM + 1)
#define G_BREQ_NUM (VMSG_BUS_ID_GET_DEVICES & VMSG_ID_NUMBER_MASK)
#define G_BREQ_N ((VMSG_BUS_ID_PING & VMSG_ID_NUMBER_MASK) - G_BREQ_NUM + 1)
#define G_BEV_NUM (VMSG_BUS_ID_EVENT_DEVICE & VMSG_ID_NUMBER_MASK)
#define G_BEV_N 1
#define G_TREQ_ROW 0
#define G_TEV_ROW (G_TREQ_ROW + G_TREQ_N)
#define G_BREQ_ROW (G_TEV_ROW + G_TEV_N)
#define G_BEV_ROW (G_BREQ_ROW + G_BREQ_N)
#define N_ROWS (G_BEV_ROW + G_BEV_N)
#define ROW(bus, id)                                                              \
	(((id) & VMSG_ID_NUMBER_MASK) +                                           \
	 ((bus) ? (((id) & VMSG_ID_EVENT) ? G_BEV_ROW - G_BEV_NUM : G_BREQ_ROW - G_BREQ_NUM) \
		: (((id) & VMSG_ID_EVENT) ? G_TEV_ROW - G_TEV_NUM : G_TREQ_ROW - G_TREQ_NUM)))
/* from: who sends the request or event (the other side answers). */
#define MSG(bus, id, from, name, req, resp) \
	{ (bus), (id), (from), VMSG_NAME_INIT(name) { (req), (resp) } }
#define MSG_AT(bus, id, from, name, req, resp) [ROW(bus, id)] = MSG(bus, id, from, name, req, resp)
#define DRV VMSG_FROM_DRIVER
#define DEV VMSG_FROM_DEVICE

VMSG_STATIC_ASSERT(sizeof(struct vmsg_msg) < 256, "host offsets fit a byte");

/*
 * Every field, in one object: a layout names its run of fields by index
 * (a byte, where a pointer takes four; see vmsg_layout_fields()).
 */
struct vmsg_field_table {
	struct vmsg_field vq_index_f[1];
	struct vmsg_field status_f[1];
	struct vmsg_field devinfo_f[8];
	struct vmsg_field feat_f[2];
	struct vmsg_field cfg_get_req_f[2];
	struct vmsg_field cfg_f[3];
	struct vmsg_field vq_get_resp_f[7];
	struct vmsg_field vq_set_req_f[7];
	struct vmsg_field shm_req_f[1];
	struct vmsg_field shm_resp_f[3];
	struct vmsg_field evcfg_f[4];
	struct vmsg_field evavail_f[2];
	struct vmsg_field evused_f[1];
	struct vmsg_field getdev_req_f[2];
	struct vmsg_field getdev_resp_f[3];
	struct vmsg_field ping_f[1];
	struct vmsg_field evdev_f[2];
#if !VMSG_CONFIG_NO_PROFILE_2025
	struct vmsg_field devinfo_2025_f[7];
	struct vmsg_field vq_get_resp_2025_f[6];
	struct vmsg_field vq_set_req_2025_f[6];
	struct vmsg_field shm_resp_2025_f[3];
	struct vmsg_field getdev_resp_2025_f[3];
#endif
};

/*
 * The fields of each 2026 layout, as lists: the table below and, in builds
 * for speed, the image check (IMAGE_SIZE()) are both made from them.
 */
#define FIELD_IN(a, name, off, wsize, member) FIELD(name, off, wsize, member),
#define RUN_none(X, a) /* no fields */
#define RUN_vq_index_f(X, a) \
	X(a, "index", VMSG_OFF_VQ_INDEX, 4, vqueue.index)
#define RUN_status_f(X, a) \
	X(a, "status", VMSG_OFF_STATUS, 4, status.status)
#define RUN_devinfo_f(X, a) \
	X(a, "device_id", VMSG_OFF_DEVINFO_DEVICE_ID, 4, device_info.device_id) \
	X(a, "vendor_id", VMSG_OFF_DEVINFO_VENDOR_ID, 4, device_info.vendor_id) \
	X(a, "uuid", VMSG_OFF_DEVINFO_UUID, 16, device_info.uuid) \
	X(a, "feature_blocks", VMSG_OFF_DEVINFO_NUM_FEATURE_BLOCKS, 4, device_info.num_feature_blocks) \
	X(a, "config_size", VMSG_OFF_DEVINFO_CONFIG_SIZE, 4, device_info.config_size) \
	X(a, "max_vqs", VMSG_OFF_DEVINFO_MAX_VIRTQUEUES, 4, device_info.max_virtqueues) \
	X(a, "admin_vq_start", VMSG_OFF_DEVINFO_ADMIN_VQ_START, 4, device_info.admin_vq_start) \
	X(a, "admin_vq_count", VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT, 4, device_info.admin_vq_count)
#define RUN_feat_f(X, a) \
	X(a, "block_index", VMSG_OFF_FEAT_BLOCK_INDEX, 4, features.block_index) \
	X(a, "num_blocks", VMSG_OFF_FEAT_NUM_BLOCKS, 4, features.num_blocks)
#define RUN_cfg_get_req_f(X, a) \
	X(a, "offset", VMSG_OFF_GETCFG_REQ_OFFSET, 4, config.offset) \
	X(a, "length", VMSG_OFF_GETCFG_REQ_LENGTH, 4, config.length)
#define RUN_cfg_f(X, a) \
	X(a, "generation", VMSG_OFF_CFG_GENERATION, 4, config.generation) \
	X(a, "offset", VMSG_OFF_CFG_OFFSET, 4, config.offset) \
	X(a, "length", VMSG_OFF_CFG_LENGTH, 4, config.length)
#define RUN_vq_get_resp_f(X, a) \
	X(a, "index", VMSG_OFF_VQ_INDEX, 4, vqueue.index) \
	X(a, "max_size", VMSG_OFF_GETVQ_MAX_SIZE, 4, vqueue.max_size) \
	X(a, "cur_size", VMSG_OFF_GETVQ_CUR_SIZE, 4, vqueue.size) \
	X(a, "flags", VMSG_OFF_GETVQ_FLAGS, 4, vqueue.flags) \
	X(a, "desc", VMSG_OFF_GETVQ_DESC_ADDR, 8, vqueue.desc_addr) \
	X(a, "driver", VMSG_OFF_GETVQ_DRIVER_ADDR, 8, vqueue.driver_addr) \
	X(a, "device", VMSG_OFF_GETVQ_DEVICE_ADDR, 8, vqueue.device_addr)
#define RUN_vq_set_req_f(X, a) \
	X(a, "index", VMSG_OFF_VQ_INDEX, 4, vqueue.index) \
	X(a, "flags", VMSG_OFF_SETVQ_FLAGS, 4, vqueue.flags) \
	X(a, "size", VMSG_OFF_SETVQ_SIZE, 4, vqueue.size) \
	X(a, "reserved", VMSG_OFF_SETVQ_RESERVED, 4, vqueue.reserved) \
	X(a, "desc", VMSG_OFF_SETVQ_DESC_ADDR, 8, vqueue.desc_addr) \
	X(a, "driver", VMSG_OFF_SETVQ_DRIVER_ADDR, 8, vqueue.driver_addr) \
	X(a, "device", VMSG_OFF_SETVQ_DEVICE_ADDR, 8, vqueue.device_addr)
#define RUN_shm_req_f(X, a) \
	X(a, "shmid", VMSG_OFF_SHM_ID, 4, shm.shmid)
#define RUN_shm_resp_f(X, a) \
	X(a, "shmid", VMSG_OFF_SHM_ID, 4, shm.shmid) \
	X(a, "length", VMSG_OFF_SHM_LENGTH, 8, shm.length) \
	X(a, "address", VMSG_OFF_SHM_ADDRESS, 8, shm.address)
#define RUN_evcfg_f(X, a) \
	X(a, "status", VMSG_OFF_EVCFG_STATUS, 4, event_config.device_status) \
	X(a, "generation", VMSG_OFF_EVCFG_GENERATION, 4, event_config.generation) \
	X(a, "offset", VMSG_OFF_EVCFG_OFFSET, 4, event_config.offset) \
	X(a, "length", VMSG_OFF_EVCFG_LENGTH, 4, event_config.length)
#define RUN_evavail_f(X, a) \
	X(a, "vq", VMSG_OFF_EVAVAIL_VQ_INDEX, 4, event_avail.vq_index) \
	X(a, "next_offset", VMSG_OFF_EVAVAIL_NEXT_OFFSET, 4, event_avail.next_offset)
#define RUN_evused_f(X, a) \
	X(a, "vq", VMSG_OFF_EVUSED_VQ_INDEX, 4, event_used.vq_index)
#define RUN_getdev_req_f(X, a) \
	X(a, "offset", VMSG_OFF_GETDEV_REQ_OFFSET, 2, get_devices.offset) \
	X(a, "count", VMSG_OFF_GETDEV_REQ_COUNT, 2, get_devices.count)
#define RUN_getdev_resp_f(X, a) \
	X(a, "offset", VMSG_OFF_GETDEV_OFFSET, 2, get_devices.offset) \
	X(a, "next_offset", VMSG_OFF_GETDEV_NEXT_OFFSET, 2, get_devices.next_offset) \
	X(a, "count", VMSG_OFF_GETDEV_COUNT, 2, get_devices.count)
#define RUN_ping_f(X, a) \
	X(a, "data", VMSG_OFF_PING_DATA, 4, ping.data)
#define RUN_evdev_f(X, a) \
	X(a, "device", VMSG_OFF_EVDEV_DEV_NUM, 2, event_device.dev_num) \
	X(a, "state", VMSG_OFF_EVDEV_STATE, 2, event_device.state)

const struct vmsg_field_table vmsg_field_table = {
	/* Shared by several messages */
	.vq_index_f = { RUN_vq_index_f(FIELD_IN, ~) },
	.status_f = { RUN_status_f(FIELD_IN, ~) },

	/* GET_DEVICE_INFO */
	.devinfo_f = { RUN_devinfo_f(FIELD_IN, ~) },

	/* GET_DEVICE_FEATURES / SET_DRIVER_FEATURES */
	.feat_f = { RUN_feat_f(FIELD_IN, ~) },

	/* GET_CONFIG / SET_CONFIG */
	.cfg_get_req_f = { RUN_cfg_get_req_f(FIELD_IN, ~) },
	.cfg_f = { RUN_cfg_f(FIELD_IN, ~) },

	/* GET_VQUEUE / SET_VQUEUE */
	.vq_get_resp_f = { RUN_vq_get_resp_f(FIELD_IN, ~) },
	.vq_set_req_f = { RUN_vq_set_req_f(FIELD_IN, ~) },

	/* GET_SHM (the reserved word is checked by kind, not stored) */
	.shm_req_f = { RUN_shm_req_f(FIELD_IN, ~) },
	.shm_resp_f = { RUN_shm_resp_f(FIELD_IN, ~) },

	/* Transport events */
	.evcfg_f = { RUN_evcfg_f(FIELD_IN, ~) },
	.evavail_f = { RUN_evavail_f(FIELD_IN, ~) },
	.evused_f = { RUN_evused_f(FIELD_IN, ~) },

	/* Bus messages */
	.getdev_req_f = { RUN_getdev_req_f(FIELD_IN, ~) },
	.getdev_resp_f = { RUN_getdev_resp_f(FIELD_IN, ~) },
	.ping_f = { RUN_ping_f(FIELD_IN, ~) },
	.evdev_f = { RUN_evdev_f(FIELD_IN, ~) },

#if !VMSG_CONFIG_NO_PROFILE_2025
	/*
	 * The 2025 "token group" layouts of the five messages that differ. The
	 * reserved words (GET_VQUEUE @20, SET_VQUEUE @12) are not table fields: the
	 * encoder leaves them zero and the kind checks them on decode.
	 */
	.devinfo_2025_f = {
		FIELD_2025("device_id", VMSG_OFF_DEVINFO_DEVICE_ID_2025, 4, device_info.device_id),
		FIELD_2025("vendor_id", VMSG_OFF_DEVINFO_VENDOR_ID_2025, 4, device_info.vendor_id),
		FIELD_2025("feature_bits", VMSG_OFF_DEVINFO_NUM_FEATURE_BITS_2025, 4, device_info.num_feature_bits),
		FIELD_2025("config_size", VMSG_OFF_DEVINFO_CONFIG_SIZE_2025, 4, device_info.config_size),
		FIELD_2025("max_vqs", VMSG_OFF_DEVINFO_MAX_VIRTQUEUES_2025, 4, device_info.max_virtqueues),
		FIELD_2025("admin_vq_start", VMSG_OFF_DEVINFO_ADMIN_VQ_START_2025, 2, device_info.admin_vq_start),
		FIELD_2025("admin_vq_count", VMSG_OFF_DEVINFO_ADMIN_VQ_COUNT_2025, 2, device_info.admin_vq_count),
	},

	.vq_get_resp_2025_f = {
		FIELD_2025("index", VMSG_OFF_VQ_INDEX, 4, vqueue.index),
		FIELD_2025("max_size", VMSG_OFF_GETVQ_MAX_SIZE, 4, vqueue.max_size),
		FIELD_2025("cur_size", VMSG_OFF_GETVQ_CUR_SIZE, 4, vqueue.size),
		FIELD_2025("desc", VMSG_OFF_GETVQ_DESC_ADDR, 8, vqueue.desc_addr),
		FIELD_2025("driver", VMSG_OFF_GETVQ_DRIVER_ADDR, 8, vqueue.driver_addr),
		FIELD_2025("device", VMSG_OFF_GETVQ_DEVICE_ADDR, 8, vqueue.device_addr),
	},

	.vq_set_req_2025_f = {
		FIELD_2025("index", VMSG_OFF_VQ_INDEX, 4, vqueue.index),
		FIELD_2025("size", VMSG_OFF_SETVQ_SIZE, 4, vqueue.size),
		FIELD_2025("reserved", VMSG_OFF_SETVQ_RESERVED, 4, vqueue.reserved),
		FIELD_2025("desc", VMSG_OFF_SETVQ_DESC_ADDR, 8, vqueue.desc_addr),
		FIELD_2025("driver", VMSG_OFF_SETVQ_DRIVER_ADDR, 8, vqueue.driver_addr),
		FIELD_2025("device", VMSG_OFF_SETVQ_DEVICE_ADDR, 8, vqueue.device_addr),
	},

	.shm_resp_2025_f = {
		FIELD_2025("shmid", VMSG_OFF_SHM_ID, 4, shm.shmid),
		FIELD_2025("length", VMSG_OFF_SHM_LENGTH_2025, 4, shm.length),
		FIELD_2025("address", VMSG_OFF_SHM_ADDRESS_2025, 4, shm.address),
	},

	.getdev_resp_2025_f = {
		FIELD_2025("offset", VMSG_OFF_GETDEV_OFFSET, 2, get_devices.offset),
		FIELD_2025("count", VMSG_OFF_GETDEV_COUNT_2025, 2, get_devices.count),
		FIELD_2025("next_offset", VMSG_OFF_GETDEV_NEXT_OFFSET_2025, 2, get_devices.next_offset),
	},

#endif
};

/*
 * Every layout, in one array: the message rows name theirs by index (a
 * byte, where a pointer takes four).
 */
/* The runs are whole fields apart, so an index finds each; it fits a byte. */
VMSG_STATIC_ASSERT(sizeof(struct vmsg_field_table) % sizeof(struct vmsg_field) == 0 &&
			   sizeof(struct vmsg_field_table) / sizeof(struct vmsg_field) <= 256,
		   "field indices fit a byte");

/*
 * Every 2026 layout, one X(index, initializer, size, kind, fields) each: the
 * index enum, the layout table and, in builds for speed, the image sizes
 * are all made from this one list.
 */
#define LAYOUTS_2026(X) \
	X(L_EMPTY_REQ, EMPTY, VMSG_HDR_SIZE, VMSG_VAR_NONE, none) \
	X(L_VQ_INDEX_REQ, LAYOUT, VMSG_SIZE_VQ_INDEX_REQ, VMSG_VAR_NONE, vq_index_f) \
	X(L_STATUS_MSG, LAYOUT, VMSG_SIZE_STATUS, VMSG_VAR_NONE, status_f) \
	X(L_DEVINFO_RESP, LAYOUT, VMSG_SIZE_GET_DEVICE_INFO_RESP, VMSG_VAR_DEVINFO, devinfo_f) \
	X(L_FEAT_GET_REQ, LAYOUT, VMSG_SIZE_GET_DEVICE_FEATURES_REQ, VMSG_VAR_FEAT_GET_REQ, feat_f) \
	X(L_FEAT_BLOCKS, LAYOUT, VMSG_SIZE_FEATURES_FIXED, VMSG_VAR_FEAT_BLOCKS, feat_f) \
	X(L_CFG_GET_REQ, LAYOUT, VMSG_SIZE_GET_CONFIG_REQ, VMSG_VAR_CFG_GET_REQ, cfg_get_req_f) \
	X(L_CFG_DATA, LAYOUT, VMSG_SIZE_CONFIG_RESP_FIXED, VMSG_VAR_CFG_DATA, cfg_f) \
	X(L_CFG_SET_RESP, LAYOUT, VMSG_SIZE_CONFIG_RESP_FIXED, VMSG_VAR_CFG_SET_RESP, cfg_f) \
	X(L_VQ_GET_RESP, LAYOUT, VMSG_SIZE_GET_VQUEUE_RESP, VMSG_VAR_VQ_GET_RESP, vq_get_resp_f) \
	X(L_VQ_SET_REQ, LAYOUT, VMSG_SIZE_SET_VQUEUE_REQ, VMSG_VAR_VQ_SET_REQ, vq_set_req_f) \
	X(L_SHM_REQ, LAYOUT, VMSG_SIZE_GET_SHM_REQ, VMSG_VAR_NONE, shm_req_f) \
	X(L_SHM_RESP, LAYOUT, VMSG_SIZE_GET_SHM_RESP, VMSG_VAR_SHM_RESP, shm_resp_f) \
	X(L_EVCFG, LAYOUT, VMSG_SIZE_EVENT_CONFIG_FIXED, VMSG_VAR_EVCFG, evcfg_f) \
	X(L_EVAVAIL, LAYOUT, VMSG_SIZE_EVENT_AVAIL, VMSG_VAR_NONE, evavail_f) \
	X(L_EVUSED, LAYOUT, VMSG_SIZE_EVENT_USED, VMSG_VAR_NONE, evused_f) \
	X(L_GETDEV_REQ, LAYOUT, VMSG_SIZE_GET_DEVICES_REQ, VMSG_VAR_NONE, getdev_req_f) \
	X(L_GETDEV_RESP, LAYOUT, VMSG_SIZE_GET_DEVICES_RESP_FIXED, VMSG_VAR_GETDEV_RESP, getdev_resp_f) \
	X(L_PING, LAYOUT, VMSG_SIZE_PING, VMSG_VAR_NONE, ping_f) \
	X(L_EVDEV, LAYOUT, VMSG_SIZE_EVENT_DEVICE, VMSG_VAR_EVDEV, evdev_f)

#define LAYOUT_ID(id, how, size, kind, m) id,
enum {
	LAYOUTS_2026(LAYOUT_ID)
#if !VMSG_CONFIG_NO_PROFILE_2025
	L_DEVINFO_RESP_2025,
	L_VQ_GET_RESP_2025,
	L_VQ_SET_REQ_2025,
	L_SHM_RESP_2025,
	L_GETDEV_RESP_2025,
#endif
	N_LAYOUTS
};
#define L_NONE VMSG_LAYOUT_NONE
VMSG_STATIC_ASSERT(N_LAYOUTS <= VMSG_LAYOUT_NONE, "layout indices fit a byte");

#define LAYOUT_AT(id, how, size, kind, m) [id] = how(size, kind, m),
const struct vmsg_layout vmsg_layouts[N_LAYOUTS] = {
	LAYOUTS_2026(LAYOUT_AT)
#if !VMSG_CONFIG_NO_PROFILE_2025
	[L_DEVINFO_RESP_2025] = LAYOUT(VMSG_SIZE_GET_DEVICE_INFO_RESP_2025, VMSG_VAR_DEVINFO_2025,
				devinfo_2025_f),
	[L_VQ_GET_RESP_2025] = LAYOUT(VMSG_SIZE_GET_VQUEUE_RESP, VMSG_VAR_VQ_GET_RESP_2025,
				vq_get_resp_2025_f),
	[L_VQ_SET_REQ_2025] = LAYOUT(VMSG_SIZE_SET_VQUEUE_REQ, VMSG_VAR_VQ_SET_REQ_2025,
				vq_set_req_2025_f),
	[L_SHM_RESP_2025] = LAYOUT(VMSG_SIZE_GET_SHM_RESP_2025, VMSG_VAR_NONE, shm_resp_2025_f),
	[L_GETDEV_RESP_2025] = LAYOUT(VMSG_SIZE_GET_DEVICES_RESP_FIXED, VMSG_VAR_GETDEV_RESP,
				getdev_resp_2025_f),
#endif
};

/*
 * Every 2026 message, one X(bus, id, from, name, request layout, response
 * layout) each: the row table below and, in builds for speed, the direct
 * table are both made from this one list.
 */
#define MESSAGES_2026(X) \
	X(0, VMSG_ID_GET_DEVICE_INFO, DRV, "GET_DEVICE_INFO", L_EMPTY_REQ, L_DEVINFO_RESP) \
	X(0, VMSG_ID_GET_DEVICE_FEATURES, DRV, "GET_DEVICE_FEATURES", L_FEAT_GET_REQ, L_FEAT_BLOCKS) \
	X(0, VMSG_ID_SET_DRIVER_FEATURES, DRV, "SET_DRIVER_FEATURES", L_FEAT_BLOCKS, L_EMPTY_REQ) \
	X(0, VMSG_ID_GET_CONFIG, DRV, "GET_CONFIG", L_CFG_GET_REQ, L_CFG_DATA) \
	X(0, VMSG_ID_SET_CONFIG, DRV, "SET_CONFIG", L_CFG_DATA, L_CFG_SET_RESP) \
	X(0, VMSG_ID_GET_DEVICE_STATUS, DRV, "GET_DEVICE_STATUS", L_EMPTY_REQ, L_STATUS_MSG) \
	X(0, VMSG_ID_SET_DEVICE_STATUS, DRV, "SET_DEVICE_STATUS", L_STATUS_MSG, L_STATUS_MSG) \
	X(0, VMSG_ID_GET_VQUEUE, DRV, "GET_VQUEUE", L_VQ_INDEX_REQ, L_VQ_GET_RESP) \
	X(0, VMSG_ID_SET_VQUEUE, DRV, "SET_VQUEUE", L_VQ_SET_REQ, L_EMPTY_REQ) \
	X(0, VMSG_ID_RESET_VQUEUE, DRV, "RESET_VQUEUE", L_VQ_INDEX_REQ, L_EMPTY_REQ) \
	X(0, VMSG_ID_GET_SHM, DRV, "GET_SHM", L_SHM_REQ, L_SHM_RESP) \
	X(0, VMSG_ID_EVENT_CONFIG, DEV, "EVENT_CONFIG", L_EVCFG, L_NONE) \
	X(0, VMSG_ID_EVENT_AVAIL, DRV, "EVENT_AVAIL", L_EVAVAIL, L_NONE) \
	X(0, VMSG_ID_EVENT_USED, DEV, "EVENT_USED", L_EVUSED, L_NONE) \
	X(1, VMSG_BUS_ID_GET_DEVICES, DRV, "GET_DEVICES", L_GETDEV_REQ, L_GETDEV_RESP) \
	X(1, VMSG_BUS_ID_PING, DRV | DEV, "PING", L_PING, L_PING) \
	X(1, VMSG_BUS_ID_EVENT_DEVICE, DEV, "EVENT_DEVICE", L_EVDEV, L_NONE)

#define ROW_AT(bus, id, from, name, req, resp) MSG_AT(bus, id, from, name, req, resp),
const struct vmsg_msg_desc vmsg_messages[N_ROWS] = { MESSAGES_2026(ROW_AT) };

/* A message number of 16 or more gets a negative array size: the keys of
 * the direct and image tables have four bits for it (proto_internal.h). */
#define DIRECT_NUM_OK(id) (0 * sizeof(char[((id) & VMSG_ID_NUMBER_MASK) < 16 ? 1 : -1]))
#if VMSG_PROTO_DIRECT
#define DIRECT_AT(bus, id, from, name, req, resp)                                              \
	[VMSG_DIRECT_KEY((bus) ? VMSG_TYPE_BUS : 0u, id)] = (uint8_t)((req) + 1 + DIRECT_NUM_OK(id)), \
	[VMSG_DIRECT_KEY(((bus) ? VMSG_TYPE_BUS : 0u) | VMSG_TYPE_RESPONSE, id)] =             \
		(uint8_t)(((resp) + 1) & 0xFFu), /* an event's L_NONE gives 0 */
const uint8_t vmsg_layout_direct[128] = { MESSAGES_2026(DIRECT_AT) };
#endif

#if VMSG_PROTO_FOR_SPEED
/*
 * The image sizes (proto_internal.h): a layout's fixed size when it has no
 * kind, is at most 16 bytes, and its fields lie in the bytes past the
 * header each at its own host offset (a byte past the header that no field
 * covers would make the widths add up short); else 0. Made from the same
 * field lists as the table, so it cannot disagree with it.
 */
#define IMG_WIDTH(size, name, off, wsize, member) + (wsize)
#define IMG_AT_HOST(size, name, off, wsize, member) \
	&&(off) == offsetof(struct vmsg_msg, u.member) && (off) >= VMSG_HDR_SIZE && (off) + (wsize) <= (size)
#define IMAGE_SIZE(size, kind, run)                                                        \
	((kind) == VMSG_VAR_NONE && (size) <= VMSG_IMAGE_MAX &&                           \
			 (size) == VMSG_HDR_SIZE run(IMG_WIDTH, size) run(IMG_AT_HOST, size) ? \
		 (size) : 0)
#define IMAGE_ID(id, how, size, kind, m) IMAGE_##id = IMAGE_SIZE(size, kind, RUN_##m),
enum { LAYOUTS_2026(IMAGE_ID) IMAGE_L_NONE = 0 };

/* The sender of a response is the other side of its request's. */
#define RESP_FROM(from) (((from) & DRV ? DEV : 0u) | ((from) & DEV ? DRV : 0u))
/* A message is in the table of a direction only if this build's roles
 * take it that way (layout_of() refuses the others). */
#define IMAGE_AT(bus, id, from, req_size, resp_size, roles)                                 \
	[VMSG_DIRECT_KEY((bus) ? VMSG_TYPE_BUS : 0u, id)] =                                   \
		(uint8_t)(((from) & (roles)) ? (req_size) + DIRECT_NUM_OK(id) : 0u),           \
	[VMSG_DIRECT_KEY(((bus) ? VMSG_TYPE_BUS : 0u) | VMSG_TYPE_RESPONSE, id)] =            \
		(uint8_t)((RESP_FROM(from) & (roles)) ? (resp_size) : 0u),
/* (The layout names are pasted here, before L_NONE could expand.) */
#define IMAGE_RECV_AT(bus, id, from, name, req, resp) \
	IMAGE_AT(bus, id, from, IMAGE_##req, IMAGE_##resp, VMSG_PEER_ROLES)
const uint8_t vmsg_image_recv[128] = { MESSAGES_2026(IMAGE_RECV_AT) };
#if VMSG_ONE_ROLE
#define IMAGE_SEND_AT(bus, id, from, name, req, resp) \
	IMAGE_AT(bus, id, from, IMAGE_##req, IMAGE_##resp, VMSG_LOCAL_ROLES)
const uint8_t vmsg_image_send[128] = { MESSAGES_2026(IMAGE_SEND_AT) };
#endif
#endif

#if !VMSG_CONFIG_NO_PROFILE_2025
static const struct vmsg_msg_desc messages_2025[] = {
	MSG(0, VMSG_ID_GET_DEVICE_INFO, DRV, "GET_DEVICE_INFO", L_EMPTY_REQ, L_DEVINFO_RESP_2025),
	MSG(0, VMSG_ID_GET_VQUEUE, DRV, "GET_VQUEUE", L_VQ_INDEX_REQ, L_VQ_GET_RESP_2025),
	MSG(0, VMSG_ID_SET_VQUEUE, DRV, "SET_VQUEUE", L_VQ_SET_REQ_2025, L_EMPTY_REQ),
	MSG(0, VMSG_ID_GET_SHM, DRV, "GET_SHM", L_SHM_REQ, L_SHM_RESP_2025),
	MSG(1, VMSG_BUS_ID_GET_DEVICES, DRV, "GET_DEVICES", L_GETDEV_REQ, L_GETDEV_RESP_2025),
};
#endif

#if !VMSG_CONFIG_NO_PROFILE_2025
static const struct vmsg_msg_desc *find(const struct vmsg_msg_desc *t, size_t n, int bus,
					uint8_t msg_id)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].bus == (uint8_t)(bus != 0) && t[i].msg_id == msg_id)
			return &t[i];
	}
	return 0;
}
#endif

/* Per group (index: 2 * bus + event bit): see ROW() and vmsg_lookup_2026(). */
VMSG_STATIC_ASSERT(VMSG_TYPE_BUS == 2u && VMSG_ID_EVENT >> 6 == 1u, "group index bits");
const struct vmsg_msg_group vmsg_msg_groups[4] = {
	{ G_TREQ_NUM, G_TREQ_N, G_TREQ_ROW },
	{ G_TEV_NUM, G_TEV_N, G_TEV_ROW },
	{ G_BREQ_NUM, G_BREQ_N, G_BREQ_ROW },
	{ G_BEV_NUM, G_BEV_N, G_BEV_ROW },
};

const struct vmsg_msg_desc *vmsg_proto_lookup(unsigned profile, int bus, uint8_t msg_id)
{
#if !VMSG_CONFIG_NO_PROFILE_2025
	if (profile == VMSG_PROFILE_2025) {
		const struct vmsg_msg_desc *d =
			find(messages_2025, sizeof(messages_2025) / sizeof(messages_2025[0]), bus, msg_id);

		if (d)
			return d;
	}
#else
	(void)profile;
#endif
	return vmsg_lookup_2026(bus ? VMSG_TYPE_BUS : 0u, msg_id);
}
