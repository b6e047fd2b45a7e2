/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmsg_vm_node: one side of a virtio-msg bus over an ivshmem port, for the
 * real-VM scenarios (tests/vm/scenario-*.sh) and for host-only runs.
 *
 * Driver side: wait for the link, discover the devices (GET_DEVICES), send
 * PINGs with several in flight and check every echo, then close the bus.
 * Device side: offer N devices and serve until the driver side has gone
 * away --lives times (a clean close, or a kill seen by the server).
 *
 * Every check prints "RESULT <key>=<value>"; the last line is "PASS ..." or
 * "FAIL <why>", and the exit status says the same (0 = pass).
 *
 *   vmsg_vm_node --port=host --socket=S --side=device --owner --devices=32 --lives=1
 *   vmsg_vm_node --port=vfio --bdf=0000:00:01.0 --side=driver --devices=32 --pings=10000
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "virtio_msg/port_ivshmem_host_bus.h"
#include "virtio_msg/port_ivshmem_vfio.h"
#include "virtio_msg/port_uio.h"
#include "virtio_msg/virtio_msg.h"

#define SEC 1000000000ull
#define MAX_DEVS 256
#define MAX_DEPTH 32

enum port_kind {
	PORT_HOST,
	PORT_VFIO,
	PORT_UIO
};

static struct {
	enum port_kind port;
	const char *socket, *bdf;
	enum vmsg_shm_side side;
	bool owner, poll_only, expect_irq, fixed_peer;
	enum vmsg_ivshmem_layout layout;
	unsigned devices, depth, lives, progress_every;
	uint64_t pings, seconds, spin_us;
	uint32_t peer_id;
} opt = {
	.side = VMSG_SHM_DRIVER,
	.devices = 32,
	.depth = 8,
	.lives = 1,
	.seconds = 120,
	.spin_us = 20,
};

static union {
	struct vmsg_ivshmem_host host;
	struct vmsg_ivshmem_vfio vfio;
	struct vmsg_uio uio;
} port;
static struct vmsg_ivshmem *iv;
static struct vmsg_bus bus;
static struct vmsg_bus_req reqs[MAX_DEPTH + 2];
static struct vmsg_bus_dev devs[MAX_DEVS];
static uint8_t rx_buf[4096], tx_buf[4096];
static uint64_t deadline;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vmsg_vm_node --port=host|vfio|uio (--socket=PATH | --bdf=BDF)\n"
		"         --side=driver|device [--owner] [--layout=v1|v0] [--devices=N]\n"
		"         [--pings=N] [--depth=N] [--lives=N] [--seconds=N] [--expect-irq]\n"
		"         [--poll-only] [--peer-id=N] [--progress=N] [--spin-us=N]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = strchr(a, '=');

		v = v ? v + 1 : "";
		if (!strncmp(a, "--port=", 7))
			opt.port = !strcmp(v, "host") ? PORT_HOST :
				   !strcmp(v, "vfio") ? PORT_VFIO :
				   !strcmp(v, "uio")  ? PORT_UIO :
							(usage(), PORT_HOST);
		else if (!strncmp(a, "--socket=", 9))
			opt.socket = v;
		else if (!strncmp(a, "--bdf=", 6))
			opt.bdf = v;
		else if (!strncmp(a, "--side=", 7))
			opt.side = !strcmp(v, "device") ? VMSG_SHM_DEVICE : VMSG_SHM_DRIVER;
		else if (!strcmp(a, "--owner"))
			opt.owner = true;
		else if (!strcmp(a, "--poll-only"))
			opt.poll_only = true;
		else if (!strcmp(a, "--expect-irq"))
			opt.expect_irq = true;
		else if (!strncmp(a, "--layout=", 9))
			opt.layout =
				!strcmp(v, "v0") ? VMSG_IVSHMEM_LAYOUT_V0 : VMSG_IVSHMEM_LAYOUT_V1;
		else if (!strncmp(a, "--devices=", 10))
			opt.devices = (unsigned)strtoul(v, NULL, 0);
		else if (!strncmp(a, "--pings=", 8))
			opt.pings = strtoull(v, NULL, 0);
		else if (!strncmp(a, "--depth=", 8))
			opt.depth = (unsigned)strtoul(v, NULL, 0);
		else if (!strncmp(a, "--lives=", 8))
			opt.lives = (unsigned)strtoul(v, NULL, 0);
		else if (!strncmp(a, "--seconds=", 10))
			opt.seconds = strtoull(v, NULL, 0);
		else if (!strncmp(a, "--spin-us=", 10))
			opt.spin_us = strtoull(v, NULL, 0);
		else if (!strncmp(a, "--progress=", 11))
			opt.progress_every = (unsigned)strtoul(v, NULL, 0);
		else if (!strncmp(a, "--peer-id=", 10)) {
			opt.fixed_peer = true;
			opt.peer_id = (uint32_t)strtoul(v, NULL, 0);
		} else
			usage();
	}
	if (opt.devices > MAX_DEVS || !opt.depth || opt.depth > MAX_DEPTH ||
	    (opt.port == PORT_HOST ? !opt.socket : !opt.bdf))
		usage();
}

static int open_port(void)
{
	struct vmsg_ivshmem_cfg ic = { 0 };
	int err;

	ic.side = opt.side;
	ic.owner = opt.owner;
	ic.layout = opt.layout;
	ic.fixed_peer = opt.fixed_peer;
	ic.peer_id = opt.peer_id;
	ic.spin_ns = opt.spin_us * 1000u; /* 0: every wait sleeps on the interrupt */
	if (opt.layout == VMSG_IVSHMEM_LAYOUT_V0) {
		/* Both sides are this library: the awake word may be used. */
		vmsg_shm_v0_defaults(&ic.v0);
		ic.v0.kick_suppression = true;
	}
	switch (opt.port) {
	case PORT_HOST: {
		struct vmsg_ivshmem_host_cfg c = { .socket_path = opt.socket,
						   .iv = ic,
						   .connect_timeout_ms = 10000 };

		err = vmsg_ivshmem_host_open(&port.host, &c);
		iv = &port.host.iv;
		break;
	}
	case PORT_VFIO: {
		struct vmsg_ivshmem_vfio_cfg c = { .bdf = opt.bdf,
						   .iv = ic,
						   .poll_only = opt.poll_only };

		err = vmsg_ivshmem_vfio_open(&port.vfio, &c);
		iv = &port.vfio.iv;
		break;
	}
	default: {
		struct vmsg_uio_cfg c = { .bdf = opt.bdf, .iv = ic, .poll_only = opt.poll_only };

		err = vmsg_uio_open(&port.uio, &c);
		iv = &port.uio.iv;
		break;
	}
	}
	if (err)
		return err;
	say("RESULT own_id=%" PRIu32, iv->own_id);
	if (opt.port == PORT_VFIO)
		say("RESULT vfio_irq=%s vectors=%u bar0=%s noiommu=%d",
		    port.vfio.dev.irq == VMSG_VFIO_IRQ_MSIX ? "msix" :
		    port.vfio.dev.irq == VMSG_VFIO_IRQ_INTX ? "intx" :
							      "none",
		    port.vfio.dev.nirq, port.vfio.dev.bar[0].map ? "mmap" : "pread/pwrite",
		    port.vfio.dev.noiommu);
	if (opt.port == PORT_UIO)
		say("RESULT uio_irq=%s (receive path %s)",
		    port.uio.irq == VMSG_UIO_IRQ_INTX ? "intx" : "none",
		    port.uio.irq == VMSG_UIO_IRQ_INTX ? "interrupt-driven" : "polled");
	return 0;
}

static int init_bus(void)
{
	struct vmsg_bus_cfg cfg = { 0 };

	cfg.ops = &vmsg_shm_bus_ops;
	cfg.priv = vmsg_ivshmem_bus(iv);
	cfg.role = opt.side == VMSG_SHM_DRIVER ? VMSG_BUS_DRIVER : VMSG_BUS_DEVICE;
	cfg.reqs = reqs;
	cfg.num_reqs = (uint16_t)(sizeof reqs / sizeof reqs[0]);
	cfg.devs = devs;
	cfg.num_devs = MAX_DEVS;
	cfg.rx_buf = rx_buf;
	cfg.rx_cap = sizeof rx_buf;
	cfg.tx_buf = tx_buf;
	cfg.tx_cap = sizeof tx_buf;
	return vmsg_bus_init(&bus, &cfg);
}

static void print_stats(void)
{
	const struct vmsg_bus_stats *s = &bus.stats;
	uint32_t peer = 0;
	bool known = vmsg_ivshmem_peer(iv, &peer);

	say("RESULT bus sent=%" PRIu64 " received=%" PRIu64 " timeouts=%" PRIu64 " resets=%" PRIu64
	    " drop_malformed=%" PRIu64 " drop_unmatched=%" PRIu64 " drop_unsupported=%" PRIu64,
	    s->sent, s->received, s->timeouts, s->resets, s->drop_malformed, s->drop_unmatched,
	    s->drop_unsupported);
	say("RESULT doorbells_sent=%" PRIu64 " no_peer=%" PRIu64 " peer_changes=%" PRIu64
	    " polled_waits=%" PRIu64 " peer=%s%" PRIu32,
	    iv->st.doorbells, iv->st.no_peer, iv->st.peer_changes, iv->st.polled_waits,
	    known ? "" : "none:", peer);
	if (opt.port == PORT_VFIO)
		say("RESULT interrupts=%" PRIu64 " irq_wakeups=%" PRIu64, port.vfio.dev.interrupts,
		    port.vfio.dev.wakeups);
	if (opt.port == PORT_UIO)
		say("RESULT interrupts=%" PRIu64, port.uio.interrupts);
	if (opt.port == PORT_HOST)
		say("RESULT doorbells_received=%" PRIu64 " peers_joined=%" PRIu64
		    " peers_left=%" PRIu64 " our_peer_left=%" PRIu64,
		    port.host.st.doorbells_received, port.host.st.peers_joined,
		    port.host.st.peers_left, port.host.st.our_peer_left);
}

/* ---------------------------------------------------------------------- */
/* Driver side                                                            */
/* ---------------------------------------------------------------------- */

static struct {
	uint64_t submitted, done, ok, bad;
	unsigned inflight;
	struct slot {
		bool busy;
		uint32_t data;
	} slot[MAX_DEPTH];
} P;

static void ping_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	struct slot *s = ctx;

	P.done++;
	P.inflight--;
	if (status == 0 && resp && resp->u.ping.data == s->data)
		P.ok++;
	else
		P.bad++;
	s->busy = false;
}

static int run_pings(void)
{
	uint64_t t0 = now_ns();

	while (P.done < opt.pings) {
		while (P.inflight < opt.depth && P.submitted < opt.pings) {
			struct vmsg_msg q = { 0 };
			unsigned i = 0;
			int err;

			while (P.slot[i].busy)
				i++;
			q.type = VMSG_TYPE_BUS;
			q.msg_id = VMSG_BUS_ID_PING;
			q.u.ping.data = (uint32_t)(P.submitted * 2654435761u) ^ 0x5A5A0000u;
			P.slot[i].data = q.u.ping.data;
			err = vmsg_bus_submit(&bus, &q, 10 * SEC, ping_done, &P.slot[i]);
			if (err == VMSG_EAGAIN)
				break;
			if (err)
				return fail("ping submit: %s", vmsg_strerror(err));
			P.slot[i].busy = true;
			P.inflight++;
			P.submitted++;
			if (opt.progress_every && P.submitted % opt.progress_every == 0)
				say("RESULT progress pings=%" PRIu64, P.submitted);
		}
		if (vmsg_bus_wait(&bus, SEC) < 0)
			return fail("bus wait failed");
		if (P.bad)
			return fail("ping: %" PRIu64 " bad or failed echoes", P.bad);
		if (now_ns() > deadline)
			return fail("pings: %" PRIu64 " of %" PRIu64 " done at the deadline",
				    P.done, opt.pings);
	}
	say("RESULT pings=%" PRIu64 " ok=%" PRIu64 " depth=%u us_per_ping=%.1f", P.done, P.ok,
	    opt.depth, (double)(now_ns() - t0) / 1e3 / (double)(P.done ? P.done : 1));
	return 0;
}

static int driver(void)
{
	int n;

	/* The link comes up once both sides ran the lifecycle; discovery
	 * before that says EAGAIN (not RUN yet) or times out. */
	for (;;) {
		n = vmsg_bus_discover(&bus, 2 * SEC);
		if (n >= 0 || (n != VMSG_EAGAIN && n != VMSG_ETIMEDOUT && n != VMSG_ECONNRESET))
			break;
		if (now_ns() > deadline)
			return fail("no link with the device side within %" PRIu64 " s",
				    opt.seconds);
		if (vmsg_bus_wait(&bus, SEC / 10) < 0)
			return fail("bus wait failed");
	}
	if (n < 0)
		return fail("GET_DEVICES: %s", vmsg_strerror(n));
	say("RESULT devices=%d", n);
	if ((unsigned)n != opt.devices)
		return fail("discovered %d devices, expected %u", n, opt.devices);
	for (unsigned d = 0; d < opt.devices; d++)
		if (!vmsg_bus_device_present(&bus, (uint16_t)(d * 3 + 1)))
			return fail("device %u missing", d * 3 + 1);
	if (opt.pings && run_pings())
		return 1;
	print_stats();
	if (bus.stats.timeouts || bus.stats.drop_unmatched || bus.stats.drop_malformed)
		return fail("timeouts, unmatched or malformed messages seen");
	if (opt.expect_irq && opt.port == PORT_VFIO &&
	    (port.vfio.dev.interrupts == 0 || port.vfio.dev.wakeups == 0))
		return fail("no interrupt taken: the receive path was not interrupt-driven");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Device side                                                            */
/* ---------------------------------------------------------------------- */

static uint64_t transport_requests;

static void device_request(void *ctx, struct vmsg_bus *b, const struct vmsg_msg *req)
{
	(void)ctx;
	(void)b;
	(void)req;
	transport_requests++; /* the scenarios send bus messages only */
}

static uint64_t departures(void)
{
	uint64_t n = bus.stats.resets;

	if (opt.port == PORT_HOST && port.host.st.our_peer_left > n)
		n = port.host.st.our_peer_left; /* v0 has no lifecycle to count */
	return n;
}

static int device(void)
{
	for (unsigned d = 0; d < opt.devices; d++) {
		/* Spread the numbers so discovery spans several bitmap bytes. */
		int err = vmsg_bus_add_device(&bus, (uint16_t)(d * 3 + 1), device_request, NULL,
					      false);

		if (err)
			return fail("add device: %s", vmsg_strerror(err));
	}
	say("RESULT serving devices=%u lives=%u", opt.devices, opt.lives);
	while (departures() < opt.lives) {
		if (vmsg_bus_wait(&bus, SEC / 10) < 0)
			return fail("bus wait failed");
		if (now_ns() > deadline)
			return fail("the driver side left %" PRIu64 " of %u times by the deadline",
				    departures(), opt.lives);
	}
	print_stats();
	if (bus.stats.drop_malformed || bus.stats.drop_unmatched || transport_requests)
		return fail("unexpected messages on the device side");
	return 0;
}

/* After a failed open: show the region's first bytes as this side sees them
 * (is the owner's layout there at all?). */
static void dump_region(void)
{
	char path[160];
	uint8_t *m;
	off_t len;
	int fd;

	if (!opt.bdf)
		return;
	snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/resource2", opt.bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	{
		struct stat st;

		len = fstat(fd, &st) == 0 ? st.st_size : 0;
	}
	if (len < 4096)
		len = 4096;
	m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	printf("RESULT region");
	for (unsigned i = 0; i < 0x100; i += 4)
		printf("%s%08x", i % 32 ? " " : "\n  ",
		       ((const volatile uint32_t *)(void *)m)[i / 4]);
	putchar('\n');
	{
		struct vmsg_shm_v1_info info;
		int v = vmsg_shm_v1_validate(m, (size_t)len, VMSG_SPSC_MEM_DEVICE, &info);

		say("RESULT validate=%d reason=%d elems=%u size=%u len=%lld", v, (int)info.reason,
		    info.num_elems, info.elem_size, (long long)len);
	}
	munmap(m, (size_t)len);
}

int main(int argc, char **argv)
{
	int err, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	parse(argc, argv);
	deadline = now_ns() + opt.seconds * SEC;
	err = open_port();
	if (err) {
		dump_region();
		return fail("open port: %s", vmsg_strerror(err));
	}
	err = init_bus();
	if (err)
		return fail("bus init: %s", vmsg_strerror(err));
	rc = opt.side == VMSG_SHM_DRIVER ? driver() : device();
	(void)vmsg_bus_close(&bus);
	if (!rc)
		say("PASS %s side", opt.side == VMSG_SHM_DRIVER ? "driver" : "device");
	return rc;
}
