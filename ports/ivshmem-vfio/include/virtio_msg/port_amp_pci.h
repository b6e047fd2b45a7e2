/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_amp_pci.h
 * @brief The QEMU virtio-msg AMP-PCI device (PCI 10ee:9039, SPSC-v0
 *        variant), driven as the virtio-msg driver side through VFIO.
 *
 * Register and BAR map (shm-and-ports.md 4.2):
 *  - BAR0 (16 KiB MMIO): VERSION at 0x00 (reads 1), FEATURES at 0x04,
 *    NOTIFY[q] at 0x20 + 4q: the driver writes 1 to ring the device;
 *  - BAR1 (16 KiB RAM): reserved 0x0000-0x0FFF, the driver->device SPSC-v0
 *    queue at 0x1000 and the device->driver queue at 0x2000 (4 KiB each:
 *    62 slots of 64 bytes), reserved 0x3000-0x3FFF;
 *  - BAR2: MSI-X, vector q for FIFO q (device -> driver).
 * The bus's maximum message size is the 64-byte slot.
 *
 * The same id (10ee:9039, VERSION 1) is also used by a vmamp-v1 variant of
 * the device; this profile drives the SPSC-v0 one, which is what QEMU's
 * virtio-msg series adds.
 */
#ifndef VIRTIO_MSG_PORT_AMP_PCI_H
#define VIRTIO_MSG_PORT_AMP_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/port_vfio.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"

VMSG_BEGIN_DECLS

#define VMSG_AMP_PCI_VENDOR 0x10eeu
#define VMSG_AMP_PCI_DEVICE 0x9039u
#define VMSG_AMP_PCI_BAR_REGS 0
#define VMSG_AMP_PCI_BAR_FIFO 1
#define VMSG_AMP_PCI_REG_VERSION 0x00u
#define VMSG_AMP_PCI_REG_FEATURES 0x04u
#define VMSG_AMP_PCI_REG_NOTIFY 0x20u /**< + 4 * queue */
#define VMSG_AMP_PCI_VERSION 1u
#define VMSG_AMP_PCI_DRV_QUEUE 0x1000u /**< driver -> device, in BAR1 */
#define VMSG_AMP_PCI_DEV_QUEUE 0x2000u /**< device -> driver, in BAR1 */
#define VMSG_AMP_PCI_QUEUE_SIZE 0x1000u
#define VMSG_AMP_PCI_FIFO_SIZE 0x4000u

struct vmsg_amp_pci_cfg {
	const char *bdf;  /**< PCI address */
	uint32_t fifo;	  /**< FIFO (notify register and MSI-X vector), default 0 */
	bool resume;	  /**< keep the queue indices found (default: reset ours) */
	uint64_t spin_ns; /**< adaptive wait: spin before sleeping */
	uint64_t transport_features;
	const struct vmsg_vfio_sys *sys; /**< NULL = the real system calls */
};

/** The driver end. Visible for allocation; treat as opaque. */
struct vmsg_amp_pci {
	struct vmsg_amp_pci_cfg cfg;
	struct vmsg_vfio_dev dev;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	uint32_t features; /**< the FEATURES register */
	bool open;
};

/**
 * @brief Open the device, check VERSION, map BAR0/BAR1, take MSI-X and open
 *        the SPSC-v0 channel as the driver side.
 * @retval 0 ready. @retval VMSG_ENODEV not this device. @retval VMSG_ENOTSUP
 *         an unknown VERSION or a BAR too small. Others as vmsg_vfio_open().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_amp_pci_open(struct vmsg_amp_pci *p,
					       const struct vmsg_amp_pci_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_amp_pci_bus(struct vmsg_amp_pci *p);

/** @brief An fd readable when the device raised its interrupt. */
VMSG_API int vmsg_amp_pci_fd(const struct vmsg_amp_pci *p);

/** @brief Release everything (vmsg_bus_close() calls this). */
VMSG_API int vmsg_amp_pci_close(struct vmsg_amp_pci *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_AMP_PCI_H */
