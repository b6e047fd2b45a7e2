/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder: filled in by the ivshmem ports work (issue 5). */
#ifndef VIRTIO_MSG_PORT_AMP_PCI_H
#define VIRTIO_MSG_PORT_AMP_PCI_H
#endif
