/* SPDX-License-Identifier: BSD-3-Clause */
#include "virtio_msg/version.h"

unsigned vmsg_version(void)
{
	return VMSG_VERSION_NUMBER;
}

const char *vmsg_version_string(void)
{
	return VMSG_VERSION_STRING;
}
