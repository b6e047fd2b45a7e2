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
 * Checks: nothing outside the region is touched (a heap block of exactly
 * the layout's size; ASan), our side never writes what the peer owns (its
 * queue head and side words, its awake word, its element array), every bus
 * call returns a documented code, and every request completes exactly once.
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

static void snap_take(struct st *s)
{
	memcpy(snap, s->r, s->size);
}

static void snap_check(struct st *s)
{
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

static void put32(struct st *s, const uint8_t *p, uint32_t v)
{
	vmsg_put_le32(s->r + (p - s->r), v);
}

/* The peer writes (between bus calls). */
static void peer_step(struct st *s, uint8_t op)
{
	struct vmsg_shm_chan *ch = &s->ch;
	const uint8_t *pq = ch->peer_qh;
	uint32_t n = ch->rx.d.num_slots, ss = ch->rx.d.slot_size;

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
	s->size = (size_t)need;
	{
		void *p = NULL;

		if (posix_memalign(&p, 64, s->size) != 0)
			return 0;
		s->r = p;
	}
	memset(s->r, 0, s->size);
	r = vmsg_shm_chan_open_v1(&s->ch, s->r, s->size, &cc);
	if (r == VMSG_ENOTSUP) /* a memory mode or channel kind this build left out */
		goto out;
	FUZZ_CHECK(r == 0);

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

	memset(&bc, 0, sizeof(bc));
	bc.ops = &vmsg_shm_bus_ops;
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
			FUZZ_CHECK(r >= 0 || r == VMSG_EPROTO);
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
				   r == VMSG_ECONNRESET || r == VMSG_EPROTO || r == VMSG_ENODEV);
			if (r == 0)
				s->ntrack++;
			break;
		}
		case 3:
			r = vmsg_bus_wait(&s->bus, (int64_t)fuzz_u8(&s->in) * 1000000);
			FUZZ_CHECK(r >= 0 || r == VMSG_EPROTO);
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
