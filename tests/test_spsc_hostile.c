/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SPSC ring against a hostile peer. Between operations the test, playing
 * the peer, writes pseudo-random values (fixed seeds) into every word the
 * peer owns: its index (honest moves, take-backs, rewinds, moves past the
 * producer, out-of-range and arbitrary values, garbage in the other half of
 * a 16-bit index word), its guard word, the awake word (hostile consumer),
 * the kicked word (hostile producer) and the slots (hostile producer).
 *
 * A reference model of docs/ring-protocol.md predicts every return value:
 *  - the peer's index is reloaded only when the cache says full (producer)
 *    or empty (consumer), and always by check/pending;
 *  - the guard is checked on every reload before the index is used, and by
 *    the consumer before it takes a slot it learned of earlier (ECONNRESET,
 *    not latched; spsc.h, vmsg_spsc_cons_set_guard());
 *  - consumer: P < N and (P - C) mod N does not shrink below what was seen;
 *    producer: C < N and (C_new - C_seen) mod N <= (P - C_seen) mod N;
 *  - a violation returns VMSG_EPROTO and latches until reset;
 *  - kicks: the producer kicks for an awake word of 0, never for an odd one,
 *    and once for each even token (then names it in its kicked word); the
 *    consumer arms with the next even token after its last, skipping 0 and
 *    whatever the producer's kicked word says, and marks itself polling
 *    with its token | 1.
 * The model is the protocol, not the library: any divergence fails.
 *
 * Every run also checks that the endpoint never writes a word the peer owns
 * and that nothing outside the ring memory is touched: the region is either
 * a heap block of exactly its size (ASan/UBSan in CI catch any stray access;
 * the slots are last, so slot N would be past the end) or embedded between
 * canary bytes that are checked at the end.
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
/* Random numbers (xorshift64*, fixed seeds)                              */
/* ---------------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

/* ---------------------------------------------------------------------- */
/* Configuration and region                                               */
/* ---------------------------------------------------------------------- */

enum width {
	W32_HOST,
	W32_LE,
	W16_LE
};
enum role {
	ROLE_CONS,
	ROLE_PROD
}; /* the endpoint under test */
enum alloc {
	ALLOC_EXACT,
	ALLOC_CANARY
};

struct variant {
	uint8_t mem;
	enum width w;
	enum role role;
	const char *name;
};

static const struct variant variants[] = {
	{ VMSG_SPSC_MEM_COHERENT, W32_HOST, ROLE_CONS, "cons/coherent/host32" },
	{ VMSG_SPSC_MEM_COHERENT, W32_LE, ROLE_CONS, "cons/coherent/le32" },
	{ VMSG_SPSC_MEM_COHERENT, W16_LE, ROLE_CONS, "cons/coherent/le16" },
	{ VMSG_SPSC_MEM_DEVICE, W32_HOST, ROLE_CONS, "cons/device/host32" },
	{ VMSG_SPSC_MEM_DEVICE, W32_LE, ROLE_CONS, "cons/device/le32" },
	{ VMSG_SPSC_MEM_DEVICE, W16_LE, ROLE_CONS, "cons/device/le16" },
	{ VMSG_SPSC_MEM_COHERENT, W32_HOST, ROLE_PROD, "prod/coherent/host32" },
	{ VMSG_SPSC_MEM_COHERENT, W32_LE, ROLE_PROD, "prod/coherent/le32" },
	{ VMSG_SPSC_MEM_COHERENT, W16_LE, ROLE_PROD, "prod/coherent/le16" },
	{ VMSG_SPSC_MEM_DEVICE, W32_HOST, ROLE_PROD, "prod/device/host32" },
	{ VMSG_SPSC_MEM_DEVICE, W32_LE, ROLE_PROD, "prod/device/le32" },
	{ VMSG_SPSC_MEM_DEVICE, W16_LE, ROLE_PROD, "prod/device/le16" },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

/* Whether this build has the variant's memory mode and index width
 * (config.h); a variant it left out is checked to be refused, then skipped. */
static bool variant_compiled(const struct variant *v)
{
	bool mem = v->mem == VMSG_SPSC_MEM_DEVICE ? VMSG_CONFIG_HAS_MEM_DEVICE :
						    VMSG_CONFIG_HAS_MEM_COHERENT;

	return mem && (v->w == W16_LE ? VMSG_CONFIG_HAS_INDEX16 : VMSG_CONFIG_HAS_INDEX32);
}

#define ITERATIONS 4000
#define CANARY 256u
#define CANARY_BYTE 0xCDu
static const uint64_t seeds[] = { 0x1234567ull, 0xDEADBEEFCAFEull, 0x9E3779B97F4A7C15ull };

/*
 * Region layout (the slots last, so a slot index N lands past the end):
 *   +0  producer index word (16-bit: low half; high half producer-owned)
 *   +4  consumer index word (16-bit: high half; low half consumer-owned)
 *   +8  awake word (consumer)
 *   +12 guard word (the peer's)
 *   +16 kicked word (producer)
 *   +20 slots
 */
#define OFF_PW 0u
#define OFF_CW 4u
#define OFF_AW 8u
#define OFF_GW 12u
#define OFF_KW 16u
#define OFF_SLOTS 20u
#define GUARD_MASK 0xFFu
#define GUARD_OK 0x5Au
#define GUARD_ALT 0xA5u /* the second accepted value */

/* What was allocated (freed by the teardown if an assertion ends a run). */
static uint8_t *block, *scratch;

struct ctx {
	const struct variant *v;
	enum alloc alloc;
	uint64_t seed;
	uint32_t n, ss, max;
	uint8_t *r; /* region */
	size_t size;
	uint8_t *pf, *cf;
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_prod p;
	struct vmsg_spsc_cons c;
	/* the model */
	uint32_t own, pub, seen; /* own index incl. reserved/peeked, published, peer seen */
	bool broken;
	uint32_t tok;    /* consumer role: the consumer's current token */
	uint32_t kicked; /* producer role: the token it last kicked for */
	/* coverage counters: the run must really exercise these */
	unsigned eproto_oor, eproto_back, connreset, msgs, eagain;
	int iter;
	const char *op;
};

static uint32_t field_get(const struct ctx *x, const uint8_t *p)
{
	uint32_t v;

	switch (x->v->w) {
	case W32_HOST:
		memcpy(&v, p, 4);
		return v;
	case W32_LE:
		return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 24;
	default:
		return (uint32_t)p[0] | (uint32_t)p[1] << 8;
	}
}

static void field_set(const struct ctx *x, uint8_t *p, uint32_t v)
{
	switch (x->v->w) {
	case W32_HOST:
		memcpy(p, &v, 4);
		break;
	case W32_LE:
	default:
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		if (x->v->w == W32_LE) {
			p[2] = (uint8_t)(v >> 16);
			p[3] = (uint8_t)(v >> 24);
		}
		break;
	}
}

/* Kick words (awake, kicked) are stored in the byte order of the indices. */
static uint32_t kword_get(const struct ctx *x, const uint8_t *p)
{
	uint32_t v;

	if (x->v->w == W32_HOST) {
		memcpy(&v, p, 4);
		return v;
	}
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void kword_set(const struct ctx *x, uint8_t *p, uint32_t v)
{
	if (x->v->w == W32_HOST) {
		memcpy(p, &v, 4);
		return;
	}
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The consumer's next token: even, after its last, never 0, never the
 * producer's kicked word as it reads now. */
static uint32_t model_next_token(const struct ctx *x)
{
	uint32_t kicked = kword_get(x, x->r + OFF_KW), t = x->tok;

	do
		t = (t + 2u) & ~1u;
	while (t == 0 || t == kicked);
	return t;
}

static uint32_t dist(uint32_t a, uint32_t b, uint32_t n)
{
	return b >= a ? b - a : b + n - a;
}

static uint32_t nxt(uint32_t i, uint32_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

static uint8_t *slot(const struct ctx *x, uint32_t i)
{
	return x->r + OFF_SLOTS + (size_t)i * x->ss;
}

/* Peer-owned bytes, to prove the endpoint never writes them. */
struct peer_snap {
	uint8_t words[OFF_SLOTS];
	uint8_t *slots;
};

static void snap_take(const struct ctx *x, struct peer_snap *s)
{
	memcpy(s->words, x->r, OFF_SLOTS);
	if (x->v->role == ROLE_CONS)
		memcpy(s->slots, x->r + OFF_SLOTS, (size_t)x->n * x->ss);
}

static void fail_here(const struct ctx *x, const char *what, long got, long want)
{
	print_error("%s [%s alloc=%s seed=%#llx N=%u S=%u iter=%d op=%s]: got %ld, expected %ld\n",
		    what, x->v->name, x->alloc == ALLOC_EXACT ? "exact" : "canary",
		    (unsigned long long)x->seed, x->n, x->ss, x->iter, x->op ? x->op : "-", got,
		    want);
	fail();
}

#define EXPECT(x, got, want)                              \
	do {                                              \
		long g_ = (long)(got), w_ = (long)(want); \
		if (g_ != w_)                             \
			fail_here((x), #got, g_, w_);     \
	} while (0)

static void snap_check(const struct ctx *x, const struct peer_snap *s)
{
	/* The consumer owns its index word (and awake); the producer owns its
	 * index word (and kicked). Everything else of the peer's must be
	 * untouched. */
	if (x->v->role == ROLE_CONS) {
		EXPECT(x, memcmp(s->words + OFF_PW, x->r + OFF_PW, 4), 0);
		EXPECT(x, memcmp(s->words + OFF_KW, x->r + OFF_KW, 4), 0);
		EXPECT(x, memcmp(s->slots, x->r + OFF_SLOTS, (size_t)x->n * x->ss), 0);
	} else {
		EXPECT(x, memcmp(s->words + OFF_CW, x->r + OFF_CW, 4), 0);
		EXPECT(x, memcmp(s->words + OFF_AW, x->r + OFF_AW, 4), 0);
	}
	EXPECT(x, memcmp(s->words + OFF_GW, x->r + OFF_GW, 4), 0);
}

static bool guard_ok(const struct ctx *x)
{
	uint8_t g = x->r[OFF_GW] & GUARD_MASK; /* LE: the low byte comes first */

	return g == GUARD_OK || g == GUARD_ALT;
}

/* ---------------------------------------------------------------------- */
/* The model's reload of the peer's index                                 */
/* ---------------------------------------------------------------------- */

static int model_reload(struct ctx *x)
{
	uint32_t v;

	if (x->v->role == ROLE_CONS) {
		v = field_get(x, x->pf);
		if (!guard_ok(x)) {
			x->connreset++;
			return VMSG_ECONNRESET;
		}
		if (v >= x->n || dist(x->pub, v, x->n) < dist(x->pub, x->seen, x->n)) {
			if (v >= x->n)
				x->eproto_oor++;
			else
				x->eproto_back++;
			x->broken = true;
			return VMSG_EPROTO;
		}
	} else {
		v = field_get(x, x->cf);
		if (!guard_ok(x)) {
			x->connreset++;
			return VMSG_ECONNRESET;
		}
		if (v >= x->n || dist(x->seen, v, x->n) > dist(x->seen, x->pub, x->n)) {
			if (v >= x->n)
				x->eproto_oor++;
			else
				x->eproto_back++;
			x->broken = true;
			return VMSG_EPROTO;
		}
	}
	x->seen = v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The hostile peer                                                       */
/* ---------------------------------------------------------------------- */

static uint32_t any_value(const struct ctx *x)
{
	return x->max == 0xFFFFu ? rnd() & 0xFFFFu : rnd();
}

static uint32_t out_of_range(const struct ctx *x)
{
	switch (rnd_below(4)) {
	case 0:
		return x->n;
	case 1:
		return x->max;
	default:
		return x->n + rnd_below(x->max - x->n) + (rnd() & 1);
	}
}

static void hostile_write(struct ctx *x)
{
	uint32_t k = rnd_below(100), v;
	uint8_t *f = x->v->role == ROLE_CONS ? x->pf : x->cf;

	if (k < 1) {
		/* break the guard (a random byte, rarely the right one) */
		x->r[OFF_GW] = (uint8_t)rnd();
		return;
	}
	if (k < 10) {
		/* garbage outside the guarded bits: must not matter; and the
		 * guard comes back, with either accepted value */
		x->r[OFF_GW + 1 + rnd_below(3)] = (uint8_t)rnd();
		x->r[OFF_GW] = rnd() & 1 ? GUARD_OK : GUARD_ALT;
		return;
	}
	if (x->v->role == ROLE_CONS) {
		uint32_t filled = dist(x->pub, x->seen, x->n);

		if (k < 75) /* honest: anything not smaller than what was seen */
			v = (x->pub + filled + rnd_below(x->n - filled)) % x->n;
		else if (k < 85 && filled) /* take back published messages */
			v = (x->pub + rnd_below(filled)) % x->n;
		else if (k < 93)
			v = out_of_range(x);
		else
			v = any_value(x);
	} else {
		uint32_t room = dist(x->seen, x->pub, x->n);

		if (k < 75) /* honest: forward, at most up to P */
			v = (x->seen + rnd_below(room + 1)) % x->n;
		else if (k < 85 && room + 1 < x->n) /* backwards, or past P */
			v = (x->seen + room + 1 + rnd_below(x->n - room - 1)) % x->n;
		else if (k < 93)
			v = out_of_range(x);
		else
			v = any_value(x);
	}
	field_set(x, f, v);
	if (x->v->w == W16_LE && rnd() % 4 == 0) {
		/* garbage in the peer's other half of the index word */
		uint8_t *other = x->v->role == ROLE_CONS ? x->pf + 2 : x->cf - 2;

		other[0] = (uint8_t)rnd();
		other[1] = (uint8_t)rnd();
	}
	if (x->v->role == ROLE_PROD && rnd() % 3 == 0) {
		/* the awake word is the consumer's: anything, often a token the
		 * producer kicked for already */
		uint32_t a = rnd() % 3 == 0 ? 0 : rnd() % 2 ? x->kicked : rnd();

		kword_set(x, x->r + OFF_AW, a);
	}
	if (x->v->role == ROLE_CONS && rnd() % 3 == 0) {
		/* the kicked word is the producer's: anything, often the
		 * consumer's next token */
		uint32_t a = rnd() % 2 ? model_next_token(x) : rnd();

		kword_set(x, x->r + OFF_KW, a);
	}
}

static void hostile_slots(struct ctx *x)
{
	uint32_t i = rnd_below(x->n);

	for (uint32_t b = 0; b < x->ss; b++)
		slot(x, i)[b] = (uint8_t)rnd();
}

/* ---------------------------------------------------------------------- */
/* Consumer under test                                                    */
/* ---------------------------------------------------------------------- */

/* The model of one peek: 0 and the slot, or an error. */
static int model_peek(struct ctx *x, uint32_t *at)
{
	if (x->broken)
		return VMSG_EPROTO;
	if (x->own != x->seen && !guard_ok(x)) {
		/* a slot learned of earlier: the peer must still be the same */
		x->connreset++;
		return VMSG_ECONNRESET;
	}
	if (x->own == x->seen) {
		int err = model_reload(x);

		if (err)
			return err;
		if (x->own == x->seen) {
			x->eagain++;
			return VMSG_EAGAIN;
		}
	}
	*at = x->own;
	x->own = nxt(x->own, x->n);
	return 0;
}

static void cons_step(struct ctx *x, uint8_t *slots_before)
{
	uint8_t out[8][80];
	uint32_t k = rnd_below(100), at = 0;
	int got, want;

	memcpy(slots_before, x->r + OFF_SLOTS, (size_t)x->n * x->ss);
	if (x->own != x->pub && (k < 45 || x->broken)) {
		/* peeked slots outstanding: release them (not after a latch) */
		if (x->broken) {
			const void *sp;

			x->op = "peek";
			got = vmsg_spsc_peek(&x->c, &sp);
			EXPECT(x, got, VMSG_EPROTO);
			return;
		}
		x->op = "release";
		want = (int)dist(x->pub, x->own, x->n);
		got = vmsg_spsc_release(&x->c);
		EXPECT(x, got, want);
		x->pub = x->own;
		x->msgs += (unsigned)want;
	} else if (k < 35 && x->own == x->pub) {
		size_t cap = 1 + rnd_below(x->ss + 8);

		x->op = "pop";
		memset(out[0], 0xEE, sizeof(out[0]));
		want = model_peek(x, &at);
		got = vmsg_spsc_pop(&x->c, out[0], cap);
		if (want == 0) {
			size_t len = cap < x->ss ? cap : x->ss;

			want = (int)len;
			EXPECT(x, got, want);
			EXPECT(x, memcmp(out[0], slots_before + (size_t)at * x->ss, len), 0);
			EXPECT(x, out[0][len], 0xEE);
			x->pub = x->own;
			x->msgs++;
		} else {
			EXPECT(x, got, want);
		}
	} else if (k < 50 && x->own == x->pub) {
		unsigned nb = 1 + rnd_below(8), done = 0;
		uint32_t ats[8];
		void *bufs[8];
		size_t cap = 1 + rnd_below(x->ss + 8);
		int err = 0;

		x->op = "pop_batch";
		for (unsigned i = 0; i < 8; i++) {
			memset(out[i], 0xEE, sizeof(out[i]));
			bufs[i] = out[i];
		}
		for (; done < nb; done++) {
			err = model_peek(x, &ats[done]);
			if (err)
				break;
		}
		want = done ? (int)done : (err == VMSG_EAGAIN ? 0 : err);
		got = vmsg_spsc_pop_batch(&x->c, bufs, cap, nb);
		EXPECT(x, got, want);
		for (unsigned i = 0; i < done; i++) {
			size_t len = cap < x->ss ? cap : x->ss;

			EXPECT(x, memcmp(out[i], slots_before + (size_t)ats[i] * x->ss, len), 0);
			EXPECT(x, out[i][len], 0xEE);
		}
		x->pub = x->own;
		x->msgs += done;
	} else if (k < 65) {
		const void *sp = NULL;

		x->op = "peek";
		want = model_peek(x, &at);
		got = vmsg_spsc_peek(&x->c, &sp);
		EXPECT(x, got, want);
		if (want == 0)
			EXPECT(x, (const uint8_t *)sp == slot(x, at), 1);
	} else if (k < 75 && x->own == x->pub) {
		x->op = "pending";
		want = x->broken ? VMSG_EPROTO : model_reload(x);
		if (want == 0)
			want = (int)dist(x->own, x->seen, x->n);
		got = vmsg_spsc_cons_pending(&x->c);
		EXPECT(x, got, want);
	} else if (k < 85) {
		x->op = "check";
		want = x->broken ? VMSG_EPROTO : model_reload(x);
		got = vmsg_spsc_cons_check(&x->c);
		EXPECT(x, got, want);
	} else if (k < 95 && x->own == x->seen) {
		/* arm re-checks the ring; called when the cache says empty so the
		 * protocol's "load P" always happens */
		x->op = "arm";
		if (x->broken) {
			want = VMSG_EPROTO;
		} else {
			/* the token is published before the re-check */
			x->tok = model_next_token(x);
			want = model_reload(x);
			if (want == 0)
				want = x->own == x->seen ? 0 : 1;
		}
		got = vmsg_spsc_cons_arm(&x->c);
		EXPECT(x, got, want);
		if (!x->broken) {
			/* armed (even token), or polling again if not empty */
			EXPECT(x, kword_get(x, x->r + OFF_AW), got == 1 ? x->tok | 1 : x->tok);
		}
	} else {
		x->op = "awake";
		vmsg_spsc_cons_awake(&x->c);
		EXPECT(x, kword_get(x, x->r + OFF_AW), x->tok | 1);
	}
}

/* ---------------------------------------------------------------------- */
/* Producer under test                                                    */
/* ---------------------------------------------------------------------- */

static int model_reserve(struct ctx *x, uint32_t *at)
{
	if (x->broken)
		return VMSG_EPROTO;
	if (nxt(x->own, x->n) == x->seen) {
		int err = model_reload(x);

		if (err)
			return err;
		if (nxt(x->own, x->n) == x->seen) {
			x->eagain++;
			return VMSG_EAGAIN;
		}
	}
	*at = x->own;
	x->own = nxt(x->own, x->n);
	return 0;
}

static void check_slot(struct ctx *x, uint32_t at, const uint8_t *m, size_t len)
{
	EXPECT(x, memcmp(slot(x, at), m, len), 0);
	for (size_t i = len; i < x->ss; i++)
		EXPECT(x, slot(x, at)[i], 0);
}

static void prod_step(struct ctx *x)
{
	uint8_t m[8][80];
	uint32_t k = rnd_below(100), at = 0;
	int got, want;

	for (unsigned i = 0; i < 8; i++)
		for (unsigned b = 0; b < sizeof(m[i]); b++)
			m[i][b] = (uint8_t)rnd();
	if (k < 35) {
		size_t len = rnd_below(x->ss + 1);

		x->op = "push";
		if (!x->broken && rnd() % 10 == 0)
			len = x->ss + 1 + rnd_below(16); /* too large */
		if (len > x->ss) {
			want = VMSG_EMSGSIZE;
		} else {
			want = model_reserve(x, &at);
			if (want == 0)
				x->pub = x->own;
		}
		got = vmsg_spsc_push(&x->p, m[0], len);
		EXPECT(x, got, want);
		if (want == 0) {
			check_slot(x, at, m[0], len);
			x->msgs++;
		}
	} else if (k < 50) {
		unsigned nb = 1 + rnd_below(8), done = 0;
		const void *msgs[8];
		size_t lens[8];
		uint32_t ats[8];
		int err = 0;

		x->op = "push_batch";
		for (unsigned i = 0; i < 8; i++) {
			msgs[i] = m[i];
			lens[i] = rnd_below(x->ss + 1);
		}
		for (; done < nb; done++) {
			err = model_reserve(x, &ats[done]);
			if (err)
				break;
		}
		want = done ? (int)done : (err == VMSG_EAGAIN ? 0 : err);
		got = vmsg_spsc_push_batch(&x->p, msgs, lens, nb);
		EXPECT(x, got, want);
		for (unsigned i = 0; i < done; i++)
			check_slot(x, ats[i], m[i], lens[i]);
		x->pub = x->own;
		x->msgs += done;
	} else if (k < 65) {
		unsigned nb = 1 + rnd_below(4), done = 0;
		uint32_t ats[4];

		x->op = "reserve";
		for (; done < nb; done++) {
			void *sp = NULL;

			want = model_reserve(x, &ats[done]);
			got = vmsg_spsc_reserve(&x->p, &sp);
			EXPECT(x, got, want);
			if (want)
				break;
			EXPECT(x, (uint8_t *)sp == slot(x, ats[done]), 1);
			vmsg_spsc_slot_write(&x->p.d, sp, m[done], x->ss);
		}
		if (x->broken)
			return; /* reservations stay; the latch path resets */
		x->op = "commit";
		got = vmsg_spsc_commit(&x->p);
		EXPECT(x, got, (int)done);
		for (unsigned i = 0; i < done; i++)
			check_slot(x, ats[i], m[i], x->ss);
		x->pub = x->own;
		x->msgs += done;
	} else if (k < 75) {
		uint32_t a, k0 = kword_get(x, x->r + OFF_KW);
		bool kick, want_kick;

		x->op = "need_kick";
		a = kword_get(x, x->r + OFF_AW);
		want_kick = a == 0 || (a % 2 == 0 && a != x->kicked);
		kick = vmsg_spsc_prod_need_kick(&x->p);
		EXPECT(x, kick, want_kick);
		if (want_kick && a != 0)
			x->kicked = a;
		/* the kicked word changes only when a new token is kicked */
		EXPECT(x, kword_get(x, x->r + OFF_KW), want_kick && a != 0 ? a : k0);
	} else {
		x->op = "check";
		want = x->broken ? VMSG_EPROTO : model_reload(x);
		got = vmsg_spsc_prod_check(&x->p);
		EXPECT(x, got, want);
	}
}

/* ---------------------------------------------------------------------- */
/* Latch: once EPROTO, every call says so until reset                     */
/* ---------------------------------------------------------------------- */

static void latched_calls(struct ctx *x)
{
	uint8_t m[80] = { 0 };
	int rounds = 1 + (int)rnd_below(4);

	for (int i = 0; i < rounds; i++) {
		hostile_write(x); /* whatever the peer does now */
		if (rnd() % 2)
			field_set(x, x->v->role == ROLE_CONS ? x->pf : x->cf, 0);
		if (x->v->role == ROLE_CONS) {
			const void *sp;
			void *bufs[1] = { m };

			x->op = "latched check";
			EXPECT(x, vmsg_spsc_cons_check(&x->c), VMSG_EPROTO);
			x->op = "latched pending";
			EXPECT(x, vmsg_spsc_cons_pending(&x->c), VMSG_EPROTO);
			x->op = "latched peek";
			EXPECT(x, vmsg_spsc_peek(&x->c, &sp), VMSG_EPROTO);
			x->op = "latched arm";
			EXPECT(x, vmsg_spsc_cons_arm(&x->c), VMSG_EPROTO);
			if (x->own == x->pub) {
				x->op = "latched pop";
				EXPECT(x, vmsg_spsc_pop(&x->c, m, sizeof(m)), VMSG_EPROTO);
				x->op = "latched pop_batch";
				EXPECT(x, vmsg_spsc_pop_batch(&x->c, bufs, sizeof(m), 1),
				       VMSG_EPROTO);
			}
		} else {
			void *sp;
			const void *msgs[1] = { m };
			size_t lens[1] = { 4 };

			x->op = "latched check";
			EXPECT(x, vmsg_spsc_prod_check(&x->p), VMSG_EPROTO);
			x->op = "latched reserve";
			EXPECT(x, vmsg_spsc_reserve(&x->p, &sp), VMSG_EPROTO);
			if (x->own == x->pub) {
				x->op = "latched push";
				EXPECT(x, vmsg_spsc_push(&x->p, m, 4), VMSG_EPROTO);
				x->op = "latched push_batch";
				EXPECT(x, vmsg_spsc_push_batch(&x->p, msgs, lens, 1), VMSG_EPROTO);
			}
		}
	}
	/* Reset: index 0 published, latch cleared. The peer follows. */
	if (x->v->role == ROLE_CONS) {
		x->tok = kword_get(x, x->r + OFF_AW) & ~1u;
		x->tok = model_next_token(x);
		vmsg_spsc_cons_reset(&x->c);
		EXPECT(x, field_get(x, x->cf), 0);
		EXPECT(x, kword_get(x, x->r + OFF_AW), x->tok); /* armed again */
	} else {
		bool zero = rnd() & 1;

		vmsg_spsc_prod_reset(&x->p, zero);
		EXPECT(x, field_get(x, x->pf), 0);
		EXPECT(x, kword_get(x, x->r + OFF_KW), 0);
		x->kicked = 0;
		if (zero)
			for (size_t i = 0; i < (size_t)x->n * x->ss; i++)
				EXPECT(x, x->r[OFF_SLOTS + i], 0);
		field_set(x, x->cf, 0); /* an honest consumer restarts at 0 */
	}
	x->own = x->pub = x->seen = 0;
	x->broken = false;
}

/* ---------------------------------------------------------------------- */
/* One run                                                                */
/* ---------------------------------------------------------------------- */

static unsigned long tot_msgs, tot_oor, tot_back, tot_reset;

static void run_one(const struct variant *v, enum alloc alloc, uint64_t seed)
{
	static const uint32_t ns[] = { 2, 3, 7, 16 };
	static const uint32_t sss[] = { 4, 12, 64 };
	struct ctx x;
	struct peer_snap snap;
	uint8_t *slots_before;
	size_t total;

	memset(&x, 0, sizeof(x));
	rng_state = seed * 0x9E3779B97F4A7C15ull + (uint64_t)(v - variants) * 7919u + alloc + 1;
	x.v = v;
	x.alloc = alloc;
	x.seed = seed;
	x.n = ns[rnd_below(4)];
	x.ss = sss[rnd_below(3)];
	x.max = v->w == W16_LE ? 0xFFFFu : 0xFFFFFFFFu;
	x.size = OFF_SLOTS + (size_t)x.n * x.ss;
	total = alloc == ALLOC_EXACT ? x.size : x.size + 2 * CANARY;
	/* Two separate allocations: the region, and a scratch area. */
	block = malloc(total);
	assert_non_null(block);
	scratch = slots_before = malloc((size_t)x.n * x.ss * 2);
	assert_non_null(slots_before);
	snap.slots = slots_before + (size_t)x.n * x.ss;
	memset(block, CANARY_BYTE, total);
	x.r = alloc == ALLOC_EXACT ? block : block + CANARY;
	memset(x.r, 0, x.size);
	x.r[OFF_GW] = GUARD_OK;
	x.pf = x.r + OFF_PW;
	x.cf = v->w == W16_LE ? x.r + OFF_CW + 2 : x.r + OFF_CW;

	x.d.slots = x.r + OFF_SLOTS;
	x.d.num_slots = x.n;
	x.d.slot_size = x.ss;
	x.d.prod = (struct vmsg_spsc_index){ x.pf, v->w == W16_LE ? 16 : 32 };
	x.d.cons = (struct vmsg_spsc_index){ x.cf, v->w == W16_LE ? 16 : 32 };
	x.d.awake = x.r + OFF_AW;
	x.d.kicked = x.r + OFF_KW;
	x.d.flags = v->w == W32_HOST ? 0 : VMSG_SPSC_F_LE_INDEX;
	x.d.mem = v->mem;
	if (!variant_compiled(v)) {
		/* Compiled out (config.h): refused, never run. */
		assert_int_equal(vmsg_spsc_desc_check(&x.d), VMSG_ENOTSUP);
		assert_int_equal(vmsg_spsc_cons_init(&x.c, &x.d, VMSG_SPSC_INIT_RESET), VMSG_ENOTSUP);
		assert_int_equal(vmsg_spsc_prod_init(&x.p, &x.d, VMSG_SPSC_INIT_RESET), VMSG_ENOTSUP);
		skip();
	}
	{
		struct vmsg_spsc_guard g = { x.r + OFF_GW, GUARD_MASK, GUARD_OK, GUARD_ALT };

		if (v->role == ROLE_CONS) {
			x.tok = model_next_token(&x); /* fresh memory: after 0 */
			assert_int_equal(vmsg_spsc_cons_init(&x.c, &x.d, VMSG_SPSC_INIT_RESET), 0);
			EXPECT(&x, kword_get(&x, x.r + OFF_AW), x.tok);
			vmsg_spsc_cons_set_guard(&x.c, &g, 1);
		} else {
			assert_int_equal(vmsg_spsc_prod_init(&x.p, &x.d, VMSG_SPSC_INIT_RESET), 0);
			vmsg_spsc_prod_set_guard(&x.p, &g, 1);
		}
	}

	for (x.iter = 0; x.iter < ITERATIONS; x.iter++) {
		uint32_t k = rnd_below(100);

		x.op = NULL;
		if (k < 30) {
			hostile_write(&x);
			continue;
		}
		if (v->role == ROLE_CONS && k < 40) {
			hostile_slots(&x);
			continue;
		}
		snap_take(&x, &snap);
		if (v->role == ROLE_CONS)
			cons_step(&x, slots_before);
		else
			prod_step(&x);
		snap_check(&x, &snap);
		/* Own index as published, whatever happened. */
		if (v->role == ROLE_CONS)
			EXPECT(&x, field_get(&x, x.cf), x.pub);
		else
			EXPECT(&x, field_get(&x, x.pf), x.pub);
		if (x.broken)
			latched_calls(&x);
	}

	/* Nothing outside the region was touched. */
	if (alloc == ALLOC_CANARY) {
		for (size_t i = 0; i < CANARY; i++) {
			EXPECT(&x, block[i], CANARY_BYTE);
			EXPECT(&x, block[CANARY + x.size + i], CANARY_BYTE);
		}
	}
	/* Messages flowed in every run (coverage of the rest: per variant). */
	if (x.msgs == 0 || x.eagain == 0)
		fail_here(&x, "coverage: messages and EAGAIN", 0, 1);
	free(scratch);
	free(block);
	scratch = block = NULL;
	tot_msgs += x.msgs;
	tot_oor += x.eproto_oor;
	tot_back += x.eproto_back;
	tot_reset += x.connreset;
}

static void test_spsc_hostile_peer(void **state)
{
	const struct variant *v = *state;

	tot_msgs = tot_oor = tot_back = tot_reset = 0;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		run_one(v, ALLOC_EXACT, seeds[s]);
		run_one(v, ALLOC_CANARY, seeds[s]);
	}
	print_message("%s: %lu messages, EPROTO out-of-range %lu, EPROTO take-back/rewind %lu, "
		      "ECONNRESET %lu\n",
		      v->name, tot_msgs, tot_oor, tot_back, tot_reset);
	/* The variant really exercised every kind of detection. */
	assert_true(tot_msgs > 1000);
	assert_true(tot_oor > 50);
	assert_true(tot_back > 20);
	assert_true(tot_reset > 20);
}

static int teardown(void **state)
{
	(void)state;
	free(scratch);
	free(block);
	scratch = block = NULL;
	return 0;
}

int main(void)
{
	static struct CMUnitTest tests[NVARIANTS];
	static char names[NVARIANTS][80];

	for (size_t i = 0; i < NVARIANTS; i++) {
		snprintf(names[i], sizeof(names[i]), "test_spsc_hostile_peer[%s]",
			 variants[i].name);
		tests[i] = (struct CMUnitTest){ names[i], test_spsc_hostile_peer, NULL, teardown,
						(void *)&variants[i] };
	}
	return _cmocka_run_group_tests("spsc_hostile", tests, NVARIANTS, NULL, NULL);
}
