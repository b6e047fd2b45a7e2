/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PING round trip through the whole bus stack (codec, bus core, shm bus,
 * ring, posix-shm port) between two processes, busy-polling and sleeping,
 * beside two baselines measured in the same run:
 *  - two-line ping-pong: per direction one 64-byte slot and one index line
 *    in shared memory, busy-polled (the floor for any ring whose index lives
 *    apart from its slots);
 *  - eventfd ping-pong: one 8-byte write/read per direction between two
 *    processes (the floor for a sleeping peer woken by a doorbell).
 * Prints medians over several runs and the ratios, judged on the median of
 * the paired ratios (each bus run against the baseline run just before it).
 * Never fails on a miss: figures are information (this machine is shared
 * and noisy).
 *
 *   bench_bus [N [MODE [SLOT [ELEMS]]]]
 *   N      PINGs per run (20000)
 *   MODE   all (default); busy: only the busy-poll bus runs (for perf);
 *          sleep: only the sleeping bus; chan, chan0, drvraw, devraw: see
 *          bench/README.md (bus, sixth round);
 *          icount: both sides in one process, deterministic, to run under
 *          valgrind --tool=callgrind (see icount() below)
 *          lean: [info] a hand-written minimal validating PING exchange
 *          (no library code) and the chan mode, each against the two-line
 *          ping-pong (see lean() below)
 *          stream: [info] throughput one way: the channel alone, EVENT_AVAIL
 *          through the bus, calls with 8 in flight (see stream_mode())
 *   SLOT   ring slot size in bytes of the bus (default: the posix-shm
 *          port's, 264; 64 is the baseline's slot; 0: the default)
 *   ELEMS  [info] elements per ring (default 64, the posix-shm port's;
 *          bench/README.md, "Channel streaming: where the time goes")
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <virtio_msg/port_posix_shm.h>
#include <virtio_msg/virtio_msg.h>

#include "bench_side.h"

#define RUNS 7
#define SECOND 1000000000ull

/* Ring slot size of the posix-shm bus (0: the port's default, 264). */
static uint32_t slot_size;
static uint32_t num_elems; /* [info] argv[4]: elements per ring (0: 64) */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ns(uint64_t *v, int n, unsigned iters)
{
	uint64_t s[RUNS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	return (double)s[n / 2] / iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Ratios of the runs of one round (a[r] / b[r], measured a moment apart):
 * median, lowest and highest. */
static double paired_ratio(const uint64_t *a, const uint64_t *b, int n, double *lo, double *hi)
{
	double q[RUNS];

	for (int r = 0; r < n; r++)
		q[r] = (double)a[r] / (double)b[r];
	qsort(q, (size_t)n, sizeof(*q), cmp_double);
	*lo = q[0];
	*hi = q[n - 1];
	return q[n / 2];
}

/*
 * Per run, the timing side takes a timestamp every 1/CHUNKS of the run and
 * the run's figure is the median interval (scaled to the whole run), as in
 * bench_ring: on this shared 2-core machine another runnable process
 * preempts one side for milliseconds while the other spins, and the median
 * interval ignores those stalls. The whole-run time is kept beside it.
 */
#define CHUNKS 256

struct timer {
	uint64_t t[CHUNKS + 1];
	unsigned chunk, left, n;
};

static void tm_start(struct timer *tm, unsigned iters)
{
	tm->chunk = iters >= CHUNKS ? iters / CHUNKS : 1;
	tm->left = tm->chunk;
	tm->n = 0;
	tm->t[tm->n++] = now_ns();
}

/* After each round trip. */
static inline void tm_tick(struct timer *tm)
{
	if (--tm->left == 0) {
		tm->left = tm->chunk;
		if (tm->n <= CHUNKS)
			tm->t[tm->n++] = now_ns();
	}
}

/* The run's time from its median interval, scaled to @iters; the whole
 * run's time (first to last timestamp, plus the tail) in @whole. */
static uint64_t tm_result(struct timer *tm, unsigned iters, uint64_t *whole)
{
	uint64_t d[CHUNKS];
	unsigned n = tm->n - 1;

	*whole = now_ns() - tm->t[0];
	if (n == 0)
		return *whole;
	for (unsigned i = 0; i < n; i++)
		d[i] = tm->t[i + 1] - tm->t[i];
	qsort(d, n, sizeof(*d), cmp_u64);
	return (uint64_t)((double)d[n / 2] * iters / tm->chunk);
}

/* ---- baseline: two-line ping-pong between processes ---- */

struct line {
	_Alignas(64) _Atomic uint32_t idx;
};

struct pingpong {
	_Alignas(64) uint8_t slot[2][64];
	struct line seq[2];
};

static uint64_t two_line(unsigned iters, uint64_t *whole)
{
	struct pingpong *pp = mmap(0, sizeof(*pp), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct timer tm;
	uint64_t t;
	pid_t child;

	memset(pp, 0, sizeof(*pp));
	child = fork();
	if (child == 0) {
		pin(1);
		for (uint32_t i = 1; i <= iters; i++) {
			while (atomic_load_explicit(&pp->seq[0].idx, memory_order_acquire) != i)
				;
			memcpy(pp->slot[1], pp->slot[0], 64);
			atomic_store_explicit(&pp->seq[1].idx, i, memory_order_release);
		}
		_exit(0);
	}
	pin(0);
	tm_start(&tm, iters);
	for (uint32_t i = 1; i <= iters; i++) {
		memset(pp->slot[0], (int)i, 64);
		atomic_store_explicit(&pp->seq[0].idx, i, memory_order_release);
		while (atomic_load_explicit(&pp->seq[1].idx, memory_order_acquire) != i)
			;
		tm_tick(&tm);
	}
	t = tm_result(&tm, iters, whole);
	waitpid(child, 0, 0);
	munmap(pp, sizeof(*pp));
	return t;
}

/* ---- baseline: eventfd ping-pong between processes ---- */

static uint64_t eventfd_pp(unsigned iters, uint64_t *whole)
{
	int a = eventfd(0, 0), b = eventfd(0, 0);
	uint64_t v = 1, t;
	struct timer tm;
	pid_t child = fork();

	if (child == 0) {
		pin(1);
		for (unsigned i = 0; i < iters; i++) {
			if (read(a, &v, 8) != 8 || write(b, &v, 8) != 8)
				_exit(1);
		}
		_exit(0);
	}
	pin(0);
	tm_start(&tm, iters);
	for (unsigned i = 0; i < iters; i++) {
		if (write(a, &v, 8) != 8 || read(b, &v, 8) != 8)
			break;
		tm_tick(&tm);
	}
	t = tm_result(&tm, iters, whole);
	waitpid(child, 0, 0);
	close(a);
	close(b);
	return t;
}

/* ---- [info] lean: a minimal validating PING exchange, no library calls ---- */

/*
 * MODE lean: the least per-message work we think any conforming virtio-msg
 * bus that does not trust its peer must do, written by hand in the shape
 * of two_line(): per direction a ring of LEAN_SLOTS 64-byte slots (each its
 * own line) and one index line, written by one side only, busy-polled.
 * Of the library it uses only the wire constants and the inline byte-order
 * helpers of virtio_msg/endian.h.
 *
 *  - Indices are free-running 32-bit counters. A side's index line holds
 *    the producer index of the ring it sends on and the consumer index of
 *    the ring it receives on; the consumer index is published with the
 *    side's next send (one line written per message, as in two_line()).
 *    A sender reloads the peer's consumer index only when its cached copy
 *    says the ring is full, and checks it (it may not go back or pass the
 *    producer).
 *  - A receiver loads the peer's producer index with acquire and checks the
 *    distance to its own consumer index (<= LEAN_SLOTS), copies the 8-byte
 *    header out of the slot, then msg_size - 8 more bytes (msg_size clamped
 *    to 8..LEAN_MAX_MSG), and validates only its private copy: msg_size
 *    against the maximum, the type bits (reserved bits ignored, GEN-1), the
 *    msg_id (known, event bit never with a response), dev_num 0 for bus
 *    messages, the message's own size (PING: 12).
 *  - The driver takes a free entry of a LEAN_INFLIGHT in-flight table and a
 *    token (entry number + generation), encodes the PING into the slot
 *    with little-endian stores and publishes; on the response it finds the
 *    entry by token (unknown or stale tokens rejected), checks it was a
 *    PING, the echoed data (BUS-56), completes and frees it.
 *  - The device answers a valid PING with the same token and data.
 * Any failed check ends the run (a bus would drop or fail the message; here
 * none happens). Not a bus: no device table, no transport messages, no
 * timeouts, no sleeping, no restart. See bench/README.md, "Bus floor".
 */
#define LEAN_SLOTS 8u	 /* per direction, a power of two */
#define LEAN_INFLIGHT 8u /* the driver's in-flight table */
#define LEAN_MAX_MSG 64u /* advertised maximum message size: one slot */
#define LEAN_PING_SIZE 12u

struct lean_idx {
	_Alignas(64) _Atomic uint32_t prod; /* our ring's producer index */
	_Atomic uint32_t cons;		    /* the peer's ring's consumer index */
};

struct lean_shm {
	_Alignas(64) uint8_t slot[2][LEAN_SLOTS][64]; /* [0]: driver to device */
	struct lean_idx idx[2];			      /* [0]: written by the driver */
};

/* One side's view: it sends on ring @me and receives on the other. */
struct lean_end {
	uint8_t (*tx)[64];
	const uint8_t (*rx)[64];
	_Atomic uint32_t *prod, *cons;		   /* our index line */
	const _Atomic uint32_t *peer_prod, *peer_cons; /* the peer's */
	uint32_t head, cons_seen;		   /* sending */
	uint32_t tail;				   /* receiving */
};

static void lean_end_init(struct lean_end *e, struct lean_shm *s, int me)
{
	e->tx = s->slot[me];
	e->rx = (const uint8_t(*)[64])s->slot[!me];
	e->prod = &s->idx[me].prod;
	e->cons = &s->idx[me].cons;
	e->peer_prod = &s->idx[!me].prod;
	e->peer_cons = &s->idx[!me].cons;
	e->head = e->cons_seen = e->tail = 0;
}

/* The slot to encode the next message into, or NULL when the ring is full
 * (@bad set when the peer's consumer index is impossible). */
static inline uint8_t *lean_tx_slot(struct lean_end *e, bool *bad)
{
	if (e->head - e->cons_seen >= LEAN_SLOTS) {
		uint32_t c = atomic_load_explicit(e->peer_cons, memory_order_acquire);

		if (c - e->cons_seen > e->head - e->cons_seen) {
			*bad = true;
			return NULL;
		}
		e->cons_seen = c;
		if (e->head - c >= LEAN_SLOTS)
			return NULL;
	}
	return e->tx[e->head & (LEAN_SLOTS - 1)];
}

/* Publish the message encoded in lean_tx_slot(), and with it the slots we
 * have consumed (their copies are complete: both stores release). */
static inline void lean_publish(struct lean_end *e)
{
	atomic_store_explicit(e->cons, e->tail, memory_order_release);
	atomic_store_explicit(e->prod, ++e->head, memory_order_release);
}

/* Copy the next message out of its slot into @m (LEAN_MAX_MSG bytes).
 * Returns its msg_size, 0 when there is none, -1 when the peer's index is
 * impossible, -2 when msg_size is (the message is consumed and dropped). */
static inline int lean_recv(struct lean_end *e, uint8_t *m)
{
	uint32_t n = atomic_load_explicit(e->peer_prod, memory_order_acquire) - e->tail;
	const uint8_t *s;
	unsigned size, len;

	if (n == 0)
		return 0;
	if (n > LEAN_SLOTS)
		return -1;
	s = e->rx[e->tail & (LEAN_SLOTS - 1)];
	memcpy(m, s, VMSG_HDR_SIZE);
	size = vmsg_get_le16(m + VMSG_OFF_MSG_SIZE);
	len = size < VMSG_HDR_SIZE ? VMSG_HDR_SIZE : size > LEAN_MAX_MSG ? LEAN_MAX_MSG : size;
	memcpy(m + VMSG_HDR_SIZE, s + VMSG_HDR_SIZE, len - VMSG_HDR_SIZE);
	/* From here on only the copy is read: the compiler may not fetch a
	 * field from the slot again (the peer may be rewriting it). */
	__asm__ volatile("" ::: "memory");
	e->tail++;
	if (size < VMSG_HDR_SIZE || size > LEAN_MAX_MSG)
		return -2;
	return (int)size;
}

/* Header checks common to both sides (on the private copy): the type with
 * its reserved bits ignored must be @type, an event ID is never a
 * response, a bus message has dev_num 0. Returns the msg_id, or -1. */
static inline int lean_check_hdr(const uint8_t *m, uint8_t type)
{
	uint8_t t = (uint8_t)(m[VMSG_OFF_TYPE] & ~VMSG_TYPE_RESERVED_MASK);
	uint8_t id = m[VMSG_OFF_MSG_ID];

	if (t != type)
		return -1;
	if ((id & VMSG_ID_EVENT) && (t & VMSG_TYPE_RESPONSE))
		return -1;
	if ((t & VMSG_TYPE_BUS) && vmsg_get_le16(m + VMSG_OFF_DEV_NUM) != 0)
		return -1;
	return id;
}

/* Spin until a message arrives; its msg_size or < 0. Every 2^24 empty
 * polls (off the measured path), @alive says whether to go on. */
static inline int lean_wait(struct lean_end *e, uint8_t *m, bool (*alive)(void))
{
	unsigned spins = 0;
	int r;

	while ((r = lean_recv(e, m)) == 0)
		if (++spins == 1u << 24) {
			spins = 0;
			if (!alive())
				return -3;
		}
	return r;
}

static pid_t lean_child;
static pid_t lean_parent;

static bool lean_child_alive(void)
{
	return waitpid(lean_child, 0, WNOHANG) == 0;
}

static bool lean_parent_alive(void)
{
	return getppid() == lean_parent;
}

/* The device: answers @iters PINGs. Exit status 0, or the failed check. */
static int lean_device(struct lean_shm *shm, unsigned iters)
{
	struct lean_end e;
	uint8_t m[LEAN_MAX_MSG];

	lean_end_init(&e, shm, 1);
	for (unsigned i = 0; i < iters; i++) {
		int size = lean_wait(&e, m, lean_parent_alive);
		uint8_t *s;
		bool bad = false;

		if (size < 0)
			return 2;
		/* A bus request (a transport request would be routed by
		 * dev_num: this device table is empty). */
		switch (lean_check_hdr(m, VMSG_TYPE_BUS)) {
		case VMSG_BUS_ID_PING:
			if (size != LEAN_PING_SIZE)
				return 3;
			break;
		default: /* unknown, an event, or a bad header */
			return 4;
		}
		while (!(s = lean_tx_slot(&e, &bad)))
			if (bad)
				return 5;
		s[VMSG_OFF_TYPE] = VMSG_TYPE_BUS | VMSG_TYPE_RESPONSE;
		s[VMSG_OFF_MSG_ID] = VMSG_BUS_ID_PING;
		vmsg_put_le16(s + VMSG_OFF_DEV_NUM, 0);
		vmsg_put_le16(s + VMSG_OFF_TOKEN, vmsg_get_le16(m + VMSG_OFF_TOKEN));
		vmsg_put_le16(s + VMSG_OFF_MSG_SIZE, LEAN_PING_SIZE);
		vmsg_put_le32(s + VMSG_OFF_PAYLOAD, vmsg_get_le32(m + VMSG_OFF_PAYLOAD));
		lean_publish(&e);
	}
	return 0;
}

struct lean_req {
	uint16_t token;
	uint8_t msg_id;
	uint32_t data;
};

/* The driver's side of one run; the child is the device. Returns the
 * median-interval time as two_line() does, 0 on a failed check. */
static uint64_t lean(unsigned iters, uint64_t *whole)
{
	struct lean_shm *shm = mmap(0, sizeof(*shm), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct lean_req tab[LEAN_INFLIGHT];
	uint32_t free_mask = (1u << LEAN_INFLIGHT) - 1;
	uint16_t gen = 0;
	struct lean_end e;
	uint8_t m[LEAN_MAX_MSG];
	struct timer tm;
	uint64_t t = 0;
	int st = 0;

	if (shm == MAP_FAILED)
		return 0;
	memset(shm, 0, sizeof(*shm));
	lean_parent = getpid();
	lean_child = fork();
	if (lean_child < 0) {
		munmap(shm, sizeof(*shm));
		return 0;
	}
	if (lean_child == 0) {
		pin(1);
		_exit(lean_device(shm, iters));
	}
	pin(0);
	lean_end_init(&e, shm, 0);
	tm_start(&tm, iters);
	for (uint32_t i = 0; i < iters; i++) {
		unsigned k;
		uint16_t token;
		uint8_t *s;
		bool bad = false;
		int size, id;

		/* Request: an in-flight entry, a token, the slot, publish. */
		if (!free_mask)
			goto fail;
		k = (unsigned)__builtin_ctz(free_mask);
		free_mask &= ~(1u << k);
		token = (uint16_t)(gen++ << 3 | k);
		tab[k] = (struct lean_req){ token, VMSG_BUS_ID_PING, i };
		while (!(s = lean_tx_slot(&e, &bad)))
			if (bad)
				goto fail;
		s[VMSG_OFF_TYPE] = VMSG_TYPE_BUS;
		s[VMSG_OFF_MSG_ID] = VMSG_BUS_ID_PING;
		vmsg_put_le16(s + VMSG_OFF_DEV_NUM, 0);
		vmsg_put_le16(s + VMSG_OFF_TOKEN, token);
		vmsg_put_le16(s + VMSG_OFF_MSG_SIZE, LEAN_PING_SIZE);
		vmsg_put_le32(s + VMSG_OFF_PAYLOAD, i);
		lean_publish(&e);

		/* Response: copy out, validate, match the token, complete. */
		size = lean_wait(&e, m, lean_child_alive);
		if (size < 0)
			goto fail;
		id = lean_check_hdr(m, VMSG_TYPE_BUS | VMSG_TYPE_RESPONSE);
		if (id < 0)
			goto fail;
		token = vmsg_get_le16(m + VMSG_OFF_TOKEN);
		k = token & (LEAN_INFLIGHT - 1);
		if ((free_mask & 1u << k) || tab[k].token != token)
			goto fail; /* unknown or stale token */
		if (tab[k].msg_id != id || id != VMSG_BUS_ID_PING || size != LEAN_PING_SIZE ||
		    vmsg_get_le32(m + VMSG_OFF_PAYLOAD) != tab[k].data)
			goto fail;
		free_mask |= 1u << k;
		tm_tick(&tm);
	}
	t = tm_result(&tm, iters, whole);
	waitpid(lean_child, &st, 0);
	munmap(shm, sizeof(*shm));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : 0;
fail:
	kill(lean_child, SIGKILL);
	waitpid(lean_child, &st, 0);
	munmap(shm, sizeof(*shm));
	return 0;
}

/* ---- the bus: device server in the child, driver pings from here ---- */

static int open_side(struct side *s, const char *path, bool device, uint64_t spin_ns)
{
	struct vmsg_posix_shm_cfg pc = { .socket_path = path, .spin_ns = spin_ns };

	pc.side = device ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	pc.server = device;
	if (slot_size || num_elems)
		pc.layout = (struct vmsg_shm_v1_params){ .num_elems = num_elems ? num_elems : 64,
							 .elem_size = slot_size ? slot_size : 264,
							 .extended = true };
	return side_open(s, &pc);
}

/* MODE chan: after the bus warm-up, the same channel without codec and bus
 * core (20-byte messages echoed through vmsg_shm_chan_send/recv). */
static bool raw_chan;
static bool chan_kick = true; /* chan0: without the kick check (its fence) */
static int split; /* 1: raw driver, bus device; 2: bus driver, raw device */
static atomic_int *raw_ready; /* shared with the forked driver */

/* Send @len bytes and check for a kick, as the shm bus does (chan0: no check). */
static int raw_send(struct vmsg_shm_chan *ch, const uint8_t *buf, size_t len, bool kick)
{
	if (vmsg_shm_chan_send(ch, buf, len))
		return -1;
	if (kick)
		(void)vmsg_shm_chan_need_kick(ch);
	return 0;
}

/* Spin until a message arrives; its length, or < 0. */
static int raw_recv(struct vmsg_shm_chan *ch, uint8_t *buf, size_t cap)
{
	int r;

	while ((r = vmsg_shm_chan_recv(ch, buf, cap)) == VMSG_EAGAIN)
		;
	return r;
}

/* One 20-byte echo: the driver (@first) sends and waits, the device waits
 * and sends back. */
static int chan_echo(struct vmsg_shm_chan *ch, uint8_t *buf, bool first)
{
	if (first && raw_send(ch, buf, 20, chan_kick))
		return -1;
	if (raw_recv(ch, buf, 20) < 0)
		return -1;
	return first ? 0 : raw_send(ch, buf, 20, chan_kick);
}

/* The shm bus holds received slots until its next send (shm_bus.c
 * rx_release); raw calls on its channel need them back first. */
static void give_back_rx(struct side *s)
{
	(void)vmsg_spsc_release(&s->port.sb.ch->rx);
	s->port.sb.rx_held = 0;
}

/* Returns total ns for @iters PINGs, or 0 on failure. */
static uint64_t bus_pings(unsigned iters, uint64_t spin_ns, uint64_t *kicks)
{
	static struct side dev, drv;
	char path[64];
	struct timer tm;
	uint64_t t, whole;
	pid_t child;

	if (raw_chan) {
		raw_ready = mmap(0, sizeof(*raw_ready), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (raw_ready == MAP_FAILED)
			return 0;
		atomic_store(raw_ready, 0);
	}
	snprintf(path, sizeof(path), "/tmp/vmsg-bench-%d.sock", (int)getpid());
	if (open_side(&dev, path, true, spin_ns))
		return 0;
	child = fork();
	if (child == 0) {
		pin(1);
		if (open_side(&drv, path, false, spin_ns))
			_exit(1);
		for (unsigned i = 0; i < 1000; i++) /* warm up, and the handshake */
			if (vmsg_bus_ping(&drv.bus, i, SECOND))
				_exit(1);
		if (raw_chan) {
			give_back_rx(&drv);
			/* The device left its bus loop, so its poll cannot take
			 * our first raw message. */
			while (!atomic_load(raw_ready))
				;
		}
		if (split == 1) {
			struct vmsg_msg req = { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_PING };
			uint8_t enc[64], m[64];
			int len;

			give_back_rx(&drv);
			req.token = 7;
			len = vmsg_proto_encode(&drv.bus.codec, &req, enc, sizeof(enc));
			if (len < 8)
				_exit(1);
			tm_start(&tm, iters);
			for (unsigned i = 0; i < iters; i++) {
				if (raw_send(drv.port.sb.ch, enc, (size_t)len, true) ||
				    raw_recv(drv.port.sb.ch, m, sizeof(m)) < len)
					_exit(1);
				tm_tick(&tm);
			}
			goto timed;
		}
		tm_start(&tm, iters);
		for (unsigned i = 0; i < iters; i++) {
			uint8_t m[20] = { 0 };

			if (raw_chan ? chan_echo(drv.port.sb.ch, m, true) :
				       vmsg_bus_ping(&drv.bus, i, SECOND))
				_exit(1);
			tm_tick(&tm);
		}
timed:
		t = tm_result(&tm, iters, &whole);
		/* The exit status is too small for the figures: they go to
		 * stdout, a pipe to bus_round(). */
		printf("%llu %llu %llu\n", (unsigned long long)t, (unsigned long long)whole,
		       (unsigned long long)drv.port.sb.kicks);
		fflush(stdout);
		_exit(vmsg_bus_close(&drv.bus) ? 1 : 0);
	}
	pin(0);
	for (;;) {
		int st, n;

		if (split == 2 && dev.bus.stats.received >= 1000) {
			/* Answer PINGs raw: the header's type gets the response
			 * bit, the rest is echoed. */
			uint8_t m[64];

			give_back_rx(&dev);
			for (unsigned i = 0; i < iters; i++) {
				if (raw_recv(dev.port.sb.ch, m, sizeof(m)) < 12)
					break;
				m[0] |= VMSG_TYPE_RESPONSE;
				if (raw_send(dev.port.sb.ch, m, 12, true))
					break;
			}
			split = 0;
		}
		if (raw_chan && dev.bus.stats.received >= 1000) {
			uint8_t m[20] = { 0 };

			give_back_rx(&dev);
			atomic_store(raw_ready, 1);
			for (unsigned i = 0; i < iters; i++)
				if (chan_echo(dev.port.sb.ch, m, false))
					break;
			raw_chan = false; /* then the bus again, to see the close */
		}
		n = vmsg_bus_wait(&dev.bus, SECOND / 10);

		if (n < 0)
			break;
		/* Only when idle: a syscall per message would be measured too. */
		if (n == 0 && waitpid(child, &st, WNOHANG) == child)
			break;
	}
	*kicks = dev.port.sb.kicks;
	(void)vmsg_bus_close(&dev.bus);
	return 1;
}

/* Runs bus_pings in a child whose stdout we read, to get the driver's time. */
/*
 * Run @fn(@arg) in a child whose stdout is a pipe (the driver's figures are
 * too big for an exit status), and read what it prints into @buf (a C
 * string). Returns the bytes read (<= 0: nothing), and the child's wait
 * status in @status.
 */
static ssize_t child_output(int (*fn)(void *), void *arg, char *buf, size_t cap, int *status)
{
	int fds[2];
	ssize_t n;
	pid_t p;

	*status = 1;
	memset(buf, 0, cap);
	if (pipe(fds))
		return -1;
	fflush(stdout);
	p = fork();
	if (p == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		_exit(fn(arg));
	}
	close(fds[1]);
	n = read(fds[0], buf, cap - 1);
	close(fds[0]);
	waitpid(p, status, 0);
	return n;
}

struct pings_args {
	unsigned iters;
	uint64_t spin_ns;
};

static int pings_child(void *arg)
{
	struct pings_args *a = arg;
	uint64_t dev_kicks = 0;

	return bus_pings(a->iters, a->spin_ns, &dev_kicks) ? 0 : 1;
}

static uint64_t bus_round(unsigned iters, uint64_t spin_ns, double *kicks_per_msg,
			  uint64_t *whole)
{
	struct pings_args a = { iters, spin_ns };
	char buf[128];
	unsigned long long t = 0, w = 0, drv_kicks = 0;
	int st;

	if (child_output(pings_child, &a, buf, sizeof(buf), &st) <= 0 ||
	    sscanf(buf, "%llu %llu %llu", &t, &w, &drv_kicks) != 3)
		return 0;
	*kicks_per_msg = (double)drv_kicks / iters;
	*whole = w;
	return t;
}

/* ---- instruction counts: both sides in one process, no threads ---- */

/*
 * `bench_bus N icount` runs N PINGs with both bus sides in this process, over
 * one vmamp v1 channel in private memory: the driver's wait() runs the
 * device's poll (as the firmware image does), so the run is deterministic
 * and its instruction count (valgrind --tool=callgrind) repeatable. The shm
 * bus runs its sleeping path (spin_ns 0: arm, re-check, wait); the bus core
 * does the same work as in the two-process runs. Clock reads are counted
 * at the port hook (all of them) and at the bus core's ops->now (the core's
 * own), and printed per PING.
 */
struct ic_side {
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	struct vmsg_bus bus;
	uint8_t rx[264], tx[264];
	struct vmsg_bus_req reqs[8];
	struct vmsg_bus_dev devs[4];
};

static struct ic_side ic_dev, ic_drv;
static unsigned long long ic_clock_hook, ic_clock_core;
static struct vmsg_bus_ops ic_ops;

static int ic_kick(void *ctx)
{
	(void)ctx;
	return 0;
}

static int ic_hook_now(void *ctx, uint64_t *ns)
{
	(void)ctx;
	ic_clock_hook++;
	*ns = now_ns();
	return 0;
}

/* The bus core's clock reads: ops->now, counted, then the shm bus's. */
static int ic_core_now(void *priv, uint64_t *ns)
{
	ic_clock_core++;
	return vmsg_shm_bus_ops.now(priv, ns);
}

static int ic_drv_wait(void *ctx, int64_t timeout_ns)
{
	(void)ctx;
	(void)timeout_ns;
	return vmsg_bus_poll(&ic_dev.bus) < 0 ? VMSG_EIO : 0;
}

static int ic_dev_wait(void *ctx, int64_t timeout_ns)
{
	(void)ctx;
	(void)timeout_ns;
	return VMSG_ETIMEDOUT;
}

static int ic_open(struct ic_side *s, void *shm, size_t size, bool device)
{
	struct vmsg_shm_cfg sc = { 0 };
	struct vmsg_shm_bus_hooks h = { 0 };
	struct vmsg_bus_cfg bc = { 0 };
	int err;

	sc.side = device ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	sc.owner = device;
	sc.v1 = (struct vmsg_shm_v1_params){ .num_elems = num_elems ? num_elems : 64,
					     .elem_size = slot_size ? slot_size : 264,
					     .extended = true };
	err = vmsg_shm_chan_open_v1(&s->ch, shm, size, &sc);
	if (err)
		return err;
	h.kick = ic_kick;
	h.wait = device ? ic_dev_wait : ic_drv_wait;
	h.now = ic_hook_now;
	err = vmsg_shm_bus_init(&s->sb, &s->ch, &h, 0);
	if (err)
		return err;
	bc.ops = &ic_ops;
	bc.priv = &s->sb;
	bc.role = device ? VMSG_BUS_DEVICE : VMSG_BUS_DRIVER;
	bc.reqs = s->reqs;
	bc.num_reqs = 8;
	bc.devs = s->devs;
	bc.num_devs = 4;
	bc.rx_buf = s->rx;
	bc.rx_cap = sizeof(s->rx);
	bc.tx_buf = s->tx;
	bc.tx_cap = sizeof(s->tx);
	return vmsg_bus_init(&s->bus, &bc);
}

static int icount(unsigned iters)
{
	static _Alignas(64) uint8_t shm[64 * 1024];
	unsigned long long hook0, core0;

	ic_ops = vmsg_shm_bus_ops;
	ic_ops.now = ic_core_now;
	if (ic_open(&ic_dev, shm, sizeof(shm), true) || ic_open(&ic_drv, shm, sizeof(shm), false)) {
		fprintf(stderr, "bench_bus: icount: open failed\n");
		return 1;
	}
	/* Warm up (and bring both sides to RUN). */
	for (unsigned i = 0; i < 100; i++)
		if (vmsg_bus_ping(&ic_drv.bus, i, SECOND)) {
			fprintf(stderr, "bench_bus: icount: warm-up PING %u failed\n", i);
			return 1;
		}
	hook0 = ic_clock_hook;
	core0 = ic_clock_core;
	for (unsigned i = 0; i < iters; i++)
		if (vmsg_bus_ping(&ic_drv.bus, i, SECOND)) {
			fprintf(stderr, "bench_bus: icount: PING %u failed\n", i);
			return 1;
		}
	printf("icount: %u PINGs, clock reads per PING: %.3f (bus core %.3f)\n", iters,
	       (double)(ic_clock_hook - hook0) / iters, (double)(ic_clock_core - core0) / iters);
	return 0;
}

/* One mode alone (busy when @spin_ns, else sleeping): RUNS runs, the median. */
static int one_mode(unsigned iters, uint64_t spin_ns, const char *label)
{
	uint64_t t[RUNS], whole[RUNS];
	double kicks = 0;

	for (int r = 0; r < RUNS; r++)
		t[r] = bus_round(iters, spin_ns, &kicks, &whole[r]);
	if (spin_ns)
		printf("%s, busy-poll: %.0f ns\n", label, median_ns(t, RUNS, iters));
	else
		printf("%s, sleeping: %.0f ns, kicks per PING %.3f\n", label,
		       median_ns(t, RUNS, iters), kicks);
	return 0;
}

/*
 * MODE lean [info]: per round the two-line ping-pong, the lean exchange,
 * the two-line again, then the library's channel alone (the chan mode);
 * each figure paired with the two-line run just before it.
 */
static int lean_mode(unsigned iters)
{
	uint64_t tl[RUNS], ln[RUNS], tl2[RUNS], ch[RUNS];
	uint64_t wtl[RUNS], wln[RUNS], wtl2[RUNS], wch[RUNS];
	double kicks = 0, pl, pl_lo, pl_hi, pc, pc_lo, pc_hi, wl, wl_lo, wl_hi, two;

	for (int r = 0; r < RUNS; r++) {
		tl[r] = two_line(iters, &wtl[r]);
		ln[r] = lean(iters, &wln[r]);
		tl2[r] = two_line(iters, &wtl2[r]);
		raw_chan = true;
		ch[r] = bus_round(iters, 50 * SECOND, &kicks, &wch[r]);
		raw_chan = false;
		if (!ln[r] || !ch[r]) {
			fprintf(stderr, "bench_bus: a %s run failed\n", ln[r] ? "chan" : "lean");
			return 1;
		}
	}
	two = median_ns(tl, RUNS, iters);
	pl = paired_ratio(ln, tl, RUNS, &pl_lo, &pl_hi);
	pc = paired_ratio(ch, tl2, RUNS, &pc_lo, &pc_hi);
	wl = paired_ratio(wln, wtl, RUNS, &wl_lo, &wl_hi);
	printf("[info] PING round trip over shared memory, two processes on CPUs 0 and 1, %u per "
	       "run, %d runs;\nper run the median of %d intervals, then the median run "
	       "[whole-run median]\n",
	       iters, RUNS, CHUNKS);
	printf("  %-46s %7.0f ns [%.0f]   (%s regime)\n", "baseline: two-line ping-pong (busy)", two,
	       median_ns(wtl, RUNS, iters), two < 300 ? "close" : "far");
	printf("  %-46s %7.0f ns [%.0f]   %.2fx two-line\n",
	       "[info] lean validating exchange (no library)", median_ns(ln, RUNS, iters),
	       median_ns(wln, RUNS, iters), pl);
	printf("  %-46s %7.0f ns [%.0f]\n", "baseline: two-line ping-pong, before chan",
	       median_ns(tl2, RUNS, iters), median_ns(wtl2, RUNS, iters));
	printf("  %-46s %7.0f ns [%.0f]   %.2fx two-line\n",
	       "[info] channel echo (library ring, no bus)", median_ns(ch, RUNS, iters),
	       median_ns(wch, RUNS, iters), pc);
	printf("  ratios: median of the %d paired runs (lowest-highest)\n", RUNS);
	printf("    lean / two-line      %.2fx (%.2f-%.2f)   whole-run %.2fx (%.2f-%.2f)\n", pl,
	       pl_lo, pl_hi, wl, wl_lo, wl_hi);
	printf("    chan / two-line      %.2fx (%.2f-%.2f)\n", pc, pc_lo, pc_hi);
	printf("  per run, ns (two-line lean two-line chan):");
	for (int r = 0; r < RUNS; r++)
		printf("%s%.0f %.0f %.0f %.0f", r ? ", " : " ", (double)tl[r] / iters,
		       (double)ln[r] / iters, (double)tl2[r] / iters, (double)ch[r] / iters);
	printf("\n");
	return 0;
}

/* ---- [info] streaming: messages one way, as fast as they are taken ---- */

/*
 * MODE stream [info]: what the bus carries per second, not how fast it
 * answers one message. Per round, in one driver/device pair (busy-polling,
 * pinned like the PING runs), the driver sends @iters messages:
 *   chan    16-byte messages on the channel alone (vmsg_shm_chan_send with
 *           the kick check, as the shm bus sends), the device takes them
 *           with vmsg_shm_chan_recv and checks their sequence numbers;
 *           the baseline;
 *   events  EVENT_AVAIL (16 bytes) through both bus stacks: encode, shm
 *           bus, ring; on the device decode, routing by device number and
 *           the device's handler, which checks next_offset counts up; a
 *           PING after the last one says all were handled (the ring keeps
 *           their order);
 *   calls   GET_DEVICE_INFO requests with up to 8 in flight (submit, poll
 *           for completions), each answered by the device's handler with
 *           vmsg_bus_respond(): tokens, the in-flight table and the
 *           response path.
 * Per message: the median interval of the sender's timestamps (one per
 * 1/256 of the run), as elsewhere; the ratios are per round.
 */
struct stream_flags {
	_Atomic int want_raw; /* driver: the next messages are raw */
	_Atomic int raw_ready; /* device: left its bus loop, takes them raw */
};

struct stream_dev {
	uint32_t expect; /* the next EVENT_AVAIL's next_offset */
	uint64_t errors;
};

static void stream_dev_fn(void *ctx, struct vmsg_bus *bus, const struct vmsg_msg *m)
{
	struct stream_dev *sd = ctx;
	struct vmsg_msg resp = { 0 };

	if (m->msg_id == VMSG_ID_EVENT_AVAIL) {
		if (m->u.event_avail.next_offset != sd->expect)
			sd->errors++;
		sd->expect = m->u.event_avail.next_offset + 1;
		return;
	}
	if (m->msg_id != VMSG_ID_GET_DEVICE_INFO) {
		sd->errors++;
		return;
	}
	resp.u.device_info.device_id = 4;
	resp.u.device_info.vendor_id = 0x47534D56;
	resp.u.device_info.num_feature_blocks = 2;
	resp.u.device_info.max_virtqueues = 1;
	if (vmsg_bus_respond(bus, m, &resp))
		sd->errors++;
}

static unsigned stream_done;

static void stream_call_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	(void)ctx;
	if (status == 0 && resp->u.device_info.device_id == 4)
		stream_done++;
}

/* Driver: @iters raw 16-byte messages, then wait for the device's ack. */
static int stream_chan(struct side *s, struct stream_flags *f, unsigned iters, uint64_t *t,
		       uint64_t *whole)
{
	struct vmsg_shm_chan *ch = s->port.sb.ch;
	struct timer tm;
	uint8_t m[16] = { 0 };

	atomic_store(&f->want_raw, 1);
	if (vmsg_bus_ping(&s->bus, 1, SECOND)) /* ends the device's wait */
		return -1;
	give_back_rx(s);
	while (!atomic_load(&f->raw_ready))
		;
	tm_start(&tm, iters);
	for (uint32_t i = 0; i < iters; i++) {
		memcpy(m, &i, sizeof(i));
		while (vmsg_shm_chan_send(ch, m, sizeof(m)) == VMSG_EAGAIN)
			; /* full: the device is busy taking them */
		(void)vmsg_shm_chan_need_kick(ch);
		tm_tick(&tm);
	}
	if (raw_recv(ch, m, sizeof(m)) != (int)sizeof(m)) /* the ack */
		return -1;
	*t = tm_result(&tm, iters, whole);
	atomic_store(&f->raw_ready, 0);
	return 0;
}

/* Device: take the raw messages, check them, ack the last. */
static int stream_chan_take(struct side *s, struct stream_flags *f, unsigned iters)
{
	struct vmsg_shm_chan *ch = s->port.sb.ch;
	uint8_t m[16];
	uint32_t seq;

	give_back_rx(s);
	atomic_store(&f->want_raw, 0);
	atomic_store(&f->raw_ready, 1);
	for (uint32_t i = 0; i < iters; i++) {
		if (raw_recv(ch, m, sizeof(m)) != (int)sizeof(m))
			return -1;
		memcpy(&seq, m, sizeof(seq));
		if (seq != i)
			return -1;
	}
	return raw_send(ch, m, sizeof(m), true);
}

/*
 * One more figure: the same events in corked bursts of STREAM_BURST, one
 * kick check per burst (vmsg_bus_cork(); bench/README.md, "Channel
 * streaming: where the time goes").
 */
#define STREAM_FIGS 4 /* channel, EVENT_AVAIL, calls, corked EVENT_AVAIL */
#define STREAM_BURST 16u

/* Driver: @iters EVENT_AVAIL numbered from @first, in corked bursts of
 * @burst (0: none), then a PING that comes back after them. */
static int stream_events(struct side *s, unsigned iters, uint32_t first, unsigned burst,
			 uint64_t *t, uint64_t *whole)
{
	struct vmsg_msg ev = { .msg_id = VMSG_ID_EVENT_AVAIL, .dev_num = 1 };
	struct timer tm;
	int r;

	tm_start(&tm, iters);
	for (uint32_t i = 0; i < iters; i++) {
		ev.u.event_avail.next_offset = first + i;
		if (burst && i % burst == 0)
			(void)vmsg_bus_cork(&s->bus, true);
		while ((r = vmsg_bus_send_event(&s->bus, &ev)) == VMSG_EAGAIN)
			if (vmsg_bus_poll(&s->bus) < 0)
				return -1;
		if (r)
			return -1;
		if (burst && (i % burst == burst - 1 || i + 1 == iters))
			(void)vmsg_bus_cork(&s->bus, false);
		tm_tick(&tm);
	}
	if (vmsg_bus_ping(&s->bus, 2, SECOND))
		return -1;
	*t = tm_result(&tm, iters, whole);
	return 0;
}

/* Driver: @iters GET_DEVICE_INFO with up to 8 in flight. */
static int stream_calls(struct side *s, unsigned iters, uint64_t *t, uint64_t *whole)
{
	struct vmsg_msg req = { .msg_id = VMSG_ID_GET_DEVICE_INFO, .dev_num = 1 };
	struct timer tm;
	unsigned sent = 0, seen = 0;
	int r;

	stream_done = 0;
	tm_start(&tm, iters);
	while (stream_done < iters) {
		r = sent < iters ? vmsg_bus_submit(&s->bus, &req, SECOND, stream_call_done, 0) :
				   VMSG_EBUSY;
		if (r == 0) {
			sent++;
			continue;
		}
		if (r != VMSG_EBUSY && r != VMSG_EAGAIN)
			return -1;
		if (vmsg_bus_poll(&s->bus) < 0)
			return -1;
		for (; seen < stream_done; seen++)
			tm_tick(&tm);
	}
	for (; seen < stream_done; seen++)
		tm_tick(&tm);
	*t = tm_result(&tm, iters, whole);
	return s->bus.stats.timeouts ? -1 : 0;
}

/* One round in a child whose stdout is a pipe: the three figures. */
static int stream_pair(unsigned iters)
{
	static struct side dev, drv;
	static struct stream_dev sd;
	struct stream_flags *f = mmap(0, sizeof(*f), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char path[64];
	pid_t child;
	int st = 1;

	if (f == MAP_FAILED)
		return 1;
	atomic_store(&f->want_raw, 0);
	atomic_store(&f->raw_ready, 0);
	snprintf(path, sizeof(path), "/tmp/vmsg-bench-%d.sock", (int)getpid());
	if (open_side(&dev, path, true, 50 * SECOND) ||
	    vmsg_bus_add_device(&dev.bus, 1, stream_dev_fn, &sd, false))
		return 1;
	child = fork();
	if (child == 0) {
		uint64_t t[STREAM_FIGS], w[STREAM_FIGS];

		pin(1);
		if (open_side(&drv, path, false, 50 * SECOND) || vmsg_bus_discover(&drv.bus, SECOND) != 1)
			_exit(1);
		for (unsigned i = 0; i < 1000; i++) /* warm up */
			if (vmsg_bus_ping(&drv.bus, i, SECOND))
				_exit(1);
		if (stream_chan(&drv, f, iters, &t[0], &w[0]) ||
		    stream_events(&drv, iters, 0, 0, &t[1], &w[1]) ||
		    stream_calls(&drv, iters, &t[2], &w[2]))
			_exit(1);
		if (stream_events(&drv, iters, iters, STREAM_BURST, &t[3], &w[3]))
			_exit(1);
		printf("%llu %llu %llu %llu\n", (unsigned long long)t[0],
		       (unsigned long long)t[1], (unsigned long long)t[2], (unsigned long long)t[3]);
		fflush(stdout);
		_exit(vmsg_bus_close(&drv.bus) ? 1 : 0);
	}
	pin(0);
	for (;;) {
		int n;

		if (atomic_load(&f->want_raw) && stream_chan_take(&dev, f, iters))
			break;
		n = vmsg_bus_wait(&dev.bus, SECOND / 10);
		if (n < 0)
			break;
		if (n == 0 && waitpid(child, &st, WNOHANG) == child)
			break;
	}
	(void)vmsg_bus_close(&dev.bus);
	if (sd.errors || sd.expect != 2 * iters) { /* plain, then corked */
		fprintf(stderr, "bench_bus: stream: device saw %llu errors, %u events\n",
			(unsigned long long)sd.errors, sd.expect);
		return 1;
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int stream_child(void *arg)
{
	return stream_pair(*(unsigned *)arg);
}

static int stream_mode(unsigned iters)
{
	uint64_t t[STREAM_FIGS][RUNS];
	double ev, ev_lo, ev_hi, ca, ca_lo, ca_hi, ck, ck_lo, ck_hi;

	for (int r = 0; r < RUNS; r++) {
		char buf[128];
		unsigned long long a = 0, b = 0, c = 0, d = 0;
		int st;

		if (child_output(stream_child, &iters, buf, sizeof(buf), &st) <= 0 ||
		    sscanf(buf, "%llu %llu %llu %llu", &a, &b, &c, &d) != 4 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_bus: stream round %d failed\n", r);
			return 1;
		}
		t[0][r] = a;
		t[1][r] = b;
		t[2][r] = c;
		t[3][r] = d;
	}
	ev = paired_ratio(t[1], t[0], RUNS, &ev_lo, &ev_hi);
	ca = paired_ratio(t[2], t[0], RUNS, &ca_lo, &ca_hi);
	printf("[info] streaming driver -> device over posix-shm, two processes on CPUs 0 and 1, "
	       "%u messages per run, %d runs;\nper run the median of %d intervals, then the "
	       "median run\n",
	       iters, RUNS, CHUNKS);
	printf("  %-52s %7.1f ns/msg\n", "baseline: channel alone, 16-byte messages",
	       median_ns(t[0], RUNS, iters));
	printf("  %-52s %7.1f ns/msg   %.2fx channel (%.2f-%.2f)\n",
	       "EVENT_AVAIL through both bus stacks", median_ns(t[1], RUNS, iters), ev, ev_lo,
	       ev_hi);
	printf("  %-52s %7.1f ns/msg   %.2fx channel (%.2f-%.2f)\n",
	       "GET_DEVICE_INFO calls, 8 in flight", median_ns(t[2], RUNS, iters), ca, ca_lo,
	       ca_hi);
	ck = paired_ratio(t[3], t[1], RUNS, &ck_lo, &ck_hi);
	printf("  %-52s %7.1f ns/msg   %.2fx EVENT_AVAIL (%.2f-%.2f)\n",
	       "EVENT_AVAIL, corked bursts of 16 (vmsg_bus_cork)",
	       median_ns(t[3], RUNS, iters), ck, ck_lo, ck_hi);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	uint64_t tl[RUNS], ev[RUNS], bb[RUNS], bs[RUNS];    /* median interval */
	uint64_t wtl[RUNS], wev[RUNS], wbb[RUNS], wbs[RUNS]; /* whole run */
	double k_busy = 0, k_sleep = 0, two, evn, busy, sleep, pb, pb_lo, pb_hi, ps, ps_lo, ps_hi;
	double wb, wb_lo, wb_hi;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 3)
		slot_size = (uint32_t)atoi(argv[3]);
	if (argc > 4)
		num_elems = (uint32_t)atoi(argv[4]);
	if (argc > 2 && strcmp(argv[2], "icount") == 0)
		return icount(iters);
	if (argc > 2 && strcmp(argv[2], "lean") == 0) /* [info]: the floor of a bus */
		return lean_mode(iters);
	if (argc > 2 && (strcmp(argv[2], "chan") == 0 || strcmp(argv[2], "chan0") == 0)) {
		raw_chan = true; /* the channel alone [info] */
		chan_kick = argv[2][4] != '0';
		return one_mode(iters, 50 * SECOND,
				chan_kick ? "channel echo" : "channel echo without kick check");
	}
	if (argc > 2 && (strcmp(argv[2], "drvraw") == 0 || strcmp(argv[2], "devraw") == 0)) {
		split = argv[2][1] == 'r' ? 1 : 2; /* [info]: one side raw */
		return one_mode(iters, 50 * SECOND, argv[2]);
	}
	if (argc > 2 && strcmp(argv[2], "stream") == 0) /* [info]: throughput */
		return stream_mode(iters);
	if (argc > 2 && strcmp(argv[2], "sleep") == 0) /* the sleeping bus alone */
		return one_mode(iters, 0, "bus PING");
	if (argc > 2 && strcmp(argv[2], "busy") == 0) /* for profiling one path */
		return one_mode(iters, 50 * SECOND, "bus PING");
	for (int r = 0; r < RUNS; r++) {
		/* Each figure right after its baseline: the pairs below. */
		tl[r] = two_line(iters, &wtl[r]);
		bb[r] = bus_round(iters, 50 * SECOND, &k_busy, &wbb[r]); /* spin, never sleep */
		ev[r] = eventfd_pp(iters, &wev[r]);
		bs[r] = bus_round(iters, 0, &k_sleep, &wbs[r]);
		if (!bb[r] || !bs[r]) {
			fprintf(stderr, "bench_bus: a bus run failed\n");
			return 1;
		}
	}
	two = median_ns(tl, RUNS, iters);
	evn = median_ns(ev, RUNS, iters);
	busy = median_ns(bb, RUNS, iters);
	sleep = median_ns(bs, RUNS, iters);
	pb = paired_ratio(bb, tl, RUNS, &pb_lo, &pb_hi);
	ps = paired_ratio(bs, ev, RUNS, &ps_lo, &ps_hi);
	wb = paired_ratio(wbb, wtl, RUNS, &wb_lo, &wb_hi);
	printf("PING round trip over posix-shm, two processes on CPUs 0 and 1, %u per run, %d runs;\n"
	       "per run the median of %d intervals, then the median run [whole-run median]\n",
	       iters, RUNS, CHUNKS);
	printf("  %-40s %9.0f ns [%.0f]\n", "baseline: two-line ping-pong (busy)", two,
	       median_ns(wtl, RUNS, iters));
	printf("  %-40s %9.0f ns [%.0f]\n", "baseline: eventfd ping-pong (sleeping)", evn,
	       median_ns(wev, RUNS, iters));
	printf("  %-40s %9.0f ns [%.0f]   %.2fx two-line (target <= 1.3x: %s)\n",
	       "bus PING, busy-poll", busy, median_ns(wbb, RUNS, iters), pb,
	       pb <= 1.3 ? "PASS" : "MISS");
	printf("  %-40s %9.0f ns [%.0f]   %.2fx eventfd ping-pong\n", "bus PING, sleeping", sleep,
	       median_ns(wbs, RUNS, iters), ps);
	printf("  ratios: median of the %d paired runs (lowest-highest; ratio of the medians)\n",
	       RUNS);
	printf("    busy / two-line      %.2fx (%.2f-%.2f; %.2f)   whole-run [info] %.2fx (%.2f-%.2f)\n",
	       pb, pb_lo, pb_hi, busy / two, wb, wb_lo, wb_hi);
	printf("    sleeping / eventfd   %.2fx (%.2f-%.2f; %.2f)\n", ps, ps_lo, ps_hi, sleep / evn);
	printf("  kicks per PING (driver side): busy %.3f, sleeping %.3f\n", k_busy, k_sleep);
	return 0;
}
