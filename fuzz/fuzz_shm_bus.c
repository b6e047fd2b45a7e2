/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the shm bus (vmsg_shm_bus_ops over a vmamp v1 channel, with
 * the lifecycle) and the bus core on top, against a hostile peer sharing
 * the region. We own the layout (so it is valid); the input is a script of
 * bus operations (poll, submit, wait, prepare_sleep, cork and uncork, kick, a
 * port that reports a hang-up) and of what the peer writes between them: its queue head (magic
 * and state), its epoch and id, its indices, its awake and kicked words,
 * messages in its slots (raw bytes, published or not), or any bytes
 * anywhere in the region.
 *
 * In the second mode (set-up bit 6) the peer OWNS the region: a second
 * channel, the peer's, opened as owner on the other side writes a valid
 * layout (in a region with slack after it), and ours attaches as the
 * non-owner. The script may then have the peer poll its channel (the
 * handshake), send and take messages through it, restart it with another
 * geometry (other num_elems, elem_size, extension: layout_moved(), the
 * re-attach, the shm bus's params_look() and the bus core's BUS-9
 * revalidation, also with a slot larger than the bus's buffers), withdraw
 * the layout, rewrite it alone (vmsg_shm_v1_write()) or write raw bytes in
 * the header lines. In both modes the script may send an event with a
 * budget (vmsg_bus_send_event_timeout(), BUS-46). A VMSG_CONFIG_SHM_V1_OWNER_ONLY build refuses the
 * non-owner (VMSG_ENOTSUP).
 *
 * Checks: nothing outside the region is touched (a heap block of exactly
 * the region's size; ASan), our side never writes what the peer owns (as
 * owner: its queue head and side words, its awake word, its element array;
 * as non-owner: every byte but our queue head and side words, our element
 * array and our awake word, as the layout we were attached to before the
 * call or after it places them), every bus call returns a documented code,
 * every request completes exactly once, every message the bus sends fits
 * the maximum in force, parameters the bus refused (BUS-9) stop its sends
 * (VMSG_ESTATE), and a message the port hands over was received under the
 * parameters the bus holds (a change of the slot is reported first).
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "virtio_msg/bus.h"
#include "virtio_msg/config.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

#define MAX_TRACK 64u

struct range {
	size_t off, len;
};

struct st {
	struct fuzz_in in;
	uint8_t *r;
	size_t size;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_chan pch; /* non-owner mode: the peer's, the owner */
	struct vmsg_shm_cfg pcfg;
	bool nonowner;
	bool bad;                 /* the bus refused the parameters (BUS-9) */
	unsigned on_params_calls;
	struct vmsg_shm_bus sb;
	struct vmsg_bus bus;
	struct vmsg_bus_req reqs[4];
	struct vmsg_bus_dev devs[4];
	uint8_t rx[512], tx[512];
	uint64_t clock;
	struct range peer[4]; /* what the peer owns */
	unsigned npeer;
	unsigned done[MAX_TRACK], ntrack;
	bool device;
};

static struct st S;
static uint8_t snap[1u << 16];

static int h_kick(void *ctx)
{
	(void)ctx;
	return 0;
}

static int h_wait(void *ctx, int64_t timeout_ns)
{
	struct st *s = ctx;

	s->clock += timeout_ns > 0 ? (uint64_t)timeout_ns : 1000000u;
	return VMSG_ETIMEDOUT;
}

static int h_now(void *ctx, uint64_t *ns)
{
	*ns = ((struct st *)ctx)->clock;
	return 0;
}

static void snap_take_nonowner(struct st *s);

static void snap_take(struct st *s)
{
	if (s->nonowner) {
		snap_take_nonowner(s);
		return;
	}
	memcpy(snap, s->r, s->size);
}

/* Non-owner mode: what our side may write, as the channel places it now. */
static unsigned own_ranges(const struct st *s, struct range *g)
{
	const struct vmsg_shm_chan *ch = &s->ch;
	unsigned n = 0;

	if (ch->own_qh)
		g[n++] = (struct range){ (size_t)(ch->own_qh - s->r), ch->extended ? 0x18u : 8u };
	if (ch->tx.d.slots)
		g[n++] = (struct range){ (size_t)((const uint8_t *)ch->tx.d.slots - s->r),
					 (size_t)ch->tx.d.num_slots * ch->tx.d.slot_size };
	if (ch->rx.d.awake)
		g[n++] = (struct range){ (size_t)((const uint8_t *)ch->rx.d.awake - s->r), 4 };
	return n;
}

static struct range allowed[3];
static unsigned nallowed;

static void snap_take_nonowner(struct st *s)
{
	memcpy(snap, s->r, s->size);
	nallowed = own_ranges(s, allowed);
}

/* Compare [from, to) with the snapshot (memcmp: no per-byte coverage hook). */
static void gap_check(const struct st *s, size_t from, size_t to)
{
	if (from >= to || memcmp(snap + from, s->r + from, to - from) == 0)
		return;
	for (size_t i = from; i < to; i++)
		if (snap[i] != s->r[i]) {
			fprintf(stderr, "non-owner wrote the peer's byte +%#zx (%#x -> %#x)\n", i,
				snap[i], s->r[i]);
			break;
		}
	FUZZ_CHECK(0);
}

static void snap_check_nonowner(struct st *s)
{
	struct range g[6];
	unsigned n = nallowed;
	size_t at = 0;

	if (memcmp(snap, s->r, s->size) == 0)
		return;
	/* Ours before the call and after it (a re-attach moves them), in
	 * order; every byte between them is the peer's. */
	memcpy(g, allowed, n * sizeof(g[0]));
	n += own_ranges(s, g + n);
	for (unsigned i = 1; i < n; i++)
		for (unsigned k = i; k > 0 && g[k].off < g[k - 1].off; k--) {
			struct range t = g[k];

			g[k] = g[k - 1];
			g[k - 1] = t;
		}
	for (unsigned k = 0; k < n; k++) {
		gap_check(s, at, g[k].off < s->size ? g[k].off : s->size);
		if (g[k].off + g[k].len > at)
			at = g[k].off + g[k].len;
	}
	gap_check(s, at, s->size);
}

static void snap_check(struct st *s)
{
	if (s->nonowner) {
		snap_check_nonowner(s);
		return;
	}
	for (unsigned k = 0; k < s->npeer; k++) {
		const struct range *g = &s->peer[k];

		if (memcmp(snap + g->off, s->r + g->off, g->len) != 0) {
			fprintf(stderr, "our side wrote peer range %u (+%zu, %zu bytes)\n", k, g->off,
				g->len);
			FUZZ_CHECK(0);
		}
	}
}

static void done_cb(void *ctx, int status, const struct vmsg_msg *resp)
{
	unsigned *d = ctx;

	FUZZ_CHECK(*d == 0);
	(*d)++;
	FUZZ_CHECK((status == 0) == (resp != NULL));
	FUZZ_CHECK(status == 0 || status == VMSG_ETIMEDOUT || status == VMSG_ECONNRESET ||
		   status == VMSG_ECANCELED || status == VMSG_ENODEV);
	if (status == 0)
		FUZZ_CHECK(!S.bad);
}

/* Every message the bus sends fits the maximum in force, and none goes
 * out under refused parameters (BUS-9). */
static struct vmsg_bus_ops chk_ops;

static int chk_send(void *priv, const uint8_t *msg, size_t len)
{
	struct st *s = &S;

	FUZZ_CHECK(!s->bad);
	FUZZ_CHECK(len >= VMSG_HDR_SIZE && len <= vmsg_bus_get_params(&s->bus)->max_msg_size);
	return vmsg_shm_bus_ops.send(priv, msg, len);
}

/* A message the port hands over was received under the parameters the bus
 * holds: a change of the slot is reported (a reset) before any message of
 * the new layout (BUS-9, params_look()). */
static void chk_taken(int r)
{
	struct st *s = &S;

	if (r <= 0 || s->bad)
		return;
	FUZZ_CHECK(s->sb.max_told == vmsg_bus_get_params(&s->bus)->max_msg_size);
	FUZZ_CHECK((uint32_t)r <= s->sb.max_told);
}

static int chk_recv(void *priv, uint8_t *buf, size_t cap)
{
	int r = vmsg_shm_bus_ops.recv(priv, buf, cap);

	chk_taken(r);
	return r;
}

static int chk_recv_more(void *priv, uint8_t *buf, size_t cap, bool *more)
{
	int r = vmsg_shm_bus_ops.recv_more(priv, buf, cap, more);

	chk_taken(r);
	return r;
}

static void on_params(void *ctx, struct vmsg_bus *b, int status, const struct vmsg_bus_params *p)
{
	struct st *s = ctx;

	s->on_params_calls++;
	FUZZ_CHECK(p != NULL && p->max_msg_size == s->sb.max_told);
	if (status == 0) {
		FUZZ_CHECK(vmsg_bus_get_params(b)->max_msg_size == p->max_msg_size);
		FUZZ_CHECK(p->max_msg_size <= sizeof(s->rx));
		s->bad = false;
	} else {
		FUZZ_CHECK(status == VMSG_EINVAL);
		FUZZ_CHECK(p->max_msg_size > sizeof(s->rx) ||
			   p->max_msg_size < (b->cfg.profile == VMSG_PROFILE_2025 ? 48u : 52u));
		s->bad = true;
	}
}

static void dev_fn(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *msg)
{
	struct vmsg_msg resp;

	(void)ctx;
	if ((msg->type & VMSG_TYPE_RESPONSE) || (msg->msg_id & VMSG_ID_EVENT))
		return;
	memset(&resp, 0, sizeof(resp));
	if (vmsg_bus_respond(b, msg, &resp) != 0)
		return; /* the port was full or the peer gone: the requester times out */
}

/*
 * What vmsg_bus_poll() and vmsg_bus_wait() may return: a count, or the
 * port's VMSG_EPROTO (a broken peer; also a non-owner whose owner wrote a
 * layout our ring cannot drive, which this target found returning
 * VMSG_ENOTSUP until the shm bus mapped it).
 */
static void check_poll_code(const struct st *s, int r, const char *what)
{
	bool ok = r >= 0 || r == VMSG_EPROTO;

	(void)s;
	if (!ok)
		fprintf(stderr, "%s: %d\n", what, r);
	FUZZ_CHECK(ok);
}

/*
 * An event with a budget (BUS-46) over the shm port: a full ring, or a link
 * that is not up yet, makes it wait in slices of 1 ms, polling; it gives up
 * when the budget is spent. Device 1 is ours on either side.
 */
static void op_event(struct st *s)
{
	struct vmsg_bus_stats before, after;
	struct vmsg_msg ev;
	uint64_t budget = (uint64_t)(fuzz_u8(&s->in) % 32u) * 1000000u; /* 0..31 slices */
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.dev_num = 1;
	ev.msg_id = s->device ? VMSG_ID_EVENT_CONFIG : VMSG_ID_EVENT_AVAIL;
	FUZZ_CHECK(vmsg_bus_get_stats(&s->bus, &before) == 0);
	r = vmsg_bus_send_event_timeout(&s->bus, &ev, budget);
	FUZZ_CHECK(vmsg_bus_get_stats(&s->bus, &after) == 0);
	if (r < 0 && r != VMSG_ETIMEDOUT && r != VMSG_ECONNRESET && r != VMSG_ESTATE &&
	    r != VMSG_EMSGSIZE)
		check_poll_code(s, r, "vmsg_bus_send_event_timeout"); /* its wait's poll */
	if (r == VMSG_ESTATE)
		FUZZ_CHECK(s->bad || after.resets != before.resets);
	FUZZ_CHECK(r != VMSG_EMSGSIZE || s->nonowner);
	FUZZ_CHECK(after.events_out == before.events_out + (r == 0));
	FUZZ_CHECK(after.event_timeouts == before.event_timeouts + (r == VMSG_ETIMEDOUT));
	FUZZ_CHECK(after.kicks_waits - before.kicks_waits <= budget / 1000000u + 2u);
	/* Over this port kicks is every doorbell it rang. */
	FUZZ_CHECK(after.kicks == s->sb.kicks);
}

static void put32(struct st *s, const uint8_t *p, uint32_t v)
{
	vmsg_put_le32(s->r + (p - s->r), v);
}

/* Geometry for a layout the peer writes: mostly small, sometimes with
 * slots larger than the bus's buffers, or than a header can use. */
static struct vmsg_shm_v1_params peer_geometry(struct st *s)
{
	static const uint16_t big[] = { 4, 8, 48, 52, 508, 512, 516, 1024 };
	struct vmsg_shm_v1_params v = { 0 };
	uint8_t g = fuzz_u8(&s->in);

	v.num_elems = (uint16_t)(2u + fuzz_u8(&s->in) % 15u);
	v.elem_size = g & 0x80u ? big[g % 8u] : (uint16_t)(16u + 4u * (fuzz_u8(&s->in) % 29u));
	v.extended = (g & 0x40u) != 0;
	v.window_size = g & 0x20u ? 64u * (1u + fuzz_u8(&s->in) % 4u) : 0;
	return v;
}

/* Non-owner mode: the peer, as owner of the region. */
static void owner_step(struct st *s, uint8_t op)
{
	struct vmsg_shm_chan *pc = &s->pch;

	switch (op % 12u) {
	case 8: { /* the owner restarts, maybe with another geometry */
		struct vmsg_shm_cfg c = s->pcfg;

		if (fuzz_u8(&s->in) & 1u)
			c.v1 = peer_geometry(s);
		if (vmsg_shm_chan_open_v1(pc, s->r, s->size, &c) == 0)
			s->pcfg = c;
		else if (vmsg_shm_chan_open_v1(pc, s->r, s->size, &s->pcfg) != 0)
			FUZZ_CHECK(0); /* did not fit: back to the last one, which did */
		break;
	}
	case 9: /* the layout withdrawn, or rewritten alone (its channel not told) */
		if (fuzz_u8(&s->in) & 1u) {
			memset(s->r, 0, 4);
		} else {
			struct vmsg_shm_v1_params v = peer_geometry(s);
			int r = vmsg_shm_v1_write(s->r, s->size, &v, s->pcfg.mem);

			FUZZ_CHECK(r == 0 || r == VMSG_EINVAL); /* EINVAL: it does not fit */
		}
		break;
	case 10: { /* its channel: the lifecycle, a send, a receive */
		uint8_t k = fuzz_u8(&s->in), buf[1100];
		int r = vmsg_shm_chan_poll(pc); /* the peer's business: any code */

		if (k & 1u) {
			size_t got, len = 8u + fuzz_u8(&s->in) % 64u;
			const uint8_t *b = fuzz_bytes(&s->in, len, &got);

			memset(buf, 0, len);
			memcpy(buf, b, got);
			vmsg_put_le16(buf + 6, (uint16_t)len);
			r = vmsg_shm_chan_send(pc, buf, len);
		}
		(void)r;
		if (k & 2u)
			while (vmsg_shm_chan_recv(pc, buf, sizeof(buf)) > 0)
				;
		break;
	}
	default: { /* raw bytes in the header and extension lines */
		size_t off = fuzz_u8(&s->in) % 128u, len = 1u + fuzz_u8(&s->in) % 8u, got;
		const uint8_t *b = fuzz_bytes(&s->in, len, &got);

		memcpy(s->r + off, b, got);
		break;
	}
	}
}

/* The peer writes (between bus calls). */
static void peer_step(struct st *s, uint8_t op)
{
	struct vmsg_shm_chan *ch = &s->ch;
	const uint8_t *pq = ch->peer_qh;
	uint32_t n = ch->rx.d.num_slots, ss = ch->rx.d.slot_size;

	if (s->nonowner && op % 12u >= 8u) {
		owner_step(s, op);
		return;
	}
	/* Our side detached, its rings undescribed: the peer writes raw. */
	if (!pq || n == 0)
		op = 7;
	switch (op % 8u) {
	case 0: /* queue head: magic and a state */
		put32(s, pq, (fuzz_u8(&s->in) & 0x80u ? 0x514Fu : fuzz_u16(&s->in)) |
				     (uint32_t)(fuzz_u8(&s->in) % 6u) << 16);
		break;
	case 1: /* epoch, peer id, kicked (extended) */
		if (ch->extended)
			put32(s, pq + 8u + 4u * (fuzz_u8(&s->in) % 4u), fuzz_u32(&s->in));
		break;
	case 2: { /* a message in its next slot, published */
		uint16_t tail = vmsg_get_le16(pq + VMSG_V1_QH_OFF_TAIL);
		uint8_t *slot = (uint8_t *)ch->rx.d.slots + (size_t)(tail % n) * ss;
		size_t got, len = fuzz_u8(&s->in) % (ss + 1u);
		const uint8_t *b = fuzz_bytes(&s->in, len, &got);

		memset(slot, 0, ss);
		memcpy(slot, b, got);
		if (got >= 8)
			vmsg_put_le16(slot + 6, (uint16_t)got);
		vmsg_put_le16(s->r + (pq - s->r) + VMSG_V1_QH_OFF_TAIL, (uint16_t)((tail + 1u) % n));
		break;
	}
	case 3: /* its head (consumer index) catches up with our tail */
		vmsg_put_le16(s->r + (pq - s->r) + VMSG_V1_QH_OFF_HEAD,
			      vmsg_get_le16(ch->own_qh + VMSG_V1_QH_OFF_TAIL));
		break;
	case 4: /* an index set to anything */
		vmsg_put_le16(s->r + (pq - s->r) + VMSG_V1_QH_OFF_TAIL + 2u * (fuzz_u8(&s->in) & 1u),
			      fuzz_u16(&s->in));
		break;
	case 5: /* its awake word (extended) */
		if (ch->extended && ch->tx.d.awake)
			put32(s, ch->tx.d.awake, fuzz_u32(&s->in));
		break;
	default: { /* any bytes anywhere */
		size_t off = fuzz_u16(&s->in) % s->size, len = 1u + fuzz_u8(&s->in) % 8u, got;
		const uint8_t *b;

		if (len > s->size - off)
			len = s->size - off;
		b = fuzz_bytes(&s->in, len, &got);
		memcpy(s->r + off, b, got);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st *s = &S;
	struct vmsg_shm_cfg cc;
	struct vmsg_shm_bus_hooks hooks;
	struct vmsg_bus_cfg bc;
	uint64_t need;
	uint8_t set;
	int r;

	memset(s, 0, sizeof(*s));
	s->in = (struct fuzz_in){ data, size };
	set = fuzz_u8(&s->in);
	s->device = set & 1u;
	s->nonowner = (set & 0x40u) != 0;
	memset(&cc, 0, sizeof(cc));
	cc.side = s->device ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	cc.mem = (set & 2u) ? VMSG_SPSC_MEM_DEVICE : VMSG_SPSC_MEM_COHERENT;
	cc.owner = true;
	cc.peer_id = 3;
	cc.v1.num_elems = (uint16_t)(2u + fuzz_u8(&s->in) % 15u);
	cc.v1.elem_size = (uint16_t)(16u + 4u * (fuzz_u8(&s->in) % 29u));
	cc.v1.extended = (set & 4u) != 0;
	if (vmsg_shm_v1_size(&cc.v1, &need) != 0 || need > sizeof(snap))
		return 0;
	if (s->nonowner) {
		/* The peer's layout, in a region with room for it to grow. */
		s->pcfg = cc;
		s->pcfg.side = s->device ? VMSG_SHM_DRIVER : VMSG_SHM_DEVICE;
		s->pcfg.peer_id = 5;
		cc.owner = false;
		need += 64u * (uint64_t)fuzz_u8(&s->in);
		if (need > sizeof(snap))
			need = sizeof(snap);
	}
	s->size = (size_t)need;
	{
		void *p = NULL;

		if (posix_memalign(&p, 64, s->size) != 0)
			return 0;
		s->r = p;
	}
	memset(s->r, 0, s->size);
	if (s->nonowner) {
		r = vmsg_shm_chan_open_v1(&s->pch, s->r, s->size, &s->pcfg);
		if (r == VMSG_ENOTSUP)
			goto out;
		FUZZ_CHECK(r == 0);
	}
	r = vmsg_shm_chan_open_v1(&s->ch, s->r, s->size, &cc);
	if (VMSG_CONFIG_SHM_V1_OWNER_ONLY && !cc.owner) {
		FUZZ_CHECK(r == VMSG_ENOTSUP); /* an owner-only build has no validator */
		goto out;
	}
	if (r == VMSG_ENOTSUP) /* a memory mode or channel kind this build left out */
		goto out;
	FUZZ_CHECK(r == 0);
	if (s->nonowner)
		FUZZ_CHECK(s->ch.attached && s->ch.info.num_elems == cc.v1.num_elems &&
			   s->ch.info.elem_size == cc.v1.elem_size);

	/* What the peer owns: its queue head (its line when extended), its
	 * awake word and its element array. */
	s->peer[0] = (struct range){ (size_t)(s->ch.peer_qh - s->r), s->ch.extended ? 0x18u : 8u };
	s->peer[1] = (struct range){ (size_t)((uint8_t *)s->ch.rx.d.slots - s->r),
				     (size_t)s->ch.rx.d.num_slots * s->ch.rx.d.slot_size };
	s->npeer = 2;
	if (s->ch.extended && s->ch.tx.d.awake)
		s->peer[s->npeer++] = (struct range){ (size_t)((uint8_t *)s->ch.tx.d.awake - s->r), 4 };

	memset(&hooks, 0, sizeof(hooks));
	hooks.kick = h_kick;
	hooks.wait = h_wait;
	hooks.now = (set & 8u) ? h_now : NULL;
	hooks.ctx = s;
	hooks.max_msg_size = (set & 0x10u) ? 48u : 0;
	FUZZ_CHECK(vmsg_shm_bus_init(&s->sb, &s->ch, &hooks, 0) == 0);

	chk_ops = vmsg_shm_bus_ops;
	chk_ops.send = chk_send;
	chk_ops.recv = chk_recv;
	if (chk_ops.recv_more)
		chk_ops.recv_more = chk_recv_more;
	memset(&bc, 0, sizeof(bc));
	bc.ops = &chk_ops;
	bc.on_params = on_params;
	bc.on_params_ctx = s;
	bc.priv = &s->sb;
	bc.role = s->device ? VMSG_BUS_DEVICE : VMSG_BUS_DRIVER;
	bc.profile = (set & 0x20u) ? VMSG_PROFILE_2025 : VMSG_PROFILE_2026;
	bc.reqs = s->reqs;
	bc.num_reqs = 4;
	bc.devs = s->devs;
	bc.num_devs = 4;
	bc.rx_buf = s->rx;
	bc.rx_cap = sizeof(s->rx);
	bc.tx_buf = s->tx;
	bc.tx_cap = sizeof(s->tx);
	r = vmsg_bus_init(&s->bus, &bc);
	if (r == VMSG_ENOTSUP || r == VMSG_EINVAL) /* a role or profile left out; 2026 needs 52 */
		goto out;
	FUZZ_CHECK(r == 0);
	if (s->device)
		r = vmsg_bus_add_device(&s->bus, 1, dev_fn, s, false);
	else
		r = vmsg_bus_attach_device(&s->bus, 1, NULL, NULL, true);
	FUZZ_CHECK(r == 0);

	for (unsigned steps = 0; s->in.n && steps < 256; steps++) {
		uint8_t op = fuzz_u8(&s->in);

		if (op < 0x80) {
			peer_step(s, op);
			continue;
		}
		snap_take(s);
		switch (op % 7u) {
		case 0:
		case 1:
			r = vmsg_bus_poll(&s->bus);
			check_poll_code(s, r, "vmsg_bus_poll");
			break;
		case 2: {
			struct vmsg_msg req;

			memset(&req, 0, sizeof(req));
			if (s->ntrack >= MAX_TRACK)
				break;
			if (op & 0x40u && !s->device) {
				req.msg_id = VMSG_ID_GET_DEVICE_STATUS;
				req.dev_num = 1;
			} else {
				req.type = VMSG_TYPE_BUS;
				req.msg_id = VMSG_BUS_ID_PING;
				req.u.ping.data = fuzz_u32(&s->in);
			}
			r = vmsg_bus_submit(&s->bus, &req, 5000000u, done_cb, &s->done[s->ntrack]);
			FUZZ_CHECK(r == 0 || r == VMSG_EBUSY || r == VMSG_EAGAIN ||
				   r == VMSG_ECONNRESET || r == VMSG_EPROTO || r == VMSG_ENODEV ||
				   (s->bad && r == VMSG_ESTATE) ||
				   /* the slot shrank; the reset that says so is not taken yet */
				   (s->nonowner && r == VMSG_EMSGSIZE));
			FUZZ_CHECK(!s->bad || r != 0);
			if (r == 0)
				s->ntrack++;
			break;
		}
		case 3:
			r = vmsg_bus_wait(&s->bus, (int64_t)fuzz_u8(&s->in) * 1000000);
			check_poll_code(s, r, "vmsg_bus_wait");
			break;
		case 4:
			r = vmsg_bus_prepare_sleep(&s->bus);
			FUZZ_CHECK(r == 0 || r == 1);
			break;
		case 5:
			if (op & 0x20u)
				FUZZ_CHECK(vmsg_bus_kick(&s->bus) == 0);
			else
				FUZZ_CHECK(vmsg_bus_cork(&s->bus, (op & 0x40u) != 0) == 0);
			break;
		default:
			if (op & 0x40u)
				op_event(s);
			else
				vmsg_shm_bus_peer_gone(&s->sb); /* the port saw a hang-up */
			break;
		}
		snap_check(s);
	}
	snap_take(s);
	FUZZ_CHECK(vmsg_bus_close(&s->bus) == 0);
	snap_check(s);
	for (unsigned i = 0; i < s->ntrack; i++)
		FUZZ_CHECK(s->done[i] == 1);
out:
	free(s->r);
	return 0;
}
