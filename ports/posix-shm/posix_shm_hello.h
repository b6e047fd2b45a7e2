/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the posix-shm port (not installed): the server's hello as a
 * pure function of the bytes and the control buffer one recvmsg() returned,
 * so that tests and the fuzz target (fuzz/fuzz_pshm_hello.c) run it without
 * a socket. take_hello() in posix_shm.c is the only other caller.
 *
 * The hello (32 bytes, little-endian): "VMPSHM01", le32 version (1), le32
 * flags (bit 0: eventfd doorbells), le64 region size, le32 the server's
 * side, 4 bytes unused. One SCM_RIGHTS message carries the region fd, and in
 * eventfd mode then the fd we write to wake the server and the fd it writes
 * to wake us: exactly 1 or exactly 3 fds.
 */
#ifndef VMSG_POSIX_SHM_HELLO_H
#define VMSG_POSIX_SHM_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSG_PSHM_HELLO_MAGIC "VMPSHM01"
#define VMSG_PSHM_HELLO_SIZE 32u
#define VMSG_PSHM_HELLO_F_EVENTFD 0x1u
/* The most fds the port receives with the hello: enough to see (and close)
 * any a server sends beyond the 3 it may send. */
#define VMSG_PSHM_HELLO_RX_FDS 8u

struct vmsg_pshm_hello {
	uint64_t size; /* region size the server claims (checked again by fstat) */
	bool eventfd;  /* eventfd doorbells */
	int shm_fd;    /* the region */
	int kick_fd;   /* eventfd mode: we write it to wake the server; else -1 */
	int wait_fd;   /* eventfd mode: the server writes it to wake us; else -1 */
};

/*
 * @data/@len: the bytes recvmsg() returned; @ctl/@ctl_len: its control
 * buffer and msg_controllen; @msg_flags: its msg_flags (MSG_CTRUNC);
 * @own_side: our enum vmsg_shm_side (the server must claim the other).
 * Every fd of every SCM_RIGHTS message in @ctl is either handed over in
 * @out (only on success) or closed, whatever the outcome.
 * @retval 0 a valid hello; @out holds its values and fds.
 * @retval VMSG_EPROTO anything else: a short or long hello, a wrong magic,
 *         version or size, the same side as ours, a truncated control
 *         buffer (MSG_CTRUNC) or a malformed one, no SCM_RIGHTS message or
 *         more than one, or a number of fds other than the mode's 1 or 3.
 *         @out holds -1 fds.
 */
int vmsg_pshm_parse_hello(const void *data, size_t len, const void *ctl, size_t ctl_len,
			  int msg_flags, uint32_t own_side, struct vmsg_pshm_hello *out);

#endif /* VMSG_POSIX_SHM_HELLO_H */
