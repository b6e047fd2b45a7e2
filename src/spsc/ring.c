/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SPSC ring (docs/ring-protocol.md). Every access to shared memory goes
 * through the small helpers at the top, which pick the coherent or the
 * device-memory path and apply the cache hooks, so the ring logic below reads
 * the same for both.
 *
 * The hot path is inlined (HOT): one push or pop is one call, with no
 * internal calls and no PLT hops in a shared library, and the batch calls
 * work on runs of slots the cached peer index says are free (or filled),
 * with one index publication per call (bench/README.md has the figures).
 * Built for speed, the per-message calls of the shm bus's receive and kick
 * paths (peek, release, the slot copies, cons_idle, cons_arm/awake,
 * prod_need_kick) have a second, plain copy for coherent memory without
 * cache hooks (PLAIN_SPLIT below); an endpoint with device memory or hooks
 * takes one jump more, to the general copy. push and pop keep the general
 * copy only (see vmsg_spsc_push()).
 */
#include "virtio_msg/spsc.h"

#include "spsc/arch.h"
#include "spsc/ring_internal.h"

/* Built for size (-Os, firmware), the compiler decides what to inline:
 * forcing the hot path into every entry point costs 1.3 KB on a Cortex-M4. */
#if defined(__OPTIMIZE_SIZE__)
#define HOT static inline
#elif defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

/*
 * The common case, coherent memory without cache hooks ("plain"), gets its
 * own copy of the per-message entry points when built for speed: the HOT
 * helpers take a constant @pl (1: known plain) that drops the hook tests,
 * the device-memory branches and every call from them, so that copy needs
 * no stack frame; any other endpoint takes the general copy (SLOW, kept
 * out of line). The logic is the same source for both. Built for size
 * there is one copy, the general one, as before.
 */
#if defined(__OPTIMIZE_SIZE__) || !(defined(__GNUC__) || defined(__clang__))
#define PLAIN_SPLIT 0
#define SLOW static inline
#else
#define PLAIN_SPLIT 1
#define SLOW static __attribute__((noinline))
#endif

/* The @pl parameter and argument; built for size it is no parameter at
 * all, a constant 0, so those builds compile the code they did before. */
#if PLAIN_SPLIT
#define PL_ , int pl
#define PL(v) , v
#else
#define PL_
#define PL(v)
#define pl 0
#endif

/* ---------------------------------------------------------------------- */
/* Shared-memory access                                                   */
/* ---------------------------------------------------------------------- */

/*
 * The compile-time choices of config.h (one memory mode, one index width, no
 * cache hooks) make these constants, so the paths a build does not have
 * drop out; vmsg_spsc_desc_check() refuses descriptions that need them.
 */
#if VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE
#define is_dev(d) ((void)(d), 1)
#elif VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT
#define is_dev(d) ((void)(d), 0)
#else
#define is_dev(d) ((d)->mem == VMSG_SPSC_MEM_DEVICE)
#endif

#if VMSG_CONFIG_SPSC_INDEX16_ONLY
#define idx_bits(ix) ((void)(ix), 16u)
#elif VMSG_CONFIG_SPSC_INDEX32_ONLY
#define idx_bits(ix) ((void)(ix), 32u)
#else
#define idx_bits(ix) ((ix)->bits)
#endif

#if VMSG_CONFIG_NO_CACHE_OPS
#define cache_of(d) ((void)(d), (const struct vmsg_spsc_cache_ops *)0)
#else
#define cache_of(d) ((d)->cache)
#endif

/* Device memory, and the cache hooks, unless @pl says the endpoint is plain. */
#define dev_of(d, pl) (!(pl) && is_dev(d))
#define hooks_of(d, pl) ((pl) ? (const struct vmsg_spsc_cache_ops *)0 : cache_of(d))

HOT void cache_clean(const struct vmsg_spsc_desc *d, const void *p, size_t n PL_)
{
	if (hooks_of(d, pl) && cache_of(d)->clean)
		cache_of(d)->clean(cache_of(d)->ctx, p, n);
}

HOT void cache_inval(const struct vmsg_spsc_desc *d, const void *p, size_t n PL_)
{
	if (hooks_of(d, pl) && cache_of(d)->invalidate)
		cache_of(d)->invalidate(cache_of(d)->ctx, p, n);
}

/* The aligned 32-bit word holding a 16-bit field, and the field's byte offset. */
HOT void *word_of(const void *field)
{
	return (void *)((uintptr_t)field & ~(uintptr_t)3);
}

HOT unsigned byte_in_word(const void *field)
{
	return (unsigned)((uintptr_t)field & 3u);
}

union word_bytes {
	uint32_t w;
	uint8_t b[4];
	uint16_t h[2];
};

/* Load an index with acquire semantics; returns it in host order. */
HOT uint32_t idx_load_m(const struct vmsg_spsc_desc *d, const struct vmsg_spsc_index *ix PL_)
{
	int le = (d->flags & VMSG_SPSC_F_LE_INDEX) != 0;
	uint32_t v;

	cache_inval(d, ix->addr, idx_bits(ix) / 8u PL(pl));
	if (dev_of(d, pl)) {
		union word_bytes u;

		u.w = vmsg_mmio_read32(word_of(ix->addr));
		/* Reads of the slots this index covers must not pass this load. */
		vmsg_dev_rmb();
		if (idx_bits(ix) == 32)
			v = le ? vmsg_le32_swap(u.w) : u.w;
		else
			v = le ? vmsg_le16_swap(u.h[byte_in_word(ix->addr) / 2u]) :
				 u.h[byte_in_word(ix->addr) / 2u];
		return v;
	}
	/* Acquire pairs with the peer's release: the slots it published (or
	 * gave back) are complete before we look at them. */
	if (idx_bits(ix) == 32) {
		v = vmsg_load_acquire32(ix->addr);
		return le ? vmsg_le32_swap(v) : v;
	}
	v = vmsg_load_acquire16(ix->addr);
	return le ? vmsg_le16_swap((uint16_t)v) : v;
}

#define idx_load(d, ix) idx_load_m(d, ix PL(0))

/* Publish an index with release semantics. */
HOT void idx_store_m(const struct vmsg_spsc_desc *d, const struct vmsg_spsc_index *ix, uint32_t v PL_)
{
	int le = (d->flags & VMSG_SPSC_F_LE_INDEX) != 0;

	if (dev_of(d, pl)) {
		union word_bytes u;

		/* Slot writes (or reads) complete before the index moves. */
		vmsg_dev_mb();
		if (idx_bits(ix) == 32) {
			u.w = le ? vmsg_le32_swap(v) : v;
		} else {
			/* The other half of the word is this side's other index
			 * (same thread, see spsc.h): read, modify, write. */
			u.w = vmsg_mmio_read32(word_of(ix->addr));
			u.h[byte_in_word(ix->addr) / 2u] =
				le ? vmsg_le16_swap((uint16_t)v) : (uint16_t)v;
		}
		vmsg_mmio_write32(word_of(ix->addr), u.w);
	} else if (idx_bits(ix) == 32) {
		/* Release: the slot contents are visible before the index. */
		vmsg_store_release32(ix->addr, le ? vmsg_le32_swap(v) : v);
	} else {
		vmsg_store_release16(ix->addr, le ? vmsg_le16_swap((uint16_t)v) : (uint16_t)v);
	}
	cache_clean(d, ix->addr, idx_bits(ix) / 8u PL(pl));
}

#define idx_store(d, ix, v) idx_store_m(d, ix, v PL(0))

/*
 * The kick words (the consumer's awake word, the producer's kicked word):
 * aligned 32-bit words in the byte order of the indices. Ordered by the
 * full fences of the kick protocol around them, so relaxed here.
 */
HOT void kword_store_m(const struct vmsg_spsc_desc *d, void *w, uint32_t v PL_)
{
	if (d->flags & VMSG_SPSC_F_LE_INDEX)
		v = vmsg_le32_swap(v);
	if (dev_of(d, pl))
		vmsg_mmio_write32(w, v);
	else
		vmsg_store_relaxed32(w, v);
	cache_clean(d, w, 4 PL(pl));
}

HOT uint32_t kword_load_m(const struct vmsg_spsc_desc *d, const void *w PL_)
{
	uint32_t v;

	cache_inval(d, w, 4 PL(pl));
	v = dev_of(d, pl) ? vmsg_mmio_read32(w) : vmsg_load_relaxed32(w);
	return (d->flags & VMSG_SPSC_F_LE_INDEX) ? vmsg_le32_swap(v) : v;
}

/* The general copies, out of line (they are not on the plain path). */
static void kword_store(const struct vmsg_spsc_desc *d, void *w, uint32_t v)
{
	kword_store_m(d, w, v PL(0));
}

static uint32_t kword_load(const struct vmsg_spsc_desc *d, const void *w)
{
	return kword_load_m(d, w PL(0));
}

/*
 * Copy for coherent memory. A byte loop costs about 5 instructions a byte
 * (bench/README.md); the compiler's memcpy moves whole words, and with the
 * constant size of a whole 64-byte slot it is a few vector moves and no
 * call. GCC and Clang may call memcpy even in freestanding builds, so every
 * environment they target provides it; other compilers keep the loop.
 */
HOT void copy_plain(void *dst, const void *src, size_t len)
{
#if defined(__GNUC__) || defined(__clang__)
	uint8_t *o = dst;
	const uint8_t *s = src;

	if (len == 64) {
		__builtin_memcpy(dst, src, 64);
	} else if (PLAIN_SPLIT && len >= 4 && len <= 16) {
		/* A short message (a header, a PING): two overlapping word
		 * moves from each end, inline, rather than a call to a
		 * general memcpy that sorts lengths out first. A byte in the
		 * overlap is read twice; the peer may change it in between,
		 * but either value is one it wrote (copy before parsing). */
		if (len >= 8) {
			uint64_t a, b;

			__builtin_memcpy(&a, s, 8);
			__builtin_memcpy(&b, s + len - 8, 8);
			__builtin_memcpy(o, &a, 8);
			__builtin_memcpy(o + len - 8, &b, 8);
		} else {
			uint32_t a, b;

			__builtin_memcpy(&a, s, 4);
			__builtin_memcpy(&b, s + len - 4, 4);
			__builtin_memcpy(o, &a, 4);
			__builtin_memcpy(o + len - 4, &b, 4);
		}
	} else if (len) { /* memcpy(p, NULL, 0) is undefined; slot zeroing passes that */
		__builtin_memcpy(o, s, len);
	}
#else
	uint8_t *o = dst;
	const uint8_t *s = src;

	for (size_t i = 0; i < len; i++)
		o[i] = s[i];
#endif
}

/* The store-load fence of the kick protocol, for either memory kind. */
HOT void fence_full_m(const struct vmsg_spsc_desc *d PL_)
{
	if (dev_of(d, pl))
		vmsg_dev_mb();
	else
		vmsg_fence_full();
}

HOT void slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len PL_)
{
	const uint8_t *s = src;
	uint8_t *dst = slot;

	if (!dev_of(d, pl)) {
		copy_plain(dst, s, len);
	} else {
		for (size_t i = 0; i < len; i += 4) {
			union word_bytes u = { 0 };

			for (size_t k = 0; k < 4 && i + k < len; k++)
				u.b[k] = s[i + k];
			vmsg_mmio_write32(dst + i, u.w);
		}
		len = (len + 3u) & ~(size_t)3; /* whole words were written */
	}
	cache_clean(d, slot, len PL(pl));
}

HOT void slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len PL_)
{
	const uint8_t *s = slot;
	uint8_t *o = dst;

	cache_inval(d, slot, len PL(pl));
	if (!dev_of(d, pl)) {
		copy_plain(o, s, len);
		return;
	}
	for (size_t i = 0; i < len; i += 4) {
		union word_bytes u;

		u.w = vmsg_mmio_read32(s + i);
		for (size_t k = 0; k < 4 && i + k < len; k++)
			o[i + k] = u.b[k];
	}
}

/* Coherent memory without cache hooks: the plain copies (see PLAIN_SPLIT). */
HOT int plain(const struct vmsg_spsc_desc *d)
{
	return PLAIN_SPLIT && !is_dev(d) && !cache_of(d);
}

SLOW void slot_write_any(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len)
{
	slot_write(d, slot, src, len PL(0));
}

SLOW void slot_read_any(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len)
{
	slot_read(d, slot, dst, len PL(0));
}

void vmsg_spsc_slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len)
{
	if (plain(d))
		slot_write(d, slot, src, len PL(1));
	else
		slot_write_any(d, slot, src, len);
}

void vmsg_spsc_slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len)
{
	if (plain(d))
		slot_read(d, slot, dst, len PL(1));
	else
		slot_read_any(d, slot, dst, len);
}

/* Zero bytes [from, to) of a slot. */
static void slot_zero(const struct vmsg_spsc_desc *d, uint8_t *s, size_t from, size_t to)
{
	static const uint8_t zeros[64];

	while (from < to) {
		size_t n = to - from < sizeof(zeros) ? to - from : sizeof(zeros);

		slot_write(d, s + from, zeros, n PL(0));
		from += n;
	}
}

/*
 * Copy a message into a slot so that no stale bytes cross: the rest of the
 * slot must read as zero. Zeroing the whole tail on every send costs more
 * than the message (a 12-byte PING in a 264-byte slot), so the producer
 * tracks, privately, a byte offset `dirty` past which every slot of the
 * array is known to hold zeros, and zeroes only up to it. It is the slot
 * size whenever the contents are unknown (start, resume, a zero-copy
 * reservation the caller filled) and 0 after the array was zeroed. Fills go
 * round the array in order, so once `lap_fills` reaches the number of slots
 * every slot was filled since the lap began, each with zeros past its own
 * length: `dirty` drops to the longest length of that lap. Memory reads
 * exactly as if every tail were zeroed every time.
 */
/* Count @n fills in ring order, the longest @head bytes (see slot_fill()). */
HOT void lap_count(struct vmsg_spsc_prod *p, uint32_t head, uint32_t n)
{
	if (head > p->lap_max)
		p->lap_max = head;
	p->lap_fills += n;
	if (p->lap_fills >= p->d.num_slots) {
		p->dirty = p->lap_max;
		p->lap_max = 0;
		p->lap_fills = 0;
	}
}

HOT void slot_fill(struct vmsg_spsc_prod *p, void *slot, const void *msg, size_t len PL_)
{
	size_t head = dev_of(&p->d, pl) ? (len + 3u) & ~(size_t)3 : len;

	slot_write(&p->d, slot, msg, len PL(pl));
	if (head < p->dirty)
		slot_zero(&p->d, slot, head, p->dirty);
	lap_count(p, (uint32_t)head, 1);
}

/* Slot contents are unknown from here on: zero whole tails for a lap. */
HOT void slots_unknown(struct vmsg_spsc_prod *p)
{
	p->dirty = p->d.slot_size;
	p->lap_max = 0;
	p->lap_fills = 0;
}

/* ---------------------------------------------------------------------- */
/* Index arithmetic and validation                                        */
/* ---------------------------------------------------------------------- */

/* Slots from a to b going forward, both in [0, n). */
HOT uint32_t dist(uint32_t a, uint32_t b, uint32_t n)
{
	return b >= a ? b - a : b + n - a;
}

HOT uint32_t next(uint32_t i, uint32_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

HOT void *slot_at(const struct vmsg_spsc_desc *d, uint32_t i)
{
	return (uint8_t *)d->slots + (size_t)i * d->slot_size;
}

/* With VMSG_SPSC_F_STREAM, runs of whole slots at least this long are
 * written with streaming stores where the CPU has them (arch.h); shorter
 * ones are likely read at once by a consumer that waits. */
#define STREAM_MIN_RUN 8u

/* Whole 64-byte slots in coherent memory without cache hooks: the batch
 * calls take a loop with a constant-size copy and no per-slot mode tests. */
HOT int plain64(const struct vmsg_spsc_desc *d)
{
	return !is_dev(d) && !cache_of(d) && d->slot_size == 64;
}

/* Prefetch hints only where loads go through the cache as usual: not in
 * device memory (a BAR or SRAM mapping), not with cache maintenance hooks
 * (non-coherent memory is invalidated before it is read). */
HOT int prefetch_ok(const struct vmsg_spsc_desc *d)
{
	return !is_dev(d) && !cache_of(d);
}

#if PLAIN_SPLIT
/* Whether a guard (set) holds its value. */
HOT int guard_holds(const struct vmsg_spsc_desc *d, const struct vmsg_spsc_guard *g PL_)
{
	uint32_t v;

	cache_inval(d, g->addr, 4 PL(pl));
	/* Acquire: a slot read after the guard is read after it, so a new
	 * life's slot cannot pass the old life's guard. (An index is loaded
	 * before the guard, with acquire: the INIT and epoch its life
	 * published before it are then visible here.) */
	if (dev_of(d, pl)) {
		v = vmsg_mmio_read32(g->addr);
		vmsg_dev_rmb();
	} else {
		v = vmsg_load_acquire32(g->addr);
	}
	v = vmsg_le32_swap(v) & g->mask;
	return v == g->expect || (g->expect_alt != 0 && v == g->expect_alt);
}
#endif

HOT int guard_check(const struct vmsg_spsc_desc *d, const struct vmsg_spsc_guard *g PL_)
{
#if PLAIN_SPLIT
	/* The two guards written out: no loop to keep in registers. */
	if (g[0].addr && !guard_holds(d, &g[0] PL(pl)))
		return VMSG_ECONNRESET;
	if (g[1].addr && !guard_holds(d, &g[1] PL(pl)))
		return VMSG_ECONNRESET;
#else
	/* Built for size: one loop (the unrolled form is larger). */
	for (unsigned i = 0; i < 2; i++) {
		uint32_t v;

		if (!g[i].addr)
			continue;
		cache_inval(d, g[i].addr, 4 PL(pl));
		/* Acquire, as in guard_holds(). */
		if (dev_of(d, pl)) {
			v = vmsg_mmio_read32(g[i].addr);
			vmsg_dev_rmb();
		} else {
			v = vmsg_load_acquire32(g[i].addr);
		}
		v = vmsg_le32_swap(v) & g[i].mask;
		if (v != g[i].expect && (g[i].expect_alt == 0 || v != g[i].expect_alt))
			return VMSG_ECONNRESET;
	}
#endif
	return 0;
}

static int latch(uint8_t *broken)
{
	*broken = 1;
	return VMSG_EPROTO;
}

/*
 * Producer: reload the consumer index. It may only have moved forward from
 * where we last saw it, and not past what we published.
 */
HOT int prod_refresh(struct vmsg_spsc_prod *p PL_)
{
	uint32_t n = p->d.num_slots;
	uint32_t c = idx_load_m(&p->d, &p->d.cons PL(pl));
	int err;

	p->stats.peer_loads++;
	err = guard_check(&p->d, p->guard PL(pl));
	if (err)
		return err;
	if (c >= n || dist(p->cons_seen, c, n) > dist(p->cons_seen, p->published, n))
		return latch(&p->broken);
	p->cons_seen = c;
	return 0;
}

/*
 * Consumer: reload the producer index. The number of filled slots counted
 * from what we gave back may only grow: a producer cannot take a message back.
 */
HOT int cons_refresh(struct vmsg_spsc_cons *c PL_)
{
	uint32_t n = c->d.num_slots;
	uint32_t p = idx_load_m(&c->d, &c->d.prod PL(pl));
	int err;

	/* New messages: start fetching the slot we take next now, not after
	 * the caller's code path back to the read (a waiter in
	 * vmsg_spsc_cons_pending() reads it a hundred-odd cycles later;
	 * bench/README.md, bus sixth round). A hint on our own array. */
	if (p != c->prod_seen && (pl || prefetch_ok(&c->d)))
		vmsg_prefetch(slot_at(&c->d, c->cons));

	c->stats.peer_loads++;
	err = guard_check(&c->d, c->guard PL(pl));
	if (err)
		return err;
	if (p >= n || dist(c->published, p, n) < dist(c->published, c->prod_seen, n))
		return latch(&c->broken);
	c->prod_seen = p;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Set-up                                                                 */
/* ---------------------------------------------------------------------- */

static int index_ok(const struct vmsg_spsc_index *ix, uint32_t num_slots)
{
	if (!ix->addr || (ix->bits != 16 && ix->bits != 32))
		return 0;
	if ((uintptr_t)ix->addr % (ix->bits / 8u) != 0)
		return 0;
	return ix->bits == 32 || num_slots <= 0x10000u;
}

static int bits_compiled(uint8_t bits)
{
	return bits == 16 ? VMSG_CONFIG_HAS_INDEX16 : VMSG_CONFIG_HAS_INDEX32;
}

int vmsg_spsc_desc_check(const struct vmsg_spsc_desc *d)
{
	if (!d || !d->slots || d->num_slots < 2 || d->slot_size == 0 || d->slot_size % 4u)
		return VMSG_EINVAL;
	if ((uintptr_t)d->slots % 4u || (d->awake && (uintptr_t)d->awake % 4u))
		return VMSG_EINVAL;
	if (d->kicked && ((uintptr_t)d->kicked % 4u || !d->awake))
		return VMSG_EINVAL;
	if (d->mem > VMSG_SPSC_MEM_DEVICE || (d->flags & ~(VMSG_SPSC_F_LE_INDEX | VMSG_SPSC_F_STREAM)))
		return VMSG_EINVAL;
	if (!index_ok(&d->prod, d->num_slots) || !index_ok(&d->cons, d->num_slots))
		return VMSG_EINVAL;
	if ((uint64_t)d->num_slots * d->slot_size > SIZE_MAX)
		return VMSG_EINVAL;
	/* Valid, but needs what this build left out (config.h). */
	if (!vmsg_mem_compiled(d->mem) || (VMSG_CONFIG_NO_CACHE_OPS && d->cache) ||
	    !bits_compiled(d->prod.bits) || !bits_compiled(d->cons.bits))
		return VMSG_ENOTSUP;
	return 0;
}

/*
 * Whether an endpoint is plain: noted in its `plain` byte when it was
 * started (clear_state()), a byte test instead of two on the description
 * per call. 0 (the general path, right for every endpoint) unless its
 * description was plain when the endpoint was last started; the
 * description is not changed after that (spsc.h: the endpoint is opaque).
 */
#define ep_plain(e) (PLAIN_SPLIT && (e)->plain)

/* Zero an endpoint's state after its description (guards, indices, stats)
 * and note whether it is plain in *@plain_byte (inside that state). */
_Static_assert(offsetof(struct vmsg_spsc_prod, d) == 0 && offsetof(struct vmsg_spsc_cons, d) == 0,
	       "the description comes first");
static void clear_state(void *e, size_t n, uint8_t *plain_byte)
{
	uint8_t *b = (uint8_t *)e + sizeof(struct vmsg_spsc_desc);

	for (size_t i = 0; i < n - sizeof(struct vmsg_spsc_desc); i++)
		b[i] = 0;
	/* Every start, init and resync comes through here with the final
	 * description. */
	*plain_byte = (uint8_t)(PLAIN_SPLIT && plain(e));
}

/*
 * The consumer's next sleep token: even, never 0, never the one it used
 * last, and never the token the producer last kicked for (its kicked word),
 * so a token that wrapped around (2^31 sleeps while the producer published
 * nothing) cannot be taken for one the producer already kicked.
 */
HOT uint32_t next_token_m(struct vmsg_spsc_cons *c PL_)
{
	uint32_t kicked = c->d.kicked ? kword_load_m(&c->d, c->d.kicked PL(pl)) : 0;
	uint32_t t = c->token;

	do {
		t = (t + 2u) & ~1u;
	} while (t == 0 || t == kicked);
	return t;
}

static uint32_t next_token(struct vmsg_spsc_cons *c)
{
	return next_token_m(c PL(0));
}

/* Start the consumer armed with a fresh token, continuing the sequence of
 * tokens found in memory (an earlier life's): the producer kicks once for
 * it, then not again until the consumer arms for a sleep. */
static void cons_start_tokens(struct vmsg_spsc_cons *c)
{
	if (!c->d.awake)
		return;
	c->token = kword_load(&c->d, c->d.awake) & ~1u;
	c->token = next_token(c);
	kword_store(&c->d, c->d.awake, c->token);
}

/*
 * Set-up in two steps, so the channel (src/shm/channel.c) checks its ring
 * descriptions once, before its side effects, and then starts the
 * endpoints whose description it wrote in place: vmsg_spsc_prod_start()
 * and vmsg_spsc_cons_start() (spsc/ring_internal.h) take a checked p->d.
 */
void vmsg_spsc_prod_start(struct vmsg_spsc_prod *p)
{
	clear_state(p, sizeof(*p), &p->plain);
	vmsg_spsc_prod_reset(p, false);
}

void vmsg_spsc_cons_start(struct vmsg_spsc_cons *c)
{
	clear_state(c, sizeof(*c), &c->plain);
	vmsg_spsc_cons_reset(c);
}

/*
 * Resync: the ring starts empty at the consumer's index, and only our own
 * words are written (after the check: a bad index writes nothing). The
 * kicked word is ours too, cleared as a reset clears it.
 */
static int prod_resync(struct vmsg_spsc_prod *p)
{
	uint32_t c = idx_load(&p->d, &p->d.cons);

	clear_state(p, sizeof(*p), &p->plain);
	slots_unknown(p); /* an earlier life's bytes may be in the slots */
	if (c >= p->d.num_slots)
		return latch(&p->broken);
	p->prod = p->published = p->cons_seen = c;
	idx_store(&p->d, &p->d.prod, c);
	if (p->d.kicked)
		kword_store(&p->d, p->d.kicked, 0);
	return 0;
}

/* Resync, consumer side: empty at the producer's index. */
static int cons_resync(struct vmsg_spsc_cons *c)
{
	uint32_t pr = idx_load(&c->d, &c->d.prod);

	clear_state(c, sizeof(*c), &c->plain);
	if (pr >= c->d.num_slots)
		return latch(&c->broken);
	c->cons = c->published = c->prod_seen = pr;
	idx_store(&c->d, &c->d.cons, pr);
	cons_start_tokens(c);
	return 0;
}

int vmsg_spsc_prod_init(struct vmsg_spsc_prod *p, const struct vmsg_spsc_desc *d, unsigned how)
{
	int err = vmsg_spsc_desc_check(d);

	if (!p || how > VMSG_SPSC_INIT_RESYNC)
		return VMSG_EINVAL;
	if (err)
		return err; /* VMSG_EINVAL, or VMSG_ENOTSUP: compiled out */
	p->d = *d;
	if (how == VMSG_SPSC_INIT_RESET) {
		vmsg_spsc_prod_start(p);
		return 0;
	}
	if (how == VMSG_SPSC_INIT_RESYNC)
		return prod_resync(p);
	clear_state(p, sizeof(*p), &p->plain);
	slots_unknown(p); /* an earlier life's bytes may be in the slots */
	/* Resume: our own index is read once, here, and trusted no more. The
	 * token we kicked for last is forgotten: at worst one spare kick. */
	p->prod = p->published = idx_load(d, &d->prod);
	p->cons_seen = idx_load(d, &d->cons);
	if (p->prod >= d->num_slots || p->cons_seen >= d->num_slots)
		return latch(&p->broken);
	return 0;
}

int vmsg_spsc_cons_init(struct vmsg_spsc_cons *c, const struct vmsg_spsc_desc *d, unsigned how)
{
	int err = vmsg_spsc_desc_check(d);

	if (!c || how > VMSG_SPSC_INIT_RESYNC)
		return VMSG_EINVAL;
	if (err)
		return err; /* VMSG_EINVAL, or VMSG_ENOTSUP: compiled out */
	c->d = *d;
	if (how == VMSG_SPSC_INIT_RESET) {
		vmsg_spsc_cons_start(c);
		return 0;
	}
	if (how == VMSG_SPSC_INIT_RESYNC)
		return cons_resync(c);
	clear_state(c, sizeof(*c), &c->plain);
	c->cons = c->published = idx_load(d, &d->cons);
	c->prod_seen = idx_load(d, &d->prod);
	cons_start_tokens(c);
	if (c->cons >= d->num_slots || c->prod_seen >= d->num_slots)
		return latch(&c->broken);
	return 0;
}

static void set_guard(struct vmsg_spsc_guard *dst, const struct vmsg_spsc_guard *g, unsigned n)
{
	for (unsigned i = 0; i < 2; i++) {
		dst[i].addr = (g && i < n) ? g[i].addr : 0;
		dst[i].mask = (g && i < n) ? g[i].mask : 0;
		dst[i].expect = (g && i < n) ? g[i].expect : 0;
		dst[i].expect_alt = (g && i < n) ? g[i].expect_alt : 0;
	}
}

void vmsg_spsc_prod_set_guard(struct vmsg_spsc_prod *p, const struct vmsg_spsc_guard *g, unsigned n)
{
	set_guard(p->guard, g, n);
}

void vmsg_spsc_cons_set_guard(struct vmsg_spsc_cons *c, const struct vmsg_spsc_guard *g, unsigned n)
{
	set_guard(c->guard, g, n);
}

/*
 * Put the producer at @own (published), having seen the consumer at
 * @cons_seen: the latch cleared, reservations dropped; with @zero_slots the
 * array is zeroed before @own is published.
 */
static void prod_set(struct vmsg_spsc_prod *p, uint32_t own, uint32_t cons_seen, bool zero_slots)
{
	p->prod = p->published = own;
	p->cons_seen = cons_seen;
	p->broken = 0;
	p->kicked = 0;
	/* Fills restart out of the lap's order. Zeroing the array is one
	 * whole lap of empty fills: it ends with dirty = 0. */
	slots_unknown(p);
	if (zero_slots) {
		for (uint32_t i = 0; i < p->d.num_slots; i++)
			slot_fill(p, slot_at(&p->d, i), 0, 0 PL(0));
	}
	idx_store(&p->d, &p->d.prod, own);
	if (p->d.kicked)
		kword_store(&p->d, p->d.kicked, 0);
}

/* Put the consumer at @own (published), nothing pending; latch cleared. */
static void cons_set(struct vmsg_spsc_cons *c, uint32_t own)
{
	c->cons = c->published = c->prod_seen = own;
	c->broken = 0;
	idx_store(&c->d, &c->d.cons, own);
	cons_start_tokens(c);
}

void vmsg_spsc_prod_reset(struct vmsg_spsc_prod *p, bool zero_slots)
{
	prod_set(p, 0, 0, zero_slots);
}

void vmsg_spsc_cons_reset(struct vmsg_spsc_cons *c)
{
	cons_set(c, 0);
}

/*
 * The plain v1 lifecycle (src/shm/channel.c, docs/ring-protocol.md): a
 * plain peer may be in RUN while we start and never look at our state, so
 * a starting endpoint takes the own index it finds in memory (0 when out of
 * range) and publishes nothing until the lifecycle knows whether to reset
 * or to resync.
 */
void vmsg_spsc_prod_start_found(struct vmsg_spsc_prod *p)
{
	uint32_t own = idx_load(&p->d, &p->d.prod);

	clear_state(p, sizeof(*p), &p->plain);
	if (own >= p->d.num_slots)
		own = 0;
	p->prod = p->published = p->cons_seen = own;
	slots_unknown(p);
}

void vmsg_spsc_cons_start_found(struct vmsg_spsc_cons *c)
{
	uint32_t own = idx_load(&c->d, &c->d.cons);

	clear_state(c, sizeof(*c), &c->plain);
	if (own >= c->d.num_slots)
		own = 0;
	c->cons = c->published = c->prod_seen = own;
	cons_start_tokens(c);
}

/*
 * Resync with a consumer that kept running: keep the producer index we
 * published (it may still be reading up to it; moving it back under a
 * consumer that caches it would make it read a whole lap), zero the array
 * first so whatever it has not read yet reads as zeros, and take its index
 * from memory. Nothing changes when that index is out of range.
 */
int vmsg_spsc_prod_resync(struct vmsg_spsc_prod *p)
{
	uint32_t c = idx_load(&p->d, &p->d.cons);

	if (c >= p->d.num_slots)
		return VMSG_EPROTO;
	prod_set(p, p->published, c, true);
	return 0;
}

/*
 * Resync with a producer that kept running: with @skip, take its index as
 * ours (what it published so far is dropped unread); else keep our own
 * position, slots taken so far included. Nothing changes when its index is
 * out of range.
 */
int vmsg_spsc_cons_resync(struct vmsg_spsc_cons *c, bool skip)
{
	uint32_t p = idx_load(&c->d, &c->d.prod);

	if (p >= c->d.num_slots)
		return VMSG_EPROTO;
	cons_set(c, skip ? p : c->cons);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Producer                                                               */
/* ---------------------------------------------------------------------- */

HOT int reserve(struct vmsg_spsc_prod *p, void **slot PL_)
{
	uint32_t n = p->d.num_slots;

	if (p->broken)
		return VMSG_EPROTO;
	if (next(p->prod, n) == p->cons_seen) {
		/* Looks full: only now look at the consumer's index. */
		int err = prod_refresh(p PL(pl));

		if (err)
			return err;
		if (next(p->prod, n) == p->cons_seen) {
			p->stats.full_or_empty++;
			return VMSG_EAGAIN;
		}
	}
	*slot = slot_at(&p->d, p->prod);
	p->prod = next(p->prod, n);
	return 0;
}

int vmsg_spsc_reserve(struct vmsg_spsc_prod *p, void **slot)
{
	int err = reserve(p, slot PL(0));

	/* The caller writes the slot as it likes, tail included. */
	if (!err)
		slots_unknown(p);
	return err;
}

/* Publish what was reserved. Internal: a batch that met an error midway
 * still publishes the slots it filled before it. */
HOT int publish_prod(struct vmsg_spsc_prod *p PL_)
{
	uint32_t n = dist(p->published, p->prod, p->d.num_slots);

	if (n == 0)
		return 0;
	idx_store_m(&p->d, &p->d.prod, p->prod PL(pl));
	p->published = p->prod;
	p->stats.msgs += n;
	p->stats.publishes++;
	return (int)n;
}

int vmsg_spsc_commit(struct vmsg_spsc_prod *p)
{
	return p->broken ? VMSG_EPROTO : publish_prod(p PL(0));
}

HOT int push(struct vmsg_spsc_prod *p, const void *msg, size_t len PL_)
{
	void *slot;
	int err;

	if (len > p->d.slot_size || (len && !msg))
		return len > p->d.slot_size ? VMSG_EMSGSIZE : VMSG_EINVAL;
	if (p->prod != p->published)
		return VMSG_EBUSY;
	err = reserve(p, &slot PL(pl));
	if (err)
		return err;
	slot_fill(p, slot, msg, len PL(pl));
	/* Exactly one slot to publish (prod was published before it). */
	idx_store_m(&p->d, &p->d.prod, p->prod PL(pl));
	p->published = p->prod;
	p->stats.msgs++;
	p->stats.publishes++;
	return 0;
}

/*
 * The general copy only, for now: with the plain copy (49 instructions
 * fewer per bus PING, two pushes) bench_ring's streaming batch 1 fell from
 * 1.4-1.9x the textbook ring to 1.0-1.5x in paired runs, the dynamic
 * bench/README.md describes (a faster producer, not slower code). To take
 * the plain copy: if (ep_plain(p)) return push(p, msg, len PL(1));
 */
int vmsg_spsc_push(struct vmsg_spsc_prod *p, const void *msg, size_t len)
{
	return push(p, msg, len PL(0));
}

HOT int msg_bad(const struct vmsg_spsc_prod *p, const void *msg, size_t len)
{
	if (len > p->d.slot_size)
		return VMSG_EMSGSIZE;
	return len && !msg ? VMSG_EINVAL : 0;
}

/*
 * Runs of slots: the cached consumer index says how many are free, and those
 * are filled without a reserve() each. Only when the cache says full does a
 * message take the single-message path (reload, validate, maybe EAGAIN).
 * Results are exactly those of a loop of reserve() + fill, message by
 * message; only the index is published once.
 */
int vmsg_spsc_push_batch(struct vmsg_spsc_prod *p, const void *const *msgs, const size_t *lens,
			 unsigned n)
{
	uint32_t num = p->d.num_slots;
	unsigned done = 0;
	int err = 0;

	if (!msgs || !lens)
		return VMSG_EINVAL;
	if (p->prod != p->published)
		return VMSG_EBUSY;
	for (;;) {
		uint32_t room = p->broken ? 0 : num - 1u - dist(p->cons_seen, p->prod, num);
		unsigned k = n - done < room ? n - done : room;
		void *slot;

		if (k && plain64(&p->d)) {
			uint8_t *s = slot_at(&p->d, p->prod);
			uint8_t *end = slot_at(&p->d, num);
			unsigned from = done;
			/* A long run, and the caller says the consumer's core
			 * shares no cache with ours: stream it (spsc.h). */
			bool stream = VMSG_HAVE_STREAM64 && (p->d.flags & VMSG_SPSC_F_STREAM) &&
				      k >= STREAM_MIN_RUN;

			while (k && lens[done] == 64 && msgs[done]) {
				if (stream)
					vmsg_stream64(s, msgs[done]);
				else
					copy_plain(s, msgs[done], 64);
				s += 64;
				if (s == end)
					s = p->d.slots;
				k--;
				done++;
			}
			if (stream)
				vmsg_stream_fence(); /* before the index publication */
			p->prod = (uint32_t)((size_t)(s - (uint8_t *)p->d.slots) / 64u);
			/* Whole slots: what slot_fill() would have counted. */
			if (done != from)
				lap_count(p, 64, done - from);
		}
		for (; k; k--, done++) {
			err = msg_bad(p, msgs[done], lens[done]);
			if (err)
				goto stop;
			slot_fill(p, slot_at(&p->d, p->prod), msgs[done], lens[done] PL(0));
			p->prod = next(p->prod, num);
		}
		if (done == n)
			break;
		/* Full by the cache (or broken): one message the slow way. */
		err = msg_bad(p, msgs[done], lens[done]);
		if (!err)
			err = reserve(p, &slot PL(0));
		if (err)
			goto stop;
		slot_fill(p, slot, msgs[done], lens[done] PL(0));
		done++;
	}
	(void)publish_prod(p PL(0));
	return (int)done;
stop:
	if (!done && err != VMSG_EAGAIN)
		return err;
	(void)publish_prod(p PL(0));
	return (int)done;
}

/*
 * Kick suppression, producer side (docs/ring-protocol.md): after the full
 * fence, the consumer's awake word says 0 "always kick" (fresh memory, a
 * peer without tokens), odd "polling", or an even token "asleep, kick me".
 * One kick per token: the further messages of the same sleep do not kick
 * again while the consumer wakes up.
 */
HOT bool need_kick(struct vmsg_spsc_prod *p PL_)
{
	bool kick = true;

	if (p->d.awake) {
		uint32_t a;

		/* Pairs with the fence in vmsg_spsc_cons_arm(): either the
		 * consumer's re-check sees our index, or we see its token. */
		fence_full_m(&p->d PL(pl));
		a = kword_load_m(&p->d, p->d.awake PL(pl));
		if (a & 1u) {
			kick = false;
		} else if (a != 0) {
			kick = a != p->kicked;
			if (kick) {
				p->kicked = a;
				if (p->d.kicked)
					kword_store_m(&p->d, p->d.kicked, a PL(pl));
			}
		}
	}
	if (kick)
		p->stats.kicks++;
	return kick;
}

SLOW bool need_kick_any(struct vmsg_spsc_prod *p)
{
	return need_kick(p PL(0));
}

bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p)
{
	if (ep_plain(p))
		return need_kick(p PL(1));
	return need_kick_any(p);
}

int vmsg_spsc_prod_check(struct vmsg_spsc_prod *p)
{
	return p->broken ? VMSG_EPROTO : prod_refresh(p PL(0));
}

/* ---------------------------------------------------------------------- */
/* Consumer                                                               */
/* ---------------------------------------------------------------------- */

HOT int peek(struct vmsg_spsc_cons *c, const void **slot PL_)
{
	if (c->broken)
		return VMSG_EPROTO;
	if (c->cons != c->prod_seen && c->guard[0].addr) {
		/* Taking a slot known from an earlier index load: the peer must
		 * still be the life that published it. */
		int err = guard_check(&c->d, c->guard PL(pl));

		if (err)
			return err;
	}
	if (c->cons == c->prod_seen) {
		/* Looks empty: only now look at the producer's index. */
		int err = cons_refresh(c PL(pl));

		if (err)
			return err;
		if (c->cons == c->prod_seen) {
			c->stats.full_or_empty++;
			return VMSG_EAGAIN;
		}
	}
	*slot = slot_at(&c->d, c->cons);
	c->cons = next(c->cons, c->d.num_slots);
	return 0;
}

SLOW int peek_any(struct vmsg_spsc_cons *c, const void **slot)
{
	return peek(c, slot PL(0));
}

int vmsg_spsc_peek(struct vmsg_spsc_cons *c, const void **slot)
{
	if (ep_plain(c))
		return peek(c, slot PL(1));
	return peek_any(c, slot);
}

/* Give back what was peeked (internal, see publish_prod()). */
HOT int publish_cons(struct vmsg_spsc_cons *c PL_)
{
	uint32_t n = dist(c->published, c->cons, c->d.num_slots);

	if (n == 0)
		return 0;
	idx_store_m(&c->d, &c->d.cons, c->cons PL(pl));
	c->published = c->cons;
	c->stats.msgs += n;
	c->stats.publishes++;
	return (int)n;
}

SLOW int release_any(struct vmsg_spsc_cons *c)
{
	return c->broken ? VMSG_EPROTO : publish_cons(c PL(0));
}

int vmsg_spsc_release(struct vmsg_spsc_cons *c)
{
	if (ep_plain(c))
		return c->broken ? VMSG_EPROTO : publish_cons(c PL(1));
	return release_any(c);
}

HOT int pop(struct vmsg_spsc_cons *c, void *buf, size_t cap PL_)
{
	size_t len = cap < c->d.slot_size ? cap : c->d.slot_size;
	const void *slot;
	int err;

	if (!buf || cap == 0)
		return VMSG_EINVAL;
	if (c->cons != c->published)
		return VMSG_EBUSY;
	err = peek(c, &slot PL(pl));
	if (err)
		return err;
	slot_read(&c->d, slot, buf, len PL(pl));
	(void)publish_cons(c PL(pl));
	return (int)len;
}

/* The general copy: the bus does not pop, and bench_ring's streaming
 * batch 1 ran at 1.25-1.31x the textbook ring with a plain pop against
 * 1.35-1.54x without (paired, close regime): as with push(), the speed
 * of one side against the other, not the code. */
int vmsg_spsc_pop(struct vmsg_spsc_cons *c, void *buf, size_t cap)
{
	return pop(c, buf, cap PL(0));
}

/*
 * Runs of slots, as push_batch(). A guarded consumer checks the guard once
 * per call before it takes slots known from an earlier index load (and on
 * every reload, as always): within one call the peer's life cannot be told
 * apart slot by slot anyway, and the lifecycle never lets a restarted peer
 * rewrite slots a survivor in RUN may still take (model/lifecycle.pml).
 */
int vmsg_spsc_pop_batch(struct vmsg_spsc_cons *c, void *const *bufs, size_t cap, unsigned n)
{
	size_t len = cap < c->d.slot_size ? cap : c->d.slot_size;
	uint32_t num = c->d.num_slots;
	unsigned done = 0;
	bool guarded = !c->guard[0].addr;
	int err = 0;

	if (!bufs || cap == 0)
		return VMSG_EINVAL;
	if (c->cons != c->published)
		return VMSG_EBUSY;
	for (;;) {
		uint32_t avail = c->broken ? 0 : dist(c->cons, c->prod_seen, num);
		unsigned k = n - done < avail ? n - done : avail;
		const void *slot;

		if (k && !guarded) {
			err = guard_check(&c->d, c->guard PL(0));
			if (err)
				goto stop;
			guarded = true;
		}
		if (k && plain64(&c->d) && len == 64) {
			const uint8_t *s = slot_at(&c->d, c->cons);
			const uint8_t *end = slot_at(&c->d, num);

			for (; k; k--, done++) {
				copy_plain(bufs[done], s, 64);
				s += 64;
				if (s == end)
					s = c->d.slots;
			}
			c->cons = (uint32_t)((size_t)(s - (const uint8_t *)c->d.slots) / 64u);
		}
		for (; k; k--, done++) {
			slot_read(&c->d, slot_at(&c->d, c->cons), bufs[done], len PL(0));
			c->cons = next(c->cons, num);
		}
		if (done == n)
			break;
		/* Empty by the cache (or broken): reload, the single-slot way.
		 * A reload passes the guard, so what it finds needs no other. */
		err = peek(c, &slot PL(0));
		if (err)
			goto stop;
		guarded = true;
		slot_read(&c->d, slot, bufs[done], len PL(0));
		done++;
	}
	(void)publish_cons(c PL(0));
	return (int)done;
stop:
	if (!done && err != VMSG_EAGAIN)
		return err;
	(void)publish_cons(c PL(0));
	return (int)done;
}

/*
 * Kick suppression, consumer side: publish a fresh sleep token, full fence,
 * re-check the producer index. Either the producer's need_kick() sees the
 * token (and kicks once for it), or this re-check sees its message.
 */
HOT void cons_awake(struct vmsg_spsc_cons *c PL_)
{
	if (c->d.awake)
		kword_store_m(&c->d, c->d.awake, c->token | 1u PL(pl));
}

HOT int cons_arm(struct vmsg_spsc_cons *c PL_)
{
	int err;

	if (c->broken)
		return VMSG_EPROTO;
	if (c->d.awake) {
		c->token = next_token_m(c PL(pl));
		kword_store_m(&c->d, c->d.awake, c->token PL(pl));
	}
	/* Pairs with the fence in vmsg_spsc_prod_need_kick(). */
	fence_full_m(&c->d PL(pl));
	if (c->cons != c->prod_seen)
		goto not_empty;
	err = cons_refresh(c PL(pl));
	if (err)
		return err;
	if (c->cons == c->prod_seen)
		return 0;
not_empty:
	cons_awake(c PL(pl));
	return 1;
}

SLOW int cons_arm_any(struct vmsg_spsc_cons *c)
{
	return cons_arm(c PL(0));
}

int vmsg_spsc_cons_arm(struct vmsg_spsc_cons *c)
{
	if (ep_plain(c))
		return cons_arm(c PL(1));
	return cons_arm_any(c);
}

SLOW void cons_awake_any(struct vmsg_spsc_cons *c)
{
	cons_awake(c PL(0));
}

void vmsg_spsc_cons_awake(struct vmsg_spsc_cons *c)
{
	if (ep_plain(c))
		cons_awake(c PL(1));
	else
		cons_awake_any(c);
}

HOT bool cons_idle(struct vmsg_spsc_cons *c, bool prefetch PL_)
{
	bool ok = pl || prefetch_ok(&c->d);

	if (prefetch && ok)
		vmsg_prefetch(slot_at(&c->d, c->cons)); /* as vmsg_spsc_cons_pending() */
	if (c->broken || c->cons != c->prod_seen)
		return false;
	c->stats.peer_loads++;
	if (idx_load_m(&c->d, &c->d.prod PL(pl)) == c->prod_seen)
		return true;
	/* New messages: fetch the slot now, as cons_refresh() does. */
	if (ok)
		vmsg_prefetch(slot_at(&c->d, c->cons));
	return false;
}

SLOW bool cons_idle_any(struct vmsg_spsc_cons *c, bool prefetch)
{
	return cons_idle(c, prefetch PL(0));
}

bool vmsg_spsc_cons_idle(struct vmsg_spsc_cons *c, bool prefetch)
{
	if (ep_plain(c))
		return cons_idle(c, prefetch PL(1));
	return cons_idle_any(c, prefetch);
}

int vmsg_spsc_cons_pending(struct vmsg_spsc_cons *c)
{
	int err;

	/*
	 * A waiter polls here over and over: fetch the slot we take next
	 * while the index load is under way too, so that when the index line
	 * arrives the slot's transfer is not still to come (bench/README.md,
	 * bus sixth round: -25 % per bus round trip). Not in peek/pop: a
	 * consumer that keeps up with a streaming producer would pull that
	 * slot away while the producer writes it (bench_ring batch 1 fell to
	 * 0.66-0.85x the textbook ring in some runs).
	 */
	if (prefetch_ok(&c->d))
		vmsg_prefetch(slot_at(&c->d, c->cons));
	err = c->broken ? VMSG_EPROTO : cons_refresh(c PL(0));

	return err ? err : (int)dist(c->cons, c->prod_seen, c->d.num_slots);
}

int vmsg_spsc_cons_check(struct vmsg_spsc_cons *c)
{
	return c->broken ? VMSG_EPROTO : cons_refresh(c PL(0));
}
