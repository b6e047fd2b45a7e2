#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Regenerate the experiment copies of src/spsc/ring.c (bench/experiments/ring_*.c).

Each variant is the library's ring.c with documented edits applied; the
benchmark builds one bench_ring_exp_<name> per file (bench/CMakeLists.txt).
When src/spsc/ring.c changes, run this again:

    python3 bench/experiments/gen_variants.py           # rewrite ring_*.c
    python3 bench/experiments/gen_variants.py --check   # are they current?

It stops with an error naming the edit whose anchor text no longer matches,
so a proposal never silently measures something else. Variants, cumulative:

    (memcpy  coherent slot copies with the compiler's memcpy: adopted into
             ring.c on 2026-11-22, so every variant below includes it)
    inline   ring.c + hot path inlined (no internal calls, no PLT hops)
    lean     inline + constant-size 64-byte copy + batch calls over runs of slots
    pf       lean + software prefetch of a run's slots (a negative result)
    kickseq  lean + one kick per sleep (awake tokens: a protocol change)
    kickc    lean + one kick per sleep, decided by the producer alone
    spec     kickc + specialised batch loop for coherent 64-byte slots
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RING = os.path.join(HERE, "..", "..", "src", "spsc", "ring.c")


class Edit:
    def __init__(self, text):
        self.s = text

    def rep(self, old, new, count=1, what=""):
        n = self.s.count(old)
        if n != count:
            sys.exit("gen_variants: edit '%s' expected %d match(es) of:\n%s\nfound %d"
                     % (what, count, old, n))
        self.s = self.s.replace(old, new)
        return self


HEAD = """/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SPSC ring"""


def header(e, text):
    e.rep(HEAD, "/* SPDX-License-Identifier: BSD-3-Clause */\n/*\n" + text +
          " *\n * The SPSC ring", what="header")


def first_header_line(e, old, new):
    e.rep(old, new, what="header")


# --------------------------------------------------------------------------
# inline: internal static inline versions of the hot entry points

HOT_HELPERS = ["static int is_dev(", "static void cache_clean(", "static void cache_inval(",
               "static void *word_of(", "static unsigned byte_in_word(",
               "static uint32_t idx_load(", "static void idx_store(",
               "static void awake_store(", "static uint32_t awake_load(",
               "static void fence_full(", "static void slot_fill(", "static uint32_t dist(",
               "static uint32_t next(", "static void *slot_at(", "static int guard_check(",
               "static int prod_refresh(", "static int cons_refresh("]


def apply_inline(e):
    e.rep('#include "spsc/arch.h"\n', '''#include "spsc/arch.h"

/* EXPERIMENT: force the hot helpers inline. */
#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif
''', what="inline: HOT macro")
    for name in HOT_HELPERS:
        e.rep(name, "HOT " + name[len("static "):], what="inline: " + name)
    e.rep("""void vmsg_spsc_slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len)
{""", """HOT void slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len)
{""", what="inline: slot_write")
    e.rep("""void vmsg_spsc_slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len)
{""", """HOT void slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len)
{""", what="inline: slot_read")
    e.rep("/* Copy a message into a slot and zero the rest, so no stale bytes cross. */",
          """/* EXPERIMENT: the exported copies wrap the inline ones. */
void vmsg_spsc_slot_write(const struct vmsg_spsc_desc *d, void *slot, const void *src, size_t len)
{
	slot_write(d, slot, src, len);
}

void vmsg_spsc_slot_read(const struct vmsg_spsc_desc *d, const void *slot, void *dst, size_t len)
{
	slot_read(d, slot, dst, len);
}

/* Copy a message into a slot and zero the rest, so no stale bytes cross. */""",
          what="inline: exported copies")
    e.rep("	vmsg_spsc_slot_write(d, s, msg, len);", "	slot_write(d, s, msg, len);",
          what="inline: slot_fill 1")
    e.rep("		vmsg_spsc_slot_write(d, s + off, zeros, n);",
          "		slot_write(d, s + off, zeros, n);", what="inline: slot_fill 2")
    e.rep("""int vmsg_spsc_reserve(struct vmsg_spsc_prod *p, void **slot)
{""", """HOT int reserve(struct vmsg_spsc_prod *p, void **slot)
{""", what="inline: reserve")
    e.rep("static int publish_prod(", "HOT int publish_prod(", what="inline: publish_prod")
    e.rep("int vmsg_spsc_commit(struct vmsg_spsc_prod *p)", """/* EXPERIMENT: the exported zero-copy call wraps the inline one. */
int vmsg_spsc_reserve(struct vmsg_spsc_prod *p, void **slot)
{
	return reserve(p, slot);
}

int vmsg_spsc_commit(struct vmsg_spsc_prod *p)""", what="inline: exported reserve")
    e.rep("err = vmsg_spsc_reserve(p, &slot);", "err = reserve(p, &slot);", 2,
          what="inline: reserve calls")
    e.rep("""int vmsg_spsc_peek(struct vmsg_spsc_cons *c, const void **slot)
{""", """HOT int peek(struct vmsg_spsc_cons *c, const void **slot)
{""", what="inline: peek")
    e.rep("static int publish_cons(", "HOT int publish_cons(", what="inline: publish_cons")
    e.rep("int vmsg_spsc_release(struct vmsg_spsc_cons *c)", """/* EXPERIMENT: the exported zero-copy call wraps the inline one. */
int vmsg_spsc_peek(struct vmsg_spsc_cons *c, const void **slot)
{
	return peek(c, slot);
}

int vmsg_spsc_release(struct vmsg_spsc_cons *c)""", what="inline: exported peek")
    e.rep("err = vmsg_spsc_peek(c, &slot);", "err = peek(c, &slot);", 2,
          what="inline: peek calls")
    e.rep("	vmsg_spsc_slot_read(&c->d, slot, buf, len);", "	slot_read(&c->d, slot, buf, len);",
          what="inline: pop read")
    e.rep("		vmsg_spsc_slot_read(&c->d, slot, bufs[done], len);",
          "		slot_read(&c->d, slot, bufs[done], len);", what="inline: pop_batch read")


# --------------------------------------------------------------------------
# lean: constant-size copy and batch calls over runs of slots

# The batch calls as src/spsc/ring.c has them (after the inline edits): the
# lean versions below must do exactly what these do, so the generator
# refuses to run if they change.
ORIG_PUSH_BATCH = '''int vmsg_spsc_push_batch(struct vmsg_spsc_prod *p, const void *const *msgs, const size_t *lens,
			 unsigned n)
{
	unsigned done = 0;

	if (!msgs || !lens)
		return VMSG_EINVAL;
	if (p->prod != p->published)
		return VMSG_EBUSY;
	for (; done < n; done++) {
		void *slot;
		int err;

		if (lens[done] > p->d.slot_size)
			err = VMSG_EMSGSIZE;
		else if (lens[done] && !msgs[done])
			err = VMSG_EINVAL;
		else
			err = reserve(p, &slot);
		if (err) {
			if (done || err == VMSG_EAGAIN)
				break;
			return err;
		}
		slot_fill(&p->d, slot, msgs[done], lens[done]);
	}
	(void)publish_prod(p);
	return (int)done;
}

'''

ORIG_POP_BATCH = '''int vmsg_spsc_pop_batch(struct vmsg_spsc_cons *c, void *const *bufs, size_t cap, unsigned n)
{
	size_t len = cap < c->d.slot_size ? cap : c->d.slot_size;
	unsigned done = 0;

	if (!bufs || cap == 0)
		return VMSG_EINVAL;
	if (c->cons != c->published)
		return VMSG_EBUSY;
	for (; done < n; done++) {
		const void *slot;
		int err = peek(c, &slot);

		if (err) {
			if (done || err == VMSG_EAGAIN)
				break;
			return err;
		}
		slot_read(&c->d, slot, bufs[done], len);
	}
	(void)publish_cons(c);
	return (int)done;
}

'''

LEAN_PUSH_BATCH = '''int vmsg_spsc_push_batch(struct vmsg_spsc_prod *p, const void *const *msgs, const size_t *lens,
			 unsigned n)
{
	uint32_t num = p->d.num_slots;
	unsigned done = 0;

	if (!msgs || !lens)
		return VMSG_EINVAL;
	if (p->prod != p->published)
		return VMSG_EBUSY;
	while (done < n) {
		/* EXPERIMENT (lean): free slots by the cached consumer index. */
		uint32_t room = num - 1u - dist(p->cons_seen, p->prod, num);
		unsigned k;

		if (room == 0 || p->broken) {
			/* Looks full (or broken): the original per-message step. */
			void *slot;
			int err;

			if (lens[done] > p->d.slot_size)
				err = VMSG_EMSGSIZE;
			else if (lens[done] && !msgs[done])
				err = VMSG_EINVAL;
			else
				err = reserve(p, &slot);
			if (err) {
				if (done || err == VMSG_EAGAIN)
					break;
				return err;
			}
			slot_fill(&p->d, slot, msgs[done], lens[done]);
			done++;
			continue;
		}
		k = n - done < room ? n - done : room;
		/*SPEC_PUSH*/
		for (unsigned i = 0; i < k; i++, done++) {
			if (lens[done] > p->d.slot_size || (lens[done] && !msgs[done])) {
				if (done)
					goto out;
				return lens[done] > p->d.slot_size ? VMSG_EMSGSIZE : VMSG_EINVAL;
			}
			slot_fill(&p->d, slot_at(&p->d, p->prod), msgs[done], lens[done]);
			p->prod = next(p->prod, num);
		}
	}
out:
	(void)publish_prod(p);
	return (int)done;
}

'''

LEAN_POP_BATCH = '''int vmsg_spsc_pop_batch(struct vmsg_spsc_cons *c, void *const *bufs, size_t cap, unsigned n)
{
	size_t len = cap < c->d.slot_size ? cap : c->d.slot_size;
	uint32_t num = c->d.num_slots;
	unsigned done = 0;

	if (!bufs || cap == 0)
		return VMSG_EINVAL;
	if (c->cons != c->published)
		return VMSG_EBUSY;
	while (done < n) {
		/* EXPERIMENT (lean): filled slots by the cached producer index. */
		uint32_t avail = dist(c->cons, c->prod_seen, num);
		unsigned k;

		if (avail == 0 || c->broken) {
			/* Looks empty (or broken): the original per-message step. */
			const void *slot;
			int err = peek(c, &slot);

			if (err) {
				if (done || err == VMSG_EAGAIN)
					break;
				return err;
			}
			slot_read(&c->d, slot, bufs[done], len);
			done++;
			continue;
		}
		k = n - done < avail ? n - done : avail;
		/*SPEC_POP*/
		for (unsigned i = 0; i < k; i++, done++) {
			if (c->guard[0].addr) {
				/* As peek(): the peer must still be the life that
				 * published this slot. */
				int err = guard_check(&c->d, c->guard);

				if (err) {
					if (done)
						goto out;
					return err;
				}
			}
			slot_read(&c->d, slot_at(&c->d, c->cons), bufs[done], len);
			c->cons = next(c->cons, num);
		}
	}
out:
	(void)publish_cons(c);
	return (int)done;
}

'''


def replace_function(e, start_marker, end_marker, orig, body, what):
    s = e.s
    if s.count(start_marker) != 1 or s.count(end_marker) != 1:
        sys.exit("gen_variants: edit '%s': function markers not found once" % what)
    a = s.index(start_marker)
    b = s.index(end_marker)
    if b < a:
        sys.exit("gen_variants: edit '%s': markers out of order" % what)
    if s[a:b] != orig:
        sys.exit("gen_variants: edit '%s': src/spsc/ring.c changed this function; "
                 "update the lean version to do what the new one does" % what)
    e.s = s[:a] + body + s[b:]


def apply_lean(e):
    e.rep("""#if defined(__GNUC__) || defined(__clang__)
	if (len) /* memcpy(p, NULL, 0) is undefined; slot zeroing passes that */
		__builtin_memcpy(dst, src, len);
#else""", """#if defined(__GNUC__) || defined(__clang__)
	/* EXPERIMENT (lean): a whole 64-byte slot, with a constant size. */
	if (len == 64)
		__builtin_memcpy(dst, src, 64);
	else if (len)
		__builtin_memcpy(dst, src, len);
#else""", what="lean: constant copy")
    replace_function(e, "int vmsg_spsc_push_batch(", "bool vmsg_spsc_prod_need_kick(",
                     ORIG_PUSH_BATCH, LEAN_PUSH_BATCH, "lean: push_batch")
    replace_function(e, "int vmsg_spsc_pop_batch(", "int vmsg_spsc_cons_arm(",
                     ORIG_POP_BATCH, LEAN_POP_BATCH, "lean: pop_batch")


def drop_markers(e):
    e.s = e.s.replace("		/*SPEC_PUSH*/\n", "").replace("		/*SPEC_POP*/\n", "")


# --------------------------------------------------------------------------
# pf: prefetch a run's slots

def apply_pf(e):
    e.rep("		/*SPEC_PUSH*/\n", """#if defined(__GNUC__) || defined(__clang__)
		/* EXPERIMENT (pf): ask for all k lines at once. */
		if (!is_dev(&p->d)) {
			uint32_t j = p->prod;

			for (unsigned i = 0; i < k; i++, j = next(j, num))
				__builtin_prefetch(slot_at(&p->d, j), 1, 3);
		}
#endif
""", what="pf: push")
    e.rep("		/*SPEC_POP*/\n", """#if defined(__GNUC__) || defined(__clang__)
		/* EXPERIMENT (pf): ask for all k lines at once. */
		if (!is_dev(&c->d)) {
			uint32_t j = c->cons;

			for (unsigned i = 0; i < k; i++, j = next(j, num))
				__builtin_prefetch(slot_at(&c->d, j), 0, 3);
		}
#endif
""", what="pf: pop")


# --------------------------------------------------------------------------
# kickseq: one kick per sleep

def apply_kickseq(e):
    e.rep("""bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p)
{
	bool kick = true;

	if (p->d.awake) {
		/* Pairs with the fence in vmsg_spsc_cons_arm(): either the
		 * consumer's re-check sees our index, or we see its awake = 0. */
		fence_full(&p->d);
		kick = awake_load(&p->d) == 0;
	}""", """/* EXPERIMENT (kickseq): a 24-bit counter in the three reserved bytes. */
static uint32_t get24(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
}

static void put24(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
}

bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p)
{
	bool kick = true;

	if (p->d.awake) {
		uint32_t a;

		/* Pairs with the fence in vmsg_spsc_cons_arm(): either the
		 * consumer's re-check sees our index, or we see its token. */
		fence_full(&p->d);
		a = awake_load(&p->d);
		if (a == 1) {
			kick = false;
		} else if (a >= 2) {
			/* EXPERIMENT (kickseq): one kick per sleep token. */
			kick = ((a >> 1) & 0xFFFFFFu) != get24(p->reserved8);
			put24(p->reserved8, (a >> 1) & 0xFFFFFFu);
		}
	}""", what="kickseq: need_kick")
    e.rep("""	if (c->broken)
		return VMSG_EPROTO;
	awake_store(&c->d, 0);
	/* Pairs with the fence in vmsg_spsc_prod_need_kick(). */""", """	if (c->broken)
		return VMSG_EPROTO;
	{
		/* EXPERIMENT (kickseq): a fresh token per sleep, never 0 or 1. */
		uint32_t seq = (get24(c->reserved8) + 1u) & 0xFFFFFFu;

		seq = seq ? seq : 1u;
		put24(c->reserved8, seq);
		awake_store(&c->d, seq << 1);
	}
	/* Pairs with the fence in vmsg_spsc_prod_need_kick(). */""", what="kickseq: cons_arm")


# --------------------------------------------------------------------------
# kickc: the producer alone suppresses repeated kicks (no protocol change)

def apply_kickc(e):
    e.rep("""bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p)
{
	bool kick = true;

	if (p->d.awake) {
		/* Pairs with the fence in vmsg_spsc_cons_arm(): either the
		 * consumer's re-check sees our index, or we see its awake = 0. */
		fence_full(&p->d);
		kick = awake_load(&p->d) == 0;
	}""", """/*
 * EXPERIMENT (kickc): what the producer remembers of its last kick. A real
 * change would add these fields to struct vmsg_spsc_prod; the experiment
 * keeps them in a small table so that the public header stays as it is.
 */
struct kick_memo {
	_Atomic(const void *) ep;
	int valid;
	uint32_t cons;    /* consumer index seen when we kicked */
	uint32_t backlog; /* messages published and not consumed then */
	uint64_t msgs;    /* our stats.msgs then */
};

static struct kick_memo kick_memos[16];

static struct kick_memo *kick_memo_of(const struct vmsg_spsc_prod *p)
{
	for (unsigned i = 0; i < 16; i++) {
		const void *cur = atomic_load(&kick_memos[i].ep);

		if (cur == p)
			return &kick_memos[i];
		if (!cur && atomic_compare_exchange_strong(&kick_memos[i].ep, &cur, (const void *)p))
			return &kick_memos[i];
		if (cur == p)
			return &kick_memos[i];
	}
	return 0; /* no room: always kick, as before */
}

bool vmsg_spsc_prod_need_kick(struct vmsg_spsc_prod *p)
{
	bool kick = true;

	if (p->d.awake) {
		struct kick_memo *m = kick_memo_of(p);

		/* Pairs with the fence in vmsg_spsc_cons_arm(): either the
		 * consumer's re-check sees our index, or we see its awake = 0
		 * and (loaded after the same fence) every index it published
		 * before arming. */
		fence_full(&p->d);
		kick = awake_load(&p->d) == 0;
		if (m && !kick) {
			m->valid = 0;
		} else if (m) {
			/*
			 * EXPERIMENT (kickc): we kicked before, a message was
			 * waiting then (backlog > 0), and the consumer index has
			 * not moved since: the consumer has not woken from that
			 * kick yet (after waking it drains, so it could only
			 * sleep again with a moved index). Fewer than N messages
			 * since rule out a full wrap back to the same index.
			 */
			uint32_t num = p->d.num_slots;
			uint32_t c = idx_load(&p->d, &p->d.cons);

			if (m->valid && c == m->cons && m->backlog > 0 &&
			    (p->stats.msgs - m->msgs) + m->backlog < num) {
				kick = false;
			} else {
				m->valid = c < num;
				m->cons = c;
				m->backlog = c < num ? dist(c, p->published, num) : 0;
				m->msgs = p->stats.msgs;
			}
		}
	}""", what="kickc: need_kick")


# --------------------------------------------------------------------------
# spec: specialised batch loops for coherent 64-byte slots

def apply_spec(e):
    e.rep("		/*SPEC_PUSH*/\n", """		if (!is_dev(&p->d) && !p->d.cache && p->d.slot_size == 64) {
			/* EXPERIMENT (spec): whole 64-byte messages, coherent. */
			uint8_t *slot = slot_at(&p->d, p->prod);
			uint8_t *end = slot_at(&p->d, num);
			unsigned i = 0;

			while (i < k && lens[done] == 64 && msgs[done]) {
				copy_plain(slot, msgs[done], 64);
				slot += 64;
				if (slot == end)
					slot = p->d.slots;
				i++;
				done++;
			}
			p->prod = (uint32_t)((size_t)(slot - (uint8_t *)p->d.slots) / 64u);
			if (i == k)
				continue;
			k -= i; /* a shorter or longer message: the general loop */
		}
""", what="spec: push")
    e.rep("		/*SPEC_POP*/\n", """		if (!is_dev(&c->d) && !c->d.cache && len == 64 && !c->guard[0].addr) {
			/* EXPERIMENT (spec): whole 64-byte slots, coherent, unguarded. */
			const uint8_t *slot = slot_at(&c->d, c->cons);
			const uint8_t *end = slot_at(&c->d, num);

			for (unsigned i = 0; i < k; i++, done++) {
				copy_plain(bufs[done], slot, 64);
				slot += 64;
				if (slot == end)
					slot = c->d.slots;
			}
			c->cons = (uint32_t)((size_t)(slot - (const uint8_t *)c->d.slots) / 64u);
			continue;
		}
""", what="spec: pop")


# --------------------------------------------------------------------------

H_INLINE = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py from src/spsc/ring.c: the hot path inlined. The exported
 * entry points (reserve, commit, peek, release, slot_write, slot_read) become
 * thin wrappers of static inline versions, which push/pop and the batch
 * calls use directly, and the small shared-memory helpers are forced inline,
 * so one push or pop is one call with no internal calls (and no PLT hops in
 * a shared library). Behaviour is unchanged. Look for "EXPERIMENT".
"""
H_LEAN = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py: ring_inline.c plus (1) a constant-size copy when a message
 * fills a 64-byte slot, which the compiler turns into a few vector moves
 * instead of a memcpy call, and (2) batch calls that work on runs of slots:
 * the cached peer index says how many slots are free (or filled), and those
 * are filled (or read) in a tight loop without a per-message reserve() or
 * peek(). The peer's index is still reloaded only when the cache says full
 * (or empty), and a guarded consumer still checks the guard before each
 * slot, exactly as before. Look for "EXPERIMENT".
"""
H_PF = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py: ring_lean.c plus software prefetch in the batch calls:
 * before copying a run of k slots, push_batch() prefetches them for writing
 * and pop_batch() for reading. Only slots the cached index says are ours are
 * touched. Look for "EXPERIMENT".
"""
H_KICKSEQ = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py: ring_lean.c plus one kick per sleep. The consumer's awake
 * word keeps its meaning for 0 ("kick me": fresh memory, older peers) and 1
 * ("polling"); vmsg_spsc_cons_arm() now writes a fresh even token >= 2 per
 * sleep instead of 0. The producer kicks for 0 always, never for 1, and for
 * a token only the first time it sees it: while the consumer wakes up, the
 * further messages of the same sleep no longer each cost a kick. The Dekker
 * pair is unchanged (arm stores, fences, re-checks; need_kick fences, loads).
 * This experiment keeps the 24-bit counters in the endpoints' three reserved
 * bytes (a token repeats only after 2^24 sleeps); a real change would add
 * fields and say so in docs/ring-protocol.md and model/ring.pml.
 * Look for "EXPERIMENT".
"""
H_KICKC = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py: ring_lean.c plus fewer kicks without a protocol change.
 * While the consumer wakes up from a kick, every further message used to
 * find awake = 0 and cost another kick. Now the producer remembers the
 * consumer index it saw when it kicked (loaded after the same fence as the
 * awake word, from the same line in both layouts) and does not kick again
 * while awake is still 0 and that index has not moved, provided a message
 * was waiting at the kick: a consumer that woke would have drained it and
 * moved the index before it could sleep again. Older consumers need no
 * change. Look for "EXPERIMENT".
"""
H_SPEC = """ * EXPERIMENT (bench only, never built into the library), generated by
 * gen_variants.py: ring_kickc.c plus a specialised inner loop in the batch
 * calls for the common case (coherent memory, no cache hooks, whole 64-byte
 * slots): no per-message memory-kind, cache-hook, length or tail checks, a
 * constant-size copy and a slot pointer that advances instead of being
 * recomputed; anything else takes the general loop. Every proposal together.
 * Look for "EXPERIMENT".
"""


def main():
    base = open(RING).read()
    out = {}

    # The memcpy proposal is in ring.c since 2026-11-22 (its variants,
    # "memcpy" and "fast" = inline + memcpy, are gone; "inline" now
    # includes it).
    e = Edit(base)
    header(e, H_INLINE)
    apply_inline(e)
    out["inline"] = e.s

    def from_inline(h):
        x = Edit(base)
        header(x, h)
        apply_inline(x)
        apply_lean(x)
        return x

    e = from_inline(H_LEAN)
    drop_markers(e)
    out["lean"] = e.s

    e = from_inline(H_PF)
    apply_pf(e)
    out["pf"] = e.s

    e = from_inline(H_KICKSEQ)
    apply_kickseq(e)
    drop_markers(e)
    out["kickseq"] = e.s

    e = from_inline(H_KICKC)
    apply_kickc(e)
    drop_markers(e)
    out["kickc"] = e.s

    e = from_inline(H_SPEC)
    apply_kickc(e)
    apply_spec(e)
    out["spec"] = e.s

    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in out.items():
        if "/*SPEC_" in text:
            sys.exit("gen_variants: %s kept a marker" % name)
        path = os.path.join(HERE, "ring_%s.c" % name)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(name)
            except OSError:
                stale.append(name)
            continue
        with open(path, "w") as f:
            f.write(text)
    if check:
        if stale:
            sys.exit("gen_variants: out of date with src/spsc/ring.c: " +
                     ", ".join("ring_%s.c" % n for n in stale))
        print("gen_variants: all variants match src/spsc/ring.c")
        return
    print("gen_variants: wrote " + ", ".join("ring_%s.c" % n for n in out))


if __name__ == "__main__":
    main()
