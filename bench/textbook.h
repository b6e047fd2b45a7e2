/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Baseline (c): a minimal textbook cached-index SPSC ring. Not library code:
 * it exists only so the library ring can be compared with it in the same run.
 *
 *  - free-running 32-bit indices (all N slots usable), N a power of two;
 *  - the producer index and the consumer index each alone on a 64-byte line;
 *  - each side keeps its own index and a cache of the peer's in private
 *    memory and reloads the peer's index only when the cache says full/empty;
 *  - C11 release (publish) / acquire (peer load);
 *  - 64-byte messages copied with memcpy; batches publish the index once.
 *
 * The functions are static inline here; textbook.c wraps them out of line so
 * the "textbook" figures pay the same call overhead as the library's API
 * (the "inlined" figures use this header directly).
 */
#ifndef VMSG_BENCH_TEXTBOOK_H
#define VMSG_BENCH_TEXTBOOK_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define TB_MSG 64u

struct tb_ring {
	_Alignas(64) _Atomic uint32_t head; /* producer index, written by the producer */
	_Alignas(64) _Atomic uint32_t tail; /* consumer index, written by the consumer */
	_Alignas(64) unsigned char slots[];  /* N * 64 bytes */
};

/* Private endpoint state (each on its own line, in the endpoint's memory). */
struct tb_prod {
	_Alignas(64) struct tb_ring *r;
	uint32_t mask;
	uint32_t head;       /* own index */
	uint32_t tail_cache; /* last seen consumer index */
};

struct tb_cons {
	_Alignas(64) struct tb_ring *r;
	uint32_t mask;
	uint32_t tail;       /* own index */
	uint32_t head_cache; /* last seen producer index */
};

static inline void tb_init(struct tb_ring *r, uint32_t n, struct tb_prod *p, struct tb_cons *c)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	p->r = r;
	p->mask = n - 1;
	p->head = p->tail_cache = 0;
	c->r = r;
	c->mask = n - 1;
	c->tail = c->head_cache = 0;
}

static inline int tb_push_inl(struct tb_prod *p, const void *msg)
{
	if (p->head - p->tail_cache > p->mask) {
		p->tail_cache = atomic_load_explicit(&p->r->tail, memory_order_acquire);
		if (p->head - p->tail_cache > p->mask)
			return 0;
	}
	memcpy(p->r->slots + (size_t)(p->head & p->mask) * TB_MSG, msg, TB_MSG);
	p->head++;
	atomic_store_explicit(&p->r->head, p->head, memory_order_release);
	return 1;
}

static inline unsigned tb_push_batch_inl(struct tb_prod *p, const void *const *msgs, unsigned n)
{
	uint32_t space = p->mask + 1 - (p->head - p->tail_cache);

	if (space < n) {
		p->tail_cache = atomic_load_explicit(&p->r->tail, memory_order_acquire);
		space = p->mask + 1 - (p->head - p->tail_cache);
	}
	if (n > space)
		n = space;
	for (unsigned i = 0; i < n; i++)
		memcpy(p->r->slots + (size_t)((p->head + i) & p->mask) * TB_MSG, msgs[i], TB_MSG);
	if (n) {
		p->head += n;
		atomic_store_explicit(&p->r->head, p->head, memory_order_release);
	}
	return n;
}

static inline int tb_pop_inl(struct tb_cons *c, void *buf)
{
	if (c->tail == c->head_cache) {
		c->head_cache = atomic_load_explicit(&c->r->head, memory_order_acquire);
		if (c->tail == c->head_cache)
			return 0;
	}
	memcpy(buf, c->r->slots + (size_t)(c->tail & c->mask) * TB_MSG, TB_MSG);
	c->tail++;
	atomic_store_explicit(&c->r->tail, c->tail, memory_order_release);
	return 1;
}

static inline unsigned tb_pop_batch_inl(struct tb_cons *c, void *const *bufs, unsigned n)
{
	uint32_t avail = c->head_cache - c->tail;

	if (avail < n) {
		c->head_cache = atomic_load_explicit(&c->r->head, memory_order_acquire);
		avail = c->head_cache - c->tail;
	}
	if (n > avail)
		n = avail;
	for (unsigned i = 0; i < n; i++)
		memcpy(bufs[i], c->r->slots + (size_t)((c->tail + i) & c->mask) * TB_MSG, TB_MSG);
	if (n) {
		c->tail += n;
		atomic_store_explicit(&c->r->tail, c->tail, memory_order_release);
	}
	return n;
}

/* Out-of-line versions (textbook.c): what the comparison with the library uses. */
int tb_push(struct tb_prod *p, const void *msg);
unsigned tb_push_batch(struct tb_prod *p, const void *const *msgs, unsigned n);
int tb_pop(struct tb_cons *c, void *buf);
unsigned tb_pop_batch(struct tb_cons *c, void *const *bufs, unsigned n);

#endif /* VMSG_BENCH_TEXTBOOK_H */
