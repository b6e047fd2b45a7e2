/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file shm.h
 * @brief Shared-memory layouts and the peer lifecycle: a "channel" is one
 *        region holding two rings (driver->device and device->driver).
 *
 * Two layouts (docs/ring-protocol.md):
 *  - **vmamp v1** (native): a self-describing 64-byte header, one 8-byte queue
 *    head per side with the INIT/READY/RUN/SHUTDOWN/PEER_DEAD lifecycle. Our
 *    writer keeps the layout valid for a plain v1 peer and adds an extension
 *    (epoch, awake and kicked words, peer ids, a buffer window) only where
 *    v1 does not look.
 *  - **SPSC-v0**: bit-exact with the QEMU/Linux prototype ring, no header and
 *    no lifecycle.
 *
 * A channel never blocks: call vmsg_shm_chan_poll() from your loop; it moves
 * the lifecycle on and tells you when the link comes up or goes down.
 */
#ifndef VIRTIO_MSG_SHM_H
#define VIRTIO_MSG_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/spsc.h"

VMSG_BEGIN_DECLS

/* ---------------------------------------------------------------------- */
/* vmamp v1 wire facts (all little-endian)                                */
/* ---------------------------------------------------------------------- */

#define VMSG_V1_MAGIC 0x4C4Fu     /**< layout header magic, written last */
#define VMSG_V1_HDR_SIZE 64u
#define VMSG_V1_VERSION 1u
#define VMSG_V1_F_MASKED_NOTIF 0x1u /**< the only defined feature bit */
#define VMSG_V1_MAX_NOTIF 64u
#define VMSG_V1_OFF_MAGIC 0x00u
#define VMSG_V1_OFF_LENGTH 0x02u
#define VMSG_V1_OFF_VERSION 0x04u
#define VMSG_V1_OFF_FEATURES 0x06u
#define VMSG_V1_OFF_NUM_NOTIF 0x08u
#define VMSG_V1_OFF_NUM_VQ_NOTIF 0x09u
#define VMSG_V1_OFF_NUM_ELEMS 0x0Au
#define VMSG_V1_OFF_ELEM_SIZE 0x0Cu
#define VMSG_V1_OFF_RESERVED 0x0Eu
#define VMSG_V1_OFF_DEV_NOTIF 0x10u
#define VMSG_V1_OFF_DEV_QH 0x18u
#define VMSG_V1_OFF_DEV_ELEMS 0x20u
#define VMSG_V1_OFF_DRV_NOTIF 0x28u
#define VMSG_V1_OFF_DRV_QH 0x30u
#define VMSG_V1_OFF_DRV_ELEMS 0x38u

/* Queue head (8 bytes, one per side, written only by its side) */
#define VMSG_V1_QH_MAGIC 0x514Fu
#define VMSG_V1_QH_SIZE 8u
#define VMSG_V1_QH_OFF_MAGIC 0u
#define VMSG_V1_QH_OFF_STATUS 2u
#define VMSG_V1_QH_OFF_TAIL 4u /**< producer index of this side's own elements */
#define VMSG_V1_QH_OFF_HEAD 6u /**< consumer index into the peer's elements */
#define VMSG_V1_STATE_MASK 0x1Fu
#define VMSG_V1_QH_F_DEBUGGABLE 0x8000u

/** Lifecycle states (vmamp v1 queue-head status, low 5 bits). */
enum vmsg_shm_state {
	VMSG_SHM_INIT = 0,
	VMSG_SHM_READY = 1,
	VMSG_SHM_RUN = 2,
	VMSG_SHM_SHUTDOWN = 3,
	VMSG_SHM_PEER_DEAD = 4,
};

/* Our extension (only when both sides are this library) */
#define VMSG_EXT_MAGIC 0x31584D56u /**< "VMX1" as le32 */
#define VMSG_EXT_VERSION 1u
#define VMSG_EXT_OFF_MAGIC 0x00u       /**< le32, in the line at header + 0x40 */
#define VMSG_EXT_OFF_VERSION 0x04u     /**< le32 */
#define VMSG_EXT_OFF_WINDOW_OFF 0x08u  /**< le64, from the header; 0 = none */
#define VMSG_EXT_OFF_WINDOW_SIZE 0x10u /**< le64 */
/**
 * Awake words (docs/ring-protocol.md, "Kick suppression"), le32, each written
 * only by the side that consumes the ring: 0 = always kick, odd = polling,
 * even = asleep with that token. In the extension line, away from the
 * queue-head lines that each side writes on every message, so a producer's
 * look at its consumer's word does not miss in the cache per message.
 */
#define VMSG_EXT_OFF_DEV_AWAKE 0x20u   /**< the device's (it consumes the driver's elements) */
#define VMSG_EXT_OFF_DRV_AWAKE 0x30u   /**< the driver's (it consumes the device's elements) */
#define VMSG_EXT_LINE 0x40u            /**< offset of the extension line */
/* Per-side extras, in that side's queue-head line after the v1 bytes */
#define VMSG_SIDE_OFF_EPOCH 0x08u   /**< le32: incremented at every start */
/* +0x0C: reserved, 0 (the awake word until the extension line took it; an
 * older build that still looks here finds 0 and always kicks) */
#define VMSG_SIDE_OFF_PEER_ID 0x10u /**< le32: this side's port peer id (e.g. ivshmem) */
/** le32: the last sleep token of the peer this side kicked for (it produces
 *  into its own elements); the peer never reuses it as its next token. */
#define VMSG_SIDE_OFF_KICKED 0x14u
#define VMSG_SHM_LINE 64u           /**< fixed line size, never the local CPU's */
/** Ports whose ids may be 0 (ivshmem) publish id | VALID, so 0 stays "none". */
#define VMSG_SHM_PEER_ID_VALID 0x80000000u

/** Which side of a channel this endpoint is. */
enum vmsg_shm_side {
	VMSG_SHM_DRIVER = 0,
	VMSG_SHM_DEVICE = 1,
};

/** Parameters of a v1 layout that our writer produces. */
struct vmsg_shm_v1_params {
	uint16_t num_elems;   /**< per direction, >= 2 (one stays empty) */
	/** Bytes per element, a multiple of 4. Use 64 for a layout a Linux
	 *  vmamp v1 peer shares: it receives into 64-byte buffers, refuses
	 *  smaller elements and cuts larger messages to 64 bytes. */
	uint16_t elem_size;
	bool extended;        /**< write our extension (both sides are this library) */
	uint64_t window_size; /**< extended only: a buffer window after the arrays (0 = none) */
};

/** Why a v1 layout was refused (for logs and tests). */
enum vmsg_shm_reject {
	VMSG_SHM_OK = 0,
	VMSG_SHM_R_TOO_SMALL,    /**< mapping smaller than the header */
	VMSG_SHM_R_MAGIC,        /**< header magic not (yet) there: try again */
	VMSG_SHM_R_LENGTH,
	VMSG_SHM_R_VERSION,
	VMSG_SHM_R_FEATURES,     /**< unknown feature bit */
	VMSG_SHM_R_RESERVED,
	VMSG_SHM_R_NOTIF,        /**< num_notif or num_vq_notif_per_device */
	VMSG_SHM_R_ELEMS,        /**< element count or size */
	VMSG_SHM_R_OFFSET_ZERO,
	VMSG_SHM_R_ALIGN,
	VMSG_SHM_R_OVERFLOW,
	VMSG_SHM_R_BOUNDS,
	VMSG_SHM_R_OVERLAP,
	VMSG_SHM_R_UNSUPPORTED,  /**< valid v1 our ring cannot drive (element size) */
};

/** What a validated v1 layout says (offsets from the header). */
struct vmsg_shm_v1_info {
	uint16_t features;
	uint8_t num_notif;
	uint8_t num_vq_notif_per_device;
	uint16_t num_elems;
	uint16_t elem_size;
	uint64_t dev_notif, dev_qh, dev_elems;
	uint64_t drv_notif, drv_qh, drv_elems;
	bool extended;          /**< our extension is present and sound */
	uint64_t window_off;    /**< extended: buffer window (0 = none) */
	uint64_t window_size;
	enum vmsg_shm_reject reason; /**< set on failure */
};

/**
 * @brief Bytes a v1 layout with these parameters needs.
 * @retval 0 and *size. @retval VMSG_EINVAL bad parameters.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_v1_size(const struct vmsg_shm_v1_params *prm, uint64_t *size);

/**
 * @brief Owner side: write a v1 layout into @p base (header magic last, with
 *        release). Queue heads and extras are left for each side to write.
 * @retval 0 written. @retval VMSG_EINVAL bad parameters or region too small.
 * @retval VMSG_ENOTSUP @p mem is a memory mode this build left out.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_v1_write(void *base, size_t size,
					       const struct vmsg_shm_v1_params *prm, uint8_t mem);

/**
 * @brief Validate a v1 layout written by the peer, with every check of the
 *        Linux validator, then detect our extension.
 * @retval 0 valid (@p info filled).
 * @retval VMSG_EAGAIN the header magic is not there yet: try again later.
 * @retval VMSG_EPROTO invalid (info->reason says why).
 * @retval VMSG_ENOTSUP valid v1 that this library cannot drive, or @p mem
 *         is a memory mode this build left out.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_v1_validate(const void *base, size_t size, uint8_t mem,
						  struct vmsg_shm_v1_info *info);

/** SPSC-v0 profile: where the two queues are. */
struct vmsg_shm_v0_params {
	uint64_t drv_to_dev_off; /**< default 0x0 (ivshmem demo; AMP-PCI: 0x1000) */
	uint64_t dev_to_drv_off; /**< default 0x1000 (AMP-PCI: 0x2000) */
	uint64_t queue_size;     /**< bytes per queue region, default 0x1000 (62 slots) */
	bool little_endian;      /**< LE indices (default: host order, as the prototypes) */
	/** Use the awake word at queue + 0x44 and the kicked word at
	 *  queue + 0x04 (only when both sides are this library and this
	 *  version: a prototype peer never writes them, and an older build
	 *  took any non-zero awake word for "polling"). */
	bool kick_suppression;
};

#define VMSG_V0_OFF_HEAD 0x00u  /**< producer index (they call it head) */
#define VMSG_V0_OFF_KICKED 0x04u /**< ours: producer's kicked word, in its padding */
#define VMSG_V0_OFF_TAIL 0x40u  /**< consumer index */
#define VMSG_V0_OFF_AWAKE 0x44u /**< ours: consumer's awake word, in its padding */
#define VMSG_V0_OFF_PEER_ID 0x48u /**< ours: consumer's port id (| VALID), in its padding */
#define VMSG_V0_OFF_SLOTS 0x80u
#define VMSG_V0_SLOT_SIZE 64u

/** Fill @p prm with the ivshmem-demo defaults (0x0 / 0x1000, 4 KiB, host order). */
VMSG_API void vmsg_shm_v0_defaults(struct vmsg_shm_v0_params *prm);

/** Channel configuration. */
struct vmsg_shm_cfg {
	enum vmsg_shm_side side;
	uint8_t mem;       /**< enum vmsg_spsc_mem */
	const struct vmsg_spsc_cache_ops *cache;
	uint32_t peer_id;  /**< extended v1: published for the peer to find us */
	bool owner;        /**< v1: this side writes the layout */
	struct vmsg_shm_v1_params v1; /**< v1 owner: the layout to write */
};

/** Channel events reported by vmsg_shm_chan_poll(). */
#define VMSG_SHM_EV_UP 0x1u   /**< entered RUN: messages may flow */
#define VMSG_SHM_EV_DOWN 0x2u /**< left RUN: fail pending work, wait for UP */

/** One endpoint of a channel. Visible for allocation; treat as opaque. */
struct vmsg_shm_chan {
	struct vmsg_spsc_prod tx;
	struct vmsg_spsc_cons rx;
	uint8_t *base;
	size_t size;
	uint8_t profile;  /* 0 = v0, 1 = v1 */
	uint8_t side;
	uint8_t mem;
	uint8_t state;    /* own enum vmsg_shm_state (v0: always RUN) */
	bool extended;
	bool attached;    /* v1: layout validated/written and own side started */
	bool peer_was_run; /* the peer reached RUN in the current session */
	bool fresh;       /* plain v1, INIT: a READY of the peer now was published
			   * after our INIT (docs/ring-protocol.md) */
	uint8_t *own_qh, *peer_qh;
	uint32_t own_epoch, peer_epoch;
	uint32_t peer_id;
	struct vmsg_shm_cfg cfg;
	struct vmsg_shm_v1_info info;
	uint64_t restarts_seen; /* times the peer went away while we ran */
};

/**
 * @brief Open a vmamp v1 channel on @p base. The owner writes the layout;
 *        the other side validates it (VMSG_EAGAIN until the owner has written
 *        it: just call vmsg_shm_chan_poll(), which retries). Starts the own
 *        side of the lifecycle (INIT).
 * @retval 0 opened. @retval VMSG_EINVAL bad arguments.
 * @retval VMSG_EPROTO / VMSG_ENOTSUP the peer's layout is refused.
 * @retval VMSG_ENOTSUP also: the configuration needs what this build left
 *         out (a memory mode, cache hooks, 16-bit indices, a non-owner in a
 *         VMSG_CONFIG_SHM_V1_OWNER_ONLY build; config.h).
 *
 * The owner reuses a layout already in the region when it is byte for byte
 * the one it would write (a restarted owner keeps the survivor's header),
 * else writes it; it never parses the header, so what it uses (offsets,
 * sizes) comes from cfg->v1, not from shared memory.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_open_v1(struct vmsg_shm_chan *ch, void *base,
						   size_t size, const struct vmsg_shm_cfg *cfg);

/**
 * @brief Open an SPSC-v0 channel (no lifecycle: the channel is RUN at once).
 * @param how VMSG_SPSC_INIT_RESET, VMSG_SPSC_INIT_RESUME or
 *        VMSG_SPSC_INIT_RESYNC for both rings (spsc.h). RESYNC starts both
 *        queues empty where the peer's indices are, writing only this side's
 *        two index words: for a peer that never resets its own (QEMU's
 *        AMP-PCI device).
 * @retval VMSG_EPROTO (resume, resync) an index in memory is out of range.
 * @retval VMSG_ENOTSUP the configuration needs what this build left out (a
 *         memory mode, cache hooks, 32-bit indices; config.h).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_open_v0(struct vmsg_shm_chan *ch, void *base,
						   size_t size, const struct vmsg_shm_cfg *cfg,
						   const struct vmsg_shm_v0_params *prm, unsigned how);

/**
 * @brief Move the lifecycle on without blocking.
 * @return a mask of VMSG_SHM_EV_* (0 when nothing changed), or a negative
 *         code (VMSG_EPROTO: the peer's layout is invalid).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_poll(struct vmsg_shm_chan *ch);

/** @brief Own lifecycle state (enum vmsg_shm_state). */
VMSG_API int vmsg_shm_chan_state(const struct vmsg_shm_chan *ch);

/** @brief The peer's published id (extended v1) as read when the link came
 *  up, or 0 when unknown. */
VMSG_API uint32_t vmsg_shm_chan_peer_id(const struct vmsg_shm_chan *ch);

/**
 * @brief The id the peer publishes right now (extended v1), read live from
 *        the layout in any lifecycle state, so a port can ring a peer that is
 *        still starting. The value comes from the peer: use it as a hint
 *        (a doorbell target), never as an index.
 * @retval true and *id. @retval false nothing published (no extension, not
 *         attached, or the peer's queue head is not there).
 */
VMSG_API bool vmsg_shm_chan_peer_id_now(const struct vmsg_shm_chan *ch, uint32_t *id);

/** @brief Change the id we publish (extended v1), e.g. when the port learns
 *  its own id only after opening the channel. */
VMSG_API void vmsg_shm_chan_set_own_id(struct vmsg_shm_chan *ch, uint32_t id);

/**
 * @brief Send one message (copied into a slot) when the channel is RUN.
 * @retval 0 sent. @retval VMSG_ESTATE not RUN. Others as vmsg_spsc_push();
 *         VMSG_ECONNRESET means the peer went away (poll to recover). With
 *         a plain v1 peer an index violation is a restart: VMSG_ECONNRESET,
 *         never VMSG_EPROTO (docs/ring-protocol.md, "Plain v1 peers").
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_send(struct vmsg_shm_chan *ch, const void *msg,
						size_t len);

/**
 * @brief Receive one message (a whole slot) when the channel is RUN.
 * @return bytes copied, VMSG_EAGAIN when empty, VMSG_ESTATE when not RUN,
 *         or as vmsg_spsc_pop().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_recv(struct vmsg_shm_chan *ch, void *buf, size_t cap);

/** @brief After sending: does the peer need a kick? (see vmsg_spsc_prod_need_kick()) */
VMSG_API bool vmsg_shm_chan_need_kick(struct vmsg_shm_chan *ch);

/**
 * @brief Before sleeping: arm the receive ring (see vmsg_spsc_cons_arm()).
 * @retval 0 sleep until kicked. @retval 1 work arrived, do not sleep.
 * @retval VMSG_ESTATE not RUN (sleep until kicked or timed out, then poll).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_shm_chan_arm(struct vmsg_shm_chan *ch);

/** @brief After waking: mark the receive side as polling again. */
VMSG_API void vmsg_shm_chan_awake(struct vmsg_shm_chan *ch);

/**
 * @brief The port saw the peer die (socket hang-up, process exit): leave
 *        RUN (or READY) as if the lifecycle had noticed, and wait for a new
 *        peer: in PEER_DEAD (extended), or back in INIT with a plain v1
 *        peer, which would take our PEER_DEAD for fatal when it starts.
 * @return VMSG_SHM_EV_DOWN if the channel was RUN, else 0.
 */
VMSG_API int vmsg_shm_chan_peer_gone(struct vmsg_shm_chan *ch);

/** @brief Publish SHUTDOWN (v1); the peer sees us go away. */
VMSG_API void vmsg_shm_chan_shutdown(struct vmsg_shm_chan *ch);

/** @brief The largest message one slot carries. */
VMSG_API uint32_t vmsg_shm_chan_slot_size(const struct vmsg_shm_chan *ch);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_SHM_H */
