/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A driver-side firmware in the smallest useful configuration: the library
 * built with VMSG_CONFIG_ROLE_DRIVER_ONLY, the 2026 profile only, no
 * formatter and no error strings (see CMakeLists.txt). It owns the vmamp v1
 * layout (either side may), discovers the devices, PINGs and reads each
 * device's GET_DEVICE_INFO.
 *
 * Its first purpose is the size table: scripts/run-firmware.sh prints what
 * each module costs in this image. A one-role image cannot run both sides,
 * so in QEMU (no device there) it checks only that the port opens, that
 * discovery gives up cleanly when nobody answers, and that the device role
 * is refused.
 */
#include <virtio_msg/virtio_msg.h>
#include <virtio_msg/port_baremetal.h>

#include "semihost.h"

#define MAX_MSG 64u

static _Alignas(64) uint8_t shm[4096];
static struct vmsg_baremetal port;
static struct vmsg_bus bus, other;
static uint8_t rx[MAX_MSG], tx[MAX_MSG], resp_buf[MAX_MSG];
static struct vmsg_bus_req reqs[2];
static struct vmsg_bus_dev devs[4];

static int kick(void *ctx)
{
	(void)ctx;
	return 0; /* a real board rings the device's doorbell (IPI, mailbox) */
}

/* Read GET_DEVICE_INFO of every device found (none in QEMU). */
static int probe(void)
{
	for (unsigned i = 0; i < 4; i++) {
		struct vmsg_msg req = { .msg_id = VMSG_ID_GET_DEVICE_INFO }, resp;
		int err;

		if (!devs[i].present)
			continue;
		req.dev_num = devs[i].dev_num;
		err = vmsg_bus_call(&bus, &req, &resp, resp_buf, sizeof(resp_buf), 100000000u, 1);
		if (err)
			return err;
	}
	return vmsg_bus_ping(&bus, 0xC0DEu, 100000000u);
}

int main(void)
{
	struct vmsg_baremetal_cfg pc = { 0 };
	struct vmsg_bus_cfg bc = { 0 };
	int n;

	sh_puts("firmware (driver only): virtio-msg ");
	sh_puts(vmsg_version_string());
	sh_puts("\n");
	pc.base = shm;
	pc.size = sizeof(shm);
	pc.side = VMSG_SHM_DRIVER;
	pc.owner = true;
	pc.mem = VMSG_SPSC_MEM_DEVICE;
	pc.kick = kick;
	if (vmsg_baremetal_open(&port, &pc) != 0)
		return 2;
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_baremetal_bus(&port);
	bc.role = VMSG_BUS_DRIVER;
	bc.reqs = reqs;
	bc.num_reqs = 2;
	bc.devs = devs;
	bc.num_devs = 4;
	bc.rx_buf = rx;
	bc.rx_cap = sizeof(rx);
	bc.tx_buf = tx;
	bc.tx_cap = sizeof(tx);
	if (vmsg_bus_init(&bus, &bc) != 0)
		return 3;
	/* Nobody is on the other side in this image: discovery must give up. */
	n = vmsg_bus_discover(&bus, 2000000u);
	if (n >= 0)
		return n > 0 ? probe() : 4;
	sh_puts("firmware (driver only): discovery without a device: ");
	sh_put_dec((unsigned long)-n);
	sh_puts(" (-errno)\n");
	if (n != VMSG_ETIMEDOUT)
		return 5;
	bc.role = VMSG_BUS_DEVICE;
	if (vmsg_bus_init(&other, &bc) != VMSG_ENOTSUP)
		return 6;
	sh_puts("firmware (driver only): no device answered, device role refused\n");
	return 0;
}
