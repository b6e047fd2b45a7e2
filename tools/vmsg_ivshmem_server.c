/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmsg-ivshmem-server: the ivshmem server QEMU's ivshmem-doorbell device
 * connects to (-chardev socket,path=SOCK -device ivshmem-doorbell,chardev=..),
 * with the command-line options of QEMU's contrib server where they make
 * sense. Always runs in the foreground. Prints one "listening" line on
 * stdout once peers can connect, so scripts wait for that line instead of
 * sleeping.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio_msg/errors.h"
#include "virtio_msg/port_ivshmem_host.h"

#define PROG "vmsg-ivshmem-server"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [options]\n"
		"Serve shared memory and doorbells to QEMU ivshmem-doorbell devices and\n"
		"host processes (the ivshmem server protocol, version 0).\n"
		"\n"
		"  -S PATH     Unix socket to listen on (default /tmp/ivshmem_socket)\n"
		"  -l SIZE     shared memory size, a power of two; suffixes K, M, G\n"
		"              (default 4M)\n"
		"  -n VECTORS  interrupt vectors per peer, 1..%u (default 1)\n"
		"  -m NAME     use the POSIX shm object NAME (shm_open) instead of an\n"
		"              anonymous memfd; it is left in place on exit\n"
		"  -p FILE     write the process id to FILE (removed on exit)\n"
		"  -F          run in the foreground (always the case; accepted for\n"
		"              compatibility)\n"
		"  -v          log peers joining and leaving to stderr\n"
		"  -t SECONDS  exit after SECONDS (for CI)\n"
		"  -h          this help\n"
		"\n"
		"Exits cleanly on SIGINT and SIGTERM, removing the socket.\n",
		VMSG_IVSH_MAX_VECTORS);
}

/* "4194304", "4M", "1g", "64K": bytes, or false on garbage or overflow. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static void log_peer(void *ctx, uint32_t id, bool connected)
{
	(void)ctx;
	fprintf(stderr, PROG ": peer %" PRIu32 " %s\n", id,
		connected ? "connected" : "disconnected");
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static struct vmsg_ivsh_server srv; /* large: keep it off the stack */
	struct vmsg_ivsh_server_cfg cfg = { .socket_path = "/tmp/ivshmem_socket",
					    .shm_size = 4u << 20,
					    .vectors = 1 };
	const char *pidfile = 0;
	unsigned long seconds = 0, vectors;
	bool verbose = false;
	uint64_t deadline = 0;
	struct sigaction sa;
	sigset_t block, waitmask;
	int opt, err, status = 0;

	while ((opt = getopt(argc, argv, "S:l:n:m:p:Fvt:h")) != -1) {
		switch (opt) {
		case 'S':
			cfg.socket_path = optarg;
			break;
		case 'l':
			if (!parse_size(optarg, &cfg.shm_size)) {
				fprintf(stderr, PROG ": bad size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (!parse_uint(optarg, VMSG_IVSH_MAX_VECTORS, &vectors) || !vectors) {
				fprintf(stderr, PROG ": vectors must be 1..%u, not '%s'\n",
					VMSG_IVSH_MAX_VECTORS, optarg);
				return 2;
			}
			cfg.vectors = (uint32_t)vectors;
			break;
		case 'm':
			cfg.shm_name = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'F':
			break;
		case 'v':
			verbose = true;
			break;
		case 't':
			if (!parse_uint(optarg, 100000000ul, &seconds) || !seconds) {
				fprintf(stderr, PROG ": bad time '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!cfg.shm_size || (cfg.shm_size & (cfg.shm_size - 1))) {
		/* QEMU maps the memory as a PCI BAR, which must be a power of two
		 * (it aborts otherwise): refuse here with a clear message. */
		fprintf(stderr, PROG ": size %" PRIu64 " is not a power of two\n", cfg.shm_size);
		return 2;
	}
	if (verbose)
		cfg.on_peer = log_peer;

	/* SIGINT/SIGTERM are blocked except inside ppoll(), so a signal can
	 * never slip in between the flag check and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, 0);
	sigaction(SIGTERM, &sa, 0);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	err = vmsg_ivsh_server_open(&srv, &cfg);
	if (err) {
		fprintf(stderr, PROG ": cannot serve on %s: %s\n", cfg.socket_path,
			vmsg_strerror(err));
		return 1;
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", pidfile, strerror(errno));
			vmsg_ivsh_server_close(&srv);
			return 1;
		}
	}
	printf(PROG ": listening on %s (%" PRIu64 " bytes, %" PRIu32 " vectors)\n", cfg.socket_path,
	       vmsg_ivsh_server_shm_size(&srv), cfg.vectors);
	fflush(stdout);
	if (seconds)
		deadline = mono_ns() + (uint64_t)seconds * 1000000000u;

	while (!stop_signal) {
		struct pollfd pf = { vmsg_ivsh_server_fd(&srv), POLLIN, 0 };
		struct timespec ts, *tsp = 0;
		int r;

		if (deadline) {
			uint64_t now = mono_ns(), left;

			if (now >= deadline)
				break;
			left = deadline - now;
			ts.tv_sec = (time_t)(left / 1000000000u);
			ts.tv_nsec = (long)(left % 1000000000u);
			tsp = &ts;
		}
		r = ppoll(&pf, 1, tsp, &waitmask);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		if (r > 0 && vmsg_ivsh_server_service(&srv) < 0) {
			fprintf(stderr, PROG ": service failed\n");
			status = 1;
			break;
		}
	}
	if (verbose && stop_signal)
		fprintf(stderr, PROG ": signal %d, exiting\n", (int)stop_signal);
	vmsg_ivsh_server_close(&srv);
	if (pidfile)
		unlink(pidfile);
	return status;
}
