/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file bus.h
 * @brief The bus: the one vtable a port implements (struct vmsg_bus_ops),
 *        and the bus core written once for every port (struct vmsg_bus).
 *
 * The bus core correlates requests and responses by token with many
 * requests in flight, bounds every request with a timeout, implements the
 * bus messages (GET_DEVICES, PING, EVENT_DEVICE) in both roles, routes
 * transport messages by device number, and counts everything it drops. It
 * never runs a loop and never sleeps by itself: the application calls
 * vmsg_bus_poll() when the port's wait handle fires (or from a busy loop),
 * and the blocking helpers take a caller timeout.
 *
 * Thread safety: one thread drives a bus (poll, submit and respond).
 *
 * Callbacks (completions, device handlers, on_device, on_impl, on_params)
 * run inside vmsg_bus_poll() and may submit, respond, send events, add or
 * remove devices, and close the bus: after a close the poll returns at
 * once and no port op is called again. They must not call the blocking
 * helpers (vmsg_bus_call(), _ping(), _discover(), _send_event_timeout(),
 * _wait()) nor vmsg_bus_poll(): that would poll again inside the poll.
 */
#ifndef VIRTIO_MSG_BUS_H
#define VIRTIO_MSG_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_msg/defs.h"
#include "virtio_msg/errors.h"
#include "virtio_msg/proto.h"

VMSG_BEGIN_DECLS

/** Out-of-band bus parameters (BUS-5): fixed while a device is active. */
struct vmsg_bus_params {
	uint32_t revision;           /**< transport revision (1) */
	uint32_t max_msg_size;       /**< 52..65535 (2025 profile: 48..), header included */
	uint64_t transport_features; /**< VMSG_TF_* supported by both sides */
};

/** Infinite wait for vmsg_bus_ops.wait. */
#define VMSG_WAIT_FOREVER (-1)

/**
 * The port interface. Every op returns 0 or a negative VMSG_E* code (arm()
 * and recv() also positive values, as they say). The table is validated
 * once by vmsg_bus_init(); required ops must not be NULL. `priv` is the
 * port's own state. No op may call back into the bus. The bus calls the ops
 * from the one thread that drives it, never two at once. Only wait() may
 * block; every other op returns without waiting for the peer. Buffers
 * passed in belong to the caller and are not kept after the op returns.
 */
struct vmsg_bus_ops {
	/**
	 * Required. Queue one encoded message (@p len bytes, msg_size) for the
	 * peer and, if the peer needs it, ring its doorbell. Never blocks. The
	 * bytes are copied before returning.
	 * @retval 0 queued. @retval VMSG_EAGAIN no room now, or not yet (a
	 * reset recv() has still to report: new parameters, BUS-9); the bus
	 * retries after a poll. @retval VMSG_ECONNRESET the peer is gone.
	 * @retval VMSG_EMSGSIZE larger than the port's slots.
	 */
	int (*send)(void *priv, const uint8_t *msg, size_t len);
	/**
	 * Required. Take one received message without blocking, copying it into
	 * @p buf (@p cap >= the maximum message size; the bus always passes
	 * that). The message leaves the port: it is not delivered again. A
	 * message longer than @p cap is cut to @p cap bytes (its msg_size
	 * then exceeds what was stored, and the bus drops it as malformed).
	 * @return bytes stored (> 0; may exceed msg_size by slot padding),
	 * VMSG_EAGAIN when nothing is there, VMSG_ECONNRESET once each time the
	 * peer went away (pending requests fail) and once each time the
	 * values params() reports changed (the bus reads them again before it
	 * sends more: BUS-9), VMSG_EPROTO on a broken peer.
	 */
	int (*recv)(void *priv, uint8_t *buf, size_t cap);
	/**
	 * Required. Block until a doorbell or @p timeout_ns (VMSG_WAIT_FOREVER
	 * allowed) passes. May return early or spuriously: the bus always
	 * re-checks. Before sleeping the port must make sure a message that
	 * arrived meanwhile is not missed (arm, then re-check). A timeout of 0
	 * looks and returns. The only op that may block.
	 * @retval 0 woken or work pending. @retval VMSG_ETIMEDOUT.
	 * @retval VMSG_EIO (or another negative code) the OS wait failed: the
	 * bus returns it from vmsg_bus_wait() without polling.
	 */
	int (*wait)(void *priv, int64_t timeout_ns);
	/**
	 * Required. Report the bus parameters into @p out. Never blocks.
	 * Called at init and after each VMSG_ECONNRESET from recv() (BUS-9).
	 * An error fails vmsg_bus_init() with it; after a reset the bus treats
	 * it as refused parameters (vmsg_bus_params_fn).
	 */
	int (*params)(void *priv, struct vmsg_bus_params *out);
	/**
	 * Optional. Monotonic time in nanoseconds (never goes back). Never
	 * blocks. Read at init: an error there means no clock. Without one,
	 * time is counted in waits, each as long as the bus allowed it
	 * (vmsg_bus_cfg.tick_ns at most, for a blocking call), woken early or
	 * not: budgets then bound the number of waits, not wall time (and
	 * the count stops at 2^64 - 1 ns: wait for ever with
	 * VMSG_WAIT_FOREVER, not INT64_MAX). If it fails later, the bus
	 * counts waits from its last reading on.
	 */
	int (*now)(void *priv, uint64_t *ns);
	/**
	 * Optional. Translate the bus address range [addr, addr + len) to a
	 * local pointer, bounds-checked: all of it lies in one window. Never
	 * blocks. The pointer stays valid until close(). vmsg_bus_translate()
	 * refuses a zero length (VMSG_EINVAL) and a range that wraps
	 * (VMSG_ERANGE) before calling it. @retval VMSG_ERANGE outside every
	 * window. @retval VMSG_ENOTSUP the port has no shared buffer memory.
	 */
	int (*translate)(void *priv, uint64_t addr, uint64_t len, void **ptr);
	/**
	 * Optional. Release the port's resources (may wait for the OS to close
	 * them, never for the peer). The bus calls it once, from
	 * vmsg_bus_close(), after failing what was pending, and returns its
	 * result; no op is called after it.
	 */
	int (*close)(void *priv);
	/**
	 * Optional. For an application that sleeps in its own event loop on
	 * the port's fd instead of in wait(): make sure the next message rings
	 * the doorbell (with kick suppression: tell the peer we are about to
	 * sleep), then re-check. Never blocks.
	 * @retval 0 nothing is pending: the caller may sleep until the fd is
	 * readable. @retval >0 messages are pending (or the port has something
	 * to report): poll before sleeping. Without it the bus assumes every
	 * message rings the doorbell.
	 */
	int (*arm)(void *priv);
	/**
	 * Optional. recv(), and say whether another message is already known
	 * to be waiting: after a message (> 0) the port sets @p *more to false
	 * when, as of its last look at the peer, it holds nothing more.
	 * vmsg_bus_poll() then returns instead of asking again (on a shared
	 * ring an empty receive is a look at the peer's memory). A message
	 * the port had not seen by then is taken by the next poll: the port's
	 * wait() and arm() must see it (they re-check before sleeping, as
	 * they must anyway). @p *more is left alone unless the result is > 0.
	 * When present, the bus uses it for every receive (built optimised for
	 * size, it keeps to recv()); recv() is still required.
	 */
	int (*recv_more)(void *priv, uint8_t *buf, size_t cap, bool *more);
	/**
	 * Optional. Cork (@p on) or uncork the sends: corked, send() may leave
	 * the doorbell of a message to the flush, which covers every message
	 * sent since: the uncork, the next wait() or arm(), or a send() that
	 * finds no room. Uncorking rings the doorbell if the peer needs it.
	 * Never blocks. Without it every send rings as it goes. Called only
	 * through vmsg_bus_cork().
	 */
	int (*cork)(void *priv, bool on);
	/**
	 * Optional. Ring the peer's doorbell now, whether or not the peer said
	 * it sleeps: a hint to look at what it shares with us, never a count
	 * (BUS-44). Sends ring it themselves when the peer needs it, so the
	 * bus never calls this on its own; an application does, through
	 * vmsg_bus_kick(), after changing shared memory the peer watches
	 * outside the message rings (virtqueues), or to wake a peer it knows
	 * sleeps. A corked burst is flushed first. Never blocks.
	 * @retval 0 rung. @retval VMSG_EIO the doorbell failed.
	 */
	int (*kick)(void *priv);
	/**
	 * Optional. The number of doorbells this port has rung (for sends,
	 * flushes and kick() alike), into @p *rung, for vmsg_bus_get_stats().
	 * Never blocks.
	 */
	int (*doorbells)(void *priv, uint64_t *rung);
};

/** Which side of the bus this endpoint is. */
enum vmsg_bus_role {
	VMSG_BUS_DRIVER = 0, /**< uses devices: sends requests, gets events */
	VMSG_BUS_DEVICE = 1, /**< offers devices: answers requests */
};

struct vmsg_bus;

/**
 * Completion of a request: exactly once (BUS-27), with status 0 and the
 * decoded response (views valid only during the call), or a negative
 * status and NULL: VMSG_ETIMEDOUT (no answer in time), VMSG_ECONNRESET (the
 * peer went away), VMSG_ECANCELED (the bus closed), VMSG_ENODEV (the device
 * was removed while the request was in flight).
 */
typedef void (*vmsg_bus_done_fn)(void *ctx, int status, const struct vmsg_msg *resp);

/**
 * A transport message for one device: on the device side every request and
 * EVENT_AVAIL; on the driver side EVENT_CONFIG and EVENT_USED. Views are
 * valid only during the call. A device answers with vmsg_bus_respond().
 */
typedef void (*vmsg_bus_msg_fn)(void *ctx, struct vmsg_bus *bus, const struct vmsg_msg *msg);

/** Driver side: a device appeared (ADDED) or went away (REMOVED). */
typedef void (*vmsg_bus_device_fn)(void *ctx, uint16_t dev_num, uint16_t state);

/** An implementation-defined bus message (bus msg_id bit 7). */
typedef void (*vmsg_bus_impl_fn)(void *ctx, struct vmsg_bus *bus, const struct vmsg_msg *msg);

/**
 * The bus parameters changed (BUS-9; the port reported a reset, and the bus
 * read them again). @p status is 0 when the bus accepted @p p: they are in
 * force (vmsg_bus_get_params()), and the transport must revalidate what it
 * derived from the old ones (the maximum message size: configuration
 * chunks, GET_DEVICES windows). Otherwise it is why they were refused
 * (VMSG_EINVAL: out of range or larger than the bus's buffers, or the
 * port's params() error): the bus then sends nothing (VMSG_ESTATE) and
 * drops what arrives (stats.drop_bad_params) until a later reset brings
 * parameters it accepts. Called before the requests pending at the
 * reset fail with VMSG_ECONNRESET, so a completion that submits again
 * meets the parameters in force.
 */
typedef void (*vmsg_bus_params_fn)(void *ctx, struct vmsg_bus *bus, int status,
				   const struct vmsg_bus_params *p);

/** One in-flight request slot. The caller provides an array of them. */
struct vmsg_bus_req {
	vmsg_bus_done_fn done;
	void *ctx;
	uint64_t deadline;  /* in now() ns, or in ticks */
	uint16_t token;
	uint16_t dev_num;
	uint8_t msg_id;
	uint8_t type;
	uint8_t busy;       /* 0 free, 1 pending, 2..255 being failed (requests.c) */
	uint8_t gen;        /* generation, part of the token */
};

/** One device number known to the bus. The caller provides an array. */
struct vmsg_bus_dev {
	uint16_t dev_num;
	uint8_t present;  /* driver side: discovered and not removed */
	uint8_t used;     /* slot in use */
	vmsg_bus_msg_fn fn;
	void *ctx;
};

/** Counters (plain, read them at any time from the bus's thread). */
struct vmsg_bus_stats {
	uint64_t sent, received;
	uint64_t requests, responses, events_in, events_out;
	uint64_t kicks_waits;          /**< wait() calls */
	uint64_t timeouts;             /**< requests completed with VMSG_ETIMEDOUT */
	uint64_t resets;               /**< times the peer went away */
	uint64_t drop_malformed;       /**< decode failed (not VMSG_ENOTSUP) */
	uint64_t drop_unsupported;     /**< unknown standard msg_id, or a role mismatch */
	uint64_t drop_unknown_device;  /**< no such device number here */
	uint64_t drop_unmatched;       /**< response nobody waits for (late, duplicate) */
	uint64_t drop_no_handler;      /**< valid, but nobody registered for it */
	uint64_t drop_table_full;      /**< a present device the device table could not hold */
	uint64_t send_full;            /**< send() said VMSG_EAGAIN */
	uint64_t respond_failed;       /**< a bus answer the port did not take */
	uint64_t kicks;                /**< doorbells rung: here those of vmsg_bus_kick();
					*   vmsg_bus_get_stats() gives all the port rang */
	uint64_t param_changes;        /**< new bus parameters read after a reset (BUS-9) */
	uint64_t drop_bad_params;      /**< arrived while the parameters were refused */
	uint64_t event_timeouts;       /**< vmsg_bus_send_event_timeout() gave up (BUS-46) */
};

/** Bus configuration. Arrays are the caller's and must outlive the bus. */
struct vmsg_bus_cfg {
	const struct vmsg_bus_ops *ops;
	void *priv;
	enum vmsg_bus_role role;
	enum vmsg_profile profile;    /**< wire profile (default 2026) */
	uint32_t codec_flags;         /**< VMSG_CODEC_F_* */
	struct vmsg_bus_req *reqs;    /**< in-flight request slots (driver side; PING on both) */
	uint16_t num_reqs;            /**< 0..256 (0: no requests, not even PING) */
	struct vmsg_bus_dev *devs;    /**< device table */
	uint16_t num_devs;
	uint8_t *rx_buf;              /**< receive buffer, >= the maximum message size */
	size_t rx_cap;
	uint8_t *tx_buf;              /**< encode buffer, >= the maximum message size */
	size_t tx_cap;
	/** Driver side: device added/removed (EVENT_DEVICE or discovery). */
	vmsg_bus_device_fn on_device;
	void *on_device_ctx;
	/** Implementation-defined bus messages (optional). */
	vmsg_bus_impl_fn on_impl;
	void *on_impl_ctx;
	/** Without ops->now: how long a blocking call's wait() may last, and
	 *  how much one vmsg_bus_prepare_sleep() counts, in ns (0 = 1 ms). */
	uint64_t tick_ns;
	/** The bus parameters changed (optional; BUS-9). */
	vmsg_bus_params_fn on_params;
	void *on_params_ctx;
	/** The retry policy of the bus's own blocking calls, vmsg_bus_discover()
	 *  and vmsg_bus_ping() (both may be repeated): tries after the first
	 *  that timed out, each with the whole budget. vmsg_bus_call() takes
	 *  its own. */
	uint8_t retries;
};

/** The bus. Visible so callers can allocate it; treat as opaque. */
struct vmsg_bus {
	struct vmsg_bus_cfg cfg;
	struct vmsg_codec codec;
	struct vmsg_bus_params params;
	struct vmsg_bus_stats stats;
	uint64_t ticks;     /* clock without ops->now */
	uint64_t last_now;  /* the bus clock as last read */
	uint64_t next_deadline; /* <= every pending request's deadline */
	const uint8_t *cur_raw; /* bytes of the message being dispatched */
	size_t cur_len;
	uint16_t next_slot; /* round-robin start for free request slots */
	uint16_t num_busy;  /* request slots in use */
	bool closed;
	bool has_now;  /* ops->now works */
	bool params_bad; /* the parameters read after a reset were refused (BUS-9) */
	uint8_t fail_pass; /* the mark of the last pass failing requests (requests.c) */
};

/**
 * @brief Validate the ops table and configuration, read the bus parameters
 *        and set up the codec.
 * @retval 0 ready. @retval VMSG_EINVAL a required op is NULL, an array is
 *         missing or too small, or the parameters are out of range
 *         (max_msg_size 52..65535, or 48..65535 with the 2025 profile,
 *         whose peers advertise 48; revision >= 1).
 * After a failure the bus is not usable (not even by vmsg_bus_close()),
 * and the port is still the caller's to close.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_init(struct vmsg_bus *b, const struct vmsg_bus_cfg *cfg);

/** @brief Fail pending requests with VMSG_ECANCELED and close the port. */
VMSG_API int vmsg_bus_close(struct vmsg_bus *b);

/**
 * @brief Drain what arrived, dispatch it, and expire timed-out requests.
 * Never blocks. Call it whenever the port's wait handle fires. Takes at most
 * 64 messages and resets per call (so a busy peer cannot hold the caller):
 * when it returns 64, more may be waiting. With a port that has recv_more,
 * what arrived is what the port had seen when it said nothing more was
 * known. Reads the clock (ops->now) once, and only while a request is
 * pending.
 * @return (>= 0) the number of messages taken from the port (each counted
 *         in stats.received, whether dispatched, dropped or malformed) plus
 *         the number of resets it reported (VMSG_ECONNRESET from recv: each
 *         fails every pending request and counts in stats.resets);
 *         VMSG_EINVAL if @p b is NULL or closed; or the negative code recv
 *         returned (VMSG_EPROTO: a broken peer), in which case what was
 *         taken before in this call was dispatched and requests whose
 *         time is up expired all the same (a peer that stays broken holds
 *         none of them past its budget).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_poll(struct vmsg_bus *b);

/**
 * @brief Before an application sleeps on the port's fd in its own event
 *        loop (poll, epoll, select), instead of in vmsg_bus_wait().
 * Ports with kick suppression (the shm bus and every port built on it) ring
 * the doorbell only for a side that said it sleeps; this says it, then
 * re-checks. Call it before *every* sleep:
 *
 *     for (;;) {
 *             if (vmsg_bus_prepare_sleep(&bus) == 0)
 *                     poll(&(struct pollfd){ port_fd, POLLIN, 0 }, 1, timeout_ms);
 *             vmsg_bus_poll(&bus);
 *     }
 *
 * The timeout must still cover the deadlines of your pending requests, and
 * while the link is not up (no peer yet, or the shm lifecycle handshake) it
 * should be short (20 ms, as vmsg_bus_wait() uses): a plain vmamp v1 peer
 * changes its state without ringing the doorbell.
 * Without ops->now the bus counts time in sleeps: each call that returns 0
 * counts as one vmsg_bus_cfg.tick_ns, so sleep at most that long (a
 * wait-for-interrupt with a tick timer, for instance).
 * @retval 0 sleep now. @retval >0 poll first: something is pending.
 * @retval VMSG_EINVAL bad or closed bus.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_prepare_sleep(struct vmsg_bus *b);

/**
 * @brief Let a burst of sends share one doorbell (@p on), or ring it now
 *        for what the burst sent (@p on false). While corked, a sleeping
 *        peer is woken at the uncork or at this side's next wait or
 *        vmsg_bus_prepare_sleep(), not at each send: uncork at the end of
 *        every burst. The shm bus saves a full fence per message this way
 *        (bench/README.md, "Channel streaming"). A hint: on a port without
 *        it, every send rings as it goes and this does nothing.
 * @retval 0. @retval VMSG_EINVAL bad or closed bus.
 */
VMSG_API int vmsg_bus_cork(struct vmsg_bus *b, bool on);

/**
 * @brief A copy of the counters. Over a port that counts its doorbells
 *        (ops->doorbells; the shm bus and every port built on it do),
 *        kicks is every doorbell it rang, those of sends included; else
 *        only those of vmsg_bus_kick().
 * @retval 0. @retval VMSG_EINVAL a NULL argument.
 */
VMSG_API int vmsg_bus_get_stats(const struct vmsg_bus *b, struct vmsg_bus_stats *out);

/**
 * @brief Ring the peer's doorbell now (ops->kick): a hint to look, never a
 *        count. Not needed after a send, which rings it when the peer
 *        sleeps; for shared memory the peer watches outside the messages.
 *        Counted in stats.kicks.
 * @retval 0 rung. @retval VMSG_ENOTSUP the port has no kick op.
 * @retval VMSG_EINVAL bad or closed bus. @retval the port's error.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_kick(struct vmsg_bus *b);

/**
 * @brief Block in the port until a doorbell or @p timeout_ns; then poll.
 * @return as vmsg_bus_poll(), or the port's wait() error (not
 *         VMSG_ETIMEDOUT: a wait that timed out still polls).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_wait(struct vmsg_bus *b, int64_t timeout_ns);

/**
 * @brief Send a request and return at once; @p done is called exactly once
 *        from a later vmsg_bus_poll() (or vmsg_bus_close()).
 * The bus sets the token; type must be a request (bit 0 clear).
 * @retval 0 sent. @retval VMSG_ENODEV (driver side) transport request to a
 *         device number not known present (BUS-15, BUS-18).
 * @retval VMSG_EBUSY every request slot is in use. @retval VMSG_ESTATE the
 *         bus parameters were refused after a reset (BUS-9).
 * @retval VMSG_EAGAIN the
 *         port is full: poll and retry. @retval VMSG_ECONNRESET no peer.
 * @retval encode errors (see vmsg_proto_encode()).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_submit(struct vmsg_bus *b, const struct vmsg_msg *req,
					     uint64_t timeout_ns, vmsg_bus_done_fn done,
					     void *ctx);

/**
 * @brief Blocking request: submit, then poll and wait until the response
 *        or the timeout; retry up to @p retries more times on timeout
 *        (only safe for requests that may be repeated).
 * @param[out] resp the response; its views point into @p buf.
 * @param buf receives the response bytes (>= the maximum message size).
 * @retval 0 answered. @retval VMSG_ETIMEDOUT, VMSG_ECONNRESET, or a
 *         submit error.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_call(struct vmsg_bus *b, const struct vmsg_msg *req,
					   struct vmsg_msg *resp, uint8_t *buf, size_t cap,
					   uint64_t timeout_ns, unsigned retries);

/**
 * @brief Device side: answer @p req with @p resp (type, msg_id, dev_num
 *        and token are taken from the request: DEV-3, DEV-6).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_respond(struct vmsg_bus *b, const struct vmsg_msg *req,
					      struct vmsg_msg *resp);

/** @brief Send an event (transport or bus; token 0). Events are never held
 *  back (BUS-37). */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_send_event(struct vmsg_bus *b, const struct vmsg_msg *ev);

/**
 * @brief Send an event, waiting up to @p timeout_ns (bus clock) for room
 *        when the port is full: bounded delivery (BUS-46).
 * The first try is vmsg_bus_send_event(). While the port says it is full
 * (VMSG_EAGAIN; on the shm bus also while the link is not up yet) the bus
 * waits through the port in slices of 1 ms, the last one what is left of
 * the budget (short: a peer that makes room rings no doorbell for it),
 * polls (the wait does: handlers run, and their own sends may go out
 * first), and tries this one event again; it gives up once the budget is
 * spent. Only this event is retried: nothing is held
 * back (BUS-37). Each refused try counts in stats.send_full. Without
 * ops->now every wait counts as a whole slice, woken early or not, so a
 * busy peer cannot stretch the bound. @p timeout_ns 0: one try, no wait
 * and no poll; a full port then gives VMSG_ETIMEDOUT (not VMSG_EAGAIN as
 * from vmsg_bus_send_event()).
 *
 * Recovery, by result:
 * - VMSG_ETIMEDOUT (counted in stats.event_timeouts): not delivered, and
 *   nothing of it is in the port (a send takes a whole message or none).
 *   EVENT_AVAIL and EVENT_USED only say "look at this queue": the ring
 *   state they point at is in shared memory and is not lost, so a later
 *   one for the same queue covers this one (with NOTIFICATION_DATA it
 *   carries the newer position). Retry it, or send one at the next
 *   progress, but until one is delivered the peer may not look.
 *   EVENT_CONFIG (and a bus event such as EVENT_DEVICE) stands for a
 *   change nothing else reports: resend it.
 * - VMSG_ECONNRESET: the session ended (the peer went away or restarted,
 *   also while we waited; pending requests failed the same way). Do not
 *   resend into a new session: the device's state starts over there.
 * - VMSG_ECANCELED: a handler closed the bus while we waited.
 * - VMSG_EINVAL: @p b NULL or closed, or @p ev NULL, not an event, or a
 *   response. Any other error of the port, its wait or the encoder is
 *   returned at once, as from vmsg_bus_send_event().
 * @retval 0 sent (counted in stats.events_out, once).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_send_event_timeout(struct vmsg_bus *b,
							 const struct vmsg_msg *ev,
							 uint64_t timeout_ns);

/**
 * @brief Device side: offer device @p dev_num, whose requests go to @p fn.
 *        Sends EVENT_DEVICE(ADDED) when @p announce (BUS-38, BUS-58); if that
 *        send fails, the device is not added and the error is returned
 *        (VMSG_EAGAIN, VMSG_ECONNRESET, VMSG_ESTATE: parameters refused,
 *        BUS-9).
 * @retval VMSG_ENOSPC the device table is full. @retval VMSG_EBUSY taken.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_add_device(struct vmsg_bus *b, uint16_t dev_num,
						 vmsg_bus_msg_fn fn, void *ctx, bool announce);

/** @brief Device side: withdraw a device; sends EVENT_DEVICE(REMOVED) when
 *  @p announce (BUS-59), and returns that send's error if it fails (the
 *  device is withdrawn all the same). Driver side: forget it, failing its
 *  pending requests with VMSG_ENODEV. @retval VMSG_ENODEV not known. */
VMSG_API int vmsg_bus_remove_device(struct vmsg_bus *b, uint16_t dev_num, bool announce);

/**
 * @brief Driver side: register the handler for events of @p dev_num (and
 *        mark it present when known from platform data, BUS-23).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_attach_device(struct vmsg_bus *b, uint16_t dev_num,
						    vmsg_bus_msg_fn fn, void *ctx, bool present);

/**
 * @brief Driver side: enumerate devices with GET_DEVICES windows, following
 *        next_offset until the terminal response (blocking, @p timeout_ns
 *        per request, tried again up to vmsg_bus_cfg.retries times when
 *        it times out). Each present number is validated and recorded, and
 *        on_device(ADDED) is called for numbers new to the table.
 * @return the number of present devices found, or a negative code
 *         (VMSG_ENOSPC: more devices are present than the table holds; the
 *         ones that fit are recorded).
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_discover(struct vmsg_bus *b, uint64_t timeout_ns);

/** @brief Whether the driver side knows @p dev_num as present. */
VMSG_API bool vmsg_bus_device_present(const struct vmsg_bus *b, uint16_t dev_num);

/** @brief Blocking PING (either side), tried again up to vmsg_bus_cfg.retries
 *  times when it times out: @retval 0 echoed exactly (BUS-56). */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_ping(struct vmsg_bus *b, uint32_t data, uint64_t timeout_ns);

/** @brief The bus parameters in force: read at init, and again after each
 *  reset the port reports (BUS-9: see vmsg_bus_params_fn). */
VMSG_API const struct vmsg_bus_params *vmsg_bus_get_params(const struct vmsg_bus *b);

/**
 * @brief Translate a bus address range through the port (bounds-checked).
 * @retval VMSG_EINVAL bad arguments or @p len 0. @retval VMSG_ERANGE the
 *         range wraps (its end, addr + len, must fit in 64 bits: a range
 *         holding the last byte of the address space is refused too), or
 *         lies outside every window. @retval VMSG_ENOTSUP
 *         the port has no translate op.
 */
VMSG_API VMSG_MUST_CHECK int vmsg_bus_translate(struct vmsg_bus *b, uint64_t addr, uint64_t len,
						void **ptr);

VMSG_END_DECLS

#endif /* VIRTIO_MSG_BUS_H */
