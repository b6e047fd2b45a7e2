/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ivshmem server: hands the shared memory and every peer's doorbells
 * (eventfds) to the peers of a Unix socket, in the order QEMU's
 * ivshmem-doorbell device expects. See port_ivshmem_host.h for the
 * protocol. Single-threaded and non-blocking: a peer socket without room
 * gets its messages queued (with dup()ed fds) and sent on EPOLLOUT, so a
 * slow peer never stalls the others.
 */
#define _FILE_OFFSET_BITS 64 /* shared memory of 2 GiB or more on 32-bit hosts */
#define _GNU_SOURCE /* memfd_create, accept4 */
#include "virtio_msg/port_ivshmem_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"

/* A peer that has let this many messages pile up is not reading: drop it
 * rather than grow without bound (a full join of 64 peers x 64 vectors is
 * about 4200 messages). */
#define QUEUE_MAX 65536u

#define DEFAULT_SHM_SIZE (4u << 20)

struct vmsg_ivsh_srv_msg {
	uint8_t b[8];
	uint8_t off; /* bytes already sent (a partial send) */
	int fd;	     /* owned by the queue; -1 when none or already sent */
};

static int err_from_errno(int e)
{
	switch (e) {
	case ENOENT:
		return VMSG_ENOENT;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
		return VMSG_ENOMEM;
	case EEXIST:
	case EADDRINUSE:
	case EBUSY:
		return VMSG_EBUSY;
	case EINVAL:
	case ENAMETOOLONG:
		return VMSG_EINVAL;
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

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---------------------------------------------------------------------- */
/* Sending                                                                */
/* ---------------------------------------------------------------------- */

static void arm_out(struct vmsg_ivsh_server *srv, struct vmsg_ivsh_srv_peer *p, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u),
				  .data.fd = p->sock };

	if (p->want_out == on)
		return;
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, p->sock, &ev) == 0)
		p->want_out = on;
	else
		p->dead = true;
}

/* Send bytes b[off..8) and the fd (if any) with them. Returns the bytes
 * sent, 0 when the socket has no room, or -1 when the peer is unusable. */
static ssize_t send_raw(int sock, const uint8_t *b, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)b, len };
	struct msghdr mh = { 0 };
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return n;
}

/* Send what the queue holds until the socket is full. */
static void flush(struct vmsg_ivsh_server *srv, struct vmsg_ivsh_srv_peer *p)
{
	while (p->q_len && !p->dead) {
		struct vmsg_ivsh_srv_msg *m = &p->q[p->q_head];
		ssize_t n = send_raw(p->sock, m->b + m->off, 8u - m->off, m->fd);

		if (n < 0) {
			p->dead = true;
			return;
		}
		if (n == 0)
			break;
		/* The fd travels with the first byte sent. */
		close_fd(&m->fd);
		m->off = (uint8_t)(m->off + n);
		if (m->off < 8)
			continue;
		p->q_head = (p->q_head + 1) % p->q_cap;
		p->q_len--;
	}
	arm_out(srv, p, p->q_len != 0);
}

static bool queue_grow(struct vmsg_ivsh_srv_peer *p)
{
	uint32_t cap = p->q_cap ? p->q_cap * 2 : 64;
	struct vmsg_ivsh_srv_msg *q;
	uint32_t i;

	if (cap > QUEUE_MAX)
		return false;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return false;
	/* Unroll the ring into the new array, oldest first. */
	for (i = 0; i < p->q_len; i++)
		q[i] = p->q[(p->q_head + i) % p->q_cap];
	free(p->q);
	p->q = q;
	p->q_head = 0;
	p->q_cap = cap;
	return true;
}

/* Queue (or send at once) one message: @val, with a copy of @fd if >= 0. */
static void post(struct vmsg_ivsh_server *srv, struct vmsg_ivsh_srv_peer *p, int64_t val, int fd)
{
	struct vmsg_ivsh_srv_msg *m;
	uint8_t b[8];
	ssize_t n = 0;

	if (p->dead)
		return;
	vmsg_put_le64(b, (uint64_t)val);
	/* Fast path: nothing queued, so order allows a direct send. */
	if (!p->q_len) {
		n = send_raw(p->sock, b, 8, fd);
		if (n == 8)
			return;
		if (n < 0) {
			p->dead = true;
			return;
		}
	}
	if (p->q_len == p->q_cap && !queue_grow(p)) {
		p->dead = true;
		return;
	}
	m = &p->q[(p->q_head + p->q_len) % p->q_cap];
	memcpy(m->b, b, 8);
	m->off = (uint8_t)n;
	m->fd = -1;
	/* Our own fd may be closed (the peer it belongs to may leave) before
	 * this message goes out, so the queue keeps its own reference. */
	if (fd >= 0 && n == 0) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd < 0) {
			p->dead = true;
			return;
		}
	}
	p->q_len++;
	arm_out(srv, p, true);
}

/* ---------------------------------------------------------------------- */
/* Peers                                                                  */
/* ---------------------------------------------------------------------- */

static bool id_in_use(const struct vmsg_ivsh_server *srv, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < srv->npeers; i++)
		if (srv->peers[i].id == id)
			return true;
	return false;
}

/* Next id from the monotonic counter, skipping ids in use (possible only
 * after a wrap). Returns false when every id is taken. */
static bool alloc_id(struct vmsg_ivsh_server *srv, uint32_t *id)
{
	uint32_t n = srv->max_id + 1, i;

	for (i = 0; i < n; i++) {
		uint32_t cand = srv->next_id;

		srv->next_id = cand == srv->max_id ? 0 : cand + 1;
		if (!id_in_use(srv, cand)) {
			*id = cand;
			return true;
		}
	}
	return false;
}

static void free_peer(struct vmsg_ivsh_server *srv, struct vmsg_ivsh_srv_peer *p)
{
	uint32_t i;

	if (p->sock >= 0)
		(void)epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, p->sock, 0);
	close_fd(&p->sock);
	for (i = 0; i < VMSG_IVSH_MAX_VECTORS; i++)
		close_fd(&p->efd[i]);
	for (i = 0; i < p->q_len; i++)
		close_fd(&p->q[(p->q_head + i) % p->q_cap].fd);
	free(p->q);
	p->q = 0;
	p->q_len = p->q_cap = p->q_head = 0;
}

/* Remove dead peers and tell the others; a failed notice can kill another
 * peer, hence the loop. */
static int reap(struct vmsg_ivsh_server *srv)
{
	int events = 0;
	bool again = true;

	while (again) {
		uint32_t i, j;

		again = false;
		for (i = 0; i < srv->npeers; i++) {
			struct vmsg_ivsh_srv_peer *p = &srv->peers[i];
			uint32_t id = p->id;

			if (!p->dead)
				continue;
			free_peer(srv, p);
			memmove(p, p + 1, (srv->npeers - i - 1) * sizeof(*p));
			srv->npeers--;
			for (j = 0; j < srv->npeers; j++)
				post(srv, &srv->peers[j], id, -1);
			if (srv->on_peer)
				srv->on_peer(srv->ctx, id, false);
			events++;
			again = true;
			break;
		}
	}
	return events;
}

static void accept_one(struct vmsg_ivsh_server *srv, int sock)
{
	struct vmsg_ivsh_srv_peer *p;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = sock };
	uint32_t id, i, v;

	if (srv->npeers >= srv->max_peers || !alloc_id(srv, &id)) {
		/* Refused: the peer sees the hang-up before any message. */
		close(sock);
		srv->refused++;
		return;
	}
	p = &srv->peers[srv->npeers];
	memset(p, 0, sizeof(*p));
	p->sock = sock;
	p->id = id;
	for (v = 0; v < VMSG_IVSH_MAX_VECTORS; v++)
		p->efd[v] = -1;
	for (v = 0; v < srv->vectors; v++) {
		/* Non-blocking, as QEMU's own event notifiers are. */
		p->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->efd[v] < 0)
			break;
	}
	if (v < srv->vectors || epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, sock, &ev) != 0) {
		free_peer(srv, p);
		srv->refused++;
		return;
	}
	srv->npeers++;
	srv->accepted++;

	/* The handshake, then every existing peer's doorbells in the order
	 * they joined, then the new peer's own receive doorbells. */
	post(srv, p, VMSG_IVSH_PROTOCOL_VERSION, -1);
	post(srv, p, id, -1);
	post(srv, p, -1, srv->shm_fd);
	for (i = 0; i + 1 < srv->npeers; i++) {
		struct vmsg_ivsh_srv_peer *o = &srv->peers[i];

		if (o->dead)
			continue;
		for (v = 0; v < srv->vectors; v++)
			post(srv, p, o->id, o->efd[v]);
	}
	for (v = 0; v < srv->vectors; v++)
		post(srv, p, id, p->efd[v]);
	/* Everyone else learns how to ring the newcomer. */
	for (i = 0; i + 1 < srv->npeers; i++)
		for (v = 0; v < srv->vectors; v++)
			post(srv, &srv->peers[i], id, p->efd[v]);
	if (srv->on_peer)
		srv->on_peer(srv->ctx, id, true);
}

static struct vmsg_ivsh_srv_peer *find_sock(struct vmsg_ivsh_server *srv, int sock)
{
	uint32_t i;

	for (i = 0; i < srv->npeers; i++)
		if (srv->peers[i].sock == sock)
			return &srv->peers[i];
	return 0;
}

/* A peer never has anything to say (QEMU writes nothing): discard any bytes
 * (closing any fds they carry) and notice the hang-up. */
static void peer_readable(struct vmsg_ivsh_srv_peer *p)
{
	for (;;) {
		uint8_t junk[256];
		char ctl[CMSG_SPACE(8 * sizeof(int))];
		struct iovec iov = { junk, sizeof(junk) };
		struct msghdr mh = { 0 };
		struct cmsghdr *c;
		ssize_t n;

		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		n = recvmsg(p->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			p->dead = true;
			return;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t k, nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (k = 0; k < nfd; k++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
					close(fd);
				}
			}
		}
	}
}

int vmsg_ivsh_server_service(struct vmsg_ivsh_server *srv)
{
	struct epoll_event ev[32];
	int n, i, events = 0;
	bool listen_ready = false;

	if (!srv || srv->epoll_fd < 0)
		return VMSG_EINVAL;
	do {
		n = epoll_wait(srv->epoll_fd, ev, 32, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return VMSG_EIO;
	/* Peers first, accepting last: a socket number freed and reused within
	 * this batch can then never be mistaken for the old peer. */
	for (i = 0; i < n; i++) {
		struct vmsg_ivsh_srv_peer *p;

		if (ev[i].data.fd == srv->listen_fd) {
			listen_ready = true;
			continue;
		}
		p = find_sock(srv, ev[i].data.fd);
		if (!p)
			continue;
		events++;
		if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			peer_readable(p);
		if (ev[i].events & (EPOLLHUP | EPOLLERR))
			p->dead = true;
		if ((ev[i].events & EPOLLOUT) && !p->dead)
			flush(srv, p);
	}
	events += reap(srv);
	if (listen_ready) {
		for (;;) {
			int s = accept4(srv->listen_fd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (s < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				break; /* EAGAIN, or out of fds: retried on the next pass */
			}
			accept_one(srv, s);
			events++;
		}
		/* A newcomer's handshake may have failed, or killed a notice. */
		events += reap(srv);
	}
	return events;
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                         */
/* ---------------------------------------------------------------------- */

static int make_shm(struct vmsg_ivsh_server *srv, const struct vmsg_ivsh_server_cfg *cfg)
{
	uint64_t size = cfg->shm_size;
	struct stat st;

	if (cfg->use_shm_fd) {
		if (cfg->shm_fd < 0)
			return VMSG_EINVAL;
		srv->shm_fd = fcntl(cfg->shm_fd, F_DUPFD_CLOEXEC, 0);
	} else if (cfg->shm_name) {
		char name[256];

		/* shm_open wants "/name"; accept "name" as QEMU's server does. */
		if (snprintf(name, sizeof(name), "%s%s", cfg->shm_name[0] == '/' ? "" : "/",
			     cfg->shm_name) >= (int)sizeof(name))
			return VMSG_EINVAL;
		srv->shm_fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	} else {
		srv->shm_fd = memfd_create("ivshmem", MFD_CLOEXEC);
	}
	if (srv->shm_fd < 0)
		return err_from_errno(errno);
	if (!size && cfg->use_shm_fd) {
		if (fstat(srv->shm_fd, &st) != 0)
			return err_from_errno(errno);
		size = (uint64_t)st.st_size;
	} else if (!size) {
		size = DEFAULT_SHM_SIZE;
	}
	if (!is_pow2(size) || size > (uint64_t)INT64_MAX)
		return VMSG_EINVAL;
	if ((!cfg->use_shm_fd || cfg->shm_size) && ftruncate(srv->shm_fd, (off_t)size) != 0)
		return err_from_errno(errno);
	srv->shm_size = size;
	return 0;
}

static int listen_on(struct vmsg_ivsh_server *srv, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };

	memcpy(sa.sun_path, path, strlen(path) + 1);
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->listen_fd < 0)
		return err_from_errno(errno);
	if (bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* A socket left by a dead server is reused; a live server, or
		 * a file that is not a socket, is never touched. */
		int bind_errno = errno, probe;
		bool alive = true;
		struct stat st;

		if (bind_errno != EADDRINUSE)
			return err_from_errno(bind_errno);
		if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
			return VMSG_EBUSY;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			alive = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
				errno != ECONNREFUSED;
			close(probe);
		}
		if (alive || unlink(path) != 0 ||
		    bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			return VMSG_EBUSY;
	}
	memcpy(srv->path, path, strlen(path) + 1);
	if (listen(srv->listen_fd, 16) != 0)
		return err_from_errno(errno);
	ev.data.fd = srv->listen_fd;
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, &ev) != 0)
		return err_from_errno(errno);
	return 0;
}

int vmsg_ivsh_server_open(struct vmsg_ivsh_server *srv, const struct vmsg_ivsh_server_cfg *cfg)
{
	int err;

	if (!srv)
		return VMSG_EINVAL;
	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = srv->epoll_fd = srv->shm_fd = -1;
	if (!cfg || !cfg->socket_path || !cfg->socket_path[0] ||
	    strlen(cfg->socket_path) >= sizeof(srv->path) || cfg->vectors > VMSG_IVSH_MAX_VECTORS ||
	    cfg->max_peers > VMSG_IVSH_MAX_PEERS || cfg->max_id > VMSG_IVSH_MAX_ID)
		return VMSG_EINVAL;
	if (cfg->shm_size && !is_pow2(cfg->shm_size))
		return VMSG_EINVAL; /* QEMU asserts on a BAR that is not a power of two */
	srv->vectors = cfg->vectors ? cfg->vectors : 1;
	srv->max_peers = cfg->max_peers ? cfg->max_peers : VMSG_IVSH_MAX_PEERS;
	srv->max_id = cfg->max_id ? cfg->max_id : VMSG_IVSH_MAX_ID;
	srv->on_peer = cfg->on_peer;
	srv->ctx = cfg->ctx;
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	err = srv->epoll_fd < 0 ? err_from_errno(errno) : 0;
	if (!err)
		err = make_shm(srv, cfg);
	if (!err)
		err = listen_on(srv, cfg->socket_path);
	if (err)
		vmsg_ivsh_server_close(srv);
	return err;
}

int vmsg_ivsh_server_fd(const struct vmsg_ivsh_server *srv)
{
	return srv->epoll_fd;
}

uint32_t vmsg_ivsh_server_peer_count(const struct vmsg_ivsh_server *srv)
{
	return srv->npeers;
}

int vmsg_ivsh_server_shm_fd(const struct vmsg_ivsh_server *srv)
{
	return srv->shm_fd;
}

uint64_t vmsg_ivsh_server_shm_size(const struct vmsg_ivsh_server *srv)
{
	return srv->shm_size;
}

void vmsg_ivsh_server_close(struct vmsg_ivsh_server *srv)
{
	uint32_t i;

	if (!srv)
		return;
	for (i = 0; i < srv->npeers; i++)
		free_peer(srv, &srv->peers[i]);
	srv->npeers = 0;
	if (srv->listen_fd >= 0 && srv->path[0])
		unlink(srv->path);
	srv->path[0] = 0;
	close_fd(&srv->listen_fd);
	close_fd(&srv->epoll_fd);
	close_fd(&srv->shm_fd);
}
