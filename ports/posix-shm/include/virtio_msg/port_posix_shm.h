/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_posix_shm.h
 * @brief posix-shm port: a virtio-msg bus between two processes on one host.
 *
 * The server creates the shared region (memfd, or shm_open with a name,
 * mode 0600), writes the vmamp v1 layout and listens on a Unix-domain
 * socket. The client connects, receives the region's fd and the doorbells
 * (two eventfds on Linux, passed with SCM_RIGHTS; elsewhere the socket
 * carries the doorbell bytes), maps the region and validates the layout.
 * Either process may be the virtio-msg driver side or the device side.
 *
 * A peer that dies is seen as a socket hang-up (within the service period,
 * 10 ms by default, or at once when sleeping): pending requests fail with
 * VMSG_ECONNRESET and the server accepts the next client without
 * restarting. Names (socket path, shm name) are removed on close.
 *
 * A server that was killed cannot remove them. The next server on the same
 * socket path probes it: if nothing answers there, it takes the path over,
 * and the shm name with it (a new region; the dead one's is unlinked). If a
 * server answers, the new one is refused with VMSG_EBUSY and touches
 * neither name (a live server that is not accepting, its backlog full,
 * answers too). A shm name is reclaimed only with its stale socket path:
 * one left without its path (the path was removed) still gives VMSG_EBUSY.
 * Limits: give each server its own socket path and shm name (the reclaim
 * takes the name on the evidence of the path); two servers started on one
 * path at the same moment are not told apart (start them one after the
 * other); and where a full backlog refuses connections (ECONNREFUSED, as
 * some BSDs do, instead of Linux's EAGAIN) a busy live server looks dead.
 *
 *     struct vmsg_posix_shm port;
 *     struct vmsg_posix_shm_cfg pc = { .socket_path = "/tmp/vm.sock",
 *             .side = VMSG_SHM_DEVICE, .server = true };
 *     vmsg_posix_shm_open(&port, &pc);
 *     cfg.ops = &vmsg_shm_bus_ops; cfg.priv = vmsg_posix_shm_bus(&port);
 *     vmsg_bus_init(&bus, &cfg);      then vmsg_bus_wait() in a loop, or in your own
 *     loop vmsg_bus_prepare_sleep() + poll(vmsg_posix_shm_fd(&port)) + vmsg_bus_poll()
 */
#ifndef VIRTIO_MSG_PORT_POSIX_SHM_H
#define VIRTIO_MSG_PORT_POSIX_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

VMSG_BEGIN_DECLS

struct vmsg_posix_shm_cfg {
	const char *socket_path; /**< rendezvous socket (required, < 108 bytes) */
	/** Server: create the region with shm_open under this name ("/x");
	 *  NULL = an anonymous memfd. Client: attach by this name, mapping
	 *  its own open of it instead of the fd the server passes (the
	 *  server always passes one, so a client without a name attaches
	 *  by fd); the name must open that same region, or open fails with
	 *  VMSG_EPROTO. */
	const char *shm_name;
	enum vmsg_shm_side side; /**< virtio-msg side of this process */
	bool server;             /**< create region and socket, own the layout */
	struct vmsg_shm_v1_params layout; /**< server; 0 = 64 slots of 264 bytes, extended */
	uint64_t spin_ns;        /**< adaptive wait: spin this long before sleeping */
	/** Client: the budget of the whole rendezvous (0 = 5 s), one deadline
	 *  for both steps: connecting (retried while nobody listens at
	 *  socket_path) and then waiting for the server's hello (a server
	 *  that listens but is not serviced yet sends it only from its next
	 *  vmsg_bus_poll()/wait). Past it vmsg_posix_shm_open() returns
	 *  VMSG_ETIMEDOUT. */
	uint64_t connect_timeout_ns;
	bool socket_doorbell;    /**< use the portable doorbell even on Linux */
	uint32_t peer_id;        /**< published in the layout for the peer */
};

/** One end. Visible for allocation; treat as opaque. */
struct vmsg_posix_shm {
	struct vmsg_posix_shm_cfg cfg;
	int listen_fd, conn_fd, shm_fd;
	int efd_wait, efd_kick;  /* eventfds: ours to wait on, the peer's to kick */
	int epoll_fd;
	void *map;
	size_t map_size;
	bool eventfd;            /* doorbells are eventfds (else socket bytes) */
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	uint64_t peers_accepted;
	uint64_t hangups;
	char path[108];
	char name[64];
};

/**
 * @brief Server: create region, layout and socket. Client: connect, receive
 *        and map the region. Then use vmsg_shm_bus_ops with
 *        vmsg_posix_shm_bus() as priv.
 * @retval 0 ready. @retval VMSG_EINVAL bad configuration. @retval VMSG_EBUSY
 *         (server) a live server answers on socket_path, or shm_name is
 *         taken and the path was not a dead server's. @retval VMSG_EIO,
 *         VMSG_ENOENT, VMSG_ETIMEDOUT (client: no server, or no hello,
 *         within connect_timeout_ns), VMSG_EPROTO (the server's hello or
 *         layout is invalid, or shm_name is not the server's region).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_posix_shm_open(struct vmsg_posix_shm *p,
						 const struct vmsg_posix_shm_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_posix_shm_bus(struct vmsg_posix_shm *p);

/** @brief One fd that becomes readable on a doorbell, a hang-up or a new
 *  peer: put it in your poll loop, call vmsg_bus_prepare_sleep() before
 *  each sleep (bus.h), and vmsg_bus_poll() after. Without the portable
 *  fallback's epoll (Linux) it is the connection, or the listening socket
 *  while no peer is connected. */
VMSG_API int vmsg_posix_shm_fd(const struct vmsg_posix_shm *p);

/** @brief Whether a peer is connected now. */
VMSG_API bool vmsg_posix_shm_connected(const struct vmsg_posix_shm *p);

/** @brief Close everything; the server removes the socket and shm names.
 *  (vmsg_bus_close() calls this through the hooks.) */
VMSG_API int vmsg_posix_shm_close(struct vmsg_posix_shm *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_POSIX_SHM_H */
