/* janus.plugin.calls - unit tests of the registry and its status machine (plugin/registry.c).
 *
 * The registry runs against the fake environment of testutil.c: a clock the
 * test moves, timers fired in due order by test_env_advance(), deliveries
 * recorded per connection (so a test asserts who got which event, with which
 * transaction) and every persisted call kept (after every operation the last
 * persisted JSON of each live call must equal its current JSON; an ended call
 * must be persisted in its final status).
 *
 * Calls are named by their id (struct cid), never kept as pointers: an ended
 * call is freed by the registry's flush, and its state is then read from
 * what was persisted.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include "registry.h"
#include "testutil.h"

/* 2026-01-01T00:00:00.000Z */
#define T0 (G_GINT64_CONSTANT(1767225600) * G_USEC_PER_SEC)
#define RING_MS 30000
#define CONNECT_MS 10000
#define GRACE_MS 5000

static const calls_limits default_limits = {
	.ring_timeout_ms = RING_MS,
	.connect_timeout_ms = CONNECT_MS,
	.reconnect_grace_ms = GRACE_MS,
	.max_participants = 8,
	.max_calls_per_minute = 0,
	.max_live_calls = 0,
};

/* Connections are just distinct addresses; their text helps when a test fails. */
static char A1[] = "alice-1", A2[] = "alice-2";
static char B1[] = "bob-1", B2[] = "bob-2", B3[] = "bob-3";
static char C1[] = "carol-1", D1[] = "dave-1", D2[] = "dave-2", D3[] = "dave-3", E1[] = "eve-1";

static test_env *E;
static calls_registry *R;

typedef struct cid {
	char s[CALLS_UUID_LEN + 1];
} cid;

/* ---- Fixture and helpers -------------------------------------------------------------- */

static void setup_with(const calls_limits *limits) {
	E = test_env_new(T0);
	R = calls_registry_new(&E->env, limits);
}

static void setup(void) {
	setup_with(&default_limits);
}

static void teardown(void) {
	calls_registry_free(R);
	/* every timer was cancelled or fired, none removed twice */
	g_assert_cmpuint(test_env_active_timers(E), ==, 0);
	g_assert_cmpuint(E->stale_removes, ==, 0);
	test_env_free(E);
	E = NULL;
	R = NULL;
}

static void flush(void) {
	calls_registry_flush(R);
	test_env_assert_persisted(E, R);
}

static void advance(gint64 ms) {
	test_env_advance(E, ms);
	test_env_assert_persisted(E, R);
}

static calls_device *device_ev(void *conn, const char *user, gboolean events, const char *tx) {
	char *name = g_strdup_printf("%c%s", g_ascii_toupper(user[0]), user + 1);
	calls_origin o = { NULL, tx };
	calls_device *d = calls_registry_register(R, conn, user, name, NULL, events, &o);
	g_free(name);
	g_assert_nonnull(d);
	g_assert_true(d->conn == conn);
	flush();
	return d;
}

static calls_device *device(void *conn, const char *user) {
	return device_ev(conn, user, TRUE, NULL);
}

static calls_call *live(const char *id) {
	calls_call *call = calls_registry_find(R, id);
	if(call == NULL)
		g_error("call %s is not live (status %s)", id, test_json_str(test_env_saved(E, id), "status"));
	return call;
}

static gboolean is_live(const char *id) {
	return calls_registry_find(R, id) != NULL;
}

/* The last persisted state of a call (equal to the live state, checked at every flush). */
static json_t *saved(const char *id) {
	json_t *j = test_env_saved(E, id);
	if(j == NULL)
		g_error("call %s was never persisted", id);
	return j;
}

static const char *status(const char *id) {
	return test_json_str(saved(id), "status");
}

static json_t *participant(const char *id, const char *user) {
	json_t *parts = json_object_get(saved(id), "participants");
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p) {
		if(g_strcmp0(json_string_value(json_object_get(p, "userId")), user) == 0)
			return p;
	}
	g_error("%s is not a participant of %s", user, id);
	return NULL;
}

static const char *pstatus(const char *id, const char *user) {
	return json_string_value(json_object_get(participant(id, user), "status"));
}

static cid start_ex(calls_device *d, const char *users, calls_call_type type, const char *chat, const char *tx) {
	gchar **ids = g_strsplit(users, ",", -1);
	calls_error err = { 0 };
	calls_origin o = { d, tx };
	calls_call *call = calls_registry_create(R, d, (const char *const *)ids, g_strv_length(ids), type, chat, &o, &err);
	if(call == NULL)
		g_error("create refused: %s", err.message);
	g_strfreev(ids);
	cid c;
	g_strlcpy(c.s, call->id, sizeof(c.s));
	flush();
	return c;
}

static cid start(calls_device *d, const char *users) {
	return start_ex(d, users, CALLS_TYPE_VIDEO, NULL, NULL);
}

static void answer_tx(const char *id, calls_device *d, const char *tx) {
	calls_error err = { 0 };
	calls_origin o = { d, tx };
	if(!calls_registry_answer(R, live(id), d, &o, &err))
		g_error("answer refused: %s", err.message);
	g_assert_cmpint(err.code, ==, CALLS_ERR_NONE);
	flush();
}

static void answer(const char *id, calls_device *d) {
	answer_tx(id, d, NULL);
}

static void decline(const char *id, calls_device *d, const char *reason) {
	calls_error err = { 0 };
	calls_origin o = { d, NULL };
	if(!calls_registry_decline(R, live(id), d, reason, &o, &err))
		g_error("decline refused: %s", err.message);
	flush();
}

static void hangup(const char *id, calls_device *d, gboolean for_everyone) {
	calls_error err = { 0 };
	calls_origin o = { d, NULL };
	if(!calls_registry_end(R, live(id), d, for_everyone, &o, &err))
		g_error("end refused: %s", err.message);
	flush();
}

static void invite(const char *id, calls_device *d, const char *users) {
	gchar **ids = g_strsplit(users, ",", -1);
	calls_error err = { 0 };
	calls_origin o = { d, NULL };
	if(!calls_registry_invite(R, live(id), d, (const char *const *)ids, g_strv_length(ids), &o, &err))
		g_error("invite refused: %s", err.message);
	g_strfreev(ids);
	flush();
}

static void media_up(const char *id, const char *user) {
	calls_registry_media_up(R, calls_call_participant(live(id), user));
	flush();
}

static void media_down(const char *id, const char *user) {
	calls_registry_media_down(R, calls_call_participant(live(id), user));
	flush();
}

static void gone(calls_device *d) {
	calls_registry_device_gone(R, d);
	flush();
}

static guint count(void *conn, const char *event) {
	return test_env_count(E, conn, event);
}

/* The last `event` delivered to `conn` (must exist). */
static test_delivery *last(void *conn, const char *event) {
	test_delivery *d = test_env_last(E, conn, event);
	if(d == NULL)
		g_error("%s never got %s", (const char *)conn, event);
	return d;
}

static const char *last_str(void *conn, const char *event, const char *path) {
	return test_json_str(last(conn, event)->event, path);
}

static void assert_error(const calls_error *err, calls_error_code code, const char *needle) {
	if(err->code != code)
		g_error("got %s (%s), expected %s", calls_error_code_name(err->code), err->message, calls_error_code_name(code));
	if(strstr(err->message, needle) == NULL)
		g_error("message \"%s\" lacks \"%s\"", err->message, needle);
}

/* The call's final state as persisted and as announced. */
static void assert_ended(const char *id, const char *st, const char *reason, const char *ended_by) {
	g_assert_false(is_live(id));
	json_t *j = saved(id);
	test_assert_json_str(j, "status", st);
	test_assert_json_str(j, "endReason", reason);
	g_assert_cmpstr(test_json_str(j, "endedBy"), ==, ended_by);
	g_assert_nonnull(test_json_str(j, "endedAt"));
	g_assert_true(json_is_integer(json_object_get(j, "duration")));
	/* nobody is left ringing or joined */
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(j, "participants"), i, p) {
		const char *ps = json_string_value(json_object_get(p, "status"));
		g_assert_cmpstr(ps, !=, "RINGING");
		g_assert_cmpstr(ps, !=, "JOINED");
	}
}

/* A refused operation changes nothing: same call JSON, no event, no save, same timers.
 * `expr` may use `call_` (the live call) and `err_`. */
#define REFUSE(id, expr, code, needle) do { \
	calls_call *call_ = live(id); \
	json_t *before_ = calls_json_call(call_, E->now); \
	guint deliveries_ = E->deliveries->len, persists_ = E->persist_count; \
	guint timers_ = test_env_active_timers(E), live_ = calls_registry_live_count(R); \
	calls_error err_ = { 0 }; \
	g_assert_false(expr); \
	flush(); \
	assert_error(&err_, (code), (needle)); \
	json_t *after_ = calls_json_call(live(id), E->now); \
	g_assert_true(json_equal(before_, after_)); \
	g_assert_cmpuint(E->deliveries->len, ==, deliveries_); \
	g_assert_cmpuint(E->persist_count, ==, persists_); \
	g_assert_cmpuint(test_env_active_timers(E), ==, timers_); \
	g_assert_cmpuint(calls_registry_live_count(R), ==, live_); \
	json_decref(before_); \
	json_decref(after_); \
} while(0)

/* A refused create: no call, no event, no save. */
static void refuse_create(calls_device *d, const char *users, calls_error_code code, const char *needle) {
	gchar **ids = g_strsplit(users, ",", -1);
	guint deliveries = E->deliveries->len, persists = E->persist_count, n_live = calls_registry_live_count(R);
	guint timers = test_env_active_timers(E);
	calls_error err = { 0 };
	calls_origin o = { d, "t-refused" };
	g_assert_null(calls_registry_create(R, d, (const char *const *)ids, g_strv_length(ids), CALLS_TYPE_AUDIO, NULL, &o, &err));
	g_strfreev(ids);
	flush();
	assert_error(&err, code, needle);
	g_assert_cmpuint(E->deliveries->len, ==, deliveries);
	g_assert_cmpuint(E->persist_count, ==, persists);
	g_assert_cmpuint(calls_registry_live_count(R), ==, n_live);
	g_assert_cmpuint(test_env_active_timers(E), ==, timers);
}

/* ---- One to one ------------------------------------------------------------------------- */

static void test_one_to_one(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	cid c = start_ex(alice, "bob", CALLS_TYPE_VIDEO, "chat-1", "t-create");

	/* the initiator hears CALL_STARTED on its request's transaction; bob rings */
	g_assert_cmpuint(count(A1, "CALL_STARTED"), ==, 1);
	test_delivery *d = last(A1, "CALL_STARTED");
	g_assert_cmpstr(d->transaction, ==, "t-create");
	test_assert_json_str(d->event, "data.callId", c.s);
	test_assert_json_str(d->event, "data.call.status", "RINGING");
	test_assert_json_str(d->event, "data.call.chatId", "chat-1");
	g_assert_cmpuint(count(B1, "CALL_INCOMING"), ==, 1);
	d = last(B1, "CALL_INCOMING");
	g_assert_null(d->transaction);
	test_assert_json_str(d->event, "data.callId", c.s);
	test_assert_json_str(d->event, "data.initiatorId", "alice");
	test_assert_json_str(d->event, "data.initiatorName", "Alice");
	test_assert_json_str(d->event, "data.type", "VIDEO");
	g_assert_cmpuint(count(A1, "CALL_INCOMING"), ==, 0);
	g_assert_cmpuint(count(B1, "CALL_STARTED"), ==, 0);
	test_assert_json_str(saved(c.s), "status", "RINGING");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "JOINED");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "RINGING");
	test_assert_json_str(participant(c.s, "alice"), "role", "INITIATOR");
	test_assert_json_str(participant(c.s, "bob"), "role", "PARTICIPANT");
	test_assert_json_str(saved(c.s), "startedAt", "2026-01-01T00:00:00.000Z");
	g_assert_true(json_is_null(json_object_get(saved(c.s), "connectedAt")));
	g_assert_true(json_is_null(json_object_get(saved(c.s), "duration")));
	/* in a video call everybody starts with video on */
	g_assert_true(json_is_true(json_object_get(participant(c.s, "bob"), "isVideoEnabled")));
	g_assert_cmpuint(E->n_joined, ==, 1);
	/* the event handlers see what the devices see, and whom it rings */
	g_assert_cmpuint(E->notified->len, ==, 2);
	test_assert_json_str(g_ptr_array_index(E->notified, 0), "event", "CALL_STARTED");
	test_assert_json_str(g_ptr_array_index(E->notified, 1), "event", "CALL_INCOMING");
	test_assert_json_str(g_ptr_array_index(E->notified, 1), "data.userId", "bob");
	g_assert_null(test_json_at(d->event, "data.userId"));

	/* bob answers: JOINED to both, and RINGING -> CONNECTING */
	test_env_clear(E);
	advance(2000);
	answer_tx(c.s, bob, "t-answer");
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "JOINED");
	test_assert_json_str(participant(c.s, "bob"), "joinedAt", "2026-01-01T00:00:02.000Z");
	g_assert_cmpuint(count(A1, "CALL_PARTICIPANT_JOINED"), ==, 1);
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_JOINED", "data.userId"), ==, "bob");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_JOINED", "data.userName"), ==, "Bob");
	g_assert_null(last(A1, "CALL_PARTICIPANT_JOINED")->transaction);
	g_assert_cmpstr(last(B1, "CALL_PARTICIPANT_JOINED")->transaction, ==, "t-answer");
	g_assert_cmpstr(last_str(A1, "CALL_STATUS_CHANGED", "data.status"), ==, "CONNECTING");
	g_assert_cmpstr(last_str(A1, "CALL_STATUS_CHANGED", "data.previousStatus"), ==, "RINGING");
	g_assert_cmpstr(last(B1, "CALL_STATUS_CHANGED")->transaction, ==, "t-answer");
	g_assert_cmpuint(E->n_joined, ==, 2);

	/* media of one is not enough; of two: CONNECTED with connectedAt */
	advance(500);
	media_up(c.s, "alice");
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	advance(700);
	test_env_clear(E);
	media_up(c.s, "bob");
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	test_assert_json_str(saved(c.s), "connectedAt", "2026-01-01T00:00:03.200Z");
	g_assert_cmpuint(count(A1, "CALL_STATUS_CHANGED"), ==, 1);
	g_assert_cmpuint(count(B1, "CALL_STATUS_CHANGED"), ==, 1);
	g_assert_cmpstr(last_str(B1, "CALL_STATUS_CHANGED", "data.previousStatus"), ==, "CONNECTING");
	/* no connect timer is left: waiting changes nothing */
	advance(CONNECT_MS * 3);
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");

	/* bob hangs up 90.7 s after connecting: ENDED, HANGUP, 90 whole seconds */
	test_env_clear(E);
	advance(90700 - CONNECT_MS * 3);
	hangup(c.s, bob, FALSE);
	assert_ended(c.s, "ENDED", "HANGUP", "bob");
	g_assert_cmpint(json_integer_value(json_object_get(saved(c.s), "duration")), ==, 90);
	test_assert_json_str(saved(c.s), "endedAt", "2026-01-01T00:01:33.900Z");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "LEFT");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	test_assert_json_str(participant(c.s, "bob"), "leftAt", "2026-01-01T00:01:33.900Z");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "bob");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "LEFT");
	for(guint i = 0; i < 2; i++) {
		void *conn = i ? (void *)B1 : (void *)A1;
		g_assert_cmpuint(count(conn, "CALL_ENDED"), ==, 1);
		g_assert_cmpstr(last_str(conn, "CALL_ENDED", "data.status"), ==, "ENDED");
		g_assert_cmpstr(last_str(conn, "CALL_ENDED", "data.reason"), ==, "HANGUP");
		g_assert_cmpstr(last_str(conn, "CALL_ENDED", "data.endedBy"), ==, "bob");
		g_assert_cmpint(json_integer_value(test_json_at(last(conn, "CALL_ENDED")->event, "data.duration")), ==, 90);
		g_assert_cmpstr(last_str(conn, "CALL_STATUS_CHANGED", "data.status"), ==, "ENDED");
	}
	g_assert_cmpuint(E->n_ended, ==, 1);
	g_assert_cmpuint(calls_registry_live_count(R), ==, 0);
	g_assert_cmpuint(test_env_active_timers(E), ==, 0);
	test_assert_json_str(g_ptr_array_index(E->notified, E->notified->len - 1), "event", "CALL_ENDED");
	/* an audio call starts with video off */
	cid c2 = start_ex(alice, "bob", CALLS_TYPE_AUDIO, NULL, NULL);
	g_assert_true(json_is_false(json_object_get(participant(c2.s, "bob"), "isVideoEnabled")));
	g_assert_true(json_is_false(json_object_get(participant(c2.s, "alice"), "isVideoEnabled")));
	test_assert_json_str(saved(c2.s), "type", "AUDIO");
	teardown();
}

/* ---- Ringing ends --------------------------------------------------------------------------- */

static void test_ring_timeout_whole_call(void) {
	setup();
	calls_device *alice = device(A1, "alice");
	device(B1, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	advance(RING_MS - 1);
	g_assert_cmpstr(status(c.s), ==, "RINGING");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "RINGING");
	test_env_clear(E);
	advance(1);
	assert_ended(c.s, "MISSED", "RING_TIMEOUT", NULL);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "MISSED");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "MISSED");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	g_assert_cmpint(json_integer_value(json_object_get(saved(c.s), "duration")), ==, 0);
	g_assert_true(json_is_null(json_object_get(saved(c.s), "connectedAt")));
	/* everybody hears it, the missed ones included */
	g_assert_cmpstr(last_str(A1, "CALL_ENDED", "data.status"), ==, "MISSED");
	g_assert_cmpstr(last_str(A1, "CALL_ENDED", "data.reason"), ==, "RING_TIMEOUT");
	g_assert_cmpstr(last_str(B1, "CALL_ENDED", "data.status"), ==, "MISSED");
	g_assert_cmpstr(last_str(C1, "CALL_ENDED", "data.status"), ==, "MISSED");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "MISSED");
	teardown();
}

static void test_invitee_missed_call_goes_on(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	advance(1000);
	answer(c.s, bob);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	test_env_clear(E);
	advance(RING_MS);
	g_assert_true(is_live(c.s));
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "MISSED");
	test_assert_json_str(participant(c.s, "carol"), "leftAt", "2026-01-01T00:00:30.000Z");
	/* the call and carol herself learn it */
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "carol");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "MISSED");
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "MISSED");
	g_assert_cmpstr(last_str(C1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "carol");
	g_assert_cmpuint(count(NULL, "CALL_ENDED"), ==, 0);
	hangup(c.s, alice, FALSE);
	assert_ended(c.s, "ENDED", "HANGUP", "alice");
	teardown();
}

static void test_cancel_while_ringing(void) {
	setup();
	calls_device *alice = device(A1, "alice");
	device(B1, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	advance(3000);
	test_env_clear(E);
	hangup(c.s, alice, FALSE);
	assert_ended(c.s, "MISSED", "CANCELLED", "alice");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "MISSED");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "MISSED");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	g_assert_cmpstr(last_str(B1, "CALL_ENDED", "data.reason"), ==, "CANCELLED");
	g_assert_cmpstr(last_str(C1, "CALL_ENDED", "data.status"), ==, "MISSED");
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "alice");
	/* the ring timers are gone with the call */
	g_assert_cmpuint(test_env_active_timers(E), ==, 0);

	/* the same with forEveryone */
	cid c2 = start(alice, "bob");
	hangup(c2.s, alice, TRUE);
	assert_ended(c2.s, "MISSED", "CANCELLED", "alice");
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "MISSED");
	teardown();
}

static void test_all_declined(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	cid c = start(alice, "bob,carol");
	test_env_clear(E);
	decline(c.s, bob, "in a meeting");
	g_assert_cmpstr(status(c.s), ==, "RINGING");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "DECLINED");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "bob");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "DECLINED");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.message"), ==, "in a meeting");
	/* carol, still ringing, hears it; bob too, on his own request */
	g_assert_cmpstr(last_str(C1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "bob");
	g_assert_cmpuint(count(B1, "CALL_PARTICIPANT_LEFT"), ==, 1);
	decline(c.s, carol, NULL);
	assert_ended(c.s, "DECLINED", "DECLINED", "carol");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "DECLINED");
	g_assert_cmpstr(last_str(A1, "CALL_ENDED", "data.status"), ==, "DECLINED");
	g_assert_cmpstr(last_str(B1, "CALL_ENDED", "data.status"), ==, "DECLINED");
	g_assert_cmpuint(count(C1, "CALL_ENDED"), ==, 1);
	teardown();
}

/* bob is in a connected call with dave; returns its id */
static cid busy_bob(calls_device *bob, calls_device *dave) {
	cid x = start(dave, "bob");
	answer(x.s, bob);
	media_up(x.s, "bob");
	media_up(x.s, "dave");
	g_assert_cmpstr(status(x.s), ==, "CONNECTED");
	return x;
}

static void test_all_busy(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	calls_device *dave = device(D1, "dave");
	cid x = busy_bob(bob, dave);
	test_env_clear(E);
	/* one busy invitee: BUSY at once */
	cid c = start_ex(alice, "bob", CALLS_TYPE_AUDIO, NULL, "t-busy");
	assert_ended(c.s, "BUSY", "BUSY", "alice");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "BUSY");
	g_assert_cmpuint(count(A1, "CALL_STARTED"), ==, 1);
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "BUSY");
	g_assert_cmpstr(last(A1, "CALL_PARTICIPANT_LEFT")->transaction, ==, "t-busy");
	g_assert_cmpstr(last_str(A1, "CALL_ENDED", "data.status"), ==, "BUSY");
	g_assert_cmpstr(last(A1, "CALL_ENDED")->transaction, ==, "t-busy");
	/* the busy callee is not rung but learns who tried */
	g_assert_cmpuint(count(B1, "CALL_INCOMING"), ==, 0);
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "BUSY");
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.callId"), ==, c.s);
	/* no ring timer was left behind */
	g_assert_cmpuint(test_env_active_timers(E), ==, 0);

	/* two busy invitees: BUSY too */
	calls_device *eve = device(E1, "eve");
	cid y = start(carol, "eve");
	answer(y.s, eve);
	cid c2 = start(alice, "bob,eve");
	assert_ended(c2.s, "BUSY", "BUSY", "alice");
	g_assert_cmpstr(pstatus(c2.s, "eve"), ==, "BUSY");
	/* the other calls are untouched */
	g_assert_cmpstr(status(x.s), ==, "CONNECTED");
	g_assert_cmpstr(status(y.s), ==, "CONNECTING");
	teardown();
}

static void test_busy_and_declined(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	calls_device *dave = device(D1, "dave");
	busy_bob(bob, dave);
	cid c = start(alice, "bob,carol");
	g_assert_cmpstr(status(c.s), ==, "RINGING");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "BUSY");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "RINGING");
	decline(c.s, carol, NULL);
	assert_ended(c.s, "DECLINED", "DECLINED", "carol");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "BUSY");
	/* busy + missed: MISSED */
	cid c2 = start(alice, "bob,carol");
	advance(RING_MS);
	assert_ended(c2.s, "MISSED", "RING_TIMEOUT", NULL);
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "BUSY");
	g_assert_cmpstr(pstatus(c2.s, "carol"), ==, "MISSED");
	teardown();
}

/* ---- Connecting ------------------------------------------------------------------------------ */

static void test_connect_timeout(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	/* only alice's media arrives: bob FAILED, and the call with him */
	cid c = start(alice, "bob");
	answer(c.s, bob);
	media_up(c.s, "alice");
	advance(CONNECT_MS - 1);
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	test_env_clear(E);
	advance(1);
	assert_ended(c.s, "FAILED", "CONNECT_TIMEOUT", NULL);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "FAILED");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "bob");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "FAILED");
	g_assert_nonnull(strstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.message"), "connect timeout"));
	g_assert_cmpstr(last_str(B1, "CALL_ENDED", "data.status"), ==, "FAILED");

	/* no media at all: both FAILED */
	cid c2 = start(alice, "bob");
	answer(c2.s, bob);
	advance(CONNECT_MS);
	assert_ended(c2.s, "FAILED", "CONNECT_TIMEOUT", NULL);
	g_assert_cmpstr(pstatus(c2.s, "alice"), ==, "FAILED");
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "FAILED");

	/* two still talk: the call goes on without the one who failed */
	cid c3 = start(alice, "bob,carol");
	answer(c3.s, bob);
	answer(c3.s, carol);
	media_up(c3.s, "alice");
	media_up(c3.s, "bob");
	g_assert_cmpstr(status(c3.s), ==, "CONNECTED");
	advance(CONNECT_MS);
	g_assert_true(is_live(c3.s));
	g_assert_cmpstr(status(c3.s), ==, "CONNECTED");
	g_assert_cmpstr(pstatus(c3.s, "carol"), ==, "FAILED");
	g_assert_cmpstr(pstatus(c3.s, "bob"), ==, "JOINED");
	hangup(c3.s, alice, TRUE);
	assert_ended(c3.s, "ENDED", "ENDED_FOR_EVERYONE", "alice");
	teardown();
}

/* The last invitee gives up while only one other person is left: the call ends
 * (ENDED, HANGUP) instead of staying live with one person in it. */
static void test_last_one_left_ends(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	/* CONNECTED; carol answered but never gets media through; bob leaves; carol fails */
	cid c = start(alice, "bob,carol");
	answer(c.s, bob);
	answer(c.s, carol);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	hangup(c.s, bob, FALSE);
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	advance(CONNECT_MS);
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "FAILED");
	assert_ended(c.s, "ENDED", "HANGUP", NULL);
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");

	/* CONNECTED; carol still rings when bob leaves; nobody answers her */
	cid c2 = start(alice, "bob,carol");
	answer(c2.s, bob);
	media_up(c2.s, "alice");
	media_up(c2.s, "bob");
	hangup(c2.s, bob, FALSE);
	g_assert_true(is_live(c2.s));
	advance(RING_MS);
	g_assert_cmpstr(pstatus(c2.s, "carol"), ==, "MISSED");
	assert_ended(c2.s, "ENDED", "HANGUP", NULL);

	/* CONNECTING; the same */
	cid c3 = start(alice, "bob,carol");
	answer(c3.s, bob);
	media_up(c3.s, "alice");
	hangup(c3.s, bob, FALSE);
	g_assert_cmpstr(status(c3.s), ==, "CONNECTING");
	advance(RING_MS);
	g_assert_false(is_live(c3.s));
	g_assert_cmpstr(pstatus(c3.s, "carol"), ==, "MISSED");
	g_assert_cmpstr(status(c3.s), ==, "ENDED");
	teardown();
}

/* ---- Ending -------------------------------------------------------------------------------------- */

static void test_for_everyone(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	cid c = start(alice, "bob,carol");
	answer(c.s, bob);
	answer(c.s, carol);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	media_up(c.s, "carol");
	advance(61500);
	/* only the initiator may */
	REFUSE(c.s, calls_registry_end(R, call_, bob, TRUE, NULL, &err_), CALLS_ERR_FORBIDDEN,
		"only the initiator (alice) can end call");
	test_env_clear(E);
	hangup(c.s, alice, TRUE);
	assert_ended(c.s, "ENDED", "ENDED_FOR_EVERYONE", "alice");
	g_assert_cmpint(json_integer_value(json_object_get(saved(c.s), "duration")), ==, 61);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "LEFT");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "LEFT");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	for(guint i = 0; i < 3; i++) {
		void *conn = i == 0 ? (void *)A1 : i == 1 ? (void *)B1 : (void *)C1;
		g_assert_cmpuint(count(conn, "CALL_ENDED"), ==, 1);
		g_assert_cmpstr(last_str(conn, "CALL_ENDED", "data.reason"), ==, "ENDED_FOR_EVERYONE");
		g_assert_cmpstr(last_str(conn, "CALL_ENDED", "data.endedBy"), ==, "alice");
	}
	teardown();
}

static void test_group_hangups(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	cid c = start(alice, "bob,carol");
	answer(c.s, bob);
	answer(c.s, carol);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	media_up(c.s, "carol");
	/* the initiator may leave; the others go on */
	hangup(c.s, alice, FALSE);
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	g_assert_cmpstr(pstatus(c.s, "alice"), ==, "LEFT");
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "alice");
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "LEFT");
	/* who left still hears how the call ends */
	advance(4000);
	hangup(c.s, carol, FALSE);
	assert_ended(c.s, "ENDED", "HANGUP", "carol");
	g_assert_cmpuint(count(A1, "CALL_ENDED"), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(saved(c.s), "duration")), ==, 4);
	teardown();
}

/* ---- Reconnect grace ------------------------------------------------------------------------------ */

static void test_reconnect_grace(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	cid c = start(alice, "bob");
	answer(c.s, bob);
	media_up(c.s, "alice");
	media_up(c.s, "bob");

	/* media down and back within the grace: nothing happens */
	media_down(c.s, "bob");
	advance(GRACE_MS - 1);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "JOINED");
	media_up(c.s, "bob");
	advance(GRACE_MS * 4);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "JOINED");
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	g_assert_cmpuint(count(NULL, "CALL_PARTICIPANT_LEFT"), ==, 0);

	/* the device goes, a new one of bob's publishes within the grace: bob stays */
	gone(bob);
	advance(GRACE_MS / 2);
	calls_device *bob2 = device(B2, "bob");
	calls_registry_rebind(R, calls_call_participant(live(c.s), "bob"), bob2);
	media_up(c.s, "bob");
	advance(GRACE_MS * 2);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "JOINED");
	g_assert_true(calls_call_participant(live(c.s), "bob")->device == bob2);

	/* media down for good: LEFT with DISCONNECTED after the grace, and the call ends */
	test_env_clear(E);
	media_down(c.s, "bob");
	advance(GRACE_MS - 1);
	g_assert_true(is_live(c.s));
	advance(1);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "LEFT");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "DISCONNECTED");
	g_assert_nonnull(strstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.message"), "reconnect grace"));
	assert_ended(c.s, "ENDED", "DISCONNECTED", "bob");
	g_assert_cmpuint(count(B2, "CALL_ENDED"), ==, 1);

	/* device gone for good */
	cid c2 = start(alice, "bob");
	answer(c2.s, bob2);
	media_up(c2.s, "alice");
	media_up(c2.s, "bob");
	gone(bob2);
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "JOINED");
	advance(GRACE_MS);
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "LEFT");
	g_assert_cmpstr(test_json_str(participant(c2.s, "bob"), "leftAt"), ==, test_json_str(saved(c2.s), "endedAt"));
	assert_ended(c2.s, "ENDED", "DISCONNECTED", "bob");
	teardown();
}

static void test_ringing_device_gone_keeps_ringing(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	cid c = start(alice, "bob");
	gone(bob);
	advance(GRACE_MS * 3);
	g_assert_cmpstr(status(c.s), ==, "RINGING");
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "RINGING");
	/* bob comes back on another device: it rings there, and he can answer */
	calls_device *bob2 = device_ev(B2, "bob", TRUE, "t-reg");
	g_assert_cmpuint(count(B2, "CALL_INCOMING"), ==, 1);
	g_assert_cmpstr(last_str(B2, "CALL_INCOMING", "data.callId"), ==, c.s);
	answer(c.s, bob2);
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	teardown();
}

/* ---- Devices ---------------------------------------------------------------------------------------- */

static void test_multi_device(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *alice2 = device(A2, "alice");
	calls_device *bob1 = device(B1, "bob"), *bob2 = device(B2, "bob");
	calls_device *bob_sub = device_ev(B3, "bob", FALSE, NULL);
	cid c = start_ex(alice, "bob", CALLS_TYPE_VIDEO, NULL, "t-create");
	/* all of alice's devices hear CALL_STARTED, only the origin with the transaction */
	g_assert_cmpstr(last(A1, "CALL_STARTED")->transaction, ==, "t-create");
	g_assert_cmpuint(count(A2, "CALL_STARTED"), ==, 1);
	g_assert_null(last(A2, "CALL_STARTED")->transaction);
	/* every device of bob that carries events rings */
	g_assert_cmpuint(count(B1, "CALL_INCOMING"), ==, 1);
	g_assert_cmpuint(count(B2, "CALL_INCOMING"), ==, 1);
	g_assert_cmpuint(count(B3, NULL), ==, 0);

	/* the first device to answer takes the call; the other learns it by a JOINED naming bob */
	test_env_clear(E);
	answer_tx(c.s, bob2, "t-b2");
	g_assert_cmpstr(last(B2, "CALL_PARTICIPANT_JOINED")->transaction, ==, "t-b2");
	g_assert_cmpuint(count(B1, "CALL_PARTICIPANT_JOINED"), ==, 1);
	g_assert_cmpstr(last_str(B1, "CALL_PARTICIPANT_JOINED", "data.userId"), ==, "bob");
	g_assert_null(last(B1, "CALL_PARTICIPANT_JOINED")->transaction);
	g_assert_cmpuint(count(B3, NULL), ==, 0);
	g_assert_true(calls_call_participant(live(c.s), "bob")->device == bob2);
	REFUSE(c.s, calls_registry_answer(R, call_, bob1, NULL, &err_), CALLS_ERR_INVALID_STATE, "already joined call");
	REFUSE(c.s, calls_registry_answer(R, call_, bob1, NULL, &err_), CALLS_ERR_INVALID_STATE, "on another device");
	/* the subscriber-only handle gets its own answers, on its transaction */
	test_env_clear(E);
	calls_origin o = { bob_sub, "t-sub" };
	calls_error err = { 0 };
	g_assert_nonnull(calls_registry_set_media(R, live(c.s), bob_sub, 1, CALLS_UNSET, CALLS_UNSET, &o, &err));
	flush();
	g_assert_cmpuint(count(B3, NULL), ==, 1);
	g_assert_cmpstr(last(B3, "CALL_PARTICIPANT_MEDIA_CHANGED")->transaction, ==, "t-sub");
	g_assert_cmpuint(count(B1, "CALL_PARTICIPANT_MEDIA_CHANGED"), ==, 1);
	g_assert_cmpuint(count(A2, "CALL_PARTICIPANT_MEDIA_CHANGED"), ==, 1);
	/* switched on later, it hears the rest */
	calls_registry_device_set_events(R, bob_sub, TRUE);
	test_env_clear(E);
	hangup(c.s, alice2, TRUE);
	g_assert_cmpuint(count(B3, "CALL_ENDED"), ==, 1);
	assert_ended(c.s, "ENDED", "ENDED_FOR_EVERYONE", "alice");
	teardown();
}

static void test_decline_on_one_device(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob1 = device(B1, "bob"), *bob2 = device(B2, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	test_env_clear(E);
	decline(c.s, bob1, NULL);
	g_assert_cmpstr(pstatus(c.s, "bob"), ==, "DECLINED");
	g_assert_cmpstr(last_str(B2, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "bob");
	g_assert_cmpstr(last_str(B2, "CALL_PARTICIPANT_LEFT", "data.reason"), ==, "DECLINED");
	REFUSE(c.s, calls_registry_answer(R, call_, bob2, NULL, &err_), CALLS_ERR_INVALID_STATE, "is not ringing you (your status is DECLINED)");
	REFUSE(c.s, calls_registry_decline(R, call_, bob2, NULL, NULL, &err_), CALLS_ERR_INVALID_STATE, "is not ringing you");
	/* bob's devices hear the rest of the call no more: he is out of it */
	test_env_clear(E);
	hangup(c.s, alice, FALSE);
	g_assert_cmpuint(count(B2, "CALL_PARTICIPANT_LEFT"), ==, 0);
	/* but the end reaches everybody */
	g_assert_cmpuint(count(B2, "CALL_ENDED"), ==, 1);
	g_assert_cmpuint(count(B1, "CALL_ENDED"), ==, 1);
	teardown();
}

static void test_ring_on_register(void) {
	setup();
	calls_device *alice = device(A1, "alice");
	/* dave has never been seen: the call rings him as soon as he registers */
	cid c = start(alice, "dave");
	g_assert_true(json_is_null(json_object_get(participant(c.s, "dave"), "userName")));
	calls_device *dsub = device_ev(D2, "dave", FALSE, NULL);
	g_assert_cmpuint(count(D2, NULL), ==, 0);
	(void)dsub;
	calls_device *dave = device_ev(D1, "dave", TRUE, "t-reg");
	g_assert_cmpuint(count(D1, "CALL_INCOMING"), ==, 1);
	g_assert_cmpstr(last_str(D1, "CALL_INCOMING", "data.callId"), ==, c.s);
	g_assert_cmpstr(last_str(D1, "CALL_INCOMING", "data.initiatorId"), ==, "alice");
	/* his name is filled in and persisted */
	test_assert_json_str(participant(c.s, "dave"), "userName", "Dave");
	answer(c.s, dave);
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	/* a device registering now is not rung any more */
	device(D3, "dave");
	g_assert_cmpuint(count(D3, "CALL_INCOMING"), ==, 0);
	teardown();
}

static void test_reinvite(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	device(D1, "dave");
	cid c = start(alice, "bob,carol,dave");
	decline(c.s, carol, NULL);
	answer(c.s, bob);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	advance(RING_MS);
	g_assert_cmpstr(pstatus(c.s, "dave"), ==, "MISSED");
	g_assert_cmpstr(status(c.s), ==, "CONNECTED");
	/* bob (any joined participant) rings carol again; then dave */
	test_env_clear(E);
	advance(1000);
	invite(c.s, bob, "carol");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "RINGING");
	g_assert_true(json_is_null(json_object_get(participant(c.s, "carol"), "leftAt")));
	g_assert_cmpuint(count(C1, "CALL_INCOMING"), ==, 1);
	invite(c.s, alice, "dave");
	g_assert_cmpstr(pstatus(c.s, "dave"), ==, "RINGING");
	g_assert_cmpuint(count(D1, "CALL_INCOMING"), ==, 1);
	/* still one participant each: no duplicates */
	g_assert_cmpuint(json_array_size(json_object_get(saved(c.s), "participants")), ==, 4);
	answer(c.s, carol);
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "JOINED");
	/* refusals */
	REFUSE(c.s, calls_registry_invite(R, call_, alice, (const char *const[]){ "dave" }, 1, NULL, &err_),
		CALLS_ERR_INVALID_STATE, "\"dave\" is already ringing");
	REFUSE(c.s, calls_registry_invite(R, call_, alice, (const char *const[]){ "carol" }, 1, NULL, &err_),
		CALLS_ERR_INVALID_STATE, "\"carol\" is already joined");
	REFUSE(c.s, calls_registry_invite(R, call_, alice, (const char *const[]){ "eve", "alice" }, 2, NULL, &err_),
		CALLS_ERR_INVALID_REQUEST, "participantIds lists you (\"alice\")");
	/* the ringing dave may not invite */
	calls_device *dave = calls_registry_user(R, "dave")->devices->pdata[0];
	REFUSE(c.s, calls_registry_invite(R, call_, dave, (const char *const[]){ "eve" }, 1, NULL, &err_),
		CALLS_ERR_INVALID_STATE, "only a joined participant can add people (your status is RINGING)");
	/* a newcomer to the call */
	invite(c.s, carol, "eve");
	g_assert_cmpstr(pstatus(c.s, "eve"), ==, "RINGING");
	test_assert_json_str(participant(c.s, "eve"), "role", "PARTICIPANT");
	/* the ring timer applies to re-invited people too */
	advance(RING_MS);
	g_assert_cmpstr(pstatus(c.s, "dave"), ==, "MISSED");
	g_assert_cmpstr(pstatus(c.s, "eve"), ==, "MISSED");
	teardown();
}

/* ---- Limits --------------------------------------------------------------------------------------- */

static void test_limits(void) {
	calls_limits l = default_limits;
	l.max_participants = 3;
	setup_with(&l);
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(C1, "carol");
	refuse_create(alice, "bob,carol,dave", CALLS_ERR_LIMIT_EXCEEDED, "at most 3 participants (max_participants), this would make 4");
	refuse_create(alice, "bob,alice", CALLS_ERR_INVALID_REQUEST, "lists you");
	cid c = start(alice, "bob,carol");
	REFUSE(c.s, calls_registry_invite(R, call_, alice, (const char *const[]){ "dave" }, 1, NULL, &err_),
		CALLS_ERR_LIMIT_EXCEEDED, "at most 3 participants");
	/* re-inviting someone already counted does not make the call bigger */
	answer(c.s, bob);
	calls_device *carol = calls_registry_user(R, "carol")->devices->pdata[0];
	decline(c.s, carol, NULL);
	invite(c.s, bob, "carol");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "RINGING");
	teardown();

	l = default_limits;
	l.max_calls_per_minute = 2;
	setup_with(&l);
	alice = device(A1, "alice");
	device(B1, "bob");
	cid c1 = start(alice, "bob");
	hangup(c1.s, alice, FALSE);
	advance(20000);
	cid c2 = start(alice, "bob");
	hangup(c2.s, alice, FALSE);
	advance(20000);
	refuse_create(alice, "bob", CALLS_ERR_LIMIT_EXCEEDED, "you started calls or invited people 2 times in the last minute (max_calls_per_minute: "
		"each call started and each POST /calls/:callId/participants counts once); try again in 21 s");
	/* a minute after the first, one more is allowed, not two */
	advance(20000);
	cid c3 = start(alice, "bob");
	hangup(c3.s, alice, FALSE);
	refuse_create(alice, "bob", CALLS_ERR_LIMIT_EXCEEDED, "max_calls_per_minute");
	/* the limit is per user */
	calls_device *bob2 = calls_registry_user(R, "bob")->devices->pdata[0];
	cid c4 = start(bob2, "alice");
	hangup(c4.s, bob2, FALSE);
	teardown();

	l = default_limits;
	l.max_live_calls = 1;
	setup_with(&l);
	alice = device(A1, "alice");
	device(B1, "bob");
	calls_device *carol2 = device(C1, "carol");
	device(D1, "dave");
	cid c5 = start(alice, "bob");
	refuse_create(carol2, "dave", CALLS_ERR_LIMIT_EXCEEDED, "already carries 1 live calls (max_live_calls)");
	hangup(c5.s, alice, FALSE);
	cid c6 = start(carol2, "dave");
	g_assert_true(is_live(c6.s));
	teardown();
}

/* Invitations to a live call count in max_calls_per_minute, once per request. */
static void test_invitations_rate(void) {
	calls_limits l = default_limits;
	l.max_calls_per_minute = 3;
	setup_with(&l);
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(C1, "carol");
	device(D1, "dave");
	cid c = start(alice, "bob");                       /* 1 */
	answer(c.s, bob);
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	invite(c.s, alice, "carol,dave");                  /* 2: one request, two invitees */
	calls_device *carol = calls_registry_user(R, "carol")->devices->pdata[0];
	decline(c.s, carol, NULL);
	advance(10000);
	invite(c.s, alice, "carol");                       /* 3 */
	decline(c.s, carol, NULL);
	/* the fourth in a minute: refused, nobody rings, nothing changes */
	REFUSE(c.s, calls_registry_invite(R, call_, alice, (const char *const[]){ "carol" }, 1, NULL, &err_),
		CALLS_ERR_LIMIT_EXCEEDED, "invited people 3 times in the last minute (max_calls_per_minute");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "DECLINED");
	/* a refused invitation does not count: bob's own budget is whole */
	invite(c.s, bob, "carol");
	decline(c.s, carol, NULL);
	/* a minute after the first call, alice may again, once */
	advance(50000);
	invite(c.s, alice, "carol");
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "RINGING");
	hangup(c.s, alice, TRUE);
	teardown();
}

/* Leaving and coming back does not reset max_calls_per_minute. */
static void test_rate_survives_reconnect(void) {
	calls_limits l = default_limits;
	l.max_calls_per_minute = 1;
	setup_with(&l);
	calls_device *alice = device(A1, "alice");
	device(B1, "bob");
	cid c = start(alice, "bob");
	hangup(c.s, alice, FALSE);
	calls_registry_device_gone(R, alice);
	flush();
	alice = device(A2, "alice");
	refuse_create(alice, "bob", CALLS_ERR_LIMIT_EXCEEDED, "max_calls_per_minute");
	calls_registry_device_gone(R, alice);
	flush();
	/* a minute later the user is forgotten (at the next ended call) and may call again */
	advance(61000);
	calls_device *bob = calls_registry_user(R, "bob")->devices->pdata[0];
	device(C1, "carol");
	cid other = start(bob, "carol");
	hangup(other.s, bob, FALSE);
	g_assert_null(calls_registry_user(R, "alice"));
	alice = device(A1, "alice");
	cid again = start(alice, "bob");
	hangup(again.s, alice, FALSE);
	teardown();
}

/* max_devices_per_user: registered connections of one user; one going away frees its place. */
static void test_devices_limit(void) {
	calls_limits l = default_limits;
	l.max_devices_per_user = 3;
	setup_with(&l);
	calls_error err = { 0 };
	calls_device *d[3];
	static char conns[3][8] = { "a-1", "a-2", "a-3" };
	for(int i = 0; i < 3; i++) {
		g_assert_true(calls_registry_device_allowed(R, "alice", &err));
		d[i] = device(conns[i], "alice");
	}
	g_assert_false(calls_registry_device_allowed(R, "alice", &err));
	g_assert_cmpint(err.code, ==, CALLS_ERR_LIMIT_EXCEEDED);
	g_assert_nonnull(strstr(err.message, "\"alice\" already has 3 registered handles"));
	g_assert_nonnull(strstr(err.message, "max_devices_per_user"));
	/* per user: bob may */
	g_assert_true(calls_registry_device_allowed(R, "bob", &err));
	/* one goes away: room for one, not two */
	calls_registry_device_gone(R, d[1]);
	flush();
	g_assert_true(calls_registry_device_allowed(R, "alice", &err));
	device(A2, "alice");
	g_assert_false(calls_registry_device_allowed(R, "alice", &err));
	teardown();

	/* 0: no limit */
	setup();
	for(int i = 0; i < 3; i++)
		device(conns[i], "alice");
	g_assert_true(calls_registry_device_allowed(R, "alice", &err));
	teardown();
}

static void test_user_busy(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	device(D1, "dave");
	/* bob rings in two calls at once; he answers one, then cannot answer the other */
	cid y = start(carol, "bob");
	cid x = start(alice, "bob");
	g_assert_cmpstr(pstatus(y.s, "bob"), ==, "RINGING");
	g_assert_cmpstr(pstatus(x.s, "bob"), ==, "RINGING");
	answer(x.s, bob);
	REFUSE(y.s, calls_registry_answer(R, call_, bob, NULL, &err_), CALLS_ERR_USER_BUSY,
		"you are in call");
	REFUSE(y.s, calls_registry_answer(R, call_, bob, NULL, &err_), CALLS_ERR_USER_BUSY, x.s);
	/* while joined, neither alice nor bob can start another call */
	refuse_create(alice, "dave", CALLS_ERR_USER_BUSY, "end it (CALL_END) before starting another");
	refuse_create(bob, "dave", CALLS_ERR_USER_BUSY, x.s);
	/* bob can still decline the other one */
	decline(y.s, bob, NULL);
	assert_ended(y.s, "DECLINED", "DECLINED", "bob");
	teardown();
}

/* ---- Refusals change nothing ------------------------------------------------------------------------ */

static void test_refusals(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	calls_device *eve = device(E1, "eve");
	cid c = start(alice, "bob,carol");
	/* not in the call */
	REFUSE(c.s, calls_registry_answer(R, call_, eve, NULL, &err_), CALLS_ERR_FORBIDDEN, "you are not a participant of call");
	REFUSE(c.s, calls_registry_decline(R, call_, eve, NULL, NULL, &err_), CALLS_ERR_FORBIDDEN, "not a participant");
	REFUSE(c.s, calls_registry_end(R, call_, eve, FALSE, NULL, &err_), CALLS_ERR_FORBIDDEN, "not a participant");
	REFUSE(c.s, calls_registry_invite(R, call_, eve, (const char *const[]){ "dave" }, 1, NULL, &err_), CALLS_ERR_FORBIDDEN,
		"not a participant");
	REFUSE(c.s, calls_registry_set_media(R, call_, eve, 1, CALLS_UNSET, CALLS_UNSET, NULL, &err_) != NULL,
		CALLS_ERR_FORBIDDEN, "not a participant");
	/* the initiator is no invitee */
	REFUSE(c.s, calls_registry_answer(R, call_, alice, NULL, &err_), CALLS_ERR_INVALID_STATE, "you already joined call");
	REFUSE(c.s, calls_registry_decline(R, call_, alice, NULL, NULL, &err_), CALLS_ERR_INVALID_STATE, "leave it with CALL_END");
	/* a ringing invitee cannot end or change media */
	REFUSE(c.s, calls_registry_end(R, call_, bob, FALSE, NULL, &err_), CALLS_ERR_INVALID_STATE,
		"decline it with CALL_DECLINE");
	REFUSE(c.s, calls_registry_set_media(R, call_, bob, 1, CALLS_UNSET, CALLS_UNSET, NULL, &err_) != NULL,
		CALLS_ERR_INVALID_STATE, "join call");
	answer(c.s, bob);
	/* answering twice */
	REFUSE(c.s, calls_registry_answer(R, call_, bob, NULL, &err_), CALLS_ERR_INVALID_STATE, "you already joined call");
	REFUSE(c.s, calls_registry_decline(R, call_, bob, NULL, NULL, &err_), CALLS_ERR_INVALID_STATE, "leave it with CALL_END");
	/* a media update that changes nothing */
	REFUSE(c.s, calls_registry_set_media(R, call_, bob, CALLS_UNSET, CALLS_UNSET, CALLS_UNSET, NULL, &err_) != NULL,
		CALLS_ERR_INVALID_REQUEST, "send at least one of isMuted, isVideoEnabled, isSharingScreen");
	/* a participant who left */
	decline(c.s, carol, NULL);
	REFUSE(c.s, calls_registry_end(R, call_, carol, FALSE, NULL, &err_), CALLS_ERR_INVALID_STATE,
		"you are no longer in call");
	REFUSE(c.s, calls_registry_answer(R, call_, carol, NULL, &err_), CALLS_ERR_INVALID_STATE,
		"a participant can add you again");
	/* media events for people not joined are ignored */
	guint before = E->deliveries->len;
	calls_registry_media_up(R, calls_call_participant(live(c.s), "carol"));
	calls_registry_media_down(R, calls_call_participant(live(c.s), "carol"));
	flush();
	g_assert_cmpuint(E->deliveries->len, ==, before);
	g_assert_cmpstr(status(c.s), ==, "CONNECTING");
	/* admin refusals */
	REFUSE(c.s, calls_registry_admin_remove(R, call_, "carol", &err_), CALLS_ERR_INVALID_STATE, "\"carol\" is not in call");
	REFUSE(c.s, calls_registry_admin_remove(R, call_, "nobody", &err_), CALLS_ERR_INVALID_STATE, "\"nobody\" is not in call");
	teardown();
}

/* ---- Media flags -------------------------------------------------------------------------------------- */

static void test_media_flags(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	answer(c.s, bob);
	test_env_clear(E);
	calls_error err = { 0 };
	calls_origin o = { bob, "t-media" };
	calls_participant *p = calls_registry_set_media(R, live(c.s), bob, 1, 0, CALLS_UNSET, &o, &err);
	g_assert_nonnull(p);
	g_assert_true(p->is_muted);
	g_assert_false(p->is_video_enabled);
	g_assert_false(p->is_sharing_screen);
	flush();
	g_assert_cmpuint(E->n_flags, ==, 1);
	json_t *pj = participant(c.s, "bob");
	g_assert_true(json_is_true(json_object_get(pj, "isMuted")));
	g_assert_true(json_is_false(json_object_get(pj, "isVideoEnabled")));
	g_assert_true(json_is_false(json_object_get(pj, "isSharingScreen")));
	/* to everybody in the call, ringing carol included */
	for(guint i = 0; i < 3; i++) {
		void *conn = i == 0 ? (void *)A1 : i == 1 ? (void *)B1 : (void *)C1;
		g_assert_cmpuint(count(conn, "CALL_PARTICIPANT_MEDIA_CHANGED"), ==, 1);
		test_delivery *d = last(conn, "CALL_PARTICIPANT_MEDIA_CHANGED");
		test_assert_json_str(d->event, "data.userId", "bob");
		g_assert_true(json_is_true(test_json_at(d->event, "data.isMuted")));
		g_assert_true(json_is_false(test_json_at(d->event, "data.isVideoEnabled")));
		g_assert_true(json_is_false(test_json_at(d->event, "data.isSharingScreen")));
	}
	g_assert_cmpstr(last(B1, "CALL_PARTICIPANT_MEDIA_CHANGED")->transaction, ==, "t-media");
	/* unset flags are kept */
	p = calls_registry_set_media(R, live(c.s), bob, CALLS_UNSET, CALLS_UNSET, 1, &o, &err);
	flush();
	pj = participant(c.s, "bob");
	g_assert_true(json_is_true(json_object_get(pj, "isMuted")));
	g_assert_true(json_is_true(json_object_get(pj, "isSharingScreen")));
	teardown();
}

/* ---- Admin and presence ---------------------------------------------------------------------------------- */

static void test_admin(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,carol");
	calls_error err = { 0 };
	/* remove a ringing invitee: MISSED, with a message */
	g_assert_true(calls_registry_admin_remove(R, live(c.s), "carol", &err));
	flush();
	g_assert_cmpstr(pstatus(c.s, "carol"), ==, "MISSED");
	g_assert_cmpstr(last_str(A1, "CALL_PARTICIPANT_LEFT", "data.message"), ==, "removed by the server administrator");
	g_assert_cmpstr(last_str(C1, "CALL_PARTICIPANT_LEFT", "data.userId"), ==, "carol");
	/* remove the initiator while it rings: cancelled */
	g_assert_true(calls_registry_admin_remove(R, live(c.s), "alice", &err));
	flush();
	assert_ended(c.s, "MISSED", "CANCELLED", NULL);

	/* a joined participant is removed as LEFT */
	cid c2 = start(alice, "bob");
	answer(c2.s, bob);
	g_assert_true(calls_registry_admin_remove(R, live(c2.s), "bob", &err));
	flush();
	g_assert_cmpstr(pstatus(c2.s, "bob"), ==, "LEFT");
	assert_ended(c2.s, "ENDED", "HANGUP", NULL);

	/* admin end */
	cid c3 = start(alice, "bob");
	g_assert_true(calls_registry_admin_end(R, live(c3.s), &err));
	flush();
	assert_ended(c3.s, "MISSED", "ADMIN", NULL);
	g_assert_cmpstr(last_str(B1, "CALL_ENDED", "data.reason"), ==, "ADMIN");
	teardown();
}

static void test_online(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	device(B2, "bob");
	device(C1, "carol");
	cid c = start(alice, "bob,dave");
	answer(c.s, bob);
	json_t *users = calls_registry_online(R);
	/* dave is invited but has no device: not online */
	g_assert_cmpuint(json_array_size(users), ==, 3);
	size_t i;
	json_t *u;
	json_array_foreach(users, i, u) {
		test_assert_keys(u, "userId,userName,avatar,inCall");
		const char *id = json_string_value(json_object_get(u, "userId"));
		gboolean in_call = strcmp(id, "carol") != 0;
		g_assert_true(json_is_true(json_object_get(u, "inCall")) == in_call);
		g_assert_cmpstr(id, !=, "dave");
	}
	json_decref(users);
	/* a user whose last device goes while not in a call is forgotten */
	calls_device *carol = calls_registry_user(R, "carol")->devices->pdata[0];
	gone(carol);
	g_assert_null(calls_registry_user(R, "carol"));
	users = calls_registry_online(R);
	g_assert_cmpuint(json_array_size(users), ==, 2);
	json_decref(users);
	/* the user lists its live calls, newest first */
	advance(10);
	calls_device *eve = device(E1, "eve");
	cid c2 = start(eve, "dave");
	GPtrArray *mine = calls_registry_user_calls(R, calls_registry_user(R, "dave"));
	g_assert_cmpuint(mine->len, ==, 2);
	g_assert_cmpstr(((calls_call *)mine->pdata[0])->id, ==, c2.s);
	g_assert_cmpstr(((calls_call *)mine->pdata[1])->id, ==, c.s);
	g_ptr_array_unref(mine);
	teardown();
}

/* ---- The transitions table, row by row ------------------------------------------------------------------ */

typedef struct row_ctx {
	calls_device *alice, *bob, *carol, *dave;
	cid c;
} row_ctx;

/* From here on, status changes are what the row did. */
static void mark(void) {
	test_env_clear(E);
}

static void connecting(row_ctx *r, const char *invitees) {
	r->c = start(r->alice, invitees);
	answer(r->c.s, r->bob);
}

static void connected(row_ctx *r, const char *invitees) {
	connecting(r, invitees);
	media_up(r->c.s, "alice");
	media_up(r->c.s, "bob");
}

static void row_ringing_accepted(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); answer(r->c.s, r->bob); }
static void row_ringing_all_declined(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); decline(r->c.s, r->bob, NULL); }
static void row_ringing_all_busy(row_ctx *r) {
	cid x = start(r->dave, "bob");
	answer(x.s, r->bob);
	mark();
	r->c = start(r->alice, "bob");
}
static void row_ringing_nobody_answered(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); advance(RING_MS); }
static void row_ringing_cancelled(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); hangup(r->c.s, r->alice, FALSE); }
static void row_ringing_disconnected(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); gone(r->alice); advance(GRACE_MS); }
static void row_ringing_for_everyone(row_ctx *r) { r->c = start(r->alice, "bob"); mark(); hangup(r->c.s, r->alice, TRUE); }
static void row_ringing_admin(row_ctx *r) {
	r->c = start(r->alice, "bob");
	mark();
	calls_error err = { 0 };
	g_assert_true(calls_registry_admin_end(R, live(r->c.s), &err));
	flush();
}
static void row_connecting_accepted(row_ctx *r) { connecting(r, "bob,carol"); mark(); answer(r->c.s, r->carol); }
static void row_connecting_media(row_ctx *r) { connecting(r, "bob"); media_up(r->c.s, "alice"); mark(); media_up(r->c.s, "bob"); }
static void row_connecting_failed(row_ctx *r) { connecting(r, "bob"); media_up(r->c.s, "alice"); mark(); advance(CONNECT_MS); }
static void row_connecting_hung_up(row_ctx *r) { connecting(r, "bob"); mark(); hangup(r->c.s, r->bob, FALSE); }
static void row_connecting_disconnected(row_ctx *r) { connecting(r, "bob"); mark(); gone(r->bob); advance(GRACE_MS); }
static void row_connecting_for_everyone(row_ctx *r) { connecting(r, "bob"); mark(); hangup(r->c.s, r->alice, TRUE); }
static void row_connecting_admin(row_ctx *r) {
	connecting(r, "bob");
	mark();
	calls_error err = { 0 };
	g_assert_true(calls_registry_admin_end(R, live(r->c.s), &err));
	flush();
}
static void row_connected_accepted(row_ctx *r) { connected(r, "bob,carol"); mark(); answer(r->c.s, r->carol); }
static void row_connected_media(row_ctx *r) {
	connected(r, "bob,carol");
	answer(r->c.s, r->carol);
	mark();
	media_up(r->c.s, "carol");
}
static void row_connected_hung_up(row_ctx *r) { connected(r, "bob"); mark(); hangup(r->c.s, r->bob, FALSE); }
static void row_connected_disconnected(row_ctx *r) { connected(r, "bob"); mark(); media_down(r->c.s, "bob"); advance(GRACE_MS); }
static void row_connected_for_everyone(row_ctx *r) { connected(r, "bob"); mark(); hangup(r->c.s, r->alice, TRUE); }
static void row_connected_admin(row_ctx *r) {
	connected(r, "bob");
	mark();
	calls_error err = { 0 };
	g_assert_true(calls_registry_admin_end(R, live(r->c.s), &err));
	flush();
}

static void test_transitions(void) {
	/* (status, event) -> (status, endReason), in the order of registry.c's `transitions` */
	static const struct {
		const char *from, *event, *to, *reason;
		void (*run)(row_ctx *r);
	} rows[] = {
		{ "RINGING", "ACCEPTED", "CONNECTING", NULL, row_ringing_accepted },
		{ "RINGING", "ALL_DECLINED", "DECLINED", "DECLINED", row_ringing_all_declined },
		{ "RINGING", "ALL_BUSY", "BUSY", "BUSY", row_ringing_all_busy },
		{ "RINGING", "NOBODY_ANSWERED", "MISSED", "RING_TIMEOUT", row_ringing_nobody_answered },
		{ "RINGING", "CANCELLED", "MISSED", "CANCELLED", row_ringing_cancelled },
		{ "RINGING", "DISCONNECTED", "MISSED", "DISCONNECTED", row_ringing_disconnected },
		{ "RINGING", "ENDED_FOR_EVERYONE", "MISSED", "CANCELLED", row_ringing_for_everyone },
		{ "RINGING", "ADMIN_END", "MISSED", "ADMIN", row_ringing_admin },
		{ "CONNECTING", "ACCEPTED", "CONNECTING", NULL, row_connecting_accepted },
		{ "CONNECTING", "MEDIA_FLOWING", "CONNECTED", NULL, row_connecting_media },
		{ "CONNECTING", "CONNECT_FAILED", "FAILED", "CONNECT_TIMEOUT", row_connecting_failed },
		{ "CONNECTING", "HUNG_UP", "ENDED", "HANGUP", row_connecting_hung_up },
		{ "CONNECTING", "DISCONNECTED", "FAILED", "DISCONNECTED", row_connecting_disconnected },
		{ "CONNECTING", "ENDED_FOR_EVERYONE", "ENDED", "ENDED_FOR_EVERYONE", row_connecting_for_everyone },
		{ "CONNECTING", "ADMIN_END", "ENDED", "ADMIN", row_connecting_admin },
		{ "CONNECTED", "ACCEPTED", "CONNECTED", NULL, row_connected_accepted },
		{ "CONNECTED", "MEDIA_FLOWING", "CONNECTED", NULL, row_connected_media },
		{ "CONNECTED", "HUNG_UP", "ENDED", "HANGUP", row_connected_hung_up },
		{ "CONNECTED", "DISCONNECTED", "ENDED", "DISCONNECTED", row_connected_disconnected },
		{ "CONNECTED", "ENDED_FOR_EVERYONE", "ENDED", "ENDED_FOR_EVERYONE", row_connected_for_everyone },
		{ "CONNECTED", "ADMIN_END", "ENDED", "ADMIN", row_connected_admin },
	};
	for(guint i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_test_message("row %u: %s + %s -> %s", i, rows[i].from, rows[i].event, rows[i].to);
		setup();
		row_ctx r = { 0 };
		r.alice = device(A1, "alice");
		r.bob = device(B1, "bob");
		r.carol = device(C1, "carol");
		r.dave = device(D1, "dave");
		rows[i].run(&r);
		/* the status changes the row made, as the event handlers saw them */
		GPtrArray *changes = g_ptr_array_new();
		for(guint k = 0; k < E->notified->len; k++) {
			json_t *ev = g_ptr_array_index(E->notified, k);
			if(g_strcmp0(test_json_str(ev, "event"), "CALL_STATUS_CHANGED") == 0 &&
					g_strcmp0(test_json_str(ev, "data.callId"), r.c.s) == 0)
				g_ptr_array_add(changes, ev);
		}
		g_assert_cmpstr(status(r.c.s), ==, rows[i].to);
		if(strcmp(rows[i].from, rows[i].to) == 0) {
			g_assert_cmpuint(changes->len, ==, 0);
			g_assert_true(is_live(r.c.s));
		} else {
			g_assert_cmpuint(changes->len, ==, 1);
			test_assert_json_str(changes->pdata[0], "data.previousStatus", rows[i].from);
			test_assert_json_str(changes->pdata[0], "data.status", rows[i].to);
		}
		g_assert_cmpstr(test_json_str(saved(r.c.s), "endReason"), ==, rows[i].reason);
		if(rows[i].reason != NULL)
			assert_ended(r.c.s, rows[i].to, rows[i].reason, test_json_str(saved(r.c.s), "endedBy"));
		g_ptr_array_free(changes, TRUE);
		teardown();
	}
}

/* Every status of docs/api.md §4, of calls and of participants, is reached and persisted. */
static GHashTable *seen_calls, *seen_parts;

static void seen(const char *id) {
	json_t *j = saved(id);
	g_hash_table_add(seen_calls, g_strdup(test_json_str(j, "status")));
	size_t k;
	json_t *p;
	json_array_foreach(json_object_get(j, "participants"), k, p)
		g_hash_table_add(seen_parts, g_strdup(json_string_value(json_object_get(p, "status"))));
}

static void test_every_status(void) {
	setup();
	seen_calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	seen_parts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	calls_device *dave = device(D1, "dave"), *eve = device(E1, "eve");
	/* a: RINGING -> CONNECTING -> CONNECTED, carol DECLINED, dave MISSED, then ENDED with everyone LEFT */
	cid a = start(alice, "bob,carol,dave");
	seen(a.s);
	decline(a.s, carol, NULL);
	answer(a.s, bob);
	seen(a.s);
	media_up(a.s, "alice");
	media_up(a.s, "bob");
	seen(a.s);
	/* b: bob is BUSY (joined in a), frank never answers: MISSED */
	cid b = start(dave, "bob,frank");
	seen(b.s);
	advance(RING_MS);
	seen(a.s);
	seen(b.s);
	hangup(a.s, alice, TRUE);
	seen(a.s);
	/* c: nobody's media arrives: FAILED, with FAILED participants */
	cid c = start(alice, "dave");
	answer(c.s, dave);
	advance(CONNECT_MS);
	seen(c.s);
	/* d: DECLINED */
	cid d = start(alice, "bob");
	decline(d.s, bob, NULL);
	seen(d.s);
	/* e: carol is in a call with eve: BUSY */
	cid e0 = start(eve, "carol");
	answer(e0.s, carol);
	cid e = start(alice, "carol");
	seen(e.s);
	g_assert_cmpstr(status(a.s), ==, "ENDED");
	g_assert_cmpstr(status(b.s), ==, "MISSED");
	g_assert_cmpstr(status(c.s), ==, "FAILED");
	g_assert_cmpstr(status(d.s), ==, "DECLINED");
	g_assert_cmpstr(status(e.s), ==, "BUSY");
	for(int i = 0; i < CALLS_STATUS_COUNT; i++) {
		if(!g_hash_table_contains(seen_calls, calls_call_status_name(i)))
			g_error("call status %s never reached", calls_call_status_name(i));
	}
	for(int i = 0; i < CALLS_PSTATUS_COUNT; i++) {
		if(!g_hash_table_contains(seen_parts, calls_participant_status_name(i)))
			g_error("participant status %s never reached", calls_participant_status_name(i));
	}
	g_hash_table_destroy(seen_calls);
	g_hash_table_destroy(seen_parts);
	teardown();
}

/* Every change is persisted, and so is every final state. */
static void test_persistence(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob");
	guint p0 = E->persist_count;
	cid c = start(alice, "bob");
	g_assert_cmpuint(E->persist_count, >, p0);
	guint p1 = E->persist_count;
	answer(c.s, bob);
	g_assert_cmpuint(E->persist_count, >, p1);
	guint p2 = E->persist_count;
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	g_assert_cmpuint(E->persist_count, >, p2);
	test_assert_json_str(saved(c.s), "status", "CONNECTED");
	/* persisted once per operation, not once per field */
	guint p3 = E->persist_count;
	calls_error err = { 0 };
	g_assert_nonnull(calls_registry_set_media(R, live(c.s), bob, 1, 1, 1, NULL, &err));
	flush();
	g_assert_cmpuint(E->persist_count, ==, p3 + 1);
	hangup(c.s, bob, FALSE);
	test_assert_json_str(saved(c.s), "status", "ENDED");
	test_assert_json_str(participant(c.s, "alice"), "status", "LEFT");
	/* live calls are left in the store as they are when the registry goes */
	cid c2 = start(alice, "bob");
	teardown();
	(void)c2;
}

/* The log tells each call's story at VERB, in order, with the user's own words left out. */
static void test_log_story(void) {
	setup();
	calls_device *alice = device(A1, "alice"), *bob = device(B1, "bob"), *carol = device(C1, "carol");
	calls_device *dave = device(D1, "dave"), *eve = device(E1, "eve");
	g_assert_cmpint(test_env_log_find(E, 0, "5 alice registered device 1 (1 device(s), events on)", NULL), ==, 0);
	cid other = start(eve, "dave");
	answer(other.s, dave);
	guint from = E->logs->len;
	cid c = start(alice, "bob,carol,dave");
	answer(c.s, bob);
	decline(c.s, carol, "in the dentist's chair");
	media_up(c.s, "alice");
	media_up(c.s, "bob");
	media_down(c.s, "bob");
	media_up(c.s, "bob");
	hangup(c.s, bob, FALSE);
	char *prefix = g_strdup_printf("5 [%s] ", c.s);
	char *busy = g_strdup_printf("dave is busy (in call %s)", other.s);
	const char *story[] = {
		"created by alice on device 1: VIDEO call, 3 invitee(s)",
		"ringing bob on 1 device(s)",
		"ringing carol on 1 device(s)",
		busy,
		"bob answered on device 2: joined",
		"status RINGING -> CONNECTING",
		"carol left: status DECLINED, reason DECLINED",
		"media of alice reaches the server (1 of 2 joined)",
		"media of bob reaches the server (2 of 2 joined)",
		"status CONNECTING -> CONNECTED",
		"bob: reconnect grace of 5000 ms starts",
		"media of bob reaches the server (2 of 2 joined)",
		"bob left: status LEFT, reason LEFT",
		"status CONNECTED -> ENDED",
		"ended: status ENDED, reason HANGUP, by bob, after 0.0 s (connected 0.0 s)",
	};
	int at = (int)from - 1;
	for(guint i = 0; i < G_N_ELEMENTS(story); i++) {
		int next = test_env_log_find(E, at + 1, prefix, story[i], NULL);
		if(next < 0) {
			for(guint j = 0; j < E->logs->len; j++)
				g_printerr("log %u: %s\n", j, (const char *)g_ptr_array_index(E->logs, j));
			g_error("no log line \"%s%s\" after line %d", prefix, story[i], at);
		}
		at = next;
	}
	/* a decline's reason is the user's text: not in the log */
	g_assert_cmpint(test_env_log_find(E, 0, "dentist", NULL), ==, -1);
	g_free(prefix);
	g_free(busy);
	teardown();
}

int main(int argc, char *argv[]) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/registry/one-to-one", test_one_to_one);
	g_test_add_func("/registry/log-story", test_log_story);
	g_test_add_func("/registry/ring/timeout-whole-call", test_ring_timeout_whole_call);
	g_test_add_func("/registry/ring/invitee-missed-call-goes-on", test_invitee_missed_call_goes_on);
	g_test_add_func("/registry/ring/cancel", test_cancel_while_ringing);
	g_test_add_func("/registry/ring/all-declined", test_all_declined);
	g_test_add_func("/registry/ring/all-busy", test_all_busy);
	g_test_add_func("/registry/ring/busy-and-declined", test_busy_and_declined);
	g_test_add_func("/registry/connect/timeout", test_connect_timeout);
	g_test_add_func("/registry/connect/last-one-left-ends", test_last_one_left_ends);
	g_test_add_func("/registry/end/for-everyone", test_for_everyone);
	g_test_add_func("/registry/end/group-hangups", test_group_hangups);
	g_test_add_func("/registry/grace/reconnect", test_reconnect_grace);
	g_test_add_func("/registry/grace/ringing-device-gone", test_ringing_device_gone_keeps_ringing);
	g_test_add_func("/registry/devices/multi-device", test_multi_device);
	g_test_add_func("/registry/devices/decline-on-one", test_decline_on_one_device);
	g_test_add_func("/registry/devices/ring-on-register", test_ring_on_register);
	g_test_add_func("/registry/reinvite", test_reinvite);
	g_test_add_func("/registry/limits", test_limits);
	g_test_add_func("/registry/limits/invitations-rate", test_invitations_rate);
	g_test_add_func("/registry/limits/rate-survives-reconnect", test_rate_survives_reconnect);
	g_test_add_func("/registry/limits/devices", test_devices_limit);
	g_test_add_func("/registry/user-busy", test_user_busy);
	g_test_add_func("/registry/refusals-change-nothing", test_refusals);
	g_test_add_func("/registry/media-flags", test_media_flags);
	g_test_add_func("/registry/admin", test_admin);
	g_test_add_func("/registry/online-and-lists", test_online);
	g_test_add_func("/registry/transitions/every-row", test_transitions);
	g_test_add_func("/registry/every-status", test_every_status);
	g_test_add_func("/registry/persistence", test_persistence);
	return g_test_run();
}
