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
 *    the fake clock moves on every wait().
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

	FUZZ_CHECK(len >= VMSG_HDR_SIZE && len <= f->max);
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

static int port_recv(void *priv, uint8_t *buf, size_t cap)
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

	out->revision = 1;
	out->max_msg_size = f->max;
	out->transport_features = 0;
	return 0;
}

static int port_now(void *priv, uint64_t *ns)
{
	struct fake *f = priv;

	if (!f->has_now)
		return VMSG_ENOTSUP;
	*ns = f->clock;
	return 0;
}

static const struct vmsg_bus_ops fake_ops = {
	.send = port_send,
	.recv = port_recv,
	.wait = port_wait,
	.params = port_params,
	.now = port_now,
};

/* ---------------------------------------------------------------------- */
/* The application                                                        */
/* ---------------------------------------------------------------------- */

static void req_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	struct track *t = ctx;

	FUZZ_CHECK(t->done == 0);
	t->done++;
	if (status == 0) {
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
	FUZZ_CHECK(msg != NULL && (msg->msg_id & VMSG_ID_EVENT) && !(msg->type & VMSG_TYPE_RESPONSE));
}

static void on_device(void *ctx, uint16_t dev_num, uint16_t state)
{
	(void)ctx;
	(void)dev_num;
	FUZZ_CHECK(state != 0 && (state < 3 || state >= VMSG_EVDEV_STATE_IMPL_MIN));
}

static void on_impl(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *msg)
{
	(void)ctx;
	(void)b;
	FUZZ_CHECK((msg->type & VMSG_TYPE_BUS) && (msg->msg_id & VMSG_ID_IMPL));
}

static bool blocking_code(int r)
{
	return r == 0 || r == VMSG_ETIMEDOUT || r == VMSG_ECONNRESET || r == VMSG_EPROTO ||
	       r == VMSG_ENODEV || r == VMSG_EBUSY || r == VMSG_EINVAL || r == VMSG_ENOSPC ||
	       r == VMSG_ECANCELED || r == VMSG_EMSGSIZE || r == VMSG_EBADMSG ||
	       r == VMSG_ERESERVED || r == VMSG_ENOTSUP || r == VMSG_ERANGE || r == VMSG_EBADDEV ||
	       r == VMSG_EBADTYPE || r == VMSG_ESHORT;
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
	if (r == 0)
		f->ntrack++;
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
	memset(&cfg, 0, sizeof(cfg));
	cfg.ops = &fake_ops;
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
	r = vmsg_bus_init(&f->bus, &cfg);
	if (r == VMSG_ENOTSUP) /* a role or profile this build left out */
		return 0;
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(vmsg_codec_init(&f->peer, cfg.profile, f->max, cfg.codec_flags) == 0);

	for (unsigned steps = 0; f->in.n && steps < 256 && !closed; steps++) {
		uint8_t op = fuzz_u8(&f->in);
		uint16_t dev = (uint16_t)(fuzz_u8(&f->in) % 12u);

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
					   r == VMSG_EAGAIN || r == VMSG_ECONNRESET);
			}
			break;
		case 6:
			r = vmsg_bus_remove_device(&f->bus, dev, op & 0x10u);
			FUZZ_CHECK(r == 0 || r == VMSG_ENODEV || r == VMSG_EAGAIN ||
				   r == VMSG_ECONNRESET);
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
	}
	if (!closed)
		FUZZ_CHECK(vmsg_bus_close(&f->bus) == 0);
	/* Exactly once: every accepted request has completed by now. */
	for (unsigned i = 0; i < f->ntrack; i++)
		FUZZ_CHECK(f->track[i].done == 1);
	return 0;
}
