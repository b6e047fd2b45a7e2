/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the bus core (include/virtio_msg/bus.h) driven through a fake
 * port whose peer is the input. The input is a script: a set-up (role,
 * profile, codec flags, bus maximum, table sizes, clock), then operations
 * of the application (poll, submit, blocking call, ping, discover, add or
 * remove devices, close) and, whenever the bus calls the port's recv(),
 * what the peer sent: raw bytes, or a message built from a template (a
 * response to a request in flight with its real or a random token, a
 * GET_DEVICES window, EVENT_DEVICE, PING, a transport request or event)
 * with fields from the input, a reset, a broken peer, or nothing.
 *
 * Checks, whatever the peer sends:
 *  - every request completes exactly once (by close at the latest), with
 *    status 0 only together with a response that echoes its msg_id,
 *    dev_num and type, and otherwise with a documented error;
 *  - every message the bus sends decodes with the bus's own codec (it
 *    never sends what it would itself reject; full-role builds only,
 *    since a one-role codec cannot decode its own sends);
 *  - each call returns one of its documented codes, and nothing hangs:
 *    the fake clock moves on every wait();
 *  - BUS-9: at a reset the port may report other parameters (any revision,
 *    any max_msg_size, or a params() error). The bus either accepts them
 *    (vmsg_bus_get_params() equals them, on_params got 0) or refuses them
 *    (on_params got the error, nothing is sent, sends give VMSG_ESTATE,
 *    what arrives is dropped and counted in stats.drop_bad_params, the
 *    parameters in force stay); every message sent fits the maximum in
 *    force and decodes with a codec set to it;
 *  - the other calls of the script: vmsg_bus_send_event() (BUS-15 codes)
 *    and vmsg_bus_send_event_timeout() (documented codes, bounded waits),
 *    vmsg_bus_kick() with and without a kick op, vmsg_bus_get_stats()
 *    (its counters agree with what the port saw), vmsg_bus_translate()
 *    (length 0 and a wrapping range are refused without calling the
 *    port), and cfg.retries (a ping sends at most retries + 1 requests).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "virtio_msg/bus.h"
#include "virtio_msg/config.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/wire.h"

#define ONE_ROLE (VMSG_CONFIG_ROLE_DEVICE_ONLY || VMSG_CONFIG_ROLE_DRIVER_ONLY)
#define MAX_REQS 8u
#define MAX_DEVS 8u
#define MAX_TRACK 64u
#define BUF_CAP 1100u

struct track {
	uint8_t type, msg_id;
	uint16_t dev_num;
	unsigned done; /* completions seen */
};

struct fake {
	struct fuzz_in in;
	struct vmsg_bus bus;
	struct vmsg_bus_req reqs[MAX_REQS];
	struct vmsg_bus_dev devs[MAX_DEVS];
	uint8_t rx[BUF_CAP], tx[BUF_CAP];
	struct vmsg_codec peer; /* decodes what the bus sends */
	uint32_t max;
	uint64_t clock;
	bool has_now;
	struct track track[MAX_TRACK];
	unsigned ntrack;
	unsigned recvs; /* recv() calls, bounded so a script cannot loop */
	/* BUS-9 */
	enum vmsg_profile profile;
	uint32_t codec_flags;
	struct vmsg_bus_params cur;      /* what params() reports now */
	int params_err;                  /* ... or this error */
	struct vmsg_bus_params accepted; /* in force, as the bus must have them */
	bool bad;                        /* the last parameters were refused */
	uint64_t exp_drop_bad;           /* messages delivered while bad */
	unsigned on_params_calls;
	/* kick, translate, retries */
	uint64_t port_kicks, translates, ping_sends;
};

static struct fake F;

/* ---------------------------------------------------------------------- */
/* The fake port                                                          */
/* ---------------------------------------------------------------------- */

static int port_send(void *priv, const uint8_t *msg, size_t len)
{
	struct fake *f = priv;
	struct vmsg_msg m;
	uint8_t what = fuzz_u8(&f->in);

	FUZZ_CHECK(!f->bad); /* refused parameters: nothing goes out */
	FUZZ_CHECK(len >= VMSG_HDR_SIZE && len <= f->max && len <= f->accepted.max_msg_size);
	FUZZ_CHECK(vmsg_wire_msg_size(msg) == len);
	if (!ONE_ROLE) {
		int err = vmsg_proto_decode(&f->peer, msg, len, &m);

		if (err)
			fprintf(stderr, "bus sent what it rejects: %d (type %#x id %#x)\n", err,
				msg[0], msg[1]);
		FUZZ_CHECK(err == 0);
	}
	/* The port is full now and then, or the peer is gone. */
	if (what >= 0xF0)
		return VMSG_EAGAIN;
	if (what == 0xEF)
		return VMSG_ECONNRESET;
	if (msg[0] == VMSG_TYPE_BUS && msg[1] == VMSG_BUS_ID_PING)
		f->ping_sends++;
	return 0;
}

/* A header for a message the bus receives. */
static size_t hdr(uint8_t *b, uint8_t type, uint8_t id, uint16_t dev, uint16_t tok, size_t size)
{
	b[0] = type;
	b[1] = id;
	vmsg_put_le16(b + 2, dev);
	vmsg_put_le16(b + 4, tok);
	vmsg_put_le16(b + 6, (uint16_t)size);
	return size;
}

/* The payload after the header: from the input, zero past its end. */
static void payload(struct fake *f, uint8_t *b, size_t from, size_t to)
{
	size_t got;
	const uint8_t *p = fuzz_bytes(&f->in, to > from ? to - from : 0, &got);

	memset(b + from, 0, to > from ? to - from : 0);
	memcpy(b + from, p, got);
}

/* A request in flight, picked by the input (or none). */
static const struct vmsg_bus_req *pick_req(struct fake *f)
{
	unsigned k = fuzz_u8(&f->in);

	for (unsigned i = 0; i < MAX_REQS; i++) {
		const struct vmsg_bus_req *r = &f->reqs[(k + i) % MAX_REQS];

		if (r->busy)
			return r;
	}
	return NULL;
}

static int port_recv_msg(void *priv, uint8_t *buf, size_t cap)
{
	struct fake *f = priv;
	uint8_t kind;
	size_t len, size;
	uint16_t tok;
	const struct vmsg_bus_req *r;

	FUZZ_CHECK(cap >= f->max);
	if (++f->recvs > 4096 || f->in.n == 0)
		return VMSG_EAGAIN;
	kind = fuzz_u8(&f->in);
	size = fuzz_u8(&f->in);
	switch (kind % 12u) {
	case 0:
		return VMSG_EAGAIN;
	case 1:
		if (kind == 13) { /* a reset with other parameters (BUS-9) */
			static const uint32_t sizes[] = { 0,   1,    8,    47,    48,    51,
							  52,  53,   64,   128,   264,   1024,
							  1099, 1100, 1101, 65535, 65536, 0xFFFFFFFFu };
			uint8_t how = fuzz_u8(&f->in);

			f->cur.revision = how & 1u ? 1u : (uint32_t)fuzz_u8(&f->in) % 3u;
			if (how & 2u)
				f->cur.max_msg_size = fuzz_u32(&f->in);
			else
				f->cur.max_msg_size = sizes[fuzz_u8(&f->in) % 18u];
			f->cur.transport_features = how & 4u ? fuzz_u64(&f->in) : 0;
			f->params_err = (how & 0x18u) == 0x18u ? VMSG_EIO : 0;
			return VMSG_ECONNRESET;
		}
		return kind == 1 ? VMSG_ECONNRESET : VMSG_EAGAIN;
	case 2:
		return kind == 2 ? VMSG_EPROTO : VMSG_EAGAIN;
	case 3: /* raw bytes */
		len = 1u + size % 96u;
		payload(f, buf, 0, len);
		return (int)len;
	case 4: /* a response to a request in flight, same token */
	case 5: /* ... or another token */
		r = pick_req(f);
		if (!r)
			return VMSG_EAGAIN;
		tok = kind % 12u == 4 ? r->token : fuzz_u16(&f->in);
		len = 8u + size % 64u;
		hdr(buf, (uint8_t)(r->type | VMSG_TYPE_RESPONSE), r->msg_id, r->dev_num, tok, len);
		payload(f, buf, 8, len);
		/* GET_DEVICES: discovery asks from offset 0 first; echo that */
		if ((r->type & VMSG_TYPE_BUS) && r->msg_id == VMSG_BUS_ID_GET_DEVICES && len >= 10 &&
		    (fuzz_u8(&f->in) & 1u))
			vmsg_put_le16(buf + 8, 0);
		return (int)(len + fuzz_u8(&f->in) % 4u); /* slot padding past msg_size */
	case 6: /* EVENT_DEVICE */
		len = hdr(buf, VMSG_TYPE_BUS, VMSG_BUS_ID_EVENT_DEVICE, 0, 0, 12);
		vmsg_put_le16(buf + 8, (uint16_t)(fuzz_u8(&f->in) % 12u));
		vmsg_put_le16(buf + 10, (uint16_t)(fuzz_u8(&f->in) % 4u));
		return (int)len;
	case 7: /* PING request */
		len = hdr(buf, VMSG_TYPE_BUS, VMSG_BUS_ID_PING, 0, fuzz_u16(&f->in), 12);
		payload(f, buf, 8, 12);
		return (int)len;
	case 8: /* GET_DEVICES request */
		len = hdr(buf, VMSG_TYPE_BUS, VMSG_BUS_ID_GET_DEVICES, 0, fuzz_u16(&f->in), 12);
		payload(f, buf, 8, 12);
		return (int)len;
	case 9: /* a transport request or event for a device number 0..11 */
		len = 8u + size % 48u;
		hdr(buf, 0, fuzz_u8(&f->in), (uint16_t)(fuzz_u8(&f->in) % 12u), fuzz_u16(&f->in), len);
		payload(f, buf, 8, len);
		return (int)len;
	case 10: /* a transport response to no one in particular */
		len = 8u + size % 48u;
		hdr(buf, VMSG_TYPE_RESPONSE, fuzz_u8(&f->in), (uint16_t)(fuzz_u8(&f->in) % 12u),
		    fuzz_u16(&f->in), len);
		payload(f, buf, 8, len);
		return (int)len;
	default: /* an implementation-defined bus message */
		len = 8u + size % 32u;
		hdr(buf, VMSG_TYPE_BUS | (fuzz_u8(&f->in) & 1u), 0x80u | fuzz_u8(&f->in), 0, 0, len);
		payload(f, buf, 8, len);
		return (int)len;
	}
}

/* What the peer sent; a message (> 0) the bus must drop while its
 * parameters are refused. */
static int port_recv(void *priv, uint8_t *buf, size_t cap)
{
	struct fake *f = priv;
	int r = port_recv_msg(priv, buf, cap);

	if (r > 0 && f->bad)
		f->exp_drop_bad++;
	return r;
}

static int port_wait(void *priv, int64_t timeout_ns)
{
	struct fake *f = priv;

	/* Time always moves on, so no blocking helper can loop forever. */
	f->clock += timeout_ns > 0 ? (uint64_t)timeout_ns : 1000000u;
	return fuzz_u8(&f->in) & 1u ? 0 : VMSG_ETIMEDOUT;
}

static int port_params(void *priv, struct vmsg_bus_params *out)
{
	struct fake *f = priv;

	*out = f->cur;
	return f->params_err;
}

static int port_now(void *priv, uint64_t *ns)
{
	struct fake *f = priv;

	if (!f->has_now)
		return VMSG_ENOTSUP;
	*ns = f->clock;
	return 0;
}

static int port_kick(void *priv)
{
	struct fake *f = priv;

	if (fuzz_u8(&f->in) == 0xEE)
		return VMSG_EIO;
	f->port_kicks++;
	return 0;
}

static int port_doorbells(void *priv, uint64_t *rung)
{
	*rung = ((struct fake *)priv)->port_kicks + 1000u; /* not the bus's count */
	return 0;
}

static uint8_t window[64];

static int port_translate(void *priv, uint64_t addr, uint64_t len, void **ptr)
{
	struct fake *f = priv;

	f->translates++;
	FUZZ_CHECK(len != 0 && addr + len >= addr); /* the bus refused these */
	if (addr < 0x1000u || addr - 0x1000u > sizeof(window) ||
	    len > sizeof(window) - (addr - 0x1000u))
		return VMSG_ERANGE;
	*ptr = window + (addr - 0x1000u);
	return 0;
}

static const struct vmsg_bus_ops fake_ops = {
	.send = port_send,
	.recv = port_recv,
	.wait = port_wait,
	.params = port_params,
	.now = port_now,
};

/* The same with the optional kick, doorbell count and translate ops. */
static const struct vmsg_bus_ops fake_ops_more = {
	.send = port_send,
	.recv = port_recv,
	.wait = port_wait,
	.params = port_params,
	.now = port_now,
	.kick = port_kick,
	.doorbells = port_doorbells,
	.translate = port_translate,
};

static bool same_params(const struct vmsg_bus_params *a, const struct vmsg_bus_params *b)
{
	return a->revision == b->revision && a->max_msg_size == b->max_msg_size &&
	       a->transport_features == b->transport_features;
}

/* BUS-9: the bus read the parameters again after a reset and says what
 * became of them. */
static void on_params(void *ctx, struct vmsg_bus *b, int status, const struct vmsg_bus_params *p)
{
	struct fake *f = ctx;

	f->on_params_calls++;
	FUZZ_CHECK(b == &f->bus && p != NULL);
	if (status == 0) {
		FUZZ_CHECK(f->params_err == 0 && same_params(p, &f->cur));
		FUZZ_CHECK(same_params(vmsg_bus_get_params(b), &f->cur));
		FUZZ_CHECK(f->cur.revision >= 1 && f->cur.max_msg_size <= BUF_CAP &&
			   f->cur.max_msg_size >= (f->profile == VMSG_PROFILE_2025 ? 48u : 52u));
		f->accepted = f->cur;
		f->bad = false;
		f->max = f->cur.max_msg_size;
		/* What the bus sends from now on fits this maximum. */
		FUZZ_CHECK(vmsg_codec_init(&f->peer, f->profile, f->max, f->codec_flags) == 0);
	} else {
		FUZZ_CHECK(status == (f->params_err ? f->params_err : VMSG_EINVAL));
		FUZZ_CHECK(f->params_err || f->cur.revision < 1 || f->cur.max_msg_size > BUF_CAP ||
			   f->cur.max_msg_size < (f->profile == VMSG_PROFILE_2025 ? 48u : 52u));
		FUZZ_CHECK(same_params(vmsg_bus_get_params(b), &f->accepted));
		f->bad = true;
	}
}

/* After every call of the script: the parameters in force, the drops. */
static void check_params(struct fake *f)
{
	struct vmsg_bus_stats st;

	FUZZ_CHECK(same_params(vmsg_bus_get_params(&f->bus), &f->accepted));
	FUZZ_CHECK(vmsg_bus_get_stats(&f->bus, &st) == 0);
	FUZZ_CHECK(st.drop_bad_params == f->exp_drop_bad);
	FUZZ_CHECK(st.param_changes == f->on_params_calls);
}

/* ---------------------------------------------------------------------- */
/* The application                                                        */
/* ---------------------------------------------------------------------- */

static void req_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	struct track *t = ctx;

	FUZZ_CHECK(t->done == 0);
	t->done++;
	if (status == 0) {
		FUZZ_CHECK(!F.bad); /* nothing is taken under refused parameters */
		FUZZ_CHECK(resp != NULL);
		FUZZ_CHECK(resp->msg_id == t->msg_id && resp->dev_num == t->dev_num &&
			   resp->type == (t->type | VMSG_TYPE_RESPONSE));
	} else {
		FUZZ_CHECK(resp == NULL);
		FUZZ_CHECK(status == VMSG_ETIMEDOUT || status == VMSG_ECONNRESET ||
			   status == VMSG_ECANCELED || status == VMSG_ENODEV);
	}
}

/* Device side: answer what came, with a response from the input. */
static void dev_handler(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *msg)
{
	struct fake *f = ctx;
	struct vmsg_msg resp;
	int r;

	FUZZ_CHECK(msg != NULL && !(msg->type & VMSG_TYPE_BUS));
	FUZZ_CHECK(!f->bad);
	if ((msg->type & VMSG_TYPE_RESPONSE) || (msg->msg_id & VMSG_ID_EVENT))
		return;
	memset(&resp, 0, sizeof(resp));
	resp.u.status.status = fuzz_u32(&f->in);
	r = vmsg_bus_respond(b, msg, &resp);
	FUZZ_CHECK(r <= 0); /* any encode or port code: the fields may not suit the message */
}

/* Driver side: events for a device. */
static void drv_handler(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *msg)
{
	(void)ctx;
	(void)b;
	FUZZ_CHECK(!F.bad);
	FUZZ_CHECK(msg != NULL && (msg->msg_id & VMSG_ID_EVENT) && !(msg->type & VMSG_TYPE_RESPONSE));
}

static void on_device(void *ctx, uint16_t dev_num, uint16_t state)
{
	(void)ctx;
	(void)dev_num;
	FUZZ_CHECK(!F.bad);
	FUZZ_CHECK(state != 0 && (state < 3 || state >= VMSG_EVDEV_STATE_IMPL_MIN));
}

static void on_impl(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *msg)
{
	(void)ctx;
	(void)b;
	FUZZ_CHECK(!F.bad);
	FUZZ_CHECK((msg->type & VMSG_TYPE_BUS) && (msg->msg_id & VMSG_ID_IMPL));
}

static bool blocking_code(int r)
{
	return r == 0 || r == VMSG_ETIMEDOUT || r == VMSG_ECONNRESET || r == VMSG_EPROTO ||
	       r == VMSG_ENODEV || r == VMSG_EBUSY || r == VMSG_EINVAL || r == VMSG_ENOSPC ||
	       r == VMSG_ECANCELED || r == VMSG_EMSGSIZE || r == VMSG_EBADMSG ||
	       r == VMSG_ERESERVED || r == VMSG_ENOTSUP || r == VMSG_ERANGE || r == VMSG_EBADDEV ||
	       r == VMSG_EBADTYPE || r == VMSG_ESHORT || r == VMSG_ESTATE;
}

static void op_submit(struct fake *f, bool driver)
{
	struct vmsg_msg req;
	struct track *t;
	uint8_t what = fuzz_u8(&f->in);
	int r;

	if (f->ntrack >= MAX_TRACK)
		return;
	memset(&req, 0, sizeof(req));
	if (what % 3u == 0 || !driver) {
		req.type = VMSG_TYPE_BUS;
		req.msg_id = VMSG_BUS_ID_PING;
		req.u.ping.data = fuzz_u32(&f->in);
	} else if (what % 3u == 1) {
		req.type = VMSG_TYPE_BUS;
		req.msg_id = VMSG_BUS_ID_GET_DEVICES;
		req.u.get_devices.offset = fuzz_u16(&f->in);
		req.u.get_devices.count = (uint16_t)(fuzz_u8(&f->in) * 8u);
	} else {
		req.msg_id = (uint8_t)(VMSG_ID_GET_DEVICE_INFO + fuzz_u8(&f->in) % 11u);
		req.dev_num = (uint16_t)(fuzz_u8(&f->in) % 12u);
		req.u.vqueue.index = 0;
		req.u.features.num_blocks = 1; /* GET_DEVICE_FEATURES needs one */
	}
	t = &f->track[f->ntrack];
	*t = (struct track){ req.type, req.msg_id, req.dev_num, 0 };
	r = vmsg_bus_submit(&f->bus, &req, (uint64_t)fuzz_u8(&f->in) * 100000u, req_done, t);
	FUZZ_CHECK(r <= 0); /* submit_code(), or the encoder's refusal of the fields */
	FUZZ_CHECK(!f->bad || r != 0);
	if (r == 0)
		f->ntrack++;
}

/* An event from the application: either kind of send, any direction, any
 * device number (BUS-15, BUS-46). */
static void op_event(struct fake *f, bool driver)
{
	struct vmsg_msg ev;
	struct vmsg_bus_stats before, after;
	uint8_t k = fuzz_u8(&f->in);
	bool timed = (k & 0x80u) != 0, wrong = false, transport = true, present;
	uint64_t budget = 0;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.dev_num = (uint16_t)(fuzz_u8(&f->in) % 12u);
	switch (k % 6u) {
	case 0:
		ev.msg_id = VMSG_ID_EVENT_AVAIL;
		ev.u.event_avail.vq_index = fuzz_u8(&f->in) % 4u;
		wrong = !driver;
		break;
	case 1:
		ev.msg_id = VMSG_ID_EVENT_USED;
		ev.u.event_used.vq_index = fuzz_u8(&f->in) % 4u;
		wrong = driver;
		break;
	case 2:
		ev.msg_id = VMSG_ID_EVENT_CONFIG;
		ev.u.event_config.generation = fuzz_u32(&f->in);
		wrong = driver;
		break;
	case 3: /* implementation-defined: either way */
		ev.msg_id = (uint8_t)(VMSG_ID_IMPL | VMSG_ID_EVENT | (fuzz_u8(&f->in) & 0x3Fu));
		break;
	case 4:
		ev.type = VMSG_TYPE_BUS;
		ev.msg_id = VMSG_BUS_ID_EVENT_DEVICE;
		ev.dev_num = 0;
		ev.u.event_device.dev_num = (uint16_t)(fuzz_u8(&f->in) % 12u);
		ev.u.event_device.state = VMSG_EVDEV_STATE_ADDED;
		wrong = driver;
		transport = false;
		break;
	default: /* not an event */
		ev.msg_id = (uint8_t)(VMSG_ID_GET_DEVICE_INFO + fuzz_u8(&f->in) % 11u);
		wrong = true;
		break;
	}
	FUZZ_CHECK(vmsg_bus_get_stats(&f->bus, &before) == 0);
	present = vmsg_bus_device_present(&f->bus, ev.dev_num);
	if (timed) {
		uint8_t t = fuzz_u8(&f->in);

		budget = t == 0xFF ? UINT64_MAX / 2u : (uint64_t)t * 200000u;
		r = vmsg_bus_send_event_timeout(&f->bus, &ev, budget);
	} else {
		r = vmsg_bus_send_event(&f->bus, &ev);
	}
	FUZZ_CHECK(vmsg_bus_get_stats(&f->bus, &after) == 0);
	if (wrong) {
		FUZZ_CHECK(r == VMSG_EINVAL);
	} else if (transport && driver && !present) {
		FUZZ_CHECK(r == VMSG_ENODEV); /* BUS-15: only to present devices */
	} else {
		FUZZ_CHECK(r == 0 || r == VMSG_ENODEV || r == VMSG_ESTATE || r == VMSG_ECONNRESET ||
			   r == VMSG_EPROTO || r == VMSG_EMSGSIZE || r == VMSG_ENOSPC ||
			   r == VMSG_ERANGE || r == VMSG_EBADMSG || r == VMSG_ERESERVED ||
			   (timed ? r == VMSG_ETIMEDOUT : r == VMSG_EAGAIN));
	}
	if (f->bad && after.resets == before.resets)
		FUZZ_CHECK(r != 0);
	FUZZ_CHECK(after.events_out == before.events_out + (r == 0));
	FUZZ_CHECK(after.event_timeouts == before.event_timeouts + (r == VMSG_ETIMEDOUT));
	/* Bounded: slices of 1 ms at most from the budget (no hang). */
	if (timed && budget < UINT64_MAX / 2u)
		FUZZ_CHECK(after.kicks_waits - before.kicks_waits <= budget / 1000000u + 2u);
	if (!timed)
		FUZZ_CHECK(after.kicks_waits == before.kicks_waits);
}

/* vmsg_bus_kick(), vmsg_bus_translate(), and the counters they move. */
static void op_kick_translate(struct fake *f, bool more)
{
	struct vmsg_bus_stats before, after;
	uint8_t k = fuzz_u8(&f->in);
	uint64_t calls = f->translates;
	int r;

	FUZZ_CHECK(vmsg_bus_get_stats(&f->bus, &before) == 0);
	if (k & 1u) {
		uint64_t own = f->bus.stats.kicks; /* those of vmsg_bus_kick() */

		r = vmsg_bus_kick(&f->bus);
		FUZZ_CHECK(vmsg_bus_get_stats(&f->bus, &after) == 0);
		if (!more) {
			FUZZ_CHECK(r == VMSG_ENOTSUP && after.kicks == before.kicks);
		} else {
			FUZZ_CHECK(r == 0 || r == VMSG_EIO);
			/* With ops->doorbells: the port's count, every doorbell. */
			FUZZ_CHECK(after.kicks == f->port_kicks + 1000u);
			FUZZ_CHECK(f->bus.stats.kicks == own + (r == 0));
		}
	} else {
		uint64_t addr, len;
		void *ptr = NULL;

		switch ((k >> 1) % 5u) {
		case 0:
			addr = fuzz_u64(&f->in);
			len = 0;
			break;
		case 1: /* wraps */
			len = 2u + fuzz_u8(&f->in);
			addr = UINT64_MAX - fuzz_u8(&f->in) % (len - 1u);
			break;
		case 2: /* about the window */
			addr = 0x1000u + fuzz_u8(&f->in) % 80u;
			len = 1u + fuzz_u8(&f->in) % 80u;
			break;
		case 3: /* ends exactly at the top */
			len = 1u + fuzz_u8(&f->in);
			addr = UINT64_MAX - len + 1u;
			break;
		default:
			addr = fuzz_u64(&f->in);
			len = fuzz_u64(&f->in);
			break;
		}
		r = vmsg_bus_translate(&f->bus, addr, len, &ptr);
		if (!more) {
			FUZZ_CHECK(r == VMSG_ENOTSUP);
		} else if (len == 0) {
			FUZZ_CHECK(r == VMSG_EINVAL && f->translates == calls);
		} else if (addr + len < addr) {
			FUZZ_CHECK(r == VMSG_ERANGE && f->translates == calls);
		} else {
			FUZZ_CHECK(f->translates == calls + 1);
			FUZZ_CHECK(r == 0 || r == VMSG_ERANGE);
			if (r == 0)
				FUZZ_CHECK((uint8_t *)ptr >= window &&
					   (uint8_t *)ptr + len <= window + sizeof(window));
		}
	}
}

/* A blocking PING on either side: at most cfg.retries + 1 requests. */
static void op_ping(struct fake *f)
{
	uint64_t sends = f->ping_sends;
	int r = vmsg_bus_ping(&f->bus, fuzz_u32(&f->in), (uint64_t)fuzz_u8(&f->in) * 20000u);

	FUZZ_CHECK(blocking_code(r));
	FUZZ_CHECK(f->ping_sends - sends <= (uint64_t)f->bus.cfg.retries + 1u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[] = { 52, 64, 128, 264, 1024 };
	struct fake *f = &F;
	struct vmsg_bus_cfg cfg;
	uint8_t set, r8;
	bool driver, closed = false;
	int r;

	memset(f, 0, sizeof(*f));
	f->in = (struct fuzz_in){ data, size };
	set = fuzz_u8(&f->in);
	r8 = fuzz_u8(&f->in);
	driver = !(set & 1u);
	f->has_now = (set & 2u) != 0;
	f->max = maxes[(set >> 2) % 5u];
	f->cur = (struct vmsg_bus_params){ 1, f->max, 0 };
	f->accepted = f->cur;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ops = (set & 0x80u) ? &fake_ops_more : &fake_ops;
	cfg.priv = f;
	cfg.role = driver ? VMSG_BUS_DRIVER : VMSG_BUS_DEVICE;
	cfg.profile = (set & 0x20u) ? VMSG_PROFILE_2025 : VMSG_PROFILE_2026;
	cfg.codec_flags = (set & 0x40u) ? VMSG_CODEC_F_EXACT_SIZE : 0;
	cfg.reqs = f->reqs;
	cfg.num_reqs = (uint16_t)(1u + r8 % MAX_REQS);
	cfg.devs = f->devs;
	cfg.num_devs = (uint16_t)(1u + (r8 >> 3) % MAX_DEVS);
	cfg.rx_buf = f->rx;
	cfg.rx_cap = sizeof(f->rx);
	cfg.tx_buf = f->tx;
	cfg.tx_cap = sizeof(f->tx);
	cfg.on_device = on_device;
	cfg.on_impl = (r8 & 0x80u) ? on_impl : NULL;
	cfg.tick_ns = 1000000u;
	cfg.on_params = on_params;
	cfg.on_params_ctx = f;
	cfg.retries = (r8 & 0x40u) ? 2u : 0u;
	f->profile = cfg.profile;
	f->codec_flags = cfg.codec_flags;
	r = vmsg_bus_init(&f->bus, &cfg);
	if (r == VMSG_ENOTSUP) /* a role or profile this build left out */
		return 0;
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(vmsg_codec_init(&f->peer, cfg.profile, f->max, cfg.codec_flags) == 0);

	for (unsigned steps = 0; f->in.n && steps < 256 && !closed; steps++) {
		uint8_t op = fuzz_u8(&f->in);
		uint16_t dev = (uint16_t)(fuzz_u8(&f->in) % 12u);

		if (op >= 0xC0u && op != 0xFFu) {
			/* The calls this session added (BUS-9, 15, 44, 46). */
			switch (op % 4u) {
			case 0:
			case 1:
				op_event(f, driver);
				break;
			case 2:
				op_kick_translate(f, (set & 0x80u) != 0);
				break;
			default:
				op_ping(f);
				break;
			}
			check_params(f);
			continue;
		}
		switch (op % 10u) {
		case 0:
		case 1:
		case 2:
			r = vmsg_bus_poll(&f->bus);
			FUZZ_CHECK(r >= 0 || r == VMSG_EPROTO);
			break;
		case 3:
			op_submit(f, driver);
			break;
		case 4:
			f->clock += (uint64_t)fuzz_u8(&f->in) * 1000000u;
			r = vmsg_bus_wait(&f->bus, (int64_t)fuzz_u8(&f->in) * 100000);
			FUZZ_CHECK(r >= 0 || r == VMSG_EPROTO);
			break;
		case 5:
			if (driver) {
				r = vmsg_bus_attach_device(&f->bus, dev, drv_handler, f, op & 0x10u);
				FUZZ_CHECK(r == 0 || r == VMSG_ENOSPC);
			} else {
				r = vmsg_bus_add_device(&f->bus, dev, dev_handler, f, op & 0x10u);
				FUZZ_CHECK(r == 0 || r == VMSG_ENOSPC || r == VMSG_EBUSY ||
					   r == VMSG_EAGAIN || r == VMSG_ECONNRESET ||
					   (f->bad && r == VMSG_ESTATE));
			}
			break;
		case 6:
			r = vmsg_bus_remove_device(&f->bus, dev, op & 0x10u);
			FUZZ_CHECK(r == 0 || r == VMSG_ENODEV || r == VMSG_EAGAIN ||
				   r == VMSG_ECONNRESET || (f->bad && r == VMSG_ESTATE));
			break;
		case 7:
			if (driver) {
				r = vmsg_bus_discover(&f->bus, (uint64_t)fuzz_u8(&f->in) * 100000u);
				FUZZ_CHECK(r >= 0 || blocking_code(r));
			} else {
				r = vmsg_bus_ping(&f->bus, fuzz_u32(&f->in), 1000000u);
				FUZZ_CHECK(blocking_code(r));
			}
			break;
		case 8: {
			struct vmsg_msg req, resp;
			static uint8_t rbuf[BUF_CAP];

			memset(&req, 0, sizeof(req));
			req.type = VMSG_TYPE_BUS;
			req.msg_id = VMSG_BUS_ID_PING;
			req.u.ping.data = fuzz_u32(&f->in);
			r = vmsg_bus_call(&f->bus, &req, &resp, rbuf, fuzz_u8(&f->in) & 1u ? 8u : sizeof(rbuf),
					  500000u, fuzz_u8(&f->in) % 3u);
			FUZZ_CHECK(blocking_code(r));
			if (r == 0)
				FUZZ_CHECK(resp.msg_id == VMSG_BUS_ID_PING &&
					   resp.type == (VMSG_TYPE_BUS | VMSG_TYPE_RESPONSE));
			break;
		}
		default:
			if (op == 0xFF) {
				r = vmsg_bus_close(&f->bus);
				FUZZ_CHECK(r == 0);
				closed = true;
			} else {
				r = vmsg_bus_prepare_sleep(&f->bus);
				FUZZ_CHECK(r == 0);
			}
			break;
		}
		check_params(f);
	}
	if (!closed)
		FUZZ_CHECK(vmsg_bus_close(&f->bus) == 0);
	/* Exactly once: every accepted request has completed by now. */
	for (unsigned i = 0; i < f->ntrack; i++)
		FUZZ_CHECK(f->track[i].done == 1);
	return 0;
}
