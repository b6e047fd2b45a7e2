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
 * Internal precondition checks on *caller* programming errors. Never used on
 * data from the peer or from shared memory, which is validated instead.
 * Defaults to nothing; define it (for example to assert) in debug builds.
 */
#ifndef VMSG_ASSERT
#define VMSG_ASSERT(cond) ((void)0)
#endif

#endif /* VIRTIO_MSG_CONFIG_H */
