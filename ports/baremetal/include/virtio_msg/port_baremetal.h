/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_baremetal.h
 * @brief bare-metal port: a virtio-msg bus on a shared-memory region given
 *        by address, for RTOS or firmware. No OS header, no libc beyond the
 *        freestanding headers (the compiler may still call memcpy/memset for
 *        struct copies, which a freestanding C environment provides).
 *
 *     static struct vmsg_baremetal port;
 *     struct vmsg_baremetal_cfg pc = { .base = SHM_BASE, .size = SHM_SIZE,
 *             .side = VMSG_SHM_DEVICE, .owner = true, .kick = ring_doorbell };
 *     vmsg_baremetal_open(&port, &pc);
 *     cfg.ops = &vmsg_shm_bus_ops; cfg.priv = vmsg_baremetal_bus(&port);
 *
 * Without a wait callback, vmsg_bus_wait() returns at once after counting
 * one tick (vmsg_bus_cfg.tick_ns); without a clock, timeouts are counted in
 * those ticks. A firmware that sleeps in its own loop instead (WFI, an RTOS
 * semaphore given by the doorbell interrupt) calls vmsg_bus_prepare_sleep()
 * before each sleep and sleeps only when it returns 0: the peer rings the
 * doorbell only for a side that said it sleeps (kick suppression, bus.h).
 * Without a clock each such call counts as one tick, so pending requests
 * expire after their budget in ticks: wake at least once a tick (a timer
 * interrupt) while a request is pending, or give the port a clock.
 */
#ifndef VIRTIO_MSG_PORT_BAREMETAL_H
#define VIRTIO_MSG_PORT_BAREMETAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

VMSG_BEGIN_DECLS

struct vmsg_baremetal_cfg {
	void *base;              /**< the shared region, 64-byte aligned */
	size_t size;
	enum vmsg_shm_side side;
	bool owner;              /**< this side writes the vmamp v1 layout */
	struct vmsg_shm_v1_params layout; /**< owner; 0 = 16 slots of 64 bytes */
	uint8_t mem;             /**< enum vmsg_spsc_mem (SRAM/BAR: device) */
	const struct vmsg_spsc_cache_ops *cache; /**< non-coherent memory, or NULL */
	/** Required: ring the peer's doorbell (IPI, mailbox, SEV...). */
	int (*kick)(void *ctx);
	/** Optional: sleep until an interrupt or @p timeout_ns (e.g. WFI). */
	int (*wait)(void *ctx, int64_t timeout_ns);
	/** Optional: monotonic nanoseconds. */
	int (*now)(void *ctx, uint64_t *ns);
	void *ctx;
	uint32_t peer_id;
};

/** One end. Visible for allocation (static storage is fine). */
struct vmsg_baremetal {
	struct vmsg_baremetal_cfg cfg;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
};

/**
 * @brief Open the channel on the region (the owner writes the layout).
 * @retval 0 ready (the lifecycle completes as the bus polls).
 * @retval VMSG_EINVAL bad configuration. Others as vmsg_shm_chan_open_v1().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_baremetal_open(struct vmsg_baremetal *p,
						 const struct vmsg_baremetal_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_baremetal_bus(struct vmsg_baremetal *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_BAREMETAL_H */
