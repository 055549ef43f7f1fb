/*! \file   plugin.c
 * \brief  janus.plugin.calls: a call system (ringing, answer, decline, busy,
 *         missed, group calls, media state, history) with media through an SFU
 *
 * \details The only file that speaks to the Janus core. Each callback is
 * turned into a job for the worker thread, which owns all call state (see
 * docs/architecture.md): requests with an immediate answer (register and the routes of
 * the REST contract) are run on the worker while the transport thread waits;
 * events, SDP and the media callbacks are posted and answered later with
 * push_event. The RTP/RTCP callbacks go straight to the SFU's relay, which
 * never waits for the worker.
 *
 * The API itself (requests, routes, events, errors) is documented in
 * docs/api.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <plugins/plugin.h>
#include <janus/config.h>   /* Janus's config parser; ours is "config.h" */
#include <debug.h>
#include <mutex.h>

#include "plugin.h"
#include "auth.h"
#include "config.h"
#include "contract.h"
#include "registry.h"
#include "router.h"
#include "sfu.h"
#include "store.h"
#include "storeq.h"
#include "pusher.h"
#include "worker.h"

#define CALLS_VERSION 1
#ifndef CALLS_VERSION_STRING
#define CALLS_VERSION_STRING "0.1.0"
#endif
#define CALLS_TOUCH_INTERVAL_MS 10000   /* live calls marked as seen in the history */
#define CALLS_STORE_RETRY_MS 1000       /* failed writes of the history retried */
#define CALLS_STORE_BUSY_MS 250         /* a write waits this long for another process's lock */
#define CALLS_STORE_QUEUE_LIMIT 10000   /* operations waiting for the store above which new calls are refused */
#define CALLS_PUSH_THREADS 16           /* pushes to handles under way at once */
#define CALLS_SNAPSHOT_MS 1000          /* media counters in query_session and the Admin API refreshed */

/* ---- The plugin descriptor ------------------------------------------------------ */

static int calls_init(janus_callbacks *callback, const char *config_path);
static void calls_destroy(void);
static int calls_get_api_compatibility(void) { return JANUS_PLUGIN_API_VERSION; }
static int calls_get_version(void) { return CALLS_VERSION; }
static const char *calls_get_version_string(void) { return CALLS_VERSION_STRING; }
static const char *calls_get_description(void) {
	return "Audio/video calls (ringing, answer, decline, busy, missed, group calls, history) with media through an SFU";
}
static const char *calls_get_name(void) { return CALLS_NAME; }
static const char *calls_get_author(void) { return "the janus.plugin.calls authors"; }
static const char *calls_get_package(void) { return CALLS_PACKAGE; }
static void calls_create_session(janus_plugin_session *handle, int *error);
static struct janus_plugin_result *calls_handle_message(janus_plugin_session *handle, char *transaction,
	json_t *message, json_t *jsep);
static json_t *calls_handle_admin_message(json_t *message);
static void calls_setup_media(janus_plugin_session *handle);
static void calls_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet);
static void calls_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet);
static void calls_slow_link(janus_plugin_session *handle, int mindex, gboolean video, gboolean uplink);
static void calls_hangup_media(janus_plugin_session *handle);
static void calls_destroy_session(janus_plugin_session *handle, int *error);
static json_t *calls_query_session(janus_plugin_session *handle);

/* JANUS_PLUGIN_INIT sets every callback to NULL before ours override them */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
janus_plugin calls_plugin = JANUS_PLUGIN_INIT(
	.init = calls_init,
	.destroy = calls_destroy,
	.get_api_compatibility = calls_get_api_compatibility,
	.get_version = calls_get_version,
	.get_version_string = calls_get_version_string,
	.get_description = calls_get_description,
	.get_name = calls_get_name,
	.get_author = calls_get_author,
	.get_package = calls_get_package,
	.create_session = calls_create_session,
	.handle_message = calls_handle_message,
	.handle_admin_message = calls_handle_admin_message,
	.setup_media = calls_setup_media,
	.incoming_rtp = calls_incoming_rtp,
	.incoming_rtcp = calls_incoming_rtcp,
	.slow_link = calls_slow_link,
	.hangup_media = calls_hangup_media,
	.destroy_session = calls_destroy_session,
	.query_session = calls_query_session,
);
#pragma GCC diagnostic pop

__attribute__((visibility("default"))) janus_plugin *create(void);
janus_plugin *create(void) {
	return &calls_plugin;
}

/* ---- State ------------------------------------------------------------------------ */

janus_callbacks *calls_gateway = NULL;

static struct {
	volatile gint initialized;
	volatile gint stopping;
	calls_config config;
	calls_auth *auth;
	calls_storeq *storeq;      /* the history, on its own thread */
	calls_pusher *pusher;      /* pushes to handles, on a pool */
	calls_worker *worker;
	calls_registry *registry;  /* worker only */
	calls_router *router;      /* worker only, but for calls_router_preverify */
	calls_sfu *sfu;
	calls_storeq_batch *batch; /* worker only: what the operation under way produced */
	GHashTable *dirty;         /* worker only: sessions whose snapshot is out of date (referenced) */
	guint snapshot_timer;
	GHashTable *sessions;      /* janus_plugin_session* -> calls_session* */
	janus_mutex sessions_mutex;
	GHashTable *calls;         /* callId -> snapshot of the live call for the Admin API */
	janus_mutex calls_mutex;
	volatile gint devices;     /* registered handles */
	volatile gint timers;      /* the registry's timers (ring, connect, grace) */
} state;

/* ---- Sessions ------------------------------------------------------------------------- */

static void session_free(const janus_refcount *ref) {
	calls_session *s = janus_refcount_containerof(ref, calls_session, ref);
	calls_peer *peer = g_atomic_pointer_get(&s->peer);
	if(peer != NULL)
		calls_sfu_peer_free(peer);
	calls_outbox_clear(&s->outbox);
	if(s->snapshot != NULL)
		json_decref(s->snapshot);
	g_mutex_clear(&s->snapshot_lock);
	janus_refcount_decrease(&s->handle->ref);
	calls_ratelimit_free(s->bucket);
	g_free(s);
}

void calls_session_ref(calls_session *s) {
	janus_refcount_increase(&s->ref);
}

void calls_session_unref(calls_session *s) {
	janus_refcount_decrease(&s->ref);
}

static void session_unref_notify(gpointer data) {
	calls_session_unref(data);
}

/* A referenced session for a handle, or NULL if it is unknown or being destroyed. */
static calls_session *session_lookup(janus_plugin_session *handle) {
	janus_mutex_lock(&state.sessions_mutex);
	calls_session *s = g_hash_table_lookup(state.sessions, handle);
	if(s != NULL && !g_atomic_int_get(&s->destroyed))
		calls_session_ref(s);
	else
		s = NULL;
	janus_mutex_unlock(&state.sessions_mutex);
	return s;
}

/* ---- The registry's environment ------------------------------------------------------ */

static gint64 env_now(gpointer ctx) {
	return g_get_real_time();
}

static void timer_gone(gpointer data) {
	g_atomic_int_add(&state.timers, -1);
}

static guint env_timer_add(gpointer ctx, guint ms, calls_timer_fn fn, gpointer data) {
	g_atomic_int_inc(&state.timers);
	return calls_worker_timer_add_full(state.worker, ms, fn, data, timer_gone);
}

static void env_timer_remove(gpointer ctx, guint id) {
	calls_worker_timer_remove(state.worker, id);
}

/* ---- What an operation produces: writes and events, through the store thread ---------------- */

/* An item of a batch: an event for a handle, or a read of the history whose
 * answer (an ERROR event) goes to a handle. */
typedef struct outgoing {
	calls_session *session;        /* referenced */
	char *transaction;
	json_t *event, *jsep;          /* referenced */
	calls_history_read *read;
} outgoing;

static void outgoing_free(gpointer data) {
	outgoing *o = data;
	calls_session_unref(o->session);
	g_free(o->transaction);
	if(o->event != NULL)
		json_decref(o->event);
	if(o->jsep != NULL)
		json_decref(o->jsep);
	calls_history_read_free(o->read);
	g_free(o);
}

static outgoing *outgoing_new(calls_session *s, const char *transaction) {
	outgoing *o = g_new0(outgoing, 1);
	calls_session_ref(s);
	o->session = s;
	o->transaction = g_strdup(transaction);
	return o;
}

/* A refusal that the history decided (a finished call): logged like the
 * router logs its own, with the code only. */
static void log_read_refusal(const calls_history_read *rd, json_t *answer) {
	if(answer == NULL || janus_log_level < LOG_VERB)
		return;
	json_t *err = rd->async ? json_object_get(answer, "data") : json_object_get(answer, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	if(code != NULL)
		JANUS_LOG(LOG_VERB, "[calls] [%s] %s: %s refused: %s\n", rd->call_id, rd->user_id, rd->request_name, code);
}

/* The store thread: the batch's calls are written, the event may leave. */
static void dispatch_outgoing(gpointer ctx, calls_store *store, gpointer item) {
	outgoing *o = item;
	if(o->read != NULL) {
		json_t *ev = calls_history_read_answer(o->read, store, g_get_real_time());
		log_read_refusal(o->read, ev);
		if(ev != NULL)
			calls_pusher_post(state.pusher, o->session, o->transaction, ev, NULL);
		if(ev != NULL)
			json_decref(ev);
		return;
	}
	calls_pusher_post(state.pusher, o->session, o->transaction, o->event, o->jsep);
}

static void env_deliver(gpointer ctx, void *conn, const char *transaction, json_t *event, json_t *jsep) {
	calls_session *s = conn;
	if(s == NULL || g_atomic_int_get(&s->destroyed))
		return;
	outgoing *o = outgoing_new(s, transaction);
	o->event = json_incref(event);
	o->jsep = jsep ? json_incref(jsep) : NULL;
	calls_storeq_batch_item(state.batch, o);
}

static void defer_read(gpointer ctx, calls_history_read *rd, void *conn, const char *transaction) {
	calls_session *s = conn;
	if(s == NULL || g_atomic_int_get(&s->destroyed)) {
		calls_history_read_free(rd);
		return;
	}
	outgoing *o = outgoing_new(s, transaction);
	o->read = rd;
	calls_storeq_batch_item(state.batch, o);
}

/* A pool thread: the push itself (with an SDP, Janus waits here for the ICE gathering). */
static void push_to_handle(gpointer ctx, gpointer conn, const char *transaction, json_t *event, json_t *jsep) {
	calls_session *s = conn;
	if(g_atomic_int_get(&s->destroyed) || g_atomic_int_get(&state.stopping))
		return;
	int rc = calls_gateway->push_event(s->handle, &calls_plugin, transaction, event, jsep);
	if(rc != 0)
		JANUS_LOG(LOG_WARN, "[calls] [%" G_GUINT64_FORMAT "] could not push %s (error %d)\n", s->handle_id,
			json_string_value(json_object_get(event, "event")), rc);
}

static calls_outbox *session_outbox(gpointer conn) {
	return &((calls_session *)conn)->outbox;
}

static void session_ref_cb(gpointer conn) {
	calls_session_ref(conn);
}

static void session_unref_cb(gpointer conn) {
	calls_session_unref(conn);
}

static void store_log(gpointer ctx, int level, const char *message) {
	if(level == 0)
		JANUS_LOG(LOG_ERR, "[calls] %s\n", message);
	else if(level == 1)
		JANUS_LOG(LOG_WARN, "[calls] %s\n", message);
	else
		JANUS_LOG(LOG_INFO, "[calls] %s\n", message);
}

static gboolean store_healthy(gpointer ctx, char **why) {
	return calls_storeq_healthy(state.storeq, why);
}

/* ---- Snapshots: what query_session and the Admin API read without the worker ---------------- */

static void mark_dirty(calls_session *s) {
	if(s != NULL && !g_hash_table_contains(state.dirty, s)) {
		calls_session_ref(s);
		g_hash_table_add(state.dirty, s);
	}
}

static void publish_snapshot(calls_session *s) {
	json_t *j = calls_router_describe(state.router, s->device);
	json_t *media = calls_sfu_describe(state.sfu, s);
	if(media != NULL)
		json_object_set_new(j, "media", media);
	char at[32];
	calls_time_format(g_get_real_time(), at, sizeof(at));
	json_object_set_new(j, "snapshotAt", json_string(at));
	g_mutex_lock(&s->snapshot_lock);
	json_t *old = s->snapshot;
	s->snapshot = j;
	g_mutex_unlock(&s->snapshot_lock);
	if(old != NULL)
		json_decref(old);
}

/* A live call's snapshot is kept as compact JSON text: a fraction of the
 * memory of a JSON tree, parsed back only when the Admin API asks. */
static void publish_call_json(const calls_call *call, json_t *j) {
	char *text = calls_status_is_final(call->status) ? NULL : json_dumps(j, JSON_COMPACT);
	janus_mutex_lock(&state.calls_mutex);
	if(text == NULL)
		g_hash_table_remove(state.calls, call->id);
	else
		g_hash_table_replace(state.calls, g_strdup(call->id), text);
	janus_mutex_unlock(&state.calls_mutex);
}

/* With the participants' media counters (the refresh of calls with media). */
static void publish_call(calls_call *call) {
	json_t *j = calls_router_admin_call(state.router, call);
	publish_call_json(call, j);
	json_decref(j);
}

/* Every second while calls are live: the media counters move without operations. */
static gboolean refresh_snapshots(gpointer data) {
	if(state.registry == NULL)
		return G_SOURCE_CONTINUE;
	GPtrArray *all = calls_registry_all_calls(state.registry);
	for(guint i = 0; i < all->len; i++) {
		calls_call *call = g_ptr_array_index(all, i);
		if(call->media != NULL)   /* counters move only where media flows */
			publish_call(call);
	}
	g_ptr_array_unref(all);
	janus_mutex_lock(&state.sessions_mutex);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, state.sessions);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		calls_session *s = value;
		if(g_atomic_pointer_get(&s->peer) != NULL)
			mark_dirty(s);
	}
	janus_mutex_unlock(&state.sessions_mutex);
	return G_SOURCE_CONTINUE;
}

/* The end of every worker operation: snapshots, then the batch to the store thread. */
static void end_of_operation(gpointer data) {
	if(state.registry != NULL)
		calls_registry_flush(state.registry);
	if(state.router != NULL && g_hash_table_size(state.dirty) > 0) {
		GHashTableIter iter;
		gpointer key;
		g_hash_table_iter_init(&iter, state.dirty);
		while(g_hash_table_iter_next(&iter, &key, NULL)) {
			calls_session *s = key;
			if(!g_atomic_int_get(&s->destroyed))
				publish_snapshot(s);
		}
	}
	g_hash_table_remove_all(state.dirty);
	if(!calls_storeq_batch_empty(state.batch)) {
		calls_storeq_submit(state.storeq, state.batch);
		state.batch = calls_storeq_batch_new();
	}
}

static void env_persist(gpointer ctx, const calls_call *call) {
	gint64 now = g_get_real_time();
	json_t *j = calls_json_call(call, now);
	calls_storeq_batch_write(state.batch, j, !calls_status_is_final(call->status), now);
	/* the same JSON for the Admin API (its media counters come with the next refresh) */
	publish_call_json(call, j);
	json_decref(j);
	/* The handles of everybody in it show the call in query_session */
	for(guint i = 0; i < call->participants->len; i++) {
		calls_participant *p = g_ptr_array_index(call->participants, i);
		calls_user *u = calls_registry_user(state.registry, p->user_id);
		for(guint k = 0; u != NULL && k < u->devices->len; k++)
			mark_dirty(((calls_device *)g_ptr_array_index(u->devices, k))->conn);
	}
}

static void env_notify(gpointer ctx, const calls_call *call, json_t *event) {
	if(!state.config.events || !calls_gateway->events_is_enabled())
		return;
	json_t *info = json_deep_copy(event);
	json_object_set_new(info, "callId", json_string(call->id));
	calls_gateway->notify_event(&calls_plugin, NULL, info);
}

static void env_participant_gone(gpointer ctx, calls_call *call, calls_participant *p) {
	calls_sfu_participant_gone(state.sfu, call, p);
}

static void env_participant_joined(gpointer ctx, calls_call *call, calls_participant *p) {
	calls_sfu_participant_joined(state.sfu, call, p);
}

static void env_media_flags(gpointer ctx, calls_call *call, calls_participant *p) {
	calls_sfu_media_flags(state.sfu, call, p);
}

static void env_call_ended(gpointer ctx, calls_call *call) {
	calls_sfu_call_ended(state.sfu, call);
}

static void env_log(gpointer ctx, calls_log_level level, const char *call_id, const char *format, va_list args) {
	int lvl = (int)level;
	if(lvl > janus_log_level)
		return;
	char *line = g_strdup_vprintf(format, args);
	if(call_id != NULL)
		JANUS_LOG(lvl, "[calls] [%s] %s\n", call_id, line);
	else
		JANUS_LOG(lvl, "[calls] %s\n", line);
	g_free(line);
}

/* ---- Configuration ---------------------------------------------------------------------- */

static gboolean read_config(const char *config_path) {
	calls_config_init(&state.config);
	char *file = g_strdup_printf("%s/%s.jcfg", config_path, CALLS_PACKAGE);
	janus_config *jcfg = janus_config_parse(file);
	if(jcfg == NULL) {
		char *old = g_strdup_printf("%s/%s.cfg", config_path, CALLS_PACKAGE);
		jcfg = janus_config_parse(old);
		g_free(old);
	}
	if(jcfg == NULL) {
		JANUS_LOG(LOG_WARN, "[calls] no configuration file %s: using the defaults\n", file);
	} else {
		janus_config_category *general = janus_config_get(jcfg, NULL, janus_config_type_category, "general");
		GList *items = general ? janus_config_get_items(jcfg, general) : NULL;
		for(GList *l = items; l != NULL; l = l->next) {
			janus_config_item *item = l->data;
			if(item->name == NULL || item->value == NULL)
				continue;
			GError *error = NULL;
			if(!calls_config_set(&state.config, item->name, item->value, &error)) {
				JANUS_LOG(LOG_WARN, "[calls] %s: %s\n", file, error->message);
				g_error_free(error);
			}
		}
		g_list_free(items);
		janus_config_destroy(jcfg);
	}
	g_free(file);
	GError *error = NULL;
	if(!calls_config_check(&state.config, &error)) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot start: %s\n", error->message);
		g_error_free(error);
		return FALSE;
	}
	char *summary = calls_config_describe(&state.config);
	JANUS_LOG(LOG_INFO, "[calls] settings: %s\n", summary);
	g_free(summary);
	return TRUE;
}

static calls_auth *make_auth(void) {
	char *pem = NULL;
	GError *error = NULL;
	if(state.config.jwt_public_key != NULL &&
			!g_file_get_contents(state.config.jwt_public_key, &pem, NULL, &error)) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot read jwt_public_key: %s\n", error->message);
		g_error_free(error);
		return NULL;
	}
	calls_auth *auth = calls_auth_new(state.config.auth, state.config.jwt_secret, pem, &error);
	g_free(pem);
	if(auth == NULL) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot set up authentication: %s\n", error ? error->message : "?");
		g_clear_error(&error);
	} else {
		calls_auth_require_claims(auth, state.config.jwt_audience, state.config.jwt_issuer);
	}
	return auth;
}

/* Build the worker-owned objects on the worker itself. */
static void setup_on_worker(gpointer data) {
	calls_env env = {
		.ctx = NULL,
		.now = env_now,
		.timer_add = env_timer_add,
		.timer_remove = env_timer_remove,
		.deliver = env_deliver,
		.persist = env_persist,
		.notify = env_notify,
		.participant_gone = env_participant_gone,
		.participant_joined = env_participant_joined,
		.media_flags = env_media_flags,
		.call_ended = env_call_ended,
		.log = env_log,
	};
	calls_limits limits = {
		.ring_timeout_ms = state.config.ring_timeout_ms,
		.connect_timeout_ms = state.config.connect_timeout_ms,
		.reconnect_grace_ms = state.config.reconnect_grace_ms,
		.max_participants = state.config.max_participants,
		.max_calls_per_minute = state.config.max_calls_per_minute,
		.max_live_calls = state.config.max_live_calls,
		.max_devices_per_user = state.config.max_devices_per_user,
	};
	state.batch = calls_storeq_batch_new();
	state.dirty = g_hash_table_new_full(NULL, NULL, session_unref_notify, NULL);
	state.registry = calls_registry_new(&env, &limits);
	calls_sfu_set_registry(state.sfu, state.registry);
	calls_media_ops ops = calls_sfu_media_ops(state.sfu);
	state.router = calls_router_new(state.registry, NULL, state.auth, &ops, state.config.presence);
	calls_router_set_history(state.router, defer_read, NULL);
	calls_router_set_health(state.router, store_healthy, NULL);
	state.snapshot_timer = calls_worker_timer_add(state.worker, CALLS_SNAPSHOT_MS, refresh_snapshots, NULL);
}

static void teardown_on_worker(gpointer data) {
	if(state.snapshot_timer != 0)
		calls_worker_timer_remove(state.worker, state.snapshot_timer);
	state.snapshot_timer = 0;
	calls_router_free(state.router);
	state.router = NULL;
	calls_sfu_set_registry(state.sfu, NULL);
	calls_registry_free(state.registry);   /* may queue last changes: the end of this job submits them */
	state.registry = NULL;
}

/* After the worker stopped: what its last operation produced goes too. */
static void free_worker_state(void) {
	calls_storeq_submit(state.storeq, state.batch);
	state.batch = NULL;
	g_hash_table_destroy(state.dirty);
	state.dirty = NULL;
}

/* ---- Lifecycle ------------------------------------------------------------------------------ */

static calls_store *open_store(void) {
	GError *error = NULL;
	int closed = 0;
	char *db_dir = g_path_get_dirname(state.config.db_path);
	if(g_mkdir_with_parents(db_dir, 0750) != 0)
		JANUS_LOG(LOG_WARN, "[calls] could not create the folder %s of db_path: %s\n", db_dir, g_strerror(errno));
	g_free(db_dir);
	calls_store *store = calls_store_open(state.config.db_path, g_get_real_time(), &closed, &error);
	if(store == NULL) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot open the call history at %s: %s (set db_path to a writable file)\n",
			state.config.db_path, error ? error->message : "?");
		g_clear_error(&error);
		return NULL;
	}
	if(closed > 0)
		JANUS_LOG(LOG_WARN, "[calls] closed %d call(s) left live by a previous run (reason SERVER_RESTART)\n", closed);
	calls_store_set_busy_timeout(store, CALLS_STORE_BUSY_MS);
	return store;
}

static int fail_init(const char *what, GError *error) {
	JANUS_LOG(LOG_FATAL, "[calls] cannot start %s: %s\n", what, error ? error->message : "?");
	g_clear_error(&error);
	if(state.pusher != NULL)
		calls_pusher_free(state.pusher);
	state.pusher = NULL;
	if(state.storeq != NULL)
		calls_storeq_stop(state.storeq);
	state.storeq = NULL;
	calls_auth_free(state.auth);
	state.auth = NULL;
	calls_config_clear(&state.config);
	return -1;
}

static int calls_init(janus_callbacks *callback, const char *config_path) {
	if(g_atomic_int_get(&state.initialized))
		return -1;
	if(callback == NULL || config_path == NULL)
		return -1;
	calls_gateway = callback;
	if(!read_config(config_path)) {
		calls_config_clear(&state.config);
		return -1;
	}
	state.auth = make_auth();
	if(state.auth == NULL) {
		calls_config_clear(&state.config);
		return -1;
	}
	calls_store *store = open_store();
	if(store == NULL) {
		calls_auth_free(state.auth);
		calls_config_clear(&state.config);
		return -1;
	}
	GError *error = NULL;
	calls_storeq_settings sq = {
		.dispatch = dispatch_outgoing,
		.free_item = outgoing_free,
		.log = store_log,
		.retry_ms = CALLS_STORE_RETRY_MS,
		.touch_ms = CALLS_TOUCH_INTERVAL_MS,
		.queue_limit = CALLS_STORE_QUEUE_LIMIT,
	};
	state.storeq = calls_storeq_start(store, &sq, &error);
	if(state.storeq == NULL) {
		calls_store_close(store);
		return fail_init("the store thread", error);
	}
	calls_pusher_settings ps = {
		.push = push_to_handle,
		.outbox = session_outbox,
		.ref = session_ref_cb,
		.unref = session_unref_cb,
		.threads = CALLS_PUSH_THREADS,
	};
	state.pusher = calls_pusher_new(&ps, &error);
	if(state.pusher == NULL)
		return fail_init("the push threads", error);
	state.worker = calls_worker_start("calls worker", &error);
	if(state.worker == NULL)
		return fail_init("the worker thread", error);
	calls_worker_set_after(state.worker, end_of_operation, NULL);
	calls_sfu_settings sfu_settings = {
		.videocodecs = state.config.videocodecs,
		.pli_interval_ms = state.config.pli_interval_ms,
		.media_timeout_ms = state.config.media_timeout_ms,
	};
	state.sfu = calls_sfu_new(&sfu_settings, state.worker);
	state.sessions = g_hash_table_new_full(NULL, NULL, NULL, session_unref_notify);
	janus_mutex_init(&state.sessions_mutex);
	state.calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free);
	janus_mutex_init(&state.calls_mutex);
	calls_worker_run(state.worker, setup_on_worker, NULL);
	g_atomic_int_set(&state.initialized, 1);
	JANUS_LOG(LOG_INFO, "%s initialized (history in %s)\n", CALLS_NAME, state.config.db_path);
	return 0;
}

static void calls_destroy(void) {
	if(!g_atomic_int_get(&state.initialized))
		return;
	g_atomic_int_set(&state.stopping, 1);
	calls_worker_run(state.worker, teardown_on_worker, NULL);
	calls_worker_stop(state.worker);
	state.worker = NULL;
	free_worker_state();
	/* Everything decided is written; events are no longer pushed */
	calls_storeq_stop(state.storeq);
	state.storeq = NULL;
	calls_pusher_free(state.pusher);
	state.pusher = NULL;
	janus_mutex_lock(&state.sessions_mutex);
	g_hash_table_destroy(state.sessions);
	state.sessions = NULL;
	janus_mutex_unlock(&state.sessions_mutex);
	janus_mutex_lock(&state.calls_mutex);
	g_hash_table_destroy(state.calls);
	state.calls = NULL;
	janus_mutex_unlock(&state.calls_mutex);
	calls_sfu_free(state.sfu);
	state.sfu = NULL;
	calls_auth_free(state.auth);
	state.auth = NULL;
	calls_config_clear(&state.config);
	g_atomic_int_set(&state.initialized, 0);
	g_atomic_int_set(&state.stopping, 0);
	JANUS_LOG(LOG_INFO, "%s destroyed\n", CALLS_NAME);
}

static gboolean usable(void) {
	return g_atomic_int_get(&state.initialized) && !g_atomic_int_get(&state.stopping);
}

static void calls_create_session(janus_plugin_session *handle, int *error) {
	if(!usable()) {
		*error = -1;
		return;
	}
	calls_session *s = g_new0(calls_session, 1);
	s->handle = handle;
	s->handle_id = (guint64)(guintptr)handle;
	s->bucket = calls_ratelimit_new(state.config.max_events_per_second, state.config.max_events_burst,
		g_get_monotonic_time());
	calls_outbox_init(&s->outbox);
	g_mutex_init(&s->snapshot_lock);
	/* The core handed us one reference to `handle`; session_free gives it back */
	janus_refcount_init(&s->ref, session_free);
	handle->plugin_handle = s;
	janus_mutex_lock(&state.sessions_mutex);
	g_hash_table_insert(state.sessions, handle, s);
	janus_mutex_unlock(&state.sessions_mutex);
}

/* ---- Messages ---------------------------------------------------------------------------------- */

typedef struct message_job {
	calls_session *session;
	char *transaction;
	calls_request req;
	gboolean parse_ok;
	calls_error parse_err;
	json_t *answer;
	calls_history_read *read;   /* a synchronous answer that comes from the history */
} message_job;

static void message_job_free(gpointer data) {
	message_job *job = data;
	calls_request_clear(&job->req);
	calls_session_unref(job->session);
	g_free(job->transaction);
	calls_history_read_free(job->read);
	g_free(job);
}

static void run_message(gpointer data) {
	message_job *job = data;
	calls_session *s = job->session;
	if(g_atomic_int_get(&s->destroyed) || state.router == NULL) {
		calls_error err;
		calls_error_set(&err, CALLS_ERR_INTERNAL, "this handle is going away");
		job->answer = calls_reply_error(&err);
		return;
	}
	gboolean was_registered = (s->device != NULL);
	job->answer = calls_router_execute_read(state.router, s, &s->device, job->transaction, &job->req,
		job->parse_ok, &job->parse_err, &job->read);
	if(!was_registered && s->device != NULL)
		g_atomic_int_inc(&state.devices);
	mark_dirty(s);
}

/* The store thread: a synchronous answer read from the history. */
static void read_history(calls_store *store, gpointer data) {
	message_job *job = data;
	job->answer = calls_history_read_answer(job->read, store, g_get_real_time());
	log_read_refusal(job->read, job->answer);
}

/* A request refused on the Janus thread, answered as the router answers a
 * refusal (a route answer, or an ERROR event on the request's transaction,
 * queued behind what the handle is already being sent). */
static struct janus_plugin_result *refuse_now(message_job *job, const calls_error *err) {
	json_t *answer = NULL;
	if(calls_request_is_async(&job->req)) {
		json_t *ev = calls_event_error(err, job->req.name, job->req.call_id, g_get_real_time());
		calls_pusher_post(state.pusher, job->session, job->transaction, ev, NULL);
		json_decref(ev);
	} else {
		answer = calls_reply_error(err);
	}
	message_job_free(job);
	return janus_plugin_result_new(answer != NULL ? JANUS_PLUGIN_OK : JANUS_PLUGIN_OK_WAIT, NULL, answer);
}

static struct janus_plugin_result *calls_handle_message(janus_plugin_session *handle, char *transaction,
		json_t *message, json_t *jsep) {
	calls_session *s = usable() ? session_lookup(handle) : NULL;
	if(s == NULL) {
		g_free(transaction);
		if(message != NULL)
			json_decref(message);
		if(jsep != NULL)
			json_decref(jsep);
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR,
			usable() ? "No session associated with this handle" : "Plugin not initialized", NULL);
	}
	message_job *job = g_new0(message_job, 1);
	job->session = s;
	job->transaction = transaction;
	job->parse_ok = calls_request_parse(message, jsep, &job->req, &job->parse_err) &&
		calls_request_check_size(&job->req, state.config.max_message_size, state.config.max_sdp_size, &job->parse_err);
	/* The request holds its own references to what it borrows from */
	if(message != NULL)
		json_decref(message);
	if(jsep != NULL)
		json_decref(jsep);
	calls_error too_many;
	if(!calls_ratelimit_take(s->bucket, g_get_monotonic_time(), &too_many))
		return refuse_now(job, &too_many);   /* never reaches the worker */
	/* A token is verified here, on Janus's thread: an RS256 check costs a
	 * fraction of a millisecond that the worker does not spend */
	if(job->parse_ok)
		calls_router_preverify(state.router, &job->req);
	if(calls_request_is_async(&job->req)) {
		if(!calls_worker_post(state.worker, run_message, job, message_job_free))
			return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "Plugin is shutting down", NULL);
		return janus_plugin_result_new(JANUS_PLUGIN_OK_WAIT, NULL, NULL);
	}
	json_t *answer = NULL;
	if(calls_worker_run(state.worker, run_message, job)) {
		/* Nothing is answered before the state it shows is written: wait
		 * for the store thread to take what the operation produced */
		calls_storeq_wait(state.storeq, calls_storeq_last(state.storeq));
		/* ... and for the events it caused on this handle to be pushed: a
		 * client hears of them before the answer, as it always did */
		calls_outbox_wait(&s->outbox, calls_outbox_posted(&s->outbox));
		if(job->read != NULL)
			calls_storeq_run(state.storeq, read_history, job);
		answer = job->answer;
		job->answer = NULL;
	}
	message_job_free(job);
	if(answer == NULL)
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "Plugin is shutting down", NULL);
	return janus_plugin_result_new(JANUS_PLUGIN_OK, NULL, answer);
}

/* ---- The Admin API ------------------------------------------------------------------------------ */

typedef struct admin_job {
	json_t *request;
	json_t *answer;
	const char *path;
	gint64 bytes;
	GError *error;
} admin_job;

static void run_admin(gpointer data) {
	admin_job *job = data;
	if(state.router != NULL)
		job->answer = calls_router_admin(state.router, job->request);
}

static void run_backup(calls_store *store, gpointer data) {
	admin_job *job = data;
	calls_store_backup(store, job->path, &job->bytes, &job->error);
}

static json_t *admin_error(calls_error_code code, const char *message) {
	calls_error err;
	calls_error_set(&err, code, "%s", message);
	return calls_reply_error(&err);
}

/* Newest first, like the registry lists them. */
static gint by_started_desc(gconstpointer a, gconstpointer b) {
	json_t *ca = *(json_t *const *)a, *cb = *(json_t *const *)b;
	int c = g_strcmp0(json_string_value(json_object_get(cb, "startedAt")),
		json_string_value(json_object_get(ca, "startedAt")));
	return c != 0 ? c : g_strcmp0(json_string_value(json_object_get(cb, "id")),
		json_string_value(json_object_get(ca, "id")));
}

/* list_calls and get_call: from the snapshots the worker publishes. */
static json_t *admin_read(const char *what, json_t *request) {
	if(strcmp(what, "list_calls") == 0) {
		GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
		janus_mutex_lock(&state.calls_mutex);
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, state.calls);
		while(g_hash_table_iter_next(&iter, NULL, &value)) {
			json_t *call = json_loads(value, 0, NULL);
			if(call != NULL)
				g_ptr_array_add(list, call);
		}
		janus_mutex_unlock(&state.calls_mutex);
		g_ptr_array_sort(list, by_started_desc);
		json_t *calls = json_array();
		for(guint i = 0; i < list->len; i++) {
			json_t *call = g_ptr_array_index(list, i);
			size_t k;
			json_t *p;
			json_array_foreach(json_object_get(call, "participants"), k, p)
				json_object_del(p, "stats");
			json_array_append(calls, call);
		}
		g_ptr_array_unref(list);
		json_t *body = json_object();
		json_object_set_new(body, "total", json_integer((json_int_t)json_array_size(calls)));
		json_object_set_new(body, "calls", calls);
		return calls_reply_ok(200, body);
	}
	const char *id = json_string_value(json_object_get(request, "callId"));
	if(id == NULL)
		return admin_error(CALLS_ERR_INVALID_REQUEST, "get_call needs \"callId\" (a string)");
	janus_mutex_lock(&state.calls_mutex);
	const char *text = g_hash_table_lookup(state.calls, id);
	json_t *call = text ? json_loads(text, 0, NULL) : NULL;
	janus_mutex_unlock(&state.calls_mutex);
	if(call == NULL) {
		calls_error err;
		calls_error_set(&err, CALLS_ERR_CALL_NOT_FOUND, "there is no live call %.64s", id);
		return calls_reply_error(&err);
	}
	json_t *body = json_object();
	json_object_set_new(body, "call", call);
	return calls_reply_ok(200, body);
}

/* How much the plugin holds: a soak or a monitor checks nothing leaks. */
static json_t *admin_stats(void) {
	json_t *body = json_object();
	janus_mutex_lock(&state.calls_mutex);
	json_object_set_new(body, "liveCalls", json_integer(g_hash_table_size(state.calls)));
	janus_mutex_unlock(&state.calls_mutex);
	guint handles = 0, peers = 0;
	janus_mutex_lock(&state.sessions_mutex);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, state.sessions);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		handles++;
		if(g_atomic_pointer_get(&((calls_session *)value)->peer) != NULL)
			peers++;
	}
	janus_mutex_unlock(&state.sessions_mutex);
	json_object_set_new(body, "handles", json_integer(handles));
	json_object_set_new(body, "devices", json_integer(g_atomic_int_get(&state.devices)));
	json_object_set_new(body, "peers", json_integer(peers));
	json_object_set_new(body, "timers", json_integer(g_atomic_int_get(&state.timers)));
	json_object_set_new(body, "pushesPending", json_integer(calls_pusher_pending(state.pusher)));
	json_object_set_new(body, "storeQueue",
		json_integer(calls_storeq_queued(state.storeq) + calls_storeq_held(state.storeq)));
	char *why = NULL;
	gboolean healthy = calls_storeq_healthy(state.storeq, &why);
	json_object_set_new(body, "storeHealthy", json_boolean(healthy));
	json_object_set_new(body, "storeError", why ? json_string(why) : json_null());
	g_free(why);
	return calls_reply_ok(200, body);
}

static json_t *admin_backup(json_t *request) {
	admin_job job = { .path = json_string_value(json_object_get(request, "path")) };
	if(job.path == NULL || !g_path_is_absolute(job.path))
		return admin_error(CALLS_ERR_INVALID_REQUEST,
			"backup needs \"path\": the absolute path of the file to write (on the Janus host)");
	calls_storeq_run(state.storeq, run_backup, &job);
	if(job.error != NULL) {
		calls_error err;
		calls_error_set(&err, CALLS_ERR_INTERNAL, "the backup failed: %s", job.error->message);
		g_error_free(job.error);
		return calls_reply_error(&err);
	}
	JANUS_LOG(LOG_INFO, "[calls] the call history was backed up to %s (%" G_GINT64_FORMAT " bytes)\n",
		job.path, job.bytes);
	json_t *body = json_object();
	json_object_set_new(body, "path", json_string(job.path));
	json_object_set_new(body, "bytes", json_integer(job.bytes));
	return calls_reply_ok(200, body);
}

static json_t *calls_handle_admin_message(json_t *message) {
	if(!usable())
		return admin_error(CALLS_ERR_INTERNAL, "the plugin is not running");
	const char *what = json_string_value(json_object_get(message, "request"));
	if(what != NULL && (strcmp(what, "list_calls") == 0 || strcmp(what, "get_call") == 0))
		return admin_read(what, message);
	if(what != NULL && strcmp(what, "stats") == 0)
		return admin_stats();
	if(what != NULL && strcmp(what, "backup") == 0)
		return admin_backup(message);
	/* Changes (end_call, remove_participant) and refusals go through the worker,
	 * which answers in microseconds; the answer waits for the write */
	admin_job job = { .request = message };
	if(!calls_worker_run(state.worker, run_admin, &job) || job.answer == NULL)
		return admin_error(CALLS_ERR_INTERNAL, "the plugin is not running");
	calls_storeq_wait(state.storeq, calls_storeq_last(state.storeq));
	return job.answer;
}

/* Janus calls this holding the handle's lock: answer from the snapshot, never wait. */
static json_t *calls_query_session(janus_plugin_session *handle) {
	calls_session *s = usable() ? session_lookup(handle) : NULL;
	if(s == NULL)
		return NULL;
	g_mutex_lock(&s->snapshot_lock);
	json_t *j = s->snapshot ? json_deep_copy(s->snapshot) : NULL;
	g_mutex_unlock(&s->snapshot_lock);
	calls_session_unref(s);
	if(j == NULL) {
		j = json_object();
		json_object_set_new(j, "registered", json_false());
	}
	return j;
}

/* ---- Media callbacks --------------------------------------------------------------------------- */

static void run_setup_media(gpointer data) {
	calls_sfu_setup_media(state.sfu, data);
	mark_dirty(data);
}

static void run_hangup_media(gpointer data) {
	calls_sfu_hangup_media(state.sfu, data);
	mark_dirty(data);
}

static void post_session_job(janus_plugin_session *handle, calls_job_fn fn) {
	calls_session *s = usable() ? session_lookup(handle) : NULL;
	if(s != NULL)
		calls_worker_post(state.worker, fn, s, session_unref_notify);
}

static void calls_setup_media(janus_plugin_session *handle) {
	calls_session *s = handle->plugin_handle;
	if(s != NULL)
		g_atomic_int_set(&s->media_up, 1);
	post_session_job(handle, run_setup_media);
}

static void calls_hangup_media(janus_plugin_session *handle) {
	calls_session *s = handle->plugin_handle;
	if(s == NULL || !g_atomic_int_compare_and_exchange(&s->media_up, 1, 0))
		return;
	post_session_job(handle, run_hangup_media);
}

static void run_session_gone(gpointer data) {
	calls_session *s = data;
	calls_sfu_session_gone(state.sfu, s);
	if(s->device != NULL)
		g_atomic_int_add(&state.devices, -1);
	if(state.router != NULL)
		calls_router_conn_gone(state.router, s->device);
	s->device = NULL;
}

static void calls_destroy_session(janus_plugin_session *handle, int *error) {
	if(!g_atomic_int_get(&state.initialized)) {
		*error = -1;
		return;
	}
	janus_mutex_lock(&state.sessions_mutex);
	calls_session *s = state.sessions ? g_hash_table_lookup(state.sessions, handle) : NULL;
	if(s == NULL) {
		janus_mutex_unlock(&state.sessions_mutex);
		*error = -2;
		return;
	}
	g_atomic_int_set(&s->destroyed, 1);
	calls_session_ref(s);
	g_hash_table_remove(state.sessions, handle);
	janus_mutex_unlock(&state.sessions_mutex);
	if(!calls_worker_post(state.worker, run_session_gone, s, session_unref_notify))
		JANUS_LOG(LOG_WARN, "[calls] handle destroyed while the plugin stops\n");
}

static void calls_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet) {
	calls_session *s = handle->plugin_handle;
	if(s == NULL || g_atomic_int_get(&s->destroyed) || g_atomic_int_get(&state.stopping))
		return;
	calls_sfu_incoming_rtp(state.sfu, s, packet);
}

static void calls_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet) {
	calls_session *s = handle->plugin_handle;
	if(s == NULL || g_atomic_int_get(&s->destroyed) || g_atomic_int_get(&state.stopping))
		return;
	calls_sfu_incoming_rtcp(state.sfu, s, packet);
}

static void calls_slow_link(janus_plugin_session *handle, int mindex, gboolean video, gboolean uplink) {
	calls_session *s = handle->plugin_handle;
	if(s == NULL || g_atomic_int_get(&s->destroyed))
		return;
	calls_sfu_slow_link(state.sfu, s, mindex, video, uplink);
}
