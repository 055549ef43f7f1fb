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

/* `store` and `media` may be NULL (unit tests). */
calls_router *calls_router_new(calls_registry *reg, calls_store *store, calls_auth *auth,
	const calls_media_ops *media, gboolean presence);
void calls_router_free(calls_router *r);

/* Whether a parsed (or refused) request is answered by events rather than a return value. */
gboolean calls_request_is_async(const calls_request *req);

/* Execute a request from connection `conn`, whose device (NULL until it
 * registers) lives in *dev. `parse_ok`/`parse_err` are the outcome of
 * calls_request_parse(). Returns the synchronous answer (new reference), or
 * NULL for asynchronous requests (answered by events). Flushes the registry. */
json_t *calls_router_execute(calls_router *r, void *conn, calls_device **dev, const char *transaction,
	calls_request *req, gboolean parse_ok, const calls_error *parse_err);

/* The connection went away. */
void calls_router_conn_gone(calls_router *r, calls_device *dev);

/* The Admin API (handle_admin_message): list_calls, get_call, end_call, remove_participant. */
json_t *calls_router_admin(calls_router *r, json_t *request);

/* What query_session shows for a connection. */
json_t *calls_router_describe(calls_router *r, calls_device *dev);

#endif
