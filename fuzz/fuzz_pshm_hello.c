/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The posix-shm client's hello parser, vmsg_pshm_parse_hello()
 * (ports/posix-shm/posix_shm_hello.h): the hello bytes and the control
 * buffer a hostile server's message leaves after recvmsg(), with real fds.
 *
 * Script: a flags byte (our side, MSG_CTRUNC, hello mode), the hello (a
 * valid one with chosen flags, size, side, length and patched bytes, or raw
 * bytes), then up to 5 control messages: SCM_RIGHTS with 0..5 fds, other
 * SOL_SOCKET types and other levels with payload, and as the last one a
 * SCM_RIGHTS header claiming more fds than the buffer holds, or a bare
 * header with any cmsg_len (shorter than a header, or past the buffer).
 * The control buffer has the shape the kernel writes, except those.
 *
 * Checks: the result is exactly what the hello protocol says (success only
 * for a 32-byte hello with magic, version 1, a size in range, the other
 * side, and one well-formed SCM_RIGHTS message with 1 fd, or 3 in eventfd
 * mode, without MSG_CTRUNC); on success the fds handed over are the ones
 * sent, in order; every other fd sent is closed when the parser returns,
 * and the process's fd count is back at its start value.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_fds.h"
#include "posix_shm_hello.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/shm.h"

#define MAX_FDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	union {
		unsigned char buf[512];
		struct cmsghdr align;
	} ctl;
	uint8_t hello[64] = { 0 };
	struct vmsg_pshm_hello h;
	int fds[MAX_FDS], start;
	size_t nfds = 0, len = 32, off = 0;
	unsigned rights = 0;
	bool malformed = false, eventfd_mode = false, hello_ok, want_ok;
	uint8_t mode = fuzz_u8(&in), blocks;
	uint32_t own_side = mode & 1u, srv_side = !own_side;
	int flags = (mode & 2u) ? MSG_CTRUNC : 0;
	uint64_t hsize = 4096;
	int r;

	fuzz_fds_init();
	start = fuzz_count_fds();

	/* The hello. */
	if ((mode >> 2) % 4u == 3u) {
		size_t got;
		const uint8_t *p;

		len = fuzz_u8(&in) % 41u;
		p = fuzz_bytes(&in, len, &got);
		memcpy(hello, p, got);
		len = got;
	} else {
		static const uint64_t sizes[] = { 4096, 0, VMSG_V1_HDR_SIZE - 1, VMSG_V1_HDR_SIZE,
						  SIZE_MAX / 2, (uint64_t)SIZE_MAX / 2 + 1,
						  UINT64_MAX, 1u << 20 };
		uint8_t sel = fuzz_u8(&in), npatch;
		uint32_t hflags = (sel & 1u) ? VMSG_PSHM_HELLO_F_EVENTFD : 0;

		if (sel & 2u)
			hflags |= fuzz_u32(&in);
		hsize = (sel & 4u) ? fuzz_u64(&in) : sizes[(sel >> 3) & 7u];
		if (sel & 0x40u)
			srv_side = fuzz_u32(&in) % 4u;
		if (sel & 0x80u)
			len = fuzz_u8(&in) % 41u;
		memcpy(hello, VMSG_PSHM_HELLO_MAGIC, 8);
		vmsg_put_le32(hello + 8, 1);
		vmsg_put_le32(hello + 12, hflags);
		vmsg_put_le64(hello + 16, hsize);
		vmsg_put_le32(hello + 24, srv_side);
		npatch = (mode >> 2) % 4u == 2u ? fuzz_u8(&in) % 4u : 0;
		for (uint8_t i = 0; i < npatch; i++) {
			uint8_t pos = fuzz_u8(&in) % 32u;

			hello[pos] = fuzz_u8(&in);
		}
	}
	eventfd_mode = (vmsg_get_le32(hello + 12) & VMSG_PSHM_HELLO_F_EVENTFD) != 0;
	hsize = vmsg_get_le64(hello + 16);
	hello_ok = len == 32 && memcmp(hello, VMSG_PSHM_HELLO_MAGIC, 8) == 0 &&
		   vmsg_get_le32(hello + 8) == 1 && hsize >= VMSG_V1_HDR_SIZE &&
		   hsize <= SIZE_MAX / 2 && vmsg_get_le32(hello + 24) != own_side;

	/* The control buffer. */
	memset(&ctl, 0, sizeof(ctl));
	blocks = fuzz_u8(&in) % 6u;
	for (uint8_t b = 0; b < blocks && !malformed; b++) {
		uint8_t kind = fuzz_u8(&in) % 6u;
		size_t room = sizeof(ctl.buf) - off;
		struct cmsghdr hd = { 0 };

		if (room < CMSG_SPACE(8 * sizeof(int)) || nfds + 8 > MAX_FDS)
			break;
		hd.cmsg_level = SOL_SOCKET;
		hd.cmsg_type = SCM_RIGHTS;
		if (kind <= 1) { /* SCM_RIGHTS, 0..5 fds (1..3 for kind 1) */
			unsigned k = kind ? 1u + fuzz_u8(&in) % 3u : fuzz_u8(&in) % 6u;

			hd.cmsg_len = CMSG_LEN(k * sizeof(int));
			for (unsigned i = 0; i < k; i++) {
				fds[nfds] = fuzz_new_fd(fuzz_u8(&in));
				memcpy(ctl.buf + off + CMSG_LEN(0) + i * sizeof(int), &fds[nfds],
				       sizeof(int));
				nfds++;
			}
			rights++;
			memcpy(ctl.buf + off, &hd, sizeof(hd));
			off += CMSG_SPACE(k * sizeof(int));
		} else if (kind <= 3) { /* another type or level, with payload */
			size_t plen = fuzz_u8(&in) % 24u, got;
			const uint8_t *p;

			if (kind == 2)
				hd.cmsg_type = SCM_RIGHTS + 1 + fuzz_u8(&in) % 4u;
			else
				hd.cmsg_level = SOL_SOCKET + 1 + (int)(fuzz_u16(&in) % 300u);
			p = fuzz_bytes(&in, plen, &got);
			hd.cmsg_len = CMSG_LEN(plen);
			memcpy(ctl.buf + off, &hd, sizeof(hd));
			memcpy(ctl.buf + off + CMSG_LEN(0), p, got);
			off += CMSG_SPACE(plen);
		} else if (kind == 4) { /* SCM_RIGHTS claiming more than there is */
			unsigned have = fuzz_u8(&in) % 4u, claim = have + 1 + fuzz_u8(&in) % 8u;

			hd.cmsg_len = CMSG_LEN(claim * sizeof(int));
			for (unsigned i = 0; i < have; i++) {
				fds[nfds] = fuzz_new_fd(fuzz_u8(&in));
				memcpy(ctl.buf + off + CMSG_LEN(0) + i * sizeof(int), &fds[nfds],
				       sizeof(int));
				nfds++;
			}
			memcpy(ctl.buf + off, &hd, sizeof(hd));
			off += CMSG_LEN(have * sizeof(int));
			rights++;
			malformed = true;
		} else { /* a bare header, any length, any type but fds */
			uint32_t clen = fuzz_u32(&in);

			hd.cmsg_type = (fuzz_u8(&in) & 1u) ? SCM_RIGHTS : SCM_RIGHTS + 1;
			hd.cmsg_len = clen;
			memcpy(ctl.buf + off, &hd, sizeof(hd));
			off += sizeof(hd);
			if ((size_t)clen != CMSG_LEN(0) || sizeof(hd) != CMSG_LEN(0))
				malformed = true;
			if ((size_t)clen >= CMSG_LEN(0) && hd.cmsg_type == SCM_RIGHTS)
				rights++;
		}
	}

	want_ok = hello_ok && !flags && !malformed && rights == 1 &&
		  nfds == (eventfd_mode ? 3u : 1u);
	r = vmsg_pshm_parse_hello(hello, len, off ? ctl.buf : NULL, off, flags, own_side, &h);
	FUZZ_CHECK(r == 0 || r == VMSG_EPROTO);
	FUZZ_CHECK((r == 0) == want_ok);
	if (r == 0) {
		FUZZ_CHECK(h.size == hsize && h.eventfd == eventfd_mode);
		FUZZ_CHECK(h.shm_fd == fds[0]);
		FUZZ_CHECK(h.kick_fd == (eventfd_mode ? fds[1] : -1));
		FUZZ_CHECK(h.wait_fd == (eventfd_mode ? fds[2] : -1));
		for (size_t i = 0; i < nfds; i++) {
			FUZZ_CHECK(fuzz_fd_open(fds[i]));
			close(fds[i]);
		}
	} else {
		FUZZ_CHECK(h.shm_fd == -1 && h.kick_fd == -1 && h.wait_fd == -1);
		for (size_t i = 0; i < nfds; i++)
			FUZZ_CHECK(!fuzz_fd_open(fds[i]));
	}
	FUZZ_CHECK(fuzz_count_fds() == start);
	return 0;
}
