/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bare-metal port: the caller's callbacks become the shm bus hooks. Nothing
 * here needs more than the freestanding headers.
 */
#include "virtio_msg/port_baremetal.h"

static int hook_kick(void *ctx)
{
	struct vmsg_baremetal *p = ctx;

	return p->cfg.kick(p->cfg.ctx);
}

/* Without a wait callback one call is one tick of the bus clock. */
static int hook_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_baremetal *p = ctx;

	if (!p->cfg.wait)
		return VMSG_ETIMEDOUT;
	return p->cfg.wait(p->cfg.ctx, timeout_ns);
}

static int hook_now(void *ctx, uint64_t *ns)
{
	struct vmsg_baremetal *p = ctx;

	return p->cfg.now(p->cfg.ctx, ns);
}

int vmsg_baremetal_open(struct vmsg_baremetal *p, const struct vmsg_baremetal_cfg *cfg)
{
	struct vmsg_shm_cfg sc = { 0 };
	struct vmsg_shm_bus_hooks h = { 0 };
	int err;

	if (!p || !cfg || !cfg->base || !cfg->kick)
		return VMSG_EINVAL;
	p->cfg = *cfg;
	sc.side = cfg->side;
	sc.mem = cfg->mem;
	sc.cache = cfg->cache;
	sc.owner = cfg->owner;
	sc.peer_id = cfg->peer_id;
	sc.v1 = cfg->layout;
	if (sc.v1.num_elems == 0) {
		sc.v1.num_elems = 16;
		sc.v1.elem_size = 64;
		sc.v1.extended = true;
	}
	err = vmsg_shm_chan_open_v1(&p->ch, cfg->base, cfg->size, &sc);
	if (err)
		return err;
	h.kick = hook_kick;
	h.wait = hook_wait;
	h.now = cfg->now ? hook_now : 0;
	h.ctx = p;
	return vmsg_shm_bus_init(&p->sb, &p->ch, &h, 0);
}

struct vmsg_shm_bus *vmsg_baremetal_bus(struct vmsg_baremetal *p)
{
	return &p->sb;
}
