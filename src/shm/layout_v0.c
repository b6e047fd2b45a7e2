/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SPSC-v0 profile: bit-exact with the prototype ring (head @0x00, tail
 * @0x40, 64-byte slots from 0x80, 32-bit indices in host order unless asked
 * for little-endian). No header and no lifecycle: the channel is RUN as soon
 * as it is opened.
 */
#include "shm/shm_internal.h"

void vmsg_shm_v0_defaults(struct vmsg_shm_v0_params *prm)
{
	prm->drv_to_dev_off = 0x0;
	prm->dev_to_drv_off = 0x1000;
	prm->queue_size = 0x1000;
	prm->little_endian = false;
	prm->kick_suppression = false;
}

static int queue_desc(uint8_t *base, size_t size, uint64_t off, const struct vmsg_shm_cfg *cfg,
		      const struct vmsg_shm_v0_params *prm, struct vmsg_spsc_desc *d)
{
	uint8_t *q;

	if (off % 64u || prm->queue_size < VMSG_V0_OFF_SLOTS + 2u * VMSG_V0_SLOT_SIZE ||
	    off > size || prm->queue_size > size - off)
		return VMSG_EINVAL;
	q = base + off;
	*d = (struct vmsg_spsc_desc){ 0 };
	d->slots = q + VMSG_V0_OFF_SLOTS;
	/* capacity = (region - 0x80) / 64, as the prototypes compute it */
	d->num_slots = (uint32_t)((prm->queue_size - VMSG_V0_OFF_SLOTS) / VMSG_V0_SLOT_SIZE);
	d->slot_size = VMSG_V0_SLOT_SIZE;
	d->prod = (struct vmsg_spsc_index){ q + VMSG_V0_OFF_HEAD, 32 };
	d->cons = (struct vmsg_spsc_index){ q + VMSG_V0_OFF_TAIL, 32 };
	d->awake = prm->kick_suppression ? q + VMSG_V0_OFF_AWAKE : 0;
	d->kicked = prm->kick_suppression ? q + VMSG_V0_OFF_KICKED : 0;
	d->flags = prm->little_endian ? VMSG_SPSC_F_LE_INDEX : 0;
	d->mem = cfg->mem;
	d->cache = cfg->cache;
	return 0;
}

static int regions_disjoint(const struct vmsg_shm_v0_params *prm)
{
	uint64_t a = prm->drv_to_dev_off, b = prm->dev_to_drv_off, n = prm->queue_size;

	return a + n <= b || b + n <= a;
}

int vmsg_shm_chan_open_v0(struct vmsg_shm_chan *ch, void *base, size_t size,
			  const struct vmsg_shm_cfg *cfg, const struct vmsg_shm_v0_params *prm,
			  unsigned how)
{
	struct vmsg_spsc_desc to_dev, to_drv;
	int drv, err;

	if (!ch || !base || (uintptr_t)base % 64u || !cfg || !prm || cfg->side > VMSG_SHM_DEVICE ||
	    cfg->mem > VMSG_SPSC_MEM_DEVICE || !regions_disjoint(prm))
		return VMSG_EINVAL;
	if (!VMSG_CONFIG_HAS_INDEX32) /* v0 indices are 32-bit */
		return VMSG_ENOTSUP;
	err = vmsg_shm_cfg_compiled(cfg);
	if (err)
		return err;
	err = queue_desc(base, size, prm->drv_to_dev_off, cfg, prm, &to_dev);
	if (!err)
		err = queue_desc(base, size, prm->dev_to_drv_off, cfg, prm, &to_drv);
	if (err)
		return err;
	*ch = (struct vmsg_shm_chan){ 0 };
	ch->base = base;
	ch->size = size;
	ch->profile = 0;
	ch->side = (uint8_t)cfg->side;
	ch->mem = cfg->mem;
	ch->cfg = *cfg;
	drv = cfg->side == VMSG_SHM_DRIVER;
	err = vmsg_spsc_prod_init(&ch->tx, drv ? &to_dev : &to_drv, how);
	if (!err)
		err = vmsg_spsc_cons_init(&ch->rx, drv ? &to_drv : &to_dev, how);
	if (err)
		return err;
	ch->attached = true;
	ch->state = VMSG_SHM_RUN;
	return 0;
}
