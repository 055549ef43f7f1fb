/* janus.plugin.calls - helpers shared by the unit tests (GLib gtest).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_TESTUTIL_H
#define CALLS_TESTUTIL_H

#include <glib.h>
#include <jansson.h>

/* Parse JSON text, aborting the test on a syntax error. New reference. */
json_t *test_json(const char *text);

/* A fresh temporary directory, removed (with its files) at exit. g_free() it. */
char *test_tmpdir(void);

/* The string at a dotted path ("data.callId", "participants.0.userId"), or NULL. */
const char *test_json_str(json_t *root, const char *path);
/* The node at a dotted path, or NULL. Borrowed. */
json_t *test_json_at(json_t *root, const char *path);

#define test_assert_json_str(root, path, expected) \
	g_assert_cmpstr(test_json_str((root), (path)), ==, (expected))

/* Assert that the object has exactly these keys (comma separated, any order). */
void test_assert_keys(json_t *obj, const char *keys);

/* ---- A fake environment for the registry (registry.h's calls_env) ----------
 * A clock the test moves, timers recorded as (due time, fn, data) and fired in
 * order by test_env_advance(), deliveries and persisted calls recorded so that
 * tests can assert who got what and what was stored. */
#include "registry.h"
#include "store.h"

typedef struct test_delivery {
	void *conn;
	char *transaction;   /* NULL when the event carried none */
	json_t *event;       /* a copy */
	json_t *jsep;        /* a copy or NULL */
} test_delivery;

typedef struct test_timer {
	guint id;
	gint64 due;
	calls_timer_fn fn;
	gpointer data;
	gboolean active;
} test_timer;

typedef struct test_env {
	calls_env env;          /* ctx = this; give &env.env to calls_registry_new */
	gint64 now;
	GPtrArray *timers;      /* test_timer*, in the order they were added */
	guint next_timer_id;
	guint stale_removes;    /* timer_remove of an id that is not active */
	GPtrArray *deliveries;  /* test_delivery* */
	GHashTable *saved;      /* call id -> the last persisted JSON of the call */
	guint persist_count;
	GPtrArray *notified;    /* copies of the events mirrored to event handlers */
	calls_store *store;     /* if set, persist also saves there (live = not final) */
	guint n_gone, n_joined, n_flags, n_ended;  /* media-layer hooks called */
	GPtrArray *logs;        /* every env.log line, "<level> [<call id>] <text>" or "<level> <text>" */
} test_env;

test_env *test_env_new(gint64 now);
void test_env_free(test_env *t);
/* Move the clock by `ms`, firing every timer that falls due, in due order. */
void test_env_advance(test_env *t, gint64 ms);
guint test_env_active_timers(test_env *t);
/* Forget the recorded deliveries and notifications. */
void test_env_clear(test_env *t);
/* How many `event` (NULL = any) went to `conn` (NULL = any connection). */
guint test_env_count(test_env *t, void *conn, const char *event);
/* The last delivery of `event` to `conn` (NULL = any), or NULL. */
test_delivery *test_env_last(test_env *t, void *conn, const char *event);
/* The last persisted JSON of a call (borrowed), or NULL. */
json_t *test_env_saved(test_env *t, const char *call_id);
/* The index of the first log line from `from` on containing every one of the
 * NULL-terminated `needles`, or -1. */
int test_env_log_find(test_env *t, guint from, ...) G_GNUC_NULL_TERMINATED;
/* Every live call's last persisted JSON equals its current JSON. */
void test_env_assert_persisted(test_env *t, calls_registry *reg);

#endif
