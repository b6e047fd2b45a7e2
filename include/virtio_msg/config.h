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
 * Internal precondition checks on *caller* programming errors. Never used on
 * data from the peer or from shared memory, which is validated instead.
 * Defaults to nothing; define it (for example to assert) in debug builds.
 */
#ifndef VMSG_ASSERT
#define VMSG_ASSERT(cond) ((void)0)
#endif

#endif /* VIRTIO_MSG_CONFIG_H */
