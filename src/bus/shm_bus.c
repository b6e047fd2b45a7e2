/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bus ops over a shared-memory channel. A port only supplies a doorbell,
 * a wait and the mapping; the ring, the lifecycle and kick suppression are
 * here, written once.
 */
#include "virtio_msg/shm_bus.h"

#include "virtio_msg/config.h"
#include "virtio_msg/wire.h"

#include "shm/shm_internal.h"
#include "spsc/arch.h"
#include "spsc/ring_internal.h"

#define LIFECYCLE_POLL_NS 20000000 /* while not RUN, peers may not kick */

/* Why recv reports a reset (sb->reset_due). */
#define RESET_PEER_GONE 1u /* the port saw the peer go */
#define RESET_PARAMS 2u    /* the bus parameters changed (BUS-9) */
#define IDLE_CLOCK_EVERY 16        /* empty receives per look at the clock */

/*
 * Shortcuts that buy instructions with code bytes are for builds not
 * optimised for size (the firmware images are), as in src/proto. Built for
 * speed, a receive takes its message with no call of ours in between (each
 * of shm_recv()'s two calls gets a copy of rx_take()), reads a short
 * message from its slot at once (RX_HEAD), and says when it knows of no
 * further message (recv_more, bus.h).
 */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define SHM_BUS_FOR_SPEED 1
#define RX_TAKE static inline __attribute__((always_inline))
#define RX_HEAD 16u /* bytes of a slot the first read takes */
#else
#define SHM_BUS_FOR_SPEED 0
#define RX_TAKE static
#endif

#if !VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
/* The port's clock; false when it has none or it failed (callers then
 * act as without a clock: no spin, idle work every time). */
static bool clock_ns(struct vmsg_shm_bus *sb, uint64_t *ns)
{
	uint64_t t;

	if (!sb->hooks.now || sb->hooks.now(sb->hooks.ctx, &t) != 0)
		return false;
	*ns = t;
	return true;
}
#endif

/* The channel's lifecycle state (vmsg_shm_chan_state(), inlined: the hot
 * paths look at it several times per message). */
static inline int chan_state(const struct vmsg_shm_bus *sb)
{
	return sb->ch->state;
}

/* The bus maximum: the slot, or less when the port says its peer copies
 * less (shm_bus.h), and never more than msg_size can say. */
static uint32_t max_msg(const struct vmsg_shm_bus *sb)
{
	uint32_t m = sb->ch->tx.d.slot_size; /* vmsg_shm_chan_slot_size(), inlined */
	uint32_t h = sb->hooks.max_msg_size;

	/* h below m, and not 0 (no limit: h - 1 wraps), with no branch: this
	 * runs on every send and receive. */
	if (h - 1u < m)
		m = h;
	return m > VMSG_MAX_MSG_SIZE_MAX ? VMSG_MAX_MSG_SIZE_MAX : m;
}

static int kick(struct vmsg_shm_bus *sb)
{
	int r = sb->hooks.kick(sb->hooks.ctx);

	if (r == 0)
		sb->kicks++;
	return r;
}

/*
 * BUS-9: the parameters the bus read (shm_params()) may not hold any more.
 * A non-owner re-attaches when the owner comes back with a new layout
 * (channel.c, layout_moved()), an owner whose application opened its
 * channel again writes one: the slot, so the maximum message size, can
 * differ. Looked at when the lifecycle moves, which it does between the
 * old session and the first message of the new one. recv then reports a
 * reset, once, and the bus reads the parameters again before it sends
 * more. Nothing is reported to a caller that never asked for them.
 */
static void params_look(struct vmsg_shm_bus *sb)
{
	uint32_t m = max_msg(sb);

	if (sb->max_told && m != sb->max_told) {
		sb->max_told = m;
		sb->reset_due |= RESET_PARAMS;
	}
}

/* Advance the lifecycle; kick the peer whenever our state moved, so it
 * re-polls at once instead of at its next timeout. */
static int lifecycle(struct vmsg_shm_bus *sb)
{
	int before = chan_state(sb);
	int ev = vmsg_shm_chan_poll(sb->ch);

	if (ev >= 0 && chan_state(sb) != before) {
		kick(sb);
		params_look(sb);
	}
	return ev;
}

/* A reset is due (sb->reset_due): is it one to report? A hang-up the port
 * saw is, unless the lifecycle had seen the peer go already. */
static bool reset_report(struct vmsg_shm_bus *sb)
{
	unsigned why = sb->reset_due;
	bool down = (why & RESET_PARAMS) != 0;

	sb->reset_due = 0;
	if ((why & RESET_PEER_GONE) && (vmsg_shm_chan_peer_gone(sb->ch) & VMSG_SHM_EV_DOWN))
		down = true;
	return down;
}

/*
 * Is it time for the idle work (OS events, the lifecycle while in RUN)?
 * Rate-limited: on a busy-polled bus, an empty ring is checked millions of
 * times a second. In RUN a peer restart is caught anyway by the ring's
 * guard on its next index load; the tick catches the rest (a hang-up, a
 * plain v1 peer dropping back to READY) within service_ns.
 */
static bool idle_tick(struct vmsg_shm_bus *sb)
{
#if VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
	(void)sb;
	return true; /* every time: a firmware's look at the lifecycle is cheap */
#else
	uint64_t period, t;

	if (!sb->hooks.now)
		return true;
	/* A clock read costs about as much as a look at the ring: a busy
	 * poller looks at the clock every IDLE_CLOCK_EVERY empty receives,
	 * and after every wait (which may have slept). */
	if (!sb->tick_due && ++sb->idle_count < IDLE_CLOCK_EVERY)
		return false;
	period = sb->hooks.service_ns ? sb->hooks.service_ns : 10000000u;
	sb->tick_due = false;
	sb->idle_count = 0;
	if (!clock_ns(sb, &t))
		return true; /* a failed clock cannot pace it: look now */
	if (t - sb->last_service < period)
		return false;
	sb->last_service = t;
	return true;
#endif
}

/*
 * Give back the receive slots taken by rx_take(). Their messages were copied
 * out already; only our consumer index is late. It lives in our queue-head
 * line (vmamp v1: next to our producer index), which the peer polls: giving
 * it back right after each receive made that line travel to the peer and
 * back once more before our reply's producer index could follow it. So it
 * goes with the next send, just before that send's producer index (both
 * stores then take the line once, before the peer looks), before any wait,
 * or when half the ring is held. Not after the send: the peer takes the
 * line to read the new producer index, the late consumer index takes it
 * back, and the peer's next look at our index (its next poll, on its way
 * to sending) waits for the line to come over again.
 */
static void rx_release(struct vmsg_shm_bus *sb)
{
	if (sb->rx_held) {
		(void)vmsg_spsc_release(&sb->ch->rx);
		sb->rx_held = 0;
	}
}

/* A msg_size from the peer, clamped to [header, lim] (see rx_take()). */
static inline size_t clamp_len(size_t len, size_t lim)
{
	if (len < VMSG_HDR_SIZE)
		return VMSG_HDR_SIZE;
	return len > lim ? lim : len;
}

#if SHM_BUS_FOR_SPEED
/* Copy 8 <= @n <= 16 bytes: two 8-byte moves, one from each end (they
 * overlap below 16), no branch and no libc. */
static inline void copy_head(uint8_t *d, const uint8_t *s, size_t n)
{
	uint64_t a, b;

	__builtin_memcpy(&a, s, 8);
	__builtin_memcpy(&b, s + n - 8, 8);
	__builtin_memcpy(d, &a, 8);
	__builtin_memcpy(d + n - 8, &b, 8);
}
#endif

/*
 * Receive one message and keep its slot until rx_release(). Only the bytes
 * the message declares are copied: its header first (or RX_HEAD bytes into
 * a private copy), then the rest of its msg_size, read from our copy of the
 * header (the slot is the peer's memory and may change under us). A
 * msg_size the peer got wrong is clamped, never trusted: below the header
 * size only the header is delivered, above the bus maximum (the slot, or
 * less: shm_bus.h) or @cap what fits, so the codec sees a msg_size that
 * disagrees with the length and drops the message as malformed (as it did
 * when whole slots were copied).
 */
RX_TAKE int rx_take(struct vmsg_shm_bus *sb, uint8_t *buf, size_t cap)
{
	struct vmsg_spsc_cons *rx = &sb->ch->rx;
	const void *p;
	const uint8_t *slot;
	size_t lim, len;
	int r;

	if (chan_state(sb) != VMSG_SHM_RUN)
		return VMSG_ESTATE;
	if (!buf || cap == 0)
		return VMSG_EINVAL;
	r = vmsg_spsc_peek(rx, &p);
	if (r)
		return vmsg_shm_ring_err(sb->ch, r);
	slot = p;
	lim = max_msg(sb);
	if (cap < lim)
		lim = cap;
	if (lim <= VMSG_HDR_SIZE) {
		len = lim; /* no room past a header: as much as fits */
		vmsg_spsc_slot_read(&rx->d, slot, buf, len);
	} else {
#if SHM_BUS_FOR_SPEED
		/* One read takes the header and, for a short message (PING, the
		 * events, a request with no payload), all of it: into a copy
		 * here, so that @buf gets only the bytes declared. One ring
		 * call where two were needed. */
		uint8_t head[RX_HEAD];
		size_t first = lim < RX_HEAD ? lim : RX_HEAD;

		vmsg_spsc_slot_read(&rx->d, slot, head, first);
		len = clamp_len(vmsg_wire_msg_size(head), lim);
		copy_head(buf, head, len < first ? len : first);
		if (len > first)
			vmsg_spsc_slot_read(&rx->d, slot + first, buf + first, len - first);
#else
		vmsg_spsc_slot_read(&rx->d, slot, buf, VMSG_HDR_SIZE);
		len = clamp_len(vmsg_wire_msg_size(buf), lim);
		if (len > VMSG_HDR_SIZE)
			vmsg_spsc_slot_read(&rx->d, slot + VMSG_HDR_SIZE, buf + VMSG_HDR_SIZE,
					    len - VMSG_HDR_SIZE);
#endif
	}
	if (++sb->rx_held >= rx->d.num_slots / 2u)
		rx_release(sb);
	return (int)len;
}

/* The kick check a corked send left: one for every send since the last
 * (vmsg_shm_bus_cork()); model/ring.pml DEFER_KICK. */
static void kick_flush(struct vmsg_shm_bus *sb)
{
	if (sb->kick_due) {
		sb->kick_due = false;
		if (vmsg_spsc_prod_need_kick(&sb->ch->tx))
			kick(sb);
	}
}

static int shm_send(void *priv, const uint8_t *msg, size_t len)
{
	struct vmsg_shm_bus *sb = priv;
	int st = chan_state(sb), r;

	/* A reset recv has still to report: nothing goes out before the bus
	 * has seen it. The peer went: no peer. New parameters (BUS-9): not
	 * yet, until a poll has taken them. */
	if (sb->reset_due)
		return sb->reset_due & RESET_PEER_GONE ? VMSG_ECONNRESET : VMSG_EAGAIN;
	/* The slot may hold more than the peer takes: never let it cut one. */
	if (len > max_msg(sb))
		return VMSG_EMSGSIZE;
	if (st != VMSG_SHM_RUN) {
		if (lifecycle(sb) < 0)
			return VMSG_EPROTO;
		st = chan_state(sb);
		if (st != VMSG_SHM_RUN)
			return st == VMSG_SHM_INIT || st == VMSG_SHM_READY ? VMSG_EAGAIN :
									     VMSG_ECONNRESET;
	}
	/* vmsg_shm_chan_send() and _need_kick() without their calls: RUN
	 * was checked above. The consumer index first (rx_release()). */
	rx_release(sb);
	r = vmsg_spsc_push(&sb->ch->tx, msg, len);
	if (r) {
		/* Full: the peer must be awake to make room. */
		if (r == VMSG_EAGAIN)
			kick_flush(sb);
		r = vmsg_shm_ring_err(sb->ch, r);
	} else if (sb->corked) {
		sb->kick_due = true;
	} else {
		sb->kick_due = false; /* this check covers the earlier sends */
		if (vmsg_spsc_prod_need_kick(&sb->ch->tx))
			kick(sb);
	}
	return r;
}

/* Built for speed, the receive is recv_one(), a copy each in shm_recv()
 * and shm_recv_more() (no call between them); built for size, shm_recv()
 * itself. */
#if SHM_BUS_FOR_SPEED
static int shm_recv(void *priv, uint8_t *buf, size_t cap);

RX_TAKE int recv_one(void *priv, uint8_t *buf, size_t cap)
#else
static int shm_recv(void *priv, uint8_t *buf, size_t cap)
#endif
{
	struct vmsg_shm_bus *sb = priv;
	int r, ev;

	if (sb->reset_due && reset_report(sb))
		return VMSG_ECONNRESET;
	if (chan_state(sb) == VMSG_SHM_RUN) {
#if VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
		/* Every empty receive looks at the lifecycle anyway (idle_tick):
		 * the cheap look below would only add code. */
		r = rx_take(sb, buf, cap);
#else
		/* Nothing new (the common empty poll): a load and a compare,
		 * not the guarded receive path. The guard runs on the first
		 * index that shows work; a restart that shows none is seen by
		 * the idle look at the lifecycle below. */
		if (buf && cap && !sb->guard_due && vmsg_spsc_cons_idle(&sb->ch->rx, false))
			r = VMSG_EAGAIN;
		else
			r = rx_take(sb, buf, cap);
		sb->guard_due = false;
#endif
		if (r > 0 || (r != VMSG_EAGAIN && r != VMSG_ECONNRESET))
			return r;
		if (r == VMSG_EAGAIN && !idle_tick(sb))
			return VMSG_EAGAIN;
	}
	/* Idle tick, a guard that saw a restart, or not RUN yet: look at the
	 * OS and at the lifecycle. */
	if (sb->hooks.service)
		(void)sb->hooks.service(sb->hooks.ctx);
	if (sb->reset_due)
		return shm_recv(priv, buf, cap);
	ev = lifecycle(sb);
	if (ev < 0) /* a layout we cannot drive, a broken peer: as shm_send() */
		return VMSG_EPROTO;
	if (ev & VMSG_SHM_EV_DOWN)
		return VMSG_ECONNRESET;
	if (sb->reset_due) /* new parameters: said before any message */
		return shm_recv(priv, buf, cap);
	if (chan_state(sb) != VMSG_SHM_RUN)
		return VMSG_EAGAIN;
	return rx_take(sb, buf, cap);
}

#if SHM_BUS_FOR_SPEED
static int shm_recv(void *priv, uint8_t *buf, size_t cap)
{
	return recv_one(priv, buf, cap);
}
#endif

/*
 * A receive that also says whether another message is known (bus.h): every
 * slot the last validated producer index showed is taken when our index
 * caught up with it (as vmsg_spsc_cons_idle() tells, ring_internal.h).
 * Without it the bus would end each poll with an empty receive, a look at
 * the peer's index; a message published since is seen by the next poll,
 * and by our wait and arm, which look again before sleeping.
 */
#if SHM_BUS_FOR_SPEED
static int shm_recv_more(void *priv, uint8_t *buf, size_t cap, bool *more)
{
	struct vmsg_shm_bus *sb = priv;
	int r = recv_one(priv, buf, cap);

	if (r > 0)
		*more = sb->ch->rx.cons != sb->ch->rx.prod_seen;
	return r;
}
#endif

/*
 * The next receive skips the cheap look (shm_recv()) and takes the guarded
 * path: after a wait that saw work, the look would only find it again. On
 * an empty ring the guarded path says so too, one index load dearer.
 */
static inline void guard_next(struct vmsg_shm_bus *sb)
{
#if VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
	(void)sb; /* no cheap look to skip */
#else
	sb->guard_due = true;
#endif
}

#if !VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
/* Time for the port's service hook during a spin (paced as idle_tick()
 * paces it for empty receives, on a clock of its own: the spin's looks at
 * the port must not postpone the receive's idle work, which also looks at
 * the lifecycle)? */
static bool spin_service_due(struct vmsg_shm_bus *sb, uint64_t t)
{
	uint64_t period = sb->hooks.service_ns ? sb->hooks.service_ns : 10000000u;

	if (!sb->hooks.service || t - sb->spin_service < period)
		return false;
	sb->spin_service = t;
	return true;
}
#endif

/* Spin first (adaptive mode), then arm and re-check, then sleep. */
static int shm_wait(void *priv, int64_t timeout_ns)
{
	struct vmsg_shm_bus *sb = priv;
	int r;

	/* A consumer that waits gives back what it holds: the producer may
	 * be waiting for room. A producer that waits kicks for what it sent. */
	rx_release(sb);
	kick_flush(sb);
	if (chan_state(sb) == VMSG_SHM_RUN) {
#if !VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
		/* The spin is part of the caller's wait: it never spins
		 * longer than @timeout_ns, and the sleep after it gets what is
		 * left. A wait of 0 only looks. */
		if (sb->hooks.spin_ns && sb->hooks.now && timeout_ns != 0) {
			uint64_t spin = sb->hooks.spin_ns, start = 0, t = 0;
			unsigned n = 0;
			bool started = false;

			if (timeout_ns > 0 && (uint64_t)timeout_ns < spin)
				spin = (uint64_t)timeout_ns;
			/* Read the clock only every 64 looks at the ring (the
			 * first time to start the spin budget). */
			for (;;) {
				/* Work (or a new index, which the receive
				 * must judge anyway): the receive after us
				 * goes straight to the guarded path, without
				 * a second cheap look. */
				if (!vmsg_spsc_cons_idle(&sb->ch->rx, true)) {
					sb->spins_hit++;
					guard_next(sb);
					return 0;
				}
				vmsg_cpu_relax();
				if (++n % 64)
					continue;
				/* The cheap look skips the guard: every 64th
				 * look runs it, so a peer that leaves or
				 * restarts ends the spin, and the receive
				 * after it takes the guarded path to say so. */
				if (vmsg_spsc_cons_pending(&sb->ch->rx) != 0) {
					sb->guard_due = true;
					return 0;
				}
				if (!clock_ns(sb, &t))
					break; /* no clock to bound the spin */
				if (!started) {
					start = t;
					started = true;
				} else if (t - start >= spin) {
					break;
				}
				/* A peer that dies leaves the ring alone: look
				 * at the port (a socket hang-up) as often as an
				 * idle receive does, not only when the spin
				 * ends, so its death is seen within service_ns
				 * however long the spin. */
				if (spin_service_due(sb, t)) {
					sb->hooks.service(sb->hooks.ctx);
					if (sb->reset_due)
						return 0; /* recv reports it */
				}
			}
			if (timeout_ns > 0) {
				uint64_t spent = t - start;

				timeout_ns = spent >= (uint64_t)timeout_ns ?
						     0 :
						     timeout_ns - (int64_t)spent;
			}
		}
#endif
		r = vmsg_shm_chan_arm(sb->ch);
		if (r != 0) {
			/* Work arrived, or an error recv will report: the
			 * guarded path sees both. */
			guard_next(sb);
			return 0;
		}
	} else if (timeout_ns < 0 || timeout_ns > LIFECYCLE_POLL_NS) {
		timeout_ns = LIFECYCLE_POLL_NS;
	}
	r = sb->hooks.wait(sb->hooks.ctx, timeout_ns);
	vmsg_shm_chan_awake(sb->ch);
	sb->tick_due = true; /* we may have slept: the idle work is due */
	if (r == 0)
		guard_next(sb); /* woken: most likely by a message */
	return r;
}

/*
 * An application's own event loop is about to sleep on the port's fd: the
 * same steps as shm_wait() without the port's wait. The port's service
 * hook first: it drains the doorbell (else the fd stays readable and the
 * loop spins) and sees hang-ups and new peers; a doorbell rung after it
 * makes the fd readable again. Then arm and re-check. The consumer stays
 * armed after it wakes (its token was kicked for once), so the producer
 * keeps checking the awake word until the next arm: the fence it costs
 * anyway, and never a lost wake-up.
 */
static int shm_arm(void *priv)
{
	struct vmsg_shm_bus *sb = priv;
	int r;

	rx_release(sb);
	kick_flush(sb);
	if (sb->hooks.service)
		(void)sb->hooks.service(sb->hooks.ctx);
	if (sb->reset_due)
		return 1; /* recv reports it */
	sb->tick_due = true; /* we may sleep: the idle work is due after */
	if (chan_state(sb) != VMSG_SHM_RUN) {
		/* The doorbell just drained may have been the peer's step of
		 * the handshake: take the step now, or it is lost. */
		r = lifecycle(sb);
		if (r < 0 || (r & VMSG_SHM_EV_DOWN) || sb->reset_due)
			return 1;
		if (chan_state(sb) != VMSG_SHM_RUN)
			return 0; /* see vmsg_bus_prepare_sleep(): short timeouts */
	}
	r = vmsg_shm_chan_arm(sb->ch);
	return r == 0 ? 0 : 1; /* work, or an error recv will report */
}

static int shm_cork(void *priv, bool on)
{
	vmsg_shm_bus_cork(priv, on);
	return 0;
}

/* An explicit kick (vmsg_bus_kick()): the check a corked burst left is
 * answered by this doorbell too. */
static int shm_kick(void *priv)
{
	struct vmsg_shm_bus *sb = priv;

	sb->kick_due = false;
	return kick(sb);
}

static int shm_doorbells(void *priv, uint64_t *rung)
{
	*rung = ((struct vmsg_shm_bus *)priv)->kicks;
	return 0;
}

static int shm_params(void *priv, struct vmsg_bus_params *out)
{
	struct vmsg_shm_bus *sb = priv;

	out->revision = 1;
	out->max_msg_size = sb->max_told = max_msg(sb);
	out->transport_features = sb->transport_features;
	return 0;
}

static int shm_now(void *priv, uint64_t *ns)
{
	struct vmsg_shm_bus *sb = priv;

	return sb->hooks.now ? sb->hooks.now(sb->hooks.ctx, ns) : VMSG_ENOTSUP;
}

static int shm_translate(void *priv, uint64_t addr, uint64_t len, void **ptr)
{
	struct vmsg_shm_bus *sb = priv;

	if (!sb->hooks.translate)
		return VMSG_ENOTSUP;
	return sb->hooks.translate(sb->hooks.ctx, addr, len, ptr);
}

static int shm_close(void *priv)
{
	struct vmsg_shm_bus *sb = priv;

	vmsg_shm_chan_shutdown(sb->ch);
	kick(sb); /* let the peer see SHUTDOWN now */
	return sb->hooks.close ? sb->hooks.close(sb->hooks.ctx) : 0;
}

const struct vmsg_bus_ops vmsg_shm_bus_ops = {
	.send = shm_send,
	.recv = shm_recv,
	.wait = shm_wait,
	.params = shm_params,
	.now = shm_now,
	.translate = shm_translate,
	.close = shm_close,
	.arm = shm_arm,
	.cork = shm_cork,
	.kick = shm_kick,
	.doorbells = shm_doorbells,
#if SHM_BUS_FOR_SPEED /* the bus built for size does not use it (bus.c) */
	.recv_more = shm_recv_more,
#endif
};

int vmsg_shm_bus_init(struct vmsg_shm_bus *sb, struct vmsg_shm_chan *ch,
		      const struct vmsg_shm_bus_hooks *hooks, uint64_t transport_features)
{
	if (!sb || !ch || !hooks || !hooks->kick || !hooks->wait)
		return VMSG_EINVAL;
	if (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT && hooks->spin_ns)
		return VMSG_ENOTSUP; /* no spinning in this build (config.h) */
	*sb = (struct vmsg_shm_bus){ 0 };
	sb->ch = ch;
	sb->hooks = *hooks;
	sb->transport_features = transport_features;
	return 0;
}

void vmsg_shm_bus_peer_gone(struct vmsg_shm_bus *sb)
{
	sb->reset_due |= RESET_PEER_GONE;
}

void vmsg_shm_bus_cork(struct vmsg_shm_bus *sb, bool on)
{
	sb->corked = on;
	if (!on)
		kick_flush(sb);
}
