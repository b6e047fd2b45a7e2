/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file errors.h
 * @brief Error codes of the library.
 *
 * Every function that can fail returns an int: 0 (or a documented count) on
 * success and a negative VMSG_E* code on failure. The names mimic errno, but
 * the values are our own, so this header needs no <errno.h> and behaves the
 * same on every OS and bare-metal toolchain. The values are ABI: they never
 * change once released; new codes are appended.
 */
#ifndef VIRTIO_MSG_ERRORS_H
#define VIRTIO_MSG_ERRORS_H

#include "virtio_msg/defs.h"

VMSG_BEGIN_DECLS

/** Error codes (negated when returned). */
enum vmsg_err {
	VMSG_OK = 0,          /**< success */
	VMSG_EINVAL = -1,     /**< invalid argument from the caller */
	VMSG_EAGAIN = -2,     /**< nothing available now; try again later */
	VMSG_ENOSPC = -3,     /**< no room: output buffer or ring is full */
	VMSG_EMSGSIZE = -4,   /**< message larger than the maximum message size */
	VMSG_ESHORT = -5,     /**< input shorter than the header or than msg_size */
	VMSG_EBADMSG = -6,    /**< msg_size or a count/length field is inconsistent */
	VMSG_EBADTYPE = -7,   /**< invalid type bits for this msg_id (response bit on an event) */
	VMSG_EBADDEV = -8,    /**< dev_num not allowed here (non-zero on a bus message) */
	VMSG_ERESERVED = -9,  /**< a reserved field, bit or value is in use */
	VMSG_ENOTSUP = -10,   /**< unknown standard message ID, or not supported */
	VMSG_ERANGE = -11,    /**< a value does not fit its wire field in this profile */
	VMSG_EPROTO = -12,    /**< the peer broke the shared-memory protocol */
	VMSG_ETIMEDOUT = -13, /**< no answer within the caller's time budget */
	VMSG_ENODEV = -14,    /**< no such device */
	VMSG_ECONNRESET = -15,/**< the peer went away or restarted */
	VMSG_EBUSY = -16,     /**< resource in use */
	VMSG_ESTATE = -17,    /**< operation not valid in the current state */
	VMSG_EIO = -18,       /**< an OS or hardware operation failed */
	VMSG_ENOENT = -19,    /**< no such object (file, region, mapping) */
	VMSG_ECANCELED = -20, /**< operation cancelled (for example by close) */
	VMSG_ENOMEM = -21,    /**< out of memory (ports only; the core never allocates) */
};

/** The lowest (most negative) code defined by this version. */
#define VMSG_ERR_MIN VMSG_ENOMEM

/**
 * @brief A short English description of an error code.
 * @param[in] err a value returned by the library (0 or a negative code).
 * @return a static string; never NULL ("unknown error" for other values).
 */
VMSG_API const char *vmsg_strerror(int err);

/**
 * @brief The symbolic name of an error code, such as "VMSG_EBADMSG".
 * @return a static string; never NULL ("VMSG_E?" for unknown values).
 */
VMSG_API const char *vmsg_strerror_name(int err);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_ERRORS_H */
