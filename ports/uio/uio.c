/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uio port (port_uio.h): sysfs files, mappings and the UIO node as an
 * ivshmem backend. Only OS resources here.
 */
#define _GNU_SOURCE
/* 64-bit off_t, ino_t and st_size on 32-bit hosts too: readdir() of the
 * sysfs tree fails with EOVERFLOW for inode numbers above 32 bits, and
 * fstat() of a resource file of 2 GiB or more without this. */
#define _FILE_OFFSET_BITS 64
#include "virtio_msg/port_uio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spsc/arch.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"

#define PCI_COMMAND 0x04u
#define PCI_COMMAND_INTX_DISABLE 0x400u
#define PCI_INTERRUPT_PIN 0x3Du

static const char *root(const char *r, const char *def)
{
	return r ? r : def;
}

/* Read a small sysfs file holding one number ("0x1af4\n", "4194304\n"). */
static int read_number(const char *path, unsigned long long *v)
{
	char buf[64], *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return VMSG_ENODEV;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return VMSG_EIO;
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 0);
	return errno || end == buf ? VMSG_EIO : 0;
}

/* Map a whole file (a PCI resource) or @p len bytes of it at @p off. */
static void *map_fd(int fd, size_t len, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(uint64_t n)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	return (size_t)((n + pg - 1) & ~(pg - 1));
}

/* The UIO node of the device: <dev>/uio/uioN. */
static int find_uio(struct vmsg_uio *p, char *name, size_t cap)
{
	char path[200];
	struct dirent *e;
	DIR *d;
	int err = VMSG_ENOENT;

	snprintf(path, sizeof path, "%s/uio", p->sysdev);
	d = opendir(path);
	if (!d)
		return VMSG_ENOENT;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "uio", 3) == 0 && strlen(e->d_name) < cap) {
			snprintf(name, cap, "%s", e->d_name);
			err = 0;
			break;
		}
	}
	closedir(d);
	return err;
}

/* Start address of BAR @p bar from the device's "resource" file (one
 * "start end flags" line per resource). */
static int bar_start(struct vmsg_uio *p, unsigned bar, unsigned long long *start)
{
	char path[200], line[128];
	unsigned long long s, e, f;
	FILE *fp;
	int err = VMSG_ENOENT;

	snprintf(path, sizeof path, "%s/resource", p->sysdev);
	fp = fopen(path, "re");
	if (!fp)
		return VMSG_ENOENT;
	for (unsigned i = 0; fgets(line, sizeof line, fp); i++) {
		if (i == bar) {
			if (sscanf(line, "%llx %llx %llx", &s, &e, &f) == 3 && s && e > s) {
				*start = s;
				err = 0;
			}
			break;
		}
	}
	fclose(fp);
	return err;
}

/* The UIO map that covers @p start: a driver's maps need not follow the
 * BAR numbers (uio_pci_generic lists only 32-bit memory BARs, so ivshmem's
 * 64-bit BAR2 is not among them and map1 is the MSI-X table), so maps are
 * matched by address, never by index. */
static int find_map(struct vmsg_uio *p, const char *uio, unsigned long long start, unsigned *index,
		    unsigned long long *size)
{
	char path[256];
	unsigned long long addr, off, sz;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	for (unsigned n = 0; n < 5; n++) {
		snprintf(path, sizeof path, "%s/uio/%s/maps/map%u/addr", p->sysdev, uio, n);
		if (read_number(path, &addr))
			break;
		snprintf(path, sizeof path, "%s/uio/%s/maps/map%u/size", p->sysdev, uio, n);
		if (read_number(path, &sz))
			break;
		snprintf(path, sizeof path, "%s/uio/%s/maps/map%u/offset", p->sysdev, uio, n);
		if (read_number(path, &off))
			off = 0;
		/* Only page-aligned starts: a map offset would need its own handling. */
		if (addr + off == start && (start % pg) == 0) {
			*index = n;
			*size = sz;
			return 0;
		}
	}
	return VMSG_ENOENT;
}

/* Registers and shared memory from the UIO node's maps (mmap offset N pages
 * selects map N). */
static int map_uio_maps(struct vmsg_uio *p, const char *uio)
{
	unsigned long long s0, s2, rsz, ssz;
	unsigned i0, i2;
	long pg = sysconf(_SC_PAGESIZE);

	if (p->uio_fd < 0 || bar_start(p, VMSG_IVSHMEM_BAR_REGS, &s0) ||
	    bar_start(p, VMSG_IVSHMEM_BAR_SHM, &s2) || find_map(p, uio, s0, &i0, &rsz) ||
	    find_map(p, uio, s2, &i2, &ssz) || rsz < VMSG_IVSHMEM_REG_DOORBELL + 4u)
		return VMSG_ENOENT;
	p->regs_len = page_round(rsz);
	p->regs = map_fd(p->uio_fd, p->regs_len, (off_t)i0 * pg);
	p->shm_len = page_round(ssz);
	p->shm_size = (size_t)ssz;
	p->shm = map_fd(p->uio_fd, p->shm_len, (off_t)i2 * pg);
	if (p->regs && p->shm)
		return 0;
	if (p->regs)
		munmap(p->regs, p->regs_len);
	if (p->shm)
		munmap(p->shm, p->shm_len);
	p->regs = p->shm = NULL;
	return VMSG_EIO;
}

/* uio_pci_generic exposes no maps: use the PCI resource files. */
static int map_resources(struct vmsg_uio *p)
{
	char path[200];
	struct stat st;
	int fd;

	snprintf(path, sizeof path, "%s/resource0", p->sysdev);
	fd = open(path, O_RDWR | O_CLOEXEC | O_SYNC);
	if (fd < 0)
		return VMSG_ENODEV;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)(VMSG_IVSHMEM_REG_DOORBELL + 4u)) {
		p->regs_len = page_round((uint64_t)st.st_size);
		p->regs = map_fd(fd, p->regs_len, 0);
	}
	close(fd);
	if (!p->regs)
		return VMSG_EIO;
	snprintf(path, sizeof path, "%s/resource2", p->sysdev);
	fd = open(path, O_RDWR | O_CLOEXEC | O_SYNC);
	if (fd < 0)
		return VMSG_ENODEV;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		p->shm_size = (size_t)st.st_size;
		p->shm_len = page_round((uint64_t)st.st_size);
		p->shm = map_fd(fd, p->shm_len, 0);
	}
	close(fd);
	return p->shm ? 0 : VMSG_EIO;
}

static int config_rw(struct vmsg_uio *p, bool wr, uint32_t off, void *buf, size_t n)
{
	ssize_t r;

	if (p->config_fd < 0)
		return VMSG_EIO;
	r = wr ? pwrite(p->config_fd, buf, n, off) : pread(p->config_fd, buf, n, off);
	return r == (ssize_t)n ? 0 : VMSG_EIO;
}

/* The kernel masked INTx (Interrupt Disable); clear it so the next one comes. */
static int intx_enable(struct vmsg_uio *p)
{
	uint8_t b[2];
	uint16_t cmd;

	if (config_rw(p, false, PCI_COMMAND, b, 2))
		return VMSG_EIO;
	cmd = (uint16_t)(b[0] | (b[1] << 8));
	if (!(cmd & PCI_COMMAND_INTX_DISABLE))
		return 0;
	cmd &= (uint16_t)~PCI_COMMAND_INTX_DISABLE;
	b[0] = (uint8_t)cmd;
	b[1] = (uint8_t)(cmd >> 8);
	return config_rw(p, true, PCI_COMMAND, b, 2);
}

static int be_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct vmsg_uio *p = ctx;

	vmsg_dev_mb(); /* the ring's writes to BAR2 land before the doorbell */
	/* Registers are little-endian (PCI), whatever the host. */
	vmsg_mmio_write32(p->regs + VMSG_IVSHMEM_REG_DOORBELL,
			  vmsg_le32_swap(vmsg_ivshmem_doorbell(peer, vector)));
	return 0;
}

static int be_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_uio *p = ctx;
	struct pollfd pfd = { .fd = p->uio_fd, .events = POLLIN };
	int ms = timeout_ns < 0			    ? -1 :
		 timeout_ns / 1000000 >= 0x7FFFFFFF ? 0x7FFFFFFF :
						      (int)((timeout_ns + 999999) / 1000000);
	uint32_t count;
	int r = poll(&pfd, 1, ms);

	if (r == 0)
		return VMSG_ETIMEDOUT;
	if (r < 0)
		return errno == EINTR ? 0 : VMSG_EIO;
	if (pfd.revents & (POLLERR | POLLHUP))
		return VMSG_EIO;
	/* The UIO count is cumulative; reading it clears the readiness. */
	if (read(p->uio_fd, &count, sizeof count) == (ssize_t)sizeof count)
		p->interrupts++;
	(void)vmsg_mmio_read32(p->regs + VMSG_IVSHMEM_REG_INTR_STATUS); /* ack the device */
	return intx_enable(p);
}

static int be_close(void *ctx)
{
	return vmsg_uio_close(ctx);
}

static int check_ids(struct vmsg_uio *p)
{
	char path[200];
	unsigned long long vendor, device;

	snprintf(path, sizeof path, "%s/vendor", p->sysdev);
	if (read_number(path, &vendor))
		return VMSG_ENODEV;
	snprintf(path, sizeof path, "%s/device", p->sysdev);
	if (read_number(path, &device))
		return VMSG_ENODEV;
	return vendor == VMSG_IVSHMEM_VENDOR && device == VMSG_IVSHMEM_DEVICE ? 0 : VMSG_ENODEV;
}

/* INTx is usable when the device has a pin and a UIO node delivers it. */
static void pick_irq(struct vmsg_uio *p)
{
	uint8_t pin = 0;

	p->irq = VMSG_UIO_IRQ_NONE;
	if (p->cfg.poll_only || p->uio_fd < 0 || config_rw(p, false, PCI_INTERRUPT_PIN, &pin, 1) ||
	    pin == 0)
		return;
	if (intx_enable(p) == 0)
		p->irq = VMSG_UIO_IRQ_INTX;
}

int vmsg_uio_open(struct vmsg_uio *p, const struct vmsg_uio_cfg *cfg)
{
	struct vmsg_ivshmem_backend be = { 0 };
	struct vmsg_ivshmem_cfg ic;
	char uio[32], path[200];
	int err;

	if (!p || !cfg || !cfg->bdf || strlen(cfg->bdf) > 32)
		return VMSG_EINVAL;
	*p = (struct vmsg_uio){ 0 };
	p->cfg = *cfg;
	p->uio_fd = p->config_fd = -1;
	p->open = true;
	snprintf(p->sysdev, sizeof p->sysdev, "%s/bus/pci/devices/%s",
		 root(cfg->sysfs_root, "/sys"), cfg->bdf);
	err = check_ids(p);
	if (err)
		goto fail;
	snprintf(path, sizeof path, "%s/config", p->sysdev);
	p->config_fd = open(path, O_RDWR | O_CLOEXEC);
	if (find_uio(p, uio, sizeof uio) == 0) {
		snprintf(path, sizeof path, "%s/%s", root(cfg->dev_root, "/dev"), uio);
		p->uio_fd = open(path, O_RDWR | O_CLOEXEC);
	}
	err = find_uio(p, uio, sizeof uio) == 0 && map_uio_maps(p, uio) == 0 ? 0 : map_resources(p);
	if (err)
		goto fail;
	if (p->shm_size & (p->shm_size - 1u)) {
		err = VMSG_ENODEV; /* ivshmem memory is always a power of two */
		goto fail;
	}
	p->own_id = vmsg_le32_swap(vmsg_mmio_read32(p->regs + VMSG_IVSHMEM_REG_IVPOSITION));
	if (p->own_id > VMSG_IVSHMEM_MAX_PEER) {
		err = VMSG_EIO;
		goto fail;
	}
	pick_irq(p);
	ic = cfg->iv;
	ic.mem = VMSG_SPSC_MEM_DEVICE;
	be.ring = be_ring;
	be.wait = p->irq == VMSG_UIO_IRQ_INTX ? be_wait : NULL;
	be.close = be_close;
	be.ctx = p;
	err = vmsg_ivshmem_open(&p->iv, p->shm, p->shm_size, p->own_id, &be, &ic);
	if (err)
		goto fail;
	return 0;
fail:
	(void)vmsg_uio_close(p);
	return err;
}

struct vmsg_shm_bus *vmsg_uio_bus(struct vmsg_uio *p)
{
	return vmsg_ivshmem_bus(&p->iv);
}

int vmsg_uio_fd(const struct vmsg_uio *p)
{
	return p->irq == VMSG_UIO_IRQ_INTX ? p->uio_fd : -1;
}

int vmsg_uio_close(struct vmsg_uio *p)
{
	if (!p)
		return VMSG_EINVAL;
	if (!p->open)
		return 0;
	if (p->regs)
		munmap(p->regs, p->regs_len);
	if (p->shm)
		munmap(p->shm, p->shm_len);
	p->regs = p->shm = NULL;
	if (p->uio_fd >= 0)
		close(p->uio_fd);
	if (p->config_fd >= 0)
		close(p->config_fd);
	p->uio_fd = p->config_fd = -1;
	p->open = false;
	return 0;
}
