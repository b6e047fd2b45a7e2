/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the port tests. Include after <cmocka.h> and the
 * virtio_msg headers. Define DEPTH (PINGs in flight) before including to
 * get the PING tracker.
 */
#ifndef VMSG_TESTS_PORT_TEST_UTIL_H
#define VMSG_TESTS_PORT_TEST_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

/* Open file descriptors of this process (leak checks: compare before/after). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#ifdef DEPTH
/* PINGs in flight: slot i is busy with data[i]; the completion is checked
 * against it (the echo must be exact). */
static struct {
	uint64_t done, ok, bad;
	unsigned inflight;
	bool busy[DEPTH];
	uint32_t data[DEPTH];
} P;

static inline void ping_done(void *ctx, int status, const struct vmsg_msg *resp)
{
	unsigned i = (unsigned)(uintptr_t)ctx;

	P.done++;
	P.inflight--;
	if (status == 0 && resp && resp->u.ping.data == P.data[i])
		P.ok++;
	else
		P.bad++;
	P.busy[i] = false;
}
#endif

#endif /* VMSG_TESTS_PORT_TEST_UTIL_H */
