/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_ivshmem.h
 * @brief What the three ivshmem ports share: QEMU's ivshmem device model
 *        (PCI 1af4:1110), the doorbell encoding, peer discovery and the
 *        choice of layout on the shared region, bound to the shm bus.
 *
 * A port (ivshmem-vfio, uio, ivshmem-host) maps the shared memory, learns its
 * own peer id (IVPosition, or the server's id) and supplies a backend: how to
 * ring a peer, how to wait for its own doorbell, and optionally how to look
 * at OS events. Everything else is here, once.
 *
 * Peer discovery (no hard-coded ids): each side publishes its own id in the
 * shared layout, as `id | VMSG_SHM_PEER_ID_VALID`:
 *  - vmamp v1 with our extension: the side's queue-head line + 0x10;
 *  - SPSC-v0: the tail line of the queue this side consumes, + 0x48 (padding
 *    no prototype touches).
 * Every doorbell reads the peer's word again, so a peer that restarts with a
 * new id is rung at its new id as soon as it has published it. Against a
 * prototype peer that publishes nothing, set cfg.fixed_peer (the Linux
 * virtio_msg_ivshmem driver expects to ring id 0), or let the backend name
 * the only other peer it knows (the host port learns peers from the server).
 */
#ifndef VIRTIO_MSG_PORT_IVSHMEM_H
#define VIRTIO_MSG_PORT_IVSHMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

VMSG_BEGIN_DECLS

/* QEMU ivshmem (rev 1) identity and BAR0 registers. */
#define VMSG_IVSHMEM_VENDOR 0x1af4u
#define VMSG_IVSHMEM_DEVICE 0x1110u
#define VMSG_IVSHMEM_BAR_REGS 0 /**< BAR0: 256 bytes of registers */
#define VMSG_IVSHMEM_BAR_SHM 2	/**< BAR2: the shared memory */
#define VMSG_IVSHMEM_REG_INTR_MASK 0x00u
#define VMSG_IVSHMEM_REG_INTR_STATUS 0x04u /**< read clears (INTx only) */
#define VMSG_IVSHMEM_REG_IVPOSITION 0x08u  /**< own peer id, read-only */
#define VMSG_IVSHMEM_REG_DOORBELL 0x0Cu	   /**< write (peer << 16) | vector */
#define VMSG_IVSHMEM_REGS_SIZE 0x100u
#define VMSG_IVSHMEM_MAX_PEER 0xFFFFu

/** The doorbell register value that rings @p vector of @p peer. */
static inline uint32_t vmsg_ivshmem_doorbell(uint32_t peer, uint32_t vector)
{
	return ((peer & 0xFFFFu) << 16) | (vector & 0xFFFFu);
}

/** Layout on the shared region. */
enum vmsg_ivshmem_layout {
	VMSG_IVSHMEM_LAYOUT_V1 = 0, /**< native vmamp v1 (default) */
	VMSG_IVSHMEM_LAYOUT_V0 = 1, /**< SPSC-v0 at the prototype offsets */
};

/** How a port reaches its device. */
struct vmsg_ivshmem_backend {
	/** Required: ring @p vector of @p peer (a hint; it may coalesce or be
	 *  lost if the peer is not armed: the bus never relies on counts). */
	int (*ring)(void *ctx, uint32_t peer, uint32_t vector);
	/** Optional: sleep until our doorbell rings or @p timeout_ns passes
	 *  (0 or VMSG_ETIMEDOUT; may return early). NULL: this side has no
	 *  interrupt (uio on stock QEMU), so waiting polls the shared memory:
	 *  spin for cfg.spin_ns, then sleep in slices of cfg.poll_ns. */
	int (*wait)(void *ctx, int64_t timeout_ns);
	/** Optional: look at OS events without blocking (server notices).
	 *  NULL: wait(ctx, 0), when there is a wait, drains a pending
	 *  interrupt instead. */
	int (*service)(void *ctx);
	/** Optional: the only other peer the backend knows of, for peers that
	 *  publish no id (prototypes). */
	bool (*sole_peer)(void *ctx, uint32_t *peer);
	/** Optional: release the backend (vmsg_bus_close()). */
	int (*close)(void *ctx);
	void *ctx;
};

struct vmsg_ivshmem_cfg {
	enum vmsg_shm_side side;
	enum vmsg_ivshmem_layout layout;
	/** v1: this side writes the layout. Make the side that lives longer
	 *  (the host daemon) the owner; the other side may restart freely. */
	bool owner;
	struct vmsg_shm_v1_params v1; /**< owner; all 0 = 64 slots of 264 bytes, extended */
	/** V0: queue offsets; all 0 = the ivshmem demo's 0x0 / 0x1000, 4 KiB,
	 *  host order, no kick suppression (a prototype peer may be there). */
	struct vmsg_shm_v0_params v0;
	/** V0: keep the queue indices found in memory instead of resetting ours. */
	bool v0_resume;
	uint8_t mem;	 /**< enum vmsg_spsc_mem: DEVICE for a PCI BAR */
	uint32_t vector; /**< the peer's vector we ring (default 0) */
	bool fixed_peer; /**< always ring peer_id (a prototype peer); else discover */
	uint32_t peer_id;
	uint64_t spin_ns;	     /**< wait: spin this long before sleeping */
	uint64_t poll_ns;	     /**< no-interrupt wait: sleep slice (0 = 50 us) */
	uint64_t transport_features; /**< VMSG_TF_* offered on this bus */
	/** v1, not owner: how long open waits for the owner's layout (the bus
	 *  needs its slot size before vmsg_bus_init()); 0 = 30 s. */
	uint64_t attach_timeout_ns;
};

/** Statistics (read them directly). */
struct vmsg_ivshmem_stats {
	uint64_t doorbells; /**< rung */
	uint64_t doorbell_errors;
	uint64_t no_peer;      /**< a kick was due but no peer id is known */
	uint64_t peer_changes; /**< the doorbell target changed */
	uint64_t polled_waits; /**< waits served by polling (no interrupt) */
};

/** One end. Visible for allocation; treat as opaque. */
struct vmsg_ivshmem {
	struct vmsg_ivshmem_cfg cfg;
	struct vmsg_ivshmem_backend be;
	uint8_t *shm;
	size_t shm_size;
	uint32_t own_id;
	int64_t peer; /* last doorbell target, -1 = none yet */
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	struct vmsg_ivshmem_stats st;
};

/**
 * @brief Open the channel on the shared region and bind it to the shm bus.
 * @param shm the mapped shared memory (BAR2, or the server's region), 64-byte aligned.
 * @param own_id this side's ivshmem peer id (0..65535), published in the layout.
 * A side that does not own a v1 layout waits here (polling every 1 ms, up
 * to cfg->attach_timeout_ns) until the owner has written it: the bus reads
 * the slot size from it when it is initialised.
 * @retval 0 ready (the lifecycle completes as the bus polls).
 * @retval VMSG_ETIMEDOUT no layout from the owner in time.
 * @retval VMSG_EINVAL bad arguments. Others as vmsg_shm_chan_open_v1()/_v0().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivshmem_open(struct vmsg_ivshmem *iv, void *shm, size_t size,
					       uint32_t own_id,
					       const struct vmsg_ivshmem_backend *be,
					       const struct vmsg_ivshmem_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv (ops: vmsg_shm_bus_ops). */
VMSG_API struct vmsg_shm_bus *vmsg_ivshmem_bus(struct vmsg_ivshmem *iv);

/**
 * @brief The peer this side would ring now.
 * @retval true and *peer. @retval false no id known yet.
 */
VMSG_API bool vmsg_ivshmem_peer(struct vmsg_ivshmem *iv, uint32_t *peer);

/**
 * @brief The backend learned that peer @p id went away (server notice). If
 *        that is our peer, pending requests fail with VMSG_ECONNRESET and
 *        the channel waits for a new peer (which may come back with a new id).
 * @return true if it was our peer.
 */
VMSG_API bool vmsg_ivshmem_peer_left(struct vmsg_ivshmem *iv, uint32_t id);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_IVSHMEM_H */
