/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Both sides of a virtio-msg bus in one Cortex-M4 image: a device side that
 * offers three devices and a driver side that discovers them with
 * GET_DEVICES and PINGs, over two rings in one RAM region (the vmamp v1
 * layout). A single core stands in for two: the driver's "wait for an
 * interrupt" runs the device side's poll. The exit code reaches the shell
 * through semihosting (0 = every check passed).
 */
#include <virtio_msg/virtio_msg.h>
#include <virtio_msg/port_baremetal.h>

#include "semihost.h"

#define MAX_MSG 64u
#define CHECK(cond, code)                          \
	do {                                       \
		if (!(cond)) {                     \
			sh_puts("firmware: FAIL " #cond "\n"); \
			return (code);             \
		}                                  \
	} while (0)

static _Alignas(64) uint8_t shm[4096];
static struct vmsg_baremetal dev_port, drv_port;
static struct vmsg_bus dev_bus, drv_bus;
static uint8_t dev_rx[MAX_MSG], dev_tx[MAX_MSG], drv_rx[MAX_MSG], drv_tx[MAX_MSG];
static struct vmsg_bus_req drv_reqs[4], dev_reqs[1];
static struct vmsg_bus_dev drv_devs[8], dev_devs[4];
static unsigned kicks, added;

static int kick(void *ctx)
{
	(void)ctx;
	kicks++;
	return 0;
}

/* The "interrupt" the driver waits for is the device side running. */
static int drv_wait(void *ctx, int64_t timeout_ns)
{
	(void)ctx;
	(void)timeout_ns;
	return vmsg_bus_poll(&dev_bus) < 0 ? VMSG_EIO : 0;
}

static void on_request(void *ctx, struct vmsg_bus *bus, const struct vmsg_msg *m)
{
	(void)ctx;
	(void)bus;
	(void)m;
}

static void on_device(void *ctx, uint16_t dev_num, uint16_t state)
{
	(void)ctx;
	(void)dev_num;
	if (state == VMSG_EVDEV_STATE_ADDED)
		added++;
}

static int open_side(struct vmsg_baremetal *port, struct vmsg_bus *bus, enum vmsg_shm_side side,
		     struct vmsg_bus_cfg *bc)
{
	struct vmsg_baremetal_cfg pc = { 0 };
	int err;

	pc.base = shm;
	pc.size = sizeof(shm);
	pc.side = side;
	pc.owner = side == VMSG_SHM_DEVICE;
	pc.mem = VMSG_SPSC_MEM_DEVICE; /* SRAM shared with "another core" */
	pc.kick = kick;
	pc.wait = side == VMSG_SHM_DRIVER ? drv_wait : 0;
	err = vmsg_baremetal_open(port, &pc);
	if (err)
		return err;
	bc->ops = &vmsg_shm_bus_ops;
	bc->priv = vmsg_baremetal_bus(port);
	bc->tick_ns = 1000000;
	return vmsg_bus_init(bus, bc);
}

int main(void)
{
	struct vmsg_bus_cfg dc = { 0 }, rc = { 0 };
	int n;

	sh_puts("firmware: virtio-msg ");
	sh_puts(vmsg_version_string());
	sh_puts(" on Cortex-M4\n");

	dc.role = VMSG_BUS_DEVICE;
	dc.reqs = dev_reqs;
	dc.num_reqs = 1;
	dc.devs = dev_devs;
	dc.num_devs = 4;
	dc.rx_buf = dev_rx;
	dc.rx_cap = sizeof(dev_rx);
	dc.tx_buf = dev_tx;
	dc.tx_cap = sizeof(dev_tx);
	CHECK(open_side(&dev_port, &dev_bus, VMSG_SHM_DEVICE, &dc) == 0, 2);
	CHECK(vmsg_bus_add_device(&dev_bus, 0, on_request, 0, false) == 0, 3);
	CHECK(vmsg_bus_add_device(&dev_bus, 5, on_request, 0, false) == 0, 3);
	CHECK(vmsg_bus_add_device(&dev_bus, 420, on_request, 0, false) == 0, 3);

	rc.role = VMSG_BUS_DRIVER;
	rc.reqs = drv_reqs;
	rc.num_reqs = 4;
	rc.devs = drv_devs;
	rc.num_devs = 8;
	rc.rx_buf = drv_rx;
	rc.rx_cap = sizeof(drv_rx);
	rc.tx_buf = drv_tx;
	rc.tx_cap = sizeof(drv_tx);
	rc.on_device = on_device;
	CHECK(open_side(&drv_port, &drv_bus, VMSG_SHM_DRIVER, &rc) == 0, 4);

	n = vmsg_bus_discover(&drv_bus, 100000000u);
	sh_puts("firmware: GET_DEVICES found ");
	sh_put_dec((unsigned long)(n < 0 ? 0 : n));
	sh_puts(" devices\n");
	CHECK(n == 3 && added == 3, 5);
	CHECK(vmsg_bus_device_present(&drv_bus, 420) && !vmsg_bus_device_present(&drv_bus, 6), 6);
	for (uint32_t i = 0; i < 100; i++)
		CHECK(vmsg_bus_ping(&drv_bus, 0xC0DE0000u + i, 100000000u) == 0, 7);
	sh_puts("firmware: 100 PINGs echoed, ");
	sh_put_dec(kicks);
	sh_puts(" doorbells\n");
	CHECK(drv_bus.stats.timeouts == 0 && dev_bus.stats.drop_malformed == 0, 8);
	sh_puts("firmware: all checks passed\n");
	return 0;
}
