/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_icount: single-threaded loops whose instruction counts explain the
 * timings (no timing here). Run it under valgrind twice with different
 * counts and divide the difference of the totals by the difference of the
 * counts (scripts/bench.sh --icount does this):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null bench_icount MODE N
 *
 * Modes (per message unless said otherwise):
 *   lib_b1 / tb_b1     push one message, pop it (library / textbook)
 *   lib_b32 / tb_b32   push a batch of 32, pop a batch of 32 (per message)
 *   v1_b1              vmsg_shm_chan_send + vmsg_shm_chan_recv (vmamp v1)
 *   lib_empty / tb_empty   one pop on an empty ring (the consumer's spin)
 *   lib_kick           push one, vmsg_spsc_prod_need_kick, pop it
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textbook.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/spsc.h"

#define SLOTS 1024u
#define MSG 64u
#define BATCH 32u

struct lib_ring_mem {
	_Alignas(64) uint32_t prod;
	_Alignas(64) uint32_t cons;
	uint32_t awake;
	_Alignas(64) unsigned char slots[SLOTS * MSG];
};

static struct lib_ring_mem lr;
static _Alignas(64) unsigned char tbmem[sizeof(struct tb_ring) + SLOTS * MSG];
static _Alignas(64) unsigned char v1mem[256 * 1024];
static struct vmsg_spsc_prod lp;
static struct vmsg_spsc_cons lc;
static struct tb_prod tp;
static struct tb_cons tc;
static struct vmsg_shm_chan cd, cv;

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "bench_icount: %s failed\n", what);
	exit(1);
}

static void setup(void)
{
	struct vmsg_spsc_desc d = { 0 };
	struct vmsg_shm_v1_params prm = { .num_elems = SLOTS, .elem_size = MSG, .extended = true };
	struct vmsg_shm_cfg c1 = { 0 }, c2;

	d.slots = lr.slots;
	d.num_slots = SLOTS;
	d.slot_size = MSG;
	d.prod = (struct vmsg_spsc_index){ &lr.prod, 32 };
	d.cons = (struct vmsg_spsc_index){ &lr.cons, 32 };
	d.awake = &lr.awake;
	if (vmsg_spsc_prod_init(&lp, &d, VMSG_SPSC_INIT_RESET) ||
	    vmsg_spsc_cons_init(&lc, &d, VMSG_SPSC_INIT_RESET))
		fail("init");
	vmsg_spsc_cons_awake(&lc);
	tb_init((struct tb_ring *)tbmem, SLOTS, &tp, &tc);
	c1.side = VMSG_SHM_DRIVER;
	c1.owner = true;
	c1.v1 = prm;
	c2 = c1;
	c2.side = VMSG_SHM_DEVICE;
	c2.owner = false;
	if (vmsg_shm_chan_open_v1(&cd, v1mem, sizeof(v1mem), &c1) ||
	    vmsg_shm_chan_open_v1(&cv, v1mem, sizeof(v1mem), &c2))
		fail("open_v1");
	for (int i = 0; i < 10; i++)
		if (vmsg_shm_chan_poll(&cd) < 0 || vmsg_shm_chan_poll(&cv) < 0)
			fail("poll");
	if (vmsg_shm_chan_state(&cd) != VMSG_SHM_RUN)
		fail("bring-up");
}

int main(int argc, char **argv)
{
	_Alignas(64) unsigned char msgs[BATCH][MSG], bufs[BATCH][MSG];
	const void *mp[BATCH];
	void *bp[BATCH];
	size_t lens[BATCH];
	const char *mode;
	long n;
	uint64_t sum = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MODE N\n", argv[0]);
		return 1;
	}
	mode = argv[1];
	n = atol(argv[2]);
	setup();
	for (unsigned j = 0; j < BATCH; j++) {
		memset(msgs[j], (int)j, MSG);
		mp[j] = msgs[j];
		bp[j] = bufs[j];
		lens[j] = MSG;
	}
	if (!strcmp(mode, "lib_b1")) {
		for (long i = 0; i < n; i++) {
			if (vmsg_spsc_push(&lp, msgs[0], MSG) || vmsg_spsc_pop(&lc, bufs[0], MSG) != MSG)
				fail("lib_b1");
			sum += bufs[0][0];
		}
	} else if (!strcmp(mode, "lib_b32")) {
		for (long i = 0; i < n; i += BATCH) {
			if (vmsg_spsc_push_batch(&lp, mp, lens, BATCH) != BATCH ||
			    vmsg_spsc_pop_batch(&lc, bp, MSG, BATCH) != BATCH)
				fail("lib_b32");
			sum += bufs[0][0];
		}
	} else if (!strcmp(mode, "tb_b1")) {
		for (long i = 0; i < n; i++) {
			if (!tb_push(&tp, msgs[0]) || !tb_pop(&tc, bufs[0]))
				fail("tb_b1");
			sum += bufs[0][0];
		}
	} else if (!strcmp(mode, "tb_b32")) {
		for (long i = 0; i < n; i += BATCH) {
			if (tb_push_batch(&tp, mp, BATCH) != BATCH ||
			    tb_pop_batch(&tc, bp, BATCH) != BATCH)
				fail("tb_b32");
			sum += bufs[0][0];
		}
	} else if (!strcmp(mode, "v1_b1")) {
		for (long i = 0; i < n; i++) {
			if (vmsg_shm_chan_send(&cd, msgs[0], MSG) ||
			    vmsg_shm_chan_recv(&cv, bufs[0], MSG) != MSG)
				fail("v1_b1");
			sum += bufs[0][0];
		}
	} else if (!strcmp(mode, "lib_empty")) {
		for (long i = 0; i < n; i++)
			if (vmsg_spsc_pop(&lc, bufs[0], MSG) != VMSG_EAGAIN)
				fail("lib_empty");
	} else if (!strcmp(mode, "tb_empty")) {
		for (long i = 0; i < n; i++)
			if (tb_pop(&tc, bufs[0]))
				fail("tb_empty");
	} else if (!strcmp(mode, "lib_kick")) {
		for (long i = 0; i < n; i++) {
			if (vmsg_spsc_push(&lp, msgs[0], MSG))
				fail("lib_kick");
			sum += vmsg_spsc_prod_need_kick(&lp);
			if (vmsg_spsc_pop(&lc, bufs[0], MSG) != MSG)
				fail("lib_kick");
		}
	} else {
		fail(mode);
	}
	printf("%llu\n", (unsigned long long)sum);
	return 0;
}
