/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_codec: the codec alone, single-threaded. For a few messages, one
 * encode and one decode through the public calls (vmsg_proto_encode(),
 * vmsg_proto_decode(): in a build for speed the image path first) against
 * the same through the general path (vmsg_proto_encode_general(),
 * vmsg_proto_decode_general(), proto_internal.h) as the baseline, measured
 * in the same run: rounds alternate between the two, and the figure is the
 * median over the rounds. Information only, never a verdict.
 *
 *   bench_codec [N [ROUNDS]]     N encode+decode pairs per round (200000)
 *
 * Instructions instead of time: run it under valgrind --tool=callgrind and
 * read the self cost of vmsg_proto_encode / vmsg_proto_decode and of the
 * _general pair, divided by the calls (callgrind_annotate).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/proto_internal.h"
#include "virtio_msg/proto.h"
#include "virtio_msg/wire.h"

#define MAX_ROUNDS 64

typedef int (*encode_fn)(const struct vmsg_codec *, const struct vmsg_msg *, uint8_t *, size_t);
typedef int (*decode_fn)(const struct vmsg_codec *, const uint8_t *, size_t, struct vmsg_msg *);

static volatile unsigned sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per encode+decode pair of @m. The calls go through pointers the
 * compiler cannot see through, so both paths pay the same call. */
static double run(const struct vmsg_codec *c, const struct vmsg_msg *m, encode_fn enc,
		  decode_fn dec, unsigned n)
{
	uint8_t buf[VMSG_MAX_MSG_SIZE_MIN];
	struct vmsg_msg out;
	unsigned acc = 0;
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		int len = enc(c, m, buf, sizeof(buf));

		if (len < 0 || dec(c, buf, (size_t)len, &out) != 0) {
			fprintf(stderr, "bench_codec: type %u id 0x%02x refused\n", m->type, m->msg_id);
			exit(1);
		}
		acc += out.token;
	}
	sink += acc;
	return (double)(now_ns() - t0) / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		struct vmsg_msg m;
	} msgs[] = {
		{ "PING request (image)",
		  { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_PING, .token = 7, .u.ping.data = 42 } },
		{ "EVENT_AVAIL (image)",
		  { .msg_id = VMSG_ID_EVENT_AVAIL, .dev_num = 1, .u.event_avail = { 3, 9 } } },
		{ "GET_VQUEUE request (image)",
		  { .msg_id = VMSG_ID_GET_VQUEUE, .dev_num = 1, .token = 5, .u.vqueue.index = 2 } },
		{ "SET_DEVICE_STATUS response (image)",
		  { .type = VMSG_TYPE_RESPONSE, .msg_id = VMSG_ID_SET_DEVICE_STATUS, .dev_num = 1,
		    .token = 5, .u.status.status = 15 } },
		{ "SET_VQUEUE request (general)",
		  { .msg_id = VMSG_ID_SET_VQUEUE, .dev_num = 1, .token = 5,
		    .u.vqueue = { .index = 1, .flags = VMSG_SETVQ_OP_ENABLE, .size = 256,
				  .desc_addr = 0x1000, .driver_addr = 0x2000, .device_addr = 0x3000 } } },
		{ "EVENT_DEVICE (general)",
		  { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_EVENT_DEVICE,
		    .u.event_device = { 4, VMSG_EVDEV_STATE_ADDED } } },
	};
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 200000u;
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 15u;
	struct vmsg_codec c;

	if (n == 0 || rounds == 0 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_codec [N [ROUNDS <= %d]]\n", MAX_ROUNDS);
		return 2;
	}
	if (vmsg_codec_init(&c, VMSG_PROFILE_2026, VMSG_MAX_MSG_SIZE_MIN, 0) != 0)
		return 1;
	printf("bench_codec: %u encode+decode pairs x %u rounds, median ns per pair%s\n", n, rounds,
	       VMSG_PROTO_FOR_SPEED ? "" : " (built for size: both columns are one path)");
	printf("%-36s %10s %10s %7s\n", "message", "public", "general", "ratio");
	for (size_t k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
		double pub[MAX_ROUNDS], gen[MAX_ROUNDS];

		for (unsigned r = 0; r < rounds; r++) {
			/* Alternate which goes first. */
			if (r & 1u) {
				gen[r] = run(&c, &msgs[k].m, vmsg_proto_encode_general,
					     vmsg_proto_decode_general, n);
				pub[r] = run(&c, &msgs[k].m, vmsg_proto_encode, vmsg_proto_decode, n);
			} else {
				pub[r] = run(&c, &msgs[k].m, vmsg_proto_encode, vmsg_proto_decode, n);
				gen[r] = run(&c, &msgs[k].m, vmsg_proto_encode_general,
					     vmsg_proto_decode_general, n);
			}
		}
		qsort(pub, rounds, sizeof(pub[0]), cmp_double);
		qsort(gen, rounds, sizeof(gen[0]), cmp_double);
		printf("%-36s %10.1f %10.1f %6.2fx\n", msgs[k].name, pub[rounds / 2], gen[rounds / 2],
		       gen[rounds / 2] / pub[rounds / 2]);
	}
	return 0;
}
