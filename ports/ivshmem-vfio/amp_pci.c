/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AMP-PCI device profile (port_amp_pci.h): the VFIO device layer plus
 * the SPSC-v0 channel at the device's fixed BAR1 offsets.
 */
#define _GNU_SOURCE
#include "virtio_msg/port_amp_pci.h"

#include <time.h>

#include "spsc/arch.h"
#include "virtio_msg/errors.h"

static int hook_kick(void *ctx)
{
	struct vmsg_amp_pci *p = ctx;

	/* The slot and index writes in BAR1 land before the notify write. */
	vmsg_dev_mb();
	return vmsg_vfio_write32(&p->dev, VMSG_AMP_PCI_BAR_REGS,
				 VMSG_AMP_PCI_REG_NOTIFY + 4u * p->cfg.fifo, 1);
}

static int hook_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_amp_pci *p = ctx;
	int r = vmsg_vfio_irq_wait(&p->dev, timeout_ns);

	if (r)
		return r;
	r = vmsg_vfio_irq_ack(&p->dev);
	return r < 0 ? r : 0;
}

/* An interrupt already there, without blocking: drains the eventfd for an
 * application that sleeps on the port's fd itself (vmsg_bus_prepare_sleep()). */
static int hook_service(void *ctx)
{
	int r = hook_wait(ctx, 0);

	return r == VMSG_ETIMEDOUT ? 0 : r;
}

static int hook_now(void *ctx, uint64_t *ns)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

static int hook_close(void *ctx)
{
	return vmsg_amp_pci_close(ctx);
}

static int setup_device(struct vmsg_amp_pci *p)
{
	uint16_t vendor, device;
	uint32_t version;
	int err = vmsg_vfio_ids(&p->dev, &vendor, &device);

	if (err)
		return err;
	if (vendor != VMSG_AMP_PCI_VENDOR || device != VMSG_AMP_PCI_DEVICE)
		return VMSG_ENODEV;
	if (p->dev.bar[VMSG_AMP_PCI_BAR_REGS].size <
		    VMSG_AMP_PCI_REG_NOTIFY + 4u * (p->cfg.fifo + 1u) ||
	    p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].size < VMSG_AMP_PCI_FIFO_SIZE)
		return VMSG_ENOTSUP;
	err = vmsg_vfio_map_bar(&p->dev, VMSG_AMP_PCI_BAR_REGS, false);
	if (!err)
		err = vmsg_vfio_map_bar(&p->dev, VMSG_AMP_PCI_BAR_FIFO, true);
	if (!err)
		err = vmsg_vfio_read32(&p->dev, VMSG_AMP_PCI_BAR_REGS, VMSG_AMP_PCI_REG_VERSION,
				       &version);
	if (!err)
		err = vmsg_vfio_read32(&p->dev, VMSG_AMP_PCI_BAR_REGS, VMSG_AMP_PCI_REG_FEATURES,
				       &p->features);
	if (err)
		return err;
	if (version != VMSG_AMP_PCI_VERSION)
		return VMSG_ENOTSUP;
	err = vmsg_vfio_enable_bus_master(&p->dev);
	if (!err)
		err = vmsg_vfio_irq_enable(&p->dev, p->cfg.fifo + 1u);
	if (!err && (p->dev.irq != VMSG_VFIO_IRQ_MSIX || p->dev.nirq <= p->cfg.fifo))
		err = VMSG_ENOTSUP;
	return err;
}

int vmsg_amp_pci_open(struct vmsg_amp_pci *p, const struct vmsg_amp_pci_cfg *cfg)
{
	struct vmsg_shm_v0_params v0 = { 0 };
	struct vmsg_shm_cfg cc = { 0 };
	struct vmsg_shm_bus_hooks hooks = { 0 };
	int err;

	if (!p || !cfg || !cfg->bdf || cfg->fifo >= VMSG_VFIO_MAX_IRQS)
		return VMSG_EINVAL;
	*p = (struct vmsg_amp_pci){ 0 };
	p->cfg = *cfg;
	err = vmsg_vfio_open(&p->dev, cfg->bdf, cfg->sys);
	if (err)
		return err;
	p->open = true;
	err = setup_device(p);
	if (err)
		goto fail;
	/* The device model applies no per-FIFO offset to the queues. */
	v0.drv_to_dev_off = VMSG_AMP_PCI_DRV_QUEUE;
	v0.dev_to_drv_off = VMSG_AMP_PCI_DEV_QUEUE;
	v0.queue_size = VMSG_AMP_PCI_QUEUE_SIZE;
	cc.side = VMSG_SHM_DRIVER;
	cc.mem = VMSG_SPSC_MEM_DEVICE;
	err = vmsg_shm_chan_open_v0(&p->ch, p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].map,
				    (size_t)p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].size, &cc, &v0,
				    cfg->resume ? VMSG_SPSC_INIT_RESUME : VMSG_SPSC_INIT_RESET);
	if (err)
		goto fail;
	hooks.kick = hook_kick;
	hooks.wait = hook_wait;
	hooks.service = hook_service;
	hooks.now = hook_now;
	hooks.close = hook_close;
	hooks.ctx = p;
	hooks.spin_ns = cfg->spin_ns;
	err = vmsg_shm_bus_init(&p->sb, &p->ch, &hooks, cfg->transport_features);
	if (err)
		goto fail;
	return 0;
fail:
	(void)vmsg_amp_pci_close(p);
	return err;
}

struct vmsg_shm_bus *vmsg_amp_pci_bus(struct vmsg_amp_pci *p)
{
	return &p->sb;
}

int vmsg_amp_pci_fd(const struct vmsg_amp_pci *p)
{
	return vmsg_vfio_irq_fd(&p->dev);
}

int vmsg_amp_pci_close(struct vmsg_amp_pci *p)
{
	if (!p)
		return VMSG_EINVAL;
	if (p->open)
		vmsg_vfio_close(&p->dev);
	p->open = false;
	return 0;
}
