/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A channel on a vmamp v1 layout: the two rings of one side and the peer
 * lifecycle (docs/ring-protocol.md, "Lifecycle"). Each side writes only its
 * own queue head, its own line, its own element array and (extended) its
 * own awake word in the extension line.
 */
#include "shm/shm_internal.h"

#include "spsc/arch.h"
#include "spsc/ring_internal.h"
#include "virtio_msg/endian.h"

/* Queue-head and side words are little-endian 32-bit values in memory. */
static uint32_t word_load(const struct vmsg_shm_chan *ch, const uint8_t *p)
{
	return vmsg_le32_swap(vmsg_shm_load32(ch->mem, p));
}

static void word_store(const struct vmsg_shm_chan *ch, uint8_t *p, uint32_t v)
{
	vmsg_shm_store32(ch->mem, p, vmsg_le32_swap(v));
#if !VMSG_CONFIG_NO_CACHE_OPS
	if (ch->cfg.cache && ch->cfg.cache->clean)
		ch->cfg.cache->clean(ch->cfg.cache->ctx, p, 4);
#endif
}

static void publish_state(struct vmsg_shm_chan *ch, enum vmsg_shm_state st)
{
	word_store(ch, ch->own_qh, VMSG_V1_QH_MAGIC | ((uint32_t)st << 16));
	ch->state = (uint8_t)st;
}

static void swap_ptr(uint8_t **a, uint8_t **b)
{
	uint8_t *t = *a;

	*a = *b;
	*b = t;
}

/*
 * The rings of this side: we produce into our own elements and consume the
 * peer's; our tail and head live in our queue head, the peer's in its. The
 * descriptions are written in place (ch->tx.d, ch->rx.d) and checked here,
 * before start() writes anything; start() then only resets the endpoints.
 */
static int setup_rings(struct vmsg_shm_chan *ch)
{
	const struct vmsg_shm_v1_info *in = &ch->info;
	struct vmsg_spsc_desc *tx = &ch->tx.d, *rx = &ch->rx.d;
	/* Ours and the peer's, the device's side first. */
	uint8_t *own_elems = ch->base + in->dev_elems, *peer_elems = ch->base + in->drv_elems;
	uint8_t *own_awake = ch->base + VMSG_EXT_LINE + VMSG_EXT_OFF_DEV_AWAKE;
	uint8_t *peer_awake = ch->base + VMSG_EXT_LINE + VMSG_EXT_OFF_DRV_AWAKE;
	int err;

	ch->own_qh = ch->base + in->dev_qh;
	ch->peer_qh = ch->base + in->drv_qh;
	if (ch->side == VMSG_SHM_DRIVER) {
		swap_ptr(&ch->own_qh, &ch->peer_qh);
		swap_ptr(&own_elems, &peer_elems);
		swap_ptr(&own_awake, &peer_awake);
	}
	ch->extended = in->extended;

	*tx = (struct vmsg_spsc_desc){ 0 };
	tx->slots = own_elems;
	tx->prod = (struct vmsg_spsc_index){ ch->own_qh + VMSG_V1_QH_OFF_TAIL, 16 };
	tx->cons = (struct vmsg_spsc_index){ ch->peer_qh + VMSG_V1_QH_OFF_HEAD, 16 };
	tx->num_slots = in->num_elems;
	tx->slot_size = in->elem_size;
	tx->flags = VMSG_SPSC_F_LE_INDEX;
	tx->mem = ch->mem;
	tx->cache = ch->cfg.cache;
	*rx = *tx;
	rx->slots = peer_elems;
	rx->prod = (struct vmsg_spsc_index){ ch->peer_qh + VMSG_V1_QH_OFF_TAIL, 16 };
	rx->cons = (struct vmsg_spsc_index){ ch->own_qh + VMSG_V1_QH_OFF_HEAD, 16 };
	/* Kick suppression (extended only): the consumer's awake word in the
	 * extension line, the producer's kicked word in its queue head. */
	if (ch->extended) {
		tx->awake = peer_awake; /* the peer consumes what we send */
		tx->kicked = ch->own_qh + VMSG_SIDE_OFF_KICKED;
		rx->awake = own_awake;
		rx->kicked = ch->peer_qh + VMSG_SIDE_OFF_KICKED;
	}
	err = vmsg_spsc_desc_check(tx);
	if (!err)
		err = vmsg_spsc_desc_check(rx);
	if (err) /* no half-described ring until a later attach succeeds */
		*tx = *rx = (struct vmsg_spsc_desc){ 0 };
	return err;
}

/*
 * Plain v1, after we published INIT: full fence, then one look at the peer.
 * A state other than READY seen here (or later while we wait in INIT) means
 * that a READY we see afterwards was published after our INIT: that peer
 * saw us INIT and waits for us, so it has not cached our producer index.
 * A READY seen only before, or here, may be a peer that saw our earlier
 * READY or RUN and is on its way to RUN (docs/ring-protocol.md, "Plain v1
 * peers"; model/plain_v1.pml, BUG_READY_RESET and BUG_LOOK_BEFORE_INIT).
 */
static void plain_look(struct vmsg_shm_chan *ch)
{
	uint32_t pw;

	vmsg_shm_fence(ch->mem);
	pw = word_load(ch, ch->peer_qh);
	ch->fresh = (pw & 0xFFFFu) != VMSG_V1_QH_MAGIC ||
		    ((pw >> 16) & VMSG_V1_STATE_MASK) != VMSG_SHM_READY;
}

/*
 * Step 1: INIT is published first, then the new epoch, then our indices are
 * reset, so a peer that sees a reset index or a new epoch also sees INIT.
 * Our array is zeroed later (step 2), once the peer no longer reads it: a
 * survivor may still copy slots it learned of before we restarted.
 *
 * Plain v1 (no extension): the peer may be in RUN and, like Linux and QEMU,
 * never look at our state again, so our indices stay as they are in memory
 * until step 2 knows whether to reset them or to resync (a reset index
 * would make a running consumer read a lap of old slots).
 */
static void start(struct vmsg_shm_chan *ch)
{
	uint32_t old_epoch = 0;

	if (ch->extended && (word_load(ch, ch->own_qh) & 0xFFFFu) == VMSG_V1_QH_MAGIC)
		old_epoch = word_load(ch, ch->own_qh + VMSG_SIDE_OFF_EPOCH);
	publish_state(ch, VMSG_SHM_INIT);
	if (ch->extended) {
		ch->own_epoch = old_epoch + 1 ? old_epoch + 1 : 1;
		word_store(ch, ch->own_qh + VMSG_SIDE_OFF_EPOCH, ch->own_epoch);
		word_store(ch, ch->own_qh + VMSG_SIDE_OFF_PEER_ID, ch->cfg.peer_id);
		vmsg_spsc_prod_start(&ch->tx); /* descriptions checked by setup_rings() */
		vmsg_spsc_cons_start(&ch->rx);
	} else {
		vmsg_spsc_prod_start_found(&ch->tx);
		vmsg_spsc_cons_start_found(&ch->rx);
	}
	ch->peer_was_run = false;
	ch->attached = true;
	if (!ch->extended)
		plain_look(ch);
}

/*
 * The layout: the owner's own (vmsg_shm_v1_own(): reused or written, never
 * parsed), or the peer's, validated (VMSG_EAGAIN until it is written). Then
 * our rings on it, and our side starts.
 */
static int attach(struct vmsg_shm_chan *ch)
{
	int err;

#if VMSG_CONFIG_SHM_V1_OWNER_ONLY
	err = vmsg_shm_v1_own(ch->base, ch->size, &ch->cfg.v1, ch->mem, &ch->info);
#else
	if (ch->cfg.owner)
		err = vmsg_shm_v1_own(ch->base, ch->size, &ch->cfg.v1, ch->mem, &ch->info);
	else
		err = vmsg_shm_v1_validate(ch->base, ch->size, ch->mem, &ch->info);
#endif
	if (err)
		return err;
	if (ch->info.elem_size < 8u)
		return VMSG_ENOTSUP; /* cannot hold a virtio-msg header */
	err = setup_rings(ch);
	if (!err)
		start(ch);
	return err;
}

int vmsg_shm_chan_open_v1(struct vmsg_shm_chan *ch, void *base, size_t size,
			  const struct vmsg_shm_cfg *cfg)
{
	int err;

	if (!ch || !base || (uintptr_t)base % 64u || !cfg || cfg->side > VMSG_SHM_DEVICE ||
	    cfg->mem > VMSG_SPSC_MEM_DEVICE)
		return VMSG_EINVAL;
	if (!VMSG_CONFIG_HAS_INDEX16 /* v1 indices are 16-bit */ ||
	    (VMSG_CONFIG_SHM_V1_OWNER_ONLY && !cfg->owner))
		return VMSG_ENOTSUP;
	err = vmsg_shm_cfg_compiled(cfg);
	if (err)
		return err;
	*ch = (struct vmsg_shm_chan){ 0 };
	ch->base = base;
	ch->size = size;
	ch->profile = 1;
	ch->side = (uint8_t)cfg->side;
	ch->mem = cfg->mem;
	ch->cfg = *cfg;
	ch->state = VMSG_SHM_INIT;
	err = attach(ch);
	return err == VMSG_EAGAIN ? 0 : err; /* poll retries until the owner wrote it */
}

/* While we run, the peer must stay READY or RUN, in the epoch we paired with. */
static void set_guards(struct vmsg_shm_chan *ch)
{
	const uint32_t qh_mask = 0xFFFFu | ((uint32_t)VMSG_V1_STATE_MASK << 16);
	struct vmsg_spsc_guard g[2] = {
		{ ch->peer_qh, qh_mask, VMSG_V1_QH_MAGIC | ((uint32_t)VMSG_SHM_RUN << 16),
		  VMSG_V1_QH_MAGIC | ((uint32_t)VMSG_SHM_READY << 16) },
		{ ch->peer_qh + VMSG_SIDE_OFF_EPOCH, 0xFFFFFFFFu, ch->peer_epoch, ch->peer_epoch },
	};
	unsigned n = ch->extended ? 2 : 1;

	vmsg_spsc_prod_set_guard(&ch->tx, g, n);
	vmsg_spsc_cons_set_guard(&ch->rx, g, n);
}

/* Out of RUN: the rings no longer check the peer. */
static void drop_guards(struct vmsg_shm_chan *ch)
{
	vmsg_spsc_prod_set_guard(&ch->tx, 0, 0);
	vmsg_spsc_cons_set_guard(&ch->rx, 0, 0);
}

/*
 * Step 3: pair with the peer life we see, publish RUN, then look again after
 * a full fence. If the peer restarted meanwhile, it either saw our RUN and
 * waits in INIT, or we see its restart here: back to READY, nothing sent or
 * consumed yet (model/lifecycle.pml, DOC_STEP3).
 */
static int enter_run(struct vmsg_shm_chan *ch, uint32_t st, uint32_t epoch)
{
	uint32_t pw;

	ch->peer_epoch = epoch;
	ch->peer_was_run = st == VMSG_SHM_RUN;
	set_guards(ch);
	publish_state(ch, VMSG_SHM_RUN);
	vmsg_shm_fence(ch->mem);
	pw = word_load(ch, ch->peer_qh);
	st = (pw >> 16) & VMSG_V1_STATE_MASK;
	if ((pw & 0xFFFFu) != VMSG_V1_QH_MAGIC || (st != VMSG_SHM_READY && st != VMSG_SHM_RUN) ||
	    (ch->extended && word_load(ch, ch->peer_qh + VMSG_SIDE_OFF_EPOCH) != epoch)) {
		drop_guards(ch);
		publish_state(ch, VMSG_SHM_READY);
		return 0;
	}
	ch->peer_id = ch->extended ? word_load(ch, ch->peer_qh + VMSG_SIDE_OFF_PEER_ID) : 0;
	return VMSG_SHM_EV_UP;
}

/* RUN: has the peer gone away or restarted since we entered RUN? */
static bool peer_lost(struct vmsg_shm_chan *ch, bool magic, uint32_t st, uint32_t epoch)
{
	if (!magic || st == VMSG_SHM_INIT || st >= VMSG_SHM_SHUTDOWN)
		return true;
	if (ch->extended && epoch != ch->peer_epoch)
		return true;
	/* A plain v1 peer that restarts may go straight back to READY. */
	if (st == VMSG_SHM_READY && ch->peer_was_run)
		return true;
	if (st == VMSG_SHM_RUN)
		ch->peer_was_run = true;
	return false;
}

/*
 * Plain v1, step 2 (docs/ring-protocol.md, "Plain v1 peers"): we are INIT,
 * after a start or because the peer went away, and plain_look() has looked
 * at the peer once since we published INIT.
 *  - Peer INIT, or READY published after our INIT (fresh): it waits for us
 *    and has cached nothing of ours: zero our array, reset both indices.
 *  - Peer RUN, or READY that may have seen our earlier READY or RUN: it does
 *    not wait for us, may have cached our producer index and never looks at
 *    our state again: resync. Our producer index stays (it may still read
 *    up to it) over a zeroed array, and we take its consumer index. Our
 *    consumer takes its producer index: what it published so far is
 *    dropped, also when we are back because it went away (a new life's
 *    producer may have run on our consumer index of its earlier life, so
 *    those slots are in no order we can trust: model/plain_v1.pml).
 *  - Peer above RUN, or no magic: wait here, where a plain peer that starts
 *    finds a state it accepts; a READY seen later is fresh.
 */
static void plain_init_step(struct vmsg_shm_chan *ch, bool magic, uint32_t st)
{
	if (!magic || st > VMSG_SHM_RUN) {
		ch->fresh = true;
		return;
	}
	if (st == VMSG_SHM_INIT || (st == VMSG_SHM_READY && ch->fresh)) {
		vmsg_spsc_prod_reset(&ch->tx, true);
		vmsg_spsc_cons_reset(&ch->rx);
	} else if (vmsg_spsc_prod_resync(&ch->tx) ||
		   vmsg_spsc_cons_resync(&ch->rx, true)) {
		return; /* an index out of range: wait */
	}
	publish_state(ch, VMSG_SHM_READY);
}

/*
 * Plain v1 in RUN: a peer that restarts goes back to RUN in microseconds
 * without waiting for us, so its state may never show it. Its indices do:
 * one that moves back is a violation the ring latches (VMSG_EPROTO), and
 * with a plain peer that means a restart, not a broken ring.
 */
static bool plain_rings_lost(struct vmsg_shm_chan *ch)
{
	return vmsg_spsc_prod_check(&ch->tx) != 0 || vmsg_spsc_cons_check(&ch->rx) != 0;
}

#if !VMSG_CONFIG_SHM_V1_OWNER_ONLY
/* Two validations of a layout describe the same geometry. */
static bool same_layout(const struct vmsg_shm_v1_info *a, const struct vmsg_shm_v1_info *b)
{
	return a->features == b->features && a->num_notif == b->num_notif &&
	       a->num_vq_notif_per_device == b->num_vq_notif_per_device &&
	       a->num_elems == b->num_elems && a->elem_size == b->elem_size &&
	       a->dev_notif == b->dev_notif && a->dev_qh == b->dev_qh &&
	       a->dev_elems == b->dev_elems && a->drv_notif == b->drv_notif &&
	       a->drv_qh == b->drv_qh && a->drv_elems == b->drv_elems &&
	       a->extended == b->extended && a->window_off == b->window_off &&
	       a->window_size == b->window_size;
}

/*
 * Not the owner, and not in RUN: is the layout still the one we validated?
 * An owner that restarts with other parameters writes a new one: it
 * withdraws the magic, clears both queue heads and writes the header anew
 * (layout_v1.c). Our rings would keep the old offsets and sizes and never
 * meet it again. So out of RUN (a restart takes us out of RUN first: its
 * INIT, or the cleared queue head, fails the guard) we check, and detach
 * when it moved, or while it is withdrawn: the next poll validates afresh
 * and starts our side on what the owner wrote. In RUN the guards watch.
 */
static bool layout_moved(struct vmsg_shm_chan *ch)
{
	struct vmsg_shm_v1_info now;

	if (ch->cfg.owner || ch->state == VMSG_SHM_RUN)
		return false;
	return vmsg_shm_v1_validate(ch->base, ch->size, ch->mem, &now) != 0 ||
	       !same_layout(&now, &ch->info);
}
#else
#define layout_moved(ch) ((void)(ch), false) /* always the owner */
#endif

int vmsg_shm_chan_poll(struct vmsg_shm_chan *ch)
{
	uint32_t pw, st, epoch = 0;
	bool magic;
	int ev = 0;

	if (!ch)
		return VMSG_EINVAL;
	if (ch->profile == 0)
		return 0;
	if (ch->attached && layout_moved(ch)) {
		drop_guards(ch);
		ch->attached = false;
		ch->state = VMSG_SHM_INIT; /* published once we are attached again */
	}
	if (!ch->attached) {
		int err = attach(ch);

		return err == VMSG_EAGAIN ? 0 : err;
	}
	pw = word_load(ch, ch->peer_qh);
	magic = (pw & 0xFFFFu) == VMSG_V1_QH_MAGIC;
	st = (pw >> 16) & VMSG_V1_STATE_MASK;
	if (ch->extended)
		epoch = word_load(ch, ch->peer_qh + VMSG_SIDE_OFF_EPOCH);

	switch (ch->state) {
	case VMSG_SHM_INIT:
	case VMSG_SHM_PEER_DEAD:
		if (!ch->extended) {
			plain_init_step(ch, magic, st);
			break;
		}
		/* INIT: a peer still in RUN has not seen our restart yet: wait.
		 * Once it is INIT or READY it reads nothing of ours: zero our
		 * array. PEER_DEAD: drop what the old peer never read, in both
		 * rings; the new one starts clean. */
		if (magic && (st == VMSG_SHM_INIT || st == VMSG_SHM_READY)) {
			vmsg_spsc_prod_reset(&ch->tx, true);
			if (ch->state == VMSG_SHM_PEER_DEAD)
				vmsg_spsc_cons_reset(&ch->rx);
			publish_state(ch, VMSG_SHM_READY);
		}
		break;
	case VMSG_SHM_READY:
		if (magic && (st == VMSG_SHM_READY || st == VMSG_SHM_RUN))
			ev |= enter_run(ch, st, epoch);
		break;
	case VMSG_SHM_RUN:
		if (peer_lost(ch, magic, st, epoch) || (!ch->extended && plain_rings_lost(ch)))
			ev |= vmsg_shm_chan_peer_gone(ch);
		break;
	default: /* SHUTDOWN: closed by us */
		break;
	}
	return ev;
}

/*
 * The peer went away. Extended: PEER_DEAD (step 4). Plain v1: a plain peer
 * that starts while we show PEER_DEAD (above RUN) gives up for good, so we
 * start our own side again instead (INIT), keeping our indices for step 2.
 */
int vmsg_shm_chan_peer_gone(struct vmsg_shm_chan *ch)
{
	bool was_run = ch->state == VMSG_SHM_RUN;

	if (ch->profile == 0) /* v0 has no lifecycle: the port decides */
		return 0;
	if (ch->state == VMSG_SHM_RUN || ch->state == VMSG_SHM_READY) {
		drop_guards(ch);
		if (ch->extended) {
			publish_state(ch, VMSG_SHM_PEER_DEAD);
		} else {
			publish_state(ch, VMSG_SHM_INIT);
			ch->peer_was_run = false;
			plain_look(ch);
		}
	}
	if (!was_run)
		return 0;
	ch->restarts_seen++;
	return VMSG_SHM_EV_DOWN;
}

int vmsg_shm_chan_state(const struct vmsg_shm_chan *ch)
{
	return ch->state;
}

uint32_t vmsg_shm_chan_peer_id(const struct vmsg_shm_chan *ch)
{
	return ch->peer_id;
}

bool vmsg_shm_chan_peer_id_now(const struct vmsg_shm_chan *ch, uint32_t *id)
{
	if (!ch || !id || ch->profile != 1 || !ch->attached || !ch->extended)
		return false;
	if ((word_load(ch, ch->peer_qh) & 0xFFFFu) != VMSG_V1_QH_MAGIC)
		return false;
	*id = word_load(ch, ch->peer_qh + VMSG_SIDE_OFF_PEER_ID);
	return true;
}

void vmsg_shm_chan_set_own_id(struct vmsg_shm_chan *ch, uint32_t id)
{
	ch->cfg.peer_id = id;
	if (ch->profile == 1 && ch->attached && ch->extended)
		word_store(ch, ch->own_qh + VMSG_SIDE_OFF_PEER_ID, id);
}

int vmsg_shm_ring_err(const struct vmsg_shm_chan *ch, int err)
{
	return err == VMSG_EPROTO && ch->profile == 1 && !ch->extended ? VMSG_ECONNRESET : err;
}

int vmsg_shm_chan_send(struct vmsg_shm_chan *ch, const void *msg, size_t len)
{
	if (ch->state != VMSG_SHM_RUN)
		return VMSG_ESTATE;
	return vmsg_shm_ring_err(ch, vmsg_spsc_push(&ch->tx, msg, len));
}

int vmsg_shm_chan_recv(struct vmsg_shm_chan *ch, void *buf, size_t cap)
{
	if (ch->state != VMSG_SHM_RUN)
		return VMSG_ESTATE;
	return vmsg_shm_ring_err(ch, vmsg_spsc_pop(&ch->rx, buf, cap));
}

bool vmsg_shm_chan_need_kick(struct vmsg_shm_chan *ch)
{
	return vmsg_spsc_prod_need_kick(&ch->tx);
}

int vmsg_shm_chan_arm(struct vmsg_shm_chan *ch)
{
	if (ch->state != VMSG_SHM_RUN)
		return VMSG_ESTATE;
	return vmsg_shm_ring_err(ch, vmsg_spsc_cons_arm(&ch->rx));
}

void vmsg_shm_chan_awake(struct vmsg_shm_chan *ch)
{
	vmsg_spsc_cons_awake(&ch->rx);
}

void vmsg_shm_chan_shutdown(struct vmsg_shm_chan *ch)
{
	if (ch->profile == 1 && ch->attached)
		publish_state(ch, VMSG_SHM_SHUTDOWN);
	ch->state = VMSG_SHM_SHUTDOWN;
}

uint32_t vmsg_shm_chan_slot_size(const struct vmsg_shm_chan *ch)
{
	return ch->tx.d.slot_size;
}
