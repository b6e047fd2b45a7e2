/* SPDX-License-Identifier: BSD-3-Clause */
/* Vector table and reset handler: copy .data, zero .bss, run main, exit. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t sidata[], sdata[], edata[], sbss[], ebss[], estack[];
int main(void);
void reset_handler(void);

static void fault_handler(void)
{
	sh_puts("firmware: fault\n");
	sh_exit(99);
}

__attribute__((section(".isr_vector"), used)) static const uintptr_t vectors[16] = {
	(uintptr_t)estack,       (uintptr_t)reset_handler, (uintptr_t)fault_handler,
	(uintptr_t)fault_handler, (uintptr_t)fault_handler, (uintptr_t)fault_handler,
	(uintptr_t)fault_handler,
};

void reset_handler(void)
{
	uint32_t *s = sidata, *d = sdata;

	while (d < edata)
		*d++ = *s++;
	for (d = sbss; d < ebss;)
		*d++ = 0;
	sh_exit(main());
}
