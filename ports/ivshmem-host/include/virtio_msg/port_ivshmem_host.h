/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_ivshmem_host.h
 * @brief ivshmem-host port: the ivshmem server protocol, as a server and as
 *        a host-process client.
 *
 * QEMU's `-device ivshmem-doorbell,chardev=...` gets its shared memory and
 * its doorbells from a server on a Unix-domain socket. Every message of
 * that protocol is one 8-byte little-endian signed integer, optionally with
 * one file descriptor (SCM_RIGHTS), and it only flows from the server to
 * its peers:
 *
 *   to a new peer:     0 (protocol version); its id; -1 + the shm fd; for
 *                      every existing peer and vector, that peer's id + its
 *                      eventfd; then for each own vector, its own id + the
 *                      eventfd it receives on;
 *   to the others:     the new id + each of its eventfds (one per vector);
 *   on a disconnect:   the departed id without fd, to everyone else.
 *
 * Ringing peer P on vector v means writing the 8-byte value 1 to P's eventfd
 * number v. Peer ids are 0..65535.
 *
 * The server (vmsg_ivsh_server_*) is a single-threaded, non-blocking drop-in
 * for QEMU's contrib ivshmem-server (Debian's QEMU ships none); the tool
 * vmsg-ivshmem-server wraps it. The client (vmsg_ivsh_client_*) lets a host
 * process join any such server as a full peer: it maps the same memory,
 * rings peers and receives their doorbells.
 *
 * Neither side owns an event loop: each exposes one fd to poll and a
 * service() call that handles whatever is pending without blocking. Objects
 * are caller-allocated, there is no global state, every fd is O_CLOEXEC.
 * Linux only (memfd, eventfd, epoll).
 *
 *     struct vmsg_ivsh_client cl;
 *     void *mem; size_t size;
 *     vmsg_ivsh_client_connect(&cl, "/tmp/ivshmem_socket", 5000);
 *     vmsg_ivsh_client_set_peer_cb(&cl, on_peer, ctx);
 *     vmsg_ivsh_client_map(&cl, &mem, &size);
 *     loop: poll(vmsg_ivsh_client_fd(&cl)) -> vmsg_ivsh_client_service(&cl),
 *           vmsg_ivsh_client_drain(&cl, &n); vmsg_ivsh_client_ring(&cl, peer, 0);
 */
#ifndef VIRTIO_MSG_PORT_IVSHMEM_HOST_H
#define VIRTIO_MSG_PORT_IVSHMEM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"

VMSG_BEGIN_DECLS

/** Highest peer id of the protocol (the doorbell register has 16 bits). */
#define VMSG_IVSH_MAX_ID 65535u
/** Most interrupt vectors per peer (server and client). */
#define VMSG_IVSH_MAX_VECTORS 64u
/** Size of the peer tables: peers a server serves at once, and other peers
 *  a client tracks. Part of the struct layouts below (so of the ABI). */
#define VMSG_IVSH_MAX_PEERS 64u
/** Protocol version the server sends first and the client requires. */
#define VMSG_IVSH_PROTOCOL_VERSION 0

/**
 * @brief A peer joined (connected = true) or left (false).
 *
 * Called from inside vmsg_ivsh_server_service() or
 * vmsg_ivsh_client_service(); it may call the accessors of the same object
 * but must not close it or call its service() again.
 */
typedef void (*vmsg_ivsh_peer_fn)(void *ctx, uint32_t id, bool connected);

/* ---------------------------------------------------------------------- */
/* Server                                                                 */
/* ---------------------------------------------------------------------- */

struct vmsg_ivsh_server_cfg {
	/** Unix socket path to listen on (required, < 108 bytes). A stale
	 *  socket left by a dead server is replaced; a live one or any other
	 *  kind of file gives VMSG_EBUSY. */
	const char *socket_path;
	/** Shared memory size in bytes; must be a power of two (QEMU maps it
	 *  as a PCI BAR). 0 = the size of shm_fd when use_shm_fd, else 4 MiB. */
	uint64_t shm_size;
	/** Interrupt vectors per peer, 1..VMSG_IVSH_MAX_VECTORS (0 = 1). */
	uint32_t vectors;
	/** Serve this existing shm fd. The server dup()s it; the caller keeps
	 *  its own fd. It is resized to shm_size unless shm_size is 0. */
	bool use_shm_fd;
	int shm_fd;
	/** Else, when set: shm_open() this name (created if missing, mode
	 *  0600, resized to shm_size). The server never unlinks the name: the
	 *  memory outlives it on purpose. NULL = an anonymous memfd. */
	const char *shm_name;
	/** Peers served at once, 1..VMSG_IVSH_MAX_PEERS (0 = the maximum).
	 *  A connection beyond it is accepted and closed at once. */
	uint32_t max_peers;
	/** Highest id handed out, 1..VMSG_IVSH_MAX_ID (0 = VMSG_IVSH_MAX_ID).
	 *  Only tests want a lower value (to reach the id wrap quickly). */
	uint32_t max_id;
	/** Optional: told of every peer that joins or leaves. */
	vmsg_ivsh_peer_fn on_peer;
	void *ctx;
};

/* One queued message to a peer (private to ivsh_server.c). */
struct vmsg_ivsh_srv_msg;

/** One connected peer of the server. Treat as opaque. */
struct vmsg_ivsh_srv_peer {
	int sock;
	uint32_t id;
	bool dead;     /* to be removed at the end of this service pass */
	bool want_out; /* EPOLLOUT armed: the queue waits for socket room */
	int efd[VMSG_IVSH_MAX_VECTORS];
	struct vmsg_ivsh_srv_msg *q; /* messages the socket had no room for */
	uint32_t q_head, q_len, q_cap;
};

/** The server. Visible for allocation; treat as opaque. */
struct vmsg_ivsh_server {
	int listen_fd, epoll_fd, shm_fd;
	uint64_t shm_size;
	uint32_t vectors, max_peers, max_id;
	uint32_t next_id; /* the monotonic id counter (wraps at max_id) */
	uint32_t npeers;  /* peers[0..npeers) in order of connection */
	struct vmsg_ivsh_srv_peer peers[VMSG_IVSH_MAX_PEERS];
	vmsg_ivsh_peer_fn on_peer;
	void *ctx;
	uint64_t accepted, refused;
	char path[108];
};

/**
 * @brief Create the shared memory, bind and listen. Does not block.
 * @param[out] srv caller-allocated; owns every fd it opens until
 *             vmsg_ivsh_server_close().
 * @retval 0 listening.
 * @retval VMSG_EINVAL bad cfg: no or too long path, size not a power of two,
 *         vectors, max_peers or max_id out of range.
 * @retval VMSG_EBUSY the path is in use (a live server, or not a socket).
 * @retval VMSG_ENOENT, VMSG_ENOMEM, VMSG_EIO the OS refused (mapped errno).
 * On failure everything opened so far is closed again.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_server_open(struct vmsg_ivsh_server *srv,
						   const struct vmsg_ivsh_server_cfg *cfg);

/** @brief The fd to poll for readability (an epoll fd holding the listening
 *  socket and every peer); then call vmsg_ivsh_server_service(). Owned by
 *  the server. */
VMSG_API int vmsg_ivsh_server_fd(const struct vmsg_ivsh_server *srv);

/**
 * @brief Accept new peers, detect departed ones, send queued messages.
 *        Never blocks. Peers that hang up, send errors, or stop reading
 *        while tens of thousands of messages wait for them are dropped
 *        (and announced as departed).
 * @return the number of events handled (>= 0), or VMSG_EIO when epoll
 *         itself failed.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_server_service(struct vmsg_ivsh_server *srv);

/** @brief Peers connected now. */
VMSG_API uint32_t vmsg_ivsh_server_peer_count(const struct vmsg_ivsh_server *srv);

/** @brief The shm fd the server hands out (owned by the server). */
VMSG_API int vmsg_ivsh_server_shm_fd(const struct vmsg_ivsh_server *srv);

/** @brief The shared memory size in bytes. */
VMSG_API uint64_t vmsg_ivsh_server_shm_size(const struct vmsg_ivsh_server *srv);

/** @brief Disconnect every peer, close every fd, unlink the socket path.
 *  Safe to call twice and after a failed open. */
VMSG_API void vmsg_ivsh_server_close(struct vmsg_ivsh_server *srv);

/* ---------------------------------------------------------------------- */
/* Client                                                                 */
/* ---------------------------------------------------------------------- */

/** Another peer as a client sees it. Treat as opaque. */
struct vmsg_ivsh_cl_peer {
	uint32_t id;
	uint32_t vectors;
	bool announced; /* on_peer(connected) has been called */
	int efd[VMSG_IVSH_MAX_VECTORS];
};

/** The client. Visible for allocation; treat as opaque. */
struct vmsg_ivsh_client {
	int sock, epoll_fd, shm_fd;
	int state; /* handshake progress, see ivsh_client.c */
	int err;   /* latched error: the connection is unusable */
	uint32_t id;
	uint64_t shm_size;
	void *map;
	uint32_t vectors; /* own receive vectors so far */
	int efd[VMSG_IVSH_MAX_VECTORS];
	uint32_t npeers;
	struct vmsg_ivsh_cl_peer peers[VMSG_IVSH_MAX_PEERS];
	uint64_t peers_ignored; /* peers beyond VMSG_IVSH_MAX_PEERS */
	vmsg_ivsh_peer_fn on_peer;
	void *ctx;
	uint8_t rx[8]; /* a message split across reads */
	uint32_t rx_len;
	int rx_fd;
};

/**
 * @brief Start joining a server without blocking: connect the socket only.
 *        vmsg_ivsh_client_service() then reads the version, the id and the
 *        shm fd; vmsg_ivsh_client_ready() says when they have arrived. For
 *        a process that also runs the server, or any event loop.
 * @param[out] cl caller-allocated; owns every fd it opens or receives.
 * @retval 0 connected (handshake pending).
 * @retval VMSG_EINVAL path missing or too long.
 * @retval VMSG_ENOENT no socket at the path. @retval VMSG_ECONNRESET nobody
 *         listens there. @retval VMSG_EAGAIN the server's backlog is full.
 * @retval VMSG_EIO, VMSG_ENOMEM other OS failures.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_start(struct vmsg_ivsh_client *cl,
						    const char *socket_path);

/**
 * @brief Join a server: connect (retrying while the socket is missing or
 *        refuses, so a script need not wait for the server), then read the
 *        protocol version (must be 0), the own id and the shm fd, whose size
 *        comes from fstat(). Does not map the memory (see
 *        vmsg_ivsh_client_map()). The eventfds follow through
 *        vmsg_ivsh_client_service().
 * @param timeout_ms bound on the whole call (>= 0).
 * @retval 0 joined. @retval VMSG_ETIMEDOUT no server, or no handshake, in
 *         time. @retval VMSG_EPROTO the server broke the protocol (wrong
 *         version, fd where none belongs, missing shm fd, bad id, truncated
 *         message). @retval VMSG_ECONNRESET the server hung up.
 * @retval VMSG_EINVAL, VMSG_EIO, VMSG_ENOMEM.
 * On failure everything is closed again (no fd is leaked).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_connect(struct vmsg_ivsh_client *cl,
						      const char *socket_path, int timeout_ms);

/** @brief Set (or clear, fn = NULL) the callback told of peers joining and
 *  leaving. Peers learned during a service() pass are announced at its end,
 *  when normally all their vectors have arrived; a peer that comes and goes
 *  within one pass is never announced. Departures are announced at once. */
VMSG_API void vmsg_ivsh_client_set_peer_cb(struct vmsg_ivsh_client *cl, vmsg_ivsh_peer_fn fn,
					   void *ctx);

/** @brief Whether the version, id and shm fd have arrived. */
VMSG_API bool vmsg_ivsh_client_ready(const struct vmsg_ivsh_client *cl);

/**
 * @brief Map the shared memory (MAP_SHARED, read-write) on first call; later
 *        calls return the same mapping. Unmapped by vmsg_ivsh_client_close().
 * @retval 0 *ptr and *size set. @retval VMSG_ESTATE not ready yet.
 * @retval VMSG_ENOMEM, VMSG_EIO mmap failed.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_map(struct vmsg_ivsh_client *cl, void **ptr,
						  size_t *size);

/** @brief The shm fd (owned by the client; dup() it to keep it), or -1. */
VMSG_API int vmsg_ivsh_client_shm_fd(const struct vmsg_ivsh_client *cl);

/** @brief The shared memory size (0 before ready). */
VMSG_API uint64_t vmsg_ivsh_client_shm_size(const struct vmsg_ivsh_client *cl);

/**
 * @brief Read every pending server message without blocking: the rest of
 *        the handshake, peers' eventfds (a peer is created by its first),
 *        own receive eventfds, departures. Calls the peer callback.
 * @return the number of messages handled (>= 0).
 * @retval VMSG_EPROTO the server broke the protocol: an fd where none
 *         belongs or several on one message, an id above 65535 or a
 *         negative one other than -1 during the handshake, a second shm,
 *         more than VMSG_IVSH_MAX_VECTORS fds for one peer, a departure of
 *         ourselves, a hang-up in the middle of a message. Every fd of the
 *         offending message is closed.
 * @retval VMSG_ECONNRESET the server hung up.
 * @retval VMSG_ENOMEM our fd table is full: the kernel dropped an fd the
 *         server sent, so the peer tables can no longer be complete.
 * All three are latched: later calls return them again. The peers known so far
 * and their doorbells stay usable (eventfds do not need the server), but no
 * more changes are learned: close and connect again (for a new id).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_service(struct vmsg_ivsh_client *cl);

/**
 * @brief Ring peer @p peer_id on @p vector: write 1 to its eventfd. Never
 *        blocks. Ringing ourselves is allowed (own id, own vectors).
 * @retval 0 rung. @retval VMSG_ENOENT no such peer or vector (real ivshmem
 *         silently drops such doorbells; the caller deserves to know).
 * @retval VMSG_EAGAIN the counter is saturated (the peer never drains).
 * @retval VMSG_EIO the write failed.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_ring(struct vmsg_ivsh_client *cl, uint32_t peer_id,
						   uint32_t vector);

/** @brief One fd to poll for everything (an epoll fd holding the server
 *  socket and every own eventfd); owned by the client. */
VMSG_API int vmsg_ivsh_client_fd(const struct vmsg_ivsh_client *cl);

/**
 * @brief Wait until a doorbell rang for us or a server message is pending.
 * @param timeout_ns 0 = just look; UINT64_MAX = no limit.
 * @retval 0 something is pending (call service() and/or drain()).
 * @retval VMSG_ETIMEDOUT nothing within the time. @retval VMSG_EIO.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_wait(struct vmsg_ivsh_client *cl,
						   uint64_t timeout_ns);

/**
 * @brief Clear every own eventfd without blocking.
 * @param[out] count optional: the sum of their counters, i.e. the number of
 *             doorbells received since the last drain.
 * @retval 0 (also when nothing rang). @retval VMSG_EIO.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_drain(struct vmsg_ivsh_client *cl, uint64_t *count);

/** @brief Own peer id (valid once ready). */
VMSG_API uint32_t vmsg_ivsh_client_id(const struct vmsg_ivsh_client *cl);

/** @brief Own receive vectors received so far (the server's vector count
 *  once the handshake has been serviced). */
VMSG_API uint32_t vmsg_ivsh_client_vectors(const struct vmsg_ivsh_client *cl);

/** @brief Number of other peers known now. */
VMSG_API uint32_t vmsg_ivsh_client_peer_count(const struct vmsg_ivsh_client *cl);

/**
 * @brief The id of the @p i-th known peer (0 <= i < peer_count, in order
 *        of arrival). Indices shift when a peer leaves.
 * @retval 0 *id set. @retval VMSG_ENOENT i out of range.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivsh_client_peer_at(const struct vmsg_ivsh_client *cl, uint32_t i,
						      uint32_t *id);

/** @brief Whether peer @p id is known now (never true for the own id). */
VMSG_API bool vmsg_ivsh_client_has_peer(const struct vmsg_ivsh_client *cl, uint32_t id);

/** @brief How many vectors of peer @p id are known (0 if absent). */
VMSG_API uint32_t vmsg_ivsh_client_peer_vectors(const struct vmsg_ivsh_client *cl, uint32_t id);

/** @brief Unmap and close every fd. Safe to call twice and after a failed
 *  connect. Peers are not told anything: the server sees the hang-up. */
VMSG_API void vmsg_ivsh_client_close(struct vmsg_ivsh_client *cl);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_IVSHMEM_HOST_H */
