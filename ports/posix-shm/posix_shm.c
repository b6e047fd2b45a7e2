/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * posix-shm port: the region, the rendezvous socket and the doorbells. All
 * protocol work is in the core (shm_bus, channel, bus); this file only owns
 * OS resources. See port_posix_shm.h.
 */
#define _GNU_SOURCE /* memfd_create, accept4, SOCK_CLOEXEC */
#include "virtio_msg/port_posix_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../port_scm.h"
#include "posix_shm_hello.h"

/*
 * Linux: memfd regions, eventfd doorbells, one epoll fd for the caller.
 * Elsewhere, or on Linux built with VMSG_POSIX_SHM_PORTABLE (the CI's
 * `minimal` stage, so the fallback runs somewhere): shm_open regions only,
 * the socket as the doorbell, poll(). Both still use the socket extensions
 * Linux and the BSDs share (accept4, SOCK_CLOEXEC, MSG_NOSIGNAL,
 * MSG_CMSG_CLOEXEC); macOS lacks them and is not supported.
 */
#if defined(__linux__) && !defined(VMSG_POSIX_SHM_PORTABLE)
#define PSHM_LINUX 1
#include <sys/epoll.h>
#include <sys/eventfd.h>
#else
#define PSHM_LINUX 0
#endif

#define HELLO_MAGIC VMSG_PSHM_HELLO_MAGIC
#define HELLO_SIZE VMSG_PSHM_HELLO_SIZE
#define HELLO_F_EVENTFD VMSG_PSHM_HELLO_F_EVENTFD

static int err_from_errno(int e)
{
	switch (e) {
	case ENOENT:
		return VMSG_ENOENT;
	case ENOMEM:
		return VMSG_ENOMEM;
	case EEXIST:
	case EADDRINUSE:
	case EBUSY:
		return VMSG_EBUSY;
	case EINVAL:
	case ENAMETOOLONG:
		return VMSG_EINVAL;
	case ECONNRESET:
	case EPIPE:
	case ECONNREFUSED:
		return VMSG_ECONNRESET;
	default:
		return VMSG_EIO;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---------------------------------------------------------------------- */
/* The poll set: doorbell, connection, listening socket                   */
/* ---------------------------------------------------------------------- */

#if PSHM_LINUX
static void watch(struct vmsg_posix_shm *p, int fd, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = fd };

	if (fd >= 0)
		(void)epoll_ctl(p->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}
#endif

/* Which of our fds service() looks at (bit mask). */
#define READY_CONN 1u     /* connection: hang-up, or doorbell bytes (portable) */
#define READY_LISTEN 2u   /* listening socket: a new client */
#define READY_DOORBELL 4u /* our eventfd */
#define READY_ALL 7u

/*
 * Wait up to @ms (0: just look) for anything on our fds; returns -1, or
 * which fds are ready. With epoll the answer says which ones, so a wake-up
 * costs the wait and one read of the doorbell instead of a look at every fd
 * (bench/README.md, bus sixth round: 11 system calls per sleeping PING -> 6).
 */
static int wait_fds(struct vmsg_posix_shm *p, int ms)
{
#if PSHM_LINUX
	struct epoll_event ev[4];
	int n = epoll_wait(p->epoll_fd, ev, 4, ms);
	unsigned m = 0;

	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == p->conn_fd)
			m |= READY_CONN;
		else if (ev[i].data.fd == p->listen_fd)
			m |= READY_LISTEN;
		else if (ev[i].data.fd == p->efd_wait)
			m |= READY_DOORBELL;
	}
	return n < 0 ? -1 : (int)m;
#else
	struct pollfd f[2] = { { p->conn_fd, POLLIN, 0 }, { p->listen_fd, POLLIN, 0 } };
	int n = poll(f, 2, ms);

	/* The socket is the doorbell; a listening socket is looked at again
	 * below before accept() blocks on it. */
	return n < 0 ? -1 : n > 0 ? (int)READY_ALL : 0;
#endif
}

/* ---------------------------------------------------------------------- */
/* Peers                                                                  */
/* ---------------------------------------------------------------------- */

static void drop_peer(struct vmsg_posix_shm *p)
{
#if PSHM_LINUX
	watch(p, p->conn_fd, false);
	watch(p, p->efd_wait, false);
#endif
	close_fd(&p->conn_fd);
	close_fd(&p->efd_wait);
	close_fd(&p->efd_kick);
	p->hangups++;
	vmsg_shm_bus_peer_gone(&p->sb);
}

static int send_hello(struct vmsg_posix_shm *p, int peer_wait, int peer_kick)
{
	uint8_t hello[HELLO_SIZE] = { 0 };
	int fds[3] = { p->shm_fd, peer_kick, peer_wait };
	unsigned nfds = p->eventfd ? 3 : 1;
	char ctl[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { hello, sizeof(hello) };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;

	memcpy(hello, HELLO_MAGIC, 8);
	vmsg_put_le32(hello + 8, 1);
	vmsg_put_le32(hello + 12, p->eventfd ? HELLO_F_EVENTFD : 0);
	vmsg_put_le64(hello + 16, p->map_size);
	vmsg_put_le32(hello + 24, (uint32_t)p->cfg.side);
	memset(ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	return sendmsg(p->conn_fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(hello) ? 0 : VMSG_EIO;
}

/* Server: take a new client (one at a time) and hand it the region. */
static void accept_peer(struct vmsg_posix_shm *p)
{
	int fd = accept4(p->listen_fd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int peer_wait = -1, peer_kick = -1;

	if (fd < 0)
		return;
	if (p->conn_fd >= 0) {
		close(fd); /* busy: a bus has one peer */
		return;
	}
	p->conn_fd = fd;
#if PSHM_LINUX
	if (p->eventfd) {
		/* Fresh doorbells per peer: no stale count crosses over. */
		p->efd_wait = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		peer_wait = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		p->efd_kick = peer_wait;
		peer_kick = p->efd_wait;
	}
#endif
	if ((p->eventfd && (p->efd_wait < 0 || peer_wait < 0)) ||
	    send_hello(p, peer_wait, peer_kick) != 0) {
		if (peer_wait >= 0 && p->efd_kick != peer_wait)
			close(peer_wait);
		drop_peer(p);
		return;
	}
#if PSHM_LINUX
	watch(p, p->conn_fd, true);
	watch(p, p->efd_wait, true);
#endif
	p->peers_accepted++;
}

/* Act on the fds @ready names: hang-ups, new peers, doorbell bytes. */
static void service_ready(struct vmsg_posix_shm *p, unsigned ready)
{
	uint8_t junk[64];
	uint64_t cnt;

	/* Hang-ups first: a new client may be waiting right behind a dead one. */
	if (p->conn_fd >= 0 && (ready & READY_CONN)) {
		ssize_t n;

		/* Doorbell bytes (portable mode) or nothing; 0 = hang-up. */
		while ((n = recv(p->conn_fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			drop_peer(p);
	}
	if (p->listen_fd >= 0 && (ready & READY_LISTEN)) {
		struct pollfd lf = { p->listen_fd, POLLIN, 0 };

		/* epoll said so already; poll() says it for the portable path. */
		if (PSHM_LINUX || poll(&lf, 1, 0) > 0)
			accept_peer(p);
	}
	/* One read empties an eventfd (not in semaphore mode). */
	if (p->efd_wait >= 0 && (ready & READY_DOORBELL))
		(void)read(p->efd_wait, &cnt, sizeof(cnt));
}

/* Look at the fds without blocking (the shm bus's service hook). */
static int service(void *ctx)
{
	struct vmsg_posix_shm *p = ctx;
	int ready = wait_fds(p, 0);

	if (ready > 0)
		service_ready(p, (unsigned)ready);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Hooks for shm_bus                                                      */
/* ---------------------------------------------------------------------- */

static int hook_kick(void *ctx)
{
	struct vmsg_posix_shm *p = ctx;
	uint64_t one = 1;

	if (p->conn_fd < 0)
		return 0; /* nobody to wake */
	if (p->eventfd)
		return write(p->efd_kick, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN ?
			       0 : VMSG_EIO;
	/* A full socket buffer already holds plenty of wake-ups. */
	return send(p->conn_fd, "k", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 || errno == EAGAIN ?
		       0 : VMSG_EIO;
}

static int hook_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_posix_shm *p = ctx;
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
	int r;

	if (timeout_ns > (int64_t)1000000 * 0x7FFFFFFF)
		ms = 0x7FFFFFFF;
	r = wait_fds(p, ms);
	if (r > 0)
		service_ready(p, (unsigned)r);
	return r > 0 ? 0 : VMSG_ETIMEDOUT;
}

static int hook_now(void *ctx, uint64_t *ns)
{
	(void)ctx;
	*ns = mono_ns();
	return 0;
}

static int hook_translate(void *ctx, uint64_t addr, uint64_t len, void **ptr)
{
	struct vmsg_posix_shm *p = ctx;
	const struct vmsg_shm_v1_info *in = &p->ch.info;

	/* Bus addresses are offsets into the buffer window (single-segment). */
	if (!in->window_size)
		return VMSG_ENOTSUP;
	if (addr > in->window_size || len > in->window_size - addr)
		return VMSG_ERANGE;
	*ptr = (uint8_t *)p->map + in->window_off + addr;
	return 0;
}

static int hook_close(void *ctx)
{
	return vmsg_posix_shm_close(ctx);
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                         */
/* ---------------------------------------------------------------------- */

/* @stale: bind_socket() took over a socket path a dead server left. */
static int make_region(struct vmsg_posix_shm *p, uint64_t size, bool stale)
{
	if (p->cfg.shm_name) {
		const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC;

		p->shm_fd = shm_open(p->cfg.shm_name, flags, 0600);
		/* The name is taken. If the socket path was stale too (nobody
		 * answered there), the name is the dead server's: reclaim it
		 * as the path was. A live server's never gets here: its
		 * socket answers and bind_socket() refuses first. */
		if (p->shm_fd < 0 && errno == EEXIST && stale && shm_unlink(p->cfg.shm_name) == 0)
			p->shm_fd = shm_open(p->cfg.shm_name, flags, 0600);
		if (p->shm_fd >= 0)
			snprintf(p->name, sizeof(p->name), "%s", p->cfg.shm_name);
	} else {
#if PSHM_LINUX
		/* A memfd starts with mode 0777; ours is 0600 too (it can be
		 * reopened through /proc/<pid>/fd). */
		p->shm_fd = memfd_create("virtio-msg", MFD_CLOEXEC);
		if (p->shm_fd >= 0 && fchmod(p->shm_fd, 0600) != 0)
			return err_from_errno(errno);
#else
		return VMSG_ENOTSUP;
#endif
	}
	if (p->shm_fd < 0)
		return err_from_errno(errno);
	if (ftruncate(p->shm_fd, (off_t)size) != 0)
		return err_from_errno(errno);
	p->map_size = (size_t)size;
	p->map = mmap(0, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->shm_fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = 0;
		return err_from_errno(errno);
	}
	return 0;
}

/* @stale: set when the path was there but nobody answered (a dead server's). */
static int bind_socket(struct vmsg_posix_shm *p, struct sockaddr_un *sa, bool *stale)
{
	*stale = false;
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->listen_fd < 0)
		return err_from_errno(errno);
	if (bind(p->listen_fd, (struct sockaddr *)sa, sizeof(*sa)) != 0) {
		/* A path left by a server that died: reuse it only if nobody
		 * answers there. */
		int bind_errno = errno, probe, alive;

		if (bind_errno != EADDRINUSE)
			return err_from_errno(bind_errno);
		/* Non-blocking: a live server that is not accepting (its
		 * backlog full) must not hold us; it is alive all the same.
		 * A probe we cannot make proves nothing: the path stays. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		alive = probe < 0 || fcntl(probe, F_SETFL, O_NONBLOCK) != 0 ||
			connect(probe, (struct sockaddr *)sa, sizeof(*sa)) == 0 ||
			(errno != ECONNREFUSED && errno != ENOENT);
		if (probe >= 0)
			close(probe);
		if (alive || unlink(sa->sun_path) != 0 ||
		    bind(p->listen_fd, (struct sockaddr *)sa, sizeof(*sa)) != 0)
			return VMSG_EBUSY;
		*stale = true;
	}
	snprintf(p->path, sizeof(p->path), "%s", sa->sun_path);
	if (chmod(sa->sun_path, 0600) != 0 || listen(p->listen_fd, 4) != 0)
		return err_from_errno(errno);
	return 0;
}

static int open_server(struct vmsg_posix_shm *p, struct sockaddr_un *sa)
{
	struct vmsg_shm_cfg sc = { 0 };
	struct vmsg_shm_v1_params prm = p->cfg.layout;
	uint64_t size;
	bool stale;
	int err;

	if (!prm.num_elems) {
		prm = (struct vmsg_shm_v1_params){ .num_elems = 64, .elem_size = 264,
						   .extended = true };
	}
	err = vmsg_shm_v1_size(&prm, &size);
	if (err)
		return err;
	/* The socket first: whether a server is alive there decides whether
	 * a taken shm name is a dead server's to reclaim. Clients that
	 * connect meanwhile wait in the backlog until the first service. */
	err = bind_socket(p, sa, &stale);
	if (!err)
		err = make_region(p, size, stale);
	if (err)
		return err;
	sc.side = p->cfg.side;
	sc.owner = true;
	sc.peer_id = p->cfg.peer_id;
	sc.v1 = prm;
	return vmsg_shm_chan_open_v1(&p->ch, p->map, p->map_size, &sc);
}

/* The server is a peer too: check everything it sent (posix_shm_hello.h). */
int vmsg_pshm_parse_hello(const void *data, size_t len, const void *ctl, size_t ctl_len,
			  int msg_flags, uint32_t own_side, struct vmsg_pshm_hello *out)
{
	const uint8_t *hello = data;
	int fds[3] = { -1, -1, -1 };
	struct vmsg_scm_fds got;
	unsigned want;

	out->size = 0;
	out->eventfd = false;
	out->shm_fd = out->kick_fd = out->wait_fd = -1;
	/* Every fd is collected first, so that each one is kept or closed. */
	vmsg_scm_take_fds(ctl, ctl_len, fds, 3, &got);
	if ((msg_flags & MSG_CTRUNC) || got.malformed || got.blocks != 1 || got.dropped)
		goto bad;
	if (!hello || len != HELLO_SIZE || memcmp(hello, HELLO_MAGIC, 8) != 0 ||
	    vmsg_get_le32(hello + 8) != 1)
		goto bad;
	out->eventfd = (vmsg_get_le32(hello + 12) & HELLO_F_EVENTFD) != 0;
	want = out->eventfd ? 3 : 1;
	out->size = vmsg_get_le64(hello + 16);
	if (got.n != want || out->size < VMSG_V1_HDR_SIZE || out->size > SIZE_MAX / 2 ||
	    vmsg_get_le32(hello + 24) == own_side)
		goto bad; /* also: both claim the same side */
	out->shm_fd = fds[0];
	out->kick_fd = fds[1];
	out->wait_fd = fds[2];
	return 0;
bad:
	vmsg_scm_close_fds(fds, got.n);
	out->size = 0;
	out->eventfd = false;
	return VMSG_EPROTO;
}

/* Client: the hello, with the region fd and the doorbells, by @end (the
 * deadline open_client() set: one budget for the connection and it). */
static int take_hello(struct vmsg_posix_shm *p, uint64_t end, uint64_t *size)
{
	uint8_t hello[HELLO_SIZE];
	union {
		char buf[CMSG_SPACE(VMSG_PSHM_HELLO_RX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { hello, sizeof(hello) };
	struct msghdr mh = { 0 };
	struct pollfd pf = { p->conn_fd, POLLIN, 0 };
	struct vmsg_pshm_hello h;
	bool fd_table_full = false;
	ssize_t n;
	int err;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	/* A server that listens but has not serviced yet gets what is left of
	 * the caller's budget, not a fixed wait of its own. Looped on the
	 * clock: an EINTR or an early return never shortens the wait, and a
	 * connect that used the whole budget still gets one look. */
	for (;;) {
		uint64_t now = mono_ns();
		uint64_t left = end > now ? end - now : 0;
		int r = poll(&pf, 1, left > 0x7FFFFFFFull * 1000000u ? 0x7FFFFFFF :
								 (int)((left + 999999) / 1000000));

		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return err_from_errno(errno); /* poll() failed: not a timeout */
		if (mono_ns() >= end)
			return VMSG_ETIMEDOUT;
	}
	do {
		n = recvmsg(p->conn_fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return VMSG_EPROTO; /* nothing was received, so no fd either */
	/* A truncated control buffer: more fds than we take (the server's
	 * fault), or our fd table is full (ours: told apart by trying to get
	 * one, before the fds we did get are closed). */
	if (mh.msg_flags & MSG_CTRUNC) {
		int probe = fcntl(p->conn_fd, F_DUPFD_CLOEXEC, 0);

		fd_table_full = probe < 0 && (errno == EMFILE || errno == ENFILE);
		if (probe >= 0)
			close(probe);
	}
	err = vmsg_pshm_parse_hello(hello, (size_t)n, ctl.buf, (size_t)mh.msg_controllen,
				    mh.msg_flags, (uint32_t)p->cfg.side, &h);
	if (err)
		return fd_table_full ? VMSG_ENOMEM : err;
	p->shm_fd = h.shm_fd;
	p->efd_kick = h.kick_fd;
	p->efd_wait = h.wait_fd;
	p->eventfd = h.eventfd;
	*size = h.size;
	return 0;
}

/* A connect still in progress (EINPROGRESS): wait until @end for it to
 * finish. 0, or -1 with errno set. */
static int connect_finish(int fd, uint64_t end)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	uint64_t now = mono_ns();

	uint64_t ms = now >= end ? 0 : (end - now + 999999u) / 1000000u;

	if (now >= end || poll(&pf, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return -1;
	errno = soerr;
	return soerr ? -1 : 0;
}

/*
 * Connect within the budget. Non-blocking: a server whose backlog is full
 * (it is not accepting) must not hold us past @end, and on Linux a
 * blocking AF_UNIX connect waits for room there. A server that is not up
 * yet, or full, is tried again.
 */
static int connect_socket(struct vmsg_posix_shm *p, struct sockaddr_un *sa, uint64_t end)
{
	for (;;) {
		int r;

		p->conn_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (p->conn_fd < 0)
			return err_from_errno(errno);
		if (fcntl(p->conn_fd, F_SETFL, O_NONBLOCK) != 0) {
			r = err_from_errno(errno);
			close_fd(&p->conn_fd);
			return r;
		}
		r = connect(p->conn_fd, (struct sockaddr *)sa, sizeof(*sa));
		if (r != 0 && errno == EINPROGRESS)
			r = connect_finish(p->conn_fd, end);
		if (r == 0)
			return 0;
		r = errno;
		close_fd(&p->conn_fd);
		if (r != ENOENT && r != ECONNREFUSED && r != EAGAIN && r != ETIMEDOUT)
			return err_from_errno(r);
		if (mono_ns() >= end)
			return VMSG_ETIMEDOUT;
		/* Not up yet, or full: a short nap inside the caller's budget. */
		nanosleep(&(struct timespec){ 0, 5000000 }, 0);
	}
}

static int open_client(struct vmsg_posix_shm *p, struct sockaddr_un *sa)
{
	struct vmsg_shm_cfg sc = { 0 };
	struct stat st;
	uint64_t size = 0; /* set by take_hello() when it succeeds */
	/* One deadline for the connection and the hello (port_posix_shm.h). */
	uint64_t budget = p->cfg.connect_timeout_ns ? p->cfg.connect_timeout_ns : 5000000000u;
	uint64_t now = mono_ns();
	uint64_t end = budget > UINT64_MAX - now ? UINT64_MAX : now + budget;
	int err = connect_socket(p, sa, end);

	if (!err)
		err = take_hello(p, end, &size);
	if (err)
		return err;
	if (p->cfg.shm_name) {
		/* Attach by name: map our own open of the name, not the passed
		 * fd. It must be the server's region (the passed fd's object):
		 * any other object - a wrong name, a region a dead server left
		 * - could hold a valid layout and then never come up. */
		struct stat passed;
		int fd = shm_open(p->cfg.shm_name, O_RDWR | O_CLOEXEC, 0);

		if (fd < 0)
			return err_from_errno(errno);
		if (fstat(fd, &st) != 0 || fstat(p->shm_fd, &passed) != 0 ||
		    st.st_dev != passed.st_dev || st.st_ino != passed.st_ino) {
			close(fd);
			return VMSG_EPROTO;
		}
		close_fd(&p->shm_fd);
		p->shm_fd = fd;
	}
	/* Map only what really is there: the hello could lie about the size. */
	if (fstat(p->shm_fd, &st) != 0 || (uint64_t)st.st_size < size)
		return VMSG_EPROTO;
	p->map_size = (size_t)size;
	p->map = mmap(0, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->shm_fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = 0;
		return err_from_errno(errno);
	}
	if (fcntl(p->conn_fd, F_SETFL, O_NONBLOCK) != 0)
		return err_from_errno(errno);
	sc.side = p->cfg.side;
	sc.peer_id = p->cfg.peer_id;
	return vmsg_shm_chan_open_v1(&p->ch, p->map, p->map_size, &sc);
}

int vmsg_posix_shm_open(struct vmsg_posix_shm *p, const struct vmsg_posix_shm_cfg *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vmsg_shm_bus_hooks h = { 0 };
	int err;

	if (!p || !cfg || !cfg->socket_path || strlen(cfg->socket_path) >= sizeof(sa.sun_path) ||
	    cfg->side > VMSG_SHM_DEVICE)
		return VMSG_EINVAL;
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->listen_fd = p->conn_fd = p->shm_fd = p->efd_wait = p->efd_kick = p->epoll_fd = -1;
	strcpy(sa.sun_path, cfg->socket_path);
#if PSHM_LINUX
	p->eventfd = !cfg->socket_doorbell;
	p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epoll_fd < 0)
		return err_from_errno(errno);
#endif
	err = cfg->server ? open_server(p, &sa) : open_client(p, &sa);
	if (!err) {
		h.kick = hook_kick;
		h.wait = hook_wait;
		h.now = hook_now;
		h.translate = hook_translate;
		h.service = service;
		h.close = hook_close;
		h.ctx = p;
		h.spin_ns = cfg->spin_ns;
		err = vmsg_shm_bus_init(&p->sb, &p->ch, &h, 0);
	}
	if (err) {
		(void)vmsg_posix_shm_close(p);
		return err;
	}
#if PSHM_LINUX
	watch(p, p->listen_fd, true);
	watch(p, p->conn_fd, true);
	watch(p, p->efd_wait, true);
#endif
	return 0;
}

struct vmsg_shm_bus *vmsg_posix_shm_bus(struct vmsg_posix_shm *p)
{
	return &p->sb;
}

int vmsg_posix_shm_fd(const struct vmsg_posix_shm *p)
{
#if PSHM_LINUX
	return p->epoll_fd;
#else
	return p->conn_fd >= 0 ? p->conn_fd : p->listen_fd;
#endif
}

bool vmsg_posix_shm_connected(const struct vmsg_posix_shm *p)
{
	return p->conn_fd >= 0;
}

int vmsg_posix_shm_close(struct vmsg_posix_shm *p)
{
	if (!p)
		return VMSG_EINVAL;
	close_fd(&p->conn_fd);
	close_fd(&p->listen_fd);
	close_fd(&p->efd_wait);
	close_fd(&p->efd_kick);
	close_fd(&p->shm_fd);
	close_fd(&p->epoll_fd);
	if (p->map)
		munmap(p->map, p->map_size);
	p->map = 0;
	if (p->cfg.server && p->path[0])
		unlink(p->path);
	if (p->cfg.server && p->name[0])
		shm_unlink(p->name);
	p->path[0] = p->name[0] = '\0';
	return 0;
}
