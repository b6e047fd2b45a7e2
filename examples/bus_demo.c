/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two processes, one virtio-msg bus over the posix-shm port. The parent is
 * the device side: it offers three devices and answers GET_DEVICE_INFO. The
 * child is the driver side: it discovers the devices (GET_DEVICES), asks
 * each one who it is (the answers are printed by the codec's formatter),
 * and measures PING round trips.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <virtio_msg/port_posix_shm.h>
#include <virtio_msg/virtio_msg.h>

#define MAX_MSG 264
#define SECOND 1000000000ull

struct side {
	struct vmsg_posix_shm port;
	struct vmsg_bus bus;
	uint8_t rx[MAX_MSG], tx[MAX_MSG];
	struct vmsg_bus_req reqs[8];
	struct vmsg_bus_dev devs[16];
};

static const struct {
	uint16_t dev_num;
	uint32_t device_id;
	const char *what;
} offered[] = { { 1, 4, "entropy" }, { 2, 2, "block" }, { 7, 3, "console" } };

static void print_msg(const char *who, const struct vmsg_msg *m)
{
	char line[256];

	(void)vmsg_proto_format(m, line, sizeof(line));
	printf("  %-7s %s\n", who, line);
}

/* Device side: answer GET_DEVICE_INFO; drop what this demo does not do. */
static void device_request(void *ctx, struct vmsg_bus *bus, const struct vmsg_msg *req)
{
	const uint32_t *device_id = ctx;
	struct vmsg_msg resp = { 0 };

	if (req->msg_id != VMSG_ID_GET_DEVICE_INFO)
		return;
	resp.u.device_info.device_id = *device_id;
	resp.u.device_info.vendor_id = 0x47534D56; /* "VMSG" */
	resp.u.device_info.num_feature_blocks = 2;
	resp.u.device_info.max_virtqueues = 1;
	if (vmsg_bus_respond(bus, req, &resp) != 0)
		fprintf(stderr, "device: response lost\n");
}

static int open_side(struct side *s, const char *path, enum vmsg_shm_side side)
{
	struct vmsg_posix_shm_cfg pc = { .socket_path = path, .side = side,
					 .server = side == VMSG_SHM_DEVICE };
	struct vmsg_bus_cfg bc = { 0 };
	int err = vmsg_posix_shm_open(&s->port, &pc);

	if (err)
		return err;
	bc.ops = &vmsg_shm_bus_ops;
	bc.priv = vmsg_posix_shm_bus(&s->port);
	bc.role = side == VMSG_SHM_DEVICE ? VMSG_BUS_DEVICE : VMSG_BUS_DRIVER;
	bc.reqs = s->reqs;
	bc.num_reqs = 8;
	bc.devs = s->devs;
	bc.num_devs = 16;
	bc.rx_buf = s->rx;
	bc.rx_cap = sizeof(s->rx);
	bc.tx_buf = s->tx;
	bc.tx_cap = sizeof(s->tx);
	return vmsg_bus_init(&s->bus, &bc);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SECOND + (uint64_t)ts.tv_nsec;
}

static int run_driver(const char *path)
{
	static struct side s;
	struct vmsg_msg req, resp;
	uint8_t buf[MAX_MSG];
	uint64_t t0;
	int n, err = open_side(&s, path, VMSG_SHM_DRIVER);

	if (err) {
		fprintf(stderr, "driver: open: %s\n", vmsg_strerror(err));
		return 1;
	}
	n = vmsg_bus_discover(&s.bus, SECOND);
	printf("driver: GET_DEVICES found %d device(s)\n", n);
	if (n != 3)
		return 1;
	for (unsigned i = 0; i < 3; i++) {
		memset(&req, 0, sizeof(req));
		req.msg_id = VMSG_ID_GET_DEVICE_INFO;
		req.dev_num = offered[i].dev_num;
		err = vmsg_bus_call(&s.bus, &req, &resp, buf, sizeof(buf), SECOND, 2);
		if (err) {
			fprintf(stderr, "driver: GET_DEVICE_INFO: %s\n", vmsg_strerror(err));
			return 1;
		}
		print_msg("got:", &resp);
		if (resp.u.device_info.device_id != offered[i].device_id)
			return 1;
		printf("  device %u is virtio device type %u (%s)\n", offered[i].dev_num,
		       resp.u.device_info.device_id, offered[i].what);
	}
	t0 = now_ns();
	for (uint32_t i = 0; i < 10000; i++) {
		err = vmsg_bus_ping(&s.bus, i, SECOND);
		if (err) {
			fprintf(stderr, "driver: PING: %s\n", vmsg_strerror(err));
			return 1;
		}
	}
	printf("driver: 10000 PINGs, %.1f us per round trip (sleeping mode, eventfd doorbells)\n",
	       (double)(now_ns() - t0) / 10000 / 1000);
	printf("driver: sent %llu, received %llu, timeouts %llu, dropped %llu\n",
	       (unsigned long long)s.bus.stats.sent, (unsigned long long)s.bus.stats.received,
	       (unsigned long long)s.bus.stats.timeouts,
	       (unsigned long long)(s.bus.stats.drop_malformed + s.bus.stats.drop_unmatched));
	return vmsg_bus_close(&s.bus) == 0 ? 0 : 1;
}

int main(void)
{
	static struct side s;
	uint32_t ids[3];
	char path[64];
	int status = 1, err;
	pid_t child;

	printf("virtio-msg %s: a device side and a driver side in two processes\n",
	       vmsg_version_string());
	snprintf(path, sizeof(path), "/tmp/vmsg-demo-%d.sock", (int)getpid());
	err = open_side(&s, path, VMSG_SHM_DEVICE);
	if (err) {
		fprintf(stderr, "device: open: %s\n", vmsg_strerror(err));
		return 1;
	}
	for (unsigned i = 0; i < 3; i++) {
		ids[i] = offered[i].device_id;
		if (vmsg_bus_add_device(&s.bus, offered[i].dev_num, device_request, &ids[i], false))
			return 1;
	}
	fflush(stdout);
	child = fork();
	if (child == 0) {
		int rc = run_driver(path);

		fflush(stdout); /* _exit() skips stdio; the parent's atexit work is not ours */
		_exit(rc);
	}
	/* Serve until the driver is done; the bus never sleeps by itself. */
	for (;;) {
		pid_t done;

		if (vmsg_bus_wait(&s.bus, SECOND / 10) < 0)
			break;
		done = waitpid(child, &status, WNOHANG);
		if (done == child)
			break;
	}
	printf("device: received %llu requests, answered %llu\n",
	       (unsigned long long)s.bus.stats.received, (unsigned long long)s.bus.stats.sent);
	(void)vmsg_bus_close(&s.bus);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		kill(child, SIGKILL);
		printf("demo: FAILED\n");
		return 1;
	}
	printf("demo: ok\n");
	return 0;
}
