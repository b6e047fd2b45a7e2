/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file shm_bus.h
 * @brief The bus ops over a shared-memory channel (shm.h): everything but
 *        the platform's doorbell, wait and mapping, which a port supplies.
 *
 * Kick suppression is built in: the port's kick() is called only when the
 * peer armed its ring for sleep, and wait() arms our ring and re-checks it
 * before calling the port's wait, so a doorbell that arrived before the
 * port was waiting is never needed (doorbells are hints, not counts).
 * Optionally, wait() first spins for spin_ns checking the ring, then sleeps.
 */
#ifndef VIRTIO_MSG_SHM_BUS_H
#define VIRTIO_MSG_SHM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_msg/bus.h"
#include "virtio_msg/defs.h"
#include "virtio_msg/shm.h"

VMSG_BEGIN_DECLS

/** What a port supplies. */
struct vmsg_shm_bus_hooks {
	/** Required: ring the peer's doorbell (a hint; may coalesce). */
	int (*kick)(void *ctx);
	/** Required: sleep until our doorbell rings or @p timeout_ns passes.
	 *  Returns 0 or VMSG_ETIMEDOUT. May return early. */
	int (*wait)(void *ctx, int64_t timeout_ns);
	/** Optional: monotonic time in ns (needed for spinning and timeouts). */
	int (*now)(void *ctx, uint64_t *ns);
	/** Optional: bus address range to local pointer, bounds-checked. */
	int (*translate)(void *ctx, uint64_t addr, uint64_t len, void **ptr);
	/** Optional: look at OS events (hang-ups, new peers) without blocking;
	 *  called when the ring is empty, at most every service_ns, and as
	 *  often while a wait spins (so a peer's death is seen within about
	 *  service_ns however long spin_ns is). */
	int (*service)(void *ctx);
	/** Optional: release the port (vmsg_bus_close()). */
	int (*close)(void *ctx);
	void *ctx;
	uint64_t spin_ns;    /**< adaptive mode: spin this long before sleeping */
	uint64_t service_ns; /**< 0 = 10 ms */
	/** The bus's maximum message size (bus params), capped at the slot
	 *  size; 0 = the slot size. For a peer that copies fewer bytes than a
	 *  slot holds (QEMU's AMP-PCI device: 48 of 64): a larger send is
	 *  refused with VMSG_EMSGSIZE before it reaches the ring, and a
	 *  receive takes at most this many bytes of a slot. */
	uint32_t max_msg_size;
};

/** State of a shm bus. Visible for allocation; treat as opaque. */
struct vmsg_shm_bus {
	struct vmsg_shm_chan *ch;
	struct vmsg_shm_bus_hooks hooks;
	uint64_t transport_features;
	uint64_t last_service;
	uint64_t spin_service; /**< when a spinning wait last called the service hook */
	uint64_t kicks;      /**< doorbells rung */
	uint64_t spins_hit;  /**< waits that found work while spinning */
	uint32_t rx_held;    /**< received slots not given back yet */
	uint32_t idle_count; /**< empty receives since the last look at the clock */
	uint32_t max_told;   /**< the maximum message size last reported to the bus */
	bool tick_due;       /**< look at the clock on the next empty receive */
	uint8_t reset_due;   /**< a reset recv reports once: the port saw the
			      *   peer go (vmsg_shm_bus_peer_gone()), or the
			      *   bus parameters changed (BUS-9) */
	bool guard_due;      /**< the next receive takes the guarded path */
	bool corked;         /**< sends leave the kick check to a flush */
	bool kick_due;       /**< a corked send's kick check is still to do */
};

/** The ops table to put in vmsg_bus_cfg.ops, with the vmsg_shm_bus as priv. */
VMSG_API extern const struct vmsg_bus_ops vmsg_shm_bus_ops;

/**
 * @brief Bind a channel and a port's hooks.
 * @param transport_features VMSG_TF_* both sides support (BUS-7).
 * @retval 0 ready. @retval VMSG_EINVAL missing kick or wait.
 * @retval VMSG_ENOTSUP hooks->spin_ns in a VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
 *         build (config.h).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_bus_init(struct vmsg_shm_bus *sb, struct vmsg_shm_chan *ch,
					       const struct vmsg_shm_bus_hooks *hooks,
					       uint64_t transport_features);

/** @brief The port saw the peer die: the next recv reports VMSG_ECONNRESET
 *  and the channel waits for a new peer. */
VMSG_API void vmsg_shm_bus_peer_gone(struct vmsg_shm_bus *sb);

/**
 * @brief Cork (@p on) or uncork the sends. Corked, a send queues its message
 *        and leaves the kick check (a full fence, then a look at the peer's
 *        awake word) to the flush: the uncork, the next wait or arm, or a
 *        send that finds the ring full, whichever comes first. One check
 *        then covers every message sent since the last one (each index
 *        publication includes the earlier ones), so a burst of N sends
 *        pays one fence instead of N. A sleeping peer is woken at the
 *        flush, not at the send: uncork at the end of each burst.
 *        Uncorking rings the doorbell if the peer needs it. Over a bus,
 *        vmsg_bus_cork() calls this (the ops table's cork).
 */
VMSG_API void vmsg_shm_bus_cork(struct vmsg_shm_bus *sb, bool on);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_SHM_BUS_H */
