/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ivshmem logic shared by the ivshmem-vfio, uio and ivshmem-host ports:
 * which layout sits on the region, who we ring (peer discovery through ids
 * published in the layout), and how we wait when the device gives us no
 * interrupt. See port_ivshmem.h.
 */
#define _GNU_SOURCE
#include "virtio_msg/port_ivshmem.h"

#include <errno.h>
#include <time.h>

#include "shm/shm_internal.h"
#include "spsc/arch.h"

#define DEFAULT_POLL_NS 50000u

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* SPSC-v0: the id word in the tail line of a queue, written by its consumer. */
static uint8_t *v0_id_word(struct vmsg_ivshmem *iv, bool own)
{
	const struct vmsg_shm_v0_params *p = &iv->cfg.v0;
	bool drv = iv->cfg.side == VMSG_SHM_DRIVER;
	/* We consume the queue that flows towards us; the peer consumes the other. */
	bool to_drv = own ? drv : !drv;

	return iv->shm + (to_drv ? p->dev_to_drv_off : p->drv_to_dev_off) + VMSG_V0_OFF_PEER_ID;
}

/* A published id word: VALID set, a 16-bit id, and not our own (a peer that
 * copies our id would make us ring ourselves). */
static bool decode_id(const struct vmsg_ivshmem *iv, uint32_t w, uint32_t *id)
{
	uint32_t v = w & ~VMSG_SHM_PEER_ID_VALID;

	if (!(w & VMSG_SHM_PEER_ID_VALID) || v > VMSG_IVSHMEM_MAX_PEER || v == iv->own_id)
		return false;
	*id = v;
	return true;
}

bool vmsg_ivshmem_peer(struct vmsg_ivshmem *iv, uint32_t *peer)
{
	uint32_t w;

	if (!iv || !peer)
		return false;
	if (iv->cfg.fixed_peer) {
		*peer = iv->cfg.peer_id;
		return true;
	}
	if (iv->cfg.layout == VMSG_IVSHMEM_LAYOUT_V1) {
		if (vmsg_shm_chan_peer_id_now(&iv->ch, &w) && decode_id(iv, w, peer))
			return true;
	} else {
		w = vmsg_le32_swap(vmsg_shm_load32(iv->cfg.mem, v0_id_word(iv, false)));
		if (decode_id(iv, w, peer))
			return true;
	}
	return iv->be.sole_peer && iv->be.sole_peer(iv->be.ctx, peer) && *peer != iv->own_id &&
	       *peer <= VMSG_IVSHMEM_MAX_PEER;
}

static int hook_kick(void *ctx)
{
	struct vmsg_ivshmem *iv = ctx;
	uint32_t peer;
	int r;

	if (!vmsg_ivshmem_peer(iv, &peer)) {
		iv->st.no_peer++;
		return VMSG_ENOENT;
	}
	if ((int64_t)peer != iv->peer) {
		if (iv->peer >= 0)
			iv->st.peer_changes++;
		iv->peer = peer;
	}
	r = iv->be.ring(iv->be.ctx, peer, iv->cfg.vector);
	if (r == 0)
		iv->st.doorbells++;
	else
		iv->st.doorbell_errors++;
	return r;
}

static int hook_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_ivshmem *iv = ctx;
	uint64_t slice = iv->cfg.poll_ns ? iv->cfg.poll_ns : DEFAULT_POLL_NS;

	if (iv->be.wait)
		return iv->be.wait(iv->be.ctx, timeout_ns);
	/* No interrupt: sleep one slice and let the bus look at the ring
	 * again (an early return is allowed; the bus re-checks). */
	iv->st.polled_waits++;
	if (timeout_ns == 0)
		return VMSG_ETIMEDOUT;
	if (timeout_ns > 0 && (uint64_t)timeout_ns <= slice) {
		sleep_ns((uint64_t)timeout_ns);
		return VMSG_ETIMEDOUT;
	}
	sleep_ns(slice);
	return 0;
}

static int hook_now(void *ctx, uint64_t *ns)
{
	(void)ctx;
	*ns = mono_ns();
	return 0;
}

/*
 * OS events without blocking. A backend without its own service hook but
 * with an interrupt gets a wait of 0: it drains (and acks) an interrupt
 * that is already there, for an application that sleeps on the port's fd
 * itself (vmsg_bus_prepare_sleep()) and on the shm bus's idle ticks.
 */
static int hook_service(void *ctx)
{
	struct vmsg_ivshmem *iv = ctx;
	int r;

	if (iv->be.service)
		return iv->be.service(iv->be.ctx);
	if (!iv->be.wait)
		return 0;
	r = iv->be.wait(iv->be.ctx, 0);
	return r == VMSG_ETIMEDOUT ? 0 : r;
}

static int hook_close(void *ctx)
{
	struct vmsg_ivshmem *iv = ctx;

	return iv->be.close ? iv->be.close(iv->be.ctx) : 0;
}

static int open_v0(struct vmsg_ivshmem *iv, const struct vmsg_shm_cfg *cc)
{
	struct vmsg_shm_v0_params *p = &iv->cfg.v0;
	int err;

	if (!p->drv_to_dev_off && !p->dev_to_drv_off && !p->queue_size)
		vmsg_shm_v0_defaults(p);
	err = vmsg_shm_chan_open_v0(&iv->ch, iv->shm, iv->shm_size, cc, p,
				    iv->cfg.v0_resume ? VMSG_SPSC_INIT_RESUME :
							VMSG_SPSC_INIT_RESET);
	if (err)
		return err;
	/* Our id goes in the padding of the line we write anyway. */
	vmsg_shm_store32(iv->cfg.mem, v0_id_word(iv, true),
			 vmsg_le32_swap(VMSG_SHM_PEER_ID_VALID | iv->own_id));
	return 0;
}

/* The other side may boot later than we do: wait (bounded) for its layout. */
static int open_v1(struct vmsg_ivshmem *iv, const struct vmsg_shm_cfg *cc)
{
	uint64_t limit = iv->cfg.attach_timeout_ns ? iv->cfg.attach_timeout_ns : 30 * 1000000000ull;
	uint64_t end = mono_ns() + limit;
	int err = vmsg_shm_chan_open_v1(&iv->ch, iv->shm, iv->shm_size, cc);

	while (!err && !iv->ch.attached) {
		if (mono_ns() > end)
			return VMSG_ETIMEDOUT;
		sleep_ns(1000000);
		err = vmsg_shm_chan_poll(&iv->ch);
		if (err > 0)
			err = 0; /* lifecycle events: the bus sees them later */
	}
	return err;
}

int vmsg_ivshmem_open(struct vmsg_ivshmem *iv, void *shm, size_t size, uint32_t own_id,
		      const struct vmsg_ivshmem_backend *be, const struct vmsg_ivshmem_cfg *cfg)
{
	struct vmsg_shm_cfg cc = { 0 };
	struct vmsg_shm_bus_hooks hooks = { 0 };
	int err;

	if (!iv || !shm || (uintptr_t)shm % 64u || !be || !be->ring || !cfg ||
	    own_id > VMSG_IVSHMEM_MAX_PEER || cfg->side > VMSG_SHM_DEVICE ||
	    cfg->layout > VMSG_IVSHMEM_LAYOUT_V0 || cfg->mem > VMSG_SPSC_MEM_DEVICE ||
	    (cfg->fixed_peer && cfg->peer_id > VMSG_IVSHMEM_MAX_PEER) || cfg->vector > 0xFFFFu)
		return VMSG_EINVAL;
	*iv = (struct vmsg_ivshmem){ 0 };
	iv->cfg = *cfg;
	iv->be = *be;
	iv->shm = shm;
	iv->shm_size = size;
	iv->own_id = own_id;
	iv->peer = -1;

	cc.side = cfg->side;
	cc.mem = cfg->mem;
	cc.owner = cfg->owner;
	cc.peer_id = VMSG_SHM_PEER_ID_VALID | own_id;
	cc.v1 = cfg->v1;
	if (!cc.v1.num_elems && !cc.v1.elem_size) {
		/* 264-byte slots carry a 256-byte config or event payload plus
		 * the header; 64 of them fit easily in the smallest ivshmem. */
		cc.v1.num_elems = 64;
		cc.v1.elem_size = 264;
		cc.v1.extended = true;
	}
	if (cfg->layout == VMSG_IVSHMEM_LAYOUT_V0)
		err = open_v0(iv, &cc);
	else
		err = open_v1(iv, &cc);
	if (err)
		return err;

	hooks.kick = hook_kick;
	hooks.wait = hook_wait;
	hooks.now = hook_now;
	hooks.service = hook_service;
	hooks.close = hook_close;
	hooks.ctx = iv;
	hooks.spin_ns = cfg->spin_ns;
	return vmsg_shm_bus_init(&iv->sb, &iv->ch, &hooks, cfg->transport_features);
}

struct vmsg_shm_bus *vmsg_ivshmem_bus(struct vmsg_ivshmem *iv)
{
	return &iv->sb;
}

bool vmsg_ivshmem_peer_left(struct vmsg_ivshmem *iv, uint32_t id)
{
	uint32_t cur;

	if (!iv)
		return false;
	/* Compare with the id the layout names (the dead peer's word is still
	 * there) and with the last one we rang. */
	if ((vmsg_ivshmem_peer(iv, &cur) && cur == id) || iv->peer == (int64_t)id) {
		vmsg_shm_bus_peer_gone(&iv->sb);
		return true;
	}
	return false;
}
