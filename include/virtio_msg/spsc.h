/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file spsc.h
 * @brief A lock-free single-producer/single-consumer ring of fixed-size
 *        slots in memory that the caller hands over (usually shared with
 *        another process, VM or CPU).
 *
 * The protocol (indices, ordering, validation, kick suppression, guard) is
 * described in docs/ring-protocol.md. In short:
 *  - indices are slot numbers in [0, N) with one slot kept empty;
 *  - each endpoint keeps its own index privately and only publishes it; the
 *    peer's index is validated on every read, and a violation returns
 *    VMSG_EPROTO and latches the endpoint as broken;
 *  - a consumer that wants to sleep publishes a fresh sleep token in its
 *    awake word and re-checks (vmsg_spsc_cons_arm()); a producer asks
 *    vmsg_spsc_prod_need_kick() after publishing and kicks once per token,
 *    so no wake-up is ever lost and a sleep costs one kick, not one per
 *    message sent while the consumer wakes up.
 *
 * The two endpoints are initialised separately (usually in different
 * processes) from the same description of where the ring lives. Nothing here
 * allocates, blocks or sleeps.
 *
 * Thread safety: one thread drives an endpoint. With 16-bit index fields in
 * device-memory mode (the vmamp v1 layout), a side's producer and consumer
 * share one aligned 32-bit index word, so they must be driven from one
 * thread (the bus does so).
 */
#ifndef VIRTIO_MSG_SPSC_H
#define VIRTIO_MSG_SPSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/errors.h"

VMSG_BEGIN_DECLS

/** How shared memory is accessed. */
enum vmsg_spsc_mem {
	/** Ordinary cache-coherent memory: C11 atomics and plain copies. */
	VMSG_SPSC_MEM_COHERENT = 0,
	/** Device memory (VFIO/UIO BARs, SRAM): aligned 32-bit volatile
	 *  accesses only, explicit barriers, no memcpy. */
	VMSG_SPSC_MEM_DEVICE = 1,
};

/** Index words are stored little-endian (default: host byte order). */
#define VMSG_SPSC_F_LE_INDEX 0x1u

/**
 * Producer: write runs of at least 8 whole 64-byte slots in
 * vmsg_spsc_push_batch() with streaming (non-temporal) stores, then one
 * store fence before the index publication. Coherent memory without cache
 * hooks only; x86 builds with SSE2 (elsewhere, and in sanitizer builds, the
 * flag is accepted and changes nothing). Off by default, because it pays
 * only when the consumer's core shares no cache with the producer's (other
 * chiplet or socket): the lines then go out without the producer first
 * taking them back from the consumer's cache. Measured at batch 32: about
 * 1.25x the default there, but about 3x slower when both cores share a
 * cache, where the lines would otherwise move cache to cache
 * (bench/README.md).
 */
#define VMSG_SPSC_F_STREAM 0x2u

/**
 * Optional cache maintenance for memory that is not coherent with the peer.
 * clean() writes back lines the peer must see; invalidate() drops lines
 * before reading what the peer wrote. Called with the exact ranges touched.
 */
struct vmsg_spsc_cache_ops {
	void (*clean)(void *ctx, const volatile void *addr, size_t len);
	void (*invalidate)(void *ctx, const volatile void *addr, size_t len);
	void *ctx;
};

/**
 * Where an index lives: an aligned 16- or 32-bit field. In device-memory
 * mode a 16-bit index is written by read-modify-write of its aligned 32-bit
 * word, so that whole word must be mapped and belong to the same side.
 */
struct vmsg_spsc_index {
	void *addr;   /**< aligned to its width */
	uint8_t bits; /**< 16 or 32 */
};

/** A 32-bit little-endian word whose masked bits must hold one of two values. */
struct vmsg_spsc_guard {
	const void *addr;    /**< 4-byte aligned, or NULL for no check */
	uint32_t mask;       /**< bits compared (host order after LE decoding) */
	uint32_t expect;     /**< the required value */
	uint32_t expect_alt; /**< another accepted value; 0 = none */
};

/** Where one ring lives. Filled by a layout (shm.h) or by hand. */
struct vmsg_spsc_desc {
	void *slots;             /**< slot array, 4-byte aligned */
	uint32_t num_slots;      /**< N >= 2; N - 1 are usable */
	uint32_t slot_size;      /**< bytes per slot, a multiple of 4 */
	struct vmsg_spsc_index prod; /**< producer index (written by the producer) */
	struct vmsg_spsc_index cons; /**< consumer index (written by the consumer) */
	/** The consumer's awake word (aligned 32-bit, written only by the
	 *  consumer): 0 = always kick (fresh memory), odd = polling, even =
	 *  asleep with that token, kick once. NULL: the producer always asks
	 *  for a kick. Stored in the byte order of the indices. */
	void *awake;
	uint32_t flags;          /**< VMSG_SPSC_F_* */
	uint8_t mem;             /**< enum vmsg_spsc_mem */
	const struct vmsg_spsc_cache_ops *cache; /**< NULL when coherent */
	/** Optional, only with @c awake: the producer's kicked word (aligned
	 *  32-bit, written only by the producer): the last token it kicked
	 *  for, so the consumer never reuses it. NULL: tokens still work; a
	 *  token could then repeat after 2^31 sleeps of a silent producer. */
	void *kicked;
};

/** Counters of one endpoint (plain, private memory). */
struct vmsg_spsc_stats {
	uint64_t msgs;        /**< slots pushed or popped */
	uint64_t publishes;   /**< index publications */
	uint64_t peer_loads;  /**< reads of the peer's index */
	uint64_t kicks;       /**< producer: kicks reported needed */
	uint64_t full_or_empty; /**< times the ring was found full / empty */
};

/** Producer endpoint. Visible so callers can allocate it; treat as opaque. */
struct vmsg_spsc_prod {
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_guard guard[2];
	uint32_t prod;      /* own index incl. reserved slots not yet committed */
	uint32_t published; /* own index as last published */
	uint32_t cons_seen; /* last validated consumer index */
	uint32_t kicked;    /* the consumer's token we last kicked for (0: none) */
	uint32_t dirty;     /* every slot is zero from this byte on (see ring.c) */
	uint32_t lap_max;   /* longest fill since lap_fills was 0 */
	uint32_t lap_fills; /* fills in ring order since the lap began */
	uint8_t broken;
	uint8_t plain; /* coherent memory without cache hooks: ring.c's fast path */
	uint8_t reserved8[2];
	struct vmsg_spsc_stats stats;
};

/** Consumer endpoint. Visible so callers can allocate it; treat as opaque. */
struct vmsg_spsc_cons {
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_guard guard[2];
	uint32_t cons;      /* own index incl. peeked slots not yet released */
	uint32_t published; /* own index as last published */
	uint32_t prod_seen; /* last validated producer index */
	uint32_t token;     /* own current sleep token (even, non-zero) */
	uint8_t broken;
	uint8_t plain; /* coherent memory without cache hooks: ring.c's fast path */
	uint8_t reserved8[2];
	struct vmsg_spsc_stats stats;
};

/** Start the endpoint from the indices found in memory (prototype behaviour). */
#define VMSG_SPSC_INIT_RESUME 0x0u
/** Start the endpoint at index 0 and publish it (a fresh ring). */
#define VMSG_SPSC_INIT_RESET 0x1u
/**
 * Start the endpoint with the ring empty where the peer's index is: a
 * producer takes the consumer's index found in memory, a consumer the
 * producer's, and publishes it as its own. Only the endpoint's own words are
 * written. For a peer that never resets its indices (QEMU's AMP-PCI device):
 * neither side takes again a slot of an earlier life. The peer's index is
 * validated before anything is written.
 */
#define VMSG_SPSC_INIT_RESYNC 0x2u

/**
 * @brief Check a ring description (alignment, sizes, index widths).
 * @retval 0 valid. @retval VMSG_EINVAL invalid.
 * @retval VMSG_ENOTSUP valid, but it needs a memory mode, an index width or
 *         cache hooks this build left out (config.h).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_desc_check(const struct vmsg_spsc_desc *d);

/**
 * @brief Initialise the producer endpoint.
 * @param how VMSG_SPSC_INIT_RESET, VMSG_SPSC_INIT_RESUME to continue from
 *        the indices in memory (both are validated), or VMSG_SPSC_INIT_RESYNC
 *        to start empty at the peer's index (validated).
 * @retval 0 success. @retval VMSG_EINVAL bad description or @p how.
 * @retval VMSG_ENOTSUP the description needs what this build left out
 *         (see vmsg_spsc_desc_check()).
 * @retval VMSG_EPROTO (resume, resync) an index in memory is out of range;
 *         the endpoint is latched broken (resync: nothing was written).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_prod_init(struct vmsg_spsc_prod *p,
						 const struct vmsg_spsc_desc *d, unsigned how);
/** @brief Initialise the consumer endpoint; see vmsg_spsc_prod_init(). The
 *  awake word starts armed with a fresh token (the producer kicks once),
 *  continuing the token sequence it finds in memory. */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_cons_init(struct vmsg_spsc_cons *c,
						 const struct vmsg_spsc_desc *d, unsigned how);

/**
 * @brief Require up to two guard words to hold given values before the
 *        peer's index is trusted, and (consumer) before slots known from an
 *        earlier index load are taken: once per vmsg_spsc_peek(),
 *        vmsg_spsc_pop() or vmsg_spsc_pop_batch() call (see
 *        docs/ring-protocol.md, "Guard").
 * Pass NULL to clear. A mismatch makes operations return VMSG_ECONNRESET.
 */
VMSG_API void vmsg_spsc_prod_set_guard(struct vmsg_spsc_prod *p, const struct vmsg_spsc_guard *g,
				       unsigned n);
/** @brief Consumer counterpart of vmsg_spsc_prod_set_guard(). */
VMSG_API void vmsg_spsc_cons_set_guard(struct vmsg_spsc_cons *c, const struct vmsg_spsc_guard *g,
				       unsigned n);

/**
 * @brief Copy one message into the next slot and publish it.
 * The unused tail of the slot reads as zero afterwards. The producer zeroes
 * only as far as earlier messages reached (it tracks that privately; a
 * zero-copy reservation, an init or a reset makes it zero whole tails for a
 * lap), so this holds as long as nobody but the producer writes its slots.
 * @retval 0 pushed. @retval VMSG_EAGAIN the ring is full.
 * @retval VMSG_EMSGSIZE @p len exceeds the slot size.
 * @retval VMSG_EBUSY zero-copy slots are reserved and not committed.
 * @retval VMSG_EPROTO the peer broke the protocol (latched).
 * @retval VMSG_ECONNRESET a guard word no longer holds its value.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_push(struct vmsg_spsc_prod *p, const void *msg, size_t len);

/**
 * @brief Push up to @p n messages with a single index publication.
 * @return the number pushed (0..n; fewer, possibly 0, when the ring fills),
 *         or a negative code when nothing was pushed because of an error.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_push_batch(struct vmsg_spsc_prod *p, const void *const *msgs,
						  const size_t *lens, unsigned n);

/**
 * @brief Zero-copy: get the next free slot after those already reserved.
 * Write it (with vmsg_spsc_slot_write() in device-memory mode), then publish
 * every reserved slot at once with vmsg_spsc_commit(). The library does not
 * zero a reserved slot's tail: the caller writes what the peer may read.
 * @retval 0 @p slot set. Other codes as vmsg_spsc_push().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_reserve(struct vmsg_spsc_prod *p, void **slot);

/** @brief Publish all reserved slots. @return how many were published, or
 *  VMSG_EPROTO when the endpoint is latched broken (nothing published). */
VMSG_API int vmsg_spsc_commit(struct vmsg_spsc_prod *p);

/**
 * @brief After publishing: does the consumer need a kick?
 * True when the ring has no awake word, the word is 0, or it holds a sleep
 * token this producer has not kicked for yet (then remembered, and written
 * to the kicked word). Contains the full fence of the kick protocol.
 */
VMSG_API bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p);

/**
 * @brief Copy the next message out of the ring and release its slot.
 * @param buf receives min(slot_size, cap) bytes.
 * @return the number of bytes copied (> 0), or:
 * @retval VMSG_EAGAIN the ring is empty.
 * @retval VMSG_EBUSY peeked slots are not released.
 * @retval VMSG_EPROTO / VMSG_ECONNRESET as vmsg_spsc_push().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_pop(struct vmsg_spsc_cons *c, void *buf, size_t cap);

/**
 * @brief Pop up to @p n messages into @p bufs (each @p cap bytes) with a
 *        single index publication.
 * @return the number popped (0 when empty), or a negative code when none
 *         was popped because of an error.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_pop_batch(struct vmsg_spsc_cons *c, void *const *bufs,
						 size_t cap, unsigned n);

/**
 * @brief Zero-copy: the next filled slot after those already peeked. Read
 * it (with vmsg_spsc_slot_read() in device-memory mode), then give all
 * peeked slots back with vmsg_spsc_release(). The peer may not reuse a slot
 * before it is released, but it is shared memory: copy before parsing.
 * @retval 0 @p slot set. @retval VMSG_EAGAIN empty. Others as vmsg_spsc_pop().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_peek(struct vmsg_spsc_cons *c, const void **slot);

/** @brief Release all peeked slots. @return how many were released, or
 *  VMSG_EPROTO when the endpoint is latched broken (nothing released). */
VMSG_API int vmsg_spsc_release(struct vmsg_spsc_cons *c);

/**
 * @brief Before sleeping: publish a fresh sleep token (the producer kicks
 * once for it), full fence, then re-check the ring.
 * @retval 0 still empty: sleep until kicked (then call vmsg_spsc_cons_awake()).
 * @retval 1 messages arrived meanwhile: do not sleep (already marked awake).
 * @retval VMSG_EPROTO / VMSG_ECONNRESET as vmsg_spsc_pop().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_spsc_cons_arm(struct vmsg_spsc_cons *c);

/** @brief Mark the consumer as polling again (no kicks needed). Also call
 *  it after a sleep that ended without a kick (a timeout): a token stays
 *  armed until the producer kicks for it or the consumer marks itself awake. */
VMSG_API void vmsg_spsc_cons_awake(struct vmsg_spsc_cons *c);

/**
 * @brief Number of messages waiting (reloads and validates the producer index).
 * @return >= 0, or VMSG_EPROTO / VMSG_ECONNRESET.
 */
VMSG_API int vmsg_spsc_cons_pending(struct vmsg_spsc_cons *c);

/**
 * @brief Health check: 0 if the endpoint is sound, VMSG_EPROTO if it is (or
 * now turns out to be) broken, VMSG_ECONNRESET if a guard fails.
 */
VMSG_API int vmsg_spsc_prod_check(struct vmsg_spsc_prod *p);
/** @brief Consumer counterpart of vmsg_spsc_prod_check(). */
VMSG_API int vmsg_spsc_cons_check(struct vmsg_spsc_cons *c);

/**
 * @brief Reset an endpoint to index 0 (publishing it), clear the broken
 * latch and drop reservations; with @p zero_slots also zero the slot array
 * (producer only: the slots are its to write). Used by the lifecycle.
 */
VMSG_API void vmsg_spsc_prod_reset(struct vmsg_spsc_prod *p, bool zero_slots);
/** @brief Consumer counterpart of vmsg_spsc_prod_reset() (no slot zeroing). */
VMSG_API void vmsg_spsc_cons_reset(struct vmsg_spsc_cons *c);

/** @brief Copy into a slot (or any shared range) honouring the memory mode:
 *  32-bit volatile stores in device memory. @p off and @p len multiples of 4
 *  in device mode; the remainder of a partial word is zero-filled. */
VMSG_API void vmsg_spsc_slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src,
				   size_t len);
/** @brief Copy out of a slot honouring the memory mode (32-bit loads in
 *  device memory). */
VMSG_API void vmsg_spsc_slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst,
				  size_t len);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_SPSC_H */
