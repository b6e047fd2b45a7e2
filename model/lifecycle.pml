/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lifecycle.pml - the peer lifecycle of docs/ring-protocol.md (states INIT,
 * READY, RUN, SHUTDOWN, PEER_DEAD plus an epoch; steps 1-6) with a ring in
 * each direction, cached peer indices and the guard on every peer-index
 * load. Run it through scripts/check-model.sh; model/README.md explains
 * what is modelled and what is not.
 *
 * Two sides run the same code. Side R (the restarter) may crash at any
 * point - its process state is lost, shared memory persists - or shut down
 * (step 6), and then starts again at step 1; at most MAXR times in all.
 * Side S (the survivor) is never restarted.
 *
 * Memory model: spin interleaves whole statements and is sequentially
 * consistent. The fixed protocol relies on: step 1's INIT store becoming
 * visible before its epoch store (release), loads of the peer's state and
 * epoch staying in program order (acquire), and a full fence between a
 * side's own state store and its next loads of the peer's words (step 1/2
 * and step 3's post-check form a Dekker pair, like kick suppression). The
 * C code must provide those; the model does not check weaker orderings.
 *
 * Each message carries (producer's epoch, the consumer epoch the producer
 * recorded, sequence number). Properties:
 *   - assertions on every delivered message: not a zeroed or never-written
 *     slot; produced by the peer epoch this side recorded when it entered
 *     RUN and addressed to this side's current epoch (no stale delivery
 *     across restarts, in either direction); sequence numbers consecutive
 *     within a RUN session, increasing across sessions of the same pairing;
 *   - every peer-index load that passes the guard also passes the doc's
 *     validation (a restart never looks like a protocol violation or like
 *     fresh messages);
 *   - no deadlock: only "idle in RUN" (and the spent crasher) carry end
 *     labels, and the Monitor asserts, once nothing can move, that both
 *     sides are in RUN with all messages sent and both rings drained;
 *   - ltl together: <>[] TOGETHER (same condition), checked with pan -a:
 *     after the last restart the sides reach RUN together again, with no
 *     livelock. No fairness is needed: no process busy-waits (a poll that
 *     would find nothing new is modelled as a blocked guard).
 * R never reaches its own step 4/5 here (S never restarts); S does.
 *
 * The protocol checked is the doc's plus three fixes (see model/README.md);
 * each -DDOC_* switch restores the doc's text and spin finds the flaw:
 *   DOC_STEP1_ZERO   zero own array in step 1; the peer may still be
 *                    copying a slot it saw published (fix: zero it in step
 *                    2, once the peer is seen INIT or READY)
 *   DOC_STEP1_ORDER  epoch += 1 before publishing INIT (fix: INIT first)
 *   DOC_STEP3        no post-check after publishing RUN (fix: publish RUN,
 *                    full fence, re-read the peer's state and epoch, and
 *                    fall back to READY if they no longer match)
 * Bug variants, each of which pan must reject:
 *   BUG_NO_GUARD            peer-index loads are used without the guard
 *   BUG_RESET_BEFORE_STATE  step 1 resets own indices before publishing INIT
 *   BUG_NO_EPOCH            guard and step 4 ignore the epoch
 *   BUG_NO_DISCARD          step 5 keeps own outgoing messages
 */

#define N     3    /* slots per ring; one always stays empty */
#ifndef KR
#define KR    2    /* messages R sends per pairing of epochs */
#endif
#ifndef KS
#define KS    3    /* messages S sends per pairing (fills its ring) */
#endif
#define K(x)  ((x) == R -> KR : KS)
#define MAXR  2    /* crashes + shutdowns of R */
#define EPMAX 4    /* epochs 1..MAXR+1 fit the message encoding */

#define INIT      0
#define READY     1
#define RUN       2
#define SHUTDOWN  3
#define PEER_DEAD 4
#define NOMAGIC   5   /* queue head without its magic (fresh memory) */

#define R 0
#define S 1

/* message: producer epoch (< 8), consumer epoch (< 4), sequence (1..7) */
#define MSG(pe, ce, sq) ((pe) * 32 + (ce) * 8 + (sq))
#define M_PE(m)   ((m) / 32)
#define M_CE(m)   (((m) / 8) % 4)
#define M_PAIR(m) ((m) / 8)
#define M_SEQ(m)  ((m) % 8)

#define FILL(a, b) (((b) + N - (a)) % N)
#define SLOT(side, i) arr[(side) * N + (i)]

/* the peer looks alive and is the epoch recorded at RUN entry */
#ifdef BUG_NO_EPOCH
#define PEER_OK(st_, ep_, rec_) ((st_) == READY || (st_) == RUN)
#else
#define PEER_OK(st_, ep_, rec_) \
	(((st_) == READY || (st_) == RUN) && (ep_) == (rec_))
#endif

/* shared memory (persists across R's crashes) */
byte st[2] = NOMAGIC;  /* magic | state in each side's queue head */
byte ep[2];            /* each side's epoch */
byte tail[2];          /* each side's producer index P of its own array */
byte head[2];          /* each side's consumer index C into the peer's array */
byte arr[2 * N];       /* each side's element array, 0 = zeroed */

/* per-side message counters: globals only so the ltl formula can read
 * them; each is touched by its own side only, R's is lost on a crash */
byte sent[2];

/* crash injection */
byte crash;            /* 0 none, 1 crash, 2 shutdown (step 6) then restart */
byte nrest;            /* crashes/shutdowns so far */

active proctype Crasher()
{
end_crasher:
	do
	:: crash == 0 && nrest < MAXR -> crash = 1; nrest++
	:: crash == 0 && nrest < MAXR -> crash = 2; nrest++
	od
}

#define ZERO_OWN \
	SLOT(me, 0) = 0; SLOT(me, 1) = 0; SLOT(me, 2) = 0

#define RESET_OWN \
	tail[me] = 0; head[me] = 0; \
	d_step { p = 0; cseen = 0; c = 0; pseen = 0 }

/* guard after a peer-index load: on mismatch ECONNRESET, lifecycle step 4 */
#ifdef BUG_NO_GUARD
#define GUARD skip
#else
#define GUARD \
	s = st[peer]; e = ep[peer]; \
	if \
	:: !PEER_OK(s, e, rec) -> goto dead \
	:: else -> skip \
	fi
#endif

/*
 * One side's protocol, used by both processes; me and peer are constants.
 * Own epoch, indices and counters live in locals (process state).
 */
#define SIDE_LOCALS \
	byte life;             /* own epoch, kept privately */ \
	byte rec;              /* peer epoch recorded at RUN entry */ \
	byte p, cseen;         /* producer: own index, cached peer C */ \
	byte c, pseen;         /* consumer: own index, cached peer P */ \
	byte s, e, tmp, m; \
	byte pair = 255;       /* (life, rec) that sent[me] counts for */ \
	byte lpair, lseq;      /* last delivered message */ \
	bit insess             /* delivered something in this RUN session */

inline side(me, peer)
{
	/* step 1: publish INIT, epoch += 1, then reset own side */
#ifdef BUG_RESET_BEFORE_STATE
	tail[me] = 0;
	head[me] = 0;
#endif
#ifdef DOC_STEP1_ORDER
	ep[me] = ep[me] + 1;
	st[me] = INIT;
#else
	st[me] = INIT;
	ep[me] = ep[me] + 1;
#endif
	life = ep[me];
	assert(life < EPMAX);
#ifdef DOC_STEP1_ZERO
	ZERO_OWN;
#endif
	tail[me] = 0;
	head[me] = 0;

	/* step 2: INIT -> READY once the peer is INIT or READY */
	(st[peer] == INIT || st[peer] == READY);
#ifndef DOC_STEP1_ZERO
	ZERO_OWN;
#endif
	RESET_OWN;
	st[me] = READY;

ready:		/* step 3: READY -> RUN once the peer is READY or RUN */
	(st[peer] == READY || st[peer] == RUN);
	s = st[peer];
	e = ep[peer];
	if
	:: s == READY || s == RUN -> skip
	:: else -> goto ready
	fi;
	rec = e;
	st[me] = RUN;
#ifndef DOC_STEP3
	/* post-check (after a full fence): the peer may have restarted
	 * and paired with our READY while we recorded its old epoch */
	s = st[peer];
	e = ep[peer];
	if
	:: PEER_OK(s, e, rec) -> skip
	:: else -> st[me] = READY; goto ready
	fi;
#endif
	d_step {
		if
		:: pair != life * 8 + rec -> pair = life * 8 + rec; sent[me] = 0
		:: else -> skip
		fi;
		insess = 0; s = 0; e = 0
	};

end_run:	/* RUN: idle here when nothing is left to do */
	do
	:: sent[me] < K(me) && (p + 1) % N != cseen ->   /* room, by the cache */
		sent[me]++;
		SLOT(me, p) = MSG(life, rec, sent[me]);  /* write the slot */
		p = (p + 1) % N;
		tail[me] = p                             /* publish P */
	:: sent[me] < K(me) && (p + 1) % N == cseen && head[peer] != cseen ->
		/* full by the cache, and C moved: load C, run the guard
		 * (a poll that finds C unchanged changes nothing) */
		tmp = head[peer];
		GUARD;
		assert(tmp < N && FILL(cseen, tmp) <= FILL(cseen, p));
		d_step { cseen = tmp; tmp = 0; s = 0; e = 0 }
	:: c != pseen ->                             /* a message, by the cache */
		m = SLOT(peer, c);
		assert(m != 0);                          /* not zeroed */
		assert(M_PE(m) == rec && M_CE(m) == life); /* not stale */
		assert((insess -> M_SEQ(m) == lseq + 1
		                : (M_PAIR(m) != lpair || M_SEQ(m) > lseq)));
		d_step {
			lpair = M_PAIR(m); lseq = M_SEQ(m); insess = 1; m = 0;
			c = (c + 1) % N
		};
		head[me] = c                             /* publish C */
	:: c == pseen && tail[peer] != pseen ->      /* P moved: load it */
		tmp = tail[peer];
		GUARD;
		assert(tmp < N && FILL(c, tmp) >= FILL(c, pseen));
		d_step { pseen = tmp; tmp = 0; s = 0; e = 0 }
	:: !PEER_OK(st[peer], ep[peer], rec) ->      /* step 4 poll */
		s = st[peer];
		e = ep[peer];
		if
		:: !PEER_OK(s, e, rec) -> goto dead
		:: else -> d_step { s = 0; e = 0 }
		fi
	od;

dead:		/* step 4: RUN -> PEER_DEAD (pending work fails) */
	st[me] = PEER_DEAD;
	/* step 5: PEER_DEAD -> READY once the peer is INIT or READY;
	 * discard own unconsumed outgoing messages */
	(st[peer] == INIT || st[peer] == READY);
#ifndef BUG_NO_DISCARD
	ZERO_OWN;
	RESET_OWN;
#else
	head[me] = 0;
	d_step { c = 0; pseen = 0 };
#endif
	d_step { s = 0; e = 0; tmp = 0 };
	st[me] = READY;
	goto ready
}

/* the restarter: loses its process state at any point, at most MAXR times */
active proctype Restarter()
{
	SIDE_LOCALS;

restart:
	{
		side(R, S)
	} unless {
		crash != 0 ->
		if
		:: crash == 2 -> st[R] = SHUTDOWN        /* step 6 */
		:: else -> skip                          /* crash: no last word */
		fi;
		d_step {
			crash = 0; sent[R] = 0; pair = 255;
			life = 0; rec = 0; p = 0; cseen = 0; c = 0; pseen = 0;
			s = 0; e = 0; tmp = 0; m = 0; lpair = 0; lseq = 0; insess = 0
		};
		goto restart
	}
}

/* the survivor: never restarted */
active proctype Survivor()
{
	SIDE_LOCALS;

	side(S, R)
}

/* both sides in RUN, all messages of the current pairing sent, rings drained */
#define TOGETHER \
	(st[R] == RUN && st[S] == RUN && sent[R] == KR && sent[S] == KS && \
	 tail[R] == head[S] && tail[S] == head[R])

/* when nothing can move any more, the sides must be together */
active proctype Monitor()
{
	timeout -> assert(TOGETHER)
}

ltl together { <>[] TOGETHER }
