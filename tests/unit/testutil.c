/* janus.plugin.calls - helpers shared by the unit tests.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include "testutil.h"

json_t *test_json(const char *text) {
	json_error_t error;
	json_t *root = json_loads(text, JSON_DECODE_ANY, &error);
	if(root == NULL)
		g_error("bad JSON in test (line %d: %s): %s", error.line, error.text, text);
	return root;
}

static GPtrArray *tmpdirs = NULL;

static void remove_tree(const char *path) {
	GDir *dir = g_dir_open(path, 0, NULL);
	if(dir != NULL) {
		const char *name;
		while((name = g_dir_read_name(dir)) != NULL) {
			char *child = g_build_filename(path, name, NULL);
			if(g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
			g_free(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

static void remove_tmpdirs(void) {
	for(guint i = 0; tmpdirs != NULL && i < tmpdirs->len; i++)
		remove_tree(g_ptr_array_index(tmpdirs, i));
	if(tmpdirs != NULL)
		g_ptr_array_free(tmpdirs, TRUE);
	tmpdirs = NULL;
}

char *test_tmpdir(void) {
	GError *error = NULL;
	char *dir = g_dir_make_tmp("calls-unit-XXXXXX", &error);
	g_assert_no_error(error);
	if(tmpdirs == NULL) {
		tmpdirs = g_ptr_array_new_with_free_func(g_free);
		atexit(remove_tmpdirs);
	}
	g_ptr_array_add(tmpdirs, g_strdup(dir));
	return dir;
}

json_t *test_json_at(json_t *root, const char *path) {
	gchar **parts = g_strsplit(path, ".", -1);
	json_t *node = root;
	for(int i = 0; parts[i] != NULL && node != NULL; i++) {
		if(json_is_array(node)) {
			char *end = NULL;
			long idx = strtol(parts[i], &end, 10);
			node = (end && *end == '\0') ? json_array_get(node, (size_t)idx) : NULL;
		} else {
			node = json_object_get(node, parts[i]);
		}
	}
	g_strfreev(parts);
	return node;
}

const char *test_json_str(json_t *root, const char *path) {
	return json_string_value(test_json_at(root, path));
}

static int cmp_str(const void *a, const void *b) {
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void test_assert_keys(json_t *obj, const char *keys) {
	g_assert_true(json_is_object(obj));
	gchar **want = g_strsplit(keys, ",", -1);
	guint n = g_strv_length(want);
	for(guint i = 0; i < n; i++)
		g_strstrip(want[i]);
	qsort(want, n, sizeof(char *), cmp_str);
	GPtrArray *got = g_ptr_array_new();
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
		g_ptr_array_add(got, (gpointer)key);
	g_ptr_array_sort(got, cmp_str);
	GString *a = g_string_new(NULL), *b = g_string_new(NULL);
	for(guint i = 0; i < n; i++)
		g_string_append_printf(a, "%s%s", i ? "," : "", want[i]);
	for(guint i = 0; i < got->len; i++)
		g_string_append_printf(b, "%s%s", i ? "," : "", (const char *)g_ptr_array_index(got, i));
	g_assert_cmpstr(b->str, ==, a->str);
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
	g_ptr_array_free(got, TRUE);
	g_strfreev(want);
}

/* ---- The fake environment ----------------------------------------------------- */

static gint64 fake_now(gpointer ctx) {
	return ((test_env *)ctx)->now;
}

static guint fake_timer_add(gpointer ctx, guint ms, calls_timer_fn fn, gpointer data) {
	test_env *t = ctx;
	test_timer *tm = g_new0(test_timer, 1);
	tm->id = ++t->next_timer_id;
	tm->due = t->now + (gint64)ms * 1000;
	tm->fn = fn;
	tm->data = data;
	tm->active = TRUE;
	g_ptr_array_add(t->timers, tm);
	return tm->id;
}

static void fake_timer_remove(gpointer ctx, guint id) {
	test_env *t = ctx;
	for(guint i = 0; i < t->timers->len; i++) {
		test_timer *tm = g_ptr_array_index(t->timers, i);
		if(tm->id == id) {
			if(!tm->active)
				t->stale_removes++;
			tm->active = FALSE;
			return;
		}
	}
	t->stale_removes++;
}

static void delivery_free(gpointer data) {
	test_delivery *d = data;
	g_free(d->transaction);
	json_decref(d->event);
	if(d->jsep != NULL)
		json_decref(d->jsep);
	g_free(d);
}

static void fake_deliver(gpointer ctx, void *conn, const char *transaction, json_t *event, json_t *jsep) {
	test_env *t = ctx;
	test_delivery *d = g_new0(test_delivery, 1);
	d->conn = conn;
	d->transaction = g_strdup(transaction);
	d->event = json_deep_copy(event);
	d->jsep = jsep ? json_deep_copy(jsep) : NULL;
	g_ptr_array_add(t->deliveries, d);
}

static void fake_persist(gpointer ctx, const calls_call *call) {
	test_env *t = ctx;
	json_t *j = calls_json_call(call, t->now);
	t->persist_count++;
	if(t->store != NULL) {
		GError *error = NULL;
		gboolean ok = calls_store_save(t->store, j, !calls_status_is_final(call->status), t->now, &error);
		g_assert_no_error(error);
		g_assert_true(ok);
	}
	g_hash_table_replace(t->saved, g_strdup(call->id), j);
}

static void fake_notify(gpointer ctx, const calls_call *call, json_t *event) {
	g_ptr_array_add(((test_env *)ctx)->notified, json_deep_copy(event));
}

static void fake_gone(gpointer ctx, calls_call *call, calls_participant *p) {
	((test_env *)ctx)->n_gone++;
}

static void fake_joined(gpointer ctx, calls_call *call, calls_participant *p) {
	((test_env *)ctx)->n_joined++;
}

static void fake_flags(gpointer ctx, calls_call *call, calls_participant *p) {
	((test_env *)ctx)->n_flags++;
}

static void fake_ended(gpointer ctx, calls_call *call) {
	((test_env *)ctx)->n_ended++;
}

static void fake_log(gpointer ctx, calls_log_level level, const char *call_id, const char *format, va_list args) {
	char *text = g_strdup_vprintf(format, args);
	g_ptr_array_add(((test_env *)ctx)->logs, call_id ? g_strdup_printf("%d [%s] %s", level, call_id, text) :
		g_strdup_printf("%d %s", level, text));
	g_free(text);
}

int test_env_log_find(test_env *t, guint from, ...) {
	for(guint i = from; i < t->logs->len; i++) {
		const char *line = g_ptr_array_index(t->logs, i);
		gboolean all = TRUE;
		va_list args;
		va_start(args, from);
		for(const char *needle = va_arg(args, const char *); needle != NULL && all; needle = va_arg(args, const char *))
			all = (strstr(line, needle) != NULL);
		va_end(args);
		if(all)
			return (int)i;
	}
	return -1;
}

test_env *test_env_new(gint64 now) {
	test_env *t = g_new0(test_env, 1);
	t->now = now;
	t->timers = g_ptr_array_new_with_free_func(g_free);
	t->deliveries = g_ptr_array_new_with_free_func(delivery_free);
	t->saved = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);
	t->notified = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	t->env.ctx = t;
	t->env.now = fake_now;
	t->env.timer_add = fake_timer_add;
	t->env.timer_remove = fake_timer_remove;
	t->env.deliver = fake_deliver;
	t->env.persist = fake_persist;
	t->env.notify = fake_notify;
	t->env.participant_gone = fake_gone;
	t->env.participant_joined = fake_joined;
	t->env.media_flags = fake_flags;
	t->env.call_ended = fake_ended;
	t->env.log = fake_log;
	t->logs = g_ptr_array_new_with_free_func(g_free);
	return t;
}

void test_env_free(test_env *t) {
	g_ptr_array_free(t->timers, TRUE);
	g_ptr_array_free(t->deliveries, TRUE);
	g_hash_table_destroy(t->saved);
	g_ptr_array_free(t->notified, TRUE);
	g_ptr_array_free(t->logs, TRUE);
	g_free(t);
}

void test_env_advance(test_env *t, gint64 ms) {
	gint64 target = t->now + ms * 1000;
	for(;;) {
		test_timer *next = NULL;
		for(guint i = 0; i < t->timers->len; i++) {
			test_timer *tm = g_ptr_array_index(t->timers, i);
			if(tm->active && tm->due <= target && (next == NULL || tm->due < next->due))
				next = tm;
		}
		if(next == NULL)
			break;
		if(next->due > t->now)
			t->now = next->due;
		next->active = FALSE;
		/* the registry's timers are one-shot */
		g_assert_false(next->fn(next->data));
	}
	t->now = target;
}

guint test_env_active_timers(test_env *t) {
	guint n = 0;
	for(guint i = 0; i < t->timers->len; i++)
		n += ((test_timer *)g_ptr_array_index(t->timers, i))->active;
	return n;
}

void test_env_clear(test_env *t) {
	g_ptr_array_set_size(t->deliveries, 0);
	g_ptr_array_set_size(t->notified, 0);
}

static gboolean delivery_is(const test_delivery *d, void *conn, const char *event) {
	if(conn != NULL && d->conn != conn)
		return FALSE;
	return event == NULL || g_strcmp0(json_string_value(json_object_get(d->event, "event")), event) == 0;
}

guint test_env_count(test_env *t, void *conn, const char *event) {
	guint n = 0;
	for(guint i = 0; i < t->deliveries->len; i++)
		n += delivery_is(g_ptr_array_index(t->deliveries, i), conn, event);
	return n;
}

test_delivery *test_env_last(test_env *t, void *conn, const char *event) {
	for(guint i = t->deliveries->len; i > 0; i--) {
		test_delivery *d = g_ptr_array_index(t->deliveries, i - 1);
		if(delivery_is(d, conn, event))
			return d;
	}
	return NULL;
}

json_t *test_env_saved(test_env *t, const char *call_id) {
	return g_hash_table_lookup(t->saved, call_id);
}

void test_env_assert_persisted(test_env *t, calls_registry *reg) {
	GPtrArray *live = calls_registry_all_calls(reg);
	for(guint i = 0; i < live->len; i++) {
		calls_call *call = g_ptr_array_index(live, i);
		json_t *now = calls_json_call(call, t->now);
		json_t *saved = test_env_saved(t, call->id);
		if(saved == NULL || !json_equal(saved, now)) {
			char *a = json_dumps(now, JSON_SORT_KEYS), *b = saved ? json_dumps(saved, JSON_SORT_KEYS) : NULL;
			g_error("call %s changed without being persisted:\n now   %s\n saved %s", call->id, a, b ? b : "(none)");
		}
		json_decref(now);
	}
	g_ptr_array_unref(live);
}
