/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The uio port (port_uio.h) against a fake sysfs tree in a temporary
 * directory, through the port's sysfs_root / dev_root settings:
 *
 *   <tmp>/sys/bus/pci/devices/<bdf>/{vendor,device,config,resource0,resource2}
 *   <tmp>/sys/bus/pci/devices/<bdf>/uio/uio0/     (INTx and named-map cases)
 *   <tmp>/dev/uio0                                 (a FIFO: poll() and read()
 *                                                   behave like the UIO node)
 *
 * Regular files can be mapped shared, so the port's BAR0 and BAR2 mappings
 * are the files' pages: a doorbell write is visible with pread() on
 * resource0, and config space writes (INTx re-enable) in the config file.
 * Registers and config space are little-endian, as on a real device.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64 /* readdir() of the temp tree on 32-bit hosts */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_msg/virtio_msg.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/port_ivshmem.h"
#include "virtio_msg/port_uio.h"

#include "port_test_util.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define BDF "0000:00:02.0"
#define SHM_SIZE (64u * 1024u)

static char root[256], sysroot[300], devroot[300], devdir[400];

/* Mappings of files under our temporary tree. */
static unsigned count_maps(void)
{
	char line[1024];
	unsigned n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (strstr(line, root))
			n++;
	fclose(f);
	return n;
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
	char p[1024];
	int fd;

	path_of(p, sizeof p, dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text, strlen(text));
}

static void pread_file(const char *dir, const char *name, void *buf, size_t n, off_t off)
{
	char p[1024];
	int fd;

	path_of(p, sizeof p, dir, name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

static void pwrite_file(const char *dir, const char *name, const void *buf, size_t n, off_t off)
{
	char p[1024];
	int fd;

	path_of(p, sizeof p, dir, name);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

static void mkdir_p(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(tmp, 0700);
			*p = '/';
		}
	}
	(void)mkdir(tmp, 0700);
}

#define BAR0_ADDR UINT64_C(0xfebfd000)
#define BAR1_ADDR UINT64_C(0xfebfe000)
#define BAR2_ADDR UINT64_C(0xfe000000)

static void add_map(const char *uiodir, unsigned n, uint64_t addr, uint64_t size)
{
	char m[700], buf[64];

	snprintf(m, sizeof m, "%s/maps/map%u", uiodir, n);
	mkdir_p(m);
	snprintf(buf, sizeof buf, "0x%016" PRIx64 "\n", addr);
	write_text(m, "addr", buf);
	snprintf(buf, sizeof buf, "0x%" PRIx64 "\n", size);
	write_text(m, "size", buf);
	write_text(m, "offset", "0x0\n");
}

/* sysfs "resource": one line per BAR (start end flags), 0s when absent. */
static void write_resource(size_t shm_size)
{
	char text[1024];
	size_t n = 0;
	const uint64_t start[6] = { BAR0_ADDR, BAR1_ADDR, BAR2_ADDR, 0, 0, 0 };
	const uint64_t size[6] = { 0x100, 0x1000, shm_size, 0, 0, 0 };
	const uint64_t flags[6] = { 0x40200, 0x40200, 0x14220c, 0, 0, 0 };

	for (unsigned i = 0; i < 6; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
				      start[i], start[i] ? start[i] + size[i] - 1 : 0, flags[i]);
	write_text(devdir, "resource", text);
}

struct dev_params {
	uint16_t vendor, device;
	uint8_t pin;
	uint16_t command;
	uint32_t ivposition;
	size_t shm_size;
	bool uio_node;   /* <dev>/uio/uio0 and <dev_root>/uio0 (a FIFO) */
	bool uio_maps;   /* named maps: <dev_root>/uio0 is a regular file */
};

/* Build the fake device. */
static void make_device(const struct dev_params *p)
{
	uint8_t cfg[256] = { 0 }, regs[256] = { 0 };
	char buf[64];
	uint8_t *shm = calloc(1, p->shm_size ? p->shm_size : 1);

	assert_non_null(shm);
	mkdir_p(devdir);
	mkdir_p(devroot);
	snprintf(buf, sizeof buf, "0x%04x\n", p->vendor);
	write_text(devdir, "vendor", buf);
	snprintf(buf, sizeof buf, "0x%04x\n", p->device);
	write_text(devdir, "device", buf);
	cfg[0] = (uint8_t)p->vendor;
	cfg[1] = (uint8_t)(p->vendor >> 8);
	cfg[2] = (uint8_t)p->device;
	cfg[3] = (uint8_t)(p->device >> 8);
	cfg[4] = (uint8_t)p->command;
	cfg[5] = (uint8_t)(p->command >> 8);
	cfg[0x3D] = p->pin;
	write_file(devdir, "config", cfg, sizeof cfg);
	/* With named maps, resource0 says something else: the port must read
	 * the map. */
	vmsg_put_le32(regs + VMSG_IVSHMEM_REG_IVPOSITION, p->uio_maps ? 0x0111u : p->ivposition);
	write_file(devdir, "resource0", regs, sizeof regs);
	write_file(devdir, "resource2", shm, p->shm_size);
	write_resource(p->shm_size);
	if (p->uio_node || p->uio_maps) {
		char d[512];

		path_of(d, sizeof d, devdir, "uio/uio0");
		mkdir_p(d);
		if (p->uio_maps) {
			long pg = sysconf(_SC_PAGESIZE);
			size_t total = 2u * (size_t)pg + p->shm_size;
			uint8_t *img = calloc(1, total);

			/* Maps by BAR address, as uio_pci_generic or uio_ivshmem
			 * name them: map0 the registers, map1 the MSI-X table
			 * (not the memory), map2 the memory; mmap offset N * page
			 * size selects mapN. */
			assert_non_null(img);
			vmsg_put_le32(img + VMSG_IVSHMEM_REG_IVPOSITION, p->ivposition);
			add_map(d, 0, BAR0_ADDR, (uint64_t)pg);
			add_map(d, 1, BAR1_ADDR, (uint64_t)pg);
			add_map(d, 2, BAR2_ADDR, p->shm_size);
			write_file(devroot, "uio0", img, total);
			free(img);
		} else {
			char f[512];

			path_of(f, sizeof f, devroot, "uio0");
			assert_int_equal(mkfifo(f, 0600), 0);
		}
	}
	free(shm);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/vmsg-uio-test-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(sysroot, sizeof sysroot, "%s/sys", root);
	snprintf(devroot, sizeof devroot, "%s/dev", root);
	snprintf(devdir, sizeof devdir, "%s/bus/pci/devices/%s", sysroot, BDF);
	return 0;
}

static int rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return unlink(path);
	while ((e = readdir(d))) {
		char p[1024];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		(void)rm_tree(p);
	}
	closedir(d);
	return rmdir(path);
}

static struct vmsg_uio port;

static int teardown(void **state)
{
	(void)state;
	(void)vmsg_uio_close(&port);
	return rm_tree(root);
}

static struct vmsg_uio_cfg port_cfg(void)
{
	struct vmsg_uio_cfg c = { 0 };

	c.bdf = BDF;
	c.sysfs_root = sysroot;
	c.dev_root = devroot;
	c.iv.side = VMSG_SHM_DRIVER;
	c.iv.layout = VMSG_IVSHMEM_LAYOUT_V0;
	return c;
}

static struct dev_params ivshmem_params(void)
{
	struct dev_params p = { 0 };

	p.vendor = 0x1af4;
	p.device = 0x1110;
	p.ivposition = 0x0042;
	p.shm_size = SHM_SIZE;
	return p;
}

static const uint8_t ping12[12] = { 0x02, 0x03, 0, 0, 0x05, 0, 0x0C, 0, 0xEF, 0xBE, 0xAD, 0xDE };

/* ---------------------------------------------------------------------- */

static void test_polled_resources(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();
	int fds = count_fds();
	unsigned maps;
	struct vmsg_shm_bus_hooks *h;
	uint8_t b[4];
	uint32_t peer;

	(void)state;
	p.pin = 0; /* stock ivshmem-doorbell: no INTx pin */
	make_device(&p);
	maps = count_maps();
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	assert_int_equal(port.own_id, 0x42);
	assert_int_equal(port.irq, VMSG_UIO_IRQ_NONE);
	assert_int_equal(vmsg_uio_fd(&port), -1);
	assert_int_equal(port.shm_size, SHM_SIZE);
	assert_int_equal(port.iv.cfg.mem, VMSG_SPSC_MEM_DEVICE);
	assert_true(count_maps() >= maps + 2); /* resource0 and resource2 */

	/* Our id is in the layout (resource2), little-endian VALID | id. */
	pread_file(devdir, "resource2", b, 4, 0x1000 + VMSG_V0_OFF_PEER_ID);
	assert_int_equal(vmsg_get_le32(b), VMSG_SHM_PEER_ID_VALID | 0x42u);

	/* The peer publishes id 9: a send rings (9 << 16) | 0 at 0x0C. */
	assert_false(vmsg_ivshmem_peer(&port.iv, &peer));
	vmsg_put_le32(b, VMSG_SHM_PEER_ID_VALID | 9u);
	pwrite_file(devdir, "resource2", b, 4, VMSG_V0_OFF_PEER_ID);
	assert_int_equal(vmsg_shm_bus_ops.send(vmsg_uio_bus(&port), ping12, sizeof ping12), 0);
	pread_file(devdir, "resource0", b, 4, VMSG_IVSHMEM_REG_DOORBELL);
	assert_int_equal(vmsg_get_le32(b), 0x00090000u);
	{
		uint8_t slot[12];

		pread_file(devdir, "resource2", slot, sizeof slot, VMSG_V0_OFF_SLOTS);
		assert_memory_equal(slot, ping12, sizeof ping12);
	}

	/* No interrupt: waiting polls (a slice, then the bus looks again). */
	h = &port.iv.sb.hooks;
	assert_int_equal(h->wait(h->ctx, 10 * SEC), 0);
	assert_int_equal(port.iv.st.polled_waits, 1);

	assert_int_equal(vmsg_uio_close(&port), 0);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(), maps);
	assert_int_equal(vmsg_uio_close(&port), 0); /* twice is harmless */
}

static void test_intx(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();
	int fds = count_fds();
	unsigned maps;
	struct vmsg_shm_bus_hooks *h;
	char fifo[512];
	uint8_t cmd[2];
	int wfd;

	(void)state;
	p.pin = 1;
	p.command = 0x0406; /* Interrupt Disable set, as the kernel leaves it */
	p.uio_node = true;
	make_device(&p);
	maps = count_maps();
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	assert_int_equal(port.irq, VMSG_UIO_IRQ_INTX);
	assert_true(vmsg_uio_fd(&port) >= 0);
	/* INTx enabled at open: bit 10 cleared, the rest untouched. */
	pread_file(devdir, "config", cmd, 2, 4);
	assert_int_equal(cmd[0] | cmd[1] << 8, 0x0006);

	path_of(fifo, sizeof fifo, devroot, "uio0");
	wfd = open(fifo, O_WRONLY | O_NONBLOCK);
	assert_true(wfd >= 0);
	h = &port.iv.sb.hooks;
	/* Nothing pending: a bounded wait times out. */
	assert_int_equal(h->wait(h->ctx, 1 * MS), VMSG_ETIMEDOUT);
	for (uint32_t i = 1; i <= 3; i++) {
		/* The kernel masks INTx and UIO counts the event. */
		cmd[0] = 0x06;
		cmd[1] = 0x04;
		pwrite_file(devdir, "config", cmd, 2, 4);
		assert_int_equal(write(wfd, &i, sizeof i), (ssize_t)sizeof i);
		assert_int_equal(h->wait(h->ctx, 10 * SEC), 0);
		assert_int_equal(port.interrupts, i);
		/* Re-enabled through config space. */
		pread_file(devdir, "config", cmd, 2, 4);
		assert_int_equal(cmd[0] | cmd[1] << 8, 0x0006);
	}
	assert_int_equal(port.iv.st.polled_waits, 0);
	close(wfd);
	assert_int_equal(vmsg_uio_close(&port), 0);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(), maps);

	/* poll_only ignores the pin. */
	c.poll_only = true;
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	assert_int_equal(port.irq, VMSG_UIO_IRQ_NONE);
	assert_int_equal(vmsg_uio_fd(&port), -1);
	assert_int_equal(vmsg_uio_close(&port), 0);
	assert_int_equal(count_fds(), fds);
}

/* A pin but no UIO node (nothing delivers the interrupt): polled. */
static void test_pin_without_node(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();

	(void)state;
	p.pin = 1;
	make_device(&p);
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	assert_int_equal(port.irq, VMSG_UIO_IRQ_NONE);
	assert_int_equal(vmsg_uio_fd(&port), -1);
	assert_int_equal(vmsg_uio_close(&port), 0);
}

static void test_named_maps(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();
	int fds = count_fds();
	unsigned maps;
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t b[4];

	(void)state;
	p.uio_maps = true;
	p.ivposition = 0x0777;
	make_device(&p);
	maps = count_maps();
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	assert_int_equal(port.own_id, 0x0777); /* from map0, not resource0 */
	assert_int_equal(port.shm_size, SHM_SIZE);
	/* The memory is map2 (BAR2's address), two pages into the node, not
	 * map1 (the MSI-X table): our id lands there. */
	pread_file(devroot, "uio0", b, 4, 2 * pg + 0x1000 + VMSG_V0_OFF_PEER_ID);
	assert_int_equal(vmsg_get_le32(b), VMSG_SHM_PEER_ID_VALID | 0x0777u);
	pread_file(devroot, "uio0", b, 4, pg + 0x1000 + VMSG_V0_OFF_PEER_ID);
	assert_int_equal(vmsg_get_le32(b), 0);
	vmsg_put_le32(b, VMSG_SHM_PEER_ID_VALID | 3u);
	pwrite_file(devroot, "uio0", b, 4, 2 * pg + VMSG_V0_OFF_PEER_ID);
	assert_int_equal(vmsg_shm_bus_ops.send(vmsg_uio_bus(&port), ping12, sizeof ping12), 0);
	pread_file(devroot, "uio0", b, 4, VMSG_IVSHMEM_REG_DOORBELL);
	assert_int_equal(vmsg_get_le32(b), 0x00030000u);
	assert_int_equal(vmsg_uio_close(&port), 0);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(), maps);
}

static void test_errors(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();
	int fds = count_fds();
	unsigned maps = count_maps();

	(void)state;
	/* No such device */
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_ENODEV);
	/* Wrong vendor, wrong device */
	p.vendor = 0x8086;
	make_device(&p);
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_ENODEV);
	p.vendor = 0x1af4;
	p.device = 0x1111;
	make_device(&p);
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_ENODEV);
	/* Shared memory that is not a power of two */
	p.device = 0x1110;
	p.shm_size = 3u * 16384u;
	make_device(&p);
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_ENODEV);
	/* IVPosition beyond 16 bits */
	p.shm_size = SHM_SIZE;
	p.ivposition = 0x10000;
	make_device(&p);
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_EIO);
	/* Bad arguments */
	c.bdf = NULL;
	assert_int_equal(vmsg_uio_open(&port, &c), VMSG_EINVAL);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_maps(), maps);
}

/* v1 layout over the files: the uio side owns it and publishes its id at
 * its queue head + 0x10. */
static void test_v1_owner(void **state)
{
	struct dev_params p = ivshmem_params();
	struct vmsg_uio_cfg c = port_cfg();
	uint8_t b[4];

	(void)state;
	make_device(&p);
	c.iv.layout = VMSG_IVSHMEM_LAYOUT_V1;
	c.iv.owner = true;
	c.iv.side = VMSG_SHM_DEVICE;
	assert_int_equal(vmsg_uio_open(&port, &c), 0);
	pread_file(devdir, "resource2", b, 4, (off_t)(port.iv.ch.info.dev_qh + VMSG_SIDE_OFF_PEER_ID));
	assert_int_equal(vmsg_get_le32(b), VMSG_SHM_PEER_ID_VALID | 0x42u);
	pread_file(devdir, "resource2", b, 2, 0);
	assert_int_equal(b[0] | b[1] << 8, VMSG_V1_MAGIC);
	assert_int_equal(vmsg_uio_close(&port), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_polled_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_without_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_maps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
