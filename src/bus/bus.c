/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bus core: set-up, the poll loop body that drains and dispatches what
 * arrived, and the send paths (responses, events). Requests in flight are in
 * requests.c; device numbers and the bus messages in devices.c.
 */
#include "bus/bus_internal.h"

#define POLL_BUDGET 64u /* messages per poll, so one busy peer cannot starve the caller */

/* Builds optimised for size (the firmware images) drain every poll with
 * recv() and leave ops->recv_more alone: the code it takes buys them no
 * instructions they count. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define RECV_MORE 1
#else
#define RECV_MORE 0
#endif

/* The caller's arrays start empty; the core uses no libc. */
static void zero_bytes(void *p, size_t n)
{
	uint8_t *d = p;

	for (size_t i = 0; i < n; i++)
		d[i] = 0;
}

/*
 * Check @p (read from the port into it) and put it in force: BUS-10, the
 * caller's buffers, and the codec (which checks the size's lower bound for
 * the profile). A revision above ours is fine: we use only revision 1.
 * Nothing changes unless all of it is accepted. At init and after a reset
 * (revalidate()).
 */
static int take_params(struct vmsg_bus *b, const struct vmsg_bus_params *p)
{
	const struct vmsg_bus_cfg *cfg = &b->cfg;
	int err;

	if (p->revision < 1 || p->max_msg_size > VMSG_MAX_MSG_SIZE_MAX ||
	    cfg->rx_cap < p->max_msg_size || cfg->tx_cap < p->max_msg_size)
		return VMSG_EINVAL;
	err = vmsg_codec_init(&b->codec, cfg->profile, p->max_msg_size, cfg->codec_flags);
	if (!err)
		b->params = *p;
	return err;
}

int vmsg_bus_init(struct vmsg_bus *b, const struct vmsg_bus_cfg *cfg)
{
	const struct vmsg_bus_ops *ops = cfg ? cfg->ops : 0;
	struct vmsg_bus_params p = { 0 };
	int err;

	if (!b || !ops || !ops->send || !ops->recv || !ops->wait || !ops->params)
		return VMSG_EINVAL;
	if (cfg->role > VMSG_BUS_DEVICE || cfg->num_reqs > 256 || (cfg->num_reqs && !cfg->reqs) ||
	    (cfg->num_devs && !cfg->devs) || !cfg->rx_buf || !cfg->tx_buf)
		return VMSG_EINVAL;
	/* A role compiled out (config.h) cannot be had, as a compiled-out
	 * profile cannot (vmsg_codec_init()). */
	if ((cfg->role == VMSG_BUS_DRIVER && !VMSG_CONFIG_HAS_DRIVER) ||
	    (cfg->role == VMSG_BUS_DEVICE && !VMSG_CONFIG_HAS_DEVICE))
		return VMSG_ENOTSUP;
	*b = (struct vmsg_bus){ 0 };
	b->cfg = *cfg;
	err = ops->params(cfg->priv, &p);
	if (!err)
		err = take_params(b, &p);
	if (err) {
		b->closed = true; /* nothing to close: a vmsg_bus_close() now is refused */
		return err;
	}
	{
		uint64_t t;

		b->has_now = ops->now && ops->now(cfg->priv, &t) == 0;
	}
	zero_bytes(cfg->reqs, cfg->num_reqs * sizeof(*cfg->reqs));
	zero_bytes(cfg->devs, cfg->num_devs * sizeof(*cfg->devs));
	return 0;
}

int vmsg_bus_close(struct vmsg_bus *b)
{
	if (!b || b->closed)
		return VMSG_EINVAL;
	/* Closed first: a callback that submits from here is refused. */
	b->closed = true;
	vmsg_bus_fail_pending(b, VMSG_ECANCELED, false, 0);
	return b->cfg.ops->close ? b->cfg.ops->close(b->cfg.priv) : 0;
}

/*
 * BUS-9: after a reset the port may run with other parameters (the shm bus
 * reports one when a new layout changed its slot). Read them again; new
 * ones are checked as at init before anything more is sent or taken, and
 * the transport is told either way (vmsg_bus_params_fn).
 */
static void revalidate(struct vmsg_bus *b)
{
	struct vmsg_bus_params p = { 0 };
	int err = b->cfg.ops->params(b->cfg.priv, &p);

	if (!err && !b->params_bad && p.revision == b->params.revision &&
	    p.max_msg_size == b->params.max_msg_size &&
	    p.transport_features == b->params.transport_features)
		return;
	if (!err)
		err = take_params(b, &p);
	b->params_bad = err != 0;
	b->stats.param_changes++;
	if (b->cfg.on_params)
		b->cfg.on_params(b->cfg.on_params_ctx, b, err, &p);
}

/* A transport message for a device: route it by number (BUS-15, BUS-16). */
static void route(struct vmsg_bus *b, const struct vmsg_msg *m)
{
	struct vmsg_bus_dev *d = vmsg_bus_find_dev(b, m->dev_num);

	if (!d || (vmsg_bus_is_driver(b) && !d->present)) {
		b->stats.drop_unknown_device++;
		return;
	}
	if (!d->fn) {
		b->stats.drop_no_handler++;
		return;
	}
	d->fn(d->ctx, b, m);
}

static void dispatch_transport(struct vmsg_bus *b, const struct vmsg_msg *m)
{
	bool device = vmsg_bus_is_device(b);

	if (m->type & VMSG_TYPE_RESPONSE) {
		if (device)
			b->stats.drop_unsupported++; /* devices get no responses */
		else
			vmsg_bus_complete_response(b, m);
		return;
	}
	if (m->msg_id & VMSG_ID_EVENT) {
		/* Events run in the direction the spec gives them; the impl-
		 * defined ones go to the device handler either way. */
		bool ok = (m->msg_id & VMSG_ID_IMPL) ||
			  (device ? m->msg_id == VMSG_ID_EVENT_AVAIL :
				    m->msg_id != VMSG_ID_EVENT_AVAIL);

		if (!ok) {
			b->stats.drop_unsupported++;
			return;
		}
		b->stats.events_in++;
		route(b, m);
		return;
	}
	if (!device) {
		b->stats.drop_unsupported++; /* drivers get no transport requests */
		return;
	}
	route(b, m);
}

static void dispatch(struct vmsg_bus *b, const uint8_t *buf, size_t len)
{
	struct vmsg_msg m;
	int err;

	if (b->params_bad) {
		b->stats.drop_bad_params++; /* refused parameters: nothing is taken */
		return;
	}
	err = vmsg_proto_decode(&b->codec, buf, len, &m);
	if (err) {
		/* Malformed or unsupported: discarded and counted, never
		 * answered (DRV-24, DEV-30, BUS-29). */
		if (err == VMSG_ENOTSUP)
			b->stats.drop_unsupported++;
		else
			b->stats.drop_malformed++;
		return;
	}
	b->cur_raw = buf;
	b->cur_len = len < m.msg_size ? len : m.msg_size;
	if (m.type & VMSG_TYPE_BUS)
		vmsg_bus_handle_bus_msg(b, &m);
	else
		dispatch_transport(b, &m);
	b->cur_raw = 0;
	b->cur_len = 0;
}

int vmsg_bus_poll(struct vmsg_bus *b)
{
	unsigned n = 0;
	int err = 0;

	if (!b || b->closed)
		return VMSG_EINVAL;
	while (n < POLL_BUDGET) {
		const struct vmsg_bus_ops *ops = b->cfg.ops;
		bool more = true;
		/* A port that says when nothing more is known spares the
		 * empty receive that would end the loop (bus.h). */
		int r = RECV_MORE && ops->recv_more ?
				ops->recv_more(b->cfg.priv, b->cfg.rx_buf, b->cfg.rx_cap, &more) :
				ops->recv(b->cfg.priv, b->cfg.rx_buf, b->cfg.rx_cap);

		if (r == VMSG_EAGAIN)
			break;
		if (r == VMSG_ECONNRESET) {
			/* The peer went away, or the port's parameters changed:
			 * every request pending now fails cleanly, but the new
			 * parameters are put in force first (BUS-9: a completion
			 * that submits again must meet them), and a request
			 * on_params submits belongs to the new session. Counts
			 * towards the budget, so a flapping port cannot hold
			 * us. */
			struct vmsg_bus_fail f;

			b->stats.resets++;
			vmsg_bus_fail_choose(b, &f, false, 0);
			revalidate(b);
			if (!b->closed) /* on_params may close the bus */
				vmsg_bus_fail_chosen(b, &f, VMSG_ECONNRESET);
			n++;
		} else if (r < 0) {
			/* A broken peer: say so, but let time go on for what is
			 * pending (BUS-28), or a peer that stays broken would
			 * hold every request for ever. */
			err = r;
			break;
		} else {
			b->stats.received++;
			n++;
			dispatch(b, b->cfg.rx_buf, (size_t)r);
			if (!more)
				break;
		}
		/* A callback may have closed the bus: no op after close(). */
		if (b->closed)
			return (int)n;
	}
	/* One clock read, and only while a request is pending; the scan only
	 * once the earliest deadline can have passed. */
	if (b->num_busy) {
		uint64_t now = vmsg_bus_now(b);

		if (now >= b->next_deadline)
			vmsg_bus_expire(b, now);
	}
	return err ? err : (int)n;
}

/* The counted clock without ops->now, saturating: a deadline set near
 * its end must still come, not wrap to long ago. */
static void add_ticks(struct vmsg_bus *b, uint64_t ns)
{
	b->ticks = ns > UINT64_MAX - b->ticks ? UINT64_MAX : b->ticks + ns;
}

int vmsg_bus_prepare_sleep(struct vmsg_bus *b)
{
	int r;

	if (!b || b->closed)
		return VMSG_EINVAL;
	r = b->cfg.ops->arm ? b->cfg.ops->arm(b->cfg.priv) : 0;
	/* Without a clock, time is counted in sleeps (as in vmsg_bus_wait()):
	 * one the caller may take now counts as one tick, so requests still
	 * expire in an application's own loop (bus.h). */
	if (r == 0 && !b->has_now)
		add_ticks(b, b->cfg.tick_ns ? b->cfg.tick_ns : 1000000u);
	return r;
}

int vmsg_bus_cork(struct vmsg_bus *b, bool on)
{
	if (!b || b->closed)
		return VMSG_EINVAL;
	return b->cfg.ops->cork ? b->cfg.ops->cork(b->cfg.priv, on) : 0;
}

int vmsg_bus_get_stats(const struct vmsg_bus *b, struct vmsg_bus_stats *out)
{
	uint64_t rung;

	if (!b || !out)
		return VMSG_EINVAL;
	*out = b->stats;
	if (!b->closed && b->cfg.ops->doorbells && b->cfg.ops->doorbells(b->cfg.priv, &rung) == 0)
		out->kicks = rung;
	return 0;
}

int vmsg_bus_kick(struct vmsg_bus *b)
{
	int r;

	if (!b || b->closed)
		return VMSG_EINVAL;
	if (!b->cfg.ops->kick)
		return VMSG_ENOTSUP;
	r = b->cfg.ops->kick(b->cfg.priv);
	if (r == 0)
		b->stats.kicks++;
	return r;
}

int vmsg_bus_wait(struct vmsg_bus *b, int64_t timeout_ns)
{
	int r;

	if (!b || b->closed)
		return VMSG_EINVAL;
	b->stats.kicks_waits++;
	r = b->cfg.ops->wait(b->cfg.priv, timeout_ns);
	if (r < 0 && r != VMSG_ETIMEDOUT)
		return r;
	/* Without a clock, time is counted in waits, each as long as it was
	 * allowed to be, woken early or not: a peer that keeps ringing (or a
	 * wait-for-interrupt that any interrupt ends) cannot keep a request
	 * pending for ever. Budgets then bound waits, not wall time. */
	if (!b->has_now)
		add_ticks(b, timeout_ns > 0 ? (uint64_t)timeout_ns : 1u);
	return vmsg_bus_poll(b);
}

int vmsg_bus_respond(struct vmsg_bus *b, const struct vmsg_msg *req, struct vmsg_msg *resp)
{
	if (!b || !req || !resp || (req->type & VMSG_TYPE_RESPONSE) || (req->msg_id & VMSG_ID_EVENT))
		return VMSG_EINVAL;
	resp->type = (uint8_t)(req->type | VMSG_TYPE_RESPONSE);
	resp->msg_id = req->msg_id;
	resp->dev_num = req->dev_num; /* DEV-3 */
	resp->token = req->token;     /* DEV-6 */
	return vmsg_bus_send_msg(b, resp);
}

/*
 * Which events this side may send (BUS-15 holds for every transport
 * message): a transport event goes the way the spec sends it (EVENT_AVAIL
 * driver to device, the others back; implementation-defined ones either
 * way) and names a device this side knows: present for the driver, offered
 * by the device. EVENT_DEVICE is the device side's.
 */
static int event_allowed(const struct vmsg_bus *b, const struct vmsg_msg *ev)
{
	bool device = vmsg_bus_is_device(b);
	const struct vmsg_bus_dev *d;

	if (ev->type & VMSG_TYPE_BUS)
		return ev->msg_id != VMSG_BUS_ID_EVENT_DEVICE || device ? 0 : VMSG_EINVAL;
	if (!(ev->msg_id & VMSG_ID_IMPL) && (ev->msg_id == VMSG_ID_EVENT_AVAIL) == device)
		return VMSG_EINVAL;
	d = vmsg_bus_find_dev(b, ev->dev_num);
	if (!d || (!device && !d->present))
		return VMSG_ENODEV;
	return 0;
}

int vmsg_bus_send_event(struct vmsg_bus *b, const struct vmsg_msg *ev)
{
	struct vmsg_msg m;
	int err;

	if (!b || !ev || !(ev->msg_id & VMSG_ID_EVENT) || (ev->type & VMSG_TYPE_RESPONSE))
		return VMSG_EINVAL;
	err = event_allowed(b, ev);
	if (err)
		return err;
	m = *ev;
	m.token = 0;
	err = vmsg_bus_send_msg(b, &m);
	if (!err)
		b->stats.events_out++;
	return err;
}

const struct vmsg_bus_params *vmsg_bus_get_params(const struct vmsg_bus *b)
{
	return &b->params;
}

int vmsg_bus_translate(struct vmsg_bus *b, uint64_t addr, uint64_t len, void **ptr)
{
	if (!b || !ptr || b->closed) /* the port's windows are gone after close */
		return VMSG_EINVAL;
	if (!b->cfg.ops->translate)
		return VMSG_ENOTSUP;
	if (!len)
		return VMSG_EINVAL; /* nothing to point at, no window to check */
	if (addr + len < addr)
		return VMSG_ERANGE;
	return b->cfg.ops->translate(b->cfg.priv, addr, len, ptr);
}
