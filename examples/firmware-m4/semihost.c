/* SPDX-License-Identifier: BSD-3-Clause */
#include "semihost.h"

#include <stdint.h>

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost(int op, const void *arg)
{
	register int r0 __asm__("r0") = op;
	register const void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void sh_puts(const char *s)
{
	(void)semihost(SYS_WRITE0, s);
}

void sh_put_dec(unsigned long v)
{
	char buf[12];
	int i = (int)sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v && i > 0);
	sh_puts(&buf[i]);
}

void sh_exit(int code)
{
	uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };

	for (;;)
		(void)semihost(SYS_EXIT_EXTENDED, block);
}
