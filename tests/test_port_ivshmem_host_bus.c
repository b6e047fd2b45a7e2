/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem-host bus (port_ivshmem_host_bus.h) between real processes
 * joined through the project's own ivshmem server (vmsg_ivsh_server_*, run
 * in a forked child): the test process is the device side (the long-lived
 * host daemon, layout owner), forked children are driver sides.
 *
 * Restart: a driver is SIGKILLed in the middle of a PING stream; the device
 * side, never restarted, must see the reset (server notice and lifecycle),
 * follow the next driver to its new server id, and serve it with no stale
 * message. Also the SPSC-v0 layout over the same port.
 *
 * Rules as in test_port_posix_shm.c: no fixed sleeps waiting for the other
 * side (bounded waits on doorbells and pipes, an overall deadline), every
 * child is killed and reaped on every path (the teardown), children never
 * return into cmocka (they _exit; results go through shared memory).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_msg/virtio_msg.h"
#include "virtio_msg/port_ivshmem.h"
#include "virtio_msg/port_ivshmem_host.h"
#include "virtio_msg/port_ivshmem_host_bus.h"

#define DEPTH 8
#include "port_test_util.h"

#ifndef VMSG_STRESS_MSGS
#define VMSG_STRESS_MSGS 10000000
#endif

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define NDEV 32
#define NPINGS (VMSG_STRESS_MSGS >= 10000000 ? 10000 : 2000)
#define DEADLINE (90 * (uint64_t)SEC)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * (uint64_t)SEC + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* Shared results                                                         */
/* ---------------------------------------------------------------------- */

struct dres {
	atomic_int state;        /* 0 running, 1 passed, 2 failed */
	int line;
	atomic_uint id;          /* own server id, once joined (| 0x10000 = set) */
	int found;
	atomic_ullong done;      /* PINGs completed */
	uint64_t ok, bad, timeouts, unmatched, malformed;
};

struct shared {
	struct dres d[2];
};

static struct shared *sh;
static uint64_t transport_requests;
static pid_t pids[3] = { -1, -1, -1 }; /* server, driver 1, driver 2 */
static int hold[2] = { -1, -1 };      /* the server lives while this pipe does */
static int go[2] = { -1, -1 };        /* tells driver 2 to start */
static char sock_path[108];
static unsigned seq;

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int setup(void **state)
{
	(void)state;
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	memset(sh, 0, sizeof *sh);
	transport_requests = 0;
	snprintf(sock_path, sizeof sock_path, "/tmp/vmsg-ivhb-%ld-%u.sock", (long)getpid(), seq++);
	if (pipe2(hold, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		return -1;
	return 0;
}

static void reap(unsigned i)
{
	if (pids[i] > 0) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	pids[i] = -1;
}

static int teardown(void **state)
{
	(void)state;
	reap(1);
	reap(2);
	close_fd(&hold[1]); /* the server sees the hang-up and leaves */
	if (pids[0] > 0) {
		int st;
		uint64_t end = now_ns() + 10 * (uint64_t)SEC;

		while (waitpid(pids[0], &st, WNOHANG) == 0 && now_ns() < end)
			poll(NULL, 0, 10);
		reap(0);
	}
	close_fd(&hold[0]);
	close_fd(&go[0]);
	close_fd(&go[1]);
	munmap(sh, sizeof *sh);
	unlink(sock_path);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The server (a child)                                                   */
/* ---------------------------------------------------------------------- */

static void server_child(void)
{
	struct vmsg_ivsh_server srv;
	struct vmsg_ivsh_server_cfg cfg = { 0 };

	close_fd(&hold[1]);
	close_fd(&go[0]);
	close_fd(&go[1]);
	cfg.socket_path = sock_path;
	cfg.shm_size = 1u << 20;
	cfg.vectors = 1;
	if (vmsg_ivsh_server_open(&srv, &cfg))
		_exit(2);
	for (;;) {
		struct pollfd p[2] = { { vmsg_ivsh_server_fd(&srv), POLLIN, 0 },
				       { hold[0], POLLIN, 0 } };

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break; /* the test is over */
		if (vmsg_ivsh_server_service(&srv) < 0)
			break;
	}
	vmsg_ivsh_server_close(&srv);
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* A driver side (a child)                                                */
/* ---------------------------------------------------------------------- */

static struct vmsg_ivshmem_cfg iv_cfg(enum vmsg_shm_side side, enum vmsg_ivshmem_layout lay)
{
	struct vmsg_ivshmem_cfg ic = { 0 };

	ic.side = side;
	ic.layout = lay;
	ic.owner = side == VMSG_SHM_DEVICE;
	ic.attach_timeout_ns = 30 * (uint64_t)SEC;
	if (lay == VMSG_IVSHMEM_LAYOUT_V0) {
		vmsg_shm_v0_defaults(&ic.v0);
		ic.v0.kick_suppression = true; /* both sides are this library */
	}
	return ic;
}

#define DCHECK(c)                                                                                  \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			r->line = __LINE__;                                                        \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* npings 0: ping until killed. */
static void driver_child(struct dres *r, enum vmsg_ivshmem_layout lay, uint64_t npings,
			 bool wait_go)
{
	static struct vmsg_ivshmem_host port;
	static struct vmsg_bus bus;
	static struct vmsg_bus_req reqs[DEPTH + 2];
	static struct vmsg_bus_dev devs[128];
	static uint8_t rx[1024], tx[1024];
	struct vmsg_ivshmem_host_cfg pc = { 0 };
	struct vmsg_bus_cfg bc = { 0 };
	uint64_t end = now_ns() + DEADLINE, submitted = 0;
	bool open = false;
	int n;

	close_fd(&hold[0]);
	close_fd(&hold[1]);
	close_fd(&go[1]);
	if (wait_go) {
		struct pollfd p = { go[0], POLLIN, 0 };
		char c;

		DCHECK(poll(&p, 1, (int)(DEADLINE / (uint64_t)MS)) == 1);
		DCHECK(read(go[0], &c, 1) == 1);
	}
	pc.socket_path = sock_path;
	pc.iv = iv_cfg(VMSG_SHM_DRIVER, lay);
	pc.connect_timeout_ms = 20000;
	DCHECK(vmsg_ivshmem_host_open(&port, &pc) == 0);
	atomic_store(&r->id, 0x10000u | vmsg_ivshmem_host_id(&port));
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_ivshmem_host_bus(&port);
	bc.role = VMSG_BUS_DRIVER;
	bc.reqs = reqs;
	bc.num_reqs = DEPTH + 2;
	bc.devs = devs;
	bc.num_devs = 128;
	bc.rx_buf = rx;
	bc.rx_cap = sizeof rx;
	bc.tx_buf = tx;
	bc.tx_cap = sizeof tx;
	DCHECK(vmsg_bus_init(&bus, &bc) == 0);
	open = true;
	for (;;) {
		n = vmsg_bus_discover(&bus, 2 * (uint64_t)SEC);
		if (n >= 0 || (n != VMSG_EAGAIN && n != VMSG_ETIMEDOUT && n != VMSG_ECONNRESET))
			break;
		DCHECK(now_ns() < end);
		DCHECK(vmsg_bus_wait(&bus, 20 * MS) >= 0);
	}
	r->found = n;
	DCHECK(n == NDEV);
	for (unsigned d = 0; d < NDEV; d++)
		DCHECK(vmsg_bus_device_present(&bus, (uint16_t)(d * 3 + 1)));
	while (!npings || P.done < npings) {
		while (P.inflight < DEPTH && (!npings || submitted < npings)) {
			struct vmsg_msg q = { 0 };
			unsigned i = 0;
			int err;

			while (P.busy[i])
				i++;
			q.type = VMSG_TYPE_BUS;
			q.msg_id = VMSG_BUS_ID_PING;
			/* Every life uses its own values: a stale echo of the
			 * previous driver could never match. */
			q.u.ping.data = (uint32_t)(submitted * 2654435761u) ^
					(atomic_load(&r->id) << 16);
			P.data[i] = q.u.ping.data;
			err = vmsg_bus_submit(&bus, &q, 10 * (uint64_t)SEC, ping_done,
					      (void *)(uintptr_t)i);
			if (err == VMSG_EAGAIN)
				break;
			DCHECK(err == 0);
			P.busy[i] = true;
			P.inflight++;
			submitted++;
		}
		DCHECK(vmsg_bus_wait(&bus, SEC) >= 0);
		atomic_store(&r->done, P.done);
		DCHECK(P.bad == 0);
		DCHECK(now_ns() < end);
	}
	r->ok = P.ok;
	r->bad = P.bad;
	r->timeouts = bus.stats.timeouts;
	r->unmatched = bus.stats.drop_unmatched;
	r->malformed = bus.stats.drop_malformed;
	DCHECK(P.ok == npings);
	DCHECK(r->timeouts == 0 && r->unmatched == 0 && r->malformed == 0);
	(void)vmsg_bus_close(&bus);
	atomic_store(&r->state, 1);
	_exit(0);
out:
	if (open)
		(void)vmsg_bus_close(&bus);
	atomic_store(&r->state, 2);
	_exit(1);
}

/* ---------------------------------------------------------------------- */
/* The device side (the test process)                                     */
/* ---------------------------------------------------------------------- */

static struct vmsg_ivshmem_host dport;
static struct vmsg_bus dbus;
static struct vmsg_bus_req dreqs[4];
static struct vmsg_bus_dev ddevs[NDEV];
static uint8_t drx[1024], dtx[1024];

static void dev_handler(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *m)
{
	(void)ctx;
	(void)b;
	(void)m;
	transport_requests++;
}

static void device_open(enum vmsg_ivshmem_layout lay)
{
	struct vmsg_ivshmem_host_cfg pc = { 0 };
	struct vmsg_bus_cfg bc = { 0 };

	pc.socket_path = sock_path;
	pc.iv = iv_cfg(VMSG_SHM_DEVICE, lay);
	pc.connect_timeout_ms = 20000; /* the server child may start late */
	assert_int_equal(vmsg_ivshmem_host_open(&dport, &pc), 0);
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_ivshmem_host_bus(&dport);
	bc.role = VMSG_BUS_DEVICE;
	bc.reqs = dreqs;
	bc.num_reqs = 4;
	bc.devs = ddevs;
	bc.num_devs = NDEV;
	bc.rx_buf = drx;
	bc.rx_cap = sizeof drx;
	bc.tx_buf = dtx;
	bc.tx_cap = sizeof dtx;
	assert_int_equal(vmsg_bus_init(&dbus, &bc), 0);
	for (unsigned d = 0; d < NDEV; d++)
		assert_int_equal(vmsg_bus_add_device(&dbus, (uint16_t)(d * 3 + 1), dev_handler,
						     NULL, false),
				 0);
}

/* Serve (bounded waits on our doorbell/server fd) until @p done says so. */
typedef bool (*cond_fn)(void);

static void serve_until(cond_fn done, const char *what)
{
	uint64_t end = now_ns() + DEADLINE;

	while (!done()) {
		assert_true(vmsg_bus_wait(&dbus, 20 * MS) >= 0);
		if (now_ns() > end)
			fail_msg("the device side waited in vain for: %s", what);
	}
}

static bool d1_midstream(void)
{
	return atomic_load(&sh->d[0].done) >= 300 || atomic_load(&sh->d[0].state) != 0;
}

static bool reset_seen(void)
{
	return dport.st.our_peer_left >= 1 && dbus.stats.resets >= 1;
}

static bool d2_finished(void)
{
	return atomic_load(&sh->d[1].state) != 0;
}

static bool d2_gone(void)
{
	return dport.st.our_peer_left >= 2;
}

static bool d1_gone(void)
{
	return dport.st.our_peer_left >= 1;
}

static bool d1_finished(void)
{
	return atomic_load(&sh->d[0].state) != 0;
}

static pid_t spawn_driver(unsigned i, enum vmsg_ivshmem_layout lay, uint64_t npings, bool wait_go)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0)
		driver_child(&sh->d[i], lay, npings, wait_go);
	return p;
}

static void spawn_server(void)
{
	pids[0] = fork();
	assert_true(pids[0] >= 0);
	if (pids[0] == 0)
		server_child();
}

static void check_driver(unsigned i, pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || atomic_load(&sh->d[i].state) != 1)
		fail_msg("driver %u failed at line %d (found %d, done %llu, bad %" PRIu64 ")", i + 1,
			 sh->d[i].line, sh->d[i].found, (unsigned long long)sh->d[i].done,
			 sh->d[i].bad);
}

static void test_restart_v1(void **state)
{
	uint32_t id1, id2, peer;
	int st;

	(void)state;
	spawn_server();
	pids[1] = spawn_driver(0, VMSG_IVSHMEM_LAYOUT_V1, 0, false);    /* pings until killed */
	pids[2] = spawn_driver(1, VMSG_IVSHMEM_LAYOUT_V1, NPINGS, true); /* waits for "go" */
	close_fd(&go[0]);
	device_open(VMSG_IVSHMEM_LAYOUT_V1);

	/* Driver 1 discovers and pings; kill it in the middle of the stream
	 * (requests in flight in both rings). */
	serve_until(d1_midstream, "driver 1 pinging");
	assert_int_equal(atomic_load(&sh->d[0].state), 0);
	assert_int_equal(sh->d[0].found, NDEV);
	id1 = atomic_load(&sh->d[0].id) & 0xFFFFu;
	assert_true(vmsg_ivshmem_peer(&dport.iv, &peer));
	assert_int_equal(peer, id1);
	assert_int_equal(dport.iv.st.peer_changes, 0);
	assert_int_equal(kill(pids[1], SIGKILL), 0);
	assert_int_equal(waitpid(pids[1], &st, 0), pids[1]);
	pids[1] = -1;
	assert_true(WIFSIGNALED(st));

	/* The survivor sees the departure (server notice -> ECONNRESET). */
	serve_until(reset_seen, "the reset after driver 1's death");
	assert_int_equal(dport.st.our_peer_left, 1);

	/* Driver 2 joins with a new id and is served from a clean state. */
	assert_int_equal(write(go[1], "g", 1), 1);
	serve_until(d2_finished, "driver 2's PINGs");
	check_driver(1, pids[2]);
	pids[2] = -1;
	id2 = atomic_load(&sh->d[1].id) & 0xFFFFu;
	assert_true(id2 != id1);
	assert_int_equal(sh->d[1].found, NDEV);
	assert_int_equal(sh->d[1].ok, NPINGS);
	assert_int_equal(sh->d[1].unmatched, 0);
	assert_int_equal(sh->d[1].timeouts, 0);
	/* The device side followed it to its new id. */
	assert_true(dport.iv.st.peer_changes >= 1);
	assert_int_equal(dport.iv.peer, (int64_t)id2);
	/* Driver 2's clean close is a second departure. */
	serve_until(d2_gone, "driver 2's departure");
	assert_true(dbus.stats.resets >= 2);
	assert_int_equal(dbus.stats.drop_unmatched, 0);
	assert_int_equal(dbus.stats.drop_malformed, 0);
	assert_int_equal(transport_requests, 0);
	assert_true(dport.st.doorbells_received > 0);
	/* Both drivers joined (driver 1 maybe before the device side did)
	 * and both left. */
	assert_int_equal(dport.st.peers_joined, 2);
	assert_int_equal(dport.st.peers_left, 2);
	(void)vmsg_bus_close(&dbus);
}

static void test_v0_layout(void **state)
{
	uint32_t peer;

	(void)state;
	spawn_server();
	pids[1] = spawn_driver(0, VMSG_IVSHMEM_LAYOUT_V0, NPINGS, false);
	close_fd(&go[0]);
	device_open(VMSG_IVSHMEM_LAYOUT_V0);
	assert_int_equal(vmsg_bus_get_params(&dbus)->max_msg_size, 64);
	serve_until(d1_finished, "the driver's PINGs over SPSC-v0");
	check_driver(0, pids[1]);
	pids[1] = -1;
	assert_int_equal(sh->d[0].found, NDEV);
	assert_int_equal(sh->d[0].ok, NPINGS);
	assert_int_equal(sh->d[0].unmatched, 0);
	assert_true(vmsg_ivshmem_peer(&dport.iv, &peer));
	assert_int_equal(peer, atomic_load(&sh->d[0].id) & 0xFFFFu);
	assert_int_equal(dbus.stats.drop_unmatched, 0);
	assert_int_equal(dbus.stats.drop_malformed, 0);
	/* v0 has no lifecycle: the server's notice is what says it left. */
	serve_until(d1_gone, "the driver's departure");
	(void)vmsg_bus_close(&dbus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restart_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v0_layout, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
