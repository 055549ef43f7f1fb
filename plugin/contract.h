/* janus.plugin.calls - the contract codec.
 *
 * Every name of the API (docs/api.md) lives here: request and event names,
 * routes, fields, statuses, error codes. Incoming bodies are validated against
 * declarative tables and turned into a typed calls_request; outgoing events
 * and route answers are built from the domain structs of types.h.
 * Nothing here knows Janus or keeps state.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_CONTRACT_H
#define CALLS_CONTRACT_H

#include <glib.h>
#include <jansson.h>
#include "types.h"

/* ---- Errors (docs/api.md §8) --------------------------------------------- */

typedef enum {
	CALLS_ERR_NONE = 0,
	CALLS_ERR_INVALID_REQUEST,   /* 400 */
	CALLS_ERR_UNSUPPORTED,       /* 400 */
	CALLS_ERR_UNAUTHORIZED,      /* 401 */
	CALLS_ERR_FORBIDDEN,         /* 403 */
	CALLS_ERR_CALL_NOT_FOUND,    /* 404 */
	CALLS_ERR_INVALID_STATE,     /* 409 */
	CALLS_ERR_USER_BUSY,         /* 409 */
	CALLS_ERR_LIMIT_EXCEEDED,    /* 429 */
	CALLS_ERR_INTERNAL,          /* 500 */
	CALLS_ERR_UNAVAILABLE,       /* 503 */
} calls_error_code;

typedef struct calls_error {
	calls_error_code code;
	char message[512];
} calls_error;

void calls_error_set(calls_error *err, calls_error_code code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
const char *calls_error_code_name(calls_error_code code);
int calls_error_http_status(calls_error_code code);

/* ---- Names ---------------------------------------------------------------- */

const char *calls_call_type_name(calls_call_type t);
const char *calls_call_status_name(calls_call_status s);
const char *calls_participant_status_name(calls_participant_status s);
const char *calls_role_name(calls_role r);
const char *calls_left_reason_name(calls_left_reason r);
const char *calls_end_reason_name(calls_end_reason r);   /* NULL for NONE */
gboolean calls_call_type_parse(const char *name, calls_call_type *out);
gboolean calls_call_status_parse(const char *name, calls_call_status *out);

/* ---- Time and ids ----------------------------------------------------------- */

/* "2025-11-29T10:00:00.000Z" (UTC, milliseconds) into `out` (at least 32 bytes). */
void calls_time_format(gint64 usec, char *out, size_t outlen);
/* The same as a JSON string, or JSON null for 0. */
json_t *calls_json_time(gint64 usec);
/* A random (version 4) UUID into `out` (37 bytes). */
void calls_uuid_new(char out[CALLS_UUID_LEN + 1]);

/* ---- Requests --------------------------------------------------------------- */

typedef enum {
	CALLS_OP_NONE = 0,
	CALLS_OP_REGISTER,          /* {"request": "register"} */
	CALLS_OP_CREATE,            /* POST /calls, CALL_INITIATE */
	CALLS_OP_ANSWER,            /* POST /calls/:id/answer {accept:true}, CALL_ANSWER */
	CALLS_OP_DECLINE,           /* POST /calls/:id/answer {accept:false}, CALL_DECLINE */
	CALLS_OP_END,               /* POST /calls/:id/end, CALL_END */
	CALLS_OP_GET,               /* GET /calls/:id */
	CALLS_OP_ACTIVE,            /* GET /calls/active */
	CALLS_OP_HISTORY,           /* GET /calls/history */
	CALLS_OP_ADD_PARTICIPANTS,  /* POST /calls/:id/participants */
	CALLS_OP_MEDIA,             /* PATCH /calls/:id/media, CALL_PARTICIPANT_MEDIA_UPDATE */
	CALLS_OP_PARTICIPANTS,      /* GET /calls/:id/participants */
	CALLS_OP_PUBLISH,           /* POST /calls/signaling/offer, WEBRTC_OFFER */
	CALLS_OP_SUBSCRIBE,         /* POST /calls/signaling/subscribe, CALL_SUBSCRIBE */
	CALLS_OP_SUBSCRIBER_ANSWER, /* POST /calls/signaling/answer, WEBRTC_ANSWER */
	CALLS_OP_CONFIGURE,         /* POST /calls/signaling/configure, CALL_SUBSCRIBER_CONFIGURE */
	CALLS_OP_ICE,               /* POST /calls/signaling/ice-candidate, WEBRTC_ICE_CANDIDATE */
	CALLS_OP_USERS_ONLINE,      /* GET /users/online */
	CALLS_OP_COUNT
} calls_op;

typedef enum {
	CALLS_VIA_REQUEST = 0,  /* "request": "register" */
	CALLS_VIA_ROUTE,        /* "request": "<METHOD> <path>" */
	CALLS_VIA_EVENT,        /* "event": "<NAME>" */
} calls_via;

/* A tri-state for optional booleans. */
#define CALLS_UNSET (-1)

#define CALLS_MAX_LIST 256   /* longest participantIds accepted by the codec */

typedef struct calls_request {
	calls_op op;
	calls_via via;
	char name[64];                /* the event name or "METHOD /path pattern" */
	gboolean async;               /* answered by events (events, SDP routes) */
	char call_id[CALLS_UUID_LEN + 1];
	/* register */
	const char *token;
	const char *user_id, *user_name, *avatar;
	/* create / add participants */
	const char **participant_ids; /* borrowed from `root` */
	guint n_participant_ids;
	calls_call_type type;
	const char *chat_id;          /* NULL = none */
	/* answer route / decline / end */
	gboolean accept;
	const char *reason;
	gboolean for_everyone;
	/* media flags: CALLS_UNSET, 0 or 1 */
	int is_muted, is_video_enabled, is_sharing_screen;
	/* lists */
	int page, limit;
	const char *filter_chat_id;
	int filter_type;              /* CALLS_UNSET or calls_call_type */
	int filter_status;            /* CALLS_UNSET or calls_call_status */
	/* signaling */
	const char *target_user_id;   /* signaling: ignored; configure: whose video (NULL = all) */
	const char *sdp_type, *sdp;   /* from jsep, borrowed */
	gboolean restart;             /* CALL_SUBSCRIBE: restart ICE with the next offer */
	int max_layer;                /* CALL_SUBSCRIBER_CONFIGURE: substream cap, CALLS_UNSET or 0..2 */
	int max_temporal;             /* temporal layer cap, CALLS_UNSET or 0..2 */
	json_t *root;                 /* referenced body: keeps the borrowed strings alive */
	json_t *jsep;                 /* referenced jsep or NULL */
	json_t *path_query;           /* the query written in a route's path, or NULL: keeps its strings alive */
	/* register: the token's verification, done before the worker (calls_router_preverify) */
	gpointer verified;
	GDestroyNotify verified_free;
} calls_request;

/* Validate a message `body` (and its optional `jsep`) into `req`. On failure
 * return FALSE with `err` saying what was wrong and how to send it right;
 * `req->name`, `req->via` and `req->call_id` are filled as far as they could be
 * read (for the ERROR event). Always call calls_request_clear() afterwards. */
gboolean calls_request_parse(json_t *body, json_t *jsep, calls_request *req, calls_error *err);
void calls_request_clear(calls_request *req);

/* The size limits of a well-formed request (docs/api.md, "Limits"): its body,
 * as compact JSON, at most `max_body` bytes (max_message_size), and its SDP at
 * most `max_sdp` bytes (max_sdp_size); 0 = no limit. Run after a successful
 * calls_request_parse(): a malformed request is refused for what is wrong
 * with it first. FALSE with `err` LIMIT_EXCEEDED naming the limit otherwise.
 * Counting stops at the limit: a huge body costs no more than a legal one. */
gboolean calls_request_check_size(const calls_request *req, size_t max_body, size_t max_sdp, calls_error *err);

/* ---- Outgoing JSON ----------------------------------------------------------- */

json_t *calls_json_participant(const calls_participant *p);
json_t *calls_json_call(const calls_call *call, gint64 now);
json_t *calls_json_user(const calls_user *u);   /* {userId, userName, avatar} */

/* The envelope {"event", "timestamp", "data"}; steals `data`. */
json_t *calls_event_new(const char *name, gint64 now, json_t *data);

json_t *calls_event_incoming(const calls_call *call, gint64 now);
json_t *calls_event_started(const calls_call *call, gint64 now);
json_t *calls_event_status_changed(const calls_call *call, calls_call_status previous, gint64 now);
json_t *calls_event_participant_joined(const calls_participant *p, gint64 now);
json_t *calls_event_participant_left(const calls_participant *p, const char *message, gint64 now);
json_t *calls_event_media_changed(const calls_participant *p, gint64 now);
json_t *calls_event_ended(const calls_call *call, gint64 now);
json_t *calls_event_answer_received(const char *call_id, gint64 now);
/* `streams` is stolen: an array built with calls_json_stream(). */
json_t *calls_event_offer_received(const char *call_id, json_t *streams, gint64 now);
json_t *calls_json_stream(const char *mid, const char *user_id, const char *user_name,
	const char *kind, gboolean active);
json_t *calls_event_error(const calls_error *err, const char *event_name, const char *call_id, gint64 now);

/* Route answers: {"status": 200|201, "body": body} (steals body) and
 * {"status": 4xx|5xx, "error": {"code", "message"}}. */
json_t *calls_reply_ok(int status, json_t *body);
json_t *calls_reply_error(const calls_error *err);
/* {"calls": [...], "page", "limit", "total"} (steals calls) */
json_t *calls_json_page(json_t *calls, int page, int limit, int total);

#endif
