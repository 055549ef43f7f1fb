/* janus.plugin.calls - the router: from a parsed request to the registry, the
 * store and the media layer, with the authorisation checks in between.
 *
 * Runs on the worker thread. Synchronous requests (register and the routes
 * of docs/api.md §5 without SDP) get their answer as the return value; the
 * asynchronous ones (events, SDP routes) are answered by events delivered to
 * the requesting connection with the request's transaction, an ERROR event
 * when they fail.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_ROUTER_H
#define CALLS_ROUTER_H

#include <glib.h>
#include <jansson.h>
#include "contract.h"
#include "registry.h"
#include "store.h"
#include "auth.h"

/* What the router needs from the media layer (the SFU in the plugin, a fake
 * in unit tests). A NULL function answers UNSUPPORTED. */
typedef struct calls_media_ops {
	gpointer ctx;
	/* WEBRTC_OFFER: publish from `dev` the offer in `jsep` (with the core's
	 * "simulcast" and "update" hints). On success set *answer_sdp (g_free'd by the caller). */
	gboolean (*publish)(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		json_t *jsep, char **answer_sdp, calls_error *err);
	/* CALL_SUBSCRIBE: `dev` receives everybody else of the call; offers follow as
	 * events, the first one with `transaction`. `restart`: restart ICE with the next offer. */
	gboolean (*subscribe)(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		const char *transaction, gboolean restart, calls_error *err);
	/* WEBRTC_ANSWER: the answer to the last offer made to `dev`. */
	gboolean (*subscriber_answer)(gpointer ctx, calls_call *call, calls_device *dev,
		const char *answer_sdp, calls_error *err);
	/* CALL_SUBSCRIBER_CONFIGURE: cap the simulcast layers `dev` receives (of one user, or all if NULL). */
	gboolean (*configure)(gpointer ctx, calls_call *call, calls_device *dev, const char *user_id,
		int substream, int temporal, calls_error *err);
	/* Per-stream counters of a participant (new reference), or NULL. */
	json_t *(*stats)(gpointer ctx, calls_call *call, calls_participant *p);
} calls_media_ops;

typedef struct calls_router calls_router;

/* An answer that comes from the history (a finished call, the history
 * pages, "is that call over?"): the worker decides what to read, the store's
 * own thread reads it. */
typedef enum {
	CALLS_READ_GET,            /* GET /calls/:callId of a finished call */
	CALLS_READ_PARTICIPANTS,   /* GET /calls/:callId/participants of a finished call */
	CALLS_READ_HISTORY,        /* GET /calls/history */
	CALLS_READ_OVER,           /* an operation on a call that is not live: INVALID_STATE or CALL_NOT_FOUND */
} calls_read_kind;

typedef struct calls_history_read {
	calls_read_kind kind;
	char *call_id;
	char *user_id;             /* who asks: only a participant reads a call */
	char request_name[64];     /* for the ERROR event of an asynchronous request */
	gboolean async;            /* the answer is an event (only errors: CALLS_READ_OVER) */
	char *chat_id, *type, *status;   /* history filters, or NULL */
	int page, limit;
} calls_history_read;

void calls_history_read_free(calls_history_read *rd);
/* Read it: TRUE with the answer's `body` and `status`, or FALSE with `err`. */
gboolean calls_history_read_run(const calls_history_read *rd, calls_store *store, calls_error *err,
	json_t **body, int *status);
/* The whole answer: a route answer (synchronous), or for an asynchronous one
 * the ERROR event to deliver, or NULL when there is nothing to deliver. */
json_t *calls_history_read_answer(const calls_history_read *rd, calls_store *store, gint64 now);

/* Where the router sends the reads of asynchronous requests when it has no
 * store of its own (ownership of `rd` passes on). */
typedef void (*calls_router_defer_fn)(gpointer ctx, calls_history_read *rd, void *conn, const char *transaction);

/* `store` and `media` may be NULL (unit tests). */
calls_router *calls_router_new(calls_registry *reg, calls_store *store, calls_auth *auth,
	const calls_media_ops *media, gboolean presence);
void calls_router_free(calls_router *r);
/* Without a store: reads of asynchronous requests go to `defer`. */
void calls_router_set_history(calls_router *r, calls_router_defer_fn defer, gpointer ctx);
/* New calls are refused (UNAVAILABLE) while `healthy` says no (any thread may answer it). */
void calls_router_set_health(calls_router *r, gboolean (*healthy)(gpointer ctx, char **why), gpointer ctx);
/* Verify a register's token now, on any thread (the auth is read-only), and
 * keep the outcome in `req` for the worker. Nothing for other requests. */
void calls_router_preverify(calls_router *r, calls_request *req);

/* Whether a parsed (or refused) request is answered by events rather than a return value. */
gboolean calls_request_is_async(const calls_request *req);

/* Execute a request from connection `conn`, whose device (NULL until it
 * registers) lives in *dev. `parse_ok`/`parse_err` are the outcome of
 * calls_request_parse(). Returns the synchronous answer (new reference), or
 * NULL for asynchronous requests (answered by events). Flushes the registry. */
json_t *calls_router_execute(calls_router *r, void *conn, calls_device **dev, const char *transaction,
	calls_request *req, gboolean parse_ok, const calls_error *parse_err);

/* The same; when the answer needs the history and the router has no store,
 * return NULL and set *read (the caller reads it, calls_history_read_answer,
 * and frees it). */
json_t *calls_router_execute_read(calls_router *r, void *conn, calls_device **dev, const char *transaction,
	calls_request *req, gboolean parse_ok, const calls_error *parse_err, calls_history_read **read);

/* The connection went away. */
void calls_router_conn_gone(calls_router *r, calls_device *dev);

/* The Admin API (handle_admin_message): list_calls, get_call, end_call, remove_participant. */
json_t *calls_router_admin(calls_router *r, json_t *request);

/* A live call with each participant's media counters, for the Admin API. */
json_t *calls_router_admin_call(calls_router *r, calls_call *call);

/* What query_session shows for a connection. */
json_t *calls_router_describe(calls_router *r, calls_device *dev);

#endif
