/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ivshmem client: a host process joining an ivshmem server (ours or QEMU's
 * contrib one) as a full peer. See port_ivshmem_host.h for the protocol.
 *
 * Everything the server sends is untrusted input: each message is checked
 * against the protocol, and every fd that arrives is either kept in a table
 * or closed before returning, whatever the outcome.
 */
#define _FILE_OFFSET_BITS 64 /* shared memory of 2 GiB or more on 32-bit hosts */
#define _GNU_SOURCE /* ppoll, MSG_CMSG_CLOEXEC */
#include "virtio_msg/port_ivshmem_host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"

#include "../port_scm.h"
#include "ivsh_client_rx.h"

/* Handshake progress (cl->state). */
enum {
	ST_CLOSED = 0,
	ST_VERSION, /* waiting for the protocol version */
	ST_ID,	    /* waiting for the own id */
	ST_SHM,	    /* waiting for -1 + shm fd */
	ST_READY,   /* eventfds, connects and departures from here on */
};

#define RX_FDS VMSG_IVSH_RX_FDS

static int err_from_errno(int e)
{
	switch (e) {
	case ENOENT:
		return VMSG_ENOENT;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return VMSG_ENOMEM;
	case EINVAL:
	case ENAMETOOLONG:
		return VMSG_EINVAL;
	case EAGAIN:
		return VMSG_EAGAIN;
	case ECONNRESET:
	case ECONNREFUSED:
	case EPIPE:
		return VMSG_ECONNRESET;
	default:
		return VMSG_EIO;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void init_fields(struct vmsg_ivsh_client *cl)
{
	uint32_t i;

	memset(cl, 0, sizeof(*cl));
	cl->sock = cl->epoll_fd = cl->shm_fd = cl->rx_fd = -1;
	for (i = 0; i < VMSG_IVSH_MAX_VECTORS; i++)
		cl->efd[i] = -1;
}

static struct vmsg_ivsh_cl_peer *find_peer(const struct vmsg_ivsh_client *cl, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < cl->npeers; i++)
		if (cl->peers[i].id == id)
			return (struct vmsg_ivsh_cl_peer *)&cl->peers[i];
	return 0;
}

/* ---------------------------------------------------------------------- */
/* One message                                                            */
/* ---------------------------------------------------------------------- */

/* Latch an error: the byte stream can no longer be trusted. */
static int fail(struct vmsg_ivsh_client *cl, int err)
{
	close_fd(&cl->rx_fd);
	if (!cl->err)
		cl->err = err;
	if (cl->sock >= 0)
		(void)epoll_ctl(cl->epoll_fd, EPOLL_CTL_DEL, cl->sock, 0);
	return cl->err;
}

static int own_vector(struct vmsg_ivsh_client *cl, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (cl->vectors >= VMSG_IVSH_MAX_VECTORS) {
		close(fd);
		return VMSG_EPROTO;
	}
	ev.data.u32 = cl->vectors + 1; /* 0 is the server socket */
	if (epoll_ctl(cl->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return err_from_errno(errno);
	}
	cl->efd[cl->vectors++] = fd;
	return 0;
}

static int peer_vector(struct vmsg_ivsh_client *cl, uint32_t id, int fd)
{
	struct vmsg_ivsh_cl_peer *p = find_peer(cl, id);
	uint32_t v;

	if (!p) {
		if (cl->npeers >= VMSG_IVSH_MAX_PEERS) {
			/* Not an error of the server: our table is full. */
			cl->peers_ignored++;
			close(fd);
			return 0;
		}
		p = &cl->peers[cl->npeers++];
		p->id = id;
		p->vectors = 0;
		p->announced = false;
		for (v = 0; v < VMSG_IVSH_MAX_VECTORS; v++)
			p->efd[v] = -1;
	}
	if (p->vectors >= VMSG_IVSH_MAX_VECTORS) {
		close(fd);
		return VMSG_EPROTO;
	}
	p->efd[p->vectors++] = fd;
	return 0;
}

static int peer_gone(struct vmsg_ivsh_client *cl, uint32_t id)
{
	struct vmsg_ivsh_cl_peer *p = find_peer(cl, id);
	bool announced;
	uint32_t v;

	if (id == cl->id)
		return VMSG_EPROTO; /* told of our own departure */
	if (!p)
		return 0; /* a peer we never tracked (or that the table had no room for) */
	announced = p->announced;
	for (v = 0; v < p->vectors; v++)
		close_fd(&p->efd[v]);
	memmove(p, p + 1, (size_t)(cl->peers + cl->npeers - (p + 1)) * sizeof(*p));
	cl->npeers--;
	if (announced && cl->on_peer)
		cl->on_peer(cl->ctx, id, false);
	return 0;
}

/* Act on one complete message; takes ownership of @fd (-1 = none). */
static int handle(struct vmsg_ivsh_client *cl, int64_t val, int fd)
{
	struct stat st;

	switch (cl->state) {
	case ST_VERSION:
		if (fd >= 0 || val != VMSG_IVSH_PROTOCOL_VERSION)
			break;
		cl->state = ST_ID;
		return 0;
	case ST_ID:
		if (fd >= 0 || val < 0 || val > (int64_t)VMSG_IVSH_MAX_ID)
			break;
		cl->id = (uint32_t)val;
		cl->state = ST_SHM;
		return 0;
	case ST_SHM:
		if (fd < 0 || val != -1)
			break;
		if (fstat(fd, &st) != 0 || st.st_size <= 0) {
			close(fd);
			return VMSG_EPROTO;
		}
		cl->shm_fd = fd;
		cl->shm_size = (uint64_t)st.st_size;
		cl->state = ST_READY;
		return 0;
	default:
		/* -1 (a second shm) and anything outside 0..65535 are invalid. */
		if (val < 0 || val > (int64_t)VMSG_IVSH_MAX_ID)
			break;
		if (fd < 0)
			return peer_gone(cl, (uint32_t)val);
		if ((uint32_t)val == cl->id)
			return own_vector(cl, fd);
		return peer_vector(cl, (uint32_t)val, fd);
	}
	if (fd >= 0)
		close(fd);
	return VMSG_EPROTO;
}

/* One recvmsg()'s worth, without the socket (ivsh_client_rx.h). */
int vmsg_ivsh_client_rx(struct vmsg_ivsh_client *cl, const void *data, size_t n, const void *ctl,
			size_t ctl_len, int msg_flags)
{
	int fds[RX_FDS * 2], fd;
	struct vmsg_scm_fds got;
	int64_t val;
	int r;

	vmsg_scm_take_fds(ctl, ctl_len, fds, RX_FDS * 2, &got);
	/* One fd per message at most, in one well-formed control message. A
	 * truncated control buffer means the kernel dropped fds. */
	if (got.n > 1 || got.dropped || (got.n && cl->rx_fd >= 0) || (msg_flags & MSG_CTRUNC) ||
	    got.malformed || n > 8u - cl->rx_len) {
		vmsg_scm_close_fds(fds, got.n);
		return n > 8u - cl->rx_len ? VMSG_EINVAL : VMSG_EPROTO;
	}
	if (got.n)
		cl->rx_fd = fds[0];
	if (n == 0)
		return cl->rx_len || cl->rx_fd >= 0 ? VMSG_EPROTO : VMSG_ECONNRESET;
	memcpy(cl->rx + cl->rx_len, data, n);
	cl->rx_len += (uint32_t)n;
	if (cl->rx_len < 8)
		return 0;
	val = (int64_t)vmsg_get_le64(cl->rx);
	fd = cl->rx_fd;
	cl->rx_fd = -1;
	cl->rx_len = 0;
	r = handle(cl, val, fd);
	return r ? r : 1;
}

/*
 * Read at most the rest of one message (never more: the fd belongs to the
 * message it came with) and act on it. Returns 1 when a whole message was
 * handled, 0 when the socket is empty or the message still incomplete, or
 * a negative code.
 */
static int read_part(struct vmsg_ivsh_client *cl)
{
	union {
		char buf[CMSG_SPACE(RX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t part[8];
	struct iovec iov = { part, 8u - cl->rx_len };
	struct msghdr mh = { 0 };
	bool fd_table_full = false;
	ssize_t n;
	int r;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(cl->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : VMSG_ECONNRESET;
	/* More than RX_FDS were sent (the server's fault) or our fd table is
	 * full (ours: told apart by trying to get one, before the fds that did
	 * arrive are closed). */
	if (mh.msg_flags & MSG_CTRUNC) {
		int probe = fcntl(cl->sock, F_DUPFD_CLOEXEC, 0);

		fd_table_full = probe < 0 && (errno == EMFILE || errno == ENFILE);
		if (probe >= 0)
			close(probe);
	}
	r = vmsg_ivsh_client_rx(cl, part, (size_t)n, ctl.buf, (size_t)mh.msg_controllen,
				mh.msg_flags);
	return r == VMSG_EPROTO && fd_table_full ? VMSG_ENOMEM : r;
}

/* Handle every complete message that is pending. */
static int pump(struct vmsg_ivsh_client *cl, int *handled)
{
	for (;;) {
		int r = read_part(cl);

		if (r <= 0)
			return r;
		(*handled)++;
	}
}

/* Peers learned in this pass are announced once the pass is over, when
 * normally all their vectors have arrived. */
void vmsg_ivsh_client_announce(struct vmsg_ivsh_client *cl)
{
	uint32_t i;

	for (i = 0; i < cl->npeers; i++) {
		struct vmsg_ivsh_cl_peer *p = &cl->peers[i];

		if (p->announced)
			continue;
		p->announced = true;
		if (cl->on_peer)
			cl->on_peer(cl->ctx, p->id, true);
		/* The callback may not change the table (documented), so i
		 * stays valid. */
	}
}

int vmsg_ivsh_client_service(struct vmsg_ivsh_client *cl)
{
	int handled = 0, r;

	if (!cl || cl->state == ST_CLOSED)
		return VMSG_EINVAL;
	if (cl->err)
		return cl->err;
	r = pump(cl, &handled);
	vmsg_ivsh_client_announce(cl);
	if (r < 0)
		return fail(cl, r);
	return handled;
}

/* ---------------------------------------------------------------------- */
/* Connect and close                                                      */
/* ---------------------------------------------------------------------- */

int vmsg_ivsh_client_init_detached(struct vmsg_ivsh_client *cl)
{
	init_fields(cl);
	cl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (cl->epoll_fd < 0)
		return err_from_errno(errno);
	cl->state = ST_VERSION;
	return 0;
}

int vmsg_ivsh_client_start(struct vmsg_ivsh_client *cl, const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int err;

	if (!cl)
		return VMSG_EINVAL;
	init_fields(cl);
	if (!socket_path || !socket_path[0] || strlen(socket_path) >= sizeof(sa.sun_path))
		return VMSG_EINVAL;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	cl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (cl->epoll_fd < 0)
		goto fail_errno;
	cl->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cl->sock < 0)
		goto fail_errno;
	/* A Unix connect completes at once when the server listens (even
	 * before it accepts); EAGAIN means its backlog is full. */
	if (connect(cl->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		goto fail_errno;
	ev.data.u32 = 0;
	if (epoll_ctl(cl->epoll_fd, EPOLL_CTL_ADD, cl->sock, &ev) != 0)
		goto fail_errno;
	cl->state = ST_VERSION;
	return 0;
fail_errno:
	err = err_from_errno(errno);
	vmsg_ivsh_client_close(cl);
	return err;
}

int vmsg_ivsh_client_connect(struct vmsg_ivsh_client *cl, const char *socket_path, int timeout_ms)
{
	uint64_t end;
	int err;

	if (!cl || timeout_ms < 0)
		return VMSG_EINVAL;
	end = mono_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now;

		err = vmsg_ivsh_client_start(cl, socket_path);
		if (!err)
			break;
		now = mono_ns();
		if (err != VMSG_ENOENT && err != VMSG_ECONNRESET && err != VMSG_EAGAIN)
			return err;
		if (now >= end)
			return timeout_ms ? VMSG_ETIMEDOUT : err;
		/* No server yet: retry within the caller's budget. */
		(void)poll(0, 0, (end - now) > 10000000u ? 10 : 1);
	}
	while (cl->state != ST_READY) {
		uint64_t now = mono_ns();
		int r = vmsg_ivsh_client_service(cl);

		if (r >= 0 && cl->state == ST_READY)
			break;
		if (r < 0) {
			err = r;
			break;
		}
		if (now >= end) {
			err = VMSG_ETIMEDOUT;
			break;
		}
		err = vmsg_ivsh_client_wait(cl, end - now);
		if (err && err != VMSG_ETIMEDOUT)
			break;
		err = 0;
	}
	if (err)
		vmsg_ivsh_client_close(cl);
	return err;
}

void vmsg_ivsh_client_set_peer_cb(struct vmsg_ivsh_client *cl, vmsg_ivsh_peer_fn fn, void *ctx)
{
	cl->on_peer = fn;
	cl->ctx = ctx;
}

bool vmsg_ivsh_client_ready(const struct vmsg_ivsh_client *cl)
{
	return cl->state == ST_READY;
}

int vmsg_ivsh_client_map(struct vmsg_ivsh_client *cl, void **ptr, size_t *size)
{
	void *m;

	if (!cl || !ptr || !size)
		return VMSG_EINVAL;
	if (cl->state != ST_READY)
		return VMSG_ESTATE;
	if (cl->shm_size > SIZE_MAX)
		return VMSG_ENOMEM;
	if (!cl->map) {
		m = mmap(0, (size_t)cl->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, cl->shm_fd,
			 0);
		if (m == MAP_FAILED)
			return err_from_errno(errno) == VMSG_ENOMEM ? VMSG_ENOMEM : VMSG_EIO;
		cl->map = m;
	}
	*ptr = cl->map;
	*size = (size_t)cl->shm_size;
	return 0;
}

int vmsg_ivsh_client_shm_fd(const struct vmsg_ivsh_client *cl)
{
	return cl->shm_fd;
}

uint64_t vmsg_ivsh_client_shm_size(const struct vmsg_ivsh_client *cl)
{
	return cl->state == ST_READY ? cl->shm_size : 0;
}

void vmsg_ivsh_client_close(struct vmsg_ivsh_client *cl)
{
	uint32_t i, v;

	if (!cl)
		return;
	if (cl->map)
		munmap(cl->map, (size_t)cl->shm_size);
	cl->map = 0;
	for (i = 0; i < cl->npeers; i++)
		for (v = 0; v < cl->peers[i].vectors; v++)
			close_fd(&cl->peers[i].efd[v]);
	cl->npeers = 0;
	for (v = 0; v < cl->vectors; v++)
		close_fd(&cl->efd[v]);
	cl->vectors = 0;
	close_fd(&cl->rx_fd);
	close_fd(&cl->sock);
	close_fd(&cl->epoll_fd);
	close_fd(&cl->shm_fd);
	cl->state = ST_CLOSED;
}

/* ---------------------------------------------------------------------- */
/* Doorbells                                                              */
/* ---------------------------------------------------------------------- */

int vmsg_ivsh_client_ring(struct vmsg_ivsh_client *cl, uint32_t peer_id, uint32_t vector)
{
	const struct vmsg_ivsh_cl_peer *p;
	uint64_t one = 1;
	struct pollfd pf;
	int fd, r;

	if (!cl || cl->state != ST_READY)
		return VMSG_ENOENT;
	if (peer_id == cl->id) {
		if (vector >= cl->vectors)
			return VMSG_ENOENT;
		fd = cl->efd[vector];
	} else {
		p = find_peer(cl, peer_id);
		if (!p || vector >= p->vectors)
			return VMSG_ENOENT;
		fd = p->efd[vector];
	}
	/* The eventfd's blocking mode belongs to whoever created it (it is
	 * shared with the server and the peer), so we do not change it. A
	 * write blocks only on a saturated counter: check for room first. */
	pf.fd = fd;
	pf.events = POLLOUT;
	pf.revents = 0;
	do {
		r = poll(&pf, 1, 0);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return VMSG_EAGAIN;
	if (r < 0 || !(pf.revents & POLLOUT))
		return VMSG_EIO;
	do {
		r = (int)write(fd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
	if (r == (int)sizeof(one))
		return 0;
	return r < 0 && errno == EAGAIN ? VMSG_EAGAIN : VMSG_EIO;
}

int vmsg_ivsh_client_fd(const struct vmsg_ivsh_client *cl)
{
	return cl->epoll_fd;
}

int vmsg_ivsh_client_wait(struct vmsg_ivsh_client *cl, uint64_t timeout_ns)
{
	struct pollfd pf;
	struct timespec ts, *tsp = 0;
	uint64_t end = 0;
	int r;

	if (!cl || cl->epoll_fd < 0)
		return VMSG_EINVAL;
	if (timeout_ns != UINT64_MAX)
		end = mono_ns() + timeout_ns;
	for (;;) {
		pf.fd = cl->epoll_fd;
		pf.events = POLLIN;
		pf.revents = 0;
		if (timeout_ns != UINT64_MAX) {
			uint64_t now = mono_ns(), left = now < end ? end - now : 0;

			ts.tv_sec = (time_t)(left / 1000000000u);
			ts.tv_nsec = (long)(left % 1000000000u);
			tsp = &ts;
		}
		r = ppoll(&pf, 1, tsp, 0);
		if (r > 0)
			return 0;
		if (r == 0)
			return VMSG_ETIMEDOUT;
		if (errno != EINTR)
			return VMSG_EIO;
	}
}

int vmsg_ivsh_client_drain(struct vmsg_ivsh_client *cl, uint64_t *count)
{
	struct pollfd pf[VMSG_IVSH_MAX_VECTORS];
	uint64_t total = 0;
	uint32_t v;
	int r;

	if (!cl)
		return VMSG_EINVAL;
	if (count)
		*count = 0;
	if (!cl->vectors)
		return 0;
	for (v = 0; v < cl->vectors; v++) {
		pf[v].fd = cl->efd[v];
		pf[v].events = POLLIN;
		pf[v].revents = 0;
	}
	/* Read only what poll says is readable: the fds may be blocking (their
	 * mode is the server's choice) and nobody else reads them. */
	do {
		r = poll(pf, cl->vectors, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return VMSG_EIO;
	for (v = 0; v < cl->vectors && r > 0; v++) {
		uint64_t cnt;
		ssize_t n;

		if (!(pf[v].revents & POLLIN))
			continue;
		do {
			n = read(cl->efd[v], &cnt, sizeof(cnt));
		} while (n < 0 && errno == EINTR);
		if (n == (ssize_t)sizeof(cnt))
			total += cnt;
		else if (!(n < 0 && errno == EAGAIN))
			return VMSG_EIO;
	}
	if (count)
		*count = total;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                              */
/* ---------------------------------------------------------------------- */

uint32_t vmsg_ivsh_client_id(const struct vmsg_ivsh_client *cl)
{
	return cl->id;
}

uint32_t vmsg_ivsh_client_vectors(const struct vmsg_ivsh_client *cl)
{
	return cl->vectors;
}

uint32_t vmsg_ivsh_client_peer_count(const struct vmsg_ivsh_client *cl)
{
	return cl->npeers;
}

int vmsg_ivsh_client_peer_at(const struct vmsg_ivsh_client *cl, uint32_t i, uint32_t *id)
{
	if (!cl || !id || i >= cl->npeers)
		return VMSG_ENOENT;
	*id = cl->peers[i].id;
	return 0;
}

bool vmsg_ivsh_client_has_peer(const struct vmsg_ivsh_client *cl, uint32_t id)
{
	return find_peer(cl, id) != 0;
}

uint32_t vmsg_ivsh_client_peer_vectors(const struct vmsg_ivsh_client *cl, uint32_t id)
{
	const struct vmsg_ivsh_cl_peer *p = find_peer(cl, id);

	return p ? p->vectors : 0;
}
