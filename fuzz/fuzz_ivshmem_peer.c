/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer discovery of the ivshmem ports (ports/ivshmem/ivshmem.c): the id
 * word the other side publishes in the shared layout (decode_id(), reached
 * through vmsg_ivshmem_peer(), the doorbell hook and
 * vmsg_ivshmem_peer_left()), with a fake backend in memory, no device.
 *
 * Script: the configuration (vmamp v1 as owner, or SPSC-v0; our side, our
 * id, a fixed peer, the vector), then up to 64 operations: the peer writes
 * its id word (valid, our own id, out of range, any value), its queue-head
 * magic (v1), or any 4 bytes of the region; the backend's sole_peer answer
 * changes; vmsg_ivshmem_peer(); a doorbell through the shm bus's kick hook
 * (the backend's ring may fail); vmsg_ivshmem_peer_left(); a channel poll.
 *
 * Checks: the peer found is exactly what the port documents (the fixed
 * peer; else the published word when VALID is set, the id is 16 bits and
 * not ours - on v1 only with a sound queue head of an attached extended
 * layout; else the backend's sole peer if it is not ours and 16 bits; else
 * none); a doorbell rings exactly that peer at the configured vector, or
 * fails with VMSG_ENOENT and counts no_peer; peer_left() says true exactly
 * for the found peer or the last one rung; the statistics add up.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/port_ivshmem.h"

#define REGION 65536u

static _Alignas(64) uint8_t region[REGION];

static struct {
	bool has_sole; /* the backend has a sole_peer hook */
	bool give_sole;
	uint32_t sole;
	int ring_ret;
	unsigned rings;
	uint32_t last_peer, last_vector;
} be_st;

static int fake_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	(void)ctx;
	be_st.rings++;
	be_st.last_peer = peer;
	be_st.last_vector = vector;
	return be_st.ring_ret;
}

static bool fake_sole(void *ctx, uint32_t *peer)
{
	(void)ctx;
	if (!be_st.give_sole)
		return false;
	*peer = be_st.sole;
	return true;
}

/* Where the peer publishes its id (and, on v1, its queue head). */
static uint8_t *peer_word(const struct vmsg_ivshmem *iv)
{
	if (iv->cfg.layout == VMSG_IVSHMEM_LAYOUT_V1)
		return iv->ch.peer_qh + VMSG_SIDE_OFF_PEER_ID;
	/* SPSC-v0: the tail line of the queue the peer consumes. */
	return iv->shm + (iv->cfg.side == VMSG_SHM_DRIVER ? iv->cfg.v0.drv_to_dev_off :
							    iv->cfg.v0.dev_to_drv_off) +
	       VMSG_V0_OFF_PEER_ID;
}

/* The documented answer of vmsg_ivshmem_peer(). */
static bool expect_peer(const struct vmsg_ivshmem *iv, uint32_t *peer)
{
	bool have = true;
	uint32_t w = 0, id;

	if (iv->cfg.fixed_peer) {
		*peer = iv->cfg.peer_id;
		return true;
	}
	if (iv->cfg.layout == VMSG_IVSHMEM_LAYOUT_V1)
		have = iv->ch.attached && iv->ch.extended &&
		       (vmsg_get_le32(iv->ch.peer_qh) & 0xFFFFu) == VMSG_V1_QH_MAGIC;
	if (have)
		w = vmsg_get_le32(peer_word(iv));
	id = w & ~VMSG_SHM_PEER_ID_VALID;
	if (have && (w & VMSG_SHM_PEER_ID_VALID) && id <= VMSG_IVSHMEM_MAX_PEER && id != iv->own_id) {
		*peer = id;
		return true;
	}
	if (be_st.has_sole && be_st.give_sole && be_st.sole != iv->own_id && be_st.sole <= VMSG_IVSHMEM_MAX_PEER) {
		*peer = be_st.sole;
		return true;
	}
	return false;
}

static uint32_t pick_id(struct fuzz_in *in, const struct vmsg_ivshmem *iv)
{
	switch (fuzz_u8(in) % 5u) {
	case 0: return VMSG_SHM_PEER_ID_VALID | fuzz_u16(in);
	case 1: return VMSG_SHM_PEER_ID_VALID | iv->own_id;
	case 2: return VMSG_SHM_PEER_ID_VALID | (0x10000u + fuzz_u8(in));
	case 3: return fuzz_u16(in); /* VALID clear */
	default: return fuzz_u32(in);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct vmsg_ivshmem_backend be = { 0 };
	struct vmsg_ivshmem_cfg cfg = { 0 };
	static struct vmsg_ivshmem iv;
	uint8_t c = fuzz_u8(&in);
	uint32_t own_id = fuzz_u16(&in), peer, want;
	int r;

	memset(region, 0, sizeof(region));
	memset(&be_st, 0, sizeof(be_st));
	cfg.layout = (c & 1u) ? VMSG_IVSHMEM_LAYOUT_V0 : VMSG_IVSHMEM_LAYOUT_V1;
	cfg.owner = true;
	cfg.side = (c & 2u) ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
	cfg.fixed_peer = ((c >> 2) & 7u) == 0;
	if (cfg.fixed_peer)
		cfg.peer_id = fuzz_u16(&in);
	if (c & 0x20u)
		cfg.vector = fuzz_u16(&in);
	be.ring = fake_ring;
	be_st.has_sole = !(c & 0x40u);
	be.sole_peer = be_st.has_sole ? fake_sole : NULL;
	r = vmsg_ivshmem_open(&iv, region, sizeof(region), own_id, &be, &cfg);
	FUZZ_CHECK(r == 0);

	for (unsigned op = 0; op < 64 && in.n; op++) {
		uint8_t o = fuzz_u8(&in);

		switch (o % 8u) {
		case 0: /* the peer publishes an id */
			vmsg_put_le32(peer_word(&iv), pick_id(&in, &iv));
			break;
		case 1: /* v1: the peer's queue-head word (magic, state) */
			if (cfg.layout == VMSG_IVSHMEM_LAYOUT_V1)
				vmsg_put_le32(iv.ch.peer_qh, (o & 0x80u) ? fuzz_u32(&in) :
							  VMSG_V1_QH_MAGIC |
								  (uint32_t)fuzz_u16(&in) << 16);
			break;
		case 2: { /* the peer writes anything anywhere */
			uint32_t off = (fuzz_u16(&in) % REGION) & ~3u;

			vmsg_put_le32(region + off, fuzz_u32(&in));
			break;
		}
		case 3: /* the backend's answer */
			be_st.give_sole = (o & 0x80u) != 0;
			be_st.sole = (o & 0x40u) ? own_id : pick_id(&in, &iv) & ~VMSG_SHM_PEER_ID_VALID;
			if (o & 0x20u)
				be_st.sole = fuzz_u32(&in);
			be_st.ring_ret = (o & 0x10u) ? VMSG_EIO : 0;
			break;
		case 4: { /* who would we ring? */
			bool known = expect_peer(&iv, &want), got = vmsg_ivshmem_peer(&iv, &peer);

			FUZZ_CHECK(got == known);
			if (got) {
				FUZZ_CHECK(peer == want);
				FUZZ_CHECK(peer <= VMSG_IVSHMEM_MAX_PEER);
				FUZZ_CHECK(cfg.fixed_peer || peer != own_id);
			}
			break;
		}
		case 5: { /* a doorbell, as the shm bus rings it */
			struct vmsg_ivshmem_stats st = iv.st;
			unsigned rings = be_st.rings;
			bool known = expect_peer(&iv, &want);

			r = iv.sb.hooks.kick(iv.sb.hooks.ctx);
			if (!known) {
				FUZZ_CHECK(r == VMSG_ENOENT && be_st.rings == rings);
				FUZZ_CHECK(iv.st.no_peer == st.no_peer + 1);
				break;
			}
			FUZZ_CHECK(r == be_st.ring_ret && be_st.rings == rings + 1);
			FUZZ_CHECK(be_st.last_peer == want && be_st.last_vector == cfg.vector);
			FUZZ_CHECK(iv.peer == (int64_t)want);
			FUZZ_CHECK(iv.st.doorbells + iv.st.doorbell_errors ==
				   st.doorbells + st.doorbell_errors + 1);
			break;
		}
		case 6: { /* the backend says a peer left */
			uint32_t id = (o & 0x80u) ? fuzz_u16(&in) : (uint32_t)(iv.peer & 0xFFFF);
			bool known = expect_peer(&iv, &want);
			bool exp = (known && want == id) || iv.peer == (int64_t)id;

			FUZZ_CHECK(vmsg_ivshmem_peer_left(&iv, id) == exp);
			break;
		}
		default: /* the channel looks at the region */
			r = vmsg_shm_chan_poll(&iv.ch);
			FUZZ_CHECK(r >= 0 || (r >= VMSG_ERR_MIN && r < 0));
			break;
		}
	}
	return 0;
}
