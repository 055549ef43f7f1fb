/*! \file   plugin.c
 * \brief  janus.plugin.calls: a call system (ringing, answer, decline, busy,
 *         missed, group calls, media state, history) with media through an SFU
 *
 * \details The only file that speaks to the Janus core. Each callback is
 * turned into a job for the worker thread, which owns all call state (see
 * DESIGN.md): requests with an immediate answer (register and the routes of
 * the REST contract) are run on the worker while the transport thread waits;
 * events, SDP and the media callbacks are posted and answered later with
 * push_event. The RTP/RTCP callbacks go straight to the SFU's relay, which
 * never waits for the worker.
 *
 * The API itself (requests, routes, events, errors) is documented in
 * docs/api.md and specified in CONTRACT.md.
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
#include "worker.h"

#define CALLS_VERSION 1
#ifndef CALLS_VERSION_STRING
#define CALLS_VERSION_STRING "0.1.0"
#endif
#define CALLS_TOUCH_INTERVAL_MS 10000
#define PERSIST_DELAY_MS 50          /* most a change waits before it is written */

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
	calls_store *store;
	calls_worker *worker;
	calls_registry *registry;  /* worker only */
	calls_router *router;      /* worker only */
	calls_sfu *sfu;
	guint touch_timer;
	guint flush_timer;         /* a write of the queued calls is due */
	GHashTable *sessions;      /* janus_plugin_session* -> calls_session* */
	janus_mutex sessions_mutex;
} state;

/* ---- Sessions ------------------------------------------------------------------------- */

static void session_free(const janus_refcount *ref) {
	calls_session *s = janus_refcount_containerof(ref, calls_session, ref);
	calls_peer *peer = g_atomic_pointer_get(&s->peer);
	if(peer != NULL)
		calls_sfu_peer_free(peer);
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

static guint env_timer_add(gpointer ctx, guint ms, calls_timer_fn fn, gpointer data) {
	return calls_worker_timer_add(state.worker, ms, fn, data);
}

static void env_timer_remove(gpointer ctx, guint id) {
	calls_worker_timer_remove(state.worker, id);
}

static void env_deliver(gpointer ctx, void *conn, const char *transaction, json_t *event, json_t *jsep) {
	calls_session *s = conn;
	if(s == NULL || g_atomic_int_get(&s->destroyed))
		return;
	int rc = calls_gateway->push_event(s->handle, &calls_plugin, transaction, event, jsep);
	if(rc != 0)
		JANUS_LOG(LOG_WARN, "[calls] [%" G_GUINT64_FORMAT "] could not push %s (error %d)\n", s->handle_id,
			json_string_value(json_object_get(event, "event")), rc);
}

/* Changes reach the store in batches: each change queues the call's latest
 * state, and a flush PERSIST_DELAY_MS later writes every queued call in one
 * transaction. A call that changes several times in between is written once;
 * reads of the store flush first, so nobody reads stale history. */
static gboolean flush_store(gpointer data) {
	state.flush_timer = 0;
	GError *error = NULL;
	if(state.store != NULL && !calls_store_flush(state.store, &error)) {
		JANUS_LOG(LOG_ERR, "[calls] could not write %u call(s) to the history (will retry): %s\n",
			calls_store_queued(state.store), error ? error->message : "?");
		g_clear_error(&error);
		state.flush_timer = calls_worker_timer_add(state.worker, 1000, flush_store, NULL);
	}
	return G_SOURCE_REMOVE;
}

static void env_persist(gpointer ctx, const calls_call *call) {
	if(state.store == NULL)
		return;
	gint64 now = g_get_real_time();
	json_t *j = calls_json_call(call, now);
	GError *error = NULL;
	if(!calls_store_queue(state.store, j, !calls_status_is_final(call->status), now, &error)) {
		JANUS_LOG(LOG_ERR, "[calls] could not store call %s: %s\n", call->id, error ? error->message : "?");
		g_clear_error(&error);
	}
	json_decref(j);
	if(state.flush_timer == 0)
		state.flush_timer = calls_worker_timer_add(state.worker, PERSIST_DELAY_MS, flush_store, NULL);
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
	}
	return auth;
}

static gboolean touch_live(gpointer data) {
	GError *error = NULL;
	if(state.store != NULL && !calls_store_touch_live(state.store, g_get_real_time(), &error)) {
		JANUS_LOG(LOG_WARN, "[calls] could not mark live calls as seen: %s\n", error ? error->message : "?");
		g_clear_error(&error);
	}
	return G_SOURCE_CONTINUE;
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
	state.registry = calls_registry_new(&env, &limits);
	calls_sfu_set_registry(state.sfu, state.registry);
	calls_media_ops ops = calls_sfu_media_ops(state.sfu);
	state.router = calls_router_new(state.registry, state.store, state.auth, &ops, state.config.presence);
	state.touch_timer = calls_worker_timer_add(state.worker, CALLS_TOUCH_INTERVAL_MS, touch_live, NULL);
}

static void teardown_on_worker(gpointer data) {
	calls_router_free(state.router);
	state.router = NULL;
	calls_sfu_set_registry(state.sfu, NULL);
	calls_registry_free(state.registry);   /* may queue last changes: calls_store_close writes them */
	state.registry = NULL;
	if(state.touch_timer != 0)
		calls_worker_timer_remove(state.worker, state.touch_timer);
	state.touch_timer = 0;
	if(state.flush_timer != 0)
		calls_worker_timer_remove(state.worker, state.flush_timer);
	state.flush_timer = 0;
}

/* ---- Lifecycle ------------------------------------------------------------------------------ */

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
	GError *error = NULL;
	int closed = 0;
	char *db_dir = g_path_get_dirname(state.config.db_path);
	if(g_mkdir_with_parents(db_dir, 0750) != 0)
		JANUS_LOG(LOG_WARN, "[calls] could not create the folder %s of db_path: %s\n", db_dir, g_strerror(errno));
	g_free(db_dir);
	state.store = calls_store_open(state.config.db_path, g_get_real_time(), &closed, &error);
	if(state.store == NULL) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot open the call history at %s: %s (set db_path to a writable file)\n",
			state.config.db_path, error ? error->message : "?");
		g_clear_error(&error);
		calls_auth_free(state.auth);
		calls_config_clear(&state.config);
		return -1;
	}
	if(closed > 0)
		JANUS_LOG(LOG_WARN, "[calls] closed %d call(s) left live by a previous run (reason SERVER_RESTART)\n", closed);
	state.worker = calls_worker_start("calls worker", &error);
	if(state.worker == NULL) {
		JANUS_LOG(LOG_FATAL, "[calls] cannot start the worker thread: %s\n", error ? error->message : "?");
		g_clear_error(&error);
		calls_store_close(state.store);
		calls_auth_free(state.auth);
		calls_config_clear(&state.config);
		return -1;
	}
	calls_sfu_settings sfu_settings = {
		.videocodecs = state.config.videocodecs,
		.pli_interval_ms = state.config.pli_interval_ms,
		.media_timeout_ms = state.config.media_timeout_ms,
	};
	state.sfu = calls_sfu_new(&sfu_settings, state.worker);
	state.sessions = g_hash_table_new_full(NULL, NULL, NULL, session_unref_notify);
	janus_mutex_init(&state.sessions_mutex);
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
	janus_mutex_lock(&state.sessions_mutex);
	g_hash_table_destroy(state.sessions);
	state.sessions = NULL;
	janus_mutex_unlock(&state.sessions_mutex);
	calls_worker_stop(state.worker);
	state.worker = NULL;
	calls_sfu_free(state.sfu);
	state.sfu = NULL;
	calls_store_close(state.store);
	state.store = NULL;
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
} message_job;

static void message_job_free(gpointer data) {
	message_job *job = data;
	calls_request_clear(&job->req);
	calls_session_unref(job->session);
	g_free(job->transaction);
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
	job->answer = calls_router_execute(state.router, s, &s->device, job->transaction, &job->req,
		job->parse_ok, &job->parse_err);
}

/* A request refused on the Janus thread, answered as the router answers a
 * refusal (a route answer, or an ERROR event on the request's transaction). */
static struct janus_plugin_result *refuse_now(message_job *job, const calls_error *err) {
	json_t *answer = NULL;
	if(calls_request_is_async(&job->req)) {
		json_t *ev = calls_event_error(err, job->req.name, job->req.call_id, g_get_real_time());
		env_deliver(NULL, job->session, job->transaction, ev, NULL);
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
	if(calls_request_is_async(&job->req)) {
		if(!calls_worker_post(state.worker, run_message, job, message_job_free))
			return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "Plugin is shutting down", NULL);
		return janus_plugin_result_new(JANUS_PLUGIN_OK_WAIT, NULL, NULL);
	}
	json_t *answer = NULL;
	if(calls_worker_run(state.worker, run_message, job)) {
		answer = job->answer;
		job->answer = NULL;
	}
	message_job_free(job);
	if(answer == NULL)
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "Plugin is shutting down", NULL);
	return janus_plugin_result_new(JANUS_PLUGIN_OK, NULL, answer);
}

typedef struct admin_job {
	json_t *request;
	json_t *answer;
	calls_session *session;
} admin_job;

static void run_admin(gpointer data) {
	admin_job *job = data;
	if(state.router != NULL)
		job->answer = calls_router_admin(state.router, job->request);
}

static json_t *calls_handle_admin_message(json_t *message) {
	admin_job job = { .request = message };
	if(!usable() || !calls_worker_run(state.worker, run_admin, &job) || job.answer == NULL) {
		calls_error err;
		calls_error_set(&err, CALLS_ERR_INTERNAL, "the plugin is not running");
		return calls_reply_error(&err);
	}
	return job.answer;
}

static void run_query(gpointer data) {
	admin_job *job = data;
	if(state.router == NULL)
		return;
	job->answer = calls_router_describe(state.router, job->session->device);
	json_t *media = calls_sfu_describe(state.sfu, job->session);
	if(media != NULL)
		json_object_set_new(job->answer, "media", media);
}

static json_t *calls_query_session(janus_plugin_session *handle) {
	calls_session *s = usable() ? session_lookup(handle) : NULL;
	if(s == NULL)
		return NULL;
	admin_job job = { .session = s };
	calls_worker_run(state.worker, run_query, &job);
	calls_session_unref(s);
	return job.answer;
}

/* ---- Media callbacks --------------------------------------------------------------------------- */

static void run_setup_media(gpointer data) {
	calls_sfu_setup_media(state.sfu, data);
}

static void run_hangup_media(gpointer data) {
	calls_sfu_hangup_media(state.sfu, data);
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
