/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmsg_vm_probe: a smoke test of the VM test harness, independent of the
 * library. Inside a guest whose ivshmem-doorbell device (1af4:1110) the
 * init script bound to vfio-pci or uio_pci_generic, it proves that
 *   - the device is there and bound (the driver is read back from sysfs),
 *   - BAR2 (the shared memory) is mapped: through VFIO (container, group,
 *     device fd, region info, mmap) or through sysfs resource2 (UIO),
 *   - IVPosition (BAR0 + 8) reads back this peer's id,
 *   - the other peers on the same server see the same bytes: each peer
 *     writes a 4 KiB block (magic, id, a pattern derived from the id) into
 *     its own page of BAR2 and checks every word of the others' blocks,
 *   - doorbells work: each peer rings every peer it has seen, and with
 *     --irq a VFIO peer must receive at least one MSI-X interrupt.
 *
 *   vmsg_vm_probe [--bdf=BDF] [--expect=N] [--irq] [--timeout=S]
 *
 * --bdf defaults to $VMSG_BDF0 (set by tests/vm/init). --expect is the
 * number of other peers to find (default 1). Output lines start with
 * "PROBE"; exit status 0 only if every check passed.
 *
 * Why the order below: a doorbell rung before the receiver enabled MSI-X is
 * lost (vm-testing.md section 5), so a peer arms its interrupt before it
 * publishes its block, and a peer rings another only after seeing its block.
 * BAR2 may be a device mapping (arm64), where unaligned or DC ZVA accesses
 * fault, so the block is written and read in aligned 32-bit volatile words,
 * never with memcpy/memset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#define IVSHMEM_IVPOSITION 0x08u
#define IVSHMEM_DOORBELL 0x0Cu
#define BLOCK_WORDS 1024u /* 4 KiB */
#define BLOCK_MAGIC 0x564d5052u /* "VMPR" */
#define PAGE 4096u

struct dev {
	char bdf[64];
	char driver[64];
	int vfio_dev;             /* VFIO: the device fd, else -1 */
	uint64_t bar0_off;        /* VFIO: BAR0 region offset in the device fd */
	volatile uint32_t *bar0;  /* UIO: the mapped BAR0, else NULL */
	volatile uint32_t *bar2;
	size_t bar2_size;
	int irq_fd;               /* VFIO with --irq: eventfd of MSI-X vector 0 */
};

static int fail(const char *what)
{
	printf("PROBE FAIL %s: %s\n", what, errno ? strerror(errno) : "error");
	fflush(stdout);
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_link_base(const char *path, char *out, size_t cap)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (strlen(base) >= cap)
		return -1;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

static uint32_t reg_read(const struct dev *d, uint32_t off)
{
	uint32_t v = 0;

	if (d->bar0)
		return d->bar0[off / 4];
	if (pread(d->vfio_dev, &v, sizeof(v), (off_t)(d->bar0_off + off)) != (ssize_t)sizeof(v))
		return UINT32_MAX;
	return v;
}

static int reg_write(const struct dev *d, uint32_t off, uint32_t v)
{
	if (d->bar0) {
		d->bar0[off / 4] = v;
		return 0;
	}
	return pwrite(d->vfio_dev, &v, sizeof(v), (off_t)(d->bar0_off + off)) == (ssize_t)sizeof(v)
		       ? 0 : -1;
}

/* UIO (or any driver that leaves sysfs resources usable): mmap resource0/2. */
static int open_sysfs(struct dev *d)
{
	char path[PATH_MAX];
	int fd;
	void *p;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2", d->bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return fail("open resource2");
	/* The BAR size is the file's st_size (lseek(SEEK_END) gives 0 on
	 * some kernels' sysfs resource files). */
	if (fstat(fd, &st) || st.st_size <= 0)
		return fail("stat resource2");
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap resource2");
	d->bar2 = p;
	d->bar2_size = (size_t)st.st_size;

	/* BAR0 is 256 bytes; sysfs maps whole pages, so ask for one page. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", d->bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return fail("open resource0");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap resource0");
	d->bar0 = p;
	return 0;
}

static int vfio_irqs(struct dev *d, int fd, uint32_t count)
{
	uint64_t buf[8]; /* struct vfio_irq_set + one int32 fd, aligned */
	struct vfio_irq_set *s = (struct vfio_irq_set *)buf;

	memset(buf, 0, sizeof(buf));
	s->argsz = (uint32_t)(sizeof(*s) + (count ? sizeof(int32_t) : 0));
	s->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		   VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = 0;
	s->count = count;
	if (count) {
		int32_t efd = fd;
		memcpy(s->data, &efd, sizeof(efd));
	}
	return ioctl(d->vfio_dev, VFIO_DEVICE_SET_IRQS, s);
}

static int open_vfio(struct dev *d, int want_irq)
{
	char path[PATH_MAX], group[32];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	int container, grp;
	uint16_t cmd;
	void *p;

	/* On arm64 the group appears only once vfio-pci is bound: read it now. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", d->bdf);
	if (read_link_base(path, group, sizeof(group)))
		return fail("iommu_group");
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		errno = 0;
		return fail("VFIO API or TYPE1v2");
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	grp = open(path, O_RDWR);
	if (grp < 0)
		return fail("open group");
	if (ioctl(grp, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = 0;
		return fail("group not viable");
	}
	if (ioctl(grp, VFIO_GROUP_SET_CONTAINER, &container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	/* No allow_unsafe_interrupts: this needs interrupt remapping. */
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return fail("VFIO_SET_IOMMU");
	d->vfio_dev = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->vfio_dev < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");

	ri.index = VFIO_PCI_BAR2_REGION_INDEX;
	if (ioctl(d->vfio_dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail("region info BAR2");
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		errno = 0;
		return fail("BAR2 not mmap-able");
	}
	p = mmap(NULL, (size_t)ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->vfio_dev,
		 (off_t)ri.offset);
	if (p == MAP_FAILED)
		return fail("mmap BAR2");
	d->bar2 = p;
	d->bar2_size = (size_t)ri.size;

	/* BAR0 through pread/pwrite: works whether or not its page is shared. */
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(d->vfio_dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail("region info BAR0");
	d->bar0_off = ri.offset;

	/* MSI-X needs bus master, and vfio-pci does not set it. */
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(d->vfio_dev, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
	    pread(d->vfio_dev, &cmd, 2, (off_t)(ri.offset + 4)) != 2)
		return fail("read PCI_COMMAND");
	cmd |= 0x4;
	if (pwrite(d->vfio_dev, &cmd, 2, (off_t)(ri.offset + 4)) != 2)
		return fail("set bus master");

	if (!want_irq)
		return 0;
	ii.index = VFIO_PCI_MSIX_IRQ_INDEX;
	if (ioctl(d->vfio_dev, VFIO_DEVICE_GET_IRQ_INFO, &ii) || ii.count < 1) {
		errno = 0;
		return fail("no MSI-X vectors");
	}
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return fail("eventfd");
	if (vfio_irqs(d, d->irq_fd, 1))
		return fail("VFIO_DEVICE_SET_IRQS MSI-X");
	return 0;
}

/* The kernel's own count, while our vector is still requested (the line
 * leaves /proc/interrupts when the device is closed). */
static void print_vfio_interrupts(void)
{
	char line[512];
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "vfio"))
			printf("PROBE interrupts %s", line);
	fclose(f);
}

static uint32_t pattern(uint32_t id, uint32_t i)
{
	return (id + 1u) * 0x9E3779B9u ^ (i * 0x01000193u);
}

static volatile uint32_t *block(const struct dev *d, uint32_t slot)
{
	return d->bar2 + (size_t)(1u + slot) * BLOCK_WORDS;
}

int main(int argc, char **argv)
{
	struct dev d = { .vfio_dev = -1, .irq_fd = -1 };
	const char *bdf = getenv("VMSG_BDF0");
	unsigned expect = 1, timeout_s = 30, seen_n = 0, irqs = 0;
	int want_irq = 0, rc = 0;
	char path[PATH_MAX];
	static uint32_t seen[256];

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--bdf=", 6))
			bdf = argv[i] + 6;
		else if (!strncmp(argv[i], "--expect=", 9))
			expect = (unsigned)strtoul(argv[i] + 9, NULL, 0);
		else if (!strncmp(argv[i], "--timeout=", 10))
			timeout_s = (unsigned)strtoul(argv[i] + 10, NULL, 0);
		else if (!strcmp(argv[i], "--irq"))
			want_irq = 1;
		else {
			fprintf(stderr, "usage: %s [--bdf=BDF] [--expect=N] [--irq] [--timeout=S]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!bdf || !*bdf) {
		errno = 0;
		fail("no device (--bdf or VMSG_BDF0)");
		return 1;
	}
	snprintf(d.bdf, sizeof(d.bdf), "%s", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", d.bdf);
	if (read_link_base(path, d.driver, sizeof(d.driver))) {
		fail("device not bound to a driver");
		return 1;
	}
	if (!strcmp(d.driver, "vfio-pci")) {
		if (open_vfio(&d, want_irq))
			return 1;
	} else if (!strcmp(d.driver, "uio_pci_generic")) {
		if (want_irq) {
			errno = 0;
			fail("--irq needs vfio-pci (stock ivshmem-doorbell gives UIO no IRQ)");
			return 1;
		}
		if (open_sysfs(&d))
			return 1;
	} else {
		errno = 0;
		fail(d.driver);
		return 1;
	}

	uint32_t id = reg_read(&d, IVSHMEM_IVPOSITION);
	uint32_t slots = (uint32_t)(d.bar2_size / PAGE) - 1u;
	if (slots > 256)
		slots = 256;
	if (id > 0xffffu || slots < 2) {
		errno = 0;
		fail("IVPosition or BAR2 size");
		return 1;
	}
	printf("PROBE dev %s driver %s ivposition %u bar2 %zu\n", d.bdf, d.driver, (unsigned)id,
	       d.bar2_size);

	/* Publish: the pattern first, the magic word last (release), so a
	 * reader that sees the magic sees the whole block. */
	volatile uint32_t *mine = block(&d, id % slots);
	for (uint32_t i = 2; i < BLOCK_WORDS; i++)
		mine[i] = pattern(id, i);
	mine[1] = id;
	__sync_synchronize(); /* full barrier (TSan builds reject fences) */
	mine[0] = BLOCK_MAGIC;

	/* Find the others, check every word of their blocks, ring each once. */
	double deadline = now_s() + timeout_s;
	while (seen_n < expect && now_s() < deadline) {
		for (uint32_t s = 0; s < slots && seen_n < expect; s++) {
			volatile uint32_t *b = block(&d, s);
			if (s == id % slots || b[0] != BLOCK_MAGIC)
				continue;
			__sync_synchronize();
			uint32_t peer = b[1], bad = 0;
			int dup = 0;
			for (unsigned k = 0; k < seen_n; k++)
				dup |= seen[k] == peer;
			if (dup)
				continue;
			for (uint32_t i = 2; i < BLOCK_WORDS; i++)
				bad += b[i] != pattern(peer, i);
			printf("PROBE peer %u %s (%u of %u words differ)\n", (unsigned)peer,
			       bad ? "BAD" : "ok", (unsigned)bad, BLOCK_WORDS - 2);
			rc |= bad != 0;
			seen[seen_n++] = peer;
			if (reg_write(&d, IVSHMEM_DOORBELL, peer << 16 | 0u))
				rc |= fail("doorbell write");
		}
		if (seen_n < expect)
			usleep(1000);
	}
	if (seen_n < expect) {
		printf("PROBE FAIL saw %u of %u peers in %u s\n", seen_n, expect, timeout_s);
		rc = 1;
	}

	if (want_irq) {
		/* A doorbell means "look", never a count: at least one is enough. */
		struct pollfd pfd = { .fd = d.irq_fd, .events = POLLIN };
		int left = (int)((deadline - now_s()) * 1000);
		uint64_t n;

		if (poll(&pfd, 1, left > 1000 ? left : 1000) == 1 &&
		    read(d.irq_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
			irqs = (unsigned)n;
		printf("PROBE irq %u\n", irqs);
		print_vfio_interrupts();
		if (!irqs) {
			printf("PROBE FAIL no MSI-X interrupt\n");
			rc = 1;
		}
		vfio_irqs(&d, -1, 0);
	}
	printf("PROBE %s\n", rc ? "FAIL" : "ok");
	return rc ? 1 : 0;
}
