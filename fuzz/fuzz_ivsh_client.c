/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem-server protocol client (ports/ivshmem-host/ivsh_client.c)
 * through vmsg_ivsh_client_rx() (ivsh_client_rx.h): what each recvmsg()
 * of a hostile server returns, bytes and control buffer with real fds,
 * without a socket.
 *
 * Script: up to 48 operations: a whole message (a value from a dictionary:
 * the version 0, -1, our id, small peer ids, 65536, any 64-bit value; with
 * no fd, an eventfd, the 4 KiB memfd or /dev/null; in one read or split in
 * two with the fd on either part), a raw part (0..8 bytes as the rest of
 * the message allows, 0..3 fds in one or two SCM_RIGHTS messages, another
 * control message, MSG_CTRUNC), the end of a service pass (peers
 * announced), or a hang-up. The first error ends the input (the real client
 * latches it).
 *
 * Checks: documented codes only; the tables stay in bounds (ids <= 65535,
 * no peer with our id, no duplicate peer, 1..64 vectors each); every fd
 * the client holds is open, distinct, and one we sent; every fd we sent
 * that it does not hold is closed when the call returns; the fd count of
 * the process is exactly the start value + the epoll fd + the fds held,
 * after every call, and the start value after vmsg_ivsh_client_close();
 * the peer callback says up only for a peer not up and in the table, down
 * only for one that was up.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_fds.h"
#include "ivsh_client_rx.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"

#define MAX_SENT 512

static struct vmsg_ivsh_client cl;
static int sent[MAX_SENT]; /* fds we sent that may still be held */
static size_t nsent;
static bool up[VMSG_IVSH_MAX_ID + 1];

static void on_peer(void *ctx, uint32_t id, bool is_up)
{
	(void)ctx;
	FUZZ_CHECK(id <= VMSG_IVSH_MAX_ID);
	FUZZ_CHECK(up[id] != is_up);
	if (is_up)
		FUZZ_CHECK(vmsg_ivsh_client_has_peer(&cl, id));
	up[id] = is_up;
}

/* The fds the client holds now (checked: open, distinct, sent by us). */
static size_t held(int *out, size_t cap)
{
	size_t n = 0;

#define HOLD(fd)                                   \
	do {                                       \
		FUZZ_CHECK(n < cap);               \
		out[n++] = (fd);                   \
	} while (0)
	if (cl.rx_fd >= 0)
		HOLD(cl.rx_fd);
	if (cl.shm_fd >= 0)
		HOLD(cl.shm_fd);
	FUZZ_CHECK(cl.vectors <= VMSG_IVSH_MAX_VECTORS);
	for (uint32_t v = 0; v < cl.vectors; v++)
		HOLD(cl.efd[v]);
	FUZZ_CHECK(cl.npeers <= VMSG_IVSH_MAX_PEERS);
	for (uint32_t i = 0; i < cl.npeers; i++) {
		const struct vmsg_ivsh_cl_peer *p = &cl.peers[i];

		FUZZ_CHECK(p->id <= VMSG_IVSH_MAX_ID && p->id != cl.id);
		FUZZ_CHECK(p->vectors >= 1 && p->vectors <= VMSG_IVSH_MAX_VECTORS);
		for (uint32_t j = i + 1; j < cl.npeers; j++)
			FUZZ_CHECK(cl.peers[j].id != p->id);
		for (uint32_t v = 0; v < p->vectors; v++)
			HOLD(p->efd[v]);
	}
#undef HOLD
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		FUZZ_CHECK(out[i] >= 0 && fuzz_fd_open(out[i]));
		for (size_t j = i + 1; j < n; j++)
			FUZZ_CHECK(out[j] != out[i]);
		for (size_t j = 0; j < nsent && !ours; j++)
			ours = sent[j] == out[i];
		FUZZ_CHECK(ours);
	}
	return n;
}

/* After each call: what is not held is closed; forget it. */
static void check_fds(int start)
{
	int h[2 + VMSG_IVSH_MAX_VECTORS * (1 + VMSG_IVSH_MAX_PEERS)];
	size_t n = held(h, sizeof(h) / sizeof(h[0])), keep = 0;

	for (size_t i = 0; i < nsent; i++) {
		bool is_held = false;

		for (size_t j = 0; j < n && !is_held; j++)
			is_held = h[j] == sent[i];
		if (is_held)
			sent[keep++] = sent[i];
		else
			FUZZ_CHECK(!fuzz_fd_open(sent[i]));
	}
	nsent = keep;
	FUZZ_CHECK(fuzz_count_fds() == start + 1 + (int)n);
}

/* A control buffer with @k new fds (in two SCM_RIGHTS messages if @split),
 * optionally preceded by a message of another type. Returns its length. */
static size_t make_ctl(struct fuzz_in *in, unsigned char *buf, size_t cap, unsigned k,
		       bool split, bool other)
{
	size_t off = 0;
	unsigned first = split ? k / 2 : k;

	memset(buf, 0, cap);
	if (other) {
		struct cmsghdr hd = { 0 };

		hd.cmsg_level = SOL_SOCKET;
		hd.cmsg_type = SCM_RIGHTS + 1;
		hd.cmsg_len = CMSG_LEN(12);
		memcpy(buf, &hd, sizeof(hd));
		off += CMSG_SPACE(12);
	}
	for (unsigned part = 0; part < (split ? 2u : 1u); part++) {
		unsigned cnt = part ? k - first : first;
		struct cmsghdr hd = { 0 };

		if (!cnt && !split)
			break;
		hd.cmsg_level = SOL_SOCKET;
		hd.cmsg_type = SCM_RIGHTS;
		hd.cmsg_len = CMSG_LEN(cnt * sizeof(int));
		memcpy(buf + off, &hd, sizeof(hd));
		for (unsigned i = 0; i < cnt; i++) {
			int fd = fuzz_new_fd(fuzz_u8(in));

			FUZZ_CHECK(nsent < MAX_SENT);
			sent[nsent++] = fd;
			memcpy(buf + off + CMSG_LEN(0) + i * sizeof(int), &fd, sizeof(fd));
		}
		off += CMSG_SPACE(cnt * sizeof(int));
	}
	FUZZ_CHECK(off <= cap);
	return off;
}

static bool ok_code(int r)
{
	return r == 0 || r == 1 || r == VMSG_EPROTO || r == VMSG_ECONNRESET || r == VMSG_EIO ||
	       r == VMSG_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	union {
		unsigned char buf[256];
		struct cmsghdr align;
	} ctl;
	int start, r = 0;

	fuzz_fds_init();
	start = fuzz_count_fds();
	nsent = 0;
	memset(up, 0, sizeof(up));
	FUZZ_CHECK(vmsg_ivsh_client_init_detached(&cl) == 0);
	vmsg_ivsh_client_set_peer_cb(&cl, on_peer, NULL);

	for (unsigned op = 0; op < 48 && in.n && r >= 0; op++) {
		uint8_t sel = fuzz_u8(&in);

		if (sel < 160) { /* a whole message */
			uint8_t b[8], v = fuzz_u8(&in), how = fuzz_u8(&in);
			int64_t val;
			size_t cut = 8, clen;
			bool fd_first;

			switch (v % 8u) {
			case 0: val = VMSG_IVSH_PROTOCOL_VERSION; break;
			case 1: val = -1; break;
			case 2: val = cl.id; break;
			case 3: val = fuzz_u8(&in) % 8u; break;
			case 4: val = fuzz_u16(&in); break;
			case 5: val = (int64_t)fuzz_u64(&in); break;
			case 6: val = VMSG_IVSH_MAX_ID + 1; break;
			default: val = (int64_t)cl.id + 1; break;
			}
			/* Wherever the stream stands: the rest of a part first. */
			if (cl.rx_len) {
				uint8_t z[8] = { 0 };

				r = vmsg_ivsh_client_rx(&cl, z, 8u - cl.rx_len, NULL, 0, 0);
				FUZZ_CHECK(ok_code(r));
				check_fds(start);
				if (r < 0)
					break;
			}
			vmsg_put_le64(b, (uint64_t)val);
			if (how & 0x10u)
				cut = 1 + (how >> 5) % 7u;
			/* The fd comes with the first part, or with the second. */
			fd_first = !(how & 0x08u) || cut == 8;
			clen = (how & 3u) && fd_first ?
				       make_ctl(&in, ctl.buf, sizeof(ctl.buf), 1, false, false) : 0;
			r = vmsg_ivsh_client_rx(&cl, b, cut, clen ? ctl.buf : NULL, clen, 0);
			FUZZ_CHECK(ok_code(r));
			FUZZ_CHECK(cut == 8 || r <= 0);
			check_fds(start);
			if (r >= 0 && cut < 8) {
				clen = (how & 3u) && !fd_first ?
					       make_ctl(&in, ctl.buf, sizeof(ctl.buf), 1, false, false) : 0;
				r = vmsg_ivsh_client_rx(&cl, b + cut, 8 - cut, clen ? ctl.buf : NULL,
							clen, 0);
				FUZZ_CHECK(ok_code(r));
				check_fds(start);
			}
		} else if (sel < 230) { /* a raw part */
			uint8_t b[8] = { 0 }, f = fuzz_u8(&in);
			size_t n = fuzz_u8(&in) % (9u - cl.rx_len), got, clen;
			const uint8_t *p = fuzz_bytes(&in, n, &got);

			memcpy(b, p, got);
			clen = make_ctl(&in, ctl.buf, sizeof(ctl.buf), f % 4u, (f & 4u) != 0,
					(f & 8u) != 0);
			r = vmsg_ivsh_client_rx(&cl, b, got, clen ? ctl.buf : NULL, clen,
						(f & 0x10u) ? MSG_CTRUNC : 0);
			FUZZ_CHECK(ok_code(r));
			check_fds(start);
		} else if (sel < 250) { /* end of a service pass */
			vmsg_ivsh_client_announce(&cl);
		} else { /* the server hangs up */
			r = vmsg_ivsh_client_rx(&cl, NULL, 0, NULL, 0, 0);
			FUZZ_CHECK(r == VMSG_EPROTO || r == VMSG_ECONNRESET);
			check_fds(start);
		}
	}
	vmsg_ivsh_client_close(&cl);
	for (size_t i = 0; i < nsent; i++)
		FUZZ_CHECK(!fuzz_fd_open(sent[i]));
	FUZZ_CHECK(fuzz_count_fds() == start);
	return 0;
}
