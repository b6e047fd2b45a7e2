/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One end of a bus over the posix-shm port, as the benchmarks that run the
 * whole stack between two processes use it (bench_bus, bench_death): the
 * port, the bus and the arrays the bus borrows.
 */
#ifndef BENCH_SIDE_H
#define BENCH_SIDE_H

#include <stdbool.h>
#include <string.h>

#include <virtio_msg/port_posix_shm.h>
#include <virtio_msg/virtio_msg.h>

struct side {
	struct vmsg_posix_shm port;
	struct vmsg_bus bus;
	uint8_t rx[264], tx[264];
	struct vmsg_bus_req reqs[8];
	struct vmsg_bus_dev devs[4];
};

/* Open the port with @pc, then a bus on it in the role of pc->side.
 * 0, or -1 with nothing left open. */
static inline int side_open(struct side *s, const struct vmsg_posix_shm_cfg *pc)
{
	bool device = pc->side == VMSG_SHM_DEVICE;
	struct vmsg_bus_cfg bc = { 0 };

	memset(s, 0, sizeof(*s));
	if (vmsg_posix_shm_open(&s->port, pc))
		return -1;
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_posix_shm_bus(&s->port);
	bc.role = device ? VMSG_BUS_DEVICE : VMSG_BUS_DRIVER;
	bc.reqs = s->reqs;
	bc.num_reqs = 8;
	bc.devs = s->devs;
	bc.num_devs = 4;
	bc.rx_buf = s->rx;
	bc.rx_cap = sizeof(s->rx);
	bc.tx_buf = s->tx;
	bc.tx_cap = sizeof(s->tx);
	if (vmsg_bus_init(&s->bus, &bc)) {
		(void)vmsg_posix_shm_close(&s->port);
		return -1;
	}
	return 0;
}

#endif /* BENCH_SIDE_H */
