/* janus.plugin.calls - the store thread: the history database off the worker,
 * and nothing announced before it is written.
 *
 * The worker never touches SQLite. What one worker operation produces - the
 * new states of the calls it changed and the events it wants to send, in
 * order - travels as one batch to the store thread. The thread takes every
 * batch waiting, writes all their calls in one transaction, and only then
 * hands their events on (`dispatch`), in the order they were made: a client
 * hears of a state only once that state is in the file (group commit: under
 * load one commit serves many operations).
 *
 * When the database fails (a read-only or full disk, a lock held elsewhere),
 * the calls stay in memory, one latest state per call, the events go out all
 * the same (live calls must go on), and the thread retries every
 * `retry_ms`; `healthy` turns FALSE so that the plugin refuses new calls,
 * which keeps what is held bounded by the calls live when the trouble began.
 * The first write that succeeds again writes everything held. A crash during
 * the trouble loses what was held: the log said so when it began.
 *
 * Sync jobs (reads of the history, the online backup) run on the thread in
 * queue order, so they see every earlier batch's writes. The thread also
 * marks the live calls as seen every `touch_ms` (their endedAt if Janus dies).
 *
 * No Janus in here: unit tests run it against a real SQLite file.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_STOREQ_H
#define CALLS_STOREQ_H

#include <glib.h>
#include <jansson.h>
#include "store.h"

typedef struct calls_storeq calls_storeq;
typedef struct calls_storeq_batch calls_storeq_batch;

typedef struct calls_storeq_settings {
	/* Hand one item of a batch on, after its batch's calls are written (or
	 * could not be): runs on the store thread, in batch order. `store` may be
	 * used to read (the item may be a deferred read). */
	void (*dispatch)(gpointer ctx, calls_store *store, gpointer item);
	/* Free an item (after dispatch, or unsent at stop). May be NULL. */
	void (*free_item)(gpointer item);
	/* A line for the log: level 0 error, 1 warning, 2 info. May be NULL. */
	void (*log)(gpointer ctx, int level, const char *message);
	gpointer ctx;
	guint retry_ms;        /* retry of failed writes (1000) */
	guint touch_ms;        /* live calls marked as seen (10000); 0 = never */
	guint queue_limit;     /* batches waiting above which it is not healthy (10000) */
	gint64 (*now)(void);   /* wall clock in µs; NULL = g_get_real_time */
} calls_storeq_settings;

/* Start the thread; it owns `store` from now on (closed by calls_storeq_stop). */
calls_storeq *calls_storeq_start(calls_store *store, const calls_storeq_settings *settings, GError **error);
/* Write and dispatch everything queued, stop the thread, close the store. */
void calls_storeq_stop(calls_storeq *q);

calls_storeq_batch *calls_storeq_batch_new(void);
gboolean calls_storeq_batch_empty(const calls_storeq_batch *b);
/* The call's latest state (contract JSON, referenced), live or final. */
void calls_storeq_batch_write(calls_storeq_batch *b, json_t *call, gboolean live, gint64 now_usec);
/* An item to dispatch after the batch's writes, in the order added. */
void calls_storeq_batch_item(calls_storeq_batch *b, gpointer item);
void calls_storeq_batch_free(calls_storeq_batch *b);

/* Queue a batch (taken over; an empty one is freed). Returns its sequence
 * number: calls_storeq_wait(q, seq) returns once it has been written (or found
 * unwritable) and its items dispatched. Never blocks. */
guint64 calls_storeq_submit(calls_storeq *q, calls_storeq_batch *b);
/* The number of the last batch submitted (0 = none). */
guint64 calls_storeq_last(calls_storeq *q);
void calls_storeq_wait(calls_storeq *q, guint64 seq);

/* Run fn(store, data) on the store thread after everything queued before it,
 * and wait for it. Not from the store thread itself. */
typedef void (*calls_storeq_fn)(calls_store *store, gpointer data);
void calls_storeq_run(calls_storeq *q, calls_storeq_fn fn, gpointer data);

/* FALSE while writes fail or too much is queued; `why` (may be NULL) gets the
 * reason (g_free it), NULL when healthy. Any thread. */
gboolean calls_storeq_healthy(calls_storeq *q, char **why);
/* Batches waiting for the thread, and calls held after failed writes. */
guint calls_storeq_queued(calls_storeq *q);
guint calls_storeq_held(calls_storeq *q);

#endif
