/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_vfio.h
 * @brief A PCI device driven from user space through VFIO: the part the
 *        ivshmem-vfio port and the AMP-PCI profile share.
 *
 * Opens the device by PCI address (type1/type1v2 container behind an IOMMU,
 * or a no-IOMMU group when the kernel offers one), maps BARs (falling back to
 * pread/pwrite on the device fd for a BAR that cannot be mapped, such as
 * ivshmem's 256-byte BAR0 sharing a page), sets bus mastering (vfio-pci
 * does not, and without it MSI-X never arrives), and turns the device's
 * interrupts into eventfds: MSI-X, or INTx with unmask as the fallback.
 * One epoll fd covers every interrupt so the application's loop can wait on
 * it.
 *
 * The device must already be bound to vfio-pci, e.g.
 *     echo vfio-pci > /sys/bus/pci/devices/0000:00:01.0/driver_override
 *     echo 0000:00:01.0 > /sys/bus/pci/drivers_probe
 *
 * Every system call goes through struct vmsg_vfio_sys, so the tests can put
 * a fake device in memory behind the same code.
 */
#ifndef VIRTIO_MSG_PORT_VFIO_H
#define VIRTIO_MSG_PORT_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"

VMSG_BEGIN_DECLS

#define VMSG_VFIO_MAX_IRQS 8 /**< interrupt vectors taken at most */
#define VMSG_VFIO_NUM_BARS 6

/** The system calls used (all return -1 with errno set on failure, as libc). */
struct vmsg_vfio_sys {
	int (*open)(void *ctx, const char *path, int flags);
	int (*close)(void *ctx, int fd);
	int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
	long (*pread)(void *ctx, int fd, void *buf, size_t n, uint64_t off);
	long (*pwrite)(void *ctx, int fd, const void *buf, size_t n, uint64_t off);
	/** Map @p len bytes of @p fd at @p off, read/write shared; NULL on failure. */
	void *(*mmap)(void *ctx, size_t len, int fd, uint64_t off);
	int (*munmap)(void *ctx, void *p, size_t len);
	long (*readlink)(void *ctx, const char *path, char *buf, size_t n);
	void *ctx;
};

/** The real system calls. */
VMSG_API extern const struct vmsg_vfio_sys vmsg_vfio_sys_linux;

/** One region (a BAR) as VFIO describes it. */
struct vmsg_vfio_region {
	uint64_t size;
	uint64_t offset; /**< in the device fd */
	uint32_t flags;	 /**< VFIO_REGION_INFO_FLAG_* */
	uint8_t *map;	 /**< NULL: accessed through pread/pwrite */
	size_t map_len;
};

/** Which interrupt the device delivers. */
enum vmsg_vfio_irq_kind {
	VMSG_VFIO_IRQ_NONE = 0,
	VMSG_VFIO_IRQ_MSIX = 1,
	VMSG_VFIO_IRQ_INTX = 2, /**< auto-masked by VFIO: unmasked after each ack */
};

/** An open device. Visible for allocation; treat as opaque. */
struct vmsg_vfio_dev {
	const struct vmsg_vfio_sys *sys;
	int container, group, device;
	int epoll_fd;
	bool noiommu;
	uint32_t num_regions, num_irqs;
	struct vmsg_vfio_region bar[VMSG_VFIO_NUM_BARS];
	uint64_t cfg_offset, cfg_size;
	enum vmsg_vfio_irq_kind irq;
	unsigned nirq;
	int irq_fd[VMSG_VFIO_MAX_IRQS];
	uint64_t interrupts; /**< interrupts taken (sum of eventfd counters) */
	uint64_t wakeups;    /**< waits that ended on an interrupt */
};

/**
 * @brief Open the device at PCI address @p bdf ("0000:00:01.0").
 * @param sys NULL for the real system calls.
 * @retval 0 open. @retval VMSG_ENODEV no IOMMU group (not bound to vfio-pci,
 *         or no IOMMU and no no-IOMMU mode). @retval VMSG_EBUSY group not
 *         viable (another device of the group is bound elsewhere).
 * @retval VMSG_ENOTSUP no usable IOMMU type. @retval VMSG_EIO others.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_open(struct vmsg_vfio_dev *d, const char *bdf,
					    const struct vmsg_vfio_sys *sys);

/** @brief Close everything (interrupts off, unmap, fds). Safe on a zeroed struct. */
VMSG_API void vmsg_vfio_close(struct vmsg_vfio_dev *d);

/**
 * @brief Map BAR @p bar if VFIO allows it, else leave it to pread/pwrite.
 * @param need_map the caller needs a pointer (shared memory): failing to map
 *        is then an error.
 * @retval 0 mapped or usable through the fd. @retval VMSG_ENOENT no such BAR.
 * @retval VMSG_ENOTSUP need_map and the BAR cannot be mapped.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_map_bar(struct vmsg_vfio_dev *d, unsigned bar,
					       bool need_map);

/** @brief Aligned 32-bit register access within a BAR, bounds-checked.
 *  Registers are little-endian (PCI): values are in host order here, on the
 *  mapped and on the pread/pwrite path alike.
 *  @retval 0 done. @retval VMSG_ERANGE outside the BAR. @retval VMSG_EIO. */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_read32(struct vmsg_vfio_dev *d, unsigned bar, uint64_t off,
					      uint32_t *val);
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_write32(struct vmsg_vfio_dev *d, unsigned bar, uint64_t off,
					       uint32_t val);

/** @brief PCI config space access (VFIO's config region). */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_config_read(struct vmsg_vfio_dev *d, uint32_t off, void *buf,
						   size_t n);
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_config_write(struct vmsg_vfio_dev *d, uint32_t off,
						    const void *buf, size_t n);

/** @brief Read vendor and device id from config space. */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_ids(struct vmsg_vfio_dev *d, uint16_t *vendor,
					   uint16_t *device);

/** @brief Set Memory Space and Bus Master in the PCI command register. */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_enable_bus_master(struct vmsg_vfio_dev *d);

/**
 * @brief Route the device's interrupts to eventfds: MSI-X (up to @p max
 *        vectors, 0 = all up to VMSG_VFIO_MAX_IRQS), else INTx.
 * @retval 0 d->irq says which. @retval VMSG_ENOTSUP the device has none.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_irq_enable(struct vmsg_vfio_dev *d, unsigned max);

/** @brief Interrupts off (what close does). */
VMSG_API void vmsg_vfio_irq_disable(struct vmsg_vfio_dev *d);

/** @brief An fd that is readable when an interrupt is pending (epoll). */
VMSG_API int vmsg_vfio_irq_fd(const struct vmsg_vfio_dev *d);

/**
 * @brief Wait up to @p timeout_ns (< 0: forever) for an interrupt.
 * @retval 0 one is pending (call vmsg_vfio_irq_ack()). @retval VMSG_ETIMEDOUT.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_vfio_irq_wait(struct vmsg_vfio_dev *d, int64_t timeout_ns);

/**
 * @brief Clear pending interrupts: read every eventfd, adding to
 *        d->interrupts; for INTx, unmask afterwards (the caller acks the
 *        device first, e.g. ivshmem's IntrStatus).
 * @return the number of interrupts cleared (>= 0) or a negative code.
 */
VMSG_API int vmsg_vfio_irq_ack(struct vmsg_vfio_dev *d);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_VFIO_H */
