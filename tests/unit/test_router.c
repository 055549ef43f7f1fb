/* janus.plugin.calls - unit tests of the router (plugin/router.c).
 *
 * Requests go the way the plugin sends them: calls_request_parse(), then
 * calls_router_execute() for a handle (a `handle` struct here, whose address
 * is the connection). The registry runs on the fake environment of
 * testutil.c, persisting into a real store on a temporary file, so finished
 * calls are read back from SQLite as in production. The media layer is a
 * fake calls_media_ops that records what it was asked.
 *
 * Every refusal is checked to change nothing: the JSON of every live call,
 * the number of saves and the handle's device are the same before and after.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jwt.h>
#include "router.h"
#include "testutil.h"

/* 2026-01-01T00:00:00.000Z */
#define T0_SEC G_GINT64_CONSTANT(1767225600)
#define T0 (T0_SEC * G_USEC_PER_SEC)
#define SECRET "router-test-secret-of-32-bytes!!"
#define NOCALL "0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42"
#define OFFER "{'type': 'offer', 'sdp': 'v=0\\r\\nfake-offer\\r\\n'}"
#define ANSWER "{'type': 'answer', 'sdp': 'v=0\\r\\nfake-answer-from-client\\r\\n'}"

typedef struct handle {
	const char *name;
	calls_device *dev;
} handle;

static handle HA = { "alice", NULL }, HA2 = { "alice-2", NULL }, HB = { "bob", NULL }, HB2 = { "bob-sub", NULL };
static handle HC = { "carol", NULL };
static handle HD = { "dave", NULL }, HX = { "mallory", NULL };

/* The fake media layer. */
typedef struct fake_media {
	guint publish, subscribe, subscriber_answer, configure, stats;
	gboolean fail;
	char *last_sdp;
	char *last_tx;
	char *last_user;
	gboolean last_restart;
	int last_substream, last_temporal;
	handle *last_conn;
} fake_media;

static test_env *E;
static calls_registry *R;
static calls_router *RT;
static calls_store *S;
static calls_auth *AUTH;
static fake_media FM;

typedef struct cid {
	char s[CALLS_UUID_LEN + 1];
} cid;

/* ---- The fake media layer -------------------------------------------------------------- */

static void remember(char **field, const char *value) {
	g_free(*field);
	*field = g_strdup(value);
}

static gboolean fm_publish(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		json_t *jsep, char **answer_sdp, calls_error *err) {
	FM.publish++;
	FM.last_conn = dev->conn;
	remember(&FM.last_sdp, json_string_value(json_object_get(jsep, "sdp")));
	if(FM.fail) {
		calls_error_set(err, CALLS_ERR_INVALID_REQUEST, "fake media refused the offer: it has no audio");
		return FALSE;
	}
	*answer_sdp = g_strdup("v=0\r\nfake-answer-from-server\r\n");
	return TRUE;
}

static gboolean fm_subscribe(gpointer ctx, calls_call *call, calls_participant *p, calls_device *dev,
		const char *transaction, gboolean restart, calls_error *err) {
	FM.subscribe++;
	FM.last_conn = dev->conn;
	remember(&FM.last_tx, transaction);
	FM.last_restart = restart;
	return TRUE;
}

static gboolean fm_subscriber_answer(gpointer ctx, calls_call *call, calls_device *dev, const char *answer_sdp,
		calls_error *err) {
	FM.subscriber_answer++;
	remember(&FM.last_sdp, answer_sdp);
	if(FM.fail) {
		calls_error_set(err, CALLS_ERR_INVALID_STATE, "no offer is pending on this handle");
		return FALSE;
	}
	return TRUE;
}

static gboolean fm_configure(gpointer ctx, calls_call *call, calls_device *dev, const char *user_id,
		int substream, int temporal, calls_error *err) {
	FM.configure++;
	remember(&FM.last_user, user_id);
	FM.last_substream = substream;
	FM.last_temporal = temporal;
	return TRUE;
}

static json_t *fm_stats(gpointer ctx, calls_call *call, calls_participant *p) {
	FM.stats++;
	if(p->status != CALLS_PSTATUS_JOINED)
		return NULL;
	return json_pack("{s:s, s:i}", "of", p->user_id, "packets", 42);
}

static const calls_media_ops full_media = {
	.publish = fm_publish,
	.subscribe = fm_subscribe,
	.subscriber_answer = fm_subscriber_answer,
	.configure = fm_configure,
	.stats = fm_stats,
};

/* ---- Fixture ----------------------------------------------------------------------------- */

typedef struct options {
	calls_auth_mode mode;
	const char *secret;
	const calls_media_ops *media;
	gboolean presence;
} options;

static void setup_with(const options *o) {
	static handle *const all[] = { &HA, &HA2, &HB, &HB2, &HC, &HD, &HX };
	for(guint i = 0; i < G_N_ELEMENTS(all); i++)
		all[i]->dev = NULL;
	memset(&FM, 0, sizeof(FM));
	E = test_env_new(T0);
	char *dir = test_tmpdir();
	char *path = g_build_filename(dir, "calls.db", NULL);
	GError *error = NULL;
	S = calls_store_open(path, T0, NULL, &error);
	g_assert_no_error(error);
	g_free(path);
	g_free(dir);
	E->store = S;
	AUTH = calls_auth_new(o->mode, o->secret, NULL, &error);
	g_assert_no_error(error);
	calls_limits limits = {
		.ring_timeout_ms = 30000, .connect_timeout_ms = 10000, .reconnect_grace_ms = 5000,
		.max_participants = 8, .max_calls_per_minute = 0, .max_live_calls = 0,
	};
	R = calls_registry_new(&E->env, &limits);
	RT = calls_router_new(R, S, AUTH, o->media, o->presence);
}

static void setup(void) {
	options o = { CALLS_AUTH_OPEN, NULL, &full_media, FALSE };
	setup_with(&o);
}

static void teardown(void) {
	calls_router_free(RT);
	calls_registry_free(R);
	g_assert_cmpuint(test_env_active_timers(E), ==, 0);
	g_assert_cmpuint(E->stale_removes, ==, 0);
	calls_store_close(S);
	calls_auth_free(AUTH);
	test_env_free(E);
	g_free(FM.last_sdp);
	g_free(FM.last_tx);
	g_free(FM.last_user);
}

/* ---- Requests ------------------------------------------------------------------------------- */

/* JSON written with single quotes. */
static json_t *j(const char *text) {
	if(text == NULL)
		return NULL;
	char *s = g_strdup(text);
	for(char *p = s; *p; p++) {
		if(*p == '\'')
			*p = '"';
	}
	json_t *v = test_json(s);
	g_free(s);
	return v;
}

static json_t *run(handle *h, const char *tx, const char *body, const char *jsep) {
	json_t *b = j(body), *js = j(jsep);
	calls_request req;
	calls_error perr = { 0 };
	gboolean ok = calls_request_parse(b, js, &req, &perr);
	json_t *answer = calls_router_execute(RT, h, &h->dev, tx, &req, ok, &perr);
	calls_request_clear(&req);
	json_decref(b);
	if(js != NULL)
		json_decref(js);
	test_env_assert_persisted(E, R);
	return answer;
}

/* The JSON of every live call, to compare before and after a refusal. */
static json_t *snapshot(void) {
	json_t *all = json_array();
	GPtrArray *calls = calls_registry_all_calls(R);
	for(guint i = 0; i < calls->len; i++)
		json_array_append_new(all, calls_json_call(g_ptr_array_index(calls, i), E->now));
	g_ptr_array_unref(calls);
	return all;
}

typedef struct before {
	json_t *calls;
	guint persists;
	calls_device *dev;
} before;

static before take(handle *h) {
	before b = { snapshot(), E->persist_count, h->dev };
	return b;
}

static void unchanged(before *b, handle *h) {
	json_t *now = snapshot();
	g_assert_true(json_equal(b->calls, now));
	g_assert_cmpuint(E->persist_count, ==, b->persists);
	g_assert_true(h->dev == b->dev);
	json_decref(now);
	json_decref(b->calls);
}

static void check_message(const char *message, const char *needle) {
	if(needle != NULL && (message == NULL || strstr(message, needle) == NULL))
		g_error("message \"%s\" lacks \"%s\"", message ? message : "(none)", needle);
}

/* A synchronous request that succeeds with `status`: its body (new reference). */
static json_t *sok(handle *h, int status, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static json_t *sok(handle *h, int status, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *body = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	json_t *a = run(h, NULL, body, NULL);
	if(a == NULL)
		g_error("no synchronous answer to %s", body);
	if(json_object_get(a, "error") != NULL)
		g_error("%s refused: %s", body, test_json_str(a, "error.message"));
	test_assert_keys(a, "status,body");
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, status);
	json_t *b = json_incref(json_object_get(a, "body"));
	json_decref(a);
	g_free(body);
	return b;
}

/* A synchronous request refused with `code`; nothing changes. */
static void serr(handle *h, calls_error_code code, const char *needle, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void serr(handle *h, calls_error_code code, const char *needle, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *body = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	before b = take(h);
	guint deliveries = E->deliveries->len;
	json_t *a = run(h, "t-sync", body, NULL);
	if(a == NULL)
		g_error("no synchronous answer to %s", body);
	test_assert_keys(a, "status,error");
	test_assert_keys(json_object_get(a, "error"), "code,message");
	if(g_strcmp0(test_json_str(a, "error.code"), calls_error_code_name(code)) != 0)
		g_error("%s: got %s (%s), expected %s", body, test_json_str(a, "error.code"), test_json_str(a, "error.message"),
			calls_error_code_name(code));
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, calls_error_http_status(code));
	check_message(test_json_str(a, "error.message"), needle);
	/* a synchronous refusal sends no event */
	g_assert_cmpuint(E->deliveries->len, ==, deliveries);
	unchanged(&b, h);
	json_decref(a);
	g_free(body);
}

/* An asynchronous request that succeeds: no answer, no ERROR. */
static void aok(handle *h, const char *tx, const char *jsep, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void aok(handle *h, const char *tx, const char *jsep, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *body = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	guint errors = test_env_count(E, h, "ERROR");
	json_t *a = run(h, tx, body, jsep);
	g_assert_null(a);
	if(test_env_count(E, h, "ERROR") != errors)
		g_error("%s: ERROR %s", body, test_json_str(test_env_last(E, h, "ERROR")->event, "data.message"));
	g_free(body);
}

/* An asynchronous request refused: one ERROR event on its transaction, nothing else
 * changes. Returns the ERROR's data (borrowed). */
static json_t *aerr(handle *h, const char *tx, const char *jsep, calls_error_code code, const char *needle,
		const char *fmt, ...) G_GNUC_PRINTF(6, 7);
static json_t *aerr(handle *h, const char *tx, const char *jsep, calls_error_code code, const char *needle,
		const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *body = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	before b = take(h);
	guint deliveries = E->deliveries->len;
	json_t *a = run(h, tx, body, jsep);
	g_assert_null(a);
	g_assert_cmpuint(E->deliveries->len, ==, deliveries + 1);
	test_delivery *d = g_ptr_array_index(E->deliveries, E->deliveries->len - 1);
	g_assert_true(d->conn == h);
	g_assert_cmpstr(d->transaction, ==, tx);
	g_assert_null(d->jsep);
	test_assert_json_str(d->event, "event", "ERROR");
	g_assert_nonnull(test_json_str(d->event, "timestamp"));
	json_t *data = json_object_get(d->event, "data");
	if(g_strcmp0(test_json_str(data, "code"), calls_error_code_name(code)) != 0)
		g_error("%s: got %s (%s), expected %s", body, test_json_str(data, "code"), test_json_str(data, "message"),
			calls_error_code_name(code));
	g_assert_cmpint(json_integer_value(json_object_get(data, "status")), ==, calls_error_http_status(code));
	check_message(test_json_str(data, "message"), needle);
	unchanged(&b, h);
	g_free(body);
	return data;
}

static calls_device *reg_open(handle *h, const char *user) {
	json_t *b = sok(h, 200, "{'request': 'register', 'userId': '%s', 'userName': 'Name of %s'}", user, user);
	json_decref(b);
	g_assert_nonnull(h->dev);
	return h->dev;
}

static cid create(handle *h, const char *users, const char *type, const char *chat) {
	GString *list = g_string_new(NULL);
	gchar **ids = g_strsplit(users, ",", -1);
	for(guint i = 0; ids[i] != NULL; i++)
		g_string_append_printf(list, "%s'%s'", i ? ", " : "", ids[i]);
	g_strfreev(ids);
	char *chat_json = chat ? g_strdup_printf("'%s'", chat) : g_strdup("null");
	json_t *b = sok(h, 201, "{'request': 'POST /calls', 'body': {'participantIds': [%s], 'type': '%s', 'chatId': %s}}",
		list->str, type, chat_json);
	g_string_free(list, TRUE);
	g_free(chat_json);
	test_assert_keys(b, "call");
	cid c;
	g_strlcpy(c.s, test_json_str(b, "call.id"), sizeof(c.s));
	json_decref(b);
	return c;
}

static json_t *call_of(const char *id) {
	calls_call *call = calls_registry_find(R, id);
	if(call != NULL)
		return calls_json_call(call, E->now);
	GError *error = NULL;
	json_t *stored = calls_store_get(S, id, &error);
	g_assert_no_error(error);
	g_assert_nonnull(stored);
	return stored;
}

static const char *status_of(const char *id) {
	/* the store's copy equals the live one, checked after every request */
	json_t *saved = test_env_saved(E, id);
	g_assert_nonnull(saved);
	return test_json_str(saved, "status");
}

/* `text` with "%s" replaced by `id`. g_free() it. */
static char *with_id(const char *text, const char *id) {
	gchar **parts = g_strsplit(text, "%s", -1);
	char *out = g_strjoinv(id, parts);
	g_strfreev(parts);
	return out;
}

/* ---- Registration ----------------------------------------------------------------------------- */

static void test_unregistered(void) {
	setup();
	reg_open(&HA, "alice");
	cid c = create(&HA, "bob", "AUDIO", NULL);
	/* every synchronous route but register */
	static const char *const routes[] = {
		"{'request': 'POST /calls', 'body': {'participantIds': ['bob'], 'type': 'AUDIO'}}",
		"{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}",
		"{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}",
		"{'request': 'POST /calls/%s/end', 'body': {'forEveryone': true}}",
		"{'request': 'GET /calls/%s'}",
		"{'request': 'GET /calls/active'}",
		"{'request': 'GET /calls/history'}",
		"{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['carol']}}",
		"{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}",
		"{'request': 'GET /calls/%s/participants'}",
		"{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s', 'substream': 0}}",
		"{'request': 'GET /users/online'}",
	};
	for(guint i = 0; i < G_N_ELEMENTS(routes); i++) {
		char *body = with_id(routes[i], c.s);
		serr(&HX, CALLS_ERR_UNAUTHORIZED, "register this handle first", "%s", body);
		g_free(body);
	}
	/* every event, and the asynchronous routes: an ERROR event on the transaction */
	static const struct {
		const char *body;
		const char *jsep;
		const char *name;
	} events[] = {
		{ "{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO'}}", NULL, "CALL_INITIATE" },
		{ "{'event': 'CALL_ANSWER', 'data': {'callId': '%s'}}", NULL, "CALL_ANSWER" },
		{ "{'event': 'CALL_DECLINE', 'data': {'callId': '%s'}}", NULL, "CALL_DECLINE" },
		{ "{'event': 'CALL_END', 'data': {'callId': '%s'}}", NULL, "CALL_END" },
		{ "{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '%s', 'isMuted': true}}", NULL, "CALL_PARTICIPANT_MEDIA_UPDATE" },
		{ "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", OFFER, "WEBRTC_OFFER" },
		{ "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", NULL, "CALL_SUBSCRIBE" },
		{ "{'event': 'WEBRTC_ANSWER', 'data': {'callId': '%s'}}", ANSWER, "WEBRTC_ANSWER" },
		{ "{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '%s', 'temporal': 1}}", NULL, "CALL_SUBSCRIBER_CONFIGURE" },
		{ "{'request': 'POST /calls/signaling/offer', 'body': {'callId': '%s'}}", OFFER, "POST /calls/signaling/offer" },
		{ "{'request': 'POST /calls/signaling/answer', 'body': {'callId': '%s'}}", ANSWER, "POST /calls/signaling/answer" },
		{ "{'request': 'POST /calls/signaling/subscribe', 'body': {'callId': '%s'}}", NULL, "POST /calls/signaling/subscribe" },
	};
	for(guint i = 0; i < G_N_ELEMENTS(events); i++) {
		char *body = with_id(events[i].body, c.s);
		json_t *data = aerr(&HX, "t-unreg", events[i].jsep, CALLS_ERR_UNAUTHORIZED, "register this handle first", "%s", body);
		test_assert_json_str(data, "event", events[i].name);
		if(strstr(body, c.s) != NULL) {
			test_assert_keys(data, "code,status,message,event,callId");
			test_assert_json_str(data, "callId", c.s);
		} else {
			test_assert_keys(data, "code,status,message,event");
		}
		g_free(body);
	}
	/* the call is as it was */
	g_assert_cmpstr(status_of(c.s), ==, "RINGING");
	g_assert_null(HX.dev);
	teardown();
}

static void test_register_open(void) {
	setup();
	json_t *b = sok(&HA, 200, "{'request': 'register', 'userId': 'alice', 'userName': 'Alice', 'avatar': 'https://x.example/a.png'}");
	test_assert_keys(b, "user");
	test_assert_keys(json_object_get(b, "user"), "userId,userName,avatar");
	test_assert_json_str(b, "user.userId", "alice");
	test_assert_json_str(b, "user.userName", "Alice");
	test_assert_json_str(b, "user.avatar", "https://x.example/a.png");
	json_decref(b);
	g_assert_nonnull(HA.dev);
	g_assert_true(HA.dev->events);
	g_assert_true(HA.dev->conn == &HA);
	calls_device *first = HA.dev;
	/* again as the same user: the same device, new names, events switched off */
	b = sok(&HA, 200, "{'request': 'register', 'userId': 'alice', 'userName': 'Alice B.', 'events': false}");
	test_assert_json_str(b, "user.userName", "Alice B.");
	test_assert_json_str(b, "user.avatar", "https://x.example/a.png");
	json_decref(b);
	g_assert_true(HA.dev == first);
	g_assert_false(HA.dev->events);
	/* as another user: refused */
	serr(&HA, CALLS_ERR_INVALID_STATE, "registered as \"alice\": attach a new handle",
		"{'request': 'register', 'userId': 'bob'}");
	/* a handle registered with events false */
	b = sok(&HB2, 200, "{'request': 'register', 'userId': 'bob', 'events': false}");
	json_decref(b);
	g_assert_false(HB2.dev->events);
	/* bad identities */
	serr(&HC, CALLS_ERR_INVALID_REQUEST, "userName", "{'request': 'register', 'userId': 'carol', 'userName': 'a\\u0001b'}");
	serr(&HC, CALLS_ERR_INVALID_REQUEST, "\"token\"", "{'request': 'register'}");
	serr(&HC, CALLS_ERR_INVALID_REQUEST, "register.userId must be 1 to 64", "{'request': 'register', 'userId': 'c c'}");
	/* open mode without a key: a token cannot be verified */
	serr(&HC, CALLS_ERR_UNAUTHORIZED, "the token was refused", "{'request': 'register', 'token': 'a.b.c'}");
	g_assert_null(HC.dev);
	/* the query_session view */
	json_t *d = calls_router_describe(RT, NULL);
	test_assert_keys(d, "registered");
	g_assert_true(json_is_false(json_object_get(d, "registered")));
	json_decref(d);
	teardown();
}

static char *make_token(const char *key, const char *grants) {
	jwt_t *jwt = NULL;
	g_assert_cmpint(jwt_new(&jwt), ==, 0);
	g_assert_cmpint(jwt_add_grants_json(jwt, grants), ==, 0);
	g_assert_cmpint(jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)key, (int)strlen(key)), ==, 0);
	char *text = jwt_encode_str(jwt);
	g_assert_nonnull(text);
	char *token = g_strdup(text);
	free(text);
	jwt_free(jwt);
	return token;
}

static void test_register_jwt(void) {
	options o = { CALLS_AUTH_JWT, SECRET, &full_media, FALSE };
	setup_with(&o);
	char *grants = g_strdup_printf("{\"sub\": \"alice\", \"name\": \"Alice\", \"picture\": \"https://x.example/a.png\", "
		"\"exp\": %" G_GINT64_FORMAT "}", T0_SEC + 3600);
	char *token = make_token(SECRET, grants);
	json_t *b = sok(&HA, 200, "{'request': 'register', 'token': '%s'}", token);
	test_assert_json_str(b, "user.userId", "alice");
	test_assert_json_str(b, "user.userName", "Alice");
	test_assert_json_str(b, "user.avatar", "https://x.example/a.png");
	json_decref(b);
	g_assert_nonnull(HA.dev);
	/* the same token on another handle: a second device of alice */
	json_decref(sok(&HA2, 200, "{'request': 'register', 'token': '%s'}", token));
	g_assert_true(HA2.dev->user == HA.dev->user);
	g_free(token);
	g_free(grants);

	/* without a token: refused, and the message says how to register */
	serr(&HB, CALLS_ERR_UNAUTHORIZED, "this server identifies users by JWT", "{'request': 'register', 'userId': 'bob'}");
	/* expired (past the leeway), not yet valid, signed with another key, garbage */
	grants = g_strdup_printf("{\"sub\": \"bob\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC - 3600);
	token = make_token(SECRET, grants);
	serr(&HB, CALLS_ERR_UNAUTHORIZED, "the token was refused: ", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	g_free(grants);
	grants = g_strdup_printf("{\"sub\": \"bob\", \"nbf\": %" G_GINT64_FORMAT "}", T0_SEC + 3600);
	token = make_token(SECRET, grants);
	serr(&HB, CALLS_ERR_UNAUTHORIZED, "the token was refused", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	g_free(grants);
	token = make_token("not-the-secret-but-as-long-as-it", "{\"sub\": \"bob\"}");
	serr(&HB, CALLS_ERR_UNAUTHORIZED, "jwt_secret", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	serr(&HB, CALLS_ERR_UNAUTHORIZED, "the token was refused", "{'request': 'register', 'token': 'garbage'}");
	g_assert_null(HB.dev);
	/* a valid token for another user on alice's handle */
	token = make_token(SECRET, "{\"sub\": \"bob\"}");
	serr(&HA, CALLS_ERR_INVALID_STATE, "attach a new handle", "{'request': 'register', 'token': '%s'}", token);
	/* and on a fresh handle it works; the clock is the registry's */
	json_decref(sok(&HB, 200, "{'request': 'register', 'token': '%s'}", token));
	g_free(token);
	/* a token that expires while the registry's clock moves on */
	grants = g_strdup_printf("{\"sub\": \"carol\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC + 60);
	token = make_token(SECRET, grants);
	test_env_advance(E, (60 + CALLS_AUTH_LEEWAY_SEC + 1) * 1000);
	serr(&HC, CALLS_ERR_UNAUTHORIZED, "expired", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	g_free(grants);
	teardown();
}

/* A handle whose token has expired is refused every new request until it registers again;
 * its place in calls goes on. */
static void test_token_expiry(void) {
	options o = { CALLS_AUTH_JWT, SECRET, &full_media, FALSE };
	setup_with(&o);
	/* alice's token expires 25 s ago: still accepted (30 s of leeway), for 5 more seconds */
	char *grants = g_strdup_printf("{\"sub\": \"alice\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC - 25);
	char *token = make_token(SECRET, grants);
	json_decref(sok(&HA, 200, "{'request': 'register', 'token': '%s'}", token));
	g_assert_cmpint(HA.dev->token_expires, ==, T0_SEC - 25);
	json_decref(sok(&HA2, 200, "{'request': 'register', 'token': '%s', 'events': false}", token));
	g_free(token);
	g_free(grants);
	token = make_token(SECRET, "{\"sub\": \"bob\"}");   /* no exp: never expires */
	json_decref(sok(&HB, 200, "{'request': 'register', 'token': '%s'}", token));
	g_assert_cmpint(HB.dev->token_expires, ==, 0);
	g_free(token);
	cid c = create(&HA, "bob", "VIDEO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));
	aok(&HA, "t-pub", OFFER, "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aok(&HA2, "t-sub", NULL, "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	json_decref(sok(&HA, 200, "{'request': 'GET /calls/active'}"));

	test_env_advance(E, 5000);   /* T0 + 5: exp + 30 s */
	/* every request but register: UNAUTHORIZED, nothing changes (serr/aerr check it) */
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "token expired: register again", "{'request': 'GET /calls/active'}");
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "token expired: register again", "{'request': 'GET /calls/%s'}", c.s);
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "2025-12-31T23:59:35.000Z", "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", c.s);
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "token expired: register again", "{'request': 'POST /calls', 'body': {'participantIds': ['carol'], 'type': 'AUDIO'}}");
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "token expired: register again", "{'request': 'not a route'}");
	json_t *data = aerr(&HA, "t-end", NULL, CALLS_ERR_UNAUTHORIZED, "token expired: register again",
		"{'event': 'CALL_END', 'data': {'callId': '%s', 'forEveryone': true}}", c.s);
	test_assert_json_str(data, "callId", c.s);
	aerr(&HA, "t-pub2", OFFER, CALLS_ERR_UNAUTHORIZED, "token expired", "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HA2, "t-sub2", NULL, CALLS_ERR_UNAUTHORIZED, "token expired", "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	aerr(&HA2, "t-ans", ANSWER, CALLS_ERR_UNAUTHORIZED, "token expired", "{'event': 'WEBRTC_ANSWER', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.publish, ==, 1);
	g_assert_cmpuint(FM.subscribe, ==, 1);
	g_assert_cmpuint(FM.subscriber_answer, ==, 0);
	/* alice is still in the call, on her handle; events still reach her; bob is not affected */
	calls_call *call = calls_registry_find(R, c.s);
	g_assert_nonnull(call);
	g_assert_cmpint(calls_call_participant(call, "alice")->status, ==, CALLS_PSTATUS_JOINED);
	g_assert_true(calls_call_participant(call, "alice")->device == HA.dev);
	json_decref(sok(&HB, 200, "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", c.s));
	g_assert_nonnull(test_env_last(E, &HA, "CALL_PARTICIPANT_MEDIA_CHANGED"));
	json_decref(sok(&HB, 200, "{'request': 'GET /calls/active'}"));

	/* the expired token itself is refused at register; a fresh one renews the handle */
	grants = g_strdup_printf("{\"sub\": \"alice\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC - 25);
	token = make_token(SECRET, grants);
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "the token expired at", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	g_free(grants);
	calls_device *dev = HA.dev;
	grants = g_strdup_printf("{\"sub\": \"alice\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC + 3600);
	token = make_token(SECRET, grants);
	json_decref(sok(&HA, 200, "{'request': 'register', 'token': '%s'}", token));
	g_assert_true(HA.dev == dev);
	g_assert_cmpint(HA.dev->token_expires, ==, T0_SEC + 3600);
	g_free(token);
	g_free(grants);
	json_t *b = sok(&HA, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 1);
	json_decref(b);
	aok(&HA, "t-pub3", OFFER, "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.publish, ==, 2);
	/* the other handle still needs its own registration */
	serr(&HA2, CALLS_ERR_UNAUTHORIZED, "token expired", "{'request': 'GET /calls/active'}");
	/* a token without exp never expires */
	token = make_token(SECRET, "{\"sub\": \"alice\"}");
	json_decref(sok(&HA2, 200, "{'request': 'register', 'token': '%s', 'events': false}", token));
	g_free(token);
	g_assert_cmpint(HA2.dev->token_expires, ==, 0);
	aok(&HA, "t-end", NULL, "{'event': 'CALL_END', 'data': {'callId': '%s', 'forEveryone': true}}", c.s);
	test_env_advance(E, 24 * 3600 * 1000);
	json_decref(sok(&HA2, 200, "{'request': 'GET /calls/active'}"));
	json_decref(sok(&HB, 200, "{'request': 'GET /calls/active'}"));
	teardown();
}

/* Open mode with a key: tokens only, and they expire like in JWT mode. */
static void test_open_mode_with_key(void) {
	options o = { CALLS_AUTH_OPEN, SECRET, &full_media, FALSE };
	setup_with(&o);
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "a token is required", "{'request': 'register', 'userId': 'alice'}");
	g_assert_null(HA.dev);
	char *grants = g_strdup_printf("{\"sub\": \"alice\", \"exp\": %" G_GINT64_FORMAT "}", T0_SEC + 10);
	char *token = make_token(SECRET, grants);
	json_decref(sok(&HA, 200, "{'request': 'register', 'token': '%s'}", token));
	g_free(token);
	g_free(grants);
	/* and the userId form is not a way around it on a registered handle either */
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "a token is required", "{'request': 'register', 'userId': 'alice'}");
	json_decref(sok(&HA, 200, "{'request': 'GET /calls/active'}"));
	test_env_advance(E, (10 + CALLS_AUTH_LEEWAY_SEC) * 1000);
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "token expired: register again", "{'request': 'GET /calls/active'}");
	teardown();

	/* open mode without a key: the userId form, which never expires */
	setup();
	reg_open(&HA, "alice");
	g_assert_cmpint(HA.dev->token_expires, ==, 0);
	test_env_advance(E, 365LL * 24 * 3600 * 1000);
	json_decref(sok(&HA, 200, "{'request': 'GET /calls/active'}"));
	teardown();
}

/* jwt_audience and jwt_issuer, at register. */
static void test_register_claims(void) {
	options o = { CALLS_AUTH_JWT, SECRET, &full_media, FALSE };
	setup_with(&o);
	calls_auth_require_claims(AUTH, "calls", "https://id.example.org");
	char *token = make_token(SECRET, "{\"sub\": \"alice\", \"aud\": \"chat\", \"iss\": \"https://id.example.org\"}");
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "claim 'aud' is \"chat\"", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	token = make_token(SECRET, "{\"sub\": \"alice\", \"aud\": [\"chat\", \"calls\"], \"iss\": \"https://evil.example.org\"}");
	serr(&HA, CALLS_ERR_UNAUTHORIZED, "claim 'iss' is \"https://evil.example.org\"", "{'request': 'register', 'token': '%s'}", token);
	g_free(token);
	token = make_token(SECRET, "{\"sub\": \"alice\", \"aud\": [\"chat\", \"calls\"], \"iss\": \"https://id.example.org\"}");
	json_decref(sok(&HA, 200, "{'request': 'register', 'token': '%s'}", token));
	g_free(token);
	g_assert_nonnull(HA.dev);
	teardown();
}

/* ---- Finding the call ------------------------------------------------------------------------- */

static void test_call_lookup(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HX, "mallory");
	cid c = create(&HA, "bob", "VIDEO", NULL);

	/* a call that does not exist */
	serr(&HA, CALLS_ERR_CALL_NOT_FOUND, "there is no live call " NOCALL,
		"{'request': 'POST /calls/" NOCALL "/answer', 'body': {'accept': true}}");
	serr(&HA, CALLS_ERR_CALL_NOT_FOUND, "there is no call " NOCALL, "{'request': 'GET /calls/" NOCALL "'}");
	json_t *data = aerr(&HA, "t-nf", NULL, CALLS_ERR_CALL_NOT_FOUND, NOCALL,
		"{'event': 'CALL_END', 'data': {'callId': '" NOCALL "'}}");
	test_assert_json_str(data, "callId", NOCALL);
	test_assert_json_str(data, "event", "CALL_END");

	/* a live call mallory is not in: FORBIDDEN for everything, reading included */
	serr(&HX, CALLS_ERR_FORBIDDEN, "you are not a participant of call", "{'request': 'GET /calls/%s'}", c.s);
	serr(&HX, CALLS_ERR_FORBIDDEN, "not a participant", "{'request': 'GET /calls/%s/participants'}", c.s);
	serr(&HX, CALLS_ERR_FORBIDDEN, "not a participant", "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s);
	serr(&HX, CALLS_ERR_FORBIDDEN, "not a participant", "{'request': 'POST /calls/%s/end'}", c.s);
	serr(&HX, CALLS_ERR_FORBIDDEN, "not a participant", "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", c.s);
	serr(&HX, CALLS_ERR_FORBIDDEN, "not a participant",
		"{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['mallory']}}", c.s);
	aerr(&HX, "t-x", NULL, CALLS_ERR_FORBIDDEN, "not a participant", "{'event': 'CALL_ANSWER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HX, "t-x", OFFER, CALLS_ERR_FORBIDDEN, "not a participant", "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HX, "t-x", NULL, CALLS_ERR_FORBIDDEN, "not a participant", "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.publish + FM.subscribe, ==, 0);

	/* participants read it */
	json_t *b = sok(&HB, 200, "{'request': 'GET /calls/%s'}", c.s);
	test_assert_keys(b, "call");
	test_assert_json_str(b, "call.id", c.s);
	test_assert_json_str(b, "call.status", "RINGING");
	json_decref(b);

	/* once over, it comes from the store: to its participants only */
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/end'}", c.s));
	g_assert_null(calls_registry_find(R, c.s));
	b = sok(&HB, 200, "{'request': 'GET /calls/%s'}", c.s);
	test_assert_json_str(b, "call.id", c.s);
	test_assert_json_str(b, "call.status", "MISSED");
	test_assert_json_str(b, "call.endReason", "CANCELLED");
	test_assert_json_str(b, "call.participants.1.status", "MISSED");
	json_decref(b);
	serr(&HX, CALLS_ERR_FORBIDDEN, "you are not a participant of call", "{'request': 'GET /calls/%s'}", c.s);
	/* acting on it: INVALID_STATE for its participants, and the message says it is over */
	serr(&HB, CALLS_ERR_INVALID_STATE, "is over (MISSED)", "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s);
	serr(&HA, CALLS_ERR_INVALID_STATE, "is over", "{'request': 'POST /calls/%s/end'}", c.s);
	serr(&HA, CALLS_ERR_INVALID_STATE, "is over", "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", c.s);
	/* its participants, like GET /calls/:callId: from the history, to its participants only */
	b = sok(&HB, 200, "{'request': 'GET /calls/%s/participants'}", c.s);
	test_assert_keys(b, "participants");
	json_t *whole = call_of(c.s);
	g_assert_true(json_equal(json_object_get(b, "participants"), json_object_get(whole, "participants")));
	test_assert_json_str(b, "participants.1.status", "MISSED");
	json_decref(whole);
	json_decref(b);
	serr(&HX, CALLS_ERR_FORBIDDEN, "you are not a participant of call", "{'request': 'GET /calls/%s/participants'}", c.s);
	serr(&HA, CALLS_ERR_CALL_NOT_FOUND, "there is no call " NOCALL, "{'request': 'GET /calls/" NOCALL "/participants'}");
	data = aerr(&HB, "t-over", NULL, CALLS_ERR_INVALID_STATE, "is over", "{'event': 'CALL_ANSWER', 'data': {'callId': '%s'}}", c.s);
	test_assert_json_str(data, "callId", c.s);
	/* to others it does not exist */
	serr(&HX, CALLS_ERR_CALL_NOT_FOUND, "there is no live call", "{'request': 'POST /calls/%s/end'}", c.s);
	teardown();
}

/* ---- Calls through the routes and the events ----------------------------------------------------- */

static void test_create_answer_end(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	/* POST /calls: 201 {call}, and CALL_STARTED on the request's transaction */
	json_t *a = run(&HA, "t-post", "{'request': 'POST /calls', 'body': {'participantIds': ['bob', 'carol'], 'type': 'VIDEO', 'chatId': 'chat-1'}}", NULL);
	test_assert_keys(a, "status,body");
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, 201);
	test_assert_keys(json_object_get(a, "body"), "call");
	test_assert_json_str(a, "body.call.status", "RINGING");
	test_assert_json_str(a, "body.call.chatId", "chat-1");
	test_assert_json_str(a, "body.call.initiatorId", "alice");
	cid c;
	g_strlcpy(c.s, test_json_str(a, "body.call.id"), sizeof(c.s));
	json_decref(a);
	test_delivery *d = test_env_last(E, &HA, "CALL_STARTED");
	g_assert_nonnull(d);
	g_assert_cmpstr(d->transaction, ==, "t-post");
	g_assert_nonnull(test_env_last(E, &HB, "CALL_INCOMING"));

	/* answer {accept: false} declines */
	json_t *b = sok(&HC, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false, 'reason': 'driving'}}", c.s);
	test_assert_keys(b, "call");
	test_assert_json_str(b, "call.participants.2.userId", "carol");
	test_assert_json_str(b, "call.participants.2.status", "DECLINED");
	test_assert_json_str(b, "call.status", "RINGING");
	json_decref(b);
	g_assert_cmpstr(test_json_str(test_env_last(E, &HA, "CALL_PARTICIPANT_LEFT")->event, "data.message"), ==, "driving");
	/* {accept: true} answers */
	b = sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s);
	test_assert_json_str(b, "call.status", "CONNECTING");
	test_assert_json_str(b, "call.participants.1.status", "JOINED");
	json_decref(b);
	serr(&HB, CALLS_ERR_INVALID_STATE, "you already joined", "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s);
	/* forEveryone by a participant: FORBIDDEN */
	serr(&HB, CALLS_ERR_FORBIDDEN, "only the initiator", "{'request': 'POST /calls/%s/end', 'body': {'forEveryone': true}}", c.s);
	/* end: 200 {call} in its final state */
	test_env_advance(E, 1000);
	b = sok(&HB, 200, "{'request': 'POST /calls/%s/end'}", c.s);
	test_assert_keys(b, "call");
	test_assert_json_str(b, "call.status", "ENDED");
	test_assert_json_str(b, "call.endReason", "HANGUP");
	test_assert_json_str(b, "call.endedBy", "bob");
	g_assert_cmpint(json_integer_value(test_json_at(b, "call.duration")), ==, 0);
	json_decref(b);

	/* the same through events: answers are events on the transaction */
	test_env_clear(E);
	aok(&HA, "t-init", NULL, "{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO'}}");
	d = test_env_last(E, &HA, "CALL_STARTED");
	g_assert_nonnull(d);
	g_assert_cmpstr(d->transaction, ==, "t-init");
	cid c2;
	g_strlcpy(c2.s, test_json_str(d->event, "data.callId"), sizeof(c2.s));
	aok(&HB, "t-ans", NULL, "{'event': 'CALL_ANSWER', 'data': {'callId': '%s'}}", c2.s);
	g_assert_cmpstr(test_env_last(E, &HB, "CALL_PARTICIPANT_JOINED")->transaction, ==, "t-ans");
	g_assert_cmpstr(test_env_last(E, &HB, "CALL_STATUS_CHANGED")->transaction, ==, "t-ans");
	g_assert_null(test_env_last(E, &HA, "CALL_STATUS_CHANGED")->transaction);
	aerr(&HB, "t-ans2", NULL, CALLS_ERR_INVALID_STATE, "already joined", "{'event': 'CALL_ANSWER', 'data': {'callId': '%s'}}", c2.s);
	aerr(&HB, "t-dec", NULL, CALLS_ERR_INVALID_STATE, "leave it with CALL_END", "{'event': 'CALL_DECLINE', 'data': {'callId': '%s'}}", c2.s);
	aerr(&HB, "t-end", NULL, CALLS_ERR_FORBIDDEN, "only the initiator",
		"{'event': 'CALL_END', 'data': {'callId': '%s', 'forEveryone': true}}", c2.s);
	/* a busy user cannot start another call */
	aerr(&HA, "t-busy", NULL, CALLS_ERR_USER_BUSY, "end it (CALL_END) before starting another",
		"{'event': 'CALL_INITIATE', 'data': {'participantIds': ['carol'], 'type': 'AUDIO'}}");
	serr(&HA, CALLS_ERR_USER_BUSY, "before starting another", "{'request': 'POST /calls', 'body': {'participantIds': ['carol'], 'type': 'AUDIO'}}");
	aok(&HA, "t-end", NULL, "{'event': 'CALL_END', 'data': {'callId': '%s', 'forEveryone': true}}", c2.s);
	g_assert_cmpstr(test_env_last(E, &HA, "CALL_ENDED")->transaction, ==, "t-end");
	g_assert_cmpstr(test_json_str(test_env_last(E, &HB, "CALL_ENDED")->event, "data.reason"), ==, "ENDED_FOR_EVERYONE");
	g_assert_cmpstr(status_of(c2.s), ==, "ENDED");

	/* decline by event, with the reason */
	aok(&HA, NULL, NULL, "{'event': 'CALL_INITIATE', 'data': {'participantIds': ['carol'], 'type': 'AUDIO'}}");
	cid c3;
	g_strlcpy(c3.s, test_json_str(test_env_last(E, &HA, "CALL_STARTED")->event, "data.callId"), sizeof(c3.s));
	aok(&HC, "t-dec", NULL, "{'event': 'CALL_DECLINE', 'data': {'callId': '%s', 'reason': 'later'}}", c3.s);
	g_assert_cmpstr(status_of(c3.s), ==, "DECLINED");
	g_assert_cmpstr(test_json_str(test_env_last(E, &HA, "CALL_PARTICIPANT_LEFT")->event, "data.message"), ==, "later");
	teardown();
}

static void test_participants_and_media(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	cid c = create(&HA, "bob", "VIDEO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));
	/* PATCH media: {participant} */
	json_t *b = sok(&HB, 200, "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true, 'isSharingScreen': true}}", c.s);
	test_assert_keys(b, "participant");
	test_assert_keys(json_object_get(b, "participant"),
		"userId,userName,avatar,role,status,joinedAt,leftAt,isMuted,isVideoEnabled,isSharingScreen");
	test_assert_json_str(b, "participant.userId", "bob");
	g_assert_true(json_is_true(test_json_at(b, "participant.isMuted")));
	g_assert_true(json_is_true(test_json_at(b, "participant.isVideoEnabled")));
	g_assert_true(json_is_true(test_json_at(b, "participant.isSharingScreen")));
	json_decref(b);
	g_assert_nonnull(test_env_last(E, &HA, "CALL_PARTICIPANT_MEDIA_CHANGED"));
	serr(&HB, CALLS_ERR_INVALID_REQUEST, "send at least one of isMuted", "{'request': 'PATCH /calls/%s/media', 'body': {}}", c.s);
	aok(&HB, "t-m", NULL, "{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '%s', 'isVideoEnabled': false}}", c.s);
	g_assert_cmpstr(test_env_last(E, &HB, "CALL_PARTICIPANT_MEDIA_CHANGED")->transaction, ==, "t-m");
	g_assert_true(json_is_false(test_json_at(test_env_last(E, &HA, "CALL_PARTICIPANT_MEDIA_CHANGED")->event, "data.isVideoEnabled")));

	/* add a participant: {call}; the newcomer rings */
	b = sok(&HB, 200, "{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['carol']}}", c.s);
	test_assert_keys(b, "call");
	test_assert_json_str(b, "call.participants.2.userId", "carol");
	test_assert_json_str(b, "call.participants.2.status", "RINGING");
	json_decref(b);
	g_assert_nonnull(test_env_last(E, &HC, "CALL_INCOMING"));
	serr(&HB, CALLS_ERR_INVALID_STATE, "already ringing", "{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['carol']}}", c.s);
	serr(&HC, CALLS_ERR_INVALID_STATE, "only a joined participant",
		"{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['dave']}}", c.s);
	serr(&HC, CALLS_ERR_INVALID_STATE, "join call", "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", c.s);

	/* GET participants: every participant, with the media layer's stats for the joined ones */
	b = sok(&HC, 200, "{'request': 'GET /calls/%s/participants'}", c.s);
	test_assert_keys(b, "participants");
	json_t *parts = json_object_get(b, "participants");
	g_assert_cmpuint(json_array_size(parts), ==, 3);
	test_assert_json_str(parts, "0.userId", "alice");
	test_assert_json_str(parts, "0.stats.of", "alice");
	test_assert_json_str(parts, "1.stats.of", "bob");
	test_assert_keys(json_array_get(parts, 2), "userId,userName,avatar,role,status,joinedAt,leftAt,isMuted,isVideoEnabled,isSharingScreen");
	json_decref(b);
	g_assert_cmpuint(FM.stats, ==, 3);
	teardown();
}

/* ---- Lists -------------------------------------------------------------------------------------------- */

static void test_active(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	reg_open(&HD, "dave");
	reg_open(&HX, "mallory");
	/* alice rings in three calls and starts a fourth */
	cid c1 = create(&HB, "alice", "AUDIO", NULL);
	test_env_advance(E, 10);
	cid c2 = create(&HC, "alice", "AUDIO", NULL);
	test_env_advance(E, 10);
	cid c3 = create(&HD, "alice", "VIDEO", NULL);
	test_env_advance(E, 10);
	cid c4 = create(&HA, "mallory", "VIDEO", NULL);
	json_t *b = sok(&HA, 200, "{'request': 'GET /calls/active', 'query': {'limit': 3}}");
	test_assert_keys(b, "calls,page,limit,total");
	g_assert_cmpint(json_integer_value(json_object_get(b, "page")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(b, "limit")), ==, 3);
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 4);
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 3);
	/* newest first */
	test_assert_json_str(b, "calls.0.id", c4.s);
	test_assert_json_str(b, "calls.1.id", c3.s);
	test_assert_json_str(b, "calls.2.id", c2.s);
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/active?page=2&limit=3'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "page")), ==, 2);
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 1);
	test_assert_json_str(b, "calls.0.id", c1.s);
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/active', 'query': {'page': 3, 'limit': 3}}");
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 0);
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 4);
	json_decref(b);
	/* defaults; another user sees only their own */
	b = sok(&HB, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "limit")), ==, 10);
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 1);
	test_assert_json_str(b, "calls.0.id", c1.s);
	json_decref(b);
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "query.limit", "{'request': 'GET /calls/active', 'query': {'limit': 101}}");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "query.page", "{'request': 'GET /calls/active', 'query': {'page': 0}}");
	/* the query string of the path and `query` together; a parameter given differently in both is refused */
	b = sok(&HA, 200, "{'request': 'GET /calls/active?page=2', 'query': {'limit': 3}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "page")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(b, "limit")), ==, 3);
	test_assert_json_str(b, "calls.0.id", c1.s);
	json_decref(b);
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "different values", "{'request': 'GET /calls/active?page=2', 'query': {'page': 1}}");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "bad percent-encoding", "{'request': 'GET /calls/active?page=%%2'}");

	/* only the calls the user is still in: not those declined, left, or busy for */
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}", c1.s));  /* declined */
	g_assert_null(calls_registry_find(R, c1.s));   /* c1 is over (bob called only alice) */
	b = sok(&HA, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 3);
	json_decref(b);
	b = sok(&HB, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 0);   /* bob's call ended DECLINED */
	json_decref(b);
	teardown();

	/* a group call: dave declines, carol leaves, erin is busy; alice and bob go on */
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	reg_open(&HD, "dave");
	reg_open(&HX, "erin");
	cid other = create(&HX, "frank", "AUDIO", NULL);   /* erin is joined there */
	cid g = create(&HA, "bob,carol,dave,erin", "VIDEO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", g.s));
	json_decref(sok(&HC, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", g.s));
	json_decref(sok(&HD, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}", g.s));
	json_decref(sok(&HC, 200, "{'request': 'POST /calls/%s/end'}", g.s));
	handle *const out[] = { &HC, &HD };
	for(guint i = 0; i < G_N_ELEMENTS(out); i++) {
		b = sok(out[i], 200, "{'request': 'GET /calls/active'}");
		g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 0);
		g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 0);
		json_decref(b);
	}
	b = sok(&HX, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 1);
	test_assert_json_str(b, "calls.0.id", other.s);
	json_decref(b);
	b = sok(&HB, 200, "{'request': 'GET /calls/active'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 1);
	test_assert_json_str(b, "calls.0.id", g.s);
	json_decref(b);
	json_decref(sok(&HX, 200, "{'request': 'POST /calls/%s/end'}", other.s));
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/end', 'body': {'forEveryone': true}}", g.s));
	teardown();
}

/* Someone no longer in a live call reads nothing of it until it is over. */
static void test_no_longer_in(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	reg_open(&HD, "dave");
	reg_open(&HX, "erin");
	json_decref(sok(&HB2, 200, "{'request': 'register', 'userId': 'bob', 'events': false}"));
	cid other = create(&HX, "frank", "AUDIO", NULL);   /* erin is joined there: busy for alice */
	test_env_clear(E);
	cid g = create(&HA, "bob,carol,dave,erin", "VIDEO", NULL);
	/* CALL_STARTED shows erin BUSY, like the route's answer */
	test_delivery *started = test_env_last(E, &HA, "CALL_STARTED");
	g_assert_nonnull(started);
	test_assert_json_str(started->event, "data.call.participants.4.userId", "erin");
	test_assert_json_str(started->event, "data.call.participants.4.status", "BUSY");
	test_assert_json_str(started->event, "data.call.participants.1.status", "RINGING");
	g_assert_nonnull(test_json_str(started->event, "data.call.participants.4.leftAt"));
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", g.s));
	json_decref(sok(&HC, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", g.s));
	json_decref(sok(&HD, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}", g.s));  /* declined */
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/end'}", g.s));                                  /* left */
	g_assert_nonnull(calls_registry_find(R, g.s));   /* alice and carol go on */

	const struct {
		handle *h;
		const char *status;
	} gone[] = { { &HB, "LEFT" }, { &HB2, "LEFT" }, { &HD, "DECLINED" }, { &HX, "BUSY" } };
	for(guint i = 0; i < G_N_ELEMENTS(gone); i++) {
		handle *h = gone[i].h;
		char *needle = g_strdup_printf("you are no longer in call %s (your status is %s)", g.s, gone[i].status);
		serr(h, CALLS_ERR_FORBIDDEN, needle, "{'request': 'GET /calls/%s'}", g.s);
		serr(h, CALLS_ERR_FORBIDDEN, needle, "{'request': 'GET /calls/%s/participants'}", g.s);
		serr(h, CALLS_ERR_FORBIDDEN, needle, "{'request': 'PATCH /calls/%s/media', 'body': {'isMuted': true}}", g.s);
		serr(h, CALLS_ERR_FORBIDDEN, needle,
			"{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['gina']}}", g.s);
		serr(h, CALLS_ERR_FORBIDDEN, needle,
			"{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s', 'substream': 0}}", g.s);
		aerr(h, "t-gone", NULL, CALLS_ERR_FORBIDDEN, needle,
			"{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '%s', 'isMuted': true}}", g.s);
		aerr(h, "t-gone", OFFER, CALLS_ERR_FORBIDDEN, needle, "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", g.s);
		aerr(h, "t-gone", NULL, CALLS_ERR_FORBIDDEN, needle, "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", g.s);
		aerr(h, "t-gone", ANSWER, CALLS_ERR_FORBIDDEN, needle, "{'event': 'WEBRTC_ANSWER', 'data': {'callId': '%s'}}", g.s);
		g_free(needle);
	}
	g_assert_cmpuint(FM.publish + FM.subscribe + FM.subscriber_answer + FM.configure + FM.stats, ==, 0);
	/* changing their own status stays INVALID_STATE, with the status */
	serr(&HD, CALLS_ERR_INVALID_STATE, "not ringing you (your status is DECLINED)",
		"{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", g.s);
	serr(&HB, CALLS_ERR_INVALID_STATE, "no longer in call", "{'request': 'POST /calls/%s/end'}", g.s);
	/* those still in read it, with the stats */
	json_t *b = sok(&HC, 200, "{'request': 'GET /calls/%s/participants'}", g.s);
	test_assert_json_str(b, "participants.2.stats.of", "carol");
	json_decref(b);
	json_decref(sok(&HA, 200, "{'request': 'GET /calls/%s'}", g.s));

	/* invited again, bob rings and reads it again; removed by the administrator, he is out again */
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/participants', 'body': {'participantIds': ['bob']}}", g.s));
	json_decref(sok(&HB, 200, "{'request': 'GET /calls/%s'}", g.s));
	json_decref(sok(&HB, 200, "{'request': 'GET /calls/active'}"));
	char *text = g_strdup_printf("{\"request\": \"remove_participant\", \"callId\": \"%s\", \"userId\": \"bob\"}", g.s);
	json_t *request = test_json(text);
	json_t *a = calls_router_admin(RT, request);
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, 200);
	json_decref(a);
	json_decref(request);
	g_free(text);
	g_assert_nonnull(calls_registry_find(R, g.s));
	serr(&HB, CALLS_ERR_FORBIDDEN, "no longer in call", "{'request': 'GET /calls/%s'}", g.s);
	serr(&HB, CALLS_ERR_FORBIDDEN, "no longer in call", "{'request': 'GET /calls/%s/participants'}", g.s);

	/* once over, every participant reads it from the history, as before */
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/end', 'body': {'forEveryone': true}}", g.s));
	g_assert_null(calls_registry_find(R, g.s));
	handle *const all[] = { &HA, &HB, &HC, &HD, &HX };
	for(guint i = 0; i < G_N_ELEMENTS(all); i++) {
		b = sok(all[i], 200, "{'request': 'GET /calls/%s'}", g.s);
		test_assert_json_str(b, "call.status", "ENDED");
		json_decref(b);
		b = sok(all[i], 200, "{'request': 'GET /calls/%s/participants'}", g.s);
		g_assert_cmpuint(json_array_size(json_object_get(b, "participants")), ==, 5);
		test_assert_json_str(b, "participants.4.status", "BUSY");
		json_decref(b);
	}
	json_decref(sok(&HX, 200, "{'request': 'POST /calls/%s/end'}", other.s));
	teardown();
}

static void test_history(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	/* five finished calls of alice, one of bob and carol only, one live */
	cid h[5];
	const char *types[] = { "AUDIO", "VIDEO", "AUDIO", "VIDEO", "AUDIO" };
	const char *chats[] = { "chat-1", "chat-2", "chat-1", NULL, "chat-1" };
	for(guint i = 0; i < 5; i++) {
		test_env_advance(E, 1000);
		h[i] = create(&HA, "bob", types[i], chats[i]);
		if(i % 2 == 0) {
			/* missed: cancelled */
			json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/end'}", h[i].s));
		} else {
			json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}", h[i].s));
		}
	}
	test_env_advance(E, 1000);
	cid other = create(&HB, "carol", "AUDIO", "chat-1");
	json_decref(sok(&HC, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': false}}", other.s));
	cid lv = create(&HA, "carol", "VIDEO", "chat-1");

	json_t *b = sok(&HA, 200, "{'request': 'GET /calls/history'}");
	test_assert_keys(b, "calls,page,limit,total");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 5);
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 5);
	/* newest first, the live call excluded */
	for(guint i = 0; i < 5; i++) {
		char *path = g_strdup_printf("calls.%u.id", i);
		test_assert_json_str(b, path, h[4 - i].s);
		g_free(path);
	}
	test_assert_keys(test_json_at(b, "calls.0"), "id,roomId,chatId,type,status,initiatorId,participants,startedAt,connectedAt,endedAt,duration,endedBy,endReason");
	json_decref(b);
	/* pages */
	b = sok(&HA, 200, "{'request': 'GET /calls/history', 'query': {'page': 2, 'limit': 2}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 5);
	g_assert_cmpint(json_integer_value(json_object_get(b, "page")), ==, 2);
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 2);
	test_assert_json_str(b, "calls.0.id", h[2].s);
	test_assert_json_str(b, "calls.1.id", h[1].s);
	json_decref(b);
	/* filters */
	b = sok(&HA, 200, "{'request': 'GET /calls/history', 'query': {'chatId': 'chat-1'}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 3);
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/history', 'query': {'type': 'VIDEO'}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 2);
	test_assert_json_str(b, "calls.0.id", h[3].s);
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/history', 'query': {'status': 'DECLINED'}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 2);
	test_assert_json_str(b, "calls.0.status", "DECLINED");
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/history?status=MISSED&type=AUDIO&chatId=chat-1'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 3);
	test_assert_json_str(b, "calls.0.endReason", "CANCELLED");
	json_decref(b);
	b = sok(&HA, 200, "{'request': 'GET /calls/history', 'query': {'status': 'BUSY'}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 0);
	g_assert_cmpuint(json_array_size(json_object_get(b, "calls")), ==, 0);
	json_decref(b);
	/* bob took part in all of alice's and his own */
	b = sok(&HB, 200, "{'request': 'GET /calls/history', 'query': {'limit': 100}}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 6);
	test_assert_json_str(b, "calls.0.id", other.s);
	json_decref(b);
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "finished calls only", "{'request': 'GET /calls/history', 'query': {'status': 'RINGING'}}");
	(void)lv;
	teardown();
}

static void test_online(void) {
	setup();
	reg_open(&HA, "alice");
	serr(&HA, CALLS_ERR_UNSUPPORTED, "presence = true", "{'request': 'GET /users/online'}");
	teardown();
	options o = { CALLS_AUTH_OPEN, NULL, NULL, TRUE };
	setup_with(&o);
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	json_t *b = sok(&HA, 200, "{'request': 'GET /users/online'}");
	test_assert_keys(b, "users");
	g_assert_cmpuint(json_array_size(json_object_get(b, "users")), ==, 2);
	test_assert_keys(test_json_at(b, "users.0"), "userId,userName,avatar,inCall");
	json_decref(b);
	/* a handle that goes away takes its user offline */
	calls_router_conn_gone(RT, HB.dev);
	HB.dev = NULL;
	calls_router_conn_gone(RT, NULL);
	b = sok(&HA, 200, "{'request': 'GET /users/online'}");
	g_assert_cmpuint(json_array_size(json_object_get(b, "users")), ==, 1);
	test_assert_json_str(b, "users.0.userId", "alice");
	g_assert_true(json_is_false(test_json_at(b, "users.0.inCall")));
	json_decref(b);
	teardown();
}

/* ---- Media ------------------------------------------------------------------------------------------ */

static void test_media_ops(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	json_decref(sok(&HB2, 200, "{'request': 'register', 'userId': 'bob', 'events': false}"));
	cid c = create(&HA, "bob", "VIDEO", NULL);
	/* only joined participants publish and subscribe */
	aerr(&HB, "t-pub", OFFER, CALLS_ERR_INVALID_STATE, "join call", "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HB2, "t-sub", NULL, CALLS_ERR_INVALID_STATE, "join call", "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.publish + FM.subscribe, ==, 0);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));

	/* WEBRTC_OFFER: the media layer's answer comes back as WEBRTC_ANSWER_RECEIVED + jsep on the transaction */
	aok(&HB, "t-pub", OFFER, "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s', 'targetUserId': 'alice'}}", c.s);
	g_assert_cmpuint(FM.publish, ==, 1);
	g_assert_true(FM.last_conn == &HB);
	g_assert_cmpstr(FM.last_sdp, ==, "v=0\r\nfake-offer\r\n");
	test_delivery *d = test_env_last(E, &HB, "WEBRTC_ANSWER_RECEIVED");
	g_assert_nonnull(d);
	g_assert_cmpstr(d->transaction, ==, "t-pub");
	test_assert_keys(json_object_get(d->event, "data"), "callId,fromUserId");
	test_assert_json_str(d->event, "data.callId", c.s);
	g_assert_true(json_is_null(test_json_at(d->event, "data.fromUserId")));
	g_assert_nonnull(d->jsep);
	test_assert_json_str(d->jsep, "type", "answer");
	test_assert_json_str(d->jsep, "sdp", "v=0\r\nfake-answer-from-server\r\n");
	/* the route does the same, answered by the same event */
	aok(&HB, "t-route", OFFER, "{'request': 'POST /calls/signaling/offer', 'body': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.publish, ==, 2);
	g_assert_nonnull(test_env_last(E, &HB, "WEBRTC_ANSWER_RECEIVED"));
	g_assert_cmpstr(test_env_last(E, &HB, "WEBRTC_ANSWER_RECEIVED")->transaction, ==, "t-route");
	/* a refused offer: the media layer's error as an ERROR event */
	FM.fail = TRUE;
	json_t *data = aerr(&HB, "t-bad", OFFER, CALLS_ERR_INVALID_REQUEST, "fake media refused the offer",
		"{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	test_assert_keys(data, "code,status,message,event,callId");
	test_assert_json_str(data, "event", "WEBRTC_OFFER");
	test_assert_json_str(data, "callId", c.s);
	FM.fail = FALSE;

	/* CALL_SUBSCRIBE: the subscriber handle, its transaction, restart */
	aok(&HB2, "t-sub", NULL, "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s', 'restart': true}}", c.s);
	g_assert_cmpuint(FM.subscribe, ==, 1);
	g_assert_true(FM.last_conn == &HB2);
	g_assert_cmpstr(FM.last_tx, ==, "t-sub");
	g_assert_true(FM.last_restart);
	aok(&HB2, "t-sub2", NULL, "{'request': 'POST /calls/signaling/subscribe', 'body': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.subscribe, ==, 2);
	g_assert_false(FM.last_restart);
	/* WEBRTC_ANSWER: the SDP reaches the media layer */
	aok(&HB2, "t-ans", ANSWER, "{'event': 'WEBRTC_ANSWER', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.subscriber_answer, ==, 1);
	g_assert_cmpstr(FM.last_sdp, ==, "v=0\r\nfake-answer-from-client\r\n");
	FM.fail = TRUE;
	aerr(&HB2, "t-ans", ANSWER, CALLS_ERR_INVALID_STATE, "no offer is pending",
		"{'request': 'POST /calls/signaling/answer', 'body': {'callId': '%s'}}", c.s);
	FM.fail = FALSE;
	/* SDP refusals are events too */
	aerr(&HB, "t-nojsep", NULL, CALLS_ERR_INVALID_REQUEST, "needs an SDP offer", "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HB, "t-inline", NULL, CALLS_ERR_INVALID_REQUEST, "\"jsep\"",
		"{'request': 'POST /calls/signaling/offer', 'body': {'callId': '%s', 'offer': 'v=0'}}", c.s);
	aerr(&HB, "t-ice", NULL, CALLS_ERR_UNSUPPORTED, "trickle", "{'event': 'WEBRTC_ICE_CANDIDATE', 'data': {'callId': '%s'}}", c.s);
	serr(&HB, CALLS_ERR_UNSUPPORTED, "trickle", "{'request': 'POST /calls/signaling/ice-candidate'}");

	/* configure: a synchronous answer */
	json_t *b = sok(&HB2, 200, "{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s', 'userId': 'alice', 'substream': 1}}", c.s);
	test_assert_keys(b, "callId,userId,substream,temporal");
	test_assert_json_str(b, "userId", "alice");
	g_assert_cmpint(json_integer_value(json_object_get(b, "substream")), ==, 1);
	g_assert_true(json_is_null(json_object_get(b, "temporal")));
	json_decref(b);
	g_assert_cmpuint(FM.configure, ==, 1);
	g_assert_cmpstr(FM.last_user, ==, "alice");
	g_assert_cmpint(FM.last_substream, ==, 1);
	g_assert_cmpint(FM.last_temporal, ==, CALLS_UNSET);
	serr(&HB2, CALLS_ERR_INVALID_REQUEST, "send substream (0-2) and/or temporal (0-2)",
		"{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s'}}", c.s);
	serr(&HB2, CALLS_ERR_INVALID_REQUEST, "\"mallory\" is not a participant",
		"{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s', 'userId': 'mallory', 'temporal': 0}}", c.s);
	g_assert_cmpuint(FM.configure, ==, 1);
	teardown();
}

static void test_no_media(void) {
	options o = { CALLS_AUTH_OPEN, NULL, NULL, FALSE };
	setup_with(&o);
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	cid c = create(&HA, "bob", "AUDIO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));
	aerr(&HB, "t1", OFFER, CALLS_ERR_UNSUPPORTED, "media is not enabled on this server: WEBRTC_OFFER",
		"{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aerr(&HB, "t2", NULL, CALLS_ERR_UNSUPPORTED, "media is not enabled",
		"{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	aerr(&HB, "t3", ANSWER, CALLS_ERR_UNSUPPORTED, "media is not enabled",
		"{'request': 'POST /calls/signaling/answer', 'body': {'callId': '%s'}}", c.s);
	serr(&HB, CALLS_ERR_UNSUPPORTED, "media is not enabled",
		"{'request': 'POST /calls/signaling/configure', 'body': {'callId': '%s', 'temporal': 0}}", c.s);
	/* without media there are no stats, the rest works */
	json_t *b = sok(&HB, 200, "{'request': 'GET /calls/%s/participants'}", c.s);
	g_assert_null(test_json_at(b, "participants.0.stats"));
	json_decref(b);
	teardown();

	/* a media layer that offers only some operations */
	calls_media_ops partial = { .subscribe = fm_subscribe };
	o.media = &partial;
	setup_with(&o);
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	c = create(&HA, "bob", "AUDIO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));
	aerr(&HB, "t1", OFFER, CALLS_ERR_UNSUPPORTED, "media is not enabled", "{'event': 'WEBRTC_OFFER', 'data': {'callId': '%s'}}", c.s);
	aok(&HB, "t2", NULL, "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '%s'}}", c.s);
	g_assert_cmpuint(FM.subscribe, ==, 1);
	teardown();
}

/* Without a store (history off), finished calls are simply gone. */
static void test_no_store(void) {
	setup();
	calls_router_free(RT);
	RT = calls_router_new(R, NULL, AUTH, &full_media, FALSE);
	E->store = NULL;
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	cid c = create(&HA, "bob", "AUDIO", NULL);
	json_decref(sok(&HA, 200, "{'request': 'POST /calls/%s/end'}", c.s));
	serr(&HA, CALLS_ERR_INTERNAL, "call history is not available", "{'request': 'GET /calls/history'}");
	serr(&HA, CALLS_ERR_CALL_NOT_FOUND, "there is no call", "{'request': 'GET /calls/%s'}", c.s);
	serr(&HB, CALLS_ERR_CALL_NOT_FOUND, "there is no live call", "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s);
	teardown();
}

/* ---- Answers to refused requests ------------------------------------------------------------------- */

static void test_error_shapes(void) {
	setup();
	reg_open(&HA, "alice");
	/* a refused event: ERROR with code, status, message, event and callId, on the transaction */
	json_t *data = aerr(&HA, "t-1", NULL, CALLS_ERR_INVALID_REQUEST, "data.forEveryone",
		"{'event': 'CALL_END', 'data': {'callId': '" NOCALL "', 'forEveryone': 'yes'}}");
	test_assert_keys(data, "code,status,message,event,callId");
	test_assert_json_str(data, "code", "INVALID_REQUEST");
	g_assert_cmpint(json_integer_value(json_object_get(data, "status")), ==, 400);
	test_assert_json_str(data, "event", "CALL_END");
	test_assert_json_str(data, "callId", NOCALL);
	/* no usable call id: no callId key */
	data = aerr(&HA, "t-2", NULL, CALLS_ERR_INVALID_REQUEST, "a UUID", "{'event': 'CALL_ANSWER', 'data': {'callId': 'x'}}");
	test_assert_keys(data, "code,status,message,event");
	data = aerr(&HA, "t-3", NULL, CALLS_ERR_INVALID_REQUEST, "unknown event", "{'event': 'CALL_RING', 'data': {}}");
	test_assert_json_str(data, "event", "CALL_RING");
	/* a transaction-less event still gets its ERROR */
	data = aerr(&HA, NULL, NULL, CALLS_ERR_LIMIT_EXCEEDED, "max_participants",
		"{'event': 'CALL_INITIATE', 'data': {'participantIds': ['a','b','c','d','e','f','g','h'], 'type': 'AUDIO'}}");
	/* a refused route: {status, error: {code, message}} */
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "unknown route", "{'request': 'GET /nowhere'}");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "must hold a call id", "{'request': 'GET /calls/123'}");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "must be a JSON object", "[1]");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "body.participantIds is missing", "{'request': 'POST /calls', 'body': {'type': 'AUDIO'}}");
	serr(&HA, CALLS_ERR_LIMIT_EXCEEDED, "at most 8 participants",
		"{'request': 'POST /calls', 'body': {'participantIds': ['a','b','c','d','e','f','g','h'], 'type': 'AUDIO'}}");
	serr(&HA, CALLS_ERR_INVALID_REQUEST, "lists you", "{'request': 'POST /calls', 'body': {'participantIds': ['alice'], 'type': 'AUDIO'}}");
	g_assert_cmpuint(calls_registry_live_count(R), ==, 0);
	teardown();
}

/* ---- The Admin API and query_session ------------------------------------------------------------------- */

static json_t *admin(const char *text) {
	json_t *request = j(text);
	json_t *a = calls_router_admin(RT, request);
	json_decref(request);
	test_env_assert_persisted(E, R);
	return a;
}

static json_t *admin_ok(const char *text) {
	json_t *a = admin(text);
	if(json_object_get(a, "error") != NULL)
		g_error("%s refused: %s", text, test_json_str(a, "error.message"));
	test_assert_keys(a, "status,body");
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, 200);
	json_t *b = json_incref(json_object_get(a, "body"));
	json_decref(a);
	return b;
}

static void admin_err(const char *text, calls_error_code code, const char *needle) {
	before b = take(&HX);
	json_t *a = admin(text);
	test_assert_keys(a, "status,error");
	test_assert_json_str(a, "error.code", calls_error_code_name(code));
	g_assert_cmpint(json_integer_value(json_object_get(a, "status")), ==, calls_error_http_status(code));
	check_message(test_json_str(a, "error.message"), needle);
	unchanged(&b, &HX);
	json_decref(a);
}

static void test_admin(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	reg_open(&HC, "carol");
	reg_open(&HD, "dave");
	cid c1 = create(&HA, "bob,carol", "VIDEO", NULL);
	test_env_advance(E, 5);
	cid c2 = create(&HD, "carol", "AUDIO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c1.s));

	json_t *b = admin_ok("{'request': 'list_calls'}");
	test_assert_keys(b, "calls,total");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 2);
	test_assert_json_str(b, "calls.0.id", c2.s);
	test_assert_json_str(b, "calls.1.id", c1.s);
	json_decref(b);

	char *text = g_strdup_printf("{'request': 'get_call', 'callId': '%s'}", c1.s);
	b = admin_ok(text);
	g_free(text);
	test_assert_keys(b, "call");
	test_assert_json_str(b, "call.status", "CONNECTING");
	/* with the media layer's per-participant stats */
	test_assert_json_str(b, "call.participants.0.stats.of", "alice");
	test_assert_json_str(b, "call.participants.1.stats.of", "bob");
	g_assert_null(test_json_at(b, "call.participants.2.stats"));
	json_decref(b);

	/* remove a participant */
	text = g_strdup_printf("{'request': 'remove_participant', 'callId': '%s', 'userId': 'carol'}", c1.s);
	b = admin_ok(text);
	g_free(text);
	test_assert_json_str(b, "call.participants.2.status", "MISSED");
	test_assert_json_str(b, "call.status", "CONNECTING");
	json_decref(b);
	g_assert_cmpstr(test_json_str(test_env_last(E, &HC, "CALL_PARTICIPANT_LEFT")->event, "data.message"), ==,
		"removed by the server administrator");
	text = g_strdup_printf("{'request': 'remove_participant', 'callId': '%s', 'userId': 'carol'}", c1.s);
	admin_err(text, CALLS_ERR_INVALID_STATE, "\"carol\" is not in call");
	g_free(text);
	text = g_strdup_printf("{'request': 'remove_participant', 'callId': '%s'}", c1.s);
	admin_err(text, CALLS_ERR_INVALID_REQUEST, "remove_participant needs \"userId\"");
	g_free(text);

	/* end a call: ADMIN, and everybody hears it */
	text = g_strdup_printf("{'request': 'end_call', 'callId': '%s'}", c1.s);
	b = admin_ok(text);
	test_assert_json_str(b, "call.status", "ENDED");
	test_assert_json_str(b, "call.endReason", "ADMIN");
	g_assert_true(json_is_null(test_json_at(b, "call.endedBy")));
	json_decref(b);
	g_assert_cmpstr(test_json_str(test_env_last(E, &HB, "CALL_ENDED")->event, "data.reason"), ==, "ADMIN");
	g_assert_cmpstr(status_of(c1.s), ==, "ENDED");
	/* it is gone from the live calls */
	admin_err(text, CALLS_ERR_CALL_NOT_FOUND, "there is no live call");
	g_free(text);
	b = admin_ok("{'request': 'list_calls'}");
	g_assert_cmpint(json_integer_value(json_object_get(b, "total")), ==, 1);
	json_decref(b);

	/* bad requests */
	admin_err("{}", CALLS_ERR_INVALID_REQUEST, "list_calls");
	admin_err("{'request': 5}", CALLS_ERR_INVALID_REQUEST, "\"request\"");
	admin_err("{'request': 'drop_tables'}", CALLS_ERR_INVALID_REQUEST, "unknown admin request \"drop_tables\"");
	admin_err("{'request': 'get_call'}", CALLS_ERR_INVALID_REQUEST, "get_call needs \"callId\"");
	admin_err("{'request': 'end_call', 'callId': 7}", CALLS_ERR_INVALID_REQUEST, "end_call needs \"callId\"");
	admin_err("{'request': 'get_call', 'callId': '" NOCALL "'}", CALLS_ERR_CALL_NOT_FOUND, NOCALL);
	admin_err("[]", CALLS_ERR_INVALID_REQUEST, "list_calls");

	/* query_session */
	json_t *d = calls_router_describe(RT, HC.dev);
	test_assert_keys(d, "registered,user,deviceId,events,calls");
	g_assert_true(json_is_true(json_object_get(d, "registered")));
	test_assert_json_str(d, "user.userId", "carol");
	g_assert_cmpint(json_integer_value(json_object_get(d, "deviceId")), ==, (json_int_t)HC.dev->id);
	g_assert_true(json_is_true(json_object_get(d, "events")));
	g_assert_cmpuint(json_array_size(json_object_get(d, "calls")), ==, 1);
	test_assert_keys(test_json_at(d, "calls.0"), "callId,status,participantStatus,onThisHandle");
	test_assert_json_str(d, "calls.0.callId", c2.s);
	test_assert_json_str(d, "calls.0.status", "RINGING");
	test_assert_json_str(d, "calls.0.participantStatus", "RINGING");
	g_assert_true(json_is_false(test_json_at(d, "calls.0.onThisHandle")));
	json_decref(d);
	d = calls_router_describe(RT, HD.dev);
	test_assert_json_str(d, "calls.0.participantStatus", "JOINED");
	g_assert_true(json_is_true(test_json_at(d, "calls.0.onThisHandle")));
	json_decref(d);
	teardown();
}

/* ---- A handle that goes away ------------------------------------------------------------------------------ */

static void test_conn_gone(void) {
	setup();
	reg_open(&HA, "alice");
	reg_open(&HB, "bob");
	cid c = create(&HA, "bob", "AUDIO", NULL);
	json_decref(sok(&HB, 200, "{'request': 'POST /calls/%s/answer', 'body': {'accept': true}}", c.s));
	calls_router_conn_gone(RT, HB.dev);
	HB.dev = NULL;
	test_env_assert_persisted(E, R);
	/* bob is kept through the reconnect grace, then LEFT (DISCONNECTED) */
	test_env_advance(E, 4999);
	g_assert_cmpstr(status_of(c.s), ==, "CONNECTING");
	test_env_advance(E, 1);
	g_assert_cmpstr(status_of(c.s), ==, "FAILED");
	test_assert_json_str(test_env_saved(E, c.s), "endReason", "DISCONNECTED");
	g_assert_cmpstr(test_json_str(test_env_last(E, &HA, "CALL_PARTICIPANT_LEFT")->event, "data.reason"), ==, "DISCONNECTED");
	/* the stored copy says the same */
	json_t *stored = call_of(c.s);
	test_assert_json_str(stored, "status", "FAILED");
	test_assert_json_str(stored, "participants.1.status", "LEFT");
	json_decref(stored);
	teardown();
}

int main(int argc, char *argv[]) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/router/unregistered", test_unregistered);
	g_test_add_func("/router/register/open", test_register_open);
	g_test_add_func("/router/register/jwt", test_register_jwt);
	g_test_add_func("/router/register/claims", test_register_claims);
	g_test_add_func("/router/register/open-mode-with-key", test_open_mode_with_key);
	g_test_add_func("/router/token-expiry", test_token_expiry);
	g_test_add_func("/router/call-lookup", test_call_lookup);
	g_test_add_func("/router/create-answer-end", test_create_answer_end);
	g_test_add_func("/router/participants-and-media", test_participants_and_media);
	g_test_add_func("/router/lists/active", test_active);
	g_test_add_func("/router/no-longer-in", test_no_longer_in);
	g_test_add_func("/router/lists/history", test_history);
	g_test_add_func("/router/users-online", test_online);
	g_test_add_func("/router/media", test_media_ops);
	g_test_add_func("/router/media-not-enabled", test_no_media);
	g_test_add_func("/router/no-store", test_no_store);
	g_test_add_func("/router/error-shapes", test_error_shapes);
	g_test_add_func("/router/admin-and-describe", test_admin);
	g_test_add_func("/router/conn-gone", test_conn_gone);
	return g_test_run();
}
