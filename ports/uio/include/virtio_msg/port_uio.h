/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_uio.h
 * @brief uio port: an ivshmem device (PCI 1af4:1110) bound to
 *        uio_pci_generic, or to a UIO driver that names its maps.
 *
 * Registers and shared memory come from the device's UIO maps when maps
 * cover BAR0 and BAR2 (matched by address with the device's "resource"
 * file, never by map number), else from the PCI resource files (resource0,
 * resource2): uio_pci_generic lists only 32-bit memory BARs as maps, so
 * ivshmem's 64-bit BAR2 is never one of them. Interrupts: when the device has an INTx pin and a UIO
 * node, waiting is a poll() on /dev/uioN and INTx is re-enabled through
 * config space after each one (the kernel masks it with the command
 * register's Interrupt Disable bit). Stock QEMU ivshmem-doorbell has no INTx
 * pin (it raises MSI-X only, which UIO cannot deliver), so there the
 * receive side polls the ring: spin for spin_ns, then sleep in short slices.
 * Sending always works: the doorbell is a BAR0 write. See ports/uio/README.md.
 */
#ifndef VIRTIO_MSG_PORT_UIO_H
#define VIRTIO_MSG_PORT_UIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/port_ivshmem.h"

VMSG_BEGIN_DECLS

struct vmsg_uio_cfg {
	const char *bdf;	    /**< PCI address, "0000:00:02.0" */
	struct vmsg_ivshmem_cfg iv; /**< side, layout, owner...; mem is forced to DEVICE */
	bool poll_only;		    /**< ignore INTx even if the device has it */
	const char *sysfs_root;	    /**< NULL = "/sys" (tests use a fake tree) */
	const char *dev_root;	    /**< NULL = "/dev" */
};

/** How this side learns of doorbells. */
enum vmsg_uio_irq {
	VMSG_UIO_IRQ_NONE = 0, /**< polled (stock ivshmem-doorbell) */
	VMSG_UIO_IRQ_INTX = 1, /**< /dev/uioN + INTx re-enable */
};

/** One end. Visible for allocation; treat as opaque. */
struct vmsg_uio {
	struct vmsg_uio_cfg cfg;
	int uio_fd;    /* /dev/uioN, or -1 */
	int config_fd; /* the device's config file, for INTx re-enable */
	uint8_t *regs, *shm;
	size_t regs_len, shm_len;
	size_t shm_size;
	uint32_t own_id;
	enum vmsg_uio_irq irq;
	uint64_t interrupts; /**< INTx events counted by the UIO node */
	struct vmsg_ivshmem iv;
	bool open;
	char sysdev[160];
};

/**
 * @brief Map the registers and the shared memory, read IVPosition, pick the
 *        interrupt mode and open the channel.
 * @retval 0 ready. @retval VMSG_ENODEV no such device, or not ivshmem.
 * @retval VMSG_EIO a map failed. Others as vmsg_ivshmem_open().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_uio_open(struct vmsg_uio *p, const struct vmsg_uio_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_uio_bus(struct vmsg_uio *p);

/** @brief An fd readable on an interrupt, or -1 when the ring is polled. */
VMSG_API int vmsg_uio_fd(const struct vmsg_uio *p);

/** @brief Release everything (vmsg_bus_close() calls this). */
VMSG_API int vmsg_uio_close(struct vmsg_uio *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_UIO_H */
