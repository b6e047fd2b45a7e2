/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For the targets whose peer sends fds (fuzz_pshm_hello, fuzz_ivsh_client):
 * real, harmless fds to put in a control buffer (dups of /dev/null, of one
 * eventfd and of one 4 KiB memfd), and the process's fd count from
 * /proc/self/fd, which must be back at its start value after every input:
 * a parser that keeps or forgets a fd the peer sent fails FUZZ_CHECK().
 * Linux only (the ports that receive fds are).
 */
#ifndef VMSG_FUZZ_FDS_H
#define VMSG_FUZZ_FDS_H

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

enum { FUZZ_FD_NULL, FUZZ_FD_EVENT, FUZZ_FD_MEM, FUZZ_FD_KINDS };

/* Open file descriptors of this process. */
static inline int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A new fd of @kind (FUZZ_FD_*): a dup of one opened on the first call. */
static inline int fuzz_new_fd(unsigned kind)
{
	static int src[FUZZ_FD_KINDS] = { -1, -1, -1 };
	int fd;

	if (src[0] < 0) {
		src[FUZZ_FD_NULL] = open("/dev/null", O_RDWR | O_CLOEXEC);
		src[FUZZ_FD_EVENT] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		src[FUZZ_FD_MEM] = memfd_create("fuzz", MFD_CLOEXEC);
		FUZZ_CHECK(src[0] >= 0 && src[1] >= 0 && src[2] >= 0);
		FUZZ_CHECK(ftruncate(src[FUZZ_FD_MEM], 4096) == 0);
	}
	fd = fcntl(src[kind % FUZZ_FD_KINDS], F_DUPFD_CLOEXEC, 0);
	FUZZ_CHECK(fd >= 0);
	return fd;
}

/* Open the sources (before the first fd count of an input). */
static inline void fuzz_fds_init(void)
{
	close(fuzz_new_fd(FUZZ_FD_NULL));
}

static inline bool fuzz_fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

#endif /* VMSG_FUZZ_FDS_H */
