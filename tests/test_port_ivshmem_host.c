/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem server protocol (ports/ivshmem-host/include/virtio_msg/
 * port_ivshmem_host.h): our server and our client in one process (both
 * serviced from one loop), raw sockets checking the server byte by byte,
 * fake servers feeding the client malformed input, and the
 * vmsg-ivshmem-server tool as a separate process.
 *
 * Rules kept here: no fixed sleeps (every wait is on an fd with a bounded
 * timeout and an overall deadline that fails the test), no upper-bound
 * timing assertions, no fd leaks (counted in /proc/self/fd), and every
 * object and child process is released by the teardown on any failure.
 */
#define _GNU_SOURCE /* memfd_create, accept4, MSG_CMSG_CLOEXEC */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/port_ivshmem_host.h"

#include "port_test_util.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define DEADLINE (20 * SEC) /* generous: sanitizers and loaded CI machines */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* Fixture: everything a test opens, released by the teardown             */
/* ---------------------------------------------------------------------- */

#define NCL 8

static struct vmsg_ivsh_server srv, srv2;
static bool srv_open, srv2_open;
static struct vmsg_ivsh_client cls[NCL];
static bool cl_open[NCL];
static char path[108];
static unsigned name_seq;
static pid_t child = -1;

struct evlog {
	unsigned n;
	uint32_t id[512];
	bool conn[512];
};
static struct evlog logs[NCL], srv_log;

static void on_peer_log(void *ctx, uint32_t id, bool connected)
{
	struct evlog *l = ctx;

	if (l->n < 512) {
		l->id[l->n] = id;
		l->conn[l->n] = connected;
		l->n++;
	}
}

static bool log_has(const struct evlog *l, uint32_t id, bool connected)
{
	unsigned i;

	for (i = 0; i < l->n; i++)
		if (l->id[i] == id && l->conn[i] == connected)
			return true;
	return false;
}

static void mk_path(char *out, size_t cap)
{
	snprintf(out, cap, "/tmp/vmsg-ivsh-%ld-%u.sock", (long)getpid(), name_seq++);
}

static bool path_exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	memset(logs, 0, sizeof(logs));
	memset(&srv_log, 0, sizeof(srv_log));
	memset(cl_open, 0, sizeof(cl_open));
	srv_open = srv2_open = false;
	child = -1;
	mk_path(path, sizeof(path));
	return 0;
}

static int teardown(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < NCL; i++)
		if (cl_open[i])
			vmsg_ivsh_client_close(&cls[i]);
	if (srv_open)
		vmsg_ivsh_server_close(&srv);
	if (srv2_open)
		vmsg_ivsh_server_close(&srv2);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, 0, 0);
	}
	unlink(path);
	return 0;
}

static void server_open(uint64_t size, uint32_t vectors)
{
	struct vmsg_ivsh_server_cfg cfg = { .socket_path = path,
					    .shm_size = size,
					    .vectors = vectors,
					    .on_peer = on_peer_log,
					    .ctx = &srv_log };

	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), 0);
	srv_open = true;
}

/* ---------------------------------------------------------------------- */
/* Driving server and clients from one loop                               */
/* ---------------------------------------------------------------------- */

/* One round: wait (bounded) for any of our fds, then service everything. */
static void pump_once(int extra_fd)
{
	struct pollfd pf[NCL + 2];
	nfds_t n = 0;
	unsigned i;

	if (srv_open)
		pf[n++] = (struct pollfd){ vmsg_ivsh_server_fd(&srv), POLLIN, 0 };
	for (i = 0; i < NCL; i++)
		if (cl_open[i] && !cls[i].err)
			pf[n++] = (struct pollfd){ vmsg_ivsh_client_fd(&cls[i]), POLLIN, 0 };
	if (extra_fd >= 0)
		pf[n++] = (struct pollfd){ extra_fd, POLLIN, 0 };
	(void)poll(pf, n, 20);
	if (srv_open)
		assert_true(vmsg_ivsh_server_service(&srv) >= 0);
	for (i = 0; i < NCL; i++) {
		if (cl_open[i] && !cls[i].err) {
			int r = vmsg_ivsh_client_service(&cls[i]);

			if (r < 0)
				fail_msg("client %u: %s", i, vmsg_strerror_name(r));
		}
	}
}

#define PUMP_UNTIL(cond)                                                     \
	do {                                                                 \
		uint64_t end_ = now_ns() + DEADLINE;                         \
		while (!(cond)) {                                            \
			if (now_ns() > end_)                                 \
				fail_msg("timed out waiting for %s", #cond); \
			pump_once(-1);                                       \
		}                                                            \
	} while (0)

static void client_start(unsigned i)
{
	assert_int_equal(vmsg_ivsh_client_start(&cls[i], path), 0);
	cl_open[i] = true;
	vmsg_ivsh_client_set_peer_cb(&cls[i], on_peer_log, &logs[i]);
}

static void client_close(unsigned i)
{
	vmsg_ivsh_client_close(&cls[i]);
	cl_open[i] = false;
}

/* Start client i and wait until it has its id, shm and all its vectors. */
static void client_join(unsigned i, uint32_t vectors)
{
	client_start(i);
	PUMP_UNTIL(vmsg_ivsh_client_ready(&cls[i]) && vmsg_ivsh_client_vectors(&cls[i]) == vectors);
}

/* Wait until client i sees a doorbell; return how many it drained. */
static uint64_t wait_doorbell(unsigned i)
{
	uint64_t cnt = 0;

	assert_int_equal(vmsg_ivsh_client_wait(&cls[i], 10 * SEC), 0);
	assert_int_equal(vmsg_ivsh_client_drain(&cls[i], &cnt), 0);
	return cnt;
}

/* ---------------------------------------------------------------------- */
/* Server and client together                                             */
/* ---------------------------------------------------------------------- */

static void test_ivsh_two_clients_ring_and_share(void **state)
{
	uint8_t *ma, *mb;
	void *pa, *pb;
	size_t sa, sb, k;
	uint32_t id;
	uint64_t cnt;

	(void)state;
	server_open(64 * 1024, 2);
	client_join(0, 2);
	assert_int_equal(vmsg_ivsh_client_id(&cls[0]), 0);
	assert_int_equal(vmsg_ivsh_client_shm_size(&cls[0]), 64 * 1024);
	assert_true(vmsg_ivsh_client_shm_fd(&cls[0]) >= 0);
	assert_int_equal(vmsg_ivsh_client_peer_count(&cls[0]), 0);

	client_join(1, 2);
	assert_int_equal(vmsg_ivsh_client_id(&cls[1]), 1);
	PUMP_UNTIL(vmsg_ivsh_client_peer_vectors(&cls[0], 1) == 2);
	/* Existing peers arrive in the handshake burst. */
	assert_int_equal(vmsg_ivsh_client_peer_vectors(&cls[1], 0), 2);
	assert_true(vmsg_ivsh_client_has_peer(&cls[1], 0));
	assert_false(vmsg_ivsh_client_has_peer(&cls[1], 1)); /* never ourselves */
	assert_int_equal(vmsg_ivsh_client_peer_count(&cls[1]), 1);
	assert_int_equal(vmsg_ivsh_client_peer_at(&cls[1], 0, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(vmsg_ivsh_client_peer_at(&cls[1], 1, &id), VMSG_ENOENT);
	assert_true(log_has(&logs[0], 1, true));
	assert_true(log_has(&logs[1], 0, true));
	assert_int_equal(logs[0].n, 1);
	assert_int_equal(logs[1].n, 1);
	assert_true(log_has(&srv_log, 0, true) && log_has(&srv_log, 1, true));
	assert_int_equal(vmsg_ivsh_server_peer_count(&srv), 2);

	/* Nothing rang yet. */
	assert_int_equal(vmsg_ivsh_client_wait(&cls[1], 0), VMSG_ETIMEDOUT);
	assert_int_equal(vmsg_ivsh_client_drain(&cls[1], &cnt), 0);
	assert_int_equal(cnt, 0);

	/* Each vector of each direction. */
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 1, 1), 0);
	assert_int_equal(wait_doorbell(1), 1);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 1, 0), 0);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 1, 0), 0);
	assert_int_equal(wait_doorbell(1), 2);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[1], 0, 0), 0);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[1], 0, 1), 0);
	assert_int_equal(wait_doorbell(0), 2);
	assert_int_equal(vmsg_ivsh_client_wait(&cls[0], 0), VMSG_ETIMEDOUT);
	/* Ourselves, on an own vector. */
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 0, 1), 0);
	assert_int_equal(wait_doorbell(0), 1);
	/* Unknown peer or vector. */
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 7, 0), VMSG_ENOENT);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 1, 2), VMSG_ENOENT);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 0, 2), VMSG_ENOENT);

	/* One memory, two mappings. */
	assert_int_equal(vmsg_ivsh_client_map(&cls[0], &pa, &sa), 0);
	assert_int_equal(vmsg_ivsh_client_map(&cls[1], &pb, &sb), 0);
	assert_int_equal(sa, 64 * 1024);
	assert_int_equal(sb, 64 * 1024);
	ma = pa;
	mb = pb;
	for (k = 0; k < sa; k++)
		ma[k] = (uint8_t)(k * 7 + 3);
	for (k = 0; k < sb; k++)
		if (mb[k] != (uint8_t)(k * 7 + 3))
			fail_msg("byte %zu differs", k);
	mb[100] = 0x5a;
	assert_int_equal(ma[100], 0x5a);
	/* The same mapping again. */
	assert_int_equal(vmsg_ivsh_client_map(&cls[0], &pb, &sb), 0);
	assert_ptr_equal(pb, pa);
}

static void test_ivsh_ids_departures_and_new_ids(void **state)
{
	unsigned i;

	(void)state;
	server_open(0, 1); /* 0 = the 4 MiB default */
	for (i = 0; i < 3; i++) {
		client_join(i, 1);
		assert_int_equal(vmsg_ivsh_client_id(&cls[i]), i);
		assert_int_equal(vmsg_ivsh_client_shm_size(&cls[i]), 4u << 20);
	}
	PUMP_UNTIL(vmsg_ivsh_client_peer_count(&cls[0]) == 2 &&
		   vmsg_ivsh_client_peer_count(&cls[1]) == 2);

	/* Peer 1 leaves: the others are told and forget it. */
	client_close(1);
	PUMP_UNTIL(!vmsg_ivsh_client_has_peer(&cls[0], 1) &&
		   !vmsg_ivsh_client_has_peer(&cls[2], 1));
	assert_true(log_has(&logs[0], 1, false));
	assert_true(log_has(&logs[2], 1, false));
	assert_true(log_has(&srv_log, 1, false));
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 1, 0), VMSG_ENOENT);
	assert_int_equal(vmsg_ivsh_server_peer_count(&srv), 2);

	/* It comes back: a new id (3, never 1 again), and everyone learns it. */
	memset(&logs[1], 0, sizeof(logs[1]));
	client_join(1, 1);
	assert_int_equal(vmsg_ivsh_client_id(&cls[1]), 3);
	PUMP_UNTIL(vmsg_ivsh_client_has_peer(&cls[0], 3) && vmsg_ivsh_client_has_peer(&cls[2], 3));
	assert_true(log_has(&logs[0], 3, true));
	assert_true(log_has(&logs[2], 3, true));
	assert_true(log_has(&logs[1], 0, true) && log_has(&logs[1], 2, true));
	assert_false(vmsg_ivsh_client_has_peer(&cls[1], 1));
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 3, 0), 0);
	assert_int_equal(wait_doorbell(1), 1);

	/* The server goes away: every client sees the hang-up, latched, and
	 * the doorbells it knows keep working (eventfds need no server). */
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	assert_false(path_exists(path));
	for (i = 0; i < 3; i++) {
		assert_int_equal(vmsg_ivsh_client_wait(&cls[i], 10 * SEC), 0);
		assert_int_equal(vmsg_ivsh_client_service(&cls[i]), VMSG_ECONNRESET);
		assert_int_equal(vmsg_ivsh_client_service(&cls[i]), VMSG_ECONNRESET);
	}
	assert_int_equal(vmsg_ivsh_client_ring(&cls[2], 0, 0), 0);
	assert_int_equal(wait_doorbell(0), 1);
}

/* ---------------------------------------------------------------------- */
/* The server, byte by byte                                               */
/* ---------------------------------------------------------------------- */

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

/*
 * Read one 8-byte message from a raw socket, servicing the in-process
 * server while waiting. *fd = the fd that came with it or -1. Returns false
 * on end of stream.
 */
static bool raw_recv(int s, int64_t *val, int *fd)
{
	uint8_t b[8];
	size_t got = 0;
	uint64_t end = now_ns() + DEADLINE;

	*fd = -1;
	while (got < 8) {
		char ctl[CMSG_SPACE(8 * sizeof(int))];
		struct iovec iov = { b + got, 8 - got };
		struct msghdr mh = { 0 };
		struct cmsghdr *c;
		ssize_t n;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (now_ns() > end)
				fail_msg("timed out waiting for a server message");
			pump_once(s);
			continue;
		}
		assert_true(n >= 0);
		if (n == 0) {
			assert_int_equal(got, 0);
			return false;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				/* Exactly one fd per message, never two. */
				assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(int)));
				assert_int_equal(*fd, -1);
				memcpy(fd, CMSG_DATA(c), sizeof(int));
			}
		}
		got += (size_t)n;
	}
	*val = (int64_t)vmsg_get_le64(b);
	return true;
}

/* Expect (val, fd present?) next; returns the fd (owned by the caller). */
static int expect_msg(int s, int64_t val, bool with_fd)
{
	int64_t v = 0;
	int fd = -1;

	assert_true(raw_recv(s, &v, &fd));
	if (v != val || (fd >= 0) != with_fd)
		fail_msg("got (%" PRId64 ", %s), want (%" PRId64 ", %s)", v,
			 fd >= 0 ? "fd" : "no fd", val, with_fd ? "fd" : "no fd");
	return fd;
}

/* After a service pass, nothing more may be pending on @s. */
static void expect_nothing(int s)
{
	uint8_t b;

	assert_true(vmsg_ivsh_server_service(&srv) >= 0);
	assert_int_equal(recv(s, &b, 1, MSG_DONTWAIT | MSG_PEEK), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Two fds are the same eventfd when a write to one is read from the other. */
static void assert_same_eventfd(int a, int b)
{
	uint64_t v = 5, r = 0;

	assert_int_equal(write(a, &v, 8), 8);
	assert_int_equal(read(b, &r, 8), 8);
	assert_int_equal(r, 5);
}

static void test_ivsh_server_wire_sequence(void **state)
{
	int a, b, c, fd, shm, a_own[2], b_own[2], a_b[2], b_a[2], c_a[2], c_b[2], junk;
	struct stat st;
	unsigned v;
	int before = count_fds();

	(void)state;
	server_open(1u << 20, 2);

	/* First peer: version, id 0, shm, then its own two vectors. */
	a = raw_connect();
	assert_int_equal(expect_msg(a, 0, false), -1);
	assert_int_equal(expect_msg(a, 0, false), -1);
	shm = expect_msg(a, -1, true);
	assert_int_equal(fstat(shm, &st), 0);
	assert_int_equal(st.st_size, 1u << 20);
	close(shm);
	for (v = 0; v < 2; v++)
		a_own[v] = expect_msg(a, 0, true);
	expect_nothing(a);

	/* Second peer: version, id 1, shm, peer 0 x 2 vectors, own 1 x 2. */
	b = raw_connect();
	expect_msg(b, 0, false);
	expect_msg(b, 1, false);
	close(expect_msg(b, -1, true));
	for (v = 0; v < 2; v++)
		b_a[v] = expect_msg(b, 0, true);
	for (v = 0; v < 2; v++)
		b_own[v] = expect_msg(b, 1, true);
	expect_nothing(b);
	/* ...and the first peer learns 1 x 2. */
	for (v = 0; v < 2; v++)
		a_b[v] = expect_msg(a, 1, true);
	expect_nothing(a);
	for (v = 0; v < 2; v++) {
		assert_same_eventfd(b_a[v], a_own[v]);
		assert_same_eventfd(a_b[v], b_own[v]);
	}
	/* The vectors are distinct eventfds. */
	{
		uint64_t one = 1, r;

		assert_int_equal(write(a_b[0], &one, 8), 8);
		assert_int_equal(read(b_own[1], &r, 8), -1);
		assert_int_equal(read(b_own[0], &r, 8), 8);
	}

	/* Bytes (and an fd) written by a peer are ignored, not trusted. */
	junk = eventfd(0, EFD_CLOEXEC);
	{
		uint8_t garbage[24] = { 0xff, 1, 2, 3 };
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { garbage, sizeof(garbage) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		memset(ctl, 0, sizeof(ctl));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &junk, sizeof(int));
		assert_int_equal(sendmsg(a, &mh, 0), (ssize_t)sizeof(garbage));
	}
	close(junk);
	pump_once(-1);
	pump_once(-1);
	assert_int_equal(vmsg_ivsh_server_peer_count(&srv), 2);

	/* Third peer: peers 0 and 1 in the order they joined, then itself. */
	c = raw_connect();
	expect_msg(c, 0, false);
	expect_msg(c, 2, false);
	close(expect_msg(c, -1, true));
	for (v = 0; v < 2; v++)
		c_a[v] = expect_msg(c, 0, true);
	for (v = 0; v < 2; v++)
		c_b[v] = expect_msg(c, 1, true);
	for (v = 0; v < 2; v++)
		close(expect_msg(c, 2, true));
	expect_nothing(c);
	for (v = 0; v < 2; v++) {
		close(expect_msg(a, 2, true));
		close(expect_msg(b, 2, true));
		assert_same_eventfd(c_a[v], a_own[v]);
		assert_same_eventfd(c_b[v], b_own[v]);
		close(c_a[v]);
		close(c_b[v]);
	}

	/* Peer 1 hangs up: the departed id, without fd, to each other peer. */
	close(b);
	fd = expect_msg(a, 1, false);
	assert_int_equal(fd, -1);
	expect_msg(c, 1, false);
	expect_nothing(a);
	expect_nothing(c);
	assert_int_equal(vmsg_ivsh_server_peer_count(&srv), 2);

	/* A newcomer gets id 3 and only the live peers 0 and 2. */
	b = raw_connect();
	expect_msg(b, 0, false);
	expect_msg(b, 3, false);
	close(expect_msg(b, -1, true));
	for (v = 0; v < 2; v++)
		close(expect_msg(b, 0, true));
	for (v = 0; v < 2; v++)
		close(expect_msg(b, 2, true));
	for (v = 0; v < 2; v++)
		close(expect_msg(b, 3, true));
	expect_nothing(b);

	for (v = 0; v < 2; v++) {
		close(a_own[v]);
		close(b_own[v]);
		close(a_b[v]);
		close(b_a[v]);
	}
	close(a);
	close(b);
	close(c);
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	assert_int_equal(count_fds(), before);
}

/* A peer that does not read while others come and go: the server queues
 * (keeping its own copies of the fds) and delivers everything, in order,
 * once the peer reads again; nobody else waits for it. */
static void test_ivsh_server_queues_for_slow_peer(void **state)
{
	int a, fd, own[64];
	uint32_t ids[32];
	unsigned cycles = 0, i, v;
	int before = count_fds();

	(void)state;
	/* Up to 12 x 64 fds in flight plus a joining peer's 128: the kernel
	 * counts fds in flight against RLIMIT_NOFILE too. */
	{
		struct rlimit rl;

		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		if (rl.rlim_cur < 2048 && rl.rlim_max > rl.rlim_cur) {
			rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		}
		if (rl.rlim_cur < 1024) {
			print_message("skipped: RLIMIT_NOFILE %ld < 1024\n", (long)rl.rlim_cur);
			skip();
		}
	}
	server_open(64 * 1024, 64);
	a = raw_connect();
	expect_msg(a, 0, false);
	expect_msg(a, 0, false);
	close(expect_msg(a, -1, true));
	for (v = 0; v < 64; v++)
		own[v] = expect_msg(a, 0, true);

	/* Peers join (64 fds to a each) and leave until a's socket is full,
	 * plus a few more; bounded, the fds in flight count against the
	 * process's limit. */
	while (cycles < 12 && (!srv.npeers || srv.peers[0].q_len == 0 || cycles < 8)) {
		client_join(1, 64);
		ids[cycles++] = vmsg_ivsh_client_id(&cls[1]);
		client_close(1);
		pump_once(-1);
		pump_once(-1);
	}
	if (srv.peers[0].q_len == 0)
		print_message("note: the socket never filled up; the queue was not exercised\n");
	/* Everything arrives, in order. */
	for (i = 0; i < cycles; i++) {
		for (v = 0; v < 64; v++)
			close(expect_msg(a, ids[i], true));
		fd = expect_msg(a, ids[i], false);
		assert_int_equal(fd, -1);
	}
	expect_nothing(a);
	assert_int_equal(srv.peers[0].q_len, 0);
	for (v = 0; v < 64; v++)
		close(own[v]);
	close(a);
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	assert_int_equal(count_fds(), before);
}

/* ---------------------------------------------------------------------- */
/* Server limits                                                          */
/* ---------------------------------------------------------------------- */

static void test_ivsh_server_config_checks(void **state)
{
	struct vmsg_ivsh_server_cfg cfg = { .socket_path = path, .shm_size = 3u << 20 };
	char other[108];
	int before = count_fds(), f, mfd;
	void *m;

	(void)state;
	/* Not a power of two: QEMU would abort on the BAR. */
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	cfg.shm_size = (1u << 20) + 4096;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	assert_false(path_exists(path));
	cfg.shm_size = 1u << 20;
	cfg.vectors = VMSG_IVSH_MAX_VECTORS + 1;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	cfg.vectors = 1;
	cfg.max_peers = VMSG_IVSH_MAX_PEERS + 1;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	cfg.max_peers = 0;
	cfg.socket_path = 0;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	cfg.socket_path = path;
	assert_int_equal(count_fds(), before);

	/* A regular file at the path is never replaced. */
	f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(f >= 0);
	close(f);
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EBUSY);
	assert_true(path_exists(path));
	unlink(path);

	/* A live server keeps its path; a dead one's socket is reused. */
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), 0);
	srv_open = true;
	assert_int_equal(vmsg_ivsh_server_open(&srv2, &cfg), VMSG_EBUSY);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		/* A stale socket: bound, never listened, closed. */
		mk_path(other, sizeof(other));
		memcpy(sa.sun_path, other, strlen(other) + 1);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s);
		cfg.socket_path = other;
		assert_int_equal(vmsg_ivsh_server_open(&srv2, &cfg), 0);
		srv2_open = true;
		vmsg_ivsh_server_close(&srv2);
		srv2_open = false;
		assert_false(path_exists(other));
		cfg.socket_path = path;
	}
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	vmsg_ivsh_server_close(&srv); /* twice is fine */

	/* An existing shm fd, size taken from it: peers see its bytes. */
	mfd = memfd_create("test", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 8192), 0);
	assert_int_equal(pwrite(mfd, "hello", 5, 4096), 5);
	cfg.shm_size = 0;
	cfg.use_shm_fd = true;
	cfg.shm_fd = mfd;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), 0);
	srv_open = true;
	assert_int_equal(vmsg_ivsh_server_shm_size(&srv), 8192);
	client_join(0, 1);
	{
		size_t sz;

		assert_int_equal(vmsg_ivsh_client_map(&cls[0], &m, &sz), 0);
		assert_int_equal(sz, 8192);
		assert_memory_equal((uint8_t *)m + 4096, "hello", 5);
	}
	client_close(0);
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	/* ...and a size that is not a power of two is refused there too. */
	assert_int_equal(ftruncate(mfd, 8192 + 4096), 0);
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), VMSG_EINVAL);
	close(mfd);

	/* A named shm object (the name is left for its owner to remove). */
	{
		char name[64];
		struct vmsg_ivsh_server_cfg nc = { .socket_path = path, .shm_size = 1u << 16 };

		snprintf(name, sizeof(name), "vmsg-ivsh-test-%ld", (long)getpid());
		nc.shm_name = name;
		assert_int_equal(vmsg_ivsh_server_open(&srv, &nc), 0);
		srv_open = true;
		client_join(0, 1);
		assert_int_equal(vmsg_ivsh_client_shm_size(&cls[0]), 1u << 16);
		client_close(0);
		vmsg_ivsh_server_close(&srv);
		srv_open = false;
		snprintf(name, sizeof(name), "/vmsg-ivsh-test-%ld", (long)getpid());
		assert_int_equal(shm_unlink(name), 0);
	}
	assert_int_equal(count_fds(), before);
}

/* A refused client sees a hang-up during its handshake. */
static void expect_refused(unsigned i)
{
	uint64_t end = now_ns() + DEADLINE;
	int r = 0;

	assert_int_equal(vmsg_ivsh_client_start(&cls[i], path), 0);
	cl_open[i] = true;
	while (r >= 0) {
		struct pollfd pf[2] = { { vmsg_ivsh_server_fd(&srv), POLLIN, 0 },
					{ vmsg_ivsh_client_fd(&cls[i]), POLLIN, 0 } };

		assert_true(now_ns() < end);
		(void)poll(pf, 2, 20);
		/* The server accepts and closes at once. */
		assert_true(vmsg_ivsh_server_service(&srv) >= 0);
		r = vmsg_ivsh_client_service(&cls[i]);
		assert_false(vmsg_ivsh_client_ready(&cls[i]));
	}
	assert_int_equal(r, VMSG_ECONNRESET);
	client_close(i);
}

static void test_ivsh_server_id_wrap_and_limits(void **state)
{
	struct vmsg_ivsh_server_cfg cfg = { .socket_path = path, .shm_size = 4096, .max_id = 3 };
	unsigned i;

	(void)state;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), 0);
	srv_open = true;
	for (i = 0; i < 4; i++) {
		client_join(i, 1);
		assert_int_equal(vmsg_ivsh_client_id(&cls[i]), i);
	}
	/* Ids 0..3 all in use: refused. */
	expect_refused(4);
	/* 1 leaves; the counter wrapped to 0 (in use), so 1 is next. */
	client_close(1);
	PUMP_UNTIL(vmsg_ivsh_server_peer_count(&srv) == 3);
	client_join(1, 1);
	assert_int_equal(vmsg_ivsh_client_id(&cls[1]), 1);
	/* 0 and 3 leave; the counter is at 2 (in use), so 3 comes first,
	 * then 0 after the wrap. */
	client_close(0);
	client_close(3);
	PUMP_UNTIL(vmsg_ivsh_server_peer_count(&srv) == 2);
	client_join(0, 1);
	assert_int_equal(vmsg_ivsh_client_id(&cls[0]), 3);
	client_join(3, 1);
	assert_int_equal(vmsg_ivsh_client_id(&cls[3]), 0);
	expect_refused(4);
	for (i = 0; i < 4; i++)
		client_close(i);
	vmsg_ivsh_server_close(&srv);
	srv_open = false;

	/* max_peers refuses even with ids to spare. */
	cfg.max_id = 0;
	cfg.max_peers = 2;
	assert_int_equal(vmsg_ivsh_server_open(&srv, &cfg), 0);
	srv_open = true;
	client_join(0, 1);
	client_join(1, 1);
	expect_refused(2);
	assert_int_equal(srv.refused, 1);
	client_close(0);
	PUMP_UNTIL(vmsg_ivsh_server_peer_count(&srv) == 1);
	client_join(0, 1);
	assert_int_equal(vmsg_ivsh_client_id(&cls[0]), 2);
}

static void test_ivsh_many_cycles_no_leak(void **state)
{
	int before = count_fds();
	unsigned i;

	(void)state;
	server_open(4096, 3);
	client_join(0, 3);
	for (i = 1; i <= 200; i++) {
		client_join(1, 3);
		assert_int_equal(vmsg_ivsh_client_id(&cls[1]), i);
		PUMP_UNTIL(vmsg_ivsh_client_peer_vectors(&cls[0], i) == 3);
		/* Every other time, ring before leaving. */
		if (i % 2) {
			assert_int_equal(vmsg_ivsh_client_ring(&cls[0], i, 2), 0);
			assert_int_equal(wait_doorbell(1), 1);
		}
		client_close(1);
		PUMP_UNTIL(!vmsg_ivsh_client_has_peer(&cls[0], i));
	}
	assert_int_equal(logs[0].n, 400);
	client_close(0);
	vmsg_ivsh_server_close(&srv);
	srv_open = false;
	assert_int_equal(count_fds(), before);
}

/* ---------------------------------------------------------------------- */
/* The client against malformed servers                                  */
/* ---------------------------------------------------------------------- */

static int fake_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

/* Send @len bytes of the value @val with @nfds fds (copies of @fd). */
static void fake_send_n(int s, int64_t val, size_t len, int fd, unsigned nfds)
{
	uint8_t b[8];
	int fds[8];
	char ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { b, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned k;

	vmsg_put_le64(b, (uint64_t)val);
	if (nfds) {
		struct cmsghdr *c;

		assert_true(nfds <= 8);
		for (k = 0; k < nfds; k++)
			fds[k] = fd;
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(s, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void fake_send(int s, int64_t val, int fd)
{
	fake_send_n(s, val, 8, fd, fd >= 0 ? 1 : 0);
}

/* A complete, valid handshake: version, id, shm. */
static void fake_handshake(int s, int64_t id, int shm)
{
	fake_send(s, 0, -1);
	fake_send(s, id, -1);
	fake_send(s, -1, shm);
}

/* Service client 0 until it returns an error (everything is already sent,
 * so a single pass normally does it). */
static int service_until_error(void)
{
	uint64_t end = now_ns() + DEADLINE;
	int r;

	while ((r = vmsg_ivsh_client_service(&cls[0])) >= 0) {
		int w = vmsg_ivsh_client_wait(&cls[0], 20 * MS);

		assert_true(w == 0 || w == VMSG_ETIMEDOUT);
		assert_true(now_ns() < end);
	}
	return r;
}

enum bad_case {
	BAD_VERSION,
	BAD_TRUNCATED,
	BAD_FD_ON_VERSION,
	BAD_FD_ON_ID,
	BAD_ID_TOO_BIG,
	BAD_NEGATIVE_ID,
	BAD_SHM_WITHOUT_FD,
	BAD_TWO_FDS,
	BAD_PEER_ID_TOO_BIG,
	BAD_TOO_MANY_VECTORS,
	BAD_TOO_MANY_OWN_VECTORS,
	BAD_SECOND_SHM,
	BAD_SELF_DEPARTURE,
	BAD_TRUNCATED_WITH_FD,
	BAD_COUNT
};

static void run_bad(int ls, enum bad_case bc, int shm, int efd)
{
	int s, r, expect = VMSG_EPROTO;
	unsigned k;

	client_start(0);
	s = accept4(ls, 0, 0, SOCK_CLOEXEC);
	assert_true(s >= 0);
	switch (bc) {
	case BAD_VERSION:
		fake_send(s, 1, -1);
		break;
	case BAD_TRUNCATED:
		fake_send(s, 0, -1);
		fake_send_n(s, 5, 4, -1, 0); /* half an id, then the hang-up */
		break;
	case BAD_FD_ON_VERSION:
		fake_send(s, 0, efd);
		break;
	case BAD_FD_ON_ID:
		fake_send(s, 0, -1);
		fake_send(s, 3, efd);
		break;
	case BAD_ID_TOO_BIG:
		fake_send(s, 0, -1);
		fake_send(s, 65536, -1);
		break;
	case BAD_NEGATIVE_ID:
		fake_send(s, 0, -1);
		fake_send(s, -2, -1);
		break;
	case BAD_SHM_WITHOUT_FD:
		fake_send(s, 0, -1);
		fake_send(s, 3, -1);
		fake_send(s, -1, -1);
		break;
	case BAD_TWO_FDS:
		fake_send(s, 0, -1);
		fake_send(s, 3, -1);
		fake_send_n(s, -1, 8, shm, 2);
		break;
	case BAD_PEER_ID_TOO_BIG:
		fake_handshake(s, 3, shm);
		fake_send(s, 70000, efd);
		break;
	case BAD_TOO_MANY_VECTORS:
		fake_handshake(s, 3, shm);
		for (k = 0; k <= VMSG_IVSH_MAX_VECTORS; k++)
			fake_send(s, 5, efd);
		break;
	case BAD_TOO_MANY_OWN_VECTORS:
		fake_handshake(s, 3, shm);
		for (k = 0; k <= VMSG_IVSH_MAX_VECTORS; k++)
			fake_send(s, 3, efd);
		break;
	case BAD_SECOND_SHM:
		fake_handshake(s, 3, shm);
		fake_send(s, 3, efd);
		fake_send(s, -1, shm);
		break;
	case BAD_SELF_DEPARTURE:
		fake_handshake(s, 3, shm);
		fake_send(s, 3, efd);
		fake_send(s, 3, -1);
		break;
	case BAD_TRUNCATED_WITH_FD:
		fake_handshake(s, 3, shm);
		fake_send_n(s, 4, 3, efd, 1); /* 3 bytes of a peer's eventfd message */
		break;
	default:
		fail();
	}
	/* The hang-up follows every case: the error must be the protocol's,
	 * not the hang-up's. */
	close(s);
	r = service_until_error();
	if (r != expect)
		fail_msg("case %d: got %s", (int)bc, vmsg_strerror_name(r));
	/* Latched. */
	assert_int_equal(vmsg_ivsh_client_service(&cls[0]), expect);
	client_close(0);
}

static void test_ivsh_client_rejects_malformed_server(void **state)
{
	int ls, shm, efd, before;
	unsigned bc;

	(void)state;
	ls = fake_listen();
	shm = memfd_create("fake", MFD_CLOEXEC);
	assert_true(shm >= 0);
	assert_int_equal(ftruncate(shm, 4096), 0);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	before = count_fds();
	for (bc = 0; bc < BAD_COUNT; bc++) {
		run_bad(ls, (enum bad_case)bc, shm, efd);
		if (count_fds() != before)
			fail_msg("case %u leaks %d fds", bc, count_fds() - before);
	}
	close(ls);
	close(shm);
	close(efd);
}

/* The valid corner cases: split messages, unknown departures, a plain
 * hang-up after the handshake. */
static void test_ivsh_client_edge_cases_from_fake_server(void **state)
{
	int ls, s, shm, efd, before;
	uint64_t cnt;

	(void)state;
	ls = fake_listen();
	shm = memfd_create("fake", MFD_CLOEXEC);
	assert_int_equal(ftruncate(shm, 8192), 0);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	before = count_fds();

	client_start(0);
	s = accept4(ls, 0, 0, SOCK_CLOEXEC);
	assert_true(s >= 0);
	/* The version in two pieces: nothing complete after the first. */
	fake_send_n(s, 0, 3, -1, 0);
	assert_int_equal(vmsg_ivsh_client_service(&cls[0]), 0);
	{
		uint8_t rest[5] = { 0 };

		assert_int_equal(send(s, rest, 5, MSG_NOSIGNAL), 5);
	}
	fake_send(s, 65535, -1); /* the highest id is valid */
	fake_send(s, -1, shm);
	assert_int_equal(vmsg_ivsh_client_service(&cls[0]), 3);
	assert_true(vmsg_ivsh_client_ready(&cls[0]));
	assert_int_equal(vmsg_ivsh_client_id(&cls[0]), 65535);
	assert_int_equal(vmsg_ivsh_client_shm_size(&cls[0]), 8192);
	assert_int_equal(vmsg_ivsh_client_vectors(&cls[0]), 0);
	assert_int_equal(vmsg_ivsh_client_drain(&cls[0], &cnt), 0);
	/* A departure of a peer we never knew is harmless. */
	fake_send(s, 17, -1);
	/* A peer that comes and goes in one pass is never announced. */
	fake_send(s, 9, efd);
	fake_send(s, 9, -1);
	/* Peer 4's fd split across two reads (fd with the first bytes). */
	fake_send_n(s, 4, 5, efd, 1);
	assert_int_equal(vmsg_ivsh_client_service(&cls[0]), 3);
	assert_int_equal(logs[0].n, 0);
	{
		uint8_t rest[3] = { 0 };

		assert_int_equal(send(s, rest, 3, MSG_NOSIGNAL), 3);
	}
	fake_send(s, 65535, efd); /* own vector 0 */
	assert_int_equal(vmsg_ivsh_client_service(&cls[0]), 2);
	assert_true(log_has(&logs[0], 4, true));
	assert_int_equal(vmsg_ivsh_client_peer_vectors(&cls[0], 4), 1);
	assert_int_equal(vmsg_ivsh_client_vectors(&cls[0]), 1);
	/* efd is both "peer 4 vector 0" and "own vector 0" here. */
	assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 4, 0), 0);
	assert_int_equal(vmsg_ivsh_client_wait(&cls[0], 10 * SEC), 0);
	assert_int_equal(vmsg_ivsh_client_drain(&cls[0], &cnt), 0);
	assert_int_equal(cnt, 1);
	/* A hang-up on a message boundary: the connection is reset. */
	close(s);
	assert_int_equal(service_until_error(), VMSG_ECONNRESET);
	/* Peers stay known after the server is gone. */
	assert_true(vmsg_ivsh_client_has_peer(&cls[0], 4));
	client_close(0);
	assert_int_equal(count_fds(), before);

	/* Not ready yet: no mapping, no doorbells. */
	client_start(0);
	s = accept4(ls, 0, 0, SOCK_CLOEXEC);
	{
		void *m;
		size_t sz;

		assert_int_equal(vmsg_ivsh_client_map(&cls[0], &m, &sz), VMSG_ESTATE);
		assert_int_equal(vmsg_ivsh_client_ring(&cls[0], 0, 0), VMSG_ENOENT);
	}
	close(s);
	client_close(0);
	close(ls);
	close(shm);
	close(efd);
}

/* vmsg_ivsh_client_connect(): a forked fake server, since connect blocks. */
static void test_ivsh_client_connect_blocking(void **state)
{
	int ls, before = count_fds();
	int status;

	(void)state;
	/* No server at all. */
	assert_int_equal(vmsg_ivsh_client_connect(&cls[0], path, 0), VMSG_ENOENT);
	assert_int_equal(vmsg_ivsh_client_connect(&cls[0], path, 50), VMSG_ETIMEDOUT);
	assert_int_equal(vmsg_ivsh_client_connect(&cls[0], 0, 50), VMSG_EINVAL);
	assert_int_equal(count_fds(), before);

	/* A server that sends the wrong version. */
	ls = fake_listen();
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int s = accept4(ls, 0, 0, SOCK_CLOEXEC);
		uint8_t b[8] = { 1 };
		char c;

		if (s < 0 || send(s, b, 8, MSG_NOSIGNAL) != 8)
			_exit(1);
		/* Until the client hangs up. */
		_exit(read(s, &c, 1) < 0 ? 1 : 0);
	}
	assert_int_equal(vmsg_ivsh_client_connect(&cls[0], path, 20000), VMSG_EPROTO);
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A server that accepts and says nothing: the budget runs out. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int s = accept4(ls, 0, 0, SOCK_CLOEXEC);
		char c;

		_exit(s < 0 || read(s, &c, 1) < 0 ? 1 : 0);
	}
	assert_int_equal(vmsg_ivsh_client_connect(&cls[0], path, 100), VMSG_ETIMEDOUT);
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	close(ls);
	assert_int_equal(count_fds(), before);
}

/* ---------------------------------------------------------------------- */
/* The tool                                                               */
/* ---------------------------------------------------------------------- */

#ifdef VMSG_IVSH_SERVER_BIN

/* Run the tool with @args (NULL-terminated, after argv[0]); its stdout and
 * stderr go to pipes. */
static pid_t spawn_tool(const char *const *args, int *out, int *err)
{
	const char *argv[24];
	int po[2], pe[2];
	unsigned n = 0;
	pid_t pid;
#ifdef VMSG_TEST_EMULATOR
	/* Cross build under qemu-user: the tool is a foreign binary too. */
	static const char *const emu[] = { VMSG_TEST_EMULATOR };

	for (size_t i = 0; i < sizeof emu / sizeof emu[0] && n < 8; i++)
		argv[n++] = emu[i];
#endif

	argv[n++] = VMSG_IVSH_SERVER_BIN;
	while (*args && n < 23)
		argv[n++] = *args++;
	argv[n] = 0;
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	*out = po[0];
	*err = pe[0];
	return pid;
}

/* Read from @fd until @want appears or EOF; bounded wait. */
static bool read_until(int fd, char *buf, size_t cap, const char *want)
{
	size_t len = strlen(buf);
	uint64_t end = now_ns() + DEADLINE;

	while (!strstr(buf, want)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n;

		if (now_ns() > end || len + 1 >= cap)
			return false;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = 0;
	}
	return true;
}

static void test_ivsh_tool_serves_and_exits_cleanly(void **state)
{
	char pidfile[128], out[1024] = "", err[4096] = "", want[256];
	const char *args[] = { "-S", path, "-l", "64K", "-n", "2", "-v", "-F", "-p", pidfile, 0 };
	int fo, fe, status;
	uint64_t cnt;
	unsigned i;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s.pid", path);
	child = spawn_tool(args, &fo, &fe);
	snprintf(want, sizeof(want),
		 "vmsg-ivshmem-server: listening on %s (65536 bytes, 2 vectors)\n", path);
	if (!read_until(fo, out, sizeof(out), want))
		fail_msg("no listening line; got '%s'", out);
	assert_true(path_exists(pidfile));

	for (i = 0; i < 2; i++) {
		assert_int_equal(vmsg_ivsh_client_connect(&cls[i], path, 10000), 0);
		cl_open[i] = true;
		vmsg_ivsh_client_set_peer_cb(&cls[i], on_peer_log, &logs[i]);
		assert_int_equal(vmsg_ivsh_client_id(&cls[i]), i);
		assert_int_equal(vmsg_ivsh_client_shm_size(&cls[i]), 65536);
	}
	PUMP_UNTIL(vmsg_ivsh_client_peer_vectors(&cls[0], 1) == 2 &&
		   vmsg_ivsh_client_peer_vectors(&cls[1], 0) == 2 &&
		   vmsg_ivsh_client_vectors(&cls[0]) == 2 &&
		   vmsg_ivsh_client_vectors(&cls[1]) == 2);
	assert_int_equal(vmsg_ivsh_client_ring(&cls[1], 0, 1), 0);
	assert_int_equal(wait_doorbell(0), 1);
	assert_true(read_until(fe, err, sizeof(err), "peer 1 connected"));
	assert_non_null(strstr(err, "peer 0 connected"));

	kill(child, SIGTERM);
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(path_exists(path));
	assert_false(path_exists(pidfile));
	/* The clients see the server go. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(vmsg_ivsh_client_wait(&cls[i], 10 * SEC), 0);
		assert_int_equal(vmsg_ivsh_client_service(&cls[i]), VMSG_ECONNRESET);
	}
	assert_int_equal(vmsg_ivsh_client_drain(&cls[0], &cnt), 0);
	close(fo);
	close(fe);
}

static void test_ivsh_tool_options(void **state)
{
	const char *bad_size[] = { "-S", path, "-l", "3M", 0 };
	const char *bad_vec[] = { "-S", path, "-n", "65", 0 };
	const char *help[] = { "-h", 0 };
	const char *timed[] = { "-S", path, "-l", "1k", "-t", "1", 0 };
	char out[1024], err[1024];
	int fo, fe, status;

	(void)state;
	out[0] = err[0] = 0;
	child = spawn_tool(bad_size, &fo, &fe);
	assert_true(read_until(fe, err, sizeof(err), "not a power of two"));
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	assert_false(path_exists(path));
	close(fo);
	close(fe);

	err[0] = 0;
	child = spawn_tool(bad_vec, &fo, &fe);
	assert_true(read_until(fe, err, sizeof(err), "vectors must be"));
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	close(fo);
	close(fe);

	out[0] = 0;
	child = spawn_tool(help, &fo, &fe);
	assert_true(read_until(fo, out, sizeof(out), "-t SECONDS"));
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fo);
	close(fe);

	/* -t: exits by itself (lower bound only: at least ready first). */
	out[0] = 0;
	child = spawn_tool(timed, &fo, &fe);
	assert_true(read_until(fo, out, sizeof(out), "(1024 bytes, 1 vectors)"));
	assert_int_equal(waitpid(child, &status, 0), child);
	child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(path_exists(path));
	close(fo);
	close(fe);
}

#endif /* VMSG_IVSH_SERVER_BIN */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ivsh_two_clients_ring_and_share, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_ids_departures_and_new_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_server_wire_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_server_queues_for_slow_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_server_config_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_server_id_wrap_and_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_many_cycles_no_leak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_client_rejects_malformed_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_client_edge_cases_from_fake_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_client_connect_blocking, setup, teardown),
#ifdef VMSG_IVSH_SERVER_BIN
		cmocka_unit_test_setup_teardown(test_ivsh_tool_serves_and_exits_cleanly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ivsh_tool_options, setup, teardown),
#endif
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, 0, 0);
}
