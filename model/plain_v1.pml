/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * STATUS: work in progress, not run by scripts/check-model.sh. The model
 * does not pass yet (model/README.md, "plain_v1.pml"): with channel.c's
 * rule (-DCODE_READY_RESET) V1 fails, because a plain peer that already
 * saw our READY/RUN goes RUN after we reset our tail under it; with the
 * proposed fix (default: a READY peer gets a resync, like a RUN peer) V1
 * still fails on a rejoin trace not yet analysed, and with MAXU=1 the
 * search takes 16 M states (22 s, 800 MB), over the CI budget.
 *
 * plain_v1.pml - our lifecycle rules for a plain vmamp v1 peer (Linux,
 * QEMU: no epoch, never reads our state after RUN, gives up when it starts
 * against a state above RUN), docs/ring-protocol.md "Plain v1 peers", as
 * src/shm/channel.c implements them (start, plain_init_step, enter_run,
 * peer_lost, plain_rings_lost, vmsg_shm_chan_peer_gone) with the ring
 * helpers of src/spsc/ring.c (start_found, prod/cons_resync, prod/cons
 * reset, prod/cons_refresh with their validation, the guard). Run it
 * through scripts/check-model.sh; model/README.md explains what is
 * modelled and what is not.
 *
 * Process Us is this library on a plain layout; it may crash and start
 * again (locals lost, shared memory kept) at most MAXU times. Process Peer
 * is the plain peer of tests/test_shm_lifecycle.c (struct v1peer): it
 * zeroes its own array (its status word still shows its previous life),
 * publishes INIT (and its magic), waits for our magic, gives up for good
 * (SHUTDOWN) if our state is above RUN, else resets its tail and head to 0
 * and publishes READY, waits while we are INIT (without a bound: see
 * model/README.md), gives up if we are then above RUN, else publishes RUN
 * and never reads our state again. It may crash, or unregister (publish
 * SHUTDOWN), and start again at any point, at most MAXP times. Its consumer
 * caches our tail (reloads it only when its cache says empty), as the
 * prototypes' rings do; its producer reads our head on every send.
 *
 * Messages carry (sender's life or session, sequence number); 0 is a
 * zeroed slot, which the receiver's codec drops (msg_size 0).
 *
 * Properties (assertions, ghosts in capitals in the comments):
 *   L1 the plain peer never finds our state above RUN (it never gives up);
 *   L2 no deadlock: once nothing can move, both are in RUN, every message
 *      of the peer's current life and of our current session is sent and
 *      both rings are drained (Monitor; only "idle in RUN" is an end
 *      state), and ltl together <>[] TOGETHER (pan -a, no fairness);
 *   A1 what we deliver from the peer (non-zero) strictly increases in
 *      (peer life, sequence): no duplicate, no reordering, nothing of an
 *      earlier peer life after a later one, across our restarts too;
 *   A2 within one RUN session of ours and one peer life, consecutive;
 *   A3 after a resync that skips (our restart, peer in RUN), nothing the
 *      peer had published before it; after a restart of the peer that we
 *      noticed, nothing of its earlier lives;
 *   B1 what one life of the peer takes from us (non-zero) strictly
 *      increases in (our session, sequence);
 *   B2 after our reset or resync, the peer never takes a message we sent
 *      before it (it reads zeros instead);
 *   V1 an index that fails validation (taken as a restart) always follows
 *      an index reset of the peer since we took our base: an honest peer
 *      that did not restart is never declared gone.
 *
 * Bug variants, each of which pan must reject:
 *   BUG_PEER_DEAD     on peer loss publish PEER_DEAD and wait for the peer's
 *                     INIT or READY (the extended rule, the old behaviour)
 *   BUG_WAIT_RUN      in INIT, wait for a peer in RUN to drop instead of
 *                     resyncing (the extended step 2)
 *   BUG_LATCH         an index violation latches the ring (VMSG_EPROTO) and
 *                     is not taken for a restart
 *   BUG_NO_ZERO       resync does not zero our array
 *   BUG_RESYNC_P_TO_C resync moves our producer index to the peer's
 *                     consumer index instead of keeping it
 *   BUG_NO_SKIP       consumer resync always keeps its place
 */

#define N     3    /* slots per ring; one always stays empty */
#define KP    2    /* messages the peer sends per life */
#define KU    2    /* messages we send per RUN session */
#ifndef MAXP
#define MAXP  2    /* crashes + unregisters of the peer */
#endif
#ifndef MAXU
#define MAXU  1    /* crashes of ours */
#endif

#define INIT      0
#define READY     1
#define RUN       2
#define SHUTDOWN  3
#define PEER_DEAD 4
#define NOMAGIC   5   /* queue head without its magic (fresh memory) */

#define U 0        /* us: this library */
#define P 1        /* the plain v1 peer */

/* message: (life or session, sequence 1..7); 0 = zeroed slot */
#define MSG(l, sq) ((l) * 8 + (sq))
#define M_L(m)     ((m) / 8)
#define M_SEQ(m)   ((m) % 8)

#define DIST(a, b) (((b) + N - (a)) % N)
#define SLOT(side, i) arr[(side) * N + (i)]

/* shared memory */
byte st[2] = NOMAGIC;  /* magic | state in each side's queue head */
byte tail[2];          /* each side's producer index of its own array */
byte head[2];          /* each side's consumer index into the other's array */
byte arr[2 * N];       /* each side's element array */

/* ghosts (read by assertions only; no process branches on them) */
byte plife;            /* the peer's life, counted when it publishes INIT */
byte psent;            /* messages the peer's current life wrote */
byte pgen;             /* the peer's index resets (each of tail, head) */
byte plast;            /* B1: last message the peer's life took */
byte urg;              /* B1: pgen when we took our current index base */
byte usess;            /* our RUN sessions, across our restarts */
byte usent;            /* messages of our current session written */
byte ucut;             /* B2: the peer takes nothing of sessions < ucut */
byte acut;             /* A3: we deliver nothing below acut */
byte lastm;            /* A1: last non-zero message we delivered */

/* crash injection */
byte pcrash;           /* 0 none, 1 crash, 2 unregister (SHUTDOWN) */
byte pnrest;
bit ucrash;
byte unrest;

active proctype Crasher()
{
end_crasher:
	do
	:: pcrash == 0 && pnrest < MAXP -> pcrash = 1; pnrest++
	:: pcrash == 0 && pnrest < MAXP -> pcrash = 2; pnrest++
	:: ucrash == 0 && unrest < MAXU -> ucrash = 1; unrest++
	od
}

/* ------------------------------------------------------------------ */
/* The plain v1 peer                                                  */
/* ------------------------------------------------------------------ */

active proctype Peer()
{
	byte t, h, pc, s, m;   /* own tail and head, cached our tail */

restart:
	{
		/* zero own array first: the status word may still show RUN */
		SLOT(P, 0) = 0;
		SLOT(P, 1) = 0;
		SLOT(P, 2) = 0;
		d_step { st[P] = INIT; plife++; psent = 0; plast = 0 };
		(st[U] != NOMAGIC);          /* our magic */
		s = st[U];
		assert(s <= RUN);            /* L1 */
		if
		:: s > RUN -> goto give_up
		:: else -> skip
		fi;
		d_step { tail[P] = 0; pgen++ };
		d_step { head[P] = 0; pgen++; t = 0; h = 0; pc = 0 };
		st[P] = READY;
pwait:
		(st[U] != INIT);             /* sleep while we are INIT */
		s = st[U];
		assert(s <= RUN);            /* L1 */
		if
		:: s == INIT -> goto pwait
		:: s > RUN -> goto give_up
		:: else -> skip
		fi;
		st[P] = RUN;                 /* our state is never read again */
end_prun:
		do
		:: psent < KP && (t + 1) % N != head[U] ->
			d_step { psent++; SLOT(P, t) = MSG(plife, psent); t = (t + 1) % N };
			tail[P] = t
		:: h != pc ->
			d_step {
				m = SLOT(U, h);
				/* B2: nothing we sent before our last reset/resync */
				assert(m == 0 || M_L(m) >= ucut);
				/* B1: with our base taken after this life reset
				 * its indices, it takes what we sent since in
				 * order, once */
				if
				:: m != 0 && urg == pgen && M_L(m) >= ucut ->
					assert(m > plast); plast = m
				:: else -> skip
				fi;
				m = 0; h = (h + 1) % N
			};
			head[P] = h
		:: h == pc && tail[U] != pc ->
			pc = tail[U]
		od;
give_up:
		st[P] = SHUTDOWN;
		false                        /* for good (not a valid end) */
	} unless {
		pcrash != 0 ->
		if
		:: pcrash == 2 -> st[P] = SHUTDOWN   /* unregister */
		:: else -> skip
		fi;
		d_step { pcrash = 0; t = 0; h = 0; pc = 0; s = 0; m = 0 };
		goto restart
	}
}

/* ------------------------------------------------------------------ */
/* Us: src/shm/channel.c on a plain layout                            */
/* ------------------------------------------------------------------ */

#define ZERO_OWN \
	SLOT(U, 0) = 0; SLOT(U, 1) = 0; SLOT(U, 2) = 0

#define OK_ST(x) ((x) == READY || (x) == RUN)

/* plain_init_step: which peer states get a reset, which a resync */
#ifdef CODE_READY_RESET
#define RESET_ST(x)  ((x) == INIT || (x) == READY)   /* channel.c today */
#define RESYNC_ST(x) ((x) == RUN)
#else
#define RESET_ST(x)  ((x) == INIT)                   /* proposed fix */
#define RESYNC_ST(x) ((x) == READY || (x) == RUN)
#endif

/* the ring's guard after a peer-index load (or before taking a slot known
 * from an earlier load): the peer must show READY or RUN; on a mismatch the
 * call fails (ECONNRESET) and changes nothing; the bus polls next (gf) */
#define GUARD \
	s = st[P]; \
	if \
	:: !OK_ST(s) -> gf = 1; goto next \
	:: else -> skip \
	fi

/* a violation: plain v1 takes it for a restart (ECONNRESET, then DOWN) */
#ifdef BUG_LATCH
#define VIOLATION broken = 1; goto next
#else
#define VIOLATION goto violation
#endif

/* the poll in RUN finds something to act on (a poll that would find
 * nothing new is a blocked guard, so nothing busy-waits) */
#define POLL_WORK \
	(gf || st[P] == NOMAGIC || st[P] == INIT || st[P] >= SHUTDOWN || \
	 (st[P] == READY && was_run) || (st[P] == RUN && !was_run) || \
	 (!broken && (head[P] != cs || tail[P] != ps)))

active proctype Us()
{
	byte p, cs;            /* producer: own index (= published), cached C */
	byte c, ps;            /* consumer: own index (= published), cached P */
	byte s, tmp, m;
	byte rg;               /* pgen when we took our base (V1) */
	bit was_run, rejoin, gf, broken, insess;

restart:
	{
		/* start(): INIT first; the indices found in memory stay */
		st[U] = INIT;
		d_step { p = tail[U]; cs = p; c = head[U]; ps = c; was_run = 0; rejoin = 0 };

uinit:		/* plain_init_step: a peer above RUN or without magic: wait */
		(st[P] == INIT || st[P] == READY || st[P] == RUN);
		d_step {
			s = st[P];
			if
			:: RESET_ST(s) -> acut = (acut > MSG(plife, 0) -> acut : MSG(plife, 0))
			:: else -> skip
			fi
		};
		if
		:: RESET_ST(s) ->
			/* prod_reset(zero) and cons_reset */
			ZERO_OWN;
			d_step { ucut = usess + 1; p = 0; cs = 0 };
			tail[U] = 0;
			d_step { c = 0; ps = 0; rg = 255; urg = 255 };
			head[U] = 0
		:: RESYNC_ST(s) ->
#ifdef BUG_WAIT_RUN
			goto uinit;
#endif
			/* prod_resync: take C, zero own array, keep own P */
			d_step { tmp = head[P]; rg = pgen; urg = pgen };
#ifndef BUG_NO_ZERO
			ZERO_OWN;
			ucut = usess + 1;
#endif
#ifdef BUG_RESYNC_P_TO_C
			d_step { cs = tmp; p = tmp; tmp = 0 };
			tail[U] = p;
#else
			d_step { cs = tmp; tmp = 0 };
#endif
			/* cons_resync(skip = !rejoin) */
			d_step {
				tmp = tail[P];
#ifndef BUG_NO_SKIP
				if
				:: !rejoin -> acut = MSG(plife, psent)
				:: else -> skip
				fi
#endif
			};
#ifdef BUG_NO_SKIP
			d_step { ps = c; tmp = 0 };
#else
			d_step {
				if
				:: !rejoin -> c = tmp
				:: else -> skip
				fi;
				ps = c; tmp = 0
			};
#endif
			head[U] = c
		:: else -> goto uinit
		fi;
		d_step { broken = 0; gf = 0; s = 0 };
		st[U] = READY;

ready:		/* READY -> RUN (enter_run) when the peer is READY or RUN */
		(OK_ST(st[P]));
		d_step {
			s = st[P];
			if
			:: rg == 255 -> rg = pgen; urg = pgen  /* base after a reset */
			:: else -> skip
			fi
		};
		if
		:: OK_ST(s) -> skip
		:: else -> goto ready
		fi;
		was_run = (s == RUN);
		st[U] = RUN;
		/* full fence, post-check */
		s = st[P];
		if
		:: OK_ST(s) -> skip
		:: else -> st[U] = READY; goto ready
		fi;
		d_step { usess++; usent = 0; insess = 0; s = 0 };
		assert(usess < 31);

end_run:	/* RUN */
		do
		:: !gf && !broken && usent < KU && (p + 1) % N != cs ->  /* room */
			d_step { usent++; SLOT(U, p) = MSG(usess, usent); p = (p + 1) % N };
			tail[U] = p
		:: !gf && !broken && usent < KU && (p + 1) % N == cs && head[P] != cs ->
			/* full by the cache and C moved: prod_refresh */
			tmp = head[P];
			GUARD;
			if
			:: DIST(cs, tmp) > DIST(cs, p) -> VIOLATION
			:: else -> d_step { cs = tmp; tmp = 0; s = 0 }
			fi
		:: !gf && !broken && c != ps ->
			/* peek: a slot known from an earlier load is guarded */
			GUARD;
			d_step {
				m = SLOT(P, c);
				if
				:: m != 0 ->
					assert(m >= acut);          /* A3 */
					/* A1, A2: unless the peer reset its indices
					 * since we took our base (a restart we have
					 * not noticed yet) */
					assert(rg != pgen || m > lastm);
					assert(rg != pgen || !insess || M_L(m) != M_L(lastm) ||
					       M_SEQ(m) == M_SEQ(lastm) + 1);
					lastm = m; insess = 1
				:: else -> skip
				fi;
				m = 0; s = 0; c = (c + 1) % N
			};
			head[U] = c
		:: !gf && !broken && c == ps && tail[P] != ps ->
			/* empty by the cache and P moved: cons_refresh (with
			 * c == ps the filled count cannot shrink) */
			tmp = tail[P];
			GUARD;
			d_step { ps = tmp; tmp = 0; s = 0 }
		:: POLL_WORK ->
			/* vmsg_shm_chan_poll in RUN: peer_lost, then
			 * plain_rings_lost (prod_check, cons_check) */
			gf = 0;
			s = st[P];
			if
			:: s == NOMAGIC || s == INIT || s >= SHUTDOWN -> goto down
			:: s == READY && was_run -> goto down
			:: s == RUN -> was_run = 1
			:: else -> skip
			fi;
			if
			:: broken -> goto next     /* BUG_LATCH: check fails, ignored */
			:: else -> skip
			fi;
			tmp = head[P];
			s = st[P];
			if
			:: !OK_ST(s) -> goto down
			:: DIST(cs, tmp) > DIST(cs, p) -> VIOLATION
			:: else -> d_step { cs = tmp; tmp = 0 }
			fi;
			tmp = tail[P];
			s = st[P];
			if
			:: !OK_ST(s) -> goto down
			:: DIST(c, tmp) < DIST(c, ps) -> VIOLATION
			:: else -> d_step { ps = tmp; tmp = 0; s = 0 }
			fi
		od;
next:		/* a call that failed (guard) or a latched ring: back to RUN */
		skip;
		d_step { tmp = 0; s = 0 };
		goto end_run;

violation:	/* V1: only a restart of the peer makes an index go wrong */
		assert(pgen != rg);
down:		/* vmsg_shm_chan_peer_gone */
#ifdef BUG_PEER_DEAD
		st[U] = PEER_DEAD;
		(st[P] == INIT || st[P] == READY);   /* the extended step 5 */
		d_step { acut = (acut > MSG(plife, 0) -> acut : MSG(plife, 0)); tmp = 0; s = 0 };
		ZERO_OWN;
		d_step { ucut = usess + 1; p = 0; cs = 0 };
		tail[U] = 0;
		d_step { c = 0; ps = 0; rg = 255; was_run = 0; gf = 0 };
		head[U] = 0;
		st[U] = READY;
		goto ready;
#else
		st[U] = INIT;
		d_step {
			acut = (acut > MSG(plife, 0) -> acut : MSG(plife, 0));
			was_run = 0; rejoin = 1; gf = 0; tmp = 0; s = 0
		};
		goto uinit
#endif
	} unless {
		ucrash -> /* crash: no last word; locals are lost */
		d_step {
			ucrash = 0; p = 0; cs = 0; c = 0; ps = 0; s = 0; tmp = 0; m = 0;
			rg = 0; was_run = 0; rejoin = 0; gf = 0; broken = 0; insess = 0
		};
		goto restart
	}
}

/* both in RUN, all messages of the current life/session sent, both drained */
#define TOGETHER \
	(st[U] == RUN && st[P] == RUN && usent == KU && psent == KP && \
	 tail[P] == head[U] && tail[U] == head[P])

active proctype Monitor()
{
	timeout -> assert(TOGETHER)
}

ltl together { <>[] TOGETHER }
