/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ivshmem-vfio port: the VFIO device (vfio_dev.c) as an ivshmem backend
 * (ports/ivshmem). Only OS resources here; see port_ivshmem_vfio.h.
 */
#include "virtio_msg/port_ivshmem_vfio.h"

#include "spsc/arch.h"
#include "virtio_msg/errors.h"

static int be_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct vmsg_ivshmem_vfio *p = ctx;

	/* Everything written to BAR2 lands before the doorbell, whatever the
	 * mapping type (uncached, or write-combining where a store-release is
	 * not enough). */
	vmsg_dev_mb();
	return vmsg_vfio_write32(&p->dev, VMSG_IVSHMEM_BAR_REGS, VMSG_IVSHMEM_REG_DOORBELL,
				 vmsg_ivshmem_doorbell(peer, vector));
}

static int be_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_ivshmem_vfio *p = ctx;
	uint32_t status;
	int r = vmsg_vfio_irq_wait(&p->dev, timeout_ns);

	if (r)
		return r;
	/* INTx: IntrStatus (read clears) acks the device before VFIO unmasks. */
	if (p->dev.irq == VMSG_VFIO_IRQ_INTX &&
	    vmsg_vfio_read32(&p->dev, VMSG_IVSHMEM_BAR_REGS, VMSG_IVSHMEM_REG_INTR_STATUS, &status))
		return VMSG_EIO;
	r = vmsg_vfio_irq_ack(&p->dev);
	return r < 0 ? r : 0;
}

static int be_close(void *ctx)
{
	return vmsg_ivshmem_vfio_close(ctx);
}

static int setup_device(struct vmsg_ivshmem_vfio *p, const struct vmsg_ivshmem_vfio_cfg *cfg)
{
	uint16_t vendor, device;
	uint64_t shm_size;
	int err = vmsg_vfio_ids(&p->dev, &vendor, &device);

	if (err)
		return err;
	if (vendor != VMSG_IVSHMEM_VENDOR || device != VMSG_IVSHMEM_DEVICE)
		return VMSG_ENODEV;
	shm_size = p->dev.bar[VMSG_IVSHMEM_BAR_SHM].size;
	if (p->dev.bar[VMSG_IVSHMEM_BAR_REGS].size < VMSG_IVSHMEM_REG_DOORBELL + 4u || !shm_size ||
	    (shm_size & (shm_size - 1u)))
		return VMSG_ENODEV;
	err = vmsg_vfio_map_bar(&p->dev, VMSG_IVSHMEM_BAR_REGS, false);
	if (!err)
		err = vmsg_vfio_map_bar(&p->dev, VMSG_IVSHMEM_BAR_SHM, true);
	if (!err)
		err = vmsg_vfio_enable_bus_master(&p->dev);
	if (!err)
		err = vmsg_vfio_read32(&p->dev, VMSG_IVSHMEM_BAR_REGS, VMSG_IVSHMEM_REG_IVPOSITION,
				       &p->own_id);
	if (err)
		return err;
	if (p->own_id > VMSG_IVSHMEM_MAX_PEER)
		return VMSG_EIO;
	if (cfg->poll_only)
		return 0;
	err = vmsg_vfio_irq_enable(&p->dev, cfg->vectors);
	if (err == VMSG_ENOTSUP)
		return 0;			      /* no interrupt at all: the ring is polled */
	if (!err && p->dev.irq == VMSG_VFIO_IRQ_INTX) /* patched QEMU: unmask all sources */
		err = vmsg_vfio_write32(&p->dev, VMSG_IVSHMEM_BAR_REGS, VMSG_IVSHMEM_REG_INTR_MASK,
					0xFFFFFFFFu);
	return err;
}

int vmsg_ivshmem_vfio_open(struct vmsg_ivshmem_vfio *p, const struct vmsg_ivshmem_vfio_cfg *cfg)
{
	struct vmsg_ivshmem_backend be = { 0 };
	struct vmsg_ivshmem_cfg ic;
	int err;

	if (!p || !cfg || !cfg->bdf)
		return VMSG_EINVAL;
	*p = (struct vmsg_ivshmem_vfio){ 0 };
	err = vmsg_vfio_open(&p->dev, cfg->bdf, cfg->sys);
	if (err)
		return err;
	p->open = true;
	err = setup_device(p, cfg);
	if (err)
		goto fail;
	ic = cfg->iv;
	ic.mem = VMSG_SPSC_MEM_DEVICE;
	be.ring = be_ring;
	be.wait = p->dev.irq != VMSG_VFIO_IRQ_NONE ? be_wait : NULL;
	be.close = be_close;
	be.ctx = p;
	err = vmsg_ivshmem_open(&p->iv, p->dev.bar[VMSG_IVSHMEM_BAR_SHM].map,
				(size_t)p->dev.bar[VMSG_IVSHMEM_BAR_SHM].size, p->own_id, &be, &ic);
	if (err)
		goto fail;
	return 0;
fail:
	(void)vmsg_ivshmem_vfio_close(p);
	return err;
}

struct vmsg_shm_bus *vmsg_ivshmem_vfio_bus(struct vmsg_ivshmem_vfio *p)
{
	return vmsg_ivshmem_bus(&p->iv);
}

int vmsg_ivshmem_vfio_fd(const struct vmsg_ivshmem_vfio *p)
{
	return vmsg_vfio_irq_fd(&p->dev);
}

int vmsg_ivshmem_vfio_close(struct vmsg_ivshmem_vfio *p)
{
	if (!p)
		return VMSG_EINVAL;
	if (p->open)
		vmsg_vfio_close(&p->dev);
	p->open = false;
	return 0;
}
