/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the layouts a peer wrote into shared memory.
 *  - vmsg_shm_v1_validate() (the non-owner's view of a vmamp v1 header and
 *    our extension) over a region whose size and bytes come from the input;
 *  - vmsg_shm_chan_open_v1() as the non-owner on that region, then a few
 *    lifecycle polls, a send and a receive and a shutdown;
 *  - vmsg_shm_chan_open_v0() with SPSC-v0 parameters from the input, with
 *    RESUME and RESYNC (which read the peer's indices out of the region),
 *    then a send and a receive.
 * The region is a heap block of exactly its size, so any access past it is
 * an ASan report. Checks: only the documented return codes, and a layout
 * the validator accepts describes regions inside the mapping (and, with our
 * extension, whole 64-byte lines for both queue heads).
 *
 * Input: flags (u8), size (u16), knobs (polls, v0 init mode and flags, v0
 * queue offsets in 64-byte units, v0 queue size), then either the raw region bytes or, with
 * flag WRITE, the parameters of a layout that vmsg_shm_v1_write() puts down
 * followed by patches (offset u16, length u8, bytes) that corrupt it: the
 * fuzzer then starts from valid layouts instead of having to guess magics.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "virtio_msg/config.h"
#include "virtio_msg/shm.h"

#define F_DEVICE_MEM 0x01u
#define F_SIDE_DEVICE 0x02u
#define F_WRITE 0x04u
#define F_EXTENDED 0x08u
#define F_V0 0x10u

static bool mem_compiled(uint8_t mem)
{
	return mem == VMSG_SPSC_MEM_DEVICE ? VMSG_CONFIG_HAS_MEM_DEVICE : VMSG_CONFIG_HAS_MEM_COHERENT;
}

static bool inside(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static void check_info(const struct vmsg_shm_v1_info *in, size_t size)
{
	uint64_t arr = (uint64_t)in->num_elems * in->elem_size;

	FUZZ_CHECK(in->num_elems >= 2 && in->elem_size >= 4 && in->elem_size % 4u == 0);
	FUZZ_CHECK(inside(in->dev_qh, VMSG_V1_QH_SIZE, size) && inside(in->drv_qh, VMSG_V1_QH_SIZE, size));
	FUZZ_CHECK(inside(in->dev_elems, arr, size) && inside(in->drv_elems, arr, size));
	FUZZ_CHECK(in->dev_qh % 4u == 0 && in->drv_qh % 4u == 0 && in->dev_elems % 4u == 0 &&
		   in->drv_elems % 4u == 0);
	if (in->extended) {
		FUZZ_CHECK(inside(VMSG_EXT_LINE, VMSG_SHM_LINE, size));
		FUZZ_CHECK(inside(in->dev_qh, VMSG_SHM_LINE, size) &&
			   inside(in->drv_qh, VMSG_SHM_LINE, size));
		if (in->window_off)
			FUZZ_CHECK(in->window_size && inside(in->window_off, in->window_size, size));
	}
}

static void exercise_chan(struct vmsg_shm_chan *ch, unsigned polls)
{
	static const uint8_t msg[16] = { 0, 3, 0, 0, 1, 0, 16, 0 };
	uint8_t buf[512];
	int r;

	for (unsigned i = 0; i < polls; i++) {
		r = vmsg_shm_chan_poll(ch);
		FUZZ_CHECK(r >= 0 || r == VMSG_EPROTO || r == VMSG_ENOTSUP);
	}
	r = vmsg_shm_chan_send(ch, msg, sizeof(msg));
	FUZZ_CHECK(r == 0 || r == VMSG_ESTATE || r == VMSG_EAGAIN || r == VMSG_EMSGSIZE ||
		   r == VMSG_EPROTO || r == VMSG_ECONNRESET);
	r = vmsg_shm_chan_recv(ch, buf, sizeof(buf));
	FUZZ_CHECK((r > 0 && (size_t)r <= sizeof(buf)) || r == VMSG_ESTATE || r == VMSG_EAGAIN ||
		   r == VMSG_EPROTO || r == VMSG_ECONNRESET);
	(void)vmsg_shm_chan_need_kick(ch);
	r = vmsg_shm_chan_arm(ch);
	FUZZ_CHECK(r == 0 || r == 1 || r == VMSG_ESTATE || r == VMSG_EPROTO || r == VMSG_ECONNRESET);
	vmsg_shm_chan_awake(ch);
	vmsg_shm_chan_shutdown(ch);
}

/* What the script says besides the region, read before it. */
struct knobs {
	uint8_t polls, how, drv_off, dev_off;
	uint16_t queue_size;
};

static void run_v1(uint8_t *region, size_t size, uint8_t flags, const struct knobs *kn)
{
	uint8_t mem = (flags & F_DEVICE_MEM) ? VMSG_SPSC_MEM_DEVICE : VMSG_SPSC_MEM_COHERENT;
	struct vmsg_shm_v1_info info;
	struct vmsg_shm_cfg cfg = { 0 };
	struct vmsg_shm_chan ch;
	uint32_t id;
	int r;

	r = vmsg_shm_v1_validate(region, size, mem, &info);
	FUZZ_CHECK(r == 0 || r == VMSG_EAGAIN || r == VMSG_EPROTO || r == VMSG_ENOTSUP);
	if (r == 0)
		check_info(&info, size);
	else if (r != VMSG_ENOTSUP || mem_compiled(mem))
		FUZZ_CHECK(info.reason != VMSG_SHM_OK);

	cfg.side = (flags & F_SIDE_DEVICE) ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	cfg.mem = mem;
	cfg.owner = false;
	cfg.peer_id = 7;
	r = vmsg_shm_chan_open_v1(&ch, region, size, &cfg);
	FUZZ_CHECK(r == 0 || r == VMSG_EPROTO || r == VMSG_ENOTSUP);
	if (r)
		return;
	(void)vmsg_shm_chan_peer_id_now(&ch, &id);
	exercise_chan(&ch, kn->polls % 8u);
}

static void run_v0(uint8_t *region, size_t size, uint8_t flags, const struct knobs *kn)
{
	struct vmsg_shm_v0_params prm;
	struct vmsg_shm_cfg cfg = { 0 };
	struct vmsg_shm_chan ch;
	uint8_t how = kn->how;
	int r;

	vmsg_shm_v0_defaults(&prm);
	prm.drv_to_dev_off = (uint64_t)kn->drv_off * 64u;
	prm.dev_to_drv_off = (uint64_t)kn->dev_off * 64u;
	prm.queue_size = kn->queue_size;
	prm.little_endian = how & 0x4u;
	prm.kick_suppression = how & 0x8u;
	cfg.side = (flags & F_SIDE_DEVICE) ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	cfg.mem = (flags & F_DEVICE_MEM) ? VMSG_SPSC_MEM_DEVICE : VMSG_SPSC_MEM_COHERENT;
	r = vmsg_shm_chan_open_v0(&ch, region, size, &cfg, &prm, how % 3u);
	FUZZ_CHECK(r == 0 || r == VMSG_EINVAL || r == VMSG_EPROTO || r == VMSG_ENOTSUP);
	if (r == 0)
		exercise_chan(&ch, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	size_t rsize = 8u + fuzz_u16(&in) % 16384u;
	struct knobs kn;
	uint8_t *region;
	void *p = NULL;

	kn.polls = fuzz_u8(&in);
	kn.how = fuzz_u8(&in);
	kn.drv_off = fuzz_u8(&in);
	kn.dev_off = fuzz_u8(&in);
	kn.queue_size = fuzz_u16(&in);
	/* 64-byte aligned (the channels require it), exactly rsize bytes. */
	if (posix_memalign(&p, 64, rsize) != 0)
		return 0;
	region = p;
	memset(region, 0, rsize);
	if (flags & F_WRITE) {
		struct vmsg_shm_v1_params prm = { 0 };

		prm.num_elems = (uint16_t)(2u + fuzz_u8(&in) % 64u);
		prm.elem_size = (uint16_t)(4u * (1u + fuzz_u8(&in) % 32u));
		prm.extended = (flags & F_EXTENDED) != 0;
		prm.window_size = prm.extended ? (uint64_t)fuzz_u8(&in) * 64u : 0;
		if (vmsg_shm_v1_write(region, rsize, &prm, VMSG_SPSC_MEM_COHERENT) != 0)
			memset(region, 0, rsize); /* too small for it: a zeroed region */
		/* patches */
		for (unsigned k = fuzz_u8(&in) % 16u; k > 0; k--) {
			size_t off = fuzz_u16(&in) % rsize, len = 1u + fuzz_u8(&in) % 8u, got;
			const uint8_t *b = fuzz_bytes(&in, len, &got);

			if (got > rsize - off)
				got = rsize - off;
			memcpy(region + off, b, got);
		}
	} else {
		size_t got;
		const uint8_t *b = fuzz_bytes(&in, rsize, &got);

		memcpy(region, b, got);
	}
	if (flags & F_V0)
		run_v0(region, rsize, flags, &kn);
	else
		run_v1(region, rsize, flags, &kn);
	free(region);
	return 0;
}
