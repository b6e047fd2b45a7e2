/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests in flight: token allocation, correlation of responses, timeouts
 * and the blocking call helper (virtio-msg 1.10, 1.11; BUS-26..28, 33..36);
 * the bounded event send (BUS-46).
 *
 * The bus owns the token (BUS-4): the low byte is the request slot, the
 * high byte a generation that changes every time the slot is reused, so a
 * late response to a timed-out request can never complete a newer one. The
 * generation is never 0, so no request ever carries token 0 (the token of
 * events, and a value older peers reject on requests).
 */
#include "bus/bus_internal.h"

uint64_t vmsg_bus_now(struct vmsg_bus *b)
{
	uint64_t ns;

	if (b->has_now && b->cfg.ops->now(b->cfg.priv, &ns) != 0) {
		/* The clock failed: count waits from its last reading on, so
		 * deadlines set in its nanoseconds still come (bus.h). */
		b->has_now = false;
		b->ticks = b->last_now;
	}
	if (!b->has_now)
		ns = b->ticks;
	b->last_now = ns;
	return ns;
}

int vmsg_bus_send_msg(struct vmsg_bus *b, const struct vmsg_msg *m)
{
	int n;

	if (b->closed)
		return VMSG_EINVAL; /* a handler's answer after vmsg_bus_close() */
	if (b->params_bad)
		return VMSG_ESTATE; /* BUS-9: parameters refused, nothing goes out */
	n = vmsg_proto_encode(&b->codec, m, b->cfg.tx_buf, b->cfg.tx_cap);
	if (n < 0)
		return n;
	n = b->cfg.ops->send(b->cfg.priv, b->cfg.tx_buf, (size_t)n);
	if (n == VMSG_EAGAIN)
		b->stats.send_full++;
	if (n == 0)
		b->stats.sent++;
	return n;
}

/* A request slot stops being pending (completed, or forgotten). */
static void free_req(struct vmsg_bus *b, struct vmsg_bus_req *r)
{
	r->busy = 0;
	if (b->num_busy && --b->num_busy == 0)
		b->next_deadline = UINT64_MAX;
}

static void finish(struct vmsg_bus *b, struct vmsg_bus_req *r, int status,
		   const struct vmsg_msg *resp)
{
	vmsg_bus_done_fn done = r->done;
	void *ctx = r->ctx;

	/* Free the slot first: the callback may submit the next request. */
	free_req(b, r);
	if (status == VMSG_ETIMEDOUT)
		b->stats.timeouts++;
	if (done)
		done(ctx, status, resp);
}

static bool matches(const struct vmsg_bus_req *r, const struct vmsg_msg *m)
{
	/* Correlation is by token; the echoed fields must agree too (wire
	 * note 4.7), so a confused peer cannot complete the wrong request. */
	return r->busy && r->msg_id == m->msg_id && r->dev_num == m->dev_num &&
	       (r->type | VMSG_TYPE_RESPONSE) == m->type;
}

void vmsg_bus_complete_response(struct vmsg_bus *b, const struct vmsg_msg *m)
{
	unsigned slot = m->token & 0xFFu;
	struct vmsg_bus_req *r = 0;

	if (slot < b->cfg.num_reqs && b->cfg.reqs[slot].token == m->token &&
	    matches(&b->cfg.reqs[slot], m))
		r = &b->cfg.reqs[slot];
	/* 2025-era peers answer bus requests with token 0 (wire note 1.11):
	 * take the oldest matching bus request instead. */
	if (!r && vmsg_bus_is_2025(b) && (m->type & VMSG_TYPE_BUS) &&
	    m->token == 0) {
		for (unsigned i = 0; i < b->cfg.num_reqs; i++) {
			struct vmsg_bus_req *c = &b->cfg.reqs[i];

			if (matches(c, m) && (!r || c->deadline < r->deadline))
				r = c;
		}
	}
	if (!r) {
		b->stats.drop_unmatched++;
		return;
	}
	b->stats.responses++;
	finish(b, r, 0, m);
}

/*
 * Failing requests is two steps: choose the victims, then complete them.
 * A callback run between or during them (on_params, a completion) may
 * submit a new request, into a freed slot too, which must not fail with
 * the old ones; and it may close the bus or remove a device, failing
 * requests in a pass of its own. So each pass remembers its victims (a
 * bitmap) and marks them in their busy byte with its own value (2..255;
 * a submit writes 1): it completes a slot only while both still say it is
 * its own. A nested pass completes whatever it marked before it returns,
 * so a mark that came round again after 254 passes names no slot but
 * those of the pass that holds it.
 */
void vmsg_bus_fail_choose(struct vmsg_bus *b, struct vmsg_bus_fail *f, bool one_dev,
			  uint16_t dev_num)
{
	f->mark = (uint8_t)(b->fail_pass < 2 || b->fail_pass == 255 ? 2 : b->fail_pass + 1);
	b->fail_pass = f->mark;
	for (unsigned i = 0; i < 256 / 32; i++)
		f->bits[i] = 0;
	for (unsigned i = 0; i < b->cfg.num_reqs; i++) {
		struct vmsg_bus_req *r = &b->cfg.reqs[i];

		if (r->busy && (!one_dev || (!(r->type & VMSG_TYPE_BUS) && r->dev_num == dev_num))) {
			r->busy = f->mark;
			f->bits[i / 32] |= 1u << (i % 32);
		}
	}
}

void vmsg_bus_fail_chosen(struct vmsg_bus *b, const struct vmsg_bus_fail *f, int status)
{
	for (unsigned i = 0; i < b->cfg.num_reqs; i++)
		if ((f->bits[i / 32] & (1u << (i % 32))) && b->cfg.reqs[i].busy == f->mark)
			finish(b, &b->cfg.reqs[i], status, 0);
}

void vmsg_bus_fail_pending(struct vmsg_bus *b, int status, bool one_dev, uint16_t dev_num)
{
	struct vmsg_bus_fail f;

	vmsg_bus_fail_choose(b, &f, one_dev, dev_num);
	vmsg_bus_fail_chosen(b, &f, status);
}

/* now + d without wrapping: a huge budget means "never", not "long ago". */
static uint64_t deadline_after(uint64_t now, uint64_t d)
{
	return d > UINT64_MAX - now ? UINT64_MAX : now + d;
}

void vmsg_bus_expire(struct vmsg_bus *b, uint64_t now)
{
	/* Recompute the earliest deadline on the way. A callback may submit
	 * into a slot already passed: vmsg_bus_submit() lowers it then. */
	b->next_deadline = UINT64_MAX;
	for (unsigned i = 0; i < b->cfg.num_reqs; i++) {
		struct vmsg_bus_req *r = &b->cfg.reqs[i];

		if (!r->busy)
			continue;
		if (now >= r->deadline)
			finish(b, r, VMSG_ETIMEDOUT, 0);
		else if (r->deadline < b->next_deadline)
			b->next_deadline = r->deadline;
	}
}

/* Round robin from next_slot (no division: this is on every request). */
static struct vmsg_bus_req *free_slot(struct vmsg_bus *b)
{
	unsigned n = b->cfg.num_reqs, i = b->next_slot;

	for (unsigned k = 0; k < n; k++, i++) {
		if (i >= n)
			i = 0;
		if (!b->cfg.reqs[i].busy) {
			b->next_slot = (uint16_t)(i + 1 < n ? i + 1 : 0);
			return &b->cfg.reqs[i];
		}
	}
	return 0;
}

int vmsg_bus_submit(struct vmsg_bus *b, const struct vmsg_msg *req, uint64_t timeout_ns,
		    vmsg_bus_done_fn done, void *ctx)
{
	struct vmsg_bus_req *r;
	struct vmsg_msg m;
	uint64_t now;
	int err;

	if (!b || !req || b->closed || (req->type & VMSG_TYPE_RESPONSE) ||
	    (req->msg_id & VMSG_ID_EVENT))
		return VMSG_EINVAL;
	if (!(req->type & VMSG_TYPE_BUS)) {
		/* Transport requests go driver -> device only, and only to a
		 * device number known to be there (BUS-15, BUS-18). */
		if (!vmsg_bus_is_driver(b))
			return VMSG_EINVAL;
		if (!vmsg_bus_device_present(b, req->dev_num))
			return VMSG_ENODEV;
	}
	r = free_slot(b);
	if (!r)
		return VMSG_EBUSY;
	m = *req;
	r->gen = (uint8_t)(r->gen == 0xFF ? 1 : r->gen + 1);
	m.token = (uint16_t)((r->gen << 8) | (unsigned)(r - b->cfg.reqs));
	err = vmsg_bus_send_msg(b, &m);
	if (err)
		return err;
	/* The one clock read of a submit: after the send, so it is not on
	 * the way from the caller to the peer. */
	now = vmsg_bus_now(b);
	r->done = done;
	r->ctx = ctx;
	r->deadline = deadline_after(now, timeout_ns);
	r->token = m.token;
	r->dev_num = m.dev_num;
	r->msg_id = m.msg_id;
	r->type = m.type;
	r->busy = 1;
	if (b->num_busy++ == 0 || r->deadline < b->next_deadline)
		b->next_deadline = r->deadline;
	b->stats.requests++;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Blocking helpers                                                       */
/* ---------------------------------------------------------------------- */

struct call_state {
	vmsg_bus_resp_fn on_resp;
	void *ctx;
	int status;
	bool done;
};

static void call_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	struct call_state *cs = ctx;

	cs->done = true;
	cs->status = status;
	if (!status && resp && cs->on_resp)
		cs->status = cs->on_resp(cs->ctx, resp);
}

/* Time left from @now until @deadline, as a wait budget. */
static int64_t remaining(const struct vmsg_bus *b, uint64_t deadline, uint64_t now)
{
	uint64_t left = deadline > now ? deadline - now : 0;

	if (!b->has_now) /* counted ticks: wait one tick at a time */
		return (int64_t)(b->cfg.tick_ns ? b->cfg.tick_ns : 1000000u);
	return left > INT64_MAX ? INT64_MAX : (int64_t)left;
}

/*
 * How long one wait for room in the port may last. A peer that makes room
 * rings no doorbell for it (the shm bus arms for arrivals only), so a send
 * the port refused is tried again at least this often.
 */
#define ROOM_SLICE_NS INT64_C(1000000)

static int64_t room_slice(int64_t left)
{
	return left < ROOM_SLICE_NS ? left : ROOM_SLICE_NS;
}

/* The call gives up (the port failed): its request must not outlive it,
 * or its completion would run on a stack frame that is gone. A response
 * that still arrives is counted as unmatched. */
static void forget_call(struct vmsg_bus *b, struct call_state *cs)
{
	for (unsigned i = 0; i < b->cfg.num_reqs; i++) {
		struct vmsg_bus_req *r = &b->cfg.reqs[i];

		if (r->busy && r->done == call_done && r->ctx == cs)
			free_req(b, r);
	}
}

/*
 * One attempt. The clock is read once on the way (by the submit, after its
 * send); while the request is pending, every poll reads it once more (to
 * expire requests), and the wait budget comes from that reading.
 */
static int call_once(struct vmsg_bus *b, const struct vmsg_msg *req, struct call_state *cs,
		     uint64_t timeout_ns)
{
	uint64_t now, deadline = 0;
	bool retried = false;
	int err;

	cs->done = false;
	/* The port may be full or the link not up yet: keep trying until the
	 * deadline set at the first refusal, waiting on the port in between. */
	while ((err = vmsg_bus_submit(b, req, timeout_ns, call_done, cs)) == VMSG_EAGAIN) {
		now = vmsg_bus_now(b);
		if (!retried)
			deadline = deadline_after(now, timeout_ns);
		retried = true;
		if (now >= deadline)
			return VMSG_ETIMEDOUT;
		err = vmsg_bus_wait(b, room_slice(remaining(b, deadline, now)));
		if (err < 0)
			return err;
	}
	if (err)
		return err;
	if (!retried)
		deadline = deadline_after(b->last_now, timeout_ns); /* read by the submit */
	while (!cs->done) {
		/* Our request is pending, so the submit or the last wait's
		 * poll read the clock: b->last_now is that reading. */
		err = vmsg_bus_wait(b, remaining(b, deadline, b->last_now));
		if (err < 0 && !cs->done) {
			forget_call(b, cs);
			return err;
		}
	}
	return cs->status;
}

int vmsg_bus_call_fn(struct vmsg_bus *b, const struct vmsg_msg *req, uint64_t timeout_ns,
		     unsigned retries, vmsg_bus_resp_fn on_resp, void *ctx)
{
	struct call_state cs = { on_resp, ctx, 0, false };
	int err;

	/* A first poll lets what is already queued be seen. */
	err = vmsg_bus_poll(b);
	if (err < 0)
		return err;
	do {
		err = call_once(b, req, &cs, timeout_ns);
	} while (err == VMSG_ETIMEDOUT && retries-- > 0);
	return err;
}

struct copy_out {
	struct vmsg_bus *b;
	struct vmsg_msg *resp;
	uint8_t *buf;
	size_t cap;
};

/* Keep the response: copy its raw bytes into the caller's buffer and decode
 * them again there, so the views point into memory the caller owns. */
static int copy_response(void *ctx, const struct vmsg_msg *resp)
{
	struct copy_out *co = ctx;
	size_t n = co->b->cur_len;

	(void)resp;
	if (n > co->cap)
		return VMSG_ENOSPC;
	for (size_t i = 0; i < n; i++)
		co->buf[i] = co->b->cur_raw[i];
	return vmsg_proto_decode(&co->b->codec, co->buf, n, co->resp);
}

int vmsg_bus_call(struct vmsg_bus *b, const struct vmsg_msg *req, struct vmsg_msg *resp,
		  uint8_t *buf, size_t cap, uint64_t timeout_ns, unsigned retries)
{
	struct copy_out co = { b, resp, buf, cap };

	if (!b || !req || !resp || !buf)
		return VMSG_EINVAL;
	return vmsg_bus_call_fn(b, req, timeout_ns, retries, copy_response, &co);
}

int vmsg_bus_send_event_timeout(struct vmsg_bus *b, const struct vmsg_msg *ev,
				uint64_t timeout_ns)
{
	uint64_t now, deadline, resets;
	int err;

	if (!b || b->closed)
		return VMSG_EINVAL;
	err = vmsg_bus_send_event(b, ev); /* checks @ev too */
	if (err != VMSG_EAGAIN)
		return err;
	resets = b->stats.resets;
	now = vmsg_bus_now(b);
	deadline = deadline_after(now, timeout_ns);
	while (now < deadline) {
		uint64_t left = deadline - now;
		int64_t slice = room_slice(left > INT64_MAX ? INT64_MAX : (int64_t)left);

		err = vmsg_bus_wait(b, slice);
		if (err < 0)
			return err;
		/* The event belongs to the session it was made in: one that
		 * ended while we waited must not get it, nor the next one. */
		if (b->stats.resets != resets)
			return VMSG_ECONNRESET;
		if (b->closed) /* by a handler the poll ran */
			return VMSG_ECANCELED;
		err = vmsg_bus_send_event(b, ev);
		if (err != VMSG_EAGAIN)
			return err;
		now = vmsg_bus_now(b); /* without ops->now: every wait counted */
	}
	b->stats.event_timeouts++;
	return VMSG_ETIMEDOUT;
}
