/* janus.plugin.calls - what plugin.c shares with the media modules.
 *
 * A calls_session is our state for one Janus handle. It is reference counted
 * (janus_refcount): the sessions table holds one reference, the worker one
 * from the handle's first message until it has processed the handle's
 * destruction, and every fan-out slot relaying to the handle one more.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_PLUGIN_H
#define CALLS_PLUGIN_H

#include <glib.h>
#include <plugins/plugin.h>
#include <refcount.h>

#include "types.h"
#include "ratelimit.h"
#include "pusher.h"

#define CALLS_PACKAGE "janus.plugin.calls"
#define CALLS_NAME "JANUS Calls plugin"

typedef struct calls_peer calls_peer;

typedef struct calls_session {
	janus_plugin_session *handle;
	guint64 handle_id;            /* for logs: the Janus handle's address as a number */
	volatile gint destroyed;      /* destroy_session ran */
	volatile gint media_up;       /* between setup_media and hangup_media */
	calls_device *device;         /* worker only: NULL until registered */
	calls_peer *peer;             /* media role of this handle, set once by the worker (atomically) */
	calls_ratelimit *bucket;      /* requests this handle may still send (max_events_per_second); NULL = no limit */
	calls_outbox outbox;          /* events waiting to be pushed, in order */
	GMutex snapshot_lock;
	json_t *snapshot;             /* what query_session shows, published by the worker */
	janus_refcount ref;
} calls_session;

void calls_session_ref(calls_session *s);
void calls_session_unref(calls_session *s);

/* The Janus core's callbacks and our plugin descriptor. */
extern janus_callbacks *calls_gateway;
extern janus_plugin calls_plugin;

#endif
