/* janus.plugin.calls - libFuzzer target for the registry and the router
 * (plugin/registry.c, plugin/router.c, with contract.c and auth.c).
 *
 * The input is a program: each operation is one byte (its kind: byte % 17;
 * (byte / 17) & 1 picks the route form over the event form) followed by the
 * connection it comes from and the bytes it needs. Five users (u0..u4) on eight connections (connection i
 * belongs to user i % 5) register, call, answer, decline, end, invite,
 * change media, publish and subscribe (through a fake media layer), lose
 * their connection or their media, and the clock moves (timers fire in due
 * order). Requests go through calls_request_parse() and
 * calls_router_execute() as the plugin sends them; media events and the
 * Admin API are called directly. A few operations feed raw bytes as a JSON
 * body, so garbage mixes with well-formed traffic.
 *
 * After every operation the invariants are checked:
 *   - every delivered event has the contract envelope; an ERROR carries
 *     code, status, message and event;
 *   - a live call is RINGING, CONNECTING or CONNECTED, and consistent with its
 *     participants: one INITIATOR, distinct users, two joined or one joined
 *     and someone ringing, nobody but the initiator joined while RINGING,
 *     connectedAt set exactly when CONNECTED, not ended;
 *   - a JOINED user is joined in no other live call; every participant's
 *     user knows the call;
 *   - the last persisted state of every live call is its current state, and
 *     every call that ended was persisted in a final status.
 * GLib warnings and criticals (e.g. "no transition") abort.
 * Build and run: see tests/fuzz/README.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <jansson.h>
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define N_USERS 5
#define N_CONNS 8
#define MAX_IDS 32
#define T0 (G_GINT64_CONSTANT(1767225600) * G_USEC_PER_SEC)

static void require(gboolean ok, const char *what) {
	if(!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

/* ---- The fake environment ---------------------------------------------------------- */

typedef struct timer {
	guint id;
	gint64 due;
	calls_timer_fn fn;
	gpointer data;
	gboolean active;
} timer;

typedef struct world {
	gint64 now;
	GArray *timers;                 /* timer */
	guint next_timer;
	GHashTable *persisted;          /* call id -> last persisted JSON */
	char *ids[MAX_IDS];             /* every call id seen, for picking */
	guint n_ids;
	calls_device *dev[N_CONNS];
	int conn_tag[N_CONNS];          /* the connections' addresses */
	calls_registry *reg;
	calls_router *router;
	guint deliveries;
} world;

static world W;

static gint64 f_now(gpointer ctx) {
	return W.now;
}

static guint f_timer_add(gpointer ctx, guint ms, calls_timer_fn fn, gpointer data) {
	timer t = { ++W.next_timer, W.now + (gint64)ms * 1000, fn, data, TRUE };
	g_array_append_val(W.timers, t);
	return t.id;
}

static void f_timer_remove(gpointer ctx, guint id) {
	for(guint i = 0; i < W.timers->len; i++) {
		timer *t = &g_array_index(W.timers, timer, i);
		if(t->id == id) {
			require(t->active, "a timer is removed at most once");
			t->active = FALSE;
			return;
		}
	}
	require(FALSE, "a removed timer exists");
}

static void has_keys(json_t *obj, const char *keys) {
	require(json_is_object(obj), "an object");
	gchar **list = g_strsplit(keys, ",", -1);
	for(guint i = 0; list[i] != NULL; i++) {
		if(json_object_get(obj, list[i]) == NULL) {
			fprintf(stderr, "key \"%s\" missing from: ", list[i]);
			json_dumpf(obj, stderr, 0);
			fprintf(stderr, "\n");
			abort();
		}
	}
	g_strfreev(list);
}

static void remember_id(const char *id) {
	for(guint i = 0; i < W.n_ids; i++) {
		if(strcmp(W.ids[i], id) == 0)
			return;
	}
	if(W.n_ids < MAX_IDS)
		W.ids[W.n_ids++] = g_strdup(id);
}

static void f_deliver(gpointer ctx, void *conn, const char *transaction, json_t *event, json_t *jsep) {
	W.deliveries++;
	require(conn != NULL, "delivered to a connection");
	has_keys(event, "event,timestamp,data");
	require(json_is_string(json_object_get(event, "timestamp")), "a timestamp");
	const char *name = json_string_value(json_object_get(event, "event"));
	require(name != NULL, "an event name");
	json_t *d = json_object_get(event, "data");
	if(strcmp(name, "ERROR") == 0)
		has_keys(d, "code,status,message,event");
	else if(strcmp(name, "CALL_ENDED") == 0)
		has_keys(d, "callId,status,duration,endedBy,reason");
	else if(strcmp(name, "CALL_STATUS_CHANGED") == 0)
		has_keys(d, "callId,status,previousStatus");
	else if(strcmp(name, "CALL_INCOMING") == 0)
		has_keys(d, "callId,type,initiatorId,initiatorName,initiatorAvatar,participants,roomId,chatId");
	else if(strcmp(name, "CALL_PARTICIPANT_LEFT") == 0)
		has_keys(d, "callId,userId,userName,reason");
	const char *cid = json_string_value(json_object_get(d, "callId"));
	if(cid != NULL && strcmp(name, "ERROR") != 0)
		remember_id(cid);
	char *text = json_dumps(event, JSON_COMPACT);
	require(text != NULL, "the event serialises");
	free(text);
}

static void f_persist(gpointer ctx, const calls_call *call) {
	g_hash_table_replace(W.persisted, g_strdup(call->id), calls_json_call(call, W.now));
	remember_id(call->id);
}

/* The fake media layer: succeeds, and answers offers with a fixed SDP. */
static gboolean m_publish(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		json_t *jsep, char **answer_sdp, calls_error *err) {
	require(p->status == CALLS_PSTATUS_JOINED, "only joined participants publish");
	*answer_sdp = g_strdup("v=0\r\n");
	return TRUE;
}

static gboolean m_subscribe(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		const char *transaction, gboolean restart, calls_error *err) {
	require(p->status == CALLS_PSTATUS_JOINED, "only joined participants subscribe");
	return TRUE;
}

static gboolean m_subscriber_answer(gpointer ctx, calls_call *call, calls_device *dev, const char *sdp, calls_error *err) {
	calls_error_set(err, CALLS_ERR_INVALID_STATE, "no offer pending");
	return FALSE;
}

static gboolean m_configure(gpointer ctx, calls_call *call, calls_device *dev, const char *user_id,
		int substream, int temporal, calls_error *err) {
	return TRUE;
}

static json_t *m_stats(gpointer ctx, calls_call *call, calls_participant *p) {
	return json_object();
}

/* ---- Reading the program ---------------------------------------------------------------- */

typedef struct cursor {
	const uint8_t *p, *end;
} cursor;

static uint8_t next(cursor *c) {
	return c->p < c->end ? *c->p++ : 0;
}

static const char *user_name(int u) {
	static const char *const names[N_USERS] = { "u0", "u1", "u2", "u3", "u4" };
	return names[u % N_USERS];
}

/* A call id: one of those seen, or one that never existed. */
static const char *pick_id(cursor *c) {
	uint8_t b = next(c);
	if(W.n_ids == 0 || b % (W.n_ids + 1) == W.n_ids)
		return "0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42";
	return W.ids[b % (W.n_ids + 1)];
}

/* A JSON list of the users in the mask's bits. g_free() it. */
static char *user_list(uint8_t mask) {
	GString *s = g_string_new("[");
	gboolean first = TRUE;
	for(int u = 0; u < N_USERS; u++) {
		if(mask & (1u << u)) {
			g_string_append_printf(s, "%s\"%s\"", first ? "" : ",", user_name(u));
			first = FALSE;
		}
	}
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static const char *tristate(uint8_t b) {
	return b % 3 == 0 ? "null" : b % 3 == 1 ? "true" : "false";
}

/* Send a message body (JSON text) from connection `k`, as the plugin does. */
static void send_body(int k, const char *text, size_t len, const char *jsep_text) {
	json_error_t error;
	json_t *body = json_loadb(text, len, JSON_DECODE_ANY, &error);
	json_t *jsep = jsep_text ? json_loads(jsep_text, 0, &error) : NULL;
	calls_request req;
	calls_error perr = { 0 };
	gboolean ok = calls_request_parse(body, jsep, &req, &perr);
	calls_device *before = W.dev[k];
	json_t *answer = calls_router_execute(W.router, &W.conn_tag[k], &W.dev[k], "tx", &req, ok, &perr);
	require(before == NULL || W.dev[k] == before, "a registered handle keeps its device");
	if(answer != NULL) {
		require(!calls_request_is_async(&req), "only synchronous requests answer");
		json_t *err = json_object_get(answer, "error");
		if(err != NULL) {
			has_keys(answer, "status,error");
			has_keys(err, "code,message");
		} else {
			has_keys(answer, "status,body");
			json_t *call = json_object_get(json_object_get(answer, "body"), "call");
			if(json_is_object(call))
				remember_id(json_string_value(json_object_get(call, "id")));
		}
		char *dump = json_dumps(answer, JSON_COMPACT);
		require(dump != NULL, "the answer serialises");
		free(dump);
		json_decref(answer);
	} else {
		require(calls_request_is_async(&req), "synchronous requests answer");
	}
	calls_request_clear(&req);
	if(body != NULL)
		json_decref(body);
	if(jsep != NULL)
		json_decref(jsep);
}

static void sendf(int k, const char *jsep, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void sendf(int k, const char *jsep, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	send_body(k, text, strlen(text), jsep);
	g_free(text);
}

static void advance(gint64 ms) {
	gint64 target = W.now + ms * 1000;
	for(guint rounds = 0; rounds < 10000; rounds++) {
		timer *due = NULL;
		for(guint i = 0; i < W.timers->len; i++) {
			timer *t = &g_array_index(W.timers, timer, i);
			if(t->active && t->due <= target && (due == NULL || t->due < due->due))
				due = t;
		}
		if(due == NULL)
			break;
		due->active = FALSE;
		if(due->due > W.now)
			W.now = due->due;
		calls_timer_fn fn = due->fn;
		gpointer d = due->data;
		require(!fn(d), "timers are one-shot");
	}
	W.now = target;
}

static calls_participant *pick_participant(cursor *c) {
	calls_call *call = calls_registry_find(W.reg, pick_id(c));
	uint8_t b = next(c);
	if(call == NULL || call->participants->len == 0)
		return NULL;
	return g_ptr_array_index(call->participants, b % call->participants->len);
}

static void step(cursor *c) {
	uint8_t op = next(c);
	int k = next(c) % N_CONNS;
	int user = k % N_USERS;
	gboolean route = (op / 17) & 1;  /* the same operation as a route rather than an event */
	switch(op % 17) {
		case 0: { /* register (possibly as someone else on a used handle) */
			uint8_t b = next(c);
			int who = (b & 0x40) ? (b % N_USERS) : user;
			sendf(k, NULL, "{\"request\": \"register\", \"userId\": \"%s\", \"userName\": \"User %d\", \"events\": %s}",
				user_name(who), who, (b & 0x80) ? "false" : "true");
			break;
		}
		case 1: /* the handle goes away */
			calls_router_conn_gone(W.router, W.dev[k]);
			W.dev[k] = NULL;
			break;
		case 2: { /* start a call */
			uint8_t mask = next(c);
			char *list = user_list(mask);
			const char *type = (mask & 0x80) ? "VIDEO" : "AUDIO";
			if(route)
				sendf(k, NULL, "{\"request\": \"POST /calls\", \"body\": {\"participantIds\": %s, \"type\": \"%s\", \"chatId\": \"c%d\"}}",
					list, type, mask & 3);
			else
				sendf(k, NULL, "{\"event\": \"CALL_INITIATE\", \"data\": {\"participantIds\": %s, \"type\": \"%s\"}}", list, type);
			g_free(list);
			break;
		}
		case 3: { /* answer */
			const char *id = pick_id(c);
			if(route)
				sendf(k, NULL, "{\"request\": \"POST /calls/%s/answer\", \"body\": {\"accept\": true}}", id);
			else
				sendf(k, NULL, "{\"event\": \"CALL_ANSWER\", \"data\": {\"callId\": \"%s\"}}", id);
			break;
		}
		case 4: { /* decline */
			const char *id = pick_id(c);
			if(route)
				sendf(k, NULL, "{\"request\": \"POST /calls/%s/answer\", \"body\": {\"accept\": false, \"reason\": \"no\"}}", id);
			else
				sendf(k, NULL, "{\"event\": \"CALL_DECLINE\", \"data\": {\"callId\": \"%s\"}}", id);
			break;
		}
		case 5: { /* end */
			const char *id = pick_id(c);
			const char *all = (next(c) & 1) ? "true" : "false";
			if(route)
				sendf(k, NULL, "{\"request\": \"POST /calls/%s/end\", \"body\": {\"forEveryone\": %s}}", id, all);
			else
				sendf(k, NULL, "{\"event\": \"CALL_END\", \"data\": {\"callId\": \"%s\", \"forEveryone\": %s}}", id, all);
			break;
		}
		case 6: { /* invite */
			const char *id = pick_id(c);
			char *list = user_list(next(c));
			sendf(k, NULL, "{\"request\": \"POST /calls/%s/participants\", \"body\": {\"participantIds\": %s}}", id, list);
			g_free(list);
			break;
		}
		case 7: { /* media flags */
			const char *id = pick_id(c);
			uint8_t b = next(c);
			if(route)
				sendf(k, NULL, "{\"request\": \"PATCH /calls/%s/media\", \"body\": {\"isMuted\": %s, \"isVideoEnabled\": %s}}",
					id, tristate(b), tristate(b / 3));
			else
				sendf(k, NULL, "{\"event\": \"CALL_PARTICIPANT_MEDIA_UPDATE\", \"data\": {\"callId\": \"%s\", \"isSharingScreen\": %s}}",
					id, tristate(b));
			break;
		}
		case 8: /* time passes: up to 64 s */
			advance((gint64)next(c) * 250);
			break;
		case 9: { /* media of a participant reaches the SFU */
			calls_participant *p = pick_participant(c);
			if(p != NULL)
				calls_registry_media_up(W.reg, p);
			calls_registry_flush(W.reg);
			break;
		}
		case 10: { /* ... or drops */
			calls_participant *p = pick_participant(c);
			if(p != NULL)
				calls_registry_media_down(W.reg, p);
			calls_registry_flush(W.reg);
			break;
		}
		case 11: { /* the Admin API */
			const char *id = pick_id(c);
			uint8_t b = next(c);
			static const char *const what[] = { "list_calls", "get_call", "end_call", "remove_participant", "nonsense" };
			char *text = g_strdup_printf("{\"request\": \"%s\", \"callId\": \"%s\", \"userId\": \"%s\"}",
				what[b % 5], id, user_name(b / 5));
			json_t *request = json_loads(text, 0, NULL);
			json_t *answer = calls_router_admin(W.router, request);
			require(answer != NULL && json_is_integer(json_object_get(answer, "status")), "an admin answer");
			json_decref(answer);
			json_decref(request);
			g_free(text);
			break;
		}
		case 12: { /* reads */
			const char *id = pick_id(c);
			static const char *const reads[] = {
				"{\"request\": \"GET /calls/%s\"}", "{\"request\": \"GET /calls/%s/participants\"}",
				"{\"request\": \"GET /calls/active?x=%s\"}", "{\"request\": \"GET /users/online?x=%s\"}",
				"{\"request\": \"GET /calls/history?chatId=%s\"}",
			};
			uint8_t b = next(c);
			char *text = g_strdup_printf("%s", reads[b % 5]);
			gchar **parts = g_strsplit(text, "%s", -1);
			char *body = g_strjoinv(id, parts);
			send_body(k, body, strlen(body), NULL);
			g_free(body);
			g_strfreev(parts);
			g_free(text);
			json_t *d = calls_router_describe(W.router, W.dev[k]);
			json_decref(d);
			break;
		}
		case 13: { /* raw bytes as a body */
			size_t len = next(c) % 96;
			size_t avail = (size_t)(c->end - c->p);
			if(len > avail)
				len = avail;
			send_body(k, (const char *)c->p, len, NULL);
			c->p += len;
			break;
		}
		case 14: { /* a participant publishes from another handle of theirs */
			calls_participant *p = pick_participant(c);
			if(p != NULL && W.dev[k] != NULL)
				calls_registry_rebind(W.reg, p, W.dev[k]);
			calls_registry_flush(W.reg);
			break;
		}
		case 15: { /* signaling */
			const char *id = pick_id(c);
			uint8_t b = next(c);
			if(b % 4 == 0)
				sendf(k, "{\"type\": \"offer\", \"sdp\": \"v=0\"}", "{\"event\": \"WEBRTC_OFFER\", \"data\": {\"callId\": \"%s\"}}", id);
			else if(b % 4 == 1)
				sendf(k, NULL, "{\"event\": \"CALL_SUBSCRIBE\", \"data\": {\"callId\": \"%s\"}}", id);
			else if(b % 4 == 2)
				sendf(k, "{\"type\": \"answer\", \"sdp\": \"v=0\"}", "{\"event\": \"WEBRTC_ANSWER\", \"data\": {\"callId\": \"%s\"}}", id);
			else
				sendf(k, NULL, "{\"request\": \"POST /calls/signaling/configure\", \"body\": {\"callId\": \"%s\", \"substream\": %d}}",
					id, b % 3);
			break;
		}
		case 16: /* the same user registers on yet another handle */
			if(W.dev[k] == NULL)
				sendf(k, NULL, "{\"request\": \"register\", \"userId\": \"%s\"}", user_name(user));
			break;
	}
}

/* ---- Invariants --------------------------------------------------------------------------- */

static gboolean user_has_call(const calls_user *u, const calls_call *call) {
	for(guint i = 0; i < u->calls->len; i++) {
		if(g_ptr_array_index(u->calls, i) == call)
			return TRUE;
	}
	return FALSE;
}

static void check(void) {
	GPtrArray *live = calls_registry_all_calls(W.reg);
	for(guint i = 0; i < live->len; i++) {
		calls_call *call = g_ptr_array_index(live, i);
		require(!calls_status_is_final(call->status), "a live call is not over");
		require(call->ended_at == 0 && call->end_reason == CALLS_END_NONE && call->ended_by == NULL, "a live call has no end");
		require((call->status == CALLS_STATUS_CONNECTED) == (call->connected_at != 0), "connectedAt iff CONNECTED");
		guint joined = 0, ringing = 0, initiators = 0;
		for(guint k = 0; k < call->participants->len; k++) {
			calls_participant *p = g_ptr_array_index(call->participants, k);
			require(p->call == call, "a participant knows its call");
			initiators += (p->role == CALLS_ROLE_INITIATOR);
			if(p->role == CALLS_ROLE_INITIATOR)
				require(strcmp(p->user_id, call->initiator_id) == 0, "the initiator is initiatorId");
			for(guint m = 0; m < k; m++)
				require(strcmp(p->user_id, ((calls_participant *)g_ptr_array_index(call->participants, m))->user_id) != 0,
					"a user appears once per call");
			calls_user *u = calls_registry_user(W.reg, p->user_id);
			require(u != NULL && user_has_call(u, call), "every participant's user knows the call");
			if(p->status == CALLS_PSTATUS_JOINED) {
				joined++;
				require(calls_registry_joined_call(W.reg, u, call) == NULL, "joined in one live call at most");
				require(p->joined_at != 0, "a joined participant has joinedAt");
				if(call->status == CALLS_STATUS_RINGING)
					require(p->role == CALLS_ROLE_INITIATOR, "only the initiator is joined while it rings");
			} else {
				require(!p->media_flowing, "media flows for joined participants only");
				require(p->connect_timer == 0 && p->grace_timer == 0, "no connect or grace timer unless joined");
			}
			if(p->status == CALLS_PSTATUS_RINGING) {
				ringing++;
				require(p->ring_timer != 0, "a ringing participant has a ring timer");
			} else {
				require(p->ring_timer == 0, "no ring timer unless ringing");
			}
		}
		require(initiators == 1, "one initiator");
		require(joined >= 2 || (joined == 1 && ringing >= 1), "a live call has two joined, or one joined and one ringing");
		json_t *now = calls_json_call(call, W.now);
		json_t *saved = g_hash_table_lookup(W.persisted, call->id);
		require(saved != NULL && json_equal(saved, now), "a live call is persisted as it is");
		json_decref(now);
	}
	/* every call that is over was persisted over */
	for(guint i = 0; i < W.n_ids; i++) {
		if(calls_registry_find(W.reg, W.ids[i]) != NULL)
			continue;
		json_t *saved = g_hash_table_lookup(W.persisted, W.ids[i]);
		require(saved != NULL, "a call seen was persisted");
		calls_call_status st;
		require(calls_call_status_parse(json_string_value(json_object_get(saved, "status")), &st), "a persisted status");
		require(calls_status_is_final(st), "an ended call is persisted final");
		require(json_is_string(json_object_get(saved, "endedAt")) && json_is_string(json_object_get(saved, "endReason")),
			"an ended call has endedAt and endReason");
		size_t k;
		json_t *p;
		json_array_foreach(json_object_get(saved, "participants"), k, p) {
			const char *ps = json_string_value(json_object_get(p, "status"));
			require(strcmp(ps, "RINGING") != 0 && strcmp(ps, "JOINED") != 0, "nobody rings or is joined in an ended call");
		}
	}
	g_ptr_array_unref(live);
}

/* FUZZ_ROUTER_TRACE=1: what each step did to the calls (to understand a seed or a crash). */
static void dump_state(guint n, uint8_t op) {
	fprintf(stderr, "step %u (op %u): %u deliveries;", n, op % 17, W.deliveries);
	for(guint i = 0; i < W.n_ids; i++) {
		json_t *saved = g_hash_table_lookup(W.persisted, W.ids[i]);
		fprintf(stderr, " call%u=%s", i, saved ? json_string_value(json_object_get(saved, "status")) : "?");
		size_t k;
		json_t *p;
		fprintf(stderr, "[");
		json_array_foreach(json_object_get(saved, "participants"), k, p)
			fprintf(stderr, "%s%s:%s", k ? "," : "", json_string_value(json_object_get(p, "userId")),
				json_string_value(json_object_get(p, "status")));
		fprintf(stderr, "]");
	}
	fprintf(stderr, "\n");
}

/* ---- Entry points ------------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
	g_log_set_always_fatal(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	memset(&W, 0, sizeof(W));
	W.now = T0;
	W.timers = g_array_new(FALSE, FALSE, sizeof(timer));
	W.persisted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);
	calls_env env = {
		.now = f_now, .timer_add = f_timer_add, .timer_remove = f_timer_remove,
		.deliver = f_deliver, .persist = f_persist,
	};
	calls_limits limits = {
		.ring_timeout_ms = 30000, .connect_timeout_ms = 10000, .reconnect_grace_ms = 5000,
		.max_participants = 4, .max_calls_per_minute = 6, .max_live_calls = 3,
	};
	calls_media_ops media = {
		.publish = m_publish, .subscribe = m_subscribe, .subscriber_answer = m_subscriber_answer,
		.configure = m_configure, .stats = m_stats,
	};
	GError *error = NULL;
	calls_auth *auth = calls_auth_new(CALLS_AUTH_OPEN, NULL, NULL, &error);
	require(auth != NULL, "open mode auth");
	W.reg = calls_registry_new(&env, &limits);
	W.router = calls_router_new(W.reg, NULL, auth, &media, size & 1);

	cursor c = { data, data + size };
	gboolean trace = g_getenv("FUZZ_ROUTER_TRACE") != NULL;
	for(guint steps = 0; c.p < c.end && steps < 400; steps++) {
		uint8_t op = *c.p;
		step(&c);
		check();
		if(trace)
			dump_state(steps, op);
	}

	calls_router_free(W.router);
	calls_registry_free(W.reg);
	for(guint i = 0; i < W.timers->len; i++)
		require(!g_array_index(W.timers, timer, i).active, "no timer outlives the registry");
	g_array_free(W.timers, TRUE);
	g_hash_table_destroy(W.persisted);
	for(guint i = 0; i < W.n_ids; i++)
		g_free(W.ids[i]);
	calls_auth_free(auth);
	return 0;
}
