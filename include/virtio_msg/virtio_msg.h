/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file virtio_msg.h
 * @brief Umbrella header: everything of the portable core.
 */
#ifndef VIRTIO_MSG_VIRTIO_MSG_H
#define VIRTIO_MSG_VIRTIO_MSG_H

#include "virtio_msg/bus.h"
#include "virtio_msg/config.h"
#include "virtio_msg/defs.h"
#include "virtio_msg/endian.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/proto.h"
#include "virtio_msg/shm.h"
#include "virtio_msg/shm_bus.h"
#include "virtio_msg/spsc.h"
#include "virtio_msg/version.h"
#include "virtio_msg/wire.h"

#endif /* VIRTIO_MSG_VIRTIO_MSG_H */
