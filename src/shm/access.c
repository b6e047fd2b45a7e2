/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory access for the layout and lifecycle code: whole 32-bit words
 * only, through the same arch shim as the ring, so device memory never sees
 * a narrower, wider or unaligned access.
 */
#include "shm/shm_internal.h"

#include "spsc/arch.h"

uint32_t vmsg_shm_load32(uint8_t mem, const void *p)
{
	uint32_t v;

	if (vmsg_mem_is_dev(mem)) {
		v = vmsg_mmio_read32(p);
		vmsg_dev_rmb(); /* what the word guards is read after it */
		return v;
	}
	return vmsg_load_acquire32(p);
}

void vmsg_shm_store32(uint8_t mem, void *p, uint32_t v)
{
	if (vmsg_mem_is_dev(mem)) {
		vmsg_dev_mb(); /* earlier writes land before this word */
		vmsg_mmio_write32(p, v);
		return;
	}
	vmsg_store_release32(p, v);
}

void vmsg_shm_fence(uint8_t mem)
{
	if (vmsg_mem_is_dev(mem))
		vmsg_dev_mb();
	else
		vmsg_fence_full();
}

void vmsg_shm_read(uint8_t mem, const void *src, void *dst, uint32_t n)
{
	const uint8_t *s = src;
	uint8_t *d = dst;

	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t w = vmsg_mem_is_dev(mem) ? vmsg_mmio_read32(s + i) :
							   vmsg_load_relaxed32(s + i);

		for (unsigned k = 0; k < 4; k++)
			d[i + k] = ((const uint8_t *)&w)[k];
	}
}

void vmsg_shm_write(uint8_t mem, void *dst, const void *src, uint32_t n)
{
	const uint8_t *s = src;
	uint8_t *d = dst;

	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t w = 0; /* no source: zeros */

		for (unsigned k = 0; s && k < 4; k++)
			((uint8_t *)&w)[k] = s[i + k];
		if (vmsg_mem_is_dev(mem))
			vmsg_mmio_write32(d + i, w);
		else
			vmsg_store_relaxed32(d + i, w);
	}
}

int vmsg_shm_cfg_compiled(const struct vmsg_shm_cfg *cfg)
{
	if (!vmsg_mem_compiled(cfg->mem) || (VMSG_CONFIG_NO_CACHE_OPS && cfg->cache))
		return VMSG_ENOTSUP;
	return 0;
}
