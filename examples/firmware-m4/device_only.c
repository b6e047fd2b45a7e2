/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device-side firmware in the smallest useful configuration: the library
 * built with VMSG_CONFIG_ROLE_DEVICE_ONLY, the 2026 profile only, no
 * formatter and no error strings (see CMakeLists.txt). It offers one device
 * and answers its requests and the bus messages (GET_DEVICES, PING), and
 * it owns the vmamp v1 layout, as the two-sided image's device side does.
 *
 * Its first purpose is the size table: scripts/run-firmware.sh prints what
 * each module costs in this image. A one-role image cannot run both sides,
 * so in QEMU (no driver there) it checks only that the bus comes up, that a
 * poll finds nothing, and that the driver role is refused.
 */
#include <virtio_msg/virtio_msg.h>
#include <virtio_msg/port_baremetal.h>

#include "semihost.h"

#define MAX_MSG 64u
#define DEV_NUM 1u

static _Alignas(64) uint8_t shm[4096];
static struct vmsg_baremetal port;
static struct vmsg_bus bus, other;
static uint8_t rx[MAX_MSG], tx[MAX_MSG];
static struct vmsg_bus_req reqs[1];
static struct vmsg_bus_dev devs[2];

static int kick(void *ctx)
{
	(void)ctx;
	return 0; /* a real board rings the driver's doorbell (IPI, mailbox) */
}

/* The device: a virtio console (type 3) whose requests get plain answers. */
static unsigned respond_failed;

static void on_request(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *m)
{
	struct vmsg_msg resp = { 0 };

	(void)ctx;
	if (m->msg_id == VMSG_ID_GET_DEVICE_INFO) {
		resp.u.device_info.device_id = 3;
		resp.u.device_info.vendor_id = 0x1AF4;
		resp.u.device_info.num_feature_blocks = 1;
		resp.u.device_info.max_virtqueues = 2;
	}
	if (vmsg_bus_respond(b, m, &resp) != 0)
		respond_failed++; /* the driver times out and retries */
}

int main(void)
{
	struct vmsg_baremetal_cfg pc = { 0 };
	struct vmsg_bus_cfg bc = { 0 };

	sh_puts("firmware (device only): virtio-msg ");
	sh_puts(vmsg_version_string());
	sh_puts("\n");
	pc.base = shm;
	pc.size = sizeof(shm);
	pc.side = VMSG_SHM_DEVICE;
	pc.owner = true;
	pc.mem = VMSG_SPSC_MEM_DEVICE;
	pc.kick = kick;
	if (vmsg_baremetal_open(&port, &pc) != 0)
		return 2;
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_baremetal_bus(&port);
	bc.role = VMSG_BUS_DEVICE;
	bc.reqs = reqs;
	bc.num_reqs = 1;
	bc.devs = devs;
	bc.num_devs = 2;
	bc.rx_buf = rx;
	bc.rx_cap = sizeof(rx);
	bc.tx_buf = tx;
	bc.tx_cap = sizeof(tx);
	if (vmsg_bus_init(&bus, &bc) != 0)
		return 3;
	if (vmsg_bus_add_device(&bus, DEV_NUM, on_request, 0, false) != 0)
		return 4;
	/* A real firmware loops here: wait for the doorbell, then poll. */
	if (vmsg_bus_poll(&bus) != 0)
		return 5;
	bc.role = VMSG_BUS_DRIVER;
	if (vmsg_bus_init(&other, &bc) != VMSG_ENOTSUP)
		return 6;
	sh_puts("firmware (device only): bus up, driver role refused\n");
	return 0;
}
