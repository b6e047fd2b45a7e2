/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file endian.h
 * @brief Little-endian get/put helpers for byte buffers.
 *
 * Everything on the virtio-msg wire is little-endian. These helpers read and
 * write through byte shifts, so they work for any alignment and any host byte
 * order, and compilers fold them into plain loads/stores on little-endian
 * hosts. Header-only: usable without linking the library.
 */
#ifndef VIRTIO_MSG_ENDIAN_H
#define VIRTIO_MSG_ENDIAN_H

#include <stdint.h>

#include "virtio_msg/defs.h"

VMSG_BEGIN_DECLS

/** Read a little-endian 16-bit value from a possibly unaligned buffer. */
static inline uint16_t vmsg_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

/** Read a little-endian 32-bit value from a possibly unaligned buffer. */
static inline uint32_t vmsg_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/** Read a little-endian 64-bit value from a possibly unaligned buffer. */
static inline uint64_t vmsg_get_le64(const uint8_t *p)
{
	return (uint64_t)vmsg_get_le32(p) | ((uint64_t)vmsg_get_le32(p + 4) << 32);
}

/** Write a 16-bit value little-endian into a possibly unaligned buffer. */
static inline void vmsg_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/** Write a 32-bit value little-endian into a possibly unaligned buffer. */
static inline void vmsg_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/** Write a 64-bit value little-endian into a possibly unaligned buffer. */
static inline void vmsg_put_le64(uint8_t *p, uint64_t v)
{
	vmsg_put_le32(p, (uint32_t)v);
	vmsg_put_le32(p + 4, (uint32_t)(v >> 32));
}

VMSG_END_DECLS

#endif /* VIRTIO_MSG_ENDIAN_H */
