/* janus.plugin.calls - benchmark of the call history store (plugin/store.c).
 *
 * Fills a fresh store with CALLS finished calls (default 1,000,000) among
 * 10,000 users, in batches of 1,000 calls per transaction, then times:
 *   - calls_store_history: a user's first page, the user's last page, and
 *     each filter (chatId, type, status), for 200 users picked at random and
 *     for one heavy user who is in 2% of all calls;
 *   - calls_store_save of live calls as the worker does it (one transaction
 *     per save): 1,000 concurrent calls going RINGING, CONNECTING, CONNECTED
 *     (live) and then ENDED (final); calls_store_touch_live over them;
 *   - calls_store_open of the full file, with 1,000 live calls to close.
 * It prints the query plans of the history statements on the full file too.
 *
 * Build (from the repository root):
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Iplugin $(pkg-config --cflags glib-2.0 jansson sqlite3) \
 *       plugin/store.c bench/store_bench.c -o store_bench $(pkg-config --libs glib-2.0 jansson sqlite3)
 * Run:
 *   ./store_bench [DB_PATH [CALLS]]     DB_PATH (default /tmp/calls-store-bench.db)
 *                                        is overwritten, with its -wal and -shm files
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include "store.h"

#define USERS 10000
#define CHATS_PER_USER 5
#define CONTACTS 30          /* a user calls among the next 30 users */
#define BATCH 1000
#define SAMPLE_USERS 200
#define HEAVY_RUNS 50
#define LIVE_CALLS 1000
#define HEAVY_PERCENT 2

typedef char uuid[37];

static GRand *rng;
static uuid *users, *chats;
static gint64 base_usec;     /* 2025-01-01T00:00:00Z */

static void make_uuid(char *out) {
	guint32 a = g_rand_int(rng), b = g_rand_int(rng), c = g_rand_int(rng), d = g_rand_int(rng);
	g_snprintf(out, sizeof(uuid), "%08x-%04x-4%03x-%04x-%04x%08x",
		a, b >> 16, b & 0xfff, 0x8000 | (c >> 18), c & 0xffff, d);
}

static void iso(gint64 usec, char *out, size_t size) {
	time_t secs = (time_t)(usec / G_USEC_PER_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	g_snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(usec % G_USEC_PER_SEC / 1000));
}

static json_t *json_time(gint64 usec) {
	char text[64];
	iso(usec, text, sizeof(text));
	return usec ? json_string(text) : json_null();
}

static json_t *participant(int user, gboolean initiator, const char *status, gint64 joined, gint64 left) {
	char name[32], avatar[96];
	g_snprintf(name, sizeof(name), "User %d", user);
	g_snprintf(avatar, sizeof(avatar), "https://avatars.example.com/%s.png", users[user]);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b, s:b}",
		"userId", users[user], "userName", name, "avatar", avatar,
		"role", initiator ? "INITIATOR" : "PARTICIPANT", "status", status,
		"joinedAt", json_time(joined), "leftAt", json_time(left),
		"isMuted", 0, "isVideoEnabled", 1, "isSharingScreen", 0);
}

static const char *pick_status(void) {
	int r = g_rand_int_range(rng, 0, 100);
	return r < 70 ? "ENDED" : r < 85 ? "MISSED" : r < 92 ? "DECLINED" : r < 96 ? "FAILED" : "BUSY";
}

/* A finished call started at `started`, among the initiator's contacts. */
static json_t *finished_call(gint64 started) {
	int initiator = g_rand_int_range(rng, 1, USERS);   /* user 0 is the heavy one */
	int r = g_rand_int_range(rng, 0, 100);
	int others = r < 60 ? 1 : r < 85 ? 2 : 3;
	const char *status = pick_status();
	gboolean ended = strcmp(status, "ENDED") == 0;
	gint64 connected = ended ? started + 5 * G_USEC_PER_SEC : 0;
	gint64 end = ended ? connected + g_rand_int_range(rng, 10, 3600) * (gint64)G_USEC_PER_SEC
		: started + 45 * (gint64)G_USEC_PER_SEC;
	const char *invitee = ended ? "LEFT" : strcmp(status, "DECLINED") == 0 ? "DECLINED"
		: strcmp(status, "BUSY") == 0 ? "BUSY" : strcmp(status, "FAILED") == 0 ? "FAILED" : "MISSED";

	json_t *parts = json_array();
	json_array_append_new(parts, participant(initiator, TRUE, "LEFT", started, end));
	int offset = g_rand_int_range(rng, 1, CONTACTS - 3);
	for(int k = 0; k < others; k++) {
		int user = (initiator + offset + k) % USERS;
		json_array_append_new(parts, participant(user, FALSE, invitee, ended ? connected : 0, ended ? end : 0));
	}
	gboolean heavy_in = FALSE;
	for(size_t k = 0; k < json_array_size(parts); k++)
		heavy_in |= strcmp(json_string_value(json_object_get(json_array_get(parts, k), "userId")), users[0]) == 0;
	if(!heavy_in && g_rand_int_range(rng, 0, 100) < HEAVY_PERCENT)
		json_array_append_new(parts, participant(0, FALSE, invitee, ended ? connected : 0, ended ? end : 0));

	uuid id, room;
	make_uuid(id);
	make_uuid(room);
	const char *chat = g_rand_int_range(rng, 0, 100) < 15 ? NULL
		: chats[initiator * CHATS_PER_USER + g_rand_int_range(rng, 0, CHATS_PER_USER)];
	const char *end_reason = ended ? "HANGUP" : strcmp(status, "MISSED") == 0 ? "RING_TIMEOUT"
		: strcmp(status, "DECLINED") == 0 ? "DECLINED" : strcmp(status, "BUSY") == 0 ? "BUSY" : "CONNECT_TIMEOUT";
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:s?, s:s}",
		"id", id, "roomId", room, "chatId", chat, "type", g_rand_int_range(rng, 0, 100) < 60 ? "AUDIO" : "VIDEO",
		"status", status, "initiatorId", users[initiator], "participants", parts,
		"startedAt", json_time(started), "connectedAt", json_time(connected), "endedAt", json_time(end),
		"duration", (json_int_t)(ended ? (end - connected) / G_USEC_PER_SEC : 0),
		"endedBy", ended ? users[initiator] : NULL, "endReason", end_reason);
}

static void die(const char *what, GError *error) {
	fprintf(stderr, "store_bench: %s: %s\n", what, error ? error->message : "failed");
	exit(1);
}

/* ---- Timing ----------------------------------------------------------------------- */

typedef struct sample {
	GArray *ms;       /* double */
	double totals;    /* sum of `total` answered, for the average */
} sample;

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void print_row(const char *name, sample *s, gboolean with_totals) {
	GArray *v = s->ms;
	qsort(v->data, v->len, sizeof(double), cmp_double);
	double sum = 0;
	for(guint i = 0; i < v->len; i++)
		sum += g_array_index(v, double, i);
	guint n = v->len;
	printf("%-34s %6u %9.3f %9.3f %9.3f %9.3f", name, n, g_array_index(v, double, n / 2),
		g_array_index(v, double, MIN(n - 1, n * 95 / 100)), g_array_index(v, double, n - 1), sum / n);
	if(with_totals)
		printf(" %9.0f", s->totals / n);
	printf("\n");
}

static double elapsed_ms(gint64 since) {
	return (double)(g_get_monotonic_time() - since) / 1000.0;
}

/* One timed history query; returns the calls (owned) and records the time. */
static json_t *timed_history(calls_store *store, calls_history_query *q, sample *s) {
	GError *error = NULL;
	int total = 0;
	gint64 t = g_get_monotonic_time();
	json_t *calls = calls_store_history(store, q, &total, &error);
	double ms = elapsed_ms(t);
	if(calls == NULL)
		die("history", error);
	if(s != NULL) {
		g_array_append_val(s->ms, ms);
		s->totals += total;
	}
	return calls;
}

enum { Q_FIRST, Q_LAST, Q_CHAT, Q_TYPE, Q_STATUS, Q_KINDS };
static const char *const query_names[Q_KINDS] = {
	"first page (limit 10)", "last page (limit 10)", "chatId filter, first page",
	"type=VIDEO, first page", "status=MISSED, first page",
};

/* The five queries for one user; `s` may be NULL (warm-up). */
static void user_queries(calls_store *store, const char *user, sample *s) {
	calls_history_query q = {.user_id = user, .page = 1, .limit = 10};
	int total = 0;
	GError *error = NULL;
	json_t *first = calls_store_history(store, &q, &total, &error);   /* for the total and a chat */
	if(first == NULL)
		die("history", error);
	const char *chat = NULL;
	for(size_t i = 0; chat == NULL && i < json_array_size(first); i++)
		chat = json_string_value(json_object_get(json_array_get(first, i), "chatId"));
	json_decref(timed_history(store, &q, s ? &s[Q_FIRST] : NULL));
	q.page = MAX(1, (total + q.limit - 1) / q.limit);
	json_decref(timed_history(store, &q, s ? &s[Q_LAST] : NULL));
	q.page = 1;
	if(chat != NULL) {
		q.chat_id = chat;
		json_decref(timed_history(store, &q, s ? &s[Q_CHAT] : NULL));
		q.chat_id = NULL;
	}
	q.type = "VIDEO";
	json_decref(timed_history(store, &q, s ? &s[Q_TYPE] : NULL));
	q.type = NULL;
	q.status = "MISSED";
	json_decref(timed_history(store, &q, s ? &s[Q_STATUS] : NULL));
	json_decref(first);
}

static void samples_init(sample *s, int n) {
	for(int i = 0; i < n; i++) {
		s[i].ms = g_array_new(FALSE, FALSE, sizeof(double));
		s[i].totals = 0;
	}
}

static void samples_free(sample *s, int n) {
	for(int i = 0; i < n; i++)
		g_array_free(s[i].ms, TRUE);
}

/* ---- Phases ----------------------------------------------------------------------- */

static void fill(calls_store *store, long n) {
	GError *error = NULL;
	double save_ms = 0;
	long rows = 0;
	gint64 span = G_GINT64_CONSTANT(365) * 86400 * G_USEC_PER_SEC;
	gint64 start = g_get_monotonic_time();
	json_t **batch = g_new(json_t *, BATCH);
	for(long done = 0; done < n; ) {
		int size = (int)MIN(BATCH, n - done);
		for(int i = 0; i < size; i++) {
			gint64 started = base_usec + span / n * (done + i) + g_rand_int_range(rng, 0, 60000) * (gint64)1000;
			batch[i] = finished_call(started);
			rows += (long)json_array_size(json_object_get(batch[i], "participants"));
		}
		gint64 t = g_get_monotonic_time();
		if(!calls_store_begin(store, &error))
			die("begin", error);
		for(int i = 0; i < size; i++)
			if(!calls_store_save(store, batch[i], FALSE, base_usec + span, &error))
				die("save", error);
		if(!calls_store_commit(store, &error))
			die("commit", error);
		save_ms += elapsed_ms(t);
		for(int i = 0; i < size; i++)
			json_decref(batch[i]);
		done += size;
		if(done % 100000 == 0 || done == n) {
			fprintf(stderr, "\r  filled %ld / %ld calls", done, n);
			fflush(stderr);
		}
	}
	fprintf(stderr, "\n");
	g_free(batch);
	printf("fill: %ld calls, %ld participant rows (%.2f per call), batches of %d\n", n, rows, (double)rows / n, BATCH);
	printf("  in the store: %.1f s  -> %.0f calls/s, %.0f participant rows/s\n",
		save_ms / 1000, n / (save_ms / 1000), rows / (save_ms / 1000));
	printf("  wall, with building the JSON: %.1f s\n\n", elapsed_ms(start) / 1000);
}

static void queries(calls_store *store) {
	sample typical[Q_KINDS], heavy[Q_KINDS];
	samples_init(typical, Q_KINDS);
	samples_init(heavy, Q_KINDS);
	int picks[SAMPLE_USERS];
	for(int i = 0; i < SAMPLE_USERS; i++)
		picks[i] = g_rand_int_range(rng, 1, USERS);
	for(int i = 0; i < SAMPLE_USERS; i++)   /* warm-up: the first touch of a user reads the file */
		user_queries(store, users[picks[i]], NULL);
	for(int i = 0; i < SAMPLE_USERS; i++)
		user_queries(store, users[picks[i]], typical);
	for(int i = 0; i < HEAVY_RUNS; i++)
		user_queries(store, users[0], heavy);

	printf("%-34s %6s %9s %9s %9s %9s %9s\n", "history query", "runs", "p50 ms", "p95 ms", "max ms", "mean ms", "avg total");
	printf("%d users picked at random:\n", SAMPLE_USERS);
	for(int k = 0; k < Q_KINDS; k++)
		print_row(query_names[k], &typical[k], TRUE);
	printf("the heavy user (in %d%% of all calls), %d runs:\n", HEAVY_PERCENT, HEAVY_RUNS);
	for(int k = 0; k < Q_KINDS; k++)
		print_row(query_names[k], &heavy[k], TRUE);
	printf("\n");
	samples_free(typical, Q_KINDS);
	samples_free(heavy, Q_KINDS);
}

/* LIVE_CALLS concurrent calls through their states, one transaction per save as in the plugin. */
static void live_saves(calls_store *store) {
	static const char *const states[] = {"RINGING", "CONNECTING", "CONNECTED", "ENDED"};
	sample s[5];
	samples_init(s, 5);
	GError *error = NULL;
	json_t **calls = g_new(json_t *, LIVE_CALLS);
	gint64 now = base_usec + G_GINT64_CONSTANT(366) * 86400 * G_USEC_PER_SEC;
	for(int i = 0; i < LIVE_CALLS; i++) {
		calls[i] = finished_call(now);
		json_t *p;
		size_t k;
		json_array_foreach(json_object_get(calls[i], "participants"), k, p)
			json_object_set_new(p, "status", json_string(k == 0 ? "JOINED" : "RINGING"));
		json_object_set_new(calls[i], "connectedAt", json_null());
		json_object_set_new(calls[i], "endedAt", json_null());
		json_object_set_new(calls[i], "duration", json_null());
		json_object_set_new(calls[i], "endedBy", json_null());
		json_object_set_new(calls[i], "endReason", json_null());
	}
	for(int state = 0; state < 4; state++) {
		gboolean live = state < 3;
		if(state == 3) {   /* every call is live now: one touch */
			gint64 t = g_get_monotonic_time();
			if(!calls_store_touch_live(store, now, &error))
				die("touch_live", error);
			double ms = elapsed_ms(t);
			g_array_append_val(s[4].ms, ms);
		}
		for(int i = 0; i < LIVE_CALLS; i++) {
			json_object_set_new(calls[i], "status", json_string(states[state]));
			if(state == 1)
				json_object_set_new(json_array_get(json_object_get(calls[i], "participants"), 1),
					"status", json_string("JOINED"));
			gint64 t = g_get_monotonic_time();
			if(!calls_store_save(store, calls[i], live, now, &error))
				die("live save", error);
			double ms = elapsed_ms(t);
			g_array_append_val(s[state].ms, ms);
		}
	}
	printf("%-34s %6s %9s %9s %9s %9s\n", "save (one transaction each)", "runs", "p50 ms", "p95 ms", "max ms", "mean ms");
	const char *const names[] = {"new live call (RINGING)", "live update (CONNECTING)", "live update (CONNECTED)",
		"final save (ENDED, not live)", "touch_live (1000 live calls)"};
	for(int k = 0; k < 5; k++)
		print_row(names[k], &s[k], FALSE);
	for(int k = 0; k < 4; k++) {
		double sum = 0;
		for(guint i = 0; i < s[k].ms->len; i++)
			sum += g_array_index(s[k].ms, double, i);
		printf("  %-32s %.0f saves/s\n", names[k], s[k].ms->len / (sum / 1000));
	}
	printf("\n");
	for(int i = 0; i < LIVE_CALLS; i++)
		json_decref(calls[i]);
	g_free(calls);
	samples_free(s, 5);
}

static void leave_live_calls(calls_store *store) {
	GError *error = NULL;
	gint64 now = base_usec + G_GINT64_CONSTANT(367) * 86400 * G_USEC_PER_SEC;
	for(int i = 0; i < LIVE_CALLS; i++) {
		json_t *call = finished_call(now);
		json_object_set_new(call, "status", json_string("CONNECTED"));
		if(!calls_store_save(store, call, TRUE, now, &error))
			die("live save", error);
		json_decref(call);
	}
}

static void print_plans(const char *path) {
	sqlite3 *db = NULL;
	if(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die("opening for EXPLAIN", NULL);
	printf("query plans on the full file (filters: C=chatId T=type S=status):\n");
	for(unsigned f = 0; f < 8; f++) {
		calls_history_query q = {.user_id = "u", .chat_id = (f & 1) ? "c" : NULL,
			.type = (f & 2) ? "t" : NULL, .status = (f & 4) ? "s" : NULL, .page = 1, .limit = 10};
		for(int count = 0; count < 2; count++) {
			char *sql = calls_store_history_sql(&q, count);
			char *explain = g_strconcat("EXPLAIN QUERY PLAN ", sql, NULL);
			sqlite3_stmt *st = NULL;
			if(sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK)
				die(sqlite3_errmsg(db), NULL);
			printf("  %c%c%c %-5s", (f & 1) ? 'C' : '-', (f & 2) ? 'T' : '-', (f & 4) ? 'S' : '-', count ? "count" : "page");
			while(sqlite3_step(st) == SQLITE_ROW)
				printf("  %s", (const char *)sqlite3_column_text(st, 3));
			printf("\n");
			sqlite3_finalize(st);
			g_free(explain);
			g_free(sql);
		}
	}
	sqlite3_close(db);
	printf("\n");
}

static void remove_db(const char *path) {
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for(size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *file = g_strconcat(path, suffixes[i], NULL);
		g_unlink(file);
		g_free(file);
	}
}

static double file_mb(const char *path) {
	GStatBuf st;
	return g_stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

int main(int argc, char *argv[]) {
	const char *path = argc > 1 ? argv[1] : "/tmp/calls-store-bench.db";
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
	if(argc > 3 || n < 1) {
		fprintf(stderr, "usage: %s [DB_PATH (overwritten) [CALLS (default 1000000)]]\n", argv[0]);
		return 2;
	}
	rng = g_rand_new_with_seed(20251129);
	users = g_new(uuid, USERS);
	chats = g_new(uuid, USERS * CHATS_PER_USER);
	for(int i = 0; i < USERS; i++)
		make_uuid(users[i]);
	for(int i = 0; i < USERS * CHATS_PER_USER; i++)
		make_uuid(chats[i]);
	GDateTime *base = g_date_time_new_utc(2025, 1, 1, 0, 0, 0);
	base_usec = g_date_time_to_unix(base) * G_USEC_PER_SEC;
	g_date_time_unref(base);

	printf("store_bench: %s, %ld calls, %d users, SQLite %s\n\n", path, n, USERS, sqlite3_libversion());
	remove_db(path);
	GError *error = NULL;
	calls_store *store = calls_store_open(path, base_usec, NULL, &error);
	if(store == NULL)
		die("open", error);
	fill(store, n);
	calls_store_close(store);
	printf("file: %.0f MB\n\n", file_mb(path));
	print_plans(path);

	store = calls_store_open(path, base_usec, NULL, &error);
	if(store == NULL)
		die("open", error);
	queries(store);
	live_saves(store);
	leave_live_calls(store);
	calls_store_close(store);

	int closed = 0;
	gint64 t = g_get_monotonic_time();
	store = calls_store_open(path, base_usec + G_GINT64_CONSTANT(368) * 86400 * G_USEC_PER_SEC, &closed, &error);
	double open_ms = elapsed_ms(t);
	if(store == NULL)
		die("open", error);
	printf("calls_store_open of the full file, closing %d live calls: %.1f ms\n", closed, open_ms);
	calls_store_close(store);
	t = g_get_monotonic_time();
	store = calls_store_open(path, base_usec, &closed, &error);
	open_ms = elapsed_ms(t);
	if(store == NULL)
		die("open", error);
	printf("calls_store_open of the full file, nothing to close:   %.1f ms\n", open_ms);
	calls_store_close(store);

	g_free(users);
	g_free(chats);
	g_rand_free(rng);
	return 0;
}
