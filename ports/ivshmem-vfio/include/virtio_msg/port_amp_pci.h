/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_amp_pci.h
 * @brief The QEMU virtio-msg AMP-PCI device (PCI 10ee:9039, SPSC-v0
 *        variant), driven as the virtio-msg driver side through VFIO.
 *
 * Register and BAR map (shm-and-ports.md 4.2):
 *  - BAR0 (16 KiB MMIO): VERSION at 0x00 (reads 1), FEATURES at 0x04
 *    (reserved: reads 0, given no meaning here), NOTIFY[q] at 0x20 + 4q:
 *    the driver writes 1 to ring the device (the device ignores the value);
 *  - BAR1 (RAM, num_fifos x 16 KiB): FIFO q's window at q x 16 KiB holds,
 *    from its start, reserved 0x0000-0x0FFF, the driver->device SPSC-v0
 *    queue at 0x1000 and the device->driver queue at 0x2000 (4 KiB each:
 *    62 slots of 64 bytes), reserved 0x3000-0x3FFF. Older builds of the
 *    device applied no per-FIFO offset (FIFOs >= 1 aliased FIFO 0's queues);
 *    there only FIFO 0 works with this profile;
 *  - BAR2: MSI-X, vector q for FIFO q (device -> driver).
 * The device drains the whole driver->device queue inside the NOTIFY
 * write and raises vector q after each message it sends.
 *
 * Message size: the slots are 64 bytes, but QEMU's device copies only 48
 * bytes of each message in each direction (an 8-byte header and a 40-byte
 * payload), so the bus advertises 48 by default and refuses larger sends
 * with VMSG_EMSGSIZE before they reach the ring. 48 is below the 2026
 * profile's minimum (52), so with the default the bus takes
 * VMSG_PROFILE_2025, which is what that QEMU speaks; cfg.max_msg_size
 * raises it (up to the 64-byte slot) for a device known to copy more.
 *
 * Index byte order: le32, as the device's proposal says (QEMU and Linux
 * store host order: the same bytes on x86 and arm64).
 *
 * Not driven: 10ee:9038 (8 KiB per FIFO, queues at +0 / +0x1000) is
 * refused by the id check (VMSG_ENODEV); the vmamp-v1 variant of 10ee:9039
 * (same ids, same VERSION, a vmamp v1 layout at the window's 0x1000) is
 * detected by its header magic and refused (VMSG_EPROTO).
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
#define VMSG_AMP_PCI_DRV_QUEUE 0x1000u /**< driver -> device, in the FIFO's window */
#define VMSG_AMP_PCI_DEV_QUEUE 0x2000u /**< device -> driver, in the FIFO's window */
#define VMSG_AMP_PCI_QUEUE_SIZE 0x1000u
#define VMSG_AMP_PCI_FIFO_SIZE 0x4000u /**< FIFO q's window: BAR1 + q x this */
#define VMSG_AMP_PCI_MAX_MSG_SIZE 48u  /**< what QEMU's device copies per message */

/**
 * How the driver starts on the queues. QEMU's device never resets its own
 * indices: it picks up whatever is in BAR1, across a guest reboot or a
 * restart of this driver.
 */
enum vmsg_amp_pci_start {
	/** Default: both queues start empty where the device is: our
	 *  driver->device head := the device's tail there, our device->driver
	 *  tail := the device's head there. Only our two words are written;
	 *  nothing of an earlier life is read or handed to the device again.
	 *  An index out of range (>= 62) fails the open with VMSG_EPROTO. */
	VMSG_AMP_PCI_START_RESYNC = 0,
	/** Our two indices := 0. Right only when the device's are 0 too (a
	 *  freshly created device): else up to 61 stale slots are re-read by
	 *  each side. */
	VMSG_AMP_PCI_START_RESET = 1,
	/** Keep all four indices found (validated): continue a session whose
	 *  messages in flight are still wanted. */
	VMSG_AMP_PCI_START_RESUME = 2,
};

struct vmsg_amp_pci_cfg {
	const char *bdf;  /**< PCI address */
	uint32_t fifo;	  /**< FIFO (window in BAR1, notify register, MSI-X vector), default 0 */
	enum vmsg_amp_pci_start start; /**< default VMSG_AMP_PCI_START_RESYNC */
	/** The bus's maximum message size: 0 = VMSG_AMP_PCI_MAX_MSG_SIZE (48),
	 *  else 48..64 for a device that copies that much. */
	uint32_t max_msg_size;
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
 * @brief Open the device, check VERSION, map BAR0/BAR1, take MSI-X, check
 *        that the FIFO's window holds no vmamp v1 layout, and open the
 *        SPSC-v0 channel there as the driver side (cfg->start).
 * @retval 0 ready. @retval VMSG_EINVAL a bad cfg (fifo, start, max_msg_size).
 * @retval VMSG_ENODEV not this device (10ee:9038 included).
 * @retval VMSG_ENOTSUP an unknown VERSION, a BAR too small (BAR1 below
 *         (fifo + 1) x 16 KiB), or no MSI-X vector for the FIFO.
 * @retval VMSG_EPROTO the vmamp-v1 variant of the device (its layout magic
 *         is in the window), or (resync, resume) an index out of range.
 *         Others as vmsg_vfio_open().
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
