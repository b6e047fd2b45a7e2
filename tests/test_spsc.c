/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the SPSC ring, one rule at a time, on a ring in a local
 * buffer. Every expected value comes from docs/ring-protocol.md and the
 * contracts in include/virtio_msg/spsc.h, never from running the code.
 *
 * Each ring test runs in six variants: both memory modes (coherent and
 * VMSG_SPSC_MEM_DEVICE) times three index encodings (32-bit host order,
 * 32-bit little-endian, 16-bit little-endian). The 16-bit variant mimics the
 * vmamp v1 queue head: the producer index is the low half of a word whose
 * other half belongs to the producer's side, the consumer index the high half
 * of a word whose other half belongs to the consumer's side; both other
 * halves hold sentinels that must survive every operation.
 *
 * Local layout (64-byte aligned buffer):
 *   +0x00 producer index word   +0x04 consumer index word
 *   +0x08 awake word            +0x0C guard word 1   +0x10 guard word 2
 *   +0x14 kicked word (with the awake word)
 *   +0x40 slots (N * slot_size)
 * The awake and kicked words are stored in the byte order of the indices.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_msg/config.h"
#include "virtio_msg/spsc.h"

/* ---------------------------------------------------------------------- */
/* Variants and the local ring                                            */
/* ---------------------------------------------------------------------- */

enum width {
	W32_HOST,
	W32_LE,
	W16_LE
};

struct variant {
	uint8_t mem;
	enum width w;
	const char *name;
};

static const struct variant variants[] = {
	{ VMSG_SPSC_MEM_COHERENT, W32_HOST, "coherent/host32" },
	{ VMSG_SPSC_MEM_COHERENT, W32_LE, "coherent/le32" },
	{ VMSG_SPSC_MEM_COHERENT, W16_LE, "coherent/le16" },
	{ VMSG_SPSC_MEM_DEVICE, W32_HOST, "device/host32" },
	{ VMSG_SPSC_MEM_DEVICE, W32_LE, "device/le32" },
	{ VMSG_SPSC_MEM_DEVICE, W16_LE, "device/le16" },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

/*
 * Builds with one memory mode, one index width or no cache hooks (config.h)
 * refuse descriptions that need what they left out with VMSG_ENOTSUP: a
 * variant this build does not have checks that refusal and is skipped.
 */
static bool mem_compiled(uint8_t mem)
{
	return mem == VMSG_SPSC_MEM_DEVICE ? VMSG_CONFIG_HAS_MEM_DEVICE :
					     VMSG_CONFIG_HAS_MEM_COHERENT;
}

static bool bits_compiled(uint8_t bits)
{
	return bits == 16 ? VMSG_CONFIG_HAS_INDEX16 : VMSG_CONFIG_HAS_INDEX32;
}

/* What vmsg_spsc_desc_check() says of a *valid* description in this build. */
static int valid_rc(const struct vmsg_spsc_desc *d)
{
	bool ok = mem_compiled(d->mem) && bits_compiled(d->prod.bits) &&
		  bits_compiled(d->cons.bits) && !(VMSG_CONFIG_NO_CACHE_OPS && d->cache);

	return ok ? 0 : VMSG_ENOTSUP;
}

#define OFF_PW 0x00u
#define OFF_CW 0x04u
#define OFF_AW 0x08u
#define OFF_GW1 0x0Cu
#define OFF_GW2 0x10u
#define OFF_KW 0x14u
#define OFF_SLOTS 0x40u

/* Sentinels in the other halves of the 16-bit index words. */
static const uint8_t prod_side_sentinel[2] = { 0xA5, 0x5A };
static const uint8_t cons_side_sentinel[2] = { 0xC3, 0x3C };

/* Buffers still owned by the running test: freed by the teardown when an
 * assertion leaves the test early. */
static void *live[8];

static void live_add(void *p)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (!live[i]) {
			live[i] = p;
			return;
		}
	}
	fail_msg("too many live buffers");
}

static void live_free(void *p)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == p)
			live[i] = NULL;
	free(p);
}

static int teardown_live(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		free(live[i]);
		live[i] = NULL;
	}
	return 0;
}

struct ring {
	const struct variant *v;
	uint32_t n, ss;
	uint8_t *buf;
	size_t size;
	uint8_t *pw, *cw, *aw, *kw, *slots;
	uint8_t *pf, *cf; /* the index fields themselves */
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_prod p;
	struct vmsg_spsc_cons c;
};

static void ring_setup(struct ring *r, const struct variant *v, uint32_t n, uint32_t ss, bool awake)
{
	void *mem = NULL;

	memset(r, 0, sizeof(*r));
	r->v = v;
	r->n = n;
	r->ss = ss;
	r->size = OFF_SLOTS + (size_t)n * ss;
	assert_int_equal(posix_memalign(&mem, 64, r->size), 0);
	r->buf = mem;
	live_add(mem);
	memset(r->buf, 0, r->size);
	r->pw = r->buf + OFF_PW;
	r->cw = r->buf + OFF_CW;
	r->aw = r->buf + OFF_AW;
	r->kw = r->buf + OFF_KW;
	r->slots = r->buf + OFF_SLOTS;
	r->pf = r->pw;
	r->cf = v->w == W16_LE ? r->cw + 2 : r->cw;
	if (v->w == W16_LE) {
		memcpy(r->pw + 2, prod_side_sentinel, 2);
		memcpy(r->cw, cons_side_sentinel, 2);
	}
	r->d.slots = r->slots;
	r->d.num_slots = n;
	r->d.slot_size = ss;
	r->d.prod.addr = r->pf;
	r->d.prod.bits = v->w == W16_LE ? 16 : 32;
	r->d.cons.addr = r->cf;
	r->d.cons.bits = r->d.prod.bits;
	r->d.awake = awake ? r->aw : NULL;
	r->d.kicked = awake ? r->kw : NULL;
	r->d.flags = v->w == W32_HOST ? 0 : VMSG_SPSC_F_LE_INDEX;
	r->d.mem = v->mem;
	r->d.cache = NULL;
}

/* Check that both endpoints refuse @r's description (compiled out), skip. */
static void refused_then_skip(struct ring *r)
{
	assert_int_equal(valid_rc(&r->d), VMSG_ENOTSUP);
	assert_int_equal(vmsg_spsc_desc_check(&r->d), VMSG_ENOTSUP);
	assert_int_equal(vmsg_spsc_prod_init(&r->p, &r->d, VMSG_SPSC_INIT_RESET), VMSG_ENOTSUP);
	assert_int_equal(vmsg_spsc_cons_init(&r->c, &r->d, VMSG_SPSC_INIT_RESET), VMSG_ENOTSUP);
	skip();
}

/* The ring of a variant; a variant this build left out is refused, then skipped. */
static void ring_alloc(struct ring *r, const struct variant *v, uint32_t n, uint32_t ss, bool awake)
{
	ring_setup(r, v, n, ss, awake);
	if (valid_rc(&r->d) != 0)
		refused_then_skip(r);
}

static void ring_init(struct ring *r)
{
	assert_int_equal(vmsg_spsc_prod_init(&r->p, &r->d, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(vmsg_spsc_cons_init(&r->c, &r->d, VMSG_SPSC_INIT_RESET), 0);
}

static void ring_free(struct ring *r)
{
	if (r->v->w == W16_LE) {
		/* A 16-bit index store must never touch the other half. */
		assert_memory_equal(r->pw + 2, prod_side_sentinel, 2);
		assert_memory_equal(r->cw, cons_side_sentinel, 2);
	}
	live_free(r->buf);
	r->buf = NULL;
}

/* Decode an index field as the variant stores it. */
static uint32_t field_get(const struct variant *v, const uint8_t *p)
{
	uint32_t x;

	switch (v->w) {
	case W32_HOST:
		memcpy(&x, p, 4);
		return x;
	case W32_LE:
		return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 24;
	default:
		return (uint32_t)p[0] | (uint32_t)p[1] << 8;
	}
}

static void field_set(const struct variant *v, uint8_t *p, uint32_t x)
{
	switch (v->w) {
	case W32_HOST:
		memcpy(p, &x, 4);
		break;
	case W32_LE:
		p[0] = (uint8_t)x;
		p[1] = (uint8_t)(x >> 8);
		p[2] = (uint8_t)(x >> 16);
		p[3] = (uint8_t)(x >> 24);
		break;
	default:
		p[0] = (uint8_t)x;
		p[1] = (uint8_t)(x >> 8);
		break;
	}
}

static uint32_t mem_prod(const struct ring *r)
{
	return field_get(r->v, r->pf);
}

static uint32_t mem_cons(const struct ring *r)
{
	return field_get(r->v, r->cf);
}

/* A kick word (awake, kicked), in the byte order of the indices. */
static uint32_t kword_get(const struct ring *r, const uint8_t *p)
{
	uint32_t x;

	if (r->v->w == W32_HOST) {
		memcpy(&x, p, 4);
		return x;
	}
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void kword_set(const struct ring *r, uint8_t *p, uint32_t x)
{
	if (r->v->w == W32_HOST) {
		memcpy(p, &x, 4);
		return;
	}
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
}

static uint32_t awake_get(const struct ring *r)
{
	return kword_get(r, r->aw);
}

static void awake_set(struct ring *r, uint32_t x)
{
	kword_set(r, r->aw, x);
}

static uint32_t kicked_get(const struct ring *r)
{
	return kword_get(r, r->kw);
}

static void le32_put(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
	p[2] = (uint8_t)(x >> 16);
	p[3] = (uint8_t)(x >> 24);
}

static uint8_t *slot_ptr(const struct ring *r, uint32_t i)
{
	return r->slots + (size_t)i * r->ss;
}

/* A recognisable message: byte i of message `seq`. */
static void make_msg(uint8_t *m, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(seq * 31u + i * 7u + 1u);
}

static void check_msg(const uint8_t *m, size_t len, uint32_t seq)
{
	uint8_t exp[256];

	assert_true(len <= sizeof(exp));
	make_msg(exp, len, seq);
	assert_memory_equal(m, exp, len);
}

static void push_seq(struct ring *r, uint32_t seq, size_t len)
{
	uint8_t m[256];

	make_msg(m, len, seq);
	assert_int_equal(vmsg_spsc_push(&r->p, m, len), 0);
}

static void pop_seq(struct ring *r, uint32_t seq)
{
	uint8_t m[256];

	assert_int_equal(vmsg_spsc_pop(&r->c, m, sizeof(m)), (int)r->ss);
	check_msg(m, r->ss, seq);
}

static const struct variant *var(void **state)
{
	return *state;
}

/* ---------------------------------------------------------------------- */
/* Capacity, wrap-around, slot contents                                   */
/* ---------------------------------------------------------------------- */

/* Empty when P == C; full when (P + 1) mod N == C: N - 1 usable slots. */
static void test_spsc_empty_full_one_slot_free(void **state)
{
	static const uint32_t sizes[] = { 2, 3, 8 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct ring r;
		uint8_t m[64];
		uint32_t n = sizes[k];

		ring_alloc(&r, var(state), n, 64, false);
		ring_init(&r);
		assert_int_equal(mem_prod(&r), 0);
		assert_int_equal(mem_cons(&r), 0);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), VMSG_EAGAIN);
		assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
		for (uint32_t i = 0; i < n - 1; i++) {
			push_seq(&r, i, 64);
			assert_int_equal(mem_prod(&r), i + 1);
		}
		make_msg(m, 64, 999);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
		assert_int_equal(mem_prod(&r), n - 1); /* nothing published */
		assert_int_equal(vmsg_spsc_cons_pending(&r.c), (int)(n - 1));
		for (uint32_t i = 0; i < n - 1; i++) {
			pop_seq(&r, i);
			assert_int_equal(mem_cons(&r), i + 1);
		}
		assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), VMSG_EAGAIN);
		assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
		/* After a full drain there is room for N - 1 again. */
		for (uint32_t i = 0; i < n - 1; i++)
			push_seq(&r, 100 + i, 64);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
		assert_int_equal(mem_prod(&r), (2 * (n - 1)) % n);
		ring_free(&r);
	}
}

/* Indices are slot numbers that wrap at N (not a power of two here). */
static void test_spsc_wraparound_many_cycles(void **state)
{
	struct ring r;
	uint32_t n = 5, sent = 0, got = 0, rng = 12345;

	ring_alloc(&r, var(state), n, 16, false);
	ring_init(&r);
	for (int cycle = 0; cycle < 3000; cycle++) {
		uint32_t k;
		uint32_t room = n - 1 - (sent - got);

		rng = rng * 1103515245u + 12345u;
		k = room ? 1 + (rng >> 16) % room : 0;
		for (uint32_t i = 0; i < k; i++)
			push_seq(&r, sent++, 16);
		assert_int_equal(mem_prod(&r), sent % n);
		assert_int_equal(vmsg_spsc_cons_pending(&r.c), (int)(sent - got));
		rng = rng * 1103515245u + 12345u;
		k = 1 + (rng >> 16) % (sent - got);
		for (uint32_t i = 0; i < k; i++)
			pop_seq(&r, got++);
		assert_int_equal(mem_cons(&r), got % n);
	}
	while (got < sent)
		pop_seq(&r, got++);
	assert_true(sent >= 3000); /* every cycle pushes at least one: 600+ trips round */
	ring_free(&r);
}

/* A pushed slot holds the message and zeros, whatever the slot held. */
static void expect_slot(const struct ring *r, uint32_t slot, const uint8_t *m, size_t len)
{
	const uint8_t *s = slot_ptr(r, slot);

	assert_memory_equal(s, m, len);
	for (size_t i = len; i < r->ss; i++)
		assert_int_equal(s[i], 0);
}

/*
 * The producer zeroes the unused tail of each slot, so no stale bytes cross
 * (spsc.h). Lengths vary over many laps, long before short in the same
 * slot, starting from an array full of bytes from an earlier life (the
 * ring set-up does not zero it).
 */
static void test_spsc_push_zero_fills_slot_tail(void **state)
{
	static const size_t lens[] = { 128, 0, 1, 4, 5, 7, 8, 63, 64, 65, 127, 128, 3, 2, 1 };
	struct ring r;
	uint8_t m[128], out[128];

	ring_alloc(&r, var(state), 4, 128, false);
	memset(r.slots, 0xEE, (size_t)r.n * r.ss); /* an earlier life's bytes */
	ring_init(&r);
	for (size_t lap = 0; lap < 7; lap++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			size_t len = lens[(k + lap) % (sizeof(lens) / sizeof(lens[0]))];
			uint32_t slot = mem_prod(&r);

			make_msg(m, len, (uint32_t)(k + lap));
			assert_int_equal(vmsg_spsc_push(&r.p, len ? m : NULL, len), 0);
			expect_slot(&r, slot, m, len);
			memset(out, 0xEE, sizeof(out));
			assert_int_equal(vmsg_spsc_pop(&r.c, out, sizeof(out)), 128);
			assert_memory_equal(out, m, len);
			for (size_t i = len; i < r.ss; i++)
				assert_int_equal(out[i], 0);
		}
	}
	ring_free(&r);
}

/*
 * The producer zeroes only as far as a slot may hold bytes (ring.c). Every
 * way the slots can hold bytes it did not put there itself is covered: a
 * zero-copy reservation the caller filled whole, a resumed endpoint, a reset
 * without zeroing, and whole-slot batches.
 */
static void test_spsc_tail_zeroed_after_unknown_contents(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	uint8_t m[64];
	void *slot;

	ring_alloc(&r, v, 4, 64, false);
	ring_init(&r);
	/* Short messages for two laps: the producer now knows the tails. */
	for (uint32_t i = 0; i < 8; i++) {
		push_seq(&r, i, 4);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), 64);
	}
	/* A zero-copy slot filled whole, then short pushes round the ring. */
	assert_int_equal(vmsg_spsc_reserve(&r.p, &slot), 0);
	memset(slot, 0xEE, 64);
	assert_int_equal(vmsg_spsc_commit(&r.p), 1);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), 64);
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t at = mem_prod(&r);

		make_msg(m, 4, i);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 4), 0);
		expect_slot(&r, at, m, 4);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), 64);
	}
	/* Whole 64-byte messages by batch, then short ones into those slots. */
	{
		uint8_t b[3][64];
		const void *msgs[3] = { b[0], b[1], b[2] };
		size_t lens[3] = { 64, 64, 64 };
		void *outs[3] = { b[0], b[1], b[2] };

		memset(b, 0xEE, sizeof(b));
		assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 3), 3);
		assert_int_equal(vmsg_spsc_pop_batch(&r.c, outs, 64, 3), 3);
	}
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t at = mem_prod(&r);

		make_msg(m, 5, i);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 5), 0);
		expect_slot(&r, at, m, 5);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), 64);
	}
	/* A new life of the producer: resumed or reset over an array it did
	 * not write (another process, an earlier life). */
	for (int how = 0; how < 3; how++) {
		memset(r.slots, 0xEE, (size_t)r.n * r.ss);
		if (how == 0) {
			assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESUME), 0);
		} else if (how == 1) {
			ring_init(&r);
		} else {
			vmsg_spsc_prod_reset(&r.p, false);
			vmsg_spsc_cons_reset(&r.c);
		}
		for (uint32_t i = 0; i < 6; i++) {
			uint32_t at = mem_prod(&r);

			make_msg(m, 6, i);
			assert_int_equal(vmsg_spsc_push(&r.p, m, 6), 0);
			expect_slot(&r, at, m, 6);
			assert_int_equal(vmsg_spsc_pop(&r.c, m, sizeof(m)), 64);
		}
	}
	/* Reset with zeroing: every slot reads zero at once. */
	memset(r.slots, 0xEE, (size_t)r.n * r.ss);
	vmsg_spsc_prod_reset(&r.p, true);
	vmsg_spsc_cons_reset(&r.c);
	for (size_t i = 0; i < (size_t)r.n * r.ss; i++)
		assert_int_equal(r.slots[i], 0);
	ring_free(&r);
}

/*
 * Long runs of whole 64-byte slots, with and without VMSG_SPSC_F_STREAM
 * (which writes them with streaming stores on x86): every byte arrives,
 * across the end of the array too, with one publication per call; a short
 * message in the middle of a run ends the whole-slot run and keeps its
 * zeroed tail.
 */
static void batch_long_runs(void **state, uint32_t flags)
{
	enum { N = 40, K = 30 };
	static uint8_t data[K][64], out[K][64];
	const void *msgs[K];
	size_t lens[K];
	void *bufs[K];
	struct ring r;
	uint32_t seq = 0, got = 0;

	ring_alloc(&r, var(state), N, 64, false);
	r.d.flags |= flags;
	ring_init(&r);
	for (int i = 0; i < K; i++) {
		msgs[i] = data[i];
		bufs[i] = out[i];
	}
	/* Runs of 30, 30 (wraps at slot 40), 12, 30 (wraps again), 9 with a
	 * short message at its middle. */
	for (int round = 0; round < 5; round++) {
		unsigned k = round == 2 ? 12u : round == 4 ? 9u : (unsigned)K;
		uint64_t pub = r.p.stats.publishes;
		uint32_t at = mem_prod(&r);

		for (unsigned i = 0; i < k; i++) {
			lens[i] = round == 4 && i == 4 ? 10u : 64u;
			make_msg(data[i], lens[i], seq + i);
		}
		assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, k), (int)k);
		assert_int_equal(r.p.stats.publishes, pub + 1);
		assert_int_equal(mem_prod(&r), (at + k) % N);
		/* In shared memory, before the consumer copies anything. */
		for (unsigned i = 0; i < k; i++)
			expect_slot(&r, (at + i) % N, data[i], lens[i]);
		memset(out, 0xEE, sizeof(out));
		assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, k), (int)k);
		for (unsigned i = 0; i < k; i++)
			check_msg(out[i], lens[i], got + i);
		seq += k;
		got += k;
	}
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	ring_free(&r);
}

static void test_spsc_batch_long_runs(void **state)
{
	batch_long_runs(state, 0);
}

static void test_spsc_batch_long_runs_streaming(void **state)
{
	batch_long_runs(state, VMSG_SPSC_F_STREAM);
}

static void test_spsc_push_emsgsize(void **state)
{
	struct ring r;
	uint8_t m[65];
	const void *msgs[3] = { m, m, m };
	size_t lens[3] = { 65, 8, 8 };

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	make_msg(m, sizeof(m), 1);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 65), VMSG_EMSGSIZE);
	assert_int_equal(vmsg_spsc_push(&r.p, m, SIZE_MAX), VMSG_EMSGSIZE);
	assert_int_equal(mem_prod(&r), 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	/* A batch whose first message is too large pushes nothing. */
	assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 3), VMSG_EMSGSIZE);
	assert_int_equal(mem_prod(&r), 0);
	/* A too-large message later in a batch: the return value must match
	 * what was published (the earlier messages, or nothing). */
	lens[0] = 8;
	lens[1] = 65;
	{
		int rc = vmsg_spsc_push_batch(&r.p, msgs, lens, 3);

		if (rc >= 0) {
			assert_int_equal(rc, 1);
			assert_int_equal(mem_prod(&r), 1);
		} else {
			assert_int_equal(rc, VMSG_EMSGSIZE);
			assert_int_equal(mem_prod(&r), 0);
		}
	}
	/* The largest message that fits. */
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), 0);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Zero copy                                                              */
/* ---------------------------------------------------------------------- */

static void test_spsc_reserve_commit(void **state)
{
	struct ring r;
	uint8_t m[64];
	void *slot[8];
	uint64_t pubs;

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	pubs = r.p.stats.publishes;
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(vmsg_spsc_reserve(&r.p, &slot[i]), 0);
		assert_ptr_equal(slot[i], slot_ptr(&r, i));
		make_msg(m, 64, 50 + i);
		vmsg_spsc_slot_write(&r.d, slot[i], m, 64);
	}
	/* Nothing is visible before the commit. */
	assert_int_equal(mem_prod(&r), 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	/* Copying push while slots are reserved. */
	assert_int_equal(vmsg_spsc_push(&r.p, m, 8), VMSG_EBUSY);
	{
		const void *msgs[1] = { m };
		size_t lens[1] = { 8 };

		assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 1), VMSG_EBUSY);
	}
	assert_int_equal(mem_prod(&r), 0);
	/* One publication for all three. */
	assert_int_equal(vmsg_spsc_commit(&r.p), 3);
	assert_int_equal(r.p.stats.publishes, pubs + 1);
	assert_int_equal(mem_prod(&r), 3);
	assert_int_equal(vmsg_spsc_commit(&r.p), 0);
	assert_int_equal(r.p.stats.publishes, pubs + 1);
	for (uint32_t i = 0; i < 3; i++)
		pop_seq(&r, 50 + i);
	/* Reserve until full: N - 1 slots from the current position. */
	for (uint32_t i = 0; i < 7; i++) {
		assert_int_equal(vmsg_spsc_reserve(&r.p, &slot[i]), 0);
		assert_ptr_equal(slot[i], slot_ptr(&r, (3 + i) % 8));
		make_msg(m, 64, 70 + i);
		vmsg_spsc_slot_write(&r.d, slot[i], m, 64);
	}
	{
		void *extra;

		assert_int_equal(vmsg_spsc_reserve(&r.p, &extra), VMSG_EAGAIN);
	}
	assert_int_equal(vmsg_spsc_commit(&r.p), 7);
	assert_int_equal(mem_prod(&r), (3 + 7) % 8);
	for (uint32_t i = 0; i < 7; i++)
		pop_seq(&r, 70 + i);
	/* Push works again once everything is committed. */
	push_seq(&r, 99, 64);
	pop_seq(&r, 99);
	ring_free(&r);
}

/* A partial word written with vmsg_spsc_slot_write() in device mode is
 * zero-filled (spsc.h); outside the written range nothing changes. */
static void test_spsc_slot_write_read(void **state)
{
	struct ring r;
	uint8_t m[16], out[16];

	ring_alloc(&r, var(state), 4, 64, false);
	ring_init(&r);
	memset(r.slots, 0xEE, 64);
	make_msg(m, sizeof(m), 3);
	vmsg_spsc_slot_write(&r.d, r.slots, m, 5);
	assert_memory_equal(r.slots, m, 5);
	if (r.v->mem == VMSG_SPSC_MEM_DEVICE) {
		assert_int_equal(r.slots[5], 0);
		assert_int_equal(r.slots[6], 0);
		assert_int_equal(r.slots[7], 0);
	}
	for (size_t i = 8; i < 64; i++)
		assert_int_equal(r.slots[i], 0xEE);
	memset(out, 0x77, sizeof(out));
	vmsg_spsc_slot_read(&r.d, r.slots, out, 5);
	assert_memory_equal(out, m, 5);
	for (size_t i = 5; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x77);
	ring_free(&r);
}

static void test_spsc_peek_release(void **state)
{
	struct ring r;
	const void *slot[4];
	uint8_t m[64];

	ring_alloc(&r, var(state), 4, 64, false);
	ring_init(&r);
	for (uint32_t i = 0; i < 3; i++)
		push_seq(&r, 10 + i, 64);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(vmsg_spsc_peek(&r.c, &slot[i]), 0);
		assert_ptr_equal(slot[i], slot_ptr(&r, i));
		vmsg_spsc_slot_read(&r.d, slot[i], m, 64);
		check_msg(m, 64, 10 + i);
	}
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot[3]), VMSG_EAGAIN);
	/* Peeked slots are not given back yet. */
	assert_int_equal(mem_cons(&r), 0);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EBUSY);
	{
		void *bufs[1] = { m };

		assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 1), VMSG_EBUSY);
	}
	make_msg(m, 64, 1);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN); /* still full */
	assert_int_equal(vmsg_spsc_release(&r.c), 3);
	assert_int_equal(mem_cons(&r), 3);
	assert_int_equal(vmsg_spsc_release(&r.c), 0);
	push_seq(&r, 20, 64);
	/* Peek one, release one: the rest stays. */
	push_seq(&r, 21, 64);
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot[0]), 0);
	assert_ptr_equal(slot[0], slot_ptr(&r, 3));
	assert_int_equal(vmsg_spsc_release(&r.c), 1);
	assert_int_equal(mem_cons(&r), 0);
	pop_seq(&r, 21);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Batches                                                                */
/* ---------------------------------------------------------------------- */

static void test_spsc_batch_single_publication(void **state)
{
	struct ring r;
	uint8_t data[12][64], out[12][64];
	const void *msgs[12];
	void *bufs[12];
	size_t lens[12];
	uint64_t ppub, cpub, pmsgs, cmsgs;

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	for (int i = 0; i < 12; i++) {
		make_msg(data[i], 64, 200 + (uint32_t)i);
		msgs[i] = data[i];
		lens[i] = 64;
		bufs[i] = out[i];
	}
	ppub = r.p.stats.publishes;
	pmsgs = r.p.stats.msgs;
	assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 5), 5);
	assert_int_equal(r.p.stats.publishes, ppub + 1);
	assert_int_equal(r.p.stats.msgs, pmsgs + 5);
	assert_int_equal(mem_prod(&r), 5);
	/* An empty batch publishes nothing. */
	assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 0), 0);
	assert_int_equal(r.p.stats.publishes, ppub + 1);

	cpub = r.c.stats.publishes;
	cmsgs = r.c.stats.msgs;
	assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 8), 5);
	assert_int_equal(r.c.stats.publishes, cpub + 1);
	assert_int_equal(r.c.stats.msgs, cmsgs + 5);
	assert_int_equal(mem_cons(&r), 5);
	for (int i = 0; i < 5; i++)
		check_msg(out[i], 64, 200 + (uint32_t)i);
	/* Empty: 0 popped, nothing published. */
	assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 8), 0);
	assert_int_equal(r.c.stats.publishes, cpub + 1);

	/* More than fits: N - 1 = 7 pushed with one publication. */
	ppub = r.p.stats.publishes;
	assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 12), 7);
	assert_int_equal(r.p.stats.publishes, ppub + 1);
	assert_int_equal(mem_prod(&r), (5 + 7) % 8);
	/* Full: 0 pushed. */
	assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 3), 0);
	assert_int_equal(r.p.stats.publishes, ppub + 1);
	/* Pop a few with a smaller batch, then the rest. */
	assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 3), 3);
	for (int i = 0; i < 3; i++)
		check_msg(out[i], 64, 200 + (uint32_t)i);
	assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 12), 4);
	for (int i = 0; i < 4; i++)
		check_msg(out[i], 64, 203 + (uint32_t)i);
	assert_int_equal(mem_cons(&r), (5 + 7) % 8);
	ring_free(&r);
}

/* pop copies min(slot_size, cap) bytes and still consumes the whole slot. */
static void test_spsc_pop_small_cap(void **state)
{
	struct ring r;
	uint8_t out[80];

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	push_seq(&r, 7, 64);
	push_seq(&r, 8, 64);
	push_seq(&r, 9, 64);
	memset(out, 0x55, sizeof(out));
	assert_int_equal(vmsg_spsc_pop(&r.c, out, 10), 10);
	check_msg(out, 10, 7);
	for (size_t i = 10; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
	assert_int_equal(mem_cons(&r), 1);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 2);
	/* A larger buffer than a slot: slot_size bytes, the rest untouched. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(vmsg_spsc_pop(&r.c, out, sizeof(out)), 64);
	check_msg(out, 64, 8);
	for (size_t i = 64; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
	/* Odd capacities in a batch. */
	{
		void *bufs[1] = { out };

		memset(out, 0x55, sizeof(out));
		assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 3, 1), 1);
		check_msg(out, 3, 9);
		for (size_t i = 3; i < sizeof(out); i++)
			assert_int_equal(out[i], 0x55);
	}
	/* A zero capacity cannot receive a message (the result is > 0 on
	 * success): it must fail and consume nothing. */
	push_seq(&r, 10, 64);
	assert_true(vmsg_spsc_pop(&r.c, out, 0) < 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 1);
	pop_seq(&r, 10);
	ring_free(&r);
}

static void test_spsc_pending(void **state)
{
	struct ring r;

	ring_alloc(&r, var(state), 6, 32, false);
	ring_init(&r);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	for (uint32_t round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < 5; i++) {
			push_seq(&r, i, 32);
			/* pending reloads the producer index every time */
			assert_int_equal(vmsg_spsc_cons_pending(&r.c), (int)(i + 1));
		}
		for (uint32_t i = 0; i < 5; i++) {
			pop_seq(&r, i);
			assert_int_equal(vmsg_spsc_cons_pending(&r.c), (int)(4 - i));
		}
	}
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Description checks and initialisation                                  */
/* ---------------------------------------------------------------------- */

static void test_spsc_desc_check_rejects(void **state)
{
	static uint32_t words[4];
	struct ring r;
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_prod p;
	struct vmsg_spsc_cons c;
	uint8_t *big;

	(void)state;
	/* Validity comes first: an invalid description is VMSG_EINVAL in
	 * every build; a valid one is 0, or VMSG_ENOTSUP when it needs what
	 * this build left out (valid_rc()). */
	ring_setup(&r, &variants[0], 8, 64, true);
	assert_int_equal(vmsg_spsc_desc_check(&r.d), valid_rc(&r.d));
	assert_int_equal(vmsg_spsc_desc_check(NULL), VMSG_EINVAL);

	d = r.d;
	d.slots = NULL;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.slots = r.slots + 2; /* not 4-byte aligned */
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.num_slots = 1;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.num_slots = 0;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.num_slots = 2;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	d = r.d;
	d.slot_size = 0;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.slot_size = 2;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.slot_size = 63;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.slot_size = 4;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	d.slot_size = 60;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));

	/* Flags: the two defined ones, nothing else. */
	d = r.d;
	d.flags |= VMSG_SPSC_F_STREAM;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	d.flags |= 0x4u;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.flags = 0x80000000u;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);

	/* Index fields: present, aligned to their width, 16 or 32 bits. */
	d = r.d;
	d.prod.addr = NULL;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.cons.addr = NULL;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.prod.addr = r.pw + 2; /* 32-bit index on a 2-byte boundary */
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.cons.addr = r.cw + 1;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.prod.bits = 16;
	d.cons.bits = 16;
	d.prod.addr = r.pw + 1; /* 16-bit index on an odd address */
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.prod.addr = r.pw + 2;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	d = r.d;
	d.prod.bits = 8;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.cons.bits = 64;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.awake = r.aw + 2; /* the awake word is an aligned 32-bit word */
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.kicked = r.kw + 2; /* so is the kicked word */
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d = r.d;
	d.awake = NULL; /* a kicked word only goes with an awake word */
	d.kicked = r.kw;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);

	/* A 16-bit index cannot number more than 65536 slots. */
	big = malloc((size_t)65537 * 4);
	assert_non_null(big);
	live_add(big);
	d = r.d;
	d.slots = big;
	d.slot_size = 4;
	d.prod = (struct vmsg_spsc_index){ &words[0], 16 };
	d.cons = (struct vmsg_spsc_index){ &words[1], 16 };
	d.num_slots = 65536;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	d.num_slots = 65537;
	assert_int_equal(vmsg_spsc_desc_check(&d), VMSG_EINVAL);
	d.prod.bits = 32;
	d.cons.bits = 32;
	assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
	live_free(big);

	/* Every memory mode and index width, with and without cache hooks. */
	for (uint8_t mem = VMSG_SPSC_MEM_COHERENT; mem <= VMSG_SPSC_MEM_DEVICE; mem++) {
		for (uint8_t bits = 16; bits <= 32; bits += 16) {
			static const struct vmsg_spsc_cache_ops ops;

			d = r.d;
			d.mem = mem;
			d.prod = (struct vmsg_spsc_index){ &words[0], bits };
			d.cons = (struct vmsg_spsc_index){ &words[1], bits };
			assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
			assert_int_equal(vmsg_spsc_prod_init(&p, &d, VMSG_SPSC_INIT_RESET), valid_rc(&d));
			assert_int_equal(vmsg_spsc_cons_init(&c, &d, VMSG_SPSC_INIT_RESET), valid_rc(&d));
			d.cache = &ops;
			assert_int_equal(vmsg_spsc_desc_check(&d), valid_rc(&d));
			assert_int_equal(vmsg_spsc_prod_init(&p, &d, VMSG_SPSC_INIT_RESET), valid_rc(&d));
		}
	}

	/* init refuses what desc_check refuses, and NULL endpoints. */
	d = r.d;
	d.num_slots = 1;
	assert_int_equal(vmsg_spsc_prod_init(&p, &d, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_cons_init(&c, &d, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_prod_init(&p, NULL, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_cons_init(&c, NULL, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_prod_init(NULL, &r.d, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_cons_init(NULL, &r.d, VMSG_SPSC_INIT_RESET), VMSG_EINVAL);
	ring_free(&r);
}

/* INIT_RESET publishes index 0; the consumer starts armed with the token
 * after the one in memory (1 = polling with token 0: the next is 2), and the
 * producer's kicked word says it kicked for nothing yet. */
static void test_spsc_init_reset_publishes_zero(void **state)
{
	struct ring r;

	ring_alloc(&r, var(state), 8, 64, true);
	field_set(r.v, r.pf, 5);
	field_set(r.v, r.cf, 3);
	awake_set(&r, 1);
	kword_set(&r, r.kw, 0x55u);
	ring_init(&r);
	assert_int_equal(mem_prod(&r), 0);
	assert_int_equal(mem_cons(&r), 0);
	assert_int_equal(awake_get(&r), 2);
	assert_int_equal(kicked_get(&r), 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	ring_free(&r);
}

/* INIT_RESUME continues from the indices in memory (prototype behaviour). */
static void test_spsc_init_resume(void **state)
{
	struct ring r;
	uint8_t m[64];

	ring_alloc(&r, var(state), 8, 64, true);
	/* A ring left by an earlier life: P = 5, C = 2, slots 2..4 filled. */
	for (uint32_t i = 2; i < 5; i++)
		make_msg(slot_ptr(&r, i), 64, 300 + i);
	field_set(r.v, r.pf, 5);
	field_set(r.v, r.cf, 2);
	awake_set(&r, 1);
	assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESUME), 0);
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESUME), 0);
	/* Resume publishes nothing new ... */
	assert_int_equal(mem_prod(&r), 5);
	assert_int_equal(mem_cons(&r), 2);
	/* ... except the awake word, which starts armed (spsc.h). */
	assert_int_equal(awake_get(&r), 2);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 3);
	/* 3 filled, so 4 free: the producer fills them, then is full. */
	for (uint32_t i = 0; i < 4; i++)
		push_seq(&r, 400 + i, 64);
	make_msg(m, 64, 0);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
	assert_int_equal(mem_prod(&r), 1);
	for (uint32_t i = 2; i < 5; i++)
		pop_seq(&r, 300 + i);
	for (uint32_t i = 0; i < 4; i++)
		pop_seq(&r, 400 + i);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	ring_free(&r);
}

static void resume_bad(const struct variant *v, uint32_t p, uint32_t c)
{
	struct ring r;
	uint8_t m[64];
	const void *slot;
	void *wslot;

	ring_alloc(&r, v, 8, 64, false);
	field_set(v, r.pf, p);
	field_set(v, r.cf, c);
	/* Either index out of range makes both endpoints refuse to resume. */
	assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESUME), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESUME), VMSG_EPROTO);
	/* And they stay broken (latched), even once memory looks sane. */
	field_set(v, r.pf, 0);
	field_set(v, r.cf, 0);
	make_msg(m, 64, 1);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_reserve(&r.p, &wslot), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_EPROTO);
	/* Reset clears the latch. */
	vmsg_spsc_prod_reset(&r.p, false);
	vmsg_spsc_cons_reset(&r.c);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), 0);
	push_seq(&r, 5, 64);
	pop_seq(&r, 5);
	ring_free(&r);
}

static void test_spsc_init_resume_out_of_range(void **state)
{
	const struct variant *v = var(state);
	uint32_t max = v->w == W16_LE ? 0xFFFFu : 0xFFFFFFFFu;

	resume_bad(v, 8, 0);
	resume_bad(v, 0, 8);
	resume_bad(v, max, 3);
	resume_bad(v, 2, max);
	resume_bad(v, v->w == W16_LE ? 0x8000u : 0x80000000u, 0);
}

/* INIT_RESYNC, producer: a restarted producer whose consumer kept C = 2
 * (and whose own word still says 5) starts empty at 2, writing only its own
 * words; the consumer's index and the slots stay as they were. */
static void test_spsc_init_resync_producer(void **state)
{
	struct ring r;
	uint8_t stale[64];

	ring_alloc(&r, var(state), 8, 64, true);
	for (uint32_t i = 2; i < 5; i++)
		make_msg(slot_ptr(&r, i), 64, 300 + i);
	field_set(r.v, r.pf, 5);
	field_set(r.v, r.cf, 2);
	kword_set(&r, r.kw, 0x55u);
	awake_set(&r, 7);
	assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESYNC), 0);
	assert_int_equal(mem_prod(&r), 2);
	assert_int_equal(mem_cons(&r), 2);
	assert_int_equal(kicked_get(&r), 0);  /* ours: kicked for nothing yet */
	assert_int_equal(awake_get(&r), 7);   /* the consumer's: untouched */
	make_msg(stale, 64, 302);
	assert_memory_equal(slot_ptr(&r, 2), stale, 64);
	/* The surviving consumer sees an empty ring, then our messages from
	 * slot 2 on, and nothing of the earlier life. */
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESUME), 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	assert_int_equal(vmsg_spsc_pop(&r.c, stale, 64), VMSG_EAGAIN);
	push_seq(&r, 900, 64);
	push_seq(&r, 901, 64);
	assert_int_equal(mem_prod(&r), 4);
	pop_seq(&r, 900);
	pop_seq(&r, 901);
	assert_int_equal(vmsg_spsc_pop(&r.c, stale, 64), VMSG_EAGAIN);
	ring_free(&r);
}

/* INIT_RESYNC, consumer: a restarted consumer whose producer kept P = 5
 * (and whose own word still says 2) starts empty at 5: the three slots of
 * the earlier life are not taken again. */
static void test_spsc_init_resync_consumer(void **state)
{
	struct ring r;
	uint8_t m[64];

	ring_alloc(&r, var(state), 8, 64, true);
	for (uint32_t i = 2; i < 5; i++)
		make_msg(slot_ptr(&r, i), 64, 300 + i);
	field_set(r.v, r.pf, 5);
	field_set(r.v, r.cf, 2);
	awake_set(&r, 1);
	kword_set(&r, r.kw, 0x55u);
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESYNC), 0);
	assert_int_equal(mem_cons(&r), 5);
	assert_int_equal(mem_prod(&r), 5);
	assert_int_equal(kicked_get(&r), 0x55u); /* the producer's: untouched */
	assert_int_equal(awake_get(&r), 2);      /* armed, as every start */
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	/* The surviving producer goes on from 5. */
	assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESUME), 0);
	push_seq(&r, 910, 64);
	pop_seq(&r, 910);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	ring_free(&r);
}

/* The peer's index out of range: refused before anything is written, and
 * latched; an unknown mode is refused. */
static void resync_bad(const struct variant *v, uint32_t p, uint32_t c)
{
	struct ring r;
	uint8_t m[64];

	ring_alloc(&r, v, 8, 64, true);
	field_set(v, r.pf, p);
	field_set(v, r.cf, c);
	kword_set(&r, r.kw, 0x55u);
	awake_set(&r, 9);
	if (c >= 8) {
		assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESYNC),
				 VMSG_EPROTO);
		field_set(v, r.cf, 0);
		make_msg(m, 64, 1);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EPROTO);
		field_set(v, r.cf, c);
	}
	if (p >= 8) {
		assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESYNC),
				 VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EPROTO);
	}
	assert_int_equal(mem_prod(&r), p);
	assert_int_equal(mem_cons(&r), c);
	assert_int_equal(kicked_get(&r), 0x55u);
	assert_int_equal(awake_get(&r), 9);
	ring_free(&r);
}

static void test_spsc_init_resync_out_of_range(void **state)
{
	const struct variant *v = var(state);
	uint32_t max = v->w == W16_LE ? 0xFFFFu : 0xFFFFFFFFu;
	struct ring r;

	resync_bad(v, 8, 0);
	resync_bad(v, 0, 8);
	resync_bad(v, max, max);
	resync_bad(v, v->w == W16_LE ? 0x8000u : 0x80000000u, 3);
	ring_alloc(&r, v, 8, 64, true);
	assert_int_equal(vmsg_spsc_prod_init(&r.p, &r.d, VMSG_SPSC_INIT_RESYNC + 1u), VMSG_EINVAL);
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESYNC + 1u), VMSG_EINVAL);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Validation of the peer's index                                         */
/* ---------------------------------------------------------------------- */

/* A producer index out of range, or one that takes back published messages,
 * is a protocol violation: VMSG_EPROTO, latched. Nothing is clamped. */
static void test_spsc_cons_rejects_bad_producer_index(void **state)
{
	const struct variant *v = var(state);
	uint32_t bad[3] = { 8, 9, v->w == W16_LE ? 0xFFFFu : 0xFFFFFFFFu };

	for (int k = 0; k < 4; k++) {
		struct ring r;
		uint8_t m[64];
		const void *slot;

		ring_alloc(&r, v, 8, 64, true);
		ring_init(&r);
		for (uint32_t i = 0; i < 4; i++)
			push_seq(&r, i, 64);
		pop_seq(&r, 0); /* the consumer has seen P = 4 */
		pop_seq(&r, 1);
		pop_seq(&r, 2);
		pop_seq(&r, 3);
		if (k == 3) {
			/* A take-back: P 4 -> 6 seen, then 5. */
			push_seq(&r, 4, 64);
			push_seq(&r, 5, 64);
			assert_int_equal(vmsg_spsc_cons_pending(&r.c), 2); /* seen P = 6 */
			field_set(v, r.pf, 5);
		} else {
			field_set(v, r.pf, bad[k]);
		}
		assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_EPROTO);
		/* Latched: every later call returns EPROTO, whatever memory says. */
		field_set(v, r.pf, mem_cons(&r));
		assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_cons_pending(&r.c), VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_cons_arm(&r.c), VMSG_EPROTO);
		{
			void *bufs[1] = { m };

			assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 1), VMSG_EPROTO);
		}
		vmsg_spsc_cons_reset(&r.c);
		assert_int_equal(mem_cons(&r), 0);
		ring_free(&r);
	}
}

/* A take-back is detected on the normal path when the consumer reloads
 * while it still holds published-but-unreleased slots (peek). */
static void test_spsc_peek_detects_rewind(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	const void *slot;

	ring_alloc(&r, v, 8, 64, false);
	ring_init(&r);
	for (uint32_t i = 0; i < 5; i++)
		push_seq(&r, i, 64);
	pop_seq(&r, 0); /* loads P = 5; C = 1 */
	for (uint32_t i = 1; i < 5; i++)
		assert_int_equal(vmsg_spsc_peek(&r.c, &slot), 0);
	field_set(v, r.pf, 3); /* takes back messages 3 and 4 */
	/* The cache says empty now (4 peeked), so this peek reloads. */
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_EPROTO);
	field_set(v, r.pf, 5);
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_EPROTO);
	ring_free(&r);
}

/* A consumer index out of range, moving backwards, or past the published
 * producer index is a protocol violation for the producer. */
static void test_spsc_prod_rejects_bad_consumer_index(void **state)
{
	const struct variant *v = var(state);

	for (int k = 0; k < 5; k++) {
		struct ring r;
		uint8_t m[64];
		void *slot;

		ring_alloc(&r, v, 8, 64, false);
		ring_init(&r);
		for (uint32_t i = 0; i < 5; i++)
			push_seq(&r, i, 64); /* P = 5 */
		pop_seq(&r, 0);
		pop_seq(&r, 1);
		pop_seq(&r, 2);					 /* C = 3 */
		assert_int_equal(vmsg_spsc_prod_check(&r.p), 0); /* seen C = 3 */
		switch (k) {
		case 0:
			field_set(v, r.cf, 8);
			break;
		case 1:
			field_set(v, r.cf, v->w == W16_LE ? 0xFFFFu : 0xFFFFFFFFu);
			break;
		case 2:
			field_set(v, r.cf, 2); /* backwards by one */
			break;
		case 3:
			field_set(v, r.cf, 6); /* past P = 5 */
			break;
		default:
			field_set(v, r.cf, 0); /* backwards to 0 */
			break;
		}
		assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_EPROTO);
		field_set(v, r.cf, 5);
		assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_EPROTO);
		make_msg(m, 64, 1);
		assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EPROTO);
		assert_int_equal(vmsg_spsc_reserve(&r.p, &slot), VMSG_EPROTO);
		{
			const void *msgs[1] = { m };
			size_t lens[1] = { 64 };

			assert_int_equal(vmsg_spsc_push_batch(&r.p, msgs, lens, 1), VMSG_EPROTO);
		}
		assert_int_equal(mem_prod(&r), 5); /* nothing published after */
		vmsg_spsc_prod_reset(&r.p, false);
		assert_int_equal(mem_prod(&r), 0);
		ring_free(&r);
	}
}

/* The legal extremes are accepted: C catching up with P exactly, and P
 * filling the ring to N - 1. */
static void test_spsc_legal_extremes_accepted(void **state)
{
	const struct variant *v = var(state);
	struct ring r;

	ring_alloc(&r, v, 8, 64, false);
	ring_init(&r);
	for (uint32_t i = 0; i < 7; i++)
		push_seq(&r, i, 64); /* full: P = 7 */
	for (uint32_t i = 0; i < 7; i++)
		pop_seq(&r, i); /* C = 7 = P */
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), 0);
	for (uint32_t i = 0; i < 7; i++)
		push_seq(&r, 10 + i, 64); /* P wraps to 6, full again */
	assert_int_equal(mem_prod(&r), 6);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 7);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	ring_free(&r);
}

/* Own index private: the endpoint never reads its own index back from
 * shared memory, so a scribbled copy does not change what it publishes. */
static void test_spsc_own_index_private(void **state)
{
	const struct variant *v = var(state);
	struct ring r;

	ring_alloc(&r, v, 8, 64, false);
	ring_init(&r);
	push_seq(&r, 0, 64);
	push_seq(&r, 1, 64);
	field_set(v, r.pf, 6); /* someone scribbles the producer's own index */
	/* The next publication is the private index + 1. */
	push_seq(&r, 2, 64);
	assert_int_equal(mem_prod(&r), 3);
	pop_seq(&r, 0);
	field_set(v, r.cf, 5); /* and the consumer's */
	pop_seq(&r, 1);
	assert_int_equal(mem_cons(&r), 2);
	pop_seq(&r, 2);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Kick suppression                                                       */
/* ---------------------------------------------------------------------- */

static void test_spsc_kick_without_awake_word(void **state)
{
	struct ring r;
	uint64_t kicks;

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	kicks = r.p.stats.kicks;
	for (uint32_t i = 0; i < 20; i++) {
		push_seq(&r, i, 64);
		assert_true(vmsg_spsc_prod_need_kick(&r.p));
		if (i % 2)
			vmsg_spsc_cons_awake(&r.c); /* no word: nothing to mark */
		pop_seq(&r, i);
	}
	assert_int_equal(r.p.stats.kicks, kicks + 20);
	ring_free(&r);
}

static void test_spsc_kick_awake_word(void **state)
{
	struct ring r;
	uint64_t kicks;
	uint32_t t0, t1, t2, t3, t4;

	ring_alloc(&r, var(state), 8, 64, true);
	ring_init(&r);
	kicks = r.p.stats.kicks;
	/* Fresh: armed with an even token; the first message kicks, the
	 * next ones of the same sleep do not. */
	t0 = awake_get(&r);
	assert_true(t0 != 0 && t0 % 2 == 0);
	push_seq(&r, 0, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_int_equal(kicked_get(&r), t0); /* the producer says which token */
	push_seq(&r, 1, 64);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	/* Consumer polling: odd (same token), no kick. */
	vmsg_spsc_cons_awake(&r.c);
	assert_int_equal(awake_get(&r), t0 | 1);
	push_seq(&r, 2, 64);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	/* A word of 0 (fresh memory, a peer without tokens): always kick. */
	awake_set(&r, 0);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	/* Any odd value is polling; any even token is kicked once. */
	awake_set(&r, 0x12345679u);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	awake_set(&r, 0x12345678u);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	assert_int_equal(kicked_get(&r), 0x12345678u);
	assert_int_equal(r.p.stats.kicks, kicks + 4);
	vmsg_spsc_cons_awake(&r.c);

	/* arm with data pending: 1, and the consumer is marked polling. */
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 1);
	assert_int_equal(awake_get(&r) % 2, 1);
	push_seq(&r, 3, 64);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	for (uint32_t i = 0; i < 4; i++)
		pop_seq(&r, i);
	/* arm on an empty ring: 0, a fresh token, and the next push kicks,
	 * once: more messages while the consumer wakes up cost no kick. */
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	t1 = awake_get(&r);
	assert_true(t1 != 0 && t1 % 2 == 0 && t1 != t0 && t1 != 0x12345678u);
	push_seq(&r, 4, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	push_seq(&r, 5, 64);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	/* After the kick the consumer wakes, marks itself polling, drains. */
	vmsg_spsc_cons_awake(&r.c);
	assert_int_equal(awake_get(&r), t1 | 1);
	pop_seq(&r, 4);
	pop_seq(&r, 5);
	/* The next sleep has a new token, so it is kicked again. */
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	t2 = awake_get(&r);
	assert_true(t2 != 0 && t2 % 2 == 0 && t2 != t1);
	push_seq(&r, 6, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	vmsg_spsc_cons_awake(&r.c);
	pop_seq(&r, 6);
	/* A sleep that ends without a kick (a timeout), then another: the
	 * new token is kicked although the old one never was. */
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	t3 = awake_get(&r);
	vmsg_spsc_cons_awake(&r.c);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	t4 = awake_get(&r);
	assert_true(t3 != t2 && t4 != t3 && t4 % 2 == 0);
	push_seq(&r, 7, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	vmsg_spsc_cons_awake(&r.c);
	pop_seq(&r, 7);
	ring_free(&r);
}

/* The consumer never picks as its next token the one the producer's
 * kicked word names (a token that came round again must not be taken for a
 * sleep already kicked), nor 0; tokens wrap from 0xFFFFFFFE to 2. */
static void test_spsc_kick_token_skips_kicked(void **state)
{
	struct ring r;
	uint32_t t;

	ring_alloc(&r, var(state), 8, 64, true);
	ring_init(&r);
	vmsg_spsc_cons_awake(&r.c);
	t = awake_get(&r) & ~1u;
	/* the producer (played by the test) kicked for t + 2 long ago */
	kword_set(&r, r.kw, t + 2);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	assert_int_equal(awake_get(&r), t + 4);
	vmsg_spsc_cons_awake(&r.c);
	/* wrap: the memory holds the last even token; 0 is never a token,
	 * and 2 is skipped while it is the producer's kicked word */
	awake_set(&r, 0xFFFFFFFFu);
	kword_set(&r, r.kw, 2);
	assert_int_equal(vmsg_spsc_cons_init(&r.c, &r.d, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(awake_get(&r), 4);
	kword_set(&r, r.kw, 0);
	awake_set(&r, 0xFFFFFFFEu);
	vmsg_spsc_cons_reset(&r.c);
	assert_int_equal(awake_get(&r), 2);
	/* the producer kicks once for it and says so */
	push_seq(&r, 0, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_int_equal(kicked_get(&r), 2);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	/* a producer reset forgets it: kicked word 0, and it kicks again */
	vmsg_spsc_prod_reset(&r.p, false);
	assert_int_equal(kicked_get(&r), 0);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	ring_free(&r);
}

/* Without a kicked word tokens still work: one kick per sleep. */
static void test_spsc_kick_without_kicked_word(void **state)
{
	struct ring r;

	ring_alloc(&r, var(state), 8, 64, true);
	r.d.kicked = NULL;
	ring_init(&r);
	kword_set(&r, r.kw, 0xA5A5A5A5u);
	vmsg_spsc_cons_awake(&r.c);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	push_seq(&r, 0, 64);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	push_seq(&r, 1, 64);
	assert_false(vmsg_spsc_prod_need_kick(&r.p));
	assert_int_equal(kicked_get(&r), 0xA5A5A5A5u); /* never written */
	ring_free(&r);
}

/* The re-check of arm must look at the producer index in memory, not at a
 * cached "empty": a message published after the consumer last saw the ring
 * empty must make arm return 1 (the Dekker pair). */
static void test_spsc_arm_rechecks_memory(void **state)
{
	struct ring r;
	uint8_t m[64];

	ring_alloc(&r, var(state), 8, 64, true);
	ring_init(&r);
	vmsg_spsc_cons_awake(&r.c);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN); /* cache: empty */
	push_seq(&r, 0, 64);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 1);
	assert_int_equal(awake_get(&r) % 2, 1); /* polling */
	pop_seq(&r, 0);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 0);
	assert_int_equal(awake_get(&r) % 2, 0); /* armed */
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Guard                                                                  */
/* ---------------------------------------------------------------------- */

static void test_spsc_guard_mismatch_connreset(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	uint8_t m[64];
	uint8_t *g1, *g2;
	struct vmsg_spsc_guard g[2];

	ring_alloc(&r, v, 8, 64, false);
	g1 = r.buf + OFF_GW1;
	g2 = r.buf + OFF_GW2;
	le32_put(g1, 0x0002514Fu);
	le32_put(g2, 7);
	g[0] = (struct vmsg_spsc_guard){ g1, 0xFFFFu, 0x514Fu, 0x514Fu };
	g[1] = (struct vmsg_spsc_guard){ g2, 0xFFFFFFFFu, 7, 7 };
	ring_init(&r);
	vmsg_spsc_cons_set_guard(&r.c, g, 2);
	vmsg_spsc_prod_set_guard(&r.p, g, 2);

	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	/* Bits outside the mask do not matter. */
	le32_put(g1, 0x0003514Fu);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), 0);
	/* A masked bit changes: ECONNRESET on every load of the peer index. */
	push_seq(&r, 0, 64);
	le32_put(g1, 0x0003514Eu);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_ECONNRESET);
	/* Not latched: restore it and the message is there. */
	le32_put(g1, 0x0002514Fu);
	pop_seq(&r, 0);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	/* The second guard word. */
	le32_put(g2, 8);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_ECONNRESET);
	le32_put(g2, 7);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), 0);
	/* A full producer reloads and so sees the guard. */
	for (uint32_t i = 0; i < 7; i++)
		push_seq(&r, i, 64);
	le32_put(g2, 9);
	make_msg(m, 64, 1);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_ECONNRESET);
	{
		void *slot;

		assert_int_equal(vmsg_spsc_reserve(&r.p, &slot), VMSG_ECONNRESET);
	}
	le32_put(g2, 7);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
	/* P = 0, C = 1: full, and the consumer has seen all 7. */
	assert_int_equal(mem_prod(&r), 0);
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 7);
	/* The guard comes before the index is used: a bad index seen with a
	 * failed guard is ECONNRESET, not a protocol violation. */
	le32_put(g2, 10);
	field_set(v, r.pf, 4); /* would take 4 messages back */
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_ECONNRESET);
	field_set(v, r.cf, 9); /* out of range */
	assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_ECONNRESET);
	/* Once the guard holds again, the bad index is a violation. */
	le32_put(g2, 7);
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_EPROTO);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), VMSG_EPROTO);
	/* Clearing the guards: the words no longer matter. */
	vmsg_spsc_prod_reset(&r.p, true);
	vmsg_spsc_cons_reset(&r.c);
	vmsg_spsc_cons_set_guard(&r.c, NULL, 0);
	vmsg_spsc_prod_set_guard(&r.p, NULL, 0);
	le32_put(g1, 0);
	le32_put(g2, 0);
	push_seq(&r, 42, 64);
	pop_seq(&r, 42);
	assert_int_equal(vmsg_spsc_prod_check(&r.p), 0);
	ring_free(&r);
}

/* A guard accepts either of its two values (e.g. a peer state READY or RUN,
 * as the lifecycle uses it), and nothing else under the mask. */
static void test_spsc_guard_two_values(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	uint8_t *g1;
	struct vmsg_spsc_guard g;

	ring_alloc(&r, v, 8, 64, false);
	g1 = r.buf + OFF_GW1;
	/* magic 0x514F in the low half, a 5-bit state above it */
	g = (struct vmsg_spsc_guard){ g1, 0x001FFFFFu, 0x0002514Fu, 0x0001514Fu };
	le32_put(g1, 0x0002514Fu);
	ring_init(&r);
	vmsg_spsc_cons_set_guard(&r.c, &g, 1);
	vmsg_spsc_prod_set_guard(&r.p, &g, 1);
	for (uint32_t st = 0; st < 32; st++) {
		int want = st == 1 || st == 2 ? 0 : VMSG_ECONNRESET;

		le32_put(g1, 0x514Fu | st << 16 | 0x80000000u); /* + a bit outside the mask */
		assert_int_equal(vmsg_spsc_cons_check(&r.c), want);
		assert_int_equal(vmsg_spsc_prod_check(&r.p), want);
	}
	le32_put(g1, 0x0001514Eu); /* right state, wrong magic */
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_ECONNRESET);
	le32_put(g1, 0); /* a zeroed word is not accepted */
	assert_int_equal(vmsg_spsc_cons_check(&r.c), VMSG_ECONNRESET);
	ring_free(&r);
}

/* The consumer checks the guard before it takes a slot it learned of from
 * an earlier index load (spsc.h, vmsg_spsc_cons_set_guard()): a restarted
 * peer must not have its old slots delivered. */
static void test_spsc_guard_before_cached_slot(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	uint8_t *g1, m[64];
	const void *slot;
	struct vmsg_spsc_guard g;

	ring_alloc(&r, v, 8, 64, false);
	g1 = r.buf + OFF_GW1;
	g = (struct vmsg_spsc_guard){ g1, 0xFFFFFFFFu, 41, 41 };
	le32_put(g1, 41);
	ring_init(&r);
	vmsg_spsc_cons_set_guard(&r.c, &g, 1);
	for (uint32_t i = 0; i < 4; i++)
		push_seq(&r, i, 64);
	pop_seq(&r, 0); /* the consumer now knows of 3 more */
	le32_put(g1, 42);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_ECONNRESET);
	assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_ECONNRESET);
	{
		void *bufs[2] = { m, m };

		assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 2), VMSG_ECONNRESET);
	}
	assert_int_equal(mem_cons(&r), 1); /* nothing was taken */
	le32_put(g1, 41);
	pop_seq(&r, 1);
	/* a slot already peeked stays valid; the next one is refused */
	{
		void *bufs[2] = { m, m };

		assert_int_equal(vmsg_spsc_peek(&r.c, &slot), 0);
		le32_put(g1, 40);
		assert_int_equal(vmsg_spsc_peek(&r.c, &slot), VMSG_ECONNRESET);
		assert_int_equal(vmsg_spsc_release(&r.c), 1);
		le32_put(g1, 41);
		assert_int_equal(vmsg_spsc_pop_batch(&r.c, bufs, 64, 2), 1);
		check_msg(m, 64, 3);
	}
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Cache maintenance hooks                                                */
/* ---------------------------------------------------------------------- */

enum {
	OP_CLEAN = 1,
	OP_INVAL = 2
};

struct call {
	int op;
	uintptr_t a;
	size_t n;
};

struct rec {
	struct call c[512];
	unsigned n;
};

static void rec_add(struct rec *rc, int op, const volatile void *addr, size_t len)
{
	assert_true(rc->n < sizeof(rc->c) / sizeof(rc->c[0]));
	rc->c[rc->n++] = (struct call){ op, (uintptr_t)addr, len };
}

static void hook_clean(void *ctx, const volatile void *addr, size_t len)
{
	rec_add(ctx, OP_CLEAN, addr, len);
}

static void hook_inval(void *ctx, const volatile void *addr, size_t len)
{
	rec_add(ctx, OP_INVAL, addr, len);
}

/* Is [a, a+n) inside one of the allowed ranges? */
static bool inside(uintptr_t a, size_t n, const uintptr_t (*ok)[2], unsigned nok)
{
	for (unsigned i = 0; i < nok; i++)
		if (a >= ok[i][0] && a + n <= ok[i][1])
			return true;
	return false;
}

/* Do the calls of kind op in [from, to) cover [lo, hi) completely? */
static bool covered(const struct rec *rc, unsigned from, unsigned to, int op, uintptr_t lo,
		    uintptr_t hi)
{
	for (uintptr_t x = lo; x < hi; x++) {
		bool hit = false;

		for (unsigned i = from; i < to && !hit; i++)
			hit = rc->c[i].op == op && x >= rc->c[i].a && x < rc->c[i].a + rc->c[i].n;
		if (!hit)
			return false;
	}
	return true;
}

/* Index of the last (or first) call of kind op touching [lo, hi), or -1. */
static int find_call(const struct rec *rc, int op, uintptr_t lo, uintptr_t hi, bool last)
{
	int found = -1;

	for (unsigned i = 0; i < rc->n; i++) {
		if (rc->c[i].op == op && rc->c[i].a < hi && rc->c[i].a + rc->c[i].n > lo) {
			found = (int)i;
			if (!last)
				break;
		}
	}
	return found;
}

static void test_spsc_cache_hooks_ranges(void **state)
{
	const struct variant *v = var(state);
	struct ring r;
	struct rec rc;
	struct vmsg_spsc_cache_ops ops = { hook_clean, hook_inval, &rc };
	uintptr_t s0, s0e, pw, cw, aw;
	uint8_t m[64];
	unsigned ib = v->w == W16_LE ? 2u : 4u;

	ring_alloc(&r, v, 4, 64, true);
	r.d.cache = &ops;
	if (VMSG_CONFIG_NO_CACHE_OPS)
		refused_then_skip(&r); /* no cache hooks in this build */
	memset(&rc, 0, sizeof(rc));
	ring_init(&r);
	s0 = (uintptr_t)slot_ptr(&r, 0);
	s0e = s0 + 64;
	pw = (uintptr_t)r.pw;
	cw = (uintptr_t)r.cw;
	aw = (uintptr_t)r.aw;

	/* push: cleans the whole slot (message + zeroed tail), then the
	 * producer index after it; nothing else. */
	rc.n = 0;
	make_msg(m, 10, 1);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 10), 0);
	{
		const uintptr_t ok[][2] = { { s0, s0e }, { pw, pw + 4 } };
		int last_slot, idx;

		for (unsigned i = 0; i < rc.n; i++)
			assert_true(inside(rc.c[i].a, rc.c[i].n, ok, 2));
		assert_true(covered(&rc, 0, rc.n, OP_CLEAN, s0, s0e));
		assert_true(covered(&rc, 0, rc.n, OP_CLEAN, (uintptr_t)r.pf, (uintptr_t)r.pf + ib));
		last_slot = find_call(&rc, OP_CLEAN, s0, s0e, true);
		idx = find_call(&rc, OP_CLEAN, pw, pw + 4, true);
		assert_true(last_slot >= 0 && idx > last_slot);
	}

	/* pop: invalidates the producer index (reload), then the slot bytes
	 * it copies, then cleans the consumer index. */
	rc.n = 0;
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), 64);
	{
		const uintptr_t ok[][2] = { { s0, s0e }, { pw, pw + 4 }, { cw, cw + 4 } };
		int inv_idx, inv_slot, cl_idx;

		for (unsigned i = 0; i < rc.n; i++)
			assert_true(inside(rc.c[i].a, rc.c[i].n, ok, 3));
		assert_true(covered(&rc, 0, rc.n, OP_INVAL, (uintptr_t)r.pf, (uintptr_t)r.pf + ib));
		assert_true(covered(&rc, 0, rc.n, OP_INVAL, s0, s0e));
		assert_true(covered(&rc, 0, rc.n, OP_CLEAN, (uintptr_t)r.cf, (uintptr_t)r.cf + ib));
		inv_idx = find_call(&rc, OP_INVAL, pw, pw + 4, false);
		inv_slot = find_call(&rc, OP_INVAL, s0, s0e, false);
		cl_idx = find_call(&rc, OP_CLEAN, cw, cw + 4, true);
		assert_true(inv_idx >= 0 && inv_slot > inv_idx && cl_idx > inv_slot);
		/* No slot is cleaned by the consumer (it never writes them). */
		assert_int_equal(find_call(&rc, OP_CLEAN, s0, s0e, false), -1);
	}

	/* pop with a small cap invalidates at least what it copies. */
	push_seq(&r, 2, 64);
	rc.n = 0;
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 12), 12);
	{
		uintptr_t s1 = (uintptr_t)slot_ptr(&r, 1);

		assert_true(covered(&rc, 0, rc.n, OP_INVAL, s1, s1 + 12));
	}

	/* need_kick reads the awake word: invalidate it first. */
	push_seq(&r, 3, 64);
	rc.n = 0;
	(void)vmsg_spsc_prod_need_kick(&r.p);
	assert_true(covered(&rc, 0, rc.n, OP_INVAL, aw, aw + 4));
	/* arm and awake write it: clean it. */
	rc.n = 0;
	vmsg_spsc_cons_awake(&r.c);
	assert_true(covered(&rc, 0, rc.n, OP_CLEAN, aw, aw + 4));
	rc.n = 0;
	assert_int_equal(vmsg_spsc_cons_arm(&r.c), 1);
	assert_true(covered(&rc, 0, rc.n, OP_CLEAN, aw, aw + 4));
	assert_true(covered(&rc, 0, rc.n, OP_INVAL, (uintptr_t)r.pf, (uintptr_t)r.pf + ib));

	/* A producer that finds the ring full invalidates the consumer index. */
	push_seq(&r, 4, 64);
	push_seq(&r, 5, 64);
	rc.n = 0;
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
	assert_true(covered(&rc, 0, rc.n, OP_INVAL, (uintptr_t)r.cf, (uintptr_t)r.cf + ib));
	assert_int_equal(
		find_call(&rc, OP_CLEAN, (uintptr_t)r.slots, (uintptr_t)r.slots + 4 * 64, false),
		-1);

	/* Producer reset with zeroing cleans the whole slot array. */
	rc.n = 0;
	vmsg_spsc_prod_reset(&r.p, true);
	assert_true(
		covered(&rc, 0, rc.n, OP_CLEAN, (uintptr_t)r.slots, (uintptr_t)r.slots + 4 * 64));
	assert_true(covered(&rc, 0, rc.n, OP_CLEAN, (uintptr_t)r.pf, (uintptr_t)r.pf + ib));
	for (size_t i = 0; i < 4 * 64; i++)
		assert_int_equal(r.slots[i], 0);
	r.d.cache = NULL;
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Statistics                                                             */
/* ---------------------------------------------------------------------- */

/* The counters follow the caching rule of the protocol: the peer's index is
 * reloaded only when the cache says full (producer) or empty (consumer). */
static void test_spsc_stats_counters(void **state)
{
	struct ring r;
	struct vmsg_spsc_stats p0, c0;
	uint8_t m[64];

	ring_alloc(&r, var(state), 8, 64, false);
	ring_init(&r);
	p0 = r.p.stats;
	c0 = r.c.stats;
	for (uint32_t i = 0; i < 7; i++)
		push_seq(&r, i, 64);
	/* 7 pushes into an empty ring: no reload needed (cache says C = 0). */
	assert_int_equal(r.p.stats.msgs - p0.msgs, 7);
	assert_int_equal(r.p.stats.publishes - p0.publishes, 7);
	assert_int_equal(r.p.stats.peer_loads - p0.peer_loads, 0);
	assert_int_equal(r.p.stats.full_or_empty - p0.full_or_empty, 0);
	make_msg(m, 64, 0);
	assert_int_equal(vmsg_spsc_push(&r.p, m, 64), VMSG_EAGAIN);
	assert_int_equal(r.p.stats.peer_loads - p0.peer_loads, 1);
	assert_int_equal(r.p.stats.full_or_empty - p0.full_or_empty, 1);
	assert_int_equal(r.p.stats.msgs - p0.msgs, 7);
	assert_int_equal(r.p.stats.publishes - p0.publishes, 7);

	/* The first pop reloads (cache empty), the next six use the cache,
	 * the eighth reloads and finds the ring empty. */
	for (uint32_t i = 0; i < 7; i++)
		pop_seq(&r, i);
	assert_int_equal(r.c.stats.peer_loads - c0.peer_loads, 1);
	assert_int_equal(r.c.stats.msgs - c0.msgs, 7);
	assert_int_equal(r.c.stats.publishes - c0.publishes, 7);
	assert_int_equal(r.c.stats.full_or_empty - c0.full_or_empty, 0);
	assert_int_equal(vmsg_spsc_pop(&r.c, m, 64), VMSG_EAGAIN);
	assert_int_equal(r.c.stats.peer_loads - c0.peer_loads, 2);
	assert_int_equal(r.c.stats.full_or_empty - c0.full_or_empty, 1);

	/* The producer now finds room after one reload. */
	push_seq(&r, 7, 64);
	assert_int_equal(r.p.stats.peer_loads - p0.peer_loads, 2);
	assert_int_equal(r.p.stats.full_or_empty - p0.full_or_empty, 1);
	/* Kicks: no awake word, so every ask is a kick. */
	assert_int_equal(r.p.stats.kicks, p0.kicks);
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_true(vmsg_spsc_prod_need_kick(&r.p));
	assert_int_equal(r.p.stats.kicks - p0.kicks, 2);
	/* The consumer never kicks. */
	assert_int_equal(r.c.stats.kicks, c0.kicks);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Reset                                                                  */
/* ---------------------------------------------------------------------- */

static void test_spsc_reset(void **state)
{
	struct ring r;
	void *slot;

	ring_alloc(&r, var(state), 8, 64, true);
	ring_init(&r);
	for (uint32_t i = 0; i < 3; i++)
		push_seq(&r, i, 64);
	assert_int_equal(vmsg_spsc_reserve(&r.p, &slot), 0); /* dropped by reset */
	pop_seq(&r, 0);
	vmsg_spsc_cons_awake(&r.c);
	vmsg_spsc_prod_reset(&r.p, true);
	vmsg_spsc_cons_reset(&r.c);
	assert_int_equal(mem_prod(&r), 0);
	assert_int_equal(mem_cons(&r), 0);
	/* the consumer is armed again with the token after its last (2), the
	 * producer has kicked for nothing */
	assert_int_equal(awake_get(&r), 4);
	assert_int_equal(kicked_get(&r), 0);
	for (size_t i = 0; i < (size_t)8 * 64; i++)
		assert_int_equal(r.slots[i], 0);
	assert_int_equal(vmsg_spsc_commit(&r.p), 0); /* reservation gone */
	assert_int_equal(vmsg_spsc_cons_pending(&r.c), 0);
	push_seq(&r, 9, 64); /* no EBUSY */
	pop_seq(&r, 9);
	/* Reset without zeroing leaves the slots alone. */
	push_seq(&r, 10, 64);
	pop_seq(&r, 10);
	vmsg_spsc_prod_reset(&r.p, false);
	vmsg_spsc_cons_reset(&r.c);
	check_msg(slot_ptr(&r, 1), 64, 10);
	ring_free(&r);
}

/* ---------------------------------------------------------------------- */
/* Test table                                                             */
/* ---------------------------------------------------------------------- */

struct tdef {
	const char *name;
	CMUnitTestFunction fn;
	bool per_variant;
};

#define T(f, pv)          \
	{                 \
#f, f, pv \
	}

static const struct tdef tdefs[] = {
	T(test_spsc_empty_full_one_slot_free, true),
	T(test_spsc_wraparound_many_cycles, true),
	T(test_spsc_push_zero_fills_slot_tail, true),
	T(test_spsc_tail_zeroed_after_unknown_contents, true),
	T(test_spsc_batch_long_runs, true),
	T(test_spsc_batch_long_runs_streaming, true),
	T(test_spsc_push_emsgsize, true),
	T(test_spsc_reserve_commit, true),
	T(test_spsc_slot_write_read, true),
	T(test_spsc_peek_release, true),
	T(test_spsc_batch_single_publication, true),
	T(test_spsc_pop_small_cap, true),
	T(test_spsc_pending, true),
	T(test_spsc_desc_check_rejects, false),
	T(test_spsc_init_reset_publishes_zero, true),
	T(test_spsc_init_resume, true),
	T(test_spsc_init_resume_out_of_range, true),
	T(test_spsc_init_resync_producer, true),
	T(test_spsc_init_resync_consumer, true),
	T(test_spsc_init_resync_out_of_range, true),
	T(test_spsc_cons_rejects_bad_producer_index, true),
	T(test_spsc_peek_detects_rewind, true),
	T(test_spsc_prod_rejects_bad_consumer_index, true),
	T(test_spsc_legal_extremes_accepted, true),
	T(test_spsc_own_index_private, true),
	T(test_spsc_kick_without_awake_word, true),
	T(test_spsc_kick_awake_word, true),
	T(test_spsc_kick_token_skips_kicked, true),
	T(test_spsc_kick_without_kicked_word, true),
	T(test_spsc_arm_rechecks_memory, true),
	T(test_spsc_guard_mismatch_connreset, true),
	T(test_spsc_guard_two_values, true),
	T(test_spsc_guard_before_cached_slot, true),
	T(test_spsc_cache_hooks_ranges, true),
	T(test_spsc_stats_counters, true),
	T(test_spsc_reset, true),
};
#define NTDEFS (sizeof(tdefs) / sizeof(tdefs[0]))

int main(void)
{
	static struct CMUnitTest tests[NTDEFS * NVARIANTS];
	static char names[NTDEFS * NVARIANTS][96];
	size_t n = 0;

	for (size_t t = 0; t < NTDEFS; t++) {
		size_t nv = tdefs[t].per_variant ? NVARIANTS : 1;

		for (size_t v = 0; v < nv; v++) {
			snprintf(names[n], sizeof(names[n]), "%s[%s]", tdefs[t].name,
				 variants[v].name);
			tests[n] = (struct CMUnitTest){ names[n], tdefs[t].fn, NULL, teardown_live,
							(void *)&variants[v] };
			n++;
		}
	}
	return _cmocka_run_group_tests("spsc", tests, n, NULL, NULL);
}
