/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file port_ivshmem_host_bus.h
 * @brief ivshmem-host port: a host process serving (or using) virtio-msg
 *        devices over an ivshmem server, as a full peer of VMs that have a
 *        stock `-device ivshmem-doorbell`, without nesting a machine.
 *
 * The process joins the server (port_ivshmem_host.h: ours, or QEMU's
 * contrib server), maps the shared memory, rings a VM by writing its
 * eventfd and waits on its own. The VM's id is read from the layout, where
 * every side publishes its own (port_ivshmem.h), so start order does not
 * matter; when the server reports that our peer left (a VM killed), pending
 * requests fail with VMSG_ECONNRESET and the channel waits for the next VM,
 * which comes back with a new id and is found again. Make the host the
 * layout owner: it outlives the VMs.
 *
 *     struct vmsg_ivshmem_host port;
 *     struct vmsg_ivshmem_host_cfg pc = { .socket_path = "/tmp/ivshmem_socket" };
 *     pc.iv.side = VMSG_SHM_DEVICE; pc.iv.owner = true;
 *     vmsg_ivshmem_host_open(&port, &pc);
 *     cfg.ops = &vmsg_shm_bus_ops; cfg.priv = vmsg_ivshmem_host_bus(&port);
 *     vmsg_bus_init(&bus, &cfg);  then vmsg_bus_wait(), or vmsg_bus_prepare_sleep() +
 *     poll(vmsg_ivshmem_host_fd(&port)) + vmsg_bus_poll() in your own loop
 */
#ifndef VIRTIO_MSG_PORT_IVSHMEM_HOST_BUS_H
#define VIRTIO_MSG_PORT_IVSHMEM_HOST_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/port_ivshmem.h"
#include "virtio_msg/port_ivshmem_host.h"

VMSG_BEGIN_DECLS

struct vmsg_ivshmem_host_cfg {
	const char *socket_path;    /**< the server's socket */
	struct vmsg_ivshmem_cfg iv; /**< side, layout, owner...; mem is COHERENT */
	int connect_timeout_ms;	    /**< 0 = 5000 */
};

/** Statistics (read them directly). */
struct vmsg_ivshmem_host_stats {
	uint64_t doorbells_received; /**< eventfd counts drained */
	uint64_t peers_joined;
	uint64_t peers_left;
	uint64_t our_peer_left; /**< departures of the peer we served */
};

/** One end. Visible for allocation; treat as opaque. */
struct vmsg_ivshmem_host {
	struct vmsg_ivsh_client cl;
	struct vmsg_ivshmem iv;
	struct vmsg_ivshmem_host_stats st;
	bool open;
	bool iv_open;
};

/**
 * @brief Join the server, map its memory and open the channel on it.
 * @retval 0 ready. Others as vmsg_ivsh_client_connect() and vmsg_ivshmem_open().
 */
VMSG_API VMSG_MUST_CHECK int vmsg_ivshmem_host_open(struct vmsg_ivshmem_host *p,
						    const struct vmsg_ivshmem_host_cfg *cfg);

/** @brief The shm bus to give vmsg_bus_init() as priv. */
VMSG_API struct vmsg_shm_bus *vmsg_ivshmem_host_bus(struct vmsg_ivshmem_host *p);

/** @brief One fd readable on a doorbell or a server notice. */
VMSG_API int vmsg_ivshmem_host_fd(const struct vmsg_ivshmem_host *p);

/** @brief Own ivshmem peer id. */
VMSG_API uint32_t vmsg_ivshmem_host_id(const struct vmsg_ivshmem_host *p);

/** @brief Leave the server and release everything (vmsg_bus_close() calls this). */
VMSG_API int vmsg_ivshmem_host_close(struct vmsg_ivshmem_host *p);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_PORT_IVSHMEM_HOST_BUS_H */
