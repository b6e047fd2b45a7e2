/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to the library: ring set-up for the shm channels. */
#ifndef VMSG_RING_INTERNAL_H
#define VMSG_RING_INTERNAL_H

#include "virtio_msg/spsc.h"

/*
 * Start an endpoint whose description the caller wrote into p->d (c->d) and
 * checked with vmsg_spsc_desc_check() (0): the rest is zeroed and the
 * endpoint reset, as vmsg_spsc_prod_init() / _cons_init() with
 * VMSG_SPSC_INIT_RESET do. Cannot fail.
 */
void vmsg_spsc_prod_start(struct vmsg_spsc_prod *p);
void vmsg_spsc_cons_start(struct vmsg_spsc_cons *c);

/*
 * The plain v1 lifecycle (ring.c): start at the own index found in memory
 * (0 when out of range) without publishing anything; later either reset or
 * resync with a peer that kept running (0, or VMSG_EPROTO and nothing
 * changed when the peer's index in memory is out of range).
 */
void vmsg_spsc_prod_start_found(struct vmsg_spsc_prod *p);
void vmsg_spsc_cons_start_found(struct vmsg_spsc_cons *c);
int vmsg_spsc_prod_resync(struct vmsg_spsc_prod *p);
int vmsg_spsc_cons_resync(struct vmsg_spsc_cons *c, bool skip);

/*
 * A poller's cheap look: true when every slot we know of is taken and the
 * producer index still reads what we last validated. Nothing new is
 * trusted, so no guard and no checks run; a caller that gets false takes
 * its work (or hears the error) through peek/pop, which run both. With
 * @prefetch, the slot we take next is fetched first, as
 * vmsg_spsc_cons_pending() does for a waiter.
 */
bool vmsg_spsc_cons_idle(struct vmsg_spsc_cons *c, bool prefetch);

#endif /* VMSG_RING_INTERNAL_H */
