/* janus.plugin.calls - the router.
 *
 * One function per operation, all of the same shape: find the call, check
 * that the caller may act on it, hand the operation to the registry (or the
 * store, or the media layer), and shape the answer. The dispatch table
 * `handlers` maps each calls_op to its function; authorisation common to all
 * (a registered handle, a known call the caller takes part in) happens before
 * the handler runs, so a handler only checks what is particular to it.
 *
 * A refused request changes nothing: every check runs before the registry is
 * asked to act, and the registry itself checks before it changes state.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "router.h"

struct calls_router {
	calls_registry *reg;
	calls_store *store;          /* reads inline (unit tests), or NULL: reads are deferred */
	calls_router_defer_fn defer; /* where deferred reads of events go */
	gpointer defer_ctx;
	gboolean (*healthy)(gpointer ctx, char **why);
	gpointer health_ctx;
	calls_auth *auth;
	calls_media_ops media;
	gboolean has_media;
	gboolean presence;
};

/* Everything a handler gets. */
typedef struct ctx {
	calls_router *r;
	void *conn;
	calls_device **dev;
	const char *transaction;
	calls_request *req;
	calls_call *call;          /* the live call named by req->call_id, if any */
	calls_participant *self;   /* the caller in that call, if any */
	calls_origin origin;
	calls_error err;
	json_t *reply_body;        /* success: the body of the answer */
	int reply_status;          /* 200 or 201 */
	calls_history_read *read;  /* the answer needs the history: read it after the worker */
} ctx;

typedef gboolean (*handler_fn)(ctx *c);

/* What a handler needs checked before it runs. */
enum {
	NEEDS_DEVICE = 0x1,  /* a registered handle */
	NEEDS_CALL = 0x2,    /* a live call the caller takes part in */
	NEEDS_MEDIA = 0x4,   /* the media layer */
	NEEDS_MEMBER = 0x8,  /* with NEEDS_CALL: the caller is still in it (ringing or joined) */
};

calls_router *calls_router_new(calls_registry *reg, calls_store *store, calls_auth *auth,
		const calls_media_ops *media, gboolean presence) {
	calls_router *r = g_new0(calls_router, 1);
	r->reg = reg;
	r->store = store;
	r->auth = auth;
	if(media != NULL) {
		r->media = *media;
		r->has_media = TRUE;
	}
	r->presence = presence;
	return r;
}

void calls_router_set_history(calls_router *r, calls_router_defer_fn defer, gpointer data) {
	r->defer = defer;
	r->defer_ctx = data;
}

void calls_router_set_health(calls_router *r, gboolean (*healthy)(gpointer ctx, char **why), gpointer data) {
	r->healthy = healthy;
	r->health_ctx = data;
}

void calls_router_free(calls_router *r) {
	g_free(r);
}

gboolean calls_request_is_async(const calls_request *req) {
	return req->via == CALLS_VIA_EVENT || req->async;
}

static void reply(ctx *c, int status, json_t *body) {
	c->reply_status = status;
	c->reply_body = body;
}

static json_t *call_json(ctx *c, calls_call *call) {
	return calls_json_call(call, calls_registry_now(c->r->reg));
}

static json_t *wrap(const char *key, json_t *value) {
	json_t *o = json_object();
	json_object_set_new(o, key, value);
	return o;
}

/* ---- Tokens, verified before the worker ----------------------------------------------- */

/* The outcome of a register's token verification, kept in the request. */
typedef struct preverified {
	gboolean ok;
	calls_identity id;
	char why[256];
} preverified;

static void preverified_free(gpointer data) {
	preverified *pv = data;
	calls_identity_clear(&pv->id);
	g_free(pv);
}

void calls_router_preverify(calls_router *r, calls_request *req) {
	if(req->op != CALLS_OP_REGISTER || req->token == NULL || req->verified != NULL)
		return;
	preverified *pv = g_new0(preverified, 1);
	/* The clock through the registry's env: a function pointer set once, any thread */
	gint64 now_sec = calls_registry_now(r->reg) / G_USEC_PER_SEC;
	pv->ok = calls_auth_verify_token(r->auth, req->token, now_sec, &pv->id, pv->why, sizeof(pv->why));
	req->verified = pv;
	req->verified_free = preverified_free;
}

/* ---- Reads of the history, after the worker ---------------------------------------------- */

void calls_history_read_free(calls_history_read *rd) {
	if(rd == NULL)
		return;
	g_free(rd->call_id);
	g_free(rd->user_id);
	g_free(rd->chat_id);
	g_free(rd->type);
	g_free(rd->status);
	g_free(rd);
}

static void need_read(ctx *c, calls_read_kind kind) {
	calls_history_read *rd = g_new0(calls_history_read, 1);
	rd->kind = kind;
	rd->call_id = g_strdup(c->req->call_id);
	rd->user_id = g_strdup((*c->dev)->user->user_id);
	g_strlcpy(rd->request_name, c->req->name, sizeof(rd->request_name));
	rd->async = calls_request_is_async(c->req);
	c->read = rd;
}

static gboolean stored_call_has(json_t *call, const char *user_id) {
	json_t *parts = json_object_get(call, "participants");
	for(size_t i = 0; i < json_array_size(parts); i++) {
		if(g_strcmp0(json_string_value(json_object_get(json_array_get(parts, i), "userId")), user_id) == 0)
			return TRUE;
	}
	return FALSE;
}

gboolean calls_history_read_run(const calls_history_read *rd, calls_store *store, calls_error *err,
		json_t **body, int *status) {
	*body = NULL;
	*status = 200;
	if(store == NULL && rd->kind == CALLS_READ_HISTORY) {
		calls_error_set(err, CALLS_ERR_INTERNAL, "call history is not available on this server");
		return FALSE;
	}
	GError *error = NULL;
	if(rd->kind == CALLS_READ_HISTORY) {
		calls_history_query q = {
			.user_id = rd->user_id, .chat_id = rd->chat_id, .type = rd->type, .status = rd->status,
			.page = rd->page, .limit = rd->limit,
		};
		int total = 0;
		json_t *calls = calls_store_history(store, &q, &total, &error);
		if(calls == NULL) {
			calls_error_set(err, CALLS_ERR_INTERNAL, "reading the call history failed: %s",
				error ? error->message : "unknown error");
			g_clear_error(&error);
			return FALSE;
		}
		*body = calls_json_page(calls, rd->page, rd->limit, total);
		return TRUE;
	}
	/* Without a history, a call that is not live is unknown */
	json_t *call = store != NULL ? calls_store_get(store, rd->call_id, &error) : NULL;
	if(error != NULL) {
		calls_error_set(err, CALLS_ERR_INTERNAL, "reading call %s from the history failed: %s",
			rd->call_id, error->message);
		g_error_free(error);
		if(call != NULL)
			json_decref(call);
		return FALSE;
	}
	gboolean mine = call != NULL && stored_call_has(call, rd->user_id);
	if(rd->kind == CALLS_READ_OVER) {
		/* An operation on a call that is not live: tell "over" from "never existed" */
		if(mine)
			calls_error_set(err, CALLS_ERR_INVALID_STATE, "call %s is over (%s)", rd->call_id,
				json_string_value(json_object_get(call, "status")));
		else
			calls_error_set(err, CALLS_ERR_CALL_NOT_FOUND, "there is no live call %s", rd->call_id);
		if(call != NULL)
			json_decref(call);
		return FALSE;
	}
	if(call == NULL) {
		calls_error_set(err, CALLS_ERR_CALL_NOT_FOUND, "there is no call %s", rd->call_id);
		return FALSE;
	}
	if(!mine) {
		json_decref(call);
		calls_error_set(err, CALLS_ERR_FORBIDDEN, "you are not a participant of call %s", rd->call_id);
		return FALSE;
	}
	if(rd->kind == CALLS_READ_PARTICIPANTS) {
		*body = wrap("participants", json_incref(json_object_get(call, "participants")));
		json_decref(call);
	} else {
		*body = wrap("call", call);
	}
	return TRUE;
}

json_t *calls_history_read_answer(const calls_history_read *rd, calls_store *store, gint64 now) {
	calls_error err = { 0 };
	json_t *body = NULL;
	int status = 200;
	if(calls_history_read_run(rd, store, &err, &body, &status))
		return rd->async ? NULL : calls_reply_ok(status, body);
	if(rd->async)
		return calls_event_error(&err, rd->request_name, rd->call_id, now);
	return calls_reply_error(&err);
}

/* ---- Handlers ------------------------------------------------------------------------ */

static gboolean do_register(ctx *c) {
	calls_request *req = c->req;
	calls_identity id = { 0 };
	char why[256] = "";
	if(req->token != NULL) {
		calls_router_preverify(c->r, req);
		preverified *pv = req->verified;
		if(!pv->ok) {
			calls_error_set(&c->err, CALLS_ERR_UNAUTHORIZED, "the token was refused: %s", pv->why);
			return FALSE;
		}
		id = pv->id;
		memset(&pv->id, 0, sizeof(pv->id));   /* taken over */
	} else if(calls_auth_get_mode(c->r->auth) != CALLS_AUTH_OPEN) {
		calls_error_set(&c->err, CALLS_ERR_UNAUTHORIZED,
			"this server identifies users by JWT: send {\"request\": \"register\", \"token\": \"<JWT>\"} "
			"(userId alone is accepted only with auth = \"open\")");
		return FALSE;
	} else if(calls_auth_has_keys(c->r->auth)) {
		calls_error_set(&c->err, CALLS_ERR_UNAUTHORIZED,
			"a token is required: this server runs in open mode but has a jwt_secret or jwt_public_key, "
			"so it identifies users by token only; send {\"request\": \"register\", \"token\": \"<JWT>\"}");
		return FALSE;
	} else {
		if(!calls_identity_check(req->user_id, req->user_name, req->avatar, why, sizeof(why))) {
			calls_error_set(&c->err, CALLS_ERR_INVALID_REQUEST, "%s", why);
			return FALSE;
		}
		id.user_id = g_strdup(req->user_id);
		id.user_name = g_strdup(req->user_name);
		id.avatar = g_strdup(req->avatar);
	}
	calls_device *dev = *c->dev;
	if(dev != NULL && strcmp(dev->user->user_id, id.user_id) != 0) {
		calls_error_set(&c->err, CALLS_ERR_INVALID_STATE,
			"this handle is registered as \"%s\": attach a new handle to register as another user", dev->user->user_id);
		calls_identity_clear(&id);
		return FALSE;
	}
	gboolean events = TRUE;
	json_t *ev = json_object_get(req->root, "events");
	if(json_is_boolean(ev))
		events = json_is_true(ev);
	if(dev == NULL && !calls_registry_device_allowed(c->r->reg, id.user_id, &c->err)) {
		calls_identity_clear(&id);
		return FALSE;
	}
	if(dev == NULL) {
		calls_origin o = { NULL, c->transaction };
		*c->dev = calls_registry_register(c->r->reg, c->conn, id.user_id, id.user_name, id.avatar, events, &o);
	} else {
		calls_registry_update_user(c->r->reg, dev->user, id.user_name, id.avatar);
		calls_registry_device_set_events(c->r->reg, dev, events);
	}
	/* Requests on this handle are refused once the token expires (registering again renews it) */
	(*c->dev)->token_expires = id.expires;
	calls_identity_clear(&id);
	reply(c, 200, wrap("user", calls_json_user((*c->dev)->user)));
	return TRUE;
}

static gboolean do_create(ctx *c) {
	calls_request *req = c->req;
	char *why = NULL;
	if(c->r->healthy != NULL && !c->r->healthy(c->r->health_ctx, &why)) {
		calls_error_set(&c->err, CALLS_ERR_UNAVAILABLE,
			"the call history database is unavailable (%s): calls in progress go on, new calls are refused "
			"until it works again; try again later", why ? why : "unknown error");
		g_free(why);
		return FALSE;
	}
	calls_call *call = calls_registry_create(c->r->reg, *c->dev, req->participant_ids, req->n_participant_ids,
		req->type, req->chat_id, &c->origin, &c->err);
	if(call == NULL)
		return FALSE;
	reply(c, 201, wrap("call", call_json(c, call)));
	return TRUE;
}

static gboolean do_answer(ctx *c) {
	if(!calls_registry_answer(c->r->reg, c->call, *c->dev, &c->origin, &c->err))
		return FALSE;
	reply(c, 200, wrap("call", call_json(c, c->call)));
	return TRUE;
}

static gboolean do_decline(ctx *c) {
	if(!calls_registry_decline(c->r->reg, c->call, *c->dev, c->req->reason, &c->origin, &c->err))
		return FALSE;
	reply(c, 200, wrap("call", call_json(c, c->call)));
	return TRUE;
}

static gboolean do_end(ctx *c) {
	if(!calls_registry_end(c->r->reg, c->call, *c->dev, c->req->for_everyone, &c->origin, &c->err))
		return FALSE;
	reply(c, 200, wrap("call", call_json(c, c->call)));
	return TRUE;
}

static gboolean do_invite(ctx *c) {
	if(!calls_registry_invite(c->r->reg, c->call, *c->dev, c->req->participant_ids, c->req->n_participant_ids,
			&c->origin, &c->err))
		return FALSE;
	reply(c, 200, wrap("call", call_json(c, c->call)));
	return TRUE;
}

static gboolean do_media(ctx *c) {
	calls_request *req = c->req;
	calls_participant *p = calls_registry_set_media(c->r->reg, c->call, *c->dev, req->is_muted,
		req->is_video_enabled, req->is_sharing_screen, &c->origin, &c->err);
	if(p == NULL)
		return FALSE;
	reply(c, 200, wrap("participant", calls_json_participant(p)));
	return TRUE;
}

/* Whether the caller is still in the live call (ringing or joined); if not,
 * FORBIDDEN, whether they never were in it or are no longer. Someone who
 * declined, left, was busy, missed it, failed or was removed reads the call
 * again from the history once it is over. */
static gboolean still_in(ctx *c) {
	if(c->self == NULL) {
		calls_error_set(&c->err, CALLS_ERR_FORBIDDEN, "you are not a participant of call %s", c->call->id);
		return FALSE;
	}
	if(c->self->status != CALLS_PSTATUS_RINGING && c->self->status != CALLS_PSTATUS_JOINED) {
		calls_error_set(&c->err, CALLS_ERR_FORBIDDEN,
			"you are no longer in call %s (your status is %s): while it goes on it is for the people in it; "
			"read it from the history (GET /calls/%s) once it is over",
			c->call->id, calls_participant_status_name(c->self->status), c->call->id);
		return FALSE;
	}
	return TRUE;
}

static gboolean do_get(ctx *c) {
	if(c->call != NULL) {
		if(!still_in(c))
			return FALSE;
		reply(c, 200, wrap("call", call_json(c, c->call)));
		return TRUE;
	}
	/* A finished call comes from the history; only its participants may read it */
	need_read(c, CALLS_READ_GET);
	return TRUE;
}

static gboolean do_participants(ctx *c) {
	if(c->call == NULL) {
		/* A finished call answers from the history, as GET /calls/:callId does */
		need_read(c, CALLS_READ_PARTICIPANTS);
		return TRUE;
	}
	if(!still_in(c))
		return FALSE;
	json_t *list = json_array();
	for(guint i = 0; i < c->call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(c->call->participants, i);
		json_t *pj = calls_json_participant(p);
		json_t *stats = c->r->has_media && c->r->media.stats ? c->r->media.stats(c->r->media.ctx, c->call, p) : NULL;
		if(stats != NULL)
			json_object_set_new(pj, "stats", stats);
		json_array_append_new(list, pj);
	}
	reply(c, 200, wrap("participants", list));
	return TRUE;
}

static gboolean do_active(ctx *c) {
	GPtrArray *mine = calls_registry_user_calls(c->r->reg, (*c->dev)->user);
	/* Only the calls the user is still in: ringing or joined */
	for(guint i = mine->len; i-- > 0; ) {
		calls_participant *p = calls_call_participant(g_ptr_array_index(mine, i), (*c->dev)->user->user_id);
		if(p == NULL || (p->status != CALLS_PSTATUS_RINGING && p->status != CALLS_PSTATUS_JOINED))
			g_ptr_array_remove_index(mine, i);
	}
	int page = c->req->page, limit = c->req->limit;
	json_t *calls = json_array();
	for(guint i = (guint)((page - 1) * limit); i < mine->len && json_array_size(calls) < (size_t)limit; i++)
		json_array_append_new(calls, call_json(c, g_ptr_array_index(mine, i)));
	reply(c, 200, calls_json_page(calls, page, limit, (int)mine->len));
	g_ptr_array_unref(mine);
	return TRUE;
}

static gboolean do_history(ctx *c) {
	calls_request *req = c->req;
	need_read(c, CALLS_READ_HISTORY);
	calls_history_read *rd = c->read;
	rd->chat_id = g_strdup(req->filter_chat_id);
	rd->type = g_strdup(req->filter_type != CALLS_UNSET ? calls_call_type_name(req->filter_type) : NULL);
	rd->status = g_strdup(req->filter_status != CALLS_UNSET ? calls_call_status_name(req->filter_status) : NULL);
	rd->page = req->page;
	rd->limit = req->limit;
	return TRUE;
}

static gboolean do_online(ctx *c) {
	if(!c->r->presence) {
		calls_error_set(&c->err, CALLS_ERR_UNSUPPORTED,
			"presence is off on this server (set presence = true in janus.plugin.calls.jcfg)");
		return FALSE;
	}
	reply(c, 200, wrap("users", calls_registry_online(c->r->reg)));
	return TRUE;
}

/* Media operations are for joined participants only. */
static gboolean joined(ctx *c) {
	if(c->self->status != CALLS_PSTATUS_JOINED) {
		calls_error_set(&c->err, CALLS_ERR_INVALID_STATE, "join call %s (CALL_ANSWER) before %s (your status is %s)",
			c->call->id, c->req->name, calls_participant_status_name(c->self->status));
		return FALSE;
	}
	return TRUE;
}

static gboolean do_publish(ctx *c) {
	if(!joined(c))
		return FALSE;
	char *answer = NULL;
	if(!c->r->media.publish(c->r->media.ctx, c->call, c->self, *c->dev, c->req->jsep, &answer, &c->err))
		return FALSE;
	json_t *jsep = json_object();
	json_object_set_new(jsep, "type", json_string("answer"));
	json_object_set_new(jsep, "sdp", json_string(answer));
	g_free(answer);
	json_t *ev = calls_event_answer_received(c->call->id, calls_registry_now(c->r->reg));
	calls_registry_deliver(c->r->reg, c->conn, c->transaction, ev, jsep);
	json_decref(ev);
	json_decref(jsep);
	return TRUE;
}

static gboolean do_subscribe(ctx *c) {
	if(!joined(c))
		return FALSE;
	return c->r->media.subscribe(c->r->media.ctx, c->call, c->self, *c->dev, c->transaction, c->req->restart, &c->err);
}

static gboolean do_subscriber_answer(ctx *c) {
	return c->r->media.subscriber_answer(c->r->media.ctx, c->call, *c->dev, c->req->sdp, &c->err);
}

static gboolean do_configure(ctx *c) {
	calls_request *req = c->req;
	if(req->max_layer == CALLS_UNSET && req->max_temporal == CALLS_UNSET) {
		calls_error_set(&c->err, CALLS_ERR_INVALID_REQUEST, "send substream (0-2) and/or temporal (0-2)");
		return FALSE;
	}
	if(req->target_user_id != NULL && calls_call_participant(c->call, req->target_user_id) == NULL) {
		calls_error_set(&c->err, CALLS_ERR_INVALID_REQUEST, "\"%s\" is not a participant of call %s",
			req->target_user_id, c->call->id);
		return FALSE;
	}
	if(!c->r->media.configure(c->r->media.ctx, c->call, *c->dev, req->target_user_id, req->max_layer,
			req->max_temporal, &c->err))
		return FALSE;
	json_t *body = json_object();
	json_object_set_new(body, "callId", json_string(c->call->id));
	json_object_set_new(body, "userId", req->target_user_id ? json_string(req->target_user_id) : json_null());
	json_object_set_new(body, "substream", req->max_layer != CALLS_UNSET ? json_integer(req->max_layer) : json_null());
	json_object_set_new(body, "temporal", req->max_temporal != CALLS_UNSET ? json_integer(req->max_temporal) : json_null());
	reply(c, 200, body);
	return TRUE;
}

static const struct {
	handler_fn fn;
	guint needs;
} handlers[CALLS_OP_COUNT] = {
	[CALLS_OP_REGISTER] = { do_register, 0 },
	[CALLS_OP_CREATE] = { do_create, NEEDS_DEVICE },
	[CALLS_OP_ANSWER] = { do_answer, NEEDS_DEVICE | NEEDS_CALL },
	[CALLS_OP_DECLINE] = { do_decline, NEEDS_DEVICE | NEEDS_CALL },
	[CALLS_OP_END] = { do_end, NEEDS_DEVICE | NEEDS_CALL },
	[CALLS_OP_GET] = { do_get, NEEDS_DEVICE },
	[CALLS_OP_ACTIVE] = { do_active, NEEDS_DEVICE },
	[CALLS_OP_HISTORY] = { do_history, NEEDS_DEVICE },
	[CALLS_OP_ADD_PARTICIPANTS] = { do_invite, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEMBER },
	[CALLS_OP_MEDIA] = { do_media, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEMBER },
	[CALLS_OP_PARTICIPANTS] = { do_participants, NEEDS_DEVICE },
	[CALLS_OP_PUBLISH] = { do_publish, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEDIA | NEEDS_MEMBER },
	[CALLS_OP_SUBSCRIBE] = { do_subscribe, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEDIA | NEEDS_MEMBER },
	[CALLS_OP_SUBSCRIBER_ANSWER] = { do_subscriber_answer, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEDIA | NEEDS_MEMBER },
	[CALLS_OP_CONFIGURE] = { do_configure, NEEDS_DEVICE | NEEDS_CALL | NEEDS_MEDIA | NEEDS_MEMBER },
	[CALLS_OP_USERS_ONLINE] = { do_online, NEEDS_DEVICE },
};

/* Whether the media layer offers what `op` needs. */
static gboolean media_offers(const calls_router *r, calls_op op) {
	if(!r->has_media)
		return FALSE;
	switch(op) {
		case CALLS_OP_PUBLISH: return r->media.publish != NULL;
		case CALLS_OP_SUBSCRIBE: return r->media.subscribe != NULL;
		case CALLS_OP_SUBSCRIBER_ANSWER: return r->media.subscriber_answer != NULL;
		case CALLS_OP_CONFIGURE: return r->media.configure != NULL;
		default: return TRUE;
	}
}

/* The checks every handler relies on. */
static gboolean authorise(ctx *c, guint needs) {
	calls_router *r = c->r;
	if((needs & NEEDS_DEVICE) && *c->dev == NULL) {
		calls_error_set(&c->err, CALLS_ERR_UNAUTHORIZED,
			"register this handle first: {\"request\": \"register\", \"token\": \"<JWT>\"}");
		return FALSE;
	}
	if(needs & NEEDS_MEDIA) {
		if(!media_offers(r, c->req->op)) {
			calls_error_set(&c->err, CALLS_ERR_UNSUPPORTED, "media is not enabled on this server: %s is not available",
				c->req->name);
			return FALSE;
		}
	}
	if(c->req->call_id[0] != '\0')
		c->call = calls_registry_find(r->reg, c->req->call_id);
	if(c->call != NULL && *c->dev != NULL)
		c->self = calls_call_participant(c->call, (*c->dev)->user->user_id);
	if(!(needs & NEEDS_CALL))
		return TRUE;
	if(c->call == NULL) {
		/* Tell "over" from "never existed": the history knows */
		need_read(c, CALLS_READ_OVER);
		return FALSE;
	}
	if(c->self == NULL) {
		calls_error_set(&c->err, CALLS_ERR_FORBIDDEN, "you are not a participant of call %s", c->call->id);
		return FALSE;
	}
	if((needs & NEEDS_MEMBER) && !still_in(c))
		return FALSE;
	return TRUE;
}

/* The handle registered with a token that has expired since. */
static gboolean token_expired(calls_router *r, const calls_device *dev) {
	return dev != NULL && calls_auth_expired(dev->token_expires, calls_registry_now(r->reg) / G_USEC_PER_SEC);
}

json_t *calls_router_execute(calls_router *r, void *conn, calls_device **dev, const char *transaction,
		calls_request *req, gboolean parse_ok, const calls_error *parse_err) {
	return calls_router_execute_read(r, conn, dev, transaction, req, parse_ok, parse_err, NULL);
}

json_t *calls_router_execute_read(calls_router *r, void *conn, calls_device **dev, const char *transaction,
		calls_request *req, gboolean parse_ok, const calls_error *parse_err, calls_history_read **read) {
	if(read != NULL)
		*read = NULL;
	ctx c = { .r = r, .conn = conn, .dev = dev, .transaction = transaction, .req = req };
	c.origin.device = *dev;
	c.origin.transaction = transaction;
	gboolean ok = FALSE;
	if(*dev == NULL && req->op != CALLS_OP_REGISTER) {
		/* An unregistered handle hears only this, whatever it sent */
		calls_error_set(&c.err, CALLS_ERR_UNAUTHORIZED,
			"register this handle first: {\"request\": \"register\", \"token\": \"<JWT>\"}");
	} else if(req->op != CALLS_OP_REGISTER && token_expired(r, *dev)) {
		/* Only new requests stop: the handle's media and its place in calls go on */
		char at[40];
		calls_time_format((*dev)->token_expires * G_USEC_PER_SEC, at, sizeof(at));
		calls_error_set(&c.err, CALLS_ERR_UNAUTHORIZED,
			"token expired: register again with a fresh token on this handle "
			"({\"request\": \"register\", \"token\": \"<JWT>\"}); the token expired at %s", at);
	} else if(!parse_ok) {
		c.err = *parse_err;
	} else if(req->op <= CALLS_OP_NONE || req->op >= CALLS_OP_COUNT || handlers[req->op].fn == NULL) {
		calls_error_set(&c.err, CALLS_ERR_INTERNAL, "no handler for %s", req->name);
	} else if(authorise(&c, handlers[req->op].needs)) {
		ok = handlers[req->op].fn(&c);
	}
	json_t *answer = NULL;
	if(c.read != NULL) {
		/* The answer is in the history */
		if(r->store != NULL || (read == NULL && r->defer == NULL)) {
			answer = calls_history_read_answer(c.read, r->store, calls_registry_now(r->reg));
			if(answer != NULL && c.read->async) {
				calls_registry_deliver(r->reg, conn, transaction, answer, NULL);
				json_decref(answer);
				answer = NULL;
			}
			calls_history_read_free(c.read);
		} else if(!c.read->async && read != NULL) {
			*read = c.read;
		} else if(c.read->async && r->defer != NULL) {
			r->defer(r->defer_ctx, c.read, conn, transaction);
		} else {
			calls_history_read_free(c.read);
			calls_error_set(&c.err, CALLS_ERR_INTERNAL, "a deferred read has nowhere to go (a bug)");
			answer = calls_reply_error(&c.err);
		}
		calls_registry_flush(r->reg);
		return answer;
	}
	if(!ok && parse_ok)   /* the code only: a message may quote what the client sent */
		calls_registry_log(r->reg, CALLS_LOG_VERB, req->call_id[0] ? req->call_id : NULL, "%s: %s refused: %s",
			*dev ? (*dev)->user->user_id : "an unregistered handle", req->name, calls_error_code_name(c.err.code));
	if(calls_request_is_async(req)) {
		if(!ok) {
			json_t *ev = calls_event_error(&c.err, req->name, req->call_id, calls_registry_now(r->reg));
			calls_registry_deliver(r->reg, conn, transaction, ev, NULL);
			json_decref(ev);
		}
		if(c.reply_body != NULL)
			json_decref(c.reply_body);
	} else {
		answer = ok ? calls_reply_ok(c.reply_status, c.reply_body) : calls_reply_error(&c.err);
	}
	calls_registry_flush(r->reg);
	return answer;
}

void calls_router_conn_gone(calls_router *r, calls_device *dev) {
	if(dev != NULL)
		calls_registry_device_gone(r->reg, dev);
	calls_registry_flush(r->reg);
}

/* ---- Admin API ------------------------------------------------------------------------- */

json_t *calls_router_admin_call(calls_router *r, calls_call *call) {
	json_t *j = calls_json_call(call, calls_registry_now(r->reg));
	if(r->has_media && r->media.stats != NULL) {
		json_t *parts = json_object_get(j, "participants");
		for(guint i = 0; i < call->participants->len; i++) {
			json_t *stats = r->media.stats(r->media.ctx, call, g_ptr_array_index(call->participants, i));
			if(stats != NULL)
				json_object_set_new(json_array_get(parts, i), "stats", stats);
		}
	}
	return j;
}

json_t *calls_router_admin(calls_router *r, json_t *request) {
	calls_error err = { 0 };
	const char *what = json_string_value(json_object_get(request, "request"));
	json_t *cid = json_object_get(request, "callId");
	calls_call *call = json_is_string(cid) ? calls_registry_find(r->reg, json_string_value(cid)) : NULL;
	json_t *body = NULL;
	if(what == NULL) {
		calls_error_set(&err, CALLS_ERR_INVALID_REQUEST,
			"send {\"request\": \"list_calls\" | \"get_call\" | \"end_call\" | \"remove_participant\"}");
	} else if(strcmp(what, "list_calls") == 0) {
		GPtrArray *all = calls_registry_all_calls(r->reg);
		json_t *list = json_array();
		for(guint i = 0; i < all->len; i++)
			json_array_append_new(list, calls_json_call(g_ptr_array_index(all, i), calls_registry_now(r->reg)));
		g_ptr_array_unref(all);
		body = json_object();
		json_object_set_new(body, "calls", list);
		json_object_set_new(body, "total", json_integer((json_int_t)json_array_size(list)));
	} else if(strcmp(what, "get_call") != 0 && strcmp(what, "end_call") != 0 && strcmp(what, "remove_participant") != 0) {
		calls_error_set(&err, CALLS_ERR_INVALID_REQUEST,
			"unknown admin request \"%.64s\": use list_calls, get_call, end_call or remove_participant", what);
	} else if(!json_is_string(cid)) {
		calls_error_set(&err, CALLS_ERR_INVALID_REQUEST, "%s needs \"callId\" (a string)", what);
	} else if(call == NULL) {
		calls_error_set(&err, CALLS_ERR_CALL_NOT_FOUND, "there is no live call %.64s", json_string_value(cid));
	} else if(strcmp(what, "get_call") == 0) {
		body = wrap("call", calls_router_admin_call(r, call));
	} else if(strcmp(what, "end_call") == 0) {
		if(calls_registry_admin_end(r->reg, call, &err))
			body = wrap("call", calls_json_call(call, calls_registry_now(r->reg)));
	} else {
		const char *user = json_string_value(json_object_get(request, "userId"));
		if(user == NULL)
			calls_error_set(&err, CALLS_ERR_INVALID_REQUEST, "remove_participant needs \"userId\" (a string)");
		else if(calls_registry_admin_remove(r->reg, call, user, &err))
			body = wrap("call", calls_json_call(call, calls_registry_now(r->reg)));
	}
	json_t *answer = body != NULL ? calls_reply_ok(200, body) : calls_reply_error(&err);
	calls_registry_flush(r->reg);
	return answer;
}

json_t *calls_router_describe(calls_router *r, calls_device *dev) {
	json_t *j = json_object();
	json_object_set_new(j, "registered", json_boolean(dev != NULL));
	if(dev == NULL)
		return j;
	json_object_set_new(j, "user", calls_json_user(dev->user));
	json_object_set_new(j, "deviceId", json_integer((json_int_t)dev->id));
	json_object_set_new(j, "events", json_boolean(dev->events));
	json_t *calls = json_array();
	for(guint i = 0; i < dev->user->calls->len; i++) {
		calls_call *call = g_ptr_array_index(dev->user->calls, i);
		calls_participant *p = calls_call_participant(call, dev->user->user_id);
		json_t *cj = json_object();
		json_object_set_new(cj, "callId", json_string(call->id));
		json_object_set_new(cj, "status", json_string(calls_call_status_name(call->status)));
		json_object_set_new(cj, "participantStatus", json_string(calls_participant_status_name(p->status)));
		json_object_set_new(cj, "onThisHandle", json_boolean(p->device == dev));
		json_array_append_new(calls, cj);
	}
	json_object_set_new(j, "calls", calls);
	return j;
}
