/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two threads (pthreads: C11 <threads.h> crashes under TSan, ci-toolchain.md
 * P2), one producer and one consumer, move VMSG_STRESS_MSGS sequence-numbered
 * 64-byte messages through one ring. The consumer checks that none is lost,
 * duplicated, reordered or torn. Variants: copying push/pop, batches of 32,
 * zero copy (reserve/commit, peek/release), device-memory accesses (not under
 * TSan: volatile accesses are plain accesses to it), and kick suppression
 * with a consumer that really sleeps on a condition variable that the
 * producer signals only when vmsg_spsc_prod_need_kick() says so.
 *
 * A lost wake-up shows as a stall: a bounded wait (2 s) that times out while
 * the ring holds messages. Stalls are counted and must be zero; there is no
 * other timing assertion. Kicks per message are printed, not asserted.
 *
 * Threads never call cmocka: they record errors and the main thread asserts
 * after joining. A deadline per run turns a hang into a failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

#include "virtio_msg/spsc.h"

#ifndef VMSG_STRESS_MSGS
#define VMSG_STRESS_MSGS 10000000
#endif

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define NSLOTS 1024u
#define SLOT 64u
#define BATCH 32u
#define RUN_DEADLINE_S 100.0 /* a hang fails the run (ctest kills at 120 s) */
#define SLEEP_TIMEOUT_S 2
/* Kick variant: the first messages go one at a time, each after a random
 * short delay and followed by a wait until the consumer has it: every one
 * races with the consumer arming (where a lost wake-up would hide). */
#define PING_MSGS(total) ((total) / 20 < 10000 ? (total) / 20 : 10000)

enum mode {
	M_COPY,
	M_BATCH,
	M_BATCH_STREAM, /* M_BATCH with VMSG_SPSC_F_STREAM */
	M_ZEROCOPY,
	M_DEVICE,
	M_KICK
};

struct shared {
	/* ring memory: indices and awake word on their own lines */
	_Alignas(64) uint8_t prod_line[64];
	_Alignas(64) uint8_t cons_line[64];
	_Alignas(64) uint8_t slots[NSLOTS * SLOT];
};

struct run {
	enum mode mode;
	uint64_t total;
	struct shared *sh;
	struct vmsg_spsc_desc d;
	struct vmsg_spsc_prod p;
	struct vmsg_spsc_cons c;
	double t0;
	atomic_bool stop; /* set by a thread that failed */
	/* kick channel */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t kicks_posted; /* under mu */
	/* results (each written by one thread, read after join) */
	uint64_t received, lost, dup_or_reorder, corrupt, op_errors, kicks, sleeps, stalls,
		timeouts, quiesce;
	atomic_uint_fast64_t received_pub; /* the consumer's count, for the producer */
	int first_err;
	char why[160];
	double elapsed;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_why(struct run *r, const char *what, int code)
{
	pthread_mutex_lock(&r->mu);
	if (!r->why[0]) {
		snprintf(r->why, sizeof(r->why), "%s (code %d)", what, code);
		r->first_err = code;
	}
	pthread_mutex_unlock(&r->mu);
	atomic_store(&r->stop, true);
}

static bool past_deadline(struct run *r)
{
	if (now_s() - r->t0 > RUN_DEADLINE_S) {
		set_why(r, "deadline passed: stuck", 0);
		return true;
	}
	return false;
}

/* Message seq: u64 seq, u64 ~seq, then six words seq * K[k] (host order:
 * both threads share the host). */
static const uint64_t body_k[6] = { 0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full,
				    0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull,
				    0xFF51AFD7ED558CCDull, 0xC4CEB9FE1A85EC53ull };

static void fill_msg(uint8_t *m, uint64_t seq)
{
	uint64_t w[8];

	w[0] = seq;
	w[1] = ~seq;
	for (unsigned k = 0; k < 6; k++)
		w[2 + k] = (seq + 1) * body_k[k];
	memcpy(m, w, SLOT);
}

/* Check one received message against the next expected sequence number. */
static void check_msg(struct run *r, const uint8_t *m, uint64_t *next)
{
	uint64_t w[8], seq;

	memcpy(w, m, SLOT);
	seq = w[0];
	if (w[1] != ~seq) {
		r->corrupt++;
		set_why(r, "torn or corrupt message", 0);
		return;
	}
	for (unsigned k = 0; k < 6; k++) {
		if (w[2 + k] != (seq + 1) * body_k[k]) {
			r->corrupt++;
			set_why(r, "corrupt message body", (int)k);
			return;
		}
	}
	if (seq > *next) {
		r->lost += seq - *next;
		set_why(r, "messages lost", (int)(seq - *next));
	} else if (seq < *next) {
		r->dup_or_reorder++;
		set_why(r, "message duplicated or reordered", 0);
	}
	*next = seq + 1;
	r->received++;
	atomic_store_explicit(&r->received_pub, r->received, memory_order_relaxed);
}

/* Back off politely when the ring is full or empty. */
static void backoff(unsigned *spins)
{
	if (++*spins >= 64) {
		*spins = 0;
		sched_yield();
	}
}

/* ---------------------------------------------------------------------- */
/* Producer                                                               */
/* ---------------------------------------------------------------------- */

static void kick(struct run *r)
{
	r->kicks++;
	pthread_mutex_lock(&r->mu);
	r->kicks_posted++;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Wait (bounded) until the consumer has received @seq messages. */
static void wait_drained(struct run *r, uint64_t seq)
{
	double tq = now_s();

	r->quiesce++;
	for (unsigned spin = 0; spin < 20000 && atomic_load(&r->received_pub) < seq; spin++)
		;
	while (atomic_load(&r->received_pub) < seq && !atomic_load(&r->stop)) {
		sched_yield();
		if (now_s() - tq > 3 * SLEEP_TIMEOUT_S) {
			set_why(r, "consumer never drained", 0);
			break;
		}
	}
}

static void *producer(void *arg)
{
	struct run *r = arg;
	uint8_t m[BATCH][SLOT];
	const void *msgs[BATCH];
	size_t lens[BATCH];
	uint64_t seq = 0, burst_left = 0;
	unsigned spins = 0, iter = 0;
	uint32_t rng = 0x12345u;

	for (unsigned i = 0; i < BATCH; i++) {
		msgs[i] = m[i];
		lens[i] = SLOT;
	}
	while (seq < r->total && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int rc = 0;

		if ((++iter & 4095u) == 0 && past_deadline(r))
			break;
		switch (r->mode) {
		case M_COPY:
		case M_DEVICE:
		case M_KICK:
			if (r->mode == M_KICK && seq < PING_MSGS(r->total)) {
				/* ping: one message, at a random moment */
				unsigned spin;

				rng = rng * 1103515245u + 12345u;
				spin = (rng >> 8) % 256u;
				for (volatile unsigned i = 0; i < spin; i++)
					;
				burst_left = 1;
			} else if (r->mode == M_KICK && burst_left == 0) {
				/* Bursts with pauses, so the consumer drains the ring,
				 * arms and really goes to sleep. */
				rng = rng * 1103515245u + 12345u;
				burst_left = 1 + (rng >> 8) % 2048u;
				if (seq && ((rng >> 5) & 3) == 0) {
					/* A quiescent point: push nothing until the
					 * consumer has everything. A lost wake-up now
					 * leaves it asleep with messages in the ring
					 * until its 2 s timeout: a stall. */
					wait_drained(r, seq);
				} else if ((rng >> 4) & 1) {
					struct timespec ts = { 0, 20000 };

					nanosleep(&ts, NULL);
				} else {
					sched_yield();
				}
			}
			fill_msg(m[0], seq);
			rc = vmsg_spsc_push(&r->p, m[0], SLOT);
			if (rc == 0) {
				seq++;
				spins = 0;
				if (burst_left)
					burst_left--;
				if (r->mode == M_KICK && vmsg_spsc_prod_need_kick(&r->p))
					kick(r);
				if (r->mode == M_KICK && seq <= PING_MSGS(r->total))
					wait_drained(r, seq);
			} else if (rc == VMSG_EAGAIN) {
				backoff(&spins);
			} else {
				r->op_errors++;
				set_why(r, "push failed", rc);
			}
			break;
		case M_BATCH:
		case M_BATCH_STREAM: {
			unsigned n = (unsigned)(r->total - seq < BATCH ? r->total - seq : BATCH);

			for (unsigned i = 0; i < n; i++)
				fill_msg(m[i], seq + i);
			rc = vmsg_spsc_push_batch(&r->p, msgs, lens, n);
			if (rc > 0) {
				seq += (uint64_t)rc;
				spins = 0;
			} else if (rc == 0) {
				backoff(&spins);
			} else {
				r->op_errors++;
				set_why(r, "push_batch failed", rc);
			}
			break;
		}
		case M_ZEROCOPY: {
			unsigned n = 0,
				 want = (unsigned)(r->total - seq < BATCH ? r->total - seq : BATCH);
			void *slot;

			while (n < want && (rc = vmsg_spsc_reserve(&r->p, &slot)) == 0) {
				fill_msg(slot, seq + n);
				n++;
			}
			if (n == 0 && rc != VMSG_EAGAIN) {
				r->op_errors++;
				set_why(r, "reserve failed", rc);
				break;
			}
			if (n) {
				rc = vmsg_spsc_commit(&r->p);
				if (rc != (int)n) {
					r->op_errors++;
					set_why(r, "commit returned a wrong count", rc);
				}
				seq += n;
				spins = 0;
			} else {
				backoff(&spins);
			}
			break;
		}
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Consumer                                                               */
/* ---------------------------------------------------------------------- */

/* Sleep until kicked or timed out (kick-suppression variant). */
static void consumer_sleep(struct run *r, uint64_t *kicks_seen)
{
	struct timespec dl;
	bool timed_out = false;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += SLEEP_TIMEOUT_S;
	r->sleeps++;
	pthread_mutex_lock(&r->mu);
	while (r->kicks_posted == *kicks_seen && !timed_out)
		timed_out = pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT;
	*kicks_seen = r->kicks_posted;
	pthread_mutex_unlock(&r->mu);
	if (timed_out) {
		int pending = vmsg_spsc_cons_pending(&r->c);

		r->timeouts++;
		if (pending > 0) {
			/* Messages were there and nobody woke us: a lost wake-up. */
			r->stalls++;
		}
	}
	vmsg_spsc_cons_awake(&r->c);
}

static void *consumer(void *arg)
{
	struct run *r = arg;
	uint8_t m[BATCH][SLOT];
	void *bufs[BATCH];
	uint64_t next = 0, kicks_seen = 0;
	unsigned spins = 0, iter = 0, empty_polls = 0, arm_after = 1;
	uint32_t rng = 0x777u;

	for (unsigned i = 0; i < BATCH; i++)
		bufs[i] = m[i];
	if (r->mode == M_KICK)
		vmsg_spsc_cons_awake(&r->c);
	while (r->received < r->total && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int rc = 0;

		if ((++iter & 4095u) == 0 && past_deadline(r))
			break;
		switch (r->mode) {
		case M_COPY:
		case M_DEVICE:
		case M_KICK:
			rc = vmsg_spsc_pop(&r->c, m[0], SLOT);
			if (rc == (int)SLOT) {
				check_msg(r, m[0], &next);
				spins = 0;
				empty_polls = 0;
			} else if (rc == VMSG_EAGAIN) {
				if (r->mode != M_KICK) {
					backoff(&spins);
				} else if (++empty_polls >= arm_after) {
					/* the protocol: arm, re-check, sleep only if 0 */
					int a = vmsg_spsc_cons_arm(&r->c);

					empty_polls = 0;
					rng = rng * 1103515245u + 12345u;
					arm_after = 1 + (rng >> 8) % 64u;
					if (a == 0)
						consumer_sleep(r, &kicks_seen);
					else if (a != 1) {
						r->op_errors++;
						set_why(r, "arm failed", a);
					}
				}
			} else {
				r->op_errors++;
				set_why(r, "pop failed", rc);
			}
			break;
		case M_BATCH:
		case M_BATCH_STREAM:
			rc = vmsg_spsc_pop_batch(&r->c, bufs, SLOT, BATCH);
			if (rc > 0) {
				for (int i = 0; i < rc; i++)
					check_msg(r, m[i], &next);
				spins = 0;
			} else if (rc == 0) {
				backoff(&spins);
			} else {
				r->op_errors++;
				set_why(r, "pop_batch failed", rc);
			}
			break;
		case M_ZEROCOPY: {
			const void *slot;
			unsigned n = 0;

			while (n < BATCH && (rc = vmsg_spsc_peek(&r->c, &slot)) == 0) {
				/* shared memory: copy before checking */
				memcpy(m[0], slot, SLOT);
				check_msg(r, m[0], &next);
				n++;
			}
			if (n == 0 && rc != VMSG_EAGAIN) {
				r->op_errors++;
				set_why(r, "peek failed", rc);
				break;
			}
			if (n) {
				rc = vmsg_spsc_release(&r->c);
				if (rc != (int)n) {
					r->op_errors++;
					set_why(r, "release returned a wrong count", rc);
				}
				spins = 0;
			} else {
				backoff(&spins);
			}
			break;
		}
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Driver                                                                 */
/* ---------------------------------------------------------------------- */

static const char *mode_name(enum mode m)
{
	static const char *const names[] = { "copy",   "batch32", "stream32",
					     "zerocopy", "device", "kick" };

	return names[m];
}

static struct shared *sh_mem;
static struct run *run_mem;

static void run_stress(enum mode mode)
{
	struct run *r;
	pthread_t tp, tc;
	pthread_condattr_t ca;
	void *mem = NULL;

	assert_int_equal(posix_memalign(&mem, 64, sizeof(struct shared)), 0);
	sh_mem = mem;
	memset(sh_mem, 0, sizeof(*sh_mem));
	run_mem = r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->mode = mode;
	r->total = VMSG_STRESS_MSGS;
	r->sh = sh_mem;
	atomic_init(&r->stop, false);
	atomic_init(&r->received_pub, 0);
	r->d.slots = sh_mem->slots;
	r->d.num_slots = NSLOTS;
	r->d.slot_size = SLOT;
	if (mode == M_DEVICE) {
		/* 16-bit LE fields as in vmamp v1, each in its own word */
		r->d.prod = (struct vmsg_spsc_index){ sh_mem->prod_line + 4, 16 };
		r->d.cons = (struct vmsg_spsc_index){ sh_mem->cons_line + 6, 16 };
		r->d.flags = VMSG_SPSC_F_LE_INDEX;
		r->d.mem = VMSG_SPSC_MEM_DEVICE;
	} else {
		r->d.prod = (struct vmsg_spsc_index){ sh_mem->prod_line, 32 };
		r->d.cons = (struct vmsg_spsc_index){ sh_mem->cons_line, 32 };
		r->d.mem = VMSG_SPSC_MEM_COHERENT;
		if (mode == M_BATCH_STREAM)
			r->d.flags = VMSG_SPSC_F_STREAM;
	}
	r->d.awake = mode == M_KICK ? sh_mem->cons_line + 8 : NULL;
	r->d.kicked = mode == M_KICK ? sh_mem->prod_line + 8 : NULL;
	assert_int_equal(vmsg_spsc_prod_init(&r->p, &r->d, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(vmsg_spsc_cons_init(&r->c, &r->d, VMSG_SPSC_INIT_RESET), 0);
	assert_int_equal(pthread_mutex_init(&r->mu, NULL), 0);
	assert_int_equal(pthread_condattr_init(&ca), 0);
	assert_int_equal(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
	assert_int_equal(pthread_cond_init(&r->cv, &ca), 0);
	pthread_condattr_destroy(&ca);

	r->t0 = now_s();
	assert_int_equal(pthread_create(&tc, NULL, consumer, r), 0);
	assert_int_equal(pthread_create(&tp, NULL, producer, r), 0);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	r->elapsed = now_s() - r->t0;

	print_message("%-8s %llu msgs in %.3f s (%.1f Mmsg/s); producer: %llu publications, "
		      "%llu full; consumer: %llu publications, %llu empty\n",
		      mode_name(mode), (unsigned long long)r->received, r->elapsed,
		      (double)r->received / r->elapsed / 1e6,
		      (unsigned long long)r->p.stats.publishes,
		      (unsigned long long)r->p.stats.full_or_empty,
		      (unsigned long long)r->c.stats.publishes,
		      (unsigned long long)r->c.stats.full_or_empty);
	if (mode == M_KICK)
		print_message("kick     %llu kicks for %llu messages = %.6f kicks/message; "
			      "%llu sleeps, %llu quiescent points, %llu timed out, %llu stalls\n",
			      (unsigned long long)r->kicks, (unsigned long long)r->received,
			      r->received ? (double)r->kicks / (double)r->received : 0.0,
			      (unsigned long long)r->sleeps, (unsigned long long)r->quiesce,
			      (unsigned long long)r->timeouts, (unsigned long long)r->stalls);
	if (r->why[0])
		print_error("%s: %s\n", mode_name(mode), r->why);
	assert_int_equal(r->op_errors, 0);
	assert_int_equal(r->corrupt, 0);
	assert_int_equal(r->lost, 0);
	assert_int_equal(r->dup_or_reorder, 0);
	assert_int_equal(r->received, r->total);
	assert_int_equal(r->stalls, 0);
	assert_true(r->why[0] == '\0');
	/* Every message passed through the counters exactly once. */
	assert_int_equal(r->p.stats.msgs, r->total);
	assert_int_equal(r->c.stats.msgs, r->total);
	if (mode == M_KICK) {
		/* The consumer really slept: this run tests the sleeping path. */
		assert_true(r->sleeps > 0);
		/* need_kick counted exactly the kicks the producer sent */
		assert_int_equal(r->p.stats.kicks, r->kicks);
	}
	if (mode == M_BATCH || mode == M_BATCH_STREAM || mode == M_ZEROCOPY) {
		/* Batching publishes fewer times than messages. */
		assert_true(r->p.stats.publishes < r->total);
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(run_mem);
	run_mem = NULL;
	free(sh_mem);
	sh_mem = NULL;
}

static int teardown(void **state)
{
	(void)state;
	free(run_mem);
	run_mem = NULL;
	free(sh_mem);
	sh_mem = NULL;
	return 0;
}

static void test_spsc_stress_copy(void **state)
{
	(void)state;
	run_stress(M_COPY);
}

static void test_spsc_stress_batch32(void **state)
{
	(void)state;
	run_stress(M_BATCH);
}

/* The same with streaming stores for long runs (x86; elsewhere, and under
 * the sanitizers, the flag changes nothing): 0 lost, duplicated, reordered
 * or torn. The store fence before the publication is not something this
 * run can be relied on to prove: without it, it passed three times out of
 * three on the x86 VM we measured (the window is a few cycles). */
static void test_spsc_stress_batch32_streaming(void **state)
{
	(void)state;
	run_stress(M_BATCH_STREAM);
}

static void test_spsc_stress_zerocopy(void **state)
{
	(void)state;
	run_stress(M_ZEROCOPY);
}

static void test_spsc_stress_device_mem(void **state)
{
	(void)state;
	if (UNDER_TSAN) {
		/* Device mode is volatile accesses plus fences: TSan sees plain
		 * racing accesses. The mode is covered by the other builds. */
		skip();
	}
	run_stress(M_DEVICE);
}

static void test_spsc_stress_kick_sleeping_consumer(void **state)
{
	(void)state;
	run_stress(M_KICK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spsc_stress_copy, teardown),
		cmocka_unit_test_teardown(test_spsc_stress_batch32, teardown),
		cmocka_unit_test_teardown(test_spsc_stress_batch32_streaming, teardown),
		cmocka_unit_test_teardown(test_spsc_stress_zerocopy, teardown),
		cmocka_unit_test_teardown(test_spsc_stress_device_mem, teardown),
		cmocka_unit_test_teardown(test_spsc_stress_kick_sleeping_consumer, teardown),
	};

	print_message("VMSG_STRESS_MSGS = %llu\n", (unsigned long long)VMSG_STRESS_MSGS);
	return cmocka_run_group_tests_name("spsc_stress", tests, NULL, NULL);
}
