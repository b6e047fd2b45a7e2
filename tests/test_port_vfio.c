/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VFIO device layer (port_vfio.h), the ivshmem-vfio port and the
 * AMP-PCI profile against a fake VFIO kernel behind struct vmsg_vfio_sys.
 *
 * The fake emulates the container, the group and one PCI device:
 *  - ivshmem (1af4:1110): config space with a command register, BAR0 of 256
 *    bytes (IntrMask, IntrStatus read-to-clear, IVPosition, DOORBELL),
 *    mmap-able or not, BAR2 shared memory, MSI-X with N vectors or INTx;
 *  - AMP-PCI (10ee:9039, shm-and-ports.md 4.2): BAR0 16 KiB with VERSION,
 *    FEATURES and NOTIFY[q] at 0x20 + 4q, BAR1 num_fifos x 16 KiB with
 *    FIFO q's SPSC-v0 queues at q x 16 KiB + 0x1000 / + 0x2000, MSI-X
 *    vector q for FIFO q.
 * Like the real thing, device registers are little-endian and the device
 * fd's pread/pwrite is a byte stream equal to what a mapping shows (vfio-pci
 * swaps nothing on either path), so on a big-endian host a register value
 * needs the same conversion either way.
 *
 * Interrupts: the fake keeps the eventfds given by SET_IRQS and raises an
 * interrupt by writing to them. Two-sided tests run the device side in a
 * forked child (or, for AMP-PCI, synchronously inside the fake pwrite of
 * NOTIFY, as QEMU's MMIO handler does); waits are bounded waits on events.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64 /* the large-offset check below, on 32-bit hosts */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include <cmocka.h>

#include "virtio_msg/virtio_msg.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/port_amp_pci.h"
#include "virtio_msg/port_ivshmem.h"
#include "virtio_msg/port_ivshmem_vfio.h"
#include "virtio_msg/port_vfio.h"

#define DEPTH 8
#include "port_test_util.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define BDF "0000:00:01.0"
#define GROUP 7
#define PAGE 4096u
#define REGION_SHIFT 40 /* region offsets in the device fd, as vfio-pci */
#define CFG_INDEX VFIO_PCI_CONFIG_REGION_INDEX

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * (uint64_t)SEC + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* The fake kernel and device                                             */
/* ---------------------------------------------------------------------- */

enum { FD_CONTAINER = 900, FD_GROUP = 901, FD_DEVICE = 902 };
enum kind { IVSHMEM, AMP_PCI };

struct fake;
typedef void (*doorbell_fn)(struct fake *f, uint64_t off, uint32_t val);

struct fake {
	/* What the device is */
	enum kind kind;
	uint16_t vendor, device;
	uint32_t bar0_size, bar1_size;
	uint64_t bar2_size;
	bool bar0_mmap;
	unsigned msix;              /* MSI-X vectors (0 = none) */
	bool intx;                  /* an INTx pin */
	uint32_t ivposition;
	uint32_t version;           /* AMP-PCI VERSION */
	/* What the kernel does */
	bool no_group;              /* no iommu_group link */
	bool noiommu;               /* only /dev/vfio/noiommu-N exists */
	bool not_viable;
	bool set_iommu_eperm;
	/* State */
	uint8_t config[256];
	uint8_t *bar0;              /* a page (shared: children see it) */
	uint8_t *bar1;              /* AMP-PCI FIFO BAR */
	uint8_t *bar2;
	bool fd_open[3];
	unsigned opens, closes, mmaps, munmaps;
	unsigned long iommu_type;
	int irq_fd[8];
	unsigned nirq;
	uint32_t irq_index;
	unsigned set_irqs, disables, unmasks;
	unsigned status_reads;
	char events[64];            /* 'S' IntrStatus read, 'U' unmask, in order */
	unsigned nevents;
	uint32_t doorbells[4096];   /* pwrite path: every DOORBELL / NOTIFY value */
	uint64_t doorbell_off[4096];
	unsigned ndoorbells;
	uint32_t intr_mask;
	doorbell_fn on_doorbell;
	void *ctx;
	/* A snapshot of BAR2 taken at the last doorbell write */
	uint8_t snap[0x100];
};

static struct fake *F;

static void event(struct fake *f, char c)
{
	if (f->nevents < sizeof f->events - 1)
		f->events[f->nevents++] = c;
}

static void *shared_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	memset(p, 0, n);
	return p;
}

static struct fake *fake_new(enum kind kind)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kind = kind;
	if (kind == IVSHMEM) {
		f->vendor = 0x1af4;
		f->device = 0x1110;
		f->bar0_size = 0x100;
		f->bar1_size = 0x1000; /* MSI-X table */
		f->bar2_size = 1u << 20;
		f->bar0_mmap = true;
		f->msix = 2;
		f->ivposition = 0x0305;
	} else {
		f->vendor = 0x10ee;
		f->device = 0x9039;
		f->bar0_size = 0x4000;
		f->bar1_size = 2 * VMSG_AMP_PCI_FIFO_SIZE; /* num_fifos x 16 KiB */
		f->bar2_size = 0x1000; /* MSI-X table + PBA */
		f->bar0_mmap = false;
		f->msix = 2;
		f->version = 1;
	}
	for (unsigned i = 0; i < 8; i++)
		f->irq_fd[i] = -1;
	f->bar0 = shared_alloc(f->bar0_size < PAGE ? PAGE : f->bar0_size);
	f->bar1 = shared_alloc(f->bar1_size);
	f->bar2 = shared_alloc((size_t)f->bar2_size);
	F = f;
	return f;
}

/* Fill config space and registers from the parameters (after the test
 * changed them). */
static void fake_reset(struct fake *f)
{
	memset(f->config, 0, sizeof f->config);
	f->config[0] = (uint8_t)f->vendor;
	f->config[1] = (uint8_t)(f->vendor >> 8);
	f->config[2] = (uint8_t)f->device;
	f->config[3] = (uint8_t)(f->device >> 8);
	f->config[0x3D] = f->intx ? 1 : 0; /* interrupt pin */
	if (f->kind == IVSHMEM) {
		vmsg_put_le32(f->bar0 + VMSG_IVSHMEM_REG_IVPOSITION, f->ivposition);
	} else {
		vmsg_put_le32(f->bar0 + VMSG_AMP_PCI_REG_VERSION, f->version);
		vmsg_put_le32(f->bar0 + VMSG_AMP_PCI_REG_FEATURES, 0);
	}
}

static void fake_free(void)
{
	struct fake *f = F;

	if (!f)
		return;
	munmap(f->bar0, f->bar0_size < PAGE ? PAGE : f->bar0_size);
	munmap(f->bar1, f->bar1_size);
	munmap(f->bar2, (size_t)f->bar2_size);
	free(f);
	F = NULL;
}

static int fd_slot(int fd)
{
	return fd >= FD_CONTAINER && fd <= FD_DEVICE ? fd - FD_CONTAINER : -1;
}

static int fk_open(void *ctx, const char *path, int flags)
{
	struct fake *f = ctx;
	char grp[64], noi[64];
	int fd = -1;

	(void)flags;
	snprintf(grp, sizeof grp, "/dev/vfio/%d", GROUP);
	snprintf(noi, sizeof noi, "/dev/vfio/noiommu-%d", GROUP);
	if (!strcmp(path, "/dev/vfio/vfio"))
		fd = FD_CONTAINER;
	else if (!strcmp(path, grp) && !f->noiommu)
		fd = FD_GROUP;
	else if (!strcmp(path, noi) && f->noiommu)
		fd = FD_GROUP;
	if (fd < 0) {
		errno = ENOENT;
		return -1;
	}
	if (f->fd_open[fd_slot(fd)]) {
		errno = EBUSY; /* a group is opened once */
		return -1;
	}
	f->fd_open[fd_slot(fd)] = true;
	f->opens++;
	return fd;
}

static int fk_close(void *ctx, int fd)
{
	struct fake *f = ctx;
	int s = fd_slot(fd);

	if (s < 0 || !f->fd_open[s]) {
		errno = EBADF;
		return -1;
	}
	f->fd_open[s] = false;
	f->closes++;
	return 0;
}

struct region {
	uint64_t size;
	uint32_t flags;
};

static struct region region_of(struct fake *f, uint32_t index)
{
	struct region r = { 0, 0 };
	const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

	switch (index) {
	case 0:
		r.size = f->bar0_size;
		r.flags = rw | (f->bar0_mmap ? VFIO_REGION_INFO_FLAG_MMAP : 0);
		break;
	case 1:
		r.size = f->bar1_size;
		r.flags = rw | (f->kind == AMP_PCI ? VFIO_REGION_INFO_FLAG_MMAP : 0);
		break;
	case 2:
		r.size = f->bar2_size;
		r.flags = rw | (f->kind == IVSHMEM ? VFIO_REGION_INFO_FLAG_MMAP : 0);
		break;
	case CFG_INDEX:
		r.size = sizeof f->config;
		r.flags = rw;
		break;
	default:
		break;
	}
	return r;
}

static int set_irqs(struct fake *f, struct vfio_irq_set *s)
{
	uint32_t action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	uint32_t data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	unsigned have = s->index == VFIO_PCI_MSIX_IRQ_INDEX ? f->msix :
			s->index == VFIO_PCI_INTX_IRQ_INDEX ? (f->intx ? 1u : 0u) :
							       0u;

	f->set_irqs++;
	if (s->argsz < sizeof(*s) || s->start != 0 || s->count > have ||
	    (data == VFIO_IRQ_SET_DATA_EVENTFD && s->argsz != sizeof(*s) + 4u * s->count)) {
		errno = EINVAL;
		return -1;
	}
	if (action == VFIO_IRQ_SET_ACTION_TRIGGER && data == VFIO_IRQ_SET_DATA_EVENTFD) {
		for (unsigned i = 0; i < s->count; i++) {
			int32_t fd;

			memcpy(&fd, s->data + 4u * i, 4);
			f->irq_fd[i] = fd;
		}
		f->nirq = s->count;
		f->irq_index = s->index;
		return 0;
	}
	if (action == VFIO_IRQ_SET_ACTION_TRIGGER && data == VFIO_IRQ_SET_DATA_NONE &&
	    s->count == 0) {
		f->disables++;
		f->nirq = 0;
		return 0;
	}
	if (action == VFIO_IRQ_SET_ACTION_UNMASK && data == VFIO_IRQ_SET_DATA_NONE &&
	    s->index == VFIO_PCI_INTX_IRQ_INDEX && s->count == 1) {
		f->unmasks++;
		event(f, 'U');
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int fk_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	struct fake *f = ctx;

	if (fd_slot(fd) < 0 || !f->fd_open[fd_slot(fd)]) {
		errno = EBADF;
		return -1;
	}
	if (fd == FD_CONTAINER) {
		if (req == VFIO_GET_API_VERSION)
			return VFIO_API_VERSION;
		if (req == VFIO_CHECK_EXTENSION) {
			unsigned long t = (unsigned long)(uintptr_t)arg;

			if (f->noiommu)
				return t == VFIO_NOIOMMU_IOMMU;
			return t == VFIO_TYPE1_IOMMU || t == VFIO_TYPE1v2_IOMMU;
		}
		if (req == VFIO_SET_IOMMU) {
			if (f->set_iommu_eperm) {
				errno = EPERM;
				return -1;
			}
			f->iommu_type = (unsigned long)(uintptr_t)arg;
			return 0;
		}
	} else if (fd == FD_GROUP) {
		if (req == VFIO_GROUP_GET_STATUS) {
			struct vfio_group_status *gs = arg;

			gs->flags = f->not_viable ? 0 : VFIO_GROUP_FLAGS_VIABLE;
			return 0;
		}
		if (req == VFIO_GROUP_SET_CONTAINER) {
			if (*(int *)arg != FD_CONTAINER) {
				errno = EBADF;
				return -1;
			}
			return 0;
		}
		if (req == VFIO_GROUP_GET_DEVICE_FD) {
			if (strcmp(arg, BDF) != 0) {
				errno = ENODEV;
				return -1;
			}
			if (f->fd_open[fd_slot(FD_DEVICE)]) {
				errno = EBUSY;
				return -1;
			}
			f->fd_open[fd_slot(FD_DEVICE)] = true;
			f->opens++;
			return FD_DEVICE;
		}
	} else {
		if (req == VFIO_DEVICE_GET_INFO) {
			struct vfio_device_info *di = arg;

			di->flags = VFIO_DEVICE_FLAGS_PCI;
			di->num_regions = VFIO_PCI_NUM_REGIONS;
			di->num_irqs = VFIO_PCI_NUM_IRQS;
			return 0;
		}
		if (req == VFIO_DEVICE_GET_REGION_INFO) {
			struct vfio_region_info *ri = arg;
			struct region r = region_of(f, ri->index);

			if (ri->index >= VFIO_PCI_NUM_REGIONS) {
				errno = EINVAL;
				return -1;
			}
			ri->size = r.size;
			ri->flags = r.size ? r.flags : 0;
			ri->offset = (uint64_t)ri->index << REGION_SHIFT;
			return 0;
		}
		if (req == VFIO_DEVICE_GET_IRQ_INFO) {
			struct vfio_irq_info *ii = arg;

			ii->flags = VFIO_IRQ_INFO_EVENTFD;
			ii->count = 0;
			if (ii->index == VFIO_PCI_INTX_IRQ_INDEX) {
				ii->count = f->intx ? 1 : 0;
				ii->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
			} else if (ii->index == VFIO_PCI_MSIX_IRQ_INDEX) {
				ii->count = f->msix;
				ii->flags |= VFIO_IRQ_INFO_NORESIZE;
			}
			return 0;
		}
		if (req == VFIO_DEVICE_SET_IRQS)
			return set_irqs(f, arg);
	}
	errno = ENOTTY;
	return -1;
}

/* BAR0 register reads: the bytes the device shows (little-endian). */
static void bar0_read(struct fake *f, uint64_t off, uint8_t *buf, size_t n)
{
	memcpy(buf, f->bar0 + off, n);
	if (f->kind == IVSHMEM && off == VMSG_IVSHMEM_REG_INTR_STATUS && n == 4) {
		f->status_reads++;
		event(f, 'S');
		vmsg_put_le32(f->bar0 + off, 0); /* read clears */
	}
}

static void bar0_write(struct fake *f, uint64_t off, const uint8_t *buf, size_t n)
{
	uint32_t v;

	if (n != 4 || off % 4)
		return; /* the ports only do aligned 32-bit accesses */
	v = vmsg_get_le32(buf);
	if (f->kind == IVSHMEM) {
		if (off == VMSG_IVSHMEM_REG_INTR_MASK) {
			f->intr_mask = v;
			memcpy(f->bar0 + off, buf, 4);
		}
		if (off != VMSG_IVSHMEM_REG_DOORBELL)
			return; /* IVPosition is read-only */
		memcpy(f->snap, f->bar2, sizeof f->snap);
	} else if (off < VMSG_AMP_PCI_REG_NOTIFY) {
		return; /* VERSION and FEATURES are read-only */
	}
	if (f->ndoorbells < 4096) {
		f->doorbell_off[f->ndoorbells] = off;
		f->doorbells[f->ndoorbells++] = v;
	}
	if (f->on_doorbell)
		f->on_doorbell(f, off, v);
}

static long rw(struct fake *f, int fd, void *buf, size_t n, uint64_t off, bool wr)
{
	uint32_t index = (uint32_t)(off >> REGION_SHIFT);
	uint64_t o = off & ((UINT64_C(1) << REGION_SHIFT) - 1);
	struct region r;

	if (fd != FD_DEVICE || !f->fd_open[fd_slot(fd)]) {
		errno = EBADF;
		return -1;
	}
	r = region_of(f, index);
	if (!r.size || o > r.size || n > r.size - o) {
		errno = EINVAL;
		return -1;
	}
	if (index == CFG_INDEX) {
		if (wr)
			memcpy(f->config + o, buf, n);
		else
			memcpy(buf, f->config + o, n);
	} else if (index == 0) {
		if (wr)
			bar0_write(f, o, buf, n);
		else
			bar0_read(f, o, buf, n);
	} else {
		errno = EINVAL; /* the ports never access the memory BARs this way */
		return -1;
	}
	return (long)n;
}

static long fk_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
	return rw(ctx, fd, buf, n, off, false);
}

static long fk_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
	return rw(ctx, fd, (void *)(uintptr_t)buf, n, off, true);
}

static void *fk_mmap(void *ctx, size_t len, int fd, uint64_t off)
{
	struct fake *f = ctx;
	uint32_t index = (uint32_t)(off >> REGION_SHIFT);
	struct region r = region_of(f, index);
	uint8_t *p = index == 0 ? f->bar0 : index == 1 ? f->bar1 : index == 2 ? f->bar2 : NULL;
	uint64_t need = (r.size + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	if (fd != FD_DEVICE || !f->fd_open[fd_slot(fd)] || !p ||
	    !(r.flags & VFIO_REGION_INFO_FLAG_MMAP) || (off & ((UINT64_C(1) << REGION_SHIFT) - 1)) ||
	    len != need) {
		errno = EINVAL;
		return NULL;
	}
	f->mmaps++;
	return p;
}

static int fk_munmap(void *ctx, void *p, size_t len)
{
	struct fake *f = ctx;

	(void)len;
	if (p != f->bar0 && p != f->bar1 && p != f->bar2) {
		errno = EINVAL;
		return -1;
	}
	f->munmaps++;
	return 0;
}

static long fk_readlink(void *ctx, const char *path, char *buf, size_t n)
{
	struct fake *f = ctx;
	char want[128], link[64];
	size_t len;

	snprintf(want, sizeof want, "/sys/bus/pci/devices/%s/iommu_group", BDF);
	if (f->no_group || strcmp(path, want) != 0) {
		errno = ENOENT;
		return -1;
	}
	snprintf(link, sizeof link, "../../../kernel/iommu_groups/%d", GROUP);
	len = strlen(link);
	if (len > n)
		len = n;
	memcpy(buf, link, len); /* readlink does not terminate */
	return (long)len;
}

static struct vmsg_vfio_sys fake_sys(struct fake *f)
{
	struct vmsg_vfio_sys s = { fk_open, fk_close, fk_ioctl, fk_pread, fk_pwrite,
				   fk_mmap, fk_munmap, fk_readlink, f };

	return s;
}

/* Raise MSI-X vector (or INTx) @p v: what the device's interrupt does. */
static void raise_irq(struct fake *f, unsigned v)
{
	uint64_t one = 1;

	assert_true(v < f->nirq);
	assert_int_equal(write(f->irq_fd[v], &one, sizeof one), (ssize_t)sizeof one);
}

/* Everything the fake handed out came back. */
static void assert_released(struct fake *f)
{
	assert_int_equal(f->opens, f->closes);
	assert_int_equal(f->mmaps, f->munmaps);
	for (unsigned i = 0; i < 3; i++)
		assert_false(f->fd_open[i]);
}

static int teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The device layer                                                       */
/* ---------------------------------------------------------------------- */

static void test_open_paths(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_vfio_dev d;
	int fds = count_fds();

	(void)state;
	fake_reset(f);
	/* type1v2 behind an IOMMU */
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), 0);
	assert_false(d.noiommu);
	assert_int_equal(f->iommu_type, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(d.num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(d.bar[0].size, 0x100);
	assert_int_equal(d.bar[2].size, 1u << 20);
	assert_int_equal(d.bar[2].offset, UINT64_C(2) << REGION_SHIFT);
	assert_int_equal(d.cfg_size, 256);
	assert_int_equal(f->opens, 3);
	vmsg_vfio_close(&d);
	assert_released(f);
	vmsg_vfio_close(&d); /* twice is harmless */
	assert_released(f);

	/* no-IOMMU group */
	f->noiommu = true;
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), 0);
	assert_true(d.noiommu);
	assert_int_equal(f->iommu_type, VFIO_NOIOMMU_IOMMU);
	vmsg_vfio_close(&d);
	assert_released(f);
	f->noiommu = false;

	/* Errors, each releasing what it took. */
	f->no_group = true;
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), VMSG_ENODEV);
	assert_released(f);
	f->no_group = false;
	f->not_viable = true;
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), VMSG_EBUSY);
	assert_released(f);
	f->not_viable = false;
	f->set_iommu_eperm = true;
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), VMSG_ENOTSUP);
	assert_released(f);
	f->set_iommu_eperm = false;
	assert_int_equal(vmsg_vfio_open(&d, "0000:00:09.0", &sys), VMSG_ENODEV);
	assert_released(f);
	assert_int_equal(vmsg_vfio_open(&d, "", &sys), VMSG_EINVAL);
	assert_int_equal(vmsg_vfio_open(NULL, BDF, &sys), VMSG_EINVAL);
	assert_int_equal(count_fds(), fds);
}

/* The real system calls take 64-bit offsets on every host: VFIO puts
 * region N at N << 40 in the device fd. A sparse temporary file stands in
 * for the device fd. */
static void test_linux_sys_offsets(void **state)
{
	const struct vmsg_vfio_sys *s = &vmsg_vfio_sys_linux;
	const uint64_t off = UINT64_C(1) << 33; /* beyond 32 bits, sparse */
	char path[] = "/tmp/vmsg-vfio-test-XXXXXX";
	uint8_t b[4] = { 0 };
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(s->pwrite(s->ctx, fd, "VFIO", 4, off), 4);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((uint64_t)st.st_size == off + 4); /* not at a truncated offset */
	assert_int_equal(s->pread(s->ctx, fd, b, 4, off), 4);
	assert_memory_equal(b, "VFIO", 4);
	assert_int_equal(pread(fd, b, 4, 0), 4); /* a hole: nothing landed at 0 */
	assert_memory_equal(b, "\0\0\0\0", 4);
	assert_int_equal(s->close(s->ctx, fd), 0);
}

static void test_registers_and_config(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_vfio_dev d;
	uint16_t vendor, device;
	uint32_t v;

	(void)state;
	fake_reset(f);
	vmsg_put_le32(f->bar0 + 0x10, 0x11223344u);
	assert_int_equal(vmsg_vfio_open(&d, BDF, &sys), 0);
	assert_int_equal(vmsg_vfio_ids(&d, &vendor, &device), 0);
	assert_int_equal(vendor, 0x1af4);
	assert_int_equal(device, 0x1110);

	for (int mapped = 0; mapped < 2; mapped++) {
		if (mapped) {
			assert_int_equal(vmsg_vfio_map_bar(&d, 0, false), 0);
			assert_non_null(d.bar[0].map);
			assert_int_equal(d.bar[0].map_len, PAGE);
		}
		/* The same value on both paths, whatever the host's byte order. */
		assert_int_equal(vmsg_vfio_read32(&d, 0, 0x10, &v), 0);
		assert_int_equal(v, 0x11223344u);
		assert_int_equal(vmsg_vfio_read32(&d, 0, VMSG_IVSHMEM_REG_IVPOSITION, &v), 0);
		assert_int_equal(v, 0x0305);
		assert_int_equal(vmsg_vfio_write32(&d, 0, VMSG_IVSHMEM_REG_DOORBELL, 0x00070001u),
				 0);
		if (mapped)
			assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_IVSHMEM_REG_DOORBELL), 0x00070001u);
		else
			assert_int_equal(f->doorbells[f->ndoorbells - 1], 0x00070001u);
		/* Bounds and alignment */
		assert_int_equal(vmsg_vfio_read32(&d, 0, 0x100, &v), VMSG_ERANGE);
		assert_int_equal(vmsg_vfio_read32(&d, 0, 0xFC, &v), 0);
		assert_int_equal(vmsg_vfio_read32(&d, 0, 0x02, &v), VMSG_EINVAL);
		assert_int_equal(vmsg_vfio_write32(&d, 4, 0, 0), VMSG_ERANGE);
		assert_int_equal(vmsg_vfio_write32(&d, 6, 0, 0), VMSG_EINVAL);
	}
	/* A BAR without the MMAP flag: pread/pwrite, unless a pointer is needed. */
	assert_int_equal(vmsg_vfio_map_bar(&d, 1, false), 0);
	assert_null(d.bar[1].map);
	assert_int_equal(vmsg_vfio_map_bar(&d, 1, true), VMSG_ENOTSUP);
	assert_int_equal(vmsg_vfio_map_bar(&d, 3, false), VMSG_ENOENT);
	assert_int_equal(vmsg_vfio_map_bar(&d, 2, true), 0);
	assert_non_null(d.bar[2].map);

	/* Bus master and memory space; nothing else in the command register. */
	f->config[4] = 0x00;
	f->config[5] = 0x04; /* Interrupt Disable, set by someone */
	assert_int_equal(vmsg_vfio_enable_bus_master(&d), 0);
	assert_int_equal(f->config[4], 0x06);
	assert_int_equal(f->config[5], 0x04);
	{
		uint8_t b8[8];

		assert_int_equal(vmsg_vfio_config_read(&d, 250, b8, sizeof b8), VMSG_ERANGE);
		assert_int_equal(vmsg_vfio_config_read(&d, 248, b8, sizeof b8), 0);
	}
	vmsg_vfio_close(&d);
	assert_released(f);
}

/* ---------------------------------------------------------------------- */
/* The ivshmem-vfio port                                                  */
/* ---------------------------------------------------------------------- */

static struct vmsg_ivshmem_vfio port;

static struct vmsg_ivshmem_vfio_cfg port_cfg(const struct vmsg_vfio_sys *sys)
{
	struct vmsg_ivshmem_vfio_cfg c = { 0 };

	c.bdf = BDF;
	c.sys = sys;
	c.iv.side = VMSG_SHM_DRIVER;
	c.iv.layout = VMSG_IVSHMEM_LAYOUT_V0; /* no owner needed */
	return c;
}

static void check_open_common(struct fake *f)
{
	uint32_t peer;

	assert_int_equal(port.own_id, 0x0305);
	assert_int_equal(port.iv.own_id, 0x0305);
	/* Bus master (and memory space) set by open: MSI-X needs it. */
	assert_int_equal(f->config[4] & 0x6, 0x6);
	/* The ring lives in BAR2, driven as device memory. */
	assert_ptr_equal(port.iv.shm, f->bar2);
	assert_int_equal(port.iv.cfg.mem, VMSG_SPSC_MEM_DEVICE);
	/* The driver's id is published in the v0 id word, le32 VALID | id. */
	assert_int_equal(vmsg_get_le32(f->bar2 + 0x1000 + VMSG_V0_OFF_PEER_ID),
			 VMSG_SHM_PEER_ID_VALID | 0x0305u);
	assert_false(vmsg_ivshmem_peer(&port.iv, &peer));
}

/* A peer (the device side) publishes id 9 in the v0 layout. */
static void publish_peer(struct fake *f, uint32_t id)
{
	vmsg_put_le32(f->bar2 + 0x0 + VMSG_V0_OFF_PEER_ID, VMSG_SHM_PEER_ID_VALID | id);
}

static const uint8_t ping12[12] = { 0x02, 0x03, 0, 0, 0x05, 0, 0x0C, 0, 0xEF, 0xBE, 0xAD, 0xDE };

static void doorbell_case(bool bar0_mmap)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	int fds = count_fds();
	struct vmsg_shm_bus *sb;

	f->bar0_mmap = bar0_mmap;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	check_open_common(f);
	assert_true(bar0_mmap ? port.dev.bar[0].map != NULL : port.dev.bar[0].map == NULL);
	publish_peer(f, 9);
	sb = vmsg_ivshmem_vfio_bus(&port);
	assert_int_equal(vmsg_shm_bus_ops.send(sb, ping12, sizeof ping12), 0);
	assert_int_equal(port.iv.st.doorbells, 1);
	if (bar0_mmap) {
		/* The test reads the register the way the device sees it. */
		assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_IVSHMEM_REG_DOORBELL), 0x00090000u);
		assert_int_equal(f->ndoorbells, 0);
	} else {
		assert_int_equal(f->ndoorbells, 1);
		assert_int_equal(f->doorbell_off[0], VMSG_IVSHMEM_REG_DOORBELL);
		assert_int_equal(f->doorbells[0], 0x00090000u);
		/* At the doorbell the message was already in BAR2: the head
		 * index moved to 1 and slot 0 holds it. */
		assert_int_equal(f->snap[0] | f->snap[1] | f->snap[2] | f->snap[3], 1);
		assert_memory_equal(f->snap + VMSG_V0_OFF_SLOTS, ping12, sizeof ping12);
	}
	/* A vector other than 0 */
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_released(f);
	c.iv.vector = 1;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	publish_peer(f, 0xABCD);
	assert_int_equal(vmsg_shm_bus_ops.send(vmsg_ivshmem_vfio_bus(&port), ping12, sizeof ping12),
			 0);
	if (bar0_mmap)
		assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_IVSHMEM_REG_DOORBELL), 0xABCD0001u);
	else
		assert_int_equal(f->doorbells[f->ndoorbells - 1], 0xABCD0001u);
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

static void test_doorbell_mmap(void **state)
{
	(void)state;
	doorbell_case(true);
}

static void test_doorbell_pwrite(void **state)
{
	(void)state;
	doorbell_case(false);
}

static void test_msix(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	int fds = count_fds();
	struct vmsg_shm_bus_hooks *h;

	(void)state;
	f->msix = 3;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.irq, VMSG_VFIO_IRQ_MSIX);
	assert_int_equal(port.dev.nirq, 3);
	assert_int_equal(f->nirq, 3);
	assert_int_equal(f->irq_index, VFIO_PCI_MSIX_IRQ_INDEX);
	assert_true(vmsg_ivshmem_vfio_fd(&port) >= 0);
	h = &port.iv.sb.hooks;
	/* Nothing pending: a bounded wait times out. */
	assert_int_equal(h->wait(h->ctx, 1 * MS), VMSG_ETIMEDOUT);
	/* Vector 2 fires: the wait returns and the interrupt is counted. */
	raise_irq(f, 2);
	{
		struct pollfd pfd = { vmsg_ivshmem_vfio_fd(&port), POLLIN, 0 };

		assert_int_equal(poll(&pfd, 1, 10000), 1); /* the app's loop sees it */
	}
	assert_int_equal(h->wait(h->ctx, 10 * SEC), 0);
	assert_int_equal(port.dev.interrupts, 1);
	assert_int_equal(port.dev.wakeups, 1);
	assert_int_equal(f->status_reads, 0); /* MSI-X: no IntrStatus, no unmask */
	assert_int_equal(f->unmasks, 0);
	/* Coalesced: two rings before the wait are one wake-up. */
	raise_irq(f, 0);
	raise_irq(f, 0);
	assert_int_equal(h->wait(h->ctx, 10 * SEC), 0);
	assert_int_equal(port.dev.interrupts, 3);
	assert_int_equal(h->wait(h->ctx, 0), VMSG_ETIMEDOUT);
	assert_int_equal(port.iv.st.polled_waits, 0);
	/* Close disables the interrupts (SET_IRQS count 0) and frees all. */
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_int_equal(f->disables, 1);
	assert_released(f);
	assert_int_equal(count_fds(), fds);

	/* cfg.vectors bounds the vectors taken; poll_only takes none. */
	c.vectors = 1;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.nirq, 1);
	assert_int_equal(f->nirq, 1);
	(void)vmsg_ivshmem_vfio_close(&port);
	c.vectors = 0;
	c.poll_only = true;
	f->set_irqs = 0;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.irq, VMSG_VFIO_IRQ_NONE);
	assert_int_equal(f->set_irqs, 0);
	assert_int_equal(vmsg_ivshmem_vfio_fd(&port), -1);
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

static void test_intx(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	int fds = count_fds();
	struct vmsg_shm_bus_hooks *h;

	(void)state;
	f->msix = 0;
	f->intx = true;
	f->bar0_mmap = false; /* the fake sees each IntrStatus read */
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.irq, VMSG_VFIO_IRQ_INTX);
	assert_int_equal(f->irq_index, VFIO_PCI_INTX_IRQ_INDEX);
	assert_int_equal(f->nirq, 1);
	assert_int_equal(f->intr_mask, 0xFFFFFFFFu); /* every source enabled */
	h = &port.iv.sb.hooks;
	for (unsigned i = 1; i <= 3; i++) {
		vmsg_put_le32(f->bar0 + VMSG_IVSHMEM_REG_INTR_STATUS, 1);
		raise_irq(f, 0);
		assert_int_equal(h->wait(h->ctx, 10 * SEC), 0);
		/* Acked at the device (IntrStatus read-to-clear), then unmasked. */
		assert_int_equal(f->status_reads, i);
		assert_int_equal(f->unmasks, i);
		assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_IVSHMEM_REG_INTR_STATUS), 0);
	}
	assert_string_equal(f->events, "SUSUSU");
	assert_int_equal(port.dev.interrupts, 3);
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_int_equal(f->disables, 1);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

static void test_no_irq_polls(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	struct vmsg_shm_bus_hooks *h;

	(void)state;
	f->msix = 0;
	f->intx = false;
	fake_reset(f);
	c.iv.poll_ns = 1 * (uint64_t)MS;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.irq, VMSG_VFIO_IRQ_NONE);
	assert_int_equal(vmsg_ivshmem_vfio_fd(&port), -1);
	assert_int_equal(f->set_irqs, 0);
	h = &port.iv.sb.hooks;
	assert_int_equal(h->wait(h->ctx, 10 * SEC), 0); /* one slice */
	assert_int_equal(port.iv.st.polled_waits, 1);
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_int_equal(f->disables, 0);
	assert_released(f);
}

static void test_port_errors(void **state)
{
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	int fds = count_fds();

	(void)state;
	fake_reset(f);
	f->not_viable = true;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_EBUSY);
	f->not_viable = false;
	f->no_group = true;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_ENODEV);
	f->no_group = false;
	f->set_iommu_eperm = true;
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_ENOTSUP);
	f->set_iommu_eperm = false;
	assert_released(f);

	f->vendor = 0x8086;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_ENODEV);
	assert_released(f);
	f->vendor = 0x1af4;
	f->device = 0x1111;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_ENODEV);
	f->device = 0x1110;
	/* Shared memory that is not a power of two is no ivshmem BAR. */
	f->bar2_size = 3u << 18;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_ENODEV);
	f->bar2_size = 1u << 20;
	/* IVPosition beyond 16 bits */
	f->ivposition = 0x10000;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), VMSG_EIO);
	assert_released(f);
	/* no-IOMMU mode opens */
	f->ivposition = 0x0305;
	f->noiommu = true;
	fake_reset(f);
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_true(port.dev.noiommu);
	assert_int_equal(f->iommu_type, VFIO_NOIOMMU_IOMMU);
	(void)vmsg_ivshmem_vfio_close(&port);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

/* ---------------------------------------------------------------------- */
/* A whole bus: ivshmem-vfio (driver) <-> ivshmem core (device, a child)  */
/* ---------------------------------------------------------------------- */

#define NDEV 32
#define DEV_ID 9
#ifndef VMSG_STRESS_MSGS
#define VMSG_STRESS_MSGS 10000000
#endif
#define NPINGS (VMSG_STRESS_MSGS >= 10000000 ? 10000 : 2000)

struct child_res {
	int code, line;
	uint64_t rings, bad_rings, resets, polled_waits, drop_malformed, drop_unmatched;
};

static int dev_bell = -1;     /* the device side's doorbell (an eventfd) */
static struct child_res *cres; /* shared with the child */

/* The fake's BAR0 DOORBELL write (pwrite path): ring the device side. */
static void ivshmem_doorbell(struct fake *f, uint64_t off, uint32_t val)
{
	uint64_t one = 1;

	(void)f;
	(void)off;
	if (val >> 16 == DEV_ID && write(dev_bell, &one, sizeof one) != sizeof one)
		abort();
}

/* The device side's backend, in the child. */
struct dev_ctx {
	struct fake *f;
	uint32_t drv_id;
	struct child_res *res;
};

static int dev_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct dev_ctx *d = ctx;
	uint64_t one = 1;

	d->res->rings++;
	if (peer != d->drv_id || vector >= d->f->nirq) {
		d->res->bad_rings++;
		return 0;
	}
	/* The fake device turns the doorbell into the driver's MSI-X. */
	return write(d->f->irq_fd[vector], &one, sizeof one) == sizeof one ? 0 : VMSG_EIO;
}

static int dev_wait(void *ctx, int64_t timeout_ns)
{
	struct pollfd pfd = { dev_bell, POLLIN, 0 };
	uint64_t v;
	int ms = timeout_ns < 0 ? 1000 : (int)((timeout_ns + 999999) / 1000000);

	(void)ctx;
	if (poll(&pfd, 1, ms) <= 0)
		return VMSG_ETIMEDOUT;
	(void)!read(dev_bell, &v, sizeof v);
	return 0;
}

static void noop_handler(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *m)
{
	(void)ctx;
	(void)b;
	(void)m;
}

#define CCHECK(c)                                                                                  \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			res->code = 1;                                                             \
			res->line = __LINE__;                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void device_child(struct fake *f, enum vmsg_ivshmem_layout lay, bool polled,
			 struct child_res *res)
{
	static struct vmsg_ivshmem iv;
	static struct vmsg_bus bus;
	static struct vmsg_bus_req reqs[4];
	static struct vmsg_bus_dev devs[NDEV];
	static uint8_t rx[1024], tx[1024];
	struct dev_ctx dc = { f, 0x0305, res };
	struct vmsg_ivshmem_backend be = { 0 };
	struct vmsg_ivshmem_cfg ic = { 0 };
	struct vmsg_bus_cfg bc = { 0 };
	uint64_t end = now_ns() + 60 * (uint64_t)SEC;

	be.ring = dev_ring;
	be.wait = polled ? NULL : dev_wait;
	be.ctx = &dc;
	ic.side = VMSG_SHM_DEVICE;
	ic.layout = lay;
	ic.mem = VMSG_SPSC_MEM_DEVICE;
	ic.attach_timeout_ns = 10 * (uint64_t)SEC;
	if (lay == VMSG_IVSHMEM_LAYOUT_V0) {
		vmsg_shm_v0_defaults(&ic.v0);
		ic.v0.kick_suppression = true;
		ic.v0_resume = true; /* the driver may already have sent */
	}
	CCHECK(vmsg_ivshmem_open(&iv, f->bar2, (size_t)f->bar2_size, DEV_ID, &be, &ic) == 0);
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_ivshmem_bus(&iv);
	bc.role = VMSG_BUS_DEVICE;
	bc.reqs = reqs;
	bc.num_reqs = 4;
	bc.devs = devs;
	bc.num_devs = NDEV;
	bc.rx_buf = rx;
	bc.rx_cap = sizeof rx;
	bc.tx_buf = tx;
	bc.tx_cap = sizeof tx;
	CCHECK(vmsg_bus_init(&bus, &bc) == 0);
	for (unsigned d = 0; d < NDEV; d++)
		CCHECK(vmsg_bus_add_device(&bus, (uint16_t)(d * 3 + 1), noop_handler, NULL,
					   false) == 0);
	/* Serve until the driver closes its bus (v1: SHUTDOWN is a reset
	 * here; v0 has no lifecycle: the parent says so through dev_bell's
	 * sibling, the shared result's code field set to -1). */
	while (bus.stats.resets == 0 && *(volatile int *)&res->code != -1) {
		CCHECK(vmsg_bus_wait(&bus, 100 * MS) >= 0);
		CCHECK(now_ns() < end);
	}
	res->resets = bus.stats.resets;
	res->polled_waits = iv.st.polled_waits;
	res->drop_malformed = bus.stats.drop_malformed;
	res->drop_unmatched = bus.stats.drop_unmatched;
	res->code = 0;
}

/* Discovery until the link is up, then PINGs with DEPTH in flight. */
static void drive(struct vmsg_bus *bus, unsigned ndev, const uint16_t *nums, uint64_t npings)
{
	uint64_t end = now_ns() + 60 * (uint64_t)SEC, submitted = 0;
	int n;

	memset(&P, 0, sizeof P);
	for (;;) {
		n = vmsg_bus_discover(bus, 2 * (uint64_t)SEC);
		if (n >= 0 || (n != VMSG_EAGAIN && n != VMSG_ETIMEDOUT) || now_ns() > end)
			break;
		assert_true(vmsg_bus_wait(bus, 20 * MS) >= 0);
	}
	assert_int_equal(n, ndev);
	for (unsigned d = 0; d < ndev; d++)
		assert_true(vmsg_bus_device_present(bus, nums[d]));
	while (P.done < npings && now_ns() < end) {
		while (P.inflight < DEPTH && submitted < npings) {
			struct vmsg_msg q = { 0 };
			unsigned i = 0;
			int err;

			while (P.busy[i])
				i++;
			q.type = VMSG_TYPE_BUS;
			q.msg_id = VMSG_BUS_ID_PING;
			q.u.ping.data = (uint32_t)(submitted * 2654435761u) ^ 0xA5A50000u;
			P.data[i] = q.u.ping.data;
			err = vmsg_bus_submit(bus, &q, 10 * (uint64_t)SEC, ping_done,
					      (void *)(uintptr_t)i);
			if (err == VMSG_EAGAIN)
				break;
			assert_int_equal(err, 0);
			P.busy[i] = true;
			P.inflight++;
			submitted++;
		}
		assert_true(vmsg_bus_wait(bus, SEC) >= 0);
		assert_int_equal(P.bad, 0);
	}
	assert_int_equal(P.done, npings);
	assert_int_equal(P.ok, npings);
	assert_int_equal(bus->stats.timeouts, 0);
	assert_int_equal(bus->stats.drop_unmatched, 0);
	assert_int_equal(bus->stats.drop_malformed, 0);
}

static pid_t child_pid = -1;

static int teardown_child(void **state)
{
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
		child_pid = -1;
	}
	if (dev_bell >= 0)
		close(dev_bell);
	dev_bell = -1;
	if (cres)
		munmap(cres, sizeof *cres);
	cres = NULL;
	return teardown(state);
}

static void vfio_bus(enum vmsg_ivshmem_layout lay, bool bar0_mmap)
{
	static struct vmsg_bus bus;
	static struct vmsg_bus_req reqs[DEPTH + 2];
	static struct vmsg_bus_dev devs[64];
	static uint8_t rx[1024], tx[1024];
	struct fake *f = fake_new(IVSHMEM);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_ivshmem_vfio_cfg c = port_cfg(&sys);
	struct vmsg_bus_cfg bc = { 0 };
	uint16_t nums[NDEV];
	int fds = count_fds();
	int status;

	f->bar0_mmap = bar0_mmap;
	fake_reset(f);
	cres = shared_alloc(sizeof *cres);
	dev_bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(dev_bell >= 0);
	f->on_doorbell = ivshmem_doorbell;
	/* The driver owns the v1 layout here: it opens first, so the child
	 * inherits the MSI-X eventfds the fake got from SET_IRQS. */
	c.iv.layout = lay;
	c.iv.owner = true;
	if (lay == VMSG_IVSHMEM_LAYOUT_V0) {
		vmsg_shm_v0_defaults(&c.iv.v0);
		c.iv.v0.kick_suppression = true;
	}
	assert_int_equal(vmsg_ivshmem_vfio_open(&port, &c), 0);
	assert_int_equal(port.dev.irq, VMSG_VFIO_IRQ_MSIX);
	child_pid = fork();
	assert_true(child_pid >= 0);
	if (child_pid == 0) {
		/* With BAR0 mapped the fake never sees the doorbell: the
		 * device side polls (a uio-like peer). */
		device_child(f, lay, bar0_mmap, cres);
		_exit(cres->code == 0 ? 0 : 1);
	}
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_ivshmem_vfio_bus(&port);
	bc.role = VMSG_BUS_DRIVER;
	bc.reqs = reqs;
	bc.num_reqs = DEPTH + 2;
	bc.devs = devs;
	bc.num_devs = 64;
	bc.rx_buf = rx;
	bc.rx_cap = sizeof rx;
	bc.tx_buf = tx;
	bc.tx_cap = sizeof tx;
	assert_int_equal(vmsg_bus_init(&bus, &bc), 0);
	for (unsigned d = 0; d < NDEV; d++)
		nums[d] = (uint16_t)(d * 3 + 1);
	drive(&bus, NDEV, nums, NPINGS);
	/* Interrupt-driven: the fake's MSI-X woke us. */
	assert_true(port.dev.interrupts > 0);
	assert_true(port.dev.wakeups > 0);
	assert_int_equal(port.iv.st.polled_waits, 0);
	/* Every doorbell targeted the device side's published id. */
	if (bar0_mmap) {
		assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_IVSHMEM_REG_DOORBELL), DEV_ID << 16);
	} else {
		assert_true(f->ndoorbells > 0);
		for (unsigned i = 0; i < f->ndoorbells && i < 4096; i++)
			assert_int_equal(f->doorbells[i], DEV_ID << 16);
	}
	(void)vmsg_bus_close(&bus); /* closes the port */
	if (lay == VMSG_IVSHMEM_LAYOUT_V0)
		cres->code = -1; /* no lifecycle: tell the child */
	assert_int_equal(waitpid(child_pid, &status, 0), child_pid);
	child_pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("device child failed: code %d at line %d", cres->code, cres->line);
	assert_int_equal(cres->bad_rings, 0);
	assert_true(cres->rings > 0);
	assert_int_equal(cres->drop_malformed, 0);
	assert_int_equal(cres->drop_unmatched, 0);
	if (lay == VMSG_IVSHMEM_LAYOUT_V1)
		assert_int_equal(cres->resets, 1);
	if (bar0_mmap)
		assert_true(cres->polled_waits > 0);
	else
		assert_int_equal(cres->polled_waits, 0);
	assert_int_equal(f->disables, 1);
	assert_released(f);
	close(dev_bell);
	dev_bell = -1;
	assert_int_equal(count_fds(), fds);
}

static void test_bus_v1_pwrite(void **state)
{
	(void)state;
	vfio_bus(VMSG_IVSHMEM_LAYOUT_V1, false);
}

static void test_bus_v1_mmap(void **state)
{
	(void)state;
	vfio_bus(VMSG_IVSHMEM_LAYOUT_V1, true);
}

static void test_bus_v0_pwrite(void **state)
{
	(void)state;
	vfio_bus(VMSG_IVSHMEM_LAYOUT_V0, false);
}

/* ---------------------------------------------------------------------- */
/* AMP-PCI (10ee:9039)                                                    */
/* ---------------------------------------------------------------------- */

/*
 * The device model, as QEMU's device behaves (shm-and-ports.md 4.2, and
 * what its sources do): FIFO q's SPSC-v0 queues at BAR1 + q x 16 KiB +
 * 0x1000 / + 0x2000; it copies only 48 bytes of each message in each
 * direction (or a whole slot, for the "copies more" cases); it never resets
 * its indices but picks up whatever is in BAR1 (the library's v0 channel,
 * device side, opened with INIT_RESUME); le32 indices, as the proposal
 * says; it drains the driver's queue synchronously inside the NOTIFY write
 * and raises MSI-X vector q after each message it sends.
 */
struct amp_model {
	struct fake *f;
	uint32_t fifo;
	struct vmsg_shm_chan ch;
	struct vmsg_shm_bus sb;
	struct vmsg_bus bus;
	struct vmsg_bus_req reqs[4];
	struct vmsg_bus_dev devs[16];
	uint8_t rx[64], tx[64];
	uint64_t notifies, bad_notifies, raised, polls;
	int poll_err;
};

static struct amp_model *amp;

/* FIFO q's window in the fake's BAR1. */
static uint8_t *amp_win(struct fake *f, uint32_t fifo)
{
	return f->bar1 + (size_t)fifo * VMSG_AMP_PCI_FIFO_SIZE;
}

static int amp_kick(void *ctx)
{
	struct amp_model *m = ctx;
	uint64_t one = 1;

	if (m->fifo >= m->f->nirq)
		return VMSG_EIO;
	m->raised++;
	return write(m->f->irq_fd[m->fifo], &one, sizeof one) == sizeof one ? 0 : VMSG_EIO;
}

static int amp_wait(void *ctx, int64_t timeout_ns)
{
	(void)ctx;
	(void)timeout_ns;
	return VMSG_ETIMEDOUT; /* never waits: driven by NOTIFY */
}

static int amp_now(void *ctx, uint64_t *ns)
{
	(void)ctx;
	*ns = now_ns();
	return 0;
}

static void amp_notify(struct fake *f, uint64_t off, uint32_t val)
{
	struct amp_model *m = f->ctx;
	int r;

	m->notifies++;
	if (off != VMSG_AMP_PCI_REG_NOTIFY + 4u * m->fifo || val != 1) {
		m->bad_notifies++;
		return;
	}
	/* QEMU's MMIO handler processes the FIFO synchronously. */
	do {
		r = vmsg_bus_poll(&m->bus);
		m->polls++;
	} while (r > 0);
	if (r < 0)
		m->poll_err = r;
}

/* The wire profile a bus with this maximum takes: below 52 only the 2025
 * one (the protocol of the QEMU that copies 48 bytes). */
static enum vmsg_profile amp_profile(uint32_t max)
{
	return max < VMSG_MAX_MSG_SIZE_MIN ? VMSG_PROFILE_2025 : VMSG_PROFILE_2026;
}

/* A 2025-profile bus in a build without it: vmsg_bus_init() refuses, skip. */
static void amp_need_profile(uint32_t max)
{
#if VMSG_CONFIG_NO_PROFILE_2025
	if (amp_profile(max) == VMSG_PROFILE_2025)
		skip();
#else
	(void)max;
#endif
}

static void amp_model_open(struct fake *f, uint32_t fifo, uint32_t max, const uint16_t *nums,
			   unsigned n)
{
	struct vmsg_shm_v0_params v0 = { VMSG_AMP_PCI_DRV_QUEUE, VMSG_AMP_PCI_DEV_QUEUE,
					 VMSG_AMP_PCI_QUEUE_SIZE, true, false };
	struct vmsg_shm_cfg cc = { 0 };
	struct vmsg_shm_bus_hooks hooks = { 0 };
	struct vmsg_bus_cfg bc = { 0 };
	struct amp_model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	amp = m;
	m->f = f;
	m->fifo = fifo;
	f->ctx = m;
	f->on_doorbell = amp_notify;
	cc.side = VMSG_SHM_DEVICE;
	cc.mem = VMSG_SPSC_MEM_DEVICE;
	assert_int_equal(vmsg_shm_chan_open_v0(&m->ch, amp_win(f, fifo), VMSG_AMP_PCI_FIFO_SIZE,
					       &cc, &v0, VMSG_SPSC_INIT_RESUME),
			 0);
	hooks.kick = amp_kick;
	hooks.wait = amp_wait;
	hooks.now = amp_now;
	hooks.ctx = m;
	hooks.max_msg_size = max; /* what it copies */
	assert_int_equal(vmsg_shm_bus_init(&m->sb, &m->ch, &hooks, 0), 0);
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = &m->sb;
	bc.role = VMSG_BUS_DEVICE;
	bc.profile = amp_profile(max);
	bc.reqs = m->reqs;
	bc.num_reqs = 4;
	bc.devs = m->devs;
	bc.num_devs = 16;
	bc.rx_buf = m->rx;
	bc.rx_cap = sizeof m->rx;
	bc.tx_buf = m->tx;
	bc.tx_cap = sizeof m->tx;
	assert_int_equal(vmsg_bus_init(&m->bus, &bc), 0);
	assert_int_equal(vmsg_bus_get_params(&m->bus)->max_msg_size, max);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(vmsg_bus_add_device(&m->bus, nums[i], noop_handler, NULL, false),
				 0);
}

static int teardown_amp(void **state)
{
	free(amp);
	amp = NULL;
	return teardown(state);
}

static struct vmsg_amp_pci amp_port;
static struct vmsg_bus amp_bus;
static struct vmsg_bus_req amp_reqs[DEPTH + 2];
static struct vmsg_bus_dev amp_devs[16];
static uint8_t amp_rx[64], amp_tx[64];

/* The driver's bus on the opened port, with the profile its maximum takes. */
static void amp_bus_init(uint32_t max)
{
	struct vmsg_bus_cfg bc = { 0 };

	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_amp_pci_bus(&amp_port);
	bc.role = VMSG_BUS_DRIVER;
	bc.profile = amp_profile(max);
	bc.reqs = amp_reqs;
	bc.num_reqs = DEPTH + 2;
	bc.devs = amp_devs;
	bc.num_devs = 16;
	bc.rx_buf = amp_rx;
	bc.rx_cap = sizeof amp_rx;
	bc.tx_buf = amp_tx;
	bc.tx_cap = sizeof amp_tx;
	assert_int_equal(vmsg_bus_init(&amp_bus, &bc), 0);
	assert_int_equal(vmsg_bus_get_params(&amp_bus)->max_msg_size, max);
}

/* Spread over the device-number space: several GET_DEVICES windows. */
static const uint16_t amp_nums[] = { 1, 2, 200, 513, 1024, 4000, 40000, 65535 };
#define AMP_NDEV (sizeof amp_nums / sizeof amp_nums[0])

/* Every byte of [p, p + n) is zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Discovery and PINGs through the model on FIFO @fifo, with the bus
 * maximum @max (the driver's cfg asks for it unless it is the default). */
static void amp_case(uint32_t fifo, uint32_t max)
{
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_amp_pci_cfg c = { 0 };
	int fds = count_fds();

	amp_need_profile(max);
	fake_reset(f);
	amp_model_open(f, fifo, max, amp_nums, AMP_NDEV);
	c.bdf = BDF;
	c.fifo = fifo;
	c.max_msg_size = max == VMSG_AMP_PCI_MAX_MSG_SIZE ? 0 : max;
	c.sys = &sys;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), 0);
	assert_int_equal(amp_port.dev.irq, VMSG_VFIO_IRQ_MSIX);
	assert_int_equal(amp_port.dev.nirq, fifo + 1);
	assert_null(amp_port.dev.bar[0].map); /* this fake's BAR0 is not mmap-able */
	assert_ptr_equal(amp_port.dev.bar[1].map, f->bar1);
	assert_int_equal(f->config[4] & 0x6, 0x6);
	assert_true(vmsg_amp_pci_fd(&amp_port) >= 0);
	amp_bus_init(max);

	drive(&amp_bus, AMP_NDEV, amp_nums, 500);
	assert_int_equal(amp->bad_notifies, 0);
	assert_true(amp->notifies > 0);
	assert_int_equal(amp->poll_err, 0);
	assert_int_equal(amp->bus.stats.drop_malformed, 0);
	for (unsigned i = 0; i < f->ndoorbells && i < 4096; i++) {
		assert_int_equal(f->doorbell_off[i], VMSG_AMP_PCI_REG_NOTIFY + 4u * fifo);
		assert_int_equal(f->doorbells[i], 1);
	}
	/* All of it in our FIFO's window: the other windows never written. */
	for (uint32_t q = 0; q < f->bar1_size / VMSG_AMP_PCI_FIFO_SIZE; q++)
		if (q != fifo)
			assert_true(all_zero(amp_win(f, q), VMSG_AMP_PCI_FIFO_SIZE));
	assert_false(all_zero(amp_win(f, fifo) + VMSG_AMP_PCI_DRV_QUEUE, VMSG_AMP_PCI_QUEUE_SIZE));
	/* The model answered inside the NOTIFY write, so the driver mostly
	 * found the answers before it slept. Every interrupt it raised went
	 * to vector q and none to the others: the port took some (its idle
	 * work drains them without blocking), the rest are still pending. */
	assert_true(amp->raised > 0);
	for (unsigned v = 0; v <= fifo; v++) {
		uint64_t cnt = 0;
		ssize_t r = read(f->irq_fd[v], &cnt, sizeof cnt);

		if (v == fifo) {
			if (r != (ssize_t)sizeof cnt)
				cnt = 0; /* all taken */
			assert_int_equal(amp_port.dev.interrupts + cnt, amp->raised);
		} else {
			assert_int_equal(r, -1); /* EAGAIN: nothing on other vectors */
		}
	}
	/* And a raised vector q wakes the driver's wait. */
	{
		uint64_t before = amp_port.dev.interrupts;

		raise_irq(f, fifo);
		assert_int_equal(amp_port.sb.hooks.wait(amp_port.sb.hooks.ctx, 10 * SEC), 0);
		assert_int_equal(amp_port.dev.interrupts, before + 1);
	}
	/* The service hook takes one that is there without blocking, and
	 * returns at once when none is. */
	raise_irq(f, fifo);
	{
		uint64_t before = amp_port.dev.interrupts;

		assert_int_equal(amp_port.sb.hooks.service(amp_port.sb.hooks.ctx), 0);
		assert_int_equal(amp_port.dev.interrupts, before + 1);
		assert_int_equal(amp_port.sb.hooks.service(amp_port.sb.hooks.ctx), 0);
		assert_int_equal(amp_port.dev.interrupts, before + 1);
	}
	(void)vmsg_bus_close(&amp_bus);
	assert_int_equal(f->disables, 1);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

static void test_amp_pci_fifo0(void **state)
{
	(void)state;
	amp_case(0, VMSG_AMP_PCI_MAX_MSG_SIZE);
}

/* FIFO 1 at its own offset, BAR1 + 16 KiB (FIFO 0's window stays zero). */
static void test_amp_pci_fifo1(void **state)
{
	(void)state;
	amp_case(1, VMSG_AMP_PCI_MAX_MSG_SIZE);
}

/* A device known to copy whole slots: cfg.max_msg_size 64, 2026 profile. */
static void test_amp_pci_whole_slots(void **state)
{
	(void)state;
	amp_case(0, VMSG_V0_SLOT_SIZE);
	teardown_amp(NULL);
	amp_case(1, 52);
}

/* The maximum for tests about something else: the device's 48, or where
 * the 2025 profile is compiled out, a device that copies whole slots. */
#define AMP_ANY_MAX (VMSG_CONFIG_NO_PROFILE_2025 ? VMSG_V0_SLOT_SIZE : VMSG_AMP_PCI_MAX_MSG_SIZE)

/* Open FIFO @fifo (maximum AMP_ANY_MAX, the default when it is that) on a
 * fake the test prepared. */
static void amp_open_ok(struct vmsg_vfio_sys *sys, uint32_t fifo, enum vmsg_amp_pci_start start)
{
	struct vmsg_amp_pci_cfg c = { 0 };

	c.bdf = BDF;
	c.fifo = fifo;
	c.start = start;
	c.max_msg_size = AMP_ANY_MAX == VMSG_AMP_PCI_MAX_MSG_SIZE ? 0 : AMP_ANY_MAX;
	c.sys = sys;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), 0);
}

/*
 * Truncation cannot happen: the device copies 48 bytes, and a message
 * longer than that which reached the ring would arrive cut (the model drops
 * it as malformed, as QEMU's device would misread it). The bus advertises
 * 48 and refuses a longer send before the ring: no slot written, no NOTIFY.
 */
static void test_amp_pci_max_msg_size(void **state)
{
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_bus_params bp = { 0 };
	struct vmsg_shm_bus *sb;
	uint8_t *drv_q;
	uint8_t big[64], before[VMSG_AMP_PCI_FIFO_SIZE];
	unsigned bells;

	(void)state;
	amp_need_profile(VMSG_AMP_PCI_MAX_MSG_SIZE);
	fake_reset(f);
	amp_model_open(f, 0, VMSG_AMP_PCI_MAX_MSG_SIZE, amp_nums, 1);
	amp_open_ok(&sys, 0, VMSG_AMP_PCI_START_RESYNC);
	sb = vmsg_amp_pci_bus(&amp_port);
	assert_int_equal(vmsg_shm_bus_ops.params(sb, &bp), 0);
	assert_int_equal(bp.max_msg_size, VMSG_AMP_PCI_MAX_MSG_SIZE);
	drv_q = amp_win(f, 0) + VMSG_AMP_PCI_DRV_QUEUE;

	/* A 56-byte PING (msg_size 56), 49 bytes, a whole slot: refused. */
	memset(big, 0x77, sizeof big);
	memcpy(big, ping12, 8);
	vmsg_put_le16(big + 6, 56);
	memcpy(before, amp_win(f, 0), sizeof before);
	bells = f->ndoorbells;
	assert_int_equal(vmsg_shm_bus_ops.send(sb, big, 56), VMSG_EMSGSIZE);
	assert_int_equal(vmsg_shm_bus_ops.send(sb, big, 49), VMSG_EMSGSIZE);
	assert_int_equal(vmsg_shm_bus_ops.send(sb, big, 64), VMSG_EMSGSIZE);
	assert_memory_equal(amp_win(f, 0), before, sizeof before);
	assert_int_equal(f->ndoorbells, bells);
	assert_int_equal(amp->notifies, 0);
	/* 48 goes through, whole (a PING with 36 trailing bytes). */
	vmsg_put_le16(big + 6, 48);
	assert_int_equal(vmsg_shm_bus_ops.send(sb, big, 48), 0);
	assert_int_equal(amp->notifies, 1);
	assert_int_equal(amp->bus.stats.drop_malformed, 0);
	assert_int_equal(amp->bus.stats.received, 1);
	/* Why: the same 56-byte PING put in the ring past the bus arrives
	 * cut to 48 bytes, and is lost. */
	vmsg_put_le16(big + 6, 56);
	assert_int_equal(vmsg_shm_chan_send(&amp_port.ch, big, 56), 0);
	assert_int_equal(amp_port.sb.hooks.kick(amp_port.sb.hooks.ctx), 0);
	assert_int_equal(amp->bus.stats.received, 2);
	assert_int_equal(amp->bus.stats.drop_malformed, 1);
	/* le32 indices (the proposal's byte order, on any host): two
	 * messages in; the device gave back the first when it answered it. */
	assert_int_equal(vmsg_get_le32(drv_q + VMSG_V0_OFF_HEAD), 2);
	assert_int_equal(vmsg_get_le32(drv_q + VMSG_V0_OFF_TAIL), 1);
	assert_int_equal(
		vmsg_get_le32(amp_win(f, 0) + VMSG_AMP_PCI_DEV_QUEUE + VMSG_V0_OFF_HEAD), 1);
	(void)vmsg_amp_pci_close(&amp_port);
	assert_released(f);
}

/* A message with a recognisable token, as a stale slot of an earlier life:
 * a PING response the driver never asked for. */
static void stale_slot(uint8_t *slot, uint16_t token)
{
	memset(slot, 0, 64);
	slot[0] = 0x03; /* bus response */
	slot[1] = VMSG_BUS_ID_PING;
	vmsg_put_le16(slot + 4, token);
	vmsg_put_le16(slot + 6, 12);
	vmsg_put_le32(slot + 8, 0xDEADBEEFu);
}

/* The image a guest reboot (or our restart) leaves in FIFO @fifo's
 * window: the device took everything we sent (tail = head = 30), it sent
 * 25 messages of which we took 10; slots hold the earlier life's bytes. */
static void amp_stale_image(struct fake *f, uint32_t fifo)
{
	uint8_t *w = amp_win(f, fifo);
	uint8_t *dq = w + VMSG_AMP_PCI_DRV_QUEUE, *uq = w + VMSG_AMP_PCI_DEV_QUEUE;

	for (uint32_t i = 0; i < 62; i++) {
		stale_slot(dq + VMSG_V0_OFF_SLOTS + 64u * i, (uint16_t)(0x100 + i));
		dq[VMSG_V0_OFF_SLOTS + 64u * i] = 0x02; /* a PING request */
		stale_slot(uq + VMSG_V0_OFF_SLOTS + 64u * i, (uint16_t)(0x200 + i));
	}
	vmsg_put_le32(dq + VMSG_V0_OFF_HEAD, 30);
	vmsg_put_le32(dq + VMSG_V0_OFF_TAIL, 30);
	vmsg_put_le32(uq + VMSG_V0_OFF_HEAD, 25);
	vmsg_put_le32(uq + VMSG_V0_OFF_TAIL, 10);
}

/*
 * The device keeps its indices across our restart. The default start
 * (resync) takes them: no stale slot reaches either side, only our two
 * words change, and the whole exchange then runs clean.
 */
static void test_amp_pci_resync_start(void **state)
{
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	uint8_t *w, before[VMSG_AMP_PCI_FIFO_SIZE];
	uint8_t out[64];

	(void)state;
	fake_reset(f);
	amp_stale_image(f, 1);
	w = amp_win(f, 1);
	memcpy(before, w, sizeof before);
	amp_model_open(f, 1, AMP_ANY_MAX, amp_nums, AMP_NDEV);
	amp_open_ok(&sys, 1, VMSG_AMP_PCI_START_RESYNC);
	/* Our head := the device's tail (30, unchanged); our tail := the
	 * device's head (25). Nothing else written. */
	vmsg_put_le32(before + VMSG_AMP_PCI_DEV_QUEUE + VMSG_V0_OFF_TAIL, 25);
	assert_memory_equal(w, before, sizeof before);
	assert_int_equal(vmsg_shm_chan_recv(&amp_port.ch, out, sizeof out), VMSG_EAGAIN);
	amp_bus_init(AMP_ANY_MAX);
	drive(&amp_bus, AMP_NDEV, amp_nums, 200); /* no unmatched, no malformed */
	assert_int_equal(amp->poll_err, 0);
	assert_int_equal(amp->bus.stats.drop_malformed, 0);
	assert_int_equal(amp->bus.stats.drop_unmatched, 0);
	(void)vmsg_bus_close(&amp_bus);
	assert_released(f);
}

/* The other starts on the same image: reset hands the stale slots on
 * (the reason it is not the default), resume keeps all four indices; an
 * index out of range from the device fails the open. */
static void test_amp_pci_reset_and_resume_starts(void **state)
{
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_amp_pci_cfg c = { 0 };
	uint8_t *uq = amp_win(f, 0) + VMSG_AMP_PCI_DEV_QUEUE;
	uint8_t out[64];

	(void)state;
	fake_reset(f);
	amp_stale_image(f, 0);
	amp_open_ok(&sys, 0, VMSG_AMP_PCI_START_RESET);
	/* we take slot 0 of the earlier life: stale */
	assert_int_equal(vmsg_shm_chan_recv(&amp_port.ch, out, sizeof out), 64);
	assert_int_equal(vmsg_get_le16(out + 4), 0x200);
	(void)vmsg_amp_pci_close(&amp_port);
	assert_released(f);

	amp_stale_image(f, 0);
	amp_open_ok(&sys, 0, VMSG_AMP_PCI_START_RESUME);
	assert_int_equal(vmsg_shm_chan_recv(&amp_port.ch, out, sizeof out), 64);
	assert_int_equal(vmsg_get_le16(out + 4), 0x200 + 10);
	(void)vmsg_amp_pci_close(&amp_port);
	assert_released(f);

	/* Hostile words: the device's tail or head out of range. */
	c.bdf = BDF;
	c.sys = &sys;
	amp_stale_image(f, 0);
	vmsg_put_le32(amp_win(f, 0) + VMSG_AMP_PCI_DRV_QUEUE + VMSG_V0_OFF_TAIL, 62);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EPROTO);
	assert_released(f);
	amp_stale_image(f, 0);
	vmsg_put_le32(uq + VMSG_V0_OFF_HEAD, 0xFFFFFFFFu);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EPROTO);
	assert_released(f);
	/* An unknown start mode. */
	c.start = (enum vmsg_amp_pci_start)3;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EINVAL);
}

/* The vmamp v1 header the newer QEMU writes at the window's 0x1000
 * (shm-and-ports.md 4.3): an 8 KiB layout, 63 elements of 64 bytes, queue
 * heads at 0x40 / 0x48, elements at 0x50 / 0x1010, no notification area. */
static void qemu_vmamp_header(uint8_t *h)
{
	memset(h, 0, VMSG_V1_HDR_SIZE);
	vmsg_put_le16(h + VMSG_V1_OFF_LENGTH, VMSG_V1_HDR_SIZE);
	vmsg_put_le16(h + VMSG_V1_OFF_VERSION, VMSG_V1_VERSION);
	vmsg_put_le16(h + VMSG_V1_OFF_NUM_ELEMS, 63);
	vmsg_put_le16(h + VMSG_V1_OFF_ELEM_SIZE, 64);
	vmsg_put_le64(h + VMSG_V1_OFF_DEV_QH, 0x40);
	vmsg_put_le64(h + VMSG_V1_OFF_DEV_ELEMS, 0x50);
	vmsg_put_le64(h + VMSG_V1_OFF_DRV_QH, 0x48);
	vmsg_put_le64(h + VMSG_V1_OFF_DRV_ELEMS, 0x1010);
	vmsg_put_le16(h + VMSG_V1_OFF_MAGIC, VMSG_V1_MAGIC);
}

/*
 * The vmamp-v1 variant (same ids, same VERSION): a vmamp v1 layout at the
 * window's 0x1000. Refused with VMSG_EPROTO before anything is written to
 * BAR1.
 */
static void test_amp_pci_vmamp_refused(void **state)
{
	struct vmsg_shm_v1_info info;
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_amp_pci_cfg c = { 0 };
	uint8_t *before = malloc(f->bar1_size);
	int fds = count_fds();

	(void)state;
	assert_non_null(before);
	fake_reset(f);
	c.bdf = BDF;
	c.sys = &sys;
	for (uint32_t fifo = 0; fifo < 2; fifo++) {
		uint8_t *v1 = amp_win(f, fifo) + VMSG_AMP_PCI_DRV_QUEUE;

		memset(f->bar1, 0, f->bar1_size);
		qemu_vmamp_header(v1);
		assert_int_equal(vmsg_shm_v1_validate(v1, 8192, VMSG_SPSC_MEM_DEVICE, &info), 0);
		memcpy(before, f->bar1, f->bar1_size);
		c.fifo = fifo;
		assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EPROTO);
		assert_memory_equal(f->bar1, before, f->bar1_size);
		assert_released(f);
	}
	/* Only the FIFO whose window has it is refused. */
	c.fifo = 0;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), 0);
	(void)vmsg_amp_pci_close(&amp_port);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
	free(before);
}

static void test_amp_pci_errors(void **state)
{
	struct fake *f = fake_new(AMP_PCI);
	struct vmsg_vfio_sys sys = fake_sys(f);
	struct vmsg_amp_pci_cfg c = { 0 };
	uint32_t bar1 = f->bar1_size;
	int fds = count_fds();

	(void)state;
	c.bdf = BDF;
	c.sys = &sys;
	f->version = 2;
	fake_reset(f);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENOTSUP);
	assert_released(f);
	f->version = 1;
	/* 10ee:9038: another layout (8 KiB per FIFO), not this device */
	f->device = 0x9038;
	fake_reset(f);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENODEV);
	assert_released(f);
	f->device = 0x9039;
	f->bar1_size = 0x2000; /* smaller than one FIFO's window */
	fake_reset(f);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENOTSUP);
	f->bar1_size = VMSG_AMP_PCI_FIFO_SIZE; /* one FIFO: FIFO 1 has no window */
	c.fifo = 1;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENOTSUP);
	assert_released(f);
	c.fifo = 0;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), 0);
	(void)vmsg_amp_pci_close(&amp_port);
	f->bar1_size = bar1;
	f->msix = 0; /* no MSI-X: nothing would ever wake the driver */
	fake_reset(f);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENOTSUP);
	f->msix = 1;
	c.fifo = 1; /* its vector does not exist */
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_ENOTSUP);
	assert_released(f);
	/* A maximum outside 48..64. */
	c.fifo = 0;
	c.max_msg_size = 47;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EINVAL);
	c.max_msg_size = 65;
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), VMSG_EINVAL);
	c.max_msg_size = 0;
	/* BAR0 mmap-able: NOTIFY lands in the mapping. */
	f->bar0_mmap = true;
	fake_reset(f);
	assert_int_equal(vmsg_amp_pci_open(&amp_port, &c), 0);
	assert_non_null(amp_port.dev.bar[0].map);
	assert_int_equal(vmsg_shm_bus_ops.send(vmsg_amp_pci_bus(&amp_port), ping12, sizeof ping12),
			 0);
	assert_int_equal(vmsg_get_le32(f->bar0 + VMSG_AMP_PCI_REG_NOTIFY), 1);
	assert_memory_equal(f->bar1 + VMSG_AMP_PCI_DRV_QUEUE + VMSG_V0_OFF_SLOTS, ping12,
			    sizeof ping12);
	assert_int_equal(vmsg_get_le32(f->bar1 + VMSG_AMP_PCI_DRV_QUEUE + VMSG_V0_OFF_HEAD), 1);
	(void)vmsg_amp_pci_close(&amp_port);
	assert_released(f);
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_open_paths, teardown),
		cmocka_unit_test(test_linux_sys_offsets),
		cmocka_unit_test_teardown(test_registers_and_config, teardown),
		cmocka_unit_test_teardown(test_doorbell_mmap, teardown),
		cmocka_unit_test_teardown(test_doorbell_pwrite, teardown),
		cmocka_unit_test_teardown(test_msix, teardown),
		cmocka_unit_test_teardown(test_intx, teardown),
		cmocka_unit_test_teardown(test_no_irq_polls, teardown),
		cmocka_unit_test_teardown(test_port_errors, teardown),
		cmocka_unit_test_teardown(test_bus_v1_pwrite, teardown_child),
		cmocka_unit_test_teardown(test_bus_v1_mmap, teardown_child),
		cmocka_unit_test_teardown(test_bus_v0_pwrite, teardown_child),
		cmocka_unit_test_teardown(test_amp_pci_fifo0, teardown_amp),
		cmocka_unit_test_teardown(test_amp_pci_fifo1, teardown_amp),
		cmocka_unit_test_teardown(test_amp_pci_whole_slots, teardown_amp),
		cmocka_unit_test_teardown(test_amp_pci_max_msg_size, teardown_amp),
		cmocka_unit_test_teardown(test_amp_pci_resync_start, teardown_amp),
		cmocka_unit_test_teardown(test_amp_pci_reset_and_resume_starts, teardown),
		cmocka_unit_test_teardown(test_amp_pci_vmamp_refused, teardown),
		cmocka_unit_test_teardown(test_amp_pci_errors, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
