/* janus.plugin.calls - unit tests of the call history store (plugin/store.c).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sqlite3.h>
#include "store.h"
#include "testutil.h"

/* ---- Helpers ----------------------------------------------------------------- */

static char *db_path(void) {
	char *dir = test_tmpdir();
	char *path = g_build_filename(dir, "calls.db", NULL);
	g_free(dir);
	return path;
}

static gint64 usec_of(const char *iso) {
	GDateTime *t = g_date_time_new_from_iso8601(iso, NULL);
	g_assert_nonnull(t);
	gint64 usec = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
	g_date_time_unref(t);
	return usec;
}

static calls_store *open_store(const char *path, gint64 now, int *closed) {
	GError *error = NULL;
	calls_store *store = calls_store_open(path, now, closed, &error);
	g_assert_no_error(error);
	g_assert_nonnull(store);
	return store;
}

static void save(calls_store *store, json_t *call, gboolean live, gint64 now) {
	GError *error = NULL;
	g_assert_true(calls_store_save(store, call, live, now, &error));
	g_assert_no_error(error);
}

static json_t *get(calls_store *store, const char *id) {
	GError *error = NULL;
	json_t *call = calls_store_get(store, id, &error);
	g_assert_no_error(error);
	return call;
}

/* A participant with every contract key; `joined`/`left` may be NULL (null). */
static json_t *participant(const char *user, const char *role, const char *status,
		const char *joined, const char *left) {
	char *name = g_strdup_printf("Name of %s", user);
	json_t *p = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s?, s:s?, s:b, s:b, s:b}",
		"userId", user, "userName", name, "avatar", "role", role, "status", status,
		"joinedAt", joined, "leftAt", left, "isMuted", 0, "isVideoEnabled", 1, "isSharingScreen", 0);
	g_free(name);
	g_assert_nonnull(p);
	return p;
}

/* A call with every contract key; steals `participants`; initiatorId is the first participant. */
static json_t *call_new(const char *id, const char *chat, const char *type, const char *status,
		const char *started, json_t *participants) {
	const char *initiator = json_string_value(json_object_get(json_array_get(participants, 0), "userId"));
	json_t *call = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:s, s:n, s:n, s:n, s:n, s:n}",
		"id", id, "roomId", "room-of-the-call", "chatId", chat, "type", type, "status", status,
		"initiatorId", initiator ? initiator : "nobody", "participants", participants,
		"startedAt", started, "connectedAt", "endedAt", "duration", "endedBy", "endReason");
	g_assert_nonnull(call);
	return call;
}

/* The ids of a history page, comma separated. g_free() it. */
static char *ids_of(json_t *calls) {
	GString *ids = g_string_new(NULL);
	size_t i;
	json_t *call;
	json_array_foreach(calls, i, call)
		g_string_append_printf(ids, "%s%s", i ? "," : "", json_string_value(json_object_get(call, "id")));
	return g_string_free(ids, FALSE);
}

static json_t *history(calls_store *store, const calls_history_query *q, int *total) {
	GError *error = NULL;
	json_t *calls = calls_store_history(store, q, total, &error);
	g_assert_no_error(error);
	g_assert_true(json_is_array(calls));
	return calls;
}

/* Run one SQL statement on the file through a connection of the test's own. */
static void sql_on_file(const char *path, const char *sql) {
	sqlite3 *db = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	char *message = NULL;
	if(sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
		g_error("%s: %s", sql, message);
	sqlite3_close(db);
}

static char *text_on_file(const char *path, const char *sql) {
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	char *text = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return text;
}

/* ---- Save and get ------------------------------------------------------------ */

static const char full_call[] =
	"{\"id\": \"6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11\", \"roomId\": \"0b8a3f50-3f7e-4d7a-8f55-1b7f5b0e6a22\","
	" \"chatId\": \"chat-7\", \"type\": \"VIDEO\", \"status\": \"ENDED\", \"initiatorId\": \"zoe\","
	" \"participants\": ["
	"  {\"userId\": \"zoe\", \"userName\": \"Zoé Ünïcødé 🙂\", \"avatar\": \"https://x.example/zoe.png\","
	"   \"role\": \"INITIATOR\", \"status\": \"LEFT\", \"joinedAt\": \"2025-11-29T10:00:00.000Z\","
	"   \"leftAt\": \"2025-11-29T10:05:00.250Z\", \"isMuted\": true, \"isVideoEnabled\": false, \"isSharingScreen\": true},"
	"  {\"userId\": \"adam\", \"userName\": null, \"avatar\": null, \"role\": \"PARTICIPANT\", \"status\": \"DECLINED\","
	"   \"joinedAt\": null, \"leftAt\": null, \"isMuted\": false, \"isVideoEnabled\": true, \"isSharingScreen\": false},"
	"  {\"userId\": \"mia\", \"userName\": \"Mia\", \"avatar\": \"\", \"role\": \"PARTICIPANT\", \"status\": \"LEFT\","
	"   \"joinedAt\": \"2025-11-29T10:00:03.000Z\", \"leftAt\": \"2025-11-29T10:05:00.000Z\","
	"   \"isMuted\": false, \"isVideoEnabled\": true, \"isSharingScreen\": false}],"
	" \"startedAt\": \"2025-11-29T09:59:58.123Z\", \"connectedAt\": \"2025-11-29T10:00:03.500Z\","
	" \"endedAt\": \"2025-11-29T10:05:00.250Z\", \"duration\": 296, \"endedBy\": \"zoe\", \"endReason\": \"HANGUP\"}";

static void test_save_get_roundtrip(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *call = test_json(full_call);
	save(store, call, FALSE, 1);
	json_t *got = get(store, "6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11");
	g_assert_true(json_equal(got, call));
	/* participants in the saved order (not sorted) */
	test_assert_json_str(got, "participants.0.userId", "zoe");
	test_assert_json_str(got, "participants.1.userId", "adam");
	test_assert_json_str(got, "participants.2.userId", "mia");
	g_assert_true(json_is_null(test_json_at(got, "participants.1.userName")));
	json_decref(got);

	/* a call whose nullable fields are all null, with keys the store does not know */
	json_t *sparse = test_json(
		"{\"id\": \"c2\", \"roomId\": \"r2\", \"chatId\": null, \"type\": \"AUDIO\", \"status\": \"MISSED\","
		" \"initiatorId\": \"zoe\", \"participants\": [], \"startedAt\": \"2025-11-29T11:00:00.000Z\","
		" \"connectedAt\": null, \"endedAt\": null, \"duration\": null, \"endedBy\": null, \"endReason\": null,"
		" \"somethingNew\": {\"x\": 1}}");
	save(store, sparse, FALSE, 1);
	json_object_del(sparse, "somethingNew");
	got = get(store, "c2");
	g_assert_true(json_equal(got, sparse));
	json_decref(got);

	/* absent optional keys come back as null */
	json_t *minimal = test_json(
		"{\"id\": \"c3\", \"roomId\": \"r3\", \"type\": \"AUDIO\", \"status\": \"MISSED\", \"initiatorId\": \"zoe\","
		" \"startedAt\": \"2025-11-29T12:00:00.000Z\", \"participants\": [{\"userId\": \"zoe\", \"role\": \"INITIATOR\","
		" \"status\": \"LEFT\", \"isMuted\": false, \"isVideoEnabled\": false, \"isSharingScreen\": false}]}");
	save(store, minimal, FALSE, 1);
	got = get(store, "c3");
	g_assert_true(json_is_null(json_object_get(got, "chatId")));
	g_assert_true(json_is_null(json_object_get(got, "duration")));
	g_assert_true(json_is_null(test_json_at(got, "participants.0.avatar")));
	test_assert_json_str(got, "participants.0.status", "LEFT");
	json_decref(got);

	/* still there after a reopen */
	calls_store_close(store);
	store = open_store(path, 2, NULL);
	got = get(store, "6f1c2b1e-2a8e-4c1a-9a53-2f9f6b0e7d11");
	g_assert_true(json_equal(got, call));
	json_decref(got);

	g_assert_null(get(store, "no-such-call"));
	json_decref(call);
	json_decref(sparse);
	json_decref(minimal);
	calls_store_close(store);
	g_free(path);
}

static void test_upsert_replaces_participants(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *parts = json_pack("[o, o, o]",
		participant("ann", "INITIATOR", "LEFT", "2025-11-29T10:00:00.000Z", "2025-11-29T10:01:00.000Z"),
		participant("ben", "PARTICIPANT", "LEFT", "2025-11-29T10:00:01.000Z", "2025-11-29T10:01:00.000Z"),
		participant("cid", "PARTICIPANT", "MISSED", NULL, NULL));
	json_t *call = call_new("call-1", "chat", "AUDIO", "ENDED", "2025-11-29T10:00:00.000Z", parts);
	save(store, call, FALSE, 1);
	json_decref(call);

	parts = json_pack("[o, o]",
		participant("cid", "INITIATOR", "LEFT", "2025-11-29T10:00:00.000Z", NULL),
		participant("dan", "PARTICIPANT", "BUSY", NULL, NULL));
	call = call_new("call-1", NULL, "VIDEO", "FAILED", "2025-11-29T10:00:00.000Z", parts);
	save(store, call, FALSE, 2);
	json_t *got = get(store, "call-1");
	g_assert_true(json_equal(got, call));
	g_assert_cmpuint(json_array_size(json_object_get(got, "participants")), ==, 2);
	test_assert_json_str(got, "participants.0.userId", "cid");
	test_assert_json_str(got, "participants.1.userId", "dan");
	test_assert_json_str(got, "status", "FAILED");
	json_decref(got);
	json_decref(call);

	/* the history follows: ann is no longer in the call, dan is, and the filters see the new values */
	int total = -1;
	calls_history_query q = {.user_id = "ann", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 0);
	g_assert_cmpuint(json_array_size(calls), ==, 0);
	json_decref(calls);
	q.user_id = "dan";
	q.type = "VIDEO";
	q.status = "FAILED";
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 1);
	test_assert_json_str(calls, "0.id", "call-1");
	json_decref(calls);
	q.chat_id = "chat";   /* the chat became null */
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 0);
	json_decref(calls);

	calls_store_close(store);
	g_free(path);
}

/* ---- History ----------------------------------------------------------------- */

static void test_history_order_ties(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	/* saved out of order; b and c start at the same millisecond: the larger id first */
	const char *ids[] = {"a", "c", "b", "d"};
	const char *starts[] = {"2025-11-29T10:00:00.000Z", "2025-11-29T11:00:00.000Z",
		"2025-11-29T11:00:00.000Z", "2025-11-30T09:00:00.000Z"};
	for(int i = 0; i < 4; i++) {
		json_t *parts = json_pack("[o, o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL),
			participant("ben", "PARTICIPANT", i == 0 ? "DECLINED" : "LEFT", NULL, NULL));
		json_t *call = call_new(ids[i], NULL, "AUDIO", "ENDED", starts[i], parts);
		save(store, call, FALSE, 1);
		json_decref(call);
	}
	int total = 0;
	calls_history_query q = {.user_id = "ben", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	char *got = ids_of(calls);
	g_assert_cmpstr(got, ==, "d,c,b,a");   /* ben declined "a": still his history */
	g_assert_cmpint(total, ==, 4);
	g_free(got);
	json_decref(calls);
	q.limit = 3;
	q.page = 2;
	calls = history(store, &q, &total);
	got = ids_of(calls);
	g_assert_cmpstr(got, ==, "a");
	g_assert_cmpint(total, ==, 4);
	g_free(got);
	json_decref(calls);
	calls_store_close(store);
	g_free(path);
}

/* The calls of the model test: generated, and filtered and sorted again in plain C. */
#define MODEL_CALLS 48
typedef struct model_call {
	char id[16];
	char started[32];
	const char *chat, *type, *status;
	gboolean live, has_alice;
} model_call;

static const char *const model_statuses[] = {"ENDED", "MISSED", "DECLINED", "FAILED", "BUSY"};

static void model_fill(calls_store *store, model_call *m) {
	for(int i = 0; i < MODEL_CALLS; i++) {
		model_call *c = &m[i];
		g_snprintf(c->id, sizeof(c->id), "call-%02d", (i * 29) % MODEL_CALLS);   /* ids not in time order */
		g_snprintf(c->started, sizeof(c->started), "2025-11-%02dT10:%02d:00.000Z", 1 + i / 4, (i % 4) / 2 * 10);
		c->chat = (i % 4 == 0) ? NULL : (i % 3 == 0 ? "chat-a" : "chat-b");
		c->type = ((i / 3) % 2) ? "VIDEO" : "AUDIO";
		c->status = model_statuses[(i / 2) % 5];
		c->live = (i % 8 == 5);
		c->has_alice = (i % 7 != 3);
		json_t *parts = json_array();
		json_array_append_new(parts, participant("bob", "INITIATOR", "LEFT", NULL, NULL));
		if(c->has_alice) {   /* alice in every participant status, and sometimes the initiator */
			const char *const pstatus[] = {"LEFT", "DECLINED", "MISSED", "BUSY", "FAILED", "JOINED", "RINGING"};
			json_t *alice = participant("alice", i % 5 == 0 ? "INITIATOR" : "PARTICIPANT", pstatus[i % 7], NULL, NULL);
			if(i % 5 == 0)
				json_array_insert_new(parts, 0, alice);
			else
				json_array_append_new(parts, alice);
		}
		json_array_append_new(parts, participant("carol", "PARTICIPANT", "MISSED", NULL, NULL));
		json_t *call = call_new(c->id, c->chat, c->type, c->status, c->started, parts);
		save(store, call, c->live, 1);
		json_decref(call);
	}
}

static gboolean model_matches(const model_call *c, const calls_history_query *q) {
	return c->has_alice && !c->live
		&& (q->chat_id == NULL || g_strcmp0(q->chat_id, c->chat) == 0)
		&& (q->type == NULL || strcmp(q->type, c->type) == 0)
		&& (q->status == NULL || strcmp(q->status, c->status) == 0);
}

static gint model_newest_first(gconstpointer a, gconstpointer b) {
	const model_call *x = *(model_call *const *)a, *y = *(model_call *const *)b;
	int by_time = strcmp(y->started, x->started);
	return by_time ? by_time : strcmp(y->id, x->id);
}

/* What the history of alice must be, computed from the model. */
static char *model_expect(model_call *m, const calls_history_query *q, int *total) {
	GPtrArray *hits = g_ptr_array_new();
	for(int i = 0; i < MODEL_CALLS; i++)
		if(model_matches(&m[i], q))
			g_ptr_array_add(hits, &m[i]);
	g_ptr_array_sort(hits, model_newest_first);
	*total = (int)hits->len;
	GString *ids = g_string_new(NULL);
	for(guint i = (guint)((q->page - 1) * q->limit); i < hits->len && i < (guint)(q->page * q->limit); i++)
		g_string_append_printf(ids, "%s%s", ids->len ? "," : "", ((model_call *)hits->pdata[i])->id);
	g_ptr_array_free(hits, TRUE);
	return g_string_free(ids, FALSE);
}

static void test_history_filters_pages(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	model_call m[MODEL_CALLS];
	model_fill(store, m);
	const struct { const char *chat, *type, *status; } filters[] = {
		{NULL, NULL, NULL}, {"chat-a", NULL, NULL}, {"chat-b", NULL, NULL}, {"no-such-chat", NULL, NULL},
		{NULL, "VIDEO", NULL}, {NULL, "AUDIO", NULL}, {NULL, NULL, "MISSED"}, {NULL, NULL, "ENDED"},
		{NULL, NULL, "BUSY"}, {"chat-b", "AUDIO", NULL}, {"chat-a", NULL, "DECLINED"},
		{NULL, "VIDEO", "FAILED"}, {"chat-b", "VIDEO", "ENDED"},
	};
	const int limits[] = {1, 3, 7, 10, 100};
	int checked = 0;
	for(size_t f = 0; f < G_N_ELEMENTS(filters); f++) {
		for(size_t l = 0; l < G_N_ELEMENTS(limits); l++) {
			calls_history_query q = {.user_id = "alice", .chat_id = filters[f].chat, .type = filters[f].type,
				.status = filters[f].status, .page = 1, .limit = limits[l]};
			int pages = 1;
			for(q.page = 1; q.page <= pages + 1; q.page++) {   /* and one page past the end */
				int want_total = 0, total = -1;
				char *want = model_expect(m, &q, &want_total);
				json_t *calls = history(store, &q, &total);
				char *got = ids_of(calls);
				g_assert_cmpstr(got, ==, want);
				g_assert_cmpint(total, ==, want_total);
				/* every call comes whole, with the filtered values */
				size_t i;
				json_t *call;
				json_array_foreach(calls, i, call) {
					g_assert_true(json_is_array(json_object_get(call, "participants")));
					if(q.type)
						test_assert_json_str(call, "type", q.type);
					if(q.status)
						test_assert_json_str(call, "status", q.status);
				}
				pages = MAX(1, (want_total + q.limit - 1) / q.limit);
				g_free(want);
				g_free(got);
				json_decref(calls);
				checked++;
			}
		}
	}
	g_assert_cmpint(checked, >, 100);

	/* sanity of the model itself: alice has a history with live calls left out */
	calls_history_query all = {.user_id = "alice", .page = 1, .limit = 100};
	int total = 0;
	json_t *calls = history(store, &all, &total);
	g_assert_cmpint(total, >=, 30);
	g_assert_cmpint(total, <, MODEL_CALLS);
	json_decref(calls);
	calls_store_close(store);
	g_free(path);
}

static void test_history_excludes_live(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *parts = json_pack("[o, o]", participant("ann", "INITIATOR", "JOINED", "2025-11-29T10:00:00.000Z", NULL),
		participant("ben", "PARTICIPANT", "RINGING", NULL, NULL));
	json_t *call = call_new("live-1", "chat", "AUDIO", "RINGING", "2025-11-29T10:00:00.000Z", parts);
	save(store, call, TRUE, 1);

	int total = -1;
	calls_history_query q = {.user_id = "ann", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 0);
	g_assert_cmpuint(json_array_size(calls), ==, 0);
	json_decref(calls);
	json_t *got = get(store, "live-1");   /* but it can be read */
	test_assert_json_str(got, "status", "RINGING");
	json_decref(got);

	/* it ends: now it is history */
	json_object_set_new(call, "status", json_string("MISSED"));
	save(store, call, FALSE, 2);
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 1);
	test_assert_json_str(calls, "0.status", "MISSED");
	json_decref(calls);
	json_decref(call);
	calls_store_close(store);
	g_free(path);
}

/* No history query reads a whole table or index, nor sorts: each is a range of a covering index. */
static void test_history_query_plans(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	sqlite3 *db = NULL;
	g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
	for(unsigned f = 0; f < 8; f++) {
		calls_history_query q = {.user_id = "u", .chat_id = (f & 1) ? "c" : NULL,
			.type = (f & 2) ? "AUDIO" : NULL, .status = (f & 4) ? "ENDED" : NULL, .page = 1, .limit = 10};
		for(int count = 0; count < 2; count++) {
			char *sql = calls_store_history_sql(&q, count);
			char *explain = g_strconcat("EXPLAIN QUERY PLAN ", sql, NULL);
			sqlite3_stmt *st = NULL;
			g_assert_cmpint(sqlite3_prepare_v2(db, explain, -1, &st, NULL), ==, SQLITE_OK);
			GString *plan = g_string_new(NULL);
			while(sqlite3_step(st) == SQLITE_ROW)
				g_string_append_printf(plan, "%s; ", (const char *)sqlite3_column_text(st, 3));
			sqlite3_finalize(st);
			if(g_test_verbose())
				g_printerr("%s\n  -> %s\n", sql, plan->str);
			g_assert_null(strstr(plan->str, "SCAN"));
			g_assert_null(strstr(plan->str, "TEMP B-TREE"));
			g_assert_nonnull(strstr(plan->str, "SEARCH participants USING COVERING INDEX participants_history"));
			if(f & 1)
				g_assert_nonnull(strstr(plan->str, "participants_history_chat (user_id=? AND chat_id=?)"));
			else
				g_assert_nonnull(strstr(plan->str, " (user_id=?)"));
			g_string_free(plan, TRUE);
			g_free(explain);
			g_free(sql);
		}
	}
	sqlite3_close(db);
	calls_store_close(store);
	g_free(path);
}

/* ---- Restart ----------------------------------------------------------------- */

static void test_restart_closes_live_calls(void) {
	char *path = db_path();
	gint64 t0 = usec_of("2025-11-29T10:00:00.000Z");
	int closed = -1;
	calls_store *store = open_store(path, t0, &closed);
	g_assert_cmpint(closed, ==, 0);

	/* finished: saved live first, then final; untouched by the restart */
	json_t *parts = json_pack("[o, o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL),
		participant("ben", "PARTICIPANT", "MISSED", NULL, NULL));
	json_t *done = call_new("done", NULL, "AUDIO", "RINGING", "2025-11-29T09:00:00.000Z", parts);
	save(store, done, TRUE, t0 - 10 * G_USEC_PER_SEC);
	json_object_set_new(done, "status", json_string("MISSED"));
	json_object_set_new(done, "endedAt", json_string("2025-11-29T09:00:45.000Z"));
	json_object_set_new(done, "duration", json_integer(0));
	json_object_set_new(done, "endReason", json_string("RING_TIMEOUT"));
	save(store, done, FALSE, t0 - 5 * G_USEC_PER_SEC);

	/* ringing, never connected */
	parts = json_pack("[o, o, o]", participant("ann", "INITIATOR", "JOINED", "2025-11-29T10:00:00.000Z", NULL),
		participant("ben", "PARTICIPANT", "RINGING", NULL, NULL),
		participant("cid", "PARTICIPANT", "DECLINED", NULL, NULL));
	json_t *ringing = call_new("ringing", "chat-1", "AUDIO", "RINGING", "2025-11-29T10:00:00.000Z", parts);
	save(store, ringing, TRUE, t0 + 1 * G_USEC_PER_SEC);

	/* connected at 10:00:05.000 */
	parts = json_pack("[o, o, o, o]", participant("ann", "INITIATOR", "JOINED", "2025-11-29T10:00:00.000Z", NULL),
		participant("ben", "PARTICIPANT", "JOINED", "2025-11-29T10:00:04.000Z", NULL),
		participant("cid", "PARTICIPANT", "RINGING", NULL, NULL),
		participant("dee", "PARTICIPANT", "LEFT", "2025-11-29T10:00:04.500Z", "2025-11-29T10:00:30.000Z"));
	json_t *connected = call_new("connected", "chat-1", "VIDEO", "CONNECTED", "2025-11-29T10:00:01.000Z", parts);
	json_object_set_new(connected, "connectedAt", json_string("2025-11-29T10:00:05.000Z"));
	save(store, connected, TRUE, t0 + 10 * G_USEC_PER_SEC);

	/* both seen alive at 10:01:05.432100 (endedAt keeps the milliseconds) */
	GError *error = NULL;
	g_assert_true(calls_store_touch_live(store, t0 + 65432100, &error));
	g_assert_no_error(error);

	/* saved after the touch: its last save is its last sight, 10:02:00.000 */
	parts = json_pack("[o, o]", participant("ann", "INITIATOR", "JOINED", "2025-11-29T10:01:30.000Z", NULL),
		participant("eve", "PARTICIPANT", "JOINED", "2025-11-29T10:01:31.000Z", NULL));
	json_t *late = call_new("late", NULL, "AUDIO", "CONNECTING", "2025-11-29T10:01:30.000Z", parts);
	json_object_set_new(late, "connectedAt", json_string("2025-11-29T10:01:31.999Z"));
	save(store, late, TRUE, t0 + 120 * G_USEC_PER_SEC);
	calls_store_close(store);

	/* Janus starts again an hour later */
	store = open_store(path, t0 + G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC, &closed);
	g_assert_cmpint(closed, ==, 3);

	json_t *got = get(store, "done");
	g_assert_true(json_equal(got, done));
	json_decref(got);

	got = get(store, "ringing");
	test_assert_json_str(got, "status", "ENDED");
	test_assert_json_str(got, "endReason", "SERVER_RESTART");
	test_assert_json_str(got, "endedAt", "2025-11-29T10:01:05.432Z");
	g_assert_cmpint(json_integer_value(json_object_get(got, "duration")), ==, 0);
	g_assert_true(json_is_null(json_object_get(got, "connectedAt")));
	g_assert_true(json_is_null(json_object_get(got, "endedBy")));
	test_assert_json_str(got, "participants.0.status", "LEFT");
	test_assert_json_str(got, "participants.0.leftAt", "2025-11-29T10:01:05.432Z");
	test_assert_json_str(got, "participants.1.status", "MISSED");
	g_assert_true(json_is_null(test_json_at(got, "participants.1.leftAt")));
	test_assert_json_str(got, "participants.2.status", "DECLINED");
	test_assert_json_str(got, "chatId", "chat-1");
	json_decref(got);

	got = get(store, "connected");
	test_assert_json_str(got, "status", "ENDED");
	test_assert_json_str(got, "endReason", "SERVER_RESTART");
	test_assert_json_str(got, "endedAt", "2025-11-29T10:01:05.432Z");
	g_assert_cmpint(json_integer_value(json_object_get(got, "duration")), ==, 60);   /* 10:00:05.000 -> 10:01:05.432 */
	test_assert_json_str(got, "connectedAt", "2025-11-29T10:00:05.000Z");
	test_assert_json_str(got, "participants.0.status", "LEFT");
	test_assert_json_str(got, "participants.1.status", "LEFT");
	test_assert_json_str(got, "participants.1.leftAt", "2025-11-29T10:01:05.432Z");
	test_assert_json_str(got, "participants.1.joinedAt", "2025-11-29T10:00:04.000Z");
	test_assert_json_str(got, "participants.2.status", "MISSED");
	test_assert_json_str(got, "participants.3.status", "LEFT");
	test_assert_json_str(got, "participants.3.leftAt", "2025-11-29T10:00:30.000Z");
	json_decref(got);

	got = get(store, "late");
	test_assert_json_str(got, "endedAt", "2025-11-29T10:02:00.000Z");
	g_assert_cmpint(json_integer_value(json_object_get(got, "duration")), ==, 28);   /* from 10:01:31.999 */
	json_decref(got);

	/* closed calls are history now, newest first */
	int total = 0;
	calls_history_query q = {.user_id = "ann", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	char *ids = ids_of(calls);
	g_assert_cmpstr(ids, ==, "late,connected,ringing,done");
	g_free(ids);
	json_decref(calls);
	q.status = "ENDED";
	q.chat_id = "chat-1";
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 2);
	json_decref(calls);
	calls_store_close(store);

	/* nothing left to close the next time */
	store = open_store(path, t0 + G_GINT64_CONSTANT(7200) * G_USEC_PER_SEC, &closed);
	g_assert_cmpint(closed, ==, 0);
	got = get(store, "connected");
	test_assert_json_str(got, "endedAt", "2025-11-29T10:01:05.432Z");
	json_decref(got);
	calls_store_close(store);

	json_decref(done);
	json_decref(ringing);
	json_decref(connected);
	json_decref(late);
	g_free(path);
}

/* ---- Files and versions ---------------------------------------------------------- */

static void test_schema_version_and_wal(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	char *version = text_on_file(path, "SELECT group_concat(version) FROM schema_version");
	g_assert_cmpstr(version, ==, "1");
	char *mode = text_on_file(path, "PRAGMA journal_mode");
	g_assert_cmpstr(mode, ==, "wal");
	g_free(version);
	g_free(mode);
	calls_store_close(store);
	/* reopening does not migrate again */
	store = open_store(path, 1, NULL);
	version = text_on_file(path, "SELECT group_concat(version) FROM schema_version");
	g_assert_cmpstr(version, ==, "1");
	g_free(version);
	calls_store_close(store);
	g_free(path);
}

static void test_newer_version_refused(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *parts = json_pack("[o]", participant("ann", "INITIATOR", "JOINED", NULL, NULL));
	json_t *call = call_new("kept", NULL, "AUDIO", "RINGING", "2025-11-29T10:00:00.000Z", parts);
	save(store, call, TRUE, 1);
	json_decref(call);
	calls_store_close(store);
	sql_on_file(path, "UPDATE schema_version SET version = 1000");

	GError *error = NULL;
	int closed = -1;
	store = calls_store_open(path, 2, &closed, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_VERSION);
	g_assert_nonnull(strstr(error->message, "1000"));
	g_assert_cmpint(closed, ==, 0);
	g_clear_error(&error);
	/* the file was left alone: same version, the live call still live */
	char *version = text_on_file(path, "SELECT version FROM schema_version");
	g_assert_cmpstr(version, ==, "1000");
	char *live = text_on_file(path, "SELECT live FROM calls WHERE id = 'kept'");
	g_assert_cmpstr(live, ==, "1");
	g_free(version);
	g_free(live);
	g_free(path);
}

static void test_bad_files_refused(void) {
	char *dir = test_tmpdir();
	GError *error = NULL;
	/* text */
	char *garbage = g_build_filename(dir, "garbage.db", NULL);
	GString *text = g_string_new(NULL);
	while(text->len < 8192)
		g_string_append(text, "this is not an SQLite database, just some text. ");
	g_assert_true(g_file_set_contents(garbage, text->str, (gssize)text->len, NULL));
	calls_store *store = calls_store_open(garbage, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_assert_nonnull(strstr(error->message, "not a database"));
	g_clear_error(&error);
	/* a short file */
	char *short_file = g_build_filename(dir, "short.db", NULL);
	g_assert_true(g_file_set_contents(short_file, "SQLite format 3", -1, NULL));
	store = calls_store_open(short_file, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	/* a real SQLite file whose header was damaged */
	char *damaged = g_build_filename(dir, "damaged.db", NULL);
	store = open_store(damaged, 1, NULL);
	calls_store_close(store);
	char *bytes = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(damaged, &bytes, &len, NULL));
	memset(bytes, 'x', 100);
	g_assert_true(g_file_set_contents(damaged, bytes, (gssize)len, NULL));
	store = calls_store_open(damaged, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	/* a folder that does not exist, a folder, no path */
	char *nowhere = g_build_filename(dir, "no", "such", "folder", "calls.db", NULL);
	store = calls_store_open(nowhere, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	store = calls_store_open(dir, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	store = calls_store_open(NULL, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	/* a foreign SQLite database with a table of the same name */
	char *foreign = g_build_filename(dir, "foreign.db", NULL);
	sql_on_file(foreign, "CREATE TABLE calls (x)");
	store = calls_store_open(foreign, 1, NULL, &error);
	g_assert_null(store);
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_assert_nonnull(strstr(error->message, "already exists"));
	g_clear_error(&error);

	g_free(bytes);
	g_string_free(text, TRUE);
	g_free(garbage);
	g_free(short_file);
	g_free(damaged);
	g_free(nowhere);
	g_free(foreign);
	g_free(dir);
}

/* ---- Bad input ---------------------------------------------------------------- */

static void assert_save_refused(calls_store *store, const char *text, const char *message_part) {
	json_t *call = text ? test_json(text) : NULL;
	GError *error = NULL;
	g_assert_false(calls_store_save(store, call, FALSE, 5, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	if(message_part != NULL && strstr(error->message, message_part) == NULL)
		g_error("\"%s\" does not say \"%s\"", error->message, message_part);
	g_clear_error(&error);
	json_decref(call);
}

#define GOOD_PARTICIPANT \
	"{\"userId\": \"ann\", \"role\": \"INITIATOR\", \"status\": \"LEFT\"," \
	" \"isMuted\": false, \"isVideoEnabled\": false, \"isSharingScreen\": false}"
#define CALL_WITH(extra, parts) \
	"{\"id\": \"kept\", \"roomId\": \"r\", \"type\": \"AUDIO\", \"status\": \"FAILED\", \"initiatorId\": \"ann\"," \
	" \"startedAt\": \"2025-11-29T10:00:00.000Z\"" extra ", \"participants\": [" parts "]}"

static void test_bad_input(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *kept = test_json(CALL_WITH(", \"chatId\": \"chat\"", GOOD_PARTICIPANT));
	save(store, kept, FALSE, 1);
	json_t *before = get(store, "kept");

	/* every refused save of "kept" leaves the stored one as it was */
	assert_save_refused(store, NULL, "JSON object");
	assert_save_refused(store, "\"kept\"", "JSON object");
	assert_save_refused(store, "[]", "JSON object");
	assert_save_refused(store, "{}", "\"id\"");
	assert_save_refused(store, "{\"id\": 7}", "\"id\"");
	assert_save_refused(store, "{\"id\": \"kept\", \"roomId\": null}", "\"roomId\"");
	assert_save_refused(store, CALL_WITH(", \"chatId\": 5", GOOD_PARTICIPANT), "\"chatId\"");
	assert_save_refused(store, CALL_WITH(", \"duration\": \"12\"", GOOD_PARTICIPANT), "\"duration\"");
	assert_save_refused(store, CALL_WITH(", \"duration\": 1.5", GOOD_PARTICIPANT), "\"duration\"");
	assert_save_refused(store,
		"{\"id\": \"kept\", \"roomId\": \"r\", \"type\": \"AUDIO\", \"status\": \"FAILED\", \"initiatorId\": \"ann\","
		" \"startedAt\": \"2025-11-29T10:00:00.000Z\"}", "participants");
	assert_save_refused(store,
		"{\"id\": \"kept\", \"roomId\": \"r\", \"type\": \"AUDIO\", \"status\": \"FAILED\", \"initiatorId\": \"ann\","
		" \"startedAt\": \"2025-11-29T10:00:00.000Z\", \"participants\": {}}", "participants");
	assert_save_refused(store, CALL_WITH("", "\"ann\""), "participant 0");
	assert_save_refused(store, CALL_WITH("", GOOD_PARTICIPANT ", null"), "participant 1");
	assert_save_refused(store, CALL_WITH("", GOOD_PARTICIPANT ", {\"role\": \"PARTICIPANT\"}"), "\"userId\"");
	assert_save_refused(store, CALL_WITH("", "{\"userId\": \"ann\", \"role\": \"INITIATOR\", \"status\": \"LEFT\","
		" \"isMuted\": \"no\", \"isVideoEnabled\": false, \"isSharingScreen\": false}"), "\"isMuted\"");
	assert_save_refused(store, CALL_WITH("", "{\"userId\": \"ann\", \"role\": \"INITIATOR\", \"status\": \"LEFT\","
		" \"isMuted\": false, \"isVideoEnabled\": false}"), "\"isSharingScreen\"");
	assert_save_refused(store, CALL_WITH("", GOOD_PARTICIPANT ", " GOOD_PARTICIPANT), "twice");

	json_t *after = get(store, "kept");
	g_assert_true(json_equal(before, after));
	json_decref(after);
	g_assert_null(get(store, "bad"));

	/* the store still works, and the history was not touched */
	int total = -1;
	calls_history_query q = {.user_id = "ann", .chat_id = "chat", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 1);
	json_decref(calls);

	/* bad queries */
	GError *error = NULL;
	const calls_history_query bad[] = {
		{.user_id = NULL, .page = 1, .limit = 10}, {.user_id = "ann", .page = 0, .limit = 10},
		{.user_id = "ann", .page = 1, .limit = 0}, {.user_id = "ann", .page = 1, .limit = 101},
		{.user_id = "ann", .page = -3, .limit = 10},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		total = -1;
		g_assert_null(calls_store_history(store, &bad[i], &total, &error));
		g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
		g_assert_cmpint(total, ==, 0);
		g_clear_error(&error);
	}
	g_assert_null(calls_store_history(store, NULL, NULL, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_null(calls_store_get(store, NULL, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	/* a huge page is just empty */
	calls_history_query far = {.user_id = "ann", .page = G_MAXINT, .limit = 100};
	calls = history(store, &far, &total);
	g_assert_cmpuint(json_array_size(calls), ==, 0);
	g_assert_cmpint(total, ==, 1);
	json_decref(calls);
	/* errors may be ignored by the caller */
	g_assert_false(calls_store_save(store, NULL, FALSE, 1, NULL));
	g_assert_null(calls_store_history(store, &bad[0], NULL, NULL));

	json_decref(before);
	json_decref(kept);
	calls_store_close(store);
	calls_store_close(NULL);
	g_free(path);
}

/* ---- Batches ------------------------------------------------------------------- */

static void test_batch(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	GError *error = NULL;
	g_assert_true(calls_store_begin(store, &error));
	g_assert_no_error(error);
	for(int i = 0; i < 3; i++) {
		char id[16];
		g_snprintf(id, sizeof(id), "batch-%d", i);
		json_t *call = call_new(id, NULL, "AUDIO", "ENDED", "2025-11-29T10:00:00.000Z",
			json_pack("[o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL)));
		save(store, call, FALSE, 1);
		json_decref(call);
		if(i == 1)   /* a bad call inside the batch fails alone */
			assert_save_refused(store, CALL_WITH("", GOOD_PARTICIPANT ", " GOOD_PARTICIPANT), "twice");
	}
	/* reads inside the batch see its writes */
	int total = 0;
	calls_history_query q = {.user_id = "ann", .page = 1, .limit = 10};
	json_t *calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 3);
	json_decref(calls);
	g_assert_true(calls_store_commit(store, &error));
	g_assert_no_error(error);
	calls_store_close(store);

	store = open_store(path, 1, NULL);
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 3);
	json_decref(calls);
	g_assert_null(get(store, "kept"));
	/* a commit without a batch, a batch in a batch: refused, not a crash */
	g_assert_false(calls_store_commit(store, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_true(calls_store_begin(store, &error));
	g_assert_false(calls_store_begin(store, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	json_t *call = call_new("batch-9", NULL, "AUDIO", "ENDED", "2025-11-29T11:00:00.000Z",
		json_pack("[o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL)));
	save(store, call, FALSE, 1);
	json_decref(call);
	g_assert_true(calls_store_commit(store, &error));
	g_assert_no_error(error);
	calls = history(store, &q, &total);
	g_assert_cmpint(total, ==, 4);
	test_assert_json_str(calls, "0.id", "batch-9");
	json_decref(calls);
	calls_store_close(store);
	g_free(path);
}

/* An SQLite failure half-way through a save (here a trigger that aborts on the
 * participant "boom") undoes the whole save, or the whole batch. */
static void test_sqlite_failure_rolls_back(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *call = call_new("call-1", "chat", "AUDIO", "ENDED", "2025-11-29T10:00:00.000Z",
		json_pack("[o, o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL),
			participant("ben", "PARTICIPANT", "LEFT", NULL, NULL)));
	save(store, call, FALSE, 1);
	sql_on_file(path, "CREATE TRIGGER boom BEFORE INSERT ON participants WHEN NEW.user_id = 'boom'"
		" BEGIN SELECT RAISE(ABORT, 'no boom here'); END");

	/* the call row is upserted and ann written before boom fails: none of it stays */
	json_t *bad = call_new("call-1", NULL, "VIDEO", "FAILED", "2025-11-29T10:00:00.000Z",
		json_pack("[o, o]", participant("ann", "INITIATOR", "FAILED", NULL, NULL),
			participant("boom", "PARTICIPANT", "FAILED", NULL, NULL)));
	GError *error = NULL;
	g_assert_false(calls_store_save(store, bad, FALSE, 2, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_assert_nonnull(strstr(error->message, "no boom here"));
	g_clear_error(&error);
	json_t *got = get(store, "call-1");
	g_assert_true(json_equal(got, call));
	json_decref(got);

	/* in a batch: the failure fails the batch, and the commit rolls all of it back */
	g_assert_true(calls_store_begin(store, &error));
	json_t *other = call_new("call-2", NULL, "AUDIO", "ENDED", "2025-11-29T11:00:00.000Z",
		json_pack("[o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL)));
	save(store, other, FALSE, 3);
	g_assert_false(calls_store_save(store, bad, FALSE, 3, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	g_assert_false(calls_store_save(store, other, FALSE, 3, &error));   /* the batch is over */
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	g_assert_false(calls_store_commit(store, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_assert_nonnull(strstr(error->message, "rolled back"));
	g_clear_error(&error);
	g_assert_null(get(store, "call-2"));
	got = get(store, "call-1");
	g_assert_true(json_equal(got, call));
	json_decref(got);

	/* and the store goes on */
	save(store, other, FALSE, 4);
	got = get(store, "call-2");
	g_assert_true(json_equal(got, other));
	json_decref(got);
	json_decref(call);
	json_decref(bad);
	json_decref(other);
	calls_store_close(store);
	g_free(path);
}

/* ---- Write-behind ------------------------------------------------------------ */

static void queue(calls_store *store, json_t *call, gboolean live, gint64 now) {
	GError *error = NULL;
	g_assert_true(calls_store_queue(store, call, live, now, &error));
	g_assert_no_error(error);
}

static void test_queue_flush(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	json_t *ringing = call_new("call-q", "chat", "VIDEO", "RINGING", "2025-11-29T10:00:00.000Z",
		json_pack("[o, o]", participant("ann", "INITIATOR", "JOINED", "2025-11-29T10:00:00.000Z", NULL),
			participant("ben", "PARTICIPANT", "RINGING", NULL, NULL)));
	json_t *ended = call_new("call-q", "chat", "VIDEO", "DECLINED", "2025-11-29T10:00:00.000Z",
		json_pack("[o, o]", participant("ann", "INITIATOR", "LEFT", "2025-11-29T10:00:00.000Z", NULL),
			participant("ben", "PARTICIPANT", "DECLINED", NULL, NULL)));

	/* queued: nothing on disk yet */
	queue(store, ringing, TRUE, 2);
	queue(store, ended, FALSE, 3);
	g_assert_cmpuint(calls_store_queued(store), ==, 1);   /* the later state replaced the earlier */
	char *count = text_on_file(path, "SELECT count(*) FROM calls");
	g_assert_cmpstr(count, ==, "0");
	g_free(count);

	/* a flush writes it: the last state, once */
	GError *error = NULL;
	g_assert_true(calls_store_flush(store, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(calls_store_queued(store), ==, 0);
	char *status = text_on_file(path, "SELECT status FROM calls WHERE id = 'call-q'");
	g_assert_cmpstr(status, ==, "DECLINED");
	g_free(status);
	g_assert_true(calls_store_flush(store, &error));   /* nothing queued: nothing to do */

	/* every read sees what is queued */
	json_t *missed = call_new("call-r", NULL, "AUDIO", "MISSED", "2025-11-29T11:00:00.000Z",
		json_pack("[o, o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL),
			participant("cid", "PARTICIPANT", "MISSED", NULL, NULL)));
	queue(store, missed, FALSE, 4);
	json_t *got = get(store, "call-r");
	g_assert_true(json_equal(got, missed));
	json_decref(got);
	queue(store, ringing, TRUE, 5);   /* call-q live again (a re-invite): out of the history */
	calls_history_query q = { .user_id = "ann", .page = 1, .limit = 10 };
	int total = 0;
	json_t *calls = history(store, &q, &total);
	char *ids = ids_of(calls);
	g_assert_cmpstr(ids, ==, "call-r");
	g_assert_cmpint(total, ==, 1);
	g_free(ids);
	json_decref(calls);

	/* a bad call is refused at once, and queues nothing */
	json_t *bad = json_pack("{s:s}", "id", "call-bad");
	g_assert_false(calls_store_queue(store, bad, FALSE, 6, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_cmpuint(calls_store_queued(store), ==, 0);

	/* closing writes what is still queued */
	queue(store, ended, FALSE, 7);
	calls_store_close(store);
	store = open_store(path, 8, NULL);
	got = get(store, "call-q");
	g_assert_true(json_equal(got, ended));
	json_decref(got);
	calls_store_close(store);
	json_decref(ringing);
	json_decref(ended);
	json_decref(missed);
	json_decref(bad);
	g_free(path);
}

static void test_queue_failure_kept(void) {
	char *path = db_path();
	calls_store *store = open_store(path, 1, NULL);
	sql_on_file(path, "CREATE TRIGGER boom BEFORE INSERT ON participants WHEN NEW.user_id = 'boom'"
		" BEGIN SELECT RAISE(ABORT, 'no boom here'); END");
	json_t *good = call_new("call-g", NULL, "AUDIO", "ENDED", "2025-11-29T10:00:00.000Z",
		json_pack("[o]", participant("ann", "INITIATOR", "LEFT", NULL, NULL)));
	json_t *bad = call_new("call-b", NULL, "AUDIO", "ENDED", "2025-11-29T10:00:00.000Z",
		json_pack("[o]", participant("boom", "INITIATOR", "LEFT", NULL, NULL)));
	queue(store, good, FALSE, 2);
	queue(store, bad, FALSE, 2);
	/* the batch fails as a whole, and nothing is lost: both stay queued */
	GError *error = NULL;
	g_assert_false(calls_store_flush(store, &error));
	g_assert_error(error, CALLS_STORE_ERROR, CALLS_STORE_ERROR_SQLITE);
	g_clear_error(&error);
	g_assert_cmpuint(calls_store_queued(store), ==, 2);
	char *count = text_on_file(path, "SELECT count(*) FROM calls");
	g_assert_cmpstr(count, ==, "0");
	g_free(count);
	/* once the cause is gone, the next flush writes both */
	sql_on_file(path, "DROP TRIGGER boom");
	g_assert_true(calls_store_flush(store, &error));
	g_assert_no_error(error);
	count = text_on_file(path, "SELECT count(*) FROM calls");
	g_assert_cmpstr(count, ==, "2");
	g_free(count);
	calls_store_close(store);
	json_decref(good);
	json_decref(bad);
	g_free(path);
}

int main(int argc, char *argv[]) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store/save-get-roundtrip", test_save_get_roundtrip);
	g_test_add_func("/store/upsert-replaces-participants", test_upsert_replaces_participants);
	g_test_add_func("/store/history/order-ties", test_history_order_ties);
	g_test_add_func("/store/history/filters-pages", test_history_filters_pages);
	g_test_add_func("/store/history/excludes-live", test_history_excludes_live);
	g_test_add_func("/store/history/query-plans", test_history_query_plans);
	g_test_add_func("/store/restart-closes-live-calls", test_restart_closes_live_calls);
	g_test_add_func("/store/schema-version-and-wal", test_schema_version_and_wal);
	g_test_add_func("/store/newer-version-refused", test_newer_version_refused);
	g_test_add_func("/store/bad-files-refused", test_bad_files_refused);
	g_test_add_func("/store/bad-input", test_bad_input);
	g_test_add_func("/store/batch", test_batch);
	g_test_add_func("/store/sqlite-failure-rolls-back", test_sqlite_failure_rolls_back);
	g_test_add_func("/store/queue/flush", test_queue_flush);
	g_test_add_func("/store/queue/failure-kept", test_queue_failure_kept);
	return g_test_run();
}
