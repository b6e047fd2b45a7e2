/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * chan_stream: EXPERIMENT, bench only. Where the time of `bench_bus N
 * stream`'s "channel alone" figure goes (bench/README.md, "Channel
 * streaming: where the time goes").
 *
 * SOME VARIANTS BELOW ARE UNSAFE ON PURPOSE: they leave out the kick
 * check (or its fence) that the kick protocol needs to never lose a
 * wake-up. They exist to measure what that check costs, with a consumer
 * that busy-polls and never sleeps, and must never be copied into the
 * library. They are marked "UNSAFE" in the table below and in the output.
 *
 * One vmamp v1 channel (extended, coherent memory, both sides set up here
 * and then shared by fork(): the parent is the driver and sends, the child
 * is the device and takes), pinned to CPUs 0 and 1 like bench_bus. The
 * baseline variant "bus" does exactly what bench_bus's stream_chan() does
 * per message: vmsg_shm_chan_send() of 16 bytes, vmsg_shm_chan_need_kick(),
 * the timer tick; the device vmsg_shm_chan_recv()s and checks the sequence
 * number. Each other variant changes one thing. Per round every variant
 * runs once, in table order, each in a fresh channel and process pair; the
 * figure of a run is the median interval between the sender's timestamps
 * (one per 1/256 of the run), and the ratios are per round against the
 * baseline of that round (paired), then the median over the rounds.
 * A two-line ping-pong before each round says which regime the machine is
 * in (bench_bus prints the same floor).
 *
 *   chan_stream [-n msgs] [-r rounds] [-k names,...]   (default 200000, 7)
 *   chan_stream -1 -n msgs -k name    one process, send then take, for
 *                                     instruction counts under callgrind
 *                                     (only the variants named in -k)
 */
#define _GNU_SOURCE

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "virtio_msg/shm.h"
#include "virtio_msg/spsc.h"

#ifndef CHAN_STREAM_BUILD
#define CHAN_STREAM_BUILD "src/ (as checked out)"
#endif

#define CHUNKS 256
#define MAXR 31

enum kick { K_LIB, K_NONE, K_FENCE, K_LOAD, K_EVERY16, K_LIB_FLUSH };
enum take { T_POP, T_PEEK16 };

struct variant {
	const char *name;
	const char *what;
	uint32_t slot_size, num_elems, msg_len;
	int kick, take, guards, tick;
	int unsafe;
};

static const struct variant variants[] = {
	{ "bus", "baseline: send + need_kick per msg, 264 B x 64 slots, 16 B msgs (as bench_bus)",
	  264, 64, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "nokick", "UNSAFE: no kick check at all (bench_ring batch 1 does not check)",
	  264, 64, 16, K_NONE, T_POP, 1, 1, 1 },
	{ "load", "UNSAFE: kick check without the fence (relaxed load of the awake word)",
	  264, 64, 16, K_LOAD, T_POP, 1, 1, 1 },
	{ "fence", "the fence alone (seq_cst thread fence), no awake-word load",
	  264, 64, 16, K_FENCE, T_POP, 1, 1, 0 },
	{ "every16", "UNSAFE alone: need_kick on every 16th send only (a flush would end it)",
	  264, 64, 16, K_EVERY16, T_POP, 1, 1, 1 },
	{ "noguard", "v1 guards (peer state/epoch) off on both endpoints",
	  264, 64, 16, K_LIB, T_POP, 0, 1, 0 },
	{ "nkng", "UNSAFE: no kick check and no guards",
	  264, 64, 16, K_NONE, T_POP, 0, 1, 1 },
	{ "rel16", "device: peek, release every 16 (or when empty) instead of pop",
	  264, 64, 16, K_LIB, T_PEEK16, 1, 1, 0 },
	{ "s64", "64-byte slots (x 64)",
	  64, 64, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "s128", "128-byte slots x 64",
	  128, 64, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "s64n256", "64-byte slots x 256",
	  64, 256, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "n1k", "264-byte slots x 1024",
	  264, 1024, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "s256", "256-byte slots x 64 (line-aligned slots)",
	  256, 64, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "s64n1k", "64-byte slots x 1024",
	  64, 1024, 16, K_LIB, T_POP, 1, 1, 0 },
	{ "s64nk", "UNSAFE: 64-byte slots x 64, no kick check",
	  64, 64, 16, K_NONE, T_POP, 1, 1, 1 },
	{ "s64n1knk", "UNSAFE: 64-byte slots x 1024, no kick check",
	  64, 1024, 16, K_NONE, T_POP, 1, 1, 1 },
	{ "ringlike", "UNSAFE: bench_ring b1 alike: 64 B msgs in 64 B x 1024, no guards, no kick",
	  64, 1024, 64, K_NONE, T_POP, 0, 1, 1 },
};
#define NV (sizeof(variants) / sizeof(variants[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	(void)sched_setaffinity(0, sizeof(s), &s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Shared between the two processes of a run. */
struct ctl {
	_Alignas(64) _Atomic int ready;
	_Alignas(64) _Atomic int go;
	_Alignas(64) _Atomic uint64_t errors;
	_Atomic uint64_t kicks_said;
	_Atomic uint64_t full;  /* sends that found the ring full */
	_Atomic uint64_t empty; /* takes that found it empty */
};

/* Median interval of @n timestamps, scaled to ns per message. */
static double median_per_msg(const uint64_t *t, unsigned n, unsigned chunk)
{
	uint64_t d[CHUNKS];

	for (unsigned i = 0; i + 1 < n; i++)
		d[i] = t[i + 1] - t[i];
	qsort(d, n - 1, sizeof(*d), cmp_u64);
	return (double)d[(n - 1) / 2] / chunk;
}

/* ---- the regime: two-line ping-pong between processes ---- */

struct pp {
	_Alignas(64) _Atomic uint32_t a;
	_Alignas(64) _Atomic uint32_t b;
};

static double two_line(unsigned iters)
{
	struct pp *pp = mmap(0, sizeof(*pp), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
	uint64_t t0, t1;
	pid_t child;

	if (pp == MAP_FAILED)
		return 0;
	atomic_store(&pp->a, 0);
	atomic_store(&pp->b, 0);
	child = fork();
	if (child == 0) {
		pin(1);
		for (uint32_t i = 1; i <= iters; i++) {
			while (atomic_load_explicit(&pp->a, memory_order_acquire) != i)
				;
			atomic_store_explicit(&pp->b, i, memory_order_release);
		}
		_exit(0);
	}
	pin(0);
	/* a warm-up tenth, then the timed rest */
	t0 = 0;
	for (uint32_t i = 1; i <= iters; i++) {
		if (i == iters / 10 + 1)
			t0 = now_ns();
		atomic_store_explicit(&pp->a, i, memory_order_release);
		while (atomic_load_explicit(&pp->b, memory_order_acquire) != i)
			;
	}
	t1 = now_ns();
	waitpid(child, 0, 0);
	munmap(pp, sizeof(*pp));
	return (double)(t1 - t0) / (iters - iters / 10);
}

/* ---- one run of a variant ---- */

static void consumer(const struct variant *v, struct vmsg_shm_chan *ch, struct ctl *c, unsigned n)
{
	uint8_t m[256];
	uint64_t errors = 0, empty = 0;
	unsigned held = 0;

	atomic_store(&c->ready, 1);
	while (!atomic_load(&c->go))
		;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t seq;
		int r;

		if (v->take == T_POP) {
			while ((r = vmsg_shm_chan_recv(ch, m, v->msg_len)) == VMSG_EAGAIN)
				empty++;
			if (r != (int)v->msg_len) {
				errors++;
				break;
			}
			memcpy(&seq, m, sizeof(seq));
		} else {
			const void *slot;

			while ((r = vmsg_spsc_peek(&ch->rx, &slot)) == VMSG_EAGAIN) {
				empty++;
				if (held) { /* empty: give back what we hold */
					(void)vmsg_spsc_release(&ch->rx);
					held = 0;
				}
			}
			if (r) {
				errors++;
				break;
			}
			vmsg_spsc_slot_read(&ch->rx.d, slot, m, v->msg_len);
			memcpy(&seq, m, sizeof(seq));
			if (++held == 16) {
				(void)vmsg_spsc_release(&ch->rx);
				held = 0;
			}
		}
		errors += seq != i;
	}
	if (held)
		(void)vmsg_spsc_release(&ch->rx);
	atomic_store(&c->errors, errors);
	atomic_store(&c->empty, empty);
}

/* The sender; returns the median ns per message. */
static double producer(const struct variant *v, struct vmsg_shm_chan *ch, struct ctl *c,
		       unsigned n)
{
	static uint64_t t[CHUNKS + 1];
	unsigned chunk = n / CHUNKS, left = chunk, nt = 0;
	const volatile uint32_t *awake = (const volatile uint32_t *)ch->tx.d.awake;
	uint8_t m[256] = { 0 };
	uint64_t said = 0, full = 0;
	uint32_t sink = 0;

	while (!atomic_load(&c->ready))
		;
	atomic_store(&c->go, 1);
	t[nt++] = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		memcpy(m, &i, sizeof(i));
		while (vmsg_shm_chan_send(ch, m, v->msg_len) == VMSG_EAGAIN)
			full++;
		switch (v->kick) {
		case K_LIB:
			said += vmsg_shm_chan_need_kick(ch);
			break;
		case K_FENCE:
			atomic_thread_fence(memory_order_seq_cst);
			break;
		case K_LOAD:
			sink += *awake;
			break;
		case K_EVERY16:
			if ((i & 15u) == 15u)
				said += vmsg_shm_chan_need_kick(ch);
			break;
		default:
			break;
		}
		if (v->tick && --left == 0) {
			left = chunk;
			if (nt <= CHUNKS)
				t[nt++] = now_ns();
		}
	}
	(void)sink;
	atomic_store(&c->kicks_said, said);
	atomic_store(&c->full, full);
	return median_per_msg(t, nt, chunk);
}

/* Whether @name is one of the comma-separated names in @list. */
static int named(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : 0)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

static int single; /* -1: no fork, one process sends and takes in turn */

static double run(const struct variant *v, unsigned n, uint64_t *errors, double *full,
		  double *empty)
{
	struct vmsg_shm_v1_params prm = { .num_elems = v->num_elems, .elem_size = v->slot_size,
					  .extended = true };
	struct vmsg_shm_cfg cd = { 0 }, cv;
	static struct vmsg_shm_chan drv, dev;
	struct ctl *c = mmap(0, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
	uint64_t size;
	void *base;
	double r;
	pid_t child;
	int st;

	if (c == MAP_FAILED || vmsg_shm_v1_size(&prm, &size))
		return -1;
	base = mmap(0, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	cd.side = VMSG_SHM_DRIVER;
	cd.mem = VMSG_SPSC_MEM_COHERENT;
	cd.peer_id = 1;
	cd.owner = true;
	cd.v1 = prm;
	cv = cd;
	cv.side = VMSG_SHM_DEVICE;
	cv.peer_id = 2;
	cv.owner = false;
	if (vmsg_shm_chan_open_v1(&drv, base, (size_t)size, &cd) ||
	    vmsg_shm_chan_open_v1(&dev, base, (size_t)size, &cv))
		return -1;
	for (int i = 0; i < 100 && (vmsg_shm_chan_state(&drv) != VMSG_SHM_RUN ||
				    vmsg_shm_chan_state(&dev) != VMSG_SHM_RUN); i++)
		if (vmsg_shm_chan_poll(&drv) < 0 || vmsg_shm_chan_poll(&dev) < 0)
			return -1;
	if (vmsg_shm_chan_state(&drv) != VMSG_SHM_RUN)
		return -1;
	if (!v->guards) {
		vmsg_spsc_prod_set_guard(&drv.tx, 0, 0);
		vmsg_spsc_cons_set_guard(&dev.rx, 0, 0);
	}
	vmsg_shm_chan_awake(&dev); /* the device polls: the producer's kick check says so */
	if (single) {
		/* Send 32, take 32: the same calls, in one thread. */
		struct variant one = *v;
		uint8_t m[256] = { 0 };

		for (uint32_t i = 0; i < n; i += 32)
			for (int side = 0; side < 2; side++)
				for (uint32_t j = i; j < i + 32 && j < n; j++) {
					memcpy(m, &j, sizeof(j));
					if (side == 0 && vmsg_shm_chan_send(&drv, m, one.msg_len))
						return -1;
					if (side == 0 && one.kick == K_LIB)
						(void)vmsg_shm_chan_need_kick(&drv);
					if (side == 1 && vmsg_shm_chan_recv(&dev, m, one.msg_len) !=
								 (int)one.msg_len)
						return -1;
				}
		*errors = 0;
		*full = *empty = 0;
		return 1;
	}
	child = fork();
	if (child == 0) {
		pin(1);
		consumer(v, &dev, c, n);
		_exit(0);
	}
	pin(0);
	r = producer(v, &drv, c, n);
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		r = -1;
	*errors = atomic_load(&c->errors);
	*full = (double)atomic_load(&c->full) / n;
	*empty = (double)atomic_load(&c->empty) / n;
	munmap(base, (size_t)size);
	munmap(c, sizeof(*c));
	return r;
}

int main(int argc, char **argv)
{
	static double ns[NV][MAXR], ratio[NV][MAXR], floor_ns[MAXR], fulls[NV][MAXR],
		empties[NV][MAXR];
	unsigned n = 200000, rounds = 7;
	const char *only = 0;
	int opt;

	while ((opt = getopt(argc, argv, "1n:r:k:")) != -1) {
		if (opt == '1')
			single = 1;
		else if (opt == 'n')
			n = (unsigned)atoi(optarg);
		else if (opt == 'r')
			rounds = (unsigned)atoi(optarg);
		else if (opt == 'k')
			only = optarg;
		else
			return 1;
	}
	if (single) {
		for (unsigned i = 0; i < NV; i++) {
			uint64_t err;
			double f, e;

			if ((!only || named(only, variants[i].name)) &&
			    run(&variants[i], n, &err, &f, &e) < 0)
				return 2;
		}
		return 0;
	}
	if (rounds < 1 || rounds > MAXR || n < CHUNKS * 4) {
		fprintf(stderr, "chan_stream: -r 1..%d, -n >= %d\n", MAXR, CHUNKS * 4);
		return 1;
	}
	for (unsigned r = 0; r < rounds; r++) {
		floor_ns[r] = two_line(100000);
		for (unsigned i = 0; i < NV; i++) {
			uint64_t err = 0;

			/* the baseline always runs: the ratios need it */
			if (only && i && !named(only, variants[i].name)) {
				ns[i][r] = 0;
				continue;
			}
			ns[i][r] = run(&variants[i], n, &err, &fulls[i][r], &empties[i][r]);
			if (ns[i][r] < 0 || err) {
				fprintf(stderr, "chan_stream: %s failed (%llu errors)\n",
					variants[i].name, (unsigned long long)err);
				return 2;
			}
		}
		for (unsigned i = 0; i < NV; i++)
			ratio[i][r] = ns[i][r] / ns[0][r];
	}
	printf("chan_stream [experiment; %s]: %u msgs per run, %u rounds; two-line ping-pong "
	       "per round:", CHAN_STREAM_BUILD, n, rounds);
	for (unsigned r = 0; r < rounds; r++)
		printf(" %.0f", floor_ns[r]);
	qsort(floor_ns, rounds, sizeof(double), cmp_d);
	printf(" ns (median %.0f: %s)\n", floor_ns[rounds / 2],
	       floor_ns[rounds / 2] < 100 ? "SMT-like" : floor_ns[rounds / 2] < 300 ? "close" : "far");
	printf("  %-9s %8s %18s %6s %6s  %s\n", "variant", "ns/msg", "x bus (lo-hi)", "full",
	       "empty", "what");
	for (unsigned i = 0; i < NV; i++) {
		double a[MAXR], b[MAXR], f[MAXR], e[MAXR];

		if (ns[i][0] == 0)
			continue;
		memcpy(a, ns[i], rounds * sizeof(double));
		memcpy(b, ratio[i], rounds * sizeof(double));
		qsort(a, rounds, sizeof(double), cmp_d);
		memcpy(f, fulls[i], rounds * sizeof(double));
		memcpy(e, empties[i], rounds * sizeof(double));
		qsort(b, rounds, sizeof(double), cmp_d);
		qsort(f, rounds, sizeof(double), cmp_d);
		qsort(e, rounds, sizeof(double), cmp_d);
		printf("  %-9s %8.1f %6.2fx (%.2f-%.2f) %6.2f %6.2f  %s\n", variants[i].name,
		       a[rounds / 2], b[rounds / 2], b[0], b[rounds - 1], f[rounds / 2],
		       e[rounds / 2], variants[i].what);
	}
	if (getenv("CHAN_STREAM_VERBOSE"))
		for (unsigned r = 0; r < rounds; r++) {
			printf("  round %u:", r);
			for (unsigned i = 0; i < NV; i++)
				printf(" %.0f", ns[i][r]);
			printf("\n");
		}
	return 0;
}
