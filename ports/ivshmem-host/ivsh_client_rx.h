/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the ivshmem-host port (not installed): the client's handling
 * of what the server sends, as functions of the bytes and the control
 * buffer one recvmsg() returned, so that the fuzz target
 * (fuzz/fuzz_ivsh_client.c) runs them without a socket. The socket loop in
 * ivsh_client.c (vmsg_ivsh_client_service()) is the only other caller.
 *
 * The protocol (port_ivshmem_host.h): little-endian int64 messages, each
 * with at most one fd (SCM_RIGHTS): the version (0), our id, -1 with the
 * shm fd, then peer ids with an eventfd per vector (our own id: the
 * eventfds we receive on), and a peer id without fd for a departure.
 */
#ifndef VMSG_IVSH_CLIENT_RX_H
#define VMSG_IVSH_CLIENT_RX_H

#include <stddef.h>

#include "virtio_msg/port_ivshmem_host.h"

/* fds accepted with one recvmsg: more than one is a protocol error, but
 * they must all be received to be closed (a short buffer would truncate
 * and the kernel would drop them silently, hiding the error). */
#define VMSG_IVSH_RX_FDS 8

/*
 * A client without a socket, waiting for the protocol version: the state
 * vmsg_ivsh_client_start() leaves after its connect. Release it with
 * vmsg_ivsh_client_close().
 * @retval 0, or VMSG_ENOMEM / VMSG_EIO (epoll_create1() failed).
 */
int vmsg_ivsh_client_init_detached(struct vmsg_ivsh_client *cl);

/*
 * What one recvmsg() returned: @n bytes at @data (at most the rest of the
 * message being assembled, 8 - cl->rx_len; 0 = the server hung up), its
 * control buffer (@ctl, msg_controllen @ctl_len) and @msg_flags. Every fd
 * of every SCM_RIGHTS message in @ctl is kept (in the client's tables) or
 * closed before returning, whatever the outcome.
 * @retval 1 a message was completed and acted on.
 * @retval 0 more bytes are needed.
 * @retval VMSG_EPROTO the server broke the protocol (more than one fd with
 *         one message, a truncated or malformed control buffer, an
 *         unexpected value or fd); VMSG_ECONNRESET it hung up between
 *         messages; VMSG_EINVAL @n too large; others from epoll_ctl().
 *         The caller latches the error (the stream can no longer be trusted).
 */
int vmsg_ivsh_client_rx(struct vmsg_ivsh_client *cl, const void *data, size_t n, const void *ctl,
			size_t ctl_len, int msg_flags);

/* Tell the callback about the peers learned since the last call (the end of
 * a vmsg_ivsh_client_service() pass). */
void vmsg_ivsh_client_announce(struct vmsg_ivsh_client *cl);

#endif /* VMSG_IVSH_CLIENT_RX_H */
