/* janus.plugin.calls - pushing events to handles, off the worker and the store
 * thread, in order per handle.
 *
 * Janus's push_event can take long: with an SDP it waits (sleeping in steps)
 * until the handle's ICE candidates are gathered, which with a STUN server
 * takes a round trip to it or its timeout; and it takes the handle's lock.
 * So pushes run on a small pool of threads. Each connection (handle) has an
 * outbox: a FIFO of what it is sent. Posting appends to the outbox and, if
 * no pool thread is draining that outbox, schedules one; that thread pushes
 * the outbox's items one by one until it is empty. One handle's later events
 * therefore never overtake its earlier ones (an offer, then the events
 * about it), while a slow push to one handle delays no other handle.
 *
 * No Janus in here: the push itself is a callback.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_PUSHER_H
#define CALLS_PUSHER_H

#include <glib.h>
#include <jansson.h>

/* One per connection, embedded in the connection's own struct. */
typedef struct calls_outbox {
	GMutex lock;
	GCond sent;
	GQueue items;
	gboolean draining;     /* a pool thread owns the drain */
	guint64 posted, done;  /* items ever queued; ever pushed (or dropped) */
} calls_outbox;

void calls_outbox_init(calls_outbox *o);
/* Drop what is still queued (the connection is gone). */
void calls_outbox_clear(calls_outbox *o);
/* How many items were ever queued; wait until the first `n` have left. A
 * synchronous answer waits so, for what its request caused on the same
 * connection: the events of an operation reach the client before its answer. */
guint64 calls_outbox_posted(calls_outbox *o);
void calls_outbox_wait(calls_outbox *o, guint64 n);

typedef struct calls_pusher_settings {
	/* Push one event (borrowed; `transaction` and `jsep` may be NULL) to `conn`. */
	void (*push)(gpointer ctx, gpointer conn, const char *transaction, json_t *event, json_t *jsep);
	/* The connection's outbox, and references that keep `conn` alive while items wait. */
	calls_outbox *(*outbox)(gpointer conn);
	void (*ref)(gpointer conn);
	void (*unref)(gpointer conn);
	gpointer ctx;
	guint threads;         /* most pushes at once (16) */
} calls_pusher_settings;

typedef struct calls_pusher calls_pusher;

calls_pusher *calls_pusher_new(const calls_pusher_settings *settings, GError **error);
/* Wait for the pushes under way; what is still queued is dropped. */
void calls_pusher_free(calls_pusher *p);

/* Queue an event for `conn` (event and jsep referenced, transaction copied). */
void calls_pusher_post(calls_pusher *p, gpointer conn, const char *transaction, json_t *event, json_t *jsep);
/* Events queued or being pushed, over all connections. */
guint calls_pusher_pending(calls_pusher *p);

#endif
