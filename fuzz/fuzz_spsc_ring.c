/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: one SPSC ring endpoint (producer or consumer) against a
 * hostile peer that shares its memory. The input is a script: a set-up
 * (role, memory mode, index width and byte order, slot count and size,
 * guard, kick words, init mode, the region's first bytes), then operations,
 * each either a library call on the endpoint or a write of the peer into
 * the region (any word: its index, the other half of a 16-bit index word,
 * the guard, the awake or kicked word, a slot, even the endpoint's own
 * words, since shared memory protects nothing).
 *
 * tests/test_spsc_hostile.c predicts every return value with a model of
 * the protocol; this target checks what must hold whatever the peer does:
 *  - every call returns one of its documented codes, and the endpoint's
 *    sizes and slot pointers stay inside the ring;
 *  - the endpoint never writes a word or slot the peer owns;
 *  - a receive copies at most min(cap, slot size) bytes and nothing past;
 *  - nothing outside the region is touched: the region is a heap block of
 *    exactly its size (ASan), slots last, and the caller's buffers carry
 *    canaries.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "virtio_msg/config.h"
#include "virtio_msg/spsc.h"

/* Region: word offsets as in tests/test_spsc_hostile.c, slots last. */
#define OFF_PW 0u  /* producer index word (16-bit: low half) */
#define OFF_CW 4u  /* consumer index word (16-bit: high half) */
#define OFF_AW 8u  /* consumer's awake word */
#define OFF_GW 12u /* guard word (the peer's) */
#define OFF_KW 16u /* producer's kicked word */
#define OFF_SLOTS 20u
#define MAX_SLOTS 64u
#define MAX_SS 128u
#define CANARY 0xEEu

struct run {
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_prod p;
	struct vmsg_spsc_cons c;
	uint8_t *r;
	size_t size;
	bool prod;    /* the endpoint under test is the producer */
	bool w16;
	uint32_t n, ss;
	unsigned held; /* reserved (producer) or peeked (consumer) slots */
};

/* Bytes of the region the endpoint may write: its index word (16-bit: its
 * half), its kick word, and (producer) its slots. */
static bool own_byte(const struct run *x, size_t i)
{
	if (x->prod) {
		if (i >= OFF_SLOTS)
			return true;
		if (i >= OFF_KW && i < OFF_KW + 4)
			return true;
		return x->w16 ? i < OFF_PW + 2 : i < OFF_PW + 4;
	}
	if (i >= OFF_AW && i < OFF_AW + 4)
		return true;
	return x->w16 ? (i >= OFF_CW + 2 && i < OFF_CW + 4) : (i >= OFF_CW && i < OFF_CW + 4);
}

/* In device memory a 16-bit index is written by read-modify-write of its
 * 32-bit word: the other half is written back with the value just read. A
 * peer cannot race that here (one thread), so the whole word must still
 * hold what the peer left in the other half. */
static void check_peer_bytes(const struct run *x, const uint8_t *before)
{
	for (size_t i = 0; i < x->size; i++)
		if (!own_byte(x, i) && before[i] != x->r[i]) {
			fprintf(stderr, "endpoint wrote peer byte %zu\n", i);
			FUZZ_CHECK(0);
		}
}

static bool slot_ok(const struct run *x, const void *s)
{
	const uint8_t *p = s;
	size_t off;

	if (p < x->r + OFF_SLOTS)
		return false;
	off = (size_t)(p - (x->r + OFF_SLOTS));
	return off % x->ss == 0 && off / x->ss < x->n;
}

static bool ring_err(int r)
{
	return r == VMSG_EPROTO || r == VMSG_ECONNRESET;
}

static void prod_op(struct run *x, uint8_t op, struct fuzz_in *in)
{
	uint8_t m[8][MAX_SS + 8];
	int r;

	for (unsigned i = 0; i < 8; i++)
		memset(m[i], 0x30 + (int)i, sizeof(m[i]));
	switch (op % 6u) {
	case 0: {
		size_t len = fuzz_u8(in) % (x->ss + 9u);

		r = vmsg_spsc_push(&x->p, m[0], len);
		FUZZ_CHECK(r == 0 || r == VMSG_EAGAIN || r == VMSG_EMSGSIZE || r == VMSG_EBUSY ||
			   ring_err(r));
		FUZZ_CHECK(r != VMSG_EMSGSIZE || len > x->ss);
		FUZZ_CHECK(r != VMSG_EBUSY || x->held);
		break;
	}
	case 1: {
		const void *msgs[8];
		size_t lens[8];
		unsigned nb = fuzz_u8(in) % 9u;

		for (unsigned i = 0; i < 8; i++) {
			msgs[i] = m[i];
			lens[i] = fuzz_u8(in) % (x->ss + 1u);
		}
		r = vmsg_spsc_push_batch(&x->p, msgs, lens, nb);
		FUZZ_CHECK((r >= 0 && (unsigned)r <= nb) || r == VMSG_EBUSY || r == VMSG_EMSGSIZE ||
			   ring_err(r));
		break;
	}
	case 2: {
		void *s = NULL;

		r = vmsg_spsc_reserve(&x->p, &s);
		FUZZ_CHECK(r == 0 || r == VMSG_EAGAIN || ring_err(r));
		if (r == 0) {
			FUZZ_CHECK(slot_ok(x, s));
			vmsg_spsc_slot_write(&x->d, s, m[1], x->ss);
			x->held++;
		}
		break;
	}
	case 3:
		r = vmsg_spsc_commit(&x->p);
		FUZZ_CHECK((r >= 0 && (unsigned)r == x->held) || r == VMSG_EPROTO);
		if (r >= 0)
			x->held = 0;
		break;
	case 4:
		(void)vmsg_spsc_prod_need_kick(&x->p);
		break;
	default:
		r = vmsg_spsc_prod_check(&x->p);
		FUZZ_CHECK(r == 0 || ring_err(r));
		break;
	}
}

static void cons_op(struct run *x, uint8_t op, struct fuzz_in *in)
{
	static uint8_t out[8][MAX_SS + 16];
	int r;

	for (unsigned i = 0; i < 8; i++)
		memset(out[i], CANARY, sizeof(out[i]));
	switch (op % 8u) {
	case 0: {
		size_t cap = 1u + fuzz_u8(in) % (x->ss + 8u), len = cap < x->ss ? cap : x->ss;

		r = vmsg_spsc_pop(&x->c, out[0], cap);
		FUZZ_CHECK(r > 0 || r == VMSG_EAGAIN || r == VMSG_EBUSY || ring_err(r));
		FUZZ_CHECK(r != VMSG_EBUSY || x->held);
		if (r > 0)
			FUZZ_CHECK((size_t)r == len);
		for (size_t i = r > 0 ? (size_t)r : 0; i < sizeof(out[0]); i++)
			FUZZ_CHECK(out[0][i] == CANARY);
		break;
	}
	case 1: {
		void *bufs[8];
		size_t cap = 1u + fuzz_u8(in) % (x->ss + 8u), len = cap < x->ss ? cap : x->ss;
		unsigned nb = fuzz_u8(in) % 9u;

		for (unsigned i = 0; i < 8; i++)
			bufs[i] = out[i];
		r = vmsg_spsc_pop_batch(&x->c, bufs, cap, nb);
		FUZZ_CHECK((r >= 0 && (unsigned)r <= nb) || r == VMSG_EBUSY || ring_err(r));
		for (unsigned b = 0; b < 8; b++)
			for (size_t i = (r > 0 && b < (unsigned)r) ? len : 0; i < sizeof(out[b]); i++)
				FUZZ_CHECK(out[b][i] == CANARY);
		break;
	}
	case 2: {
		const void *s = NULL;

		r = vmsg_spsc_peek(&x->c, &s);
		FUZZ_CHECK(r == 0 || r == VMSG_EAGAIN || ring_err(r));
		if (r == 0) {
			FUZZ_CHECK(slot_ok(x, s));
			vmsg_spsc_slot_read(&x->d, s, out[0], x->ss);
			x->held++;
		}
		break;
	}
	case 3:
		r = vmsg_spsc_release(&x->c);
		FUZZ_CHECK((r >= 0 && (unsigned)r == x->held) || r == VMSG_EPROTO);
		if (r >= 0)
			x->held = 0;
		break;
	case 4:
		r = vmsg_spsc_cons_arm(&x->c);
		FUZZ_CHECK(r == 0 || r == 1 || ring_err(r));
		break;
	case 5:
		vmsg_spsc_cons_awake(&x->c);
		break;
	case 6:
		r = vmsg_spsc_cons_pending(&x->c);
		FUZZ_CHECK((r >= 0 && (uint32_t)r < x->n) || ring_err(r));
		break;
	default:
		r = vmsg_spsc_cons_check(&x->c);
		FUZZ_CHECK(r == 0 || ring_err(r));
		break;
	}
}

/* The peer writes @len bytes of the input at an offset of its choice. */
static void peer_write(struct run *x, struct fuzz_in *in)
{
	size_t off = fuzz_u16(in) % x->size, len = 1u + fuzz_u8(in) % 8u, got;
	const uint8_t *b;

	if (len > x->size - off)
		len = x->size - off;
	b = fuzz_bytes(in, len, &got);
	memcpy(x->r + off, b, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t before[OFF_SLOTS + MAX_SLOTS * MAX_SS];
	struct fuzz_in in = { data, size };
	uint8_t cfg = fuzz_u8(&in), how = fuzz_u8(&in) % 3u;
	struct vmsg_spsc_guard g;
	struct run x;
	unsigned width = (cfg >> 2) % 3u; /* host 32, LE 32, LE 16 */
	size_t got;
	const uint8_t *init;
	int r;

	memset(&x, 0, sizeof(x));
	x.prod = cfg & 1u;
	x.w16 = width == 2;
	x.n = 2u + fuzz_u8(&in) % (MAX_SLOTS - 1u);
	x.ss = 4u * (1u + fuzz_u8(&in) % (MAX_SS / 4u));
	x.size = OFF_SLOTS + (size_t)x.n * x.ss;
	x.r = malloc(x.size);
	if (!x.r)
		return 0;
	memset(x.r, 0, x.size);
	init = fuzz_bytes(&in, fuzz_u8(&in) % 32u, &got); /* the region's first bytes */
	memcpy(x.r, init, got < x.size ? got : x.size);

	x.d.slots = x.r + OFF_SLOTS;
	x.d.num_slots = x.n;
	x.d.slot_size = x.ss;
	x.d.prod = (struct vmsg_spsc_index){ x.r + OFF_PW, x.w16 ? 16 : 32 };
	x.d.cons = (struct vmsg_spsc_index){ x.r + OFF_CW + (x.w16 ? 2 : 0), x.w16 ? 16 : 32 };
	x.d.awake = (cfg & 0x20u) ? x.r + OFF_AW : NULL;
	x.d.kicked = (cfg & 0x20u) && (cfg & 0x40u) ? x.r + OFF_KW : NULL;
	x.d.flags = width ? VMSG_SPSC_F_LE_INDEX : 0;
	x.d.mem = (cfg & 2u) ? VMSG_SPSC_MEM_DEVICE : VMSG_SPSC_MEM_COHERENT;
	g = (struct vmsg_spsc_guard){ x.r + OFF_GW, 0xFFu, 0x5Au, 0xA5u };

	memcpy(before, x.r, x.size);
	if (x.prod)
		r = vmsg_spsc_prod_init(&x.p, &x.d, how);
	else
		r = vmsg_spsc_cons_init(&x.c, &x.d, how);
	FUZZ_CHECK(r == 0 || r == VMSG_EPROTO || r == VMSG_ENOTSUP);
	if (r == VMSG_ENOTSUP) /* a memory mode or width this build left out */
		goto out;
	if (r == 0 || how != VMSG_SPSC_INIT_RESYNC)
		check_peer_bytes(&x, before);
	else
		FUZZ_CHECK(memcmp(before, x.r, x.size) == 0); /* resync refused: nothing written */
	if (r == VMSG_EPROTO) {
		/* A refused resume still leaves a usable endpoint after a reset. */
		if (x.prod)
			vmsg_spsc_prod_reset(&x.p, true);
		else
			vmsg_spsc_cons_reset(&x.c);
	}
	if (cfg & 0x80u) {
		if (x.prod)
			vmsg_spsc_prod_set_guard(&x.p, &g, 1);
		else
			vmsg_spsc_cons_set_guard(&x.c, &g, 1);
	}

	for (unsigned steps = 0; in.n && steps < 512; steps++) {
		uint8_t op = fuzz_u8(&in);

		if (op < 0x60) {
			peer_write(&x, &in);
			continue;
		}
		memcpy(before, x.r, x.size);
		if (op >= 0xF8) {
			/* the lifecycle resets the endpoint */
			if (x.prod)
				vmsg_spsc_prod_reset(&x.p, op & 1u);
			else
				vmsg_spsc_cons_reset(&x.c);
			x.held = 0;
		} else if (x.prod) {
			prod_op(&x, op, &in);
		} else {
			cons_op(&x, op, &in);
		}
		check_peer_bytes(&x, before);
	}
out:
	free(x.r);
	return 0;
}
