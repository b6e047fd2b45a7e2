/* SPDX-License-Identifier: BSD-3-Clause */
#include "virtio_msg/config.h"
#include "virtio_msg/errors.h"

struct err_text {
	const char *name;
	const char *text;
};

#if !VMSG_CONFIG_NO_STRERROR
/* Indexed by -code. */
static const struct err_text texts[] = {
	{ "VMSG_OK", "success" },
	{ "VMSG_EINVAL", "invalid argument" },
	{ "VMSG_EAGAIN", "try again" },
	{ "VMSG_ENOSPC", "no space left" },
	{ "VMSG_EMSGSIZE", "message larger than the maximum message size" },
	{ "VMSG_ESHORT", "input shorter than the message" },
	{ "VMSG_EBADMSG", "malformed message" },
	{ "VMSG_EBADTYPE", "invalid message type for this message ID" },
	{ "VMSG_EBADDEV", "device number not allowed here" },
	{ "VMSG_ERESERVED", "reserved field, bit or value in use" },
	{ "VMSG_ENOTSUP", "not supported" },
	{ "VMSG_ERANGE", "value does not fit its wire field" },
	{ "VMSG_EPROTO", "peer protocol violation" },
	{ "VMSG_ETIMEDOUT", "timed out" },
	{ "VMSG_ENODEV", "no such device" },
	{ "VMSG_ECONNRESET", "peer went away" },
	{ "VMSG_EBUSY", "resource busy" },
	{ "VMSG_ESTATE", "invalid in the current state" },
	{ "VMSG_EIO", "I/O error" },
	{ "VMSG_ENOENT", "no such object" },
	{ "VMSG_ECANCELED", "operation cancelled" },
	{ "VMSG_ENOMEM", "out of memory" },
};

VMSG_STATIC_ASSERT(sizeof(texts) / sizeof(texts[0]) == 1 - VMSG_ERR_MIN,
		   "one text per error code");

static const struct err_text *lookup(int err)
{
	if (err > 0 || err < VMSG_ERR_MIN)
		return 0;
	return &texts[-err];
}

const char *vmsg_strerror(int err)
{
	const struct err_text *t = lookup(err);

	return t ? t->text : "unknown error";
}

const char *vmsg_strerror_name(int err)
{
	const struct err_text *t = lookup(err);

	return t ? t->name : "VMSG_E?";
}
#else
const char *vmsg_strerror(int err)
{
	return err == 0 ? "success" : "error";
}

const char *vmsg_strerror_name(int err)
{
	return err == 0 ? "VMSG_OK" : "VMSG_E?";
}
#endif
