/* janus.plugin.calls - unit tests of the store thread (storeq.c) and the
 * ordered pushes (pusher.c), with a real SQLite file and real threads.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>
#include "storeq.h"
#include "pusher.h"
#include "testutil.h"

/* ---- The store thread -------------------------------------------------------------------------- */

typedef struct fixture {
	char *dir, *path;
	calls_storeq *q;
	sqlite3 *peek;            /* a second connection: what is really in the file */
	GMutex lock;
	GPtrArray *dispatched;    /* item names, in dispatch order */
	GPtrArray *logs;
	guint not_written;        /* items dispatched before their call was in the file */
	gboolean expect_written;  /* check each item's call in the file when it is dispatched */
} fixture;

static fixture F;

/* Statuses in the order the tests move calls through them. */
static int rank(const char *status) {
	const char *order[] = { "RINGING", "CONNECTING", "ENDED" };
	for(int i = 0; i < 3; i++)
		if(strcmp(status, order[i]) == 0)
			return i;
	return -1;
}

/* An item names the call whose state it announces: "<callId>:<status>". */
static char *peek_status(const char *call_id) {
	sqlite3_stmt *st = NULL;
	g_assert_cmpint(sqlite3_prepare_v2(F.peek, "SELECT status FROM calls WHERE id = ?1", -1, &st, NULL), ==, SQLITE_OK);
	sqlite3_bind_text(st, 1, call_id, -1, SQLITE_STATIC);
	char *status = NULL;
	if(sqlite3_step(st) == SQLITE_ROW)
		status = g_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return status;
}

static void dispatch(gpointer ctx, calls_store *store, gpointer item) {
	const char *name = item;
	if(F.expect_written) {
		char **parts = g_strsplit(name, ":", 2);
		char *status = peek_status(parts[0]);
		/* the announced state, or a later one (one transaction may carry both) */
		if(status == NULL || rank(status) < rank(parts[1]))
			F.not_written++;
		g_free(status);
		g_strfreev(parts);
	}
	g_mutex_lock(&F.lock);
	g_ptr_array_add(F.dispatched, g_strdup(name));
	g_mutex_unlock(&F.lock);
}

static void log_line(gpointer ctx, int level, const char *message) {
	g_mutex_lock(&F.lock);
	g_ptr_array_add(F.logs, g_strdup_printf("%d %s", level, message));
	g_mutex_unlock(&F.lock);
}

static gboolean logged(const char *needle) {
	gboolean found = FALSE;
	g_mutex_lock(&F.lock);
	for(guint i = 0; i < F.logs->len && !found; i++)
		found = strstr(g_ptr_array_index(F.logs, i), needle) != NULL;
	g_mutex_unlock(&F.lock);
	return found;
}

static guint dispatched_count(void) {
	g_mutex_lock(&F.lock);
	guint n = F.dispatched->len;
	g_mutex_unlock(&F.lock);
	return n;
}

static void setup(guint retry_ms, guint queue_limit) {
	memset(&F, 0, sizeof(F));
	F.dir = test_tmpdir();
	F.path = g_build_filename(F.dir, "calls.db", NULL);
	g_mutex_init(&F.lock);
	F.dispatched = g_ptr_array_new_with_free_func(g_free);
	F.logs = g_ptr_array_new_with_free_func(g_free);
	GError *error = NULL;
	calls_store *store = calls_store_open(F.path, g_get_real_time(), NULL, &error);
	g_assert_no_error(error);
	calls_store_set_busy_timeout(store, 20);
	calls_storeq_settings set = {
		.dispatch = dispatch, .free_item = g_free, .log = log_line,
		.retry_ms = retry_ms, .touch_ms = 0, .queue_limit = queue_limit,
	};
	F.q = calls_storeq_start(store, &set, &error);
	g_assert_no_error(error);
	g_assert_cmpint(sqlite3_open(F.path, &F.peek), ==, SQLITE_OK);
	sqlite3_busy_timeout(F.peek, 2000);
}

static void teardown(void) {
	if(F.q != NULL)
		calls_storeq_stop(F.q);
	sqlite3_close(F.peek);
	g_ptr_array_unref(F.dispatched);
	g_ptr_array_unref(F.logs);
	g_mutex_clear(&F.lock);
	g_free(F.path);
	g_free(F.dir);
}

static json_t *call_json(const char *id, const char *status) {
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:[{s:s, s:s, s:s, s:b, s:b, s:b}]}",
		"id", id, "roomId", "room", "type", "AUDIO", "status", status, "initiatorId", "alice",
		"startedAt", "2026-01-01T10:00:00.000Z", "chatId",
		"participants", "userId", "alice", "role", "INITIATOR", "status", "JOINED",
		"isMuted", 0, "isVideoEnabled", 1, "isSharingScreen", 0);
}

/* One operation: the call's new state, and an event announcing it. */
static guint64 submit(const char *id, const char *status) {
	calls_storeq_batch *b = calls_storeq_batch_new();
	json_t *call = call_json(id, status);
	gboolean final = strcmp(status, "RINGING") != 0 && strcmp(status, "CONNECTING") != 0;
	calls_storeq_batch_write(b, call, !final, g_get_real_time());
	json_decref(call);
	calls_storeq_batch_item(b, g_strdup_printf("%s:%s", id, status));
	return calls_storeq_submit(F.q, b);
}

static void test_written_before_dispatched(void) {
	setup(50, 0);
	F.expect_written = TRUE;
	guint64 last = 0;
	const char *statuses[] = { "RINGING", "CONNECTING", "ENDED" };
	for(int i = 0; i < 300; i++) {
		char id[32];
		g_snprintf(id, sizeof(id), "call-%03d", i % 100);
		last = submit(id, statuses[i / 100]);
	}
	calls_storeq_wait(F.q, last);
	g_assert_cmpuint(dispatched_count(), ==, 300);
	/* every event left after the state it announces was in the file */
	g_assert_cmpuint(F.not_written, ==, 0);
	/* in the order they were made */
	for(int i = 0; i < 300; i++) {
		char want[64];
		g_snprintf(want, sizeof(want), "call-%03d:%s", i % 100, statuses[i / 100]);
		g_assert_cmpstr(g_ptr_array_index(F.dispatched, i), ==, want);
	}
	g_assert_true(calls_storeq_healthy(F.q, NULL));
	g_assert_cmpuint(calls_storeq_held(F.q), ==, 0);
	teardown();
}

typedef struct read_job {
	const char *id;
	char *status;
} read_job;

static void read_one(calls_store *store, gpointer data) {
	read_job *j = data;
	json_t *call = calls_store_get(store, j->id, NULL);
	j->status = call ? g_strdup(json_string_value(json_object_get(call, "status"))) : NULL;
	if(call != NULL)
		json_decref(call);
}

static void test_sync_job_sees_earlier_batches(void) {
	setup(50, 0);
	submit("call-a", "RINGING");
	submit("call-a", "CONNECTING");
	submit("call-a", "ENDED");
	/* without waiting: the read is queued behind the batches */
	read_job j = { "call-a", NULL };
	calls_storeq_run(F.q, read_one, &j);
	g_assert_cmpstr(j.status, ==, "ENDED");
	g_free(j.status);
	teardown();
}

static void test_locked_database(void) {
	setup(50, 0);
	submit("call-a", "RINGING");
	calls_storeq_wait(F.q, calls_storeq_last(F.q));
	/* another process holds the write lock */
	g_assert_cmpint(sqlite3_exec(F.peek, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
	guint64 seq = submit("call-a", "ENDED");
	calls_storeq_wait(F.q, seq);
	/* the event left all the same: live calls go on */
	g_assert_cmpuint(dispatched_count(), ==, 2);
	char *why = NULL;
	g_assert_false(calls_storeq_healthy(F.q, &why));
	g_assert_nonnull(strstr(why, "database is locked"));
	g_free(why);
	g_assert_cmpuint(calls_storeq_held(F.q), ==, 1);
	g_assert_true(logged("0 cannot write the call history"));
	g_assert_true(logged("database is locked"));
	/* more changes while it fails: one state per call is held */
	for(int i = 0; i < 50; i++)
		submit("call-b", i % 2 ? "CONNECTING" : "RINGING");
	calls_storeq_wait(F.q, calls_storeq_last(F.q));
	g_assert_cmpuint(calls_storeq_held(F.q), ==, 2);
	/* the lock goes: within a few retries everything held is written */
	g_assert_cmpint(sqlite3_exec(F.peek, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
	for(int i = 0; i < 200 && !calls_storeq_healthy(F.q, NULL); i++)
		g_usleep(10000);
	g_assert_true(calls_storeq_healthy(F.q, NULL));
	g_assert_cmpuint(calls_storeq_held(F.q), ==, 0);
	g_assert_true(logged("works again"));
	char *status = peek_status("call-a");
	g_assert_cmpstr(status, ==, "ENDED");
	g_free(status);
	status = peek_status("call-b");
	g_assert_cmpstr(status, ==, "CONNECTING");
	g_free(status);
	teardown();
}

typedef struct gate {
	GMutex lock;
	GCond cond;
	gboolean open;
} gate;

static void wait_at_gate(calls_store *store, gpointer data) {
	gate *g = data;
	g_mutex_lock(&g->lock);
	while(!g->open)
		g_cond_wait(&g->cond, &g->lock);
	g_mutex_unlock(&g->lock);
}

static gpointer run_gate(gpointer data) {
	calls_storeq_run(F.q, wait_at_gate, data);
	return NULL;
}

static void test_queue_limit(void) {
	setup(50, 10);
	gate g = { .open = FALSE };
	g_mutex_init(&g.lock);
	g_cond_init(&g.cond);
	/* the thread is busy (a slow disk): batches pile up */
	GThread *t = g_thread_new("gate", run_gate, &g);
	g_usleep(20000);
	for(int i = 0; i < 11; i++)
		submit("call-a", "RINGING");
	char *why = NULL;
	g_assert_false(calls_storeq_healthy(F.q, &why));
	g_assert_nonnull(strstr(why, "11 changes wait"));
	g_free(why);
	g_mutex_lock(&g.lock);
	g.open = TRUE;
	g_cond_broadcast(&g.cond);
	g_mutex_unlock(&g.lock);
	g_thread_join(t);
	calls_storeq_wait(F.q, calls_storeq_last(F.q));
	g_assert_true(calls_storeq_healthy(F.q, NULL));
	g_mutex_clear(&g.lock);
	g_cond_clear(&g.cond);
	teardown();
}

static void test_stop_writes_everything(void) {
	setup(50, 0);
	for(int i = 0; i < 100; i++) {
		char id[32];
		g_snprintf(id, sizeof(id), "call-%03d", i);
		submit(id, "ENDED");
	}
	calls_storeq_stop(F.q);
	F.q = NULL;
	g_assert_cmpuint(dispatched_count(), ==, 100);
	sqlite3_stmt *st = NULL;
	g_assert_cmpint(sqlite3_prepare_v2(F.peek, "SELECT count(*) FROM calls", -1, &st, NULL), ==, SQLITE_OK);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	g_assert_cmpint(sqlite3_column_int(st, 0), ==, 100);
	sqlite3_finalize(st);
	teardown();
}

static void test_file_mode(void) {
	setup(50, 0);
	GStatBuf st;
	g_assert_cmpint(g_stat(F.path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	teardown();
}

/* ---- Ordered pushes ------------------------------------------------------------------------------- */

#define CONNS 6
#define EVENTS 400

typedef struct conn {
	calls_outbox outbox;
	int id;
	volatile gint refs;
	GMutex lock;
	GArray *seen;             /* event numbers, in push order */
	gboolean slow;            /* pushes wait at the gate */
} conn;

static gate push_gate;

static void push(gpointer ctx, gpointer c, const char *transaction, json_t *event, json_t *jsep) {
	conn *k = c;
	if(k->slow) {
		g_mutex_lock(&push_gate.lock);
		while(!push_gate.open)
			g_cond_wait(&push_gate.cond, &push_gate.lock);
		g_mutex_unlock(&push_gate.lock);
	}
	int n = (int)json_integer_value(json_object_get(event, "n"));
	g_mutex_lock(&k->lock);
	g_array_append_val(k->seen, n);
	g_mutex_unlock(&k->lock);
	g_assert_cmpstr(transaction, ==, "t");
}

static calls_outbox *outbox_of(gpointer c) {
	return &((conn *)c)->outbox;
}

static void ref(gpointer c) {
	g_atomic_int_inc(&((conn *)c)->refs);
}

static void unref(gpointer c) {
	g_atomic_int_add(&((conn *)c)->refs, -1);
}

static guint seen_count(conn *k) {
	g_mutex_lock(&k->lock);
	guint n = k->seen->len;
	g_mutex_unlock(&k->lock);
	return n;
}

static gpointer open_gate_later(gpointer data) {
	g_usleep(50000);
	g_mutex_lock(&push_gate.lock);
	push_gate.open = TRUE;
	g_cond_broadcast(&push_gate.cond);
	g_mutex_unlock(&push_gate.lock);
	return NULL;
}

static void test_pushes_in_order_per_handle(void) {
	g_mutex_init(&push_gate.lock);
	g_cond_init(&push_gate.cond);
	push_gate.open = FALSE;
	conn conns[CONNS];
	for(int i = 0; i < CONNS; i++) {
		memset(&conns[i], 0, sizeof(conn));
		calls_outbox_init(&conns[i].outbox);
		g_mutex_init(&conns[i].lock);
		conns[i].id = i;
		conns[i].seen = g_array_new(FALSE, FALSE, sizeof(int));
	}
	conns[0].slow = TRUE;    /* its first push hangs, like handle_sdp waiting for ICE gathering */
	calls_pusher_settings set = { .push = push, .outbox = outbox_of, .ref = ref, .unref = unref, .threads = 4 };
	calls_pusher *p = calls_pusher_new(&set, NULL);
	for(int n = 0; n < EVENTS; n++) {
		for(int i = 0; i < CONNS; i++) {
			json_t *ev = json_pack("{s:i}", "n", n);
			calls_pusher_post(p, &conns[i], "t", ev, NULL);
			json_decref(ev);
		}
	}
	/* the others are all pushed while the slow one still waits */
	for(int i = 1; i < CONNS; i++) {
		for(int tries = 0; tries < 500 && seen_count(&conns[i]) < EVENTS; tries++)
			g_usleep(10000);
		g_assert_cmpuint(seen_count(&conns[i]), ==, EVENTS);
	}
	g_assert_cmpuint(seen_count(&conns[0]), ==, 0);
	/* a synchronous answer waits for what was queued for its handle */
	g_assert_cmpuint(calls_outbox_posted(&conns[0].outbox), ==, EVENTS);
	GThread *opener = g_thread_new("open", open_gate_later, NULL);
	calls_outbox_wait(&conns[0].outbox, calls_outbox_posted(&conns[0].outbox));
	g_assert_cmpuint(seen_count(&conns[0]), ==, EVENTS);
	g_thread_join(opener);
	g_mutex_lock(&push_gate.lock);
	push_gate.open = TRUE;
	g_cond_broadcast(&push_gate.cond);
	g_mutex_unlock(&push_gate.lock);
	for(int tries = 0; tries < 500 && calls_pusher_pending(p) > 0; tries++)
		g_usleep(10000);
	g_assert_cmpuint(calls_pusher_pending(p), ==, 0);
	calls_pusher_free(p);
	for(int i = 0; i < CONNS; i++) {
		/* each handle got everything, in the order posted */
		g_assert_cmpuint(conns[i].seen->len, ==, EVENTS);
		for(int n = 0; n < EVENTS; n++)
			g_assert_cmpint(g_array_index(conns[i].seen, int, n), ==, n);
		/* every reference taken while items waited was given back */
		g_assert_cmpint(g_atomic_int_get(&conns[i].refs), ==, 0);
		calls_outbox_clear(&conns[i].outbox);
		g_array_free(conns[i].seen, TRUE);
		g_mutex_clear(&conns[i].lock);
	}
	g_mutex_clear(&push_gate.lock);
	g_cond_clear(&push_gate.cond);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/storeq/written-before-dispatched", test_written_before_dispatched);
	g_test_add_func("/storeq/sync-job-sees-earlier-batches", test_sync_job_sees_earlier_batches);
	g_test_add_func("/storeq/locked-database", test_locked_database);
	g_test_add_func("/storeq/queue-limit", test_queue_limit);
	g_test_add_func("/storeq/stop-writes-everything", test_stop_writes_everything);
	g_test_add_func("/storeq/file-mode-0600", test_file_mode);
	g_test_add_func("/pusher/in-order-per-handle", test_pushes_in_order_per_handle);
	return g_test_run();
}
