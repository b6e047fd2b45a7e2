/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AMP-PCI device profile (port_amp_pci.h): the VFIO device layer plus
 * the SPSC-v0 channel in the FIFO's window of BAR1.
 */
#define _GNU_SOURCE
#include "virtio_msg/port_amp_pci.h"

#include <time.h>

#include "spsc/arch.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/wire.h"

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

/* FIFO q's 16 KiB window in BAR1 (shm-and-ports.md 4.2). */
static uint64_t fifo_base(const struct vmsg_amp_pci *p)
{
	return (uint64_t)p->cfg.fifo * VMSG_AMP_PCI_FIFO_SIZE;
}

static int setup_device(struct vmsg_amp_pci *p)
{
	uint16_t vendor, device;
	uint32_t version;
	int err = vmsg_vfio_ids(&p->dev, &vendor, &device);

	if (err)
		return err;
	/* 10ee:9038 (8 KiB per FIFO, queues at +0 / +0x1000) is another
	 * layout: refused here as not this device. */
	if (vendor != VMSG_AMP_PCI_VENDOR || device != VMSG_AMP_PCI_DEVICE)
		return VMSG_ENODEV;
	/* BAR1 is num_fifos x 16 KiB: our FIFO's window must be in it. */
	if (p->dev.bar[VMSG_AMP_PCI_BAR_REGS].size <
		    VMSG_AMP_PCI_REG_NOTIFY + 4u * (p->cfg.fifo + 1u) ||
	    p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].size < fifo_base(p) + VMSG_AMP_PCI_FIFO_SIZE)
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

/*
 * Newer builds of the same device (same ids, same VERSION) put a vmamp v1
 * layout where the SPSC-v0 driver->device queue is. Its header starts with
 * the LE16 magic 0x4C4F; there the v0 queue has our head index, always below
 * the 62 slots, so the two cannot be confused. Read before anything is
 * written to BAR1: an aligned 32-bit load, as everything in device memory.
 */
static int check_not_vmamp(const struct vmsg_amp_pci *p)
{
	const uint8_t *q = p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].map + fifo_base(p) +
			   VMSG_AMP_PCI_DRV_QUEUE;
	uint32_t w = vmsg_le32_swap(vmsg_mmio_read32(q));

	return (w & 0xFFFFu) == VMSG_V1_MAGIC ? VMSG_EPROTO : 0;
}

static const unsigned start_how[] = {
	[VMSG_AMP_PCI_START_RESYNC] = VMSG_SPSC_INIT_RESYNC,
	[VMSG_AMP_PCI_START_RESET] = VMSG_SPSC_INIT_RESET,
	[VMSG_AMP_PCI_START_RESUME] = VMSG_SPSC_INIT_RESUME,
};

static int cfg_check(const struct vmsg_amp_pci_cfg *cfg)
{
	if (!cfg || !cfg->bdf || cfg->fifo >= VMSG_VFIO_MAX_IRQS ||
	    (unsigned)cfg->start > VMSG_AMP_PCI_START_RESUME)
		return VMSG_EINVAL;
	if (cfg->max_msg_size &&
	    (cfg->max_msg_size < VMSG_MAX_MSG_SIZE_MIN_2025 || cfg->max_msg_size > VMSG_V0_SLOT_SIZE))
		return VMSG_EINVAL;
	return 0;
}

/* The SPSC-v0 channel in our FIFO's window, driver side. */
static int open_channel(struct vmsg_amp_pci *p)
{
	struct vmsg_shm_v0_params v0 = { 0 };
	struct vmsg_shm_cfg cc = { 0 };

	v0.drv_to_dev_off = VMSG_AMP_PCI_DRV_QUEUE;
	v0.dev_to_drv_off = VMSG_AMP_PCI_DEV_QUEUE;
	v0.queue_size = VMSG_AMP_PCI_QUEUE_SIZE;
	/* le32 indices, as the proposal says; QEMU and Linux store host
	 * order, the same bytes on the little-endian hosts they run on. */
	v0.little_endian = true;
	cc.side = VMSG_SHM_DRIVER;
	cc.mem = VMSG_SPSC_MEM_DEVICE;
	return vmsg_shm_chan_open_v0(&p->ch, p->dev.bar[VMSG_AMP_PCI_BAR_FIFO].map + fifo_base(p),
				     VMSG_AMP_PCI_FIFO_SIZE, &cc, &v0, start_how[p->cfg.start]);
}

int vmsg_amp_pci_open(struct vmsg_amp_pci *p, const struct vmsg_amp_pci_cfg *cfg)
{
	struct vmsg_shm_bus_hooks hooks = { 0 };
	int err;

	if (!p || cfg_check(cfg))
		return VMSG_EINVAL;
	*p = (struct vmsg_amp_pci){ 0 };
	p->cfg = *cfg;
	err = vmsg_vfio_open(&p->dev, cfg->bdf, cfg->sys);
	if (err)
		return err;
	p->open = true;
	err = setup_device(p);
	if (!err)
		err = check_not_vmamp(p);
	if (!err)
		err = open_channel(p);
	if (err)
		goto fail;
	hooks.kick = hook_kick;
	hooks.wait = hook_wait;
	hooks.service = hook_service;
	hooks.now = hook_now;
	hooks.close = hook_close;
	hooks.ctx = p;
	hooks.spin_ns = cfg->spin_ns;
	/* The device copies 48 bytes of a 64-byte slot (port_amp_pci.h). */
	hooks.max_msg_size = cfg->max_msg_size ? cfg->max_msg_size : VMSG_AMP_PCI_MAX_MSG_SIZE;
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
