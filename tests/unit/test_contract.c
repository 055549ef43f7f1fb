/* janus.plugin.calls - unit tests of the contract codec (plugin/contract.c).
 *
 * Incoming: every request, route and event of docs/api.md §5-6 parses to the
 * right operation with the right fields, and every refusal of the field
 * tables comes with the right code and a message that says how to send the
 * request right. Outgoing: the builders write exactly the contract's field
 * names (checked key by key), timestamps in ISO-8601 UTC with milliseconds,
 * null for what is unset.
 *
 * Test bodies are written with single quotes for readability; j() turns them
 * into JSON.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include "contract.h"
#include "auth.h"
#include "testutil.h"

#define CID "0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e42"
#define OFFER "{'type': 'offer', 'sdp': 'v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n'}"
#define ANSWER "{'type': 'answer', 'sdp': 'v=0\\r\\no=- 2 2 IN IP4 0.0.0.0\\r\\n'}"

/* ---- Helpers -------------------------------------------------------------------- */

/* JSON written with single quotes. New reference (NULL for NULL). */
static json_t *j(const char *text) {
	if(text == NULL)
		return NULL;
	char *s = g_strdup(text);
	for(char *p = s; *p; p++) {
		if(*p == '\'')
			*p = '"';
	}
	json_error_t error;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if(v == NULL)
		g_error("bad JSON in test (%s): %s", error.text, s);
	g_free(s);
	return v;
}

static calls_request req;
static calls_error err;

static gboolean parse(const char *body, const char *jsep) {
	json_t *b = j(body), *js = j(jsep);
	memset(&err, 0, sizeof(err));
	gboolean ok = calls_request_parse(b, js, &req, &err);
	if(b != NULL)
		json_decref(b);
	if(js != NULL)
		json_decref(js);
	return ok;
}

/* Parse must succeed; the caller inspects `req`, then calls done(). */
static void ok(const char *body, const char *jsep) {
	if(!parse(body, jsep))
		g_error("refused (%s): %s\n  body: %s", calls_error_code_name(err.code), err.message, body);
	g_assert_cmpint(err.code, ==, CALLS_ERR_NONE);
}

static void done(void) {
	calls_request_clear(&req);
}

/* Every "|"-separated part of `needles` must be in the message. */
static void assert_message(const char *needles) {
	gchar **parts = g_strsplit(needles, "|", -1);
	for(guint i = 0; parts[i] != NULL; i++) {
		if(strstr(err.message, parts[i]) == NULL)
			g_error("message \"%s\" lacks \"%s\"", err.message, parts[i]);
	}
	g_strfreev(parts);
}

/* Parse must fail with `code` and a message holding `needles`; `req` stays
 * readable (name, via, call id) until done(). */
static void refused_keep(const char *body, const char *jsep, calls_error_code code, const char *needles) {
	if(parse(body, jsep))
		g_error("accepted but should be refused with %s: %s", calls_error_code_name(code), body);
	if(err.code != code)
		g_error("refused with %s (%s) instead of %s: %s", calls_error_code_name(err.code), err.message,
			calls_error_code_name(code), body);
	assert_message(needles);
}

static void refused(const char *body, const char *jsep, calls_error_code code, const char *needles) {
	refused_keep(body, jsep, code, needles);
	done();
}

static gint64 usec_of(const char *iso) {
	GDateTime *t = g_date_time_new_from_iso8601(iso, NULL);
	g_assert_nonnull(t);
	gint64 usec = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
	g_date_time_unref(t);
	return usec;
}

/* A JSON array text of `n` distinct valid user ids. g_free() it. */
static char *id_list(guint n) {
	GString *s = g_string_new("[");
	for(guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s'user-%u'", i ? ", " : "", i);
	g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

/* ---- Register ------------------------------------------------------------------------ */

static void test_register(void) {
	ok("{'request': 'register', 'userId': 'alice', 'userName': 'Alice A.', 'avatar': 'https://x.example/a.png'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_REGISTER);
	g_assert_cmpint(req.via, ==, CALLS_VIA_REQUEST);
	g_assert_false(req.async);
	g_assert_cmpstr(req.name, ==, "register");
	g_assert_cmpstr(req.user_id, ==, "alice");
	g_assert_cmpstr(req.user_name, ==, "Alice A.");
	g_assert_cmpstr(req.avatar, ==, "https://x.example/a.png");
	g_assert_null(req.token);
	done();

	ok("{'request': 'register', 'token': 'aaa.bbb.ccc'}", NULL);
	g_assert_cmpstr(req.token, ==, "aaa.bbb.ccc");
	g_assert_null(req.user_id);
	g_assert_null(req.user_name);
	done();

	/* names may be null; "events": false is for the router to read */
	ok("{'request': 'register', 'userId': 'u-1@example.org', 'userName': null, 'avatar': null, 'events': false}", NULL);
	g_assert_cmpstr(req.user_id, ==, "u-1@example.org");
	g_assert_null(req.user_name);
	g_assert_false(json_is_true(json_object_get(req.root, "events")));
	done();

	refused("{'request': 'register'}", NULL, CALLS_ERR_INVALID_REQUEST, "\"token\"|\"userId\"|open mode");
	refused("{'request': 'register', 'token': null}", NULL, CALLS_ERR_INVALID_REQUEST, "\"token\"");
	refused("{'request': 'register', 'userId': null}", NULL, CALLS_ERR_INVALID_REQUEST, "register.userId must not be null");
	refused("{'request': 'register', 'userId': 7}", NULL, CALLS_ERR_INVALID_REQUEST, "register.userId|not an integer");
	refused("{'request': 'register', 'userId': 'al ice'}", NULL, CALLS_ERR_INVALID_REQUEST,
		"register.userId must be 1 to 64 visible ASCII characters without spaces");
	refused("{'request': 'register', 'userId': ''}", NULL, CALLS_ERR_INVALID_REQUEST, "register.userId");
	refused("{'request': 'register', 'userId': 'a\\u0000b'}", NULL, CALLS_ERR_INVALID_REQUEST, "register.userId");
	refused("{'request': 'register', 'userId': 'z\\u00e9'}", NULL, CALLS_ERR_INVALID_REQUEST, "visible ASCII");
	refused("{'request': 'register', 'token': 42}", NULL, CALLS_ERR_INVALID_REQUEST, "register.token must be a JWT|not an integer");
	refused("{'request': 'register', 'userId': 'a', 'userName': ['A']}", NULL, CALLS_ERR_INVALID_REQUEST,
		"register.userName must be a display name, not an array");
	refused("{'request': 'register', 'userId': 'alice'}", OFFER, CALLS_ERR_INVALID_REQUEST, "register carries no SDP");

	/* longest accepted, one byte more refused */
	char *id64 = g_strnfill(64, 'u'), *id65 = g_strnfill(65, 'u');
	char *body = g_strdup_printf("{'request': 'register', 'userId': '%s'}", id64);
	ok(body, NULL);
	g_assert_cmpuint(strlen(req.user_id), ==, 64);
	done();
	g_free(body);
	body = g_strdup_printf("{'request': 'register', 'userId': '%s'}", id65);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "1 to 64");
	g_free(body);
	g_free(id64);
	g_free(id65);

	char *name = g_strnfill(CALLS_USER_NAME_MAX + 1, 'n');
	body = g_strdup_printf("{'request': 'register', 'userId': 'a', 'userName': '%s'}", name);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "register.userName is 257 bytes long; at most 256");
	g_free(body);
	g_free(name);
	char *avatar = g_strnfill(CALLS_AVATAR_MAX + 1, 'a');
	body = g_strdup_printf("{'request': 'register', 'userId': 'a', 'avatar': '%s'}", avatar);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "register.avatar is 2049 bytes long; at most 2048");
	g_free(body);
	g_free(avatar);
	char *token = g_strnfill(CALLS_TOKEN_MAX + 1, 't');
	body = g_strdup_printf("{'request': 'register', 'token': '%s'}", token);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "register.token is 16385 bytes long; at most 16384");
	g_free(body);
	g_free(token);
}

/* ---- The envelope ------------------------------------------------------------------------ */

static void test_envelope_refusals(void) {
	json_t *arr = json_array();
	memset(&err, 0, sizeof(err));
	g_assert_false(calls_request_parse(arr, NULL, &req, &err));
	g_assert_cmpint(err.code, ==, CALLS_ERR_INVALID_REQUEST);
	assert_message("must be a JSON object");
	done();
	json_decref(arr);
	memset(&err, 0, sizeof(err));
	g_assert_false(calls_request_parse(NULL, NULL, &req, &err));
	assert_message("must be a JSON object");
	done();

	refused("{}", NULL, CALLS_ERR_INVALID_REQUEST, "\"request\"|\"register\"|\"POST /calls\"|\"event\"");
	refused("{'request': 5}", NULL, CALLS_ERR_INVALID_REQUEST, "\"request\"");
	refused("{'request': 'register', 'event': 'CALL_ANSWER'}", NULL, CALLS_ERR_INVALID_REQUEST, "not both");
	refused("{'event': ['CALL_ANSWER']}", NULL, CALLS_ERR_INVALID_REQUEST, "event must be a string such as \"CALL_INITIATE\"");
	refused("{'request': 'hello'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown request \"hello\"|\"register\"|POST /calls/:callId/answer");
	refused("{'request': 'POST calls'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown request");
	refused("{'request': ' /calls'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown request");
	refused("{'request': 'GET /nowhere'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown route \"GET /nowhere\"|GET /calls/history");
	refused("{'request': 'GET /calls/active/more'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown route");
	refused("{'request': 'GET /calls/signaling'}", NULL, CALLS_ERR_INVALID_REQUEST, "unknown route");
	/* a known path with the wrong method */
	refused("{'request': 'DELETE /calls'}", NULL, CALLS_ERR_INVALID_REQUEST, "DELETE is not allowed on /calls|POST /calls");
	refused("{'request': 'GET /calls/" CID "/answer'}", NULL, CALLS_ERR_INVALID_REQUEST, "GET is not allowed on /calls/" CID "/answer");
	refused("{'request': 'POST /calls/active'}", NULL, CALLS_ERR_INVALID_REQUEST, "POST is not allowed on /calls/active");
	refused("{'request': 'PUT /users/online'}", NULL, CALLS_ERR_INVALID_REQUEST, "PUT is not allowed");
	refused("{'request': 'post /calls'}", NULL, CALLS_ERR_INVALID_REQUEST, "post is not allowed");
	/* unknown event: the message lists the events */
	refused_keep("{'event': 'CALL_RING', 'data': {'callId': '" CID "'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"unknown event \"CALL_RING\"|CALL_INITIATE|CALL_ANSWER|CALL_DECLINE|CALL_END|WEBRTC_OFFER");
	g_assert_cmpint(req.via, ==, CALLS_VIA_EVENT);
	g_assert_true(req.async);
	g_assert_cmpstr(req.name, ==, "CALL_RING");
	g_assert_cmpstr(req.call_id, ==, CID);
	done();
	/* the event envelope */
	refused("{'event': 'CALL_ANSWER'}", NULL, CALLS_ERR_INVALID_REQUEST, "CALL_ANSWER needs a \"data\" object");
	refused("{'event': 'CALL_ANSWER', 'data': null}", NULL, CALLS_ERR_INVALID_REQUEST, "needs a \"data\" object");
	refused("{'event': 'CALL_ANSWER', 'data': ['" CID "']}", NULL, CALLS_ERR_INVALID_REQUEST, "data must be an object, not an array");
	refused("{'event': 'CALL_ANSWER', 'data': 'x'}", NULL, CALLS_ERR_INVALID_REQUEST, "data must be an object, not a string");
	refused("{'event': 'CALL_ANSWER', 'timestamp': 1764410400, 'data': {'callId': '" CID "'}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "timestamp must be an ISO-8601 string such as \"2025-11-29T10:00:00.000Z\"");
	ok("{'event': 'CALL_ANSWER', 'timestamp': '2025-11-29T10:00:00.000Z', 'data': {'callId': '" CID "'}}", NULL);
	done();
	ok("{'event': 'CALL_ANSWER', 'timestamp': null, 'data': {'callId': '" CID "'}}", NULL);
	done();
	/* route envelope */
	refused("{'request': 'GET /calls/active', 'query': [1]}", NULL, CALLS_ERR_INVALID_REQUEST, "query must be an object, not an array");
	refused("{'request': 'POST /calls', 'body': 'x'}", NULL, CALLS_ERR_INVALID_REQUEST, "body must be an object, not a string");
	refused("{'request': 'POST /calls'}", NULL, CALLS_ERR_INVALID_REQUEST, "body.participantIds is missing");
	refused("{'request': 'GET /calls/" CID "', 'body': {'x': 1}}", NULL, CALLS_ERR_INVALID_REQUEST, "GET /calls/:callId takes no body");
	refused("{'request': 'GET /users/online', 'body': [1]}", NULL, CALLS_ERR_INVALID_REQUEST, "takes no body");
	ok("{'request': 'GET /calls/" CID "', 'body': {}}", NULL);
	done();
	ok("{'request': 'GET /calls/" CID "', 'body': null}", NULL);
	done();
}

/* ---- Routes (§5) ------------------------------------------------------------------------- */

static void test_routes(void) {
	ok("{'request': 'POST /calls', 'body': {'participantIds': ['bob', 'carol'], 'type': 'VIDEO', 'chatId': 'chat-1'}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_CREATE);
	g_assert_cmpint(req.via, ==, CALLS_VIA_ROUTE);
	g_assert_false(req.async);
	g_assert_cmpstr(req.name, ==, "POST /calls");
	g_assert_cmpuint(req.n_participant_ids, ==, 2);
	g_assert_cmpstr(req.participant_ids[0], ==, "bob");
	g_assert_cmpstr(req.participant_ids[1], ==, "carol");
	g_assert_cmpint(req.type, ==, CALLS_TYPE_VIDEO);
	g_assert_cmpstr(req.chat_id, ==, "chat-1");
	g_assert_cmpstr(req.call_id, ==, "");
	done();
	ok("{'request': 'POST /calls', 'body': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': null}}", NULL);
	g_assert_cmpint(req.type, ==, CALLS_TYPE_AUDIO);
	g_assert_null(req.chat_id);
	done();
	ok("{'request': 'POST /calls/', 'body': {'participantIds': ['bob'], 'type': 'AUDIO'}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_CREATE);
	done();

	ok("{'request': 'POST /calls/" CID "/answer', 'body': {'accept': true}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_ANSWER);
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpstr(req.name, ==, "POST /calls/:callId/answer");
	g_assert_true(req.accept);
	done();
	ok("{'request': 'POST /calls/" CID "/answer', 'body': {'accept': false, 'reason': 'in a meeting'}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_DECLINE);
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpstr(req.reason, ==, "in a meeting");
	done();

	ok("{'request': 'POST /calls/" CID "/end', 'body': {'forEveryone': true}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_END);
	g_assert_true(req.for_everyone);
	g_assert_cmpstr(req.call_id, ==, CID);
	done();
	ok("{'request': 'POST /calls/" CID "/end'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_END);
	g_assert_false(req.for_everyone);
	done();

	ok("{'request': 'GET /calls/" CID "'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_GET);
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpstr(req.name, ==, "GET /calls/:callId");
	done();

	ok("{'request': 'GET /calls/active'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_ACTIVE);
	g_assert_cmpint(req.page, ==, 1);
	g_assert_cmpint(req.limit, ==, 10);
	done();
	ok("{'request': 'GET /calls/active', 'query': {'page': 3, 'limit': 100}}", NULL);
	g_assert_cmpint(req.page, ==, 3);
	g_assert_cmpint(req.limit, ==, 100);
	done();

	ok("{'request': 'GET /calls/history', 'query': {'chatId': 'chat-9', 'type': 'VIDEO', 'status': 'MISSED', 'page': '2', 'limit': '5'}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_HISTORY);
	g_assert_cmpstr(req.filter_chat_id, ==, "chat-9");
	g_assert_cmpint(req.filter_type, ==, CALLS_TYPE_VIDEO);
	g_assert_cmpint(req.filter_status, ==, CALLS_STATUS_MISSED);
	g_assert_cmpint(req.page, ==, 2);
	g_assert_cmpint(req.limit, ==, 5);
	done();
	ok("{'request': 'GET /calls/history'}", NULL);
	g_assert_null(req.filter_chat_id);
	g_assert_cmpint(req.filter_type, ==, CALLS_UNSET);
	g_assert_cmpint(req.filter_status, ==, CALLS_UNSET);
	g_assert_cmpint(req.page, ==, 1);
	g_assert_cmpint(req.limit, ==, 10);
	done();
	/* each final status is a valid filter */
	static const char *const finals[] = { "ENDED", "MISSED", "DECLINED", "FAILED", "BUSY" };
	for(guint i = 0; i < G_N_ELEMENTS(finals); i++) {
		char *body = g_strdup_printf("{'request': 'GET /calls/history', 'query': {'status': '%s'}}", finals[i]);
		ok(body, NULL);
		g_assert_cmpstr(calls_call_status_name(req.filter_status), ==, finals[i]);
		done();
		g_free(body);
	}

	ok("{'request': 'POST /calls/" CID "/participants', 'body': {'participantIds': ['dave']}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_ADD_PARTICIPANTS);
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpuint(req.n_participant_ids, ==, 1);
	g_assert_cmpstr(req.participant_ids[0], ==, "dave");
	done();

	ok("{'request': 'PATCH /calls/" CID "/media', 'body': {'isMuted': true, 'isVideoEnabled': false}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_MEDIA);
	g_assert_cmpint(req.is_muted, ==, 1);
	g_assert_cmpint(req.is_video_enabled, ==, 0);
	g_assert_cmpint(req.is_sharing_screen, ==, CALLS_UNSET);
	done();
	ok("{'request': 'PATCH /calls/" CID "/media', 'body': {'isSharingScreen': true, 'isMuted': null}}", NULL);
	g_assert_cmpint(req.is_muted, ==, CALLS_UNSET);
	g_assert_cmpint(req.is_sharing_screen, ==, 1);
	done();

	ok("{'request': 'GET /calls/" CID "/participants'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_PARTICIPANTS);
	g_assert_cmpstr(req.call_id, ==, CID);
	done();

	ok("{'request': 'POST /calls/signaling/offer', 'body': {'callId': '" CID "', 'targetUserId': 'bob'}}", OFFER);
	g_assert_cmpint(req.op, ==, CALLS_OP_PUBLISH);
	g_assert_true(req.async);
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpstr(req.target_user_id, ==, "bob");
	g_assert_cmpstr(req.sdp_type, ==, "offer");
	g_assert_true(g_str_has_prefix(req.sdp, "v=0\r\n"));
	g_assert_true(req.jsep != NULL);
	done();

	ok("{'request': 'POST /calls/signaling/answer', 'body': {'callId': '" CID "'}}", ANSWER);
	g_assert_cmpint(req.op, ==, CALLS_OP_SUBSCRIBER_ANSWER);
	g_assert_true(req.async);
	g_assert_cmpstr(req.sdp_type, ==, "answer");
	g_assert_null(req.target_user_id);
	done();

	ok("{'request': 'POST /calls/signaling/subscribe', 'body': {'callId': '" CID "', 'restart': true}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_SUBSCRIBE);
	g_assert_true(req.async);
	g_assert_true(req.restart);
	done();

	ok("{'request': 'POST /calls/signaling/configure', 'body': {'callId': '" CID "', 'userId': 'bob', 'substream': 0, 'temporal': 2}}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_CONFIGURE);
	g_assert_false(req.async);
	g_assert_cmpstr(req.target_user_id, ==, "bob");
	g_assert_cmpint(req.max_layer, ==, 0);
	g_assert_cmpint(req.max_temporal, ==, 2);
	done();
	ok("{'request': 'POST /calls/signaling/configure', 'body': {'callId': '" CID "', 'substream': 1}}", NULL);
	g_assert_null(req.target_user_id);
	g_assert_cmpint(req.max_layer, ==, 1);
	g_assert_cmpint(req.max_temporal, ==, CALLS_UNSET);
	done();

	ok("{'request': 'GET /users/online'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_USERS_ONLINE);
	done();

	refused("{'request': 'POST /calls/signaling/ice-candidate', 'body': {'candidate': 'candidate:1 1 udp 1 1.2.3.4 5 typ host'}}",
		NULL, CALLS_ERR_UNSUPPORTED, "trickle");
	refused("{'request': 'POST /calls/signaling/ice-candidate'}", NULL, CALLS_ERR_UNSUPPORTED,
		"ICE candidates go in Janus \"trickle\" requests");
}

/* A query string written in the path becomes the query, as an HTTP server reads it. */
static void test_route_query_in_path(void) {
	ok("{'request': 'GET /calls/history?page=2&limit=5&status=MISSED&type=AUDIO&chatId=chat%201'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_HISTORY);
	g_assert_cmpint(req.page, ==, 2);
	g_assert_cmpint(req.limit, ==, 5);
	g_assert_cmpint(req.filter_status, ==, CALLS_STATUS_MISSED);
	g_assert_cmpint(req.filter_type, ==, CALLS_TYPE_AUDIO);
	g_assert_cmpstr(req.filter_chat_id, ==, "chat 1");
	g_assert_cmpstr(req.name, ==, "GET /calls/history");
	done();
	ok("{'request': 'GET /calls/active?limit=3&&page=4&'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_ACTIVE);
	g_assert_cmpint(req.page, ==, 4);
	g_assert_cmpint(req.limit, ==, 3);
	done();
	ok("{'request': 'GET /calls/active?'}", NULL);
	g_assert_cmpint(req.page, ==, 1);
	done();
	refused("{'request': 'GET /calls/active?limit=101'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.limit|1 to 100");
	refused("{'request': 'GET /calls/history?status=RINGING'}", NULL, CALLS_ERR_INVALID_REQUEST,
		"query.status|ENDED, MISSED, DECLINED, FAILED, BUSY|finished calls only");
	refused("{'request': 'GET /calls/history?page=abc'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.page must be a page number from 1");
	refused("{'request': 'GET /calls/history?type=FAX'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.type must be \"AUDIO\" or \"VIDEO\"");
	/* a route with a call id and a query string */
	ok("{'request': 'GET /calls/" CID "/participants?x=1'}", NULL);
	g_assert_cmpint(req.op, ==, CALLS_OP_PARTICIPANTS);
	g_assert_cmpstr(req.call_id, ==, CID);
	done();

	/* '+' is a space, %2B a plus; a name without '=' has the value "" */
	ok("{'request': 'GET /calls/history?chatId=chat+1%2B2&type=VIDEO'}", NULL);
	g_assert_cmpstr(req.filter_chat_id, ==, "chat 1+2");
	done();
	refused("{'request': 'GET /calls/history?page'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.page must be a page number from 1");
	/* the values of the path are judged as those of `query` */
	refused("{'request': 'GET /calls/active?limit=0'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.limit|1 to 100");
	refused("{'request': 'GET /calls/active', 'query': {'limit': 0}}", NULL, CALLS_ERR_INVALID_REQUEST, "query.limit|1 to 100");
	refused("{'request': 'GET /calls/history?chatId=a%01b'}", NULL, CALLS_ERR_INVALID_REQUEST, "query.chatId");
	refused("{'request': 'GET /calls/history', 'query': {'chatId': 'a\\u0001b'}}", NULL, CALLS_ERR_INVALID_REQUEST, "query.chatId");
	/* bad percent-encoding, in a value or a name, is refused */
	static const char *const bad[] = { "chatId=%zz", "chatId=%4", "chatId=abc%", "chatId=%00", "chatId=%ff%fe",
		"page=1&%G1=2", "chatId=%C3%28" };
	for(guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *body = g_strdup_printf("{'request': 'GET /calls/history?%s'}", bad[i]);
		refused_keep(body, NULL, CALLS_ERR_INVALID_REQUEST, "query string in the path is not valid|bad percent-encoding");
		g_assert_cmpint(req.op, ==, CALLS_OP_HISTORY);   /* the route is still named */
		done();
		g_free(body);
	}
	refused("{'request': 'GET /calls/history?=5'}", NULL, CALLS_ERR_INVALID_REQUEST, "without a name");
	refused("{'request': 'GET /calls/history?page=1&page=2'}", NULL, CALLS_ERR_INVALID_REQUEST, "page twice|\"1\"|\"2\"");
	ok("{'request': 'GET /calls/history?page=2&page=2'}", NULL);
	g_assert_cmpint(req.page, ==, 2);
	done();
	GString *many = g_string_new("{'request': 'GET /calls/history?");
	for(int i = 0; i < 33; i++)
		g_string_append_printf(many, "k%d=1&", i);
	g_string_append(many, "'}");
	refused(many->str, NULL, CALLS_ERR_INVALID_REQUEST, "at most 32");
	g_string_free(many, TRUE);
	/* a query string in the path and a `query` object: merged */
	ok("{'request': 'GET /calls/history?page=2&type=VIDEO', 'query': {'limit': 5, 'status': 'MISSED'}}", NULL);
	g_assert_cmpint(req.page, ==, 2);
	g_assert_cmpint(req.limit, ==, 5);
	g_assert_cmpint(req.filter_type, ==, CALLS_TYPE_VIDEO);
	g_assert_cmpint(req.filter_status, ==, CALLS_STATUS_MISSED);
	done();
	/* ... a parameter in both places with the same value is fine (2 and "2" are the same number) */
	ok("{'request': 'GET /calls/history?page=2&type=VIDEO', 'query': {'page': 2, 'type': 'VIDEO', 'limit': '5'}}", NULL);
	g_assert_cmpint(req.page, ==, 2);
	g_assert_cmpint(req.limit, ==, 5);
	done();
	ok("{'request': 'GET /calls/active?page=3', 'query': null}", NULL);
	g_assert_cmpint(req.page, ==, 3);
	done();
	/* ... with different values it is refused, naming both */
	refused("{'request': 'GET /calls/history?page=2', 'query': {'page': 3}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"query parameter page|in the path (\"2\")|(3)|different values");
	refused("{'request': 'GET /calls/history?type=AUDIO', 'query': {'type': 'VIDEO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"query parameter type|\"AUDIO\"|\"VIDEO\"");
	refused("{'request': 'GET /calls/history?type=AUDIO', 'query': {'type': 'audio'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"different values");
	/* ... and a `query` that is no object is refused as without a path query */
	refused("{'request': 'GET /calls/history?page=2', 'query': [1]}", NULL, CALLS_ERR_INVALID_REQUEST, "query must be an object");
}

static void test_route_call_ids(void) {
	refused_keep("{'request': 'POST /calls/not-a-uuid/answer', 'body': {'accept': true}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"the path of POST /calls/:callId/answer must hold a call id (a UUID)");
	g_assert_cmpstr(req.name, ==, "POST /calls/:callId/answer");
	g_assert_cmpstr(req.call_id, ==, "");
	done();
	refused("{'request': 'GET /calls/12345'}", NULL, CALLS_ERR_INVALID_REQUEST, "must hold a call id");
	refused("{'request': 'GET /calls/0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e4'}", NULL, CALLS_ERR_INVALID_REQUEST, "must hold a call id");
	refused("{'request': 'GET /calls/0b7e5f3c+8a6e-4c1e-9a77-6c2d8a1f0e42'}", NULL, CALLS_ERR_INVALID_REQUEST, "must hold a call id");
	refused("{'request': 'GET /calls/0b7e5f3c-8a6e-4c1e-9a77-6c2d8a1f0e4g'}", NULL, CALLS_ERR_INVALID_REQUEST, "must hold a call id");
	/* upper-case hex digits are a UUID too */
	ok("{'request': 'GET /calls/0B7E5F3C-8A6E-4C1E-9A77-6C2D8A1F0E42'}", NULL);
	g_assert_cmpstr(req.call_id, ==, "0B7E5F3C-8A6E-4C1E-9A77-6C2D8A1F0E42");
	done();
	/* a refused route keeps its name and call id for the answer */
	refused_keep("{'request': 'POST /calls/" CID "/end', 'body': {'forEveryone': 1}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"body.forEveryone must be true (initiator only) to end the call for all, not an integer");
	g_assert_cmpstr(req.name, ==, "POST /calls/:callId/end");
	g_assert_cmpstr(req.call_id, ==, CID);
	g_assert_cmpint(req.op, ==, CALLS_OP_END);
	done();
}

/* ---- Events (§6) -------------------------------------------------------------------- */

static void test_events(void) {
	static const struct {
		const char *body;
		const char *jsep;
		calls_op op;
	} cases[] = {
		{ "{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO'}}", NULL, CALLS_OP_CREATE },
		{ "{'event': 'CALL_ANSWER', 'data': {'callId': '" CID "'}}", NULL, CALLS_OP_ANSWER },
		{ "{'event': 'CALL_DECLINE', 'data': {'callId': '" CID "'}}", NULL, CALLS_OP_DECLINE },
		{ "{'event': 'CALL_END', 'data': {'callId': '" CID "'}}", NULL, CALLS_OP_END },
		{ "{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '" CID "', 'isMuted': true}}", NULL, CALLS_OP_MEDIA },
		{ "{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", OFFER, CALLS_OP_PUBLISH },
		{ "{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '" CID "'}}", NULL, CALLS_OP_SUBSCRIBE },
		{ "{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "'}}", ANSWER, CALLS_OP_SUBSCRIBER_ANSWER },
		{ "{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'temporal': 1}}", NULL, CALLS_OP_CONFIGURE },
	};
	for(guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		ok(cases[i].body, cases[i].jsep);
		g_assert_cmpint(req.op, ==, cases[i].op);
		g_assert_cmpint(req.via, ==, CALLS_VIA_EVENT);
		g_assert_true(req.async);
		g_assert_cmpstr(req.name, ==, json_string_value(json_object_get(req.root, "event")));
		if(cases[i].op != CALLS_OP_CREATE)
			g_assert_cmpstr(req.call_id, ==, CID);
		done();
	}

	ok("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob', 'carol', 'dave'], 'type': 'VIDEO', 'chatId': 'c-1'}}", NULL);
	g_assert_cmpuint(req.n_participant_ids, ==, 3);
	g_assert_cmpstr(req.participant_ids[2], ==, "dave");
	g_assert_cmpint(req.type, ==, CALLS_TYPE_VIDEO);
	g_assert_cmpstr(req.chat_id, ==, "c-1");
	g_assert_cmpstr(req.call_id, ==, "");
	done();
	ok("{'event': 'CALL_DECLINE', 'data': {'callId': '" CID "', 'reason': 'driving'}}", NULL);
	g_assert_cmpstr(req.reason, ==, "driving");
	done();
	ok("{'event': 'CALL_END', 'data': {'callId': '" CID "', 'forEveryone': true}}", NULL);
	g_assert_true(req.for_everyone);
	done();
	ok("{'event': 'CALL_END', 'data': {'callId': '" CID "', 'forEveryone': null}}", NULL);
	g_assert_false(req.for_everyone);
	done();
	ok("{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '" CID "', 'isVideoEnabled': false, 'isSharingScreen': true}}", NULL);
	g_assert_cmpint(req.is_muted, ==, CALLS_UNSET);
	g_assert_cmpint(req.is_video_enabled, ==, 0);
	g_assert_cmpint(req.is_sharing_screen, ==, 1);
	done();
	ok("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "', 'targetUserId': 'carol'}}", OFFER);
	g_assert_cmpstr(req.target_user_id, ==, "carol");
	g_assert_cmpstr(req.sdp_type, ==, "offer");
	g_assert_nonnull(strstr(req.sdp, "o=- 1 1"));
	done();
	ok("{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "'}}", ANSWER);
	g_assert_cmpstr(req.sdp_type, ==, "answer");
	g_assert_nonnull(strstr(req.sdp, "o=- 2 2"));
	done();
	ok("{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '" CID "'}}", NULL);
	g_assert_false(req.restart);
	done();
	ok("{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'userId': 'bob', 'substream': 2}}", NULL);
	g_assert_cmpstr(req.target_user_id, ==, "bob");
	g_assert_cmpint(req.max_layer, ==, 2);
	g_assert_cmpint(req.max_temporal, ==, CALLS_UNSET);
	done();

	/* WEBRTC_ICE_CANDIDATE: candidates travel in Janus trickle requests */
	refused_keep("{'event': 'WEBRTC_ICE_CANDIDATE', 'data': {'callId': '" CID "', 'candidate': {}}}", NULL,
		CALLS_ERR_UNSUPPORTED, "WEBRTC_ICE_CANDIDATE is not used|Janus \"trickle\"");
	g_assert_cmpint(req.op, ==, CALLS_OP_ICE);
	g_assert_cmpstr(req.call_id, ==, CID);
	done();
	refused("{'event': 'WEBRTC_ICE_CANDIDATE'}", NULL, CALLS_ERR_UNSUPPORTED, "trickle");
}

/* ---- Field refusals ---------------------------------------------------------------- */

static void test_missing_wrong_null(void) {
	refused("{'event': 'CALL_INITIATE', 'data': {'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds is missing: send a non-empty array of user ids, e.g. [\"bob\"]");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': null, 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds is missing");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob']}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.type is missing: send \"AUDIO\" or \"VIDEO\"");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'video'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.type must be \"AUDIO\" or \"VIDEO\"");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 1}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.type must be \"AUDIO\" or \"VIDEO\"");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': 'bob', 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds must be a non-empty array of user ids|not a string");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': [], 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds is empty");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob', 7], 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds[1] must be a user id|got an integer");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob', null], 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds[1] must be a user id|got null");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['b o b'], 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds[0] must be a user id: 1 to 64 visible ASCII characters");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bo\\u0000b'], 'type': 'AUDIO'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.participantIds[0]");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob', 'carol', 'bob'], 'type': 'AUDIO'}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.participantIds lists \"bob\" twice: list each user once");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': ''}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.chatId must be a chat id string, or null");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': 'a\\nb'}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.chatId|control characters");
	refused("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': 5}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.chatId must be a chat id string, or null, not an integer");

	refused("{'event': 'CALL_ANSWER', 'data': {}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.callId is missing: send the callId of CALL_INCOMING or CALL_STARTED");
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': null}}", NULL, CALLS_ERR_INVALID_REQUEST, "data.callId is missing");
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': 12}}", NULL, CALLS_ERR_INVALID_REQUEST, "data.callId|not an integer");
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': 'call-1'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.callId must be a call id (a UUID such as");
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': '" CID "x'}}", NULL, CALLS_ERR_INVALID_REQUEST, "a UUID");
	refused("{'event': 'CALL_DECLINE', 'data': {'callId': '" CID "', 'reason': 3}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.reason must be a short text shown to the caller, not an integer");
	refused("{'event': 'CALL_END', 'data': {'callId': '" CID "', 'forEveryone': 'yes'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.forEveryone must be true (initiator only) to end the call for all, not a string");
	refused("{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '" CID "', 'isMuted': 'true'}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.isMuted must be true or false, not a string");
	refused("{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '" CID "', 'isVideoEnabled': 0}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.isVideoEnabled must be true or false, not an integer");
	refused("{'event': 'CALL_PARTICIPANT_MEDIA_UPDATE', 'data': {'callId': '" CID "', 'isSharingScreen': {}}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.isSharingScreen must be true or false, not an object");
	refused("{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '" CID "', 'restart': 'yes'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.restart must be true to restart ICE with the next offer, not a string");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "', 'targetUserId': 'b b'}}", OFFER, CALLS_ERR_INVALID_REQUEST,
		"data.targetUserId must be 1 to 64 visible ASCII");
	refused("{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'substream': 3}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.substream must be the highest simulcast layer|an integer from 0 to 2");
	refused("{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'temporal': -1}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.temporal|from 0 to 2");
	refused("{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'temporal': 1.5}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.temporal");
	refused("{'event': 'CALL_SUBSCRIBER_CONFIGURE', 'data': {'callId': '" CID "', 'userId': ''}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"data.userId must be 1 to 64");
	/* route bodies use "body." in their messages */
	refused("{'request': 'POST /calls/" CID "/answer', 'body': {}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"body.accept is missing: send true to answer, false to decline");
	refused("{'request': 'POST /calls/" CID "/answer'}", NULL, CALLS_ERR_INVALID_REQUEST, "body.accept is missing");
	refused("{'request': 'POST /calls/" CID "/answer', 'body': {'accept': 'true'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"body.accept must be true to answer, false to decline, not a string");
	refused("{'request': 'PATCH /calls/" CID "/media', 'body': {'isMuted': 1}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"body.isMuted must be true or false");
	refused("{'request': 'POST /calls/signaling/offer', 'body': {}}", OFFER, CALLS_ERR_INVALID_REQUEST, "body.callId is missing");
}

static void test_lengths_and_lists(void) {
	/* chatId: 128 bytes at most */
	char *chat = g_strnfill(128, 'c');
	char *body = g_strdup_printf("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': '%s'}}", chat);
	ok(body, NULL);
	g_assert_cmpuint(strlen(req.chat_id), ==, 128);
	done();
	g_free(body);
	g_free(chat);
	chat = g_strnfill(129, 'c');
	body = g_strdup_printf("{'event': 'CALL_INITIATE', 'data': {'participantIds': ['bob'], 'type': 'AUDIO', 'chatId': '%s'}}", chat);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "data.chatId is 129 bytes long; at most 128 are accepted");
	g_free(body);
	g_free(chat);
	/* the history filter too */
	chat = g_strnfill(129, 'c');
	body = g_strdup_printf("{'request': 'GET /calls/history', 'query': {'chatId': '%s'}}", chat);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "query.chatId is 129 bytes long");
	g_free(body);
	g_free(chat);
	/* decline reason: 512 bytes */
	char *reason = g_strnfill(513, 'r');
	body = g_strdup_printf("{'event': 'CALL_DECLINE', 'data': {'callId': '" CID "', 'reason': '%s'}}", reason);
	refused(body, NULL, CALLS_ERR_INVALID_REQUEST, "data.reason is 513 bytes long; at most 512");
	g_free(body);
	g_free(reason);

	/* participantIds: CALLS_MAX_LIST at most, more is LIMIT_EXCEEDED */
	char *list = id_list(CALLS_MAX_LIST);
	body = g_strdup_printf("{'event': 'CALL_INITIATE', 'data': {'participantIds': %s, 'type': 'AUDIO'}}", list);
	ok(body, NULL);
	g_assert_cmpuint(req.n_participant_ids, ==, CALLS_MAX_LIST);
	g_assert_cmpstr(req.participant_ids[CALLS_MAX_LIST - 1], ==, "user-255");
	done();
	g_free(body);
	g_free(list);
	list = id_list(CALLS_MAX_LIST + 1);
	body = g_strdup_printf("{'event': 'CALL_INITIATE', 'data': {'participantIds': %s, 'type': 'AUDIO'}}", list);
	refused(body, NULL, CALLS_ERR_LIMIT_EXCEEDED, "data.participantIds lists 257 users|max_participants");
	g_free(body);
	body = g_strdup_printf("{'request': 'POST /calls/" CID "/participants', 'body': {'participantIds': %s}}", list);
	refused(body, NULL, CALLS_ERR_LIMIT_EXCEEDED, "body.participantIds lists 257 users");
	g_free(body);
	g_free(list);
	refused("{'request': 'POST /calls/" CID "/participants', 'body': {'participantIds': ['x', 'x']}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "lists \"x\" twice");
}

static void test_pages(void) {
	static const struct {
		const char *query;
		gboolean good;
		int page, limit;
		const char *needles;
	} cases[] = {
		{ "{'page': 1, 'limit': 1}", TRUE, 1, 1, NULL },
		{ "{'page': 1000000, 'limit': 100}", TRUE, 1000000, 100, NULL },
		{ "{'page': '7', 'limit': '20'}", TRUE, 7, 20, NULL },
		{ "{'page': null, 'limit': null}", TRUE, 1, 10, NULL },
		{ "{'page': 0}", FALSE, 0, 0, "query.page must be a page number from 1 (an integer from 1 to 1000000)" },
		{ "{'page': -3}", FALSE, 0, 0, "query.page" },
		{ "{'page': 1000001}", FALSE, 0, 0, "query.page" },
		{ "{'page': '1e3'}", FALSE, 0, 0, "query.page" },
		{ "{'page': ''}", FALSE, 0, 0, "query.page" },
		{ "{'page': 2.0}", FALSE, 0, 0, "query.page" },
		{ "{'page': true}", FALSE, 0, 0, "query.page" },
		{ "{'page': '99999999999999999999'}", FALSE, 0, 0, "query.page" },
		{ "{'limit': 0}", FALSE, 0, 0, "query.limit must be a page size from 1 to 100 (an integer from 1 to 100)" },
		{ "{'limit': 101}", FALSE, 0, 0, "query.limit" },
		{ "{'limit': '100 '}", FALSE, 0, 0, "query.limit" },
		{ "{'limit': 9223372036854775807}", FALSE, 0, 0, "query.limit" },
	};
	static const char *const routes[] = { "GET /calls/active", "GET /calls/history" };
	for(guint r = 0; r < G_N_ELEMENTS(routes); r++) {
		for(guint i = 0; i < G_N_ELEMENTS(cases); i++) {
			char *body = g_strdup_printf("{'request': '%s', 'query': %s}", routes[r], cases[i].query);
			if(cases[i].good) {
				ok(body, NULL);
				g_assert_cmpint(req.page, ==, cases[i].page);
				g_assert_cmpint(req.limit, ==, cases[i].limit);
				done();
			} else {
				refused(body, NULL, CALLS_ERR_INVALID_REQUEST, cases[i].needles);
			}
			g_free(body);
		}
	}
	/* history filters */
	refused("{'request': 'GET /calls/history', 'query': {'status': 'RINGING'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"query.status must be one of the final statuses ENDED, MISSED, DECLINED, FAILED, BUSY: history holds finished calls only");
	refused("{'request': 'GET /calls/history', 'query': {'status': 'CONNECTED'}}", NULL, CALLS_ERR_INVALID_REQUEST, "finished calls only");
	refused("{'request': 'GET /calls/history', 'query': {'status': 'CONNECTING'}}", NULL, CALLS_ERR_INVALID_REQUEST, "finished calls only");
	refused("{'request': 'GET /calls/history', 'query': {'status': 'ended'}}", NULL, CALLS_ERR_INVALID_REQUEST, "query.status");
	refused("{'request': 'GET /calls/history', 'query': {'status': 3}}", NULL, CALLS_ERR_INVALID_REQUEST, "query.status");
	refused("{'request': 'GET /calls/history', 'query': {'type': 'SCREEN'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"query.type must be \"AUDIO\" or \"VIDEO\"");
	refused("{'request': 'GET /calls/history', 'query': {'chatId': ''}}", NULL, CALLS_ERR_INVALID_REQUEST, "query.chatId");
}

/* ---- SDP: only in jsep, only where it belongs ------------------------------------------- */

static void test_sdp_placement(void) {
	/* SDP inside data or body is refused with a pointer at jsep */
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "', 'offer': {'type': 'offer', 'sdp': 'v=0'}}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.offer is not read: SDP travels in the Janus \"jsep\" field");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "', 'sdp': 'v=0'}}", OFFER,
		CALLS_ERR_INVALID_REQUEST, "data.sdp is not read|\"jsep\"");
	refused("{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "', 'answer': {'type': 'answer', 'sdp': 'v=0'}}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.answer is not read|\"jsep\"");
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': '" CID "', 'jsep': {'type': 'answer', 'sdp': 'v=0'}}}", NULL,
		CALLS_ERR_INVALID_REQUEST, "data.jsep is not read|\"jsep\" field of the message");
	refused("{'request': 'POST /calls/signaling/offer', 'body': {'callId': '" CID "', 'offer': 'v=0'}}", OFFER,
		CALLS_ERR_INVALID_REQUEST, "body.offer is not read|never inside body");
	refused("{'request': 'POST /calls/signaling/answer', 'body': {'callId': '" CID "', 'sdp': 'v=0'}}", ANSWER,
		CALLS_ERR_INVALID_REQUEST, "body.sdp is not read|\"jsep\"");
	refused("{'event': 'CALL_END', 'data': {'callId': '" CID "', 'candidate': 'candidate:1'}}", NULL,
		CALLS_ERR_UNSUPPORTED, "ICE candidates are not sent inside data|\"trickle\"");

	/* a jsep on a request that takes none */
	refused("{'event': 'CALL_ANSWER', 'data': {'callId': '" CID "'}}", ANSWER, CALLS_ERR_INVALID_REQUEST,
		"CALL_ANSWER carries no SDP: send it without a jsep|WEBRTC_OFFER");
	refused("{'event': 'CALL_SUBSCRIBE', 'data': {'callId': '" CID "'}}", OFFER, CALLS_ERR_INVALID_REQUEST, "CALL_SUBSCRIBE carries no SDP");
	refused("{'request': 'POST /calls', 'body': {'participantIds': ['bob'], 'type': 'AUDIO'}}", OFFER, CALLS_ERR_INVALID_REQUEST,
		"POST /calls carries no SDP");
	refused("{'request': 'GET /calls/active'}", OFFER, CALLS_ERR_INVALID_REQUEST, "GET /calls/active carries no SDP");
	/* a JSON null jsep is no jsep */
	ok("{'event': 'CALL_ANSWER', 'data': {'callId': '" CID "'}}", "null");
	done();

	/* a jsep missing or wrong where one is needed */
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"WEBRTC_OFFER needs an SDP offer in the Janus \"jsep\" field: {\"type\": \"offer\", \"sdp\": \"v=0...\"}");
	refused("{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"WEBRTC_ANSWER needs an SDP answer in the Janus \"jsep\" field");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", "{'type': 'offer'}", CALLS_ERR_INVALID_REQUEST,
		"needs an SDP offer");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", "{'sdp': 'v=0'}", CALLS_ERR_INVALID_REQUEST,
		"needs an SDP offer");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", "'v=0'", CALLS_ERR_INVALID_REQUEST, "needs an SDP offer");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", "{'type': 'offer', 'sdp': 5}", CALLS_ERR_INVALID_REQUEST,
		"needs an SDP offer");
	refused("{'event': 'WEBRTC_OFFER', 'data': {'callId': '" CID "'}}", ANSWER, CALLS_ERR_INVALID_REQUEST,
		"WEBRTC_OFFER needs a jsep of type \"offer\", not \"answer\"");
	refused("{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "'}}", OFFER, CALLS_ERR_INVALID_REQUEST,
		"WEBRTC_ANSWER needs a jsep of type \"answer\", not \"offer\"");
	refused("{'event': 'WEBRTC_ANSWER', 'data': {'callId': '" CID "'}}", "{'type': 'pranswer', 'sdp': 'v=0'}",
		CALLS_ERR_INVALID_REQUEST, "not \"pranswer\"");
	refused("{'request': 'POST /calls/signaling/offer', 'body': {'callId': '" CID "'}}", NULL, CALLS_ERR_INVALID_REQUEST,
		"POST /calls/signaling/offer needs an SDP offer");
	refused("{'request': 'POST /calls/signaling/answer', 'body': {'callId': '" CID "'}}", OFFER, CALLS_ERR_INVALID_REQUEST,
		"needs a jsep of type \"answer\", not \"offer\"");
}

/* ---- Errors ---------------------------------------------------------------------------- */

static void test_error_codes(void) {
	static const struct {
		calls_error_code code;
		const char *name;
		int status;
	} codes[] = {
		{ CALLS_ERR_INVALID_REQUEST, "INVALID_REQUEST", 400 },
		{ CALLS_ERR_UNSUPPORTED, "UNSUPPORTED", 400 },
		{ CALLS_ERR_UNAUTHORIZED, "UNAUTHORIZED", 401 },
		{ CALLS_ERR_FORBIDDEN, "FORBIDDEN", 403 },
		{ CALLS_ERR_CALL_NOT_FOUND, "CALL_NOT_FOUND", 404 },
		{ CALLS_ERR_INVALID_STATE, "INVALID_STATE", 409 },
		{ CALLS_ERR_USER_BUSY, "USER_BUSY", 409 },
		{ CALLS_ERR_LIMIT_EXCEEDED, "LIMIT_EXCEEDED", 429 },
		{ CALLS_ERR_INTERNAL, "INTERNAL", 500 },
	};
	for(guint i = 0; i < G_N_ELEMENTS(codes); i++) {
		g_assert_cmpstr(calls_error_code_name(codes[i].code), ==, codes[i].name);
		g_assert_cmpint(calls_error_http_status(codes[i].code), ==, codes[i].status);

		calls_error e = { 0 };
		calls_error_set(&e, codes[i].code, "what went wrong: %s %d", "case", (int)i);
		json_t *reply = calls_reply_error(&e);
		test_assert_keys(reply, "status,error");
		g_assert_cmpint(json_integer_value(json_object_get(reply, "status")), ==, codes[i].status);
		test_assert_keys(json_object_get(reply, "error"), "code,message");
		test_assert_json_str(reply, "error.code", codes[i].name);
		g_assert_true(g_str_has_prefix(test_json_str(reply, "error.message"), "what went wrong: case"));
		json_decref(reply);

		json_t *ev = calls_event_error(&e, "CALL_ANSWER", CID, usec_of("2025-11-29T10:00:00.042Z"));
		test_assert_keys(ev, "event,timestamp,data");
		test_assert_json_str(ev, "event", "ERROR");
		test_assert_json_str(ev, "timestamp", "2025-11-29T10:00:00.042Z");
		test_assert_keys(json_object_get(ev, "data"), "code,status,message,event,callId");
		test_assert_json_str(ev, "data.code", codes[i].name);
		g_assert_cmpint(json_integer_value(test_json_at(ev, "data.status")), ==, codes[i].status);
		g_assert_true(g_str_has_prefix(test_json_str(ev, "data.message"), "what went wrong"));
		test_assert_json_str(ev, "data.event", "CALL_ANSWER");
		test_assert_json_str(ev, "data.callId", CID);
		json_decref(ev);
	}
	/* no call id: the key is left out; no event name: null */
	calls_error e = { 0 };
	calls_error_set(&e, CALLS_ERR_INVALID_REQUEST, "x");
	json_t *ev = calls_event_error(&e, "CALL_INITIATE", "", 1000);
	test_assert_keys(json_object_get(ev, "data"), "code,status,message,event");
	json_decref(ev);
	ev = calls_event_error(&e, NULL, NULL, 1000);
	test_assert_keys(json_object_get(ev, "data"), "code,status,message,event");
	g_assert_true(json_is_null(test_json_at(ev, "data.event")));
	json_decref(ev);
	/* long messages are cut, not overflowed */
	char *huge = g_strnfill(4000, 'm');
	calls_error_set(&e, CALLS_ERR_INTERNAL, "%s", huge);
	g_assert_cmpuint(strlen(e.message), ==, sizeof(e.message) - 1);
	g_free(huge);
	/* a NULL error is ignored */
	calls_error_set(NULL, CALLS_ERR_INTERNAL, "ignored");
}

/* Names and messages are cut to their buffers on a character boundary: a split
 * UTF-8 character would make jansson drop the key from the ERROR event. */
static void test_utf8_truncation(void) {
	static const char *const prefixes[] = { "CALL", "CALLX" };
	for(guint i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		GString *name = g_string_new(prefixes[i]);
		for(int k = 0; k < 40; k++)
			g_string_append(name, "\xc3\xa9");
		char *body = g_strdup_printf("{'event': '%s', 'data': {}}", name->str);
		refused_keep(body, NULL, CALLS_ERR_INVALID_REQUEST, "unknown event");
		g_assert_true(g_utf8_validate(req.name, -1, NULL));
		g_assert_true(g_str_has_prefix(name->str, req.name));
		g_assert_cmpuint(strlen(req.name), >=, 62);
		g_assert_true(g_utf8_validate(err.message, -1, NULL));
		json_t *ev = calls_event_error(&err, req.name, req.call_id, 1000);
		test_assert_keys(json_object_get(ev, "data"), "code,status,message,event");
		g_assert_true(g_str_has_prefix(test_json_str(ev, "data.message"), "unknown event \"CALL"));
		json_decref(ev);
		done();
		g_free(body);
		/* the same as a route */
		body = g_strdup_printf("{'request': 'GET /%s'}", name->str);
		refused_keep(body, NULL, CALLS_ERR_INVALID_REQUEST, "unknown route");
		g_assert_true(g_utf8_validate(req.name, -1, NULL));
		g_assert_true(g_utf8_validate(err.message, -1, NULL));
		json_t *reply = calls_reply_error(&err);
		test_assert_keys(json_object_get(reply, "error"), "code,message");
		json_decref(reply);
		done();
		g_free(body);
		g_string_free(name, TRUE);
	}
	/* a message longer than its buffer */
	calls_error e = { 0 };
	GString *big = g_string_new("x");
	for(int k = 0; k < 400; k++)
		g_string_append(big, "\xe2\x82\xac");
	calls_error_set(&e, CALLS_ERR_INVALID_REQUEST, "%s", big->str);
	g_assert_true(g_utf8_validate(e.message, -1, NULL));
	g_assert_cmpuint(strlen(e.message), >=, sizeof(e.message) - 4);
	g_string_free(big, TRUE);
}

/* ---- Names, times, ids ------------------------------------------------------------------- */

static void test_names(void) {
	static const char *const statuses[] = { "RINGING", "CONNECTING", "CONNECTED", "ENDED", "MISSED", "DECLINED", "FAILED", "BUSY" };
	G_STATIC_ASSERT(G_N_ELEMENTS(statuses) == CALLS_STATUS_COUNT);
	for(int s = 0; s < CALLS_STATUS_COUNT; s++) {
		g_assert_cmpstr(calls_call_status_name(s), ==, statuses[s]);
		calls_call_status back;
		g_assert_true(calls_call_status_parse(statuses[s], &back));
		g_assert_cmpint(back, ==, s);
		g_assert_true(calls_status_is_final(s) == (s >= CALLS_STATUS_ENDED));
	}
	calls_call_status st;
	g_assert_false(calls_call_status_parse("ringing", &st));
	g_assert_false(calls_call_status_parse(NULL, &st));
	static const char *const pstatuses[] = { "RINGING", "JOINED", "DECLINED", "MISSED", "BUSY", "LEFT", "FAILED" };
	G_STATIC_ASSERT(G_N_ELEMENTS(pstatuses) == CALLS_PSTATUS_COUNT);
	for(int s = 0; s < CALLS_PSTATUS_COUNT; s++)
		g_assert_cmpstr(calls_participant_status_name(s), ==, pstatuses[s]);
	static const char *const lefts[] = { "LEFT", "DECLINED", "MISSED", "BUSY", "FAILED", "DISCONNECTED" };
	for(int r = CALLS_LEFT_LEFT; r <= CALLS_LEFT_DISCONNECTED; r++)
		g_assert_cmpstr(calls_left_reason_name(r), ==, lefts[r]);
	static const char *const ends[] = { NULL, "HANGUP", "ENDED_FOR_EVERYONE", "CANCELLED", "RING_TIMEOUT", "DECLINED",
		"BUSY", "CONNECT_TIMEOUT", "DISCONNECTED", "ADMIN", "SERVER_RESTART" };
	for(int r = CALLS_END_NONE; r <= CALLS_END_SERVER_RESTART; r++)
		g_assert_cmpstr(calls_end_reason_name(r), ==, ends[r]);
	g_assert_cmpstr(calls_role_name(CALLS_ROLE_INITIATOR), ==, "INITIATOR");
	g_assert_cmpstr(calls_role_name(CALLS_ROLE_PARTICIPANT), ==, "PARTICIPANT");
	g_assert_cmpstr(calls_call_type_name(CALLS_TYPE_AUDIO), ==, "AUDIO");
	g_assert_cmpstr(calls_call_type_name(CALLS_TYPE_VIDEO), ==, "VIDEO");
	calls_call_type t;
	g_assert_true(calls_call_type_parse("VIDEO", &t));
	g_assert_cmpint(t, ==, CALLS_TYPE_VIDEO);
	g_assert_false(calls_call_type_parse("Video", &t));
	g_assert_false(calls_call_type_parse(NULL, &t));
}

static void test_times_and_ids(void) {
	char buf[32];
	calls_time_format(0, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "1970-01-01T00:00:00.000Z");
	calls_time_format(usec_of("2025-11-29T10:00:00Z"), buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "2025-11-29T10:00:00.000Z");
	/* milliseconds are cut, not rounded */
	calls_time_format(usec_of("2025-11-29T23:59:59.999999Z"), buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "2025-11-29T23:59:59.999Z");
	calls_time_format(usec_of("2024-02-29T01:02:03.004Z"), buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "2024-02-29T01:02:03.004Z");
	/* always UTC, whatever the local zone */
	calls_time_format(usec_of("2025-06-01T12:00:00.500+02:00"), buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "2025-06-01T10:00:00.500Z");
	calls_time_format(-5, buf, sizeof(buf));
	g_assert_cmpstr(buf, ==, "1970-01-01T00:00:00.000Z");
	json_t *t = calls_json_time(0);
	g_assert_true(json_is_null(t));
	json_decref(t);
	t = calls_json_time(usec_of("2025-11-29T10:00:00.123Z"));
	g_assert_cmpstr(json_string_value(t), ==, "2025-11-29T10:00:00.123Z");
	json_decref(t);

	char a[CALLS_UUID_LEN + 1], b[CALLS_UUID_LEN + 1];
	calls_uuid_new(a);
	calls_uuid_new(b);
	g_assert_cmpstr(a, !=, b);
	g_assert_cmpuint(strlen(a), ==, CALLS_UUID_LEN);
	g_assert_true(g_uuid_string_is_valid(a));
	g_assert_cmpint(a[14], ==, '4');
	/* a generated id is accepted where a call id goes */
	char *body = g_strdup_printf("{'request': 'GET /calls/%s'}", a);
	ok(body, NULL);
	g_assert_cmpstr(req.call_id, ==, a);
	done();
	g_free(body);
}

/* ---- Outgoing JSON (§4, §7) ------------------------------------------------------------------ */

#define CALL_KEYS "id,roomId,chatId,type,status,initiatorId,participants,startedAt,connectedAt,endedAt,duration,endedBy,endReason"
#define PARTICIPANT_KEYS "userId,userName,avatar,role,status,joinedAt,leftAt,isMuted,isVideoEnabled,isSharingScreen"

typedef struct sample {
	calls_call call;
	calls_participant *alice, *bob, *carol;
} sample;

static calls_participant *add_participant(calls_call *call, const char *id, const char *name, const char *avatar,
		calls_role role, calls_participant_status status) {
	calls_participant *p = g_new0(calls_participant, 1);
	p->call = call;
	p->user_id = g_strdup(id);
	p->user_name = g_strdup(name);
	p->avatar = g_strdup(avatar);
	p->role = role;
	p->status = status;
	g_ptr_array_add(call->participants, p);
	return p;
}

static void free_participant(gpointer data) {
	calls_participant *p = data;
	g_free(p->user_id);
	g_free(p->user_name);
	g_free(p->avatar);
	g_free(p);
}

/* A live, connected video call: alice called bob and carol; bob joined, carol declined. */
static void sample_init(sample *s) {
	memset(s, 0, sizeof(*s));
	calls_call *c = &s->call;
	g_strlcpy(c->id, CID, sizeof(c->id));
	g_strlcpy(c->room_id, "6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11", sizeof(c->room_id));
	c->chat_id = g_strdup("chat-42");
	c->type = CALLS_TYPE_VIDEO;
	c->status = CALLS_STATUS_CONNECTED;
	c->initiator_id = g_strdup("alice");
	c->participants = g_ptr_array_new_with_free_func(free_participant);
	c->started_at = usec_of("2025-11-29T09:59:58.123Z");
	c->connected_at = usec_of("2025-11-29T10:00:03.500Z");
	s->alice = add_participant(c, "alice", "Alice", "https://x.example/alice.png", CALLS_ROLE_INITIATOR, CALLS_PSTATUS_JOINED);
	s->alice->joined_at = c->started_at;
	s->alice->is_video_enabled = TRUE;
	s->bob = add_participant(c, "bob", "Bob", NULL, CALLS_ROLE_PARTICIPANT, CALLS_PSTATUS_JOINED);
	s->bob->joined_at = usec_of("2025-11-29T10:00:01.000Z");
	s->bob->is_muted = TRUE;
	s->bob->is_sharing_screen = TRUE;
	s->carol = add_participant(c, "carol", NULL, NULL, CALLS_ROLE_PARTICIPANT, CALLS_PSTATUS_DECLINED);
	s->carol->left_reason = CALLS_LEFT_DECLINED;
	s->carol->left_at = usec_of("2025-11-29T10:00:00.001Z");
}

static void sample_clear(sample *s) {
	g_ptr_array_free(s->call.participants, TRUE);
	g_free(s->call.chat_id);
	g_free(s->call.initiator_id);
	g_free(s->call.ended_by);
}

static void test_json_call(void) {
	sample s;
	sample_init(&s);
	gint64 now = usec_of("2025-11-29T10:01:00.000Z");
	json_t *j = calls_json_call(&s.call, now);
	test_assert_keys(j, CALL_KEYS);
	test_assert_json_str(j, "id", CID);
	test_assert_json_str(j, "roomId", "6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11");
	test_assert_json_str(j, "chatId", "chat-42");
	test_assert_json_str(j, "type", "VIDEO");
	test_assert_json_str(j, "status", "CONNECTED");
	test_assert_json_str(j, "initiatorId", "alice");
	test_assert_json_str(j, "startedAt", "2025-11-29T09:59:58.123Z");
	test_assert_json_str(j, "connectedAt", "2025-11-29T10:00:03.500Z");
	/* live: not ended, no duration yet */
	g_assert_true(json_is_null(json_object_get(j, "endedAt")));
	g_assert_true(json_is_null(json_object_get(j, "duration")));
	g_assert_true(json_is_null(json_object_get(j, "endedBy")));
	g_assert_true(json_is_null(json_object_get(j, "endReason")));
	json_t *parts = json_object_get(j, "participants");
	g_assert_cmpuint(json_array_size(parts), ==, 3);
	for(size_t i = 0; i < 3; i++)
		test_assert_keys(json_array_get(parts, i), PARTICIPANT_KEYS);
	test_assert_json_str(j, "participants.0.userId", "alice");
	test_assert_json_str(j, "participants.0.userName", "Alice");
	test_assert_json_str(j, "participants.0.avatar", "https://x.example/alice.png");
	test_assert_json_str(j, "participants.0.role", "INITIATOR");
	test_assert_json_str(j, "participants.0.status", "JOINED");
	test_assert_json_str(j, "participants.0.joinedAt", "2025-11-29T09:59:58.123Z");
	g_assert_true(json_is_null(test_json_at(j, "participants.0.leftAt")));
	g_assert_true(json_is_false(test_json_at(j, "participants.0.isMuted")));
	g_assert_true(json_is_true(test_json_at(j, "participants.0.isVideoEnabled")));
	g_assert_true(json_is_false(test_json_at(j, "participants.0.isSharingScreen")));
	test_assert_json_str(j, "participants.1.role", "PARTICIPANT");
	g_assert_true(json_is_null(test_json_at(j, "participants.1.avatar")));
	g_assert_true(json_is_true(test_json_at(j, "participants.1.isMuted")));
	g_assert_true(json_is_false(test_json_at(j, "participants.1.isVideoEnabled")));
	g_assert_true(json_is_true(test_json_at(j, "participants.1.isSharingScreen")));
	test_assert_json_str(j, "participants.2.status", "DECLINED");
	g_assert_true(json_is_null(test_json_at(j, "participants.2.userName")));
	g_assert_true(json_is_null(test_json_at(j, "participants.2.joinedAt")));
	test_assert_json_str(j, "participants.2.leftAt", "2025-11-29T10:00:00.001Z");
	json_decref(j);

	/* ended: duration in whole seconds from connectedAt to endedAt (296.75 s -> 296) */
	s.call.status = CALLS_STATUS_ENDED;
	s.call.ended_at = usec_of("2025-11-29T10:05:00.250Z");
	s.call.ended_by = g_strdup("bob");
	s.call.end_reason = CALLS_END_HANGUP;
	j = calls_json_call(&s.call, now);
	test_assert_keys(j, CALL_KEYS);
	test_assert_json_str(j, "status", "ENDED");
	test_assert_json_str(j, "endedAt", "2025-11-29T10:05:00.250Z");
	g_assert_cmpint(json_integer_value(json_object_get(j, "duration")), ==, 296);
	test_assert_json_str(j, "endedBy", "bob");
	test_assert_json_str(j, "endReason", "HANGUP");
	json_decref(j);

	/* never connected: duration 0; no chat: null */
	s.call.connected_at = 0;
	s.call.status = CALLS_STATUS_MISSED;
	s.call.end_reason = CALLS_END_RING_TIMEOUT;
	g_clear_pointer(&s.call.chat_id, g_free);
	g_clear_pointer(&s.call.ended_by, g_free);
	j = calls_json_call(&s.call, now);
	g_assert_true(json_is_integer(json_object_get(j, "duration")));
	g_assert_cmpint(json_integer_value(json_object_get(j, "duration")), ==, 0);
	g_assert_true(json_is_null(json_object_get(j, "connectedAt")));
	g_assert_true(json_is_null(json_object_get(j, "chatId")));
	g_assert_true(json_is_null(json_object_get(j, "endedBy")));
	test_assert_json_str(j, "status", "MISSED");
	test_assert_json_str(j, "endReason", "RING_TIMEOUT");
	json_decref(j);

	/* every end reason has its name */
	for(int r = CALLS_END_HANGUP; r <= CALLS_END_SERVER_RESTART; r++) {
		s.call.end_reason = r;
		j = calls_json_call(&s.call, now);
		test_assert_json_str(j, "endReason", calls_end_reason_name(r));
		json_decref(j);
	}
	sample_clear(&s);
}

/* The data of an event, after checking the envelope. */
static json_t *envelope(json_t *ev, const char *name, const char *timestamp) {
	test_assert_keys(ev, "event,timestamp,data");
	test_assert_json_str(ev, "event", name);
	test_assert_json_str(ev, "timestamp", timestamp);
	g_assert_true(json_is_object(json_object_get(ev, "data")));
	return json_object_get(ev, "data");
}

static void test_events_out(void) {
	sample s;
	sample_init(&s);
	s.call.status = CALLS_STATUS_RINGING;
	s.call.connected_at = 0;
	const char *ts = "2025-11-29T10:00:00.000Z";
	gint64 now = usec_of(ts);

	json_t *ev = calls_event_incoming(&s.call, now);
	json_t *d = envelope(ev, "CALL_INCOMING", ts);
	test_assert_keys(d, "callId,type,initiatorId,initiatorName,initiatorAvatar,participants,roomId,chatId");
	test_assert_json_str(d, "callId", CID);
	test_assert_json_str(d, "type", "VIDEO");
	test_assert_json_str(d, "initiatorId", "alice");
	test_assert_json_str(d, "initiatorName", "Alice");
	test_assert_json_str(d, "initiatorAvatar", "https://x.example/alice.png");
	test_assert_json_str(d, "roomId", "6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11");
	test_assert_json_str(d, "chatId", "chat-42");
	json_t *parts = json_object_get(d, "participants");
	g_assert_cmpuint(json_array_size(parts), ==, 3);
	for(size_t i = 0; i < 3; i++)
		test_assert_keys(json_array_get(parts, i), "userId,userName");
	test_assert_json_str(d, "participants.1.userId", "bob");
	test_assert_json_str(d, "participants.1.userName", "Bob");
	g_assert_true(json_is_null(test_json_at(d, "participants.2.userName")));
	json_decref(ev);

	ev = calls_event_started(&s.call, now);
	d = envelope(ev, "CALL_STARTED", ts);
	test_assert_keys(d, "callId,call");
	test_assert_json_str(d, "callId", CID);
	test_assert_keys(json_object_get(d, "call"), CALL_KEYS);
	test_assert_json_str(d, "call.status", "RINGING");
	json_decref(ev);

	s.call.status = CALLS_STATUS_CONNECTING;
	ev = calls_event_status_changed(&s.call, CALLS_STATUS_RINGING, now);
	d = envelope(ev, "CALL_STATUS_CHANGED", ts);
	test_assert_keys(d, "callId,status,previousStatus");
	test_assert_json_str(d, "callId", CID);
	test_assert_json_str(d, "status", "CONNECTING");
	test_assert_json_str(d, "previousStatus", "RINGING");
	json_decref(ev);

	ev = calls_event_participant_joined(s.bob, now);
	d = envelope(ev, "CALL_PARTICIPANT_JOINED", ts);
	test_assert_keys(d, "callId,userId,userName,avatar");
	test_assert_json_str(d, "callId", CID);
	test_assert_json_str(d, "userId", "bob");
	test_assert_json_str(d, "userName", "Bob");
	g_assert_true(json_is_null(json_object_get(d, "avatar")));
	json_decref(ev);

	ev = calls_event_participant_left(s.carol, "in a meeting", now);
	d = envelope(ev, "CALL_PARTICIPANT_LEFT", ts);
	test_assert_keys(d, "callId,userId,userName,reason,message");
	test_assert_json_str(d, "userId", "carol");
	g_assert_true(json_is_null(json_object_get(d, "userName")));
	test_assert_json_str(d, "reason", "DECLINED");
	test_assert_json_str(d, "message", "in a meeting");
	json_decref(ev);
	/* message is optional; every reason has its name */
	static const char *const reasons[] = { "LEFT", "DECLINED", "MISSED", "BUSY", "FAILED", "DISCONNECTED" };
	for(int r = CALLS_LEFT_LEFT; r <= CALLS_LEFT_DISCONNECTED; r++) {
		s.carol->left_reason = r;
		ev = calls_event_participant_left(s.carol, NULL, now);
		d = envelope(ev, "CALL_PARTICIPANT_LEFT", ts);
		test_assert_keys(d, "callId,userId,userName,reason");
		test_assert_json_str(d, "reason", reasons[r]);
		json_decref(ev);
	}

	ev = calls_event_media_changed(s.bob, now);
	d = envelope(ev, "CALL_PARTICIPANT_MEDIA_CHANGED", ts);
	test_assert_keys(d, "callId,userId,userName,isMuted,isVideoEnabled,isSharingScreen");
	test_assert_json_str(d, "userId", "bob");
	test_assert_json_str(d, "userName", "Bob");
	g_assert_true(json_is_true(json_object_get(d, "isMuted")));
	g_assert_true(json_is_false(json_object_get(d, "isVideoEnabled")));
	g_assert_true(json_is_true(json_object_get(d, "isSharingScreen")));
	json_decref(ev);

	s.call.status = CALLS_STATUS_ENDED;
	s.call.connected_at = usec_of("2025-11-29T10:00:03.500Z");
	s.call.ended_at = usec_of("2025-11-29T10:00:45.499Z");
	s.call.ended_by = g_strdup("alice");
	s.call.end_reason = CALLS_END_ENDED_FOR_EVERYONE;
	ev = calls_event_ended(&s.call, now);
	d = envelope(ev, "CALL_ENDED", ts);
	test_assert_keys(d, "callId,status,duration,endedBy,reason");
	test_assert_json_str(d, "callId", CID);
	test_assert_json_str(d, "status", "ENDED");
	g_assert_cmpint(json_integer_value(json_object_get(d, "duration")), ==, 41);
	test_assert_json_str(d, "endedBy", "alice");
	test_assert_json_str(d, "reason", "ENDED_FOR_EVERYONE");
	json_decref(ev);
	g_clear_pointer(&s.call.ended_by, g_free);
	s.call.status = CALLS_STATUS_MISSED;
	s.call.connected_at = 0;
	s.call.end_reason = CALLS_END_RING_TIMEOUT;
	ev = calls_event_ended(&s.call, now);
	d = envelope(ev, "CALL_ENDED", ts);
	g_assert_cmpint(json_integer_value(json_object_get(d, "duration")), ==, 0);
	g_assert_true(json_is_null(json_object_get(d, "endedBy")));
	test_assert_json_str(d, "reason", "RING_TIMEOUT");
	json_decref(ev);

	ev = calls_event_answer_received(CID, now);
	d = envelope(ev, "WEBRTC_ANSWER_RECEIVED", ts);
	test_assert_keys(d, "callId,fromUserId");
	test_assert_json_str(d, "callId", CID);
	g_assert_true(json_is_null(json_object_get(d, "fromUserId")));
	json_decref(ev);

	json_t *streams = json_array();
	json_array_append_new(streams, calls_json_stream("0", "bob", "Bob", "audio", TRUE));
	json_array_append_new(streams, calls_json_stream("1", NULL, NULL, "video", FALSE));
	ev = calls_event_offer_received(CID, streams, now);
	d = envelope(ev, "WEBRTC_OFFER_RECEIVED", ts);
	test_assert_keys(d, "callId,fromUserId,fromUserName,streams");
	g_assert_true(json_is_null(json_object_get(d, "fromUserId")));
	g_assert_true(json_is_null(json_object_get(d, "fromUserName")));
	g_assert_cmpuint(json_array_size(json_object_get(d, "streams")), ==, 2);
	test_assert_keys(test_json_at(d, "streams.0"), "mid,userId,userName,kind,active");
	test_assert_json_str(d, "streams.0.mid", "0");
	test_assert_json_str(d, "streams.0.userId", "bob");
	test_assert_json_str(d, "streams.0.userName", "Bob");
	test_assert_json_str(d, "streams.0.kind", "audio");
	g_assert_true(json_is_true(test_json_at(d, "streams.0.active")));
	g_assert_true(json_is_null(test_json_at(d, "streams.1.userId")));
	g_assert_true(json_is_false(test_json_at(d, "streams.1.active")));
	json_decref(ev);

	/* the initiator's name is null when the initiator is unknown to the call */
	g_ptr_array_remove_index(s.call.participants, 0);
	ev = calls_event_incoming(&s.call, now);
	d = envelope(ev, "CALL_INCOMING", ts);
	g_assert_true(json_is_null(json_object_get(d, "initiatorName")));
	g_assert_true(json_is_null(json_object_get(d, "initiatorAvatar")));
	json_decref(ev);
	sample_clear(&s);
}

static void test_replies(void) {
	json_t *r = calls_reply_ok(201, json_pack("{s:s}", "k", "v"));
	test_assert_keys(r, "status,body");
	g_assert_cmpint(json_integer_value(json_object_get(r, "status")), ==, 201);
	test_assert_json_str(r, "body.k", "v");
	json_decref(r);
	json_t *page = calls_json_page(json_array(), 2, 5, 7);
	test_assert_keys(page, "calls,page,limit,total");
	g_assert_true(json_is_array(json_object_get(page, "calls")));
	g_assert_cmpint(json_integer_value(json_object_get(page, "page")), ==, 2);
	g_assert_cmpint(json_integer_value(json_object_get(page, "limit")), ==, 5);
	g_assert_cmpint(json_integer_value(json_object_get(page, "total")), ==, 7);
	json_decref(page);
	calls_user u = { .user_id = (char *)"alice", .user_name = NULL, .avatar = (char *)"a.png" };
	json_t *uj = calls_json_user(&u);
	test_assert_keys(uj, "userId,userName,avatar");
	test_assert_json_str(uj, "userId", "alice");
	g_assert_true(json_is_null(json_object_get(uj, "userName")));
	test_assert_json_str(uj, "avatar", "a.png");
	json_decref(uj);
}

/* max_message_size and max_sdp_size: exactly at the limit passes, one byte more is LIMIT_EXCEEDED. */
static void test_sizes(void) {
	/* a body of exactly n bytes in compact JSON: {"request":"GET /calls/active","pad":"xxx..."} */
	const char *head = "{\"request\":\"GET /calls/active\",\"pad\":\"";
	const size_t limit = 4096;
	size_t pad = limit - strlen(head) - 2;
	GString *text = g_string_new(head);
	for(size_t i = 0; i < pad; i++)
		g_string_append_c(text, 'x');
	g_string_append(text, "\"}");
	g_assert_cmpuint(text->len, ==, limit);
	json_t *b = json_loads(text->str, 0, NULL);
	g_assert_nonnull(b);
	calls_request r;
	calls_error e = { 0 };
	g_assert_true(calls_request_parse(b, NULL, &r, &e));
	g_assert_true(calls_request_check_size(&r, limit, limit, &e));
	g_assert_true(calls_request_check_size(&r, 0, 0, &e));   /* 0: no limit */
	g_assert_false(calls_request_check_size(&r, limit - 1, limit, &e));
	g_assert_cmpint(e.code, ==, CALLS_ERR_LIMIT_EXCEEDED);
	g_assert_nonnull(strstr(e.message, "the message body of GET /calls/active is larger than 4095 bytes (max_message_size"));
	calls_request_clear(&r);
	json_decref(b);
	g_string_free(text, TRUE);

	/* a body far larger than the limit: refused all the same */
	json_t *big = json_pack("{s:s, s:[]}", "request", "GET /calls/active", "junk");
	for(int i = 0; i < 100000; i++)
		json_array_append_new(json_object_get(big, "junk"), json_string("0123456789"));
	g_assert_true(calls_request_parse(big, NULL, &r, &e));
	g_assert_false(calls_request_check_size(&r, 65536, 65536, &e));
	g_assert_nonnull(strstr(e.message, "65536 bytes (max_message_size"));
	calls_request_clear(&r);
	json_decref(big);

	/* the SDP: counted alone (the body is small), by its length */
	GString *sdp = g_string_new("v=0\r\n");
	while(sdp->len < 5000)
		g_string_append(sdp, "a=x\r\n");
	json_t *jsep = json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp->str);
	json_t *offer = json_pack("{s:s, s:{s:s}}", "event", "WEBRTC_OFFER", "data", "callId", CID);
	g_assert_true(calls_request_parse(offer, jsep, &r, &e));
	g_assert_true(calls_request_check_size(&r, 4096, sdp->len, &e));
	g_assert_false(calls_request_check_size(&r, 4096, sdp->len - 1, &e));
	g_assert_cmpint(e.code, ==, CALLS_ERR_LIMIT_EXCEEDED);
	char *want = g_strdup_printf("the SDP of WEBRTC_OFFER is %zu bytes long; at most %zu are accepted (max_sdp_size)",
		sdp->len, sdp->len - 1);
	g_assert_cmpstr(e.message, ==, want);
	g_free(want);
	calls_request_clear(&r);
	json_decref(offer);
	json_decref(jsep);
	g_string_free(sdp, TRUE);
}

int main(int argc, char *argv[]) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/contract/register", test_register);
	g_test_add_func("/contract/envelope-refusals", test_envelope_refusals);
	g_test_add_func("/contract/routes", test_routes);
	g_test_add_func("/contract/routes/query-in-path", test_route_query_in_path);
	g_test_add_func("/contract/routes/call-ids", test_route_call_ids);
	g_test_add_func("/contract/events", test_events);
	g_test_add_func("/contract/fields/missing-wrong-null", test_missing_wrong_null);
	g_test_add_func("/contract/fields/lengths-and-lists", test_lengths_and_lists);
	g_test_add_func("/contract/fields/pages-and-filters", test_pages);
	g_test_add_func("/contract/sdp-placement", test_sdp_placement);
	g_test_add_func("/contract/sizes", test_sizes);
	g_test_add_func("/contract/error-codes", test_error_codes);
	g_test_add_func("/contract/utf8-truncation", test_utf8_truncation);
	g_test_add_func("/contract/names", test_names);
	g_test_add_func("/contract/times-and-ids", test_times_and_ids);
	g_test_add_func("/contract/out/call", test_json_call);
	g_test_add_func("/contract/out/events", test_events_out);
	g_test_add_func("/contract/out/replies", test_replies);
	return g_test_run();
}
