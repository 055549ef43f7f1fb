/* janus.plugin.calls - call history.
 *
 * The store keeps every call and its participants, live and finished, so that
 * history outlives a restart of Janus. It speaks the contract's JSON shape of a
 * call (docs/api.md §4: "id", "status", "participants", ...), which keeps it
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

/* The codes of CALLS_STORE_ERROR. */
typedef enum {
	CALLS_STORE_ERROR_SQLITE,   /* SQLite failed (the message is SQLite's): I/O, corrupt or foreign file */
	CALLS_STORE_ERROR_INVALID,  /* a malformed call JSON or query: nothing was written */
	CALLS_STORE_ERROR_VERSION,  /* the database was written by a newer release of the plugin */
} calls_store_error_code;

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
 * still going on (live calls are excluded from history). `now_usec` is the
 * time the call was last seen alive (its endedAt if Janus stops now).
 * Required: the strings "id", "roomId", "type", "status", "initiatorId",
 * "startedAt" and the array "participants", each with the strings "userId",
 * "role", "status" and the booleans "isMuted", "isVideoEnabled",
 * "isSharingScreen"; a user appears once. The other keys of docs/api.md §4
 * may be null or absent (read back as null); unknown keys are ignored.
 * A bad call is refused with CALLS_STORE_ERROR_INVALID, writing nothing. */
gboolean calls_store_save(calls_store *store, json_t *call, gboolean live, gint64 now_usec, GError **error);

/* Group the saves that follow into one transaction, up to calls_store_commit():
 * for bulk writes (an import, the benchmark's fill). A call refused as invalid
 * writes nothing and the batch goes on; an SQLite failure fails the batch:
 * the commit then rolls it all back and returns FALSE, as does a commit that
 * fails. Reads inside a batch see its writes. */
gboolean calls_store_begin(calls_store *store, GError **error);
gboolean calls_store_commit(calls_store *store, GError **error);

/* Write-behind: keep the call's latest state to be written by the next
 * calls_store_flush(), which writes everything queued in one transaction (a
 * later state of a call replaces an earlier one, so a call that changed five
 * times between two flushes is written once). The JSON is checked at once and
 * referenced. Every read (get, history, touch_live) and calls_store_close()
 * flush first, so a reader always sees every queued write. */
gboolean calls_store_queue(calls_store *store, json_t *call, gboolean live, gint64 now_usec, GError **error);
/* Write what is queued. On failure the queue is kept, for the next flush. */
gboolean calls_store_flush(calls_store *store, GError **error);
/* How many calls wait in the queue. */
guint calls_store_queued(calls_store *store);

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

/* Finished calls of a user (in any participant status), newest (startedAt)
 * first, ties by id (descending): a JSON array of calls (new reference), and
 * `*total` the count of all matching calls. NULL on error (a missing user_id,
 * a page below 1 or a limit outside 1..100 is CALLS_STORE_ERROR_INVALID). */
json_t *calls_store_history(calls_store *store, const calls_history_query *query, int *total, GError **error);

/* How long a statement waits for another connection's lock before it fails
 * with "database is locked" (5 s after calls_store_open). */
void calls_store_set_busy_timeout(calls_store *store, int ms);

/* An online copy of the whole database into a new file at the absolute
 * `path` (mode 0600, replaced if it exists), taken in one read transaction
 * (sqlite3_backup); `bytes` (may be NULL) receives the copy's size. */
gboolean calls_store_backup(calls_store *store, const char *path, gint64 *bytes, GError **error);

/* The SQL the store runs for `query` (which filters are set selects the
 * statement; their values do not matter): the page of call ids, or with
 * `count` the total. For EXPLAIN QUERY PLAN in the tests and the benchmark. g_free() it. */
char *calls_store_history_sql(const calls_history_query *query, gboolean count);

#endif
