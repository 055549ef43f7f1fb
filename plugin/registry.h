/* janus.plugin.calls - the registry: users, devices, calls and their status machine.
 *
 * The registry owns all call state and is used by the worker thread only.
 * It knows nothing of Janus: what it needs from the outside (the clock, timers,
 * delivering an event to a device, storing a call, telling the media layer)
 * comes through a calls_env of function pointers, which the plugin wires to
 * the real thing and the unit tests to a fake clock and a recorder.
 *
 * Every public function may leave work pending (calls to persist, ended calls
 * to free, users to forget): the caller calls calls_registry_flush() once it no
 * longer needs the pointers it got back. Timer callbacks flush by themselves.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_REGISTRY_H
#define CALLS_REGISTRY_H

#include <stdarg.h>
#include <glib.h>
#include <jansson.h>
#include "types.h"
#include "contract.h"

typedef gboolean (*calls_timer_fn)(gpointer data);

/* Levels of env.log: the numbers are the Janus log levels (LOG_WARN 3, LOG_INFO 4, LOG_VERB 5). */
typedef enum calls_log_level {
	CALLS_LOG_ERR = 2,
	CALLS_LOG_WARN = 3,
	CALLS_LOG_INFO = 4,
	CALLS_LOG_VERB = 5,
} calls_log_level;

typedef struct calls_env {
	gpointer ctx;
	/* Wall clock, µs since the epoch. */
	gint64 (*now)(gpointer ctx);
	/* One-shot timer on the worker's loop; returns a non-zero id. */
	guint (*timer_add)(gpointer ctx, guint ms, calls_timer_fn fn, gpointer data);
	void (*timer_remove)(gpointer ctx, guint id);
	/* Deliver an event to a connection (borrowed; `transaction` and `jsep` may be NULL). */
	void (*deliver)(gpointer ctx, void *conn, const char *transaction, json_t *event, json_t *jsep);
	/* Keep the call (it changed). */
	void (*persist)(gpointer ctx, const calls_call *call);
	/* Mirror a user-visible event to Janus event handlers (borrowed); may be NULL. */
	void (*notify)(gpointer ctx, const calls_call *call, json_t *event);
	/* Media layer hooks, each may be NULL. */
	void (*participant_gone)(gpointer ctx, calls_call *call, calls_participant *p); /* stop its media */
	void (*participant_joined)(gpointer ctx, calls_call *call, calls_participant *p);
	void (*media_flags)(gpointer ctx, calls_call *call, calls_participant *p);      /* mute/video changed */
	void (*call_ended)(gpointer ctx, calls_call *call);                              /* release call->media */
	/* One line for the server's log, about the call `call_id` (NULL: about no call), printf
	 * format without the trailing newline; may be NULL. The plugin writes it to the Janus
	 * log as "[calls] [<call_id>] <line>". Each call's story goes there at CALLS_LOG_VERB;
	 * nothing secret does (no token, no SDP, no ICE credentials). */
	void (*log)(gpointer ctx, calls_log_level level, const char *call_id, const char *format, va_list args);
} calls_env;

typedef struct calls_limits {
	guint ring_timeout_ms;
	guint connect_timeout_ms;
	guint reconnect_grace_ms;
	guint max_participants;      /* participants of one call, initiator included */
	guint max_calls_per_minute;  /* calls one user may start per minute; 0 = no limit */
	guint max_live_calls;        /* live calls on this server; 0 = no limit */
	guint max_devices_per_user;  /* registered connections (handles) of one user; 0 = no limit */
} calls_limits;

/* Who asked: events that reach this device carry this transaction. */
typedef struct calls_origin {
	calls_device *device;
	const char *transaction;
} calls_origin;

calls_registry *calls_registry_new(const calls_env *env, const calls_limits *limits);
/* Cancel every timer and free everything (live calls are left as they are in the store). */
void calls_registry_free(calls_registry *reg);
void calls_registry_flush(calls_registry *reg);
gint64 calls_registry_now(calls_registry *reg);
/* Deliver one event to one connection through the env (borrowed event and jsep). */
void calls_registry_deliver(calls_registry *reg, void *conn, const char *transaction, json_t *event, json_t *jsep);
/* A line for the server's log through the env (see calls_env.log). */
void calls_registry_log(calls_registry *reg, calls_log_level level, const char *call_id, const char *format, ...)
	G_GNUC_PRINTF(4, 5);

/* ---- Users and devices ---- */

/* Whether `user_id` may register one more connection (max_devices_per_user);
 * if not, `err` is LIMIT_EXCEEDED naming the limit. A connection that goes
 * away (calls_registry_device_gone) frees its place. */
gboolean calls_registry_device_allowed(calls_registry *reg, const char *user_id, calls_error *err);
/* Bind a connection to a user and ring it for every call still ringing that user. */
calls_device *calls_registry_register(calls_registry *reg, void *conn, const char *user_id,
	const char *user_name, const char *avatar, gboolean events, const calls_origin *origin);
/* Refresh the names of an already registered device's user. */
void calls_registry_update_user(calls_registry *reg, calls_user *user, const char *user_name, const char *avatar);
/* The connection went away: a participant who answered on it gets the reconnect grace. */
void calls_registry_device_gone(calls_registry *reg, calls_device *dev);
void calls_registry_device_set_events(calls_registry *reg, calls_device *dev, gboolean events);
calls_user *calls_registry_user(calls_registry *reg, const char *user_id);
/* Users with at least one device, as a JSON array of {userId, userName, avatar, inCall}. */
json_t *calls_registry_online(calls_registry *reg);

/* ---- Calls ---- */

calls_call *calls_registry_find(calls_registry *reg, const char *call_id);
calls_participant *calls_call_participant(const calls_call *call, const char *user_id);
/* The live call in which the user is JOINED, other than `except`, or NULL. */
calls_call *calls_registry_joined_call(calls_registry *reg, const calls_user *user, const calls_call *except);
guint calls_registry_live_count(calls_registry *reg);
/* Live calls of a user (newest first) as an array of borrowed pointers; g_ptr_array_unref it. */
GPtrArray *calls_registry_user_calls(calls_registry *reg, const calls_user *user);
/* Every live call, newest first; g_ptr_array_unref it. */
GPtrArray *calls_registry_all_calls(calls_registry *reg);

calls_call *calls_registry_create(calls_registry *reg, calls_device *dev, const char *const *invitees,
	guint n_invitees, calls_call_type type, const char *chat_id, const calls_origin *origin, calls_error *err);
gboolean calls_registry_answer(calls_registry *reg, calls_call *call, calls_device *dev,
	const calls_origin *origin, calls_error *err);
gboolean calls_registry_decline(calls_registry *reg, calls_call *call, calls_device *dev, const char *reason,
	const calls_origin *origin, calls_error *err);
gboolean calls_registry_end(calls_registry *reg, calls_call *call, calls_device *dev, gboolean for_everyone,
	const calls_origin *origin, calls_error *err);
gboolean calls_registry_invite(calls_registry *reg, calls_call *call, calls_device *dev, const char *const *invitees,
	guint n_invitees, const calls_origin *origin, calls_error *err);
/* Apply the flags that are not CALLS_UNSET. */
calls_participant *calls_registry_set_media(calls_registry *reg, calls_call *call, calls_device *dev,
	int is_muted, int is_video_enabled, int is_sharing_screen, const calls_origin *origin, calls_error *err);

/* ---- From the media layer ---- */

/* The participant's media reaches the SFU (first packets, or back after a drop). */
void calls_registry_media_up(calls_registry *reg, calls_participant *p);
/* The participant's PeerConnection went down: the reconnect grace starts. */
void calls_registry_media_down(calls_registry *reg, calls_participant *p);
/* The participant publishes from `dev` now (a new handle after a reload). */
void calls_registry_rebind(calls_registry *reg, calls_participant *p, calls_device *dev);

/* ---- Admin ---- */

gboolean calls_registry_admin_end(calls_registry *reg, calls_call *call, calls_error *err);
gboolean calls_registry_admin_remove(calls_registry *reg, calls_call *call, const char *user_id, calls_error *err);

#endif
