/* SPDX-License-Identifier: BSD-3-Clause */
/* ARM semihosting: console output and an exit code QEMU passes on. */
#ifndef FW_SEMIHOST_H
#define FW_SEMIHOST_H

void sh_puts(const char *s);
void sh_put_dec(unsigned long v);
__attribute__((noreturn)) void sh_exit(int code);

#endif
