/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VFIO user-space device access (port_vfio.h): container, group, device,
 * BARs, config space and interrupts. Every system call goes through
 * d->sys so a fake device can stand in for the kernel in the tests.
 */
#define _GNU_SOURCE
/* 64-bit off_t on 32-bit hosts too: VFIO region offsets are index << 40. */
#define _FILE_OFFSET_BITS 64
#include "virtio_msg/port_vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "spsc/arch.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"

/* ---------------------------------------------------------------------- */
/* The real system calls                                                  */
/* ---------------------------------------------------------------------- */

static int sys_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	return open(path, flags | O_CLOEXEC);
}

static int sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static int sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	return ioctl(fd, req, arg);
}

static long sys_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
	(void)ctx;
	return (long)pread(fd, buf, n, (off_t)off);
}

static long sys_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
	(void)ctx;
	return (long)pwrite(fd, buf, n, (off_t)off);
}

static void *sys_mmap(void *ctx, size_t len, int fd, uint64_t off)
{
	void *p;

	(void)ctx;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	return p == MAP_FAILED ? NULL : p;
}

static int sys_munmap(void *ctx, void *p, size_t len)
{
	(void)ctx;
	return munmap(p, len);
}

static long sys_readlink(void *ctx, const char *path, char *buf, size_t n)
{
	(void)ctx;
	return (long)readlink(path, buf, n);
}

const struct vmsg_vfio_sys vmsg_vfio_sys_linux = {
	.open = sys_open,
	.close = sys_close,
	.ioctl = sys_ioctl,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.mmap = sys_mmap,
	.munmap = sys_munmap,
	.readlink = sys_readlink,
};

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static int xioctl(struct vmsg_vfio_dev *d, int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = d->sys->ioctl(d->sys->ctx, fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

static void xclose(struct vmsg_vfio_dev *d, int *fd)
{
	if (*fd >= 0)
		(void)d->sys->close(d->sys->ctx, *fd);
	*fd = -1;
}

static int err_from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENODEV:
		return VMSG_ENODEV;
	case EBUSY:
		return VMSG_EBUSY;
	case EINVAL:
		return VMSG_EINVAL;
	case ENOMEM:
		return VMSG_ENOMEM;
	default:
		return VMSG_EIO;
	}
}

/* The group number: the last component of the device's iommu_group link. */
static int group_number(struct vmsg_vfio_dev *d, const char *bdf, unsigned long *num)
{
	char path[128], link[256], *slash, *end;
	long n;

	if (snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf) >=
	    (int)sizeof path)
		return VMSG_EINVAL;
	n = d->sys->readlink(d->sys->ctx, path, link, sizeof link - 1);
	if (n <= 0)
		return VMSG_ENODEV; /* not bound, or no IOMMU and no no-IOMMU mode */
	link[n] = '\0';
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	errno = 0;
	*num = strtoul(slash, &end, 10);
	if (errno || end == slash || *end)
		return VMSG_EIO;
	return 0;
}

static int open_group(struct vmsg_vfio_dev *d, unsigned long num)
{
	char path[64];

	snprintf(path, sizeof path, "/dev/vfio/%lu", num);
	d->group = d->sys->open(d->sys->ctx, path, O_RDWR);
	if (d->group >= 0)
		return 0;
	/* A no-IOMMU group (CONFIG_VFIO_NOIOMMU, enable_unsafe_noiommu_mode). */
	snprintf(path, sizeof path, "/dev/vfio/noiommu-%lu", num);
	d->group = d->sys->open(d->sys->ctx, path, O_RDWR);
	if (d->group < 0)
		return err_from_errno(errno);
	d->noiommu = true;
	return 0;
}

static int pick_iommu(struct vmsg_vfio_dev *d, unsigned long *type)
{
	static const unsigned long prefer[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU };

	if (d->noiommu) {
		*type = VFIO_NOIOMMU_IOMMU;
		return xioctl(d, d->container, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)*type) > 0 ?
			       0 :
			       VMSG_ENOTSUP;
	}
	for (size_t i = 0; i < sizeof prefer / sizeof prefer[0]; i++) {
		if (xioctl(d, d->container, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)prefer[i]) >
		    0) {
			*type = prefer[i];
			return 0;
		}
	}
	return VMSG_ENOTSUP;
}

static int read_regions(struct vmsg_vfio_dev *d)
{
	for (unsigned i = 0; i < VMSG_VFIO_NUM_BARS && i < d->num_regions; i++) {
		struct vfio_region_info ri = { .argsz = sizeof ri, .index = i };

		if (xioctl(d, d->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
			continue; /* a BAR the device does not have */
		d->bar[i].size = ri.size;
		d->bar[i].offset = ri.offset;
		d->bar[i].flags = ri.flags;
	}
	if (d->num_regions > VFIO_PCI_CONFIG_REGION_INDEX) {
		struct vfio_region_info ri = { .argsz = sizeof ri,
					       .index = VFIO_PCI_CONFIG_REGION_INDEX };

		if (xioctl(d, d->device, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0) {
			d->cfg_offset = ri.offset;
			d->cfg_size = ri.size;
		}
	}
	return d->cfg_size >= 64 ? 0 : VMSG_EIO;
}

/* ---------------------------------------------------------------------- */
/* Open and close                                                         */
/* ---------------------------------------------------------------------- */

static void reset(struct vmsg_vfio_dev *d, const struct vmsg_vfio_sys *sys)
{
	*d = (struct vmsg_vfio_dev){ 0 };
	d->sys = sys ? sys : &vmsg_vfio_sys_linux;
	d->container = d->group = d->device = d->epoll_fd = -1;
	for (unsigned i = 0; i < VMSG_VFIO_MAX_IRQS; i++)
		d->irq_fd[i] = -1;
}

int vmsg_vfio_open(struct vmsg_vfio_dev *d, const char *bdf, const struct vmsg_vfio_sys *sys)
{
	struct vfio_group_status gs = { .argsz = sizeof gs };
	struct vfio_device_info di = { .argsz = sizeof di };
	unsigned long num, type;
	int err;

	if (!d || !bdf || !*bdf || strlen(bdf) > 32)
		return VMSG_EINVAL;
	reset(d, sys);
	err = group_number(d, bdf, &num);
	if (err)
		return err;
	d->container = d->sys->open(d->sys->ctx, "/dev/vfio/vfio", O_RDWR);
	if (d->container < 0)
		return err_from_errno(errno);
	err = VMSG_ENOTSUP;
	if (xioctl(d, d->container, VFIO_GET_API_VERSION, NULL) != VFIO_API_VERSION)
		goto fail;
	err = open_group(d, num);
	if (err)
		goto fail;
	err = VMSG_EIO;
	if (xioctl(d, d->group, VFIO_GROUP_GET_STATUS, &gs) < 0)
		goto fail;
	err = VMSG_EBUSY;
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		goto fail;
	err = pick_iommu(d, &type);
	if (err)
		goto fail;
	err = VMSG_EIO;
	if (xioctl(d, d->group, VFIO_GROUP_SET_CONTAINER, &d->container) < 0)
		goto fail;
	if (xioctl(d, d->container, VFIO_SET_IOMMU, (void *)(uintptr_t)type) < 0) {
		/* EPERM: no interrupt remapping (allow_unsafe_interrupts). */
		err = errno == EPERM ? VMSG_ENOTSUP : VMSG_EIO;
		goto fail;
	}
	d->device = xioctl(d, d->group, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
	if (d->device < 0) {
		err = err_from_errno(errno);
		goto fail;
	}
	if (xioctl(d, d->device, VFIO_DEVICE_GET_INFO, &di) < 0 ||
	    !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		goto fail;
	d->num_regions = di.num_regions;
	d->num_irqs = di.num_irqs;
	err = read_regions(d);
	if (err)
		goto fail;
	return 0;
fail:
	vmsg_vfio_close(d);
	return err;
}

void vmsg_vfio_close(struct vmsg_vfio_dev *d)
{
	if (!d || !d->sys)
		return;
	if (d->device >= 0)
		vmsg_vfio_irq_disable(d);
	for (unsigned i = 0; i < VMSG_VFIO_NUM_BARS; i++) {
		if (d->bar[i].map)
			(void)d->sys->munmap(d->sys->ctx, d->bar[i].map, d->bar[i].map_len);
		d->bar[i].map = NULL;
	}
	xclose(d, &d->device);
	xclose(d, &d->group);
	xclose(d, &d->container);
}

/* ---------------------------------------------------------------------- */
/* BARs and config space                                                  */
/* ---------------------------------------------------------------------- */

int vmsg_vfio_map_bar(struct vmsg_vfio_dev *d, unsigned bar, bool need_map)
{
	struct vmsg_vfio_region *r;
	long page = sysconf(_SC_PAGESIZE);
	size_t len;
	void *p;

	if (!d || bar >= VMSG_VFIO_NUM_BARS)
		return VMSG_EINVAL;
	r = &d->bar[bar];
	if (!r->size)
		return VMSG_ENOENT;
	if (r->map)
		return 0;
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return need_map ? VMSG_ENOTSUP : 0;
	/* A BAR smaller than a page is mapped as the whole (exclusive) page. */
	len = (size_t)((r->size + (uint64_t)page - 1) & ~((uint64_t)page - 1));
	p = d->sys->mmap(d->sys->ctx, len, d->device, r->offset);
	if (!p)
		return need_map ? VMSG_ENOTSUP : 0;
	r->map = p;
	r->map_len = len;
	return 0;
}

static int bar_check(struct vmsg_vfio_dev *d, unsigned bar, uint64_t off)
{
	if (!d || bar >= VMSG_VFIO_NUM_BARS || off % 4u)
		return VMSG_EINVAL;
	if (!d->bar[bar].size || off > d->bar[bar].size - 4u || d->bar[bar].size < 4u)
		return VMSG_ERANGE;
	return 0;
}

int vmsg_vfio_read32(struct vmsg_vfio_dev *d, unsigned bar, uint64_t off, uint32_t *val)
{
	int err = bar_check(d, bar, off);
	uint32_t v;

	if (err || !val)
		return err ? err : VMSG_EINVAL;
	/* PCI registers are little-endian. vfio-pci's read/write on the
	 * device fd is a byte stream equal to what a mapping shows (it swaps
	 * nothing), so both paths need the same conversion to host order. */
	if (d->bar[bar].map)
		v = vmsg_mmio_read32(d->bar[bar].map + off);
	else if (d->sys->pread(d->sys->ctx, d->device, &v, 4, d->bar[bar].offset + off) != 4)
		return VMSG_EIO;
	*val = vmsg_le32_swap(v);
	return 0;
}

int vmsg_vfio_write32(struct vmsg_vfio_dev *d, unsigned bar, uint64_t off, uint32_t val)
{
	int err = bar_check(d, bar, off);

	if (err)
		return err;
	val = vmsg_le32_swap(val); /* little-endian on both paths, as read32 */
	if (d->bar[bar].map) {
		vmsg_mmio_write32(d->bar[bar].map + off, val);
		return 0;
	}
	if (d->sys->pwrite(d->sys->ctx, d->device, &val, 4, d->bar[bar].offset + off) != 4)
		return VMSG_EIO;
	return 0;
}

int vmsg_vfio_config_read(struct vmsg_vfio_dev *d, uint32_t off, void *buf, size_t n)
{
	if (!d || !buf || off > d->cfg_size || n > d->cfg_size - off)
		return VMSG_ERANGE;
	return d->sys->pread(d->sys->ctx, d->device, buf, n, d->cfg_offset + off) == (long)n ?
		       0 :
		       VMSG_EIO;
}

int vmsg_vfio_config_write(struct vmsg_vfio_dev *d, uint32_t off, const void *buf, size_t n)
{
	if (!d || !buf || off > d->cfg_size || n > d->cfg_size - off)
		return VMSG_ERANGE;
	return d->sys->pwrite(d->sys->ctx, d->device, buf, n, d->cfg_offset + off) == (long)n ?
		       0 :
		       VMSG_EIO;
}

/* Config space is little-endian whatever the host. */
static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

int vmsg_vfio_ids(struct vmsg_vfio_dev *d, uint16_t *vendor, uint16_t *device)
{
	uint8_t b[4];
	int err = vmsg_vfio_config_read(d, 0, b, sizeof b);

	if (err)
		return err;
	*vendor = le16(b);
	*device = le16(b + 2);
	return 0;
}

int vmsg_vfio_enable_bus_master(struct vmsg_vfio_dev *d)
{
	uint8_t b[2];
	uint16_t cmd;
	int err = vmsg_vfio_config_read(d, 4, b, 2);

	if (err)
		return err;
	cmd = le16(b);
	/* Memory Space (bit 1) and Bus Master (bit 2): MSI-X messages are
	 * memory writes by the device, so without bus mastering none arrive. */
	if ((cmd & 0x6u) == 0x6u)
		return 0;
	cmd |= 0x6u;
	b[0] = (uint8_t)cmd;
	b[1] = (uint8_t)(cmd >> 8);
	return vmsg_vfio_config_write(d, 4, b, 2);
}

/* ---------------------------------------------------------------------- */
/* Interrupts                                                             */
/* ---------------------------------------------------------------------- */

static int set_irqs(struct vmsg_vfio_dev *d, uint32_t index, uint32_t flags, unsigned count,
		    const int *fds)
{
	union {
		struct vfio_irq_set s;
		uint8_t raw[sizeof(struct vfio_irq_set) + sizeof(int32_t) * VMSG_VFIO_MAX_IRQS];
	} u;
	size_t payload = fds ? sizeof(int32_t) * count : 0;

	memset(&u, 0, sizeof u);
	u.s.argsz = (uint32_t)(sizeof(struct vfio_irq_set) + payload);
	u.s.flags = flags;
	u.s.index = index;
	u.s.start = 0;
	u.s.count = count;
	for (unsigned i = 0; fds && i < count; i++) {
		int32_t fd = fds[i];

		memcpy(u.raw + sizeof(struct vfio_irq_set) + i * sizeof fd, &fd, sizeof fd);
	}
	return xioctl(d, d->device, VFIO_DEVICE_SET_IRQS, &u.s) < 0 ? VMSG_EIO : 0;
}

static unsigned irq_count(struct vmsg_vfio_dev *d, uint32_t index)
{
	struct vfio_irq_info ii = { .argsz = sizeof ii, .index = index };

	if (index >= d->num_irqs || xioctl(d, d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 ||
	    !(ii.flags & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	return ii.count;
}

int vmsg_vfio_irq_enable(struct vmsg_vfio_dev *d, unsigned max)
{
	uint32_t index = VFIO_PCI_MSIX_IRQ_INDEX;
	unsigned n;
	int err;

	if (!d || d->device < 0 || d->irq != VMSG_VFIO_IRQ_NONE)
		return VMSG_EINVAL;
	if (!max || max > VMSG_VFIO_MAX_IRQS)
		max = VMSG_VFIO_MAX_IRQS;
	n = irq_count(d, VFIO_PCI_MSIX_IRQ_INDEX);
	if (!n) {
		index = VFIO_PCI_INTX_IRQ_INDEX;
		n = irq_count(d, index) ? 1 : 0;
	}
	if (!n)
		return VMSG_ENOTSUP;
	if (n > max)
		n = max;
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epoll_fd < 0)
		return VMSG_EIO;
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		d->irq_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->irq_fd[i] < 0 || epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->irq_fd[i], &ev))
			goto fail;
	}
	d->nirq = n;
	err = set_irqs(d, index, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, n,
		       d->irq_fd);
	if (err)
		goto fail;
	d->irq = index == VFIO_PCI_MSIX_IRQ_INDEX ? VMSG_VFIO_IRQ_MSIX : VMSG_VFIO_IRQ_INTX;
	return 0;
fail:
	for (unsigned i = 0; i < VMSG_VFIO_MAX_IRQS; i++)
		if (d->irq_fd[i] >= 0) {
			close(d->irq_fd[i]);
			d->irq_fd[i] = -1;
		}
	close(d->epoll_fd);
	d->epoll_fd = -1;
	d->nirq = 0;
	return VMSG_EIO;
}

void vmsg_vfio_irq_disable(struct vmsg_vfio_dev *d)
{
	if (!d)
		return;
	if (d->irq != VMSG_VFIO_IRQ_NONE && d->device >= 0)
		(void)set_irqs(d,
			       d->irq == VMSG_VFIO_IRQ_MSIX ? VFIO_PCI_MSIX_IRQ_INDEX :
							      VFIO_PCI_INTX_IRQ_INDEX,
			       VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, NULL);
	d->irq = VMSG_VFIO_IRQ_NONE;
	for (unsigned i = 0; i < VMSG_VFIO_MAX_IRQS; i++)
		if (d->irq_fd[i] >= 0) {
			close(d->irq_fd[i]);
			d->irq_fd[i] = -1;
		}
	if (d->epoll_fd >= 0)
		close(d->epoll_fd);
	d->epoll_fd = -1;
	d->nirq = 0;
}

int vmsg_vfio_irq_fd(const struct vmsg_vfio_dev *d)
{
	return d ? d->epoll_fd : -1;
}

int vmsg_vfio_irq_wait(struct vmsg_vfio_dev *d, int64_t timeout_ns)
{
	struct epoll_event ev;
	int ms, r;

	if (!d || d->epoll_fd < 0)
		return VMSG_EINVAL;
	if (timeout_ns < 0)
		ms = -1;
	else if (timeout_ns / 1000000 >= 0x7FFFFFFF)
		ms = 0x7FFFFFFF;
	else /* round up: a 10 us timeout must not become a busy loop */
		ms = (int)((timeout_ns + 999999) / 1000000);
	r = epoll_wait(d->epoll_fd, &ev, 1, ms);
	if (r > 0) {
		d->wakeups++;
		return 0;
	}
	if (r < 0 && errno == EINTR)
		return 0; /* an early return is allowed; the caller re-checks */
	return r == 0 ? VMSG_ETIMEDOUT : VMSG_EIO;
}

int vmsg_vfio_irq_ack(struct vmsg_vfio_dev *d)
{
	uint64_t total = 0, v;

	if (!d || d->irq == VMSG_VFIO_IRQ_NONE)
		return VMSG_EINVAL;
	for (unsigned i = 0; i < d->nirq; i++)
		if (read(d->irq_fd[i], &v, sizeof v) == (ssize_t)sizeof v)
			total += v;
	d->interrupts += total;
	/* VFIO masks INTx when it fires; the caller acked the device first,
	 * so unmask now (and re-check the ring afterwards: the bus does). */
	if (d->irq == VMSG_VFIO_IRQ_INTX && total &&
	    set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX,
		     VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, 1, NULL))
		return VMSG_EIO;
	return total > 0x7FFFFFFF ? 0x7FFFFFFF : (int)total;
}
