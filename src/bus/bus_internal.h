/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to src/bus: pieces shared by the bus core's files. */
#ifndef VMSG_BUS_INTERNAL_H
#define VMSG_BUS_INTERNAL_H

#include "virtio_msg/bus.h"
#include "virtio_msg/config.h"

/*
 * The role of a bus. In a one-role build (config.h) it is a constant, so
 * the compiler drops every path of the other role: no #if in the bus code.
 */
static inline bool vmsg_bus_is_device(const struct vmsg_bus *b)
{
	if (!VMSG_CONFIG_HAS_DRIVER)
		return true;
	if (!VMSG_CONFIG_HAS_DEVICE)
		return false;
	return b->cfg.role == VMSG_BUS_DEVICE;
}

static inline bool vmsg_bus_is_driver(const struct vmsg_bus *b)
{
	return !vmsg_bus_is_device(b);
}

/* Whether the bus speaks the 2025 profile (a constant when compiled out). */
static inline bool vmsg_bus_is_2025(const struct vmsg_bus *b)
{
	return !VMSG_CONFIG_NO_PROFILE_2025 && b->codec.profile == VMSG_PROFILE_2025;
}

/* Read the bus clock (ns from ops->now, else counted ticks); the reading
 * stays in b->last_now. Reads cost 40-60 ns on some hosts: the bus reads it
 * once per submit and, while a request is pending, once per poll. */
uint64_t vmsg_bus_now(struct vmsg_bus *b);

/* Encode @m into tx_buf and hand it to the port. */
int vmsg_bus_send_msg(struct vmsg_bus *b, const struct vmsg_msg *m);

/* A response arrived: complete its request, or count it as unmatched. */
void vmsg_bus_complete_response(struct vmsg_bus *b, const struct vmsg_msg *m);

/* Complete every pending request (optionally only those for one device). */
void vmsg_bus_fail_pending(struct vmsg_bus *b, int status, bool one_dev, uint16_t dev_num);

/* The same in two steps, for a caller that runs callbacks in between:
 * choose the requests pending now, then fail those of them still pending
 * (requests.c explains the marks). */
struct vmsg_bus_fail {
	uint32_t bits[256 / 32];
	uint8_t mark;
};
void vmsg_bus_fail_choose(struct vmsg_bus *b, struct vmsg_bus_fail *f, bool one_dev,
			  uint16_t dev_num);
void vmsg_bus_fail_chosen(struct vmsg_bus *b, const struct vmsg_bus_fail *f, int status);

/* Complete requests whose deadline is <= @now with VMSG_ETIMEDOUT, and
 * recompute b->next_deadline. */
void vmsg_bus_expire(struct vmsg_bus *b, uint64_t now);

/* Handle a response inside the dispatch (its views are valid only then). */
typedef int (*vmsg_bus_resp_fn)(void *ctx, const struct vmsg_msg *resp);

/* Submit @req and poll/wait until it completes; @on_resp runs on success
 * and its return value is the result. Retries on timeout. */
int vmsg_bus_call_fn(struct vmsg_bus *b, const struct vmsg_msg *req, uint64_t timeout_ns,
		     unsigned retries, vmsg_bus_resp_fn on_resp, void *ctx);

/* Device table. */
struct vmsg_bus_dev *vmsg_bus_find_dev(const struct vmsg_bus *b, uint16_t dev_num);
struct vmsg_bus_dev *vmsg_bus_new_dev(struct vmsg_bus *b, uint16_t dev_num);

/* Bus messages (GET_DEVICES, PING, EVENT_DEVICE). */
void vmsg_bus_handle_bus_msg(struct vmsg_bus *b, const struct vmsg_msg *m);

#endif /* VMSG_BUS_INTERNAL_H */
