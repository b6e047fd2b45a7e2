/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_ivshmem_vfio.h
 * @brief ivshmem-vfio port: QEMU's ivshmem-doorbell device (PCI 1af4:1110),
 *        or ivshmem hardware, driven from user space through VFIO.
 *
 * BAR0 holds the registers (mapped when VFIO allows it, else accessed with
 * pread/pwrite on the device fd), BAR2 the shared memory, run in device-
 * memory access mode. The own peer id is IVPosition; the peer's id is found
 * in the layout (port_ivshmem.h). Doorbells arrive as MSI-X interrupts on
 * eventfds (INTx with unmask where the device has it); a doorbell is rung
 * with one aligned 32-bit write after a full barrier.
 *
 *     struct vmsg_ivshmem_vfio port;
 *     struct vmsg_ivshmem_vfio_cfg pc = { .bdf = "0000:00:01.0" };
 *     pc.iv.side = VMSG_SHM_DRIVER;
 *     vmsg_ivshmem_vfio_open(&port, &pc);
 *     cfg.ops = &vmsg_shm_bus_ops; cfg.priv = vmsg_ivshmem_vfio_bus(&port);
 *     vmsg_bus_init(&bus, &cfg);  then vmsg_bus_wait(), or vmsg_bus_prepare_sleep() +
 *     poll(vmsg_ivshmem_vfio_fd(&port)) + vmsg_bus_poll() in your own loop
 *
 * See ports/ivshmem-vfio/README.md for binding the device and the IOMMU.
 */
#ifndef VIRTIO_MSG_PORT_IVSHMEM_VFIO_H
#define VIRTIO_MSG_PORT_IVSHMEM_VFIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/port_ivshmem.h"
#include "virtio_msg/port_vfio.h"

VMSG_BEGIN_DECLS

struct vmsg_ivshmem_vfio_cfg {
	const char *bdf;		 /**< PCI address, "0000:00:01.0" */
	struct vmsg_ivshmem_cfg iv;	 /**< side, layout, owner...; mem is forced to DEVICE */
	unsigned vectors;		 /**< MSI-X vectors to take (0 = all, up to 8) */
	bool poll_only;			 /**< take no interrupt: poll the ring */
	const struct vmsg_vfio_sys *sys; /**< NULL = the real system calls */
};

/** One end. Visible for allocation; treat as opaque. */
struct vmsg_ivshmem_vfio {
	struct vmsg_vfio_dev dev;
	struct vmsg_ivshmem iv;
	uint32_t own_id;
	bool open;
};

/**
 * @brief Open the device, map BAR0 and BAR2, set bus mastering, take the
 *        interrupts, read IVPosition and open the channel on BAR2.
 * @retval 0 ready. @retval VMSG_ENODEV not an ivshmem device or not bound to
 *         vfio-pci. Others as vmsg_vfio_open() and vmsg_ivshmem_open().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivshmem_vfio_open(struct vmsg_ivshmem_vfio *p,
						    const struct vmsg_ivshmem_vfio_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_ivshmem_vfio_bus(struct vmsg_ivshmem_vfio *p);

/** @brief An fd readable when a doorbell arrived (-1 in poll-only mode). */
VMSG_API int vmsg_ivshmem_vfio_fd(const struct vmsg_ivshmem_vfio *p);

/** @brief Release everything (vmsg_bus_close() calls this through the hooks). */
VMSG_API int vmsg_ivshmem_vfio_close(struct vmsg_ivshmem_vfio *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_IVSHMEM_VFIO_H */
