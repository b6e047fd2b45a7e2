/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device numbers and the bus messages: GET_DEVICES (both roles), PING
 * (either side) and EVENT_DEVICE (virtio-msg 1.5, 1.12; BUS-20..25, 48..59).
 */
#include "bus/bus_internal.h"

struct vmsg_bus_dev *vmsg_bus_find_dev(const struct vmsg_bus *b, uint16_t dev_num)
{
	for (unsigned i = 0; i < b->cfg.num_devs; i++)
		if (b->cfg.devs[i].used && b->cfg.devs[i].dev_num == dev_num)
			return &b->cfg.devs[i];
	return 0;
}

struct vmsg_bus_dev *vmsg_bus_new_dev(struct vmsg_bus *b, uint16_t dev_num)
{
	struct vmsg_bus_dev *d = vmsg_bus_find_dev(b, dev_num);

	for (unsigned i = 0; !d && i < b->cfg.num_devs; i++) {
		if (!b->cfg.devs[i].used) {
			d = &b->cfg.devs[i];
			*d = (struct vmsg_bus_dev){ dev_num, 0, 1, 0, 0 };
		}
	}
	return d;
}

static int send_event_device(struct vmsg_bus *b, uint16_t dev_num, uint16_t state)
{
	struct vmsg_msg ev = { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_EVENT_DEVICE };

	ev.u.event_device.dev_num = dev_num;
	ev.u.event_device.state = state;
	return vmsg_bus_send_event(b, &ev);
}

int vmsg_bus_add_device(struct vmsg_bus *b, uint16_t dev_num, vmsg_bus_msg_fn fn, void *ctx,
			bool announce)
{
	struct vmsg_bus_dev *d;

	if (!b || !vmsg_bus_is_device(b) || !fn)
		return VMSG_EINVAL;
	if (vmsg_bus_find_dev(b, dev_num))
		return VMSG_EBUSY; /* BUS-20: unique per bus */
	d = vmsg_bus_new_dev(b, dev_num);
	if (!d)
		return VMSG_ENOSPC;
	d->fn = fn;
	d->ctx = ctx;
	d->present = 1;
	if (announce) {
		int err = send_event_device(b, dev_num, VMSG_EVDEV_STATE_ADDED);

		if (err) {
			*d = (struct vmsg_bus_dev){ 0 }; /* all or nothing: retry later */
			return err;
		}
	}
	return 0;
}

int vmsg_bus_remove_device(struct vmsg_bus *b, uint16_t dev_num, bool announce)
{
	struct vmsg_bus_dev *d = b ? vmsg_bus_find_dev(b, dev_num) : 0;

	if (!d)
		return VMSG_ENODEV;
	*d = (struct vmsg_bus_dev){ 0 };
	if (vmsg_bus_is_driver(b)) {
		vmsg_bus_fail_pending(b, VMSG_ENODEV, true, dev_num);
		return 0;
	}
	return announce ? send_event_device(b, dev_num, VMSG_EVDEV_STATE_REMOVED) : 0;
}

int vmsg_bus_attach_device(struct vmsg_bus *b, uint16_t dev_num, vmsg_bus_msg_fn fn, void *ctx,
			   bool present)
{
	struct vmsg_bus_dev *d;

	if (!b || !vmsg_bus_is_driver(b))
		return VMSG_EINVAL;
	d = vmsg_bus_new_dev(b, dev_num);
	if (!d)
		return VMSG_ENOSPC;
	d->fn = fn;
	d->ctx = ctx;
	if (present)
		d->present = 1;
	return 0;
}

bool vmsg_bus_device_present(const struct vmsg_bus *b, uint16_t dev_num)
{
	const struct vmsg_bus_dev *d = vmsg_bus_find_dev(b, dev_num);

	return d && d->present;
}

/* Driver side: a device is there (EVENT_DEVICE ADDED or a discovery).
 * Returns false when a present device could not be recorded (table full). */
static bool mark_present(struct vmsg_bus *b, uint16_t dev_num, bool present)
{
	struct vmsg_bus_dev *d = present ? vmsg_bus_new_dev(b, dev_num) : vmsg_bus_find_dev(b, dev_num);

	if (!d) {
		if (present)
			b->stats.drop_table_full++;
		return !present;
	}
	/* Duplicates and reordering are tolerated: only changes are reported. */
	if (d->present == present)
		return true;
	d->present = present;
	if (!present)
		vmsg_bus_fail_pending(b, VMSG_ENODEV, true, dev_num);
	if (b->cfg.on_device)
		b->cfg.on_device(b->cfg.on_device_ctx, dev_num,
				 present ? VMSG_EVDEV_STATE_ADDED : VMSG_EVDEV_STATE_REMOVED);
	return true;
}

/* Answer a bus request. If the port cannot take it the answer is lost and
 * counted; the requester's bounded timeout covers it (BUS-26). */
static void answer(struct vmsg_bus *b, const struct vmsg_msg *req, struct vmsg_msg *resp)
{
	if (vmsg_bus_respond(b, req, resp) != 0)
		b->stats.respond_failed++;
}

/* ---------------------------------------------------------------------- */
/* GET_DEVICES, device side                                               */
/* ---------------------------------------------------------------------- */

static void answer_get_devices(struct vmsg_bus *b, const struct vmsg_msg *req)
{
	uint8_t bitmap[256]; /* the window is limited to what fits here and in a message */
	uint32_t off = req->u.get_devices.offset;
	uint32_t count = req->u.get_devices.count;
	uint32_t cap = vmsg_cap_get_devices_slots(b->params.max_msg_size);
	uint32_t from, next = 0;
	struct vmsg_msg resp = { 0 };

	/* BUS-54: the window may shrink (message size, end of the number
	 * space), never grow (BUS-50); the bitmap describes what we return. */
	if (cap > 8u * sizeof(bitmap))
		cap = 8u * sizeof(bitmap);
	if (count > cap)
		count = cap;
	if (count > 0x10000u - off)
		count = 0x10000u - off;
	for (uint32_t i = 0; i < (count + 7u) / 8u; i++)
		bitmap[i] = 0;
	/* One pass: the offered numbers in the window go into the bitmap; of
	 * those from @from on (all past the window), the smallest is the next
	 * offset. Terminal (0, BUS-52) when nothing is offered past the
	 * window; else the next offered number, which is > offset (BUS-53). */
	from = off + (count ? count : 1u);
	for (unsigned i = 0; i < b->cfg.num_devs; i++) {
		const struct vmsg_bus_dev *d = &b->cfg.devs[i];
		uint32_t n = d->dev_num;

		if (!d->used || !d->present)
			continue;
		if (n - off < count) /* off <= n < off + count */
			bitmap[(n - off) / 8u] |= (uint8_t)(1u << ((n - off) % 8u));
		else if (n >= from && (next == 0 || n < next))
			next = n;
	}
	resp.u.get_devices.offset = (uint16_t)off;
	resp.u.get_devices.count = (uint16_t)count;
	resp.u.get_devices.next_offset = (uint16_t)next;
	resp.u.get_devices.bitmap = bitmap;
	answer(b, req, &resp);
}

/* ---------------------------------------------------------------------- */
/* Dispatch of bus messages                                               */
/* ---------------------------------------------------------------------- */

void vmsg_bus_handle_bus_msg(struct vmsg_bus *b, const struct vmsg_msg *m)
{
	bool device = vmsg_bus_is_device(b);

	if (m->msg_id & VMSG_ID_IMPL) {
		if (b->cfg.on_impl)
			b->cfg.on_impl(b->cfg.on_impl_ctx, b, m);
		else
			b->stats.drop_unsupported++;
		return;
	}
	if (m->type & VMSG_TYPE_RESPONSE) {
		vmsg_bus_complete_response(b, m);
		return;
	}
	switch (m->msg_id) {
	case VMSG_BUS_ID_PING: {
		struct vmsg_msg resp = { 0 };

		resp.u.ping.data = m->u.ping.data; /* BUS-56: echoed exactly */
		answer(b, m, &resp);
		return;
	}
	case VMSG_BUS_ID_GET_DEVICES:
		if (device)
			answer_get_devices(b, m);
		else
			b->stats.drop_unsupported++;
		return;
	case VMSG_BUS_ID_EVENT_DEVICE:
		if (device) {
			b->stats.drop_unsupported++;
			return;
		}
		b->stats.events_in++;
		if (m->u.event_device.state == VMSG_EVDEV_STATE_ADDED)
			(void)mark_present(b, m->u.event_device.dev_num, true); /* counted if full */
		else if (m->u.event_device.state == VMSG_EVDEV_STATE_REMOVED)
			(void)mark_present(b, m->u.event_device.dev_num, false);
		else if (b->cfg.on_device) /* bus-defined states pass through */
			b->cfg.on_device(b->cfg.on_device_ctx, m->u.event_device.dev_num,
					 m->u.event_device.state);
		return;
	default:
		b->stats.drop_unsupported++;
		return;
	}
}

/* ---------------------------------------------------------------------- */
/* Driver-side helpers: discovery and PING                                */
/* ---------------------------------------------------------------------- */

struct discovery {
	struct vmsg_bus *b;
	uint32_t off;        /* window requested */
	uint32_t count;
	uint32_t next;       /* next_offset of the answer */
	int found;
	bool overflow;       /* a present device did not fit the table */
};

/* One GET_DEVICES window: validated before any number is exposed (BUS-23). */
static int take_window(void *ctx, const struct vmsg_msg *resp)
{
	struct discovery *ds = ctx;
	const struct vmsg_get_devices *g = &resp->u.get_devices;

	if (g->offset != ds->off || g->count > ds->count) /* echo; BUS-50 */
		return VMSG_EPROTO;
	for (uint32_t n = 0; n < g->count; n++) {
		if (vmsg_get_devices_present(g, n)) {
			if (mark_present(ds->b, (uint16_t)(ds->off + n), true))
				ds->found++;
			else
				ds->overflow = true;
		}
	}
	ds->next = g->next_offset;
	return 0;
}

int vmsg_bus_discover(struct vmsg_bus *b, uint64_t timeout_ns)
{
	struct discovery ds = { b, 0, 0, 0, 0, false };

	if (!b || !vmsg_bus_is_driver(b))
		return VMSG_EINVAL;
	for (;;) {
		struct vmsg_msg req = { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_GET_DEVICES };
		/* Whole bytes of bitmap (2025 peers want multiples of 8). */
		uint32_t want = vmsg_cap_get_devices_slots(b->params.max_msg_size) & ~7u;
		int err;

		if (want > 0x10000u - ds.off)
			want = 0x10000u - ds.off;
		ds.count = want > 0xFFF8u ? 0xFFF8u : want;
		req.u.get_devices.offset = (uint16_t)ds.off;
		req.u.get_devices.count = (uint16_t)ds.count;
		err = vmsg_bus_call_fn(b, &req, timeout_ns, b->cfg.retries, take_window, &ds);
		if (err)
			return err;
		if (ds.next == 0)
			return ds.overflow ? VMSG_ENOSPC : ds.found;
		ds.off = ds.next; /* > offset (checked by the codec): this ends */
	}
}

static int check_echo(void *ctx, const struct vmsg_msg *resp)
{
	return resp->u.ping.data == *(const uint32_t *)ctx ? 0 : VMSG_EPROTO;
}

int vmsg_bus_ping(struct vmsg_bus *b, uint32_t data, uint64_t timeout_ns)
{
	struct vmsg_msg req = { .type = VMSG_TYPE_BUS, .msg_id = VMSG_BUS_ID_PING };

	if (!b)
		return VMSG_EINVAL;
	req.u.ping.data = data;
	return vmsg_bus_call_fn(b, &req, timeout_ns, b->cfg.retries, check_echo, &data);
}
