/* janus.plugin.calls - the registry: users, devices, calls and their status machine.
 *
 * Call status. The status of a call moves only through the `transitions`
 * table below: (status, event) -> (new status, end reason). Events are
 * produced in two places: directly by an operation (an invitee answers: the
 * call is ACCEPTED; media of two people flows: MEDIA_FLOWING; the initiator
 * ends it for everyone) and by settle(), which runs after every change of a
 * participant and decides whether the call is over and why: a call goes on
 * while two participants are joined, or one is joined and somebody still
 * rings; otherwise it ends, and the verdict looks at what happened (nobody
 * answered, everybody declined or was busy, media never flowed, people hung
 * up or disconnected) to pick the event.
 *
 * Participant status. RINGING -> JOINED | DECLINED | MISSED; JOINED -> LEFT
 * | FAILED; BUSY at once when invited while joined in another live call. A
 * participant in a final status may be invited again (RINGING).
 *
 * Timers, one per participant and purpose: ring (RINGING too long -> MISSED),
 * connect (JOINED but no media -> FAILED), grace (media or connection lost ->
 * LEFT with reason DISCONNECTED unless it comes back).
 *
 * Devices. A user may register several connections; every connection that
 * carries events rings. The first to answer takes the call; the others learn it
 * from CALL_PARTICIPANT_JOINED naming their own user.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "registry.h"

/* A line of a call's story in the server's log (calls_env.log) */
#define STORY(reg, call, ...) calls_registry_log((reg), CALLS_LOG_VERB, (call)->id, __VA_ARGS__)

struct calls_registry {
	calls_env env;
	calls_limits limits;
	GHashTable *users;    /* user_id -> calls_user*, owned */
	GHashTable *calls;    /* id -> calls_call*, owned, live calls only */
	GPtrArray *ended;     /* calls ended in this operation, freed by flush */
	GPtrArray *dirty;     /* calls to persist at flush (borrowed) */
	guint64 next_device_id;
};

/* ---- The status machine ----------------------------------------------------------- */

typedef enum {
	CE_ACCEPTED,           /* an invitee answered */
	CE_MEDIA_FLOWING,      /* media of two participants flows through the SFU */
	CE_ALL_DECLINED,       /* every invitee declined (some may have been busy) */
	CE_ALL_BUSY,           /* every invitee was busy */
	CE_NOBODY_ANSWERED,    /* the ring timeout passed for the last invitee */
	CE_CANCELLED,          /* the initiator hung up while it rang */
	CE_CONNECT_FAILED,     /* fewer than two could get their media through */
	CE_HUNG_UP,            /* fewer than two participants remain */
	CE_DISCONNECTED,       /* ... because a peer went away and did not come back */
	CE_ENDED_FOR_EVERYONE, /* the initiator ended it for all */
	CE_ADMIN_END,          /* ended through the Admin API */
} call_event;

static const struct transition {
	calls_call_status from;
	call_event event;
	calls_call_status to;
	calls_end_reason reason;
} transitions[] = {
	{ CALLS_STATUS_RINGING,    CE_ACCEPTED,           CALLS_STATUS_CONNECTING, CALLS_END_NONE },
	{ CALLS_STATUS_RINGING,    CE_ALL_DECLINED,       CALLS_STATUS_DECLINED,   CALLS_END_DECLINED },
	{ CALLS_STATUS_RINGING,    CE_ALL_BUSY,           CALLS_STATUS_BUSY,       CALLS_END_BUSY },
	{ CALLS_STATUS_RINGING,    CE_NOBODY_ANSWERED,    CALLS_STATUS_MISSED,     CALLS_END_RING_TIMEOUT },
	{ CALLS_STATUS_RINGING,    CE_CANCELLED,          CALLS_STATUS_MISSED,     CALLS_END_CANCELLED },
	{ CALLS_STATUS_RINGING,    CE_DISCONNECTED,       CALLS_STATUS_MISSED,     CALLS_END_DISCONNECTED },
	{ CALLS_STATUS_RINGING,    CE_ENDED_FOR_EVERYONE, CALLS_STATUS_MISSED,     CALLS_END_CANCELLED },
	{ CALLS_STATUS_RINGING,    CE_ADMIN_END,          CALLS_STATUS_MISSED,     CALLS_END_ADMIN },
	{ CALLS_STATUS_CONNECTING, CE_ACCEPTED,           CALLS_STATUS_CONNECTING, CALLS_END_NONE },
	{ CALLS_STATUS_CONNECTING, CE_MEDIA_FLOWING,      CALLS_STATUS_CONNECTED,  CALLS_END_NONE },
	{ CALLS_STATUS_CONNECTING, CE_CONNECT_FAILED,     CALLS_STATUS_FAILED,     CALLS_END_CONNECT_TIMEOUT },
	{ CALLS_STATUS_CONNECTING, CE_HUNG_UP,            CALLS_STATUS_ENDED,      CALLS_END_HANGUP },
	{ CALLS_STATUS_CONNECTING, CE_DISCONNECTED,       CALLS_STATUS_FAILED,     CALLS_END_DISCONNECTED },
	{ CALLS_STATUS_CONNECTING, CE_ENDED_FOR_EVERYONE, CALLS_STATUS_ENDED,      CALLS_END_ENDED_FOR_EVERYONE },
	{ CALLS_STATUS_CONNECTING, CE_ADMIN_END,          CALLS_STATUS_ENDED,      CALLS_END_ADMIN },
	{ CALLS_STATUS_CONNECTED,  CE_ACCEPTED,           CALLS_STATUS_CONNECTED,  CALLS_END_NONE },
	{ CALLS_STATUS_CONNECTED,  CE_MEDIA_FLOWING,      CALLS_STATUS_CONNECTED,  CALLS_END_NONE },
	{ CALLS_STATUS_CONNECTED,  CE_HUNG_UP,            CALLS_STATUS_ENDED,      CALLS_END_HANGUP },
	{ CALLS_STATUS_CONNECTED,  CE_DISCONNECTED,       CALLS_STATUS_ENDED,      CALLS_END_DISCONNECTED },
	{ CALLS_STATUS_CONNECTED,  CE_ENDED_FOR_EVERYONE, CALLS_STATUS_ENDED,      CALLS_END_ENDED_FOR_EVERYONE },
	{ CALLS_STATUS_CONNECTED,  CE_ADMIN_END,          CALLS_STATUS_ENDED,      CALLS_END_ADMIN },
};

static const struct transition *find_transition(calls_call_status from, call_event ev) {
	for(guint i = 0; i < G_N_ELEMENTS(transitions); i++) {
		if(transitions[i].from == from && transitions[i].event == ev)
			return &transitions[i];
	}
	return NULL;
}

static void fire(calls_registry *reg, calls_call *call, call_event ev, const char *by, const calls_origin *o);

/* ---- Small helpers -------------------------------------------------------------------- */

gint64 calls_registry_now(calls_registry *reg) {
	return reg->env.now(reg->env.ctx);
}

void calls_registry_deliver(calls_registry *reg, void *conn, const char *transaction, json_t *event, json_t *jsep) {
	reg->env.deliver(reg->env.ctx, conn, transaction, event, jsep);
}

void calls_registry_log(calls_registry *reg, calls_log_level level, const char *call_id, const char *format, ...) {
	if(reg->env.log == NULL)
		return;
	va_list args;
	va_start(args, format);
	reg->env.log(reg->env.ctx, level, call_id, format, args);
	va_end(args);
}

static void mark_dirty(calls_registry *reg, calls_call *call) {
	if(!call->dirty) {
		call->dirty = TRUE;
		g_ptr_array_add(reg->dirty, call);
	}
}

static void cancel_timer(calls_registry *reg, guint *timer) {
	if(*timer != 0) {
		reg->env.timer_remove(reg->env.ctx, *timer);
		*timer = 0;
	}
}

static void cancel_timers(calls_registry *reg, calls_participant *p) {
	cancel_timer(reg, &p->ring_timer);
	cancel_timer(reg, &p->connect_timer);
	cancel_timer(reg, &p->grace_timer);
}

static void set_str(char **field, const char *value) {
	if(g_strcmp0(*field, value) != 0) {
		g_free(*field);
		*field = g_strdup(value);
	}
}

calls_participant *calls_call_participant(const calls_call *call, const char *user_id) {
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		if(strcmp(p->user_id, user_id) == 0)
			return p;
	}
	return NULL;
}

static guint count_status(const calls_call *call, calls_participant_status status) {
	guint n = 0;
	for(guint i = 0; i < call->participants->len; i++) {
		const calls_participant *p = g_ptr_array_index(call->participants, i);
		n += (p->status == status);
	}
	return n;
}

/* ---- Users ------------------------------------------------------------------------------ */

static void user_free(gpointer data) {
	calls_user *u = data;
	g_free(u->user_id);
	g_free(u->user_name);
	g_free(u->avatar);
	g_ptr_array_free(u->devices, TRUE);
	g_ptr_array_free(u->calls, TRUE);
	g_queue_clear(&u->initiations);
	g_free(u);
}

static calls_user *user_get(calls_registry *reg, const char *user_id, gboolean create) {
	calls_user *u = g_hash_table_lookup(reg->users, user_id);
	if(u == NULL && create) {
		u = g_new0(calls_user, 1);
		u->user_id = g_strdup(user_id);
		u->devices = g_ptr_array_new();
		u->calls = g_ptr_array_new();
		g_queue_init(&u->initiations);
		g_hash_table_insert(reg->users, u->user_id, u);
	}
	return u;
}

calls_user *calls_registry_user(calls_registry *reg, const char *user_id) {
	return user_get(reg, user_id, FALSE);
}

calls_call *calls_registry_joined_call(calls_registry *reg, const calls_user *user, const calls_call *except) {
	for(guint i = 0; user != NULL && i < user->calls->len; i++) {
		calls_call *c = g_ptr_array_index(user->calls, i);
		calls_participant *p = calls_call_participant(c, user->user_id);
		if(c != except && p != NULL && p->status == CALLS_PSTATUS_JOINED)
			return c;
	}
	return NULL;
}

/* ---- Delivery ------------------------------------------------------------------------------ */

static void deliver_to_user(calls_registry *reg, const calls_user *u, json_t *ev, const calls_origin *o) {
	for(guint i = 0; u != NULL && i < u->devices->len; i++) {
		calls_device *d = g_ptr_array_index(u->devices, i);
		gboolean is_origin = (o != NULL && o->device == d);
		if(d->events || is_origin)
			reg->env.deliver(reg->env.ctx, d->conn, is_origin ? o->transaction : NULL, ev, NULL);
	}
}

/* To the devices of everybody in the call (RINGING or JOINED), plus `also`
 * (somebody who just left it), plus the origin device. Mirrored to event handlers. */
static void send_to_call(calls_registry *reg, calls_call *call, json_t *ev, const calls_origin *o, const char *also) {
	gboolean origin_done = (o == NULL || o->device == NULL);
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		gboolean in_call = (p->status == CALLS_PSTATUS_RINGING || p->status == CALLS_PSTATUS_JOINED);
		if(!in_call && g_strcmp0(also, p->user_id) != 0)
			continue;
		calls_user *u = user_get(reg, p->user_id, FALSE);
		deliver_to_user(reg, u, ev, o);
		if(!origin_done && o->device->user == u)
			origin_done = TRUE;
	}
	if(!origin_done)
		reg->env.deliver(reg->env.ctx, o->device->conn, o->transaction, ev, NULL);
	if(reg->env.notify != NULL)
		reg->env.notify(reg->env.ctx, call, ev);
	json_decref(ev);
}

/* To every device of every participant, whatever their status. */
static void send_to_everyone(calls_registry *reg, calls_call *call, json_t *ev, const calls_origin *o) {
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		deliver_to_user(reg, user_get(reg, p->user_id, FALSE), ev, o);
	}
	if(reg->env.notify != NULL)
		reg->env.notify(reg->env.ctx, call, ev);
	json_decref(ev);
}

/* ---- Participants ---------------------------------------------------------------------------- */

static gboolean on_ring_timeout(gpointer data);
static gboolean on_connect_timeout(gpointer data);
static gboolean on_grace_timeout(gpointer data);

static void participant_free(gpointer data) {
	calls_participant *p = data;
	g_free(p->user_id);
	g_free(p->user_name);
	g_free(p->avatar);
	g_free(p);
}

static void start_ringing(calls_registry *reg, calls_participant *p) {
	p->status = CALLS_PSTATUS_RINGING;
	p->invited_at = calls_registry_now(reg);
	p->left_at = 0;
	p->device = NULL;
	p->media_flowing = FALSE;
	cancel_timers(reg, p);
	p->ring_timer = reg->env.timer_add(reg->env.ctx, reg->limits.ring_timeout_ms, on_ring_timeout, p);
}

static void start_connect_timer(calls_registry *reg, calls_participant *p) {
	if(p->status == CALLS_PSTATUS_JOINED && !p->media_flowing && p->connect_timer == 0)
		p->connect_timer = reg->env.timer_add(reg->env.ctx, reg->limits.connect_timeout_ms, on_connect_timeout, p);
}

/* A participant leaves the call with a final status; tells the call (and them). */
static void participant_leave(calls_registry *reg, calls_participant *p, calls_participant_status status,
		calls_left_reason reason, const char *message, const calls_origin *o) {
	gboolean was_joined = (p->status == CALLS_PSTATUS_JOINED);
	/* A decline's message is the user's own text: it stays out of the log */
	STORY(reg, p->call, "%s left: status %s, reason %s%s%s", p->user_id, calls_participant_status_name(status),
		calls_left_reason_name(reason), reason != CALLS_LEFT_DECLINED && message ? ": " : "",
		reason != CALLS_LEFT_DECLINED && message ? message : "");
	cancel_timers(reg, p);
	p->status = status;
	p->left_reason = reason;
	p->left_at = calls_registry_now(reg);
	p->media_flowing = FALSE;
	p->device = NULL;
	mark_dirty(reg, p->call);
	if(was_joined && reg->env.participant_gone != NULL)
		reg->env.participant_gone(reg->env.ctx, p->call, p);
	send_to_call(reg, p->call, calls_event_participant_left(p, message, calls_registry_now(reg)), o, p->user_id);
}

/* ---- Calls ------------------------------------------------------------------------------------- */

static void call_free(calls_call *call) {
	g_ptr_array_free(call->participants, TRUE);
	g_free(call->chat_id);
	g_free(call->initiator_id);
	g_free(call->ended_by);
	g_free(call);
}

static void set_status(calls_registry *reg, calls_call *call, calls_call_status status, const calls_origin *o) {
	calls_call_status previous = call->status;
	if(previous == status)
		return;
	call->status = status;
	STORY(reg, call, "status %s -> %s", calls_call_status_name(previous), calls_call_status_name(status));
	if(status == CALLS_STATUS_CONNECTED && call->connected_at == 0)
		call->connected_at = calls_registry_now(reg);
	mark_dirty(reg, call);
	json_t *ev = calls_event_status_changed(call, previous, calls_registry_now(reg));
	if(calls_status_is_final(status))
		send_to_everyone(reg, call, ev, o);
	else
		send_to_call(reg, call, ev, o, NULL);
}

/* The call is over: everybody still in it leaves, every device hears CALL_ENDED. */
static void finish(calls_registry *reg, calls_call *call, const struct transition *t, const char *by,
		const calls_origin *o) {
	gint64 now = calls_registry_now(reg);
	call->ended_at = now;
	call->end_reason = t->reason;
	set_str(&call->ended_by, by);
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		cancel_timers(reg, p);
		if(p->status == CALLS_PSTATUS_RINGING) {
			p->status = CALLS_PSTATUS_MISSED;
			p->left_reason = CALLS_LEFT_MISSED;
			p->left_at = now;
		} else if(p->status == CALLS_PSTATUS_JOINED) {
			/* A call that failed to connect: whoever got no media through failed too
			 * (their own connect timer may be due at this very moment) */
			gboolean failed = (t->reason == CALLS_END_CONNECT_TIMEOUT && !p->media_flowing);
			p->status = failed ? CALLS_PSTATUS_FAILED : CALLS_PSTATUS_LEFT;
			p->left_reason = failed ? CALLS_LEFT_FAILED : CALLS_LEFT_LEFT;
			p->left_at = now;
		}
		p->device = NULL;
	}
	set_status(reg, call, t->to, o);
	STORY(reg, call, "ended: status %s, reason %s, by %s, after %.1f s (connected %.1f s)",
		calls_call_status_name(call->status), calls_end_reason_name(call->end_reason),
		call->ended_by ? call->ended_by : "nobody", (now - call->started_at) / 1e6,
		call->connected_at ? (now - call->connected_at) / 1e6 : 0.0);
	send_to_everyone(reg, call, calls_event_ended(call, now), o);
	if(reg->env.call_ended != NULL)
		reg->env.call_ended(reg->env.ctx, call);
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		calls_user *u = user_get(reg, p->user_id, FALSE);
		if(u != NULL)
			g_ptr_array_remove(u->calls, call);
	}
	g_hash_table_steal(reg->calls, call->id);
	g_ptr_array_add(reg->ended, call);
	mark_dirty(reg, call);
}

static void fire(calls_registry *reg, calls_call *call, call_event ev, const char *by, const calls_origin *o) {
	if(calls_status_is_final(call->status))
		return;
	const struct transition *t = find_transition(call->status, ev);
	if(t == NULL) {
		calls_registry_log(reg, CALLS_LOG_WARN, call->id, "no transition from %s on event %d (ignored)",
			calls_call_status_name(call->status), ev);
		return;
	}
	if(calls_status_is_final(t->to))
		finish(reg, call, t, by, o);
	else
		set_status(reg, call, t->to, o);
}

/* After any change of a participant: does the call go on? If not, why did it end?
 * `hint` is what the last change was (CE_HUNG_UP, CE_DISCONNECTED, CE_CANCELLED). */
static void settle(calls_registry *reg, calls_call *call, call_event hint, const char *by, const calls_origin *o) {
	if(calls_status_is_final(call->status))
		return;
	guint joined = count_status(call, CALLS_PSTATUS_JOINED);
	guint ringing = count_status(call, CALLS_PSTATUS_RINGING);
	if((ringing > 0 && joined >= 1) || joined >= 2)
		return;
	call_event verdict = hint;
	if(call->status == CALLS_STATUS_RINGING) {
		if(ringing == 0) {
			guint invitees = call->participants->len - 1;
			if(count_status(call, CALLS_PSTATUS_BUSY) == invitees)
				verdict = CE_ALL_BUSY;
			else if(count_status(call, CALLS_PSTATUS_MISSED) > 0)
				verdict = CE_NOBODY_ANSWERED;
			else
				verdict = CE_ALL_DECLINED;
			by = (verdict == CE_NOBODY_ANSWERED) ? NULL : by;
		} else if(hint != CE_DISCONNECTED) {
			verdict = CE_CANCELLED;
		}
	} else if(call->status == CALLS_STATUS_CONNECTING && count_status(call, CALLS_PSTATUS_FAILED) > 0) {
		verdict = CE_CONNECT_FAILED;
	} else if(hint != CE_DISCONNECTED) {
		/* The last one still ringing missed it, or a late joiner failed to connect,
		 * after the others had hung up: the call was hung up */
		verdict = CE_HUNG_UP;
	}
	fire(reg, call, verdict, by, o);
}

/* One of a participant's timers ran out. If it still `applies`, the participant
 * leaves with `status`/`reason`, and the call settles with `event`. */
static gboolean timer_expired(calls_participant *p, guint *timer, gboolean applies,
		calls_participant_status status, calls_left_reason reason, const char *message, call_event event) {
	calls_call *call = p->call;
	calls_registry *reg = call->registry;
	*timer = 0;
	if(applies) {
		/* A disconnect is somebody's doing (endedBy); a timeout is nobody's */
		char *who = event == CE_DISCONNECTED ? g_strdup(p->user_id) : NULL;
		participant_leave(reg, p, status, reason, message, NULL);
		settle(reg, call, event, who, NULL);
		g_free(who);
	}
	calls_registry_flush(reg);
	return G_SOURCE_REMOVE;
}

static gboolean on_ring_timeout(gpointer data) {
	calls_participant *p = data;
	return timer_expired(p, &p->ring_timer, p->status == CALLS_PSTATUS_RINGING,
		CALLS_PSTATUS_MISSED, CALLS_LEFT_MISSED, "no answer", CE_NOBODY_ANSWERED);
}

static gboolean on_connect_timeout(gpointer data) {
	calls_participant *p = data;
	return timer_expired(p, &p->connect_timer, p->status == CALLS_PSTATUS_JOINED && !p->media_flowing,
		CALLS_PSTATUS_FAILED, CALLS_LEFT_FAILED, "no media reached the server within the connect timeout",
		CE_CONNECT_FAILED);
}

static gboolean on_grace_timeout(gpointer data) {
	calls_participant *p = data;
	return timer_expired(p, &p->grace_timer, p->status == CALLS_PSTATUS_JOINED,
		CALLS_PSTATUS_LEFT, CALLS_LEFT_DISCONNECTED,
		"the connection was lost and did not come back within the reconnect grace", CE_DISCONNECTED);
}

static void start_grace(calls_registry *reg, calls_participant *p) {
	if(p->status == CALLS_PSTATUS_JOINED && p->grace_timer == 0) {
		STORY(reg, p->call, "%s: reconnect grace of %u ms starts", p->user_id, reg->limits.reconnect_grace_ms);
		p->grace_timer = reg->env.timer_add(reg->env.ctx, reg->limits.reconnect_grace_ms, on_grace_timeout, p);
	}
}

/* ---- Lifecycle ----------------------------------------------------------------------------------- */

calls_registry *calls_registry_new(const calls_env *env, const calls_limits *limits) {
	calls_registry *reg = g_new0(calls_registry, 1);
	reg->env = *env;
	reg->limits = *limits;
	reg->users = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, user_free);
	reg->calls = g_hash_table_new(g_str_hash, g_str_equal);
	reg->ended = g_ptr_array_new();
	reg->dirty = g_ptr_array_new();
	return reg;
}

/* A user with no connection and no live call is forgotten, unless they started
 * a call or invited somebody in the last minute: reconnecting must not reset
 * max_calls_per_minute. */
static gboolean user_idle(calls_registry *reg, calls_user *u) {
	if(u->devices->len > 0 || u->calls->len > 0)
		return FALSE;
	gpointer last = g_queue_peek_tail(&u->initiations);
	return last == NULL ||
		calls_registry_now(reg) - GPOINTER_TO_SIZE(last) * (gint64)1000 >= 60 * G_USEC_PER_SEC;
}

static void forget_idle_users(calls_registry *reg) {
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->users);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		if(user_idle(reg, value))
			g_hash_table_iter_remove(&iter);
	}
}

void calls_registry_flush(calls_registry *reg) {
	for(guint i = 0; i < reg->dirty->len; i++) {
		calls_call *call = g_ptr_array_index(reg->dirty, i);
		call->dirty = FALSE;
		if(reg->env.persist != NULL)
			reg->env.persist(reg->env.ctx, call);
	}
	g_ptr_array_set_size(reg->dirty, 0);
	if(reg->ended->len > 0) {
		for(guint i = 0; i < reg->ended->len; i++)
			call_free(g_ptr_array_index(reg->ended, i));
		g_ptr_array_set_size(reg->ended, 0);
		forget_idle_users(reg);
	}
}

void calls_registry_free(calls_registry *reg) {
	if(reg == NULL)
		return;
	calls_registry_flush(reg);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->calls);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		calls_call *call = value;
		for(guint i = 0; i < call->participants->len; i++)
			cancel_timers(reg, g_ptr_array_index(call->participants, i));
		if(reg->env.call_ended != NULL)
			reg->env.call_ended(reg->env.ctx, call);
		call_free(call);
	}
	g_hash_table_destroy(reg->calls);
	g_hash_table_iter_init(&iter, reg->users);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		calls_user *u = value;
		for(guint i = 0; i < u->devices->len; i++)
			g_free(g_ptr_array_index(u->devices, i));
	}
	g_hash_table_destroy(reg->users);
	g_ptr_array_free(reg->ended, TRUE);
	g_ptr_array_free(reg->dirty, TRUE);
	g_free(reg);
}

/* ---- Users and devices ------------------------------------------------------------------------- */

void calls_registry_update_user(calls_registry *reg, calls_user *u, const char *user_name, const char *avatar) {
	if(user_name != NULL)
		set_str(&u->user_name, user_name);
	if(avatar != NULL)
		set_str(&u->avatar, avatar);
	/* Fill in names of invitations made before we knew them */
	for(guint i = 0; i < u->calls->len; i++) {
		calls_call *call = g_ptr_array_index(u->calls, i);
		calls_participant *p = calls_call_participant(call, u->user_id);
		if(p != NULL && p->user_name == NULL && u->user_name != NULL) {
			set_str(&p->user_name, u->user_name);
			set_str(&p->avatar, u->avatar);
			mark_dirty(reg, call);
		}
	}
}

gboolean calls_registry_device_allowed(calls_registry *reg, const char *user_id, calls_error *err) {
	calls_user *u = user_get(reg, user_id, FALSE);
	guint max = reg->limits.max_devices_per_user;
	if(max == 0 || u == NULL || u->devices->len < max)
		return TRUE;
	calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
		"\"%s\" already has %u registered handles, the most one user may have (max_devices_per_user); "
		"detach one of them (or let its session time out) before registering another", user_id, max);
	return FALSE;
}

calls_device *calls_registry_register(calls_registry *reg, void *conn, const char *user_id,
		const char *user_name, const char *avatar, gboolean events, const calls_origin *origin) {
	calls_user *u = user_get(reg, user_id, TRUE);
	calls_registry_update_user(reg, u, user_name, avatar);
	calls_device *dev = g_new0(calls_device, 1);
	dev->id = ++reg->next_device_id;
	dev->user = u;
	dev->conn = conn;
	dev->events = events;
	dev->registered_at = calls_registry_now(reg);
	g_ptr_array_add(u->devices, dev);
	calls_registry_log(reg, CALLS_LOG_VERB, NULL, "%s registered device %" G_GUINT64_FORMAT " (%u device(s), events %s)",
		user_id, dev->id, u->devices->len, events ? "on" : "off");
	/* A device that comes online while a call rings it still gets the call */
	for(guint i = 0; events && i < u->calls->len; i++) {
		calls_call *call = g_ptr_array_index(u->calls, i);
		calls_participant *p = calls_call_participant(call, user_id);
		if(p != NULL && p->status == CALLS_PSTATUS_RINGING) {
			STORY(reg, call, "ringing %s on its new device %" G_GUINT64_FORMAT, user_id, dev->id);
			json_t *ev = calls_event_incoming(call, calls_registry_now(reg));
			reg->env.deliver(reg->env.ctx, conn, NULL, ev, NULL);
			json_decref(ev);
		}
	}
	return dev;
}

void calls_registry_device_set_events(calls_registry *reg, calls_device *dev, gboolean events) {
	dev->events = events;
}

void calls_registry_device_gone(calls_registry *reg, calls_device *dev) {
	calls_user *u = dev->user;
	calls_registry_log(reg, CALLS_LOG_VERB, NULL, "%s: device %" G_GUINT64_FORMAT " gone", u->user_id, dev->id);
	for(guint i = 0; i < u->calls->len; i++) {
		calls_call *call = g_ptr_array_index(u->calls, i);
		calls_participant *p = calls_call_participant(call, u->user_id);
		if(p != NULL && p->device == dev) {
			p->device = NULL;
			start_grace(reg, p);
		}
	}
	g_ptr_array_remove(u->devices, dev);
	g_free(dev);
	if(user_idle(reg, u))
		g_hash_table_remove(reg->users, u->user_id);
}

json_t *calls_registry_online(calls_registry *reg) {
	json_t *users = json_array();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->users);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		calls_user *u = value;
		if(u->devices->len == 0)
			continue;
		json_t *j = calls_json_user(u);
		json_object_set_new(j, "inCall", json_boolean(calls_registry_joined_call(reg, u, NULL) != NULL));
		json_array_append_new(users, j);
	}
	return users;
}

/* ---- Calls --------------------------------------------------------------------------------------- */

calls_call *calls_registry_find(calls_registry *reg, const char *call_id) {
	return g_hash_table_lookup(reg->calls, call_id);
}

guint calls_registry_live_count(calls_registry *reg) {
	return g_hash_table_size(reg->calls);
}

static gint newest_first(gconstpointer a, gconstpointer b) {
	const calls_call *ca = *(calls_call *const *)a, *cb = *(calls_call *const *)b;
	if(ca->started_at != cb->started_at)
		return ca->started_at > cb->started_at ? -1 : 1;
	return strcmp(ca->id, cb->id);
}

GPtrArray *calls_registry_user_calls(calls_registry *reg, const calls_user *user) {
	GPtrArray *out = g_ptr_array_new();
	for(guint i = 0; user != NULL && i < user->calls->len; i++)
		g_ptr_array_add(out, g_ptr_array_index(user->calls, i));
	g_ptr_array_sort(out, newest_first);
	return out;
}

GPtrArray *calls_registry_all_calls(calls_registry *reg) {
	GPtrArray *out = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, reg->calls);
	while(g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(out, value);
	g_ptr_array_sort(out, newest_first);
	return out;
}

static calls_participant *participant_add(calls_registry *reg, calls_call *call, const char *user_id, calls_role role) {
	calls_participant *p = g_new0(calls_participant, 1);
	calls_user *u = user_get(reg, user_id, TRUE);
	p->call = call;
	p->user_id = g_strdup(user_id);
	p->user_name = g_strdup(u->user_name);
	p->avatar = g_strdup(u->avatar);
	p->role = role;
	p->is_video_enabled = (call->type == CALLS_TYPE_VIDEO);
	g_ptr_array_add(call->participants, p);
	g_ptr_array_add(u->calls, call);
	return p;
}

/* Check a list of invitees against the call and the limits, before changing anything. */
static gboolean check_invitees(calls_registry *reg, calls_call *call, const calls_user *inviter,
		const char *const *ids, guint n, calls_error *err) {
	guint fresh = 0;
	for(guint i = 0; i < n; i++) {
		if(strcmp(ids[i], inviter->user_id) == 0) {
			calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
				"participantIds lists you (\"%s\"): list only the people to call", ids[i]);
			return FALSE;
		}
		calls_participant *p = call ? calls_call_participant(call, ids[i]) : NULL;
		if(p != NULL && (p->status == CALLS_PSTATUS_RINGING || p->status == CALLS_PSTATUS_JOINED)) {
			calls_error_set(err, CALLS_ERR_INVALID_STATE, "\"%s\" is already %s in this call", ids[i],
				p->status == CALLS_PSTATUS_JOINED ? "joined" : "ringing");
			return FALSE;
		}
		fresh += (p == NULL);
	}
	guint total = (call ? call->participants->len : 1) + fresh;
	if(total > reg->limits.max_participants) {
		calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
			"a call holds at most %u participants (max_participants), this would make %u",
			reg->limits.max_participants, total);
		return FALSE;
	}
	return TRUE;
}

static void mark_busy(calls_participant *p, gint64 now) {
	p->status = CALLS_PSTATUS_BUSY;
	p->left_reason = CALLS_LEFT_BUSY;
	p->invited_at = p->left_at = now;
}

/* Ring each invitee, or mark them BUSY at once if they are joined in another live call. */
static void ring_invitees(calls_registry *reg, calls_call *call, const char *const *ids, guint n,
		const calls_origin *o) {
	gint64 now = calls_registry_now(reg);
	GPtrArray *busy = g_ptr_array_new();
	/* Everybody invited at once is in the call before anyone rings: each CALL_INCOMING lists them all */
	for(guint i = 0; i < n; i++) {
		if(calls_call_participant(call, ids[i]) == NULL)
			participant_add(reg, call, ids[i], CALLS_ROLE_PARTICIPANT);
	}
	for(guint i = 0; i < n; i++) {
		calls_participant *p = calls_call_participant(call, ids[i]);
		if(p == NULL)
			p = participant_add(reg, call, ids[i], CALLS_ROLE_PARTICIPANT);
		calls_user *u = user_get(reg, ids[i], FALSE);
		calls_call *other = calls_registry_joined_call(reg, u, call);
		if(other != NULL) {
			STORY(reg, call, "%s is busy (in call %s)", p->user_id, other->id);
			cancel_timers(reg, p);
			mark_busy(p, now);
			g_ptr_array_add(busy, p);
			continue;
		}
		start_ringing(reg, p);
		guint ringing_devices = 0;
		for(guint j = 0; u != NULL && j < u->devices->len; j++)
			ringing_devices += ((calls_device *)g_ptr_array_index(u->devices, j))->events;
		STORY(reg, call, "ringing %s on %u device(s)%s", p->user_id, ringing_devices,
			ringing_devices ? "" : ": it rings when one registers");
		json_t *ev = calls_event_incoming(call, now);
		deliver_to_user(reg, u, ev, NULL);
		if(reg->env.notify != NULL) {
			/* Event handlers learn whom it rings (on a copy: `ev` may still be on its way to devices) */
			json_t *copy = json_deep_copy(ev);
			json_object_set_new(json_object_get(copy, "data"), "userId", json_string(p->user_id));
			reg->env.notify(reg->env.ctx, call, copy);
			json_decref(copy);
		}
		json_decref(ev);
	}
	/* The caller learns who is busy; the busy callee learns who tried */
	for(guint i = 0; i < busy->len; i++) {
		calls_participant *p = g_ptr_array_index(busy, i);
		send_to_call(reg, call, calls_event_participant_left(p, "busy in another call", now), o, p->user_id);
	}
	g_ptr_array_free(busy, TRUE);
	mark_dirty(reg, call);
}

static gboolean rate_limited(calls_registry *reg, calls_user *u, calls_error *err) {
	if(reg->limits.max_calls_per_minute == 0)
		return FALSE;
	gint64 now = calls_registry_now(reg);
	while(!g_queue_is_empty(&u->initiations)) {
		gint64 t = GPOINTER_TO_SIZE(g_queue_peek_head(&u->initiations)) * (gint64)1000;
		if(now - t < 60 * G_USEC_PER_SEC)
			break;
		g_queue_pop_head(&u->initiations);
	}
	if(g_queue_get_length(&u->initiations) >= reg->limits.max_calls_per_minute) {
		gint64 oldest = GPOINTER_TO_SIZE(g_queue_peek_head(&u->initiations)) * (gint64)1000;
		gint64 wait = (oldest + 60 * G_USEC_PER_SEC - now) / G_USEC_PER_SEC + 1;
		calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
			"you started calls or invited people %u times in the last minute (max_calls_per_minute: "
			"each call started and each POST /calls/:callId/participants counts once); try again in %"
			G_GINT64_FORMAT " s", reg->limits.max_calls_per_minute, wait);
		return TRUE;
	}
	return FALSE;
}

/* A call started or an invitation made: one more in the user's last minute. */
static void count_initiation(calls_registry *reg, calls_user *u) {
	if(reg->limits.max_calls_per_minute > 0)
		g_queue_push_tail(&u->initiations, GSIZE_TO_POINTER((gsize)(calls_registry_now(reg) / 1000)));
}

calls_call *calls_registry_create(calls_registry *reg, calls_device *dev, const char *const *invitees,
		guint n_invitees, calls_call_type type, const char *chat_id, const calls_origin *o, calls_error *err) {
	calls_user *u = dev->user;
	calls_call *busy = calls_registry_joined_call(reg, u, NULL);
	if(busy != NULL) {
		calls_error_set(err, CALLS_ERR_USER_BUSY,
			"you are in call %s: end it (CALL_END) before starting another", busy->id);
		return NULL;
	}
	if(!check_invitees(reg, NULL, u, invitees, n_invitees, err))
		return NULL;
	if(reg->limits.max_live_calls > 0 && calls_registry_live_count(reg) >= reg->limits.max_live_calls) {
		calls_error_set(err, CALLS_ERR_LIMIT_EXCEEDED,
			"this server already carries %u live calls (max_live_calls); try again later", reg->limits.max_live_calls);
		return NULL;
	}
	if(rate_limited(reg, u, err))
		return NULL;
	gint64 now = calls_registry_now(reg);
	count_initiation(reg, u);

	calls_call *call = g_new0(calls_call, 1);
	calls_uuid_new(call->id);
	calls_uuid_new(call->room_id);
	call->registry = reg;
	call->chat_id = g_strdup(chat_id);
	call->type = type;
	call->status = CALLS_STATUS_RINGING;
	call->initiator_id = g_strdup(u->user_id);
	call->participants = g_ptr_array_new_with_free_func(participant_free);
	call->started_at = now;
	g_hash_table_insert(reg->calls, call->id, call);
	STORY(reg, call, "created by %s on device %" G_GUINT64_FORMAT ": %s call, %u invitee(s)", u->user_id, dev->id,
		calls_call_type_name(type), n_invitees);

	calls_participant *init = participant_add(reg, call, u->user_id, CALLS_ROLE_INITIATOR);
	init->status = CALLS_PSTATUS_JOINED;
	init->invited_at = init->joined_at = now;
	init->ever_joined = TRUE;
	init->device = dev;
	for(guint i = 0; i < n_invitees; i++) {
		calls_participant *p = participant_add(reg, call, invitees[i], CALLS_ROLE_PARTICIPANT);
		/* CALL_STARTED already shows the busy as BUSY (ring_invitees decides the same way) */
		if(calls_registry_joined_call(reg, user_get(reg, invitees[i], FALSE), call) != NULL)
			mark_busy(p, now);
	}
	mark_dirty(reg, call);

	json_t *started = calls_event_started(call, now);
	deliver_to_user(reg, u, started, o);
	if(reg->env.notify != NULL)
		reg->env.notify(reg->env.ctx, call, started);
	json_decref(started);
	if(reg->env.participant_joined != NULL)
		reg->env.participant_joined(reg->env.ctx, call, init);
	ring_invitees(reg, call, invitees, n_invitees, o);
	settle(reg, call, CE_HUNG_UP, u->user_id, o);
	return call;
}

/* The caller's participant, checked to be in one of the allowed statuses. */
static calls_participant *acting(calls_call *call, calls_device *dev, const char *what, calls_error *err) {
	calls_participant *p = calls_call_participant(call, dev->user->user_id);
	if(p == NULL) {
		calls_error_set(err, CALLS_ERR_FORBIDDEN, "you are not a participant of call %s", call->id);
		return NULL;
	}
	if(calls_status_is_final(call->status)) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "call %s is over (%s): it can no longer be %s",
			call->id, calls_call_status_name(call->status), what);
		return NULL;
	}
	return p;
}

gboolean calls_registry_answer(calls_registry *reg, calls_call *call, calls_device *dev,
		const calls_origin *o, calls_error *err) {
	calls_participant *p = acting(call, dev, "answered", err);
	if(p == NULL)
		return FALSE;
	if(p->status == CALLS_PSTATUS_JOINED) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "you already joined call %s%s", call->id,
			p->device != NULL && p->device != dev ? " on another device" : "");
		return FALSE;
	}
	if(p->status != CALLS_PSTATUS_RINGING) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE,
			"call %s is not ringing you (your status is %s); a participant can add you again",
			call->id, calls_participant_status_name(p->status));
		return FALSE;
	}
	calls_call *other = calls_registry_joined_call(reg, dev->user, call);
	if(other != NULL) {
		calls_error_set(err, CALLS_ERR_USER_BUSY, "you are in call %s: end it (CALL_END) before answering", other->id);
		return FALSE;
	}
	gint64 now = calls_registry_now(reg);
	STORY(reg, call, "%s answered on device %" G_GUINT64_FORMAT ": joined", p->user_id, dev->id);
	cancel_timers(reg, p);
	p->status = CALLS_PSTATUS_JOINED;
	p->joined_at = now;
	p->left_at = 0;
	p->ever_joined = TRUE;
	p->device = dev;
	set_str(&p->user_name, dev->user->user_name);
	set_str(&p->avatar, dev->user->avatar);
	mark_dirty(reg, call);
	send_to_call(reg, call, calls_event_participant_joined(p, now), o, NULL);
	if(reg->env.participant_joined != NULL)
		reg->env.participant_joined(reg->env.ctx, call, p);
	fire(reg, call, CE_ACCEPTED, NULL, o);
	/* From the first answer on, everybody joined has connect_timeout to get media through */
	for(guint i = 0; i < call->participants->len; i++)
		start_connect_timer(reg, g_ptr_array_index(call->participants, i));
	return TRUE;
}

gboolean calls_registry_decline(calls_registry *reg, calls_call *call, calls_device *dev, const char *reason,
		const calls_origin *o, calls_error *err) {
	calls_participant *p = acting(call, dev, "declined", err);
	if(p == NULL)
		return FALSE;
	if(p->status != CALLS_PSTATUS_RINGING) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "call %s is not ringing you (your status is %s)%s",
			call->id, calls_participant_status_name(p->status),
			p->status == CALLS_PSTATUS_JOINED ? ": leave it with CALL_END" : "");
		return FALSE;
	}
	participant_leave(reg, p, CALLS_PSTATUS_DECLINED, CALLS_LEFT_DECLINED, reason, o);
	settle(reg, call, CE_HUNG_UP, p->user_id, o);
	return TRUE;
}

gboolean calls_registry_end(calls_registry *reg, calls_call *call, calls_device *dev, gboolean for_everyone,
		const calls_origin *o, calls_error *err) {
	calls_participant *p = acting(call, dev, "ended", err);
	if(p == NULL)
		return FALSE;
	if(for_everyone && p->role != CALLS_ROLE_INITIATOR) {
		calls_error_set(err, CALLS_ERR_FORBIDDEN,
			"only the initiator (%s) can end call %s for everyone; send CALL_END without forEveryone to leave it",
			call->initiator_id, call->id);
		return FALSE;
	}
	if(p->status == CALLS_PSTATUS_RINGING) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE,
			"you have not answered call %s: decline it with CALL_DECLINE", call->id);
		return FALSE;
	}
	if(p->status != CALLS_PSTATUS_JOINED) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "you are no longer in call %s (your status is %s)",
			call->id, calls_participant_status_name(p->status));
		return FALSE;
	}
	char *who = g_strdup(p->user_id);
	if(for_everyone) {
		fire(reg, call, CE_ENDED_FOR_EVERYONE, who, o);
	} else {
		gboolean cancel = (call->status == CALLS_STATUS_RINGING && p->role == CALLS_ROLE_INITIATOR);
		participant_leave(reg, p, CALLS_PSTATUS_LEFT, CALLS_LEFT_LEFT, NULL, o);
		if(cancel)
			fire(reg, call, CE_CANCELLED, who, o);
		else
			settle(reg, call, CE_HUNG_UP, who, o);
	}
	g_free(who);
	return TRUE;
}

gboolean calls_registry_invite(calls_registry *reg, calls_call *call, calls_device *dev, const char *const *invitees,
		guint n_invitees, const calls_origin *o, calls_error *err) {
	calls_participant *p = acting(call, dev, "joined", err);
	if(p == NULL)
		return FALSE;
	if(p->status != CALLS_PSTATUS_JOINED) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "only a joined participant can add people (your status is %s)",
			calls_participant_status_name(p->status));
		return FALSE;
	}
	if(!check_invitees(reg, call, dev->user, invitees, n_invitees, err))
		return FALSE;
	/* Inviting rings people as starting a call does: the same budget, once per request */
	if(rate_limited(reg, dev->user, err))
		return FALSE;
	count_initiation(reg, dev->user);
	STORY(reg, call, "%s invites %u more", p->user_id, n_invitees);
	ring_invitees(reg, call, invitees, n_invitees, o);
	return TRUE;
}

calls_participant *calls_registry_set_media(calls_registry *reg, calls_call *call, calls_device *dev,
		int is_muted, int is_video_enabled, int is_sharing_screen, const calls_origin *o, calls_error *err) {
	calls_participant *p = acting(call, dev, "updated", err);
	if(p == NULL)
		return NULL;
	if(p->status != CALLS_PSTATUS_JOINED) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "join call %s before changing your media (your status is %s)",
			call->id, calls_participant_status_name(p->status));
		return NULL;
	}
	if(is_muted == CALLS_UNSET && is_video_enabled == CALLS_UNSET && is_sharing_screen == CALLS_UNSET) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST,
			"send at least one of isMuted, isVideoEnabled, isSharingScreen (true or false)");
		return NULL;
	}
	if(is_muted != CALLS_UNSET)
		p->is_muted = is_muted;
	if(is_video_enabled != CALLS_UNSET)
		p->is_video_enabled = is_video_enabled;
	if(is_sharing_screen != CALLS_UNSET)
		p->is_sharing_screen = is_sharing_screen;
	STORY(reg, call, "%s: muted %s, video %s, screen share %s", p->user_id, p->is_muted ? "yes" : "no",
		p->is_video_enabled ? "on" : "off", p->is_sharing_screen ? "on" : "off");
	mark_dirty(reg, call);
	if(reg->env.media_flags != NULL)
		reg->env.media_flags(reg->env.ctx, call, p);
	send_to_call(reg, call, calls_event_media_changed(p, calls_registry_now(reg)), o, NULL);
	return p;
}

/* ---- From the media layer ------------------------------------------------------------------------- */

void calls_registry_media_up(calls_registry *reg, calls_participant *p) {
	if(p->status != CALLS_PSTATUS_JOINED)
		return;
	gboolean was_flowing = p->media_flowing;
	p->media_flowing = TRUE;
	cancel_timer(reg, &p->connect_timer);
	cancel_timer(reg, &p->grace_timer);
	calls_call *call = p->call;
	guint flowing = 0;
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *q = g_ptr_array_index(call->participants, i);
		flowing += (q->status == CALLS_PSTATUS_JOINED && q->media_flowing);
	}
	if(!was_flowing)
		STORY(reg, call, "media of %s reaches the server (%u of %u joined)", p->user_id, flowing,
			count_status(call, CALLS_PSTATUS_JOINED));
	if(flowing >= 2 && call->status == CALLS_STATUS_CONNECTING)
		fire(reg, call, CE_MEDIA_FLOWING, NULL, NULL);
}

void calls_registry_media_down(calls_registry *reg, calls_participant *p) {
	if(p->status != CALLS_PSTATUS_JOINED)
		return;
	p->media_flowing = FALSE;
	start_grace(reg, p);
}

void calls_registry_rebind(calls_registry *reg, calls_participant *p, calls_device *dev) {
	if(p->status == CALLS_PSTATUS_JOINED && dev->user != NULL && strcmp(dev->user->user_id, p->user_id) == 0)
		p->device = dev;
}

/* ---- Admin ----------------------------------------------------------------------------------------- */

gboolean calls_registry_admin_end(calls_registry *reg, calls_call *call, calls_error *err) {
	if(calls_status_is_final(call->status)) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "call %s is already over", call->id);
		return FALSE;
	}
	fire(reg, call, CE_ADMIN_END, NULL, NULL);
	return TRUE;
}

gboolean calls_registry_admin_remove(calls_registry *reg, calls_call *call, const char *user_id, calls_error *err) {
	calls_participant *p = calls_call_participant(call, user_id);
	if(p == NULL || (p->status != CALLS_PSTATUS_JOINED && p->status != CALLS_PSTATUS_RINGING)) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "\"%s\" is not in call %s", user_id, call->id);
		return FALSE;
	}
	gboolean ringing = (p->status == CALLS_PSTATUS_RINGING);
	participant_leave(reg, p, ringing ? CALLS_PSTATUS_MISSED : CALLS_PSTATUS_LEFT,
		ringing ? CALLS_LEFT_MISSED : CALLS_LEFT_LEFT, "removed by the server administrator", NULL);
	settle(reg, call, p->role == CALLS_ROLE_INITIATOR && call->status == CALLS_STATUS_RINGING ?
		CE_CANCELLED : CE_HUNG_UP, NULL, NULL);
	return TRUE;
}
