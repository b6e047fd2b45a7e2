/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the ports that receive fds over a Unix socket (posix-shm,
 * ivshmem-host): walk the control buffer one recvmsg() returned and collect
 * the fds of its SCM_RIGHTS messages, closing those beyond the caller's
 * room, so that no fd a peer sends is ever left open unaccounted for.
 *
 * Pure apart from close(): it works on the bytes, so the fuzz targets call
 * it (through the ports' parsers) without a socket. The walk is bounded by
 * @ctl_len whatever the headers say and reads the buffer with memcpy (no
 * alignment assumed). Not installed.
 */
#ifndef VMSG_PORT_SCM_H
#define VMSG_PORT_SCM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What vmsg_scm_take_fds() saw. */
struct vmsg_scm_fds {
	size_t n;	   /* fds stored in the caller's array */
	size_t dropped;	   /* fds closed because the array was full */
	unsigned blocks;   /* SCM_RIGHTS messages */
	bool malformed;	   /* a header shorter than a header, or past the buffer */
};

/*
 * Collect the fds of every SCM_RIGHTS message in @ctl (the first @cap into
 * @fds, the others closed). A header that claims more bytes than are left
 * (the kernel's truncation of a non-fd message) gives the fds that are there
 * and ends the walk, as does a header too short to be one; both set
 * malformed. The kernel itself never writes a malformed buffer.
 */
static inline void vmsg_scm_take_fds(const void *ctl, size_t ctl_len, int *fds, size_t cap,
				     struct vmsg_scm_fds *out)
{
	const unsigned char *p = (const unsigned char *)ctl;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	while (ctl_len - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr h;
		size_t avail = ctl_len - off, len, k, cnt;

		memcpy(&h, p + off, sizeof(h));
		len = (size_t)h.cmsg_len;
		if (len < (size_t)CMSG_LEN(0)) {
			out->malformed = true;
			return;
		}
		if (len > avail) {
			out->malformed = true;
			len = avail;
		}
		if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS) {
			out->blocks++;
			cnt = (len - (size_t)CMSG_LEN(0)) / sizeof(int);
			for (k = 0; k < cnt; k++) {
				int fd;

				memcpy(&fd, p + off + CMSG_LEN(0) + k * sizeof(int), sizeof(fd));
				if (out->n < cap) {
					fds[out->n++] = fd;
				} else {
					out->dropped++;
					if (fd >= 0)
						close(fd);
				}
			}
		}
		if (out->malformed || CMSG_ALIGN(len) >= avail)
			return;
		off += CMSG_ALIGN(len);
	}
}

/* Close the first @n fds of @fds and mark them closed. */
static inline void vmsg_scm_close_fds(int *fds, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (fds[k] >= 0)
			close(fds[k]);
		fds[k] = -1;
	}
}

#endif /* VMSG_PORT_SCM_H */
