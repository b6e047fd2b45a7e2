/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Out-of-line wrappers of the textbook ring (textbook.h), compiled in their
 * own translation unit so the benchmark loop calls them exactly as it calls
 * the library (no cross-unit inlining: the bench is built without LTO).
 */
#include "textbook.h"

int tb_push(struct tb_prod *p, const void *msg)
{
	return tb_push_inl(p, msg);
}

unsigned tb_push_batch(struct tb_prod *p, const void *const *msgs, unsigned n)
{
	return tb_push_batch_inl(p, msgs, n);
}

int tb_pop(struct tb_cons *c, void *buf)
{
	return tb_pop_inl(c, buf);
}

unsigned tb_pop_batch(struct tb_cons *c, void *const *bufs, unsigned n)
{
	return tb_pop_batch_inl(c, bufs, n);
}
