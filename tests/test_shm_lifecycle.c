/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer lifecycle of a vmamp v1 channel (docs/ring-protocol.md,
 * "Lifecycle"): two channel endpoints on one buffer, driven from one thread
 * by polling both. Every message carries its sender's side, life number and
 * sequence number, so a receiver can tell that nothing from an old life is
 * ever delivered and nothing is lost or reordered within a life.
 *
 * A plain v1 peer (Linux, QEMU) is simulated by hand from the spec note
 * (shared/spec/shm-and-ports.md §4.3): its queue head is written by the test.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_msg/config.h"
#include "virtio_msg/proto.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

/*
 * Builds that leave things out (config.h): with one memory mode, every test
 * runs in that mode (the lifecycle does not depend on it); without 16-bit
 * indices (no v1 channels) or, in an owner-only build, for a side that does
 * not own the layout, opening is checked to be refused with VMSG_ENOTSUP and
 * the test is skipped.
 */
static uint8_t compiled_mem(uint8_t mem)
{
	if (mem == VMSG_SPSC_MEM_DEVICE)
		return VMSG_CONFIG_HAS_MEM_DEVICE ? mem : VMSG_SPSC_MEM_COHERENT;
	return VMSG_CONFIG_HAS_MEM_COHERENT ? mem : VMSG_SPSC_MEM_DEVICE;
}

#define BUF_SIZE 0x2000u
#define NELEMS 8u
#define ESIZE 64u
#define USABLE (NELEMS - 1u)
#define MAX_POLLS 64

/* Extended layout positions (docs/ring-protocol.md). */
#define X_DEV_QH 0x80u
#define X_DRV_QH 0xC0u

static uint8_t *buf;

static int setup(void **state)
{
	void *p = NULL;

	(void)state;
	if (posix_memalign(&p, 64, BUF_SIZE))
		return -1;
	buf = p;
	memset(buf, 0, BUF_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(buf);
	buf = NULL;
	return 0;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---------------------------------------------------------------------- */
/* Tagged messages                                                        */
/* ---------------------------------------------------------------------- */

/* "LIFE", side, 3 zero bytes, le32 life, le32 seq, then a pattern. */
static void make_msg(uint8_t *m, int side, uint32_t life, uint32_t seq)
{
	memcpy(m, "LIFE", 4);
	m[4] = (uint8_t)side;
	m[5] = 0;
	m[6] = 64; /* le16 msg_size where a virtio-msg header has it: the shm bus
		    * delivers that many bytes (the channel the whole slot) */
	m[7] = 0;
	put_le32(m + 8, life);
	put_le32(m + 12, seq);
	for (unsigned i = 16; i < 64; i++)
		m[i] = (uint8_t)(life * 7u + seq + i);
}

/* One endpoint and what it expects from its peer. */
struct ep {
	struct vmsg_shm_chan ch;
	int side;
	uint32_t life;	    /* this endpoint's life number */
	uint32_t tx_seq;    /* next to send in this session */
	uint32_t peer_life; /* the life the current session's peer has */
	uint32_t rx_seq;    /* next expected from the peer */
	unsigned ups, downs;
};

/* Check a received message: well-formed, from the peer's current life, in
 * order. Any message of an old life, or garbage, fails. */
static void check_rx(struct ep *e, const uint8_t *m, int len)
{
	uint8_t exp[64];

	assert_int_equal(len, 64);
	if (memcmp(m, "LIFE", 4) != 0) {
		print_error("side %d received garbage (a zeroed or stale slot?): "
			    "%02x %02x %02x %02x ...\n",
			    e->side, m[0], m[1], m[2], m[3]);
		fail();
	}
	if (get_le32(m + 8) != e->peer_life) {
		print_error("side %d received a message of peer life %u, expected life %u\n",
			    e->side, get_le32(m + 8), e->peer_life);
		fail();
	}
	assert_int_equal(m[4], 1 - e->side);
	assert_int_equal(get_le32(m + 12), e->rx_seq);
	make_msg(exp, 1 - e->side, e->peer_life, e->rx_seq);
	assert_memory_equal(m, exp, 64);
	e->rx_seq++;
}

static int send_one(struct ep *e)
{
	uint8_t m[64];
	int rc;

	make_msg(m, e->side, e->life, e->tx_seq);
	rc = vmsg_shm_chan_send(&e->ch, m, 64);
	if (rc == 0)
		e->tx_seq++;
	return rc;
}

/* Receive everything there is; returns how many. */
static unsigned drain(struct ep *e)
{
	uint8_t m[64];
	unsigned n = 0;
	int rc;

	while ((rc = vmsg_shm_chan_recv(&e->ch, m, sizeof(m))) > 0) {
		check_rx(e, m, rc);
		n++;
	}
	assert_int_equal(rc, VMSG_EAGAIN);
	return n;
}

static struct vmsg_shm_cfg make_cfg(int side, bool owner, bool extended, uint8_t mem,
				    uint32_t peer_id)
{
	struct vmsg_shm_cfg c;

	memset(&c, 0, sizeof(c));
	c.side = side ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	c.mem = compiled_mem(mem);
	c.peer_id = peer_id;
	c.owner = owner;
	c.v1.num_elems = NELEMS;
	c.v1.elem_size = ESIZE;
	c.v1.extended = extended;
	return c;
}

/* Open @c on @buf, or (compiled out) check the refusal and skip the test. */
static void open_or_skip(struct vmsg_shm_chan *ch, const struct vmsg_shm_cfg *c)
{
	if (!VMSG_CONFIG_HAS_INDEX16 || (VMSG_CONFIG_SHM_V1_OWNER_ONLY && !c->owner)) {
		assert_int_equal(vmsg_shm_chan_open_v1(ch, buf, BUF_SIZE, c), VMSG_ENOTSUP);
		skip(); /* no v1 channels / only layout owners in this build */
	}
	assert_int_equal(vmsg_shm_chan_open_v1(ch, buf, BUF_SIZE, c), 0);
}

static void ep_open(struct ep *e, const struct vmsg_shm_cfg *c, uint32_t life)
{
	e->side = c->side == VMSG_SHM_DEVICE;
	e->life = life;
	e->tx_seq = 0;
	e->ups = e->downs = 0;
	open_or_skip(&e->ch, c);
}

static void poll_ep(struct ep *e)
{
	int ev = vmsg_shm_chan_poll(&e->ch);

	assert_true(ev >= 0);
	if (ev & VMSG_SHM_EV_DOWN)
		e->downs++;
	if (ev & VMSG_SHM_EV_UP)
		e->ups++;
}

/* Poll both until both are RUN; a new session starts on UP. */
static void run_both(struct ep *a, struct ep *b)
{
	unsigned a_ups = a->ups, b_ups = b->ups;
	int i;

	for (i = 0; i < MAX_POLLS; i++) {
		if (vmsg_shm_chan_state(&a->ch) == VMSG_SHM_RUN &&
		    vmsg_shm_chan_state(&b->ch) == VMSG_SHM_RUN)
			break;
		poll_ep(a);
		poll_ep(b);
	}
	assert_true(i < MAX_POLLS);
	/* Both entered RUN once more: a fresh session with fresh numbering. */
	assert_true(a->ups == a_ups + 1 || a->ups == a_ups);
	assert_true(b->ups == b_ups + 1 || b->ups == b_ups);
	if (a->ups != a_ups) {
		a->peer_life = b->life;
		a->rx_seq = 0;
		a->tx_seq = 0;
	}
	if (b->ups != b_ups) {
		b->peer_life = a->life;
		b->rx_seq = 0;
		b->tx_seq = 0;
	}
	/* A few more polls change nothing. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(vmsg_shm_chan_poll(&a->ch), 0);
		assert_int_equal(vmsg_shm_chan_poll(&b->ch), 0);
	}
}

/* Both ends opened on a clean region (life 1) and brought to RUN. */
static void pair_up(struct ep e[2], const struct vmsg_shm_cfg *c0, const struct vmsg_shm_cfg *c1)
{
	memset(buf, 0, BUF_SIZE);
	memset(e, 0, 2 * sizeof(*e));
	ep_open(&e[0], c0, 1);
	ep_open(&e[1], c1, 1);
	run_both(&e[0], &e[1]);
}

/* Fill both directions to N - 1, then drain, twice round the ring. */
static void traffic(struct ep *a, struct ep *b)
{
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < USABLE; i++) {
			assert_int_equal(send_one(a), 0);
			assert_int_equal(send_one(b), 0);
		}
		assert_int_equal(send_one(a), VMSG_EAGAIN);
		assert_int_equal(send_one(b), VMSG_EAGAIN);
		assert_int_equal(drain(b), USABLE);
		assert_int_equal(drain(a), USABLE);
	}
}

static uint8_t *qh_of(int side)
{
	return buf + (side ? X_DEV_QH : X_DRV_QH);
}

/*
 * Where a survivor waits for its peer to come back, and what its queue head
 * says: PEER_DEAD (4) with an extended peer; with a plain v1 peer, which
 * gives up for good when it starts against a state above RUN, it started
 * its own side again: INIT (0) (docs/ring-protocol.md, "Plain v1 peers").
 */
static void assert_waits_for_peer(const struct ep *s, bool ext)
{
	int want = ext ? VMSG_SHM_PEER_DEAD : VMSG_SHM_INIT;
	const uint8_t *q = buf + get_le64(buf + (s->side ? 0x18 : 0x30));

	assert_int_equal(vmsg_shm_chan_state(&s->ch), want);
	assert_int_equal(get_le16(q), 0x514F);
	assert_int_equal(get_le16(q + 2) & 0x1F, want);
}

/* ---------------------------------------------------------------------- */
/* Reaching RUN                                                           */
/* ---------------------------------------------------------------------- */

static void test_shm_lifecycle_reach_run(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		for (uint8_t mem = 0; mem < 2; mem++) {
			for (int owner_side = 0; owner_side < 2; owner_side++) {
				struct ep drv, dev;
				struct vmsg_shm_cfg cd = make_cfg(0, owner_side == 0, ext, mem, 1);
				struct vmsg_shm_cfg cv = make_cfg(1, owner_side == 1, ext, mem, 2);
				uint8_t m[64];

				memset(buf, 0, BUF_SIZE);
				memset(&drv, 0, sizeof(drv));
				memset(&dev, 0, sizeof(dev));
				/* the owner first */
				if (owner_side) {
					ep_open(&dev, &cv, 1);
					ep_open(&drv, &cd, 1);
				} else {
					ep_open(&drv, &cd, 1);
					ep_open(&dev, &cv, 1);
				}
				/* Not RUN yet: nothing flows. */
				assert_int_equal(vmsg_shm_chan_state(&drv.ch), VMSG_SHM_INIT);
				make_msg(m, 0, 1, 0);
				assert_int_equal(vmsg_shm_chan_send(&drv.ch, m, 64), VMSG_ESTATE);
				assert_int_equal(vmsg_shm_chan_recv(&dev.ch, m, 64), VMSG_ESTATE);
				assert_int_equal(vmsg_shm_chan_arm(&dev.ch), VMSG_ESTATE);
				run_both(&drv, &dev);
				assert_int_equal(drv.ups, 1);
				assert_int_equal(dev.ups, 1);
				assert_int_equal(drv.downs, 0);
				assert_int_equal(dev.downs, 0);
				/* Both queue heads carry magic 4f 51 and RUN (2). */
				{
					const uint8_t *dq = buf + get_le64(buf + 0x18);
					const uint8_t *rq = buf + get_le64(buf + 0x30);

					assert_int_equal(get_le16(dq), 0x514F);
					assert_int_equal(get_le16(rq), 0x514F);
					assert_int_equal(get_le16(dq + 2) & 0x1F, 2);
					assert_int_equal(get_le16(rq + 2) & 0x1F, 2);
				}
				traffic(&drv, &dev);
			}
		}
	}
}

/* Step 2 and 3 of the lifecycle: a side goes READY when the peer is INIT or
 * READY, but RUN only when the peer is READY or RUN. Polled alone, a side
 * never gets past READY. */
static void test_shm_lifecycle_ready_waits_for_peer(void **state)
{
	(void)state;
	for (int alone = 0; alone < 2; alone++) {
		struct ep e[2];
		struct vmsg_shm_cfg c[2];

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		c[0] = make_cfg(0, false, true, 0, 1);
		c[1] = make_cfg(1, true, true, 0, 2);
		ep_open(&e[1], &c[1], 1);
		ep_open(&e[0], &c[0], 1);
		for (int i = 0; i < 8; i++)
			poll_ep(&e[alone]);
		assert_int_equal(vmsg_shm_chan_state(&e[alone].ch), VMSG_SHM_READY);
		assert_int_equal(vmsg_shm_chan_state(&e[1 - alone].ch), VMSG_SHM_INIT);
		assert_int_equal(e[alone].ups, 0);
		/* its queue head says READY (1) */
		assert_int_equal(get_le16(qh_of(e[alone].side) + 2) & 0x1F, 1);
		poll_ep(&e[1 - alone]); /* INIT -> READY: the peer is READY */
		assert_int_equal(vmsg_shm_chan_state(&e[1 - alone].ch), VMSG_SHM_READY);
		run_both(&e[0], &e[1]);
		assert_int_equal(e[0].ups, 1);
		assert_int_equal(e[1].ups, 1);
		traffic(&e[0], &e[1]);
	}
}

/* The driver opens first, before any layout exists: EAGAIN is not an
 * error; it polls until the owner has written the layout. */
static void test_shm_lifecycle_layout_written_later(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		struct ep drv, dev;
		struct vmsg_shm_cfg cd = make_cfg(0, false, ext, 0, 1);
		struct vmsg_shm_cfg cv = make_cfg(1, true, ext, 0, 2);
		uint8_t m[64] = { 0 };

		memset(buf, 0, BUF_SIZE);
		memset(&drv, 0, sizeof(drv));
		memset(&dev, 0, sizeof(dev));
		ep_open(&drv, &cd, 1);
		for (int i = 0; i < 10; i++)
			assert_int_equal(vmsg_shm_chan_poll(&drv.ch), 0);
		assert_int_equal(vmsg_shm_chan_state(&drv.ch), VMSG_SHM_INIT);
		assert_int_equal(vmsg_shm_chan_send(&drv.ch, m, 64), VMSG_ESTATE);
		/* it wrote nothing while waiting */
		for (size_t i = 0; i < BUF_SIZE; i++)
			assert_int_equal(buf[i], 0);
		ep_open(&dev, &cv, 1);
		run_both(&drv, &dev);
		assert_int_equal(drv.ups, 1);
		assert_int_equal(dev.ups, 1);
		traffic(&drv, &dev);
	}
}

/* ---------------------------------------------------------------------- */
/* Restarts                                                               */
/* ---------------------------------------------------------------------- */

/* Put some traffic in flight both ways: each side has sent 5 and read 1,
 * so each side has 4 unread messages waiting, already seen by its cache. */
static void in_flight(struct ep *a, struct ep *b)
{
	uint8_t m[64];
	int rc;

	for (int i = 0; i < 5; i++) {
		assert_int_equal(send_one(a), 0);
		assert_int_equal(send_one(b), 0);
	}
	rc = vmsg_shm_chan_recv(&a->ch, m, 64);
	check_rx(a, m, rc);
	rc = vmsg_shm_chan_recv(&b->ch, m, 64);
	check_rx(b, m, rc);
}

/*
 * One side restarts (re-opens) while the other has unread messages in both
 * directions. The survivor polls first (the normal loop): it sees DOWN,
 * both get back to RUN, and nothing of the old life is delivered to either.
 * A message the survivor sent after the restart but before noticing it may
 * be accepted, but must never reach the new life.
 */
static void restart_case(bool ext, uint8_t mem, int restarting_side, bool owner_is_dev)
{
	struct ep e[2];
	struct vmsg_shm_cfg c[2];
	struct ep *r = &e[restarting_side], *s = &e[1 - restarting_side];
	uint8_t hdr_before[0x80], peer_line[64], peer_arr[NELEMS * ESIZE];
	uint64_t peer_elems;
	int rc;

	memset(buf, 0, BUF_SIZE);
	memset(e, 0, sizeof(e));
	c[0] = make_cfg(0, !owner_is_dev, ext, mem, 0x100);
	c[1] = make_cfg(1, owner_is_dev, ext, mem, 0x200);
	ep_open(&e[owner_is_dev ? 1 : 0], &c[owner_is_dev ? 1 : 0], 1);
	ep_open(&e[owner_is_dev ? 0 : 1], &c[owner_is_dev ? 0 : 1], 1);
	run_both(&e[0], &e[1]);
	in_flight(&e[0], &e[1]);

	/* What the restart must not touch: the header (and extension line,
	 * but for the restarting side's own awake word), the survivor's
	 * queue-head line and the survivor's element array. */
	memcpy(hdr_before, buf, sizeof(hdr_before));
	{
		uint64_t sqh = get_le64(buf + (s->side ? 0x18 : 0x30));

		memcpy(peer_line, buf + sqh, ext ? 64 : 8);
	}
	peer_elems = get_le64(buf + (s->side ? 0x20 : 0x38));
	memcpy(peer_arr, buf + peer_elems, sizeof(peer_arr));

	/* The restart: a new process opens the same side again. */
	ep_open(r, &c[restarting_side], r->life + 1);
	if (!ext) {
		assert_memory_equal(buf, hdr_before, 64);
	} else {
		/* The restarted side starts armed: a fresh even token in its
		 * own awake word, different from the one it left there. */
		size_t aw = VMSG_EXT_LINE + (r->side ? VMSG_EXT_OFF_DEV_AWAKE :
						       VMSG_EXT_OFF_DRV_AWAKE);
		uint32_t tok = get_le32(buf + aw);

		assert_int_equal(tok % 2, 0);
		assert_int_not_equal(tok, 0);
		assert_int_not_equal(tok, get_le32(hdr_before + aw) & ~1u);
		memcpy(hdr_before + aw, buf + aw, 4);
		assert_memory_equal(buf, hdr_before, sizeof(hdr_before));
	}
	{
		uint64_t sqh = get_le64(buf + (s->side ? 0x18 : 0x30));

		assert_memory_equal(buf + sqh, peer_line, ext ? 64 : 8);
	}
	assert_memory_equal(buf + peer_elems, peer_arr, sizeof(peer_arr));

	/* The survivor notices on its next poll. */
	poll_ep(s);
	assert_int_equal(s->downs, 1);
	assert_waits_for_peer(s, ext);
	/* Down: nothing flows until UP. */
	{
		uint8_t m[64];

		assert_int_equal(vmsg_shm_chan_recv(&s->ch, m, 64), VMSG_ESTATE);
		make_msg(m, s->side, s->life, 999);
		assert_int_equal(vmsg_shm_chan_send(&s->ch, m, 64), VMSG_ESTATE);
	}
	run_both(&e[0], &e[1]);
	assert_int_equal(s->downs, 1);
	assert_int_equal(r->downs, 0);
	assert_int_equal(r->ups, 1);
	/* Steps 2 and 5: before READY each side zeroed its own element array
	 * (the survivor discarded what the old peer never read). */
	for (int side = 0; side < 2; side++) {
		const uint8_t *a = buf + get_le64(buf + (side ? 0x20 : 0x38));

		for (size_t i = 0; i < NELEMS * ESIZE; i++)
			assert_int_equal(a[i], 0);
	}
	/* Nothing of the old life in either direction. */
	{
		uint8_t m[64];

		rc = vmsg_shm_chan_recv(&s->ch, m, 64);
		if (rc > 0)
			check_rx(s, m, rc);
		assert_int_equal(rc, VMSG_EAGAIN);
		rc = vmsg_shm_chan_recv(&r->ch, m, 64);
		if (rc > 0)
			check_rx(r, m, rc);
		assert_int_equal(rc, VMSG_EAGAIN);
	}
	traffic(&e[0], &e[1]);
}

static void test_shm_lifecycle_driver_restart(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++)
		for (uint8_t mem = 0; mem < 2; mem++)
			restart_case(ext, mem, 0, true);
}

/* The owner restarts: it reuses the layout (the header never changes, so
 * the driver never sees the magic vanish) and leaves the driver's side
 * alone. */
static void test_shm_lifecycle_device_owner_restart(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++)
		for (uint8_t mem = 0; mem < 2; mem++)
			restart_case(ext, mem, 1, true);
}

/* The other combinations: the driver owns the layout. */
static void test_shm_lifecycle_restart_driver_owner(void **state)
{
	(void)state;
	restart_case(true, 0, 0, false);
	restart_case(true, 0, 1, false);
	restart_case(false, 1, 0, false);
	restart_case(false, 1, 1, false);
}

/*
 * The survivor does NOT poll before touching its rings: it has unread
 * messages that its cache already counted. The protocol says the survivor
 * observes the restart "before it touches another slot", by the state drop
 * or the epoch change (docs/ring-protocol.md, "Why no stale delivery"), so
 * recv must fail with ECONNRESET instead of delivering a slot of the old
 * life (or the zeros the restarted side wrote over it).
 */
static void test_shm_lifecycle_restart_survivor_recv_without_poll(void **state)
{
	(void)state;
	for (int restarting = 0; restarting < 2; restarting++) {
		struct ep e[2];
		struct vmsg_shm_cfg c[2];
		struct ep *r = &e[restarting], *s = &e[1 - restarting];
		uint8_t m[64];
		int rc;

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		c[0] = make_cfg(0, false, true, 0, 0x100);
		c[1] = make_cfg(1, true, true, 0, 0x200);
		ep_open(&e[1], &c[1], 1);
		ep_open(&e[0], &c[0], 1);
		run_both(&e[0], &e[1]);
		in_flight(&e[0], &e[1]);
		ep_open(r, &c[restarting], 2);
		rc = vmsg_shm_chan_recv(&s->ch, m, 64);
		if (rc > 0) {
			print_error("survivor (side %d) delivered a slot after the peer restarted "
				    "(first bytes %02x %02x %02x %02x)\n",
				    s->side, m[0], m[1], m[2], m[3]);
		}
		assert_int_equal(rc, VMSG_ECONNRESET);
		poll_ep(s);
		assert_int_equal(s->downs, 1);
		run_both(&e[0], &e[1]);
		traffic(&e[0], &e[1]);
	}
}

/* A survivor whose ring is full must reload the peer's index to send, and
 * the guard (epoch) then says ECONNRESET. */
static void test_shm_lifecycle_restart_survivor_send_full(void **state)
{
	(void)state;
	for (int restarting = 0; restarting < 2; restarting++) {
		struct ep e[2];
		struct vmsg_shm_cfg c[2];
		struct ep *r = &e[restarting], *s = &e[1 - restarting];

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		c[0] = make_cfg(0, false, true, 1, 0x100);
		c[1] = make_cfg(1, true, true, 1, 0x200);
		ep_open(&e[1], &c[1], 1);
		ep_open(&e[0], &c[0], 1);
		run_both(&e[0], &e[1]);
		for (unsigned i = 0; i < USABLE; i++)
			assert_int_equal(send_one(s), 0);
		assert_int_equal(send_one(s), VMSG_EAGAIN);
		ep_open(r, &c[restarting], 2);
		assert_int_equal(send_one(s), VMSG_ECONNRESET);
		assert_int_equal(send_one(s), VMSG_ECONNRESET); /* not latched as EPROTO */
		poll_ep(s);
		assert_int_equal(s->downs, 1);
		run_both(&e[0], &e[1]);
		assert_int_equal(drain(r), 0); /* the 7 of the old life are gone */
		traffic(&e[0], &e[1]);
	}
}

/* Many restarts in a row, of either side: the restarting side's epoch (in
 * its queue-head line at +8, le32) goes up by one each time, and every
 * restart is one DOWN and one UP for the survivor. */
static void test_shm_lifecycle_many_restarts(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c[2];
	uint32_t rng = 77;

	(void)state;
	memset(buf, 0, BUF_SIZE);
	memset(e, 0, sizeof(e));
	c[0] = make_cfg(0, false, true, 0, 0x100);
	c[1] = make_cfg(1, true, true, 0, 0x200);
	ep_open(&e[1], &c[1], 1);
	ep_open(&e[0], &c[0], 1);
	run_both(&e[0], &e[1]);
	for (int k = 0; k < 60; k++) {
		int side;
		struct ep *r, *s;
		uint32_t epoch, sdowns, sups;

		rng = rng * 1103515245u + 12345u;
		side = (rng >> 16) & 1;
		r = &e[side];
		s = &e[1 - side];
		epoch = get_le32(qh_of(r->side) + 8);
		assert_int_not_equal(epoch, 0);
		sdowns = s->downs;
		sups = s->ups;
		if ((rng >> 20) & 1)
			in_flight(&e[0], &e[1]);
		ep_open(r, &c[side], r->life + 1);
		assert_int_equal(get_le32(qh_of(r->side) + 8), epoch + 1);
		/* the survivor's epoch did not move */
		poll_ep(s);
		assert_int_equal(s->downs, sdowns + 1);
		run_both(&e[0], &e[1]);
		assert_int_equal(s->ups, sups + 1);
		assert_int_equal(r->ups, 1);
		assert_int_equal(drain(&e[0]), 0);
		assert_int_equal(drain(&e[1]), 0);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(send_one(&e[0]), 0);
			assert_int_equal(send_one(&e[1]), 0);
		}
		assert_int_equal(drain(&e[0]), 3);
		assert_int_equal(drain(&e[1]), 3);
	}
}

/* Two restarts of the same side before the survivor polls once. */
static void test_shm_lifecycle_double_restart_unseen(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c[2];

	(void)state;
	memset(buf, 0, BUF_SIZE);
	memset(e, 0, sizeof(e));
	c[0] = make_cfg(0, false, true, 0, 0x100);
	c[1] = make_cfg(1, true, true, 0, 0x200);
	ep_open(&e[1], &c[1], 1);
	ep_open(&e[0], &c[0], 1);
	run_both(&e[0], &e[1]);
	in_flight(&e[0], &e[1]);
	ep_open(&e[0], &c[0], 2);
	poll_ep(&e[0]); /* the new driver waits: the device is still RUN */
	assert_int_equal(vmsg_shm_chan_state(&e[0].ch), VMSG_SHM_INIT);
	ep_open(&e[0], &c[0], 3);
	run_both(&e[0], &e[1]);
	assert_int_equal(e[1].downs, 1);
	assert_int_equal(drain(&e[0]), 0);
	assert_int_equal(drain(&e[1]), 0);
	traffic(&e[0], &e[1]);
}

/*
 * The epoch alone tells the survivor its peer is another life: the peer's
 * queue head shows RUN before and after, and its indices did not move
 * (a new life that came back to RUN at the same numbers, or a view of the
 * peer the survivor did not look at in between). Only its epoch (le32 at
 * queue head + 8) changed. The survivor must then neither deliver the slots
 * its cache counted from the old life nor stay up: the ring's guard says
 * ECONNRESET, the lifecycle DOWN. Without the epoch both would go through.
 * (A send that finds room is taken into our own array without a look at
 * the peer, as after any restart: step 5 zeroes that array before the next
 * session, restart_case().)
 */
static void test_shm_lifecycle_epoch_alone_ends_the_session(void **state)
{
	(void)state;
	for (int restarting = 0; restarting < 2; restarting++) {
		struct ep e[2];
		struct vmsg_shm_cfg c[2];
		struct ep *s = &e[1 - restarting];
		uint8_t *rqh = qh_of(restarting); /* e[i] is side i */
		uint8_t m[64], line_before[64];

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		c[0] = make_cfg(0, false, true, 0, 0x100);
		c[1] = make_cfg(1, true, true, 0, 0x200);
		ep_open(&e[1], &c[1], 1);
		ep_open(&e[0], &c[0], 1);
		run_both(&e[0], &e[1]);
		in_flight(&e[0], &e[1]); /* the survivor's cache counts 4 unread */
		memcpy(line_before, rqh, sizeof(line_before));
		put_le32(rqh + 8, get_le32(rqh + 8) + 1);
		/* Nothing else of the peer's line changed. */
		assert_memory_equal(rqh, line_before, 8);
		assert_memory_equal(rqh + 12, line_before + 12, sizeof(line_before) - 12);

		assert_int_equal(vmsg_shm_chan_recv(&s->ch, m, sizeof(m)), VMSG_ECONNRESET);
		poll_ep(s);
		assert_int_equal(s->downs, 1);
		assert_int_not_equal(vmsg_shm_chan_state(&s->ch), VMSG_SHM_RUN);
	}
}

/*
 * The owner comes back with other parameters (twice the elements, then the
 * first ones again): it writes a new layout. The driver, which validated
 * the old one, goes DOWN, validates the new one, starts its side on it and
 * meets the owner there: a full ring now holds the new number of slots.
 */
static void test_shm_lifecycle_owner_new_layout(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		struct ep e[2];
		struct vmsg_shm_cfg c[2];
		unsigned elems[3] = { NELEMS, 2 * NELEMS, NELEMS };

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		c[0] = make_cfg(0, false, ext, 0, 0x100);
		c[1] = make_cfg(1, true, ext, 0, 0x200);
		ep_open(&e[1], &c[1], 1);
		ep_open(&e[0], &c[0], 1);
		run_both(&e[0], &e[1]);
		for (int k = 1; k < 3; k++) {
			unsigned sent = 0;

			e[0].ups = e[0].downs = 0;
			in_flight(&e[0], &e[1]);
			c[1].v1.num_elems = (uint16_t)elems[k];
			ep_open(&e[1], &c[1], (uint32_t)k + 1);
			assert_int_equal(get_le16(buf + 0x0A), elems[k]); /* num_queue_elements */
			poll_ep(&e[0]);
			assert_int_equal(e[0].downs, 1);
			run_both(&e[0], &e[1]);
			assert_int_equal(e[0].ups, 1);
			assert_int_equal(drain(&e[0]), 0);
			assert_int_equal(drain(&e[1]), 0);
			while (send_one(&e[0]) == 0)
				sent++;
			assert_int_equal(sent, elems[k] - 1);
			assert_int_equal(drain(&e[1]), elems[k] - 1);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Shutdown and peer ids                                                  */
/* ---------------------------------------------------------------------- */

static void test_shm_lifecycle_shutdown_peer_dead(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		for (int closing = 0; closing < 2; closing++) {
			struct ep e[2];
			struct vmsg_shm_cfg c[2];
			struct ep *x = &e[closing], *s = &e[1 - closing];
			uint8_t m[64];

			memset(buf, 0, BUF_SIZE);
			memset(e, 0, sizeof(e));
			c[0] = make_cfg(0, false, ext, 0, 0x100);
			c[1] = make_cfg(1, true, ext, 0, 0x200);
			ep_open(&e[1], &c[1], 1);
			ep_open(&e[0], &c[0], 1);
			run_both(&e[0], &e[1]);
			vmsg_shm_chan_shutdown(&x->ch);
			assert_int_equal(vmsg_shm_chan_state(&x->ch), VMSG_SHM_SHUTDOWN);
			/* its own queue head says SHUTDOWN (3) */
			{
				const uint8_t *q = buf + get_le64(buf + (x->side ? 0x18 : 0x30));

				assert_int_equal(get_le16(q), 0x514F);
				assert_int_equal(get_le16(q + 2) & 0x1F, 3);
			}
			make_msg(m, x->side, 1, 0);
			assert_int_equal(vmsg_shm_chan_send(&x->ch, m, 64), VMSG_ESTATE);
			poll_ep(s);
			assert_int_equal(s->downs, 1);
			assert_waits_for_peer(s, ext);
			/* a closed endpoint stays closed */
			for (int i = 0; i < 5; i++) {
				poll_ep(x);
				poll_ep(s);
			}
			assert_int_equal(vmsg_shm_chan_state(&x->ch), VMSG_SHM_SHUTDOWN);
			assert_waits_for_peer(s, ext);
			assert_int_equal(s->ups, 1);
			/* the closed side comes back: a new life */
			ep_open(x, &c[closing], 2);
			run_both(&e[0], &e[1]);
			traffic(&e[0], &e[1]);
		}
	}
}

static void test_shm_lifecycle_peer_ids(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		struct ep drv, dev;
		struct vmsg_shm_cfg cd = make_cfg(0, false, ext, 1, 0x11223344u);
		struct vmsg_shm_cfg cv = make_cfg(1, true, ext, 1, 0x55667788u);

		memset(buf, 0, BUF_SIZE);
		memset(&drv, 0, sizeof(drv));
		memset(&dev, 0, sizeof(dev));
		ep_open(&dev, &cv, 1);
		ep_open(&drv, &cd, 1);
		run_both(&drv, &dev);
		if (ext) {
			assert_int_equal(vmsg_shm_chan_peer_id(&drv.ch), 0x55667788u);
			assert_int_equal(vmsg_shm_chan_peer_id(&dev.ch), 0x11223344u);
			/* published in each side's queue-head line at +0x10, le32 */
			assert_int_equal(get_le32(buf + X_DRV_QH + 0x10), 0x11223344u);
			assert_int_equal(get_le32(buf + X_DEV_QH + 0x10), 0x55667788u);
		} else {
			/* plain v1 has nowhere to put it */
			assert_int_equal(vmsg_shm_chan_peer_id(&drv.ch), 0);
			assert_int_equal(vmsg_shm_chan_peer_id(&dev.ch), 0);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* A plain v1 peer written by hand (as Linux / QEMU do, spec §4.3)         */
/* ---------------------------------------------------------------------- */

/*
 * The hand-written peer, doing what the Linux driver and QEMU do (facts
 * gathered from their sources, docs/ring-protocol.md "Plain v1 peers"):
 *  - start: zero its own array first, while its status word may still hold
 *    its previous life's value; then status INIT, then the queue-head magic;
 *  - wait for our magic; if our state is above RUN, publish SHUTDOWN and
 *    give up for good;
 *  - head = tail = 0, READY; while we are INIT, sleep and retry (here: poll
 *    our endpoint); above RUN: SHUTDOWN, give up; READY or RUN: RUN at once;
 *  - in RUN, never look at our state again: only our indices and slots;
 *  - it never publishes PEER_DEAD; on unregister it publishes SHUTDOWN.
 */
struct v1peer {
	uint8_t *qh, *own_elems, *peer_qh, *peer_elems;
	uint16_t n, es;
	uint16_t tail, head; /* its private indices */
	uint16_t pc;	     /* our tail as its consumer last loaded it */
	bool failed;	     /* gave up for good (published SHUTDOWN) */
	/* for the plain-peer tests: its messages and what it expects of ours */
	int side;
	uint32_t life, tx_seq, rx_seq;
	unsigned zeros; /* zeroed slots it took (its codec drops them) */
};

static void v1peer_state(struct v1peer *p, uint16_t st)
{
	put_le16(p->qh + 2, st);
}

/* Zero own elements, then INIT, then the magic. */
static void v1peer_start(struct v1peer *p)
{
	memset(p->own_elems, 0, (size_t)p->n * p->es);
	v1peer_state(p, 0);
	put_le16(p->qh + 0, 0x514F);
}

static uint16_t peer_state_of(const struct v1peer *p)
{
	return get_le16(p->peer_qh + 2) & 0x1F;
}

/* Refuse: SHUTDOWN, for good. */
static bool v1peer_give_up(struct v1peer *p)
{
	v1peer_state(p, 3);
	p->failed = true;
	return false;
}

/* The rest of its start after v1peer_start(): true in RUN, false when it
 * gave up. It polls our endpoint only while it has to wait. */
static bool v1peer_finish_start(struct v1peer *p, struct ep *ours)
{
	int i;

	for (i = 0; i < MAX_POLLS && get_le16(p->peer_qh) != 0x514F; i++)
		poll_ep(ours);
	assert_true(i < MAX_POLLS);
	if (peer_state_of(p) > 2)
		return v1peer_give_up(p);
	p->tail = p->head = p->pc = 0;
	put_le16(p->qh + 4, 0);
	put_le16(p->qh + 6, 0);
	v1peer_state(p, 1); /* READY */
	for (i = 0; i < MAX_POLLS && peer_state_of(p) == 0; i++)
		poll_ep(ours);
	assert_true(i < MAX_POLLS); /* (it would give up after a while) */
	if (peer_state_of(p) > 2)
		return v1peer_give_up(p);
	v1peer_state(p, 2); /* RUN: our state is never read again */
	return true;
}

static bool v1peer_restart(struct v1peer *p, struct ep *ours)
{
	p->failed = false;
	v1peer_start(p);
	return v1peer_finish_start(p, ours);
}

static void v1peer_send(struct v1peer *p, const uint8_t *m)
{
	memcpy(p->own_elems + (size_t)p->tail * p->es, m, 64);
	p->tail = (uint16_t)((p->tail + 1) % p->n);
	put_le16(p->qh + 4, p->tail);
}

/* Its consumer caches our tail and loads it again only when the cache says
 * empty, as the prototypes' rings do. */
static bool v1peer_recv(struct v1peer *p, uint8_t *m)
{
	if (p->head == p->pc)
		p->pc = get_le16(p->peer_qh + 4);
	if (p->head == p->pc)
		return false;
	memcpy(m, p->peer_elems + (size_t)p->head * p->es, 64);
	p->head = (uint16_t)((p->head + 1) % p->n);
	put_le16(p->qh + 6, p->head);
	return true;
}

/* The peer's start, then our endpoint polled until it is RUN too. */
static void v1peer_handshake(struct v1peer *p, struct ep *ours)
{
	int i;

	assert_true(v1peer_restart(p, ours));
	for (i = 0; i < MAX_POLLS && vmsg_shm_chan_state(&ours->ch) != VMSG_SHM_RUN; i++)
		poll_ep(ours);
	assert_true(i < MAX_POLLS);
}

/* Our device owns a plain layout; the test is the Linux driver. */
static void test_shm_lifecycle_plain_v1_linux_peer(void **state)
{
	struct ep dev;
	struct vmsg_shm_cfg cv = make_cfg(1, true, false, 0, 0);
	struct v1peer lx;
	uint8_t m[64];
	uint32_t life;

	(void)state;
	memset(buf, 0, BUF_SIZE);
	memset(&dev, 0, sizeof(dev));
	ep_open(&dev, &cv, 1);
	/* the driver validates and finds the offsets in the header */
	assert_int_equal(get_le16(buf), 0x4C4F);
	lx.qh = buf + get_le64(buf + 0x30);
	lx.own_elems = buf + get_le64(buf + 0x38);
	lx.peer_qh = buf + get_le64(buf + 0x18);
	lx.peer_elems = buf + get_le64(buf + 0x20);
	lx.n = get_le16(buf + 0x0A);
	lx.es = get_le16(buf + 0x0C);
	assert_int_equal(lx.n, NELEMS);
	assert_memory_not_equal(buf + 0x40, "VMX1", 4);
	/* A peer whose bytes next to its queue head are not zero: a plain v1
	 * layout has no awake word, so they must never suppress a kick. */
	memset(lx.qh + 8, 0xFF, 8);

	for (life = 1; life <= 3; life++) {
		v1peer_handshake(&lx, &dev);
		assert_int_equal(dev.ups, 1);
		dev.ups = 0;
		dev.peer_life = life;
		dev.rx_seq = 0;
		dev.tx_seq = 0;
		/* nothing left over from the previous life */
		assert_int_equal(drain(&dev), 0);
		assert_false(v1peer_recv(&lx, m));
		for (int round = 0; round < 4; round++) {
			for (uint32_t i = 0; i < USABLE; i++) {
				make_msg(m, 0, life, (uint32_t)round * USABLE + i);
				v1peer_send(&lx, m);
				assert_int_equal(send_one(&dev), 0);
				assert_true(vmsg_shm_chan_need_kick(&dev.ch));
			}
			assert_int_equal(send_one(&dev), VMSG_EAGAIN);
			assert_int_equal(drain(&dev), USABLE);
			for (uint32_t i = 0; i < USABLE; i++) {
				uint32_t seq = (uint32_t)round * USABLE + i;
				uint8_t exp[64];

				assert_true(v1peer_recv(&lx, m));
				make_msg(exp, 1, dev.life, seq);
				assert_memory_equal(m, exp, 64);
			}
			assert_false(v1peer_recv(&lx, m));
		}
		/* leave unread messages both ways, then the peer restarts */
		for (uint32_t i = 0; i < 3; i++) {
			make_msg(m, 0, life, 100 + i);
			v1peer_send(&lx, m);
			assert_int_equal(send_one(&dev), 0);
		}
		/* Linux restarts: INIT, and on its way back it meets our side */
		v1peer_state(&lx, 0);
		poll_ep(&dev);
		assert_int_equal(dev.downs, 1);
		dev.downs = 0;
	}
}

/* ---------------------------------------------------------------------- */
/* Plain v1 peers across restarts (docs/ring-protocol.md, "Plain v1        */
/* peers"): the fake peer above, in both memory modes                     */
/* ---------------------------------------------------------------------- */

/* Our device owns a plain layout; @lx is the Linux driver (not started). */
static void linux_pair(struct ep *dev, struct v1peer *lx, uint8_t mem)
{
	struct vmsg_shm_cfg cv = make_cfg(1, true, false, mem, 0);

	memset(buf, 0, BUF_SIZE);
	memset(dev, 0, sizeof(*dev));
	memset(lx, 0, sizeof(*lx));
	ep_open(dev, &cv, 1);
	lx->qh = buf + get_le64(buf + 0x30);
	lx->own_elems = buf + get_le64(buf + 0x38);
	lx->peer_qh = buf + get_le64(buf + 0x18);
	lx->peer_elems = buf + get_le64(buf + 0x20);
	lx->n = get_le16(buf + 0x0A);
	lx->es = get_le16(buf + 0x0C);
	lx->side = 0;
}

/* The QEMU device's layout (spec §4.3) written by the test; @q is the QEMU
 * device (not started), our driver attaches. */
static void qemu_pair(struct ep *drv, struct v1peer *q, uint8_t mem)
{
	struct vmsg_shm_cfg cd = make_cfg(0, false, false, mem, 0);

	memset(buf, 0, BUF_SIZE);
	memset(drv, 0, sizeof(*drv));
	memset(q, 0, sizeof(*q));
	put_le16(buf + 0x00, 0x4C4F);
	put_le16(buf + 0x02, 64);
	put_le16(buf + 0x04, 1);
	put_le16(buf + 0x0A, 63);
	put_le16(buf + 0x0C, 64);
	put_le64(buf + 0x18, 0x40);
	put_le64(buf + 0x20, 0x50);
	put_le64(buf + 0x30, 0x48);
	put_le64(buf + 0x38, 0x1010);
	q->qh = buf + 0x40;
	q->own_elems = buf + 0x50;
	q->peer_qh = buf + 0x48;
	q->peer_elems = buf + 0x1010;
	q->n = 63;
	q->es = 64;
	q->side = 1;
	ep_open(drv, &cd, 1);
}

static bool is_zero_slot(const uint8_t *m)
{
	for (unsigned i = 0; i < 64; i++)
		if (m[i])
			return false;
	return true;
}

/* The plain peer sends its next message, if its ring has room (it checks,
 * as Linux and QEMU do: one slot stays empty). */
static bool v1peer_send_next(struct v1peer *p)
{
	uint8_t m[64];

	if ((p->tail + 1) % p->n == get_le16(p->peer_qh + 6))
		return false;
	make_msg(m, p->side, p->life, p->tx_seq++);
	v1peer_send(p, m);
	return true;
}

/* The plain peer takes everything we published. A zeroed slot is counted
 * (its codec drops it: msg_size 0); any other slot must be the next message
 * of our current session, so one from an earlier session or a slot read
 * twice fails. Returns the messages taken. */
static unsigned v1peer_drain(struct v1peer *p, const struct ep *ours)
{
	uint8_t m[64], exp[64];
	unsigned n = 0;

	while (v1peer_recv(p, m)) {
		if (is_zero_slot(m)) {
			p->zeros++;
			continue;
		}
		make_msg(exp, ours->side, ours->life, p->rx_seq);
		if (memcmp(m, exp, 64) != 0) {
			print_error("plain peer received life %u seq %u (first bytes %02x %02x), "
				    "expected life %u seq %u\n",
				    get_le32(m + 8), get_le32(m + 12), m[0], m[1], ours->life,
				    p->rx_seq);
			fail();
		}
		p->rx_seq++;
		n++;
	}
	return n;
}

/* We receive everything there is; zeroed slots (the codec drops them) are
 * counted in *zeros, anything else must be the peer's next message. */
static unsigned drain_plain(struct ep *e, unsigned *zeros)
{
	uint8_t m[64];
	unsigned n = 0;
	int rc;

	while ((rc = vmsg_shm_chan_recv(&e->ch, m, sizeof(m))) > 0) {
		if (is_zero_slot(m)) {
			(*zeros)++;
			continue;
		}
		check_rx(e, m, rc);
		n++;
	}
	assert_int_equal(rc, VMSG_EAGAIN);
	return n;
}

/* Poll our endpoint alone until it is RUN; it must come UP exactly once. */
static void poll_until_run(struct ep *e)
{
	unsigned ups = e->ups;
	int i;

	for (i = 0; i < MAX_POLLS && vmsg_shm_chan_state(&e->ch) != VMSG_SHM_RUN; i++)
		poll_ep(e);
	assert_true(i < MAX_POLLS);
	assert_int_equal(e->ups, ups + 1);
}

/* A new session of ours: our messages carry a new tag (the life field), so
 * a message of an earlier session can never pass for a current one. */
static void new_session(struct ep *e, struct v1peer *p, uint32_t peer_next_seq)
{
	e->life++;
	e->tx_seq = 0;
	e->peer_life = p->life;
	e->rx_seq = peer_next_seq;
	p->rx_seq = 0;
}

/* linux_pair() and the first handshake: both in RUN, a first session. */
static void linux_pair_run(struct ep *dev, struct v1peer *lx, uint8_t mem)
{
	linux_pair(dev, lx, mem);
	lx->life = 1;
	v1peer_handshake(lx, dev);
	new_session(dev, lx, 0);
}

/* The peer's next life: it restarts, we come back to RUN, a new session. */
static void linux_restart_run(struct ep *dev, struct v1peer *lx)
{
	lx->life++;
	lx->tx_seq = 0;
	assert_true(v1peer_restart(lx, dev));
	poll_until_run(dev);
	new_session(dev, lx, 0);
}

/* Our published state (the low 5 bits of our queue head's status). */
static int our_published_state(const struct v1peer *p)
{
	return get_le16(p->peer_qh + 2) & 0x1F;
}

/* Full rings both ways, three times round, nothing lost or stale. */
static void traffic_plain(struct ep *e, struct v1peer *p)
{
	unsigned usable = p->n - 1u, zeros = 0;

	for (int round = 0; round < 3; round++) {
		unsigned sent = 0;

		for (unsigned i = 0; i < usable; i++)
			assert_int_equal(send_one(e), 0);
		assert_int_equal(send_one(e), VMSG_EAGAIN);
		while (v1peer_send_next(p))
			sent++;
		assert_int_equal(sent, usable);
		assert_int_equal(v1peer_drain(p, e), usable);
		assert_int_equal(drain_plain(e, &zeros), usable);
		assert_int_equal(zeros, 0);
	}
}

/* Move both rings on by one message each, read at once. */
static void step_both(struct ep *e, struct v1peer *p)
{
	unsigned zeros = 0;

	assert_int_equal(send_one(e), 0);
	assert_true(v1peer_send_next(p));
	assert_int_equal(v1peer_drain(p, e), 1);
	assert_int_equal(drain_plain(e, &zeros), 1);
	assert_int_equal(zeros, 0);
}

/*
 * (i) The plain peer restarts while we are in RUN, six times, from
 * different ring positions, as Linux does: zero, INIT, READY and RUN in
 * one go without waiting for us (we are RUN, which it accepts), then its
 * new life may send before we notice. We notice on our next poll (its
 * consumer index moved back: a restart, not a broken ring), go DOWN, start
 * our side again and resync with the running peer: what its new life sent
 * before our resync is dropped (its producer ran on our consumer index of
 * its earlier life, so those slots are not in an order we can trust:
 * model/plain_v1.pml), what it sent to its old life read as zeros, traffic
 * resumes, and no call ever returns VMSG_EPROTO.
 */
static void test_shm_lifecycle_plain_peer_restarts_in_run(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		struct ep dev;
		struct v1peer lx;

		linux_pair_run(&dev, &lx, mem);
		for (uint32_t k = 0; k < 6; k++) {
			unsigned downs = dev.downs, zeros = 0, fresh = 0, unread = 1 + k % 3;

			/* Traffic read both ways, our poll sees where the peer is
			 * (the bus's idle tick), and our producer index has not
			 * wrapped past 0 since, nor is the peer's at 0: its move
			 * back to 0 is then a violation. (Otherwise it looks like
			 * progress and the restart cannot show: see the doc.) */
			for (uint32_t i = 0; i < 2 + k; i++)
				step_both(&dev, &lx);
			while (lx.head == 0 || lx.head + unread >= lx.n)
				step_both(&dev, &lx);
			/* messages left unread both ways */
			for (unsigned i = 0; i < unread; i++) {
				assert_int_equal(send_one(&dev), 0);
				assert_true(v1peer_send_next(&lx));
			}
			poll_ep(&dev);
			assert_int_equal(dev.downs, downs);

			/* The restart, without a single poll of ours. */
			lx.life++;
			lx.tx_seq = 0;
			assert_true(v1peer_restart(&lx, &dev));
			assert_int_equal(dev.downs, downs);
			assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_RUN);
			for (unsigned i = 0; i < k % 3 && v1peer_send_next(&lx); i++)
				fresh++;

			/* We notice, fail what was pending, start our side again
			 * (INIT: a state the peer would accept if it restarted
			 * once more) and resync. */
			poll_ep(&dev);
			assert_int_equal(dev.downs, downs + 1);
			assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_INIT);
			assert_int_equal(our_published_state(&lx), VMSG_SHM_INIT);
			poll_until_run(&dev);
			new_session(&dev, &lx, fresh);
			/* what its new life sent before our resync is dropped */
			assert_int_equal(lx.tx_seq, fresh);
			assert_int_equal(drain_plain(&dev, &zeros), 0);
			/* it reads zeros where our unread messages were */
			zeros = lx.zeros;
			assert_int_equal(v1peer_drain(&lx, &dev), 0);
			assert_true(lx.zeros - zeros >= unread);
			assert_false(lx.failed);
			traffic_plain(&dev, &lx);
		}
	}
}

/*
 * (ii) Where our survivor used to wait in PEER_DEAD (above RUN: a plain
 * peer that starts gives up for good when it sees it), it now waits in
 * INIT, and the restarting peer reaches RUN with us. The peer went away in
 * four ways: we saw its INIT on the way back; the port told us it died;
 * its queue-head magic vanished; the port told us it died while it in fact
 * kept running (it never restarts then: we resync with it, and drop what
 * it sent meanwhile, as after a restart we did not see).
 */
static void test_shm_lifecycle_plain_peer_back_from_peer_dead(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		for (int how = 0; how < 4; how++) {
			struct ep dev;
			struct v1peer lx;
			unsigned zeros = 0;
			uint32_t pending;

			linux_pair_run(&dev, &lx, mem);
			step_both(&dev, &lx);
			/* unread both ways */
			assert_int_equal(send_one(&dev), 0);
			assert_true(v1peer_send_next(&lx));
			pending = dev.rx_seq;

			if (how == 0) {
				v1peer_start(&lx); /* its array zeroed, INIT */
				poll_ep(&dev);
			} else if (how == 2) {
				put_le16(lx.qh, 0);
				poll_ep(&dev);
			} else {
				assert_int_equal(vmsg_shm_chan_peer_gone(&dev.ch),
						 VMSG_SHM_EV_DOWN);
				dev.downs++;
			}
			assert_int_equal(dev.downs, 1);
			assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_INIT);
			assert_int_equal(our_published_state(&lx), VMSG_SHM_INIT);

			if (how == 3) {
				/* the peer never noticed: same life, RUN */
				poll_until_run(&dev);
				new_session(&dev, &lx, pending + 1);
				/* Back from a DOWN we cannot tell this from a restart
				 * we did not see: its message to us is dropped; ours
				 * to it was failed on our side and reads as zeros */
				assert_int_equal(drain_plain(&dev, &zeros), 0);
				zeros = lx.zeros;
				assert_int_equal(v1peer_drain(&lx, &dev), 0);
				assert_int_equal(lx.zeros - zeros, 1);
			} else {
				lx.life++;
				lx.tx_seq = 0;
				if (how == 0)
					assert_true(v1peer_finish_start(&lx, &dev));
				else
					assert_true(v1peer_restart(&lx, &dev));
				poll_until_run(&dev);
				new_session(&dev, &lx, 0);
				assert_int_equal(drain_plain(&dev, &zeros), 0);
				assert_int_equal(zeros, 0);
				assert_int_equal(v1peer_drain(&lx, &dev), 0);
			}
			assert_false(lx.failed);
			traffic_plain(&dev, &lx);
		}
	}
}

/*
 * (ii b) The plain peer restarts while we run and is READY when we look,
 * but it has already seen our RUN: it is on its way to RUN, and its
 * consumer has loaded our tail (the prototypes order a status store and a
 * later load only as release and acquire, so that load may come before its
 * RUN is visible to us). A READY we have not seen come after a look that
 * followed our INIT is such a peer: we resync instead of resetting, so our
 * producer index never goes back under the tail it cached. With a reset
 * (our rule before model/plain_v1.pml found this), it read past the index
 * we published and our next poll took its consumer index for a restart.
 */
static void test_shm_lifecycle_plain_peer_ready_cached_our_tail(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		struct ep dev;
		struct v1peer lx;
		uint8_t m[64];

		linux_pair_run(&dev, &lx, mem);
		for (int i = 0; i < 3; i++)
			step_both(&dev, &lx);

		/* Its restart: zero, INIT; our state is RUN: indices 0, READY;
		 * we are still RUN: it goes RUN, its consumer loads our tail. */
		lx.life++;
		lx.tx_seq = 0;
		v1peer_start(&lx);
		lx.tail = lx.head = 0;
		put_le16(lx.qh + 4, 0);
		put_le16(lx.qh + 6, 0);
		v1peer_state(&lx, 1);
		assert_int_equal(our_published_state(&lx), VMSG_SHM_RUN);
		lx.pc = get_le16(lx.peer_qh + 4);
		assert_int_equal(lx.pc, 3);

		/* We see READY after RUN: DOWN, INIT; then READY again. */
		poll_ep(&dev);
		assert_int_equal(dev.downs, 1);
		assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_INIT);
		poll_ep(&dev);
		assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_READY);
		v1peer_state(&lx, 2); /* its RUN becomes visible */
		poll_until_run(&dev);
		new_session(&dev, &lx, 0);

		/* It reads from its cached tail on; our poll (the bus's idle
		 * tick) between two of its reads sees no restart. */
		assert_true(v1peer_recv(&lx, m));
		assert_true(is_zero_slot(m));
		poll_ep(&dev);
		assert_int_equal(dev.downs, 1);
		assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_RUN);
		assert_int_equal(v1peer_drain(&lx, &dev), 0);
		assert_int_equal(send_one(&dev), 0);
		assert_int_equal(v1peer_drain(&lx, &dev), 1);
		poll_ep(&dev);
		assert_int_equal(dev.downs, 1);
		assert_false(lx.failed);
		traffic_plain(&dev, &lx);
		assert_int_equal(dev.downs, 1);
	}
}

/*
 * (iii) We restart (close and reopen, or crash and reopen) while the plain
 * peer stays in RUN and never looks at our state: we do not wait for it to
 * drop (it never would) but resync. Our producer index is not reset (the
 * peer may still read up to it), our array is zeroed first, so what our
 * earlier life left unread reaches the peer as zeros; what the peer sent to
 * our earlier life is dropped. Then traffic both ways. As the device owning
 * the layout (Linux driver peer) and as the driver on QEMU's layout.
 */
static void test_shm_lifecycle_plain_we_restart_peer_in_run(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		for (int qemu = 0; qemu < 2; qemu++) {
			for (int crash = 0; crash < 2; crash++) {
				struct ep e;
				struct v1peer p;
				struct vmsg_shm_cfg c;
				uint16_t our_tail;
				unsigned zeros = 0;

				if (qemu)
					qemu_pair(&e, &p, mem);
				else
					linux_pair(&e, &p, mem);
				c = e.ch.cfg;
				p.life = 1;
				v1peer_handshake(&p, &e);
				new_session(&e, &p, 0);
				for (int i = 0; i < 5; i++)
					step_both(&e, &p);
				for (int i = 0; i < 3; i++) {
					assert_int_equal(send_one(&e), 0);
					assert_true(v1peer_send_next(&p));
				}
				our_tail = get_le16(p.peer_qh + 4);

				if (!crash)
					vmsg_shm_chan_shutdown(&e.ch);
				ep_open(&e, &c, e.life + 1);
				/* INIT, indices left where they were */
				assert_int_equal(our_published_state(&p), VMSG_SHM_INIT);
				assert_int_equal(get_le16(p.peer_qh + 4), our_tail);
				poll_until_run(&e);
				assert_int_equal(e.downs, 0);
				assert_int_equal(get_le16(p.peer_qh + 4), our_tail);
				assert_int_equal(get_le16(p.qh + 2), 2); /* it never left RUN */
				e.life--; /* ep_open set the new life; new_session bumps it */
				new_session(&e, &p, p.tx_seq);
				/* nothing of what it sent to our earlier life */
				assert_int_equal(drain_plain(&e, &zeros), 0);
				assert_int_equal(zeros, 0);
				/* our earlier life's unread messages read as zeros */
				assert_int_equal(v1peer_drain(&p, &e), 0);
				assert_int_equal(p.zeros, 3);
				assert_false(p.failed);
				traffic_plain(&e, &p);
				/* and again, now from where this life left off */
				for (int i = 0; i < 2; i++)
					assert_int_equal(send_one(&e), 0);
				ep_open(&e, &c, e.life + 1);
				poll_until_run(&e);
				e.life--;
				new_session(&e, &p, p.tx_seq);
				assert_int_equal(v1peer_drain(&p, &e), 0);
				assert_int_equal(p.zeros, 5);
				traffic_plain(&e, &p);
			}
		}
	}
}

/*
 * (iv) The plain peer unregisters (SHUTDOWN) and comes back later. We go
 * DOWN and wait in INIT (never above RUN, which would make it give up when
 * it starts again), it restarts and pairs with us, nothing old is
 * delivered either way.
 */
static void test_shm_lifecycle_plain_peer_shutdown_comes_back(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		struct ep dev;
		struct v1peer lx;

		linux_pair_run(&dev, &lx, mem);
		for (uint32_t k = 0; k < 3; k++) {
			unsigned zeros = 0;

			for (uint32_t i = 0; i < 3 + k; i++)
				step_both(&dev, &lx);
			assert_int_equal(send_one(&dev), 0);
			assert_true(v1peer_send_next(&lx));
			v1peer_state(&lx, 3); /* unregistered */
			poll_ep(&dev);
			assert_int_equal(dev.downs, k + 1);
			for (int i = 0; i < 8; i++)
				poll_ep(&dev);
			assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_INIT);
			assert_int_equal(our_published_state(&lx), VMSG_SHM_INIT);
			{
				uint8_t m[64];

				assert_int_equal(vmsg_shm_chan_send(&dev.ch, m, 64), VMSG_ESTATE);
			}
			linux_restart_run(&dev, &lx);
			assert_int_equal(drain_plain(&dev, &zeros), 0);
			assert_int_equal(zeros, 0);
			assert_int_equal(v1peer_drain(&lx, &dev), 0);
			assert_false(lx.failed);
			traffic_plain(&dev, &lx);
		}
	}
}

/*
 * Any index violation of a plain v1 peer is taken for a restart: the
 * channel reports VMSG_ECONNRESET (not a latched VMSG_EPROTO), the next
 * poll goes DOWN, and we wait in INIT until the peer's indices make sense
 * again (here: it restarts). Between two instances of this library
 * (extended), where the guard and the epoch catch restarts, a violation
 * stays VMSG_EPROTO, latched.
 */
static void test_shm_lifecycle_plain_index_violation(void **state)
{
	(void)state;
	for (uint8_t mem = 0; mem < 2; mem++) {
		struct ep dev;
		struct v1peer lx;
		unsigned zeros = 0;

		linux_pair_run(&dev, &lx, mem);
		for (unsigned i = 0; i < NELEMS - 1u; i++)
			assert_int_equal(send_one(&dev), 0);
		assert_int_equal(send_one(&dev), VMSG_EAGAIN);
		put_le16(lx.qh + 6, 0x7FFF); /* its consumer index, out of range */
		assert_int_equal(send_one(&dev), VMSG_ECONNRESET);
		assert_int_equal(send_one(&dev), VMSG_ECONNRESET);
		poll_ep(&dev);
		assert_int_equal(dev.downs, 1);
		for (int i = 0; i < 4; i++)
			poll_ep(&dev);
		assert_int_equal(vmsg_shm_chan_state(&dev.ch), VMSG_SHM_INIT);
		assert_int_equal(our_published_state(&lx), VMSG_SHM_INIT);
		linux_restart_run(&dev, &lx);
		assert_int_equal(drain_plain(&dev, &zeros), 0);
		assert_int_equal(v1peer_drain(&lx, &dev), 0);
		traffic_plain(&dev, &lx);
	}
	/* extended: latched */
	{
		struct ep e[2];
		struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1),
				    c1 = make_cfg(1, false, true, 0, 2);

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		ep_open(&e[0], &c0, 1);
		ep_open(&e[1], &c1, 1);
		run_both(&e[0], &e[1]);
		for (unsigned i = 0; i < USABLE; i++)
			assert_int_equal(send_one(&e[0]), 0);
		assert_int_equal(send_one(&e[0]), VMSG_EAGAIN);
		put_le16(qh_of(1) + 6, 0x7FFF);
		assert_int_equal(send_one(&e[0]), VMSG_EPROTO);
		put_le16(qh_of(1) + 6, 0);
		assert_int_equal(send_one(&e[0]), VMSG_EPROTO);
	}
}

/* Extended v1 kick suppression (shm.h, docs/ring-protocol.md): each side's
 * awake word in the extension line (device +0x20, driver +0x30), each
 * producer's kicked word at its queue head + 0x14; +0x0C stays 0; one kick
 * per sleep token; a plain layout has none of them (always kick). */
static void test_shm_lifecycle_kick_words(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	uint8_t *ext = buf + VMSG_EXT_LINE;
	uint32_t dev_tok, drv_tok;

	(void)state;
	pair_up(e, &c0, &c1);
	/* both consumers start armed with an even token */
	dev_tok = get_le32(ext + VMSG_EXT_OFF_DEV_AWAKE);
	drv_tok = get_le32(ext + VMSG_EXT_OFF_DRV_AWAKE);
	assert_true(dev_tok != 0 && dev_tok % 2 == 0);
	assert_true(drv_tok != 0 && drv_tok % 2 == 0);
	/* the driver sends: one kick for the device's token, named in the
	 * driver's kicked word; a second message of that sleep: no kick */
	assert_int_equal(send_one(&e[0]), 0);
	assert_true(vmsg_shm_chan_need_kick(&e[0].ch));
	assert_int_equal(get_le32(qh_of(0) + VMSG_SIDE_OFF_KICKED), dev_tok);
	assert_int_equal(send_one(&e[0]), 0);
	assert_false(vmsg_shm_chan_need_kick(&e[0].ch));
	/* the device wakes: polling (odd); it drains, arms: a fresh token */
	vmsg_shm_chan_awake(&e[1].ch);
	assert_int_equal(get_le32(ext + VMSG_EXT_OFF_DEV_AWAKE), dev_tok | 1);
	assert_int_equal(drain(&e[1]), 2);
	assert_int_equal(vmsg_shm_chan_arm(&e[1].ch), 0);
	assert_int_not_equal(get_le32(ext + VMSG_EXT_OFF_DEV_AWAKE), dev_tok);
	assert_int_equal(send_one(&e[0]), 0);
	assert_true(vmsg_shm_chan_need_kick(&e[0].ch));
	assert_int_equal(get_le32(qh_of(0) + VMSG_SIDE_OFF_KICKED),
			 get_le32(ext + VMSG_EXT_OFF_DEV_AWAKE));
	/* the device's reply to a polling driver: no kick */
	vmsg_shm_chan_awake(&e[0].ch);
	assert_int_equal(send_one(&e[1]), 0);
	assert_false(vmsg_shm_chan_need_kick(&e[1].ch));
	assert_int_equal(get_le32(qh_of(1) + VMSG_SIDE_OFF_KICKED), 0);
	/* the old awake place in the queue heads is never written */
	assert_int_equal(get_le32(qh_of(0) + 0x0C), 0);
	assert_int_equal(get_le32(qh_of(1) + 0x0C), 0);

	/* plain v1: no kick words, every send asks for a kick */
	memset(buf, 0, BUF_SIZE);
	memset(e, 0, sizeof(e));
	c0.v1.extended = false;
	c1.v1.extended = false;
	ep_open(&e[0], &c0, 1);
	ep_open(&e[1], &c1, 1);
	run_both(&e[0], &e[1]);
	vmsg_shm_chan_awake(&e[1].ch);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(send_one(&e[0]), 0);
		assert_true(vmsg_shm_chan_need_kick(&e[0].ch));
	}
}

/* The shm bus gives received slots back late (src/bus/shm_bus.c): the
 * consumer index in its queue head moves after its next send, before any
 * wait, or once half the ring is held; never before, so a reply's producer
 * index is not preceded by a separate store to the line the peer polls. */
static int fake_kick(void *ctx)
{
	(*(unsigned *)ctx)++;
	return 0;
}

static int fake_wait(void *ctx, int64_t timeout_ns)
{
	(void)ctx;
	(void)timeout_ns;
	return VMSG_ETIMEDOUT;
}

/* Hooks that count doorbells in *@kicks and never sleep. */
static struct vmsg_shm_bus_hooks fake_hooks(unsigned *kicks)
{
	struct vmsg_shm_bus_hooks h = { 0 };

	h.kick = fake_kick;
	h.wait = fake_wait;
	h.ctx = kicks;
	return h;
}

static void test_shm_lifecycle_bus_release_late(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	unsigned kicks = 0;
	uint8_t m[64];
	uint8_t *dev_head = qh_of(1) + 6; /* the device's consumer index (v1 head) */

	(void)state;
	pair_up(e, &c0, &c1);
	h = fake_hooks(&kicks);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);

	/* received, not given back yet */
	assert_int_equal(send_one(&e[0]), 0);
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 64);
	check_rx(&e[1], m, 64);
	assert_int_equal(get_le16(dev_head), 0);
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
	assert_int_equal(get_le16(dev_head), 0);
	/* the reply's send gives it back (after publishing the reply) */
	make_msg(m, 1, e[1].life, e[1].tx_seq++);
	assert_int_equal(vmsg_shm_bus_ops.send(&sb, m, 64), 0);
	assert_int_equal(get_le16(dev_head), 1);
	assert_int_equal(drain(&e[0]), 1);
	/* a wait gives back what is held */
	assert_int_equal(send_one(&e[0]), 0);
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 64);
	check_rx(&e[1], m, 64);
	assert_int_equal(get_le16(dev_head), 1);
	(void)vmsg_shm_bus_ops.wait(&sb, 0);
	assert_int_equal(get_le16(dev_head), 2);
	/* half the ring held: given back without a send or a wait, so a
	 * producer that fills the ring is never stuck behind us */
	for (unsigned i = 0; i < USABLE; i++)
		assert_int_equal(send_one(&e[0]), 0);
	assert_int_equal(send_one(&e[0]), VMSG_EAGAIN);
	for (unsigned i = 0; i < NELEMS / 2; i++) {
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 64);
		check_rx(&e[1], m, 64);
		assert_int_equal(get_le16(dev_head), i + 1 < NELEMS / 2 ? 2 : (2 + NELEMS / 2) % NELEMS);
	}
	assert_int_equal(send_one(&e[0]), 0);
	for (unsigned i = NELEMS / 2; i < USABLE + 1; i++) {
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 64);
		check_rx(&e[1], m, 64);
	}
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
}

/*
 * Corked sends (vmsg_shm_bus_cork()): the kick check of a burst runs once,
 * at the flush (the uncork, the bus's wait, a send that finds the ring
 * full), and a consumer asleep since before the burst is kicked then.
 */
static int send_bus(struct vmsg_shm_bus *sb, struct ep *e)
{
	uint8_t m[64];
	int rc;

	make_msg(m, e->side, e->life, e->tx_seq);
	rc = vmsg_shm_bus_ops.send(sb, m, 64);
	if (rc == 0)
		e->tx_seq++;
	return rc;
}

static void test_shm_lifecycle_bus_cork(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	unsigned kicks = 0;

	(void)state;
	pair_up(e, &c0, &c1);
	h = fake_hooks(&kicks);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[0].ch, &h, 0), 0);

	/* the device sleeps; a corked burst kicks once, at the uncork */
	vmsg_shm_chan_awake(&e[1].ch);
	assert_int_equal(vmsg_shm_chan_arm(&e[1].ch), 0);
	vmsg_shm_bus_cork(&sb, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_bus(&sb, &e[0]), 0);
	assert_int_equal(kicks, 0);
	vmsg_shm_bus_cork(&sb, false);
	assert_int_equal(kicks, 1);
	vmsg_shm_bus_cork(&sb, false); /* nothing due */
	assert_int_equal(kicks, 1);
	vmsg_shm_chan_awake(&e[1].ch);
	assert_int_equal(drain(&e[1]), 3);

	/* the bus's wait flushes */
	assert_int_equal(vmsg_shm_chan_arm(&e[1].ch), 0);
	vmsg_shm_bus_cork(&sb, true);
	assert_int_equal(send_bus(&sb, &e[0]), 0);
	assert_int_equal(kicks, 1);
	(void)vmsg_shm_bus_ops.wait(&sb, 0);
	assert_int_equal(kicks, 2);
	vmsg_shm_chan_awake(&e[1].ch);
	assert_int_equal(drain(&e[1]), 1);

	/* so does a send that finds the ring full: the peer must make room */
	assert_int_equal(vmsg_shm_chan_arm(&e[1].ch), 0);
	for (unsigned i = 0; i < USABLE; i++)
		assert_int_equal(send_bus(&sb, &e[0]), 0);
	assert_int_equal(kicks, 2);
	assert_int_equal(send_bus(&sb, &e[0]), VMSG_EAGAIN);
	assert_int_equal(kicks, 3);
	vmsg_shm_chan_awake(&e[1].ch);
	assert_int_equal(drain(&e[1]), USABLE);

	/* a polling peer: the flush checks and does not kick */
	assert_int_equal(send_bus(&sb, &e[0]), 0);
	vmsg_shm_bus_cork(&sb, false);
	assert_int_equal(kicks, 3);
	assert_int_equal(drain(&e[1]), 1);
}

/*
 * The shm bus delivers the bytes a message declares (its header's le16
 * msg_size at offset 6), not the whole slot; a msg_size the peer got wrong
 * is clamped to the header, the slot and the caller's buffer: nothing past
 * them is read or written, and the codec drops what it gets as malformed.
 */
static void send_sized(struct ep *e, uint16_t msg_size, size_t len)
{
	uint8_t m[ESIZE];

	for (unsigned i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(0x40 + i);
	m[0] = 0x02; /* bus request, PING */
	m[1] = 0x03;
	m[2] = m[3] = m[4] = m[5] = 0; /* dev_num, token */
	m[6] = (uint8_t)msg_size;
	m[7] = (uint8_t)(msg_size >> 8);
	assert_int_equal(vmsg_shm_chan_send(&e->ch, m, len), 0);
}

/* Receive into a buffer of @cap (of a larger array full of 0xA5): @want_len
 * bytes as sent, not one more; returns what the codec makes of them. */
static int recv_sized(struct vmsg_shm_bus *sb, const struct vmsg_codec *codec, size_t cap,
		      int want_len, uint16_t msg_size)
{
	uint8_t m[2 * ESIZE + 8];
	struct vmsg_msg out;

	memset(m, 0xA5, sizeof(m));
	assert_int_equal(vmsg_shm_bus_ops.recv(sb, m, cap), want_len);
	assert_int_equal(m[6] | m[7] << 8, msg_size); /* the header as sent */
	assert_int_equal(m[0], 0x02);
	for (int i = 8; i < want_len; i++)
		assert_int_equal(m[i], (uint8_t)(0x40 + i));
	for (size_t i = (size_t)want_len; i < sizeof(m); i++)
		assert_int_equal(m[i], 0xA5); /* not one byte more */
	return vmsg_proto_decode(codec, m, (size_t)want_len, &out);
}

static void test_shm_lifecycle_bus_recv_msg_size(void **state)
{
	static const uint8_t mems[] = { VMSG_SPSC_MEM_COHERENT, VMSG_SPSC_MEM_DEVICE };

	(void)state;
	for (unsigned k = 0; k < sizeof(mems); k++) {
		struct ep e[2];
		struct vmsg_shm_cfg c0 = make_cfg(0, true, true, mems[k], 1),
				    c1 = make_cfg(1, false, true, mems[k], 2);
		struct vmsg_shm_bus sb;
		struct vmsg_shm_bus_hooks h = { 0 };
		struct vmsg_codec codec;
		uint8_t m[ESIZE];
		unsigned kicks = 0;

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		ep_open(&e[0], &c0, 1);
		ep_open(&e[1], &c1, 1);
		run_both(&e[0], &e[1]);
		h = fake_hooks(&kicks);
		assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
		assert_int_equal(vmsg_codec_init(&codec, VMSG_PROFILE_2026, ESIZE, 0), 0);

		/* a PING: its 12 bytes, though the slot holds 64 written ones */
		send_sized(&e[0], 12, ESIZE);
		assert_int_equal(recv_sized(&sb, &codec, 2 * ESIZE, 12, 12), 0);
		/* exactly a header (a PING too short); exactly the slot (the
		 * codec's business what it makes of a longer PING) */
		send_sized(&e[0], 8, 8);
		assert_int_not_equal(recv_sized(&sb, &codec, 2 * ESIZE, 8, 8), 0);
		send_sized(&e[0], ESIZE, ESIZE);
		(void)recv_sized(&sb, &codec, 2 * ESIZE, ESIZE, ESIZE);
		/* below the header: the header only, which the codec drops */
		send_sized(&e[0], 0, ESIZE);
		assert_int_equal(recv_sized(&sb, &codec, 2 * ESIZE, 8, 0), VMSG_EBADMSG);
		send_sized(&e[0], 7, ESIZE);
		assert_int_equal(recv_sized(&sb, &codec, 2 * ESIZE, 8, 7), VMSG_EBADMSG);
		/* beyond the slot: the slot, nothing past it */
		send_sized(&e[0], ESIZE + 1, ESIZE);
		assert_int_not_equal(recv_sized(&sb, &codec, 2 * ESIZE, ESIZE, ESIZE + 1), 0);
		send_sized(&e[0], 0xFFFF, ESIZE);
		assert_int_not_equal(recv_sized(&sb, &codec, 2 * ESIZE, ESIZE, 0xFFFF), 0);
		/* beyond the caller's buffer: what fits */
		send_sized(&e[0], 40, ESIZE);
		assert_int_not_equal(recv_sized(&sb, &codec, 20, 20, 40), 0);
		/* a buffer too small for a header: what fits */
		send_sized(&e[0], 12, ESIZE);
		memset(m, 0xA5, sizeof(m));
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, 5), 5);
		assert_memory_equal(m, "\x02\x03\x00\x00\x00", 5);
		for (size_t i = 5; i < sizeof(m); i++)
			assert_int_equal(m[i], 0xA5);
		/* and the stream goes on: a good PING after the bad ones */
		send_sized(&e[0], 12, 12);
		assert_int_equal(recv_sized(&sb, &codec, 2 * ESIZE, 12, 12), 0);
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
	}
}

/*
 * A port whose peer copies fewer bytes than a slot holds (QEMU's AMP-PCI
 * device: 48 of 64) caps the bus maximum (shm_bus.h, max_msg_size): the
 * bus parameters say so, a larger send is refused before it reaches the
 * ring (the peer would cut it), and a receive takes no more of a slot.
 * 0, or a cap above the slot, leaves the slot size.
 */
static void test_shm_lifecycle_bus_max_msg_size(void **state)
{
	static const uint32_t caps[][2] = { { 0, ESIZE }, { 48, 48 }, { ESIZE + 100, ESIZE } };

	(void)state;
	for (unsigned k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		struct ep e[2];
		struct vmsg_shm_cfg c0 = make_cfg(0, true, true, VMSG_SPSC_MEM_COHERENT, 1),
				    c1 = make_cfg(1, false, true, VMSG_SPSC_MEM_COHERENT, 2);
		struct vmsg_shm_bus sb;
		struct vmsg_shm_bus_hooks h = { 0 };
		struct vmsg_bus_params bp = { 0 };
		struct vmsg_codec codec;
		uint32_t max = caps[k][1];
		uint8_t m[ESIZE + 1];
		unsigned kicks = 0;
		int rc;

		memset(buf, 0, BUF_SIZE);
		memset(e, 0, sizeof(e));
		ep_open(&e[0], &c0, 1);
		ep_open(&e[1], &c1, 1);
		run_both(&e[0], &e[1]);
		h = fake_hooks(&kicks);
		h.max_msg_size = caps[k][0];
		assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
		assert_int_equal(vmsg_shm_bus_ops.params(&sb, &bp), 0);
		assert_int_equal(bp.max_msg_size, max);
		assert_int_equal(vmsg_codec_init(&codec, VMSG_PROFILE_2026, ESIZE, 0), 0);

		/* one byte over: refused, nothing in the ring, no kick */
		memset(m, 0x5A, sizeof(m));
		assert_int_equal(vmsg_shm_bus_ops.send(&sb, m, max + 1), VMSG_EMSGSIZE);
		assert_int_equal(vmsg_shm_chan_recv(&e[0].ch, m, sizeof(m)), VMSG_EAGAIN);
		assert_int_equal(kicks, 0);
		/* the maximum itself goes through */
		assert_int_equal(vmsg_shm_bus_ops.send(&sb, m, max), 0);
		assert_int_equal(vmsg_shm_chan_recv(&e[0].ch, m, sizeof(m)), (int)ESIZE);
		/* a peer that declares a whole slot: we take the maximum only,
		 * which the codec drops when that cuts the message */
		send_sized(&e[0], ESIZE, ESIZE);
		rc = recv_sized(&sb, &codec, 2 * ESIZE, (int)max, ESIZE);
		if (max < ESIZE)
			assert_int_not_equal(rc, 0);
		send_sized(&e[0], 12, ESIZE);
		assert_int_equal(recv_sized(&sb, &codec, 2 * ESIZE, 12, 12), 0);
	}
}

/*
 * An application's own event loop (bus.h, vmsg_bus_prepare_sleep()): the
 * shm bus's arm op tells the peer we sleep, so its next message rings the
 * doorbell once; with a message already there it says "poll first". A loop
 * that does not arm again after waking gets no more doorbells: kick
 * suppression rings once per sleep, which is why the call is needed.
 */
static void test_shm_lifecycle_bus_arm_for_own_loop(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, VMSG_SPSC_MEM_COHERENT, 1),
			    c1 = make_cfg(1, false, true, VMSG_SPSC_MEM_COHERENT, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	uint8_t m[ESIZE];
	unsigned kicks = 0;

	(void)state;
	pair_up(e, &c0, &c1);
	h = fake_hooks(&kicks);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
	assert_non_null(vmsg_shm_bus_ops.arm);
	for (int round = 0; round < 3; round++) {
		/* Empty: sleep. The peer's next message rings, once. */
		assert_int_equal(vmsg_shm_bus_ops.arm(&sb), 0);
		send_sized(&e[0], 12, 12);
		assert_true(vmsg_shm_chan_need_kick(&e[0].ch));
		send_sized(&e[0], 12, 12);
		assert_false(vmsg_shm_chan_need_kick(&e[0].ch));
		/* Woken, not drained: poll first, do not sleep. */
		assert_int_equal(vmsg_shm_bus_ops.arm(&sb), 1);
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 12);
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 12);
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
		/* Without a new arm, a message rings nothing (a loop that
		 * slept now would miss it); it is still there to poll. */
		send_sized(&e[0], 12, 12);
		assert_false(vmsg_shm_chan_need_kick(&e[0].ch));
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), 12);
	}
	/* Not in RUN: nothing to arm, the lifecycle kicks on every change. */
	vmsg_shm_chan_shutdown(&e[1].ch);
	assert_int_equal(vmsg_shm_bus_ops.arm(&sb), 0);
}

/* The QEMU layout (spec §4.3), written by the test acting as the QEMU
 * device; our driver attaches, is not extended, reaches RUN, exchanges
 * traffic and asks for a kick every time, although the word at the place
 * an awake word would be (device QH + 0x0C = the driver's own tail) moves. */
static void test_shm_lifecycle_qemu_device_peer(void **state)
{
	struct ep drv;
	struct vmsg_shm_cfg cd = make_cfg(0, false, false, 0, 0);
	struct v1peer q;
	uint8_t m[64];

	(void)state;
	memset(buf, 0, BUF_SIZE);
	memset(&drv, 0, sizeof(drv));
	/* the QEMU header for its 8 KiB window */
	put_le16(buf + 0x00, 0x4C4F);
	put_le16(buf + 0x02, 64);
	put_le16(buf + 0x04, 1);
	put_le16(buf + 0x0A, 63);
	put_le16(buf + 0x0C, 64);
	put_le64(buf + 0x18, 0x40);
	put_le64(buf + 0x20, 0x50);
	put_le64(buf + 0x30, 0x48);
	put_le64(buf + 0x38, 0x1010);
	q.qh = buf + 0x40;
	q.own_elems = buf + 0x50;
	q.peer_qh = buf + 0x48;
	q.peer_elems = buf + 0x1010;
	q.n = 63;
	q.es = 64;
	drv.side = 0;
	drv.life = 1;
	open_or_skip(&drv.ch, &cd);
	v1peer_handshake(&q, &drv);
	assert_int_equal(drv.ups, 1);
	drv.peer_life = 1;
	for (uint32_t i = 0; i < 200; i++) {
		make_msg(m, 1, 1, i);
		v1peer_send(&q, m);
		assert_int_equal(send_one(&drv), 0);
		assert_true(vmsg_shm_chan_need_kick(&drv.ch));
		assert_int_equal(drain(&drv), 1);
		assert_true(v1peer_recv(&q, m));
		{
			uint8_t exp[64];

			make_msg(exp, 0, 1, i);
			assert_memory_equal(m, exp, 64);
		}
	}
	/* our side wrote nothing outside its queue head and its elements */
	assert_int_equal(get_le16(buf), 0x4C4F);
	for (size_t i = 0x1FD0; i < BUF_SIZE; i++)
		assert_int_equal(buf[i], 0);
}

/* Spinning before a sleep is a host feature: a build with the simple wait
 * (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT) refuses it, any other takes it. */
static void test_shm_lifecycle_bus_spin_option(void **state)
{
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };

	(void)state;
	memset(&ch, 0, sizeof(ch));
	h.kick = fake_kick;
	h.wait = fake_wait;
	assert_int_equal(vmsg_shm_bus_init(&sb, &ch, &h, 0), 0);
	h.spin_ns = 1000;
	assert_int_equal(vmsg_shm_bus_init(&sb, &ch, &h, 0),
			 VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT ? VMSG_ENOTSUP : 0);
}

/*
 * A hostile owner that restarts with a layout we cannot drive (4-byte
 * elements, too small for a message: refused as unsupported, VMSG_ENOTSUP,
 * when we attach): the shm bus reports a broken peer, VMSG_EPROTO as its
 * contract says (bus.h), for as long as the layout stays so, and comes
 * back when the owner writes one it can use.
 */
static void test_shm_lifecycle_bus_unusable_layout_is_eproto(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h;
	unsigned kicks = 0;
	uint8_t m[64];

	(void)state;
	pair_up(e, &c0, &c1);
	h = fake_hooks(&kicks);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
	ep_open(&e[0], &c0, 2); /* the owner restarts */
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_ECONNRESET);
	put_le16(buf + 0x0C, 4); /* element size */
	for (int i = 0; i < 3; i++)
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EPROTO);
	put_le16(buf + 0x0C, 64);
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
}

/* A clock that moves 1 us per reading, and a wait that records its budget. */
struct spin_clock {
	uint64_t t;
	unsigned reads, kicks;
	int64_t slept; /* the timeout the port's wait was given (-2: not called) */
};

static int spin_now(void *ctx, uint64_t *ns)
{
	struct spin_clock *c = ctx;

	c->reads++;
	c->t += 1000;
	*ns = c->t;
	return 0;
}

static int spin_wait(void *ctx, int64_t timeout_ns)
{
	((struct spin_clock *)ctx)->slept = timeout_ns;
	return VMSG_ETIMEDOUT;
}

static int spin_kick(void *ctx)
{
	((struct spin_clock *)ctx)->kicks++;
	return 0;
}

/* Hooks of a spinning port: @ctx starts with its struct spin_clock
 * (kicks counted, the sleep's budget recorded), @now its clock. */
static struct vmsg_shm_bus_hooks spin_hooks(void *ctx, int (*now)(void *, uint64_t *),
					    uint64_t spin_ns)
{
	struct vmsg_shm_bus_hooks h = { 0 };

	h.kick = spin_kick;
	h.wait = spin_wait;
	h.now = now;
	h.ctx = ctx;
	h.spin_ns = spin_ns;
	return h;
}

/*
 * The adaptive spin is part of the caller's wait: with a 50 ms spin, a 2 ms
 * wait spins about 2 ms and sleeps for what is left (nothing), a 100 ms wait
 * spins 50 ms and sleeps about 50 ms, a wait of 0 only looks (no clock, no
 * spin) and a wait forever spins its 50 ms and then sleeps forever.
 */
static void test_shm_lifecycle_bus_spin_within_timeout(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	struct spin_clock c = { 0 };
	uint64_t t0;

	(void)state;
	if (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT)
		skip(); /* no spinning in this build */
	pair_up(e, &c0, &c1);
	h = spin_hooks(&c, spin_now, 50 * 1000000ull);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);

	t0 = c.t;
	c.slept = -2;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 2000000), VMSG_ETIMEDOUT);
	assert_true(c.t - t0 >= 2000000);
	assert_true(c.t - t0 <= 2000000 + 2000);
	assert_true(c.slept >= 0 && c.slept <= 1000);

	t0 = c.t;
	c.slept = -2;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 100000000), VMSG_ETIMEDOUT);
	assert_true(c.t - t0 >= 50000000);
	assert_true(c.t - t0 <= 50000000 + 2000);
	assert_true(c.slept >= 50000000 - 2000 && c.slept <= 50000000);

	c.reads = 0;
	c.slept = -2;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 0), VMSG_ETIMEDOUT);
	assert_int_equal(c.reads, 0);
	assert_int_equal(c.slept, 0);

	t0 = c.t;
	c.slept = -2;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, VMSG_WAIT_FOREVER), VMSG_ETIMEDOUT);
	assert_true(c.t - t0 >= 50000000);
	assert_int_equal(c.slept, VMSG_WAIT_FOREVER);
}

static int failing_now(void *ctx, uint64_t *ns)
{
	((struct spin_clock *)ctx)->reads++;
	*ns = 12345; /* garbage the bus must not use */
	return VMSG_EIO;
}

/*
 * A port clock that fails cannot bound a spin: the wait does not spin (it
 * would never end) and sleeps in the port for the whole timeout; empty
 * receives then do their idle work every time.
 */
static void test_shm_lifecycle_bus_spin_failing_clock(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	struct spin_clock c = { 0 };

	(void)state;
	if (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT)
		skip(); /* no spinning in this build */
	pair_up(e, &c0, &c1);
	h = spin_hooks(&c, failing_now, 1000000);
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
	c.slept = -2;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 5000000), VMSG_ETIMEDOUT);
	assert_int_equal(c.slept, 5000000);
	assert_int_equal(c.reads, 1);
}

/* A service hook that tells whether a receive or a spin called it. */
struct tally_port {
	struct spin_clock c;
	unsigned in_recv, from_recv, from_spin;
};

static int tally_service(void *ctx)
{
	struct tally_port *p = ctx;

	if (p->in_recv)
		p->from_recv++;
	else
		p->from_spin++;
	return 0;
}

static int tally_now(void *ctx, uint64_t *ns)
{
	return spin_now(&((struct tally_port *)ctx)->c, ns);
}

/*
 * The spin's looks at the port keep their own time: a caller whose waits
 * never outlast spin_ns (2 ms waits, 5 ms spin) still gets the receive's
 * idle work (the service hook and the lifecycle) about every service_ns.
 */
static void test_shm_lifecycle_bus_spin_keeps_idle_work(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	struct tally_port p = { 0 };
	uint8_t m[64];

	(void)state;
	if (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT)
		skip(); /* no spinning in this build */
	pair_up(e, &c0, &c1);
	h = spin_hooks(&p, tally_now, 5000000);
	h.service = tally_service;
	h.service_ns = 1000000;
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 2000000), VMSG_ETIMEDOUT);
		p.in_recv = 1;
		assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_EAGAIN);
		p.in_recv = 0;
	}
	assert_true(p.from_spin >= 200);
	assert_true(p.from_recv >= 150);
}

/* A port whose service hook sees the peer hang up at its third look. */
struct spin_port {
	struct spin_clock c;
	struct vmsg_shm_bus *sb;
	unsigned services;
};

static int spin_service(void *ctx)
{
	struct spin_port *p = ctx;

	if (++p->services == 3)
		vmsg_shm_bus_peer_gone(p->sb);
	return 0;
}

static int spin_port_now(void *ctx, uint64_t *ns)
{
	return spin_now(&((struct spin_port *)ctx)->c, ns);
}

/*
 * A spinning wait looks at the port as often as idle receives do (every
 * service_ns): a peer that dies leaves the ring alone, and its hang-up
 * must end a 50 ms spin within about three service periods, not at its
 * end; the receive after it reports the reset.
 */
static void test_shm_lifecycle_bus_spin_sees_hangup(void **state)
{
	struct ep e[2];
	struct vmsg_shm_cfg c0 = make_cfg(0, true, true, 0, 1), c1 = make_cfg(1, false, true, 0, 2);
	struct vmsg_shm_bus sb;
	struct vmsg_shm_bus_hooks h = { 0 };
	struct spin_port p = { 0 };
	uint8_t m[64];
	uint64_t t0;

	(void)state;
	if (VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT)
		skip(); /* no spinning in this build */
	pair_up(e, &c0, &c1);
	h = spin_hooks(&p, spin_port_now, 50 * 1000000ull);
	h.service = spin_service;
	h.service_ns = 1000000; /* 1 ms */
	p.sb = &sb;
	assert_int_equal(vmsg_shm_bus_init(&sb, &e[1].ch, &h, 0), 0);
	t0 = p.c.t;
	assert_int_equal(vmsg_shm_bus_ops.wait(&sb, 100000000), 0);
	assert_int_equal(p.services, 3);
	assert_true(p.c.t - t0 <= 4000000);
	assert_int_equal(vmsg_shm_bus_ops.recv(&sb, m, sizeof(m)), VMSG_ECONNRESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_reach_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_ready_waits_for_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_layout_written_later, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_driver_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_device_owner_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_restart_driver_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_shm_lifecycle_restart_survivor_recv_without_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_restart_survivor_send_full,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_many_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_double_restart_unseen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_epoch_alone_ends_the_session,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_owner_new_layout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_shutdown_peer_dead, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_peer_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_v1_linux_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_qemu_device_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_peer_restarts_in_run,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_peer_back_from_peer_dead,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_peer_ready_cached_our_tail,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_we_restart_peer_in_run,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_peer_shutdown_comes_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_plain_index_violation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_kick_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_unusable_layout_is_eproto, setup,
						teardown),
		cmocka_unit_test(test_shm_lifecycle_bus_spin_option),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_spin_within_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_spin_sees_hangup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_spin_failing_clock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_spin_keeps_idle_work, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_release_late, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_cork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_max_msg_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_recv_msg_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_lifecycle_bus_arm_for_own_loop, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("shm_lifecycle", tests, NULL, NULL);
}
