/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two real processes (fork) over a real shared mapping (shm_open + mmap
 * MAP_SHARED). The parent is the device, the child the driver.
 *
 *  - Stress: VMSG_STRESS_MSGS / 10 sequence-numbered messages each way, in
 *    the vmamp v1 layout (extended and plain) and the SPSC-v0 layout: none
 *    lost, duplicated, reordered or corrupt.
 *  - Restart (extended v1): the child is killed with SIGKILL mid-stream, a
 *    new child is forked that opens the channel again, and the parent (the
 *    survivor) re-handshakes. Messages carry the sender's life number: the
 *    parent must never deliver a message of the dead life after its DOWN
 *    event (nor anything malformed, such as a zeroed slot), and a new child
 *    must only ever receive what the parent sent in the new session.
 *
 * Every wait is a poll loop with sched_yield() and an overall deadline that
 * fails the test instead of hanging. Children never call cmocka: they report
 * through their exit status (and stderr); the parent kills and reaps every
 * child on every path, and a child whose parent is gone exits.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_msg/shm.h"

#ifndef VMSG_STRESS_MSGS
#define VMSG_STRESS_MSGS 10000000
#endif
#define MP_MSGS ((uint64_t)VMSG_STRESS_MSGS / 10u)

#define MAP_BYTES 0x10000u
#define NELEMS 64u
#define ESIZE 64u
#define DEADLINE_S 40.0 /* per test */
#define BUDGET_S 105.0	/* all tests together: ctest kills at 120 s */

enum {
	EXIT_OK = 0,
	EXIT_PROTO = 2,
	EXIT_STALE = 3,
	EXIT_TIMEOUT = 4,
	EXIT_ORPHAN = 5,
	EXIT_OPEN = 6,
	EXIT_ORDER = 7
};

enum layout {
	L_V1_EXT,
	L_V1_PLAIN,
	L_V0
};

static uint8_t *shm;
static pid_t child = -1;
static int child_status; /* valid once child_done */
static bool child_done;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double t_main; /* when main() started */

/* A test started at @t0 has run out of time. */
static bool expired(double t0)
{
	double t = now_s();

	return t - t0 > DEADLINE_S || t - t_main > BUDGET_S;
}

static int setup(void **state)
{
	char name[64];
	int fd;
	void *p;

	(void)state;
	snprintf(name, sizeof(name), "/vmsg-test-mp-%ld", (long)getpid());
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	shm_unlink(name);
	if (ftruncate(fd, MAP_BYTES) != 0) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	shm = p;
	return 0;
}

static void kill_child(void)
{
	if (child > 0 && !child_done) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		child = -1;
	}
}

static int teardown(void **state)
{
	(void)state;
	kill_child();
	if (shm)
		munmap(shm, MAP_BYTES);
	shm = NULL;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

/* "MPRC", side, 3 zeros, le32 life/session, le64 seq, then a pattern. */
static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void make_msg(uint8_t *m, int side, uint32_t life, uint64_t seq)
{
	memcpy(m, "MPRC", 4);
	m[4] = (uint8_t)side;
	m[5] = m[6] = m[7] = 0;
	put_le32(m + 8, life);
	put_le32(m + 12, (uint32_t)seq);
	put_le32(m + 16, (uint32_t)(seq >> 32));
	for (unsigned i = 20; i < 64; i++)
		m[i] = (uint8_t)(life * 5u + seq * 3u + i);
}

/* 0 if @m is a well-formed message from @side; fills life and seq. */
static int parse_msg(const uint8_t *m, int side, uint32_t *life, uint64_t *seq)
{
	uint8_t exp[64];

	if (memcmp(m, "MPRC", 4) != 0 || m[4] != side)
		return -1;
	*life = get_le32(m + 8);
	*seq = get_le32(m + 12) | (uint64_t)get_le32(m + 16) << 32;
	make_msg(exp, side, *life, *seq);
	return memcmp(m, exp, 64) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                */
/* ---------------------------------------------------------------------- */

static int open_chan(struct vmsg_shm_chan *ch, enum layout l, int side, bool parent_first)
{
	struct vmsg_shm_cfg c;

	memset(&c, 0, sizeof(c));
	c.side = side ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	c.mem = VMSG_SPSC_MEM_COHERENT;
	c.peer_id = side ? 0xDE000000u : 0xD0000000u;
	c.owner = side == 1;
	c.v1.num_elems = NELEMS;
	c.v1.elem_size = ESIZE;
	c.v1.extended = l == L_V1_EXT;
	if (l == L_V0) {
		struct vmsg_shm_v0_params prm;

		vmsg_shm_v0_defaults(&prm);
		/* the parent resets the indices before the fork; the child
		 * picks them up (prototype behaviour) */
		return vmsg_shm_chan_open_v0(ch, shm, MAP_BYTES, &c, &prm,
					     parent_first ? VMSG_SPSC_INIT_RESET :
							    VMSG_SPSC_INIT_RESUME);
	}
	return vmsg_shm_chan_open_v1(ch, shm, MAP_BYTES, &c);
}

/* ---------------------------------------------------------------------- */
/* Stress: both processes run the same loop                               */
/* ---------------------------------------------------------------------- */

struct stress_result {
	int code;
	char why[128];
	uint64_t sent, received;
};

static void sfail(struct stress_result *r, int code, const char *why, long v)
{
	if (!r->code) {
		r->code = code;
		snprintf(r->why, sizeof(r->why), "%s (%ld)", why, v);
	}
}

static void stress_loop(struct vmsg_shm_chan *ch, int side, struct stress_result *r, double t0)
{
	uint8_t m[64];
	uint64_t next_rx = 0;
	bool up = vmsg_shm_chan_state(ch) == VMSG_SHM_RUN;
	pid_t parent = getppid();
	unsigned iter = 0;

	while ((r->sent < MP_MSGS || r->received < MP_MSGS) && !r->code) {
		bool progress = false;
		int ev = vmsg_shm_chan_poll(ch);

		if (ev < 0) {
			sfail(r, EXIT_PROTO, "poll failed", ev);
			break;
		}
		if (ev & VMSG_SHM_EV_DOWN) {
			sfail(r, EXIT_PROTO, "unexpected DOWN", ev);
			break;
		}
		if (ev & VMSG_SHM_EV_UP)
			up = true;
		if (up) {
			for (int i = 0; i < 32 && r->sent < MP_MSGS; i++) {
				int rc;

				make_msg(m, side, 1, r->sent);
				rc = vmsg_shm_chan_send(ch, m, 64);
				if (rc == VMSG_EAGAIN)
					break;
				if (rc != 0) {
					sfail(r, EXIT_PROTO, "send failed", rc);
					break;
				}
				r->sent++;
				progress = true;
			}
			for (int i = 0; i < 32 && r->received < MP_MSGS; i++) {
				uint32_t life;
				uint64_t seq;
				int rc = vmsg_shm_chan_recv(ch, m, sizeof(m));

				if (rc == VMSG_EAGAIN)
					break;
				if (rc != 64) {
					sfail(r, EXIT_PROTO, "recv failed", rc);
					break;
				}
				if (parse_msg(m, 1 - side, &life, &seq) != 0 || life != 1) {
					sfail(r, EXIT_STALE, "malformed message",
					      (long)r->received);
					break;
				}
				if (seq != next_rx) {
					sfail(r, EXIT_ORDER, "lost, duplicated or reordered; gap",
					      (long)(seq - next_rx));
					break;
				}
				next_rx++;
				r->received++;
				progress = true;
			}
		}
		if (!progress)
			sched_yield();
		if ((++iter & 1023u) == 0) {
			if (expired(t0))
				sfail(r, EXIT_TIMEOUT, "deadline passed", (long)r->received);
			if (side == 0 && getppid() != parent)
				sfail(r, EXIT_ORPHAN, "parent gone", 0);
			/* the parent: a child that ended with an error ends the run */
			if (side == 1 && child > 0 && !child_done &&
			    waitpid(child, &child_status, WNOHANG) == child) {
				child_done = true;
				if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0)
					sfail(r, EXIT_PROTO, "the child failed; status",
					      child_status);
			}
		}
	}
}

static void run_stress(enum layout l)
{
	struct vmsg_shm_chan ch;
	struct stress_result r;
	double t0 = now_s();
	int status = 0;
	pid_t pid;

	memset(shm, 0, MAP_BYTES);
	memset(&r, 0, sizeof(r));
	child_done = false;
	/* the parent (device, owner) opens first: the layout is there */
	assert_int_equal(open_chan(&ch, l, 1, true), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vmsg_shm_chan cc;

		if (open_chan(&cc, l, 0, false) != 0)
			_exit(EXIT_OPEN);
		stress_loop(&cc, 0, &r, t0);
		if (r.code)
			fprintf(stderr, "child: %s\n", r.why);
		_exit(r.code);
	}
	child = pid;
	stress_loop(&ch, 1, &r, t0);
	if (r.code) {
		print_error("parent: %s\n", r.why);
		kill_child();
		fail();
	}
	/* the child ends once it has everything */
	if (child_done)
		status = child_status;
	else
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	child = -1;
	print_message("%s: %llu messages each way in %.3f s\n",
		      l == L_V0 ? "v0" : (l == L_V1_EXT ? "v1 extended" : "v1 plain"),
		      (unsigned long long)MP_MSGS, now_s() - t0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXIT_OK);
	assert_int_equal(r.sent, MP_MSGS);
	assert_int_equal(r.received, MP_MSGS);
}

static void test_shm_multiproc_stress_v1_extended(void **state)
{
	(void)state;
	run_stress(L_V1_EXT);
}

static void test_shm_multiproc_stress_v1_plain(void **state)
{
	(void)state;
	run_stress(L_V1_PLAIN);
}

static void test_shm_multiproc_stress_v0(void **state)
{
	(void)state;
	run_stress(L_V0);
}

/* ---------------------------------------------------------------------- */
/* Restart: kill one side mid-stream, fork a new one                      */
/* ---------------------------------------------------------------------- */

/*
 * Child number k, on side @cs (0: the driver; 1: the device, which owns the
 * layout and finds its earlier life's): opens the channel, waits for UP,
 * then sends its stream tagged with life k and receives the parent's
 * stream, which must be tagged with session k and numbered from 0 without
 * a gap. With @finish set it exits after @finish messages each way;
 * otherwise it runs until killed.
 */
static int restart_child(int cs, uint32_t k, uint64_t finish, pid_t parent, double t0)
{
	struct vmsg_shm_chan ch;
	uint8_t m[64];
	uint64_t sent = 0, next_rx = 0;
	bool up = false;
	unsigned iter = 0;

	if (open_chan(&ch, L_V1_EXT, cs, false) != 0)
		return EXIT_OPEN;
	for (;;) {
		int ev = vmsg_shm_chan_poll(&ch);
		bool progress = false;

		if (ev < 0) {
			fprintf(stderr, "child %u: poll %d\n", k, ev);
			return EXIT_PROTO;
		}
		if (ev & VMSG_SHM_EV_DOWN) {
			fprintf(stderr, "child %u: DOWN while the parent lives\n", k);
			return EXIT_PROTO;
		}
		if (ev & VMSG_SHM_EV_UP)
			up = true;
		if (up) {
			for (int i = 0; i < 16 && (!finish || sent < finish); i++) {
				int rc;

				make_msg(m, cs, k, sent);
				rc = vmsg_shm_chan_send(&ch, m, 64);
				if (rc == VMSG_EAGAIN)
					break;
				if (rc != 0) {
					fprintf(stderr, "child %u: send %d\n", k, rc);
					return EXIT_PROTO;
				}
				sent++;
				progress = true;
			}
			for (int i = 0; i < 16; i++) {
				uint32_t life;
				uint64_t seq;
				int rc = vmsg_shm_chan_recv(&ch, m, sizeof(m));

				if (rc == VMSG_EAGAIN)
					break;
				if (rc != 64) {
					fprintf(stderr, "child %u: recv %d\n", k, rc);
					return EXIT_PROTO;
				}
				if (parse_msg(m, 1 - cs, &life, &seq) != 0) {
					fprintf(stderr,
						"child %u: malformed message from the "
						"parent (%02x %02x %02x %02x)\n",
						k, m[0], m[1], m[2], m[3]);
					return EXIT_STALE;
				}
				if (life != k) {
					fprintf(stderr,
						"child %u: received a message of the "
						"parent's session %u (sent before the "
						"restart)\n",
						k, life);
					return EXIT_STALE;
				}
				if (seq != next_rx) {
					fprintf(stderr, "child %u: expected %llu, got %llu\n", k,
						(unsigned long long)next_rx,
						(unsigned long long)seq);
					return EXIT_ORDER;
				}
				next_rx++;
				progress = true;
			}
			if (finish && sent >= finish && next_rx >= finish)
				return EXIT_OK;
		}
		if (!progress)
			sched_yield();
		if ((++iter & 1023u) == 0) {
			if (getppid() != parent)
				return EXIT_ORPHAN;
			if (expired(t0))
				return EXIT_TIMEOUT;
		}
	}
}

static pid_t fork_child(int cs, uint32_t k, uint64_t finish, double t0)
{
	pid_t parent = getpid(), pid;

	child_done = false;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(restart_child(cs, k, finish, parent, t0));
	return pid;
}

/* The child must not have failed on its own before we killed it. */
static void reap_killed(pid_t pid)
{
	int status = 0;

	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child = -1;
	if (WIFEXITED(status)) {
		print_error("child exited with %d before it was killed\n", WEXITSTATUS(status));
		fail();
	}
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

/*
 * The parent survives on side 1 - @cs; the child on side @cs is killed with
 * SIGKILL at a random point mid-stream and a new one forked, RESTARTS times.
 */
static void restart_case(int cs)
{
	enum {
		RESTARTS = 6
	};
	const uint64_t final_msgs = MP_MSGS / 10 > 1000 ? MP_MSGS / 10 : 1000;
	struct vmsg_shm_chan ch;
	double t0 = now_s();
	uint32_t life = 1;    /* the current child's life */
	uint32_t session = 0; /* the parent's UP count: tags what it sends */
	uint32_t dead = 0;    /* the last killed life */
	bool down_after_kill = false, up = false, last_exited = false;
	uint64_t tx_seq = 0, rx_next = 0, rx_in_life = 0, kill_at = 0, stale_before_down = 0;
	uint64_t delivered_total = 0;
	unsigned downs = 0, ups = 0, iter = 0;
	uint32_t rng = 4242;
	uint8_t m[64];

	const int ps = 1 - cs; /* the parent's side */

	memset(shm, 0, MAP_BYTES);
	assert_int_equal(open_chan(&ch, L_V1_EXT, ps, true), 0);
	child = fork_child(cs, life, 0, t0);
	rng = rng * 1103515245u + 12345u;
	kill_at = 200 + (rng >> 16) % 3000;

	for (;;) {
		int ev = vmsg_shm_chan_poll(&ch);
		bool progress = false;

		assert_true(ev >= 0);
		if (ev & VMSG_SHM_EV_DOWN) {
			downs++;
			up = false;
			/* only a restart (after a kill) may take the link down */
			assert_true(dead != 0 && dead == life - 1);
			down_after_kill = true;
		}
		if (ev & VMSG_SHM_EV_UP) {
			ups++;
			up = true;
			session++;
			/* the new session pairs with the current child */
			assert_int_equal(session, life);
			tx_seq = 0;
			rx_next = 0;
			rx_in_life = 0;
			down_after_kill = false;
		}
		if (up) {
			for (int i = 0; i < 16; i++) {
				int rc;

				make_msg(m, ps, session, tx_seq);
				rc = vmsg_shm_chan_send(&ch, m, 64);
				if (rc == VMSG_EAGAIN || rc == VMSG_ECONNRESET)
					break;
				assert_int_equal(rc, 0);
				tx_seq++;
				progress = true;
			}
		}
		for (int i = 0; i < 16; i++) {
			uint32_t l = 0; /* set by parse_msg(); 0 only quiets -O3 */
			uint64_t seq = 0;
			int rc = vmsg_shm_chan_recv(&ch, m, sizeof(m));

			if (rc == VMSG_EAGAIN || rc == VMSG_ESTATE || rc == VMSG_ECONNRESET)
				break;
			assert_int_equal(rc, 64);
			if (parse_msg(m, cs, &l, &seq) != 0) {
				print_error(
					"parent delivered a malformed message (%02x %02x %02x "
					"%02x ...): a zeroed or stale slot of a restarted peer\n",
					m[0], m[1], m[2], m[3]);
				kill_child();
				fail();
			}
			if (dead && l <= dead) {
				/* a message of the dead life: only before DOWN */
				if (down_after_kill || !up) {
					print_error("parent delivered a message of dead life %u "
						    "after DOWN\n",
						    l);
					kill_child();
					fail();
				}
				stale_before_down++;
				assert_int_equal(l, dead);
			} else {
				if (l != life) {
					print_error("message of life %u, current life %u\n", l,
						    life);
					kill_child();
					fail();
				}
				if (seq != rx_next) {
					print_error("life %u: expected %llu, got %llu\n", l,
						    (unsigned long long)rx_next,
						    (unsigned long long)seq);
					kill_child();
					fail();
				}
				rx_next++;
				rx_in_life++;
			}
			delivered_total++;
			progress = true;
		}

		/* mid-stream: kill this child, start the next */
		if (child > 0 && dead != life && life <= RESTARTS && rx_in_life >= kill_at) {
			reap_killed(child);
			dead = life;
			life++;
			rx_in_life = 0;
			rng = rng * 1103515245u + 12345u;
			kill_at = 200 + (rng >> 16) % 3000;
			/* sometimes keep sending into the dead peer for a while */
			if ((rng >> 8) & 1) {
				for (int i = 0; i < 200; i++) {
					make_msg(m, ps, session, tx_seq);
					if (vmsg_shm_chan_send(&ch, m, 64) == 0)
						tx_seq++;
				}
			}
			child = fork_child(cs, life, life > RESTARTS ? final_msgs : 0, t0);
		}
		/* the last child ends on its own after final_msgs each way */
		if (life > RESTARTS && rx_in_life >= final_msgs && tx_seq >= final_msgs) {
			int status = 0;
			double t1 = now_s();

			/* keep serving until it has read everything */
			while (!last_exited && waitpid(child, &status, WNOHANG) == 0) {
				int rc;

				assert_true(vmsg_shm_chan_poll(&ch) >= 0);
				while ((rc = vmsg_shm_chan_recv(&ch, m, sizeof(m))) == 64)
					;
				sched_yield();
				if (now_s() - t1 > 30) {
					kill_child();
					fail_msg("the last child did not finish");
				}
			}
			child = -1;
			if (!last_exited && (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_OK)) {
				print_error("last child: status %d\n", status);
				fail();
			}
			break;
		}
		if (!progress)
			sched_yield();
		if ((++iter & 1023u) == 0 && expired(t0)) {
			kill_child();
			fail_msg("deadline passed: life %u, session %u, downs %u, ups %u", life,
				 session, downs, ups);
		}
		/* a child that failed on its own shows up here; the last child
		 * may legitimately finish before we have read all it sent (its
		 * messages wait in the ring), so only a failure counts for it */
		if (child > 0 && (iter & 255u) == 0) {
			int status = 0;

			if (waitpid(child, &status, WNOHANG) == child) {
				child = -1;
				if (life > RESTARTS && WIFEXITED(status) &&
				    WEXITSTATUS(status) == EXIT_OK) {
					last_exited = true;
				} else {
					print_error("child %u ended early: status %d (exit %d)\n",
						    life, status,
						    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
					fail();
				}
			}
		}
	}
	print_message("restart (%s killed): %u restarts, %u DOWN, %u UP, %llu delivered "
		      "(%llu of a dead life before its DOWN) in %.3f s\n",
		      cs ? "device, the layout owner," : "driver", (unsigned)RESTARTS, downs, ups,
		      (unsigned long long)delivered_total,
		      (unsigned long long)stale_before_down, now_s() - t0);
	assert_int_equal(downs, RESTARTS);
	assert_int_equal(ups, RESTARTS + 1);
}

static void test_shm_multiproc_restart_v1_extended(void **state)
{
	(void)state;
	restart_case(0);
}

/* The layout owner dies and comes back: it finds its own layout, byte for
 * byte, and starts only its own side; the driver survives. */
static void test_shm_multiproc_restart_v1_extended_owner(void **state)
{
	(void)state;
	restart_case(1);
}

/*
 * The survivor holds slots its cache already counted when the driver dies
 * and a new driver starts (new epoch, INIT, its array zeroed). Without a
 * poll in between, the survivor's next recv must not deliver a slot: the
 * protocol has it observe the restart "before it touches another slot"
 * (docs/ring-protocol.md). Expected: VMSG_ECONNRESET.
 */
static int burst_child(pid_t parent, double t0)
{
	struct vmsg_shm_chan ch;
	uint8_t m[64];
	unsigned sent = 0, iter = 0;

	if (open_chan(&ch, L_V1_EXT, 0, false) != 0)
		return EXIT_OPEN;
	for (;;) {
		int ev = vmsg_shm_chan_poll(&ch);

		if (ev < 0)
			return EXIT_PROTO;
		if (vmsg_shm_chan_state(&ch) == VMSG_SHM_RUN && sent < 20) {
			make_msg(m, 0, 1, sent);
			if (vmsg_shm_chan_send(&ch, m, 64) == 0)
				sent++;
		}
		sched_yield();
		if ((++iter & 255u) == 0 && (getppid() != parent || expired(t0)))
			return EXIT_ORPHAN;
	}
}

static void test_shm_multiproc_restart_survivor_cached_rx(void **state)
{
	struct vmsg_shm_chan ch;
	double t0 = now_s();
	uint8_t m[64];
	uint32_t epoch0;
	pid_t parent = getpid();
	int rc;

	(void)state;
	memset(shm, 0, MAP_BYTES);
	assert_int_equal(open_chan(&ch, L_V1_EXT, 1, true), 0);
	child_done = false;
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(burst_child(parent, t0));
	/* RUN, then wait until all 20 are in the ring (the driver's tail, le16
	 * at its queue head 0xC0 + 4) before reading one */
	while (vmsg_shm_chan_state(&ch) != VMSG_SHM_RUN || (get_le32(shm + 0xC4) & 0xFFFFu) != 20) {
		assert_true(vmsg_shm_chan_poll(&ch) >= 0);
		sched_yield();
		if (expired(t0)) {
			kill_child();
			fail_msg("no RUN");
		}
	}
	rc = vmsg_shm_chan_recv(&ch, m, sizeof(m));
	assert_int_equal(rc, 64);
	/* the driver dies; a new one starts: its epoch (driver queue-head
	 * line + 8 = 0xC8 in the extended layout) moves on */
	reap_killed(child);
	epoch0 = get_le32(shm + 0xC8);
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(burst_child(parent, t0));
	while (get_le32(shm + 0xC8) == epoch0) {
		sched_yield();
		if (expired(t0)) {
			kill_child();
			fail_msg("the new driver did not start");
		}
	}
	/* Its start is done when its queue head (0xC0: le16 magic 0x514F, then
	 * the state) shows INIT in the new epoch: it published INIT before the
	 * epoch, and it waits there while we are RUN (step 2), so there is no
	 * later step to wait for (no fixed sleep: an event, bounded). */
	while ((get_le32(shm + 0xC0) & 0x1FFFFFu) != 0x514Fu) {
		sched_yield();
		if (expired(t0)) {
			kill_child();
			fail_msg("the new driver did not publish INIT");
		}
	}
	assert_int_not_equal(get_le32(shm + 0xC8), epoch0);
	rc = vmsg_shm_chan_recv(&ch, m, sizeof(m));
	if (rc > 0)
		print_error("the survivor delivered a slot after the peer restarted: "
			    "%02x %02x %02x %02x ...\n",
			    m[0], m[1], m[2], m[3]);
	kill_child();
	assert_int_equal(rc, VMSG_ECONNRESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shm_multiproc_stress_v1_extended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_multiproc_stress_v1_plain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_multiproc_stress_v0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_multiproc_restart_v1_extended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shm_multiproc_restart_v1_extended_owner,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shm_multiproc_restart_survivor_cached_rx,
						setup, teardown),
	};

	t_main = now_s();
	print_message("VMSG_STRESS_MSGS / 10 = %llu messages each way\n",
		      (unsigned long long)MP_MSGS);
	return cmocka_run_group_tests_name("shm_multiproc", tests, NULL, NULL);
}
