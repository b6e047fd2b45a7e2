/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring.pml - one SPSC ring of docs/ring-protocol.md ("One ring" and
 * "Kick suppression"), checked with spin. Run it through
 * scripts/check-model.sh; model/README.md explains what is modelled.
 *
 * Memory model: spin interleaves whole statements and every statement sees
 * every earlier one, i.e. the model is sequentially consistent. That is
 * exactly what the protocol's full fences (kick suppression) give, and it
 * is stronger than the release/acquire pairs the C code uses for P, C and
 * the slots; the doc argues those pairs. The BUG_NO_FENCE_* variants
 * emulate the store->load reordering a missing full fence allows, by
 * swapping the two accesses in program order.
 *
 * Kick suppression with sleep tokens: the consumer's awake word is 0
 * (always kick), odd (polling) or an even token (asleep: kick once). The
 * consumer arms each sleep with a fresh token; the producer kicks only for
 * a token it has not kicked for yet, remembers it privately and publishes
 * it in its own kicked word, which the consumer skips when it picks the
 * next token. Doorbells are adversarial: a kick rung before the consumer
 * arms may be lost (QEMU ivshmem) or stay pending and end a later sleep
 * early (eventfd), and the consumer may wake once without any kick (a
 * timeout), leaving a token armed that was never kicked.
 *
 * Properties:
 *   - assertions: every delivered message is the next sequence number
 *     (no loss, duplication, reordering, no stale slot contents); every
 *     load of the peer's index passes the doc's validation;
 *   - no lost wake-up: the monitor asserts, when nothing else can move, that
 *     the consumer is not asleep on a non-empty ring; pan's invalid-end-state
 *     check catches any other stuck state (there are no end labels: only
 *     normal termination of both processes is a valid end);
 *   - ltl all_delivered: <> cdone (the consumer eventually delivers all M
 *     messages), checked with pan -a. No fairness is needed: nothing
 *     busy-waits (a poll that would find nothing new is a blocked guard).
 *
 * Bug variants (spin -D...), each of which pan must reject:
 *   BUG_NO_RECHECK           consumer sleeps right after arming
 *   BUG_NO_FENCE_CONSUMER    consumer loads P before its token is visible
 *   BUG_NO_FENCE_PRODUCER    producer loads awake before its P is visible
 *   BUG_PUBLISH_BEFORE_WRITE producer publishes P before writing the slot
 *   BUG_NO_EMPTY_SLOT        producer's room test forgets the empty slot
 *                            (FILL < N), so it overwrites unconsumed slots
 *   BUG_SAME_TOKEN           consumer arms every sleep with the same token:
 *                            the producer takes a new sleep for one it has
 *                            already kicked
 *   BUG_SUPPRESS_ANY_ARMED   producer kicks only when the word changes from
 *                            polling to armed (remembers "armed", not which
 *                            token): a second sleep in a row is never kicked
 *
 * DEFER_KICK (a proposal, bench/README.md "Channel streaming"): after a
 * publication the producer may leave the kick check (fence, awake load,
 * kick) to later, noting that one is due; a due check runs with the next
 * check, before the producer waits for room, and at the end (the flush: a
 * burst's last send, or the bus's next poll/wait). Bug variants with it:
 *   BUG_DEFER_NO_FLUSH       no check at the end: the last messages of a
 *                            burst may never be kicked
 *   BUG_DEFER_NO_FLUSH_FULL  no check before waiting for room: producer and
 *                            consumer both wait
 */

#define N 3        /* slots; one always stays empty */
#define M 4        /* messages, sequence numbers 1..M (wraps the ring) */
#define TOKMAX 240 /* tokens are even bytes; no run gets near a wrap */

byte P;            /* producer index, written only by the producer */
byte C;            /* consumer index, written only by the consumer */
byte slot[N];      /* slot contents: the sequence number, 0 = never written */
byte awake;        /* consumer's awake word: 0 always kick, odd polling,
                      even token = asleep (fresh memory: 0) */
byte kickedw;      /* producer's kicked word: last token it kicked for */
bit  doorbell;     /* a kick: a pending, coalescing hint (not a count) */

bit  sleeping;     /* ghost: consumer is blocked waiting for the doorbell */
bit  cdone;        /* ghost: consumer has delivered all M messages */

/* number of filled slots from a to b */
#define FILL(a, b) (((b) + N - (a)) % N)

/* The producer's kick check: load the awake word (after the full fence,
 * implied by SC), kick once per token. */
inline kick_check()
{
	aw = awake;
	if
	:: aw == 0 -> doorbell = 1
	:: aw % 2 == 1 -> skip
	:: aw != 0 && aw % 2 == 0 && aw == kpriv -> skip
	:: aw != 0 && aw % 2 == 0 && aw != kpriv ->
		kpriv = aw;
		kickedw = aw;
		doorbell = 1
	fi;
	aw = 0
}

active proctype Producer()
{
	byte p = 0;        /* own index, private */
	byte cseen = 0;    /* cached peer index C */
	byte seq = 1;      /* next sequence number to send */
	byte kpriv = 0;    /* token we last kicked for, private (0: none) */
	byte tmp;
	byte aw;
	bit due = 0;       /* DEFER_KICK: a publication not yet checked */

	do
	:: seq > M ->
#if defined(DEFER_KICK) && !defined(BUG_DEFER_NO_FLUSH)
		if
		:: due -> kick_check(); due = 0 /* the flush */
		:: else -> skip
		fi;
#endif
		break
#ifdef BUG_NO_EMPTY_SLOT
	:: seq <= M && FILL(cseen, p) < N ->      /* forgets the empty slot */
#else
	:: seq <= M && (p + 1) % N != cseen ->    /* room, by the cache */
#endif
#if defined(BUG_PUBLISH_BEFORE_WRITE)
		P = (p + 1) % N;
		slot[p] = seq;
		aw = awake;
#elif defined(BUG_NO_FENCE_PRODUCER)
		slot[p] = seq;
		aw = awake;                 /* load hoisted above the store of P */
		P = (p + 1) % N;
#elif defined(DEFER_KICK)
		slot[p] = seq;
		P = (p + 1) % N;
#else
		slot[p] = seq;              /* write the slot ... */
		P = (p + 1) % N;            /* ... then publish P (release) */
		/* full fence: implied by SC */
		aw = awake;
#endif
		d_step { p = (p + 1) % N; seq++ };
#ifdef DEFER_KICK
		if
		:: kick_check(); due = 0    /* check now (covers earlier ones) */
		:: due = 1                  /* or leave it to a later check */
		fi
#else
		if
		:: aw == 0 -> doorbell = 1          /* always kick */
		:: aw % 2 == 1 -> skip              /* polling: suppressed */
#ifdef BUG_SUPPRESS_ANY_ARMED
		:: aw != 0 && aw % 2 == 0 && kpriv != 0 -> skip
		:: aw != 0 && aw % 2 == 0 && kpriv == 0 ->
			kpriv = 1; doorbell = 1
#else
		:: aw != 0 && aw % 2 == 0 && aw == kpriv ->
			skip                            /* this sleep was kicked */
		:: aw != 0 && aw % 2 == 0 && aw != kpriv ->
			kpriv = aw;                     /* remember, publish, kick */
			kickedw = aw;
			doorbell = 1
#endif
		fi;
#ifdef BUG_SUPPRESS_ANY_ARMED
		if
		:: aw % 2 == 1 -> kpriv = 0         /* "saw it polling again" */
		:: else -> skip
		fi;
#endif
		aw = 0
#endif
#ifdef BUG_NO_EMPTY_SLOT
	:: seq <= M && FILL(cseen, p) >= N ->     /* never true */
#else
	:: seq <= M && (p + 1) % N == cseen ->    /* full by the cache */
#endif
#if defined(DEFER_KICK) && !defined(BUG_DEFER_NO_FLUSH_FULL)
		if
		:: due -> kick_check(); due = 0 /* before waiting for room */
		:: else -> skip
		fi;
#endif
		/*
		 * Reload C. Blocking until it moved abstracts polling (a poll that
		 * finds nothing new changes no state).
		 */
		C != cseen;
		tmp = C;
		/* validation: C < N, moves forward from cseen up to p */
		assert(tmp < N && FILL(cseen, tmp) <= FILL(cseen, p));
		cseen = tmp
	od
}

active proctype Consumer()
{
	byte c = 0;        /* own index, private */
	byte pseen = 0;    /* cached peer index P */
	byte expect = 1;   /* next sequence number to deliver */
	byte tok = 2;      /* own current token, private */
	bit early = 0;     /* the one wake-up without a kick was used */
	byte tmp;

	/* init: armed with a fresh token (the producer kicks once), or
	 * already polling */
	if
	:: awake = tok
	:: awake = tok + 1
	fi;
	do
	:: c != pseen ->                    /* a message, by the cache */
		tmp = slot[c];
		assert(tmp == expect);          /* in order, no loss/dup/stale */
		d_step { expect++; c = (c + 1) % N };
		C = c;                          /* publish C (release) */
		if
		:: expect > M -> break
		:: else -> skip
		fi
	:: c == pseen ->                    /* empty by the cache: reload P */
		tmp = P;
		/* validation: P < N, filled count never shrinks */
		assert(tmp < N && FILL(c, tmp) >= FILL(c, pseen));
		pseen = tmp;
		if
		:: c != pseen -> skip           /* work: process it */
		:: else ->
			/* empty: arm with a fresh token, then re-check, then sleep.
			 * A doorbell rung before this point may be lost. */
			if
			:: doorbell = 0
			:: skip
			fi;
#ifndef BUG_SAME_TOKEN
			/* next token: even, fresh, not the producer's kicked word */
			tok = tok + 2;
			if
			:: tok == kickedw -> tok = tok + 2
			:: else -> skip
			fi;
			assert(tok < TOKMAX);
#endif
#ifdef BUG_NO_FENCE_CONSUMER
			tmp = P;                    /* load hoisted above the token */
			awake = tok;
#else
			awake = tok;
			/* full fence: implied by SC */
#ifndef BUG_NO_RECHECK
			tmp = P;
#else
			tmp = pseen;                /* no re-check: trust the cache */
#endif
#endif
			assert(tmp < N && FILL(c, tmp) >= FILL(c, pseen));
			pseen = tmp;
			if
			:: c != pseen ->
				awake = tok + 1         /* not empty after all: polling */
			:: else ->
				sleeping = 1;
				/* sleep until kicked, or once without a kick (a timeout:
				 * more would hide a lost wake-up); then clear the doorbell,
				 * mark polling and re-check the ring at the top of the loop */
				if
				:: doorbell == 1
				:: early == 0 -> early = 1
				fi;
				d_step { sleeping = 0; doorbell = 0 };
				awake = tok + 1
			fi
		fi
	od;
	cdone = 1
}

/*
 * Lost wake-up monitor: timeout is executable only when no other process
 * can move. At that point the consumer must not be asleep on a ring that
 * holds published, unconsumed messages.
 */
active proctype Monitor()
{
	timeout -> assert(!(sleeping && P != C))
}

ltl all_delivered { <> cdone }
