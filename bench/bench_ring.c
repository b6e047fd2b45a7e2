/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_ring: throughput, round-trip latency and kick rate of the library's
 * SPSC ring, against baselines measured in the same run (see README.md).
 *
 *   bench_ring [-r reps] [-t ms_per_run] [-q] [-v]
 *
 * Every figure is measured -r times (default 7) after two warm-up runs (the
 * first sizes the runs to about -t ms, default 50) and reported as median,
 * min and max over the runs. Within a run the side that sees items complete
 * takes a timestamp every 1/256 of the run, and the run's figure comes from
 * the median interval: on a shared 2-core machine a preemption stalls the
 * partner for milliseconds and would otherwise dominate the run (the
 * whole-run figure is printed too, with how many runs saw a preemption).
 *
 * The runs are interleaved in rounds (round 1 measures every figure once,
 * then round 2, ...), with each figure next to its baseline, so that a ratio
 * can be taken per round (paired) and the median of those is what the
 * targets are judged on. Targets print PASS or MISS and never change the exit
 * status: 0, or 2 if a message arrived corrupted or out of order (a bug, not
 * a miss), 1 on a setup error. -q: 3 runs of 30 ms; -v: every run's figure.
 */
#define _POSIX_C_SOURCE 200809L
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_setaffinity_np, memfd_create */
#endif

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include "textbook.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/spsc.h"

#ifndef VMSG_BENCH_VARIANT
#define VMSG_BENCH_VARIANT "src/spsc/ring.c"
#endif

#define SLOTS 1024u /* slots per ring (the library keeps one empty) */
#define MSG 64u     /* message and slot size */
#define BATCH 32u
#define MAXREP 31
#define CHUNKS 256   /* timestamps per run (see struct marker) */
#define MAXMARK 1024

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */
/* ---------------------------------------------------------------------- */

static int g_reps = 7;
static double g_run_ms = 50.0;
static int g_cpu[2] = { 0, 1 };
static int g_pinned = 1;
static int g_verbose;

_Noreturn static void die(const char *what, int err)
{
	fprintf(stderr, "bench_ring: %s failed (%d)\n", what, err);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Used by the throughput loops when the ring is full or empty (never by the
 * ping-pong loops, which spin on plain loads so no pause adds latency). */
static inline void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__GNUC__) && defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

static void pin_self(int cpu)
{
#if defined(__linux__)
	cpu_set_t set;

	if (!g_pinned)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		g_pinned = 0;
#else
	(void)cpu;
	g_pinned = 0;
#endif
}

/* Pick CPUs 0 and 1, or the first two we may run on. */
static void choose_cpus(void)
{
#if defined(__linux__)
	cpu_set_t set;
	int k = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		g_pinned = 0;
		return;
	}
	for (int i = 0; i < CPU_SETSIZE && k < 2; i++)
		if (CPU_ISSET(i, &set))
			g_cpu[k++] = i;
	if (k < 2)
		g_pinned = 0;
#else
	g_pinned = 0;
#endif
}

/* Shared memory: a memfd mapping (as another process or VM would share it). */
static void *shm_alloc(size_t size)
{
	void *p = MAP_FAILED;

	size = (size + 4095u) & ~(size_t)4095u;
#if defined(__linux__)
	int fd = memfd_create("vmsg-bench", MFD_CLOEXEC);

	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) == 0)
			p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	}
#endif
	if (p == MAP_FAILED)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);
	memset(p, 0, size); /* fault every page in now */
	return p;
}

static void *priv_alloc(size_t size)
{
	void *p = aligned_alloc(64, (size + 63u) & ~(size_t)63u);

	if (!p)
		die("aligned_alloc", ENOMEM);
	memset(p, 0, size);
	return p;
}

static inline void stamp(unsigned char *m, uint64_t seq)
{
	memcpy(m, &seq, sizeof(seq));
}

static inline uint64_t seq_of(const unsigned char *m)
{
	uint64_t v;

	memcpy(&v, m, sizeof(v));
	return v;
}

/* ---------------------------------------------------------------------- */
/* Starting two sides together (threads or processes)                     */
/* ---------------------------------------------------------------------- */

/* In shared memory so a forked consumer can report back. */
struct sync {
	_Alignas(64) _Atomic uint32_t ready;
	_Alignas(64) _Atomic uint32_t go;
	_Alignas(64) _Atomic uint64_t t0, t1;
	_Atomic uint64_t errors;
	_Atomic uint64_t aux[3];
	_Atomic uint64_t preempted; /* involuntary context switches of both sides */
	_Atomic uint64_t nmarks;
	uint64_t marks[MAXMARK]; /* written by one side, read after the run */
};

/*
 * Timestamps every `chunk` items, taken by the side that sees the items
 * complete (the consumer, or the ping-pong initiator). A run's figure is
 * computed from the MEDIAN interval between consecutive marks, so a
 * preemption of a few milliseconds (2 cores, shared machine) spoils a few of
 * the ~CHUNKS intervals instead of the whole run.
 */
struct marker {
	uint64_t next, chunk;
	uint64_t *out;
	uint32_t k;
};

static void mark_init(struct marker *m, struct sync *s, uint64_t chunk)
{
	m->chunk = chunk;
	m->next = chunk;
	m->out = s->marks;
	m->k = 0;
}

/* `done` items are complete. */
static inline void mark(struct marker *m, uint64_t done)
{
	if (done >= m->next) {
		if (m->k < MAXMARK)
			m->out[m->k++] = now_ns();
		m->next += m->chunk;
	}
}

static void mark_end(struct marker *m, struct sync *s)
{
	atomic_store(&s->nmarks, m->k);
}

/* Involuntary context switches of the calling thread so far: a run during
 * which either side was preempted measured the scheduler, not the ring. */
static uint64_t preemptions(void)
{
	struct rusage ru;

#if defined(RUSAGE_THREAD)
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
#else
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
#endif
	return (uint64_t)ru.ru_nivcsw;
}

/* This thread's count when its timed part began (set by the sync calls). */
static _Thread_local uint64_t t_preempt_start;

/* Side B: say ready, wait for go. */
static void sync_b_start(struct sync *s)
{
	atomic_store(&s->ready, 1);
	while (!atomic_load_explicit(&s->go, memory_order_acquire))
		cpu_relax();
	t_preempt_start = preemptions();
}

/* Side A: wait for B, take the start time, release B. */
static void sync_a_start(struct sync *s)
{
	while (!atomic_load_explicit(&s->ready, memory_order_acquire))
		cpu_relax();
	t_preempt_start = preemptions();
	atomic_store(&s->t0, now_ns());
	atomic_store_explicit(&s->go, 1, memory_order_release);
}

typedef void (*role_fn)(void *ctx, struct sync *s);

/* Run one side; count its preemptions from the start of its timed part
 * (thread start-up and pinning are not counted). */
static void run_role(role_fn fn, void *ctx, struct sync *s)
{
	t_preempt_start = preemptions();
	fn(ctx, s);
	atomic_fetch_add(&s->preempted, preemptions() - t_preempt_start);
}

struct role {
	role_fn fn;
	void *ctx;
	struct sync *s;
	int cpu;
};

static void *role_thread(void *arg)
{
	struct role *r = arg;

	pin_self(r->cpu);
	run_role(r->fn, r->ctx, r->s);
	return NULL;
}

/* Run side A on CPU g_cpu[0] and side B on g_cpu[1], as two threads or (procs)
 * as this process and a forked child; return when both are done. */
static void run_pair(int procs, role_fn a, role_fn b, void *ctx, struct sync *s)
{
	atomic_store(&s->ready, 0);
	atomic_store(&s->go, 0);
	atomic_store(&s->errors, 0);
	atomic_store(&s->preempted, 0);
	atomic_store(&s->nmarks, 0);
	for (int i = 0; i < 3; i++)
		atomic_store(&s->aux[i], 0);
	if (!procs) {
		struct role ra = { a, ctx, s, g_cpu[0] }, rb = { b, ctx, s, g_cpu[1] };
		pthread_t ta, tb;

		if (pthread_create(&tb, NULL, role_thread, &rb) ||
		    pthread_create(&ta, NULL, role_thread, &ra))
			die("pthread_create", errno);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		return;
	}
#if defined(__linux__)
	cpu_set_t saved;
	int have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;
#endif
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		pin_self(g_cpu[1]);
		run_role(b, ctx, s);
		_exit(0);
	}
	pin_self(g_cpu[0]);
	run_role(a, ctx, s);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child", st);
#if defined(__linux__)
	if (have_saved)
		sched_setaffinity(0, sizeof(saved), &saved);
#endif
}

/* ---------------------------------------------------------------------- */
/* The rings under test                                                   */
/* ---------------------------------------------------------------------- */

/* A library ring in coherent memory with 32-bit host-order indices: each
 * index alone on a line; the awake word in the consumer's line and the
 * kicked word in the producer's (as SPSC-v0 puts them) or, for one
 * informational figure, the awake word on its own line (as the vmamp v1
 * extension puts it, in the extension line). */
struct lib_ring_mem {
	_Alignas(64) uint32_t prod;
	uint32_t kicked;
	_Alignas(64) uint32_t cons;
	uint32_t awake;
	_Alignas(64) uint32_t awake_alone;
	_Alignas(64) unsigned char slots[SLOTS * MSG];
};

/* Private endpoints, each starting on its own line. */
struct lib_eps {
	_Alignas(64) struct vmsg_spsc_prod p;
	_Alignas(64) struct vmsg_spsc_cons c;
};

/* Figure options (struct fig.opt). */
#define OPT_AWAKE_ALONE 0x1 /* the awake word alone on its line */
#define OPT_STREAM 0x2      /* VMSG_SPSC_F_STREAM */

static void lib_setup(struct lib_ring_mem *m, struct lib_eps *e, int opt)
{
	struct vmsg_spsc_desc d = { 0 };
	int err;

	d.slots = m->slots;
	d.num_slots = SLOTS;
	d.slot_size = MSG;
	d.prod = (struct vmsg_spsc_index){ &m->prod, 32 };
	d.cons = (struct vmsg_spsc_index){ &m->cons, 32 };
	d.awake = (opt & OPT_AWAKE_ALONE) ? &m->awake_alone : &m->awake;
	d.flags = (opt & OPT_STREAM) ? VMSG_SPSC_F_STREAM : 0;
	d.kicked = &m->kicked;
	d.mem = VMSG_SPSC_MEM_COHERENT;
	err = vmsg_spsc_prod_init(&e->p, &d, VMSG_SPSC_INIT_RESET);
	if (!err)
		err = vmsg_spsc_cons_init(&e->c, &d, VMSG_SPSC_INIT_RESET);
	if (err)
		die("vmsg_spsc_*_init", err);
}

/* A vmamp v1 channel (extended), both sides on one buffer. */
struct chan_pair {
	_Alignas(64) struct vmsg_shm_chan drv;
	_Alignas(64) struct vmsg_shm_chan dev;
};

static void chan_setup(struct chan_pair *cp)
{
	struct vmsg_shm_v1_params prm = { .num_elems = SLOTS, .elem_size = MSG, .extended = true };
	struct vmsg_shm_cfg cd = { 0 }, cv = { 0 };
	uint64_t size;
	void *base;
	int err;

	err = vmsg_shm_v1_size(&prm, &size);
	if (err)
		die("vmsg_shm_v1_size", err);
	base = shm_alloc((size_t)size);
	cd.side = VMSG_SHM_DRIVER;
	cd.mem = VMSG_SPSC_MEM_COHERENT;
	cd.peer_id = 1;
	cd.owner = true;
	cd.v1 = prm;
	cv = cd;
	cv.side = VMSG_SHM_DEVICE;
	cv.peer_id = 2;
	cv.owner = false;
	err = vmsg_shm_chan_open_v1(&cp->drv, base, (size_t)size, &cd);
	if (!err)
		err = vmsg_shm_chan_open_v1(&cp->dev, base, (size_t)size, &cv);
	if (err)
		die("vmsg_shm_chan_open_v1", err);
	for (int i = 0; i < 100; i++) {
		if (vmsg_shm_chan_poll(&cp->drv) < 0 || vmsg_shm_chan_poll(&cp->dev) < 0)
			die("vmsg_shm_chan_poll", -1);
		if (vmsg_shm_chan_state(&cp->drv) == VMSG_SHM_RUN &&
		    vmsg_shm_chan_state(&cp->dev) == VMSG_SHM_RUN)
			return;
	}
	die("v1 channel bring-up", -1);
}

/* ---------------------------------------------------------------------- */
/* Streaming (throughput) roles                                           */
/* ---------------------------------------------------------------------- */

/*
 * K_TB is baseline (c) as issue 3 names it, a *minimal* textbook ring: it has
 * push and pop and nothing else, so a batch of 32 is 32 pushes and up to 32
 * pops, each publishing its index. K_TBB and K_TBI are the same ring given
 * batch calls that publish once per batch (textbook.h), out of line and
 * inlined: a stronger baseline than the issue asks for, kept as [info]
 * (bench/README.md, "What baseline (c) is").
 */
enum kind { K_LIB, K_TB, K_TBB, K_TBI, K_CHAN, K_ZC };

struct tp_ctx {
	int kind;
	unsigned batch;
	uint64_t n;
	struct vmsg_spsc_prod *lp;
	struct vmsg_spsc_cons *lc;
	struct tb_prod *tp;
	struct tb_cons *tc;
	struct vmsg_shm_chan *cd, *cv;
	int efd;        /* kick test: the consumer's eventfd */
	uint64_t chunk; /* items between timestamps */
};

/* Push one message, spinning while the ring is full; returns how many
 * attempts found it full. */
static uint64_t push1(struct tp_ctx *x, const unsigned char *msg)
{
	uint64_t full = 0;
	int r;

	switch (x->kind) {
	case K_LIB:
		while ((r = vmsg_spsc_push(x->lp, msg, MSG)) != 0) {
			if (r != VMSG_EAGAIN)
				die("vmsg_spsc_push", r);
			full++;
			cpu_relax();
		}
		break;
	case K_CHAN:
		while ((r = vmsg_shm_chan_send(x->cd, msg, MSG)) != 0) {
			if (r != VMSG_EAGAIN)
				die("vmsg_shm_chan_send", r);
			full++;
			cpu_relax();
		}
		break;
	case K_TB:
		while (!tb_push(x->tp, msg)) {
			full++;
			cpu_relax();
		}
		break;
	default:
		while (!tb_push_inl(x->tp, msg)) {
			full++;
			cpu_relax();
		}
		break;
	}
	return full;
}

/* Push up to k (<= BATCH) messages as one batch; returns how many went. */
static unsigned pushb(struct tp_ctx *x, const void *const *msgs, const size_t *lens, unsigned k)
{
	int r;

	switch (x->kind) {
	case K_LIB:
	case K_CHAN: {
		struct vmsg_spsc_prod *p = x->kind == K_LIB ? x->lp : &x->cd->tx;

		r = vmsg_spsc_push_batch(p, msgs, lens, k);
		if (r < 0 && r != VMSG_EAGAIN)
			die("vmsg_spsc_push_batch", r);
		return r < 0 ? 0 : (unsigned)r;
	}
	case K_ZC: {
		/* Zero-copy: build each message in its slot, publish once. */
		unsigned got = 0;
		void *slot;

		while (got < k && (r = vmsg_spsc_reserve(x->lp, &slot)) == 0) {
			memcpy(slot, msgs[got], MSG);
			got++;
		}
		if (got == 0 && r != VMSG_EAGAIN)
			die("vmsg_spsc_reserve", r);
		(void)vmsg_spsc_commit(x->lp);
		return got;
	}
	case K_TB: {
		/* A minimal ring has no batch call: one push per message. */
		unsigned got = 0;

		while (got < k && tb_push(x->tp, msgs[got]))
			got++;
		return got;
	}
	case K_TBB:
		return tb_push_batch(x->tp, msgs, k);
	default:
		return tb_push_batch_inl(x->tp, msgs, k);
	}
}

/* Pop one message into buf; 0 when empty. */
static int pop1(struct tp_ctx *x, unsigned char *buf)
{
	int r;

	switch (x->kind) {
	case K_LIB:
		r = vmsg_spsc_pop(x->lc, buf, MSG);
		break;
	case K_CHAN:
		r = vmsg_shm_chan_recv(x->cv, buf, MSG);
		break;
	case K_TB:
		return tb_pop(x->tc, buf);
	default:
		return tb_pop_inl(x->tc, buf);
	}
	if (r == VMSG_EAGAIN)
		return 0;
	if (r != (int)MSG)
		die("vmsg_spsc_pop", r);
	return 1;
}

static unsigned popb(struct tp_ctx *x, void *const *bufs, unsigned k)
{
	int r;

	switch (x->kind) {
	case K_LIB:
	case K_CHAN:
		r = vmsg_spsc_pop_batch(x->kind == K_LIB ? x->lc : &x->cv->rx, bufs, MSG, k);
		if (r < 0)
			die("vmsg_spsc_pop_batch", r);
		return (unsigned)r;
	case K_ZC: {
		/* Zero-copy: read each message in its slot (only its sequence
		 * number is looked at, as with the copies), release once. */
		unsigned got = 0;
		const void *slot;

		while (got < k && (r = vmsg_spsc_peek(x->lc, &slot)) == 0)
			memcpy(bufs[got++], slot, sizeof(uint64_t));
		if (got == 0 && r != VMSG_EAGAIN)
			die("vmsg_spsc_peek", r);
		(void)vmsg_spsc_release(x->lc);
		return got;
	}
	case K_TB: {
		/* One pop per message, as pushb(). */
		unsigned got = 0;

		while (got < k && tb_pop(x->tc, bufs[got]))
			got++;
		return got;
	}
	case K_TBB:
		return tb_pop_batch(x->tc, bufs, k);
	default:
		return tb_pop_batch_inl(x->tc, bufs, k);
	}
}

static void tp_producer(void *ctx, struct sync *s)
{
	struct tp_ctx *x = ctx;
	_Alignas(64) unsigned char msgs[BATCH][MSG];
	const void *ptrs[BATCH];
	size_t lens[BATCH];

	for (unsigned j = 0; j < BATCH; j++) {
		memset(msgs[j], 0xA5, MSG);
		ptrs[j] = msgs[j];
		lens[j] = MSG;
	}
	uint64_t full = 0;

	sync_a_start(s);
	if (x->batch == 1) {
		for (uint64_t i = 0; i < x->n; i++) {
			stamp(msgs[0], i);
			full += push1(x, msgs[0]);
		}
	} else {
		for (uint64_t i = 0; i < x->n;) {
			unsigned k = x->n - i < BATCH ? (unsigned)(x->n - i) : BATCH;

			for (unsigned j = 0; j < k; j++)
				stamp(msgs[j], i + j);
			for (unsigned done = 0; done < k;) {
				unsigned got = pushb(x, ptrs + done, lens + done, k - done);

				if (!got) {
					full++;
					cpu_relax();
				}
				done += got;
			}
			i += k;
		}
	}
	atomic_store(&s->aux[2], full);
}

static void tp_consumer(void *ctx, struct sync *s)
{
	struct tp_ctx *x = ctx;
	_Alignas(64) unsigned char bufs[BATCH][MSG];
	void *ptrs[BATCH];
	uint64_t errors = 0, empty = 0;
	struct marker m;

	for (unsigned j = 0; j < BATCH; j++)
		ptrs[j] = bufs[j];
	mark_init(&m, s, x->chunk);
	sync_b_start(s);
	if (x->batch == 1) {
		for (uint64_t i = 0; i < x->n; i++) {
			while (!pop1(x, bufs[0])) {
				empty++;
				cpu_relax();
			}
			errors += seq_of(bufs[0]) != i;
			mark(&m, i + 1);
		}
	} else {
		for (uint64_t i = 0; i < x->n;) {
			unsigned k = x->n - i < BATCH ? (unsigned)(x->n - i) : BATCH;
			unsigned got = popb(x, ptrs, k);

			if (!got) {
				empty++;
				cpu_relax();
			}
			for (unsigned j = 0; j < got; j++)
				errors += seq_of(bufs[j]) != i + j;
			i += got;
			mark(&m, i);
		}
	}
	atomic_store(&s->t1, now_ns());
	atomic_store(&s->errors, errors);
	atomic_store(&s->aux[1], empty);
	mark_end(&m, s);
}

/* ---------------------------------------------------------------------- */
/* Kick suppression: the consumer sleeps on an eventfd when the ring is    */
/* empty; the producer kicks only when vmsg_spsc_prod_need_kick() says so. */
/* ---------------------------------------------------------------------- */

static void kick(int efd)
{
#if defined(__linux__)
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		die("eventfd write", errno);
#else
	(void)efd;
#endif
}

static void kick_producer(void *ctx, struct sync *s)
{
	struct tp_ctx *x = ctx;
	_Alignas(64) unsigned char msgs[BATCH][MSG];
	const void *ptrs[BATCH];
	size_t lens[BATCH];
	uint64_t kicks = 0;

	for (unsigned j = 0; j < BATCH; j++) {
		memset(msgs[j], 0xA5, MSG);
		ptrs[j] = msgs[j];
		lens[j] = MSG;
	}
	sync_a_start(s);
	for (uint64_t i = 0; i < x->n;) {
		unsigned k = x->n - i < x->batch ? (unsigned)(x->n - i) : x->batch;
		unsigned got;

		for (unsigned j = 0; j < k; j++)
			stamp(msgs[j], i + j);
		if (x->batch == 1) {
			int r = vmsg_spsc_push(x->lp, msgs[0], MSG);

			if (r && r != VMSG_EAGAIN)
				die("vmsg_spsc_push", r);
			got = r == 0;
		} else {
			got = pushb(x, ptrs, lens, k);
		}
		if (!got) {
			cpu_relax(); /* full: the consumer is awake (it has work) */
			continue;
		}
		if (vmsg_spsc_prod_need_kick(x->lp)) {
			kick(x->efd);
			kicks++;
		}
		i += got;
	}
	atomic_store(&s->aux[0], kicks);
}

static void kick_consumer(void *ctx, struct sync *s)
{
	struct tp_ctx *x = ctx;
	_Alignas(64) unsigned char bufs[BATCH][MSG];
	void *ptrs[BATCH];
	uint64_t errors = 0, sleeps = 0, timeouts = 0;

	for (unsigned j = 0; j < BATCH; j++)
		ptrs[j] = bufs[j];
	vmsg_spsc_cons_awake(x->lc); /* polling from the start */
	sync_b_start(s);
	for (uint64_t i = 0; i < x->n;) {
		unsigned k = x->n - i < x->batch ? (unsigned)(x->n - i) : x->batch;
		unsigned got = x->batch == 1 ? (unsigned)pop1(x, bufs[0]) : popb(x, ptrs, k);
		int r;

		if (got) {
			for (unsigned j = 0; j < got; j++)
				errors += seq_of(bufs[j]) != i + j;
			i += got;
			continue;
		}
		r = vmsg_spsc_cons_arm(x->lc);
		if (r < 0)
			die("vmsg_spsc_cons_arm", r);
		if (r == 1)
			continue;
		sleeps++;
#if defined(__linux__)
		{
			struct pollfd pfd = { .fd = x->efd, .events = POLLIN };
			uint64_t v;

			/* A 2 s timeout only to report a lost wake-up, never hang. */
			if (poll(&pfd, 1, 2000) == 0)
				timeouts++;
			if (read(x->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				die("eventfd read", errno);
		}
#endif
		vmsg_spsc_cons_awake(x->lc);
	}
	atomic_store(&s->t1, now_ns());
	atomic_store(&s->errors, errors);
	atomic_store(&s->aux[1], sleeps);
	atomic_store(&s->aux[2], timeouts);
}

/* ---------------------------------------------------------------------- */
/* Ping-pong roles                                                        */
/* ---------------------------------------------------------------------- */

/* Floor (a): one shared line; each side waits for the other's value. */
struct floor1_mem {
	_Alignas(64) _Atomic uint64_t line;
};

/* Floor (b): per direction one 64-byte slot and one index line. */
struct floor2_dir {
	_Alignas(64) unsigned char slot[MSG];
	_Alignas(64) _Atomic uint32_t idx;
};

struct floor2_mem {
	struct floor2_dir ab, ba;
};

enum pp_kind { PP_FLOOR1, PP_FLOOR2, PP_LIB, PP_TB };

struct pp_ctx {
	int kind;
	uint64_t n;
	uint64_t chunk;
	struct floor1_mem *f1;
	struct floor2_mem *f2;
	struct lib_eps *lab, *lba;   /* A->B and B->A library rings */
	struct tb_prod *tpab, *tpba; /* textbook rings */
	struct tb_cons *tcab, *tcba;
};

static void pp_a(void *ctx, struct sync *s)
{
	struct pp_ctx *x = ctx;
	_Alignas(64) unsigned char msg[MSG], buf[MSG];
	uint64_t errors = 0;
	struct marker m;

	memset(msg, 0x5A, MSG);
	mark_init(&m, s, x->chunk);
	sync_a_start(s);
	switch (x->kind) {
	case PP_FLOOR1:
		for (uint64_t i = 0; i < x->n; i++) {
			atomic_store_explicit(&x->f1->line, 2 * i + 1, memory_order_release);
			while (atomic_load_explicit(&x->f1->line, memory_order_acquire) != 2 * i + 2)
				;
			mark(&m, i + 1);
		}
		break;
	case PP_FLOOR2:
		for (uint64_t i = 0; i < x->n; i++) {
			stamp(msg, i);
			memcpy(x->f2->ab.slot, msg, MSG);
			atomic_store_explicit(&x->f2->ab.idx, (uint32_t)i + 1, memory_order_release);
			while (atomic_load_explicit(&x->f2->ba.idx, memory_order_acquire) !=
			       (uint32_t)i + 1)
				;
			memcpy(buf, x->f2->ba.slot, MSG);
			errors += seq_of(buf) != i;
			mark(&m, i + 1);
		}
		break;
	case PP_LIB:
		for (uint64_t i = 0; i < x->n; i++) {
			int r;

			stamp(msg, i);
			r = vmsg_spsc_push(&x->lab->p, msg, MSG);
			if (r)
				die("vmsg_spsc_push", r);
			while ((r = vmsg_spsc_pop(&x->lba->c, buf, MSG)) == VMSG_EAGAIN)
				;
			if (r != (int)MSG)
				die("vmsg_spsc_pop", r);
			errors += seq_of(buf) != i;
			mark(&m, i + 1);
		}
		break;
	default:
		for (uint64_t i = 0; i < x->n; i++) {
			stamp(msg, i);
			if (!tb_push(x->tpab, msg))
				die("tb_push", -1);
			while (!tb_pop(x->tcba, buf))
				;
			errors += seq_of(buf) != i;
			mark(&m, i + 1);
		}
		break;
	}
	atomic_store(&s->t1, now_ns());
	atomic_store(&s->errors, errors);
	mark_end(&m, s);
}

static void pp_b(void *ctx, struct sync *s)
{
	struct pp_ctx *x = ctx;
	_Alignas(64) unsigned char buf[MSG];

	sync_b_start(s);
	switch (x->kind) {
	case PP_FLOOR1:
		for (uint64_t i = 0; i < x->n; i++) {
			while (atomic_load_explicit(&x->f1->line, memory_order_acquire) != 2 * i + 1)
				;
			atomic_store_explicit(&x->f1->line, 2 * i + 2, memory_order_release);
		}
		break;
	case PP_FLOOR2:
		for (uint64_t i = 0; i < x->n; i++) {
			while (atomic_load_explicit(&x->f2->ab.idx, memory_order_acquire) !=
			       (uint32_t)i + 1)
				;
			memcpy(buf, x->f2->ab.slot, MSG);
			memcpy(x->f2->ba.slot, buf, MSG);
			atomic_store_explicit(&x->f2->ba.idx, (uint32_t)i + 1, memory_order_release);
		}
		break;
	case PP_LIB:
		for (uint64_t i = 0; i < x->n; i++) {
			int r;

			while ((r = vmsg_spsc_pop(&x->lab->c, buf, MSG)) == VMSG_EAGAIN)
				;
			if (r != (int)MSG)
				die("vmsg_spsc_pop", r);
			r = vmsg_spsc_push(&x->lba->p, buf, MSG);
			if (r)
				die("vmsg_spsc_push", r);
		}
		break;
	default:
		for (uint64_t i = 0; i < x->n; i++) {
			while (!tb_pop(x->tcab, buf))
				;
			if (!tb_push(x->tpba, buf))
				die("tb_push", -1);
		}
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* The figures                                                            */
/* ---------------------------------------------------------------------- */

enum unit { U_MPS, U_NS, U_KPM };
static const char *const unit_name[] = { "Mmsg/s", "ns/RT", "kicks/msg" };

enum fam { F_TP, F_PP, F_KICK };

struct fig {
	const char *key;
	const char *label;
	int fam, kind, batch, procs, opt;
	int unit;
	uint64_t n;          /* items per run, rescaled after the warm-up */
	double v[MAXREP];    /* the figure, per round (from the median interval) */
	double gross[MAXREP]; /* the same from the whole run's duration */
	double rate[MAXREP]; /* kick figures: Mmsg/s while kicking */
	double slp[MAXREP];  /* kick figures: sleeps per message; else empty polls/msg */
	double full[MAXREP]; /* throughput figures: full polls per message */
	uint64_t errors;
	uint64_t timeouts;
	int preempted; /* runs during which a side was preempted */
};

/* Shared state of every figure (allocated once). */
static struct {
	struct sync *s;
	struct lib_ring_mem *lr[2];
	struct lib_eps *le[2];
	struct tb_ring *tr[2];
	struct tb_prod *tp[2];
	struct tb_cons *tc[2];
	struct chan_pair *cp;
	struct floor1_mem *f1;
	struct floor2_mem *f2;
} G;

static void setup(void)
{
	size_t tbsize = sizeof(struct tb_ring) + (size_t)SLOTS * MSG;

	G.s = shm_alloc(sizeof(*G.s));
	for (int i = 0; i < 2; i++) {
		G.lr[i] = shm_alloc(sizeof(*G.lr[i]));
		G.le[i] = priv_alloc(sizeof(*G.le[i]));
		G.tr[i] = shm_alloc(tbsize);
		G.tp[i] = priv_alloc(sizeof(*G.tp[i]));
		G.tc[i] = priv_alloc(sizeof(*G.tc[i]));
	}
	G.cp = priv_alloc(sizeof(*G.cp));
	chan_setup(G.cp);
	G.f1 = shm_alloc(sizeof(*G.f1));
	G.f2 = shm_alloc(sizeof(*G.f2));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median interval between the marks of the last run, or 0 if too few. */
static double median_interval(const struct sync *s)
{
	static uint64_t d[MAXMARK];
	uint64_t k = atomic_load(&s->nmarks);

	if (k < 9)
		return 0;
	for (uint64_t i = 1; i < k; i++)
		d[i - 1] = s->marks[i] - s->marks[i - 1];
	qsort(d, k - 1, sizeof(d[0]), cmp_u64);
	return (double)d[(k - 1) / 2];
}

/* One run of a figure with f->n items; returns the elapsed nanoseconds. */
static uint64_t run_fig(struct fig *f, int round)
{
	struct sync *s = G.s;
	uint64_t chunk = f->n / CHUNKS ? f->n / CHUNKS : 1;
	double med;
	uint64_t ns;

	if (f->fam == F_PP) {
		struct pp_ctx x = { .kind = f->kind, .n = f->n, .chunk = chunk, .f1 = G.f1, .f2 = G.f2 };

		atomic_store(&G.f1->line, 0);
		atomic_store(&G.f2->ab.idx, 0);
		atomic_store(&G.f2->ba.idx, 0);
		lib_setup(G.lr[0], G.le[0], 0);
		lib_setup(G.lr[1], G.le[1], 0);
		tb_init(G.tr[0], SLOTS, G.tp[0], G.tc[0]);
		tb_init(G.tr[1], SLOTS, G.tp[1], G.tc[1]);
		x.lab = G.le[0];
		x.lba = G.le[1];
		x.tpab = G.tp[0];
		x.tcab = G.tc[0];
		x.tpba = G.tp[1];
		x.tcba = G.tc[1];
		run_pair(f->procs, pp_a, pp_b, &x, s);
		ns = atomic_load(&s->t1) - atomic_load(&s->t0);
		med = median_interval(s);
		if (round >= 0) {
			f->gross[round] = (double)ns / (double)f->n;
			f->v[round] = med > 0 ? med / (double)chunk : f->gross[round];
		}
	} else {
		struct tp_ctx x = { .kind = f->kind, .batch = (unsigned)f->batch, .n = f->n,
				    .chunk = chunk };
		int efd = -1;

		lib_setup(G.lr[0], G.le[0], f->opt);
		tb_init(G.tr[0], SLOTS, G.tp[0], G.tc[0]);
		x.lp = &G.le[0]->p;
		x.lc = &G.le[0]->c;
		x.tp = G.tp[0];
		x.tc = G.tc[0];
		x.cd = &G.cp->drv;
		x.cv = &G.cp->dev;
		if (f->fam == F_KICK) {
#if defined(__linux__)
			efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
#endif
			if (efd < 0)
				die("eventfd", errno);
			x.efd = efd;
			run_pair(f->procs, kick_producer, kick_consumer, &x, s);
			close(efd);
		} else {
			run_pair(f->procs, tp_producer, tp_consumer, &x, s);
		}
		ns = atomic_load(&s->t1) - atomic_load(&s->t0);
		if (round >= 0) {
			double mps = (double)f->n * 1e3 / (double)ns;

			if (f->fam == F_KICK) {
				f->v[round] = (double)atomic_load(&s->aux[0]) / (double)f->n;
				f->rate[round] = mps;
				f->slp[round] = (double)atomic_load(&s->aux[1]) / (double)f->n;
				f->timeouts += atomic_load(&s->aux[2]);
			} else {
				med = median_interval(s);
				f->gross[round] = mps;
				f->v[round] = med > 0 ? (double)chunk * 1e3 / med : mps;
				f->slp[round] = (double)atomic_load(&s->aux[1]) / (double)f->n;
				f->full[round] = (double)atomic_load(&s->aux[2]) / (double)f->n;
			}
		}
	}
	f->errors += atomic_load(&s->errors);
	return ns ? ns : 1;
}

/* ---------------------------------------------------------------------- */
/* Statistics and report                                                  */
/* ---------------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[MAXREP];

	memcpy(t, v, sizeof(double) * (size_t)n);
	qsort(t, (size_t)n, sizeof(double), cmp_dbl);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void minmax(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

#define FIG(k, l, fa, ki, b, p, a, u, cnt)                                                          \
	{ .key = k, .label = l, .fam = fa, .kind = ki, .batch = b, .procs = p, .opt = a,           \
	  .unit = u, .n = cnt }

static struct fig figs[] = {
	FIG("floor1", "(a) single-line ping-pong (physical floor)", F_PP, PP_FLOOR1, 1, 0, 0, U_NS, 20000),
	FIG("floor2", "(b) two-line ping-pong (slot + index per direction)", F_PP, PP_FLOOR2, 1, 0, 0, U_NS, 20000),
	FIG("lib_rt", "library ping-pong (push/pop, two rings)", F_PP, PP_LIB, 1, 0, 0, U_NS, 20000),
	FIG("tb_rt", "(c) textbook ring ping-pong [info]", F_PP, PP_TB, 1, 0, 0, U_NS, 20000),
	FIG("tb_b1", "(c) textbook ring, batch 1", F_TP, K_TB, 1, 0, 0, U_MPS, 200000),
	FIG("lib_b1", "library ring, batch 1 (push/pop)", F_TP, K_LIB, 1, 0, 0, U_MPS, 200000),
	FIG("tb_b32", "(c) textbook ring, batch 32 (32 single push/pop)", F_TP, K_TB, 32, 0, 0, U_MPS, 400000),
	FIG("tbb_b32", "(c) + batch calls, one publication per batch [info]", F_TP, K_TBB, 32, 0, 0, U_MPS, 400000),
	FIG("lib_b32", "library ring, batch 32 (push_batch/pop_batch)", F_TP, K_LIB, 32, 0, 0, U_MPS, 400000),
	FIG("lib_b32s", "library ring, batch 32, VMSG_SPSC_F_STREAM (opt-in)", F_TP, K_LIB, 32, 0, OPT_STREAM, U_MPS, 400000),
	FIG("zc_b32", "library zero-copy reserve/commit, peek/release, b32 [info]", F_TP, K_ZC, 32, 0, 0, U_MPS, 400000),
	FIG("tbi_b1", "(c) textbook ring inlined, batch 1 [info]", F_TP, K_TBI, 1, 0, 0, U_MPS, 200000),
	FIG("tbi_b32", "(c) + batch calls, inlined, batch 32 [info]", F_TP, K_TBI, 32, 0, 0, U_MPS, 400000),
	FIG("v1_b1", "library, vmamp v1 channel send/recv, batch 1", F_TP, K_CHAN, 1, 0, 0, U_MPS, 200000),
	FIG("v1_b32", "library, vmamp v1 channel rings, batch 32", F_TP, K_CHAN, 32, 0, 0, U_MPS, 400000),
	FIG("xp_lib_b1", "cross-process library ring, batch 1", F_TP, K_LIB, 1, 1, 0, U_MPS, 200000),
	FIG("xp_lib_b32", "cross-process library ring, batch 32", F_TP, K_LIB, 32, 1, 0, U_MPS, 400000),
	FIG("xp_lib_b32s", "cross-process library ring, batch 32, F_STREAM [info]", F_TP, K_LIB, 32, 1, OPT_STREAM, U_MPS, 400000),
	FIG("xp_tb_b1", "cross-process textbook ring, batch 1 [info]", F_TP, K_TB, 1, 1, 0, U_MPS, 200000),
	FIG("xp_tb_b32", "cross-process textbook ring, batch 32 [info]", F_TP, K_TB, 32, 1, 0, U_MPS, 400000),
	FIG("kick_b1", "library streaming + sleeping consumer, batch 1", F_KICK, K_LIB, 1, 0, 0, U_KPM, 50000),
	FIG("kick_b32", "library streaming + sleeping consumer, batch 32 [info]", F_KICK, K_LIB, 32, 0, 0, U_KPM, 200000),
	FIG("kick_b1_sep", "same, batch 1, awake word on its own line [info]", F_KICK, K_LIB, 1, 0, OPT_AWAKE_ALONE, U_KPM, 50000),
};
#define NFIGS (sizeof(figs) / sizeof(figs[0]))

static struct fig *fig_by_key(const char *key)
{
	for (size_t i = 0; i < NFIGS; i++)
		if (!strcmp(figs[i].key, key))
			return &figs[i];
	die(key, -1);
}

static double best(const struct fig *f)
{
	double lo, hi;

	minmax(f->v, g_reps, &lo, &hi);
	return f->unit == U_MPS ? hi : lo; /* from the shortest run */
}

/*
 * A ratio three ways: the median of the per-round (paired) ratios, which the
 * verdict uses because both figures of a round ran within a second or so of
 * each other; the range of those paired ratios; the ratio of the medians and
 * the ratio of the best runs (the least disturbed on a shared machine).
 */
static void print_ratio(const char *label, const char *num, const char *den, int dir,
			double target)
{
	struct fig *a = fig_by_key(num), *b = fig_by_key(den);
	double r[MAXREP], lo, hi, pr;

	for (int i = 0; i < g_reps; i++)
		r[i] = a->v[i] / b->v[i];
	minmax(r, g_reps, &lo, &hi);
	pr = median(r, g_reps);
	printf("  %-42s %6.2fx [%5.2f ..%5.2f] %6.2fx %6.2fx", label, pr, lo, hi,
	       median(a->v, g_reps) / median(b->v, g_reps), best(a) / best(b));
	if (dir > 0)
		printf("   >= %.2fx  %s\n", target, pr >= target ? "PASS" : "MISS");
	else if (dir < 0)
		printf("   <= %.2fx  %s\n", target, pr <= target ? "PASS" : "MISS");
	else
		printf("\n");
}

static void print_env(void)
{
	char model[128] = "unknown";
	FILE *fp = fopen("/proc/cpuinfo", "r");
	char line[256];
	time_t t = time(NULL);
	char date[32];

	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			char *c = strchr(line, ':');

			if (!strncmp(line, "model name", 10) && c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(fp);
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));
	printf("virtio-msg ring benchmark  (%s)\n", date);
	printf("  ring code: %s; %u slots x %u B; CPU: %s, %ld online\n", VMSG_BENCH_VARIANT,
	       SLOTS, MSG, model, sysconf(_SC_NPROCESSORS_ONLN));
	if (g_pinned)
		printf("  sides pinned to CPUs %d and %d;", g_cpu[0], g_cpu[1]);
	else
		printf("  NOT pinned (affinity unavailable);");
	printf(" %d runs per figure of ~%.0f ms after a warm-up\n", g_reps, g_run_ms);
#if defined(__VERSION__)
	printf("  compiler: %s\n", __VERSION__);
#endif
}

int main(int argc, char **argv)
{
	int opt;
	uint64_t errors = 0;

	while ((opt = getopt(argc, argv, "r:t:qv")) != -1) {
		switch (opt) {
		case 'v':
			g_verbose = 1;
			break;
		case 'r':
			g_reps = atoi(optarg);
			break;
		case 't':
			g_run_ms = atof(optarg);
			break;
		case 'q':
			g_reps = 3;
			g_run_ms = 30;
			break;
		default:
			fprintf(stderr, "usage: %s [-r reps] [-t ms_per_run] [-q] [-v]\n", argv[0]);
			return 1;
		}
	}
	if (g_reps < 1 || g_reps > MAXREP || g_run_ms <= 0) {
		fprintf(stderr, "bench_ring: -r 1..%d, -t > 0\n", MAXREP);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	choose_cpus();
	setup();
	print_env();

	/* Warm-up: a short run to size the runs to ~g_run_ms, then one full-size
	 * run, both discarded. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < NFIGS; i++) {
			uint64_t ns = run_fig(&figs[i], -1);
			double per = (double)ns / (double)figs[i].n;
			uint64_t n = (uint64_t)(g_run_ms * 1e6 / per);

			if (pass)
				continue;
			n = n < 1000 ? 1000 : n;
			figs[i].n = figs[i].batch > 1 ? (n + BATCH - 1) / BATCH * BATCH : n;
		}
	}
	/* The rounds: every figure once per round. */
	for (int r = 0; r < g_reps; r++) {
		for (size_t i = 0; i < NFIGS; i++) {
			uint64_t pre;

			run_fig(&figs[i], r);
			pre = atomic_load(&G.s->preempted);
			figs[i].preempted += pre != 0;
			if (g_verbose)
				printf("  round %d %-12s %10.4g %s (whole run %.4g)%s\n", r + 1,
				       figs[i].key, figs[i].v[r], unit_name[figs[i].unit],
				       figs[i].gross[r], pre ? " preempted" : "");
		}
	}

	printf("\n  %-56s %9s %9s %9s  %-10s %s\n", "figure", "median", "min", "max", "unit",
	       "whole-run median, runs with a context switch");
	for (size_t i = 0; i < NFIGS; i++) {
		struct fig *f = &figs[i];
		double lo, hi;

		minmax(f->v, g_reps, &lo, &hi);
		printf("  %-56s %9.4g %9.4g %9.4g  %-10s", f->label, median(f->v, g_reps), lo, hi,
		       unit_name[f->unit]);
		if (f->fam != F_KICK)
			printf(" %9.4g", median(f->gross, g_reps));
		else
			printf(" %9s", "");
		printf(", %d/%d\n", f->preempted, g_reps);
		if (f->fam == F_KICK) {
			minmax(f->rate, g_reps, &lo, &hi);
			printf("  %-56s %9.4g %9.4g %9.4g  %s\n", "    message rate while kicking",
			       median(f->rate, g_reps), lo, hi, "Mmsg/s");
			minmax(f->slp, g_reps, &lo, &hi);
			printf("  %-56s %9.4g %9.4g %9.4g  %s\n", "    consumer sleeps",
			       median(f->slp, g_reps), lo, hi, "sleeps/msg");
			if (f->timeouts)
				printf("  !! %llu sleeps ended by the 2 s timeout (lost wake-up?)\n",
				       (unsigned long long)f->timeouts);
		}
		errors += f->errors;
	}

	printf("\n  %-56s %9s %9s\n", "streaming: failed polls per message (median)",
	       "empty", "full");
	for (size_t i = 0; i < NFIGS; i++) {
		struct fig *f = &figs[i];

		if (f->fam == F_TP)
			printf("  %-56s %9.3g %9.3g\n", f->label, median(f->slp, g_reps),
			       median(f->full, g_reps));
	}

	printf("\n  %-42s %7s %-15s %7s %7s   %s\n", "ratio", "paired", " [range]", "med/med",
	       "best", "target (on paired)");
	print_ratio("library / textbook, batch 1", "lib_b1", "tb_b1", 1, 1.0);
	print_ratio("library / textbook, batch 32", "lib_b32", "tb_b32", 1, 1.2);
	print_ratio("library F_STREAM / textbook, batch 32", "lib_b32s", "tb_b32", 1, 1.2);
	print_ratio("library / (c) + batch calls, b32 [info]", "lib_b32", "tbb_b32", 0, 0);
	print_ratio("(c) + batch calls / (c), b32 [info]", "tbb_b32", "tb_b32", 0, 0);
	print_ratio("library RT / two-line ping-pong RT", "lib_rt", "floor2", -1, 1.3);
	print_ratio("two-line / single-line floor RT", "floor2", "floor1", 0, 0);
	print_ratio("textbook RT / two-line RT [info]", "tb_rt", "floor2", 0, 0);
	print_ratio("library zero-copy / textbook, b32 [info]", "zc_b32", "tb_b32", 0, 0);
	print_ratio("textbook out-of-line / inlined, b1 [info]", "tb_b1", "tbi_b1", 0, 0);
	print_ratio("(c) + batch calls, out-of-line / inlined [info]", "tbb_b32", "tbi_b32", 0, 0);
	print_ratio("v1 channel / library ring, b1 [info]", "v1_b1", "lib_b1", 0, 0);
	print_ratio("v1 channel / library ring, b32 [info]", "v1_b32", "lib_b32", 0, 0);
	print_ratio("x-process / threads, library b1 [info]", "xp_lib_b1", "lib_b1", 0, 0);
	print_ratio("x-process / threads, library b32 [info]", "xp_lib_b32", "lib_b32", 0, 0);
	print_ratio("x-process library / textbook, b1 [info]", "xp_lib_b1", "xp_tb_b1", 0, 0);
	print_ratio("x-process library / textbook, b32 [info]", "xp_lib_b32", "xp_tb_b32", 0, 0);
	print_ratio("x-process F_STREAM / textbook, b32 [info]", "xp_lib_b32s", "xp_tb_b32", 0, 0);
	print_ratio("F_STREAM / default, library b32 [info]", "lib_b32s", "lib_b32", 0, 0);
	{
		struct fig *k = fig_by_key("kick_b1");
		double m = median(k->v, g_reps);

		printf("  %-42s %7.4f kicks/msg (median of %d runs)   <  0.05   %s\n",
		       "kicks per message, batch 1", m, g_reps, m < 0.05 ? "PASS" : "MISS");
	}
	{
		struct fig *f = fig_by_key("floor1");
		double m = median(f->v, g_reps), b = best(f);

		if (m > 1.5 * b)
			printf("\n  NOTE: the single-line floor's median is %.1fx its best run: the machine\n"
			       "  was busy during this run; trust the paired ratios and re-run to confirm.\n",
			       m / b);
	}
	if (errors) {
		printf("\n  DATA ERROR: %llu messages arrived corrupted or out of order\n",
		       (unsigned long long)errors);
		return 2;
	}
	return 0;
}
