/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plain_v1.pml - our lifecycle rules for a plain vmamp v1 peer (Linux,
 * QEMU: no epoch, never reads our state after RUN, gives up when it starts
 * against a state above RUN), docs/ring-protocol.md "Plain v1 peers", as
 * src/shm/channel.c implements them (start, plain_look, plain_init_step,
 * enter_run, peer_lost, plain_rings_lost, vmsg_shm_chan_peer_gone) with the
 * ring helpers of src/spsc/ring.c (start_found, prod/cons_resync, prod/cons
 * reset, prod/cons_refresh with their validation, the guard). Run it
 * through scripts/check-model.sh, in the configurations model/README.md
 * lists (-DMAXP, -DMAXU, -DKP, -DKU); the README says what is modelled.
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
 * The rule for a READY peer: after publishing INIT we look at the peer
 * once (plain_look); a READY is "fresh" if we saw it in another state at
 * that look or while waiting in INIT since: then it was published after
 * our INIT, that peer waits for us and we reset. Any other READY may come
 * from a peer that saw our earlier READY or RUN, goes RUN and caches our
 * tail: we resync, as with a peer in RUN.
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
 *   A1 what we deliver from the peer (non-zero) with an index base the
 *      peer has not reset since strictly increases in (peer life,
 *      sequence): no duplicate, no reordering, nothing of an earlier peer
 *      life after a later one, across our restarts too;
 *   A2 within one RUN session of ours and one peer life, consecutive;
 *   A3 after a resync (our consumer skips), nothing the peer had written
 *      before it; after a reset, nothing of the peer's earlier lives;
 *   B1 what one life of the peer takes from us (non-zero) strictly
 *      increases in (our session, sequence), unless OVR;
 *   B2 after our reset or resync, the peer never takes a message we sent
 *      before it (it reads zeros instead);
 *   V1 an index that fails validation (taken as a restart) always follows
 *      an index reset of the peer since we took our base, or OVR: an
 *      honest peer that did not restart is never declared gone.
 * OVR: our producer published an index into a life of the peer whose
 * consumer index it had not seen (the peer restarted and we did not notice
 * before our next send). That life may then read our slots out of place
 * for the rest of its life (what v1 cannot give, docs/ring-protocol.md);
 * B1 and V1 are not checked for it, everything else is.
 *
 * Bug variants, each of which pan must reject:
 *   BUG_READY_RESET   reset on any READY peer (the rule before this model)
 *   BUG_LOOK_BEFORE_INIT  the look that makes a READY fresh is taken before
 *                     our INIT is published (or not fenced after it)
 *   BUG_PEER_DEAD     on peer loss publish PEER_DEAD and wait for the peer's
 *                     INIT or READY (the extended rule, the old behaviour)
 *   BUG_WAIT_RUN      in INIT, wait for a peer in RUN (or READY, not fresh)
 *                     to change instead of resyncing (the extended step 2)
 *   BUG_LATCH         an index violation latches the ring (VMSG_EPROTO) and
 *                     is not taken for a restart
 *   BUG_NO_ZERO       resync does not zero our array
 *   BUG_RESYNC_P_TO_C resync moves our producer index to the peer's
 *                     consumer index instead of keeping it
 *   BUG_NO_SKIP       consumer resync keeps its place instead of taking the
 *                     peer's producer index
 */

#define N     3    /* slots per ring; one always stays empty */
#ifndef KP
#define KP    2    /* messages the peer sends per life */
#endif
#ifndef KU
#define KU    2    /* messages we send per RUN session */
#endif
#ifndef MAXP
#define MAXP  1    /* crashes + unregisters of the peer */
#endif
#ifndef MAXU
#define MAXU  0    /* crashes of ours */
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
bit csok;              /* our producer's cached C is of the peer's current life */
bit ovr;               /* V1, B1: our producer published into a life of the
                        * peer whose head it had not seen (the peer reset its
                        * indices unnoticed): that life may read our slots out
                        * of place (README) */

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
		d_step { head[P] = 0; pgen++; ovr = 0; csok = 0; t = 0; h = 0; pc = 0 };
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
				:: m != 0 && urg == pgen && !ovr && M_L(m) >= ucut ->
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

/* plain_init_step: which peer states get a reset, which a resync. A READY
 * peer is "fresh" when, at a look after our INIT, we saw it in another
 * state: it published READY after our INIT and waits for us to leave it. */
#ifdef BUG_READY_RESET
#define RESET_ST(x)  ((x) == INIT || (x) == READY)   /* any READY: reset */
#else
#define RESET_ST(x)  ((x) == INIT || ((x) == READY && fresh))
#endif
#define RESYNC_ST(x) ((x) == RUN || ((x) == READY && !RESET_ST(x)))

/* the look at the peer after we publish INIT (start(), peer_gone(): full
 * fence, then the peer's state); BUG_LOOK_BEFORE_INIT takes it before */
#define LOOK fresh = (st[P] != READY)

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
	bit was_run, gf, broken, insess, fresh;

restart:
	{
		/* start(): INIT first; the indices found in memory stay */
#ifdef BUG_LOOK_BEFORE_INIT
		LOOK;
#endif
		st[U] = INIT;
		d_step { p = tail[U]; cs = p; c = head[U]; ps = c; was_run = 0 };
#ifndef BUG_LOOK_BEFORE_INIT
		LOOK;
#endif

uinit:		/* plain_init_step */
		atomic {
			s = st[P];
			if
			:: RESET_ST(s) -> acut = (acut > MSG(plife, 0) -> acut : MSG(plife, 0))
			:: else -> skip
			fi
		};
		if
		:: s != INIT && s != READY && s != RUN ->
			/* above RUN or no magic: wait, and a later READY is fresh */
			fresh = 1;
			(st[P] != s);
			goto uinit
		:: RESET_ST(s) ->
			/* prod_reset(zero) and cons_reset */
			ZERO_OWN;
			d_step { ucut = usess + 1; p = 0; cs = 0 };
			tail[U] = 0;
			d_step { c = 0; ps = 0; rg = 255; urg = 255 };
			head[U] = 0
		:: RESYNC_ST(s) ->
#ifdef BUG_WAIT_RUN
			(st[P] != s);
			goto uinit;
#endif
			/* prod_resync: take C, zero own array, keep own P */
			d_step { tmp = head[P]; rg = pgen; urg = pgen; csok = 1 };
#ifndef BUG_NO_ZERO
			ZERO_OWN;
#endif
			ucut = usess + 1;   /* B2 from here on */
#ifdef BUG_RESYNC_P_TO_C
			d_step { cs = tmp; p = tmp; tmp = 0 };
			tail[U] = p;
#else
			d_step { cs = tmp; tmp = 0 };
#endif
			/* cons_resync(skip): take the peer's P as ours; what it
			 * published so far is dropped unread */
#ifdef BUG_NO_SKIP
			d_step { ps = c; tmp = 0 };
#else
			d_step { acut = MSG(plife, psent); c = tail[P]; ps = c };
#endif
			head[U] = c
		:: else -> goto uinit
		fi;
		d_step { broken = 0; gf = 0; s = 0; fresh = 0 };
		st[U] = READY;

ready:		/* READY -> RUN (enter_run) when the peer is READY or RUN */
		(OK_ST(st[P]));
		d_step {
			s = st[P];
			if
			:: rg == 255 -> rg = pgen; urg = pgen; csok = 1  /* base after a reset */
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
			d_step { tail[U] = p; ovr = ovr || !csok }
		:: !gf && !broken && usent < KU && (p + 1) % N == cs && head[P] != cs ->
			/* full by the cache and C moved: prod_refresh */
			atomic {
				tmp = head[P];
				GUARD;   /* one atomic step with the load (README) */
				if
				:: DIST(cs, tmp) > DIST(cs, p) -> VIOLATION
				:: else -> cs = tmp; csok = 1; tmp = 0; s = 0
				fi
			}
		:: !gf && !broken && c != ps ->
			/* peek: a slot known from an earlier load is guarded */
			GUARD;
			d_step {
				m = SLOT(P, c);
				if
				:: m != 0 ->
					assert(m >= acut);          /* A3 */
					/* A1, A2, for what we take with an index
					 * base the peer has not reset since. What
					 * we take after an unnoticed restart (the
					 * peer reset its indices since our base) is
					 * what v1 cannot give: not checked, and not
					 * recorded either (README, "plain_v1.pml") */
					if
					:: rg == pgen ->
						assert(m > lastm);
						assert(!insess || M_L(m) != M_L(lastm) ||
						       M_SEQ(m) == M_SEQ(lastm) + 1);
						lastm = m; insess = 1
					:: else -> skip
					fi
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
			atomic {
				tmp = head[P];
				s = st[P];
				if
				:: !OK_ST(s) -> goto down
				:: DIST(cs, tmp) > DIST(cs, p) -> VIOLATION
				:: else -> cs = tmp; csok = 1; tmp = 0
				fi
			};
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

violation:	/* V1: only a restart of the peer makes an index go wrong: one
		 * since our base, or one our producer did not notice before it
		 * published into the new life (README) */
		assert(pgen != rg || ovr);
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
#ifdef BUG_LOOK_BEFORE_INIT
		LOOK;
#endif
		st[U] = INIT;
		d_step {
			acut = (acut > MSG(plife, 0) -> acut : MSG(plife, 0));
			was_run = 0; gf = 0; tmp = 0; s = 0
		};
#ifndef BUG_LOOK_BEFORE_INIT
		LOOK;
#endif
		goto uinit
#endif
	} unless {
		ucrash -> /* crash: no last word; locals are lost */
		d_step {
			ucrash = 0; p = 0; cs = 0; c = 0; ps = 0; s = 0; tmp = 0; m = 0;
			rg = 0; was_run = 0; gf = 0; broken = 0; insess = 0;
			fresh = 0
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
