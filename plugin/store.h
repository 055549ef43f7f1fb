/* janus.plugin.calls - call history.
 *
 * The store keeps every call and its participants, live and finished, so that
 * history outlives a restart of Janus. It speaks the contract's JSON shape of a
 * call (CONTRACT.md §4: "id", "status", "participants", ...), which keeps it
 * independent of the registry's structs: another backend (a server database)
 * only has to implement these few functions.
 *
 * The default backend is an embedded SQLite file in WAL mode. It is used by
 * the worker thread only; nothing here is locked.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_STORE_H
#define CALLS_STORE_H

#include <glib.h>
#include <jansson.h>

typedef struct calls_store calls_store;

#define CALLS_STORE_ERROR (calls_store_error_quark())
GQuark calls_store_error_quark(void);

/* Open (creating if needed) the store at `path`, migrate its schema to the
 * current version, and close every call still marked live (left so by a Janus
 * that stopped): status ENDED, endReason SERVER_RESTART, endedAt = the last
 * time the store saw the call alive (calls_store_touch_live), JOINED
 * participants become LEFT and RINGING ones MISSED. `closed` (may be NULL)
 * receives how many calls were closed that way.
 * `now_usec` is the wall clock (µs since the epoch). */
calls_store *calls_store_open(const char *path, gint64 now_usec, int *closed, GError **error);
void calls_store_close(calls_store *store);

/* Insert or replace one call and all its participants, in one transaction.
 * `call` is the contract JSON of the call; `live` tells whether the call is
 * still going on (live calls are excluded from history). */
gboolean calls_store_save(calls_store *store, json_t *call, gboolean live, gint64 now_usec, GError **error);

/* Mark every live call as seen alive at `now_usec` (called periodically: it
 * bounds the error of endedAt for calls closed on restart). */
gboolean calls_store_touch_live(calls_store *store, gint64 now_usec, GError **error);

/* One call in contract JSON (new reference), or NULL if there is none with that id. */
json_t *calls_store_get(calls_store *store, const char *call_id, GError **error);

typedef struct calls_history_query {
	const char *user_id;  /* required: calls this user took part in */
	const char *chat_id;  /* optional filter */
	const char *type;     /* optional filter: "AUDIO" or "VIDEO" */
	const char *status;   /* optional filter: one of the final statuses */
	int page;             /* 1-based */
	int limit;            /* 1..100 */
} calls_history_query;

/* Finished calls of a user, newest (startedAt) first: a JSON array of calls
 * (new reference), and `*total` the count of all matching calls. NULL on error. */
json_t *calls_store_history(calls_store *store, const calls_history_query *query, int *total, GError **error);

#endif
