/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ivshmem-host port (port_ivshmem_host_bus.h): the server-protocol client
 * (ivsh_client.c) as an ivshmem backend (ports/ivshmem).
 */
#include "virtio_msg/port_ivshmem_host_bus.h"

#include "virtio_msg/errors.h"

static int be_ring(void *ctx, uint32_t peer, uint32_t vector)
{
	struct vmsg_ivshmem_host *p = ctx;

	return vmsg_ivsh_client_ring(&p->cl, peer, vector);
}

/* Server notices first, so a departed peer is known before we look at the
 * ring again; then clear our doorbells (hints, never counts). */
static int be_service(void *ctx)
{
	struct vmsg_ivshmem_host *p = ctx;
	int r = vmsg_ivsh_client_service(&p->cl);

	return r < 0 ? r : 0;
}

static int be_wait(void *ctx, int64_t timeout_ns)
{
	struct vmsg_ivshmem_host *p = ctx;
	uint64_t n = 0;
	int r = vmsg_ivsh_client_wait(&p->cl, timeout_ns < 0 ? UINT64_MAX : (uint64_t)timeout_ns);

	if (r)
		return r;
	(void)be_service(p);
	if (vmsg_ivsh_client_drain(&p->cl, &n) == 0)
		p->st.doorbells_received += n;
	return 0;
}

static bool be_sole_peer(void *ctx, uint32_t *peer)
{
	struct vmsg_ivshmem_host *p = ctx;

	return vmsg_ivsh_client_peer_count(&p->cl) == 1 &&
	       vmsg_ivsh_client_peer_at(&p->cl, 0, peer) == 0;
}

static int be_close(void *ctx)
{
	return vmsg_ivshmem_host_close(ctx);
}

static void on_peer(void *ctx, uint32_t id, bool connected)
{
	struct vmsg_ivshmem_host *p = ctx;

	if (connected) {
		p->st.peers_joined++;
		return;
	}
	p->st.peers_left++;
	if (p->iv_open && vmsg_ivshmem_peer_left(&p->iv, id))
		p->st.our_peer_left++;
}

int vmsg_ivshmem_host_open(struct vmsg_ivshmem_host *p, const struct vmsg_ivshmem_host_cfg *cfg)
{
	struct vmsg_ivshmem_backend be = { 0 };
	struct vmsg_ivshmem_cfg ic;
	void *shm;
	size_t size;
	int err;

	if (!p || !cfg || !cfg->socket_path)
		return VMSG_EINVAL;
	*p = (struct vmsg_ivshmem_host){ 0 };
	err = vmsg_ivsh_client_connect(&p->cl, cfg->socket_path,
				       cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000);
	if (err)
		return err;
	p->open = true;
	err = vmsg_ivsh_client_map(&p->cl, &shm, &size);
	if (err)
		goto fail;
	ic = cfg->iv;
	ic.mem = VMSG_SPSC_MEM_COHERENT;
	be.ring = be_ring;
	be.wait = be_wait;
	be.service = be_service;
	be.sole_peer = be_sole_peer;
	be.close = be_close;
	be.ctx = p;
	err = vmsg_ivshmem_open(&p->iv, shm, size, vmsg_ivsh_client_id(&p->cl), &be, &ic);
	if (err)
		goto fail;
	p->iv_open = true;
	/* Peers already there when we joined came with the handshake, before
	 * the callback existed: they joined too (else peers_left could exceed
	 * peers_joined). */
	p->st.peers_joined += vmsg_ivsh_client_peer_count(&p->cl);
	vmsg_ivsh_client_set_peer_cb(&p->cl, on_peer, p);
	return 0;
fail:
	(void)vmsg_ivshmem_host_close(p);
	return err;
}

struct vmsg_shm_bus *vmsg_ivshmem_host_bus(struct vmsg_ivshmem_host *p)
{
	return vmsg_ivshmem_bus(&p->iv);
}

int vmsg_ivshmem_host_fd(const struct vmsg_ivshmem_host *p)
{
	return vmsg_ivsh_client_fd(&p->cl);
}

uint32_t vmsg_ivshmem_host_id(const struct vmsg_ivshmem_host *p)
{
	return vmsg_ivsh_client_id(&p->cl);
}

int vmsg_ivshmem_host_close(struct vmsg_ivshmem_host *p)
{
	if (!p)
		return VMSG_EINVAL;
	if (p->open)
		vmsg_ivsh_client_close(&p->cl);
	p->open = false;
	p->iv_open = false;
	return 0;
}
