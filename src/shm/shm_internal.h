/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to src/shm: shared-memory access in either memory mode. */
#ifndef VMSG_SHM_INTERNAL_H
#define VMSG_SHM_INTERNAL_H

#include <stdint.h>

#include "virtio_msg/config.h"
#include "virtio_msg/shm.h"

/* Copy @n bytes (a multiple of 4, 4-aligned) out of shared memory. */
void vmsg_shm_read(uint8_t mem, const void *src, void *dst, uint32_t n);
/* Write @n bytes (a multiple of 4, 4-aligned) into shared memory; zeros
 * when @src is NULL. */
void vmsg_shm_write(uint8_t mem, void *dst, const void *src, uint32_t n);
/* One aligned 32-bit word: acquire load / release store, value as stored. */
uint32_t vmsg_shm_load32(uint8_t mem, const void *p);
void vmsg_shm_store32(uint8_t mem, void *p, uint32_t v);
/* Full fence (store-load) for either memory kind. */
void vmsg_shm_fence(uint8_t mem);

/* The owner's layout (layout_v1.c): reuse or write it, @info from @prm.
 * 0, or VMSG_EINVAL when @prm does not fit in @size. */
int vmsg_shm_v1_own(void *base, size_t size, const struct vmsg_shm_v1_params *prm, uint8_t mem,
		    struct vmsg_shm_v1_info *info);

/* 0 if this build has what @cfg asks for (memory mode, cache hooks), else
 * VMSG_ENOTSUP (config.h). @cfg->mem is known to be a mode. */
int vmsg_shm_cfg_compiled(const struct vmsg_shm_cfg *cfg);

/* A ring error as the channel reports it: with a plain v1 peer a protocol
 * violation (VMSG_EPROTO) is taken for a restart (VMSG_ECONNRESET); the
 * next vmsg_shm_chan_poll() reports DOWN and starts our side again. */
int vmsg_shm_ring_err(const struct vmsg_shm_chan *ch, int err);

#endif /* VMSG_SHM_INTERNAL_H */
