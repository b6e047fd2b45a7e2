/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file config.h
 * @brief Compile-time options with overridable defaults.
 *
 * To change an option, define it on the compiler command line, or put the
 * definitions in a header of your own and build with
 * -DVMSG_CONFIG_FILE='"my_vmsg_config.h"' (as lwIP's lwipopts.h or Mbed TLS's
 * MBEDTLS_CONFIG_FILE). That header is included first, so its values win.
 * Every option below keeps its default when left undefined.
 */
#ifndef VIRTIO_MSG_CONFIG_H
#define VIRTIO_MSG_CONFIG_H

#ifdef VMSG_CONFIG_FILE
#include VMSG_CONFIG_FILE
#endif

/**
 * Set to 1 to leave out the 2025 "token group" wire profile, for the smallest
 * firmware. vmsg_codec_init() then refuses VMSG_PROFILE_2025 with
 * VMSG_ENOTSUP.
 */
#ifndef VMSG_CONFIG_NO_PROFILE_2025
#define VMSG_CONFIG_NO_PROFILE_2025 0
#endif

/**
 * Set to 1 to leave out the message formatter and the name tables
 * (vmsg_proto_format() then writes only an empty string, and the name
 * functions return "?").
 */
#ifndef VMSG_CONFIG_NO_FORMAT
#define VMSG_CONFIG_NO_FORMAT 0
#endif

/**
 * Set to 1 to leave out the error strings (vmsg_strerror() then returns a
 * fixed string).
 */
#ifndef VMSG_CONFIG_NO_STRERROR
#define VMSG_CONFIG_NO_STRERROR 0
#endif

/**
 * One role only, for the smallest firmware. A firmware is usually one side
 * of the bus: set VMSG_CONFIG_ROLE_DEVICE_ONLY to 1 for one that offers
 * devices, or VMSG_CONFIG_ROLE_DRIVER_ONLY to 1 for one that uses them (not
 * both). The other role's code is left out:
 *  - vmsg_bus_init() refuses the other role with VMSG_ENOTSUP;
 *  - the codec encodes only the messages this role sends and decodes only
 *    those its peer sends (a device never encodes a request or decodes a
 *    transport response or EVENT_DEVICE; a driver never the opposite; PING
 *    goes both ways); any other message gives VMSG_ENOTSUP, which the bus
 *    counts as unsupported, as it already does for a message of the wrong
 *    direction;
 *  - the other role's bus calls (vmsg_bus_discover(), _attach_device() on a
 *    device; _add_device() on a driver) return VMSG_EINVAL, as they do on a
 *    bus of the other role.
 * The API and the structures do not change, so code that names both roles
 * still builds.
 */
#ifndef VMSG_CONFIG_ROLE_DEVICE_ONLY
#define VMSG_CONFIG_ROLE_DEVICE_ONLY 0
#endif
#ifndef VMSG_CONFIG_ROLE_DRIVER_ONLY
#define VMSG_CONFIG_ROLE_DRIVER_ONLY 0
#endif
#if VMSG_CONFIG_ROLE_DEVICE_ONLY && VMSG_CONFIG_ROLE_DRIVER_ONLY
#error "VMSG_CONFIG_ROLE_DEVICE_ONLY and VMSG_CONFIG_ROLE_DRIVER_ONLY exclude each other"
#endif

/** Derived (do not set): whether each role is compiled in. */
#define VMSG_CONFIG_HAS_DRIVER (!VMSG_CONFIG_ROLE_DEVICE_ONLY)
#define VMSG_CONFIG_HAS_DEVICE (!VMSG_CONFIG_ROLE_DRIVER_ONLY)

/**
 * One memory mode for the rings and layouts, for the smallest firmware (the
 * other mode's accessors and barriers are left out). Set
 * VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE to 1 for shared SRAM or a BAR
 * (VMSG_SPSC_MEM_DEVICE), or VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT to 1 for
 * ordinary cache-coherent memory (not both). A ring description, channel or
 * layout call that names the other mode is refused with VMSG_ENOTSUP
 * (vmsg_spsc_desc_check(), vmsg_spsc_prod_init()/_cons_init(),
 * vmsg_shm_chan_open_v1()/_v0(), vmsg_shm_v1_write()/_validate()).
 */
#ifndef VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE
#define VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE 0
#endif
#ifndef VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT
#define VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT 0
#endif
#if VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE && VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT
#error "VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE and VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT exclude each other"
#endif

/** Derived (do not set): whether each memory mode is compiled in. */
#define VMSG_CONFIG_HAS_MEM_DEVICE (!VMSG_CONFIG_SPSC_MEM_ONLY_COHERENT)
#define VMSG_CONFIG_HAS_MEM_COHERENT (!VMSG_CONFIG_SPSC_MEM_ONLY_DEVICE)

/**
 * One ring index width. The vmamp v1 layout uses 16-bit indices, SPSC-v0
 * 32-bit ones: set VMSG_CONFIG_SPSC_INDEX16_ONLY to 1 for a v1-only build,
 * VMSG_CONFIG_SPSC_INDEX32_ONLY to 1 for a v0-only one (not both). A ring
 * description with the other width is refused with VMSG_ENOTSUP, and so is
 * opening a channel of the layout that needs it (v0, resp. v1).
 */
#ifndef VMSG_CONFIG_SPSC_INDEX16_ONLY
#define VMSG_CONFIG_SPSC_INDEX16_ONLY 0
#endif
#ifndef VMSG_CONFIG_SPSC_INDEX32_ONLY
#define VMSG_CONFIG_SPSC_INDEX32_ONLY 0
#endif
#if VMSG_CONFIG_SPSC_INDEX16_ONLY && VMSG_CONFIG_SPSC_INDEX32_ONLY
#error "VMSG_CONFIG_SPSC_INDEX16_ONLY and VMSG_CONFIG_SPSC_INDEX32_ONLY exclude each other"
#endif

/** Derived (do not set): whether each index width is compiled in. */
#define VMSG_CONFIG_HAS_INDEX16 (!VMSG_CONFIG_SPSC_INDEX32_ONLY)
#define VMSG_CONFIG_HAS_INDEX32 (!VMSG_CONFIG_SPSC_INDEX16_ONLY)

/**
 * Set to 1 to leave out the cache maintenance hooks (struct
 * vmsg_spsc_cache_ops), for memory that is coherent with the peer or
 * uncached (the usual shared SRAM of a microcontroller). A ring description
 * or channel configuration with a non-NULL cache is refused with
 * VMSG_ENOTSUP.
 */
#ifndef VMSG_CONFIG_NO_CACHE_OPS
#define VMSG_CONFIG_NO_CACHE_OPS 0
#endif

/**
 * Set to 1 for a build whose vmamp v1 channels always own the layout
 * (vmsg_shm_cfg.owner), as a firmware that sets up the shared memory does:
 * the owner never parses a header, so the v1 validator
 * (vmsg_shm_v1_validate(), about 1.2 KB on a Cortex-M4) is not linked.
 * vmsg_shm_chan_open_v1() refuses a non-owner with VMSG_ENOTSUP.
 */
#ifndef VMSG_CONFIG_SHM_V1_OWNER_ONLY
#define VMSG_CONFIG_SHM_V1_OWNER_ONLY 0
#endif

/**
 * Set to 1 for the plain wait of a firmware in the shm bus (shm_bus.h): no
 * spinning before a sleep (vmsg_shm_bus_init() refuses a non-zero
 * hooks.spin_ns with VMSG_ENOTSUP), and the idle work (the port's service
 * hook, the lifecycle) on every receive that finds the ring empty instead of
 * at most every service_ns by the clock. The wait itself is unchanged: arm,
 * re-check, then the port's wait.
 */
#ifndef VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT
#define VMSG_CONFIG_SHM_BUS_SIMPLE_WAIT 0
#endif

/**
 * Internal precondition checks on *caller* programming errors. Never used on
 * data from the peer or from shared memory, which is validated instead.
 * Defaults to nothing; define it (for example to assert) in debug builds.
 */
#ifndef VMSG_ASSERT
#define VMSG_ASSERT(cond) ((void)0)
#endif

#endif /* VIRTIO_MSG_CONFIG_H */
