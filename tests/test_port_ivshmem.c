/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem core (ports/ivshmem: port_ivshmem.h) against a fake backend
 * over a plain memory region: the doorbell encoding the backend is given,
 * peer discovery through the ids each side publishes in the layout (vmamp
 * v1 extension word, SPSC-v0 id word), a peer that comes back with a new
 * id, peer_left, the polled wait of a side without interrupts, the exact
 * SPSC-v0 bytes at the prototype offsets, and a whole bus over the pair.
 *
 * The fake "device" delivers a doorbell (peer, vector) to the endpoint
 * whose own id is peer, and drops doorbells to unknown peers silently, as
 * QEMU's ivshmem does. Waits are bounded waits on those doorbells (a
 * condition variable); there are no fixed sleeps and no timed upper bounds.
 */
#define _GNU_SOURCE

#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "virtio_msg/virtio_msg.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/port_ivshmem.h"

#define DEPTH 8
#include "port_test_util.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define REGION_SIZE (64u * 1024u)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * (uint64_t)SEC + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* The fake backend                                                       */
/* ---------------------------------------------------------------------- */

#define MAX_NODES 4
#define LOG_MAX 64

struct node {
	struct vmsg_ivshmem iv;
	uint32_t id;              /* own ivshmem id (what the fake routes by) */
	bool wait_irq;            /* false: backend.wait NULL (polled side) */
	bool give_sole;           /* backend.sole_peer answers sole */
	uint32_t sole;
	/* Doorbells this node received (rung by others). */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t bells, seen;
	/* Doorbells this node rang: the register values a real device gets. */
	uint32_t log[LOG_MAX];
	unsigned nlog;
	uint64_t rings, dropped;
	int ring_result;          /* what ring() returns (0, or an error) */
};

static struct node *nodes[MAX_NODES];

static struct node *node_by_id(uint32_t id)
{
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (nodes[i] && nodes[i]->id == id)
			return nodes[i];
	return NULL;
}

static int fake_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct node *n = ctx;
	struct node *to;

	if (n->ring_result)
		return n->ring_result;
	n->rings++;
	if (n->nlog < LOG_MAX)
		n->log[n->nlog++] = vmsg_ivshmem_doorbell(peer, vector);
	to = node_by_id(peer);
	if (!to || to == n) {
		n->dropped++; /* real ivshmem drops doorbells to unknown peers */
		return 0;
	}
	pthread_mutex_lock(&to->mu);
	to->bells++;
	pthread_cond_signal(&to->cv);
	pthread_mutex_unlock(&to->mu);
	return 0;
}

static int fake_wait(void *ctx, int64_t timeout_ns)
{
	struct node *n = ctx;
	struct timespec ts;
	int r = 0;

	if (timeout_ns < 0 || timeout_ns > 10 * SEC)
		timeout_ns = 10 * SEC;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(timeout_ns / SEC);
	ts.tv_nsec += (long)(timeout_ns % SEC);
	if (ts.tv_nsec >= SEC) {
		ts.tv_sec++;
		ts.tv_nsec -= SEC;
	}
	pthread_mutex_lock(&n->mu);
	while (n->bells == n->seen && r == 0)
		r = pthread_cond_timedwait(&n->cv, &n->mu, &ts);
	n->seen = n->bells;
	pthread_mutex_unlock(&n->mu);
	return r == 0 ? 0 : VMSG_ETIMEDOUT;
}

static bool fake_sole(void *ctx, uint32_t *peer)
{
	struct node *n = ctx;

	if (!n->give_sole)
		return false;
	*peer = n->sole;
	return true;
}

static struct node *node_new(uint32_t id)
{
	struct node *n = calloc(1, sizeof(*n));

	assert_non_null(n);
	n->id = id;
	n->wait_irq = true;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	for (unsigned i = 0; i < MAX_NODES; i++) {
		if (!nodes[i]) {
			nodes[i] = n;
			return n;
		}
	}
	fail_msg("out of nodes");
	return NULL;
}

static int node_open(struct node *n, void *shm, size_t size, const struct vmsg_ivshmem_cfg *cfg)
{
	struct vmsg_ivshmem_backend be = { 0 };

	be.ring = fake_ring;
	be.wait = n->wait_irq ? fake_wait : NULL;
	be.sole_peer = fake_sole;
	be.ctx = n;
	return vmsg_ivshmem_open(&n->iv, shm, size, n->id, &be, cfg);
}

/* Ring through the hook the shm bus uses (what a send or a lifecycle step
 * does when the peer needs a kick). */
static int kick(struct node *n)
{
	return n->iv.sb.hooks.kick(n->iv.sb.hooks.ctx);
}

static uint8_t *region;

static int setup(void **state)
{
	(void)state;
	region = aligned_alloc(64, REGION_SIZE);
	if (!region)
		return -1;
	memset(region, 0, REGION_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < MAX_NODES; i++) {
		if (!nodes[i])
			continue;
		pthread_mutex_destroy(&nodes[i]->mu);
		pthread_cond_destroy(&nodes[i]->cv);
		free(nodes[i]);
		nodes[i] = NULL;
	}
	free(region);
	region = NULL;
	return 0;
}

static struct vmsg_ivshmem_cfg cfg_of(enum vmsg_shm_side side, enum vmsg_ivshmem_layout layout,
				      bool owner)
{
	struct vmsg_ivshmem_cfg c = { 0 };

	c.side = side;
	c.layout = layout;
	c.owner = owner;
	return c;
}

/* Drive both v1 lifecycles (no threads) until both sides run. */
static void pump_up(struct node *a, struct node *b)
{
	for (int i = 0; i < 50; i++) {
		assert_true(vmsg_shm_chan_poll(&a->iv.ch) >= 0);
		assert_true(vmsg_shm_chan_poll(&b->iv.ch) >= 0);
		if (vmsg_shm_chan_state(&a->iv.ch) == VMSG_SHM_RUN &&
		    vmsg_shm_chan_state(&b->iv.ch) == VMSG_SHM_RUN)
			return;
	}
	fail_msg("the v1 lifecycle did not reach RUN");
}

/* Where a side publishes its id in layout @p lay (v1: its queue head + 0x10;
 * v0: the tail line of the queue it consumes + 0x48). */
static uint8_t *id_word(const struct node *any, enum vmsg_ivshmem_layout lay,
			enum vmsg_shm_side side)
{
	if (lay == VMSG_IVSHMEM_LAYOUT_V1) {
		const struct vmsg_shm_v1_info *in = &any->iv.ch.info;

		return region + (side == VMSG_SHM_DRIVER ? in->drv_qh : in->dev_qh) +
		       VMSG_SIDE_OFF_PEER_ID;
	}
	return region + (side == VMSG_SHM_DRIVER ? 0x1000u : 0x0u) + VMSG_V0_OFF_PEER_ID;
}

/* ---------------------------------------------------------------------- */
/* Doorbell encoding                                                      */
/* ---------------------------------------------------------------------- */

static void test_doorbell_encoding(void **state)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, VMSG_IVSHMEM_LAYOUT_V1, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, VMSG_IVSHMEM_LAYOUT_V1, false);
	struct node *dev, *drv;

	(void)state;
	assert_int_equal(vmsg_ivshmem_doorbell(0, 0), 0u);
	assert_int_equal(vmsg_ivshmem_doorbell(3, 1), 0x00030001u);
	assert_int_equal(vmsg_ivshmem_doorbell(0xFFFF, 0xFFFF), 0xFFFFFFFFu);
	/* Out-of-range inputs are masked to their 16-bit fields. */
	assert_int_equal(vmsg_ivshmem_doorbell(0x12345, 0x10002), 0x23450002u);

	dev = node_new(0x1234);
	drv = node_new(7);
	dc.vector = 1; /* ring the driver's vector 1 */
	ac.vector = 0;
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	assert_int_equal(kick(drv), 0);
	assert_int_equal(kick(dev), 0);
	assert_int_equal(drv->nlog, 1);
	assert_int_equal(dev->nlog, 1);
	assert_int_equal(drv->log[0], 0x12340000u);
	assert_int_equal(dev->log[0], 0x00070001u);
	assert_int_equal(drv->iv.st.doorbells, 1);
	assert_int_equal(dev->iv.st.doorbells, 1);
	assert_int_equal(drv->bells, 1); /* each rang the other once */
	assert_int_equal(dev->bells, 1);

	/* A vector or a fixed peer out of range is refused at open. */
	ac.vector = 0x10000;
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), VMSG_EINVAL);
	ac.vector = 0;
	ac.fixed_peer = true;
	ac.peer_id = 0x10000;
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), VMSG_EINVAL);
	ac.fixed_peer = false;
	{
		struct vmsg_ivshmem_backend be = { .ring = fake_ring, .ctx = drv };

		assert_int_equal(vmsg_ivshmem_open(&drv->iv, region, REGION_SIZE, 0x10000, &be,
						   &ac),
				 VMSG_EINVAL);
		assert_int_equal(vmsg_ivshmem_open(&drv->iv, region + 8, REGION_SIZE - 64, 1, &be,
						   &ac),
				 VMSG_EINVAL);
		be.ring = NULL;
		assert_int_equal(vmsg_ivshmem_open(&drv->iv, region, REGION_SIZE, 1, &be, &ac),
				 VMSG_EINVAL);
	}

	/* A backend error is counted, not hidden. */
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	drv->ring_result = VMSG_EIO;
	assert_int_equal(kick(drv), VMSG_EIO);
	assert_int_equal(drv->iv.st.doorbell_errors, 1);
	assert_int_equal(drv->iv.st.doorbells, 0);
}

/* ---------------------------------------------------------------------- */
/* Peer discovery                                                         */
/* ---------------------------------------------------------------------- */

static void discovery(enum vmsg_ivshmem_layout lay)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, lay, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, lay, false);
	struct node *dev = node_new(5);
	struct node *drv = node_new(2);
	uint32_t peer = 0xDEAD;
	uint8_t *dev_word, *drv_word;

	/* v1: a non-owner that opens before the owner waits (bounded) for
	 * the layout, then gives up; nothing was rung meanwhile. */
	if (lay == VMSG_IVSHMEM_LAYOUT_V1) {
		ac.attach_timeout_ns = 3 * (uint64_t)MS;
		assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), VMSG_ETIMEDOUT);
		assert_int_equal(drv->nlog, 0);
	}
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	/* Nobody published yet on the driver's side: nobody to ring. */
	if (lay == VMSG_IVSHMEM_LAYOUT_V1) {
		assert_false(vmsg_ivshmem_peer(&dev->iv, &peer));
		assert_int_equal(kick(dev), VMSG_ENOENT);
		assert_int_equal(dev->iv.st.no_peer, 1);
		assert_int_equal(dev->nlog, 0);
	}
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);

	/* Each side's word: little-endian VALID | id at the documented place. */
	dev_word = id_word(drv, lay, VMSG_SHM_DEVICE);
	drv_word = id_word(drv, lay, VMSG_SHM_DRIVER);
	assert_int_equal(vmsg_get_le32(dev_word), VMSG_SHM_PEER_ID_VALID | 5u);
	assert_int_equal(vmsg_get_le32(drv_word), VMSG_SHM_PEER_ID_VALID | 2u);

	/* Each rings the other's published id, never its own. */
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 5);
	assert_true(vmsg_ivshmem_peer(&dev->iv, &peer));
	assert_int_equal(peer, 2);
	assert_int_equal(kick(drv), 0);
	assert_int_equal(kick(dev), 0);
	assert_int_equal(drv->log[drv->nlog - 1], vmsg_ivshmem_doorbell(5, 0));
	assert_int_equal(dev->log[dev->nlog - 1], vmsg_ivshmem_doorbell(2, 0));
	assert_int_equal(dev->bells, 1);
	assert_int_equal(drv->bells, 1);

	/* Words that must be ignored: no VALID bit (a prototype's 0, or a
	 * raw id), an id above 0xFFFF, or the reader's own id. */
	vmsg_put_le32(dev_word, 5u);
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	vmsg_put_le32(dev_word, 0);
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	vmsg_put_le32(dev_word, VMSG_SHM_PEER_ID_VALID | 0x10000u);
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	vmsg_put_le32(dev_word, VMSG_SHM_PEER_ID_VALID | 0x7FFFFFFFu);
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	vmsg_put_le32(dev_word, VMSG_SHM_PEER_ID_VALID | 2u); /* the driver's own id */
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	{
		uint64_t before = drv->iv.st.no_peer;
		unsigned nlog = drv->nlog;

		assert_int_equal(kick(drv), VMSG_ENOENT);
		assert_int_equal(drv->iv.st.no_peer, before + 1);
		assert_int_equal(drv->nlog, nlog); /* never rang itself */
	}
	/* The byte order matters: a big-endian word is another id. */
	dev_word[0] = 0x80;
	dev_word[1] = 0;
	dev_word[2] = 0;
	dev_word[3] = 5; /* le32 0x05000080: VALID clear */
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));

	/* The backend's sole peer fills in while nothing valid is published,
	 * but never our own id or an id beyond 16 bits. */
	drv->give_sole = true;
	drv->sole = 9;
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 9);
	drv->sole = 2;
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	drv->sole = 0x10000;
	assert_false(vmsg_ivshmem_peer(&drv->iv, &peer));
	drv->sole = 9;
	/* A published id wins over the sole peer. */
	vmsg_put_le32(dev_word, VMSG_SHM_PEER_ID_VALID | 0u); /* id 0 is a valid id */
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 0);
	drv->give_sole = false;
	vmsg_put_le32(dev_word, VMSG_SHM_PEER_ID_VALID | 5u);
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 5);
}

static void test_discovery_v1(void **state)
{
	(void)state;
	discovery(VMSG_IVSHMEM_LAYOUT_V1);
}

static void test_discovery_v0(void **state)
{
	(void)state;
	discovery(VMSG_IVSHMEM_LAYOUT_V0);
}

static void fixed_peer(enum vmsg_ivshmem_layout lay)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, lay, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, lay, false);
	struct node *dev = node_new(5);
	struct node *drv = node_new(2);
	uint32_t peer;

	ac.fixed_peer = true;
	ac.peer_id = 0; /* the Linux prototype driver rings id 0 */
	drv->give_sole = true;
	drv->sole = 9;
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 0); /* not the published 5, not the sole 9 */
	assert_int_equal(kick(drv), 0);
	assert_int_equal(drv->log[0], vmsg_ivshmem_doorbell(0, 0));
	assert_int_equal(drv->dropped, 1); /* nobody has id 0 here */
	/* The fixed-peer side still publishes its own id for the other. */
	assert_true(vmsg_ivshmem_peer(&dev->iv, &peer));
	assert_int_equal(peer, 2);
}

static void test_fixed_peer_v1(void **state)
{
	(void)state;
	fixed_peer(VMSG_IVSHMEM_LAYOUT_V1);
}

static void test_fixed_peer_v0(void **state)
{
	(void)state;
	fixed_peer(VMSG_IVSHMEM_LAYOUT_V0);
}

/* ---------------------------------------------------------------------- */
/* A peer restarts with a new id; peers leave                             */
/* ---------------------------------------------------------------------- */

static void restart_new_id(enum vmsg_ivshmem_layout lay)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, lay, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, lay, false);
	struct node *dev = node_new(1);
	struct node *drv = node_new(4);
	uint32_t peer;

	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	if (lay == VMSG_IVSHMEM_LAYOUT_V1)
		pump_up(drv, dev);
	assert_int_equal(kick(dev), 0);
	assert_int_equal(dev->log[dev->nlog - 1], vmsg_ivshmem_doorbell(4, 0));
	assert_int_equal(drv->bells, 1);
	assert_int_equal(dev->iv.st.peer_changes, 0);

	/* The driver "restarts" as another peer of the server: new id 12. */
	drv->id = 12;
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	assert_int_equal(vmsg_get_le32(id_word(dev, lay, VMSG_SHM_DRIVER)),
			 VMSG_SHM_PEER_ID_VALID | 12u);
	assert_true(vmsg_ivshmem_peer(&dev->iv, &peer));
	assert_int_equal(peer, 12);
	assert_int_equal(kick(dev), 0);
	assert_int_equal(dev->log[dev->nlog - 1], vmsg_ivshmem_doorbell(12, 0));
	assert_int_equal(dev->iv.st.peer_changes, 1);
	assert_int_equal(drv->bells, 2);
	/* Ringing the same peer again is no change. */
	assert_int_equal(kick(dev), 0);
	assert_int_equal(dev->iv.st.peer_changes, 1);
	if (lay == VMSG_IVSHMEM_LAYOUT_V1) {
		/* The lifecycle sees the restart and comes up again. */
		pump_up(drv, dev);
		assert_int_equal(vmsg_shm_chan_peer_id(&dev->iv.ch), VMSG_SHM_PEER_ID_VALID | 12u);
	}
}

static void test_restart_new_id_v1(void **state)
{
	(void)state;
	restart_new_id(VMSG_IVSHMEM_LAYOUT_V1);
}

static void test_restart_new_id_v0(void **state)
{
	(void)state;
	restart_new_id(VMSG_IVSHMEM_LAYOUT_V0);
}

static void test_peer_left(void **state)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, VMSG_IVSHMEM_LAYOUT_V1, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, VMSG_IVSHMEM_LAYOUT_V1, false);
	struct node *dev = node_new(1);
	struct node *drv = node_new(4);
	uint8_t buf[512];

	(void)state;
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	pump_up(drv, dev);
	assert_int_equal(vmsg_shm_bus_ops.recv(&dev->iv.sb, buf, sizeof buf), VMSG_EAGAIN);

	/* Another peer of the server left: not ours, nothing changes. */
	assert_false(vmsg_ivshmem_peer_left(&dev->iv, 9));
	assert_false(vmsg_ivshmem_peer_left(&dev->iv, 1)); /* our own id */
	assert_int_equal(vmsg_shm_bus_ops.recv(&dev->iv.sb, buf, sizeof buf), VMSG_EAGAIN);
	assert_int_equal(vmsg_shm_chan_state(&dev->iv.ch), VMSG_SHM_RUN);

	/* Ours left: the next receive reports the reset once. */
	assert_true(vmsg_ivshmem_peer_left(&dev->iv, 4));
	assert_int_equal(vmsg_shm_bus_ops.recv(&dev->iv.sb, buf, sizeof buf), VMSG_ECONNRESET);
	assert_int_equal(vmsg_shm_chan_state(&dev->iv.ch), VMSG_SHM_PEER_DEAD);
	assert_int_equal(vmsg_shm_bus_ops.recv(&dev->iv.sb, buf, sizeof buf), VMSG_EAGAIN);

	/* It comes back with a new id; the survivor pairs with it. */
	drv->id = 6;
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	pump_up(drv, dev);
	{
		uint32_t peer;

		assert_true(vmsg_ivshmem_peer(&dev->iv, &peer));
		assert_int_equal(peer, 6);
	}
	/* The id we last rang counts as ours too, even once the word changed. */
	assert_int_equal(kick(dev), 0);
	vmsg_put_le32(id_word(dev, VMSG_IVSHMEM_LAYOUT_V1, VMSG_SHM_DRIVER), VMSG_SHM_PEER_ID_VALID | 8u);
	assert_true(vmsg_ivshmem_peer_left(&dev->iv, 6));
	assert_false(vmsg_ivshmem_peer_left(NULL, 6));
}

/* ---------------------------------------------------------------------- */
/* Polled wait                                                            */
/* ---------------------------------------------------------------------- */

static void test_polled_wait(void **state)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, VMSG_IVSHMEM_LAYOUT_V1, true);
	struct node *dev = node_new(1);
	struct vmsg_shm_bus_hooks *h;
	uint64_t t0, t1;

	(void)state;
	dev->wait_irq = false; /* uio on stock QEMU: no interrupt */
	dc.poll_ns = 2 * (uint64_t)MS;
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	h = &dev->iv.sb.hooks;

	/* A long timeout: one slice, then back to look at the ring. */
	t0 = now_ns();
	assert_int_equal(h->wait(h->ctx, 60 * SEC), 0);
	t1 = now_ns();
	assert_true(t1 - t0 >= 2 * (uint64_t)MS);
	assert_int_equal(dev->iv.st.polled_waits, 1);
	/* Forever (< 0) is a slice too. */
	assert_int_equal(h->wait(h->ctx, -1), 0);
	assert_int_equal(dev->iv.st.polled_waits, 2);
	/* Shorter than a slice: sleeps the timeout and says so. */
	t0 = now_ns();
	assert_int_equal(h->wait(h->ctx, 1 * MS), VMSG_ETIMEDOUT);
	assert_true(now_ns() - t0 >= (uint64_t)MS);
	/* 0: just look. */
	assert_int_equal(h->wait(h->ctx, 0), VMSG_ETIMEDOUT);
	assert_int_equal(dev->iv.st.polled_waits, 4);

	/* The default slice (poll_ns 0) works the same through the bus. */
	{
		static struct vmsg_bus bus;
		static struct vmsg_bus_req reqs[4];
		static struct vmsg_bus_dev devs[4];
		static uint8_t rx[512], tx[512];
		struct vmsg_bus_cfg bc = { 0 };
		uint64_t before;

		dc.poll_ns = 0;
		assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
		bc.ops = &vmsg_shm_bus_ops;
		bc.priv = vmsg_ivshmem_bus(&dev->iv);
		bc.role = VMSG_BUS_DEVICE;
		bc.reqs = reqs;
		bc.num_reqs = 4;
		bc.devs = devs;
		bc.num_devs = 4;
		bc.rx_buf = rx;
		bc.rx_cap = sizeof rx;
		bc.tx_buf = tx;
		bc.tx_cap = sizeof tx;
		assert_int_equal(vmsg_bus_init(&bus, &bc), 0);
		before = dev->iv.st.polled_waits;
		assert_true(vmsg_bus_wait(&bus, 30 * SEC) >= 0);
		assert_true(dev->iv.st.polled_waits > before);
		(void)vmsg_bus_close(&bus);
	}
}

/* ---------------------------------------------------------------------- */
/* SPSC-v0 bytes at the prototype offsets                                 */
/* ---------------------------------------------------------------------- */

/* A bus PING as the prototypes' peers see it: type 0x02 (bus request),
 * msg_id 0x03, dev_num 0, token 0x0102, msg_size 12, data 0xA1B2C3D4. */
static const uint8_t ping_bytes[12] = { 0x02, 0x03, 0x00, 0x00, 0x02, 0x01,
					0x0C, 0x00, 0xD4, 0xC3, 0xB2, 0xA1 };

/* A 32-bit index in the prototype's host byte order. */
static void host32(uint8_t *p, uint32_t v)
{
	const uint16_t probe = 1;

	if (*(const uint8_t *)&probe == 0) { /* big-endian host */
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	} else {
		vmsg_put_le32(p, v);
	}
}

static void v0_image(bool le_index)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, VMSG_IVSHMEM_LAYOUT_V0, false);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, VMSG_IVSHMEM_LAYOUT_V0, false);
	struct node *dev = node_new(0x0102);
	struct node *drv = node_new(0x0A0B);
	static uint8_t expect[0x2000];
	uint8_t buf[64];
	int n;

	if (le_index) {
		vmsg_shm_v0_defaults(&dc.v0);
		vmsg_shm_v0_defaults(&ac.v0);
		dc.v0.little_endian = ac.v0.little_endian = true;
	}
	/* Stale indices and a stale slot: what a reset and a send overwrite. */
	memset(region + 0x0000, 0xEE, 4);
	memset(region + 0x0040, 0xEE, 4);
	memset(region + 0x0080, 0xEE, 64);
	memset(region + 0x1000, 0xEE, 4);
	memset(region + 0x1040, 0xEE, 4);
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	/* The defaults in the port's cfg copy are the prototype's. */
	assert_int_equal(drv->iv.cfg.v0.drv_to_dev_off, 0x0);
	assert_int_equal(drv->iv.cfg.v0.dev_to_drv_off, 0x1000);
	assert_int_equal(drv->iv.cfg.v0.queue_size, 0x1000);

	assert_int_equal(vmsg_shm_bus_ops.send(&drv->iv.sb, ping_bytes, sizeof ping_bytes), 0);
	assert_int_equal(drv->log[drv->nlog - 1], vmsg_ivshmem_doorbell(0x0102, 0));

	/* Expected bytes of both queues, written by hand. Indices (head =
	 * producer at +0x00, tail = consumer at +0x40) are 32-bit, host order
	 * as in the prototypes unless little_endian; ids are always le32. */
	memset(expect, 0, sizeof expect);
	if (le_index)
		vmsg_put_le32(expect + 0x0000, 1);
	else
		host32(expect + 0x0000, 1);                   /* drv->dev head */
	expect[0x0048] = 0x02;                               /* device's id 0x0102 */
	expect[0x0049] = 0x01;
	expect[0x004B] = 0x80;                               /* VALID */
	memcpy(expect + 0x0080, ping_bytes, sizeof ping_bytes); /* slot 0, zero-padded */
	expect[0x1048] = 0x0B;                               /* driver's id 0x0A0B */
	expect[0x1049] = 0x0A;
	expect[0x104B] = 0x80;
	assert_memory_equal(region + 0x0000, expect + 0x0000, 0x40);  /* head line */
	assert_memory_equal(region + 0x0040, expect + 0x0040, 0x40);  /* tail line */
	assert_memory_equal(region + 0x0080, expect + 0x0080, 64);    /* slot 0 */
	assert_memory_equal(region + 0x1000, expect + 0x1000, 0x40);
	assert_memory_equal(region + 0x1040, expect + 0x1040, 0x40);

	/* The device side reads it from 0x0 and answers into 0x1000. */
	n = vmsg_shm_bus_ops.recv(&dev->iv.sb, buf, sizeof buf);
	assert_int_equal(n, sizeof ping_bytes); /* its msg_size, not the 64-byte slot */
	assert_memory_equal(buf, ping_bytes, sizeof ping_bytes);
	{
		uint8_t resp[12];

		memcpy(resp, ping_bytes, sizeof resp);
		resp[0] = 0x03; /* bus response */
		assert_int_equal(vmsg_shm_bus_ops.send(&dev->iv.sb, resp, sizeof resp), 0);
		assert_int_equal(dev->log[dev->nlog - 1], vmsg_ivshmem_doorbell(0x0A0B, 0));
		/* The shm bus gives a received slot back by the next send at
		 * the latest: the drv->dev tail (consumer index) is 1 now. */
		if (le_index)
			vmsg_put_le32(expect + 0x0040, 1);
		else
			host32(expect + 0x0040, 1);
		assert_memory_equal(region + 0x0040, expect + 0x0040, 0x40);
		if (le_index)
			vmsg_put_le32(expect + 0x1000, 1);
		else
			host32(expect + 0x1000, 1);           /* dev->drv head */
		memcpy(expect + 0x1080, resp, sizeof resp);
		assert_memory_equal(region + 0x1000, expect + 0x1000, 0xC0);
		n = vmsg_shm_bus_ops.recv(&drv->iv.sb, buf, sizeof buf);
		assert_int_equal(n, sizeof resp);
		assert_memory_equal(buf, resp, sizeof resp);
	}
}

static void test_v0_image_host_order(void **state)
{
	(void)state;
	v0_image(false);
}

static void test_v0_image_le(void **state)
{
	(void)state;
	v0_image(true);
}

/* The SPSC-v0 channel at other offsets (AMP-PCI's 0x1000 / 0x2000). */
static void test_v0_other_offsets(void **state)
{
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, VMSG_IVSHMEM_LAYOUT_V0, false);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, VMSG_IVSHMEM_LAYOUT_V0, false);
	struct node *dev = node_new(3);
	struct node *drv = node_new(4);
	uint32_t peer;

	(void)state;
	dc.v0 = (struct vmsg_shm_v0_params){ 0x1000, 0x2000, 0x1000, false, false };
	ac.v0 = dc.v0;
	assert_int_equal(node_open(dev, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv, region, REGION_SIZE, &ac), 0);
	assert_int_equal(vmsg_get_le32(region + 0x1048), VMSG_SHM_PEER_ID_VALID | 3u);
	assert_int_equal(vmsg_get_le32(region + 0x2048), VMSG_SHM_PEER_ID_VALID | 4u);
	assert_true(vmsg_ivshmem_peer(&drv->iv, &peer));
	assert_int_equal(peer, 3);
	assert_int_equal(vmsg_shm_bus_ops.send(&drv->iv.sb, ping_bytes, sizeof ping_bytes), 0);
	assert_memory_equal(region + 0x1080, ping_bytes, sizeof ping_bytes);
}

/* ---------------------------------------------------------------------- */
/* A whole bus over the pair (two threads, coherent memory)               */
/* ---------------------------------------------------------------------- */

#define NDEV 32
#ifndef VMSG_STRESS_MSGS
#define VMSG_STRESS_MSGS 10000000
#endif
#define NPINGS (VMSG_STRESS_MSGS >= 10000000 ? 10000 : 2000)

struct side {
	struct node *n;
	struct vmsg_bus bus;
	struct vmsg_bus_req reqs[DEPTH + 2];
	struct vmsg_bus_dev devs[128];
	uint8_t rx[1024], tx[1024];
};

static atomic_bool stop_device;

static void dev_handler(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *m)
{
	(void)ctx;
	(void)b;
	(void)m;
}

static void *device_thread(void *arg)
{
	struct side *s = arg;

	while (!atomic_load(&stop_device))
		if (vmsg_bus_wait(&s->bus, 50 * MS) < 0)
			return (void *)1;
	return NULL;
}

static void side_init(struct side *s, enum vmsg_bus_role role)
{
	struct vmsg_bus_cfg bc = { 0 };

	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_ivshmem_bus(&s->n->iv);
	bc.role = role;
	bc.reqs = s->reqs;
	bc.num_reqs = DEPTH + 2;
	bc.devs = s->devs;
	bc.num_devs = 128;
	bc.rx_buf = s->rx;
	bc.rx_cap = sizeof s->rx;
	bc.tx_buf = s->tx;
	bc.tx_cap = sizeof s->tx;
	assert_int_equal(vmsg_bus_init(&s->bus, &bc), 0);
}

static void whole_bus(enum vmsg_ivshmem_layout lay, bool polled_device)
{
	static struct side drv, dev;
	struct vmsg_ivshmem_cfg dc = cfg_of(VMSG_SHM_DEVICE, lay, true);
	struct vmsg_ivshmem_cfg ac = cfg_of(VMSG_SHM_DRIVER, lay, false);
	uint64_t submitted = 0, end = now_ns() + 60 * (uint64_t)SEC;
	pthread_t th;
	void *th_ret = NULL;
	int n;

	memset(&drv, 0, sizeof drv);
	memset(&dev, 0, sizeof dev);
	memset(&P, 0, sizeof P);
	atomic_store(&stop_device, false);
	dev.n = node_new(17);
	drv.n = node_new(3);
	dev.n->wait_irq = !polled_device;
	dc.mem = ac.mem = VMSG_SPSC_MEM_COHERENT; /* two threads: atomics */
	if (lay == VMSG_IVSHMEM_LAYOUT_V0) {
		vmsg_shm_v0_defaults(&dc.v0);
		dc.v0.kick_suppression = true;
		ac.v0 = dc.v0;
	}
	assert_int_equal(node_open(dev.n, region, REGION_SIZE, &dc), 0);
	assert_int_equal(node_open(drv.n, region, REGION_SIZE, &ac), 0);
	side_init(&dev, VMSG_BUS_DEVICE);
	side_init(&drv, VMSG_BUS_DRIVER);
	if (lay == VMSG_IVSHMEM_LAYOUT_V0)
		assert_int_equal(vmsg_bus_get_params(&drv.bus)->max_msg_size, 64);
	for (unsigned d = 0; d < NDEV; d++)
		assert_int_equal(vmsg_bus_add_device(&dev.bus, (uint16_t)(d * 3 + 1), dev_handler,
						     NULL, false),
				 0);
	assert_int_equal(pthread_create(&th, NULL, device_thread, &dev), 0);

	for (;;) {
		n = vmsg_bus_discover(&drv.bus, 2 * (uint64_t)SEC);
		if (n >= 0 || (n != VMSG_EAGAIN && n != VMSG_ETIMEDOUT))
			break;
		if (now_ns() > end)
			break;
		assert_true(vmsg_bus_wait(&drv.bus, 20 * MS) >= 0);
	}
	assert_int_equal(n, NDEV);
	for (unsigned d = 0; d < NDEV; d++)
		assert_true(vmsg_bus_device_present(&drv.bus, (uint16_t)(d * 3 + 1)));
	assert_false(vmsg_bus_device_present(&drv.bus, 2));

	while (P.done < NPINGS && now_ns() < end) {
		while (P.inflight < DEPTH && submitted < NPINGS) {
			struct vmsg_msg q = { 0 };
			unsigned i = 0;
			int err;

			while (P.busy[i])
				i++;
			q.type = VMSG_TYPE_BUS;
			q.msg_id = VMSG_BUS_ID_PING;
			q.u.ping.data = (uint32_t)(submitted * 2654435761u) ^ 0x5A5A0000u;
			P.data[i] = q.u.ping.data;
			err = vmsg_bus_submit(&drv.bus, &q, 10 * (uint64_t)SEC, ping_done,
					      (void *)(uintptr_t)i);
			if (err == VMSG_EAGAIN)
				break;
			assert_int_equal(err, 0);
			P.busy[i] = true;
			P.inflight++;
			submitted++;
		}
		assert_true(vmsg_bus_wait(&drv.bus, SEC) >= 0);
		assert_int_equal(P.bad, 0);
	}
	assert_int_equal(P.done, NPINGS);
	assert_int_equal(P.ok, NPINGS);
	assert_int_equal(drv.bus.stats.timeouts, 0);
	assert_int_equal(drv.bus.stats.drop_unmatched, 0);
	assert_int_equal(drv.bus.stats.drop_malformed, 0);
	/* Every doorbell went to the other side's id, never elsewhere. */
	assert_int_equal(drv.n->dropped, 0);
	assert_true(drv.n->iv.st.doorbells > 0);
	for (unsigned i = 0; i < drv.n->nlog; i++)
		assert_int_equal(drv.n->log[i], vmsg_ivshmem_doorbell(17, 0));

	(void)vmsg_bus_close(&drv.bus);
	atomic_store(&stop_device, true);
	assert_int_equal(pthread_join(th, &th_ret), 0);
	assert_null(th_ret);
	assert_int_equal(dev.n->dropped, 0);
	for (unsigned i = 0; i < dev.n->nlog; i++)
		assert_int_equal(dev.n->log[i], vmsg_ivshmem_doorbell(3, 0));
	assert_int_equal(dev.bus.stats.drop_malformed, 0);
	if (polled_device)
		assert_true(dev.n->iv.st.polled_waits > 0);
	else
		assert_int_equal(dev.n->iv.st.polled_waits, 0);
	(void)vmsg_bus_close(&dev.bus);
}

static void test_bus_v1(void **state)
{
	(void)state;
	whole_bus(VMSG_IVSHMEM_LAYOUT_V1, false);
}

static void test_bus_v0(void **state)
{
	(void)state;
	whole_bus(VMSG_IVSHMEM_LAYOUT_V0, false);
}

static void test_bus_v1_polled_device(void **state)
{
	(void)state;
	whole_bus(VMSG_IVSHMEM_LAYOUT_V1, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_doorbell_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_v0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixed_peer_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fixed_peer_v0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_new_id_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_new_id_v0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polled_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v0_image_host_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v0_image_le, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v0_other_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_v0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_v1_polled_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
